//! A node's data directory: the genesis it serves, the event store, and nothing else.
//!
//! Layout: `genesis.note` (the coalition's signed genesis, written on first start and checked on
//! every later one), `events.redb` (the store) and `projection.snapshot` (the node's start-up
//! snapshot, see `snapshot.rs`: a cache of its own replayed state, checked against the store and
//! ignored when invalid; deleting it only makes the next start replay the whole store). A
//! directory of another coalition is refused, never silently mixed.

use std::path::{Path, PathBuf};

use coalition_core::genesis::Genesis;

/// File name of the genesis inside a data directory.
pub const GENESIS_FILE: &str = "genesis.note";

/// Why a data directory could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataDirError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The stored genesis does not parse or is not fully signed.
    #[error("{path} is not a valid, fully signed genesis: {reason}")]
    BadGenesis {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The directory belongs to another coalition.
    #[error("{path} holds the ledger {found}, not {expected}: this data directory belongs to another coalition")]
    OtherLedger {
        /// The genesis file.
        path: PathBuf,
        /// The ledger asked for.
        expected: String,
        /// The ledger found.
        found: String,
    },
    /// No genesis given and none stored yet.
    #[error("{0} has no genesis yet: give one with --genesis")]
    NoGenesis(PathBuf),
}

/// Opens `dir` (creating it), and returns the genesis it serves: the stored one, which must match
/// `given` when both exist, or `given`, which is then stored.
pub fn prepare(dir: &Path, given: Option<Genesis>) -> Result<Genesis, DataDirError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataDirError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(GENESIS_FILE);
    let stored = match std::fs::read_to_string(&path) {
        Ok(text) => {
            let genesis = Genesis::parse(&text)
                .map_err(|error| DataDirError::BadGenesis { path: path.clone(), reason: error.to_string() })?;
            genesis
                .require_complete()
                .map_err(|error| DataDirError::BadGenesis { path: path.clone(), reason: error.to_string() })?;
            Some(genesis)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(io(&path)(error)),
    };
    match (stored, given) {
        (Some(stored), Some(given)) if stored.ledger_id() != given.ledger_id() => Err(DataDirError::OtherLedger {
            path,
            expected: given.ledger_id().to_string(),
            found: stored.ledger_id().to_string(),
        }),
        (Some(stored), _) => Ok(stored),
        (None, Some(given)) => {
            given
                .require_complete()
                .map_err(|error| DataDirError::BadGenesis { path: path.clone(), reason: error.to_string() })?;
            let temporary = dir.join(format!(".{GENESIS_FILE}.tmp"));
            std::fs::write(&temporary, given.note()).map_err(io(&temporary))?;
            std::fs::File::open(&temporary).and_then(|file| file.sync_all()).map_err(io(&temporary))?;
            std::fs::rename(&temporary, &path).map_err(io(&path))?;
            Ok(given)
        }
        (None, None) => Err(DataDirError::NoGenesis(dir.to_path_buf())),
    }
}
