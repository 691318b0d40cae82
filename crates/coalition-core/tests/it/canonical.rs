//! Canonical JSON: the RFC 8785 vectors, one rejected example per rejection class, and property
//! tests showing that `check_canonical` accepts exactly the texts `to_canonical_profile` produces.

use std::hash::{DefaultHasher, Hash, Hasher};

use coalition_core::canonical::{
    CanonicalError, NotCanonicalReason, ProfileViolation, check_canonical, to_canonical, to_canonical_profile,
};
use coalition_core::limits::{JSON_DEPTH_MAX, JSON_INTEGER_MAX};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::{Value, json};

/// One RFC 8785 test case of cyberphone/json-canonicalization (see tests/data/jcs/SOURCES.md).
struct Vector {
    name: &'static str,
    input: &'static [u8],
    output: &'static [u8],
    outhex: &'static str,
}

macro_rules! vector {
    ($name:literal) => {
        Vector {
            name: $name,
            input: include_bytes!(concat!("../data/jcs/input/", $name, ".json")),
            output: include_bytes!(concat!("../data/jcs/output/", $name, ".json")),
            outhex: include_str!(concat!("../data/jcs/outhex/", $name, ".txt")),
        }
    };
}

const VECTORS: [Vector; 6] = [
    vector!("arrays"),
    vector!("french"),
    vector!("structures"),
    vector!("unicode"),
    vector!("values"),
    vector!("weird"),
];

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("test input is valid JSON")
}

fn rejection(json: &[u8]) -> Option<(usize, NotCanonicalReason)> {
    match check_canonical(json) {
        Ok(()) => None,
        Err(CanonicalError::NotCanonical { offset, reason }) => Some((offset, reason)),
        Err(other) => panic!("check_canonical returned an unexpected error kind: {other:?}"),
    }
}

/// The independent definition of "canonical": the bytes parse, and re-serialising the parsed
/// value under the profile yields the same bytes.
fn is_profile_canonical(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|value| to_canonical_profile(&value).ok())
        .is_some_and(|text| text.as_bytes() == bytes)
}

fn canonical_profile(value: &Value) -> String {
    to_canonical_profile(value).expect("value is inside the profile")
}

// ---------------------------------------------------------------------------------------------
// RFC 8785 vectors

#[test]
fn rfc8785_vectors_canonicalise_byte_for_byte() {
    for vector in &VECTORS {
        let hex_bytes: Vec<u8> = vector
            .outhex
            .split_whitespace()
            .map(|pair| u8::from_str_radix(pair, 16).expect("outhex holds hex bytes"))
            .collect();
        assert_eq!(hex_bytes, vector.output, "{}: outhex and output disagree", vector.name);

        let canonical = to_canonical(&parse(vector.input)).expect("vectors canonicalise");
        assert_eq!(
            canonical.as_bytes(),
            vector.output,
            "{}: to_canonical differs from the expected output",
            vector.name
        );
        // Canonicalisation is idempotent.
        let again = to_canonical(&parse(vector.output)).expect("outputs canonicalise");
        assert_eq!(again.as_bytes(), vector.output, "{}", vector.name);
    }
}

#[test]
fn checker_accepts_the_integer_only_vector_outputs_and_rejects_the_float_one() {
    let mut outside_profile = Vec::new();
    for vector in &VECTORS {
        let value = parse(vector.output);
        match to_canonical_profile(&value) {
            Ok(text) => {
                assert_eq!(text.as_bytes(), vector.output, "{}", vector.name);
                assert_eq!(check_canonical(vector.output), Ok(()), "{}", vector.name);
            }
            Err(error) => {
                assert!(
                    matches!(error, CanonicalError::OutsideProfile { reason: ProfileViolation::NotAnInteger, .. }),
                    "{}: {error:?}",
                    vector.name
                );
                outside_profile.push(vector.name);
            }
        }
    }
    // Only values.json has fractions and exponents in its output (333333333.3333333, 1e+30, ...);
    // structures.json's 56.0 is written 56 in the output, an integer.
    assert_eq!(outside_profile, ["values"]);

    let values = VECTORS[4].output;
    let first_fraction = values
        .windows(10)
        .position(|window| window == b"333333333.")
        .expect("values.json output holds 333333333.3333333")
        + 9;
    assert_eq!(rejection(values), Some((first_fraction, NotCanonicalReason::NotAnInteger)));
}

#[test]
fn profile_refuses_floats_even_integral_ones() {
    // structures.json's input writes 56.0, a float to serde_json: canonical JCS turns it into 56,
    // but the profile wants integers from the producer.
    let structures = parse(VECTORS[2].input);
    assert_eq!(
        to_canonical_profile(&structures),
        Err(CanonicalError::OutsideProfile { pointer: "/1/\n".into(), reason: ProfileViolation::NotAnInteger })
    );
}

// ---------------------------------------------------------------------------------------------
// to_canonical_profile

fn nested_arrays(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!([inner]))
}

fn nested_objects(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!({ "k": inner }))
}

#[test]
fn profile_accepts_its_boundaries() {
    let max = JSON_INTEGER_MAX as i64;
    assert_eq!(
        to_canonical_profile(&json!({"max": max, "min": -max, "zero": 0, "u": JSON_INTEGER_MAX})),
        Ok(format!(r#"{{"max":{max},"min":-{max},"u":{max},"zero":0}}"#))
    );
    for value in [nested_arrays(JSON_DEPTH_MAX), nested_objects(JSON_DEPTH_MAX)] {
        let text = canonical_profile(&value);
        assert_eq!(check_canonical(text.as_bytes()), Ok(()));
    }
}

#[test]
fn profile_refuses_values_outside_it_and_says_where() {
    let max = JSON_INTEGER_MAX as i64;
    let cases = [
        (json!(1.5), "", ProfileViolation::NotAnInteger),
        (json!(-0.0), "", ProfileViolation::NotAnInteger),
        (json!([1, 2.0]), "/1", ProfileViolation::NotAnInteger),
        (json!({"a/b": {"~": [0, 1e3]}}), "/a~1b/~0/1", ProfileViolation::NotAnInteger),
        (json!(max + 1), "", ProfileViolation::IntegerOutOfRange),
        (json!(-max - 1), "", ProfileViolation::IntegerOutOfRange),
        (json!(i64::MIN), "", ProfileViolation::IntegerOutOfRange),
        (json!({"n": u64::MAX}), "/n", ProfileViolation::IntegerOutOfRange),
        (nested_arrays(JSON_DEPTH_MAX + 1), "/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0", ProfileViolation::TooDeep),
        (nested_objects(JSON_DEPTH_MAX + 1), "/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k/k", ProfileViolation::TooDeep),
    ];
    for (value, pointer, reason) in cases {
        assert_eq!(
            to_canonical_profile(&value),
            Err(CanonicalError::OutsideProfile { pointer: pointer.into(), reason }),
            "{value}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// check_canonical: accepted and rejected examples

#[test]
fn checker_accepts_canonical_texts() {
    let deep = format!("{}1{}", "[".repeat(JSON_DEPTH_MAX), "]".repeat(JSON_DEPTH_MAX));
    let accepted: Vec<&[u8]> = vec![
        b"0",
        b"-1",
        b"9007199254740991",
        b"-9007199254740991",
        b"true",
        b"false",
        b"null",
        b"\"\"",
        b"[]",
        b"{}",
        br#"{"":[],"a":{}}"#,
        br#"[1,"a",true,false,null,[],{}]"#,
        br#""\u0000\u001f\b\t\n\f\r\"\\/""#,
        "\"\u{7f}\u{80}é\u{2028}\u{ffff}😂\u{10ffff}\"".as_bytes(),
        // UTF-16 order: U+1F602 is D83D DE02, before U+E000, though its UTF-8 sorts after.
        "{\"😂\":1,\"\u{e000}\":2}".as_bytes(),
        "{\"\u{10000}\":1,\"\u{ffff}\":2}".as_bytes(),
        // Order of unescaped keys: "\n" is U+000A, before "A", though '\' sorts after 'A'.
        br#"{"\n":1,"A":2}"#,
        br##"{"\"":1,"#":2}"##,
        br#"{"a":1,"aa":2,"b":3}"#,
        deep.as_bytes(),
    ];
    for text in accepted {
        assert_eq!(check_canonical(text), Ok(()), "{:?}", String::from_utf8_lossy(text));
        assert!(is_profile_canonical(text), "{:?}", String::from_utf8_lossy(text));
    }
}

#[test]
fn checker_rejects_each_deviation_with_its_reason_and_offset() {
    use NotCanonicalReason::*;
    let too_deep_arrays = format!("{}1{}", "[".repeat(JSON_DEPTH_MAX + 1), "]".repeat(JSON_DEPTH_MAX + 1));
    let too_deep_objects = serde_json::to_string(&nested_objects(JSON_DEPTH_MAX + 1)).expect("serialises");
    let too_deep_objects_offset = JSON_DEPTH_MAX * r#"{"k":"#.len();
    let cases: Vec<(&[u8], usize, NotCanonicalReason)> = vec![
        // empty input
        (b"", 0, EmptyInput),
        // whitespace outside strings
        (br#"{"a": 1}"#, 5, Whitespace),
        (br#"{"a" :1}"#, 4, Whitespace),
        (br#"{ "a":1}"#, 1, Whitespace),
        (b" 1", 0, Whitespace),
        (b"1\n", 1, Whitespace),
        (b"[1,\t2]", 3, Whitespace),
        (b"[1\r]", 2, Whitespace),
        // key order (by UTF-16 code units of the unescaped key)
        (br#"{"b":1,"a":2}"#, 7, KeysOutOfOrder),
        (br#"{"aa":1,"a":2}"#, 8, KeysOutOfOrder),
        ("{\"\u{e000}\":1,\"😂\":2}".as_bytes(), 9, KeysOutOfOrder),
        ("{\"\u{ffff}\":1,\"\u{10000}\":2}".as_bytes(), 9, KeysOutOfOrder),
        (br#"{"A":1,"\n":2}"#, 7, KeysOutOfOrder),
        (br#"{"a":{"y":1,"x":2}}"#, 12, KeysOutOfOrder),
        // duplicate keys
        (br#"{"a":1,"a":2}"#, 7, DuplicateKey),
        (br#"{"\n":1,"\n":2}"#, 8, DuplicateKey),
        (br#"{"a":1,"b":2,"b":3}"#, 13, DuplicateKey),
        // escapes: not the JCS form
        (br#""\/""#, 1, UnneededEscape),
        (br#""a\u0041""#, 2, UnneededEscape),
        (br#""\u00e9""#, 1, UnneededEscape),
        (br#""\u2028""#, 1, UnneededEscape),
        (br#""\u007f""#, 1, UnneededEscape),
        (br#""\ud83d\ude02""#, 1, UnneededEscape),
        (br#""\u001F""#, 1, WrongEscapeForm),
        (br#""\u000a""#, 1, WrongEscapeForm),
        (br#""\u0009""#, 1, WrongEscapeForm),
        (br#""\u0022""#, 1, WrongEscapeForm),
        (br#""\u005c""#, 1, WrongEscapeForm),
        (br#"{"\u000A":1}"#, 2, WrongEscapeForm),
        // escapes: not JSON at all
        (br#""a\x""#, 2, InvalidEscape),
        (br#""\u00g1""#, 1, InvalidEscape),
        (br#""\U0041""#, 1, InvalidEscape),
        (b"\"\\\x01\"", 1, InvalidEscape),
        // raw control characters inside strings
        (b"\"a\tb\"", 2, RawControlCharacter),
        (b"\"\x00\"", 1, RawControlCharacter),
        (b"\"\x1f\"", 1, RawControlCharacter),
        (b"{\"\n\":1}", 2, RawControlCharacter),
        // invalid UTF-8 inside strings
        (b"\"\xff\"", 1, InvalidUtf8),
        (b"\"ab\x80\"", 3, InvalidUtf8),
        (b"\"\xc0\x80\"", 1, InvalidUtf8),
        (b"\"\xc1\xbf\"", 1, InvalidUtf8),
        (b"\"\xe0\x80\xaf\"", 1, InvalidUtf8),
        (b"\"\xed\xa0\x80\"", 1, InvalidUtf8),
        (b"\"\xf0\x8f\xbf\xbf\"", 1, InvalidUtf8),
        (b"\"\xf4\x90\x80\x80\"", 1, InvalidUtf8),
        (b"\"\xf5\x80\x80\x80\"", 1, InvalidUtf8),
        (b"\"\xe2\x82\"", 1, InvalidUtf8),
        (b"\"\xf0\x9f\x98\"", 1, InvalidUtf8),
        (b"\"\xe2\x82", 1, InvalidUtf8),
        // numbers that are not canonical integers
        (b"-0", 0, NegativeZero),
        (b"[-0]", 1, NegativeZero),
        (b"01", 0, LeadingZero),
        (b"00", 0, LeadingZero),
        (b"-01", 1, LeadingZero),
        (b"1.0", 1, NotAnInteger),
        (b"0.5", 1, NotAnInteger),
        (b"-1.5", 2, NotAnInteger),
        (b"1e3", 1, NotAnInteger),
        (b"1E3", 1, NotAnInteger),
        (b"[1e+30]", 2, NotAnInteger),
        (b"-0.0", 2, NotAnInteger),
        (b"+1", 0, MalformedNumber),
        (b".5", 0, MalformedNumber),
        (b"[-]", 1, MalformedNumber),
        (b"-a", 0, MalformedNumber),
        (b"9007199254740992", 0, IntegerOutOfRange),
        (b"-9007199254740992", 0, IntegerOutOfRange),
        (b"[123456789012345678901234567890]", 1, IntegerOutOfRange),
        // literals other than exactly true, false, null
        (b"True", 0, InvalidLiteral),
        (b"nul", 0, InvalidLiteral),
        (b"nulll", 0, InvalidLiteral),
        (b"[truex]", 1, InvalidLiteral),
        (b"[fals]", 1, InvalidLiteral),
        (b"NaN", 0, InvalidLiteral),
        (b"Infinity", 0, InvalidLiteral),
        (b"undefined", 0, InvalidLiteral),
        // trailing bytes after the value
        (b"{}x", 2, TrailingBytes),
        (b"{}{}", 2, TrailingBytes),
        (b"1]", 1, TrailingBytes),
        (b"\"a\"\"b\"", 3, TrailingBytes),
        (b"[]\x00", 2, TrailingBytes),
        // nesting beyond the limit
        (too_deep_arrays.as_bytes(), JSON_DEPTH_MAX, TooDeep),
        (too_deep_objects.as_bytes(), too_deep_objects_offset, TooDeep),
        // other syntax errors
        (br#"{"a"1}"#, 4, UnexpectedByte),
        (b"[1,]", 3, UnexpectedByte),
        (br#"{"a":1,}"#, 7, UnexpectedByte),
        (b"{1:2}", 1, UnexpectedByte),
        (b"{,}", 1, UnexpectedByte),
        (br#"{"a":1]"#, 6, UnexpectedByte),
        (b"[1}", 2, UnexpectedByte),
        (b"[1:2]", 2, UnexpectedByte),
        ("[é]".as_bytes(), 1, UnexpectedByte),
        (b"\xef\xbb\xbf{}", 0, UnexpectedByte),
        (b"/", 0, UnexpectedByte),
        (b"]", 0, UnexpectedByte),
        // input ending inside a value
        (b"[", 1, UnexpectedEnd),
        (b"[1", 2, UnexpectedEnd),
        (b"[1,", 3, UnexpectedEnd),
        (b"{", 1, UnexpectedEnd),
        (br#"{"a""#, 4, UnexpectedEnd),
        (br#"{"a":"#, 5, UnexpectedEnd),
        (b"\"abc", 4, UnexpectedEnd),
        (b"\"\\", 2, UnexpectedEnd),
        (br#""\u00"#, 5, UnexpectedEnd),
        (b"-", 1, UnexpectedEnd),
    ];
    for (text, offset, reason) in cases {
        let shown = String::from_utf8_lossy(text);
        assert_eq!(rejection(text), Some((offset, reason)), "{shown:?}");
        // The independent definition agrees that none of these is canonical.
        assert!(!is_profile_canonical(text), "{shown:?}");
    }
}

#[test]
fn rejection_messages_say_what_and_where() {
    let error = check_canonical(br#"{"a": 1}"#).expect_err("whitespace is not canonical");
    assert_eq!(
        error.to_string(),
        "not canonical JSON at byte 5: whitespace outside a string (canonical JSON has none)"
    );
    let error = to_canonical_profile(&json!({"n": 0.5})).expect_err("floats are outside");
    assert!(error.to_string().contains("\"/n\""), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Exhaustive single-byte mutations of hand-picked canonical texts

/// Bytes worth trying in mutations: JSON's structural bytes, digits and number signs, letters of
/// the literals and escapes, whitespace, and bytes that start or break UTF-8 sequences.
const INTERESTING_BYTES: &[u8] =
    b"\"\\:,{}[]0123456789-+.eE tfnrulsaxAF\n\t\r/\x00\x1f\x7f\x80\xbf\xc2\xe0\xed\xee\xef\xf0\xf4\xff";

/// Every text obtained from `text` by replacing one byte with another of `bytes`, inserting one
/// of `bytes`, or deleting one byte.
fn single_byte_mutations<'a>(text: &'a [u8], bytes: &'a [u8]) -> impl Iterator<Item = Vec<u8>> + 'a {
    let replaced = (0..text.len()).flat_map(move |pos| {
        bytes.iter().filter(move |&&byte| text.get(pos) != Some(&byte)).map(move |&byte| {
            let mut mutated = text.to_vec();
            mutated[pos] = byte;
            mutated
        })
    });
    let inserted = (0..=text.len()).flat_map(move |pos| {
        bytes.iter().map(move |&byte| {
            let mut mutated = text.to_vec();
            mutated.insert(pos, byte);
            mutated
        })
    });
    let deleted = (0..text.len()).map(move |pos| {
        let mut mutated = text.to_vec();
        mutated.remove(pos);
        mutated
    });
    replaced.chain(inserted).chain(deleted)
}

fn assert_checker_agrees(text: &[u8]) {
    assert_eq!(
        check_canonical(text).is_ok(),
        is_profile_canonical(text),
        "checker and re-serialisation disagree on {:?} (checker says {:?})",
        String::from_utf8_lossy(text),
        check_canonical(text)
    );
}

/// A line shaped like a real event (about 600 bytes): what the checker sees during replay.
fn event_like_line() -> String {
    canonical_profile(&json!({
        "body": {
            "case": "case-2024-0193",
            "claims": [
                {
                    "location": "Kharkiv oblast, Tsyrkuny",
                    "summary": "Detention of three civilians at a checkpoint;\nnames on file (\"withheld\").",
                    "witnesses": 3
                },
                {"location": "Izium", "summary": "Photographs of the damaged school, metadata kept.", "witnesses": 1}
            ],
            "language": "uk",
            "tags": ["detention", "école", "свідок", "😂"]
        },
        "deps": ["b3a1c6f0e2d4b5a6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4"],
        "kind": "testimony.recorded",
        "ledger": "8c0f2b1d9e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c",
        "org": "kharkiv-hrg",
        "prev": "5d4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e6d5c4b3a2918070605",
        "seq": 1842,
        "time": "2024-11-28T10:06:00Z"
    }))
}

#[test]
fn checker_never_accepts_a_single_byte_mutation_that_is_not_canonical() {
    let max = JSON_INTEGER_MAX as i64;
    let every_byte: Vec<u8> = (0..=u8::MAX).collect();
    let tricky = canonical_profile(&json!({
        "": 0,
        "\n": "\u{1f}\"\\/",
        "A": [-max, max, 0, -1, 10],
        "a": {"b": [true, false, null]},
        "é": "😂\u{2028}",
        "😂": 1,
        "\u{e000}": 2,
        "\u{ffff}": {},
    }));
    // The tricky text really exercises UTF-16 order.
    assert!(tricky.contains("\"😂\":1,\"\u{e000}\":2"), "{tricky}");
    let deep = canonical_profile(&nested_arrays(JSON_DEPTH_MAX));
    let event = event_like_line();
    // Every byte value on the short texts; on the long event line, the interesting bytes only,
    // to keep the test fast in debug builds.
    let cases = [(&tricky, &every_byte[..]), (&deep, &every_byte[..]), (&event, INTERESTING_BYTES)];
    let mut accepted_mutations = 0usize;
    for (text, bytes) in cases {
        assert_eq!(check_canonical(text.as_bytes()), Ok(()));
        for mutated in single_byte_mutations(text.as_bytes(), bytes) {
            assert_checker_agrees(&mutated);
            accepted_mutations += usize::from(check_canonical(&mutated).is_ok());
        }
    }
    // Many mutations (a letter in a string, a digit) stay canonical; the test must see them.
    assert!(accepted_mutations > 1000, "{accepted_mutations}");
}

// ---------------------------------------------------------------------------------------------
// Property tests

/// Characters for strings, biased towards those that need care: escapes, controls, the
/// UTF-16 ordering trap (U+E000..U+FFFF vs astral), line separators.
fn string_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        3 => proptest::char::range('\u{0}', '\u{7f}'),
        2 => select(vec![
            '"', '\\', '/', '\u{0}', '\u{8}', '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1f}',
            '\u{7f}', '\u{80}', 'é', '\u{2028}', '\u{d7ff}', '\u{e000}', '\u{fb33}', '\u{ffff}',
            '\u{10000}', '😂', '\u{10ffff}',
        ]),
    ]
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(string_char(), 0..10).prop_map(String::from_iter)
}

/// Keys from a small alphabet, so that objects often hold keys sharing prefixes and keys whose
/// UTF-8 and UTF-16 orders differ.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        proptest::collection::vec(
            select(vec!['a', 'b', 'A', '\n', '"', '\\', 'é', '\u{e000}', '\u{ffff}', '\u{10000}', '😂']),
            0..4
        )
        .prop_map(String::from_iter),
    ]
}

fn integer() -> impl Strategy<Value = i64> {
    let max = JSON_INTEGER_MAX as i64;
    prop_oneof![-max..=max, -1000i64..=1000, select(vec![0, 1, -1, 9, 10, max, -max, max - 1, 1 - max]),]
}

fn profile_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        integer().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Writes `value` as compact JSON with the members of each object in an order chosen by `seed`
/// (not necessarily canonical); strings and numbers are written as JCS writes them.
fn write_with_key_order(value: &Value, seed: u64, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_with_key_order(item, seed, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut ordered: Vec<(&String, &Value)> = members.iter().collect();
            ordered.sort_by_key(|(key, _)| {
                let mut hasher = DefaultHasher::new();
                (seed, key).hash(&mut hasher);
                hasher.finish()
            });
            out.push('{');
            for (index, (key, member)) in ordered.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).expect("strings serialise"));
                out.push(':');
                write_with_key_order(member, seed, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&canonical_profile(scalar)),
    }
}

/// The bytes of the random-mutation property: any byte, or one of [`INTERESTING_BYTES`].
fn mutation_byte() -> impl Strategy<Value = u8> {
    prop_oneof![any::<u8>(), select(INTERESTING_BYTES)]
}

#[derive(Debug, Clone, Copy)]
enum Mutation {
    Replace(Index, u8),
    Insert(Index, u8),
    Delete(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), mutation_byte()).prop_map(|(at, byte)| Mutation::Replace(at, byte)),
        (any::<Index>(), mutation_byte()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        any::<Index>().prop_map(Mutation::Delete),
    ]
}

fn apply(mutation: Mutation, text: &[u8]) -> Vec<u8> {
    let mut mutated = text.to_vec();
    if text.is_empty() {
        return mutated;
    }
    match mutation {
        Mutation::Replace(at, byte) => mutated[at.index(text.len())] = byte,
        Mutation::Insert(at, byte) => mutated.insert(at.index(text.len() + 1), byte),
        Mutation::Delete(at) => {
            mutated.remove(at.index(text.len()));
        }
    }
    mutated
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// (a) Whatever the profile serialiser writes, the checker accepts.
    #[test]
    fn checker_accepts_what_the_profile_serialiser_writes(value in profile_value()) {
        let text = canonical_profile(&value);
        prop_assert_eq!(check_canonical(text.as_bytes()), Ok(()), "{}", text);
    }

    /// (b) Other serialisations of the same value are accepted only where they coincide with
    /// the canonical text: serde_json's pretty and compact output, and random key orders.
    #[test]
    fn checker_rejects_other_serialisations(value in profile_value(), seed in any::<u64>()) {
        let canonical = canonical_profile(&value);

        let pretty = serde_json::to_string_pretty(&value).expect("serialises");
        prop_assert_eq!(check_canonical(pretty.as_bytes()).is_ok(), pretty == canonical, "{}", pretty);
        if pretty != canonical {
            prop_assert_eq!(
                rejection(pretty.as_bytes()).map(|(_, reason)| reason),
                Some(NotCanonicalReason::Whitespace)
            );
        }

        // serde_json sorts keys by bytes, which differs from RFC 8785 for astral characters.
        let compact = serde_json::to_string(&value).expect("serialises");
        prop_assert_eq!(check_canonical(compact.as_bytes()).is_ok(), compact == canonical, "{}", compact);
        if compact != canonical {
            prop_assert_eq!(
                rejection(compact.as_bytes()).map(|(_, reason)| reason),
                Some(NotCanonicalReason::KeysOutOfOrder)
            );
        }

        let mut reordered = String::new();
        write_with_key_order(&value, seed, &mut reordered);
        prop_assert_eq!(check_canonical(reordered.as_bytes()).is_ok(), reordered == canonical, "{}", reordered);
        if reordered != canonical {
            prop_assert_eq!(
                rejection(reordered.as_bytes()).map(|(_, reason)| reason),
                Some(NotCanonicalReason::KeysOutOfOrder)
            );
        }
    }

    /// (c) A single-byte mutation of a canonical text is accepted only if it is itself the
    /// canonical text of what it encodes, and always accepted if it is.
    #[test]
    fn checker_accepts_a_mutated_text_only_if_it_is_canonical(
        value in profile_value(),
        mutations in proptest::collection::vec(mutation(), 1..48),
    ) {
        let text = canonical_profile(&value);
        for mutation in mutations {
            let mutated = apply(mutation, text.as_bytes());
            prop_assert_eq!(
                check_canonical(&mutated).is_ok(),
                is_profile_canonical(&mutated),
                "{:?} from {:?}", String::from_utf8_lossy(&mutated), text
            );
        }
    }

    /// Nesting around the depth limit: accepted exactly when the profile accepts the value.
    #[test]
    fn checker_and_profile_agree_on_depth(
        value in profile_value(),
        layers in 0..=JSON_DEPTH_MAX + 4,
        use_objects in any::<bool>(),
    ) {
        let wrapped = (0..layers).fold(value, |inner, _| {
            if use_objects { json!({ "k": inner }) } else { json!([inner]) }
        });
        let text = to_canonical(&wrapped).expect("serialises");
        match to_canonical_profile(&wrapped) {
            Ok(profile_text) => {
                prop_assert_eq!(&profile_text, &text);
                prop_assert_eq!(check_canonical(text.as_bytes()), Ok(()));
            }
            Err(error) => {
                prop_assert!(
                    matches!(error, CanonicalError::OutsideProfile { reason: ProfileViolation::TooDeep, .. }),
                    "{:?}", error
                );
                prop_assert_eq!(
                    rejection(text.as_bytes()).map(|(_, reason)| reason),
                    Some(NotCanonicalReason::TooDeep)
                );
            }
        }
    }
}
