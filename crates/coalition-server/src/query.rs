//! The one query of the list, shared by the page `/` and the API (`/api/v1/list`, its CSV and
//! JSON downloads): the query string's parameters, read as text and checked here (a bad value is
//! a 400 naming it, never a 500), the filters they make, and the selection of entries they
//! give: filtered by status, region, year and case group, searched by name (tolerant of
//! transliteration, see [`crate::search`]), sorted and cut into pages of [`PAGE_ENTRIES`].

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use coalition_core::body::{Facts, Region};
use coalition_core::time::Date;
use coalition_projector::{ListEntry, Status};
use serde::Deserialize;

use crate::error::ApiError;
use crate::i18n::{self, Lang, Strings};
use crate::search;

/// People shown on one page of the list (the page and the API alike).
pub const PAGE_ENTRIES: usize = 50;

/// Longest query string the site reads, in bytes; a longer one is refused with 400.
pub(crate) const QUERY_BYTES_MAX: usize = 2048;

/// Highest page number accepted.
const PAGE_NUMBER_MAX: usize = 1_000_000;

/// The site's query parameters (every one optional, read as text and checked here, so a bad
/// value is a 400 that names it, never a 500).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SiteQuery {
    pub(crate) lang: Option<String>,
    pub(crate) q: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) year: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) sort: Option<String>,
    pub(crate) page: Option<String>,
}

/// A refused query string: answered with 400 and a plain-text message naming the problem.
pub(crate) struct BadQuery(pub(crate) String);

pub(crate) fn bad_query(message: impl Into<String>) -> BadQuery {
    BadQuery(message.into())
}

impl IntoResponse for BadQuery {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, [(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))], self.0)
            .into_response()
    }
}

/// Reads the query, refusing what is too long or malformed.
pub(crate) fn read_query(
    raw: Option<&str>,
    parsed: Result<Query<SiteQuery>, QueryRejection>,
) -> Result<SiteQuery, BadQuery> {
    if raw.is_some_and(|raw| raw.len() > QUERY_BYTES_MAX) {
        return Err(bad_query(format!("the query string is longer than {QUERY_BYTES_MAX} bytes")));
    }
    parsed.map(|Query(query)| query).map_err(|rejection| bad_query(rejection.body_text()))
}

pub(crate) fn display_name(lang: Lang, facts: &Facts) -> String {
    let (first, second) = match lang {
        Lang::Uk => (&facts.name_uk, &facts.name_en),
        Lang::En => (&facts.name_en, &facts.name_uk),
    };
    first.clone().or_else(|| second.clone()).or_else(|| facts.name_ru.clone()).unwrap_or_else(|| "—".to_owned())
}

/// How the list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortKey {
    Name,
    Detained,
    Region,
}

impl SortKey {
    pub(crate) const ALL: [Self; 3] = [Self::Name, Self::Detained, Self::Region];

    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Detained => "detained",
            Self::Region => "region",
        }
    }

    pub(crate) fn label(self, t: &Strings) -> &'static str {
        match self {
            Self::Name => t.sort_name,
            Self::Detained => t.sort_detained,
            Self::Region => t.sort_region,
        }
    }
}

/// The list's filters, checked.
pub(crate) struct Filters {
    pub(crate) words: Vec<String>,
    pub(crate) q: String,
    pub(crate) status: Option<Status>,
    pub(crate) region: Option<Region>,
    pub(crate) year: Option<u16>,
    pub(crate) group: Option<String>,
    pub(crate) sort: SortKey,
    pub(crate) page: usize,
}

fn blank(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|value| !value.is_empty())
}

/// Longest case group looked at, in characters (the protocol's own limit is lower).
const GROUP_CHARS_MAX: usize = 200;

pub(crate) fn filters(query: &SiteQuery) -> Result<Filters, BadQuery> {
    let q: String = query.q.as_deref().unwrap_or_default().chars().take(search::QUERY_CHARS_MAX).collect();
    let status = match blank(&query.status) {
        None => None,
        Some(text) => Some(
            Status::ALL
                .into_iter()
                .filter(|status| status.is_in_list())
                .find(|status| status.as_str() == text)
                .ok_or_else(|| bad_query("`status` is one of: listed, released, died"))?,
        ),
    };
    let region =
        match blank(&query.region) {
            None => None,
            Some(text) => Some(Region::parse(text).ok_or_else(|| {
                bad_query(format!("`region` is one of: {}", Region::ALL.map(Region::as_str).join(", ")))
            })?),
        };
    let year = match blank(&query.year) {
        None => None,
        Some(text) => Some(
            text.parse::<u16>()
                .ok()
                .filter(|year| (1900..=9999).contains(year))
                .ok_or_else(|| bad_query("`year` is a year of detention, like 2022"))?,
        ),
    };
    let sort = match blank(&query.sort) {
        None => SortKey::Name,
        Some(text) => SortKey::ALL
            .into_iter()
            .find(|key| key.as_str() == text)
            .ok_or_else(|| bad_query("`sort` is one of: name, detained, region"))?,
    };
    let page = match blank(&query.page) {
        None => 1,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|page| (1..=PAGE_NUMBER_MAX).contains(page))
            .ok_or_else(|| bad_query("`page` is a page number, from 1"))?,
    };
    Ok(Filters {
        words: search::query_words(&q),
        q,
        status,
        region,
        year,
        group: blank(&query.group).map(|group| group.chars().take(GROUP_CHARS_MAX).collect()),
        sort,
        page,
    })
}

impl Filters {
    /// The query pairs that reproduce these filters (without `lang` and `page`).
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("q", self.q.clone()),
            ("status", self.status.map(|status| status.as_str().to_owned()).unwrap_or_default()),
            ("region", self.region.map(|region| region.as_str().to_owned()).unwrap_or_default()),
            ("year", self.year.map(|year| year.to_string()).unwrap_or_default()),
            ("group", self.group.clone().unwrap_or_default()),
            ("sort", if self.sort == SortKey::Name { String::new() } else { self.sort.as_str().to_owned() }),
        ]
    }

    /// A key naming these filters, their page and `lang` exactly (for the response cache).
    pub(crate) fn key(&self, lang: Lang) -> String {
        let mut pairs = self.pairs();
        pairs.push(("page", self.page.to_string()));
        pairs.push(("lang", lang.code().to_owned()));
        crate::site::href("", &pairs)
    }

    fn keeps(&self, entry: &ListEntry<'_>) -> bool {
        let facts = entry.facts;
        self.status.is_none_or(|status| entry.status == status)
            && self.region.is_none_or(|region| facts.region == Some(region))
            && self.year.is_none_or(|year| facts.detention_date.map(Date::year) == Some(year))
            && self.group.as_ref().is_none_or(|group| facts.case_group.as_ref() == Some(group))
            && (self.words.is_empty() || {
                let names = [&facts.name_uk, &facts.name_en, &facts.name_ru]
                    .into_iter()
                    .flatten()
                    .map(|name| search::fold(name))
                    .collect::<Vec<_>>()
                    .join(" ");
                search::matches(&names, &self.words)
            })
    }
}

/// What every page handler reads first: the checked query string and the page language.
pub(crate) fn page_query(
    raw: axum::extract::RawQuery,
    query: Result<Query<SiteQuery>, QueryRejection>,
    headers: &HeaderMap,
) -> Result<(SiteQuery, Lang), BadQuery> {
    let query = read_query(raw.0.as_deref(), query)?;
    let lang = Lang::choose(query.lang.as_deref(), headers);
    Ok((query, lang))
}

impl BadQuery {
    /// The same refusal as a JSON API error.
    pub(crate) fn into_api_error(self) -> ApiError {
        ApiError::bad_request("invalid_query", self.0)
    }
}

/// The entries `filters` keep, sorted, with the page they ask for.
pub(crate) struct Selection<'a> {
    /// Every kept entry, in order.
    pub(crate) entries: Vec<ListEntry<'a>>,
    /// The page shown (the asked page, brought within `1..=pages`).
    pub(crate) page: usize,
    /// How many pages the kept entries fill (at least 1).
    pub(crate) pages: usize,
}

impl<'a> Selection<'a> {
    /// The entries of the shown page.
    pub(crate) fn page_entries(&self) -> &[ListEntry<'a>] {
        let start = ((self.page - 1) * PAGE_ENTRIES).min(self.entries.len());
        let end = (start + PAGE_ENTRIES).min(self.entries.len());
        &self.entries[start..end]
    }
}

/// Filters, searches and sorts `all` as `filters` say; names sort in `lang`'s display form.
pub(crate) fn select<'a>(all: impl Iterator<Item = ListEntry<'a>>, filters: &Filters, lang: Lang) -> Selection<'a> {
    let mut entries: Vec<ListEntry<'a>> = all.filter(|entry| filters.keeps(entry)).collect();
    let name_key = |entry: &ListEntry<'_>| search::fold(&display_name(lang, entry.facts));
    match filters.sort {
        SortKey::Name => entries.sort_by_cached_key(|entry| (name_key(entry), entry.case)),
        // Newest detention first; unknown dates last.
        SortKey::Detained => entries.sort_by_cached_key(|entry| {
            (entry.facts.detention_date.is_none(), std::cmp::Reverse(entry.facts.detention_date), name_key(entry))
        }),
        SortKey::Region => entries.sort_by_cached_key(|entry| {
            (entry.facts.region.is_none(), entry.facts.region.map(|region| i18n::region(lang, region)), name_key(entry))
        }),
    }
    let pages = entries.len().div_ceil(PAGE_ENTRIES).max(1);
    let page = filters.page.min(pages);
    Selection { entries, page, pages }
}
