//! `coalition sign` and `coalition verify`: events in bundle files.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use coalition_core::body::{EventKind, parse_body};
use coalition_core::bundle;
use coalition_core::event::{Event, OrgSlug};
use coalition_core::genesis::Genesis;
use coalition_core::time::Timestamp;
use coalition_core::verify::{KeyBook, Outcome as VerifyOutcome, Rejection, Tag, Verifier};
use serde_json::json;

use crate::{Outcome, files, genesis, keys};

/// Notes checked concurrently per batch: large enough that starting threads costs nothing
/// measurable, small enough that the batches in flight stay a few megabytes.
const VERIFY_BATCH_NOTES: usize = 1024;
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
    /// Also print the time taken, the rate and the peak memory (on stderr).
    #[arg(long)]
    stats: bool,
}

/// One problem found while reading bundles.
pub(crate) struct Problem {
    pub(crate) tag: Tag,
    pub(crate) org: Option<OrgSlug>,
    pub(crate) seq: Option<u64>,
    pub(crate) id: Option<String>,
    pub(crate) code: &'static str,
    pub(crate) reason: String,
}

/// The result of reading and verifying bundles.
pub struct BundleReport {
    pub verifier: Verifier,
    pub accepted: Vec<coalition_core::event::SignedEvent>,
    /// Validly signed events after a fork in their feed (kept with `keep_events`): they have no
    /// effect, but events of other feeds may name them.
    pub frozen: Vec<coalition_core::event::SignedEvent>,
    problems: Vec<Problem>,
    duplicates: usize,
    forks: Vec<coalition_core::verify::ForkFound>,
}

impl BundleReport {
    /// Every note left out, in source order.
    pub(crate) fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Notes seen again after they were accepted.
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// Forks found, with both event ids.
    pub fn forks(&self) -> &[coalition_core::verify::ForkFound] {
        &self.forks
    }

    /// Prints one line per problem on stderr and returns how many there were.
    pub fn print_problems_to_stderr(&self, bundles: &[PathBuf]) -> usize {
        for problem in &self.problems {
            eprintln!("{}", problem_line(problem, bundles));
        }
        if !self.problems.is_empty() {
            eprintln!("{} events left out; `coalition verify` shows the same report", self.problems.len());
        }
        self.problems.len()
    }
}

/// One problem in words: where (bundle:line), which feed position, and why.
fn problem_line(problem: &Problem, bundles: &[PathBuf]) -> String {
    let position = match (&problem.org, problem.seq) {
        (Some(org), Some(seq)) => format!("{org} seq {seq}: "),
        _ => String::new(),
    };
    format!("{}: {position}{}", describe_tag(problem.tag, bundles), problem.reason)
}

fn tag_of(bundle_index: usize, line_number: u64) -> Tag {
    ((bundle_index as u64) << TAG_LINE_BITS) | line_number
}

pub(crate) fn describe_tag(tag: Tag, bundles: &[PathBuf]) -> String {
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
    let mut accepted = Vec::new();
    let mut frozen = Vec::new();
    let mut keep = |kept: Kept| match kept {
        Kept::Accepted(event) => accepted.push(event),
        Kept::Frozen(event) => frozen.push(event),
    };
    let sink: Option<&mut dyn FnMut(Kept)> = if keep_events { Some(&mut keep) } else { None };
    let mut report = verify_lines(genesis, |sender| read_batches(paths, sender), threads, sink, &mut |_| {})?;
    report.accepted = accepted;
    report.frozen = frozen;
    Ok(report)
}

/// An event the verifier did not refuse, handed to the caller's sink as soon as it is decided.
pub enum Kept {
    /// A valid event that continues its feed.
    Accepted(coalition_core::event::SignedEvent),
    /// A validly signed event of a feed frozen by a fork (no effect, but other feeds may name it).
    Frozen(coalition_core::event::SignedEvent),
}

/// Sends batches of lines to verify; an `Err` batch stops the reading with that error.
pub type LineSender = std::sync::mpsc::SyncSender<Result<Vec<RawLine>>>;

/// Verifies the lines `source` sends (on a thread of its own, so reading overlaps checking),
/// handing each event the verifier does not refuse to `sink` as it is decided, in feed order, and
/// calling `progress` with the number of lines done after each batch. `sink` lets a caller keep
/// what it needs of each event (the whole note, or only the parsed event) instead of everything.
pub fn verify_lines(
    genesis: &Genesis,
    source: impl FnOnce(&LineSender) + Send,
    threads: usize,
    mut sink: Option<&mut dyn FnMut(Kept)>,
    progress: &mut dyn FnMut(u64),
) -> Result<BundleReport> {
    let mut report = BundleReport {
        verifier: Verifier::new(genesis),
        accepted: Vec::new(),
        frozen: Vec::new(),
        problems: Vec::new(),
        duplicates: 0,
        forks: Vec::new(),
    };
    // A reader thread keeps the next batch ready while this thread and the workers check the
    // current one, so reading never leaves a core idle.
    std::thread::scope(|scope| -> Result<()> {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<Vec<RawLine>>>(READ_AHEAD_BATCHES);
        scope.spawn(move || source(&sender));
        // Batch k+1 is checked (from a key snapshot) while batch k is accepted, so the sequential
        // feed rules never leave the other cores idle.
        // Two buffers, swapped after every batch: the one being filled and the one being
        // accepted. Reusing them saves taking fresh memory from the system for every batch.
        let mut checked: Vec<Option<CheckedLine>> = Vec::new();
        let mut accepting: Vec<Option<CheckedLine>> = Vec::new();
        let mut lines_done = 0u64;
        for batch in receiver {
            let mut batch = batch?;
            let book = report.verifier.key_book();
            check_batch(&mut report, &mut batch, &mut accepting, &mut checked, &book, threads, &mut sink);
            std::mem::swap(&mut accepting, &mut checked);
            lines_done += batch.len() as u64;
            progress(lines_done);
        }
        accept_batch(&mut report, &mut accepting, &mut sink);
        Ok(())
    })?;
    let leftovers = report.verifier.finish();
    record(&mut report, leftovers, &mut sink);
    report.problems.sort_by_key(|problem| problem.tag);
    Ok(report)
}

/// Batches read ahead of the one being checked.
const READ_AHEAD_BATCHES: usize = 2;

/// One line of a bundle as read: its tag and bytes, or `None` when it was longer than a bundle
/// line may be (its bytes were skipped, not buffered).
pub type RawLine = (Tag, Option<Vec<u8>>);

pub(crate) fn read_batches(paths: &[PathBuf], sender: &LineSender) {
    for (index, path) in paths.iter().enumerate() {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(error) => {
                let _ = sender
                    .send(Err(anyhow::Error::new(error).context(format!("cannot open bundle {}", path.display()))));
                return;
            }
        };
        let mut reader = BufReader::new(file);
        let mut batch = Vec::with_capacity(VERIFY_BATCH_NOTES);
        let mut line_number = 0u64;
        loop {
            match read_line_bounded(&mut reader, bundle::BUNDLE_LINE_BYTES_MAX) {
                Ok(None) => break,
                Ok(Some(line)) => {
                    line_number += 1;
                    batch.push((tag_of(index, line_number), line));
                }
                Err(error) => {
                    let context = format!("cannot read {} after line {line_number}", path.display());
                    let _ = sender.send(Err(anyhow::Error::new(error).context(context)));
                    return;
                }
            }
            if batch.len() == VERIFY_BATCH_NOTES && sender.send(Ok(std::mem::take(&mut batch))).is_err() {
                return;
            }
        }
        if !batch.is_empty() && sender.send(Ok(batch)).is_err() {
            return;
        }
    }
}

/// Reads one line (without its newline). `Ok(None)` at the end of the input; `Ok(Some(None))`
/// for a line longer than `max_bytes`, whose bytes are skipped without being buffered, so a
/// hostile file cannot make us hold gigabytes.
pub(crate) fn read_line_bounded(
    reader: &mut impl BufRead,
    max_bytes: usize,
) -> std::io::Result<Option<Option<Vec<u8>>>> {
    let mut line = Vec::new();
    Ok(read_line_into(reader, max_bytes, &mut line)?.map(|fits| fits.then_some(line)))
}

/// Reads one line (without its newline) into `line`, replacing what it held. `Ok(None)` at the
/// end of the input; `Ok(Some(false))` for a line longer than `max_bytes`, whose bytes are
/// skipped without being buffered (`line` is then empty).
pub(crate) fn read_line_into(
    reader: &mut impl BufRead,
    max_bytes: usize,
    line: &mut Vec<u8>,
) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            break;
        }
        any = true;
        let (chunk, done) = match memchr::memchr(b'\n', available) {
            Some(end) => (&available[..end], Some(end + 1)),
            None => (available, None),
        };
        if !too_long {
            if line.len() + chunk.len() > max_bytes {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let consumed = done.unwrap_or(chunk.len());
        reader.consume(consumed);
        if done.is_some() {
            break;
        }
    }
    Ok(any.then_some(!too_long))
}

/// A bundle line after checking: ready for the feed rules, or refused with a reason.
type CheckedLine = Result<coalition_core::verify::Checked, (Tag, String)>;

/// Reads one line's note, taking its bytes (a line's buffer becomes its note's).
fn line_note((tag, line): &mut RawLine) -> Result<(Tag, String), (Tag, String)> {
    let tag = *tag;
    let line = line
        .take()
        .ok_or_else(|| (tag, format!("bundle line is longer than {} bytes", bundle::BUNDLE_LINE_BYTES_MAX)))?;
    let note = bundle::parse_line_bytes(line).map_err(|error| (tag, error.to_string()))?;
    Ok((tag, note))
}

/// Checks a few lines into their slots (in order), their signatures together.
fn check_lines(book: &KeyBook, lines: &mut [RawLine], slots: &mut [Option<CheckedLine>]) {
    let mut notes = Vec::with_capacity(lines.len());
    let mut note_slots = Vec::with_capacity(lines.len());
    for (slot, line) in slots.iter_mut().zip(lines.iter_mut()) {
        match line_note(line) {
            Ok(note) => {
                notes.push(note);
                note_slots.push(slot);
            }
            Err(refused) => *slot = Some(Err(refused)),
        }
    }
    for (slot, checked) in note_slots.into_iter().zip(book.check_owned_many(notes)) {
        *slot = Some(Ok(checked));
    }
}

/// Lines a thread takes from the shared batch at a time: small enough to balance the threads'
/// loads, large enough that taking them costs nothing measurable and that their signature checks
/// share a field inversion ([`coalition_core::strict::SIGNATURES_PER_INVERSION_MAX`]).
const CHECK_STEP_LINES: usize = coalition_core::strict::SIGNATURES_PER_INVERSION_MAX;

/// Checks `lines` (taking their bytes) into `checked` (one slot per line, in order) on `threads`
/// threads while this thread first accepts `previous` (the batch before, left empty) and then
/// joins the checking.
/// Threads take lines in small steps from a shared iterator, so they finish together whatever
/// each one's other work.
fn check_batch(
    report: &mut BundleReport,
    lines: &mut [RawLine],
    previous: &mut Vec<Option<CheckedLine>>,
    checked: &mut Vec<Option<CheckedLine>>,
    book: &KeyBook,
    threads: usize,
    sink: &mut Option<&mut dyn FnMut(Kept)>,
) {
    checked.clear();
    checked.resize_with(lines.len(), || None);
    let steps = std::sync::Mutex::new(lines.chunks_mut(CHECK_STEP_LINES).zip(checked.chunks_mut(CHECK_STEP_LINES)));
    let take_and_check = || {
        // A poisoned lock means another checking thread panicked: stop; its lines stay unchecked.
        while let Some((step_lines, slots)) = steps.lock().ok().and_then(|mut steps| steps.next()) {
            check_lines(book, step_lines, slots);
        }
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = (1..threads.max(1)).map(|_| scope.spawn(take_and_check)).collect();
        accept_batch(report, previous, sink);
        take_and_check();
        for worker in workers {
            if worker.join().is_err() {
                eprintln!("internal error: a verification thread panicked");
            }
        }
    });
    // Only a panic (a bug) leaves a line unchecked: it is reported, never silently dropped.
    for (slot, (tag, _)) in checked.iter_mut().zip(lines.iter()) {
        if slot.is_none() {
            *slot = Some(Err((*tag, "internal error: this line was not checked (a thread panicked)".to_owned())));
        }
    }
}

/// Applies the feed rules to a checked batch, in order, leaving `checked` empty.
fn accept_batch(
    report: &mut BundleReport,
    checked: &mut Vec<Option<CheckedLine>>,
    sink: &mut Option<&mut dyn FnMut(Kept)>,
) {
    for result in checked.drain(..).flatten() {
        match result {
            Ok(checked) => {
                let outcomes = report.verifier.accept(checked);
                record(report, outcomes, sink);
            }
            Err((tag, reason)) => {
                report.problems.push(Problem { tag, org: None, seq: None, id: None, code: "bundle_line", reason })
            }
        }
    }
}

fn record(report: &mut BundleReport, outcomes: Vec<VerifyOutcome>, sink: &mut Option<&mut dyn FnMut(Kept)>) {
    for outcome in outcomes {
        match outcome {
            VerifyOutcome::Accepted { event, .. } => {
                if let Some(sink) = sink {
                    sink(Kept::Accepted(*event));
                }
            }
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
            VerifyOutcome::Frozen { tag, fork_seq, event } => {
                let content = event.event();
                report.problems.push(Problem {
                    tag,
                    org: Some(content.org.clone()),
                    seq: Some(content.seq),
                    id: Some(event.id().to_string()),
                    code: "frozen_by_fork",
                    reason: format!("feed of {} is frozen by a fork at seq {fork_seq}: no effect", content.org),
                });
                if let Some(sink) = sink {
                    sink(Kept::Frozen(*event));
                }
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
    let started = std::time::Instant::now();
    let report = read_bundles(&genesis, &args.bundles, default_threads(args.threads), false)?;
    let elapsed_s = started.elapsed().as_secs_f64();
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
            println!("{}", problem_line(problem, &args.bundles));
        }
        eprintln!(
            "{} valid events in {} feeds{}; {} problems",
            events,
            heads.len(),
            if report.duplicates > 0 { format!(" ({} duplicates skipped)", report.duplicates) } else { String::new() },
            report.problems.len()
        );
    }
    if args.stats {
        eprintln!("elapsed_s {elapsed_s:.3}");
        eprintln!("rate_events_per_s {:.0}", events as f64 / elapsed_s.max(1e-9));
        if let Some(peak) = peak_rss_kib() {
            eprintln!("peak_rss_kib {peak}");
        }
    }
    Ok(if report.problems.is_empty() { Outcome::Success } else { Outcome::Findings })
}

/// The process's peak resident memory, where the system tells it (Linux).
pub(crate) fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
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
