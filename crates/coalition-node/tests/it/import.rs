//! Importing many notes at once: the signatures are checked on every core from a snapshot of the
//! keys, the feed rules then decide in order, so a forged note among valid ones and a key rotation
//! inside one import are judged as if the notes came one by one.

use coalition_core::body::{EventKind, parse_body};
use coalition_core::event::{OrgSlug, SignedEvent};
use coalition_core::keys::SignerKey;
use coalition_node::Node;
use serde_json::json;

use crate::support::{genesis, key};

/// Enough notes that every checking thread gets some (threads take them a few at a time).
const FEED_EVENTS: usize = 120;

fn zmina() -> OrgSlug {
    OrgSlug::parse("zmina").expect("slug")
}

fn open_cases(node: &Node, from: usize, count: usize) {
    for index in from..from + count {
        let body = json!({"facts": {"name_uk": format!("Особа {index}"), "region": "crimea"}});
        node.submit(EventKind::CaseOpened, body).expect("case opened");
    }
}

fn feed(node: &Node) -> Vec<SignedEvent> {
    let head = node.heads()[&zmina()].0;
    let mut events = Vec::new();
    while (events.len() as u64) < head {
        let page = node.read_feed(&zmina(), events.len() as u64 + 1, 1000).expect("feed");
        assert!(!page.is_empty(), "the feed ends before its head");
        events.extend(page);
    }
    events
}

fn tagged(events: &[SignedEvent]) -> Vec<(u64, String)> {
    events.iter().map(|event| (event.event().seq, event.note().to_owned())).collect()
}

#[test]
fn a_forged_note_among_valid_ones_is_refused_for_its_signature_and_the_valid_ones_are_stored() {
    let author = Node::open_in_memory(genesis(), Some(key("zmina"))).expect("node");
    open_cases(&author, 0, FEED_EVENTS);
    let events = feed(&author);
    let forged_at = FEED_EVENTS / 2;
    let forged = events[forged_at].note().replacen("Особа", "Інша", 1);
    assert_ne!(forged, events[forged_at].note(), "the forgery changed the note");

    // The forgery comes before the genuine event of the same seq, in the middle of one import.
    const FORGED_TAG: u64 = 1_000_000;
    let mut notes = tagged(&events[..forged_at]);
    notes.push((FORGED_TAG, forged));
    notes.extend(tagged(&events[forged_at..]));

    let reader = Node::open_in_memory(genesis(), None).expect("reader");
    let report = reader.import(notes).expect("import");
    assert_eq!(report.stored, FEED_EVENTS as u64, "{report:?}");
    assert_eq!(report.refused.len(), 1, "{report:?}");
    let (tag, reason) = &report.refused[0];
    assert_eq!(*tag, FORGED_TAG);
    assert!(reason.starts_with("bad signature"), "{reason}");
    assert_eq!(reader.heads()[&zmina()], author.heads()[&zmina()]);
}

#[test]
fn notes_after_a_key_rotation_in_one_import_are_verified_against_the_new_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let new_key = SignerKey::from_seed(key("zmina").name().clone(), [42; 32]);
    let rotated_at = FEED_EVENTS / 2;
    {
        let author = Node::open(dir.path(), genesis(), Some(key("zmina"))).expect("open");
        open_cases(&author, 0, rotated_at);
        author.rotate_key(&new_key).expect("rotate");
    }
    let author = Node::open(dir.path(), genesis(), Some(new_key)).expect("reopen with the new key");
    open_cases(&author, rotated_at, FEED_EVENTS - rotated_at);
    let events = feed(&author);
    // events[rotated_at] is the rotation; the one after it is the first signed with the new key.
    let first_new = rotated_at + 1;
    assert_eq!(events[rotated_at].event().kind(), EventKind::KeyRotated);

    // The same content signed with the retired key: valid under the key the checkers' snapshot
    // holds, refused once the rotation before it is accepted.
    let stale = events[first_new].event().clone().sign(&key("zmina")).expect("sign with the old key");
    assert!(stale.is_signed_by(&key("zmina").verifier_key()), "the stale note verifies under the old key");
    const STALE_TAG: u64 = 1_000_000;
    let mut notes = tagged(&events[..first_new]);
    notes.push((STALE_TAG, stale.note().to_owned()));
    notes.extend(tagged(&events[first_new..]));

    let reader = Node::open_in_memory(genesis(), None).expect("reader");
    let report = reader.import(notes).expect("import");
    assert_eq!(report.stored, events.len() as u64, "{report:?}");
    assert_eq!(report.refused.len(), 1, "{report:?}");
    let (tag, reason) = &report.refused[0];
    assert_eq!(*tag, STALE_TAG);
    assert!(reason.contains("names key"), "{reason}");
    assert_eq!(reader.heads()[&zmina()], author.heads()[&zmina()]);

    // The same through the two halves, with the whole feed checked before any of it is accepted.
    let reader = Node::open_in_memory(genesis(), None).expect("reader");
    let mut notes = tagged(&events);
    notes.insert(first_new, (STALE_TAG, stale.note().to_owned()));
    let checked = reader.check_notes(&notes);
    assert_eq!(checked.len(), events.len() + 1);
    let report = reader.import_checked(checked).expect("import checked");
    assert_eq!(report.stored, events.len() as u64, "{report:?}");
    assert_eq!(report.refused.iter().map(|(tag, _)| *tag).collect::<Vec<_>>(), vec![STALE_TAG]);
    assert_eq!(reader.heads()[&zmina()], author.heads()[&zmina()]);
}

#[test]
fn both_events_of_a_fork_in_one_import_are_proven_as_if_they_came_one_by_one() {
    let author = Node::open_in_memory(genesis(), Some(key("zmina"))).expect("node");
    open_cases(&author, 0, 3);
    let events = feed(&author);
    let forked = &events[1];
    let mut twin = forked.event().clone();
    twin.body =
        parse_body(EventKind::CaseOpened, r#"{"facts":{"name_uk":"Інша особа","region":"crimea"}}"#).expect("body");
    let twin = twin.sign(&key("zmina")).expect("sign the twin");
    assert_ne!(twin.id(), forked.id());
    // Seq 1, seq 2, its twin, then seq 3 (after the fork: the feed is frozen at 2).
    let mut notes = tagged(&events[..2]);
    notes.push((1_000_000, twin.note().to_owned()));
    notes.extend(tagged(&events[2..]));

    let together = Node::open_in_memory(genesis(), None).expect("reader");
    let report = together.import(notes.clone()).expect("import");
    assert_eq!(report.forks, vec![(zmina(), 2)], "{report:?}");
    let one_by_one = Node::open_in_memory(genesis(), None).expect("reader");
    for note in notes {
        one_by_one.import([note]).expect("import");
    }
    let proofs = |node: &Node| -> Vec<_> {
        node.fork_proofs()
            .expect("proofs")
            .iter()
            .map(|proof| (proof.org.clone(), proof.seq, proof.first.id(), proof.second.id()))
            .collect()
    };
    assert_eq!(proofs(&together), vec![(zmina(), 2, forked.id(), twin.id())]);
    assert_eq!(proofs(&together), proofs(&one_by_one));
    assert_eq!(together.frozen_at(&zmina()), Some(2));
    assert_eq!(together.frozen_at(&zmina()), one_by_one.frozen_at(&zmina()));
    assert_eq!(together.heads(), one_by_one.heads());
}
