//! The member write path: schema and effect checks, durability, concurrency, import.

use std::sync::Arc;

use coalition_core::body::EventKind;
use coalition_core::event::OrgSlug;
use coalition_node::{Node, SubmitError};
use coalition_projector::Status;
use serde_json::json;

use crate::support::{genesis, key};

fn member(org: &str) -> Node {
    Node::open_in_memory(genesis(), Some(key(org))).expect("node")
}

fn open_case(node: &Node, name: &str) -> coalition_core::event::EventId {
    let body = json!({"facts": {"name_uk": name, "region": "crimea"}});
    node.submit(EventKind::CaseOpened, body).expect("case opened").id
}

#[test]
fn a_member_opens_a_case_and_its_feed_grows_without_gaps() {
    let node = member("zmina");
    let first = node.submit(EventKind::CaseOpened, json!({"facts": {"name_uk": "Особа Перша"}})).expect("open");
    let second = node.submit(EventKind::CaseOpened, json!({"facts": {"name_uk": "Особа Друга"}})).expect("open");
    assert_eq!((first.seq, second.seq), (1, 2));
    let zmina = OrgSlug::parse("zmina").expect("slug");
    assert_eq!(node.heads()[&zmina], (2, second.id));
    let feed = node.read_feed(&zmina, 1, 10).expect("feed");
    assert_eq!(feed.len(), 2);
    assert_eq!(feed[1].event().prev, Some(first.id));
    assert_eq!(node.with_projection(|projection| projection.case_count()), 2);
    assert!(node.version() >= 2);
}

#[test]
fn schema_errors_name_the_field_and_nothing_is_signed() {
    let node = member("zmina");
    let error = node.submit(EventKind::CaseOpened, json!({"facts": {"name_uk": "Особа", "region": "atlantis"}}));
    match error {
        Err(SubmitError::Schema(error)) => assert!(error.path().contains("region"), "{error}"),
        other => panic!("expected a schema error, got {other:?}"),
    }
    let fraction = node.submit(EventKind::CaseOpened, json!({"facts": {"birth_year": 1990.5}}));
    assert!(matches!(fraction, Err(SubmitError::NotCanonical(_))), "{fraction:?}");
    assert!(node.heads().is_empty());
}

#[test]
fn events_that_would_have_no_effect_are_refused_with_a_reason() {
    let node = member("zmina");
    let unknown = coalition_core::event::EventId::of_text(b"no such case");
    let error = node.submit(EventKind::PersonAdded, json!({"case": unknown}));
    assert!(matches!(error, Err(SubmitError::UnknownReference { what: "case", .. })), "{error:?}");
    let case = open_case(&node, "Особа");
    node.submit(EventKind::PersonAdded, json!({"case": case})).expect("endorse");
    let twice = node.submit(EventKind::PersonAdded, json!({"case": case}));
    assert!(matches!(&twice, Err(SubmitError::Refused(message)) if message.contains("already endorses")), "{twice:?}");
    let release = node
        .submit(EventKind::PersonReleased, json!({"case": case, "date": "2026-02-01", "circumstances": "exchange"}));
    assert!(matches!(&release, Err(SubmitError::Refused(message)) if message.contains("joint list")), "{release:?}");
    let withdraw = node.submit(EventKind::CriterionWithdrawn, json!({"case": case, "criterion": "a"}));
    assert!(matches!(withdraw, Err(SubmitError::Refused(_))), "{withdraw:?}");
}

#[test]
fn a_read_only_node_refuses_to_sign() {
    let node = Node::open_in_memory(genesis(), None).expect("node");
    assert!(node.org().is_none());
    let error = node.submit(EventKind::CaseOpened, json!({"facts": {"name_uk": "Особа"}}));
    assert!(matches!(error, Err(SubmitError::ReadOnly)));
}

#[test]
fn typed_text_is_stored_in_nfc() {
    let node = member("zmina");
    // "й" typed as "и" + combining breve.
    let decomposed = "Андрі\u{0438}\u{0306}";
    let case = open_case(&node, decomposed);
    let name = node.with_projection(|projection| projection.case(&case).and_then(|case| case.facts().name_uk.clone()));
    assert_eq!(name.as_deref(), Some("Андрій"));
}

#[test]
fn concurrent_writers_get_one_unbroken_feed() {
    let node = Arc::new(member("zmina"));
    let threads: Vec<_> = (0..16)
        .map(|thread| {
            let node = Arc::clone(&node);
            std::thread::spawn(move || {
                (0..10).map(|index| open_case(&node, &format!("Особа {thread} {index}"))).collect::<Vec<_>>()
            })
        })
        .collect();
    let ids: Vec<_> = threads.into_iter().flat_map(|thread| thread.join().expect("thread")).collect();
    assert_eq!(ids.len(), 160);
    let zmina = OrgSlug::parse("zmina").expect("slug");
    let feed = node.read_feed(&zmina, 1, 1000).expect("feed");
    assert_eq!(feed.len(), 160);
    for (index, event) in feed.iter().enumerate() {
        assert_eq!(event.event().seq, index as u64 + 1);
        if index > 0 {
            assert_eq!(event.event().prev, Some(feed[index - 1].id()));
        }
    }
    assert_eq!(node.with_projection(|projection| projection.case_count()), 160);
}

#[test]
fn a_durable_node_reopens_with_everything_it_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = {
        let node = Node::open(dir.path(), genesis(), Some(key("zmina"))).expect("open");
        let case = open_case(&node, "Особа");
        node.submit(EventKind::CriterionAsserted, json!({"case": case, "criterion": "a"})).expect("criterion");
        node.submit(EventKind::PersonAdded, json!({"case": case})).expect("endorse");
        case
    };
    let node = Node::open(dir.path(), genesis(), Some(key("zmina"))).expect("reopen");
    let zmina = OrgSlug::parse("zmina").expect("slug");
    assert_eq!(node.heads()[&zmina].0, 3);
    let next = node.submit(EventKind::CaseOpened, json!({"facts": {"name_uk": "Ще одна"}})).expect("continue");
    assert_eq!(next.seq, 4);
    assert_eq!(
        node.with_projection(|projection| projection.case(&case).map(|case| case.endorsements().len())),
        Some(1)
    );
}

#[test]
fn import_verifies_stores_and_is_idempotent() {
    let zmina = member("zmina");
    let case = open_case(&zmina, "Особа");
    zmina.submit(EventKind::CriterionAsserted, json!({"case": case, "criterion": "b"})).expect("criterion");
    zmina.submit(EventKind::PersonAdded, json!({"case": case})).expect("endorse");
    let notes: Vec<(u64, String)> = zmina
        .read_feed(&OrgSlug::parse("zmina").expect("slug"), 1, 100)
        .expect("feed")
        .iter()
        .enumerate()
        .map(|(index, event)| (index as u64, event.note().to_owned()))
        .collect();

    let ccl = member("ccl");
    let report = ccl.import(notes.iter().rev().cloned()).expect("import");
    assert_eq!((report.stored, report.duplicates, report.refused.len()), (3, 0, 0));
    let again = ccl.import(notes.clone()).expect("import again");
    assert_eq!((again.stored, again.duplicates), (0, 3));
    // ccl endorses too: the person is listed on ccl's node.
    ccl.submit(EventKind::PersonAdded, json!({"case": case})).expect("endorse");
    let status = ccl.with_projection(|projection| projection.case(&case).map(|case| case.status()));
    assert_eq!(status, Some(Status::Listed));

    let forged = notes[0].1.replacen("Особа", "Інша", 1);
    let refused = ccl.import([(9, forged)]).expect("import forged");
    assert_eq!(refused.refused.len(), 1, "{refused:?}");
    assert!(refused.refused[0].1.contains("signature"), "{refused:?}");
}

#[test]
fn a_key_is_rotated_on_the_node_machine_and_the_node_continues_with_the_new_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let new_key = coalition_core::keys::SignerKey::from_seed(key("zmina").name().clone(), [42; 32]);
    {
        let node = Node::open(dir.path(), genesis(), Some(key("zmina"))).expect("open");
        open_case(&node, "Особа");
        let over_api = node.submit(EventKind::KeyRotated, json!({"vkey": new_key.verifier_key().to_string()}));
        assert!(
            matches!(&over_api, Err(SubmitError::Refused(message)) if message.contains("rotate-key")),
            "{over_api:?}"
        );
        let rotated = node.rotate_key(&new_key).expect("rotate");
        assert_eq!(rotated.seq, 2);
        // The old key no longer signs for zmina: refused, nothing written.
        let stale = node.submit(EventKind::CaseOpened, json!({"facts": {"name_uk": "Інша"}}));
        assert!(matches!(&stale, Err(SubmitError::Refused(message)) if message.contains("no longer")), "{stale:?}");
    }
    let node = Node::open(dir.path(), genesis(), Some(new_key)).expect("reopen with the new key");
    let next = node.submit(EventKind::CaseOpened, json!({"facts": {"name_uk": "Третя"}})).expect("continue");
    assert_eq!(next.seq, 3);
}

#[test]
fn a_reopened_node_rebuilds_the_same_projection_from_many_feeds() {
    use coalition_node::demo::{DEMO_MEMBERS, demo_genesis, demo_history, demo_key_name};
    let keys: Vec<_> = DEMO_MEMBERS
        .iter()
        .enumerate()
        .map(|(index, (slug, _))| {
            coalition_core::keys::SignerKey::from_seed(demo_key_name(slug).expect("name"), [index as u8 + 10; 32])
        })
        .collect();
    let created = coalition_core::time::Timestamp::parse("2025-01-01T00:00:00Z").expect("time");
    let genesis = demo_genesis(&keys, created).expect("genesis");
    let history = demo_history(&genesis, &keys, 40, 7).expect("history");
    let dir = tempfile::tempdir().expect("tempdir");
    let before = {
        let node = Node::open(dir.path(), genesis.clone(), None).expect("open");
        let report = node
            .import(history.iter().enumerate().map(|(index, event)| (index as u64, event.note().to_owned())))
            .expect("import");
        assert!(report.refused.is_empty(), "{report:?}");
        node.with_projection(|projection| projection.list_summary().expect("summary").hash)
    };
    let node = Node::open(dir.path(), genesis, None).expect("reopen");
    let after = node.with_projection(|projection| {
        assert!(projection.anomalies().is_empty() && projection.waiting().is_empty());
        projection.list_summary().expect("summary").hash
    });
    assert_eq!(before, after);
    assert_eq!(node.heads().len(), 8);
}

#[test]
fn the_node_indexes_the_events_of_each_case_and_the_newest_time() {
    let node = member("zmina");
    assert_eq!(node.newest_event_time(), None);
    let case = open_case(&node, "Особа");
    let other = open_case(&node, "Інша");
    let criterion =
        node.submit(EventKind::CriterionAsserted, json!({"case": case, "criterion": "a"})).expect("criterion");
    let endorsement = node.submit(EventKind::PersonAdded, json!({"case": case})).expect("endorse");
    assert_eq!(node.case_event_ids(&case), vec![case, criterion.id, endorsement.id]);
    assert_eq!(node.case_event_ids(&other), vec![other]);
    let stored = node.event(&endorsement.id).expect("read").expect("stored");
    assert_eq!(node.newest_event_time(), Some(stored.event().time));
    assert!(node.case_event_ids(&criterion.id).is_empty(), "a criterion is not a case");
}
