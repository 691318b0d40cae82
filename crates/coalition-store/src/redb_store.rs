//! [`RedbStore`]: the durable event store, one redb file (`events.redb`) in the node's data
//! directory. This module owns the on-disk layout, opening (and refusing) files, and mapping the
//! database library's errors to [`StoreError`]s that name the file.
//!
//! # Layout (schema version [`SCHEMA_VERSION`])
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `meta` | `&str`: `format`, `schema_version`, `ledger_id` | `&[u8]`: [`FORMAT_TAG`], u32 little-endian, 32-byte ledger id |
//! | `events` | `(&str, u64)`: org slug, seq | `&[u8]`: 32-byte event id, then the exact signed note bytes |
//! | `event_ids` | `[u8; 32]`: event id | `(&str, u64)`: where the event is stored |
//! | `feed_heads` | `&str`: org slug | `(u64, [u8; 32])`: head seq and id |
//! | `fork_proofs` | `(&str, u64)`: org slug, seq | `&[u8]`: first note's length (u32 LE), first note, second note |
//! | `quarantine` | `u64`: record number, from 1 | `&[u8]`: received-at i64, length u64, BLAKE3, reason length u16 (all LE), reason, kept bytes |
//! | `published` | `&str`: org slug | `u64`: seq published up to |
//! | `private` | `(&str, &str)`: space, record id | `&[u8]`: the sealed record (ciphertext only) |
//!
//! `events` is the truth; `event_ids` and `feed_heads` are indexes written in the same
//! transaction and checked against it by [`EventStore::verify_integrity`]. Keys order feeds by
//! slug bytes, then seq, so a range scan is a feed in order.
//!
//! # Creating, opening, refusing
//!
//! A new store is written to `events.redb.creating` with its metadata and empty tables, committed,
//! then renamed into place and the directory synced: an `events.redb` that exists is always a
//! complete store, so an empty or short one is damage, reported, never re-initialised. Opening
//! checks every page checksum (unless [`OpenOptions::check_pages`] is off), then the format tag,
//! the layout version, the ledger id and the tables. A panic inside the database library while
//! reading a damaged file is caught and reported as [`StoreError::Corrupt`].

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use coalition_core::event::{EventId, LedgerId, OrgSlug, SignedEvent};
use redb::{
    CommitError, Database, DatabaseError, Durability, ReadTransaction, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, StorageError, TableDefinition, TableError, TransactionError, WriteTransaction,
};

use crate::batch::{self, StoredFeeds};
use crate::codec::{self, ChainCheck};
use crate::error::StoreError;
use crate::limits::PRIVATE_PAGE_MAX;
use crate::limits::{
    INTEGRITY_PROGRESS_EVERY, QUARANTINE_PAGE_MAX, READ_FEED_EVENTS_MAX, SCHEMA_VERSION, STORE_CACHE_BYTES,
    STORE_FILE_NAME,
};
use crate::memory::check_cursor;
use crate::replay::{Job, jobs, replay};
use crate::{
    AppendReport, Appended, EventStore, ForkProof, Head, IntegrityReport, PrivateSpace, QuarantineId, QuarantinedNote,
    check_private_record,
};

/// The `format` value in the `meta` table: tells an event store from any other redb file.
pub const FORMAT_TAG: &[u8] = b"coalition-ledger/event-store";

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const EVENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("events");
const EVENT_IDS: TableDefinition<[u8; 32], (&str, u64)> = TableDefinition::new("event_ids");
const FEED_HEADS: TableDefinition<&str, (u64, [u8; 32])> = TableDefinition::new("feed_heads");
const FORK_PROOFS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("fork_proofs");
const QUARANTINE: TableDefinition<u64, &[u8]> = TableDefinition::new("quarantine");
const PUBLISHED: TableDefinition<&str, u64> = TableDefinition::new("published");
/// Added after layout version 1 without a version change: a store without it has no private
/// records, and the first write creates it.
const PRIVATE: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("private");

const META_FORMAT: &str = "format";
const META_SCHEMA_VERSION: &str = "schema_version";
const META_LEDGER_ID: &str = "ledger_id";

/// Whether commits use redb's two-phase commit unless [`OpenOptions::two_phase_commit`] says
/// otherwise: see the crate documentation for the measurements and the reasoning.
const DEFAULT_TWO_PHASE_COMMIT: bool = false;

/// Suffix of the file a new store is built in before it is renamed into place.
const CREATING_SUFFIX: &str = ".creating";

/// How to open a [`RedbStore`].
#[derive(Debug, Clone)]
pub struct OpenOptions {
    check_pages: bool,
    two_phase_commit: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// The defaults: check every page checksum on open.
    pub fn new() -> Self {
        Self { check_pages: true, two_phase_commit: DEFAULT_TWO_PHASE_COMMIT }
    }

    /// Whether opening verifies the checksum of every page of the file and rebuilds redb's
    /// free-page state from the tree (default: yes; about one read of the file, 3 s for a 2.2 GB
    /// store here). Off, a file that was closed cleanly is trusted as redb left it (one that a
    /// crash interrupted is still checked and recovered by redb); damage to an event is then
    /// found when it is read, as [`StoreError::Corrupt`], rather than at open.
    pub fn check_pages(&mut self, check: bool) -> &mut Self {
        self.check_pages = check;
        self
    }

    /// Whether durable commits use redb's two-phase commit (two `fsync`s each) rather than its
    /// one-phase commit with checksums (one `fsync`); see the crate documentation for what each
    /// guarantees after a crash and why the default is what it is. Only commits made through
    /// this handle are affected.
    pub fn two_phase_commit(&mut self, enabled: bool) -> &mut Self {
        self.two_phase_commit = enabled;
        self
    }

    /// Opens the store in `data_dir` (its file is [`STORE_FILE_NAME`]) for `ledger`, creating the
    /// directory and an empty store if there is none.
    pub fn open(&self, data_dir: &Path, ledger: LedgerId) -> Result<RedbStore, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|error| StoreError::io(data_dir, "creating the data directory", error))?;
        let file = data_dir.join(STORE_FILE_NAME);
        match std::fs::metadata(&file) {
            Ok(metadata) if metadata.len() == 0 => {
                return Err(StoreError::Corrupt {
                    file,
                    detail: "the file is empty (0 bytes), so it was truncated or overwritten".to_owned(),
                });
            }
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => create_new(data_dir, &file, ledger)?,
            Err(error) => return Err(StoreError::io(&file, "reading the file's metadata", error)),
        }
        let db = guard(&file, "opening", || {
            let mut builder = Database::builder();
            builder.set_cache_size(STORE_CACHE_BYTES).set_check_integrity_on_open(self.check_pages);
            builder.open(&file).map_err(|error| database_error(&file, "opening", error))
        })?;
        let store = RedbStore { db, file, ledger, two_phase_commit: self.two_phase_commit };
        guard(&store.file, "opening", || store.check_meta())?;
        Ok(store)
    }
}

/// Builds a complete empty store beside `file`, then renames it into place.
fn create_new(data_dir: &Path, file: &Path, ledger: LedgerId) -> Result<(), StoreError> {
    let mut creating = file.as_os_str().to_owned();
    creating.push(CREATING_SUFFIX);
    let creating = PathBuf::from(creating);
    match std::fs::remove_file(&creating) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(StoreError::io(&creating, "removing an unfinished new store", error)),
    }
    let db = Database::builder()
        .set_cache_size(STORE_CACHE_BYTES)
        .create(&creating)
        .map_err(|error| database_error(&creating, "creating", error))?;
    let txn = begin_write(&db, &creating, "creating", true)?;
    {
        let table_error = |error| table_error(&creating, "creating", error);
        let storage_error = |error| storage_error(&creating, "creating", error);
        let mut meta = txn.open_table(META).map_err(table_error)?;
        meta.insert(META_FORMAT, FORMAT_TAG).map_err(storage_error)?;
        meta.insert(META_SCHEMA_VERSION, SCHEMA_VERSION.to_le_bytes().as_slice()).map_err(storage_error)?;
        meta.insert(META_LEDGER_ID, ledger.as_bytes().as_slice()).map_err(storage_error)?;
        txn.open_table(EVENTS).map_err(table_error)?;
        txn.open_table(EVENT_IDS).map_err(table_error)?;
        txn.open_table(FEED_HEADS).map_err(table_error)?;
        txn.open_table(FORK_PROOFS).map_err(table_error)?;
        txn.open_table(QUARANTINE).map_err(table_error)?;
        txn.open_table(PUBLISHED).map_err(table_error)?;
        txn.open_table(PRIVATE).map_err(table_error)?;
    }
    txn.commit().map_err(|error| commit_error(&creating, "creating", error))?;
    db.close().map_err(|error| database_error(&creating, "creating", error))?;
    std::fs::rename(&creating, file).map_err(|error| StoreError::io(file, "moving the new store into place", error))?;
    std::fs::File::open(data_dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|error| StoreError::io(data_dir, "syncing the data directory", error))
}

/// Runs `work`, turning a panic of the database library (on a damaged file) into an error.
fn guard<T>(file: &Path, action: &'static str, work: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            Err(StoreError::Corrupt {
                file: file.to_path_buf(),
                detail: format!("the database library failed while {action} ({message})"),
            })
        }
    }
}

fn storage_error(file: &Path, action: &'static str, error: StorageError) -> StoreError {
    match error {
        StorageError::Corrupted(detail) => StoreError::Corrupt {
            file: file.to_path_buf(),
            detail: format!("the database library found damaged pages ({detail})"),
        },
        StorageError::Io(source) if source.kind() == std::io::ErrorKind::InvalidData => StoreError::Corrupt {
            file: file.to_path_buf(),
            detail: format!("it is not a readable redb database ({source}): damaged, or another kind of file"),
        },
        StorageError::Io(source) => StoreError::io(file, action, source),
        StorageError::PreviousIo => StoreError::NeedsReopen { file: file.to_path_buf() },
        other => StoreError::Database { file: file.to_path_buf(), action, detail: other.to_string() },
    }
}

fn database_error(file: &Path, action: &'static str, error: DatabaseError) -> StoreError {
    match error {
        DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyOpen { file: file.to_path_buf() },
        DatabaseError::Storage(error) => storage_error(file, action, error),
        DatabaseError::RepairAborted => {
            StoreError::Corrupt { file: file.to_path_buf(), detail: "the database library could not repair it".into() }
        }
        other => StoreError::Database { file: file.to_path_buf(), action, detail: other.to_string() },
    }
}

fn transaction_error(file: &Path, action: &'static str, error: TransactionError) -> StoreError {
    match error {
        TransactionError::Storage(error) => storage_error(file, action, error),
        other => StoreError::Database { file: file.to_path_buf(), action, detail: other.to_string() },
    }
}

fn table_error(file: &Path, action: &'static str, error: TableError) -> StoreError {
    match error {
        TableError::Storage(error) => storage_error(file, action, error),
        TableError::TableDoesNotExist(table) => {
            StoreError::Corrupt { file: file.to_path_buf(), detail: format!("the table {table:?} is missing") }
        }
        TableError::TableTypeMismatch { .. } | TableError::TypeDefinitionChanged { .. } => {
            StoreError::NotAStore { file: file.to_path_buf(), detail: format!("a table has another layout ({error})") }
        }
        other => StoreError::Database { file: file.to_path_buf(), action, detail: other.to_string() },
    }
}

fn commit_error(file: &Path, action: &'static str, error: CommitError) -> StoreError {
    match error {
        CommitError::Storage(error) => storage_error(file, action, error),
        other => StoreError::Database { file: file.to_path_buf(), action, detail: other.to_string() },
    }
}

/// A durable write transaction: `Durability::Immediate`, in one or two phases (see the crate
/// documentation).
fn begin_write(
    db: &Database,
    file: &Path,
    action: &'static str,
    two_phase_commit: bool,
) -> Result<WriteTransaction, StoreError> {
    let mut txn = db.begin_write().map_err(|error| transaction_error(file, action, error))?;
    txn.set_durability(Durability::Immediate).map_err(|error| StoreError::Database {
        file: file.to_path_buf(),
        action,
        detail: error.to_string(),
    })?;
    txn.set_two_phase_commit(two_phase_commit);
    Ok(txn)
}

/// The durable [`EventStore`]: one redb file. Appends (and every other write) are serialised by
/// redb's single write transaction; reads run concurrently on consistent snapshots and never see
/// a commit before it is durable.
pub struct RedbStore {
    db: Database,
    file: PathBuf,
    ledger: LedgerId,
    two_phase_commit: bool,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("RedbStore").field("file", &self.file).field("ledger", &self.ledger).finish()
    }
}

/// The committed state, as a write transaction sees it, for the append planner.
struct TxnFeeds<'a, E, I, H> {
    file: &'a Path,
    events: &'a E,
    ids: &'a I,
    heads: &'a H,
}

impl<E, I, H> StoredFeeds for TxnFeeds<'_, E, I, H>
where
    E: ReadableTable<(&'static str, u64), &'static [u8]>,
    I: ReadableTable<[u8; 32], (&'static str, u64)>,
    H: ReadableTable<&'static str, (u64, [u8; 32])>,
{
    fn head(&mut self, org: &OrgSlug) -> Result<Option<Head>, StoreError> {
        let head = self.heads.get(org.as_str()).map_err(|error| storage_error(self.file, "appending", error))?;
        Ok(head.map(|guard| {
            let (seq, id) = guard.value();
            (seq, EventId::from_bytes(id))
        }))
    }

    fn contains(&mut self, id: &EventId) -> Result<bool, StoreError> {
        Ok(self.ids.get(id.as_bytes()).map_err(|error| storage_error(self.file, "appending", error))?.is_some())
    }

    fn id_at(&mut self, org: &OrgSlug, seq: u64) -> Result<EventId, StoreError> {
        let value =
            self.events.get((org.as_str(), seq)).map_err(|error| storage_error(self.file, "appending", error))?;
        let value = value.ok_or_else(|| StoreError::Corrupt {
            file: self.file.to_path_buf(),
            detail: format!("the head of {org} is past seq {seq}, but no event is stored there"),
        })?;
        codec::stored_id(self.file, org.as_str(), seq, value.value())
    }
}

impl RedbStore {
    /// Opens (or creates) the store in `data_dir` for `ledger`, checking every page: see
    /// [`OpenOptions`].
    pub fn open(data_dir: &Path, ledger: LedgerId) -> Result<Self, StoreError> {
        OpenOptions::new().open(data_dir, ledger)
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Closes the file, reporting any error (dropping the store closes it too, silently).
    pub fn close(self) -> Result<(), StoreError> {
        let file = self.file;
        self.db.close().map_err(|error| database_error(&file, "closing", error))
    }

    fn read_txn(&self, action: &'static str) -> Result<ReadTransaction, StoreError> {
        self.db.begin_read().map_err(|error| transaction_error(&self.file, action, error))
    }

    fn write_txn(&self, action: &'static str) -> Result<WriteTransaction, StoreError> {
        begin_write(&self.db, &self.file, action, self.two_phase_commit)
    }

    fn guard<T>(&self, action: &'static str, work: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        guard(&self.file, action, work)
    }

    fn check_meta(&self) -> Result<(), StoreError> {
        let file = &self.file;
        let action = "opening";
        let not_a_store = |detail: &str| StoreError::NotAStore { file: file.clone(), detail: detail.to_owned() };
        let txn = self.read_txn(action)?;
        let meta = match txn.open_table(META) {
            Ok(meta) => meta,
            Err(TableError::TableDoesNotExist(_)) => {
                return Err(not_a_store("a redb database without the event store's metadata table"));
            }
            Err(error) => return Err(table_error(file, action, error)),
        };
        let read = |key: &str| -> Result<Option<Vec<u8>>, StoreError> {
            Ok(meta.get(key).map_err(|error| storage_error(file, action, error))?.map(|value| value.value().to_vec()))
        };
        if read(META_FORMAT)?.as_deref() != Some(FORMAT_TAG) {
            return Err(not_a_store("its metadata does not name the event store format"));
        }
        let version = read(META_SCHEMA_VERSION)?
            .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| StoreError::Corrupt {
                file: file.clone(),
                detail: "the layout version is unreadable".into(),
            })?;
        if version != SCHEMA_VERSION {
            return Err(StoreError::SchemaVersion { file: file.clone(), found: version, supported: SCHEMA_VERSION });
        }
        let found = read(META_LEDGER_ID)?
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(LedgerId::from_bytes)
            .ok_or_else(|| StoreError::Corrupt { file: file.clone(), detail: "the ledger id is unreadable".into() })?;
        if found != self.ledger {
            return Err(StoreError::WrongLedger { file: file.clone(), expected: self.ledger, found });
        }
        let table_error = |error| table_error(file, action, error);
        txn.open_table(EVENTS).map_err(table_error)?;
        txn.open_table(EVENT_IDS).map_err(table_error)?;
        txn.open_table(FEED_HEADS).map_err(table_error)?;
        txn.open_table(FORK_PROOFS).map_err(table_error)?;
        txn.open_table(QUARANTINE).map_err(table_error)?;
        txn.open_table(PUBLISHED).map_err(table_error)?;
        Ok(())
    }

    fn append_inner(&self, events: &[SignedEvent]) -> Result<AppendReport, StoreError> {
        const ACTION: &str = "appending";
        let file = self.file.as_path();
        let storage = |error| storage_error(file, ACTION, error);
        let table = |error| table_error(file, ACTION, error);
        if events.is_empty() {
            return Ok(AppendReport::default());
        }
        let txn = self.write_txn(ACTION)?;
        let outcomes = {
            let mut events_table = txn.open_table(EVENTS).map_err(table)?;
            let mut ids_table = txn.open_table(EVENT_IDS).map_err(table)?;
            let mut heads_table = txn.open_table(FEED_HEADS).map_err(table)?;
            let plan = batch::plan(
                self.ledger,
                events,
                &mut TxnFeeds { file, events: &events_table, ids: &ids_table, heads: &heads_table },
            )?;
            if plan.new_heads.is_empty() {
                // Only duplicates: nothing to commit (and no fsync to pay).
                return Ok(AppendReport { outcomes: plan.outcomes });
            }
            for (event, outcome) in events.iter().zip(&plan.outcomes) {
                if *outcome == Appended::Stored {
                    let content = event.event();
                    let place = (content.org.as_str(), content.seq);
                    events_table.insert(place, codec::encode_event(event).as_slice()).map_err(storage)?;
                    ids_table.insert(event.id().as_bytes(), place).map_err(storage)?;
                }
            }
            for (org, (seq, id)) in &plan.new_heads {
                heads_table.insert(org.as_str(), (*seq, *id.as_bytes())).map_err(storage)?;
            }
            plan.outcomes
        };
        txn.commit().map_err(|error| commit_error(file, ACTION, error))?;
        Ok(AppendReport { outcomes })
    }

    fn read_feed_inner(&self, org: &OrgSlug, from_seq: u64, limit: usize) -> Result<Vec<SignedEvent>, StoreError> {
        const ACTION: &str = "reading a feed";
        let file = self.file.as_path();
        let from_seq = from_seq.max(1);
        let limit = limit.min(READ_FEED_EVENTS_MAX);
        let txn = self.read_txn(ACTION)?;
        let events = txn.open_table(EVENTS).map_err(|error| table_error(file, ACTION, error))?;
        let storage = |error| storage_error(file, ACTION, error);
        let mut check = match from_seq {
            1 => ChainCheck::after(org, None),
            seq => match events.get((org.as_str(), seq - 1)).map_err(storage)? {
                Some(value) => ChainCheck::after(
                    org,
                    Some((seq - 1, codec::stored_id(file, org.as_str(), seq - 1, value.value())?)),
                ),
                // Nothing before: the read starts past the head, or the event is lost (then the
                // first event read below is reported).
                None => ChainCheck::after_missing(org),
            },
        };
        let mut read = Vec::new();
        let range = events.range((org.as_str(), from_seq)..=(org.as_str(), u64::MAX)).map_err(storage)?;
        for entry in range.take(limit) {
            let (key, value) = entry.map_err(storage)?;
            let (stored_org, seq) = key.value();
            let event = codec::decode_event(file, stored_org, seq, value.value())?;
            check.next(file, &event)?;
            read.push(event);
        }
        Ok(read)
    }

    /// The recorded feed heads, as seen by `txn`.
    fn load_heads(&self, txn: &ReadTransaction, action: &'static str) -> Result<BTreeMap<OrgSlug, Head>, StoreError> {
        let file = self.file.as_path();
        let storage = |error| storage_error(file, action, error);
        let table = txn.open_table(FEED_HEADS).map_err(|error| table_error(file, action, error))?;
        let mut heads = BTreeMap::new();
        for entry in table.iter().map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            let org = OrgSlug::parse(key.value()).map_err(|error| StoreError::Corrupt {
                file: file.to_path_buf(),
                detail: format!("a feed head is recorded for an invalid slug ({error})"),
            })?;
            let (seq, id) = value.value();
            heads.insert(org, (seq, EventId::from_bytes(id)));
        }
        Ok(heads)
    }

    /// Walks every event of `txn`'s snapshot, feed by feed, read and decoded on several threads,
    /// checking chains and feed ends, and hands each to `sink`. A walk that reads to the end also
    /// checks that it met every stored event (none outside the feeds' recorded ranges). Returns
    /// the number handed out and, for a walk to the end, the number of feeds.
    fn walk(
        &self,
        txn: &ReadTransaction,
        action: &'static str,
        sink: &mut dyn FnMut(SignedEvent) -> Result<ControlFlow<()>, StoreError>,
    ) -> Result<(u64, Option<usize>), StoreError> {
        let file = self.file.as_path();
        let storage = |error| storage_error(file, action, error);
        let heads = self.load_heads(txn, action)?;
        let events = txn.open_table(EVENTS).map_err(|error| table_error(file, action, error))?;
        let read = |(org, from, to): &Job| -> Result<Vec<SignedEvent>, StoreError> {
            let range = events.range((org.as_str(), *from)..=(org.as_str(), *to)).map_err(storage)?;
            range
                .map(|entry| {
                    let (key, value) = entry.map_err(storage)?;
                    let (org, seq) = key.value();
                    codec::decode_event(file, org, seq, value.value())
                })
                .collect()
        };
        let mut check = ChainCheck::whole_feeds(heads.clone());
        let mut visited = 0;
        let flow = replay(file, &mut jobs(&heads), &read, &mut |event| {
            check.next(file, &event)?;
            visited += 1;
            sink(event)
        })?;
        if flow.is_break() {
            return Ok((visited, None));
        }
        let feeds = check.finish(file)?;
        let stored = events.len().map_err(storage)?;
        if stored != visited {
            return Err(StoreError::Corrupt {
                file: file.to_path_buf(),
                detail: format!("{stored} events are stored, but the recorded feed heads cover {visited}"),
            });
        }
        Ok((visited, Some(feeds)))
    }

    fn verify_inner(&self, progress: &mut dyn FnMut(u64)) -> Result<IntegrityReport, StoreError> {
        const ACTION: &str = "checking integrity";
        let file = self.file.as_path();
        let storage = |error| storage_error(file, ACTION, error);
        let table = |error| table_error(file, ACTION, error);
        let corrupt = |detail: String| StoreError::Corrupt { file: file.to_path_buf(), detail };
        self.check_meta()?;
        let txn = self.read_txn(ACTION)?;
        let ids = txn.open_table(EVENT_IDS).map_err(table)?;
        let mut report = IntegrityReport::default();
        let (_, feeds) = self.walk(&txn, ACTION, &mut |event| {
            let content = event.event();
            let indexed = ids.get(event.id().as_bytes()).map_err(storage)?.map(|place| {
                let (org, seq) = place.value();
                org == content.org.as_str() && seq == content.seq
            });
            if indexed != Some(true) {
                return Err(corrupt(format!(
                    "event {} ({} seq {}) is missing from the id index",
                    event.id(),
                    content.org,
                    content.seq
                )));
            }
            report.events += 1;
            if report.events.is_multiple_of(INTEGRITY_PROGRESS_EVERY) {
                progress(report.events);
            }
            Ok(ControlFlow::Continue(()))
        })?;
        report.feeds = feeds.unwrap_or_default() as u64;
        let indexed = ids.len().map_err(storage)?;
        if indexed != report.events {
            return Err(corrupt(format!("the id index has {indexed} entries for {} events", report.events)));
        }
        for entry in txn.open_table(FORK_PROOFS).map_err(table)?.iter().map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            let (org, seq) = key.value();
            codec::decode_fork_proof(file, self.ledger, org, seq, value.value())?;
            report.fork_proofs += 1;
        }
        for entry in txn.open_table(QUARANTINE).map_err(table)?.iter().map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            codec::decode_quarantine(file, QuarantineId(key.value()), value.value())?;
            report.quarantined += 1;
        }
        let heads = self.load_heads(&txn, ACTION)?;
        for entry in txn.open_table(PUBLISHED).map_err(table)?.iter().map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            let (org, published) = (key.value(), value.value());
            let head = OrgSlug::parse(org).ok().and_then(|org| heads.get(&org)).map_or(0, |(seq, _)| *seq);
            if published > head {
                return Err(corrupt(format!(
                    "{org} is recorded as published up to seq {published}, past its head {head}"
                )));
            }
        }
        progress(report.events);
        Ok(report)
    }
}

impl EventStore for RedbStore {
    fn ledger_id(&self) -> LedgerId {
        self.ledger
    }

    fn append(&self, events: &[SignedEvent]) -> Result<AppendReport, StoreError> {
        self.guard("appending", || self.append_inner(events))
    }

    fn head(&self, org: &OrgSlug) -> Result<Option<Head>, StoreError> {
        const ACTION: &str = "reading a feed head";
        self.guard(ACTION, || {
            let txn = self.read_txn(ACTION)?;
            let heads = txn.open_table(FEED_HEADS).map_err(|error| table_error(&self.file, ACTION, error))?;
            let head = heads.get(org.as_str()).map_err(|error| storage_error(&self.file, ACTION, error))?;
            Ok(head.map(|guard| {
                let (seq, id) = guard.value();
                (seq, EventId::from_bytes(id))
            }))
        })
    }

    fn heads(&self) -> Result<BTreeMap<OrgSlug, Head>, StoreError> {
        const ACTION: &str = "reading the feed heads";
        self.guard(ACTION, || self.load_heads(&self.read_txn(ACTION)?, ACTION))
    }

    fn get(&self, id: &EventId) -> Result<Option<SignedEvent>, StoreError> {
        const ACTION: &str = "reading an event";
        self.guard(ACTION, || {
            let file = self.file.as_path();
            let storage = |error| storage_error(file, ACTION, error);
            let table = |error| table_error(file, ACTION, error);
            let txn = self.read_txn(ACTION)?;
            let ids = txn.open_table(EVENT_IDS).map_err(table)?;
            let Some(place) = ids.get(id.as_bytes()).map_err(storage)? else { return Ok(None) };
            let (org, seq) = place.value();
            let events = txn.open_table(EVENTS).map_err(table)?;
            let value = events.get((org, seq)).map_err(storage)?.ok_or_else(|| StoreError::Corrupt {
                file: file.to_path_buf(),
                detail: format!("event {id} is indexed at {org} seq {seq}, but nothing is stored there"),
            })?;
            let event = codec::decode_event(file, org, seq, value.value())?;
            if event.id() != *id {
                return Err(StoreError::Corrupt {
                    file: file.to_path_buf(),
                    detail: format!("event {id} is indexed at {org} seq {seq}, where event {} is stored", event.id()),
                });
            }
            Ok(Some(event))
        })
    }

    fn read_feed(&self, org: &OrgSlug, from_seq: u64, limit: usize) -> Result<Vec<SignedEvent>, StoreError> {
        self.guard("reading a feed", || self.read_feed_inner(org, from_seq, limit))
    }

    fn event_count(&self) -> Result<u64, StoreError> {
        const ACTION: &str = "counting events";
        self.guard(ACTION, || {
            let txn = self.read_txn(ACTION)?;
            let events = txn.open_table(EVENTS).map_err(|error| table_error(&self.file, ACTION, error))?;
            events.len().map_err(|error| storage_error(&self.file, ACTION, error))
        })
    }

    fn for_each_event(&self, visitor: &mut dyn FnMut(SignedEvent) -> ControlFlow<()>) -> Result<u64, StoreError> {
        const ACTION: &str = "reading every event";
        self.guard(ACTION, || {
            let txn = self.read_txn(ACTION)?;
            Ok(self.walk(&txn, ACTION, &mut |event| Ok(visitor(event)))?.0)
        })
    }

    fn put_fork_proof(&self, org: &OrgSlug, seq: u64, first_note: &str, second_note: &str) -> Result<bool, StoreError> {
        const ACTION: &str = "storing a fork proof";
        codec::check_fork_proof(self.ledger, org, seq, first_note, second_note)
            .map_err(|detail| StoreError::InvalidForkProof { org: org.clone(), seq, detail })?;
        self.guard(ACTION, || {
            let file = self.file.as_path();
            let txn = self.write_txn(ACTION)?;
            {
                let mut proofs = txn.open_table(FORK_PROOFS).map_err(|error| table_error(file, ACTION, error))?;
                let storage = |error| storage_error(file, ACTION, error);
                if proofs.get((org.as_str(), seq)).map_err(storage)?.is_some() {
                    return Ok(false);
                }
                let value = codec::encode_fork_proof(first_note, second_note);
                proofs.insert((org.as_str(), seq), value.as_slice()).map_err(storage)?;
            }
            txn.commit().map_err(|error| commit_error(file, ACTION, error))?;
            Ok(true)
        })
    }

    fn fork_proofs(&self) -> Result<Vec<ForkProof>, StoreError> {
        const ACTION: &str = "reading fork proofs";
        self.guard(ACTION, || {
            let file = self.file.as_path();
            let storage = |error| storage_error(file, ACTION, error);
            let txn = self.read_txn(ACTION)?;
            let proofs = txn.open_table(FORK_PROOFS).map_err(|error| table_error(file, ACTION, error))?;
            let mut read = Vec::new();
            for entry in proofs.iter().map_err(storage)? {
                let (key, value) = entry.map_err(storage)?;
                let (org, seq) = key.value();
                read.push(codec::decode_fork_proof(file, self.ledger, org, seq, value.value())?);
            }
            Ok(read)
        })
    }

    fn quarantine(&self, note_bytes: &[u8], reason: &str, received_at_unix_s: i64) -> Result<QuarantineId, StoreError> {
        const ACTION: &str = "quarantining a note";
        self.guard(ACTION, || {
            let file = self.file.as_path();
            let storage = |error| storage_error(file, ACTION, error);
            let txn = self.write_txn(ACTION)?;
            let next = {
                let mut table = txn.open_table(QUARANTINE).map_err(|error| table_error(file, ACTION, error))?;
                let next = table.last().map_err(storage)?.map_or(1, |(key, _)| key.value() + 1);
                let value = codec::encode_quarantine(note_bytes, reason, received_at_unix_s);
                table.insert(next, value.as_slice()).map_err(storage)?;
                next
            };
            txn.commit().map_err(|error| commit_error(file, ACTION, error))?;
            Ok(QuarantineId(next))
        })
    }

    fn quarantined(&self, from: QuarantineId, limit: usize) -> Result<Vec<QuarantinedNote>, StoreError> {
        const ACTION: &str = "reading quarantined notes";
        self.guard(ACTION, || {
            let file = self.file.as_path();
            let storage = |error| storage_error(file, ACTION, error);
            let txn = self.read_txn(ACTION)?;
            let table = txn.open_table(QUARANTINE).map_err(|error| table_error(file, ACTION, error))?;
            let mut read = Vec::new();
            for entry in table.range(from.0..).map_err(storage)?.take(limit.min(QUARANTINE_PAGE_MAX)) {
                let (key, value) = entry.map_err(storage)?;
                read.push(codec::decode_quarantine(file, QuarantineId(key.value()), value.value())?);
            }
            Ok(read)
        })
    }

    fn quarantine_count(&self) -> Result<u64, StoreError> {
        const ACTION: &str = "counting quarantined notes";
        self.guard(ACTION, || {
            let txn = self.read_txn(ACTION)?;
            let table = txn.open_table(QUARANTINE).map_err(|error| table_error(&self.file, ACTION, error))?;
            table.len().map_err(|error| storage_error(&self.file, ACTION, error))
        })
    }

    fn published_seq(&self, org: &OrgSlug) -> Result<u64, StoreError> {
        const ACTION: &str = "reading a published cursor";
        self.guard(ACTION, || {
            let txn = self.read_txn(ACTION)?;
            let table = txn.open_table(PUBLISHED).map_err(|error| table_error(&self.file, ACTION, error))?;
            let seq = table.get(org.as_str()).map_err(|error| storage_error(&self.file, ACTION, error))?;
            Ok(seq.map_or(0, |guard| guard.value()))
        })
    }

    fn set_published_seq(&self, org: &OrgSlug, seq: u64) -> Result<(), StoreError> {
        const ACTION: &str = "recording a published cursor";
        self.guard(ACTION, || {
            let file = self.file.as_path();
            let storage = |error| storage_error(file, ACTION, error);
            let table = |error| table_error(file, ACTION, error);
            let txn = self.write_txn(ACTION)?;
            {
                let heads = txn.open_table(FEED_HEADS).map_err(table)?;
                let head = heads.get(org.as_str()).map_err(storage)?.map_or(0, |guard| guard.value().0);
                let mut published = txn.open_table(PUBLISHED).map_err(table)?;
                let stored = published.get(org.as_str()).map_err(storage)?.map_or(0, |guard| guard.value());
                check_cursor(org, stored, seq, head)?;
                if stored == seq {
                    return Ok(());
                }
                published.insert(org.as_str(), seq).map_err(storage)?;
            }
            txn.commit().map_err(|error| commit_error(file, ACTION, error))
        })
    }

    fn verify_integrity(&self, progress: &mut dyn FnMut(u64)) -> Result<IntegrityReport, StoreError> {
        self.guard("checking integrity", || self.verify_inner(progress))
    }

    fn put_private(&self, space: PrivateSpace, id: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        const ACTION: &str = "keeping a private record";
        check_private_record(id, bytes)?;
        self.guard(ACTION, || {
            let file = self.file.as_path();
            let storage = |error| storage_error(file, ACTION, error);
            let txn = self.write_txn(ACTION)?;
            {
                let mut table = txn.open_table(PRIVATE).map_err(|error| table_error(file, ACTION, error))?;
                if table.get((space.as_str(), id)).map_err(storage)?.is_some() {
                    return Ok(false);
                }
                table.insert((space.as_str(), id), bytes).map_err(storage)?;
            }
            txn.commit().map_err(|error| commit_error(file, ACTION, error))?;
            Ok(true)
        })
    }

    fn get_private(&self, space: PrivateSpace, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        const ACTION: &str = "reading a private record";
        self.guard(ACTION, || {
            let txn = self.read_txn(ACTION)?;
            let table = match txn.open_table(PRIVATE) {
                Ok(table) => table,
                Err(TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(error) => return Err(table_error(&self.file, ACTION, error)),
            };
            let value = table.get((space.as_str(), id)).map_err(|error| storage_error(&self.file, ACTION, error))?;
            Ok(value.map(|guard| guard.value().to_vec()))
        })
    }

    fn delete_private(&self, space: PrivateSpace, id: &str) -> Result<bool, StoreError> {
        const ACTION: &str = "deleting a private record";
        self.guard(ACTION, || {
            let file = self.file.as_path();
            let txn = self.write_txn(ACTION)?;
            let removed = {
                let mut table = txn.open_table(PRIVATE).map_err(|error| table_error(file, ACTION, error))?;
                let removed = table.remove((space.as_str(), id)).map_err(|error| storage_error(file, ACTION, error))?;
                removed.is_some()
            };
            txn.commit().map_err(|error| commit_error(file, ACTION, error))?;
            Ok(removed)
        })
    }

    fn private_ids(&self, space: PrivateSpace, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError> {
        const ACTION: &str = "listing private records";
        self.guard(ACTION, || {
            let storage = |error| storage_error(&self.file, ACTION, error);
            let txn = self.read_txn(ACTION)?;
            let table = match txn.open_table(PRIVATE) {
                Ok(table) => table,
                Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(error) => return Err(table_error(&self.file, ACTION, error)),
            };
            let space_name = space.as_str();
            let range = match after {
                Some(after) => table.range((space_name, after)..).map_err(storage)?,
                None => table.range((space_name, "")..).map_err(storage)?,
            };
            let mut ids = Vec::new();
            for entry in range {
                let (key, _) = entry.map_err(storage)?;
                let (entry_space, id) = key.value();
                if entry_space != space_name || ids.len() >= limit.min(PRIVATE_PAGE_MAX) {
                    break;
                }
                if after == Some(id) {
                    continue;
                }
                ids.push(id.to_owned());
            }
            Ok(ids)
        })
    }
}
