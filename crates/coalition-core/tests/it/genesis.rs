//! The genesis: content rules, signatures by every founder, ledger id.

use coalition_core::genesis::{Genesis, GenesisError};

use crate::fixtures::{self, genesis_doc, key};

#[test]
fn the_ledger_id_is_the_hash_of_the_text_and_does_not_change_when_founders_sign() {
    let text = genesis_doc().to_note_text().expect("text");
    let unsigned = Genesis::parse(&text).expect("unsigned genesis parses");
    let signed = fixtures::genesis();
    assert_eq!(unsigned.ledger_id(), signed.ledger_id());
    assert_eq!(unsigned.ledger_id().to_string(), blake3::hash(text.as_bytes()).to_hex().to_string());
    assert_eq!(signed.text(), text);
}

#[test]
fn verification_requires_every_founder() {
    let text = genesis_doc().to_note_text().expect("text");
    let genesis = Genesis::parse(&text).expect("parse");
    let once = Genesis::parse(&genesis.sign(&key("zmina")).expect("sign")).expect("parse");
    match once.require_complete() {
        Err(GenesisError::Unsigned(missing)) => {
            let names: Vec<&str> = missing.iter().map(|slug| slug.as_str()).collect();
            assert_eq!(names, ["ccl", "crimea-sos"]);
        }
        other => panic!("expected missing founders, got {other:?}"),
    }
    assert!(fixtures::genesis().require_complete().is_ok());
}

#[test]
fn a_founder_cannot_sign_twice_and_strangers_cannot_sign() {
    let signed_once = Genesis::parse(
        &Genesis::parse(&genesis_doc().to_note_text().expect("text"))
            .expect("parse")
            .sign(&key("zmina"))
            .expect("sign"),
    )
    .expect("parse");
    assert!(matches!(signed_once.sign(&key("zmina")), Err(GenesisError::StraySignature(_))));
    assert!(matches!(signed_once.sign(&key("stranger")), Err(GenesisError::StraySignature(_))));
}

#[test]
fn a_tampered_genesis_fails_its_signatures() {
    let signed = fixtures::genesis();
    let tampered = signed.note().replacen("\"listing_quorum\":2", "\"listing_quorum\":1", 1);
    assert!(matches!(Genesis::parse(&tampered), Err(GenesisError::BadSignature(_))));
}

#[test]
fn impossible_policies_are_refused() {
    for (quorum, value) in [("listing", 0), ("governance", 4), ("edition", 0), ("exclusion", 9)] {
        let mut doc = genesis_doc();
        match quorum {
            "listing" => doc.policy.listing_quorum = value,
            "governance" => doc.policy.governance_quorum = value,
            "edition" => doc.policy.edition_quorum = value,
            _ => doc.policy.exclusion_quorum = value,
        }
        let error = doc.to_note_text().expect_err("impossible policy accepted");
        assert!(error.to_string().contains(quorum), "{quorum}: {error}");
    }
}

#[test]
fn member_keys_must_be_named_for_the_origin_and_slug() {
    let mut doc = genesis_doc();
    doc.members[0].vkey = key("zmina").verifier_key();
    let error = doc.to_note_text().expect_err("misnamed key accepted");
    assert!(error.to_string().contains("members[0].vkey"), "{error}");
}

#[test]
fn members_must_be_sorted_and_unique() {
    let mut doc = genesis_doc();
    doc.members.swap(0, 1);
    assert!(matches!(doc.to_note_text(), Err(GenesisError::Invalid(_))));
}

#[test]
fn unknown_fields_and_non_canonical_json_are_refused() {
    let text = genesis_doc().to_note_text().expect("text");
    let extra = text.replacen("{\"created\"", "{\"comment\":\"x\",\"created\"", 1);
    assert!(matches!(Genesis::parse(&extra), Err(GenesisError::Field { .. })));
    let spaced = text.replacen("{\"created\":", "{\"created\": ", 1);
    assert!(matches!(Genesis::parse(&spaced), Err(GenesisError::NotCanonical(_))));
    let wrong_header = text.replacen("genesis/v1", "genesis/v2", 1);
    assert!(matches!(Genesis::parse(&wrong_header), Err(GenesisError::Shape(_))));
}
