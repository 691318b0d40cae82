//! Names derived from the ledger id: the feed stream, the feed subjects and the fork-proof
//! subject, and the private stream and its subjects.

use std::time::Duration;

use coalition_core::event::{LedgerId, OrgSlug};
use coalition_store::PrivateSpace;

use crate::{
    DUPLICATE_WINDOW_DEFAULT, DUPLICATE_WINDOW_MIN, LEDGER_HEX_DIGITS, NatsError, PRIVATE_STREAM_SUFFIX, REPLICAS_MAX,
    STREAM_NAME_PREFIX, SUBJECT_PREFIX,
};

/// Which ledger's stream, and how it must be configured.
///
/// Names use the first [`LEDGER_HEX_DIGITS`] (16) hex digits of the ledger id, 64 bits: names stay
/// short (NATS subjects travel in every message), and 64 bits are plenty because the prefix only
/// has to keep apart the few ledgers that share one NATS account. Accidental collision among `n`
/// ledgers has probability about n²/2⁶⁵; making a genesis whose id collides with an existing
/// ledger's prefix on purpose is a 2⁶⁴ second-preimage search. And even a collision could not
/// mix ledgers up: every event names the full 256-bit ledger id, which verification checks, so a
/// foreign event on our subjects would be refused (and quarantined) like any other bad input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpec {
    ledger: LedgerId,
    replicas: usize,
    duplicate_window: Duration,
}

impl StreamSpec {
    /// A spec for `ledger` with `replicas` copies (1 to [`REPLICAS_MAX`]) and a deduplication window
    /// of at least [`DUPLICATE_WINDOW_MIN`].
    pub fn new(ledger: LedgerId, replicas: usize, duplicate_window: Duration) -> Result<Self, NatsError> {
        if !(1..=REPLICAS_MAX).contains(&replicas) {
            return Err(NatsError::Invalid {
                what: "replicas",
                detail: format!("{replicas} replicas asked, JetStream allows 1 to {REPLICAS_MAX}"),
            });
        }
        if duplicate_window < DUPLICATE_WINDOW_MIN {
            return Err(NatsError::Invalid {
                what: "duplicate window",
                detail: format!("{duplicate_window:?} is shorter than the minimum {DUPLICATE_WINDOW_MIN:?}"),
            });
        }
        Ok(Self { ledger, replicas, duplicate_window })
    }

    /// One replica (a single server) and [`DUPLICATE_WINDOW_DEFAULT`].
    pub fn single_server(ledger: LedgerId) -> Self {
        Self { ledger, replicas: 1, duplicate_window: DUPLICATE_WINDOW_DEFAULT }
    }

    /// The ledger.
    pub fn ledger(&self) -> LedgerId {
        self.ledger
    }

    /// Replicas asked for.
    pub fn replicas(&self) -> usize {
        self.replicas
    }

    /// The deduplication window.
    pub fn duplicate_window(&self) -> Duration {
        self.duplicate_window
    }

    /// The ledger's 16 lowercase hex digits used in subjects.
    pub fn ledger_hex(&self) -> String {
        let mut hex = self.ledger.to_string();
        hex.truncate(LEDGER_HEX_DIGITS);
        hex
    }

    /// `COALITION_<16 hex digits, upper case>`.
    pub fn stream_name(&self) -> String {
        format!("{STREAM_NAME_PREFIX}{}", self.ledger_hex().to_ascii_uppercase())
    }

    /// `coalition.<hex16>.feed.<org>`: where `org`'s feed is published.
    pub fn feed_subject(&self, org: &OrgSlug) -> String {
        format!("{SUBJECT_PREFIX}.{}.feed.{org}", self.ledger_hex())
    }

    /// `coalition.<hex16>.feed.*`: every feed subject.
    pub fn feeds_wildcard(&self) -> String {
        format!("{SUBJECT_PREFIX}.{}.feed.*", self.ledger_hex())
    }

    /// `coalition.<hex16>.forks`: where fork proofs are published.
    pub fn forks_subject(&self) -> String {
        format!("{SUBJECT_PREFIX}.{}.forks", self.ledger_hex())
    }

    /// `COALITION_<16 hex digits, upper case>_PRIVATE`: the ledger's private stream (key grants
    /// and reports, deletable; PROTOCOL §14.2).
    pub fn private_stream_name(&self) -> String {
        format!("{}{PRIVATE_STREAM_SUFFIX}", self.stream_name())
    }

    /// `coalition.<hex16>.private.<space>.<id>`: where the private record `id` of `space` is
    /// published. `id` must be a valid private record id (no dots, no wildcards): see
    /// [`coalition_store::check_private_record`].
    pub fn private_subject(&self, space: PrivateSpace, id: &str) -> String {
        format!("{SUBJECT_PREFIX}.{}.private.{}.{id}", self.ledger_hex(), space.as_str())
    }

    /// `coalition.<hex16>.private.>`: every private subject.
    pub fn private_wildcard(&self) -> String {
        format!("{SUBJECT_PREFIX}.{}.private.>", self.ledger_hex())
    }

    /// The space and id a private subject names, or `None` when the subject is not one of this
    /// ledger's private subjects or its id is not one the store would accept.
    pub fn classify_private(&self, subject: &str) -> Option<(PrivateSpace, String)> {
        let rest = subject.strip_prefix(&format!("{SUBJECT_PREFIX}.{}.private.", self.ledger_hex()))?;
        let (space, id) = rest.split_once('.')?;
        let space =
            [PrivateSpace::KeyGrants, PrivateSpace::Reports].into_iter().find(|known| known.as_str() == space)?;
        coalition_store::check_private_record(id, &[]).ok()?;
        Some((space, id.to_owned()))
    }

    /// What a subject of this stream is for.
    pub fn classify(&self, subject: &str) -> NoteSubject {
        if subject == self.forks_subject() {
            return NoteSubject::ForkProofs;
        }
        let feeds = format!("{SUBJECT_PREFIX}.{}.feed.", self.ledger_hex());
        match subject.strip_prefix(&feeds).map(OrgSlug::parse) {
            Some(Ok(org)) => NoteSubject::Feed(org),
            _ => NoteSubject::Other,
        }
    }
}

/// What a message's subject says it carries. The subject is only a routing hint: the org inside
/// the note is what verification trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoteSubject {
    /// An organisation's feed subject.
    Feed(OrgSlug),
    /// The fork-proof subject.
    ForkProofs,
    /// Anything else (a feed subject whose last token is not a valid slug).
    Other,
}
