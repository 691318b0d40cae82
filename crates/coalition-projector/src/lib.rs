//! The deterministic projector of coalition-ledger: folds the union of the members' verified
//! feeds into the joint list of political prisoners.
//!
//! The projector is a pure function of the set of events it holds (plus the forks it was told
//! about): it orders the events by a topological order over their `prev` and `deps` edges, ties
//! broken by (time, id), and folds them through the rules of docs/PROTOCOL.md §12. The
//! same set gives the same [`Projection`] and the same list hash on every node, whatever the
//! arrival order. No I/O, no clock, no threads.
//!
//! ```text
//! let mut projector = Projector::new(&genesis);
//! projector.insert(signed_event)?;          // any order; missing parents make it wait
//! projector.insert_fork(&org, seq)?;        // proofs of equivocation from the verifier
//! let projection = projector.projection();  // re-folds only if an insertion required it
//! let hash = projection.list_summary()?.hash;
//! ```
//!
//! Inside: `graph` holds the events, the waiting buffer, fork exclusions, the linear order and
//! the vector clocks; `rules` applies one event; `state` is the projection and its read-only
//! views; `list` writes the joint list, its canonical document and the counts; `document` dumps
//! the whole projection as JSON; `edition` computes the list at an edition's frontier, its Merkle
//! tree and proofs; `anomaly` names why an event had no effect; `projector` is the
//! entry point. docs/PROTOCOL.md §12 states the rules normatively.

mod anomaly;
pub mod codec;
mod document;
mod edition;
mod graph;
pub mod limits;
mod list;
mod op;
mod orgs;
mod projector;
mod rules;
mod snapshot;
mod state;

pub use anomaly::{Anomaly, AnomalyReason, ReferenceKind, VoidReason};
pub use edition::{
    EditionChanges, EditionEntry, EditionError, EditionList, EditionMismatch, InclusionProof, check_edition,
    list_at_frontier, verify_inclusion,
};
pub use list::{Counts, LIST_FORMAT, ListEntry, ListError, ListSummary};
pub use projector::{InsertError, InsertOutcome, PreparedEvent, Projector};
pub use snapshot::{PROJECTOR_SNAPSHOT_FORMAT, SnapshotError};
pub use state::{
    Assessment, CaseView, CriterionClaim, Detention, Edition, Member, PendingWork, Projection, Proposal,
    ProposalOutcome, ProposedChange, Reasoning, Status, StatusChange, WaitingEvent,
};
