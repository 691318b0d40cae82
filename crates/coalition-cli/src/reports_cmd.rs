//! `coalition reports list|show|accept|discard`: members triage the inbox of reports from the
//! public form through their node's member API.
//!
//! The node opens the reports with its identity and answers in JSON; this module only prints
//! them. **Everything a report says was typed by a stranger**, so every text is printed inert:
//! control characters (C0, C1; tabs too; line feeds only in "what happened"), bidirectional
//! controls and other invisible format characters are shown as `\u{…}` and a backslash as `\\`,
//! so a report cannot move the cursor, recolour the terminal, reorder what follows or hide a
//! word. HTML and script are plain text to a terminal and shown as they are. With `--json` the
//! node's JSON is printed with the same characters written as `\uXXXX` escapes: the same
//! strings, still valid JSON, and a program that shows them in HTML must escape them itself.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use coalition_node::{REPORTS_PAGE_MAX, Report};
use coalition_server::AdminToken;
use coalition_server::client::{ClientError, MemberClient};
use coalition_server::report::{Accepted, Inbox};
use serde::Serialize;

use crate::Outcome;
use crate::member::{FactFlags, NODE_DEFAULT, NODE_ENV, TOKEN_FILE_ENV};

/// Reports listed per page unless `--limit` says otherwise.
pub const REPORTS_LIST_DEFAULT: usize = 50;

/// Longest excerpt of "who" and of "where" in `reports list`, in characters.
const EXCERPT_CHARS_MAX: usize = 40;

/// Indentation of the lines of "what happened" in `reports show`.
const WHAT_INDENT: &str = "    ";

/// `coalition reports`: the inbox of reports from the public form.
#[derive(Subcommand)]
pub enum ReportsCommand {
    /// List the inbox, oldest first: id, day received, who and where (shortened), size.
    ///
    /// Also says how full the inbox is: a full inbox makes the public form refuse new reports
    /// until members accept or discard some.
    List(ListArgs),
    /// Show one report, every field, with invisible and control characters made visible.
    Show(ShowArgs),
    /// Accept a report: open a case with the public facts you give, and seal the report (who,
    /// where, what, the reporter's contact and consent) into the new case's file.
    ///
    /// Only what you type in the flags becomes public: the report itself goes into the case only
    /// as a sealed record, readable by member organisations. The report leaves the inbox.
    Accept(Box<AcceptArgs>),
    /// Delete a report from the inbox for good (spam, duplicates). Needs --yes.
    Discard(DiscardArgs),
}

/// How to reach the node and how to print its answer.
#[derive(Args, Debug)]
#[command(next_help_heading = "Connecting to your node")]
pub struct Connection {
    /// Your organisation's node [default: $COALITION_NODE, else http://127.0.0.1:8080].
    #[arg(long, value_name = "URL")]
    node: Option<String>,
    /// The file holding the member API token, the one the node was started with
    /// [default: $COALITION_TOKEN_FILE].
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Print the node's JSON answer on stdout (unusual characters as \uXXXX escapes).
    #[arg(long)]
    json: bool,
}

/// The arguments of `coalition reports list`.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition reports list --token-file admin-token")]
pub struct ListArgs {
    /// List the reports after this id (the last id of the previous page).
    #[arg(long, value_name = "ID")]
    after: Option<String>,
    /// Most reports to list.
    #[arg(long, value_name = "N", default_value_t = REPORTS_LIST_DEFAULT, value_parser = parse_limit)]
    limit: usize,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// The arguments of `coalition reports show`.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition reports show r-4e3a-0123456789abcdef --token-file admin-token")]
pub struct ShowArgs {
    /// The report's id (from `coalition reports list`).
    #[arg(value_name = "ID")]
    id: String,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// The arguments of `coalition reports accept`.
#[derive(Args)]
#[command(after_help = "Example:\n  \
    CASE=$(coalition reports accept r-4e3a-0123456789abcdef --name-uk \"Олена Приклад\" --region crimea \\\n    \
    --token-file admin-token)")]
pub struct AcceptArgs {
    /// The report's id (from `coalition reports list`).
    #[arg(value_name = "ID")]
    id: String,
    /// The public facts of the new case (never the reporter's contact).
    #[command(flatten)]
    facts: FactFlags,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// The arguments of `coalition reports discard`.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition reports discard r-4e3a-0123456789abcdef --yes --token-file admin-token")]
pub struct DiscardArgs {
    /// The report's id (from `coalition reports list`).
    #[arg(value_name = "ID")]
    id: String,
    /// Confirm: the report is deleted for good (it is in no feed; nothing brings it back).
    #[arg(long)]
    yes: bool,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// Parses `--limit`: 1 to [`REPORTS_PAGE_MAX`].
fn parse_limit(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(limit) if (1..=REPORTS_PAGE_MAX).contains(&limit) => Ok(limit),
        _ => Err(format!("give a number from 1 to {REPORTS_PAGE_MAX}")),
    }
}

/// A client of the node, with what messages need to name.
struct Session {
    client: MemberClient,
    node: String,
    token_file: PathBuf,
    json: bool,
}

impl Connection {
    fn connect(&self) -> Result<Session> {
        let from_env = |variable: &str| std::env::var(variable).ok().filter(|value| !value.is_empty());
        let node = self.node.clone().or_else(|| from_env(NODE_ENV)).unwrap_or_else(|| NODE_DEFAULT.to_owned());
        let token_file = self.token_file.clone().or_else(|| from_env(TOKEN_FILE_ENV).map(PathBuf::from)).context(
            "no token file given: use --token-file FILE (or set COALITION_TOKEN_FILE), the file holding the token \
             your node was started with (`coalition node --admin-token-file`)",
        )?;
        let token = AdminToken::from_file(&token_file).map_err(|error| anyhow!("{error} (--token-file)"))?;
        let client = MemberClient::new(&node, token).map_err(|error| anyhow!("{error} (--node)"))?;
        Ok(Session { client, node, token_file, json: self.json })
    }
}

impl Session {
    /// Turns a client error into a message that says what to do.
    fn explain(&self, error: ClientError, id: Option<&str>) -> anyhow::Error {
        let node = &self.node;
        if let ClientError::Unreachable { detail, .. } = &error {
            return anyhow!("no node answers at {node}: is `coalition node` running? (--node) [{detail}]");
        }
        let (Some(status), Some(code), Some(message)) = (error.status(), error.code(), error.server_message()) else {
            return anyhow!("{error}");
        };
        match (status, code) {
            (401, _) => anyhow!(
                "the node refused the token in {}: check --token-file (it must hold the token the node at {node} was \
                 started with)",
                self.token_file.display()
            ),
            (409, "no_identity") => anyhow!(
                "the node at {node} holds no identity, so it cannot open reports: start the node with --identity FILE \
                 (your organisation's age identity, AGE-SECRET-KEY-1...)"
            ),
            (404, _) if message.contains("no such route") => {
                anyhow!("the node at {node} has no member API: it must be started with --key and --admin-token-file")
            }
            (404, _) => match id {
                Some(id) => anyhow!(
                    "no report {} in the inbox: check the id (`coalition reports list`); it may have been accepted \
                     or discarded already",
                    inert(id, false)
                ),
                None => anyhow!("{message}"),
            },
            (400, _) => match error.path() {
                Some(path) => anyhow!("the field {path}: {message}"),
                None => anyhow!("{message}"),
            },
            _ => anyhow!("{error}"),
        }
    }

    /// Prints `value` as JSON with unusual characters escaped ([`json_inert`]).
    fn print_json(&self, value: &impl Serialize) -> Result<()> {
        let text = serde_json::to_string(value).context("cannot write the answer as JSON")?;
        println!("{}", json_inert(&text));
        Ok(())
    }
}

/// Runs `coalition reports ...`.
pub fn run(command: ReportsCommand) -> Result<Outcome> {
    match command {
        ReportsCommand::List(args) => list(&args),
        ReportsCommand::Show(args) => show(&args),
        ReportsCommand::Accept(args) => accept(&args),
        ReportsCommand::Discard(args) => discard(&args),
    }
}

fn list(args: &ListArgs) -> Result<Outcome> {
    let session = args.connection.connect()?;
    let inbox =
        session.client.reports(args.after.as_deref(), args.limit).map_err(|error| session.explain(error, None))?;
    if session.json {
        session.print_json(&inbox)?;
    } else {
        eprint!("{}", inbox_summary(&inbox));
        print!("{}", inbox_lines(&inbox));
        if let Some(last) = inbox.reports.last()
            && inbox.reports.len() >= args.limit
        {
            eprintln!("more may follow: coalition reports list --after {}", inert(&last.entry.id, false));
        }
    }
    Ok(Outcome::Success)
}

/// The sentences above a page of the inbox: how full it is, and whether the node can read it.
fn inbox_summary(inbox: &Inbox) -> String {
    let fill = &inbox.fill;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "inbox: {} of at most {} reports", fill.entries, fill.entries_max);
    if fill.full {
        let _ =
            writeln!(out, "THE INBOX IS FULL: the public form refuses new reports until you accept or discard some");
    }
    if !inbox.can_open {
        let _ = writeln!(
            out,
            "this node holds no identity, so it cannot open the reports: start the node with --identity FILE"
        );
    }
    if inbox.reports.is_empty() {
        let _ = writeln!(out, "no reports on this page");
    }
    out
}

/// One line per report: id, day, who and where shortened, size.
fn inbox_lines(inbox: &Inbox) -> String {
    let mut out = String::new();
    for item in &inbox.reports {
        let entry = &item.entry;
        let about = match &item.report {
            Some(report) => format!(
                "who: {} | where: {}",
                excerpt(&report.who, EXCERPT_CHARS_MAX),
                excerpt(&report.place, EXCERPT_CHARS_MAX)
            ),
            None => "(cannot be opened on this node)".to_owned(),
        };
        let _ = writeln!(out, "{}  {}  {about}  ({} bytes)", inert(&entry.id, false), entry.received, entry.bytes);
    }
    out
}

/// The first `chars_max` characters of `text`, inert, with `…` when shortened.
fn excerpt(text: &str, chars_max: usize) -> String {
    let mut shown: String = text.chars().take(chars_max).collect();
    if text.chars().count() > chars_max {
        shown.push('…');
    }
    inert(&shown, false)
}

fn show(args: &ShowArgs) -> Result<Outcome> {
    let session = args.connection.connect()?;
    let report = session.client.report(&args.id).map_err(|error| session.explain(error, Some(&args.id)))?;
    if session.json {
        session.print_json(&report)?;
    } else {
        print!("{}", describe_report(&args.id, &report));
    }
    Ok(Outcome::Success)
}

/// A report for people, field by field, every text inert.
fn describe_report(id: &str, report: &Report) -> String {
    let mut out = String::new();
    let contact = if report.contact.is_empty() { "(none given)".to_owned() } else { inert(&report.contact, false) };
    let consent = if report.consent { "yes, agrees to be contacted" } else { "no" };
    let _ = writeln!(out, "report     {}", inert(id, false));
    let _ = writeln!(out, "received   {}", inert(&report.received, false));
    let _ = writeln!(out, "who        {}", inert(&report.who, false));
    let _ = writeln!(out, "where      {}", inert(&report.place, false));
    let _ = writeln!(out, "contact    {contact}");
    let _ = writeln!(out, "consent    {consent}");
    let _ = writeln!(out, "what happened:");
    for line in inert(&report.what, true).lines() {
        let _ = writeln!(out, "{WHAT_INDENT}{line}");
    }
    out
}

fn accept(args: &AcceptArgs) -> Result<Outcome> {
    let facts = args.facts.facts()?.context(
        "the new case needs at least a name: give --name-uk or --name-en (and what else is known and may be \
         public; the reporter's contact is sealed into the case, never give it here)",
    )?;
    let session = args.connection.connect()?;
    let accepted: Accepted =
        session.client.accept_report(&args.id, &facts).map_err(|error| session.explain(error, Some(&args.id)))?;
    if session.json {
        session.print_json(&accepted)?;
    } else {
        eprintln!(
            "accepted {}: opened case {} (seq {}) with the public facts; sealed into its case file (seq {}): {}",
            inert(&args.id, false),
            accepted.case,
            accepted.seq,
            accepted.sealed_seq,
            accepted.sealed_fields.join(", ")
        );
        println!("{}", accepted.case);
    }
    Ok(Outcome::Success)
}

fn discard(args: &DiscardArgs) -> Result<Outcome> {
    if !args.yes {
        bail!(
            "discarding deletes report {} for good (it is in no feed: nothing brings it back). Read it first \
             (`coalition reports show`), then run again with --yes",
            inert(&args.id, false)
        );
    }
    let session = args.connection.connect()?;
    session.client.discard_report(&args.id).map_err(|error| session.explain(error, Some(&args.id)))?;
    if session.json {
        session.print_json(&serde_json::json!({ "discarded": args.id }))?;
    } else {
        eprintln!("discarded {}: deleted from the inbox", inert(&args.id, false));
    }
    Ok(Outcome::Success)
}

/// Whether `character` is shown as an escape: control characters (C0, DEL, C1), bidirectional
/// controls, and format characters that show nothing (soft hyphen, zero-width characters, word
/// joiners, invisible operators, fillers, the byte order mark, tags).
pub fn is_unsafe_to_show(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// `text` made inert for a terminal: every character of [`is_unsafe_to_show`] as `\u{…}` (a
/// line feed kept when `multiline`), and `\` as `\\` so an escape cannot be faked.
pub fn inert(text: &str, multiline: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '\n' if multiline => out.push('\n'),
            '\\' => out.push_str("\\\\"),
            _ if is_unsafe_to_show(character) => {
                let _ = write!(out, "\\u{{{:04X}}}", u32::from(character));
            }
            _ => out.push(character),
        }
    }
    out
}

/// Compact JSON with every character of [`is_unsafe_to_show`] written as a `\uXXXX` escape
/// (a surrogate pair beyond U+FFFF). Such characters only occur inside JSON strings, so the
/// text stays valid JSON for the same values.
pub fn json_inert(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for character in json.chars() {
        if is_unsafe_to_show(character) {
            let mut units = [0u16; 2];
            for unit in character.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(character);
        }
    }
    out
}
