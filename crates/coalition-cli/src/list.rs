//! `coalition list` and `coalition show`: the joint list and one case, projected from verified
//! bundles.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use coalition_core::body::{Body, Facts, Region};
use coalition_core::event::{EventId, SignedEvent};
use coalition_core::genesis::Genesis;
use coalition_projector::{ListEntry, Projector, Status};

use crate::{Outcome, events, genesis};

/// How `list` prints.
#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Aligned columns for people.
    Table,
    /// The list entries as a JSON array (the shape of the canonical list document).
    Json,
    /// Comma-separated values with a header row, for spreadsheets.
    Csv,
}

/// Which statuses `list` prints.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StatusFilter {
    /// Listed and still detained.
    Detained,
    /// Listed and released.
    Released,
    /// Listed and died in custody.
    Died,
    /// Everyone in the joint list.
    All,
}

/// Print the joint list projected from verified bundles.
///
/// Verifies every event first (as `coalition verify`), leaves out the invalid ones and reports
/// them on stderr, then projects the list. Exit code 0 when every event was valid, 1 when some
/// were left out (the list is still printed).
#[derive(Args)]
#[command(after_help = "Examples:\n  coalition list --genesis genesis.note ledger.jsonl\n  \
    coalition list --genesis genesis.note ledger.jsonl --status released --format csv > released.csv\n  \
    coalition list --genesis genesis.note ledger.jsonl --hash")]
pub struct ListArgs {
    /// The genesis file (signed by every founder).
    #[arg(long)]
    genesis: PathBuf,
    /// Bundle files (JSON Lines of signed notes).
    #[arg(required = true)]
    bundles: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Which people to print.
    #[arg(long, value_enum, default_value = "all")]
    status: StatusFilter,
    /// Only people detained in this region (crimea, sevastopol, donetsk, luhansk, zaporizhzhia,
    /// kherson, russia, other).
    #[arg(long)]
    region: Option<String>,
    /// Print only the hash of the canonical list document (what editions sign and auditors
    /// recompute) and the number of entries.
    #[arg(long)]
    hash: bool,
}

/// Show one case: its facts, where it stands, and its history event by event.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition show --genesis genesis.note ledger.jsonl 9f2c...e1")]
pub struct ShowArgs {
    /// The genesis file (signed by every founder).
    #[arg(long)]
    genesis: PathBuf,
    /// Bundle files, then the case id (the id of its case.opened event; a unique prefix of at
    /// least 8 hex digits is enough).
    #[arg(required = true, num_args = 2..)]
    bundles_then_case: Vec<String>,
}

/// Verified events projected, with whether any event was left out.
struct Projected {
    projector: Projector,
    events: Vec<SignedEvent>,
    problems: usize,
}

fn project(genesis: &Genesis, bundles: &[PathBuf]) -> Result<Projected> {
    let report = events::read_bundles(genesis, bundles, events::default_threads(None), true)?;
    let problems = report.print_problems_to_stderr(bundles);
    let mut projector = Projector::new(genesis);
    // The second event of each fork and the events after it are held too (they have no effect):
    // honest events of other feeds may name them.
    for fork in report.forks() {
        projector.insert_fork(&fork.org, fork.seq).context("recording a fork")?;
        projector.insert(fork.second.as_ref().clone()).context("holding the second event of a fork")?;
    }
    for event in report.accepted.iter().chain(&report.frozen) {
        projector.insert(event.clone()).with_context(|| format!("projecting event {}", event.id()))?;
    }
    Ok(Projected { projector, events: report.accepted, problems })
}

fn passes(entry: &ListEntry<'_>, status: StatusFilter, region: Option<Region>) -> bool {
    let status_matches = match status {
        StatusFilter::All => true,
        StatusFilter::Detained => entry.status == Status::Listed,
        StatusFilter::Released => entry.status == Status::Released,
        StatusFilter::Died => entry.status == Status::Died,
    };
    status_matches && region.is_none_or(|region| entry.facts.region == Some(region))
}

fn display_name(facts: &Facts) -> String {
    match (&facts.name_uk, &facts.name_en) {
        (Some(uk), Some(en)) => format!("{uk} ({en})"),
        (Some(name), None) | (None, Some(name)) => name.clone(),
        (None, None) => "(no name)".to_owned(),
    }
}

fn charges_text(facts: &Facts) -> String {
    facts
        .charges
        .iter()
        .flatten()
        .map(|charge| match &charge.part {
            Some(part) => format!("{} part {part}", charge.article),
            None => charge.article.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn csv_field(text: &str) -> String {
    // Quote every field and neutralise spreadsheet formulas: names come from members' events.
    let guarded = if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_owned() };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

pub fn list(args: &ListArgs) -> Result<Outcome> {
    let genesis = genesis::load_complete(&args.genesis)?;
    let region = match &args.region {
        Some(text) => Some(Region::parse(text).with_context(|| {
            let known: Vec<&str> = Region::ALL.iter().map(|region| region.as_str()).collect();
            format!("unknown region {text:?}; known: {}", known.join(", "))
        })?),
        None => None,
    };
    let mut projected = project(&genesis, &args.bundles)?;
    let projection = projected.projector.projection();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.hash {
        let summary = projection.list_summary()?;
        writeln!(out, "{}", summary.hash)?;
        eprintln!("hash of the canonical list document ({} entries)", summary.count);
    } else {
        let entries: Vec<ListEntry<'_>> =
            projection.list_entries().filter(|entry| passes(entry, args.status, region)).collect();
        match args.format {
            Format::Json => {
                let values: Vec<_> = entries.iter().map(ListEntry::to_json).collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&values)?)?;
            }
            Format::Csv => {
                writeln!(out, "case,name_uk,name_en,region,detention_date,charges,status,status_date")?;
                for entry in &entries {
                    let facts = entry.facts;
                    let fields = [
                        entry.case.to_string(),
                        facts.name_uk.clone().unwrap_or_default(),
                        facts.name_en.clone().unwrap_or_default(),
                        facts.region.map(|region| region.as_str().to_owned()).unwrap_or_default(),
                        facts.detention_date.map(|date| date.to_string()).unwrap_or_default(),
                        charges_text(facts),
                        entry.status.as_str().to_owned(),
                        entry.status_date.to_string(),
                    ];
                    let row: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
                    writeln!(out, "{}", row.join(","))?;
                }
            }
            Format::Table => {
                writeln!(out, "{:<14} {:<10} {:<12} {:<10} NAME", "CASE", "STATUS", "DETAINED", "REGION")?;
                for entry in &entries {
                    let facts = entry.facts;
                    writeln!(
                        out,
                        "{:<14} {:<10} {:<12} {:<10} {}",
                        entry.case.short(),
                        entry.status.as_str(),
                        facts.detention_date.map(|date| date.to_string()).unwrap_or_else(|| "-".into()),
                        facts.region.map_or("-", |region| region.as_str()),
                        display_name(facts),
                    )?;
                }
                let counts = projection.counts();
                eprintln!(
                    "{} shown; {} in the joint list, {} detained now",
                    entries.len(),
                    counts.in_list,
                    counts.detained_now
                );
            }
        }
    }
    Ok(if projected.problems == 0 { Outcome::Success } else { Outcome::Findings })
}

fn find_case(events: &[SignedEvent], prefix: &str) -> Result<EventId> {
    if prefix.len() < 8 || !prefix.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        bail!("{prefix:?} is not a case id: give the 64 hex digits of its case.opened event, or at least 8 of them");
    }
    let prefix = prefix.to_ascii_lowercase();
    let matches: Vec<EventId> = events
        .iter()
        .filter(|event| matches!(event.event().body, Body::CaseOpened(_)))
        .map(SignedEvent::id)
        .filter(|id| id.to_string().starts_with(&prefix))
        .collect();
    match matches.as_slice() {
        [id] => Ok(*id),
        [] => bail!("no case.opened event with id {prefix}... in these bundles"),
        _ => bail!("{} cases start with {prefix}; give more digits", matches.len()),
    }
}

pub fn show(args: &ShowArgs) -> Result<Outcome> {
    let genesis = genesis::load_complete(&args.genesis)?;
    let (case_text, bundle_texts) = args.bundles_then_case.split_last().context("give bundles, then a case id")?;
    let bundles: Vec<PathBuf> = bundle_texts.iter().map(PathBuf::from).collect();
    let mut projected = project(&genesis, &bundles)?;
    let case_id = find_case(&projected.events, case_text)?;
    let order = projected.projector.linear_order();
    let projection = projected.projector.projection();
    let case = projection.case(&case_id).context("the case was opened but has no effect (see anomalies)")?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let facts = case.facts();
    writeln!(out, "case      {case_id}")?;
    writeln!(out, "name      {}", display_name(facts))?;
    if let Some(name) = &facts.name_ru {
        writeln!(out, "name (ru) {name}")?;
    }
    writeln!(out, "opened by {}", case.opened_by())?;
    writeln!(
        out,
        "status    {}{}",
        case.status(),
        case.status_date().map(|date| format!(" since {date}")).unwrap_or_default()
    )?;
    let assessment = case.assessment();
    writeln!(
        out,
        "listing   {} of {} endorsements needed; criterion standing: {}; exclusion standing: {}",
        assessment.endorsements,
        projection.policy().listing_quorum,
        if assessment.criterion_stands { "yes" } else { "no" },
        if assessment.exclusion_stands { "yes" } else { "no" }
    )?;
    let facts_json = serde_json::to_value(facts)?;
    if let Some(fields) = facts_json.as_object() {
        writeln!(out, "facts")?;
        for (name, value) in fields {
            let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            writeln!(out, "  {name:<20} {text}")?;
        }
    }
    writeln!(out, "history (in the ledger's linear order)")?;
    let by_id: std::collections::HashMap<EventId, &SignedEvent> =
        projected.events.iter().map(|event| (event.id(), event)).collect();
    for id in order {
        let Some(event) = by_id.get(&id) else { continue };
        let content = event.event();
        let about_case = id == case_id || content.body.case() == Some(case_id);
        if !about_case {
            continue;
        }
        let effect = projection
            .anomalies()
            .iter()
            .find(|anomaly| anomaly.event == id)
            .map(|anomaly| format!("  [no effect: {}]", anomaly.reason))
            .unwrap_or_default();
        let body = serde_json::to_value(&content.body)?;
        let mut detail = body.as_object().cloned().unwrap_or_default();
        detail.remove("case");
        let detail = if detail.is_empty() { String::new() } else { serde_json::Value::Object(detail).to_string() };
        writeln!(
            out,
            "  {}  {:<12} seq {:<5} {:<20} {}  {}{effect}",
            content.time,
            content.org.as_str(),
            content.seq,
            content.kind().as_str(),
            id.short(),
            detail
        )?;
    }
    Ok(if projected.problems == 0 { Outcome::Success } else { Outcome::Findings })
}
