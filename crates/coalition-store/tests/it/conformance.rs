//! One conformance suite, written once against `&dyn EventStore`, run against every
//! implementation by the `conformance_suite!` macro at the bottom.

use std::ops::ControlFlow;

use coalition_core::event::{EventId, OrgSlug, SignedEvent};
use coalition_store::limits::{
    APPEND_BATCH_EVENTS_MAX, QUARANTINE_KEPT_BYTES_MAX, QUARANTINE_PAGE_MAX, QUARANTINE_PREFIX_BYTES,
    QUARANTINE_REASON_BYTES_MAX,
};
use coalition_store::limits::{PRIVATE_ID_BYTES_MAX, PRIVATE_PAGE_MAX, PRIVATE_RECORD_BYTES_MAX};
use coalition_store::{Appended, EventStore, MemoryStore, PrivateSpace, QuarantineId, RedbStore, StoreError};

use crate::support::{Feeds, fork_of, ids, ledger, other_ledger, slug, with_prev};

/// A store under test, with whatever keeps it alive (a temporary directory).
pub struct Subject {
    pub store: Box<dyn EventStore>,
    _dir: Option<tempfile::TempDir>,
}

pub fn memory() -> Subject {
    Subject { store: Box::new(MemoryStore::new(ledger())), _dir: None }
}

pub fn redb() -> Subject {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = RedbStore::open(dir.path(), ledger()).expect("open new store");
    Subject { store: Box::new(store), _dir: Some(dir) }
}

fn all_events(store: &dyn EventStore) -> Vec<SignedEvent> {
    let mut events = Vec::new();
    store
        .for_each_event(&mut |event| {
            events.push(event);
            ControlFlow::Continue(())
        })
        .expect("for_each_event");
    events
}

fn assert_unchanged(store: &dyn EventStore, before: &[SignedEvent]) {
    assert_eq!(all_events(store), before, "a refused batch must leave the store as it was");
    assert_eq!(store.event_count().expect("count"), before.len() as u64);
}

pub fn appends_and_reads_back_exact_bytes(store: &dyn EventStore) {
    assert_eq!(store.ledger_id(), ledger());
    let mut feeds = Feeds::new();
    let mut batch = Vec::new();
    for _ in 0..4 {
        for org in ["zmina", "ccl", "crimea-sos"] {
            batch.push(feeds.next(org));
        }
    }
    let report = store.append(&batch).expect("append");
    assert_eq!(report.outcomes, vec![Appended::Stored; batch.len()]);
    assert_eq!((report.stored(), report.duplicates()), (12, 0));
    assert_eq!(store.event_count().expect("count"), 12);
    for event in &batch {
        let read = store.get(&event.id()).expect("get").expect("stored");
        assert_eq!(read.note().as_bytes(), event.note().as_bytes(), "exact note bytes");
        assert_eq!(read, *event);
    }
    assert_eq!(store.get(&EventId::of_text(b"never stored")).expect("get"), None);
    let zmina: Vec<SignedEvent> = batch.iter().filter(|event| event.event().org.as_str() == "zmina").cloned().collect();
    assert_eq!(store.read_feed(&slug("zmina"), 1, 100).expect("read"), zmina);
    assert_eq!(store.append(&[]).expect("empty append").outcomes, vec![]);
}

pub fn duplicates_are_idempotent(store: &dyn EventStore) {
    let mut feeds = Feeds::new();
    let events = feeds.many("zmina", 3);
    store.append(&events).expect("append");
    let again = store.append(&events).expect("append again");
    assert_eq!(again.outcomes, vec![Appended::Duplicate; 3]);
    let next = feeds.next("zmina");
    let mixed = store.append(&[events[1].clone(), next.clone(), next.clone()]).expect("mixed");
    assert_eq!(mixed.outcomes, vec![Appended::Duplicate, Appended::Stored, Appended::Duplicate]);
    assert_eq!(store.event_count().expect("count"), 4);
    assert_eq!(store.head(&slug("zmina")).expect("head"), Some((4, next.id())));
}

pub fn conflict_refuses_the_whole_batch(store: &dyn EventStore) {
    let mut feeds = Feeds::new();
    let zmina = feeds.many("zmina", 2);
    store.append(&zmina).expect("append");
    let before = all_events(store);
    let fork = fork_of(&zmina[1]);
    let ccl = feeds.next("ccl");
    let error = store.append(&[ccl.clone(), fork.clone()]).expect_err("a fork is refused");
    match &error {
        StoreError::Conflict { org, seq, stored, offered } => {
            assert_eq!((org.as_str(), *seq, *stored, *offered), ("zmina", 2, zmina[1].id(), fork.id()));
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert!(error.is_refusal());
    assert!(error.to_string().contains("nothing of the batch was stored"), "{error}");
    assert_eq!(store.head(&slug("ccl")).expect("head"), None, "the good event of the batch was left out too");
    assert_unchanged(store, &before);
    assert_eq!(store.get(&fork.id()).expect("get"), None);

    // A fork inside one batch is refused the same way.
    let third = feeds.next("zmina");
    let error = store.append(&[third.clone(), fork_of(&third)]).expect_err("fork within a batch");
    assert!(matches!(error, StoreError::Conflict { seq: 3, stored, .. } if stored == third.id()), "{error:?}");
    assert_unchanged(store, &before);
}

pub fn chain_break_is_refused(store: &dyn EventStore) {
    let mut feeds = Feeds::new();
    let zmina = feeds.many("zmina", 2);
    store.append(&zmina).expect("append");
    let before = all_events(store);
    let third = feeds.next("zmina");
    let broken = with_prev(&third, zmina[0].id());
    let error = store.append(&[broken]).expect_err("chain break");
    match error {
        StoreError::ChainBreak { org, seq, expected_prev, found_prev } => {
            assert_eq!(org.as_str(), "zmina");
            assert_eq!(seq, 3);
            assert_eq!(expected_prev, Some(zmina[1].id()));
            assert_eq!(found_prev, Some(zmina[0].id()));
        }
        other => panic!("expected ChainBreak, got {other:?}"),
    }
    assert_unchanged(store, &before);
    store.append(&[third]).expect("the right event still extends the feed");
}

pub fn seq_gap_is_refused(store: &dyn EventStore) {
    let mut feeds = Feeds::new();
    let zmina = feeds.many("zmina", 3);
    let error = store.append(&zmina[1..]).expect_err("a feed starts at seq 1");
    assert!(matches!(error, StoreError::SeqGap { expected: 1, found: 2, .. }), "{error:?}");
    assert_eq!(store.event_count().expect("count"), 0);
    store.append(&zmina[..1]).expect("append first");
    let error = store.append(&zmina[2..]).expect_err("gap");
    assert!(
        matches!(&error, StoreError::SeqGap { org, expected: 2, found: 3 } if org.as_str() == "zmina"),
        "{error:?}"
    );
    assert_eq!(store.event_count().expect("count"), 1);
    store.append(&zmina[1..]).expect("in order");
}

pub fn foreign_and_oversized_batches_are_refused(store: &dyn EventStore) {
    let mut feeds = Feeds::for_ledger(other_ledger());
    let foreign = feeds.next("zmina");
    let error = store.append(&[foreign]).expect_err("another ledger's event");
    assert!(
        matches!(error, StoreError::ForeignEvent { expected, found, .. } if expected == ledger() && found == other_ledger()),
        "{error:?}"
    );
    let event = Feeds::new().next("zmina");
    let too_many = vec![event; APPEND_BATCH_EVENTS_MAX + 1];
    let error = store.append(&too_many).expect_err("batch too large");
    assert!(matches!(error, StoreError::BatchTooLarge { count, max } if count == max + 1), "{error:?}");
    assert_eq!(store.event_count().expect("count"), 0);
}

pub fn heads_follow_the_feeds(store: &dyn EventStore) {
    assert!(store.heads().expect("heads").is_empty());
    let mut feeds = Feeds::new();
    let zmina = feeds.many("zmina", 3);
    let ccl = feeds.many("ccl", 1);
    store.append(&zmina).expect("append");
    store.append(&ccl).expect("append");
    let heads = store.heads().expect("heads");
    assert_eq!(heads.len(), 2);
    assert_eq!(heads[&slug("zmina")], (3, zmina[2].id()));
    assert_eq!(heads[&slug("ccl")], (1, ccl[0].id()));
    assert_eq!(store.head(&slug("zmina")).expect("head"), Some((3, zmina[2].id())));
    assert_eq!(store.head(&slug("crimea-sos")).expect("head"), None);
}

pub fn read_feed_ranges_and_limits(store: &dyn EventStore) {
    let mut feeds = Feeds::new();
    let zmina = feeds.many("zmina", 6);
    let ccl = feeds.many("ccl", 2);
    store.append(&[zmina.clone(), ccl].concat()).expect("append");
    let org = slug("zmina");
    assert_eq!(store.read_feed(&org, 0, 100).expect("read"), zmina, "seq 0 reads from 1");
    assert_eq!(store.read_feed(&org, 1, 100).expect("read"), zmina);
    assert_eq!(store.read_feed(&org, 3, 2).expect("read"), zmina[2..4]);
    assert_eq!(store.read_feed(&org, 6, 10).expect("read"), zmina[5..]);
    assert!(store.read_feed(&org, 7, 10).expect("read").is_empty());
    assert!(store.read_feed(&org, u64::MAX, 10).expect("read").is_empty());
    assert!(store.read_feed(&org, 1, 0).expect("read").is_empty());
    assert!(store.read_feed(&slug("crimea-sos"), 1, 10).expect("read").is_empty());
    assert_eq!(store.read_feed(&org, 2, usize::MAX).expect("read"), zmina[1..]);
}

pub fn for_each_event_streams_feed_by_feed(store: &dyn EventStore) {
    assert_eq!(store.for_each_event(&mut |_| ControlFlow::Continue(())).expect("empty"), 0);
    let mut feeds = Feeds::new();
    let mut appended = Vec::new();
    for round in 0..3 {
        let mut batch = Vec::new();
        for org in ["zmina", "ccl", "crimea-sos"] {
            batch.extend(feeds.many(org, round + 1));
        }
        store.append(&batch).expect("append");
        appended.extend(batch);
    }
    let mut expected = appended.clone();
    expected.sort_by(|left, right| {
        (left.event().org.as_str(), left.event().seq).cmp(&(right.event().org.as_str(), right.event().seq))
    });
    let visited = all_events(store);
    assert_eq!(ids(&visited), ids(&expected), "feeds in slug order, each in seq order");
    let mut seen = 0;
    let count = store
        .for_each_event(&mut |_| {
            seen += 1;
            if seen == 4 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })
        .expect("stop early");
    assert_eq!((count, seen), (4, 4));
    // The visitor may use the store while it is being walked.
    let mut lookups = 0;
    store
        .for_each_event(&mut |event| {
            assert!(store.get(&event.id()).expect("get while walking").is_some());
            lookups += 1;
            ControlFlow::Continue(())
        })
        .expect("walk");
    assert_eq!(lookups, expected.len());
}

pub fn for_each_event_is_a_snapshot(store: &dyn EventStore) {
    let mut feeds = Feeds::new();
    store.append(&feeds.many("zmina", 3)).expect("append");
    store.append(&feeds.many("ccl", 2)).expect("append");
    let (late_zmina, late_feed) = (feeds.next("zmina"), feeds.next("crimea-sos"));
    let mut appended = false;
    let visited = store
        .for_each_event(&mut |_| {
            if !appended {
                store.append(&[late_zmina.clone(), late_feed.clone()]).expect("append while walking");
                appended = true;
            }
            ControlFlow::Continue(())
        })
        .expect("a walk is not disturbed by appends");
    assert_eq!(visited, 5, "the walk sees the store as it was when it started");
    assert_eq!(all_events(store).len(), 7);
}

pub fn fork_proofs_are_kept(store: &dyn EventStore) {
    assert!(store.fork_proofs().expect("proofs").is_empty());
    let mut feeds = Feeds::new();
    let zmina = feeds.many("zmina", 2);
    store.append(&zmina).expect("append");
    let fork = fork_of(&zmina[1]);
    let org = slug("zmina");
    assert!(store.put_fork_proof(&org, 2, zmina[1].note(), fork.note()).expect("put"));
    assert!(!store.put_fork_proof(&org, 2, fork.note(), zmina[1].note()).expect("again"), "the first is kept");
    let proofs = store.fork_proofs().expect("proofs");
    assert_eq!(proofs.len(), 1);
    assert_eq!((proofs[0].org.as_str(), proofs[0].seq), ("zmina", 2));
    assert_eq!(proofs[0].first.note(), zmina[1].note());
    assert_eq!(proofs[0].second.note(), fork.note());

    let refused: [(&OrgSlug, u64, &str, &str); 4] = [
        (&org, 2, zmina[1].note(), zmina[1].note()),
        (&org, 1, zmina[1].note(), fork.note()),
        (&slug("ccl"), 2, zmina[1].note(), fork.note()),
        (&org, 2, "not a note", fork.note()),
    ];
    for (org, seq, first, second) in refused {
        let error = store.put_fork_proof(org, seq, first, second).expect_err("not a fork proof");
        assert!(matches!(error, StoreError::InvalidForkProof { .. }), "{error:?}");
    }
    assert_eq!(store.fork_proofs().expect("proofs").len(), 1);
}

pub fn quarantine_keeps_garbage_and_bounds_size(store: &dyn EventStore) {
    assert_eq!(store.quarantine_count().expect("count"), 0);
    let garbage: &[u8] = &[0xff, 0x00, 0xfe, b'\n', 0x80];
    let first = store.quarantine(garbage, "bad_note: not UTF-8", 1_700_000_000).expect("quarantine");
    assert_eq!(first, QuarantineId(1));
    let empty = store.quarantine(b"", "empty", -5).expect("quarantine");
    let exact = vec![b'x'; QUARANTINE_KEPT_BYTES_MAX];
    store.quarantine(&exact, "too_large", 3).expect("quarantine");
    let huge: Vec<u8> = (0..QUARANTINE_KEPT_BYTES_MAX * 3).map(|index| (index % 251) as u8).collect();
    let long_reason = "é".repeat(QUARANTINE_REASON_BYTES_MAX);
    let last = store.quarantine(&huge, &long_reason, 4).expect("quarantine");
    assert_eq!((empty, last), (QuarantineId(2), QuarantineId(4)));
    assert_eq!(store.quarantine_count().expect("count"), 4);

    let records = store.quarantined(QuarantineId(0), 100).expect("read");
    assert_eq!(records.len(), 4);
    assert_eq!(records[0].kept, garbage);
    assert_eq!((records[0].reason.as_str(), records[0].received_at_unix_s), ("bad_note: not UTF-8", 1_700_000_000));
    assert!(records[0].is_whole());
    assert_eq!(records[0].blake3, *blake3::hash(garbage).as_bytes());
    assert_eq!((records[1].kept.len(), records[1].received_at_unix_s), (0, -5));
    assert!(records[2].is_whole());
    assert_eq!(records[2].kept, exact);
    let oversized = &records[3];
    assert!(!oversized.is_whole());
    assert_eq!(oversized.original_len, huge.len() as u64);
    assert_eq!(oversized.kept, huge[..QUARANTINE_PREFIX_BYTES]);
    assert_eq!(oversized.blake3, *blake3::hash(&huge).as_bytes());
    assert!(oversized.reason.len() <= QUARANTINE_REASON_BYTES_MAX && oversized.reason.starts_with("éé"));
    assert!(long_reason.starts_with(&oversized.reason));

    let page = store.quarantined(QuarantineId(2), 2).expect("page");
    assert_eq!(page.iter().map(|record| record.id).collect::<Vec<_>>(), [QuarantineId(2), QuarantineId(3)]);
    assert!(store.quarantined(QuarantineId(5), 10).expect("past the end").is_empty());
    assert!(store.quarantined(QuarantineId(1), usize::MAX).expect("capped").len() <= QUARANTINE_PAGE_MAX);
}

pub fn outbox_cursor_only_moves_forward(store: &dyn EventStore) {
    let org = slug("zmina");
    assert_eq!(store.published_seq(&org).expect("cursor"), 0);
    store.set_published_seq(&org, 0).expect("0 on an empty feed");
    let error = store.set_published_seq(&org, 1).expect_err("nothing stored to publish");
    assert!(matches!(error, StoreError::CursorAhead { offered: 1, head: 0, .. }), "{error:?}");
    let mut feeds = Feeds::new();
    store.append(&feeds.many("zmina", 3)).expect("append");
    store.set_published_seq(&org, 2).expect("forward");
    store.set_published_seq(&org, 2).expect("the same again");
    assert_eq!(store.published_seq(&org).expect("cursor"), 2);
    let error = store.set_published_seq(&org, 1).expect_err("backwards");
    assert!(matches!(error, StoreError::CursorBackwards { stored: 2, offered: 1, .. }), "{error:?}");
    let error = store.set_published_seq(&org, 4).expect_err("past the head");
    assert!(matches!(error, StoreError::CursorAhead { offered: 4, head: 3, .. }), "{error:?}");
    store.set_published_seq(&org, 3).expect("to the head");
    assert_eq!(store.published_seq(&org).expect("cursor"), 3);
    assert_eq!(store.published_seq(&slug("ccl")).expect("other feed"), 0);
}

pub fn verify_integrity_walks_everything(store: &dyn EventStore) {
    let mut feeds = Feeds::new();
    let zmina = feeds.many("zmina", 3);
    store.append(&zmina).expect("append");
    store.append(&feeds.many("ccl", 2)).expect("append");
    store.put_fork_proof(&slug("zmina"), 3, zmina[2].note(), fork_of(&zmina[2]).note()).expect("proof");
    store.quarantine(b"junk", "bad_note", 0).expect("quarantine");
    store.set_published_seq(&slug("zmina"), 2).expect("cursor");
    let mut calls = Vec::new();
    let report = store.verify_integrity(&mut |done| calls.push(done)).expect("intact");
    assert_eq!((report.events, report.feeds, report.fork_proofs, report.quarantined), (5, 2, 1, 1));
    assert_eq!(calls.last(), Some(&5), "progress ends with the total");
}

pub fn private_records_are_kept_listed_and_deleted(store: &dyn EventStore) {
    let (grants, reports) = (PrivateSpace::KeyGrants, PrivateSpace::Reports);
    assert_eq!(store.private_ids(reports, None, 10).expect("empty list"), Vec::<String>::new());
    assert!(store.put_private(reports, "r-2", b"second").expect("put"));
    assert!(store.put_private(reports, "r-1", b"first").expect("put"));
    assert!(!store.put_private(reports, "r-1", b"other bytes").expect("the first is kept"));
    assert!(store.put_private(grants, "r-1", b"a grant with the same id").expect("spaces are apart"));
    assert_eq!(store.get_private(reports, "r-1").expect("get").as_deref(), Some(&b"first"[..]));
    assert_eq!(store.get_private(grants, "r-1").expect("get").as_deref(), Some(&b"a grant with the same id"[..]));
    assert_eq!(store.private_ids(reports, None, 10).expect("list"), ["r-1", "r-2"]);
    assert_eq!(store.private_ids(reports, Some("r-1"), 10).expect("after"), ["r-2"]);
    assert_eq!(store.private_ids(reports, None, 1).expect("limit"), ["r-1"]);
    assert_eq!(store.private_ids(grants, None, 10).expect("other space"), ["r-1"]);
    assert!(store.delete_private(reports, "r-1").expect("delete"));
    assert!(!store.delete_private(reports, "r-1").expect("already gone"));
    assert_eq!(store.get_private(reports, "r-1").expect("get"), None);
    assert_eq!(store.private_ids(reports, None, 10).expect("list"), ["r-2"]);
    assert_eq!(
        store.get_private(grants, "r-1").expect("the grant stays").as_deref(),
        Some(&b"a grant with the same id"[..])
    );
    for bad_id in ["", "UPPER", "with space", "a/b", &"x".repeat(PRIVATE_ID_BYTES_MAX + 1)] {
        let error = store.put_private(reports, bad_id, b"x").expect_err("bad id");
        assert!(matches!(error, StoreError::PrivateRecordRefused { .. }), "{bad_id:?}: {error:?}");
    }
    let error = store.put_private(reports, "big", &vec![0; PRIVATE_RECORD_BYTES_MAX + 1]).expect_err("too big");
    assert!(matches!(error, StoreError::PrivateRecordRefused { .. }), "{error:?}");
    store.put_private(reports, "max", &vec![7; PRIVATE_RECORD_BYTES_MAX]).expect("the limit itself");
    assert!(store.private_ids(reports, None, usize::MAX).expect("list").len() <= PRIVATE_PAGE_MAX);
}

/// Runs every function of the suite against the stores `$make` builds.
macro_rules! conformance_suite {
    ($module:ident, $make:path) => {
        mod $module {
            use super::*;

            #[test]
            fn appends_and_reads_back_exact_bytes() {
                super::appends_and_reads_back_exact_bytes(&*$make().store);
            }
            #[test]
            fn duplicates_are_idempotent() {
                super::duplicates_are_idempotent(&*$make().store);
            }
            #[test]
            fn conflict_refuses_the_whole_batch() {
                super::conflict_refuses_the_whole_batch(&*$make().store);
            }
            #[test]
            fn chain_break_is_refused() {
                super::chain_break_is_refused(&*$make().store);
            }
            #[test]
            fn seq_gap_is_refused() {
                super::seq_gap_is_refused(&*$make().store);
            }
            #[test]
            fn foreign_and_oversized_batches_are_refused() {
                super::foreign_and_oversized_batches_are_refused(&*$make().store);
            }
            #[test]
            fn heads_follow_the_feeds() {
                super::heads_follow_the_feeds(&*$make().store);
            }
            #[test]
            fn read_feed_ranges_and_limits() {
                super::read_feed_ranges_and_limits(&*$make().store);
            }
            #[test]
            fn for_each_event_streams_feed_by_feed() {
                super::for_each_event_streams_feed_by_feed(&*$make().store);
            }
            #[test]
            fn for_each_event_is_a_snapshot() {
                super::for_each_event_is_a_snapshot(&*$make().store);
            }
            #[test]
            fn fork_proofs_are_kept() {
                super::fork_proofs_are_kept(&*$make().store);
            }
            #[test]
            fn quarantine_keeps_garbage_and_bounds_size() {
                super::quarantine_keeps_garbage_and_bounds_size(&*$make().store);
            }
            #[test]
            fn outbox_cursor_only_moves_forward() {
                super::outbox_cursor_only_moves_forward(&*$make().store);
            }
            #[test]
            fn verify_integrity_walks_everything() {
                super::verify_integrity_walks_everything(&*$make().store);
            }
            #[test]
            fn private_records_are_kept_listed_and_deleted() {
                super::private_records_are_kept_listed_and_deleted(&*$make().store);
            }
        }
    };
}

conformance_suite!(memory_store, memory);
conformance_suite!(redb_store, redb);
