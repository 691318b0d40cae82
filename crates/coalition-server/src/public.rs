//! The public side of a node, without authentication: the HTML page of the joint list, the list
//! as JSON and as its canonical document, the signed notes of every feed, the health check and
//! the stylesheet. Projection-derived responses carry an ETag from [`coalition_node::Node::version`]
//! and answer `If-None-Match` with 304.
//!
//! **Why askama.** The page shows names that members typed into signed events, so every field
//! must be HTML-escaped, always. askama escapes every `{{ }}` expression in an `.html` template
//! unless the template explicitly says `|safe` (this crate never does), checks the template
//! against the Rust types at compile time (a renamed field is a build error, not a blank cell at
//! run time), and keeps the markup in a file that people who do not write Rust can read and
//! translate. maud would escape as well; askama was chosen for the separate template file.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use coalition_core::body::Region;
use coalition_projector::{LIST_FORMAT, ListEntry, Projection, Status};
use serde::Deserialize;

use crate::AppState;
use crate::api::{CountsBody, FeedPage, Health, ListBody};
use crate::error::ApiError;
use crate::extract::org_slug;
use crate::member::blocking;
use crate::options::{FEED_PAGE_NOTES_DEFAULT, FEED_PAGE_NOTES_MAX, STATIC_CACHE_MAX_AGE_SECONDS};

/// The stylesheet of the page, served at `/static/site.css` (the CSP allows no inline style).
const SITE_CSS: &str = include_str!("../static/site.css");

/// The banner every page of a demo ledger shows.
pub(crate) const DEMO_BANNER: &str = "Demo: every person and case here is fictional";

/// The public routes.
pub(crate) fn routes(state: AppState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/v1/list", get(list_json))
        .route("/api/v1/list/canonical", get(list_canonical))
        .route("/api/v1/feeds/{org}", get(feed))
        .route("/healthz", get(health))
        .route("/static/site.css", get(stylesheet))
        .with_state(state)
}

// --- caching ----------------------------------------------------------------------------------

/// The validator and caching policy of one projection-derived response.
struct Cached {
    etag: HeaderValue,
    cache_control: HeaderValue,
}

impl Cached {
    fn new(state: &AppState) -> Self {
        let tag = format!("\"{:x}.{}\"", state.epoch, state.node.version());
        let etag = HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        let control = format!("public, max-age={}", state.options.public_max_age_seconds);
        let cache_control = HeaderValue::from_str(&control).unwrap_or_else(|_| HeaderValue::from_static("no-cache"));
        Self { etag, cache_control }
    }

    /// Whether the request's `If-None-Match` names this response's ETag (weakly compared).
    fn is_fresh(&self, request: &HeaderMap) -> bool {
        let ours = self.etag.as_bytes();
        request.get_all(IF_NONE_MATCH).iter().filter_map(|value| value.to_str().ok()).any(|value| {
            value
                .split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == ours)
        })
    }

    fn not_modified(self) -> Response {
        self.finish(StatusCode::NOT_MODIFIED.into_response())
    }

    fn finish(self, mut response: Response) -> Response {
        response.headers_mut().insert(ETAG, self.etag);
        response.headers_mut().insert(CACHE_CONTROL, self.cache_control);
        response
    }
}

// --- the page ---------------------------------------------------------------------------------

/// One row of the page's table. Every field is plain text; the template escapes it.
struct Row {
    name_uk: String,
    name_en: String,
    region: &'static str,
    detention_date: String,
    status: String,
}

/// The page of the joint list.
#[derive(Template)]
#[template(path = "index.html")]
struct Page {
    demo_banner: Option<&'static str>,
    coalition: String,
    detained_now: usize,
    headline_uk: String,
    headline_en: String,
    in_list: usize,
    released: usize,
    died: usize,
    rows: Vec<Row>,
    hash: String,
    ledger: String,
}

async fn page(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let cached = Cached::new(&state);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let node = state.node.clone();
    let page = blocking(move || {
        let coalition = node.genesis().doc().name.clone();
        let demo_banner = node.is_demo().then_some(DEMO_BANNER);
        node.with_projection(|projection| page_data(projection, coalition, demo_banner))
    })
    .await??;
    let html = page.render().map_err(|error| {
        tracing::error!(%error, "cannot render the page");
        ApiError::internal()
    })?;
    let response = ([(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], html).into_response();
    Ok(cached.finish(response))
}

fn page_data(projection: &Projection, coalition: String, demo_banner: Option<&'static str>) -> Result<Page, ApiError> {
    let summary = projection.list_summary().map_err(|error| {
        tracing::error!(%error, "cannot summarise the list");
        ApiError::internal()
    })?;
    let counts = projection.counts();
    let count_of = |status| counts.by_status.get(&status).copied().unwrap_or(0);
    let mut entries: Vec<ListEntry<'_>> = projection.list_entries().collect();
    // People detained now first, then released, then died; by name within each.
    entries.sort_by_cached_key(|entry| {
        let group = match entry.status {
            Status::Listed => 0,
            Status::Released => 1,
            _ => 2,
        };
        (group, entry.facts.name_uk.clone().or_else(|| entry.facts.name_en.clone()))
    });
    let rows = entries.iter().map(row).collect();
    Ok(Page {
        demo_banner,
        coalition,
        detained_now: counts.detained_now,
        headline_uk: headline_uk(counts.detained_now),
        headline_en: headline_en(counts.detained_now),
        in_list: counts.in_list,
        released: count_of(Status::Released),
        died: count_of(Status::Died),
        rows,
        hash: summary.hash.to_string(),
        ledger: projection.ledger().to_string(),
    })
}

const NOT_RECORDED: &str = "—";

fn row(entry: &ListEntry<'_>) -> Row {
    let facts = entry.facts;
    let status = match entry.status {
        Status::Listed => "Detained".to_owned(),
        Status::Released => match entry.release_circumstances {
            Some(circumstances) => {
                format!("Released {} ({})", entry.status_date, circumstances.as_str().replace('_', " "))
            }
            None => format!("Released {}", entry.status_date),
        },
        Status::Died => format!("Died in custody {}", entry.status_date),
        other => other.as_str().replace('_', " "),
    };
    Row {
        name_uk: facts.name_uk.clone().unwrap_or_else(|| NOT_RECORDED.to_owned()),
        name_en: facts.name_en.clone().unwrap_or_else(|| NOT_RECORDED.to_owned()),
        region: facts.region.map_or(NOT_RECORDED, region_label),
        detention_date: facts.detention_date.map_or_else(|| NOT_RECORDED.to_owned(), |date| date.to_string()),
        status,
    }
}

fn region_label(region: Region) -> &'static str {
    match region {
        Region::Crimea => "Crimea",
        Region::Sevastopol => "Sevastopol",
        Region::Donetsk => "Donetsk region",
        Region::Luhansk => "Luhansk region",
        Region::Zaporizhzhia => "Zaporizhzhia region",
        Region::Kherson => "Kherson region",
        Region::Russia => "Russia",
        Region::Other => "Other",
    }
}

/// The English headline: "At least N Ukrainian citizens are deprived of their liberty for
/// political reasons".
fn headline_en(count: usize) -> String {
    if count == 1 {
        "At least 1 Ukrainian citizen is deprived of their liberty for political reasons".to_owned()
    } else {
        format!("At least {count} Ukrainian citizens are deprived of their liberty for political reasons")
    }
}

/// The Ukrainian headline, with the CLDR plural forms of Ukrainian (one: 1, 21, 31…; few: 2–4,
/// 22–24…; many: the rest), which a fixed string cannot get right.
fn headline_uk(count: usize) -> String {
    let (last, last_two) = (count % 10, count % 100);
    let (noun, participle) = if last == 1 && last_two != 11 {
        ("громадянин", "позбавлений")
    } else if (2..=4).contains(&last) && !(12..=14).contains(&last_two) {
        ("громадяни", "позбавлені")
    } else {
        ("громадян", "позбавлені")
    };
    format!("Щонайменше {count} {noun} України {participle} волі з політичних мотивів")
}

// --- JSON -------------------------------------------------------------------------------------

async fn list_json(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let cached = Cached::new(&state);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let node = state.node.clone();
    let body = blocking(move || {
        let demo = node.is_demo();
        node.with_projection(|projection| list_body(projection, demo))
    })
    .await??;
    Ok(cached.finish(axum::Json(body).into_response()))
}

fn list_body(projection: &Projection, demo: bool) -> Result<ListBody, ApiError> {
    let summary = projection.list_summary().map_err(|error| {
        tracing::error!(%error, "cannot summarise the list");
        ApiError::internal()
    })?;
    let counts = projection.counts();
    let unknown = || "unknown".to_owned();
    Ok(ListBody {
        format: LIST_FORMAT.to_owned(),
        ledger: projection.ledger(),
        demo,
        count: summary.count,
        hash: summary.hash,
        counts: CountsBody {
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
        },
        entries: projection.list_entries().map(|entry| entry.to_json()).collect(),
    })
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
