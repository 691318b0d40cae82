//! The compact form in which the projector keeps an event's body for re-folding.
//!
//! [`coalition_core::body::Body`] holds its largest variants (facts, editions) inline, so every
//! body would cost as much memory as the largest. [`Op`] boxes the large and rare variants and
//! keeps the small, frequent ones (endorsements, releases) inline.

use coalition_core::body::{
    Body, CaseUpdated, CriterionAsserted, CriterionWithdrawn, EditionCosigned, EditionProposed, EventKind,
    ExclusionRaised, ExclusionWithdrawn, Facts, KeyRotated, MemberApproved, MemberProposed, MemberRemovalProposed,
    PersonAdded, PersonDetained, PersonDied, PersonReleased, PersonRemoved, Policy, PolicyApproved, SignNoted,
};
use coalition_core::seal::DataKeyId;

/// An event body as stored by the projector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    CaseOpened(Box<Facts>),
    CaseUpdated(Box<CaseUpdated>),
    CriterionAsserted(Box<CriterionAsserted>),
    CriterionWithdrawn(CriterionWithdrawn),
    SignNoted(SignNoted),
    ExclusionRaised(ExclusionRaised),
    ExclusionWithdrawn(ExclusionWithdrawn),
    PersonAdded(PersonAdded),
    PersonRemoved(PersonRemoved),
    PersonReleased(PersonReleased),
    PersonDetained(PersonDetained),
    PersonDied(PersonDied),
    MemberProposed(Box<MemberProposed>),
    MemberApproved(MemberApproved),
    MemberRemovalProposed(Box<MemberRemovalProposed>),
    PolicyProposed(Policy),
    PolicyApproved(PolicyApproved),
    KeyRotated(Box<KeyRotated>),
    EditionProposed(Box<EditionProposed>),
    EditionCosigned(Box<EditionCosigned>),
    /// Only the data key id: the ciphertext is no business of the public projection.
    Sealed(DataKeyId),
    SealedShredded(Box<[DataKeyId]>),
    RecipientRotated(Box<str>),
}

impl From<Body> for Op {
    fn from(body: Body) -> Self {
        match body {
            Body::CaseOpened(body) => Self::CaseOpened(Box::new(body.facts)),
            Body::CaseUpdated(body) => Self::CaseUpdated(Box::new(body)),
            Body::CriterionAsserted(body) => Self::CriterionAsserted(Box::new(body)),
            Body::CriterionWithdrawn(body) => Self::CriterionWithdrawn(body),
            Body::SignNoted(body) => Self::SignNoted(body),
            Body::ExclusionRaised(body) => Self::ExclusionRaised(body),
            Body::ExclusionWithdrawn(body) => Self::ExclusionWithdrawn(body),
            Body::PersonAdded(body) => Self::PersonAdded(body),
            Body::PersonRemoved(body) => Self::PersonRemoved(body),
            Body::PersonReleased(body) => Self::PersonReleased(body),
            Body::PersonDetained(body) => Self::PersonDetained(body),
            Body::PersonDied(body) => Self::PersonDied(body),
            Body::MemberProposed(body) => Self::MemberProposed(Box::new(body)),
            Body::MemberApproved(body) => Self::MemberApproved(body),
            Body::MemberRemovalProposed(body) => Self::MemberRemovalProposed(Box::new(body)),
            Body::PolicyProposed(body) => Self::PolicyProposed(body.policy),
            Body::PolicyApproved(body) => Self::PolicyApproved(body),
            Body::KeyRotated(body) => Self::KeyRotated(Box::new(body)),
            Body::EditionProposed(body) => Self::EditionProposed(Box::new(body)),
            Body::EditionCosigned(body) => Self::EditionCosigned(Box::new(body)),
            Body::Sealed(body) => Self::Sealed(body.key),
            Body::SealedShredded(body) => Self::SealedShredded(body.keys.into_boxed_slice()),
            Body::RecipientRotated(body) => Self::RecipientRotated(body.recipient.into_boxed_str()),
        }
    }
}

impl Op {
    /// The event kind this body belongs to.
    pub(crate) fn kind(&self) -> EventKind {
        match self {
            Self::CaseOpened(_) => EventKind::CaseOpened,
            Self::CaseUpdated(_) => EventKind::CaseUpdated,
            Self::CriterionAsserted(_) => EventKind::CriterionAsserted,
            Self::CriterionWithdrawn(_) => EventKind::CriterionWithdrawn,
            Self::SignNoted(_) => EventKind::SignNoted,
            Self::ExclusionRaised(_) => EventKind::ExclusionRaised,
            Self::ExclusionWithdrawn(_) => EventKind::ExclusionWithdrawn,
            Self::PersonAdded(_) => EventKind::PersonAdded,
            Self::PersonRemoved(_) => EventKind::PersonRemoved,
            Self::PersonReleased(_) => EventKind::PersonReleased,
            Self::PersonDetained(_) => EventKind::PersonDetained,
            Self::PersonDied(_) => EventKind::PersonDied,
            Self::MemberProposed(_) => EventKind::MemberProposed,
            Self::MemberApproved(_) => EventKind::MemberApproved,
            Self::MemberRemovalProposed(_) => EventKind::MemberRemovalProposed,
            Self::PolicyProposed(_) => EventKind::PolicyProposed,
            Self::PolicyApproved(_) => EventKind::PolicyApproved,
            Self::KeyRotated(_) => EventKind::KeyRotated,
            Self::EditionProposed(_) => EventKind::EditionProposed,
            Self::EditionCosigned(_) => EventKind::EditionCosigned,
            Self::Sealed(_) => EventKind::Sealed,
            Self::SealedShredded(_) => EventKind::SealedShredded,
            Self::RecipientRotated(_) => EventKind::RecipientRotated,
        }
    }
}
