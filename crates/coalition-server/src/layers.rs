//! What wraps every route: security headers, one access-log line per request, load shedding,
//! the request timeout, the body size limit, and turning a panic into a 500 instead of a dropped
//! connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ApiError;
use crate::options::ServerOptions;

/// The Content-Security-Policy of every response: resources from this origin only, so no inline
/// script and no inline style can run (the page's CSS is `/static/site.css`); never framed.
pub(crate) const CONTENT_SECURITY_POLICY_VALUE: &str =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Longest request path written to the access log, in characters.
const LOGGED_PATH_CHARS_MAX: usize = 200;

/// Wraps `router` in every layer, outermost first: security headers, access log, load shedding,
/// timeout, panic catching; and sets the body size limit the JSON extractor obeys.
pub(crate) fn apply(router: Router, options: &ServerOptions) -> Router {
    let permits = Arc::new(Semaphore::new(options.requests_in_flight_max));
    router
        .layer(CatchPanicLayer::custom(|panic: Box<dyn std::any::Any + Send>| {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %detail, "a request handler panicked");
            ApiError::internal().into_response()
        }))
        .layer(DefaultBodyLimit::max(options.request_bytes_max))
        .layer(from_fn_with_state(options.request_timeout, timeout))
        .layer(from_fn_with_state(permits, shed_load))
        .layer(from_fn(access_log))
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
        ))
        .layer(SetResponseHeaderLayer::overriding(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
}

/// One line per request: method, path (never the query's secrets: there are none in paths, and
/// the token travels in a header that is never logged), status and latency. Never the body.
async fn access_log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path: String = request.uri().path().chars().take(LOGGED_PATH_CHARS_MAX).collect();
    let started = Instant::now();
    let response = next.run(request).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "coalition_server::access",
        %method,
        %path,
        status = response.status().as_u16(),
        latency_ms = format_args!("{latency_ms:.1}"),
        "request"
    );
    response
}

/// Answers 503 at once when the server already serves its limit of requests.
async fn shed_load(State(permits): State<Arc<Semaphore>>, request: Request, next: Next) -> Response {
    match permits.try_acquire_owned() {
        Ok(_permit) => next.run(request).await,
        Err(_) => ApiError::overloaded().into_response(),
    }
}

/// Abandons a request that takes longer than the limit, with a 503 that says a change may still
/// have been recorded (a durable commit in the blocking pool is not cancelled halfway).
async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::timeout(limit.as_secs()).into_response(),
    }
}
