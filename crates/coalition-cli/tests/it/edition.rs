//! `coalition edition verify-proof` against real notes and proofs from nodes (three in-memory
//! nodes that propose and cosign an edition), and against tampered ones: each refusal says what
//! is wrong, with exit 1; missing files exit 2.

use std::path::Path;
use std::process::{Command, Output};

use coalition_core::body::{EventKind, Policy};
use coalition_core::event::{EventId, OrgSlug};
use coalition_core::genesis::{FoundingMember, Genesis, GenesisDoc};
use coalition_core::keys::{KeyName, SignerKey};
use coalition_core::time::Timestamp;
use coalition_node::Node;
use coalition_server::editions::{PROOF_FORMAT, ProofBody};
use serde_json::json;

const BINARY: &str = env!("CARGO_BIN_EXE_coalition");
const ORIGIN: &str = "coalition.example";
const ORGS: [&str; 3] = ["ccl", "crimea-sos", "zmina"];

pub(crate) fn key(org: &str) -> SignerKey {
    let index = ORGS.iter().position(|candidate| *candidate == org).map_or(200, |index| index as u8 + 1);
    SignerKey::from_seed(KeyName::parse(&format!("{ORIGIN}/{org}")).expect("name"), [index; 32])
}

pub(crate) fn test_genesis(edition_quorum: u32) -> Genesis {
    let members = ORGS
        .iter()
        .map(|org| FoundingMember {
            slug: OrgSlug::parse(org).expect("slug"),
            name: format!("Test organisation {org}"),
            vkey: key(org).verifier_key(),
            recipient: None,
        })
        .collect();
    let doc = GenesisDoc {
        name: "Test coalition (fictional)".into(),
        origin: ORIGIN.into(),
        created: Timestamp::parse("2026-01-01T00:00:00Z").expect("time"),
        members,
        policy: Policy { listing_quorum: 2, governance_quorum: 2, edition_quorum, exclusion_quorum: 2 },
    };
    let mut genesis = Genesis::parse(&doc.to_note_text().expect("text")).expect("parse");
    for org in ORGS {
        genesis = Genesis::parse(&genesis.sign(&key(org)).expect("sign")).expect("parse");
    }
    genesis
}

pub(crate) fn sync(nodes: &[&Node]) {
    for from in nodes {
        let notes: Vec<(u64, String)> = from
            .all_events()
            .expect("events")
            .iter()
            .enumerate()
            .map(|(index, event)| (index as u64, event.note().to_owned()))
            .collect();
        for to in nodes {
            to.import(notes.clone()).expect("import");
        }
    }
}

/// An official edition of two people (proposed by zmina, cosigned by ccl): its note and the
/// proof of the first case, as the node's API serves them.
fn edition() -> (Genesis, String, ProofBody) {
    let genesis = test_genesis(2);
    let [ccl, zmina] = ["ccl", "zmina"].map(|org| Node::open_in_memory(genesis.clone(), Some(key(org))).expect("node"));
    let mut cases = Vec::new();
    for name in ["Анна", "Борис"] {
        let case = zmina.submit(EventKind::CaseOpened, json!({"facts": {"name_uk": name}})).expect("open").id;
        zmina.submit(EventKind::CriterionAsserted, json!({"case": case, "criterion": "b"})).expect("criterion");
        zmina.submit(EventKind::PersonAdded, json!({"case": case})).expect("endorse");
        cases.push(case);
    }
    sync(&[&ccl, &zmina]);
    for case in &cases {
        ccl.submit(EventKind::PersonAdded, json!({"case": case})).expect("endorse");
    }
    sync(&[&ccl, &zmina]);
    zmina.propose_edition("2026-11").expect("propose");
    sync(&[&ccl, &zmina]);
    ccl.cosign_edition("2026-11").expect("cosign");
    let published = ccl.published_edition("2026-11").expect("published");
    let list = ccl.edition_list(&published.edition.frontier).expect("list");
    let proof = list.proof(&cases[0]).expect("proof");
    let body = ProofBody {
        format: PROOF_FORMAT.to_owned(),
        label: published.edition.label.clone(),
        edition: published.edition.id,
        case: cases[0],
        index: proof.index,
        count: proof.count,
        root: published.edition.root,
        entry: proof.entry,
        path: proof.path.iter().map(hex::encode).collect(),
    };
    (genesis, published.note, body)
}

fn verify(dir: &Path, genesis: &Genesis, note: &str, proof: &ProofBody) -> Output {
    std::fs::write(dir.join("genesis.note"), genesis.note()).expect("write");
    std::fs::write(dir.join("edition.note"), note).expect("write");
    std::fs::write(dir.join("proof.json"), serde_json::to_string(proof).expect("json")).expect("write");
    Command::new(BINARY)
        .current_dir(dir)
        .args([
            "edition",
            "verify-proof",
            "--genesis",
            "genesis.note",
            "--edition",
            "edition.note",
            "--proof",
            "proof.json",
        ])
        .output()
        .expect("run coalition")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[track_caller]
fn invalid(output: &Output, expected: &str) {
    assert_eq!(output.status.code(), Some(1), "expected exit 1: {}", text(output));
    assert!(text(output).contains(expected), "expected {expected:?} in: {}", text(output));
}

#[test]
fn a_real_proof_verifies_and_every_tampering_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (genesis, note, proof) = edition();

    let valid = verify(dir.path(), &genesis, &note, &proof);
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid));
    assert!(text(&valid).contains("valid: case"), "{}", text(&valid));
    assert!(text(&valid).contains("ccl, zmina"), "{}", text(&valid));

    // The entry changed (a name rewritten, still canonical).
    let mut entry = proof.clone();
    entry.entry = entry.entry.replacen("Анна", "Інна", 1);
    invalid(&verify(dir.path(), &genesis, &note, &entry), "the entry or the path was altered");

    // The path changed.
    let mut path = proof.clone();
    let mut first = path.path[0].clone().into_bytes();
    first[0] = if first[0] == b'0' { b'1' } else { b'0' };
    path.path[0] = String::from_utf8(first).expect("hex");
    invalid(&verify(dir.path(), &genesis, &note, &path), "does not lead from this entry to the root");

    // The case is another one than the entry's.
    let mut case = proof.clone();
    case.case = EventId::of_text(b"another case");
    invalid(&verify(dir.path(), &genesis, &note, &case), "the entry is not about case");

    // A signature line missing: one signature left, two needed.
    let lines: Vec<&str> = note.lines().collect();
    let short: String = lines[..lines.len() - 1].iter().map(|line| format!("{line}\n")).collect();
    invalid(&verify(dir.path(), &genesis, &short, &proof), "quorum not reached");

    // A signature altered.
    let last = lines[lines.len() - 1];
    let (head, signature) = last.rsplit_once(' ').expect("signature line");
    let mut bytes = signature.as_bytes().to_vec();
    bytes[20] = if bytes[20] == b'A' { b'B' } else { b'A' };
    let altered = format!(
        "{}{head} {}\n",
        lines[..lines.len() - 1].iter().map(|line| format!("{line}\n")).collect::<String>(),
        String::from_utf8(bytes).expect("base64")
    );
    invalid(&verify(dir.path(), &genesis, &altered, &proof), "bad signature");

    // The note's text altered (another count): its signatures no longer verify.
    let recounted = note.replacen("\n2\n", "\n3\n", 1);
    invalid(&verify(dir.path(), &genesis, &recounted, &proof), "bad signature");

    // Another coalition's genesis (same keys, another policy, so another ledger id).
    invalid(&verify(dir.path(), &test_genesis(3), &note, &proof), "not this genesis's ledger");
}

#[test]
fn missing_files_cannot_be_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(BINARY)
        .current_dir(dir.path())
        .args(["edition", "verify-proof", "--genesis", "nope", "--edition", "nope", "--proof", "nope"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
}
