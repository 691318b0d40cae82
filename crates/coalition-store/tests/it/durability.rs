//! Crash durability: a child process (this test binary, re-run with [`CHILD_DIR_VAR`] set)
//! appends and prints each id only after `append` returned; the parent kills it with SIGKILL in
//! the middle of the stream, reopens the store, and finds every acknowledged event, unbroken
//! feeds, and a store that takes the next event.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use coalition_core::event::EventId;
use coalition_store::{Appended, EventStore, RedbStore};

use crate::support::{CHILD_DIR_VAR, Feeds, acknowledged_id, ledger};

/// The child's side: runs only when [`CHILD_DIR_VAR`] names a data directory, and appends until
/// it is killed (one event per commit, and every fifth commit a batch across two feeds).
#[test]
fn child_appends_until_killed() {
    let Some(dir) = std::env::var_os(CHILD_DIR_VAR) else { return };
    let store = RedbStore::open(Path::new(&dir), ledger()).expect("child: open");
    let mut feeds = Feeds::resume(store.heads().expect("child: heads"));
    let mut out = std::io::stdout().lock();
    for round in 0..1_000_000_u64 {
        let batch = if round % 5 == 4 {
            [feeds.many("zmina", 3), feeds.many("ccl", 2)].concat()
        } else {
            vec![feeds.next("zmina")]
        };
        let report = store.append(&batch).expect("child: append");
        assert!(report.outcomes.iter().all(|outcome| *outcome == Appended::Stored));
        for event in &batch {
            writeln!(out, "ACK {}", event.id()).expect("child: write");
        }
        out.flush().expect("child: flush");
    }
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    RedbStore::open(dir.path(), ledger()).expect("create").close().expect("close");
    let exe = std::env::current_exe().expect("test binary");
    let mut acknowledged: Vec<EventId> = Vec::new();
    for kill_after in [1, 17, 60, 5] {
        let mut child = Command::new(&exe)
            .args(["--exact", "durability::child_appends_until_killed", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR_VAR, dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        let mut lines = BufReader::new(child.stdout.take().expect("child stdout")).lines();
        let mut seen = 0;
        while seen < kill_after {
            let line = lines.next().expect("the child stopped before it was killed").expect("read child output");
            if let Some(id) = acknowledged_id(&line) {
                acknowledged.push(id);
                seen += 1;
            }
        }
        child.kill().expect("SIGKILL the child");
        // What it printed before it died was acknowledged too.
        for line in lines {
            let Ok(line) = line else { break };
            if let Some(id) = acknowledged_id(&line) {
                acknowledged.push(id);
            }
        }
        let status = child.wait().expect("reap child");
        assert_eq!(status.signal(), Some(9), "the child was killed, not finished: {status:?}");

        let store = RedbStore::open(dir.path(), ledger()).expect("reopen after SIGKILL");
        for id in &acknowledged {
            assert!(store.get(id).expect("get").is_some(), "acknowledged event {id} is missing after the crash");
        }
        let report = store.verify_integrity(&mut |_| {}).expect("no gap, no fork, no damage");
        assert!(report.events >= acknowledged.len() as u64);
        let mut feeds = Feeds::resume(store.heads().expect("heads"));
        let next = feeds.next("zmina");
        assert_eq!(store.append(std::slice::from_ref(&next)).expect("append continues").outcomes, [Appended::Stored]);
        acknowledged.push(next.id());
        eprintln!(
            "killed after {kill_after} acknowledgements: {} events stored, all acknowledged present",
            report.events + 1
        );
        store.close().expect("close");
    }
}
