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

/// Connects to the NATS server at `url`, or to any of several comma-separated URLs (the servers
/// of a cluster: the client picks one and fails over to the others). Once connected, the client
/// reconnects forever after any disconnection (with the client's capped backoff) and logs each
/// change of state with `tracing`.
pub async fn connect(url: &str, settings: &ConnectSettings) -> Result<Client, NatsError> {
    let mut urls: Vec<String> = Vec::new();
    let mut credentials: Option<(String, String)> = None;
    for part in url.split(',').map(str::trim).filter(|part| !part.is_empty()) {
        let (address, user) = split_credentials(part);
        if let Some(user) = user {
            if credentials.as_ref().is_some_and(|known| *known != user) {
                return Err(NatsError::Connect {
                    url: redacted(url),
                    detail: "the URLs carry different user names or passwords: give every server the same".to_owned(),
                });
            }
            credentials = Some(user);
        }
        urls.push(address);
    }
    if urls.is_empty() {
        return Err(NatsError::Connect { url: redacted(url), detail: "no server URL given".to_owned() });
    }
    let logged_url = redacted(url);
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
    if let Some((user, password)) = credentials {
        // The client does not read credentials from the URL itself.
        options = options.user_and_password(user, password);
    }
    if settings.retry_initial_connect {
        options = options.retry_on_initial_connect();
    }
    options
        .connect(urls.as_slice())
        .await
        .map_err(|error| NatsError::Connect { url: redacted(url), detail: crate::error::detail(error) })
}

/// A JetStream context on `client` whose requests and publish acknowledgements time out after
/// `request_timeout` (use [`crate::REQUEST_TIMEOUT_DEFAULT`] without a reason to differ).
pub fn jetstream(client: Client, request_timeout: Duration) -> JetStream {
    let mut context = async_nats::jetstream::new(client);
    context.set_timeout(request_timeout);
    context
}

/// `url` (one or several, comma-separated) with any `user:password@` replaced by `***@`, for logs
/// and error messages: a deployment may put a node's NATS password in its URL.
pub fn redacted(url: &str) -> String {
    url.split(',')
        .map(|part| match (part.find("://"), part.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}***{}", &part[..scheme_end + 3], &part[at..]),
            (None, Some(at)) => format!("***{}", &part[at..]),
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Splits `scheme://user:password@host:port` into the URL without credentials and the
/// credentials (user, password), which are taken literally (no percent-decoding: generated
/// passwords are hex).
fn split_credentials(url: &str) -> (String, Option<(String, String)>) {
    let (scheme, rest) = match url.find("://") {
        Some(end) => (&url[..end + 3], &url[end + 3..]),
        None => ("", url),
    };
    match rest.rfind('@') {
        Some(at) => {
            let (user, password) = rest[..at].split_once(':').unwrap_or((&rest[..at], ""));
            (format!("{scheme}{}", &rest[at + 1..]), Some((user.to_owned(), password.to_owned())))
        }
        None => (url.to_owned(), None),
    }
}
