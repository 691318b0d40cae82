//! HTTP around every route: compression and validators per encoding, the rate limit per client
//! address, and the metrics the requests leave.

use std::io::Read;

use axum::http::StatusCode;
use coalition_server::{RateLimit, ServerOptions};
use serde_json::json;

use crate::fixtures::{Call, REAL_NAME, app, node, token};
use crate::public::listed_case;

/// Bodies big enough to be worth compressing: a list of a few people.
async fn small_list() -> (axum::Router, coalition_node::Node) {
    let ccl = node(Some("ccl"), REAL_NAME);
    let zmina = node(Some("zmina"), REAL_NAME);
    let router = app(&ccl);
    for index in 0..5 {
        listed_case(&ccl, &zmina, &router, json!({ "name_en": format!("Person {index}"), "region": "crimea" })).await;
    }
    (router, ccl)
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("gzip");
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096).read_to_end(&mut out).expect("brotli");
    out
}

#[tokio::test]
async fn responses_are_compressed_as_accepted_and_one_weak_etag_serves_every_encoding() {
    let (router, _ccl) = small_list().await;
    for path in ["/", "/api/v1/list", "/api/v1/list.csv", "/stats", "/static/site.css", "/api/v1/openapi.json"] {
        let identity = Call::get(path).send(&router).await;
        assert_eq!(identity.status, StatusCode::OK, "{path}");
        assert_eq!(identity.header("content-encoding"), None, "{path}: nothing asked, nothing compressed");
        let gzip = Call::get(path).header("accept-encoding", "gzip").send(&router).await;
        assert_eq!(gzip.header("content-encoding"), Some("gzip"), "{path}");
        assert_eq!(gunzip(&gzip.body), identity.body, "{path}");
        let brotli = Call::get(path).header("accept-encoding", "br;q=1, gzip;q=0.5").send(&router).await;
        assert_eq!(brotli.header("content-encoding"), Some("br"), "{path}");
        assert_eq!(unbrotli(&brotli.body), identity.body, "{path}");
        assert!(brotli.body.len() < identity.body.len(), "{path}: compression pays");
        let vary =
            brotli.headers.get_all("vary").iter().filter_map(|value| value.to_str().ok()).collect::<Vec<_>>().join(",");
        assert!(vary.to_ascii_lowercase().contains("accept-encoding"), "{path}: {vary}");
        // Projection-derived responses: the same weak validator whatever the encoding, and a
        // revalidation in another encoding still gets its 304.
        if let Some(etag) = identity.header("etag") {
            assert!(etag.starts_with("W/\""), "{path}: a weak validator, {etag}");
            assert_eq!(gzip.header("etag"), Some(etag), "{path}");
            assert_eq!(brotli.header("etag"), Some(etag), "{path}");
            let again =
                Call::get(path).header("accept-encoding", "br").header("if-none-match", etag).send(&router).await;
            assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
            assert!(again.body.is_empty());
        }
    }
}

fn limited(burst: u32) -> ServerOptions {
    ServerOptions {
        admin_token: Some(token()),
        rate_limit: Some(RateLimit { requests_per_second: 1, burst_requests: burst, ..RateLimit::default() }),
        trusted_proxies: vec!["10.0.0.1".parse().expect("address")],
        ..ServerOptions::default()
    }
}

#[tokio::test]
async fn each_client_address_has_its_own_bucket_and_an_empty_one_gets_429_with_retry_after() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let routers = coalition_server::routers(ccl, limited(3));
    let router = routers.public;
    for _ in 0..3 {
        assert_eq!(Call::get("/healthz").peer("192.0.2.1:1000").send(&router).await.status, StatusCode::OK);
    }
    let refused = Call::get("/healthz").peer("192.0.2.1:1001").send(&router).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.code(), "rate_limited");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(refused.header("content-security-policy").is_some(), "a refusal carries the security headers");
    // Another address, and another /64, are other clients; the same /64 is the same client.
    assert_eq!(Call::get("/healthz").peer("192.0.2.2:1000").send(&router).await.status, StatusCode::OK);
    for _ in 0..3 {
        assert_eq!(Call::get("/").peer("[2001:db8:0:1::1]:1").send(&router).await.status, StatusCode::OK);
    }
    assert_eq!(Call::get("/").peer("[2001:db8:0:1::ffff]:1").send(&router).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(Call::get("/").peer("[2001:db8:0:2::1]:1").send(&router).await.status, StatusCode::OK);
    // The refusals are counted.
    let metrics = Call::get("/metrics").send(&routers.metrics).await.text();
    assert!(metrics.contains("coalition_http_rate_limited_total 2\n"), "{metrics}");
}

#[tokio::test]
async fn forwarded_for_names_the_client_only_through_a_trusted_proxy() {
    let router = coalition_server::router(node(Some("ccl"), REAL_NAME), limited(1));
    // Through the trusted proxy: each forwarded client has its own bucket.
    for client in ["198.51.100.1", "198.51.100.2"] {
        let reply = Call::get("/healthz").peer("10.0.0.1:5000").header("x-forwarded-for", client).send(&router).await;
        assert_eq!(reply.status, StatusCode::OK, "{client}");
    }
    let again =
        Call::get("/healthz").peer("10.0.0.1:5000").header("x-forwarded-for", "198.51.100.1").send(&router).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    // From anyone else the header is ignored: a client cannot pick its bucket.
    let direct =
        Call::get("/healthz").peer("192.0.2.9:5000").header("x-forwarded-for", "198.51.100.3").send(&router).await;
    assert_eq!(direct.status, StatusCode::OK);
    let spoofed =
        Call::get("/healthz").peer("192.0.2.9:5000").header("x-forwarded-for", "198.51.100.4").send(&router).await;
    assert_eq!(spoofed.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn no_rate_limit_when_turned_off() {
    let options = ServerOptions { rate_limit: None, ..ServerOptions::default() };
    let router = coalition_server::router(node(Some("ccl"), REAL_NAME), options);
    for _ in 0..coalition_server::RATE_LIMIT_BURST_REQUESTS + 10 {
        assert_eq!(Call::get("/healthz").peer("192.0.2.1:1").send(&router).await.status, StatusCode::OK);
    }
}

/// The value of the series `name` (with its labels) in an exposition.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_read_the_node() {
    let (_, ccl) = small_list().await;
    let routers = coalition_server::routers(
        ccl.clone(),
        ServerOptions { admin_token: Some(token()), ..ServerOptions::default() },
    );
    let case = ccl.with_projection(|projection| projection.list_entries().next().expect("entry").case);
    Call::get("/").send(&routers.public).await;
    Call::get("/?q=secret+name").send(&routers.public).await;
    Call::get(format!("/persons/{case}")).send(&routers.public).await;
    Call::get(format!("/api/v1/persons/{}", "b".repeat(64))).send(&routers.public).await;
    Call::get("/no/such/route/with/an/id-123").send(&routers.public).await;
    assert_eq!(
        Call::get("/metrics").send(&routers.public).await.status,
        StatusCode::NOT_FOUND,
        "not on the public address"
    );

    let reply = Call::get("/metrics").send(&routers.metrics).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let text = reply.text();
    assert_eq!(sample(&text, "coalition_http_requests_total{route=\"/\",status=\"2xx\"}"), Some(2.0), "{text}");
    assert_eq!(sample(&text, "coalition_http_requests_total{route=\"/persons/{case}\",status=\"2xx\"}"), Some(1.0));
    assert_eq!(
        sample(&text, "coalition_http_requests_total{route=\"/api/v1/persons/{case}\",status=\"4xx\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "coalition_http_requests_total{route=\"unmatched\",status=\"4xx\"}"),
        Some(2.0),
        "the unknown path and /metrics asked of the public router"
    );
    assert!(
        !text.contains("secret") && !text.contains(&case.to_string()) && !text.contains("id-123"),
        "labels are templates"
    );
    assert_eq!(sample(&text, "coalition_http_request_duration_seconds_count"), Some(6.0));
    assert_eq!(sample(&text, "coalition_http_request_duration_seconds_bucket{le=\"+Inf\"}"), Some(6.0));
    let buckets: Vec<f64> = text
        .lines()
        .filter(|line| line.starts_with("coalition_http_request_duration_seconds_bucket"))
        .filter_map(|line| line.rsplit(' ').next()?.parse().ok())
        .collect();
    assert_eq!(buckets.len(), coalition_server::LATENCY_BUCKETS_SECONDS.len() + 1);
    assert!(buckets.windows(2).all(|pair| pair[0] <= pair[1]), "cumulative buckets: {buckets:?}");
    assert_eq!(sample(&text, "coalition_projection_version"), Some(ccl.version() as f64));
    let events: u64 = ccl.heads().values().map(|(seq, _)| *seq).sum();
    assert_eq!(sample(&text, "coalition_events"), Some(events as f64));
    assert_eq!(sample(&text, "coalition_list_entries"), Some(5.0));
    assert_eq!(sample(&text, "coalition_detained_now"), Some(5.0));
    assert_eq!(sample(&text, "coalition_quarantine_inputs"), Some(0.0));
    let own = ccl.heads().get(&crate::fixtures::slug("ccl")).map_or(0, |(seq, _)| *seq);
    assert_eq!(sample(&text, "coalition_outbox_events"), Some(own as f64), "nothing published without NATS");
    assert_eq!(sample(&text, "coalition_http_rate_limited_total"), Some(0.0));
    for line in text.lines().filter(|line| line.starts_with("# TYPE")) {
        assert!(["counter", "gauge", "histogram"].contains(&line.rsplit(' ').next().unwrap_or_default()), "{line}");
    }
}
