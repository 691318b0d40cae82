//! The public site: server-rendered HTML pages in Ukrainian and English, with no script.
//!
//! `/` (the list, searched, filtered, sorted and paged by a GET form), `/persons/{case}` (one
//! person), `/stats` (counts and a bar chart drawn as SVG), `/about` (the coalition). Every value
//! is escaped by askama (see [`crate::public`] on why askama). Pages derived from the projection
//! carry an ETag naming the node's version and the language, and `Vary: Accept-Language`.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use coalition_core::body::{Body, Criterion, EventKind, ExclusionGround, Facts, Region, Sentence, Sign};
use coalition_core::event::{EventId, OrgSlug};
use coalition_core::time::{Date, Timestamp};
use coalition_projector::{ListEntry, Projection, Status};

use crate::AppState;
use crate::error::ApiError;
use crate::i18n::{self, Lang, Strings};
use crate::member::blocking;
use crate::public::Cached;
use crate::query::{Filters, SiteQuery, SortKey, display_name, filters, page_query, select};

// --- the events of each case, cached per node version -----------------------------------------

/// What one event did to a case, for the signed history.
#[derive(Debug, Clone)]
pub(crate) struct CaseEvent {
    pub(crate) id: EventId,
    pub(crate) org: OrgSlug,
    pub(crate) seq: u64,
    pub(crate) time: Timestamp,
    pub(crate) kind: EventKind,
    detail: Detail,
}

/// The part of an event's body worth a word in the history.
#[derive(Debug, Clone, Copy)]
enum Detail {
    None,
    Criterion(Criterion),
    Sign(Sign),
    Date(Date),
    Ground(ExclusionGround),
}

/// The signed history of one case, read from the node's per-case index (a few reads, never a
/// scan of the store). Blocking.
pub(crate) fn case_events(state: &AppState, case: &EventId) -> Result<Vec<CaseEvent>, ApiError> {
    let unavailable = |error: coalition_node::NodeError| {
        tracing::error!(%error, "cannot read the events for the site");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", "the node could not read its store")
    };
    let mut events = Vec::new();
    for id in state.node.case_event_ids(case) {
        let Some(signed) = state.node.event(&id).map_err(unavailable)? else { continue };
        let event = signed.event();
        let detail = match &event.body {
            Body::CriterionAsserted(body) => Detail::Criterion(body.criterion),
            Body::CriterionWithdrawn(body) => Detail::Criterion(body.criterion),
            Body::SignNoted(body) => Detail::Sign(body.sign),
            Body::ExclusionRaised(body) => Detail::Ground(body.ground),
            Body::PersonReleased(body) => Detail::Date(body.date),
            Body::PersonDetained(body) => Detail::Date(body.date),
            Body::PersonDied(body) => Detail::Date(body.date),
            _ => Detail::None,
        };
        events.push(CaseEvent {
            id,
            org: event.org.clone(),
            seq: event.seq,
            time: event.time,
            kind: event.kind(),
            detail,
        });
    }
    events.sort_by(|left, right| (left.time, &left.org, left.seq).cmp(&(right.time, &right.org, right.seq)));
    Ok(events)
}

// --- what every page shares ------------------------------------------------------------------

/// The frame of every page: language, strings, banner, navigation and the language switch.
pub(crate) struct Chrome {
    pub(crate) lang: &'static str,
    pub(crate) t: &'static Strings,
    pub(crate) demo: bool,
    pub(crate) coalition: String,
    pub(crate) ledger: String,
    pub(crate) switch_href: String,
    pub(crate) switch_lang: &'static str,
}

impl Chrome {
    /// The frame for `lang`, whose switch link goes to `path` with `query` (already encoded
    /// pairs, without `lang`) in the other language.
    pub(crate) fn new(state: &AppState, lang: Lang, path: &str, query: &[(&str, String)]) -> Self {
        let other = lang.other();
        let mut pairs: Vec<(&str, String)> = query.to_vec();
        pairs.push(("lang", other.code().to_owned()));
        Self {
            lang: lang.code(),
            t: lang.strings(),
            demo: state.node.is_demo(),
            coalition: state.node.genesis().doc().name.clone(),
            ledger: state.node.genesis().ledger_id().to_string(),
            switch_href: href(path, &pairs),
            switch_lang: other.code(),
        }
    }
}

/// `path?k=v&...` with every value percent-encoded.
pub(crate) fn href(path: &str, pairs: &[(&str, String)]) -> String {
    let mut out = path.to_owned();
    for (index, (key, value)) in pairs.iter().filter(|(_, value)| !value.is_empty()).enumerate() {
        out.push(if index == 0 { '?' } else { '&' });
        out.push_str(key);
        out.push('=');
        for byte in value.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

/// The content type of every page.
const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";

fn render(page: &impl Template) -> Result<String, ApiError> {
    page.render().map_err(|error| {
        tracing::error!(%error, "cannot render a page");
        ApiError::internal()
    })
}

/// Says that the page depends on `Accept-Language` (the language comes from it without `lang`).
fn vary_language(mut response: Response) -> Response {
    response.headers_mut().insert(VARY, HeaderValue::from_static("Accept-Language"));
    response
}

/// Renders `page` as an HTML response with the language's caching headers.
pub(crate) fn html(page: &impl Template, status: StatusCode, cached: Option<Cached>) -> Result<Response, ApiError> {
    let body = render(page)?;
    let response =
        vary_language((status, [(CONTENT_TYPE, HeaderValue::from_static(HTML_CONTENT_TYPE))], body).into_response());
    Ok(match cached {
        Some(cached) => cached.finish(response),
        None => response,
    })
}

fn internal<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> ApiError {
    move |error| {
        tracing::error!(%error, "{what}");
        ApiError::internal()
    }
}

// --- labels shared by the pages ---------------------------------------------------------------

fn sentence_text(lang: Lang, sentence: &Sentence) -> String {
    let worded = match lang {
        Lang::Uk => sentence.text_uk.as_ref().or(sentence.text_en.as_ref()),
        Lang::En => sentence.text_en.as_ref().or(sentence.text_uk.as_ref()),
    };
    let t = lang.strings();
    let mut parts = Vec::new();
    if sentence.life == Some(true) {
        parts.push(t.life.to_owned());
    } else {
        let mut term = Vec::new();
        if let Some(years) = sentence.years.filter(|years| *years > 0) {
            term.push(format!("{years} {}", t.years));
        }
        if let Some(months) = sentence.months.filter(|months| *months > 0) {
            term.push(format!("{months} {}", t.months));
        }
        if !term.is_empty() {
            parts.push(term.join(" "));
        }
    }
    if let Some(regime) = sentence.regime {
        parts.push(i18n::regime(lang, regime).to_owned());
    }
    let mut text = parts.join(", ");
    if let Some(worded) = worded {
        text = if text.is_empty() { worded.clone() } else { format!("{text} ({worded})") };
    }
    text
}

fn charges_text(lang: Lang, facts: &Facts) -> Vec<String> {
    facts
        .charges
        .iter()
        .flatten()
        .map(|charge| {
            let mut text = format!("{} {}", i18n::charge_code(lang, charge.code), charge.article);
            if let Some(part) = &charge.part {
                text.push_str(&format!(
                    " {} {part}",
                    match lang {
                        Lang::Uk => "ч.",
                        Lang::En => "part",
                    }
                ));
            }
            if let Some(note) = &charge.note {
                text.push_str(&format!(" ({note})"));
            }
            text
        })
        .collect()
}

fn status_text(lang: Lang, entry: &ListEntry<'_>) -> String {
    let label = i18n::status(lang, entry.status);
    match (entry.status, entry.release_circumstances) {
        (Status::Listed, _) => label.to_owned(),
        (Status::Released, Some(circumstances)) => {
            format!("{label} {} ({})", entry.status_date, i18n::release(lang, circumstances))
        }
        _ => format!("{label} {}", entry.status_date),
    }
}

// --- the list ---------------------------------------------------------------------------------

/// One row of the list. Every field is plain text; the template escapes it.
struct Row {
    href: String,
    initial: String,
    name: String,
    other_name: Option<String>,
    region: &'static str,
    detention_date: String,
    charges: String,
    sentence: String,
    status: String,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct Form {
    q: String,
    statuses: Vec<Choice>,
    regions: Vec<Choice>,
    years: Vec<Choice>,
    groups: Vec<Choice>,
    sorts: Vec<Choice>,
}

struct PageLink {
    number: usize,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    c: Chrome,
    headline: String,
    in_list: usize,
    detained_now: usize,
    released: usize,
    died: usize,
    as_of: String,
    edition: Option<String>,
    form: Form,
    found: String,
    rows: Vec<Row>,
    pages: Vec<PageLink>,
    previous: Option<String>,
    next: Option<String>,
    hash: String,
}

pub(crate) async fn index(
    State(state): State<AppState>,
    raw: axum::extract::RawQuery,
    query: Result<Query<SiteQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (query, lang) = match page_query(raw, query, &headers) {
        Ok(read) => read,
        Err(refused) => return Ok(refused.into_response()),
    };
    let filters = match filters(&query) {
        Ok(filters) => filters,
        Err(refused) => return Ok(refused.into_response()),
    };
    let cached = Cached::for_lang(&state, lang);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let key = format!("index?{}", filters.key(lang));
    let cached = match cached.hit(&state, &key) {
        Ok(response) => return Ok(vary_language(response)),
        Err(cached) => cached,
    };
    let worker = state.clone();
    let page = blocking(move || {
        let newest = worker.node.newest_event_time();
        let chrome = Chrome::new(&worker, lang, "/", &filters.pairs());
        worker.node.with_projection(|projection| index_data(projection, chrome, lang, &filters, newest))
    })
    .await??;
    Ok(vary_language(cached.keep(&state, key, HTML_CONTENT_TYPE, render(&page)?.into())))
}

fn index_data(
    projection: &Projection,
    c: Chrome,
    lang: Lang,
    filters: &Filters,
    newest: Option<Timestamp>,
) -> Result<IndexPage, ApiError> {
    let summary = projection.list_summary().map_err(internal("cannot summarise the list"))?;
    let counts = projection.counts();
    let count_of = |status| counts.by_status.get(&status).copied().unwrap_or(0);
    let all: Vec<ListEntry<'_>> = projection.list_entries().collect();
    let mut years = BTreeSet::new();
    let mut groups = BTreeSet::new();
    for entry in &all {
        years.extend(entry.facts.detention_date.map(Date::year));
        groups.extend(entry.facts.case_group.clone());
    }
    let selection = select(all.iter().cloned(), filters, lang);
    let found = selection.entries.len();
    let (page, page_count) = (selection.page, selection.pages);
    let t = lang.strings();
    let rows = selection
        .page_entries()
        .iter()
        .map(|entry| {
            let facts = entry.facts;
            let name = display_name(lang, facts);
            let other = match lang {
                Lang::Uk => facts.name_en.clone(),
                Lang::En => facts.name_uk.clone(),
            }
            .filter(|other| *other != name);
            Row {
                href: format!("/persons/{}?lang={}", entry.case, lang.code()),
                initial: name.chars().next().map(String::from).unwrap_or_default(),
                name,
                other_name: other,
                region: facts.region.map_or(t.not_recorded, |region| i18n::region(lang, region)),
                detention_date: facts.detention_date.map_or_else(|| t.not_recorded.to_owned(), |date| date.to_string()),
                charges: charges_text(lang, facts).join("; "),
                sentence: facts.sentence.as_ref().map(|sentence| sentence_text(lang, sentence)).unwrap_or_default(),
                status: status_text(lang, entry),
            }
        })
        .collect();
    let mut base = filters.pairs();
    base.push(("lang", lang.code().to_owned()));
    let page_href = |number: usize| {
        let mut pairs = base.clone();
        pairs.push(("page", if number == 1 { String::new() } else { number.to_string() }));
        href("/", &pairs)
    };
    let pages =
        (1..=page_count).map(|number| PageLink { number, href: page_href(number), current: number == page }).collect();
    let choice = |value: String, label: String, selected: bool| Choice { value, label, selected };
    let form = Form {
        q: filters.q.clone(),
        statuses: [Status::Listed, Status::Released, Status::Died]
            .into_iter()
            .map(|status| {
                choice(
                    status.as_str().to_owned(),
                    i18n::status(lang, status).to_owned(),
                    filters.status == Some(status),
                )
            })
            .collect(),
        regions: Region::ALL
            .into_iter()
            .map(|region| {
                choice(
                    region.as_str().to_owned(),
                    i18n::region(lang, region).to_owned(),
                    filters.region == Some(region),
                )
            })
            .collect(),
        years: years
            .into_iter()
            .map(|year| choice(year.to_string(), year.to_string(), filters.year == Some(year)))
            .collect(),
        groups: groups
            .into_iter()
            .map(|group| {
                let selected = filters.group.as_ref() == Some(&group);
                choice(group.clone(), group, selected)
            })
            .collect(),
        sorts: SortKey::ALL
            .into_iter()
            .map(|key| choice(key.as_str().to_owned(), key.label(t).to_owned(), filters.sort == key))
            .collect(),
    };
    let edition = projection
        .editions()
        .filter(|edition| edition.official_by.is_some())
        .max_by(|left, right| left.label.cmp(&right.label))
        .map(|edition| edition.label.clone());
    Ok(IndexPage {
        c,
        headline: i18n::headline(lang, counts.detained_now as u64),
        in_list: counts.in_list,
        detained_now: counts.detained_now,
        released: count_of(Status::Released),
        died: count_of(Status::Died),
        as_of: newest.map_or_else(|| t.not_recorded.to_owned(), |time| time.to_string()),
        edition,
        form,
        found: i18n::persons(lang, found as u64),
        rows,
        previous: (page > 1).then(|| page_href(page - 1)),
        next: (page < page_count).then(|| page_href(page + 1)),
        pages,
        hash: summary.hash.to_string(),
    })
}

// --- one person -------------------------------------------------------------------------------

struct EventRow {
    time: String,
    member: String,
    action: String,
    id: String,
    href: String,
}

/// A criterion that stands, what it means, and who asserts it with what reasoning.
struct CriterionFound {
    letter: &'static str,
    meaning: &'static str,
    /// (member name, reasoning in the page language if given).
    asserted_by: Vec<(String, Option<String>)>,
}

struct Person {
    title: String,
    status: String,
    name_uk: Option<String>,
    name_en: Option<String>,
    name_ru: Option<String>,
    facts: Vec<(&'static str, String)>,
    charges: Vec<String>,
    summary: Option<Vec<String>>,
    criteria: Vec<CriterionFound>,
    signs: Vec<&'static str>,
    postal_address: Option<String>,
    history: Vec<(&'static str, String)>,
    events: Vec<EventRow>,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    c: Chrome,
    p: Person,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    c: Chrome,
}

pub(crate) async fn person(
    State(state): State<AppState>,
    Path(case): Path<String>,
    raw: axum::extract::RawQuery,
    query: Result<Query<SiteQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, lang) = match page_query(raw, query, &headers) {
        Ok(read) => read,
        Err(refused) => return Ok(refused.into_response()),
    };
    let Ok(case) = EventId::parse(&case) else {
        return not_found_page(&state, lang, "/");
    };
    let cached = Cached::for_lang(&state, lang);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let key = format!("person/{case}?{}", lang.code());
    let cached = match cached.hit(&state, &key) {
        Ok(response) => return Ok(vary_language(response)),
        Err(cached) => cached,
    };
    let worker = state.clone();
    let person = blocking(move || {
        let events = case_events(&worker, &case)?;
        Ok::<_, ApiError>(worker.node.with_projection(|projection| person_data(projection, case, lang, &events)))
    })
    .await??;
    let path = format!("/persons/{case}");
    match person {
        Some(p) => {
            let body = render(&PersonPage { c: Chrome::new(&state, lang, &path, &[]), p })?;
            Ok(vary_language(cached.keep(&state, key, HTML_CONTENT_TYPE, body.into())))
        }
        None => not_found_page(&state, lang, &path),
    }
}

pub(crate) fn not_found_page(state: &AppState, lang: Lang, path: &str) -> Result<Response, ApiError> {
    html(&NotFoundPage { c: Chrome::new(state, lang, path, &[]) }, StatusCode::NOT_FOUND, None)
}

/// Everything public about the person of `case`, if the case is in the joint list.
fn person_data(projection: &Projection, case: EventId, lang: Lang, events: &[CaseEvent]) -> Option<Person> {
    let view = projection.case(&case)?;
    let entry = projection.list_entries().find(|entry| entry.case == case)?;
    let t = lang.strings();
    let facts = view.facts();
    let mut rows: Vec<(&'static str, String)> = Vec::new();
    if let Some(region) = facts.region {
        rows.push((t.col_region, i18n::region(lang, region).to_owned()));
    }
    if let Some(date) = facts.detention_date {
        rows.push((t.col_detained, date.to_string()));
    }
    if let Some(place) = &facts.detention_place {
        rows.push((t.detention_place, place.clone()));
    }
    if let Some(stage) = facts.stage {
        rows.push((t.stage, i18n::stage(lang, stage).to_owned()));
    }
    if let Some(sentence) = &facts.sentence {
        rows.push((t.col_sentence, sentence_text(lang, sentence)));
    }
    if let Some(place) = &facts.place_of_detention {
        rows.push((t.place_of_detention, place.clone()));
    }
    if let Some(group) = &facts.case_group {
        rows.push((t.case_group, group.clone()));
    }
    let summary = match lang {
        Lang::Uk => facts.summary_uk.as_ref().or(facts.summary_en.as_ref()),
        Lang::En => facts.summary_en.as_ref().or(facts.summary_uk.as_ref()),
    }
    .map(|text| paragraphs(text));
    let members: BTreeMap<&OrgSlug, &str> =
        projection.members().map(|member| (&member.slug, member.name.as_str())).collect();
    let claims = view.claims();
    let event_rows = events
        .iter()
        .map(|event| {
            let detail = match event.detail {
                Detail::None => String::new(),
                Detail::Criterion(criterion) => format!(" ({})", criterion.as_str()),
                Detail::Sign(sign) => format!(" ({})", i18n::sign(lang, sign)),
                Detail::Date(date) => format!(" ({date})"),
                Detail::Ground(ground) => format!(" ({})", ground.as_str().replace('_', " ")),
            };
            EventRow {
                time: event.time.to_string(),
                member: members.get(&event.org).map_or_else(|| event.org.to_string(), |name| (*name).to_owned()),
                action: format!("{}{detail}", i18n::event_kind(lang, event.kind)),
                id: event.id.to_string(),
                href: format!("/api/v1/feeds/{}?from={}", event.org, event.seq),
            }
        })
        .collect();
    Some(Person {
        title: display_name(lang, facts),
        status: status_text(lang, &entry),
        name_uk: facts.name_uk.clone(),
        name_en: facts.name_en.clone(),
        name_ru: facts.name_ru.clone(),
        facts: rows,
        charges: charges_text(lang, facts),
        summary,
        criteria: entry
            .criteria
            .iter()
            .map(|criterion| CriterionFound {
                letter: criterion.as_str(),
                meaning: i18n::criterion(lang, *criterion),
                asserted_by: claims
                    .iter()
                    .filter(|claim| claim.counts && claim.criterion == *criterion)
                    .map(|claim| {
                        let name =
                            members.get(claim.org).map_or_else(|| claim.org.to_string(), |name| (*name).to_owned());
                        let reasoning = claim.reasoning.and_then(|reasoning| match lang {
                            Lang::Uk => reasoning.uk.clone().or_else(|| reasoning.en.clone()),
                            Lang::En => reasoning.en.clone().or_else(|| reasoning.uk.clone()),
                        });
                        (name, reasoning)
                    })
                    .collect(),
            })
            .collect(),
        signs: entry.signs.iter().map(|sign| i18n::sign(lang, *sign)).collect(),
        postal_address: facts.postal_address.clone().filter(|_| facts.can_receive_letters == Some(true)),
        history: view
            .history()
            .iter()
            .map(|change| (i18n::status(lang, change.status), change.date.to_string()))
            .collect(),
        events: event_rows,
    })
}

/// `text` cut into paragraphs at blank lines (each escaped by the template).
pub(crate) fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|paragraph| paragraph.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|paragraph| !paragraph.is_empty())
        .collect()
}

// --- statistics -------------------------------------------------------------------------------

/// One bar of the chart, in SVG user units.
struct Bar {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    middle: u32,
    value_y: u32,
    label: String,
    value: usize,
}

/// A bar chart drawn on the server as SVG attributes (no style attribute, no script).
struct Chart {
    width: u32,
    height: u32,
    left: u32,
    base: u32,
    label_y: u32,
    bars: Vec<Bar>,
}

/// Height of the chart's drawing area, in SVG units.
const CHART_BARS_HEIGHT: u32 = 200;
/// Width given to each bar with its gap, in SVG units.
const CHART_BAR_STEP: u32 = 48;

fn bar_chart(values: &[(String, usize)]) -> Chart {
    let (left, top) = (8, 20);
    let base = top + CHART_BARS_HEIGHT;
    let most = values.iter().map(|(_, value)| *value).max().unwrap_or(0).max(1);
    let bars = values
        .iter()
        .enumerate()
        .map(|(index, (label, value))| {
            let height = (*value as u64 * u64::from(CHART_BARS_HEIGHT) / most as u64) as u32;
            let x = left + index as u32 * CHART_BAR_STEP + 6;
            let width = CHART_BAR_STEP - 12;
            Bar {
                x,
                y: base - height,
                width,
                height,
                middle: x + width / 2,
                value_y: (base - height).saturating_sub(4),
                label: label.clone(),
                value: *value,
            }
        })
        .collect();
    Chart {
        width: left + (values.len().max(1) as u32) * CHART_BAR_STEP + 8,
        height: base + 24,
        left,
        base,
        label_y: base + 18,
        bars,
    }
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    c: Chrome,
    chart: Chart,
    by_region: Vec<(String, usize)>,
    by_status: Vec<(&'static str, usize)>,
    by_year: Vec<(String, usize)>,
}

pub(crate) async fn stats(
    State(state): State<AppState>,
    raw: axum::extract::RawQuery,
    query: Result<Query<SiteQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, lang) = match page_query(raw, query, &headers) {
        Ok(read) => read,
        Err(refused) => return Ok(refused.into_response()),
    };
    let cached = Cached::for_lang(&state, lang);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let worker = state.clone();
    let page = blocking(move || {
        let c = Chrome::new(&worker, lang, "/stats", &[]);
        worker.node.with_projection(|projection| stats_data(projection, c, lang))
    })
    .await?;
    html(&page, StatusCode::OK, Some(cached))
}

fn stats_data(projection: &Projection, c: Chrome, lang: Lang) -> StatsPage {
    let counts = projection.counts();
    let t = lang.strings();
    let by_region = counts
        .by_region
        .iter()
        .map(|(region, count)| (region.map_or(t.not_recorded, |region| i18n::region(lang, region)).to_owned(), *count))
        .collect();
    let by_status = counts.by_status.iter().map(|(status, count)| (i18n::status(lang, *status), *count)).collect();
    let by_year: Vec<(String, usize)> = counts
        .by_detention_year
        .iter()
        .map(|(year, count)| (year.map_or_else(|| t.not_recorded.to_owned(), |year| year.to_string()), *count))
        .collect();
    StatsPage { c, chart: bar_chart(&by_year), by_region, by_status, by_year }
}

// --- about ------------------------------------------------------------------------------------

/// The coalition's own words about itself, one file per language, shipped in the crate and
/// shown as escaped text: a paragraph starting with `# ` is a heading, every other one a
/// paragraph; no HTML or other markup from the file is ever interpreted.
const ABOUT_UK: &str = include_str!("../content/about.uk.md");
const ABOUT_EN: &str = include_str!("../content/about.en.md");

struct TextBlock {
    heading: bool,
    text: String,
}

struct CriterionText {
    letter: &'static str,
    uk: &'static str,
    en: &'static str,
}

#[derive(Template)]
#[template(path = "about.html")]
struct AboutPage {
    c: Chrome,
    text: Vec<TextBlock>,
    members: Vec<(String, String)>,
    criteria: Vec<CriterionText>,
}

/// The blocks of a content file (see [`ABOUT_UK`]).
fn content_blocks(text: &str) -> Vec<TextBlock> {
    paragraphs(text)
        .into_iter()
        .map(|paragraph| match paragraph.strip_prefix("# ") {
            Some(heading) => TextBlock { heading: true, text: heading.to_owned() },
            None => TextBlock { heading: false, text: paragraph },
        })
        .collect()
}

pub(crate) async fn about(
    State(state): State<AppState>,
    raw: axum::extract::RawQuery,
    query: Result<Query<SiteQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, lang) = match page_query(raw, query, &headers) {
        Ok(read) => read,
        Err(refused) => return Ok(refused.into_response()),
    };
    let text = content_blocks(match lang {
        Lang::Uk => ABOUT_UK,
        Lang::En => ABOUT_EN,
    });
    let members = state
        .node
        .genesis()
        .doc()
        .members
        .iter()
        .map(|member| (member.name.clone(), member.slug.to_string()))
        .collect();
    let criteria = Criterion::ALL
        .into_iter()
        .map(|criterion| CriterionText {
            letter: criterion.as_str(),
            uk: i18n::criterion(Lang::Uk, criterion),
            en: i18n::criterion(Lang::En, criterion),
        })
        .collect();
    let page = AboutPage { c: Chrome::new(&state, lang, "/about", &[]), text, members, criteria };
    html(&page, StatusCode::OK, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_files_become_headings_and_paragraphs_never_markup() {
        let blocks = content_blocks("# Title\n\nOne\nline <b>bold</b>\n\n\n\n## not a heading");
        let shape: Vec<(bool, &str)> = blocks.iter().map(|block| (block.heading, block.text.as_str())).collect();
        assert_eq!(shape, [(true, "Title"), (false, "One line <b>bold</b>"), (false, "## not a heading")]);
        for text in [ABOUT_UK, ABOUT_EN] {
            let blocks = content_blocks(text);
            assert!(blocks.first().is_some_and(|block| block.heading), "each file starts with a heading");
            assert!(blocks.iter().all(|block| !block.text.contains('<')), "no markup in the shipped text");
        }
    }

    #[test]
    fn hrefs_encode_every_value() {
        let pairs = [("q", "a&b=c <\"x\">".to_owned()), ("empty", String::new()), ("lang", "uk".to_owned())];
        assert_eq!(href("/", &pairs), "/?q=a%26b%3Dc%20%3C%22x%22%3E&lang=uk");
    }

    #[test]
    fn the_chart_scales_to_the_largest_count() {
        let chart = bar_chart(&[("2019".to_owned(), 1), ("2022".to_owned(), 4)]);
        assert_eq!(chart.bars[1].height, CHART_BARS_HEIGHT);
        assert_eq!(chart.bars[0].height, CHART_BARS_HEIGHT / 4);
        assert_eq!(bar_chart(&[]).bars.len(), 0);
    }
}
