//! The projector: takes verified events in any order, keeps them, and serves the projection.
//!
//! Insertion is cheap. An event that is ready and either sorts after every event already ordered
//! or has every ordered event in its causal past (it then comes last in any topological order) is
//! folded at once at the end of the linear order (the common case of a live node, whose own events
//! name every head it knows, however many share one second); any other ready event marks the
//! projection stale, and the next read re-folds everything from the genesis. Either way the projection equals the batch fold of the same events.

use coalition_core::body::FrontierEntry;
use coalition_core::event::{Event, EventId, LedgerId, OrgSlug, SignedEvent};
use coalition_core::genesis::Genesis;
use coalition_core::keys::KeyId;
use coalition_core::time::Timestamp;

use crate::anomaly::{Anomaly, AnomalyReason};
use crate::graph::{Graph, Inserted, NewEvent};
use crate::op::Op;
use crate::rules;
use crate::state::{Projection, Setup, WaitingEvent};

/// What became of an inserted event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InsertOutcome {
    /// Folded at once at the end of the linear order, with `released` waiting events it
    /// completed.
    Applied {
        /// Waiting events that became ready and were folded with it.
        released: usize,
    },
    /// Ready, but it does not sort after every event already ordered (or the projection was
    /// stale already): the next read re-folds.
    Deferred {
        /// Waiting events that became ready with it.
        released: usize,
    },
    /// Waits for parents (prev or deps) the projector does not have yet.
    Waiting {
        /// The parents it misses, sorted.
        missing: Vec<EventId>,
    },
    /// Already held.
    Duplicate,
    /// Its feed forked at `fork_seq`, at or before its seq: kept as excluded.
    Excluded {
        /// The seq of the fork.
        fork_seq: u64,
    },
    /// Another event of the same organisation holds the same seq: a fork. Both are excluded, as
    /// is every later event of that feed.
    ForkDetected {
        /// The seq both events claim.
        seq: u64,
    },
}

/// Why an event or fork was refused. Nothing held before is changed by a refused insertion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InsertError {
    /// The event belongs to another ledger.
    #[error("event is for ledger {found}, not this ledger ({expected})")]
    WrongLedger {
        /// This ledger.
        expected: LedgerId,
        /// The event's.
        found: LedgerId,
    },
    /// The waiting buffer is full.
    #[error("{max} events already wait for missing parents; insert the missing events first")]
    WaitingFull {
        /// The limit, [`crate::limits::WAITING_EVENTS_MAX`].
        max: usize,
    },
    /// Too many distinct organisations.
    #[error("more than {max} distinct organisations")]
    TooManyOrganisations {
        /// The limit, [`crate::limits::ORGANISATIONS_MAX`].
        max: usize,
    },
    /// Too many events for the projector's 32-bit indices.
    #[error("more than {max} events")]
    TooManyEvents {
        /// The limit.
        max: usize,
    },
    /// A fork at seq 0 (seqs start at 1).
    #[error("a fork seq must be at least 1")]
    ForkSeqZero,
}

/// A verified event in the compact form the projector keeps (large bodies boxed), ready for
/// [`Projector::insert_prepared`]. A caller that holds many events before projecting them (an
/// auditor) keeps them in this form: a fraction of the memory of [`Event`], and no conversion
/// left for the sequential fold.
#[derive(Debug, Clone)]
pub struct PreparedEvent {
    ledger: LedgerId,
    org: OrgSlug,
    new: NewEvent,
}

impl PreparedEvent {
    /// An event given by its id, content and the key id on its signature line; trusted to be
    /// verified, as by [`Projector::insert_event`].
    pub fn new(id: EventId, event: Event, key_id: KeyId) -> Self {
        let new = NewEvent {
            id,
            time: event.time,
            seq: event.seq,
            slot: 0,
            key_id,
            prev: event.prev,
            deps: event.deps,
            op: Op::from(event.body),
        };
        Self { ledger: event.ledger, org: event.org, new }
    }

    /// An event already in the graph's form (decoding a snapshot).
    pub(crate) fn from_parts(ledger: LedgerId, org: OrgSlug, new: NewEvent) -> Self {
        Self { ledger, org, new }
    }

    /// The event id.
    pub fn id(&self) -> EventId {
        self.new.id
    }

    /// The author's organisation.
    pub fn org(&self) -> &OrgSlug {
        &self.org
    }

    /// The position in the organisation's feed.
    pub fn seq(&self) -> u64 {
        self.new.seq
    }

    /// The event time.
    pub fn time(&self) -> Timestamp {
        self.new.time
    }

    /// The frontier an `edition.proposed` event names; `None` for every other kind.
    pub fn edition_frontier(&self) -> Option<&[FrontierEntry]> {
        match &self.new.op {
            Op::EditionProposed(edition) => Some(&edition.frontier),
            _ => None,
        }
    }
}

/// The deterministic projector of one ledger. See the crate documentation.
#[derive(Debug)]
pub struct Projector {
    setup: Setup,
    pub(crate) graph: Graph,
    pub(crate) projection: Projection,
    stale: bool,
    waiting_dirty: bool,
}

impl Projector {
    /// A projector for the ledger of `genesis`, holding no events yet. The genesis is taken as
    /// given: check its signatures (`Genesis::require_complete`) before trusting it.
    pub fn new(genesis: &Genesis) -> Self {
        let doc = genesis.doc();
        let setup = Setup {
            ledger: genesis.ledger_id(),
            origin: doc.origin.clone(),
            founders: doc.members.clone(),
            policy: doc.policy,
        };
        let mut projection = Projection::new(&setup);
        let mut graph = Graph::default();
        for founder in &doc.members {
            // A genesis has at most `MEMBERS_MAX` founders, below `ORGANISATIONS_MAX`.
            if let Ok(slot) = projection.orgs.slot_or_insert(&founder.slug) {
                graph.reserve_slot(slot);
            }
        }
        projection.sync_membership();
        Self { setup, graph, projection, stale: false, waiting_dirty: false }
    }

    /// Makes room for `additional_events` more events at once. A caller that knows about how
    /// many events will come (an audit reading a bundle) saves the projector growing its tables
    /// step by step, each step copying them into fresh memory. Only a hint: more events still fit.
    /// At most [`crate::limits::EVENTS_RESERVE_MAX`] are reserved, whatever the hint.
    pub fn reserve(&mut self, additional_events: usize) {
        self.graph.reserve(additional_events.min(crate::limits::EVENTS_RESERVE_MAX));
    }

    /// The ledger id.
    pub fn ledger(&self) -> LedgerId {
        self.setup.ledger
    }

    /// Inserts a verified event (see [`Self::insert_event`]).
    pub fn insert(&mut self, event: SignedEvent) -> Result<InsertOutcome, InsertError> {
        let id = event.id();
        let key_id = event.key_id();
        self.insert_event(id, event.into_event(), key_id)
    }

    /// Inserts an event given by its id, content and the key id on its signature line. The
    /// projector trusts that the event was verified (signature, feed chain) and does not
    /// recompute the id. Events of a forked feed (at or after the fork) may be inserted too:
    /// they are kept as excluded, so that events naming them stop waiting.
    pub fn insert_event(&mut self, id: EventId, event: Event, key_id: KeyId) -> Result<InsertOutcome, InsertError> {
        self.insert_prepared(PreparedEvent::new(id, event, key_id))
    }

    /// Inserts an event already in the projector's compact form (see [`PreparedEvent`]); the
    /// same as [`Self::insert_event`] of the event it was made from.
    pub fn insert_prepared(&mut self, event: PreparedEvent) -> Result<InsertOutcome, InsertError> {
        let PreparedEvent { ledger, org, mut new } = event;
        if ledger != self.setup.ledger {
            return Err(InsertError::WrongLedger { expected: self.setup.ledger, found: ledger });
        }
        let known_orgs = self.projection.orgs.len();
        new.slot = self.projection.orgs.slot_or_insert(&org)?;
        if self.projection.orgs.len() != known_orgs {
            self.projection.sync_membership();
        }
        let outcome = match self.graph.insert(new)? {
            Inserted::Duplicate => InsertOutcome::Duplicate,
            Inserted::Waiting(missing) => {
                self.waiting_dirty = true;
                InsertOutcome::Waiting { missing }
            }
            Inserted::Excluded { fork_seq } => {
                self.stale = true;
                self.waiting_dirty = true;
                InsertOutcome::Excluded { fork_seq }
            }
            Inserted::Fork { seq } => {
                self.stale = true;
                self.waiting_dirty = true;
                InsertOutcome::ForkDetected { seq }
            }
            Inserted::Ready(ready) => {
                let released = ready.len() - 1;
                if released > 0 {
                    self.waiting_dirty = true;
                }
                if !self.stale && (self.graph.comes_after_all(ready[0]) || self.graph.descends_from_all_noted(ready[0]))
                {
                    // Every released event descends from the new one, so the whole group
                    // comes after everything ordered so far.
                    for index in self.graph.order_of(&ready) {
                        self.graph.compute_clock(index);
                        rules::apply(&self.graph, index, &mut self.projection);
                        self.graph.order.push(index);
                        self.graph.note_key(index);
                    }
                    InsertOutcome::Applied { released }
                } else {
                    self.stale = true;
                    for &index in &ready {
                        self.graph.note_key(index);
                    }
                    InsertOutcome::Deferred { released }
                }
            }
        };
        Ok(outcome)
    }

    /// Records a fork of `org`'s feed at `seq` (two validly signed events at that seq): every
    /// event of that feed from `seq` on is excluded, now and when it arrives later. Returns
    /// whether this changed anything (a fork at that seq or earlier may be known already).
    pub fn insert_fork(&mut self, org: &OrgSlug, seq: u64) -> Result<bool, InsertError> {
        if seq == 0 {
            return Err(InsertError::ForkSeqZero);
        }
        let known_orgs = self.projection.orgs.len();
        let slot = self.projection.orgs.slot_or_insert(org)?;
        if self.projection.orgs.len() != known_orgs {
            self.projection.sync_membership();
        }
        let (changed, _released) = self.graph.insert_fork(slot, seq);
        if changed {
            self.stale = true;
            self.waiting_dirty = true;
        }
        Ok(changed)
    }

    /// Whether the next read will re-fold.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// How many events the projector holds (ready, waiting and excluded).
    pub fn event_count(&self) -> usize {
        self.graph.events.len()
    }

    /// How many events wait for parents.
    pub fn waiting_count(&self) -> usize {
        self.graph.waiting_count()
    }

    /// The projection of every ready event, re-folded first if stale.
    pub fn projection(&mut self) -> &Projection {
        self.refresh();
        &self.projection
    }

    /// The ids of the ready events in the linear order.
    pub fn linear_order(&mut self) -> Vec<EventId> {
        self.refresh();
        self.graph.order.iter().map(|&index| self.graph.event(index).id).collect()
    }

    /// Approximate bytes held by the event graph (events, indices, clocks), without the
    /// projection. For capacity planning; not exact.
    pub fn approximate_graph_bytes(&self) -> usize {
        self.graph.approximate_bytes()
    }

    fn refresh(&mut self) {
        if self.stale {
            self.refold();
        }
        if self.waiting_dirty {
            let mut waiting: Vec<WaitingEvent> = self
                .graph
                .waiting_events()
                .map(|(event, missing)| WaitingEvent {
                    id: event.id,
                    org: self.projection.orgs.slug(event.slot).clone(),
                    seq: event.seq,
                    missing: missing.to_vec(),
                })
                .collect();
            waiting.sort_by_key(|event| event.id);
            self.projection.waiting = waiting;
            self.waiting_dirty = false;
        }
    }

    /// Folds every ready event from the genesis on, in the linear order.
    fn refold(&mut self) {
        let order = self.graph.linear_order();
        self.projection.reset(&self.setup);
        let mut excluded: Vec<Anomaly> = self
            .graph
            .excluded_events()
            .map(|event| Anomaly {
                event: event.id,
                org: self.projection.orgs.slug(event.slot).clone(),
                seq: event.seq,
                kind: event.op.kind(),
                reason: AnomalyReason::ExcludedByFork {
                    fork_seq: self.graph.fork_seq(event.slot).unwrap_or(event.seq),
                },
            })
            .collect();
        excluded.sort_by(|left, right| (&left.org, left.seq, left.event).cmp(&(&right.org, right.seq, right.event)));
        self.projection.anomalies = excluded;
        self.graph.clear_max_key();
        for &index in &order {
            self.graph.compute_clock(index);
            rules::apply(&self.graph, index, &mut self.projection);
            self.graph.note_key(index);
        }
        self.graph.order = order;
        self.stale = false;
    }
}
