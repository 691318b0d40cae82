//! Deterministic keys and genesis for the node tests.

use coalition_core::body::Policy;
use coalition_core::event::OrgSlug;
use coalition_core::genesis::{FoundingMember, Genesis, GenesisDoc};
use coalition_core::keys::{KeyName, SignerKey};
use coalition_core::seal::Identity;
use coalition_core::time::Timestamp;

pub const ORIGIN: &str = "coalition.example";
pub const ORGS: [&str; 3] = ["ccl", "crimea-sos", "zmina"];

pub fn key(org: &str) -> SignerKey {
    let index = ORGS.iter().position(|candidate| *candidate == org).map_or(200, |index| index as u8 + 1);
    SignerKey::from_seed(KeyName::parse(&format!("{ORIGIN}/{org}")).expect("name"), [index; 32])
}

pub fn genesis() -> Genesis {
    genesis_with_recipients(&[])
}

/// The test genesis where the members in `ORGS` order have the recipients of `identities` (none
/// beyond its length).
pub fn genesis_with_recipients(identities: &[Identity]) -> Genesis {
    let members = ORGS
        .iter()
        .enumerate()
        .map(|(index, org)| FoundingMember {
            slug: OrgSlug::parse(org).expect("slug"),
            name: format!("Test organisation {org}"),
            vkey: key(org).verifier_key(),
            recipient: identities.get(index).map(|identity| identity.recipient().to_string()),
        })
        .collect();
    let doc = GenesisDoc {
        name: "Test coalition".into(),
        origin: ORIGIN.into(),
        created: Timestamp::parse("2026-01-01T00:00:00Z").expect("time"),
        members,
        policy: Policy { listing_quorum: 2, governance_quorum: 2, edition_quorum: 2, exclusion_quorum: 2 },
    };
    let mut genesis = Genesis::parse(&doc.to_note_text().expect("text")).expect("parse");
    for org in ORGS {
        genesis = Genesis::parse(&genesis.sign(&key(org)).expect("sign")).expect("parse");
    }
    genesis
}
