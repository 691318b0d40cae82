//! The event graph: every event the projector holds, the edges `prev -> event` and
//! `dep -> event`, the waiting buffer, fork exclusions, the linear order and vector clocks.
//!
//! An event is in one of three placements:
//! - **ready**: every parent (prev and deps) is ready or excluded; it takes part in the order;
//! - **waiting**: some parent is not ready yet (unknown, or waiting itself);
//! - **excluded**: its feed forked at or before its seq; it takes no part in anything. Naming
//!   it as a parent stands for naming its nearest ancestor on its feed's chain that is not
//!   excluded (the feed's event at the fork seq minus one), or nothing if the fork is at seq 1:
//!   an honest event that saw a forked head keeps the forked feed's good prefix in its past.
//!
//! Readiness only grows as events arrive (a ready event can later become excluded, which keeps
//! its children ready), so the set of ready events is a function of the set of events given,
//! whatever the arrival order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use coalition_core::event::EventId;
use coalition_core::keys::KeyId;
use coalition_core::time::Timestamp;

use crate::InsertError;
use crate::limits::WAITING_EVENTS_MAX;
use crate::op::Op;
use crate::orgs::Slot;

/// Index of an event in the graph's arena.
pub(crate) type Index = u32;

/// Where an event stands in the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    Waiting,
    Ready,
    Excluded,
}

/// The parents of an event: ids while it waits, arena indices once it is ready. The prev (if
/// any) comes first.
#[derive(Debug, Clone)]
pub(crate) enum Parents {
    Ids(Box<[EventId]>),
    Indices(Box<[Index]>),
}

/// One event as the graph keeps it.
#[derive(Debug, Clone)]
pub(crate) struct StoredEvent {
    pub(crate) id: EventId,
    pub(crate) time: Timestamp,
    pub(crate) seq: u64,
    pub(crate) slot: Slot,
    pub(crate) key_id: KeyId,
    pub(crate) placement: Placement,
    /// Whether the first parent is the event's `prev`.
    pub(crate) has_prev: bool,
    pub(crate) parents: Parents,
    pub(crate) op: Op,
}

impl StoredEvent {
    /// The sort key of the linear order among ready events.
    pub(crate) fn key(&self) -> (Timestamp, EventId) {
        (self.time, self.id)
    }

    /// The indices of the parents, once ready.
    pub(crate) fn parent_indices(&self) -> &[Index] {
        match &self.parents {
            Parents::Indices(indices) => indices,
            Parents::Ids(_) => &[],
        }
    }
}

/// An event handed to [`Graph::insert`].
#[derive(Debug, Clone)]
pub(crate) struct NewEvent {
    pub(crate) id: EventId,
    pub(crate) time: Timestamp,
    pub(crate) seq: u64,
    pub(crate) slot: Slot,
    pub(crate) key_id: KeyId,
    pub(crate) prev: Option<EventId>,
    pub(crate) deps: Vec<EventId>,
    pub(crate) op: Op,
}

/// Where [`Graph::insert`] put an event.
pub(crate) enum Inserted {
    /// Already held.
    Duplicate,
    /// Ready, with every waiting event it released (the event itself first).
    Ready(Vec<Index>),
    /// Waiting for these parents.
    Waiting(Vec<EventId>),
    /// Excluded by a known fork at `fork_seq` (waiting events it completed became ready).
    Excluded { fork_seq: u64 },
    /// It forms a fork with an event already held at the same seq; both are excluded.
    Fork { seq: u64 },
}

/// The graph of all events held. See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    pub(crate) events: Vec<StoredEvent>,
    by_id: HashMap<EventId, Index>,
    by_position: HashMap<(Slot, u64), Index>,
    /// The lowest known fork seq of each organisation.
    forks: HashMap<Slot, u64>,
    /// Waiting events and the parents each still misses.
    waiting: HashMap<Index, Vec<EventId>>,
    /// For each missing parent, the waiting events that name it.
    missing: HashMap<EventId, Vec<Index>>,
    /// Vector clocks, `stride` numbers per event: for each organisation slot, the highest seq of
    /// that organisation in the event's causal past, the event included.
    clocks: Vec<u64>,
    stride: usize,
    scratch: Vec<u64>,
    /// An upper bound of the greatest (time, id) among ready events.
    max_key: Option<(Timestamp, EventId)>,
    /// For each organisation slot, the highest seq among the events whose key was noted (see
    /// [`Self::note_key`]): while the order is current, the highest seq ordered.
    noted_high: Vec<u64>,
    /// The linear order of the ready events, as folded so far.
    pub(crate) order: Vec<Index>,
}

impl Graph {
    /// The index of an event held, if any.
    pub(crate) fn index_of(&self, id: &EventId) -> Option<Index> {
        self.by_id.get(id).copied()
    }

    /// The event at an index handed out by this graph.
    pub(crate) fn event(&self, index: Index) -> &StoredEvent {
        &self.events[index as usize]
    }

    /// The lowest fork seq of an organisation slot, if its feed forked.
    pub(crate) fn fork_seq(&self, slot: Slot) -> Option<u64> {
        self.forks.get(&slot).copied()
    }

    /// The lowest fork seq of every organisation slot whose feed forked.
    pub(crate) fn forks(&self) -> impl Iterator<Item = (Slot, u64)> + '_ {
        self.forks.iter().map(|(&slot, &seq)| (slot, seq))
    }

    /// How many events wait.
    pub(crate) fn waiting_count(&self) -> usize {
        self.waiting.len()
    }

    /// Every waiting event with the parents it still misses.
    pub(crate) fn waiting_events(&self) -> impl Iterator<Item = (&StoredEvent, &[EventId])> {
        self.waiting.iter().map(|(&index, missing)| (self.event(index), missing.as_slice()))
    }

    /// Every excluded event.
    pub(crate) fn excluded_events(&self) -> impl Iterator<Item = &StoredEvent> {
        self.events.iter().filter(|event| event.placement == Placement::Excluded)
    }

    /// Makes sure clocks have a place for `slot`.
    pub(crate) fn reserve_slot(&mut self, slot: Slot) {
        let needed = usize::from(slot) + 1;
        if needed <= self.stride {
            return;
        }
        let stride = needed.next_multiple_of(4);
        let mut clocks = vec![0u64; self.events.len() * stride];
        if self.stride > 0 {
            for (old, new) in self.clocks.chunks_exact(self.stride).zip(clocks.chunks_exact_mut(stride)) {
                new[..self.stride].copy_from_slice(old);
            }
        }
        self.clocks = clocks;
        self.stride = stride;
    }

    /// Adds an event: detects forks, applies known forks, and either makes it ready (releasing
    /// what waited for it) or puts it in the waiting buffer.
    pub(crate) fn insert(&mut self, new: NewEvent) -> Result<Inserted, InsertError> {
        if self.by_id.contains_key(&new.id) {
            return Ok(Inserted::Duplicate);
        }
        if self.events.len() >= Index::MAX as usize {
            return Err(InsertError::TooManyEvents { max: Index::MAX as usize });
        }
        self.reserve_slot(new.slot);
        let mut parent_ids = Vec::with_capacity(usize::from(new.prev.is_some()) + new.deps.len());
        parent_ids.extend(new.prev);
        parent_ids.extend(new.deps.iter().copied());
        let (id, slot, seq) = (new.id, new.slot, new.seq);

        if let Some(fork_seq) = self.fork_seq(slot).filter(|&fork_seq| seq >= fork_seq) {
            self.push(new, parent_ids, Placement::Excluded);
            self.satisfy(id);
            return Ok(Inserted::Excluded { fork_seq });
        }
        if self.by_position.contains_key(&(slot, seq)) {
            self.push(new, parent_ids, Placement::Excluded);
            self.fork(slot, seq);
            self.satisfy(id);
            return Ok(Inserted::Fork { seq });
        }

        let missing = self.missing_of(&parent_ids);
        if !missing.is_empty() {
            if self.waiting.len() >= WAITING_EVENTS_MAX {
                return Err(InsertError::WaitingFull { max: WAITING_EVENTS_MAX });
            }
            let index = self.push(new, parent_ids, Placement::Waiting);
            for missing_id in &missing {
                self.missing.entry(*missing_id).or_default().push(index);
            }
            self.waiting.insert(index, missing.clone());
            return Ok(Inserted::Waiting(missing));
        }
        let index = self.push(new, parent_ids, Placement::Waiting);
        self.make_ready(index);
        let mut ready = vec![index];
        ready.extend(self.satisfy(id));
        Ok(Inserted::Ready(ready))
    }

    /// Records a fork of `slot` at `seq` and excludes that feed's events from `seq` on. Returns
    /// whether anything changed, and the waiting events it released.
    pub(crate) fn insert_fork(&mut self, slot: Slot, seq: u64) -> (bool, Vec<Index>) {
        self.reserve_slot(slot);
        if self.fork_seq(slot).is_some_and(|known| known <= seq) {
            return (false, Vec::new());
        }
        (true, self.fork(slot, seq))
    }

    fn fork(&mut self, slot: Slot, seq: u64) -> Vec<Index> {
        let lowest = self.forks.entry(slot).or_insert(seq);
        *lowest = (*lowest).min(seq);
        let fork_seq = *lowest;
        let newly_excluded: Vec<Index> = (0..self.events.len() as Index)
            .filter(|&index| {
                let event = self.event(index);
                event.slot == slot && event.seq >= fork_seq && event.placement != Placement::Excluded
            })
            .collect();
        for &index in &newly_excluded {
            if let Some(missing) = self.waiting.remove(&index) {
                for id in missing {
                    if let Some(waiters) = self.missing.get_mut(&id) {
                        waiters.retain(|&waiter| waiter != index);
                        if waiters.is_empty() {
                            self.missing.remove(&id);
                        }
                    }
                }
            }
            self.events[index as usize].placement = Placement::Excluded;
        }
        let mut released = Vec::new();
        for index in newly_excluded {
            released.extend(self.satisfy(self.event(index).id));
        }
        released
    }

    /// The id a child naming `id` as parent must still wait for, if any: `id` itself while it
    /// is unknown or waiting; for an excluded event, the same question about its prev.
    fn unsatisfied(&self, id: EventId) -> Option<EventId> {
        let mut id = id;
        // Bounded by the chain length: each step goes one seq down an organisation's feed.
        for _ in 0..=self.events.len() {
            let Some(&index) = self.by_id.get(&id) else { return Some(id) };
            match self.event(index).placement {
                Placement::Ready => return None,
                Placement::Waiting => return Some(id),
                Placement::Excluded => match self.prev_id(index) {
                    Some(prev) => id = prev,
                    None => return None,
                },
            }
        }
        None
    }

    /// The id of an event's prev, if it has one.
    fn prev_id(&self, index: Index) -> Option<EventId> {
        let event = self.event(index);
        if !event.has_prev {
            return None;
        }
        match &event.parents {
            Parents::Ids(ids) => ids.first().copied(),
            Parents::Indices(indices) => indices.first().map(|&prev| self.event(prev).id),
        }
    }

    /// The ready event a parent edge to `index` stands for: itself if ready; for an excluded
    /// event, its nearest ancestor along the prev chain that is not excluded.
    pub(crate) fn settle(&self, index: Index) -> Option<Index> {
        let mut index = index;
        for _ in 0..=self.events.len() {
            match self.event(index).placement {
                Placement::Ready => return Some(index),
                Placement::Waiting => return None,
                Placement::Excluded => index = self.index_of(&self.prev_id(index)?)?,
            }
        }
        None
    }

    /// The ready events the parent edges of `index` stand for (see [`Self::settle`]).
    pub(crate) fn effective_parents(&self, index: Index) -> impl Iterator<Item = Index> + '_ {
        self.event(index).parent_indices().iter().filter_map(|&parent| self.settle(parent))
    }

    fn missing_of(&self, parent_ids: &[EventId]) -> Vec<EventId> {
        let mut missing: Vec<EventId> = parent_ids.iter().filter_map(|&id| self.unsatisfied(id)).collect();
        missing.sort_unstable();
        missing.dedup();
        missing
    }

    /// Makes room for `additional` more events in every per-event table.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.events.reserve(additional);
        self.by_id.reserve(additional);
        self.by_position.reserve(additional);
        self.clocks.reserve(additional.saturating_mul(self.stride));
        self.order.reserve(additional);
    }

    fn push(&mut self, new: NewEvent, parent_ids: Vec<EventId>, placement: Placement) -> Index {
        let index = self.events.len() as Index;
        self.events.push(StoredEvent {
            id: new.id,
            time: new.time,
            seq: new.seq,
            slot: new.slot,
            key_id: new.key_id,
            placement,
            has_prev: new.prev.is_some(),
            parents: Parents::Ids(parent_ids.into_boxed_slice()),
            op: new.op,
        });
        self.by_id.insert(new.id, index);
        self.by_position.entry((new.slot, new.seq)).or_insert(index);
        self.clocks.resize(self.events.len() * self.stride, 0);
        index
    }

    fn make_ready(&mut self, index: Index) {
        let event = &self.events[index as usize];
        let indices: Box<[Index]> = match &event.parents {
            Parents::Ids(ids) => ids.iter().filter_map(|id| self.by_id.get(id).copied()).collect(),
            Parents::Indices(indices) => indices.clone(),
        };
        let event = &mut self.events[index as usize];
        event.parents = Parents::Indices(indices);
        event.placement = Placement::Ready;
    }

    /// `id` became ready or excluded: every waiting event that named it looks again at what
    /// it misses; those that miss nothing become ready (and so on down). Returns the released
    /// events.
    fn satisfy(&mut self, id: EventId) -> Vec<Index> {
        let mut released = Vec::new();
        let mut queue = vec![id];
        while let Some(id) = queue.pop() {
            let Some(waiters) = self.missing.remove(&id) else { continue };
            for waiter in waiters {
                if !self.waiting.contains_key(&waiter) {
                    continue;
                }
                let parent_ids: Vec<EventId> = match &self.event(waiter).parents {
                    Parents::Ids(ids) => ids.to_vec(),
                    Parents::Indices(_) => Vec::new(),
                };
                let missing = self.missing_of(&parent_ids);
                if missing.is_empty() {
                    self.waiting.remove(&waiter);
                    self.make_ready(waiter);
                    released.push(waiter);
                    queue.push(self.event(waiter).id);
                } else {
                    for missing_id in &missing {
                        let waiters = self.missing.entry(*missing_id).or_default();
                        if !waiters.contains(&waiter) {
                            waiters.push(waiter);
                        }
                    }
                    self.waiting.insert(waiter, missing);
                }
            }
        }
        released
    }

    /// The linear order of all ready events: a topological order over the parent edges that
    /// takes, at each step, the ready event with the smallest (time, id).
    pub(crate) fn linear_order(&self) -> Vec<Index> {
        let count = self.events.len();
        let mut indegree = vec![0u32; count];
        let mut offsets = vec![0u32; count + 1];
        for (index, event) in self.events.iter().enumerate() {
            if event.placement != Placement::Ready {
                continue;
            }
            for parent in self.effective_parents(index as Index) {
                indegree[index] += 1;
                offsets[parent as usize + 1] += 1;
            }
        }
        for index in 0..count {
            offsets[index + 1] += offsets[index];
        }
        let mut fill = offsets.clone();
        let mut children = vec![0 as Index; offsets[count] as usize];
        for (index, event) in self.events.iter().enumerate() {
            if event.placement != Placement::Ready {
                continue;
            }
            for parent in self.effective_parents(index as Index) {
                let at = &mut fill[parent as usize];
                children[*at as usize] = index as Index;
                *at += 1;
            }
        }
        let mut heap: BinaryHeap<Reverse<(Timestamp, EventId, Index)>> = self
            .events
            .iter()
            .enumerate()
            .filter(|(index, event)| event.placement == Placement::Ready && indegree[*index] == 0)
            .map(|(index, event)| Reverse((event.time, event.id, index as Index)))
            .collect();
        let mut order = Vec::with_capacity(count);
        while let Some(Reverse((_, _, index))) = heap.pop() {
            order.push(index);
            let (start, end) = (offsets[index as usize] as usize, offsets[index as usize + 1] as usize);
            for &child in &children[start..end] {
                let remaining = &mut indegree[child as usize];
                *remaining -= 1;
                if *remaining == 0 {
                    let event = self.event(child);
                    heap.push(Reverse((event.time, event.id, child)));
                }
            }
        }
        order
    }

    /// The linear order of `nodes`, events that all come after every event already ordered
    /// (their other parents are all ordered already).
    pub(crate) fn order_of(&self, nodes: &[Index]) -> Vec<Index> {
        if nodes.len() <= 1 {
            return nodes.to_vec();
        }
        let position: HashMap<Index, usize> = nodes.iter().enumerate().map(|(at, &index)| (index, at)).collect();
        let mut indegree = vec![0u32; nodes.len()];
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
        for (at, &index) in nodes.iter().enumerate() {
            for parent in self.effective_parents(index) {
                if let Some(&parent_at) = position.get(&parent) {
                    indegree[at] += 1;
                    children[parent_at].push(at);
                }
            }
        }
        let mut heap: BinaryHeap<Reverse<(Timestamp, EventId, usize)>> = nodes
            .iter()
            .enumerate()
            .filter(|(at, _)| indegree[*at] == 0)
            .map(|(at, &index)| Reverse((self.event(index).time, self.event(index).id, at)))
            .collect();
        let mut order = Vec::with_capacity(nodes.len());
        while let Some(Reverse((_, _, at))) = heap.pop() {
            order.push(nodes[at]);
            for &child in &children[at] {
                indegree[child] -= 1;
                if indegree[child] == 0 {
                    let event = self.event(nodes[child]);
                    heap.push(Reverse((event.time, event.id, child)));
                }
            }
        }
        order
    }

    /// Whether an event can be appended at the end of the order without changing anything
    /// before it: its (time, id) is greater than that of every ready event already ordered.
    pub(crate) fn comes_after_all(&self, index: Index) -> bool {
        self.max_key.is_none_or(|max| self.event(index).key() > max)
    }

    /// Raises the recorded greatest key with `index`'s.
    pub(crate) fn note_key(&mut self, index: Index) {
        let event = self.event(index);
        let (key, slot, seq) = (event.key(), usize::from(event.slot), event.seq);
        if self.max_key.is_none_or(|max| key > max) {
            self.max_key = Some(key);
        }
        if self.noted_high.len() <= slot {
            self.noted_high.resize(slot + 1, 0);
        }
        self.noted_high[slot] = self.noted_high[slot].max(seq);
    }

    /// Forgets the greatest key and the highest seqs (before a full fold recomputes them).
    pub(crate) fn clear_max_key(&mut self) {
        self.max_key = None;
        self.noted_high.clear();
    }

    /// Whether every event noted so far (while the order is current: every ordered event) is in
    /// the causal past of `index`, whose parents are ordered with their clocks computed. Such an
    /// event comes last in every topological order, so it can be appended at the end whatever its
    /// (time, id): the usual case of a node's own events, which name every head it knows, even
    /// when many share one second and their ids fall below the greatest key.
    pub(crate) fn descends_from_all_noted(&self, index: Index) -> bool {
        let stride = self.stride;
        self.noted_high.iter().enumerate().filter(|(_, high)| **high > 0).all(|(slot, &high)| {
            slot < stride
                && self.effective_parents(index).any(|parent| self.clocks[parent as usize * stride + slot] >= high)
        })
    }

    /// Computes and stores the vector clock of a ready event from its parents' clocks.
    pub(crate) fn compute_clock(&mut self, index: Index) {
        let stride = self.stride;
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.resize(stride, 0);
        for parent in self.effective_parents(index) {
            let row = &self.clocks[parent as usize * stride..(parent as usize + 1) * stride];
            for (mine, theirs) in scratch.iter_mut().zip(row) {
                *mine = (*mine).max(*theirs);
            }
        }
        let event = &self.events[index as usize];
        let own = usize::from(event.slot);
        scratch[own] = scratch[own].max(event.seq);
        self.clocks[index as usize * stride..(index as usize + 1) * stride].copy_from_slice(&scratch);
        self.scratch = scratch;
    }

    /// Whether `target` is in the causal past of `of` (both ready, clock of `of` computed): the
    /// highest seq of `target`'s organisation reachable from `of` is at least `target`'s seq.
    pub(crate) fn in_causal_past(&self, of: Index, target: Index) -> bool {
        let target = self.event(target);
        if target.placement != Placement::Ready {
            return false;
        }
        let stride = self.stride;
        let row = &self.clocks[of as usize * stride..(of as usize + 1) * stride];
        row.get(usize::from(target.slot)).is_some_and(|&highest| highest >= target.seq)
    }

    /// Bytes of the graph's own tables (an estimate for reports, not an exact count).
    pub(crate) fn approximate_bytes(&self) -> usize {
        let entry = std::mem::size_of::<StoredEvent>();
        let map_entry = std::mem::size_of::<(EventId, Index)>() + 8;
        let position_entry = std::mem::size_of::<((Slot, u64), Index)>() + 8;
        let parents: usize = self
            .events
            .iter()
            .map(|event| match &event.parents {
                Parents::Ids(ids) => ids.len() * 32,
                Parents::Indices(indices) => indices.len() * 4,
            })
            .sum();
        self.events.capacity() * entry
            + self.by_id.capacity() * map_entry
            + self.by_position.capacity() * position_entry
            + self.clocks.capacity() * 8
            + self.order.capacity() * 4
            + parents
    }
}
