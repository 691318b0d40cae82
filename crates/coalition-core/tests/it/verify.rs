//! Feed verification: every refusal reason of `coalition verify`, forks, and the property that no
//! single-byte change of a valid event is accepted.

use coalition_core::body::EventKind;
use coalition_core::event::{Event, EventId, LedgerId, SignedEvent};
use coalition_core::verify::{Outcome, Rejection, Verifier};
use proptest::prelude::*;

use crate::fixtures::{self, FeedWriter, case_opened, key};

fn rejection_of(outcomes: &[Outcome]) -> Rejection {
    match outcomes {
        [Outcome::Rejected { reason, .. }] => reason.clone(),
        other => panic!("expected one rejection, got {other:?}"),
    }
}

fn accepted(outcomes: &[Outcome]) -> usize {
    outcomes.iter().filter(|outcome| matches!(outcome, Outcome::Accepted { .. })).count()
}

/// A verifier that has accepted a short valid history: zmina 1..=3, crimea-sos 1..=2.
fn verified_history() -> (FeedWriter, Verifier, Vec<SignedEvent>) {
    let mut writer = FeedWriter::new();
    let mut verifier = Verifier::new(&writer.genesis);
    let mut events = Vec::new();
    for org in ["zmina", "zmina", "crimea-sos", "zmina", "crimea-sos"] {
        let event = writer.write(org, case_opened());
        assert_eq!(accepted(&verifier.push(0, event.note())), 1, "valid event refused");
        events.push(event);
    }
    (writer, verifier, events)
}

#[test]
fn a_valid_history_is_accepted_with_heads_per_feed() {
    let (_, verifier, events) = verified_history();
    let heads = verifier.heads();
    assert_eq!(heads[&fixtures::slug("zmina")], (3, events[3].id()));
    assert_eq!(heads[&fixtures::slug("crimea-sos")], (2, events[4].id()));
    assert!(!heads.contains_key(&fixtures::slug("ccl")));
}

#[test]
fn events_arriving_before_their_predecessor_wait_and_are_then_accepted() {
    let mut writer = FeedWriter::new();
    let first = writer.write("zmina", case_opened());
    let second = writer.write("zmina", case_opened());
    let mut verifier = Verifier::new(&writer.genesis);
    assert!(verifier.push(1, second.note()).is_empty(), "second event must wait");
    assert_eq!(verifier.pending_count(), 1);
    let outcomes = verifier.push(2, first.note());
    assert_eq!(accepted(&outcomes), 2);
    assert_eq!(verifier.pending_count(), 0);
}

#[test]
fn a_duplicate_is_reported_as_such_not_as_a_problem() {
    let (_, mut verifier, events) = verified_history();
    let outcomes = verifier.push(9, events[1].note());
    assert!(matches!(outcomes.as_slice(), [Outcome::Duplicate { id, .. }] if *id == events[1].id()));
}

#[test]
fn a_bad_signature_is_refused() {
    let (mut writer, mut verifier, _) = verified_history();
    let event = writer.next("zmina", case_opened());
    // Signed by another member's key relabelled as zmina's: the name and key id lines up only if we
    // forge the signature line, so take a valid note and corrupt the signature bytes instead.
    let signed = event.sign(&key("zmina")).expect("sign");
    let note = signed.note();
    let dash = note.rfind(' ').expect("signature line");
    let mut bytes = note.as_bytes().to_vec();
    // Change one base64 character in the middle of the signature (keeps the key id intact).
    let position = dash + 30;
    bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(bytes).expect("utf8");
    assert!(
        matches!(rejection_of(&verifier.push(1, &forged)), Rejection::BadSignature(org) if org.as_str() == "zmina")
    );
}

#[test]
fn an_event_signed_by_another_members_key_is_refused() {
    let (mut writer, mut verifier, _) = verified_history();
    let event = writer.next("zmina", case_opened());
    let signed = event.sign(&key("ccl")).expect("sign");
    assert!(matches!(rejection_of(&verifier.push(1, signed.note())), Rejection::WrongKey { .. }));
}

#[test]
fn a_non_canonical_json_line_is_refused() {
    let (mut writer, mut verifier, _) = verified_history();
    let event = writer.next("zmina", case_opened());
    let text = event.to_note_text().expect("text");
    // Same JSON value, with a space after the first colon: not canonical.
    let spaced = text.replacen("\"body\":", "\"body\": ", 1);
    let note = coalition_core::note::sign_note(&spaced, &[&key("zmina")]).expect("sign");
    let reason = rejection_of(&verifier.push(1, &note));
    assert_eq!(reason.code(), "not_canonical", "{reason}");
}

#[test]
fn a_schema_violation_names_the_field_path() {
    let (mut writer, mut verifier, _) = verified_history();
    let event = writer.next("zmina", case_opened());
    let text = event.to_note_text().expect("text");
    let bad = text.replacen("\"region\":\"crimea\"", "\"region\":\"atlantis\"", 1);
    let note = coalition_core::note::sign_note(&bad, &[&key("zmina")]).expect("sign");
    let reason = rejection_of(&verifier.push(1, &note));
    assert_eq!(reason.code(), "schema");
    assert!(reason.to_string().contains("facts.region"), "{reason}");
}

#[test]
fn an_unknown_field_is_refused() {
    let (mut writer, mut verifier, _) = verified_history();
    let event = writer.next("zmina", case_opened());
    let text = event.to_note_text().expect("text");
    let bad = text.replacen("{\"body\":", "{\"age\":1,\"body\":", 1);
    let note = coalition_core::note::sign_note(&bad, &[&key("zmina")]).expect("sign");
    let reason = rejection_of(&verifier.push(1, &note));
    assert!(reason.to_string().contains("age"), "{reason}");
}

#[test]
fn an_unknown_org_is_refused_at_the_end_of_the_stream() {
    let (mut writer, mut verifier, _) = verified_history();
    let mut event = writer.next("zmina", case_opened());
    event.org = fixtures::slug("stranger");
    event.seq = 1;
    event.prev = None;
    let signed = event.sign(&key("stranger")).expect("sign");
    assert!(verifier.push(1, signed.note()).is_empty(), "an unknown org may still be proposed later");
    let outcomes = verifier.finish();
    assert!(matches!(rejection_of(&outcomes), Rejection::UnknownOrg(org) if org.as_str() == "stranger"));
}

#[test]
fn a_seq_gap_is_reported_at_the_end_of_the_stream() {
    let (mut writer, mut verifier, _) = verified_history();
    let skipped = writer.write("zmina", case_opened());
    let after_gap = writer.write("zmina", case_opened());
    let _ = skipped;
    assert!(verifier.push(1, after_gap.note()).is_empty());
    let outcomes = verifier.finish();
    assert!(matches!(rejection_of(&outcomes), Rejection::SeqGap { missing: 4, head: 3, .. }));
}

#[test]
fn a_prev_mismatch_is_refused() {
    let (mut writer, mut verifier, events) = verified_history();
    let mut event = writer.next("zmina", case_opened());
    event.prev = Some(events[0].id());
    let signed = event.sign(&key("zmina")).expect("sign");
    assert!(matches!(
        rejection_of(&verifier.push(1, signed.note())),
        Rejection::PrevMismatch { expected, .. } if expected == events[3].id()
    ));
}

#[test]
fn an_event_of_another_ledger_is_refused() {
    let (mut writer, mut verifier, _) = verified_history();
    let mut event = writer.next("zmina", case_opened());
    event.ledger = LedgerId::of_text(b"another coalition");
    let signed = event.sign(&key("zmina")).expect("sign");
    assert!(matches!(rejection_of(&verifier.push(1, signed.note())), Rejection::WrongLedger { .. }));
}

#[test]
fn time_going_back_within_a_feed_is_refused() {
    let (mut writer, mut verifier, _) = verified_history();
    let mut event = writer.next("zmina", case_opened());
    event.time = fixtures::time("2026-11-01T00:00:30Z");
    let signed = event.sign(&key("zmina")).expect("sign");
    assert!(matches!(rejection_of(&verifier.push(1, signed.note())), Rejection::TimeWentBack { .. }));
}

#[test]
fn an_event_larger_than_the_limit_is_refused() {
    let (_, mut verifier, _) = verified_history();
    let huge = "x".repeat(coalition_core::limits::EVENT_NOTE_BYTES_MAX + 1);
    let reason = rejection_of(&verifier.push(1, &huge));
    assert_eq!(reason.code(), "too_large");
}

#[test]
fn a_fork_is_reported_with_both_ids_and_freezes_the_feed() {
    let (mut writer, mut verifier, events) = verified_history();
    // A second, different event at zmina seq 3, validly signed.
    let mut other = writer.next("zmina", case_opened());
    other.seq = 3;
    other.prev = Some(events[1].id());
    let conflicting = other.sign(&key("zmina")).expect("sign");
    let outcomes = verifier.push(7, conflicting.note());
    match outcomes.as_slice() {
        [Outcome::Fork { fork, .. }] => {
            assert_eq!(fork.org.as_str(), "zmina");
            assert_eq!(fork.seq, 3);
            assert_eq!(fork.first, events[3].id());
            assert_eq!(fork.second.id(), conflicting.id());
        }
        other => panic!("expected a fork, got {other:?}"),
    }
    assert_eq!(verifier.frozen_at(&fixtures::slug("zmina")), Some(3));
    // Later events of the frozen feed are still handed back (signed, without effect), so that a
    // projector can settle honest events that name them.
    let next = writer.write("zmina", case_opened());
    let outcomes = verifier.push(8, next.note());
    assert!(
        matches!(outcomes.as_slice(), [Outcome::Frozen { fork_seq: 3, event, .. }] if event.id() == next.id()),
        "{outcomes:?}"
    );
    // A forged one is not.
    let mut forged = writer.next("zmina", case_opened());
    forged.seq = 9;
    let forged = forged.sign(&key("ccl")).expect("sign");
    assert!(matches!(
        rejection_of(&verifier.push(9, forged.note())),
        Rejection::WrongKey { .. } | Rejection::BadSignature(_)
    ));
}

#[test]
fn a_rotated_key_signs_from_the_next_event_on() {
    let (mut writer, mut verifier, _) = verified_history();
    let new_key = coalition_core::keys::SignerKey::from_seed(
        coalition_core::keys::KeyName::parse("coalition.example/zmina").expect("name"),
        [99; 32],
    );
    let body = fixtures::body(EventKind::KeyRotated, &format!("{{\"vkey\":\"{}\"}}", new_key.verifier_key()));
    let rotation = writer.write("zmina", body);
    assert_eq!(accepted(&verifier.push(1, rotation.note())), 1);
    let with_old_key = writer.next("zmina", case_opened()).sign(&key("zmina")).expect("sign");
    assert!(matches!(rejection_of(&verifier.push(2, with_old_key.note())), Rejection::WrongKey { .. }));
    let with_new_key = writer.next("zmina", case_opened()).sign(&new_key).expect("sign");
    assert_eq!(accepted(&verifier.push(3, with_new_key.note())), 1);
}

#[test]
fn concurrent_checks_give_the_same_outcomes_as_sequential_ones() {
    let mut writer = FeedWriter::new();
    let notes: Vec<(u64, String)> = (0..200)
        .map(|index| {
            let org = fixtures::ORGS[index % 3];
            (index as u64, writer.write(org, case_opened()).note().to_owned())
        })
        .collect();
    let mut parallel = Verifier::new(&writer.genesis);
    let checked = parallel.check_many(&notes, 4);
    let accepted_parallel: usize = checked.into_iter().map(|item| accepted(&parallel.accept(item))).sum();
    assert_eq!(accepted_parallel, 200);
    assert_eq!(parallel.heads().values().map(|(seq, _)| seq).sum::<u64>(), 200);
}

#[test]
fn checking_notes_together_gives_each_the_verdict_it_gets_alone() {
    let mut writer = FeedWriter::new();
    let mut notes: Vec<(u64, String)> = Vec::new();
    let mut previous: Vec<SignedEvent> = Vec::new();
    for index in 0..45u64 {
        let org = fixtures::ORGS[index as usize % 3];
        let event = writer.write(org, case_opened());
        let tag = notes.len() as u64;
        // Forgeries come just before the event they imitate, so each is judged on its own
        // signature rather than left waiting for a predecessor.
        match index % 7 {
            // The event's text with the signature of the org's event before: well formed,
            // names the right key, and the signature does not verify.
            3 => {
                if let Some(earlier) = previous.iter().rev().find(|earlier| earlier.event().org == event.event().org) {
                    notes.push((tag, format!("{}{}", event.text(), &earlier.note()[earlier.text().len()..])));
                }
            }
            // The same event signed by another member's key.
            5 => {
                let other = if org == "zmina" { "ccl" } else { "zmina" };
                let forged = event.event().clone().sign(&key(other)).expect("sign");
                notes.push((tag, forged.note().to_owned()));
            }
            6 => notes.push((tag, "not a note".to_owned())),
            _ => {}
        }
        notes.push((notes.len() as u64, event.note().to_owned()));
        previous.push(event);
    }
    let mut alone = Verifier::new(&writer.genesis);
    let mut together = Verifier::new(&writer.genesis);
    let book = alone.key_book();
    let mut outcomes_alone = Vec::new();
    for (tag, note) in &notes {
        outcomes_alone.extend(alone.accept(book.check_owned(*tag, note.clone())));
    }
    let mut outcomes_together = Vec::new();
    for checked in book.check_owned_many(notes.clone()) {
        outcomes_together.extend(together.accept(checked));
    }
    assert_eq!(format!("{outcomes_together:?}"), format!("{outcomes_alone:?}"));
    // Non-vacuous: the mix holds accepted events and refusals of each kind.
    let rendered = format!("{outcomes_alone:?}");
    for expected in ["Accepted", "BadSignature", "WrongKey", "Malformed"] {
        assert!(rendered.contains(expected), "no {expected} among {rendered}");
    }
}

fn valid_next_note() -> (Verifier, String, EventId) {
    let (mut writer, verifier, _) = verified_history();
    let event: Event = writer.next("crimea-sos", case_opened());
    let signed = event.sign(&key("crimea-sos")).expect("sign");
    (verifier, signed.note().to_owned(), signed.id())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any single-byte change anywhere in a valid event's note is refused.
    #[test]
    fn any_single_byte_change_is_refused(position_seed in any::<usize>(), replacement in any::<u8>()) {
        let (mut verifier, note, _) = valid_next_note();
        let mut bytes = note.into_bytes();
        let position = position_seed % bytes.len();
        prop_assume!(bytes[position] != replacement);
        bytes[position] = replacement;
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        let mut outcomes = verifier.push(1, &mutated);
        outcomes.extend(verifier.finish());
        prop_assert!(
            outcomes.iter().all(|outcome| !matches!(outcome, Outcome::Accepted { .. } | Outcome::Duplicate { .. })),
            "mutation at byte {} accepted: {:?}", position, outcomes
        );
        prop_assert!(!outcomes.is_empty(), "mutation at byte {} produced no verdict", position);
    }
}
