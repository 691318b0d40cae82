//! A private nats-server per test: free port, temporary store, killed on drop.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coalition_nats::{ConnectSettings, JetStream, StreamSpec};

use crate::fixtures::FeedWriter;

/// How long a server may take to accept connections.
const START_DEADLINE: Duration = Duration::from_secs(15);
/// How long a graceful stop may take before the server is killed.
const STOP_DEADLINE: Duration = Duration::from_secs(10);

fn binary() -> PathBuf {
    let found = Command::new("which")
        .arg("nats-server")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    match found {
        Some(path) if path.is_file() => path,
        _ => {
            let fallback = PathBuf::from("/usr/sbin/nats-server");
            assert!(
                fallback.is_file(),
                "nats-server not found (not on PATH, not at /usr/sbin/nats-server): these tests need a real \
                 server; install the nats-server package (CI does)"
            );
            fallback
        }
    }
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: tempfile::TempDir,
    /// A configuration file to start with (`-c`) instead of the command-line flags.
    config: Option<PathBuf>,
}

impl NatsServer {
    pub fn start() -> Self {
        let store = tempfile::tempdir().expect("temporary store directory");
        let mut server = Self { child: None, port: free_port(), store, config: None };
        server.spawn();
        server
    }

    /// Starts a server on `port` from a configuration file: `listen`, the log file and the
    /// JetStream store directory are written by this function, then `extra` (cluster, accounts,
    /// includes) follows.
    pub fn start_configured(port: u16, extra: &str) -> Self {
        let store = tempfile::tempdir().expect("temporary store directory");
        let path = store.path().join("server.conf");
        let text = format!(
            "listen: 127.0.0.1:{port}\nlog_file: {log:?}\njetstream {{ store_dir: {jetstream:?} }}\n{extra}\n",
            log = store.path().join("server.log"),
            jetstream = store.path().join("jetstream"),
        );
        std::fs::write(&path, text).expect("write the server configuration");
        let mut server = Self { child: None, port, store, config: Some(path) };
        server.spawn();
        server
    }

    /// Kills the server at once (SIGKILL): no goodbye to clients or cluster peers.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again after [`Self::kill`] or [`Self::stop`], same port and store.
    pub fn start_again(&mut self) {
        if self.child.is_none() {
            self.spawn();
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn store_dir(&self) -> &Path {
        self.store.path()
    }

    fn spawn(&mut self) {
        let log = self.store.path().join("server.log");
        let mut command = Command::new(binary());
        match &self.config {
            Some(config) => command.arg("-c").arg(config),
            None => command
                .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
                .arg(self.store.path().join("jetstream"))
                .arg("-l")
                .arg(&log),
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            // Ready when it greets a client with its INFO line.
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
                let mut greeting = [0u8; 4];
                if stream.read_exact(&mut greeting).is_ok() && &greeting == b"INFO" {
                    return;
                }
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("nats-server exited at start with {status}; log:\n{log}");
            }
            assert!(Instant::now() < deadline, "nats-server did not accept connections on port {} in time", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server gracefully (SIGTERM), killing it if it lingers.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = Instant::now() + STOP_DEADLINE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the server again on the same port with the same store directory.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A server, a connected JetStream context, the ledger's spec and a feed writer for its genesis.
pub struct Harness {
    pub server: NatsServer,
    pub jetstream: JetStream,
    pub spec: StreamSpec,
    pub writer: FeedWriter,
}

impl Harness {
    pub async fn new() -> Self {
        let server = NatsServer::start();
        let client = coalition_nats::connect(&server.url(), &ConnectSettings::default()).await.expect("connect");
        let jetstream = coalition_nats::jetstream(client, Duration::from_secs(2));
        let writer = FeedWriter::new();
        let spec = StreamSpec::single_server(writer.genesis.ledger_id());
        Self { server, jetstream, spec, writer }
    }

    /// With the stream created.
    pub async fn with_stream() -> Self {
        let harness = Self::new().await;
        coalition_nats::ensure_stream(&harness.jetstream, &harness.spec).await.expect("ensure stream");
        harness
    }

    pub async fn message_count(&self) -> u64 {
        let mut stream = self.jetstream.get_stream(self.spec.stream_name()).await.expect("stream");
        stream.info().await.expect("stream info").state.messages
    }
}
