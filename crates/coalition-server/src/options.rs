//! The server's limits and options. Every limit is a named constant here; [`ServerOptions`] lets a
//! deployment (or a test) change the ones that depend on the machine.

use std::time::Duration;

use std::net::IpAddr;

use crate::auth::AdminToken;
use crate::ratelimit::RateLimit;

/// Largest request body, in bytes. An event body may be up to
/// `coalition_core::body::BODY_JSON_BYTES_MAX` (56 KiB); this leaves room for the request's own
/// wrapping (`{"kind": ..., "body": ...}`) and whitespace.
pub const REQUEST_BODY_BYTES_MAX: usize = 64 * 1024;

/// Longest time a request may take, from its first byte read to its response. A change that
/// reaches this may still have been recorded (the durable commit is not cancelled halfway), and
/// the error says so.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Most requests served at once; beyond it the server answers 503 at once instead of queueing,
/// so a flood cannot pile up memory and every waiting client learns to come back.
pub const REQUESTS_IN_FLIGHT_MAX: usize = 256;

/// Notes returned by `GET /api/v1/feeds/{org}` when the request names no `limit`.
pub const FEED_PAGE_NOTES_DEFAULT: usize = 100;

/// Most notes one page of `GET /api/v1/feeds/{org}` returns, whatever `limit` asks for. A note is
/// at most 64 KiB, so a page is at most 16 MiB.
pub const FEED_PAGE_NOTES_MAX: usize = 256;

/// How long a browser or proxy may reuse a projection-derived public response without asking
/// again, in seconds. Short: the list changes when members sign; the ETag makes asking cheap.
pub const PUBLIC_CACHE_MAX_AGE_SECONDS: u32 = 10;

/// How long a browser may reuse the stylesheet, in seconds.
pub const STATIC_CACHE_MAX_AGE_SECONDS: u32 = 3600;

/// How a node's HTTP server behaves. Build it with `ServerOptions { admin_token: ..,
/// ..ServerOptions::default() }`.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The members' bearer token. `None`: no member routes at all (a public mirror, or a node
    /// whose members sign with the CLI offline).
    pub admin_token: Option<AdminToken>,
    /// Largest request body, in bytes ([`REQUEST_BODY_BYTES_MAX`] by default).
    pub request_bytes_max: usize,
    /// Longest time a request may take ([`REQUEST_TIMEOUT`] by default).
    pub request_timeout: Duration,
    /// Most requests served at once ([`REQUESTS_IN_FLIGHT_MAX`] by default).
    pub requests_in_flight_max: usize,
    /// `max-age` of projection-derived public responses, in seconds
    /// ([`PUBLIC_CACHE_MAX_AGE_SECONDS`] by default).
    pub public_max_age_seconds: u32,
    /// The rate limit per client address ([`RateLimit::default`]); `None` turns it off.
    pub rate_limit: Option<RateLimit>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (empty: the peer is the client).
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            admin_token: None,
            request_bytes_max: REQUEST_BODY_BYTES_MAX,
            request_timeout: REQUEST_TIMEOUT,
            requests_in_flight_max: REQUESTS_IN_FLIGHT_MAX,
            public_max_age_seconds: PUBLIC_CACHE_MAX_AGE_SECONDS,
            rate_limit: Some(RateLimit::default()),
            trusted_proxies: Vec::new(),
        }
    }
}
