//! Organisation slots: a small dense number for every organisation the projector has met, so
//! vector clocks and per-case sets stay compact.
//!
//! Slots are an implementation detail: they follow arrival order, which differs between nodes,
//! so nothing public depends on their numbering. Everything shown outside is keyed and sorted by
//! slug.

use std::collections::HashMap;

use coalition_core::event::OrgSlug;

use crate::InsertError;
use crate::limits::ORGANISATIONS_MAX;

/// The dense number of an organisation inside one projector.
pub(crate) type Slot = u16;

/// Slot of every organisation met so far, and back.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrgTable {
    slugs: Vec<OrgSlug>,
    slots: HashMap<OrgSlug, Slot>,
}

impl OrgTable {
    /// The slot of `slug`, if it has one.
    pub(crate) fn slot(&self, slug: &OrgSlug) -> Option<Slot> {
        self.slots.get(slug).copied()
    }

    /// The slot of `slug`, giving it the next free one if it has none.
    pub(crate) fn slot_or_insert(&mut self, slug: &OrgSlug) -> Result<Slot, InsertError> {
        if let Some(slot) = self.slots.get(slug) {
            return Ok(*slot);
        }
        if self.slugs.len() >= ORGANISATIONS_MAX {
            return Err(InsertError::TooManyOrganisations { max: ORGANISATIONS_MAX });
        }
        let slot = Slot::try_from(self.slugs.len())
            .map_err(|_| InsertError::TooManyOrganisations { max: ORGANISATIONS_MAX })?;
        self.slugs.push(slug.clone());
        self.slots.insert(slug.clone(), slot);
        Ok(slot)
    }

    /// The slug of a slot handed out by this table.
    pub(crate) fn slug(&self, slot: Slot) -> &OrgSlug {
        &self.slugs[usize::from(slot)]
    }

    /// How many slots are handed out.
    pub(crate) fn len(&self) -> usize {
        self.slugs.len()
    }
}
