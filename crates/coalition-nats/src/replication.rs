//! Replication: a [`Node`]'s own feed published to the ledger's stream, and every feed in the
//! stream imported into the node.
//!
//! Three loops run side by side until shutdown:
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
//!   Own-feed events already held are acked; everything else is handed to the node's import;
//!   refused input is quarantined with the reason and acked; garbage never stops the loop.
//!   - *Catch-up.* Messages already delivered are taken as a chunk (up to
//!     [`IMPORT_CHUNK_MESSAGES`]). The other organisations' feed notes of a chunk have their
//!     signatures checked on every core ([`Node::check_notes`]) while the chunk before goes
//!     through the feed rules, one store commit and the projection
//!     ([`Node::import_checked`]); its messages are acked only after that commit. Nothing is
//!     stored before the feed rules accept it, and a key rotation or a new member in the chunk
//!     before only costs a second signature check of the notes it concerns.
//!   - *Forks.* When an import finds a fork (two validly signed events of one feed at one seq),
//!     the node has stored the proof; the consumer publishes it on the forks subject (message id
//!     derived from the two event ids, so the stream keeps one copy however many nodes publish
//!     it), and publishes every stored proof again whenever it (re)starts, in case NATS was down.
//!     A proof received on the forks subject is imported like any two notes.
//!   - *Gaps.* [`Node::import`] keeps an event that waits for its feed predecessor only within
//!     one call. When a message only lacks its predecessor, the consumer reads the message's feed
//!     subject back from the stream (from where its last such walk stopped, at most
//!     [`GAP_FETCH_MESSAGES_MAX`] messages) and imports what it finds together, then tries the
//!     message again. This recovers a node whose durable consumer is past events its store lacks
//!     (a store restored from an old backup). If the predecessor is nowhere in the stream, the
//!     message is nak'ed with a delay and comes back ([`PREDECESSOR_WAIT`]), logged each time.
//! - **Private records** (a member node only; a read-only mirror neither holds nor relays key
//!   grants and reports). The ledger's private stream is created (or checked) beside the feed
//!   stream. At start the node republishes every private record it holds, each only if its
//!   subject is empty, so a private stream recreated empty is refilled and nothing newer or
//!   deleted is overwritten (a subject holding a tombstone makes the node delete its own copy: a
//!   store restored from a backup). Then it publishes what the node queues
//!   ([`Node::take_private_changes`]): a kept record as its ciphertext, a deleted one as a
//!   tombstone (see [`crate::publish_private_deletion`] for why a tombstone and not a purge),
//!   retrying while NATS is down. A durable consumer of the private stream (the node's consumer
//!   name, on that stream) hands every record to [`Node::receive_private`] and every tombstone to
//!   [`Node::receive_private_deletion`]; what the node refuses (a wrong subject, an id the store
//!   would not take, a grant that does not check) is logged and skipped, never fatal.
//! - **Status.** Every [`STATUS_INTERVAL`] the connection state and the consumer's position are
//!   written to [`Node::set_replication_status`], which the HTTP status page reads.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::time::Duration;

use coalition_core::event::{OrgSlug, SignedEvent};
use coalition_core::verify::Tag;
use coalition_node::{
    CheckedNotes, ForkProof, ImportReport, Node, NodeError, NoteStatus, PrivateChange, ReplicationStatus,
};
use coalition_store::{PrivateSpace, StoreError};
use futures::StreamExt;

use crate::{
    JetStream, NatsError, NoteSubject, PrivateValue, ReceivedNote, ReceivedPrivate, StreamSpec, consumer_progress,
    decode_fork_proof, durable_consumer_with, durable_private_consumer, ensure_private_stream, ensure_stream,
    get_last_on_feed, get_next_on_feed, get_private, publish_event, publish_fork_proof, publish_private,
    publish_private_deletion,
};

/// Longest time the publisher waits before reading the outbox again when it has nothing to
/// publish (it reads it at once when the node's version changes).
pub const OUTBOX_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How often the idle publisher looks at the node's version (an atomic read): bounds the delay
/// between a member's write being acknowledged and its publication.
pub const OUTBOX_WAKE_INTERVAL: Duration = Duration::from_millis(1);
/// Most delivered messages imported together in one [`Node::import`] call (those already
/// delivered, never waiting for more): amortises the store commit during a catch-up.
pub const IMPORT_CHUNK_MESSAGES: usize = 512;
/// How long to wait before retrying after NATS was unavailable or refused.
pub const RETRY_DELAY: Duration = Duration::from_millis(500);
/// Own events read from the store per publishing round.
pub const OUTBOX_BATCH_EVENTS: usize = 256;
/// How long a message refused for a missing predecessor waits before it is delivered again.
pub const PREDECESSOR_WAIT: Duration = Duration::from_secs(1);
/// Most messages of one feed subject read back from the stream in one attempt to fill a gap.
pub const GAP_FETCH_MESSAGES_MAX: usize = 10_000;
/// How often the replicator reports its state to the node ([`Node::replication_status`]).
pub const STATUS_INTERVAL: Duration = Duration::from_secs(1);
/// Most queued private changes taken from the node at once.
pub const PRIVATE_CHANGES_BATCH: usize = 256;
/// How often the idle private publisher looks for queued changes (a mutex read).
pub const PRIVATE_POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Private record ids read from the store per page when republishing at start.
pub const PRIVATE_REPUBLISH_PAGE: usize = 500;

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
    node.set_replication_status(ReplicationStatus { updated_unix_s: unix_now(), ..ReplicationStatus::default() });
    let ready = async {
        loop {
            let ensured = match ensure_stream(&jetstream, &spec).await {
                Ok(_) if node.org().is_some() => ensure_private_stream(&jetstream, &spec).await.map(|_| ()),
                Ok(_) => Ok(()),
                Err(error) => Err(error),
            };
            match ensured {
                Ok(()) => return Ok(()),
                Err(error @ NatsError::StreamMismatch { .. }) => return Err(error),
                Err(error) => {
                    // Unreachable, or a cluster still electing its leader, or a permission an
                    // operator has yet to grant: all can change without restarting the node.
                    tracing::warn!(%error, "the ledger's stream is not usable yet; retrying");
                    tokio::time::sleep(RETRY_DELAY).await;
                }
            }
        }
    };
    tokio::select! {
        result = ready => result?,
        () = &mut shutdown => return Ok(()),
    }
    let publisher = publish_loop(&node, &jetstream, &spec);
    let consumer = consume_loop(&node, &jetstream, &spec, &consumer_name);
    let status = status_loop(&node, &jetstream, &spec, &consumer_name);
    let private = private_loops(&node, &jetstream, &spec, &consumer_name);
    tokio::select! {
        result = consumer => result,
        result = private => result,
        () = publisher => Ok(()),
        () = status => Ok(()),
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
            wait_for_change(node).await;
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
                            // Publishing stops; importing goes on (the fork must still be learnt).
                            return std::future::pending().await;
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

/// Reports the transport's state to the node every [`STATUS_INTERVAL`]; never returns.
async fn status_loop(node: &Node, jetstream: &JetStream, spec: &StreamSpec, consumer_name: &str) {
    let client = jetstream.client();
    let mut last = ReplicationStatus::default();
    loop {
        last.connected = client.connection_state() == async_nats::connection::State::Connected;
        if last.connected {
            match consumer_progress(jetstream, spec, consumer_name).await {
                Ok(progress) => {
                    last.stream_last_seq = progress.stream_last_seq;
                    last.applied_stream_seq = progress.ack_floor_stream_seq;
                    last.lag_messages = progress.unfinished_messages;
                }
                Err(error) => tracing::debug!(%error, "cannot read the consumer's progress"),
            }
        }
        last.updated_unix_s = unix_now();
        node.set_replication_status(last.clone());
        tokio::time::sleep(STATUS_INTERVAL).await;
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
}

/// The consumer side: the node, the transport, and where each feed's gap walk got to.
struct Importer<'a> {
    node: &'a Node,
    jetstream: &'a JetStream,
    spec: &'a StreamSpec,
    /// Per feed subject, the stream sequence up to which a gap walk has read the subject.
    walked: HashMap<OrgSlug, u64>,
}

/// Waits until the node's version changes (a write, an import) or [`OUTBOX_POLL_INTERVAL`]
/// passes. Polling an atomic every millisecond costs nothing measurable and needs no hook in the
/// node's write path.
async fn wait_for_change(node: &Node) {
    let seen = node.version();
    let started = tokio::time::Instant::now();
    while node.version() == seen && started.elapsed() < OUTBOX_POLL_INTERVAL {
        tokio::time::sleep(OUTBOX_WAKE_INTERVAL).await;
    }
}

/// The consumer: returns only on an error an operator must fix (an invalid consumer name).
async fn consume_loop(node: &Node, jetstream: &JetStream, spec: &StreamSpec, name: &str) -> Result<(), NatsError> {
    let settings = crate::ConsumerSettings::default();
    let mut importer = Importer { node, jetstream, spec, walked: HashMap::new() };
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
        // A proof whose publication failed before (NATS went away) goes out now; the server
        // stores each proof once, whoever publishes it and however often.
        importer.republish_all_fork_proofs().await;
        let messages = match consumer.messages().await {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(%error, "cannot pull messages; retrying");
                tokio::time::sleep(RETRY_DELAY).await;
                continue;
            }
        };
        let mut chunks = messages.ready_chunks(IMPORT_CHUNK_MESSAGES);
        // Two chunks are in hand at a time: while the earlier one goes through the feed rules,
        // the store and the projection (one core), the later one is received and its signatures
        // checked (the other cores). The earlier one is finished whether or not a later one
        // comes, so nothing checked waits on messages that have not arrived.
        let mut checked: Option<PreparedChunk> = None;
        let node = importer.node;
        loop {
            let receive = async {
                let items = chunks.next().await?;
                let mut notes = Vec::with_capacity(items.len());
                let mut failed = false;
                for item in items {
                    match item {
                        Ok(note) => notes.push(note),
                        Err(error) if error.is_retryable() => tracing::debug!(%error, "consumer hiccup"),
                        Err(error) => {
                            tracing::warn!(%error, "the consumer failed; reopening it");
                            failed = true;
                        }
                    }
                }
                Some((prepare_chunk(node, notes).await, failed))
            };
            let finish = async {
                if let Some(chunk) = checked.take() {
                    importer.finish_chunk(chunk).await;
                }
            };
            let (received, ()) = tokio::join!(receive, finish);
            let Some((chunk, failed)) = received else { break };
            if failed {
                importer.finish_chunk(chunk).await;
                break;
            }
            checked = Some(chunk);
        }
        tokio::time::sleep(RETRY_DELAY).await;
    }
}

/// Delivered messages with the plain feed notes among them already checked, waiting for the
/// feed rules.
struct PreparedChunk {
    notes: Vec<ReceivedNote>,
    /// The tags (stream sequences) of the notes in `checked`, in order.
    checked_tags: Vec<Tag>,
    checked: CheckedNotes,
}

/// Checks the signatures of the plain feed notes of other organisations in `notes` on every
/// core, without the node's lock, so that it can run while the chunk before is imported. A
/// single message is not checked ahead: [`Importer::handle`] takes it at once.
async fn prepare_chunk(node: &Node, notes: Vec<ReceivedNote>) -> PreparedChunk {
    let mut texts: Vec<(Tag, String)> = Vec::new();
    if notes.len() > 1 {
        for note in &notes {
            if !matches!(note.kind, NoteSubject::Feed(_)) || note.subject_org.as_ref() == node.org() {
                continue;
            }
            if let Ok(text) = std::str::from_utf8(&note.bytes) {
                texts.push((note.stream_seq, text.to_owned()));
            }
        }
    }
    let checked_tags: Vec<Tag> = texts.iter().map(|(tag, _)| *tag).collect();
    let checked = if texts.is_empty() {
        CheckedNotes::default()
    } else {
        let node = node.clone();
        match tokio::task::spawn_blocking(move || node.check_notes(&texts)).await {
            Ok(checked) => checked,
            Err(error) => {
                tracing::error!(%error, "checking a chunk failed; taking its messages one by one");
                return PreparedChunk { notes, checked_tags: Vec::new(), checked: CheckedNotes::default() };
            }
        }
    };
    PreparedChunk { notes, checked_tags, checked }
}

/// What to do with a message once the node has looked at it.
enum Verdict {
    /// Stored, already held, or quarantined: ack.
    Done,
    /// Waits for a predecessor, or the node could not store: deliver again later.
    Later(Duration),
}

impl Importer<'_> {
    /// Imports the checked notes of `chunk` in one call and acks those the node took, after
    /// they are durable; anything else (refused, fork proofs, garbage, own events) goes through
    /// [`Self::handle`] one by one.
    async fn finish_chunk(&mut self, chunk: PreparedChunk) {
        let PreparedChunk { notes, checked_tags, checked } = chunk;
        let taken: BTreeSet<Tag> = if checked.is_empty() {
            BTreeSet::new()
        } else {
            match self.import_checked(checked).await {
                Ok(report) => {
                    let refused: BTreeSet<Tag> = report.refused.iter().map(|(tag, _)| *tag).collect();
                    checked_tags.into_iter().filter(|tag| !refused.contains(tag)).collect()
                }
                Err(error) => {
                    tracing::error!(%error, "the node could not import a chunk; taking its messages one by one");
                    BTreeSet::new()
                }
            }
        };
        for note in notes {
            if taken.contains(&note.stream_seq) {
                if let Err(error) = note.ack().await {
                    tracing::debug!(%error, stream_seq = note.stream_seq, "ack lost; the message will come again");
                }
            } else {
                self.handle(note).await;
            }
        }
    }

    async fn handle(&mut self, note: ReceivedNote) {
        let verdict = match self.examine(&note).await {
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

    async fn examine(&mut self, note: &ReceivedNote) -> Result<Verdict, NodeError> {
        let tag: Tag = note.stream_seq;
        let bytes = note.bytes.clone();
        let notes = match &note.kind {
            NoteSubject::ForkProofs => match decode_fork_proof(&bytes) {
                Ok((first, second)) => vec![(tag, first), (tag, second)],
                Err(error) => return quarantine(self.node, bytes, format!("fork-proof subject: {error}")).await,
            },
            _ => match String::from_utf8(bytes) {
                Ok(text) => {
                    if note.subject_org.is_some()
                        && note.subject_org.as_ref() == self.node.org()
                        && matches!(self.node.note_status(&text), NoteStatus::Held { .. })
                    {
                        return Ok(Verdict::Done);
                    }
                    vec![(tag, text)]
                }
                Err(_) => return quarantine(self.node, note.bytes.clone(), "not UTF-8".to_owned()).await,
            },
        };
        let mut report = self.import(notes.clone()).await?;
        if waits_for_predecessor(&report) {
            // Its predecessor is not coming through the consumer (acked long ago by a node whose
            // store was since restored, say): read the feed subject from the stream and retry.
            let feeds: BTreeSet<OrgSlug> = notes
                .iter()
                .filter_map(|(_, text)| SignedEvent::parse(text).ok())
                .map(|event| event.event().org.clone())
                .collect();
            for org in feeds {
                self.fill_gap(&org, note.stream_seq).await;
            }
            report = self.import(notes).await?;
        }
        let Some((_, reason)) = report.refused.first() else { return Ok(Verdict::Done) };
        if waits_for_predecessor(&report) {
            tracing::info!(stream_seq = note.stream_seq, %reason, "waiting for a predecessor; delivering again later");
            return Ok(Verdict::Later(PREDECESSOR_WAIT));
        }
        let reasons: Vec<&str> = report.refused.iter().map(|(_, reason)| reason.as_str()).collect();
        tracing::warn!(stream_seq = note.stream_seq, subject = %note.subject, reasons = ?reasons, "refused; quarantined");
        quarantine(self.node, note.bytes.clone(), reasons.join("; ")).await
    }

    /// Imports `notes` and publishes the proof of every fork the import found.
    async fn import(&self, notes: Vec<(Tag, String)>) -> Result<ImportReport, NodeError> {
        let report: ImportReport = blocking(self.node, move |node| node.import(notes)).await?;
        self.publish_found_forks(&report).await;
        Ok(report)
    }

    /// Imports notes checked ahead and publishes the proof of every fork the import found.
    async fn import_checked(&self, notes: CheckedNotes) -> Result<ImportReport, NodeError> {
        let report: ImportReport = blocking(self.node, move |node| node.import_checked(notes)).await?;
        self.publish_found_forks(&report).await;
        Ok(report)
    }

    async fn publish_found_forks(&self, report: &ImportReport) {
        if !report.forks.is_empty() {
            let found: BTreeSet<(OrgSlug, u64)> = report.forks.iter().cloned().collect();
            tracing::warn!(forks = ?found, "fork found: a member signed two events at one seq; its feed is frozen");
            self.republish_fork_proofs(|proof| found.contains(&(proof.org.clone(), proof.seq))).await;
        }
    }

    async fn republish_all_fork_proofs(&self) {
        self.republish_fork_proofs(|_| true).await;
    }

    /// Publishes the stored fork proofs that `wanted` selects. A failure is logged: every proof
    /// is published again whenever the consumer (re)starts.
    async fn republish_fork_proofs(&self, wanted: impl Fn(&ForkProof) -> bool) {
        let proofs = match blocking(self.node, Node::fork_proofs).await {
            Ok(proofs) => proofs,
            Err(error) => {
                tracing::error!(%error, "cannot read the fork proofs");
                return;
            }
        };
        for proof in proofs.iter().filter(|proof| wanted(proof)) {
            match publish_fork_proof(self.jetstream, self.spec, &proof.first, &proof.second).await {
                Ok(ack) => tracing::info!(
                    org = %proof.org,
                    seq = proof.seq,
                    stream_seq = ack.stream_seq,
                    duplicate = ack.duplicate,
                    "fork proof published"
                ),
                Err(error) => {
                    tracing::warn!(%error, org = %proof.org, seq = proof.seq, "fork proof not published; will retry");
                }
            }
        }
    }

    /// Reads `org`'s feed subject from the stream, from where the last walk stopped up to (not
    /// including) `before_stream_seq`, at most [`GAP_FETCH_MESSAGES_MAX`] messages, and imports
    /// what it finds in one call (so the notes chain). What does not verify is left for the
    /// consumer to quarantine when it delivers it.
    async fn fill_gap(&mut self, org: &OrgSlug, before_stream_seq: u64) {
        let mut from = self.walked.get(org).map_or(1, |walked| walked + 1);
        let mut found: Vec<(Tag, String)> = Vec::new();
        while from < before_stream_seq && found.len() < GAP_FETCH_MESSAGES_MAX {
            match get_next_on_feed(self.jetstream, self.spec, org, from).await {
                Ok(Some(stored)) if stored.stream_seq < before_stream_seq => {
                    if let Ok(text) = String::from_utf8(stored.bytes) {
                        found.push((stored.stream_seq, text));
                    }
                    self.walked.insert(org.clone(), stored.stream_seq);
                    from = stored.stream_seq + 1;
                }
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(%error, %org, "cannot read the feed subject to fill a gap");
                    break;
                }
            }
        }
        if found.is_empty() {
            return;
        }
        tracing::info!(%org, messages = found.len(), "read the feed subject from the stream to fill a gap");
        if let Err(error) = self.import(found).await {
            tracing::error!(%error, %org, "could not import the messages read to fill a gap");
        }
    }
}

/// Whether every refusal in `report` is only a missing predecessor.
fn waits_for_predecessor(report: &ImportReport) -> bool {
    !report.refused.is_empty() && report.refused.iter().all(|(tag, _)| report.missing_predecessor.contains(tag))
}

async fn quarantine(node: &Node, bytes: Vec<u8>, reason: String) -> Result<Verdict, NodeError> {
    blocking(node, move |node| node.quarantine(&bytes, &reason)).await?;
    Ok(Verdict::Done)
}

/// The private publisher and consumer of a member node; returns only on an error an operator
/// must fix (an invalid consumer name). A read-only node takes no part.
async fn private_loops(node: &Node, jetstream: &JetStream, spec: &StreamSpec, name: &str) -> Result<(), NatsError> {
    if node.org().is_none() {
        return std::future::pending().await;
    }
    let publisher = async {
        republish_private_store(node, jetstream, spec).await;
        publish_private_changes(node, jetstream, spec).await;
    };
    tokio::select! {
        () = publisher => Ok(()),
        result = consume_private(node, jetstream, spec, name) => result,
    }
}

/// Publishes every private record the store holds whose subject is empty (a stream recreated
/// empty is refilled); a subject holding a tombstone makes the node delete its copy.
async fn republish_private_store(node: &Node, jetstream: &JetStream, spec: &StreamSpec) {
    let (mut republished, mut deleted) = (0_usize, 0_usize);
    for space in [PrivateSpace::KeyGrants, PrivateSpace::Reports] {
        let mut after: Option<String> = None;
        loop {
            let cursor = after.clone();
            let ids =
                match blocking(node, move |node| node.private_ids(space, cursor.as_deref(), PRIVATE_REPUBLISH_PAGE))
                    .await
                {
                    Ok(ids) => ids,
                    Err(error) => {
                        tracing::error!(%error, "cannot read the private record ids; retrying");
                        tokio::time::sleep(RETRY_DELAY).await;
                        continue;
                    }
                };
            let Some(last) = ids.last().cloned() else { break };
            for id in ids {
                match republish_one(node, jetstream, spec, space, &id).await {
                    Republished::Published => republished += 1,
                    Republished::DeletedHere => deleted += 1,
                    Republished::Held => {}
                }
            }
            after = Some(last);
        }
    }
    tracing::info!(republished, deleted, "private records checked against the private stream");
}

enum Republished {
    Published,
    /// The stream holds a value already (the consumer brings it if it differs).
    Held,
    /// The stream holds a tombstone: the copy here was deleted.
    DeletedHere,
}

async fn republish_one(
    node: &Node,
    jetstream: &JetStream,
    spec: &StreamSpec,
    space: PrivateSpace,
    id: &str,
) -> Republished {
    loop {
        let owned = id.to_owned();
        let bytes = match blocking(node, move |node| node.private_record(space, &owned)).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Republished::Held,
            Err(error) => {
                tracing::error!(%error, "cannot read a private record; retrying");
                tokio::time::sleep(RETRY_DELAY).await;
                continue;
            }
        };
        let error = match publish_private(jetstream, spec, space, id, &bytes, true).await {
            Ok(_) => return Republished::Published,
            Err(NatsError::WrongLastSubjectSequence { .. }) => match get_private(jetstream, spec, space, id).await {
                Ok(Some((_, PrivateValue::Deleted))) => {
                    let owned = id.to_owned();
                    return match blocking(node, move |node| node.receive_private_deletion(space, &owned)).await {
                        Ok(true) => Republished::DeletedHere,
                        Ok(false) => Republished::Held,
                        Err(error) => {
                            tracing::error!(%error, space = space.as_str(), "cannot delete a private record");
                            Republished::Held
                        }
                    };
                }
                Ok(_) => return Republished::Held,
                Err(error) => error,
            },
            Err(error) => error,
        };
        if !error.is_retryable() && !matches!(error, NatsError::Refused { .. }) {
            tracing::error!(%error, space = space.as_str(), "a private record cannot be republished; skipped");
            return Republished::Held;
        }
        tracing::warn!(%error, "cannot republish the private records yet; retrying");
        tokio::time::sleep(RETRY_DELAY).await;
    }
}

/// Publishes the node's queued private changes in order, retrying each while NATS is down or
/// refuses (a permission an operator has yet to grant); never returns.
async fn publish_private_changes(node: &Node, jetstream: &JetStream, spec: &StreamSpec) {
    let mut pending: std::collections::VecDeque<PrivateChange> = std::collections::VecDeque::new();
    loop {
        if pending.is_empty() {
            pending.extend(node.take_private_changes(PRIVATE_CHANGES_BATCH));
        }
        let Some(change) = pending.front() else {
            tokio::time::sleep(PRIVATE_POLL_INTERVAL).await;
            continue;
        };
        let published = match change {
            PrivateChange::Kept { space, id, bytes } => {
                publish_private(jetstream, spec, *space, id, bytes, false).await
            }
            PrivateChange::Deleted { space, id } => publish_private_deletion(jetstream, spec, *space, id).await,
            _ => {
                tracing::error!("a private change of an unknown kind; skipped");
                pending.pop_front();
                continue;
            }
        };
        match published {
            Ok(_) => {
                pending.pop_front();
            }
            Err(error @ (NatsError::Invalid { .. } | NatsError::TooLarge { .. })) => {
                tracing::error!(%error, "a private change cannot be published; skipped");
                pending.pop_front();
            }
            Err(error) => {
                tracing::warn!(%error, "a private change waits for NATS");
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
    }
}

/// The private consumer: returns only on an invalid consumer name.
async fn consume_private(node: &Node, jetstream: &JetStream, spec: &StreamSpec, name: &str) -> Result<(), NatsError> {
    loop {
        let consumer = match durable_private_consumer(jetstream, spec, name, crate::ConsumerSettings::default()).await {
            Ok(consumer) => consumer,
            Err(error @ NatsError::Invalid { .. }) => return Err(error),
            Err(error) => {
                tracing::warn!(%error, "cannot open the private consumer; retrying");
                tokio::time::sleep(RETRY_DELAY).await;
                continue;
            }
        };
        let messages = match consumer.messages().await {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(%error, "cannot pull private messages; retrying");
                tokio::time::sleep(RETRY_DELAY).await;
                continue;
            }
        };
        tokio::pin!(messages);
        while let Some(item) = messages.next().await {
            match item {
                Ok(message) => apply_private(node, message).await,
                Err(error) if error.is_retryable() => tracing::debug!(%error, "private consumer hiccup"),
                Err(error) => {
                    tracing::warn!(%error, "the private consumer failed; reopening it");
                    break;
                }
            }
        }
        tokio::time::sleep(RETRY_DELAY).await;
    }
}

/// Applies one private message to the node and acks it, or naks it when the node could not
/// store it now. What the node cannot check is logged (subject and reason, never bytes) and
/// acked: it will not become valid by waiting.
async fn apply_private(node: &Node, message: ReceivedPrivate) {
    let Some((space, id)) = message.record.clone() else {
        tracing::warn!(subject = %message.subject, "not a private record subject of this ledger; ignored");
        answer(&message, true).await;
        return;
    };
    let applied = match message.value.clone() {
        PrivateValue::Kept(bytes) => blocking(node, move |node| node.receive_private(space, &id, &bytes)).await,
        PrivateValue::Deleted => blocking(node, move |node| node.receive_private_deletion(space, &id)).await,
        PrivateValue::Invalid(reason) => {
            tracing::warn!(subject = %message.subject, %reason, "not a private record; ignored");
            Ok(false)
        }
    };
    let done = match applied {
        Ok(_) => true,
        Err(error @ (NodeError::Seal(_) | NodeError::Store(StoreError::PrivateRecordRefused { .. }))) => {
            tracing::warn!(%error, subject = %message.subject, "a private record the node refuses; ignored");
            true
        }
        Err(error) => {
            tracing::error!(%error, subject = %message.subject, "the node could not take a private record; retrying");
            tokio::time::sleep(RETRY_DELAY).await;
            false
        }
    };
    answer(&message, done).await;
}

async fn answer(message: &ReceivedPrivate, done: bool) {
    let answered = if done { message.ack().await } else { message.nak().await };
    if let Err(error) = answered {
        tracing::debug!(%error, stream_seq = message.stream_seq, "ack lost; the message will come again");
    }
}
