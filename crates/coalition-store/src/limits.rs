//! Every size and count limit of the store, named in one place. None of them is a protocol limit
//! (those live in `coalition_core::limits`); changing one changes no event's validity.

/// Name of the store's file inside a node's data directory.
pub const STORE_FILE_NAME: &str = "events.redb";

/// Version of the on-disk layout (tables, keys, value encodings). A store written with another
/// version is refused at open rather than misread.
pub const SCHEMA_VERSION: u32 = 1;

/// Most events one [`crate::EventStore::append`] call may carry: one durable commit should stay
/// short enough that the readers waiting on it see it soon.
pub const APPEND_BATCH_EVENTS_MAX: usize = 10_000;

/// Most events one [`crate::EventStore::read_feed`] call returns; a caller pages for more.
pub const READ_FEED_EVENTS_MAX: usize = 10_000;

/// Largest quarantined input kept whole, in bytes (the protocol's largest event note, so every
/// note that could have been valid is kept byte for byte).
pub const QUARANTINE_KEPT_BYTES_MAX: usize = coalition_core::limits::EVENT_NOTE_BYTES_MAX;

/// Of an input larger than [`QUARANTINE_KEPT_BYTES_MAX`], only this many leading bytes are kept,
/// beside its full length and BLAKE3 hash: enough to tell what it was, too little to fill the disk.
pub const QUARANTINE_PREFIX_BYTES: usize = 4 * 1024;

/// Longest quarantine reason kept, in bytes (a longer one is cut at a character boundary).
pub const QUARANTINE_REASON_BYTES_MAX: usize = 1024;

/// Most quarantine records one [`crate::EventStore::quarantined`] call returns.
pub const QUARANTINE_PAGE_MAX: usize = 1_000;

/// Memory the durable store may use to cache file pages. Bounded so that start-up replay of a
/// large store does not keep the whole file in memory.
pub const STORE_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Most events the [`crate::GroupCommitter`] puts in one durable commit.
pub const GROUP_COMMIT_EVENTS_MAX: usize = 1_024;

/// Most events that may wait for the [`crate::GroupCommitter`] at once; further submitters block
/// until there is room (back-pressure instead of unbounded memory).
pub const GROUP_COMMIT_QUEUE_MAX: usize = 8_192;

/// [`crate::EventStore::verify_integrity`] reports progress after every this many events.
pub const INTEGRITY_PROGRESS_EVERY: u64 = 10_000;

/// Most threads that decode stored events during a replay ([`crate::EventStore::for_each_event`]
/// and [`crate::EventStore::verify_integrity`] of the durable store); fewer on fewer cores.
pub const REPLAY_THREADS_MAX: usize = 8;

/// Events decoded per job of a replay thread; with two jobs in flight per thread, this bounds the
/// memory of a replay whatever the size of the store.
pub const REPLAY_CHUNK_EVENTS: usize = 256;

/// Longest private record id, in bytes.
pub const PRIVATE_ID_BYTES_MAX: usize = 64;
/// Largest private record (a sealed key grant or report), in bytes.
pub const PRIVATE_RECORD_BYTES_MAX: usize = 128 * 1024;
/// Most private record ids returned by one [`crate::EventStore::private_ids`] call.
pub const PRIVATE_PAGE_MAX: usize = 1_000;
