//! The offline path: keys, genesis, signing into bundles, verification, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BINARY: &str = env!("CARGO_BIN_EXE_coalition");

pub(crate) fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BINARY).current_dir(dir).args(args).output().expect("run coalition")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
pub(crate) fn ok(output: Output) -> String {
    assert!(output.status.success(), "failed: {}\n{}", stdout(&output), stderr(&output));
    stdout(&output)
}

/// A two-member coalition with a signed genesis in a temporary folder.
pub(crate) struct Coalition {
    dir: tempfile::TempDir,
}

impl Coalition {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path();
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
                "--member-name",
                "zmina=ZMINA Human Rights Centre",
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
        Self { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn sign(&self, org: &str, kind: &str, body: &str) -> Output {
        self.sign_with(org, kind, body, &["--bundle", "ledger.jsonl"])
    }

    /// Signs a case.opened into another bundle file at a given time (to build a second branch of
    /// a feed).
    pub(crate) fn sign_into(&self, bundle: &str, org: &str, body: &str, time: &str) -> Output {
        self.sign_with(org, "case.opened", body, &["--bundle", bundle, "--time", time])
    }

    pub(crate) fn sign_with(&self, org: &str, kind: &str, body: &str, extra: &[&str]) -> Output {
        let key = format!("keys/{org}.key");
        let mut args = vec!["sign", "--genesis", "genesis.note", "--key", &key, "--kind", kind, "--body", body];
        args.extend_from_slice(extra);
        run(self.path(), &args)
    }

    fn verify(&self, extra: &[&str]) -> Output {
        let mut args = vec!["verify", "--genesis", "genesis.note", "ledger.jsonl"];
        args.extend_from_slice(extra);
        run(self.path(), &args)
    }

    pub(crate) fn bundle(&self) -> PathBuf {
        self.path().join("ledger.jsonl")
    }
}

pub(crate) const CASE_BODY: &str =
    r#"{"facts":{"name_en":"Olena Pryklad","name_uk":"Олена Приклад","region":"crimea"}}"#;

#[test]
fn keygen_writes_a_secret_file_only_its_owner_reads_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vkey = ok(run(dir.path(), &["keygen", "--org", "zmina", "--out", "keys"]));
    assert!(vkey.starts_with("coalition.example/zmina+"), "{vkey}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for secret in ["keys/zmina.key", "keys/zmina.age"] {
            let mode = std::fs::metadata(dir.path().join(secret)).expect("secret").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{secret}");
        }
    }
    let identity = std::fs::read_to_string(dir.path().join("keys/zmina.age")).expect("identity");
    let identity = coalition_core::seal::Identity::parse(&identity).expect("an age identity");
    let recipient = std::fs::read_to_string(dir.path().join("keys/zmina.recipient")).expect("recipient");
    assert_eq!(recipient.trim(), identity.recipient().to_string(), "the recipient is the identity's");
    let before = std::fs::read(dir.path().join("keys/zmina.key")).expect("key");
    let again = run(dir.path(), &["keygen", "--org", "zmina", "--out", "keys"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("refusing to overwrite"), "{}", stderr(&again));
    assert_eq!(std::fs::read(dir.path().join("keys/zmina.key")).expect("key"), before);
}

#[test]
fn the_genesis_carries_each_founders_recipient() {
    let coalition = Coalition::new();
    let text = std::fs::read_to_string(coalition.path().join("genesis.note")).expect("genesis");
    let genesis = coalition_core::genesis::Genesis::parse(&text).expect("genesis");
    for member in &genesis.doc().members {
        let file = coalition.path().join(format!("keys/{}.recipient", member.slug));
        let expected = std::fs::read_to_string(file).expect("recipient file");
        assert_eq!(member.recipient.as_deref(), Some(expected.trim()), "{}", member.slug);
    }
    let unknown = run(
        coalition.path(),
        &[
            "genesis",
            "init",
            "--name",
            "Other",
            "--origin",
            "coalition.example",
            "--member",
            "zmina=@keys/zmina.vkey",
            "--member-recipient",
            "ccl=@keys/zmina.recipient",
            "--listing-quorum",
            "1",
            "--governance-quorum",
            "1",
            "--edition-quorum",
            "1",
            "--exclusion-quorum",
            "1",
            "--out",
            "other.note",
        ],
    );
    assert_eq!(unknown.status.code(), Some(2), "a recipient for a slug that is not a member");
    assert!(stderr(&unknown).contains("--member-recipient"), "{}", stderr(&unknown));
}

#[test]
fn keygen_refuses_a_bad_slug() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(dir.path(), &["keygen", "--org", "Bad Slug", "--out", "keys"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("slug"), "{}", stderr(&output));
}

#[test]
fn genesis_verify_succeeds_only_when_every_founder_signed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path();
    for org in ["zmina", "ccl"] {
        ok(run(path, &["keygen", "--org", org, "--out", "keys"]));
    }
    ok(run(
        path,
        &[
            "genesis",
            "init",
            "--name",
            "Test",
            "--origin",
            "coalition.example",
            "--member",
            "zmina=@keys/zmina.vkey",
            "--member",
            "ccl=@keys/ccl.vkey",
            "--listing-quorum",
            "2",
            "--governance-quorum",
            "2",
            "--edition-quorum",
            "1",
            "--exclusion-quorum",
            "1",
            "--out",
            "genesis.note",
        ],
    ));
    let unsigned = run(path, &["genesis", "verify", "genesis.note"]);
    assert_eq!(unsigned.status.code(), Some(1));
    ok(run(path, &["genesis", "sign", "genesis.note", "--key", "keys/zmina.key"]));
    let half = run(path, &["genesis", "verify", "genesis.note"]);
    assert_eq!(half.status.code(), Some(1));
    assert!(stderr(&half).contains("ccl"), "{}", stderr(&half));
    ok(run(path, &["genesis", "sign", "genesis.note", "--key", "keys/ccl.key"]));
    let complete = ok(run(path, &["genesis", "verify", "genesis.note"]));
    assert!(complete.starts_with("ledger   "), "{complete}");
    // The genesis is a C2SP signed note any implementation can check.
    ok(run(path, &["note", "verify", "--vkey", "@keys/zmina.vkey", "--vkey", "@keys/ccl.vkey", "genesis.note"]));
}

#[test]
fn genesis_init_refuses_impossible_policies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path();
    ok(run(path, &["keygen", "--org", "zmina", "--out", "keys"]));
    for (flag, value) in [("--listing-quorum", "0"), ("--governance-quorum", "2")] {
        let mut args = vec![
            "genesis",
            "init",
            "--name",
            "Test",
            "--origin",
            "coalition.example",
            "--member",
            "zmina=@keys/zmina.vkey",
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
        ];
        let position = args.iter().position(|arg| *arg == flag).expect("flag") + 1;
        args[position] = value;
        let output = run(path, &args);
        assert_eq!(output.status.code(), Some(2), "{flag}={value} accepted");
        assert!(stderr(&output).contains("quorum"), "{}", stderr(&output));
        assert!(!path.join("genesis.note").exists());
    }
}

#[test]
fn signed_events_verify_and_chain_across_feeds() {
    let coalition = Coalition::new();
    let case = ok(coalition.sign("zmina", "case.opened", CASE_BODY)).trim().to_owned();
    assert_eq!(case.len(), 64);
    let endorse = format!(r#"{{"case":"{case}"}}"#);
    ok(coalition.sign("zmina", "person.added", &endorse));
    ok(coalition.sign("crimea-sos", "person.added", &endorse));
    let report = ok(coalition.verify(&["--json"]));
    let report: serde_json::Value = serde_json::from_str(&report).expect("json report");
    assert_eq!(report["valid"], true);
    assert_eq!(report["events"], 3);
    // crimea-sos's first event names zmina's head in its deps.
    let bundle = std::fs::read_to_string(coalition.bundle()).expect("bundle");
    let last: serde_json::Value = serde_json::from_str(bundle.lines().last().expect("line")).expect("line json");
    let note = last["note"].as_str().expect("note");
    let zmina_head = report["feeds"]
        .as_array()
        .expect("feeds")
        .iter()
        .find(|feed| feed["org"] == "zmina")
        .expect("zmina")["head_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(note.contains(&format!("\"deps\":[\"{zmina_head}\"]")), "{note}");
}

#[test]
fn sign_refuses_a_body_that_breaks_its_schema_and_writes_nothing() {
    let coalition = Coalition::new();
    let output = coalition.sign("zmina", "case.opened", r#"{"facts":{"name_uk":"Особа","region":"atlantis"}}"#);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("region"), "{}", stderr(&output));
    let sensitive = coalition.sign(
        "zmina",
        "sign.noted",
        r#"{"case":"0000000000000000000000000000000000000000000000000000000000000000","sign":"special_services_cooperation"}"#,
    );
    assert_eq!(sensitive.status.code(), Some(2));
    assert!(stderr(&sensitive).contains("sealed"), "{}", stderr(&sensitive));
    let unknown_kind = coalition.sign("zmina", "case.deleted", "{}");
    assert!(stderr(&unknown_kind).contains("known kinds"), "{}", stderr(&unknown_kind));
    assert!(!coalition.bundle().exists());
}

#[test]
fn verify_reports_every_problem_with_bundle_line_org_seq_and_reason() {
    let coalition = Coalition::new();
    for _ in 0..3 {
        ok(coalition.sign("zmina", "case.opened", CASE_BODY));
    }
    ok(coalition.sign("crimea-sos", "case.opened", CASE_BODY));
    let bundle = std::fs::read_to_string(coalition.bundle()).expect("bundle");
    let mut lines: Vec<String> = bundle.lines().map(str::to_owned).collect();
    // Line 2: flip a character of the signature. Line 4: garbage. Line 1 dropped leaves a gap.
    let signature_start = lines[1].rfind(' ').expect("signature") + 20;
    let mut bytes = lines[1].clone().into_bytes();
    bytes[signature_start] = if bytes[signature_start] == b'A' { b'B' } else { b'A' };
    lines[1] = String::from_utf8(bytes).expect("utf8");
    lines[3] = "this is not json".to_owned();
    std::fs::write(coalition.bundle(), lines.join("\n") + "\n").expect("write");

    let output = coalition.verify(&[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("ledger.jsonl:2: zmina seq 2: bad signature"), "{text}");
    assert!(text.contains("ledger.jsonl:4: bundle line must be a JSON object"), "{text}");
    // Line 3 (zmina seq 3) can no longer be placed: its predecessor was forged.
    assert!(text.contains("ledger.jsonl:3: zmina seq 3: seq gap"), "{text}");
    assert_eq!(text.lines().count(), 3, "{text}");

    let json = coalition.verify(&["--json"]);
    assert_eq!(json.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("json");
    let codes: Vec<&str> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|problem| problem["code"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(codes, ["bad_signature", "seq_gap", "bundle_line"]);
}

#[test]
fn verify_finds_a_fork_with_both_ids() {
    let coalition = Coalition::new();
    ok(coalition.sign("zmina", "case.opened", CASE_BODY));
    let bundle = std::fs::read_to_string(coalition.bundle()).expect("bundle");
    // Sign a second seq 1 of zmina into a separate bundle: same org and seq, another event.
    let other = coalition.sign_into("other.jsonl", "zmina", CASE_BODY, "2026-11-02T00:00:00Z");
    let second_id = ok(other).trim().to_owned();
    let first_id = blake3_of_text(&bundle);
    let output = run(coalition.path(), &["verify", "--genesis", "genesis.note", "ledger.jsonl", "other.jsonl"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("fork"), "{text}");
    assert!(text.contains(&first_id) && text.contains(&second_id), "{text}");
}

fn blake3_of_text(bundle: &str) -> String {
    let line: serde_json::Value = serde_json::from_str(bundle.lines().next().expect("line")).expect("json");
    let note = line["note"].as_str().expect("note");
    let text = &note[..note.find("\n\n").expect("blank line") + 1];
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

#[test]
fn verify_of_a_missing_file_or_unsigned_genesis_cannot_run() {
    let coalition = Coalition::new();
    let missing = coalition.verify(&[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("ledger.jsonl"), "{}", stderr(&missing));
}

#[test]
fn help_teaches_with_examples() {
    let dir = tempfile::tempdir().expect("tempdir");
    let help = ok(run(dir.path(), &["sign", "--help"]));
    assert!(help.contains("Example"), "{help}");
    let top = ok(run(dir.path(), &["--help"]));
    assert!(top.contains("Exit codes"), "{top}");
}

/// A coalition where one case is listed, one released and one under review.
fn coalition_with_cases() -> (Coalition, String, String, String) {
    let coalition = Coalition::new();
    let open = |name: &str, region: &str| {
        let body = format!(r#"{{"facts":{{"detention_date":"2023-05-01","name_en":"{name}","region":"{region}"}}}}"#);
        ok(coalition.sign("zmina", "case.opened", &body)).trim().to_owned()
    };
    let listed = open("Listed Person", "crimea");
    let released = open("Released Person", "kherson");
    let review = open("Review Person", "crimea");
    for case in [&listed, &released] {
        let case_body = format!(r#"{{"case":"{case}"}}"#);
        ok(coalition.sign("zmina", "criterion.asserted", &format!(r#"{{"case":"{case}","criterion":"e"}}"#)));
        ok(coalition.sign("zmina", "person.added", &case_body));
        ok(coalition.sign("crimea-sos", "person.added", &case_body));
    }
    ok(coalition.sign(
        "crimea-sos",
        "person.released",
        &format!(r#"{{"case":"{released}","circumstances":"exchange","date":"2026-10-01"}}"#),
    ));
    ok(coalition.sign("zmina", "person.added", &format!(r#"{{"case":"{review}"}}"#)));
    (coalition, listed, released, review)
}

fn list(coalition: &Coalition, extra: &[&str]) -> Output {
    let mut args = vec!["list", "--genesis", "genesis.note", "ledger.jsonl"];
    args.extend_from_slice(extra);
    run(coalition.path(), &args)
}

#[test]
fn list_prints_the_joint_list_with_filters_and_formats() {
    let (coalition, listed, released, review) = coalition_with_cases();
    let all: serde_json::Value = serde_json::from_str(&ok(list(&coalition, &["--format", "json"]))).expect("json");
    let cases: Vec<&str> =
        all.as_array().expect("array").iter().map(|entry| entry["case"].as_str().unwrap_or("")).collect();
    let mut expected = vec![listed.as_str(), released.as_str()];
    expected.sort();
    assert_eq!(cases, expected, "under review {review} must not be listed");

    let detained: serde_json::Value =
        serde_json::from_str(&ok(list(&coalition, &["--format", "json", "--status", "detained"]))).expect("json");
    assert_eq!(detained.as_array().map(Vec::len), Some(1));
    assert_eq!(detained[0]["case"], listed.as_str());

    let kherson = ok(list(&coalition, &["--format", "csv", "--region", "kherson"]));
    assert_eq!(kherson.lines().count(), 2, "{kherson}");
    assert!(kherson.contains("\"Released Person\"") && kherson.contains("\"released\""), "{kherson}");

    let table = ok(list(&coalition, &[]));
    assert!(table.contains("Listed Person") && table.contains(&listed[..12]), "{table}");

    let bad_region = list(&coalition, &["--region", "atlantis"]);
    assert_eq!(bad_region.status.code(), Some(2));
    assert!(stderr(&bad_region).contains("known: crimea"), "{}", stderr(&bad_region));
}

#[test]
fn the_list_hash_does_not_depend_on_the_order_of_the_bundle() {
    let (coalition, ..) = coalition_with_cases();
    let hash = ok(list(&coalition, &["--hash"])).trim().to_owned();
    assert_eq!(hash.len(), 64, "{hash}");
    let bundle = std::fs::read_to_string(coalition.bundle()).expect("bundle");
    let mut lines: Vec<&str> = bundle.lines().collect();
    lines.reverse();
    std::fs::write(coalition.path().join("reversed.jsonl"), lines.join("\n") + "\n").expect("write");
    let reversed = ok(run(coalition.path(), &["list", "--genesis", "genesis.note", "reversed.jsonl", "--hash"]));
    assert_eq!(reversed.trim(), hash);
}

#[test]
fn list_leaves_out_invalid_events_and_says_so() {
    let (coalition, ..) = coalition_with_cases();
    let mut bundle = std::fs::read_to_string(coalition.bundle()).expect("bundle");
    bundle.push_str("{\"note\":\"forged\"}\n");
    std::fs::write(coalition.bundle(), bundle).expect("write");
    let output = list(&coalition, &["--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("events left out"), "{}", stderr(&output));
    let entries: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_eq!(entries.as_array().map(Vec::len), Some(2));
}

#[test]
fn show_prints_a_case_and_its_history_event_by_event() {
    let (coalition, _, released, _) = coalition_with_cases();
    let output = ok(run(coalition.path(), &["show", "--genesis", "genesis.note", "ledger.jsonl", &released[..10]]));
    assert!(output.contains(&format!("case      {released}")), "{output}");
    assert!(output.contains("status    released since 2026-10-01"), "{output}");
    let history: Vec<&str> = output.lines().skip_while(|line| !line.starts_with("history")).skip(1).collect();
    let kinds: Vec<&str> = history.iter().filter_map(|line| line.split_whitespace().nth(4)).collect();
    assert_eq!(kinds, ["case.opened", "criterion.asserted", "person.added", "person.added", "person.released"]);
    let unknown = run(coalition.path(), &["show", "--genesis", "genesis.note", "ledger.jsonl", "00000000"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no case.opened event"), "{}", stderr(&unknown));
}

#[test]
fn honest_events_that_name_a_forked_feed_still_count() {
    let coalition = Coalition::new();
    let case = ok(coalition.sign("crimea-sos", "case.opened", CASE_BODY)).trim().to_owned();
    let endorse = format!(r#"{{"case":"{case}"}}"#);
    ok(coalition.sign("crimea-sos", "criterion.asserted", &format!(r#"{{"case":"{case}","criterion":"a"}}"#)));
    ok(coalition.sign("crimea-sos", "person.added", &endorse));
    ok(coalition.sign("zmina", "case.opened", CASE_BODY));
    // zmina equivocates at seq 2: one branch in the shared bundle, another in a side bundle
    // built from a copy of the bundle as it was.
    std::fs::copy(coalition.bundle(), coalition.path().join("side.jsonl")).expect("copy");
    ok(coalition.sign("zmina", "person.added", &endorse));
    ok(coalition.sign("zmina", "sign.noted", &format!(r#"{{"case":"{case}","sign":"free_speech"}}"#)));
    ok(coalition.sign_into("side.jsonl", "zmina", CASE_BODY, "2030-01-01T00:00:00Z"));
    let side = std::fs::read_to_string(coalition.path().join("side.jsonl")).expect("side");
    std::fs::write(coalition.path().join("fork.jsonl"), side.lines().last().expect("line").to_owned() + "\n")
        .expect("write");
    // crimea-sos has seen zmina's later events and names them; its endorsement must still count.
    ok(coalition.sign("crimea-sos", "sign.noted", &format!(r#"{{"case":"{case}","sign":"falsified_evidence"}}"#)));

    // The side branch is read first, so zmina's shared-bundle events after seq 1 arrive frozen.
    let output =
        run(coalition.path(), &["list", "--genesis", "genesis.note", "fork.jsonl", "ledger.jsonl", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "a fork is a finding");
    assert!(stderr(&output).contains("fork"), "{}", stderr(&output));
    let show = run(coalition.path(), &["show", "--genesis", "genesis.note", "fork.jsonl", "ledger.jsonl", &case]);
    let text = stdout(&show);
    // crimea-sos's last event (which names zmina's frozen head) took effect; zmina's endorsement did not.
    assert!(text.contains("sign.noted") && text.contains("falsified_evidence"), "{text}");
    assert!(text.contains("listing   1 of 2"), "{text}");
    assert!(!text.lines().any(|line| line.contains("falsified_evidence") && line.contains("no effect")), "{text}");
}

#[test]
fn import_export_and_key_rotation_of_a_stopped_node() {
    let coalition = Coalition::new();
    ok(coalition.sign("zmina", "case.opened", CASE_BODY));
    ok(coalition.sign("crimea-sos", "case.opened", CASE_BODY));
    let path = coalition.path();
    ok(run(path, &["import", "--data", "data", "--genesis", "genesis.note", "ledger.jsonl"]));
    let again = run(path, &["import", "--data", "data", "ledger.jsonl"]);
    assert!(stderr(&again).contains("0 new events (2 already held)"), "{}", stderr(&again));

    let vkey = ok(run(path, &["rotate-key", "--data", "data", "--key", "keys/zmina.key", "--out", "keys/zmina-2.key"]));
    assert!(vkey.starts_with("coalition.example/zmina+"), "{vkey}");
    let stale = run(path, &["rotate-key", "--data", "data", "--key", "keys/zmina.key", "--out", "keys/zmina-3.key"]);
    assert_eq!(stale.status.code(), Some(2));
    assert!(stderr(&stale).contains("no longer"), "{}", stderr(&stale));
    assert!(!path.join("keys/zmina-3.key").exists(), "an unused key must not be left behind");

    let export = run(path, &["export", "--data", "data"]);
    assert!(export.status.success(), "{}", stderr(&export));
    std::fs::write(path.join("export.jsonl"), &export.stdout).expect("write");
    let report: serde_json::Value =
        serde_json::from_str(&ok(run(path, &["verify", "--genesis", "genesis.note", "export.jsonl", "--json"])))
            .expect("json");
    assert_eq!(report["events"], 3);
    // The new key signs zmina's next event in the offline path too.
    let signed = run(
        path,
        &[
            "sign",
            "--genesis",
            "genesis.note",
            "--key",
            "keys/zmina-2.key",
            "--bundle",
            "export.jsonl",
            "--kind",
            "case.opened",
            "--body",
            CASE_BODY,
        ],
    );
    assert!(signed.status.success(), "{}", stderr(&signed));
}
