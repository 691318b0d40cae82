//! The list as CSV (`GET /api/v1/list.csv`): RFC 4180 text, safe to open in a spreadsheet.
//!
//! Names and summaries come from members' events, so a cell is hostile input: a cell starting
//! with `=`, `+`, `-`, `@`, a tab or a carriage return would be read as a formula by spreadsheet
//! programs, so such a cell is prefixed with a single quote (the OWASP advice for CSV injection);
//! then every cell holding a comma, a quote or a line break is quoted, with quotes doubled.
//! Records end with CRLF.
//!
//! **Why a byte order mark.** The file starts with the UTF-8 BOM: without it, spreadsheet
//! programs on Windows read the file in a legacy code page and the Cyrillic names come out as
//! mojibake; CSV parsers (Python's `utf-8-sig`, R, LibreOffice) skip it. Programs that do not want
//! it can strip three bytes, or read `/api/v1/list.json`.

use coalition_projector::ListEntry;
use serde_json::Value;

/// The UTF-8 byte order mark that starts the file.
pub(crate) const BYTE_ORDER_MARK: &str = "\u{feff}";

/// The columns, in order: protocol values, not translated labels, so a script can read them.
pub(crate) const COLUMNS: [&str; 19] = [
    "case",
    "status",
    "status_date",
    "release_circumstances",
    "name_uk",
    "name_en",
    "name_ru",
    "birth_year",
    "gender",
    "region",
    "detention_date",
    "detention_place",
    "case_group",
    "stage",
    "charges",
    "sentence",
    "place_of_detention",
    "criteria",
    "endorsed_by",
];

/// Characters that make a spreadsheet read a cell as a formula when they start it.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One cell, neutralised against formulas and quoted as RFC 4180 requires.
pub(crate) fn cell(text: &str) -> String {
    let guarded = if text.starts_with(FORMULA_STARTS) { format!("'{text}") } else { text.to_owned() };
    if guarded.contains([',', '"', '\n', '\r']) { format!("\"{}\"", guarded.replace('"', "\"\"")) } else { guarded }
}

/// Plain text of a JSON leaf: strings as they are, numbers and booleans written, arrays of
/// strings joined with "; ".
fn plain(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

/// A charge as `code article[ part P][ (note)]`.
fn charge(value: &Value) -> String {
    let mut text = format!("{} {}", plain(&value["code"]), plain(&value["article"]));
    if let Some(part) = value["part"].as_str() {
        text.push_str(&format!(" part {part}"));
    }
    if let Some(note) = value["note"].as_str() {
        text.push_str(&format!(" ({note})"));
    }
    text
}

/// A sentence as `life` or `Ny Mm`, then the regime, then the text.
fn sentence(value: &Value) -> String {
    if value.is_null() {
        return String::new();
    }
    let mut parts = Vec::new();
    if value["life"] == Value::Bool(true) {
        parts.push("life".to_owned());
    } else {
        let term: Vec<String> = [("years", "y"), ("months", "m")]
            .into_iter()
            .filter_map(|(field, unit)| value[field].as_u64().filter(|n| *n > 0).map(|n| format!("{n}{unit}")))
            .collect();
        if !term.is_empty() {
            parts.push(term.join(" "));
        }
    }
    for field in ["regime", "text_en", "text_uk"] {
        if let Some(text) = value[field].as_str() {
            parts.push(text.to_owned());
        }
    }
    parts.join("; ")
}

/// The CSV text of `entries`, with its BOM and header row.
pub(crate) fn write<'a>(entries: impl IntoIterator<Item = &'a ListEntry<'a>>) -> String {
    let mut out = String::from(BYTE_ORDER_MARK);
    out.push_str(&COLUMNS.join(","));
    out.push_str("\r\n");
    for entry in entries {
        let json = entry.to_json();
        let facts = &json["facts"];
        let row: Vec<String> = COLUMNS
            .iter()
            .map(|column| match *column {
                "case" | "status" | "status_date" | "release_circumstances" | "criteria" | "endorsed_by" => {
                    plain(&json[*column])
                }
                "charges" => {
                    facts["charges"].as_array().into_iter().flatten().map(charge).collect::<Vec<_>>().join("; ")
                }
                "sentence" => sentence(&facts["sentence"]),
                field => plain(&facts[field]),
            })
            .map(|text| cell(&text))
            .collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_neutralised_and_quoted() {
        let cases = [
            ("plain", "plain"),
            ("", ""),
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("a,b", "\"a,b\""),
            ("line\nbreak", "\"line\nbreak\""),
            ("Іван \"Ваня\"", "\"Іван \"\"Ваня\"\"\""),
            ("mid=dle", "mid=dle"),
        ];
        for (input, expected) in cases {
            assert_eq!(cell(input), expected, "{input:?}");
        }
    }
}
