//! The admin token file: its checks and how the token is kept out of sight.

use std::io::Write;

use coalition_server::{ADMIN_TOKEN_BYTES_MIN, AdminToken, ServerError};

fn token_file(contents: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(contents).expect("write token");
    file
}

#[test]
fn a_good_token_file_is_read_without_its_final_newline() {
    let token = "a".repeat(ADMIN_TOKEN_BYTES_MIN);
    for contents in [format!("{token}\n"), format!("{token}\r\n"), token.clone()] {
        let file = token_file(contents.as_bytes());
        let read = AdminToken::from_file(file.path()).expect("a good token");
        assert_eq!(read.expose(), token);
        assert!(read.matches(token.as_bytes()));
        assert!(!read.matches(format!("{token}x").as_bytes()));
        assert!(!read.matches(b""));
    }
}

#[test]
fn a_short_token_file_is_refused_with_a_clear_message() {
    let file = token_file(b"short-token\n");
    let error = AdminToken::from_file(file.path()).expect_err("too short");
    assert!(matches!(error, ServerError::TokenTooShort { bytes: 11, min: 32, .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("11 bytes"), "{message}");
    assert!(message.contains("at least 32"), "{message}");
    assert!(message.contains(&file.path().display().to_string()), "{message}");

    // 31 bytes plus a newline is still 31.
    let file = token_file(format!("{}\n", "b".repeat(31)).as_bytes());
    assert!(matches!(AdminToken::from_file(file.path()), Err(ServerError::TokenTooShort { bytes: 31, .. })));
}

#[test]
fn a_token_with_spaces_or_several_lines_is_refused() {
    for contents in
        [format!("{} tail", "c".repeat(40)), format!("{}\n\n", "c".repeat(40)), format!("{}é", "c".repeat(40))]
    {
        let file = token_file(contents.as_bytes());
        let error = AdminToken::from_file(file.path()).expect_err("invalid");
        assert!(matches!(error, ServerError::TokenInvalid { .. }), "{contents:?}: {error:?}");
    }
    let missing = AdminToken::from_file(std::path::Path::new("/nonexistent/token"));
    assert!(matches!(missing, Err(ServerError::TokenFile { .. })));
}

#[test]
fn the_token_never_shows_in_debug_output() {
    let token = AdminToken::new(&"s".repeat(40)).expect("token");
    assert!(!format!("{token:?}").contains("sss"));
}
