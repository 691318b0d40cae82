//! The joint list: its entries, its canonical document and hash, and the public counts.
//!
//! The canonical list document is
//! `{"entries":[<entry>,...],"format":"coalition-ledger/list/v1","ledger":"<ledger id>"}` in
//! RFC 8785 canonical JSON (the protocol's integer profile), entries sorted by case id; its
//! hash is BLAKE3 of those UTF-8 bytes. docs/PROTOCOL.md §12 fixes every field.

use std::collections::BTreeMap;

use coalition_core::body::{Criterion, Digest, Facts, Region, ReleaseCircumstances, Sign};
use coalition_core::canonical::{CanonicalError, check_canonical, to_canonical_profile};
use coalition_core::event::{EventId, LedgerId, OrgSlug};
use coalition_core::time::Date;
use serde::Serialize;
use serde_json::{Value, json};

use crate::state::{Detention, Projection, Status};

/// The `format` field of the canonical list document.
pub const LIST_FORMAT: &str = "coalition-ledger/list/v1";

/// Why the list document could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// An entry is outside the canonical JSON profile (not expected: facts passed the body
    /// rules, which keep them inside it).
    #[error("entry of case {case} cannot be written as canonical JSON: {error}")]
    NotCanonical {
        /// The case.
        case: EventId,
        /// The canonicaliser's error.
        #[source]
        error: CanonicalError,
    },
}

/// One entry of the joint list, borrowing from the projection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListEntry<'a> {
    /// The case id.
    pub case: EventId,
    /// `listed`, `released` or `died`.
    pub status: Status,
    /// The date of the current status.
    pub status_date: Date,
    /// How the person was released, for status `released`.
    pub release_circumstances: Option<ReleaseCircumstances>,
    /// The criteria that stand, sorted.
    pub criteria: Vec<Criterion>,
    /// The signs noted by current members, sorted.
    pub signs: Vec<Sign>,
    /// The current members endorsing the listing, sorted by slug.
    pub endorsed_by: Vec<&'a OrgSlug>,
    /// The public facts.
    pub facts: &'a Facts,
}

impl ListEntry<'_> {
    /// The entry as a JSON value, in the shape of the canonical list document.
    pub fn to_json(&self) -> Value {
        let mut entry = json!({
            "case": self.case,
            "criteria": self.criteria,
            "endorsed_by": self.endorsed_by,
            "facts": self.facts,
            "signs": self.signs,
            "status": self.status.as_str(),
            "status_date": self.status_date,
        });
        if let (Some(circumstances), Value::Object(map)) = (self.release_circumstances, &mut entry) {
            map.insert("release_circumstances".to_owned(), Value::String(circumstances.as_str().to_owned()));
        }
        entry
    }

    /// The entry's canonical JSON text: the RFC 8785 form of [`Self::to_json`].
    ///
    /// Written directly with keys in canonical order (several times faster than building a JSON
    /// value and canonicalising it); the result is checked with coalition-core's
    /// `check_canonical`, and anything it refuses is written again by `to_canonical_profile`,
    /// so the text is canonical either way.
    pub fn to_canonical(&self) -> Result<String, ListError> {
        let direct = EntryText {
            case: self.case,
            criteria: &self.criteria,
            endorsed_by: &self.endorsed_by,
            facts: self.facts,
            release_circumstances: self.release_circumstances,
            signs: &self.signs,
            status: self.status.as_str(),
            status_date: self.status_date,
        };
        if let Ok(text) = serde_json::to_string(&direct)
            && check_canonical(text.as_bytes()).is_ok()
        {
            return Ok(text);
        }
        to_canonical_profile(&self.to_json()).map_err(|error| ListError::NotCanonical { case: self.case, error })
    }
}

/// An entry with its members declared in canonical (sorted) order.
#[derive(Serialize)]
struct EntryText<'a> {
    case: EventId,
    criteria: &'a [Criterion],
    endorsed_by: &'a [&'a OrgSlug],
    /// Serialises in canonical order: `Facts` declares its fields sorted (a test in coalition-core
    /// keeps it so).
    facts: &'a Facts,
    #[serde(skip_serializing_if = "Option::is_none")]
    release_circumstances: Option<ReleaseCircumstances>,
    signs: &'a [Sign],
    status: &'static str,
    status_date: Date,
}

/// The joint list in brief.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListSummary {
    /// How many entries.
    pub count: usize,
    /// BLAKE3 of the canonical list document.
    pub hash: Digest,
}

/// Public counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Counts {
    /// Entries of the joint list (statuses listed, released, died).
    pub in_list: usize,
    /// People detained now: status `listed`.
    pub detained_now: usize,
    /// Cases by status (every status present, zero included).
    pub by_status: BTreeMap<Status, usize>,
    /// People detained now, by region of detention (`None`: region not recorded).
    pub by_region: BTreeMap<Option<Region>, usize>,
    /// People detained now, by year of detention (`None`: date not recorded).
    pub by_detention_year: BTreeMap<Option<u16>, usize>,
}

impl Projection {
    /// The entries of the joint list, sorted by case id.
    pub fn list_entries(&self) -> impl Iterator<Item = ListEntry<'_>> {
        self.cases().filter(|case| case.status().is_in_list()).filter_map(|case| {
            Some(ListEntry {
                case: case.id(),
                status: case.status(),
                // Every case has a history from its opening on, so this is always present.
                status_date: case.status_date()?,
                release_circumstances: match case.detention() {
                    Detention::Released { circumstances, .. } if case.status() == Status::Released => {
                        Some(circumstances)
                    }
                    _ => None,
                },
                criteria: case.standing_criteria(),
                signs: case.standing_signs(),
                endorsed_by: case.counted_endorsements(),
                facts: case.facts(),
            })
        })
    }

    /// The canonical list document, as text.
    pub fn list_document(&self) -> Result<String, ListError> {
        let mut text = String::new();
        write_document(self, |part| text.push_str(part))?;
        Ok(text)
    }
}

/// Writes the canonical list document in parts. The document is one JSON object whose keys
/// sort as `entries`, `format`, `ledger`; each entry is written canonically on its own, which
/// gives the same bytes as canonicalising the whole document at once.
fn write_document(projection: &Projection, mut sink: impl FnMut(&str)) -> Result<usize, ListError> {
    let mut failed = None;
    let count = write_document_of(
        projection.ledger(),
        projection.list_entries().map_while(|entry| entry.to_canonical().map_err(|error| failed = Some(error)).ok()),
        &mut sink,
    );
    match failed {
        Some(error) => Err(error),
        None => Ok(count),
    }
}

/// Writes the canonical list document of `ledger` around entries already written canonically
/// (sorted by case id); returns how many there were.
fn write_document_of<S: AsRef<str>>(
    ledger: LedgerId,
    entries: impl IntoIterator<Item = S>,
    mut sink: impl FnMut(&str),
) -> usize {
    sink("{\"entries\":[");
    let mut count = 0;
    for entry in entries {
        if count > 0 {
            sink(",");
        }
        sink(entry.as_ref());
        count += 1;
    }
    sink("],\"format\":\"");
    sink(LIST_FORMAT);
    sink("\",\"ledger\":\"");
    sink(&ledger.to_string());
    sink("\"}");
    count
}

/// The BLAKE3 hash of the canonical list document of `ledger` whose entries, sorted by case id,
/// are `entries` in canonical JSON: the list hash, without writing the entries a second time.
pub(crate) fn hash_of_entries<S: AsRef<str>>(ledger: LedgerId, entries: impl IntoIterator<Item = S>) -> Digest {
    let mut hasher = PartsHasher::new();
    write_document_of(ledger, entries, |part| hasher.update(part));
    hasher.finalize()
}

pub(crate) fn summarise(projection: &Projection) -> Result<ListSummary, ListError> {
    let mut hasher = PartsHasher::new();
    let count = write_document(projection, |part| hasher.update(part))?;
    Ok(ListSummary { count, hash: hasher.finalize() })
}

/// Bytes gathered before they are handed to BLAKE3.
const HASH_BUFFER_BYTES: usize = 64 * 1024;

/// BLAKE3 over a document that comes in many small parts. BLAKE3 hashes many 1 KiB chunks side
/// by side (SIMD) only when it is given them at once; fed part by part, it hashes one 64-byte
/// block at a time, several times slower. The hash is the same either way.
struct PartsHasher {
    hasher: blake3::Hasher,
    buffer: Vec<u8>,
}

impl PartsHasher {
    fn new() -> Self {
        Self { hasher: blake3::Hasher::new(), buffer: Vec::with_capacity(HASH_BUFFER_BYTES) }
    }

    fn update(&mut self, part: &str) {
        self.buffer.extend_from_slice(part.as_bytes());
        if self.buffer.len() >= HASH_BUFFER_BYTES {
            self.hasher.update(&self.buffer);
            self.buffer.clear();
        }
    }

    fn finalize(mut self) -> Digest {
        self.hasher.update(&self.buffer);
        Digest::from_bytes(*self.hasher.finalize().as_bytes())
    }
}

pub(crate) fn count(projection: &Projection) -> Counts {
    let mut counts = Counts { by_status: Status::ALL.iter().map(|status| (*status, 0)).collect(), ..Counts::default() };
    for case in projection.cases() {
        let status = case.status();
        *counts.by_status.entry(status).or_default() += 1;
        if status.is_in_list() {
            counts.in_list += 1;
        }
        if status == Status::Listed {
            counts.detained_now += 1;
            *counts.by_region.entry(case.facts().region).or_default() += 1;
            let year = case.facts().detention_date.map(Date::year);
            *counts.by_detention_year.entry(year).or_default() += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use coalition_core::body::{Charge, ChargeCode, Gender, Regime, Sentence, Stage};

    use super::*;

    /// The direct writer must give canonical text by itself (the fallback is only a safety net).
    #[test]
    fn the_direct_writer_needs_no_fallback() {
        let facts = Facts {
            name_uk: Some("Сервер \"Приклад\"".into()),
            name_en: Some("Back\\slash / slash".into()),
            name_ru: Some("Сервер".into()),
            birth_year: Some(1980),
            birth_date: Date::new(1980, 2, 29),
            gender: Some(Gender::Male),
            citizenship: Some(vec!["RU".into(), "UA".into()]),
            region: Some(Region::Crimea),
            detention_date: Date::new(2019, 3, 27),
            detention_place: Some("Stroitelnoe 🇺🇦".into()),
            charges: Some(vec![Charge {
                code: ChargeCode::RuCriminalCode,
                article: "205.5".into(),
                part: Some("2".into()),
                note: Some("note".into()),
            }]),
            stage: Some(Stage::ServingSentence),
            sentence: Some(Sentence {
                years: Some(14),
                months: Some(6),
                life: Some(false),
                regime: Some(Regime::Strict),
                text_uk: Some("14 років".into()),
                text_en: Some("14 years".into()),
            }),
            place_of_detention: Some("SIZO-1".into()),
            case_group: Some("Group".into()),
            summary_uk: Some("Рядок.\nРядок.".into()),
            summary_en: Some("Line.\nLine\u{2028}é\u{7f}".into()),
            can_receive_letters: Some(true),
            postal_address: Some("Address".into()),
        };
        let org = OrgSlug::parse("alpha").expect("slug");
        let direct = EntryText {
            case: EventId::from_bytes([1; 32]),
            criteria: &[Criterion::A, Criterion::E],
            endorsed_by: &[&org],
            facts: &facts,
            release_circumstances: Some(ReleaseCircumstances::Pardon),
            signs: &[Sign::FreeSpeech],
            status: "released",
            status_date: Date::new(2026, 1, 5).expect("date"),
        };
        let text = serde_json::to_string(&direct).expect("serialise");
        assert_eq!(check_canonical(text.as_bytes()), Ok(()), "{text}");
    }
}
