//! `coalition bench reports`: the report form's intake under a flood, and what the flood costs
//! the public site, measured against the same site without the flood in the same run.
//!
//! The node is a demo coalition (eight members with recipients) over a durable store in a
//! temporary folder, served by the real router on a loopback port. Public readers and flooders
//! are plain HTTP/1.1 keep-alive clients on threads of this process: every request names a
//! different client address in `X-Forwarded-For` (the loopback peer is the trusted proxy), as
//! many readers and a botnet would, so the per-address limits do not hide the cost of the flood
//! and the form's whole-node limit is what holds it back.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use coalition_core::keys::SignerKey;
use coalition_core::seal::Identity;
use coalition_core::time::Timestamp;
use coalition_node::demo::{DEMO_MEMBERS, demo_genesis_with_recipients, demo_history, demo_key_name};
use coalition_node::{Node, ReportForm};
use coalition_server::ServerOptions;

use crate::Outcome;

/// Least share of its request rate the public site must keep while the form is flooded.
pub const PUBLIC_RATE_KEPT_MIN: f64 = 0.80;
/// Longest a benchmark client waits for one answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response head a benchmark client reads, in bytes.
const RESPONSE_HEAD_BYTES_MAX: usize = 64 * 1024;
/// Seed of the demo history the node serves (fixed: every run serves the same coalition).
const BENCH_DEMO_SEED: u64 = 0x005e_ed0f_f10d;
/// Creation time of the benchmark coalition's genesis.
const BENCH_GENESIS_CREATED: &str = "2024-01-01T00:00:00Z";

/// Measure report intake (sealing to eight recipients and a durable write, with and without the
/// form's rate limits) and the public site's request rate alone and while the form is flooded
/// from many addresses.
#[derive(Args)]
pub struct ReportsBenchArgs {
    /// Fictional cases in the demo coalition the node serves.
    #[arg(long, default_value_t = 300)]
    cases: usize,
    /// Seconds each phase (site alone, site during the flood) lasts.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent public readers (keep-alive connections).
    #[arg(long, default_value_t = 4)]
    readers: usize,
    /// Concurrent flooding connections posting reports as fast as they are answered.
    #[arg(long, default_value_t = 8)]
    flooders: usize,
    /// Flood rates to measure, in report requests per second offered in total (open loop: sent on
    /// time whatever the answers take); 0 means every flooding connection sends as fast as it is
    /// answered (closed loop, the most the machine can push at the form).
    #[arg(long, value_delimiter = ',', default_value = "500,2000,0")]
    flood_rates: Vec<u64>,
    /// Reports sealed and stored directly (no HTTP, no rate limit) to measure intake capacity.
    #[arg(long, default_value_t = 200)]
    direct_reports: usize,
}

/// Counters a phase's clients add to.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
}

impl Tally {
    fn count(&self, status: u16) {
        let counter = match status {
            200..=399 => &self.ok,
            429 | 503 => &self.refused,
            _ => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// One keep-alive HTTP/1.1 connection to the benchmark server (no TLS, no compression).
struct Connection {
    address: SocketAddr,
    reader: Option<BufReader<TcpStream>>,
}

impl Connection {
    fn new(address: SocketAddr) -> Self {
        Self { address, reader: None }
    }

    /// Sends one request and reads the whole answer; returns its status. Reconnects once when the
    /// server closed the kept-alive connection.
    fn send(&mut self, method: &str, path: &str, client: Ipv4Addr, body: &[u8]) -> Result<u16> {
        match self.try_send(method, path, client, body) {
            Ok(status) => Ok(status),
            Err(_) => {
                self.reader = None;
                self.try_send(method, path, client, body)
            }
        }
    }

    fn try_send(&mut self, method: &str, path: &str, client: Ipv4Addr, body: &[u8]) -> Result<u16> {
        if self.reader.is_none() {
            let stream = TcpStream::connect_timeout(&self.address, CLIENT_TIMEOUT)?;
            stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
            stream.set_nodelay(true)?;
            self.reader = Some(BufReader::new(stream));
        }
        let reader = self.reader.as_mut().context("no connection")?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench.local\r\nX-Forwarded-For: {client}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = reader.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        read_response(reader)
    }
}

/// Reads one response (status line, headers, a body sized by Content-Length or chunked).
fn read_response(reader: &mut BufReader<TcpStream>) -> Result<u16> {
    let mut line = String::new();
    let mut head_bytes = 0usize;
    reader.read_line(&mut line)?;
    let status: u16 = line.split(' ').nth(1).context("no status line")?.parse().context("bad status")?;
    let mut length = None;
    let mut chunked = false;
    let mut close = false;
    loop {
        line.clear();
        let read = reader.read_line(&mut line)?;
        head_bytes += read;
        if read == 0 || head_bytes > RESPONSE_HEAD_BYTES_MAX {
            bail!("response head cut short or too long");
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((header, ""));
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<u64>().context("bad content-length")?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            close = true;
        }
    }
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = u64::from_str_radix(line.trim_end().split(';').next().unwrap_or(""), 16).context("bad chunk")?;
            std::io::copy(&mut reader.by_ref().take(size + 2), &mut std::io::sink())?;
            if size == 0 {
                break;
            }
        }
    } else if let Some(length) = length {
        std::io::copy(&mut reader.by_ref().take(length), &mut std::io::sink())?;
    }
    if close {
        bail!("server closed the connection");
    }
    Ok(status)
}

/// A client address for the `index`-th request of client `client`: spread over 10.0.0.0/8 so
/// that no address repeats often enough to meet the per-address limits.
fn spread_address(client: usize, index: u64) -> Ipv4Addr {
    let mixed = (index.wrapping_mul(2_654_435_761) ^ (client as u64).wrapping_mul(40_503)) as u32;
    Ipv4Addr::from(0x0a00_0000 | (mixed & 0x00ff_ffff))
}

/// The public requests readers cycle through: the list page, the JSON list, a person, the stats.
fn public_paths(node: &Node) -> Vec<String> {
    let mut paths = vec!["/".to_owned(), "/api/v1/list".to_owned(), "/api/v1/stats".to_owned(), "/stats".to_owned()];
    let cases: Vec<String> = node
        .with_projection(|projection| projection.list_entries().take(4).map(|entry| entry.case.to_string()).collect());
    for case in cases {
        paths.push(format!("/persons/{case}"));
    }
    paths
}

fn report_body(index: u64) -> Vec<u8> {
    serde_json::json!({
        "who": format!("Flood entry {index}: <script>alert(1)</script>"),
        "place": "Crimea",
        "what": "A generated report of the benchmark flood. ".repeat(20),
        "contact": "flood@example.invalid",
        "consent": true,
    })
    .to_string()
    .into_bytes()
}

/// Runs `clients` threads sending requests from `request` until `stop` is set.
fn run_clients(
    address: SocketAddr,
    clients: usize,
    stop: &Arc<AtomicBool>,
    tally: &Arc<Tally>,
    interval: Option<Duration>,
    request: impl Fn(usize, u64) -> (&'static str, String, Vec<u8>) + Send + Sync + 'static,
) -> Vec<std::thread::JoinHandle<()>> {
    let request = Arc::new(request);
    (0..clients)
        .map(|client| {
            let (stop, tally, request) = (Arc::clone(stop), Arc::clone(tally), Arc::clone(&request));
            std::thread::spawn(move || {
                let mut connection = Connection::new(address);
                let mut index = 0u64;
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    // Open loop: the request is sent at its time whatever the answers took.
                    if let Some(interval) = interval {
                        let due = started + interval.saturating_mul(index as u32);
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                    }
                    let (method, path, body) = request(client, index);
                    match connection.send(method, &path, spread_address(client, index), &body) {
                        Ok(status) => tally.count(status),
                        Err(_) => {
                            tally.failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    index += 1;
                }
            })
        })
        .collect()
}

/// The public readers for `seconds`, with the form flooded meanwhile by `flooders` connections
/// offering `flood_rate` reports per second in total (`None`: each as fast as it is answered).
/// Returns (public tally, flood tally, elapsed seconds).
fn phase(
    address: SocketAddr,
    paths: &Arc<Vec<String>>,
    args: &ReportsBenchArgs,
    flooders: usize,
    flood_rate: Option<f64>,
) -> (Arc<Tally>, Arc<Tally>, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let public = Arc::new(Tally::default());
    let flood = Arc::new(Tally::default());
    let mut threads = Vec::new();
    if flooders > 0 {
        let interval = flood_rate.map(|rate| Duration::from_secs_f64(flooders as f64 / rate.max(1.0)));
        threads.extend(run_clients(address, flooders, &stop, &flood, interval, |_, index| {
            ("POST", "/api/v1/reports".to_owned(), report_body(index))
        }));
    }
    let reader_paths = Arc::clone(paths);
    threads.extend(run_clients(address, args.readers.max(1), &stop, &public, None, move |client, index| {
        let path = &reader_paths[(client + index as usize) % reader_paths.len()];
        ("GET", path.clone(), Vec::new())
    }));
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(args.seconds.max(1)));
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for thread in threads {
        let _ = thread.join();
    }
    (public, flood, elapsed)
}

/// Runs the benchmark and prints each figure beside its limit.
pub fn run(args: &ReportsBenchArgs) -> Result<Outcome> {
    let folder = crate::bench::TempDir::new().context("cannot make a temporary folder")?;
    let signers: Vec<SignerKey> = DEMO_MEMBERS
        .iter()
        .enumerate()
        .map(|(index, (slug, _))| {
            let mut seed = [0x42u8; 32];
            seed[0] = index as u8;
            Ok(SignerKey::from_seed(demo_key_name(slug)?, seed))
        })
        .collect::<Result<_>>()?;
    let recipients: Vec<_> = DEMO_MEMBERS.iter().map(|_| Identity::generate().recipient()).collect();
    let genesis = demo_genesis_with_recipients(&signers, &recipients, Timestamp::parse(BENCH_GENESIS_CREATED)?)?;
    let history = demo_history(&genesis, &signers, args.cases.max(1), BENCH_DEMO_SEED)?;
    eprintln!("storing a demo coalition of {} cases ({} events) ...", args.cases, history.len());
    let node = Node::open(&folder.path, genesis.clone(), None)?;
    node.import(history.into_iter().enumerate().map(|(index, event)| (index as u64, event.note().to_owned())))?;
    drop(node);
    let node = Node::open(&folder.path, genesis, signers.into_iter().next())?;

    // Intake capacity: what sealing and a durable write cost, without HTTP or rate limits.
    let direct = args.direct_reports.max(1);
    let started = Instant::now();
    for index in 0..direct {
        let form = ReportForm {
            who: format!("Direct entry {index}"),
            place: "Kherson".to_owned(),
            what: "A generated report measuring intake capacity. ".repeat(20),
            contact: "direct@example.invalid".to_owned(),
            consent: true,
        };
        node.submit_report(form)?;
    }
    let direct_rate = direct as f64 / started.elapsed().as_secs_f64();

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))?;
    let address = listener.local_addr()?;
    let options = ServerOptions { trusted_proxies: vec![Ipv4Addr::LOCALHOST.into()], ..ServerOptions::default() };
    let paths = Arc::new(public_paths(&node));
    let router = coalition_server::router(node, options);
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(coalition_server::serve(listener, router, async move {
        let _ = stopped.await;
    }));

    eprintln!("measuring the public site alone, then during a flood of the report form ({} s each) ...", args.seconds);
    // A short warm-up fills the page cache, as a running node's would be.
    let warm_up = ReportsBenchArgs { seconds: 1, flood_rates: Vec::new(), ..*args };
    phase(address, &paths, &warm_up, 0, None);
    let (alone, _, alone_seconds) = phase(address, &paths, args, 0, None);
    let alone_rate = alone.ok.load(Ordering::Relaxed) as f64 / alone_seconds;
    println!(
        "report intake, sealed to {} recipients + durable write, no HTTP and no limit: {direct_rate:.0} reports/s",
        recipients.len()
    );
    println!(
        "form's whole-node limit: {} reports/s sustained, {} at once (the flood's accepted rate is bounded by it)",
        coalition_server::report::REPORTS_GLOBAL_PER_SECOND,
        coalition_server::report::REPORTS_GLOBAL_BURST
    );
    println!("public site alone ({} readers): {alone_rate:.0} requests/s", args.readers);
    let mut failed = alone.failed.load(Ordering::Relaxed);
    for &rate in &args.flood_rates {
        let flood_rate = (rate > 0).then_some(rate as f64);
        let (during, flood, seconds) = phase(address, &paths, args, args.flooders.max(1), flood_rate);
        let during_rate = during.ok.load(Ordering::Relaxed) as f64 / seconds;
        let kept = during_rate / alone_rate.max(f64::MIN_POSITIVE);
        let answered = flood.ok.load(Ordering::Relaxed) + flood.refused.load(Ordering::Relaxed);
        let offered = match flood_rate {
            Some(rate) => format!("{rate:.0} reports/s offered"),
            None => format!("{} connections as fast as answered", args.flooders.max(1)),
        };
        println!(
            "flood ({offered}, a new address per request): {:.0} answered/s, accepted {:.1} reports/s, \
             refused (429/503) {:.0}/s; public site {during_rate:.0} requests/s = {:.0}% of alone \
             (target ≥ {:.0}%: {})",
            answered as f64 / seconds,
            flood.ok.load(Ordering::Relaxed) as f64 / seconds,
            flood.refused.load(Ordering::Relaxed) as f64 / seconds,
            kept * 100.0,
            PUBLIC_RATE_KEPT_MIN * 100.0,
            if kept >= PUBLIC_RATE_KEPT_MIN { "met" } else { "NOT met" }
        );
        failed += during.failed.load(Ordering::Relaxed);
    }
    let _ = stop_server.send(());
    let _ = runtime.block_on(server);
    if failed > 0 {
        println!("public requests that failed (not 2xx/3xx, 429 or 503): {failed}");
    }
    Ok(Outcome::Success)
}
