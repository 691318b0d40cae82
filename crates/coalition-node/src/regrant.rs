//! Re-granting data keys when the sealing set grows (PROTOCOL §14.6: "re-granting is a node's
//! duty"), and which copy of a key grant a node keeps when two differ.
//!
//! A node remembers the sealing set (the members' current recipients) it last saw. When an
//! applied event (an admission with a recipient, a `recipient.rotated`) adds a recipient to it,
//! the node seals every data key it holds open and that is not shredded to the new set again —
//! same key id, a new age file — replaces its stored grant and queues the new one for
//! replication, so the new recipient's node can open the records made before. A set that only
//! shrinks (a removal) re-grants nothing: the removed member keeps what it had, and new records
//! get a new key anyway (`seal_record` makes one per case and sealing set).
//!
//! Every node that holds a key re-grants it, so one node offline or crashed in the middle does
//! not leave the newcomer without keys; the copies differ only in their age randomness and the
//! private stream keeps the latest. The remembered set lives in memory: it is taken when the
//! identity is given (start-up), so a set change applied before a crash and not re-granted by
//! this node is left to the other holders.

use coalition_core::seal::{DataKeyId, KeyGrant};
use coalition_store::PrivateSpace;

use crate::data_keys::PrivateChange;
use crate::{Node, NodeError, lock};

impl Node {
    /// Takes the current sealing set as the one the held grants were made for (when the
    /// identity is given: nothing is re-granted for changes before it).
    pub(crate) fn remember_sealing_set(&self) {
        let set = self.sealing_set_texts();
        lock(&self.inner.keys).sealing_set = Some(set);
    }

    /// Re-grants every held, unshredded data key when the sealing set gained a recipient since
    /// the last look. Returns how many grants were made. Nothing happens without an identity
    /// (the node holds no key open) or when the set did not grow.
    pub(crate) fn regrant_if_sealing_set_grew(&self) -> Result<usize, NodeError> {
        if !self.has_identity() {
            return Ok(0);
        }
        let set = self.sealing_set_texts();
        let (grants, previous): (Vec<KeyGrant>, Option<Vec<String>>) = {
            let mut ring = lock(&self.inner.keys);
            let grew = match &ring.sealing_set {
                Some(known) if *known == set => return Ok(0),
                Some(known) => set.iter().any(|recipient| !known.contains(recipient)),
                None => false,
            };
            let previous = ring.sealing_set.replace(set);
            if !grew {
                return Ok(0);
            }
            (ring.opened.values().cloned().collect(), previous)
        };
        let made = self.regrant(grants);
        if made.is_err() {
            // Look again after the next applied event (re-granting twice is harmless).
            lock(&self.inner.keys).sealing_set = previous;
        }
        made
    }

    /// Seals `grants` (those not shredded) to the current sealing set, replaces the stored copies
    /// and queues them for replication.
    fn regrant(&self, grants: Vec<KeyGrant>) -> Result<usize, NodeError> {
        let recipients = self.sealing_recipients()?;
        let mut made = 0;
        for grant in grants {
            if self.with_projection(|projection| projection.is_shredded(&grant.key_id)) {
                continue;
            }
            let sealed = grant.seal(&recipients)?;
            let id = grant.key_id.to_string();
            self.replace_grant(&id, &sealed)?;
            if self.with_projection(|projection| projection.is_shredded(&grant.key_id)) {
                // Shredded by an import on another thread while this was sealing: never bring the
                // grant back.
                self.inner.store.delete_private(PrivateSpace::KeyGrants, &id)?;
                continue;
            }
            self.queue_private_change(PrivateChange::Kept { space: PrivateSpace::KeyGrants, id, bytes: sealed });
            made += 1;
        }
        tracing::info!(
            grants = made,
            recipients = recipients.len(),
            "re-granted the held data keys to the new sealing set"
        );
        Ok(made)
    }

    /// Keeps a key grant another node published when this node already holds one for the same
    /// key with other bytes (a re-grant): the incoming copy replaces the held one unless the held
    /// one opens with this node's identity and the incoming one does not, so a stale copy never
    /// takes away a key this node can read. `incoming_opens` is `None` without an identity.
    /// Returns whether the stored grant changed.
    pub(crate) fn keep_received_grant(
        &self,
        key_id: &DataKeyId,
        bytes: &[u8],
        incoming_opens: Option<bool>,
    ) -> Result<bool, NodeError> {
        let id = key_id.to_string();
        let Some(held) = self.inner.store.get_private(PrivateSpace::KeyGrants, &id)? else {
            return Ok(self.inner.store.put_private(PrivateSpace::KeyGrants, &id, bytes)?);
        };
        if held == bytes {
            return Ok(false);
        }
        let replace = match (incoming_opens, self.identity()) {
            (Some(true), _) | (None, _) | (_, None) => true,
            (Some(false), Some(identity)) => KeyGrant::open(&held, &identity).is_err(),
        };
        if replace {
            self.replace_grant(&id, bytes)?;
        }
        Ok(replace)
    }

    /// Replaces the stored grant `id` (the store keeps a record once, so: delete, then keep).
    /// A crash between the two loses the local copy only; the key is still in the others' grants
    /// and in the private stream.
    fn replace_grant(&self, id: &str, bytes: &[u8]) -> Result<(), NodeError> {
        self.inner.store.delete_private(PrivateSpace::KeyGrants, id)?;
        self.inner.store.put_private(PrivateSpace::KeyGrants, id, bytes)?;
        Ok(())
    }

    fn sealing_set_texts(&self) -> Vec<String> {
        self.with_projection(|projection| projection.sealing_recipients()).into_iter().map(|(_, text)| text).collect()
    }
}
