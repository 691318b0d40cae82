//! What a node can say about replication without knowing NATS: the state the replicator last
//! reported (connected or not, how far the stream goes and how far this node has applied it),
//! and the node's own replication-related records (outbox, quarantine, fork proofs) read from the
//! store. The NATS side (coalition-nats) sets the status; the HTTP side (coalition-server) reads it.

use coalition_core::event::OrgSlug;
pub use coalition_store::{ForkProof, QuarantineId, QuarantinedNote};

use crate::{Node, NodeError, lock};

/// Most quarantine records read at once.
pub const QUARANTINE_PAGE_MAX: usize = 1000;

/// The replicator's view of the transport, as it last reported it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicationStatus {
    /// Whether the connection to the message server is up.
    pub connected: bool,
    /// The last sequence number of the ledger stream, as last seen (0: unknown or empty).
    pub stream_last_seq: u64,
    /// The stream sequence up to which every message has been applied, stored as a duplicate or
    /// quarantined by this node (its consumer's acknowledgement floor).
    pub applied_stream_seq: u64,
    /// Messages of the stream this node has not finished with yet (delivered but not acked, or
    /// not delivered at all).
    pub lag_messages: u64,
    /// When the replicator last reported (Unix seconds, the node's clock).
    pub updated_unix_s: i64,
}

impl Node {
    /// The last status the replicator reported; `None` when this node does not replicate.
    pub fn replication_status(&self) -> Option<ReplicationStatus> {
        lock(&self.inner.replication).clone()
    }

    /// Records the replicator's current status (called by the replicator only).
    pub fn set_replication_status(&self, status: ReplicationStatus) {
        *lock(&self.inner.replication) = Some(status);
    }

    /// How many of this node's own durable events are not yet published (0 for a read-only node).
    pub fn outbox_len(&self) -> Result<u64, NodeError> {
        let Some(org) = &self.inner.org else { return Ok(0) };
        let head = self.inner.store.head(org)?.map_or(0, |(seq, _)| seq);
        Ok(head.saturating_sub(self.published_seq()?))
    }

    /// Every fork proof this node holds, in the store's order.
    pub fn fork_proofs(&self) -> Result<Vec<ForkProof>, NodeError> {
        Ok(self.inner.store.fork_proofs()?)
    }

    /// The seq at which `org`'s feed was frozen by a fork, if it was.
    pub fn frozen_at(&self, org: &OrgSlug) -> Option<u64> {
        lock(&self.inner.state).verifier.frozen_at(org)
    }

    /// Up to `limit` (at most [`QUARANTINE_PAGE_MAX`]) quarantine records from record `from` on.
    pub fn quarantined(&self, from: QuarantineId, limit: usize) -> Result<Vec<QuarantinedNote>, NodeError> {
        Ok(self.inner.store.quarantined(from, limit.min(QUARANTINE_PAGE_MAX))?)
    }
}
