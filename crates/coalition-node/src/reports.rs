//! The members' inbox of reports from the public form: checking and normalising a report's text,
//! sealing it at once to every current member's recipient, and keeping only the ciphertext as a
//! private record ([`PrivateSpace::Reports`]) — never in a feed, so spam never enters the
//! permanent history, and deleted for good when a member accepts or discards it.
//!
//! What the clear report holds: the reporter's four texts, the consent flag and the day it was
//! received (UTC, truncated to the day). Never the sender's address or user agent: the node is
//! never told them. The clear text exists only in memory; it is never logged (log lines carry
//! the report id and the ciphertext size only).
//!
//! **Control and bidi characters are removed, not refused.** A frightened person pasting from a
//! messenger should not see the form refuse an invisible character. Text is NFC-normalised,
//! `\r\n` and `\r` become `\n`, tabs and newlines stay (in the longer fields), and every other
//! control character (C0, C1) and every bidirectional formatting character (U+061C, U+200E,
//! U+200F, U+202A–U+202E, U+2066–U+2069) is removed; members' tools then never show text that
//! reorders itself. Limits are counted after that, in characters.

use coalition_core::time::Timestamp;
use coalition_store::PrivateSpace;
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
/// Prefix of the record an accepted report leaves behind (`a-` + the report id without `r-`):
/// the report sealed again with the id of the case it opened, until sealed case records hold it.
pub const ACCEPTED_REPORT_ID_PREFIX: &str = "a-";
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

/// Why a report was refused, or the inbox could not do its work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A field is missing, empty or too long (after normalisation).
    #[error("{field}: {reason}")]
    Field {
        /// The form field's name.
        field: &'static str,
        /// Why, in plain words.
        reason: String,
    },
    /// This node takes no reports: a read-only mirror, or no member has an encryption recipient.
    #[error("this node does not accept reports: {0}")]
    NotAccepted(&'static str),
    /// No inbox entry has this id.
    #[error("no report {0} in the inbox")]
    Unknown(String),
    /// Opening the case of an accepted report failed; the report stays in the inbox.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// The store, sealing or the node's identity failed.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// Removes control and bidi formatting characters (keeping `\n` and, if `multiline`, `\t`),
/// folds line ends, trims, and normalises to NFC. See the module documentation.
pub fn normalise_report_text(text: &str, multiline: bool) -> String {
    let folded = text.replace("\r\n", "\n").replace('\r', "\n");
    let kept: String = folded
        .chars()
        .filter_map(|character| match character {
            '\n' | '\t' if multiline => Some(character),
            '\n' | '\t' => Some(' '),
            _ if character.is_control() || is_bidi_control(character) => None,
            _ => Some(character),
        })
        .collect();
    kept.trim().nfc().collect()
}

fn is_bidi_control(character: char) -> bool {
    matches!(character, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn field(name: &'static str, text: &str, multiline: bool, required: bool, max: usize) -> Result<String, ReportError> {
    let text = normalise_report_text(text, multiline);
    if required && text.is_empty() {
        return Err(ReportError::Field { field: name, reason: "this field is required".to_owned() });
    }
    let chars = text.chars().count();
    if chars > max {
        return Err(ReportError::Field { field: name, reason: format!("{chars} characters; at most {max}") });
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

    /// Checks `form`, seals the report to every current member's recipient and keeps the
    /// ciphertext in the inbox. Returns the new report's id. The clear text is dropped here.
    pub fn submit_report(&self, form: ReportForm) -> Result<String, ReportError> {
        if let Some(reason) = self.report_refusal() {
            return Err(ReportError::NotAccepted(reason));
        }
        let received = today()?;
        let report = form.into_report(received)?;
        let clear = serde_json::to_vec(&report).map_err(|error| ReportError::Field {
            field: "report",
            reason: format!("cannot be written as JSON: {error}"),
        })?;
        let sealed = self.seal_to_members(&clear)?;
        let id = new_report_id(received)?;
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
        // Accepted-report records share the space; skip them, page by page.
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
        serde_json::from_slice(&clear).map_err(|error| ReportError::Field {
            field: "report",
            reason: format!("the opened report is not a report: {error}"),
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
    /// `case.opened`, through the normal write path), keeps the report sealed again together
    /// with the new case's id under `a-…` (until sealed case records take it), then deletes the
    /// inbox entry. The report stays in the inbox when anything before the deletion fails.
    pub fn accept_report(&self, id: &str, facts: Value) -> Result<(Submitted, String), ReportError> {
        let report = self.open_report(id)?;
        let submitted = self.submit(coalition_core::body::EventKind::CaseOpened, json!({ "facts": facts }))?;
        let link = serde_json::to_vec(&json!({ "case": submitted.id.to_string(), "report": report }))
            .map_err(|error| NodeError::Inconsistent(format!("the accepted report cannot be written: {error}")))?;
        let sealed = self.seal_to_members(&link)?;
        let kept = format!("{ACCEPTED_REPORT_ID_PREFIX}{}", id.trim_start_matches(REPORT_ID_PREFIX));
        self.keep_private(PrivateSpace::Reports, &kept, &sealed)?;
        self.delete_private(PrivateSpace::Reports, id)?;
        tracing::info!(report = %id, case = %submitted.id, kept = %kept, "a report was accepted and opened a case");
        Ok((submitted, kept))
    }
}
