//! Test support: deterministic keys, a genesis, and an author that fills seq, prev, deps and
//! time and signs real events through coalition-core.

use std::collections::BTreeMap;

use coalition_core::body::{Body, Digest, EventKind, FrontierEntry, Policy, parse_body};
use coalition_core::edition::EditionStatement;
use coalition_core::event::{Event, EventId, LedgerId, OrgSlug, SignedEvent};
use coalition_core::genesis::{FoundingMember, Genesis, GenesisDoc};
use coalition_core::keys::{KeyName, SignerKey};
use coalition_core::time::Timestamp;
use coalition_projector::Projector;

/// The origin of every test ledger.
pub const ORIGIN: &str = "coalition.test";

/// The time of the genesis; events start one day later.
pub const CREATED: &str = "2026-01-01T00:00:00Z";

/// Seconds between two consecutive default event times.
pub const STEP_SECONDS: i64 = 60;

/// The test key called `name`: `alpha` is alpha's first key, `alpha#2` another key of alpha
/// (same key name, another seed).
pub fn signer(name: &str) -> SignerKey {
    let org = name.split('#').next().unwrap_or(name);
    let key_name = KeyName::parse(&format!("{ORIGIN}/{org}")).expect("test key name");
    let seed = *blake3::hash(format!("coalition-projector test key/{name}").as_bytes()).as_bytes();
    SignerKey::from_seed(key_name, seed)
}

/// A slug from a test string.
pub fn slug(text: &str) -> OrgSlug {
    OrgSlug::parse(text).expect("test slug")
}

/// A genesis with these founders (any order) and policy, unsigned (the projector does not check
/// founders' signatures).
pub fn genesis(members: &[&str], policy: Policy) -> Genesis {
    let mut founders: Vec<FoundingMember> = members
        .iter()
        .map(|name| FoundingMember {
            slug: slug(name),
            name: format!("Organisation {name}"),
            vkey: signer(name).verifier_key(),
            recipient: None,
        })
        .collect();
    founders.sort_by(|left, right| left.slug.cmp(&right.slug));
    let doc = GenesisDoc {
        name: "Test coalition".to_owned(),
        origin: ORIGIN.to_owned(),
        created: Timestamp::parse(CREATED).expect("time"),
        members: founders,
        policy,
    };
    Genesis::parse(&doc.to_note_text().expect("genesis text")).expect("genesis")
}

/// A policy from four quorums.
pub fn policy(listing: u32, governance: u32, edition: u32, exclusion: u32) -> Policy {
    Policy {
        listing_quorum: listing,
        governance_quorum: governance,
        edition_quorum: edition,
        exclusion_quorum: exclusion,
    }
}

/// Seconds after the genesis time.
pub fn time_at(offset_seconds: i64) -> Timestamp {
    let created = Timestamp::parse(CREATED).expect("time");
    Timestamp::from_unix_seconds(created.unix_seconds() + 86_400 + offset_seconds).expect("time in range")
}

#[derive(Debug, Clone, Default)]
struct Feed {
    seq: u64,
    head: Option<EventId>,
    last_time: Option<Timestamp>,
    key: Option<String>,
}

/// The test key `draft_key` (or else the feed's current key) that `org` signs with now.
impl Author {
    pub fn current_key_name(&self, org: &str, draft_key: Option<&str>) -> String {
        draft_key
            .map(str::to_owned)
            .or_else(|| self.feeds.get(org).and_then(|feed| feed.key.clone()))
            .unwrap_or_else(|| org.to_owned())
    }
}

/// The `note_signature` by test key `key_name` over the edition note of `edition` (an
/// `edition.proposed` body as JSON, without or with its own note_signature).
pub fn note_signature(genesis: &Genesis, key_name: &str, edition: &serde_json::Value) -> String {
    let frontier: Vec<FrontierEntry> =
        serde_json::from_value(edition["frontier"].clone()).expect("test edition frontier");
    let digest = |field: &str| Digest::parse(edition[field].as_str().expect("test digest")).expect("test digest");
    let statement = EditionStatement {
        origin: &genesis.doc().origin,
        ledger: genesis.ledger_id(),
        label: edition["label"].as_str().expect("test label"),
        count: edition["count"].as_u64().expect("test count"),
        root: digest("root"),
        list_hash: digest("list_hash"),
        frontier: &frontier,
    };
    statement.sign(&signer(key_name)).to_string()
}

/// Writes the events of every organisation of one ledger, as their nodes would.
#[derive(Debug, Clone)]
pub struct Author {
    ledger: LedgerId,
    feeds: BTreeMap<String, Feed>,
    written: usize,
}

/// How an event names its dependencies.
#[derive(Debug, Clone)]
pub enum Deps {
    /// The heads of every other feed written so far.
    AllHeads,
    /// Exactly these events.
    These(Vec<EventId>),
}

/// One event to write.
#[derive(Debug, Clone)]
pub struct Draft {
    pub org: String,
    pub body: Body,
    pub deps: Deps,
    pub time: Option<Timestamp>,
    /// Sign with this test key instead of the feed's current one.
    pub key: Option<String>,
    /// Write at this seq with this prev instead of extending the feed (makes a fork), without
    /// moving the feed's head.
    pub fork_at: Option<(u64, Option<EventId>)>,
}

impl Draft {
    /// A draft with the defaults: all heads as deps, default time, current key.
    pub fn new(org: &str, body: Body) -> Self {
        Self { org: org.to_owned(), body, deps: Deps::AllHeads, time: None, key: None, fork_at: None }
    }
}

impl Author {
    /// An author for the ledger of `genesis`.
    pub fn new(genesis: &Genesis) -> Self {
        Self { ledger: genesis.ledger_id(), feeds: BTreeMap::new(), written: 0 }
    }

    /// The head (seq, id) of an organisation's feed.
    pub fn head(&self, org: &str) -> Option<(u64, EventId)> {
        self.feeds.get(org).and_then(|feed| feed.head.map(|id| (feed.seq, id)))
    }

    /// Every feed head, by organisation.
    pub fn heads(&self) -> BTreeMap<String, (u64, EventId)> {
        self.feeds.iter().filter_map(|(org, feed)| feed.head.map(|id| (org.clone(), (feed.seq, id)))).collect()
    }

    /// Writes and signs one event.
    pub fn write(&mut self, draft: Draft) -> SignedEvent {
        let default_time = time_at(self.written as i64 * STEP_SECONDS);
        self.written += 1;
        let heads = self.heads();
        let feed = self.feeds.entry(draft.org.clone()).or_default();
        let (seq, prev) = draft.fork_at.unwrap_or((feed.seq + 1, feed.head));
        let mut time = draft.time.unwrap_or(default_time);
        if draft.fork_at.is_none()
            && let Some(last) = feed.last_time
        {
            time = time.max(last);
        }
        let mut deps: Vec<EventId> = match draft.deps {
            Deps::AllHeads => heads.iter().filter(|(org, _)| **org != draft.org).map(|(_, (_, id))| *id).collect(),
            Deps::These(ids) => ids,
        };
        deps.sort_unstable();
        deps.dedup();
        let key_name = draft.key.clone().or_else(|| feed.key.clone()).unwrap_or_else(|| draft.org.clone());
        let rotated = match &draft.body {
            Body::KeyRotated(rotation) => Some(rotation.vkey.clone()),
            _ => None,
        };
        let event = Event { ledger: self.ledger, org: slug(&draft.org), seq, prev, time, deps, body: draft.body };
        let signed = event.sign(&signer(&key_name)).expect("sign test event");
        if draft.fork_at.is_none() {
            feed.seq = seq;
            feed.head = Some(signed.id());
            feed.last_time = Some(time);
            if let Some(vkey) = rotated {
                // Find which test key the rotation announced, to sign the next events with it.
                feed.key = (1..10)
                    .map(|n| format!("{}#{n}", draft.org))
                    .chain(std::iter::once(draft.org.clone()))
                    .find(|name| signer(name).verifier_key().to_string() == vkey);
            }
        }
        signed
    }
}

/// Parses a body of `kind` from JSON text.
pub fn body(kind: &str, json: &serde_json::Value) -> Body {
    let kind = EventKind::parse(kind).unwrap_or_else(|| panic!("unknown kind {kind}"));
    parse_body(kind, &json.to_string()).unwrap_or_else(|error| panic!("body of {kind}: {error}"))
}

/// Inserts every event in order into a fresh projector and returns it.
pub fn project(genesis: &Genesis, events: &[SignedEvent], forks: &[(OrgSlug, u64)]) -> Projector {
    let mut projector = Projector::new(genesis);
    for event in events {
        projector.insert(event.clone()).expect("insert");
    }
    for (org, seq) in forks {
        projector.insert_fork(org, *seq).expect("fork");
    }
    projector
}

/// The canonical text of a projection's state document.
pub fn state_text(projector: &mut Projector) -> String {
    coalition_core::canonical::to_canonical(&projector.projection().to_json()).expect("canonical state")
}

/// A small deterministic random generator (xorshift64*), for delivery orders.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded; a zero seed is replaced.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `bound` (bound > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// Shuffles in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            let other = self.below(index + 1);
            items.swap(index, other);
        }
    }
}

/// A random interleaving of the feeds that keeps each feed's own order.
pub fn interleave_by_feed(events: &[SignedEvent], rng: &mut Rng) -> Vec<SignedEvent> {
    let mut feeds: BTreeMap<&str, Vec<&SignedEvent>> = BTreeMap::new();
    for event in events {
        feeds.entry(event.event().org.as_str()).or_default().push(event);
    }
    let mut queues: Vec<std::collections::VecDeque<&SignedEvent>> = feeds
        .into_values()
        .map(|mut feed| {
            feed.sort_by_key(|event| event.event().seq);
            feed.into_iter().collect()
        })
        .collect();
    let mut out = Vec::with_capacity(events.len());
    while !queues.is_empty() {
        let pick = rng.below(queues.len());
        if let Some(event) = queues[pick].pop_front() {
            out.push(event.clone());
        }
        if queues[pick].is_empty() {
            queues.swap_remove(pick);
        }
    }
    out
}
