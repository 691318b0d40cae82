//! Sealed records: what members may know and the public may not.
//!
//! Every feed is readable by every auditor, so sensitive data enters a feed only encrypted. This
//! module owns the three pieces of that:
//!
//! - **Recipients and identities.** Each member publishes an age X25519 recipient (`age1…`) in
//!   the genesis, in `member.proposed` or in `recipient.rotated`; its node keeps the matching
//!   identity (`AGE-SECRET-KEY-1…`) outside the data directory.
//! - **Data keys and grants.** A sealed record is encrypted with a random 32-byte *data key*
//!   (XChaCha20-Poly1305), never with the recipients directly. The data key travels to the members
//!   in a *key grant*: an age file encrypted to every current member's recipient. Grants never
//!   enter a feed; they live in each node's private store and on a deletable NATS stream, so the
//!   members can destroy a data key together (crypto-shredding) while the signed chain, which
//!   holds only ciphertext, stays valid forever.
//! - **Sealed records.** The clear `sealed` event carries the data key's id and the ciphertext,
//!   nothing else; the ciphertext opens to a [`SealedRecord`]: an ordinary event kind, the case it
//!   belongs to and its fields, which may include the sensitive fields a clear body refuses.
//!
//! Reports from the public form are sealed with age directly to the members' recipients
//! ([`seal_to_recipients`]): each is read once and then accepted or deleted.
//!
//! The ciphertext's associated data binds it to the ledger, the org whose feed carries it and the
//! data key id, so a member cannot re-sign another member's ciphertext as its own and have it open.
//! Plaintexts are padded to [`PADDING_BLOCK_BYTES`] so the size the public sees says little.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::body::EventKind;
use crate::id::{EventId, LedgerId, OrgSlug};

/// Bytes of a data key.
pub const DATA_KEY_BYTES: usize = 32;
/// Bytes of a data key id (hex-encoded in JSON: twice as many characters).
pub const DATA_KEY_ID_BYTES: usize = 16;
/// Bytes of the random XChaCha20 nonce that opens every sealed ciphertext.
pub const NONCE_BYTES: usize = 24;
/// Bytes of the Poly1305 tag that closes every sealed ciphertext.
pub const TAG_BYTES: usize = 16;
/// Plaintexts are padded to a multiple of this many bytes before encryption.
pub const PADDING_BLOCK_BYTES: usize = 256;
/// Longest canonical JSON of a sealed record, before padding.
pub const SEALED_RECORD_BYTES_MAX: usize = 32 * 1024;
/// Longest sealed ciphertext (nonce, padded record, tag).
pub const SEALED_CIPHERTEXT_BYTES_MAX: usize =
    NONCE_BYTES + SEALED_RECORD_BYTES_MAX.div_ceil(PADDING_BLOCK_BYTES) * PADDING_BLOCK_BYTES + TAG_BYTES;
/// Most fields in one sealed record.
pub const SEALED_FIELDS_MAX: usize = 64;
/// Longest field name in a sealed record, in bytes.
pub const SEALED_FIELD_NAME_BYTES_MAX: usize = 64;
/// Most texts in one list field of a sealed record.
pub const SEALED_FIELD_ITEMS_MAX: usize = 64;
/// Longest text in a sealed record, in characters.
pub const SEALED_TEXT_CHARS_MAX: usize = 10_000;
/// Most recipients a grant or a report is sealed to: one per member.
pub const RECIPIENTS_MAX: usize = crate::limits::MEMBERS_MAX;
/// Longest age file accepted as a key grant (its header grows by one stanza per recipient).
pub const GRANT_BYTES_MAX: usize = 16 * 1024;
/// Longest plaintext sealed to recipients directly (a report from the public form), before padding.
pub const DIRECT_PLAINTEXT_BYTES_MAX: usize = 64 * 1024;
/// Longest age file accepted for a directly sealed plaintext.
pub const DIRECT_CIPHERTEXT_BYTES_MAX: usize = DIRECT_PLAINTEXT_BYTES_MAX + GRANT_BYTES_MAX + 1024;
/// Longest recipient text, in bytes.
pub const RECIPIENT_BYTES_MAX: usize = 200;

const ASSOCIATED_DATA_PREFIX: &[u8] = b"coalition-ledger sealed record v1\n";
const GRANT_MAGIC: &[u8] = b"coalition-ledger key grant v1\n";

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// A recipient or identity text is not valid.
    #[error("{what} is not valid: {reason}")]
    Key {
        /// Which kind of key text.
        what: &'static str,
        /// Why, in plain words.
        reason: String,
    },
    /// Nobody to seal to.
    #[error("there are no recipients to seal to")]
    NoRecipients,
    /// More recipients than a coalition can have members.
    #[error("{count} recipients; at most {RECIPIENTS_MAX} are allowed")]
    TooManyRecipients {
        /// How many were given.
        count: usize,
    },
    /// A plaintext or ciphertext is larger than its limit.
    #[error("{what} is {bytes} bytes; at most {max} are allowed")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The ciphertext does not open with this key or identity: wrong key, another ledger or org,
    /// or altered bytes.
    #[error("the {what} does not open: wrong key, or the bytes were altered")]
    DoesNotOpen {
        /// What did not open.
        what: &'static str,
    },
    /// It opened, but what is inside is not a valid record or grant.
    #[error("the {what} opened but is not valid: {reason}")]
    Invalid {
        /// What was invalid.
        what: &'static str,
        /// Why, in plain words.
        reason: String,
    },
    /// The operating system's random generator failed.
    #[error("no randomness available: {0}")]
    Random(String),
}

fn random_bytes<const N: usize>() -> Result<[u8; N], SealError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|error| SealError::Random(error.to_string()))?;
    Ok(bytes)
}

// ---------------------------------------------------------------------------------------------
// Recipients and identities
// ---------------------------------------------------------------------------------------------

/// A member's public encryption key: an age X25519 recipient, `age1…`.
#[derive(Clone)]
pub struct Recipient(age::x25519::Recipient);

impl Recipient {
    /// Parses an `age1…` recipient text.
    pub fn parse(text: &str) -> Result<Self, SealError> {
        if text.len() > RECIPIENT_BYTES_MAX {
            return Err(SealError::Key {
                what: "recipient",
                reason: format!("longer than {RECIPIENT_BYTES_MAX} bytes"),
            });
        }
        // One spelling: bech32 allows upper case, the ledger does not.
        if text.bytes().any(|byte| byte.is_ascii_uppercase()) {
            return Err(SealError::Key { what: "recipient", reason: "must be lowercase".to_owned() });
        }
        text.parse::<age::x25519::Recipient>()
            .map(Self)
            .map_err(|reason| SealError::Key { what: "recipient", reason: reason.to_owned() })
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Recipient({})", self.0)
    }
}

impl PartialEq for Recipient {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Recipient {}

impl FromStr for Recipient {
    type Err = SealError;
    fn from_str(text: &str) -> Result<Self, SealError> {
        Self::parse(text)
    }
}

/// A member's secret decryption key: an age X25519 identity, `AGE-SECRET-KEY-1…`. Its `Debug`
/// never shows the secret.
#[derive(Clone)]
pub struct Identity(age::x25519::Identity);

impl Identity {
    /// A new random identity.
    pub fn generate() -> Self {
        Self(age::x25519::Identity::generate())
    }

    /// Parses an identity text; surrounding white space and `#` comment lines (as `age-keygen`
    /// writes them) are ignored.
    pub fn parse(text: &str) -> Result<Self, SealError> {
        let mut keys = text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'));
        let (Some(key), None) = (keys.next(), keys.next()) else {
            return Err(SealError::Key {
                what: "identity",
                reason: "expected exactly one AGE-SECRET-KEY-1… line".to_owned(),
            });
        };
        key.parse::<age::x25519::Identity>()
            .map(Self)
            .map_err(|reason| SealError::Key { what: "identity", reason: reason.to_owned() })
    }

    /// The public recipient of this identity.
    pub fn recipient(&self) -> Recipient {
        Recipient(self.0.to_public())
    }

    /// The secret text, for writing to the identity file (and nowhere else).
    pub fn to_secret_text(&self) -> String {
        use age::secrecy::ExposeSecret as _;
        self.0.to_string().expose_secret().to_owned()
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Identity(for {})", self.0.to_public())
    }
}

/// Encrypts `plaintext` to every recipient as one age file. Used for key grants and for reports.
pub fn seal_to_recipients(plaintext: &[u8], recipients: &[Recipient]) -> Result<Vec<u8>, SealError> {
    if recipients.is_empty() {
        return Err(SealError::NoRecipients);
    }
    if recipients.len() > RECIPIENTS_MAX {
        return Err(SealError::TooManyRecipients { count: recipients.len() });
    }
    if plaintext.len() > DIRECT_PLAINTEXT_BYTES_MAX {
        return Err(SealError::TooLarge { what: "plaintext", bytes: plaintext.len(), max: DIRECT_PLAINTEXT_BYTES_MAX });
    }
    let padded = pad(plaintext);
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|recipient| &recipient.0 as &dyn age::Recipient))
            .map_err(|error| SealError::Key { what: "recipient", reason: error.to_string() })?;
    let mut sealed = Vec::with_capacity(padded.len() + 200 * recipients.len());
    let write = |sealed: &mut Vec<u8>| -> std::io::Result<()> {
        let mut writer = encryptor.wrap_output(sealed)?;
        writer.write_all(&padded)?;
        writer.finish()?;
        Ok(())
    };
    write(&mut sealed).map_err(|error| SealError::Invalid { what: "age file", reason: error.to_string() })?;
    Ok(sealed)
}

/// Decrypts an age file made by [`seal_to_recipients`] with one member's identity.
pub fn open_with_identity(sealed: &[u8], identity: &Identity) -> Result<Vec<u8>, SealError> {
    open_with_identity_at(sealed, identity, None)
}

/// [`open_with_identity`], trying first the recipient stanza at `position` (the identity's
/// recipient's place in the sealing set the file was made for, which [`seal_to_recipients`]
/// keeps), then the others. age stanzas name no recipient, so without the position every stanza
/// before ours costs one X25519 agreement; with it, opening a file made for the current set
/// costs one. A wrong position only costs the search it would have cost anyway.
pub fn open_with_identity_at(
    sealed: &[u8],
    identity: &Identity,
    position: Option<usize>,
) -> Result<Vec<u8>, SealError> {
    if sealed.len() > DIRECT_CIPHERTEXT_BYTES_MAX {
        return Err(SealError::TooLarge { what: "age file", bytes: sealed.len(), max: DIRECT_CIPHERTEXT_BYTES_MAX });
    }
    let hinted = PositionedIdentity { identity: &identity.0, position };
    let padded = age::decrypt(&hinted, sealed).map_err(|_| SealError::DoesNotOpen { what: "age file" })?;
    unpad(&padded).ok_or_else(|| SealError::Invalid { what: "age file", reason: "bad padding".to_owned() })
}

/// An X25519 identity that tries one stanza first (see [`open_with_identity_at`]).
struct PositionedIdentity<'a> {
    identity: &'a age::x25519::Identity,
    position: Option<usize>,
}

impl age::Identity for PositionedIdentity<'_> {
    fn unwrap_stanza(
        &self,
        stanza: &age_core::format::Stanza,
    ) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
        self.identity.unwrap_stanza(stanza)
    }

    fn unwrap_stanzas(
        &self,
        stanzas: &[age_core::format::Stanza],
    ) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
        let first = self.position.and_then(|position| stanzas.get(position));
        first.and_then(|stanza| self.identity.unwrap_stanza(stanza)).or_else(|| {
            stanzas
                .iter()
                .enumerate()
                .filter(|(index, _)| Some(*index) != self.position)
                .find_map(|(_, stanza)| self.identity.unwrap_stanza(stanza))
        })
    }
}

/// Appends the 4-byte big-endian length in front and zero bytes behind, up to a whole number
/// of padding blocks.
fn pad(plaintext: &[u8]) -> Vec<u8> {
    let length = u32::try_from(plaintext.len()).unwrap_or(u32::MAX);
    let padded_len = (plaintext.len() + 4).div_ceil(PADDING_BLOCK_BYTES) * PADDING_BLOCK_BYTES;
    let mut padded = Vec::with_capacity(padded_len);
    padded.extend_from_slice(&length.to_be_bytes());
    padded.extend_from_slice(plaintext);
    padded.resize(padded_len, 0);
    padded
}

fn unpad(padded: &[u8]) -> Option<Vec<u8>> {
    let (length, rest) = padded.split_first_chunk::<4>()?;
    let length = usize::try_from(u32::from_be_bytes(*length)).ok()?;
    let (plaintext, padding) = (rest.get(..length)?, rest.get(length..)?);
    (padded.len().is_multiple_of(PADDING_BLOCK_BYTES) && padding.iter().all(|&byte| byte == 0))
        .then(|| plaintext.to_vec())
}

// ---------------------------------------------------------------------------------------------
// Data keys and grants
// ---------------------------------------------------------------------------------------------

/// The public name of a data key: 16 random bytes, written as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataKeyId([u8; DATA_KEY_ID_BYTES]);

impl DataKeyId {
    /// A new random id.
    pub fn generate() -> Result<Self, SealError> {
        random_bytes().map(Self)
    }

    /// Parses 32 lowercase hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != DATA_KEY_ID_BYTES * 2 || !text.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut bytes = [0u8; DATA_KEY_ID_BYTES];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Self(bytes))
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; DATA_KEY_ID_BYTES] {
        &self.0
    }
}

impl fmt::Display for DataKeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for DataKeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "DataKeyId({self})")
    }
}

impl FromStr for DataKeyId {
    type Err = SealError;
    fn from_str(text: &str) -> Result<Self, SealError> {
        Self::parse(text).ok_or_else(|| SealError::Key {
            what: "data key id",
            reason: format!("expected {} lowercase hex digits", DATA_KEY_ID_BYTES * 2),
        })
    }
}

impl Serialize for DataKeyId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DataKeyId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format_args!("a data key id is {} lowercase hex digits", DATA_KEY_ID_BYTES * 2))
        })
    }
}

/// A secret data key. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey([u8; DATA_KEY_BYTES]);

impl DataKey {
    /// A new random key.
    pub fn generate() -> Result<Self, SealError> {
        random_bytes().map(Self)
    }

    /// The raw secret bytes.
    pub const fn as_bytes(&self) -> &[u8; DATA_KEY_BYTES] {
        &self.0
    }
}

impl From<[u8; DATA_KEY_BYTES]> for DataKey {
    fn from(bytes: [u8; DATA_KEY_BYTES]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("DataKey(secret)")
    }
}

/// What a key grant gives a member: a data key, its id, and the case its records belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyGrant {
    /// The data key's public id, as sealed events name it.
    pub key_id: DataKeyId,
    /// The secret data key.
    pub key: DataKey,
    /// The case whose sealed records this key opens, if it belongs to one.
    pub case: Option<EventId>,
}

impl KeyGrant {
    /// A new grant with a fresh random key and id.
    pub fn generate(case: Option<EventId>) -> Result<Self, SealError> {
        Ok(Self { key_id: DataKeyId::generate()?, key: DataKey::generate()?, case })
    }

    /// Seals the grant to every recipient (an age file). The result may be stored and sent
    /// anywhere: only the recipients' identities open it.
    pub fn seal(&self, recipients: &[Recipient]) -> Result<Vec<u8>, SealError> {
        let mut plaintext = Vec::with_capacity(GRANT_MAGIC.len() + DATA_KEY_ID_BYTES + DATA_KEY_BYTES + 32);
        plaintext.extend_from_slice(GRANT_MAGIC);
        plaintext.extend_from_slice(&self.key_id.0);
        plaintext.extend_from_slice(&self.key.0);
        if let Some(case) = &self.case {
            plaintext.extend_from_slice(case.as_bytes());
        }
        seal_to_recipients(&plaintext, recipients)
    }

    /// Opens a sealed grant with one member's identity.
    pub fn open(sealed: &[u8], identity: &Identity) -> Result<Self, SealError> {
        Self::open_at(sealed, identity, None)
    }

    /// [`KeyGrant::open`], trying first the stanza at `position` (the identity's recipient's
    /// place in the sealing set: see [`open_with_identity_at`]).
    pub fn open_at(sealed: &[u8], identity: &Identity, position: Option<usize>) -> Result<Self, SealError> {
        if sealed.len() > GRANT_BYTES_MAX {
            return Err(SealError::TooLarge { what: "key grant", bytes: sealed.len(), max: GRANT_BYTES_MAX });
        }
        let plaintext = open_with_identity_at(sealed, identity, position)?;
        let invalid = |reason: &str| SealError::Invalid { what: "key grant", reason: reason.to_owned() };
        let rest = plaintext.strip_prefix(GRANT_MAGIC).ok_or_else(|| invalid("not a key grant"))?;
        let (key_id, rest) = rest.split_first_chunk::<DATA_KEY_ID_BYTES>().ok_or_else(|| invalid("too short"))?;
        let (key, rest) = rest.split_first_chunk::<DATA_KEY_BYTES>().ok_or_else(|| invalid("too short"))?;
        let case = match rest.len() {
            0 => None,
            32 => {
                let mut bytes = [0u8; 32];
                bytes.copy_from_slice(rest);
                Some(EventId::from_bytes(bytes))
            }
            _ => return Err(invalid("trailing bytes")),
        };
        Ok(Self { key_id: DataKeyId(*key_id), key: DataKey(*key), case })
    }
}

// ---------------------------------------------------------------------------------------------
// Sealed records
// ---------------------------------------------------------------------------------------------

/// One value in a sealed record: a text or a list of texts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SealedValue {
    /// One text.
    Text(String),
    /// Several texts.
    List(Vec<String>),
}

/// What a sealed event holds once opened: an ordinary event kind, the case it is about, and
/// its fields, which may include what a clear body refuses (sensitive signs, contacts, health,
/// deliberation on exclusions, sources). Members read it; the public projection never does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedRecord {
    /// The case the record belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<EventId>,
    /// The record's fields, by name.
    pub fields: BTreeMap<String, SealedValue>,
    /// The kind of event the record is (for example `sign.noted` for a sensitive sign).
    pub kind: EventKind,
}

impl SealedRecord {
    /// Checks the bounds and text rules: field count, names of lowercase letters, digits and
    /// `_`, texts without control or bidirectional characters, lengths.
    pub fn validate(&self) -> Result<(), SealError> {
        let invalid = |reason: String| SealError::Invalid { what: "sealed record", reason };
        if self.fields.is_empty() {
            return Err(invalid("a sealed record has at least one field".to_owned()));
        }
        if self.fields.len() > SEALED_FIELDS_MAX {
            return Err(invalid(format!("{} fields; at most {SEALED_FIELDS_MAX} are allowed", self.fields.len())));
        }
        for (name, value) in &self.fields {
            let name_ok = !name.is_empty()
                && name.len() <= SEALED_FIELD_NAME_BYTES_MAX
                && name.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
            if !name_ok {
                return Err(invalid(format!(
                    "field name {:?} must be 1 to {SEALED_FIELD_NAME_BYTES_MAX} lowercase letters, digits or _",
                    name.chars().take(80).collect::<String>()
                )));
            }
            let texts: &[String] = match value {
                SealedValue::Text(text) => std::slice::from_ref(text),
                SealedValue::List(items) if items.len() > SEALED_FIELD_ITEMS_MAX => {
                    return Err(invalid(format!("{name}: {} items; at most {SEALED_FIELD_ITEMS_MAX}", items.len())));
                }
                SealedValue::List(items) => items,
            };
            for text in texts {
                if let Some(problem) = crate::body::free_text_problem(text, SEALED_TEXT_CHARS_MAX) {
                    return Err(invalid(format!("{name}: {problem}")));
                }
            }
        }
        Ok(())
    }

    /// The record's canonical JSON.
    pub fn to_canonical_json(&self) -> Result<Vec<u8>, SealError> {
        let value = serde_json::to_value(self)
            .map_err(|error| SealError::Invalid { what: "sealed record", reason: error.to_string() })?;
        serde_json_canonicalizer::to_vec(&value)
            .map_err(|error| SealError::Invalid { what: "sealed record", reason: error.to_string() })
    }
}

/// Where a sealed record is published: the ledger and the org whose feed carries it. Bound into
/// the ciphertext so it opens nowhere else.
#[derive(Clone, Copy, Debug)]
pub struct SealContext<'a> {
    /// The ledger.
    pub ledger: &'a LedgerId,
    /// The org whose feed carries the sealed event.
    pub org: &'a OrgSlug,
}

impl SealContext<'_> {
    fn associated_data(&self, key_id: &DataKeyId) -> Vec<u8> {
        let mut data = Vec::with_capacity(ASSOCIATED_DATA_PREFIX.len() + 64 + 1 + 32 + 1 + 32);
        data.extend_from_slice(ASSOCIATED_DATA_PREFIX);
        data.extend_from_slice(self.ledger.to_string().as_bytes());
        data.push(b'\n');
        data.extend_from_slice(self.org.as_str().as_bytes());
        data.push(b'\n');
        data.extend_from_slice(key_id.to_string().as_bytes());
        data
    }
}

/// Encrypts a record with a data key. Returns the ciphertext (nonce, padded record, tag) as
/// the base64 text a `sealed` body carries.
pub fn seal_record(record: &SealedRecord, grant: &KeyGrant, context: SealContext<'_>) -> Result<String, SealError> {
    record.validate()?;
    let json = record.to_canonical_json()?;
    if json.len() > SEALED_RECORD_BYTES_MAX {
        return Err(SealError::TooLarge { what: "sealed record", bytes: json.len(), max: SEALED_RECORD_BYTES_MAX });
    }
    let nonce: [u8; NONCE_BYTES] = random_bytes()?;
    let cipher = XChaCha20Poly1305::new(grant.key.as_bytes().into());
    let associated = context.associated_data(&grant.key_id);
    let encrypted = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: &pad(&json), aad: &associated })
        .map_err(|_| SealError::Invalid { what: "sealed record", reason: "encryption failed".to_owned() })?;
    let mut ciphertext = Vec::with_capacity(NONCE_BYTES + encrypted.len());
    ciphertext.extend_from_slice(&nonce);
    ciphertext.extend_from_slice(&encrypted);
    Ok(BASE64.encode(ciphertext))
}

/// Decodes a `sealed` body's ciphertext text and checks its size, without any key. The body
/// validation runs this, so every node refuses a malformed sealed event the same way.
pub fn decode_ciphertext(text: &str) -> Result<Vec<u8>, SealError> {
    let bytes_max = SEALED_CIPHERTEXT_BYTES_MAX;
    if text.len() > bytes_max.div_ceil(3) * 4 {
        return Err(SealError::TooLarge { what: "ciphertext", bytes: text.len() / 4 * 3, max: bytes_max });
    }
    let bytes = BASE64
        .decode(text)
        .map_err(|error| SealError::Invalid { what: "ciphertext", reason: format!("not base64: {error}") })?;
    // One spelling: the padded standard alphabet, as written by `seal_record`.
    if BASE64.encode(&bytes) != text {
        return Err(SealError::Invalid { what: "ciphertext", reason: "not in canonical base64".to_owned() });
    }
    let body_len = bytes.len().saturating_sub(NONCE_BYTES + TAG_BYTES);
    if bytes.len() < NONCE_BYTES + TAG_BYTES + PADDING_BLOCK_BYTES || !body_len.is_multiple_of(PADDING_BLOCK_BYTES) {
        return Err(SealError::Invalid {
            what: "ciphertext",
            reason: format!("{} bytes is not a nonce, whole padding blocks and a tag", bytes.len()),
        });
    }
    if bytes.len() > bytes_max {
        return Err(SealError::TooLarge { what: "ciphertext", bytes: bytes.len(), max: bytes_max });
    }
    Ok(bytes)
}

/// Opens a `sealed` body's ciphertext with the grant of its data key.
pub fn open_record(ciphertext: &str, grant: &KeyGrant, context: SealContext<'_>) -> Result<SealedRecord, SealError> {
    let bytes = decode_ciphertext(ciphertext)?;
    let (nonce, encrypted) = bytes.split_at(NONCE_BYTES);
    let cipher = XChaCha20Poly1305::new(grant.key.as_bytes().into());
    let associated = context.associated_data(&grant.key_id);
    let padded = cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: encrypted, aad: &associated })
        .map_err(|_| SealError::DoesNotOpen { what: "sealed record" })?;
    let json =
        unpad(&padded).ok_or_else(|| SealError::Invalid { what: "sealed record", reason: "bad padding".to_owned() })?;
    let record: SealedRecord = serde_json::from_slice(&json)
        .map_err(|error| SealError::Invalid { what: "sealed record", reason: error.to_string() })?;
    record.validate()?;
    Ok(record)
}
