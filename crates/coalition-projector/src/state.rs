//! The projection: the state the rules build from the linear order of events, and the public,
//! read-only views of it.
//!
//! Inside, organisations are slots and per-case sets are small sorted vectors of slots, to keep
//! each case small. Outside, every view names organisations by slug and sorts by slug or id, so
//! nothing shown depends on the order in which a node happened to meet the organisations.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::OnceLock;

use coalition_core::body::{
    Criterion, Digest, ExclusionGround, Facts, FrontierEntry, Policy, ReleaseCircumstances, Sign,
};
use coalition_core::edition::NoteSignatureField;
use coalition_core::event::{EventId, LedgerId, OrgSlug};
use coalition_core::genesis::FoundingMember;
use coalition_core::keys::{KeyId, KeyName, VerifierKey};
use coalition_core::seal::DataKeyId;
use coalition_core::time::Date;
use serde::Serialize;

use crate::anomaly::{Anomaly, VoidReason};
use crate::list::{Counts, ListError, ListSummary};
use crate::orgs::{OrgTable, Slot};

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// Opened, never in the joint list yet, and not qualifying now.
    UnderReview,
    /// Qualifies and the person is detained: in the joint list.
    Listed,
    /// Qualifies and the person was released: in the joint list as released.
    Released,
    /// Qualifies and the person died in custody: in the joint list as died.
    Died,
    /// Was in the joint list once and no longer qualifies.
    Delisted,
    /// An exclusion stands (raised by at least `exclusion_quorum` current members).
    Excluded,
}

impl Status {
    /// The spelling used in documents and APIs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UnderReview => "under_review",
            Self::Listed => "listed",
            Self::Released => "released",
            Self::Died => "died",
            Self::Delisted => "delisted",
            Self::Excluded => "excluded",
        }
    }

    /// Whether a case with this status is an entry of the joint list.
    pub const fn is_in_list(self) -> bool {
        matches!(self, Self::Listed | Self::Released | Self::Died)
    }

    /// Every status, in declaration order.
    pub const ALL: [Self; 6] =
        [Self::UnderReview, Self::Listed, Self::Released, Self::Died, Self::Delisted, Self::Excluded];
}

impl fmt::Display for Status {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Whether the person is held, released or dead, as recorded by `person.*` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Detention {
    /// Held (the state of every new case, and after `person.detained`).
    #[default]
    Detained,
    /// Released.
    Released {
        /// The day of release.
        date: Date,
        /// How.
        circumstances: ReleaseCircumstances,
    },
    /// Died in custody.
    Died {
        /// The day of death.
        date: Date,
    },
}

/// One change of a case's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct StatusChange {
    /// The new status.
    pub status: Status,
    /// The event whose application changed it.
    pub event: EventId,
    /// The date of the change: the body's date for a release, death or new detention, else the
    /// date of the event's time.
    pub date: Date,
}

/// A member's reasoning for a criterion, as asserted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Reasoning {
    /// In Ukrainian.
    pub uk: Option<String>,
    /// In English.
    pub en: Option<String>,
}

/// One organisation's assertion of one criterion (internal form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) criterion: Criterion,
    pub(crate) slot: Slot,
    pub(crate) reasoning: Option<Box<Reasoning>>,
}

/// The state of one case (internal form; see [`CaseView`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaseState {
    pub(crate) facts: Facts,
    /// Sorted by (criterion, slot), one per pair.
    pub(crate) claims: Vec<Claim>,
    /// Sorted, one per pair.
    pub(crate) signs: Vec<(Sign, Slot)>,
    /// Sorted, one per organisation.
    pub(crate) endorsements: Vec<Slot>,
    /// Sorted by slot, one per organisation.
    pub(crate) exclusions: Vec<(Slot, ExclusionGround)>,
    pub(crate) history: Vec<StatusChange>,
    pub(crate) last_event: EventId,
    pub(crate) detention: Detention,
    pub(crate) opened_by: Slot,
    pub(crate) status: Status,
    pub(crate) ever_in_list: bool,
}

/// A member organisation as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Member {
    /// The organisation's slug.
    pub slug: OrgSlug,
    /// Its display name (from the genesis or its admission proposal).
    pub name: String,
    /// Its current signing key.
    pub key: VerifierKey,
    /// Its current encryption recipient (`age1…`), if it has one: sealed records are encrypted
    /// to the recipients of the current members.
    pub recipient: Option<String>,
    /// Whether it is a current member (false once removed).
    pub active: bool,
    /// Whether it is a founding member.
    pub founder: bool,
    /// The proposal that admitted it last (none for a founder never removed and re-admitted).
    pub admitted_by: Option<EventId>,
    /// The proposal that removed it, while it is removed.
    pub removed_by: Option<EventId>,
}

/// What a proposal would change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProposedChange {
    /// Admit an organisation.
    Admit {
        /// Its slug.
        slug: OrgSlug,
        /// Its display name.
        name: String,
        /// Its signing key.
        key: Box<VerifierKey>,
        /// Its encryption recipient, if the proposal names one.
        recipient: Option<String>,
    },
    /// Remove a member.
    Remove {
        /// Its slug.
        slug: OrgSlug,
    },
    /// Replace the policy.
    Policy(Policy),
}

/// What became of a proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProposalOutcome {
    /// Waiting for approvals.
    Open,
    /// Enacted by the event that brought it to quorum.
    Enacted {
        /// That event.
        by: EventId,
    },
    /// Reached quorum but could not be enacted.
    Void {
        /// The event that brought it to quorum.
        by: EventId,
        /// Why it was voided.
        reason: VoidReason,
    },
}

/// A governance proposal (membership or policy).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Proposal {
    /// The proposal's event id.
    pub id: EventId,
    /// Who proposed it (its first approval).
    pub proposer: OrgSlug,
    /// What it changes.
    pub change: ProposedChange,
    /// Every organisation whose approval took effect, sorted by slug (only current members'
    /// approvals count toward the quorum).
    pub approvals: Vec<OrgSlug>,
    /// Open, enacted or void.
    pub outcome: ProposalOutcome,
}

/// A proposed monthly edition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Edition {
    /// The `edition.proposed` event id.
    pub id: EventId,
    /// Who proposed it (its first cosigner).
    pub proposer: OrgSlug,
    /// The month, `YYYY-MM`.
    pub label: String,
    /// The feed heads it covers.
    pub frontier: Vec<FrontierEntry>,
    /// The number of entries it states.
    pub count: u64,
    /// The Merkle root it states.
    pub root: Digest,
    /// The list hash it states.
    pub list_hash: Digest,
    /// Every organisation that signed it with the same root, sorted by slug.
    pub cosigners: Vec<OrgSlug>,
    /// Each cosigner's signature of the edition note text (checked when applied), with the key
    /// name it was made with, in the order the signatures took effect (the proposer first).
    pub note_signatures: Vec<(KeyName, NoteSignatureField)>,
    /// The event that brought it to `edition_quorum` cosigners who were current members; once
    /// official, an edition stays official.
    pub official_by: Option<EventId>,
}

/// An event that waits for parents the projector does not have yet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitingEvent {
    /// The event's id.
    pub id: EventId,
    /// Its organisation.
    pub org: OrgSlug,
    /// Its seq.
    pub seq: u64,
    /// The parents (prev or deps) it still misses, sorted.
    pub missing: Vec<EventId>,
}

/// What the projector needs from the genesis to start a fold.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) ledger: LedgerId,
    pub(crate) origin: String,
    pub(crate) founders: Vec<FoundingMember>,
    pub(crate) policy: Policy,
}

/// Per slot: whether the organisation is a current member, and its current key id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotMembership {
    pub(crate) active: bool,
    pub(crate) key_id: Option<KeyId>,
}

/// The result of folding the events: cases, the joint list, membership, policy, proposals,
/// editions, anomalies and what waits. Get it from [`crate::Projector::projection`].
#[derive(Debug)]
pub struct Projection {
    pub(crate) ledger: LedgerId,
    pub(crate) origin: String,
    pub(crate) orgs: OrgTable,
    pub(crate) members: BTreeMap<OrgSlug, Member>,
    pub(crate) slot_membership: Vec<SlotMembership>,
    pub(crate) active_count: usize,
    pub(crate) policy: Policy,
    pub(crate) cases: BTreeMap<EventId, CaseState>,
    pub(crate) proposals: BTreeMap<EventId, Proposal>,
    pub(crate) editions: BTreeMap<EventId, Edition>,
    pub(crate) shredded: BTreeSet<DataKeyId>,
    pub(crate) sealed_count: u64,
    pub(crate) anomalies: Vec<Anomaly>,
    pub(crate) waiting: Vec<WaitingEvent>,
    pub(crate) applied: u64,
    pub(crate) last_applied: Option<EventId>,
    pub(crate) list: OnceLock<Result<ListSummary, ListError>>,
    pub(crate) counts: OnceLock<Counts>,
}

impl Projection {
    pub(crate) fn new(setup: &Setup) -> Self {
        let mut projection = Self {
            ledger: setup.ledger,
            origin: setup.origin.clone(),
            orgs: OrgTable::default(),
            members: BTreeMap::new(),
            slot_membership: Vec::new(),
            active_count: 0,
            policy: setup.policy,
            cases: BTreeMap::new(),
            proposals: BTreeMap::new(),
            editions: BTreeMap::new(),
            shredded: BTreeSet::new(),
            sealed_count: 0,
            anomalies: Vec::new(),
            waiting: Vec::new(),
            applied: 0,
            last_applied: None,
            list: OnceLock::new(),
            counts: OnceLock::new(),
        };
        projection.reset(setup);
        projection
    }

    /// Back to the genesis state, keeping the organisation slots and the waiting report.
    pub(crate) fn reset(&mut self, setup: &Setup) {
        self.members = setup
            .founders
            .iter()
            .map(|founder| {
                let member = Member {
                    slug: founder.slug.clone(),
                    name: founder.name.clone(),
                    key: founder.vkey.clone(),
                    recipient: founder.recipient.clone(),
                    active: true,
                    founder: true,
                    admitted_by: None,
                    removed_by: None,
                };
                (founder.slug.clone(), member)
            })
            .collect();
        self.policy = setup.policy;
        self.cases.clear();
        self.proposals.clear();
        self.editions.clear();
        self.shredded.clear();
        self.sealed_count = 0;
        self.anomalies.clear();
        self.applied = 0;
        self.last_applied = None;
        self.sync_membership();
        self.invalidate();
    }

    /// Drops the cached list and counts after a change.
    pub(crate) fn invalidate(&mut self) {
        self.list.take();
        self.counts.take();
    }

    /// Refreshes the per-slot membership table from the members map.
    pub(crate) fn sync_membership(&mut self) {
        self.slot_membership = (0..self.orgs.len())
            .map(|slot| {
                let slug = self.orgs.slug(slot as Slot);
                self.members.get(slug).map_or(SlotMembership { active: false, key_id: None }, |member| SlotMembership {
                    active: member.active,
                    key_id: Some(member.key.key_id()),
                })
            })
            .collect();
        self.active_count = self.members.values().filter(|member| member.active).count();
    }

    /// Whether the organisation in `slot` is a current member.
    pub(crate) fn is_active_slot(&self, slot: Slot) -> bool {
        self.slot_membership.get(usize::from(slot)).is_some_and(|membership| membership.active)
    }

    /// Whether `slug` is a current member.
    pub(crate) fn is_active_slug(&self, slug: &OrgSlug) -> bool {
        self.members.get(slug).is_some_and(|member| member.active)
    }

    // --- public reading API ---

    /// The ledger id (from the genesis).
    pub fn ledger(&self) -> LedgerId {
        self.ledger
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Every organisation that is or was a member, sorted by slug.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// The current members, sorted by slug.
    pub fn current_members(&self) -> impl Iterator<Item = &Member> {
        self.members.values().filter(|member| member.active)
    }

    /// A member (current or former) by slug.
    pub fn member(&self, slug: &OrgSlug) -> Option<&Member> {
        self.members.get(slug)
    }

    /// The encryption recipients of the current members that have one, sorted by slug: whom a
    /// new key grant or report is sealed to.
    pub fn sealing_recipients(&self) -> Vec<(OrgSlug, String)> {
        self.current_members()
            .filter_map(|member| member.recipient.clone().map(|recipient| (member.slug.clone(), recipient)))
            .collect()
    }

    /// Whether a `sealed.shredded` event destroyed this data key.
    pub fn is_shredded(&self, key: &DataKeyId) -> bool {
        self.shredded.contains(key)
    }

    /// Every data key destroyed by a `sealed.shredded` event, sorted.
    pub fn shredded_keys(&self) -> impl Iterator<Item = &DataKeyId> {
        self.shredded.iter()
    }

    /// How many sealed records the folded history holds (their contents are not here).
    pub fn sealed_count(&self) -> u64 {
        self.sealed_count
    }

    /// How many current members there are.
    pub fn member_count(&self) -> usize {
        self.active_count
    }

    /// Every case, sorted by case id.
    pub fn cases(&self) -> impl Iterator<Item = CaseView<'_>> {
        self.cases.iter().map(|(id, state)| CaseView { projection: self, id: *id, state })
    }

    /// A case by id.
    pub fn case(&self, id: &EventId) -> Option<CaseView<'_>> {
        self.cases.get(id).map(|state| CaseView { projection: self, id: *id, state })
    }

    /// How many cases there are.
    pub fn case_count(&self) -> usize {
        self.cases.len()
    }

    /// Every proposal, sorted by id.
    pub fn proposals(&self) -> impl Iterator<Item = &Proposal> {
        self.proposals.values()
    }

    /// A proposal by id.
    pub fn proposal(&self, id: &EventId) -> Option<&Proposal> {
        self.proposals.get(id)
    }

    /// Every edition, sorted by id.
    pub fn editions(&self) -> impl Iterator<Item = &Edition> {
        self.editions.values()
    }

    /// An edition by id.
    pub fn edition(&self, id: &EventId) -> Option<&Edition> {
        self.editions.get(id)
    }

    /// Every event that had no effect: first the events excluded by forks (sorted by
    /// organisation, seq and id), then the others in the linear order.
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }

    /// Events waiting for parents, sorted by id.
    pub fn waiting(&self) -> &[WaitingEvent] {
        &self.waiting
    }

    /// How many events were folded (the length of the linear order).
    pub fn applied_events(&self) -> u64 {
        self.applied
    }

    /// The last event of the linear order, if any.
    pub fn last_event(&self) -> Option<EventId> {
        self.last_applied
    }

    /// The work waiting on members: cases one endorsement short, open proposals, editions below
    /// quorum.
    pub fn pending(&self) -> PendingWork<'_> {
        let quorum = self.policy.listing_quorum as usize;
        let cases_one_short = self
            .cases()
            .filter(|case| {
                let assessment = case.assessment();
                !assessment.exclusion_stands && assessment.criterion_stands && assessment.endorsements + 1 == quorum
            })
            .map(|case| case.id())
            .collect();
        let open_proposals =
            self.proposals.values().filter(|proposal| proposal.outcome == ProposalOutcome::Open).collect();
        let editions_below_quorum = self.editions.values().filter(|edition| edition.official_by.is_none()).collect();
        PendingWork { cases_one_short, open_proposals, editions_below_quorum }
    }

    /// How many of `slugs` are current members.
    pub(crate) fn count_active(&self, slugs: &[OrgSlug]) -> usize {
        slugs.iter().filter(|slug| self.is_active_slug(slug)).count()
    }
}

/// Work waiting on members.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingWork<'a> {
    /// Cases one endorsement short of `listing_quorum` that otherwise qualify (a criterion
    /// stands, no exclusion stands), sorted by id.
    pub cases_one_short: Vec<EventId>,
    /// Proposals still open, sorted by id.
    pub open_proposals: Vec<&'a Proposal>,
    /// Editions not (yet) official, sorted by id.
    pub editions_below_quorum: Vec<&'a Edition>,
}

/// What the rules count for a case at this point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Assessment {
    /// Endorsements by current members.
    pub endorsements: usize,
    /// Whether at least one current member asserts some criterion.
    pub criterion_stands: bool,
    /// Whether exclusions by current members reach `exclusion_quorum`.
    pub exclusion_stands: bool,
}

/// Counts a case's assessment against the current members.
pub(crate) fn assess(case: &CaseState, active: impl Fn(Slot) -> bool, policy: &Policy) -> (Assessment, Status) {
    let endorsements = case.endorsements.iter().filter(|&&slot| active(slot)).count();
    let criterion_stands = case.claims.iter().any(|claim| active(claim.slot));
    let exclusions = case.exclusions.iter().filter(|(slot, _)| active(*slot)).count();
    let exclusion_stands = exclusions >= policy.exclusion_quorum as usize;
    let assessment = Assessment { endorsements, criterion_stands, exclusion_stands };
    let qualifies = endorsements >= policy.listing_quorum as usize && criterion_stands && !exclusion_stands;
    let status = if exclusion_stands {
        Status::Excluded
    } else if qualifies {
        match case.detention {
            Detention::Detained => Status::Listed,
            Detention::Released { .. } => Status::Released,
            Detention::Died { .. } => Status::Died,
        }
    } else if case.ever_in_list {
        Status::Delisted
    } else {
        Status::UnderReview
    };
    (assessment, status)
}

/// A read-only view of one case.
#[derive(Debug, Clone, Copy)]
pub struct CaseView<'a> {
    projection: &'a Projection,
    id: EventId,
    state: &'a CaseState,
}

/// One organisation's assertion of one criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CriterionClaim<'a> {
    /// The criterion.
    pub criterion: Criterion,
    /// The organisation asserting it.
    pub org: &'a OrgSlug,
    /// Its reasoning, if given.
    pub reasoning: Option<&'a Reasoning>,
    /// Whether the organisation is a current member (only then does the claim count).
    pub counts: bool,
}

impl<'a> CaseView<'a> {
    fn slug(&self, slot: Slot) -> &'a OrgSlug {
        self.projection.orgs.slug(slot)
    }

    fn sorted_slugs(&self, slots: impl Iterator<Item = Slot>) -> Vec<&'a OrgSlug> {
        let mut slugs: Vec<&'a OrgSlug> = slots.map(|slot| self.slug(slot)).collect();
        slugs.sort();
        slugs
    }

    /// The case id (the id of its `case.opened` event).
    pub fn id(&self) -> EventId {
        self.id
    }

    /// The organisation that opened it.
    pub fn opened_by(&self) -> &'a OrgSlug {
        self.slug(self.state.opened_by)
    }

    /// The current facts.
    pub fn facts(&self) -> &'a Facts {
        &self.state.facts
    }

    /// Every criterion assertion in effect, sorted by criterion then organisation.
    pub fn claims(&self) -> Vec<CriterionClaim<'a>> {
        let mut claims: Vec<CriterionClaim<'a>> = self
            .state
            .claims
            .iter()
            .map(|claim| CriterionClaim {
                criterion: claim.criterion,
                org: self.slug(claim.slot),
                reasoning: claim.reasoning.as_deref(),
                counts: self.projection.is_active_slot(claim.slot),
            })
            .collect();
        claims.sort_by(|left, right| (left.criterion, left.org).cmp(&(right.criterion, right.org)));
        claims
    }

    /// The criteria that stand: asserted by at least one current member, sorted (`a` to `e`).
    pub fn standing_criteria(&self) -> Vec<Criterion> {
        let mut criteria: Vec<Criterion> = self
            .state
            .claims
            .iter()
            .filter(|claim| self.projection.is_active_slot(claim.slot))
            .map(|claim| claim.criterion)
            .collect();
        criteria.dedup();
        criteria
    }

    /// Every sign noted, with who noted it, sorted by the sign's spelling then organisation.
    pub fn signs(&self) -> Vec<(Sign, &'a OrgSlug)> {
        let mut signs: Vec<(Sign, &'a OrgSlug)> =
            self.state.signs.iter().map(|(sign, slot)| (*sign, self.slug(*slot))).collect();
        signs.sort_by(|left, right| (left.0.as_str(), left.1).cmp(&(right.0.as_str(), right.1)));
        signs
    }

    /// The signs noted by at least one current member, sorted by spelling (byte order).
    pub fn standing_signs(&self) -> Vec<Sign> {
        let mut signs: Vec<Sign> = self
            .state
            .signs
            .iter()
            .filter(|(_, slot)| self.projection.is_active_slot(*slot))
            .map(|(sign, _)| *sign)
            .collect();
        signs.sort_by_key(|sign| sign.as_str());
        signs.dedup();
        signs
    }

    /// Every organisation whose endorsement is recorded, sorted (see [`Self::counted_endorsements`]).
    pub fn endorsements(&self) -> Vec<&'a OrgSlug> {
        self.sorted_slugs(self.state.endorsements.iter().copied())
    }

    /// The endorsements that count: by current members, sorted.
    pub fn counted_endorsements(&self) -> Vec<&'a OrgSlug> {
        self.sorted_slugs(self.state.endorsements.iter().copied().filter(|slot| self.projection.is_active_slot(*slot)))
    }

    /// Every exclusion raised and not withdrawn, with its ground, sorted by organisation.
    pub fn exclusions(&self) -> Vec<(&'a OrgSlug, ExclusionGround)> {
        let mut exclusions: Vec<(&'a OrgSlug, ExclusionGround)> =
            self.state.exclusions.iter().map(|(slot, ground)| (self.slug(*slot), *ground)).collect();
        exclusions.sort();
        exclusions
    }

    /// Endorsements, criteria and exclusions counted against the current members.
    pub fn assessment(&self) -> Assessment {
        assess(self.state, |slot| self.projection.is_active_slot(slot), &self.projection.policy).0
    }

    /// Whether the case qualifies for the joint list now.
    pub fn qualifies(&self) -> bool {
        let assessment = self.assessment();
        assessment.endorsements >= self.projection.policy.listing_quorum as usize
            && assessment.criterion_stands
            && !assessment.exclusion_stands
    }

    /// Held, released or dead.
    pub fn detention(&self) -> Detention {
        self.state.detention
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.state.status
    }

    /// Every status the case has had, oldest first (the first is `under_review`, set by
    /// `case.opened`).
    pub fn history(&self) -> &'a [StatusChange] {
        &self.state.history
    }

    /// The date of the current status.
    pub fn status_date(&self) -> Option<Date> {
        self.state.history.last().map(|change| change.date)
    }

    /// The last event that had an effect on the case.
    pub fn last_event(&self) -> EventId {
        self.state.last_event
    }
}

impl Projection {
    /// The summary of the joint list: entry count and list hash (cached until the next change).
    pub fn list_summary(&self) -> Result<&ListSummary, ListError> {
        self.list.get_or_init(|| crate::list::summarise(self)).as_ref().map_err(Clone::clone)
    }

    /// The counts (cached until the next change).
    pub fn counts(&self) -> &Counts {
        self.counts.get_or_init(|| crate::list::count(self))
    }

    /// Approximate bytes held by the cases (internal structures and the text they own).
    pub fn approximate_case_bytes(&self) -> usize {
        self.cases.values().map(case_bytes).sum::<usize>()
            + self.cases.len() * (std::mem::size_of::<EventId>() + std::mem::size_of::<CaseState>())
    }
}

fn facts_heap_bytes(facts: &Facts) -> usize {
    let text = |value: &Option<String>| value.as_ref().map_or(0, String::capacity);
    text(&facts.name_uk)
        + text(&facts.name_en)
        + text(&facts.name_ru)
        + text(&facts.detention_place)
        + text(&facts.place_of_detention)
        + text(&facts.case_group)
        + text(&facts.summary_uk)
        + text(&facts.summary_en)
        + text(&facts.postal_address)
        + facts.citizenship.as_ref().map_or(0, |codes| codes.capacity() * 24 + codes.len() * 2)
        + facts.charges.as_ref().map_or(0, |charges| {
            charges.capacity() * std::mem::size_of::<coalition_core::body::Charge>()
                + charges
                    .iter()
                    .map(|charge| charge.article.capacity() + text(&charge.part) + text(&charge.note))
                    .sum::<usize>()
        })
        + facts.sentence.as_ref().map_or(0, |sentence| text(&sentence.text_uk) + text(&sentence.text_en))
}

fn case_bytes(case: &CaseState) -> usize {
    facts_heap_bytes(&case.facts)
        + case.claims.capacity() * std::mem::size_of::<Claim>()
        + case
            .claims
            .iter()
            .filter_map(|claim| claim.reasoning.as_ref())
            .map(|reasoning| {
                std::mem::size_of::<Reasoning>()
                    + reasoning.uk.as_ref().map_or(0, String::capacity)
                    + reasoning.en.as_ref().map_or(0, String::capacity)
            })
            .sum::<usize>()
        + case.signs.capacity() * std::mem::size_of::<(Sign, Slot)>()
        + case.endorsements.capacity() * std::mem::size_of::<Slot>()
        + case.exclusions.capacity() * std::mem::size_of::<(Slot, ExclusionGround)>()
        + case.history.capacity() * std::mem::size_of::<StatusChange>()
}
