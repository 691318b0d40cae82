//! The durable event store of a coalition-ledger node: the only crate that puts events on disk.
//!
//! A node keeps, in one file of its data directory, its own feed and a verified replica of every
//! other member's feed, the fork proofs it has learnt, the notes it quarantined, and how far it
//! has published each feed. [`EventStore`] is the small synchronous interface to all of it
//! (the node calls it from a blocking thread); [`RedbStore`] keeps it durably in one redb file,
//! [`MemoryStore`] in memory for tests, and one conformance suite runs against both.
//! [`GroupCommitter`] turns many concurrent single-event appends into few durable commits.
//!
//! # Rules the store keeps
//!
//! - **Feeds only grow, and never fork.** An append stores an event only if it extends its feed
//!   (seq = head + 1, prev = head id). An event already stored is a duplicate (idempotent); another
//!   event at a stored (org, seq) is refused with [`StoreError::Conflict`]: a fork is evidence,
//!   kept with [`EventStore::put_fork_proof`], never feed content. One refused event refuses its
//!   whole batch: nothing partial is stored.
//! - **Durable before visible.** When `append` returns `Ok`, the batch is on disk (redb's
//!   `Durability::Immediate`, one-phase commit with checksums, see below; [`MemoryStore`] is of
//!   course not durable);
//!   no reader sees it before that. Appends are serialised (one write transaction at a time);
//!   reads run concurrently on consistent snapshots. A node that crashes continues from what is
//!   durable, so it never signs a second event for a seq it had already published.
//! - **Checked on the way out.** Every event read back is parsed from its stored note, must hash
//!   to the id it is stored under and sit at the org and seq it claims, and feed reads check the
//!   chain (consecutive seqs, prev = id of the event before). A mismatch is
//!   [`StoreError::Corrupt`] naming the file: never a silently skipped record. Signatures are the
//!   verifier's job (`coalition_core::verify`); the store checks integrity.
//! - **Nothing is deleted.** No method removes an event, a fork proof or a quarantine record.
//!
//! # Why redb
//!
//! The issue allowed redb, fjall or our own checksummed segment files. redb keeps everything in
//! one file (a data directory an operator can back up and move by copying one file), is an ACID
//! copy-on-write B-tree with checksummed pages and simple durability semantics (a commit with
//! `Durability::Immediate` is durable when it returns), runs no background threads, and checks
//! a file's integrity on open. fjall (an LSM tree) is faster per single write but spreads data
//! over many files and compacts in background threads, which makes "what is durable after a
//! crash" harder to state and to test. Our own segment files would be the fastest to append to,
//! but we would have to write, and test, crash recovery, torn-write detection and indexes
//! ourselves. Single-event commits are redb's weak point (one fsync each: 5 k/s on this kind of
//! machine when its disk is quiet, a few hundred per second when the disk is shared and busy);
//! [`GroupCommitter`] batches concurrent appends into one commit, which is what makes many
//! writers fast (`examples/bench.rs` prints both beside raw redb commit rates).
//!
//! # One-phase commit, and what it guarantees
//!
//! Commits use redb's one-phase commit (its default) with `Durability::Immediate`. redb documents
//! it as: write the new state and its commit slot with checksums (xxhash, recursively over the
//! tree), flip the primary bit to that slot, then one `fsync`; after a crash, the newer of the two
//! commit slots whose checksums verify is used. Two-phase commit adds an `fsync` before the flip,
//! so that the primary slot is always complete and recovery need not choose by checksum.
//!
//! What the node needs is "an acknowledged event is durable, and after a crash the node continues
//! from what is durable, so it never forks its own feed". One-phase commit keeps it:
//!
//! - `append` returns only after the commit's `fsync` returned: the batch and its slot are on
//!   disk with valid checksums.
//! - The next commit writes the *other* slot and new pages: redb's design document states that
//!   committed pages are never modified in place and are freed only once no older transaction
//!   can need them. A crash while the next commit is written leaves the acknowledged commit
//!   intact; recovery checks the newer slot's transaction id and checksums and lands either on
//!   the acknowledged commit or on the new one if it reached the disk whole (its events, never
//!   acknowledged, are then durable after all: the node continues after them, as after any
//!   commit).
//! - Whatever recovery lands on, the node takes its own feed's head from the store at start, so
//!   the next seq it signs follows what is durable: never a second event at a durable seq.
//!
//! What one-phase commit gives up, per redb's documentation: (1) an attacker who controls the
//! order in which the disk writes pages, can crash the process at will and can put chosen bytes
//! into a commit could make a torn commit pass xxhash; such an attacker controls the node's
//! machine (and its signing key) already, and the events themselves are protected by their BLAKE3
//! ids and chains, checked on every read, which an xxhash collision does not pass. (2) If the
//! disk later damages the newest commit *and* the node then crashes, recovery may fall back to
//! the commit before it instead of refusing to open, losing the newest batch; two-phase commit
//! would report it. Disks that lie about `fsync` defeat both modes (redb says so for two-phase
//! too). We accept (2) as a media failure that backups and replication (every acknowledged own
//! event goes to the stream, whose expected-sequence check refuses a second event at a published
//! seq) must cover, because of what it buys:
//!
//! Measured (`coalition bench append`, 2 shared cores): one event per commit, one-phase
//! 1,305 against two-phase 230 commits/s in one run, 275 against 147 in another; batches of 64
//! events about twice as fast. Group commit with 64 writers is bounded by 64 events per commit
//! latency, so two-phase commit caps it below the 10,000 acknowledged appends/s the node must
//! reach. [`OpenOptions::two_phase_commit`] turns two-phase commit back on (for measurements, or
//! for an operator who prefers the stricter recovery at a quarter of the write rate).

//! # Start-up and trust
//!
//! A node replays its store at start with [`EventStore::for_each_event`]. Every event handed out
//! is re-parsed from its stored note and must hash (BLAKE3) to its id: the id is the event's own
//! checksum. The walk also checks every chain (consecutive seqs, prev = id before), that each
//! feed ends at its recorded head, and that it met as many events as are stored, so a damaged,
//! reordered or lost event, a lost feed tail or a stray record is [`StoreError::Corrupt`], never
//! skipped. What the replay does not repeat is signature verification: every stored event was
//! verified before it was appended, and the id checks show the bytes are the ones that were
//! verified. Skipping the signatures (about 60 µs an event) is what lets a node start with a
//! million events in seconds. Reading and parsing run on all cores, and memory stays bounded
//! (the file's page cache is [`limits::STORE_CACHE_BYTES`], at most a few chunks of
//! [`limits::REPLAY_CHUNK_EVENTS`] are in flight).
//!
//! Opening checks, by default, the checksum of every page of the file (redb's integrity check,
//! which also rebuilds its free-page state from the tree rather than trusting it), then that the
//! file is an event store of this ledger and of this layout version. Measured with 1,000,000
//! events (a 2.2 GB file, 2 shared cores): open 3.0 s and replay 9.2 s. A node that wants to be
//! up faster can open with [`OpenOptions::check_pages`] off (replay alone: 8.8 s): it then
//! trusts the free-page state redb saved at the last clean shutdown (after a crash redb checks
//! the pages anyway), while the per-event checks above still run on every read. An operator who
//! doubts the file runs [`EventStore::verify_integrity`] (which also checks the id index), and
//! `coalition verify` on an exported bundle re-checks every signature.

mod batch;
mod codec;
mod committer;
pub mod error;
pub mod limits;
mod memory;
mod redb_store;
mod replay;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::ControlFlow;

use coalition_core::event::{EventId, LedgerId, OrgSlug, SignedEvent};

pub use committer::{Abandoned, DurableHook, GroupCommitter, PendingAppend, Reservation};
pub use error::StoreError;
pub use memory::MemoryStore;
pub use redb_store::{OpenOptions, RedbStore};

/// The head of a feed: the seq and id of its last stored event.
pub type Head = (u64, EventId);

/// What became of one event of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored: it extended its feed.
    Stored,
    /// Already stored (or earlier in the same batch): skipped.
    Duplicate,
}

/// The outcome of a successful [`EventStore::append`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppendReport {
    /// One outcome per offered event, in batch order.
    pub outcomes: Vec<Appended>,
}

impl AppendReport {
    /// How many events were stored.
    pub fn stored(&self) -> usize {
        self.outcomes.iter().filter(|outcome| **outcome == Appended::Stored).count()
    }

    /// How many events were duplicates.
    pub fn duplicates(&self) -> usize {
        self.outcomes.iter().filter(|outcome| **outcome == Appended::Duplicate).count()
    }
}

/// Two events of one organisation at one seq: the evidence of a fork, kept forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkProof {
    /// The equivocating organisation.
    pub org: OrgSlug,
    /// The seq both events claim.
    pub seq: u64,
    /// The event learnt first.
    pub first: SignedEvent,
    /// The conflicting event.
    pub second: SignedEvent,
}

/// The number of a quarantine record, in the order they were stored (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuarantineId(pub u64);

impl fmt::Display for QuarantineId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "q{}", self.0)
    }
}

/// Input a node refused (from replication), kept with the reason for an operator to inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedNote {
    /// Its record number.
    pub id: QuarantineId,
    /// When it was received (Unix seconds, the node's clock).
    pub received_at_unix_s: i64,
    /// Why it was refused (cut to [`limits::QUARANTINE_REASON_BYTES_MAX`]).
    pub reason: String,
    /// Length of the input as received.
    pub original_len: u64,
    /// BLAKE3 of the input as received, whole.
    pub blake3: [u8; 32],
    /// The input, whole when at most [`limits::QUARANTINE_KEPT_BYTES_MAX`] bytes, otherwise its
    /// first [`limits::QUARANTINE_PREFIX_BYTES`].
    pub kept: Vec<u8>,
}

impl QuarantinedNote {
    /// Whether [`Self::kept`] is the whole input.
    pub fn is_whole(&self) -> bool {
        self.kept.len() as u64 == self.original_len
    }
}

/// What [`EventStore::verify_integrity`] walked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IntegrityReport {
    /// Events checked (id, place, chain, index).
    pub events: u64,
    /// Feeds checked.
    pub feeds: u64,
    /// Fork proofs checked.
    pub fork_proofs: u64,
    /// Quarantine records checked.
    pub quarantined: u64,
}

/// A space of private records kept beside the feeds but never in one: ciphertexts that may be
/// deleted for good (a feed never forgets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum PrivateSpace {
    /// Sealed key grants (age files), by data key id: destroying them shreds the sealed records
    /// their keys open.
    KeyGrants,
    /// Sealed reports from the public form (age files), by report id: the members' inbox.
    Reports,
}

impl PrivateSpace {
    /// The space's name in the store and in messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::KeyGrants => "key_grants",
            Self::Reports => "reports",
        }
    }
}

/// Checks a private record's id and size against [`limits::PRIVATE_ID_BYTES_MAX`] and
/// [`limits::PRIVATE_RECORD_BYTES_MAX`]: ids are 1 to 64 bytes of lowercase letters, digits
/// and `-`.
pub fn check_private_record(id: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let id_ok = !id.is_empty()
        && id.len() <= limits::PRIVATE_ID_BYTES_MAX
        && id.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if !id_ok {
        return Err(StoreError::PrivateRecordRefused {
            detail: format!(
                "a private record id is 1 to {} bytes of lowercase letters, digits and -",
                limits::PRIVATE_ID_BYTES_MAX
            ),
        });
    }
    if bytes.len() > limits::PRIVATE_RECORD_BYTES_MAX {
        return Err(StoreError::PrivateRecordRefused {
            detail: format!(
                "a private record is {} bytes; at most {} are allowed",
                bytes.len(),
                limits::PRIVATE_RECORD_BYTES_MAX
            ),
        });
    }
    Ok(())
}

/// A ledger's event store: its feeds, fork proofs, quarantined input and outbox cursors. See the
/// crate documentation for the rules every implementation keeps.
pub trait EventStore: Send + Sync {
    /// The ledger this store belongs to.
    fn ledger_id(&self) -> LedgerId;

    /// Stores a batch in one atomic, durable commit. Each event must extend its feed, in batch
    /// order (several events of one feed are fine); an event already stored is skipped and
    /// reported as [`Appended::Duplicate`]. A conflict, chain break, gap or foreign event refuses
    /// the whole batch. When this returns `Ok`, the batch is durable.
    fn append(&self, events: &[SignedEvent]) -> Result<AppendReport, StoreError>;

    /// The head of `org`'s feed, `None` while it is empty.
    fn head(&self, org: &OrgSlug) -> Result<Option<Head>, StoreError>;

    /// The head of every non-empty feed.
    fn heads(&self) -> Result<BTreeMap<OrgSlug, Head>, StoreError>;

    /// The stored event with this id, checked.
    fn get(&self, id: &EventId) -> Result<Option<SignedEvent>, StoreError>;

    /// Up to `limit` events of `org`'s feed from `from_seq` on (seq 0 reads from 1), in seq order,
    /// checked including the chain to the event before `from_seq`. At most
    /// [`limits::READ_FEED_EVENTS_MAX`] events are returned, whatever the limit.
    fn read_feed(&self, org: &OrgSlug, from_seq: u64, limit: usize) -> Result<Vec<SignedEvent>, StoreError>;

    /// How many events are stored.
    fn event_count(&self) -> Result<u64, StoreError>;

    /// Hands every stored event to `visitor`, feed by feed (feeds in slug order), each feed in seq
    /// order, checked including the chain; stops early when the visitor breaks. Streams: memory
    /// does not grow with the store. Returns how many events were handed out. Events appended
    /// while it runs may or may not be visited (it reads one consistent snapshot).
    fn for_each_event(&self, visitor: &mut dyn FnMut(SignedEvent) -> ControlFlow<()>) -> Result<u64, StoreError>;

    /// Keeps the evidence of a fork of `org` at `seq`: two different events that both claim it.
    /// Returns `false` if a proof for that place was already kept (the first is kept).
    fn put_fork_proof(&self, org: &OrgSlug, seq: u64, first_note: &str, second_note: &str) -> Result<bool, StoreError>;

    /// Every kept fork proof, by org and seq.
    fn fork_proofs(&self) -> Result<Vec<ForkProof>, StoreError>;

    /// Keeps input the node refused, whatever its bytes, with the reason and receive time. An
    /// input over [`limits::QUARANTINE_KEPT_BYTES_MAX`] keeps its prefix, length and BLAKE3 only.
    fn quarantine(&self, note_bytes: &[u8], reason: &str, received_at_unix_s: i64) -> Result<QuarantineId, StoreError>;

    /// Up to `limit` quarantine records from record `from` on, oldest first (at most
    /// [`limits::QUARANTINE_PAGE_MAX`]).
    fn quarantined(&self, from: QuarantineId, limit: usize) -> Result<Vec<QuarantinedNote>, StoreError>;

    /// How many quarantine records are kept.
    fn quarantine_count(&self) -> Result<u64, StoreError>;

    /// How far `org`'s feed has been published (0: nothing yet).
    fn published_seq(&self, org: &OrgSlug) -> Result<u64, StoreError>;

    /// Records that `org`'s feed is published up to `seq`. Refused if it would move back or
    /// beyond the stored head; setting the current value again is fine.
    fn set_published_seq(&self, org: &OrgSlug, seq: u64) -> Result<(), StoreError>;

    /// Walks the whole store and checks it: every event's id, place and chain, the id index and
    /// the feed heads against the events, every fork proof and quarantine record, and the
    /// published cursors against the heads. Calls `progress` with the number of events checked so
    /// far every [`limits::INTEGRITY_PROGRESS_EVERY`] events. What `coalition node` can run at
    /// start, or an operator as a file-system check.
    fn verify_integrity(&self, progress: &mut dyn FnMut(u64)) -> Result<IntegrityReport, StoreError>;

    /// Keeps a private record (always a ciphertext: the store never sees clear private data),
    /// durably. Returns `false` if a record with this id was already kept (the first is kept).
    /// See [`check_private_record`] for the id and size rules.
    fn put_private(&self, space: PrivateSpace, id: &str, bytes: &[u8]) -> Result<bool, StoreError>;

    /// The private record with this id.
    fn get_private(&self, space: PrivateSpace, id: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Deletes a private record, durably. Returns whether it was there.
    fn delete_private(&self, space: PrivateSpace, id: &str) -> Result<bool, StoreError>;

    /// Up to `limit` private record ids of a space after `after` (from the first when `None`),
    /// in id order, at most [`limits::PRIVATE_PAGE_MAX`].
    fn private_ids(&self, space: PrivateSpace, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError>;
}
