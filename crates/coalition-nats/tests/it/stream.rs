//! Stream creation, configuration checks, and the server refusing deletes and purges.

use std::time::Duration;

use coalition_nats::async_nats::jetstream::stream::{DiscardPolicy, RetentionPolicy, StorageType};
use coalition_nats::{NatsError, publish_event};

use crate::server::Harness;

#[tokio::test]
async fn stream_is_created_with_the_required_config_and_reopened() {
    let harness = Harness::new().await;
    let info = coalition_nats::ensure_stream(&harness.jetstream, &harness.spec).await.expect("create");
    let config = &info.config;
    assert_eq!(config.name, harness.spec.stream_name());
    let mut subjects = config.subjects.clone();
    subjects.sort();
    assert_eq!(subjects, vec![harness.spec.feeds_wildcard(), harness.spec.forks_subject()]);
    assert_eq!(config.storage, StorageType::File);
    assert_eq!(config.retention, RetentionPolicy::Limits);
    assert_eq!(config.num_replicas, 1);
    assert_eq!((config.max_messages, config.max_bytes, config.max_messages_per_subject), (-1, -1, -1));
    assert_eq!(config.max_age, Duration::ZERO);
    assert_eq!(config.discard, DiscardPolicy::New);
    assert!(config.deny_delete && config.deny_purge && !config.allow_rollup);
    assert_eq!(config.duplicate_window, coalition_nats::DUPLICATE_WINDOW_DEFAULT);
    assert_eq!(config.max_message_size, coalition_nats::STREAM_MESSAGE_BYTES_MAX as i32);

    // A second call finds the stream and accepts it.
    let again = coalition_nats::ensure_stream(&harness.jetstream, &harness.spec).await.expect("reopen");
    assert_eq!(again.config.name, config.name);
}

#[tokio::test]
async fn a_contradicting_existing_stream_is_reported_with_the_field_and_left_alone() {
    let harness = Harness::new().await;
    let mut config = coalition_nats::stream_config(&harness.spec);
    // An age limit (longer than the duplicate window, which the server requires).
    config.max_age = Duration::from_secs(48 * 3600);
    harness.jetstream.create_stream(config).await.expect("create a stream that would drop old events");

    let error = coalition_nats::ensure_stream(&harness.jetstream, &harness.spec).await.expect_err("mismatch");
    match &error {
        NatsError::StreamMismatch { field, expected, found, .. } => {
            assert_eq!(*field, "max_age");
            assert_eq!((expected.as_str(), found.as_str()), ("0ns", "172800s"));
        }
        other => panic!("expected a mismatch, got {other}"),
    }
    assert!(!error.is_retryable());
    // Not "fixed": the stream keeps its configuration.
    let stream = harness.jetstream.get_stream(harness.spec.stream_name()).await.expect("stream");
    assert_eq!(stream.cached_info().config.max_age, Duration::from_secs(48 * 3600));

    // Another field: a stream that allows deletes.
    let other = Harness::new().await;
    let mut config = coalition_nats::stream_config(&other.spec);
    config.deny_delete = false;
    other.jetstream.create_stream(config).await.expect("create");
    let error = coalition_nats::ensure_stream(&other.jetstream, &other.spec).await.expect_err("mismatch");
    assert!(matches!(error, NatsError::StreamMismatch { field: "deny_delete", .. }), "{error}");
}

#[tokio::test]
async fn the_server_refuses_delete_and_purge() {
    let mut harness = Harness::with_stream().await;
    let event = harness.writer.write("zmina");
    publish_event(&harness.jetstream, &harness.spec, &event, Some(0)).await.expect("publish");
    let stream = harness.jetstream.get_stream(harness.spec.stream_name()).await.expect("stream");

    let delete = stream.delete_message(1).await;
    assert!(delete.is_err(), "delete must be refused, got {delete:?}");
    let purge = stream.purge().await;
    assert!(purge.is_err(), "purge must be refused, got {purge:?}");
    let purge_subject = stream.purge().filter(harness.spec.feed_subject(&event.event().org)).await;
    assert!(purge_subject.is_err(), "purging a subject must be refused, got {purge_subject:?}");

    assert_eq!(harness.message_count().await, 1);
    let stored = coalition_nats::get_by_stream_seq(&harness.jetstream, &harness.spec, 1).await.expect("get");
    assert_eq!(stored.expect("still there").bytes, event.note().as_bytes());
}

/// A tripwire, not a wish: `deny_delete` and `deny_purge` protect messages, but JetStream still lets
/// any client with API access delete the whole stream. Deployments must deny
/// `$JS.API.STREAM.DELETE.>` (and `$JS.API.STREAM.UPDATE.>`) to node users; the nodes' own stores
/// stay the source of truth. If a server version starts refusing this, revisit the docs.
#[tokio::test]
async fn deleting_the_whole_stream_is_not_prevented_by_the_stream_config() {
    let harness = Harness::with_stream().await;
    let deleted = harness.jetstream.delete_stream(harness.spec.stream_name()).await.expect("delete request");
    assert!(deleted.success);
}

/// What the server itself guarantees after creation, and what it does not (a tripwire): deny
/// delete and deny purge cannot be cancelled and roll-ups stay refused, but an update may add an
/// age limit that would drop events. Deployments must deny `$JS.API.STREAM.UPDATE.>` to node users,
/// and `ensure_stream` at every start reports such a change.
#[tokio::test]
async fn updates_cannot_cancel_deny_flags_but_can_add_limits() {
    let harness = Harness::with_stream().await;
    let (jetstream, spec) = (&harness.jetstream, &harness.spec);
    type Change = fn(&mut coalition_nats::async_nats::jetstream::stream::Config);
    let changes: [Change; 3] =
        [|config| config.deny_delete = false, |config| config.deny_purge = false, |config| config.allow_rollup = true];
    for change in changes {
        let mut config = coalition_nats::stream_config(spec);
        change(&mut config);
        assert!(jetstream.update_stream(config).await.is_err(), "the server must refuse this update");
    }
    let mut config = coalition_nats::stream_config(spec);
    config.max_age = Duration::from_secs(48 * 3600);
    let updated = jetstream.update_stream(config).await.expect("the server accepts an age limit");
    assert_eq!(updated.config.max_age, Duration::from_secs(48 * 3600));
    let error = coalition_nats::ensure_stream(jetstream, spec).await.expect_err("reported at the next start");
    assert!(matches!(error, NatsError::StreamMismatch { field: "max_age", .. }), "{error}");
}
