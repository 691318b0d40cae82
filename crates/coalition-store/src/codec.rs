//! The bytes of stored values, and the checks every value passes on its way out of the store.
//!
//! Both implementations keep the same encoded values, so the same checks run on what they read
//! back: an event's note parses, hashes to the id it is stored under and sits at the org and seq
//! it claims; a feed read sees consecutive seqs whose `prev` names the event before. Any mismatch
//! is [`StoreError::Corrupt`], never a skipped record.

use std::collections::BTreeMap;
use std::path::Path;

use coalition_core::event::{EventId, LedgerId, OrgSlug, SignedEvent};

use crate::error::StoreError;
use crate::limits::{QUARANTINE_KEPT_BYTES_MAX, QUARANTINE_PREFIX_BYTES, QUARANTINE_REASON_BYTES_MAX};
use crate::{ForkProof, Head, QuarantineId, QuarantinedNote};

/// Bytes of an event id.
const ID_BYTES: usize = 32;

fn corrupt(file: &Path, detail: String) -> StoreError {
    StoreError::Corrupt { file: file.to_path_buf(), detail }
}

/// The value stored for an event at (org, seq): its id, then the exact note bytes.
pub(crate) fn encode_event(event: &SignedEvent) -> Vec<u8> {
    let mut value = Vec::with_capacity(ID_BYTES + event.note().len());
    value.extend_from_slice(event.id().as_bytes());
    value.extend_from_slice(event.note().as_bytes());
    value
}

/// Decodes and checks the value stored for (org, seq): the note parses as an event, hashes to
/// the stored id, and is the event of that org at that seq.
pub(crate) fn decode_event(file: &Path, org: &str, seq: u64, value: &[u8]) -> Result<SignedEvent, StoreError> {
    let place = format!("event {org} seq {seq}");
    let Some((stored_id, note)) = value.split_first_chunk::<ID_BYTES>() else {
        return Err(corrupt(file, format!("{place}: the record is {} bytes, shorter than an id", value.len())));
    };
    let stored_id = EventId::from_bytes(*stored_id);
    let note = std::str::from_utf8(note)
        .map_err(|error| corrupt(file, format!("{place}: the stored note is not UTF-8 ({error})")))?;
    let event = SignedEvent::parse(note)
        .map_err(|error| corrupt(file, format!("{place}: the stored note is not a valid event ({error})")))?;
    if event.id() != stored_id {
        return Err(corrupt(
            file,
            format!("{place}: the stored note hashes to {}, but is stored as event {stored_id}", event.id()),
        ));
    }
    let content = event.event();
    if content.org.as_str() != org || content.seq != seq {
        return Err(corrupt(
            file,
            format!("{place}: the stored note is the event of {} seq {}", content.org, content.seq),
        ));
    }
    Ok(event)
}

/// Reads only the id stored at the front of an event's value (for lookups that do not hand the
/// event out, like the conflict check).
pub(crate) fn stored_id(file: &Path, org: &str, seq: u64, value: &[u8]) -> Result<EventId, StoreError> {
    value.first_chunk::<ID_BYTES>().map(|bytes| EventId::from_bytes(*bytes)).ok_or_else(|| {
        corrupt(file, format!("event {org} seq {seq}: the record is {} bytes, shorter than an id", value.len()))
    })
}

/// Checks that events read in key order form unbroken feeds: each feed starts where the read
/// started (seq 1 with no prev, or the given predecessor), seqs are consecutive, and each `prev`
/// names the event before. On a walk over whole feeds it also checks that each feed ends at its
/// recorded head and that every recorded feed was found, so that a feed's lost tail, or a whole
/// lost feed, is reported too.
pub(crate) struct ChainCheck {
    org: Option<OrgSlug>,
    /// The (seq, id) the next event must follow; `None` at the start of a feed.
    last: Option<(u64, EventId)>,
    /// The recorded heads, on a walk over whole feeds.
    heads: Option<BTreeMap<OrgSlug, Head>>,
    feeds_done: usize,
    /// A feed read starts after a seq that is not stored: any event read is a break.
    missing_before: bool,
}

impl ChainCheck {
    /// For a walk over whole feeds (every feed starts at seq 1 and ends at its recorded head).
    pub(crate) fn whole_feeds(heads: BTreeMap<OrgSlug, Head>) -> Self {
        Self { org: None, last: None, heads: Some(heads), feeds_done: 0, missing_before: false }
    }

    /// For a read of `org` that starts after `previous` (`None`: from seq 1).
    pub(crate) fn after(org: &OrgSlug, previous: Option<(u64, EventId)>) -> Self {
        Self { org: Some(org.clone()), last: previous, heads: None, feeds_done: 0, missing_before: false }
    }

    /// For a read of `org` from a seq whose predecessor is not stored: fine if nothing is read
    /// (the read starts past the head), a break in the chain otherwise.
    pub(crate) fn after_missing(org: &OrgSlug) -> Self {
        Self { missing_before: true, ..Self::after(org, None) }
    }

    /// Checks the next event read.
    pub(crate) fn next(&mut self, file: &Path, event: &SignedEvent) -> Result<(), StoreError> {
        let content = event.event();
        if self.org.as_ref() != Some(&content.org) {
            self.end_feed(file)?;
            self.org = Some(content.org.clone());
            self.last = None;
        }
        if self.missing_before {
            return Err(corrupt(
                file,
                format!("feed {} has seq {} but not the seq before it", content.org, content.seq),
            ));
        }
        let (expected_seq, expected_prev) = match self.last {
            Some((seq, id)) => (seq + 1, Some(id)),
            None => (1, None),
        };
        if content.seq != expected_seq {
            return Err(corrupt(
                file,
                format!("feed {} jumps to seq {} where seq {expected_seq} was expected", content.org, content.seq),
            ));
        }
        if content.prev != expected_prev {
            return Err(corrupt(
                file,
                format!(
                    "feed {} seq {}: prev is {}, but the stored event before it is {}",
                    content.org,
                    content.seq,
                    describe(content.prev),
                    describe(expected_prev)
                ),
            ));
        }
        self.last = Some((content.seq, event.id()));
        Ok(())
    }

    /// On a whole-feed walk: the feed just read ends at its recorded head.
    fn end_feed(&mut self, file: &Path) -> Result<(), StoreError> {
        let (Some(heads), Some(org)) = (&self.heads, &self.org) else { return Ok(()) };
        let recorded = heads.get(org);
        if recorded != self.last.as_ref() {
            let found = self.last.map_or_else(|| "nothing".to_owned(), |(seq, id)| format!("seq {seq} ({id})"));
            let recorded = recorded.map_or_else(|| "none".to_owned(), |(seq, id)| format!("seq {seq} ({id})"));
            return Err(corrupt(file, format!("feed {org} ends at {found}, but its recorded head is {recorded}")));
        }
        self.feeds_done += 1;
        Ok(())
    }

    /// Ends a whole-feed walk that read everything: the last feed ends at its head, and every
    /// recorded feed was found. Returns how many feeds were read.
    pub(crate) fn finish(mut self, file: &Path) -> Result<usize, StoreError> {
        self.end_feed(file)?;
        if let Some(heads) = &self.heads
            && heads.len() != self.feeds_done
        {
            return Err(corrupt(
                file,
                format!("heads are recorded for {} feeds, but events of {} were found", heads.len(), self.feeds_done),
            ));
        }
        Ok(self.feeds_done)
    }
}

fn describe(id: Option<EventId>) -> String {
    id.map_or_else(|| "none".to_owned(), |id| id.to_string())
}

/// The value of a fork proof: the first note's length (u32, little-endian), then both notes.
pub(crate) fn encode_fork_proof(first_note: &str, second_note: &str) -> Vec<u8> {
    let mut value = Vec::with_capacity(4 + first_note.len() + second_note.len());
    // Notes are at most EVENT_NOTE_BYTES_MAX (checked by parsing before this is called).
    value.extend_from_slice(&u32::try_from(first_note.len()).unwrap_or(u32::MAX).to_le_bytes());
    value.extend_from_slice(first_note.as_bytes());
    value.extend_from_slice(second_note.as_bytes());
    value
}

/// Checks that two notes prove a fork of `org` at `seq` in ledger `ledger`: both parse, both claim
/// that place, and they differ.
pub(crate) fn check_fork_proof(
    ledger: LedgerId,
    org: &OrgSlug,
    seq: u64,
    first_note: &str,
    second_note: &str,
) -> Result<(SignedEvent, SignedEvent), String> {
    let first = SignedEvent::parse(first_note).map_err(|error| format!("the first note is not an event ({error})"))?;
    let second =
        SignedEvent::parse(second_note).map_err(|error| format!("the second note is not an event ({error})"))?;
    for (which, event) in [("first", &first), ("second", &second)] {
        let content = event.event();
        if content.org != *org || content.seq != seq {
            return Err(format!("the {which} note is the event of {} seq {}", content.org, content.seq));
        }
        if content.ledger != ledger {
            return Err(format!("the {which} note belongs to ledger {}", content.ledger));
        }
    }
    if first.id() == second.id() {
        return Err(format!("both notes are the same event {}", first.id()));
    }
    Ok((first, second))
}

/// Decodes and re-checks a stored fork proof.
pub(crate) fn decode_fork_proof(
    file: &Path,
    ledger: LedgerId,
    org: &str,
    seq: u64,
    value: &[u8],
) -> Result<ForkProof, StoreError> {
    let place = format!("fork proof {org} seq {seq}");
    let decoded = (|| {
        let (length, rest) = value.split_first_chunk::<4>().ok_or("the record is too short")?;
        let first_length = usize::try_from(u32::from_le_bytes(*length)).map_err(|_| "bad length")?;
        if first_length > rest.len() {
            return Err("the first note's length runs past the record");
        }
        let (first, second) = rest.split_at(first_length);
        let first = std::str::from_utf8(first).map_err(|_| "the first note is not UTF-8")?;
        let second = std::str::from_utf8(second).map_err(|_| "the second note is not UTF-8")?;
        Ok((first, second))
    })();
    let (first, second) = decoded.map_err(|detail: &str| corrupt(file, format!("{place}: {detail}")))?;
    let org_slug = OrgSlug::parse(org).map_err(|error| corrupt(file, format!("{place}: {error}")))?;
    let (first, second) = check_fork_proof(ledger, &org_slug, seq, first, second)
        .map_err(|detail| corrupt(file, format!("{place}: {detail}")))?;
    Ok(ForkProof { org: org_slug, seq, first, second })
}

/// Fixed part of a quarantine record: received-at (i64), original length (u64), BLAKE3 (32
/// bytes), reason length (u16), all little-endian.
const QUARANTINE_HEADER_BYTES: usize = 8 + 8 + 32 + 2;

/// The reason cut to [`QUARANTINE_REASON_BYTES_MAX`] at a character boundary.
fn bounded_reason(reason: &str) -> &str {
    if reason.len() <= QUARANTINE_REASON_BYTES_MAX {
        return reason;
    }
    let mut end = QUARANTINE_REASON_BYTES_MAX;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// The value of a quarantine record; an oversized input keeps only its prefix, beside its
/// length and hash.
pub(crate) fn encode_quarantine(note_bytes: &[u8], reason: &str, received_at_unix_s: i64) -> Vec<u8> {
    let kept: &[u8] =
        if note_bytes.len() > QUARANTINE_KEPT_BYTES_MAX { &note_bytes[..QUARANTINE_PREFIX_BYTES] } else { note_bytes };
    let reason = bounded_reason(reason);
    let mut value = Vec::with_capacity(QUARANTINE_HEADER_BYTES + reason.len() + kept.len());
    value.extend_from_slice(&received_at_unix_s.to_le_bytes());
    value.extend_from_slice(&(note_bytes.len() as u64).to_le_bytes());
    value.extend_from_slice(blake3::hash(note_bytes).as_bytes());
    // bounded_reason keeps it within QUARANTINE_REASON_BYTES_MAX, far below u16::MAX.
    value.extend_from_slice(&u16::try_from(reason.len()).unwrap_or(u16::MAX).to_le_bytes());
    value.extend_from_slice(reason.as_bytes());
    value.extend_from_slice(kept);
    value
}

/// Decodes and checks a quarantine record.
pub(crate) fn decode_quarantine(file: &Path, id: QuarantineId, value: &[u8]) -> Result<QuarantinedNote, StoreError> {
    let decoded = (|| {
        let (received, rest) = value.split_first_chunk::<8>().ok_or("the record is too short")?;
        let (length, rest) = rest.split_first_chunk::<8>().ok_or("the record is too short")?;
        let (hash, rest) = rest.split_first_chunk::<32>().ok_or("the record is too short")?;
        let (reason_length, rest) = rest.split_first_chunk::<2>().ok_or("the record is too short")?;
        let reason_length = usize::from(u16::from_le_bytes(*reason_length));
        if reason_length > QUARANTINE_REASON_BYTES_MAX || reason_length > rest.len() {
            return Err("the reason's length is out of bounds");
        }
        let (reason, kept) = rest.split_at(reason_length);
        let reason = std::str::from_utf8(reason).map_err(|_| "the reason is not UTF-8")?;
        let original_len = u64::from_le_bytes(*length);
        let whole = kept.len() as u64 == original_len;
        if whole {
            if blake3::hash(kept).as_bytes() != hash {
                return Err("the kept bytes do not match the recorded BLAKE3 hash");
            }
            if kept.len() > QUARANTINE_KEPT_BYTES_MAX {
                return Err("more bytes were kept than the limit allows");
            }
        } else if kept.len() != QUARANTINE_PREFIX_BYTES || original_len <= QUARANTINE_KEPT_BYTES_MAX as u64 {
            return Err("the kept prefix does not match the recorded length");
        }
        Ok(QuarantinedNote {
            id,
            received_at_unix_s: i64::from_le_bytes(*received),
            reason: reason.to_owned(),
            original_len,
            blake3: *hash,
            kept: kept.to_vec(),
        })
    })();
    decoded.map_err(|detail| corrupt(file, format!("quarantine record {}: {detail}", id.0)))
}
