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
//! `extract` (reading JSON request bodies strictly), `layers` (security headers, access log,
//! timeout, load shedding, panics), `routes` (the one list of routes, [`PUBLIC_ROUTES`] and
//! [`MEMBER_ROUTES`], that builds the routers and that the OpenAPI test compares with
//! `api/openapi.json`), `member` and `public` (the routes' handlers), `site` (the HTML pages:
//! list with search and filters, person, statistics, about), `i18n` (every string of the pages in
//! Ukrainian and English, and the language choice), `search` (the transliteration-tolerant name
//! folding), [`api`] (the JSON shapes both sides share), [`editions`] (the monthly editions'
//! routes and JSON shapes) and [`client`] (the blocking client).

pub mod api;
mod auth;
pub mod client;
pub mod editions;
mod error;
mod extract;
mod i18n;
mod layers;
mod member;
mod options;
mod public;
mod routes;
mod search;
mod site;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use coalition_node::Node;

pub use auth::{ADMIN_TOKEN_BYTES_MAX, ADMIN_TOKEN_BYTES_MIN, AdminToken};
pub use error::ServerError;
pub use options::{
    FEED_PAGE_NOTES_DEFAULT, FEED_PAGE_NOTES_MAX, PUBLIC_CACHE_MAX_AGE_SECONDS, REQUEST_BODY_BYTES_MAX,
    REQUEST_TIMEOUT, REQUESTS_IN_FLIGHT_MAX, STATIC_CACHE_MAX_AGE_SECONDS, ServerOptions,
};
pub use routes::{MEMBER_PREFIX, MEMBER_ROUTES, PUBLIC_ROUTES, Route};
pub use site::PAGE_ENTRIES;

/// What every handler can reach: the node, the options, and the tag that keeps ETags from one
/// run of the server apart from another's.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) node: Node,
    pub(crate) options: Arc<ServerOptions>,
    /// Distinguishes this process's ETags from a previous run's: [`Node::version`] restarts from
    /// the replayed event count, which can repeat with different content.
    pub(crate) epoch: u64,
}

/// Builds the HTTP routes of a node: the public page and API always; the member API under
/// `/api/v1/member/` only when `options.admin_token` is set and the node holds a signing key.
/// Every response carries the security headers; every request is logged in one line, bounded in
/// size and time, and refused with 503 when [`ServerOptions::requests_in_flight_max`] requests are
/// already being served.
pub fn router(node: Node, options: ServerOptions) -> Router {
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
    let state = AppState { node, options: Arc::new(options), epoch };
    let mut app = public::routes(state.clone());
    if let Some(token) = member_token {
        app = app.nest("/api/v1/member", member::routes(state.clone(), token));
    }
    layers::apply(app.fallback(error::not_found), &state.options)
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
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
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
