//! `coalition audit` over bundles: a clean history, and each kind of wrongdoing found with its
//! evidence.

use serde_json::Value;

use coalition_core::body::{Body, EditionProposed, EventKind};
use coalition_core::edition::EditionStatement;
use coalition_core::event::Event;
use coalition_node::Node;

use crate::edition::{key, sync, test_genesis};
use crate::node::{RunningNode, free_port};
use crate::offline::{CASE_BODY, Coalition, ok, run, stderr, stdout};

fn audit_json(coalition: &Coalition, bundles: &[&str]) -> (Option<i32>, Value) {
    let sources: Vec<&str> = bundles.iter().flat_map(|bundle| ["--bundle", bundle]).collect();
    let (code, report, _) = audit_both_ways(coalition.path(), &sources);
    (code, report)
}

/// Audits `sources` (`--bundle F` or `--node URL` pairs) in `dir` with `--json --stats`,
/// replaying while verifying (the default) and again replaying only after verifying: the two must
/// give the same exit code and report. Returns the default way's code, report and standard error.
fn audit_both_ways(dir: &std::path::Path, sources: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec!["audit", "--genesis", "genesis.note", "--json", "--stats"];
    args.extend_from_slice(sources);
    let output = run(dir, &args);
    let report: Value =
        serde_json::from_str(&stdout(&output)).unwrap_or_else(|error| panic!("{error}: {}", stdout(&output)));
    args.push("--replay-after-verifying");
    let after = run(dir, &args);
    let report_after: Value =
        serde_json::from_str(&stdout(&after)).unwrap_or_else(|error| panic!("{error}: {}", stdout(&after)));
    assert_eq!(output.status.code(), after.status.code(), "{}", stderr(&after));
    assert_eq!(report, report_after, "replaying while verifying and after verifying must agree");
    (output.status.code(), report, stderr(&output))
}

fn finding_kinds(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|finding| finding["kind"].as_str().expect("kind").to_owned())
        .collect()
}

/// Two members open a case and both endorse it.
fn listed_case(coalition: &Coalition) -> String {
    let case = ok(coalition.sign("zmina", "case.opened", CASE_BODY)).trim().to_owned();
    for org in ["zmina", "crimea-sos"] {
        let body = format!(r#"{{"case":"{case}","criterion":"a","reasoning_en":"Sentenced for a post."}}"#);
        ok(coalition.sign(org, "criterion.asserted", &body));
        ok(coalition.sign(org, "person.added", &format!(r#"{{"case":"{case}"}}"#)));
    }
    case
}

#[test]
fn a_clean_history_is_clean_and_the_human_report_says_so() {
    let coalition = Coalition::new();
    listed_case(&coalition);
    let (code, report) = audit_json(&coalition, &["ledger.jsonl"]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["verdict"], "clean");
    assert_eq!(report["events"], 5);
    assert_eq!(report["list"]["entries"], 1);
    assert_eq!(report["feeds"].as_array().map(Vec::len), Some(2));

    let output = run(coalition.path(), &["audit", "--genesis", "genesis.note", "--bundle", "ledger.jsonl"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.contains("Verdict: CLEAN"), "{text}");
    assert!(text.contains("1 entries, 1 detained now"), "{text}");
}

#[test]
fn a_forged_event_in_a_bundle_is_found_with_its_place() {
    let coalition = Coalition::new();
    listed_case(&coalition);
    let bundle = std::fs::read_to_string(coalition.bundle()).expect("bundle");
    // Change one letter of the body of the first event: the signature no longer covers it.
    let forged = bundle.replacen("Olena", "Olena ", 1);
    assert_ne!(forged, bundle);
    std::fs::write(coalition.bundle(), forged).expect("write");
    let (code, report) = audit_json(&coalition, &["ledger.jsonl"]);
    assert_eq!(code, Some(1));
    let finding = &report["findings"][0];
    assert_eq!(finding["kind"], "invalid_event");
    assert_eq!(finding["source"], "ledger.jsonl:1");
    assert_eq!(finding["org"], "zmina");
    assert_eq!(finding["seq"], 1);
}

#[test]
fn a_fork_is_found_with_both_notes_as_evidence() {
    let coalition = Coalition::new();
    let first = ok(coalition.sign("zmina", "case.opened", CASE_BODY)).trim().to_owned();
    let second = ok(coalition.sign_into("other.jsonl", "zmina", CASE_BODY, "2026-11-02T00:00:00Z")).trim().to_owned();
    let (code, report) = audit_json(&coalition, &["ledger.jsonl", "other.jsonl"]);
    assert_eq!(code, Some(1));
    let forks: Vec<&Value> =
        report["findings"].as_array().expect("findings").iter().filter(|f| f["kind"] == "fork").collect();
    assert_eq!(forks.len(), 1, "{report:#}");
    assert_eq!(forks[0]["first"], first.as_str());
    assert_eq!(forks[0]["second"], second.as_str());
    let note_of = |bundle: &str| -> Value {
        let text = std::fs::read_to_string(coalition.path().join(bundle)).expect("bundle");
        let line: Value = serde_json::from_str(text.lines().next().expect("line")).expect("json");
        line["note"].clone()
    };
    assert_eq!(forks[0]["first_note"], note_of("ledger.jsonl"));
    assert_eq!(forks[0]["second_note"], note_of("other.jsonl"));
    assert_eq!(report["feeds"][0]["org"], "zmina");
    assert_eq!(report["feeds"][0]["forked_at"], 1, "{report:#}");
}

#[test]
fn acting_on_a_governance_change_without_quorum_is_found() {
    let coalition = Coalition::new();
    listed_case(&coalition);
    ok(run(coalition.path(), &["keygen", "--org", "newbie", "--out", "keys"]));
    let vkey = std::fs::read_to_string(coalition.path().join("keys/newbie.vkey")).expect("vkey");
    // zmina proposes newbie (1 approval; the governance quorum is 2), then newbie acts as a member.
    let body = format!(r#"{{"slug":"newbie","name":"New organisation","vkey":"{}"}}"#, vkey.trim());
    ok(coalition.sign("zmina", "member.proposed", &body));
    ok(coalition.sign("newbie", "case.opened", CASE_BODY));
    let (code, report) = audit_json(&coalition, &["ledger.jsonl"]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(finding_kinds(&report), ["unauthorised"]);
    assert_eq!(report["findings"][0]["org"], "newbie");
    assert_eq!(report["findings"][0]["code"], "not_a_member");
    let governance = &report["governance"][0];
    assert_eq!(governance["outcome"], "open");
    assert_eq!(governance["approvals"], serde_json::json!(["zmina"]));
}

#[test]
fn an_audit_that_cannot_read_its_input_exits_2() {
    let coalition = Coalition::new();
    let output = run(coalition.path(), &["audit", "--genesis", "genesis.note", "--bundle", "missing.jsonl"]);
    assert_eq!(output.status.code(), Some(2));
    let output = run(coalition.path(), &["audit", "--genesis", "genesis.note", "--node", "http://127.0.0.1:9"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn nodes_serving_another_or_a_shorter_feed_are_found_with_the_conflicting_notes() {
    let coalition = Coalition::new();
    listed_case(&coalition);
    let other = ok(coalition.sign_into("other.jsonl", "zmina", CASE_BODY, "2026-11-02T00:00:00Z")).trim().to_owned();
    let ledger = std::fs::read_to_string(coalition.bundle()).expect("bundle");
    let prefix: String = ledger.lines().take(2).map(|line| format!("{line}\n")).collect();
    std::fs::write(coalition.path().join("prefix.jsonl"), prefix).expect("write");
    let mut nodes = Vec::new();
    for (data, bundle) in [("honest", "ledger.jsonl"), ("altered", "other.jsonl"), ("truncated", "prefix.jsonl")] {
        ok(run(coalition.path(), &["import", "--data", data, "--genesis", "genesis.note", bundle]));
        nodes.push(RunningNode::start_read_only(coalition.path(), data, free_port()));
    }
    let sources: Vec<&str> = nodes.iter().flat_map(|node| ["--node", node.url.as_str()]).collect();
    let (code, report, _) = audit_both_ways(coalition.path(), &sources);
    assert_eq!(code, Some(1));
    let findings = report["findings"].as_array().expect("findings");

    let split: Vec<&Value> = findings.iter().filter(|finding| finding["kind"] == "split_view").collect();
    assert_eq!(split.len(), 1, "{report:#}");
    assert_eq!(split[0]["org"], "zmina");
    assert_eq!(split[0]["seq"], 1);
    let variants = split[0]["variants"].as_array().expect("variants");
    assert_eq!(variants.len(), 2);
    let altered = variants.iter().find(|variant| variant["id"] == other.as_str()).expect("the altered note");
    assert_eq!(altered["nodes"], serde_json::json!([nodes[1].url]));
    assert!(altered["note"].as_str().is_some_and(|note| note.contains("2026-11-02T00:00:00Z")));

    let shorter: Vec<(String, String, u64)> = findings
        .iter()
        .filter(|finding| finding["kind"] == "feed_shorter")
        .map(|finding| {
            let node = finding["node"].as_str().expect("node").to_owned();
            (node, finding["org"].as_str().expect("org").to_owned(), finding["served_head"].as_u64().expect("head"))
        })
        .collect();
    let truncated = nodes[2].url.clone();
    assert!(shorter.contains(&(truncated.clone(), "zmina".to_owned(), 2)), "{shorter:?}");
    assert!(shorter.contains(&(truncated, "crimea-sos".to_owned(), 0)), "{shorter:?}");
    // The two notes for zmina's seq 1 are also a fork, with both ids.
    let is_fork_with_other = |finding: &&Value| {
        finding["kind"] == "fork" && (finding["first"] == other.as_str() || finding["second"] == other.as_str())
    };
    assert!(findings.iter().any(|finding| is_fork_with_other(&finding)), "{report:#}");
}

/// Three nodes write a history and publish two official editions (zmina proposes, ccl cosigns),
/// with a release between them; writes everything each node holds to `ledger.jsonl`.
fn history_with_two_editions(dir: &std::path::Path) -> (Node, Node, Node) {
    let genesis = test_genesis(2);
    std::fs::write(dir.join("genesis.note"), genesis.note()).expect("write");
    let [ccl, crimea, zmina] =
        ["ccl", "crimea-sos", "zmina"].map(|org| Node::open_in_memory(genesis.clone(), Some(key(org))).expect("node"));
    let mut cases = Vec::new();
    for name in ["Анна", "Борис", "Віра"] {
        let case =
            zmina.submit(EventKind::CaseOpened, serde_json::json!({"facts": {"name_uk": name}})).expect("open").id;
        zmina
            .submit(EventKind::CriterionAsserted, serde_json::json!({"case": case, "criterion": "b"}))
            .expect("criterion");
        zmina.submit(EventKind::PersonAdded, serde_json::json!({"case": case})).expect("endorse");
        cases.push(case);
    }
    sync(&[&ccl, &crimea, &zmina]);
    for case in &cases {
        crimea.submit(EventKind::PersonAdded, serde_json::json!({"case": case})).expect("endorse");
    }
    sync(&[&ccl, &crimea, &zmina]);
    zmina.propose_edition("2026-10").expect("propose");
    sync(&[&ccl, &crimea, &zmina]);
    ccl.cosign_edition("2026-10").expect("cosign");
    crimea
        .submit(
            EventKind::PersonReleased,
            serde_json::json!({"case": cases[0], "date": "2026-11-03", "circumstances": "exchange"}),
        )
        .expect("release");
    sync(&[&ccl, &crimea, &zmina]);
    zmina.propose_edition("2026-11").expect("propose");
    sync(&[&ccl, &crimea, &zmina]);
    ccl.cosign_edition("2026-11").expect("cosign");
    sync(&[&ccl, &crimea, &zmina]);
    write_bundle(dir, &zmina);
    (ccl, crimea, zmina)
}

fn write_bundle(dir: &std::path::Path, node: &Node) {
    let lines: String = node
        .all_events()
        .expect("events")
        .iter()
        .map(|event| coalition_core::bundle::format_line(event.note()))
        .collect();
    std::fs::write(dir.join("ledger.jsonl"), lines).expect("write");
}

fn audit_dir(dir: &std::path::Path) -> (Option<i32>, Value) {
    let (code, report, _) = audit_both_ways(dir, &["--bundle", "ledger.jsonl"]);
    (code, report)
}

#[test]
fn two_cosigned_editions_reproduce_and_the_audit_is_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    history_with_two_editions(dir.path());
    let (code, report) = audit_dir(dir.path());
    assert_eq!(code, Some(0), "{report:#}");
    let editions = report["editions"].as_array().expect("editions");
    assert_eq!(editions.len(), 2);
    for edition in editions {
        assert_eq!(edition["official"], true, "{edition:#}");
        assert_eq!(edition["reproduced"], true, "{edition:#}");
        assert_eq!(edition["cosigners"], serde_json::json!(["ccl", "zmina"]));
    }
}

#[test]
fn the_list_hash_after_the_last_edition_is_the_one_the_list_command_computes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_ccl, crimea, zmina) = history_with_two_editions(dir.path());
    // After the last edition: one listed case released, one new case listed; the audit writes
    // the final list from the last edition's entries, and must still hash the list of now.
    let listed: Vec<coalition_core::event::EventId> = zmina.with_projection(|projection| {
        projection
            .list_entries()
            .filter(|entry| entry.status == coalition_projector::Status::Listed)
            .map(|entry| entry.case)
            .collect()
    });
    let case =
        zmina.submit(EventKind::CaseOpened, serde_json::json!({"facts": {"name_uk": "Галина"}})).expect("open").id;
    zmina.submit(EventKind::CriterionAsserted, serde_json::json!({"case": case, "criterion": "b"})).expect("criterion");
    zmina.submit(EventKind::PersonAdded, serde_json::json!({"case": case})).expect("endorse");
    sync(&[&crimea, &zmina]);
    crimea.submit(EventKind::PersonAdded, serde_json::json!({"case": case})).expect("endorse");
    let released = listed[0];
    crimea
        .submit(
            EventKind::PersonReleased,
            serde_json::json!({"case": released, "date": "2026-11-20", "circumstances": "exchange"}),
        )
        .expect("release");
    sync(&[&crimea, &zmina]);
    write_bundle(dir.path(), &zmina);

    let (code, report) = audit_dir(dir.path());
    assert_eq!(code, Some(0), "{report:#}");
    let listed_hash = ok(run(dir.path(), &["list", "--genesis", "genesis.note", "ledger.jsonl", "--hash"]));
    assert_eq!(report["list"]["hash"], listed_hash.trim(), "{report:#}");
    assert_eq!(report["list"]["entries"], 4, "{report:#}");
}

#[test]
fn an_edition_short_of_quorum_and_one_whose_root_does_not_reproduce_are_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_ccl, _crimea, zmina) = history_with_two_editions(dir.path());
    // A third edition, proposed but never cosigned.
    zmina.propose_edition("2026-12").expect("propose");
    // A fourth whose stated root is not the list's, with a valid signature over what it states.
    let frontier = zmina.current_frontier();
    let list = zmina.edition_list(&frontier).expect("list");
    let wrong_root = coalition_core::body::Digest::from_bytes([7; 32]);
    let forged_edition = zmina_edition(&zmina, "2027-01", &frontier, wrong_root);
    write_bundle(dir.path(), &zmina);
    let mut bundle = std::fs::read_to_string(dir.path().join("ledger.jsonl")).expect("bundle");
    bundle.push_str(&coalition_core::bundle::format_line(forged_edition.note()));
    std::fs::write(dir.path().join("ledger.jsonl"), bundle).expect("write");

    let (code, report) = audit_dir(dir.path());
    assert_eq!(code, Some(1), "{report:#}");
    let findings = report["findings"].as_array().expect("findings");
    let short: Vec<&Value> = findings.iter().filter(|finding| finding["kind"] == "edition_short_of_quorum").collect();
    let mut labels: Vec<&str> = short.iter().map(|finding| finding["label"].as_str().expect("label")).collect();
    labels.sort_unstable();
    assert_eq!(labels, ["2026-12", "2027-01"], "{report:#}");
    assert!(short.iter().all(|finding| finding["cosigners"] == serde_json::json!(["zmina"])));
    let mismatch: Vec<&Value> = findings.iter().filter(|finding| finding["kind"] == "edition_mismatch").collect();
    assert_eq!(mismatch.len(), 1, "{report:#}");
    assert_eq!(mismatch[0]["label"], "2027-01");
    assert_eq!(mismatch[0]["stated_root"], wrong_root.to_string());
    assert_eq!(mismatch[0]["computed_root"], list.root.to_string());
    assert_eq!(findings.len(), 3, "{report:#}");
}

#[test]
fn the_changes_between_two_editions_name_the_release_through_a_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    history_with_two_editions(dir.path());
    ok(run(dir.path(), &["import", "--data", "mirror", "--genesis", "genesis.note", "ledger.jsonl"]));
    let node = RunningNode::start_read_only(dir.path(), "mirror", free_port());
    let changes = ok(run(
        dir.path(),
        &["edition", "changes", "--node", &node.url, "--label", "2026-11", "--since", "2026-10", "--json"],
    ));
    let changes: Value = serde_json::from_str(&changes).expect("json");
    assert_eq!(changes["since"], "2026-10");
    assert_eq!(changes["released"].as_array().map(Vec::len), Some(1), "{changes:#}");
    assert_eq!(changes["released"][0]["name_uk"], "Анна");
    assert_eq!(changes["added"], serde_json::json!([]));
    let text = ok(run(dir.path(), &["edition", "changes", "--node", &node.url, "--label", "2026-11"]));
    assert!(text.contains("From edition 2026-10 to edition 2026-11"), "{text}");
    assert!(text.contains("released: 1\n    Анна"), "{text}");
}

/// An edition proposal `zmina` signs on top of its feed (as the next event, with a valid
/// signature over what it states), stating `root` for the list at `frontier`.
fn zmina_edition(
    zmina: &Node,
    label: &str,
    frontier: &[coalition_core::body::FrontierEntry],
    root: coalition_core::body::Digest,
) -> coalition_core::event::SignedEvent {
    let genesis = zmina.genesis().clone();
    let list = zmina.edition_list(&zmina.current_frontier()).expect("list");
    let statement = EditionStatement {
        origin: &genesis.doc().origin,
        ledger: genesis.ledger_id(),
        label,
        count: list.count(),
        root,
        list_hash: list.list_hash,
        frontier,
    };
    let zmina_slug = coalition_core::event::OrgSlug::parse("zmina").expect("slug");
    let (seq, head) = zmina.heads()[&zmina_slug];
    let mut deps: Vec<_> =
        zmina.heads().into_iter().filter(|(org, _)| *org != zmina_slug).map(|(_, (_, id))| id).collect();
    deps.sort();
    let event = Event {
        ledger: genesis.ledger_id(),
        org: zmina_slug,
        seq: seq + 1,
        prev: Some(head),
        time: coalition_core::time::Timestamp::parse("2030-01-01T00:00:00Z").expect("time"),
        deps,
        body: Body::EditionProposed(EditionProposed {
            count: list.count(),
            frontier: frontier.to_vec(),
            label: label.to_owned(),
            list_hash: list.list_hash,
            note_signature: statement.sign(&key("zmina")),
            root,
        }),
    };
    event.sign(&key("zmina")).expect("sign")
}

fn append_line(dir: &std::path::Path, note: &str) {
    let mut bundle = std::fs::read_to_string(dir.join("ledger.jsonl")).expect("bundle");
    bundle.push_str(&coalition_core::bundle::format_line(note));
    std::fs::write(dir.join("ledger.jsonl"), bundle).expect("write");
}

#[test]
fn a_fork_makes_the_audit_replay_after_verifying_with_the_same_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_ccl, crimea, _zmina) = history_with_two_editions(dir.path());
    // crimea-sos signs a second, different first event: a fork at seq 1.
    let first = crimea
        .all_events()
        .expect("events")
        .into_iter()
        .find(|event| event.event().org.as_str() == "crimea-sos" && event.event().seq == 1);
    let mut other = first.expect("crimea-sos's first event").event().clone();
    other.time = coalition_core::time::Timestamp::parse("2030-02-01T00:00:00Z").expect("time");
    append_line(dir.path(), other.sign(&key("crimea-sos")).expect("sign").note());
    let (code, report, stderr) = audit_both_ways(dir.path(), &["--bundle", "ledger.jsonl"]);
    assert_eq!(code, Some(1), "{report:#}");
    assert!(stderr.contains("replay_after_verifying a fork"), "{stderr}");
    assert!(finding_kinds(&report).contains(&"fork".to_owned()), "{report:#}");
}

#[test]
fn an_edition_seen_only_once_verified_is_checked_all_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    history_with_two_editions(dir.path());
    // The same notes, but the bundle lines spell the kind with a JSON escape: read ahead, no
    // line looks like an edition proposal.
    let bundle = std::fs::read_to_string(dir.path().join("ledger.jsonl")).expect("bundle");
    let escaped = bundle.replace("edition.proposed", "edition.propos\\u0065d");
    assert_ne!(escaped, bundle);
    std::fs::write(dir.path().join("ledger.jsonl"), escaped).expect("write");
    let (code, report, stderr) = audit_dir_with_stderr(dir.path());
    assert_eq!(code, Some(0), "{report:#}");
    assert!(stderr.contains("replay_after_verifying an edition not found before verifying"), "{stderr}");
    let editions = report["editions"].as_array().expect("editions");
    assert_eq!(editions.len(), 2);
    assert!(editions.iter().all(|edition| edition["reproduced"] == true), "{report:#}");
}

#[test]
fn a_frontier_naming_another_event_at_a_position_that_arrived_has_no_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_ccl, _crimea, zmina) = history_with_two_editions(dir.path());
    // The replay reaches this frontier while verifying (every position it names arrives) and
    // finds another event at one of them.
    let mut frontier = zmina.current_frontier();
    let honest = frontier[0].clone();
    frontier[0].id = frontier[frontier.len() - 1].id;
    let root = zmina.edition_list(&zmina.current_frontier()).expect("list").root;
    append_line(dir.path(), zmina_edition(&zmina, "2026-12", &frontier, root).note());
    let (code, report, stderr) = audit_dir_with_stderr(dir.path());
    assert_eq!(code, Some(0), "{report:#}");
    assert!(!stderr.contains("replay_after_verifying"), "replayed while verifying: {stderr}");
    let without_effect = report["events_without_effect"].as_array().expect("events without effect");
    assert_eq!(without_effect.len(), 1, "{report:#}");
    assert_eq!(without_effect[0]["code"], "frontier_mismatch");
    let reason = without_effect[0]["reason"].as_str().expect("reason");
    assert!(reason.contains(&format!("{}'s event at seq {}", honest.org, honest.seq)), "{reason}");
    let editions = report["editions"].as_array().expect("editions");
    assert_eq!(editions.len(), 2, "{report:#}");
    assert!(editions.iter().all(|edition| edition["reproduced"] == true), "{report:#}");
}

fn audit_dir_with_stderr(dir: &std::path::Path) -> (Option<i32>, Value, String) {
    audit_both_ways(dir, &["--bundle", "ledger.jsonl"])
}

#[test]
fn the_audit_benchmark_times_each_round_beside_the_raw_rate_and_prints_the_median() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keep = dir.path().join("bench");
    let keep = keep.to_str().expect("utf-8 path");
    let args = ["bench", "audit", "--events", "300", "--editions", "2", "--orgs", "3", "--keep-in", keep];
    let printed = ok(run(dir.path(), &[&args[..], &["--rounds", "2"]].concat()));
    for expected in ["audit 1 of 2, ", "audit 2 of 2, ", "median ratio ", "over 2 audits", "2 editions reproduced"] {
        assert!(printed.contains(expected), "{expected:?} missing from:\n{printed}");
    }
    assert!(printed.contains("verdict \"clean\""), "{printed}");
    let refused = run(dir.path(), &[&args[..], &["--rounds", "0"]].concat());
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
}
