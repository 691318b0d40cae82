//! Property tests: any sequence of batches (in order, duplicated, forked, gapped, shuffled) gets
//! the same verdicts from both implementations, leaves both holding the same unbroken feeds, and
//! the durable one holds them again after a reopen.

use std::ops::ControlFlow;
use std::sync::OnceLock;

use coalition_core::event::{EventId, SignedEvent};
use coalition_store::{EventStore, MemoryStore, RedbStore, StoreError};
use proptest::prelude::*;

use crate::support::{Feeds, fork_of, ledger};

/// Events the batches are drawn from: two feeds of five events, and a fork of each event.
fn pool() -> &'static [SignedEvent] {
    static POOL: OnceLock<Vec<SignedEvent>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut feeds = Feeds::new();
        let mut events = Vec::new();
        for org in ["ccl", "zmina"] {
            events.extend(feeds.many(org, 5));
        }
        let forks: Vec<SignedEvent> = events.iter().map(fork_of).collect();
        events.extend(forks);
        events
    })
}

fn verdict(
    result: Result<coalition_store::AppendReport, StoreError>,
) -> Result<Vec<coalition_store::Appended>, String> {
    result.map(|report| report.outcomes).map_err(|error| {
        assert!(error.is_refusal(), "only refusals are expected here: {error:?}");
        error.to_string()
    })
}

fn contents(store: &dyn EventStore) -> Vec<EventId> {
    let mut ids = Vec::new();
    store
        .for_each_event(&mut |event| {
            ids.push(event.id());
            ControlFlow::Continue(())
        })
        .expect("walk");
    ids
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn both_stores_agree_and_feeds_stay_unbroken(
        batches in prop::collection::vec(prop::collection::vec(0..20usize, 1..6), 1..10),
    ) {
        let pool = pool();
        let memory = MemoryStore::new(ledger());
        let dir = tempfile::tempdir().expect("temp dir");
        let durable = RedbStore::open(dir.path(), ledger()).expect("open");
        for batch in &batches {
            let events: Vec<SignedEvent> = batch.iter().map(|index| pool[*index].clone()).collect();
            let expected = verdict(memory.append(&events));
            prop_assert_eq!(verdict(durable.append(&events)), expected);
        }
        prop_assert_eq!(memory.heads().expect("heads"), durable.heads().expect("heads"));
        prop_assert_eq!(contents(&memory), contents(&durable));
        memory.verify_integrity(&mut |_| {}).expect("memory intact");
        durable.verify_integrity(&mut |_| {}).expect("durable intact");
        let before = contents(&durable);
        durable.close().expect("close");
        let reopened = RedbStore::open(dir.path(), ledger()).expect("reopen");
        prop_assert_eq!(contents(&reopened), before);
    }
}
