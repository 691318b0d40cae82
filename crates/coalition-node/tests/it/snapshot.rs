//! The start-up snapshot: a node started from its snapshot and the events after it serves exactly
//! what a node that replayed its whole store serves, and a snapshot that is corrupted, truncated,
//! foreign or stale is reported by file name and ignored, never trusted.

use coalition_core::body::{EventKind, parse_body};
use coalition_core::event::{Event, SignedEvent};
use coalition_core::genesis::Genesis;
use coalition_core::keys::SignerKey;
use coalition_core::time::Timestamp;
use coalition_node::demo::{DEMO_MEMBERS, demo_genesis, demo_history, demo_key_name};
use coalition_node::{Node, SNAPSHOT_FILE_NAME, SNAPSHOT_TEMP_FILE_NAME, StartupReport, snapshot_path};

/// Demo cases in a history: enough for editions, releases and every kind of case event.
const CASES: usize = 40;

fn keys(seed: u8) -> Vec<SignerKey> {
    DEMO_MEMBERS
        .iter()
        .enumerate()
        .map(|(index, (slug, _))| SignerKey::from_seed(demo_key_name(slug).expect("name"), [index as u8 + seed; 32]))
        .collect()
}

struct History {
    genesis: Genesis,
    keys: Vec<SignerKey>,
    events: Vec<SignedEvent>,
}

fn make_history(seed: u8) -> History {
    let keys = keys(seed);
    let created = Timestamp::parse("2025-01-01T00:00:00Z").expect("time");
    let genesis = demo_genesis(&keys, created).expect("genesis");
    let events = demo_history(&genesis, &keys, CASES, 7).expect("history");
    History { genesis, keys, events }
}

fn later(time: Timestamp, seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(time.unix_seconds() + seconds).expect("time")
}

/// After the demo history: the first member rotates its key and signs a case with the new key,
/// and the second member forks its feed (a second event at its last seq).
fn rotation_and_fork(history: &History) -> Vec<SignedEvent> {
    let last = history.events.last().expect("events").event().time;
    let feed_head = |org_index: usize| {
        let slug = DEMO_MEMBERS[org_index].0;
        history.events.iter().rev().find(|event| event.event().org.as_str() == slug).expect("feed").clone()
    };
    let rotating = feed_head(0);
    let new_key = SignerKey::from_seed(history.keys[0].name().clone(), [99; 32]);
    let rotation = Event {
        ledger: history.genesis.ledger_id(),
        org: rotating.event().org.clone(),
        seq: rotating.event().seq + 1,
        prev: Some(rotating.id()),
        time: later(last, 60),
        deps: Vec::new(),
        body: parse_body(EventKind::KeyRotated, &format!(r#"{{"vkey":"{}"}}"#, new_key.verifier_key())).expect("body"),
    }
    .sign(&history.keys[0])
    .expect("sign rotation");
    let after_rotation = Event {
        ledger: history.genesis.ledger_id(),
        org: rotation.event().org.clone(),
        seq: rotation.event().seq + 1,
        prev: Some(rotation.id()),
        time: later(last, 120),
        deps: Vec::new(),
        body: parse_body(EventKind::CaseOpened, r#"{"facts":{"name_uk":"Нова особа","region":"crimea"}}"#)
            .expect("body"),
    }
    .sign(&new_key)
    .expect("sign with the new key");
    let forked = feed_head(1);
    let mut twin = forked.event().clone();
    twin.time = later(twin.time, 1);
    let twin = twin.sign(&history.keys[1]).expect("sign the twin");
    assert_ne!(twin.id(), forked.id());
    vec![rotation, after_rotation, twin]
}

fn import(node: &Node, events: &[SignedEvent]) {
    let report = node
        .import(events.iter().enumerate().map(|(index, event)| (index as u64, event.note().to_owned())))
        .expect("import");
    assert!(report.refused.is_empty(), "{report:?}");
}

/// Everything a node serves from its replayed state, as text: the whole projection, the list
/// document, counts, pending work, every case's events, the newest time and the heads.
fn served(node: &Node) -> String {
    let mut text = node.with_projection(|projection| {
        format!(
            "{}\n{:?}\n{:?}\n{:?}\n{:?}",
            projection.to_json(),
            projection.list_document(),
            projection.counts(),
            projection.pending(),
            projection.anomalies(),
        )
    });
    let cases: Vec<_> = node.with_projection(|projection| projection.cases().map(|case| case.id()).collect());
    for case in cases {
        text.push_str(&format!("\n{case}: {:?}", node.case_event_ids(&case)));
    }
    text.push_str(&format!("\n{:?}\n{:?}", node.newest_event_time(), node.heads()));
    text
}

fn open(dir: &std::path::Path, genesis: &Genesis) -> (Node, StartupReport) {
    Node::open_reporting(dir, genesis.clone(), None).expect("open")
}

/// What a node that replays the whole store serves (the snapshot moved aside and back).
fn served_after_full_replay(dir: &std::path::Path, genesis: &Genesis) -> String {
    let path = snapshot_path(dir);
    let aside = dir.join("aside");
    let had = std::fs::rename(&path, &aside).is_ok();
    let (node, report) = open(dir, genesis);
    assert_eq!(report.from_snapshot, 0);
    let text = served(&node);
    wait_for_background_snapshot(&node);
    drop(node);
    if had {
        std::fs::rename(&aside, &path).expect("put the snapshot back");
    } else {
        let _ = std::fs::remove_file(&path);
    }
    text
}

fn wait_for_background_snapshot(node: &Node) {
    while node.is_writing_snapshot() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A data directory holding `history` with a snapshot taken after its first `split` events.
fn store_with_snapshot(history: &History, tail: &[SignedEvent], split: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::open(dir.path(), history.genesis.clone(), None).expect("open");
    import(&node, &history.events[..split]);
    let written = node.write_snapshot().expect("write").expect("a snapshot");
    assert_eq!(written.path, dir.path().join(SNAPSHOT_FILE_NAME));
    assert_eq!(written.events, split as u64);
    import(&node, &history.events[split..]);
    import(&node, tail);
    wait_for_background_snapshot(&node);
    dir
}

#[test]
fn a_node_started_from_a_snapshot_and_the_tail_serves_what_a_full_replay_serves() {
    let history = make_history(10);
    let tail = rotation_and_fork(&history);
    for split in [1, history.events.len() / 3, history.events.len() - 1, history.events.len()] {
        let dir = store_with_snapshot(&history, &tail, split);
        let (node, report) = open(dir.path(), &history.genesis);
        assert_eq!(report.snapshot_rejected, None);
        assert_eq!(report.from_snapshot, split as u64, "split {split}");
        assert_eq!(report.replayed, (history.events.len() - split + 2) as u64, "split {split}: the tail only");
        let from_snapshot = served(&node);
        assert_eq!(node.fork_proofs().expect("proofs").len(), 1, "the fork is part of the history");
        drop(node);
        assert_eq!(from_snapshot, served_after_full_replay(dir.path(), &history.genesis), "split {split}");
    }
}

#[test]
fn a_snapshot_taken_at_the_end_covers_everything_and_a_second_start_replays_nothing() {
    let history = make_history(20);
    let tail = rotation_and_fork(&history);
    let dir = store_with_snapshot(&history, &tail, 5);
    let (node, _) = open(dir.path(), &history.genesis);
    let before = served(&node);
    node.write_snapshot().expect("write").expect("a snapshot");
    drop(node);
    let (node, report) = open(dir.path(), &history.genesis);
    assert_eq!(report.replayed, 0);
    assert_eq!(report.from_snapshot, history.events.len() as u64 + 2);
    assert_eq!(served(&node), before);
    // A node started from a snapshot goes on working: the next events are applied as usual.
    let memory = Node::open_in_memory(history.genesis.clone(), None).expect("memory node");
    import(&memory, &history.events);
    import(&memory, &tail);
    assert_eq!(node.with_projection(|p| p.list_document()).ok(), memory.with_projection(|p| p.list_document()).ok());
}

/// Opens a node over `dir` whose snapshot was damaged, and checks it was reported by file name,
/// ignored, and that the node serves what a full replay serves.
fn assert_ignored(dir: &std::path::Path, genesis: &Genesis, expected: &str, why: &str) {
    let (node, report) = open(dir, genesis);
    let rejected = report.snapshot_rejected.unwrap_or_else(|| panic!("{why}: the snapshot was used"));
    assert!(rejected.contains(SNAPSHOT_FILE_NAME), "{why}: the warning names the file: {rejected}");
    assert_eq!(report.from_snapshot, 0, "{why}");
    assert_eq!(served(&node), expected, "{why}");
    wait_for_background_snapshot(&node);
}

#[test]
fn a_corrupted_truncated_foreign_or_stale_snapshot_is_named_ignored_and_the_store_replayed() {
    let history = make_history(30);
    let tail = rotation_and_fork(&history);
    let dir = store_with_snapshot(&history, &tail, history.events.len() / 2);
    let expected = served_after_full_replay(dir.path(), &history.genesis);
    let path = snapshot_path(dir.path());
    let good = std::fs::read(&path).expect("snapshot");

    for at in [0, 20, good.len() / 2, good.len() - 1] {
        let mut flipped = good.clone();
        flipped[at] ^= 0x40;
        std::fs::write(&path, &flipped).expect("write");
        assert_ignored(dir.path(), &history.genesis, &expected, &format!("a byte flipped at {at}"));
    }
    for length in [0, 10, good.len() / 2, good.len() - 1] {
        std::fs::write(&path, &good[..length]).expect("write");
        assert_ignored(dir.path(), &history.genesis, &expected, &format!("truncated to {length} bytes"));
    }
    let mut longer = good.clone();
    longer.push(0);
    std::fs::write(&path, &longer).expect("write");
    assert_ignored(dir.path(), &history.genesis, &expected, "a byte appended");

    // Another ledger's snapshot, whole and valid for its own ledger.
    let other = make_history(40);
    let other_dir = store_with_snapshot(&other, &[], 10);
    std::fs::copy(snapshot_path(other_dir.path()), &path).expect("copy");
    assert_ignored(dir.path(), &history.genesis, &expected, "another ledger's snapshot");

    // A snapshot of this ledger whose heads this store does not hold: the same history with a
    // different event at the head of one feed (another store of the same coalition).
    let stale_dir = tempfile::tempdir().expect("tempdir");
    {
        let node = Node::open(stale_dir.path(), history.genesis.clone(), None).expect("open");
        import(&node, &history.events);
        let last = history.events.last().expect("events");
        let mut other_last = last.event().clone();
        other_last.seq += 1;
        other_last.prev = Some(last.id());
        other_last.time = later(other_last.time, 3600);
        let org_index = DEMO_MEMBERS.iter().position(|(slug, _)| *slug == last.event().org.as_str()).expect("org");
        import(&node, &[other_last.sign(&history.keys[org_index]).expect("sign")]);
        node.write_snapshot().expect("write").expect("a snapshot");
        wait_for_background_snapshot(&node);
    }
    let store_without_tail = tempfile::tempdir().expect("tempdir");
    {
        let node = Node::open(store_without_tail.path(), history.genesis.clone(), None).expect("open");
        import(&node, &history.events);
        wait_for_background_snapshot(&node);
    }
    std::fs::copy(snapshot_path(stale_dir.path()), snapshot_path(store_without_tail.path())).expect("copy");
    let expected_without_tail = {
        let moved = store_without_tail.path().join("kept");
        std::fs::rename(snapshot_path(store_without_tail.path()), &moved).expect("move");
        let text = served_after_full_replay(store_without_tail.path(), &history.genesis);
        std::fs::rename(&moved, snapshot_path(store_without_tail.path())).expect("move back");
        text
    };
    assert_ignored(store_without_tail.path(), &history.genesis, &expected_without_tail, "stale heads");

    // The good snapshot is used again.
    std::fs::write(&path, &good).expect("write");
    let (node, report) = open(dir.path(), &history.genesis);
    assert_eq!(report.snapshot_rejected, None);
    assert_eq!(served(&node), expected);
}

#[test]
fn a_snapshot_is_written_every_n_events_in_the_background() {
    let history = make_history(50);
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::open(dir.path(), history.genesis.clone(), None).expect("open");
    node.set_snapshot_every_events(25);
    import(&node, &history.events[..20]);
    wait_for_background_snapshot(&node);
    assert!(!snapshot_path(dir.path()).exists(), "no snapshot before 25 new events");
    import(&node, &history.events[20..30]);
    wait_for_background_snapshot(&node);
    assert!(snapshot_path(dir.path()).exists(), "a snapshot after 25 new events");
    drop(node);
    let (node, report) = open(dir.path(), &history.genesis);
    assert_eq!(report.from_snapshot, 30);
    assert_eq!(report.replayed, 0);
    drop(node);
}

#[test]
fn a_write_interrupted_before_the_rename_leaves_the_old_snapshot_in_use() {
    let history = make_history(60);
    let dir = store_with_snapshot(&history, &[], 10);
    let old = std::fs::read(snapshot_path(dir.path())).expect("snapshot");
    // What a kill during the write leaves: a partial temporary file beside the old snapshot.
    std::fs::write(dir.path().join(SNAPSHOT_TEMP_FILE_NAME), &old[..old.len() / 3]).expect("partial");
    let (node, report) = open(dir.path(), &history.genesis);
    assert_eq!(report.snapshot_rejected, None);
    assert_eq!(report.from_snapshot, 10);
    let text = served(&node);
    drop(node);
    assert_eq!(text, served_after_full_replay(dir.path(), &history.genesis));
}
