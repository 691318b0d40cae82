//! `GET /api/v1/status` (public) and `GET /api/v1/member/quarantine` (members): what they say
//! about feeds, replication, the outbox, quarantine and forks, and that hostile quarantined bytes
//! come back only as escaped JSON text.

use axum::http::{Method, StatusCode};
use coalition_node::ReplicationStatus;

use crate::fixtures::{Call, REAL_NAME, app, node, replicate};

#[tokio::test]
async fn status_lists_each_feed_and_says_when_the_node_does_not_replicate() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let zmina = node(Some("zmina"), REAL_NAME);
    let router = app(&ccl);
    for name in ["A", "B"] {
        let reply = Call::member(Method::POST, "/cases")
            .json(&serde_json::json!({"facts": {"name_en": name}}))
            .send(&router)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    let reply = Call::member(Method::POST, "/cases")
        .json(&serde_json::json!({"facts": {"name_en": "Z"}}))
        .send(&app(&zmina))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    replicate(&zmina, &ccl, "zmina");

    let reply = Call::get("/api/v1/status").send(&router).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["org"], "ccl");
    assert_eq!(body["ledger"], ccl.genesis().ledger_id().to_string());
    let feeds: Vec<(String, u64)> = body["feeds"]
        .as_array()
        .expect("feeds")
        .iter()
        .map(|feed| (feed["org"].as_str().expect("org").to_owned(), feed["head_seq"].as_u64().expect("seq")))
        .collect();
    assert_eq!(feeds, vec![("ccl".to_owned(), 2), ("zmina".to_owned(), 1)]);
    assert_eq!(body["feeds"][0]["head_id"], ccl.heads()[&crate::fixtures::slug("ccl")].1.to_string());
    assert!(body.get("replication").is_none(), "not replicating: {body}");
    // Nothing was published: both own events wait in the outbox.
    assert_eq!(body["outbox"], 2);
    assert_eq!(body["quarantined"], 0);
    assert_eq!(body["fork_proofs"], 0);

    ccl.mark_published(2).expect("cursor");
    ccl.set_replication_status(ReplicationStatus {
        connected: true,
        stream_last_seq: 9,
        applied_stream_seq: 7,
        lag_messages: 2,
        updated_unix_s: 1_800_000_000,
    });
    let body = Call::get("/api/v1/status").send(&router).await.json();
    assert_eq!(body["outbox"], 0);
    assert_eq!(
        body["replication"],
        serde_json::json!({"connected": true, "stream_last_seq": 9, "applied_stream_seq": 7, "lag_messages": 2, "updated_unix_s": 1_800_000_000})
    );
}

#[tokio::test]
async fn the_quarantine_is_for_members_and_never_hands_back_raw_bytes() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let router = app(&ccl);
    let hostile: Vec<u8> = b"<script>alert(1)</script>\x1b[2J\xff\xfe\x00 \xe2\x80\xae evil".to_vec();
    ccl.quarantine(&hostile, "not a note\u{7}").expect("quarantine");
    let long = vec![b'x'; 5_000];
    ccl.quarantine(&long, "too long").expect("quarantine");

    let reply = Call::get("/api/v1/member/quarantine").send(&router).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "members only");
    assert_eq!(Call::get("/api/v1/status").send(&router).await.json()["quarantined"], 2);

    let reply = Call::member(Method::GET, "/quarantine").send(&router).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let text = reply.text();
    for raw in ["\u{1b}", "\u{202e}", "\u{7}", "\\u001b", "\\u0007"] {
        assert!(!text.contains(raw), "{raw:?} must be escaped as text: {text}");
    }
    let body = reply.json();
    assert_eq!(body["total"], 2);
    assert!(body.get("next").is_none());
    let first = &body["items"][0];
    assert_eq!(first["id"], 1);
    assert_eq!(first["reason"], "not a note\\u{7}");
    assert_eq!(first["bytes"], hostile.len() as u64);
    assert_eq!(first["excerpt_cut"], false);
    let excerpt = first["excerpt"].as_str().expect("excerpt");
    assert!(excerpt.starts_with("<script>alert(1)</script>\\u{1b}[2J"), "{excerpt}");
    assert!(excerpt.contains("\\u{202e}"), "{excerpt}");
    assert_eq!(first["blake3"].as_str().map(str::len), Some(64));
    let second = &body["items"][1];
    assert_eq!(second["bytes"], 5_000);
    assert_eq!(second["excerpt_cut"], true);
    assert_eq!(second["excerpt"].as_str().map(str::len), Some(coalition_server::QUARANTINE_EXCERPT_BYTES_MAX));

    let page = Call::member(Method::GET, "/quarantine?from=2&limit=1").send(&router).await.json();
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["items"][0]["id"], 2);
    assert_eq!(page["next"], 3);
    let refused = Call::member(Method::GET, "/quarantine?limit=0").send(&router).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let refused = Call::member(Method::GET, "/quarantine?what=1").send(&router).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
}
