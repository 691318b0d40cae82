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
    let parsed: Line<'_> = serde_json::from_str(line).map_err(|error| BundleError::Shape(error.to_string()))?;
    Ok(parsed.note.into_owned())
}

/// The bundle line (with its trailing newline) that carries `note`.
pub fn format_line(note: &str) -> String {
    let line = Line { note: std::borrow::Cow::Borrowed(note) };
    // Serialising a struct of one string cannot fail.
    let mut text = serde_json::to_string(&line).unwrap_or_default();
    text.push('\n');
    text
}
