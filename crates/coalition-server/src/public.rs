//! The public side of a node, without authentication: the routes of the HTML site (whose
//! handlers are in [`crate::site`]), the list as JSON and as its canonical document, the signed
//! notes of every feed, the OpenAPI document, the health check and the stylesheet. Projection-derived responses carry an ETag from [`coalition_node::Node::version`]
//! and answer `If-None-Match` with 304.
//!
//! **Why askama.** The pages show names that members typed into signed events, so every field
//! must be HTML-escaped, always. askama escapes every `{{ }}` expression in an `.html` template
//! unless the template explicitly says `|safe` (this crate never does), checks the template
//! against the Rust types at compile time (a renamed field is a build error, not a blank cell at
//! run time), and keeps the markup in a file that people who do not write Rust can read and
//! translate. maud would escape as well; askama was chosen for the separate template file.
//!
//! **Why a hand-written OpenAPI file rather than utoipa.** utoipa would need a proc-macro
//! dependency, annotations on every handler and schema derives on every body type; the document
//! would be scattered over the code. One JSON file is readable and reviewable by people who do
//! not write Rust, and the test `openapi` keeps it honest: its paths and methods must equal
//! [`PUBLIC_ROUTES`] and [`crate::routes::MEMBER_ROUTES`], the lists the routers are built from.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use coalition_core::event::EventId;
use coalition_projector::{LIST_FORMAT, ListEntry, Projection};
use serde::Deserialize;

use crate::AppState;
use crate::api::{
    CaseEventBody, CountsBody, EventBody, FeedPage, Health, ListBody, PersonBody, StatsBody, StatusChangeBody,
};
use crate::cache::CachedBody;
use crate::error::ApiError;
use crate::extract::{event_id, org_slug};
use crate::i18n::Lang;
use crate::member::blocking;
use crate::options::{FEED_PAGE_NOTES_DEFAULT, FEED_PAGE_NOTES_MAX, STATIC_CACHE_MAX_AGE_SECONDS};
use crate::query::{BadQuery, Filters, SiteQuery, filters, read_query, select};
use crate::routes::{PUBLIC_ROUTES, Route};

/// The stylesheet of the page, served at `/static/site.css` (the CSP allows no inline style).
const SITE_CSS: &str = include_str!("../static/site.css");

/// The public routes.
/// Built from [`PUBLIC_ROUTES`], the list the OpenAPI test compares with the document.
pub(crate) fn routes(state: AppState) -> Router {
    let mut router = Router::new();
    for route in PUBLIC_ROUTES {
        match handler(route) {
            Some(handler) => router = router.route(route.path, handler),
            None => tracing::error!(?route, "a listed public route has no handler"),
        }
    }
    router.with_state(state)
}

fn handler(route: &Route) -> Option<MethodRouter<AppState>> {
    Some(match (route.method, route.path) {
        ("GET", "/") => get(crate::site::index),
        ("GET", "/persons/{case}") => get(crate::site::person),
        ("GET", "/stats") => get(crate::site::stats),
        ("GET", "/about") => get(crate::site::about),
        ("GET", "/api/v1/list") => get(list_json),
        ("GET", "/api/v1/list.json") => get(list_download_json),
        ("GET", "/api/v1/list.csv") => get(list_download_csv),
        ("GET", "/api/v1/persons/{case}") => get(person_json),
        ("GET", "/api/v1/stats") => get(stats_json),
        ("GET", "/api/v1/list/canonical") => get(list_canonical),
        ("GET", "/api/v1/feeds/{org}") => get(feed),
        ("GET", "/api/v1/events/{id}") => get(event),
        ("GET", "/api/v1/openapi.json") => get(openapi),
        ("GET", "/healthz") => get(health),
        ("GET", "/api/v1/status") => get(crate::status::status),
        ("GET", "/static/site.css") => get(stylesheet),
        ("GET", "/editions") => get(crate::editions::editions_page),
        ("GET", "/editions/{label}") => get(crate::editions::edition_page),
        ("GET", "/api/v1/editions") => get(crate::editions::list_editions),
        ("GET", "/report") => get(crate::report::report_page),
        ("POST", "/api/v1/reports") => axum::routing::post(crate::report::submit_report),
        ("GET", "/api/v1/editions/{label}") => get(crate::editions::show_edition),
        ("GET", "/api/v1/editions/{label}/note") => get(crate::editions::edition_note),
        ("GET", "/api/v1/editions/{label}/proof/{case}") => get(crate::editions::edition_proof),
        ("GET", "/api/v1/editions/{label}/changes") => get(crate::editions::edition_changes),
        ("GET", "/api/v1/editions/{label}/list.json") => get(crate::editions::edition_list_json),
        ("GET", "/api/v1/editions/{label}/list.csv") => get(crate::editions::edition_list_csv),
        _ => return None,
    })
}

/// The OpenAPI 3.1 document of every public and member route, written by hand (see
/// `api/openapi.json`; a test keeps its paths equal to [`PUBLIC_ROUTES`] and
/// [`crate::routes::MEMBER_ROUTES`]).
const OPENAPI: &str = include_str!("../api/openapi.json");

async fn openapi() -> Response {
    let control = format!("public, max-age={STATIC_CACHE_MAX_AGE_SECONDS}");
    let mut response = ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI).into_response();
    if let Ok(value) = HeaderValue::from_str(&control) {
        response.headers_mut().insert(CACHE_CONTROL, value);
    }
    response
}

// --- caching ----------------------------------------------------------------------------------

/// The validator and caching policy of one projection-derived response.
pub(crate) struct Cached {
    etag: HeaderValue,
    cache_control: HeaderValue,
    /// The node version the validator names (read before anything is rendered, so a body
    /// rendered after is at least as new as its validator says).
    pub(crate) version: u64,
}

impl Cached {
    pub(crate) fn new(state: &AppState) -> Self {
        Self::tagged(state, "")
    }

    /// The validator of a page in `lang`: the same version in two languages is two bodies.
    pub(crate) fn for_lang(state: &AppState, lang: crate::i18n::Lang) -> Self {
        Self::tagged(state, lang.code())
    }

    fn tagged(state: &AppState, suffix: &str) -> Self {
        let dot = if suffix.is_empty() { "" } else { "." };
        // Weak: the same version is served gzip, brotli or identity (see `crate::layers`), and a
        // strong validator must differ between encodings; a weak one names the content.
        let version = state.node.version();
        let tag = format!("W/\"{:x}.{version}{dot}{suffix}\"", state.epoch);
        let etag = HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        let control = format!("public, max-age={}", state.options.public_max_age_seconds);
        let cache_control = HeaderValue::from_str(&control).unwrap_or_else(|_| HeaderValue::from_static("no-cache"));
        Self { etag, cache_control, version }
    }

    /// Whether the request's `If-None-Match` names this response's ETag (weakly compared).
    pub(crate) fn is_fresh(&self, request: &HeaderMap) -> bool {
        let ours = opaque(self.etag.as_bytes());
        request
            .get_all(IF_NONE_MATCH)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(|value| value.split(',').map(str::trim).any(|tag| tag == "*" || opaque(tag.as_bytes()) == ours))
    }

    /// A 304 with this response's validator and caching policy.
    pub(crate) fn not_modified(self) -> Response {
        self.finish(StatusCode::NOT_MODIFIED.into_response())
    }

    /// The response kept in the response cache under `key` for this version, if any.
    pub(crate) fn hit(self, state: &AppState, key: &str) -> Result<Response, Self> {
        match state.cache.get(self.version, key) {
            Some(hit) => {
                let response = ([(CONTENT_TYPE, HeaderValue::from_static(hit.content_type))], hit.body).into_response();
                Ok(self.finish(response))
            }
            None => Err(self),
        }
    }

    /// Keeps `body` in the response cache under `key` for this version, and answers with it.
    pub(crate) fn keep(self, state: &AppState, key: String, content_type: &'static str, body: Bytes) -> Response {
        state.cache.put(self.version, key, CachedBody { content_type, body: body.clone() });
        self.finish(([(CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response())
    }

    pub(crate) fn finish(self, mut response: Response) -> Response {
        response.headers_mut().insert(ETAG, self.etag);
        response.headers_mut().insert(CACHE_CONTROL, self.cache_control);
        response
    }
}

/// An entity tag without its weakness marker: `If-None-Match` compares weakly (RFC 9110 §13.1.2).
fn opaque(tag: &[u8]) -> &[u8] {
    tag.strip_prefix(b"W/").unwrap_or(tag)
}

// --- JSON -------------------------------------------------------------------------------------

/// The list query of an API request: the page's query type, refused as a JSON 400. The API
/// sorts names in the language `lang` names (Ukrainian by default), never by `Accept-Language`,
/// so one URL always means one order.
fn api_list_query(
    raw: &RawQuery,
    query: Result<Query<SiteQuery>, QueryRejection>,
) -> Result<(Filters, Lang), ApiError> {
    let query = read_query(raw.0.as_deref(), query).map_err(BadQuery::into_api_error)?;
    let lang = match query.lang.as_deref() {
        None | Some("uk") => Lang::Uk,
        Some("en") => Lang::En,
        Some(_) => return Err(ApiError::bad_request("invalid_query", "`lang` is uk or en").at("lang")),
    };
    Ok((filters(&query).map_err(BadQuery::into_api_error)?, lang))
}

/// `GET /api/v1/list`: one page of the list, with the page's filters, search, sort and pages.
async fn list_json(
    State(state): State<AppState>,
    raw: RawQuery,
    query: Result<Query<SiteQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (filters, lang) = api_list_query(&raw, query)?;
    let cached = Cached::new(&state);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let key = format!("api-list?{}", filters.key(lang));
    let cached = match cached.hit(&state, &key) {
        Ok(response) => return Ok(response),
        Err(cached) => cached,
    };
    let node = state.node.clone();
    let body = blocking(move || {
        let demo = node.is_demo();
        let body = node.with_projection(|projection| list_body(projection, demo, &filters, lang, Paging::Page))?;
        serde_json::to_vec(&body).map_err(|error| {
            tracing::error!(%error, "cannot write the list");
            ApiError::internal()
        })
    })
    .await??;
    Ok(cached.keep(&state, key, "application/json", Bytes::from(body)))
}

/// Whether a list body holds one page or every kept entry (a download).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paging {
    Page,
    All,
}

fn list_body(
    projection: &Projection,
    demo: bool,
    filters: &Filters,
    lang: Lang,
    paging: Paging,
) -> Result<ListBody, ApiError> {
    let summary = projection.list_summary().map_err(|error| {
        tracing::error!(%error, "cannot summarise the list");
        ApiError::internal()
    })?;
    let selection = select(projection.list_entries(), filters, lang);
    let (page, pages, entries) = match paging {
        Paging::Page => (selection.page, selection.pages, selection.page_entries()),
        Paging::All => (1, 1, selection.entries.as_slice()),
    };
    Ok(ListBody {
        format: LIST_FORMAT.to_owned(),
        ledger: projection.ledger(),
        demo,
        count: summary.count,
        hash: summary.hash,
        counts: counts_body(projection),
        found: selection.entries.len(),
        page,
        pages,
        entries: entries.iter().map(ListEntry::to_json).collect(),
    })
}

fn counts_body(projection: &Projection) -> CountsBody {
    let counts = projection.counts();
    let unknown = || "unknown".to_owned();
    CountsBody {
        in_list: counts.in_list,
        detained_now: counts.detained_now,
        by_status: counts.by_status.iter().map(|(status, count)| (status.as_str().to_owned(), *count)).collect(),
        by_region: counts
            .by_region
            .iter()
            .map(|(region, count)| (region.map_or_else(unknown, |region| region.as_str().to_owned()), *count))
            .collect(),
        by_detention_year: counts
            .by_detention_year
            .iter()
            .map(|(year, count)| (year.map_or_else(unknown, |year| year.to_string()), *count))
            .collect(),
    }
}

/// The date in a download's file name: the day of the newest event the node holds (the date of
/// the data, not of the download), or the ledger's creation day when it holds none.
fn data_date(state: &AppState) -> String {
    let time = state.node.newest_event_time().unwrap_or(state.node.genesis().doc().created);
    time.to_string().chars().take(DATE_CHARS).collect()
}

/// Characters of `YYYY-MM-DD`.
const DATE_CHARS: usize = 10;

/// `Content-Disposition: attachment` with a dated file name (ASCII only: nothing from a request
/// or an event reaches it).
fn attachment(state: &AppState, extension: &str) -> HeaderValue {
    let prefix = if state.node.is_demo() { "coalition-list-demo" } else { "coalition-list" };
    let value = format!("attachment; filename=\"{prefix}-{}.{extension}\"", data_date(state));
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// `GET /api/v1/list.json`: every entry the query keeps (no pages), as a file to save.
async fn list_download_json(
    State(state): State<AppState>,
    raw: RawQuery,
    query: Result<Query<SiteQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (filters, lang) = api_list_query(&raw, query)?;
    let cached = Cached::new(&state);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let node = state.node.clone();
    let body = blocking(move || {
        let demo = node.is_demo();
        node.with_projection(|projection| list_body(projection, demo, &filters, lang, Paging::All))
    })
    .await??;
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(CONTENT_DISPOSITION, attachment(&state, "json"));
    Ok(cached.finish(response))
}

/// `GET /api/v1/list.csv`: every entry the query keeps, as CSV (see [`crate::csv`]).
async fn list_download_csv(
    State(state): State<AppState>,
    raw: RawQuery,
    query: Result<Query<SiteQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (filters, lang) = api_list_query(&raw, query)?;
    let cached = Cached::new(&state);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let node = state.node.clone();
    let text = blocking(move || {
        node.with_projection(|projection| {
            let selection = select(projection.list_entries(), &filters, lang);
            crate::csv::write(&selection.entries)
        })
    })
    .await?;
    let mut response =
        ([(CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8; header=present"))], text).into_response();
    response.headers_mut().insert(CONTENT_DISPOSITION, attachment(&state, "csv"));
    Ok(cached.finish(response))
}

/// `GET /api/v1/persons/{case}`: one person of the joint list (404 for any other case id, so
/// the API says nothing about cases that are not public).
async fn person_json(
    State(state): State<AppState>,
    Path(case): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("no person of the joint list has this case id");
    let case = EventId::parse(&case).map_err(|_| not_found())?;
    let cached = Cached::new(&state);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let worker = state.clone();
    let body = blocking(move || {
        let events = crate::site::case_events(&worker, &case)?;
        Ok::<_, ApiError>(worker.node.with_projection(|projection| {
            let entry = projection.list_entries().find(|entry| entry.case == case)?;
            let view = projection.case(&case)?;
            Some(PersonBody {
                entry: entry.to_json(),
                history: view
                    .history()
                    .iter()
                    .map(|change| StatusChangeBody { status: change.status.as_str().to_owned(), date: change.date })
                    .collect(),
                events: events
                    .into_iter()
                    .map(|event| CaseEventBody {
                        id: event.id,
                        org: event.org,
                        seq: event.seq,
                        time: event.time,
                        kind: event.kind,
                    })
                    .collect(),
            })
        }))
    })
    .await??;
    let body = body.ok_or_else(not_found)?;
    Ok(cached.finish(axum::Json(body).into_response()))
}

/// `GET /api/v1/stats`: the counts the stats page draws.
async fn stats_json(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let cached = Cached::new(&state);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let node = state.node.clone();
    let body = blocking(move || {
        let demo = node.is_demo();
        node.with_projection(|projection| StatsBody {
            ledger: projection.ledger(),
            demo,
            counts: counts_body(projection),
        })
    })
    .await?;
    Ok(cached.finish(axum::Json(body).into_response()))
}

/// The canonical list document, byte for byte: its BLAKE3 hash is the list hash that editions
/// state, so anyone can check it with a BLAKE3 tool.
async fn list_canonical(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let cached = Cached::new(&state);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let node = state.node.clone();
    let document = blocking(move || node.with_projection(Projection::list_document)).await?.map_err(|error| {
        tracing::error!(%error, "cannot write the list document");
        ApiError::internal()
    })?;
    let response = ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], document).into_response();
    Ok(cached.finish(response))
}

/// The query of `GET /api/v1/feeds/{org}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    /// The first seq wanted (1 if absent).
    from: Option<u64>,
    /// How many notes (at most [`FEED_PAGE_NOTES_MAX`]).
    limit: Option<usize>,
}

async fn feed(
    State(state): State<AppState>,
    Path(org): Path<String>,
    query: Result<Query<FeedQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let org = org_slug(&org)?;
    let Query(query) = query.map_err(|rejection| {
        ApiError::bad_request(
            "invalid_query",
            format!(
                "{}; the query takes `from` (a seq, from 1) and `limit` (1 to {FEED_PAGE_NOTES_MAX})",
                rejection.body_text()
            ),
        )
    })?;
    let from = query.from.unwrap_or(1);
    if from == 0 {
        return Err(ApiError::bad_request("invalid_query", "`from` is a seq: feeds start at 1").at("from"));
    }
    let limit = query.limit.unwrap_or(FEED_PAGE_NOTES_DEFAULT).min(FEED_PAGE_NOTES_MAX);
    if limit == 0 {
        return Err(ApiError::bad_request("invalid_query", "`limit` must be at least 1").at("limit"));
    }
    let cached = Cached::new(&state);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let node = state.node.clone();
    let wanted = org.clone();
    let (head, events) = blocking(move || {
        let head = node.heads().get(&wanted).map(|(seq, _)| *seq);
        let events = node.read_feed(&wanted, from, limit);
        (head, events)
    })
    .await?;
    let known = state.node.genesis().member(&org).is_some() || head.is_some();
    if !known {
        return Err(ApiError::not_found(format!("this node holds no feed of {org}")));
    }
    let events = events.map_err(|error| {
        tracing::error!(%error, %org, "cannot read a feed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", "the node could not read its store")
    })?;
    let notes: Vec<String> = events.iter().map(|event| event.note().to_owned()).collect();
    let next = (notes.len() == limit).then(|| from + limit as u64);
    let page = FeedPage { org, from, notes, next, head };
    Ok(cached.finish(axum::Json(page).into_response()))
}

/// `GET /api/v1/events/{id}`: one signed event by id, its note exactly as signed. An event never
/// changes, so it may be cached for good.
async fn event(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = event_id("event", &id)?;
    let node = state.node.clone();
    let found = blocking(move || node.event(&id)).await?.map_err(|error| {
        tracing::error!(%error, %id, "cannot read an event");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", "the node could not read its store")
    })?;
    let event = found.ok_or_else(|| ApiError::not_found(format!("this node holds no event {id}")))?;
    let content = event.event();
    let body = EventBody { id, org: content.org.clone(), seq: content.seq, note: event.note().to_owned() };
    Ok(crate::editions::immutable(axum::Json(body).into_response()))
}

// --- health and static --------------------------------------------------------------------------

async fn health(State(state): State<AppState>) -> Result<Response, ApiError> {
    let node = state.node.clone();
    let feeds = blocking(move || node.heads().len()).await?;
    let body = Health { status: "ok".to_owned(), feeds, demo: state.node.is_demo() };
    Ok(([(CACHE_CONTROL, HeaderValue::from_static("no-store"))], axum::Json(body)).into_response())
}

async fn stylesheet() -> Response {
    let control = format!("public, max-age={STATIC_CACHE_MAX_AGE_SECONDS}");
    let mut response =
        ([(CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"))], SITE_CSS).into_response();
    if let Ok(value) = HeaderValue::from_str(&control) {
        response.headers_mut().insert(CACHE_CONTROL, value);
    }
    response
}
