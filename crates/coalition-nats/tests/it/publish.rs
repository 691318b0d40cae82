//! Publishing: deduplication by event id, expected last subject sequence, fork proofs, reads.

use coalition_nats::{NatsError, NoteSubject, StreamSpec, publish_event};

use crate::fixtures::{FeedWriter, slug};
use crate::server::Harness;

#[tokio::test]
async fn publishing_the_same_event_twice_stores_it_once() {
    let mut harness = Harness::with_stream().await;
    let event = harness.writer.write("zmina");
    let first = publish_event(&harness.jetstream, &harness.spec, &event, None).await.expect("publish");
    assert_eq!((first.stream_seq, first.duplicate), (1, false));
    let second = publish_event(&harness.jetstream, &harness.spec, &event, None).await.expect("republish");
    assert_eq!((second.stream_seq, second.duplicate), (1, true));
    // A retry that still carries the pre-publish expectation is recognised as a duplicate, not a
    // conflict: retrying after a lost ack is safe.
    let retry = publish_event(&harness.jetstream, &harness.spec, &event, Some(0)).await.expect("retry");
    assert!(retry.duplicate, "{retry:?}");
    assert_eq!(harness.message_count().await, 1);

    let stored = coalition_nats::get_by_stream_seq(&harness.jetstream, &harness.spec, 1).await.expect("get");
    let stored = stored.expect("stored");
    assert_eq!(stored.bytes, event.note().as_bytes(), "payload is the exact note");
    assert_eq!(stored.kind, NoteSubject::Feed(slug("zmina")));
}

#[tokio::test]
async fn a_wrong_expected_last_subject_seq_is_a_typed_error_and_stores_nothing() {
    let mut harness = Harness::with_stream().await;
    let (jetstream, spec) = (&harness.jetstream, &harness.spec);
    let z1 = harness.writer.write("zmina");
    let z2 = harness.writer.write("zmina");
    let c1 = harness.writer.write("ccl");
    assert_eq!(publish_event(jetstream, spec, &z1, Some(0)).await.expect("z1").stream_seq, 1);
    // Another publisher's feed moves the stream, not zmina's subject.
    assert_eq!(publish_event(jetstream, spec, &c1, Some(0)).await.expect("c1").stream_seq, 2);

    let error = publish_event(jetstream, spec, &z2, Some(0)).await.expect_err("stale expectation");
    match &error {
        NatsError::WrongLastSubjectSequence { subject, expected, found } => {
            assert_eq!(subject, &spec.feed_subject(&slug("zmina")));
            assert_eq!((*expected, *found), (0, Some(1)));
        }
        other => panic!("expected WrongLastSubjectSequence, got {other}"),
    }
    assert!(!error.is_retryable());
    assert_eq!(harness.message_count().await, 2, "nothing stored");

    let last = coalition_nats::get_last_on_feed(jetstream, spec, &slug("zmina")).await.expect("last").expect("some");
    assert_eq!(last.stream_seq, 1);
    let ack = publish_event(jetstream, spec, &z2, Some(last.stream_seq)).await.expect("z2 with the right expectation");
    assert_eq!((ack.stream_seq, ack.duplicate), (3, false));
    assert!(coalition_nats::get_last_on_feed(jetstream, spec, &slug("crimea-sos")).await.expect("empty").is_none());
    assert!(coalition_nats::get_by_stream_seq(jetstream, spec, 99).await.expect("absent").is_none());

    // Walking zmina's feed subject finds stream sequences 1 and 3.
    let mut walked = Vec::new();
    let mut from = 1;
    while let Some(note) = coalition_nats::get_next_on_feed(jetstream, spec, &slug("zmina"), from).await.expect("walk")
    {
        walked.push(note.stream_seq);
        from = note.stream_seq + 1;
    }
    assert_eq!(walked, vec![1, 3]);
}

#[tokio::test]
async fn events_of_another_ledger_are_not_published() {
    let mut harness = Harness::with_stream().await;
    let other_ledger = coalition_core::event::LedgerId::from_bytes([7; 32]);
    let other_spec = StreamSpec::single_server(other_ledger);
    let event = harness.writer.write("zmina");
    let error = publish_event(&harness.jetstream, &other_spec, &event, None).await.expect_err("wrong ledger");
    assert!(matches!(error, NatsError::WrongLedger { .. }), "{error}");
}

#[tokio::test]
async fn publishing_without_a_stream_says_so() {
    let mut harness = Harness::new().await;
    let event = harness.writer.write("zmina");
    let error = publish_event(&harness.jetstream, &harness.spec, &event, None).await.expect_err("no stream");
    assert!(matches!(error, NatsError::NoStream { .. }), "{error}");
}

#[tokio::test]
async fn a_fork_proof_is_stored_once_whichever_order_it_is_published_in() {
    let harness = Harness::with_stream().await;
    // Two different events at zmina seq 1: a fork.
    let mut writer_a = FeedWriter::new();
    let mut writer_b = FeedWriter::new();
    let _ = writer_b.write("ccl"); // shifts the clock, so the second event differs
    let (a, b) = (writer_a.write("zmina"), writer_b.write("zmina"));
    assert_ne!(a.id(), b.id());
    let (jetstream, spec) = (&harness.jetstream, &harness.spec);
    let first = coalition_nats::publish_fork_proof(jetstream, spec, &a, &b).await.expect("publish proof");
    let again = coalition_nats::publish_fork_proof(jetstream, spec, &b, &a).await.expect("republish proof");
    assert!(!first.duplicate && again.duplicate);
    assert_eq!(first.stream_seq, again.stream_seq);
    let stored =
        coalition_nats::get_by_stream_seq(jetstream, spec, first.stream_seq).await.expect("get").expect("some");
    assert_eq!(stored.kind, NoteSubject::ForkProofs);
    let (x, y) = coalition_nats::decode_fork_proof(&stored.bytes).expect("decode");
    let mut got = [x, y];
    got.sort();
    let mut want = [a.note().to_owned(), b.note().to_owned()];
    want.sort();
    assert_eq!(got, want);
}
