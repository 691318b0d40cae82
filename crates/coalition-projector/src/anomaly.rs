//! Anomalies: every event that had no effect, with the reason in plain words.
//!
//! An anomaly is not an error of the projector: the event is valid, signed and kept; the rules
//! just give it no effect at its place in the linear order. Auditors read the list to see what
//! members tried and why it did not count.

use std::fmt;

use coalition_core::body::{Criterion, Digest, EventKind, PolicyError, Sign};
use coalition_core::event::{EventId, OrgSlug};
use coalition_core::keys::KeyId;
use serde::Serialize;

/// One event that had no effect, or whose effect was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Anomaly {
    /// The event's id.
    pub event: EventId,
    /// The organisation whose feed holds it.
    pub org: OrgSlug,
    /// Its position in that feed.
    pub seq: u64,
    /// Its kind.
    pub kind: EventKind,
    /// Why it had no effect.
    pub reason: AnomalyReason,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} #{} ({}, {}): {}", self.org, self.seq, self.kind, self.event.short(), self.reason)
    }
}

/// What an event was expected to refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReferenceKind {
    /// A `case.opened` event.
    Case,
    /// A `member.proposed` or `member.removal_proposed` event.
    MembershipProposal,
    /// A `policy.proposed` event.
    PolicyProposal,
    /// An `edition.proposed` event.
    Edition,
}

impl ReferenceKind {
    /// Whether an event of `kind` is what this reference expects.
    pub fn accepts(self, kind: EventKind) -> bool {
        match self {
            Self::Case => kind == EventKind::CaseOpened,
            Self::MembershipProposal => matches!(kind, EventKind::MemberProposed | EventKind::MemberRemovalProposed),
            Self::PolicyProposal => kind == EventKind::PolicyProposed,
            Self::Edition => kind == EventKind::EditionProposed,
        }
    }
}

impl fmt::Display for ReferenceKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Case => "case (a case.opened event)",
            Self::MembershipProposal => "membership proposal (member.proposed or member.removal_proposed)",
            Self::PolicyProposal => "policy proposal (policy.proposed)",
            Self::Edition => "edition (edition.proposed)",
        })
    }
}

/// Why a proposal that reached its quorum was voided instead of enacted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VoidReason {
    /// The organisation to admit had become a member meanwhile.
    #[error("{0} is already a member")]
    AlreadyMember(OrgSlug),
    /// The member to remove was no longer a member.
    #[error("{0} is no longer a member")]
    NotAMember(OrgSlug),
    /// Removing the member would leave fewer members than a quorum of the policy in force.
    #[error("removing it would leave too few members for the policy in force: {0}")]
    TooFewMembers(#[source] PolicyError),
    /// The proposed policy does not fit the member count at enactment.
    #[error("the policy does not fit the current members: {0}")]
    PolicyDoesNotFit(#[source] PolicyError),
}

impl VoidReason {
    /// A short stable code for machines.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyMember(_) => "already_member",
            Self::NotAMember(_) => "not_a_member",
            Self::TooFewMembers(_) => "too_few_members",
            Self::PolicyDoesNotFit(_) => "policy_does_not_fit",
        }
    }
}

/// Why an event had no effect. The `Display` text is meant for the people who read audit
/// reports; [`AnomalyReason::code`] is stable for machines and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnomalyReason {
    /// The organisation's feed forked at `fork_seq` or earlier: every event of it from there on
    /// is excluded.
    #[error("the organisation's feed forked at seq {fork_seq}: its events from that seq on are excluded")]
    ExcludedByFork {
        /// The seq of the fork.
        fork_seq: u64,
    },
    /// `prev` does not name the organisation's own event at the previous seq (the verifier
    /// should have refused it).
    #[error("prev does not name this organisation's event at the previous seq")]
    BrokenChain,
    /// The signing organisation was not a current member at the event's place in the order.
    #[error("the organisation was not a current member at this point")]
    NotAMember,
    /// The event was signed with another key than the member's current one.
    #[error("signed with key {found}, but the member's current key is {expected}")]
    WrongKey {
        /// The member's current key id.
        expected: KeyId,
        /// The key id on the event.
        found: KeyId,
    },
    /// The referenced event is not in the event's causal past (not reachable by prev and deps).
    #[error("it refers to {reference}, which is not in its causal past")]
    NotInCausalPast {
        /// The id referred to.
        reference: EventId,
    },
    /// The referenced event is of another kind than the reference requires.
    #[error("it refers to {reference}, a {found} event, where a {expected} was expected")]
    WrongReferenceKind {
        /// The id referred to.
        reference: EventId,
        /// What was expected.
        expected: ReferenceKind,
        /// The kind found.
        found: EventKind,
    },
    /// The referenced event is of the right kind but had no effect itself.
    #[error("it refers to {reference}, which had no effect")]
    ReferenceHadNoEffect {
        /// The id referred to.
        reference: EventId,
    },
    /// An edition's frontier names an event that is not that organisation's event at that seq.
    #[error("its frontier names {id} as {org}'s event at seq {seq}, which it is not")]
    FrontierMismatch {
        /// The organisation named.
        org: OrgSlug,
        /// The seq named.
        seq: u64,
        /// The id named.
        id: EventId,
    },
    /// Withdrawing a criterion the organisation does not assert.
    #[error("the organisation does not assert criterion {0}")]
    CriterionNotAsserted(Criterion),
    /// Noting a sign the organisation already noted.
    #[error("the organisation already noted the sign {0}")]
    SignAlreadyNoted(Sign),
    /// Raising the same exclusion ground again.
    #[error("the organisation already raised this exclusion")]
    ExclusionAlreadyRaised,
    /// Withdrawing an exclusion the organisation has not raised.
    #[error("the organisation has no exclusion raised on this case")]
    ExclusionNotRaised,
    /// Endorsing a case the organisation already endorses.
    #[error("the organisation already endorses listing this person")]
    AlreadyEndorsed,
    /// Withdrawing an endorsement the organisation has not given.
    #[error("the organisation does not endorse listing this person")]
    NotEndorsed,
    /// Recording a release of a person already released.
    #[error("the person is already recorded as released")]
    AlreadyReleased,
    /// Recording a new detention of a person who is not recorded as released.
    #[error("the person is not recorded as released")]
    NotReleased,
    /// Recording anything about detention after a recorded death.
    #[error("the person is recorded as dead")]
    PersonDied,
    /// Proposing to admit an organisation that is a current member.
    #[error("{0} is already a member")]
    AlreadyMember(OrgSlug),
    /// Proposing to remove an organisation that is not a current member.
    #[error("{0} is not a current member")]
    NoSuchMember(OrgSlug),
    /// A proposed or rotated key is not a valid verifier key.
    #[error("the key is not a valid verifier key: {0}")]
    InvalidKey(String),
    /// A proposed or rotated key is named for another organisation.
    #[error("the key's name must be {expected:?}, found {found:?}")]
    KeyNameMismatch {
        /// The required name, `<origin>/<slug>`.
        expected: String,
        /// The name found.
        found: String,
    },
    /// A proposed policy does not fit the current member count.
    #[error("the proposed policy does not fit the current members: {0}")]
    PolicyDoesNotFit(#[source] PolicyError),
    /// Approving a proposal that is already enacted or void.
    #[error("the proposal is already closed")]
    ProposalClosed,
    /// Approving a proposal the organisation already approved.
    #[error("the organisation already approved this proposal")]
    AlreadyApproved,
    /// The event brought a proposal to its quorum, but the change could not be made.
    #[error("the proposal reached its quorum but was voided: {0}")]
    ProposalVoided(#[source] VoidReason),
    /// Cosigning an edition with another root than the proposed one.
    #[error("the cosigned root {found} differs from the proposed root {expected}")]
    RootMismatch {
        /// The proposed root.
        expected: Digest,
        /// The cosigned root.
        found: Digest,
    },
    /// Cosigning an edition the organisation already signed.
    #[error("the organisation already signed this edition")]
    AlreadyCosigned,
    /// The body's `note_signature` is not the member's current key's valid signature of the
    /// edition note text (docs/PROTOCOL.md §13).
    #[error("its note_signature is not a valid signature of the edition note by the member's current key")]
    BadNoteSignature,
}

impl AnomalyReason {
    /// A short stable code for machines (`not_a_member`, `not_in_causal_past`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Self::ExcludedByFork { .. } => "excluded_by_fork",
            Self::BrokenChain => "broken_chain",
            Self::NotAMember => "not_a_member",
            Self::WrongKey { .. } => "wrong_key",
            Self::NotInCausalPast { .. } => "not_in_causal_past",
            Self::WrongReferenceKind { .. } => "wrong_reference_kind",
            Self::ReferenceHadNoEffect { .. } => "reference_had_no_effect",
            Self::FrontierMismatch { .. } => "frontier_mismatch",
            Self::CriterionNotAsserted(_) => "criterion_not_asserted",
            Self::SignAlreadyNoted(_) => "sign_already_noted",
            Self::ExclusionAlreadyRaised => "exclusion_already_raised",
            Self::ExclusionNotRaised => "exclusion_not_raised",
            Self::AlreadyEndorsed => "already_endorsed",
            Self::NotEndorsed => "not_endorsed",
            Self::AlreadyReleased => "already_released",
            Self::NotReleased => "not_released",
            Self::PersonDied => "person_died",
            Self::AlreadyMember(_) => "already_member",
            Self::NoSuchMember(_) => "no_such_member",
            Self::InvalidKey(_) => "invalid_key",
            Self::KeyNameMismatch { .. } => "key_name_mismatch",
            Self::PolicyDoesNotFit(_) => "policy_does_not_fit",
            Self::ProposalClosed => "proposal_closed",
            Self::AlreadyApproved => "already_approved",
            Self::ProposalVoided(_) => "proposal_voided",
            Self::RootMismatch { .. } => "root_mismatch",
            Self::AlreadyCosigned => "already_cosigned",
            Self::BadNoteSignature => "bad_note_signature",
        }
    }
}
