//! The member commands against a real node: `coalition node` runs as a child process on a free
//! local port, and `case`, `criterion`, `sign note`, `exclusion`, `person`, `member`, `pending`
//! and `event` drive it as a member of staff or a script would.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_coalition");

/// Longest wait for a node to answer `/healthz` after it was started.
const NODE_START_DEADLINE: Duration = Duration::from_secs(60);

/// A token of 64 characters, as `coalition demo` writes them.
const TOKEN: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// Runs the binary in `dir`, without the member commands' environment variables of the machine.
fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BINARY)
        .current_dir(dir)
        .args(args)
        .env_remove("COALITION_NODE")
        .env_remove("COALITION_TOKEN_FILE")
        .output()
        .expect("run coalition")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn ok(output: Output) -> String {
    assert!(output.status.success(), "failed: {}\n{}", stdout(&output), stderr(&output));
    stdout(&output)
}

/// Asserts the command could not run (exit 2) and returns its stderr.
#[track_caller]
fn refused(output: Output) -> String {
    assert_eq!(output.status.code(), Some(2), "expected exit 2: {}\n{}", stdout(&output), stderr(&output));
    stderr(&output)
}

#[track_caller]
fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Writes a token file readable by its owner only.
fn write_token(path: &Path, token: &str) {
    std::fs::write(path, format!("{token}\n")).expect("write token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod token");
    }
}

/// Whether `GET /healthz` answers 200 on `port`.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

/// A two-member coalition (zmina and crimea-sos, every quorum 2 but exclusion 1) with zmina's
/// node running on a free local port; a third organisation, ccl, has a key but is no member.
/// The node is killed when this is dropped.
struct RunningNode {
    dir: tempfile::TempDir,
    child: Child,
    url: String,
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RunningNode {
    fn start() -> Self {
        Self::start_with(false)
    }

    /// With `sealing`, the members publish recipients in the genesis and zmina's node runs with
    /// its identity, so it can seal.
    fn start_with(sealing: bool) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path();
        for org in ["zmina", "crimea-sos", "ccl"] {
            ok(run(path, &["keygen", "--org", org, "--out", "keys"]));
        }
        let recipients: &[&str] = if sealing {
            &[
                "--member-recipient",
                "zmina=@keys/zmina.recipient",
                "--member-recipient",
                "crimea-sos=@keys/crimea-sos.recipient",
            ]
        } else {
            &[]
        };
        ok(run(
            path,
            &[
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
                ][..],
                recipients,
            ]
            .concat(),
        ));
        for org in ["zmina", "crimea-sos"] {
            ok(run(path, &["genesis", "sign", "genesis.note", "--key", &format!("keys/{org}.key")]));
        }
        write_token(&path.join("admin-token"), TOKEN);
        let port = free_port();
        let log = std::fs::File::create(path.join("node.log")).expect("node log");
        let child = Command::new(BINARY)
            .current_dir(path)
            .args(["node", "--data", "data", "--genesis", "genesis.note", "--key", "keys/zmina.key"])
            .args(["--admin-token-file", "admin-token", "--listen", &format!("127.0.0.1:{port}")])
            .args(if sealing { &["--identity", "keys/zmina.age"][..] } else { &[][..] })
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start coalition node");
        let mut node = Self { dir, child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + NODE_START_DEADLINE;
        while !healthy(port) {
            if let Ok(Some(status)) = node.child.try_wait() {
                panic!("the node stopped ({status}):\n{}", node.log());
            }
            assert!(Instant::now() < deadline, "the node did not answer /healthz in time:\n{}", node.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        node
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path().join("node.log")).unwrap_or_default()
    }

    fn token_file(&self) -> PathBuf {
        self.path().join("admin-token")
    }

    /// Runs a member command against this node with its token.
    fn member(&self, args: &[&str]) -> Output {
        let token = self.token_file();
        let mut all = args.to_vec();
        all.extend_from_slice(&["--node", &self.url, "--token-file", token.to_str().expect("UTF-8 path")]);
        run(self.path(), &all)
    }
}

#[test]
fn member_commands_drive_a_running_node() {
    let node = RunningNode::start();

    // Open a case from flags: the id alone on stdout, the sentence on stderr.
    let output = node.member(&[
        "case",
        "open",
        "--name-uk",
        "Олена Приклад",
        "--name-en",
        "Olena Pryklad",
        "--region",
        "crimea",
        "--detention-date",
        "2023-05-14",
        "--charge",
        "205.5:2",
    ]);
    let case = ok(output.clone()).trim().to_owned();
    assert_eq!(case.len(), 64, "{case}");
    assert!(stderr(&output).contains("signed: case opened, seq 1, id"), "{}", stderr(&output));

    // A criterion with reasoning, a public sign.
    let output = node.member(&["criterion", "assert", &case, "a", "--reasoning-en", "Detained for posts."]);
    ok(output.clone());
    assert!(stderr(&output).contains("criterion a asserted"), "{}", stderr(&output));
    let output = node.member(&["sign", "note", &case, "free_speech"]);
    ok(output.clone());
    assert!(stderr(&output).contains("sign free_speech noted"), "{}", stderr(&output));

    // Endorse: one of the two endorsements needed, said in words.
    let output = node.member(&["person", "add", &case]);
    ok(output.clone());
    assert!(stderr(&output).contains("listing endorsed"), "{}", stderr(&output));
    assert!(stderr(&output).contains("1 of 2 endorsements"), "{}", stderr(&output));

    // Show, for people and for scripts.
    let shown = ok(node.member(&["case", "show", &case]));
    for expected in
        ["Олена Приклад", "Olena Pryklad", "under review", "endorsed by  zmina", "a asserted by zmina", "205.5 part 2"]
    {
        assert!(shown.contains(expected), "{expected:?} missing from:\n{shown}");
    }
    assert!(shown.contains("history"), "{shown}");
    let detail = json(&ok(node.member(&["case", "show", &case, "--json"])));
    assert_eq!(detail["id"], case.as_str());
    assert_eq!(detail["status"], "under_review");
    assert_eq!(detail["facts"]["charges"][0]["part"], "2");
    assert_eq!(detail["endorsements"].as_array().map(Vec::len), Some(1));

    // Pending: the case is one endorsement short, and the words say so.
    let pending = ok(node.member(&["pending"]));
    assert!(pending.contains("one endorsement short"), "{pending}");
    assert!(pending.contains(&case), "{pending}");
    let pending = json(&ok(node.member(&["pending", "--json"])));
    assert_eq!(pending["cases_one_short"][0]["id"], case.as_str());
    assert_eq!(pending["cases_one_short"][0]["endorsed_by_you"], true);

    // A release is refused while the person is not in the list, with the node's reason.
    let message =
        refused(node.member(&["person", "release", &case, "--date", "2025-08-24", "--circumstances", "exchange"]));
    assert!(message.contains("only a person in the joint list can be recorded as released"), "{message}");
    let message = refused(node.member(&["person", "detained", &case, "--date", "2025-10-02"]));
    assert!(message.contains("only a released person"), "{message}");

    // Doing the same thing twice is refused, and nothing is signed.
    let message = refused(node.member(&["person", "add", &case]));
    assert!(message.contains("already endorses"), "{message}");

    // Updates set and clear fields; --json gives the node's receipt.
    let receipt = json(&ok(node.member(&["case", "update", &case, "--stage", "trial", "--json"])));
    assert_eq!(receipt["kind"], "case.updated");
    assert_eq!(receipt["seq"], 5);
    ok(node.member(&["case", "update", &case, "--clear", "stage", "--case-group", "Test group"]));
    let detail = json(&ok(node.member(&["case", "show", &case, "--json"])));
    assert_eq!(detail["facts"]["case_group"], "Test group");
    assert!(detail["facts"].get("stage").is_none(), "{detail}");

    // The scripting path signs any body, with the same checks.
    let body = format!(r#"{{"case":"{case}","sign":"falsified_evidence"}}"#);
    let receipt = json(&ok(node.member(&["event", "--kind", "sign.noted", "--body", &body, "--json"])));
    assert_eq!(receipt["kind"], "sign.noted");
    let id = receipt["id"].as_str().expect("id");
    assert_eq!(id.len(), 64);
    std::fs::write(node.path().join("body.json"), format!(r#"{{"case":"{case}","ground":"general_crime"}}"#))
        .expect("write body");
    let output = node.member(&["event", "--kind", "exclusion.raised", "--body", "@body.json"]);
    ok(output.clone());
    assert!(stderr(&output).contains("exclusion.raised event"), "{}", stderr(&output));
    ok(node.member(&["exclusion", "withdraw", &case]));
    ok(node.member(&["exclusion", "raise", &case, "war_crimes"]));
    ok(node.member(&["criterion", "withdraw", &case, "a"]));
    ok(node.member(&["person", "remove", &case]));

    // Schema errors name the field: by its path, and by its flag when a flag gave it.
    let message = refused(node.member(&[
        "event",
        "--kind",
        "case.opened",
        "--body",
        r#"{"facts":{"name_uk":"Олена","detention_date":"2023-02-30"}}"#,
    ]));
    assert!(message.contains("the field body.facts.detention_date"), "{message}");
    let message = refused(node.member(&["case", "open", "--name-uk", " Олена"]));
    assert!(message.contains("the field facts.name_uk (--name-uk)"), "{message}");
    let message = refused(node.member(&["case", "open", "--name-uk", "Олена", "--charge", "205.05"]));
    assert!(message.contains("--charge"), "{message}");
    let message = refused(node.member(&["case", "open", "--region", "crimea"]));
    assert!(message.contains("the field facts: a new case needs name_uk or name_en"), "{message}");
    let message = refused(node.member(&["event", "--kind", "person.added", "--body", "{not json"]));
    assert!(message.contains("--body is not valid JSON"), "{message}");

    // An unknown case is named, with where to find the right id.
    let unknown = "ab".repeat(32);
    let message = refused(node.member(&["case", "show", &unknown]));
    assert!(message.contains(&format!("unknown case {unknown}")), "{message}");
    assert!(message.contains("coalition pending"), "{message}");
    let message = refused(node.member(&["person", "add", &unknown]));
    assert!(message.contains("unknown case"), "{message}");

    // Membership: a proposal shows in pending, the proposer cannot approve twice.
    let output = node.member(&[
        "member",
        "propose",
        "--slug",
        "ccl",
        "--name",
        "Center for Civil Liberties",
        "--vkey",
        "@keys/ccl.vkey",
    ]);
    let proposal = ok(output.clone()).trim().to_owned();
    assert!(stderr(&output).contains("admission of ccl proposed"), "{}", stderr(&output));
    let pending = ok(node.member(&["pending"]));
    assert!(pending.contains(&proposal) && pending.contains("admit ccl"), "{pending}");
    // The proposal counts as its proposer's approval.
    let message = refused(node.member(&["member", "approve", &proposal]));
    assert!(message.contains("zmina already approved this proposal"), "{message}");
    let message = refused(node.member(&["member", "approve", &unknown]));
    assert!(message.contains(&format!("unknown proposal {unknown}")), "{message}");
    let output = node.member(&["member", "remove", "crimea-sos"]);
    ok(output.clone());
    assert!(stderr(&output).contains("removal of crimea-sos proposed"), "{}", stderr(&output));

    // A death can be recorded on any held person.
    ok(node.member(&["person", "died", &case, "--date", "2025-11-30"]));
    let detail = json(&ok(node.member(&["case", "show", &case, "--json"])));
    assert_eq!(detail["detention"]["state"], "died");

    // The wrong token is refused, naming the file to check.
    write_token(&node.path().join("wrong-token"), &"x".repeat(40));
    let output = run(node.path(), &["pending", "--node", &node.url, "--token-file", "wrong-token"]);
    let message = refused(output);
    assert!(message.contains("refused the token in wrong-token") && message.contains("--token-file"), "{message}");

    // The environment gives the node and the token file when the flags do not.
    let output = Command::new(BINARY)
        .current_dir(node.path())
        .args(["pending", "--json"])
        .env("COALITION_NODE", &node.url)
        .env("COALITION_TOKEN_FILE", node.token_file())
        .output()
        .expect("run coalition");
    assert_eq!(json(&ok(output))["org"], "zmina");
}

#[test]
fn no_node_at_the_url_is_said_plainly() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_token(&dir.path().join("admin-token"), TOKEN);
    let url = format!("http://127.0.0.1:{}", free_port());
    let message = refused(run(dir.path(), &["pending", "--node", &url, "--token-file", "admin-token"]));
    assert!(message.contains(&format!("no node answers at {url}")), "{message}");
    assert!(message.contains("is `coalition node` running?"), "{message}");
    let message = refused(run(dir.path(), &["pending", "--node", &url]));
    assert!(message.contains("--token-file"), "{message}");
    let message =
        refused(run(dir.path(), &["pending", "--node", "http://192.0.2.1:8080", "--token-file", "admin-token"]));
    assert!(message.contains("plain http"), "{message}");
}

#[test]
fn values_are_checked_before_anything_is_sent() {
    // No node listens: every refusal here comes from the command line alone.
    let dir = tempfile::tempdir().expect("tempdir");
    write_token(&dir.path().join("admin-token"), TOKEN);
    let url = format!("http://127.0.0.1:{}", free_port());
    let case = "ab".repeat(32);
    let connect = ["--node", url.as_str(), "--token-file", "admin-token"];
    let with = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&connect);
        run(dir.path(), &all)
    };
    let message = refused(with(&["case", "open", "--name-uk", "Олена", "--region", "mars"]));
    assert!(message.contains("unknown region \"mars\"") && message.contains("crimea, sevastopol"), "{message}");
    let message = refused(with(&["sign", "note", &case, "secret_police"]));
    assert!(message.contains("free_speech") && message.contains("security_service_past"), "{message}");
    let message = refused(with(&["case", "shred", &case]));
    assert!(message.contains("irreversible") && message.contains("--yes"), "{message}");
    let message = refused(with(&["case", "seal", &case, "--kind", "case.updated", "--field", "no-equals-sign"]));
    assert!(message.contains("NAME=VALUE"), "{message}");
    let message = refused(with(&["criterion", "assert", &case, "f"]));
    assert!(message.contains("allowed: a, b, c, d, e"), "{message}");
    let message = refused(with(&["person", "release", &case, "--date", "24.08.2025", "--circumstances", "exchange"]));
    assert!(message.contains("YYYY-MM-DD"), "{message}");
    let message = refused(with(&["person", "release", &case, "--date", "2025-08-24", "--circumstances", "escape"]));
    assert!(message.contains("end_of_term"), "{message}");
    let message = refused(with(&["person", "add", "9f2c"]));
    assert!(message.contains("not a case id"), "{message}");
    let message = refused(with(&["event", "--kind", "person.listed", "--body", "{}"]));
    assert!(message.contains("person.added"), "{message}");
    let message = refused(with(&["case", "update", &case]));
    assert!(message.contains("nothing to change"), "{message}");
    let message = refused(with(&["case", "open"]));
    assert!(message.contains("--name-uk"), "{message}");
    std::fs::write(dir.path().join("facts.json"), r#"{"region":"crimea","citizenship":["UA"]}"#).expect("facts");
    let message =
        refused(with(&["case", "open", "--name-uk", "Олена", "--region", "crimea", "--facts-file", "facts.json"]));
    assert!(message.contains("--region and --facts-file both give region"), "{message}");
}

#[test]
fn every_member_command_teaches_with_an_example() {
    let dir = tempfile::tempdir().expect("tempdir");
    for command in [
        &["case", "open"][..],
        &["case", "update"],
        &["case", "show"],
        &["case", "file"],
        &["case", "seal"],
        &["case", "shred"],
        &["criterion", "assert"],
        &["criterion", "withdraw"],
        &["sign", "note"],
        &["exclusion", "raise"],
        &["exclusion", "withdraw"],
        &["person", "add"],
        &["person", "remove"],
        &["person", "release"],
        &["person", "detained"],
        &["person", "died"],
        &["member", "propose"],
        &["member", "approve"],
        &["member", "remove"],
        &["pending"],
        &["event"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let help = ok(run(dir.path(), &args));
        assert!(help.contains("Example") && help.contains(&format!("coalition {}", command.join(" "))), "{help}");
        assert!(help.contains("--token-file"), "{help}");
    }
    // The offline `coalition sign` keeps working beside `sign note`.
    let help = ok(run(dir.path(), &["sign", "--help"]));
    assert!(help.contains("--genesis") && help.contains("note"), "{help}");
}

#[test]
fn sensitive_data_is_sealed_read_back_and_shredded() {
    const MARKER: &str = "MARKER-77d1";
    let node = RunningNode::start_with(true);
    let output = node.member(&[
        "case",
        "open",
        "--name-en",
        "Olena Pryklad",
        "--relatives-contact",
        &format!("sister {MARKER}"),
        "--sealed",
        &format!("children=two {MARKER}"),
    ]);
    let message = stderr(&output);
    let case = ok(output).trim().to_owned();
    assert!(message.contains("signed: case opened"), "{message}");
    assert!(message.contains("sealed: children, relatives_contact in a sealed record"), "{message}");
    assert!(message.contains("readable only by member nodes"), "{message}");

    let output =
        node.member(&["sign", "note", &case, "--sign", "special_services_cooperation", "--note", "line one\nline two"]);
    let message = stderr(&output);
    ok(output);
    assert!(message.contains("only in a sealed record"), "{message}");
    let output =
        node.member(&["exclusion", "raise", &case, "general_crime", "--deliberation", &format!("papers {MARKER}")]);
    let message = stderr(&output);
    ok(output);
    assert!(message.contains("sealed: the deliberation in a sealed record"), "{message}");
    let output = node.member(&[
        "case",
        "seal",
        &case,
        "--kind",
        "case.updated",
        "--field",
        "witnesses=Petro",
        "--field",
        "witnesses=Oksana",
    ]);
    ok(output);
    // A sealed field that is not valid text is refused by the node, with nothing signed.
    let message = refused(node.member(&["case", "seal", &case, "--kind", "case.updated", "--field", "Bad Name=x"]));
    assert!(message.contains("Bad Name"), "{message}");

    // Nothing sensitive in clear in the public feed.
    let public = coalition_server::client::PublicClient::new(&node.url).expect("client");
    let feed = public.feed(&coalition_core::event::OrgSlug::parse("zmina").expect("slug"), 1, 100).expect("feed");
    assert_eq!(feed.notes.len(), 6, "case.opened, sealed, sealed (sign), exclusion.raised, sealed, sealed");
    for note in &feed.notes {
        assert!(!note.contains(MARKER) && !note.contains("special_services_cooperation"), "in clear: {note}");
    }

    // The member view, for people: every text on one line, the sign and the notes readable.
    let file = ok(node.member(&["case", "file", &case]));
    assert!(file.contains(&format!("relatives_contact: sister {MARKER}")), "{file}");
    assert!(file.contains(&format!("children: two {MARKER}")), "{file}");
    assert!(file.contains("sign: special_services_cooperation"), "{file}");
    assert!(file.contains("note: line one\\nline two"), "the line feed is escaped: {file}");
    assert!(file.contains(&format!("deliberation: papers {MARKER}")), "{file}");
    assert!(file.contains("    - Petro") && file.contains("    - Oksana"), "{file}");
    let file = json(&ok(node.member(&["case", "file", &case, "--json"])));
    assert_eq!(file["records"].as_array().map(Vec::len), Some(4));

    // Shredding is irreversible: asked for explicitly, then the records cannot be read.
    let message = refused(node.member(&["case", "shred", &case]));
    assert!(message.contains("irreversible"), "{message}");
    ok(node.member(&["case", "shred", &case, "--yes"]));
    let file = ok(node.member(&["case", "file", &case]));
    assert!(!file.contains(MARKER), "{file}");
    assert_eq!(file.matches("shredded: its key was destroyed").count(), 4, "{file}");
}
