//! The leak test (issue 8): a member node, run as the real binary with the most verbose logging,
//! is given a distinct marker string in every kind of sensitive data a member or a reporter can
//! type — contacts of relatives and lawyers, health, sources and witnesses, children's data, an
//! address in occupied territory, a sensitive sign, the deliberation on an exclusion, every field
//! of a report (as JSON and as a form), and the reporter's data of an accepted report. Then every
//! public page and endpoint is crawled (every route of the published OpenAPI document, with every
//! case, event, feed and edition the node has), a bundle is exported, every byte of the data
//! directory is read in clear, and the node's log: no marker may appear anywhere. The member view
//! must show every marker, so the test cannot pass by losing the data.
//!
//! This is also the "seized server" test: the node's identity lives outside its data directory,
//! as a real deployment keeps it, and what a seizure gets (the data directory and the logs) is
//! read byte by byte.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::browser::free_port;
use crate::public_node::request;

const BINARY: &str = env!("CARGO_BIN_EXE_coalition");
/// A member token of 64 characters.
const TOKEN: &str = "4c65616b2d746573742d746f6b656e2d4c65616b2d746573742d746f6b656e2d";
/// Longest wait for the node to answer after it was started or stopped.
const NODE_DEADLINE: Duration = Duration::from_secs(60);
/// The edition the test proposes.
const EDITION_LABEL: &str = "2026-11";
/// Most distinct URLs the crawl fetches (the node holds a handful of cases and events).
const CRAWL_URLS_MAX: usize = 2_000;

/// A marker: lowercase ASCII letters and digits only, so no encoding the node may apply (JSON
/// or HTML escaping, NFC, percent-encoding, case folding for search) hides it from the search.
fn marker(field: &str) -> String {
    format!("qzleak{}mark", field.replace(|character: char| !character.is_ascii_alphanumeric(), ""))
}

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(BINARY)
        .current_dir(dir)
        .args(args)
        .env_remove("COALITION_NODE")
        .env_remove("COALITION_TOKEN_FILE")
        .output()
        .expect("run coalition");
    assert!(
        output.status.success(),
        "{args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// zmina's node over `dir/data`, its identity in `dir/secrets` (outside the data directory),
/// logging everything at trace level to `dir/node.log`.
struct LeakNode {
    child: Child,
    url: String,
}

impl LeakNode {
    fn start(dir: &Path) -> Self {
        let port = free_port();
        let log = std::fs::File::create(dir.join("node.log")).expect("node log");
        let child = Command::new(BINARY)
            .current_dir(dir)
            .args(["node", "--data", "data", "--genesis", "genesis.note", "--key", "secrets/zmina.key"])
            .args(["--identity", "secrets/zmina.age", "--admin-token-file", "secrets/token"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "trace")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start coalition node");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + NODE_DEADLINE;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() || get(&format!("{url}/healthz")).0 != 200 {
            assert!(Instant::now() < deadline, "the node did not start:\n{}", read_log(dir));
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, url }
    }

    /// Stops the node as an operator does (SIGTERM) and waits for it to exit.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + NODE_DEADLINE;
        while self.child.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < deadline, "the node did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn member(&self, method: &str, path: &str, body: &Value) -> Value {
        let auth = format!("Authorization: Bearer {TOKEN}");
        let (status, text) = request(
            method,
            &format!("{}/api/v1/member{path}", self.url),
            &[&auth, "Content-Type: application/json"],
            &body.to_string(),
        );
        assert!((200..300).contains(&status), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: not JSON ({error}): {text}"))
    }

    fn member_get(&self, path: &str) -> String {
        let auth = format!("Authorization: Bearer {TOKEN}");
        let (status, text) = request("GET", &format!("{}/api/v1/member{path}", self.url), &[&auth], "");
        assert_eq!(status, 200, "GET {path}: {text}");
        text
    }
}

impl Drop for LeakNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(url: &str) -> (u16, String) {
    request("GET", url, &[], "")
}

fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("node.log")).unwrap_or_default()
}

/// A two-member coalition with recipients: listing, edition and exclusion quorum 1 so one node
/// can list a person and publish an edition. Keys and identities go to `dir/secrets`.
fn coalition(dir: &Path) {
    for org in ["zmina", "crimea-sos"] {
        run_ok(dir, &["keygen", "--org", org, "--out", "secrets"]);
    }
    run_ok(
        dir,
        &[
            "genesis",
            "init",
            "--name",
            "Leak test coalition (fictional)",
            "--origin",
            "coalition.example",
            "--member",
            "zmina=@secrets/zmina.vkey",
            "--member",
            "crimea-sos=@secrets/crimea-sos.vkey",
            "--member-recipient",
            "zmina=@secrets/zmina.recipient",
            "--member-recipient",
            "crimea-sos=@secrets/crimea-sos.recipient",
            "--listing-quorum",
            "1",
            "--governance-quorum",
            "2",
            "--edition-quorum",
            "1",
            "--exclusion-quorum",
            "1",
            "--created",
            "2026-10-01T00:00:00Z",
            "--out",
            "genesis.note",
        ],
    );
    for org in ["zmina", "crimea-sos"] {
        run_ok(dir, &["genesis", "sign", "genesis.note", "--key", &format!("secrets/{org}.key")]);
    }
    std::fs::write(dir.join("secrets/token"), format!("{TOKEN}\n")).expect("token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("secrets/token"), std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

/// Every sensitive value the test types, by where it was typed.
struct Markers {
    all: BTreeSet<String>,
}

impl Markers {
    fn new() -> Self {
        Self { all: BTreeSet::new() }
    }

    fn take(&mut self, field: &str) -> String {
        let value = marker(field);
        self.all.insert(value.clone());
        value
    }

    /// The markers `text` contains (compared case-insensitively).
    fn found_in(&self, text: &[u8]) -> Vec<&str> {
        let lower = text.to_ascii_lowercase();
        self.all
            .iter()
            .filter(|marker| lower.windows(marker.len()).any(|window| window == marker.as_bytes()))
            .map(String::as_str)
            .collect()
    }
}

fn case_of(answer: &Value) -> String {
    answer["id"].as_str().unwrap_or_else(|| panic!("no event id in {answer}")).to_owned()
}

/// Types every kind of sensitive data into the node through the member API and the public
/// form; returns the cases made and the report ids still in the inbox.
fn fill(node: &LeakNode, markers: &mut Markers) -> (Vec<String>, Vec<String>) {
    let public_facts = |name: &str| {
        json!({"name_uk": name, "name_en": name, "region": "crimea", "stage": "serving_sentence",
               "detention_date": "2023-05-01"})
    };
    // A case opened with contacts, health and sources: sealed automatically.
    let opened = node.member(
        "POST",
        "/cases",
        &json!({
            "facts": public_facts("Вигадана Особа Один"),
            "relatives_contact": markers.take("relatives_contact"),
            "lawyer_contact": markers.take("lawyer_contact"),
            "health": markers.take("health"),
            "sources": markers.take("sources"),
            "sealed": {
                "children": markers.take("children"),
                "home_address": markers.take("home_address"),
                "witnesses": markers.take("witnesses"),
            },
        }),
    );
    let first = case_of(&opened);
    // An update with more of the same.
    node.member(
        "PATCH",
        &format!("/cases/{first}"),
        &json!({"facts": {"place_of_detention": "Виправна колонія № 1"},
                "reporter_contact": markers.take("reporter_contact_update"),
                "sealed": {"relatives": markers.take("relatives_update")}}),
    );
    node.member("POST", &format!("/cases/{first}/criteria"), &json!({"criterion": "a"}));
    node.member("POST", &format!("/cases/{first}/signs"), &json!({"sign": "free_speech"}));
    // A sensitive sign and its note: only in a sealed record.
    node.member(
        "POST",
        &format!("/cases/{first}/signs"),
        &json!({"sign": "special_services_cooperation", "note": markers.take("sign_note")}),
    );
    node.member("POST", &format!("/cases/{first}/endorsement"), &json!({}));
    // A sealed record written directly.
    node.member(
        "POST",
        &format!("/cases/{first}/sealed"),
        &json!({"kind": "case.updated", "fields": {"medical": markers.take("sealed_direct")}}),
    );

    // A second case, with an exclusion and its deliberation.
    let second = case_of(&node.member("POST", "/cases", &json!({"facts": public_facts("Вигадана Особа Два")})));
    node.member(
        "POST",
        &format!("/cases/{second}/exclusion"),
        &json!({"ground": "general_crime", "deliberation": markers.take("deliberation")}),
    );

    // Reports through the public form: JSON and an HTML form.
    let mut reports = Vec::new();
    for channel in ["json", "form"] {
        let fields = [
            ("who", markers.take(&format!("report_who_{channel}"))),
            ("place", markers.take(&format!("report_place_{channel}"))),
            ("what", markers.take(&format!("report_what_{channel}"))),
            ("contact", markers.take(&format!("report_contact_{channel}"))),
        ];
        let (content_type, body) = if channel == "json" {
            let mut object: serde_json::Map<String, Value> =
                fields.iter().map(|(name, value)| ((*name).to_owned(), Value::from(value.clone()))).collect();
            object.insert("consent".to_owned(), Value::Bool(true));
            ("Content-Type: application/json", Value::Object(object).to_string())
        } else {
            let mut form: Vec<String> = fields.iter().map(|(name, value)| format!("{name}={value}")).collect();
            form.push("consent=on".to_owned());
            ("Content-Type: application/x-www-form-urlencoded", form.join("&"))
        };
        let (status, text) = request("POST", &format!("{}/api/v1/reports", node.url), &[content_type], &body);
        assert!((200..300).contains(&status), "report by {channel}: {status} {text}");
    }
    let inbox: Value = serde_json::from_str(&node.member_get("/reports")).expect("inbox JSON");
    let entries = inbox["reports"].as_array().or_else(|| inbox.as_array()).expect("inbox entries").clone();
    assert_eq!(entries.len(), 2, "both reports are in the inbox: {inbox}");
    for entry in &entries {
        reports.push(entry["id"].as_str().expect("report id").to_owned());
    }
    // Accept the first: a case whose reporter data stays sealed.
    let accepted = node.member(
        "POST",
        &format!("/reports/{}/accept", reports[0]),
        &json!({"facts": public_facts("Вигадана Особа Три")}),
    );
    let third = accepted["case"].as_str().expect("accepted case").to_owned();
    reports.remove(0);

    // An official edition of the list.
    node.member("POST", "/editions", &json!({"label": EDITION_LABEL}));
    (vec![first, second, third], reports)
}

/// Every public URL of the node: the routes of its OpenAPI document with every value each path
/// parameter can take, the pages, and each feed from its start.
fn public_urls(node: &LeakNode, cases: &[String]) -> BTreeSet<String> {
    let (status, text) = get(&format!("{}/api/v1/openapi.json", node.url));
    assert_eq!(status, 200);
    let openapi: Value = serde_json::from_str(&text).expect("openapi JSON");
    let mut events = BTreeSet::new();
    let orgs = ["zmina", "crimea-sos"];
    for org in orgs {
        let (status, feed) = get(&format!("{}/api/v1/feeds/{org}?from=1", node.url));
        assert_eq!(status, 200, "feed {org}: {feed}");
        let page: Value = serde_json::from_str(&feed).expect("feed JSON");
        for note in page["notes"].as_array().into_iter().flatten() {
            let note = note.as_str().expect("a note text");
            // The id of an event is the hash of its note (PROTOCOL §5).
            events.insert(coalition_core::event::EventId::of_text(note.as_bytes()).to_string());
        }
    }
    let mut values: Vec<(&str, Vec<String>)> = vec![
        ("{case}", cases.to_vec()),
        ("{org}", orgs.iter().map(|org| (*org).to_owned()).collect()),
        ("{label}", vec![EDITION_LABEL.to_owned()]),
        ("{id}", events.iter().cloned().collect()),
    ];
    values.retain(|(_, list)| !list.is_empty());
    let mut urls = BTreeSet::new();
    let paths = openapi["paths"].as_object().expect("paths");
    for (path, operations) in paths {
        if path.starts_with("/api/v1/member") || operations.get("get").is_none() {
            continue;
        }
        let mut expanded = vec![path.clone()];
        for (parameter, list) in &values {
            expanded = expanded
                .into_iter()
                .flat_map(|path| {
                    if path.contains(parameter) {
                        list.iter().map(|value| path.replace(parameter, value)).collect()
                    } else {
                        vec![path]
                    }
                })
                .collect();
        }
        urls.extend(expanded.into_iter().filter(|path| !path.contains('{')));
    }
    for page in ["/", "/stats", "/about", "/report", "/editions", "/?lang=en", "/report?lang=en"] {
        urls.insert(page.to_owned());
    }
    for org in orgs {
        urls.insert(format!("/api/v1/feeds/{org}?from=1"));
    }
    for case in cases {
        urls.insert(format!("/persons/{case}"));
        urls.insert(format!("/persons/{case}?lang=en"));
    }
    assert!(urls.len() < CRAWL_URLS_MAX, "the crawl grew to {} URLs", urls.len());
    urls
}

fn files_under(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files_under(&path, found);
        } else {
            found.push(path);
        }
    }
}

#[test]
fn no_sensitive_value_reaches_a_public_output_the_data_directory_or_the_logs() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path();
    coalition(dir);
    let node = LeakNode::start(dir);
    let mut markers = Markers::new();
    let (cases, reports) = fill(&node, &mut markers);

    // The member view holds every marker: the data was kept, sealed, not lost.
    let mut member_view = String::new();
    for case in &cases {
        member_view.push_str(&node.member_get(&format!("/cases/{case}/sealed")));
    }
    for report in &reports {
        member_view.push_str(&node.member_get(&format!("/reports/{report}")));
    }
    let seen: BTreeSet<&str> = markers.found_in(member_view.as_bytes()).into_iter().collect();
    let missing: Vec<&String> = markers.all.iter().filter(|marker| !seen.contains(marker.as_str())).collect();
    assert!(missing.is_empty(), "the member view lost {missing:?}:\n{member_view}");

    // The person is listed and the edition official: the crawl sees real public data.
    let (_, list) = get(&format!("{}/api/v1/list", node.url));
    assert!(list.contains(&cases[0]), "the first case is listed: {list}");

    let mut leaks = Vec::new();
    let urls = public_urls(&node, &cases);
    let mut served = 0;
    for path in &urls {
        let (status, text) = get(&format!("{}{path}", node.url));
        if status == 200 {
            served += 1;
        }
        for found in markers.found_in(text.as_bytes()) {
            leaks.push(format!("GET {path} ({status}) shows {found}"));
        }
    }
    assert!(served >= 20, "the crawl reached only {served} public pages of {}", urls.len());
    node.stop();

    // What a seizure or a copy gets: the export, every file of the data directory, the log.
    let bundle = run_ok(dir, &["export", "--data", "data"]);
    assert!(bundle.lines().count() > 10, "the export holds the history");
    for found in markers.found_in(bundle.as_bytes()) {
        leaks.push(format!("coalition export shows {found}"));
    }
    let mut files = Vec::new();
    files_under(&dir.join("data"), &mut files);
    assert!(!files.is_empty());
    for file in &files {
        let bytes = std::fs::read(file).expect("read data file");
        assert!(
            !String::from_utf8_lossy(&bytes).contains("AGE-SECRET-KEY-"),
            "{} holds an identity: the data directory must not",
            file.display()
        );
        for found in markers.found_in(&bytes) {
            leaks.push(format!("{} holds {found}", file.display()));
        }
    }
    let log = read_log(dir);
    assert!(log.lines().count() > 10, "the node logged its work at trace level");
    for found in markers.found_in(log.as_bytes()) {
        leaks.push(format!("the log shows {found}"));
    }
    assert!(leaks.is_empty(), "sensitive values leaked:\n{}", leaks.join("\n"));
}
