//! `/metrics`: counters kept by the request layers and gauges read from the node when scraped,
//! written in the Prometheus text exposition format (version 0.0.4).
//!
//! **Why written here rather than with the `metrics` crates.** A dozen series, one histogram
//! and a text format that fits on a page: a registry, a recorder and an exporter crate would
//! bring more code than they save, and the exposition is checked line by line by the tests.
//!
//! **Where it is served.** Not on the public address: the router from
//! [`crate::routers`]`().metrics` is meant for its own listener (`coalition serve
//! --metrics-listen 127.0.0.1:9464`), reachable by the operator's scraper only. Nothing in it is
//! personal (counts of requests by route template, never paths with ids or queries, and counts
//! the public list shows anyway), but the quarantine size and the outbox length describe the
//! node's health to an attacker timing an attack, and scraping must not compete with the
//! public's rate limit.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use coalition_node::Node;

use crate::error::ApiError;
use crate::member::blocking;

/// Upper bounds of the latency histogram's buckets, in seconds (`+Inf` follows).
pub const LATENCY_BUCKETS_SECONDS: [f64; 12] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// The route label of a request that matched no route (so 404 floods cannot mint labels).
pub(crate) const UNMATCHED_ROUTE: &str = "unmatched";

/// The counters the request layers add to.
#[derive(Default)]
pub(crate) struct Metrics {
    /// Requests by (route template, status class like "2xx").
    requests: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Cumulative counts per bucket of [`LATENCY_BUCKETS_SECONDS`], then `+Inf`.
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_SECONDS.len() + 1],
    latency_sum_micros: AtomicU64,
    rate_limited: AtomicU64,
}

/// The class label of a status code.
fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

impl Metrics {
    /// Counts one answered request of `route` (a template from [`crate::routes`] or
    /// [`UNMATCHED_ROUTE`]).
    pub(crate) fn record(&self, route: &'static str, status: u16, latency: Duration) {
        {
            let mut requests = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *requests.entry((route, status_class(status))).or_insert(0) += 1;
        }
        let seconds = latency.as_secs_f64();
        let first = LATENCY_BUCKETS_SECONDS.iter().position(|bound| seconds <= *bound);
        let start = first.unwrap_or(LATENCY_BUCKETS_SECONDS.len());
        for bucket in &self.latency_buckets[start..] {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.latency_sum_micros.fetch_add(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Counts one request refused by the rate limit.
    pub(crate) fn record_rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }
}

/// What the node says when scraped.
struct NodeGauges {
    version: u64,
    events: u64,
    feeds: usize,
    list_entries: usize,
    detained_now: usize,
    quarantined: Option<u64>,
    outbox: Option<u64>,
}

fn node_gauges(node: &Node) -> NodeGauges {
    let heads = node.heads();
    let events = heads.values().map(|(seq, _)| *seq).sum();
    let (list_entries, detained_now) = node.with_projection(|projection| {
        let counts = projection.counts();
        (counts.in_list, counts.detained_now)
    });
    let quarantined = node.quarantine_count().ok();
    let outbox = match node.org() {
        None => Some(0),
        Some(org) => {
            let head = heads.get(org).map_or(0, |(seq, _)| *seq);
            node.published_seq().ok().map(|published| head.saturating_sub(published))
        }
    };
    NodeGauges { version: node.version(), events, feeds: heads.len(), list_entries, detained_now, quarantined, outbox }
}

fn series(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
}

/// The exposition text of `metrics` and `node`.
fn render(metrics: &Metrics, gauges: &NodeGauges) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP coalition_http_requests_total HTTP requests answered, by route template and status class.\n\
         # TYPE coalition_http_requests_total counter"
    );
    let requests = metrics.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    for ((route, class), count) in requests {
        let _ = writeln!(out, "coalition_http_requests_total{{route=\"{route}\",status=\"{class}\"}} {count}");
    }
    let _ = writeln!(
        out,
        "# HELP coalition_http_request_duration_seconds Time from a request's arrival to its response head.\n\
         # TYPE coalition_http_request_duration_seconds histogram"
    );
    for (index, bucket) in metrics.latency_buckets.iter().enumerate() {
        let bound = LATENCY_BUCKETS_SECONDS.get(index).map_or_else(|| "+Inf".to_owned(), f64::to_string);
        let _ = writeln!(
            out,
            "coalition_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
            bucket.load(Ordering::Relaxed)
        );
    }
    let count = metrics.latency_buckets[LATENCY_BUCKETS_SECONDS.len()].load(Ordering::Relaxed);
    let sum = metrics.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
    let _ = writeln!(out, "coalition_http_request_duration_seconds_sum {sum}");
    let _ = writeln!(out, "coalition_http_request_duration_seconds_count {count}");
    series(
        &mut out,
        "coalition_http_rate_limited_total",
        "counter",
        "Requests refused with 429 by the per-address rate limit.",
        metrics.rate_limited.load(Ordering::Relaxed),
    );
    series(&mut out, "coalition_projection_version", "gauge", "The node's projection version.", gauges.version);
    series(&mut out, "coalition_events", "gauge", "Verified events held, all feeds.", gauges.events);
    series(&mut out, "coalition_feeds", "gauge", "Feeds the node holds events of.", gauges.feeds);
    series(&mut out, "coalition_list_entries", "gauge", "Entries of the joint list.", gauges.list_entries);
    series(&mut out, "coalition_detained_now", "gauge", "People of the list detained now.", gauges.detained_now);
    if let Some(quarantined) = gauges.quarantined {
        series(&mut out, "coalition_quarantine_inputs", "gauge", "Refused inputs kept in quarantine.", quarantined);
    }
    if let Some(outbox) = gauges.outbox {
        series(&mut out, "coalition_outbox_events", "gauge", "Own events not yet published for replication.", outbox);
    }
    out
}

#[derive(Clone)]
struct MetricsState {
    node: Node,
    metrics: std::sync::Arc<Metrics>,
}

/// The router of the metrics listener: `GET /metrics` only.
pub(crate) fn routes(node: Node, metrics: std::sync::Arc<Metrics>) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(MetricsState { node, metrics })
}

async fn scrape(State(state): State<MetricsState>) -> Result<Response, ApiError> {
    let node = state.node.clone();
    let gauges = blocking(move || node_gauges(&node)).await?;
    let text = render(&state.metrics, &gauges);
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8")),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        text,
    )
        .into_response())
}
