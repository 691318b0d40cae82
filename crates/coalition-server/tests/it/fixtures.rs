//! Deterministic keys, genesis and nodes for the tests, and a way to call the router in-process.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use coalition_core::body::Policy;
use coalition_core::event::{EventId, OrgSlug};
use coalition_core::genesis::{FoundingMember, Genesis, GenesisDoc};
use coalition_core::keys::{KeyName, SignerKey};
use coalition_core::time::Timestamp;
use coalition_node::Node;
use coalition_server::{AdminToken, ServerOptions};
use serde_json::Value;
use tower::ServiceExt;

pub const ORIGIN: &str = "coalition.example";
pub const ORGS: [&str; 3] = ["ccl", "crimea-sos", "zmina"];
/// The test admin token (40 bytes).
pub const TOKEN: &str = "test-token-0123456789-abcdefghijklmnopqr";
/// A demo coalition's name: the node treats a genesis named "fictional" as the demo.
pub const DEMO_NAME: &str = "Test coalition (fictional)";
/// A coalition name without the demo marker.
pub const REAL_NAME: &str = "Test coalition";

pub fn slug(name: &str) -> OrgSlug {
    OrgSlug::parse(name).expect("test slug")
}

/// The fixed key of a test organisation: seed bytes derived from its position.
pub fn key(org: &str) -> SignerKey {
    let index = ORGS.iter().position(|candidate| *candidate == org).map_or(200, |index| index as u8 + 1);
    SignerKey::from_seed(KeyName::parse(&format!("{ORIGIN}/{org}")).expect("test key name"), [index; 32])
}

/// A key for an organisation that is not a founder, with its own seed.
pub fn other_key(org: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(KeyName::parse(&format!("{ORIGIN}/{org}")).expect("test key name"), [seed; 32])
}

/// The test genesis named `name`, signed by every founder.
pub fn genesis(name: &str) -> Genesis {
    let members = ORGS
        .iter()
        .map(|org| FoundingMember {
            slug: slug(org),
            name: format!("Test organisation {org}"),
            vkey: key(org).verifier_key(),
            recipient: None,
        })
        .collect();
    let doc = GenesisDoc {
        name: name.into(),
        origin: ORIGIN.into(),
        created: Timestamp::parse("2026-01-01T00:00:00Z").expect("test time"),
        members,
        policy: Policy { listing_quorum: 2, governance_quorum: 2, edition_quorum: 2, exclusion_quorum: 2 },
    };
    let mut genesis = Genesis::parse(&doc.to_note_text().expect("genesis text")).expect("parse genesis");
    for org in ORGS {
        genesis = Genesis::parse(&genesis.sign(&key(org)).expect("sign genesis")).expect("parse signed genesis");
    }
    genesis
}

/// An in-memory node of `org` (a read-only mirror when `org` is `None`) on the genesis `name`.
pub fn node(org: Option<&str>, name: &str) -> Node {
    Node::open_in_memory(genesis(name), org.map(key)).expect("open test node")
}

pub fn token() -> AdminToken {
    AdminToken::new(TOKEN).expect("test token")
}

/// The router of `node` with the test token.
pub fn app(node: &Node) -> Router {
    coalition_server::router(node.clone(), ServerOptions { admin_token: Some(token()), ..ServerOptions::default() })
}

/// Copies every event `from` holds of `org`'s feed into `to`, as replication would.
pub fn replicate(from: &Node, to: &Node, org: &str) {
    let events = from.read_feed(&slug(org), 1, 1000).expect("read feed");
    let notes = events.iter().enumerate().map(|(index, event)| (index as u64, event.note().to_owned()));
    let report = to.import(notes).expect("import");
    assert!(report.refused.is_empty(), "refused on import: {:?}", report.refused);
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The `error.code` of an error body.
    pub fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
    }

    /// The `id` of a 201 receipt.
    pub fn id(&self) -> EventId {
        assert_eq!(self.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&self.body));
        EventId::parse(self.json()["id"].as_str().expect("id")).expect("event id")
    }
}

/// A request to send through the router.
pub struct Call {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    peer: Option<std::net::SocketAddr>,
}

impl Call {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self { method, path: path.into(), headers: Vec::new(), body: None, peer: None }
    }

    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// A member call with the test token.
    pub fn member(method: Method, path: &str) -> Self {
        Self::new(method, format!("/api/v1/member{path}")).header("authorization", &format!("Bearer {TOKEN}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The connection's peer address, as `coalition_server::serve` gives it to the router.
    pub fn peer(mut self, address: &str) -> Self {
        self.peer = Some(address.parse().expect("test socket address"));
        self
    }

    /// A JSON body (with its content type).
    pub fn json(self, body: &Value) -> Self {
        self.raw("application/json", serde_json::to_vec(body).expect("JSON"))
    }

    /// Any body with any content type.
    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self.header("content-type", content_type)
    }

    pub async fn send(self, router: &Router) -> Reply {
        let mut request = Request::builder().method(self.method).uri(self.path);
        for (name, value) in self.headers {
            request = request.header(name, value);
        }
        if let Some(peer) = self.peer {
            request = request.extension(axum::extract::ConnectInfo(peer));
        }
        let request = request.body(self.body.map_or_else(Body::empty, Body::from)).expect("request");
        let response = router.clone().oneshot(request).await.expect("infallible router");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024).await.expect("body").to_vec();
        Reply { status, headers, body }
    }
}

/// Opens a case through the member API and returns its id.
pub async fn open_case(router: &Router, facts: Value) -> EventId {
    Call::member(Method::POST, "/cases").json(&serde_json::json!({ "facts": facts })).send(router).await.id()
}
