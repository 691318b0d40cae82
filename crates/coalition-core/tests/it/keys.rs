//! Keys: text forms, key ids, the key-acceptance rule and the one Ed25519 validity rule, checked
//! against CCTV and Wycheproof vectors and hand-written cases.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use coalition_core::keys::{KEY_NAME_BYTES_MAX, KeyError, KeyId, KeyName, SignerKey, VerifierKey};
use serde::Deserialize;

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

fn name(text: &str) -> KeyName {
    KeyName::parse(text).expect("test key name")
}

pub(crate) fn bytes32(hex_text: &str) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut bytes).expect("32 hex bytes");
    bytes
}

/// The text form of a verifier key over arbitrary material, with a key id that matches it, so a
/// test reaches the checks that come after the key id.
fn vkey_text(key_name: &str, material: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::new().chain_update(key_name).chain_update(b"\n").chain_update(material).finalize();
    format!("{key_name}+{}+{}", hex::encode(&digest[..4]), STANDARD.encode(material))
}

fn ed25519_vkey_text(key_name: &str, public_key: &[u8; 32]) -> String {
    let mut material = vec![0x01];
    material.extend_from_slice(public_key);
    vkey_text(key_name, &material)
}

// ---------------------------------------------------------------------------------------------
// Golden vector of our own: computed once with this implementation and frozen here, so any change
// to key ids, text forms or signing shows up as a failure.

const GOLDEN_NAME: &str = "coalition.example/zmina";
const GOLDEN_SEED: [u8; 32] = [7u8; 32];
const GOLDEN_TEXT: &str = "coalition-ledger golden vector\nseed [7u8; 32]\n";
const GOLDEN_KEY_ID: &str = "29f49b49";
const GOLDEN_VKEY: &str = "coalition.example/zmina+29f49b49+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";
const GOLDEN_SKEY: &str = "PRIVATE+KEY+coalition.example/zmina+29f49b49+AQcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH";
const GOLDEN_SIGNATURE_HEX: &str = "1ffb78ebed654db5a584fed2423febbb41b6084be7883ea65565a879801650736d1dfb89a83c6894f3a31d54c65b13c3651f6fb7b526883b423ddb1c93d28505";

#[test]
fn golden_vector() {
    let signer = SignerKey::from_seed(name(GOLDEN_NAME), GOLDEN_SEED);
    let vkey = signer.verifier_key();
    let signature = signer.sign(GOLDEN_TEXT.as_bytes());
    assert_eq!(signer.key_id().to_string(), GOLDEN_KEY_ID);
    assert_eq!(vkey.to_string(), GOLDEN_VKEY);
    assert_eq!(signer.to_secret_text(), GOLDEN_SKEY);
    assert_eq!(hex::encode(signature), GOLDEN_SIGNATURE_HEX);
    assert_eq!(VerifierKey::parse(GOLDEN_VKEY).expect("golden vkey parses"), vkey);
    assert!(vkey.verify(GOLDEN_TEXT.as_bytes(), &signature));
}

// ---------------------------------------------------------------------------------------------
// Text forms.

#[test]
fn verifier_key_round_trips_and_exposes_its_parts() {
    let key = VerifierKey::parse(PETER_VKEY).expect("valid vkey");
    assert_eq!(key.to_string(), PETER_VKEY);
    assert_eq!(key.name().as_str(), "PeterNeumann");
    assert_eq!(key.key_id().to_string(), "c74f20a3");
    assert_eq!(key.key_id(), KeyId::ed25519(key.name(), key.public_key()));
    assert_eq!(PETER_VKEY.parse::<VerifierKey>().expect("FromStr"), key);
    let rebuilt = VerifierKey::from_ed25519(name("PeterNeumann"), key.public_key()).expect("same key");
    assert_eq!(rebuilt, key);
    assert_eq!(format!("{key:?}"), format!("VerifierKey({PETER_VKEY})"));
}

#[test]
fn verifier_key_serde_uses_the_text_form() {
    let key = VerifierKey::parse(PETER_VKEY).expect("valid vkey");
    let json = serde_json::to_string(&key).expect("serialise");
    assert_eq!(json, format!("\"{PETER_VKEY}\""));
    let back: VerifierKey = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, key);
    let bad =
        serde_json::from_str::<VerifierKey>("\"PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\"");
    assert!(bad.is_err());
    let key_name: KeyName = serde_json::from_str("\"coalition.example/zmina\"").expect("key name");
    assert_eq!(serde_json::to_string(&key_name).expect("serialise"), "\"coalition.example/zmina\"");
    assert!(serde_json::from_str::<KeyName>("\"a b\"").is_err());
}

#[test]
fn signer_key_round_trips_and_never_prints_its_secret() {
    let signer = SignerKey::parse(PETER_SKEY).expect("valid skey");
    assert_eq!(signer.to_secret_text(), PETER_SKEY);
    assert_eq!(signer.verifier_key().to_string(), PETER_VKEY);
    assert_eq!(signer.name().as_str(), "PeterNeumann");
    assert_eq!(signer.key_id().to_string(), "c74f20a3");
    let debug = format!("{signer:?}");
    assert_eq!(debug, "SignerKey(PeterNeumann+c74f20a3, secret redacted)");
    let secret = PETER_SKEY.rsplit('+').next().expect("base64 part");
    assert!(!debug.contains(secret));
}

#[test]
fn key_names_follow_the_specification() {
    for valid in ["a", "PeterNeumann", "coalition.example/zmina", "quasimodo.example/salvatore", "è/ü-名前", "a\u{7f}b"]
    {
        assert_eq!(name(valid).as_str(), valid);
        assert_eq!(name(valid).to_string(), valid);
    }
    let longest = "a".repeat(KEY_NAME_BYTES_MAX);
    assert!(KeyName::parse(&longest).is_ok());
    // Unicode White_Space, the same set as Go's unicode.IsSpace.
    for space in [
        '\u{9}', '\u{a}', '\u{b}', '\u{c}', '\u{d}', ' ', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}', '\u{2028}',
        '\u{3000}',
    ] {
        let text = format!("a{space}b");
        assert_eq!(KeyName::parse(&text), Err(KeyError::NameForbiddenCharacter { character: space }), "{text:?}");
    }
    // Not white space: zero-width space and joiner are allowed by the specification.
    assert!(KeyName::parse("a\u{200b}b").is_ok());
}

#[test]
fn key_ids_are_eight_lowercase_hex_digits() {
    let id = KeyId::parse("c74f20a3").expect("valid key id");
    assert_eq!(id.to_bytes(), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(id.to_u32(), 0xc74f20a3);
    assert_eq!(KeyId::from_bytes([0, 0, 0, 1]).to_string(), "00000001");
    assert_eq!("00000001".parse::<KeyId>().expect("FromStr"), KeyId::from_bytes([0, 0, 0, 1]));
    for bad in ["C74F20A3", "c74f20a", "c74f20a30", "", "c74f20ag", "+c74f20a"] {
        assert!(matches!(KeyId::parse(bad), Err(KeyError::BadKeyId { .. })), "{bad:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// One test per KeyError variant.

#[test]
fn key_error_empty_name() {
    assert_eq!(KeyName::parse(""), Err(KeyError::EmptyName));
    assert_eq!(VerifierKey::parse("+c74f20a3+AAAA").map(|_| ()), Err(KeyError::EmptyName));
}

#[test]
fn key_error_name_too_long() {
    let long = "a".repeat(KEY_NAME_BYTES_MAX + 1);
    assert_eq!(KeyName::parse(&long), Err(KeyError::NameTooLong { bytes: KEY_NAME_BYTES_MAX + 1 }));
}

#[test]
fn key_error_name_forbidden_character() {
    assert_eq!(KeyName::parse("a b"), Err(KeyError::NameForbiddenCharacter { character: ' ' }));
    assert_eq!(KeyName::parse("a+b"), Err(KeyError::NameForbiddenCharacter { character: '+' }));
    assert_eq!(KeyName::parse("a\u{1}b"), Err(KeyError::NameForbiddenCharacter { character: '\u{1}' }));
    assert_eq!(KeyName::parse("a\u{a0}b"), Err(KeyError::NameForbiddenCharacter { character: '\u{a0}' }));
}

#[test]
fn key_error_bad_key_id() {
    let upper = PETER_VKEY.replace("c74f20a3", "C74F20A3");
    assert_eq!(VerifierKey::parse(&upper).map(|_| ()), Err(KeyError::BadKeyId { found: "C74F20A3".into() }));
    let short = PETER_SKEY.replace("c74f20a3", "c74f20a");
    assert!(matches!(SignerKey::parse(&short), Err(KeyError::BadKeyId { .. })));
}

#[test]
fn key_error_missing_part() {
    assert!(matches!(VerifierKey::parse("PeterNeumann"), Err(KeyError::MissingPart { part: "key id", .. })));
    assert!(matches!(
        VerifierKey::parse("PeterNeumann+c74f20a3"),
        Err(KeyError::MissingPart { part: "key material", .. })
    ));
    assert!(matches!(SignerKey::parse("PRIVATE+KEY+PeterNeumann"), Err(KeyError::MissingPart { part: "key id", .. })));
}

#[test]
fn key_error_not_a_signer_key() {
    assert!(matches!(SignerKey::parse(PETER_VKEY), Err(KeyError::NotASignerKey)));
    assert!(matches!(SignerKey::parse(&PETER_SKEY.replace("PRIVATE", "private")), Err(KeyError::NotASignerKey)));
}

#[test]
fn key_error_bad_base64() {
    // URL-safe alphabet, missing padding, stray bits: each is refused.
    let url_safe = PETER_VKEY.replace('/', "_");
    assert_eq!(VerifierKey::parse(&url_safe).map(|_| ()), Err(KeyError::BadBase64));
    assert_eq!(VerifierKey::parse("PeterNeumann+c74f20a3+AQ").map(|_| ()), Err(KeyError::BadBase64));
    assert_eq!(VerifierKey::parse("PeterNeumann+c74f20a3+AR==").map(|_| ()), Err(KeyError::BadBase64));
    assert!(matches!(SignerKey::parse("PRIVATE+KEY+PeterNeumann+c74f20a3+AR=="), Err(KeyError::BadBase64)));
}

#[test]
fn key_error_wrong_length() {
    // Key ids that match the bytes, so the length check is what refuses the key.
    let long = vkey_text("PeterNeumann", &[0x01; 37]);
    assert_eq!(VerifierKey::parse(&long).map(|_| ()), Err(KeyError::WrongLength { expected: 33, found: 37 }));
    let short = vkey_text("PeterNeumann", &[0x01; 32]);
    assert_eq!(VerifierKey::parse(&short).map(|_| ()), Err(KeyError::WrongLength { expected: 33, found: 32 }));
    let empty = "PeterNeumann+c74f20a3+";
    assert_eq!(VerifierKey::parse(empty).map(|_| ()), Err(KeyError::WrongLength { expected: 33, found: 0 }));
    let long_seed = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFzAAAA";
    assert!(matches!(SignerKey::parse(long_seed), Err(KeyError::WrongLength { expected: 33, found: 36 })));
}

#[test]
fn key_error_unknown_signature_type() {
    let other_type = "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    assert_eq!(VerifierKey::parse(other_type).map(|_| ()), Err(KeyError::UnknownSignatureType(0x65)));
    let mut material = vec![0x04];
    material.extend_from_slice(&[0u8; 32]);
    let text = format!("PRIVATE+KEY+{}", vkey_text("PeterNeumann", &material));
    assert!(matches!(SignerKey::parse(&text), Err(KeyError::UnknownSignatureType(0x04))));
}

#[test]
fn key_error_key_id_mismatch() {
    let wrong = PETER_VKEY.replace("c74f20a3", "c74f20a4");
    let stated = KeyId::parse("c74f20a4").expect("id");
    let computed = KeyId::parse("c74f20a3").expect("id");
    assert_eq!(VerifierKey::parse(&wrong).map(|_| ()), Err(KeyError::KeyIdMismatch { stated, computed }));
    let wrong_name = PETER_VKEY.replace("PeterNeumann", "PeterNeuman");
    assert!(matches!(VerifierKey::parse(&wrong_name), Err(KeyError::KeyIdMismatch { .. })));
    let wrong_skey = PETER_SKEY.replace("c74f20a3", "c74f20a4");
    assert!(
        matches!(SignerKey::parse(&wrong_skey), Err(KeyError::KeyIdMismatch { stated: s, computed: c }) if s == stated && c == computed)
    );
}

#[test]
fn key_error_not_a_curve_point() {
    // y = 2: (y² - 1) / (d·y² + 1) is not a square mod p, so no x exists.
    let mut bytes = [0u8; 32];
    bytes[0] = 2;
    assert_eq!(VerifierKey::from_ed25519(name("a"), &bytes).map(|_| ()), Err(KeyError::NotACurvePoint));
    assert_eq!(VerifierKey::parse(&ed25519_vkey_text("a", &bytes)).map(|_| ()), Err(KeyError::NotACurvePoint));
}

#[test]
fn key_error_non_canonical_key() {
    // y = p (so y = 0 once reduced), and the point (x = 0, y = 1) written with x's sign bit set.
    for hex_text in [
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0100000000000000000000000000000000000000000000000000000000000080",
    ] {
        let bytes = bytes32(hex_text);
        assert_eq!(
            VerifierKey::from_ed25519(name("a"), &bytes).map(|_| ()),
            Err(KeyError::NonCanonicalKey),
            "{hex_text}"
        );
        assert_eq!(VerifierKey::parse(&ed25519_vkey_text("a", &bytes)).map(|_| ()), Err(KeyError::NonCanonicalKey));
    }
}

#[test]
fn key_error_weak_key() {
    // The identity, a point of order 4 and a point of order 8.
    for hex_text in [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    ] {
        let bytes = bytes32(hex_text);
        assert_eq!(VerifierKey::from_ed25519(name("a"), &bytes).map(|_| ()), Err(KeyError::WeakKey), "{hex_text}");
        assert_eq!(VerifierKey::parse(&ed25519_vkey_text("a", &bytes)).map(|_| ()), Err(KeyError::WeakKey));
    }
}

#[test]
fn key_error_torsion_component() {
    // A CCTV key flagged low_order_component_A: a prime-order point plus a low-order point.
    let bytes = bytes32("10eb7c3acfb2bed3e0d6ab89bf5a3d6afddd1176ce4812e38d9fd485058fdb1f");
    assert_eq!(VerifierKey::from_ed25519(name("a"), &bytes).map(|_| ()), Err(KeyError::TorsionComponent));
    assert_eq!(VerifierKey::parse(&ed25519_vkey_text("a", &bytes)).map(|_| ()), Err(KeyError::TorsionComponent));
}

#[test]
fn key_errors_read_as_plain_words() {
    let error = VerifierKey::parse(&PETER_VKEY.replace("c74f20a3", "c74f20a4")).expect_err("mismatch");
    assert_eq!(error.to_string(), "the key id c74f20a4 does not match the key: its name and public key give c74f20a3");
    assert_eq!(
        KeyName::parse("a b").expect_err("space").to_string(),
        "the key name contains ' ', which is not allowed (no spaces, no '+', no control characters)"
    );
}

// ---------------------------------------------------------------------------------------------
// CCTV ed25519vectors.json: the project's validity rule on every edge case of A and R.

#[derive(Deserialize)]
pub(crate) struct CctvVector {
    pub(crate) number: u32,
    pub(crate) key: String,
    pub(crate) sig: String,
    pub(crate) msg: String,
    flags: Option<Vec<String>>,
}

pub(crate) fn cctv_vectors() -> Vec<CctvVector> {
    serde_json::from_str(include_str!("../data/ed25519/cctv/ed25519vectors.json")).expect("CCTV vectors parse")
}

/// The decision of ed25519-dalek 3.0 `verify_strict` on the CCTV vectors, found by running it on
/// all 914 and frozen here as the project's rule:
///
/// | flag                                           | verify_strict            |
/// | ---------------------------------------------- | ------------------------ |
/// | `low_order_A`                                  | reject (weak key)        |
/// | `low_order_R`                                  | reject (small-order R)   |
/// | `non_canonical_A` (all are also `low_order_A`) | reject                   |
/// | `non_canonical_R`                              | reject (R is re-encoded) |
/// | `low_order_residue`                            | reject (cofactorless)    |
/// | `reencoded_k` (always with a non-canonical)    | reject                   |
/// | `low_order_component_A`                        | accept                   |
/// | `low_order_component_R`                        | accept                   |
///
/// So: accept iff every flag is `low_order_component_A` or `low_order_component_R`. On top of it,
/// the key-acceptance rule refuses every `A` with any flag (only the unflagged key of the vectors
/// can be registered), so the whole project accepts iff the flags are at most
/// `low_order_component_R`.
fn strict_rule_accepts(flags: &[String]) -> bool {
    flags.iter().all(|flag| flag == "low_order_component_A" || flag == "low_order_component_R")
}

#[test]
fn cctv_verify_strict_decision_table() {
    let vectors = cctv_vectors();
    assert_eq!(vectors.len(), 914);
    // flag set -> (vectors, accepted by verify_strict)
    let mut table: BTreeMap<Vec<String>, (usize, usize)> = BTreeMap::new();
    let mut mismatches = Vec::new();
    let mut accepted = 0;
    for vector in &vectors {
        let flags = vector.flags.clone().unwrap_or_default();
        let key_bytes = bytes32(&vector.key);
        let mut signature = [0u8; 64];
        hex::decode_to_slice(&vector.sig, &mut signature).expect("64 hex bytes");
        let verdict = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes).is_ok_and(|key| {
            key.verify_strict(vector.msg.as_bytes(), &ed25519_dalek::Signature::from_bytes(&signature)).is_ok()
        });
        let mut sorted = flags.clone();
        sorted.sort();
        let entry = table.entry(sorted).or_default();
        entry.0 += 1;
        entry.1 += usize::from(verdict);
        accepted += usize::from(verdict);
        if verdict != strict_rule_accepts(&flags) {
            mismatches.push(vector.number);
        }
    }
    let rendered: Vec<String> =
        table.iter().map(|(flags, (total, ok))| format!("{ok:>3}/{total:<3} accepted: {}", flags.join(" "))).collect();
    assert!(mismatches.is_empty(), "verify_strict differs from the rule on {mismatches:?}\n{}", rendered.join("\n"));
    // Non-vacuous: both outcomes occur.
    assert!(accepted > 0 && accepted < vectors.len(), "{accepted} accepted\n{}", rendered.join("\n"));
    println!("{accepted} of {} accepted\n{}", vectors.len(), rendered.join("\n"));
}

#[test]
fn cctv_key_acceptance_and_project_verification() {
    let vectors = cctv_vectors();
    let mut registrable_keys = std::collections::BTreeSet::new();
    let mut project_accepts = 0;
    for vector in &vectors {
        let flags = vector.flags.clone().unwrap_or_default();
        let has = |flag: &str| flags.iter().any(|candidate| candidate == flag);
        let key_bytes = bytes32(&vector.key);
        let accepted_key = VerifierKey::from_ed25519(name("cctv.example/key"), &key_bytes);
        let key_flagged = has("low_order_A") || has("non_canonical_A") || has("low_order_component_A");
        assert_eq!(accepted_key.is_ok(), !key_flagged, "vector {} key {}: {accepted_key:?}", vector.number, vector.key);
        if has("non_canonical_A") {
            assert_eq!(accepted_key.as_ref().err(), Some(&KeyError::NonCanonicalKey), "vector {}", vector.number);
        } else if has("low_order_A") {
            assert_eq!(accepted_key.as_ref().err(), Some(&KeyError::WeakKey), "vector {}", vector.number);
        } else if has("low_order_component_A") {
            assert_eq!(accepted_key.as_ref().err(), Some(&KeyError::TorsionComponent), "vector {}", vector.number);
        }
        if let Ok(key) = accepted_key {
            registrable_keys.insert(vector.key.clone());
            let mut signature = [0u8; 64];
            hex::decode_to_slice(&vector.sig, &mut signature).expect("64 hex bytes");
            let verdict = key.verify(vector.msg.as_bytes(), &signature);
            assert_eq!(verdict, strict_rule_accepts(&flags), "vector {}", vector.number);
            assert_eq!(verdict, flags.iter().all(|flag| flag == "low_order_component_R"), "vector {}", vector.number);
            project_accepts += usize::from(verdict);
        }
    }
    assert_eq!(registrable_keys.len(), 1, "only the unflagged CCTV key may be registered");
    assert!(project_accepts > 0);
}

// ---------------------------------------------------------------------------------------------
// Wycheproof ed25519_test.json.

#[derive(Deserialize)]
struct WycheproofFile {
    #[serde(rename = "testGroups")]
    test_groups: Vec<WycheproofGroup>,
}

#[derive(Deserialize)]
struct WycheproofGroup {
    #[serde(rename = "publicKey")]
    public_key: WycheproofKey,
    tests: Vec<WycheproofTest>,
}

#[derive(Deserialize)]
struct WycheproofKey {
    pk: String,
}

#[derive(Deserialize)]
struct WycheproofTest {
    #[serde(rename = "tcId")]
    tc_id: u32,
    msg: String,
    sig: String,
    result: String,
}

#[test]
fn wycheproof_valid_verify_and_invalid_fail() {
    let file: WycheproofFile =
        serde_json::from_str(include_str!("../data/ed25519/wycheproof/ed25519_test.json")).expect("Wycheproof parses");
    let (mut valid, mut invalid) = (0, 0);
    for group in &file.test_groups {
        // Every Wycheproof key is an honest key: the acceptance rule must let it through.
        let key = VerifierKey::from_ed25519(name("wycheproof.example/key"), &bytes32(&group.public_key.pk))
            .expect("Wycheproof keys pass the key-acceptance rule");
        for test in &group.tests {
            let message = hex::decode(&test.msg).expect("hex message");
            let signature = hex::decode(&test.sig).expect("hex signature");
            // Signatures of another length than 64 bytes cannot even be presented.
            let verdict =
                <[u8; 64]>::try_from(signature.as_slice()).is_ok_and(|signature| key.verify(&message, &signature));
            match test.result.as_str() {
                "valid" => {
                    assert!(verdict, "tcId {} must verify", test.tc_id);
                    valid += 1;
                }
                "invalid" => {
                    assert!(!verdict, "tcId {} must fail", test.tc_id);
                    invalid += 1;
                }
                // The file has no `acceptable` tests; one appearing would need a documented decision.
                other => panic!("tcId {}: unexpected result {other:?}", test.tc_id),
            }
        }
    }
    assert_eq!((valid, invalid), (88, 63));
}
