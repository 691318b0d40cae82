//! `coalition sign` and `coalition verify`: events in bundle files.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use coalition_core::body::{EventKind, parse_body};
use coalition_core::bundle;
use coalition_core::event::{Event, OrgSlug};
use coalition_core::genesis::Genesis;
use coalition_core::time::Timestamp;
use coalition_core::verify::{Outcome as VerifyOutcome, Rejection, Tag, Verifier};
use serde_json::json;

use crate::{Outcome, files, genesis, keys};

/// Notes checked concurrently per batch: large enough to keep every core busy, small enough
/// that memory does not grow with the bundle.
const VERIFY_BATCH_NOTES: usize = 4096;
/// Bits of a tag that hold the line number; the rest hold the bundle's index.
const TAG_LINE_BITS: u32 = 40;

/// Sign one event of your organisation into a bundle file.
///
/// The new event continues your organisation's feed in the bundle: its seq and prev follow your
/// last event there, and its deps are the latest event of every other feed in the bundle. The body
/// is checked against the schema of its kind before anything is signed. The bundle must verify
/// cleanly first.
#[derive(Args)]
#[command(
    after_help = "Example:\n  coalition sign --genesis genesis.note --key keys/zmina.key --bundle ledger.jsonl \\\n    \
    --kind case.opened --body '{\"facts\":{\"name_uk\":\"Олена Приклад\",\"region\":\"crimea\"}}'"
)]
pub struct SignArgs {
    /// The genesis file (signed by every founder).
    #[arg(long)]
    genesis: PathBuf,
    /// Your organisation's secret key file.
    #[arg(long)]
    key: PathBuf,
    /// The bundle to append to (created if missing).
    #[arg(long)]
    bundle: PathBuf,
    /// The event kind, e.g. case.opened, person.added (see schemas/events/).
    #[arg(long)]
    kind: String,
    /// The body as JSON, or @FILE holding it.
    #[arg(long)]
    body: String,
    /// The event time (RFC 3339 UTC with seconds, e.g. 2026-11-28T09:00:00Z); default: now.
    #[arg(long)]
    time: Option<Timestamp>,
}

/// Verify every event of one or more bundles against the genesis.
///
/// Checks note syntax, canonical JSON, schema, ledger id, the signature under the right key, seq
/// and prev chains, and forks. Never stops at the first problem: prints one line per problem
/// (bundle and line, organisation, seq, the reason in words) and a summary.
#[derive(Args)]
pub struct VerifyArgs {
    /// The genesis file (signed by every founder).
    #[arg(long)]
    genesis: PathBuf,
    /// Bundle files (JSON Lines of signed notes).
    #[arg(required = true)]
    bundles: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Threads for signature checks (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// One problem found while reading bundles.
struct Problem {
    tag: Tag,
    org: Option<OrgSlug>,
    seq: Option<u64>,
    id: Option<String>,
    code: &'static str,
    reason: String,
}

/// The result of reading and verifying bundles.
pub struct BundleReport {
    pub verifier: Verifier,
    pub accepted: Vec<coalition_core::event::SignedEvent>,
    problems: Vec<Problem>,
    duplicates: usize,
    forks: Vec<coalition_core::verify::ForkFound>,
}

fn tag_of(bundle_index: usize, line_number: u64) -> Tag {
    ((bundle_index as u64) << TAG_LINE_BITS) | line_number
}

fn describe_tag(tag: Tag, bundles: &[PathBuf]) -> String {
    let index = (tag >> TAG_LINE_BITS) as usize;
    let line = tag & ((1 << TAG_LINE_BITS) - 1);
    let name = bundles.get(index).map_or_else(|| "?".to_owned(), |path| path.display().to_string());
    format!("{name}:{line}")
}

fn rejection_code(reason: &Rejection) -> &'static str {
    reason.code()
}

/// Reads and verifies bundles, keeping the accepted events when `keep_events` is set (the
/// verifier itself keeps only ids).
pub fn read_bundles(genesis: &Genesis, paths: &[PathBuf], threads: usize, keep_events: bool) -> Result<BundleReport> {
    let mut report = BundleReport {
        verifier: Verifier::new(genesis),
        accepted: Vec::new(),
        problems: Vec::new(),
        duplicates: 0,
        forks: Vec::new(),
    };
    for (index, path) in paths.iter().enumerate() {
        let file = File::open(path).with_context(|| format!("cannot open bundle {}", path.display()))?;
        let mut reader = BufReader::new(file);
        let mut batch: Vec<(Tag, String)> = Vec::with_capacity(VERIFY_BATCH_NOTES);
        let mut line_number = 0u64;
        let mut line = String::new();
        loop {
            line.clear();
            let read = read_line_limited(&mut reader, &mut line)
                .with_context(|| format!("cannot read {} after line {line_number}", path.display()))?;
            if read == 0 {
                break;
            }
            line_number += 1;
            let tag = tag_of(index, line_number);
            match bundle::parse_line(line.trim_end_matches('\n')) {
                Ok(note) => batch.push((tag, note)),
                Err(error) => report.problems.push(Problem {
                    tag,
                    org: None,
                    seq: None,
                    id: None,
                    code: "bundle_line",
                    reason: error.to_string(),
                }),
            }
            if batch.len() == VERIFY_BATCH_NOTES {
                process_batch(&mut report, &mut batch, threads, keep_events);
            }
        }
        process_batch(&mut report, &mut batch, threads, keep_events);
    }
    let leftovers = report.verifier.finish();
    record(&mut report, leftovers, keep_events);
    report.problems.sort_by_key(|problem| problem.tag);
    Ok(report)
}

/// Reads one line, refusing lines longer than a bundle line may be (a hostile file must not make
/// us buffer gigabytes).
fn read_line_limited(reader: &mut impl BufRead, line: &mut String) -> Result<usize> {
    let limit = (bundle::BUNDLE_LINE_BYTES_MAX + 2) as u64;
    let read = reader.by_ref().take(limit).read_line(line)?;
    if read as u64 == limit && !line.ends_with('\n') {
        bail!("a line is longer than {} bytes", bundle::BUNDLE_LINE_BYTES_MAX);
    }
    Ok(read)
}

fn process_batch(report: &mut BundleReport, batch: &mut Vec<(Tag, String)>, threads: usize, keep_events: bool) {
    let checked = report.verifier.check_many(batch, threads);
    batch.clear();
    for item in checked {
        let outcomes = report.verifier.accept(item);
        record(report, outcomes, keep_events);
    }
}

fn record(report: &mut BundleReport, outcomes: Vec<VerifyOutcome>, keep_events: bool) {
    for outcome in outcomes {
        match outcome {
            VerifyOutcome::Accepted { event, .. } if keep_events => report.accepted.push(*event),
            VerifyOutcome::Accepted { .. } => {}
            VerifyOutcome::Duplicate { .. } => report.duplicates += 1,
            VerifyOutcome::Rejected { tag, position, id, reason } => {
                let (org, seq) = position.map_or((None, None), |(org, seq)| (Some(org), Some(seq)));
                report.problems.push(Problem {
                    tag,
                    org,
                    seq,
                    id: id.map(|id| id.to_string()),
                    code: rejection_code(&reason),
                    reason: reason.to_string(),
                });
            }
            VerifyOutcome::Fork { tag, fork } => {
                report.problems.push(Problem {
                    tag,
                    org: Some(fork.org.clone()),
                    seq: Some(fork.seq),
                    id: Some(fork.second.id().to_string()),
                    code: "fork",
                    reason: format!(
                        "fork: {} signed two different events at seq {}: {} and {}",
                        fork.org,
                        fork.seq,
                        fork.first,
                        fork.second.id()
                    ),
                });
                report.forks.push(fork);
            }
            _ => {}
        }
    }
}

pub fn default_threads(requested: Option<usize>) -> usize {
    requested.or_else(|| std::thread::available_parallelism().ok().map(usize::from)).unwrap_or(1).max(1)
}

pub fn verify(args: &VerifyArgs) -> Result<Outcome> {
    let genesis = genesis::load_complete(&args.genesis)?;
    let report = read_bundles(&genesis, &args.bundles, default_threads(args.threads), false)?;
    let heads = report.verifier.heads();
    let events: u64 = heads.values().map(|(seq, _)| *seq).sum();
    if args.json {
        let problems: Vec<_> = report
            .problems
            .iter()
            .map(|problem| {
                let index = (problem.tag >> TAG_LINE_BITS) as usize;
                json!({
                    "bundle": args.bundles.get(index).map(|path| path.display().to_string()),
                    "line": problem.tag & ((1 << TAG_LINE_BITS) - 1),
                    "org": problem.org,
                    "seq": problem.seq,
                    "id": problem.id,
                    "code": problem.code,
                    "reason": problem.reason,
                })
            })
            .collect();
        let feeds: Vec<_> =
            heads.iter().map(|(org, (seq, id))| json!({"org": org, "head_seq": seq, "head_id": id})).collect();
        let forks: Vec<_> = report
            .forks
            .iter()
            .map(|fork| json!({"org": fork.org, "seq": fork.seq, "first": fork.first, "second": fork.second.id()}))
            .collect();
        let document = json!({
            "ledger": genesis.ledger_id(),
            "valid": report.problems.is_empty(),
            "events": events,
            "duplicates": report.duplicates,
            "feeds": feeds,
            "forks": forks,
            "problems": problems,
        });
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        for problem in &report.problems {
            let position = match (&problem.org, problem.seq) {
                (Some(org), Some(seq)) => format!("{org} seq {seq}: "),
                _ => String::new(),
            };
            println!("{}: {position}{}", describe_tag(problem.tag, &args.bundles), problem.reason);
        }
        eprintln!(
            "{} valid events in {} feeds{}; {} problems",
            events,
            heads.len(),
            if report.duplicates > 0 { format!(" ({} duplicates skipped)", report.duplicates) } else { String::new() },
            report.problems.len()
        );
    }
    Ok(if report.problems.is_empty() { Outcome::Success } else { Outcome::Findings })
}

fn org_of_key(genesis: &Genesis, key_name: &str) -> Result<OrgSlug> {
    let origin = &genesis.doc().origin;
    let slug = key_name
        .strip_prefix(origin.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .with_context(|| format!("key {key_name:?} is not named {origin}/SLUG: it belongs to another coalition"))?;
    Ok(OrgSlug::parse(slug)?)
}

pub fn sign(args: &SignArgs) -> Result<Outcome> {
    let genesis = genesis::load_complete(&args.genesis)?;
    let signer = keys::load_signer(&args.key)?;
    let org = org_of_key(&genesis, signer.verifier_key().name().as_str())?;
    let kind = EventKind::parse(&args.kind).with_context(|| {
        let known: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.as_str()).collect();
        format!("unknown kind {:?}; known kinds: {}", args.kind, known.join(", "))
    })?;
    let body_text = files::literal_or_file(&args.body)?;
    let body_value: serde_json::Value = serde_json::from_str(&body_text).context("--body is not valid JSON")?;
    let body_line = coalition_core::canonical::to_canonical_profile(&body_value).context("--body")?;
    let body =
        parse_body(kind, &body_line).with_context(|| format!("--body does not fit the schema of {}", kind.as_str()))?;

    let paths = if args.bundle.exists() { vec![args.bundle.clone()] } else { Vec::new() };
    let report = read_bundles(&genesis, &paths, default_threads(None), false)?;
    if !report.problems.is_empty() {
        bail!(
            "{} has {} problems; run `coalition verify --genesis {} {}` and fix them before signing",
            args.bundle.display(),
            report.problems.len(),
            args.genesis.display(),
            args.bundle.display()
        );
    }
    let heads = report.verifier.heads();
    let (seq, prev) = heads.get(&org).map_or((1, None), |(seq, id)| (seq + 1, Some(*id)));
    let mut deps: Vec<_> = heads.iter().filter(|(feed, _)| **feed != org).map(|(_, (_, id))| *id).collect();
    deps.sort();
    let time = match args.time {
        Some(time) => time,
        None => genesis::now()?,
    };
    let event = Event { ledger: genesis.ledger_id(), org: org.clone(), seq, prev, time, deps, body };
    let signed = event.sign(&signer)?;
    // Check it as any reader would before it is written: the key must be the org's key now.
    let mut verifier = report.verifier;
    let outcomes = verifier.push(0, signed.note());
    if let Some(VerifyOutcome::Rejected { reason, .. }) = outcomes.first() {
        bail!("the new event would not verify: {reason}");
    }
    files::append_durably(&args.bundle, &bundle::format_line(signed.note()))?;
    eprintln!("signed {} as {org} seq {seq} into {}", kind.as_str(), args.bundle.display());
    println!("{}", signed.id());
    Ok(Outcome::Success)
}
