//! The members' bearer token: reading it from its file with the checks that catch a wrong or weak
//! file early, and checking `Authorization: Bearer` headers against it in constant time.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ServerError};

/// Shortest accepted token, in bytes: 32 random bytes written as text carry well over 128 bits.
pub const ADMIN_TOKEN_BYTES_MIN: usize = 32;

/// Longest accepted token, in bytes (and the most read from a token file): a token file is a line
/// of text, not a document.
pub const ADMIN_TOKEN_BYTES_MAX: usize = 1024;

/// The secret that members' requests carry as `Authorization: Bearer <token>`.
///
/// Visible ASCII only (what an HTTP header can carry unchanged), at least
/// [`ADMIN_TOKEN_BYTES_MIN`] bytes. Its `Debug` form never shows it.
#[derive(Clone)]
pub struct AdminToken(Arc<str>);

impl AdminToken {
    /// Checks a token given as text (without a trailing newline).
    pub fn new(token: &str) -> Result<Self, ServerError> {
        Self::check(token, None)
    }

    /// Reads the token from `path`: the file's text without one final newline (`\n` or `\r\n`).
    /// Refuses a token shorter than [`ADMIN_TOKEN_BYTES_MIN`] bytes, longer than
    /// [`ADMIN_TOKEN_BYTES_MAX`], or holding anything but visible ASCII, naming the file and how
    /// to make a good token. On Unix, warns when other users may read the file.
    pub fn from_file(path: &Path) -> Result<Self, ServerError> {
        let file_error = |source| ServerError::TokenFile { path: path.to_owned(), source };
        let file = std::fs::File::open(path).map_err(file_error)?;
        warn_if_readable_by_others(path, &file);
        let mut bytes = Vec::new();
        // Room for the longest token and a final CRLF, plus one byte so a longer file is seen as such.
        file.take(ADMIN_TOKEN_BYTES_MAX as u64 + 3).read_to_end(&mut bytes).map_err(file_error)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| ServerError::TokenInvalid {
            path: Some(path.to_owned()),
            reason: "it is not text (not UTF-8)".to_owned(),
        })?;
        let token = text.strip_suffix('\n').map_or(text, |rest| rest.strip_suffix('\r').unwrap_or(rest));
        Self::check(token, Some(path))
    }

    fn check(token: &str, path: Option<&Path>) -> Result<Self, ServerError> {
        let invalid = |reason: String| ServerError::TokenInvalid { path: path.map(Path::to_owned), reason };
        if token.len() < ADMIN_TOKEN_BYTES_MIN {
            return Err(ServerError::TokenTooShort {
                path: path.map(Path::to_owned),
                bytes: token.len(),
                min: ADMIN_TOKEN_BYTES_MIN,
            });
        }
        if token.len() > ADMIN_TOKEN_BYTES_MAX {
            return Err(invalid(format!("it is longer than {ADMIN_TOKEN_BYTES_MAX} bytes")));
        }
        if let Some(position) = token.bytes().position(|byte| !byte.is_ascii_graphic()) {
            return Err(invalid(format!(
                "byte {} is a space, control character or non-ASCII character; a token is one line of \
                 visible ASCII (base64 or hex)",
                position + 1
            )));
        }
        Ok(Self(Arc::from(token)))
    }

    /// The token, to send it (the client) — never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this token, in time independent of where they differ.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        bool::from(self.0.as_bytes().ct_eq(candidate))
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("AdminToken(…)")
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path, file: &std::fs::File) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = file.metadata()
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "the admin token file can be read by other users of this machine: chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path, _file: &std::fs::File) {}

/// Middleware of the member routes: lets a request through only with `Authorization: Bearer
/// <token>` naming the admin token; else 401 with `WWW-Authenticate: Bearer`. Runs before the
/// body is read, so an unauthenticated client learns nothing about request shapes.
pub(crate) async fn require_bearer(State(token): State<AdminToken>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, credentials)| credentials.trim());
    match given {
        None => ApiError::unauthorized(false),
        Some(credentials) if !token.matches(credentials.as_bytes()) => ApiError::unauthorized(true),
        Some(_) => next.run(request).await,
    }
}
