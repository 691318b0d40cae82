//! The blocking client against a real server on a loopback TCP port.

use std::net::SocketAddr;

use coalition_core::body::{Criterion, EventKind, Facts, Region, Sign};
use coalition_server::client::{ClientError, MemberClient, PublicClient};
use coalition_server::{AdminToken, ServerOptions};
use serde_json::json;

use crate::fixtures::{REAL_NAME, TOKEN, node, replicate, token};

/// A server on an ephemeral loopback port, stopped when dropped.
struct Running {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    fn start(node: coalition_node::Node) -> Self {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router =
            coalition_server::router(node, ServerOptions { admin_token: Some(token()), ..ServerOptions::default() });
        let thread = std::thread::spawn(move || {
            runtime
                .block_on(coalition_server::serve(listener, router, async {
                    let _ = stopped.await;
                }))
                .expect("serve");
        });
        Self { address, stop: Some(stop), thread: Some(thread) }
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn the_client_drives_a_node_over_tcp() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let zmina = node(Some("zmina"), REAL_NAME);
    let server = Running::start(ccl.clone());
    let client = MemberClient::new(&server.url(), token()).expect("client");

    let facts = Facts { name_en: Some("Client Person".into()), region: Some(Region::Crimea), ..Facts::default() };
    let opened = client.open_case(&facts).expect("open case");
    assert_eq!(opened.kind, EventKind::CaseOpened);
    assert_eq!(opened.seq, 1);
    let case = opened.id;
    client.assert_criterion(&case, Criterion::A, Some("Підстава"), None).expect("criterion");
    client.note_sign(&case, Sign::FreeSpeech).expect("sign");
    client.endorse(&case).expect("endorse");

    let pending = client.pending().expect("pending");
    assert_eq!(pending.cases_one_short.len(), 1);
    assert_eq!(pending.cases_one_short[0].id, case);

    replicate(&ccl, &zmina, "ccl");
    zmina.submit(EventKind::PersonAdded, json!({ "case": case })).expect("zmina endorses");
    replicate(&zmina, &ccl, "zmina");

    let detail = client.case(&case).expect("case");
    assert_eq!(detail.status, "listed");
    assert_eq!(detail.facts.name_en.as_deref(), Some("Client Person"));

    let list = client.get_list().expect("list");
    assert_eq!(list.count, 1);
    assert_eq!(list.entries[0]["case"], case.to_string());
    let document = client.public().get_list_document().expect("document");
    assert!(document.starts_with("{\"entries\":["));

    let generic =
        client.submit(EventKind::SignNoted, json!({ "case": case, "sign": "falsified_evidence" })).expect("submit");
    assert_eq!(generic.kind, EventKind::SignNoted);

    // Refused: the error carries status, code and message.
    let error = client.endorse(&case).expect_err("already endorsed");
    assert_eq!(error.status(), Some(409));
    assert_eq!(error.code(), Some("no_effect"));
    assert!(error.to_string().contains("already endorses"), "{error}");

    let error = client
        .submit(EventKind::CaseOpened, json!({ "facts": { "name_en": "X", "region": "atlantis" } }))
        .expect_err("schema");
    assert_eq!(error.status(), Some(400));
    assert_eq!(error.path(), Some("body.facts.region"));
    assert!(error.to_string().contains("body.facts.region"), "{error}");

    let public = PublicClient::new(&format!("{}/", server.url())).expect("public client");
    assert_eq!(public.health().expect("health").feeds, 2);
    let page = public.feed(&crate::fixtures::slug("ccl"), 1, 2).expect("feed");
    assert_eq!(page.notes.len(), 2);
    assert_eq!(page.next, Some(3));
}

#[test]
fn client_errors_say_what_to_do() {
    let ccl = node(Some("ccl"), REAL_NAME);
    let server = Running::start(ccl);

    let wrong = MemberClient::new(&server.url(), AdminToken::new(&"w".repeat(40)).expect("token")).expect("client");
    let error = wrong.pending().expect_err("wrong token");
    assert_eq!(error.status(), Some(401));
    assert_eq!(error.code(), Some("unauthorized"));
    let message = error.to_string();
    assert!(message.contains("check the token file"), "{message}");
    assert!(!message.contains(&"w".repeat(40)), "the token never appears in errors");
    assert!(!message.contains(TOKEN));

    // Nothing listens on a port just released.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let client = MemberClient::new(&format!("http://{closed}"), token()).expect("client");
    let error = client.pending().expect_err("refused");
    assert!(matches!(error, ClientError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains("is the node running at that URL?"), "{error}");

    let error = MemberClient::new("http://node.example.org:8080", token()).expect_err("insecure");
    assert!(matches!(error, ClientError::InsecureUrl { .. }));
    assert!(error.to_string().contains("in clear"), "{error}");
    assert!(MemberClient::new("http://[::1]:8080", token()).is_ok());
    assert!(MemberClient::new("http://localhost:8080", token()).is_ok());
    assert!(PublicClient::new("http://node.example.org:8080").is_ok(), "the public API needs no secret");

    let error = PublicClient::new("ftp://127.0.0.1/").expect_err("scheme");
    assert!(matches!(error, ClientError::InvalidUrl { .. }));
    let error = PublicClient::new("not a url").expect_err("not a URL");
    assert!(error.to_string().contains("http://127.0.0.1:8080"), "{error}");
    #[cfg(not(feature = "tls"))]
    {
        let error = PublicClient::new("https://127.0.0.1/").expect_err("no TLS in this build");
        assert!(error.to_string().contains("`tls` feature"), "{error}");
    }

    // A server that is not a coalition node (here: an unknown route on one) is described as such.
    let public = PublicClient::new(&server.url()).expect("public");
    let error = public.feed(&crate::fixtures::slug("nobody"), 1, 1).expect_err("unknown feed");
    assert_eq!(error.status(), Some(404));
}
