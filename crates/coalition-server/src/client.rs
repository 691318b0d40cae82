//! The blocking HTTP client the `coalition` command uses to talk to a running node: the member
//! API with the admin token ([`MemberClient`]) and the public API ([`PublicClient`]).
//!
//! **Why reqwest, blocking, without TLS by default.** The CLI is synchronous, so the client
//! blocks. reqwest's blocking client runs on the same hyper, http and tokio crates that axum
//! already brings into the build, so it adds little to compile; `ureq` would bring a second HTTP
//! stack. TLS (`rustls` with the aws-lc-rs provider) is a C build of several minutes on a small
//! machine, and the member API is meant to be reached on the node's loopback address (or an
//! SSH tunnel to it, or a TLS-terminating proxy on the node's machine), so it is the optional
//! feature `tls`; without it `https://` URLs are refused with a message saying so.
//!
//! The admin token is a secret: [`MemberClient`] refuses to send it over plain `http://` to any
//! host but a loopback address, never follows redirects, and never puts it in an error message.
//!
//! Errors ([`ClientError`]) carry the HTTP status, the server's error code and message, the
//! field at fault, and say what to do (is the node running at that URL? check the token file).

use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::time::Duration;

use coalition_core::body::{
    Criterion, EventKind, ExclusionGround, FactField, Facts, Policy, ReleaseCircumstances, Sign,
};
use coalition_core::event::{EventId, OrgSlug};
use coalition_core::time::Date;
use reqwest::Method;
use reqwest::Url;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api::{
    CaseDetail, CaseFile, ErrorBody, EventReceipt, FeedPage, Health, ListBody, Pending, QuarantinePage, Shredded,
    StatusBody, Submitted,
};
use crate::auth::AdminToken;
use crate::editions::{ChangesBody, EditionBody, EditionReceipt, EditionsBody, ProofBody, ProposeEdition};
use crate::report::{Accepted, Inbox};

/// Longest wait for a TCP connection to the node.
pub const CLIENT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest wait for a whole answer. Longer than the server's own request timeout, so the server's
/// explanation arrives before the client gives up.
pub const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest answer read, in bytes (a large list as JSON stays well below it).
pub const CLIENT_RESPONSE_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// Longest piece of an unexpected answer quoted in an error, in characters.
const QUOTED_RESPONSE_CHARS_MAX: usize = 200;

/// Sensitive fields to seal, by name: a text or a list of texts each.
pub type SealedFieldsRequest = std::collections::BTreeMap<String, coalition_core::seal::SealedValue>;

/// Where the member API lives under the node's base URL.
const MEMBER_PREFIX: &str = "api/v1/member/";

/// Why a request to a node failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The base URL cannot be used.
    #[error("{url:?} is not a node URL this client can use: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why, and what to give instead.
        reason: String,
    },
    /// The request body cannot be written as JSON.
    #[error("cannot write the request body as JSON: {reason}")]
    InvalidBody {
        /// The serialiser's words.
        reason: String,
    },
    /// The admin token would cross a network in clear.
    #[error(
        "refusing to send the admin token to {url} over plain http: it would cross the network in clear. \
         Run the command on the node's machine with http://127.0.0.1:PORT, use an SSH tunnel to that port, \
         or use https:// (a build with the `tls` feature)"
    )]
    InsecureUrl {
        /// The URL given.
        url: String,
    },
    /// Nothing answered at the URL.
    #[error("cannot connect to {url}: is the node running at that URL? ({detail})")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// The transport's words.
        detail: String,
    },
    /// The node did not answer in time.
    #[error(
        "{url} did not answer within {seconds} s: the node may be overloaded or stuck. If this was a change, \
         look at the case or the pending work before sending it again"
    )]
    TimedOut {
        /// The URL tried.
        url: String,
        /// The limit.
        seconds: u64,
    },
    /// The node refused the request and said why.
    #[error("{}", describe_refusal(*.status, .code, .message, .path.as_deref()))]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's error code, like `no_effect`.
        code: String,
        /// The server's message.
        message: String,
        /// The JSON path of the field at fault, if any.
        path: Option<String>,
    },
    /// The answer was not what a coalition node sends.
    #[error("unexpected answer from {url} (HTTP {status}): {detail}. Is that URL a coalition-ledger node?")]
    UnexpectedResponse {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// What was wrong with the answer.
        detail: String,
    },
}

impl ClientError {
    /// The HTTP status, when the node answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Refused { status, .. } | Self::UnexpectedResponse { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's error code, when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The server's message, when it sent one.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            Self::Refused { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The JSON path of the field at fault, when the server named one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Refused { path, .. } => path.as_deref(),
            _ => None,
        }
    }
}

/// What to do about a refusal, by the server's code.
fn hint(status: u16, code: &str) -> Option<&'static str> {
    Some(match code {
        "unauthorized" => "check the token file: it must hold the same token the node was started with",
        "not_found" if status == 404 => {
            "check the id; if the route itself is unknown, the node may be running without the member API \
             (started without an admin token, or without a signing key)"
        }
        "unknown_reference" => "check the id, or wait until the node has received the event it names",
        "store_unavailable" => "nothing was written: check the node's disk and log, then try again",
        "overloaded" => "try again in a moment",
        "too_large" => "shorten the text fields",
        "sensitive_data" => "such data may only be recorded in a sealed record, never in clear in a feed",
        "cannot_seal" => "nothing was signed, and nothing sensitive is ever signed in clear",
        _ => return None,
    })
}

fn describe_refusal(status: u16, code: &str, message: &str, path: Option<&str>) -> String {
    let mut text = String::from(message);
    if let Some(path) = path {
        text.push_str(&format!(" (field {path})"));
    }
    text.push_str(&format!(" [HTTP {status}, {code}]"));
    if let Some(hint) = hint(status, code) {
        text.push_str(": ");
        text.push_str(hint);
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Public client
// ---------------------------------------------------------------------------------------------

/// A client of a node's public API (no token).
#[derive(Clone)]
pub struct PublicClient {
    http: Client,
    base: Url,
}

impl fmt::Debug for PublicClient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("PublicClient").field("base", &self.base.as_str()).finish()
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let bare = host.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).unwrap_or(host);
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|address| address.is_loopback())
}

impl PublicClient {
    /// A client of the node at `base_url`, like `http://127.0.0.1:8080`.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let invalid = |reason: &str| ClientError::InvalidUrl { url: base_url.to_owned(), reason: reason.to_owned() };
        let mut base =
            Url::parse(base_url).map_err(|error| invalid(&format!("{error}; give one like http://127.0.0.1:8080")))?;
        match base.scheme() {
            "http" => {}
            "https" if cfg!(feature = "tls") => {}
            "https" => {
                return Err(invalid(
                    "this build has no TLS support (the `tls` feature): reach the node over http:// on its \
                     machine or through an SSH tunnel",
                ));
            }
            _ => return Err(invalid("only http:// and https:// URLs are supported")),
        }
        if base.host().is_none() {
            return Err(invalid("the URL names no host"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid("give the node's base URL, without a query or fragment"));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let mut builder = Client::builder()
            .connect_timeout(CLIENT_CONNECT_TIMEOUT)
            .timeout(CLIENT_REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("coalition-client/", env!("CARGO_PKG_VERSION")));
        if is_loopback(&base) {
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|error| invalid(&format!("cannot set up the HTTP client: {error}")))?;
        Ok(Self { http, base })
    }

    /// The node's base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// The joint list with its count, hash and counts (`GET /api/v1/list`).
    pub fn get_list(&self) -> Result<ListBody, ClientError> {
        self.get_json("api/v1/list", None)
    }

    /// The canonical list document, byte for byte (`GET /api/v1/list/canonical`).
    pub fn get_list_document(&self) -> Result<String, ClientError> {
        let url = self.url("api/v1/list/canonical")?;
        let (status, bytes) = self.send(self.http.get(url.clone()), &url)?;
        check_status(&url, status, &bytes)?;
        String::from_utf8(bytes).map_err(|_| unexpected(&url, status, "the document is not UTF-8 text".to_owned()))
    }

    /// A page of `org`'s signed notes from seq `from` (`GET /api/v1/feeds/{org}`).
    pub fn feed(&self, org: &OrgSlug, from: u64, limit: usize) -> Result<FeedPage, ClientError> {
        self.get_json(&format!("api/v1/feeds/{org}?from={from}&limit={limit}"), None)
    }

    /// The node's health (`GET /healthz`).
    pub fn health(&self) -> Result<Health, ClientError> {
        self.get_json("healthz", None)
    }

    /// The node's feeds and replication progress (`GET /api/v1/status`).
    pub fn status(&self) -> Result<StatusBody, ClientError> {
        self.get_json("api/v1/status", None)
    }

    /// Every edition (`GET /api/v1/editions`).
    pub fn editions(&self) -> Result<EditionsBody, ClientError> {
        self.get_json("api/v1/editions", None)
    }

    /// One edition by label or id (`GET /api/v1/editions/{label}`).
    pub fn edition(&self, label: &str) -> Result<EditionBody, ClientError> {
        self.get_json(&format!("api/v1/editions/{}", path_segment(label)), None)
    }

    /// An edition's signed note with every cosignature (`GET /api/v1/editions/{label}/note`).
    pub fn edition_note(&self, label: &str) -> Result<String, ClientError> {
        let url = self.url(&format!("api/v1/editions/{}/note", path_segment(label)))?;
        let (status, bytes) = self.send(self.http.get(url.clone()), &url)?;
        check_status(&url, status, &bytes)?;
        String::from_utf8(bytes).map_err(|_| unexpected(&url, status, "the note is not UTF-8 text".to_owned()))
    }

    /// The inclusion proof of `case` in an edition (`GET /api/v1/editions/{label}/proof/{case}`).
    pub fn edition_proof(&self, label: &str, case: &EventId) -> Result<ProofBody, ClientError> {
        self.get_json(&format!("api/v1/editions/{}/proof/{case}", path_segment(label)), None)
    }

    /// What changed between two editions (`GET /api/v1/editions/{label}/changes?since=`); without
    /// `since`, since the previous official edition.
    pub fn edition_changes(&self, label: &str, since: Option<&str>) -> Result<ChangesBody, ClientError> {
        let query = since.map(|since| format!("?since={}", path_segment(since))).unwrap_or_default();
        self.get_json(&format!("api/v1/editions/{}/changes{query}", path_segment(label)), None)
    }

    fn url(&self, path: &str) -> Result<Url, ClientError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|error| ClientError::InvalidUrl { url: format!("{}{path}", self.base), reason: error.to_string() })
    }

    fn get_json<T: DeserializeOwned>(&self, path: &str, token: Option<&AdminToken>) -> Result<T, ClientError> {
        let url = self.url(path)?;
        let mut request = self.http.get(url.clone());
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {}", token.expose()));
        }
        let (status, bytes) = self.send(request, &url)?;
        decode(&url, status, &bytes)
    }

    fn send(&self, request: RequestBuilder, url: &Url) -> Result<(u16, Vec<u8>), ClientError> {
        let response = request.send().map_err(|error| transport_error(url, &error))?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        response
            .take(CLIENT_RESPONSE_BYTES_MAX + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| unexpected(url, status, format!("the answer broke off: {error}")))?;
        if bytes.len() as u64 > CLIENT_RESPONSE_BYTES_MAX {
            return Err(unexpected(
                url,
                status,
                format!("the answer is larger than {CLIENT_RESPONSE_BYTES_MAX} bytes"),
            ));
        }
        Ok((status, bytes))
    }
}

fn transport_error(url: &Url, error: &reqwest::Error) -> ClientError {
    let url = url.to_string();
    if error.is_timeout() {
        return ClientError::TimedOut { url, seconds: CLIENT_REQUEST_TIMEOUT.as_secs() };
    }
    // reqwest's own message is generic; the innermost source names the cause (connection refused, ...).
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        detail = inner.to_string();
        source = inner.source();
    }
    ClientError::Unreachable { url, detail }
}

fn unexpected(url: &Url, status: u16, detail: String) -> ClientError {
    ClientError::UnexpectedResponse { url: url.to_string(), status, detail }
}

fn quoted(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut quoted: String = text.chars().take(QUOTED_RESPONSE_CHARS_MAX).collect();
    if text.chars().count() > QUOTED_RESPONSE_CHARS_MAX {
        quoted.push('…');
    }
    format!("{quoted:?}")
}

/// Turns a non-2xx answer into the error it carries.
fn check_status(url: &Url, status: u16, bytes: &[u8]) -> Result<(), ClientError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(body) => Err(ClientError::Refused {
            status,
            code: body.error.code,
            message: body.error.message,
            path: body.error.path,
        }),
        Err(_) => Err(unexpected(url, status, format!("not a coalition error body: {}", quoted(bytes)))),
    }
}

fn decode<T: DeserializeOwned>(url: &Url, status: u16, bytes: &[u8]) -> Result<T, ClientError> {
    check_status(url, status, bytes)?;
    serde_json::from_slice(bytes).map_err(|error| unexpected(url, status, format!("the JSON does not fit: {error}")))
}

// ---------------------------------------------------------------------------------------------
// Member client
// ---------------------------------------------------------------------------------------------

/// A client of a node's member API, authenticated with the admin token.
#[derive(Clone, Debug)]
pub struct MemberClient {
    public: PublicClient,
    token: AdminToken,
}

impl MemberClient {
    /// A client of the node at `base_url` with the members' `token`. Refuses plain `http://` to
    /// a host that is not a loopback address (the token would cross the network in clear).
    pub fn new(base_url: &str, token: AdminToken) -> Result<Self, ClientError> {
        let public = PublicClient::new(base_url)?;
        if public.base.scheme() == "http" && !is_loopback(&public.base) {
            return Err(ClientError::InsecureUrl { url: base_url.to_owned() });
        }
        Ok(Self { public, token })
    }

    /// The public API of the same node.
    pub fn public(&self) -> &PublicClient {
        &self.public
    }

    /// The joint list (`GET /api/v1/list`, public).
    pub fn get_list(&self) -> Result<ListBody, ClientError> {
        self.public.get_list()
    }

    /// Signs an event of any kind with this body (`POST /api/v1/member/events`).
    pub fn submit(&self, kind: EventKind, body: Value) -> Result<Submitted, ClientError> {
        self.post("events", &json!({ "kind": kind.as_str(), "body": body }))
    }

    /// `POST /api/v1/member/{path}` with a JSON body.
    pub fn post(&self, path: &str, body: &impl Serialize) -> Result<Submitted, ClientError> {
        self.write(Method::POST, path, Some(body))
    }

    /// `PATCH /api/v1/member/{path}` with a JSON body.
    pub fn patch(&self, path: &str, body: &impl Serialize) -> Result<Submitted, ClientError> {
        self.write(Method::PATCH, path, Some(body))
    }

    /// `POST /api/v1/member/{path}` without a body (endorsements, removals, approvals).
    pub fn post_empty(&self, path: &str) -> Result<Submitted, ClientError> {
        self.write::<Value>(Method::POST, path, None)
    }

    /// `DELETE /api/v1/member/{path}`.
    pub fn delete(&self, path: &str) -> Result<Submitted, ClientError> {
        self.write::<Value>(Method::DELETE, path, None)
    }

    /// The work waiting on members (`GET /api/v1/member/pending`).
    pub fn pending(&self) -> Result<Pending, ClientError> {
        self.public.get_json(&format!("{MEMBER_PREFIX}pending"), Some(&self.token))
    }

    /// A page of quarantined inputs from record `from` (`GET /api/v1/member/quarantine`).
    pub fn quarantine(&self, from: u64, limit: usize) -> Result<QuarantinePage, ClientError> {
        self.public.get_json(&format!("{MEMBER_PREFIX}quarantine?from={from}&limit={limit}"), Some(&self.token))
    }

    /// Everything the node knows about a case (`GET /api/v1/member/cases/{case}`).
    pub fn case(&self, id: &EventId) -> Result<CaseDetail, ClientError> {
        self.public.get_json(&format!("{MEMBER_PREFIX}cases/{id}"), Some(&self.token))
    }

    /// Opens a case (`case.opened`); the receipt's id is the case id.
    pub fn open_case(&self, facts: &Facts) -> Result<Submitted, ClientError> {
        self.post("cases", &json!({ "facts": facts }))
    }

    /// Sets `facts` and clears `clear` on a case (`case.updated`).
    pub fn update_case(
        &self,
        case: &EventId,
        facts: Option<&Facts>,
        clear: &[FactField],
    ) -> Result<Submitted, ClientError> {
        let mut body = serde_json::Map::new();
        if let Some(facts) = facts {
            body.insert("facts".to_owned(), json!(facts));
        }
        if !clear.is_empty() {
            body.insert("clear".to_owned(), json!(clear));
        }
        self.patch(&format!("cases/{case}"), &body)
    }

    /// Asserts a PACE criterion with optional reasoning (`criterion.asserted`).
    pub fn assert_criterion(
        &self,
        case: &EventId,
        criterion: Criterion,
        reasoning_uk: Option<&str>,
        reasoning_en: Option<&str>,
    ) -> Result<Submitted, ClientError> {
        let mut body = serde_json::Map::new();
        body.insert("criterion".to_owned(), json!(criterion));
        if let Some(text) = reasoning_uk {
            body.insert("reasoning_uk".to_owned(), json!(text));
        }
        if let Some(text) = reasoning_en {
            body.insert("reasoning_en".to_owned(), json!(text));
        }
        self.post(&format!("cases/{case}/criteria"), &body)
    }

    /// Withdraws this organisation's assertion of a criterion (`criterion.withdrawn`).
    pub fn withdraw_criterion(&self, case: &EventId, criterion: Criterion) -> Result<Submitted, ClientError> {
        self.delete(&format!("cases/{case}/criteria/{criterion}"))
    }

    /// Notes a public sign (`sign.noted`).
    pub fn note_sign(&self, case: &EventId, sign: Sign) -> Result<Submitted, ClientError> {
        self.post(&format!("cases/{case}/signs"), &json!({ "sign": sign }))
    }

    /// Raises an exclusion on a ground (`exclusion.raised`).
    pub fn raise_exclusion(&self, case: &EventId, ground: ExclusionGround) -> Result<Submitted, ClientError> {
        self.post(&format!("cases/{case}/exclusion"), &json!({ "ground": ground }))
    }

    /// Withdraws this organisation's exclusion (`exclusion.withdrawn`).
    pub fn withdraw_exclusion(&self, case: &EventId) -> Result<Submitted, ClientError> {
        self.delete(&format!("cases/{case}/exclusion"))
    }

    /// Endorses listing the person (`person.added`).
    pub fn endorse(&self, case: &EventId) -> Result<Submitted, ClientError> {
        self.post_empty(&format!("cases/{case}/endorsement"))
    }

    /// Withdraws this organisation's endorsement (`person.removed`).
    pub fn withdraw_endorsement(&self, case: &EventId) -> Result<Submitted, ClientError> {
        self.delete(&format!("cases/{case}/endorsement"))
    }

    /// Records a release (`person.released`).
    pub fn record_release(
        &self,
        case: &EventId,
        date: Date,
        circumstances: ReleaseCircumstances,
    ) -> Result<Submitted, ClientError> {
        self.post(&format!("cases/{case}/release"), &json!({ "date": date, "circumstances": circumstances }))
    }

    /// Records a new detention after a release (`person.detained`).
    pub fn record_redetention(&self, case: &EventId, date: Date) -> Result<Submitted, ClientError> {
        self.post(&format!("cases/{case}/redetention"), &json!({ "date": date }))
    }

    /// Records a death in custody (`person.died`).
    pub fn record_death(&self, case: &EventId, date: Date) -> Result<Submitted, ClientError> {
        self.post(&format!("cases/{case}/death"), &json!({ "date": date }))
    }

    /// Proposes admitting an organisation (`member.proposed`).
    pub fn propose_member(&self, slug: &OrgSlug, name: &str, vkey: &str) -> Result<Submitted, ClientError> {
        self.post("members", &json!({ "slug": slug, "name": name, "vkey": vkey }))
    }

    /// Proposes removing a member (`member.removal_proposed`).
    pub fn propose_removal(&self, slug: &OrgSlug) -> Result<Submitted, ClientError> {
        self.post_empty(&format!("members/{slug}/removal"))
    }

    /// Approves a membership or policy proposal (`member.approved` or `policy.approved`).
    pub fn approve(&self, proposal: &EventId) -> Result<Submitted, ClientError> {
        self.post_empty(&format!("proposals/{proposal}/approval"))
    }

    /// Proposes new quorums (`policy.proposed`).
    pub fn propose_policy(&self, policy: &Policy) -> Result<Submitted, ClientError> {
        self.post("policy", &json!({ "policy": policy }))
    }

    /// Rotates this organisation's key (`key.rotated`).
    pub fn rotate_key(&self, vkey: &str) -> Result<Submitted, ClientError> {
        self.post("key", &json!({ "vkey": vkey }))
    }

    /// Opens a case (`case.opened`) with sensitive `sealed` fields (a sealed record right after
    /// it; none when empty).
    pub fn open_case_sealed(&self, facts: &Facts, sealed: &SealedFieldsRequest) -> Result<Submitted, ClientError> {
        let mut body = serde_json::Map::new();
        body.insert("facts".to_owned(), json!(facts));
        if !sealed.is_empty() {
            body.insert("sealed".to_owned(), json!(sealed));
        }
        self.post("cases", &body)
    }

    /// Sets `facts`, clears `clear` and seals `sealed` on a case (`case.updated` and its sealed
    /// record; only the sealed record when nothing public changes).
    pub fn update_case_sealed(
        &self,
        case: &EventId,
        facts: Option<&Facts>,
        clear: &[FactField],
        sealed: &SealedFieldsRequest,
    ) -> Result<Submitted, ClientError> {
        let mut body = serde_json::Map::new();
        if let Some(facts) = facts {
            body.insert("facts".to_owned(), json!(facts));
        }
        if !clear.is_empty() {
            body.insert("clear".to_owned(), json!(clear));
        }
        if !sealed.is_empty() {
            body.insert("sealed".to_owned(), json!(sealed));
        }
        self.patch(&format!("cases/{case}"), &body)
    }

    /// Notes a sign by name, public or sensitive (a sensitive sign, and any `note`, are sealed).
    pub fn note_sign_named(&self, case: &EventId, sign: &str, note: Option<&str>) -> Result<Submitted, ClientError> {
        let mut body = serde_json::Map::new();
        body.insert("sign".to_owned(), json!(sign));
        if let Some(note) = note {
            body.insert("note".to_owned(), json!(note));
        }
        self.post(&format!("cases/{case}/signs"), &body)
    }

    /// Raises an exclusion on a ground, with the deliberation behind it sealed.
    pub fn raise_exclusion_sealed(
        &self,
        case: &EventId,
        ground: ExclusionGround,
        deliberation: Option<&str>,
    ) -> Result<Submitted, ClientError> {
        let mut body = serde_json::Map::new();
        body.insert("ground".to_owned(), json!(ground));
        if let Some(text) = deliberation {
            body.insert("deliberation".to_owned(), json!(text));
        }
        self.post(&format!("cases/{case}/exclusion"), &body)
    }

    /// Withdraws this organisation's exclusion, with the deliberation behind it sealed.
    pub fn withdraw_exclusion_sealed(
        &self,
        case: &EventId,
        deliberation: Option<&str>,
    ) -> Result<Submitted, ClientError> {
        match deliberation {
            Some(text) => {
                self.write(Method::DELETE, &format!("cases/{case}/exclusion"), Some(&json!({ "deliberation": text })))
            }
            None => self.withdraw_exclusion(case),
        }
    }

    /// The member view of a case: its sealed records, opened by the node
    /// (`GET /api/v1/member/cases/{case}/sealed`).
    pub fn case_file(&self, case: &EventId) -> Result<CaseFile, ClientError> {
        self.public.get_json(&format!("{MEMBER_PREFIX}cases/{case}/sealed"), Some(&self.token))
    }

    /// Seals a record of `kind` with `fields` about a case (`POST .../cases/{case}/sealed`).
    pub fn seal(
        &self,
        case: &EventId,
        kind: EventKind,
        fields: &SealedFieldsRequest,
    ) -> Result<EventReceipt, ClientError> {
        self.write_as(Method::POST, &format!("cases/{case}/sealed"), Some(&json!({ "kind": kind, "fields": fields })))
    }

    /// Shreds a case's sealed records: destroys its data keys (`POST .../cases/{case}/shred`).
    pub fn shred(&self, case: &EventId) -> Result<Shredded, ClientError> {
        self.write_as::<Value, _>(Method::POST, &format!("cases/{case}/shred"), None)
    }

    /// Asks the node to propose the edition `label` at its current frontier
    /// (`POST /api/v1/member/editions`).
    pub fn propose_edition(&self, label: &str) -> Result<EditionReceipt, ClientError> {
        self.write_as(Method::POST, "editions", Some(&ProposeEdition { label: label.to_owned() }))
    }

    /// Asks the node to cosign an edition (label or id) after recomputing its list
    /// (`POST /api/v1/member/editions/{edition}/cosignature`).
    pub fn cosign_edition(&self, label: &str) -> Result<EditionReceipt, ClientError> {
        self.write_as::<Value, _>(Method::POST, &format!("editions/{}/cosignature", path_segment(label)), None)
    }

    /// A page of the reports inbox: up to `limit` entries after `after`, oldest first, opened
    /// when the node holds its identity (`GET /api/v1/member/reports`).
    pub fn reports(&self, after: Option<&str>, limit: usize) -> Result<Inbox, ClientError> {
        let after = after.map(|after| format!("&after={}", path_segment(after))).unwrap_or_default();
        self.public.get_json(&format!("{MEMBER_PREFIX}reports?limit={limit}{after}"), Some(&self.token))
    }

    /// One report of the inbox, opened by the node (`GET /api/v1/member/reports/{id}`).
    pub fn report(&self, id: &str) -> Result<coalition_node::Report, ClientError> {
        self.public.get_json(&format!("{MEMBER_PREFIX}reports/{}", path_segment(id)), Some(&self.token))
    }

    /// Accepts a report: opens a case with the public `facts` and seals the report into it
    /// (`POST /api/v1/member/reports/{id}/accept`).
    pub fn accept_report(&self, id: &str, facts: &Facts) -> Result<Accepted, ClientError> {
        self.write_as(Method::POST, &format!("reports/{}/accept", path_segment(id)), Some(&json!({ "facts": facts })))
    }

    /// Deletes a report from the inbox for good (`POST /api/v1/member/reports/{id}/discard`).
    pub fn discard_report(&self, id: &str) -> Result<(), ClientError> {
        let url = self.public.url(&format!("{MEMBER_PREFIX}reports/{}/discard", path_segment(id)))?;
        let request =
            self.public.http.post(url.clone()).header(AUTHORIZATION, format!("Bearer {}", self.token.expose()));
        let (status, bytes) = self.public.send(request, &url)?;
        check_status(&url, status, &bytes)
    }

    fn write<B: Serialize>(&self, method: Method, path: &str, body: Option<&B>) -> Result<Submitted, ClientError> {
        self.write_as(method, path, body)
    }

    fn write_as<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let url = self.public.url(&format!("{MEMBER_PREFIX}{}", path.trim_start_matches('/')))?;
        let mut request = self
            .public
            .http
            .request(method, url.clone())
            .header(AUTHORIZATION, format!("Bearer {}", self.token.expose()));
        if let Some(body) = body {
            let bytes =
                serde_json::to_vec(body).map_err(|error| ClientError::InvalidBody { reason: error.to_string() })?;
            request = request.header(CONTENT_TYPE, "application/json").body(bytes);
        }
        let (status, bytes) = self.public.send(request, &url)?;
        decode(&url, status, &bytes)
    }
}

/// A label or id as one URL path segment: anything but the characters labels and ids use is
/// percent-encoded, so a hostile label cannot change the path.
fn path_segment(text: &str) -> String {
    let mut segment = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' {
            segment.push(char::from(byte));
        } else {
            segment.push_str(&format!("%{byte:02X}"));
        }
    }
    segment
}
