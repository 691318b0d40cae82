//! The member write path's second check, after the schema: would the event have an effect?
//!
//! The projector never fails: an event without effect becomes an anomaly. A member who endorses
//! an unknown case or releases someone who is not held should hear so at once, with a specific
//! message, instead of signing a permanent event that does nothing. These checks mirror the rules
//! of docs/PROTOCOL.md §12.7 from the submitting member's point of view.

use coalition_core::body::Body;
use coalition_core::event::{EventId, OrgSlug};
use coalition_projector::{Detention, Projection, ProposalOutcome, ProposedChange};

/// Why an event was refused before signing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// A referenced case, proposal or edition is not known to this node.
    #[error("unknown {what} {id}")]
    UnknownReference {
        /// What kind of thing was referenced.
        what: &'static str,
        /// The id given.
        id: EventId,
    },
    /// The event would have no effect; the message says why in plain words.
    #[error("{0}")]
    NoEffect(String),
}

fn no_effect(message: impl Into<String>) -> Refusal {
    Refusal::NoEffect(message.into())
}

/// Checks that `body`, signed now by `org`, would take effect on `projection`.
pub fn check_effect(projection: &Projection, org: &OrgSlug, body: &Body) -> Result<(), Refusal> {
    if projection.member(org).is_none_or(|member| !member.active) {
        return Err(no_effect(format!("{org} is not a current member of the coalition, so its events have no effect")));
    }
    if let Some(case_id) = body.case() {
        let case = projection.case(&case_id).ok_or(Refusal::UnknownReference { what: "case", id: case_id })?;
        let endorsed = case.endorsements().contains(&org);
        let asserted = |criterion| case.claims().iter().any(|claim| claim.org == org && claim.criterion == criterion);
        let raised = case.exclusions().iter().any(|(by, _)| *by == org);
        match body {
            Body::PersonAdded(_) if endorsed => return Err(no_effect(format!("{org} already endorses this case"))),
            Body::PersonRemoved(_) if !endorsed => return Err(no_effect(format!("{org} does not endorse this case"))),
            Body::CriterionAsserted(claim) if asserted(claim.criterion) => {
                return Err(no_effect(format!("{org} already asserts criterion {}", claim.criterion.as_str())));
            }
            Body::CriterionWithdrawn(claim) if !asserted(claim.criterion) => {
                return Err(no_effect(format!("{org} has not asserted criterion {}", claim.criterion.as_str())));
            }
            Body::ExclusionRaised(_) if raised => return Err(no_effect(format!("{org} already raised an exclusion"))),
            Body::ExclusionWithdrawn(_) if !raised => return Err(no_effect(format!("{org} has raised no exclusion"))),
            Body::SignNoted(noted) if case.signs().iter().any(|(sign, by)| *by == org && *sign == noted.sign) => {
                return Err(no_effect(format!("{org} already noted the sign {}", noted.sign.as_str())));
            }
            Body::PersonReleased(_) if !case.status().is_in_list() => {
                return Err(no_effect("only a person in the joint list can be recorded as released"));
            }
            Body::PersonReleased(_) if case.detention() != Detention::Detained => {
                return Err(no_effect("the person is not recorded as detained"));
            }
            Body::PersonDetained(_) if !matches!(case.detention(), Detention::Released { .. }) => {
                return Err(no_effect("only a released person can be recorded as detained again"));
            }
            Body::PersonDied(_) if matches!(case.detention(), Detention::Died { .. }) => {
                return Err(no_effect("the person is already recorded as having died"));
            }
            _ => {}
        }
        return Ok(());
    }
    match body {
        Body::MemberProposed(proposal) if projection.member(&proposal.slug).is_some_and(|member| member.active) => {
            Err(no_effect(format!("{} is already a member", proposal.slug)))
        }
        Body::MemberRemovalProposed(proposal)
            if projection.member(&proposal.slug).is_none_or(|member| !member.active) =>
        {
            Err(no_effect(format!("{} is not a current member", proposal.slug)))
        }
        Body::MemberApproved(approval) => check_approval(projection, org, approval.proposal, true),
        Body::PolicyApproved(approval) => check_approval(projection, org, approval.proposal, false),
        Body::PolicyProposed(proposal) => proposal
            .policy
            .validate(projection.member_count())
            .map_err(|error| no_effect(format!("this policy cannot work with the current members: {error}"))),
        Body::EditionCosigned(cosign) => {
            let edition = projection
                .edition(&cosign.edition)
                .ok_or(Refusal::UnknownReference { what: "edition", id: cosign.edition })?;
            if edition.root != cosign.root {
                return Err(no_effect("the root differs from the proposed edition's root"));
            }
            if edition.cosigners.contains(org) {
                return Err(no_effect(format!("{org} already cosigned this edition")));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_approval(projection: &Projection, org: &OrgSlug, id: EventId, membership: bool) -> Result<(), Refusal> {
    let proposal = projection.proposal(&id).ok_or(Refusal::UnknownReference { what: "proposal", id })?;
    let is_membership = matches!(proposal.change, ProposedChange::Admit { .. } | ProposedChange::Remove { .. });
    if is_membership != membership {
        let right_kind = if is_membership { "member.approved" } else { "policy.approved" };
        return Err(no_effect(format!("this proposal is approved with {right_kind}")));
    }
    if proposal.outcome != ProposalOutcome::Open {
        return Err(no_effect("the proposal is no longer open"));
    }
    if proposal.approvals.contains(org) {
        return Err(no_effect(format!("{org} already approved this proposal")));
    }
    Ok(())
}
