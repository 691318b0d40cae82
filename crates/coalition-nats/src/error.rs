//! The errors of the transport, each saying what failed and whether retrying can help.

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// The first connection to the server failed.
    #[error("could not connect to NATS at {url}: {detail}")]
    Connect {
        /// The URL tried.
        url: String,
        /// What the client reported.
        detail: String,
    },
    /// The server could not be reached or did not answer in time: retry later. A publish that
    /// failed this way may still have been stored; retrying it with the same event is safe (the
    /// message id deduplicates it within the duplicate window).
    #[error("NATS unavailable during {operation}: {detail}")]
    Unavailable {
        /// What was being done.
        operation: &'static str,
        /// What the client reported.
        detail: String,
    },
    /// The stream exists with a configuration that contradicts the one asked for. It is neither
    /// used nor changed: an operator must look at it.
    #[error("stream {stream} exists with {field} = {found}, but this ledger needs {expected}")]
    StreamMismatch {
        /// The stream name.
        stream: String,
        /// The configuration field that differs.
        field: &'static str,
        /// What this crate requires.
        expected: String,
        /// What the server has.
        found: String,
    },
    /// No stream listens on the subject (or JetStream is not enabled): call `ensure_stream`.
    #[error("no JetStream stream for subject {subject}: create it with ensure_stream")]
    NoStream {
        /// The subject published to.
        subject: String,
    },
    /// Another publisher wrote to the feed since the sequence the caller expected: nothing was
    /// stored. Read the feed's last message, reconcile, and publish again.
    #[error(
        "feed subject {subject} moved: expected its last message at stream sequence {expected}, the server has {}",
        found.map_or_else(|| "another".to_owned(), |found| found.to_string())
    )]
    WrongLastSubjectSequence {
        /// The feed subject.
        subject: String,
        /// The stream sequence of the last message on the subject the caller expected (0: none).
        expected: u64,
        /// The stream sequence of the subject's actual last message, when the server said.
        found: Option<u64>,
    },
    /// The event or fork proof belongs to another ledger than the stream.
    #[error("note is for ledger {found}, but the stream is for ledger {expected}")]
    WrongLedger {
        /// The stream's ledger.
        expected: String,
        /// The note's ledger.
        found: String,
    },
    /// A message or fork proof is larger than the named limit.
    #[error("{what} is {bytes} bytes, more than the limit of {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A fork proof message could not be decoded.
    #[error("not a fork proof: {0}")]
    BadForkProof(String),
    /// An argument is outside what this crate accepts (replicas, window, consumer name).
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// The argument.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// The server refused the request (a JetStream API error, for instance a denied delete).
    #[error("JetStream refused {operation}: {detail}")]
    Refused {
        /// What was being done.
        operation: &'static str,
        /// The server's explanation.
        detail: String,
    },
}

impl NatsError {
    /// Whether the same call may succeed later without any change (the server was unreachable or
    /// slow). Every other error needs the caller or an operator to act.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Connect { .. })
    }

    pub(crate) fn unavailable(operation: &'static str, error: impl std::fmt::Display) -> Self {
        Self::Unavailable { operation, detail: detail(error) }
    }

    pub(crate) fn refused(operation: &'static str, error: impl std::fmt::Display) -> Self {
        Self::Refused { operation, detail: detail(error) }
    }
}

/// A server's or client's error text, bounded.
pub(crate) fn detail(error: impl std::fmt::Display) -> String {
    error.to_string().chars().take(crate::ERROR_DETAIL_CHARS_MAX).collect()
}
