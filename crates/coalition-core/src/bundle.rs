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
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    #[serde(borrow)]
    note: std::borrow::Cow<'a, str>,
}

/// Reads the note out of one bundle line (without its trailing newline).
pub fn parse_line(line: &str) -> Result<String, BundleError> {
    if line.len() > BUNDLE_LINE_BYTES_MAX {
        return Err(BundleError::LineTooLong { bytes: line.len(), max: BUNDLE_LINE_BYTES_MAX });
    }
    if let Some(note) = parse_plain_line(line) {
        return Ok(note);
    }
    // A derived struct would also read `["..."]`: the format is an object and nothing else.
    if !line.trim_start_matches([' ', '\t', '\r', '\n']).starts_with('{') {
        return Err(BundleError::Shape("the line is not a JSON object".into()));
    }
    let parsed: Line<'_> = serde_json::from_str(line).map_err(|error| BundleError::Shape(error.to_string()))?;
    Ok(parsed.note.into_owned())
}

/// The exact prefix [`format_line`] writes.
const PLAIN_LINE_PREFIX: &str = "{\"note\":\"";
/// The exact suffix [`format_line`] writes (before the newline).
const PLAIN_LINE_SUFFIX: &str = "\"}";

/// The note of a line in the exact form [`format_line`] writes, using only the short escapes
/// (`\n`, `\"`, `\\`, `\/`, `\t`, `\r`, `\b`, `\f`); `None` for anything else, which the
/// general JSON parser then reads. Replay and audit read millions of lines, and this one pass
/// costs a fraction of the general parser's. For every line it accepts it gives the note serde_json
/// gives (tested against it on random lines): it refuses whatever serde_json might read otherwise
/// (a `\u` escape, a raw control character or quote, other whitespace or fields).
fn parse_plain_line(line: &str) -> Option<String> {
    let inner = line.strip_prefix(PLAIN_LINE_PREFIX)?.strip_suffix(PLAIN_LINE_SUFFIX)?;
    let bytes = inner.as_bytes();
    let mut note = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            b'\\' => {
                let unescaped = match bytes.get(index + 1)? {
                    b'n' => b'\n',
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    _ => return None,
                };
                note.push(unescaped);
                index += 2;
            }
            b'"' | 0x00..=0x1f => return None,
            _ => {
                // Copy the run up to the next byte that needs a look, in one go.
                let run = bytes[index..].iter().position(|&next| next == b'\\' || next == b'"' || next < 0x20);
                let end = run.map_or(bytes.len(), |length| index + length);
                note.extend_from_slice(&bytes[index..end]);
                index = end;
            }
        }
    }
    // Only ASCII bytes were replaced by ASCII bytes in UTF-8 text, so this cannot fail; the
    // general parser is the fallback all the same.
    String::from_utf8(note).ok()
}

/// The bundle line (with its trailing newline) that carries `note`.
pub fn format_line(note: &str) -> String {
    let line = Line { note: std::borrow::Cow::Borrowed(note) };
    // Serialising a struct of one string cannot fail.
    let mut text = serde_json::to_string(&line).unwrap_or_default();
    text.push('\n');
    text
}
