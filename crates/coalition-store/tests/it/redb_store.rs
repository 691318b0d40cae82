//! What only the durable store can show: everything is still there after a reopen, with or
//! without the page check, and readers run while a writer commits.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

use coalition_store::limits::{REPLAY_CHUNK_EVENTS, STORE_FILE_NAME};
use coalition_store::{EventStore, OpenOptions, QuarantineId, RedbStore};

use crate::support::{Feeds, fork_of, ledger, slug};

#[test]
fn everything_is_still_there_after_a_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("node").join("data");
    let store = RedbStore::open(&nested, ledger()).expect("create, with the directories");
    assert_eq!(store.path(), nested.join(STORE_FILE_NAME));
    let mut feeds = Feeds::new();
    let zmina = feeds.many("zmina", 4);
    let ccl = feeds.many("ccl", 2);
    store.append(&zmina).expect("append");
    store.append(&ccl).expect("append");
    store.put_fork_proof(&slug("zmina"), 4, zmina[3].note(), fork_of(&zmina[3]).note()).expect("proof");
    store.quarantine(&[0xde, 0xad], "bad_note", 42).expect("quarantine");
    store.set_published_seq(&slug("zmina"), 3).expect("cursor");
    let heads = store.heads().expect("heads");
    store.close().expect("close");

    for check_pages in [true, false] {
        let store = OpenOptions::new().check_pages(check_pages).open(&nested, ledger()).expect("reopen");
        assert_eq!(store.heads().expect("heads"), heads);
        assert_eq!(store.read_feed(&slug("zmina"), 1, 10).expect("read"), zmina);
        assert_eq!(store.read_feed(&slug("ccl"), 1, 10).expect("read"), ccl);
        assert_eq!(store.event_count().expect("count"), 6);
        assert_eq!(store.fork_proofs().expect("proofs").len(), 1);
        let quarantined = store.quarantined(QuarantineId(1), 10).expect("quarantine");
        assert_eq!((quarantined.len(), quarantined[0].kept.as_slice()), (1, [0xde, 0xad].as_slice()));
        assert_eq!(store.published_seq(&slug("zmina")).expect("cursor"), 3);
        let report = store.verify_integrity(&mut |_| {}).expect("intact");
        assert_eq!((report.events, report.feeds, report.fork_proofs, report.quarantined), (6, 2, 1, 1));
    }
}

#[test]
fn a_leftover_half_created_store_is_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(format!("{STORE_FILE_NAME}.creating")), b"half written").expect("write");
    let store = RedbStore::open(dir.path(), ledger()).expect("create over the leftover");
    assert_eq!(store.event_count().expect("count"), 0);
    assert!(!dir.path().join(format!("{STORE_FILE_NAME}.creating")).exists());
}

#[test]
fn readers_run_while_a_writer_commits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = RedbStore::open(dir.path(), ledger()).expect("open");
    let mut feeds = Feeds::new();
    let events = feeds.many("zmina", 60);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for chunk in events.chunks(3) {
                store.append(chunk).expect("append");
            }
            done.store(true, Ordering::SeqCst);
        });
        for _ in 0..2 {
            scope.spawn(|| {
                let mut last = 0;
                while !done.load(Ordering::SeqCst) {
                    // Each snapshot is a whole number of commits, and only grows.
                    let mut count = 0;
                    store
                        .for_each_event(&mut |_| {
                            count += 1;
                            ControlFlow::Continue(())
                        })
                        .expect("walk while writing");
                    assert!(count % 3 == 0 && count >= last, "{count} after {last}");
                    last = count;
                }
            });
        }
    });
    assert_eq!(store.event_count().expect("count"), 60);
}

#[test]
fn a_replay_over_many_chunks_keeps_order_and_stops_on_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = RedbStore::open(dir.path(), ledger()).expect("open");
    let mut feeds = Feeds::new();
    let mut expected = Vec::new();
    for org in ["ccl", "crimea-sos", "zmina"] {
        let events = feeds.many(org, 3 * REPLAY_CHUNK_EVENTS / 2);
        store.append(&events).expect("append");
        expected.extend(events.iter().map(|event| event.id()));
    }
    let mut visited = Vec::new();
    let count = store
        .for_each_event(&mut |event| {
            visited.push(event.id());
            ControlFlow::Continue(())
        })
        .expect("walk");
    assert_eq!((count as usize, visited), (expected.len(), expected.clone()));
    let stop_at = expected.len() - REPLAY_CHUNK_EVENTS / 3;
    let mut seen = 0;
    let count = store
        .for_each_event(&mut |_| {
            seen += 1;
            if seen == stop_at { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })
        .expect("stop early");
    assert_eq!((count as usize, seen), (stop_at, stop_at));
    assert_eq!(store.verify_integrity(&mut |_| {}).expect("intact").events as usize, expected.len());
}
