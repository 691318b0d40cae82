//! Keys, key names, key ids and the one Ed25519 validity rule.
//!
//! Every member signs with an Ed25519 key, written down in the text forms of C2SP signed notes
//! (<https://c2sp.org/signed-note>) and of Go's `golang.org/x/mod/sumdb/note`:
//!
//! - a [`KeyName`] names the key (`coalition.example/zmina`);
//! - a [`KeyId`] is the first 4 bytes of `SHA-256(name || 0x0A || 0x01 || public key)`;
//! - a [`VerifierKey`] is the public half, `<name>+<8 hex key id>+<base64(0x01 || public key)>`;
//! - a [`SignerKey`] is the secret half, `PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || seed)>`.
//!
//! # The validity rule
//!
//! A ledger is only useful if every node, today and in ten years, reaches the same verdict on the
//! same bytes. Ed25519 libraries disagree on edge cases (small-order points, non-canonical
//! encodings, cofactored or cofactorless equations), so the project fixes one rule and applies it
//! everywhere:
//!
//! 1. A public key is accepted ([`VerifierKey::parse`], [`VerifierKey::from_ed25519`]) only if it
//!    is the canonical encoding of a curve point, is not of small order, and is torsion-free (no
//!    low-order component). Honest keys always pass: a key derived from a seed is a multiple of
//!    the prime-order base point. Refusing the rest at registration means no later rule change can
//!    make an already registered key behave differently.
//! 2. A signature is valid only if ed25519-dalek's `verify_strict` accepts it: `S` canonical,
//!    `R` canonically encoded and not of small order, `A` not of small order, and the
//!    cofactorless equation `[S]B = R + [k]A` holds. [`crate::strict`] computes exactly this
//!    decision with the per-key work done once; the tests compare it with `verify_strict` itself.
//!
//! Batch verification is deliberately not used. A batch checks a random linear combination of the
//! equations multiplied by the cofactor, so it can accept a signature whose `R` has a small-order
//! component that the single, cofactorless `verify_strict` rejects; whether such a signature
//! passes would then depend on which other signatures were in the batch and on random
//! coefficients, and two nodes could disagree about the same event.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::strict::StrictVerifier;

/// Longest key name accepted, in bytes. The signed-note specification sets no bound; a bound
/// keeps signature lines and error messages small, and real names (`host/path`) are far shorter.
pub const KEY_NAME_BYTES_MAX: usize = 256;

/// The signed-note signature type byte of Ed25519, the only type this project signs or verifies.
pub const SIGNATURE_TYPE_ED25519: u8 = 0x01;

/// Length of an Ed25519 signature, in bytes.
pub const ED25519_SIGNATURE_BYTES: usize = 64;

/// Length of an Ed25519 public key and of an Ed25519 seed, in bytes.
pub const ED25519_KEY_BYTES: usize = 32;

/// Length of `base64(type byte || 32 bytes)`: 33 bytes encode to exactly 44 characters.
const KEY_MATERIAL_BASE64_BYTES: usize = 44;

/// The prefix of a signer key's text form, as written by Go's `note.GenerateKey`.
const SIGNER_PREFIX: &str = "PRIVATE+KEY+";

/// Standard base64 (RFC 4648 section 4) with canonical padding and zero trailing bits required.
///
/// Go's decoder accepts non-zero trailing bits; refusing them gives every key and signature
/// exactly one spelling, so text forms round-trip byte for byte and cannot be altered unnoticed.
pub(crate) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_allow_trailing_bits(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// The number of bytes a canonically padded base64 text decodes to (meaningful only if it is
/// valid base64), computed without decoding.
pub(crate) fn padded_decoded_len(text: &str) -> usize {
    let padding = text.bytes().rev().take_while(|&byte| byte == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding)
}

/// Why a key, key name or key id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key name is empty.
    #[error("the key name is empty")]
    EmptyName,
    /// The key name is longer than [`KEY_NAME_BYTES_MAX`].
    #[error("the key name is {bytes} bytes long; at most {KEY_NAME_BYTES_MAX} are allowed")]
    NameTooLong {
        /// Length of the refused name, in bytes.
        bytes: usize,
    },
    /// The key name contains a Unicode space, a `+` or an ASCII control character (below U+0020).
    #[error("the key name contains {character:?}, which is not allowed (no spaces, no '+', no control characters)")]
    NameForbiddenCharacter {
        /// The first forbidden character found.
        character: char,
    },
    /// The key id is not 8 lowercase hexadecimal digits.
    #[error("the key id must be 8 lowercase hex digits, found {found:?}")]
    BadKeyId {
        /// The refused text (at most 16 characters of it).
        found: String,
    },
    /// The text form lacks one of its `+`-separated parts.
    #[error("the key text has no {part} (expected {expected})")]
    MissingPart {
        /// The part that is missing.
        part: &'static str,
        /// The expected shape of the whole text.
        expected: &'static str,
    },
    /// A signer key's text does not start with `PRIVATE+KEY+`.
    #[error("a signer key must start with \"PRIVATE+KEY+\"")]
    NotASignerKey,
    /// The key material is not valid standard base64 with canonical padding.
    #[error("the key material is not valid standard base64 (with '=' padding and no stray bits)")]
    BadBase64,
    /// The decoded key material has the wrong length.
    #[error("the key material is {found} bytes long; expected {expected} (type byte and key)")]
    WrongLength {
        /// Expected length, in bytes, including the type byte.
        expected: usize,
        /// Decoded length, in bytes.
        found: usize,
    },
    /// The signature type byte is not 0x01 (Ed25519).
    #[error("signature type 0x{0:02x} is not supported; only Ed25519 (0x01) is")]
    UnknownSignatureType(u8),
    /// The key id written in the text is not the one computed from the name and the key.
    #[error("the key id {stated} does not match the key: its name and public key give {computed}")]
    KeyIdMismatch {
        /// The key id written in the text.
        stated: KeyId,
        /// The key id computed from the name and public key.
        computed: KeyId,
    },
    /// The 32 bytes are not the encoding of any point of the curve.
    #[error("the public key is not the encoding of a point of the Ed25519 curve")]
    NotACurvePoint,
    /// The public key encodes a curve point, but not in its one canonical form.
    #[error("the public key is a non-canonical encoding of its curve point")]
    NonCanonicalKey,
    /// The public key is a point of small order: it could "sign" almost any message.
    #[error("the public key is a weak key (a point of small order)")]
    WeakKey,
    /// The public key has a low-order (torsion) component, which verifiers may treat differently.
    #[error("the public key has a low-order (torsion) component")]
    TorsionComponent,
}

/// Checks a key name without copying it: non-empty, at most [`KEY_NAME_BYTES_MAX`] bytes, no
/// Unicode white space, no `+` and no ASCII control character below U+0020.
///
/// Control characters are refused here too (the specification forbids them in the note as a
/// whole, not in names) so that every valid name can appear in a valid signature line. DEL
/// (U+007F) is allowed, as in notes.
pub(crate) fn check_key_name(name: &str) -> Result<(), KeyError> {
    if name.is_empty() {
        return Err(KeyError::EmptyName);
    }
    if name.len() > KEY_NAME_BYTES_MAX {
        return Err(KeyError::NameTooLong { bytes: name.len() });
    }
    // `char::is_whitespace` is Unicode's White_Space property, the same set as Go's
    // `unicode.IsSpace`, which the reference implementation uses.
    match name.chars().find(|&character| character.is_whitespace() || character == '+' || character < ' ') {
        Some(character) => Err(KeyError::NameForbiddenCharacter { character }),
        None => Ok(()),
    }
}

/// A signed-note key name: non-empty UTF-8, no Unicode spaces, no `+`, no control characters, at
/// most [`KEY_NAME_BYTES_MAX`] bytes. The project uses schema-less URLs such as
/// `coalition.example/zmina`, as the specification recommends.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyName(String);

impl KeyName {
    /// Checks and wraps a key name.
    pub fn parse(name: &str) -> Result<Self, KeyError> {
        check_key_name(name)?;
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl fmt::Debug for KeyName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "KeyName({})", self.0)
    }
}

impl FromStr for KeyName {
    type Err = KeyError;
    fn from_str(text: &str) -> Result<Self, KeyError> {
        Self::parse(text)
    }
}

impl Serialize for KeyName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::id::deserialize_from_text(deserializer, "text", Self::parse)
    }
}

/// A signed-note key id: 4 bytes that, with the key name, pick out the key a signature line
/// claims. For Ed25519 it is the first 4 bytes of `SHA-256(name || 0x0A || 0x01 || public key)`.
///
/// It is an identifier, not a fingerprint: anyone can make a key with a given id, so a match only
/// says which configured key to try.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId([u8; 4]);

impl KeyId {
    /// Wraps 4 raw bytes (big-endian, as written in a signature).
    pub const fn from_bytes(bytes: [u8; 4]) -> Self {
        Self(bytes)
    }

    /// The 4 raw bytes, big-endian.
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0
    }

    /// The key id as the big-endian number Go's implementation calls the key hash.
    pub const fn to_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }

    /// The key id of an Ed25519 public key under a name.
    pub fn ed25519(name: &KeyName, public_key: &[u8; ED25519_KEY_BYTES]) -> Self {
        key_id_of(name.as_str(), &[SIGNATURE_TYPE_ED25519], public_key)
    }

    /// Parses 8 lowercase hex digits (upper case is refused: one key id, one spelling).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let valid = text.len() == 8 && text.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
        let mut bytes = [0u8; 4];
        if !valid || hex::decode_to_slice(text, &mut bytes).is_err() {
            return Err(KeyError::BadKeyId { found: text.chars().take(16).collect() });
        }
        Ok(Self(bytes))
    }
}

/// `SHA-256(name || 0x0A || type_and_key...)[..4]`, over the key bytes exactly as decoded, so a
/// key id can be checked before the key itself is understood (as Go does).
fn key_id_of(name: &str, type_byte: &[u8], key: &[u8]) -> KeyId {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update(type_byte)
        .chain_update(key)
        .finalize();
    KeyId([digest[0], digest[1], digest[2], digest[3]])
}

impl fmt::Display for KeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:08x}", self.to_u32())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "KeyId({self})")
    }
}

impl FromStr for KeyId {
    type Err = KeyError;
    fn from_str(text: &str) -> Result<Self, KeyError> {
        Self::parse(text)
    }
}

/// Splits `text` at its first `+`.
fn chop(text: &str) -> Option<(&str, &str)> {
    text.split_once('+')
}

/// Applies the key-acceptance rule (see the module documentation) to 32 public-key bytes.
fn accept_public_key(bytes: &[u8; ED25519_KEY_BYTES]) -> Result<StrictVerifier, KeyError> {
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::NotACurvePoint)?;
    let point = key.to_edwards();
    // ed25519-dalek decodes leniently (y >= p, x = -0); re-encoding shows whether these bytes were
    // the one canonical spelling of the point.
    if point.compress().to_bytes() != *bytes {
        return Err(KeyError::NonCanonicalKey);
    }
    if key.is_weak() {
        return Err(KeyError::WeakKey);
    }
    if !point.is_torsion_free() {
        return Err(KeyError::TorsionComponent);
    }
    Ok(StrictVerifier::from_verifying_key(&key))
}

/// A C2SP verifier key: a name, a key id and an Ed25519 public key that passed the project's
/// key-acceptance rule. Text form: `<name>+<8 hex key id>+<base64(0x01 || public key)>`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VerifierKey {
    name: KeyName,
    key_id: KeyId,
    key: StrictVerifier,
}

impl VerifierKey {
    /// Parses and checks a verifier key: every part, the key id against the name and key, the
    /// type byte (only Ed25519), and the key-acceptance rule.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        const EXPECTED: &str = "<name>+<8 hex key id>+<base64 key>";
        let (name, rest) = chop(text).ok_or(KeyError::MissingPart { part: "key id", expected: EXPECTED })?;
        let (key_id, key64) = chop(rest).ok_or(KeyError::MissingPart { part: "key material", expected: EXPECTED })?;
        let name = KeyName::parse(name)?;
        let stated = KeyId::parse(key_id)?;
        let material = BASE64.decode(key64).map_err(|_| KeyError::BadBase64)?;
        let Some((&type_byte, public_key)) = material.split_first() else {
            return Err(KeyError::WrongLength { expected: 1 + ED25519_KEY_BYTES, found: 0 });
        };
        // Same order as Go's NewVerifier: the id covers whatever bytes were given, then the type
        // and the length are checked.
        let computed = key_id_of(name.as_str(), &[type_byte], public_key);
        if computed != stated {
            return Err(KeyError::KeyIdMismatch { stated, computed });
        }
        if type_byte != SIGNATURE_TYPE_ED25519 {
            return Err(KeyError::UnknownSignatureType(type_byte));
        }
        let public_key: &[u8; ED25519_KEY_BYTES] = public_key
            .try_into()
            .map_err(|_| KeyError::WrongLength { expected: 1 + ED25519_KEY_BYTES, found: material.len() })?;
        let key = accept_public_key(public_key)?;
        Ok(Self { name, key_id: stated, key })
    }

    /// Builds the verifier key of an Ed25519 public key under a name, applying the
    /// key-acceptance rule.
    pub fn from_ed25519(name: KeyName, public_key: &[u8; ED25519_KEY_BYTES]) -> Result<Self, KeyError> {
        let key = accept_public_key(public_key)?;
        let key_id = KeyId::ed25519(&name, public_key);
        Ok(Self { name, key_id, key })
    }

    /// The key's name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key's id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> &[u8; ED25519_KEY_BYTES] {
        self.key.public_key()
    }

    /// The key prepared for the validity rule, for checking many signatures at once
    /// ([`crate::strict::verify_each`]).
    pub fn strict(&self) -> &StrictVerifier {
        &self.key
    }

    /// Whether `signature` is a valid signature of `message` by this key under the project's one
    /// validity rule, ed25519-dalek's `verify_strict` (see the module documentation), as computed
    /// by [`StrictVerifier`].
    #[must_use]
    pub fn verify(&self, message: &[u8], signature: &[u8; ED25519_SIGNATURE_BYTES]) -> bool {
        self.key.verify(message, signature)
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = [0u8; 1 + ED25519_KEY_BYTES];
        material[0] = SIGNATURE_TYPE_ED25519;
        material[1..].copy_from_slice(self.key.public_key());
        let mut encoded = [0u8; KEY_MATERIAL_BASE64_BYTES];
        let length = BASE64.encode_slice(material, &mut encoded).map_err(|_| fmt::Error)?;
        let encoded = std::str::from_utf8(&encoded[..length]).map_err(|_| fmt::Error)?;
        write!(formatter, "{}+{}+{encoded}", self.name, self.key_id)
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "VerifierKey({self})")
    }
}

impl FromStr for VerifierKey {
    type Err = KeyError;
    fn from_str(text: &str) -> Result<Self, KeyError> {
        Self::parse(text)
    }
}

impl Serialize for VerifierKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VerifierKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::id::deserialize_from_text(deserializer, "text", Self::parse)
    }
}

/// Overwrites a buffer that held secret bytes. Best effort: without the `zeroize` crate the
/// compiler may in principle drop the writes; `black_box` makes that unlikely.
fn wipe(buffer: &mut [u8]) {
    buffer.fill(0);
    std::hint::black_box(buffer);
}

/// A signing key: a name, its key id and an Ed25519 secret key.
///
/// Its text form (the key file format, as in Go's `golang.org/x/mod/sumdb/note`) is
/// `PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || 32-byte seed)>`; it is only produced by
/// [`SignerKey::to_secret_text`], never by `Display` or `Debug`. The ed25519-dalek signing key
/// wipes its secret when dropped.
#[derive(Clone)]
pub struct SignerKey {
    name: KeyName,
    key_id: KeyId,
    signing_key: SigningKey,
}

impl SignerKey {
    /// Derives the signing key of a 32-byte Ed25519 seed. The caller supplies the seed (from the
    /// operating system's random source, or a fixed value in tests): the library has no
    /// randomness of its own.
    pub fn from_seed(name: KeyName, mut seed: [u8; ED25519_KEY_BYTES]) -> Self {
        let signing_key = SigningKey::from_bytes(&seed);
        wipe(&mut seed);
        let key_id = KeyId::ed25519(&name, signing_key.verifying_key().as_bytes());
        Self { name, key_id, signing_key }
    }

    /// Parses a signer key's text form and checks its key id against the derived public key.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        const EXPECTED: &str = "PRIVATE+KEY+<name>+<8 hex key id>+<base64 seed>";
        let rest = text.strip_prefix(SIGNER_PREFIX).ok_or(KeyError::NotASignerKey)?;
        let (name, rest) = chop(rest).ok_or(KeyError::MissingPart { part: "key id", expected: EXPECTED })?;
        let (key_id, key64) = chop(rest).ok_or(KeyError::MissingPart { part: "key material", expected: EXPECTED })?;
        let name = KeyName::parse(name)?;
        let stated = KeyId::parse(key_id)?;
        // Decode into a fixed buffer (wiped below) rather than a Vec the allocator may hand out
        // again unwiped. Anything that does not fit is the wrong length.
        let mut material = [0u8; 1 + ED25519_KEY_BYTES];
        let decoded = BASE64.decode_slice(key64, &mut material);
        let result = match decoded {
            Err(base64::DecodeSliceError::DecodeError(_)) => Err(KeyError::BadBase64),
            Err(base64::DecodeSliceError::OutputSliceTooSmall) => {
                Err(KeyError::WrongLength { expected: 1 + ED25519_KEY_BYTES, found: padded_decoded_len(key64) })
            }
            Ok(0) => Err(KeyError::WrongLength { expected: 1 + ED25519_KEY_BYTES, found: 0 }),
            Ok(_) if material[0] != SIGNATURE_TYPE_ED25519 => Err(KeyError::UnknownSignatureType(material[0])),
            Ok(length) if length != material.len() => {
                Err(KeyError::WrongLength { expected: 1 + ED25519_KEY_BYTES, found: length })
            }
            Ok(_) => {
                let mut seed = [0u8; ED25519_KEY_BYTES];
                seed.copy_from_slice(&material[1..]);
                let signer = Self::from_seed(name, seed);
                wipe(&mut seed);
                if signer.key_id == stated {
                    Ok(signer)
                } else {
                    Err(KeyError::KeyIdMismatch { stated, computed: signer.key_id })
                }
            }
        };
        wipe(&mut material);
        result
    }

    /// The key's name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key's id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The matching verifier key, to hand to everyone who checks this key's signatures.
    pub fn verifier_key(&self) -> VerifierKey {
        // No acceptance check needed: a public key derived from a seed is a non-zero multiple of
        // the prime-order base point, so it is canonical, not weak and torsion-free.
        VerifierKey {
            name: self.name.clone(),
            key_id: self.key_id,
            key: StrictVerifier::from_verifying_key(&self.signing_key.verifying_key()),
        }
    }

    /// Signs `message` (Ed25519 is deterministic: the same key and message give the same bytes).
    pub fn sign(&self, message: &[u8]) -> [u8; ED25519_SIGNATURE_BYTES] {
        self.signing_key.sign(message).to_bytes()
    }

    /// The secret text form `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>`, for writing a
    /// key file. Whoever holds this text can sign as this key.
    pub fn to_secret_text(&self) -> String {
        let mut material = [0u8; 1 + ED25519_KEY_BYTES];
        material[0] = SIGNATURE_TYPE_ED25519;
        material[1..].copy_from_slice(self.signing_key.as_bytes());
        // Encode on the stack and reserve the exact size, so no intermediate copy of the secret
        // is left behind in freed heap memory.
        let mut encoded = [0u8; KEY_MATERIAL_BASE64_BYTES];
        // Cannot fail: 33 bytes encode to exactly 44 characters.
        let length = BASE64.encode_slice(material, &mut encoded).unwrap_or(0);
        wipe(&mut material);
        let mut text = String::with_capacity(SIGNER_PREFIX.len() + self.name.as_str().len() + 10 + length);
        text.push_str(SIGNER_PREFIX);
        text.push_str(self.name.as_str());
        text.push('+');
        text.push_str(&self.key_id.to_string());
        text.push('+');
        text.extend(encoded[..length].iter().map(|&byte| char::from(byte)));
        wipe(&mut encoded);
        text
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "SignerKey({}+{}, secret redacted)", self.name, self.key_id)
    }
}
