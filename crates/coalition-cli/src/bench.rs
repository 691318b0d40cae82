//! `coalition bench`: measured figures printed beside the limits they are bounded by, measured in
//! the same run on the same machine.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use coalition_core::body::{EventKind, parse_body};
use coalition_core::bundle;
use coalition_core::event::{Event, EventId, OrgSlug, SignedEvent};
use coalition_core::genesis::{FoundingMember, Genesis, GenesisDoc};
use coalition_core::keys::{KeyName, SignerKey, VerifierKey};
use coalition_core::strict::{SIGNATURES_PER_INVERSION_MAX, verify_each};
use coalition_core::time::Timestamp;

use crate::{Outcome, events};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Verification rate of a generated bundle beside the raw Ed25519 verification rate.
    Verify(VerifyBenchArgs),
    /// A node's member write path (sign + durable commit) with 1 and many writers, beside raw
    /// durable commits of the store, and the node's start-up time over a generated store.
    Append(AppendBenchArgs),
    /// `coalition audit` over a generated bundle with monthly editions, beside the raw
    /// multi-core Ed25519 verification rate, with its peak memory.
    Audit(crate::bench_audit::AuditBenchArgs),
    /// Sealing a record for the members' recipients (new case key + grant + record, or record
    /// alone) and opening it (grant + record, or record with a cached key), beside plain Ed25519
    /// signing in the same run.
    Seal(crate::bench_seal::SealBenchArgs),
    /// The report form under a flood from many addresses: intake rate, and the public site's
    /// request rate during the flood beside its rate alone, measured in the same run.
    Reports(crate::bench_reports::ReportsBenchArgs),
}

/// Measure acknowledged appends through a node (sign, durable group commit, projection) with one
/// writer and with many, beside one-event durable commits of the store measured in the same run;
/// then the start-up time of a node over a store of generated events.
#[derive(Args)]
pub struct AppendBenchArgs {
    /// Appends by the single writer.
    #[arg(long, default_value_t = 200)]
    single: usize,
    /// Concurrent writers.
    #[arg(long, default_value_t = 64)]
    writers: usize,
    /// Appends per concurrent writer.
    #[arg(long, default_value_t = 50)]
    per_writer: usize,
    /// Events in the store whose start-up is timed (0 skips it).
    #[arg(long, default_value_t = 100_000)]
    startup_events: usize,
    /// Keep the start-up store in this folder and reuse it when it is already there (generating
    /// and importing a million events takes minutes; the events are the same on every run).
    #[arg(long)]
    startup_store: Option<PathBuf>,
}

/// Generate a bundle of signed events across several organisations, then measure how fast
/// `coalition verify` checks it (single- and multi-threaded) beside raw `verify_strict` on the
/// same texts, and the peak memory of the verifying process.
#[derive(Args)]
pub struct VerifyBenchArgs {
    /// Number of events to generate.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Number of member organisations (feeds).
    #[arg(long, default_value_t = 8)]
    orgs: usize,
    /// Folder for the generated genesis and bundle (default: a temporary folder, removed after).
    #[arg(long)]
    keep_in: Option<PathBuf>,
    /// Measurements per figure; the median is printed (this machine's load varies).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

pub(crate) const ORG_NAMES: [&str; 12] =
    ["arpp", "chrg", "zmina", "mihr", "uhhru", "ccl", "crimea-sos", "platform", "org-09", "org-10", "org-11", "org-12"];
const ORIGIN: &str = "bench.example";

pub(crate) fn signer(index: usize) -> Result<SignerKey> {
    let name = KeyName::parse(&format!("{ORIGIN}/{}", ORG_NAMES[index]))?;
    let mut seed = [0u8; 32];
    seed[0] = index as u8 + 1;
    seed[31] = 0xb5;
    Ok(SignerKey::from_seed(name, seed))
}

/// A realistic body for the `index`-th event: mostly case work, as in a real ledger.
fn body_for(index: usize, cases: &[EventId]) -> Result<(EventKind, String)> {
    let case = cases.get(index.wrapping_mul(7919) % cases.len().max(1)).copied();
    let (kind, json) = match (index % 5, case) {
        (0, _) | (_, None) => (
            EventKind::CaseOpened,
            format!(
                r#"{{"facts":{{"case_group":"Hizb ut-Tahrir case","charges":[{{"article":"205.5","code":"ru_criminal_code","part":"2"}}],"detention_date":"2019-03-27","detention_place":"Сімферополь","name_en":"Test Person {index}","name_ru":"Тестовый Человек {index}","name_uk":"Тестова Особа {index}","region":"crimea","stage":"serving_sentence","summary_en":"Fictional person generated for a benchmark; detained after a search of the home, charged with participation in an organisation banned in Russia.","summary_uk":"Вигадана особа для вимірювання швидкодії."}}}}"#
            ),
        ),
        (1, Some(case)) => (EventKind::CriterionAsserted, format!(r#"{{"case":"{case}","criterion":"a"}}"#)),
        (2, Some(case)) => (EventKind::PersonAdded, format!(r#"{{"case":"{case}"}}"#)),
        (3, Some(case)) => (EventKind::SignNoted, format!(r#"{{"case":"{case}","sign":"falsified_evidence"}}"#)),
        (_, Some(case)) => (
            EventKind::CaseUpdated,
            format!(r#"{{"case":"{case}","facts":{{"place_of_detention":"Виправна колонія № {index}"}}}}"#),
        ),
    };
    Ok((kind, json))
}

pub(crate) struct Generated {
    pub(crate) genesis: Genesis,
    pub(crate) keys: Vec<VerifierKey>,
    pub(crate) notes: Vec<String>,
}

pub(crate) fn generate(events: usize, orgs: usize) -> Result<Generated> {
    if orgs == 0 || orgs > ORG_NAMES.len() {
        bail!("--orgs must be between 1 and {}", ORG_NAMES.len());
    }
    let signers: Vec<SignerKey> = (0..orgs).map(signer).collect::<Result<_>>()?;
    let mut members: Vec<FoundingMember> = signers
        .iter()
        .enumerate()
        .map(|(index, key)| {
            Ok(FoundingMember {
                slug: OrgSlug::parse(ORG_NAMES[index])?,
                name: format!("Benchmark organisation {index}"),
                vkey: key.verifier_key(),
                recipient: None,
            })
        })
        .collect::<Result<_>>()?;
    members.sort_by(|left, right| left.slug.cmp(&right.slug));
    let doc = GenesisDoc {
        name: "Benchmark coalition (fictional)".into(),
        origin: ORIGIN.into(),
        created: Timestamp::parse("2026-01-01T00:00:00Z")?,
        members,
        policy: coalition_core::body::Policy {
            listing_quorum: 1,
            governance_quorum: 1,
            edition_quorum: 1,
            exclusion_quorum: 1,
        },
    };
    let mut genesis = Genesis::parse(&doc.to_note_text()?)?;
    for key in &signers {
        genesis = Genesis::parse(&genesis.sign(key)?)?;
    }
    let start_seconds = genesis.doc().created.unix_seconds();
    let mut heads: Vec<Option<(u64, EventId)>> = vec![None; orgs];
    let mut cases = Vec::new();
    let mut notes = Vec::with_capacity(events);
    let progress_every = (events / 10).max(1);
    for index in 0..events {
        let org = index % orgs;
        let (kind, json) = body_for(index, &cases)?;
        let (seq, prev) = heads[org].map_or((1, None), |(seq, id)| (seq + 1, Some(id)));
        let mut deps: Vec<EventId> = heads
            .iter()
            .enumerate()
            .filter(|(other, _)| *other != org)
            .filter_map(|(_, head)| head.map(|(_, id)| id))
            .collect();
        deps.sort();
        let event = Event {
            ledger: genesis.ledger_id(),
            org: OrgSlug::parse(ORG_NAMES[org])?,
            seq,
            prev,
            time: Timestamp::from_unix_seconds(start_seconds + index as i64).context("time")?,
            deps,
            body: parse_body(kind, &json)?,
        };
        let signed: SignedEvent = event.sign(&signers[org])?;
        if kind == EventKind::CaseOpened {
            cases.push(signed.id());
        }
        heads[org] = Some((seq, signed.id()));
        notes.push(signed.note().to_owned());
        if (index + 1) % progress_every == 0 {
            eprint!("\rgenerating: {} of {events} events signed", index + 1);
        }
    }
    eprintln!();
    let keys = signers.iter().map(SignerKey::verifier_key).collect();
    Ok(Generated { genesis, keys, notes })
}

/// Which implementation of the one signature rule a raw rate measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RawVerifier {
    /// ed25519-dalek's `verify_strict`, one signature at a time: the library's reference rate.
    VerifyStrict,
    /// The project's prepared verifier (`coalition_core::strict`), in steps whose signatures
    /// share field inversions, as `verify` and `audit` use it: the same decisions, less work.
    Prepared,
}

impl RawVerifier {
    /// How the rate is labelled in the printed tables.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::VerifyStrict => "raw verify_strict",
            Self::Prepared => "raw prepared verifier",
        }
    }
}

/// Raw signature checks (no parsing, no feed rules) over the generated texts and signatures, on
/// `threads` threads, with `verifier`.
pub(crate) fn raw_verify_rate(generated: &Generated, threads: usize, verifier: RawVerifier) -> Result<f64> {
    let jobs: Vec<(usize, &str, [u8; 64])> = generated
        .notes
        .iter()
        .map(|note| {
            let parsed = coalition_core::note::parse_note(note)?;
            let signature = parsed.signatures()[0].ed25519_signature().copied().context("ed25519 signature")?;
            let key_index = generated
                .keys
                .iter()
                .position(|key| key.key_id() == parsed.signatures()[0].key_id())
                .context("known key")?;
            Ok((key_index, parsed.text(), signature))
        })
        .collect::<Result<_>>()?;
    let reference_keys: Vec<ed25519_dalek::VerifyingKey> = generated
        .keys
        .iter()
        .map(|key| ed25519_dalek::VerifyingKey::from_bytes(key.public_key()))
        .collect::<Result<_, _>>()?;
    let check_reference = |chunk: &[(usize, &str, [u8; 64])]| {
        chunk
            .iter()
            .filter(|(key, text, signature)| {
                let signature = ed25519_dalek::Signature::from_bytes(signature);
                reference_keys[*key].verify_strict(text.as_bytes(), &signature).is_ok()
            })
            .count()
    };
    let check_prepared = |chunk: &[(usize, &str, [u8; 64])]| {
        let mut steps = Vec::with_capacity(SIGNATURES_PER_INVERSION_MAX);
        let mut valid = 0;
        for step in chunk.chunks(SIGNATURES_PER_INVERSION_MAX) {
            steps.clear();
            steps.extend(
                step.iter().map(|(key, text, signature)| (generated.keys[*key].strict(), text.as_bytes(), signature)),
            );
            valid += verify_each(&steps).into_iter().filter(|verdict| *verdict).count();
        }
        valid
    };
    let chunk_len = jobs.len().div_ceil(threads.max(1));
    let started = Instant::now();
    let valid: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = jobs
            .chunks(chunk_len)
            .map(|chunk| {
                scope.spawn(move || match verifier {
                    RawVerifier::VerifyStrict => check_reference(chunk),
                    RawVerifier::Prepared => check_prepared(chunk),
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().unwrap_or(0)).sum()
    });
    let seconds = started.elapsed().as_secs_f64();
    if valid != jobs.len() {
        bail!("raw verification ({}) rejected {} signatures", verifier.label(), jobs.len() - valid);
    }
    Ok(jobs.len() as f64 / seconds)
}

/// Runs `coalition verify --stats` in a child process (so its peak memory is its own) and reads
/// back its rate and peak resident memory.
fn verify_child(genesis: &std::path::Path, bundle: &std::path::Path, threads: usize) -> Result<(f64, u64)> {
    let output = Command::new(std::env::current_exe()?)
        .args(["verify", "--stats", "--threads", &threads.to_string(), "--genesis"])
        .arg(genesis)
        .arg(bundle)
        .output()
        .context("cannot run coalition verify")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("coalition verify failed: {stderr}");
    }
    let field = |name: &str| -> Result<f64> {
        stderr
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|value| value.parse().ok())
            .with_context(|| format!("no {name} in: {stderr}"))
    };
    Ok((field("rate_events_per_s ")?, field("peak_rss_kib ")? as u64))
}

pub fn run(command: BenchCommand) -> Result<Outcome> {
    match command {
        BenchCommand::Verify(args) => run_verify(&args),
        BenchCommand::Append(args) => run_append(&args),
        BenchCommand::Audit(args) => crate::bench_audit::run(&args),
        BenchCommand::Seal(args) => crate::bench_seal::run(&args),
        BenchCommand::Reports(args) => crate::bench_reports::run(&args),
    }
}

fn percentile(sorted_ms: &[f64], fraction: f64) -> f64 {
    let index = ((sorted_ms.len() as f64 - 1.0) * fraction).round() as usize;
    sorted_ms.get(index).copied().unwrap_or(0.0)
}

/// Runs `writers` threads each making `per_writer` appends; returns (appends per second, sorted
/// latencies in milliseconds).
fn timed_appends(node: &coalition_node::Node, writers: usize, per_writer: usize) -> Result<(f64, Vec<f64>)> {
    let started = Instant::now();
    let latencies = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..writers)
            .map(|writer| {
                scope.spawn(move || -> Result<Vec<f64>> {
                    let mut latencies = Vec::with_capacity(per_writer);
                    for index in 0..per_writer {
                        let body = serde_json::json!({"facts": {"name_uk": format!("Особа {writer}-{index}")}});
                        let begun = Instant::now();
                        node.submit(EventKind::CaseOpened, body)?;
                        latencies.push(begun.elapsed().as_secs_f64() * 1e3);
                    }
                    Ok(latencies)
                })
            })
            .collect();
        let mut all = Vec::new();
        for thread in threads {
            all.extend(thread.join().map_err(|_| anyhow::anyhow!("a writer panicked"))??);
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    let rate = latencies.len() as f64 / started.elapsed().as_secs_f64();
    let mut sorted = latencies;
    sorted.sort_by(f64::total_cmp);
    Ok((rate, sorted))
}

/// Organisations (feeds) of the start-up store.
const STARTUP_ORGS: usize = 8;
/// Events of the start-up store whose signatures are verified for the raw rate beside start-up.
const STARTUP_VERIFY_SAMPLE: usize = 100_000;

/// Batches of the raw batched-commit measurement.
const RAW_BATCHES: usize = 20;

/// `count` events of one feed (seq 1 on), signed with `key`, for raw store measurements.
fn signed_chain(genesis: &Genesis, key: &SignerKey, count: usize) -> Result<Vec<SignedEvent>> {
    let mut events = Vec::with_capacity(count);
    let mut prev = None;
    for seq in 1..=count as u64 {
        let body = parse_body(EventKind::CaseOpened, r#"{"facts":{"name_uk":"Особа"}}"#)?;
        let event = Event {
            ledger: genesis.ledger_id(),
            org: OrgSlug::parse(ORG_NAMES[0])?,
            seq,
            prev,
            time: genesis.doc().created,
            deps: Vec::new(),
            body,
        }
        .sign(key)?;
        prev = Some(event.id());
        events.push(event);
    }
    Ok(events)
}

fn run_append(args: &AppendBenchArgs) -> Result<Outcome> {
    let temporary = TempDir::new()?;
    let generated = generate(1, 1)?;
    let key = signer(0)?;
    // Raw durable commits, pre-signed events straight into a store with each of redb's commit
    // protocols: one event per commit (a lone writer's bound), and batches as large as the
    // writers can fill (group commit's bound: one commit per batch, nothing else).
    let batch_events = args.writers.clamp(1, coalition_store::limits::APPEND_BATCH_EVENTS_MAX);
    let raw_events = signed_chain(&generated.genesis, &key, args.single.max(1) + batch_events * RAW_BATCHES)?;
    let (single_events, batched_events) = raw_events.split_at(args.single.max(1));
    let mut raw_rates = Vec::new();
    for (label, two_phase) in [("two-phase", true), ("one-phase", false)] {
        let raw_store = coalition_store::OpenOptions::new()
            .two_phase_commit(two_phase)
            .open(&temporary.path.join(label), generated.genesis.ledger_id())?;
        let started = Instant::now();
        for event in single_events {
            coalition_store::EventStore::append(&raw_store, std::slice::from_ref(event))?;
        }
        let single_rate = single_events.len() as f64 / started.elapsed().as_secs_f64();
        let started = Instant::now();
        for batch in batched_events.chunks(batch_events) {
            coalition_store::EventStore::append(&raw_store, batch)?;
        }
        let batched_rate = batched_events.len() as f64 / started.elapsed().as_secs_f64();
        raw_rates.push((format!("raw store: one {label} durable commit per event"), single_rate));
        raw_rates.push((format!("raw store: {label} commits of {batch_events} events"), batched_rate));
    }

    let node = coalition_node::Node::open(&temporary.path.join("node"), generated.genesis.clone(), Some(key))?;
    let (single_rate, single) = timed_appends(&node, 1, args.single)?;
    let (many_rate, many) = timed_appends(&node, args.writers, args.per_writer)?;
    println!("{:<52} {:>12} {:>10} {:>10}", "", "appends/s", "p50 ms", "p99 ms");
    for (label, rate) in raw_rates {
        println!("{label:<52} {rate:>12.0}");
    }
    for (label, rate, latencies) in [
        ("node: 1 writer (sign + group commit + projection)", single_rate, &single),
        (&*format!("node: {} writers", args.writers), many_rate, &many),
    ] {
        println!(
            "{:<52} {:>12.0} {:>10.2} {:>10.2}",
            label,
            rate,
            percentile(latencies, 0.5),
            percentile(latencies, 0.99)
        );
    }
    println!("(target: 64 writers at least 10,000 acknowledged appends/s through group commit)");
    drop(node);

    if args.startup_events > 0 {
        let data = args.startup_store.clone().unwrap_or_else(|| temporary.path.join("startup"));
        let reuse = data.join(coalition_store::limits::STORE_FILE_NAME).exists();
        let genesis = if reuse {
            // Generation is deterministic (fixed keys and times): the genesis is the same.
            let genesis = generate(0, STARTUP_ORGS)?.genesis;
            let store = coalition_store::RedbStore::open(&data, genesis.ledger_id())
                .with_context(|| format!("cannot reuse the start-up store in {}", data.display()))?;
            let held = coalition_store::EventStore::event_count(&store)?;
            if held != args.startup_events as u64 {
                bail!(
                    "{} holds a start-up store of {held} events, not {}: remove it or name another folder",
                    data.display(),
                    args.startup_events
                );
            }
            genesis
        } else {
            let generated = generate(args.startup_events, STARTUP_ORGS)?;
            let node = coalition_node::Node::open(&data, generated.genesis.clone(), None)?;
            let notes = generated.notes.iter().enumerate().map(|(index, note)| (index as u64, note.clone()));
            let report = node.import(notes)?;
            if !report.refused.is_empty() {
                bail!("generated events were refused: {:?}", report.refused.first());
            }
            // The import started a snapshot in the background, which holds the store open.
            while node.is_writing_snapshot() {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            generated.genesis
        };
        // Without a snapshot: the whole store is read, parsed and folded.
        let snapshot = coalition_node::snapshot_path(&data);
        remove_if_present(&snapshot)?;
        let (elapsed, peak_kib, node) = timed_startup(&data, &genesis)?;
        // A node writes a snapshot in the background after a full replay; wait for it, then write
        // one more to time the encoding (the only part that holds the node's lock).
        while node.is_writing_snapshot() {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let written = node.write_snapshot()?.context("the node wrote no snapshot")?;
        let cases = node.with_projection(|projection| projection.case_count());
        let list_hash = node.with_projection(|projection| projection.list_summary().map(|summary| summary.hash));
        // The bound start-up is measured against: verifying every signature again on every core.
        let mut sample = Vec::with_capacity(STARTUP_VERIFY_SAMPLE);
        node.for_each_event(&mut |event| {
            sample.push(event.note().to_owned());
            if sample.len() < STARTUP_VERIFY_SAMPLE { ControlFlow::Continue(()) } else { ControlFlow::Break(()) }
        })?;
        drop(node);
        let (snapshot_elapsed, snapshot_peak_kib, node) = timed_startup(&data, &genesis)?;
        let snapshot_hash = node.with_projection(|projection| projection.list_summary().map(|summary| summary.hash));
        if snapshot_hash.as_ref().ok() != list_hash.as_ref().ok() {
            bail!("the node started from the snapshot serves another list than after a full replay");
        }
        drop(node);
        remove_if_present(&snapshot)?;
        let keys = (0..STARTUP_ORGS).map(|index| signer(index).map(|key| key.verifier_key())).collect::<Result<_>>()?;
        let cores = events::default_threads(None);
        let sampled = Generated { genesis: generate(0, STARTUP_ORGS)?.genesis, keys, notes: sample };
        let raw_rate = raw_verify_rate(&sampled, cores, RawVerifier::VerifyStrict)?;
        println!("{:<52} {:>12} {:>10} {:>12}", "", "events/s", "seconds", "peak MiB");
        for (label, elapsed, peak_kib) in [
            (format!("node start-up, full replay ({cases} cases)"), elapsed, peak_kib),
            (
                format!("node start-up from a snapshot ({} MB)", written.bytes / 1_000_000),
                snapshot_elapsed,
                snapshot_peak_kib,
            ),
        ] {
            println!(
                "{:<52} {:>12.0} {:>10.2} {:>12.1}",
                format!("{label}, {} events", args.startup_events),
                args.startup_events as f64 / elapsed.as_secs_f64(),
                elapsed.as_secs_f64(),
                peak_kib as f64 / 1024.0
            );
        }
        println!("(writing the snapshot held the node's lock for {} ms to encode it)", written.encode_ms);
        println!(
            "{:<52} {:>12.0} {:>10.2}",
            format!("raw verify_strict on {cores} cores ({} events)", sampled.notes.len()),
            raw_rate,
            args.startup_events as f64 / raw_rate
        );
        println!(
            "(target: a million events in under 10 s, and at least the raw multi-core verification rate; \
             signatures are trusted from the node's own store, ids and chains are checked)"
        );
    }
    Ok(Outcome::Success)
}

/// Opens the node over `data` and returns how long it took, the process's peak resident memory
/// during the opening (KiB; 0 where /proc is missing), and the node.
fn timed_startup(
    data: &std::path::Path,
    genesis: &Genesis,
) -> Result<(std::time::Duration, u64, coalition_node::Node)> {
    // Writing 5 to clear_refs resets the peak (VmHWM) to the current resident size (Linux), so
    // the figure is this opening's, not the generation's before it.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    let (node, report) = coalition_node::Node::open_reporting(data, genesis.clone(), None)?;
    let elapsed = started.elapsed();
    if let Some(rejected) = &report.snapshot_rejected {
        bail!("the snapshot was not used: {rejected}");
    }
    Ok((elapsed, peak_resident_kib().unwrap_or(0), node))
}

fn remove_if_present(path: &std::path::Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The process's peak resident memory (VmHWM), KiB.
fn peak_resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn run_verify(args: &VerifyBenchArgs) -> Result<Outcome> {
    let (dir, _temporary) = work_dir(args.keep_in.as_ref())?;
    let generated = generate(args.events, args.orgs)?;
    let genesis_path = dir.join("genesis.note");
    let bundle_path = dir.join("bench.jsonl");
    std::fs::write(&genesis_path, generated.genesis.note())?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(&bundle_path)?);
    for note in &generated.notes {
        file.write_all(bundle::format_line(note).as_bytes())?;
    }
    file.flush()?;
    drop(file);
    let bundle_bytes = std::fs::metadata(&bundle_path)?.len();
    let cores = events::default_threads(None);
    println!(
        "bundle: {} events, {} orgs, {:.1} MB, {} cores",
        generated.notes.len(),
        args.orgs,
        bundle_bytes as f64 / 1e6,
        cores
    );
    println!("{:<44} {:>14} {:>14} {:>9}", "", "events/s", "raw sig/s", "ratio");
    for threads in [1, cores] {
        // Alternate the two measurements so a change in machine load hits both alike.
        let mut raws = Vec::new();
        let mut rates = Vec::new();
        let mut peak_kib = 0;
        for _ in 0..args.rounds.max(1) {
            raws.push(raw_verify_rate(&generated, threads, RawVerifier::VerifyStrict)?);
            let (rate, peak) = verify_child(&genesis_path, &bundle_path, threads)?;
            rates.push(rate);
            peak_kib = peak_kib.max(peak);
        }
        let (raw, rate) = (median(&mut raws), median(&mut rates));
        println!(
            "{:<44} {:>14.0} {:>14.0} {:>8.0}%   peak memory {:.1} MiB",
            format!("full validation, {threads} thread(s)"),
            rate,
            raw,
            100.0 * rate / raw,
            peak_kib as f64 / 1024.0
        );
    }
    println!("(target: full validation at least 80% of the raw verify_strict rate on the same cores)");
    print_breakdown(&generated)?;
    Ok(Outcome::Success)
}

pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Microseconds per event of each step of validation, one thread, in memory.
fn print_breakdown(generated: &Generated) -> Result<()> {
    let count = generated.notes.len().max(1) as f64;
    let lines: Vec<String> = generated.notes.iter().map(|note| bundle::format_line(note)).collect();
    let started = Instant::now();
    let decoded: Vec<String> =
        lines.iter().map(|line| bundle::parse_line(line.trim_end_matches('\n'))).collect::<Result<_, _>>()?;
    let decode_us = started.elapsed().as_secs_f64() * 1e6 / count;
    let started = Instant::now();
    let parsed: Vec<SignedEvent> = decoded.iter().map(|note| SignedEvent::parse(note)).collect::<Result<_, _>>()?;
    let parse_us = started.elapsed().as_secs_f64() * 1e6 / count;
    let started = Instant::now();
    let valid = parsed
        .iter()
        .filter(|event| generated.keys.iter().any(|key| key.key_id() == event.key_id() && event.is_signed_by(key)))
        .count();
    let signature_us = started.elapsed().as_secs_f64() * 1e6 / count;
    if valid != parsed.len() {
        bail!("breakdown: {} signatures failed", parsed.len() - valid);
    }
    let mut verifier = coalition_core::verify::Verifier::new(&generated.genesis);
    let started = Instant::now();
    for (index, note) in decoded.iter().enumerate() {
        verifier.push(index as u64, note);
    }
    let total_us = started.elapsed().as_secs_f64() * 1e6 / count;
    println!(
        "per event, 1 thread: bundle line {decode_us:.1} us, parse and schema {parse_us:.1} us, \
         signature {signature_us:.1} us; whole verifier {total_us:.1} us"
    );
    Ok(())
}

/// The folder a benchmark writes its files in: `keep_in` (created if missing) when given, else a
/// temporary folder removed when the returned guard drops.
pub(crate) fn work_dir(keep_in: Option<&PathBuf>) -> Result<(PathBuf, Option<TempDir>)> {
    match keep_in {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            Ok((dir.clone(), None))
        }
        None => {
            let temporary = TempDir::new()?;
            Ok((temporary.path.clone(), Some(temporary)))
        }
    }
}

/// A temporary folder removed on drop (no extra dependency for one folder).
pub(crate) struct TempDir {
    pub(crate) path: PathBuf,
}

impl TempDir {
    pub(crate) fn new() -> Result<Self> {
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|error| anyhow::anyhow!("{error}"))?;
        let path = std::env::temp_dir().join(format!("coalition-bench-{}", hex_string(&suffix)));
        std::fs::create_dir_all(&path)?;
        Ok(Self { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
