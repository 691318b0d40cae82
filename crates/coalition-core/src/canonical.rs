//! Canonical JSON: the one byte form every signed JSON line of the protocol must have.
//!
//! This module owns three things:
//! - [`to_canonical`]: RFC 8785 (JCS) text for any JSON value, floats included;
//! - [`to_canonical_profile`]: the same text, restricted to the protocol's integer profile
//!   (integers within ±[`JSON_INTEGER_MAX`], no fractions or exponents, nesting at most
//!   [`JSON_DEPTH_MAX`]); this is what signers produce;
//! - [`check_canonical`]: the verifier's side, deciding in one allocation-free pass whether bytes
//!   are exactly what [`to_canonical_profile`] would produce for the value they encode.
//!
//! Verification never re-serialises: parsing and re-serialising an event costs over ten times
//! this single pass, and comparing two byte strings would only say *that* they differ, not
//! *where* and *why*. The checker instead rejects every deviation from the canonical form at the
//! byte where it occurs.

use core::cmp::Ordering;

use serde_json::Value;

use crate::limits::{JSON_DEPTH_MAX, JSON_INTEGER_MAX};

/// Why a JSON value could not be turned into canonical text, or why bytes are not canonical text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// The bytes are not the canonical (RFC 8785, integer profile) form of any JSON value.
    #[error("not canonical JSON at byte {offset}: {reason}")]
    NotCanonical {
        /// Byte offset into the checked input of the first byte found at fault (for a whole
        /// token at fault, such as a misplaced key or an out-of-range integer, its first byte).
        offset: usize,
        /// What is wrong there.
        reason: NotCanonicalReason,
    },
    /// A value handed to [`to_canonical_profile`] holds something the integer profile forbids.
    #[error("the value at JSON pointer {pointer:?} is outside the protocol's JSON profile: {reason}")]
    OutsideProfile {
        /// Where the offending value sits, as an RFC 6901 JSON pointer (`""` is the whole value).
        pointer: String,
        /// What the profile forbids about it.
        reason: ProfileViolation,
    },
    /// The RFC 8785 serialiser refused the value. A `serde_json::Value` always holds finite
    /// numbers and unique string keys, so this is not expected; it is kept as text so the error
    /// stays comparable and cloneable.
    #[error("RFC 8785 serialisation failed: {message}")]
    Serialization {
        /// The serialiser's own description of the failure.
        message: String,
    },
}

/// What makes a byte string differ from canonical JSON, as reported by [`check_canonical`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum NotCanonicalReason {
    /// Nothing at all was given.
    #[error("the input is empty, a JSON value was expected")]
    EmptyInput,
    /// A space, tab, line feed or carriage return outside a string.
    #[error("whitespace outside a string (canonical JSON has none)")]
    Whitespace,
    /// A byte that JSON syntax does not allow at this place.
    #[error("a byte that JSON syntax does not allow here")]
    UnexpectedByte,
    /// The input stops before the JSON value is complete.
    #[error("the input ends before the JSON value is complete")]
    UnexpectedEnd,
    /// More bytes follow a complete JSON value.
    #[error("bytes follow the end of the JSON value")]
    TrailingBytes,
    /// Arrays and objects are nested deeper than [`JSON_DEPTH_MAX`].
    #[error("arrays and objects are nested more than {JSON_DEPTH_MAX} deep")]
    TooDeep,
    /// An object key does not sort after the key before it.
    #[error("object key out of order (keys must be sorted by their UTF-16 code units)")]
    KeysOutOfOrder,
    /// An object key equals the key before it.
    #[error("duplicate object key")]
    DuplicateKey,
    /// A byte below 0x20 appears unescaped inside a string.
    #[error("a control character (U+0000..U+001F) inside a string is not escaped")]
    RawControlCharacter,
    /// A backslash sequence that JSON does not define, such as `\x` or `\u12G4`.
    #[error("an escape sequence that JSON does not define")]
    InvalidEscape,
    /// An escape of a character that canonical JSON writes literally, such as `\/`, `\u0041`
    /// or an escaped non-ASCII character.
    #[error(
        "an escaped character that canonical JSON writes as itself (only '\"', '\\' and control characters are escaped)"
    )]
    UnneededEscape,
    /// A character that must be escaped, escaped in another form than the canonical one, such as
    /// `\u000a` for `\n`, `\u0022` for `\"` or uppercase hex digits.
    #[error(
        "an escape in a non-canonical form (\\b \\t \\n \\f \\r \\\" \\\\ use the short form, other controls \\u00xx in lowercase)"
    )]
    WrongEscapeForm,
    /// A string holds bytes that are not UTF-8 (including overlong forms, surrogates and code
    /// points above U+10FFFF).
    #[error("invalid UTF-8 inside a string")]
    InvalidUtf8,
    /// A number with a fraction or an exponent.
    #[error("a number with a fraction or exponent (the protocol allows integers only)")]
    NotAnInteger,
    /// The number `-0`, which canonical JSON writes as `0`.
    #[error("negative zero (canonical JSON writes 0)")]
    NegativeZero,
    /// An integer written with a superfluous leading zero.
    #[error("an integer with a leading zero")]
    LeadingZero,
    /// An integer beyond ±[`JSON_INTEGER_MAX`].
    #[error("an integer outside -{JSON_INTEGER_MAX}..={JSON_INTEGER_MAX}")]
    IntegerOutOfRange,
    /// Something number-like that is not a JSON number: a plus sign, a minus sign without
    /// digits, or a leading decimal point.
    #[error("a malformed number (a plus sign, a minus sign without digits, or a leading '.')")]
    MalformedNumber,
    /// A word other than exactly `true`, `false` or `null`.
    #[error("a word other than true, false or null")]
    InvalidLiteral,
}

/// What the protocol's integer profile forbids in a value, as reported by
/// [`to_canonical_profile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileViolation {
    /// A number held as a float, even an integral one: profile numbers are integers from the
    /// start, so a float here means the producer used the wrong type.
    #[error("a number that is not an integer (held as a float)")]
    NotAnInteger,
    /// An integer beyond ±[`JSON_INTEGER_MAX`].
    #[error("an integer outside -{JSON_INTEGER_MAX}..={JSON_INTEGER_MAX}")]
    IntegerOutOfRange,
    /// An array or object nested deeper than [`JSON_DEPTH_MAX`].
    #[error("arrays and objects are nested more than {JSON_DEPTH_MAX} deep")]
    TooDeep,
}

/// The RFC 8785 (JCS) canonical text of `value`, numbers formatted as ECMAScript does.
///
/// Any JSON value is accepted; use [`to_canonical_profile`] for text that is to be signed.
pub fn to_canonical(value: &Value) -> Result<String, CanonicalError> {
    serde_json_canonicalizer::to_string(value)
        .map_err(|error| CanonicalError::Serialization { message: error.to_string() })
}

/// The RFC 8785 canonical text of `value`, refused unless the value is inside the protocol's
/// integer profile: every number an integer within ±[`JSON_INTEGER_MAX`] (held as an integer,
/// not a float), arrays and objects nested at most [`JSON_DEPTH_MAX`] deep.
///
/// Its output is exactly the set of byte strings [`check_canonical`] accepts.
pub fn to_canonical_profile(value: &Value) -> Result<String, CanonicalError> {
    if let Err(fault) = profile_fault(value, 0) {
        return Err(fault.into_error());
    }
    to_canonical(value)
}

/// A profile violation on its way up from the offending value; the path is collected while
/// unwinding (innermost segment first) so the successful walk allocates nothing.
struct ProfileFault {
    reason: ProfileViolation,
    reversed_path: Vec<String>,
}

impl ProfileFault {
    fn new(reason: ProfileViolation) -> Self {
        Self { reason, reversed_path: Vec::new() }
    }

    fn within(mut self, segment: String) -> Self {
        self.reversed_path.push(segment);
        self
    }

    fn into_error(self) -> CanonicalError {
        let mut pointer = String::new();
        for segment in self.reversed_path.iter().rev() {
            pointer.push('/');
            pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
        }
        CanonicalError::OutsideProfile { pointer, reason: self.reason }
    }
}

/// Checks the profile rules for `value`, which sits inside `depth` arrays and objects.
fn profile_fault(value: &Value, depth: usize) -> Result<(), ProfileFault> {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
        Value::Number(number) => {
            let magnitude = if let Some(integer) = number.as_i64() {
                integer.unsigned_abs()
            } else if let Some(integer) = number.as_u64() {
                integer
            } else {
                return Err(ProfileFault::new(ProfileViolation::NotAnInteger));
            };
            if magnitude > JSON_INTEGER_MAX {
                return Err(ProfileFault::new(ProfileViolation::IntegerOutOfRange));
            }
            Ok(())
        }
        Value::Array(items) => {
            if depth >= JSON_DEPTH_MAX {
                return Err(ProfileFault::new(ProfileViolation::TooDeep));
            }
            for (index, item) in items.iter().enumerate() {
                profile_fault(item, depth + 1).map_err(|fault| fault.within(index.to_string()))?;
            }
            Ok(())
        }
        Value::Object(members) => {
            if depth >= JSON_DEPTH_MAX {
                return Err(ProfileFault::new(ProfileViolation::TooDeep));
            }
            for (key, member) in members {
                profile_fault(member, depth + 1).map_err(|fault| fault.within(key.clone()))?;
            }
            Ok(())
        }
    }
}

/// Accepts `json` if and only if it is exactly the canonical text [`to_canonical_profile`] would
/// produce for the value it encodes; otherwise says what is wrong and at which byte.
///
/// One pass over the bytes, no allocation: this runs on every event a verifier replays. It
/// rejects whitespace outside strings, keys out of RFC 8785 order (UTF-16 code unit order of the
/// unescaped keys) or duplicated, escapes other than the JCS ones, raw control characters,
/// invalid UTF-8, numbers that are not canonical in-range integers, words other than `true`,
/// `false` and `null`, anything after the value, empty input and nesting beyond
/// [`JSON_DEPTH_MAX`].
pub fn check_canonical(json: &[u8]) -> Result<(), CanonicalError> {
    if json.is_empty() {
        return Err(not_canonical(0, NotCanonicalReason::EmptyInput));
    }
    let mut stack = [Container::ARRAY; JSON_DEPTH_MAX];
    let mut depth = 0usize;
    let mut pos = 0usize;
    'value: loop {
        // A value starts at `pos`.
        let Some(&first) = json.get(pos) else {
            return Err(not_canonical(pos, NotCanonicalReason::UnexpectedEnd));
        };
        match first {
            b'{' | b'[' => {
                let Some(container) = stack.get_mut(depth) else {
                    return Err(not_canonical(pos, NotCanonicalReason::TooDeep));
                };
                depth += 1;
                pos += 1;
                if first == b'{' {
                    *container = Container::OBJECT;
                    if json.get(pos) != Some(&b'}') {
                        pos = check_member_key(json, pos, &mut container.previous_key)?;
                        continue 'value;
                    }
                } else {
                    *container = Container::ARRAY;
                    if json.get(pos) != Some(&b']') {
                        continue 'value;
                    }
                }
                // The empty container closes right here, as the loop below would do it.
                depth -= 1;
                pos += 1;
            }
            b'"' => pos = scan_string(json, pos)?.end,
            b'-' | b'0'..=b'9' => pos = scan_integer(json, pos)?,
            b't' => pos = expect_literal(json, pos, b"true")?,
            b'f' => pos = expect_literal(json, pos, b"false")?,
            b'n' => pos = expect_literal(json, pos, b"null")?,
            _ => return Err(not_canonical(pos, unexpected_value_byte(first))),
        }
        // A value ended just before `pos`: close containers until one continues with a member.
        loop {
            let Some(top) = depth.checked_sub(1) else {
                return match json.get(pos) {
                    None => Ok(()),
                    Some(&byte) if is_json_whitespace(byte) => Err(not_canonical(pos, NotCanonicalReason::Whitespace)),
                    Some(_) => Err(not_canonical(pos, NotCanonicalReason::TrailingBytes)),
                };
            };
            let Some(container) = stack.get_mut(top) else {
                // `depth` never exceeds the stack's length; answer rather than panic regardless.
                return Err(not_canonical(pos, NotCanonicalReason::TooDeep));
            };
            match (json.get(pos), container.is_object) {
                (Some(b','), true) => {
                    pos = check_member_key(json, pos + 1, &mut container.previous_key)?;
                    continue 'value;
                }
                (Some(b','), false) => {
                    pos += 1;
                    continue 'value;
                }
                (Some(b'}'), true) | (Some(b']'), false) => {
                    depth = top;
                    pos += 1;
                }
                (Some(&byte), _) if is_json_whitespace(byte) => {
                    return Err(not_canonical(pos, NotCanonicalReason::Whitespace));
                }
                (Some(_), _) => return Err(not_canonical(pos, NotCanonicalReason::UnexpectedByte)),
                (None, _) => return Err(not_canonical(pos, NotCanonicalReason::UnexpectedEnd)),
            }
        }
    }
}

/// One open array or object of [`check_canonical`].
#[derive(Clone, Copy)]
struct Container<'a> {
    is_object: bool,
    /// The last key seen in this object, which the next key must sort after.
    previous_key: Option<Key<'a>>,
}

impl Container<'_> {
    const ARRAY: Self = Self { is_object: false, previous_key: None };
    const OBJECT: Self = Self { is_object: true, previous_key: None };
}

/// An object key as it stands in the input, between its quotes.
#[derive(Clone, Copy)]
struct Key<'a> {
    raw: &'a [u8],
    /// Whether `raw` holds a backslash; unescaped keys compare much faster.
    escaped: bool,
}

/// A string scanned by [`scan_string`].
struct ScannedString {
    /// Offset just after the closing quote.
    end: usize,
    escaped: bool,
}

#[cold]
fn not_canonical(offset: usize, reason: NotCanonicalReason) -> CanonicalError {
    CanonicalError::NotCanonical { offset, reason }
}

fn is_json_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// The most helpful reason for a byte that cannot start a value.
#[cold]
fn unexpected_value_byte(byte: u8) -> NotCanonicalReason {
    match byte {
        b' ' | b'\t' | b'\n' | b'\r' => NotCanonicalReason::Whitespace,
        b'+' | b'.' => NotCanonicalReason::MalformedNumber,
        b'a'..=b'z' | b'A'..=b'Z' => NotCanonicalReason::InvalidLiteral,
        _ => NotCanonicalReason::UnexpectedByte,
    }
}

/// Checks the key that starts at `pos` (an object member's), its order against the previous key
/// of the object, and the colon after it. Returns the offset of the member's value.
fn check_member_key<'a>(
    json: &'a [u8],
    pos: usize,
    previous_key: &mut Option<Key<'a>>,
) -> Result<usize, CanonicalError> {
    match json.get(pos) {
        Some(b'"') => {}
        Some(&byte) if is_json_whitespace(byte) => {
            return Err(not_canonical(pos, NotCanonicalReason::Whitespace));
        }
        Some(_) => return Err(not_canonical(pos, NotCanonicalReason::UnexpectedByte)),
        None => return Err(not_canonical(pos, NotCanonicalReason::UnexpectedEnd)),
    }
    let scanned = scan_string(json, pos)?;
    let key = Key {
        // The scan succeeded, so the closing quote exists and the range is in bounds.
        raw: json.get(pos + 1..scanned.end - 1).unwrap_or_default(),
        escaped: scanned.escaped,
    };
    if let Some(previous) = previous_key {
        match compare_keys(previous, &key) {
            Ordering::Less => {}
            Ordering::Equal => return Err(not_canonical(pos, NotCanonicalReason::DuplicateKey)),
            Ordering::Greater => {
                return Err(not_canonical(pos, NotCanonicalReason::KeysOutOfOrder));
            }
        }
    }
    *previous_key = Some(key);
    match json.get(scanned.end) {
        Some(b':') => Ok(scanned.end + 1),
        Some(&byte) if is_json_whitespace(byte) => Err(not_canonical(scanned.end, NotCanonicalReason::Whitespace)),
        Some(_) => Err(not_canonical(scanned.end, NotCanonicalReason::UnexpectedByte)),
        None => Err(not_canonical(scanned.end, NotCanonicalReason::UnexpectedEnd)),
    }
}

/// RFC 8785 order of two keys already checked to be canonical strings: by the UTF-16 code units
/// of their unescaped text.
fn compare_keys(left: &Key<'_>, right: &Key<'_>) -> Ordering {
    if left.escaped || right.escaped {
        return Utf16Units::new(left.raw).cmp(Utf16Units::new(right.raw));
    }
    // Without escapes, UTF-8 byte order is code point order, which is UTF-16 order except in one
    // place: characters above U+FFFF (4-byte UTF-8, surrogate pairs D800..DFFF in UTF-16) sort
    // after U+E000..U+FFFF (3-byte UTF-8 led by 0xEE or 0xEF) by bytes but before them by
    // UTF-16. The first differing bytes decide, and they are either both lead bytes or both
    // continuation bytes of the same lead, since everything before them is equal valid UTF-8.
    match left.raw.iter().zip(right.raw).find(|(l, r)| l != r) {
        None => left.raw.len().cmp(&right.raw.len()),
        Some((&l, &r)) => match (l, r) {
            (0xF0..=0xF4, 0xEE..=0xEF) => Ordering::Less,
            (0xEE..=0xEF, 0xF0..=0xF4) => Ordering::Greater,
            _ => l.cmp(&r),
        },
    }
}

/// The UTF-16 code units of a JSON string's raw content (between the quotes), unescaping on the
/// fly so keys compare without being copied. The content must already be scanned as valid; on
/// malformed content the iteration just stops early.
struct Utf16Units<'a> {
    rest: &'a [u8],
    pending_low_surrogate: Option<u16>,
}

impl<'a> Utf16Units<'a> {
    fn new(raw: &'a [u8]) -> Self {
        Self { rest: raw, pending_low_surrogate: None }
    }
}

impl Iterator for Utf16Units<'_> {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        if let Some(low) = self.pending_low_surrogate.take() {
            return Some(low);
        }
        let (&lead, after_lead) = self.rest.split_first()?;
        if lead == b'\\' {
            let (&kind, after_kind) = after_lead.split_first()?;
            let (unit, rest) = match kind {
                b'b' => (0x08, after_kind),
                b't' => (0x09, after_kind),
                b'n' => (0x0A, after_kind),
                b'f' => (0x0C, after_kind),
                b'r' => (0x0D, after_kind),
                b'u' => {
                    let (hex, rest) = after_kind.split_at_checked(4)?;
                    let mut unit = 0u16;
                    for &digit in hex {
                        unit = unit << 4 | u16::from(hex_digit_value(digit)?);
                    }
                    (unit, rest)
                }
                // `\"`, `\\` and `\/` stand for the character itself.
                other => (u16::from(other), after_kind),
            };
            self.rest = rest;
            return Some(unit);
        }
        let (length, lead_bits) = match lead {
            0x00..=0x7F => (1, u32::from(lead)),
            0xC0..=0xDF => (2, u32::from(lead & 0x1F)),
            0xE0..=0xEF => (3, u32::from(lead & 0x0F)),
            _ => (4, u32::from(lead & 0x07)),
        };
        let (encoded, rest) = self.rest.split_at_checked(length)?;
        self.rest = rest;
        let code_point = encoded.iter().skip(1).fold(lead_bits, |acc, &byte| acc << 6 | u32::from(byte & 0x3F));
        match code_point.checked_sub(0x1_0000) {
            // Truncations are exact: a BMP code point fits 16 bits, the surrogate halves 10 bits.
            None => Some(code_point as u16),
            Some(offset) => {
                self.pending_low_surrogate = Some(0xDC00 | (offset & 0x3FF) as u16);
                Some(0xD800 | (offset >> 10) as u16)
            }
        }
    }
}

fn hex_digit_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Scans the string whose opening quote is at `start`, checking that every character is written
/// as JCS writes it.
fn scan_string(json: &[u8], start: usize) -> Result<ScannedString, CanonicalError> {
    let mut pos = start + 1;
    let mut escaped = false;
    loop {
        pos = skip_plain_ascii(json, pos);
        let Some(&byte) = json.get(pos) else {
            return Err(not_canonical(pos, NotCanonicalReason::UnexpectedEnd));
        };
        match byte {
            b'"' => {
                return Ok(ScannedString { end: pos + 1, escaped });
            }
            b'\\' => {
                escaped = true;
                pos = check_escape(json, pos)?;
            }
            0x00..=0x1F => return Err(not_canonical(pos, NotCanonicalReason::RawControlCharacter)),
            0x20..=0x7F => pos += 1,
            _ => pos = check_utf8_character(json, pos)?,
        }
    }
}

/// The offset of the first byte at or after `pos` that is not printable ASCII other than `"` and
/// `\`: the bytes a string may hold without a closer look. Eight bytes at a time, since string
/// content is most of an event line.
fn skip_plain_ascii(json: &[u8], mut pos: usize) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    while let Some(chunk) = json.get(pos..pos + 8) {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let word = u64::from_le_bytes(bytes);
        // Classic SWAR tests set a lane's high bit for a lane below 0x20, equal to '"' or '\',
        // or non-ASCII. Borrows can only mark lanes after a truly marked one, so the lowest
        // marked lane (the first byte, in little-endian order) is exact.
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let marked = (word.wrapping_sub(ONES * 0x20) & !word)
            | (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | word;
        let marked = marked & HIGHS;
        if marked != 0 {
            return pos + (marked.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    pos
}

/// Checks the escape whose backslash is at `pos`; returns the offset after it.
fn check_escape(json: &[u8], pos: usize) -> Result<usize, CanonicalError> {
    match json.get(pos + 1) {
        Some(b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(pos + 2),
        Some(b'/') => Err(not_canonical(pos, NotCanonicalReason::UnneededEscape)),
        Some(b'u') => {
            let mut unit = 0u32;
            let mut uppercase = false;
            for digit_pos in pos + 2..pos + 6 {
                let Some(&digit) = json.get(digit_pos) else {
                    return Err(not_canonical(digit_pos, NotCanonicalReason::UnexpectedEnd));
                };
                let Some(value) = hex_digit_value(digit) else {
                    return Err(not_canonical(pos, NotCanonicalReason::InvalidEscape));
                };
                uppercase |= digit.is_ascii_uppercase();
                unit = unit << 4 | u32::from(value);
            }
            match unit {
                0x08 | 0x09 | 0x0A | 0x0C | 0x0D | 0x22 | 0x5C => {
                    Err(not_canonical(pos, NotCanonicalReason::WrongEscapeForm))
                }
                0x00..=0x1F if uppercase => Err(not_canonical(pos, NotCanonicalReason::WrongEscapeForm)),
                0x00..=0x1F => Ok(pos + 6),
                _ => Err(not_canonical(pos, NotCanonicalReason::UnneededEscape)),
            }
        }
        Some(_) => Err(not_canonical(pos, NotCanonicalReason::InvalidEscape)),
        None => Err(not_canonical(pos + 1, NotCanonicalReason::UnexpectedEnd)),
    }
}

/// Checks the multi-byte UTF-8 character whose lead byte is at `pos` (Unicode Table 3-7: no
/// overlong forms, no surrogates, nothing above U+10FFFF); returns the offset after it.
fn check_utf8_character(json: &[u8], pos: usize) -> Result<usize, CanonicalError> {
    let invalid = || not_canonical(pos, NotCanonicalReason::InvalidUtf8);
    let Some(&lead) = json.get(pos) else {
        return Err(invalid());
    };
    // The range of the second byte is what excludes overlong forms, surrogates and values
    // beyond U+10FFFF; the bytes after it are plain continuation bytes.
    let (length, second_min, second_max) = match lead {
        0xC2..=0xDF => (2, 0x80, 0xBF),
        0xE0 => (3, 0xA0, 0xBF),
        0xE1..=0xEC | 0xEE..=0xEF => (3, 0x80, 0xBF),
        0xED => (3, 0x80, 0x9F),
        0xF0 => (4, 0x90, 0xBF),
        0xF1..=0xF3 => (4, 0x80, 0xBF),
        0xF4 => (4, 0x80, 0x8F),
        _ => return Err(invalid()),
    };
    let Some((&second, rest)) = json.get(pos + 1..pos + length).and_then(<[u8]>::split_first) else {
        return Err(invalid());
    };
    if !(second_min..=second_max).contains(&second) || !rest.iter().all(|&byte| (0x80..=0xBF).contains(&byte)) {
        return Err(invalid());
    }
    Ok(pos + length)
}

/// Checks the number that starts at `start` (a minus sign or a digit) is a canonical integer of
/// the profile; returns the offset after it.
fn scan_integer(json: &[u8], start: usize) -> Result<usize, CanonicalError> {
    let negative = json.get(start) == Some(&b'-');
    let digits_start = start + usize::from(negative);
    let mut pos = digits_start;
    let mut magnitude = 0u64;
    while let Some(&digit @ b'0'..=b'9') = json.get(pos) {
        // Once past the limit the exact value no longer matters; stopping there keeps it far
        // from overflow.
        if magnitude <= JSON_INTEGER_MAX {
            magnitude = magnitude * 10 + u64::from(digit - b'0');
        }
        pos += 1;
    }
    let digit_count = pos - digits_start;
    if digit_count == 0 {
        return Err(match json.get(pos) {
            None => not_canonical(pos, NotCanonicalReason::UnexpectedEnd),
            Some(_) => not_canonical(start, NotCanonicalReason::MalformedNumber),
        });
    }
    if let Some(b'.' | b'e' | b'E') = json.get(pos) {
        return Err(not_canonical(pos, NotCanonicalReason::NotAnInteger));
    }
    if json.get(digits_start) == Some(&b'0') {
        if digit_count > 1 {
            return Err(not_canonical(digits_start, NotCanonicalReason::LeadingZero));
        }
        if negative {
            return Err(not_canonical(start, NotCanonicalReason::NegativeZero));
        }
    }
    if magnitude > JSON_INTEGER_MAX {
        return Err(not_canonical(start, NotCanonicalReason::IntegerOutOfRange));
    }
    Ok(pos)
}

/// Checks that exactly `word` (which starts with the byte at `pos`) stands at `pos`, not followed
/// by more letters or digits; returns the offset after it.
fn expect_literal(json: &[u8], pos: usize, word: &[u8]) -> Result<usize, CanonicalError> {
    let end = pos + word.len();
    let exact = json.get(pos..end) == Some(word);
    let run_on = json.get(end).is_some_and(u8::is_ascii_alphanumeric);
    if exact && !run_on { Ok(end) } else { Err(not_canonical(pos, NotCanonicalReason::InvalidLiteral)) }
}
