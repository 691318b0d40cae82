//! NATS stopped and restarted with the same store directory.

use std::time::{Duration, Instant};

use coalition_nats::{ConsumerSettings, publish_event};
use futures::StreamExt;

use crate::fixtures::slug;
use crate::server::Harness;

/// Longest wait for the client to reconnect and publish again.
const RECONNECT_DEADLINE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn stream_and_messages_survive_a_restart_and_publishing_resumes() {
    let mut harness = Harness::with_stream().await;
    let events: Vec<_> = (0..3).map(|_| harness.writer.write("zmina")).collect();
    let mut last = 0;
    for event in &events {
        last = publish_event(&harness.jetstream, &harness.spec, event, Some(last)).await.expect("publish").stream_seq;
    }
    // Short ack wait: messages pulled into the dropped stream's buffer count as delivered and come
    // back only after it.
    let settings = ConsumerSettings { ack_wait: Duration::from_secs(2), ..ConsumerSettings::default() };
    let consumer = coalition_nats::durable_consumer_with(&harness.jetstream, &harness.spec, "survivor", settings)
        .await
        .expect("consumer");
    {
        let mut messages = consumer.messages().await.expect("messages");
        let first = messages.next().await.expect("some").expect("ok");
        first.ack_confirmed().await.expect("ack");
    }

    harness.server.stop();
    let fourth = harness.writer.write("zmina");
    let down = publish_event(&harness.jetstream, &harness.spec, &fourth, Some(last)).await;
    match down {
        Err(error) => assert!(error.is_retryable(), "while NATS is down: {error}"),
        Ok(ack) => panic!("published while the server was down: {ack:?}"),
    }

    harness.server.restart();
    assert!(harness.server.store_dir().join("jetstream").is_dir());
    // The client reconnects by itself; retrying the same publish is safe (deduplicated).
    let deadline = Instant::now() + RECONNECT_DEADLINE;
    let ack = loop {
        match publish_event(&harness.jetstream, &harness.spec, &fourth, Some(last)).await {
            Ok(ack) => break ack,
            Err(error) if error.is_retryable() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("publishing after the restart failed: {error}"),
        }
    };
    assert_eq!(ack.stream_seq, 4, "{ack:?}");

    let info = coalition_nats::ensure_stream(&harness.jetstream, &harness.spec).await.expect("config intact");
    assert!(info.config.deny_delete && info.config.deny_purge);
    assert_eq!(harness.message_count().await, 4);
    for (index, event) in events.iter().chain([&fourth]).enumerate() {
        let stored = coalition_nats::get_by_stream_seq(&harness.jetstream, &harness.spec, index as u64 + 1)
            .await
            .expect("get")
            .expect("survived");
        assert_eq!(stored.bytes, event.note().as_bytes());
    }
    let last = coalition_nats::get_last_on_feed(&harness.jetstream, &harness.spec, &slug("zmina")).await.expect("last");
    assert_eq!(last.map(|note| note.stream_seq), Some(4));

    // The durable consumer survived too: it delivers what was not acked (2 and 3, pulled before the
    // stop, come back after the ack wait) and what is new (4), never 1 again.
    let consumer = coalition_nats::durable_consumer_with(&harness.jetstream, &harness.spec, "survivor", settings)
        .await
        .expect("consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let note = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .expect("in time")
            .expect("some")
            .expect("ok");
        seen.push(note.stream_seq);
        note.ack().await.expect("ack");
    }
    seen.sort();
    assert_eq!(seen, vec![2, 3, 4]);
}
