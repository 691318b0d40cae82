//! HTTP for a coalition-ledger node: the member (admin) API, the public page and public API, and
//! the blocking HTTP client the `coalition` command uses to talk to a running node.
//!
//! This is the only crate that knows HTTP. It translates requests into calls on
//! [`coalition_node::Node`] and the node's answers back into responses; it holds no protocol or
//! listing rule. Schemas, "would this event have an effect", signing and storage are the node's;
//! what the list is and who is in it are the projector's. What is here: routing, authentication
//! of members, request limits, status codes, caching headers, security headers, HTML rendering,
//! and access logs.
//!
//! ```text
//! let router = coalition_server::router(node, ServerOptions { admin_token: Some(token), ..Default::default() });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! coalition_server::serve(listener, router, coalition_server::shutdown_signal()).await?;
//! ```
//!
//! Modules: `options` (the limits and [`ServerOptions`]), `auth` (the [`AdminToken`] and the
//! bearer check), `error` (the JSON error body and how node errors map to status codes),
//! `extract` (reading JSON request bodies strictly), `layers` (security headers, compression,
//! access log, rate limit, timeout, load shedding, panics), `ratelimit` (token buckets per
//! client address, bounded), `metrics` (the `/metrics` counters and exposition), `query` (the
//! one list query the page and the API share), `cache` (rendered responses per version), `csv` (the list as formula-safe CSV), `routes` (the one list of routes, [`PUBLIC_ROUTES`] and
//! [`MEMBER_ROUTES`], that builds the routers and that the OpenAPI test compares with
//! `api/openapi.json`), `member` and `public` (the routes' handlers), [`report`] (the public report form and the members' inbox), `site` (the HTML pages:
//! list with search and filters, person, statistics, about), `i18n` (every string of the pages in
//! Ukrainian and English, and the language choice), `search` (the transliteration-tolerant name
//! folding), [`api`] (the JSON shapes both sides share), [`editions`] (the monthly editions'
//! routes and JSON shapes) and [`client`] (the blocking client).

pub mod api;
mod auth;
mod cache;
pub mod client;
mod csv;
pub mod editions;
mod error;
mod extract;
mod i18n;
mod layers;
mod member;
mod metrics;
mod options;
mod public;
mod query;
mod ratelimit;
pub mod report;
mod routes;
mod search;
mod site;
mod status;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use coalition_node::Node;

pub use auth::{ADMIN_TOKEN_BYTES_MAX, ADMIN_TOKEN_BYTES_MIN, AdminToken};
pub use cache::{RESPONSE_CACHE_BODY_BYTES_MAX, RESPONSE_CACHE_ENTRIES_MAX};
pub use error::ServerError;
pub use metrics::LATENCY_BUCKETS_SECONDS;
pub use options::{
    FEED_PAGE_NOTES_DEFAULT, FEED_PAGE_NOTES_MAX, PUBLIC_CACHE_MAX_AGE_SECONDS, REQUEST_BODY_BYTES_MAX,
    REQUEST_TIMEOUT, REQUESTS_IN_FLIGHT_MAX, STATIC_CACHE_MAX_AGE_SECONDS, ServerOptions,
};
pub use query::PAGE_ENTRIES;
pub use ratelimit::{RATE_LIMIT_BURST_REQUESTS, RATE_LIMIT_CLIENTS_MAX, RATE_LIMIT_REQUESTS_PER_SECOND, RateLimit};
pub use routes::{MEMBER_PREFIX, MEMBER_ROUTES, PUBLIC_ROUTES, Route};
pub use status::{QUARANTINE_EXCERPT_BYTES_MAX, QUARANTINE_PAGE_DEFAULT};

/// What every handler can reach: the node, the options, and the tag that keeps ETags from one
/// run of the server apart from another's.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) node: Node,
    pub(crate) options: Arc<ServerOptions>,
    /// Distinguishes this process's ETags from a previous run's: [`Node::version`] restarts from
    /// the replayed event count, which can repeat with different content.
    pub(crate) epoch: u64,
    /// Rendered pages and lists of the current version (see [`cache`]).
    pub(crate) cache: Arc<cache::ResponseCache>,
    /// The report form's own rate limits (see [`report`]).
    pub(crate) intake: Arc<report::Intake>,
}

/// The routers of a node: the public address's, and the metrics listener's.
pub struct Routers {
    /// The public page and API, and the member API when enabled (see [`router`]).
    pub public: Router,
    /// `GET /metrics` in the Prometheus text format, for a separate listener that only the
    /// operator's scraper reaches (it counts the requests `public` answers).
    pub metrics: Router,
}

/// Builds the HTTP routes of a node: the public page and API always; the member API under
/// `/api/v1/member/` only when `options.admin_token` is set and the node holds a signing key.
/// Every response carries the security headers and is compressed when the client accepts it;
/// every request is logged in one line, counted for `/metrics`, bounded in size and time,
/// rate-limited per client address ([`ServerOptions::rate_limit`]), and refused with 503 when
/// [`ServerOptions::requests_in_flight_max`] requests are already being served.
pub fn router(node: Node, options: ServerOptions) -> Router {
    routers(node, options).public
}

/// [`router`], with the metrics router that counts its requests.
pub fn routers(node: Node, options: ServerOptions) -> Routers {
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64);
    let member_token = match (&options.admin_token, node.org()) {
        (Some(token), Some(_)) => Some(token.clone()),
        (Some(_), None) => {
            tracing::warn!("an admin token was given but this node holds no signing key: no member API");
            None
        }
        (None, _) => None,
    };
    let shared = layers::Shared {
        metrics: Arc::new(metrics::Metrics::default()),
        limiter: options.rate_limit.map(|limit| Arc::new(ratelimit::RateLimiter::new(limit))),
        trusted_proxies: options.trusted_proxies.clone().into(),
    };
    let state = AppState {
        node: node.clone(),
        options: Arc::new(options),
        epoch,
        cache: Arc::new(cache::ResponseCache::default()),
        intake: Arc::new(report::Intake::default()),
    };
    let mut app = public::routes(state.clone());
    if let Some(token) = member_token {
        app = app.nest("/api/v1/member", member::routes(state.clone(), token));
    }
    let metrics = metrics::routes(node, shared.metrics.clone());
    Routers { public: layers::apply(app.fallback(error::not_found), &state.options, shared), metrics }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting connections
/// and waits for the requests in flight (each bounded by the request timeout) to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "serving HTTP");
    }
    // The peer address reaches the handlers (the rate limit reads it); it is never logged.
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on Ctrl-C, or on SIGTERM on Unix: the usual shutdown future for [`serve`].
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
