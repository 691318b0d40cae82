//! `coalition serve`, the read-only public node, through the real binary: it serves the public
//! site and API of a data directory with no key, answers 404 on every member route, serves
//! `/metrics` only on its metrics address, and follows a member node over NATS.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coalition_server::client::PublicClient;

use crate::browser::{Running, free_port};

/// How long a mirror may take to catch up with the member node over NATS.
const FOLLOW_DEADLINE: Duration = Duration::from_secs(60);

/// One HTTP/1.1 request over a plain socket (the test needs no HTTP client crate): the status
/// and the body. `url` is `http://HOST:PORT/PATH`.
pub(crate) fn request(method: &str, url: &str, headers: &[&str], body: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(host, path)| (host, format!("/{path}")));
    let mut stream = TcpStream::connect(host).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body.as_bytes())).expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let split = response.windows(4).position(|window| window == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let body = &response[split + 4..];
    let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("a status code");
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    let body = if chunked { dechunk(body) } else { body.to_vec() };
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The body of a chunked response, without its framing.
fn dechunk(mut framed: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(end) = framed.windows(2).position(|window| window == b"\r\n") {
        let size_text = String::from_utf8_lossy(&framed[..end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        let rest = &framed[end + 2..];
        body.extend_from_slice(rest.get(..size).expect("a whole chunk"));
        framed = rest.get(size + 2..).unwrap_or(&[]);
    }
    body
}

fn get(url: &str) -> (u16, String) {
    request("GET", url, &[], "")
}

#[test]
fn a_public_node_serves_a_copy_of_the_demo_read_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hash, count) = {
        let demo = Running::start(dir.path(), &["demo", "--data", "demo"]);
        let list = PublicClient::new(&demo.url).expect("client").get_list().expect("list");
        (list.hash.to_string(), list.count)
    };
    let metrics_port = free_port();
    let metrics = format!("127.0.0.1:{metrics_port}");
    // The demo's directory holds its genesis; the mirror reads it without a key.
    let mirror = Running::start(dir.path(), &["serve", "--data", "demo", "--metrics-listen", &metrics]);
    let list = PublicClient::new(&mirror.url).expect("client").get_list().expect("list");
    assert_eq!((list.hash.to_string(), list.count), (hash, count), "the same list, from the same store");
    let (status, home) = get(&format!("{}/?lang=en", mirror.url));
    assert_eq!(status, 200);
    assert!(home.contains("Ukrainian citizens"), "{home}");
    let case = list.entries[0]["case"].as_str().expect("case").to_owned();
    assert_eq!(get(&format!("{}/api/v1/persons/{case}", mirror.url)).0, 200);
    // No member API at all: with or without a token, every member route is unknown.
    for path in ["/api/v1/member/pending", "/api/v1/member/cases", &format!("/api/v1/member/cases/{case}")] {
        assert_eq!(get(&format!("{}{path}", mirror.url)).0, 404, "{path}");
    }
    let token = std::fs::read_to_string(dir.path().join("demo/admin-token")).expect("token");
    let authorization = format!("authorization: Bearer {}", token.trim());
    let (status, _) = request(
        "POST",
        &format!("{}/api/v1/member/cases", mirror.url),
        &[&authorization, "content-type: application/json"],
        "{\"facts\":{\"name_en\":\"X\"}}",
    );
    assert_eq!(status, 404, "the demo's own token opens nothing here");
    // Metrics on their own address only.
    assert_eq!(get(&format!("{}/metrics", mirror.url)).0, 404);
    let (status, text) = get(&format!("http://{metrics}/metrics"));
    assert_eq!(status, 200);
    assert!(text.contains(&format!("coalition_list_entries {count}\n")), "{text}");
    assert!(text.contains("coalition_outbox_events 0\n"), "a mirror has nothing to publish");
    assert!(
        text.contains("coalition_http_requests_total{route=\"/api/v1/member/cases\"")
            || text.contains("route=\"unmatched\"")
    );
}

/// A `nats-server` on a free port with its own store, stopped when dropped.
struct Nats {
    child: Child,
    url: String,
    _store: tempfile::TempDir,
}

impl Nats {
    fn start() -> Self {
        let store = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server (tests/run installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, url: format!("nats://127.0.0.1:{port}"), _store: store }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_public_node_follows_a_member_node_over_nats() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The demo's directory: a genesis, keys, and a few thousand events of eight feeds.
    let hash = {
        let demo = Running::start(dir.path(), &["demo", "--data", "demo"]);
        PublicClient::new(&demo.url).expect("client").get_list().expect("list").hash.to_string()
    };
    let nats = Nats::start();
    // A member node publishes its own feed only: a mirror that follows it holds zmina's events,
    // which alone list no one (listing needs two members), so compare feeds rather than lists.
    let member =
        Running::start(dir.path(), &["node", "--data", "demo", "--key", "demo/keys/zmina.key", "--nats", &nats.url]);
    let member_client = PublicClient::new(&member.url).expect("client");
    assert_eq!(member_client.get_list().expect("list").hash.to_string(), hash);
    let genesis = dir.path().join("demo/genesis.note");
    let mirror = Running::start(
        dir.path(),
        &["serve", "--data", "mirror", "--genesis", genesis.to_str().expect("path"), "--nats", &nats.url],
    );
    let deadline = Instant::now() + FOLLOW_DEADLINE;
    loop {
        let feed = get(&format!("{}/api/v1/feeds/zmina?from=1&limit=1", mirror.url));
        let member_feed = get(&format!("{}/api/v1/feeds/zmina?from=1&limit=1", member.url));
        let head =
            |body: &str| serde_json::from_str::<serde_json::Value>(body).ok().and_then(|page| page["head"].as_u64());
        if feed.0 == 200 && head(&feed.1).is_some() && head(&feed.1) == head(&member_feed.1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the mirror did not catch up with zmina's feed: {} vs {}",
            feed.1,
            member_feed.1
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(dir.path().join("mirror/mirror-consumer").exists(), "the mirror named its durable consumer");
}
