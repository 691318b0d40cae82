//! Deterministic keys, ledger and signed events for the store tests (the pattern of
//! coalition-core's test fixtures, kept here so this crate depends on no other crate's tests).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use coalition_core::body::{Body, EventKind, parse_body};
use coalition_core::event::{Event, EventId, LedgerId, OrgSlug, SignedEvent};
use coalition_core::genesis::{FoundingMember, Genesis, GenesisDoc};
use coalition_core::keys::{KeyName, SignerKey};
use coalition_core::time::Timestamp;

pub const ORIGIN: &str = "store-test.example";
pub const ORGS: [&str; 3] = ["ccl", "crimea-sos", "zmina"];
/// Environment variable that turns a child-process test on and names its data directory.
pub const CHILD_DIR_VAR: &str = "COALITION_STORE_TEST_CHILD_DIR";

pub fn slug(name: &str) -> OrgSlug {
    OrgSlug::parse(name).expect("test slug")
}

/// A fixed key per organisation name: seed bytes from the name's BLAKE3 hash.
pub fn key(org: &str) -> SignerKey {
    let name = KeyName::parse(&format!("{ORIGIN}/{org}")).expect("test key name");
    SignerKey::from_seed(name, *blake3::hash(org.as_bytes()).as_bytes())
}

fn genesis() -> Genesis {
    let members = ORGS
        .iter()
        .map(|org| FoundingMember {
            slug: slug(org),
            name: format!("Test organisation {org}"),
            vkey: key(org).verifier_key(),
            recipient: None,
        })
        .collect();
    let doc = GenesisDoc {
        name: "Store test coalition (fictional)".into(),
        origin: ORIGIN.into(),
        created: Timestamp::parse("2026-11-01T00:00:00Z").expect("test time"),
        members,
        policy: coalition_core::body::Policy {
            listing_quorum: 2,
            governance_quorum: 2,
            edition_quorum: 2,
            exclusion_quorum: 2,
        },
    };
    let mut genesis = Genesis::parse(&doc.to_note_text().expect("valid test genesis")).expect("parse test genesis");
    for org in ORGS {
        let note = genesis.sign(&key(org)).expect("sign test genesis");
        genesis = Genesis::parse(&note).expect("parse signed test genesis");
    }
    genesis.require_complete().expect("complete test genesis");
    genesis
}

/// The test ledger's id (the genesis is built once per test binary).
pub fn ledger() -> LedgerId {
    static LEDGER: OnceLock<LedgerId> = OnceLock::new();
    *LEDGER.get_or_init(|| genesis().ledger_id())
}

/// Another ledger's id.
pub fn other_ledger() -> LedgerId {
    LedgerId::of_text(b"another coalition")
}

/// A `case.opened` body naming test person `index`.
pub fn case_body(index: u64) -> Body {
    let json = format!(
        r#"{{"facts":{{"name_en":"Test Person {index}","name_uk":"Тестова Особа {index}","region":"crimea"}}}}"#
    );
    parse_body(EventKind::CaseOpened, &json).expect("valid test body")
}

/// Builds feeds event by event, like a careful author would.
pub struct Feeds {
    pub ledger: LedgerId,
    heads: BTreeMap<String, (u64, EventId)>,
    clock_seconds: i64,
    counter: u64,
}

impl Feeds {
    pub fn new() -> Self {
        Self::for_ledger(ledger())
    }

    pub fn for_ledger(ledger: LedgerId) -> Self {
        let clock_seconds = Timestamp::parse("2026-11-02T00:00:00Z").expect("test time").unix_seconds();
        Self { ledger, heads: BTreeMap::new(), clock_seconds, counter: 0 }
    }

    /// Continues feeds whose heads are known (after a reopen).
    pub fn resume(heads: BTreeMap<OrgSlug, (u64, EventId)>) -> Self {
        let mut feeds = Self::new();
        feeds.heads = heads.into_iter().map(|(org, head)| (org.to_string(), head)).collect();
        feeds.clock_seconds += 1_000_000;
        feeds.counter = 1_000_000;
        feeds
    }

    /// The next unsigned event of `org`.
    pub fn next_event(&mut self, org: &str) -> Event {
        self.clock_seconds += 60;
        self.counter += 1;
        let (seq, prev) = self.heads.get(org).map_or((1, None), |(seq, id)| (seq + 1, Some(*id)));
        Event {
            ledger: self.ledger,
            org: slug(org),
            seq,
            prev,
            time: Timestamp::from_unix_seconds(self.clock_seconds).expect("test clock"),
            deps: Vec::new(),
            body: case_body(self.counter),
        }
    }

    /// Signs and records the next event of `org`.
    pub fn next(&mut self, org: &str) -> SignedEvent {
        let signed = sign(&self.next_event(org));
        self.record(&signed);
        signed
    }

    /// `count` next events of `org`.
    pub fn many(&mut self, org: &str, count: usize) -> Vec<SignedEvent> {
        (0..count).map(|_| self.next(org)).collect()
    }

    /// Makes `signed` the head of its feed.
    pub fn record(&mut self, signed: &SignedEvent) {
        let event = signed.event();
        self.heads.insert(event.org.to_string(), (event.seq, signed.id()));
    }
}

pub fn sign(event: &Event) -> SignedEvent {
    event.sign(&key(event.org.as_str())).expect("sign test event")
}

/// Another event at the same place as `event` (same org, seq and prev): a fork of it.
pub fn fork_of(event: &SignedEvent) -> SignedEvent {
    let mut other = event.event().clone();
    other.body = case_body(9_000_000 + other.seq);
    sign(&other)
}

/// `event` with another prev (the same seq): breaks its feed's chain.
pub fn with_prev(event: &SignedEvent, prev: EventId) -> SignedEvent {
    let mut other = event.event().clone();
    other.prev = Some(prev);
    sign(&other)
}

/// The id in a child's `ACK <id>` line. The test harness may print its own text before the
/// first line a test prints, so the marker is looked for anywhere in the line.
pub fn acknowledged_id(line: &str) -> Option<EventId> {
    let at = line.find("ACK ")?;
    Some(EventId::parse(line[at + 4..].trim()).expect("children print ids"))
}

pub fn ids(events: &[SignedEvent]) -> Vec<EventId> {
    events.iter().map(SignedEvent::id).collect()
}
