//! The C2SP signed-note text format (<https://c2sp.org/signed-note>): parse, format, sign, verify.
//!
//! A signed note is a text ending in a newline, a blank line, and one or more signature lines
//! `— <key name> <base64(4-byte key id || signature)>` (U+2014 EM DASH, space, name, space,
//! standard padded base64, newline). The signatures cover the text including its final newline.
//! The text may itself contain blank lines: it ends at the *last* blank line of the note.
//!
//! Parsing is strict: it refuses everything the specification and Go's reference implementation
//! (`golang.org/x/mod/sumdb/note`) refuse, and in two places more, so that one note has one
//! spelling: base64 must be canonical (Go accepts non-zero trailing bits) and key names may not
//! hold ASCII control characters (already refused in the note as a whole).
//!
//! Verification applies the single validity rule of [`crate::keys`]. Where Go skips further
//! signature lines by a key it has already checked, this module checks every line by a known key
//! and refuses the note if any fails, as the specification recommends: a note is either fully
//! valid or refused, whatever order its lines come in.

use base64::Engine as _;

use crate::keys::{
    BASE64, ED25519_SIGNATURE_BYTES, KeyError, KeyId, KeyName, SignerKey, VerifierKey, check_key_name,
    padded_decoded_len,
};
use crate::limits::NOTE_SIGNATURES_MAX;

/// What every signature line starts with: U+2014 EM DASH and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Length of a key id and an Ed25519 signature together, as decoded from a signature line.
const ED25519_RAW_BYTES: usize = 4 + ED25519_SIGNATURE_BYTES;

/// Why a note was refused, or could not be signed or verified. Line numbers count from 1 over the
/// whole signed note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The bytes are not valid UTF-8.
    #[error("line {line}: the note is not valid UTF-8")]
    InvalidUtf8 {
        /// Line of the first invalid byte.
        line: usize,
    },
    /// An ASCII control character other than newline (the specification forbids all of U+0000 to
    /// U+001F except U+000A).
    #[error("line {line}: the note contains the control character 0x{byte:02x}; only newline is allowed")]
    ControlCharacter {
        /// Line of the character.
        line: usize,
        /// The character's byte value.
        byte: u8,
    },
    /// No blank line separates the text from the signatures.
    #[error("the note has no blank line separating its text from the signature lines")]
    NoBlankLine,
    /// Nothing follows the last blank line.
    #[error("the note has no signature lines after its last blank line")]
    NoSignatures,
    /// The last signature line lacks its newline.
    #[error("line {line}: the note does not end with a newline")]
    MissingFinalNewline {
        /// The unterminated last line.
        line: usize,
    },
    /// More signature lines than [`NOTE_SIGNATURES_MAX`].
    #[error("the note has {count} signature lines; at most {max} are accepted")]
    TooManySignatures {
        /// Number of signature lines found or requested.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A line after the last blank line does not start with `— `.
    #[error("line {line}: a signature line must start with an em dash (U+2014) and a space")]
    NotASignatureLine {
        /// The offending line.
        line: usize,
    },
    /// The key name of a signature line is not valid.
    #[error("line {line}: bad key name in signature line: {problem}")]
    BadKeyName {
        /// The offending line.
        line: usize,
        /// What is wrong with the name.
        problem: KeyError,
    },
    /// The signature line has no space-separated signature after the key name, or it is empty.
    #[error("line {line}: the signature line has no signature after the key name")]
    MissingSignature {
        /// The offending line.
        line: usize,
    },
    /// The signature is not valid standard base64 with canonical padding.
    #[error("line {line}: the signature is not valid standard base64 (with '=' padding and no stray bits)")]
    BadSignatureBase64 {
        /// The offending line.
        line: usize,
    },
    /// The signature decodes to fewer than 5 bytes (a 4-byte key id and at least one more).
    #[error(
        "line {line}: the signature decodes to {bytes} bytes; at least 5 (a 4-byte key id and a signature) are needed"
    )]
    SignatureTooShort {
        /// The offending line.
        line: usize,
        /// The decoded length.
        bytes: usize,
    },
    /// The text to sign is empty.
    #[error("the note text is empty")]
    EmptyText,
    /// The text to sign does not end with a newline.
    #[error("the note text does not end with a newline")]
    TextMissingFinalNewline,
    /// Signing was asked for with no signer.
    #[error("no signer given: a signed note needs at least one signature")]
    NoSigners,
    /// The key has already signed this note (or is given twice).
    #[error("key {key} has already signed this note")]
    DuplicateSigner {
        /// The key, as `name+keyid`.
        key: String,
    },
    /// No signature line names this key (name and key id).
    #[error("the note has no signature by key {key}")]
    NoSignatureByKey {
        /// The key, as `name+keyid`.
        key: String,
    },
    /// A signature line names a known key, but the signature does not verify.
    #[error("line {line}: the signature by key {key} does not verify")]
    InvalidSignature {
        /// The signature line.
        line: usize,
        /// The key, as `name+keyid`.
        key: String,
    },
    /// A signature line's name and key id match more than one of the known keys.
    #[error("line {line}: key {key} is listed more than once among the known keys")]
    AmbiguousKey {
        /// The signature line.
        line: usize,
        /// The key, as `name+keyid`.
        key: String,
    },
    /// No signature is by a known key.
    #[error("no signature on the note is by a known key (signed by: {})", .unknown_signers.join(", "))]
    NoVerifiedSignature {
        /// The keys that did sign, as `name+keyid`, each once, in order of appearance.
        unknown_signers: Vec<String>,
    },
}

/// The signature bytes of one line, kept inline for Ed25519 so that parsing allocates nothing
/// per line in the common case.
#[derive(Clone, PartialEq, Eq)]
enum SignatureBytes {
    /// A 64-byte signature, as Ed25519 makes.
    Ed25519([u8; ED25519_SIGNATURE_BYTES]),
    /// Any other length (another signature type): all decoded bytes, key id included.
    Other(Box<[u8]>),
}

/// One signature line of a parsed note, borrowing from the note's text.
#[derive(Clone)]
pub struct NoteSignature<'a> {
    name: &'a str,
    key_id: KeyId,
    encoded: &'a str,
    bytes: SignatureBytes,
    line: usize,
}

impl<'a> NoteSignature<'a> {
    /// The key name written in the line (already checked to be a valid name).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The key id: the first 4 decoded bytes.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature bytes after the key id: 64 for Ed25519, any length for other types.
    pub fn signature(&self) -> &[u8] {
        match &self.bytes {
            SignatureBytes::Ed25519(signature) => signature,
            SignatureBytes::Other(raw) => raw.get(4..).unwrap_or_default(),
        }
    }

    /// The signature bytes if they have the length of an Ed25519 signature.
    pub fn ed25519_signature(&self) -> Option<&[u8; ED25519_SIGNATURE_BYTES]> {
        match &self.bytes {
            SignatureBytes::Ed25519(signature) => Some(signature),
            SignatureBytes::Other(_) => None,
        }
    }

    /// The base64 text of the line (key id and signature), as written.
    pub fn base64(&self) -> &'a str {
        self.encoded
    }

    /// The line's number in the signed note, counting from 1.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Whether the line claims to be by `key`: same name and same key id.
    pub fn is_by(&self, key: &VerifierKey) -> bool {
        self.key_id == key.key_id() && self.name == key.name().as_str()
    }

    /// Whether two lines carry the same name, key id and signature (wherever they stand).
    fn same_as(&self, other: &NoteSignature<'_>) -> bool {
        self.name == other.name && self.key_id == other.key_id && self.bytes == other.bytes
    }

    fn label(&self) -> String {
        format!("{}+{}", self.name, self.key_id)
    }
}

impl std::fmt::Debug for NoteSignature<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "NoteSignature(line {}: {}+{} {})", self.line, self.name, self.key_id, self.encoded)
    }
}

/// A syntactically valid signed note, borrowing from its input. Its signatures are not verified:
/// call [`Note::verify`] or [`Note::verify_known`].
#[derive(Debug, Clone)]
pub struct Note<'a> {
    text: &'a str,
    signatures: Vec<NoteSignature<'a>>,
}

/// The outcome of [`Note::verify_known`].
#[derive(Debug, Clone)]
pub struct Verified<'s> {
    /// The known keys that signed the note validly, each once, in order of their first line.
    pub signers: Vec<&'s VerifierKey>,
    /// Signature lines by keys that are not known, each distinct line once, in order. They are
    /// not errors: the specification says to ignore them.
    pub unknown: Vec<&'s NoteSignature<'s>>,
}

fn key_label(key: &VerifierKey) -> String {
    format!("{}+{}", key.name(), key.key_id())
}

/// The 1-based line number of byte `index` of `input`.
fn line_of(input: &[u8], index: usize) -> usize {
    1 + input.get(..index).unwrap_or(input).iter().filter(|&&byte| byte == b'\n').count()
}

/// Finds the first forbidden control character (below 0x20, other than newline).
/// Bytes checked per step of the control-character scan: a fixed-size, branch-free step the
/// compiler vectorises; only a step that holds a control character is searched byte by byte.
const CONTROL_SCAN_STEP_BYTES: usize = 32;

fn is_forbidden_control(byte: u8) -> bool {
    byte < 0x20 && byte != b'\n'
}

fn check_control_characters(input: &str) -> Result<(), NoteError> {
    let bytes = input.as_bytes();
    let clean_prefix = bytes
        .chunks_exact(CONTROL_SCAN_STEP_BYTES)
        .take_while(|chunk| !chunk.iter().fold(false, |found, &byte| found | is_forbidden_control(byte)))
        .count()
        * CONTROL_SCAN_STEP_BYTES;
    let found = bytes[clean_prefix..].iter().position(|&byte| is_forbidden_control(byte));
    match found.map(|index| index + clean_prefix) {
        Some(index) => Err(NoteError::ControlCharacter { line: line_of(bytes, index), byte: bytes[index] }),
        None => Ok(()),
    }
}

/// Parses a signed note given as bytes: checks UTF-8, then as [`parse_note`].
pub fn parse_note_bytes(input: &[u8]) -> Result<Note<'_>, NoteError> {
    match std::str::from_utf8(input) {
        Ok(text) => parse_note(text),
        Err(error) => Err(NoteError::InvalidUtf8 { line: line_of(input, error.valid_up_to()) }),
    }
}

/// Parses a signed note and checks its syntax (not its signatures).
///
/// The note must hold no ASCII control character but newline, must have a blank line, and
/// after the last blank line must have 1 to [`NOTE_SIGNATURES_MAX`] signature lines, each
/// `— <name> <base64>\n` with a valid key name and canonical base64 of at least 5 bytes. Duplicate
/// lines are allowed, as in Go. Callers bound the input's size before calling.
pub fn parse_note(input: &str) -> Result<Note<'_>, NoteError> {
    check_control_characters(input)?;
    let split = input.rfind("\n\n").ok_or(NoteError::NoBlankLine)?;
    let text = &input[..=split];
    let block = &input[split + 2..];
    if block.is_empty() {
        return Err(NoteError::NoSignatures);
    }
    if !block.ends_with('\n') {
        return Err(NoteError::MissingFinalNewline { line: line_of(input.as_bytes(), input.len()) });
    }
    // Count before decoding anything, so an oversized note costs one scan, not 100 decodings.
    let count = block.bytes().filter(|&byte| byte == b'\n').count();
    if count > NOTE_SIGNATURES_MAX {
        return Err(NoteError::TooManySignatures { count, max: NOTE_SIGNATURES_MAX });
    }
    let first_line = line_of(input.as_bytes(), split + 2);
    let mut signatures = Vec::with_capacity(count);
    for (offset, line) in block.split_terminator('\n').enumerate() {
        signatures.push(parse_signature_line(line, first_line + offset)?);
    }
    Ok(Note { text, signatures })
}

/// Parses one signature line (without its newline).
fn parse_signature_line(line: &str, number: usize) -> Result<NoteSignature<'_>, NoteError> {
    let rest = line.strip_prefix(SIGNATURE_PREFIX).ok_or(NoteError::NotASignatureLine { line: number })?;
    let (name, encoded) = rest.split_once(' ').ok_or(NoteError::MissingSignature { line: number })?;
    check_key_name(name).map_err(|problem| NoteError::BadKeyName { line: number, problem })?;
    if encoded.is_empty() {
        return Err(NoteError::MissingSignature { line: number });
    }
    let bad_base64 = || NoteError::BadSignatureBase64 { line: number };
    let (key_id, bytes) = if padded_decoded_len(encoded) == ED25519_RAW_BYTES {
        let mut raw = [0u8; ED25519_RAW_BYTES];
        match BASE64.decode_slice(encoded, &mut raw) {
            Ok(ED25519_RAW_BYTES) => {}
            Ok(_) | Err(_) => return Err(bad_base64()),
        }
        let (key_id, signature) = raw.split_at(4);
        let mut ed25519 = [0u8; ED25519_SIGNATURE_BYTES];
        ed25519.copy_from_slice(signature);
        (key_id_from(key_id), SignatureBytes::Ed25519(ed25519))
    } else {
        let raw = BASE64.decode(encoded).map_err(|_| bad_base64())?;
        if raw.len() < 5 {
            return Err(NoteError::SignatureTooShort { line: number, bytes: raw.len() });
        }
        (key_id_from(&raw[..4]), SignatureBytes::Other(raw.into_boxed_slice()))
    };
    Ok(NoteSignature { name, key_id, encoded, bytes, line: number })
}

fn key_id_from(bytes: &[u8]) -> KeyId {
    let mut id = [0u8; 4];
    id.copy_from_slice(&bytes[..4]);
    KeyId::from_bytes(id)
}

impl<'a> Note<'a> {
    /// The note text: everything up to and including the newline before the last blank line.
    /// This is what the signatures cover.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The signature lines, in order (duplicates included).
    pub fn signatures(&self) -> &[NoteSignature<'a>] {
        &self.signatures
    }

    fn check(&self, signature: &NoteSignature<'_>, key: &VerifierKey) -> Result<(), NoteError> {
        // A line that claims an Ed25519 key but does not hold 64 bytes cannot be valid.
        let valid = signature.ed25519_signature().is_some_and(|bytes| key.verify(self.text.as_bytes(), bytes));
        if valid { Ok(()) } else { Err(NoteError::InvalidSignature { line: signature.line, key: key_label(key) }) }
    }

    /// Checks that `key` signed the note: at least one line carries its name and key id, and every
    /// such line verifies under the strict rule.
    pub fn verify(&self, key: &VerifierKey) -> Result<(), NoteError> {
        let mut found = false;
        for signature in self.signatures.iter().filter(|signature| signature.is_by(key)) {
            self.check(signature, key)?;
            found = true;
        }
        if found { Ok(()) } else { Err(NoteError::NoSignatureByKey { key: key_label(key) }) }
    }

    /// Checks the note against a list of known keys, as Go's `note.Open` does: a line whose name
    /// and key id match a known key must verify (else the note is refused), lines by unknown keys
    /// are reported but are not errors, and at least one known key must have signed.
    ///
    /// A line matching two listed keys is an error ([`NoteError::AmbiguousKey`]); keys listed
    /// twice but unused are harmless.
    pub fn verify_known<'s>(&'s self, known: &'s [VerifierKey]) -> Result<Verified<'s>, NoteError> {
        let mut signers: Vec<&'s VerifierKey> = Vec::new();
        let mut unknown: Vec<&'s NoteSignature<'s>> = Vec::new();
        for signature in &self.signatures {
            let mut matching = known.iter().filter(|key| signature.is_by(key));
            match (matching.next(), matching.next()) {
                (None, _) => {
                    if !unknown.iter().any(|seen| seen.same_as(signature)) {
                        unknown.push(signature);
                    }
                }
                (Some(_), Some(_)) => {
                    return Err(NoteError::AmbiguousKey { line: signature.line, key: signature.label() });
                }
                (Some(key), None) => {
                    self.check(signature, key)?;
                    if !signers.iter().any(|seen| std::ptr::eq(*seen, key)) {
                        signers.push(key);
                    }
                }
            }
        }
        if signers.is_empty() {
            let mut unknown_signers: Vec<String> = Vec::new();
            for signature in &unknown {
                let label = signature.label();
                if !unknown_signers.contains(&label) {
                    unknown_signers.push(label);
                }
            }
            return Err(NoteError::NoVerifiedSignature { unknown_signers });
        }
        Ok(Verified { signers, unknown })
    }
}

/// Formats one signature line: `— <name> <base64(key id || signature)>\n`.
pub fn signature_line(name: &KeyName, key_id: KeyId, signature: &[u8]) -> String {
    let mut raw = Vec::with_capacity(4 + signature.len());
    raw.extend_from_slice(&key_id.to_bytes());
    raw.extend_from_slice(signature);
    let mut line = String::with_capacity(SIGNATURE_PREFIX.len() + name.as_str().len() + 2 + raw.len().div_ceil(3) * 4);
    line.push_str(SIGNATURE_PREFIX);
    line.push_str(name.as_str());
    line.push(' ');
    BASE64.encode_string(raw, &mut line);
    line.push('\n');
    line
}

/// Checks that a text can be signed: non-empty, ends with a newline, no control character but
/// newline (so that the signed note parses back to exactly this text).
fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() {
        return Err(NoteError::EmptyText);
    }
    check_control_characters(text)?;
    if !text.ends_with('\n') {
        return Err(NoteError::TextMissingFinalNewline);
    }
    Ok(())
}

/// Refuses a signer that already signed (`existing`) or appears twice in `signers`.
fn check_signers(existing: &[NoteSignature<'_>], signers: &[&SignerKey]) -> Result<(), NoteError> {
    if signers.is_empty() {
        return Err(NoteError::NoSigners);
    }
    let count = existing.len() + signers.len();
    if count > NOTE_SIGNATURES_MAX {
        return Err(NoteError::TooManySignatures { count, max: NOTE_SIGNATURES_MAX });
    }
    for (index, signer) in signers.iter().enumerate() {
        let same = |name: &str, key_id: KeyId| name == signer.name().as_str() && key_id == signer.key_id();
        let signed_before = existing.iter().any(|signature| same(signature.name, signature.key_id))
            || signers[..index].iter().any(|earlier| same(earlier.name().as_str(), earlier.key_id()));
        if signed_before {
            return Err(NoteError::DuplicateSigner { key: format!("{}+{}", signer.name(), signer.key_id()) });
        }
    }
    Ok(())
}

fn push_signatures(output: &mut String, text: &str, signers: &[&SignerKey]) {
    for signer in signers {
        output.push_str(&signature_line(signer.name(), signer.key_id(), &signer.sign(text.as_bytes())));
    }
}

/// Signs `text` with each signer in turn and returns the signed note (text, blank line, one
/// signature line per signer in the order given).
pub fn sign_note(text: &str, signers: &[&SignerKey]) -> Result<String, NoteError> {
    check_text(text)?;
    check_signers(&[], signers)?;
    let mut output = String::with_capacity(text.len() + 1 + signers.len() * 128);
    output.push_str(text);
    output.push('\n');
    push_signatures(&mut output, text, signers);
    Ok(output)
}

/// Adds signatures to an already signed note (as for the genesis, which every founder signs in
/// turn): the existing lines are kept as they are, the new ones appended in the order given.
///
/// Refuses a key that already has a line on the note. The existing signatures are not verified
/// here (no keys are given); verify the result.
pub fn add_signatures(signed_note: &str, signers: &[&SignerKey]) -> Result<String, NoteError> {
    let note = parse_note(signed_note)?;
    check_signers(&note.signatures, signers)?;
    let mut output = String::with_capacity(signed_note.len() + signers.len() * 128);
    output.push_str(signed_note);
    push_signatures(&mut output, note.text, signers);
    Ok(output)
}
