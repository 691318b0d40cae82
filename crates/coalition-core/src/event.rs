//! Events: the JSON envelope every member signs and the exact note text.
//!
//! An event is a C2SP signed note whose text is exactly two lines: [`EVENT_HEADER`], then the
//! event's JSON in canonical form (RFC 8785, integer profile). Its id is the BLAKE3 hash of that
//! text. Parsing here checks everything that needs no key and no other event: size, note syntax,
//! header, canonical form, field types, the body's schema, and one signature line of the right
//! shape. Which key must have signed it, and whether it fits its feed, is [`crate::verify`]'s job.

use serde::Deserialize;

use crate::body::{Body, BodyError, EventKind, parse_body};
use crate::canonical::CanonicalError;
use crate::keys::{KeyId, SignerKey, VerifierKey};
use crate::limits::{DEPS_MAX, EVENT_NOTE_BYTES_MAX, JSON_INTEGER_MAX};
use crate::note::NoteError;
use crate::time::Timestamp;

pub use crate::id::{EventId, IdError, LedgerId, OrgSlug};

/// The first line of every event note: names the format and its version, and keeps an event's
/// signature from ever being valid for a genesis or an edition (their header lines differ).
pub const EVENT_HEADER: &str = "coalition-ledger/event/v1";

/// The content of an event: everything its author signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The ledger this event belongs to, so it cannot be replayed into another coalition's ledger.
    pub ledger: LedgerId,
    /// The organisation whose feed this event extends.
    pub org: OrgSlug,
    /// Position in the organisation's feed, from 1, without gaps.
    pub seq: u64,
    /// Id of the organisation's previous event; `None` exactly when `seq` is 1.
    pub prev: Option<EventId>,
    /// When the author signed it (its own clock; used only to break ties in the linear order).
    pub time: Timestamp,
    /// Ids of other feeds' events the author had applied: its causal past. Sorted, unique.
    pub deps: Vec<EventId>,
    /// What the event says.
    pub body: Body,
}

impl Event {
    /// The kind of the body.
    pub fn kind(&self) -> EventKind {
        self.body.kind()
    }

    /// The canonical JSON line of this event (without a newline). Fails if the event breaks a rule
    /// that parsing would enforce, so nothing unparseable is ever signed.
    pub fn to_json_line(&self) -> Result<String, EventError> {
        self.check_shape()?;
        let body = serde_json::to_value(&self.body)
            .map_err(|error| EventError::Envelope { path: "body".into(), message: error.to_string() })?;
        let envelope = serde_json::json!({
            "body": body,
            "deps": self.deps,
            "kind": self.kind().as_str(),
            "ledger": self.ledger,
            "org": self.org,
            "prev": self.prev,
            "seq": self.seq,
            "time": self.time,
        });
        let line = crate::canonical::to_canonical_profile(&envelope).map_err(EventError::NotCanonical)?;
        // Parse what we produced: the body schema and limits apply to signers exactly as to readers.
        parse_json_line(&line)?;
        Ok(line)
    }

    /// The note text to sign: the header line and the JSON line, each ending in a newline.
    pub fn to_note_text(&self) -> Result<String, EventError> {
        let line = self.to_json_line()?;
        Ok(format!("{EVENT_HEADER}\n{line}\n"))
    }

    /// Signs the event with the organisation's key and returns the parsed signed event.
    pub fn sign(&self, key: &SignerKey) -> Result<SignedEvent, EventError> {
        let text = self.to_note_text()?;
        let note = crate::note::sign_note(&text, &[key]).map_err(EventError::Note)?;
        SignedEvent::parse(&note)
    }

    fn check_shape(&self) -> Result<(), EventError> {
        if self.seq == 0 || self.seq > JSON_INTEGER_MAX {
            return Err(EventError::SeqOutOfRange(self.seq));
        }
        match (self.seq, self.prev) {
            (1, Some(_)) => return Err(EventError::PrevAtFirst),
            (seq, None) if seq > 1 => return Err(EventError::PrevMissing(seq)),
            _ => {}
        }
        if self.deps.len() > DEPS_MAX {
            return Err(EventError::TooManyDeps { count: self.deps.len(), max: DEPS_MAX });
        }
        if !self.deps.windows(2).all(|pair| pair[0] < pair[1]) {
            return Err(EventError::DepsNotSorted);
        }
        Ok(())
    }
}

/// Why an event note was refused before any key was consulted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The note is larger than [`EVENT_NOTE_BYTES_MAX`].
    #[error("event is {bytes} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the note.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The signed-note syntax is broken.
    #[error("not a valid signed note: {0}")]
    Note(#[source] NoteError),
    /// The first line is not [`EVENT_HEADER`].
    #[error("first line must be {EVENT_HEADER:?}, found {0:?}")]
    Header(String),
    /// The note text is not exactly the header line and one JSON line.
    #[error("note text must be exactly two lines (header and JSON), found {0}")]
    LineCount(usize),
    /// The JSON line is not in canonical form.
    #[error("JSON line is not canonical: {0}")]
    NotCanonical(#[source] CanonicalError),
    /// An envelope field is missing, unknown or of the wrong type.
    #[error("field {path}: {message}")]
    Envelope {
        /// JSON path of the field.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// The body does not follow the schema of its kind.
    #[error("body of {kind}: {error}")]
    Body {
        /// The event kind the body was read as.
        kind: &'static str,
        /// What is wrong.
        #[source]
        error: BodyError,
    },
    /// The kind is not one the protocol knows.
    #[error("unknown event kind {0:?}")]
    UnknownKind(String),
    /// `seq` is 0 or too large.
    #[error("seq must be between 1 and 2^53-1, found {0}")]
    SeqOutOfRange(u64),
    /// `prev` is set on a feed's first event.
    #[error("prev must be null at seq 1")]
    PrevAtFirst,
    /// `prev` is null after the first event.
    #[error("prev must name the previous event at seq {0}")]
    PrevMissing(u64),
    /// `deps` is not sorted ascending without repeats.
    #[error("deps must be sorted ascending without repeats")]
    DepsNotSorted,
    /// `deps` has too many entries.
    #[error("deps has {count} entries, more than the limit of {max}")]
    TooManyDeps {
        /// Entries found.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An event carries exactly one signature line, by its organisation's key.
    #[error("an event must carry exactly one signature line, found {0}")]
    SignatureCount(usize),
    /// The signature line is not an Ed25519 signature.
    #[error("signature line is {0} bytes after the key id, an Ed25519 signature is 64")]
    SignatureLength(usize),
}

/// The parsed JSON line, before the note layer adds the id and signature.
fn parse_json_line(line: &str) -> Result<Event, EventError> {
    crate::canonical::check_canonical(line.as_bytes()).map_err(EventError::NotCanonical)?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Envelope<'a> {
        #[serde(borrow)]
        body: &'a serde_json::value::RawValue,
        deps: Vec<EventId>,
        kind: &'a str,
        ledger: LedgerId,
        org: OrgSlug,
        prev: Option<EventId>,
        seq: u64,
        time: Timestamp,
    }
    // Fast path without path tracking; only a refused line pays for finding the field path.
    let envelope: Envelope<'_> = match serde_json::from_str(line) {
        Ok(envelope) => envelope,
        Err(plain) => {
            let mut deserializer = serde_json::Deserializer::from_str(line);
            let (path, message) = match serde_path_to_error::deserialize::<_, Envelope<'_>>(&mut deserializer) {
                Err(error) => (error.path().to_string(), error.inner().to_string()),
                Ok(_) => (String::new(), plain.to_string()),
            };
            return Err(EventError::Envelope { path, message });
        }
    };
    let kind = EventKind::parse(envelope.kind).ok_or_else(|| EventError::UnknownKind(envelope.kind.to_owned()))?;
    let body =
        parse_body(kind, envelope.body.get()).map_err(|error| EventError::Body { kind: kind.as_str(), error })?;
    let event = Event {
        ledger: envelope.ledger,
        org: envelope.org,
        seq: envelope.seq,
        prev: envelope.prev,
        time: envelope.time,
        deps: envelope.deps,
        body,
    };
    event.check_shape()?;
    Ok(event)
}

/// An event as it travels and is stored: the exact signed note bytes, with its parsed content and
/// id. Holding one means the note is well formed; it does not yet mean the signature is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedEvent {
    note: String,
    text_len: usize,
    id: EventId,
    event: Event,
    key_name: String,
    key_id: KeyId,
    signature: [u8; 64],
}

impl SignedEvent {
    /// Parses a signed event note: everything that needs no key.
    pub fn parse(note: &str) -> Result<Self, EventError> {
        if note.len() > EVENT_NOTE_BYTES_MAX {
            return Err(EventError::TooLarge { bytes: note.len(), max: EVENT_NOTE_BYTES_MAX });
        }
        Self::parse_owned(note.to_owned())
    }

    /// [`Self::parse`] for a note the caller already owns (saves a copy on the replay path).
    pub fn parse_owned(note: String) -> Result<Self, EventError> {
        if note.len() > EVENT_NOTE_BYTES_MAX {
            return Err(EventError::TooLarge { bytes: note.len(), max: EVENT_NOTE_BYTES_MAX });
        }
        let parsed = crate::note::parse_note(&note).map_err(EventError::Note)?;
        let text = parsed.text();
        let mut lines = text.split_terminator('\n');
        let header = lines.next().unwrap_or_default();
        if header != EVENT_HEADER {
            return Err(EventError::Header(header.chars().take(64).collect()));
        }
        let json_line = lines.next().unwrap_or_default();
        let line_count = text.split_terminator('\n').count();
        if line_count != 2 {
            return Err(EventError::LineCount(line_count));
        }
        let event = parse_json_line(json_line)?;
        let [line] = parsed.signatures() else {
            return Err(EventError::SignatureCount(parsed.signatures().len()));
        };
        let signature: [u8; 64] =
            line.signature().try_into().map_err(|_| EventError::SignatureLength(line.signature().len()))?;
        let id = EventId::of_text(text.as_bytes());
        let (text_len, key_name, key_id) = (text.len(), line.name().to_owned(), line.key_id());
        Ok(Self { id, text_len, key_name, key_id, signature, event, note })
    }

    /// The full signed note, exactly as signed and stored.
    pub fn note(&self) -> &str {
        &self.note
    }

    /// The signed text: header and JSON lines.
    pub fn text(&self) -> &str {
        &self.note[..self.text_len]
    }

    /// The event id (BLAKE3 of [`Self::text`]).
    pub fn id(&self) -> EventId {
        self.id
    }

    /// The parsed content.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The key name on the signature line.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The key id on the signature line.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Whether `key` made the signature: name and key id match and the strict Ed25519 rule holds.
    pub fn is_signed_by(&self, key: &VerifierKey) -> bool {
        self.names_key(key) && key.verify(self.text().as_bytes(), &self.signature)
    }

    /// Whether the signature line names `key` (its name and key id), without checking the
    /// signature.
    pub fn names_key(&self, key: &VerifierKey) -> bool {
        key.name().as_str() == self.key_name && key.key_id() == self.key_id
    }

    /// The signature's check under `key`, for [`crate::strict::verify_each`]: the key, the
    /// signed text and the 64 signature bytes.
    pub fn signature_under<'a>(&'a self, key: &'a VerifierKey) -> crate::strict::KeyedSignature<'a> {
        (key.strict(), self.text().as_bytes(), &self.signature)
    }

    /// Takes the parsed content, dropping the note bytes.
    pub fn into_event(self) -> Event {
        self.event
    }
}
