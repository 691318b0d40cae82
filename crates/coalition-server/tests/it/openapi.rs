//! The OpenAPI document: it parses, is OpenAPI 3.1, and names exactly the routes the router
//! serves (the lists in `coalition_server::{PUBLIC_ROUTES, MEMBER_ROUTES}` build the router).

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use coalition_server::{MEMBER_ROUTES, PUBLIC_ROUTES};

use crate::fixtures::{Call, REAL_NAME, TOKEN, app, node};

#[tokio::test]
async fn the_document_is_openapi_3_1_and_its_paths_are_the_routes() {
    let router = app(&node(Some("ccl"), REAL_NAME));
    let reply = Call::get("/api/v1/openapi.json").send(&router).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let document = reply.json();
    assert!(document["openapi"].as_str().is_some_and(|version| version.starts_with("3.1.")), "{}", document["openapi"]);
    assert!(document["info"]["title"].is_string() && document["info"]["version"].is_string());
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            documented.insert((method.to_uppercase(), path.clone()));
            assert!(operation["responses"].is_object(), "{method} {path} has responses");
            assert!(operation["summary"].is_string(), "{method} {path} has a summary");
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "path" {
                    let name = parameter["name"].as_str().expect("name");
                    assert!(path.contains(&format!("{{{name}}}")), "{path} declares {{{name}}}");
                }
            }
        }
    }
    let routes: BTreeSet<(String, String)> = PUBLIC_ROUTES
        .iter()
        .chain(MEMBER_ROUTES)
        .map(|route| (route.method.to_owned(), route.path.to_owned()))
        .collect();
    assert_eq!(documented, routes);
    // Every `$ref` points at a component that exists.
    let text = reply.text();
    for reference in text.split("\"$ref\": \"#/").skip(1).filter_map(|rest| rest.split('"').next()) {
        let mut target = &document;
        for part in reference.split('/') {
            target = &target[part];
        }
        assert!(!target.is_null(), "dangling $ref #/{reference}");
    }
}

#[tokio::test]
async fn every_listed_route_is_served_by_the_router() {
    let router = app(&node(Some("ccl"), REAL_NAME));
    let sample = |path: &str| {
        path.replace("{case}", &"a".repeat(64))
            .replace("{org}", "ccl")
            .replace("{criterion}", "a")
            .replace("{slug}", "zmina")
            .replace("{proposal}", &"a".repeat(64))
    };
    for route in PUBLIC_ROUTES.iter().chain(MEMBER_ROUTES) {
        let method = Method::from_bytes(route.method.as_bytes()).expect("method");
        let reply = Call::new(method, sample(route.path))
            .header("authorization", &format!("Bearer {TOKEN}"))
            .send(&router)
            .await;
        assert_ne!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{route:?}");
        // The fallback's 404 says `not_found` with no route: a handler's 404 is about a resource.
        if reply.status == StatusCode::NOT_FOUND && reply.header("content-type") == Some("application/json") {
            assert_ne!(reply.json()["error"]["message"], "no such route on this node", "{route:?} is not routed");
        }
    }
}
