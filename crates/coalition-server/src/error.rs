//! Errors: [`ServerError`] for starting the server, and the JSON error body every refused request
//! gets, `{"error": {"code": "...", "message": "...", "path": "..."}}`, with the mapping from the
//! node's errors to HTTP status codes.
//!
//! | status | when |
//! | --- | --- |
//! | 400 | malformed JSON, wrong shape, unknown field, schema violation (with `path`), bad id or query |
//! | 401 | missing or wrong bearer token (with `WWW-Authenticate: Bearer`) |
//! | 403 | the node holds no key |
//! | 404 | unknown route, case, proposal, edition or feed |
//! | 409 | the projection says the event would have no effect; the node cannot seal (no identity) |
//! | 413 | request or event body too large |
//! | 415 | request body not sent as JSON |
//! | 422 | sensitive data in a clear body; a sealed field that is not a text or list of texts |
//! | 500 | a bug (a panic or an unexpected error): nothing is said beyond that |
//! | 503 | store failure (nothing written), overload, or timeout |

use std::path::PathBuf;

use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use coalition_node::SubmitError;

use crate::api::{ErrorBody, ErrorDetail};

/// Why the server could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The token file could not be read.
    #[error("cannot read the admin token file {}: {source}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The token is too short to resist guessing.
    #[error(
        "the admin token{} is {bytes} bytes long; at least {min} are needed. Make one with \
         `head -c 32 /dev/urandom | base64 > FILE` and give the node and the members the same file",
        in_file(path.as_ref())
    )]
    TokenTooShort {
        /// The file it came from, if any.
        path: Option<PathBuf>,
        /// Its length.
        bytes: usize,
        /// The minimum.
        min: usize,
    },
    /// The token holds something a bearer token cannot.
    #[error("the admin token{} cannot be used: {reason}", in_file(path.as_ref()))]
    TokenInvalid {
        /// The file it came from, if any.
        path: Option<PathBuf>,
        /// What is wrong, in plain words.
        reason: String,
    },
}

fn in_file(path: Option<&PathBuf>) -> String {
    path.map(|path| format!(" in {}", path.display())).unwrap_or_default()
}

/// A refused request: status, a stable machine-readable code, a message in plain words, and the
/// JSON path of the field at fault when there is one.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) path: Option<String>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), path: None }
    }

    pub(crate) fn at(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.path = (!path.is_empty()).then_some(path);
        self
    }

    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to answer; nothing more is said here, the node's log has the details",
        )
    }

    /// A 401 response with the `WWW-Authenticate` challenge RFC 6750 asks for.
    pub(crate) fn unauthorized(token_given: bool) -> Response {
        let (message, challenge) = if token_given {
            (
                "the bearer token is not this node's admin token: check the token file",
                "Bearer realm=\"coalition member API\", error=\"invalid_token\"",
            )
        } else {
            (
                "this route needs the header `Authorization: Bearer <token>` with the node's admin token",
                "Bearer realm=\"coalition member API\"",
            )
        };
        let mut response = Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
        response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        response
    }

    /// The request took longer than the limit.
    pub(crate) fn timeout(seconds: u64) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the request took longer than {seconds} s and was abandoned; if it was a change, it may \
                 still have been recorded: look at the case or the pending work before sending it again"
            ),
        )
    }

    /// Too many requests in flight.
    pub(crate) fn overloaded() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "the node is busy: try again in a moment")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = matches!(self.code, "overloaded" | "store_unavailable");
        let body =
            ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message: self.message, path: self.path } };
        let mut response = (self.status, axum::Json(body)).into_response();
        if retry {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        match error {
            SubmitError::ReadOnly => Self::new(StatusCode::FORBIDDEN, "read_only", error.to_string()),
            SubmitError::NotCanonical(message) => {
                Self::bad_request("invalid_body", format!("the body cannot be signed as it is: {message}"))
            }
            SubmitError::Schema(body_error) if body_error.is_sensitive() => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "sensitive_data",
                format!(
                    "{}. The member API seals such data for you: send it to the case routes (sensitive fields of \
                     POST /api/v1/member/cases and PATCH /api/v1/member/cases/{{case}}, a sensitive sign to \
                     .../signs, deliberation to .../exclusion) or as a record to POST \
                     /api/v1/member/cases/{{case}}/sealed",
                    body_error.message()
                ),
            )
            .at(body_error.path()),
            SubmitError::Schema(body_error) => {
                Self::bad_request("invalid_body", body_error.message()).at(body_error.path())
            }
            SubmitError::CannotSeal(message) => Self::new(StatusCode::CONFLICT, "cannot_seal", message),
            // The record's own check says what is wrong with it ("opened" in SealError's words is
            // about reading a record back, not about a member's request).
            SubmitError::Seal(coalition_core::seal::SealError::Invalid { what, reason }) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_sealed_record",
                format!("{what}: {reason}; nothing was signed"),
            ),
            SubmitError::Seal(seal_error @ coalition_core::seal::SealError::TooLarge { .. }) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_sealed_record",
                format!("{seal_error}; nothing was signed"),
            ),
            SubmitError::TooLarge { bytes, max } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the event body is {bytes} bytes; at most {max} can be signed"),
            ),
            SubmitError::UnknownReference { what, id } => Self::new(
                StatusCode::NOT_FOUND,
                "unknown_reference",
                format!("this node knows no {what} {id}: check the id, or wait until the node has it"),
            ),
            SubmitError::Refused(message) => Self::new(
                StatusCode::CONFLICT,
                "no_effect",
                format!("nothing was signed, the event would have no effect: {message}"),
            ),
            SubmitError::Store(store_error) => {
                tracing::error!(error = %store_error, "the store could not commit a member's event");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    format!("the node could not store the event and nothing was written: {store_error}"),
                )
            }
            SubmitError::Event(event_error) => {
                Self::bad_request("invalid_event", format!("the event cannot be signed: {event_error}"))
            }
            other => {
                tracing::error!(error = %other, "submit failed");
                Self::internal()
            }
        }
    }
}

/// The fallback route: a JSON 404 for any path the router does not know.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such route on this node")
}
