//! A full disk on append: the request fails with [`StoreError::DiskFull`] naming the file,
//! nothing of it is stored, and the store reopens valid with everything acknowledged before.
//!
//! Two ways to fill the disk, so the test never passes vacuously: a small tmpfs mounted by the
//! test (needs root and mount rights; skipped with a printed reason otherwise), and always a
//! child process under a file-size limit (`ulimit -f`, with SIGXFSZ ignored so the write fails
//! with EFBIG instead of killing the process).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use coalition_core::event::EventId;
use coalition_store::{Appended, EventStore, RedbStore, StoreError};

use crate::support::{CHILD_DIR_VAR, Feeds, acknowledged_id, ledger};

/// Events per append in the fill loops.
const FILL_BATCH: usize = 8;
/// Enough appends to fill any disk the tests set up; reaching it means the limit did not work.
const FILL_ROUNDS_MAX: usize = 100_000;

/// Appends batches of `zmina` events until an append fails; returns the acknowledged ids and the
/// error.
fn fill(store: &RedbStore, feeds: &mut Feeds, mut acknowledged: impl FnMut(EventId)) -> StoreError {
    for _ in 0..FILL_ROUNDS_MAX {
        let batch = feeds.many("zmina", FILL_BATCH);
        match store.append(&batch) {
            Ok(report) => {
                assert_eq!(report.stored(), FILL_BATCH);
                batch.iter().for_each(|event| acknowledged(event.id()));
            }
            Err(error) => return error,
        }
    }
    panic!("the disk never filled up");
}

/// After a disk-full failure: reopen, every acknowledged event present, the store intact, and
/// appending continues.
fn check_reopened(data_dir: &Path, acknowledged: &[EventId]) {
    let store = RedbStore::open(data_dir, ledger()).expect("reopen after the disk was full");
    for id in acknowledged {
        assert!(store.get(id).expect("get").is_some(), "acknowledged event {id} is missing");
    }
    let report = store.verify_integrity(&mut |_| {}).expect("intact after the disk was full");
    assert_eq!(report.events, acknowledged.len() as u64, "nothing of the refused batch was stored");
    let mut feeds = Feeds::resume(store.heads().expect("heads"));
    let next = feeds.next("zmina");
    assert_eq!(store.append(&[next]).expect("appending continues").outcomes, [Appended::Stored]);
}

struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Result<Self, String> {
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "coalition-store-test"])
            .arg(path)
            .output()
            .map_err(|error| format!("cannot run mount: {error}"))?;
        if !output.status.success() {
            return Err(format!("mount failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
        }
        Ok(Self { path: path.to_path_buf() })
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.path)
            .status()
            .expect("run mount");
        assert!(status.success(), "remount the tmpfs larger");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[test]
fn disk_full_on_a_small_tmpfs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tmpfs = match Tmpfs::mount(dir.path(), "1m") {
        Ok(tmpfs) => tmpfs,
        Err(reason) => {
            eprintln!(
                "SKIPPED disk_full_on_a_small_tmpfs: {reason}. disk_full_by_a_file_size_limit tests the same path"
            );
            return;
        }
    };
    let data_dir = dir.path().join("data");
    let store = RedbStore::open(&data_dir, ledger()).expect("create on the tmpfs");
    let mut feeds = Feeds::new();
    let mut acknowledged = Vec::new();
    let error = fill(&store, &mut feeds, |id| acknowledged.push(id));
    eprintln!("tmpfs full after {} events: {error}", acknowledged.len());
    assert!(matches!(&error, StoreError::DiskFull { file, .. } if *file == data_dir.join("events.redb")), "{error:?}");
    assert!(!acknowledged.is_empty());
    let again = store.append(&feeds.many("zmina", 1)).expect_err("still full");
    assert!(matches!(again, StoreError::DiskFull { .. } | StoreError::NeedsReopen { .. }), "{again:?}");
    assert!(store.get(&acknowledged[0]).expect("reads still work").is_some());
    drop(store);

    // Reopening on the still-full disk either works or fails clearly; it never damages the file.
    match RedbStore::open(&data_dir, ledger()) {
        Ok(store) => drop(store),
        Err(error) => {
            eprintln!("reopen on the full tmpfs: {error}");
            assert!(matches!(error, StoreError::DiskFull { .. }), "{error:?}");
        }
    }
    tmpfs.resize("16m");
    check_reopened(&data_dir, &acknowledged);
}

/// The child's side of [`disk_full_by_a_file_size_limit`]: runs only when [`CHILD_DIR_VAR`] is
/// set, under `ulimit -f`. Prints `ACK <id>` per acknowledged event, then how the append failed.
#[test]
fn child_appends_until_the_file_size_limit() {
    let Some(dir) = std::env::var_os(CHILD_DIR_VAR) else { return };
    let store = RedbStore::open(Path::new(&dir), ledger()).expect("child: open");
    let mut feeds = Feeds::resume(store.heads().expect("child: heads"));
    let error = fill(&store, &mut feeds, |id| println!("ACK {id}"));
    let variant = if matches!(error, StoreError::DiskFull { .. }) { "DiskFull" } else { "other" };
    println!("FULL {variant}");
    println!("MESSAGE {error}");
    let again = store.append(&feeds.many("zmina", 1)).expect_err("child: still full");
    println!("AGAIN {}", matches!(again, StoreError::DiskFull { .. } | StoreError::NeedsReopen { .. }));
}

#[test]
fn disk_full_by_a_file_size_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = RedbStore::open(dir.path(), ledger()).expect("create");
    let file = store.path().to_path_buf();
    store.close().expect("close");
    let size = std::fs::metadata(&file).expect("metadata").len();
    // `ulimit -f` counts 512-byte blocks: allow the file half a megabyte of growth.
    let blocks = (size + 512 * 1024) / 512;
    let output = Command::new("sh")
        .arg("-c")
        .arg(r#"trap '' XFSZ && ulimit -f "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(blocks.to_string())
        .arg(std::env::current_exe().expect("test binary"))
        .args(["--exact", "disk_full::child_appends_until_the_file_size_limit", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR_VAR, dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let acknowledged: Vec<EventId> = stdout.lines().filter_map(acknowledged_id).collect();
    let message = stdout.lines().find_map(|line| line.strip_prefix("MESSAGE ")).expect("the child hit the limit");
    eprintln!("file-size limit hit after {} events: {message}", acknowledged.len());
    assert!(stdout.lines().any(|line| line == "FULL DiskFull"), "{stdout}");
    assert!(stdout.lines().any(|line| line == "AGAIN true"), "{stdout}");
    assert!(message.contains(&file.display().to_string()), "the message names the file: {message}");
    assert!(!acknowledged.is_empty());
    check_reopened(dir.path(), &acknowledged);
}
