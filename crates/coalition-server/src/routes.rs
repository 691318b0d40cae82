//! The one list of the server's routes: the routers are built from it, and the test of the
//! OpenAPI document (`/api/v1/openapi.json`) compares its paths and methods with it.

/// One route: an HTTP method and an axum path (`{name}` for a path parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// `GET`, `POST`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// The full path, as written in the OpenAPI document.
    pub path: &'static str,
}

const fn route(method: &'static str, path: &'static str) -> Route {
    Route { method, path }
}

/// The public routes, served by every node.
pub const PUBLIC_ROUTES: &[Route] = &[
    route("GET", "/"),
    route("GET", "/persons/{case}"),
    route("GET", "/stats"),
    route("GET", "/about"),
    route("GET", "/api/v1/list"),
    route("GET", "/api/v1/list/canonical"),
    route("GET", "/api/v1/list.json"),
    route("GET", "/api/v1/list.csv"),
    route("GET", "/api/v1/persons/{case}"),
    route("GET", "/api/v1/stats"),
    route("GET", "/api/v1/feeds/{org}"),
    route("GET", "/api/v1/events/{id}"),
    route("GET", "/api/v1/openapi.json"),
    route("GET", "/healthz"),
    route("GET", "/api/v1/status"),
    route("GET", "/static/site.css"),
    route("GET", "/editions"),
    route("GET", "/editions/{label}"),
    route("GET", "/api/v1/editions"),
    route("GET", "/api/v1/editions/{label}"),
    route("GET", "/api/v1/editions/{label}/note"),
    route("GET", "/api/v1/editions/{label}/proof/{case}"),
    route("GET", "/api/v1/editions/{label}/changes"),
    route("GET", "/api/v1/editions/{label}/list.json"),
    route("GET", "/api/v1/editions/{label}/list.csv"),
    route("GET", "/report"),
    route("POST", "/api/v1/reports"),
];

/// The prefix of the member routes.
pub const MEMBER_PREFIX: &str = "/api/v1/member";

/// The member routes (behind the bearer token), served when the node holds a key and a token.
pub const MEMBER_ROUTES: &[Route] = &[
    route("POST", "/api/v1/member/events"),
    route("POST", "/api/v1/member/cases"),
    route("GET", "/api/v1/member/cases/{case}"),
    route("PATCH", "/api/v1/member/cases/{case}"),
    route("POST", "/api/v1/member/cases/{case}/criteria"),
    route("DELETE", "/api/v1/member/cases/{case}/criteria/{criterion}"),
    route("POST", "/api/v1/member/cases/{case}/signs"),
    route("POST", "/api/v1/member/cases/{case}/exclusion"),
    route("DELETE", "/api/v1/member/cases/{case}/exclusion"),
    route("GET", "/api/v1/member/cases/{case}/sealed"),
    route("POST", "/api/v1/member/cases/{case}/sealed"),
    route("POST", "/api/v1/member/cases/{case}/shred"),
    route("POST", "/api/v1/member/cases/{case}/endorsement"),
    route("DELETE", "/api/v1/member/cases/{case}/endorsement"),
    route("POST", "/api/v1/member/cases/{case}/release"),
    route("POST", "/api/v1/member/cases/{case}/redetention"),
    route("POST", "/api/v1/member/cases/{case}/death"),
    route("POST", "/api/v1/member/members"),
    route("POST", "/api/v1/member/members/{slug}/removal"),
    route("POST", "/api/v1/member/proposals/{proposal}/approval"),
    route("POST", "/api/v1/member/policy"),
    route("POST", "/api/v1/member/key"),
    route("GET", "/api/v1/member/pending"),
    route("GET", "/api/v1/member/quarantine"),
    route("POST", "/api/v1/member/editions"),
    route("POST", "/api/v1/member/editions/{edition}/cosignature"),
    route("GET", "/api/v1/member/reports"),
    route("GET", "/api/v1/member/reports/{id}"),
    route("POST", "/api/v1/member/reports/{id}/accept"),
    route("POST", "/api/v1/member/reports/{id}/discard"),
];

/// The template of `matched` (an axum matched path) as a `'static` label from [`PUBLIC_ROUTES`]
/// or [`MEMBER_ROUTES`]; `"other"` for a path in neither (it cannot happen for a routed request,
/// but a label must never come from a request).
pub(crate) fn template(matched: &str) -> &'static str {
    PUBLIC_ROUTES.iter().chain(MEMBER_ROUTES).find(|route| route.path == matched).map_or("other", |route| route.path)
}
