//! `coalition serve`: a read-only public node (a mirror) that holds no key, answers no member
//! route, serves the public site and API from its store and, with `--nats`, follows the ledger's
//! stream.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use coalition_node::{Node, data_dir};
use coalition_server::{RateLimit, ServerOptions};

use crate::{Outcome, files, genesis};

/// Address a public node listens on unless told otherwise: this machine only.
const LISTEN_DEFAULT: &str = "127.0.0.1:8080";
/// File in the data directory naming this mirror's durable NATS consumer (made on first use).
const CONSUMER_FILE: &str = "mirror-consumer";
/// Random bytes in a generated consumer name (written as hex).
const CONSUMER_RANDOM_BYTES: usize = 8;

/// Run a read-only public node: the public site and API from a data directory, with no key.
///
/// The node signs nothing and serves no member route (they answer 404). It serves what its store
/// holds: a copy of a member node's data directory (`coalition export` / `import`), or, with
/// --nats, every feed it follows on the ledger's stream, verified event by event like any node.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
  coalition serve --data mirror-data --genesis genesis.note --listen 0.0.0.0:8080\n  \
  coalition serve --data mirror-data --nats nats://10.0.0.5:4222 --trusted-proxy 127.0.0.1 \\\n    \
  --metrics-listen 127.0.0.1:9464\n\n\
Behind a reverse proxy on this machine, pass --trusted-proxy with the proxy's address: the rate\n\
limit then counts the client named in X-Forwarded-For (only when the connection comes from the\n\
proxy). Metrics are served only on --metrics-listen, an address for the operator's scraper.")]
pub struct ServeArgs {
    /// The node's data directory (created if missing).
    #[arg(long)]
    data: PathBuf,
    /// The coalition's genesis (needed on first start; checked against the stored one later).
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// Address and port of the public site and API.
    #[arg(long, default_value = LISTEN_DEFAULT)]
    listen: SocketAddr,
    /// NATS server URL (for instance nats://127.0.0.1:4222): follow every member's feed on the
    /// ledger's stream. The node keeps serving while NATS is down and catches up when it returns.
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// Address of a reverse proxy in front of this node (repeat for a chain of proxies).
    #[arg(long, value_name = "IP")]
    trusted_proxy: Vec<IpAddr>,
    /// Serve `GET /metrics` (Prometheus text format) on this address; off when absent.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// Requests per second each client address may make, sustained (0 turns the limit off).
    #[arg(long, default_value_t = coalition_server::RATE_LIMIT_REQUESTS_PER_SECOND)]
    rate_limit_per_second: u32,
    /// Requests a client address may make at once after being idle.
    #[arg(long, default_value_t = coalition_server::RATE_LIMIT_BURST_REQUESTS)]
    rate_limit_burst: u32,
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// The name of this mirror's durable consumer: read from the data directory, or made once.
/// Each mirror needs its own (two mirrors sharing one durable would split the messages).
fn consumer_name(data: &Path) -> Result<String> {
    let path = data.join(CONSUMER_FILE);
    if path.exists() {
        let name = files::read_text(&path)?.trim().to_owned();
        if name.is_empty() || !name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-') {
            bail!(
                "{} must hold a consumer name of letters, digits and '-' (delete it to make a new one)",
                path.display()
            );
        }
        return Ok(name);
    }
    let mut bytes = [0u8; CONSUMER_RANDOM_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no secure random source: {error}"))?;
    let name = format!("mirror-{}", bytes.iter().map(|byte| format!("{byte:02x}")).collect::<String>());
    files::create_new(&path, &format!("{name}\n"), false)?;
    Ok(name)
}

pub fn serve(args: &ServeArgs) -> Result<Outcome> {
    init_logging();
    let given = args.genesis.as_deref().map(genesis::load_complete).transpose()?;
    let genesis = data_dir::prepare(&args.data, given)
        .with_context(|| format!("cannot prepare {} (first start? give --genesis)", args.data.display()))?;
    let node = Node::open(&args.data, genesis, None)
        .with_context(|| format!("cannot open the node in {}", args.data.display()))?;
    let consumer = args.nats.as_ref().map(|_| consumer_name(&args.data)).transpose()?;
    let rate_limit = (args.rate_limit_per_second > 0).then(|| RateLimit {
        requests_per_second: args.rate_limit_per_second,
        burst_requests: args.rate_limit_burst.max(1),
        ..RateLimit::default()
    });
    let options = ServerOptions {
        admin_token: None,
        rate_limit,
        trusted_proxies: args.trusted_proxy.clone(),
        ..ServerOptions::default()
    };
    let routers = coalition_server::routers(node.clone(), options);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| {
            format!("cannot listen on {} (is another node running there? try --listen)", args.listen)
        })?;
        eprintln!("read-only public node: serving http://{}/  (Ctrl-C stops it)", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let metrics = match args.metrics_listen {
            None => None,
            Some(address) => {
                let listener = tokio::net::TcpListener::bind(address).await.with_context(|| {
                    format!("cannot listen on {address} for metrics (try another --metrics-listen)")
                })?;
                eprintln!("metrics: http://{}/metrics", listener.local_addr()?);
                let mut stopped = stopped.clone();
                Some(tokio::spawn(coalition_server::serve(listener, routers.metrics, async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                })))
            }
        };
        let replication = match (&args.nats, consumer) {
            (Some(url), Some(consumer)) => Some(spawn_replication(&node, url, consumer, stopped.clone())),
            _ => None,
        };
        let served = coalition_server::serve(listener, routers.public, coalition_server::shutdown_signal())
            .await
            .context("the HTTP server failed");
        let _ = stop.send(true);
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        if let Some(replication) = replication {
            let _ = replication.await;
        }
        served
    })?;
    tracing::info!("stopped");
    Ok(Outcome::Success)
}

/// Follows the ledger's stream at `url` until `stopped` turns true. The node holds no key, so
/// replication only imports (coalition-nats publishes nothing for a node without an org).
fn spawn_replication(
    node: &Node,
    url: &str,
    consumer: String,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let spec = coalition_nats::StreamSpec::single_server(node.genesis().ledger_id());
    let settings = coalition_nats::ConnectSettings {
        client_name: Some(format!("coalition-serve/{consumer}")),
        retry_initial_connect: true,
        ..coalition_nats::ConnectSettings::default()
    };
    let node = node.clone();
    let url = url.to_owned();
    tokio::spawn(async move {
        let client = match coalition_nats::connect(&url, &settings).await {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "replication disabled");
                return;
            }
        };
        let jetstream = coalition_nats::jetstream(client, coalition_nats::REQUEST_TIMEOUT_DEFAULT);
        let stop = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        tracing::info!(%url, %consumer, "following the ledger's stream over NATS");
        if let Err(error) = coalition_nats::replication::run_replication(node, jetstream, spec, consumer, stop).await {
            tracing::error!(%error, "replication stopped");
        }
    })
}
