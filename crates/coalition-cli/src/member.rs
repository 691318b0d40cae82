//! The member commands: change the joint list through your organisation's running node.
//!
//! `case`, `criterion`, `sign note`, `exclusion`, `person`, `member`, `pending` and `event` send
//! one request each to the node's member API with [`MemberClient`]; the node checks the body,
//! refuses changes that would have no effect, signs the event with the organisation's key and
//! stores it before answering. Nothing here decides a protocol rule: values are only parsed
//! (a date, a criterion letter, a region, an id) so a typo is caught before anything is sent,
//! with the allowed values in the message. Every answer is printed in one sentence on stderr,
//! with the event id alone on stdout for scripts, or as the node's JSON with `--json`.
//!
//! Sensitive data (a sensitive sign, contacts, health, deliberation, `--sealed NAME=VALUE`) is
//! sent beside the public fields and sealed by the node; `member_sealed` holds the sealed
//! options and `case file|seal|shred`.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Args, Subcommand};
use coalition_core::body::{
    BIRTH_YEAR_MAX, BIRTH_YEAR_MIN, Charge, ChargeCode, Criterion, EventKind, ExclusionGround, FactField, Facts,
    Gender, Region, ReleaseCircumstances, SENSITIVE_SIGNS, Sign, Stage,
};
use coalition_core::event::{EventId, OrgSlug};
use coalition_core::time::Date;
use coalition_server::AdminToken;
use coalition_server::api::{CaseDetail, Pending, ProposalChange, SealedReceipt, Submitted};
use coalition_server::client::{ClientError, MemberClient};
use serde::Serialize;

use crate::member_sealed::{self, CaseFileArgs, CaseSealArgs, CaseShredArgs, SealedFlags};
use crate::{Outcome, events, files};

/// The node the member commands talk to unless `--node` or [`NODE_ENV`] says otherwise: a node
/// on this machine, as `coalition node` listens by default.
pub const NODE_DEFAULT: &str = "http://127.0.0.1:8080";

/// Environment variable holding the node's URL (used when `--node` is not given).
pub const NODE_ENV: &str = "COALITION_NODE";

/// Environment variable holding the path of the token file (used when `--token-file` is not given).
pub const TOKEN_FILE_ENV: &str = "COALITION_TOKEN_FILE";

/// Marks a shortened event id in sentences (the full id goes to stdout).
const SHORT_ID_NOTE: &str = "…";

// ---------------------------------------------------------------------------------------------
// Connection to the node
// ---------------------------------------------------------------------------------------------

/// How to reach the node and how to print its answer: shared by every member command.
#[derive(Args, Debug)]
#[command(next_help_heading = "Connecting to your node")]
pub struct Connection {
    /// Your organisation's node [default: $COALITION_NODE, else http://127.0.0.1:8080]. Over
    /// plain http the token is only sent to this machine: reach another machine through an SSH
    /// tunnel (`ssh -L 8080:127.0.0.1:8080 node-host`).
    #[arg(long, value_name = "URL")]
    node: Option<String>,
    /// The file holding the member API token: the same file the node was started with
    /// (`coalition node --admin-token-file`) [default: $COALITION_TOKEN_FILE].
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Print the node's JSON answer on stdout instead of sentences (for scripts).
    #[arg(long)]
    json: bool,
}

/// A value from the command line, else from the environment (an empty variable counts as unset).
fn flag_or_env(flag: Option<&OsStr>, variable: &str) -> Option<std::ffi::OsString> {
    flag.map(OsStr::to_owned).or_else(|| std::env::var_os(variable).filter(|value| !value.is_empty()))
}

impl Connection {
    /// Reads the token file and prepares a client of the node; nothing is sent yet.
    pub(crate) fn connect(&self) -> Result<Session> {
        let node = flag_or_env(self.node.as_deref().map(OsStr::new), NODE_ENV)
            .map(|value| value.to_string_lossy().into_owned())
            .unwrap_or_else(|| NODE_DEFAULT.to_owned());
        let token_file =
            flag_or_env(self.token_file.as_deref().map(Path::as_os_str), TOKEN_FILE_ENV).map(PathBuf::from).context(
                "no token file given: use --token-file FILE (or set COALITION_TOKEN_FILE), the file holding \
                 the token your node was started with (`coalition node --admin-token-file`)",
            )?;
        let token = AdminToken::from_file(&token_file).map_err(|error| anyhow!("{error} (--token-file)"))?;
        let client = MemberClient::new(&node, token).map_err(|error| anyhow!("{error} (--node)"))?;
        Ok(Session { client, node, token_file, json: self.json })
    }
}

/// A client of the node with what the error messages and the output need to know.
pub(crate) struct Session {
    /// The member API client.
    pub(crate) client: MemberClient,
    /// The node URL as given (named in messages).
    node: String,
    /// The token file as given (named in messages).
    token_file: PathBuf,
    /// Whether to print JSON instead of sentences.
    pub(crate) json: bool,
}

/// What a command refers to, so that "not found" can say what to check.
#[derive(Clone, Copy)]
pub(crate) enum Subject {
    /// Nothing in particular (the node's own words are used).
    Other,
    /// A case.
    Case(EventId),
    /// A membership or policy proposal.
    Proposal(EventId),
}

/// Where a value in a request came from, so a refused field can be named by its flag.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fields {
    /// The request was built from this command's flags.
    Flags,
    /// The request body was given as JSON (`coalition event`): the path names the field.
    Json,
}

/// The flag that gives the request field at `path` (like `facts.name_uk` or `clear[0]`).
fn flag_for(path: &str) -> Option<String> {
    let (in_facts, field) = match path.strip_prefix("facts.") {
        Some(rest) => (true, rest),
        None => (false, path),
    };
    let name = field.split(['.', '[']).next().unwrap_or(field);
    let flag = match (in_facts, name) {
        (true, "charges") => "--charge".to_owned(),
        (
            true,
            "name_uk" | "name_en" | "name_ru" | "region" | "detention_date" | "birth_year" | "gender"
            | "detention_place" | "stage" | "case_group" | "summary_uk" | "summary_en",
        ) => format!("--{}", name.replace('_', "-")),
        (true, _) => "--facts-file".to_owned(),
        (false, "clear") => "--clear".to_owned(),
        (false, "reasoning_uk" | "reasoning_en" | "date" | "circumstances" | "slug" | "name" | "vkey") => {
            format!("--{}", name.replace('_', "-"))
        }
        _ => return None,
    };
    Some(flag)
}

impl Session {
    /// Turns a client error into a message that says what to do.
    pub(crate) fn explain(&self, error: ClientError, subject: Subject, fields: Fields) -> anyhow::Error {
        let node = &self.node;
        match &error {
            ClientError::Unreachable { detail, .. } => {
                return anyhow!("no node answers at {node}: is `coalition node` running? (--node) [{detail}]");
            }
            ClientError::InvalidUrl { .. } | ClientError::InsecureUrl { .. } => return anyhow!("{error} (--node)"),
            _ => {}
        }
        let (Some(status), Some(code), Some(message)) = (error.status(), error.code(), error.server_message()) else {
            return anyhow!("{error}");
        };
        match status {
            401 => anyhow!(
                "the node refused the token in {}: check --token-file (it must hold the token the node at {node} \
                 was started with)",
                self.token_file.display()
            ),
            // 422: sensitive data where it cannot go, or a sealed field that is not text.
            400 | 422 => match error.path() {
                Some(path) => {
                    let flag = match fields {
                        Fields::Flags => flag_for(path).map(|flag| format!(" ({flag})")).unwrap_or_default(),
                        Fields::Json => String::new(),
                    };
                    anyhow!("the field {path}{flag}: {message}")
                }
                None => anyhow!("{message}"),
            },
            404 if code == "not_found" && message.contains("no such route") => anyhow!(
                "the node at {node} has no member API: it must be started with --key and --admin-token-file \
                 (or --node names something else)"
            ),
            404 => match subject {
                Subject::Case(id) => anyhow!("unknown case {id}: check the id (`coalition pending` lists open cases)"),
                Subject::Proposal(id) => {
                    anyhow!("unknown proposal {id}: check the id (`coalition pending` lists open proposals)")
                }
                Subject::Other => anyhow!("{message}"),
            },
            409 => anyhow!("{message}"),
            503 if code == "store_unavailable" => anyhow!(
                "the node could not store the event (disk full?): nothing was written. The node said: {message}"
            ),
            403 | 413 | 503 => anyhow!("{message}"),
            _ => anyhow!("{error}"),
        }
    }

    /// Reports a signed event: the sentence on stderr and the full id on stdout, or the node's
    /// JSON answer with `--json`.
    fn signed(
        &self,
        what: &str,
        subject: Subject,
        fields: Fields,
        result: Result<Submitted, ClientError>,
    ) -> Result<Submitted> {
        self.signed_sealing(what, "", subject, fields, result)
    }

    /// Reports a signed event that may have sealed data (`sealed` names it, for the sentence):
    /// says what went into a sealed record, readable only by member nodes.
    fn signed_sealing(
        &self,
        what: &str,
        sealed: &str,
        subject: Subject,
        fields: Fields,
        result: Result<Submitted, ClientError>,
    ) -> Result<Submitted> {
        let receipt = result.map_err(|error| self.explain(error, subject, fields))?;
        if self.json {
            print_json(&receipt)?;
            return Ok(receipt);
        }
        match receipt.sealed {
            Some(SealedReceipt::Record(record)) => {
                eprintln!("signed: {what}, seq {}, id {}{SHORT_ID_NOTE}", receipt.seq, receipt.id.short());
                eprintln!(
                    "sealed: {sealed} in a sealed record, seq {}, id {}{SHORT_ID_NOTE}: readable only by member \
                     nodes, never in the public feed",
                    record.seq,
                    record.id.short()
                );
            }
            Some(SealedReceipt::Itself(_)) => eprintln!(
                "sealed: {what} ({sealed}) only in a sealed record, seq {}, id {}{SHORT_ID_NOTE}: readable only by \
                 member nodes, nothing in the public feed",
                receipt.seq,
                receipt.id.short()
            ),
            None => eprintln!("signed: {what}, seq {}, id {}{SHORT_ID_NOTE}", receipt.seq, receipt.id.short()),
        }
        println!("{}", receipt.id);
        Ok(receipt)
    }
}

/// Prints a value as one line of JSON on stdout.
pub(crate) fn print_json(value: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string(value).context("cannot write the answer as JSON")?);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Parsing values from the command line
// ---------------------------------------------------------------------------------------------

/// A parser for one of a closed set of names (a region, a criterion, ...): refuses anything else
/// with the list of allowed values, and lists them in `--help`.
#[derive(Clone)]
pub(crate) struct Closed<T: 'static> {
    /// What the value is, like `region`.
    what: &'static str,
    /// Every allowed value.
    all: &'static [T],
    /// The spelling of a value.
    name: fn(T) -> &'static str,
}

impl<T: 'static> Closed<T> {
    /// A parser of `what`, allowing the values `all` spelled by `name`.
    const fn new(what: &'static str, all: &'static [T], name: fn(T) -> &'static str) -> Self {
        Self { what, all, name }
    }
}

impl<T: Copy + Send + Sync + 'static> TypedValueParser for Closed<T> {
    type Value = T;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &OsStr) -> Result<T, clap::Error> {
        let text = value.to_string_lossy();
        self.all.iter().copied().find(|candidate| (self.name)(*candidate) == text).ok_or_else(|| {
            let allowed: Vec<&str> = self.all.iter().map(|candidate| (self.name)(*candidate)).collect();
            let place = arg.map(|arg| format!(" for {arg}")).unwrap_or_default();
            let shown: String = text.chars().take(40).collect();
            let message = format!("unknown {} {shown:?}{place}; allowed: {}\n", self.what, allowed.join(", "));
            clap::Error::raw(ErrorKind::InvalidValue, message).with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.all.iter().map(|value| PossibleValue::new((self.name)(*value)))))
    }
}

/// Parses a day, `YYYY-MM-DD`.
fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text.trim()).map_err(|error| format!("{error}; give the day as YYYY-MM-DD, like 2024-03-15"))
}

/// Parses a case id (an event id, as `coalition case open` printed it).
pub(crate) fn parse_case_id(text: &str) -> Result<EventId, String> {
    EventId::parse(&text.trim().to_ascii_lowercase()).map_err(|_| {
        "not a case id: a case id is 64 hex digits, as `coalition case open` printed it \
         (`coalition pending` lists cases)"
            .to_owned()
    })
}

/// Parses a proposal id (an event id, as `coalition member propose` printed it).
fn parse_proposal_id(text: &str) -> Result<EventId, String> {
    EventId::parse(&text.trim().to_ascii_lowercase()).map_err(|_| {
        "not a proposal id: it is 64 hex digits, as `coalition member propose` printed it \
         (`coalition pending` lists open proposals)"
            .to_owned()
    })
}

/// Parses an organisation's slug, like `crimea-sos`.
fn parse_slug(text: &str) -> Result<OrgSlug, String> {
    OrgSlug::parse(text).map_err(|error| format!("{error}"))
}

/// Parses `ARTICLE[:PART]` into a charge under the Russian Criminal Code. The article and part
/// are checked by the node, which names the flag if they are wrong.
fn parse_charge(text: &str) -> Result<Charge, String> {
    let text = text.trim();
    let (article, part) = match text.split_once(':') {
        Some((article, part)) => (article, Some(part.to_owned())),
        None => (text, None),
    };
    if article.is_empty() {
        return Err("give the article, and its part after a colon, like 205.5 or 205.5:2".to_owned());
    }
    Ok(Charge { article: article.to_owned(), code: ChargeCode::RuCriminalCode, note: None, part })
}

/// The parser of `--region`.
const REGION: Closed<Region> = Closed::new("region", &Region::ALL, Region::as_str);
/// The parser of `--gender`.
const GENDER: Closed<Gender> = Closed::new("gender", &Gender::ALL, Gender::as_str);
/// The parser of `--stage`.
const STAGE: Closed<Stage> = Closed::new("stage", &Stage::ALL, Stage::as_str);
/// The parser of a criterion letter.
const CRITERION: Closed<Criterion> = Closed::new("criterion", &Criterion::ALL, Criterion::as_str);
/// Parses a sign: a public one, or a sensitive one (which the node records only sealed).
fn parse_sign(text: &str) -> Result<String, String> {
    let text = text.trim();
    if Sign::ALL.iter().any(|sign| sign.as_str() == text) || SENSITIVE_SIGNS.contains(&text) {
        return Ok(text.to_owned());
    }
    let public: Vec<&str> = Sign::ALL.iter().map(|sign| sign.as_str()).collect();
    let shown: String = text.chars().take(40).collect();
    Err(format!(
        "unknown sign {shown:?}; public signs: {}; sensitive signs (sealed, readable only by member nodes): {}",
        public.join(", "),
        SENSITIVE_SIGNS.join(", ")
    ))
}
/// The parser of an exclusion ground.
const GROUND: Closed<ExclusionGround> = Closed::new("exclusion ground", &ExclusionGround::ALL, ExclusionGround::as_str);
/// The parser of release circumstances.
const CIRCUMSTANCES: Closed<ReleaseCircumstances> =
    Closed::new("release circumstances", &ReleaseCircumstances::ALL, ReleaseCircumstances::as_str);
/// The parser of `--clear`.
const FACT_FIELD: Closed<FactField> = Closed::new("facts field", &FactField::ALL, FactField::as_str);
/// The parser of `--kind`.
pub(crate) const KIND: Closed<EventKind> = Closed::new("event kind", &EventKind::ALL, EventKind::as_str);

// ---------------------------------------------------------------------------------------------
// Facts from flags
// ---------------------------------------------------------------------------------------------

/// The public facts of a case, one flag per common field; `--facts-file` gives any others.
#[derive(Args, Debug)]
#[command(next_help_heading = "Facts of the case")]
pub struct FactFlags {
    /// Full name in Ukrainian, like "Олена Приклад".
    #[arg(long, value_name = "NAME")]
    name_uk: Option<String>,
    /// Full name in English, like "Olena Pryklad".
    #[arg(long, value_name = "NAME")]
    name_en: Option<String>,
    /// Full name in Russian, as the court papers write it.
    #[arg(long, value_name = "NAME")]
    name_ru: Option<String>,
    /// Where the person was detained: an occupied region, Russia, or other.
    #[arg(long, value_name = "REGION", value_parser = REGION)]
    region: Option<Region>,
    /// The day of detention.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    detention_date: Option<Date>,
    /// Year of birth.
    #[arg(long, value_name = "YEAR",
        value_parser = clap::value_parser!(u16).range(i64::from(BIRTH_YEAR_MIN)..=i64::from(BIRTH_YEAR_MAX)))]
    birth_year: Option<u16>,
    /// Gender.
    #[arg(long, value_name = "GENDER", value_parser = GENDER)]
    gender: Option<Gender>,
    /// Where the person was seized, like "Simferopol".
    #[arg(long, value_name = "PLACE")]
    detention_place: Option<String>,
    /// A charge under the Russian Criminal Code: the article, and its part after a colon, like
    /// 205.5:2. Repeat for several, in the order of the indictment; the list replaces the charges
    /// recorded before. Charges under other codes, or with a note, go in --facts-file.
    #[arg(long = "charge", value_name = "ARTICLE[:PART]", value_parser = parse_charge)]
    charges: Vec<Charge>,
    /// The stage the case has reached.
    #[arg(long, value_name = "STAGE", value_parser = STAGE)]
    stage: Option<Stage>,
    /// The group of related cases, like "Hizb ut-Tahrir case".
    #[arg(long, value_name = "NAME")]
    case_group: Option<String>,
    /// Summary of the case in Ukrainian (may hold line breaks).
    #[arg(long, value_name = "TEXT")]
    summary_uk: Option<String>,
    /// Summary of the case in English (may hold line breaks).
    #[arg(long, value_name = "TEXT")]
    summary_en: Option<String>,
    /// A JSON file with facts that have no flag: citizenship, birth_date, sentence,
    /// place_of_detention, postal_address, can_receive_letters, charges under other codes. Like
    /// {"citizenship":["UA"],"sentence":{"years":8,"regime":"strict"}}. Flags add to it but may not
    /// repeat a field it sets. Field names are in `schemas/events/defs.json`.
    #[arg(long, value_name = "F.json")]
    facts_file: Option<PathBuf>,
}

/// Sets `slot` from a flag, refusing a field the facts file already set.
fn set_once<T>(slot: &mut Option<T>, value: Option<T>, flag: &str) -> Result<()> {
    if let Some(value) = value {
        if slot.is_some() {
            bail!("--{flag} and --facts-file both give {}: give it once", flag.replace('-', "_"));
        }
        *slot = Some(value);
    }
    Ok(())
}

impl FactFlags {
    /// The facts the flags and the facts file give, or `None` when they give none.
    pub(crate) fn facts(&self) -> Result<Option<Facts>> {
        let mut facts = match &self.facts_file {
            Some(path) => {
                let text = files::read_text(path)?;
                serde_json::from_str::<Facts>(&text).with_context(|| {
                    format!(
                        "--facts-file {} is not a facts object (a JSON object of fields like \"citizenship\", \
                         without null values)",
                        path.display()
                    )
                })?
            }
            None => Facts::default(),
        };
        set_once(&mut facts.name_uk, self.name_uk.clone(), "name-uk")?;
        set_once(&mut facts.name_en, self.name_en.clone(), "name-en")?;
        set_once(&mut facts.name_ru, self.name_ru.clone(), "name-ru")?;
        set_once(&mut facts.region, self.region, "region")?;
        set_once(&mut facts.detention_date, self.detention_date, "detention-date")?;
        set_once(&mut facts.birth_year, self.birth_year, "birth-year")?;
        set_once(&mut facts.gender, self.gender, "gender")?;
        set_once(&mut facts.detention_place, self.detention_place.clone(), "detention-place")?;
        set_once(&mut facts.charges, (!self.charges.is_empty()).then(|| self.charges.clone()), "charge")?;
        set_once(&mut facts.stage, self.stage, "stage")?;
        set_once(&mut facts.case_group, self.case_group.clone(), "case-group")?;
        set_once(&mut facts.summary_uk, self.summary_uk.clone(), "summary-uk")?;
        set_once(&mut facts.summary_en, self.summary_en.clone(), "summary-en")?;
        Ok((facts != Facts::default()).then_some(facts))
    }
}

// ---------------------------------------------------------------------------------------------
// case
// ---------------------------------------------------------------------------------------------

/// `coalition case`: open, update and show cases.
#[derive(Subcommand)]
pub enum CaseCommand {
    /// Open a case with the facts known now; prints the new case id.
    ///
    /// A case needs a name in Ukrainian or English; everything else can be added later with
    /// `coalition case update`. The new case id is printed on stdout: keep it, every other command
    /// names the case by it. Opening a case does not list the person: members assert a criterion
    /// and endorse the listing (`coalition criterion assert`, `coalition person add`).
    Open(CaseOpenArgs),
    /// Set or clear facts of a case.
    ///
    /// Each flag sets its field, replacing what was recorded; `--clear` removes a field. Fields
    /// not named stay as they are.
    Update(CaseUpdateArgs),
    /// Show a case as your node sees it: names, status, endorsements, criteria, history.
    Show(CaseShowArgs),
    /// Show the case's sealed records as your node opens them (the member view).
    File(CaseFileArgs),
    /// Seal a record of a case: sensitive data only member nodes can read.
    Seal(CaseSealArgs),
    /// Destroy the keys of a case's sealed records, for good (asks for --yes).
    Shred(CaseShredArgs),
}

/// The arguments of `coalition case open`.
#[derive(Args)]
#[command(after_help = "Example:\n  \
    CASE=$(coalition case open --name-uk \"Олена Приклад\" --name-en \"Olena Pryklad\" --region crimea \\\n    \
    --detention-date 2023-05-14 --charge 205.5:2 --token-file admin-token)")]
pub struct CaseOpenArgs {
    /// The facts.
    #[command(flatten)]
    facts: FactFlags,
    /// Sensitive data, sealed.
    #[command(flatten)]
    sealed: SealedFlags,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// The arguments of `coalition case update`.
#[derive(Args)]
#[command(after_help = "Example:\n  \
    coalition case update \"$CASE\" --stage trial --detention-place Simferopol --clear summary_en \\\n    \
    --token-file admin-token")]
pub struct CaseUpdateArgs {
    /// The case id (from `coalition case open` or `coalition pending`).
    #[arg(value_name = "CASE", value_parser = parse_case_id)]
    case: EventId,
    /// The facts to set.
    #[command(flatten)]
    facts: FactFlags,
    /// A field to remove from the case, like summary_en. Repeat for several.
    #[arg(long = "clear", value_name = "FIELD", value_parser = FACT_FIELD, help_heading = "Facts of the case")]
    clear: Vec<FactField>,
    /// Sensitive data, sealed.
    #[command(flatten)]
    sealed: SealedFlags,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// The arguments of `coalition case show`.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition case show \"$CASE\" --token-file admin-token")]
pub struct CaseShowArgs {
    /// The case id.
    #[arg(value_name = "CASE", value_parser = parse_case_id)]
    case: EventId,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// Runs `coalition case ...`.
pub fn case(command: CaseCommand) -> Result<Outcome> {
    match command {
        CaseCommand::Open(args) => {
            let facts = args
                .facts
                .facts()?
                .context("a new case needs at least a name: give --name-uk or --name-en (and what else is known)")?;
            let sealed = args.sealed.fields();
            let session = args.connection.connect()?;
            let result = session.client.open_case_sealed(&facts, &sealed);
            session.signed_sealing(
                "case opened",
                &member_sealed::names(&sealed),
                Subject::Other,
                Fields::Flags,
                result,
            )?;
        }
        CaseCommand::Update(args) => {
            let facts = args.facts.facts()?;
            let mut clear = args.clear.clone();
            clear.sort();
            clear.dedup();
            let sealed = args.sealed.fields();
            if facts.is_none() && clear.is_empty() && sealed.is_empty() {
                bail!(
                    "nothing to change: give a field flag (like --stage), --facts-file, --clear FIELD or a sealed \
                     option (like --sealed NAME=VALUE)"
                );
            }
            let session = args.connection.connect()?;
            let subject = Subject::Case(args.case);
            let result = session.client.update_case_sealed(&args.case, facts.as_ref(), &clear, &sealed);
            session.signed_sealing("case updated", &member_sealed::names(&sealed), subject, Fields::Flags, result)?;
        }
        CaseCommand::File(args) => return member_sealed::file(&args),
        CaseCommand::Seal(args) => return member_sealed::seal(&args),
        CaseCommand::Shred(args) => return member_sealed::shred(&args),
        CaseCommand::Show(args) => {
            let session = args.connection.connect()?;
            let detail = session
                .client
                .case(&args.case)
                .map_err(|error| session.explain(error, Subject::Case(args.case), Fields::Flags))?;
            if session.json {
                print_json(&detail)?;
            } else {
                print!("{}", describe_case(&detail));
            }
        }
    }
    Ok(Outcome::Success)
}

/// `yes` or `no`.
fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// A status like `under_review` in words.
fn in_words(status: &str) -> String {
    status.replace('_', " ")
}

/// A list of names, or `fallback` when there are none.
fn names_or(names: &[String], fallback: &str) -> String {
    if names.is_empty() { fallback.to_owned() } else { names.join(", ") }
}

/// A case for people, line by line.
fn describe_case(detail: &CaseDetail) -> String {
    let facts = &detail.facts;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "case         {}", detail.id);
    for (label, name) in [("name (uk)", &facts.name_uk), ("name (en)", &facts.name_en), ("name (ru)", &facts.name_ru)] {
        if let Some(name) = name {
            let _ = writeln!(out, "{label:<12} {name}");
        }
    }
    let _ = writeln!(out, "opened by    {}", detail.opened_by);
    let since = detail.status_date.map(|date| format!(" since {date}")).unwrap_or_default();
    let listed = if detail.in_list { "in the joint list" } else { "not in the joint list" };
    let _ = writeln!(out, "status       {}{since} ({listed})", in_words(&detail.status));
    let assessment = &detail.assessment;
    let _ = writeln!(
        out,
        "listing      endorsements {} of {} needed; a criterion asserted: {}; an exclusion standing: {}",
        assessment.endorsements,
        assessment.listing_quorum,
        yes_no(assessment.criterion_stands),
        yes_no(assessment.exclusion_stands)
    );
    let endorsers: Vec<String> = detail
        .endorsements
        .iter()
        .map(|endorsement| {
            if endorsement.counts {
                endorsement.org.to_string()
            } else {
                format!("{} (no longer a member)", endorsement.org)
            }
        })
        .collect();
    let _ = writeln!(out, "endorsed by  {}", names_or(&endorsers, "nobody yet"));
    if detail.claims.is_empty() {
        let _ = writeln!(out, "criteria     none asserted yet");
    }
    for (index, claim) in detail.claims.iter().enumerate() {
        let label = if index == 0 { "criteria" } else { "" };
        let counts = if claim.counts { "" } else { " (no longer a member: does not count)" };
        let _ = writeln!(out, "{label:<12} {} asserted by {}{counts}", claim.criterion, claim.org);
        for (language, reasoning) in [("uk", &claim.reasoning_uk), ("en", &claim.reasoning_en)] {
            if let Some(reasoning) = reasoning {
                let _ = writeln!(out, "{:<12}   reasoning ({language}): {}", "", reasoning.replace('\n', " "));
            }
        }
    }
    let signs: Vec<String> = detail.signs.iter().map(|sign| format!("{} ({})", sign.sign, sign.org)).collect();
    let _ = writeln!(out, "signs        {}", names_or(&signs, "none noted"));
    let exclusions: Vec<String> =
        detail.exclusions.iter().map(|exclusion| format!("{} ({})", exclusion.ground, exclusion.org)).collect();
    let _ = writeln!(out, "exclusions   {}", names_or(&exclusions, "none raised"));
    let detention = &detail.detention;
    let date = detention.date.map(|date| format!(" on {date}")).unwrap_or_default();
    let circumstances =
        detention.circumstances.as_deref().map(|how| format!(" ({})", in_words(how))).unwrap_or_default();
    let _ = writeln!(out, "detention    {}{date}{circumstances}", in_words(&detention.state));
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(facts) {
        let others: Vec<_> = fields.iter().filter(|(name, _)| !name.starts_with("name_")).collect();
        if !others.is_empty() {
            let _ = writeln!(out, "facts");
            for (name, value) in others {
                let text = match (name.as_str(), &facts.charges) {
                    ("charges", Some(charges)) => describe_charges(charges),
                    _ => value.as_str().map_or_else(|| value.to_string(), |text| text.replace('\n', " ")),
                };
                let _ = writeln!(out, "  {name:<20} {text}");
            }
        }
    }
    let _ = writeln!(out, "history");
    for change in &detail.history {
        let _ = writeln!(out, "  {}  {:<14} event {}", change.date, in_words(&change.status), change.event);
    }
    let _ = writeln!(out, "last event   {}", detail.last_event);
    out
}

/// Charges for people, like `205.5 part 2; 20.3.3 (ru_administrative_code)`.
fn describe_charges(charges: &[Charge]) -> String {
    if charges.is_empty() {
        return "none brought".to_owned();
    }
    let described: Vec<String> = charges
        .iter()
        .map(|charge| {
            let mut text = charge.article.clone();
            if let Some(part) = &charge.part {
                let _ = write!(text, " part {part}");
            }
            if charge.code != ChargeCode::RuCriminalCode {
                let _ = write!(text, " ({})", charge.code);
            }
            if let Some(note) = &charge.note {
                let _ = write!(text, ": {note}");
            }
            text
        })
        .collect();
    described.join("; ")
}

// ---------------------------------------------------------------------------------------------
// criterion, sign note, exclusion
// ---------------------------------------------------------------------------------------------

/// `coalition criterion`: PACE Resolution 1900 (2012) criteria on a case.
#[derive(Subcommand)]
pub enum CriterionCommand {
    /// Assert, for your organisation, that a PACE criterion holds for a case.
    ///
    /// The criteria of PACE Resolution 1900 (2012): a. the detention violates a fundamental ECHR
    /// guarantee (thought, conscience, religion, expression, information, assembly,
    /// association); b. it is for purely political reasons without connection to any offence;
    /// c. for political motives, its length or conditions are clearly out of proportion; d. for
    /// political motives, the person is detained in a discriminatory manner; e. it results from
    /// clearly unfair proceedings connected with political motives. The reasoning is public.
    Assert(CriterionAssertArgs),
    /// Withdraw your organisation's assertion of a criterion.
    Withdraw(CriterionWithdrawArgs),
}

/// The arguments of `coalition criterion assert`.
#[derive(Args)]
#[command(after_help = "Example:\n  \
    coalition criterion assert \"$CASE\" a --reasoning-en \"Detained for posts criticising the occupation.\" \\\n    \
    --token-file admin-token")]
pub struct CriterionAssertArgs {
    /// The case id.
    #[arg(value_name = "CASE", value_parser = parse_case_id)]
    case: EventId,
    /// The criterion letter, a to e.
    #[arg(value_name = "LETTER", value_parser = CRITERION)]
    criterion: Criterion,
    /// Why it holds, in Ukrainian (may hold line breaks; public).
    #[arg(long, value_name = "TEXT")]
    reasoning_uk: Option<String>,
    /// Why it holds, in English (may hold line breaks; public).
    #[arg(long, value_name = "TEXT")]
    reasoning_en: Option<String>,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// The arguments of `coalition criterion withdraw`.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition criterion withdraw \"$CASE\" a --token-file admin-token")]
pub struct CriterionWithdrawArgs {
    /// The case id.
    #[arg(value_name = "CASE", value_parser = parse_case_id)]
    case: EventId,
    /// The criterion letter, a to e.
    #[arg(value_name = "LETTER", value_parser = CRITERION)]
    criterion: Criterion,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// Runs `coalition criterion ...`.
pub fn criterion(command: CriterionCommand) -> Result<Outcome> {
    match command {
        CriterionCommand::Assert(args) => {
            let session = args.connection.connect()?;
            let result = session.client.assert_criterion(
                &args.case,
                args.criterion,
                args.reasoning_uk.as_deref(),
                args.reasoning_en.as_deref(),
            );
            let what = format!("criterion {} asserted", args.criterion);
            session.signed(&what, Subject::Case(args.case), Fields::Flags, result)?;
        }
        CriterionCommand::Withdraw(args) => {
            let session = args.connection.connect()?;
            let result = session.client.withdraw_criterion(&args.case, args.criterion);
            let what = format!("criterion {} withdrawn", args.criterion);
            session.signed(&what, Subject::Case(args.case), Fields::Flags, result)?;
        }
    }
    Ok(Outcome::Success)
}

/// `coalition sign`: sign an event into a bundle file offline, or `sign note` a public sign on a
/// case through your node.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SignCommand {
    /// `sign note`, through the node.
    #[command(subcommand)]
    on_node: Option<SignOnNode>,
    /// The offline signing arguments.
    #[command(flatten)]
    offline: Option<events::SignArgs>,
}

/// What `coalition sign` does through a node.
#[derive(Subcommand)]
pub enum SignOnNode {
    /// Note, for your organisation, a public sign of political persecution on a case.
    ///
    /// Signs that could endanger the person (security_service_past, defence_formations,
    /// special_services_cooperation) are not public: the node records them only in a sealed
    /// record, readable only by member nodes. A --note is always sealed.
    Note(SignNoteArgs),
}

/// The arguments of `coalition sign note`.
#[derive(Args)]
#[command(after_help = "Examples:\n  coalition sign note \"$CASE\" free_speech --token-file admin-token\n  \
    coalition sign note \"$CASE\" --sign special_services_cooperation --note \"from the indictment\" \\\n    \
    --token-file admin-token      (sealed: readable only by member nodes)")]
pub struct SignNoteArgs {
    /// The case id.
    #[arg(value_name = "CASE", value_parser = parse_case_id)]
    case: EventId,
    /// The sign: a public one like free_speech, or a sensitive one (sealed).
    #[arg(value_name = "SIGN", value_parser = parse_sign, required_unless_present = "sign_option")]
    sign: Option<String>,
    /// The sign, as an option (instead of SIGN).
    #[arg(long = "sign", id = "sign_option", value_name = "SIGN", value_parser = parse_sign, conflicts_with = "sign")]
    sign_option: Option<String>,
    /// A note on the sign, like where it is known from (sealed: readable only by member nodes).
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// Runs `coalition sign ...`: the offline path, or `sign note` through the node.
pub fn sign(command: SignCommand) -> Result<Outcome> {
    match (command.on_node, command.offline) {
        (Some(SignOnNode::Note(args)), _) => {
            let session = args.connection.connect()?;
            let sign = args.sign.or(args.sign_option).context("give the sign, like free_speech")?;
            let result = session.client.note_sign_named(&args.case, &sign, args.note.as_deref());
            let sealed = match (SENSITIVE_SIGNS.contains(&sign.as_str()), &args.note) {
                (true, Some(_)) => "the sign and the note",
                (true, None) => "the sign",
                (false, _) => "the note",
            };
            let what = format!("sign {sign} noted");
            session.signed_sealing(&what, sealed, Subject::Case(args.case), Fields::Flags, result)?;
            Ok(Outcome::Success)
        }
        (None, Some(offline)) => events::sign(&offline),
        (None, None) => bail!(
            "give --genesis, --key, --bundle, --kind and --body to sign into a bundle, or use \
             `coalition sign note CASE SIGN` to note a sign through your node (see --help)"
        ),
    }
}

/// `coalition exclusion`: grounds for keeping a case off the list.
#[derive(Subcommand)]
pub enum ExclusionCommand {
    /// Raise, for your organisation, a ground for excluding a case from the list.
    ///
    /// Only the ground is public: the deliberation behind it (--deliberation) is sealed,
    /// readable only by member nodes, never in the public feed.
    Raise(ExclusionRaiseArgs),
    /// Withdraw the exclusion your organisation raised.
    Withdraw(ExclusionWithdrawArgs),
}

/// The arguments of `coalition exclusion raise`.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition exclusion raise \"$CASE\" general_crime --deliberation \"...\" \
    --token-file admin-token")]
pub struct ExclusionRaiseArgs {
    /// The case id.
    #[arg(value_name = "CASE", value_parser = parse_case_id)]
    case: EventId,
    /// The ground.
    #[arg(value_name = "GROUND", value_parser = GROUND)]
    ground: ExclusionGround,
    /// The deliberation behind it (sealed: readable only by member nodes).
    #[arg(long, value_name = "TEXT")]
    deliberation: Option<String>,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// The arguments of `coalition exclusion withdraw`.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition exclusion withdraw \"$CASE\" --token-file admin-token")]
pub struct ExclusionWithdrawArgs {
    /// The case id.
    #[arg(value_name = "CASE", value_parser = parse_case_id)]
    case: EventId,
    /// Why it is withdrawn (sealed: readable only by member nodes).
    #[arg(long, value_name = "TEXT")]
    deliberation: Option<String>,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// Runs `coalition exclusion ...`.
pub fn exclusion(command: ExclusionCommand) -> Result<Outcome> {
    match command {
        ExclusionCommand::Raise(args) => {
            let session = args.connection.connect()?;
            let result = session.client.raise_exclusion_sealed(&args.case, args.ground, args.deliberation.as_deref());
            let what = format!("exclusion raised ({})", args.ground);
            session.signed_sealing(&what, "the deliberation", Subject::Case(args.case), Fields::Flags, result)?;
        }
        ExclusionCommand::Withdraw(args) => {
            let session = args.connection.connect()?;
            let result = session.client.withdraw_exclusion_sealed(&args.case, args.deliberation.as_deref());
            session.signed_sealing(
                "exclusion withdrawn",
                "the deliberation",
                Subject::Case(args.case),
                Fields::Flags,
                result,
            )?;
        }
    }
    Ok(Outcome::Success)
}

// ---------------------------------------------------------------------------------------------
// person
// ---------------------------------------------------------------------------------------------

/// `coalition person`: listing and what happens to the person.
#[derive(Subcommand)]
pub enum PersonCommand {
    /// Endorse, for your organisation, listing the person of a case.
    ///
    /// The person is in the joint list once enough members endorse (the listing quorum), a
    /// current member asserts a criterion and no exclusion stands. Says where the case stands.
    #[command(after_help = "Example:\n  coalition person add \"$CASE\" --token-file admin-token")]
    Add(PersonArgs),
    /// Withdraw your organisation's endorsement of listing.
    #[command(after_help = "Example:\n  coalition person remove \"$CASE\" --token-file admin-token")]
    Remove(PersonArgs),
    /// Record that a person in the joint list was released.
    Release(PersonReleaseArgs),
    /// Record that a released person was detained again.
    #[command(
        after_help = "Example:\n  coalition person detained \"$CASE\" --date 2025-10-02 --token-file admin-token"
    )]
    Detained(PersonDatedArgs),
    /// Record that the person died in custody.
    #[command(after_help = "Example:\n  coalition person died \"$CASE\" --date 2025-11-30 --token-file admin-token")]
    Died(PersonDatedArgs),
}

/// The arguments of `coalition person add` and `person remove`.
#[derive(Args)]
pub struct PersonArgs {
    /// The case id.
    #[arg(value_name = "CASE", value_parser = parse_case_id)]
    case: EventId,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// The arguments of `coalition person release`.
#[derive(Args)]
#[command(after_help = "Example:\n  \
    coalition person release \"$CASE\" --date 2025-08-24 --circumstances exchange --token-file admin-token")]
pub struct PersonReleaseArgs {
    /// The case id.
    #[arg(value_name = "CASE", value_parser = parse_case_id)]
    case: EventId,
    /// The day of release.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    date: Date,
    /// How the person came to be released.
    #[arg(long, value_name = "HOW", value_parser = CIRCUMSTANCES)]
    circumstances: ReleaseCircumstances,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// The arguments of `coalition person detained` and `person died`: a dated change.
#[derive(Args)]
pub struct PersonDatedArgs {
    /// The case id.
    #[arg(value_name = "CASE", value_parser = parse_case_id)]
    case: EventId,
    /// The day it happened.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    date: Date,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// Runs `coalition person ...`.
pub fn person(command: PersonCommand) -> Result<Outcome> {
    match command {
        PersonCommand::Add(args) => {
            let session = args.connection.connect()?;
            let subject = Subject::Case(args.case);
            session.signed("listing endorsed", subject, Fields::Flags, session.client.endorse(&args.case))?;
            if !session.json {
                // Say where the case stands now; the endorsement is signed whatever this read gives.
                if let Ok(detail) = session.client.case(&args.case) {
                    eprintln!("{}", listing_state(&detail));
                }
            }
        }
        PersonCommand::Remove(args) => {
            let session = args.connection.connect()?;
            let result = session.client.withdraw_endorsement(&args.case);
            session.signed("endorsement withdrawn", Subject::Case(args.case), Fields::Flags, result)?;
        }
        PersonCommand::Release(args) => {
            let session = args.connection.connect()?;
            let result = session.client.record_release(&args.case, args.date, args.circumstances);
            let what = format!("release on {} recorded ({})", args.date, in_words(args.circumstances.as_str()));
            session.signed(&what, Subject::Case(args.case), Fields::Flags, result)?;
        }
        PersonCommand::Detained(args) => {
            let session = args.connection.connect()?;
            let result = session.client.record_redetention(&args.case, args.date);
            let what = format!("new detention on {} recorded", args.date);
            session.signed(&what, Subject::Case(args.case), Fields::Flags, result)?;
        }
        PersonCommand::Died(args) => {
            let session = args.connection.connect()?;
            let result = session.client.record_death(&args.case, args.date);
            let what = format!("death on {} recorded", args.date);
            session.signed(&what, Subject::Case(args.case), Fields::Flags, result)?;
        }
    }
    Ok(Outcome::Success)
}

/// Where a case stands after an endorsement, in one sentence.
fn listing_state(detail: &CaseDetail) -> String {
    let assessment = &detail.assessment;
    if detail.in_list {
        return format!(
            "the person is in the joint list ({} of {} endorsements)",
            assessment.endorsements, assessment.listing_quorum
        );
    }
    let mut missing = Vec::new();
    if assessment.endorsements < assessment.listing_quorum as usize {
        missing.push(format!("{} of {} endorsements so far", assessment.endorsements, assessment.listing_quorum));
    }
    if !assessment.criterion_stands {
        missing.push("no criterion asserted yet (`coalition criterion assert`)".to_owned());
    }
    if assessment.exclusion_stands {
        missing.push("an exclusion stands".to_owned());
    }
    format!("not in the joint list yet: {}", missing.join("; "))
}

// ---------------------------------------------------------------------------------------------
// member
// ---------------------------------------------------------------------------------------------

/// `coalition member`: the coalition's membership.
#[derive(Subcommand)]
pub enum MemberCommand {
    /// Propose admitting an organisation to the coalition; prints the proposal id.
    ///
    /// The organisation creates its key pair with `coalition keygen` and sends you its public
    /// verifier key (the .vkey file, never the .key). The admission takes effect once enough
    /// members approve it (the governance quorum) with `coalition member approve`.
    Propose(MemberProposeArgs),
    /// Approve, for your organisation, a proposal: an admission, a removal or new quorums.
    ///
    /// `coalition pending` lists the open proposals with their ids and who approved them.
    Approve(MemberApproveArgs),
    /// Propose removing a member organisation; prints the proposal id.
    ///
    /// The member is removed once enough members approve (the governance quorum). Its past
    /// events stay in the ledger; its endorsements and assertions stop counting.
    Remove(MemberRemoveArgs),
}

/// The arguments of `coalition member propose`.
#[derive(Args)]
#[command(after_help = "Example:\n  \
    coalition member propose --slug ccl --name \"Center for Civil Liberties\" --vkey @ccl.vkey --token-file admin-token")]
pub struct MemberProposeArgs {
    /// The organisation's short name in the ledger: lower-case letters, digits and hyphens.
    #[arg(long, value_name = "SLUG", value_parser = parse_slug)]
    slug: OrgSlug,
    /// Its display name, like "Center for Civil Liberties".
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Its verifier key, or @FILE holding it (the .vkey file from `coalition keygen`).
    #[arg(long, value_name = "VKEY|@FILE")]
    vkey: String,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// The arguments of `coalition member approve`.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition member approve PROPOSAL-ID --token-file admin-token")]
pub struct MemberApproveArgs {
    /// The proposal id (from `coalition pending`).
    #[arg(value_name = "PROPOSAL", value_parser = parse_proposal_id)]
    proposal: EventId,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// The arguments of `coalition member remove`.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition member remove ccl --token-file admin-token")]
pub struct MemberRemoveArgs {
    /// The member's slug, like crimea-sos.
    #[arg(value_name = "SLUG", value_parser = parse_slug)]
    slug: OrgSlug,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// Runs `coalition member ...`.
pub fn member(command: MemberCommand) -> Result<Outcome> {
    match command {
        MemberCommand::Propose(args) => {
            let vkey = files::literal_or_file(&args.vkey).context("--vkey")?;
            let session = args.connection.connect()?;
            let result = session.client.propose_member(&args.slug, &args.name, vkey.trim());
            let receipt = session.signed(
                &format!("admission of {} proposed", args.slug),
                Subject::Other,
                Fields::Flags,
                result,
            )?;
            if !session.json {
                eprintln!("other members approve it with `coalition member approve {}`", receipt.id);
            }
        }
        MemberCommand::Approve(args) => {
            let session = args.connection.connect()?;
            let result = session.client.approve(&args.proposal);
            session.signed("proposal approved", Subject::Proposal(args.proposal), Fields::Flags, result)?;
        }
        MemberCommand::Remove(args) => {
            let session = args.connection.connect()?;
            let result = session.client.propose_removal(&args.slug);
            let receipt =
                session.signed(&format!("removal of {} proposed", args.slug), Subject::Other, Fields::Flags, result)?;
            if !session.json {
                eprintln!("other members approve it with `coalition member approve {}`", receipt.id);
            }
        }
    }
    Ok(Outcome::Success)
}

// ---------------------------------------------------------------------------------------------
// pending
// ---------------------------------------------------------------------------------------------

/// The arguments of `coalition pending`: the work waiting on your organisation.
#[derive(Args)]
#[command(after_help = "Lists the cases one endorsement short of the joint list, the proposals waiting for \
    approvals and the editions waiting for cosignatures, each with its id and the command that acts on it.\n\n\
    Example:\n  coalition pending --token-file admin-token")]
pub struct PendingArgs {
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// Runs `coalition pending`.
pub fn pending(args: &PendingArgs) -> Result<Outcome> {
    let session = args.connection.connect()?;
    let pending = session.client.pending().map_err(|error| session.explain(error, Subject::Other, Fields::Flags))?;
    if session.json {
        print_json(&pending)?;
    } else {
        print!("{}", describe_pending(&pending));
    }
    Ok(Outcome::Success)
}

/// The pending work for people.
fn describe_pending(pending: &Pending) -> String {
    let mut out = String::new();
    let you = pending.org.as_ref().map_or_else(|| "this node".to_owned(), ToString::to_string);
    let policy = &pending.policy;
    let _ = writeln!(
        out,
        "work waiting on {you} (listing quorum {}, governance quorum {}, edition quorum {})",
        policy.listing_quorum, policy.governance_quorum, policy.edition_quorum
    );
    if pending.cases_one_short.is_empty()
        && pending.open_proposals.is_empty()
        && pending.editions_below_quorum.is_empty()
    {
        let _ = writeln!(
            out,
            "nothing: no case is one endorsement short, no proposal is open, no edition awaits cosigning"
        );
        return out;
    }
    if !pending.cases_one_short.is_empty() {
        let _ = writeln!(out, "\ncases one endorsement short of the joint list ({}):", pending.cases_one_short.len());
        for case in &pending.cases_one_short {
            let names: Vec<&str> = [&case.name_uk, &case.name_en].into_iter().flatten().map(String::as_str).collect();
            let name = if names.is_empty() { "(no name recorded)".to_owned() } else { names.join(" / ") };
            let endorsers: Vec<String> = case.endorsed_by.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "  {}  {name}", case.id);
            let _ =
                writeln!(out, "      opened by {}; endorsed by {}", case.opened_by, names_or(&endorsers, "nobody yet"));
            if case.endorsed_by_you {
                let _ = writeln!(out, "      {you} endorses it already: another member's endorsement is needed");
            } else {
                let _ = writeln!(out, "      endorse it: coalition person add {}", case.id);
            }
        }
    }
    if !pending.open_proposals.is_empty() {
        let _ = writeln!(out, "\nproposals waiting for approval ({}):", pending.open_proposals.len());
        for proposal in &pending.open_proposals {
            let change = match &proposal.change {
                ProposalChange::Admit { slug, name, .. } => format!("admit {slug} ({name})"),
                ProposalChange::Remove { slug } => format!("remove {slug}"),
                ProposalChange::Policy(policy) => format!(
                    "new quorums: listing {}, governance {}, edition {}, exclusion {}",
                    policy.listing_quorum, policy.governance_quorum, policy.edition_quorum, policy.exclusion_quorum
                ),
                ProposalChange::Other(description) => description.clone(),
            };
            let approvals: Vec<String> = proposal.approvals.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "  {}  {change}", proposal.id);
            let _ = writeln!(
                out,
                "      proposed by {}; approved by {}",
                proposal.proposer,
                names_or(&approvals, "nobody yet")
            );
            if proposal.approved_by_you {
                let _ = writeln!(out, "      {you} approved it already");
            } else {
                let _ = writeln!(out, "      approve it: coalition member approve {}", proposal.id);
            }
        }
    }
    if !pending.editions_below_quorum.is_empty() {
        let _ = writeln!(out, "\neditions waiting for cosignatures ({}):", pending.editions_below_quorum.len());
        for edition in &pending.editions_below_quorum {
            let cosigners: Vec<String> = edition.cosigners.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "  {}  edition {}, {} entries", edition.id, edition.label, edition.count);
            let _ = writeln!(
                out,
                "      proposed by {}; cosigned by {}{}",
                edition.proposer,
                names_or(&cosigners, "nobody yet"),
                if edition.cosigned_by_you { format!(" ({you} cosigned it already)") } else { String::new() }
            );
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// event
// ---------------------------------------------------------------------------------------------

/// The arguments of `coalition event`: any event for the node to sign, from its kind and body.
#[derive(Args)]
#[command(after_help = "The scripting path: the node checks the body exactly as for the other commands (the \
    schema of its kind, and whether it would have an effect), then signs and stores it, and the event id is \
    printed on stdout. Bodies are described in docs/PROTOCOL.md section 7 and schemas/events/; the kinds are \
    the values of --kind.\n\n\
    Examples:\n  \
    coalition event --kind person.added --body \"{\\\"case\\\":\\\"$CASE\\\"}\" --token-file admin-token\n  \
    coalition event --kind policy.proposed --body @policy.json --token-file admin-token --json")]
pub struct EventArgs {
    /// The event kind, like person.added.
    #[arg(long, value_name = "KIND", value_parser = KIND)]
    kind: EventKind,
    /// The body as JSON, or @FILE holding it.
    #[arg(long, value_name = "JSON|@FILE")]
    body: String,
    /// The node.
    #[command(flatten)]
    connection: Connection,
}

/// Runs `coalition event`.
pub fn event(args: &EventArgs) -> Result<Outcome> {
    let text = files::literal_or_file(&args.body).context("--body")?;
    let body: serde_json::Value =
        serde_json::from_str(&text).with_context(|| "--body is not valid JSON (give a JSON object, or @FILE)")?;
    let session = args.connection.connect()?;
    let result = session.client.submit(args.kind, body);
    session.signed(&format!("{} event", args.kind), Subject::Other, Fields::Json, result)?;
    Ok(Outcome::Success)
}
