//! The feed rules of an append, decided once for both implementations: which events of a batch
//! extend their feed, which are already stored, and which refuse the whole batch.

use std::collections::{BTreeMap, HashMap, HashSet};

use coalition_core::event::{EventId, LedgerId, OrgSlug, SignedEvent};

use crate::error::StoreError;
use crate::limits::APPEND_BATCH_EVENTS_MAX;
use crate::{Appended, Head};

/// What an implementation tells the planner about its committed state.
pub(crate) trait StoredFeeds {
    /// The stored head of `org`'s feed.
    fn head(&mut self, org: &OrgSlug) -> Result<Option<Head>, StoreError>;
    /// Whether an event with this id is stored.
    fn contains(&mut self, id: &EventId) -> Result<bool, StoreError>;
    /// The id stored at `org`, `seq` (which is at or below the stored head).
    fn id_at(&mut self, org: &OrgSlug, seq: u64) -> Result<EventId, StoreError>;
}

/// The verdict on a whole batch: one outcome per event, in batch order, and the new head of
/// every feed the batch extends.
pub(crate) struct Plan {
    pub(crate) outcomes: Vec<Appended>,
    pub(crate) new_heads: BTreeMap<OrgSlug, Head>,
}

/// Applies the feed rules to `events` in order, against the committed state and the events
/// earlier in the batch. Any refusal refuses the batch.
pub(crate) fn plan(ledger: LedgerId, events: &[SignedEvent], stored: &mut dyn StoredFeeds) -> Result<Plan, StoreError> {
    if events.len() > APPEND_BATCH_EVENTS_MAX {
        return Err(StoreError::BatchTooLarge { count: events.len(), max: APPEND_BATCH_EVENTS_MAX });
    }
    let mut outcomes = Vec::with_capacity(events.len());
    let mut new_heads: BTreeMap<OrgSlug, Head> = BTreeMap::new();
    let mut batch_ids: HashSet<EventId> = HashSet::new();
    let mut batch_places: HashMap<(OrgSlug, u64), EventId> = HashMap::new();
    for event in events {
        let content = event.event();
        let (org, seq, id) = (&content.org, content.seq, event.id());
        if content.ledger != ledger {
            return Err(StoreError::ForeignEvent { org: org.clone(), seq, expected: ledger, found: content.ledger });
        }
        if batch_ids.contains(&id) || stored.contains(&id)? {
            outcomes.push(Appended::Duplicate);
            continue;
        }
        let head = match new_heads.get(org) {
            Some(head) => Some(*head),
            None => stored.head(org)?,
        };
        let (next, expected_prev) = head.map_or((1, None), |(seq, id)| (seq + 1, Some(id)));
        if seq < next {
            let stored_id = match batch_places.get(&(org.clone(), seq)) {
                Some(id) => *id,
                None => stored.id_at(org, seq)?,
            };
            return Err(StoreError::Conflict { org: org.clone(), seq, stored: stored_id, offered: id });
        }
        if seq > next {
            return Err(StoreError::SeqGap { org: org.clone(), expected: next, found: seq });
        }
        if content.prev != expected_prev {
            return Err(StoreError::ChainBreak { org: org.clone(), seq, expected_prev, found_prev: content.prev });
        }
        batch_ids.insert(id);
        batch_places.insert((org.clone(), seq), id);
        new_heads.insert(org.clone(), (seq, id));
        outcomes.push(Appended::Stored);
    }
    Ok(Plan { outcomes, new_heads })
}
