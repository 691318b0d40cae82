//! `coalition reports` against a real node: hostile reports are submitted over HTTP to the public
//! form, members list and read them inert, accept one into a case (its clear events carry
//! nothing of the report) and discard another.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_coalition");

/// Longest wait for a node to answer `/healthz` after it was started.
const NODE_START_DEADLINE: Duration = Duration::from_secs(60);

const TOKEN: &str = "1f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

const MARKER: &str = "MARKER-inbox-51d2";

/// Characters that must never reach the terminal raw.
const UNSAFE: [char; 9] =
    ['\u{1b}', '\u{7}', '\t', '\u{202E}', '\u{2066}', '\u{200B}', '\u{00AD}', '\u{FEFF}', '\u{E0041}'];

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BINARY)
        .current_dir(dir)
        .args(args)
        .env_remove("COALITION_NODE")
        .env_remove("COALITION_TOKEN_FILE")
        .output()
        .expect("run coalition")
}

#[track_caller]
fn ok(output: Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "failed: {}\n{stderr}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[track_caller]
fn refused(output: Output) -> String {
    assert_eq!(output.status.code(), Some(2), "expected exit 2: {}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_inert(text: &str) {
    for character in UNSAFE {
        assert!(!text.contains(character), "raw U+{:04X} in: {text}", u32::from(character));
    }
}

/// One HTTP/1.1 request to `port`; the status and the body.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let body = body.map(|body| serde_json::to_vec(body).expect("json")).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body)).expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.get(9..12).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

/// zmina's node of a two-member coalition whose members publish recipients.
struct RunningNode {
    child: Child,
    port: u16,
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn prepare(path: &Path) {
    for org in ["zmina", "crimea-sos"] {
        ok(run(path, &["keygen", "--org", org, "--out", "keys"]));
    }
    ok(run(
        path,
        &[
            "genesis",
            "init",
            "--name",
            "Test coalition",
            "--origin",
            "coalition.example",
            "--member",
            "zmina=@keys/zmina.vkey",
            "--member",
            "crimea-sos=@keys/crimea-sos.vkey",
            "--member-recipient",
            "zmina=@keys/zmina.recipient",
            "--member-recipient",
            "crimea-sos=@keys/crimea-sos.recipient",
            "--listing-quorum",
            "2",
            "--governance-quorum",
            "2",
            "--edition-quorum",
            "2",
            "--exclusion-quorum",
            "1",
            "--created",
            "2026-11-01T00:00:00Z",
            "--out",
            "genesis.note",
        ],
    ));
    for org in ["zmina", "crimea-sos"] {
        ok(run(path, &["genesis", "sign", "genesis.note", "--key", &format!("keys/{org}.key")]));
    }
    std::fs::write(path.join("admin-token"), format!("{TOKEN}\n")).expect("token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path.join("admin-token"), std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

fn start(path: &Path, identity: bool) -> RunningNode {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("port").port();
    let log = std::fs::OpenOptions::new().create(true).append(true).open(path.join("node.log")).expect("log");
    let mut command = Command::new(BINARY);
    command
        .current_dir(path)
        .args(["node", "--data", "data", "--genesis", "genesis.note", "--key", "keys/zmina.key"])
        .args(["--admin-token-file", "admin-token", "--listen", &format!("127.0.0.1:{port}")]);
    if identity {
        command.args(["--identity", "keys/zmina.age"]);
    }
    let child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn().expect("start node");
    let mut node = RunningNode { child, port };
    let deadline = Instant::now() + NODE_START_DEADLINE;
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() && http(port, "GET", "/healthz", None).0 == 200 {
            return node;
        }
        if let Ok(Some(status)) = node.child.try_wait() {
            panic!(
                "the node stopped ({status}): {}",
                std::fs::read_to_string(path.join("node.log")).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "the node did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn reports(path: &Path, node: &RunningNode, args: &[&str]) -> Output {
    let url = format!("http://127.0.0.1:{}", node.port);
    let mut all = vec!["reports"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--node", &url, "--token-file", "admin-token"]);
    run(path, &all)
}

#[test]
fn members_triage_hostile_reports_from_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path();
    prepare(path);

    // Reports arrive while the node runs without its identity: stored sealed, unreadable here.
    let node = start(path, false);
    let hostile = json!({
        "who": format!("<script>alert(1)</script> Ivan\u{202E}evil\u{200B}x\u{1b}[31m {MARKER}"),
        "place": "<img src=x onerror=alert(1)>\u{00AD}Kherson\u{0007}\t\u{2066}",
        "what": "line one\r\n<b>bold</b>\u{2066}x\u{E0041}\tend",
        "contact": format!("\"><svg/onload=alert(1)>a\u{FEFF}b-{MARKER}@example.org"),
        "consent": true,
    });
    let spam = json!({ "who": "buy", "place": "now", "what": "cheap pills" });
    for report in [&hostile, &spam] {
        let (status, body) = http(node.port, "POST", "/api/v1/reports", Some(report));
        assert_eq!(status, 202, "{body}");
    }
    let listed = ok(reports(path, &node, &["list"]));
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains("(cannot be opened on this node)"), "{listed}");
    let refusal = refused(reports(path, &node, &["show", listed.split_whitespace().next().expect("id")]));
    assert!(refusal.contains("start the node with --identity"), "{refusal}");
    drop(node);

    let node = start(path, true);
    let output = reports(path, &node, &["list"]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let listed = ok(output);
    assert!(stderr.contains("inbox: 2 of at most"), "{stderr}");
    assert_inert(&listed);
    let line = listed.lines().find(|line| line.contains(MARKER) || line.contains("Ivan")).expect("hostile listed");
    assert!(line.contains("who: <script>alert(1)</script> Ivanevil\\u{200B}x[31m"), "{line}");
    assert!(line.contains("where: <img src=x onerror=alert(1)>\\u{00AD}Kherson"), "{line}");
    let hostile_id = line.split_whitespace().next().expect("id").to_owned();
    let spam_id = listed.lines().find(|line| line.contains("who: buy")).and_then(|line| line.split_whitespace().next());
    let spam_id = spam_id.expect("spam listed").to_owned();

    // Paging.
    let first = ok(reports(path, &node, &["list", "--limit", "1"]));
    let rest = ok(reports(path, &node, &["list", "--after", first.split_whitespace().next().expect("id")]));
    assert_eq!((first.lines().count(), rest.lines().count()), (1, 1), "{first}{rest}");

    // Show: every field, inert; HTML is plain text to a terminal.
    let shown = ok(reports(path, &node, &["show", &hostile_id]));
    assert_inert(&shown);
    assert!(shown.contains(&format!("report     {hostile_id}")), "{shown}");
    assert!(shown.contains("<script>alert(1)</script>"), "{shown}");
    assert!(
        shown.contains(&format!("contact    \"><svg/onload=alert(1)>a\\u{{FEFF}}b-{MARKER}@example.org")),
        "{shown}"
    );
    assert!(shown.contains("consent    yes"), "{shown}");
    assert!(shown.contains("    line one\n    <b>bold</b>x\\u{E0041} end\n"), "line feeds kept, tabs spaces: {shown}");

    // --json: valid JSON of the same strings, invisible characters as \u escapes.
    let raw = ok(reports(path, &node, &["show", &hostile_id, "--json"]));
    assert_inert(&raw);
    assert!(raw.contains("\\u200b") && raw.contains("\\ufeff") && raw.contains("\\udb40\\udc41"), "{raw}");
    let parsed: Value = serde_json::from_str(&raw).expect("valid JSON");
    assert_eq!(parsed["who"], format!("<script>alert(1)</script> Ivanevil\u{200B}x[31m {MARKER}"));
    assert_eq!(parsed["what"], "line one\n<b>bold</b>x\u{E0041} end");
    let listed_json: Value = serde_json::from_str(&ok(reports(path, &node, &["list", "--json"]))).expect("JSON");
    assert_eq!(listed_json["fill"]["full"], false);
    assert_eq!(listed_json["reports"].as_array().map(Vec::len), Some(2));

    // Discard needs --yes, then the report is gone.
    let refusal = refused(reports(path, &node, &["discard", &spam_id]));
    assert!(refusal.contains("--yes"), "{refusal}");
    ok(reports(path, &node, &["discard", &spam_id, "--yes"]));
    let refusal = refused(reports(path, &node, &["show", &spam_id]));
    assert!(refusal.contains("no report") && refusal.contains("coalition reports list"), "{refusal}");

    // Accept: the public facts only are public; the report is sealed into the case.
    let refusal = refused(reports(path, &node, &["accept", &hostile_id]));
    assert!(refusal.contains("--name-uk or --name-en"), "{refusal}");
    let output = reports(path, &node, &["accept", &hostile_id, "--name-en", "Ivan Petrenko", "--region", "kherson"]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let case = ok(output).trim().to_owned();
    assert_eq!(case.len(), 64, "the case id alone on stdout: {case}");
    assert!(stderr.contains("reporter_contact") && !stderr.contains(MARKER), "{stderr}");
    let (status, feed) = http(node.port, "GET", "/api/v1/feeds/zmina?from=1&limit=100", None);
    assert_eq!(status, 200, "{feed}");
    let notes: Vec<String> = serde_json::from_str::<Value>(&feed).expect("feed")["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .map(|note| note.as_str().expect("note").to_owned())
        .collect();
    assert_eq!(notes.len(), 2, "case.opened, then the sealed record: {notes:?}");
    assert!(notes[0].contains("case.opened") && notes[1].contains("sealed"), "{notes:?}");
    let clear = notes.concat();
    assert!(!clear.contains(MARKER) && !clear.contains("example.org") && !clear.contains("svg"), "nothing in clear");
    let shown = ok(run(
        path,
        &["case", "show", &case, "--node", &format!("http://127.0.0.1:{}", node.port), "--token-file", "admin-token"],
    ));
    assert!(shown.contains("Ivan Petrenko"), "{shown}");
    let listed = ok(reports(path, &node, &["list"]));
    assert!(listed.is_empty(), "the inbox is empty: {listed}");
    let log = std::fs::read_to_string(path.join("node.log")).expect("log");
    assert!(!log.contains(MARKER) && !log.contains("example.org"), "nothing of a report is logged");
}
