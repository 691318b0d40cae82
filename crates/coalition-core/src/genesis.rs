//! The genesis: a coalition's constitution, and the root of trust of its ledger.
//!
//! A genesis is a signed note whose text is [`GENESIS_HEADER`] and one canonical JSON line naming
//! the coalition, its origin (the prefix of every key name), the founding members with their
//! verifier keys, and the policy (quorums). Every founding member signs it. The ledger id is the
//! BLAKE3 hash of the note text, so adding signatures never changes the ledger's identity.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::body::Policy;
use crate::canonical::CanonicalError;
use crate::event::{LedgerId, OrgSlug};
use crate::keys::{KeyError, SignerKey, VerifierKey};
use crate::limits::{GENESIS_NOTE_BYTES_MAX, MEMBERS_MAX};
use crate::note::NoteError;
use crate::time::Timestamp;

/// The first line of a genesis note (differs from events' and editions' so signatures never
/// cross over).
pub const GENESIS_HEADER: &str = "coalition-ledger/genesis/v1";
/// Longest coalition or member display name, in Unicode scalar values.
pub const DISPLAY_NAME_CHARS_MAX: usize = 200;
/// Longest origin, in bytes.
pub const ORIGIN_BYTES_MAX: usize = 100;
/// Longest encryption recipient text, in bytes.
pub const RECIPIENT_BYTES_MAX: usize = 200;

/// A founding member as the genesis names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoundingMember {
    /// The organisation's short name; its feed is named by it.
    pub slug: OrgSlug,
    /// The organisation's display name.
    pub name: String,
    /// The organisation's signing key; its name must be `<origin>/<slug>`.
    pub vkey: VerifierKey,
    /// Reserved for sealed records: the organisation's encryption recipient (`age1...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
}

/// The content of a genesis: what the founders sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisDoc {
    /// The coalition's display name.
    pub name: String,
    /// The prefix of every member's key name (`<origin>/<slug>`), e.g. `coalition.example`.
    pub origin: String,
    /// When the coalition's ledger begins; no event may be dated earlier.
    pub created: Timestamp,
    /// Founding members, sorted by slug.
    pub members: Vec<FoundingMember>,
    /// Quorums in force from the start.
    pub policy: Policy,
}

/// Why a genesis was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GenesisError {
    /// The note is larger than [`GENESIS_NOTE_BYTES_MAX`].
    #[error("genesis is {bytes} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size found.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// Signed-note syntax.
    #[error("not a valid signed note: {0}")]
    Note(#[source] NoteError),
    /// Wrong first line or line count.
    #[error("a genesis is the line {GENESIS_HEADER:?} and one JSON line: {0}")]
    Shape(String),
    /// Not canonical JSON.
    #[error("genesis JSON is not canonical: {0}")]
    NotCanonical(#[source] CanonicalError),
    /// Field missing, unknown or of the wrong type.
    #[error("genesis field {path}: {message}")]
    Field {
        /// JSON path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A rule about the content is broken.
    #[error("genesis: {0}")]
    Invalid(String),
    /// A founder's key does not follow the key rules.
    #[error("genesis key of {slug}: {error}")]
    Key {
        /// The member.
        slug: OrgSlug,
        /// What is wrong.
        #[source]
        error: KeyError,
    },
    /// A signature line is by no founding member's key, or repeats one.
    #[error("signature by {0:?} is not by a founding member's key, or is repeated")]
    StraySignature(String),
    /// A founder's signature does not verify.
    #[error("signature of founding member {0} does not verify")]
    BadSignature(OrgSlug),
    /// Not every founder has signed yet.
    #[error("not signed yet by: {}", .0.iter().map(OrgSlug::as_str).collect::<Vec<_>>().join(", "))]
    Unsigned(Vec<OrgSlug>),
}

/// A parsed genesis note with its ledger id. It may still lack founders' signatures: see
/// [`Genesis::require_complete`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Genesis {
    note: String,
    text_len: usize,
    ledger: LedgerId,
    doc: GenesisDoc,
    signed_by: Vec<OrgSlug>,
}

fn field_error(path: &str, message: impl Into<String>) -> GenesisError {
    GenesisError::Field { path: path.to_owned(), message: message.into() }
}

fn check_display_text(path: &str, text: &str) -> Result<(), GenesisError> {
    let chars = text.chars().count();
    if chars == 0 || chars > DISPLAY_NAME_CHARS_MAX {
        return Err(field_error(path, format!("must be 1 to {DISPLAY_NAME_CHARS_MAX} characters")));
    }
    if text.trim() != text || text.chars().any(char::is_control) {
        return Err(field_error(path, "must not start or end with spaces or contain control characters"));
    }
    Ok(())
}

fn check_origin(origin: &str) -> Result<(), GenesisError> {
    let valid = !origin.is_empty()
        && origin.len() <= ORIGIN_BYTES_MAX
        && origin.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b".-/".contains(&byte))
        && !origin.starts_with(['/', '.', '-'])
        && !origin.ends_with('/');
    if valid {
        Ok(())
    } else {
        Err(field_error(
            "origin",
            format!(
                "must be 1 to {ORIGIN_BYTES_MAX} bytes of lowercase letters, digits, '.', '-' and '/', like a domain name"
            ),
        ))
    }
}

impl GenesisDoc {
    /// The key name an organisation's keys must carry in this coalition: `<origin>/<slug>`.
    pub fn key_name_for(&self, slug: &OrgSlug) -> String {
        format!("{}/{}", self.origin, slug)
    }

    /// Checks every rule a genesis must keep.
    pub fn validate(&self) -> Result<(), GenesisError> {
        check_display_text("name", &self.name)?;
        check_origin(&self.origin)?;
        if self.members.is_empty() || self.members.len() > MEMBERS_MAX {
            return Err(GenesisError::Invalid(format!("a coalition has 1 to {MEMBERS_MAX} founding members")));
        }
        if !self.members.windows(2).all(|pair| pair[0].slug < pair[1].slug) {
            return Err(GenesisError::Invalid("members must be sorted by slug, each slug once".into()));
        }
        let mut keys = BTreeSet::new();
        for (index, member) in self.members.iter().enumerate() {
            check_display_text(&format!("members[{index}].name"), &member.name)?;
            let expected = self.key_name_for(&member.slug);
            if member.vkey.name().as_str() != expected {
                return Err(field_error(
                    &format!("members[{index}].vkey"),
                    format!("key name must be {expected:?}, found {:?}", member.vkey.name().as_str()),
                ));
            }
            if !keys.insert(*member.vkey.public_key()) {
                return Err(GenesisError::Invalid(format!("member {} reuses another member's key", member.slug)));
            }
            if let Some(recipient) = &member.recipient {
                let valid = recipient.len() <= RECIPIENT_BYTES_MAX && crate::seal::Recipient::parse(recipient).is_ok();
                if !valid {
                    return Err(field_error(
                        &format!("members[{index}].recipient"),
                        "must be an age X25519 recipient (age1 followed by lowercase bech32)",
                    ));
                }
            }
        }
        self.policy.validate(self.members.len()).map_err(|error| GenesisError::Invalid(format!("policy: {error}")))?;
        Ok(())
    }

    /// The unsigned genesis note text (header and canonical JSON line).
    pub fn to_note_text(&self) -> Result<String, GenesisError> {
        self.validate()?;
        let value = serde_json::to_value(self).map_err(|error| field_error("", error.to_string()))?;
        let line = crate::canonical::to_canonical_profile(&value).map_err(GenesisError::NotCanonical)?;
        Ok(format!("{GENESIS_HEADER}\n{line}\n"))
    }
}

impl Genesis {
    /// Parses a genesis: either the bare note text (not signed yet) or a signed note. Checks the
    /// content rules and every signature present; it does not require all founders to have signed.
    pub fn parse(input: &str) -> Result<Self, GenesisError> {
        if input.len() > GENESIS_NOTE_BYTES_MAX {
            return Err(GenesisError::TooLarge { bytes: input.len(), max: GENESIS_NOTE_BYTES_MAX });
        }
        let (text, signatures) = if input.contains("\n\n") {
            let note = crate::note::parse_note(input).map_err(GenesisError::Note)?;
            (note.text(), note.signatures().to_vec())
        } else {
            (input, Vec::new())
        };
        let Some(json_line) = text.strip_prefix(GENESIS_HEADER).and_then(|rest| rest.strip_prefix('\n')) else {
            return Err(GenesisError::Shape("the first line is different".into()));
        };
        let Some(json_line) = json_line.strip_suffix('\n').filter(|line| !line.contains('\n')) else {
            return Err(GenesisError::Shape("expected exactly one JSON line ending in a newline".into()));
        };
        crate::canonical::check_canonical(json_line.as_bytes()).map_err(GenesisError::NotCanonical)?;
        let mut deserializer = serde_json::Deserializer::from_str(json_line);
        let doc: GenesisDoc = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|error| field_error(&error.path().to_string(), error.inner().to_string()))?;
        doc.validate()?;

        let mut signed_by = Vec::new();
        for signature in &signatures {
            let member = doc
                .members
                .iter()
                .find(|member| {
                    member.vkey.name().as_str() == signature.name() && member.vkey.key_id() == signature.key_id()
                })
                .filter(|member| !signed_by.contains(&member.slug))
                .ok_or_else(|| GenesisError::StraySignature(signature.name().to_owned()))?;
            let valid = signature.ed25519_signature().is_some_and(|bytes| member.vkey.verify(text.as_bytes(), bytes));
            if !valid {
                return Err(GenesisError::BadSignature(member.slug.clone()));
            }
            signed_by.push(member.slug.clone());
        }
        Ok(Self {
            ledger: LedgerId::of_text(text.as_bytes()),
            text_len: text.len(),
            note: input.to_owned(),
            doc,
            signed_by,
        })
    }

    /// Adds a founder's signature and returns the new genesis note.
    pub fn sign(&self, key: &SignerKey) -> Result<String, GenesisError> {
        let member = self
            .doc
            .members
            .iter()
            .find(|member| member.vkey == key.verifier_key())
            .ok_or_else(|| GenesisError::StraySignature(key.verifier_key().name().as_str().to_owned()))?;
        if self.signed_by.contains(&member.slug) {
            return Err(GenesisError::StraySignature(member.vkey.name().as_str().to_owned()));
        }
        let note = if self.signed_by.is_empty() {
            crate::note::sign_note(self.text(), &[key]).map_err(GenesisError::Note)?
        } else {
            crate::note::add_signatures(&self.note, &[key]).map_err(GenesisError::Note)?
        };
        Ok(note)
    }

    /// Fails unless every founding member has signed.
    pub fn require_complete(&self) -> Result<(), GenesisError> {
        let missing: Vec<OrgSlug> = self
            .doc
            .members
            .iter()
            .filter(|member| !self.signed_by.contains(&member.slug))
            .map(|member| member.slug.clone())
            .collect();
        if missing.is_empty() { Ok(()) } else { Err(GenesisError::Unsigned(missing)) }
    }

    /// The ledger id: BLAKE3 of the note text.
    pub fn ledger_id(&self) -> LedgerId {
        self.ledger
    }

    /// The constitution.
    pub fn doc(&self) -> &GenesisDoc {
        &self.doc
    }

    /// The genesis note exactly as given (with whatever signatures it has).
    pub fn note(&self) -> &str {
        &self.note
    }

    /// The signed text (header and JSON line).
    pub fn text(&self) -> &str {
        &self.note[..self.text_len]
    }

    /// Founders whose signatures are present and valid, in signature-line order.
    pub fn signed_by(&self) -> &[OrgSlug] {
        &self.signed_by
    }

    /// A founding member by slug.
    pub fn member(&self, slug: &OrgSlug) -> Option<&FoundingMember> {
        self.doc.members.iter().find(|member| &member.slug == slug)
    }
}
