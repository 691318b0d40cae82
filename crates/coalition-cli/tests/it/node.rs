//! The node as its operators run it: the real binary, killed with SIGKILL in the middle of a
//! stream of member writes, restarted, and checked for every acknowledged event.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coalition_core::body::EventKind;
use coalition_core::event::{EventId, OrgSlug, SignedEvent};
use coalition_server::AdminToken;
use coalition_server::client::{MemberClient, PublicClient};

const BINARY: &str = env!("CARGO_BIN_EXE_coalition");
/// How long a node may take to answer after it was started.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// Acknowledged writes before the node is killed.
const WRITES_BEFORE_KILL: usize = 40;
const TOKEN: &str = "crash-test-token-crash-test-token-0123456789";

fn run_ok(dir: &Path, args: &[&str]) {
    let output = Command::new(BINARY).current_dir(dir).args(args).output().expect("run coalition");
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// A running `coalition node`, killed when dropped.
pub(crate) struct RunningNode {
    child: Child,
    pub(crate) url: String,
}

impl RunningNode {
    /// zmina's node over `dir/data`, with the member API (token in `dir/token`).
    fn start(dir: &Path, port: u16) -> Self {
        let member = ["--key", "keys/zmina.key", "--admin-token-file", "token"];
        Self::start_with(dir, &["--data", "data"], &member, port)
    }

    /// A node without a key (public routes only) over the data directory `dir/data`.
    pub(crate) fn start_read_only(dir: &Path, data: &str, port: u16) -> Self {
        Self::start_with(dir, &["--data", data], &[], port)
    }

    fn start_with(dir: &Path, data: &[&str], member: &[&str], port: u16) -> Self {
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(BINARY)
            .current_dir(dir)
            .args(["node", "--genesis", "genesis.note", "--listen", &listen])
            .args(data)
            .args(member)
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

    fn kill_hard(&mut self) {
        // Child::kill sends SIGKILL on Unix: no chance to flush or clean up.
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn feed(url: &str) -> Vec<SignedEvent> {
    let public = PublicClient::new(url).expect("client");
    let zmina = OrgSlug::parse("zmina").expect("slug");
    let mut events = Vec::new();
    loop {
        let page = public.feed(&zmina, events.len() as u64 + 1, 1000).expect("feed page");
        if page.notes.is_empty() {
            return events;
        }
        events.extend(page.notes.iter().map(|note| SignedEvent::parse(note).expect("valid note")));
    }
}

#[test]
fn a_node_killed_during_writes_keeps_every_acknowledged_event_and_continues() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path();
    run_ok(path, &["keygen", "--org", "zmina", "--out", "keys"]);
    run_ok(path, &["keygen", "--org", "ccl", "--out", "keys"]);
    run_ok(
        path,
        &[
            "genesis",
            "init",
            "--name",
            "Crash test",
            "--origin",
            "coalition.example",
            "--member",
            "zmina=@keys/zmina.vkey",
            "--member",
            "ccl=@keys/ccl.vkey",
            "--listing-quorum",
            "1",
            "--governance-quorum",
            "1",
            "--edition-quorum",
            "1",
            "--exclusion-quorum",
            "1",
            "--out",
            "genesis.note",
        ],
    );
    run_ok(path, &["genesis", "sign", "genesis.note", "--key", "keys/zmina.key"]);
    run_ok(path, &["genesis", "sign", "genesis.note", "--key", "keys/ccl.key"]);
    std::fs::write(path.join("token"), TOKEN).expect("token");

    let port = free_port();
    let mut node = RunningNode::start(path, port);
    let acknowledged: Arc<Mutex<Vec<EventId>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    // Four writers at once, so commits are in flight when the node dies.
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (url, acknowledged, stop) = (node.url.clone(), Arc::clone(&acknowledged), Arc::clone(&stop));
            std::thread::spawn(move || {
                let client = MemberClient::new(&url, AdminToken::new(TOKEN).expect("token")).expect("client");
                let mut index = 0;
                while !stop.load(Ordering::Relaxed) {
                    let body = serde_json::json!({"facts": {"name_uk": format!("Особа {writer}-{index}")}});
                    match client.submit(EventKind::CaseOpened, body) {
                        Ok(submitted) => acknowledged.lock().expect("lock").push(submitted.id),
                        Err(_) => return,
                    }
                    index += 1;
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().expect("lock").len() < WRITES_BEFORE_KILL {
        assert!(Instant::now() < deadline, "writes were too slow");
        std::thread::sleep(Duration::from_millis(5));
    }
    node.kill_hard();
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().expect("writer");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(acknowledged.len() >= WRITES_BEFORE_KILL);

    let node = RunningNode::start(path, port);
    let events = feed(&node.url);
    let ids: Vec<EventId> = events.iter().map(SignedEvent::id).collect();
    for id in &acknowledged {
        assert!(ids.contains(id), "acknowledged event {id} was lost");
    }
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event.event().seq, index as u64 + 1, "gap in the feed");
        let expected_prev = index.checked_sub(1).map(|previous| events[previous].id());
        assert_eq!(event.event().prev, expected_prev, "broken chain at seq {}", index + 1);
    }
    let client = MemberClient::new(&node.url, AdminToken::new(TOKEN).expect("token")).expect("client");
    let next = client
        .submit(EventKind::CaseOpened, serde_json::json!({"facts": {"name_uk": "Після відновлення"}}))
        .expect("the node continues after the crash");
    assert_eq!(next.seq, events.len() as u64 + 1);
    // The exported data verifies offline against the genesis: no fork, nothing malformed.
    drop(node);
    let export = Command::new(BINARY).current_dir(path).args(["export", "--data", "data"]).output().expect("export");
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    std::fs::write(path.join("export.jsonl"), &export.stdout).expect("write");
    run_ok(path, &["verify", "--genesis", "genesis.note", "export.jsonl"]);
}

/// SIGTERM stops the node cleanly, and a clean stop leaves a start-up snapshot beside the store,
/// from which the next start serves the same feed and goes on signing.
#[test]
fn a_node_stopped_with_sigterm_writes_its_start_up_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path();
    run_ok(path, &["keygen", "--org", "zmina", "--out", "keys"]);
    run_ok(path, &["keygen", "--org", "ccl", "--out", "keys"]);
    run_ok(
        path,
        &[
            "genesis",
            "init",
            "--name",
            "Snapshot test",
            "--origin",
            "coalition.example",
            "--member",
            "zmina=@keys/zmina.vkey",
            "--member",
            "ccl=@keys/ccl.vkey",
            "--listing-quorum",
            "1",
            "--governance-quorum",
            "1",
            "--edition-quorum",
            "1",
            "--exclusion-quorum",
            "1",
            "--out",
            "genesis.note",
        ],
    );
    run_ok(path, &["genesis", "sign", "genesis.note", "--key", "keys/zmina.key"]);
    run_ok(path, &["genesis", "sign", "genesis.note", "--key", "keys/ccl.key"]);
    std::fs::write(path.join("token"), TOKEN).expect("token");
    let snapshot = coalition_node::snapshot_path(&path.join("data"));

    let port = free_port();
    let mut node = RunningNode::start(path, port);
    let client = MemberClient::new(&node.url, AdminToken::new(TOKEN).expect("token")).expect("client");
    for index in 0..5 {
        let body = serde_json::json!({"facts": {"name_uk": format!("Особа {index}")}});
        client.submit(EventKind::CaseOpened, body).expect("submit");
    }
    let before = feed(&node.url);
    assert!(!snapshot.exists(), "no snapshot before the stop");
    let status = Command::new("kill").args(["-TERM", &node.child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let exit = node.child.wait().expect("wait");
    assert!(exit.success(), "a SIGTERM stop is clean: {exit:?}");
    assert!(snapshot.exists(), "the clean stop wrote {}", snapshot.display());

    let node = RunningNode::start(path, port);
    assert_eq!(feed(&node.url), before);
    let client = MemberClient::new(&node.url, AdminToken::new(TOKEN).expect("token")).expect("client");
    let next = client
        .submit(EventKind::CaseOpened, serde_json::json!({"facts": {"name_uk": "Після зупинки"}}))
        .expect("the node signs after a start from its snapshot");
    assert_eq!(next.seq, before.len() as u64 + 1);
}

/// The README's main command: a demo node on a fresh data directory, then again on the same one.
#[test]
fn the_demo_serves_a_fictional_coalition_and_reuses_its_data_on_the_second_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut pages = Vec::new();
    for _run in 0..2 {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(BINARY)
            .current_dir(dir.path())
            .args(["demo", "--data", "demo", "--listen", &listen])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start demo");
        let mut node = RunningNode { child, url: format!("http://{listen}") };
        let public = PublicClient::new(&node.url).expect("client");
        let deadline = Instant::now() + Duration::from_secs(120);
        while public.health().is_err() {
            assert!(Instant::now() < deadline, "the demo did not answer");
            std::thread::sleep(Duration::from_millis(100));
        }
        let list = public.get_list().expect("list");
        assert!(list.demo, "the demo must say it is fictional");
        assert!(list.count >= 100, "a few hundred cases, most of them listed: {}", list.count);
        pages.push(list.hash.to_string());
        let token = std::fs::read_to_string(dir.path().join("demo/admin-token")).expect("token file");
        let client = MemberClient::new(&node.url, AdminToken::new(token.trim()).expect("token")).expect("client");
        assert!(!client.pending().expect("pending").cases_one_short.is_empty(), "the demo has work pending");
        node.kill_hard();
    }
    assert_eq!(pages[0], pages[1], "the second run must reuse the first run's ledger");
    let keys = std::fs::read_dir(dir.path().join("demo/keys")).expect("keys").count();
    assert_eq!(keys, 24, "eight members, a secret key, a verifier key and an age identity each");
}
