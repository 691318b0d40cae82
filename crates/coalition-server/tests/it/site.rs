//! The public site: the person page, languages, search and filters, hostile queries.

use axum::http::{Method, StatusCode};
use coalition_core::event::EventId;
use coalition_node::Node;
use coalition_server::PAGE_ENTRIES;
use serde_json::{Value, json};

use crate::fixtures::{Call, REAL_NAME, app, node, open_case};
use crate::public::{HOSTILE, listed_case};

/// Three listed people and one under review, on `ccl`'s router.
pub(crate) async fn three_people() -> (Node, Node, axum::Router, Vec<EventId>) {
    let ccl = node(Some("ccl"), REAL_NAME);
    let zmina = node(Some("zmina"), REAL_NAME);
    let router = app(&ccl);
    let mut cases = Vec::new();
    let people: [Value; 3] = [
        json!({
            "name_uk": "Євген Петренко", "name_en": "Yevhen Petrenko", "name_ru": "Евгений Петренко",
            "region": "kherson", "detention_date": "2022-08-15", "detention_place": "Kherson",
            "stage": "serving_sentence", "place_of_detention": "SIZO-2, Simferopol",
            "case_group": "Kherson teachers",
            "charges": [{ "code": "ru_criminal_code", "article": "275", "note": "treason" }],
            "sentence": { "years": 12, "regime": "strict" },
            "summary_en": "A teacher.\n\nDetained at home.", "summary_uk": "Учитель.",
            "can_receive_letters": true, "postal_address": "Russia, Simferopol, SIZO-2",
        }),
        json!({ "name_uk": "Олексій Харченко", "name_en": "Oleksii Kharchenko", "region": "crimea", "detention_date": "2019-03-01" }),
        json!({ "name_en": HOSTILE, "name_uk": HOSTILE, "region": "donetsk", "detention_date": "2023-01-02",
                "summary_en": HOSTILE, "postal_address": HOSTILE, "can_receive_letters": true, "case_group": HOSTILE,
                "place_of_detention": HOSTILE, "detention_place": HOSTILE,
                "charges": [{ "code": "other", "article": "1", "note": HOSTILE }],
                "sentence": { "text_en": HOSTILE, "text_uk": HOSTILE } }),
    ];
    for facts in people {
        cases.push(listed_case(&ccl, &zmina, &router, facts).await);
    }
    let reply = Call::member(Method::POST, &format!("/cases/{}/signs", cases[0]))
        .json(&json!({ "sign": "professional_activity" }))
        .send(&router)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    zmina
        .submit(
            coalition_core::body::EventKind::CriterionAsserted,
            json!({ "case": cases[0], "criterion": "a", "reasoning_en": "Detained for a post." }),
        )
        .expect("zmina asserts a");
    crate::fixtures::replicate(&zmina, &ccl, "zmina");
    open_case(&router, json!({ "name_en": "Not Listed Yet" })).await;
    (ccl, zmina, router, cases)
}

fn assert_escaped(html: &str) {
    assert!(!html.contains("<script"), "no script element at all: {html}");
    assert!(!html.contains("style="), "no inline style");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            || html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
}

#[tokio::test]
async fn the_person_page_shows_everything_public_and_the_signed_history() {
    let (_ccl, _zmina, router, cases) = three_people().await;
    let reply = Call::get(format!("/persons/{}", cases[0])).send(&router).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("vary"), Some("Accept-Language"));
    let html = reply.text();
    for expected in [
        "Yevhen Petrenko",
        "Євген Петренко",
        "Евгений Петренко",
        "Kherson region",
        "2022-08-15",
        "SIZO-2, Simferopol",
        "Kherson teachers",
        "RF Criminal Code 275 (treason)",
        "12 y, strict regime",
        "serving a sentence",
        "<p>A teacher.</p>",
        "<p>Detained at home.</p>",
        "the detention violates a fundamental guarantee of the ECHR",
        "professional activity",
        "How to write a letter",
        "Russia, Simferopol, SIZO-2",
        "under review",
        "detained",
        "opened the case",
        "asserted a criterion (a)",
        "endorsed the listing",
        "noted a sign",
        "Asserted by Test organisation ccl",
        "Asserted by Test organisation zmina: Detained for a post.",
        "Test organisation ccl",
        "Test organisation zmina",
        "href=\"/api/v1/feeds/ccl?from=1\"",
    ] {
        assert!(html.contains(expected), "missing {expected:?} in {html}");
    }
    assert!(html.contains(&cases[0].to_string()), "the case's own event id is in the history");
    // The Ukrainian page has the Ukrainian summary and labels.
    let ukrainian = Call::get(format!("/persons/{}?lang=uk", cases[0])).send(&router).await.text();
    assert!(ukrainian.contains("<p>Учитель.</p>"), "{ukrainian}");
    assert!(ukrainian.contains("Херсонська область"));
    assert!(ukrainian.contains("Як написати листа"));
    assert!(ukrainian.contains("<html lang=\"uk\">"));
    // The list links to the page.
    let list = Call::get("/").send(&router).await.text();
    assert!(list.contains(&format!("/persons/{}?lang=en", cases[0])), "{list}");
}

#[tokio::test]
async fn no_letter_section_without_can_receive_letters() {
    let (_ccl, _zmina, router, cases) = three_people().await;
    let html = Call::get(format!("/persons/{}", cases[1])).send(&router).await.text();
    assert!(html.contains("Oleksii Kharchenko"));
    assert!(!html.contains("How to write a letter"));
}

#[tokio::test]
async fn every_field_of_the_person_page_is_escaped() {
    let (_ccl, _zmina, router, cases) = three_people().await;
    for lang in ["en", "uk"] {
        let html = Call::get(format!("/persons/{}?lang={lang}", cases[2])).send(&router).await.text();
        assert_escaped(&html);
    }
    assert_escaped(&Call::get("/").send(&router).await.text());
    assert_escaped(&Call::get(format!("/?q={}", "%3Cscript%3E")).send(&router).await.text());
}

#[tokio::test]
async fn unknown_and_malformed_person_ids_are_a_404_page() {
    let (_ccl, _zmina, router, _cases) = three_people().await;
    let unknown = EventId::parse(&"a".repeat(64)).expect("a well-formed id").to_string();
    for path in [
        format!("/persons/{unknown}"),
        "/persons/not-an-id".to_owned(),
        "/persons/%3Cscript%3E".to_owned(),
        format!("/persons/{}", "z".repeat(5000)),
    ] {
        let reply = Call::get(&path).send(&router).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.header("content-type"), Some("text/html; charset=utf-8"));
        let html = reply.text();
        assert!(html.contains("Page not found"), "{html}");
        assert!(!html.contains("<script"));
    }
}

#[tokio::test]
async fn language_comes_from_the_query_then_accept_language() {
    let (_ccl, _zmina, router, _cases) = three_people().await;
    let english = Call::get("/").send(&router).await;
    assert!(english.text().contains("<html lang=\"en\">"));
    assert!(english.text().contains("href=\"/?lang=uk\""), "the switch link: {}", english.text());
    let preferred = Call::get("/").header("accept-language", "uk-UA,uk;q=0.9,en;q=0.8").send(&router).await;
    let html = preferred.text();
    assert!(html.contains("<html lang=\"uk\">"));
    assert!(html.contains("Щонайменше 3 громадяни України"), "{html}");
    assert!(html.contains("Знайдено: 3 особи"), "{html}");
    assert!(html.contains("href=\"/?lang=en\""));
    let forced = Call::get("/?lang=en").header("accept-language", "uk").send(&router).await;
    assert!(forced.text().contains("<html lang=\"en\">"));
    // The ETag differs by language, and Vary says so.
    let uk_tag = preferred.header("etag").expect("etag").to_owned();
    let en_tag = english.header("etag").expect("etag").to_owned();
    assert_ne!(uk_tag, en_tag);
    assert_eq!(english.header("vary"), Some("Accept-Language"));
    let revalidated = Call::get("/?lang=uk").header("if-none-match", &uk_tag).send(&router).await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    let other = Call::get("/?lang=en").header("if-none-match", &uk_tag).send(&router).await;
    assert_eq!(other.status, StatusCode::OK);
}

/// The person names of the rows of a list page, in order.
fn names(html: &str) -> Vec<String> {
    html.split("<a href=\"/persons/")
        .skip(1)
        .filter_map(|rest| rest.split_once("\">").and_then(|(_, after)| after.split_once("</a>")))
        .map(|(name, _)| name.to_owned())
        .collect()
}

#[tokio::test]
async fn search_filters_and_sorts_without_javascript() {
    let (_ccl, _zmina, router, _cases) = three_people().await;
    let get = |query: &str| {
        let router = router.clone();
        let path = format!("/?{query}");
        async move {
            let reply = Call::get(&path).send(&router).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
            names(&reply.text())
        }
    };
    assert_eq!(get("q=petrenko").await, ["Yevhen Petrenko"]);
    assert_eq!(get("q=%D0%84%D0%B2%D0%B3%D0%B5%D0%BD").await, ["Yevhen Petrenko"], "Євген");
    assert_eq!(get("q=Ievhen").await, ["Yevhen Petrenko"]);
    assert_eq!(get("q=%D0%95%D0%B2%D0%B3%D0%B5%D0%BD%D0%B8%D0%B9").await, ["Yevhen Petrenko"], "Евгений");
    assert_eq!(get("q=oleksiy+harchenko").await, ["Oleksii Kharchenko"]);
    assert_eq!(get("q=nobody").await, Vec::<String>::new());
    assert_eq!(get("region=crimea").await, ["Oleksii Kharchenko"]);
    assert_eq!(get("year=2022").await, ["Yevhen Petrenko"]);
    assert_eq!(get("group=Kherson+teachers").await, ["Yevhen Petrenko"]);
    assert_eq!(get("status=listed&region=kherson").await, ["Yevhen Petrenko"]);
    assert_eq!(get("status=released").await, Vec::<String>::new());
    assert_eq!(get("sort=detained").await.len(), 3);
    let detained = get("sort=detained").await;
    assert!(detained[0].contains("alert(1)"), "the newest detention (2023) first: {detained:?}");
    assert_eq!(detained[1..], ["Yevhen Petrenko", "Oleksii Kharchenko"], "newest detention first");
    let by_region = get("sort=region").await;
    assert_eq!(by_region[0], "Oleksii Kharchenko", "Crimea first");
    // No one matches: the page says so.
    let none = Call::get("/?q=zzzz").send(&router).await.text();
    assert!(none.contains("No one matches the search."));
    // The form is a labelled GET form.
    let html = Call::get("/").send(&router).await.text();
    for label in ["for=\"q\"", "for=\"status\"", "for=\"region\"", "for=\"year\"", "for=\"group\"", "for=\"sort\""] {
        assert!(html.contains(label), "{label}");
    }
    assert!(html.contains("<form method=\"get\" action=\"/\""));
    assert!(html.contains("no official edition yet"));
    assert!(html.contains("Data as of: 20"), "{html}");
}

#[tokio::test]
async fn the_list_is_paged() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let zmina = node(Some("zmina"), REAL_NAME);
    let router = app(&ccl);
    let count = PAGE_ENTRIES + 2;
    for index in 0..count {
        listed_case(&ccl, &zmina, &router, json!({ "name_en": format!("Person {index:03}") })).await;
    }
    let first = Call::get("/").send(&router).await.text();
    assert_eq!(names(&first).len(), PAGE_ENTRIES);
    assert!(first.contains("rel=\"next\""));
    assert!(!first.contains("rel=\"prev\""));
    let second = Call::get("/?page=2").send(&router).await.text();
    assert_eq!(names(&second), [format!("Person {PAGE_ENTRIES:03}"), format!("Person {:03}", PAGE_ENTRIES + 1)]);
    assert!(second.contains("rel=\"prev\""));
    assert!(second.contains("aria-current=\"page\""));
    // Past the end: the last page.
    let beyond = Call::get("/?page=999").send(&router).await.text();
    assert_eq!(names(&beyond), names(&second));
}

#[tokio::test]
async fn hostile_query_strings_get_a_page_or_a_400_never_a_500() {
    let (_ccl, _zmina, router, _cases) = three_people().await;
    let long = "a".repeat(10_000);
    for query in [
        format!("q={long}"),
        "q=%FF%FE".to_owned(),
        "q=%".to_owned(),
        "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E".to_owned(),
        "q='%20OR%201=1--".to_owned(),
        "q=%00%01%02".to_owned(),
        "status=%3Cscript%3E".to_owned(),
        "status=under_review".to_owned(),
        "region=atlantis".to_owned(),
        "year=-1".to_owned(),
        "year=99999999999999999999".to_owned(),
        "page=0".to_owned(),
        "page=-3".to_owned(),
        "page=abc".to_owned(),
        "sort=name;DROP".to_owned(),
        "lang=xx".to_owned(),
        "q=a&q=b".to_owned(),
        "&&&==&".to_owned(),
        "unknown=1".to_owned(),
        "group=".to_owned() + &"%E2%80%AE".repeat(300),
    ] {
        let reply = Call::get(format!("/?{query}")).send(&router).await;
        assert!(reply.status == StatusCode::OK || reply.status == StatusCode::BAD_REQUEST, "{query}: {}", reply.status);
        assert!(!reply.text().contains("<script"), "{query}");
        let person = Call::get(format!("/persons/x?{query}")).send(&router).await;
        assert!(person.status == StatusCode::NOT_FOUND || person.status == StatusCode::BAD_REQUEST, "{query}");
    }
}

#[tokio::test]
async fn stats_show_tables_and_a_server_drawn_svg_chart() {
    let (_ccl, _zmina, router, _cases) = three_people().await;
    let reply = Call::get("/stats").send(&router).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("etag").is_some());
    let html = reply.text();
    assert!(html.contains("<svg"), "{html}");
    assert!(html.contains("role=\"img\""));
    assert_eq!(html.matches("<rect class=\"bar\"").count(), 3, "one bar per year: 2019, 2022, 2023");
    assert!(!html.contains("style="), "SVG attributes only");
    assert!(!html.contains("<script"));
    for caption in ["By region (detained now)", "By status", "By year of detention (detained now)"] {
        assert!(html.contains(&format!("<caption>{caption}</caption>")), "{caption}");
    }
    assert!(html.contains("<th scope=\"row\">Kherson region</th><td class=\"number\">1</td>"), "{html}");
    assert!(html.contains("<th scope=\"row\">under review</th><td class=\"number\">1</td>"), "{html}");
    assert!(html.contains("<th scope=\"row\">2022</th>"));
    let ukrainian = Call::get("/stats?lang=uk").send(&router).await.text();
    assert!(ukrainian.contains("За регіоном"));
    assert!(ukrainian.contains("Херсонська область"));
    // An empty ledger draws an empty chart, not an error.
    let empty = app(&node(Some("ccl"), REAL_NAME));
    assert_eq!(Call::get("/stats").send(&empty).await.status, StatusCode::OK);
}

#[tokio::test]
async fn about_shows_the_coalition_members_criteria_and_the_content_file_escaped() {
    let (_ccl, _zmina, router, _cases) = three_people().await;
    let html = Call::get("/about").send(&router).await.text();
    assert!(html.contains("Test coalition"));
    for org in ["ccl", "crimea-sos", "zmina"] {
        assert!(html.contains(&format!("Test organisation {org}")), "{org}");
    }
    assert!(html.contains("<h2>How the list is made</h2>"), "{html}");
    assert!(html.contains("PACE Resolution 1900 (2012)"));
    // Both languages of every criterion, on either page.
    assert!(html.contains("the detention results from clearly unfair proceedings"));
    assert!(html.contains("позбавлення волі є наслідком явно несправедливого провадження"));
    assert_eq!(html.matches("<dt>").count(), 5, "criteria a to e");
    let ukrainian = Call::get("/about?lang=uk").send(&router).await.text();
    assert!(ukrainian.contains("<h2>Як складається список</h2>"), "{ukrainian}");
}
