//! The list of an edition: the joint list computed from exactly the events at or below a
//! frontier, its Merkle tree, inclusion proofs, the check of a stated edition against a set of
//! events (shared by the node, the cosign check and the auditor), and the changes between two
//! editions. docs/PROTOCOL.md §13 states the rule normatively.
//!
//! Feeds are chains, so "the events at or below a frontier" is, for each frontier entry, the chain
//! that ends at its head id, walked back through `prev` to seq 1; feeds not named in the frontier
//! contribute nothing. That set holds no fork (each seq has exactly one event on the chain), so
//! the list does not depend on which fork proofs a node knows, nor on the order events are given.
//! Pure: no I/O.

use std::collections::HashMap;

use coalition_core::body::{Digest, FrontierEntry};
use coalition_core::event::{EventId, OrgSlug, SignedEvent};
use coalition_core::genesis::Genesis;
use coalition_core::merkle::{self, HASH_BYTES, MerkleError};

use crate::list::{ListEntry, ListError, ListSummary};
use crate::projector::{InsertError, Projector};
use crate::state::{Projection, Status};

/// Why the list at a frontier could not be computed from the events given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditionError {
    /// The frontier is empty, unsorted or names an organisation twice.
    #[error("the frontier must name each feed once, sorted by organisation (entry {index})")]
    BadFrontier {
        /// The offending entry, from 0.
        index: usize,
    },
    /// An event of the frontier's chains is not among the events given.
    #[error("{org}'s event at seq {seq} ({id}) is not held: the frontier is not all in this store")]
    MissingEvent {
        /// The feed.
        org: OrgSlug,
        /// The seq.
        seq: u64,
        /// The id the chain names there.
        id: EventId,
    },
    /// The event with the id the chain names there is of another feed or seq.
    #[error("event {id} is not {org}'s event at seq {seq}")]
    NotOnChain {
        /// The feed.
        org: OrgSlug,
        /// The seq expected.
        seq: u64,
        /// The id found.
        id: EventId,
    },
    /// Some events of the frontier wait for events beyond it: the frontier is not causally
    /// closed (an event names in `deps` an event the frontier does not cover).
    #[error("the frontier is not causally closed: {waiting} event(s) name events beyond it, for example {example}")]
    NotClosed {
        /// How many events wait.
        waiting: usize,
        /// One of them.
        example: EventId,
    },
    /// Entries given as a projection's list are not that list's (see
    /// [`EditionList::from_written`]).
    #[error("the entries given are not those of the projection's list")]
    EntriesNotOfList,
    /// The projector refused an event (another ledger, a limit).
    #[error("projection: {0}")]
    Projector(#[from] InsertError),
    /// The list could not be written (not expected: see [`ListError`]).
    #[error("list: {0}")]
    List(#[from] ListError),
}

/// One entry of an edition's list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EditionEntry {
    /// The case id.
    pub case: EventId,
    /// `listed`, `released` or `died`.
    pub status: Status,
    /// The entry's canonical JSON (docs/PROTOCOL.md §12.10): the exact bytes of its Merkle leaf.
    pub canonical: String,
}

impl EditionEntry {
    /// Writes one entry of a list: its canonical JSON and its Merkle leaf hash.
    pub fn write(entry: &ListEntry<'_>) -> Result<(Self, [u8; HASH_BYTES]), EditionError> {
        let canonical = entry.to_canonical()?;
        let leaf_hash = merkle::leaf_hash(canonical.as_bytes());
        Ok((Self { case: entry.case, status: entry.status, canonical }, leaf_hash))
    }
}

/// The list at a frontier, with what an edition states about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EditionList {
    /// The frontier it was computed at.
    pub frontier: Vec<FrontierEntry>,
    /// The entries, sorted by case id.
    pub entries: Vec<EditionEntry>,
    /// The leaf hash of each entry, in the same order.
    pub leaf_hashes: Vec<[u8; HASH_BYTES]>,
    /// The RFC 6962 Merkle root over the entries' canonical bytes.
    pub root: Digest,
    /// The BLAKE3 hash of the canonical list document at the frontier.
    pub list_hash: Digest,
    /// The number of events the frontier covers.
    pub events: u64,
}

/// One entry with the audit path from its leaf to the edition's root.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InclusionProof {
    /// The entry's position in the list, from 0.
    pub index: u64,
    /// The number of entries (the tree size).
    pub count: u64,
    /// The entry's canonical JSON: the leaf's bytes.
    pub entry: String,
    /// The audit path (RFC 9162 §2.1.3), from the leaf upwards.
    pub path: Vec<[u8; HASH_BYTES]>,
}

impl InclusionProof {
    /// A proof from its parts (as read from a proof document).
    pub fn new(index: u64, count: u64, entry: String, path: Vec<[u8; HASH_BYTES]>) -> Self {
        Self { index, count, entry, path }
    }
}

/// A stated value that differs from the one computed at the frontier.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EditionMismatch {
    /// The stated count.
    Count {
        /// Stated in the edition.
        stated: u64,
        /// Computed from the events.
        computed: u64,
    },
    /// The stated Merkle root.
    Root {
        /// Stated in the edition.
        stated: Digest,
        /// Computed from the events.
        computed: Digest,
    },
    /// The stated list hash.
    ListHash {
        /// Stated in the edition.
        stated: Digest,
        /// Computed from the events.
        computed: Digest,
    },
}

impl std::fmt::Display for EditionMismatch {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Count { stated, computed } => {
                write!(formatter, "the edition states {stated} entries, the events at its frontier give {computed}")
            }
            Self::Root { stated, computed } => {
                write!(formatter, "the edition states root {stated}, the events at its frontier give {computed}")
            }
            Self::ListHash { stated, computed } => {
                write!(formatter, "the edition states list hash {stated}, the events at its frontier give {computed}")
            }
        }
    }
}

/// What changed in the list between an older and a newer edition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EditionChanges {
    /// In the newer list and not in the older one.
    pub added: Vec<EventId>,
    /// Released in the newer list and not released in the older one (present in both).
    pub released: Vec<EventId>,
    /// Died in the newer list and not in the older one (present in both).
    pub died: Vec<EventId>,
    /// In the older list and not in the newer one.
    pub delisted: Vec<EventId>,
}

/// Computes the list at `frontier` from `events` (any superset of the frontier's chains, in any
/// order; events beyond the frontier, of other feeds or of forks are ignored).
pub fn list_at_frontier(
    genesis: &Genesis,
    frontier: &[FrontierEntry],
    events: impl IntoIterator<Item = SignedEvent>,
) -> Result<EditionList, EditionError> {
    if frontier.is_empty() {
        return Err(EditionError::BadFrontier { index: 0 });
    }
    for (index, pair) in frontier.windows(2).enumerate() {
        if pair[0].org >= pair[1].org {
            return Err(EditionError::BadFrontier { index: index + 1 });
        }
    }
    let heads: HashMap<&OrgSlug, u64> = frontier.iter().map(|head| (&head.org, head.seq)).collect();
    let head_ids: std::collections::HashSet<EventId> = frontier.iter().map(|head| head.id).collect();
    let mut candidates: HashMap<EventId, SignedEvent> = HashMap::new();
    for event in events {
        let content = event.event();
        // A head id is kept whatever its seq, so that a frontier naming it at the wrong seq is
        // reported as such rather than as a missing event.
        if heads.get(&content.org).is_some_and(|&head_seq| content.seq <= head_seq) || head_ids.contains(&event.id()) {
            candidates.insert(event.id(), event);
        }
    }
    let mut projector = Projector::new(genesis);
    let mut covered = 0u64;
    for head in frontier {
        let mut expected = Some(head.id);
        for seq in (1..=head.seq).rev() {
            let Some(id) = expected else {
                return Err(EditionError::NotOnChain { org: head.org.clone(), seq, id: head.id });
            };
            let event =
                candidates.remove(&id).ok_or_else(|| EditionError::MissingEvent { org: head.org.clone(), seq, id })?;
            let content = event.event();
            if content.org != head.org || content.seq != seq {
                return Err(EditionError::NotOnChain { org: head.org.clone(), seq, id });
            }
            expected = content.prev;
            projector.insert(event)?;
            covered += 1;
        }
    }
    EditionList::from_projection(frontier, projector.projection(), covered)
}

/// Checks a stated edition (count, root, list hash at `frontier`) against `events`: the
/// computed list, and every stated value that differs (empty when the edition reproduces).
/// Signatures and quorum are the projection's business (an edition is recorded only with a valid
/// note signature) and the note verifier's.
pub fn check_edition(
    genesis: &Genesis,
    frontier: &[FrontierEntry],
    count: u64,
    root: Digest,
    list_hash: Digest,
    events: impl IntoIterator<Item = SignedEvent>,
) -> Result<(EditionList, Vec<EditionMismatch>), EditionError> {
    let list = list_at_frontier(genesis, frontier, events)?;
    let mismatches = list.mismatches(count, root, list_hash);
    Ok((list, mismatches))
}

impl EditionList {
    /// The list of `projection`, which must hold exactly the events at or below `frontier`
    /// (`events` of them): what [`list_at_frontier`] computes once it has gathered them, and what
    /// an auditor that walks many frontiers with one projector computes at each.
    pub fn from_projection(
        frontier: &[FrontierEntry],
        projection: &Projection,
        events: u64,
    ) -> Result<Self, EditionError> {
        let written = projection.list_entries().map(|entry| EditionEntry::write(&entry)).collect::<Result<_, _>>()?;
        Self::from_written(frontier, projection, written, events)
    }

    /// [`Self::from_projection`] from entries already written with [`EditionEntry::write`],
    /// one per entry of `projection`'s list, in its order: writing each entry is independent of
    /// the others, so a caller may spread it over threads. Entries that are not the list's (a
    /// case missing, added or out of order) give [`EditionError::EntriesNotOfList`].
    pub fn from_written(
        frontier: &[FrontierEntry],
        projection: &Projection,
        written: Vec<(EditionEntry, [u8; HASH_BYTES])>,
        events: u64,
    ) -> Result<Self, EditionError> {
        if let Some(first) = projection.waiting().first() {
            return Err(EditionError::NotClosed { waiting: projection.waiting().len(), example: first.id });
        }
        let mut cases = projection
            .cases()
            .filter(|case| case.status().is_in_list() && case.status_date().is_some())
            .map(|case| case.id());
        let of_list = written.iter().all(|(entry, _)| cases.next() == Some(entry.case)) && cases.next().is_none();
        if !of_list {
            return Err(EditionError::EntriesNotOfList);
        }
        let (entries, leaf_hashes): (Vec<EditionEntry>, Vec<[u8; HASH_BYTES]>) = written.into_iter().unzip();
        // The entries are written once: the list hash is taken over the same texts, and kept as
        // the projection's list summary (the projection has not changed since).
        let list_hash = crate::list::hash_of_entries(projection.ledger(), entries.iter().map(|entry| &entry.canonical));
        let _ = projection.list.set(Ok(ListSummary { count: entries.len(), hash: list_hash }));
        let root = Digest::from_bytes(merkle::root(&leaf_hashes));
        Ok(Self { frontier: frontier.to_vec(), entries, leaf_hashes, root, list_hash, events })
    }

    /// The number of entries.
    pub fn count(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Every stated value that differs from this list's.
    pub fn mismatches(&self, count: u64, root: Digest, list_hash: Digest) -> Vec<EditionMismatch> {
        let mut found = Vec::new();
        if count != self.count() {
            found.push(EditionMismatch::Count { stated: count, computed: self.count() });
        }
        if root != self.root {
            found.push(EditionMismatch::Root { stated: root, computed: self.root });
        }
        if list_hash != self.list_hash {
            found.push(EditionMismatch::ListHash { stated: list_hash, computed: self.list_hash });
        }
        found
    }

    /// The entry of `case` and its audit path, if the case is in this list.
    pub fn proof(&self, case: &EventId) -> Option<InclusionProof> {
        let index = self.entries.binary_search_by(|entry| entry.case.cmp(case)).ok()?;
        let path = merkle::inclusion_proof(&self.leaf_hashes, index as u64).ok()?;
        Some(InclusionProof {
            index: index as u64,
            count: self.count(),
            entry: self.entries[index].canonical.clone(),
            path,
        })
    }

    /// What changed from `older` to this list.
    pub fn changes_since(&self, older: &EditionList) -> EditionChanges {
        let before: HashMap<EventId, Status> = older.entries.iter().map(|entry| (entry.case, entry.status)).collect();
        let mut changes = EditionChanges::default();
        for entry in &self.entries {
            match before.get(&entry.case) {
                None => changes.added.push(entry.case),
                Some(&was) if was != entry.status && entry.status == Status::Released => {
                    changes.released.push(entry.case)
                }
                Some(&was) if was != entry.status && entry.status == Status::Died => changes.died.push(entry.case),
                Some(_) => {}
            }
        }
        let now: std::collections::HashSet<EventId> = self.entries.iter().map(|entry| entry.case).collect();
        changes.delisted = older.entries.iter().map(|entry| entry.case).filter(|case| !now.contains(case)).collect();
        changes
    }
}

/// Checks an inclusion proof: the leaf hash of `entry`, walked up `path`, must reach `root` in a
/// tree of `count` leaves at `index`.
pub fn verify_inclusion(proof: &InclusionProof, root: &Digest) -> Result<(), MerkleError> {
    let leaf = merkle::leaf_hash(proof.entry.as_bytes());
    merkle::verify_inclusion(&leaf, proof.index, proof.count, &proof.path, root.as_bytes())
}
