//! The JSON shapes of the HTTP API, shared by the server (which writes them) and the
//! [`crate::client`] (which reads them), so the two cannot drift apart.
//!
//! Request bodies refuse unknown fields. Their leaves are plain JSON values: the node's body
//! parser is the one place that checks them, so a bad value is reported with the same path and
//! words whichever route carried it.

use std::collections::BTreeMap;

use coalition_core::body::{Criterion, Digest, EventKind, ExclusionGround, Facts, Policy, Sign};
use coalition_core::event::{EventId, LedgerId, OrgSlug};
use coalition_core::time::{Date, Timestamp};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Errors and receipts
// ---------------------------------------------------------------------------------------------

/// The body of every error response: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, for people and for programs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable code: `malformed_json`, `invalid_request`, `unknown_field`, `invalid_body`,
    /// `sensitive_data`, `invalid_sealed_record`, `cannot_seal`, `unauthorized`, `not_found`,
    /// `unknown_reference`, `no_effect`, `too_large`, `unsupported_media_type`,
    /// `store_unavailable`, `timeout`, `overloaded`, ...
    pub code: String,
    /// What is wrong and, where it helps, what to do, in plain words.
    pub message: String,
    /// The JSON path of the field at fault in the request body, like `facts.region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The answer to every member write (201 Created): the event signed and made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    /// The event id (for `case.opened`, the new case's id).
    pub id: EventId,
    /// Its seq in this organisation's feed.
    pub seq: u64,
    /// Its kind.
    pub kind: EventKind,
    /// The sealed record the write made beside its clear event (or, as `true`, that this event
    /// is itself the sealed record: a sensitive sign has no clear event). Absent when the
    /// request carried nothing sensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<SealedReceipt>,
}

/// What a member write sealed (PROTOCOL §14): see [`Submitted::sealed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SealedReceipt {
    /// The sealed record signed right after the clear event.
    Record(EventReceipt),
    /// `true`: the receipt's own event is the sealed record.
    Itself(bool),
}

/// One signed event: its id and its seq in this organisation's feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventReceipt {
    /// The event id.
    pub id: EventId,
    /// Its seq in this organisation's feed.
    pub seq: u64,
}

/// `POST /api/v1/member/cases/{case}/sealed`: a sealed record of the case (PROTOCOL §14.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealRequest {
    /// The event kind the record is, like `case.updated`.
    pub kind: Value,
    /// Its fields: a text or a list of texts each, by name.
    pub fields: Value,
}

/// `GET /api/v1/member/cases/{case}/sealed`: the member view of a case's sealed records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFile {
    /// The case.
    pub case: EventId,
    /// Its sealed records this node can attribute to it, in (time, id) order.
    pub records: Vec<CaseFileRecord>,
}

/// One sealed record in the member view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFileRecord {
    /// The `sealed` event's id.
    pub event: EventId,
    /// The organisation whose feed carries it.
    pub org: OrgSlug,
    /// Its seq in that feed.
    pub seq: u64,
    /// Its signed time.
    pub time: Timestamp,
    /// `opened`, `shredded` (its data key was destroyed) or `does_not_open`.
    pub status: String,
    /// The kind the record is, when opened.
    pub kind: Option<EventKind>,
    /// Its fields, when opened.
    pub fields: Option<BTreeMap<String, coalition_core::seal::SealedValue>>,
}

/// `POST /api/v1/member/cases/{case}/shred`: the `sealed.shredded` events signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shredded {
    /// The events, in feed order.
    pub events: Vec<EventReceipt>,
}

// ---------------------------------------------------------------------------------------------
// Member requests
// ---------------------------------------------------------------------------------------------

/// Keeps an explicit `null` as `Some(Value::Null)` (absent stays `None`), so the node refuses it
/// with its own words instead of this layer silently reading it as absent.
fn keep_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// `POST /api/v1/member/events`: any event kind with its body (the scripting path).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The event kind, like `person.added`.
    pub kind: String,
    /// The body, as docs/PROTOCOL.md §7 and `schemas/events/` describe it.
    pub body: Value,
}

/// `POST /api/v1/member/cases`: open a case (`case.opened`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    /// The facts known now (at least `name_uk` or `name_en`).
    pub facts: Value,
}

/// `PATCH /api/v1/member/cases/{case}`: set and clear facts (`case.updated`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateCase {
    /// Fields to set.
    #[serde(default, deserialize_with = "keep_null", skip_serializing_if = "Option::is_none")]
    pub facts: Option<Value>,
    /// Names of fields to clear, sorted.
    #[serde(default, deserialize_with = "keep_null", skip_serializing_if = "Option::is_none")]
    pub clear: Option<Value>,
}

/// `POST /api/v1/member/cases/{case}/criteria`: assert a criterion (`criterion.asserted`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssertCriterion {
    /// `a` to `e`.
    pub criterion: Value,
    /// Reasoning in Ukrainian.
    #[serde(default, deserialize_with = "keep_null", skip_serializing_if = "Option::is_none")]
    pub reasoning_uk: Option<Value>,
    /// Reasoning in English.
    #[serde(default, deserialize_with = "keep_null", skip_serializing_if = "Option::is_none")]
    pub reasoning_en: Option<Value>,
}

/// `POST /api/v1/member/cases/{case}/signs`: note a public sign (`sign.noted`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteSign {
    /// The sign, like `free_speech`. A sensitive sign (like `special_services_cooperation`) is
    /// recorded only in a sealed record.
    pub sign: Value,
    /// The member's note on the sign: always sealed.
    #[serde(default, deserialize_with = "keep_null", skip_serializing_if = "Option::is_none")]
    pub note: Option<Value>,
}

/// `POST /api/v1/member/cases/{case}/exclusion`: raise an exclusion (`exclusion.raised`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaiseExclusion {
    /// The ground, like `general_crime`. No free text: deliberation is sensitive.
    pub ground: Value,
}

/// `POST /api/v1/member/cases/{case}/release`: record a release (`person.released`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRelease {
    /// The day of release, `YYYY-MM-DD`.
    pub date: Value,
    /// `exchange`, `end_of_term`, `acquittal`, `pardon` or `other`.
    pub circumstances: Value,
}

/// `POST /api/v1/member/cases/{case}/redetention` and `.../death`: a dated change
/// (`person.detained`, `person.died`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordDate {
    /// The day, `YYYY-MM-DD`.
    pub date: Value,
}

/// `POST /api/v1/member/members`: propose admitting an organisation (`member.proposed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeMember {
    /// Its slug.
    pub slug: Value,
    /// Its display name.
    pub name: Value,
    /// Its verifier key, named `<origin>/<slug>`.
    pub vkey: Value,
}

/// `POST /api/v1/member/policy`: propose new quorums (`policy.proposed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposePolicy {
    /// The four quorums.
    pub policy: Value,
}

/// `POST /api/v1/member/key`: this organisation's new key (`key.rotated`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// The new verifier key.
    pub vkey: Value,
}

// ---------------------------------------------------------------------------------------------
// Member reads
// ---------------------------------------------------------------------------------------------

/// `GET /api/v1/member/pending`: the work waiting on members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The organisation this node signs for.
    pub org: Option<OrgSlug>,
    /// The policy in force.
    pub policy: Policy,
    /// Cases one endorsement short of the listing quorum that otherwise qualify, by id.
    pub cases_one_short: Vec<PendingCase>,
    /// Proposals still open, by id.
    pub open_proposals: Vec<ProposalSummary>,
    /// Editions not yet official, by id.
    pub editions_below_quorum: Vec<EditionSummary>,
}

/// A case one endorsement short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCase {
    /// The case id.
    pub id: EventId,
    /// The name in Ukrainian, if recorded.
    pub name_uk: Option<String>,
    /// The name in English, if recorded.
    pub name_en: Option<String>,
    /// Who opened it.
    pub opened_by: OrgSlug,
    /// The current members endorsing it.
    pub endorsed_by: Vec<OrgSlug>,
    /// Whether this node's organisation endorses it already.
    pub endorsed_by_you: bool,
}

/// What a proposal changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalChange {
    /// Admit an organisation.
    Admit {
        /// Its slug.
        slug: OrgSlug,
        /// Its display name.
        name: String,
        /// Its verifier key.
        vkey: String,
    },
    /// Remove a member.
    Remove {
        /// Its slug.
        slug: OrgSlug,
    },
    /// New quorums.
    Policy(Policy),
    /// A kind of change this version of the API does not name, described for people.
    Other(String),
}

/// A governance proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalSummary {
    /// The proposal id (approve it at `POST /api/v1/member/proposals/{id}/approval`).
    pub id: EventId,
    /// Who proposed it.
    pub proposer: OrgSlug,
    /// What it changes.
    pub change: ProposalChange,
    /// Organisations whose approval took effect, sorted.
    pub approvals: Vec<OrgSlug>,
    /// Whether this node's organisation approved it already.
    pub approved_by_you: bool,
}

/// A proposed edition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditionSummary {
    /// The edition id.
    pub id: EventId,
    /// Who proposed it.
    pub proposer: OrgSlug,
    /// The month, `YYYY-MM`.
    pub label: String,
    /// The number of entries it states.
    pub count: u64,
    /// The Merkle root it states.
    pub root: Digest,
    /// The list hash it states.
    pub list_hash: Digest,
    /// Who cosigned it, sorted.
    pub cosigners: Vec<OrgSlug>,
    /// Whether this node's organisation cosigned it already.
    pub cosigned_by_you: bool,
}

/// `GET /api/v1/member/cases/{case}`: everything the projection holds about a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDetail {
    /// The case id.
    pub id: EventId,
    /// Who opened it.
    pub opened_by: OrgSlug,
    /// `under_review`, `listed`, `released`, `died`, `delisted` or `excluded`.
    pub status: String,
    /// The date of the current status.
    pub status_date: Option<Date>,
    /// Whether it is an entry of the joint list.
    pub in_list: bool,
    /// Whether it qualifies for the list now.
    pub qualifies: bool,
    /// What the rules count now.
    pub assessment: AssessmentBody,
    /// The current facts.
    pub facts: Facts,
    /// Every criterion assertion, sorted by criterion then organisation.
    pub claims: Vec<ClaimBody>,
    /// Every sign noted, sorted by sign then organisation.
    pub signs: Vec<SignBody>,
    /// Every recorded endorsement, sorted by organisation.
    pub endorsements: Vec<EndorsementBody>,
    /// Every exclusion raised and not withdrawn, sorted by organisation.
    pub exclusions: Vec<ExclusionBody>,
    /// Held, released or dead.
    pub detention: DetentionBody,
    /// Every status the case has had, oldest first.
    pub history: Vec<HistoryBody>,
    /// The last event that had an effect on it.
    pub last_event: EventId,
}

/// Endorsements, criteria and exclusions counted against the current members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentBody {
    /// Endorsements by current members.
    pub endorsements: usize,
    /// The listing quorum in force.
    pub listing_quorum: u32,
    /// Whether a current member asserts some criterion.
    pub criterion_stands: bool,
    /// Whether exclusions by current members reach the exclusion quorum.
    pub exclusion_stands: bool,
}

/// One organisation's assertion of one criterion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimBody {
    /// The criterion.
    pub criterion: Criterion,
    /// Who asserts it.
    pub org: OrgSlug,
    /// Reasoning in Ukrainian.
    pub reasoning_uk: Option<String>,
    /// Reasoning in English.
    pub reasoning_en: Option<String>,
    /// Whether it counts (its organisation is a current member).
    pub counts: bool,
}

/// A sign noted by an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignBody {
    /// The sign.
    pub sign: Sign,
    /// Who noted it.
    pub org: OrgSlug,
}

/// An organisation's endorsement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndorsementBody {
    /// Who endorses.
    pub org: OrgSlug,
    /// Whether it counts (its organisation is a current member).
    pub counts: bool,
}

/// An organisation's exclusion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExclusionBody {
    /// Who raised it.
    pub org: OrgSlug,
    /// On which ground.
    pub ground: ExclusionGround,
}

/// Held, released or dead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetentionBody {
    /// `detained`, `released` or `died`.
    pub state: String,
    /// The day of release or death.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    /// How the person was released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circumstances: Option<String>,
}

/// One change of status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryBody {
    /// The new status.
    pub status: String,
    /// The event that changed it.
    pub event: EventId,
    /// The date of the change.
    pub date: Date,
}

// ---------------------------------------------------------------------------------------------
// Public reads
// ---------------------------------------------------------------------------------------------

/// `GET /api/v1/list`: the joint list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListBody {
    /// `coalition-ledger/list/v1`.
    pub format: String,
    /// The ledger id.
    pub ledger: LedgerId,
    /// Whether this is the fictional demo ledger.
    pub demo: bool,
    /// How many entries.
    pub count: usize,
    /// BLAKE3 of the canonical list document (`GET /api/v1/list/canonical` serves its bytes).
    pub hash: Digest,
    /// Public counts.
    pub counts: CountsBody,
    /// How many entries the query's filters and search keep (`count` when there are none).
    #[serde(default)]
    pub found: usize,
    /// The page served, from 1 (a download is one page holding every kept entry).
    #[serde(default)]
    pub page: usize,
    /// How many pages the kept entries fill, at least 1.
    #[serde(default)]
    pub pages: usize,
    /// The kept entries of this page, in the query's order (by name unless `sort` says
    /// otherwise), each as in the canonical list document (docs/PROTOCOL.md §12.10).
    pub entries: Vec<Value>,
}

/// `GET /api/v1/persons/{case}`: everything public about one person of the joint list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonBody {
    /// The person's list entry, as in the canonical list document.
    pub entry: Value,
    /// Status changes, oldest first.
    pub history: Vec<StatusChangeBody>,
    /// The signed events about the case, oldest first (each readable in its feed).
    pub events: Vec<CaseEventBody>,
}

/// One status change of a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChangeBody {
    /// `listed`, `released`, `died`, ...
    pub status: String,
    /// The date it took effect.
    pub date: Date,
}

/// One signed event about a case: who asserted what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEventBody {
    /// The event id.
    pub id: EventId,
    /// The member that signed it.
    pub org: OrgSlug,
    /// Its seq in that member's feed (`GET /api/v1/feeds/{org}?from={seq}` serves it).
    pub seq: u64,
    /// When it was signed.
    pub time: Timestamp,
    /// Its kind.
    pub kind: EventKind,
}

/// `GET /api/v1/stats`: the public counts of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsBody {
    /// The ledger id.
    pub ledger: LedgerId,
    /// Whether this is the fictional demo ledger.
    pub demo: bool,
    /// The counts.
    pub counts: CountsBody,
}

/// Public counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountsBody {
    /// Entries of the joint list (listed, released, died).
    pub in_list: usize,
    /// People detained now (status `listed`).
    pub detained_now: usize,
    /// Cases by status.
    pub by_status: BTreeMap<String, usize>,
    /// People detained now by region of detention (`unknown`: not recorded).
    pub by_region: BTreeMap<String, usize>,
    /// People detained now by year of detention (`unknown`: not recorded).
    pub by_detention_year: BTreeMap<String, usize>,
}

/// `GET /api/v1/feeds/{org}`: a page of one organisation's signed notes, in seq order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPage {
    /// The organisation.
    pub org: OrgSlug,
    /// The seq of the first note.
    pub from: u64,
    /// The signed notes (C2SP signed-note text, exactly as signed).
    pub notes: Vec<String>,
    /// The seq to ask for next, when this page was full.
    pub next: Option<u64>,
    /// The seq of the feed's head on this node, if it holds any event of it.
    pub head: Option<u64>,
}

/// `GET /api/v1/events/{id}`: one signed event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventBody {
    /// The event id.
    pub id: EventId,
    /// The organisation whose feed holds it.
    pub org: OrgSlug,
    /// Its position in that feed.
    pub seq: u64,
    /// The signed note (C2SP signed-note text, exactly as signed).
    pub note: String,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// How many feeds this node holds events of.
    pub feeds: usize,
    /// Whether this is the fictional demo ledger.
    pub demo: bool,
}

// ---------------------------------------------------------------------------------------------
// Status and quarantine
// ---------------------------------------------------------------------------------------------

/// `GET /api/v1/status`: the node's view of every feed and of replication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusBody {
    /// The ledger.
    pub ledger: LedgerId,
    /// The organisation this node signs for (absent for a read-only node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<OrgSlug>,
    /// Every feed the node holds, by organisation.
    pub feeds: Vec<FeedStatus>,
    /// The replicator's last report; absent when the node does not replicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<ReplicationBody>,
    /// This node's own events not yet published.
    pub outbox: u64,
    /// Inputs refused and kept aside.
    pub quarantined: u64,
    /// Fork proofs held.
    pub fork_proofs: u64,
}

/// One feed in [`StatusBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedStatus {
    /// The organisation.
    pub org: OrgSlug,
    /// The seq of its newest verified event.
    pub head_seq: u64,
    /// The id of its newest verified event.
    pub head_id: EventId,
    /// The seq at which a fork froze the feed, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen_at: Option<u64>,
}

/// Replication in [`StatusBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationBody {
    /// Whether the connection to the message server is up.
    pub connected: bool,
    /// The stream's last sequence, as last seen.
    pub stream_last_seq: u64,
    /// Every message up to this stream sequence is applied (or refused and quarantined).
    pub applied_stream_seq: u64,
    /// Messages of the stream not yet finished with.
    pub lag_messages: u64,
    /// When the replicator last reported (Unix seconds).
    pub updated_unix_s: i64,
}

/// `GET /api/v1/member/quarantine`: a page of refused inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinePage {
    /// How many inputs are quarantined in all.
    pub total: u64,
    /// The records, oldest first.
    pub items: Vec<QuarantineItem>,
    /// The `from` of the next page, when there may be one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// One refused input. The excerpt is text made safe to show (control characters escaped, cut
/// short); the raw bytes are never served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineItem {
    /// The record number (from 1).
    pub id: u64,
    /// When it was received (Unix seconds, the node's clock).
    pub received_unix_s: i64,
    /// Why it was refused.
    pub reason: String,
    /// Its size in bytes as received.
    pub bytes: u64,
    /// BLAKE3 of the input as received, in hex.
    pub blake3: String,
    /// The beginning of the input as text, control characters written as `\u{..}`.
    pub excerpt: String,
    /// Whether the excerpt is shorter than the input.
    pub excerpt_cut: bool,
}
