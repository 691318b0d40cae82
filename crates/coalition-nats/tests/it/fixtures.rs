//! Deterministic keys, genesis and signed events (the pattern of coalition-core's test fixtures).

use coalition_core::body::{Body, EventKind, parse_body};
use coalition_core::event::{Event, EventId, OrgSlug, SignedEvent};
use coalition_core::genesis::{FoundingMember, Genesis, GenesisDoc};
use coalition_core::keys::{KeyName, SignerKey};
use coalition_core::seal::Identity;
use coalition_core::time::Timestamp;

pub const ORIGIN: &str = "coalition.example";
pub const ORGS: [&str; 3] = ["ccl", "crimea-sos", "zmina"];

pub fn slug(name: &str) -> OrgSlug {
    OrgSlug::parse(name).expect("test slug")
}

pub fn key(org: &str) -> SignerKey {
    let index = ORGS.iter().position(|candidate| *candidate == org).map_or(200, |index| index as u8 + 1);
    let name = KeyName::parse(&format!("{ORIGIN}/{org}")).expect("test key name");
    SignerKey::from_seed(name, [index; 32])
}

fn time(text: &str) -> Timestamp {
    Timestamp::parse(text).expect("test time")
}

pub fn genesis() -> Genesis {
    genesis_with_recipients(&[])
}

/// The test genesis where the members in `ORGS` order have the recipients of `identities` (none
/// beyond its length): with none, [`genesis`].
pub fn genesis_with_recipients(identities: &[Identity]) -> Genesis {
    let members = ORGS
        .iter()
        .enumerate()
        .map(|(index, org)| FoundingMember {
            slug: slug(org),
            name: format!("Test organisation {org}"),
            vkey: key(org).verifier_key(),
            recipient: identities.get(index).map(|identity| identity.recipient().to_string()),
        })
        .collect();
    let doc = GenesisDoc {
        name: "Test coalition (fictional)".into(),
        origin: ORIGIN.into(),
        created: time("2026-11-01T00:00:00Z"),
        members,
        policy: coalition_core::body::Policy {
            listing_quorum: 2,
            governance_quorum: 2,
            edition_quorum: 2,
            exclusion_quorum: 2,
        },
    };
    let text = doc.to_note_text().expect("valid test genesis");
    let mut genesis = Genesis::parse(&text).expect("parse test genesis");
    for org in ORGS {
        let note = genesis.sign(&key(org)).expect("sign test genesis");
        genesis = Genesis::parse(&note).expect("parse signed test genesis");
    }
    genesis.require_complete().expect("complete test genesis");
    genesis
}

pub fn case_opened(name: &str) -> Body {
    let json = format!(r#"{{"facts":{{"name_en":"{name}","name_uk":"Тестова Особа","region":"crimea"}}}}"#);
    parse_body(EventKind::CaseOpened, &json).expect("valid test body")
}

/// Writes feeds event by event, like a careful author.
pub struct FeedWriter {
    pub genesis: Genesis,
    heads: std::collections::BTreeMap<String, (u64, EventId)>,
    clock_seconds: i64,
}

impl FeedWriter {
    pub fn new() -> Self {
        let genesis = genesis();
        let clock_seconds = genesis.doc().created.unix_seconds();
        Self { genesis, heads: Default::default(), clock_seconds }
    }

    pub fn next(&mut self, org: &str, body: Body) -> Event {
        self.clock_seconds += 60;
        let (seq, prev) = self.heads.get(org).map_or((1, None), |(seq, id)| (seq + 1, Some(*id)));
        let mut deps: Vec<EventId> =
            self.heads.iter().filter(|(feed, _)| feed.as_str() != org).map(|(_, (_, id))| *id).collect();
        deps.sort();
        Event {
            ledger: self.genesis.ledger_id(),
            org: slug(org),
            seq,
            prev,
            time: Timestamp::from_unix_seconds(self.clock_seconds).expect("test clock"),
            deps,
            body,
        }
    }

    /// Signs and records the next event of `org`.
    pub fn write(&mut self, org: &str) -> SignedEvent {
        let name = format!("Test Person {}", self.clock_seconds);
        self.write_with(org, case_opened(&name), &key(org))
    }

    /// Signs the next event of `org` with `body` by `signer` (the org's key after a rotation),
    /// and records it.
    pub fn write_with(&mut self, org: &str, body: Body, signer: &SignerKey) -> SignedEvent {
        let signed = self.next(org, body).sign(signer).expect("sign test event");
        self.heads.insert(org.to_owned(), (signed.event().seq, signed.id()));
        signed
    }
}
