//! The joint list: its entries, its canonical document and hash, and the public counts.
//!
//! The canonical list document is
//! `{"entries":[<entry>,...],"format":"coalition-ledger/list/v1","ledger":"<ledger id>"}` in
//! RFC 8785 canonical JSON (the protocol's integer profile), entries sorted by case id; its
//! hash is BLAKE3 of those UTF-8 bytes. docs/PROTOCOL.md §12 fixes every field.

use std::collections::BTreeMap;

use coalition_core::body::{Charge, Criterion, Digest, Facts, Region, ReleaseCircumstances, Sentence, Sign};
use coalition_core::canonical::{CanonicalError, check_canonical, to_canonical_profile};
use coalition_core::event::{EventId, OrgSlug};
use coalition_core::time::Date;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
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
            facts: SortedFacts(self.facts),
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
    facts: SortedFacts<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    release_circumstances: Option<ReleaseCircumstances>,
    signs: &'a [Sign],
    status: &'static str,
    status_date: Date,
}

/// Writes `key: value` if the value is present.
fn entry<M: SerializeMap, T: Serialize>(map: &mut M, key: &str, value: Option<&T>) -> Result<(), M::Error> {
    match value {
        Some(value) => map.serialize_entry(key, value),
        None => Ok(()),
    }
}

/// [`Facts`] with its fields in canonical (sorted) order.
struct SortedFacts<'a>(&'a Facts);

impl Serialize for SortedFacts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Destructured in full so that a field added to `Facts` cannot be forgotten here.
        let Facts {
            name_uk,
            name_en,
            name_ru,
            birth_year,
            birth_date,
            gender,
            citizenship,
            region,
            detention_date,
            detention_place,
            charges,
            stage,
            sentence,
            place_of_detention,
            case_group,
            summary_uk,
            summary_en,
            can_receive_letters,
            postal_address,
        } = self.0;
        let mut map = serializer.serialize_map(None)?;
        entry(&mut map, "birth_date", birth_date.as_ref())?;
        entry(&mut map, "birth_year", birth_year.as_ref())?;
        entry(&mut map, "can_receive_letters", can_receive_letters.as_ref())?;
        entry(&mut map, "case_group", case_group.as_ref())?;
        let charges: Option<Vec<SortedCharge<'_>>> =
            charges.as_ref().map(|list| list.iter().map(SortedCharge).collect());
        entry(&mut map, "charges", charges.as_ref())?;
        entry(&mut map, "citizenship", citizenship.as_ref())?;
        entry(&mut map, "detention_date", detention_date.as_ref())?;
        entry(&mut map, "detention_place", detention_place.as_ref())?;
        entry(&mut map, "gender", gender.as_ref())?;
        entry(&mut map, "name_en", name_en.as_ref())?;
        entry(&mut map, "name_ru", name_ru.as_ref())?;
        entry(&mut map, "name_uk", name_uk.as_ref())?;
        entry(&mut map, "place_of_detention", place_of_detention.as_ref())?;
        entry(&mut map, "postal_address", postal_address.as_ref())?;
        entry(&mut map, "region", region.as_ref())?;
        entry(&mut map, "sentence", sentence.as_ref().map(SortedSentence).as_ref())?;
        entry(&mut map, "stage", stage.as_ref())?;
        entry(&mut map, "summary_en", summary_en.as_ref())?;
        entry(&mut map, "summary_uk", summary_uk.as_ref())?;
        map.end()
    }
}

/// [`Charge`] with its fields in canonical order.
struct SortedCharge<'a>(&'a Charge);

impl Serialize for SortedCharge<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Charge { code, article, part, note } = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("article", article)?;
        map.serialize_entry("code", code)?;
        entry(&mut map, "note", note.as_ref())?;
        entry(&mut map, "part", part.as_ref())?;
        map.end()
    }
}

/// [`Sentence`] with its fields in canonical order.
struct SortedSentence<'a>(&'a Sentence);

impl Serialize for SortedSentence<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Sentence { years, months, life, regime, text_uk, text_en } = self.0;
        let mut map = serializer.serialize_map(None)?;
        entry(&mut map, "life", life.as_ref())?;
        entry(&mut map, "months", months.as_ref())?;
        entry(&mut map, "regime", regime.as_ref())?;
        entry(&mut map, "text_en", text_en.as_ref())?;
        entry(&mut map, "text_uk", text_uk.as_ref())?;
        entry(&mut map, "years", years.as_ref())?;
        map.end()
    }
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
    sink("{\"entries\":[");
    let mut count = 0;
    for entry in projection.list_entries() {
        if count > 0 {
            sink(",");
        }
        sink(&entry.to_canonical()?);
        count += 1;
    }
    sink("],\"format\":\"");
    sink(LIST_FORMAT);
    sink("\",\"ledger\":\"");
    sink(&projection.ledger().to_string());
    sink("\"}");
    Ok(count)
}

pub(crate) fn summarise(projection: &Projection) -> Result<ListSummary, ListError> {
    let mut hasher = blake3::Hasher::new();
    let count = write_document(projection, |part| {
        hasher.update(part.as_bytes());
    })?;
    Ok(ListSummary { count, hash: Digest::from_bytes(*hasher.finalize().as_bytes()) })
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
    use coalition_core::body::{Charge, ChargeCode, Gender, Regime, Stage};

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
            facts: SortedFacts(&facts),
            release_circumstances: Some(ReleaseCircumstances::Pardon),
            signs: &[Sign::FreeSpeech],
            status: "released",
            status_date: Date::new(2026, 1, 5).expect("date"),
        };
        let text = serde_json::to_string(&direct).expect("serialise");
        assert_eq!(check_canonical(text.as_bytes()), Ok(()), "{text}");
    }
}
