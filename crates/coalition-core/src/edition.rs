//! The edition note: the text every cosigner of a monthly edition signs, so that the published
//! edition is a C2SP signed note that any signed-note implementation can check with the member
//! verifier keys alone (docs/PROTOCOL.md §13).
//!
//! The text is laid out as a C2SP `tlog-checkpoint` (origin, tree size, base64 root, then extension
//! lines), so checkpoint tooling can check an inclusion proof against it:
//!
//! ```text
//! <origin>/edition/<label>
//! <count>
//! <base64 of the Merkle root>
//! coalition-ledger/edition/v1
//! ledger <ledger id>
//! list <list hash>
//! frontier <org> <seq> <event id>        (one line per frontier entry, sorted by org)
//! ```
//!
//! Each cosigner's signature over this text travels in its `edition.proposed` or
//! `edition.cosigned` body as `note_signature` ([`NoteSignatureField`]): the base64 that follows
//! the key name on a signature line. The key name is not carried: it is `<origin>/<org>` of the
//! event's author. Pure: no I/O.

use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::body::{Digest, FrontierEntry};
use crate::event::{EventId, LedgerId, OrgSlug};
use crate::genesis::Genesis;
use crate::keys::{BASE64, ED25519_SIGNATURE_BYTES, KeyId, KeyName, SignerKey, VerifierKey};
use crate::limits::MEMBERS_MAX;
use crate::note::{NoteError, parse_note, signature_line};

/// The first extension line of an edition note: names the format and its version.
pub const EDITION_NOTE_FORMAT: &str = "coalition-ledger/edition/v1";

/// Bytes of a note signature: a 4-byte key id and a 64-byte Ed25519 signature.
pub const NOTE_SIGNATURE_BYTES: usize = 4 + ED25519_SIGNATURE_BYTES;

/// Characters of a note signature in base64 (68 bytes, padded).
pub const NOTE_SIGNATURE_CHARS: usize = NOTE_SIGNATURE_BYTES.div_ceil(3) * 4;

/// What an edition states: everything its note text is made of.
#[derive(Debug, Clone, Copy)]
pub struct EditionStatement<'a> {
    /// The coalition's origin (from the genesis).
    pub origin: &'a str,
    /// The ledger id.
    pub ledger: LedgerId,
    /// The month, `YYYY-MM`.
    pub label: &'a str,
    /// The number of entries.
    pub count: u64,
    /// The Merkle root over the entries.
    pub root: Digest,
    /// The BLAKE3 hash of the canonical list document.
    pub list_hash: Digest,
    /// The feed heads covered, sorted by org.
    pub frontier: &'a [FrontierEntry],
}

impl EditionStatement<'_> {
    /// The checkpoint origin of this edition: `<origin>/edition/<label>`. Each edition is its own
    /// tree, so each has its own origin (editions are not append-only extensions of each other).
    pub fn checkpoint_origin(&self) -> String {
        format!("{}/edition/{}", self.origin, self.label)
    }

    /// The note text every cosigner signs (each line ends with `\n`).
    pub fn note_text(&self) -> String {
        let mut text = String::with_capacity(256 + self.frontier.len() * 112);
        text.push_str(&self.checkpoint_origin());
        text.push('\n');
        text.push_str(&self.count.to_string());
        text.push('\n');
        BASE64.encode_string(self.root.as_bytes(), &mut text);
        text.push('\n');
        text.push_str(EDITION_NOTE_FORMAT);
        text.push('\n');
        text.push_str(&format!("ledger {}\nlist {}\n", self.ledger, self.list_hash));
        for head in self.frontier {
            text.push_str(&format!("frontier {} {} {}\n", head.org, head.seq, head.id));
        }
        text
    }

    /// Signs the note text with `key`: what a proposer or cosigner puts in `note_signature`.
    pub fn sign(&self, key: &SignerKey) -> NoteSignatureField {
        let signature = key.sign(self.note_text().as_bytes());
        NoteSignatureField { key_id: key.key_id(), signature }
    }

    /// Whether `signature` is `key`'s valid signature of the note text (same key id, and the
    /// protocol's single Ed25519 rule).
    pub fn verify(&self, key: &VerifierKey, signature: &NoteSignatureField) -> bool {
        signature.key_id == key.key_id() && key.verify(self.note_text().as_bytes(), &signature.signature)
    }
}

/// Assembles the signed edition note: the text, a blank line, then one signature line per
/// `(key name, signature)` in the order given.
pub fn assemble_note(text: &str, signatures: &[(KeyName, NoteSignatureField)]) -> String {
    let mut note = String::with_capacity(text.len() + 1 + signatures.len() * 140);
    note.push_str(text);
    note.push('\n');
    for (name, signature) in signatures {
        note.push_str(&signature_line(name, signature.key_id, &signature.signature));
    }
    note
}

/// Why a `note_signature` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteSignatureError {
    /// Not canonical padded base64 of exactly 68 bytes.
    #[error("a note signature is 92 characters of padded base64: a 4-byte key id and a 64-byte signature")]
    Malformed,
}

/// One cosigner's signature of an edition note, as carried in an edition body: the key id and the
/// Ed25519 signature, written as the base64 of their 68 bytes (the text a signature line carries
/// after the key name).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NoteSignatureField {
    key_id: KeyId,
    signature: [u8; ED25519_SIGNATURE_BYTES],
}

impl NoteSignatureField {
    /// Parses the base64 text (canonical padded base64 of exactly 68 bytes).
    pub fn parse(text: &str) -> Result<Self, NoteSignatureError> {
        if text.len() != NOTE_SIGNATURE_CHARS {
            return Err(NoteSignatureError::Malformed);
        }
        let mut raw = [0u8; NOTE_SIGNATURE_BYTES + 2];
        let length = BASE64.decode_slice(text, &mut raw).map_err(|_| NoteSignatureError::Malformed)?;
        if length != NOTE_SIGNATURE_BYTES {
            return Err(NoteSignatureError::Malformed);
        }
        let mut key_id = [0u8; 4];
        key_id.copy_from_slice(&raw[..4]);
        let mut signature = [0u8; ED25519_SIGNATURE_BYTES];
        signature.copy_from_slice(&raw[4..NOTE_SIGNATURE_BYTES]);
        Ok(Self { key_id: KeyId::from_bytes(key_id), signature })
    }

    /// The key id of the signing key.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The 64-byte Ed25519 signature.
    pub fn signature(&self) -> &[u8; ED25519_SIGNATURE_BYTES] {
        &self.signature
    }
}

impl fmt::Display for NoteSignatureField {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = [0u8; NOTE_SIGNATURE_BYTES];
        raw[..4].copy_from_slice(&self.key_id.to_bytes());
        raw[4..].copy_from_slice(&self.signature);
        formatter.write_str(&BASE64.encode(raw))
    }
}

impl fmt::Debug for NoteSignatureField {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "NoteSignatureField({})", self.key_id)
    }
}

impl Serialize for NoteSignatureField {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NoteSignatureField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(de::Error::custom)
    }
}

/// Largest edition note accepted, in bytes: the text with a full frontier and one signature line
/// per member, with room to spare.
pub const EDITION_NOTE_BYTES_MAX: usize = 64 * 1024;

/// An edition note's text, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EditionNoteText {
    /// The coalition's origin.
    pub origin: String,
    /// The month.
    pub label: String,
    /// The number of entries.
    pub count: u64,
    /// The Merkle root.
    pub root: Digest,
    /// The ledger id.
    pub ledger: LedgerId,
    /// The list hash.
    pub list_hash: Digest,
    /// The frontier, sorted by org.
    pub frontier: Vec<FrontierEntry>,
}

impl EditionNoteText {
    /// The statement this text writes.
    pub fn statement(&self) -> EditionStatement<'_> {
        EditionStatement {
            origin: &self.origin,
            ledger: self.ledger,
            label: &self.label,
            count: self.count,
            root: self.root,
            list_hash: self.list_hash,
            frontier: &self.frontier,
        }
    }
}

/// Why an edition note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditionNoteError {
    /// Larger than [`EDITION_NOTE_BYTES_MAX`].
    #[error("the edition note is {bytes} bytes, more than the limit of {max}")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// Not a signed note.
    #[error("not a signed note: {0}")]
    Note(#[from] NoteError),
    /// The text is not an edition note.
    #[error("line {line} of the edition note: {problem}")]
    Text {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// The note is for another coalition.
    #[error("the edition note is for ledger {found}, not this genesis's ledger {expected}")]
    OtherLedger {
        /// The genesis's ledger.
        expected: LedgerId,
        /// The note's.
        found: LedgerId,
    },
    /// A signature line by a member key does not verify (the note was altered, or the line was).
    #[error("the signature of {key} does not verify: the note or the signature was altered ({detail})")]
    BadSignature {
        /// The key.
        key: String,
        /// The underlying error.
        detail: String,
    },
    /// Too few members signed.
    #[error("only {valid} member signature(s) verify ({signers}), {needed} are needed for an official edition")]
    QuorumShort {
        /// Valid member signatures.
        valid: usize,
        /// The quorum.
        needed: u32,
        /// Who signed validly.
        signers: String,
    },
}

fn text_error(line: usize, problem: impl Into<String>) -> EditionNoteError {
    EditionNoteError::Text { line, problem: problem.into() }
}

/// Parses an edition note's text (as [`EditionStatement::note_text`] writes it) and checks that
/// it is written exactly so (one statement, one spelling).
pub fn parse_edition_note_text(text: &str) -> Result<EditionNoteText, EditionNoteError> {
    let lines: Vec<&str> = text.strip_suffix('\n').unwrap_or(text).split('\n').collect();
    if lines.len() < 7 || lines.len() > 6 + MEMBERS_MAX {
        return Err(text_error(1, format!("an edition note has 6 lines and 1 to {MEMBERS_MAX} frontier lines")));
    }
    let (origin, label) = lines[0]
        .rsplit_once("/edition/")
        .ok_or_else(|| text_error(1, "the first line is not <origin>/edition/<label>"))?;
    let count: u64 = lines[1].parse().map_err(|_| text_error(2, "the second line is not a count"))?;
    let mut root = [0u8; 34];
    let root = match BASE64.decode_slice(lines[2], &mut root) {
        Ok(32) => Digest::from_bytes(root[..32].try_into().map_err(|_| text_error(3, "not a root"))?),
        _ => return Err(text_error(3, "the third line is not the base64 of a 32-byte root")),
    };
    if lines[3] != EDITION_NOTE_FORMAT {
        return Err(text_error(4, format!("the fourth line must be {EDITION_NOTE_FORMAT}")));
    }
    let ledger = lines[4]
        .strip_prefix("ledger ")
        .and_then(|hex| LedgerId::parse(hex).ok())
        .ok_or_else(|| text_error(5, "expected `ledger <64 hex digits>`"))?;
    let list_hash = lines[5]
        .strip_prefix("list ")
        .and_then(|hex| Digest::parse(hex).ok())
        .ok_or_else(|| text_error(6, "expected `list <64 hex digits>`"))?;
    let mut frontier = Vec::new();
    for (index, line) in lines[6..].iter().enumerate() {
        let parts: Vec<&str> = line.strip_prefix("frontier ").unwrap_or_default().split(' ').collect();
        let entry = match parts.as_slice() {
            [org, seq, id] => (|| {
                Some(FrontierEntry {
                    org: OrgSlug::parse(org).ok()?,
                    seq: seq.parse().ok()?,
                    id: EventId::parse(id).ok()?,
                })
            })(),
            _ => None,
        };
        frontier.push(entry.ok_or_else(|| text_error(7 + index, "expected `frontier <org> <seq> <event id>`"))?);
    }
    let parsed = EditionNoteText {
        origin: origin.to_owned(),
        label: label.to_owned(),
        count,
        root,
        ledger,
        list_hash,
        frontier,
    };
    if parsed.statement().note_text() != text {
        return Err(text_error(1, "the note is not written in its one canonical form"));
    }
    Ok(parsed)
}

/// An edition note checked against a genesis.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedEditionNote {
    /// What the note states.
    pub text: EditionNoteText,
    /// The founding members whose genesis key signed it validly, sorted.
    pub signers: Vec<OrgSlug>,
    /// Signature lines by keys the genesis does not list (ignored), as `name+keyid`.
    pub unknown_signers: Vec<String>,
}

/// Checks a signed edition note with the genesis alone: the text is an edition note of this
/// ledger and origin, every signature line by a genesis key verifies, and at least the genesis's
/// `edition_quorum` founders signed. Keys rotated or members admitted later are not known to the
/// genesis: their lines count as unknown (check such editions against the feeds).
pub fn verify_edition_note(genesis: &Genesis, note: &str) -> Result<VerifiedEditionNote, EditionNoteError> {
    if note.len() > EDITION_NOTE_BYTES_MAX {
        return Err(EditionNoteError::TooLarge { bytes: note.len(), max: EDITION_NOTE_BYTES_MAX });
    }
    let parsed_note = parse_note(note)?;
    let text = parse_edition_note_text(parsed_note.text())?;
    if text.ledger != genesis.ledger_id() {
        return Err(EditionNoteError::OtherLedger { expected: genesis.ledger_id(), found: text.ledger });
    }
    if text.origin != genesis.doc().origin {
        return Err(text_error(
            1,
            format!("the origin is {:?}, the genesis's is {:?}", text.origin, genesis.doc().origin),
        ));
    }
    let mut signers = Vec::new();
    let mut unknown_signers = Vec::new();
    for line in parsed_note.signatures() {
        match genesis.doc().members.iter().find(|member| line.is_by(&member.vkey)) {
            Some(member) => {
                parsed_note.verify(&member.vkey).map_err(|error| EditionNoteError::BadSignature {
                    key: format!("{}+{}", member.vkey.name(), member.vkey.key_id()),
                    detail: error.to_string(),
                })?;
                if !signers.contains(&member.slug) {
                    signers.push(member.slug.clone());
                }
            }
            None => {
                let label = format!("{}+{}", line.name(), line.key_id());
                if !unknown_signers.contains(&label) {
                    unknown_signers.push(label);
                }
            }
        }
    }
    signers.sort();
    let needed = genesis.doc().policy.edition_quorum;
    if signers.len() < needed as usize {
        let names = signers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        return Err(EditionNoteError::QuorumShort {
            valid: signers.len(),
            needed,
            signers: if names.is_empty() { "none".to_owned() } else { names },
        });
    }
    Ok(VerifiedEditionNote { text, signers, unknown_signers })
}
