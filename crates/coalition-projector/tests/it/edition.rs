//! The list at an edition's frontier: it is the projection of exactly the events at or below the
//! frontier, its root is the RFC 6962 root over the canonical entries, it does not depend on the
//! order or the superset of events given, proofs verify, and changes between two editions are
//! right.

use std::collections::BTreeMap;

use coalition_core::body::{Digest, FrontierEntry};
use coalition_core::event::{EventId, SignedEvent};
use coalition_core::merkle;
use coalition_projector::{
    EditionEntry, EditionError, EditionList, EditionMismatch, Status, check_edition, list_at_frontier, verify_inclusion,
};
use proptest::prelude::*;
use serde_json::json;

use crate::history;
use crate::support::{self, Author, Draft, Rng};

/// The frontier at the head of every feed among `events`: the highest seq of each organisation
/// (the smallest id if a fork left two there).
fn frontier_of(events: &[SignedEvent]) -> Vec<FrontierEntry> {
    let mut heads: BTreeMap<_, (u64, EventId)> = BTreeMap::new();
    for event in events {
        let content = event.event();
        let candidate = (content.seq, event.id());
        let entry = heads.entry(content.org.clone()).or_insert(candidate);
        if candidate.0 > entry.0 || (candidate.0 == entry.0 && candidate.1 < entry.1) {
            *entry = candidate;
        }
    }
    heads.into_iter().map(|(org, (seq, id))| FrontierEntry { id, org, seq }).collect()
}

fn kind_of(error: &EditionError) -> String {
    format!("{error:?}").split([' ', '{', '(']).next().unwrap_or_default().to_owned()
}

fn draft(org: &str, kind: &str, body: serde_json::Value) -> Draft {
    Draft::new(org, support::body(kind, &body))
}

/// A small history: four people listed by alpha and bravo, then (after `first`) one released,
/// one delisted, one died, one added.
struct Story {
    genesis: coalition_core::genesis::Genesis,
    events: Vec<SignedEvent>,
    /// How many events the first edition covers.
    first: usize,
    cases: [EventId; 5],
}

fn story() -> Story {
    let genesis = support::genesis(&["alpha", "bravo", "charlie"], support::policy(2, 2, 2, 2));
    let mut author = Author::new(&genesis);
    let mut events = Vec::new();
    let mut cases = Vec::new();
    for name in ["Anna", "Borys", "Dmytro", "Olha", "Yevhen"] {
        let opened = author.write(draft("alpha", "case.opened", json!({"facts": {"name_en": name, "name_uk": name}})));
        let case = opened.id();
        events.push(opened);
        events.push(author.write(draft("alpha", "criterion.asserted", json!({"case": case, "criterion": "a"}))));
        events.push(author.write(draft("alpha", "person.added", json!({"case": case}))));
        cases.push(case);
    }
    for case in &cases[..4] {
        events.push(author.write(draft("bravo", "person.added", json!({"case": case}))));
    }
    let first = events.len();
    events.push(author.write(draft(
        "charlie",
        "person.released",
        json!({"case": cases[0], "date": "2026-03-01", "circumstances": "exchange"}),
    )));
    events.push(author.write(draft("bravo", "person.removed", json!({"case": cases[1]}))));
    events.push(author.write(draft("alpha", "person.died", json!({"case": cases[2], "date": "2026-03-02"}))));
    events.push(author.write(draft("bravo", "person.added", json!({"case": cases[4]}))));
    Story { genesis, events, first, cases: [cases[0], cases[1], cases[2], cases[3], cases[4]] }
}

#[test]
fn the_list_at_the_heads_is_the_projection_and_its_root_is_over_the_canonical_entries() {
    let story = story();
    let frontier = frontier_of(&story.events);
    let list = list_at_frontier(&story.genesis, &frontier, story.events.clone()).expect("list");
    let mut projector = support::project(&story.genesis, &story.events, &[]);
    let projection = projector.projection();
    let canonical: Vec<String> = projection.list_entries().map(|entry| entry.to_canonical().expect("entry")).collect();
    let leaves: Vec<[u8; 32]> = canonical.iter().map(|entry| merkle::leaf_hash(entry.as_bytes())).collect();
    assert_eq!(list.count(), 4);
    assert_eq!(list.entries.iter().map(|entry| entry.canonical.clone()).collect::<Vec<_>>(), canonical);
    assert_eq!(list.root, Digest::from_bytes(merkle::root(&leaves)));
    assert_eq!(list.list_hash, projection.list_summary().expect("summary").hash);
    assert_eq!(list.events, story.events.len() as u64);
    // The leaves are the entries exactly as the canonical list document writes them.
    let document = projection.list_document().expect("document");
    assert!(document.contains(&canonical.join(",")));
}

#[test]
fn a_list_written_entry_by_entry_is_the_list_and_foreign_entries_are_refused() {
    let story = story();
    let frontier = frontier_of(&story.events);
    let events = story.events.len() as u64;
    let mut projector = support::project(&story.genesis, &story.events, &[]);
    let projection = projector.projection();
    let whole = EditionList::from_projection(&frontier, projection, events).expect("list");
    // The list hash taken with the entries is the hash of the canonical list document, and the
    // projection's summary (which the list primes) is what a projection that was never asked for
    // an edition's list computes.
    let document = projection.list_document().expect("document");
    assert_eq!(whole.list_hash, Digest::from_bytes(*blake3::hash(document.as_bytes()).as_bytes()));
    let mut fresh = support::project(&story.genesis, &story.events, &[]);
    assert_eq!(projection.list_summary().expect("summary"), fresh.projection().list_summary().expect("summary"));

    let written =
        || -> Vec<_> { projection.list_entries().map(|entry| EditionEntry::write(&entry).expect("entry")).collect() };
    assert_eq!(EditionList::from_written(&frontier, projection, written(), events), Ok(whole));
    let mut short = written();
    short.pop();
    let mut swapped = written();
    swapped.swap(0, 1);
    let mut doubled = written();
    doubled.push(doubled[0].clone());
    for entries in [short, swapped, doubled, Vec::new()] {
        let error = EditionList::from_written(&frontier, projection, entries, events).expect_err("not the list");
        assert_eq!(error, EditionError::EntriesNotOfList);
    }
}

#[test]
fn a_frontier_covers_exactly_the_events_at_or_below_it() {
    let story = story();
    let earlier = frontier_of(&story.events[..story.first]);
    let from_all = list_at_frontier(&story.genesis, &earlier, story.events.clone()).expect("list");
    let from_prefix = list_at_frontier(&story.genesis, &earlier, story.events[..story.first].to_vec()).expect("list");
    assert_eq!(from_all, from_prefix);
    assert_eq!(from_all.count(), 4);
    let statuses: Vec<Status> = from_all.entries.iter().map(|entry| entry.status).collect();
    assert_eq!(statuses, vec![Status::Listed; 4]);
    assert_eq!(from_all.events, story.first as u64);
}

#[test]
fn changes_between_two_editions_are_added_released_died_and_delisted() {
    let story = story();
    let older = list_at_frontier(&story.genesis, &frontier_of(&story.events[..story.first]), story.events.clone())
        .expect("older");
    let newer = list_at_frontier(&story.genesis, &frontier_of(&story.events), story.events.clone()).expect("newer");
    let changes = newer.changes_since(&older);
    assert_eq!(changes.added, vec![story.cases[4]]);
    assert_eq!(changes.released, vec![story.cases[0]]);
    assert_eq!(changes.died, vec![story.cases[2]]);
    assert_eq!(changes.delisted, vec![story.cases[1]]);
    let nothing = newer.changes_since(&newer);
    assert!(nothing.added.is_empty() && nothing.released.is_empty() && nothing.died.is_empty());
    assert!(nothing.delisted.is_empty());
}

#[test]
fn every_entry_has_a_proof_to_the_root_and_altered_proofs_fail() {
    let story = story();
    let list = list_at_frontier(&story.genesis, &frontier_of(&story.events), story.events.clone()).expect("list");
    for entry in &list.entries {
        let proof = list.proof(&entry.case).expect("in the list");
        assert_eq!(proof.entry, entry.canonical);
        assert_eq!(verify_inclusion(&proof, &list.root), Ok(()));
        let mut altered = proof.clone();
        altered.entry = altered.entry.replacen("\"status\":\"", "\"status\":\"x", 1);
        assert!(verify_inclusion(&altered, &list.root).is_err());
        let mut bad_path = proof.clone();
        bad_path.path[0][0] ^= 1;
        assert!(verify_inclusion(&bad_path, &list.root).is_err());
    }
    assert!(list.proof(&story.cases[1]).is_none(), "a delisted case has no proof");
}

#[test]
fn a_stated_edition_is_checked_value_by_value() {
    let story = story();
    let frontier = frontier_of(&story.events);
    let list = list_at_frontier(&story.genesis, &frontier, story.events.clone()).expect("list");
    let (_, none) =
        check_edition(&story.genesis, &frontier, list.count(), list.root, list.list_hash, story.events.clone())
            .expect("check");
    assert!(none.is_empty());
    let other = Digest::from_bytes([7; 32]);
    let (_, found) =
        check_edition(&story.genesis, &frontier, list.count() + 1, other, list.list_hash, story.events.clone())
            .expect("check");
    assert_eq!(
        found,
        vec![
            EditionMismatch::Count { stated: list.count() + 1, computed: list.count() },
            EditionMismatch::Root { stated: other, computed: list.root },
        ]
    );
}

#[test]
fn missing_or_misnamed_events_and_open_frontiers_are_refused() {
    let story = story();
    let frontier = frontier_of(&story.events);
    let mut without = story.events.clone();
    let removed = without.remove(3);
    let error = list_at_frontier(&story.genesis, &frontier, without).expect_err("missing");
    assert!(matches!(&error, EditionError::MissingEvent { id, .. } if *id == removed.id()), "{error}");

    let mut misnamed = frontier.clone();
    misnamed[0].seq -= 1;
    let error = list_at_frontier(&story.genesis, &misnamed, story.events.clone()).expect_err("misnamed");
    assert!(matches!(error, EditionError::NotOnChain { .. }), "{error}");

    let mut unsorted = frontier.clone();
    unsorted.reverse();
    let error = list_at_frontier(&story.genesis, &unsorted, story.events.clone()).expect_err("unsorted");
    assert!(matches!(error, EditionError::BadFrontier { .. }), "{error}");

    // bravo's head without alpha's feed: bravo's endorsements name alpha's cases beyond the frontier.
    let bravo_only: Vec<FrontierEntry> = frontier.iter().filter(|head| head.org.as_str() == "bravo").cloned().collect();
    let error = list_at_frontier(&story.genesis, &bravo_only, story.events.clone()).expect_err("open");
    assert!(matches!(error, EditionError::NotClosed { .. }), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The root does not depend on the order events are given, nor on events beyond the frontier.
    #[test]
    fn the_list_at_a_frontier_does_not_depend_on_the_order_or_on_later_events(
        plan in history::plans(50, false),
        cut in 0.2f64..1.0,
        seed in any::<u64>(),
    ) {
        let history = history::write(&plan);
        let covered = ((history.events.len() as f64) * cut).ceil().max(1.0) as usize;
        let frontier = frontier_of(&history.events[..covered.min(history.events.len())]);
        let expected = list_at_frontier(&history.genesis, &frontier, history.events.clone());
        let mut rng = Rng::new(seed);
        let mut shuffled = history.events.clone();
        rng.shuffle(&mut shuffled);
        let found = list_at_frontier(&history.genesis, &frontier, shuffled);
        match (&expected, &found) {
            (Ok(expected), Ok(found)) => prop_assert_eq!(expected, found),
            (Err(expected), Err(found)) => prop_assert_eq!(kind_of(expected), kind_of(found)),
            _ => prop_assert!(false, "one order computed a list, the other did not: {expected:?} / {found:?}"),
        }
    }
}
