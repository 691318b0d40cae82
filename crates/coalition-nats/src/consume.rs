//! Consuming the stream: raw bytes, subject and stream sequence, acked only when the caller says.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_nats::jetstream::consumer::pull::{self, MessagesErrorKind};
use async_nats::jetstream::consumer::{AckPolicy, Consumer, DeliverPolicy, ReplayPolicy};
use async_nats::jetstream::message::Acker;
use async_nats::jetstream::stream::{LastRawMessageErrorKind, Stream as JsStream};
use coalition_core::event::OrgSlug;
use futures::{Stream, StreamExt};

use crate::{
    ACK_PENDING_MAX_DEFAULT, ACK_WAIT_DEFAULT, JetStream, NatsError, NoteSubject, STREAM_MESSAGE_BYTES_MAX, StreamSpec,
};

/// Longest durable consumer name accepted, in bytes.
pub const CONSUMER_NAME_BYTES_MAX: usize = 64;

/// How a durable consumer redelivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerSettings {
    /// How long the server waits for an ack before delivering a message again.
    pub ack_wait: Duration,
    /// Most messages delivered and not yet acked.
    pub max_ack_pending: i64,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self { ack_wait: ACK_WAIT_DEFAULT, max_ack_pending: ACK_PENDING_MAX_DEFAULT }
    }
}

/// A durable pull consumer over the whole ledger stream (every feed and the fork proofs).
///
/// Its position lives on the server under its name, so a node that restarts continues where it
/// acked. Every message is delivered until acked (no delivery limit): a message is never given up
/// on, only quarantined by the caller and then acked.
#[derive(Debug, Clone)]
pub struct NoteConsumer {
    spec: StreamSpec,
    consumer: Consumer<pull::Config>,
}

/// Creates (or reopens) the durable consumer `name` with [`ConsumerSettings::default`].
pub async fn durable_consumer(jetstream: &JetStream, spec: &StreamSpec, name: &str) -> Result<NoteConsumer, NatsError> {
    durable_consumer_with(jetstream, spec, name, ConsumerSettings::default()).await
}

/// Creates (or reopens) the durable consumer `name`: delivers from the first message, explicit
/// acks, no delivery limit, redelivery after `settings.ack_wait`.
///
/// `name` is 1 to [`CONSUMER_NAME_BYTES_MAX`] bytes of ASCII letters, digits, `-` and `_`.
pub async fn durable_consumer_with(
    jetstream: &JetStream,
    spec: &StreamSpec,
    name: &str,
    settings: ConsumerSettings,
) -> Result<NoteConsumer, NatsError> {
    check_consumer_name(name)?;
    let config = pull::Config {
        durable_name: Some(name.to_owned()),
        description: Some("coalition-ledger replication".to_owned()),
        deliver_policy: DeliverPolicy::All,
        ack_policy: AckPolicy::Explicit,
        ack_wait: settings.ack_wait,
        max_deliver: -1,
        max_ack_pending: settings.max_ack_pending,
        replay_policy: ReplayPolicy::Instant,
        ..Default::default()
    };
    let consumer = stream_handle(jetstream, spec)
        .await?
        .create_consumer(config)
        .await
        .map_err(|error| consumer_error("consumer creation", error))?;
    Ok(NoteConsumer { spec: spec.clone(), consumer })
}

/// Refuses a durable consumer name the server would misread (see [`durable_consumer_with`]).
pub(crate) fn check_consumer_name(name: &str) -> Result<(), NatsError> {
    let valid = (1..=CONSUMER_NAME_BYTES_MAX).contains(&name.len())
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if !valid {
        return Err(NatsError::Invalid {
            what: "consumer name",
            detail: format!(
                "{:?} must be 1 to {CONSUMER_NAME_BYTES_MAX} ASCII letters, digits, '-' or '_'",
                name.chars().take(80).collect::<String>()
            ),
        });
    }
    Ok(())
}

fn consumer_error(operation: &'static str, error: impl fmt::Display + HasTimeout) -> NatsError {
    if error.timed_out() { NatsError::unavailable(operation, error) } else { NatsError::refused(operation, error) }
}

trait HasTimeout {
    fn timed_out(&self) -> bool;
}

impl HasTimeout for async_nats::jetstream::stream::ConsumerError {
    fn timed_out(&self) -> bool {
        use async_nats::jetstream::stream::ConsumerErrorKind;
        matches!(self.kind(), ConsumerErrorKind::TimedOut | ConsumerErrorKind::Request)
    }
}

impl NoteConsumer {
    /// The endless stream of delivered messages, in stream order (redeliveries of unacked
    /// messages come later, so the caller must tolerate a note arriving after its successors).
    pub async fn messages(&self) -> Result<NoteStream, NatsError> {
        let messages =
            self.consumer.messages().await.map_err(|error| NatsError::unavailable("consumer pull", error))?;
        let spec = self.spec.clone();
        let inner = messages.map(move |item| match item {
            Ok(message) => received(&spec, message),
            Err(error) => Err(match error.kind() {
                MessagesErrorKind::ConsumerDeleted | MessagesErrorKind::PushBasedConsumer => {
                    NatsError::refused("consumer pull", error)
                }
                _ => NatsError::unavailable("consumer pull", error),
            }),
        });
        Ok(NoteStream { inner: Box::pin(inner) })
    }

    /// The consumer's name.
    pub fn name(&self) -> Option<&str> {
        self.consumer.cached_info().config.durable_name.as_deref()
    }
}

fn received(spec: &StreamSpec, message: async_nats::jetstream::Message) -> Result<ReceivedNote, NatsError> {
    let (stream_seq, delivered) = message
        .info()
        .map(|info| (info.stream_sequence, u64::try_from(info.delivered).unwrap_or_default()))
        .map_err(|error| NatsError::refused("reading delivery metadata", error))?;
    let (message, acker) = message.split();
    let subject = message.subject.to_string();
    let kind = spec.classify(&subject);
    let subject_org = match &kind {
        NoteSubject::Feed(org) => Some(org.clone()),
        _ => None,
    };
    Ok(ReceivedNote { subject, kind, subject_org, stream_seq, delivered, bytes: message.payload.to_vec(), acker })
}

/// The messages of a [`NoteConsumer`]. An `Err` item does not end the stream: it reports a
/// transport hiccup (a missed heartbeat during an outage, say) and the stream goes on.
pub struct NoteStream {
    inner: Pin<Box<dyn Stream<Item = Result<ReceivedNote, NatsError>> + Send>>,
}

impl fmt::Debug for NoteStream {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("NoteStream")
    }
}

impl Stream for NoteStream {
    type Item = Result<ReceivedNote, NatsError>;

    fn poll_next(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(context)
    }
}

/// One delivered message: whatever bytes were published, with where they were published. The
/// caller verifies, stores, and only then calls [`ReceivedNote::ack`]; unacked messages come
/// back after the ack wait.
pub struct ReceivedNote {
    /// The subject it was published on.
    pub subject: String,
    /// What the subject says it carries.
    pub kind: NoteSubject,
    /// The organisation named by a feed subject (a routing hint: the note's own org is what
    /// counts).
    pub subject_org: Option<OrgSlug>,
    /// Its sequence in the stream.
    pub stream_seq: u64,
    /// How many times it has been delivered, this time included.
    pub delivered: u64,
    /// The payload, exactly as published (may be anything: the caller checks).
    pub bytes: Vec<u8>,
    acker: Acker,
}

impl fmt::Debug for ReceivedNote {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ReceivedNote")
            .field("subject", &self.subject)
            .field("stream_seq", &self.stream_seq)
            .field("delivered", &self.delivered)
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl ReceivedNote {
    /// Acknowledges the message: the consumer will not deliver it again. Fire and forget: if the
    /// ack is lost the message comes again, so storing must be idempotent (it is: by event id).
    pub async fn ack(&self) -> Result<(), NatsError> {
        self.acker.ack().await.map_err(|error| NatsError::unavailable("ack", error))
    }

    /// Acknowledges and waits for the server to confirm it recorded the ack.
    pub async fn ack_confirmed(&self) -> Result<(), NatsError> {
        self.acker.double_ack().await.map_err(|error| NatsError::unavailable("ack", error))
    }

    /// Asks for the message to be delivered again now (for instance, the store was busy).
    pub async fn nak(&self) -> Result<(), NatsError> {
        self.acker
            .ack_with(async_nats::jetstream::AckKind::Nak(None))
            .await
            .map_err(|error| NatsError::unavailable("nak", error))
    }

    /// Tells the server the caller is still working on it (resets the ack wait).
    pub async fn in_progress(&self) -> Result<(), NatsError> {
        self.acker
            .ack_with(async_nats::jetstream::AckKind::Progress)
            .await
            .map_err(|error| NatsError::unavailable("progress", error))
    }
}

/// A message read directly from the stream (not through a consumer: no ack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNote {
    /// The subject it was published on.
    pub subject: String,
    /// What the subject says it carries.
    pub kind: NoteSubject,
    /// Its sequence in the stream.
    pub stream_seq: u64,
    /// The payload, exactly as published.
    pub bytes: Vec<u8>,
}

async fn stream_handle(jetstream: &JetStream, spec: &StreamSpec) -> Result<JsStream<()>, NatsError> {
    jetstream.get_stream_no_info(spec.stream_name()).await.map_err(|error| NatsError::refused("stream lookup", error))
}

fn stored(spec: &StreamSpec, message: async_nats::jetstream::message::StreamMessage) -> StoredNote {
    let subject = message.subject.to_string();
    StoredNote { kind: spec.classify(&subject), subject, stream_seq: message.sequence, bytes: message.payload.to_vec() }
}

fn get_result(
    spec: &StreamSpec,
    result: Result<async_nats::jetstream::message::StreamMessage, async_nats::jetstream::stream::RawMessageError>,
) -> Result<Option<StoredNote>, NatsError> {
    match result {
        Ok(message) => {
            if message.payload.len() > STREAM_MESSAGE_BYTES_MAX {
                // Cannot be stored by this crate's streams; refuse rather than hand out surprises.
                return Err(NatsError::TooLarge {
                    what: "stored message",
                    bytes: message.payload.len(),
                    max: STREAM_MESSAGE_BYTES_MAX,
                });
            }
            Ok(Some(stored(spec, message)))
        }
        Err(error) => match error.kind() {
            LastRawMessageErrorKind::NoMessageFound => Ok(None),
            LastRawMessageErrorKind::JetStream(api)
                if api.error_code() == async_nats::jetstream::ErrorCode::NO_MESSAGE_FOUND =>
            {
                Ok(None)
            }
            LastRawMessageErrorKind::Other => Err(NatsError::unavailable("message get", error)),
            _ => Err(NatsError::refused("message get", error)),
        },
    }
}

/// The message at stream sequence `stream_seq`, or `None` if there is none.
pub async fn get_by_stream_seq(
    jetstream: &JetStream,
    spec: &StreamSpec,
    stream_seq: u64,
) -> Result<Option<StoredNote>, NatsError> {
    let stream = stream_handle(jetstream, spec).await?;
    get_result(spec, stream.get_raw_message(stream_seq).await)
}

/// The last message on `org`'s feed subject, or `None` if the subject is empty. Its stream
/// sequence is what [`crate::publish_event`] expects as `expected_last_subject_seq`.
pub async fn get_last_on_feed(
    jetstream: &JetStream,
    spec: &StreamSpec,
    org: &OrgSlug,
) -> Result<Option<StoredNote>, NatsError> {
    let stream = stream_handle(jetstream, spec).await?;
    get_result(spec, stream.get_last_raw_message_by_subject(&spec.feed_subject(org)).await)
}

/// The first message on `org`'s feed subject at stream sequence `from_stream_seq` or later, or
/// `None`. Walking a feed is calling this with the previous answer's sequence plus one.
///
/// There is deliberately no "get the feed's event number n": a subject's n-th message is the
/// feed's seq n only if nobody ever published garbage or a fork on it, which the transport cannot
/// promise. The caller walks and verifies.
pub async fn get_next_on_feed(
    jetstream: &JetStream,
    spec: &StreamSpec,
    org: &OrgSlug,
    from_stream_seq: u64,
) -> Result<Option<StoredNote>, NatsError> {
    let stream = stream_handle(jetstream, spec).await?;
    get_result(spec, stream.get_first_raw_message_by_subject(spec.feed_subject(org), from_stream_seq.max(1)).await)
}

/// How far a durable consumer has got through the ledger stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerProgress {
    /// The stream's last sequence number (0: empty).
    pub stream_last_seq: u64,
    /// Every message up to this stream sequence has been acked by the consumer.
    pub ack_floor_stream_seq: u64,
    /// Messages not yet acked: delivered and waiting for an ack, or not delivered yet.
    pub unfinished_messages: u64,
}

/// Reads the stream's last sequence and the durable consumer `name`'s position (two requests).
pub async fn consumer_progress(
    jetstream: &JetStream,
    spec: &StreamSpec,
    name: &str,
) -> Result<ConsumerProgress, NatsError> {
    let mut stream = jetstream
        .get_stream(spec.stream_name())
        .await
        .map_err(|error| NatsError::unavailable("stream lookup", error))?;
    let stream_last_seq =
        stream.info().await.map_err(|error| NatsError::unavailable("stream info", error))?.state.last_sequence;
    let info = stream.consumer_info(name).await.map_err(|error| NatsError::unavailable("consumer info", error))?;
    Ok(ConsumerProgress {
        stream_last_seq,
        ack_floor_stream_seq: info.ack_floor.stream_sequence,
        unfinished_messages: info.num_pending.saturating_add(info.num_ack_pending as u64),
    })
}
