//! Private-stream benchmark: how long sealed records take to become readable on another member's
//! node (grant on the private stream, sealed event on the feed), how fast a node refills an empty
//! private stream at start, and what re-granting every held key to a grown sealing set costs the
//! write that grows it, beside a plain write measured in the same run.
//!
//! ```text
//! cargo run -p coalition-nats --example bench_private [-- RECORDS]
//! ```
//!
//! Needs `nats-server` on PATH (or at /usr/sbin/nats-server); starts its own on a free port with
//! a temporary store (deleted at the end). Nodes use in-memory stores.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coalition_core::body::EventKind;
use coalition_core::event::{EventId, OrgSlug};
use coalition_core::genesis::{FoundingMember, Genesis, GenesisDoc};
use coalition_core::keys::{KeyName, SignerKey};
use coalition_core::seal::{Identity, SealedRecord, SealedValue};
use coalition_core::time::Timestamp;
use coalition_nats::replication::run_replication;
use coalition_nats::{ConnectSettings, StreamSpec};
use coalition_node::{Node, RecordContent};
use serde_json::json;

/// Sealed records (one case each) unless the first argument says otherwise.
const RECORDS_DEFAULT: usize = 300;
/// Founding members, each with a recipient.
const ORGS: usize = 3;
/// Plain writes timed to compare with the write that triggers a re-grant.
const PLAIN_WRITES: usize = 20;
/// Longest wait for anything in this benchmark.
const DEADLINE: Duration = Duration::from_secs(600);
/// How often progress is looked at.
const OBSERVE_INTERVAL: Duration = Duration::from_millis(5);
const ORIGIN: &str = "bench.example";

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Failure> {
    let records = match std::env::args().nth(1) {
        Some(text) => text.parse().map_err(|_| format!("RECORDS must be a number, got {text:?}"))?,
        None => RECORDS_DEFAULT,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(records))
}

/// A private nats-server, killed on drop (its temporary store goes with it).
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
    let binary = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"));
    let store = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new(binary)
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

fn key(name: &str) -> Result<SignerKey, Failure> {
    let seed = blake3::hash(name.as_bytes());
    Ok(SignerKey::from_seed(KeyName::parse(&format!("{ORIGIN}/{name}"))?, *seed.as_bytes()))
}

fn genesis(identities: &[Identity]) -> Result<Genesis, Failure> {
    let members = identities
        .iter()
        .enumerate()
        .map(|(index, identity)| {
            Ok(FoundingMember {
                slug: OrgSlug::parse(&format!("org-{index}"))?,
                name: format!("Benchmark organisation {index}"),
                vkey: key(&format!("org-{index}"))?.verifier_key(),
                recipient: Some(identity.recipient().to_string()),
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
    for index in 0..identities.len() {
        genesis = Genesis::parse(&genesis.sign(&key(&format!("org-{index}"))?)?)?;
    }
    Ok(genesis)
}

async fn jetstream(url: &str) -> Result<coalition_nats::JetStream, Failure> {
    let client = coalition_nats::connect(url, &ConnectSettings::default()).await?;
    Ok(coalition_nats::jetstream(client, coalition_nats::REQUEST_TIMEOUT_DEFAULT))
}

async fn replicate(node: &Node, url: &str, name: &str) -> Result<tokio::task::JoinHandle<()>, Failure> {
    let jetstream = jetstream(url).await?;
    let spec = StreamSpec::single_server(node.genesis().ledger_id());
    let (node, name) = (node.clone(), format!("node-{name}"));
    Ok(tokio::spawn(async move {
        if let Err(error) = run_replication(node, jetstream, spec, name, std::future::pending()).await {
            eprintln!("replication stopped: {error}");
        }
    }))
}

fn member(genesis: &Genesis, name: &str, identity: &Identity) -> Result<Node, Failure> {
    let node = Node::open_in_memory(genesis.clone(), Some(key(name)?))?;
    node.set_identity(identity.clone())?;
    Ok(node)
}

/// Waits (polling) until `done` holds; returns the time it took.
async fn wait_until(what: &str, started: Instant, mut done: impl FnMut() -> bool) -> Result<Duration, Failure> {
    while !done() {
        if started.elapsed() > DEADLINE {
            return Err(format!("timed out: {what}").into());
        }
        tokio::time::sleep(OBSERVE_INTERVAL).await;
    }
    Ok(started.elapsed())
}

fn opened_records(node: &Node, cases: &[EventId]) -> usize {
    cases
        .iter()
        .filter(|case| {
            node.case_file(case)
                .is_ok_and(|file| file.iter().any(|record| matches!(record.content, RecordContent::Opened(_))))
        })
        .count()
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

async fn run(records: usize) -> Result<(), Failure> {
    println!("private-stream benchmark (dev profile, nodes in memory, one nats-server on loopback)");
    let server = start_server()?;
    let identities: Vec<Identity> = (0..ORGS).map(|_| Identity::generate()).collect();
    let genesis = genesis(&identities)?;
    let mut nodes = Vec::new();
    let mut tasks = BTreeMap::new();
    for (index, identity) in identities.iter().enumerate() {
        let name = format!("org-{index}");
        let node = member(&genesis, &name, identity)?;
        tasks.insert(name.clone(), replicate(&node, &server.url, &name).await?);
        nodes.push(node);
    }
    let (writer, reader) = (nodes[0].clone(), nodes[1].clone());

    // 1. Seal `records` records (a case each) on A; time until B opens them all.
    let started = Instant::now();
    let sealing = {
        let writer = writer.clone();
        tokio::task::spawn_blocking(move || -> Result<(Vec<EventId>, Duration), Failure> {
            let mut cases = Vec::with_capacity(records);
            for index in 0..records {
                let case = writer
                    .submit(
                        EventKind::CaseOpened,
                        json!({"facts": {"name_en": format!("Person {index}"), "region": "crimea"}}),
                    )?
                    .id;
                let mut fields = BTreeMap::new();
                fields.insert("details".to_owned(), SealedValue::Text(format!("fictional detail {index}")));
                writer.seal_record(SealedRecord { case: Some(case), fields, kind: EventKind::SignNoted })?;
                cases.push(case);
            }
            Ok((cases, started.elapsed()))
        })
    };
    let (cases, written) = sealing.await??;
    let readable = wait_until("B opens every record", started, || opened_records(&reader, &cases) == records).await?;
    println!(
        "  {records} cases opened and sealed on A in {:.0} ms; all readable on B after {:.0} ms ({:.0} records/s end to end)",
        millis(written),
        millis(readable),
        records as f64 / readable.as_secs_f64()
    );

    // 2. A's replicator restarts on an empty private stream and refills it.
    let spec = StreamSpec::single_server(genesis.ledger_id());
    let admin = jetstream(&server.url).await?;
    for task in tasks.values() {
        task.abort();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    admin.delete_stream(spec.private_stream_name()).await?;
    let started = Instant::now();
    tasks.insert("org-0".into(), replicate(&writer, &server.url, "org-0").await?);
    loop {
        let held = match admin.get_stream(spec.private_stream_name()).await {
            Ok(mut stream) => stream.info().await.map(|info| info.state.messages).unwrap_or(0),
            Err(_) => 0,
        };
        if held as usize >= records {
            break;
        }
        if started.elapsed() > DEADLINE {
            return Err("the private stream was not refilled".into());
        }
        tokio::time::sleep(OBSERVE_INTERVAL).await;
    }
    let refill = started.elapsed();
    println!(
        "  refill of an empty private stream at start: {records} grants in {:.0} ms ({:.0} grants/s)",
        millis(refill),
        records as f64 / refill.as_secs_f64()
    );
    for (index, node) in nodes.iter().enumerate().skip(1) {
        let name = format!("org-{index}");
        tasks.insert(name.clone(), replicate(node, &server.url, &name).await?);
    }

    // 3. A member with a recipient is admitted: B's approval re-grants every key B holds.
    let mut plain = Vec::with_capacity(PLAIN_WRITES);
    for index in 0..PLAIN_WRITES {
        let reader = reader.clone();
        let started = Instant::now();
        tokio::task::spawn_blocking(move || {
            reader.submit(
                EventKind::CaseOpened,
                json!({"facts": {"name_en": format!("Plain {index}"), "region": "crimea"}}),
            )
        })
        .await??;
        plain.push(started.elapsed());
    }
    plain.sort();
    let newcomer = Identity::generate();
    let proposal = writer
        .submit(
            EventKind::MemberProposed,
            json!({"slug": "newcomer", "name": "Newcomer", "vkey": key("newcomer")?.verifier_key().to_string(),
                   "recipient": newcomer.recipient().to_string()}),
        )?
        .id;
    wait_until("B holds the proposal", Instant::now(), || reader.event(&proposal).ok().flatten().is_some()).await?;
    let approving = {
        let reader = reader.clone();
        let started = Instant::now();
        tokio::task::spawn_blocking(move || {
            reader.submit(EventKind::MemberApproved, json!({"proposal": proposal})).map(|_| started.elapsed())
        })
    };
    let started = Instant::now();
    let approval = approving.await??;
    let joined = member(&genesis, "newcomer", &newcomer)?;
    tasks.insert("newcomer".into(), replicate(&joined, &server.url, "newcomer").await?);
    let newcomer_reads =
        wait_until("the newcomer opens every old record", started, || opened_records(&joined, &cases) == records)
            .await?;
    println!(
        "  plain write on B: p50 {:.1} ms; the approval that re-grants {records} keys on B: {:.0} ms ({:.0}x, {:.2} ms per key)",
        millis(plain[plain.len() / 2]),
        millis(approval),
        approval.as_secs_f64() / plain[plain.len() / 2].as_secs_f64(),
        millis(approval) / records as f64
    );
    println!(
        "  the newcomer (started after the approval) opens all {records} old records after {:.0} ms",
        millis(newcomer_reads)
    );
    for task in tasks.values() {
        task.abort();
    }
    drop(server);
    Ok(())
}
