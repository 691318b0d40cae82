//! Data keys on the node (PROTOCOL §14.2–14.4): sealing a member's record under its case's data
//! key, the member view of a case's sealed records, shredding a case's keys, and the private
//! records (key grants, reports) that replication carries between nodes.
//!
//! Clear keys live only in memory ([`KeyRing`]): on disk a key exists only inside its grant, an
//! age file sealed to the members' recipients. Nothing here logs a key or a record.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use coalition_core::body::EventKind;
use coalition_core::event::{EventId, OrgSlug};
use coalition_core::seal::{DataKeyId, GRANT_BYTES_MAX, KeyGrant, SealContext, SealedRecord, open_record, seal_record};
use coalition_core::time::Timestamp;
use coalition_store::PrivateSpace;
use coalition_store::limits::PRIVATE_PAGE_MAX;

use crate::{Node, NodeError, SubmitError, Submitted, lock};

/// Most private changes kept for replication before the oldest are dropped (a node that does
/// not replicate still runs; replication republishes what the store holds when it starts).
pub const PRIVATE_CHANGES_MAX: usize = 10_000;

/// One private record kept or deleted on this node, for replication to carry to the others.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrivateChange {
    /// The node keeps a new private record (a ciphertext).
    Kept {
        /// Its space.
        space: PrivateSpace,
        /// Its id in the space.
        id: String,
        /// The ciphertext.
        bytes: Vec<u8>,
    },
    /// The node deleted a private record: the others must delete their copy.
    Deleted {
        /// Its space.
        space: PrivateSpace,
        /// Its id in the space.
        id: String,
    },
}

/// One sealed record of a case as a member node reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedRecord {
    /// The organisation whose feed carries the sealed event.
    pub org: OrgSlug,
    /// Its seq in that feed.
    pub seq: u64,
    /// Its signed time.
    pub time: Timestamp,
    /// The sealed event's id.
    pub id: EventId,
    /// The data key id it names.
    pub key: DataKeyId,
    /// The record, or why it cannot be read.
    pub content: RecordContent,
}

/// What a sealed record holds for this node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordContent {
    /// The record, opened.
    Opened(SealedRecord),
    /// Its data key was shredded: nobody following the protocol can read it any more.
    Shredded,
    /// The grant is held but the ciphertext does not open to a valid record of this case.
    DoesNotOpen(String),
}

/// The clear data keys a node holds in memory.
#[derive(Default)]
pub(crate) struct KeyRing {
    /// Grants opened with the identity or made here, by key id.
    pub(crate) opened: HashMap<DataKeyId, KeyGrant>,
    /// The case of every key this node has known, kept after shredding (in memory only) so the
    /// case file can still say which records were shredded.
    key_case: HashMap<DataKeyId, Option<EventId>>,
    /// The key this node seals a case's new records with, and the sealing set it was granted to
    /// (recipient texts, sorted by slug): a new set means a new key.
    current: HashMap<Option<EventId>, (DataKeyId, Vec<String>)>,
    /// The sealing set (recipient texts) the held grants were last made for (`regrant.rs`).
    pub(crate) sealing_set: Option<Vec<String>>,
}

impl KeyRing {
    fn remember(&mut self, grant: KeyGrant) {
        self.key_case.insert(grant.key_id, grant.case);
        self.opened.insert(grant.key_id, grant);
    }
}

impl Node {
    /// Seals `record` (its kind, case and fields, sensitive ones included) and signs a `sealed`
    /// event with the ciphertext. The record's case's data key is used, or a new one made when
    /// there is none yet or the sealing set changed since it was made: its grant, sealed to every
    /// current member's recipient, is stored (and queued for replication) before the event is
    /// signed. Refused, with nothing signed, when the node cannot seal: no identity, no
    /// recipients, or its own recipient is not in the sealing set (it could not read back).
    pub fn seal_record(&self, record: SealedRecord) -> Result<Submitted, SubmitError> {
        let (org, recipients) = self.check_can_seal()?;
        record.validate()?;
        if let Some(case) = &record.case
            && !self.with_projection(|projection| projection.case(case).is_some())
        {
            return Err(SubmitError::UnknownReference { what: "case", id: *case });
        }
        let set: Vec<String> = recipients.iter().map(ToString::to_string).collect();
        let grant = {
            let mut ring = lock(&self.inner.keys);
            let reusable = ring.current.get(&record.case).and_then(|(key_id, granted_to)| {
                let usable = *granted_to == set && !self.with_projection(|projection| projection.is_shredded(key_id));
                usable.then(|| ring.opened.get(key_id).cloned()).flatten()
            });
            match reusable {
                Some(grant) => grant,
                None => {
                    let grant = KeyGrant::generate(record.case)?;
                    let sealed = grant.seal(&recipients)?;
                    // The grant is durable before any event names its key.
                    self.keep_private(PrivateSpace::KeyGrants, &grant.key_id.to_string(), &sealed).map_err(
                        |error| match error {
                            NodeError::Store(error) => SubmitError::Store(error),
                            other => SubmitError::CannotSeal(other.to_string()),
                        },
                    )?;
                    ring.current.insert(record.case, (grant.key_id, set));
                    ring.remember(grant.clone());
                    grant
                }
            }
        };
        let ledger = self.genesis().ledger_id();
        let ciphertext = seal_record(&record, &grant, SealContext { ledger: &ledger, org: &org })?;
        self.sign_and_store(EventKind::Sealed, serde_json::json!({ "ciphertext": ciphertext, "key": grant.key_id }))
    }

    /// Checks that this node can seal for the coalition now, before anything is signed: it
    /// signs, holds an identity, and its own recipient is in the sealing set (so it can read
    /// back what it seals). Returns its org and the sealing set.
    pub(crate) fn check_can_seal(&self) -> Result<(OrgSlug, Vec<coalition_core::seal::Recipient>), SubmitError> {
        let Some(org) = self.org().cloned() else { return Err(SubmitError::ReadOnly) };
        let identity = self.identity().ok_or_else(|| {
            SubmitError::CannotSeal(
                "this node holds no identity, so it cannot seal: start it with --identity FILE; sensitive data is \
                 never signed in clear"
                    .into(),
            )
        })?;
        let recipients = self.sealing_recipients().map_err(|error| SubmitError::CannotSeal(error.to_string()))?;
        let own = identity.recipient();
        if !recipients.contains(&own) {
            return Err(SubmitError::CannotSeal(format!(
                "{org}'s recipient {own} is not in the sealing set (the members' current recipients): publish it with \
                 recipient.rotated or start the node with the identity of the published recipient"
            )));
        }
        Ok((org, recipients))
    }

    /// The sealed records of `case` this node can attribute to it (through the data keys it
    /// holds or held), opened, in (time, id) order. Records under keys whose grant never reached
    /// this node are not listed: a sealed body names no case in clear.
    pub fn case_file(&self, case: &EventId) -> Result<Vec<OpenedRecord>, NodeError> {
        if !self.has_identity() {
            return Err(NodeError::NoIdentity);
        }
        let keys: Vec<(DataKeyId, Option<KeyGrant>)> = {
            let ring = lock(&self.inner.keys);
            ring.key_case
                .iter()
                .filter(|(_, key_case)| key_case.as_ref() == Some(case))
                .map(|(key_id, _)| (*key_id, ring.opened.get(key_id).cloned()))
                .collect()
        };
        let ledger = self.genesis().ledger_id();
        let mut records = Vec::new();
        for (key_id, grant) in keys {
            let ids = lock(&self.inner.state).sealed_events.get(&key_id).cloned().unwrap_or_default();
            let shredded = self.with_projection(|projection| projection.is_shredded(&key_id));
            for id in ids {
                let Some(event) = self.event(&id)? else { continue };
                let content = event.event();
                let coalition_core::body::Body::Sealed(body) = &content.body else { continue };
                let opened = match (&grant, shredded) {
                    (Some(grant), false) => {
                        match open_record(&body.ciphertext, grant, SealContext { ledger: &ledger, org: &content.org }) {
                            Ok(record) if record.case.as_ref() == Some(case) => RecordContent::Opened(record),
                            Ok(_) => RecordContent::DoesNotOpen("the record names another case than its key".into()),
                            Err(error) => RecordContent::DoesNotOpen(error.to_string()),
                        }
                    }
                    _ => RecordContent::Shredded,
                };
                records.push(OpenedRecord {
                    org: content.org.clone(),
                    seq: content.seq,
                    time: content.time,
                    id,
                    key: key_id,
                    content: opened,
                });
            }
        }
        records.sort_by_key(|record| (record.time, record.id));
        Ok(records)
    }

    /// Shreds `case`: signs `sealed.shredded` naming every data key of the case this node knows
    /// and that is not yet shredded (sorted; several events beyond
    /// [`coalition_core::body::SHREDDED_KEYS_MAX`] keys), and destroys their grants here. Every
    /// node that applies the event destroys its grants too.
    pub fn shred_case(&self, case: &EventId) -> Result<Vec<Submitted>, SubmitError> {
        if self.org().is_none() {
            return Err(SubmitError::ReadOnly);
        }
        if !self.has_identity() {
            return Err(SubmitError::CannotSeal(
                "this node holds no identity, so it does not know the case's data keys: start it with --identity FILE"
                    .into(),
            ));
        }
        let mut keys: Vec<DataKeyId> = {
            let ring = lock(&self.inner.keys);
            ring.key_case.iter().filter(|(_, key_case)| key_case.as_ref() == Some(case)).map(|(key, _)| *key).collect()
        };
        keys.retain(|key| !self.with_projection(|projection| projection.is_shredded(key)));
        keys.sort();
        if keys.is_empty() {
            return Err(SubmitError::Refused(format!(
                "this node holds no data key of case {case} that is not shredded already"
            )));
        }
        keys.chunks(coalition_core::body::SHREDDED_KEYS_MAX)
            .map(|chunk| self.sign_and_store(EventKind::SealedShredded, serde_json::json!({ "keys": chunk })))
            .collect()
    }

    /// Keeps a private record made on this node (a ciphertext: a grant, a report) and queues it
    /// for replication. Returns `false` when a record with this id was already kept.
    pub fn keep_private(&self, space: PrivateSpace, id: &str, bytes: &[u8]) -> Result<bool, NodeError> {
        let stored = self.inner.store.put_private(space, id, bytes)?;
        if stored {
            self.queue_private_change(PrivateChange::Kept { space, id: id.to_owned(), bytes: bytes.to_vec() });
        }
        Ok(stored)
    }

    /// Deletes a private record on this node and queues the deletion for replication, so the
    /// other nodes delete their copy. Returns whether it was there.
    pub fn delete_private(&self, space: PrivateSpace, id: &str) -> Result<bool, NodeError> {
        let deleted = self.inner.store.delete_private(space, id)?;
        self.queue_private_change(PrivateChange::Deleted { space, id: id.to_owned() });
        Ok(deleted)
    }

    /// A private record this node keeps.
    pub fn private_record(&self, space: PrivateSpace, id: &str) -> Result<Option<Vec<u8>>, NodeError> {
        Ok(self.inner.store.get_private(space, id)?)
    }

    /// Up to `limit` private record ids of `space` after `after`, in id order.
    pub fn private_ids(
        &self,
        space: PrivateSpace,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, NodeError> {
        Ok(self.inner.store.private_ids(space, after, limit.min(PRIVATE_PAGE_MAX))?)
    }

    /// Takes up to `limit` queued private changes, oldest first: what replication publishes.
    pub fn take_private_changes(&self, limit: usize) -> Vec<PrivateChange> {
        let mut queue = lock(&self.inner.private_changes);
        let count = limit.min(queue.len());
        queue.drain(..count).collect()
    }

    /// Stores a private record another node published (idempotent; not queued again). A key
    /// grant is refused when its key is shredded, and, when this node holds its identity, when
    /// it does not open to the key its id names. Returns whether it was newly stored.
    pub fn receive_private(&self, space: PrivateSpace, id: &str, bytes: &[u8]) -> Result<bool, NodeError> {
        if space == PrivateSpace::KeyGrants {
            let key_id = DataKeyId::parse(id).ok_or_else(|| {
                NodeError::Seal(coalition_core::seal::SealError::Invalid {
                    what: "key grant",
                    reason: "its id is not a data key id".into(),
                })
            })?;
            if bytes.len() > GRANT_BYTES_MAX {
                return Err(NodeError::Seal(coalition_core::seal::SealError::TooLarge {
                    what: "key grant",
                    bytes: bytes.len(),
                    max: GRANT_BYTES_MAX,
                }));
            }
            if self.with_projection(|projection| projection.is_shredded(&key_id)) {
                return Ok(false);
            }
            let mut opens = None;
            if let Some(identity) = self.identity() {
                match KeyGrant::open_at(bytes, &identity, self.stanza_position(&identity)) {
                    Ok(grant) if grant.key_id == key_id => {
                        lock(&self.inner.keys).remember(grant);
                        opens = Some(true);
                    }
                    Ok(_) => {
                        return Err(NodeError::Seal(coalition_core::seal::SealError::Invalid {
                            what: "key grant",
                            reason: "it holds another key than its id names".into(),
                        }));
                    }
                    // Sealed to a set without this member (before its admission): kept for
                    // re-granting by others, unreadable here.
                    Err(_) => opens = Some(false),
                }
            }
            // A re-grant replaces the copy held (regrant.rs decides which copy stays).
            return self.keep_received_grant(&key_id, bytes, opens);
        }
        Ok(self.inner.store.put_private(space, id, bytes)?)
    }

    /// Deletes a private record because another node deleted it (not queued again). A key grant
    /// is deleted only when its key is shredded in this node's projection (the feed is the
    /// source of truth for shredding; a deletion that arrives before the `sealed.shredded`
    /// event is done when that event is applied): otherwise nothing happens and `false` is
    /// returned, so no member can take the others' keys away outside the signed history.
    pub fn receive_private_deletion(&self, space: PrivateSpace, id: &str) -> Result<bool, NodeError> {
        if space == PrivateSpace::KeyGrants {
            let Some(key_id) = DataKeyId::parse(id) else { return Ok(false) };
            if !self.with_projection(|projection| projection.is_shredded(&key_id)) {
                return Ok(false);
            }
            lock(&self.inner.keys).opened.remove(&key_id);
        }
        Ok(self.inner.store.delete_private(space, id)?)
    }

    /// Opens every grant in the private store with the identity and caches the keys. Grants that
    /// do not open (made before this member was admitted) are skipped.
    pub(crate) fn load_grants(&self) -> Result<usize, NodeError> {
        let Some(identity) = self.identity() else { return Ok(0) };
        let position = self.stanza_position(&identity);
        let mut after: Option<String> = None;
        let mut opened = 0;
        loop {
            let ids = self.inner.store.private_ids(PrivateSpace::KeyGrants, after.as_deref(), PRIVATE_PAGE_MAX)?;
            let Some(last) = ids.last().cloned() else { break };
            for id in &ids {
                let Some(bytes) = self.inner.store.get_private(PrivateSpace::KeyGrants, id)? else { continue };
                if let Ok(grant) = KeyGrant::open_at(&bytes, &identity, position)
                    && grant.key_id.to_string() == *id
                {
                    lock(&self.inner.keys).remember(grant);
                    opened += 1;
                }
            }
            after = Some(last);
        }
        self.remember_sealing_set();
        Ok(opened)
    }

    /// Destroys the grants and cached keys of every key a `sealed.shredded` event applied since
    /// the last call names: in the private store, in memory, and (queued) on the other nodes.
    pub(crate) fn destroy_shredded_grants(&self) -> Result<(), NodeError> {
        let pending = std::mem::take(&mut lock(&self.inner.state).shredded_pending);
        for (index, key_id) in pending.iter().enumerate() {
            let id = key_id.to_string();
            if let Err(error) = self.inner.store.delete_private(PrivateSpace::KeyGrants, &id) {
                // Keep the rest pending: they are retried after the next applied event.
                lock(&self.inner.state).shredded_pending.extend_from_slice(&pending[index..]);
                return Err(error.into());
            }
            self.queue_private_change(PrivateChange::Deleted { space: PrivateSpace::KeyGrants, id });
            let mut ring = lock(&self.inner.keys);
            ring.opened.remove(key_id);
            ring.current.retain(|_, (current, _)| current != key_id);
        }
        if !pending.is_empty() {
            self.inner.version.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    }

    pub(crate) fn queue_private_change(&self, change: PrivateChange) {
        let mut queue = lock(&self.inner.private_changes);
        if queue.len() >= PRIVATE_CHANGES_MAX {
            queue.pop_front();
            tracing::warn!(limit = PRIVATE_CHANGES_MAX, "private changes not replicated in time; the oldest dropped");
        }
        queue.push_back(change);
    }
}
