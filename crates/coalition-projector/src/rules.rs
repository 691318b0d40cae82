//! The rules: what one event, at its place in the linear order, does to the projection.
//!
//! [`apply`] is the only entry point. Each event goes through the same gates, in this order
//! (docs/PROTOCOL.md §12 states them normatively):
//!
//! 1. chain: `prev` names the organisation's event at `seq - 1`;
//! 2. membership: the organisation is a current member;
//! 3. key: the event's key id is the member's current key id;
//! 4. references: each referenced event is in the causal past and of the right kind, and the
//!    case, proposal or edition it created exists;
//! 5. the kind's own rule.
//!
//! The first gate that fails gives the anomaly; an event that fails any gate changes nothing.

use coalition_core::body::{
    CaseUpdated, CriterionAsserted, EditionCosigned, EditionProposed, FactField, Facts, MemberProposed, Policy,
};
use coalition_core::edition::{EditionStatement, NoteSignatureField};
use coalition_core::event::{EventId, OrgSlug};
use coalition_core::keys::{KeyName, VerifierKey};
use coalition_core::time::Date;

use crate::anomaly::{Anomaly, AnomalyReason, ReferenceKind, VoidReason};
use crate::graph::{Graph, Index};
use crate::op::Op;
use crate::orgs::Slot;
use crate::state::{
    CaseState, Claim, Detention, Edition, Projection, Proposal, ProposalOutcome, ProposedChange, Reasoning, Status,
    StatusChange, assess,
};

/// The event being applied, as the rules see it.
struct Context {
    index: Index,
    id: EventId,
    slot: Slot,
    date: Date,
}

/// Applies the event at `index` (ready, its clock computed) to the projection.
pub(crate) fn apply(graph: &Graph, index: Index, projection: &mut Projection) {
    let event = graph.event(index);
    projection.applied += 1;
    projection.last_applied = Some(event.id);
    projection.invalidate();
    let context = Context { index, id: event.id, slot: event.slot, date: event.time.date() };
    if let Err(reason) = gate(graph, &context, projection).and_then(|()| dispatch(graph, &context, projection)) {
        let org = projection.orgs.slug(event.slot).clone();
        projection.anomalies.push(Anomaly { event: event.id, org, seq: event.seq, kind: event.op.kind(), reason });
    }
}

/// Gates 1 to 3: chain, membership, key.
fn gate(graph: &Graph, context: &Context, projection: &Projection) -> Result<(), AnomalyReason> {
    let event = graph.event(context.index);
    if event.seq > 1 {
        let prev = event.has_prev.then(|| event.parent_indices().first().copied()).flatten();
        let chained = prev.is_some_and(|prev| {
            let prev = graph.event(prev);
            prev.slot == event.slot && prev.seq + 1 == event.seq
        });
        if !chained {
            return Err(AnomalyReason::BrokenChain);
        }
    }
    let membership = projection.slot_membership.get(usize::from(event.slot)).copied();
    let Some(membership) = membership.filter(|membership| membership.active) else {
        return Err(AnomalyReason::NotAMember);
    };
    match membership.key_id {
        Some(expected) if expected != event.key_id => Err(AnomalyReason::WrongKey { expected, found: event.key_id }),
        _ => Ok(()),
    }
}

/// Gate 4 for one reference: in the causal past and of the right kind.
fn reference(graph: &Graph, context: &Context, target: EventId, expected: ReferenceKind) -> Result<(), AnomalyReason> {
    let Some(index) = graph.index_of(&target) else {
        return Err(AnomalyReason::NotInCausalPast { reference: target });
    };
    if !graph.in_causal_past(context.index, index) {
        return Err(AnomalyReason::NotInCausalPast { reference: target });
    }
    let found = graph.event(index).op.kind();
    if !expected.accepts(found) {
        return Err(AnomalyReason::WrongReferenceKind { reference: target, expected, found });
    }
    Ok(())
}

fn dispatch(graph: &Graph, context: &Context, projection: &mut Projection) -> Result<(), AnomalyReason> {
    let event = graph.event(context.index);
    match &event.op {
        Op::CaseOpened(facts) => {
            open_case(context, projection, facts);
            Ok(())
        }
        Op::CaseUpdated(update) => on_case(graph, context, projection, update.case, context.date, |case, _| {
            update_facts(&mut case.facts, update);
            Ok(())
        }),
        Op::CriterionAsserted(assertion) => {
            on_case(graph, context, projection, assertion.case, context.date, |case, slot| {
                assert_criterion(case, slot, assertion);
                Ok(())
            })
        }
        Op::CriterionWithdrawn(withdrawal) => {
            on_case(graph, context, projection, withdrawal.case, context.date, |case, slot| {
                let at =
                    case.claims.iter().position(|claim| claim.criterion == withdrawal.criterion && claim.slot == slot);
                let at = at.ok_or(AnomalyReason::CriterionNotAsserted(withdrawal.criterion))?;
                case.claims.remove(at);
                Ok(())
            })
        }
        Op::SignNoted(note) => on_case(graph, context, projection, note.case, context.date, |case, slot| {
            match case.signs.binary_search(&(note.sign, slot)) {
                Ok(_) => Err(AnomalyReason::SignAlreadyNoted(note.sign)),
                Err(at) => {
                    case.signs.insert(at, (note.sign, slot));
                    Ok(())
                }
            }
        }),
        Op::ExclusionRaised(raise) => on_case(graph, context, projection, raise.case, context.date, |case, slot| {
            match case.exclusions.binary_search_by_key(&slot, |(held, _)| *held) {
                Ok(at) if case.exclusions[at].1 == raise.ground => Err(AnomalyReason::ExclusionAlreadyRaised),
                Ok(at) => {
                    case.exclusions[at].1 = raise.ground;
                    Ok(())
                }
                Err(at) => {
                    case.exclusions.insert(at, (slot, raise.ground));
                    Ok(())
                }
            }
        }),
        Op::ExclusionWithdrawn(withdrawal) => {
            on_case(graph, context, projection, withdrawal.case, context.date, |case, slot| {
                let at = case.exclusions.binary_search_by_key(&slot, |(held, _)| *held);
                let at = at.map_err(|_| AnomalyReason::ExclusionNotRaised)?;
                case.exclusions.remove(at);
                Ok(())
            })
        }
        Op::PersonAdded(added) => {
            on_case(graph, context, projection, added.case, context.date, |case, slot| {
                match case.endorsements.binary_search(&slot) {
                    Ok(_) => Err(AnomalyReason::AlreadyEndorsed),
                    Err(at) => {
                        case.endorsements.insert(at, slot);
                        Ok(())
                    }
                }
            })
        }
        Op::PersonRemoved(removed) => on_case(graph, context, projection, removed.case, context.date, |case, slot| {
            let at = case.endorsements.binary_search(&slot).map_err(|_| AnomalyReason::NotEndorsed)?;
            case.endorsements.remove(at);
            Ok(())
        }),
        Op::PersonReleased(release) => {
            on_case(graph, context, projection, release.case, release.date, |case, _| match case.detention {
                Detention::Released { .. } => Err(AnomalyReason::AlreadyReleased),
                Detention::Died { .. } => Err(AnomalyReason::PersonDied),
                Detention::Detained => {
                    case.detention = Detention::Released { date: release.date, circumstances: release.circumstances };
                    Ok(())
                }
            })
        }
        Op::PersonDetained(detention) => {
            on_case(graph, context, projection, detention.case, detention.date, |case, _| match case.detention {
                Detention::Released { .. } => {
                    case.detention = Detention::Detained;
                    Ok(())
                }
                Detention::Detained => Err(AnomalyReason::NotReleased),
                Detention::Died { .. } => Err(AnomalyReason::PersonDied),
            })
        }
        Op::PersonDied(death) => on_case(graph, context, projection, death.case, death.date, |case, _| {
            if let Detention::Died { .. } = case.detention {
                return Err(AnomalyReason::PersonDied);
            }
            case.detention = Detention::Died { date: death.date };
            Ok(())
        }),
        Op::MemberProposed(proposal) => propose_admission(context, projection, proposal),
        Op::MemberRemovalProposed(proposal) => {
            if !projection.is_active_slug(&proposal.slug) {
                return Err(AnomalyReason::NoSuchMember(proposal.slug.clone()));
            }
            open_proposal(context, projection, ProposedChange::Remove { slug: proposal.slug.clone() })
        }
        Op::PolicyProposed(policy) => {
            policy.validate(projection.active_count).map_err(AnomalyReason::PolicyDoesNotFit)?;
            open_proposal(context, projection, ProposedChange::Policy(*policy))
        }
        Op::MemberApproved(approval) => {
            approve(graph, context, projection, approval.proposal, ReferenceKind::MembershipProposal)
        }
        Op::PolicyApproved(approval) => {
            approve(graph, context, projection, approval.proposal, ReferenceKind::PolicyProposal)
        }
        Op::KeyRotated(rotation) => {
            let slug = projection.orgs.slug(context.slot).clone();
            let key = checked_key(projection, &slug, &rotation.vkey)?;
            if let Some(member) = projection.members.get_mut(&slug) {
                member.key = key;
            }
            projection.sync_membership();
            Ok(())
        }
        Op::EditionProposed(edition) => propose_edition(graph, context, projection, edition),
        Op::EditionCosigned(cosign) => cosign_edition(graph, context, projection, cosign),
        Op::Sealed(_) => {
            projection.sealed_count += 1;
            Ok(())
        }
        Op::SealedShredded(keys) => {
            projection.shredded.extend(keys.iter().copied());
            Ok(())
        }
        Op::RecipientRotated(recipient) => {
            let slug = projection.orgs.slug(context.slot).clone();
            if let Some(member) = projection.members.get_mut(&slug) {
                member.recipient = Some(recipient.to_string());
            }
            Ok(())
        }
    }
}

// --- cases ---

fn open_case(context: &Context, projection: &mut Projection, facts: &Facts) {
    let case = CaseState {
        facts: facts.clone(),
        claims: Vec::new(),
        signs: Vec::new(),
        endorsements: Vec::new(),
        exclusions: Vec::new(),
        history: vec![StatusChange { status: Status::UnderReview, event: context.id, date: context.date }],
        last_event: context.id,
        detention: Detention::Detained,
        opened_by: context.slot,
        status: Status::UnderReview,
        ever_in_list: false,
    };
    projection.cases.insert(context.id, case);
}

/// Gate 4 for a case reference, then `change`, then the status follows.
fn on_case(
    graph: &Graph,
    context: &Context,
    projection: &mut Projection,
    case_id: EventId,
    date: Date,
    change: impl FnOnce(&mut CaseState, Slot) -> Result<(), AnomalyReason>,
) -> Result<(), AnomalyReason> {
    reference(graph, context, case_id, ReferenceKind::Case)?;
    let Projection { cases, slot_membership, policy, .. } = projection;
    let case = cases.get_mut(&case_id).ok_or(AnomalyReason::ReferenceHadNoEffect { reference: case_id })?;
    change(case, context.slot)?;
    case.last_event = context.id;
    let active = |slot: Slot| slot_membership.get(usize::from(slot)).is_some_and(|membership| membership.active);
    let (_, status) = assess(case, active, policy);
    restate(case, status, context.id, date);
    Ok(())
}

/// Records a new status (if it changed) in the case's history.
fn restate(case: &mut CaseState, status: Status, event: EventId, date: Date) {
    if status == case.status {
        return;
    }
    case.status = status;
    case.ever_in_list |= status.is_in_list();
    case.history.push(StatusChange { status, event, date });
}

/// Recomputes every case's status after a membership or policy change.
fn restate_all(context: &Context, projection: &mut Projection) {
    let Projection { cases, slot_membership, policy, .. } = projection;
    let active = |slot: Slot| slot_membership.get(usize::from(slot)).is_some_and(|membership| membership.active);
    for case in cases.values_mut() {
        let (_, status) = assess(case, active, policy);
        restate(case, status, context.id, context.date);
    }
}

fn assert_criterion(case: &mut CaseState, slot: Slot, assertion: &CriterionAsserted) {
    let reasoning = (assertion.reasoning_uk.is_some() || assertion.reasoning_en.is_some())
        .then(|| Box::new(Reasoning { uk: assertion.reasoning_uk.clone(), en: assertion.reasoning_en.clone() }));
    let key = (assertion.criterion, slot);
    match case.claims.binary_search_by_key(&key, |claim| (claim.criterion, claim.slot)) {
        Ok(at) => case.claims[at].reasoning = reasoning,
        Err(at) => case.claims.insert(at, Claim { criterion: assertion.criterion, slot, reasoning }),
    }
}

fn set<T: Clone>(field: &mut Option<T>, value: &Option<T>) {
    if let Some(value) = value {
        *field = Some(value.clone());
    }
}

/// Sets the fields present in the update, then unsets the fields it clears (a field is never
/// both: the body's own validation refuses that).
fn update_facts(facts: &mut Facts, update: &CaseUpdated) {
    if let Some(new) = &update.facts {
        // Destructured in full so that a field added to `Facts` cannot be forgotten here.
        let Facts {
            name_uk,
            name_en,
            name_ru,
            birth_year,
            birth_date,
            gender,
            citizenship,
            region,
            detention_date,
            detention_place,
            charges,
            stage,
            sentence,
            place_of_detention,
            case_group,
            summary_uk,
            summary_en,
            can_receive_letters,
            postal_address,
        } = new;
        set(&mut facts.name_uk, name_uk);
        set(&mut facts.name_en, name_en);
        set(&mut facts.name_ru, name_ru);
        set(&mut facts.birth_year, birth_year);
        set(&mut facts.birth_date, birth_date);
        set(&mut facts.gender, gender);
        set(&mut facts.citizenship, citizenship);
        set(&mut facts.region, region);
        set(&mut facts.detention_date, detention_date);
        set(&mut facts.detention_place, detention_place);
        set(&mut facts.charges, charges);
        set(&mut facts.stage, stage);
        set(&mut facts.sentence, sentence);
        set(&mut facts.place_of_detention, place_of_detention);
        set(&mut facts.case_group, case_group);
        set(&mut facts.summary_uk, summary_uk);
        set(&mut facts.summary_en, summary_en);
        set(&mut facts.can_receive_letters, can_receive_letters);
        set(&mut facts.postal_address, postal_address);
    }
    for field in update.clear.iter().flatten() {
        match field {
            FactField::BirthDate => facts.birth_date = None,
            FactField::BirthYear => facts.birth_year = None,
            FactField::CanReceiveLetters => facts.can_receive_letters = None,
            FactField::CaseGroup => facts.case_group = None,
            FactField::Charges => facts.charges = None,
            FactField::Citizenship => facts.citizenship = None,
            FactField::DetentionDate => facts.detention_date = None,
            FactField::DetentionPlace => facts.detention_place = None,
            FactField::Gender => facts.gender = None,
            FactField::NameEn => facts.name_en = None,
            FactField::NameRu => facts.name_ru = None,
            FactField::NameUk => facts.name_uk = None,
            FactField::PlaceOfDetention => facts.place_of_detention = None,
            FactField::PostalAddress => facts.postal_address = None,
            FactField::Region => facts.region = None,
            FactField::Sentence => facts.sentence = None,
            FactField::Stage => facts.stage = None,
            FactField::SummaryEn => facts.summary_en = None,
            FactField::SummaryUk => facts.summary_uk = None,
        }
    }
}

// --- governance ---

/// A key announced for `slug` (admission or rotation): valid, and named `<origin>/<slug>`.
fn checked_key(projection: &Projection, slug: &OrgSlug, text: &str) -> Result<VerifierKey, AnomalyReason> {
    let key = VerifierKey::parse(text).map_err(|error| AnomalyReason::InvalidKey(error.to_string()))?;
    let expected = format!("{}/{}", projection.origin, slug);
    if key.name().as_str() != expected {
        return Err(AnomalyReason::KeyNameMismatch { expected, found: key.name().as_str().to_owned() });
    }
    Ok(key)
}

fn propose_admission(
    context: &Context,
    projection: &mut Projection,
    proposal: &MemberProposed,
) -> Result<(), AnomalyReason> {
    if projection.is_active_slug(&proposal.slug) {
        return Err(AnomalyReason::AlreadyMember(proposal.slug.clone()));
    }
    let key = checked_key(projection, &proposal.slug, &proposal.vkey)?;
    let change = ProposedChange::Admit {
        slug: proposal.slug.clone(),
        name: proposal.name.clone(),
        key: Box::new(key),
        recipient: proposal.recipient.clone(),
    };
    open_proposal(context, projection, change)
}

fn open_proposal(context: &Context, projection: &mut Projection, change: ProposedChange) -> Result<(), AnomalyReason> {
    let proposer = projection.orgs.slug(context.slot).clone();
    let proposal = Proposal {
        id: context.id,
        proposer: proposer.clone(),
        change,
        approvals: vec![proposer],
        outcome: ProposalOutcome::Open,
    };
    projection.proposals.insert(context.id, proposal);
    settle_proposal(context, projection, context.id)
}

fn approve(
    graph: &Graph,
    context: &Context,
    projection: &mut Projection,
    proposal_id: EventId,
    expected: ReferenceKind,
) -> Result<(), AnomalyReason> {
    reference(graph, context, proposal_id, expected)?;
    let approver = projection.orgs.slug(context.slot).clone();
    let proposal = projection
        .proposals
        .get_mut(&proposal_id)
        .ok_or(AnomalyReason::ReferenceHadNoEffect { reference: proposal_id })?;
    if proposal.outcome != ProposalOutcome::Open {
        return Err(AnomalyReason::ProposalClosed);
    }
    match proposal.approvals.binary_search(&approver) {
        Ok(_) => return Err(AnomalyReason::AlreadyApproved),
        Err(at) => proposal.approvals.insert(at, approver),
    }
    settle_proposal(context, projection, proposal_id)
}

/// Enacts the proposal if approvals by current members reach `governance_quorum`.
fn settle_proposal(context: &Context, projection: &mut Projection, proposal_id: EventId) -> Result<(), AnomalyReason> {
    let Some(proposal) = projection.proposals.get(&proposal_id) else { return Ok(()) };
    if projection.count_active(&proposal.approvals) < projection.policy.governance_quorum as usize {
        return Ok(());
    }
    let change = proposal.change.clone();
    let outcome = enact(context, projection, proposal_id, change);
    let (outcome, result) = match outcome {
        Ok(()) => (ProposalOutcome::Enacted { by: context.id }, Ok(())),
        Err(reason) => (
            ProposalOutcome::Void { by: context.id, reason: reason.clone() },
            Err(AnomalyReason::ProposalVoided(reason)),
        ),
    };
    if let Some(proposal) = projection.proposals.get_mut(&proposal_id) {
        proposal.outcome = outcome;
    }
    result
}

fn enact(
    context: &Context,
    projection: &mut Projection,
    proposal_id: EventId,
    change: ProposedChange,
) -> Result<(), VoidReason> {
    match change {
        ProposedChange::Admit { slug, name, key, recipient } => {
            if projection.is_active_slug(&slug) {
                return Err(VoidReason::AlreadyMember(slug));
            }
            let member = projection.members.entry(slug.clone()).or_insert_with(|| crate::state::Member {
                slug: slug.clone(),
                name: name.clone(),
                key: (*key).clone(),
                recipient: None,
                active: false,
                founder: false,
                admitted_by: None,
                removed_by: None,
            });
            member.name = name;
            member.key = *key;
            member.recipient = recipient;
            member.active = true;
            member.admitted_by = Some(proposal_id);
            member.removed_by = None;
        }
        ProposedChange::Remove { slug } => {
            if !projection.is_active_slug(&slug) {
                return Err(VoidReason::NotAMember(slug));
            }
            let remaining = projection.active_count.saturating_sub(1);
            projection.policy.validate(remaining).map_err(VoidReason::TooFewMembers)?;
            if let Some(member) = projection.members.get_mut(&slug) {
                member.active = false;
                member.removed_by = Some(proposal_id);
            }
        }
        ProposedChange::Policy(policy) => {
            let policy: Policy = policy;
            policy.validate(projection.active_count).map_err(VoidReason::PolicyDoesNotFit)?;
            projection.policy = policy;
        }
    }
    projection.sync_membership();
    restate_all(context, projection);
    Ok(())
}

// --- editions ---

fn propose_edition(
    graph: &Graph,
    context: &Context,
    projection: &mut Projection,
    edition: &EditionProposed,
) -> Result<(), AnomalyReason> {
    for head in &edition.frontier {
        let Some(index) = graph.index_of(&head.id).filter(|&index| graph.in_causal_past(context.index, index)) else {
            return Err(AnomalyReason::NotInCausalPast { reference: head.id });
        };
        let event = graph.event(index);
        let same_org = projection.orgs.slot(&head.org) == Some(event.slot);
        if !same_org || event.seq != head.seq {
            return Err(AnomalyReason::FrontierMismatch { org: head.org.clone(), seq: head.seq, id: head.id });
        }
    }
    let proposer = projection.orgs.slug(context.slot).clone();
    let statement = EditionStatement {
        origin: &projection.origin,
        ledger: projection.ledger,
        label: &edition.label,
        count: edition.count,
        root: edition.root,
        list_hash: edition.list_hash,
        frontier: &edition.frontier,
    };
    let key_name = check_note_signature(projection, &proposer, &statement, &edition.note_signature)?;
    let record = Edition {
        id: context.id,
        proposer: proposer.clone(),
        label: edition.label.clone(),
        frontier: edition.frontier.clone(),
        count: edition.count,
        root: edition.root,
        list_hash: edition.list_hash,
        cosigners: vec![proposer],
        note_signatures: vec![(key_name, edition.note_signature)],
        official_by: None,
    };
    projection.editions.insert(context.id, record);
    settle_edition(context, projection, context.id);
    Ok(())
}

fn cosign_edition(
    graph: &Graph,
    context: &Context,
    projection: &mut Projection,
    cosign: &EditionCosigned,
) -> Result<(), AnomalyReason> {
    reference(graph, context, cosign.edition, ReferenceKind::Edition)?;
    let signer = projection.orgs.slug(context.slot).clone();
    let edition = projection
        .editions
        .get(&cosign.edition)
        .ok_or(AnomalyReason::ReferenceHadNoEffect { reference: cosign.edition })?;
    if edition.root != cosign.root {
        return Err(AnomalyReason::RootMismatch { expected: edition.root, found: cosign.root });
    }
    let Err(at) = edition.cosigners.binary_search(&signer) else { return Err(AnomalyReason::AlreadyCosigned) };
    let statement = EditionStatement {
        origin: &projection.origin,
        ledger: projection.ledger,
        label: &edition.label,
        count: edition.count,
        root: edition.root,
        list_hash: edition.list_hash,
        frontier: &edition.frontier,
    };
    let key_name = check_note_signature(projection, &signer, &statement, &cosign.note_signature)?;
    let edition = projection
        .editions
        .get_mut(&cosign.edition)
        .ok_or(AnomalyReason::ReferenceHadNoEffect { reference: cosign.edition })?;
    edition.cosigners.insert(at, signer);
    edition.note_signatures.push((key_name, cosign.note_signature));
    settle_edition(context, projection, cosign.edition);
    Ok(())
}

/// Gate for an edition's `note_signature`: it must be the member's current key's signature of
/// the edition note text (gate 3 already tied the event to that key). Returns the key's name, the
/// name its signature line carries in the published note.
fn check_note_signature(
    projection: &Projection,
    signer: &OrgSlug,
    statement: &EditionStatement<'_>,
    signature: &NoteSignatureField,
) -> Result<KeyName, AnomalyReason> {
    let key = projection.members.get(signer).map(|member| &member.key).ok_or(AnomalyReason::BadNoteSignature)?;
    if !statement.verify(key, signature) {
        return Err(AnomalyReason::BadNoteSignature);
    }
    Ok(key.name().clone())
}

fn settle_edition(context: &Context, projection: &mut Projection, edition_id: EventId) {
    let quorum = projection.policy.edition_quorum as usize;
    let Some(edition) = projection.editions.get(&edition_id) else { return };
    if edition.official_by.is_some() || projection.count_active(&edition.cosigners) < quorum {
        return;
    }
    if let Some(edition) = projection.editions.get_mut(&edition_id) {
        edition.official_by = Some(context.id);
    }
}
