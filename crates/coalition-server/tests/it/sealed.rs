//! Members seal sensitive data through the member API (issue 8, PROTOCOL §7.1 and §14): the
//! case routes move it into sealed records, the member view reads it back, shredding makes it
//! unreadable, and nothing sensitive ever reaches a clear event. Every test checks the feed's
//! clear events for the marker string, and that the member view shows it.

use axum::http::{Method, StatusCode};
use coalition_core::body::EventKind;
use coalition_core::event::EventId;
use coalition_node::Node;
use serde_json::{Value, json};

use crate::fixtures::{Call, REAL_NAME, Reply, app, node, slug};
use crate::reports::sealing_node;

const MARKER: &str = "MARKER-5e4a";

/// The note text of every event in `ccl`'s feed.
fn feed_texts(node: &Node) -> Vec<String> {
    node.read_feed(&slug("ccl"), 1, 10_000).expect("feed").iter().map(|event| event.note().to_owned()).collect()
}

/// Asserts that no event of the feed carries `MARKER` in clear.
fn assert_no_marker_in_clear(node: &Node) {
    for text in feed_texts(node) {
        assert!(!text.contains(MARKER), "a clear event carries sensitive data: {text}");
    }
}

/// The kinds of the events in `ccl`'s feed, in order.
fn feed_kinds(node: &Node) -> Vec<String> {
    feed_texts(node)
        .iter()
        .map(|text| {
            let line = text.lines().nth(1).expect("body line");
            let event: Value = serde_json::from_str(line).expect("event JSON");
            event["kind"].as_str().expect("kind").to_owned()
        })
        .collect()
}

async fn open(router: &axum::Router) -> EventId {
    crate::fixtures::open_case(router, json!({ "name_en": "Olena Pryklad" })).await
}

async fn case_file(router: &axum::Router, case: EventId) -> Value {
    let reply = Call::member(Method::GET, &format!("/cases/{case}/sealed")).send(router).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

/// The opened records of a case file, as (kind, fields), in feed order (the file is in (time,
/// id) order, and a test writes several records in one second).
fn opened(file: &Value) -> Vec<(String, Value)> {
    let mut records: Vec<&Value> =
        file["records"].as_array().expect("records").iter().filter(|record| record["status"] == "opened").collect();
    records.sort_by_key(|record| record["seq"].as_u64());
    records.iter().map(|record| (record["kind"].as_str().expect("kind").to_owned(), record["fields"].clone())).collect()
}

fn sealed_receipt(reply: &Reply) -> EventId {
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    EventId::parse(reply.json()["sealed"]["id"].as_str().expect("sealed.id")).expect("id")
}

#[tokio::test]
async fn a_sealed_record_is_written_read_back_and_shredded() {
    let node = sealing_node();
    let router = app(&node);
    let case = open(&router).await;
    let reply = Call::member(Method::POST, &format!("/cases/{case}/sealed"))
        .json(&json!({ "kind": "case.updated", "fields": { "phone": format!("+380 44 {MARKER}"), "witnesses": ["A", "B"] } }))
        .send(&router)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let receipt = reply.json();
    assert!(receipt["id"].is_string() && receipt["seq"] == 2, "{receipt}");
    assert_no_marker_in_clear(&node);
    assert_eq!(feed_kinds(&node), ["case.opened", "sealed"]);

    let file = case_file(&router, case).await;
    assert_eq!(file["case"], case.to_string());
    let record = &file["records"][0];
    assert_eq!(record["event"], receipt["id"]);
    assert_eq!(record["org"], "ccl");
    assert_eq!(record["seq"], 2);
    assert!(record["time"].is_string());
    assert_eq!(record["status"], "opened");
    assert_eq!(record["kind"], "case.updated");
    assert_eq!(record["fields"], json!({ "phone": format!("+380 44 {MARKER}"), "witnesses": ["A", "B"] }));

    let shred = Call::member(Method::POST, &format!("/cases/{case}/shred")).send(&router).await;
    assert_eq!(shred.status, StatusCode::OK, "{}", shred.text());
    let events = shred.json()["events"].as_array().expect("events").clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["seq"], 3);
    let file = case_file(&router, case).await;
    assert_eq!(file["records"][0]["status"], "shredded");
    assert_eq!(file["records"][0]["kind"], Value::Null);
    assert_eq!(file["records"][0]["fields"], Value::Null);
    assert!(!file.to_string().contains(MARKER));
    // Nothing left to shred.
    let again = Call::member(Method::POST, &format!("/cases/{case}/shred")).send(&router).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());
}

#[tokio::test]
async fn opening_and_updating_a_case_seals_sensitive_fields() {
    let node = sealing_node();
    let router = app(&node);
    let reply = Call::member(Method::POST, "/cases")
        .json(&json!({
            "facts": { "name_en": "Olena Pryklad", "health": format!("diabetes {MARKER}") },
            "relatives_contact": format!("sister {MARKER}"),
            "sealed": { "children": format!("two {MARKER}"), "address_occupied": ["Melitopol", MARKER] }
        }))
        .send(&router)
        .await;
    let sealed = sealed_receipt(&reply);
    let case = reply.id();
    assert_eq!(reply.json()["kind"], "case.opened");
    assert_eq!(reply.json()["seq"], 1);
    assert_eq!(reply.json()["sealed"]["seq"], 2);
    assert_eq!(reply.header("location"), Some(format!("/api/v1/member/cases/{case}").as_str()));

    let update = Call::member(Method::PATCH, &format!("/cases/{case}"))
        .json(&json!({ "facts": { "stage": "trial" }, "lawyer_contact": format!("lawyer {MARKER}") }))
        .send(&router)
        .await;
    sealed_receipt(&update);
    // Only sensitive data: only a sealed record.
    let only = Call::member(Method::PATCH, &format!("/cases/{case}"))
        .json(&json!({ "sealed": { "witnesses": format!("neighbour {MARKER}") } }))
        .send(&router)
        .await;
    assert_eq!(only.status, StatusCode::CREATED, "{}", only.text());
    assert_eq!(only.json()["kind"], "sealed");
    assert_eq!(only.json()["sealed"], true);
    // A plain update writes no sealed record.
    let plain = Call::member(Method::PATCH, &format!("/cases/{case}"))
        .json(&json!({ "facts": { "stage": "appeal" } }))
        .send(&router)
        .await;
    assert_eq!(plain.status, StatusCode::CREATED, "{}", plain.text());
    assert!(plain.json().get("sealed").is_none());

    assert_no_marker_in_clear(&node);
    assert_eq!(
        feed_kinds(&node),
        ["case.opened", "sealed", "case.updated", "sealed", "sealed", "case.updated"],
        "each sealed record right after its clear event"
    );
    let file = case_file(&router, case).await;
    assert!(file["records"].as_array().expect("records").iter().any(|record| record["event"] == sealed.to_string()));
    assert_eq!(
        opened(&file),
        [
            (
                "case.opened".to_owned(),
                json!({
                    "address_occupied": ["Melitopol", MARKER],
                    "children": format!("two {MARKER}"),
                    "health": format!("diabetes {MARKER}"),
                    "relatives_contact": format!("sister {MARKER}"),
                })
            ),
            ("case.updated".to_owned(), json!({ "lawyer_contact": format!("lawyer {MARKER}") })),
            ("case.updated".to_owned(), json!({ "witnesses": format!("neighbour {MARKER}") })),
        ]
    );
    // The public side shows the case, never the sealed data.
    let person = Call::get(format!("/api/v1/persons/{case}")).send(&router).await;
    assert!(!person.text().contains(MARKER));
}

#[tokio::test]
async fn a_sensitive_sign_is_only_sealed_and_a_public_sign_stays_clear() {
    let node = sealing_node();
    let router = app(&node);
    let case = open(&router).await;
    let reply = Call::member(Method::POST, &format!("/cases/{case}/signs"))
        .json(&json!({ "sign": "special_services_cooperation", "note": format!("contact via {MARKER}") }))
        .send(&router)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(reply.json()["sealed"], true);
    assert_eq!(reply.json()["seq"], 2);
    let public = Call::member(Method::POST, &format!("/cases/{case}/signs"))
        .json(&json!({ "sign": "free_speech" }))
        .send(&router)
        .await;
    assert_eq!(public.status, StatusCode::CREATED, "{}", public.text());
    assert!(public.json().get("sealed").is_none());
    assert_eq!(feed_kinds(&node), ["case.opened", "sealed", "sign.noted"]);
    assert!(
        feed_texts(&node).iter().all(|text| !text.contains("special_services_cooperation")),
        "the sensitive sign is never named in clear"
    );
    assert_no_marker_in_clear(&node);
    let file = case_file(&router, case).await;
    assert_eq!(
        opened(&file),
        [(
            "sign.noted".to_owned(),
            json!({ "note": format!("contact via {MARKER}"), "sign": "special_services_cooperation" })
        )]
    );
    // The member view of the case lists only the public sign.
    let detail = Call::member(Method::GET, &format!("/cases/{case}")).send(&router).await;
    assert_eq!(detail.json()["signs"], json!([{ "sign": "free_speech", "org": "ccl" }]));
}

#[tokio::test]
async fn the_deliberation_on_an_exclusion_is_sealed() {
    let node = sealing_node();
    let router = app(&node);
    let case = open(&router).await;
    let raise = Call::member(Method::POST, &format!("/cases/{case}/exclusion"))
        .json(
            &json!({ "ground": "general_crime", "deliberation": format!("court papers {MARKER}"), "sources": MARKER }),
        )
        .send(&router)
        .await;
    sealed_receipt(&raise);
    let withdraw = Call::member(Method::DELETE, &format!("/cases/{case}/exclusion"))
        .json(&json!({ "deliberation": format!("new evidence {MARKER}") }))
        .send(&router)
        .await;
    sealed_receipt(&withdraw);
    assert_eq!(feed_kinds(&node), ["case.opened", "exclusion.raised", "sealed", "exclusion.withdrawn", "sealed"]);
    assert_no_marker_in_clear(&node);
    let file = case_file(&router, case).await;
    assert_eq!(
        opened(&file),
        [
            (
                "exclusion.raised".to_owned(),
                json!({ "deliberation": format!("court papers {MARKER}"), "sources": MARKER })
            ),
            ("exclusion.withdrawn".to_owned(), json!({ "deliberation": format!("new evidence {MARKER}") })),
        ]
    );
    // Without a body, a withdrawal is as before.
    Call::member(Method::POST, &format!("/cases/{case}/exclusion"))
        .json(&json!({ "ground": "war_crimes" }))
        .send(&router)
        .await
        .id();
    let bare = Call::member(Method::DELETE, &format!("/cases/{case}/exclusion")).send(&router).await;
    assert_eq!(bare.status, StatusCode::CREATED, "{}", bare.text());
    assert!(bare.json().get("sealed").is_none());
    let unknown = Call::member(Method::DELETE, &format!("/cases/{case}/exclusion"))
        .json(&json!({ "ground": "war_crimes" }))
        .send(&router)
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text());
    assert_eq!(unknown.code(), "unknown_field");
}

#[tokio::test]
async fn hostile_sealed_input_is_refused_and_nothing_is_signed() {
    let node = sealing_node();
    let router = app(&node);
    let case = open(&router).await;
    let sealed_path = format!("/cases/{case}/sealed");
    let long = "x".repeat(coalition_core::seal::SEALED_TEXT_CHARS_MAX + 1);
    let many: serde_json::Map<String, Value> =
        (0..=coalition_core::seal::SEALED_FIELDS_MAX).map(|index| (format!("f{index}"), json!("x"))).collect();
    let cases: Vec<(&str, Method, String, Value, StatusCode, &str)> = vec![
        (
            "number",
            Method::POST,
            sealed_path.clone(),
            json!({ "kind": "case.updated", "fields": { "phone": 380 } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "object",
            Method::POST,
            sealed_path.clone(),
            json!({ "kind": "case.updated", "fields": { "phone": { "a": "b" } } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "list of non-texts",
            Method::POST,
            sealed_path.clone(),
            json!({ "kind": "case.updated", "fields": { "phone": ["a", 1] } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "null",
            Method::POST,
            sealed_path.clone(),
            json!({ "kind": "case.updated", "fields": { "phone": null } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "unknown kind",
            Method::POST,
            sealed_path.clone(),
            json!({ "kind": "case.gossip", "fields": { "phone": "1" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "fields not an object",
            Method::POST,
            sealed_path.clone(),
            json!({ "kind": "case.updated", "fields": "1" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "no fields",
            Method::POST,
            sealed_path.clone(),
            json!({ "kind": "case.updated", "fields": {} }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "bad name",
            Method::POST,
            sealed_path.clone(),
            json!({ "kind": "case.updated", "fields": { "Phone Number": "1" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "bidi",
            Method::POST,
            sealed_path.clone(),
            json!({ "kind": "case.updated", "fields": { "phone": "a\u{202E}b" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "oversized text",
            Method::POST,
            sealed_path.clone(),
            json!({ "kind": "case.updated", "fields": { "phone": long } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "too many fields",
            Method::POST,
            sealed_path.clone(),
            json!({ "kind": "case.updated", "fields": many }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "extra request field",
            Method::POST,
            sealed_path.clone(),
            json!({ "kind": "case.updated", "fields": { "phone": "1" }, "case": "x" }),
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
        (
            "number on open",
            Method::POST,
            "/cases".to_owned(),
            json!({ "facts": { "name_en": "A" }, "phone": 380 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "sealed not an object",
            Method::POST,
            "/cases".to_owned(),
            json!({ "facts": { "name_en": "A" }, "sealed": ["x"] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "sealed value an object",
            Method::PATCH,
            format!("/cases/{case}"),
            json!({ "sealed": { "children": { "n": 2 } } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "unknown request field",
            Method::POST,
            "/cases".to_owned(),
            json!({ "facts": { "name_en": "A" }, "gossip": "x" }),
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
        (
            "note a number",
            Method::POST,
            format!("/cases/{case}/signs"),
            json!({ "sign": "defence_formations", "note": 1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "deliberation a number",
            Method::POST,
            format!("/cases/{case}/exclusion"),
            json!({ "ground": "war_crimes", "deliberation": 1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_sealed_record",
        ),
        (
            "unknown case",
            Method::POST,
            format!("/cases/{}/sealed", "a".repeat(64)),
            json!({ "kind": "case.updated", "fields": { "phone": "1" } }),
            StatusCode::NOT_FOUND,
            "unknown_reference",
        ),
    ];
    for (what, method, path, body, status, code) in cases {
        let reply = Call::member(method, &path).json(&body).send(&router).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.text());
        assert_eq!(reply.code(), code, "{what}");
        assert!(!reply.json()["error"]["message"].as_str().unwrap_or_default().is_empty(), "{what}");
    }
    assert_eq!(feed_kinds(&node), ["case.opened"], "nothing was signed");
    for path in [format!("/cases/{}/sealed", "a".repeat(64)), format!("/cases/{}/shred", "a".repeat(64))] {
        let method = if path.ends_with("shred") { Method::POST } else { Method::GET };
        let reply = Call::member(method, &path).send(&router).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}: {}", reply.text());
    }
}

#[tokio::test]
async fn a_node_without_identity_refuses_to_seal_and_never_writes_clear() {
    let node = node(Some("ccl"), REAL_NAME);
    let router = app(&node);
    let case = open(&router).await;
    let requests: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            format!("/cases/{case}/sealed"),
            json!({ "kind": "case.updated", "fields": { "phone": MARKER } }),
        ),
        (Method::POST, "/cases".to_owned(), json!({ "facts": { "name_en": "A" }, "relatives_contact": MARKER })),
        (
            Method::PATCH,
            format!("/cases/{case}"),
            json!({ "facts": { "stage": "trial" }, "sealed": { "children": MARKER } }),
        ),
        (Method::PATCH, format!("/cases/{case}"), json!({ "health": MARKER })),
        (Method::POST, format!("/cases/{case}/signs"), json!({ "sign": "defence_formations" })),
        (Method::POST, format!("/cases/{case}/exclusion"), json!({ "ground": "war_crimes", "deliberation": MARKER })),
    ];
    for (method, path, body) in requests {
        let reply = Call::member(method.clone(), &path).json(&body).send(&router).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{method} {path}: {}", reply.text());
        assert_eq!(reply.code(), "cannot_seal");
        assert!(reply.json()["error"]["message"].as_str().is_some_and(|message| message.contains("--identity")));
    }
    for (method, path) in
        [(Method::GET, format!("/cases/{case}/sealed")), (Method::POST, format!("/cases/{case}/shred"))]
    {
        let reply = Call::member(method, &path).send(&router).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{path}: {}", reply.text());
        assert!(reply.json()["error"]["message"].as_str().is_some_and(|message| message.contains("--identity")));
    }
    assert_eq!(feed_kinds(&node), ["case.opened"], "nothing signed, nothing in clear");
    // Public data still goes through.
    let plain = Call::member(Method::PATCH, &format!("/cases/{case}"))
        .json(&json!({ "facts": { "stage": "trial" } }))
        .send(&router)
        .await;
    assert_eq!(plain.status, StatusCode::CREATED, "{}", plain.text());
}

#[tokio::test]
async fn the_raw_events_path_refuses_sensitive_data_in_clear() {
    let node = sealing_node();
    let router = app(&node);
    let case = open(&router).await;
    let bodies = [
        (EventKind::SignNoted, json!({ "case": case, "sign": "security_service_past" }), "sign"),
        (EventKind::CaseUpdated, json!({ "case": case, "facts": { "phone": MARKER } }), "facts.phone"),
        (EventKind::ExclusionRaised, json!({ "case": case, "ground": "war_crimes", "reasoning": MARKER }), "reasoning"),
        (
            EventKind::CaseOpened,
            json!({ "facts": { "name_en": "A", "relatives_contact": MARKER } }),
            "facts.relatives_contact",
        ),
    ];
    for (kind, body, path) in bodies {
        let reply = Call::member(Method::POST, "/events")
            .json(&json!({ "kind": kind.as_str(), "body": body }))
            .send(&router)
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{kind}: {}", reply.text());
        assert_eq!(reply.code(), "sensitive_data");
        assert_eq!(reply.json()["error"]["path"], format!("body.{path}"));
        let message = reply.json()["error"]["message"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains("/sealed"), "names the sealed alternative: {message}");
    }
    // A ciphertext cannot be submitted either: the node seals.
    let sealed = Call::member(Method::POST, "/events")
        .json(&json!({ "kind": "sealed", "body": { "ciphertext": "AAAA", "key": "0".repeat(32) } }))
        .send(&router)
        .await;
    assert_eq!(sealed.status, StatusCode::CONFLICT, "{}", sealed.text());
    assert_eq!(feed_kinds(&node), ["case.opened"]);
}
