//! The rate limit per client address: a token bucket per address (an IPv6 address counts by its
//! /64, the block one subscriber usually holds), in a table of bounded size.
//!
//! The table holds at most [`RateLimit::clients_max`] buckets; a new address beyond that evicts
//! the address first seen longest ago (a queue in arrival order, so eviction costs O(1)), so a
//! flood of distinct addresses cannot grow memory without bound. An evicted address starts again
//! with a full bucket: an attacker with that many addresses gains nothing it did not already
//! have by spreading its requests over them.
//!
//! Behind a reverse proxy every request comes from the proxy's address; with
//! [`crate::ServerOptions::trusted_proxies`] the client is the right-most `X-Forwarded-For`
//! address that is not itself a trusted proxy, and only when the connection comes from one.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::HeaderMap;

/// Requests a client may make per second, sustained.
pub const RATE_LIMIT_REQUESTS_PER_SECOND: u32 = 50;

/// Requests a client may make at once after being idle (the bucket's size): a page, its
/// stylesheet and a few clicks, with room to spare.
pub const RATE_LIMIT_BURST_REQUESTS: u32 = 200;

/// Most client addresses tracked at once (about 64 bytes each: 4 MiB at most).
pub const RATE_LIMIT_CLIENTS_MAX: usize = 65_536;

/// Longest `X-Forwarded-For` header read, in bytes.
const FORWARDED_FOR_BYTES_MAX: usize = 1024;

/// How fast one client may ask. `ServerOptions::rate_limit: None` turns the limit off (for a
/// node behind a proxy that limits, or a benchmark).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Tokens added per second ([`RATE_LIMIT_REQUESTS_PER_SECOND`] by default).
    pub requests_per_second: u32,
    /// Size of the bucket ([`RATE_LIMIT_BURST_REQUESTS`] by default).
    pub burst_requests: u32,
    /// Most addresses tracked ([`RATE_LIMIT_CLIENTS_MAX`] by default).
    pub clients_max: usize,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            requests_per_second: RATE_LIMIT_REQUESTS_PER_SECOND,
            burst_requests: RATE_LIMIT_BURST_REQUESTS,
            clients_max: RATE_LIMIT_CLIENTS_MAX,
        }
    }
}

/// Whom a bucket belongs to: an IPv4 address, or the /64 prefix of an IPv6 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    V4(u32),
    V6Prefix(u64),
}

impl ClientKey {
    pub(crate) fn of(address: IpAddr) -> Self {
        match address.to_canonical() {
            IpAddr::V4(v4) => Self::V4(u32::from(v4)),
            IpAddr::V6(v6) => Self::V6Prefix((u128::from(v6) >> 64) as u64),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Default)]
struct Table {
    buckets: HashMap<ClientKey, Bucket>,
    /// Keys in the order they were first seen; the same keys as `buckets`.
    arrival: VecDeque<ClientKey>,
}

/// The buckets of every client seen recently.
pub(crate) struct RateLimiter {
    limit: RateLimit,
    /// Tokens added per second; below one for the slow limits of the report form.
    rate_per_second: f64,
    table: Mutex<Table>,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self::with_rate(f64::from(limit.requests_per_second.max(1)), limit.burst_requests, limit.clients_max)
    }

    /// A limiter adding `rate_per_second` tokens per second (a fraction for "so many per
    /// hour"), with buckets of `burst_requests`, tracking at most `clients_max` clients.
    pub(crate) fn with_rate(rate_per_second: f64, burst_requests: u32, clients_max: usize) -> Self {
        let limit =
            RateLimit { requests_per_second: rate_per_second.ceil().max(1.0) as u32, burst_requests, clients_max };
        Self { limit, rate_per_second: rate_per_second.max(f64::MIN_POSITIVE), table: Mutex::new(Table::default()) }
    }

    /// Takes a token for `client` at `now`; `Err(seconds)` when the bucket is empty, with the
    /// whole seconds until the next token (at least 1) for `Retry-After`.
    pub(crate) fn check(&self, client: ClientKey, now: Instant) -> Result<(), u64> {
        let rate = self.rate_per_second;
        let burst = f64::from(self.limit.burst_requests.max(1));
        let mut table = self.table.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !table.buckets.contains_key(&client) {
            while table.buckets.len() >= self.limit.clients_max.max(1) {
                let Some(oldest) = table.arrival.pop_front() else { break };
                table.buckets.remove(&oldest);
            }
            table.buckets.insert(client, Bucket { tokens: burst, updated: now });
            table.arrival.push_back(client);
        }
        let Some(bucket) = table.buckets.get_mut(&client) else { return Ok(()) };
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
        }
    }

    /// How many clients are tracked now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        let table = self.table.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        debug_assert_eq!(table.buckets.len(), table.arrival.len());
        table.buckets.len()
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the right-most
/// `X-Forwarded-For` address that is not a trusted proxy (the one the first trusted proxy saw).
/// A header that cannot be read leaves the peer's address.
pub(crate) fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|proxy| proxy.to_canonical() == address.to_canonical());
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(text) = value.to_str() else { return client };
        if text.len() > FORWARDED_FOR_BYTES_MAX {
            return client;
        }
        for hop in text.rsplit(',') {
            let Ok(address) = hop.trim().parse::<IpAddr>() else { return client };
            client = address;
            if !is_trusted(&address) {
                return address;
            }
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    #[test]
    fn a_bucket_empties_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(RateLimit { requests_per_second: 2, burst_requests: 3, clients_max: 10 });
        let client = ClientKey::of(ip("192.0.2.1"));
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(client, start), Ok(()));
        }
        assert_eq!(limiter.check(client, start), Err(1));
        assert_eq!(limiter.check(ClientKey::of(ip("192.0.2.2")), start), Ok(()), "another client has its own");
        assert_eq!(limiter.check(client, start + Duration::from_millis(500)), Ok(()), "one token back");
        assert_eq!(limiter.check(client, start + Duration::from_millis(500)), Err(1));
    }

    #[test]
    fn a_slow_limit_refills_by_the_fraction_of_a_token() {
        let limiter = RateLimiter::with_rate(1.0 / 60.0, 2, 10);
        let client = ClientKey::of(ip("192.0.2.1"));
        let start = Instant::now();
        assert_eq!(limiter.check(client, start), Ok(()));
        assert_eq!(limiter.check(client, start), Ok(()));
        assert_eq!(limiter.check(client, start), Err(60), "a minute until the next token");
        assert_eq!(limiter.check(client, start + Duration::from_secs(30)), Err(30));
        assert_eq!(limiter.check(client, start + Duration::from_secs(61)), Ok(()));
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_prefix_and_mapped_ipv4_as_ipv4() {
        assert_eq!(ClientKey::of(ip("2001:db8:1:2::1")), ClientKey::of(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(ClientKey::of(ip("2001:db8:1:2::1")), ClientKey::of(ip("2001:db8:1:3::1")));
        assert_eq!(ClientKey::of(ip("::ffff:192.0.2.7")), ClientKey::of(ip("192.0.2.7")));
    }

    #[test]
    fn a_flood_of_addresses_stays_within_the_table_and_evicts_the_oldest() {
        let limiter = RateLimiter::new(RateLimit { requests_per_second: 1, burst_requests: 1, clients_max: 100 });
        let now = Instant::now();
        let first = ClientKey::V4(0);
        assert_eq!(limiter.check(first, now), Ok(()));
        assert_eq!(limiter.check(first, now), Err(1));
        for n in 1..10_000u32 {
            let _ = limiter.check(ClientKey::V4(n), now);
            assert!(limiter.tracked() <= 100);
        }
        assert_eq!(limiter.tracked(), 100);
        assert_eq!(limiter.check(first, now), Ok(()), "the oldest was evicted and starts afresh");
    }

    #[test]
    fn forwarded_for_is_read_only_from_a_trusted_proxy() {
        let proxy = ip("10.0.0.1");
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9, 198.51.100.4"));
        let cases = [
            (ip("192.0.2.5"), vec![proxy], ip("192.0.2.5")),
            (proxy, vec![], proxy),
            (proxy, vec![proxy], ip("198.51.100.4")),
            (proxy, vec![proxy, ip("198.51.100.4")], ip("203.0.113.9")),
        ];
        for (peer, trusted, expected) in cases {
            assert_eq!(client_address(peer, &headers, &trusted), expected, "{peer} via {trusted:?}");
        }
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9, not-an-address"));
        assert_eq!(client_address(proxy, &headers, &[proxy]), proxy, "garbage: the proxy itself");
        assert_eq!(client_address(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }
}
