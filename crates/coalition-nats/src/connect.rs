//! Connecting to NATS: reconnect forever, name the URL when the first connection fails.

use std::time::Duration;

use async_nats::{Client, ConnectOptions, Event};

use crate::{CONNECT_TIMEOUT_DEFAULT, JetStream, NatsError};

/// How to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectSettings {
    /// The client name the server shows in its monitoring (for instance `coalition-node/zmina`).
    pub client_name: Option<String>,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
    /// When true, a server that is down at start is not an error: the client connects in the
    /// background (a node keeps working while NATS is down). When false, the first failure is
    /// reported as [`NatsError::Connect`].
    pub retry_initial_connect: bool,
}

impl Default for ConnectSettings {
    fn default() -> Self {
        Self { client_name: None, connect_timeout: CONNECT_TIMEOUT_DEFAULT, retry_initial_connect: false }
    }
}

/// Connects to the NATS server at `url`. Once connected, the client reconnects forever after any
/// disconnection (with the client's capped backoff) and logs each change of state with `tracing`.
pub async fn connect(url: &str, settings: &ConnectSettings) -> Result<Client, NatsError> {
    let logged_url = url.to_owned();
    let mut options = ConnectOptions::new()
        .max_reconnects(None)
        .connection_timeout(settings.connect_timeout)
        .event_callback(move |event| {
            let url = logged_url.clone();
            async move {
                match event {
                    Event::Connected => tracing::info!(%url, "connected to NATS"),
                    Event::Disconnected => tracing::warn!(%url, "disconnected from NATS; reconnecting"),
                    other => tracing::debug!(%url, event = %other, "NATS client event"),
                }
            }
        });
    if let Some(name) = &settings.client_name {
        options = options.name(name);
    }
    if settings.retry_initial_connect {
        options = options.retry_on_initial_connect();
    }
    options.connect(url).await.map_err(|error| NatsError::Connect { url: url.to_owned(), detail: error.to_string() })
}

/// A JetStream context on `client` whose requests and publish acknowledgements time out after
/// `request_timeout` (use [`crate::REQUEST_TIMEOUT_DEFAULT`] without a reason to differ).
pub fn jetstream(client: Client, request_timeout: Duration) -> JetStream {
    let mut context = async_nats::jetstream::new(client);
    context.set_timeout(request_timeout);
    context
}
