//! Replication benchmark: latency from a member's write acknowledged on node A to the event
//! applied on node B (p50, p99) at light load and at 1,000 writes/s, and the catch-up rate of a
//! new node over a backlog, printed beside the raw JetStream publish rate and the raw
//! verification rate (on one thread, and on every core) measured in the same run.
//!
//! ```text
//! cargo run --release -p coalition-nats --example bench_replication [-- BACKLOG_EVENTS]
//! ```
//!
//! Needs `nats-server` on PATH (or at /usr/sbin/nats-server); starts its own on a free port with
//! a temporary store. Nodes use in-memory stores so the figures are replication's, not the disk's
//! (`coalition bench append` measures the durable write path).

use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coalition_core::body::{EventKind, parse_body};
use coalition_core::event::{Event, EventId, OrgSlug, SignedEvent};
use coalition_core::genesis::{FoundingMember, Genesis, GenesisDoc};
use coalition_core::keys::{KeyName, SignerKey};
use coalition_core::time::Timestamp;
use coalition_core::verify::{Outcome, Verifier};
use coalition_nats::replication::run_replication;
use coalition_nats::{ConnectSettings, StreamSpec};
use coalition_node::Node;

/// Target: p99 latency at light load on loopback, in milliseconds.
const LIGHT_P99_TARGET_MS: f64 = 20.0;
/// Target: catch-up rate as a share of the lower of the raw publish and raw verification rates.
const CATCH_UP_SHARE_TARGET: f64 = 0.8;
/// Writes measured one at a time (light load).
const LIGHT_WRITES: usize = 300;
/// Pause between light-load writes.
const LIGHT_PAUSE: Duration = Duration::from_millis(10);
/// Rate of the loaded run, writes per second.
const LOADED_RATE_PER_S: u64 = 1_000;
/// Length of the loaded run.
const LOADED_DURATION: Duration = Duration::from_secs(5);
/// Events in the catch-up backlog unless the first argument says otherwise.
const BACKLOG_EVENTS_DEFAULT: usize = 100_000;
/// Organisations writing the backlog.
const BACKLOG_ORGS: usize = 8;
/// Publishes awaited together when publishing the backlog raw.
const PUBLISH_WINDOW: usize = 1_000;
/// How often node B's head is looked at when measuring latency.
const OBSERVE_INTERVAL: Duration = Duration::from_micros(200);
/// Longest wait for anything in this benchmark.
const DEADLINE: Duration = Duration::from_secs(600);
const ORIGIN: &str = "bench.example";

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Failure> {
    let backlog = match std::env::args().nth(1) {
        Some(text) => text.parse().map_err(|_| format!("BACKLOG_EVENTS must be a number, got {text:?}"))?,
        None => BACKLOG_EVENTS_DEFAULT,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(backlog))
}

fn nats_binary() -> Result<PathBuf, Failure> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file());
    let binary = on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"));
    if !binary.is_file() {
        return Err("nats-server not found on PATH nor at /usr/sbin/nats-server: install it".into());
    }
    Ok(binary)
}

/// A private nats-server, killed on drop.
struct Server {
    child: Child,
    url: String,
    _store: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Result<Server, Failure> {
    let store = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new(nats_binary()?)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(store.path().join("jetstream"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let started = Instant::now();
    loop {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
            let mut greeting = [0u8; 4];
            if stream.read_exact(&mut greeting).is_ok() && &greeting == b"INFO" {
                break;
            }
        }
        if started.elapsed() > Duration::from_secs(15) {
            return Err("nats-server did not start".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Server { child, url: format!("nats://127.0.0.1:{port}"), _store: store })
}

/// Clock ticks per second of the CPU times in /proc (Linux's USER_HZ, fixed by its ABI).
const PROC_TICKS_PER_S: f64 = 100.0;

/// CPU time (user + system, every thread, finished ones included) used so far by process `pid`,
/// or this process; `None` where /proc is not there. The machine may be shared: CPU time per
/// event says what the work costs whatever else runs, which wall-clock rates cannot.
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = pid.map_or_else(|| "/proc/self/stat".to_owned(), |pid| format!("/proc/{pid}/stat"));
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3; utime is field 14.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / PROC_TICKS_PER_S)
}

fn micros_per_event(cpu: Option<f64>, events: usize) -> String {
    cpu.map_or_else(|| "n/a".to_owned(), |seconds| format!("{:.1} µs", seconds * 1e6 / events as f64))
}

fn slug(index: usize) -> Result<OrgSlug, Failure> {
    Ok(OrgSlug::parse(&format!("org-{index}"))?)
}

fn key(index: usize) -> Result<SignerKey, Failure> {
    let name = KeyName::parse(&format!("{ORIGIN}/org-{index}"))?;
    let mut seed = [0u8; 32];
    seed[0] = u8::try_from(index + 1)?;
    Ok(SignerKey::from_seed(name, seed))
}

fn genesis(orgs: usize) -> Result<Genesis, Failure> {
    let members = (0..orgs)
        .map(|index| {
            Ok(FoundingMember {
                slug: slug(index)?,
                name: format!("Benchmark organisation {index}"),
                vkey: key(index)?.verifier_key(),
                recipient: None,
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let doc = GenesisDoc {
        name: "Benchmark coalition (fictional)".into(),
        origin: ORIGIN.into(),
        created: Timestamp::parse("2026-01-01T00:00:00Z")?,
        members,
        policy: coalition_core::body::Policy {
            listing_quorum: 2,
            governance_quorum: 2,
            edition_quorum: 2,
            exclusion_quorum: 2,
        },
    };
    let mut genesis = Genesis::parse(&doc.to_note_text()?)?;
    for index in 0..orgs {
        genesis = Genesis::parse(&genesis.sign(&key(index)?)?)?;
    }
    Ok(genesis)
}

/// `count` case.opened events spread round-robin over `orgs` feeds, in a valid order.
fn backlog_events(genesis: &Genesis, orgs: usize, count: usize) -> Result<Vec<SignedEvent>, Failure> {
    let keys = (0..orgs).map(key).collect::<Result<Vec<_>, _>>()?;
    let slugs = (0..orgs).map(slug).collect::<Result<Vec<_>, _>>()?;
    let mut heads: Vec<Option<(u64, EventId)>> = vec![None; orgs];
    let start = genesis.doc().created.unix_seconds();
    let mut events = Vec::with_capacity(count);
    for index in 0..count {
        let org = index % orgs;
        let (seq, prev) = heads[org].map_or((1, None), |(seq, id)| (seq + 1, Some(id)));
        let body = parse_body(
            EventKind::CaseOpened,
            &format!(r#"{{"facts":{{"name_en":"Benchmark Person {index}","region":"crimea"}}}}"#),
        )?;
        let time = Timestamp::from_unix_seconds(start + i64::try_from(index)?).ok_or("time out of range")?;
        let event =
            Event { ledger: genesis.ledger_id(), org: slugs[org].clone(), seq, prev, time, deps: Vec::new(), body };
        let signed = event.sign(&keys[org])?;
        heads[org] = Some((seq, signed.id()));
        events.push(signed);
    }
    Ok(events)
}

async fn connect(url: &str) -> Result<coalition_nats::JetStream, Failure> {
    let client = coalition_nats::connect(url, &ConnectSettings::default()).await?;
    Ok(coalition_nats::jetstream(client, coalition_nats::REQUEST_TIMEOUT_DEFAULT))
}

/// Starts replication of `node` (consumer `name`) in the background.
async fn replicate(
    node: &Node,
    url: &str,
    spec: &StreamSpec,
    name: &str,
) -> Result<tokio::task::JoinHandle<()>, Failure> {
    let jetstream = connect(url).await?;
    let (node, spec, name) = (node.clone(), spec.clone(), name.to_owned());
    Ok(tokio::spawn(async move {
        if let Err(error) = run_replication(node, jetstream, spec, name, std::future::pending()).await {
            eprintln!("replication stopped: {error}");
        }
    }))
}

fn head_seq(node: &Node, org: &OrgSlug) -> u64 {
    node.heads().get(org).map_or(0, |(seq, _)| *seq)
}

fn percentile(sorted: &[Duration], share: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 * share).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn submit_case(node: &Node, label: &str) -> Result<u64, Failure> {
    let body = serde_json::json!({"facts": {"name_en": label, "region": "crimea"}});
    Ok(node.submit(EventKind::CaseOpened, body)?.seq)
}

/// Writes on `writer` at `rate_per_s` (or one at a time, waiting for each to arrive, when
/// `None`) and returns, per write, the time from acknowledgement on `writer` to applied on `reader`.
fn latencies(writer: &Node, reader: &Node, rate_per_s: Option<u64>, writes: usize) -> Result<Vec<Duration>, Failure> {
    let org = writer.org().ok_or("the writer has no key")?.clone();
    let acked: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let seen: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let first = head_seq(writer, &org) + 1;
    let last = first + writes as u64 - 1;
    let observer = {
        let (reader, org, seen) = (reader.clone(), org.clone(), Arc::clone(&seen));
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut known = first - 1;
            while known < last && started.elapsed() < DEADLINE {
                let head = head_seq(&reader, &org);
                if head > known {
                    let now = Instant::now();
                    let mut seen = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    seen.extend((known + 1..=head).map(|seq| (seq, now)));
                    known = head;
                }
                std::thread::sleep(OBSERVE_INTERVAL);
            }
        })
    };
    let started = Instant::now();
    for index in 0..writes {
        if let Some(rate) = rate_per_s {
            let due = started + Duration::from_secs_f64(index as f64 / rate as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let seq = submit_case(writer, &format!("Latency Person {index}"))?;
        acked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((seq, Instant::now()));
        if rate_per_s.is_none() {
            while head_seq(reader, &org) < seq && started.elapsed() < DEADLINE {
                std::thread::sleep(OBSERVE_INTERVAL);
            }
            std::thread::sleep(LIGHT_PAUSE);
        }
    }
    let elapsed = started.elapsed();
    if let Some(rate) = rate_per_s {
        let achieved = writes as f64 / elapsed.as_secs_f64();
        println!("  offered {rate} writes/s, achieved {achieved:.0} writes/s");
    }
    observer.join().map_err(|_| "the observer thread failed")?;
    let seen: std::collections::HashMap<u64, Instant> =
        seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().copied().collect();
    let mut result: Vec<Duration> = acked
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter_map(|(seq, at)| seen.get(seq).map(|applied| applied.saturating_duration_since(*at)))
        .collect();
    if result.len() != writes {
        return Err(format!("only {} of {writes} writes reached the reader in time", result.len()).into());
    }
    result.sort();
    Ok(result)
}

fn report_latency(label: &str, sorted: &[Duration]) {
    println!(
        "  {label}: {} writes, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        sorted.len(),
        millis(percentile(sorted, 0.50)),
        millis(percentile(sorted, 0.99)),
        millis(percentile(sorted, 1.0)),
    );
}

async fn run(backlog: usize) -> Result<(), Failure> {
    println!("replication benchmark (nodes in memory, one nats-server on loopback)");

    // --- Latency between two nodes ------------------------------------------------------------
    let server = start_server()?;
    let genesis = genesis(BACKLOG_ORGS)?;
    let spec = StreamSpec::single_server(genesis.ledger_id());
    let node_a = Node::open_in_memory(genesis.clone(), Some(key(0)?))?;
    let node_b = Node::open_in_memory(genesis.clone(), Some(key(1)?))?;
    let _task_a = replicate(&node_a, &server.url, &spec, "bench-a").await?;
    let _task_b = replicate(&node_b, &server.url, &spec, "bench-b").await?;
    let (writer, reader) = (node_a.clone(), node_b.clone());
    let light = tokio::task::spawn_blocking(move || latencies(&writer, &reader, None, LIGHT_WRITES)).await??;
    println!("latency, write acknowledged on A -> applied on B:");
    report_latency("light load (one write at a time)", &light);
    let loaded_writes = (LOADED_RATE_PER_S * LOADED_DURATION.as_secs()) as usize;
    let (writer, reader) = (node_a.clone(), node_b.clone());
    let loaded =
        tokio::task::spawn_blocking(move || latencies(&writer, &reader, Some(LOADED_RATE_PER_S), loaded_writes))
            .await??;
    report_latency(&format!("{LOADED_RATE_PER_S} writes/s"), &loaded);
    let light_p99 = millis(percentile(&light, 0.99));
    let verdict = if light_p99 < LIGHT_P99_TARGET_MS { "met" } else { "MISSED" };
    println!("  target: p99 under {LIGHT_P99_TARGET_MS} ms at light load -> {verdict} ({light_p99:.2} ms)");
    drop(server);

    // --- Catch-up of a new node ---------------------------------------------------------------
    println!("catch-up over a backlog of {backlog} events from {BACKLOG_ORGS} organisations:");
    let started = Instant::now();
    let events = backlog_events(&genesis, BACKLOG_ORGS, backlog)?;
    println!("  signed the backlog in {:.1} s", started.elapsed().as_secs_f64());

    let mut verifier = Verifier::new(&genesis);
    let cpu_before = cpu_seconds(None);
    let started = Instant::now();
    let mut accepted = 0usize;
    for (index, event) in events.iter().enumerate() {
        let checked = verifier.check(index as u64, event.note());
        accepted +=
            verifier.accept(checked).iter().filter(|outcome| matches!(outcome, Outcome::Accepted { .. })).count();
    }
    let verify_rate = accepted as f64 / started.elapsed().as_secs_f64();
    let verify_cpu = cpu_seconds(None).zip(cpu_before).map(|(after, before)| after - before);
    if accepted != backlog {
        return Err(format!("the verifier accepted {accepted} of {backlog}").into());
    }
    println!("  raw verification (one thread, coalition_core::verify): {verify_rate:.0} events/s");

    // The same verification on every core: checks spread over the threads, the feed rules in order.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let notes: Vec<(u64, String)> =
        events.iter().enumerate().map(|(index, event)| (index as u64, event.note().to_owned())).collect();
    let mut verifier = Verifier::new(&genesis);
    let started = Instant::now();
    let mut accepted = 0usize;
    for checked in verifier.check_many(&notes, threads) {
        accepted +=
            verifier.accept(checked).iter().filter(|outcome| matches!(outcome, Outcome::Accepted { .. })).count();
    }
    let verify_all_cores_rate = accepted as f64 / started.elapsed().as_secs_f64();
    if accepted != backlog {
        return Err(format!("the verifier on {threads} threads accepted {accepted} of {backlog}").into());
    }
    drop(notes);
    println!("  raw verification ({threads} threads, Verifier::check_many): {verify_all_cores_rate:.0} events/s");

    let server = start_server()?;
    let jetstream = connect(&server.url).await?;
    coalition_nats::ensure_stream(&jetstream, &spec).await?;
    let started = Instant::now();
    for window in events.chunks(PUBLISH_WINDOW) {
        let mut acks = Vec::with_capacity(window.len());
        for event in window {
            let subject = spec.feed_subject(&event.event().org);
            let message = coalition_nats::async_nats::jetstream::message::PublishMessage::build()
                .message_id(event.id().to_string())
                .payload(event.note().as_bytes().to_vec().into());
            acks.push(jetstream.send_publish(subject, message).await?);
        }
        for ack in acks {
            ack.await?;
        }
    }
    let publish_rate = backlog as f64 / started.elapsed().as_secs_f64();
    println!("  raw JetStream publish (pipelined, {PUBLISH_WINDOW} in flight): {publish_rate:.0} events/s");

    let newcomer = Node::open_in_memory(genesis.clone(), None)?;
    let server_cpu_before = cpu_seconds(Some(server.child.id()));
    let cpu_before = cpu_seconds(None);
    let started = Instant::now();
    let _task = replicate(&newcomer, &server.url, &spec, "bench-newcomer").await?;
    loop {
        let held: u64 = newcomer.heads().values().map(|(seq, _)| *seq).sum();
        if held as usize >= backlog {
            break;
        }
        if started.elapsed() > DEADLINE {
            return Err(format!("the new node holds {held} of {backlog} events after {DEADLINE:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let catch_up_rate = backlog as f64 / started.elapsed().as_secs_f64();
    let catch_up_cpu = cpu_seconds(None).zip(cpu_before).map(|(after, before)| after - before);
    let server_cpu = cpu_seconds(Some(server.child.id())).zip(server_cpu_before).map(|(after, before)| after - before);
    println!("  catch-up of a new node (verify, store in memory, project): {catch_up_rate:.0} events/s");
    println!(
        "  CPU time per event: raw verification {}; catch-up {} in the node's process + {} in nats-server",
        micros_per_event(verify_cpu, backlog),
        micros_per_event(catch_up_cpu, backlog),
        micros_per_event(server_cpu, backlog),
    );
    // The issue's "raw verification rate" is the one-thread figure; the catch-up uses every core,
    // so the share of the all-core figure is printed and judged too.
    for (label, verify) in [("one-thread", verify_rate), ("all-core", verify_all_cores_rate)] {
        let floor = publish_rate.min(verify);
        let share = catch_up_rate / floor;
        let verdict = if share >= CATCH_UP_SHARE_TARGET { "met" } else { "MISSED" };
        println!(
            "  vs the lower of raw publish and {label} raw verification ({floor:.0} events/s): {:.0}% (target {:.0}%) -> {verdict}",
            share * 100.0,
            CATCH_UP_SHARE_TARGET * 100.0
        );
    }
    Ok(())
}
