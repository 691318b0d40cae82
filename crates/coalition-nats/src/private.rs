//! The ledger's private stream: key grants and sealed reports (PROTOCOL §14.2, §14.4, §14.7),
//! which, unlike feed events, must be deletable.
//!
//! One subject per record (`coalition.<hex16>.private.<space>.<id>`) and at most one message per
//! subject: the latest value wins, so a re-grant replaces a grant and a deletion replaces the
//! ciphertext. A deletion is a **tombstone**, an empty message with the header
//! [`PRIVATE_CHANGE_HEADER`] = [`PRIVATE_DELETED`], not a purge: the tombstone stays, so a node
//! that was offline when the record was deleted learns it from its durable consumer, and a node
//! that republishes its store after a restart ([`publish_private`] with `only_if_absent`) can
//! never bring a deleted record back (the subject is not empty). Storing the tombstone removes
//! the ciphertext from the stream by the per-subject limit.
//!
//! The bytes are ciphertexts this crate does not open or judge: the node decides what a grant or
//! a deletion may change (a grant's deletion takes effect only once its key is shredded in the
//! feed, which is the source of truth for shredding).

use async_nats::HeaderMap;
use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::consumer::{AckPolicy, Consumer, DeliverPolicy, ReplayPolicy};
use async_nats::jetstream::message::{Acker, PublishMessage as Publish};
use async_nats::jetstream::stream::{Config, DiscardPolicy, LastRawMessageErrorKind, RetentionPolicy, StorageType};
use coalition_store::PrivateSpace;
use coalition_store::limits::PRIVATE_RECORD_BYTES_MAX;
use futures::{Stream, StreamExt};

use crate::{ConsumerSettings, JetStream, NatsError, PublishAck, StreamSpec};

/// The header that says what a private message is.
pub const PRIVATE_CHANGE_HEADER: &str = "Coalition-Private";
/// [`PRIVATE_CHANGE_HEADER`]'s value on a tombstone: the record was deleted.
pub const PRIVATE_DELETED: &str = "deleted";
/// Largest private message, in bytes: the store's largest private record.
pub const PRIVATE_MESSAGE_BYTES_MAX: usize = PRIVATE_RECORD_BYTES_MAX;

/// The private stream's configuration.
///
/// File storage; the replicas and deduplication window of `spec`; retention by limits with one
/// message per subject (the latest value of a record wins) and no other limit (messages, bytes,
/// age), so nothing is ever dropped but a record's older value; delete and purge allowed to the
/// stream (what a user may do is the NATS permissions' business: deploy/nats lets nodes publish
/// and read, never purge or delete); no rollup; messages up to [`PRIVATE_MESSAGE_BYTES_MAX`].
pub fn private_stream_config(spec: &StreamSpec) -> Config {
    Config {
        name: spec.private_stream_name(),
        description: Some(format!("coalition-ledger key grants and reports of ledger {}", spec.ledger())),
        subjects: vec![spec.private_wildcard()],
        retention: RetentionPolicy::Limits,
        storage: StorageType::File,
        num_replicas: spec.replicas(),
        max_messages: -1,
        max_bytes: -1,
        max_age: std::time::Duration::ZERO,
        max_messages_per_subject: 1,
        max_message_size: i32::try_from(PRIVATE_MESSAGE_BYTES_MAX).unwrap_or(i32::MAX),
        max_consumers: -1,
        discard: DiscardPolicy::New,
        discard_new_per_subject: false,
        duplicate_window: spec.duplicate_window(),
        deny_delete: false,
        deny_purge: false,
        allow_rollup: false,
        ..Default::default()
    }
}

/// Creates the ledger's private stream if absent; if present, checks every field this crate
/// relies on and reports the first that contradicts it ([`NatsError::StreamMismatch`]), never
/// changing the stream.
pub async fn ensure_private_stream(jetstream: &JetStream, spec: &StreamSpec) -> Result<crate::StreamInfo, NatsError> {
    crate::stream::ensure_configured(jetstream, private_stream_config(spec), crate::stream::StreamRole::Private).await
}

/// Publishes the private record `id` of `space` (a ciphertext) on its subject, replacing what the
/// subject held.
///
/// The message id is `put.<space>.<id>.<BLAKE3 of the bytes>`, so the same bytes published again
/// within the duplicate window are stored once. With `only_if_absent` the server stores the
/// message only when the subject holds nothing (neither a value nor a tombstone), else
/// [`NatsError::WrongLastSubjectSequence`]: how a node refills a recreated stream without ever
/// overwriting a newer value or reviving a deleted record.
pub async fn publish_private(
    jetstream: &JetStream,
    spec: &StreamSpec,
    space: PrivateSpace,
    id: &str,
    bytes: &[u8],
    only_if_absent: bool,
) -> Result<PublishAck, NatsError> {
    check_record(id, bytes)?;
    if bytes.is_empty() {
        return Err(NatsError::Invalid { what: "private record", detail: "an empty record is a tombstone".into() });
    }
    let hash = blake3::hash(bytes).to_hex();
    let mut message = Publish::build().message_id(format!("put.{}.{id}.{hash}", space.as_str()));
    let expected = only_if_absent.then_some(0);
    if let Some(sequence) = expected {
        message = message.expected_last_subject_sequence(sequence);
    }
    crate::publish::send(jetstream, spec.private_subject(space, id), message, bytes.to_vec(), expected).await
}

/// Publishes the tombstone of the private record `id` of `space`: the stream drops the record's
/// ciphertext and keeps the tombstone, so every node, also one offline now, deletes its copy.
/// The message id is `del.<space>.<id>`: many nodes deleting one record store one tombstone.
pub async fn publish_private_deletion(
    jetstream: &JetStream,
    spec: &StreamSpec,
    space: PrivateSpace,
    id: &str,
) -> Result<PublishAck, NatsError> {
    check_record(id, &[])?;
    let message = Publish::build()
        .message_id(format!("del.{}.{id}", space.as_str()))
        .header(PRIVATE_CHANGE_HEADER, PRIVATE_DELETED);
    crate::publish::send(jetstream, spec.private_subject(space, id), message, Vec::new(), None).await
}

fn check_record(id: &str, bytes: &[u8]) -> Result<(), NatsError> {
    coalition_store::check_private_record(id, bytes)
        .map_err(|error| NatsError::Invalid { what: "private record", detail: error.to_string() })
}

/// What a private message says about its record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrivateValue {
    /// The record's current bytes (a ciphertext).
    Kept(Vec<u8>),
    /// The record was deleted.
    Deleted,
    /// Neither: a message this crate would not publish (no bytes and no tombstone header, an
    /// unknown header value, too large). The reason says which.
    Invalid(String),
}

fn value_of(headers: Option<&HeaderMap>, payload: &[u8]) -> PrivateValue {
    let marker = headers.and_then(|headers| headers.get(PRIVATE_CHANGE_HEADER)).map(|value| value.as_str().to_owned());
    match marker.as_deref() {
        Some(PRIVATE_DELETED) if payload.is_empty() => PrivateValue::Deleted,
        Some(PRIVATE_DELETED) => PrivateValue::Invalid("a tombstone with a payload".into()),
        Some(other) => {
            PrivateValue::Invalid(format!("unknown {PRIVATE_CHANGE_HEADER} header {:?}", crate::error::detail(other)))
        }
        None if payload.is_empty() => PrivateValue::Invalid("an empty record without the tombstone header".into()),
        None if payload.len() > PRIVATE_MESSAGE_BYTES_MAX => {
            PrivateValue::Invalid(format!("{} bytes, more than {PRIVATE_MESSAGE_BYTES_MAX}", payload.len()))
        }
        None => PrivateValue::Kept(payload.to_vec()),
    }
}

/// The current message on the private subject of `id` in `space`, if any: its stream sequence
/// and what it says.
pub async fn get_private(
    jetstream: &JetStream,
    spec: &StreamSpec,
    space: PrivateSpace,
    id: &str,
) -> Result<Option<(u64, PrivateValue)>, NatsError> {
    check_record(id, &[])?;
    let stream = jetstream
        .get_stream_no_info(spec.private_stream_name())
        .await
        .map_err(|error| NatsError::refused("private stream lookup", error))?;
    match stream.get_last_raw_message_by_subject(&spec.private_subject(space, id)).await {
        Ok(message) => Ok(Some((message.sequence, value_of(Some(&message.headers), &message.payload)))),
        Err(error) => match error.kind() {
            LastRawMessageErrorKind::NoMessageFound => Ok(None),
            LastRawMessageErrorKind::JetStream(api) if api.error_code() == ErrorCode::NO_MESSAGE_FOUND => Ok(None),
            LastRawMessageErrorKind::Other => Err(NatsError::unavailable("private message get", error)),
            _ => Err(NatsError::refused("private message get", error)),
        },
    }
}

/// One delivered private message. The caller applies it, then acks.
pub struct ReceivedPrivate {
    /// The subject it was published on.
    pub subject: String,
    /// The space and id its subject names (`None`: not a valid private subject of this ledger).
    pub record: Option<(PrivateSpace, String)>,
    /// What it says.
    pub value: PrivateValue,
    /// Its sequence in the private stream.
    pub stream_seq: u64,
    acker: Acker,
}

impl std::fmt::Debug for ReceivedPrivate {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the bytes: a ciphertext has no place in a log.
        formatter
            .debug_struct("ReceivedPrivate")
            .field("subject", &self.subject)
            .field("stream_seq", &self.stream_seq)
            .finish_non_exhaustive()
    }
}

impl ReceivedPrivate {
    /// Acknowledges the message: it will not be delivered again.
    pub async fn ack(&self) -> Result<(), NatsError> {
        self.acker.ack().await.map_err(|error| NatsError::unavailable("ack", error))
    }

    /// Asks for the message to be delivered again (the node could not store it now).
    pub async fn nak(&self) -> Result<(), NatsError> {
        self.acker
            .ack_with(async_nats::jetstream::AckKind::Nak(None))
            .await
            .map_err(|error| NatsError::unavailable("nak", error))
    }
}

/// A durable pull consumer over the whole private stream, from its first message, explicit
/// acks, no delivery limit. Its position lives on the server under its name.
#[derive(Debug, Clone)]
pub struct PrivateConsumer {
    spec: StreamSpec,
    consumer: Consumer<pull::Config>,
}

/// Creates (or reopens) the durable consumer `name` of the private stream (the same name rules
/// as [`crate::durable_consumer_with`]; a node uses the name of its feed consumer: consumers are
/// per stream).
pub async fn durable_private_consumer(
    jetstream: &JetStream,
    spec: &StreamSpec,
    name: &str,
    settings: ConsumerSettings,
) -> Result<PrivateConsumer, NatsError> {
    crate::consume::check_consumer_name(name)?;
    let config = pull::Config {
        durable_name: Some(name.to_owned()),
        description: Some("coalition-ledger private replication".to_owned()),
        deliver_policy: DeliverPolicy::All,
        ack_policy: AckPolicy::Explicit,
        ack_wait: settings.ack_wait,
        max_deliver: -1,
        max_ack_pending: settings.max_ack_pending,
        replay_policy: ReplayPolicy::Instant,
        ..Default::default()
    };
    let consumer = jetstream
        .get_stream_no_info(spec.private_stream_name())
        .await
        .map_err(|error| NatsError::refused("private stream lookup", error))?
        .create_consumer(config)
        .await
        .map_err(|error| NatsError::refused("private consumer creation", error))?;
    Ok(PrivateConsumer { spec: spec.clone(), consumer })
}

impl PrivateConsumer {
    /// The endless stream of delivered messages. An `Err` item is a transport hiccup; the stream
    /// goes on.
    pub async fn messages(
        &self,
    ) -> Result<impl Stream<Item = Result<ReceivedPrivate, NatsError>> + Send + use<>, NatsError> {
        let messages =
            self.consumer.messages().await.map_err(|error| NatsError::unavailable("private consumer pull", error))?;
        let spec = self.spec.clone();
        Ok(messages.map(move |item| {
            let message = item.map_err(|error| NatsError::unavailable("private consumer pull", error))?;
            let stream_seq = message
                .info()
                .map(|info| info.stream_sequence)
                .map_err(|error| NatsError::refused("reading delivery metadata", error))?;
            let (message, acker) = message.split();
            let subject = message.subject.to_string();
            Ok(ReceivedPrivate {
                record: spec.classify_private(&subject),
                value: value_of(message.headers.as_ref(), &message.payload),
                subject,
                stream_seq,
                acker,
            })
        }))
    }
}
