//! The members' inbox: a report is sealed at once, kept only as ciphertext outside every feed,
//! opened with the node's identity, and accepted (opening a case) or discarded.

use coalition_core::body::EventKind;
use coalition_core::genesis::Genesis;
use coalition_core::seal::Identity;
use coalition_node::{Node, NodeError, ReportError, ReportForm, normalise_report_text};
use serde_json::json;

use crate::support::{ORGS, genesis_with_recipients, key};

const MARKER: &str = "MARKER-report-7f3a";

/// A genesis where every member has a recipient, and the identities in `ORGS` order.
fn sealed_genesis() -> (Genesis, Vec<Identity>) {
    let identities: Vec<Identity> = ORGS.iter().map(|_| Identity::generate()).collect();
    (genesis_with_recipients(&identities), identities)
}

fn form(what: &str) -> ReportForm {
    ReportForm {
        who: format!("Ivan {MARKER}"),
        place: "Melitopol".into(),
        what: what.into(),
        contact: format!("mail-{MARKER}@example.org"),
        consent: true,
    }
}

#[test]
fn a_report_is_sealed_listed_opened_and_discarded() {
    let (genesis, identities) = sealed_genesis();
    let node = Node::open_in_memory(genesis, Some(key(ORGS[0]))).expect("node");
    assert_eq!(node.report_refusal(), None);
    let id = node.submit_report(form(&format!("taken at night <script>alert(1)</script> {MARKER}"))).expect("submit");
    assert!(id.starts_with("r-"), "{id}");
    let sealed = node.sealed_report(&id).expect("read").expect("kept");
    assert!(!String::from_utf8_lossy(&sealed).contains(MARKER), "only ciphertext is kept");
    let entries = node.report_entries(None, 10).expect("list");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].id, id);
    assert_eq!(entries[0].bytes, sealed.len());
    assert_eq!(entries[0].received.len(), "2026-01-01".len());

    assert!(matches!(node.open_report(&id), Err(ReportError::Node(NodeError::NoIdentity))));
    node.set_identity(identities[0].clone()).expect("identity");
    let report = node.open_report(&id).expect("open");
    assert_eq!(report.who, format!("Ivan {MARKER}"));
    assert!(report.what.contains("<script>"), "kept as data");
    assert_eq!(report.received, entries[0].received);
    assert_eq!(node.version(), 0, "no event was signed: the inbox is not a feed");

    // Every member can open it.
    for identity in &identities {
        let clear = coalition_core::seal::open_with_identity(&sealed, identity).expect("member opens");
        assert!(String::from_utf8_lossy(&clear).contains(MARKER));
    }
    assert!(node.discard_report(&id).expect("discard"));
    assert!(!node.discard_report(&id).expect("again"));
    assert!(node.report_entries(None, 10).expect("list").is_empty());
    assert!(matches!(node.open_report(&id), Err(ReportError::Unknown(_))));
}

#[test]
fn accepting_a_report_opens_a_case_and_keeps_the_report_sealed_only() {
    let (genesis, identities) = sealed_genesis();
    let node = Node::open_in_memory(genesis, Some(key(ORGS[0]))).expect("node");
    node.set_identity(identities[0].clone()).expect("identity");
    let id = node.submit_report(form("arrested")).expect("submit");
    let (submitted, kept) = node.accept_report(&id, json!({ "name_en": "Ivan Petrenko" })).expect("accept");
    let event = node.event(&submitted.id).expect("read").expect("stored");
    assert_eq!(event.event().kind(), EventKind::CaseOpened);
    assert!(!String::from_utf8_lossy(&serde_json::to_vec(&event.event().body).expect("json")).contains(MARKER));
    assert!(node.report_entries(None, 10).expect("list").is_empty(), "the inbox entry is gone");
    assert!(kept.starts_with("a-"));
    assert!(node.sealed_report(&id).expect("read").is_none());

    // A refused case leaves the report in the inbox.
    let second = node.submit_report(form("detained")).expect("submit");
    assert!(matches!(node.accept_report(&second, json!({ "bogus": 1 })), Err(ReportError::Submit(_))));
    assert_eq!(node.report_entries(None, 10).expect("list").len(), 1);
}

#[test]
fn a_mirror_or_a_coalition_without_recipients_takes_no_report() {
    let (genesis, _) = sealed_genesis();
    let mirror = Node::open_in_memory(genesis, None).expect("mirror");
    assert!(mirror.report_refusal().is_some());
    assert!(matches!(mirror.submit_report(form("x")), Err(ReportError::NotAccepted(_))));
    let plain = Node::open_in_memory(crate::support::genesis(), Some(key(ORGS[0]))).expect("node");
    assert!(matches!(plain.submit_report(form("x")), Err(ReportError::NotAccepted(_))));
    assert!(plain.report_entries(None, 10).expect("list").is_empty());
}

#[test]
fn report_text_is_checked_and_normalised() {
    let (genesis, _) = sealed_genesis();
    let node = Node::open_in_memory(genesis, Some(key(ORGS[0]))).expect("node");
    let empty = ReportForm { who: " \u{202E} ".into(), ..form("x") };
    assert!(matches!(node.submit_report(empty), Err(ReportError::Field { field: "who", .. })));
    let long = ReportForm { what: "a".repeat(coalition_node::REPORT_WHAT_CHARS_MAX + 1), ..form("x") };
    assert!(matches!(node.submit_report(long), Err(ReportError::Field { field: "what", .. })));
    assert_eq!(normalise_report_text("a\u{202E}b\u{0007}c\r\nd\u{2066}", true), "abc\nd");
    assert_eq!(normalise_report_text("line\none\ttab", false), "line one tab");
    assert_eq!(normalise_report_text("e\u{0301}", false), "\u{e9}", "NFC");
}
