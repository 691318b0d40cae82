//! Every size and count limit of the protocol, named in one place. PROTOCOL.md quotes these
//! numbers; a change here is a protocol change.

/// Largest signed note (text plus signature lines) accepted as an event, in bytes.
pub const EVENT_NOTE_BYTES_MAX: usize = 64 * 1024;
/// Largest genesis note, in bytes.
pub const GENESIS_NOTE_BYTES_MAX: usize = 256 * 1024;
/// Most members a coalition may have at once.
pub const MEMBERS_MAX: usize = 64;
/// Most entries in an event's `deps` (one head per other feed at most).
pub const DEPS_MAX: usize = MEMBERS_MAX;
/// Deepest nesting of arrays and objects accepted in an event's JSON line.
pub const JSON_DEPTH_MAX: usize = 16;
/// Most signature lines on one note (C2SP signed-note allows up to 100).
pub const NOTE_SIGNATURES_MAX: usize = 100;
/// Longest organisation slug, in bytes.
pub const ORG_SLUG_BYTES_MAX: usize = 32;
/// Largest integer a JSON number may hold (2^53 - 1), so every JSON implementation reads it exactly.
pub const JSON_INTEGER_MAX: u64 = (1 << 53) - 1;
