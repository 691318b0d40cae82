//! The NATS JetStream transport of coalition-ledger replication: the only crate that knows NATS.
//!
//! It moves signed notes between JetStream and its callers and nothing more. It holds no protocol
//! rule: whether a note is a valid event, fits its feed or proves a fork is decided by
//! `coalition_core::verify` on the caller's side. What this crate does decide is transport:
//!
//! - **Naming** ([`StreamSpec`]): one stream per ledger, `COALITION_<16 hex digits of the ledger id>`,
//!   one subject per organisation feed, `coalition.<hex16>.feed.<org slug>`, and one subject for fork
//!   proofs, `coalition.<hex16>.forks`.
//! - **Stream configuration** ([`ensure_stream`]): file storage, no limit that could ever drop an
//!   event, delete and purge denied, deduplication window. An existing stream that contradicts this
//!   is reported ([`NatsError::StreamMismatch`]), never used nor "fixed".
//! - **Publishing** ([`publish_event`], [`publish_fork_proof`]): the exact note bytes, the event id
//!   as `Nats-Msg-Id` (deduplication), and optionally `Nats-Expected-Last-Subject-Sequence` so two
//!   publishers of one feed cannot interleave.
//! - **Consuming** ([`durable_consumer`], [`NoteConsumer::messages`]): every message arrives as raw
//!   bytes with its subject and stream sequence and an ack handle; the caller verifies, stores, and
//!   only then acks. Garbage arrives as bytes too, for the caller to quarantine.
//! - **Reading back** ([`get_by_stream_seq`], [`get_last_on_feed`], [`get_next_on_feed`]) to fill
//!   gaps.
//! - **Connecting** ([`connect`]): reconnects forever; errors name the URL.
//! - **The private stream** ([`ensure_private_stream`], [`publish_private`],
//!   [`publish_private_deletion`], [`durable_private_consumer`]): key grants and sealed reports,
//!   `COALITION_<hex16>_PRIVATE`, subjects `coalition.<hex16>.private.<space>.<id>`, one message
//!   per subject (latest wins), deletions as tombstones.
//! - **Replication** ([`replication::run_replication`]): wires a `coalition_node::Node` to the
//!   stream (its outbox published, every feed consumed into it).
//!
//! Every limit is a named constant in this crate's root.

mod connect;
mod consume;
mod error;
mod private;
mod publish;
pub mod replication;
mod spec;
mod stream;

use std::time::Duration;

pub use async_nats;
pub use async_nats::jetstream::Context as JetStream;
/// What the server reports about a stream (its configuration and state).
pub use async_nats::jetstream::stream::Info as StreamInfo;

pub use connect::{ConnectSettings, connect, jetstream, redacted};
pub use consume::{
    CONSUMER_NAME_BYTES_MAX, ConsumerProgress, ConsumerSettings, NoteConsumer, NoteStream, ReceivedNote, StoredNote,
    consumer_progress, durable_consumer, durable_consumer_with, get_by_stream_seq, get_last_on_feed, get_next_on_feed,
};
pub use error::NatsError;
pub use private::{
    PRIVATE_CHANGE_HEADER, PRIVATE_DELETED, PRIVATE_MESSAGE_BYTES_MAX, PrivateConsumer, PrivateValue, ReceivedPrivate,
    durable_private_consumer, ensure_private_stream, get_private, private_stream_config, publish_private,
    publish_private_deletion,
};
pub use publish::{PublishAck, decode_fork_proof, encode_fork_proof, publish_event, publish_fork_proof};
pub use spec::{NoteSubject, StreamSpec};
pub use stream::{ensure_stream, stream_config};

/// How many hex digits of the ledger id name the stream and the subjects (64 bits). See
/// [`StreamSpec`] for why this is enough.
pub const LEDGER_HEX_DIGITS: usize = 16;
/// Prefix of every stream name; the ledger's hex digits follow in upper case.
pub const STREAM_NAME_PREFIX: &str = "COALITION_";
/// Suffix of the private stream's name, after the feed stream's name.
pub const PRIVATE_STREAM_SUFFIX: &str = "_PRIVATE";
/// First token of every subject.
pub const SUBJECT_PREFIX: &str = "coalition";
/// Replicas a stream may ask for (JetStream allows 1 to 5).
pub const REPLICAS_MAX: usize = 5;
/// The deduplication window used when a caller has no reason to choose another: a publisher that
/// retries an event within this time after a lost acknowledgement stores it once. Message ids are
/// kept in server memory for this long; at coalition rates that is a few kilobytes.
pub const DUPLICATE_WINDOW_DEFAULT: Duration = Duration::from_secs(24 * 60 * 60);
/// Shortest deduplication window accepted: shorter would make retries after an outage store twice.
pub const DUPLICATE_WINDOW_MIN: Duration = Duration::from_secs(60);
/// Largest message the stream accepts, in bytes. An event note is at most
/// `coalition_core::limits::EVENT_NOTE_BYTES_MAX` (64 KiB); a fork proof carries two notes as JSON
/// strings, where escaping can at most double them, so 512 KiB holds both with room, and stays
/// under the server's default `max_payload` of 1 MiB.
pub const STREAM_MESSAGE_BYTES_MAX: usize = 512 * 1024;
/// Largest encoded fork proof accepted by [`decode_fork_proof`] (the stream's message limit).
pub const FORK_PROOF_BYTES_MAX: usize = STREAM_MESSAGE_BYTES_MAX;
/// How long the server waits for an ack before delivering a message again, unless
/// [`ConsumerSettings`] says otherwise.
pub const ACK_WAIT_DEFAULT: Duration = Duration::from_secs(30);
/// Most messages a consumer may hold unacknowledged at once, unless [`ConsumerSettings`] says
/// otherwise: bounds the memory a slow caller can be handed.
pub const ACK_PENDING_MAX_DEFAULT: i64 = 1_000;
/// How long a JetStream request (stream info, publish acknowledgement, message get) may take.
pub const REQUEST_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);
/// How long one TCP connect attempt may take.
pub const CONNECT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);
/// Most characters of a server's error text kept in an error message.
pub const ERROR_DETAIL_CHARS_MAX: usize = 300;
