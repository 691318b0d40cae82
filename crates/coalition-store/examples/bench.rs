//! Storage benchmark of coalition-store, printed beside the raw redb commit rates measured in the
//! same run:
//!
//! - append throughput and latency (p50, p99) with 1 writer, and with 64 concurrent writers
//!   through the `GroupCommitter` (64 feeds, and one feed written from 64 threads the way a node
//!   does), events signed beforehand so the figures are storage only;
//! - start-up of a store of `--events` events (default 1,000,000): open (with the page check, and
//!   without) plus `for_each_event` with its integrity checks, and the peak memory of that
//!   start-up, measured in a child process so generation does not count.
//!
//! ```text
//! cargo run --release -p coalition-store --example bench -- [--events N] [--keep-in DIR] [--skip-startup]
//! ```

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coalition_core::body::{EventKind, parse_body};
use coalition_core::event::{Event, EventId, LedgerId, OrgSlug, SignedEvent};
use coalition_core::keys::{KeyName, SignerKey};
use coalition_core::time::Timestamp;
use coalition_store::limits::APPEND_BATCH_EVENTS_MAX;
use coalition_store::{EventStore, GroupCommitter, OpenOptions, RedbStore};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const ORIGIN: &str = "bench.example";
/// Feeds of the start-up store (the coalition has 8 members).
const STARTUP_FEEDS: usize = 8;
/// Concurrent writers of the group-commit figures.
const WRITERS: usize = 64;
/// Appends per writer in the group-commit figures.
const PER_WRITER: usize = 150;
/// Single-writer appends (one durable commit each).
const SINGLE_APPENDS: usize = 1_000;

struct Args {
    events: usize,
    keep_in: Option<PathBuf>,
    skip_startup: bool,
    startup_child: Option<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args { events: 1_000_000, keep_in: None, skip_startup: false, startup_child: None };
    let mut raw = std::env::args().skip(1);
    while let Some(flag) = raw.next() {
        match flag.as_str() {
            "--events" => args.events = raw.next().ok_or("--events needs a number")?.replace('_', "").parse()?,
            "--keep-in" => args.keep_in = Some(raw.next().ok_or("--keep-in needs a folder")?.into()),
            "--skip-startup" => args.skip_startup = true,
            "--startup-child" => args.startup_child = Some(raw.next().ok_or("--startup-child needs a folder")?.into()),
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    Ok(args)
}

fn ledger() -> LedgerId {
    LedgerId::of_text(b"coalition-store benchmark ledger (fictional)")
}

fn slug(index: usize) -> OrgSlug {
    OrgSlug::parse(&format!("org-{index:02}")).unwrap_or_else(|_| unreachable!("valid slug"))
}

fn signer(index: usize) -> Result<SignerKey> {
    let name = KeyName::parse(&format!("{ORIGIN}/org-{index:02}"))?;
    let mut seed = [0xb5u8; 32];
    seed[..8].copy_from_slice(&(index as u64).to_le_bytes());
    Ok(SignerKey::from_seed(name, seed))
}

/// A realistic `case.opened` body (about the size of a real one).
fn body(index: u64) -> Result<coalition_core::body::Body> {
    let json = format!(
        r#"{{"facts":{{"case_group":"Hizb ut-Tahrir case","charges":[{{"article":"205.5","code":"ru_criminal_code","part":"2"}}],"detention_date":"2019-03-27","detention_place":"Сімферополь","name_en":"Test Person {index}","name_ru":"Тестовый Человек {index}","name_uk":"Тестова Особа {index}","region":"crimea","stage":"serving_sentence","summary_en":"Fictional person generated for a benchmark; detained after a search of the home, charged with participation in an organisation banned in Russia.","summary_uk":"Вигадана особа для вимірювання швидкодії."}}}}"#
    );
    Ok(parse_body(EventKind::CaseOpened, &json)?)
}

/// Signs `count` events of feed `feed`, continuing from `head`, with `deps` naming other feeds.
fn sign_feed(
    feed: usize,
    head: Option<(u64, EventId)>,
    count: usize,
    deps: &[EventId],
    first_index: u64,
) -> Result<Vec<SignedEvent>> {
    let key = signer(feed)?;
    let start = Timestamp::parse("2026-01-01T00:00:00Z")?.unix_seconds();
    let mut head = head;
    let mut events = Vec::with_capacity(count);
    for offset in 0..count as u64 {
        let (seq, prev) = head.map_or((1, None), |(seq, id)| (seq + 1, Some(id)));
        let event = Event {
            ledger: ledger(),
            org: slug(feed),
            seq,
            prev,
            time: Timestamp::from_unix_seconds(start + seq as i64).ok_or("time out of range")?,
            deps: deps.to_vec(),
            body: body(first_index + offset)?,
        };
        let signed = event.sign(&key)?;
        head = Some((seq, signed.id()));
        events.push(signed);
    }
    Ok(events)
}

/// Signs `per_feed` events for each of `feeds` feeds, on all cores.
fn sign_feeds(feeds: usize, per_feed: usize) -> Result<Vec<Vec<SignedEvent>>> {
    let threads = std::thread::available_parallelism().map_or(2, |count| count.get());
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<(usize, Vec<SignedEvent>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> std::result::Result<(), String> {
                    loop {
                        let feed = {
                            let mut next = next.lock().map_err(|error| error.to_string())?;
                            let feed = *next;
                            *next += 1;
                            feed
                        };
                        if feed >= feeds {
                            return Ok(());
                        }
                        let events = sign_feed(feed, None, per_feed, &[], (feed * per_feed) as u64)
                            .map_err(|error| error.to_string())?;
                        results.lock().map_err(|error| error.to_string())?.push((feed, events));
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().map_err(|_| "signing thread panicked")??;
        }
        Ok(())
    })?;
    let mut results = results.into_inner().map_err(|error| error.to_string())?;
    results.sort_by_key(|(feed, _)| *feed);
    Ok(results.into_iter().map(|(_, events)| events).collect())
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn latency_line(mut latencies: Vec<Duration>) -> String {
    latencies.sort();
    format!(
        "p50 {:.2} ms, p99 {:.2} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    )
}

/// Raw redb: durable commits of `per_commit` records of `record_bytes`, with and without
/// two-phase commit.
fn raw_redb(dir: &Path, per_commit: usize, commits: usize, two_phase: bool, record_bytes: usize) -> Result<f64> {
    const TABLE: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("raw");
    let path = dir.join(format!("raw-{per_commit}-{two_phase}.redb"));
    let db = redb::Database::create(&path)?;
    let record = vec![b'x'; record_bytes];
    let started = Instant::now();
    let mut key = 0u64;
    for _ in 0..commits {
        let mut txn = db.begin_write()?;
        txn.set_durability(redb::Durability::Immediate)?;
        txn.set_two_phase_commit(two_phase);
        {
            let mut table = txn.open_table(TABLE)?;
            for _ in 0..per_commit {
                table.insert(key, record.as_slice())?;
                key += 1;
            }
        }
        txn.commit()?;
    }
    let rate = key as f64 / started.elapsed().as_secs_f64();
    drop(db);
    std::fs::remove_file(path)?;
    Ok(rate)
}

fn single_writer(dir: &Path, events: &[SignedEvent]) -> Result<()> {
    let store = RedbStore::open(&dir.join("single"), ledger())?;
    let mut latencies = Vec::with_capacity(events.len());
    let started = Instant::now();
    for event in events {
        let begun = Instant::now();
        store.append(std::slice::from_ref(event))?;
        latencies.push(begun.elapsed());
    }
    let rate = events.len() as f64 / started.elapsed().as_secs_f64();
    println!("  1 writer, store.append of 1 event:          {rate:>9.0} events/s   {}", latency_line(latencies));
    Ok(())
}

fn through_committer(dir: &Path, name: &str, work: Vec<Vec<SignedEvent>>) -> Result<()> {
    let store: Arc<dyn EventStore> = Arc::new(RedbStore::open(&dir.join(name), ledger())?);
    let committer = GroupCommitter::start(Arc::clone(&store))?;
    let writers = work.len();
    let total: usize = work.iter().map(Vec::len).sum();
    let started = Instant::now();
    let latencies: Vec<Duration> = std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .into_iter()
            .map(|events| {
                let committer = &committer;
                scope.spawn(move || {
                    events
                        .into_iter()
                        .map(|event| {
                            let begun = Instant::now();
                            committer.submit(event).map(|_| begun.elapsed())
                        })
                        .collect::<std::result::Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or(Err(coalition_store::StoreError::CommitterStopped)))
            .collect::<std::result::Result<Vec<_>, _>>()
    })?
    .into_iter()
    .flatten()
    .collect();
    let elapsed = started.elapsed().as_secs_f64();
    let (events, commits) = (committer.events(), committer.commits());
    committer.shutdown();
    assert_eq!(store.event_count()?, total as u64);
    println!(
        "  {writers:>2} writers, GroupCommitter, {:<14} {:>9.0} events/s   {}   ({:.1} events per commit)",
        format!("{name}:"),
        total as f64 / elapsed,
        latency_line(latencies),
        events as f64 / commits.max(1) as f64
    );
    Ok(())
}

/// 64 threads writing one feed, the node's way: take the next seq and enqueue under the feed's
/// lock, wait for durability outside it.
fn one_feed_many_writers(dir: &Path, events: Vec<SignedEvent>) -> Result<()> {
    let store: Arc<dyn EventStore> = Arc::new(RedbStore::open(&dir.join("one-feed"), ledger())?);
    let committer = GroupCommitter::start(Arc::clone(&store))?;
    let total = events.len();
    let feed = Mutex::new(events.into_iter());
    let started = Instant::now();
    let latencies: Vec<Duration> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|_| {
                scope.spawn(|| -> std::result::Result<Vec<Duration>, String> {
                    let mut latencies = Vec::new();
                    loop {
                        let begun = Instant::now();
                        let pending = {
                            let mut feed = feed.lock().map_err(|error| error.to_string())?;
                            let Some(event) = feed.next() else { return Ok(latencies) };
                            committer.enqueue(event).map_err(|error| error.to_string())?
                        };
                        pending.wait().map_err(|error| error.to_string())?;
                        latencies.push(begun.elapsed());
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|_| Err("writer panicked".into())))
            .collect::<std::result::Result<Vec<_>, _>>()
    })?
    .into_iter()
    .flatten()
    .collect();
    let elapsed = started.elapsed().as_secs_f64();
    let (appended, commits) = (committer.events(), committer.commits());
    committer.shutdown();
    assert_eq!(store.event_count()?, total as u64);
    println!(
        "  {WRITERS} writers, GroupCommitter, one feed:      {:>9.0} events/s   {}   ({:.1} events per commit)",
        total as f64 / elapsed,
        latency_line(latencies),
        appended as f64 / commits.max(1) as f64
    );
    Ok(())
}

/// Creates (or reuses) a store of `events` events in `dir`, feeds interleaved with deps.
fn generate_startup_store(dir: &Path, events: usize) -> Result<()> {
    let probe = OpenOptions::new().check_pages(false).open(dir, ledger())?;
    let have = probe.event_count()?;
    if have == events as u64 {
        println!("  reusing the store of {have} events in {}", dir.display());
        return Ok(());
    }
    if have != 0 {
        return Err(format!("{} holds {have} events, not {events}: use another folder", dir.display()).into());
    }
    let threads = std::thread::available_parallelism().map_or(2, |count| count.get());
    println!("  generating {events} signed events in {STARTUP_FEEDS} feeds on {threads} threads ...");
    let started = Instant::now();
    let per_round_per_feed = (APPEND_BATCH_EVENTS_MAX / STARTUP_FEEDS).max(1);
    let mut heads: Vec<Option<(u64, EventId)>> = vec![None; STARTUP_FEEDS];
    let mut written = 0usize;
    let mut signing = Duration::ZERO;
    let mut appending = Duration::ZERO;
    while written < events {
        let round = (events - written).min(per_round_per_feed * STARTUP_FEEDS);
        let counts: Vec<usize> =
            (0..STARTUP_FEEDS).map(|feed| round / STARTUP_FEEDS + usize::from(feed < round % STARTUP_FEEDS)).collect();
        let signing_started = Instant::now();
        let mut deps: Vec<EventId> = heads.iter().flatten().map(|(_, id)| *id).collect();
        deps.sort();
        let next = Mutex::new(0usize);
        let signed: Mutex<Vec<(usize, Vec<SignedEvent>)>> = Mutex::new(Vec::new());
        std::thread::scope(|scope| -> Result<()> {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| -> std::result::Result<(), String> {
                        loop {
                            let feed = {
                                let mut next = next.lock().map_err(|error| error.to_string())?;
                                let feed = *next;
                                *next += 1;
                                feed
                            };
                            if feed >= STARTUP_FEEDS {
                                return Ok(());
                            }
                            let own = heads[feed].map(|(_, id)| id);
                            let others: Vec<EventId> = deps.iter().copied().filter(|id| Some(*id) != own).collect();
                            let events = sign_feed(feed, heads[feed], counts[feed], &others, written as u64)
                                .map_err(|error| error.to_string())?;
                            signed.lock().map_err(|error| error.to_string())?.push((feed, events));
                        }
                    })
                })
                .collect();
            for worker in workers {
                worker.join().map_err(|_| "signing thread panicked")??;
            }
            Ok(())
        })?;
        signing += signing_started.elapsed();
        let mut signed = signed.into_inner().map_err(|error| error.to_string())?;
        signed.sort_by_key(|(feed, _)| *feed);
        let batch: Vec<SignedEvent> = signed.into_iter().flat_map(|(_, events)| events).collect();
        for event in &batch {
            let content = event.event();
            let feed = content.org.as_str()[4..].parse::<usize>()?;
            heads[feed] = Some((content.seq, event.id()));
        }
        let appending_started = Instant::now();
        probe.append(&batch)?;
        appending += appending_started.elapsed();
        written += batch.len();
        if written % 100_000 < batch.len() {
            println!("    {written} events ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
    probe.close()?;
    println!(
        "  generated in {:.1} s (signing {:.1} s, appending in batches of {} {:.1} s = {:.0} events/s)",
        started.elapsed().as_secs_f64(),
        signing.as_secs_f64(),
        per_round_per_feed * STARTUP_FEEDS,
        appending.as_secs_f64(),
        events as f64 / appending.as_secs_f64()
    );
    Ok(())
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The start-up measurement, in its own process (so that its peak memory is its own).
fn startup_child(dir: &Path) -> Result<()> {
    for check_pages in [true, false] {
        let started = Instant::now();
        let store = OpenOptions::new().check_pages(check_pages).open(dir, ledger())?;
        let opened = started.elapsed();
        let (mut events, mut bytes) = (0u64, 0u64);
        store.for_each_event(&mut |event| {
            events += 1;
            bytes += event.note().len() as u64;
            ControlFlow::Continue(())
        })?;
        let total = started.elapsed();
        println!(
            "  open (page check {}) {:.2} s + for_each_event {:.2} s = {:.2} s for {events} events ({:.0} events/s, {:.0} bytes/event), peak RSS so far {} MiB",
            if check_pages { "on " } else { "off" },
            opened.as_secs_f64(),
            (total - opened).as_secs_f64(),
            total.as_secs_f64(),
            events as f64 / (total - opened).as_secs_f64(),
            bytes as f64 / events.max(1) as f64,
            peak_rss_kib().map_or_else(|| "?".to_owned(), |kib| (kib / 1024).to_string())
        );
        store.close()?;
    }
    let store = OpenOptions::new().check_pages(false).open(dir, ledger())?;
    let started = Instant::now();
    let report = store.verify_integrity(&mut |_| {})?;
    println!(
        "  verify_integrity (ids, chains, id index, heads): {:.2} s for {} events; peak RSS of this process {} MiB",
        started.elapsed().as_secs_f64(),
        report.events,
        peak_rss_kib().map_or_else(|| "?".to_owned(), |kib| (kib / 1024).to_string())
    );
    Ok(())
}

fn main() -> Result<()> {
    let args = parse_args()?;
    if let Some(dir) = &args.startup_child {
        return startup_child(dir);
    }
    let scratch = tempfile::tempdir()?;
    let dir = scratch.path();
    println!("coalition-store benchmark (durable commits: redb Durability::Immediate, two-phase commit)");
    println!("cores: {}", std::thread::available_parallelism().map_or(0, |count| count.get()));

    println!("\nraw redb, same disk, 700-byte records:");
    for two_phase in [false, true] {
        let one = raw_redb(dir, 1, 1_000, two_phase, 700)?;
        let hundred = raw_redb(dir, 100, 200, two_phase, 700)?;
        println!(
            "  {} commit: 1 record per commit {one:>9.0} records/s, 100 per commit {hundred:>9.0} records/s",
            if two_phase { "two-phase" } else { "one-phase" }
        );
    }

    println!("\nsigning the append workloads beforehand ...");
    let single = sign_feeds(1, SINGLE_APPENDS)?.into_iter().flatten().collect::<Vec<_>>();
    let many = sign_feeds(WRITERS, PER_WRITER)?;
    let one_feed = sign_feeds(1, WRITERS * PER_WRITER)?.into_iter().flatten().collect::<Vec<_>>();
    println!("  note size about {} bytes", single.first().map_or(0, |event| event.note().len()));

    println!("\nappend (durable when acknowledged):");
    single_writer(dir, &single)?;
    through_committer(dir, "1 feed", vec![single.clone()])?;
    through_committer(dir, "64 feeds", many)?;
    one_feed_many_writers(dir, one_feed)?;

    if args.skip_startup {
        return Ok(());
    }
    println!("\nstart-up with {} events:", args.events);
    let startup_dir = match &args.keep_in {
        Some(dir) => dir.clone(),
        None => dir.join("startup"),
    };
    generate_startup_store(&startup_dir, args.events)?;
    let size = std::fs::metadata(startup_dir.join(coalition_store::limits::STORE_FILE_NAME))?.len();
    println!("  store file: {:.0} MiB", size as f64 / (1024.0 * 1024.0));
    let status = Command::new(std::env::current_exe()?).arg("--startup-child").arg(&startup_dir).status()?;
    if !status.success() {
        return Err(format!("start-up measurement failed: {status}").into());
    }
    Ok(())
}
