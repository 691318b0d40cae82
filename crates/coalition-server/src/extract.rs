//! Reading request bodies strictly: JSON only (415 otherwise), at most the configured size (413),
//! one JSON value with nothing after it, and unknown fields refused with the JSON path of the
//! field (400). Also the parsing of path parameters (ids and slugs) into typed values.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use coalition_core::event::{EventId, OrgSlug};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// A JSON request body of type `T`, read strictly.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        if !is_json(&request) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON, with the header `Content-Type: application/json`",
            ));
        }
        let bytes = read_body(request, state).await?;
        parse_json(&bytes).map(Self)
    }
}

/// The body of a route that takes none (`POST .../endorsement`): empty, or the empty object `{}`.
/// Anything else is refused rather than ignored, so a client that thinks it sends a field
/// learns that it does not.
pub(crate) struct NoBody;

impl FromRequest<AppState> for NoBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = read_body(request, state).await?;
        let text = std::str::from_utf8(&bytes).unwrap_or("?");
        let compact: String = text.chars().filter(|character| !character.is_ascii_whitespace()).collect();
        if compact.is_empty() || compact == "{}" {
            Ok(Self)
        } else {
            Err(ApiError::bad_request(
                "unexpected_body",
                "this route takes no request body (send none, or `{}`): everything it needs is in the URL",
            ))
        }
    }
}

/// The body of a route whose body is optional (`DELETE .../exclusion` may carry sealed
/// deliberation): empty or `{}` is `None`; anything else is read as [`JsonBody`] reads it.
pub(crate) struct OptionalJsonBody<T>(pub(crate) Option<T>);

impl<T: DeserializeOwned> FromRequest<AppState> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let json = is_json(&request);
        let bytes = read_body(request, state).await?;
        let blank = bytes.iter().all(u8::is_ascii_whitespace);
        if blank {
            return Ok(Self(None));
        }
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON, with the header `Content-Type: application/json`",
            ));
        }
        let value: serde_json::Value = parse_json(&bytes)?;
        if value.as_object().is_some_and(serde_json::Map::is_empty) {
            return Ok(Self(None));
        }
        parse_json(&bytes).map(|parsed| Self(Some(parsed)))
    }
}

fn is_json(request: &Request) -> bool {
    let Some(value) = request.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read_body(request: Request, state: &AppState) -> Result<Bytes, ApiError> {
    let limit = state.options.request_bytes_max;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is larger than this node accepts ({limit} bytes)"),
        )
    };
    // Refuse a declared oversize at once, before reading anything.
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    // The router's `DefaultBodyLimit` bounds what `Bytes` reads and reports an excess as 413.
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::bad_request("unreadable_body", "the request body could not be read to its end")
        }
    })
}

/// Parses one JSON object of type `T`: syntax errors are `malformed_json` (with line and
/// column); anything but an object, unknown fields (`unknown_field`) and other shape errors
/// (`invalid_request`) are refused with the JSON path of the offending value. Parsing into a
/// JSON value first also refuses the array form serde would accept for a struct, so a request
/// has one spelling.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|error| json_error(&error))?;
    if !value.is_object() {
        return Err(ApiError::bad_request("invalid_request", "the request body must be a JSON object"));
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|error| {
        let path = error.path().to_string();
        json_error(error.inner()).at(if path == "." { String::new() } else { path })
    })
}

fn json_error(error: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::bad_request("malformed_json", format!("the request body is not valid JSON: {error}"))
        }
        Category::Data => {
            let message = strip_position(error);
            let code = if message.starts_with("unknown field") { "unknown_field" } else { "invalid_request" };
            ApiError::bad_request(code, message)
        }
    }
}

/// serde_json's message without " at line L column C" (the path says where).
fn strip_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    message.strip_suffix(&suffix).map_or(message.clone(), str::to_owned)
}

/// A case, proposal or edition id from the URL.
pub(crate) fn event_id(what: &str, text: &str) -> Result<EventId, ApiError> {
    EventId::parse(text).map_err(|_| {
        ApiError::bad_request(
            "invalid_id",
            format!("the {what} id in the URL must be 64 lowercase hex digits (an event id)"),
        )
    })
}

/// An organisation slug from the URL.
pub(crate) fn org_slug(text: &str) -> Result<OrgSlug, ApiError> {
    OrgSlug::parse(text).map_err(|error| {
        ApiError::bad_request("invalid_slug", format!("the organisation in the URL is not a valid slug: {error}"))
    })
}
