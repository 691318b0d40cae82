//! Creating the ledger's stream, or checking that the existing one is configured as required.

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::context::{CreateStreamErrorKind, GetStreamErrorKind};
use async_nats::jetstream::stream::{Config, DiscardPolicy, Info, RetentionPolicy, StorageType};

use crate::{JetStream, NatsError, STREAM_MESSAGE_BYTES_MAX, StreamSpec};

/// The stream configuration a ledger needs.
///
/// File storage; the replicas asked; retention by limits with every limit unlimited (messages,
/// bytes, age, messages per subject) and discard policy `new`, so that even a limit added later by
/// hand could only refuse new messages, never drop old ones; delete, purge and rollup denied; the
/// deduplication window asked; a message size limit of [`STREAM_MESSAGE_BYTES_MAX`].
pub fn stream_config(spec: &StreamSpec) -> Config {
    Config {
        name: spec.stream_name(),
        description: Some(format!("coalition-ledger feeds of ledger {}", spec.ledger())),
        subjects: vec![spec.feeds_wildcard(), spec.forks_subject()],
        retention: RetentionPolicy::Limits,
        storage: StorageType::File,
        num_replicas: spec.replicas(),
        max_messages: -1,
        max_bytes: -1,
        max_age: std::time::Duration::ZERO,
        max_messages_per_subject: -1,
        max_message_size: i32::try_from(STREAM_MESSAGE_BYTES_MAX).unwrap_or(i32::MAX),
        max_consumers: -1,
        discard: DiscardPolicy::New,
        duplicate_window: spec.duplicate_window(),
        deny_delete: true,
        deny_purge: true,
        allow_rollup: false,
        ..Default::default()
    }
}

/// Creates the ledger's stream if absent; if present, checks every field this crate relies on.
///
/// Returns [`NatsError::StreamMismatch`] naming the first contradicting field: an existing stream
/// is never silently used with, say, an age limit that would drop events, nor reconfigured.
pub async fn ensure_stream(jetstream: &JetStream, spec: &StreamSpec) -> Result<crate::StreamInfo, NatsError> {
    ensure_configured(jetstream, stream_config(spec), StreamRole::Feeds).await
}

/// Which of the ledger's streams an operation is about, as errors name it.
#[derive(Clone, Copy)]
pub(crate) enum StreamRole {
    /// The feeds' stream (deny delete and purge).
    Feeds,
    /// The private stream of key grants and reports (deletable).
    Private,
}

impl StreamRole {
    fn lookup(self) -> &'static str {
        match self {
            Self::Feeds => "stream lookup",
            Self::Private => "private stream lookup",
        }
    }

    fn creation(self) -> &'static str {
        match self {
            Self::Feeds => "stream creation",
            Self::Private => "private stream creation",
        }
    }
}

/// Creates the stream `wanted` describes if absent, else checks the existing one against it
/// (see [`check`]).
pub(crate) async fn ensure_configured(
    jetstream: &JetStream,
    wanted: Config,
    role: StreamRole,
) -> Result<Info, NatsError> {
    match existing(jetstream, &wanted.name, role).await? {
        Some(info) => check(&wanted, info),
        None => match jetstream.create_stream(wanted.clone()).await {
            Ok(stream) => Ok(stream.cached_info().clone()),
            Err(error) => match error.kind() {
                // Created concurrently by another node with another configuration: compare.
                CreateStreamErrorKind::JetStream(api) if api.error_code() == ErrorCode::STREAM_NAME_EXIST => {
                    match existing(jetstream, &wanted.name, role).await? {
                        Some(info) => check(&wanted, info),
                        None => Err(NatsError::refused(role.creation(), error)),
                    }
                }
                CreateStreamErrorKind::TimedOut | CreateStreamErrorKind::JetStreamUnavailable => {
                    Err(NatsError::unavailable(role.creation(), error))
                }
                _ => Err(NatsError::refused(role.creation(), error)),
            },
        },
    }
}

async fn existing(jetstream: &JetStream, name: &str, role: StreamRole) -> Result<Option<Info>, NatsError> {
    match jetstream.get_stream(name).await {
        Ok(stream) => Ok(Some(stream.cached_info().clone())),
        Err(error) => match error.kind() {
            GetStreamErrorKind::JetStream(api) if api.error_code() == ErrorCode::STREAM_NOT_FOUND => Ok(None),
            GetStreamErrorKind::Request => Err(NatsError::unavailable(role.lookup(), error)),
            _ => Err(NatsError::refused(role.lookup(), error)),
        },
    }
}

/// Compares every field this crate relies on; the first that differs is the error.
fn check(wanted: &Config, info: Info) -> Result<Info, NatsError> {
    let found = &info.config;
    let mismatch = |field: &'static str, expected: String, found: String| NatsError::StreamMismatch {
        stream: wanted.name.clone(),
        field,
        expected,
        found,
    };
    macro_rules! same {
        ($field:literal, $member:ident) => {
            if wanted.$member != found.$member {
                return Err(mismatch($field, format!("{:?}", wanted.$member), format!("{:?}", found.$member)));
            }
        };
    }
    let mut wanted_subjects = wanted.subjects.clone();
    let mut found_subjects = found.subjects.clone();
    wanted_subjects.sort();
    found_subjects.sort();
    if wanted_subjects != found_subjects {
        return Err(mismatch("subjects", format!("{wanted_subjects:?}"), format!("{found_subjects:?}")));
    }
    same!("storage", storage);
    same!("num_replicas", num_replicas);
    same!("retention", retention);
    same!("max_msgs", max_messages);
    same!("max_bytes", max_bytes);
    same!("max_age", max_age);
    same!("max_msgs_per_subject", max_messages_per_subject);
    same!("max_msg_size", max_message_size);
    same!("discard", discard);
    same!("discard_new_per_subject", discard_new_per_subject);
    same!("duplicate_window", duplicate_window);
    same!("deny_delete", deny_delete);
    same!("deny_purge", deny_purge);
    same!("allow_rollup_hdrs", allow_rollup);
    same!("sealed", sealed);
    same!("no_ack", no_ack);
    if found.mirror.is_some() {
        return Err(mismatch("mirror", "none".into(), format!("{:?}", found.mirror)));
    }
    Ok(info)
}
