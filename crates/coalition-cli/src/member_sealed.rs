//! Sensitive data through the member commands (PROTOCOL §7.1, §14): `case file` (the member
//! view, sealed records opened by the node), `case seal`, `case shred`, and the sealed options
//! `case open|update` share. The node does the sealing; this module only gathers what people
//! typed and prints what the node says, with every text escaped so a hostile record cannot
//! rewrite the terminal.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Result, bail};
use clap::Args;
use coalition_core::body::EventKind;
use coalition_core::event::EventId;
use coalition_core::seal::SealedValue;
use coalition_server::api::CaseFile;
use coalition_server::client::SealedFieldsRequest;

use crate::Outcome;
use crate::member::{Connection, Fields, KIND, Subject, parse_case_id, print_json};

/// What every sealed option says in `--help`.
const SEALED_HEADING: &str = "Sealed (readable only by member nodes, never in the public feed)";

/// Marks a shortened event id in sentences (the full id goes to stdout).
const SHORT_ID_NOTE: &str = "…";

/// Sensitive data about a case, for `case open` and `case update`: sealed by the node into a
/// record only member nodes can read, never written in the public feed.
#[derive(Args, Debug, Default)]
#[command(next_help_heading = SEALED_HEADING)]
pub struct SealedFlags {
    /// How to reach the person's relatives (sealed: readable only by member nodes).
    #[arg(long, value_name = "TEXT")]
    relatives_contact: Option<String>,
    /// How to reach the person's lawyer (sealed: readable only by member nodes).
    #[arg(long, value_name = "TEXT")]
    lawyer_contact: Option<String>,
    /// Health details (sealed: readable only by member nodes).
    #[arg(long, value_name = "TEXT")]
    health: Option<String>,
    /// How to reach whoever reported the case (sealed: readable only by member nodes).
    #[arg(long, value_name = "TEXT")]
    reporter_contact: Option<String>,
    /// Any other sensitive note as NAME=VALUE, like children="two, aged 4 and 7",
    /// address_occupied=..., witnesses=... (sealed: readable only by member nodes). Names are
    /// lowercase letters, digits and _; a name given twice makes a list.
    #[arg(long = "sealed", value_name = "NAME=VALUE", value_parser = parse_field)]
    sealed: Vec<(String, String)>,
}

impl SealedFlags {
    /// The fields to seal (empty when no sealed option was given).
    pub fn fields(&self) -> SealedFieldsRequest {
        let named = [
            ("relatives_contact", &self.relatives_contact),
            ("lawyer_contact", &self.lawyer_contact),
            ("health", &self.health),
            ("reporter_contact", &self.reporter_contact),
        ];
        let pairs = named
            .into_iter()
            .filter_map(|(name, value)| value.as_ref().map(|value| (name.to_owned(), value.clone())))
            .chain(self.sealed.iter().cloned());
        gather(pairs)
    }
}

/// Fields from NAME=VALUE pairs: one value is a text, several of one name a list.
fn gather(pairs: impl IntoIterator<Item = (String, String)>) -> SealedFieldsRequest {
    let mut lists: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in pairs {
        lists.entry(name).or_default().push(value);
    }
    lists
        .into_iter()
        .map(|(name, mut values)| {
            let value = if values.len() == 1 { SealedValue::Text(values.remove(0)) } else { SealedValue::List(values) };
            (name, value)
        })
        .collect()
}

/// Parses `NAME=VALUE` (the value may hold `=`; the node checks the name and the text).
fn parse_field(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_owned(), value.to_owned())),
        _ => Err("give the field as NAME=VALUE, like phone=\"+380 44 123 45 67\"".to_owned()),
    }
}

/// The names of sealed fields, for a sentence.
pub fn names(fields: &SealedFieldsRequest) -> String {
    fields.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
}

/// Writes every control character (line feeds included) and every bidirectional control as an
/// escape, so a record typed by anyone prints as inert text on one line.
pub fn escape_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        let bidi = matches!(
            character,
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
        );
        match character {
            '\n' => escaped.push_str("\\n"),
            '\t' => escaped.push_str("\\t"),
            '\\' => escaped.push_str("\\\\"),
            _ if character.is_control() || bidi => {
                let _ = write!(escaped, "\\u{{{:04x}}}", u32::from(character));
            }
            _ => escaped.push(character),
        }
    }
    escaped
}

/// The arguments of `coalition case file`.
#[derive(Args)]
#[command(after_help = "Shows the case's sealed records as your node opens them: contacts, health, sensitive signs, \
    deliberation. Records whose key was shredded, or that this node cannot open, are listed as such.\n\n\
    Example:\n  coalition case file \"$CASE\" --token-file admin-token")]
pub struct CaseFileArgs {
    /// The case id.
    #[arg(value_name = "CASE", value_parser = parse_case_id)]
    case: EventId,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// The arguments of `coalition case seal`.
#[derive(Args)]
#[command(after_help = "The record is encrypted to the member organisations and signed in your feed: the public \
    sees only that a sealed record exists.\n\n\
    Example:\n  coalition case seal \"$CASE\" --kind case.updated --field relatives_contact=\"+380 44 123 45 67\" \\\n    \
    --field witnesses=\"Petro\" --field witnesses=\"Oksana\" --token-file admin-token")]
pub struct CaseSealArgs {
    /// The case id.
    #[arg(value_name = "CASE", value_parser = parse_case_id)]
    case: EventId,
    /// What the record is, as an event kind, like case.updated or sign.noted.
    #[arg(long, value_name = "KIND", value_parser = KIND)]
    kind: EventKind,
    /// A field as NAME=VALUE. Repeat for several; a name given twice makes a list.
    #[arg(long = "field", value_name = "NAME=VALUE", value_parser = parse_field, required = true)]
    fields: Vec<(String, String)>,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// The arguments of `coalition case shred`.
#[derive(Args)]
#[command(after_help = "IRREVERSIBLE: signs `sealed.shredded` naming every data key of the case, and every member \
    node destroys them: the case's sealed records can never be read again by anyone who follows the protocol. \
    Copies someone kept outside the protocol are not affected.\n\n\
    Example:\n  coalition case shred \"$CASE\" --yes --token-file admin-token")]
pub struct CaseShredArgs {
    /// The case id.
    #[arg(value_name = "CASE", value_parser = parse_case_id)]
    case: EventId,
    /// Confirms that the sealed records of the case are to be destroyed for good.
    #[arg(long)]
    yes: bool,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// Runs `coalition case file`.
pub fn file(args: &CaseFileArgs) -> Result<Outcome> {
    let session = args.connection.connect()?;
    let file = session
        .client
        .case_file(&args.case)
        .map_err(|error| session.explain(error, Subject::Case(args.case), Fields::Flags))?;
    if session.json {
        print_json(&file)?;
    } else {
        print!("{}", describe_file(&file));
    }
    Ok(Outcome::Success)
}

/// Runs `coalition case seal`.
pub fn seal(args: &CaseSealArgs) -> Result<Outcome> {
    let fields = gather(args.fields.iter().cloned());
    let session = args.connection.connect()?;
    let receipt = session
        .client
        .seal(&args.case, args.kind, &fields)
        .map_err(|error| session.explain(error, Subject::Case(args.case), Fields::Json))?;
    if session.json {
        print_json(&receipt)?;
    } else {
        eprintln!(
            "sealed: {} ({}) in a sealed record, seq {}, id {}{SHORT_ID_NOTE}: readable only by member nodes",
            args.kind,
            names(&fields),
            receipt.seq,
            receipt.id.short()
        );
        println!("{}", receipt.id);
    }
    Ok(Outcome::Success)
}

/// Runs `coalition case shred`.
pub fn shred(args: &CaseShredArgs) -> Result<Outcome> {
    if !args.yes {
        bail!(
            "shredding is irreversible: every member node destroys the data keys of case {}, and its sealed \
             records can never be read again. Nothing was done; add --yes to shred",
            args.case
        );
    }
    let session = args.connection.connect()?;
    let shredded = session
        .client
        .shred(&args.case)
        .map_err(|error| session.explain(error, Subject::Case(args.case), Fields::Flags))?;
    if session.json {
        print_json(&shredded)?;
    } else {
        eprintln!(
            "shredded: the sealed records of case {} can no longer be read ({} sealed.shredded event(s) signed)",
            args.case.short(),
            shredded.events.len()
        );
        for event in &shredded.events {
            println!("{}", event.id);
        }
    }
    Ok(Outcome::Success)
}

/// A case file for people: one block per record, every text escaped.
fn describe_file(file: &CaseFile) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "case {}: {} sealed record(s)", file.case, file.records.len());
    if file.records.is_empty() {
        let _ = writeln!(out, "no sealed record of this case is known to this node");
    }
    for record in &file.records {
        let _ = writeln!(out, "\n{} seq {} by {} at {}", record.event, record.seq, record.org, record.time);
        match (record.status.as_str(), record.kind, &record.fields) {
            ("opened", Some(kind), Some(fields)) => {
                let _ = writeln!(out, "  kind  {kind}");
                for (name, value) in fields {
                    let name = escape_text(name);
                    match value {
                        SealedValue::Text(text) => {
                            let _ = writeln!(out, "  {name}: {}", escape_text(text));
                        }
                        SealedValue::List(items) => {
                            let _ = writeln!(out, "  {name}:");
                            for item in items {
                                let _ = writeln!(out, "    - {}", escape_text(item));
                            }
                        }
                    }
                }
            }
            ("shredded", ..) => {
                let _ = writeln!(out, "  shredded: its key was destroyed, nobody can read it any more");
            }
            _ => {
                let _ = writeln!(out, "  cannot be opened by this node");
            }
        }
    }
    out
}
