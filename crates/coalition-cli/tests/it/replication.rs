//! `coalition node --nats URL` as its operators run it: the real binary killed with SIGKILL while
//! events are committed but not yet published (NATS down, then a busy write stream), restarted;
//! the stream must then hold every acknowledged event exactly once, seqs 1..n on the feed's
//! subject with no gap and no duplicate. Also `coalition status` against the running node.

use std::collections::BTreeSet;
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coalition_core::body::EventKind;
use coalition_core::event::{EventId, OrgSlug, SignedEvent};
use coalition_server::AdminToken;
use coalition_server::api::StatusBody;
use coalition_server::client::{MemberClient, PublicClient};

const BINARY: &str = env!("CARGO_BIN_EXE_coalition");
/// How long a node or a NATS server may take to answer after it was started.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// How long the outbox may take to drain once NATS is reachable.
const DRAIN_DEADLINE: Duration = Duration::from_secs(60);
/// Events written while NATS is down, before the node is killed.
const WRITES_WHILE_DOWN: usize = 12;
/// Acknowledged writes of the busy stream before the node is killed.
const BUSY_WRITES_BEFORE_KILL: usize = 40;
const TOKEN: &str = "replication-test-token-0123456789abcdefghij";

fn run_ok(dir: &Path, args: &[&str]) {
    let output = Command::new(BINARY).current_dir(dir).args(args).output().expect("run coalition");
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

fn nats_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file());
    let binary = on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"));
    assert!(binary.is_file(), "nats-server not found on PATH nor at /usr/sbin/nats-server: install it");
    binary
}

/// A private nats-server on a free port with a temporary store, killed when dropped.
struct Nats {
    child: Option<Child>,
    port: u16,
    store: tempfile::TempDir,
}

impl Nats {
    fn start() -> Self {
        let mut nats = Self { child: None, port: free_port(), store: tempfile::tempdir().expect("tempdir") };
        nats.spawn();
        nats
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new(nats_binary())
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
            .arg(self.store.path().join("jetstream"))
            .arg("-l")
            .arg(self.store.path().join("server.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
                let mut greeting = [0u8; 4];
                if stream.read_exact(&mut greeting).is_ok() && &greeting == b"INFO" {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running `coalition node --nats`, killed when dropped.
struct Node {
    child: Child,
    url: String,
}

impl Node {
    fn start(dir: &Path, port: u16, nats: &str) -> Self {
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(BINARY)
            .current_dir(dir)
            .args(["node", "--data", "data", "--genesis", "genesis.note", "--key", "keys/zmina.key"])
            .args(["--admin-token-file", "token", "--listen", &listen, "--nats", nats])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node");
        let url = format!("http://{listen}");
        let public = PublicClient::new(&url).expect("client");
        let deadline = Instant::now() + START_DEADLINE;
        while public.health().is_err() {
            assert!(Instant::now() < deadline, "the node did not answer within {START_DEADLINE:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, url }
    }

    fn member(&self) -> MemberClient {
        MemberClient::new(&self.url, AdminToken::new(TOKEN).expect("token")).expect("client")
    }

    fn status(&self) -> StatusBody {
        PublicClient::new(&self.url).expect("client").status().expect("status")
    }

    fn kill_hard(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    fn wait_for_empty_outbox(&self) -> StatusBody {
        let deadline = Instant::now() + DRAIN_DEADLINE;
        loop {
            let status = self.status();
            if status.outbox == 0 && status.replication.as_ref().is_some_and(|replication| replication.connected) {
                return status;
            }
            assert!(Instant::now() < deadline, "the outbox did not drain: {status:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn prepare(path: &Path) {
    run_ok(path, &["keygen", "--org", "zmina", "--out", "keys"]);
    run_ok(path, &["keygen", "--org", "ccl", "--out", "keys"]);
    let members = ["--member", "zmina=@keys/zmina.vkey", "--member", "ccl=@keys/ccl.vkey"];
    let quorums = ["--listing-quorum", "1", "--governance-quorum", "1", "--edition-quorum", "1"];
    let init = ["genesis", "init", "--name", "Replication test", "--origin", "coalition.example"];
    let rest = ["--exclusion-quorum", "1", "--out", "genesis.note"];
    let args: Vec<&str> = init.iter().chain(&members).chain(&quorums).chain(&rest).copied().collect();
    run_ok(path, &args);
    run_ok(path, &["genesis", "sign", "genesis.note", "--key", "keys/zmina.key"]);
    run_ok(path, &["genesis", "sign", "genesis.note", "--key", "keys/ccl.key"]);
    std::fs::write(path.join("token"), TOKEN).expect("token");
}

fn open_cases(client: &MemberClient, count: usize, label: &str) -> Vec<EventId> {
    (0..count)
        .map(|index| {
            let body = serde_json::json!({"facts": {"name_uk": format!("{label} {index}")}});
            client.submit(EventKind::CaseOpened, body).expect("acknowledged").id
        })
        .collect()
}

/// Every message on zmina's feed subject, as (feed seq, event id), in stream order.
fn zmina_subject(nats_url: &str, ledger: coalition_core::event::LedgerId) -> Vec<(u64, EventId)> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let settings = coalition_nats::ConnectSettings::default();
        let client = coalition_nats::connect(nats_url, &settings).await.expect("connect");
        let jetstream = coalition_nats::jetstream(client, Duration::from_secs(5));
        let spec = coalition_nats::StreamSpec::single_server(ledger);
        let zmina = OrgSlug::parse("zmina").expect("slug");
        let mut found = Vec::new();
        let mut from = 1;
        while let Some(stored) = coalition_nats::get_next_on_feed(&jetstream, &spec, &zmina, from).await.expect("read")
        {
            let event = SignedEvent::parse(std::str::from_utf8(&stored.bytes).expect("text")).expect("a signed event");
            found.push((event.event().seq, event.id()));
            from = stored.stream_seq + 1;
        }
        found
    })
}

/// The stream holds exactly the node's feed: seqs 1..n once each, every acknowledged id in it.
fn assert_stream_is_the_feed(nats_url: &str, status: &StatusBody, acknowledged: &[EventId]) {
    let on_stream = zmina_subject(nats_url, status.ledger);
    let head = status.feeds.iter().find(|feed| feed.org.as_str() == "zmina").expect("zmina's feed").head_seq;
    let seqs: Vec<u64> = on_stream.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "seqs on the subject: no gap, no duplicate");
    let ids: BTreeSet<EventId> = on_stream.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len(), on_stream.len(), "an event was published twice");
    for id in acknowledged {
        assert!(ids.contains(id), "acknowledged event {id} is not on the stream");
    }
}

#[test]
fn a_node_killed_between_commit_and_publish_publishes_everything_once_after_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path();
    prepare(path);
    let mut nats = Nats::start();
    let port = free_port();
    let mut node = Node::start(path, port, &nats.url());
    let mut acknowledged = open_cases(&node.member(), 3, "Before");
    node.wait_for_empty_outbox();

    // NATS goes away: the node keeps acknowledging, the outbox fills, and the node dies.
    nats.stop();
    acknowledged.extend(open_cases(&node.member(), WRITES_WHILE_DOWN, "While NATS is down"));
    let deadline = Instant::now() + DRAIN_DEADLINE;
    loop {
        let status = node.status();
        let disconnected = status.replication.as_ref().is_some_and(|replication| !replication.connected);
        if disconnected && status.outbox == WRITES_WHILE_DOWN as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "the outbox should hold the writes made while NATS is down: {status:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    node.kill_hard();
    nats.spawn();
    let node = Node::start(path, port, &nats.url());
    let status = node.wait_for_empty_outbox();
    assert_stream_is_the_feed(&nats.url(), &status, &acknowledged);

    // A busy write stream, killed while commits and publications are in flight.
    let mut node = node;
    let busy: Arc<Mutex<Vec<EventId>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (client, busy, stop) = (node.member(), Arc::clone(&busy), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut index = 0;
                while !stop.load(Ordering::Relaxed) {
                    let body = serde_json::json!({"facts": {"name_uk": format!("Busy {writer}-{index}")}});
                    match client.submit(EventKind::CaseOpened, body) {
                        Ok(submitted) => busy.lock().expect("lock").push(submitted.id),
                        Err(_) => return,
                    }
                    index += 1;
                }
            })
        })
        .collect();
    let deadline = Instant::now() + DRAIN_DEADLINE;
    while busy.lock().expect("lock").len() < BUSY_WRITES_BEFORE_KILL {
        assert!(Instant::now() < deadline, "writes were too slow");
        std::thread::sleep(Duration::from_millis(5));
    }
    node.kill_hard();
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().expect("writer");
    }
    acknowledged.extend(busy.lock().expect("lock").iter().copied());
    let node = Node::start(path, port, &nats.url());
    let status = node.wait_for_empty_outbox();
    assert_stream_is_the_feed(&nats.url(), &status, &acknowledged);

    // `coalition status` reads the same thing.
    let output = Command::new(BINARY).args(["status", "--node", &node.url, "--json"]).output().expect("status");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: StatusBody = serde_json::from_slice(&output.stdout).expect("status JSON");
    assert_eq!(printed.outbox, 0);
    assert_eq!(printed.feeds, status.feeds);
    let table = Command::new(BINARY).args(["status", "--node", &node.url]).output().expect("status");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("zmina") && text.contains("replication: connected"), "{text}");
}
