//! Monthly editions over HTTP: the JSON shapes (shared with the client), the public routes
//! (`/api/v1/editions...`: the editions, one edition, its signed note, an inclusion proof, the
//! changes since another edition, its list as JSON or CSV), and the member routes that ask the
//! node to propose or cosign one. What an edition's list is, and whether a node may cosign it, is
//! the node's and the projector's to say.
//!
//! Caching: the list at an edition's frontier never changes (the frontier fixes the events), so
//! its list, proofs and changes are served with a long `immutable` Cache-Control. The edition
//! itself and its note gain cosignatures until every member has signed, so they carry the node's
//! ETag and the ordinary public max-age.

use std::fmt::Write as _;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use coalition_core::body::{Digest, EventKind, FrontierEntry};
use coalition_core::event::{EventId, OrgSlug};
use coalition_node::{EditionFailure, Node};
use coalition_projector::{Edition, EditionList};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{JsonBody, NoBody, event_id};
use crate::i18n::Lang;
use crate::member::blocking;
use crate::public::Cached;
use crate::query::{SiteQuery, page_query};
use crate::site::{Chrome, html, not_found_page};

/// How long an edition's list, proofs and changes may be cached: they never change.
pub const EDITION_IMMUTABLE_MAX_AGE_SECONDS: u64 = 365 * 24 * 60 * 60;

/// The `format` of an inclusion proof document.
pub const PROOF_FORMAT: &str = "coalition-ledger/edition-proof/v1";

/// One edition as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditionBody {
    /// The `edition.proposed` event id.
    pub id: EventId,
    /// The month, `YYYY-MM`.
    pub label: String,
    /// Who proposed it.
    pub proposer: OrgSlug,
    /// The feed heads it covers.
    pub frontier: Vec<FrontierEntry>,
    /// The number of entries.
    pub count: u64,
    /// The RFC 6962 Merkle root over the entries.
    pub root: Digest,
    /// The BLAKE3 hash of the canonical list document at the frontier.
    pub list_hash: Digest,
    /// The organisations that signed it, sorted.
    pub cosigners: Vec<OrgSlug>,
    /// Signatures needed to make an edition official (the policy now in force).
    pub quorum: u32,
    /// Whether it reached its quorum.
    pub official: bool,
    /// The event that made it official.
    pub official_by: Option<EventId>,
}

/// `GET /api/v1/editions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditionsBody {
    /// Every edition, by label then id.
    pub editions: Vec<EditionBody>,
}

/// `POST /api/v1/member/editions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeEdition {
    /// The month, `YYYY-MM`.
    pub label: String,
}

/// What a propose or cosign request signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditionReceipt {
    /// The event id.
    pub id: EventId,
    /// Its seq in this organisation's feed.
    pub seq: u64,
    /// `edition.proposed` or `edition.cosigned`.
    pub kind: EventKind,
    /// The edition as it stands after this event.
    pub edition: EditionBody,
}

/// An inclusion proof: one entry of an edition and the audit path from its leaf to the root. The
/// document `coalition edition verify-proof` checks together with the edition's note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBody {
    /// [`PROOF_FORMAT`].
    pub format: String,
    /// The edition's label.
    pub label: String,
    /// The edition's id.
    pub edition: EventId,
    /// The case.
    pub case: EventId,
    /// The entry's position, from 0.
    pub index: u64,
    /// The tree size (the edition's count).
    pub count: u64,
    /// The root stated by the edition.
    pub root: Digest,
    /// The entry's canonical JSON: the leaf's exact bytes.
    pub entry: String,
    /// The audit path, leaf upwards, 64 hex digits each.
    pub path: Vec<String>,
}

/// One person in a list of changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedEntry {
    /// The case.
    pub case: EventId,
    /// Name in Ukrainian, if recorded.
    pub name_uk: Option<String>,
    /// Name in English, if recorded.
    pub name_en: Option<String>,
}

/// `GET /api/v1/editions/{label}/changes?since=LABEL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesBody {
    /// The newer edition.
    pub label: String,
    /// The older edition.
    pub since: String,
    /// In the newer list and not in the older.
    pub added: Vec<ChangedEntry>,
    /// Released since.
    pub released: Vec<ChangedEntry>,
    /// Died since.
    pub died: Vec<ChangedEntry>,
    /// In the older list and not in the newer.
    pub delisted: Vec<ChangedEntry>,
}

/// `GET /api/v1/editions/{label}/list.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditionListBody {
    /// The edition's label.
    pub label: String,
    /// The edition's id.
    pub edition: EventId,
    /// The number of entries.
    pub count: u64,
    /// The Merkle root.
    pub root: Digest,
    /// The entries, sorted by case id, as in the canonical list document.
    pub entries: Vec<Value>,
}

/// The query of `/changes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangesQuery {
    since: Option<String>,
}

pub(crate) fn edition_body(edition: &Edition, quorum: u32) -> EditionBody {
    EditionBody {
        id: edition.id,
        label: edition.label.clone(),
        proposer: edition.proposer.clone(),
        frontier: edition.frontier.clone(),
        count: edition.count,
        root: edition.root,
        list_hash: edition.list_hash,
        cosigners: edition.cosigners.clone(),
        quorum,
        official: edition.official_by.is_some(),
        official_by: edition.official_by,
    }
}

fn quorum(node: &Node) -> u32 {
    node.with_projection(|projection| projection.policy().edition_quorum)
}

impl From<EditionFailure> for ApiError {
    fn from(failure: EditionFailure) -> Self {
        let message = failure.to_string();
        match failure {
            EditionFailure::ReadOnly => Self::new(StatusCode::FORBIDDEN, "read_only", message),
            EditionFailure::BadLabel(_) => Self::bad_request("invalid_body", message).at("label"),
            EditionFailure::UnknownEdition(_) => Self::not_found(message),
            EditionFailure::NothingToPublish
            | EditionFailure::LabelTaken { .. }
            | EditionFailure::Ambiguous { .. }
            | EditionFailure::AlreadySigned(_) => Self::new(StatusCode::CONFLICT, "no_effect", message),
            EditionFailure::Unreproducible(_) => Self::new(StatusCode::CONFLICT, "cannot_reproduce", message),
            EditionFailure::Differs(_) => Self::new(StatusCode::CONFLICT, "root_differs", message),
            EditionFailure::Submit(error) => error.into(),
            other => {
                tracing::error!(error = %other, "edition work failed");
                Self::internal()
            }
        }
    }
}

pub(crate) fn immutable(mut response: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={EDITION_IMMUTABLE_MAX_AGE_SECONDS}, immutable"))
    {
        response.headers_mut().insert(CACHE_CONTROL, value);
    }
    response
}

/// The edition named in the URL (label or id) and its list.
async fn edition_and_list(node: &Node, label: String) -> Result<(Edition, std::sync::Arc<EditionList>), ApiError> {
    let node = node.clone();
    blocking(move || -> Result<_, ApiError> {
        let edition = node.find_edition(&label)?;
        let list = node.edition_list(&edition.frontier)?;
        Ok((edition, list))
    })
    .await?
}

// --- public -------------------------------------------------------------------------------------

pub(crate) async fn list_editions(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let cached = Cached::new(&state);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let node = state.node.clone();
    let body = blocking(move || {
        let quorum = quorum(&node);
        EditionsBody { editions: node.editions().iter().map(|edition| edition_body(edition, quorum)).collect() }
    })
    .await?;
    Ok(cached.finish(axum::Json(body).into_response()))
}

pub(crate) async fn show_edition(
    State(state): State<AppState>,
    Path(label): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let cached = Cached::new(&state);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let node = state.node.clone();
    let body = blocking(move || -> Result<_, ApiError> {
        let edition = node.find_edition(&label)?;
        Ok(edition_body(&edition, quorum(&node)))
    })
    .await??;
    Ok(cached.finish(axum::Json(body).into_response()))
}

pub(crate) async fn edition_note(
    State(state): State<AppState>,
    Path(label): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let cached = Cached::new(&state);
    if cached.is_fresh(&headers) {
        return Ok(cached.not_modified());
    }
    let node = state.node.clone();
    let published = blocking(move || node.published_edition(&label)).await??;
    let response =
        ([(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))], published.note).into_response();
    Ok(cached.finish(response))
}

pub(crate) async fn edition_proof(
    State(state): State<AppState>,
    Path((label, case)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let case = event_id("case", &case)?;
    let (edition, list) = edition_and_list(&state.node, label).await?;
    let proof = list
        .proof(&case)
        .ok_or_else(|| ApiError::not_found(format!("case {case} is not in the list of edition {}", edition.label)))?;
    let body = ProofBody {
        format: PROOF_FORMAT.to_owned(),
        label: edition.label.clone(),
        edition: edition.id,
        case,
        index: proof.index,
        count: proof.count,
        root: edition.root,
        entry: proof.entry,
        path: proof.path.iter().map(hex::encode).collect(),
    };
    Ok(immutable(axum::Json(body).into_response()))
}

fn changed(list: &EditionList, cases: &[EventId]) -> Vec<ChangedEntry> {
    cases
        .iter()
        .map(|case| {
            let entry = list
                .entries
                .binary_search_by(|entry| entry.case.cmp(case))
                .ok()
                .and_then(|at| serde_json::from_str::<Value>(&list.entries[at].canonical).ok());
            let name = |field: &str| entry.as_ref().and_then(|entry| entry["facts"][field].as_str().map(str::to_owned));
            ChangedEntry { case: *case, name_uk: name("name_uk"), name_en: name("name_en") }
        })
        .collect()
}

/// The changes from `older` to `newer`: names of delisted people come from the older list.
pub(crate) fn changes_body(newer: (&Edition, &EditionList), older: (&Edition, &EditionList)) -> ChangesBody {
    let changes = newer.1.changes_since(older.1);
    ChangesBody {
        label: newer.0.label.clone(),
        since: older.0.label.clone(),
        added: changed(newer.1, &changes.added),
        released: changed(newer.1, &changes.released),
        died: changed(newer.1, &changes.died),
        delisted: changed(older.1, &changes.delisted),
    }
}

pub(crate) async fn edition_changes(
    State(state): State<AppState>,
    Path(label): Path<String>,
    query: Result<Query<ChangesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        ApiError::bad_request(
            "invalid_query",
            format!("{}; the query takes `since` (an edition label)", rejection.body_text()),
        )
    })?;
    let node = state.node.clone();
    let body = blocking(move || -> Result<_, ApiError> {
        let newer = node.find_edition(&label)?;
        let older = match query.since {
            Some(since) => node.find_edition(&since)?,
            None => node.previous_official_edition(&newer).ok_or_else(|| {
                ApiError::not_found(format!("no official edition precedes {}: name one with `since`", newer.label))
            })?,
        };
        let newer_list = node.edition_list(&newer.frontier)?;
        let older_list = node.edition_list(&older.frontier)?;
        Ok(changes_body((&newer, &newer_list), (&older, &older_list)))
    })
    .await??;
    Ok(immutable(axum::Json(body).into_response()))
}

pub(crate) async fn edition_list_json(
    State(state): State<AppState>,
    Path(label): Path<String>,
) -> Result<Response, ApiError> {
    let (edition, list) = edition_and_list(&state.node, label).await?;
    let body = EditionListBody {
        label: edition.label.clone(),
        edition: edition.id,
        count: list.count(),
        root: list.root,
        entries: list.entries.iter().filter_map(|entry| serde_json::from_str(&entry.canonical).ok()).collect(),
    };
    Ok(immutable(axum::Json(body).into_response()))
}

/// One CSV field, quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or `@`
/// is prefixed with `'` so that a spreadsheet never runs a member-typed name as a formula.
fn csv_field(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_owned() };
    if guarded.contains([',', '"', '\n', '\r']) { format!("\"{}\"", guarded.replace('"', "\"\"")) } else { guarded }
}

pub(crate) async fn edition_list_csv(
    State(state): State<AppState>,
    Path(label): Path<String>,
) -> Result<Response, ApiError> {
    let (edition, list) = edition_and_list(&state.node, label).await?;
    let mut csv = String::from("case,status,status_date,name_uk,name_en,region,detention_date,criteria,endorsed_by\n");
    for entry in &list.entries {
        let Ok(value) = serde_json::from_str::<Value>(&entry.canonical) else { continue };
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        let joined = |value: &Value| {
            value
                .as_array()
                .map(|items| items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
                .unwrap_or_default()
        };
        let fields = [
            text(&value["case"]),
            text(&value["status"]),
            text(&value["status_date"]),
            text(&value["facts"]["name_uk"]),
            text(&value["facts"]["name_en"]),
            text(&value["facts"]["region"]),
            text(&value["facts"]["detention_date"]),
            joined(&value["criteria"]),
            joined(&value["endorsed_by"]),
        ];
        let line: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
        let _ = writeln!(csv, "{}", line.join(","));
    }
    let disposition = format!("attachment; filename=\"edition-{}.csv\"", edition.label);
    let mut response = ([(CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"))], csv).into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(CONTENT_DISPOSITION, value);
    }
    Ok(immutable(response))
}

// --- member -------------------------------------------------------------------------------------

pub(crate) async fn propose(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ProposeEdition>,
) -> Result<Response, ApiError> {
    let node = state.node.clone();
    let receipt = blocking(move || -> Result<_, ApiError> {
        let (submitted, _) = node.propose_edition(&request.label)?;
        let edition = node.find_edition(&submitted.id.to_string())?;
        Ok(EditionReceipt {
            id: submitted.id,
            seq: submitted.seq,
            kind: EventKind::EditionProposed,
            edition: edition_body(&edition, quorum(&node)),
        })
    })
    .await??;
    Ok((StatusCode::CREATED, axum::Json(receipt)).into_response())
}

pub(crate) async fn cosign(
    State(state): State<AppState>,
    Path(edition): Path<String>,
    _: NoBody,
) -> Result<Response, ApiError> {
    let node = state.node.clone();
    let receipt = blocking(move || -> Result<_, ApiError> {
        let (submitted, edition) = node.cosign_edition(&edition)?;
        Ok(EditionReceipt {
            id: submitted.id,
            seq: submitted.seq,
            kind: EventKind::EditionCosigned,
            edition: edition_body(&edition, quorum(&node)),
        })
    })
    .await??;
    Ok((StatusCode::CREATED, axum::Json(receipt)).into_response())
}

// --- pages --------------------------------------------------------------------------------------

/// One row of the editions page.
struct EditionRow {
    label: String,
    official: bool,
    count: u64,
    cosigners: String,
}

#[derive(askama::Template)]
#[template(path = "editions.html")]
struct EditionsPage {
    c: Chrome,
    rows: Vec<EditionRow>,
}

/// One group of changes on an edition page.
struct ChangeGroup {
    title: &'static str,
    people: Vec<String>,
}

/// What an edition page shows.
struct EditionView {
    label: String,
    official: bool,
    count: u64,
    signatures: usize,
    quorum: u32,
    cosigners: Vec<String>,
    root: String,
    frontier: Vec<String>,
    since: Option<String>,
    changes: Vec<ChangeGroup>,
}

#[derive(askama::Template)]
#[template(path = "edition.html")]
struct EditionPage {
    c: Chrome,
    e: EditionView,
}

/// A member's display name, else its slug.
fn member_name(node: &Node, slug: &OrgSlug) -> String {
    node.with_projection(|projection| projection.member(slug).map(|member| member.name.clone()))
        .unwrap_or_else(|| slug.to_string())
}

pub(crate) async fn editions_page(
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
    let node = state.node.clone();
    let mut rows = blocking(move || {
        node.editions()
            .iter()
            .map(|edition| EditionRow {
                label: edition.label.clone(),
                official: edition.official_by.is_some(),
                count: edition.count,
                cosigners: edition.cosigners.iter().map(|slug| member_name(&node, slug)).collect::<Vec<_>>().join(", "),
            })
            .collect::<Vec<_>>()
    })
    .await?;
    rows.reverse();
    let page = EditionsPage { c: Chrome::new(&state, lang, "/editions", &[]), rows };
    html(&page, StatusCode::OK, Some(cached))
}

pub(crate) async fn edition_page(
    State(state): State<AppState>,
    Path(label): Path<String>,
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
    let node = state.node.clone();
    let t = lang.strings();
    let wanted = label.clone();
    let view = blocking(move || -> Result<Option<EditionView>, ApiError> {
        let edition = match node.find_edition(&wanted) {
            Ok(edition) => edition,
            Err(EditionFailure::UnknownEdition(_) | EditionFailure::Ambiguous { .. }) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        let previous = node.previous_official_edition(&edition);
        let (since, changes) = match &previous {
            Some(older) => {
                let newer_list = node.edition_list(&edition.frontier)?;
                let older_list = node.edition_list(&older.frontier)?;
                let body = changes_body((&edition, &newer_list), (older, &older_list));
                let names = |entries: &[ChangedEntry]| -> Vec<String> {
                    entries
                        .iter()
                        .map(|entry| {
                            let name = match lang {
                                Lang::Uk => entry.name_uk.clone().or_else(|| entry.name_en.clone()),
                                Lang::En => entry.name_en.clone().or_else(|| entry.name_uk.clone()),
                            };
                            name.unwrap_or_else(|| entry.case.short())
                        })
                        .collect()
                };
                let groups = vec![
                    ChangeGroup { title: t.change_added, people: names(&body.added) },
                    ChangeGroup { title: t.change_released, people: names(&body.released) },
                    ChangeGroup { title: t.change_died, people: names(&body.died) },
                    ChangeGroup { title: t.change_delisted, people: names(&body.delisted) },
                ];
                (Some(older.label.clone()), groups)
            }
            None => (None, Vec::new()),
        };
        Ok(Some(EditionView {
            label: edition.label.clone(),
            official: edition.official_by.is_some(),
            count: edition.count,
            signatures: edition.cosigners.len(),
            quorum: quorum(&node),
            cosigners: edition.cosigners.iter().map(|slug| member_name(&node, slug)).collect(),
            root: edition.root.to_string(),
            frontier: edition.frontier.iter().map(|head| format!("{} {} {}", head.org, head.seq, head.id)).collect(),
            since,
            changes,
        }))
    })
    .await??;
    let path = format!("/editions/{label}");
    match view {
        Some(e) => html(&EditionPage { c: Chrome::new(&state, lang, &path, &[]), e }, StatusCode::OK, Some(cached)),
        None => not_found_page(&state, lang, &path),
    }
}
