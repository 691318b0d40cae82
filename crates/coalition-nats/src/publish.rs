//! Publishing events and fork proofs: exact note bytes, event id as message id.

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage as Publish;
use coalition_core::event::SignedEvent;

use crate::{FORK_PROOF_BYTES_MAX, JetStream, NatsError, STREAM_MESSAGE_BYTES_MAX, StreamSpec};

/// The server's acknowledgement of a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishAck {
    /// The stream sequence the message is stored at (for a duplicate: where the first copy is).
    pub stream_seq: u64,
    /// True when the server already held a message with this id (within the duplicate window) and
    /// stored nothing new. Not an error: the note is in the stream.
    pub duplicate: bool,
}

/// Publishes `event`'s exact note bytes on its organisation's feed subject.
///
/// The message id (`Nats-Msg-Id`) is the event id, so publishing one event twice within the
/// duplicate window stores it once (the second ack says `duplicate`). With
/// `expected_last_subject_seq`, the server stores the message only if the last message on the
/// feed subject is at that **stream** sequence (0: the subject is empty); otherwise nothing is
/// stored and [`NatsError::WrongLastSubjectSequence`] carries both numbers. A duplicate is
/// recognised before the sequence check, so retrying a publish whose ack was lost is safe.
///
/// Errors: [`NatsError::Unavailable`] (retryable: no connection, no ack in time),
/// [`NatsError::NoStream`], [`NatsError::WrongLedger`], [`NatsError::TooLarge`],
/// [`NatsError::Refused`].
pub async fn publish_event(
    jetstream: &JetStream,
    spec: &StreamSpec,
    event: &SignedEvent,
    expected_last_subject_seq: Option<u64>,
) -> Result<PublishAck, NatsError> {
    let content = event.event();
    if content.ledger != spec.ledger() {
        return Err(NatsError::WrongLedger { expected: spec.ledger().to_string(), found: content.ledger.to_string() });
    }
    let subject = spec.feed_subject(&content.org);
    let payload = event.note().as_bytes().to_vec();
    let mut message = Publish::build().message_id(event.id().to_string());
    if let Some(sequence) = expected_last_subject_seq {
        message = message.expected_last_subject_sequence(sequence);
    }
    send(jetstream, subject, message, payload, expected_last_subject_seq).await
}

/// Publishes a fork proof: two signed events of one feed at one seq with different ids, as found
/// by the caller's verifier (this function does not judge them, beyond their ledger).
///
/// The payload is [`encode_fork_proof`]; the message id is `fork.<smaller id>.<larger id>`, so the
/// same proof republished by many nodes, in any order, is stored once within the window.
pub async fn publish_fork_proof(
    jetstream: &JetStream,
    spec: &StreamSpec,
    first: &SignedEvent,
    second: &SignedEvent,
) -> Result<PublishAck, NatsError> {
    for event in [first, second] {
        if event.event().ledger != spec.ledger() {
            return Err(NatsError::WrongLedger {
                expected: spec.ledger().to_string(),
                found: event.event().ledger.to_string(),
            });
        }
    }
    let (low, high) = if first.id() <= second.id() { (first, second) } else { (second, first) };
    let payload = encode_fork_proof(low.note(), high.note())?;
    let message = Publish::build().message_id(format!("fork.{}.{}", low.id(), high.id()));
    send(jetstream, spec.forks_subject(), message, payload, None).await
}

/// Encodes two notes as a fork-proof message: the JSON object `{"notes":[first,second]}`, text an
/// auditor can read. Fails with [`NatsError::TooLarge`] beyond [`FORK_PROOF_BYTES_MAX`].
pub fn encode_fork_proof(first: &str, second: &str) -> Result<Vec<u8>, NatsError> {
    let bytes = serde_json::to_vec(&serde_json::json!({ "notes": [first, second] }))
        .map_err(|error| NatsError::BadForkProof(error.to_string()))?;
    if bytes.len() > FORK_PROOF_BYTES_MAX {
        return Err(NatsError::TooLarge { what: "fork proof", bytes: bytes.len(), max: FORK_PROOF_BYTES_MAX });
    }
    Ok(bytes)
}

/// Decodes a fork-proof message into its two notes (not verified: that is the caller's job).
pub fn decode_fork_proof(bytes: &[u8]) -> Result<(String, String), NatsError> {
    if bytes.len() > FORK_PROOF_BYTES_MAX {
        return Err(NatsError::TooLarge { what: "fork proof", bytes: bytes.len(), max: FORK_PROOF_BYTES_MAX });
    }
    let bad = |detail: &str| NatsError::BadForkProof(detail.to_owned());
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| NatsError::BadForkProof(error.to_string()))?;
    let object = value.as_object().ok_or_else(|| bad("expected a JSON object"))?;
    if object.len() != 1 {
        return Err(bad("expected exactly one field, \"notes\""));
    }
    let notes =
        object.get("notes").and_then(|notes| notes.as_array()).ok_or_else(|| bad("\"notes\" must be an array"))?;
    let [first, second] = notes.as_slice() else {
        return Err(bad("\"notes\" must hold exactly two notes"));
    };
    let (Some(first), Some(second)) = (first.as_str(), second.as_str()) else {
        return Err(bad("each note must be a JSON string"));
    };
    let (first, second) = (first.to_owned(), second.to_owned());
    Ok((first, second))
}

pub(crate) async fn send(
    jetstream: &JetStream,
    subject: String,
    message: Publish,
    payload: Vec<u8>,
    expected_last_subject_seq: Option<u64>,
) -> Result<PublishAck, NatsError> {
    if payload.len() > STREAM_MESSAGE_BYTES_MAX {
        return Err(NatsError::TooLarge { what: "message", bytes: payload.len(), max: STREAM_MESSAGE_BYTES_MAX });
    }
    let message = message.payload(payload.into());
    let outcome = match jetstream.send_publish(subject.clone(), message).await {
        Ok(ack) => ack.await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(ack) => Ok(PublishAck { stream_seq: ack.sequence, duplicate: ack.duplicate }),
        Err(error) => Err(match error.kind() {
            PublishErrorKind::WrongLastSequence => NatsError::WrongLastSubjectSequence {
                found: found_sequence(&error.to_string()),
                expected: expected_last_subject_seq.unwrap_or_default(),
                subject,
            },
            PublishErrorKind::StreamNotFound => NatsError::NoStream { subject },
            PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe | PublishErrorKind::MaxAckPending => {
                NatsError::unavailable("publish", error)
            }
            PublishErrorKind::MaxPayloadExceeded => NatsError::refused("publish (message over max_payload)", error),
            // A JetStream API error is the server's refusal; anything else (the client's
            // connection task gone, a subject the client would not send) is a connection failure.
            _ if is_api_error(&error) => NatsError::refused("publish", error),
            _ => NatsError::unavailable("publish", error),
        }),
    }
}

/// The server says `wrong last sequence: N` (2.9 and later); N is the stream sequence of the
/// subject's last message.
fn found_sequence(text: &str) -> Option<u64> {
    let rest = &text[text.rfind("wrong last sequence: ")? + "wrong last sequence: ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn is_api_error(error: &(dyn std::error::Error + 'static)) -> bool {
    std::error::Error::source(error).is_some_and(|source| source.is::<async_nats::jetstream::Error>())
}
