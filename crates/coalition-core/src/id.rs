//! Identifiers: event ids, ledger ids and organisation slugs, each with one textual spelling.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::limits::ORG_SLUG_BYTES_MAX;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Not 64 lowercase hexadecimal digits.
    #[error("expected 64 lowercase hex digits, found {0:?}")]
    Hash(String),
    /// Not a valid organisation slug.
    #[error(
        "organisation slug {0:?} must be 2 to 32 bytes of lowercase ASCII letters, digits and '-', starting with a letter"
    )]
    Slug(String),
}

/// Value of each byte as a lowercase hex digit, or 0xff. Uppercase is not a digit here: one
/// identifier, one spelling.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut digit = 0;
    while digit < 10 {
        table[b'0' as usize + digit] = digit as u8;
        digit += 1;
    }
    let mut letter = 0;
    while letter < 6 {
        table[b'a' as usize + letter] = 10 + letter as u8;
        letter += 1;
    }
    table
};

/// Decodes 64 lowercase hex digits; ids are decoded several times per event on the replay path,
/// so this is a table lookup rather than a general-purpose decoder.
fn parse_hash(text: &str) -> Result<[u8; 32], IdError> {
    let digits = text.as_bytes();
    let mut bytes = [0u8; 32];
    let mut invalid = digits.len() != 64;
    if !invalid {
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let (high, low) = (HEX_VALUE[pair[0] as usize], HEX_VALUE[pair[1] as usize]);
            invalid |= high > 15 || low > 15;
            *byte = (high << 4) | (low & 0x0f);
        }
    }
    if invalid {
        return Err(IdError::Hash(text.chars().take(80).collect()));
    }
    Ok(bytes)
}

macro_rules! hash_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 32]);

        impl $name {
            /// The identifier of these exact note-text bytes: their BLAKE3 hash.
            pub fn of_text(text: &[u8]) -> Self {
                Self(*blake3::hash(text).as_bytes())
            }

            /// Wraps 32 raw hash bytes.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The 32 raw hash bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Parses 64 lowercase hex digits (upper case is refused: one identifier, one spelling).
            pub fn parse(text: &str) -> Result<Self, IdError> {
                parse_hash(text).map(Self)
            }

            /// The first 12 hex digits, for people reading logs and reports.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..6])
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut buffer = [0u8; 64];
                // Cannot fail: the buffer is exactly twice the input length.
                let _ = hex::encode_to_slice(self.0, &mut buffer);
                formatter.write_str(std::str::from_utf8(&buffer).map_err(|_| fmt::Error)?)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "{}({})", stringify!($name), self.short())
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(text: &str) -> Result<Self, IdError> {
                Self::parse(text)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::id::deserialize_from_text(deserializer, "text", Self::parse)
            }
        }
    };
}

hash_id!(
    /// The identity of an event: BLAKE3 of its note text (header line and JSON line, without the
    /// signature lines), written as 64 lowercase hex digits.
    EventId
);

hash_id!(
    /// The identity of a coalition's ledger: BLAKE3 of its genesis note text.
    LedgerId
);

/// The short name of a member organisation (`zmina`, `crimea-sos`): 2 to 32 bytes of lowercase
/// ASCII letters, digits and `-`, starting with a letter.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrgSlug(String);

impl OrgSlug {
    /// Checks and wraps a slug.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let bytes = text.as_bytes();
        let valid = (2..=ORG_SLUG_BYTES_MAX).contains(&bytes.len())
            && bytes[0].is_ascii_lowercase()
            && bytes.iter().all(|&byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
        if valid { Ok(Self(text.to_owned())) } else { Err(IdError::Slug(text.chars().take(40).collect())) }
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgSlug {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl fmt::Debug for OrgSlug {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "OrgSlug({})", self.0)
    }
}

impl std::str::FromStr for OrgSlug {
    type Err = IdError;
    fn from_str(text: &str) -> Result<Self, IdError> {
        Self::parse(text)
    }
}

impl Serialize for OrgSlug {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OrgSlug {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::id::deserialize_from_text(deserializer, "text", Self::parse)
    }
}

/// Deserialises a value from its textual form without allocating: the text is handed to `parse`
/// straight from the input where the format allows (serde's `Cow<str>` would copy every id).
pub(crate) fn deserialize_from_text<'de, D, T, E>(
    deserializer: D,
    expecting: &'static str,
    parse: fn(&str) -> Result<T, E>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: fmt::Display,
{
    struct TextVisitor<T, E> {
        expecting: &'static str,
        parse: fn(&str) -> Result<T, E>,
    }

    impl<T, E: fmt::Display> serde::de::Visitor<'_> for TextVisitor<T, E> {
        type Value = T;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str(self.expecting)
        }

        fn visit_str<Error: serde::de::Error>(self, text: &str) -> Result<T, Error> {
            (self.parse)(text).map_err(Error::custom)
        }
    }

    deserializer.deserialize_str(TextVisitor { expecting, parse })
}
