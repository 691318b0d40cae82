//! The projector's named limits. A limit reached is reported as a typed error, never a crash.

/// Most events that may wait at once for a missing `prev` or dependency. An event that would
/// wait beyond it is refused with [`crate::InsertError::WaitingFull`] and can be inserted again
/// later; nothing already in the projector is lost.
pub const WAITING_EVENTS_MAX: usize = 1_000_000;

/// Most distinct organisations whose events or admissions the projector tracks (founders,
/// admitted members and any other organisation that signed an event). Vector clocks hold one
/// number per organisation, so this bounds their size.
pub const ORGANISATIONS_MAX: usize = 256;

/// The most events [`crate::Projector::reserve`] makes room for at once: a hint drawn from
/// hostile input (a bundle's line count) must not make the projector claim memory it will never
/// use. Four million events is four years of a very busy coalition.
pub const EVENTS_RESERVE_MAX: usize = 1 << 22;
