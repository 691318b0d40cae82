//! The public API beside the page: the list with the page's query, one person, the counts, and
//! the CSV and JSON downloads.

use axum::http::StatusCode;
use coalition_server::PAGE_ENTRIES;
use serde_json::{Value, json};

use crate::fixtures::{Call, REAL_NAME, app, node, open_case};
use crate::public::{HOSTILE, listed_case};
use crate::site::three_people;

/// The case ids the page links to, in order.
fn page_cases(html: &str) -> Vec<String> {
    html.split("<a href=\"/persons/").skip(1).filter_map(|rest| rest.split('?').next()).map(str::to_owned).collect()
}

fn api_cases(list: &Value) -> Vec<String> {
    list["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| entry["case"].as_str().expect("case").to_owned())
        .collect()
}

#[tokio::test]
async fn the_api_list_answers_every_query_of_the_page_with_the_same_people_in_the_same_order() {
    let (_ccl, _zmina, router, _cases) = three_people().await;
    let queries = [
        "",
        "q=petrenko",
        "q=%D0%84%D0%B2%D0%B3%D0%B5%D0%BD",
        "q=oleksiy+harchenko",
        "q=nobody",
        "region=crimea",
        "year=2022",
        "group=Kherson+teachers",
        "status=listed&region=kherson",
        "status=released",
        "sort=detained",
        "sort=region",
        "sort=name&page=2",
    ];
    for lang in ["en", "uk"] {
        for query in queries {
            let path = format!("?{query}&lang={lang}");
            let page = Call::get(format!("/{path}")).send(&router).await;
            let api = Call::get(format!("/api/v1/list{path}")).send(&router).await;
            assert_eq!(api.status, StatusCode::OK, "{path}: {}", api.text());
            let list = api.json();
            assert_eq!(api_cases(&list), page_cases(&page.text()), "{path}");
            assert_eq!(list["found"].as_u64(), Some(api_cases(&list).len() as u64), "{path}");
            assert_eq!(list["count"], 3, "count is the whole list: {path}");
            assert_eq!((list["page"].as_u64(), list["pages"].as_u64()), (Some(1), Some(1)), "{path}");
        }
    }
    // Without `lang` the API sorts by the Ukrainian names, whatever Accept-Language says.
    let plain = Call::get("/api/v1/list").header("accept-language", "en").send(&router).await.json();
    let ukrainian = Call::get("/api/v1/list?lang=uk").send(&router).await.json();
    assert_eq!(api_cases(&plain), api_cases(&ukrainian));
}

#[tokio::test]
async fn the_api_list_is_paged_like_the_page() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let zmina = node(Some("zmina"), REAL_NAME);
    let router = app(&ccl);
    for index in 0..PAGE_ENTRIES + 2 {
        listed_case(&ccl, &zmina, &router, json!({ "name_en": format!("Person {index:03}") })).await;
    }
    let first = Call::get("/api/v1/list?lang=en").send(&router).await.json();
    assert_eq!(first["entries"].as_array().map(Vec::len), Some(PAGE_ENTRIES));
    assert_eq!(
        (first["page"].as_u64(), first["pages"].as_u64(), first["found"].as_u64()),
        (Some(1), Some(2), Some(52))
    );
    for page in ["2", "999"] {
        let list = Call::get(format!("/api/v1/list?lang=en&page={page}")).send(&router).await.json();
        let names: Vec<&str> = list["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter_map(|entry| entry["facts"]["name_en"].as_str())
            .collect();
        assert_eq!(names, ["Person 050", "Person 051"], "page {page}: past the end is the last page");
        assert_eq!(list["page"], 2);
    }
    let all = Call::get("/api/v1/list.json?lang=en").send(&router).await.json();
    assert_eq!(all["entries"].as_array().map(Vec::len), Some(PAGE_ENTRIES + 2), "a download is never paged");
}

#[tokio::test]
async fn bad_api_queries_are_json_400s_naming_the_parameter() {
    let (_ccl, _zmina, router, _cases) = three_people().await;
    let long = format!("q={}", "a".repeat(10_000));
    for (query, fragment) in [
        ("status=detained", "status"),
        ("region=atlantis", "region"),
        ("year=22", "year"),
        ("sort=random", "sort"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("lang=fr", "lang"),
        (long.as_str(), "longer than"),
    ] {
        for route in ["/api/v1/list", "/api/v1/list.json", "/api/v1/list.csv"] {
            let reply = Call::get(format!("{route}?{query}")).send(&router).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{route}?{query}");
            assert_eq!(reply.code(), "invalid_query", "{route}?{query}");
            let message = reply.json()["error"]["message"].as_str().unwrap_or_default().to_owned();
            assert!(message.contains(fragment), "{route}?{query}: {message}");
        }
    }
    // Hostile but well-formed searches are searches.
    for query in ["q=%3Cscript%3E", "q='%20OR%201=1--", "q=%FF%FE", "q=%", "unknown=1"] {
        let reply = Call::get(format!("/api/v1/list?{query}")).send(&router).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text());
    }
}

#[tokio::test]
async fn one_person_is_public_fields_and_the_signed_events_and_nothing_else_is_found() {
    let (ccl, _zmina, router, cases) = three_people().await;
    let reply = Call::get(format!("/api/v1/persons/{}", cases[0])).send(&router).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(reply.header("etag").is_some());
    let person = reply.json();
    let entry = ccl.with_projection(|projection| {
        projection.list_entries().find(|entry| entry.case == cases[0]).expect("listed").to_json()
    });
    assert_eq!(person["entry"], entry, "the entry exactly as in the list document");
    assert_eq!(person["history"][0]["status"], "under_review");
    assert_eq!(
        person["history"].as_array().and_then(|history| history.last()).map(|last| &last["status"]),
        Some(&json!("listed"))
    );
    let events = person["events"].as_array().expect("events");
    assert!(events.len() >= 5, "opened, criteria, endorsements, sign: {events:?}");
    assert_eq!(events[0]["id"], cases[0].to_string(), "the case is the id of the event that opened it");
    assert_eq!(events[0]["kind"], "case.opened");
    assert!(events.iter().any(|event| event["org"] == "zmina"));
    // The whole answer holds nothing but the entry, the history and the events.
    let keys: Vec<&String> = person.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["entry", "events", "history"]);

    let hostile = Call::get(format!("/api/v1/persons/{}", cases[2])).send(&router).await.json();
    assert_eq!(hostile["entry"]["facts"]["name_en"], HOSTILE, "JSON carries the exact text");

    let under_review = open_case(&router, json!({ "name_en": "Private For Now" })).await;
    for id in [under_review.to_string(), "a".repeat(64), "not-an-id".to_owned(), "%00".to_owned()] {
        let reply = Call::get(format!("/api/v1/persons/{id}")).send(&router).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(reply.code(), "not_found");
        assert!(!reply.text().contains("Private For Now"));
    }
}

#[tokio::test]
async fn stats_are_the_counts_of_the_list() {
    let (_ccl, _zmina, router, _cases) = three_people().await;
    let stats = Call::get("/api/v1/stats").send(&router).await;
    assert_eq!(stats.status, StatusCode::OK);
    let stats = stats.json();
    let list = Call::get("/api/v1/list").send(&router).await.json();
    assert_eq!(stats["counts"], list["counts"]);
    assert_eq!(stats["counts"]["in_list"], 3);
    assert_eq!(stats["counts"]["by_region"], json!({ "crimea": 1, "donetsk": 1, "kherson": 1 }));
    assert_eq!(stats["counts"]["by_detention_year"], json!({ "2019": 1, "2022": 1, "2023": 1 }));
    assert_eq!(stats["demo"], false);
    assert_eq!(stats["ledger"], list["ledger"]);
}

/// Reads RFC 4180 CSV (the tests' own reader, so the server's writer is checked against it).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, other) => cell.push(other),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, other) => cell.push(other),
        }
    }
    assert!(cell.is_empty() && row.is_empty(), "the file ends with CRLF");
    rows
}

#[tokio::test]
async fn the_csv_download_is_rfc_4180_with_a_bom_dated_and_safe_from_formulas() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let zmina = node(Some("zmina"), REAL_NAME);
    let router = app(&ccl);
    let formula = "=HYPERLINK(\"http://evil.example\",\"click\")";
    listed_case(
        &ccl,
        &zmina,
        &router,
        json!({ "name_en": formula, "name_uk": "Іван, \"Ваня\" Петренко", "region": "crimea",
        "charges": [{ "code": "ru_criminal_code", "article": "205.5", "part": "2" }] }),
    )
    .await;
    listed_case(
        &ccl,
        &zmina,
        &router,
        json!({ "name_en": "+380 Plus", "name_uk": "-Мінус", "case_group": "@group", "region": "kherson" }),
    )
    .await;
    let reply = Call::get("/api/v1/list.csv").send(&router).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("text/csv; charset=utf-8; header=present"));
    let date = ccl.newest_event_time().expect("events").to_string()[..10].to_owned();
    assert_eq!(
        reply.header("content-disposition"),
        Some(format!("attachment; filename=\"coalition-list-{date}.csv\"").as_str())
    );
    let text = reply.text();
    let body = text.strip_prefix('\u{feff}').expect("a UTF-8 byte order mark first");
    let rows = parse_csv(body);
    assert_eq!(rows[0][..3], ["case", "status", "status_date"]);
    assert_eq!(rows.len(), 3, "header and two people: {rows:?}");
    let column = |name: &str| rows[0].iter().position(|header| header == name).expect(name);
    let by_name = |name: &str| {
        rows.iter().find(|row| row[column("name_en")] == name).unwrap_or_else(|| panic!("{name}: {rows:?}"))
    };
    let first = by_name(&format!("'{formula}"));
    assert_eq!(first[column("name_uk")], "Іван, \"Ваня\" Петренко", "quotes and commas survive");
    assert_eq!(first[column("charges")], "ru_criminal_code 205.5 part 2");
    assert_eq!(first[column("region")], "crimea");
    assert_eq!(first[column("criteria")], "a");
    assert_eq!(first[column("endorsed_by")], "ccl; zmina");
    let second = by_name("'+380 Plus");
    assert_eq!(second[column("name_uk")], "'-Мінус");
    assert_eq!(second[column("case_group")], "'@group");
    for row in &rows {
        assert_eq!(row.len(), rows[0].len());
        for cell in row {
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "no cell starts a formula: {cell:?}");
        }
    }
    // The query filters the download too.
    let kherson = Call::get("/api/v1/list.csv?region=kherson").send(&router).await.text();
    assert_eq!(parse_csv(kherson.trim_start_matches('\u{feff}')).len(), 2);
}

#[tokio::test]
async fn the_json_download_is_the_list_body_as_a_dated_attachment() {
    let (ccl, _zmina, router, _cases) = three_people().await;
    let reply = Call::get("/api/v1/list.json?region=crimea").send(&router).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let date = ccl.newest_event_time().expect("events").to_string()[..10].to_owned();
    assert_eq!(
        reply.header("content-disposition"),
        Some(format!("attachment; filename=\"coalition-list-{date}.json\"").as_str())
    );
    let list = reply.json();
    assert_eq!((list["count"].as_u64(), list["found"].as_u64()), (Some(3), Some(1)));
    assert_eq!(list["entries"][0]["facts"]["region"], "crimea");
    let etag = reply.header("etag").expect("etag").to_owned();
    let again = Call::get("/api/v1/list.json?region=crimea").header("if-none-match", &etag).send(&router).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    // Every page offers both downloads.
    let home = Call::get("/").send(&router).await.text();
    assert!(home.contains("href=\"/api/v1/list.json\"") && home.contains("href=\"/api/v1/list.csv\""), "{home}");
}
