//! Events: golden bytes (quoted in docs/PROTOCOL.md §11), one byte form, signing round trip.

use coalition_core::body::EventKind;
use coalition_core::event::{EVENT_HEADER, Event, EventError, SignedEvent};

use crate::fixtures::{self, key};

/// The worked example of docs/PROTOCOL.md §11. If this test fails, the protocol changed: update
/// the document in the same commit, and think about every ledger already signed.
#[test]
fn golden_event_bytes_and_id() {
    let genesis = fixtures::genesis();
    let zmina = key("zmina");
    let event = Event {
        ledger: genesis.ledger_id(),
        org: fixtures::slug("zmina"),
        seq: 1,
        prev: None,
        time: fixtures::time("2026-11-28T09:00:00Z"),
        deps: Vec::new(),
        body: fixtures::body(
            EventKind::CaseOpened,
            r#"{"facts":{"name_en":"Olena Pryklad","name_uk":"Олена Приклад","region":"crimea"}}"#,
        ),
    };
    let signed = event.sign(&zmina).expect("sign");
    let report = format!(
        "vkey: {}\nsecret: {}\ngenesis:\n{}ledger: {}\nnote:\n{}id: {}\n",
        zmina.verifier_key(),
        zmina.to_secret_text(),
        genesis.note(),
        genesis.ledger_id(),
        signed.note(),
        signed.id()
    );
    let expected = GOLDEN;
    assert_eq!(report, expected, "golden vector changed; new value:\n{report}");
}

/// The expected output, kept as a file so docs/PROTOCOL.md can quote it verbatim.
const GOLDEN: &str = include_str!("../data/golden/worked-example.txt");

#[test]
fn parsing_a_signed_event_gives_back_the_same_event_and_bytes() {
    let mut writer = fixtures::FeedWriter::new();
    writer.write("zmina", fixtures::case_opened());
    let event = writer.next("zmina", fixtures::case_opened());
    let signed = event.sign(&key("zmina")).expect("sign");
    let parsed = SignedEvent::parse(signed.note()).expect("parse");
    assert_eq!(parsed.event(), &event);
    assert_eq!(parsed.note(), signed.note());
    assert!(parsed.text().starts_with(EVENT_HEADER));
    assert_eq!(parsed.id().to_string(), blake3::hash(parsed.text().as_bytes()).to_hex().to_string());
    assert!(parsed.is_signed_by(&key("zmina").verifier_key()));
    assert!(!parsed.is_signed_by(&key("ccl").verifier_key()));
}

#[test]
fn events_that_break_envelope_rules_are_never_signed() {
    let mut writer = fixtures::FeedWriter::new();
    let mut event = writer.next("zmina", fixtures::case_opened());
    event.seq = 0;
    assert!(matches!(event.sign(&key("zmina")), Err(EventError::SeqOutOfRange(0))));
    let mut event = writer.next("zmina", fixtures::case_opened());
    event.seq = 2;
    assert!(matches!(event.sign(&key("zmina")), Err(EventError::PrevMissing(2))));
    let mut event = writer.next("zmina", fixtures::case_opened());
    let id = coalition_core::event::EventId::of_text(b"x");
    event.prev = Some(id);
    assert!(matches!(event.sign(&key("zmina")), Err(EventError::PrevAtFirst)));
    let mut event = writer.next("zmina", fixtures::case_opened());
    event.deps = vec![coalition_core::event::EventId::of_text(b"b"), coalition_core::event::EventId::of_text(b"a")];
    event.deps.sort();
    event.deps.reverse();
    assert!(matches!(event.sign(&key("zmina")), Err(EventError::DepsNotSorted)));
}

#[test]
fn a_note_with_two_signatures_or_three_lines_is_not_an_event() {
    let mut writer = fixtures::FeedWriter::new();
    let event = writer.next("zmina", fixtures::case_opened());
    let text = event.to_note_text().expect("text");
    let twice = coalition_core::note::sign_note(&text, &[&key("zmina"), &key("ccl")]).expect("sign");
    assert!(matches!(SignedEvent::parse(&twice), Err(EventError::SignatureCount(2))));
    let three_lines = format!("{text}extra line\n");
    let note = coalition_core::note::sign_note(&three_lines, &[&key("zmina")]).expect("sign");
    assert!(matches!(SignedEvent::parse(&note), Err(EventError::LineCount(3))));
    let header = text.replacen("event/v1", "event/v2", 1);
    let note = coalition_core::note::sign_note(&header, &[&key("zmina")]).expect("sign");
    assert!(matches!(SignedEvent::parse(&note), Err(EventError::Header(_))));
}
