//! The public report form and the members' inbox, through the router: hostile input, the
//! honeypot, rate limits, a mirror that refuses, and reading reports back as inert data.

use axum::http::{Method, StatusCode};
use coalition_core::genesis::{FoundingMember, Genesis, GenesisDoc};
use coalition_core::seal::Identity;
use coalition_core::time::Timestamp;
use coalition_node::Node;
use serde_json::{Value, json};

use crate::fixtures::{Call, ORGS, REAL_NAME, app, key, slug};

const MARKER: &str = "MARKER-9c1e";
const SCRIPT: &str = "<script>alert(1)</script>";

/// A node of `ccl` on a genesis where every member has a recipient, with its identity.
pub(crate) fn sealing_node() -> Node {
    let identities: Vec<Identity> = ORGS.iter().map(|_| Identity::generate()).collect();
    let members = ORGS
        .iter()
        .zip(&identities)
        .map(|(org, identity)| FoundingMember {
            slug: slug(org),
            name: format!("Test organisation {org}"),
            vkey: key(org).verifier_key(),
            recipient: Some(identity.recipient().to_string()),
        })
        .collect();
    let base = crate::fixtures::genesis(REAL_NAME);
    let doc = GenesisDoc {
        name: REAL_NAME.into(),
        origin: crate::fixtures::ORIGIN.into(),
        created: Timestamp::parse("2026-01-01T00:00:00Z").expect("time"),
        members,
        policy: base.doc().policy,
    };
    let mut genesis = Genesis::parse(&doc.to_note_text().expect("text")).expect("parse");
    for org in ORGS {
        genesis = Genesis::parse(&genesis.sign(&key(org)).expect("sign")).expect("parse");
    }
    let node = Node::open_in_memory(genesis, Some(key(ORGS[0]))).expect("node");
    node.set_identity(identities[0].clone()).expect("identity");
    node
}

fn report(what: &str) -> Value {
    json!({ "who": format!("{SCRIPT} {MARKER}"), "place": "Kherson", "what": what, "contact": "a@example.org", "consent": true })
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(
                |byte| if byte.is_ascii_alphanumeric() { char::from(byte).to_string() } else { format!("%{byte:02X}") },
            )
            .collect()
    };
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

async fn inbox(router: &axum::Router) -> Vec<Value> {
    let reply = Call::member(Method::GET, "/reports").send(router).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["reports"].as_array().expect("reports").clone()
}

#[tokio::test]
async fn the_report_page_is_a_plain_form_in_both_languages() {
    let node = sealing_node();
    let router = app(&node);
    for (lang, title) in [("uk", "Повідомити про політичне переслідування"), ("en", "Report political persecution")]
    {
        let reply = Call::get(format!("/report?lang={lang}")).send(&router).await;
        assert_eq!(reply.status, StatusCode::OK);
        let page = reply.text();
        assert!(page.contains(title), "{lang}");
        assert!(page.contains(r#"<form method="post" action="/api/v1/reports""#));
        assert!(page.contains(r#"name="website" tabindex="-1" autocomplete="off""#), "the honeypot");
        assert!(page.contains(r#"aria-hidden="true""#));
        assert!(!page.contains("<script"), "no script");
        assert!(!page.contains("https://"), "no external resource");
    }
    let mirror = app(&crate::fixtures::node(None, REAL_NAME));
    let reply = Call::get("/report?lang=en").send(&mirror).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.text().contains("does not accept reports"));
    assert!(!reply.text().contains("<form"));
}

#[tokio::test]
async fn a_json_report_is_sealed_into_the_inbox_and_read_back_as_inert_data() {
    let node = sealing_node();
    let router = app(&node);
    let reply =
        Call::new(Method::POST, "/api/v1/reports").json(&report(&format!("{SCRIPT}\u{202E}x"))).send(&router).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text());
    assert!(!reply.text().contains(MARKER));
    let entries = inbox(&router).await;
    assert_eq!(entries.len(), 1);
    let id = entries[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(entries[0]["report"]["who"], format!("{SCRIPT} {MARKER}"), "opened in the list");
    let shown = Call::member(Method::GET, &format!("/reports/{id}")).send(&router).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.header("content-type"), Some("application/json"));
    assert_eq!(shown.json()["what"], format!("{SCRIPT}x"), "bidi removed, script kept as a JSON string");
    assert_eq!(node.version(), 0, "no event: the inbox is not a feed");
    // Nothing public shows it.
    for path in ["/", "/api/v1/list", "/api/v1/status", "/about"] {
        assert!(!Call::get(path).send(&router).await.text().contains(MARKER), "{path}");
    }
    // Accept opens a case with public facts only.
    let accepted = Call::member(Method::POST, &format!("/reports/{id}/accept"))
        .json(&json!({ "facts": { "name_en": "Ivan Petrenko" } }))
        .send(&router)
        .await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.text());
    let answer = accepted.json();
    assert_eq!(answer["sealed_fields"].as_array().map(Vec::len), Some(7), "{answer}");
    assert!(!accepted.text().contains(MARKER), "the answer names the sealed fields, never their values");
    let case: coalition_core::event::EventId = answer["case"].as_str().expect("case").parse().expect("id");
    let file = node.case_file(&case).expect("case file");
    assert_eq!(file.len(), 1, "the report is sealed into the case");
    assert!(inbox(&router).await.is_empty());
    let again = Call::member(Method::POST, &format!("/reports/{id}/discard")).send(&router).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_form_post_answers_with_a_page_and_discard_deletes() {
    let node = sealing_node();
    let router = app(&node);
    let body = form(&[
        ("lang", "uk"),
        ("who", "Олег"),
        ("place", "Крим"),
        ("what", "обшук"),
        ("consent", "yes"),
        ("website", ""),
    ]);
    let reply =
        Call::new(Method::POST, "/api/v1/reports").raw("application/x-www-form-urlencoded", body).send(&router).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(reply.text().contains("Дякуємо"));
    let entries = inbox(&router).await;
    assert_eq!(entries[0]["report"]["consent"], true);
    let id = entries[0]["id"].as_str().expect("id");
    let reply = Call::member(Method::POST, &format!("/reports/{id}/discard")).send(&router).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(inbox(&router).await.is_empty());
    assert_eq!(Call::get("/api/v1/member/reports").send(&router).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_honeypot_gets_the_same_answer_and_nothing_is_stored() {
    let node = sealing_node();
    let router = app(&node);
    let mut bot = report("spam");
    bot["website"] = json!("http://spam.example");
    let reply = Call::new(Method::POST, "/api/v1/reports").json(&bot).send(&router).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.json(), json!({ "received": true }));
    let body = form(&[("who", "a"), ("place", "b"), ("what", "c"), ("website", "x")]);
    let reply =
        Call::new(Method::POST, "/api/v1/reports").raw("application/x-www-form-urlencoded", body).send(&router).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(inbox(&router).await.is_empty());
}

#[tokio::test]
async fn hostile_reports_are_refused_and_nothing_is_stored() {
    let node = sealing_node();
    let router = app(&node);
    let post = |content_type: &'static str, body: Vec<u8>| {
        Call::new(Method::POST, "/api/v1/reports").raw(content_type, body).peer("192.0.2.1:1000")
    };
    let mut unknown = report("x");
    unknown["ip"] = json!("1.2.3.4");
    let long = json!({ "who": "a", "place": "b", "what": "w".repeat(coalition_node::REPORT_WHAT_CHARS_MAX + 1) });
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"{\"who\": ".to_vec()),
        ("application/json", b"[1,2]".to_vec()),
        ("application/json", serde_json::to_vec(&unknown).expect("json")),
        ("application/json", serde_json::to_vec(&long).expect("json")),
        ("application/json", serde_json::to_vec(&json!({ "who": "", "place": "b", "what": "c" })).expect("json")),
        ("application/x-www-form-urlencoded", b"who=%FF%FE&place=b&what=c".to_vec()),
        ("application/x-www-form-urlencoded", b"who=a&who=b&place=b&what=c".to_vec()),
        ("application/x-www-form-urlencoded", b"who=a&place=b&what=c&extra=1".to_vec()),
        ("application/x-www-form-urlencoded", b"who=%G1&place=b&what=c".to_vec()),
        ("application/x-www-form-urlencoded", vec![b'a'; coalition_server::report::REPORT_REQUEST_BYTES_MAX + 1]),
    ];
    for (index, (content_type, body)) in cases.into_iter().enumerate() {
        let reply = Call::new(Method::POST, "/api/v1/reports")
            .raw(content_type, body)
            .peer(&format!("198.51.100.{index}:1000"))
            .send(&router)
            .await;
        assert!(
            matches!(reply.status, StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE),
            "case {index}: {} {}",
            reply.status,
            reply.text()
        );
    }
    let invalid = post("application/json", vec![0xff, 0xfe]).send(&router).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(inbox(&router).await.is_empty(), "nothing refused was stored");
}

#[tokio::test]
async fn floods_hit_the_per_address_then_the_global_limit() {
    let node = sealing_node();
    let router = app(&node);
    let send = |peer: String| {
        let router = router.clone();
        async move { Call::new(Method::POST, "/api/v1/reports").json(&report("flood")).peer(&peer).send(&router).await }
    };
    let burst = coalition_server::report::REPORTS_PER_CLIENT_BURST as usize;
    for _ in 0..burst {
        assert_eq!(send("203.0.113.1:5".into()).await.status, StatusCode::ACCEPTED);
    }
    let limited = send("203.0.113.1:5".into()).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").and_then(|value| value.parse::<u64>().ok()).is_some_and(|s| s >= 1));
    // Many addresses: the node-wide bucket empties.
    let mut refused = 0;
    for n in 0..(coalition_server::report::REPORTS_GLOBAL_BURST as usize + 20) {
        let reply = send(format!("10.{}.{}.1:5", n / 250, n % 250)).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(reply.header("retry-after").is_some());
            refused += 1;
        }
    }
    assert!(refused >= 15, "the global limit refused {refused}");
    let stored = inbox(&router).await.len();
    assert!(stored <= coalition_server::report::REPORTS_GLOBAL_BURST as usize + 5, "{stored} stored");
}

#[tokio::test]
async fn a_mirror_refuses_reports_with_503_and_stores_nothing() {
    let mirror = crate::fixtures::node(None, REAL_NAME);
    let router = app(&mirror);
    let reply = Call::new(Method::POST, "/api/v1/reports").json(&report("x")).send(&router).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.code(), "reports_not_accepted");
    assert!(mirror.report_entries(None, 10).expect("list").is_empty());
    let plain = crate::fixtures::node(Some("ccl"), REAL_NAME);
    let reply = Call::new(Method::POST, "/api/v1/reports").json(&report("x")).send(&app(&plain)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "no recipients: nothing to seal to");
}

/// Fills `node`'s inbox up to the cap with copies of one real report's ciphertext.
fn fill_inbox(node: &Node) {
    let id = node
        .submit_report(coalition_node::ReportForm {
            who: "a".into(),
            place: "b".into(),
            what: "c".into(),
            ..Default::default()
        })
        .expect("submit");
    let sealed = node.sealed_report(&id).expect("read").expect("kept");
    for index in 1..coalition_node::REPORT_INBOX_ENTRIES_MAX {
        let id = format!("r-00000-{index:016x}");
        node.keep_private(coalition_store::PrivateSpace::Reports, &id, &sealed).expect("keep");
    }
}

#[tokio::test]
async fn a_full_inbox_answers_503_in_the_visitors_language_and_members_see_it() {
    let node = sealing_node();
    let router = app(&node);
    fill_inbox(&node);
    for (lang, words) in [("uk", "переповнена"), ("en", "inbox is full")] {
        let body = form(&[("lang", lang), ("who", "Олег"), ("place", "Крим"), ("what", MARKER)]);
        let reply = Call::new(Method::POST, "/api/v1/reports")
            .raw("application/x-www-form-urlencoded", body)
            .peer(&format!("192.0.2.{}:1", lang.len()))
            .send(&router)
            .await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{lang}");
        assert!(reply.text().contains(words), "{lang}: {}", reply.text());
        assert!(!reply.text().contains(MARKER), "nothing typed is echoed");
    }
    let reply = Call::new(Method::POST, "/api/v1/reports").json(&report("x")).send(&router).await;
    assert_eq!((reply.status, reply.code()), (StatusCode::SERVICE_UNAVAILABLE, "inbox_full".to_owned()));
    let listed = Call::member(Method::GET, "/reports?limit=1").send(&router).await.json();
    assert_eq!(listed["fill"]["full"], true);
    assert_eq!(listed["fill"]["entries"], coalition_node::REPORT_INBOX_ENTRIES_MAX);
    assert_eq!(listed["reports"].as_array().map(Vec::len), Some(1), "limit");
}

#[tokio::test]
async fn form_errors_are_in_the_page_language() {
    let node = sealing_node();
    let router = app(&node);
    let cases: [(&[u8], &str, &str); 4] = [
        (
            b"lang=uk&who=&place=b&what=c",
            "uk",
            "Кого переслідують (ім&#39;я, вік, хто ця людина): це поле обов&#39;язкове",
        ),
        (b"lang=en&who=&place=b&what=c", "en", "this field is required"),
        (b"who=a&place=b&what=c&who=d", "uk", "одне поле надіслано двічі"),
        (b"who=\xff\xfe&place=b&what=c", "en", "the form is not in UTF-8"),
    ];
    for (index, (body, lang, words)) in cases.into_iter().enumerate() {
        let reply = Call::new(Method::POST, format!("/api/v1/reports?lang={lang}"))
            .raw("application/x-www-form-urlencoded", body.to_vec())
            .peer(&format!("192.0.2.{index}:1"))
            .send(&router)
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "case {index}");
        assert!(reply.text().contains(words), "case {index}: {}", reply.text());
    }
    assert!(inbox(&router).await.is_empty());
}
