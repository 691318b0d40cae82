//! Signed notes: the Go reference implementation's vectors, the C2SP specification's examples,
//! one test per error, the genesis signing flow and a property test.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use coalition_core::keys::{KeyError, KeyId, KeyName, SignerKey, VerifierKey};
use coalition_core::limits::NOTE_SIGNATURES_MAX;
use coalition_core::note::{Note, NoteError, add_signatures, parse_note, parse_note_bytes, sign_note, signature_line};
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::Value;

const TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_SIG_LINE: &str =
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";

fn vkey(text: &str) -> VerifierKey {
    VerifierKey::parse(text).expect("test vkey")
}

fn signer(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(KeyName::parse(name).expect("test key name"), [seed; 32])
}

fn label(key: &VerifierKey) -> String {
    format!("{}+{}", key.name(), key.key_id())
}

/// The errors Go reports as "malformed note": everything found by parsing or by checking the
/// text to sign.
fn is_malformed(error: &NoteError) -> bool {
    matches!(
        error,
        NoteError::InvalidUtf8 { .. }
            | NoteError::ControlCharacter { .. }
            | NoteError::NoBlankLine
            | NoteError::NoSignatures
            | NoteError::MissingFinalNewline { .. }
            | NoteError::TooManySignatures { .. }
            | NoteError::NotASignatureLine { .. }
            | NoteError::BadKeyName { .. }
            | NoteError::MissingSignature { .. }
            | NoteError::BadSignatureBase64 { .. }
            | NoteError::SignatureTooShort { .. }
            | NoteError::EmptyText
            | NoteError::TextMissingFinalNewline
    )
}

// ---------------------------------------------------------------------------------------------
// go-note-vectors.json

#[derive(Deserialize)]
struct GoVectors {
    constants: Value,
    entries: Vec<Value>,
}

#[derive(Deserialize)]
struct GoSig {
    name: String,
    key_id: String,
    base64: String,
}

/// Entries that exercise a mechanic of Go's API that this API does not have, with the reason.
const GO_SKIPPED: [(&str, &str); 2] = [
    (
        "sign-replaces-existing",
        "Go's Sign silently replaces an existing signature by the same key; this project refuses a second signature \
         by a key (NoteError::DuplicateSigner, tested in genesis_flow_signs_in_turn_and_refuses_a_second_signature). \
         The entry's existing signature 'BADSIGN=' also claims a key id its bytes do not hold, which a parsed line \
         cannot express, and it is non-canonical base64.",
    ),
    (
        "sign-existing-bad-keyid",
        "Go's Note.Sigs carries a key hash apart from the base64, and Sign checks they agree; here the key id is \
         always read from the base64, so they cannot disagree. (The line 'BADHASH=' would be refused anyway: its \
         last character has stray bits, see note_error_bad_signature_base64.)",
    ),
];

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().map(|item| item.as_str().expect("string").to_owned()).collect())
        .unwrap_or_default()
}

fn go_sigs(value: &Value) -> Vec<GoSig> {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

fn expect_str<'v>(entry: &'v Value, field: &str) -> &'v str {
    entry["expect"][field].as_str().unwrap_or_default()
}

/// All proper substrings and all single-byte increments of a valid key text (the Go tests' rule).
fn manglings(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for start in 0..bytes.len() {
        for end in start + 1..=bytes.len() {
            if (start, end) != (0, bytes.len()) {
                out.push(text[start..end].to_owned());
            }
        }
        let mut changed = bytes.to_vec();
        changed[start] += 1;
        out.push(String::from_utf8(changed).expect("ASCII stays UTF-8"));
    }
    out
}

fn check_verifier_key(entry: &Value) {
    let text = entry["vkey"].as_str().expect("vkey");
    let result = VerifierKey::parse(text);
    if entry["expect"]["ok"] == true {
        assert_eq!(result.expect("valid vkey").to_string(), text);
        return;
    }
    let error = result.expect_err("invalid vkey");
    match expect_str(entry, "go_error") {
        // Go's errVerifierID covers bad base64 too. The entry with this error (wrong length) ends
        // in "KEY==", whose last character has stray bits: strict base64 refuses it first.
        "malformed verifier id" => {
            assert!(matches!(error, KeyError::WrongLength { .. } | KeyError::BadBase64), "{error:?}")
        }
        "unknown verifier algorithm" => assert!(matches!(error, KeyError::UnknownSignatureType(_)), "{error:?}"),
        other => panic!("unmapped Go error {other:?}"),
    }
}

fn check_signer_key(entry: &Value) {
    let text = entry["skey"].as_str().expect("skey");
    let signer = SignerKey::parse(text).expect("valid skey");
    assert_eq!(signer.to_secret_text(), text);
    assert_eq!(signer.verifier_key().to_string(), entry["matching_vkey"].as_str().expect("matching vkey"));
    if entry["derived"] == true {
        // example_test.go generates EnochRoot's key from an all-zero seed.
        let derived = SignerKey::from_seed(signer.name().clone(), [0u8; 32]);
        assert_eq!(derived.to_secret_text(), text);
    }
}

fn check_mangling_rule(entry: &Value, field: &str, expected: usize, parse: impl Fn(&str) -> bool) {
    let text = entry[field].as_str().expect("key text");
    let all = manglings(text);
    assert_eq!(all.len(), expected, "{}", entry["id"]);
    for mangled in &all {
        assert!(!parse(mangled), "mangled key {mangled:?} was accepted");
    }
}

fn existing_note(text: &str, sigs: &[GoSig]) -> String {
    let mut note = format!("{text}\n");
    for sig in sigs {
        note.push_str(&format!("— {} {}\n", sig.name, sig.base64));
    }
    note
}

fn check_sign(entry: &Value) {
    if let Some(override_) = entry.get("signer_override") {
        // Go wraps a valid signer so that Name() returns an invalid name; here a signer holds a
        // KeyName, which cannot be invalid, so the refusal happens when the name is made.
        let bad_name = override_["name"].as_str().expect("name");
        assert_eq!(expect_str(entry, "go_error"), "invalid signer");
        assert!(matches!(KeyName::parse(bad_name), Err(KeyError::NameForbiddenCharacter { .. })));
        return;
    }
    let text = entry["text"].as_str().expect("text");
    let signers: Vec<SignerKey> =
        strings(&entry["signer_skeys"]).iter().map(|skey| SignerKey::parse(skey).expect("skey")).collect();
    let signer_refs: Vec<&SignerKey> = signers.iter().collect();
    let existing = go_sigs(&entry["existing_sigs"]);
    let result = if existing.is_empty() {
        sign_note(text, &signer_refs)
    } else {
        add_signatures(&existing_note(text, &existing), &signer_refs)
    };
    if entry["expect"]["ok"] == true {
        assert_eq!(result.expect("signing succeeds"), expect_str(entry, "output"), "{}", entry["id"]);
    } else {
        let error = result.expect_err("signing fails");
        assert_eq!(expect_str(entry, "go_error"), "malformed note");
        assert!(is_malformed(&error), "{}: {error:?}", entry["id"]);
    }
}

/// Go's VerifierList lookup, through verify_known: a note signed with Peter's real signature bytes
/// under the (name, key id) looked up.
fn check_lookup(entry: &Value, constants: &Value) {
    let known: Vec<VerifierKey> = strings(&entry["verifiers"]).iter().map(|text| vkey(text)).collect();
    let peter_line = constants["PETER_SIG_LINE"].as_str().expect("constant");
    let peter_raw = STANDARD.decode(peter_line.trim_end().rsplit(' ').next().expect("base64")).expect("base64");
    let key_id = KeyId::parse(entry["key_id"].as_str().expect("key id")).expect("key id");
    let name = KeyName::parse(entry["name"].as_str().expect("name")).expect("name");
    let text = constants["TEXT"].as_str().expect("constant");
    let signed = format!("{text}\n{}", signature_line(&name, key_id, &peter_raw[4..]));
    let note = parse_note(&signed).expect("note parses");
    let result = note.verify_known(&known);
    if entry["expect"]["ok"] == true {
        let verified = result.expect("lookup succeeds");
        let found: Vec<String> = verified.signers.iter().map(|key| key.to_string()).collect();
        assert_eq!(found, [expect_str(entry, "vkey")]);
        return;
    }
    let go_error = expect_str(entry, "go_error");
    let expected_key = format!("{name}+{key_id}");
    match result.expect_err("lookup fails") {
        NoteError::NoVerifiedSignature { unknown_signers } => {
            assert_eq!(go_error, format!("unknown key {expected_key}"));
            assert_eq!(unknown_signers, [expected_key]);
        }
        NoteError::AmbiguousKey { key, .. } => {
            assert_eq!(go_error, format!("ambiguous key {expected_key}"));
            assert_eq!(key, expected_key);
        }
        other => panic!("{}: unexpected {other:?}", entry["id"]),
    }
}

fn check_open(entry: &Value) {
    let message = STANDARD.decode(entry["msg_b64"].as_str().expect("msg_b64")).expect("base64");
    if let Some(text) = entry["msg"].as_str() {
        assert_eq!(text.as_bytes(), message);
    }
    let fixed_lookup = entry.get("verifier_lookup");
    let known: Vec<VerifierKey> = match fixed_lookup {
        // Go's test uses a lookup that returns Peter's key for any (name, key id), to check that
        // Open notices the mismatch. This API looks keys up by (name, key id) itself, so it cannot
        // be handed a mismatched key: the line is simply by an unknown key, and with no other
        // line the note has no verified signature.
        Some(lookup) => vec![vkey(lookup["vkey"].as_str().expect("vkey"))],
        None => strings(&entry["verifiers"]).iter().map(|text| vkey(text)).collect(),
    };
    let parsed = parse_note_bytes(&message);
    let go_error = expect_str(entry, "go_error");
    if go_error == "malformed note" {
        let error = parsed.expect_err("malformed note is refused by the parser");
        assert!(is_malformed(&error), "{}: {error:?}", entry["id"]);
        return;
    }
    let note = parsed.expect("well-formed note parses");
    let result = note.verify_known(&known);
    if entry["expect"]["ok"] == true {
        let verified = result.expect("note opens");
        if let Some(text) = entry["expect"]["text"].as_str() {
            assert_eq!(note.text(), text);
        }
        let sigs = go_sigs(&entry["expect"]["sigs"]);
        let signers: Vec<(String, String)> =
            verified.signers.iter().map(|key| (key.name().to_string(), key.key_id().to_string())).collect();
        let expected: Vec<(String, String)> = sigs.iter().map(|sig| (sig.name.clone(), sig.key_id.clone())).collect();
        assert_eq!(signers, expected, "{}", entry["id"]);
        let unknown: Vec<(String, String, String)> = verified
            .unknown
            .iter()
            .map(|sig| (sig.name().to_owned(), sig.key_id().to_string(), sig.base64().to_owned()))
            .collect();
        let expected: Vec<(String, String, String)> = go_sigs(&entry["expect"]["unverified_sigs"])
            .into_iter()
            .map(|sig| (sig.name, sig.key_id, sig.base64))
            .collect();
        assert_eq!(unknown, expected, "{}", entry["id"]);
        return;
    }
    let error = result.expect_err("note is refused");
    match &error {
        NoteError::NoVerifiedSignature { unknown_signers } if fixed_lookup.is_some() => {
            assert_eq!(go_error, "verifier name or hash doesn't match signature");
            assert_eq!(unknown_signers.len(), 1);
        }
        NoteError::NoVerifiedSignature { unknown_signers } => {
            assert_eq!(go_error, "note has no verifiable signatures");
            let mut expected: Vec<String> = Vec::new();
            for sig in go_sigs(&entry["expect"]["unverified_sigs"]) {
                let key = format!("{}+{}", sig.name, sig.key_id);
                if !expected.contains(&key) {
                    expected.push(key);
                }
            }
            assert_eq!(unknown_signers, &expected);
        }
        NoteError::AmbiguousKey { key, .. } => assert_eq!(go_error, format!("ambiguous key {key}")),
        NoteError::InvalidSignature { key, .. } => assert_eq!(go_error, format!("invalid signature for key {key}")),
        other => panic!("{}: unexpected {other:?}", entry["id"]),
    }
}

#[test]
fn go_reference_vectors() {
    let vectors: GoVectors =
        serde_json::from_str(include_str!("../data/signed-note/go-note-vectors.json")).expect("Go vectors parse");
    let (mut checked, mut skipped) = (0, 0);
    for entry in &vectors.entries {
        let id = entry["id"].as_str().expect("id");
        if GO_SKIPPED.iter().any(|(skipped_id, _)| *skipped_id == id) {
            skipped += 1;
            continue;
        }
        match entry["kind"].as_str().expect("kind") {
            "verifier_key" => check_verifier_key(entry),
            "verifier_key_mangling_rule" => {
                check_mangling_rule(entry, "vkey", 2276, |text| VerifierKey::parse(text).is_ok())
            }
            "signer_key" => check_signer_key(entry),
            "signer_key_mangling_rule" => {
                check_mangling_rule(entry, "skey", 3158, |text| SignerKey::parse(text).is_ok())
            }
            "sign" => check_sign(entry),
            "verifier_lookup" => check_lookup(entry, &vectors.constants),
            "open" => check_open(entry),
            other => panic!("{id}: unknown kind {other:?}"),
        }
        checked += 1;
    }
    assert_eq!(vectors.entries.len(), 37);
    assert_eq!((checked, skipped), (35, GO_SKIPPED.len()));
}

// ---------------------------------------------------------------------------------------------
// c2sp-examples.json

#[test]
fn c2sp_specification_examples() {
    let file: Value =
        serde_json::from_str(include_str!("../data/signed-note/c2sp-examples.json")).expect("C2SP examples parse");
    let examples = file["examples"].as_array().expect("examples");
    let mut checked = 0;
    for example in examples {
        let id = example["id"].as_str().expect("id");
        let signed = example["signed_note"].as_str().expect("signed note");
        let note = parse_note(signed).expect("example parses");
        assert_eq!(note.text(), example["note_text"].as_str().expect("text"), "{id}");
        let sigs = go_sigs(&example["signatures"]);
        assert_eq!(note.signatures().len(), sigs.len());
        for (parsed, expected) in note.signatures().iter().zip(&sigs) {
            assert_eq!(parsed.name(), expected.name);
            assert_eq!(parsed.key_id().to_string(), expected.key_id);
            assert_eq!(parsed.base64(), expected.base64);
        }
        match id {
            "signed-note-example" => {
                let key = vkey(example["vkey"].as_str().expect("vkey"));
                assert_eq!(key.to_string(), example["vkey"].as_str().expect("vkey"));
                let parts = &example["vkey_parts"];
                assert_eq!(key.name().as_str(), parts["name"].as_str().expect("name"));
                assert_eq!(key.key_id().to_string(), parts["key_id"].as_str().expect("key id"));
                assert_eq!(hex::encode(key.public_key()), parts["ed25519_public_key_hex"].as_str().expect("key"));
                note.verify(&key).expect("the specification's example verifies");
                let known = [key];
                let verified = note.verify_known(&known).expect("opens");
                let by: Vec<String> = verified.signers.iter().map(|key| key.to_string()).collect();
                assert_eq!(by, strings(&example["expect"]["verified_by"]));
            }
            "signed-note-intro" => {
                // No key is published: structure only. The text keeps its inner blank line.
                assert!(note.text().contains("\n\ned è subito sera.\n"));
                let raw_length = example["checks"]["signature_raw_length"].as_u64().expect("length");
                assert_eq!(4 + note.signatures()[0].signature().len() as u64, raw_length);
                assert!(note.signatures()[0].ed25519_signature().is_some());
            }
            "tlog-cosignature-example" => {
                // A type 0x04 cosignature: 8-byte timestamp and 64-byte signature after the key id.
                let cosignature = &example["cosignature"];
                let line = &note.signatures()[1];
                assert_eq!(4 + line.signature().len() as u64, cosignature["raw_length"].as_u64().expect("length"));
                assert!(line.ed25519_signature().is_none());
                let (timestamp, signature) = line.signature().split_at(8);
                let timestamp = u64::from_be_bytes(timestamp.try_into().expect("8 bytes"));
                assert_eq!(timestamp, cosignature["timestamp"].as_u64().expect("timestamp"));
                assert_eq!(hex::encode(signature), cosignature["ed25519_signature_hex"].as_str().expect("hex"));
                // No published keys: with none known, nothing verifies and both signers are reported.
                match note.verify_known(&[]) {
                    Err(NoteError::NoVerifiedSignature { unknown_signers }) => assert_eq!(
                        unknown_signers,
                        ["example.com/behind-the-sofa+033de0ae", "witness.example.com/w1+8d66cf3f"]
                    ),
                    other => panic!("unexpected {other:?}"),
                }
            }
            other => panic!("unknown example {other}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 3);
}

// ---------------------------------------------------------------------------------------------
// One test per NoteError variant.

fn peter_note() -> String {
    format!("{TEXT}\n{PETER_SIG_LINE}")
}

#[test]
fn note_error_invalid_utf8() {
    let mut bytes = peter_note().into_bytes();
    bytes.insert(TEXT.len() - 3, 0xff);
    assert_eq!(parse_note_bytes(&bytes).map(|_| ()), Err(NoteError::InvalidUtf8 { line: 2 }));
}

#[test]
fn note_error_control_character() {
    for byte in (0u8..0x20).filter(|&byte| byte != b'\n') {
        let note = format!("line one\nline {}two\n\n{PETER_SIG_LINE}", char::from(byte));
        assert_eq!(parse_note(&note).map(|_| ()), Err(NoteError::ControlCharacter { line: 2, byte }));
    }
    // In a signature line too (a tab instead of the space after the name).
    let note = peter_note().replace("PeterNeumann ", "PeterNeumann\t");
    assert_eq!(parse_note(&note).map(|_| ()), Err(NoteError::ControlCharacter { line: 4, byte: b'\t' }));
    // DEL (0x7f) is not among the characters the specification forbids.
    let note = format!("a\u{7f}b\n\n{PETER_SIG_LINE}");
    assert!(parse_note(&note).is_ok());
    // Nor may a text to be signed hold one.
    let signer = signer("a.example/k", 1);
    assert_eq!(sign_note("a\rb\n", &[&signer]), Err(NoteError::ControlCharacter { line: 1, byte: b'\r' }));
}

#[test]
fn note_error_no_blank_line() {
    assert_eq!(parse_note(TEXT).map(|_| ()), Err(NoteError::NoBlankLine));
    assert_eq!(parse_note(&format!("{TEXT}{PETER_SIG_LINE}")).map(|_| ()), Err(NoteError::NoBlankLine));
    assert_eq!(parse_note("").map(|_| ()), Err(NoteError::NoBlankLine));
}

#[test]
fn note_error_no_signatures() {
    assert_eq!(parse_note(&format!("{TEXT}\n")).map(|_| ()), Err(NoteError::NoSignatures));
    // A blank line after the signatures makes them part of the text.
    assert_eq!(parse_note(&format!("{}\n", peter_note())).map(|_| ()), Err(NoteError::NoSignatures));
}

#[test]
fn note_error_missing_final_newline() {
    let note = peter_note();
    let unterminated = note.strip_suffix('\n').expect("newline");
    assert_eq!(parse_note(unterminated).map(|_| ()), Err(NoteError::MissingFinalNewline { line: 4 }));
}

#[test]
fn note_error_too_many_signatures() {
    let at_limit = format!("{TEXT}\n{}", PETER_SIG_LINE.repeat(NOTE_SIGNATURES_MAX));
    assert_eq!(parse_note(&at_limit).expect("100 signatures are accepted").signatures().len(), NOTE_SIGNATURES_MAX);
    let over = format!("{at_limit}{PETER_SIG_LINE}");
    assert_eq!(
        parse_note(&over).map(|_| ()),
        Err(NoteError::TooManySignatures { count: NOTE_SIGNATURES_MAX + 1, max: NOTE_SIGNATURES_MAX })
    );
    let signers: Vec<SignerKey> = (0..=NOTE_SIGNATURES_MAX).map(|index| signer(&format!("k{index}"), 9)).collect();
    let refs: Vec<&SignerKey> = signers.iter().collect();
    assert!(matches!(sign_note("t\n", &refs), Err(NoteError::TooManySignatures { count: 101, max: 100 })));
    assert!(matches!(add_signatures(&at_limit, &refs[..1]), Err(NoteError::TooManySignatures { count: 101, .. })));
}

#[test]
fn note_error_not_a_signature_line() {
    for line in
        ["-- PeterNeumann AAAAAAA=\n", "—PeterNeumann AAAAAAA=\n", " — PeterNeumann AAAAAAA=\n", "Unexpected line.\n"]
    {
        let note = format!("{}{line}", peter_note());
        assert_eq!(parse_note(&note).map(|_| ()), Err(NoteError::NotASignatureLine { line: 5 }), "{line:?}");
    }
}

#[test]
fn note_error_bad_key_name() {
    let note = peter_note().replace("PeterNeumann", "Peter+Neumann");
    assert_eq!(
        parse_note(&note).map(|_| ()),
        Err(NoteError::BadKeyName { line: 4, problem: KeyError::NameForbiddenCharacter { character: '+' } })
    );
    let note = peter_note().replace("— PeterNeumann", "—  PeterNeumann");
    assert_eq!(parse_note(&note).map(|_| ()), Err(NoteError::BadKeyName { line: 4, problem: KeyError::EmptyName }));
    let note = peter_note().replace("PeterNeumann", "Peter\u{a0}Neumann");
    assert!(matches!(parse_note(&note), Err(NoteError::BadKeyName { line: 4, .. })));
}

#[test]
fn note_error_missing_signature() {
    for line in ["— PeterNeumann\n", "— PeterNeumann \n"] {
        let note = format!("{TEXT}\n{line}");
        assert_eq!(parse_note(&note).map(|_| ()), Err(NoteError::MissingSignature { line: 4 }), "{line:?}");
    }
}

#[test]
fn note_error_bad_signature_base64() {
    let cases = [
        // Missing padding, a space inside, the URL-safe alphabet, a stray character.
        PETER_SIG_LINE.replace('=', ""),
        PETER_SIG_LINE.replace("x08go", "x08 go"),
        PETER_SIG_LINE.replace('/', "_"),
        PETER_SIG_LINE.replace("x08go", "x08go!"),
        // Go's decoder accepts stray bits in the last character; this one does not ('N' = 001101).
        format!("— PeterNeumann {}\n", "BADHASH="),
        // Last character of Peter's signature with one of its two unused bits set: 'M' -> 'N'.
        PETER_SIG_LINE.replace("AM=", "AN="),
    ];
    for line in &cases {
        let note = format!("{TEXT}\n{line}");
        assert_eq!(parse_note(&note).map(|_| ()), Err(NoteError::BadSignatureBase64 { line: 4 }), "{line:?}");
    }
}

#[test]
fn note_error_signature_too_short() {
    for (encoded, bytes) in [("AAAAAA==", 4), ("AAA=", 2)] {
        let note = format!("{TEXT}\n— PeterNeumann {encoded}\n");
        assert_eq!(parse_note(&note).map(|_| ()), Err(NoteError::SignatureTooShort { line: 4, bytes }));
    }
    // Five bytes are enough to be a (foreign, unverifiable) signature line.
    let note = format!("{TEXT}\n— PeterNeumann AAAAAAA=\n");
    assert_eq!(parse_note(&note).expect("5 bytes parse").signatures()[0].signature(), [0]);
}

#[test]
fn note_error_empty_text() {
    let signer = signer("a.example/k", 1);
    assert_eq!(sign_note("", &[&signer]), Err(NoteError::EmptyText));
}

#[test]
fn note_error_text_missing_final_newline() {
    let signer = signer("a.example/k", 1);
    assert_eq!(sign_note("abc", &[&signer]), Err(NoteError::TextMissingFinalNewline));
}

#[test]
fn note_error_no_signers() {
    assert_eq!(sign_note(TEXT, &[]), Err(NoteError::NoSigners));
    assert_eq!(add_signatures(&peter_note(), &[]), Err(NoteError::NoSigners));
}

#[test]
fn note_error_duplicate_signer() {
    let peter = SignerKey::parse(PETER_SKEY).expect("skey");
    assert_eq!(
        add_signatures(&peter_note(), &[&peter]),
        Err(NoteError::DuplicateSigner { key: "PeterNeumann+c74f20a3".into() })
    );
    assert_eq!(
        sign_note(TEXT, &[&peter, &peter]),
        Err(NoteError::DuplicateSigner { key: "PeterNeumann+c74f20a3".into() })
    );
}

#[test]
fn note_error_no_signature_by_key() {
    let note = peter_note();
    let parsed = parse_note(&note).expect("parses");
    assert_eq!(parsed.verify(&vkey(ENOCH_VKEY)), Err(NoteError::NoSignatureByKey { key: "EnochRoot+af0cfe78".into() }));
    parsed.verify(&vkey(PETER_VKEY)).expect("Peter signed");
}

#[test]
fn note_error_invalid_signature() {
    let peter = vkey(PETER_VKEY);
    // Another text under Peter's signature.
    let note = format!("Another text.\n\n{PETER_SIG_LINE}");
    let parsed = parse_note(&note).expect("parses");
    assert_eq!(parsed.verify(&peter), Err(NoteError::InvalidSignature { line: 3, key: label(&peter) }));
    assert_eq!(
        parsed.verify_known(std::slice::from_ref(&peter)).map(|_| ()),
        Err(NoteError::InvalidSignature { line: 3, key: label(&peter) })
    );
    // A good line followed by a bad line by the same key: the note is refused, in either order
    // (Go would skip the second line).
    let bad_line = PETER_SIG_LINE.replace("x08go/ZJku", "x08go/ZJkv");
    for (first, second, bad_at) in [(PETER_SIG_LINE, bad_line.as_str(), 5), (bad_line.as_str(), PETER_SIG_LINE, 4)] {
        let note = format!("{TEXT}\n{first}{second}");
        let parsed = parse_note(&note).expect("parses");
        assert_eq!(parsed.verify(&peter), Err(NoteError::InvalidSignature { line: bad_at, key: label(&peter) }));
    }
    // A line under Peter's name and key id that is not 64 bytes long cannot verify.
    let note = format!("{TEXT}\n— PeterNeumann x08go/Y=\n");
    assert!(matches!(parse_note(&note).expect("parses").verify(&peter), Err(NoteError::InvalidSignature { .. })));
}

#[test]
fn note_error_ambiguous_key() {
    let known = [vkey(PETER_VKEY), vkey(PETER_VKEY)];
    let note = peter_note();
    let parsed = parse_note(&note).expect("parses");
    assert_eq!(
        parsed.verify_known(&known).map(|_| ()),
        Err(NoteError::AmbiguousKey { line: 4, key: "PeterNeumann+c74f20a3".into() })
    );
}

#[test]
fn note_error_no_verified_signature() {
    let note = peter_note();
    let parsed = parse_note(&note).expect("parses");
    let error = parsed.verify_known(&[vkey(ENOCH_VKEY)]).expect_err("only Peter signed");
    assert_eq!(error, NoteError::NoVerifiedSignature { unknown_signers: vec!["PeterNeumann+c74f20a3".into()] });
    assert_eq!(error.to_string(), "no signature on the note is by a known key (signed by: PeterNeumann+c74f20a3)");
}

#[test]
fn note_errors_name_the_line() {
    let note = peter_note().replace("— PeterNeumann", "– PeterNeumann");
    let error = parse_note(&note).expect_err("en dash is not an em dash");
    assert_eq!(error.to_string(), "line 4: a signature line must start with an em dash (U+2014) and a space");
}

// ---------------------------------------------------------------------------------------------
// Parsing details.

#[test]
fn the_text_ends_at_the_last_blank_line() {
    let signer = signer("a.example/k", 3);
    for text in ["\n", "a\n\n", "a\n\n\n", "one\n\ntwo\n", "— not a signature\n\n— still text\n"] {
        let signed = sign_note(text, &[&signer]).expect("signs");
        let note = parse_note(&signed).expect("parses");
        assert_eq!(note.text(), text);
        note.verify(&signer.verifier_key()).expect("verifies");
    }
}

#[test]
fn signature_lines_keep_their_order_and_line_numbers() {
    let note = format!("{TEXT}\n{PETER_SIG_LINE}— EnochRoot AAAAAAA=\n{PETER_SIG_LINE}");
    let parsed: Note<'_> = parse_note(&note).expect("parses");
    let lines: Vec<(usize, &str)> = parsed.signatures().iter().map(|sig| (sig.line(), sig.name())).collect();
    assert_eq!(lines, [(4, "PeterNeumann"), (5, "EnochRoot"), (6, "PeterNeumann")]);
    assert!(parsed.signatures()[0].is_by(&vkey(PETER_VKEY)));
    assert!(!parsed.signatures()[1].is_by(&vkey(ENOCH_VKEY)));
    // Duplicate valid lines by one key are accepted and the key is reported once.
    let known = [vkey(PETER_VKEY)];
    let verified = parsed.verify_known(&known).expect("opens");
    assert_eq!(verified.signers.len(), 1);
    assert_eq!(verified.unknown.len(), 1);
}

#[test]
fn signature_line_format() {
    let key = vkey(PETER_VKEY);
    let raw = STANDARD
        .decode("x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=")
        .expect("b64");
    assert_eq!(signature_line(key.name(), key.key_id(), &raw[4..]), PETER_SIG_LINE);
}

// ---------------------------------------------------------------------------------------------
// The genesis flow: every founder signs in turn.

#[test]
fn genesis_flow_signs_in_turn_and_refuses_a_second_signature() {
    let founders = [
        signer("coalition.example/ccl", 1),
        signer("coalition.example/crimea-sos", 2),
        signer("coalition.example/zmina", 3),
    ];
    let text = "coalition genesis\n{\"members\":3}\n";
    let mut signed = sign_note(text, &[&founders[0]]).expect("first founder signs");
    for founder in &founders[1..] {
        signed = add_signatures(&signed, &[founder]).expect("next founder signs");
    }
    let note = parse_note(&signed).expect("parses");
    let keys: Vec<VerifierKey> = founders.iter().map(SignerKey::verifier_key).collect();
    for key in &keys {
        note.verify(key).expect("each founder's signature verifies");
    }
    let verified = note.verify_known(&keys).expect("opens");
    let order: Vec<&str> = verified.signers.iter().map(|key| key.name().as_str()).collect();
    assert_eq!(order, ["coalition.example/ccl", "coalition.example/crimea-sos", "coalition.example/zmina"]);
    // Signing in one go gives the same bytes (deterministic signatures, same order).
    let refs: Vec<&SignerKey> = founders.iter().collect();
    assert_eq!(sign_note(text, &refs).expect("signs"), signed);
    // A founder cannot sign twice; Go would replace the signature instead.
    assert_eq!(add_signatures(&signed, &[&founders[1]]), Err(NoteError::DuplicateSigner { key: label(&keys[1]) }));
}

// ---------------------------------------------------------------------------------------------
// Property: what is signed verifies, and no single changed byte survives.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn signed_notes_verify_and_any_changed_byte_is_caught(
        text in "[^\\x00-\\x1f]{0,30}(\n[^\\x00-\\x1f]{0,30}){0,3}\n",
        name in "[a-z0-9.]{1,12}/[a-z0-9-]{1,12}",
        seed in any::<[u8; 32]>(),
        mask in 1u8..=255,
    ) {
        let signer = SignerKey::from_seed(KeyName::parse(&name).expect("generated name"), seed);
        let key = signer.verifier_key();
        let signed = sign_note(&text, &[&signer]).expect("signs");
        let note = parse_note(&signed).expect("parses");
        prop_assert_eq!(note.text(), text.as_str());
        prop_assert!(note.verify(&key).is_ok());
        let mut bytes = signed.into_bytes();
        for index in 0..bytes.len() {
            bytes[index] ^= mask;
            let outcome = parse_note_bytes(&bytes).and_then(|note| note.verify(&key));
            prop_assert!(outcome.is_err(), "byte {} ^ {:#04x} was not caught", index, mask);
            bytes[index] ^= mask;
        }
    }
}
