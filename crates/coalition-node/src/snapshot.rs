//! The node's start-up snapshot: `projection.snapshot` in the data directory, the node's own
//! replayed state (verifier feeds, the projector's events, the case and data-key indexes) as it
//! stood at some set of feed heads, so that a restart reads only the events after those heads.
//!
//! What it trusts, and why: the snapshot is the node's own output, written from state that was
//! verified before it was stored. It is used only if its format and ledger match, its BLAKE3
//! checksum over everything before it matches, and every feed head it names is in the store with
//! that id at that seq (and every fork proof it covers is in the store): anything else (a
//! truncated or corrupted file, another ledger, a store that was replaced or restored from an
//! older backup) makes the node ignore it with a warning naming the file and replay the whole
//! store, which is always possible because the store holds every event. The projection is never
//! read from the file: the projector re-inserts the snapshot's events, so the fold is the same
//! code over the same events. Signatures are not checked again (as on every start); `coalition
//! export` then `coalition verify`, or the store's `verify_integrity`, still check everything.
//!
//! File layout: [`SNAPSHOT_MAGIC`], the format (u32), the ledger id (32 bytes), the payload
//! length (u64), the payload, and the BLAKE3 hash of all the bytes before it (32 bytes). It is
//! written to a temporary file, synced, renamed over the old one and the directory synced, so a
//! crash at any point leaves the old snapshot or the new one, both whole.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use coalition_core::event::{EventId, OrgSlug};
use coalition_core::genesis::Genesis;
use coalition_core::keys::VerifierKey;
use coalition_core::seal::DataKeyId;
use coalition_core::verify::{FeedState, Verifier, VerifierState};
use coalition_projector::Projector;
use coalition_projector::codec::{DecodeError, Decoder, Encoder};
use coalition_store::EventStore;

use crate::State;

/// The snapshot's file name inside the data directory.
pub const SNAPSHOT_FILE_NAME: &str = "projection.snapshot";
/// The temporary file a snapshot is written to before it replaces the old one.
pub const SNAPSHOT_TEMP_FILE_NAME: &str = "projection.snapshot.tmp";
/// The first bytes of every snapshot file.
pub const SNAPSHOT_MAGIC: &[u8; 16] = b"coalition-snap\n\0";
/// The version of the node's snapshot layout (bumped with any change of it or of the projector's
/// part, so an older file is ignored rather than misread).
pub const SNAPSHOT_FORMAT: u32 = 1;
/// A node writes a snapshot after this many new events since the last one (and at a clean
/// shutdown): a crash then costs a replay of at most this many events at the next start.
pub const SNAPSHOT_EVERY_EVENTS: u64 = 100_000;
/// Largest snapshot file read (a million events take about 400 MB); a larger file is ignored.
pub const SNAPSHOT_BYTES_MAX: u64 = 16 << 30;

const CHECKSUM_BYTES: usize = 32;
const HEADER_BYTES: usize = SNAPSHOT_MAGIC.len() + 4 + 32 + 8;

/// Why a snapshot was not used. Never fatal: the node replays its whole store instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotRejected {
    /// Reading the file failed.
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    /// Larger than [`SNAPSHOT_BYTES_MAX`].
    #[error("it is {bytes} bytes, more than the limit of {max}")]
    TooLarge {
        /// Its size.
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// Not a snapshot, or truncated before its checksum.
    #[error("it is not a whole snapshot file: {0}")]
    NotASnapshot(&'static str),
    /// Another format version.
    #[error("it has format {found}, this node reads {SNAPSHOT_FORMAT}")]
    Format {
        /// The file's format.
        found: u32,
    },
    /// Another ledger's snapshot.
    #[error("it is a snapshot of another ledger")]
    OtherLedger,
    /// The checksum does not match the content.
    #[error("its BLAKE3 checksum does not match its content (corrupted)")]
    Checksum,
    /// The content does not decode.
    #[error("its content does not decode: {0}")]
    Decode(String),
    /// A head or fork proof it covers is not in the store: the store is not the one it was
    /// written from (replaced, restored from an older backup).
    #[error("it is stale: {0}")]
    Stale(String),
}

impl From<DecodeError> for SnapshotRejected {
    fn from(error: DecodeError) -> Self {
        Self::Decode(error.to_string())
    }
}

/// What a snapshot covers: the feed heads and fork proofs its state includes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Coverage {
    pub(crate) heads: BTreeMap<OrgSlug, (u64, EventId)>,
    pub(crate) forks: Vec<(OrgSlug, u64)>,
}

impl Coverage {
    /// How many feed events the snapshot holds.
    pub(crate) fn events(&self) -> u64 {
        self.heads.values().map(|(seq, _)| seq).sum()
    }
}

/// The path of the snapshot in `data_dir`.
pub fn snapshot_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SNAPSHOT_FILE_NAME)
}

/// Encodes `state` (which must have nothing waiting in its verifier) as a snapshot file's bytes;
/// `None` when the state cannot be kept (events wait for their predecessor). `forks` are the
/// fork proofs the state includes.
pub(crate) fn encode(genesis: &Genesis, state: &State, forks: &[(OrgSlug, u64)]) -> Option<Vec<u8>> {
    let verifier = state.verifier.state()?;
    let mut payload = Encoder::new();
    let heads = state.verifier.heads();
    payload.count(heads.len());
    for (org, (seq, id)) in &heads {
        payload.slug(org);
        payload.u64(*seq);
        payload.id(id);
    }
    payload.count(forks.len());
    for (org, seq) in forks {
        payload.slug(org);
        payload.u64(*seq);
    }
    encode_verifier(&mut payload, &verifier);
    match state.newest_time {
        Some(time) => {
            payload.u8(1);
            payload.time(time);
        }
        None => payload.u8(0),
    }
    let mut cases: Vec<(&EventId, &Vec<EventId>)> = state.case_events.iter().collect();
    cases.sort_unstable_by_key(|(case, _)| **case);
    payload.count(cases.len());
    for (case, ids) in cases {
        payload.id(case);
        payload.count(ids.len());
        ids.iter().for_each(|id| payload.id(id));
    }
    let mut sealed: Vec<(&DataKeyId, &Vec<EventId>)> = state.sealed_events.iter().collect();
    sealed.sort_unstable_by_key(|(key, _)| **key);
    payload.count(sealed.len());
    for (key, ids) in sealed {
        payload.str(&key.to_string());
        payload.count(ids.len());
        ids.iter().for_each(|id| payload.id(id));
    }
    payload.count(state.shredded_pending.len());
    for key in &state.shredded_pending {
        payload.str(&key.to_string());
    }
    state.projector.encode_snapshot(&mut payload);
    let payload = payload.into_bytes();

    let mut file = Vec::with_capacity(HEADER_BYTES + payload.len() + CHECKSUM_BYTES);
    file.extend_from_slice(SNAPSHOT_MAGIC);
    file.extend_from_slice(&SNAPSHOT_FORMAT.to_le_bytes());
    file.extend_from_slice(genesis.ledger_id().as_bytes());
    file.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    file.extend_from_slice(&payload);
    let checksum = blake3::hash(&file);
    file.extend_from_slice(checksum.as_bytes());
    Some(file)
}

fn encode_verifier(encoder: &mut Encoder, state: &VerifierState) {
    encoder.count(state.feeds.len());
    for feed in &state.feeds {
        encoder.slug(&feed.org);
        encoder.count(feed.ids.len());
        feed.ids.iter().for_each(|id| encoder.id(id));
        encoder.count(feed.keys.len());
        for (from_seq, key) in &feed.keys {
            encoder.u64(*from_seq);
            encoder.str(&key.to_string());
        }
        encoder.time(feed.last_time);
        match feed.frozen_at {
            Some(seq) => {
                encoder.u8(1);
                encoder.u64(seq);
            }
            None => encoder.u8(0),
        }
    }
    encoder.count(state.proposed_keys.len());
    for (org, keys) in &state.proposed_keys {
        encoder.slug(org);
        encoder.count(keys.len());
        keys.iter().for_each(|key| encoder.str(&key.to_string()));
    }
}

fn decode_key(decoder: &mut Decoder<'_>) -> Result<VerifierKey, DecodeError> {
    let text = decoder.str()?;
    text.parse().map_err(|error| decoder.invalid("verifier key", error))
}

fn decode_data_key(decoder: &mut Decoder<'_>) -> Result<DataKeyId, DecodeError> {
    let text = decoder.str()?;
    DataKeyId::parse(text).ok_or_else(|| decoder.invalid("data key id", text))
}

fn decode_ids(decoder: &mut Decoder<'_>) -> Result<Vec<EventId>, DecodeError> {
    let count = decoder.count()?;
    (0..count).map(|_| decoder.id()).collect()
}

fn decode_verifier(decoder: &mut Decoder<'_>) -> Result<VerifierState, DecodeError> {
    let feed_count = decoder.count()?;
    let mut feeds = Vec::with_capacity(feed_count);
    for _ in 0..feed_count {
        let org = decoder.slug()?;
        let ids = decode_ids(decoder)?;
        let key_count = decoder.count()?;
        let mut keys = Vec::with_capacity(key_count);
        for _ in 0..key_count {
            let from_seq = decoder.u64()?;
            keys.push((from_seq, decode_key(decoder)?));
        }
        let last_time = decoder.time()?;
        let frozen_at = match decoder.u8()? {
            0 => None,
            _ => Some(decoder.u64()?),
        };
        feeds.push(FeedState::new(org, ids, keys, last_time, frozen_at));
    }
    let proposed_count = decoder.count()?;
    let mut proposed_keys = Vec::with_capacity(proposed_count);
    for _ in 0..proposed_count {
        let org = decoder.slug()?;
        let count = decoder.count()?;
        let keys = (0..count).map(|_| decode_key(decoder)).collect::<Result<Vec<_>, _>>()?;
        proposed_keys.push((org, keys));
    }
    Ok(VerifierState::new(feeds, proposed_keys))
}

/// Checks a snapshot file's frame (magic, format, ledger, length, checksum) and returns its
/// payload.
fn payload<'a>(genesis: &Genesis, bytes: &'a [u8]) -> Result<&'a [u8], SnapshotRejected> {
    if bytes.len() < HEADER_BYTES + CHECKSUM_BYTES {
        return Err(SnapshotRejected::NotASnapshot("shorter than its header and checksum"));
    }
    if &bytes[..SNAPSHOT_MAGIC.len()] != SNAPSHOT_MAGIC {
        return Err(SnapshotRejected::NotASnapshot("it does not start as a snapshot does"));
    }
    let mut header = Decoder::new(&bytes[SNAPSHOT_MAGIC.len()..HEADER_BYTES]);
    let format = header.u32()?;
    if format != SNAPSHOT_FORMAT {
        return Err(SnapshotRejected::Format { found: format });
    }
    if header.fixed(32)? != genesis.ledger_id().as_bytes() {
        return Err(SnapshotRejected::OtherLedger);
    }
    let length = header.u64()?;
    let expected = (HEADER_BYTES + CHECKSUM_BYTES) as u64 + length;
    if bytes.len() as u64 != expected {
        return Err(SnapshotRejected::NotASnapshot("its length is not the one its header states (truncated?)"));
    }
    let (content, checksum) = bytes.split_at(bytes.len() - CHECKSUM_BYTES);
    if blake3::hash(content).as_bytes() != checksum {
        return Err(SnapshotRejected::Checksum);
    }
    Ok(&content[HEADER_BYTES..])
}

/// Reads the snapshot in `data_dir`, if there is one, and checks it against `store`. Returns the
/// state it holds and what it covers; the caller then replays the events after its heads.
pub(crate) fn load(
    data_dir: &Path,
    genesis: &Genesis,
    store: &dyn EventStore,
) -> Result<Option<(State, Coverage)>, SnapshotRejected> {
    let path = snapshot_path(data_dir);
    let size = match std::fs::metadata(&path) {
        Ok(metadata) => metadata.len(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    if size > SNAPSHOT_BYTES_MAX {
        return Err(SnapshotRejected::TooLarge { bytes: size, max: SNAPSHOT_BYTES_MAX });
    }
    let bytes = std::fs::read(&path)?;
    let payload = payload(genesis, &bytes)?;
    // Decoding checks every length and tag; a panic here would be a bug in the decoder, and
    // must still cost only the snapshot, never the node.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode(genesis, payload)))
        .map_err(|_| SnapshotRejected::Decode("the decoder failed".into()))??;
    check_against_store(&decoded.1, store)?;
    Ok(Some(decoded))
}

fn decode(genesis: &Genesis, payload: &[u8]) -> Result<(State, Coverage), SnapshotRejected> {
    let mut decoder = Decoder::new(payload);
    let head_count = decoder.count()?;
    let mut heads = BTreeMap::new();
    for _ in 0..head_count {
        let org = decoder.slug()?;
        let seq = decoder.u64()?;
        let id = decoder.id()?;
        heads.insert(org, (seq, id));
    }
    let fork_count = decoder.count()?;
    let mut forks = Vec::with_capacity(fork_count);
    for _ in 0..fork_count {
        let org = decoder.slug()?;
        forks.push((org, decoder.u64()?));
    }
    let verifier_state = decode_verifier(&mut decoder)?;
    let verifier = Verifier::restore(genesis, verifier_state).map_err(SnapshotRejected::Decode)?;
    if verifier.heads() != heads {
        return Err(SnapshotRejected::Decode("its verifier's feed heads are not the heads it names".into()));
    }
    let newest_time = match decoder.u8()? {
        0 => None,
        _ => Some(decoder.time()?),
    };
    let case_count = decoder.count()?;
    let mut case_events = HashMap::with_capacity(case_count);
    for _ in 0..case_count {
        let case = decoder.id()?;
        case_events.insert(case, decode_ids(&mut decoder)?);
    }
    let sealed_count = decoder.count()?;
    let mut sealed_events = HashMap::with_capacity(sealed_count);
    for _ in 0..sealed_count {
        let key = decode_data_key(&mut decoder)?;
        sealed_events.insert(key, decode_ids(&mut decoder)?);
    }
    let shredded_count = decoder.count()?;
    let shredded_pending = (0..shredded_count).map(|_| decode_data_key(&mut decoder)).collect::<Result<_, _>>()?;
    let projector = Projector::decode_snapshot(genesis, &mut decoder)
        .map_err(|error| SnapshotRejected::Decode(error.to_string()))?;
    if !decoder.is_at_end() {
        return Err(SnapshotRejected::Decode(format!("{} bytes follow its content", decoder.bytes_left())));
    }
    let state = State { verifier, projector, case_events, newest_time, sealed_events, shredded_pending };
    Ok((state, Coverage { heads, forks }))
}

/// A snapshot is used only if the store still holds every head it names with the same id, and
/// every fork proof it covers.
fn check_against_store(coverage: &Coverage, store: &dyn EventStore) -> Result<(), SnapshotRejected> {
    let stale = |reason: String| SnapshotRejected::Stale(reason);
    for (org, (seq, id)) in &coverage.heads {
        let held = store.read_feed(org, *seq, 1).map_err(|error| stale(format!("reading {org}'s feed: {error}")))?;
        match held.first() {
            Some(event) if event.id() == *id && event.event().seq == *seq => {}
            Some(event) => {
                return Err(stale(format!("{org}'s event {seq} in the store is {}, not {id}", event.id())));
            }
            None => return Err(stale(format!("the store holds no event {seq} of {org}"))),
        }
    }
    if !coverage.forks.is_empty() {
        let proofs = store.fork_proofs().map_err(|error| stale(format!("reading the fork proofs: {error}")))?;
        for (org, seq) in &coverage.forks {
            if !proofs.iter().any(|proof| &proof.org == org && proof.seq == *seq) {
                return Err(stale(format!("the store holds no proof of {org}'s fork at {seq}")));
            }
        }
    }
    Ok(())
}

/// Writes `bytes` as the snapshot in `data_dir`: temporary file, sync, rename, sync of the
/// directory, so a crash leaves the old snapshot or the new one, never a mix.
pub(crate) fn write_atomically(data_dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = data_dir.join(SNAPSHOT_TEMP_FILE_NAME);
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, snapshot_path(data_dir))?;
    std::fs::File::open(data_dir)?.sync_all()
}
