//! The projector's events as bytes, so a node can restart from its own earlier output instead of
//! re-reading, re-parsing and re-hashing every note in its store.
//!
//! A snapshot is the input of the fold, not its result: every event the projector holds (in
//! the order it received them, with its id, feed position, time, key id, parents and compact
//! body) and the forks it was told of. Decoding inserts them again in that order, so the
//! projection it serves is the fold of the same set of events, computed by the same code: a
//! snapshot cannot carry a projection that the events do not give. Pure: bytes in, bytes out.

use coalition_core::event::{EventId, OrgSlug};
use coalition_core::genesis::Genesis;
use coalition_core::keys::KeyId;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{DecodeError, Decoder, Encoder};
use crate::graph::{NewEvent, Parents};
use crate::op::Op;
use crate::projector::{InsertError, PreparedEvent, Projector};

/// The version of the projector's part of a snapshot; bumped whenever its layout or the meaning
/// of its fields changes, so an old snapshot is ignored rather than misread.
pub const PROJECTOR_SNAPSHOT_FORMAT: u32 = 1;

/// Why a snapshot could not be loaded. The caller replays its store instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The bytes do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Written by another version of the projector.
    #[error("the projector snapshot has format {found}, this version reads {expected}")]
    Format {
        /// This version's format.
        expected: u32,
        /// The snapshot's.
        found: u32,
    },
    /// An event was refused when inserted again (another ledger, a limit).
    #[error("an event of the snapshot was refused: {0}")]
    Insert(#[from] InsertError),
}

/// A parent written as its full id.
const PARENT_BY_ID: u8 = 0;
/// A parent written as its position among the events written before.
const PARENT_BY_POSITION: u8 = 1;

fn json<T: Serialize>(encoder: &mut Encoder, tag: u8, value: &T) {
    encoder.u8(tag);
    // Serialising the body types into memory cannot fail: they hold only strings, numbers and
    // ids, never maps with non-string keys.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    encoder.bytes(&bytes);
}

fn encode_op(encoder: &mut Encoder, op: &Op) {
    match op {
        Op::CaseOpened(body) => json(encoder, 0, body),
        Op::CaseUpdated(body) => json(encoder, 1, body),
        Op::CriterionAsserted(body) => json(encoder, 2, body),
        Op::CriterionWithdrawn(body) => json(encoder, 3, body),
        Op::SignNoted(body) => json(encoder, 4, body),
        Op::ExclusionRaised(body) => json(encoder, 5, body),
        Op::ExclusionWithdrawn(body) => json(encoder, 6, body),
        Op::PersonAdded(body) => json(encoder, 7, body),
        Op::PersonRemoved(body) => json(encoder, 8, body),
        Op::PersonReleased(body) => json(encoder, 9, body),
        Op::PersonDetained(body) => json(encoder, 10, body),
        Op::PersonDied(body) => json(encoder, 11, body),
        Op::MemberProposed(body) => json(encoder, 12, body),
        Op::MemberApproved(body) => json(encoder, 13, body),
        Op::MemberRemovalProposed(body) => json(encoder, 14, body),
        Op::PolicyProposed(body) => json(encoder, 15, body),
        Op::PolicyApproved(body) => json(encoder, 16, body),
        Op::KeyRotated(body) => json(encoder, 17, body),
        Op::EditionProposed(body) => json(encoder, 18, body),
        Op::EditionCosigned(body) => json(encoder, 19, body),
        Op::Sealed(key) => json(encoder, 20, key),
        Op::SealedShredded(keys) => json(encoder, 21, keys),
        Op::RecipientRotated(recipient) => json(encoder, 22, recipient),
    }
}

fn parse<T: DeserializeOwned>(decoder: &Decoder<'_>, bytes: &[u8]) -> Result<T, DecodeError> {
    serde_json::from_slice(bytes).map_err(|error| decoder.invalid("event body", error))
}

fn decode_op(decoder: &mut Decoder<'_>) -> Result<Op, DecodeError> {
    let tag = decoder.u8()?;
    let body = decoder.bytes()?;
    let decoder = &*decoder;
    Ok(match tag {
        0 => Op::CaseOpened(parse(decoder, body)?),
        1 => Op::CaseUpdated(parse(decoder, body)?),
        2 => Op::CriterionAsserted(parse(decoder, body)?),
        3 => Op::CriterionWithdrawn(parse(decoder, body)?),
        4 => Op::SignNoted(parse(decoder, body)?),
        5 => Op::ExclusionRaised(parse(decoder, body)?),
        6 => Op::ExclusionWithdrawn(parse(decoder, body)?),
        7 => Op::PersonAdded(parse(decoder, body)?),
        8 => Op::PersonRemoved(parse(decoder, body)?),
        9 => Op::PersonReleased(parse(decoder, body)?),
        10 => Op::PersonDetained(parse(decoder, body)?),
        11 => Op::PersonDied(parse(decoder, body)?),
        12 => Op::MemberProposed(parse(decoder, body)?),
        13 => Op::MemberApproved(parse(decoder, body)?),
        14 => Op::MemberRemovalProposed(parse(decoder, body)?),
        15 => Op::PolicyProposed(parse(decoder, body)?),
        16 => Op::PolicyApproved(parse(decoder, body)?),
        17 => Op::KeyRotated(parse(decoder, body)?),
        18 => Op::EditionProposed(parse(decoder, body)?),
        19 => Op::EditionCosigned(parse(decoder, body)?),
        20 => Op::Sealed(parse(decoder, body)?),
        21 => Op::SealedShredded(parse(decoder, body)?),
        22 => Op::RecipientRotated(parse(decoder, body)?),
        other => return Err(decoder.invalid("event kind", other)),
    })
}

impl Projector {
    /// Writes every event this projector holds, in the order it received them, and the forks
    /// it was told of (see the module documentation of `snapshot`).
    pub fn encode_snapshot(&self, encoder: &mut Encoder) {
        encoder.u32(PROJECTOR_SNAPSHOT_FORMAT);
        encoder.fixed(self.ledger().as_bytes());
        let orgs = &self.projection.orgs;
        encoder.count(orgs.len());
        for slot in 0..orgs.len() {
            encoder.slug(orgs.slug(slot as u16));
        }
        encoder.count(self.graph.events.len());
        for (at, event) in self.graph.events.iter().enumerate() {
            encoder.id(&event.id);
            encoder.u16(event.slot);
            encoder.u64(event.seq);
            encoder.time(event.time);
            encoder.fixed(&event.key_id.to_bytes());
            encoder.u8(u8::from(event.has_prev));
            match &event.parents {
                Parents::Ids(ids) => {
                    encoder.count(ids.len());
                    ids.iter().for_each(|id| {
                        encoder.u8(PARENT_BY_ID);
                        encoder.id(id);
                    });
                }
                Parents::Indices(indices) => {
                    encoder.count(indices.len());
                    for &index in indices.iter() {
                        // Most parents came before their child: 4 bytes instead of 32.
                        if (index as usize) < at {
                            encoder.u8(PARENT_BY_POSITION);
                            encoder.u32(index);
                        } else {
                            encoder.u8(PARENT_BY_ID);
                            encoder.id(&self.graph.event(index).id);
                        }
                    }
                }
            }
            encode_op(encoder, &event.op);
        }
        let mut forks: Vec<(&OrgSlug, u64)> = self.graph.forks().map(|(slot, seq)| (orgs.slug(slot), seq)).collect();
        forks.sort();
        encoder.count(forks.len());
        for (org, seq) in forks {
            encoder.slug(org);
            encoder.u64(seq);
        }
    }

    /// A projector for `genesis` holding the events and forks of a snapshot written by
    /// [`Self::encode_snapshot`]: the same events, inserted again in the same order, so the same
    /// projection. Refuses a snapshot of another ledger or format.
    pub fn decode_snapshot(genesis: &Genesis, decoder: &mut Decoder<'_>) -> Result<Self, SnapshotError> {
        let format = decoder.u32()?;
        if format != PROJECTOR_SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format { expected: PROJECTOR_SNAPSHOT_FORMAT, found: format });
        }
        let mut projector = Self::new(genesis);
        let ledger = decoder.id()?;
        if ledger.as_bytes() != projector.ledger().as_bytes() {
            return Err(decoder.invalid("ledger", "the snapshot is of another ledger").into());
        }
        let org_count = decoder.count()?;
        let orgs = (0..org_count).map(|_| decoder.slug()).collect::<Result<Vec<_>, _>>()?;
        let event_count = decoder.count()?;
        let mut decoded: Vec<EventId> = Vec::with_capacity(event_count.min(decoder.bytes_left()));
        for _ in 0..event_count {
            let id = decoder.id()?;
            let slot = decoder.u16()?;
            let org = orgs.get(usize::from(slot)).ok_or_else(|| decoder.invalid("organisation slot", slot))?;
            let seq = decoder.u64()?;
            let time = decoder.time()?;
            let mut key_id = [0u8; 4];
            key_id.copy_from_slice(decoder.fixed(4)?);
            let has_prev = decoder.u8()? != 0;
            let parent_count = decoder.count()?;
            let mut parents = Vec::with_capacity(parent_count);
            for _ in 0..parent_count {
                let parent = match decoder.u8()? {
                    PARENT_BY_ID => decoder.id()?,
                    PARENT_BY_POSITION => {
                        let position = decoder.u32()?;
                        *decoded.get(position as usize).ok_or_else(|| decoder.invalid("parent position", position))?
                    }
                    other => return Err(decoder.invalid("parent tag", other).into()),
                };
                parents.push(parent);
            }
            let prev = if has_prev {
                if parents.is_empty() {
                    return Err(decoder.invalid("parents", "an event with a prev names no parent").into());
                }
                Some(parents.remove(0))
            } else {
                None
            };
            let op = decode_op(decoder)?;
            let new = NewEvent { id, time, seq, slot: 0, key_id: KeyId::from_bytes(key_id), prev, deps: parents, op };
            projector.insert_prepared(PreparedEvent::from_parts(projector.ledger(), org.clone(), new))?;
            decoded.push(id);
        }
        let fork_count = decoder.count()?;
        for _ in 0..fork_count {
            let org = decoder.slug()?;
            let seq = decoder.u64()?;
            projector.insert_fork(&org, seq)?;
        }
        Ok(projector)
    }
}
