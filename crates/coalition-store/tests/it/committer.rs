//! The group committer: concurrent single-event appends share durable commits, keep their
//! order, and each get their own verdict.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::{Arc, Barrier, Mutex};

use coalition_core::event::{EventId, LedgerId, OrgSlug, SignedEvent};
use coalition_store::{
    AppendReport, Appended, EventStore, ForkProof, GroupCommitter, Head, IntegrityReport, MemoryStore, PrivateSpace,
    QuarantineId, QuarantinedNote, RedbStore, StoreError,
};

use crate::support::{Feeds, fork_of, ledger, slug};

#[test]
fn many_writers_share_commits_and_keep_feed_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn EventStore> = Arc::new(RedbStore::open(dir.path(), ledger()).expect("open"));
    let committer = GroupCommitter::start(Arc::clone(&store)).expect("start");
    const WRITERS: usize = 8;
    const PER_WRITER: usize = 25;
    let mut feeds = Feeds::new();
    let work: Vec<Vec<SignedEvent>> =
        (0..WRITERS).map(|writer| feeds.many(&format!("org-{writer}"), PER_WRITER)).collect();
    std::thread::scope(|scope| {
        for events in &work {
            let committer = &committer;
            scope.spawn(move || {
                for event in events {
                    assert_eq!(committer.submit(event.clone()).expect("durable"), Appended::Stored);
                }
            });
        }
    });
    assert_eq!(store.event_count().expect("count"), (WRITERS * PER_WRITER) as u64);
    assert_eq!(committer.events(), (WRITERS * PER_WRITER) as u64);
    assert!(committer.commits() <= committer.events());
    eprintln!("{} events in {} commits", committer.events(), committer.commits());
    for (writer, events) in work.iter().enumerate() {
        assert_eq!(store.read_feed(&slug(&format!("org-{writer}")), 1, 100).expect("read"), *events);
    }
    store.verify_integrity(&mut |_| {}).expect("intact");
}

#[test]
fn one_feed_from_many_threads_in_enqueue_order() {
    // The node's pattern: assign seq under the feed's lock, enqueue, unlock, then wait.
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new(ledger()));
    let committer = GroupCommitter::start(Arc::clone(&store)).expect("start");
    let feed = Mutex::new(Feeds::new());
    std::thread::scope(|scope| {
        for _ in 0..6 {
            scope.spawn(|| {
                for _ in 0..20 {
                    let pending = {
                        let mut feed = feed.lock().expect("feed lock");
                        committer.enqueue(feed.next("zmina")).expect("enqueue")
                    };
                    let id = pending.id();
                    assert_eq!(pending.wait().expect("durable"), Appended::Stored);
                    assert!(store.get(&id).expect("get").is_some(), "visible once acknowledged");
                }
            });
        }
    });
    assert_eq!(store.head(&slug("zmina")).expect("head").map(|(seq, _)| seq), Some(120));
    store.verify_integrity(&mut |_| {}).expect("one unbroken feed");
}

/// A store whose first append waits at a gate, so the test can line up the next batch.
struct GatedStore {
    inner: MemoryStore,
    gate: Barrier,
    gated: Mutex<bool>,
}

impl EventStore for GatedStore {
    fn ledger_id(&self) -> LedgerId {
        self.inner.ledger_id()
    }
    fn append(&self, events: &[SignedEvent]) -> Result<AppendReport, StoreError> {
        let first = std::mem::replace(&mut *self.gated.lock().expect("gate flag"), false);
        if first {
            self.gate.wait();
            self.gate.wait();
        }
        self.inner.append(events)
    }
    fn head(&self, org: &OrgSlug) -> Result<Option<Head>, StoreError> {
        self.inner.head(org)
    }
    fn heads(&self) -> Result<BTreeMap<OrgSlug, Head>, StoreError> {
        self.inner.heads()
    }
    fn get(&self, id: &EventId) -> Result<Option<SignedEvent>, StoreError> {
        self.inner.get(id)
    }
    fn read_feed(&self, org: &OrgSlug, from_seq: u64, limit: usize) -> Result<Vec<SignedEvent>, StoreError> {
        self.inner.read_feed(org, from_seq, limit)
    }
    fn event_count(&self) -> Result<u64, StoreError> {
        self.inner.event_count()
    }
    fn for_each_event(&self, visitor: &mut dyn FnMut(SignedEvent) -> ControlFlow<()>) -> Result<u64, StoreError> {
        self.inner.for_each_event(visitor)
    }
    fn put_fork_proof(&self, org: &OrgSlug, seq: u64, first: &str, second: &str) -> Result<bool, StoreError> {
        self.inner.put_fork_proof(org, seq, first, second)
    }
    fn fork_proofs(&self) -> Result<Vec<ForkProof>, StoreError> {
        self.inner.fork_proofs()
    }
    fn quarantine(&self, bytes: &[u8], reason: &str, at: i64) -> Result<QuarantineId, StoreError> {
        self.inner.quarantine(bytes, reason, at)
    }
    fn quarantined(&self, from: QuarantineId, limit: usize) -> Result<Vec<QuarantinedNote>, StoreError> {
        self.inner.quarantined(from, limit)
    }
    fn quarantine_count(&self) -> Result<u64, StoreError> {
        self.inner.quarantine_count()
    }
    fn published_seq(&self, org: &OrgSlug) -> Result<u64, StoreError> {
        self.inner.published_seq(org)
    }
    fn set_published_seq(&self, org: &OrgSlug, seq: u64) -> Result<(), StoreError> {
        self.inner.set_published_seq(org, seq)
    }
    fn verify_integrity(&self, progress: &mut dyn FnMut(u64)) -> Result<IntegrityReport, StoreError> {
        self.inner.verify_integrity(progress)
    }
    fn put_private(&self, space: PrivateSpace, id: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        self.inner.put_private(space, id, bytes)
    }
    fn get_private(&self, space: PrivateSpace, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get_private(space, id)
    }
    fn delete_private(&self, space: PrivateSpace, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_private(space, id)
    }
    fn private_ids(&self, space: PrivateSpace, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError> {
        self.inner.private_ids(space, after, limit)
    }
}

#[test]
fn a_refused_event_does_not_fail_its_batch_mates() {
    let gated =
        Arc::new(GatedStore { inner: MemoryStore::new(ledger()), gate: Barrier::new(2), gated: Mutex::new(true) });
    let committer = GroupCommitter::start(Arc::clone(&gated) as Arc<dyn EventStore>).expect("start");
    let mut feeds = Feeds::new();
    let first = committer.enqueue(feeds.next("ccl")).expect("enqueue");
    gated.gate.wait(); // the committer is inside the first append
    let zmina = feeds.many("zmina", 2);
    let good = committer.enqueue(zmina[0].clone()).expect("enqueue");
    let fork = committer.enqueue(fork_of(&zmina[0])).expect("enqueue");
    let gap = committer.enqueue(feeds.next("zmina")).expect("enqueue"); // seq 3: seq 2 is never sent
    let duplicate = committer.enqueue(zmina[0].clone()).expect("enqueue");
    let other = committer.enqueue(feeds.next("ccl")).expect("enqueue");
    gated.gate.wait(); // release: the five above form the next batch
    assert_eq!(first.wait().expect("first"), Appended::Stored);
    assert_eq!(good.wait().expect("good"), Appended::Stored);
    assert!(matches!(fork.wait(), Err(StoreError::Conflict { seq: 1, .. })));
    assert!(matches!(gap.wait(), Err(StoreError::SeqGap { expected: 2, found: 3, .. })));
    assert_eq!(duplicate.wait().expect("duplicate"), Appended::Duplicate);
    assert_eq!(other.wait().expect("other feed"), Appended::Stored);
    assert_eq!(gated.event_count().expect("count"), 3);
}

#[test]
fn shutdown_commits_what_is_queued() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new(ledger()));
    let committer = GroupCommitter::start(Arc::clone(&store)).expect("start");
    let mut feeds = Feeds::new();
    let pending: Vec<_> =
        feeds.many("zmina", 50).into_iter().map(|event| committer.enqueue(event).expect("enqueue")).collect();
    committer.shutdown();
    for waiting in pending {
        assert_eq!(waiting.wait().expect("committed before the thread ended"), Appended::Stored);
    }
    assert_eq!(store.event_count().expect("count"), 50);
}

#[test]
fn reserved_places_commit_in_reservation_order_whatever_order_they_are_filled_in() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new(ledger()));
    let committer = GroupCommitter::start(Arc::clone(&store)).expect("start");
    let events = Feeds::new().many("zmina", 3);
    let places: Vec<_> = events.iter().map(|_| committer.reserve().expect("reserve")).collect();
    // Filled last to first: the committer must still store seq 1, 2, 3 in that order.
    let pending: Vec<_> =
        places.into_iter().zip(events.iter().cloned()).rev().map(|(place, event)| place.fill(event)).collect();
    for pending in pending {
        assert_eq!(pending.wait().expect("durable"), Appended::Stored);
    }
    assert_eq!(store.read_feed(&slug("zmina"), 1, 10).expect("read"), events);
}

#[test]
fn an_abandoned_place_stores_nothing_and_what_chained_on_it_is_refused() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new(ledger()));
    let committer = GroupCommitter::start(Arc::clone(&store)).expect("start");
    let events = Feeds::new().many("zmina", 2);
    let first = committer.reserve().expect("reserve");
    let second = committer.reserve().expect("reserve");
    let second = second.fill(events[1].clone());
    first.abandon().wait();
    let refused = second.wait().expect_err("its prev was never stored");
    assert!(refused.is_refusal(), "{refused}");
    assert_eq!(store.event_count().expect("count"), 0);
    // A dropped reservation is given up too, and the feed continues from what is durable.
    drop(committer.reserve().expect("reserve"));
    assert_eq!(committer.submit(events[0].clone()).expect("durable"), Appended::Stored);
}

#[test]
fn the_hook_sees_each_stored_event_in_order_before_its_writer_is_answered() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new(ledger()));
    let seen: Arc<Mutex<Vec<EventId>>> = Arc::default();
    let hook_seen = Arc::clone(&seen);
    let committer = GroupCommitter::with_hook(
        Arc::clone(&store),
        Box::new(move |events: &[SignedEvent]| {
            hook_seen.lock().expect("seen").extend(events.iter().map(SignedEvent::id));
        }),
    )
    .expect("start");
    let events = Feeds::new().many("zmina", 5);
    for (index, event) in events.iter().enumerate() {
        assert_eq!(committer.submit(event.clone()).expect("durable"), Appended::Stored);
        assert_eq!(seen.lock().expect("seen").len(), index + 1, "seen before the answer");
    }
    // A duplicate is answered, but not handed to the hook again.
    assert_eq!(committer.submit(events[0].clone()).expect("answered"), Appended::Duplicate);
    let expected: Vec<EventId> = events.iter().map(SignedEvent::id).collect();
    assert_eq!(*seen.lock().expect("seen"), expected);
}
