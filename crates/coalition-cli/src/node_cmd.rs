//! `coalition node` and `coalition demo`: run a node and serve its member API and public page.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use coalition_core::event::{EventId, OrgSlug};
use coalition_core::keys::SignerKey;
use coalition_core::seal::Identity;
use coalition_core::time::Timestamp;
use coalition_node::demo::{
    DEMO_MEMBERS, DEMO_SEALED_CASES_MAX, demo_genesis_with_recipients, demo_history, demo_key_name, demo_sealed_records,
};
use coalition_node::{Node, data_dir};
use coalition_server::{AdminToken, ServerOptions};

use crate::{Outcome, files, genesis, keys};

/// Address a node listens on unless told otherwise: this machine only.
const LISTEN_DEFAULT: &str = "127.0.0.1:8080";
/// Where `coalition demo` keeps its data unless told otherwise.
const DEMO_DATA_DEFAULT: &str = "coalition-demo";
/// Cases in the demo ledger.
const DEMO_CASES: usize = 300;
/// Seed of the demo history (any value gives a different, equally realistic history).
const DEMO_SEED: u64 = 2026;
/// Start of the demo ledger.
const DEMO_CREATED: &str = "2024-11-01T00:00:00Z";
/// The member the demo node signs for.
const DEMO_NODE_ORG: &str = "zmina";
/// Bytes of randomness in a generated admin token (written as hex: twice as many characters).
const ADMIN_TOKEN_RANDOM_BYTES: usize = 32;

/// Run a member organisation's node: its durable store, its member API and a public page.
///
/// On first start the data directory is created and the genesis copied into it; later starts
/// check that the genesis is the same. Stops cleanly on Ctrl-C or SIGTERM: every event
/// acknowledged to a member is durable before its acknowledgement is sent.
#[derive(Args)]
#[command(
    after_help = "Example:\n  coalition node --data node-data --genesis genesis.note --key keys/zmina.key \\\n    \
    --admin-token-file admin-token --listen 127.0.0.1:8080\n\n\
The admin token file holds a secret of at least 32 bytes shared with your organisation's staff;\n\
without it the node serves only the public page and API."
)]
pub struct NodeArgs {
    /// The node's data directory (created if missing).
    #[arg(long)]
    data: PathBuf,
    /// The coalition's genesis (needed on first start; checked against the stored one later).
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// Your organisation's secret key file. Without it the node is a read-only public mirror.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Your organisation's age identity file (AGE-SECRET-KEY-1..., as `coalition identity new`
    /// or age-keygen writes it), to open sealed records and reports. Keep it outside the data
    /// directory: a seized data directory then holds only ciphertext. Without it the node cannot
    /// read sealed data.
    #[arg(long, value_name = "FILE")]
    identity: Option<PathBuf>,
    /// Address and port to listen on.
    #[arg(long, default_value = LISTEN_DEFAULT)]
    listen: SocketAddr,
    /// File holding the member API's bearer token (at least 32 bytes).
    #[arg(long)]
    admin_token_file: Option<PathBuf>,
    /// NATS server URL (for instance nats://127.0.0.1:4222): replicate feeds over JetStream,
    /// publishing this node's feed and importing every member's. Needs --key. The node keeps
    /// accepting writes while NATS is down and catches up when it returns.
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// A file holding the NATS URL(s), for URLs that carry a password (a command line is visible
    /// to every user of the machine; the file can be readable by the node's user only). Several
    /// servers of a cluster are separated by commas: nats://zmina:PASSWORD@nats1:4222,nats://...
    #[arg(long, value_name = "FILE", conflicts_with = "nats")]
    nats_url_file: Option<PathBuf>,
    /// How many copies of the ledger's stream JetStream keeps: 1 for a single NATS server, 3 for
    /// the three-server cluster of deploy/nats. Must match the stream if it already exists.
    #[arg(long, value_name = "N", default_value_t = 1)]
    nats_replicas: usize,
}

/// Run a node with a fictional demo coalition, on this machine, with no other service.
///
/// The first run creates, in the data directory, the eight member organisations of the real
/// coalition with freshly generated keys, a genesis signed by all of them, and a few hundred
/// fictional cases with realistic histories, signed and verified like real events. Later runs
/// reuse the directory. Every page says the data is fictional.
#[derive(Args)]
#[command(after_help = "Example:\n  coalition demo\n  then open http://127.0.0.1:8080/")]
pub struct DemoArgs {
    /// The demo's data directory.
    #[arg(long, default_value = DEMO_DATA_DEFAULT)]
    data: PathBuf,
    /// Address and port to listen on.
    #[arg(long, default_value = LISTEN_DEFAULT)]
    listen: SocketAddr,
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second initialisation (tests running commands in one process) is harmless: keep the first.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Starts replication over NATS at `url` on the current runtime; it runs until `shutdown` fires.
fn spawn_replication(
    node: &Node,
    nats: &Nats,
    shutdown: tokio::sync::oneshot::Receiver<()>,
) -> Result<tokio::task::JoinHandle<()>> {
    let org = node.org().cloned().context("--nats needs --key: a read-only node has no feed to replicate")?;
    let spec = coalition_nats::StreamSpec::new(
        node.genesis().ledger_id(),
        nats.replicas,
        coalition_nats::DUPLICATE_WINDOW_DEFAULT,
    )
    .context("--nats-replicas")?;
    let url = nats.url.as_str();
    let settings = coalition_nats::ConnectSettings {
        client_name: Some(format!("coalition-node/{org}")),
        retry_initial_connect: true,
        ..coalition_nats::ConnectSettings::default()
    };
    let node = node.clone();
    let url = url.to_owned();
    let shown_url = coalition_nats::redacted(&url);
    Ok(tokio::spawn(async move {
        let client = match coalition_nats::connect(&url, &settings).await {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "replication disabled");
                return;
            }
        };
        let jetstream = coalition_nats::jetstream(client, coalition_nats::REQUEST_TIMEOUT_DEFAULT);
        let stop = async move {
            let _ = shutdown.await;
        };
        tracing::info!(url = %shown_url, "replicating over NATS");
        if let Err(error) =
            coalition_nats::replication::run_replication(node, jetstream, spec, format!("node-{org}"), stop).await
        {
            tracing::error!(%error, "replication stopped");
        }
    }))
}

/// Where and how to replicate.
struct Nats {
    /// One URL, or several separated by commas.
    url: String,
    /// Stream replicas.
    replicas: usize,
}

fn serve(node: Node, token: Option<AdminToken>, listen: SocketAddr, nats: Option<&Nats>) -> Result<()> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} (is another node running there? try --listen)"))?;
        let address = listener.local_addr()?;
        eprintln!("serving http://{address}/  (Ctrl-C stops the node)");
        let (stop_replication, stopped) = tokio::sync::oneshot::channel();
        let replication = nats.map(|url| spawn_replication(&node, url, stopped)).transpose()?;
        let options = ServerOptions { admin_token: token, ..ServerOptions::default() };
        let served = coalition_server::serve(
            listener,
            coalition_server::router(node, options),
            coalition_server::shutdown_signal(),
        )
        .await
        .context("the HTTP server failed");
        let _ = stop_replication.send(());
        if let Some(replication) = replication {
            let _ = replication.await;
        }
        served
    })?;
    tracing::info!("stopped; every acknowledged event is durable");
    Ok(())
}

pub fn node(args: &NodeArgs) -> Result<Outcome> {
    init_logging();
    let given = args.genesis.as_deref().map(genesis::load_complete).transpose()?;
    let genesis = data_dir::prepare(&args.data, given)?;
    let key = args.key.as_deref().map(keys::load_signer).transpose()?;
    let token = args.admin_token_file.as_deref().map(AdminToken::from_file).transpose()?;
    if token.is_some() && key.is_none() {
        bail!("--admin-token-file needs --key: a node without a key cannot sign for its members");
    }
    let node = Node::open(&args.data, genesis, key)
        .with_context(|| format!("cannot open the node in {}", args.data.display()))?;
    if let Some(path) = &args.identity {
        node.set_identity(keys::load_identity(path)?)
            .with_context(|| format!("cannot use the identity in {}", path.display()))?;
    }
    match node.org() {
        Some(org) => tracing::info!(%org, "node ready"),
        None => tracing::info!("read-only node ready"),
    }
    let url = match (&args.nats, &args.nats_url_file) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the NATS URL from {} (--nats-url-file)", file.display()))?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    if url.is_some() && node.org().is_none() {
        bail!("--nats needs --key: a read-only node has no feed to replicate");
    }
    let nats = url.map(|url| Nats { url, replicas: args.nats_replicas });
    serve(node.clone(), token, args.listen, nats.as_ref())?;
    // A clean stop leaves a snapshot of the replayed state, so the next start reads only what
    // arrives after it. Failing to write one costs the next start time, never data.
    match node.write_snapshot() {
        Ok(Some(written)) => tracing::info!(file = %written.path.display(), "start-up snapshot written"),
        Ok(None) => tracing::info!("no start-up snapshot written (events wait for their predecessor)"),
        Err(error) => tracing::warn!(%error, "could not write the start-up snapshot"),
    }
    Ok(Outcome::Success)
}

/// Suffix of an age identity file beside a member's key files (`keys/<slug>.age`).
pub const IDENTITY_FILE_SUFFIX: &str = ".age";

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no secure random source: {error}"))?;
    Ok(bytes)
}

/// Creates the demo coalition in `dir` on first run; returns the node's key and token file.
fn prepare_demo(dir: &Path) -> Result<(SignerKey, PathBuf)> {
    let keys_dir = dir.join("keys");
    let token_path = dir.join("admin-token");
    if dir.join(data_dir::GENESIS_FILE).exists() {
        let key = keys::load_signer(&keys_dir.join(format!("{DEMO_NODE_ORG}.key")))?;
        return Ok((key, token_path));
    }
    eprintln!("creating the fictional demo coalition in {} ...", dir.display());
    std::fs::create_dir_all(&keys_dir).with_context(|| format!("cannot create {}", keys_dir.display()))?;
    let mut signers = Vec::new();
    let mut recipients = Vec::new();
    for (slug, _) in DEMO_MEMBERS {
        let key = SignerKey::from_seed(demo_key_name(slug)?, random_bytes::<32>()?);
        files::create_new(&keys_dir.join(format!("{slug}.key")), &format!("{}\n", key.to_secret_text()), true)?;
        files::create_new(&keys_dir.join(format!("{slug}.vkey")), &format!("{}\n", key.verifier_key()), false)?;
        signers.push(key);
        // The demo keeps every member's identity in its own directory so one machine can play
        // all eight; a real node keeps its identity outside the data directory.
        let identity = Identity::generate();
        files::create_new(
            &keys_dir.join(format!("{slug}{IDENTITY_FILE_SUFFIX}")),
            &format!("{}\n", identity.to_secret_text()),
            true,
        )?;
        recipients.push(identity.recipient());
    }
    let genesis = demo_genesis_with_recipients(&signers, &recipients, Timestamp::parse(DEMO_CREATED)?)?;
    let history = demo_history(&genesis, &signers, DEMO_CASES, DEMO_SEED)?;
    let token: String = random_bytes::<ADMIN_TOKEN_RANDOM_BYTES>()?.iter().map(|byte| format!("{byte:02x}")).collect();
    files::create_new(&token_path, &format!("{token}\n"), true)?;
    let genesis = data_dir::prepare(dir, Some(genesis))?;
    let org = OrgSlug::parse(DEMO_NODE_ORG)?;
    let key = signers
        .into_iter()
        .find(|key| key.name().as_str().ends_with(&format!("/{org}")))
        .context("the demo node's key is missing")?;
    let node = Node::open(dir, genesis, None)?;
    let count = history.len();
    let report =
        node.import(history.into_iter().enumerate().map(|(index, event)| (index as u64, event.note().to_owned())))?;
    if !report.refused.is_empty() {
        bail!("the demo history did not verify: {:?}", report.refused.first());
    }
    drop(node);
    eprintln!("signed and stored {count} demo events for {DEMO_CASES} fictional cases");
    seal_demo_records(dir, &key)?;
    Ok((key, token_path))
}

/// Seals the demo's fictional sensitive records (contacts, health, sensitive signs) through the
/// node's normal path, so the member view of the demo shows sealed case files.
fn seal_demo_records(dir: &Path, key: &SignerKey) -> Result<()> {
    let genesis = data_dir::prepare(dir, None)?;
    let node = Node::open(dir, genesis, Some(key.clone()))?;
    let identity_path = dir.join("keys").join(format!("{DEMO_NODE_ORG}{IDENTITY_FILE_SUFFIX}"));
    node.set_identity(keys::load_identity(&identity_path)?)?;
    let cases: Vec<EventId> =
        node.with_projection(|projection| projection.list_entries().map(|entry| entry.case).collect());
    let records = demo_sealed_records(&cases, DEMO_SEED);
    for record in records.iter().cloned() {
        node.seal_record(record).context("cannot seal a demo record")?;
    }
    eprintln!(
        "sealed {} fictional sensitive records for {} cases",
        records.len(),
        cases.len().min(DEMO_SEALED_CASES_MAX)
    );
    Ok(())
}

pub fn demo(args: &DemoArgs) -> Result<Outcome> {
    init_logging();
    let (key, token_path) = prepare_demo(&args.data)?;
    let genesis = data_dir::prepare(&args.data, None)?;
    let token = AdminToken::from_file(&token_path)?;
    let node = Node::open(&args.data, genesis, Some(key))
        .with_context(|| format!("cannot open the demo node in {}", args.data.display()))?;
    let identity_path = args.data.join("keys").join(format!("{DEMO_NODE_ORG}{IDENTITY_FILE_SUFFIX}"));
    // A demo directory made before sealed records existed has no identities: it runs without.
    if identity_path.exists() {
        node.set_identity(keys::load_identity(&identity_path)?)?;
    }
    eprintln!("demo node of {DEMO_NODE_ORG} (fictional data); member API token in {}", token_path.display());
    serve(node, Some(token), args.listen, None)?;
    Ok(Outcome::Success)
}

/// Replace your organisation's signing key (the node must be stopped).
///
/// Generates a new key with the same name, writes it to --out (mode 0600; never overwrites),
/// then signs, with the current key, the event that announces it. From then on only the new key
/// signs for your organisation: restart the node with `--key` pointing at the new file, and keep
/// the old file offline (it can no longer sign anything that counts).
#[derive(Args)]
#[command(
    after_help = "Example:\n  coalition rotate-key --data node-data --key keys/zmina.key --out keys/zmina-2027.key"
)]
pub struct RotateKeyArgs {
    /// The node's data directory.
    #[arg(long)]
    data: PathBuf,
    /// The current secret key file.
    #[arg(long)]
    key: PathBuf,
    /// Where to write the new secret key (its verifier key goes beside it, with .vkey).
    #[arg(long)]
    out: PathBuf,
}

pub fn rotate_key(args: &RotateKeyArgs) -> Result<Outcome> {
    let genesis = data_dir::prepare(&args.data, None)?;
    let current = keys::load_signer(&args.key)?;
    let new_key = SignerKey::from_seed(current.name().clone(), random_bytes::<32>()?);
    let node = Node::open(&args.data, genesis, Some(current))
        .with_context(|| format!("cannot open the node in {} (is it running? stop it first)", args.data.display()))?;
    files::create_new(&args.out, &format!("{}\n", new_key.to_secret_text()), true)?;
    let submitted = match node.rotate_key(&new_key) {
        Ok(submitted) => submitted,
        Err(error) => {
            // Nothing was signed: the new key must not linger as if it were in use.
            let _ = std::fs::remove_file(&args.out);
            return Err(error).context("the rotation was not signed");
        }
    };
    let vkey_path = args.out.with_extension("vkey");
    if let Err(error) = files::create_new(&vkey_path, &format!("{}\n", new_key.verifier_key()), false) {
        eprintln!("warning: {error:#} (the rotation is signed; the verifier key is printed below)");
    }
    eprintln!("signed key.rotated (seq {}); restart the node with --key {}", submitted.seq, args.out.display());
    println!("{}", new_key.verifier_key());
    Ok(Outcome::Success)
}
