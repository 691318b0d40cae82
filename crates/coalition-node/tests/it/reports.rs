//! The members' inbox: a report is sealed at once, kept only as ciphertext outside every feed,
//! opened with the node's identity, and accepted (opening a case) or discarded.

use std::io::Write;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use coalition_core::body::EventKind;
use coalition_core::genesis::Genesis;
use coalition_core::seal::{Identity, SealedValue};
use coalition_node::{
    FieldProblem, Node, NodeError, REPORT_INBOX_ENTRIES_MAX, REPORT_RECORD_FIELDS, RecordContent, ReportError,
    ReportForm, normalise_report_text,
};
use coalition_store::PrivateSpace;
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

/// Every event's signed note, as text.
fn clear_history(node: &Node) -> String {
    let mut history = String::new();
    node.for_each_event(&mut |event| {
        history.push_str(event.note());
        ControlFlow::Continue(())
    })
    .expect("events");
    history
}

#[test]
fn accepting_a_report_opens_a_case_and_seals_the_report_into_its_file() {
    let (genesis, identities) = sealed_genesis();
    let node = Node::open_in_memory(genesis, Some(key(ORGS[0]))).expect("node");
    node.set_identity(identities[0].clone()).expect("identity");
    let id = node.submit_report(form(&format!("arrested\n<b>at night</b> {MARKER}"))).expect("submit");
    let accepted = node.accept_report(&id, json!({ "name_en": "Ivan Petrenko" })).expect("accept");
    let case = accepted.case.id;
    let event = node.event(&case).expect("read").expect("stored");
    assert_eq!(event.event().kind(), EventKind::CaseOpened);
    assert!(!clear_history(&node).contains(MARKER), "no clear event carries the report");
    assert!(!clear_history(&node).contains("example.org"), "nor the reporter's contact");
    assert_eq!(node.event(&accepted.sealed.id).expect("read").expect("stored").event().kind(), EventKind::Sealed);
    assert!(node.report_entries(None, 10).expect("list").is_empty(), "the inbox entry is gone");
    assert!(node.sealed_report(&id).expect("read").is_none());
    assert!(node.private_ids(PrivateSpace::Reports, None, 10).expect("ids").is_empty(), "nothing else is kept");

    // The case file holds the report, sealed.
    let file = node.case_file(&case).expect("case file");
    assert_eq!(file.len(), 1);
    let RecordContent::Opened(record) = &file[0].content else { panic!("opens: {:?}", file[0].content) };
    assert_eq!(record.kind, EventKind::CaseOpened);
    assert_eq!(record.case, Some(case));
    let text = |name: &str| match record.fields.get(name) {
        Some(SealedValue::Text(text)) => text.clone(),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(text("reporter_contact"), format!("mail-{MARKER}@example.org"));
    assert_eq!(text("who"), format!("Ivan {MARKER}"));
    assert_eq!(text("where"), "Melitopol");
    assert_eq!(text("what"), format!("arrested\n<b>at night</b> {MARKER}"));
    assert_eq!(text("report_id"), id);
    assert_eq!(text("reporter_consent"), "yes");
    assert_eq!(text("received").len(), "2026-01-01".len());
    let mut names: Vec<&str> = REPORT_RECORD_FIELDS.to_vec();
    names.sort_unstable();
    assert_eq!(accepted.sealed_fields, names);

    // A report without a contact seals no empty contact field.
    let quiet = node.submit_report(ReportForm { contact: " \u{200B}".into(), ..form("detained") }).expect("submit");
    let accepted = node.accept_report(&quiet, json!({ "name_en": "Petro Ivanenko" })).expect("accept");
    assert!(!accepted.sealed_fields.iter().any(|name| name == "reporter_contact"), "{:?}", accepted.sealed_fields);

    // A refused case leaves the report in the inbox, and nothing is signed.
    let second = node.submit_report(form("detained")).expect("submit");
    let version = node.version();
    assert!(matches!(node.accept_report(&second, json!({ "bogus": 1 })), Err(ReportError::Submit(_))));
    assert_eq!(node.version(), version);
    assert_eq!(node.report_entries(None, 10).expect("list").len(), 1);
}

#[test]
fn accepting_refuses_public_facts_that_repeat_the_contact_and_needs_the_identity() {
    let (genesis, identities) = sealed_genesis();
    let node = Node::open_in_memory(genesis, Some(key(ORGS[0]))).expect("node");
    let id = node.submit_report(form("arrested")).expect("submit");
    assert!(matches!(
        node.accept_report(&id, json!({ "name_en": "Ivan" })),
        Err(ReportError::Node(NodeError::NoIdentity))
    ));
    node.set_identity(identities[0].clone()).expect("identity");
    let leaking = json!({ "name_en": "Ivan", "summary_en": format!("write to mail-{MARKER}@example.org") });
    assert!(matches!(node.accept_report(&id, leaking), Err(ReportError::ContactInFacts)));
    assert_eq!(node.version(), 0, "nothing was signed");
    assert_eq!(node.report_entries(None, 10).expect("list").len(), 1, "the report stays in the inbox");
}

/// A tracing writer that keeps what is logged, for checking what a log line carries.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_full_inbox_refuses_reports_and_logs_the_count_only() {
    let (genesis, identities) = sealed_genesis();
    let node = Node::open_in_memory(genesis, Some(key(ORGS[0]))).expect("node");
    node.set_identity(identities[0].clone()).expect("identity");
    let kept = node.submit_report(form("first")).expect("submit");
    let sealed = node.sealed_report(&kept).expect("read").expect("kept");
    // Fill the inbox up to the cap with copies of the ciphertext (sealing thousands takes long).
    for index in 1..REPORT_INBOX_ENTRIES_MAX {
        assert!(node.keep_private(PrivateSpace::Reports, &format!("r-00000-{index:016x}"), &sealed).expect("keep"));
    }
    let fill = node.inbox_fill().expect("fill");
    assert_eq!((fill.entries, fill.full), (REPORT_INBOX_ENTRIES_MAX, true));

    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let refused = tracing::subscriber::with_default(subscriber, || node.submit_report(form(&format!("late {MARKER}"))));
    assert!(matches!(refused, Err(ReportError::InboxFull { entries }) if entries == REPORT_INBOX_ENTRIES_MAX));
    let logged = String::from_utf8(log.0.lock().expect("log").clone()).expect("UTF-8 log");
    assert!(logged.contains("WARN") && logged.contains(&format!("entries={REPORT_INBOX_ENTRIES_MAX}")), "{logged}");
    assert!(!logged.contains(MARKER) && !logged.contains("Ivan") && !logged.contains("Melitopol"), "{logged}");

    // Triage frees room.
    assert!(node.discard_report(&kept).expect("discard"));
    assert!(!node.inbox_fill().expect("fill").full);
    node.submit_report(form("room again")).expect("submit");
}

#[test]
fn a_report_too_large_to_seal_into_a_case_is_refused_at_once() {
    let (genesis, _) = sealed_genesis();
    let node = Node::open_in_memory(genesis, Some(key(ORGS[0]))).expect("node");
    // 10,000 characters of four bytes each: within the character limit, beyond the record's bytes.
    let wide = ReportForm { what: "\u{1D54F}".repeat(coalition_node::REPORT_WHAT_CHARS_MAX), ..form("x") };
    assert!(matches!(node.submit_report(wide), Err(ReportError::TooLarge { .. })));
    let cyrillic = ReportForm { what: "ж".repeat(coalition_node::REPORT_WHAT_CHARS_MAX), ..form("x") };
    node.submit_report(cyrillic).expect("the longest Cyrillic report fits");
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
    assert!(matches!(
        node.submit_report(empty),
        Err(ReportError::Field { field: "who", problem: FieldProblem::Required })
    ));
    let long = ReportForm { what: "a".repeat(coalition_node::REPORT_WHAT_CHARS_MAX + 1), ..form("x") };
    assert!(matches!(
        node.submit_report(long),
        Err(ReportError::Field { field: "what", problem: FieldProblem::TooLong { chars: 10_001, max: 10_000 } })
    ));
    assert_eq!(normalise_report_text("a\u{202E}b\u{0007}c\r\nd\u{2066}", true), "abc\nd");
    assert_eq!(normalise_report_text("line\none\ttab", false), "line one tab");
    assert_eq!(normalise_report_text("e\u{0301}", false), "\u{e9}", "NFC");
    // Tabs and invisible blanks at the ends would break the sealed record's text rules.
    assert_eq!(normalise_report_text("\u{200B}\tcol\tumns\n\u{FEFF}", true), "col umns");
    assert_eq!(normalise_report_text("a\u{200B}b", false), "a\u{200B}b", "only the ends are trimmed");
}
