//! The node's replication status (`GET /api/v1/status`, public) and its quarantine
//! (`GET /api/v1/member/quarantine`, members only). Both are JSON only: quarantined input is
//! hostile by definition, so it is never served raw nor rendered in a page; what a member sees is
//! a short excerpt with every control character escaped.

use axum::extract::{Query, State};
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use coalition_node::{QuarantineId, QuarantinedNote};
use serde::Deserialize;

use crate::AppState;
use crate::api::{FeedStatus, QuarantineItem, QuarantinePage, ReplicationBody, StatusBody};
use crate::error::ApiError;
use crate::member::blocking;

/// Bytes of a quarantined input shown as an excerpt (before escaping).
pub const QUARANTINE_EXCERPT_BYTES_MAX: usize = 300;
/// Quarantine records per page unless the query asks for fewer.
pub const QUARANTINE_PAGE_DEFAULT: usize = 100;

fn store_unavailable(error: &coalition_node::NodeError) -> ApiError {
    tracing::error!(%error, "cannot read the store for the status");
    ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", "the node could not read its store")
}

/// `GET /api/v1/status`: every feed's head, replication progress, outbox, quarantine and forks.
pub(crate) async fn status(State(state): State<AppState>) -> Result<Response, ApiError> {
    let node = state.node.clone();
    let body = blocking(move || -> Result<StatusBody, ApiError> {
        let feeds = node
            .heads()
            .into_iter()
            .map(|(org, (head_seq, head_id))| FeedStatus { frozen_at: node.frozen_at(&org), org, head_seq, head_id })
            .collect();
        let replication = node.replication_status().map(|status| ReplicationBody {
            connected: status.connected,
            stream_last_seq: status.stream_last_seq,
            applied_stream_seq: status.applied_stream_seq,
            lag_messages: status.lag_messages,
            updated_unix_s: status.updated_unix_s,
        });
        Ok(StatusBody {
            ledger: node.genesis().ledger_id(),
            org: node.org().cloned(),
            feeds,
            replication,
            outbox: node.outbox_len().map_err(|error| store_unavailable(&error))?,
            quarantined: node.quarantine_count().map_err(|error| store_unavailable(&error))?,
            fork_proofs: node.fork_proofs().map_err(|error| store_unavailable(&error))?.len() as u64,
        })
    })
    .await??;
    Ok(([(CACHE_CONTROL, HeaderValue::from_static("no-store"))], axum::Json(body)).into_response())
}

/// The query of `GET /api/v1/member/quarantine`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuarantineQuery {
    /// The first record wanted (1 if absent).
    from: Option<u64>,
    /// How many records (at most [`coalition_node::QUARANTINE_PAGE_MAX`]).
    limit: Option<usize>,
}

/// `GET /api/v1/member/quarantine`: a page of quarantined inputs with reason, time, size and a
/// safe excerpt.
pub(crate) async fn quarantine(
    State(state): State<AppState>,
    query: Result<Query<QuarantineQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let page_max = coalition_node::QUARANTINE_PAGE_MAX;
    let Query(query) = query.map_err(|rejection| {
        ApiError::bad_request(
            "invalid_query",
            format!(
                "{}; the query takes `from` (a record number, from 1) and `limit` (1 to {page_max})",
                rejection.body_text()
            ),
        )
    })?;
    let from = query.from.unwrap_or(1).max(1);
    let limit = query.limit.unwrap_or(QUARANTINE_PAGE_DEFAULT).min(page_max);
    if limit == 0 {
        return Err(ApiError::bad_request("invalid_query", "`limit` must be at least 1").at("limit"));
    }
    let node = state.node.clone();
    let (total, records) = blocking(move || -> Result<_, ApiError> {
        let total = node.quarantine_count().map_err(|error| store_unavailable(&error))?;
        let records = node.quarantined(QuarantineId(from), limit).map_err(|error| store_unavailable(&error))?;
        Ok((total, records))
    })
    .await??;
    let next = (records.len() == limit).then(|| records.last().map_or(from, |record| record.id.0 + 1));
    let items = records.iter().map(item).collect();
    let page = QuarantinePage { total, items, next };
    Ok(axum::Json(page).into_response())
}

fn item(record: &QuarantinedNote) -> QuarantineItem {
    let shown = &record.kept[..record.kept.len().min(QUARANTINE_EXCERPT_BYTES_MAX)];
    QuarantineItem {
        id: record.id.0,
        received_unix_s: record.received_at_unix_s,
        reason: escape_controls(&record.reason),
        bytes: record.original_len,
        blake3: record.blake3.iter().map(|byte| format!("{byte:02x}")).collect(),
        excerpt: escape_controls(&String::from_utf8_lossy(shown)),
        excerpt_cut: (shown.len() as u64) < record.original_len,
    }
}

/// Writes every control character (and the bidirectional overrides that can disguise text) as
/// `\u{..}`, so an excerpt cannot move a terminal's cursor or reorder what an operator reads.
pub(crate) fn escape_controls(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        let bidi = matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
        if character.is_control() || bidi {
            escaped.push_str(&format!("\\u{{{:x}}}", u32::from(character)));
        } else {
            escaped.push(character);
        }
    }
    escaped
}
