//! Damaged, foreign and mismatched files: each is refused at open, or at the first read of the
//! damaged record, with an error that names the file. Never a panic, never an empty store,
//! never a silently skipped event.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use coalition_core::event::SignedEvent;
use coalition_store::limits::{SCHEMA_VERSION, STORE_FILE_NAME};
use coalition_store::{EventStore, OpenOptions, RedbStore, StoreError};
use redb::TableDefinition;

use crate::support::{Feeds, fork_of, ledger, other_ledger, slug};

/// The documented layout (see `coalition_store`'s redb module), for crafting damaged stores.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const EVENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("events");

/// A closed store with three feeds of 20 events; returns its file and the events.
fn filled_store(dir: &Path) -> (PathBuf, Vec<SignedEvent>) {
    let store = RedbStore::open(dir, ledger()).expect("create");
    let mut feeds = Feeds::new();
    let mut events = Vec::new();
    for org in ["ccl", "crimea-sos", "zmina"] {
        events.extend(feeds.many(org, 20));
    }
    store.append(&events).expect("append");
    let file = store.path().to_path_buf();
    store.close().expect("close");
    assert_eq!(file, dir.join(STORE_FILE_NAME));
    (file, events)
}

fn refused(result: Result<RedbStore, StoreError>, file: &Path) -> StoreError {
    let error = match result {
        Ok(store) => panic!("a damaged store was opened: {store:?} with {:?} events", store.event_count()),
        Err(error) => error,
    };
    assert_eq!(error.file(), Some(file), "{error:?}");
    assert!(error.to_string().contains(&file.display().to_string()), "the message names the file: {error}");
    error
}

fn all_of(store: &dyn EventStore) -> Result<Vec<SignedEvent>, StoreError> {
    let mut events = Vec::new();
    store.for_each_event(&mut |event| {
        events.push(event);
        ControlFlow::Continue(())
    })?;
    Ok(events)
}

/// Replaces the bytes of the first note of `event` in the file (every copy of it) with `X`s at
/// one place inside its JSON line.
fn overwrite_inside(file: &Path, event: &SignedEvent) {
    let mut bytes = std::fs::read(file).expect("read file");
    let marker = event.text().as_bytes();
    let mut found = 0;
    let mut start = 0;
    while let Some(offset) = bytes[start..].windows(marker.len()).position(|window| window == marker) {
        let at = start + offset + marker.len() / 2;
        bytes[at..at + 4].copy_from_slice(b"XXXX");
        found += 1;
        start = at;
    }
    assert!(found > 0, "the note is in the file");
    std::fs::write(file, bytes).expect("write file");
}

#[test]
fn truncated_files_are_refused_at_open() {
    for keep in [0.5, 0.9, 0.0, 0.01] {
        let dir = tempfile::tempdir().expect("temp dir");
        let (file, _) = filled_store(dir.path());
        let length = std::fs::metadata(&file).expect("metadata").len();
        let kept = (length as f64 * keep) as u64;
        std::fs::OpenOptions::new().write(true).open(&file).expect("open").set_len(kept).expect("truncate");
        let error = refused(RedbStore::open(dir.path(), ledger()), &file);
        eprintln!("truncated to {kept} of {length} bytes: {error}");
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
        assert_eq!(std::fs::metadata(&file).expect("metadata").len(), kept, "a refused file is left as it was");
        let unchecked = OpenOptions::new().check_pages(false).open(dir.path(), ledger());
        let error = refused(unchecked, &file);
        eprintln!("  without the page check: {error}");
    }
}

#[test]
fn overwritten_bytes_are_refused_at_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, events) = filled_store(dir.path());
    overwrite_inside(&file, &events[25]);
    let error = refused(RedbStore::open(dir.path(), ledger()), &file);
    eprintln!("overwritten: {error}");
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
}

#[test]
fn overwritten_bytes_without_the_page_check_are_caught_on_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, events) = filled_store(dir.path());
    let damaged = &events[25];
    overwrite_inside(&file, damaged);
    let store = match OpenOptions::new().check_pages(false).open(dir.path(), ledger()) {
        Ok(store) => store,
        Err(error) => {
            // Also acceptable: refused at open, with the file named.
            refused(Err(error), &file);
            return;
        }
    };
    let corrupt = |error: StoreError| {
        assert!(matches!(&error, StoreError::Corrupt { file: named, .. } if *named == file), "{error:?}");
        eprintln!("on read: {error}");
    };
    corrupt(store.get(&damaged.id()).expect_err("the damaged event is not handed out"));
    corrupt(store.read_feed(&damaged.event().org, 1, 100).expect_err("nor in its feed"));
    corrupt(all_of(&store).expect_err("nor skipped by the replay"));
    corrupt(store.verify_integrity(&mut |_| {}).expect_err("the check finds it"));
    // The undamaged events are still readable.
    assert_eq!(store.get(&events[0].id()).expect("get"), Some(events[0].clone()));
}

#[test]
fn a_zeroed_header_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, _) = filled_store(dir.path());
    let mut bytes = std::fs::read(&file).expect("read");
    bytes[..4096].fill(0);
    std::fs::write(&file, bytes).expect("write");
    let error = refused(RedbStore::open(dir.path(), ledger()), &file);
    eprintln!("zeroed header: {error}");
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
}

#[test]
fn foreign_files_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join(STORE_FILE_NAME);
    std::fs::write(&file, "this is a text file, not an event store\n".repeat(200)).expect("write");
    let error = refused(RedbStore::open(dir.path(), ledger()), &file);
    eprintln!("text file: {error}");

    std::fs::remove_file(&file).expect("remove");
    let other = redb::Database::create(&file).expect("create another database");
    let txn = other.begin_write().expect("write");
    txn.open_table(TableDefinition::<u64, u64>::new("something else")).expect("table").insert(1, 2).expect("insert");
    txn.commit().expect("commit");
    drop(other);
    let error = refused(RedbStore::open(dir.path(), ledger()), &file);
    eprintln!("another redb database: {error}");
    assert!(matches!(error, StoreError::NotAStore { .. }), "{error:?}");
}

#[test]
fn another_ledgers_store_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, _) = filled_store(dir.path());
    let error = refused(RedbStore::open(dir.path(), other_ledger()), &file);
    let message = error.to_string();
    assert!(message.contains(&ledger().to_string()) && message.contains(&other_ledger().to_string()), "{message}");
    assert!(
        matches!(error, StoreError::WrongLedger { expected, found, .. } if expected == other_ledger() && found == ledger())
    );
    RedbStore::open(dir.path(), ledger()).expect("its own ledger still opens it");
}

#[test]
fn another_layout_version_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, _) = filled_store(dir.path());
    {
        let db = redb::Database::open(&file).expect("open as redb");
        let txn = db.begin_write().expect("write");
        let next = (SCHEMA_VERSION + 1).to_le_bytes();
        txn.open_table(META).expect("meta").insert("schema_version", next.as_slice()).expect("insert");
        txn.commit().expect("commit");
    }
    let error = refused(RedbStore::open(dir.path(), ledger()), &file);
    assert!(
        matches!(error, StoreError::SchemaVersion { found, supported, .. } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION)
    );
}

/// Rewrites the value stored for `org`, `seq` (with the database library, so checksums stay
/// valid: what is left to catch it is the store's own read checks).
fn replace_value(file: &Path, org: &str, seq: u64, value: &[u8]) {
    let db = redb::Database::open(file).expect("open as redb");
    let txn = db.begin_write().expect("write");
    txn.open_table(EVENTS).expect("events").insert((org, seq), value).expect("insert");
    txn.commit().expect("commit");
}

#[test]
fn a_note_that_does_not_hash_to_its_id_is_corrupt_on_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, events) = filled_store(dir.path());
    let victim = &events[41]; // zmina seq 2
    assert_eq!((victim.event().org.as_str(), victim.event().seq), ("zmina", 2));
    let impostor = fork_of(victim);
    let mut value = victim.id().as_bytes().to_vec();
    value.extend_from_slice(impostor.note().as_bytes());
    replace_value(&file, "zmina", 2, &value);

    let store = RedbStore::open(dir.path(), ledger()).expect("pages are intact");
    for error in [
        store.get(&victim.id()).expect_err("get"),
        store.read_feed(&slug("zmina"), 1, 10).expect_err("read_feed"),
        all_of(&store).expect_err("for_each_event"),
        store.verify_integrity(&mut |_| {}).expect_err("verify"),
    ] {
        assert!(
            matches!(&error, StoreError::Corrupt { file: named, detail } if *named == file && detail.contains("hashes to")),
            "{error:?}"
        );
    }
    assert_eq!(store.read_feed(&slug("ccl"), 1, 100).expect("other feeds are fine").len(), 20);
}

#[test]
fn a_broken_chain_in_the_file_is_corrupt_on_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, events) = filled_store(dir.path());
    let victim = &events[41]; // zmina seq 2
    let impostor = fork_of(victim);
    let mut value = impostor.id().as_bytes().to_vec();
    value.extend_from_slice(impostor.note().as_bytes());
    replace_value(&file, "zmina", 2, &value);

    let store = RedbStore::open(dir.path(), ledger()).expect("pages are intact");
    assert_eq!(store.read_feed(&slug("zmina"), 1, 2).expect("seq 1 and 2 chain"), [events[40].clone(), impostor]);
    for error in [
        store.read_feed(&slug("zmina"), 1, 10).expect_err("seq 3 does not follow"),
        store.read_feed(&slug("zmina"), 3, 10).expect_err("nor when read from seq 3"),
        all_of(&store).expect_err("for_each_event"),
        store.verify_integrity(&mut |_| {}).expect_err("verify"),
    ] {
        assert!(matches!(&error, StoreError::Corrupt { file: named, .. } if *named == file), "{error:?}");
        eprintln!("broken chain: {error}");
    }
}

#[test]
fn a_second_handle_is_refused_while_the_store_is_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = RedbStore::open(dir.path(), ledger()).expect("open");
    let error = refused(RedbStore::open(dir.path(), ledger()), store.path());
    assert!(matches!(error, StoreError::AlreadyOpen { .. }), "{error:?}");
}

#[test]
fn a_lost_feed_tail_or_feed_is_corrupt_on_replay() {
    const EVENT_IDS: TableDefinition<[u8; 32], (&str, u64)> = TableDefinition::new("event_ids");
    for remove_whole_feed in [false, true] {
        let dir = tempfile::tempdir().expect("temp dir");
        let (file, events) = filled_store(dir.path());
        {
            let db = redb::Database::open(&file).expect("open as redb");
            let txn = db.begin_write().expect("write");
            {
                let mut table = txn.open_table(EVENTS).expect("events");
                let mut ids = txn.open_table(EVENT_IDS).expect("ids");
                let lost = if remove_whole_feed { &events[40..] } else { &events[59..] };
                for event in lost {
                    table.remove((event.event().org.as_str(), event.event().seq)).expect("remove");
                    ids.remove(event.id().as_bytes()).expect("remove");
                }
            }
            txn.commit().expect("commit");
        }
        let store = RedbStore::open(dir.path(), ledger()).expect("pages are intact");
        let error = all_of(&store).expect_err("the loss is reported, not skipped");
        eprintln!("lost {}: {error}", if remove_whole_feed { "feed" } else { "tail" });
        assert!(matches!(&error, StoreError::Corrupt { file: named, .. } if *named == file), "{error:?}");
        let error = store.verify_integrity(&mut |_| {}).expect_err("verify");
        assert!(matches!(&error, StoreError::Corrupt { .. }), "{error:?}");
    }
}

#[test]
fn an_event_outside_the_recorded_heads_is_corrupt_on_replay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, events) = filled_store(dir.path());
    let mut feeds = Feeds::new();
    let stray = feeds.next("org-stray");
    let mut value = stray.id().as_bytes().to_vec();
    value.extend_from_slice(stray.note().as_bytes());
    replace_value(&file, "org-stray", 1, &value);
    let store = RedbStore::open(dir.path(), ledger()).expect("pages are intact");
    let error = all_of(&store).expect_err("the stray event is reported, not skipped");
    eprintln!("stray: {error}");
    assert!(
        matches!(&error, StoreError::Corrupt { detail, .. } if detail.contains("61 events are stored")),
        "{error:?}"
    );
    assert!(store.verify_integrity(&mut |_| {}).is_err());
    assert_eq!(store.read_feed(&events[0].event().org, 1, 100).expect("other feeds read fine").len(), 20);
}

#[test]
fn a_lost_event_inside_a_feed_is_corrupt_on_read() {
    const EVENT_IDS: TableDefinition<[u8; 32], (&str, u64)> = TableDefinition::new("event_ids");
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, events) = filled_store(dir.path());
    let lost = &events[44]; // zmina seq 5
    {
        let db = redb::Database::open(&file).expect("open as redb");
        let txn = db.begin_write().expect("write");
        txn.open_table(EVENTS).expect("events").remove(("zmina", 5)).expect("remove");
        txn.open_table(EVENT_IDS).expect("ids").remove(lost.id().as_bytes()).expect("remove");
        txn.commit().expect("commit");
    }
    let store = RedbStore::open(dir.path(), ledger()).expect("pages are intact");
    let zmina = slug("zmina");
    assert_eq!(store.read_feed(&zmina, 1, 4).expect("before the loss").len(), 4);
    assert!(store.read_feed(&zmina, 21, 10).expect("past the head").is_empty());
    for error in [
        store.read_feed(&zmina, 1, 10).expect_err("across the loss"),
        store.read_feed(&zmina, 6, 10).expect_err("right after the loss"),
        store.read_feed(&zmina, 5, 10).expect_err("at the loss"),
        all_of(&store).expect_err("replay"),
    ] {
        eprintln!("lost seq 5: {error}");
        assert!(matches!(&error, StoreError::Corrupt { file: named, .. } if *named == file), "{error:?}");
    }
}
