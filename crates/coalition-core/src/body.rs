//! The body of every event kind: its typed form, its validation, and its one JSON spelling.
//!
//! An event's `kind` names the shape of its `body`. [`parse_body`] reads a body in two steps:
//!
//! 1. **Shape.** The JSON is deserialised into the kind's struct. Every struct refuses unknown
//!    fields (a field a reader ignored would be signed yet have no effect, and could smuggle
//!    data past review), optional fields must be absent rather than `null` (one meaning, one
//!    spelling), and the error names the JSON path of the bad field.
//! 2. **Rules.** Lengths, ranges, order of sets and cross-field rules are checked by
//!    [`Body::validate`], which callers also use before signing a body they built themselves.
//!
//! Lists whose order means nothing (`citizenship`, `clear`, `frontier`) must be sorted and free
//! of duplicates, so that an event has one byte form and two members writing the same facts
//! write the same bytes.
//!
//! **Sensitive data.** Everything in a feed is readable by every auditor. Signs that could put a
//! person in danger (past service in security bodies, defence formations, cooperation with
//! special services), health details, contacts, and deliberation on exclusions may only be
//! recorded in a sealed record. This module refuses them in clear with
//! [`BodyError::Sensitive`], so a client can tell people where such data belongs instead of
//! reporting a mere typo.
//!
//! **Text.** Text is checked, never rewritten: verification works on the exact bytes, and
//! Unicode normalisation (NFC) is done where people type, not here. Every text field is
//! non-empty, has no blank character at either end, holds no control character (only long
//! free-text fields may hold line feeds) and no bidirectional override or isolate (they can
//! make signed text display as something else), and is bounded in Unicode scalar values. JSON
//! Schema's `maxLength` counts the same units, so `schemas/` states the same limits.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, DeserializeOwned};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::edition::NoteSignatureField;
use crate::event::{EventId, IdError, OrgSlug};
use crate::keys::KEY_NAME_BYTES_MAX;
use crate::limits::{JSON_INTEGER_MAX, MEMBERS_MAX};
use crate::time::Date;

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

/// Largest body JSON accepted by [`parse_body`], in bytes. The largest body the field limits
/// allow (every text at its limit in four-byte characters) stays below it, and it leaves room in
/// [`crate::limits::EVENT_NOTE_BYTES_MAX`] for the envelope, its `deps` and a signature line.
pub const BODY_JSON_BYTES_MAX: usize = 56 * 1024;
/// Longest personal name (`name_uk`, `name_en`, `name_ru`) or organisation display name, in
/// Unicode scalar values.
pub const NAME_CHARS_MAX: usize = 200;
/// Longest place (`detention_place`, `place_of_detention`), in Unicode scalar values.
pub const PLACE_CHARS_MAX: usize = 300;
/// Longest postal address of a detention facility, in Unicode scalar values.
pub const POSTAL_ADDRESS_CHARS_MAX: usize = 300;
/// Longest name of a group of related cases (`case_group`), in Unicode scalar values.
pub const CASE_GROUP_CHARS_MAX: usize = 200;
/// Longest note on one charge, in Unicode scalar values.
pub const CHARGE_NOTE_CHARS_MAX: usize = 120;
/// Longest sentence as worded by the court (`text_uk`, `text_en`), in Unicode scalar values.
pub const SENTENCE_TEXT_CHARS_MAX: usize = 300;
/// Longest case summary (`summary_uk`, `summary_en`), in Unicode scalar values.
pub const SUMMARY_CHARS_MAX: usize = 4000;
/// Longest reasoning for a PACE criterion (`reasoning_uk`, `reasoning_en`), in Unicode scalar
/// values.
pub const REASONING_CHARS_MAX: usize = 4000;
/// Longest verifier key text (`vkey`), in Unicode scalar values: the longest key name, `+`, the
/// eight hex digits of the key id, `+`, and the base64 of the type byte and a 32-byte Ed25519 key.
/// The key itself is checked by the verifier against the ledger's key rules, not here.
pub const VKEY_CHARS_MAX: usize = KEY_NAME_BYTES_MAX + 1 + 8 + 1 + 44;
/// Most charges on one case.
pub const CHARGES_MAX: usize = 20;
/// Most citizenships of one person.
pub const CITIZENSHIPS_MAX: usize = 4;
/// Most entries in an edition's frontier: one per member feed.
pub const FRONTIER_ENTRIES_MAX: usize = MEMBERS_MAX;
/// Earliest accepted birth year.
pub const BIRTH_YEAR_MIN: u16 = 1900;
/// Latest accepted birth year.
pub const BIRTH_YEAR_MAX: u16 = 2100;
/// Most whole years in a sentence term.
pub const SENTENCE_YEARS_MAX: u8 = 99;
/// Most months in a sentence term beyond its whole years.
pub const SENTENCE_MONTHS_MAX: u8 = 11;
/// Largest quorum a policy may name: a quorum can never exceed the member count.
pub const QUORUM_MAX: u32 = MEMBERS_MAX as u32;
/// Most dot-separated numbers in a charge's article (`20.3.3` has three).
pub const ARTICLE_LEVELS_MAX: usize = 3;
/// Most digits in an article's first number (`205` in `205.5`).
pub const ARTICLE_NUMBER_DIGITS_MAX: usize = 4;
/// Most digits in each later number of an article (`5` in `205.5`).
pub const ARTICLE_SUBNUMBER_DIGITS_MAX: usize = 3;
/// Most digits in the part of an article (`part: "2"`).
pub const ARTICLE_PART_DIGITS_MAX: usize = 2;

/// Signs that may only be recorded in a sealed record: naming them in clear could endanger the
/// person. `sign.noted` refuses them with [`BodyError::Sensitive`].
pub const SENSITIVE_SIGNS: [&str; 3] = ["security_service_past", "defence_formations", "special_services_cooperation"];

/// Field names refused as sensitive wherever they appear in a body: health details, identities and
/// contacts of reporters, relatives and lawyers, sources, and the sensitive signs. Unknown fields are refused anyway; naming
/// these lets the error say that the data belongs in a sealed record.
pub const SENSITIVE_FIELD_NAMES: [&str; 26] = [
    "contact",
    "contacts",
    "defence_formations",
    "diagnosis",
    "email",
    "exclusion_reasoning",
    "health",
    "health_details",
    "lawyer",
    "lawyer_contact",
    "lawyer_contacts",
    "medical",
    "phone",
    "relatives",
    "relatives_contact",
    "relatives_contacts",
    "reporter",
    "reporter_contact",
    "reporter_contacts",
    "reporter_email",
    "reporter_name",
    "reporter_phone",
    "security_service_past",
    "source",
    "sources",
    "special_services_cooperation",
];

/// Field names refused as sensitive in `exclusion.raised` and `exclusion.withdrawn`: these
/// bodies carry no free text, because deliberation on an exclusion is sensitive.
pub const EXCLUSION_DELIBERATION_FIELD_NAMES: [&str; 13] = [
    "comment",
    "details",
    "evidence",
    "note",
    "notes",
    "reason",
    "reasoning",
    "reasoning_en",
    "reasoning_uk",
    "reasons",
    "summary",
    "summary_en",
    "summary_uk",
];

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a body was refused. Every variant names the JSON path of the offending value, like
/// `facts.charges[0].article`; the empty path means the body as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The JSON does not have the body's shape: a syntax error, a wrong type, an unknown field
    /// or value, a missing field, or `null` where a field should be absent.
    #[error("{}: {message}", located(.path))]
    Shape {
        /// Where, as a JSON path.
        path: String,
        /// What is wrong, in plain words.
        message: String,
    },
    /// The shape is right but a value breaks a rule: a length, a range, an order, or a rule
    /// between fields.
    #[error("{}: {message}", located(.path))]
    Invalid {
        /// Where, as a JSON path.
        path: String,
        /// What is wrong, in plain words.
        message: String,
    },
    /// Sensitive data in clear. It may only be recorded in a sealed record (encrypted to the
    /// members), never in a feed every auditor reads.
    #[error("{}: {message}", located(.path))]
    Sensitive {
        /// Where, as a JSON path.
        path: String,
        /// What is sensitive and where it belongs, in plain words.
        message: String,
    },
}

fn located(path: &str) -> String {
    if path.is_empty() { "body".to_owned() } else { format!("body.{path}") }
}

impl BodyError {
    /// The JSON path of the offending value (empty for the body as a whole).
    pub fn path(&self) -> &str {
        match self {
            Self::Shape { path, .. } | Self::Invalid { path, .. } | Self::Sensitive { path, .. } => path,
        }
    }

    /// What is wrong, in plain words, without the path.
    pub fn message(&self) -> &str {
        match self {
            Self::Shape { message, .. } | Self::Invalid { message, .. } | Self::Sensitive { message, .. } => message,
        }
    }

    /// Whether the body was refused because it carries sensitive data in clear.
    pub fn is_sensitive(&self) -> bool {
        matches!(self, Self::Sensitive { .. })
    }

    fn invalid(path: String, message: impl Into<String>) -> Self {
        Self::Invalid { path, message: message.into() }
    }
}

/// A name that is not one of a closed set of values (an event kind, a region, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {found:?}")]
pub struct UnknownName {
    /// What kind of name was expected, like `event kind`.
    pub what: &'static str,
    /// The text found (cut to a short prefix).
    pub found: String,
}

/// Why a policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A quorum of zero would let a change pass with nobody's approval.
    #[error("{quorum} must be at least 1")]
    Zero {
        /// The field name of the quorum, like `listing_quorum`.
        quorum: &'static str,
    },
    /// A quorum larger than the member count could never be reached.
    #[error("{quorum} is {value} but the coalition has only {member_count} members")]
    AboveMembers {
        /// The field name of the quorum, like `listing_quorum`.
        quorum: &'static str,
        /// The quorum asked for.
        value: u32,
        /// How many members there are.
        member_count: usize,
    },
}

impl PolicyError {
    /// The field name of the quorum at fault.
    pub fn quorum(&self) -> &'static str {
        match self {
            Self::Zero { quorum } | Self::AboveMembers { quorum, .. } => quorum,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Closed sets of names
// ---------------------------------------------------------------------------------------------

macro_rules! one {
    ($anything:tt) => {
        1
    };
}

/// Declares a closed set of names with its JSON spelling, `ALL`, `as_str`, `parse`, `FromStr`,
/// `Display`, and serde as the string.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [Self; 0 $(+ one!($variant))+] = [$(Self::$variant,)+];

            /// The JSON spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// The value spelled `text`, if there is one.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(text: &str) -> Result<Self, UnknownName> {
                Self::parse(text).ok_or_else(|| UnknownName { what: $what, found: text.chars().take(40).collect() })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&text).ok_or_else(|| unknown_value($what, &text, &Self::ALL.map(Self::as_str)))
            }
        }
    };
}

fn unknown_value<E: de::Error>(what: &str, found: &str, expected: &[&str]) -> E {
    let found: String = found.chars().take(40).collect();
    E::custom(format_args!("unknown {what} {found:?}; expected one of: {}", expected.join(", ")))
}

// ---------------------------------------------------------------------------------------------
// Event kinds and the Body enum
// ---------------------------------------------------------------------------------------------

/// Declares the event kinds once: `EventKind`, the `Body` enum with one variant per kind, and
/// the dispatch from kind to body struct, so a kind cannot exist without its body.
macro_rules! event_kinds {
    ($($(#[$meta:meta])* $variant:ident = $text:literal,)+) => {
        text_enum! {
            /// The kind of an event: names the shape of its body.
            EventKind, "event kind" {
                $($(#[$meta])* $variant = $text,)+
            }
        }

        /// The typed body of an event, one variant per [`EventKind`]. Serialises as the body
        /// object alone; the kind is written beside it in the envelope.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[serde(untagged)]
        pub enum Body {
            $(
                #[doc = concat!("The body of `", $text, "`.")]
                $variant($variant),
            )+
        }

        impl Body {
            /// The kind of event this body belongs to.
            pub fn kind(&self) -> EventKind {
                match self {
                    $(Self::$variant(_) => EventKind::$variant,)+
                }
            }

            /// Checks every rule that the JSON shape does not: lengths, ranges, order and rules
            /// between fields. [`parse_body`] runs it; run it before signing a body built in code.
            pub fn validate(&self) -> Result<(), BodyError> {
                match self {
                    $(Self::$variant(body) => body.validate(),)+
                }
            }
        }

        $(
            impl From<$variant> for Body {
                fn from(body: $variant) -> Self {
                    Self::$variant(body)
                }
            }
        )+

        fn decode_body(kind: EventKind, json: &str) -> Result<Body, BodyError> {
            match kind {
                $(EventKind::$variant => decode::<$variant>(kind, json).map(Body::$variant),)+
            }
        }
    };
}

event_kinds! {
    /// A member opens a case; the event's id is the case id.
    CaseOpened = "case.opened",
    /// A member sets or clears public facts of a case.
    CaseUpdated = "case.updated",
    /// A member asserts that a PACE criterion holds for a case.
    CriterionAsserted = "criterion.asserted",
    /// A member withdraws its assertion of a PACE criterion.
    CriterionWithdrawn = "criterion.withdrawn",
    /// A member notes a public sign of political persecution on a case.
    SignNoted = "sign.noted",
    /// A member raises a ground for excluding a case from the list.
    ExclusionRaised = "exclusion.raised",
    /// A member withdraws the exclusion it raised.
    ExclusionWithdrawn = "exclusion.withdrawn",
    /// A member endorses listing the person of a case.
    PersonAdded = "person.added",
    /// A member withdraws its endorsement of listing.
    PersonRemoved = "person.removed",
    /// A member records that the person was released.
    PersonReleased = "person.released",
    /// A member records that the person was detained again after a release.
    PersonDetained = "person.detained",
    /// A member records that the person died in custody.
    PersonDied = "person.died",
    /// A member proposes admitting a new member.
    MemberProposed = "member.proposed",
    /// A member approves a membership proposal (admission or removal).
    MemberApproved = "member.approved",
    /// A member proposes removing a member.
    MemberRemovalProposed = "member.removal_proposed",
    /// A member proposes a new policy.
    PolicyProposed = "policy.proposed",
    /// A member approves a policy proposal.
    PolicyApproved = "policy.approved",
    /// A member replaces its own signing key (signed with the current key).
    KeyRotated = "key.rotated",
    /// A member proposes a monthly edition of the list.
    EditionProposed = "edition.proposed",
    /// A member cosigns a proposed edition.
    EditionCosigned = "edition.cosigned",
    /// A member publishes a sealed record: ciphertext only members can open.
    Sealed = "sealed",
    /// A member records that data keys were destroyed: their sealed records can no longer be read.
    SealedShredded = "sealed.shredded",
    /// A member replaces its own encryption recipient.
    RecipientRotated = "recipient.rotated",
}

impl Body {
    /// The case this event is about, if any. `case.opened` has none: its own event id is the
    /// case id.
    pub fn case(&self) -> Option<EventId> {
        match self {
            Self::CaseUpdated(CaseUpdated { case, .. })
            | Self::CriterionAsserted(CriterionAsserted { case, .. })
            | Self::CriterionWithdrawn(CriterionWithdrawn { case, .. })
            | Self::SignNoted(SignNoted { case, .. })
            | Self::ExclusionRaised(ExclusionRaised { case, .. })
            | Self::ExclusionWithdrawn(ExclusionWithdrawn { case })
            | Self::PersonAdded(PersonAdded { case })
            | Self::PersonRemoved(PersonRemoved { case })
            | Self::PersonReleased(PersonReleased { case, .. })
            | Self::PersonDetained(PersonDetained { case, .. })
            | Self::PersonDied(PersonDied { case, .. }) => Some(*case),
            Self::CaseOpened(_)
            | Self::MemberProposed(_)
            | Self::MemberApproved(_)
            | Self::MemberRemovalProposed(_)
            | Self::PolicyProposed(_)
            | Self::PolicyApproved(_)
            | Self::KeyRotated(_)
            | Self::EditionProposed(_)
            | Self::EditionCosigned(_)
            | Self::Sealed(_)
            | Self::SealedShredded(_)
            | Self::RecipientRotated(_) => None,
        }
    }

    /// Every event id this body names (a case, a proposal, an edition, or the heads of an
    /// edition's frontier): each must be in the event's causal past.
    pub fn referenced_events(&self) -> Vec<EventId> {
        match self {
            Self::MemberApproved(MemberApproved { proposal }) | Self::PolicyApproved(PolicyApproved { proposal }) => {
                vec![*proposal]
            }
            Self::EditionCosigned(EditionCosigned { edition, .. }) => vec![*edition],
            Self::EditionProposed(EditionProposed { frontier, .. }) => frontier.iter().map(|head| head.id).collect(),
            other => other.case().into_iter().collect(),
        }
    }
}

/// Reads the body of an event of `kind` from its JSON text: refuses unknown fields, wrong
/// types and `null`s with the JSON path of the bad value, refuses sensitive data in clear with
/// [`BodyError::Sensitive`], then checks every rule of [`Body::validate`].
pub fn parse_body(kind: EventKind, json: &str) -> Result<Body, BodyError> {
    if json.len() > BODY_JSON_BYTES_MAX {
        return Err(BodyError::invalid(
            String::new(),
            format!("the body is {} bytes; at most {BODY_JSON_BYTES_MAX} are allowed", json.len()),
        ));
    }
    let body = decode_body(kind, json)?;
    body.validate()?;
    Ok(body)
}

fn decode<T: DeserializeOwned + Serialize>(kind: EventKind, json: &str) -> Result<T, BodyError> {
    // Fast path without path tracking; only a refused body pays for finding the field path.
    let decoded = serde_json::from_str::<T>(json).map_err(|plain| {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
            Err(error) => (error.path().to_string(), error.into_inner()),
            Ok(_) => (String::new(), plain),
        }
    });
    let body = decoded.map_err(|(path, error)| {
        // Sensitive data never fits the typed shape, so it surfaces here as an unknown field or
        // value; look again to tell people it belongs in a sealed record.
        find_sensitive(kind, json).unwrap_or_else(|| BodyError::Shape {
            path: if path == "." { String::new() } else { path },
            message: plain_serde_message(&error),
        })
    })?;
    // Fast path: a canonical body whose struct fields are declared in canonical (sorted) order is
    // exactly what serde writes back; only other inputs pay for the structural comparison.
    if writes_exactly(&body, json) {
        return Ok(body);
    }
    check_one_form(json, &body)?;
    Ok(body)
}

/// Whether serde writes `body` as exactly `json`, compared as it is written: millions of events
/// are read per audit, and this spares a string per event.
fn writes_exactly<T: Serialize>(body: &T, json: &str) -> bool {
    let mut comparer = SameBytes { expected: json.as_bytes() };
    serde_json::to_writer(&mut comparer, body).is_ok() && comparer.expected.is_empty()
}

/// A writer that accepts only the bytes it expects, in order (and fails at the first other byte).
struct SameBytes<'a> {
    /// What is still to come.
    expected: &'a [u8],
}

impl std::io::Write for SameBytes<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self.expected.strip_prefix(bytes) {
            Some(rest) => {
                self.expected = rest;
                Ok(bytes.len())
            }
            None => Err(std::io::Error::other("not the bytes expected")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Accepts a body only if it is exactly what its typed value writes (up to whitespace and key
/// order, which canonical JSON fixes). serde's derived structs also read a JSON array as the
/// fields in order; this refuses that and any other second spelling.
fn check_one_form<T: Serialize>(json: &str, body: &T) -> Result<(), BodyError> {
    let shape_error = |message: String| BodyError::Shape { path: String::new(), message };
    let read: serde_json::Value = serde_json::from_str(json).map_err(|error| shape_error(error.to_string()))?;
    let written = serde_json::to_value(body).map_err(|error| shape_error(error.to_string()))?;
    match first_difference(&read, &written, String::new()) {
        Some((path, message)) => Err(BodyError::Shape { path, message }),
        None => Ok(()),
    }
}

fn first_difference(read: &serde_json::Value, written: &serde_json::Value, path: String) -> Option<(String, String)> {
    use serde_json::Value;
    match (read, written) {
        (Value::Object(read), Value::Object(written)) => {
            let extra = read.keys().find(|name| !written.contains_key(*name));
            let missing = written.keys().find(|name| !read.contains_key(*name));
            if let Some(name) = extra.or(missing) {
                return Some((field_path(&path, name), "is not written the one way this body allows".to_owned()));
            }
            read.iter().find_map(|(name, inner)| first_difference(inner, &written[name], field_path(&path, name)))
        }
        (Value::Array(read), Value::Array(written)) if read.len() == written.len() => read
            .iter()
            .zip(written)
            .enumerate()
            .find_map(|(index, (read, written))| first_difference(read, written, format!("{path}[{index}]"))),
        _ if read == written => None,
        _ => {
            let expected = match written {
                Value::Object(_) => "a JSON object",
                Value::Array(_) => "a JSON array",
                Value::String(_) => "a string",
                Value::Number(_) => "a whole number",
                Value::Bool(_) => "true or false",
                Value::Null => "absent",
            };
            Some((path, format!("must be written as {expected}, as this body allows only one spelling")))
        }
    }
}

/// serde_json's message without its " at line L column C" suffix when the path already says
/// where; kept for syntax errors, where the position is all there is.
fn plain_serde_message(error: &serde_json::Error) -> String {
    let message = error.to_string();
    if error.is_data() {
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        if let Some(stripped) = message.strip_suffix(&suffix) {
            return stripped.to_owned();
        }
    }
    message
}

fn find_sensitive(kind: EventKind, json: &str) -> Option<BodyError> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let object = value.as_object()?;
    if kind == EventKind::SignNoted
        && let Some(sign) = object.get("sign").and_then(serde_json::Value::as_str)
        && SENSITIVE_SIGNS.contains(&sign)
    {
        return Some(BodyError::Sensitive {
            path: "sign".to_owned(),
            message: format!(
                "the sign {sign:?} is sensitive: it may only be recorded in a sealed record, never in clear in a feed"
            ),
        });
    }
    if matches!(kind, EventKind::ExclusionRaised | EventKind::ExclusionWithdrawn)
        && let Some(name) = object.keys().find(|name| EXCLUSION_DELIBERATION_FIELD_NAMES.contains(&name.as_str()))
    {
        return Some(BodyError::Sensitive {
            path: name.clone(),
            message: "deliberation on an exclusion is sensitive and may only be recorded in a sealed record; \
                      an exclusion body carries only the case and the ground"
                .to_owned(),
        });
    }
    find_sensitive_field(&value, String::new())
}

fn find_sensitive_field(value: &serde_json::Value, path: String) -> Option<BodyError> {
    match value {
        serde_json::Value::Object(object) => object.iter().find_map(|(name, inner)| {
            let inner_path = field_path(&path, name);
            if SENSITIVE_FIELD_NAMES.contains(&name.as_str()) {
                Some(BodyError::Sensitive {
                    path: inner_path,
                    message: format!(
                        "the field {name:?} would carry sensitive data (health, contacts, security ties or \
                         deliberation); it may only be recorded in a sealed record, never in clear in a feed"
                    ),
                })
            } else {
                find_sensitive_field(inner, inner_path)
            }
        }),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(index, inner)| find_sensitive_field(inner, format!("{path}[{index}]")))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Rule helpers
// ---------------------------------------------------------------------------------------------

fn field_path(parent: &str, field: &str) -> String {
    if parent.is_empty() { field.to_owned() } else { format!("{parent}.{field}") }
}

/// Whether line feeds are allowed inside a text: only in long free text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lines {
    Single,
    Multiple,
}

/// Characters that may not open or close a text: Unicode White_Space plus the invisible
/// U+180E, U+200B, U+2060 and U+FEFF. Listed here rather than taken from `char::is_whitespace`
/// so the rule does not move with the compiler's Unicode version; `schemas/events/defs.json`
/// lists the same characters.
fn is_blank(character: char) -> bool {
    matches!(
        character,
        '\u{9}'..='\u{d}'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{180e}'
            | '\u{2000}'..='\u{200b}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{2060}'
            | '\u{3000}'
            | '\u{feff}'
    )
}

/// Control characters (C0, DEL, C1) and the bidirectional embedding, override and isolate
/// controls, which can make signed text display as something it is not.
fn is_forbidden(character: char, lines: Lines) -> bool {
    match character {
        '\n' => lines == Lines::Single,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

fn text_problem(text: &str, chars_max: usize, lines: Lines) -> Option<String> {
    let (Some(first), Some(last)) = (text.chars().next(), text.chars().next_back()) else {
        return Some("must not be empty".to_owned());
    };
    if let Some(bad) = text.chars().find(|&character| is_forbidden(character, lines)) {
        return Some(match bad {
            '\n' => "contains a line break; only summaries and reasoning may have them".to_owned(),
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => format!(
                "contains the bidirectional control U+{:04X}, which can make text display as something else",
                u32::from(bad)
            ),
            _ => format!("contains the control character U+{:04X}", u32::from(bad)),
        });
    }
    if is_blank(first) || is_blank(last) {
        return Some("must not begin or end with a space or other blank character".to_owned());
    }
    let length = text.chars().count();
    (length > chars_max).then(|| format!("is {length} characters long; at most {chars_max} are allowed"))
}

fn check_text(text: &str, chars_max: usize, lines: Lines, path: impl FnOnce() -> String) -> Result<(), BodyError> {
    match text_problem(text, chars_max, lines) {
        Some(problem) => Err(BodyError::invalid(path(), problem)),
        None => Ok(()),
    }
}

fn check_optional_text(
    text: Option<&String>,
    chars_max: usize,
    lines: Lines,
    parent: &str,
    field: &str,
) -> Result<(), BodyError> {
    text.map_or(Ok(()), |text| check_text(text, chars_max, lines, || field_path(parent, field)))
}

fn check_json_integer(value: u64, path: impl FnOnce() -> String) -> Result<(), BodyError> {
    if value > JSON_INTEGER_MAX {
        return Err(BodyError::invalid(
            path(),
            format!("{value} is above the largest JSON integer, {JSON_INTEGER_MAX}"),
        ));
    }
    Ok(())
}

/// Checks that `keys` ascend strictly (sorted, no duplicates); `path` builds the path of an item.
fn check_sorted_unique<K: Ord + fmt::Display>(
    keys: impl IntoIterator<Item = K>,
    path: impl Fn(usize) -> String,
) -> Result<(), BodyError> {
    let mut previous: Option<K> = None;
    for (index, key) in keys.into_iter().enumerate() {
        if let Some(previous) = &previous {
            if *previous == key {
                return Err(BodyError::invalid(path(index), format!("{key} appears twice; list it once")));
            }
            if *previous > key {
                return Err(BodyError::invalid(
                    path(index),
                    format!("{key} is out of order: this list must be sorted ({key} before {previous})"),
                ));
            }
        }
        previous = Some(key);
    }
    Ok(())
}

/// The text rules of a long free text (line breaks allowed), for the sealed records of
/// [`crate::seal`].
pub(crate) fn free_text_problem(text: &str, chars_max: usize) -> Option<String> {
    text_problem(text, chars_max, Lines::Multiple)
}

fn check_recipient(recipient: &str, path: &str) -> Result<(), BodyError> {
    crate::seal::Recipient::parse(recipient)
        .map(drop)
        .map_err(|error| BodyError::invalid(path.to_owned(), error.to_string()))
}

fn check_count(
    count: usize,
    min: usize,
    max: usize,
    what: &str,
    path: impl FnOnce() -> String,
) -> Result<(), BodyError> {
    if count < min || count > max {
        return Err(BodyError::invalid(path(), format!("has {count} {what}; {min} to {max} are allowed")));
    }
    Ok(())
}

/// Deserialises a present optional field: `null` is refused, because an absent field and a
/// `null` one would be two spellings of the same body.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(deserializer)? {
        Some(value) => Ok(Some(value)),
        None => Err(de::Error::custom("null is not allowed: leave the field out instead")),
    }
}

// ---------------------------------------------------------------------------------------------
// Small value types
// ---------------------------------------------------------------------------------------------

/// A 32-byte hash written as 64 lowercase hex digits: the SHA-256 Merkle root of an edition or
/// the BLAKE3 hash of its list document.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest([u8; 32]);

impl Digest {
    /// Wraps 32 raw hash bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 raw hash bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 lowercase hex digits (upper case is refused: one value, one spelling).
    pub fn parse(text: &str) -> Result<Self, IdError> {
        // Same spelling as an event id, so reuse its strict parser.
        EventId::parse(text).map(|id| Self(*id.as_bytes()))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&EventId::from_bytes(self.0), formatter)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Digest({})", hex::encode(&self.0[..6]))
    }
}

impl FromStr for Digest {
    type Err = IdError;
    fn from_str(text: &str) -> Result<Self, IdError> {
        Self::parse(text)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::id::deserialize_from_text(deserializer, "text", Self::parse)
    }
}

text_enum! {
    /// A person's gender as recorded in the case.
    Gender, "gender" {
        /// Female.
        Female = "female",
        /// Male.
        Male = "male",
    }
}

text_enum! {
    /// Where the person was detained: an occupied region of Ukraine, Russia, or elsewhere.
    Region, "region" {
        /// The Autonomous Republic of Crimea (occupied).
        Crimea = "crimea",
        /// Sevastopol (occupied).
        Sevastopol = "sevastopol",
        /// Donetsk region (occupied part).
        Donetsk = "donetsk",
        /// Luhansk region (occupied part).
        Luhansk = "luhansk",
        /// Zaporizhzhia region (occupied part).
        Zaporizhzhia = "zaporizhzhia",
        /// Kherson region (occupied part).
        Kherson = "kherson",
        /// The Russian Federation.
        Russia = "russia",
        /// Anywhere else.
        Other = "other",
    }
}

text_enum! {
    /// The stage a case has reached.
    Stage, "stage" {
        /// Investigation, before trial.
        PreTrial = "pre_trial",
        /// On trial.
        Trial = "trial",
        /// On appeal.
        Appeal = "appeal",
        /// Sentenced, sentence not yet in force or not yet being served.
        Sentenced = "sentenced",
        /// Serving a sentence.
        ServingSentence = "serving_sentence",
        /// Held for compulsory psychiatric treatment.
        CompulsoryTreatment = "compulsory_treatment",
        /// Held, whereabouts unknown.
        WhereaboutsUnknown = "whereabouts_unknown",
        /// Anything else.
        Other = "other",
    }
}

text_enum! {
    /// The code of law a charge is brought under.
    ChargeCode, "charge code" {
        /// The Criminal Code of the Russian Federation.
        RuCriminalCode = "ru_criminal_code",
        /// The Code of Administrative Offences of the Russian Federation.
        RuAdministrativeCode = "ru_administrative_code",
        /// Any other code.
        Other = "other",
    }
}

text_enum! {
    /// The regime of a sentence.
    Regime, "regime" {
        /// General-regime colony.
        General = "general",
        /// Strict-regime colony.
        Strict = "strict",
        /// Special-regime colony.
        Special = "special",
        /// Prison.
        Prison = "prison",
        /// Colony-settlement.
        Settlement = "settlement",
        /// Compulsory psychiatric treatment.
        Psychiatric = "psychiatric",
    }
}

text_enum! {
    /// A criterion of PACE Resolution 1900 (2012) for a political prisoner.
    Criterion, "criterion" {
        /// a. Detention violates a fundamental ECHR guarantee (thought, conscience, religion,
        /// expression, information, assembly, association).
        A = "a",
        /// b. Detention for purely political reasons without connection to any offence.
        B = "b",
        /// c. For political motives, length or conditions of detention clearly out of
        /// proportion.
        C = "c",
        /// d. For political motives, detained in a discriminatory manner.
        D = "d",
        /// e. Detention results from clearly unfair proceedings connected with political
        /// motives.
        E = "e",
    }
}

text_enum! {
    /// A public sign of political persecution. The sensitive signs ([`SENSITIVE_SIGNS`]) are
    /// not values of this type: they may only be recorded in a sealed record.
    Sign, "sign" {
        /// Non-violent exercise of free speech.
        FreeSpeech = "free_speech",
        /// Professional activity (journalist, lawyer, ...).
        ProfessionalActivity = "professional_activity",
        /// A public pro-Ukrainian position.
        ProUkrainianPosition = "pro_ukrainian_position",
        /// Prosecution for propaganda purposes.
        PropagandaProsecution = "propaganda_prosecution",
        /// Confirmed damage to health or its threat (details are sealed).
        HealthAtRisk = "health_at_risk",
        /// Confirmed falsification of evidence.
        FalsifiedEvidence = "falsified_evidence",
    }
}

text_enum! {
    /// A ground for excluding a case from the list (reliable evidence of it).
    ExclusionGround, "exclusion ground" {
        /// Involvement in war crimes, crimes against humanity or hate crimes.
        WarCrimes = "war_crimes",
        /// A general criminal offence under Ukrainian law.
        GeneralCrime = "general_crime",
        /// Active contribution to the occupation.
        OccupationContribution = "occupation_contribution",
    }
}

text_enum! {
    /// How a person came to be released.
    ReleaseCircumstances, "release circumstances" {
        /// A prisoner exchange.
        Exchange = "exchange",
        /// The end of the sentence term.
        EndOfTerm = "end_of_term",
        /// Acquittal.
        Acquittal = "acquittal",
        /// Pardon.
        Pardon = "pardon",
        /// Anything else.
        Other = "other",
    }
}

text_enum! {
    /// The name of a [`Facts`] field, as `case.updated` lists it in `clear`. Declared in the
    /// byte order of the names, so the derived order is the order `clear` must follow.
    FactField, "facts field" {
        /// `birth_date`.
        BirthDate = "birth_date",
        /// `birth_year`.
        BirthYear = "birth_year",
        /// `can_receive_letters`.
        CanReceiveLetters = "can_receive_letters",
        /// `case_group`.
        CaseGroup = "case_group",
        /// `charges`.
        Charges = "charges",
        /// `citizenship`.
        Citizenship = "citizenship",
        /// `detention_date`.
        DetentionDate = "detention_date",
        /// `detention_place`.
        DetentionPlace = "detention_place",
        /// `gender`.
        Gender = "gender",
        /// `name_en`.
        NameEn = "name_en",
        /// `name_ru`.
        NameRu = "name_ru",
        /// `name_uk`.
        NameUk = "name_uk",
        /// `place_of_detention`.
        PlaceOfDetention = "place_of_detention",
        /// `postal_address`.
        PostalAddress = "postal_address",
        /// `region`.
        Region = "region",
        /// `sentence`.
        Sentence = "sentence",
        /// `stage`.
        Stage = "stage",
        /// `summary_en`.
        SummaryEn = "summary_en",
        /// `summary_uk`.
        SummaryUk = "summary_uk",
    }
}

// ---------------------------------------------------------------------------------------------
// Facts of a case
// ---------------------------------------------------------------------------------------------

/// The public facts of a case. Every field is optional: `case.opened` gives what is known,
/// `case.updated` sets or clears fields one by one (last writer wins per field).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object of case facts")]
pub struct Facts {
    /// Date of birth.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<Date>,
    /// Year of birth, [`BIRTH_YEAR_MIN`] to [`BIRTH_YEAR_MAX`]; agrees with `birth_date`.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub birth_year: Option<u16>,
    /// Whether the person can receive letters.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub can_receive_letters: Option<bool>,
    /// The group of related cases, like "Hizb ut-Tahrir case".
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub case_group: Option<String>,
    /// The charges, 0 to [`CHARGES_MAX`], in the order the indictment gives them. An empty list
    /// says that no charge has been brought.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub charges: Option<Vec<Charge>>,
    /// Citizenships: 1 to [`CITIZENSHIPS_MAX`] ISO 3166-1 alpha-2 codes in upper case, sorted,
    /// each once.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub citizenship: Option<Vec<String>>,
    /// The day of detention.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub detention_date: Option<Date>,
    /// The place of detention (where the person was seized).
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub detention_place: Option<String>,
    /// Gender.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// Full name in English.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// Full name in Russian, as the court papers write it.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub name_ru: Option<String>,
    /// Full name in Ukrainian.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub name_uk: Option<String>,
    /// The facility where the person is held now.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub place_of_detention: Option<String>,
    /// The facility's postal address for letters: public by design.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub postal_address: Option<String>,
    /// Where the person was detained.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// The sentence, once there is one.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub sentence: Option<Sentence>,
    /// The stage the case has reached.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// Summary of the case in English; may hold line breaks.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub summary_en: Option<String>,
    /// Summary of the case in Ukrainian; may hold line breaks.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub summary_uk: Option<String>,
}

impl Facts {
    /// Whether `field` is set.
    pub fn is_set(&self, field: FactField) -> bool {
        match field {
            FactField::BirthDate => self.birth_date.is_some(),
            FactField::BirthYear => self.birth_year.is_some(),
            FactField::CanReceiveLetters => self.can_receive_letters.is_some(),
            FactField::CaseGroup => self.case_group.is_some(),
            FactField::Charges => self.charges.is_some(),
            FactField::Citizenship => self.citizenship.is_some(),
            FactField::DetentionDate => self.detention_date.is_some(),
            FactField::DetentionPlace => self.detention_place.is_some(),
            FactField::Gender => self.gender.is_some(),
            FactField::NameEn => self.name_en.is_some(),
            FactField::NameRu => self.name_ru.is_some(),
            FactField::NameUk => self.name_uk.is_some(),
            FactField::PlaceOfDetention => self.place_of_detention.is_some(),
            FactField::PostalAddress => self.postal_address.is_some(),
            FactField::Region => self.region.is_some(),
            FactField::Sentence => self.sentence.is_some(),
            FactField::Stage => self.stage.is_some(),
            FactField::SummaryEn => self.summary_en.is_some(),
            FactField::SummaryUk => self.summary_uk.is_some(),
        }
    }

    /// The fields that are set, in [`FactField`] order.
    pub fn fields_set(&self) -> Vec<FactField> {
        FactField::ALL.into_iter().filter(|&field| self.is_set(field)).collect()
    }

    /// Checks the rules of every field; `path` is where these facts sit in the body.
    fn validate(&self, path: &str) -> Result<(), BodyError> {
        let single = Lines::Single;
        check_optional_text(self.name_uk.as_ref(), NAME_CHARS_MAX, single, path, "name_uk")?;
        check_optional_text(self.name_en.as_ref(), NAME_CHARS_MAX, single, path, "name_en")?;
        check_optional_text(self.name_ru.as_ref(), NAME_CHARS_MAX, single, path, "name_ru")?;
        if let Some(year) = self.birth_year {
            if !(BIRTH_YEAR_MIN..=BIRTH_YEAR_MAX).contains(&year) {
                return Err(BodyError::invalid(
                    field_path(path, "birth_year"),
                    format!("{year} is not a plausible birth year ({BIRTH_YEAR_MIN} to {BIRTH_YEAR_MAX})"),
                ));
            }
            if let Some(date) = self.birth_date
                && date.year() != year
            {
                return Err(BodyError::invalid(
                    field_path(path, "birth_year"),
                    format!("{year} disagrees with birth_date {date}"),
                ));
            }
        }
        if let Some(codes) = &self.citizenship {
            let at = || field_path(path, "citizenship");
            check_count(codes.len(), 1, CITIZENSHIPS_MAX, "citizenships", at)?;
            for (index, code) in codes.iter().enumerate() {
                if !(code.len() == 2 && code.bytes().all(|byte| byte.is_ascii_uppercase())) {
                    return Err(BodyError::invalid(
                        format!("{}[{index}]", at()),
                        format!("{code:?} is not an ISO 3166-1 alpha-2 code in capitals, like \"UA\""),
                    ));
                }
            }
            check_sorted_unique(codes.iter(), |index| format!("{}[{index}]", at()))?;
        }
        check_optional_text(self.detention_place.as_ref(), PLACE_CHARS_MAX, single, path, "detention_place")?;
        if let Some(charges) = &self.charges {
            let at = field_path(path, "charges");
            check_count(charges.len(), 0, CHARGES_MAX, "charges", || at.clone())?;
            for (index, charge) in charges.iter().enumerate() {
                charge.validate(&format!("{at}[{index}]"))?;
            }
        }
        if let Some(sentence) = &self.sentence {
            sentence.validate(&field_path(path, "sentence"))?;
        }
        check_optional_text(self.place_of_detention.as_ref(), PLACE_CHARS_MAX, single, path, "place_of_detention")?;
        check_optional_text(self.case_group.as_ref(), CASE_GROUP_CHARS_MAX, single, path, "case_group")?;
        check_optional_text(self.summary_uk.as_ref(), SUMMARY_CHARS_MAX, Lines::Multiple, path, "summary_uk")?;
        check_optional_text(self.summary_en.as_ref(), SUMMARY_CHARS_MAX, Lines::Multiple, path, "summary_en")?;
        check_optional_text(self.postal_address.as_ref(), POSTAL_ADDRESS_CHARS_MAX, single, path, "postal_address")?;
        Ok(())
    }
}

/// One charge: the code of law, the article (`205.5`, `20.3.3`), its part, and a short note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a charge object")]
pub struct Charge {
    /// The article: 1 to [`ARTICLE_LEVELS_MAX`] dot-separated numbers without leading zeros,
    /// the first of up to [`ARTICLE_NUMBER_DIGITS_MAX`] digits, the others of up to
    /// [`ARTICLE_SUBNUMBER_DIGITS_MAX`].
    pub article: String,
    /// The code of law.
    pub code: ChargeCode,
    /// A short note, like what the article is about.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The part of the article: a number of up to [`ARTICLE_PART_DIGITS_MAX`] digits without
    /// leading zeros.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
}

/// Whether `text` is a number of 1 to `digits_max` digits without a leading zero.
fn is_plain_number(text: &str, digits_max: usize) -> bool {
    (1..=digits_max).contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_digit()) && !text.starts_with('0')
}

impl Charge {
    fn validate(&self, path: &str) -> Result<(), BodyError> {
        let mut numbers = self.article.split('.');
        let article_valid = numbers.next().is_some_and(|first| is_plain_number(first, ARTICLE_NUMBER_DIGITS_MAX))
            && numbers.all(|later| is_plain_number(later, ARTICLE_SUBNUMBER_DIGITS_MAX))
            && self.article.split('.').count() <= ARTICLE_LEVELS_MAX;
        if !article_valid {
            let article: String = self.article.chars().take(40).collect();
            return Err(BodyError::invalid(
                field_path(path, "article"),
                format!("{article:?} is not an article number like \"205.5\" or \"20.3.3\""),
            ));
        }
        if let Some(part) = &self.part
            && !is_plain_number(part, ARTICLE_PART_DIGITS_MAX)
        {
            let part: String = part.chars().take(40).collect();
            return Err(BodyError::invalid(
                field_path(path, "part"),
                format!("{part:?} is not a part number like \"2\""),
            ));
        }
        check_optional_text(self.note.as_ref(), CHARGE_NOTE_CHARS_MAX, Lines::Single, path, "note")
    }
}

/// A sentence. Every field is optional but at least one is present; a life sentence has no
/// term in years or months.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a sentence object")]
pub struct Sentence {
    /// Whether it is a life sentence.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub life: Option<bool>,
    /// Months of the term beyond its whole years, 0 to [`SENTENCE_MONTHS_MAX`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub months: Option<u8>,
    /// The regime.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub regime: Option<Regime>,
    /// The sentence as worded in English.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub text_en: Option<String>,
    /// The sentence as worded in Ukrainian.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub text_uk: Option<String>,
    /// Whole years of the term, 0 to [`SENTENCE_YEARS_MAX`].
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub years: Option<u8>,
}

impl Sentence {
    fn validate(&self, path: &str) -> Result<(), BodyError> {
        if *self == Self::default() {
            return Err(BodyError::invalid(path.to_owned(), "an empty sentence says nothing: omit it instead"));
        }
        if let Some(years) = self.years
            && years > SENTENCE_YEARS_MAX
        {
            return Err(BodyError::invalid(
                field_path(path, "years"),
                format!("{years} years; at most {SENTENCE_YEARS_MAX} are allowed"),
            ));
        }
        if let Some(months) = self.months
            && months > SENTENCE_MONTHS_MAX
        {
            return Err(BodyError::invalid(
                field_path(path, "months"),
                format!("{months} months; at most {SENTENCE_MONTHS_MAX} (write whole years in years)"),
            ));
        }
        if self.life == Some(true) && (self.years.is_some() || self.months.is_some()) {
            return Err(BodyError::invalid(
                field_path(path, "life"),
                "a life sentence has no term: omit years and months",
            ));
        }
        check_optional_text(self.text_uk.as_ref(), SENTENCE_TEXT_CHARS_MAX, Lines::Single, path, "text_uk")?;
        check_optional_text(self.text_en.as_ref(), SENTENCE_TEXT_CHARS_MAX, Lines::Single, path, "text_en")
    }
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

/// Body of `case.opened`: the facts known when the case is opened, with a name in Ukrainian or
/// English at least. The event's id becomes the case id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a case.opened body object")]
pub struct CaseOpened {
    /// The facts.
    pub facts: Facts,
}

impl CaseOpened {
    fn validate(&self) -> Result<(), BodyError> {
        if self.facts.name_uk.is_none() && self.facts.name_en.is_none() {
            return Err(BodyError::invalid("facts".to_owned(), "a new case needs name_uk or name_en"));
        }
        self.facts.validate("facts")
    }
}

/// Body of `case.updated`: sets the fields given in `facts` and unsets the fields named in
/// `clear`. At least one field is set or cleared, and no field is both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a case.updated body object")]
pub struct CaseUpdated {
    /// The case (its `case.opened` event id).
    pub case: EventId,
    /// The fields to unset, sorted, each once; absent if none. Never an empty list.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub clear: Option<Vec<FactField>>,
    /// The fields to set; absent if none. Never an empty object.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub facts: Option<Facts>,
}

impl CaseUpdated {
    fn validate(&self) -> Result<(), BodyError> {
        let set = self.facts.as_ref().map(Facts::fields_set).unwrap_or_default();
        if self.facts.is_some() && set.is_empty() {
            return Err(BodyError::invalid("facts".to_owned(), "empty facts change nothing: omit the field instead"));
        }
        if let Some(facts) = &self.facts {
            facts.validate("facts")?;
        }
        if let Some(clear) = &self.clear {
            if clear.is_empty() {
                return Err(BodyError::invalid(
                    "clear".to_owned(),
                    "an empty list clears nothing: omit the field instead",
                ));
            }
            check_sorted_unique(clear.iter(), |index| format!("clear[{index}]"))?;
            if let Some(index) = clear.iter().position(|field| set.contains(field)) {
                return Err(BodyError::invalid(
                    format!("clear[{index}]"),
                    format!("{} is both set in facts and cleared", clear[index]),
                ));
            }
        }
        if self.facts.is_none() && self.clear.is_none() {
            return Err(BodyError::invalid(String::new(), "an update must set or clear at least one field"));
        }
        Ok(())
    }
}

/// Body of `criterion.asserted`: the member holds that a PACE criterion applies, with optional
/// reasoning in Ukrainian and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a criterion.asserted body object")]
pub struct CriterionAsserted {
    /// The case.
    pub case: EventId,
    /// The criterion, `a` to `e`.
    pub criterion: Criterion,
    /// Reasoning in English; may hold line breaks.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub reasoning_en: Option<String>,
    /// Reasoning in Ukrainian; may hold line breaks.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub reasoning_uk: Option<String>,
}

impl CriterionAsserted {
    fn validate(&self) -> Result<(), BodyError> {
        check_optional_text(self.reasoning_uk.as_ref(), REASONING_CHARS_MAX, Lines::Multiple, "", "reasoning_uk")?;
        check_optional_text(self.reasoning_en.as_ref(), REASONING_CHARS_MAX, Lines::Multiple, "", "reasoning_en")
    }
}

/// Body of `criterion.withdrawn`: the member no longer asserts the criterion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a criterion.withdrawn body object")]
pub struct CriterionWithdrawn {
    /// The case.
    pub case: EventId,
    /// The criterion, `a` to `e`.
    pub criterion: Criterion,
}

/// Body of `sign.noted`: a public sign of political persecution. Sensitive signs are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a sign.noted body object")]
pub struct SignNoted {
    /// The case.
    pub case: EventId,
    /// The sign.
    pub sign: Sign,
}

/// Body of `exclusion.raised`: the member holds that a ground for exclusion applies. No free
/// text: deliberation on exclusions is sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an exclusion.raised body object")]
pub struct ExclusionRaised {
    /// The case.
    pub case: EventId,
    /// The ground.
    pub ground: ExclusionGround,
}

/// Declares a body that names only a case.
macro_rules! case_only_body {
    ($(#[$meta:meta])* $name:ident, $expecting:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, expecting = $expecting)]
        pub struct $name {
            /// The case.
            pub case: EventId,
        }
    };
}

case_only_body!(
    /// Body of `exclusion.withdrawn`: the member withdraws the exclusion it raised.
    ExclusionWithdrawn,
    "an exclusion.withdrawn body object"
);
case_only_body!(
    /// Body of `person.added`: the member endorses listing the person.
    PersonAdded,
    "a person.added body object"
);
case_only_body!(
    /// Body of `person.removed`: the member withdraws its endorsement of listing.
    PersonRemoved,
    "a person.removed body object"
);

/// Body of `person.released`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a person.released body object")]
pub struct PersonReleased {
    /// The case.
    pub case: EventId,
    /// How the person came to be released.
    pub circumstances: ReleaseCircumstances,
    /// The day of release.
    pub date: Date,
}

/// Body of `person.detained`: detained again after a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a person.detained body object")]
pub struct PersonDetained {
    /// The case.
    pub case: EventId,
    /// The day of the new detention.
    pub date: Date,
}

/// Body of `person.died`: died in custody.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a person.died body object")]
pub struct PersonDied {
    /// The case.
    pub case: EventId,
    /// The day of death.
    pub date: Date,
}

/// Body of `member.proposed`: admit an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a member.proposed body object")]
pub struct MemberProposed {
    /// Its display name.
    pub name: String,
    /// Its encryption recipient (`age1…`), to which sealed records are encrypted once it is a
    /// member. Optional: a member without one cannot read sealed records.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// The organisation's slug.
    pub slug: OrgSlug,
    /// Its C2SP verifier key text. Checked by the verifier against the ledger's key rules; only
    /// the text rules apply here.
    pub vkey: String,
}

impl MemberProposed {
    fn validate(&self) -> Result<(), BodyError> {
        check_text(&self.name, NAME_CHARS_MAX, Lines::Single, || "name".to_owned())?;
        if let Some(recipient) = &self.recipient {
            check_recipient(recipient, "recipient")?;
        }
        check_text(&self.vkey, VKEY_CHARS_MAX, Lines::Single, || "vkey".to_owned())
    }
}

/// Body of `member.approved`: approve a `member.proposed` or `member.removal_proposed` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a member.approved body object")]
pub struct MemberApproved {
    /// The proposal's event id.
    pub proposal: EventId,
}

/// Body of `member.removal_proposed`: remove a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a member.removal_proposed body object")]
pub struct MemberRemovalProposed {
    /// The member's slug.
    pub slug: OrgSlug,
}

/// The numbers of distinct current members whose events make a decision. Used by the genesis
/// and by `policy.proposed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a policy object")]
pub struct Policy {
    /// Signatures needed to make an edition official.
    pub edition_quorum: u32,
    /// Members raising an exclusion needed for it to stand.
    pub exclusion_quorum: u32,
    /// Approvals needed to admit or remove a member or change the policy.
    pub governance_quorum: u32,
    /// Endorsements (`person.added`) needed to list a case.
    pub listing_quorum: u32,
}

impl Policy {
    /// Each quorum with its field name, in field order.
    pub fn quorums(&self) -> [(&'static str, u32); 4] {
        [
            ("listing_quorum", self.listing_quorum),
            ("governance_quorum", self.governance_quorum),
            ("edition_quorum", self.edition_quorum),
            ("exclusion_quorum", self.exclusion_quorum),
        ]
    }

    /// Refuses a quorum of zero and any quorum above `member_count`.
    pub fn validate(&self, member_count: usize) -> Result<(), PolicyError> {
        for (quorum, value) in self.quorums() {
            if value == 0 {
                return Err(PolicyError::Zero { quorum });
            }
            if usize::try_from(value).unwrap_or(usize::MAX) > member_count {
                return Err(PolicyError::AboveMembers { quorum, value, member_count });
            }
        }
        Ok(())
    }
}

/// Body of `policy.proposed`: a new policy, in force once approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a policy.proposed body object")]
pub struct PolicyProposed {
    /// The policy proposed.
    pub policy: Policy,
}

impl PolicyProposed {
    fn validate(&self) -> Result<(), BodyError> {
        // The member count at the time of approval is the projector's to check; here, only what
        // no coalition could ever satisfy.
        self.policy.validate(MEMBERS_MAX).map_err(|error| {
            let message = match &error {
                PolicyError::AboveMembers { value, .. } => {
                    format!("{value} is more than a coalition can have members ({MEMBERS_MAX})")
                }
                other => other.to_string(),
            };
            BodyError::invalid(format!("policy.{}", error.quorum()), message)
        })
    }
}

/// Body of `policy.approved`: approve a `policy.proposed` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a policy.approved body object")]
pub struct PolicyApproved {
    /// The proposal's event id.
    pub proposal: EventId,
}

/// Body of `key.rotated`: the member's new signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a key.rotated body object")]
pub struct KeyRotated {
    /// The new C2SP verifier key text. Checked by the verifier against the ledger's key rules;
    /// only the text rules apply here.
    pub vkey: String,
}

impl KeyRotated {
    fn validate(&self) -> Result<(), BodyError> {
        check_text(&self.vkey, VKEY_CHARS_MAX, Lines::Single, || "vkey".to_owned())
    }
}

/// Body of `sealed`: a record only members can open. The public sees that it exists, its
/// padded size and which member made it; see [`crate::seal`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a sealed body object")]
pub struct Sealed {
    /// Base64 (standard, padded) of the nonce, the encrypted padded record and the tag.
    pub ciphertext: String,
    /// The id of the data key that opens it; the key itself never enters a feed.
    pub key: crate::seal::DataKeyId,
}

impl Sealed {
    fn validate(&self) -> Result<(), BodyError> {
        crate::seal::decode_ciphertext(&self.ciphertext)
            .map(drop)
            .map_err(|error| BodyError::invalid("ciphertext".to_owned(), error.to_string()))
    }
}

/// Most data keys one `sealed.shredded` event names.
pub const SHREDDED_KEYS_MAX: usize = 256;

/// Body of `sealed.shredded`: these data keys were destroyed, so the sealed records they opened
/// can no longer be read by anyone who followed the protocol. The chain is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a sealed.shredded body object")]
pub struct SealedShredded {
    /// The data key ids, sorted, each once.
    pub keys: Vec<crate::seal::DataKeyId>,
}

impl SealedShredded {
    fn validate(&self) -> Result<(), BodyError> {
        check_count(self.keys.len(), 1, SHREDDED_KEYS_MAX, "keys", || "keys".to_owned())?;
        check_sorted_unique(self.keys.iter(), |index| format!("keys[{index}]"))
    }
}

/// Body of `recipient.rotated`: the member's new encryption recipient. Sealed records made
/// after it are encrypted to the new recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a recipient.rotated body object")]
pub struct RecipientRotated {
    /// The new `age1…` recipient.
    pub recipient: String,
}

impl RecipientRotated {
    fn validate(&self) -> Result<(), BodyError> {
        check_recipient(&self.recipient, "recipient")
    }
}

/// The head of one member feed covered by an edition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a frontier entry object")]
pub struct FrontierEntry {
    /// The id of its head event.
    pub id: EventId,
    /// The member.
    pub org: OrgSlug,
    /// The sequence number of its head event, from 1.
    pub seq: u64,
}

/// Body of `edition.proposed`: a monthly edition of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an edition.proposed body object")]
pub struct EditionProposed {
    /// The number of listed persons.
    pub count: u64,
    /// The head of every feed covered, sorted by org, one per org, 1 to
    /// [`FRONTIER_ENTRIES_MAX`].
    pub frontier: Vec<FrontierEntry>,
    /// The month, `YYYY-MM`.
    pub label: String,
    /// The BLAKE3 hash of the canonical list document.
    pub list_hash: Digest,
    /// The proposer's signature of the edition note text (docs/PROTOCOL.md §13), so that the
    /// published note carries every cosigner's signature.
    pub note_signature: NoteSignatureField,
    /// The RFC 6962 (SHA-256) Merkle tree root over the entries of the listed persons.
    pub root: Digest,
}

/// Whether `label` is a month `YYYY-MM` in the years a [`Date`] allows.
fn is_month_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    if bytes.len() != 7
        || bytes[4] != b'-'
        || !bytes.iter().enumerate().all(|(at, byte)| at == 4 || byte.is_ascii_digit())
    {
        return false;
    }
    let (Ok(year), Ok(month)) = (label[..4].parse::<u16>(), label[5..].parse::<u8>()) else {
        return false;
    };
    Date::new(year, month, 1).is_some()
}

impl EditionProposed {
    fn validate(&self) -> Result<(), BodyError> {
        if !is_month_label(&self.label) {
            let label: String = self.label.chars().take(40).collect();
            return Err(BodyError::invalid("label".to_owned(), format!("{label:?} is not a month like \"2026-11\"")));
        }
        check_count(self.frontier.len(), 1, FRONTIER_ENTRIES_MAX, "entries", || "frontier".to_owned())?;
        for (index, entry) in self.frontier.iter().enumerate() {
            if entry.seq == 0 {
                return Err(BodyError::invalid(format!("frontier[{index}].seq"), "sequence numbers start at 1"));
            }
            check_json_integer(entry.seq, || format!("frontier[{index}].seq"))?;
        }
        check_sorted_unique(self.frontier.iter().map(|entry| &entry.org), |index| format!("frontier[{index}].org"))?;
        check_json_integer(self.count, || "count".to_owned())
    }
}

/// Body of `edition.cosigned`: the member cosigns a proposed edition and its root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an edition.cosigned body object")]
pub struct EditionCosigned {
    /// The `edition.proposed` event id.
    pub edition: EventId,
    /// The cosigner's signature of the edition note text (docs/PROTOCOL.md §13).
    pub note_signature: NoteSignatureField,
    /// The Merkle root cosigned; must equal the proposal's.
    pub root: Digest,
}

/// Bodies with no rule beyond their JSON shape.
macro_rules! shape_only {
    ($($name:ident),+) => {
        $(
            impl $name {
                fn validate(&self) -> Result<(), BodyError> {
                    Ok(())
                }
            }
        )+
    };
}

shape_only!(
    CriterionWithdrawn,
    SignNoted,
    ExclusionRaised,
    ExclusionWithdrawn,
    PersonAdded,
    PersonRemoved,
    PersonReleased,
    PersonDetained,
    PersonDied,
    MemberApproved,
    MemberRemovalProposed,
    PolicyApproved,
    EditionCosigned
);
