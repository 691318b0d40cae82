//! The member write path for sensitive data (PROTOCOL §7.1, §14.3): the sensitive fields of a
//! member's request are taken out of the clear body and written as one sealed record right after
//! the clear event, and a sensitive sign is written only sealed. What counts as sensitive is
//! coalition-core's to say (`SENSITIVE_SIGNS`, `SENSITIVE_FIELD_NAMES`,
//! `EXCLUSION_DELIBERATION_FIELD_NAMES`); this module only moves data to where the protocol lets
//! it be, and never falls back to clear when it cannot seal.

use std::collections::BTreeMap;

use coalition_core::body::{EventKind, SENSITIVE_SIGNS};
use coalition_core::event::EventId;
use coalition_core::seal::{SealError, SealedRecord, SealedValue};
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

use crate::{Node, SubmitError, Submitted};

/// The sensitive fields of one request, by name: what goes into its sealed record.
pub type SealedFields = BTreeMap<String, SealedValue>;

/// The field of a sealed `sign.noted` record that names the sign.
pub const SEALED_SIGN_FIELD: &str = "sign";
/// The field of a sealed `sign.noted` record that holds the member's note on the sign.
pub const SEALED_NOTE_FIELD: &str = "note";

/// The request field that carries the free-text deliberation on an exclusion (sealed).
pub const DELIBERATION_FIELD: &str = "deliberation";

/// What a member's write that may carry sensitive data signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealedSubmission {
    /// The clear event, when one was signed (a sensitive sign has none).
    pub clear: Option<Submitted>,
    /// The sealed record written with it, when the request carried sensitive data.
    pub sealed: Option<Submitted>,
}

/// Reads a request's JSON value as a sealed value: a text, or a list of texts. Anything else
/// (a number, an object, `null`, a list holding a non-text) is refused naming the field: the
/// record holds what people typed, never structure a reader would have to guess at.
pub fn sealed_value(name: &str, value: &Value) -> Result<SealedValue, SealError> {
    let refused = || SealError::Invalid {
        what: "sealed field",
        reason: format!(
            "{:?} must be a text or a list of texts (sealed records hold what people typed)",
            name.chars().take(SHOWN_NAME_CHARS_MAX).collect::<String>()
        ),
    };
    match value {
        Value::String(text) => Ok(SealedValue::Text(text.clone())),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(refused))
            .collect::<Result<Vec<_>, _>>()
            .map(SealedValue::List),
        _ => Err(refused()),
    }
}

/// Longest piece of a refused field name quoted back, in characters.
const SHOWN_NAME_CHARS_MAX: usize = 64;

/// Moves every field of `object` whose name is in `names` into `sealed` (a field given twice is
/// refused: one request, one value per field). Values must be texts or lists of texts.
pub fn take_fields(
    object: &mut Map<String, Value>,
    names: &[&str],
    sealed: &mut SealedFields,
) -> Result<(), SealError> {
    let taken: Vec<String> = object.keys().filter(|name| names.contains(&name.as_str())).cloned().collect();
    for name in taken {
        let Some(value) = object.remove(&name) else { continue };
        add_field(sealed, &name, &value)?;
    }
    Ok(())
}

/// Adds one field to `sealed`, refusing a second value for the same name.
pub fn add_field(sealed: &mut SealedFields, name: &str, value: &Value) -> Result<(), SealError> {
    let value = sealed_value(name, value)?;
    if sealed.insert(name.to_owned(), value).is_some() {
        return Err(SealError::Invalid {
            what: "sealed field",
            reason: format!("{name:?} is given twice; give each sealed field once"),
        });
    }
    Ok(())
}

/// Whether `sign` names a sign that may only be recorded sealed.
pub fn is_sensitive_sign(sign: &Value) -> bool {
    sign.as_str().is_some_and(|sign| SENSITIVE_SIGNS.contains(&sign))
}

/// Texts typed by people enter in NFC, sealed or not.
fn normalized(fields: SealedFields) -> SealedFields {
    let text = |text: String| -> String { text.nfc().collect() };
    fields
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                SealedValue::Text(one) => SealedValue::Text(text(one)),
                SealedValue::List(items) => SealedValue::List(items.into_iter().map(text).collect()),
            };
            (name, value)
        })
        .collect()
}

/// The case a clear body names, if any.
fn case_of(body: &Value) -> Option<EventId> {
    body.get("case").and_then(Value::as_str).and_then(|text| EventId::parse(text).ok())
}

impl Node {
    /// Signs the clear event `kind` with `body` and, when `sealed_fields` is not empty, one
    /// sealed record `{kind, case, fields}` right after it (for `case.opened` the case is the new
    /// event). Everything that can be checked before signing is (the node can seal, the record
    /// is valid), so a request is refused whole; nothing sensitive is ever signed in clear. If the
    /// sealed record still fails after the clear event is durable (a store failure), the error
    /// says the clear event exists and how to seal the fields again.
    pub fn submit_with_sealed(
        &self,
        kind: EventKind,
        body: Value,
        sealed_fields: SealedFields,
    ) -> Result<SealedSubmission, SubmitError> {
        if sealed_fields.is_empty() {
            let clear = self.submit(kind, body)?;
            return Ok(SealedSubmission { clear: Some(clear), sealed: None });
        }
        let changes_nothing_in_clear = body.get("facts").is_none() && body.get("clear").is_none();
        if kind == EventKind::CaseUpdated && changes_nothing_in_clear {
            // Only sensitive data to record: a clear `case.updated` without a change is refused,
            // and none is needed.
            let case = case_of(&body).ok_or_else(|| {
                SubmitError::Schema(coalition_core::body::BodyError::Shape {
                    path: "case".into(),
                    message: "must be a case id".into(),
                })
            })?;
            let sealed = self.seal_fields(case, kind, sealed_fields)?;
            return Ok(SealedSubmission { clear: None, sealed: Some(sealed) });
        }
        self.check_can_seal()?;
        let mut record = SealedRecord { case: case_of(&body), fields: normalized(sealed_fields), kind };
        record.validate()?;
        let clear = self.submit(kind, body)?;
        if kind == EventKind::CaseOpened {
            record.case = Some(clear.id);
        }
        let sealed = self.seal_record(record).map_err(|error| {
            let case = if kind == EventKind::CaseOpened { Some(clear.id) } else { None };
            SubmitError::CannotSeal(format!(
                "the clear event {} was signed, but its sealed record could not be: {error}. Send the sensitive \
                 fields again as a sealed record of case {}",
                clear.id,
                case.map_or_else(|| "(the case)".to_owned(), |case| case.to_string())
            ))
        })?;
        Ok(SealedSubmission { clear: Some(clear), sealed: Some(sealed) })
    }

    /// Seals `fields` (texts typed by people, NFC-normalised here) as a record of `kind` about
    /// `case`, with nothing in clear: [`Node::seal_record`] for a member's request.
    pub fn seal_fields(&self, case: EventId, kind: EventKind, fields: SealedFields) -> Result<Submitted, SubmitError> {
        self.seal_record(SealedRecord { case: Some(case), fields: normalized(fields), kind })
    }

    /// Notes `sign` on `case` for this organisation. A sensitive sign is written only as a sealed
    /// `sign.noted` record `{sign, note?}` (no clear event); a public sign is a clear `sign.noted`,
    /// followed by a sealed record `{sign, note}` when a note is given (a note may name sources).
    pub fn note_sign(&self, case: EventId, sign: Value, note: Option<Value>) -> Result<SealedSubmission, SubmitError> {
        let mut fields = SealedFields::new();
        if let Some(note) = &note {
            add_field(&mut fields, SEALED_NOTE_FIELD, note)?;
        }
        if is_sensitive_sign(&sign) {
            add_field(&mut fields, SEALED_SIGN_FIELD, &sign)?;
            let sealed = self.seal_fields(case, EventKind::SignNoted, fields)?;
            return Ok(SealedSubmission { clear: None, sealed: Some(sealed) });
        }
        if !fields.is_empty() {
            add_field(&mut fields, SEALED_SIGN_FIELD, &sign)?;
        }
        let body = serde_json::json!({ "case": case, "sign": sign });
        self.submit_with_sealed(EventKind::SignNoted, body, fields)
    }
}
