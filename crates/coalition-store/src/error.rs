//! The store's one error type: what went wrong, in words a node operator can act on, with the
//! file named whenever the disk is involved.

use std::path::PathBuf;
use std::sync::Arc;

use coalition_core::event::{EventId, LedgerId, OrgSlug};

/// Why a store operation failed. Cloneable, so that one failed group commit can answer every
/// request that was in it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing the file failed.
    #[error("I/O error on {file} while {action}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// What the store was doing.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The disk (or the process's file-size limit) is full. Nothing of the refused request was
    /// stored; everything acknowledged before is intact.
    #[error(
        "no space left to write {file} while {action} ({source}): the request was refused and nothing of it was \
         stored; free space, then close and reopen the store"
    )]
    DiskFull {
        /// The file.
        file: PathBuf,
        /// What the store was doing.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// An earlier write to the file failed (for example the disk was full); the database library
    /// refuses further writes until the store is closed and reopened.
    #[error(
        "an earlier write to {file} failed, so the store accepts no more writes: close and reopen it (opening \
         checks the file)"
    )]
    NeedsReopen {
        /// The file.
        file: PathBuf,
    },
    /// The database library reported an error that is neither I/O nor corruption.
    #[error("database error on {file} while {action}: {detail}")]
    Database {
        /// The file.
        file: PathBuf,
        /// What the store was doing.
        action: &'static str,
        /// The library's message.
        detail: String,
    },
    /// The file's content is damaged: a page checksum failed, an event's bytes do not hash to the
    /// id they are stored under, a feed's chain is broken, a record cannot be decoded.
    #[error(
        "the event store {file} is damaged: {detail}. Nothing was repaired or dropped; restore the file from a \
         backup or re-replicate it from the other members"
    )]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// What is wrong, and where.
        detail: String,
    },
    /// The file is a readable database, but not a coalition-ledger event store.
    #[error("{file} is not a coalition-ledger event store: {detail}")]
    NotAStore {
        /// The file.
        file: PathBuf,
        /// What was found instead.
        detail: String,
    },
    /// The store holds another ledger's events.
    #[error("{file} is the event store of ledger {found}, not of this ledger ({expected}): check the data directory")]
    WrongLedger {
        /// The file.
        file: PathBuf,
        /// The ledger the node runs.
        expected: LedgerId,
        /// The ledger the file belongs to.
        found: LedgerId,
    },
    /// The store was written with a layout version this program does not read.
    #[error("{file} has store layout version {found}, this program reads version {supported}")]
    SchemaVersion {
        /// The file.
        file: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this program reads.
        supported: u32,
    },
    /// Another process (or another handle in this one) has the store open.
    #[error("{file} is already open in another process or handle: run one node per data directory")]
    AlreadyOpen {
        /// The file.
        file: PathBuf,
    },
    /// An event with the same org and seq but a different id is already stored: storing this
    /// one would make the feed a fork. Nothing of the batch was stored.
    #[error(
        "refused: {org} seq {seq} is already stored as event {stored}, and event {offered} claims the same place \
         (a fork is evidence, not feed content); nothing of the batch was stored"
    )]
    Conflict {
        /// The organisation.
        org: OrgSlug,
        /// The contested seq.
        seq: u64,
        /// The id stored at that place.
        stored: EventId,
        /// The id offered for it.
        offered: EventId,
    },
    /// The event's `prev` is not the id of its feed's head. Nothing of the batch was stored.
    #[error(
        "refused: {org} seq {seq} names prev {found_prev:?}, but the feed's event at seq {prev_seq} is \
         {expected_prev:?}; nothing of the batch was stored",
        prev_seq = seq.saturating_sub(1)
    )]
    ChainBreak {
        /// The organisation.
        org: OrgSlug,
        /// The event's seq.
        seq: u64,
        /// The id of the feed's head (`None` for an empty feed).
        expected_prev: Option<EventId>,
        /// The id the event names as prev.
        found_prev: Option<EventId>,
    },
    /// The event does not follow its feed's head. Nothing of the batch was stored.
    #[error(
        "refused: {org} seq {found} does not follow the stored head (next is seq {expected}); nothing of the batch was stored"
    )]
    SeqGap {
        /// The organisation.
        org: OrgSlug,
        /// The seq that would extend the feed.
        expected: u64,
        /// The seq offered.
        found: u64,
    },
    /// The event names another ledger than the store's. Nothing of the batch was stored.
    #[error("refused: {org} seq {seq} is an event of ledger {found}, this store holds ledger {expected}")]
    ForeignEvent {
        /// The organisation.
        org: OrgSlug,
        /// The event's seq.
        seq: u64,
        /// The store's ledger.
        expected: LedgerId,
        /// The event's ledger.
        found: LedgerId,
    },
    /// More events in one append than [`crate::limits::APPEND_BATCH_EVENTS_MAX`].
    #[error("refused: a batch of {count} events is more than the limit of {max}")]
    BatchTooLarge {
        /// Events offered.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The two notes offered as a fork proof do not prove a fork.
    #[error("refused fork proof for {org} seq {seq}: {detail}")]
    InvalidForkProof {
        /// The organisation named.
        org: OrgSlug,
        /// The seq named.
        seq: u64,
        /// Why it proves nothing.
        detail: String,
    },
    /// A private record's id or size breaks the rules of [`crate::check_private_record`].
    #[error("refused private record: {detail}")]
    PrivateRecordRefused {
        /// Which rule, in plain words.
        detail: String,
    },
    /// An outbox cursor may only move forward.
    #[error("refused: the published cursor of {org} is at seq {stored} and may not move back to {offered}")]
    CursorBackwards {
        /// The organisation.
        org: OrgSlug,
        /// The stored cursor.
        stored: u64,
        /// The seq offered.
        offered: u64,
    },
    /// An outbox cursor may not pass the stored head: only durable events are published.
    #[error("refused: the published cursor of {org} cannot move to seq {offered}, the stored feed ends at seq {head}")]
    CursorAhead {
        /// The organisation.
        org: OrgSlug,
        /// The seq offered.
        offered: u64,
        /// The stored head seq.
        head: u64,
    },
    /// The [`crate::GroupCommitter`]'s thread could not be started.
    #[error("could not start the group committer thread: {0}")]
    Spawn(#[source] Arc<std::io::Error>),
    /// The [`crate::GroupCommitter`]'s thread has stopped; nothing more is committed through it.
    #[error("the group committer has stopped (the node is shutting down, or its thread panicked)")]
    CommitterStopped,
    /// A place reserved in the [`crate::GroupCommitter`]'s queue was given up before an event
    /// was put in it (signing failed): nothing was stored for it.
    #[error("the event was not signed, so nothing was stored for it")]
    NotSigned,
}

impl StoreError {
    /// Whether the error refuses the offered input (a fork, a chain break, a gap, a foreign event,
    /// an oversized batch) rather than reporting a failure of the store: retrying the same input
    /// gives the same answer, and the store is unharmed.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            StoreError::Conflict { .. }
                | StoreError::ChainBreak { .. }
                | StoreError::SeqGap { .. }
                | StoreError::ForeignEvent { .. }
                | StoreError::BatchTooLarge { .. }
                | StoreError::InvalidForkProof { .. }
                | StoreError::CursorBackwards { .. }
                | StoreError::CursorAhead { .. }
        )
    }

    /// An I/O error, classified: a full disk (or file-size limit) becomes [`StoreError::DiskFull`].
    pub(crate) fn io(file: &std::path::Path, action: &'static str, source: std::io::Error) -> Self {
        let full = matches!(source.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::FileTooLarge)
            || matches!(source.raw_os_error(), Some(ENOSPC | EFBIG | EDQUOT));
        if full {
            StoreError::DiskFull { file: file.to_path_buf(), action, source: Arc::new(source) }
        } else {
            StoreError::Io { file: file.to_path_buf(), action, source: Arc::new(source) }
        }
    }

    /// The file an error is about, when it is about one.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            StoreError::Io { file, .. }
            | StoreError::DiskFull { file, .. }
            | StoreError::NeedsReopen { file }
            | StoreError::Database { file, .. }
            | StoreError::Corrupt { file, .. }
            | StoreError::NotAStore { file, .. }
            | StoreError::WrongLedger { file, .. }
            | StoreError::SchemaVersion { file, .. }
            | StoreError::AlreadyOpen { file } => Some(file),
            _ => None,
        }
    }
}

/// Linux's "no space left on device".
const ENOSPC: i32 = 28;
/// Linux's "file too large" (the process's RLIMIT_FSIZE).
const EFBIG: i32 = 27;
/// Linux's "disk quota exceeded".
const EDQUOT: i32 = 122;
