//! Names, spec validation, fork-proof framing and connection errors (no server needed).

use std::time::Duration;

use coalition_nats::{ConnectSettings, NatsError, NoteSubject, StreamSpec};

use crate::fixtures::{FeedWriter, slug};

#[test]
fn names_derive_from_the_first_16_hex_digits_of_the_ledger() {
    let writer = FeedWriter::new();
    let ledger = writer.genesis.ledger_id();
    let spec = StreamSpec::single_server(ledger);
    let hex16 = &ledger.to_string()[..16];
    assert_eq!(spec.stream_name(), format!("COALITION_{}", hex16.to_ascii_uppercase()));
    assert_eq!(spec.feed_subject(&slug("zmina")), format!("coalition.{hex16}.feed.zmina"));
    assert_eq!(spec.forks_subject(), format!("coalition.{hex16}.forks"));
    assert_eq!(spec.classify(&spec.feed_subject(&slug("crimea-sos"))), NoteSubject::Feed(slug("crimea-sos")));
    assert_eq!(spec.classify(&spec.forks_subject()), NoteSubject::ForkProofs);
    assert_eq!(spec.classify(&format!("coalition.{hex16}.feed.NOT_A_SLUG")), NoteSubject::Other);
}

#[test]
fn spec_refuses_impossible_replicas_and_short_windows() {
    let ledger = FeedWriter::new().genesis.ledger_id();
    assert!(StreamSpec::new(ledger, 3, Duration::from_secs(600)).is_ok());
    for replicas in [0, 6] {
        let error = StreamSpec::new(ledger, replicas, Duration::from_secs(600)).expect_err("bad replicas");
        assert!(matches!(error, NatsError::Invalid { what: "replicas", .. }), "{error}");
    }
    let error = StreamSpec::new(ledger, 1, Duration::from_secs(1)).expect_err("short window");
    assert!(matches!(error, NatsError::Invalid { what: "duplicate window", .. }), "{error}");
}

#[test]
fn fork_proof_framing_round_trips_and_refuses_garbage() {
    let mut writer = FeedWriter::new();
    let (first, second) = (writer.write("zmina"), writer.write("ccl"));
    let bytes = coalition_nats::encode_fork_proof(first.note(), second.note()).expect("encode");
    let (a, b) = coalition_nats::decode_fork_proof(&bytes).expect("decode");
    assert_eq!((a.as_str(), b.as_str()), (first.note(), second.note()));
    for garbage in [&b"\xff\xfe"[..], b"[]", br#"{"notes":["one"]}"#, br#"{"notes":["a","b"],"x":1}"#] {
        assert!(matches!(coalition_nats::decode_fork_proof(garbage), Err(NatsError::BadForkProof(_))));
    }
}

#[tokio::test]
async fn connect_failure_names_the_url_and_is_retryable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("nats://127.0.0.1:{port}");
    let settings = ConnectSettings { connect_timeout: Duration::from_secs(1), ..ConnectSettings::default() };
    let error = coalition_nats::connect(&url, &settings).await.expect_err("nothing listens there");
    assert!(matches!(error, NatsError::Connect { .. }));
    assert!(error.to_string().contains(&url), "{error}");
    assert!(error.is_retryable());
}
