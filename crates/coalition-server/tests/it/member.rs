//! The member API: every route's happy path, and every way a request is refused.

use axum::http::{Method, StatusCode};
use coalition_core::body::EventKind;
use coalition_node::Node;
use serde_json::{Value, json};

use crate::fixtures::{Call, REAL_NAME, TOKEN, app, key, node, open_case, other_key, replicate, slug};

fn person() -> Value {
    json!({ "name_uk": "Тестова Особа", "name_en": "Test Person", "region": "crimea" })
}

/// Makes `case` listed: `ccl` asserts a criterion and endorses over HTTP, `zmina` endorses on its
/// own node, and the feeds are exchanged.
async fn list_case(ccl: &Node, router: &axum::Router, zmina: &Node, case: coalition_core::event::EventId) {
    let criterion = Call::member(Method::POST, &format!("/cases/{case}/criteria")).json(&json!({ "criterion": "a" }));
    assert_eq!(criterion.send(router).await.status, StatusCode::CREATED);
    let endorsement = Call::member(Method::POST, &format!("/cases/{case}/endorsement")).send(router).await;
    assert_eq!(endorsement.status, StatusCode::CREATED);
    replicate(ccl, zmina, "ccl");
    zmina.submit(EventKind::PersonAdded, json!({ "case": case })).expect("zmina endorses");
    replicate(zmina, ccl, "zmina");
}

#[tokio::test]
async fn case_routes_walk_a_case_through_its_life() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let zmina = node(Some("zmina"), REAL_NAME);
    let router = app(&ccl);

    let opened = Call::member(Method::POST, "/cases").json(&json!({ "facts": person() })).send(&router).await;
    assert_eq!(opened.status, StatusCode::CREATED);
    let case = opened.id();
    let receipt = opened.json();
    assert_eq!(receipt["seq"], 1);
    assert_eq!(receipt["kind"], "case.opened");
    assert_eq!(opened.header("location"), Some(format!("/api/v1/member/cases/{case}").as_str()));
    assert_eq!(opened.header("cache-control"), Some("no-store"));

    let path = |rest: &str| format!("/cases/{case}{rest}");
    let steps: Vec<(Method, String, Option<Value>, &str)> = vec![
        (
            Method::PATCH,
            path(""),
            Some(json!({ "facts": { "detention_date": "2019-03-27", "stage": "trial" } })),
            "case.updated",
        ),
        (Method::PATCH, path(""), Some(json!({ "clear": ["stage"] })), "case.updated"),
        (
            Method::POST,
            path("/criteria"),
            Some(json!({ "criterion": "a", "reasoning_uk": "Обґрунтування", "reasoning_en": "Reasoning" })),
            "criterion.asserted",
        ),
        (Method::POST, path("/criteria"), Some(json!({ "criterion": "e" })), "criterion.asserted"),
        (Method::DELETE, path("/criteria/e"), None, "criterion.withdrawn"),
        (Method::POST, path("/signs"), Some(json!({ "sign": "free_speech" })), "sign.noted"),
        (Method::POST, path("/exclusion"), Some(json!({ "ground": "general_crime" })), "exclusion.raised"),
        (Method::DELETE, path("/exclusion"), None, "exclusion.withdrawn"),
        (Method::POST, path("/endorsement"), None, "person.added"),
        (Method::DELETE, path("/endorsement"), None, "person.removed"),
        (Method::POST, path("/endorsement"), None, "person.added"),
    ];
    for (method, route, body, kind) in steps {
        let call = Call::member(method.clone(), &route);
        let reply = match &body {
            Some(body) => call.json(body).send(&router).await,
            None => call.send(&router).await,
        };
        assert_eq!(reply.status, StatusCode::CREATED, "{method} {route}: {}", reply.text());
        assert_eq!(reply.json()["kind"], kind, "{method} {route}");
    }

    // A second member endorses: the case is listed.
    replicate(&ccl, &zmina, "ccl");
    zmina.submit(EventKind::PersonAdded, json!({ "case": case })).expect("zmina endorses");
    replicate(&zmina, &ccl, "zmina");

    let detail = Call::member(Method::GET, &path("")).send(&router).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text());
    let detail = detail.json();
    assert_eq!(detail["status"], "listed");
    assert_eq!(detail["in_list"], true);
    assert_eq!(detail["facts"]["detention_date"], "2019-03-27");
    assert!(detail["facts"].get("stage").is_none(), "stage was cleared");
    assert_eq!(detail["claims"][0]["criterion"], "a");
    assert_eq!(detail["claims"][0]["reasoning_uk"], "Обґрунтування");
    assert_eq!(detail["claims"].as_array().map(Vec::len), Some(1), "criterion e was withdrawn");
    assert_eq!(detail["signs"][0], json!({ "sign": "free_speech", "org": "ccl" }));
    assert_eq!(detail["endorsements"], json!([{ "org": "ccl", "counts": true }, { "org": "zmina", "counts": true }]));
    assert_eq!(detail["exclusions"], json!([]));
    assert_eq!(detail["assessment"]["endorsements"], 2);

    for (rest, body, kind) in [
        ("/release", json!({ "date": "2026-02-01", "circumstances": "exchange" }), "person.released"),
        ("/redetention", json!({ "date": "2026-03-01" }), "person.detained"),
        ("/death", json!({ "date": "2026-04-01" }), "person.died"),
    ] {
        let reply = Call::member(Method::POST, &path(rest)).json(&body).send(&router).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{rest}: {}", reply.text());
        assert_eq!(reply.json()["kind"], kind);
    }
    let detail = Call::member(Method::GET, &path("")).send(&router).await.json();
    assert_eq!(detail["status"], "died");
    assert_eq!(detail["detention"], json!({ "state": "died", "date": "2026-04-01" }));
    let statuses: Vec<&str> =
        detail["history"].as_array().expect("history").iter().filter_map(|change| change["status"].as_str()).collect();
    assert_eq!(statuses, ["under_review", "listed", "released", "listed", "died"]);
}

#[tokio::test]
async fn governance_routes_propose_and_approve() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let zmina = node(Some("zmina"), REAL_NAME);
    let router = app(&ccl);

    // Proposals by another member, approved here: the route picks the approval kind.
    let policy_proposal = zmina
        .submit(
            EventKind::PolicyProposed,
            json!({ "policy": { "listing_quorum": 3, "governance_quorum": 2, "edition_quorum": 2, "exclusion_quorum": 2 } }),
        )
        .expect("policy proposal");
    let newcomer = other_key("newngo", 77).verifier_key().to_string();
    let admission = zmina
        .submit(EventKind::MemberProposed, json!({ "slug": "newngo", "name": "New NGO", "vkey": newcomer }))
        .expect("admission proposal");
    replicate(&zmina, &ccl, "zmina");

    let pending = Call::member(Method::GET, "/pending").send(&router).await;
    assert_eq!(pending.status, StatusCode::OK, "{}", pending.text());
    let pending = pending.json();
    assert_eq!(pending["org"], "ccl");
    let open: Vec<&str> =
        pending["open_proposals"].as_array().expect("proposals").iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(open.len(), 2);
    assert!(pending["open_proposals"].as_array().expect("proposals").iter().all(|p| p["approved_by_you"] == false));

    let approved =
        Call::member(Method::POST, &format!("/proposals/{}/approval", policy_proposal.id)).send(&router).await;
    assert_eq!(approved.status, StatusCode::CREATED, "{}", approved.text());
    assert_eq!(approved.json()["kind"], "policy.approved");
    let approved = Call::member(Method::POST, &format!("/proposals/{}/approval", admission.id)).send(&router).await;
    assert_eq!(approved.status, StatusCode::CREATED, "{}", approved.text());
    assert_eq!(approved.json()["kind"], "member.approved");
    let again = Call::member(Method::POST, &format!("/proposals/{}/approval", admission.id)).send(&router).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());
    assert_eq!(again.code(), "no_effect");

    // Proposals made here.
    let another = other_key("second-ngo", 78).verifier_key().to_string();
    let proposed = Call::member(Method::POST, "/members")
        .json(&json!({ "slug": "second-ngo", "name": "Second NGO", "vkey": another }))
        .send(&router)
        .await;
    assert_eq!(proposed.json()["kind"], "member.proposed", "{}", proposed.text());
    let removal = Call::member(Method::POST, "/members/crimea-sos/removal").send(&router).await;
    assert_eq!(removal.json()["kind"], "member.removal_proposed", "{}", removal.text());
    let policy = Call::member(Method::POST, "/policy")
        .json(&json!({ "policy": { "listing_quorum": 2, "governance_quorum": 3, "edition_quorum": 2, "exclusion_quorum": 2 } }))
        .send(&router)
        .await;
    assert_eq!(policy.json()["kind"], "policy.proposed", "{}", policy.text());

    // A rotation cannot be requested over HTTP: the node would not hold the new secret key and
    // could not continue its own feed. It is refused and nothing is signed.
    let rotated_key = other_key("ccl", 99).verifier_key().to_string();
    let rotated = Call::member(Method::POST, "/key").json(&json!({ "vkey": rotated_key })).send(&router).await;
    assert_eq!(rotated.status, StatusCode::CONFLICT, "{}", rotated.text());
    assert!(rotated.text().contains("new secret key"), "{}", rotated.text());
    let after = Call::member(Method::POST, "/cases").json(&json!({"facts": {"name_uk": "Після"}})).send(&router).await;
    assert_eq!(after.status, StatusCode::CREATED, "the feed continues: {}", after.text());
}

#[tokio::test]
async fn the_generic_route_submits_any_kind() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let router = app(&ccl);
    let reply = Call::member(Method::POST, "/events")
        .json(&json!({ "kind": "case.opened", "body": { "facts": { "name_en": "Scripted Person" } } }))
        .send(&router)
        .await;
    let case = reply.id();
    let reply = Call::member(Method::POST, "/events")
        .json(&json!({ "kind": "sign.noted", "body": { "case": case, "sign": "professional_activity" } }))
        .send(&router)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(reply.json()["seq"], 2);

    let unknown =
        Call::member(Method::POST, "/events").json(&json!({ "kind": "case.deleted", "body": {} })).send(&router).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.code(), "unknown_kind");
    assert_eq!(unknown.json()["error"]["path"], "kind");

    // Schema paths point into the request, under `body`.
    let invalid = Call::member(Method::POST, "/events")
        .json(&json!({ "kind": "case.opened", "body": { "facts": { "name_en": "X", "region": "atlantis" } } }))
        .send(&router)
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(invalid.json()["error"]["path"], "body.facts.region");
}

#[tokio::test]
async fn pending_shows_cases_one_endorsement_short() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let router = app(&ccl);
    let case = open_case(&router, person()).await;
    Call::member(Method::POST, &format!("/cases/{case}/criteria"))
        .json(&json!({ "criterion": "b" }))
        .send(&router)
        .await;
    Call::member(Method::POST, &format!("/cases/{case}/endorsement")).send(&router).await;
    let pending = Call::member(Method::GET, "/pending").send(&router).await.json();
    assert_eq!(pending["policy"]["listing_quorum"], 2);
    let short = &pending["cases_one_short"][0];
    assert_eq!(short["id"], case.to_string());
    assert_eq!(short["name_uk"], "Тестова Особа");
    assert_eq!(short["endorsed_by"], json!(["ccl"]));
    assert_eq!(short["endorsed_by_you"], true);
}

#[tokio::test]
async fn refusals_have_the_right_status_code_and_path() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let zmina = node(Some("zmina"), REAL_NAME);
    let router = app(&ccl);
    let case = open_case(&router, person()).await;

    // Schema violation, with the path of the field.
    let reply = Call::member(Method::POST, "/cases")
        .json(&json!({ "facts": { "name_en": "X", "region": "atlantis" } }))
        .send(&router)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "invalid_body");
    assert_eq!(reply.json()["error"]["path"], "facts.region");
    assert!(reply.json()["error"]["message"].as_str().is_some_and(|message| message.contains("atlantis")));

    // Sensitive data in a clear body is named as such (the case routes seal it instead: see
    // sealed.rs; this node holds no identity, so they refuse it).
    let reply = Call::member(Method::POST, "/events")
        .json(&json!({ "kind": "sign.noted", "body": { "case": case, "sign": "defence_formations" } }))
        .send(&router)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.code(), "sensitive_data");
    assert_eq!(reply.json()["error"]["path"], "body.sign");
    let reply = Call::member(Method::POST, &format!("/cases/{case}/signs"))
        .json(&json!({ "sign": "defence_formations" }))
        .send(&router)
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.code(), "cannot_seal");

    // Unknown field in the request.
    let reply = Call::member(Method::POST, &format!("/cases/{case}/signs"))
        .json(&json!({ "sign": "free_speech", "comment": "x" }))
        .send(&router)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "unknown_field");
    assert_eq!(reply.json()["error"]["path"], "comment");

    // Unknown field inside the facts: the node's schema refuses it.
    let reply = Call::member(Method::POST, "/cases")
        .json(&json!({ "facts": { "name_en": "X", "nickname": "Y" } }))
        .send(&router)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"]["path"], "facts.nickname");

    // null is not "absent".
    let reply =
        Call::member(Method::PATCH, &format!("/cases/{case}")).json(&json!({ "facts": null })).send(&router).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert_eq!(reply.json()["error"]["path"], "facts");

    // Malformed JSON, wrong shape, not JSON, trailing data.
    let reply = Call::member(Method::POST, "/cases").raw("application/json", "{\"facts\": {").send(&router).await;
    assert_eq!((reply.status, reply.code().as_str()), (StatusCode::BAD_REQUEST, "malformed_json"));
    let reply = Call::member(Method::POST, "/cases").raw("application/json", "{} {}").send(&router).await;
    assert_eq!((reply.status, reply.code().as_str()), (StatusCode::BAD_REQUEST, "malformed_json"));
    let reply = Call::member(Method::POST, "/cases").raw("application/json", "[1, 2]").send(&router).await;
    assert_eq!((reply.status, reply.code().as_str()), (StatusCode::BAD_REQUEST, "invalid_request"));
    let reply = Call::member(Method::POST, "/cases").raw("application/json", "{}").send(&router).await;
    assert_eq!((reply.status, reply.code().as_str()), (StatusCode::BAD_REQUEST, "invalid_request"));
    let reply = Call::member(Method::POST, "/cases").raw("text/plain", "{\"facts\": {}}").send(&router).await;
    assert_eq!((reply.status, reply.code().as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));
    let with_charset = serde_json::to_vec(&json!({ "facts": person() })).expect("JSON");
    let reply =
        Call::member(Method::POST, "/cases").raw("application/json; charset=utf-8", with_charset).send(&router).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());

    // Too large: declared, and streamed without a length.
    let huge = format!("{{\"facts\": {{\"name_en\": \"{}\"}}}}", "x".repeat(70 * 1024));
    let reply = Call::member(Method::POST, "/cases")
        .raw("application/json", huge.clone())
        .header("content-length", &huge.len().to_string())
        .send(&router)
        .await;
    assert_eq!((reply.status, reply.code().as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));
    let reply = Call::member(Method::POST, "/cases").raw("application/json", huge).send(&router).await;
    assert_eq!((reply.status, reply.code().as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));

    // Unknown case, bad id, unknown proposal.
    let unknown = "0".repeat(64);
    let reply = Call::member(Method::POST, &format!("/cases/{unknown}/endorsement")).send(&router).await;
    assert_eq!((reply.status, reply.code().as_str()), (StatusCode::NOT_FOUND, "unknown_reference"));
    let reply = Call::member(Method::GET, &format!("/cases/{unknown}")).send(&router).await;
    assert_eq!((reply.status, reply.code().as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let reply = Call::member(Method::POST, "/cases/not-an-id/endorsement").send(&router).await;
    assert_eq!((reply.status, reply.code().as_str()), (StatusCode::BAD_REQUEST, "invalid_id"));
    let reply = Call::member(Method::POST, &format!("/proposals/{unknown}/approval")).send(&router).await;
    assert_eq!((reply.status, reply.code().as_str()), (StatusCode::NOT_FOUND, "unknown_reference"));

    // Endorse twice: the second would have no effect.
    let first = Call::member(Method::POST, &format!("/cases/{case}/endorsement")).send(&router).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = Call::member(Method::POST, &format!("/cases/{case}/endorsement")).send(&router).await;
    assert_eq!((second.status, second.code().as_str()), (StatusCode::CONFLICT, "no_effect"));
    assert!(second.json()["error"]["message"].as_str().is_some_and(|message| message.contains("already endorses")));

    // A route without a body refuses one.
    let reply = Call::member(Method::DELETE, &format!("/cases/{case}/endorsement"))
        .json(&json!({ "reason": "x" }))
        .send(&router)
        .await;
    assert_eq!((reply.status, reply.code().as_str()), (StatusCode::BAD_REQUEST, "unexpected_body"));
    let reply =
        Call::member(Method::DELETE, &format!("/cases/{case}/endorsement")).json(&json!({})).send(&router).await;
    assert_eq!(reply.status, StatusCode::CREATED, "an empty object is no body: {}", reply.text());

    // Releasing someone not in the list.
    let reply = Call::member(Method::POST, &format!("/cases/{case}/release"))
        .json(&json!({ "date": "2026-02-01", "circumstances": "pardon" }))
        .send(&router)
        .await;
    assert_eq!((reply.status, reply.code().as_str()), (StatusCode::CONFLICT, "no_effect"));
    drop(zmina);
}

#[tokio::test]
async fn a_listed_case_can_be_released() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let zmina = node(Some("zmina"), REAL_NAME);
    let router = app(&ccl);
    let case = open_case(&router, person()).await;
    list_case(&ccl, &router, &zmina, case).await;
    let reply = Call::member(Method::POST, &format!("/cases/{case}/release"))
        .json(&json!({ "date": "2026-02-01", "circumstances": "pardon" }))
        .send(&router)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let again = Call::member(Method::POST, &format!("/cases/{case}/release"))
        .json(&json!({ "date": "2026-02-02", "circumstances": "pardon" }))
        .send(&router)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_missing_or_wrong_token_gets_401_with_a_challenge() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let router = app(&ccl);
    let without =
        Call::new(Method::POST, "/api/v1/member/cases").json(&json!({ "facts": person() })).send(&router).await;
    assert_eq!(without.status, StatusCode::UNAUTHORIZED);
    assert_eq!(without.code(), "unauthorized");
    assert!(without.header("www-authenticate").is_some_and(|value| value.starts_with("Bearer")));

    let wrong = Call::new(Method::POST, "/api/v1/member/cases")
        .header("authorization", &format!("Bearer {}x", &TOKEN[..TOKEN.len() - 1]))
        .json(&json!({ "facts": person() }))
        .send(&router)
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.header("www-authenticate").is_some_and(|value| value.contains("invalid_token")));

    let basic = Call::new(Method::GET, "/api/v1/member/pending")
        .header("authorization", &format!("Basic {TOKEN}"))
        .send(&router)
        .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);

    // Refused before the body is looked at: a malformed body still gets 401.
    let probe = Call::new(Method::POST, "/api/v1/member/cases").raw("application/json", "{").send(&router).await;
    assert_eq!(probe.status, StatusCode::UNAUTHORIZED);
    assert_eq!(ccl.version(), 0, "nothing was signed");

    let scheme_case = Call::new(Method::GET, "/api/v1/member/pending")
        .header("authorization", &format!("bearer {TOKEN}"))
        .send(&router)
        .await;
    assert_eq!(scheme_case.status, StatusCode::OK, "the scheme is case-insensitive");
}

#[tokio::test]
async fn no_member_routes_without_a_token_or_a_key() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let router = coalition_server::router(ccl.clone(), coalition_server::ServerOptions::default());
    let reply = Call::member(Method::GET, "/pending").send(&router).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let mirror = node(None, REAL_NAME);
    let router = app(&mirror);
    let reply = Call::member(Method::POST, "/cases").json(&json!({ "facts": person() })).send(&router).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // The public side still works.
    assert_eq!(Call::get("/api/v1/list").send(&router).await.status, StatusCode::OK);
    let _ = (key("ccl"), slug("ccl"));
}
