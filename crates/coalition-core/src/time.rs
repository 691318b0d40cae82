//! Calendar dates and timestamps in the one textual form the protocol allows.
//!
//! A timestamp is RFC 3339 in UTC with whole seconds, exactly `YYYY-MM-DDTHH:MM:SSZ`; a date is
//! `YYYY-MM-DD`. With a single fixed-width form, comparing the strings compares the instants, and
//! an event has one byte form. Parsing is hand-written because the rule is narrower than any
//! general date library's.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a date or timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// The text is not in the fixed form.
    #[error("expected the form {expected}, found {found:?}")]
    Form {
        /// The form that was expected.
        expected: &'static str,
        /// What was found (cut to a short prefix).
        found: String,
    },
    /// The fields are in range one by one but do not name a real day or time.
    #[error("{0:?} is not a real calendar date or time of day")]
    OutOfRange(String),
}

/// A calendar date, `YYYY-MM-DD`, years 1900 to 2999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// An instant in UTC with whole seconds, written `YYYY-MM-DDTHH:MM:SSZ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
}

const DATE_FORM: &str = "YYYY-MM-DD";
const TIMESTAMP_FORM: &str = "YYYY-MM-DDTHH:MM:SSZ";
const YEAR_MIN: u16 = 1900;
const YEAR_MAX: u16 = 2999;

fn digits(bytes: &[u8]) -> Option<u16> {
    let mut value: u16 = 0;
    for &byte in bytes {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u16::from(byte - b'0');
    }
    Some(value)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        _ => 28,
    }
}

fn form_error(expected: &'static str, text: &str) -> TimeError {
    TimeError::Form { expected, found: text.chars().take(32).collect() }
}

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(form_error(DATE_FORM, text));
        }
        let (Some(year), Some(month), Some(day)) = (digits(&bytes[0..4]), digits(&bytes[5..7]), digits(&bytes[8..10]))
        else {
            return Err(form_error(DATE_FORM, text));
        };
        Self::new(year, month as u8, day as u8).ok_or_else(|| TimeError::OutOfRange(text.to_owned()))
    }

    /// A date from its parts, if it is a real day between 1900 and 2999.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        let valid = (YEAR_MIN..=YEAR_MAX).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(Self { year, month, day })
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1 to 31.
    pub fn day(self) -> u8 {
        self.day
    }
}

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let bytes = text.as_bytes();
        if bytes.len() != 20 || bytes[10] != b'T' || bytes[13] != b':' || bytes[16] != b':' || bytes[19] != b'Z' {
            return Err(form_error(TIMESTAMP_FORM, text));
        }
        let date = Date::parse(&text[..10]).map_err(|error| match error {
            TimeError::Form { .. } => form_error(TIMESTAMP_FORM, text),
            other => other,
        })?;
        let (Some(hour), Some(minute), Some(second)) =
            (digits(&bytes[11..13]), digits(&bytes[14..16]), digits(&bytes[17..19]))
        else {
            return Err(form_error(TIMESTAMP_FORM, text));
        };
        if hour > 23 || minute > 59 || second > 59 {
            return Err(TimeError::OutOfRange(text.to_owned()));
        }
        Ok(Self { date, hour: hour as u8, minute: minute as u8, second: second as u8 })
    }

    /// The calendar date of this instant (UTC).
    pub fn date(self) -> Date {
        self.date
    }

    /// Seconds since 1970-01-01T00:00:00Z (negative before it).
    pub fn unix_seconds(self) -> i64 {
        // Days from civil, after Howard Hinnant's algorithm.
        let year = i64::from(self.date.year) - i64::from(self.date.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(self.date.month);
        let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.date.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        let days = era * 146_097 + day_of_era - 719_468;
        days * 86_400 + i64::from(self.hour) * 3_600 + i64::from(self.minute) * 60 + i64::from(self.second)
    }

    /// The instant `seconds` after 1970-01-01T00:00:00Z, if it falls in the years 1900 to 2999.
    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        let days = seconds.div_euclid(86_400);
        let second_of_day = seconds.rem_euclid(86_400);
        // Civil from days, after Howard Hinnant's algorithm.
        let shifted = days + 719_468;
        let era = shifted.div_euclid(146_097);
        let day_of_era = shifted - era * 146_097;
        let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_index + 2) / 5 + 1;
        let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        let date = Date::new(u16::try_from(year).ok()?, month as u8, day as u8)?;
        Some(Self {
            date,
            hour: (second_of_day / 3_600) as u8,
            minute: (second_of_day / 60 % 60) as u8,
            second: (second_of_day % 60) as u8,
        })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}T{:02}:{:02}:{:02}Z", self.date, self.hour, self.minute, self.second)
    }
}

macro_rules! serde_via_text {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::id::deserialize_from_text(deserializer, "text", Self::parse)
            }
        }

        impl std::str::FromStr for $type {
            type Err = TimeError;
            fn from_str(text: &str) -> Result<Self, TimeError> {
                Self::parse(text)
            }
        }
    };
}

serde_via_text!(Date);
serde_via_text!(Timestamp);
