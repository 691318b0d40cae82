//! The public report form ("Report political persecution"): the `/report` page, `POST
//! /api/v1/reports` (an HTML form or JSON), and the members' inbox routes under
//! `/api/v1/member/reports`.
//!
//! A report is checked, sealed at once to every member's recipient and kept as ciphertext by
//! [`coalition_node::Node::submit_report`]; this module parses the request strictly (invalid
//! UTF-8, unknown or repeated fields, oversize are refused), applies the form's own rate limits
//! (per client address and for the whole node, on top of the site's), and answers in the page's
//! language (every string is in [`crate::i18n`]). The honeypot field (`website`), hidden from
//! people, gets the same answer as a real report, and nothing is stored. Nothing of a report's
//! text is logged: only its id and size. The client's address is used for the rate limit in
//! memory and never stored or logged. A full inbox
//! ([`coalition_node::REPORT_INBOX_ENTRIES_MAX`]) answers 503 with a plain message, and members
//! see it in the inbox listing ([`Inbox::fill`]).

use std::net::SocketAddr;
use std::time::Instant;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use coalition_node::{
    FieldProblem, InboxFill, REPORT_CONTACT_CHARS_MAX, REPORT_PLACE_CHARS_MAX, REPORT_WHAT_CHARS_MAX,
    REPORT_WHO_CHARS_MAX, REPORTS_PAGE_MAX, Report, ReportEntry, ReportError, ReportForm,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{JsonBody, NoBody, parse_json};
use crate::i18n::{Lang, ReportField, ReportProblem, ReportStrings, report_problem, report_strings};
use crate::member::blocking;
use crate::ratelimit::{ClientKey, RateLimiter, client_address};
use crate::site::{Chrome, html};

/// Largest report request, in bytes (form or JSON): the longest fields, percent-encoded, fit.
pub const REPORT_REQUEST_BYTES_MAX: usize = 96 * 1024;
/// Reports one client address may send per hour, sustained.
pub const REPORTS_PER_CLIENT_PER_HOUR: u32 = 12;
/// Reports one client address may send at once.
pub const REPORTS_PER_CLIENT_BURST: u32 = 3;
/// Reports the whole node takes per second, sustained (each costs a sealing and a durable write).
pub const REPORTS_GLOBAL_PER_SECOND: u32 = 5;
/// Reports the whole node takes at once.
pub const REPORTS_GLOBAL_BURST: u32 = 50;
/// Client addresses the form's limiter tracks.
pub const REPORT_CLIENTS_MAX: usize = 65_536;
/// The honeypot field's name: hidden from people, filled by bots.
pub const HONEYPOT_FIELD: &str = "website";
/// Most fields a form may carry (the five of a report, the honeypot and the language).
const FORM_FIELDS_MAX: usize = 7;
const SECONDS_PER_HOUR: f64 = 3600.0;

/// The form's rate limits: per client address, and one bucket for the whole node.
pub(crate) struct Intake {
    per_client: RateLimiter,
    global: RateLimiter,
}

impl Default for Intake {
    fn default() -> Self {
        Self {
            per_client: RateLimiter::with_rate(
                f64::from(REPORTS_PER_CLIENT_PER_HOUR) / SECONDS_PER_HOUR,
                REPORTS_PER_CLIENT_BURST,
                REPORT_CLIENTS_MAX,
            ),
            global: RateLimiter::with_rate(f64::from(REPORTS_GLOBAL_PER_SECOND), REPORTS_GLOBAL_BURST, 1),
        }
    }
}

impl Intake {
    /// Takes a token for `client` (when known) and one from the node's bucket; `Err(seconds)`.
    fn check(&self, client: Option<ClientKey>, now: Instant) -> Result<(), u64> {
        if let Some(client) = client {
            self.per_client.check(client, now)?;
        }
        self.global.check(ClientKey::V4(0), now)
    }
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    c: Chrome,
    t: &'static ReportStrings,
    form: ReportForm,
    thanks: bool,
    error: Option<String>,
    closed: Option<&'static str>,
    who_max: usize,
    place_max: usize,
    what_max: usize,
    contact_max: usize,
}

fn page(state: &AppState, lang: Lang, form: ReportForm, thanks: bool, error: Option<String>) -> ReportPage {
    let t = report_strings(lang);
    ReportPage {
        c: Chrome::new(state, lang, "/report", &[]),
        t,
        form,
        thanks,
        error,
        closed: state.node.report_refusal().map(|_| t.closed),
        who_max: REPORT_WHO_CHARS_MAX,
        place_max: REPORT_PLACE_CHARS_MAX,
        what_max: REPORT_WHAT_CHARS_MAX,
        contact_max: REPORT_CONTACT_CHARS_MAX,
    }
}

/// `?lang=` of the report page.
#[derive(Debug, Deserialize)]
pub(crate) struct LangQuery {
    lang: Option<String>,
}

/// `GET /report`.
pub(crate) async fn report_page(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = Lang::choose(query.lang.as_deref(), &headers);
    let status = if state.node.report_refusal().is_some() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    html(&page(&state, lang, ReportForm::default(), false, None), status, None)
}

/// The JSON form of a report: the form's fields, and the honeypot.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonReport {
    who: String,
    place: String,
    what: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    consent: bool,
    #[serde(default)]
    website: String,
}

/// The answer to an accepted (or honeypot) JSON report.
#[derive(Debug, Serialize)]
struct Received {
    received: bool,
}

/// What a submission was refused for, before the language of the answer is applied.
enum Refusal {
    Invalid(ReportProblem),
    RateLimited(u64),
    Closed(&'static str),
    Full,
    Internal,
}

/// The form's name of a report field, as the node names it.
fn report_field(name: &str) -> ReportField {
    match name {
        "who" => ReportField::Who,
        "place" => ReportField::Place,
        "contact" => ReportField::Contact,
        _ => ReportField::What,
    }
}

/// Decodes `application/x-www-form-urlencoded` strictly: invalid percent escapes or UTF-8,
/// unknown and repeated fields are refused.
fn parse_form(body: &[u8]) -> Result<(ReportForm, bool, Option<String>), ReportProblem> {
    let text = std::str::from_utf8(body).map_err(|_| ReportProblem::NotUtf8)?;
    let mut form = ReportForm::default();
    let mut seen: Vec<String> = Vec::new();
    let mut honeypot = false;
    let mut lang = None;
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name)?;
        let value = percent_decode(value)?;
        if seen.contains(&name) {
            return Err(ReportProblem::RepeatedField);
        }
        if seen.len() >= FORM_FIELDS_MAX {
            return Err(ReportProblem::TooManyFields);
        }
        match name.as_str() {
            "who" => form.who = value,
            "place" => form.place = value,
            "what" => form.what = value,
            "contact" => form.contact = value,
            "consent" => form.consent = matches!(value.as_str(), "yes" | "on" | "true" | "1"),
            HONEYPOT_FIELD => honeypot = !value.trim().is_empty(),
            "lang" => lang = Some(value),
            _ => return Err(ReportProblem::UnknownField),
        }
        seen.push(name);
    }
    Ok((form, honeypot, lang))
}

fn percent_decode(text: &str) -> Result<String, ReportProblem> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(index + 1..index + 3).and_then(|pair| std::str::from_utf8(pair).ok());
                let byte =
                    hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()).ok_or(ReportProblem::MalformedEscape)?;
                out.push(byte);
                index += 2;
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8(out).map_err(|_| ReportProblem::NotUtf8)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// `POST /api/v1/reports`: a form (answered with a page) or JSON (answered with JSON).
pub(crate) async fn submit_report(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let form_request = is_form(&headers);
    // No peer address: an in-process call (tests), which only the node-wide limit counts.
    let client = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| ClientKey::of(client_address(peer.ip(), &headers, &state.options.trusted_proxies)));
    // One byte more than allowed, so an oversize body is seen as such and refused below.
    // An error here is a body over the limit or one that could not be read to its end.
    let body: Option<Bytes> = axum::body::to_bytes(body, REPORT_REQUEST_BYTES_MAX).await.ok();
    let mut lang = Lang::choose(query.lang.as_deref(), &headers);
    let outcome = async {
        if let Some(reason) = state.node.report_refusal() {
            return Err(Refusal::Closed(reason));
        }
        let Some(body) = body else {
            return Err(Refusal::Invalid(ReportProblem::TooLarge));
        };
        state.intake.check(client, Instant::now()).map_err(Refusal::RateLimited)?;
        let (form, honeypot) = if form_request {
            let (form, honeypot, chosen) = parse_form(&body).map_err(Refusal::Invalid)?;
            if let Some(chosen) = chosen {
                lang = Lang::choose(Some(&chosen), &headers);
            }
            (form, honeypot)
        } else {
            let report: JsonReport =
                parse_json(&body).map_err(|error| Refusal::Invalid(ReportProblem::NotJson(error.message)))?;
            let honeypot = !report.website.trim().is_empty();
            let form = ReportForm {
                who: report.who,
                place: report.place,
                what: report.what,
                contact: report.contact,
                consent: report.consent,
            };
            (form, honeypot)
        };
        if honeypot {
            // The same answer as a stored report, so a bot learns nothing; nothing is kept.
            return Ok(form);
        }
        let node = state.node.clone();
        let kept = form.clone();
        match blocking(move || node.submit_report(kept)).await {
            Ok(Ok(_id)) => Ok(form),
            Ok(Err(ReportError::Field { field, problem })) => Err(Refusal::Invalid(match problem {
                FieldProblem::TooLong { chars, max } => {
                    ReportProblem::TooLong { field: report_field(field), chars, max }
                }
                _ => ReportProblem::Required(report_field(field)),
            })),
            Ok(Err(ReportError::TooLarge { .. } | ReportError::Malformed(_))) => {
                Err(Refusal::Invalid(ReportProblem::CannotSeal))
            }
            Ok(Err(ReportError::NotAccepted(reason))) => Err(Refusal::Closed(reason)),
            // The node logged the count; nothing of the report is logged here either.
            Ok(Err(ReportError::InboxFull { .. })) => Err(Refusal::Full),
            Ok(Err(error)) => {
                tracing::error!(%error, "a report could not be sealed or stored");
                Err(Refusal::Internal)
            }
            Err(_) => Err(Refusal::Internal),
        }
    }
    .await;
    let t = report_strings(lang);
    let retry_after = match &outcome {
        Err(Refusal::RateLimited(seconds)) => Some(*seconds),
        _ => None,
    };
    if form_request {
        let (status, error, form, thanks) = match outcome {
            Ok(_) => (StatusCode::OK, None, ReportForm::default(), true),
            Err(Refusal::Invalid(problem)) => (
                StatusCode::BAD_REQUEST,
                Some(format!("{}: {}", t.invalid, report_problem(lang, &problem))),
                ReportForm::default(),
                false,
            ),
            Err(Refusal::RateLimited(_)) => {
                (StatusCode::TOO_MANY_REQUESTS, Some(t.too_many.to_owned()), ReportForm::default(), false)
            }
            Err(Refusal::Closed(_)) => (StatusCode::SERVICE_UNAVAILABLE, None, ReportForm::default(), false),
            Err(Refusal::Full) => {
                (StatusCode::SERVICE_UNAVAILABLE, Some(t.full.to_owned()), ReportForm::default(), false)
            }
            Err(Refusal::Internal) => {
                (StatusCode::INTERNAL_SERVER_ERROR, Some(t.internal.to_owned()), ReportForm::default(), false)
            }
        };
        let mut response =
            html(&page(&state, lang, form, thanks, error), status, None).unwrap_or_else(IntoResponse::into_response);
        set_retry_after(&mut response, retry_after);
        return response;
    }
    let mut response = match outcome {
        Ok(_) => (StatusCode::ACCEPTED, axum::Json(Received { received: true })).into_response(),
        Err(Refusal::Invalid(problem)) => {
            ApiError::bad_request("invalid_report", report_problem(lang, &problem)).into_response()
        }
        Err(Refusal::RateLimited(seconds)) => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", format!("{} ({seconds} s)", t.too_many))
                .into_response()
        }
        Err(Refusal::Full) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "inbox_full", t.full).into_response(),
        Err(Refusal::Closed(reason)) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "reports_not_accepted", format!("{} ({reason})", t.closed))
                .into_response()
        }
        Err(Refusal::Internal) => ApiError::internal().into_response(),
    };
    set_retry_after(&mut response, retry_after);
    response
}

fn set_retry_after(response: &mut Response, seconds: Option<u64>) {
    if let Some(value) = seconds.and_then(|seconds| HeaderValue::from_str(&seconds.to_string()).ok()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
}

// --- the members' inbox ---------------------------------------------------------------------

/// `GET /api/v1/member/reports?after=ID&limit=N`: the inbox, oldest first.
#[derive(Debug, Deserialize)]
pub(crate) struct InboxQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// One inbox entry, with the opened report when the node holds its identity.
#[derive(Debug, Serialize, Deserialize)]
pub struct InboxEntry {
    /// The entry.
    #[serde(flatten)]
    pub entry: ReportEntry,
    /// The opened report (absent when the node holds no identity or cannot open it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
}

/// The inbox as the member API lists it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Inbox {
    /// Whether the node holds its organisation's identity (and so shows the reports).
    pub can_open: bool,
    /// How full the inbox is (a full inbox refuses new reports).
    pub fill: InboxFill,
    /// The entries, oldest first.
    pub reports: Vec<InboxEntry>,
}

/// The answer to accepting a report.
#[derive(Debug, Serialize, Deserialize)]
pub struct Accepted {
    /// The `case.opened` event with the public facts, which is the case's id.
    pub case: String,
    /// Its seq in the organisation's feed.
    pub seq: u64,
    /// The `sealed` event that holds the report as a sealed record of the case.
    pub sealed: String,
    /// Its seq in the organisation's feed.
    pub sealed_seq: u64,
    /// The names of the sealed record's fields (their values are only in the sealed record).
    pub sealed_fields: Vec<String>,
}

/// `POST /api/v1/member/reports/{id}/accept`: the public facts of the new case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcceptReport {
    facts: Value,
}

fn report_api_error(error: ReportError) -> ApiError {
    match error {
        ReportError::Unknown(id) => ApiError::not_found(format!("no report {id} in this node's inbox")),
        ReportError::Node(coalition_node::NodeError::NoIdentity) => ApiError::new(
            StatusCode::CONFLICT,
            "no_identity",
            "this node holds no identity: restart it with --identity FILE to read reports",
        ),
        ReportError::Submit(submit) => ApiError::from(submit),
        ReportError::ContactInFacts => ApiError::bad_request(
            "contact_in_facts",
            "the public facts repeat the reporter's contact: leave it out, it is sealed into the case file",
        ),
        ReportError::NotSealed { case, source } => {
            tracing::error!(%case, error = %source, "an accepted report's case was opened but not sealed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_sealed",
                format!(
                    "case {case} was opened but the report could not be sealed into it ({source}); the report stays \
                     in the inbox: do not accept it again, fix the cause and seal its record into case {case}"
                ),
            )
        }
        other => {
            tracing::error!(error = %other, "the inbox failed");
            ApiError::internal()
        }
    }
}

pub(crate) async fn list(State(state): State<AppState>, Query(query): Query<InboxQuery>) -> Result<Response, ApiError> {
    let node = state.node.clone();
    let inbox = blocking(move || -> Result<Inbox, ReportError> {
        let entries = node.report_entries(query.after.as_deref(), query.limit.unwrap_or(REPORTS_PAGE_MAX))?;
        let fill = node.inbox_fill()?;
        let can_open = node.has_identity();
        let reports = entries
            .into_iter()
            .map(|entry| {
                let report = if can_open { node.open_report(&entry.id).ok() } else { None };
                InboxEntry { entry, report }
            })
            .collect();
        Ok(Inbox { can_open, fill, reports })
    })
    .await?
    .map_err(report_api_error)?;
    Ok(axum::Json(inbox).into_response())
}

pub(crate) async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let node = state.node.clone();
    let report = blocking(move || node.open_report(&id)).await?.map_err(report_api_error)?;
    Ok(axum::Json(report).into_response())
}

pub(crate) async fn accept(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<AcceptReport>,
) -> Result<Response, ApiError> {
    let node = state.node.clone();
    let accepted = blocking(move || node.accept_report(&id, request.facts)).await?.map_err(report_api_error)?;
    let body = Accepted {
        case: accepted.case.id.to_string(),
        seq: accepted.case.seq,
        sealed: accepted.sealed.id.to_string(),
        sealed_seq: accepted.sealed.seq,
        sealed_fields: accepted.sealed_fields,
    };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

pub(crate) async fn discard(
    State(state): State<AppState>,
    Path(id): Path<String>,
    _: NoBody,
) -> Result<Response, ApiError> {
    let node = state.node.clone();
    let id_shown = id.clone();
    let deleted = blocking(move || node.discard_report(&id)).await?.map_err(|error| report_api_error(error.into()))?;
    if deleted {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(format!("no report {id_shown} in this node's inbox")))
    }
}
