//! The members' inbox of reports from the public form: checking and normalising a report's text,
//! sealing it at once to every current member's recipient, and keeping only the ciphertext as a
//! private record ([`PrivateSpace::Reports`]) — never in a feed, so spam never enters the
//! permanent history, and deleted for good when a member accepts or discards it.
//!
//! **Accepting** opens a case with the public facts a member typed (`case.opened`, in clear) and
//! then a sealed record of kind `case.opened` for that case ([`Node::seal_record`]) holding the
//! report itself: who, where, what, the reporter's contact and consent, the report id and the day
//! received. So the reporter's identity reaches the case file only sealed, and the case's data
//! key shreds it with the rest of the case.
//!
//! **Caps.** The inbox holds at most [`REPORT_INBOX_ENTRIES_MAX`] entries: a full inbox refuses
//! new reports ([`ReportError::InboxFull`], logged with the count only) until members triage it,
//! so a flood cannot fill the disk. One report is at most [`REPORT_RECORD_BYTES_MAX`] bytes as
//! the sealed record it becomes on acceptance (a report that could not be sealed into its case is
//! refused at the form, not at acceptance); the inbox's ciphertexts are therefore bounded by
//! about `REPORT_INBOX_ENTRIES_MAX × REPORT_RECORD_BYTES_MAX` plus age's overhead.
//!
//! What the clear report holds: the reporter's four texts, the consent flag and the day it was
//! received (UTC, truncated to the day). Never the sender's address or user agent: the node is
//! never told them. The clear text exists only in memory; it is never logged (log lines carry
//! the report id and the ciphertext size only).
//!
//! **Control and bidi characters are removed, not refused.** A frightened person pasting from a
//! messenger should not see the form refuse an invisible character. Text is NFC-normalised,
//! `\r\n` and `\r` become `\n`, newlines stay (in the longer fields), tabs become spaces, every
//! other control character (C0, C1) and every bidirectional formatting character (U+061C,
//! U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) is removed, and blanks (zero-width ones
//! included) are trimmed from both ends; members' tools then never show text that reorders
//! itself, and the text passes the sealed record's text rules (PROTOCOL §7, §14.3) unchanged.
//! Limits are counted after that, in characters.

use std::collections::BTreeMap;

use coalition_core::body::EventKind;
use coalition_core::event::EventId;
use coalition_core::seal::{SEALED_RECORD_BYTES_MAX, SealedRecord, SealedValue};
use coalition_core::time::Timestamp;
use coalition_store::PrivateSpace;
use coalition_store::limits::PRIVATE_PAGE_MAX;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use unicode_normalization::UnicodeNormalization;

use crate::{Node, NodeError, SubmitError, Submitted};

/// Longest "who is persecuted", in characters.
pub const REPORT_WHO_CHARS_MAX: usize = 500;
/// Longest "where" (region, place), in characters.
pub const REPORT_PLACE_CHARS_MAX: usize = 500;
/// Longest "what happened", in characters.
pub const REPORT_WHAT_CHARS_MAX: usize = 10_000;
/// Longest "how to reach the reporter", in characters.
pub const REPORT_CONTACT_CHARS_MAX: usize = 500;
/// Most reports listed from the inbox at once.
pub const REPORTS_PAGE_MAX: usize = 500;
/// Prefix of an inbox entry's id (`r-<day hex>-<random hex>`).
pub const REPORT_ID_PREFIX: &str = "r-";
/// Most entries the inbox holds; a full inbox refuses new reports until members triage it.
pub const REPORT_INBOX_ENTRIES_MAX: usize = 5_000;
/// Largest report, in bytes of the canonical JSON of the sealed record it becomes when accepted:
/// the sealed record's own limit, so every report in the inbox can be sealed into its case.
pub const REPORT_RECORD_BYTES_MAX: usize = SEALED_RECORD_BYTES_MAX;
/// The fields of the sealed record an accepted report becomes, in the order members read them.
pub const REPORT_RECORD_FIELDS: [&str; 7] =
    ["report_id", "received", "who", "where", "what", "reporter_contact", "reporter_consent"];
/// Shortest contact looked for in a case's public facts on acceptance: a shorter one (`no`,
/// `tg`) would match ordinary words.
const CONTACT_MATCHED_CHARS_MIN: usize = 6;
/// Random bytes in a report id.
const REPORT_ID_RANDOM_BYTES: usize = 8;
const SECONDS_PER_DAY: i64 = 86_400;

/// A report as the public form sends it (before normalisation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportForm {
    /// Who is persecuted (required).
    pub who: String,
    /// Where: region, place (required).
    pub place: String,
    /// What happened (required).
    pub what: String,
    /// How to reach the reporter (optional; empty when not given).
    #[serde(default)]
    pub contact: String,
    /// Whether the reporter agrees to be contacted.
    #[serde(default)]
    pub consent: bool,
}

/// A report as it is sealed and as members read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Who is persecuted.
    pub who: String,
    /// Where: region, place.
    pub place: String,
    /// What happened.
    pub what: String,
    /// How to reach the reporter ("" when not given).
    pub contact: String,
    /// Whether the reporter agrees to be contacted.
    pub consent: bool,
    /// The UTC day the node received it (`YYYY-MM-DD`), nothing finer.
    pub received: String,
}

/// One inbox entry as listed: its id, received day (from the id) and ciphertext size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportEntry {
    /// The report's id.
    pub id: String,
    /// The UTC day it was received (`YYYY-MM-DD`).
    pub received: String,
    /// The ciphertext's size in bytes.
    pub bytes: usize,
}

/// How full the inbox is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxFill {
    /// Entries in the inbox (counted up to [`REPORT_INBOX_ENTRIES_MAX`]).
    pub entries: usize,
    /// The most it holds ([`REPORT_INBOX_ENTRIES_MAX`]).
    pub entries_max: usize,
    /// Whether it is full: the form refuses new reports until members accept or discard some.
    pub full: bool,
}

/// What accepting a report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedReport {
    /// The `case.opened` event with the public facts: its id is the new case's id.
    pub case: Submitted,
    /// The `sealed` event holding the report as a sealed record of the case.
    pub sealed: Submitted,
    /// The names of the sealed record's fields (never their values).
    pub sealed_fields: Vec<String>,
}

/// What is wrong with one field of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldProblem {
    /// Empty after normalisation, and required.
    Required,
    /// Longer than allowed, in characters after normalisation.
    TooLong {
        /// Its length.
        chars: usize,
        /// The limit.
        max: usize,
    },
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Required => formatter.write_str("this field is required"),
            Self::TooLong { chars, max } => write!(formatter, "{chars} characters; at most {max}"),
        }
    }
}

/// Why a report was refused, or the inbox could not do its work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A field is missing, empty or too long (after normalisation).
    #[error("{field}: {problem}")]
    Field {
        /// The form field's name.
        field: &'static str,
        /// What is wrong with it.
        problem: FieldProblem,
    },
    /// The report cannot be sealed into a case (a text rule of PROTOCOL §14.3 its
    /// normalisation did not meet), or an opened report is not a report.
    #[error("the report cannot be read or sealed: {0}")]
    Malformed(String),
    /// The whole report is too large to be sealed into its case when accepted.
    #[error("the report is {bytes} bytes as a sealed record; at most {max} (shorten \"what happened\")")]
    TooLarge {
        /// Its size as a sealed record.
        bytes: usize,
        /// [`REPORT_RECORD_BYTES_MAX`].
        max: usize,
    },
    /// This node takes no reports: a read-only mirror, or no member has an encryption recipient.
    #[error("this node does not accept reports: {0}")]
    NotAccepted(&'static str),
    /// The inbox holds [`REPORT_INBOX_ENTRIES_MAX`] entries: members must triage it first.
    #[error("the inbox is full ({entries} reports): members must accept or discard reports first")]
    InboxFull {
        /// Entries in the inbox.
        entries: usize,
    },
    /// The facts of the case to open repeat the reporter's contact, which may only be sealed.
    #[error("the public facts repeat the reporter's contact: it is kept only in the sealed record of the case")]
    ContactInFacts,
    /// No inbox entry has this id.
    #[error("no report {0} in the inbox")]
    Unknown(String),
    /// Opening the case of an accepted report failed; the report stays in the inbox.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// The case was opened but the report could not be sealed into it; the report stays in the
    /// inbox (accepting it again would open a second case: seal it by hand or discard it).
    #[error("case {case} was opened, but the report could not be sealed into it: {source}")]
    NotSealed {
        /// The case that was opened.
        case: EventId,
        /// Why sealing failed (boxed: this variant is rare and the error large).
        source: Box<SubmitError>,
    },
    /// The store, sealing or the node's identity failed.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// Removes control and bidi formatting characters (keeping `\n` if `multiline`; tabs become
/// spaces), folds line ends, trims blanks, and normalises to NFC. See the module documentation.
pub fn normalise_report_text(text: &str, multiline: bool) -> String {
    let folded = text.replace("\r\n", "\n").replace('\r', "\n");
    let kept: String = folded
        .chars()
        .filter_map(|character| match character {
            '\n' if multiline => Some(character),
            '\n' | '\t' => Some(' '),
            _ if character.is_control() || is_bidi_control(character) => None,
            _ => Some(character),
        })
        .collect();
    kept.trim_matches(is_blank).nfc().collect()
}

/// White space and the invisible blanks a sealed text may not begin or end with (PROTOCOL §7).
fn is_blank(character: char) -> bool {
    character.is_whitespace() || matches!(character, '\u{180e}' | '\u{200b}' | '\u{2060}' | '\u{feff}')
}

fn is_bidi_control(character: char) -> bool {
    matches!(character, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn field(name: &'static str, text: &str, multiline: bool, required: bool, max: usize) -> Result<String, ReportError> {
    let text = normalise_report_text(text, multiline);
    if required && text.is_empty() {
        return Err(ReportError::Field { field: name, problem: FieldProblem::Required });
    }
    let chars = text.chars().count();
    if chars > max {
        return Err(ReportError::Field { field: name, problem: FieldProblem::TooLong { chars, max } });
    }
    Ok(text)
}

impl ReportForm {
    /// Checks and normalises the form into the report that is sealed, received on `today`.
    pub fn into_report(self, received: Timestamp) -> Result<Report, ReportError> {
        Ok(Report {
            who: field("who", &self.who, false, true, REPORT_WHO_CHARS_MAX)?,
            place: field("place", &self.place, false, true, REPORT_PLACE_CHARS_MAX)?,
            what: field("what", &self.what, true, true, REPORT_WHAT_CHARS_MAX)?,
            contact: field("contact", &self.contact, false, false, REPORT_CONTACT_CHARS_MAX)?,
            consent: self.consent,
            received: received.date().to_string(),
        })
    }
}

/// The start of the current UTC day: all a report keeps of when it came.
fn today() -> Result<Timestamp, ReportError> {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX));
    Timestamp::from_unix_seconds(seconds - seconds.rem_euclid(SECONDS_PER_DAY))
        .ok_or_else(|| NodeError::Inconsistent("the system clock is outside the protocol's range".to_owned()).into())
}

fn new_report_id(received: Timestamp) -> Result<String, ReportError> {
    let mut random = [0u8; REPORT_ID_RANDOM_BYTES];
    getrandom::fill(&mut random)
        .map_err(|error| NodeError::Seal(coalition_core::seal::SealError::Random(error.to_string())))?;
    let day = received.unix_seconds().div_euclid(SECONDS_PER_DAY);
    let random: String = random.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!("{REPORT_ID_PREFIX}{day:05x}-{random}"))
}

/// The received day encoded in an inbox id, or "" for an id of another shape.
fn received_of(id: &str) -> String {
    id.strip_prefix(REPORT_ID_PREFIX)
        .and_then(|rest| rest.split('-').next())
        .and_then(|day| i64::from_str_radix(day, 16).ok())
        .and_then(|day| day.checked_mul(SECONDS_PER_DAY))
        .and_then(Timestamp::from_unix_seconds)
        .map(|time| time.date().to_string())
        .unwrap_or_default()
}

fn is_report_id(id: &str) -> bool {
    id.starts_with(REPORT_ID_PREFIX)
        && id.len() <= 64
        && id.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

impl Report {
    /// The sealed record this report becomes when it opens `case`: kind `case.opened`, with
    /// the fields of [`REPORT_RECORD_FIELDS`] (the contact only when given).
    pub fn case_record(&self, report_id: &str, case: EventId) -> SealedRecord {
        let consent = if self.consent { "yes" } else { "no" };
        let fields = [
            ("report_id", report_id),
            ("received", self.received.as_str()),
            ("who", self.who.as_str()),
            ("where", self.place.as_str()),
            ("what", self.what.as_str()),
            ("reporter_contact", self.contact.as_str()),
            ("reporter_consent", consent),
        ];
        let fields: BTreeMap<String, SealedValue> = fields
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name.to_owned(), SealedValue::Text(value.to_owned())))
            .collect();
        SealedRecord { case: Some(case), fields, kind: EventKind::CaseOpened }
    }

    /// Checks that this report, received as `report_id`, can be sealed into a case: the record's
    /// text rules and [`REPORT_RECORD_BYTES_MAX`].
    fn check_sealable(&self, report_id: &str) -> Result<(), ReportError> {
        // Every case id has the same length, so any one measures the record.
        let record = self.case_record(report_id, EventId::from_bytes([0; 32]));
        let invalid = |error: coalition_core::seal::SealError| ReportError::Malformed(error.to_string());
        record.validate().map_err(invalid)?;
        let bytes = record.to_canonical_json().map_err(invalid)?.len();
        if bytes > REPORT_RECORD_BYTES_MAX {
            return Err(ReportError::TooLarge { bytes, max: REPORT_RECORD_BYTES_MAX });
        }
        Ok(())
    }
}

impl Node {
    /// Why this node would refuse a report, or `None` when it takes them: a node holding no
    /// signing key (a read-only mirror) or whose members publish no recipient takes none, so the
    /// clear text is never kept anywhere.
    pub fn report_refusal(&self) -> Option<&'static str> {
        if self.org().is_none() {
            return Some("this is a read-only mirror; send reports to a member organisation's node");
        }
        match self.sealing_recipients() {
            Ok(recipients) if !recipients.is_empty() => None,
            _ => Some("no member organisation has published an encryption key yet"),
        }
    }

    /// How full the inbox is. Counts ids page by page, up to [`REPORT_INBOX_ENTRIES_MAX`] (a
    /// few milliseconds at the cap; reports are rate-limited well below that cost).
    pub fn inbox_fill(&self) -> Result<InboxFill, NodeError> {
        let mut entries = 0;
        let mut cursor: Option<String> = None;
        while entries < REPORT_INBOX_ENTRIES_MAX {
            let ids = self.inner.store.private_ids(PrivateSpace::Reports, cursor.as_deref(), PRIVATE_PAGE_MAX)?;
            let Some(last) = ids.last().cloned() else { break };
            entries += ids.iter().filter(|id| is_report_id(id)).count();
            cursor = Some(last);
        }
        let entries = entries.min(REPORT_INBOX_ENTRIES_MAX);
        Ok(InboxFill { entries, entries_max: REPORT_INBOX_ENTRIES_MAX, full: entries >= REPORT_INBOX_ENTRIES_MAX })
    }

    /// Checks `form`, seals the report to every current member's recipient and keeps the
    /// ciphertext in the inbox. Returns the new report's id. The clear text is dropped here.
    /// Refused with [`ReportError::InboxFull`] when the inbox holds
    /// [`REPORT_INBOX_ENTRIES_MAX`] entries (logged as a warning with the count only).
    pub fn submit_report(&self, form: ReportForm) -> Result<String, ReportError> {
        if let Some(reason) = self.report_refusal() {
            return Err(ReportError::NotAccepted(reason));
        }
        let received = today()?;
        let report = form.into_report(received)?;
        let id = new_report_id(received)?;
        report.check_sealable(&id)?;
        let fill = self.inbox_fill()?;
        if fill.full {
            tracing::warn!(entries = fill.entries, "the report inbox is full: a report was refused");
            return Err(ReportError::InboxFull { entries: fill.entries });
        }
        let clear = serde_json::to_vec(&report).map_err(|error| ReportError::Malformed(error.to_string()))?;
        let sealed = self.seal_to_members(&clear)?;
        // Queued for replication: every member's inbox holds it (PROTOCOL §14.7).
        self.keep_private(PrivateSpace::Reports, &id, &sealed)?;
        tracing::info!(report = %id, sealed_bytes = sealed.len(), "a report was sealed into the inbox");
        Ok(id)
    }

    /// Up to `limit` (at most [`REPORTS_PAGE_MAX`]) inbox entries after `after`, oldest first.
    pub fn report_entries(&self, after: Option<&str>, limit: usize) -> Result<Vec<ReportEntry>, NodeError> {
        let limit = limit.clamp(1, REPORTS_PAGE_MAX);
        let mut entries = Vec::new();
        let mut cursor = after.map(str::to_owned);
        // Records of other shapes (the `a-…` records of earlier versions) may share the space;
        // skip them, page by page.
        while entries.len() < limit {
            let ids = self.inner.store.private_ids(PrivateSpace::Reports, cursor.as_deref(), limit)?;
            let Some(last) = ids.last().cloned() else { break };
            for id in ids {
                if entries.len() < limit
                    && is_report_id(&id)
                    && let Some(bytes) = self.inner.store.get_private(PrivateSpace::Reports, &id)?
                {
                    entries.push(ReportEntry { received: received_of(&id), bytes: bytes.len(), id });
                }
            }
            cursor = Some(last);
        }
        Ok(entries)
    }

    /// The ciphertext of inbox entry `id`.
    pub fn sealed_report(&self, id: &str) -> Result<Option<Vec<u8>>, NodeError> {
        if !is_report_id(id) {
            return Ok(None);
        }
        Ok(self.inner.store.get_private(PrivateSpace::Reports, id)?)
    }

    /// Inbox entry `id`, opened with the node's identity ([`NodeError::NoIdentity`] without one).
    pub fn open_report(&self, id: &str) -> Result<Report, ReportError> {
        let sealed = self.sealed_report(id)?.ok_or_else(|| ReportError::Unknown(id.to_owned()))?;
        let clear = self.open_sealed_to_members(&sealed)?;
        // serde's message may quote a value of the report: only its position is kept, so the
        // error can be logged.
        serde_json::from_slice(&clear).map_err(|error| {
            ReportError::Malformed(format!(
                "the opened report is not a report ({:?} error at line {}, column {})",
                error.classify(),
                error.line(),
                error.column()
            ))
        })
    }

    /// Deletes inbox entry `id` for good. Returns whether it was there.
    pub fn discard_report(&self, id: &str) -> Result<bool, NodeError> {
        if !is_report_id(id) {
            return Ok(false);
        }
        // Queued for replication: discarded on every member's node.
        let deleted = self.delete_private(PrivateSpace::Reports, id)?;
        if deleted {
            tracing::info!(report = %id, "a report was deleted from the inbox");
        }
        Ok(deleted)
    }

    /// Accepts inbox entry `id`: opens a case with the public `facts` (the body of
    /// `case.opened`, through the normal write path), seals the report into the new case as a
    /// sealed record of kind `case.opened` ([`Report::case_record`]), then deletes the inbox
    /// entry. Nothing of the report enters a feed in clear: `facts` that repeat the reporter's
    /// contact are refused. Everything that can be checked is checked before the case is
    /// opened (the identity, the node's recipient in the sealing set, the record's rules); the
    /// report stays in the inbox when anything fails ([`ReportError::NotSealed`] when the case
    /// was opened but sealing failed).
    pub fn accept_report(&self, id: &str, facts: Value) -> Result<AcceptedReport, ReportError> {
        let report = self.open_report(id)?;
        let contact = report.contact.as_str();
        if contact.chars().count() >= CONTACT_MATCHED_CHARS_MIN && facts.to_string().contains(contact) {
            return Err(ReportError::ContactInFacts);
        }
        report.check_sealable(id)?;
        let recipients = self.sealing_recipients()?;
        let own = self.identity().ok_or(NodeError::NoIdentity)?.recipient();
        if !recipients.contains(&own) {
            return Err(ReportError::Submit(SubmitError::CannotSeal(format!(
                "this node's recipient {own} is not in the sealing set: it could not read the case's sealed \
                 records back; publish it with recipient.rotated first"
            ))));
        }
        let case = self.submit(EventKind::CaseOpened, json!({ "facts": facts }))?;
        let record = report.case_record(id, case.id);
        let sealed_fields = record.fields.keys().cloned().collect();
        let sealed = self
            .seal_record(record)
            .map_err(|source| ReportError::NotSealed { case: case.id, source: Box::new(source) })?;
        // Queued for replication: the entry leaves every member's inbox.
        self.delete_private(PrivateSpace::Reports, id)?;
        tracing::info!(report = %id, case = %case.id, sealed = %sealed.id, "a report was accepted into a case");
        Ok(AcceptedReport { case, sealed, sealed_fields })
    }
}
