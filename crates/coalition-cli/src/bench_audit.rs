//! `coalition bench audit`: `coalition audit` over a generated history with monthly editions,
//! printed beside the raw multi-core Ed25519 verification rate measured in the same run.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use coalition_core::body::{Body, EditionProposed, FrontierEntry};
use coalition_core::bundle;
use coalition_core::edition::EditionStatement;
use coalition_core::event::{Event, EventId, OrgSlug, SignedEvent};
use coalition_core::time::Timestamp;
use coalition_projector::{EditionList, Projector};

use crate::bench::{self, Generated, ORG_NAMES, RawVerifier};
use crate::{Outcome, events};

/// The memory the audit of a million events must stay under.
const AUDIT_MEMORY_TARGET_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// The share of the raw multi-core verification rate the audit must reach end to end.
const AUDIT_RATE_TARGET_PERCENT: f64 = 70.0;

/// Generate a history with monthly editions (each naming a frontier spread evenly over the
/// history, with the root and count of the list there), then time `coalition audit` over it in a
/// child process (so its peak memory is its own) beside the raw multi-core `verify_strict` rate.
#[derive(Args)]
pub struct AuditBenchArgs {
    /// Number of events to generate (the editions come on top).
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Number of monthly editions.
    #[arg(long, default_value_t = 12)]
    editions: usize,
    /// Number of member organisations (feeds).
    #[arg(long, default_value_t = 8)]
    orgs: usize,
    /// Keep the genesis, bundle and report in this folder instead of a temporary one.
    #[arg(long, conflicts_with = "reuse_bundle")]
    keep_in: Option<PathBuf>,
    /// Keep the genesis and bundle in this folder and reuse them when a bundle of the same
    /// parameters is already there (generating a million events takes minutes; generation is
    /// deterministic, so the bundle is the same on every run). Delete the folder when done.
    #[arg(long, value_name = "FOLDER")]
    reuse_bundle: Option<PathBuf>,
    /// Number of audits to time, each between two measurements of the raw rate; with more than
    /// one, the median ratio and the spread are printed too (a shared machine's speed drifts
    /// from one minute to the next).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=ROUNDS_MAX))]
    rounds: u32,
}

/// Most audits one run of the benchmark times.
const ROUNDS_MAX: i64 = 20;

/// One timed audit.
struct AuditRun {
    elapsed_s: f64,
    peak_kib: u64,
    verdict: serde_json::Value,
}

/// The file in a `--reuse-bundle` folder that records the parameters its bundle was made with.
const REUSE_PARAMETERS_FILE: &str = "parameters.txt";

pub fn run(args: &AuditBenchArgs) -> Result<Outcome> {
    if args.editions == 0 || args.editions > args.events {
        bail!("--editions must be between 1 and --events");
    }
    let (dir, _temporary) = bench::work_dir(args.keep_in.as_ref().or(args.reuse_bundle.as_ref()))?;
    let genesis_path = dir.join("genesis.note");
    let bundle_path = dir.join("audit.jsonl");
    let report_path = dir.join("report.json");
    let parameters_path = dir.join(REUSE_PARAMETERS_FILE);
    let parameters = format!("events {} editions {} orgs {}\n", args.events, args.editions, args.orgs);
    let reusable = args.reuse_bundle.is_some()
        && bundle_path.exists()
        && std::fs::read_to_string(&parameters_path).is_ok_and(|held| held == parameters);
    let (generated, editions) = if reusable {
        eprintln!("reusing the bundle in {}", dir.display());
        read_generated(&genesis_path, &bundle_path, args)?
    } else {
        // A half-written bundle must not be taken for a complete one.
        let _ = std::fs::remove_file(&parameters_path);
        let generated = bench::generate(args.events, args.orgs)?;
        let editions = edition_notes(&generated, args.editions)?;
        std::fs::write(&genesis_path, generated.genesis.note())?;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&bundle_path)?);
        for note in generated.notes.iter().chain(&editions) {
            file.write_all(bundle::format_line(note).as_bytes())?;
        }
        file.flush()?;
        drop(file);
        if args.reuse_bundle.is_some() {
            std::fs::write(&parameters_path, &parameters)?;
        }
        (generated, editions)
    };
    let cores = events::default_threads(None);
    println!(
        "bundle: {} events with {} editions, {} orgs, {:.1} MB; {cores} cores",
        generated.notes.len() + editions.len(),
        editions.len(),
        args.orgs,
        std::fs::metadata(&bundle_path)?.len() as f64 / 1e6
    );

    let audited = (generated.notes.len() + editions.len()) as f64;
    println!(
        "{:<30} {:>10} {:>17} {:>6} {:>17} {:>6}",
        "", "events/s", "verify_strict/s", "ratio", "prepared/s", "ratio"
    );
    let raw_rates = || -> Result<[f64; 2]> {
        Ok([
            bench::raw_verify_rate(&generated, cores, RawVerifier::VerifyStrict)?,
            bench::raw_verify_rate(&generated, cores, RawVerifier::Prepared)?,
        ])
    };
    let mut raw_previous = raw_rates()?;
    let mut ratios = Vec::new();
    let mut prepared_ratios = Vec::new();
    let mut peak_kib = 0;
    let mut verdict = serde_json::Value::Null;
    for round in 1..=args.rounds {
        let run = audit_once(&genesis_path, &bundle_path, &report_path, editions.len())?;
        let raw_next = raw_rates()?;
        // Each raw rate is measured just before and just after each audit, and the higher of the
        // two is the one compared with: the ratio errs low, never high.
        let [strict, prepared] = [0, 1].map(|which| raw_previous[which].max(raw_next[which]));
        raw_previous = raw_next;
        let rate = audited / run.elapsed_s;
        ratios.push(100.0 * rate / strict);
        prepared_ratios.push(100.0 * rate / prepared);
        let label = if args.rounds == 1 { "audit".to_owned() } else { format!("audit {round} of {}", args.rounds) };
        println!(
            "{:<30} {:>10.0} {:>17.0} {:>5.0}% {:>17.0} {:>5.0}%",
            format!("{label}, {cores} cores, {:.1} s", run.elapsed_s),
            rate,
            strict,
            100.0 * rate / strict,
            prepared,
            100.0 * rate / prepared,
        );
        peak_kib = peak_kib.max(run.peak_kib);
        verdict = run.verdict;
    }
    if ratios.len() > 1 {
        for (name, ratios) in [("verify_strict", &mut ratios), ("the prepared verifier", &mut prepared_ratios)] {
            let (lowest, highest) =
                ratios.iter().fold((f64::INFINITY, 0.0f64), |(low, high), ratio| (low.min(*ratio), high.max(*ratio)));
            println!(
                "median ratio to raw {name}: {:.0}% over {} audits (lowest {lowest:.0}%, highest {highest:.0}%)",
                bench::median(ratios),
                ratios.len()
            );
        }
    }
    println!(
        "(target: at least {AUDIT_RATE_TARGET_PERCENT:.0}% of the raw multi-core verify_strict rate end to end; \
         the ratio to the prepared verifier, which makes the same decisions with less work, shows what is \
         left besides signatures)"
    );
    println!(
        "peak memory {:.0} MiB (target under {:.0} MiB); {} editions reproduced; verdict {verdict}",
        peak_kib as f64 / 1024.0,
        AUDIT_MEMORY_TARGET_BYTES as f64 / 1024.0 / 1024.0,
        editions.len(),
    );
    Ok(Outcome::Success)
}

/// Times `coalition audit` over the bundle in a child process (so its peak memory is its own),
/// and checks that it came out clean with every edition reproduced.
fn audit_once(genesis: &Path, bundle: &Path, report_path: &Path, editions: usize) -> Result<AuditRun> {
    let started = Instant::now();
    let output = Command::new(std::env::current_exe()?)
        .args(["audit", "--stats", "--json", "--genesis"])
        .arg(genesis)
        .arg("--bundle")
        .arg(bundle)
        .arg("--out")
        .arg(report_path)
        .output()
        .context("cannot run coalition audit")?;
    let elapsed_s = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("the audit of a generated, valid history did not come out clean: {stderr}");
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(report_path)?)?;
    let reproduced = report["editions"]
        .as_array()
        .map_or(0, |listed| listed.iter().filter(|edition| edition["reproduced"] == true).count());
    if reproduced != editions {
        bail!("only {reproduced} of {editions} editions reproduced");
    }
    let peak_kib: u64 = stderr
        .lines()
        .find_map(|line| line.strip_prefix("peak_rss_kib "))
        .and_then(|value| value.trim().parse().ok())
        .context("the audit did not report its peak memory")?;
    Ok(AuditRun { elapsed_s, peak_kib, verdict: report["verdict"].clone() })
}

/// The generated history and its edition notes, read back from a bundle this command wrote
/// (the events first, then the editions). The keys are derived again: they are fixed.
fn read_generated(
    genesis_path: &std::path::Path,
    bundle_path: &std::path::Path,
    args: &AuditBenchArgs,
) -> Result<(Generated, Vec<String>)> {
    let genesis = coalition_core::genesis::Genesis::parse(&std::fs::read_to_string(genesis_path)?)?;
    let keys = (0..args.orgs).map(|index| Ok(bench::signer(index)?.verifier_key())).collect::<Result<_>>()?;
    let text = std::fs::read_to_string(bundle_path)?;
    let mut notes = text.lines().map(bundle::parse_line).collect::<Result<Vec<String>, _>>()?;
    if notes.len() != args.events + args.editions {
        bail!("{} holds {} notes, not {}: remove it", bundle_path.display(), notes.len(), args.events + args.editions);
    }
    let editions = notes.split_off(args.events);
    Ok((Generated { genesis, keys, notes }, editions))
}

/// Signs `editions` `edition.proposed` events at the end of the first organisation's feed, the
/// k-th naming the heads after the k-th share of the history and the list projected there.
fn edition_notes(generated: &Generated, editions: usize) -> Result<Vec<String>> {
    let mut projector = Projector::new(&generated.genesis);
    let mut heads: BTreeMap<OrgSlug, (u64, EventId)> = BTreeMap::new();
    let mut last_time = generated.genesis.doc().created;
    let mut bodies = Vec::new();
    let events = generated.notes.len();
    let mut next_checkpoint = 1;
    let org = OrgSlug::parse(ORG_NAMES[0])?;
    let signer = bench::signer(0)?;
    for (index, note) in generated.notes.iter().enumerate() {
        let signed = SignedEvent::parse(note)?;
        let content = signed.event();
        heads.insert(content.org.clone(), (content.seq, signed.id()));
        last_time = content.time;
        projector.insert(signed)?;
        if index + 1 == next_checkpoint * events / editions {
            let frontier: Vec<FrontierEntry> =
                heads.iter().map(|(org, (seq, id))| FrontierEntry { id: *id, org: org.clone(), seq: *seq }).collect();
            let list = EditionList::from_projection(&frontier, projector.projection(), index as u64 + 1)?;
            let year = 2027 + (next_checkpoint - 1) / 12;
            let label = format!("{year}-{:02}", (next_checkpoint - 1) % 12 + 1);
            let statement = EditionStatement {
                origin: &generated.genesis.doc().origin,
                ledger: generated.genesis.ledger_id(),
                label: &label,
                count: list.count(),
                root: list.root,
                list_hash: list.list_hash,
                frontier: &frontier,
            };
            let note_signature = statement.sign(&signer);
            bodies.push(EditionProposed {
                count: list.count(),
                frontier,
                label,
                list_hash: list.list_hash,
                note_signature,
                root: list.root,
            });
            next_checkpoint += 1;
        }
        if (index + 1) % (events / 10).max(1) == 0 {
            eprint!("\rprojecting the editions' lists: {} of {events} events", index + 1);
        }
    }
    eprintln!();
    let mut notes = Vec::new();
    for (index, body) in bodies.into_iter().enumerate() {
        let (seq, prev) = heads.get(&org).map_or((1, None), |(seq, id)| (seq + 1, Some(*id)));
        let mut deps: Vec<EventId> = heads.iter().filter(|(feed, _)| **feed != org).map(|(_, (_, id))| *id).collect();
        deps.sort();
        let time = Timestamp::from_unix_seconds(last_time.unix_seconds() + 1 + index as i64).context("time")?;
        let event = Event {
            ledger: generated.genesis.ledger_id(),
            org: org.clone(),
            seq,
            prev,
            time,
            deps,
            body: Body::EditionProposed(body),
        };
        let signed = event.sign(&signer)?;
        heads.insert(org.clone(), (seq, signed.id()));
        notes.push(signed.note().to_owned());
    }
    Ok(notes)
}
