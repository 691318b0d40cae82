//! The limits every request is held to: time and requests in flight.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode};
use coalition_server::ServerOptions;
use http_body::Frame;
use serde_json::json;
use tower::ServiceExt;

use crate::fixtures::{Call, REAL_NAME, TOKEN, node, token};

/// A request body whose sender never finishes.
struct Stalled;

impl http_body::Body for Stalled {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Pending
    }
}

#[tokio::test]
async fn a_request_that_takes_too_long_gets_503_saying_so() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let options = ServerOptions {
        admin_token: Some(token()),
        request_timeout: Duration::from_millis(100),
        ..ServerOptions::default()
    };
    let router = coalition_server::router(ccl.clone(), options);
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/member/cases")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Body::new(Stalled))
        .expect("request");
    let response = router.oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
    let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(body["error"]["code"], "timeout");
    assert!(body["error"]["message"].as_str().is_some_and(|message| message.contains("may still have been recorded")));
    assert_eq!(ccl.version(), 0, "nothing was signed");
}

#[tokio::test]
async fn beyond_the_requests_in_flight_the_node_sheds_load() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let options = ServerOptions { admin_token: Some(token()), requests_in_flight_max: 0, ..ServerOptions::default() };
    let router = coalition_server::router(ccl, options);
    let reply = Call::get("/api/v1/list").send(&router).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.code(), "overloaded");
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "security headers even then");
}

#[tokio::test]
async fn a_smaller_body_limit_is_obeyed() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let options = ServerOptions { admin_token: Some(token()), request_bytes_max: 64, ..ServerOptions::default() };
    let router = coalition_server::router(ccl, options);
    let body = json!({ "facts": { "name_en": "A name long enough to pass sixty-four bytes of JSON" } });
    let reply = Call::member(Method::POST, "/cases").json(&body).send(&router).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply.json()["error"]["message"].as_str().is_some_and(|message| message.contains("64 bytes")));
}
