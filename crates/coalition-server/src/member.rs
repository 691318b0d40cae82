//! The member (admin) API under `/api/v1/member/`: every route checks the bearer token, builds an
//! event body from the request and the URL, and hands it to [`coalition_node::Node::submit`]; the
//! reads translate the projection into JSON. Which body is valid and whether an event would
//! have an effect is the node's to say; this module only carries the question and the answer.
//!
//! Sensitive data (PROTOCOL §7.1) is sealed, never refused, on the case routes: this module
//! takes the fields coalition-core names sensitive (and a case request's `sealed` object, an
//! exclusion's deliberation) out of the request and hands them to the node beside the clear
//! body ([`coalition_node::Node::submit_with_sealed`]), which writes them as a sealed record or
//! refuses the whole request (409 without an identity); it never falls back to clear. The raw
//! `/events` route keeps the protocol rule and refuses sensitive data in clear (422). The
//! `/cases/{case}/sealed` routes read (the member view) and write sealed records, `/shred`
//! destroys a case's data keys.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post};
use coalition_core::body::{EXCLUSION_DELIBERATION_FIELD_NAMES, EventKind, SENSITIVE_FIELD_NAMES};
use coalition_core::event::{EventId, OrgSlug};
use coalition_core::seal::SealError;
use coalition_node::{
    DELIBERATION_FIELD, Node, NodeError, RecordContent, SealedFields, SealedSubmission, SubmitError, add_field,
    take_fields,
};
use coalition_projector::{CaseView, Detention, Edition, Projection, Proposal, ProposedChange};
use serde_json::{Map, Value, json};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::api::{
    AssertCriterion, AssessmentBody, CaseDetail, CaseFile, CaseFileRecord, ClaimBody, DetentionBody, EditionSummary,
    EndorsementBody, EventReceipt, ExclusionBody, HistoryBody, NoteSign, OpenCase, Pending, PendingCase,
    ProposalChange, ProposalSummary, ProposeMember, ProposePolicy, RaiseExclusion, RecordDate, RecordRelease,
    RotateKey, SealRequest, SealedReceipt, SignBody, SubmitRequest, Submitted, UpdateCase,
};
use crate::auth::{AdminToken, require_bearer};
use crate::error::ApiError;
use crate::extract::{JsonBody, NoBody, OptionalJsonBody, event_id, org_slug, parse_json};
use crate::routes::{MEMBER_PREFIX, MEMBER_ROUTES, Route};

/// Longest piece of an unknown event kind quoted back in an error, in characters.
const QUOTED_KIND_CHARS_MAX: usize = 40;

/// The request field of `POST /cases` and `PATCH /cases/{case}` holding sensitive notes to seal.
const SEALED_REQUEST_FIELD: &str = "sealed";

/// The member routes, relative to `/api/v1/member`, behind the bearer check. Responses are never
/// cached: they are about one organisation's work and change with every event.
pub(crate) fn routes(state: AppState, token: AdminToken) -> Router {
    let mut router = Router::new();
    for route in MEMBER_ROUTES {
        let path = route.path.strip_prefix(MEMBER_PREFIX).unwrap_or(route.path);
        match handler(route) {
            Some(handler) => router = router.route(path, handler),
            None => tracing::error!(?route, "a listed member route has no handler"),
        }
    }
    router
        .route_layer(from_fn_with_state(token, require_bearer))
        .layer(SetResponseHeaderLayer::overriding(CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .with_state(state)
}

/// The handler of one of [`MEMBER_ROUTES`].
fn handler(route: &Route) -> Option<MethodRouter<AppState>> {
    let path = route.path.strip_prefix(MEMBER_PREFIX)?;
    Some(match (route.method, path) {
        ("POST", "/events") => post(submit_event),
        ("POST", "/cases") => post(open_case),
        ("GET", "/cases/{case}") => get(case_detail),
        ("PATCH", "/cases/{case}") => patch(update_case),
        ("POST", "/cases/{case}/criteria") => post(assert_criterion),
        ("DELETE", "/cases/{case}/criteria/{criterion}") => delete(withdraw_criterion),
        ("POST", "/cases/{case}/signs") => post(note_sign),
        ("POST", "/cases/{case}/exclusion") => post(raise_exclusion),
        ("DELETE", "/cases/{case}/exclusion") => delete(withdraw_exclusion),
        ("GET", "/cases/{case}/sealed") => get(case_file),
        ("POST", "/cases/{case}/sealed") => post(seal_record),
        ("POST", "/cases/{case}/shred") => post(shred_case),
        ("POST", "/cases/{case}/endorsement") => post(endorse),
        ("DELETE", "/cases/{case}/endorsement") => delete(withdraw_endorsement),
        ("POST", "/cases/{case}/release") => post(record_release),
        ("POST", "/cases/{case}/redetention") => post(record_redetention),
        ("POST", "/cases/{case}/death") => post(record_death),
        ("POST", "/members") => post(propose_member),
        ("POST", "/members/{slug}/removal") => post(propose_removal),
        ("POST", "/proposals/{proposal}/approval") => post(approve),
        ("POST", "/policy") => post(propose_policy),
        ("POST", "/key") => post(rotate_key),
        ("GET", "/pending") => get(pending),
        ("GET", "/quarantine") => get(crate::status::quarantine),
        ("POST", "/editions") => post(crate::editions::propose),
        ("POST", "/editions/{edition}/cosignature") => post(crate::editions::cosign),
        ("GET", "/reports") => get(crate::report::list),
        ("GET", "/reports/{id}") => get(crate::report::show),
        ("POST", "/reports/{id}/accept") => post(crate::report::accept),
        ("POST", "/reports/{id}/discard") => post(crate::report::discard),
        _ => return None,
    })
}

/// Runs blocking node work (a durable commit, a projection lock) off the async workers.
pub(crate) async fn blocking<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> Result<R, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        tracing::error!(%error, "blocking node work failed");
        ApiError::internal()
    })
}

/// Submits `body` as an event of `kind` and answers 201 with the receipt (and, for a new case,
/// its URL in `Location`).
async fn submit(node: &Node, kind: EventKind, body: Value) -> Result<Response, ApiError> {
    submit_sealing(node, kind, body, SealedFields::new()).await
}

/// Submits `body` as an event of `kind` with `sealed` (sensitive fields, possibly none) written
/// as a sealed record by the node, and answers 201 with the receipt: the clear event's id and
/// seq, plus `sealed` when a sealed record was written.
async fn submit_sealing(node: &Node, kind: EventKind, body: Value, sealed: SealedFields) -> Result<Response, ApiError> {
    let node = node.clone();
    let submission = blocking(move || node.submit_with_sealed(kind, body, sealed)).await??;
    created(kind, submission)
}

/// The 201 answer to a write that may have sealed data (and, for a new case, its URL in
/// `Location`).
fn created(kind: EventKind, submission: SealedSubmission) -> Result<Response, ApiError> {
    let receipt = match (submission.clear, submission.sealed) {
        (Some(clear), sealed) => Submitted {
            id: clear.id,
            seq: clear.seq,
            kind,
            sealed: sealed.map(|sealed| SealedReceipt::Record(EventReceipt { id: sealed.id, seq: sealed.seq })),
        },
        (None, Some(sealed)) => Submitted {
            id: sealed.id,
            seq: sealed.seq,
            kind: EventKind::Sealed,
            sealed: Some(SealedReceipt::Itself(true)),
        },
        (None, None) => {
            tracing::error!(%kind, "a member write signed nothing yet reported no error");
            return Err(ApiError::internal());
        }
    };
    let mut response = (StatusCode::CREATED, axum::Json(receipt)).into_response();
    if receipt.kind == EventKind::CaseOpened
        && let Ok(location) = HeaderValue::from_str(&format!("/api/v1/member/cases/{}", receipt.id))
    {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// A sealed field the node cannot take (not a text or list of texts, given twice): 422.
fn sealed_field_error(error: SealError) -> ApiError {
    ApiError::from(SubmitError::Seal(error))
}

/// Takes the sensitive data out of a case request (`POST /cases`, `PATCH /cases/{case}`): the
/// fields named in `SENSITIVE_FIELD_NAMES` at the top of the request and of its `facts`, and
/// every field of the `sealed` object. A `facts` left empty is dropped.
fn take_case_sensitive(request: &mut Map<String, Value>) -> Result<SealedFields, ApiError> {
    let mut sealed = SealedFields::new();
    take_fields(request, &SENSITIVE_FIELD_NAMES, &mut sealed).map_err(sealed_field_error)?;
    if let Some(Value::Object(facts)) = request.get_mut("facts") {
        let before = facts.len();
        take_fields(facts, &SENSITIVE_FIELD_NAMES, &mut sealed).map_err(sealed_field_error)?;
        if facts.is_empty() && before > 0 {
            request.remove("facts");
        }
    }
    match request.remove(SEALED_REQUEST_FIELD) {
        None => {}
        Some(Value::Object(fields)) => {
            for (name, value) in &fields {
                add_field(&mut sealed, name, value)
                    .map_err(|error| sealed_field_error(error).at(format!("{SEALED_REQUEST_FIELD}.{name}")))?;
            }
        }
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_sealed_record",
                "`sealed` must be an object of sensitive notes, each a text or a list of texts, like \
                 {\"children\": \"two, aged 4 and 7\"}",
            )
            .at(SEALED_REQUEST_FIELD));
        }
    }
    Ok(sealed)
}

/// Takes the deliberation on an exclusion out of its request: `deliberation` and every field
/// named in `EXCLUSION_DELIBERATION_FIELD_NAMES` or `SENSITIVE_FIELD_NAMES` (sources, say), kept
/// under their names in the sealed record.
fn take_deliberation(request: &mut Map<String, Value>) -> Result<SealedFields, ApiError> {
    let mut sealed = SealedFields::new();
    take_fields(request, &[DELIBERATION_FIELD], &mut sealed).map_err(sealed_field_error)?;
    take_fields(request, &EXCLUSION_DELIBERATION_FIELD_NAMES, &mut sealed).map_err(sealed_field_error)?;
    take_fields(request, &SENSITIVE_FIELD_NAMES, &mut sealed).map_err(sealed_field_error)?;
    Ok(sealed)
}

/// Reads what is left of a request, once its sensitive fields are taken, as `T` (strictly:
/// unknown fields are refused with their path).
fn rest_as<T: serde::de::DeserializeOwned>(rest: Map<String, Value>) -> Result<T, ApiError> {
    let bytes = serde_json::to_vec(&Value::Object(rest)).map_err(|error| {
        tracing::error!(%error, "a parsed request could not be written again");
        ApiError::internal()
    })?;
    parse_json(&bytes)
}

/// A body naming `case` plus the fields given (absent ones left out).
fn case_body(case: EventId, fields: impl IntoIterator<Item = (&'static str, Option<Value>)>) -> Value {
    let mut body = Map::new();
    body.insert("case".to_owned(), Value::String(case.to_string()));
    for (name, value) in fields {
        if let Some(value) = value {
            body.insert(name.to_owned(), value);
        }
    }
    Value::Object(body)
}

fn case_id(text: &str) -> Result<EventId, ApiError> {
    event_id("case", text)
}

// --- writes -----------------------------------------------------------------------------------

async fn submit_event(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<SubmitRequest>,
) -> Result<Response, ApiError> {
    let kind = EventKind::parse(&request.kind).ok_or_else(|| {
        let known: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.as_str()).collect();
        let shown: String = request.kind.chars().take(QUOTED_KIND_CHARS_MAX).collect();
        ApiError::bad_request(
            "unknown_kind",
            format!("unknown event kind {shown:?}; expected one of: {}", known.join(", ")),
        )
        .at("kind")
    })?;
    // Paths in schema errors are relative to the event body, which sits under `body` here.
    submit(&state.node, kind, request.body).await.map_err(|mut error| {
        if matches!(error.code, "invalid_body" | "sensitive_data") {
            let path = error.path.take();
            error.path = Some(path.map_or_else(|| "body".to_owned(), |path| format!("body.{path}")));
        }
        error
    })
}

async fn open_case(
    State(state): State<AppState>,
    JsonBody(mut request): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let sealed = take_case_sensitive(&mut request)?;
    let request: OpenCase = rest_as(request)?;
    submit_sealing(&state.node, EventKind::CaseOpened, json!({ "facts": request.facts }), sealed).await
}

async fn update_case(
    State(state): State<AppState>,
    Path(case): Path<String>,
    JsonBody(mut request): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let case = case_id(&case)?;
    let sealed = take_case_sensitive(&mut request)?;
    let request: UpdateCase = rest_as(request)?;
    let body = case_body(case, [("facts", request.facts), ("clear", request.clear)]);
    submit_sealing(&state.node, EventKind::CaseUpdated, body, sealed).await
}

async fn assert_criterion(
    State(state): State<AppState>,
    Path(case): Path<String>,
    JsonBody(request): JsonBody<AssertCriterion>,
) -> Result<Response, ApiError> {
    let body = case_body(
        case_id(&case)?,
        [
            ("criterion", Some(request.criterion)),
            ("reasoning_uk", request.reasoning_uk),
            ("reasoning_en", request.reasoning_en),
        ],
    );
    submit(&state.node, EventKind::CriterionAsserted, body).await
}

async fn withdraw_criterion(
    State(state): State<AppState>,
    Path((case, criterion)): Path<(String, String)>,
    _: NoBody,
) -> Result<Response, ApiError> {
    let body = case_body(case_id(&case)?, [("criterion", Some(Value::String(criterion)))]);
    submit(&state.node, EventKind::CriterionWithdrawn, body).await
}

async fn note_sign(
    State(state): State<AppState>,
    Path(case): Path<String>,
    JsonBody(request): JsonBody<NoteSign>,
) -> Result<Response, ApiError> {
    let case = case_id(&case)?;
    let node = state.node.clone();
    let submission = blocking(move || node.note_sign(case, request.sign, request.note)).await??;
    created(EventKind::SignNoted, submission)
}

async fn raise_exclusion(
    State(state): State<AppState>,
    Path(case): Path<String>,
    JsonBody(mut request): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let case = case_id(&case)?;
    let sealed = take_deliberation(&mut request)?;
    let request: RaiseExclusion = rest_as(request)?;
    let body = case_body(case, [("ground", Some(request.ground))]);
    submit_sealing(&state.node, EventKind::ExclusionRaised, body, sealed).await
}

async fn withdraw_exclusion(
    State(state): State<AppState>,
    Path(case): Path<String>,
    OptionalJsonBody(request): OptionalJsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let case = case_id(&case)?;
    let mut request = request.unwrap_or_default();
    let sealed = take_deliberation(&mut request)?;
    if let Some(name) = request.keys().next() {
        return Err(ApiError::bad_request(
            "unknown_field",
            format!("unknown field `{name}`: a withdrawal takes only `{DELIBERATION_FIELD}` (sealed)"),
        )
        .at(name.clone()));
    }
    submit_sealing(&state.node, EventKind::ExclusionWithdrawn, case_body(case, []), sealed).await
}

// --- sealed records ---------------------------------------------------------------------------

/// Refuses with 404 unless this node knows `case`.
async fn known_case(node: &Node, case: EventId) -> Result<(), ApiError> {
    let node = node.clone();
    let known = blocking(move || node.with_projection(|projection| projection.case(&case).is_some())).await?;
    if known { Ok(()) } else { Err(ApiError::not_found(format!("this node knows no case {case}"))) }
}

/// `GET /cases/{case}/sealed`: the member view, the case's sealed records decrypted.
async fn case_file(State(state): State<AppState>, Path(case): Path<String>) -> Result<axum::Json<CaseFile>, ApiError> {
    let case = case_id(&case)?;
    known_case(&state.node, case).await?;
    let node = state.node.clone();
    let records = blocking(move || node.case_file(&case)).await?.map_err(|error| match error {
        NodeError::NoIdentity => ApiError::new(
            StatusCode::CONFLICT,
            "cannot_seal",
            "this node holds no identity, so it cannot open sealed records: start it with --identity FILE (the \
             organisation's age identity)",
        ),
        other => {
            tracing::error!(error = %other, "the case file could not be read");
            ApiError::internal()
        }
    })?;
    let records = records
        .into_iter()
        .map(|record| {
            let (status, kind, fields) = match record.content {
                RecordContent::Opened(opened) => ("opened", Some(opened.kind), Some(opened.fields)),
                RecordContent::Shredded => ("shredded", None, None),
                _ => ("does_not_open", None, None),
            };
            CaseFileRecord {
                event: record.id,
                org: record.org,
                seq: record.seq,
                time: record.time,
                status: status.to_owned(),
                kind,
                fields,
            }
        })
        .collect();
    Ok(axum::Json(CaseFile { case, records }))
}

/// `POST /cases/{case}/sealed`: a sealed record of the case, from its kind and fields.
async fn seal_record(
    State(state): State<AppState>,
    Path(case): Path<String>,
    JsonBody(request): JsonBody<SealRequest>,
) -> Result<Response, ApiError> {
    let case = case_id(&case)?;
    let invalid = |message: String, path: &str| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_sealed_record", message).at(path)
    };
    let kind = request.kind.as_str().and_then(EventKind::parse).ok_or_else(|| {
        let known: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.as_str()).collect();
        let shown: String = request.kind.to_string().chars().take(QUOTED_KIND_CHARS_MAX).collect();
        invalid(format!("unknown event kind {shown}; a sealed record is one of: {}", known.join(", ")), "kind")
    })?;
    let Value::Object(given) = &request.fields else {
        return Err(invalid(
            "`fields` must be an object of fields, each a text or a list of texts, like {\"phone\": \"+380...\"}"
                .to_owned(),
            "fields",
        ));
    };
    let mut fields = SealedFields::new();
    for (name, value) in given {
        add_field(&mut fields, name, value).map_err(|error| sealed_field_error(error).at(format!("fields.{name}")))?;
    }
    let node = state.node.clone();
    let sealed = blocking(move || node.seal_fields(case, kind, fields)).await??;
    Ok((StatusCode::CREATED, axum::Json(EventReceipt { id: sealed.id, seq: sealed.seq })).into_response())
}

/// `POST /cases/{case}/shred`: destroys the case's data keys (`sealed.shredded`).
async fn shred_case(
    State(state): State<AppState>,
    Path(case): Path<String>,
    _: NoBody,
) -> Result<axum::Json<crate::api::Shredded>, ApiError> {
    let case = case_id(&case)?;
    known_case(&state.node, case).await?;
    let node = state.node.clone();
    let events = blocking(move || node.shred_case(&case)).await??;
    Ok(axum::Json(crate::api::Shredded {
        events: events.into_iter().map(|event| EventReceipt { id: event.id, seq: event.seq }).collect(),
    }))
}

async fn endorse(State(state): State<AppState>, Path(case): Path<String>, _: NoBody) -> Result<Response, ApiError> {
    submit(&state.node, EventKind::PersonAdded, case_body(case_id(&case)?, [])).await
}

async fn withdraw_endorsement(
    State(state): State<AppState>,
    Path(case): Path<String>,
    _: NoBody,
) -> Result<Response, ApiError> {
    submit(&state.node, EventKind::PersonRemoved, case_body(case_id(&case)?, [])).await
}

async fn record_release(
    State(state): State<AppState>,
    Path(case): Path<String>,
    JsonBody(request): JsonBody<RecordRelease>,
) -> Result<Response, ApiError> {
    let body =
        case_body(case_id(&case)?, [("date", Some(request.date)), ("circumstances", Some(request.circumstances))]);
    submit(&state.node, EventKind::PersonReleased, body).await
}

async fn record_redetention(
    State(state): State<AppState>,
    Path(case): Path<String>,
    JsonBody(request): JsonBody<RecordDate>,
) -> Result<Response, ApiError> {
    submit(&state.node, EventKind::PersonDetained, case_body(case_id(&case)?, [("date", Some(request.date))])).await
}

async fn record_death(
    State(state): State<AppState>,
    Path(case): Path<String>,
    JsonBody(request): JsonBody<RecordDate>,
) -> Result<Response, ApiError> {
    submit(&state.node, EventKind::PersonDied, case_body(case_id(&case)?, [("date", Some(request.date))])).await
}

async fn propose_member(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ProposeMember>,
) -> Result<Response, ApiError> {
    let body = json!({ "slug": request.slug, "name": request.name, "vkey": request.vkey });
    submit(&state.node, EventKind::MemberProposed, body).await
}

async fn propose_removal(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    _: NoBody,
) -> Result<Response, ApiError> {
    let slug = org_slug(&slug)?;
    submit(&state.node, EventKind::MemberRemovalProposed, json!({ "slug": slug })).await
}

/// Approves a proposal with `member.approved` or `policy.approved`, whichever its kind takes.
async fn approve(State(state): State<AppState>, Path(proposal): Path<String>, _: NoBody) -> Result<Response, ApiError> {
    let id = event_id("proposal", &proposal)?;
    let node = state.node.clone();
    let kind = blocking(move || {
        node.with_projection(|projection| {
            projection.proposal(&id).map(|found| match found.change {
                ProposedChange::Policy(_) => EventKind::PolicyApproved,
                _ => EventKind::MemberApproved,
            })
        })
    })
    .await?
    .ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_reference",
            format!("this node knows no proposal {id}: check the id, or wait until the node has it"),
        )
    })?;
    submit(&state.node, kind, json!({ "proposal": id })).await
}

async fn propose_policy(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ProposePolicy>,
) -> Result<Response, ApiError> {
    submit(&state.node, EventKind::PolicyProposed, json!({ "policy": request.policy })).await
}

async fn rotate_key(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<RotateKey>,
) -> Result<Response, ApiError> {
    submit(&state.node, EventKind::KeyRotated, json!({ "vkey": request.vkey })).await
}

// --- reads ------------------------------------------------------------------------------------

async fn pending(State(state): State<AppState>) -> Result<axum::Json<Pending>, ApiError> {
    let node = state.node.clone();
    let pending = blocking(move || {
        let me = node.org().cloned();
        node.with_projection(|projection| pending_body(projection, me))
    })
    .await?;
    Ok(axum::Json(pending))
}

async fn case_detail(
    State(state): State<AppState>,
    Path(case): Path<String>,
) -> Result<axum::Json<CaseDetail>, ApiError> {
    let id = case_id(&case)?;
    let node = state.node.clone();
    let detail = blocking(move || {
        node.with_projection(|projection| projection.case(&id).map(|case| case_detail_body(projection, &case)))
    })
    .await?
    .ok_or_else(|| ApiError::not_found(format!("this node knows no case {id}")))?;
    Ok(axum::Json(detail))
}

fn pending_body(projection: &Projection, me: Option<OrgSlug>) -> Pending {
    let work = projection.pending();
    let mine = |slugs: &[OrgSlug]| me.as_ref().is_some_and(|me| slugs.contains(me));
    let cases_one_short = work
        .cases_one_short
        .iter()
        .filter_map(|id| projection.case(id))
        .map(|case| {
            let endorsed_by: Vec<OrgSlug> = case.counted_endorsements().into_iter().cloned().collect();
            PendingCase {
                id: case.id(),
                name_uk: case.facts().name_uk.clone(),
                name_en: case.facts().name_en.clone(),
                opened_by: case.opened_by().clone(),
                endorsed_by_you: mine(&endorsed_by),
                endorsed_by,
            }
        })
        .collect();
    let open_proposals = work.open_proposals.iter().map(|proposal| proposal_summary(proposal, &mine)).collect();
    let editions_below_quorum =
        work.editions_below_quorum.iter().map(|edition| edition_summary(edition, &mine)).collect();
    Pending { org: me.clone(), policy: *projection.policy(), cases_one_short, open_proposals, editions_below_quorum }
}

fn proposal_summary(proposal: &Proposal, mine: &impl Fn(&[OrgSlug]) -> bool) -> ProposalSummary {
    let change = match &proposal.change {
        ProposedChange::Admit { slug, name, key, .. } => {
            ProposalChange::Admit { slug: slug.clone(), name: name.clone(), vkey: key.to_string() }
        }
        ProposedChange::Remove { slug } => ProposalChange::Remove { slug: slug.clone() },
        ProposedChange::Policy(policy) => ProposalChange::Policy(*policy),
        // A kind of change added to the projector after this server was written.
        other => ProposalChange::Other(format!("{other:?}")),
    };
    ProposalSummary {
        id: proposal.id,
        proposer: proposal.proposer.clone(),
        change,
        approved_by_you: mine(&proposal.approvals),
        approvals: proposal.approvals.clone(),
    }
}

fn edition_summary(edition: &Edition, mine: &impl Fn(&[OrgSlug]) -> bool) -> EditionSummary {
    EditionSummary {
        id: edition.id,
        proposer: edition.proposer.clone(),
        label: edition.label.clone(),
        count: edition.count,
        root: edition.root,
        list_hash: edition.list_hash,
        cosigned_by_you: mine(&edition.cosigners),
        cosigners: edition.cosigners.clone(),
    }
}

fn case_detail_body(projection: &Projection, case: &CaseView<'_>) -> CaseDetail {
    let assessment = case.assessment();
    let counted = case.counted_endorsements();
    let detention = match case.detention() {
        Detention::Released { date, circumstances } => DetentionBody {
            state: "released".to_owned(),
            date: Some(date),
            circumstances: Some(circumstances.as_str().to_owned()),
        },
        Detention::Died { date } => DetentionBody { state: "died".to_owned(), date: Some(date), circumstances: None },
        _ => DetentionBody { state: "detained".to_owned(), date: None, circumstances: None },
    };
    CaseDetail {
        id: case.id(),
        opened_by: case.opened_by().clone(),
        status: case.status().as_str().to_owned(),
        status_date: case.status_date(),
        in_list: case.status().is_in_list(),
        qualifies: case.qualifies(),
        assessment: AssessmentBody {
            endorsements: assessment.endorsements,
            listing_quorum: projection.policy().listing_quorum,
            criterion_stands: assessment.criterion_stands,
            exclusion_stands: assessment.exclusion_stands,
        },
        facts: case.facts().clone(),
        claims: case
            .claims()
            .into_iter()
            .map(|claim| ClaimBody {
                criterion: claim.criterion,
                org: claim.org.clone(),
                reasoning_uk: claim.reasoning.and_then(|reasoning| reasoning.uk.clone()),
                reasoning_en: claim.reasoning.and_then(|reasoning| reasoning.en.clone()),
                counts: claim.counts,
            })
            .collect(),
        signs: case.signs().into_iter().map(|(sign, org)| SignBody { sign, org: org.clone() }).collect(),
        endorsements: case
            .endorsements()
            .into_iter()
            .map(|org| EndorsementBody { org: org.clone(), counts: counted.contains(&org) })
            .collect(),
        exclusions: case
            .exclusions()
            .into_iter()
            .map(|(org, ground)| ExclusionBody { org: org.clone(), ground })
            .collect(),
        detention,
        history: case
            .history()
            .iter()
            .map(|change| HistoryBody {
                status: change.status.as_str().to_owned(),
                event: change.event,
                date: change.date,
            })
            .collect(),
        last_event: case.last_event(),
    }
}
