//! What wraps every route: security headers, compression, one access-log line per request and
//! the request metrics, the rate limit per client address, load shedding,
//! the request timeout, the body size limit, and turning a panic into a 500 instead of a dropped
//! connection.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::HttpBody as _;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, RETRY_AFTER, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ApiError;
use crate::metrics::{Metrics, UNMATCHED_ROUTE};
use crate::options::ServerOptions;
use crate::ratelimit::{ClientKey, RateLimiter, client_address};
use crate::routes::template;

/// The Content-Security-Policy of every response: resources from this origin only, so no inline
/// script and no inline style can run (the page's CSS is `/static/site.css`); never framed.
pub(crate) const CONTENT_SECURITY_POLICY_VALUE: &str =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Longest request path written to the access log, in characters.
const LOGGED_PATH_CHARS_MAX: usize = 200;
/// Most query parameter names written to the access log.
const LOGGED_QUERY_KEYS_MAX: usize = 16;
/// Longest query parameter name written to the access log, in characters.
const LOGGED_QUERY_KEY_CHARS_MAX: usize = 32;

/// What the layers share across requests: the counters of `/metrics`, the rate limiter, and the
/// proxies whose `X-Forwarded-For` is believed.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limiter: Option<Arc<RateLimiter>>,
    pub(crate) trusted_proxies: Arc<[IpAddr]>,
}

/// Wraps `router` in every layer, outermost first: security headers, compression, access log
/// and metrics, rate limit, load shedding, timeout, panic catching; and sets the body size limit
/// the JSON extractor obeys.
///
/// Compression is gzip or brotli as `Accept-Encoding` asks (tower-http adds `Vary:
/// Accept-Encoding`); the ETags of projection-derived responses are weak, so one validator
/// stands for the content in every encoding. The access log counts bytes before compression.
pub(crate) fn apply(router: Router, options: &ServerOptions, shared: Shared) -> Router {
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
        .layer(from_fn_with_state(shared.clone(), rate_limit))
        .layer(from_fn_with_state(shared, access_log))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
        ))
        .layer(SetResponseHeaderLayer::overriding(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
}

/// The route template a request matched (from the fixed list in [`crate::routes`]), or
/// [`UNMATCHED_ROUTE`]: a label from a finite set, never a path with an id in it.
fn route_label(request: &Request) -> &'static str {
    request.extensions().get::<MatchedPath>().map_or(UNMATCHED_ROUTE, |matched| template(matched.as_str()))
}

/// One structured line per request, and the request counted in `/metrics`: method, route
/// template, path, the names of the query's parameters, status, latency and body bytes.
///
/// **What is not logged, and why.** The client's address: the people who read the list include
/// relatives and lawyers of prisoners, and a log seized from a server must not tell who looked
/// whom up (the rate limit keeps addresses in memory only, and only while they are recent).
/// The query's values: `q` is a name someone searched for. Only the names of the query's
/// parameters are kept (`q,status`), which is enough to see what is used. The path is logged:
/// a case id names a public list entry, not the reader. Never a body or a header (the member
/// token travels in one).
async fn access_log(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path: String = request.uri().path().chars().take(LOGGED_PATH_CHARS_MAX).collect();
    let query_keys: String = request
        .uri()
        .query()
        .map(|query| {
            query
                .split('&')
                .filter_map(|pair| pair.split('=').next())
                .filter(|key| !key.is_empty())
                .take(LOGGED_QUERY_KEYS_MAX)
                .map(|key| key.chars().take(LOGGED_QUERY_KEY_CHARS_MAX).collect::<String>())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let route = route_label(&request);
    let started = Instant::now();
    let response = next.run(request).await;
    let latency = started.elapsed();
    let status = response.status().as_u16();
    shared.metrics.record(route, status, latency);
    let bytes = response.body().size_hint().exact();
    tracing::info!(
        target: "coalition_server::access",
        %method,
        route,
        %path,
        query_keys = %query_keys,
        status,
        latency_ms = format_args!("{:.2}", latency.as_secs_f64() * 1000.0),
        bytes,
        "request"
    );
    response
}

/// Refuses with 429 and `Retry-After` a client whose bucket is empty (see [`crate::ratelimit`]).
/// A request without a peer address (served in-process rather than by [`crate::serve`]) is not
/// limited.
async fn rate_limit(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let Some(limiter) = &shared.limiter else { return next.run(request).await };
    // No peer address: an in-process call (tests, a tool embedding the router), not the network.
    // [`crate::serve`] always provides one.
    let Some(peer) = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip()) else {
        return next.run(request).await;
    };
    let client = client_address(peer, request.headers(), &shared.trusted_proxies);
    match limiter.check(ClientKey::of(client), Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(retry_after_seconds) => {
            shared.metrics.record_rate_limited();
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests from your address; try again in {retry_after_seconds} s"),
            )
            .into_response();
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            response
        }
    }
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
