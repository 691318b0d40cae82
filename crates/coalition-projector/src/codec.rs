//! A small binary encoding for snapshots: little-endian integers, length-prefixed bytes and
//! fixed-size ids. It owns no format of its own: [`crate::Projector::encode_snapshot`] and the
//! node's snapshot file decide what goes in, in which order.
//!
//! Chosen over a serde binary format because the event bodies skip absent fields when
//! serialised (canonical JSON), which a non-self-describing format cannot read back; the bodies
//! are written as their JSON inside this framing instead.

use coalition_core::event::{EventId, OrgSlug};
use coalition_core::time::Timestamp;

/// Why bytes could not be decoded. The bytes are never trusted beyond what was checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes end before the value does.
    #[error("the snapshot is truncated: {wanted} more bytes were expected at offset {offset}")]
    Truncated {
        /// Where the value starts.
        offset: usize,
        /// How many bytes it needs.
        wanted: usize,
    },
    /// A value does not decode (a bad tag, an invalid slug, time or body).
    #[error("the snapshot holds an invalid {what} at offset {offset}: {reason}")]
    Invalid {
        /// What was being decoded.
        what: &'static str,
        /// Where.
        offset: usize,
        /// Why it is invalid.
        reason: String,
    },
}

/// Appends values to a byte buffer.
#[derive(Debug, Default)]
pub struct Encoder {
    bytes: Vec<u8>,
}

impl Encoder {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// One byte.
    pub fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    /// A u16, little-endian.
    pub fn u16(&mut self, value: u16) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// A u32, little-endian.
    pub fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// A u64, little-endian.
    pub fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// A count or length (as a u64).
    pub fn count(&mut self, value: usize) {
        self.u64(value as u64);
    }

    /// Raw bytes of a known size.
    pub fn fixed(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.count(bytes.len());
        self.bytes.extend_from_slice(bytes);
    }

    /// A length-prefixed UTF-8 string.
    pub fn str(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    /// An event id (32 bytes).
    pub fn id(&mut self, id: &EventId) {
        self.fixed(id.as_bytes());
    }

    /// A time, as Unix seconds.
    pub fn time(&mut self, time: Timestamp) {
        self.u64(time.unix_seconds() as u64);
    }

    /// An organisation slug.
    pub fn slug(&mut self, slug: &OrgSlug) {
        self.str(slug.as_str());
    }
}

/// Reads values back in the order an [`Encoder`] wrote them.
#[derive(Debug)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Decoder<'a> {
    /// Reads `bytes` from the start.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, offset: 0 }
    }

    /// Whether every byte was read.
    pub fn is_at_end(&self) -> bool {
        self.offset == self.bytes.len()
    }

    /// How many bytes are left to read.
    pub fn bytes_left(&self) -> usize {
        self.bytes.len() - self.offset
    }

    /// Where the next value starts.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// An error about the value at the current offset.
    pub fn invalid(&self, what: &'static str, reason: impl std::fmt::Display) -> DecodeError {
        DecodeError::Invalid { what, offset: self.offset, reason: reason.to_string() }
    }

    /// The next `count` bytes.
    pub fn fixed(&mut self, count: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .offset
            .checked_add(count)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(DecodeError::Truncated { offset: self.offset, wanted: count })?;
        let taken = &self.bytes[self.offset..end];
        self.offset = end;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.fixed(N)?);
        Ok(array)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// A u16.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// A u32.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A u64.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A length, which can never exceed the bytes left (each item takes at least one byte), so a
    /// corrupted length cannot make the caller allocate more than the snapshot's size.
    pub fn count(&mut self) -> Result<usize, DecodeError> {
        let at = self.offset;
        let value = self.u64()?;
        let left = (self.bytes.len() - self.offset) as u64;
        if value > left {
            return Err(DecodeError::Invalid {
                what: "length",
                offset: at,
                reason: format!("{value} is more than the {left} bytes left"),
            });
        }
        Ok(value as usize)
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let count = self.count()?;
        self.fixed(count)
    }

    /// A length-prefixed UTF-8 string.
    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes).map_err(|error| self.invalid("string", error))
    }

    /// An event id.
    pub fn id(&mut self) -> Result<EventId, DecodeError> {
        Ok(EventId::from_bytes(self.array()?))
    }

    /// A time.
    pub fn time(&mut self) -> Result<Timestamp, DecodeError> {
        let seconds = self.u64()? as i64;
        Timestamp::from_unix_seconds(seconds).ok_or_else(|| self.invalid("time", seconds))
    }

    /// An organisation slug.
    pub fn slug(&mut self) -> Result<OrgSlug, DecodeError> {
        let text = self.str()?;
        OrgSlug::parse(text).map_err(|error| self.invalid("organisation", error))
    }
}
