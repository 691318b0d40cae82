//! Replication: a [`Node`]'s own feed published to the ledger's stream, and every feed in the
//! stream imported into the node.
//!
//! Two loops run side by side until shutdown:
//!
//! - **Publisher (outbox).** Every own durable event above the store's published cursor is
//!   published in feed order, with its id as message id and the expected last subject sequence
//!   of the own feed subject (read with [`get_last_on_feed`] at start). On success the cursor
//!   moves. While NATS is down the publisher waits and retries forever: the node keeps accepting
//!   writes and the backlog goes out when NATS returns. If another publisher wrote a validly
//!   signed event of our organisation to our subject, publishing stops with an error (never
//!   fork); a message on our subject that is not ours (garbage, another ledger, a forgery) is
//!   logged and stepped over, since readers verify and it cannot enter anyone's feed.
//! - **Consumer.** A durable consumer (named by the caller, one per node) delivers every message.
//!   Own-feed events already held are acked; everything else is handed to [`Node::import`];
//!   refused input is quarantined with the reason and acked; garbage never stops the loop.
//!
//! Limitation of this first version: [`Node::import`] keeps an event that waits for its feed
//! predecessor only within one call. JetStream delivers each subject in order, so this only
//! happens after a redelivery; such an event (refused as a seq gap) is not quarantined but
//! nak'ed with a delay and comes back after its predecessor. An event whose predecessor never
//! reaches the stream is redelivered forever (it is logged each time).

use std::future::Future;
use std::time::Duration;

use coalition_core::verify::Tag;
use coalition_node::{ImportReport, Node, NodeError, NoteStatus};
use futures::StreamExt;

use crate::{
    JetStream, NatsError, NoteSubject, ReceivedNote, StreamSpec, decode_fork_proof, durable_consumer_with,
    ensure_stream, get_last_on_feed, publish_event,
};

/// How often the publisher looks for new own events when it has nothing to publish.
pub const OUTBOX_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long to wait before retrying after NATS was unavailable or refused.
pub const RETRY_DELAY: Duration = Duration::from_millis(500);
/// Own events read from the store per publishing round.
pub const OUTBOX_BATCH_EVENTS: usize = 256;
/// How long a message refused for a missing predecessor waits before it is delivered again.
pub const PREDECESSOR_WAIT: Duration = Duration::from_secs(1);

/// Runs replication for `node` on the ledger stream `spec` until `shutdown` completes.
///
/// Creates (or checks) the stream first, retrying while NATS is unavailable. Returns an error
/// only when the stream exists with a contradicting configuration or the consumer name is
/// invalid: things an operator must fix. Every other failure is logged and retried forever.
pub async fn run_replication(
    node: Node,
    jetstream: JetStream,
    spec: StreamSpec,
    consumer_name: String,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), NatsError> {
    tokio::pin!(shutdown);
    let ready = async {
        loop {
            match ensure_stream(&jetstream, &spec).await {
                Ok(_) => return Ok(()),
                Err(error) if error.is_retryable() => {
                    tracing::warn!(%error, "NATS unavailable; retrying the stream check");
                    tokio::time::sleep(RETRY_DELAY).await;
                }
                Err(error) => return Err(error),
            }
        }
    };
    tokio::select! {
        result = ready => result?,
        () = &mut shutdown => return Ok(()),
    }
    let publisher = publish_loop(&node, &jetstream, &spec);
    let consumer = consume_loop(&node, &jetstream, &spec, &consumer_name);
    tokio::select! {
        result = consumer => result,
        () = publisher => Ok(()),
        () = &mut shutdown => Ok(()),
    }
}

/// Runs `work` on the node in a blocking thread (store commits wait for the disk).
async fn blocking<T: Send + 'static>(
    node: &Node,
    work: impl FnOnce(&Node) -> Result<T, NodeError> + Send + 'static,
) -> Result<T, NodeError> {
    let node = node.clone();
    match tokio::task::spawn_blocking(move || work(&node)).await {
        Ok(result) => result,
        Err(error) => Err(NodeError::Inconsistent(format!("a blocking node task failed: {error}"))),
    }
}

/// What the publisher does after reading the last message on its own subject.
enum LastOnSubject {
    /// Continue publishing after this stream sequence.
    Continue(u64),
    /// Someone else signs with our key: stop.
    Conflict,
}

/// Reads the last message on our subject and decides how to continue; moves the published cursor
/// forward when the last message is one of our held events.
async fn reconcile(node: &Node, jetstream: &JetStream, spec: &StreamSpec) -> Result<LastOnSubject, NatsError> {
    let Some(org) = node.org().cloned() else { return Ok(LastOnSubject::Continue(0)) };
    let Some(last) = get_last_on_feed(jetstream, spec, &org).await? else { return Ok(LastOnSubject::Continue(0)) };
    let text = String::from_utf8_lossy(&last.bytes).into_owned();
    match node.note_status(&text) {
        NoteStatus::Held { org: held_org, seq } if held_org == org => {
            if let Err(error) = blocking(node, move |node| node.mark_published(seq)).await {
                tracing::warn!(%error, "could not record the published cursor");
            }
            Ok(LastOnSubject::Continue(last.stream_seq))
        }
        NoteStatus::OwnNotHeld { seq } => {
            tracing::error!(
                %org,
                seq,
                stream_seq = last.stream_seq,
                "the stream holds an event of our organisation, signed with our key, that this node never \
                 wrote: another publisher uses our key; publishing stops (never fork)"
            );
            Ok(LastOnSubject::Conflict)
        }
        _ => {
            tracing::warn!(
                %org,
                stream_seq = last.stream_seq,
                "the last message on our feed subject is not one of our events; stepping over it"
            );
            Ok(LastOnSubject::Continue(last.stream_seq))
        }
    }
}

/// The publisher: returns only when publishing must stop for good (another publisher uses our key).
async fn publish_loop(node: &Node, jetstream: &JetStream, spec: &StreamSpec) {
    if node.org().is_none() {
        // A read-only node has no feed to publish.
        return std::future::pending().await;
    }
    let mut last_subject_seq: Option<u64> = None;
    loop {
        let expected = match last_subject_seq {
            Some(seq) => seq,
            None => match reconcile(node, jetstream, spec).await {
                Ok(LastOnSubject::Continue(seq)) => {
                    last_subject_seq = Some(seq);
                    seq
                }
                Ok(LastOnSubject::Conflict) => break,
                Err(error) => {
                    tracing::warn!(%error, "cannot read our feed subject; retrying");
                    tokio::time::sleep(RETRY_DELAY).await;
                    continue;
                }
            },
        };
        let batch = match blocking(node, |node| node.outbox(OUTBOX_BATCH_EVENTS)).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::error!(%error, "cannot read the outbox; retrying");
                tokio::time::sleep(RETRY_DELAY).await;
                continue;
            }
        };
        if batch.is_empty() {
            tokio::time::sleep(OUTBOX_POLL_INTERVAL).await;
            continue;
        }
        let mut expected = expected;
        for event in batch {
            match publish_event(jetstream, spec, &event, Some(expected)).await {
                Ok(ack) => {
                    expected = expected.max(ack.stream_seq);
                    last_subject_seq = Some(expected);
                    let seq = event.event().seq;
                    if let Err(error) = blocking(node, move |node| node.mark_published(seq)).await {
                        tracing::error!(%error, seq, "published, but the cursor could not be stored");
                        tokio::time::sleep(RETRY_DELAY).await;
                        break;
                    }
                    tracing::debug!(seq, stream_seq = ack.stream_seq, duplicate = ack.duplicate, "published");
                }
                Err(NatsError::WrongLastSubjectSequence { subject, expected, found }) => {
                    tracing::warn!(%subject, expected, ?found, "our feed subject moved; reading it again");
                    match reconcile(node, jetstream, spec).await {
                        Ok(LastOnSubject::Continue(seq)) => last_subject_seq = Some(seq),
                        Ok(LastOnSubject::Conflict) => {
                            tracing::error!(
                                %subject,
                                expected,
                                ?found,
                                "another publisher wrote our feed subject with our key; publishing stops"
                            );
                            return;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "cannot read our feed subject; retrying");
                            last_subject_seq = None;
                            tokio::time::sleep(RETRY_DELAY).await;
                        }
                    }
                    break;
                }
                Err(error) => {
                    if error.is_retryable() {
                        tracing::warn!(%error, "NATS unavailable; the outbox waits");
                    } else {
                        tracing::error!(%error, "publishing refused; retrying");
                    }
                    tokio::time::sleep(RETRY_DELAY).await;
                    break;
                }
            }
        }
    }
    std::future::pending().await
}

/// The consumer: returns only on an error an operator must fix (an invalid consumer name).
async fn consume_loop(node: &Node, jetstream: &JetStream, spec: &StreamSpec, name: &str) -> Result<(), NatsError> {
    let settings = crate::ConsumerSettings::default();
    loop {
        let consumer = match durable_consumer_with(jetstream, spec, name, settings).await {
            Ok(consumer) => consumer,
            Err(error @ NatsError::Invalid { .. }) => return Err(error),
            Err(error) => {
                tracing::warn!(%error, "cannot open the durable consumer; retrying");
                tokio::time::sleep(RETRY_DELAY).await;
                continue;
            }
        };
        let mut messages = match consumer.messages().await {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(%error, "cannot pull messages; retrying");
                tokio::time::sleep(RETRY_DELAY).await;
                continue;
            }
        };
        while let Some(item) = messages.next().await {
            match item {
                Ok(note) => handle(node, note).await,
                Err(error) if error.is_retryable() => tracing::debug!(%error, "consumer hiccup"),
                Err(error) => {
                    tracing::warn!(%error, "the consumer failed; reopening it");
                    break;
                }
            }
        }
        tokio::time::sleep(RETRY_DELAY).await;
    }
}

/// What to do with a message once the node has looked at it.
enum Verdict {
    /// Stored, already held, or quarantined: ack.
    Done,
    /// Waits for a predecessor, or the node could not store: deliver again later.
    Later(Duration),
}

async fn handle(node: &Node, note: ReceivedNote) {
    let verdict = match examine(node, &note).await {
        Ok(verdict) => verdict,
        Err(error) => {
            tracing::error!(%error, stream_seq = note.stream_seq, "the node could not take the message; retrying");
            Verdict::Later(RETRY_DELAY)
        }
    };
    let answered = match verdict {
        Verdict::Done => note.ack().await,
        Verdict::Later(delay) => {
            tokio::time::sleep(delay).await;
            note.nak().await
        }
    };
    if let Err(error) = answered {
        tracing::debug!(%error, stream_seq = note.stream_seq, "ack lost; the message will come again");
    }
}

async fn examine(node: &Node, note: &ReceivedNote) -> Result<Verdict, NodeError> {
    let tag: Tag = note.stream_seq;
    let bytes = note.bytes.clone();
    let notes = match &note.kind {
        NoteSubject::ForkProofs => match decode_fork_proof(&bytes) {
            Ok((first, second)) => vec![(tag, first), (tag, second)],
            Err(error) => return quarantine(node, bytes, format!("fork-proof subject: {error}")).await,
        },
        _ => match String::from_utf8(bytes) {
            Ok(text) => {
                if note.subject_org.is_some()
                    && note.subject_org.as_ref() == node.org()
                    && matches!(node.note_status(&text), NoteStatus::Held { .. })
                {
                    return Ok(Verdict::Done);
                }
                vec![(tag, text)]
            }
            Err(_) => return quarantine(node, note.bytes.clone(), "not UTF-8".to_owned()).await,
        },
    };
    let report: ImportReport = blocking(node, move |node| node.import(notes)).await?;
    let Some((_, reason)) = report.refused.first() else { return Ok(Verdict::Done) };
    if report.refused.iter().all(|(tag, _)| report.missing_predecessor.contains(tag)) {
        tracing::info!(stream_seq = note.stream_seq, %reason, "waiting for a predecessor; delivering again later");
        return Ok(Verdict::Later(PREDECESSOR_WAIT));
    }
    let reasons: Vec<&str> = report.refused.iter().map(|(_, reason)| reason.as_str()).collect();
    tracing::warn!(stream_seq = note.stream_seq, subject = %note.subject, reasons = ?reasons, "refused; quarantined");
    quarantine(node, note.bytes.clone(), reasons.join("; ")).await
}

async fn quarantine(node: &Node, bytes: Vec<u8>, reason: String) -> Result<Verdict, NodeError> {
    blocking(node, move |node| node.quarantine(&bytes, &reason)).await?;
    Ok(Verdict::Done)
}
