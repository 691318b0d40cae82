//! The public side: the page, the list, the feeds, caching and the headers on every response.

use axum::http::{Method, StatusCode};
use coalition_core::body::EventKind;
use coalition_core::event::EventId;
use coalition_node::Node;
use coalition_server::FEED_PAGE_NOTES_MAX;
use serde_json::{Value, json};

use crate::fixtures::{Call, DEMO_NAME, REAL_NAME, app, node, open_case, replicate};

/// Opens a case with `facts` on `ccl` and lists it with `zmina`'s endorsement.
pub(crate) async fn listed_case(ccl: &Node, zmina: &Node, router: &axum::Router, facts: Value) -> EventId {
    let case = open_case(router, facts).await;
    let reply = Call::member(Method::POST, &format!("/cases/{case}/criteria"))
        .json(&json!({ "criterion": "a" }))
        .send(router)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let reply = Call::member(Method::POST, &format!("/cases/{case}/endorsement")).send(router).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    replicate(ccl, zmina, "ccl");
    zmina.submit(EventKind::PersonAdded, json!({ "case": case })).expect("zmina endorses");
    replicate(zmina, ccl, "zmina");
    case
}

pub(crate) const HOSTILE: &str = "<script>alert(1)</script>";

#[tokio::test]
async fn the_page_shows_the_count_and_the_list_with_every_field_escaped() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let zmina = node(Some("zmina"), REAL_NAME);
    let router = app(&ccl);
    listed_case(
        &ccl,
        &zmina,
        &router,
        json!({ "name_uk": "Олег Приклад", "name_en": HOSTILE, "region": "kherson", "detention_date": "2022-08-15" }),
    )
    .await;
    listed_case(&ccl, &zmina, &router, json!({ "name_en": "Second \"Person\" & Co", "region": "crimea" })).await;
    // Under review: not in the list, not on the page.
    open_case(&router, json!({ "name_en": "Not Listed Yet" })).await;

    let page = Call::get("/").send(&router).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    let html = page.text();
    assert!(
        html.contains("At least 2 Ukrainian citizens are deprived of their liberty for political reasons"),
        "{html}"
    );
    let ukrainian = Call::get("/?lang=uk").send(&router).await.text();
    assert!(ukrainian.contains("Щонайменше 2 громадяни України позбавлені волі з політичних мотивів"), "{ukrainian}");
    assert!(!html.contains(HOSTILE), "the hostile name must be escaped");
    assert!(!html.contains("<script"), "no script element at all");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            || html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    assert!(
        html.contains("Second &quot;Person&quot; &amp; Co") || html.contains("Second &#34;Person&#34; &#38; Co"),
        "{html}"
    );
    assert!(html.contains("Олег Приклад"));
    assert!(html.contains("Kherson region"));
    assert!(html.contains("2022-08-15"));
    assert!(!html.contains("Not Listed Yet"));
    assert!(!html.contains("style="), "no inline style: the CSP forbids it");
    assert!(html.contains("/static/site.css"));
    assert!(!html.contains("Demo:"), "a real ledger shows no demo banner");
    let hash = ccl.with_projection(|projection| projection.list_summary().expect("summary").hash.to_string());
    assert!(html.contains(&hash), "the page shows the list hash");
}

#[tokio::test]
async fn a_demo_ledger_says_so_on_the_page_and_in_the_api() {
    let demo = node(Some("ccl"), DEMO_NAME);
    let router = app(&demo);
    let html = Call::get("/").send(&router).await.text();
    assert!(html.contains("Demo: every person and case here is fictional"), "{html}");
    assert!(html.contains("No one is in the list yet."));
    assert!(html.contains("At least 0 Ukrainian citizens"));
    assert_eq!(Call::get("/api/v1/list").send(&router).await.json()["demo"], true);
    assert_eq!(Call::get("/healthz").send(&router).await.json()["demo"], true);
}

#[tokio::test]
async fn the_list_api_matches_the_projection() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let zmina = node(Some("zmina"), REAL_NAME);
    let router = app(&ccl);
    let case = listed_case(
        &ccl,
        &zmina,
        &router,
        json!({ "name_en": HOSTILE, "region": "crimea", "detention_date": "2020-01-02" }),
    )
    .await;

    let reply = Call::get("/api/v1/list").send(&router).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let list = reply.json();
    let (hash, ledger) = ccl.with_projection(|projection| {
        (projection.list_summary().expect("summary").hash.to_string(), projection.ledger().to_string())
    });
    assert_eq!(list["format"], "coalition-ledger/list/v1");
    assert_eq!(list["ledger"], ledger);
    assert_eq!(list["demo"], false);
    assert_eq!(list["count"], 1);
    assert_eq!(list["hash"], hash);
    assert_eq!(list["counts"]["detained_now"], 1);
    assert_eq!(list["counts"]["by_region"], json!({ "crimea": 1 }));
    assert_eq!(list["counts"]["by_detention_year"], json!({ "2020": 1 }));
    assert_eq!(list["counts"]["by_status"]["listed"], 1);
    let entry = &list["entries"][0];
    assert_eq!(entry["case"], case.to_string());
    assert_eq!(entry["facts"]["name_en"], HOSTILE, "JSON carries the exact text");
    assert_eq!(entry["endorsed_by"], json!(["ccl", "zmina"]));
    assert_eq!(entry["criteria"], json!(["a"]));
    assert_eq!(entry["status"], "listed");

    let canonical = Call::get("/api/v1/list/canonical").send(&router).await;
    assert_eq!(canonical.status, StatusCode::OK);
    let document = ccl.with_projection(|projection| projection.list_document().expect("document"));
    assert_eq!(canonical.text(), document, "the canonical document, byte for byte");
}

#[tokio::test]
async fn one_event_is_served_by_id_with_its_exact_note() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let router = app(&ccl);
    let case = open_case(&router, json!({ "name_en": "Person" })).await;
    let reply = Call::get(format!("/api/v1/events/{case}")).send(&router).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(reply.header("cache-control").is_some_and(|value| value.contains("immutable")));
    let body = reply.json();
    assert_eq!(body["id"], case.to_string());
    assert_eq!(body["org"], "ccl");
    assert_eq!(body["seq"], 1);
    let stored = ccl.event(&case).expect("read").expect("held");
    assert_eq!(body["note"], stored.note(), "the exact signed note");

    let unknown = Call::get(format!("/api/v1/events/{}", "0".repeat(64))).send(&router).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    for bad in ["/api/v1/events/xyz", "/api/v1/events/ABCDEF", "/api/v1/events/%3Cscript%3E"] {
        let reply = Call::get(bad).send(&router).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}: {}", reply.text());
        assert!(!reply.text().contains("<script"), "{bad}");
    }
}

#[tokio::test]
async fn feeds_are_served_in_pages() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let router = app(&ccl);
    for index in 0..5 {
        open_case(&router, json!({ "name_en": format!("Person {index}") })).await;
    }
    let first = Call::get("/api/v1/feeds/ccl?from=1&limit=2").send(&router).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let first = first.json();
    assert_eq!(first["org"], "ccl");
    assert_eq!(first["from"], 1);
    assert_eq!(first["head"], 5);
    assert_eq!(first["next"], 3);
    let notes = first["notes"].as_array().expect("notes");
    assert_eq!(notes.len(), 2);
    let stored = ccl.read_feed(&crate::fixtures::slug("ccl"), 1, 2).expect("feed");
    assert_eq!(notes[0], stored[0].note(), "the exact signed note");
    assert!(notes[1].as_str().is_some_and(|note| note.starts_with("coalition-ledger/event/v1\n")));

    let last = Call::get("/api/v1/feeds/ccl?from=5&limit=2").send(&router).await.json();
    assert_eq!(last["notes"].as_array().map(Vec::len), Some(1));
    assert_eq!(last["next"], Value::Null);

    let default = Call::get("/api/v1/feeds/ccl").send(&router).await.json();
    assert_eq!(default["notes"].as_array().map(Vec::len), Some(5));

    let capped = Call::get(format!("/api/v1/feeds/ccl?limit={}", FEED_PAGE_NOTES_MAX * 10)).send(&router).await;
    assert_eq!(capped.status, StatusCode::OK, "a large limit is capped, not refused");

    // A founder with no events yet: an empty page. An unknown organisation: 404.
    let empty = Call::get("/api/v1/feeds/zmina").send(&router).await.json();
    assert_eq!(empty["notes"], json!([]));
    assert_eq!(empty["head"], Value::Null);
    let unknown = Call::get("/api/v1/feeds/nobody").send(&router).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    for bad in [
        "/api/v1/feeds/ccl?from=0",
        "/api/v1/feeds/ccl?from=x",
        "/api/v1/feeds/ccl?limit=0",
        "/api/v1/feeds/ccl?page=2",
        "/api/v1/feeds/Not%20A%20Slug",
    ] {
        let reply = Call::get(bad).send(&router).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}: {}", reply.text());
    }
}

#[tokio::test]
async fn projection_derived_responses_revalidate_with_etags() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let router = app(&ccl);
    for path in [
        "/",
        "/?lang=uk",
        "/stats",
        "/api/v1/list",
        "/api/v1/list/canonical",
        "/api/v1/feeds/ccl",
        "/api/v1/stats",
        "/api/v1/list.csv",
        "/api/v1/list.json",
    ] {
        let first = Call::get(path).send(&router).await;
        assert_eq!(first.status, StatusCode::OK);
        let etag = first.header("etag").expect("an ETag").to_owned();
        assert!(first.header("cache-control").is_some_and(|value| value.contains("max-age=")), "{path}");

        let again = Call::get(path).header("if-none-match", &etag).send(&router).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        // The validator is weak (one per content, whatever the encoding); If-None-Match compares
        // weakly, so its strong spelling matches too, in a list.
        let opaque = etag.strip_prefix("W/").expect("a weak validator");
        let weak = Call::get(path).header("if-none-match", &format!("\"other\", {opaque}")).send(&router).await;
        assert_eq!(weak.status, StatusCode::NOT_MODIFIED, "{path}: weak and listed tags match");
        let other = Call::get(path).header("if-none-match", "\"something-else\"").send(&router).await;
        assert_eq!(other.status, StatusCode::OK);
    }

    let before = Call::get("/").send(&router).await.header("etag").expect("etag").to_owned();
    open_case(&router, json!({ "name_en": "New Person" })).await;
    let after = Call::get("/").header("if-none-match", &before).send(&router).await;
    assert_eq!(after.status, StatusCode::OK, "a change makes the old tag stale");
    assert_ne!(after.header("etag"), Some(before.as_str()));
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let router = app(&ccl);
    let replies = [
        Call::get("/").send(&router).await,
        Call::get("/api/v1/list").send(&router).await,
        Call::get("/static/site.css").send(&router).await,
        Call::get("/healthz").send(&router).await,
        Call::get("/stats").send(&router).await,
        Call::get("/about").send(&router).await,
        Call::get("/persons/unknown").send(&router).await,
        Call::get("/?year=bad").send(&router).await,
        Call::get("/api/v1/openapi.json").send(&router).await,
        Call::get("/no/such/route").send(&router).await,
        Call::new(Method::GET, "/api/v1/member/pending").send(&router).await,
        Call::member(Method::POST, "/cases").raw("application/json", "{").send(&router).await,
    ];
    for reply in replies {
        let csp = reply.header("content-security-policy").expect("CSP");
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
    }
}

#[tokio::test]
async fn health_stylesheet_and_unknown_routes() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let router = app(&ccl);
    open_case(&router, json!({ "name_en": "Someone" })).await;
    let health = Call::get("/healthz").send(&router).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json(), json!({ "status": "ok", "feeds": 1, "demo": false }));

    let css = Call::get("/static/site.css").send(&router).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.text().contains(".demo-banner"));

    let missing = Call::get("/nothing-here").send(&router).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "not_found");
}
