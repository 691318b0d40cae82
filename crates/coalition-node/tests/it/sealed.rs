//! Sealed records on the node: data keys per case, the member view, shredding, private records
//! carried between nodes.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use coalition_core::body::EventKind;
use coalition_core::event::EventId;
use coalition_core::seal::{Identity, SealedRecord, SealedValue};
use coalition_node::{Node, NodeError, PrivateChange, RecordContent, SubmitError};
use coalition_store::PrivateSpace;
use serde_json::json;

use crate::support::{ORGS, genesis_with_recipients, key};

const MARKER: &str = "MARKER-SEALED-7f3a";

struct Coalition {
    nodes: Vec<Node>,
    identities: Vec<Identity>,
}

fn coalition() -> Coalition {
    let identities: Vec<Identity> = ORGS.iter().map(|_| Identity::generate()).collect();
    let genesis = genesis_with_recipients(&identities);
    let nodes = ORGS
        .iter()
        .zip(&identities)
        .map(|(org, identity)| {
            let node = Node::open_in_memory(genesis.clone(), Some(key(org))).expect("node");
            node.set_identity(identity.clone()).expect("identity");
            node
        })
        .collect();
    Coalition { nodes, identities }
}

fn notes(node: &Node) -> Vec<(u64, String)> {
    let mut notes = Vec::new();
    node.for_each_event(&mut |event| {
        notes.push((notes.len() as u64, event.note().to_owned()));
        ControlFlow::Continue(())
    })
    .expect("events");
    notes
}

/// What replication does: every node's events and private changes reach every other node.
fn sync(nodes: &[Node]) {
    let changes: Vec<Vec<PrivateChange>> = nodes.iter().map(|node| node.take_private_changes(usize::MAX)).collect();
    for (from, changes) in changes.iter().enumerate() {
        for (to, node) in nodes.iter().enumerate() {
            if from == to {
                continue;
            }
            for change in changes {
                match change {
                    PrivateChange::Kept { space, id, bytes } => {
                        node.receive_private(*space, id, bytes).expect("receive");
                    }
                    PrivateChange::Deleted { space, id } => {
                        node.receive_private_deletion(*space, id).expect("delete");
                    }
                    _ => panic!("unknown change"),
                }
            }
        }
    }
    for from in nodes {
        let notes = notes(from);
        for to in nodes {
            let report = to.import(notes.clone()).expect("import");
            assert!(report.refused.is_empty(), "{:?}", report.refused);
        }
    }
}

fn sensitive_sign(case: EventId) -> SealedRecord {
    let mut fields = BTreeMap::new();
    fields.insert("sign".to_owned(), SealedValue::Text("security_service_past".to_owned()));
    fields.insert("details".to_owned(), SealedValue::Text(format!("{MARKER} served 2014-2016")));
    SealedRecord { case: Some(case), fields, kind: EventKind::SignNoted }
}

fn public_list(node: &Node) -> String {
    node.with_projection(|projection| projection.list_document()).expect("list")
}

fn open_case(node: &Node) -> EventId {
    node.submit(EventKind::CaseOpened, json!({"facts": {"name_uk": "Особа Вигадана", "region": "crimea"}}))
        .expect("case")
        .id
}

#[test]
fn a_sealed_record_opens_on_every_member_and_changes_nothing_public() {
    let coalition = coalition();
    let zmina = &coalition.nodes[2];
    let case = open_case(zmina);
    sync(&coalition.nodes);
    let lists_before: Vec<String> = coalition.nodes.iter().map(public_list).collect();
    let sealed = zmina.seal_record(sensitive_sign(case)).expect("seal");
    sync(&coalition.nodes);
    for (node, before) in coalition.nodes.iter().zip(&lists_before) {
        assert_eq!(public_list(node), *before, "the public list changed on {:?}", node.org());
        let file = node.case_file(&case).expect("case file");
        assert_eq!(file.len(), 1, "{:?}", node.org());
        assert_eq!(file[0].id, sealed.id);
        assert_eq!(file[0].content, RecordContent::Opened(sensitive_sign(case)));
    }
    let note = zmina.event(&sealed.id).expect("get").expect("held").note().to_owned();
    assert!(!note.contains(MARKER) && !note.contains("security_service_past"), "{note}");
    for node in &coalition.nodes {
        for id in node.private_ids(PrivateSpace::KeyGrants, None, 100).expect("ids") {
            let grant = node.private_record(PrivateSpace::KeyGrants, &id).expect("get").expect("held");
            assert!(!String::from_utf8_lossy(&grant).contains(MARKER));
        }
    }
}

#[test]
fn records_of_a_case_share_a_key_until_the_sealing_set_changes() {
    let coalition = coalition();
    let zmina = &coalition.nodes[2];
    let case = open_case(zmina);
    let other = open_case(zmina);
    zmina.seal_record(sensitive_sign(case)).expect("first");
    zmina.seal_record(sensitive_sign(case)).expect("second");
    zmina.seal_record(sensitive_sign(other)).expect("other case");
    let keys = |case: &EventId| -> Vec<_> { zmina.case_file(case).expect("file").iter().map(|r| r.key).collect() };
    let first = keys(&case);
    assert_eq!(first.len(), 2);
    assert_eq!(first[0], first[1], "one key per case");
    assert_ne!(keys(&other)[0], first[0], "another case has another key");
    // ccl rotates its recipient: the sealing set changes, so the next record gets a new key.
    let ccl = &coalition.nodes[0];
    let rotated = Identity::generate();
    ccl.submit(EventKind::RecipientRotated, json!({"recipient": rotated.recipient().to_string()})).expect("rotate");
    sync(&coalition.nodes);
    zmina.seal_record(sensitive_sign(case)).expect("after rotation");
    let after = keys(&case);
    assert_eq!(after.len(), 3);
    let distinct: std::collections::BTreeSet<_> = after.iter().collect();
    assert_eq!(distinct.len(), 2, "a new sealing set gets a new key");
    sync(&coalition.nodes);
    // ccl's old identity cannot open the new grant, so the new record is not in its case file.
    let ccl_file = ccl.case_file(&case).expect("file");
    assert_eq!(ccl_file.len(), 2);
    assert!(ccl_file.iter().all(|record| record.key == first[0]));
    assert_eq!(coalition.nodes[1].case_file(&case).expect("file").len(), 3);
}

#[test]
fn shredding_makes_the_records_unreadable_everywhere_and_every_chain_still_verifies() {
    let coalition = coalition();
    let zmina = &coalition.nodes[2];
    let case = open_case(zmina);
    let kept = open_case(zmina);
    zmina.seal_record(sensitive_sign(case)).expect("seal");
    zmina.seal_record(sensitive_sign(kept)).expect("seal other");
    sync(&coalition.nodes);
    // Another member shreds the case: every node applies it and destroys the grants.
    let crimea = &coalition.nodes[1];
    let shredded = crimea.shred_case(&case).expect("shred");
    assert_eq!(shredded.len(), 1);
    let late_grants: Vec<(String, Vec<u8>)> = zmina
        .private_ids(PrivateSpace::KeyGrants, None, 100)
        .expect("ids")
        .into_iter()
        .map(|id| {
            let bytes = zmina.private_record(PrivateSpace::KeyGrants, &id).expect("get").expect("held");
            (id, bytes)
        })
        .collect();
    sync(&coalition.nodes);
    for node in &coalition.nodes {
        let file = node.case_file(&case).expect("file");
        assert_eq!(file.len(), 1);
        assert_eq!(file[0].content, RecordContent::Shredded, "{:?}", node.org());
        assert!(node.private_record(PrivateSpace::KeyGrants, &file[0].key.to_string()).expect("get").is_none());
        let other = node.case_file(&kept).expect("other file");
        assert!(matches!(other[0].content, RecordContent::Opened(_)), "only the shredded case is gone");
        // A grant offered again after the shredding is refused.
        for (id, bytes) in &late_grants {
            if *id == file[0].key.to_string() {
                assert!(!node.receive_private(PrivateSpace::KeyGrants, id, bytes).expect("receive"));
            }
        }
        assert!(node.private_record(PrivateSpace::KeyGrants, &file[0].key.to_string()).expect("get").is_none());
    }
    assert!(matches!(crimea.shred_case(&case), Err(SubmitError::Refused(_))));
    // A mirror with no key verifies every chain.
    let mirror = Node::open_in_memory(zmina.genesis().clone(), None).expect("mirror");
    let report = mirror.import(notes(zmina)).expect("import");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(report.stored as usize, notes(zmina).len());
}

#[test]
fn a_node_without_identity_neither_seals_nor_reads() {
    let coalition = coalition();
    let zmina = &coalition.nodes[2];
    let case = open_case(zmina);
    zmina.seal_record(sensitive_sign(case)).expect("seal");
    let blind = Node::open_in_memory(zmina.genesis().clone(), Some(key("ccl"))).expect("node");
    blind.import(notes(zmina)).expect("import");
    for change in zmina.take_private_changes(usize::MAX) {
        if let PrivateChange::Kept { space, id, bytes } = change {
            blind.receive_private(space, &id, &bytes).expect("receive");
        }
    }
    assert!(matches!(blind.case_file(&case), Err(NodeError::NoIdentity)));
    let heads = blind.heads();
    let refused = blind.seal_record(sensitive_sign(case));
    assert!(matches!(refused, Err(SubmitError::CannotSeal(_))), "{refused:?}");
    assert_eq!(blind.heads(), heads, "nothing was signed");
    // A member whose identity is not in the sealing set cannot seal either (it could not read back).
    let stranger = Node::open_in_memory(zmina.genesis().clone(), Some(key("ccl"))).expect("node");
    assert!(stranger.set_identity(Identity::generate()).is_err(), "a wrong identity is refused");
    // A raw sealed body is never accepted from a member: the node seals.
    let raw = zmina.submit(EventKind::Sealed, json!({"ciphertext": "AAAA", "key": "00000000000000000000000000000000"}));
    assert!(matches!(raw, Err(SubmitError::Refused(_))), "{raw:?}");
    // The identity opens the grants it finds when it is given later.
    blind.set_identity(coalition.identities[0].clone()).expect("identity");
    assert!(matches!(blind.case_file(&case).expect("file")[0].content, RecordContent::Opened(_)));
}

#[test]
fn a_restarted_node_opens_its_grants_again_and_forgets_shredded_ones() {
    let directory = tempfile::tempdir().expect("dir");
    let coalition = coalition();
    let genesis = coalition.nodes[2].genesis().clone();
    let identity = coalition.identities[2].clone();
    let (case, sealed) = {
        let node = Node::open(directory.path(), genesis.clone(), Some(key("zmina"))).expect("open");
        node.set_identity(identity.clone()).expect("identity");
        let case = open_case(&node);
        (case, node.seal_record(sensitive_sign(case)).expect("seal"))
    };
    let node = Node::open(directory.path(), genesis.clone(), Some(key("zmina"))).expect("reopen");
    node.set_identity(identity.clone()).expect("identity");
    let file = node.case_file(&case).expect("file");
    assert_eq!(file[0].id, sealed.id);
    assert!(matches!(file[0].content, RecordContent::Opened(_)));
    node.shred_case(&case).expect("shred");
    drop(node);
    let node = Node::open(directory.path(), genesis, Some(key("zmina"))).expect("reopen");
    node.set_identity(identity).expect("identity");
    assert!(node.private_ids(PrivateSpace::KeyGrants, None, 10).expect("ids").is_empty());
    assert!(node.case_file(&case).expect("file").is_empty(), "no key of the case is left to find its records");
}

#[test]
fn a_write_with_sealed_fields_is_a_clear_event_then_its_sealed_record_opened_by_every_member() {
    let coalition = coalition();
    let zmina = &coalition.nodes[2];
    let mut fields = coalition_node::SealedFields::new();
    // Decomposed "й" (и + U+0306): the sealed text enters in NFC like any typed text.
    fields.insert("relatives_contact".to_owned(), SealedValue::Text(format!("сестра Ки\u{306}ра {MARKER}")));
    let opened = zmina
        .submit_with_sealed(EventKind::CaseOpened, json!({"facts": {"name_en": "Olena Pryklad"}}), fields.clone())
        .expect("open with sealed fields");
    let clear = opened.clear.expect("a clear case.opened");
    let sealed = opened.sealed.expect("a sealed record");
    assert_eq!(sealed.seq, clear.seq + 1, "the sealed record right after the clear event");
    sync(&coalition.nodes);
    for node in &coalition.nodes {
        let file = node.case_file(&clear.id).expect("case file");
        assert_eq!(file.len(), 1, "{:?}", node.org());
        let RecordContent::Opened(record) = &file[0].content else { panic!("not opened: {:?}", file[0].content) };
        assert_eq!(record.kind, EventKind::CaseOpened);
        assert_eq!(record.case, Some(clear.id), "the record names the new case");
        assert_eq!(record.fields["relatives_contact"], SealedValue::Text(format!("сестра Кйра {MARKER}")));
    }
    for (_, note) in notes(zmina) {
        assert!(!note.contains(MARKER), "{note}");
    }

    // A sensitive sign is only sealed; a public sign with a note is clear plus sealed.
    let sign = zmina.note_sign(clear.id, json!("defence_formations"), None).expect("sensitive sign");
    assert!(sign.clear.is_none() && sign.sealed.is_some());
    let public = zmina.note_sign(clear.id, json!("free_speech"), Some(json!(MARKER))).expect("public sign");
    assert!(public.clear.is_some() && public.sealed.is_some());
    let signs = zmina.with_projection(|projection| {
        projection
            .case(&clear.id)
            .expect("case")
            .signs()
            .iter()
            .map(|(sign, _)| sign.as_str().to_owned())
            .collect::<Vec<_>>()
    });
    assert_eq!(signs, ["free_speech"], "the sensitive sign is in no clear event");
    // A sealed value that is not text is refused before anything is signed.
    let seq_before = zmina.read_feed(zmina.org().expect("org"), 1, 1000).expect("feed").len();
    let refused = zmina.note_sign(clear.id, json!("free_speech"), Some(json!(42)));
    assert!(matches!(refused, Err(SubmitError::Seal(_))), "{refused:?}");
    assert_eq!(zmina.read_feed(zmina.org().expect("org"), 1, 1000).expect("feed").len(), seq_before);
}

#[test]
fn a_node_without_identity_refuses_a_write_with_sealed_fields_whole() {
    let identities: Vec<Identity> = ORGS.iter().map(|_| Identity::generate()).collect();
    let node = Node::open_in_memory(genesis_with_recipients(&identities), Some(key(ORGS[0]))).expect("node");
    let mut fields = coalition_node::SealedFields::new();
    fields.insert("health".to_owned(), SealedValue::Text(MARKER.to_owned()));
    let refused = node.submit_with_sealed(EventKind::CaseOpened, json!({"facts": {"name_en": "A"}}), fields);
    assert!(matches!(&refused, Err(SubmitError::CannotSeal(message)) if message.contains("--identity")), "{refused:?}");
    assert!(notes(&node).is_empty(), "nothing signed, not even the clear event");
}
