//! A member organisation's node, without network code: the durable replica of every feed, the
//! member write path that signs the organisation's own events, and the projection.
//!
//! The node is the imperative shell around the pure core: it owns the store, the clock and the
//! signing key, and keeps a [`Verifier`] and a [`Projector`] in step with what is durable. HTTP
//! (coalition-server) and NATS (coalition-nats) call into it; it knows neither.
//!
//! The write path never forks the node's own feed: seq and prev are assigned under one lock in
//! the order events take their places in the group committer's queue (signing happens after the
//! lock, in parallel: an event's id is the hash of its text, not of its signature), an event is
//! durable before anyone can see it (the committer's hook applies it to the projection after the
//! commit, in feed order), and a failed commit or signature resets the feed head to what is
//! durable, so nothing that failed is ever continued.

pub mod data_dir;
mod data_keys;
pub mod demo;
mod edition;
mod effect;
mod regrant;
mod replication_status;
mod reports;
mod sealed_writes;
mod sealing;
mod snapshot;

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use coalition_core::body::{BodyError, EventKind, parse_body};
use coalition_core::event::{Event, EventError, EventId, OrgSlug, SignedEvent};
use coalition_core::genesis::Genesis;
use coalition_core::keys::SignerKey;
use coalition_core::time::Timestamp;
use coalition_core::verify::{Checked, KeyBook, Outcome, Rejection, Tag, Verifier};
use coalition_projector::{Projection, Projector};
use coalition_store::{EventStore, GroupCommitter, MemoryStore, OpenOptions, StoreError};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

pub use data_keys::{OpenedRecord, PRIVATE_CHANGES_MAX, PrivateChange, RecordContent};
pub use edition::{EDITION_LISTS_CACHED_MAX, EditionFailure, PublishedEdition};
pub use effect::Refusal;
pub use replication_status::{ForkProof, QUARANTINE_PAGE_MAX, QuarantineId, QuarantinedNote, ReplicationStatus};
pub use reports::{
    AcceptedReport, FieldProblem, InboxFill, REPORT_CONTACT_CHARS_MAX, REPORT_ID_PREFIX, REPORT_INBOX_ENTRIES_MAX,
    REPORT_PLACE_CHARS_MAX, REPORT_RECORD_BYTES_MAX, REPORT_RECORD_FIELDS, REPORT_WHAT_CHARS_MAX, REPORT_WHO_CHARS_MAX,
    REPORTS_PAGE_MAX, Report, ReportEntry, ReportError, ReportForm, normalise_report_text,
};
pub use sealed_writes::{
    DELIBERATION_FIELD, SEALED_NOTE_FIELD, SEALED_SIGN_FIELD, SealedFields, SealedSubmission, add_field,
    is_sensitive_sign, sealed_value, take_fields,
};
pub use snapshot::{
    SNAPSHOT_BYTES_MAX, SNAPSHOT_EVERY_EVENTS, SNAPSHOT_FILE_NAME, SNAPSHOT_FORMAT, SNAPSHOT_MAGIC,
    SNAPSHOT_TEMP_FILE_NAME, SnapshotRejected, snapshot_path,
};

/// Largest body a member may submit, in bytes of canonical JSON.
pub const SUBMIT_BODY_BYTES_MAX: usize = coalition_core::body::BODY_JSON_BYTES_MAX;
/// Events appended to the store per commit when importing.
pub const IMPORT_BATCH_EVENTS: usize = 1024;
/// Largest page of a feed read at once.
pub const FEED_PAGE_EVENTS_MAX: usize = 1000;

/// Why the node could not open or do its work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The key does not belong to a founding or admitted member of this coalition.
    #[error("the key {0:?} is not named <origin>/<slug> for this coalition's origin")]
    ForeignKey(String),
    /// The genesis is not signed by every founder.
    #[error("the genesis is not signed by every founding member: {0}")]
    IncompleteGenesis(String),
    /// The store holds an event the verifier refuses: the data directory was tampered with.
    #[error("the store holds event {id} that does not verify: {reason}")]
    Tampered {
        /// The event.
        id: EventId,
        /// Why it was refused.
        reason: String,
    },
    /// The store contradicts itself (its head and its events disagree).
    #[error("the store is inconsistent: {0}")]
    Inconsistent(String),
    /// The projector refused an event (a limit was reached).
    #[error("projection: {0}")]
    Projection(String),
    /// Sealing or opening a sealed record, grant or report failed.
    #[error(transparent)]
    Seal(#[from] coalition_core::seal::SealError),
    /// The start-up snapshot could not be written (the node keeps running; the next start replays
    /// more of the store).
    #[error("cannot write the snapshot {path}: {source}")]
    SnapshotWrite {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The node was started without its organisation's identity, so it cannot open sealed data.
    #[error("this node holds no identity: start it with --identity FILE to read sealed records and reports")]
    NoIdentity,
    /// The identity given to the node is not its organisation's current encryption recipient.
    #[error(
        "the identity file is for recipient {given}, but {org}'s current recipient is {expected}: \
         use the identity that matches the recipient in the genesis or the last recipient.rotated"
    )]
    IdentityMismatch {
        /// The node's organisation.
        org: OrgSlug,
        /// The recipient of the identity given.
        given: String,
        /// The organisation's recipient in the projection.
        expected: String,
    },
}

/// Why a member's event was not signed. Nothing was written when this is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// This node holds no key (a public mirror).
    #[error("this node is read-only: it holds no signing key")]
    ReadOnly,
    /// The body is not valid JSON for the protocol (for example a fraction).
    #[error("body: {0}")]
    NotCanonical(String),
    /// The body does not follow the schema of its kind.
    #[error("{0}")]
    Schema(#[from] BodyError),
    /// The body is larger than [`SUBMIT_BODY_BYTES_MAX`].
    #[error("the body is {bytes} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size given.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A referenced case, proposal or edition is unknown.
    #[error("unknown {what} {id}")]
    UnknownReference {
        /// What was referenced.
        what: &'static str,
        /// The id given.
        id: EventId,
    },
    /// The event would have no effect.
    #[error("{0}")]
    Refused(String),
    /// Signing failed (a protocol limit).
    #[error("cannot sign: {0}")]
    Event(#[from] EventError),
    /// The store could not make the event durable (disk full, I/O): nothing was written.
    #[error("the event could not be stored, nothing was written: {0}")]
    Store(#[from] StoreError),
    /// The record could not be sealed (invalid record, too large, no randomness).
    #[error("cannot seal: {0}")]
    Seal(#[from] coalition_core::seal::SealError),
    /// This node cannot seal for the coalition (no identity, no recipients, or its own recipient
    /// is not in the sealing set): nothing was signed, and nothing is ever signed in clear instead.
    #[error("{0}")]
    CannotSeal(String),
}

impl From<Refusal> for SubmitError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::UnknownReference { what, id } => Self::UnknownReference { what, id },
            Refusal::NoEffect(message) => Self::Refused(message),
        }
    }
}

/// A member's event, signed and durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    /// The event id.
    pub id: EventId,
    /// Its seq in the organisation's feed.
    pub seq: u64,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Events newly stored.
    pub stored: u64,
    /// Events already held.
    pub duplicates: u64,
    /// Events refused, with the caller's tag and the reason in words.
    pub refused: Vec<(Tag, String)>,
    /// Forks found (org, seq).
    pub forks: Vec<(OrgSlug, u64)>,
    /// Tags of the refused events whose only fault is that their predecessor in the feed has not
    /// arrived (also listed in `refused`): a replicator may offer them again later.
    pub missing_predecessor: Vec<Tag>,
}

/// What [`Node::note_status`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoteStatus {
    /// This exact event is in the node's verified replica.
    Held {
        /// Its organisation.
        org: OrgSlug,
        /// Its seq in that feed.
        seq: u64,
    },
    /// An event of this node's own organisation, validly signed with its current key, that this
    /// node does not hold: someone else signs with this organisation's key.
    OwnNotHeld {
        /// The seq it claims.
        seq: u64,
    },
    /// Anything else: not a note, another ledger, another organisation's event not held, a bad
    /// signature.
    Other,
}

/// Verification and projection, kept in step with the store.
struct State {
    verifier: Verifier,
    projector: Projector,
    /// Ids of the events about each case (the case.opened and every event naming it), in the
    /// order they were applied: what a person's page shows as the signed history.
    case_events: HashMap<EventId, Vec<EventId>>,
    /// The latest time of any applied event: the "data as of" of public pages.
    newest_time: Option<Timestamp>,
    /// Ids of the `sealed` events under each data key, in the order they were applied: a sealed
    /// body names no case in clear, so the case file finds its records through the keys.
    sealed_events: HashMap<coalition_core::seal::DataKeyId, Vec<EventId>>,
    /// Data keys named by `sealed.shredded` events applied since the node last destroyed
    /// grants: their grants are deleted from the private store and the key cache.
    shredded_pending: Vec<coalition_core::seal::DataKeyId>,
}

impl State {
    fn new(genesis: &Genesis) -> Self {
        Self {
            verifier: Verifier::new(genesis),
            projector: Projector::new(genesis),
            case_events: HashMap::new(),
            newest_time: None,
            sealed_events: HashMap::new(),
            shredded_pending: Vec::new(),
        }
    }

    /// Applies a verified, durable event to the projection and the indexes.
    fn project(&mut self, event: SignedEvent) -> Result<(), NodeError> {
        let content = event.event();
        let case = if content.kind() == EventKind::CaseOpened { Some(event.id()) } else { content.body.case() };
        if let Some(case) = case {
            self.case_events.entry(case).or_default().push(event.id());
        }
        self.newest_time = self.newest_time.max(Some(content.time));
        match &content.body {
            coalition_core::body::Body::Sealed(sealed) => {
                self.sealed_events.entry(sealed.key).or_default().push(event.id());
            }
            coalition_core::body::Body::SealedShredded(shredded) => {
                self.shredded_pending.extend(shredded.keys.iter().copied());
            }
            _ => {}
        }
        self.projector.insert(event).map(|_| ()).map_err(|error| NodeError::Projection(error.to_string()))
    }
}

/// The node's own feed as the write path sees it.
struct Writer {
    head: Option<(u64, EventId)>,
    last_time: Timestamp,
}

struct Inner {
    genesis: Genesis,
    key: Option<SignerKey>,
    org: Option<OrgSlug>,
    store: Arc<dyn EventStore>,
    committer: GroupCommitter,
    writer: Mutex<Writer>,
    /// Shared with the group committer's hook, which applies the node's own durable events.
    state: Arc<Mutex<State>>,
    version: Arc<AtomicU64>,
    demo: bool,
    /// What the replicator last reported (`None`: not replicating).
    replication: Mutex<Option<ReplicationStatus>>,
    /// The organisation's age identity, when the node was given one: opens key grants and
    /// reports. Never written to the data directory.
    identity: std::sync::RwLock<Option<coalition_core::seal::Identity>>,
    /// Data keys opened with the identity or made here: memory only, never on disk.
    keys: Mutex<data_keys::KeyRing>,
    /// Private records kept or deleted here that replication has not yet carried to the others.
    private_changes: Mutex<std::collections::VecDeque<PrivateChange>>,
    /// Where the start-up snapshot lives (`None` for a node without a data directory).
    data_dir: Option<PathBuf>,
    /// New events after which a snapshot is written again.
    snapshot_every_events: AtomicU64,
    /// The node's version when the last snapshot was taken (or the state loaded).
    snapshot_version: AtomicU64,
    /// Whether a background snapshot is under way (at most one is started at a time).
    snapshot_writing: AtomicBool,
    /// Held while a snapshot is encoded and written, so two writers never share the temporary
    /// file and a later state is never overwritten by an earlier one.
    snapshot_file: Mutex<()>,
}

/// What [`Node::write_snapshot`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotWritten {
    /// The file.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// The feed events it covers.
    pub events: u64,
    /// How long the node's state was locked to encode it.
    pub encode_ms: u64,
}

/// How a node's start-up went.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StartupReport {
    /// Feed events taken from the snapshot (0: none used).
    pub from_snapshot: u64,
    /// Events replayed from the store (all of them without a snapshot, else the tail).
    pub replayed: u64,
    /// Why a snapshot that was there was not used.
    pub snapshot_rejected: Option<String>,
}

/// A member organisation's node (or, without a key, a read-only mirror). Cheap to clone: every
/// clone is the same node.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Node").field("org", &self.inner.org).finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind (no invariant spans a panic point
    // that the next holder could observe half-done), so carry on rather than poison every request.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The current time in the protocol's form, never before `floor`.
fn now_not_before(floor: Timestamp) -> Timestamp {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX));
    Timestamp::from_unix_seconds(seconds).map_or(floor, |now| now.max(floor))
}

/// Text typed by people enters in NFC, so one name has one byte form (verifiers never normalise).
fn normalize_text(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(text.nfc().collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(normalize_text).collect()),
        Value::Object(fields) => Value::Object(
            fields.into_iter().map(|(name, value)| (name.nfc().collect(), normalize_text(value))).collect(),
        ),
        other => other,
    }
}

impl Node {
    /// Opens (or creates) the node's durable store in `data_dir` and rebuilds the projection.
    /// `key` is the organisation's signing key; `None` makes a read-only node.
    ///
    /// Start-up trusts the node's own store for signatures (they were verified before anything
    /// was stored) but not for integrity: every event read back must hash to its id and chain to
    /// its predecessor, which is what the store checks on every read. redb's page-checksum pass
    /// is skipped for speed; the store's `verify_integrity` runs the full check on demand.
    ///
    /// With a valid snapshot in the data directory (see [`SNAPSHOT_FILE_NAME`]) only the events
    /// after its feed heads are read from the store; an invalid, stale or foreign one is reported
    /// by file name in a warning and the whole store is replayed.
    pub fn open(data_dir: &Path, genesis: Genesis, key: Option<SignerKey>) -> Result<Self, NodeError> {
        let store = OpenOptions::new().check_pages(false).open(data_dir, genesis.ledger_id())?;
        Self::start(Arc::new(store), genesis, key, Some(data_dir)).map(|(node, _)| node)
    }

    /// [`Node::open`], also saying how start-up went (for benchmarks and tests).
    pub fn open_reporting(
        data_dir: &Path,
        genesis: Genesis,
        key: Option<SignerKey>,
    ) -> Result<(Self, StartupReport), NodeError> {
        let store = OpenOptions::new().check_pages(false).open(data_dir, genesis.ledger_id())?;
        Self::start(Arc::new(store), genesis, key, Some(data_dir))
    }

    /// A node over an in-memory store (tests and tools).
    pub fn open_in_memory(genesis: Genesis, key: Option<SignerKey>) -> Result<Self, NodeError> {
        let store = MemoryStore::new(genesis.ledger_id());
        Self::with_store(Arc::new(store), genesis, key)
    }

    /// A node over any store: replays what it holds into the verifier and the projector.
    pub fn with_store(store: Arc<dyn EventStore>, genesis: Genesis, key: Option<SignerKey>) -> Result<Self, NodeError> {
        Self::start(store, genesis, key, None).map(|(node, _)| node)
    }

    fn start(
        store: Arc<dyn EventStore>,
        genesis: Genesis,
        key: Option<SignerKey>,
        data_dir: Option<&Path>,
    ) -> Result<(Self, StartupReport), NodeError> {
        genesis.require_complete().map_err(|error| NodeError::IncompleteGenesis(error.to_string()))?;
        let org = match &key {
            Some(key) => {
                let name = key.name().as_str();
                let slug = name
                    .strip_prefix(genesis.doc().origin.as_str())
                    .and_then(|rest| rest.strip_prefix('/'))
                    .and_then(|slug| OrgSlug::parse(slug).ok())
                    .ok_or_else(|| NodeError::ForeignKey(name.to_owned()))?;
                Some(slug)
            }
            None => None,
        };
        let started = std::time::Instant::now();
        let mut report = StartupReport::default();
        let loaded = match data_dir.map(|dir| snapshot::load(dir, &genesis, store.as_ref())) {
            Some(Ok(loaded)) => loaded,
            Some(Err(rejected)) => {
                let file = data_dir.map(snapshot_path).unwrap_or_default();
                tracing::warn!(
                    file = %file.display(),
                    reason = %rejected,
                    "ignoring the start-up snapshot; replaying the whole store"
                );
                report.snapshot_rejected = Some(format!("{}: {rejected}", file.display()));
                None
            }
            None => None,
        };
        let (mut state, from_seq) = match loaded {
            Some((state, coverage)) => {
                report.from_snapshot = coverage.events();
                let from_seq = coverage.heads.iter().map(|(org, (seq, _))| (org.clone(), seq + 1)).collect();
                (state, from_seq)
            }
            None => (State::new(&genesis), BTreeMap::new()),
        };
        report.replayed = replay_in_time_order(store.as_ref(), &mut state, &from_seq)?;
        let replayed = report.replayed + report.from_snapshot;
        for proof in store.fork_proofs()? {
            state
                .projector
                .insert_fork(&proof.org, proof.seq)
                .map_err(|error| NodeError::Projection(error.to_string()))?;
            state.projector.insert(proof.second).map_err(|error| NodeError::Projection(error.to_string()))?;
        }
        tracing::info!(
            events = replayed,
            from_snapshot = report.from_snapshot,
            replayed = report.replayed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "replayed the store"
        );
        let head = match &org {
            Some(org) => store.head(org)?,
            None => None,
        };
        let last_time = match head {
            Some((seq, _)) => org
                .as_ref()
                .and_then(|org| store.read_feed(org, seq, 1).ok())
                .and_then(|events| events.first().map(|event| event.event().time))
                .unwrap_or(genesis.doc().created),
            None => genesis.doc().created,
        };
        let demo = genesis.doc().name.contains("fictional");
        let state = Arc::new(Mutex::new(state));
        let version = Arc::new(AtomicU64::new(replayed));
        let committer = {
            let (state, version) = (Arc::clone(&state), Arc::clone(&version));
            // Our own events, durable now, applied in feed order before their writers hear back.
            GroupCommitter::with_hook(
                Arc::clone(&store),
                Box::new(move |events: &[SignedEvent]| {
                    let mut state = lock(&state);
                    for event in events {
                        apply(&mut state, event.clone(), &version);
                    }
                }),
            )?
        };
        let inner = Inner {
            genesis,
            key,
            org,
            store,
            committer,
            writer: Mutex::new(Writer { head, last_time }),
            state,
            version,
            demo,
            replication: Mutex::new(None),
            identity: std::sync::RwLock::new(None),
            keys: Mutex::new(data_keys::KeyRing::default()),
            private_changes: Mutex::new(std::collections::VecDeque::new()),
            data_dir: data_dir.map(Path::to_path_buf),
            snapshot_every_events: AtomicU64::new(SNAPSHOT_EVERY_EVENTS),
            snapshot_version: AtomicU64::new(replayed - report.replayed),
            snapshot_writing: AtomicBool::new(false),
            snapshot_file: Mutex::new(()),
        };
        let node = Self { inner: Arc::new(inner) };
        // Shreddings replayed from the store: grants that arrived after them are destroyed too.
        node.destroy_shredded_grants()?;
        node.maybe_snapshot();
        Ok((node, report))
    }

    /// Writes the start-up snapshot of the node's current state into its data directory (see
    /// [`SNAPSHOT_FILE_NAME`]), replacing the old one atomically; a clean shutdown calls it.
    /// `None` when the node has no data directory, or when events wait for their predecessor
    /// (such a state is not kept: the next call will write). Only the encoding holds the node's
    /// lock; the file is written after it is released.
    pub fn write_snapshot(&self) -> Result<Option<SnapshotWritten>, NodeError> {
        let Some(dir) = &self.inner.data_dir else { return Ok(None) };
        let _writing = lock(&self.inner.snapshot_file);
        let started = std::time::Instant::now();
        let (bytes, events, version) = {
            let state = lock(&self.inner.state);
            let version = self.version();
            let forks: Vec<(OrgSlug, u64)> =
                self.inner.store.fork_proofs()?.into_iter().map(|proof| (proof.org, proof.seq)).collect();
            let Some(bytes) = snapshot::encode(&self.inner.genesis, &state, &forks) else { return Ok(None) };
            let events: u64 = state.verifier.heads().values().map(|(seq, _)| seq).sum();
            (bytes, events, version)
        };
        let encode_ms = started.elapsed().as_millis() as u64;
        snapshot::write_atomically(dir, &bytes)
            .map_err(|source| NodeError::SnapshotWrite { path: snapshot_path(dir), source })?;
        self.inner.snapshot_version.fetch_max(version, Ordering::AcqRel);
        let written = SnapshotWritten { path: snapshot_path(dir), bytes: bytes.len() as u64, events, encode_ms };
        tracing::info!(
            file = %written.path.display(),
            bytes = written.bytes,
            events = written.events,
            encode_ms,
            write_ms = started.elapsed().as_millis() as u64 - encode_ms,
            "wrote the start-up snapshot"
        );
        Ok(Some(written))
    }

    /// Sets after how many new events a snapshot is written again (default
    /// [`SNAPSHOT_EVERY_EVENTS`]; at least 1).
    pub fn set_snapshot_every_events(&self, events: u64) {
        self.inner.snapshot_every_events.store(events.max(1), Ordering::Release);
    }

    /// Whether a snapshot is being written in the background now.
    pub fn is_writing_snapshot(&self) -> bool {
        self.inner.snapshot_writing.load(Ordering::Acquire)
    }

    /// Starts writing a snapshot on a background thread when enough events arrived since the
    /// last one, so that no writer or import waits for the disk.
    fn maybe_snapshot(&self) {
        let inner = &self.inner;
        if inner.data_dir.is_none() {
            return;
        }
        let since = self.version().saturating_sub(inner.snapshot_version.load(Ordering::Acquire));
        if since < inner.snapshot_every_events.load(Ordering::Acquire) {
            return;
        }
        if inner.snapshot_writing.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return;
        }
        let node = self.clone();
        let spawned = std::thread::Builder::new().name("snapshot".into()).spawn(move || {
            if let Err(error) = node.write_snapshot() {
                tracing::warn!(%error, "could not write the start-up snapshot; the next start replays more");
            }
            node.inner.snapshot_writing.store(false, Ordering::Release);
        });
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not start writing the start-up snapshot");
            inner.snapshot_writing.store(false, Ordering::Release);
        }
    }

    /// The coalition's genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.inner.genesis
    }

    /// The organisation this node signs for, if it holds a key.
    pub fn org(&self) -> Option<&OrgSlug> {
        self.inner.org.as_ref()
    }

    /// Whether the ledger is the fictional demo (every page must say so).
    pub fn is_demo(&self) -> bool {
        self.inner.demo
    }

    /// A number that grows whenever the projection changes: a validator for HTTP caches.
    pub fn version(&self) -> u64 {
        self.inner.version.load(Ordering::Acquire)
    }

    /// Reads the projection. Keep `read` short: writers wait for it.
    pub fn with_projection<R>(&self, read: impl FnOnce(&Projection) -> R) -> R {
        let mut state = lock(&self.inner.state);
        read(state.projector.projection())
    }

    /// Ids of the events about `case` (its case.opened and every event naming it), in the order
    /// this node applied them; empty for an unknown case.
    pub fn case_event_ids(&self, case: &EventId) -> Vec<EventId> {
        lock(&self.inner.state).case_events.get(case).cloned().unwrap_or_default()
    }

    /// The latest time of any event the projection holds: how recent the data is.
    pub fn newest_event_time(&self) -> Option<Timestamp> {
        lock(&self.inner.state).newest_time
    }

    /// One stored event by id.
    pub fn event(&self, id: &EventId) -> Result<Option<SignedEvent>, NodeError> {
        Ok(self.inner.store.get(id)?)
    }

    /// The head (seq, id) of every feed this node holds.
    pub fn heads(&self) -> BTreeMap<OrgSlug, (u64, EventId)> {
        lock(&self.inner.state).verifier.heads()
    }

    /// Up to `limit` (at most [`FEED_PAGE_EVENTS_MAX`]) events of `org`'s feed from `from_seq`.
    pub fn read_feed(&self, org: &OrgSlug, from_seq: u64, limit: usize) -> Result<Vec<SignedEvent>, NodeError> {
        Ok(self.inner.store.read_feed(org, from_seq.max(1), limit.min(FEED_PAGE_EVENTS_MAX))?)
    }

    /// Every stored event, feed by feed in seq order (for export).
    pub fn for_each_event(&self, visitor: &mut dyn FnMut(SignedEvent) -> ControlFlow<()>) -> Result<u64, NodeError> {
        Ok(self.inner.store.for_each_event(visitor)?)
    }

    /// Signs a new event of this node's organisation with `body` (JSON as a member typed it),
    /// after checking the schema and that it would take effect, and returns once it is durable.
    /// Blocking: it waits for the durable commit.
    pub fn submit(&self, kind: EventKind, body: Value) -> Result<Submitted, SubmitError> {
        if kind == EventKind::KeyRotated {
            // The node would have to hold the new secret key to sign anything after the rotation;
            // signing the announcement alone would leave it unable to continue its own feed.
            return Err(SubmitError::Refused(
                "a key rotation needs the new secret key on the node's machine: stop the node and run \
                 `coalition rotate-key`; it cannot be requested over the member API"
                    .into(),
            ));
        }
        if matches!(kind, EventKind::EditionProposed | EventKind::EditionCosigned) {
            // The node must compute the list and sign the edition note itself.
            return Err(SubmitError::Refused(
                "editions are proposed and cosigned with `coalition edition propose|cosign` (POST \
                 /api/v1/member/editions...): the node computes the list and signs the edition note"
                    .into(),
            ));
        }
        if kind == EventKind::Sealed {
            // The node seals itself, so the grant is stored first and the record is checked.
            return Err(SubmitError::Refused(
                "sealed records are made by the node from the record's fields (Node::seal_record, POST                  /api/v1/member/cases/{id}/sealed), never submitted as ciphertext"
                    .into(),
            ));
        }
        self.sign_and_store(kind, body)
    }

    /// Announces `new_key` as the organisation's key from its next event on, signed with the
    /// current key. Afterwards this node refuses to sign (its key is no longer the org's): restart
    /// it with `new_key`.
    pub fn rotate_key(&self, new_key: &SignerKey) -> Result<Submitted, SubmitError> {
        let (Some(key), Some(_)) = (&self.inner.key, &self.inner.org) else { return Err(SubmitError::ReadOnly) };
        if new_key.name() != key.name() {
            return Err(SubmitError::Refused(format!(
                "the new key must carry the same name as the current one ({})",
                key.name().as_str()
            )));
        }
        if new_key.verifier_key() == key.verifier_key() {
            return Err(SubmitError::Refused("the new key is the current key".into()));
        }
        self.sign_and_store(EventKind::KeyRotated, serde_json::json!({ "vkey": new_key.verifier_key().to_string() }))
    }

    fn sign_and_store(&self, kind: EventKind, body: Value) -> Result<Submitted, SubmitError> {
        let inner = &self.inner;
        let (Some(key), Some(org)) = (&inner.key, &inner.org) else { return Err(SubmitError::ReadOnly) };
        let body = normalize_text(body);
        let text = coalition_core::canonical::to_canonical_profile(&body)
            .map_err(|error| SubmitError::NotCanonical(error.to_string()))?;
        if text.len() > SUBMIT_BODY_BYTES_MAX {
            return Err(SubmitError::TooLarge { bytes: text.len(), max: SUBMIT_BODY_BYTES_MAX });
        }
        let body = parse_body(kind, &text)?;
        let deps = {
            let mut state = lock(&inner.state);
            if state.verifier.current_key(org).is_some_and(|current| *current != key.verifier_key()) {
                return Err(SubmitError::Refused(format!(
                    "this node's key is no longer {org}'s key in the ledger: restart the node with the current key"
                )));
            }
            effect::check_effect(state.projector.projection(), org, &body)?;
            let mut deps: Vec<EventId> =
                state.verifier.heads().into_iter().filter(|(feed, _)| feed != org).map(|(_, (_, id))| id).collect();
            deps.sort();
            deps
        };
        // Under the writer lock only what chains the feed: seq, prev, time, the signed text and
        // its id (the hash of the text, not of the signature), and the event's place in the
        // commit queue. Signing, the slow part, happens after the lock is released, in parallel
        // with other writers and with the commit in progress; the committer takes the places in
        // order, so the feed still reaches the store in seq order.
        let (reservation, text, expected_id) = {
            let mut writer = lock(&inner.writer);
            let (seq, prev) = writer.head.map_or((1, None), |(seq, id)| (seq + 1, Some(id)));
            let time = now_not_before(writer.last_time.max(inner.genesis.doc().created));
            let event = Event { ledger: inner.genesis.ledger_id(), org: org.clone(), seq, prev, time, deps, body };
            let text = event.to_note_text()?;
            let id = EventId::of_text(text.as_bytes());
            let reservation = inner.committer.reserve()?;
            writer.head = Some((seq, id));
            writer.last_time = time;
            (reservation, text, id)
        };
        let signed = sign_text(key, text).and_then(|event| {
            if event.id() == expected_id {
                Ok(event)
            } else {
                Err(SubmitError::Refused(format!(
                    "the signed event's id {} is not the id {expected_id} its place was reserved for",
                    event.id()
                )))
            }
        });
        let (pending, event) = match signed {
            Ok(event) => {
                let submitted = (event.id(), event.event().seq);
                (reservation.fill(event), submitted)
            }
            Err(error) => {
                // Events behind the abandoned place name it as prev, so the store refuses them;
                // once every event before it is answered, continue from what is durable.
                reservation.abandon().wait();
                reset_to_durable_head(inner, org);
                return Err(error);
            }
        };
        if let Err(error) = pending.wait() {
            // Whatever failed was never seen by anyone: continue from what is durable.
            reset_to_durable_head(inner, org);
            tracing::warn!(%error, "commit failed; the feed head is back at the durable head");
            return Err(SubmitError::Store(error));
        }
        // The committer's hook has applied it to the projection before answering.
        let (id, seq) = event;
        if let Err(error) = self.destroy_shredded_grants() {
            // The event is durable; the grants stay pending and the next event retries.
            tracing::error!(%error, "could not destroy the grants of shredded data keys yet");
        }
        if let Err(error) = self.regrant_if_sealing_set_grew() {
            tracing::error!(%error, "could not re-grant the data keys to the new sealing set");
        }
        self.maybe_snapshot();
        Ok(Submitted { id, seq })
    }

    /// The seq up to which this node's own feed has been published for replication (0: nothing).
    /// A read-only node has no feed and answers 0.
    pub fn published_seq(&self) -> Result<u64, NodeError> {
        match &self.inner.org {
            Some(org) => Ok(self.inner.store.published_seq(org)?),
            None => Ok(0),
        }
    }

    /// Up to `limit` (at most [`FEED_PAGE_EVENTS_MAX`]) of this node's own durable events above
    /// [`Node::published_seq`], in seq order: what replication still has to publish. Empty for a
    /// read-only node.
    pub fn outbox(&self, limit: usize) -> Result<Vec<SignedEvent>, NodeError> {
        let Some(org) = &self.inner.org else { return Ok(Vec::new()) };
        let published = self.inner.store.published_seq(org)?;
        self.read_feed(org, published.saturating_add(1), limit)
    }

    /// Records that this node's own feed is published up to `seq` (the cursor never moves back).
    pub fn mark_published(&self, seq: u64) -> Result<(), NodeError> {
        if let Some(org) = &self.inner.org {
            self.inner.store.set_published_seq(org, seq)?;
        }
        Ok(())
    }

    /// Keeps input that was refused (garbage, a forged or foreign event) with the reason, for an
    /// operator to look at. It never reaches the feeds or the projection.
    pub fn quarantine(&self, bytes: &[u8], reason: &str) -> Result<(), NodeError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX));
        self.inner.store.quarantine(bytes, reason, now)?;
        Ok(())
    }

    /// How many inputs have been quarantined.
    pub fn quarantine_count(&self) -> Result<u64, NodeError> {
        Ok(self.inner.store.quarantine_count()?)
    }

    /// Where `note` stands against this node's verified replica, without storing anything.
    pub fn note_status(&self, note: &str) -> NoteStatus {
        let Ok(event) = SignedEvent::parse(note) else { return NoteStatus::Other };
        let content = event.event();
        if content.ledger != self.inner.genesis.ledger_id() {
            return NoteStatus::Other;
        }
        let state = lock(&self.inner.state);
        if state.verifier.id_at(&content.org, content.seq) == Some(event.id()) {
            return NoteStatus::Held { org: content.org.clone(), seq: content.seq };
        }
        let ours = self.inner.org.as_ref() == Some(&content.org);
        if ours && state.verifier.current_key(&content.org).is_some_and(|key| event.is_signed_by(key)) {
            return NoteStatus::OwnNotHeld { seq: content.seq };
        }
        NoteStatus::Other
    }

    /// Verifies notes from elsewhere (a bundle, a peer) and stores and applies the valid ones;
    /// refused ones are reported and skipped. Idempotent.
    ///
    /// Notes are taken in windows of [`IMPORT_BATCH_EVENTS`]: each window's parsing, canonical
    /// form and signatures are checked on every core (see [`Node::check_notes`]) while this
    /// thread applies the feed rules to the window before, stores it in one commit and projects
    /// it. Nothing is stored before the feed rules have accepted it.
    pub fn import(&self, notes: impl IntoIterator<Item = (Tag, String)>) -> Result<ImportReport, NodeError> {
        let threads = import_check_threads();
        let mut report = ImportReport::default();
        let mut notes = notes.into_iter();
        let mut previous: Vec<Checked> = Vec::new();
        loop {
            let window: Vec<(Tag, String)> = notes.by_ref().take(IMPORT_BATCH_EVENTS).collect();
            if window.is_empty() {
                break;
            }
            let book = lock(&self.inner.state).verifier.key_book();
            let earlier = std::mem::take(&mut previous);
            let (checked, accepted) =
                check_while(&book, &window, threads, || self.accept_checked(earlier, &mut report));
            accepted?;
            previous = checked;
        }
        self.accept_checked(previous, &mut report)?;
        self.finish_import(&mut report)?;
        self.maybe_snapshot();
        Ok(report)
    }

    /// The concurrent half of [`Node::import`]: parses `notes` and checks their canonical form
    /// and signatures on every core, against a snapshot of the keys the feeds expect now. Takes
    /// the node's lock only to copy the keys, so a caller can check the next notes while an
    /// earlier [`Node::import_checked`] runs. A snapshot that a later import makes stale (a key
    /// rotation, a new member) costs a second signature check there, never a wrong verdict.
    pub fn check_notes(&self, notes: &[(Tag, String)]) -> CheckedNotes {
        let book = lock(&self.inner.state).verifier.key_book();
        let (checked, ()) = check_while(&book, notes, import_check_threads(), || ());
        CheckedNotes { checked }
    }

    /// The sequential half of [`Node::import`]: applies the feed rules (ledger, membership, key at
    /// that seq, chain, time, forks) to notes checked by [`Node::check_notes`], in their order,
    /// stores the accepted ones in one commit and projects them. Returns what [`Node::import`]
    /// would have for the same notes.
    pub fn import_checked(&self, notes: CheckedNotes) -> Result<ImportReport, NodeError> {
        let mut report = ImportReport::default();
        self.accept_checked(notes.checked, &mut report)?;
        self.finish_import(&mut report)?;
        self.maybe_snapshot();
        Ok(report)
    }

    /// Applies the feed rules to `checked` in order, then stores and projects what they accepted.
    fn accept_checked(&self, checked: Vec<Checked>, report: &mut ImportReport) -> Result<(), NodeError> {
        if checked.is_empty() {
            return Ok(());
        }
        let inner = &self.inner;
        let mut batch: Vec<SignedEvent> = Vec::new();
        let mut state = lock(&inner.state);
        for checked in checked {
            for outcome in state.verifier.accept(checked) {
                match outcome {
                    Outcome::Accepted { event, .. } => batch.push(*event),
                    Outcome::Duplicate { .. } => report.duplicates += 1,
                    Outcome::Rejected { tag, reason, .. } => report.refused.push((tag, reason.to_string())),
                    Outcome::Frozen { event, .. } => {
                        insert_projection(&mut state.projector, *event)?;
                    }
                    Outcome::Fork { fork, .. } => {
                        // Both events of a fork can arrive in one import: the first is then
                        // accepted in this batch but not stored yet, and the store alone would
                        // give no note (the proof refused, the import failed, the fork lost).
                        let first_note = match batch.iter().find(|event| event.id() == fork.first) {
                            Some(event) => event.note().to_owned(),
                            None => {
                                inner.store.get(&fork.first)?.map(|event| event.note().to_owned()).unwrap_or_default()
                            }
                        };
                        inner.store.put_fork_proof(&fork.org, fork.seq, &first_note, fork.second.note())?;
                        state
                            .projector
                            .insert_fork(&fork.org, fork.seq)
                            .map_err(|error| NodeError::Projection(error.to_string()))?;
                        insert_projection(&mut state.projector, *fork.second)?;
                        report.forks.push((fork.org, fork.seq));
                    }
                    _ => {}
                }
            }
        }
        report.stored += store_batch(inner, &mut state, &mut batch)?;
        Ok(())
    }

    /// Ends an import: every event still waiting for its predecessor is refused.
    fn finish_import(&self, report: &mut ImportReport) -> Result<(), NodeError> {
        let mut state = lock(&self.inner.state);
        for outcome in state.verifier.finish() {
            if let Outcome::Rejected { tag, reason, .. } = outcome {
                if matches!(reason, Rejection::SeqGap { .. }) {
                    report.missing_predecessor.push(tag);
                }
                report.refused.push((tag, reason.to_string()));
            }
        }
        drop(state);
        self.destroy_shredded_grants()?;
        if let Err(error) = self.regrant_if_sealing_set_grew() {
            tracing::error!(%error, "could not re-grant the data keys to the new sealing set");
        }
        Ok(())
    }
}

/// Signs an event's note text (see [`Event::to_note_text`]) with the organisation's key.
fn sign_text(key: &SignerKey, text: String) -> Result<SignedEvent, SubmitError> {
    let note =
        coalition_core::note::sign_note(&text, &[key]).map_err(|error| SubmitError::Event(EventError::Note(error)))?;
    Ok(SignedEvent::parse_owned(note)?)
}

/// After a failed commit: the next event of the feed follows the durable head, so nothing that
/// failed is ever continued.
fn reset_to_durable_head(inner: &Inner, org: &OrgSlug) {
    let mut writer = lock(&inner.writer);
    writer.head = inner.store.head(org).unwrap_or(None);
}

/// Most threads that check signatures during an import (fewer on fewer cores).
pub const IMPORT_CHECK_THREADS_MAX: usize = 8;
/// Notes a checking thread takes at a time: small enough that the threads finish together
/// whatever else one of them does, large enough that taking them costs nothing measurable.
const CHECK_STEP_NOTES: usize = 16;

fn import_check_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |count| count.get()).clamp(1, IMPORT_CHECK_THREADS_MAX)
}

/// Notes parsed and signature-checked by [`Node::check_notes`], in the order given, waiting for
/// [`Node::import_checked`] to apply the feed rules. Only the node makes them, and holding one
/// admits nothing: the feed rules still decide, and re-check any signature checked under a key
/// that is no longer the one expected.
#[derive(Debug, Default)]
pub struct CheckedNotes {
    checked: Vec<Checked>,
}

impl CheckedNotes {
    /// How many notes it holds.
    pub fn len(&self) -> usize {
        self.checked.len()
    }

    /// Whether it holds no note.
    pub fn is_empty(&self) -> bool {
        self.checked.is_empty()
    }
}

/// Checks `notes` against `book` on up to `threads` threads while this thread first runs
/// `meanwhile` and then joins the checking. Threads take notes a few at a time from a shared
/// counter, so the work is shared evenly whatever `meanwhile` costs. Returns the checks in the
/// order of `notes`, and what `meanwhile` returned.
fn check_while<R>(
    book: &KeyBook,
    notes: &[(Tag, String)],
    threads: usize,
    meanwhile: impl FnOnce() -> R,
) -> (Vec<Checked>, R) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let take_and_check = || {
        let mut done = Vec::new();
        loop {
            let start = next.fetch_add(CHECK_STEP_NOTES, Ordering::Relaxed);
            if start >= notes.len() {
                return done;
            }
            let end = (start + CHECK_STEP_NOTES).min(notes.len());
            done.extend((start..end).map(|index| (index, book.check(notes[index].0, &notes[index].1))));
        }
    };
    // No helper for a handful of notes: starting a thread would cost more than it saves.
    let helpers = threads.saturating_sub(1).min(notes.len().div_ceil(CHECK_STEP_NOTES).saturating_sub(1));
    let (indexed, outcome) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..helpers).map(|_| scope.spawn(take_and_check)).collect();
        let outcome = meanwhile();
        let mut indexed = take_and_check();
        for worker in workers {
            // A helper can only fail by panicking (a bug); its notes are checked again below.
            if let Ok(more) = worker.join() {
                indexed.extend(more);
            }
        }
        (indexed, outcome)
    });
    let mut slots: Vec<Option<Checked>> = Vec::with_capacity(notes.len());
    slots.resize_with(notes.len(), || None);
    for (index, checked) in indexed {
        slots[index] = Some(checked);
    }
    let checked = slots
        .into_iter()
        .zip(notes)
        .map(|(slot, (tag, note))| slot.unwrap_or_else(|| book.check(*tag, note)))
        .collect();
    (checked, outcome)
}

fn insert_projection(projector: &mut Projector, event: SignedEvent) -> Result<(), NodeError> {
    projector.insert(event).map(|_| ()).map_err(|error| NodeError::Projection(error.to_string()))
}

/// Makes verified events durable, then applies them to the projection.
fn store_batch(inner: &Inner, state: &mut State, batch: &mut Vec<SignedEvent>) -> Result<u64, NodeError> {
    if batch.is_empty() {
        return Ok(0);
    }
    let report = inner.store.append(batch)?;
    for event in batch.drain(..) {
        state.project(event)?;
        inner.version.fetch_add(1, Ordering::AcqRel);
    }
    Ok(report.stored() as u64)
}

/// Events read from one feed at a time while replaying.
const REPLAY_PAGE_EVENTS: usize = 512;
/// Pages of each feed read and decoded ahead of the merge while replaying.
const REPLAY_PAGES_AHEAD: usize = 2;
/// Most threads that read and decode pages while replaying (fewer on fewer cores).
const REPLAY_THREADS_MAX: usize = 8;

type Page = Result<Vec<SignedEvent>, StoreError>;

/// A request to a replay reader: a page of `org` from `from_seq`, answered on `reply`.
struct PageRequest {
    org: OrgSlug,
    from_seq: u64,
    reply: std::sync::mpsc::SyncSender<Page>,
}

/// Replays the store merging the feeds by (time, id), which is close to the linear order: the
/// projector then folds almost every event on its incremental path instead of parking it until a
/// dependency from a feed read later arrives.
///
/// Reading a page (the redb lookups, parsing each note, its BLAKE3 id check and the chain check)
/// costs about as much as folding it, so reader threads read and decode the next pages of every
/// feed while this thread merges and folds: start-up takes the longer of the two, not their sum.
/// Memory: at most [`REPLAY_PAGES_AHEAD`] + 1 pages per feed.
/// Each feed is read from its seq in `from_seq` (1 for a feed not named there): after a
/// snapshot, only the events after its heads.
fn replay_in_time_order(
    store: &dyn EventStore,
    state: &mut State,
    from_seq: &BTreeMap<OrgSlug, u64>,
) -> Result<u64, NodeError> {
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, VecDeque};
    use std::sync::mpsc;

    struct Cursor {
        org: OrgSlug,
        /// The first seq not yet asked of a reader.
        next_request: u64,
        head_seq: u64,
        /// Pages asked for, in seq order: the first seq, and where the answer arrives.
        in_flight: VecDeque<(u64, mpsc::Receiver<Page>)>,
        page: VecDeque<SignedEvent>,
    }

    impl Cursor {
        fn request(&mut self, requests: &mpsc::Sender<PageRequest>) -> Result<(), NodeError> {
            while self.in_flight.len() < REPLAY_PAGES_AHEAD && self.next_request <= self.head_seq {
                let (reply, answer) = mpsc::sync_channel(1);
                let request = PageRequest { org: self.org.clone(), from_seq: self.next_request, reply };
                requests.send(request).map_err(|_| reader_stopped())?;
                self.in_flight.push_back((self.next_request, answer));
                self.next_request += REPLAY_PAGE_EVENTS as u64;
            }
            Ok(())
        }

        fn refill(&mut self, requests: &mpsc::Sender<PageRequest>) -> Result<(), NodeError> {
            if !self.page.is_empty() {
                return Ok(());
            }
            let Some((from_seq, answer)) = self.in_flight.pop_front() else { return Ok(()) };
            let page = answer.recv().map_err(|_| reader_stopped())??;
            let expected = (self.head_seq - from_seq + 1).min(REPLAY_PAGE_EVENTS as u64);
            if page.len() as u64 != expected {
                // The head says there is more; the store must not go quiet before it.
                return Err(NodeError::Inconsistent(format!(
                    "the store's head of {} is seq {} but reading from seq {from_seq} gave {} events where {expected} \
                     were expected",
                    self.org,
                    self.head_seq,
                    page.len()
                )));
            }
            self.page.extend(page);
            self.request(requests)
        }
    }

    fn reader_stopped() -> NodeError {
        NodeError::Inconsistent("a thread reading the store during start-up stopped".into())
    }

    let readers = std::thread::available_parallelism().map_or(1, |count| count.get()).clamp(1, REPLAY_THREADS_MAX);
    let heads = store.heads()?;
    let (requests, request_queue) = mpsc::channel::<PageRequest>();
    let request_queue = Mutex::new(request_queue);
    std::thread::scope(|scope| {
        for _ in 0..readers {
            let request_queue = &request_queue;
            scope.spawn(move || {
                loop {
                    // The lock is held only while waiting for the next request.
                    let request = match request_queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok(PageRequest { org, from_seq, reply }) = request else { return };
                    // A dropped answer means the merge stopped early: nothing to do.
                    let _ = reply.send(store.read_feed(&org, from_seq, REPLAY_PAGE_EVENTS));
                }
            });
        }
        // Moved in so that it is dropped when the merge ends, however it ends: that stops the
        // readers before the scope waits for them.
        let requests = requests;
        let mut cursors: Vec<Cursor> = heads
            .into_iter()
            .map(|(org, (head_seq, _))| Cursor {
                next_request: from_seq.get(&org).copied().unwrap_or(1),
                org,
                head_seq,
                in_flight: VecDeque::new(),
                page: VecDeque::new(),
            })
            .collect();
        for cursor in &mut cursors {
            cursor.request(&requests)?;
        }
        let mut queue = BinaryHeap::new();
        for (index, cursor) in cursors.iter_mut().enumerate() {
            cursor.refill(&requests)?;
            if let Some(event) = cursor.page.front() {
                queue.push(Reverse((event.event().time, event.id(), index)));
            }
        }
        let mut replayed = 0u64;
        while let Some(Reverse((_, _, index))) = queue.pop() {
            let cursor = &mut cursors[index];
            let Some(event) = cursor.page.pop_front() else { continue };
            replay(state, event)?;
            replayed += 1;
            cursor.refill(&requests)?;
            if let Some(next) = cursor.page.front() {
                queue.push(Reverse((next.event().time, next.id(), index)));
            }
        }
        Ok(replayed)
    })
}

/// Places an event read back from the store.
fn replay(state: &mut State, event: SignedEvent) -> Result<(), NodeError> {
    let id = event.id();
    for outcome in state.verifier.accept_trusted(0, event) {
        match outcome {
            Outcome::Accepted { event, .. } => state.project(*event)?,
            Outcome::Frozen { event, .. } => insert_projection(&mut state.projector, *event)?,
            Outcome::Rejected { reason, id: rejected, .. } => {
                return Err(NodeError::Tampered { id: rejected.unwrap_or(id), reason: reason.to_string() });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Applies our own durable event to the verifier and the projection.
fn apply(state: &mut State, event: SignedEvent, version: &AtomicU64) {
    let id = event.id();
    for outcome in state.verifier.accept_trusted(0, event) {
        match outcome {
            Outcome::Accepted { event, .. } => {
                if let Err(error) = state.project(*event) {
                    tracing::error!(%id, %error, "the projector refused our own event");
                }
                version.fetch_add(1, Ordering::AcqRel);
            }
            Outcome::Rejected { reason, .. } => tracing::error!(%id, %reason, "our own event did not verify"),
            _ => {}
        }
    }
}
