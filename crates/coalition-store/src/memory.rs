//! [`MemoryStore`]: the event store in memory, for tests and tools. It keeps the same encoded
//! values as the durable store and runs the same checks on what it reads back, so the
//! conformance suite holds it to exactly the same behaviour.

use std::collections::{BTreeMap, HashMap};
use std::ops::{Bound, ControlFlow};
use std::path::Path;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use coalition_core::event::{EventId, LedgerId, OrgSlug, SignedEvent};

use crate::batch::{self, StoredFeeds};
use crate::codec::{self, ChainCheck};
use crate::error::StoreError;
use crate::limits::PRIVATE_PAGE_MAX;
use crate::limits::{INTEGRITY_PROGRESS_EVERY, QUARANTINE_PAGE_MAX, READ_FEED_EVENTS_MAX};
use crate::{
    AppendReport, Appended, EventStore, ForkProof, Head, IntegrityReport, PrivateSpace, QuarantineId, QuarantinedNote,
    check_private_record,
};

/// What errors name as the "file" of a memory store.
const MEMORY_FILE: &str = "(memory store)";

/// Events handed out per hold of the lock in [`EventStore::for_each_event`], so that a visitor
/// may call back into the store (even append) without deadlocking.
const VISIT_CHUNK: usize = 256;

/// An [`EventStore`] in memory. Appends are serialised by a lock; reads share it.
#[derive(Debug)]
pub struct MemoryStore {
    ledger: LedgerId,
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// (org, seq) → encoded event (id, then note bytes).
    events: BTreeMap<(OrgSlug, u64), Vec<u8>>,
    ids: HashMap<EventId, (OrgSlug, u64)>,
    heads: BTreeMap<OrgSlug, Head>,
    fork_proofs: BTreeMap<(OrgSlug, u64), Vec<u8>>,
    quarantine: BTreeMap<u64, Vec<u8>>,
    published: BTreeMap<OrgSlug, u64>,
    private: BTreeMap<(PrivateSpace, String), Vec<u8>>,
}

impl StoredFeeds for &Inner {
    fn head(&mut self, org: &OrgSlug) -> Result<Option<Head>, StoreError> {
        Ok(self.heads.get(org).copied())
    }

    fn contains(&mut self, id: &EventId) -> Result<bool, StoreError> {
        Ok(self.ids.contains_key(id))
    }

    fn id_at(&mut self, org: &OrgSlug, seq: u64) -> Result<EventId, StoreError> {
        let value = self.events.get(&(org.clone(), seq)).ok_or_else(|| StoreError::Corrupt {
            file: MEMORY_FILE.into(),
            detail: format!("the head of {org} is past seq {seq}, but no event is stored there"),
        })?;
        codec::stored_id(Path::new(MEMORY_FILE), org.as_str(), seq, value)
    }
}

impl MemoryStore {
    /// An empty store for `ledger`.
    pub fn new(ledger: LedgerId) -> Self {
        Self { ledger, inner: RwLock::new(Inner::default()) }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn file() -> &'static Path {
        Path::new(MEMORY_FILE)
    }
}

impl EventStore for MemoryStore {
    fn ledger_id(&self) -> LedgerId {
        self.ledger
    }

    fn append(&self, events: &[SignedEvent]) -> Result<AppendReport, StoreError> {
        let mut inner = self.write();
        let plan = batch::plan(self.ledger, events, &mut &*inner)?;
        for (event, outcome) in events.iter().zip(&plan.outcomes) {
            if *outcome == Appended::Stored {
                let place = (event.event().org.clone(), event.event().seq);
                inner.ids.insert(event.id(), place.clone());
                inner.events.insert(place, codec::encode_event(event));
            }
        }
        inner.heads.extend(plan.new_heads);
        Ok(AppendReport { outcomes: plan.outcomes })
    }

    fn head(&self, org: &OrgSlug) -> Result<Option<Head>, StoreError> {
        Ok(self.read().heads.get(org).copied())
    }

    fn heads(&self) -> Result<BTreeMap<OrgSlug, Head>, StoreError> {
        Ok(self.read().heads.clone())
    }

    fn get(&self, id: &EventId) -> Result<Option<SignedEvent>, StoreError> {
        let inner = self.read();
        let Some((org, seq)) = inner.ids.get(id) else { return Ok(None) };
        let value = inner.events.get(&(org.clone(), *seq)).ok_or_else(|| StoreError::Corrupt {
            file: MEMORY_FILE.into(),
            detail: format!("event {id} is indexed at {org} seq {seq}, but nothing is stored there"),
        })?;
        let event = codec::decode_event(Self::file(), org.as_str(), *seq, value)?;
        if event.id() != *id {
            return Err(StoreError::Corrupt {
                file: MEMORY_FILE.into(),
                detail: format!("event {id} is indexed at {org} seq {seq}, where event {} is stored", event.id()),
            });
        }
        Ok(Some(event))
    }

    fn read_feed(&self, org: &OrgSlug, from_seq: u64, limit: usize) -> Result<Vec<SignedEvent>, StoreError> {
        let from_seq = from_seq.max(1);
        let limit = limit.min(READ_FEED_EVENTS_MAX);
        let inner = self.read();
        let mut check = match from_seq {
            1 => ChainCheck::after(org, None),
            seq => match inner.events.get(&(org.clone(), seq - 1)) {
                Some(value) => ChainCheck::after(
                    org,
                    Some((seq - 1, codec::stored_id(Self::file(), org.as_str(), seq - 1, value)?)),
                ),
                // Nothing before: the read starts past the head, or the event is lost (then the
                // first event read below is reported).
                None => ChainCheck::after_missing(org),
            },
        };
        let mut events = Vec::new();
        for ((_, seq), value) in inner.events.range((org.clone(), from_seq)..=(org.clone(), u64::MAX)).take(limit) {
            let event = codec::decode_event(Self::file(), org.as_str(), *seq, value)?;
            check.next(Self::file(), &event)?;
            events.push(event);
        }
        Ok(events)
    }

    fn event_count(&self) -> Result<u64, StoreError> {
        Ok(self.read().events.len() as u64)
    }

    fn for_each_event(&self, visitor: &mut dyn FnMut(SignedEvent) -> ControlFlow<()>) -> Result<u64, StoreError> {
        // The lock is taken per chunk so that the visitor may use the store; events up to the
        // heads seen at the start form the snapshot (stored events never change).
        let snapshot = self.read().heads.clone();
        let mut check = ChainCheck::whole_feeds(snapshot.clone());
        let mut after: Option<(OrgSlug, u64)> = None;
        let mut visited = 0;
        loop {
            let (chunk, last_key) = {
                let inner = self.read();
                let range = match &after {
                    Some(key) => inner.events.range((Bound::Excluded(key.clone()), Bound::Unbounded)),
                    None => inner.events.range::<(OrgSlug, u64), _>(..),
                };
                let mut last_key = None;
                let mut chunk = Vec::new();
                for ((org, seq), value) in range.take(VISIT_CHUNK) {
                    last_key = Some((org.clone(), *seq));
                    if snapshot.get(org).is_some_and(|(head, _)| seq <= head) {
                        chunk.push(codec::decode_event(Self::file(), org.as_str(), *seq, value)?);
                    }
                }
                (chunk, last_key)
            };
            let Some(last_key) = last_key else { break };
            after = Some(last_key);
            for event in chunk {
                check.next(Self::file(), &event)?;
                visited += 1;
                if visitor(event).is_break() {
                    return Ok(visited);
                }
            }
        }
        check.finish(Self::file())?;
        Ok(visited)
    }

    fn put_fork_proof(&self, org: &OrgSlug, seq: u64, first_note: &str, second_note: &str) -> Result<bool, StoreError> {
        codec::check_fork_proof(self.ledger, org, seq, first_note, second_note)
            .map_err(|detail| StoreError::InvalidForkProof { org: org.clone(), seq, detail })?;
        let mut inner = self.write();
        let place = (org.clone(), seq);
        if inner.fork_proofs.contains_key(&place) {
            return Ok(false);
        }
        inner.fork_proofs.insert(place, codec::encode_fork_proof(first_note, second_note));
        Ok(true)
    }

    fn fork_proofs(&self) -> Result<Vec<ForkProof>, StoreError> {
        self.read()
            .fork_proofs
            .iter()
            .map(|((org, seq), value)| codec::decode_fork_proof(Self::file(), self.ledger, org.as_str(), *seq, value))
            .collect()
    }

    fn quarantine(&self, note_bytes: &[u8], reason: &str, received_at_unix_s: i64) -> Result<QuarantineId, StoreError> {
        let mut inner = self.write();
        let next = inner.quarantine.last_key_value().map_or(1, |(id, _)| id + 1);
        inner.quarantine.insert(next, codec::encode_quarantine(note_bytes, reason, received_at_unix_s));
        Ok(QuarantineId(next))
    }

    fn quarantined(&self, from: QuarantineId, limit: usize) -> Result<Vec<QuarantinedNote>, StoreError> {
        self.read()
            .quarantine
            .range(from.0..)
            .take(limit.min(QUARANTINE_PAGE_MAX))
            .map(|(id, value)| codec::decode_quarantine(Self::file(), QuarantineId(*id), value))
            .collect()
    }

    fn quarantine_count(&self) -> Result<u64, StoreError> {
        Ok(self.read().quarantine.len() as u64)
    }

    fn published_seq(&self, org: &OrgSlug) -> Result<u64, StoreError> {
        Ok(self.read().published.get(org).copied().unwrap_or(0))
    }

    fn set_published_seq(&self, org: &OrgSlug, seq: u64) -> Result<(), StoreError> {
        let mut inner = self.write();
        let stored = inner.published.get(org).copied().unwrap_or(0);
        let head = inner.heads.get(org).map_or(0, |(seq, _)| *seq);
        check_cursor(org, stored, seq, head)?;
        inner.published.insert(org.clone(), seq);
        Ok(())
    }

    fn verify_integrity(&self, progress: &mut dyn FnMut(u64)) -> Result<IntegrityReport, StoreError> {
        let inner = self.read();
        let file = Self::file();
        let corrupt = |detail: String| StoreError::Corrupt { file: MEMORY_FILE.into(), detail };
        let mut report = IntegrityReport::default();
        let mut check = ChainCheck::whole_feeds(inner.heads.clone());
        for ((org, seq), value) in &inner.events {
            let event = codec::decode_event(file, org.as_str(), *seq, value)?;
            check.next(file, &event)?;
            if inner.ids.get(&event.id()) != Some(&(org.clone(), *seq)) {
                return Err(corrupt(format!("event {} ({org} seq {seq}) is missing from the id index", event.id())));
            }
            report.events += 1;
            if report.events.is_multiple_of(INTEGRITY_PROGRESS_EVERY) {
                progress(report.events);
            }
        }
        report.feeds = check.finish(file)? as u64;
        if inner.ids.len() as u64 != report.events {
            return Err(corrupt(format!("the id index has {} entries for {} events", inner.ids.len(), report.events)));
        }
        for ((org, seq), value) in &inner.fork_proofs {
            codec::decode_fork_proof(file, self.ledger, org.as_str(), *seq, value)?;
            report.fork_proofs += 1;
        }
        for (id, value) in &inner.quarantine {
            codec::decode_quarantine(file, QuarantineId(*id), value)?;
            report.quarantined += 1;
        }
        for (org, published) in &inner.published {
            let head = inner.heads.get(org).map_or(0, |(seq, _)| *seq);
            if *published > head {
                return Err(corrupt(format!(
                    "{org} is recorded as published up to seq {published}, past its head {head}"
                )));
            }
        }
        progress(report.events);
        Ok(report)
    }

    fn put_private(&self, space: PrivateSpace, id: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        check_private_record(id, bytes)?;
        let mut inner = self.write();
        match inner.private.entry((space, id.to_owned())) {
            std::collections::btree_map::Entry::Occupied(_) => Ok(false),
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(bytes.to_vec());
                Ok(true)
            }
        }
    }

    fn get_private(&self, space: PrivateSpace, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read().private.get(&(space, id.to_owned())).cloned())
    }

    fn delete_private(&self, space: PrivateSpace, id: &str) -> Result<bool, StoreError> {
        Ok(self.write().private.remove(&(space, id.to_owned())).is_some())
    }

    fn private_ids(&self, space: PrivateSpace, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError> {
        let inner = self.read();
        let start = match after {
            Some(after) => Bound::Excluded((space, after.to_owned())),
            None => Bound::Included((space, String::new())),
        };
        Ok(inner
            .private
            .range((start, Bound::Unbounded))
            .take_while(|((entry_space, _), _)| *entry_space == space)
            .take(limit.min(PRIVATE_PAGE_MAX))
            .map(|((_, id), _)| id.clone())
            .collect())
    }
}

/// The outbox cursor rule shared by both implementations: forward only, never past the head.
pub(crate) fn check_cursor(org: &OrgSlug, stored: u64, offered: u64, head: u64) -> Result<(), StoreError> {
    if offered < stored {
        return Err(StoreError::CursorBackwards { org: org.clone(), stored, offered });
    }
    if offered > head {
        return Err(StoreError::CursorAhead { org: org.clone(), offered, head });
    }
    Ok(())
}
