//! Feed verification: which signed events belong to the ledger, in which feed, at which place.
//!
//! [`Verifier`] holds, per organisation, the ids of its verified feed and its key history, and
//! nothing else: memory grows by one id per event, never by the events themselves. Work is split
//! in two so callers can spread the expensive part over threads: [`Verifier::check`] (`&self`,
//! safe to call concurrently) parses a note and checks its signature under the key the feed
//! would expect next; [`Verifier::accept`] (`&mut self`, in arrival order) applies the feed rules
//! and, in the rare case the key guess was stale (a rotation in the same batch), re-checks the
//! signature under the right key. Events that arrive ahead of their predecessor wait in a bounded
//! buffer.
//!
//! Feed rules: the ledger id is the genesis's; the org is a founder or was proposed as a member
//! by a verified event; seq runs from 1 without gaps; prev names the previous event; time never
//! goes back within a feed nor before the genesis; the signature is by the org's key at that seq
//! (the genesis or proposal key, then each `key.rotated` from the event after it). Two validly
//! signed events with one (org, seq) and different ids are a fork: reported with both ids, and the
//! feed is frozen at the seq before it.

use std::collections::{BTreeMap, HashMap};

use crate::body::Body;
use crate::event::{EventError, EventId, LedgerId, OrgSlug, SignedEvent};
use crate::genesis::Genesis;
use crate::keys::{KeyError, VerifierKey};
use crate::time::Timestamp;

/// Most events that may wait for a predecessor (or for their org's admission) at once.
pub const PENDING_EVENTS_MAX: usize = 1_000_000;

/// An opaque tag the caller attaches to each note (a bundle line, a stream sequence) and gets
/// back in every outcome about it.
pub type Tag = u64;

/// A note after the concurrent half of verification.
#[derive(Debug, Clone)]
pub struct Checked {
    tag: Tag,
    result: Result<(SignedEvent, KeyGuess), EventError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyGuess {
    /// No key was known for the org when checked.
    Unknown,
    /// The signature was checked under the key with this public key, with this verdict.
    Tried { public_key: [u8; 32], valid: bool },
}

impl KeyGuess {
    /// The guess for the expected `key` (if any), with `verdict`'s decision under it.
    fn of(key: Option<&VerifierKey>, verdict: impl FnOnce(&VerifierKey) -> bool) -> Self {
        key.map_or(Self::Unknown, |key| Self::Tried { public_key: *key.public_key(), valid: verdict(key) })
    }
}

fn guess_key(event: SignedEvent, key: Option<&VerifierKey>) -> (SignedEvent, KeyGuess) {
    let guess = KeyGuess::of(key, |key| event.is_signed_by(key));
    (event, guess)
}

/// The keys a verifier expects, detached from it: checks can run on other threads from a
/// snapshot while the verifier goes on accepting. A stale snapshot costs only a second signature
/// check in [`Verifier::accept`], never a wrong verdict.
#[derive(Debug, Clone, Default)]
pub struct KeyBook {
    feeds: BTreeMap<OrgSlug, Vec<(u64, VerifierKey)>>,
    proposed: BTreeMap<OrgSlug, Vec<VerifierKey>>,
}

impl KeyBook {
    /// [`Verifier::check`] against this snapshot.
    pub fn check(&self, tag: Tag, note: &str) -> Checked {
        Checked { tag, result: SignedEvent::parse(note).map(|event| self.guess(event)) }
    }

    /// [`Verifier::check_owned`] against this snapshot.
    pub fn check_owned(&self, tag: Tag, note: String) -> Checked {
        Checked { tag, result: SignedEvent::parse_owned(note).map(|event| self.guess(event)) }
    }

    /// [`Self::check_owned`] on several notes: the same results, in order, with the signatures
    /// checked together ([`crate::strict::verify_each`], which shares work between them).
    pub fn check_owned_many(&self, notes: impl IntoIterator<Item = (Tag, String)>) -> Vec<Checked> {
        let parsed: Vec<(Tag, Result<SignedEvent, EventError>)> =
            notes.into_iter().map(|(tag, note)| (tag, SignedEvent::parse_owned(note))).collect();
        let keys: Vec<Option<&VerifierKey>> =
            parsed.iter().map(|(_, result)| result.as_ref().ok().and_then(|event| self.expected_key(event))).collect();
        let mut valid = vec![false; parsed.len()];
        {
            // Only a signature line that names the expected key is worth a check; is_signed_by
            // refuses the others the same way.
            let (places, checks): (Vec<usize>, Vec<_>) = parsed
                .iter()
                .zip(&keys)
                .enumerate()
                .filter_map(|(place, ((_, result), key))| match (result, key) {
                    (Ok(event), Some(key)) if event.names_key(key) => Some((place, event.signature_under(key))),
                    _ => None,
                })
                .unzip();
            for (place, verdict) in places.into_iter().zip(crate::strict::verify_each(&checks)) {
                valid[place] = verdict;
            }
        }
        parsed
            .into_iter()
            .zip(keys)
            .zip(valid)
            .map(|(((tag, result), key), valid)| Checked {
                tag,
                result: result.map(|event| (event, KeyGuess::of(key, |_| valid))),
            })
            .collect()
    }

    fn guess(&self, event: SignedEvent) -> (SignedEvent, KeyGuess) {
        let key = self.expected_key(&event);
        guess_key(event, key)
    }

    fn expected_key(&self, event: &SignedEvent) -> Option<&VerifierKey> {
        let content = event.event();
        match self.feeds.get(&content.org) {
            Some(keys) => keys.iter().rev().find(|(from, _)| *from <= content.seq).map(|(_, key)| key),
            None => self.proposed.get(&content.org).and_then(|keys| {
                keys.iter().find(|key| key.name().as_str() == event.key_name() && key.key_id() == event.key_id())
            }),
        }
    }
}

/// Why a well-formed event was refused by the feed rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Malformed before any key was consulted.
    #[error("{0}")]
    Malformed(#[from] EventError),
    /// Belongs to another ledger.
    #[error("event is for ledger {found}, not this ledger ({expected})")]
    WrongLedger {
        /// This ledger.
        expected: LedgerId,
        /// The event's.
        found: LedgerId,
    },
    /// No founder and no proposed member has this slug.
    #[error("unknown organisation {0}: not a founding member and never proposed as one")]
    UnknownOrg(OrgSlug),
    /// The signature line names another key than the org's key at this seq.
    #[error("signature line names key {found:?}, but {org}'s key at this seq is {expected:?}")]
    WrongKey {
        /// The organisation.
        org: OrgSlug,
        /// The key expected (name+id).
        expected: String,
        /// The key on the signature line (name+id).
        found: String,
    },
    /// The signature does not verify under the org's key.
    #[error("bad signature: does not verify under {0}'s key")]
    BadSignature(OrgSlug),
    /// `prev` does not name the org's previous event.
    #[error("prev mismatch: prev is {found:?} but the previous event is {expected}")]
    PrevMismatch {
        /// Id of the verified previous event.
        expected: EventId,
        /// What the event names.
        found: Option<EventId>,
    },
    /// The time is earlier than the org's previous event or the genesis.
    #[error("time {found} is earlier than {floor}, the previous event's or the genesis's time")]
    TimeWentBack {
        /// The event's time.
        found: Timestamp,
        /// The earliest time allowed.
        floor: Timestamp,
    },
    /// An event at seq `seq` never arrived, so this one cannot be placed.
    #[error("seq gap: seq {missing} of {org} is missing (have up to {head})")]
    SeqGap {
        /// The organisation.
        org: OrgSlug,
        /// The first missing seq.
        missing: u64,
        /// The head of the verified feed.
        head: u64,
    },
    /// The feed was frozen by a fork at or before this seq.
    #[error("feed of {org} is frozen by a fork at seq {fork_seq}")]
    Frozen {
        /// The organisation.
        org: OrgSlug,
        /// The seq where the two events conflict.
        fork_seq: u64,
    },
    /// A key announced in the event breaks the key rules or is named for another org.
    #[error("announced key: {0}")]
    BadAnnouncedKey(String),
    /// The waiting buffer was full.
    #[error("too many events waiting for their predecessors (limit {PENDING_EVENTS_MAX})")]
    PendingFull,
}

impl Rejection {
    /// A short stable code for machines (`bad_signature`, `seq_gap`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed(error) => match error {
                EventError::TooLarge { .. } => "too_large",
                EventError::Note(_) => "bad_note",
                EventError::NotCanonical(_) => "not_canonical",
                EventError::Body { .. } => "schema",
                EventError::Envelope { .. } | EventError::UnknownKind(_) => "schema",
                _ => "malformed",
            },
            Rejection::WrongLedger { .. } => "wrong_ledger",
            Rejection::UnknownOrg(_) => "unknown_org",
            Rejection::WrongKey { .. } => "wrong_key",
            Rejection::BadSignature(_) => "bad_signature",
            Rejection::PrevMismatch { .. } => "prev_mismatch",
            Rejection::TimeWentBack { .. } => "time_went_back",
            Rejection::SeqGap { .. } => "seq_gap",
            Rejection::Frozen { .. } => "frozen_by_fork",
            Rejection::BadAnnouncedKey(_) => "bad_announced_key",
            Rejection::PendingFull => "pending_full",
        }
    }
}

/// Two validly signed events of one org at one seq: a portable proof of equivocation (with the
/// two notes, anyone holding the genesis and the feed up to `seq - 1` can check it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkFound {
    /// The equivocating organisation.
    pub org: OrgSlug,
    /// The seq both events claim.
    pub seq: u64,
    /// The event verified first.
    pub first: EventId,
    /// The conflicting event, in full.
    pub second: Box<SignedEvent>,
}

/// What became of one note.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Outcome {
    /// Verified and placed in its feed.
    Accepted {
        /// The caller's tag.
        tag: Tag,
        /// The event.
        event: Box<SignedEvent>,
    },
    /// The same event was already accepted.
    Duplicate {
        /// The caller's tag.
        tag: Tag,
        /// Its id.
        id: EventId,
    },
    /// Refused, with the reason.
    Rejected {
        /// The caller's tag.
        tag: Tag,
        /// Organisation and seq, when the note was readable enough to tell.
        position: Option<(OrgSlug, u64)>,
        /// Event id, when the note was readable enough to tell.
        id: Option<EventId>,
        /// Why.
        reason: Rejection,
    },
    /// Validly signed, but at or after the seq where its feed forked: it has no effect, yet the
    /// projector should hold it so that events naming it are not blocked.
    Frozen {
        /// The caller's tag.
        tag: Tag,
        /// The seq at which the feed forked.
        fork_seq: u64,
        /// The event.
        event: Box<SignedEvent>,
    },
    /// A fork: this event conflicts with an accepted one.
    Fork {
        /// The caller's tag (of the second event).
        tag: Tag,
        /// The proof.
        fork: ForkFound,
    },
}

#[derive(Debug, Clone)]
struct Feed {
    /// Ids of the verified events; index = seq - 1.
    ids: Vec<EventId>,
    /// Key history: (first seq signed with it, key), ascending.
    keys: Vec<(u64, VerifierKey)>,
    last_time: Timestamp,
    frozen_at: Option<u64>,
}

impl Feed {
    fn head(&self) -> u64 {
        self.ids.len() as u64
    }

    fn key_at(&self, seq: u64) -> Option<&VerifierKey> {
        self.keys.iter().rev().find(|(from, _)| *from <= seq).map(|(_, key)| key)
    }
}

/// An organisation and a seq in its feed.
type FeedPosition = (OrgSlug, u64);
/// An event waiting for its predecessor, with the caller's tag.
type Waiting = (Tag, SignedEvent);

/// The streaming verifier of a ledger's feeds. See the module documentation.
#[derive(Debug, Clone)]
pub struct Verifier {
    ledger: LedgerId,
    origin: String,
    created: Timestamp,
    feeds: BTreeMap<OrgSlug, Feed>,
    /// Keys proposed for organisations that are not founders, in order of verification.
    proposed_keys: BTreeMap<OrgSlug, Vec<VerifierKey>>,
    /// Events waiting for their predecessor or their org's proposal, by (org, seq).
    pending: HashMap<FeedPosition, Vec<Waiting>>,
    pending_count: usize,
}

/// One feed as a [`Verifier`] holds it, for a node's start-up snapshot: see
/// [`Verifier::state`] and [`Verifier::restore`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FeedState {
    /// The organisation.
    pub org: OrgSlug,
    /// Ids of the verified events; index = seq - 1.
    pub ids: Vec<EventId>,
    /// Key history: (first seq signed with it, key), ascending.
    pub keys: Vec<(u64, VerifierKey)>,
    /// The time of the feed's last event (the genesis time for an empty feed).
    pub last_time: Timestamp,
    /// The seq at which the feed forked, if it did.
    pub frozen_at: Option<u64>,
}

impl FeedState {
    /// A feed's state from its parts (decoding a snapshot).
    pub fn new(
        org: OrgSlug,
        ids: Vec<EventId>,
        keys: Vec<(u64, VerifierKey)>,
        last_time: Timestamp,
        frozen_at: Option<u64>,
    ) -> Self {
        Self { org, ids, keys, last_time, frozen_at }
    }
}

/// Everything a [`Verifier`] with nothing waiting holds, by organisation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct VerifierState {
    /// Every feed, sorted by organisation.
    pub feeds: Vec<FeedState>,
    /// Keys proposed for organisations that are not founders, in order of verification.
    pub proposed_keys: Vec<(OrgSlug, Vec<VerifierKey>)>,
}

impl VerifierState {
    /// A state from its parts (decoding a snapshot).
    pub fn new(feeds: Vec<FeedState>, proposed_keys: Vec<(OrgSlug, Vec<VerifierKey>)>) -> Self {
        Self { feeds, proposed_keys }
    }
}

fn key_label(key: &VerifierKey) -> String {
    format!("{}+{}", key.name().as_str(), key.key_id())
}

impl Verifier {
    /// A verifier for the ledger of `genesis`, with every founder's feed empty.
    pub fn new(genesis: &Genesis) -> Self {
        let doc = genesis.doc();
        let feeds = doc
            .members
            .iter()
            .map(|member| {
                let feed = Feed {
                    ids: Vec::new(),
                    keys: vec![(1, member.vkey.clone())],
                    last_time: doc.created,
                    frozen_at: None,
                };
                (member.slug.clone(), feed)
            })
            .collect();
        Self {
            ledger: genesis.ledger_id(),
            origin: doc.origin.clone(),
            created: doc.created,
            feeds,
            proposed_keys: BTreeMap::new(),
            pending: HashMap::new(),
            pending_count: 0,
        }
    }

    /// What this verifier holds, to restore it later with [`Self::restore`]; `None` while events
    /// wait for their predecessor (they are not part of any state worth keeping).
    pub fn state(&self) -> Option<VerifierState> {
        if self.pending_count > 0 || !self.pending.is_empty() {
            return None;
        }
        let feeds = self
            .feeds
            .iter()
            .map(|(org, feed)| FeedState {
                org: org.clone(),
                ids: feed.ids.clone(),
                keys: feed.keys.clone(),
                last_time: feed.last_time,
                frozen_at: feed.frozen_at,
            })
            .collect();
        let proposed_keys = self.proposed_keys.iter().map(|(org, keys)| (org.clone(), keys.clone())).collect();
        Some(VerifierState { feeds, proposed_keys })
    }

    /// A verifier for `genesis` holding `state`, as [`Self::state`] gave it. The state is
    /// trusted: only a node's own checksummed snapshot, whose feed heads it has found in its own
    /// store, may be restored. A feed without any key is refused (it could verify nothing).
    pub fn restore(genesis: &Genesis, state: VerifierState) -> Result<Self, String> {
        let mut verifier = Self::new(genesis);
        for feed in state.feeds {
            if feed.keys.is_empty() {
                return Err(format!("the feed of {} names no key", feed.org));
            }
            let restored =
                Feed { ids: feed.ids, keys: feed.keys, last_time: feed.last_time, frozen_at: feed.frozen_at };
            verifier.feeds.insert(feed.org, restored);
        }
        verifier.proposed_keys = state.proposed_keys.into_iter().collect();
        Ok(verifier)
    }

    /// The concurrent half: parse the note and check its signature under the key its feed would
    /// expect. Safe to call from many threads at once on a shared verifier.
    pub fn check(&self, tag: Tag, note: &str) -> Checked {
        self.checked(tag, SignedEvent::parse(note))
    }

    /// [`Self::check`] for a note the caller owns (saves a copy on the replay path).
    pub fn check_owned(&self, tag: Tag, note: String) -> Checked {
        self.checked(tag, SignedEvent::parse_owned(note))
    }

    fn checked(&self, tag: Tag, parsed: Result<SignedEvent, EventError>) -> Checked {
        let result = parsed.map(|event| {
            let key = self.expected_key(&event);
            guess_key(event, key)
        });
        Checked { tag, result }
    }

    /// A snapshot of the keys this verifier expects now, for checks on other threads.
    pub fn key_book(&self) -> KeyBook {
        KeyBook {
            feeds: self.feeds.iter().map(|(org, feed)| (org.clone(), feed.keys.clone())).collect(),
            proposed: self.proposed_keys.clone(),
        }
    }

    fn expected_key(&self, event: &SignedEvent) -> Option<&VerifierKey> {
        let content = event.event();
        match self.feeds.get(&content.org) {
            Some(feed) => feed.key_at(content.seq),
            None => self.proposed_keys.get(&content.org).and_then(|keys| {
                keys.iter().find(|key| key.name().as_str() == event.key_name() && key.key_id() == event.key_id())
            }),
        }
    }

    /// The sequential half: apply the feed rules in arrival order. Returns the outcome for this
    /// note and for any waiting notes it released.
    pub fn accept(&mut self, checked: Checked) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        match checked.result {
            Err(error) => outcomes.push(Outcome::Rejected {
                tag: checked.tag,
                position: None,
                id: None,
                reason: Rejection::Malformed(error),
            }),
            Ok((event, guess)) => self.place(checked.tag, event, guess, &mut outcomes),
        }
        outcomes
    }

    /// [`Self::check`] for many notes, spread over up to `threads` threads; results come back in
    /// the order of `notes`, ready for [`Self::accept`].
    pub fn check_many(&self, notes: &[(Tag, String)], threads: usize) -> Vec<Checked> {
        let threads = threads.clamp(1, notes.len().max(1));
        if threads == 1 {
            return notes.iter().map(|(tag, note)| self.check(*tag, note)).collect();
        }
        let chunk_len = notes.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let workers: Vec<_> = notes
                .chunks(chunk_len)
                .map(|chunk| {
                    scope.spawn(move || chunk.iter().map(|(tag, note)| self.check(*tag, note)).collect::<Vec<_>>())
                })
                .collect();
            let mut checked = Vec::with_capacity(notes.len());
            for (worker, chunk) in workers.into_iter().zip(notes.chunks(chunk_len)) {
                match worker.join() {
                    Ok(results) => checked.extend(results),
                    // A panicking check is a bug; redo the chunk here so no note is lost.
                    Err(_) => checked.extend(chunk.iter().map(|(tag, note)| self.check(*tag, note))),
                }
            }
            checked
        })
    }

    /// Places an event read back from the caller's own store, whose signature was verified
    /// before it was stored: the signature is not checked again (the store checks ids and chains
    /// on read), every other feed rule applies. This is what makes a node's start-up independent
    /// of the signature rate; never use it for bytes from the network or a file.
    pub fn accept_trusted(&mut self, tag: Tag, event: SignedEvent) -> Vec<Outcome> {
        let guess = match self.expected_key(&event) {
            Some(key) => KeyGuess::Tried { public_key: *key.public_key(), valid: true },
            None => KeyGuess::Unknown,
        };
        let mut outcomes = Vec::new();
        self.place(tag, event, guess, &mut outcomes);
        outcomes
    }

    /// Convenience for one note: [`Self::check`] then [`Self::accept`].
    pub fn push(&mut self, tag: Tag, note: &str) -> Vec<Outcome> {
        let checked = self.check(tag, note);
        self.accept(checked)
    }

    /// Ends the stream: every event still waiting is rejected with the reason it waited for.
    pub fn finish(&mut self) -> Vec<Outcome> {
        let mut waiting: Vec<(FeedPosition, Vec<Waiting>)> = self.pending.drain().collect();
        waiting.sort_by(|left, right| left.0.cmp(&right.0));
        self.pending_count = 0;
        let mut outcomes = Vec::new();
        for ((org, _seq), events) in waiting {
            for (tag, event) in events {
                let reason = match self.feeds.get(&org) {
                    None => Rejection::UnknownOrg(org.clone()),
                    Some(feed) => match feed.frozen_at {
                        Some(fork_seq) => Rejection::Frozen { org: org.clone(), fork_seq },
                        None => Rejection::SeqGap { org: org.clone(), missing: feed.head() + 1, head: feed.head() },
                    },
                };
                outcomes.push(rejected(tag, &event, reason));
            }
        }
        outcomes.sort_by_key(outcome_tag);
        outcomes
    }

    /// The head (seq, id) of every feed with at least one verified event.
    pub fn heads(&self) -> BTreeMap<OrgSlug, (u64, EventId)> {
        self.feeds
            .iter()
            .filter_map(|(org, feed)| feed.ids.last().map(|id| (org.clone(), (feed.head(), *id))))
            .collect()
    }

    /// The id of an org's verified event at `seq`, if any.
    pub fn id_at(&self, org: &OrgSlug, seq: u64) -> Option<EventId> {
        let feed = self.feeds.get(org)?;
        let index = usize::try_from(seq.checked_sub(1)?).ok()?;
        feed.ids.get(index).copied()
    }

    /// The key an organisation's next event must be signed with, if the org is known.
    pub fn current_key(&self, org: &OrgSlug) -> Option<&VerifierKey> {
        self.feeds.get(org).and_then(|feed| feed.key_at(u64::MAX))
    }

    /// The seq at which an org's feed was frozen by a fork, if it was.
    pub fn frozen_at(&self, org: &OrgSlug) -> Option<u64> {
        self.feeds.get(org).and_then(|feed| feed.frozen_at)
    }

    /// How many events are waiting for a predecessor.
    pub fn pending_count(&self) -> usize {
        self.pending_count
    }

    fn place(&mut self, tag: Tag, event: SignedEvent, guess: KeyGuess, outcomes: &mut Vec<Outcome>) {
        let content = event.event();
        if content.ledger != self.ledger {
            let reason = Rejection::WrongLedger { expected: self.ledger, found: content.ledger };
            outcomes.push(rejected(tag, &event, reason));
            return;
        }
        let org = content.org.clone();
        let seq = content.seq;
        if !self.feeds.contains_key(&org) && !self.adopt_proposed_feed(&event) {
            self.wait(tag, event, outcomes);
            return;
        }
        let Some(feed) = self.feeds.get(&org) else { return };
        if let Some(fork_seq) = feed.frozen_at.filter(|fork_seq| seq >= *fork_seq) {
            // Still signed by the org (checked under its key as far as the feed is known): the
            // projector needs such events so that honest events naming them are not blocked.
            let signed = feed.key_at(seq).is_some_and(|key| check_signature(&event, key, &guess).is_ok());
            if signed {
                outcomes.push(Outcome::Frozen { tag, fork_seq, event: Box::new(event) });
            } else {
                outcomes.push(rejected(tag, &event, Rejection::BadSignature(org)));
            }
            return;
        }
        let head = feed.head();
        if seq > head + 1 {
            self.wait(tag, event, outcomes);
            return;
        }
        // The event is at or below the head + 1: its key is fully determined now.
        let Some(key) = feed.key_at(seq) else {
            outcomes.push(rejected(tag, &event, Rejection::UnknownOrg(org)));
            return;
        };
        if let Err(reason) = check_signature(&event, key, &guess) {
            outcomes.push(rejected(tag, &event, reason));
            return;
        }
        if seq <= head {
            let existing = feed.ids[(seq - 1) as usize];
            if existing == event.id() {
                outcomes.push(Outcome::Duplicate { tag, id: existing });
            } else {
                if let Some(feed) = self.feeds.get_mut(&org) {
                    feed.frozen_at = Some(feed.frozen_at.map_or(seq, |frozen| frozen.min(seq)));
                }
                let fork = ForkFound { org, seq, first: existing, second: Box::new(event) };
                outcomes.push(Outcome::Fork { tag, fork });
            }
            return;
        }
        let expected_prev = feed.ids.last().copied();
        if content.prev != expected_prev {
            let reason = match expected_prev {
                Some(expected) => Rejection::PrevMismatch { expected, found: content.prev },
                // Unreachable through parsing (seq 1 has no prev), kept for a total match.
                None => Rejection::Malformed(EventError::PrevAtFirst),
            };
            outcomes.push(rejected(tag, &event, reason));
            return;
        }
        let floor = feed.last_time.max(self.created);
        if content.time < floor {
            outcomes.push(rejected(tag, &event, Rejection::TimeWentBack { found: content.time, floor }));
            return;
        }
        if let Err(reason) = self.check_announced_key(&event) {
            outcomes.push(rejected(tag, &event, reason));
            return;
        }
        self.extend(tag, event, outcomes);
    }

    /// Places a verified next event, then releases whatever waited for it.
    fn extend(&mut self, tag: Tag, event: SignedEvent, outcomes: &mut Vec<Outcome>) {
        let content = event.event();
        let org = content.org.clone();
        let Some(feed) = self.feeds.get_mut(&org) else { return };
        feed.ids.push(event.id());
        feed.last_time = content.time;
        let next_seq = feed.head() + 1;
        let mut adopted = None;
        match &content.body {
            Body::KeyRotated(rotation) => {
                if let Ok(key) = VerifierKey::parse(&rotation.vkey) {
                    feed.keys.push((next_seq, key));
                }
            }
            Body::MemberProposed(proposal) => {
                if let Ok(key) = VerifierKey::parse(&proposal.vkey) {
                    let keys = self.proposed_keys.entry(proposal.slug.clone()).or_default();
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                    adopted = Some(proposal.slug.clone());
                }
            }
            _ => {}
        }
        outcomes.push(Outcome::Accepted { tag, event: Box::new(event) });
        self.release(&org, next_seq, outcomes);
        if let Some(slug) = adopted {
            self.release(&slug, 1, outcomes);
        }
    }

    fn release(&mut self, org: &OrgSlug, seq: u64, outcomes: &mut Vec<Outcome>) {
        if let Some(waiting) = self.pending.remove(&(org.clone(), seq)) {
            self.pending_count -= waiting.len();
            for (tag, event) in waiting {
                // The key may have changed since the guess: re-check against the now-known key.
                let guess = KeyGuess::Unknown;
                self.place(tag, event, guess, outcomes);
            }
        }
    }

    /// A first event of a proposed (non-founding) member: its feed starts with the proposed key
    /// that signed it.
    fn adopt_proposed_feed(&mut self, event: &SignedEvent) -> bool {
        let content = event.event();
        if content.seq != 1 {
            return false;
        }
        let Some(keys) = self.proposed_keys.get(&content.org) else { return false };
        let Some(key) = keys.iter().find(|key| event.is_signed_by(key)) else { return false };
        let feed = Feed { ids: Vec::new(), keys: vec![(1, key.clone())], last_time: self.created, frozen_at: None };
        self.feeds.insert(content.org.clone(), feed);
        true
    }

    fn check_announced_key(&self, event: &SignedEvent) -> Result<(), Rejection> {
        let content = event.event();
        let (slug, vkey) = match &content.body {
            Body::KeyRotated(rotation) => (&content.org, &rotation.vkey),
            Body::MemberProposed(proposal) => (&proposal.slug, &proposal.vkey),
            _ => return Ok(()),
        };
        let key = VerifierKey::parse(vkey).map_err(|error: KeyError| Rejection::BadAnnouncedKey(error.to_string()))?;
        let expected = format!("{}/{}", self.origin, slug);
        if key.name().as_str() != expected {
            return Err(Rejection::BadAnnouncedKey(format!(
                "key name must be {expected:?}, found {:?}",
                key.name().as_str()
            )));
        }
        Ok(())
    }

    fn wait(&mut self, tag: Tag, event: SignedEvent, outcomes: &mut Vec<Outcome>) {
        if self.pending_count >= PENDING_EVENTS_MAX {
            outcomes.push(rejected(tag, &event, Rejection::PendingFull));
            return;
        }
        let content = event.event();
        let key = (content.org.clone(), content.seq);
        self.pending.entry(key).or_default().push((tag, event));
        self.pending_count += 1;
    }
}

fn check_signature(event: &SignedEvent, key: &VerifierKey, guess: &KeyGuess) -> Result<(), Rejection> {
    let org = &event.event().org;
    if key.name().as_str() != event.key_name() || key.key_id() != event.key_id() {
        return Err(Rejection::WrongKey {
            org: org.clone(),
            expected: key_label(key),
            found: format!("{}+{}", event.key_name(), event.key_id()),
        });
    }
    let valid = match guess {
        KeyGuess::Tried { public_key, valid } if public_key == key.public_key() => *valid,
        _ => event.is_signed_by(key),
    };
    if valid { Ok(()) } else { Err(Rejection::BadSignature(org.clone())) }
}

fn rejected(tag: Tag, event: &SignedEvent, reason: Rejection) -> Outcome {
    let content = event.event();
    Outcome::Rejected { tag, position: Some((content.org.clone(), content.seq)), id: Some(event.id()), reason }
}

fn outcome_tag(outcome: &Outcome) -> Tag {
    match outcome {
        Outcome::Accepted { tag, .. }
        | Outcome::Duplicate { tag, .. }
        | Outcome::Rejected { tag, .. }
        | Outcome::Frozen { tag, .. }
        | Outcome::Fork { tag, .. } => *tag,
    }
}
