//! Monthly editions end to end: three in-memory nodes share their feeds through `Node::import`,
//! write a history, propose and cosign two editions; a node that computes another list refuses to
//! cosign, one that lacks the frontier does not know the edition; the signed notes verify with
//! the genesis keys, every proof reaches the root, and the changes between the editions are right.

use coalition_core::body::{Body, Digest, EditionProposed, EventKind};
use coalition_core::edition::{EditionStatement, verify_edition_note};
use coalition_core::event::{Event, EventId, OrgSlug};
use coalition_core::time::Timestamp;
use coalition_node::{EditionFailure, Node};
use coalition_projector::verify_inclusion;
use serde_json::json;

use crate::support::{ORGS, genesis, key};

fn member(org: &str) -> Node {
    Node::open_in_memory(genesis(), Some(key(org))).expect("node")
}

/// Every node imports every other node's events.
fn sync(nodes: &[&Node]) {
    for from in nodes {
        let notes: Vec<(u64, String)> = from
            .all_events()
            .expect("events")
            .iter()
            .enumerate()
            .map(|(index, event)| (index as u64, event.note().to_owned()))
            .collect();
        for to in nodes {
            let report = to.import(notes.clone()).expect("import");
            assert!(report.refused.is_empty(), "{:?}", report.refused);
        }
    }
}

fn open_listed_case(author: &Node, name: &str) -> EventId {
    let case = author
        .submit(EventKind::CaseOpened, json!({"facts": {"name_uk": name, "name_en": name, "region": "crimea"}}))
        .expect("open")
        .id;
    author.submit(EventKind::CriterionAsserted, json!({"case": case, "criterion": "a"})).expect("criterion");
    author.submit(EventKind::PersonAdded, json!({"case": case})).expect("endorse");
    case
}

#[test]
fn two_editions_are_proposed_cosigned_proved_and_compared() {
    let [ccl, crimea, zmina] = ORGS.map(member);
    let cases: Vec<EventId> =
        ["Анна", "Борис", "Дмитро", "Ольга"].iter().map(|name| open_listed_case(&zmina, name)).collect();
    sync(&[&ccl, &crimea, &zmina]);
    for case in &cases {
        ccl.submit(EventKind::PersonAdded, json!({"case": case})).expect("second endorsement");
    }
    let later = open_listed_case(&zmina, "Євген");
    sync(&[&ccl, &crimea, &zmina]);
    let listed_now: Vec<String> =
        zmina.with_projection(|projection| projection.list_entries().map(|entry| entry.case.to_string()).collect());
    assert_eq!(listed_now.len(), 4);

    // First edition: zmina proposes at its frontier, ccl cosigns after recomputing: official.
    let (proposed, list) = zmina.propose_edition("2026-01").expect("propose");
    assert_eq!(list.count(), 4);
    assert_eq!(list.entries.iter().map(|entry| entry.case.to_string()).collect::<Vec<_>>(), listed_now);
    let again = zmina.propose_edition("2026-01").expect_err("label taken");
    assert!(matches!(again, EditionFailure::LabelTaken { .. }), "{again}");
    sync(&[&ccl, &crimea, &zmina]);
    let (_, first) = ccl.cosign_edition("2026-01").expect("cosign");
    assert_eq!(first.id, proposed.id);
    assert!(first.official_by.is_some(), "official at two signatures");
    let twice = ccl.cosign_edition("2026-01").expect_err("twice");
    assert!(matches!(twice, EditionFailure::AlreadySigned(_)), "{twice}");

    // Then: one released, one delisted, one died, one added.
    zmina
        .submit(EventKind::PersonReleased, json!({"case": cases[0], "date": "2026-02-01", "circumstances": "exchange"}))
        .expect("release");
    sync(&[&ccl, &crimea, &zmina]);
    ccl.submit(EventKind::PersonRemoved, json!({"case": cases[1]})).expect("withdraw");
    ccl.submit(EventKind::PersonDied, json!({"case": cases[2], "date": "2026-02-02"})).expect("died");
    ccl.submit(EventKind::PersonAdded, json!({"case": later})).expect("add");
    sync(&[&ccl, &crimea, &zmina]);

    // Second edition, proposed by ccl, cosigned by crimea-sos and zmina.
    let (second_id, _) = ccl.propose_edition("2026-02").expect("propose");
    sync(&[&ccl, &crimea, &zmina]);
    crimea.cosign_edition("2026-02").expect("crimea cosigns");
    zmina.cosign_edition(&second_id.id.to_string()).expect("zmina cosigns by id");
    sync(&[&ccl, &crimea, &zmina]);
    let second = ccl.find_edition("2026-02").expect("edition");
    assert_eq!(second.cosigners.len(), 3);

    // Every node assembles the same note, and it verifies with the genesis keys alone.
    let notes: Vec<String> =
        [&ccl, &crimea, &zmina].iter().map(|node| node.published_edition("2026-02").expect("note").note).collect();
    assert!(notes.windows(2).all(|pair| pair[0] == pair[1]));
    let verified = verify_edition_note(&genesis(), &notes[0]).expect("verifies");
    assert_eq!(verified.signers.iter().map(OrgSlug::as_str).collect::<Vec<_>>(), ORGS.to_vec());
    assert_eq!(verified.text.count, second.count);
    let first_note = zmina.published_edition("2026-01").expect("note").note;
    assert_eq!(verify_edition_note(&genesis(), &first_note).expect("verifies").signers.len(), 2);

    // Every entry's proof reaches the root the note signs.
    let second_list = crimea.edition_list(&second.frontier).expect("list");
    assert_eq!(second_list.root, second.root);
    for entry in &second_list.entries {
        let proof = second_list.proof(&entry.case).expect("proof");
        assert_eq!(verify_inclusion(&proof, &verified.text.root), Ok(()));
    }

    // What changed.
    let first_list = crimea.edition_list(&first.frontier).expect("list");
    let changes = second_list.changes_since(&first_list);
    assert_eq!(changes.added, vec![later]);
    assert_eq!(changes.released, vec![cases[0]]);
    assert_eq!(changes.died, vec![cases[2]]);
    assert_eq!(changes.delisted, vec![cases[1]]);
    assert_eq!(zmina.previous_official_edition(&second).map(|edition| edition.label), Some("2026-01".to_owned()));
    assert_eq!(zmina.latest_official_edition().map(|edition| edition.label), Some("2026-02".to_owned()));
}

#[test]
fn a_node_refuses_to_cosign_a_list_it_does_not_compute() {
    let [ccl, crimea, zmina] = ORGS.map(member);
    let case = open_listed_case(&zmina, "Анна");
    sync(&[&ccl, &crimea, &zmina]);
    ccl.submit(EventKind::PersonAdded, json!({"case": case})).expect("second endorsement");
    sync(&[&ccl, &crimea, &zmina]);

    // zmina's key signs an edition that states a count and root of another list (a bug or a lie),
    // with a valid note signature, so the projection records it.
    let frontier = zmina.current_frontier();
    let honest = zmina.edition_list(&frontier).expect("list");
    let genesis = genesis();
    let statement = EditionStatement {
        origin: &genesis.doc().origin,
        ledger: genesis.ledger_id(),
        label: "2026-03",
        count: 0,
        root: Digest::from_bytes(coalition_core::merkle::EMPTY_ROOT),
        list_hash: honest.list_hash,
        frontier: &frontier,
    };
    let zmina_slug = OrgSlug::parse("zmina").expect("slug");
    let (seq, prev) = zmina.heads()[&zmina_slug];
    let deps = {
        let mut deps: Vec<EventId> =
            zmina.heads().into_iter().filter(|(org, _)| *org != zmina_slug).map(|(_, (_, id))| id).collect();
        deps.sort();
        deps
    };
    let body = Body::EditionProposed(EditionProposed {
        count: 0,
        frontier: frontier.clone(),
        label: "2026-03".into(),
        list_hash: honest.list_hash,
        note_signature: statement.sign(&key("zmina")),
        root: statement.root,
    });
    let time = Timestamp::parse("2030-01-01T00:00:00Z").expect("time");
    let event =
        Event { ledger: genesis.ledger_id(), org: zmina_slug, seq: seq + 1, prev: Some(prev), time, deps, body };
    let lie = event.sign(&key("zmina")).expect("sign");
    let report = crimea.import([(0, lie.note().to_owned())]).expect("import");
    assert_eq!(report.stored, 1, "{report:?}");
    assert!(crimea.find_edition("2026-03").is_ok(), "recorded");
    let refusal = crimea.cosign_edition("2026-03").expect_err("differs");
    match &refusal {
        EditionFailure::Differs(mismatches) => assert_eq!(mismatches.len(), 2, "count and root: {refusal}"),
        other => panic!("expected Differs, got {other}"),
    }
    assert!(refusal.to_string().contains("root"), "{refusal}");

    // A node that never received the frontier does not know the edition: nothing to cosign.
    let stranger = member("ccl");
    let unknown = stranger.cosign_edition("2026-03").expect_err("unknown");
    assert!(matches!(unknown, EditionFailure::UnknownEdition(_)), "{unknown}");
    // And it cannot compute a list at a frontier it does not hold.
    let missing = stranger.edition_list(&frontier).expect_err("missing");
    assert!(missing.to_string().contains("not all in this store"), "{missing}");
}

#[test]
fn editions_go_through_their_own_commands_not_the_generic_submit() {
    let zmina = member("zmina");
    open_listed_case(&zmina, "Анна");
    let refused = zmina.submit(EventKind::EditionCosigned, json!({"edition": "a".repeat(64), "root": "b".repeat(64)}));
    assert!(refused.is_err());
    let read_only = Node::open_in_memory(genesis(), None).expect("node");
    assert!(matches!(read_only.propose_edition("2026-01"), Err(EditionFailure::ReadOnly)));
    let empty = member("ccl");
    assert!(matches!(empty.propose_edition("2026-01"), Err(EditionFailure::NothingToPublish)));
    let bad = zmina.propose_edition("2026-13").expect_err("bad label");
    assert!(matches!(bad, EditionFailure::BadLabel(_)), "{bad}");
}
