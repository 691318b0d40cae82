//! Sealed records, key grants and reports: what a member opens, what nobody else can, and what
//! the public sees.

use std::collections::BTreeMap;

use coalition_core::body::{Body, EventKind, parse_body};
use coalition_core::event::EventId;
use coalition_core::seal::{
    DIRECT_PLAINTEXT_BYTES_MAX, DataKeyId, Identity, KeyGrant, PADDING_BLOCK_BYTES, Recipient, SEALED_FIELDS_MAX,
    SealContext, SealError, SealedRecord, SealedValue, decode_ciphertext, open_record, open_with_identity,
    open_with_identity_at, seal_record, seal_to_recipients,
};
use proptest::prelude::*;

use crate::fixtures::{genesis, slug};

fn record(fields: &[(&str, &str)]) -> SealedRecord {
    SealedRecord {
        case: Some(EventId::of_text(b"a case")),
        fields: fields.iter().map(|(name, text)| ((*name).to_owned(), SealedValue::Text((*text).to_owned()))).collect(),
        kind: EventKind::SignNoted,
    }
}

fn members(count: usize) -> Vec<Identity> {
    (0..count).map(|_| Identity::generate()).collect()
}

fn recipients(identities: &[Identity]) -> Vec<Recipient> {
    identities.iter().map(Identity::recipient).collect()
}

#[test]
fn a_grant_for_eight_members_opens_for_each_and_for_nobody_else() {
    let identities = members(8);
    let grant = KeyGrant::generate(Some(EventId::of_text(b"case"))).expect("grant");
    let sealed = grant.seal(&recipients(&identities)).expect("seal grant");
    for identity in &identities {
        assert_eq!(KeyGrant::open(&sealed, identity).expect("a member opens it"), grant);
    }
    let outsider = Identity::generate();
    assert!(matches!(KeyGrant::open(&sealed, &outsider), Err(SealError::DoesNotOpen { .. })));
    let secret = grant.key.as_bytes();
    assert!(!sealed.windows(secret.len()).any(|window| window == secret), "the data key is not in clear");
}

#[test]
fn a_position_in_the_sealing_set_only_orders_the_search() {
    let identities = members(8);
    let sealed = seal_to_recipients(b"for the members", &recipients(&identities)).expect("seal");
    let grant = KeyGrant::generate(None).expect("grant");
    let sealed_grant = grant.seal(&recipients(&identities)).expect("seal grant");
    for (place, identity) in identities.iter().enumerate() {
        // Its own place, a wrong place, a place past the end and none open the same file.
        for position in [Some(place), Some((place + 3) % 8), Some(99), None] {
            assert_eq!(open_with_identity_at(&sealed, identity, position).expect("opens"), b"for the members");
            let opened = KeyGrant::open_at(&sealed_grant, identity, position).expect("grant opens");
            assert_eq!(opened.key_id, grant.key_id);
        }
    }
    let outsider = Identity::generate();
    for position in [Some(0), Some(7), None] {
        assert!(open_with_identity_at(&sealed, &outsider, position).is_err(), "an outsider never opens it");
    }
}

#[test]
fn a_sealed_record_opens_only_in_its_own_ledger_feed_and_key() {
    let grant = KeyGrant::generate(None).expect("grant");
    let ledger = genesis().ledger_id();
    let org = slug("zmina");
    let context = SealContext { ledger: &ledger, org: &org };
    let original = record(&[("sign", "special_services_cooperation"), ("source", "a witness, +380 44 000 0000")]);
    let ciphertext = seal_record(&original, &grant, context).expect("seal");
    assert_eq!(open_record(&ciphertext, &grant, context).expect("open"), original);

    let other_org = slug("ccl");
    let wrong_org = SealContext { ledger: &ledger, org: &other_org };
    assert!(matches!(open_record(&ciphertext, &grant, wrong_org), Err(SealError::DoesNotOpen { .. })));
    let other_ledger = coalition_core::event::LedgerId::of_text(b"another ledger");
    let wrong_ledger = SealContext { ledger: &other_ledger, org: &org };
    assert!(matches!(open_record(&ciphertext, &grant, wrong_ledger), Err(SealError::DoesNotOpen { .. })));
    let mut other_id = grant.clone();
    other_id.key_id = DataKeyId::generate().expect("id");
    assert!(matches!(open_record(&ciphertext, &other_id, context), Err(SealError::DoesNotOpen { .. })));
    let other_key = KeyGrant { key_id: grant.key_id, ..KeyGrant::generate(None).expect("grant") };
    assert!(matches!(open_record(&ciphertext, &other_key, context), Err(SealError::DoesNotOpen { .. })));
}

#[test]
fn the_public_sees_only_a_padded_size_and_the_body_passes_the_schema_rules() {
    let grant = KeyGrant::generate(None).expect("grant");
    let ledger = genesis().ledger_id();
    let org = slug("zmina");
    let context = SealContext { ledger: &ledger, org: &org };
    let short = seal_record(&record(&[("phone", "1")]), &grant, context).expect("seal");
    let longer = seal_record(&record(&[("phone", "+380 44 123 45 67, ask for Olena")]), &grant, context).expect("seal");
    assert_eq!(short.len(), longer.len(), "lengths inside one padding block look the same");
    let bytes = decode_ciphertext(&short).expect("decodes");
    assert_eq!((bytes.len() - 24 - 16) % PADDING_BLOCK_BYTES, 0);
    for marker in ["+380", "Olena", "phone"] {
        assert!(!longer.contains(marker), "{marker} shows through");
    }
    let body = serde_json::json!({"ciphertext": longer, "key": grant.key_id.to_string()}).to_string();
    let parsed = parse_body(EventKind::Sealed, &body).expect("a sealed body is valid");
    assert!(matches!(parsed, Body::Sealed(sealed) if sealed.key == grant.key_id));
}

#[test]
fn sealed_body_validation_refuses_what_no_seal_produces() {
    let key = DataKeyId::generate().expect("id").to_string();
    let base64 = |bytes: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let cases = [
        ("too short", base64(&[0; 24 + 16])),
        ("not whole blocks", base64(&[0; 24 + 100 + 16])),
        ("not base64", "!!!!".repeat(100)),
        ("unpadded base64", base64(&[0; 24 + 256 + 16]).trim_end_matches('=').to_owned() + "A"),
        ("too long", base64(&vec![0; 24 + 256 * 129 + 16])),
    ];
    for (what, ciphertext) in cases {
        let body = serde_json::json!({"ciphertext": ciphertext, "key": key}).to_string();
        let error = parse_body(EventKind::Sealed, &body).expect_err(what);
        assert_eq!(error.path(), "ciphertext", "{what}: {error}");
    }
}

#[test]
fn records_with_bad_fields_are_refused_before_sealing() {
    let grant = KeyGrant::generate(None).expect("grant");
    let ledger = genesis().ledger_id();
    let org = slug("zmina");
    let context = SealContext { ledger: &ledger, org: &org };
    let too_many: Vec<(String, String)> =
        (0..=SEALED_FIELDS_MAX).map(|index| (format!("f{index}"), "x".to_owned())).collect();
    let too_many = SealedRecord {
        case: None,
        fields: too_many.into_iter().map(|(name, text)| (name, SealedValue::Text(text))).collect(),
        kind: EventKind::CaseUpdated,
    };
    let empty = SealedRecord { case: None, fields: BTreeMap::new(), kind: EventKind::CaseUpdated };
    for (what, bad) in [
        ("bidi control", record(&[("note", "abc\u{202e}def")])),
        ("control character", record(&[("note", "abc\u{7}")])),
        ("upper-case name", record(&[("Note", "text")])),
        ("blank text", record(&[("note", " ")])),
        ("too many fields", too_many),
        ("no fields", empty),
    ] {
        assert!(matches!(seal_record(&bad, &grant, context), Err(SealError::Invalid { .. })), "{what}");
    }
    let multi_line = record(&[("deliberation", "first line\nsecond line")]);
    seal_record(&multi_line, &grant, context).expect("line feeds are fine in sealed texts");
}

#[test]
fn reports_seal_to_all_members_and_bound_their_size() {
    let identities = members(3);
    let report = "{\"what_happened\":\"<script>alert(1)</script>\"}".as_bytes();
    let sealed = seal_to_recipients(report, &recipients(&identities)).expect("seal");
    for identity in &identities {
        assert_eq!(open_with_identity(&sealed, identity).expect("open"), report);
    }
    assert!(matches!(open_with_identity(&sealed, &Identity::generate()), Err(SealError::DoesNotOpen { .. })));
    assert!(matches!(seal_to_recipients(report, &[]), Err(SealError::NoRecipients)));
    let huge = vec![b'a'; DIRECT_PLAINTEXT_BYTES_MAX + 1];
    assert!(matches!(seal_to_recipients(&huge, &recipients(&identities)), Err(SealError::TooLarge { .. })));
    let mut altered = sealed.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    assert!(open_with_identity(&altered, &identities[0]).is_err());
}

#[test]
fn recipient_and_identity_texts_have_one_spelling() {
    let identity = Identity::generate();
    let text = identity.recipient().to_string();
    assert_eq!(Recipient::parse(&text).expect("own recipient"), identity.recipient());
    assert!(Recipient::parse(&text.to_uppercase()).is_err(), "upper case is another spelling");
    let mut broken = text.clone();
    broken.pop();
    broken.push(if text.ends_with('q') { 'p' } else { 'q' });
    assert!(Recipient::parse(&broken).is_err(), "a wrong checksum is refused");
    let file = format!("# created: today\n# public key: {text}\n{}\n", identity.to_secret_text());
    assert_eq!(Identity::parse(&file).expect("age-keygen style file").recipient(), identity.recipient());
    assert!(!format!("{identity:?}").contains("AGE-SECRET-KEY"), "Debug never shows the secret");
    let two = format!("{}\n{}\n", identity.to_secret_text(), Identity::generate().to_secret_text());
    assert!(Identity::parse(&two).is_err(), "one identity per file");
}

#[test]
fn genesis_and_member_proposals_check_recipients() {
    let mut doc = crate::fixtures::genesis_doc();
    doc.members[0].recipient = Some(Identity::generate().recipient().to_string());
    doc.validate().expect("a valid recipient");
    doc.members[0].recipient = Some("age1notarecipient".to_owned());
    assert!(doc.validate().is_err(), "an invalid recipient");
    let vkey = crate::fixtures::key("zmina").verifier_key().to_string();
    let good = serde_json::json!({"name": "New org", "recipient": Identity::generate().recipient().to_string(), "slug": "new-org", "vkey": vkey});
    parse_body(EventKind::MemberProposed, &good.to_string()).expect("with a recipient");
    let bad = serde_json::json!({"name": "New org", "recipient": "age1xyz", "slug": "new-org", "vkey": vkey});
    let error = parse_body(EventKind::MemberProposed, &bad.to_string()).expect_err("a bad recipient");
    assert_eq!(error.path(), "recipient");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any change to any byte of a sealed ciphertext makes it not open (or not decode).
    #[test]
    fn any_altered_ciphertext_does_not_open(position in 0usize..400, flip in 1u8..=255) {
        let grant = KeyGrant::generate(None).expect("grant");
        let ledger = genesis().ledger_id();
        let org = slug("zmina");
        let context = SealContext { ledger: &ledger, org: &org };
        let ciphertext = seal_record(&record(&[("health", "diabetes")]), &grant, context).expect("seal");
        let mut bytes = decode_ciphertext(&ciphertext).expect("decode");
        let position = position % bytes.len();
        bytes[position] ^= flip;
        let altered = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        };
        prop_assert!(open_record(&altered, &grant, context).is_err());
    }
}
