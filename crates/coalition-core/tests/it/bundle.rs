//! Bundle lines: the fast reading of the lines we write must agree with a general JSON parser on
//! every line, written by us or not.

use coalition_core::bundle::{BundleError, format_line, parse_line, parse_line_bytes};
use proptest::prelude::*;

/// What a general JSON parser reads from a line: the note of `{"note": "<string>"}` and nothing
/// else, or nothing.
fn note_by_serde(line: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let object = value.as_object()?;
    if object.len() != 1 {
        return None;
    }
    object.get("note")?.as_str().map(str::to_owned)
}

/// Pieces a hostile or hand-edited line is made of: every escape JSON has (and some it has
/// not), raw quotes, control characters, non-ASCII text and a lone backslash.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 .:+/=-]{0,12}",
        Just("\\n".to_owned()),
        Just("\\\"".to_owned()),
        Just("\\\\".to_owned()),
        Just("\\/".to_owned()),
        Just("\\t".to_owned()),
        Just("\\r".to_owned()),
        Just("\\b".to_owned()),
        Just("\\f".to_owned()),
        Just("\\u0041".to_owned()),
        Just("\\u00e9".to_owned()),
        Just("\\ud83d\\ude00".to_owned()),
        Just("\\x".to_owned()),
        Just("\\".to_owned()),
        Just("\"".to_owned()),
        Just("\n".to_owned()),
        Just("\u{1}".to_owned()),
        Just("\u{7f}".to_owned()),
        Just("Олена — ✓".to_owned()),
    ]
}

fn frame() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        4 => Just(("{\"note\":\"".to_owned(), "\"}".to_owned())),
        1 => Just(("{ \"note\": \"".to_owned(), "\" }".to_owned())),
        1 => Just(("{\"note\":\"".to_owned(), "\",\"x\":1}".to_owned())),
        1 => Just(("{\"not\":\"".to_owned(), "\"}".to_owned())),
        1 => Just(("[\"".to_owned(), "\"]".to_owned())),
        1 => Just(("{\"note\":\"".to_owned(), "\"} ".to_owned())),
    ]
}

proptest! {
    #[test]
    fn any_note_survives_a_bundle_line(note in any::<String>()) {
        let line = format_line(&note);
        prop_assert_eq!(parse_line(line.trim_end_matches('\n')), Ok(note));
    }

    #[test]
    fn reading_a_line_agrees_with_a_general_json_parser(
        (prefix, suffix) in frame(),
        pieces in proptest::collection::vec(piece(), 0..24),
    ) {
        let line = format!("{prefix}{}{suffix}", pieces.concat());
        prop_assert_eq!(parse_line(&line).ok(), note_by_serde(&line), "line {:?}", line);
    }

    #[test]
    fn reading_a_line_as_bytes_agrees_with_a_general_json_parser_and_refuses_what_is_not_utf8(
        (prefix, suffix) in frame(),
        pieces in proptest::collection::vec(piece(), 0..24),
        // Where to put a byte that is never UTF-8 (0xFF), if anywhere.
        broken_at in proptest::option::of(any::<proptest::sample::Index>()),
    ) {
        let line = format!("{prefix}{}{suffix}", pieces.concat());
        let mut bytes = line.clone().into_bytes();
        match broken_at {
            None => prop_assert_eq!(parse_line_bytes(bytes).ok(), note_by_serde(&line), "line {:?}", line),
            Some(at) => {
                bytes.insert(at.index(bytes.len() + 1), 0xFF);
                prop_assert_eq!(parse_line_bytes(bytes), Err(BundleError::NotUtf8), "line {:?}", line);
            }
        }
    }
}

#[test]
fn the_short_escapes_are_read_as_json_reads_them() {
    let line = r#"{"note":"a\nb\"c\\d\/e\tf\rg\bh\fi"}"#;
    assert_eq!(parse_line(line).as_deref(), Ok("a\nb\"c\\d/e\tf\rg\u{8}h\u{c}i"));
    // Forms our writer never produces still read as JSON says.
    assert_eq!(parse_line(r#"{ "note" : "\u0041" }"#).as_deref(), Ok("A"));
    assert!(parse_line(r#"{"note":"a\"}"#).is_err(), "an escaped closing quote leaves the string open");
    assert!(parse_line("{\"note\":\"a\u{1}\"}").is_err(), "a raw control character");
}
