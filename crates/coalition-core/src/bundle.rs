//! Bundles: the file format that carries signed events between people and machines.
//!
//! A bundle is JSON Lines (UTF-8, one JSON object per line, each line ending in `\n`). Every line
//! is `{"note":"<the full signed note>"}` and nothing else. The note is the exact signed text with
//! its signature lines; the JSON string only escapes it for transport, so a reader recovers the
//! signed bytes exactly. Lines may come in any order; blank lines are not allowed.

use serde::{Deserialize, Serialize};

use crate::limits::EVENT_NOTE_BYTES_MAX;

/// Longest bundle line accepted, in bytes (without its newline): a maximal note, every byte of
/// which JSON-escaping could at most double, plus the wrapper.
pub const BUNDLE_LINE_BYTES_MAX: usize = 2 * EVENT_NOTE_BYTES_MAX + 64;

/// Why a bundle line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The line is longer than [`BUNDLE_LINE_BYTES_MAX`].
    #[error("bundle line is {bytes} bytes, more than the limit of {max}")]
    LineTooLong {
        /// Its length.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The line is not `{"note": "..."}`.
    #[error("bundle line must be a JSON object with one string field \"note\": {0}")]
    Shape(String),
    /// The line's bytes are not UTF-8.
    #[error("bundle line is not valid UTF-8")]
    NotUtf8,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    #[serde(borrow)]
    note: std::borrow::Cow<'a, str>,
}

/// Reads the note out of one bundle line (without its trailing newline).
pub fn parse_line(line: &str) -> Result<String, BundleError> {
    parse_line_bytes(line.as_bytes().to_vec())
}

/// [`parse_line`] for a line read as bytes, which it takes over: the note of a line in the form
/// [`format_line`] writes is unescaped in the line's own buffer, so that reading millions of
/// lines costs no second buffer and no copy per line. [`BundleError::NotUtf8`] for bytes that
/// are not UTF-8.
pub fn parse_line_bytes(mut line: Vec<u8>) -> Result<String, BundleError> {
    if line.len() > BUNDLE_LINE_BYTES_MAX {
        return Err(BundleError::LineTooLong { bytes: line.len(), max: BUNDLE_LINE_BYTES_MAX });
    }
    if unescape_plain_in_place(&mut line) {
        // A short escape turns two ASCII bytes into one: the non-ASCII bytes keep their
        // neighbours' kinds, so the note is UTF-8 exactly when the line was.
        return String::from_utf8(line).map_err(|_| BundleError::NotUtf8);
    }
    let line = String::from_utf8(line).map_err(|_| BundleError::NotUtf8)?;
    parse_general_line(&line)
}

/// Any other form of line, read by the general JSON parser.
fn parse_general_line(line: &str) -> Result<String, BundleError> {
    // A derived struct would also read `["..."]`: the format is an object and nothing else.
    if !line.trim_start_matches([' ', '\t', '\r', '\n']).starts_with('{') {
        return Err(BundleError::Shape("the line is not a JSON object".into()));
    }
    let parsed: Line<'_> = serde_json::from_str(line).map_err(|error| BundleError::Shape(error.to_string()))?;
    Ok(parsed.note.into_owned())
}

/// The exact prefix [`format_line`] writes.
const PLAIN_LINE_PREFIX: &[u8] = b"{\"note\":\"";
/// The exact suffix [`format_line`] writes (before the newline).
const PLAIN_LINE_SUFFIX: &[u8] = b"\"}";

/// The byte a short escape (`\n`, `\"`, `\\`, `\/`, `\t`, `\r`, `\b`, `\f`) stands for.
fn short_escape(letter: u8) -> Option<u8> {
    Some(match letter {
        b'n' => b'\n',
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b't' => b'\t',
        b'r' => b'\r',
        b'b' => 0x08,
        b'f' => 0x0c,
        _ => return None,
    })
}

/// Whether the string between the quotes of a plain line uses only short escapes, with no raw
/// quote or control character.
fn is_plain(inner: &[u8]) -> bool {
    let mut index = 0;
    while let Some(offset) = inner[index..].iter().position(|&byte| byte == b'\\' || byte == b'"' || byte < 0x20) {
        let at = index + offset;
        if inner[at] != b'\\' || inner.get(at + 1).copied().and_then(short_escape).is_none() {
            return false;
        }
        index = at + 2;
    }
    true
}

/// Replaces a line in the exact form [`format_line`] writes, using only the short escapes, by
/// its note (still to be checked as UTF-8), and says `true`; leaves anything else untouched for
/// the general JSON parser, and says `false`. Replay and audit read millions of lines, and this
/// pass costs a fraction of the general parser's. For every line it takes it gives the note
/// serde_json gives (tested against it on random lines): it leaves whatever serde_json might read
/// otherwise (a `\u` escape, a raw control character or quote, other whitespace or fields).
fn unescape_plain_in_place(line: &mut Vec<u8>) -> bool {
    let Some(inner) = line.strip_prefix(PLAIN_LINE_PREFIX).and_then(|rest| rest.strip_suffix(PLAIN_LINE_SUFFIX)) else {
        return false;
    };
    if !is_plain(inner) {
        return false;
    }
    let end = line.len() - PLAIN_LINE_SUFFIX.len();
    let (mut read, mut write) = (PLAIN_LINE_PREFIX.len(), 0);
    while read < end {
        // Move the run up to the next escape in one go.
        let run = line[read..end].iter().position(|&byte| byte == b'\\').unwrap_or(end - read);
        line.copy_within(read..read + run, write);
        (read, write) = (read + run, write + run);
        if read < end {
            // `is_plain` saw a short escape here.
            line[write] = short_escape(line[read + 1]).unwrap_or(line[read + 1]);
            (read, write) = (read + 2, write + 1);
        }
    }
    line.truncate(write);
    true
}

/// The bundle line (with its trailing newline) that carries `note`.
pub fn format_line(note: &str) -> String {
    let line = Line { note: std::borrow::Cow::Borrowed(note) };
    // Serialising a struct of one string cannot fail.
    let mut text = serde_json::to_string(&line).unwrap_or_default();
    text.push('\n');
    text
}
