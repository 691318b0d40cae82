//! Consuming: order per subject, garbage as bytes, redelivery of unacked messages.

use std::collections::BTreeMap;
use std::time::Duration;

use coalition_core::event::SignedEvent;
use coalition_nats::{ConsumerSettings, NoteStream, ReceivedNote, publish_event};
use futures::StreamExt;

use crate::fixtures::slug;
use crate::server::Harness;

/// Longest wait for one delivery.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(10);

async fn next(messages: &mut NoteStream) -> ReceivedNote {
    tokio::time::timeout(DELIVERY_DEADLINE, messages.next())
        .await
        .expect("a delivery in time")
        .expect("the stream goes on")
        .expect("no transport error")
}

#[tokio::test]
async fn every_published_event_is_consumed_in_order_per_subject() {
    let mut harness = Harness::with_stream().await;
    let mut published: Vec<SignedEvent> = Vec::new();
    for _ in 0..4 {
        for org in ["zmina", "ccl", "crimea-sos"] {
            let event = harness.writer.write(org);
            publish_event(&harness.jetstream, &harness.spec, &event, None).await.expect("publish");
            published.push(event);
        }
    }
    let consumer =
        coalition_nats::durable_consumer(&harness.jetstream, &harness.spec, "replica-test").await.expect("c");
    assert_eq!(consumer.name(), Some("replica-test"));
    let mut messages = consumer.messages().await.expect("messages");
    let mut seqs_by_subject: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (index, expected) in published.iter().enumerate() {
        let note = next(&mut messages).await;
        assert_eq!(note.stream_seq, index as u64 + 1);
        assert_eq!(note.delivered, 1);
        assert_eq!(note.bytes, expected.note().as_bytes(), "exact bytes");
        assert_eq!(note.subject_org.as_ref(), Some(&expected.event().org));
        let parsed = SignedEvent::parse(std::str::from_utf8(&note.bytes).expect("utf-8")).expect("parse");
        seqs_by_subject.entry(note.subject.clone()).or_default().push(parsed.event().seq);
        note.ack().await.expect("ack");
    }
    assert_eq!(seqs_by_subject.len(), 3);
    for seqs in seqs_by_subject.values() {
        assert_eq!(seqs, &[1, 2, 3, 4]);
    }
}

#[tokio::test]
async fn garbage_on_a_feed_subject_arrives_as_bytes_and_the_consumer_goes_on() {
    let mut harness = Harness::with_stream().await;
    let (jetstream, spec) = (&harness.jetstream, &harness.spec);
    let garbage: &[u8] = b"\xff\xfe not a note \x00";
    jetstream
        .publish(spec.feed_subject(&slug("zmina")), garbage.to_vec().into())
        .await
        .expect("send")
        .await
        .expect("ack");
    let bad_subject = format!("coalition.{}.feed.NOT_A_SLUG", spec.ledger_hex());
    jetstream.publish(bad_subject.clone(), b"{}".to_vec().into()).await.expect("send").await.expect("ack");
    jetstream.publish(spec.forks_subject(), b"not json".to_vec().into()).await.expect("send").await.expect("ack");
    let event = harness.writer.write("zmina");
    publish_event(jetstream, spec, &event, None).await.expect("publish after garbage");

    let consumer = coalition_nats::durable_consumer(jetstream, spec, "garbage-test").await.expect("consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let first = next(&mut messages).await;
    assert_eq!(first.bytes, garbage);
    assert_eq!(first.subject_org, Some(slug("zmina")));
    let second = next(&mut messages).await;
    assert_eq!((second.subject.as_str(), second.subject_org.as_ref()), (bad_subject.as_str(), None));
    let third = next(&mut messages).await;
    assert_eq!(third.kind, coalition_nats::NoteSubject::ForkProofs);
    assert!(coalition_nats::decode_fork_proof(&third.bytes).is_err());
    let fourth = next(&mut messages).await;
    assert_eq!(fourth.bytes, event.note().as_bytes());
    for note in [first, second, third, fourth] {
        note.ack().await.expect("ack");
    }
}

#[tokio::test]
async fn an_unacked_message_is_delivered_again() {
    let mut harness = Harness::with_stream().await;
    let event = harness.writer.write("zmina");
    publish_event(&harness.jetstream, &harness.spec, &event, None).await.expect("publish");
    let settings = ConsumerSettings { ack_wait: Duration::from_secs(1), ..ConsumerSettings::default() };
    let consumer = coalition_nats::durable_consumer_with(&harness.jetstream, &harness.spec, "redelivery", settings)
        .await
        .expect("consumer");
    let mut messages = consumer.messages().await.expect("messages");

    let first = next(&mut messages).await;
    assert_eq!((first.stream_seq, first.delivered), (1, 1));
    drop(first); // not acked: say the store failed

    let again = next(&mut messages).await;
    assert_eq!((again.stream_seq, again.delivered), (1, 2));
    assert_eq!(again.bytes, event.note().as_bytes());
    again.ack_confirmed().await.expect("ack");

    // Acked: nothing more comes within a few ack waits.
    let quiet = tokio::time::timeout(Duration::from_secs(3), messages.next()).await;
    assert!(
        quiet.is_err(),
        "no delivery after the ack, got {:?}",
        quiet.ok().flatten().map(|item| item.map(|n| n.stream_seq))
    );

    // The durable consumer remembers its position: reopened, it has nothing to deliver.
    let reopened = coalition_nats::durable_consumer_with(&harness.jetstream, &harness.spec, "redelivery", settings)
        .await
        .expect("reopen");
    let mut messages = reopened.messages().await.expect("messages");
    let quiet = tokio::time::timeout(Duration::from_secs(2), messages.next()).await;
    assert!(quiet.is_err(), "nothing left to deliver");
}
