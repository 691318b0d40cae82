//! The node's side of sealed records: the organisation's age identity and the recipients new
//! grants and reports are sealed to. The cryptography is in `coalition_core::seal`; this module
//! only decides whose keys are in force.

use std::sync::PoisonError;

use coalition_core::seal::{Identity, Recipient};

use crate::{Node, NodeError};

impl Node {
    /// Gives the node its organisation's age identity, so it can open key grants and reports,
    /// and opens every grant it holds (the clear keys stay in memory).
    /// Refused when the organisation has a current recipient in the projection and the identity
    /// is not for it (a wrong file would silently read nothing). A node of an organisation
    /// without a recipient accepts any identity (it can open nothing sealed to the coalition
    /// until it publishes the recipient with `recipient.rotated`).
    pub fn set_identity(&self, identity: Identity) -> Result<(), NodeError> {
        if let Some(org) = self.org() {
            let expected =
                self.with_projection(|projection| projection.member(org).and_then(|member| member.recipient.clone()));
            let given = identity.recipient().to_string();
            if let Some(expected) = expected
                && expected != given
            {
                return Err(NodeError::IdentityMismatch { org: org.clone(), given, expected });
            }
        }
        *self.inner.identity.write().unwrap_or_else(PoisonError::into_inner) = Some(identity);
        let opened = self.load_grants()?;
        tracing::info!(grants = opened, "opened the key grants held for this organisation");
        Ok(())
    }

    /// Whether the node holds its organisation's identity (it can open grants and reports).
    pub fn has_identity(&self) -> bool {
        self.inner.identity.read().unwrap_or_else(PoisonError::into_inner).is_some()
    }

    /// The organisation's identity, if the node holds one.
    pub(crate) fn identity(&self) -> Option<Identity> {
        self.inner.identity.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Seals `plaintext` (a report, say) to every current member's recipient.
    pub fn seal_to_members(&self, plaintext: &[u8]) -> Result<Vec<u8>, NodeError> {
        let recipients = self.sealing_recipients()?;
        Ok(coalition_core::seal::seal_to_recipients(plaintext, &recipients)?)
    }

    /// Opens an age file sealed to the members (by [`Node::seal_to_members`]) with this node's
    /// identity.
    pub fn open_sealed_to_members(&self, sealed: &[u8]) -> Result<Vec<u8>, NodeError> {
        let identity = self.identity().ok_or(NodeError::NoIdentity)?;
        let position = self.stanza_position(&identity);
        Ok(coalition_core::seal::open_with_identity_at(sealed, &identity, position)?)
    }

    /// Where `identity`'s recipient stands in the current sealing set: the stanza of a file
    /// sealed to that set which `identity` opens, tried first.
    pub(crate) fn stanza_position(&self, identity: &Identity) -> Option<usize> {
        let own = identity.recipient().to_string();
        self.with_projection(|projection| projection.sealing_recipients())
            .iter()
            .position(|(_, recipient)| *recipient == own)
    }

    /// The recipients a new key grant or report is sealed to: the current members' recipients
    /// in the projection, sorted by slug. Empty when no member has one.
    pub fn sealing_recipients(&self) -> Result<Vec<Recipient>, NodeError> {
        let texts = self.with_projection(|projection| projection.sealing_recipients());
        texts.into_iter().map(|(_, text)| Recipient::parse(&text).map_err(NodeError::from)).collect()
    }
}
