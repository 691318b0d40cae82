//! Monthly editions on a node: the list at a frontier read from the store, proposing an edition
//! at the node's current frontier, cosigning one only when the node reproduces its list, and the
//! signed edition note with every cosignature.
//!
//! The list at a frontier is a pure function of the events at or below it
//! (`coalition_projector::list_at_frontier`), so computed lists are kept in a small process-wide
//! cache keyed by ledger and frontier: whichever node of the process computed it, the list of one
//! frontier is the same bytes. A node is answered from the cache only when it holds the
//! frontier's heads; otherwise it computes, and gets an error if it cannot.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, OnceLock};

use coalition_core::body::{EditionCosigned, EditionProposed, EventKind, FrontierEntry};
use coalition_core::edition::{EditionStatement, assemble_note};
use coalition_core::event::{EventId, LedgerId, SignedEvent};
use coalition_projector::{Edition, EditionError, EditionList, EditionMismatch, list_at_frontier};

use crate::{Node, NodeError, SubmitError, Submitted, lock};

/// Lists kept in the process-wide cache of computed edition lists.
pub const EDITION_LISTS_CACHED_MAX: usize = 16;

/// Why an edition could not be proposed, cosigned or computed. Nothing was written when this is
/// returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditionFailure {
    /// The node holds no signing key.
    #[error("this node is read-only: it holds no signing key")]
    ReadOnly,
    /// The label is not a month.
    #[error("{0:?} is not a month like 2026-11")]
    BadLabel(String),
    /// The node holds no event: there is no list to publish.
    #[error("the node holds no event yet: there is nothing to publish")]
    NothingToPublish,
    /// An edition with this label was proposed already.
    #[error("an edition labelled {label} was already proposed ({id}): cosign it instead")]
    LabelTaken {
        /// The label.
        label: String,
        /// The existing proposal.
        id: EventId,
    },
    /// No edition has this label (or id).
    #[error("no edition {0} is known to this node")]
    UnknownEdition(String),
    /// Several proposals carry this label.
    #[error("{count} editions are labelled {label}: name one by its id")]
    Ambiguous {
        /// The label.
        label: String,
        /// How many.
        count: usize,
    },
    /// This node's organisation signed the edition already.
    #[error("{0} has already signed this edition")]
    AlreadySigned(String),
    /// The node cannot compute the list at the frontier (an event is missing, the frontier is not
    /// causally closed).
    #[error("this node cannot compute the list at the edition's frontier: {0}")]
    Unreproducible(#[from] EditionError),
    /// The node computes another list than the edition states.
    #[error("this node computes another list at the edition's frontier: {}", describe(.0))]
    Differs(Vec<EditionMismatch>),
    /// Signing or storing the event failed.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// Reading the store failed.
    #[error(transparent)]
    Node(#[from] NodeError),
}

fn describe(mismatches: &[EditionMismatch]) -> String {
    mismatches.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

type CacheKey = (LedgerId, Vec<FrontierEntry>);
type Cache = Mutex<Vec<(CacheKey, Arc<EditionList>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Vec::new()))
}

/// An edition as the node publishes it: what the projection recorded, and its note.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PublishedEdition {
    /// The recorded edition (cosigners, official or not).
    pub edition: Edition,
    /// The note text every cosigner signed.
    pub note_text: String,
    /// The signed note with every cosigner's signature (proposer first).
    pub note: String,
}

impl Node {
    /// The list at `frontier`, computed from the events this node stores (cached).
    pub fn edition_list(&self, frontier: &[FrontierEntry]) -> Result<Arc<EditionList>, EditionFailure> {
        let key = (self.genesis().ledger_id(), frontier.to_vec());
        // A cached list is this node's answer only if it holds the frontier's heads (and so,
        // feeds being chains, every event below them).
        let holds_heads = {
            let state = lock(&self.inner.state);
            frontier.iter().all(|head| state.verifier.id_at(&head.org, head.seq) == Some(head.id))
        };
        if holds_heads && let Some((_, list)) = lock(cache()).iter().find(|(cached, _)| *cached == key) {
            return Ok(Arc::clone(list));
        }
        let mut events: Vec<SignedEvent> = Vec::new();
        for head in frontier {
            let mut next = 1u64;
            while next <= head.seq {
                let want = usize::try_from(head.seq - next + 1).unwrap_or(usize::MAX);
                let page = self.read_feed(&head.org, next, want)?;
                if page.is_empty() {
                    break;
                }
                next += page.len() as u64;
                events.extend(page.into_iter().filter(|event| event.event().seq <= head.seq));
            }
        }
        // Events of a forked feed that the store keeps as proofs rather than feed content.
        for proof in self.inner.store.fork_proofs().map_err(NodeError::from)? {
            events.push(proof.second);
        }
        let list = Arc::new(list_at_frontier(self.genesis(), frontier, events)?);
        let mut cached = lock(cache());
        if cached.len() >= EDITION_LISTS_CACHED_MAX {
            cached.remove(0);
        }
        cached.push((key, Arc::clone(&list)));
        Ok(list)
    }

    /// The node's current frontier: the head of every feed it holds.
    pub fn current_frontier(&self) -> Vec<FrontierEntry> {
        self.heads().into_iter().map(|(org, (seq, id))| FrontierEntry { id, org, seq }).collect()
    }

    /// Proposes the edition `label` at this node's current frontier: computes the list, signs the
    /// edition note and the `edition.proposed` event. Blocking until durable.
    pub fn propose_edition(&self, label: &str) -> Result<(Submitted, Arc<EditionList>), EditionFailure> {
        let key = self.inner.key.as_ref().ok_or(EditionFailure::ReadOnly)?;
        if let Some(existing) = self.with_projection(|projection| {
            projection.editions().find(|edition| edition.label == label).map(|edition| edition.id)
        }) {
            return Err(EditionFailure::LabelTaken { label: label.to_owned(), id: existing });
        }
        let frontier = self.current_frontier();
        if frontier.is_empty() {
            return Err(EditionFailure::NothingToPublish);
        }
        let list = self.edition_list(&frontier)?;
        let statement = EditionStatement {
            origin: &self.genesis().doc().origin,
            ledger: self.genesis().ledger_id(),
            label,
            count: list.count(),
            root: list.root,
            list_hash: list.list_hash,
            frontier: &frontier,
        };
        let body = EditionProposed {
            count: list.count(),
            frontier: frontier.clone(),
            label: label.to_owned(),
            list_hash: list.list_hash,
            note_signature: statement.sign(key),
            root: list.root,
        };
        let body = serde_json::to_value(&body).map_err(|error| SubmitError::NotCanonical(error.to_string()))?;
        let submitted = self.sign_and_store(EventKind::EditionProposed, body).map_err(|error| match error {
            SubmitError::Schema(schema) if schema.path() == "label" => EditionFailure::BadLabel(label.to_owned()),
            other => EditionFailure::Submit(other),
        })?;
        Ok((submitted, list))
    }

    /// Finds an edition by its label or its id.
    pub fn find_edition(&self, label_or_id: &str) -> Result<Edition, EditionFailure> {
        let id = EventId::parse(label_or_id).ok();
        self.with_projection(|projection| {
            if let Some(edition) = id.and_then(|id| projection.edition(&id)) {
                return Ok(edition.clone());
            }
            let mut found = projection.editions().filter(|edition| edition.label == label_or_id);
            match (found.next(), found.count()) {
                (Some(edition), 0) => Ok(edition.clone()),
                (Some(_), more) => Err(EditionFailure::Ambiguous { label: label_or_id.to_owned(), count: more + 1 }),
                (None, _) => Err(EditionFailure::UnknownEdition(label_or_id.to_owned())),
            }
        })
    }

    /// Cosigns the edition `label_or_id` after recomputing its list at its frontier from this
    /// node's own store; refuses when the node cannot compute it or computes another one.
    pub fn cosign_edition(&self, label_or_id: &str) -> Result<(Submitted, Edition), EditionFailure> {
        let (key, org) = match (&self.inner.key, &self.inner.org) {
            (Some(key), Some(org)) => (key, org),
            _ => return Err(EditionFailure::ReadOnly),
        };
        let edition = self.find_edition(label_or_id)?;
        if edition.cosigners.contains(org) {
            return Err(EditionFailure::AlreadySigned(org.to_string()));
        }
        let list = self.edition_list(&edition.frontier)?;
        let mismatches = list.mismatches(edition.count, edition.root, edition.list_hash);
        if !mismatches.is_empty() {
            return Err(EditionFailure::Differs(mismatches));
        }
        let statement = statement_of(self, &edition);
        let body = EditionCosigned { edition: edition.id, note_signature: statement.sign(key), root: edition.root };
        let body = serde_json::to_value(&body).map_err(|error| SubmitError::NotCanonical(error.to_string()))?;
        let submitted = self.sign_and_store(EventKind::EditionCosigned, body)?;
        let edition = self.find_edition(&edition.id.to_string())?;
        Ok((submitted, edition))
    }

    /// Every edition the projection records, oldest label first (then by id).
    pub fn editions(&self) -> Vec<Edition> {
        let mut editions: Vec<Edition> = self.with_projection(|projection| projection.editions().cloned().collect());
        editions.sort_by(|a, b| (&a.label, a.id).cmp(&(&b.label, b.id)));
        editions
    }

    /// The edition and its signed note with every cosignature recorded.
    pub fn published_edition(&self, label_or_id: &str) -> Result<PublishedEdition, EditionFailure> {
        let edition = self.find_edition(label_or_id)?;
        let note_text = statement_of(self, &edition).note_text();
        let note = assemble_note(&note_text, &edition.note_signatures);
        Ok(PublishedEdition { edition, note_text, note })
    }

    /// The official edition with the greatest label, if any.
    pub fn latest_official_edition(&self) -> Option<Edition> {
        let by_label: BTreeMap<String, Edition> = self
            .editions()
            .into_iter()
            .filter(|edition| edition.official_by.is_some())
            .map(|edition| (edition.label.clone(), edition))
            .collect();
        by_label.into_values().next_back()
    }

    /// The official edition published before `edition` (the greatest smaller label), if any.
    pub fn previous_official_edition(&self, edition: &Edition) -> Option<Edition> {
        self.editions()
            .into_iter()
            .filter(|other| other.official_by.is_some() && other.label < edition.label)
            .max_by(|a, b| a.label.cmp(&b.label))
    }

    /// Every event the node stores, as a visitor sees them (for tests of edition tooling that need
    /// the full set).
    pub fn all_events(&self) -> Result<Vec<SignedEvent>, NodeError> {
        let mut events = Vec::new();
        self.for_each_event(&mut |event| {
            events.push(event);
            ControlFlow::Continue(())
        })?;
        Ok(events)
    }
}

fn statement_of<'a>(node: &'a Node, edition: &'a Edition) -> EditionStatement<'a> {
    EditionStatement {
        origin: &node.genesis().doc().origin,
        ledger: node.genesis().ledger_id(),
        label: &edition.label,
        count: edition.count,
        root: edition.root,
        list_hash: edition.list_hash,
        frontier: &edition.frontier,
    }
}
