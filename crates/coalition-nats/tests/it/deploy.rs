//! The permissions of deploy/nats: a server configured with the users that
//! `deploy/nats/make-accounts.sh` generates lets each organisation's node replicate, and refuses
//! an organisation publishing on another's feed subject or deleting, purging or reconfiguring
//! the stream.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use coalition_nats::{ConnectSettings, NatsError, StreamSpec, publish_event};
use coalition_store::PrivateSpace;
use futures::StreamExt;

use crate::fixtures::{FeedWriter, genesis};
use crate::replication::{converge, open_cases, start_member_with};
use crate::server::{NatsServer, free_port};

/// How long a denied request may wait for an answer that never comes.
const DENIED_TIMEOUT: Duration = Duration::from_secs(2);

fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nats")
}

/// A server whose users come from make-accounts.sh for the test ledger and three organisations,
/// with the password of each.
fn configured_server() -> (NatsServer, tempfile::TempDir) {
    let spec = StreamSpec::single_server(genesis().ledger_id());
    let out = tempfile::tempdir().expect("temporary directory");
    let status = Command::new("sh")
        .arg(deploy_dir().join("make-accounts.sh"))
        .arg(spec.ledger_hex())
        .arg(out.path())
        .args(crate::fixtures::ORGS)
        .status()
        .expect("run make-accounts.sh");
    assert!(status.success(), "make-accounts.sh failed");
    // nats-server resolves `include` relative to the including file: inline the users instead.
    let accounts = std::fs::read_to_string(out.path().join("accounts.conf")).expect("accounts.conf");
    (NatsServer::start_configured(free_port(), &accounts), out)
}

fn url_for(server: &NatsServer, passwords: &tempfile::TempDir, user: &str) -> String {
    let password = std::fs::read_to_string(passwords.path().join(format!("{user}.password"))).expect("password");
    server.url().replacen("nats://", &format!("nats://{user}:{}@", password.trim()), 1)
}

#[test]
fn the_script_refuses_bad_arguments() {
    let out = tempfile::tempdir().expect("temporary directory");
    for arguments in [vec!["XYZ", "dir", "ccl"], vec!["0123456789abcdef", "dir", "Bad_Slug"], vec!["0123"]] {
        let status = Command::new("sh")
            .arg(deploy_dir().join("make-accounts.sh"))
            .args(arguments.iter().map(|argument| {
                if *argument == "dir" { out.path().to_string_lossy().into_owned() } else { (*argument).to_owned() }
            }))
            .status()
            .expect("run make-accounts.sh");
        assert_eq!(status.code(), Some(2), "{arguments:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_organisation_replicates_with_its_own_user() {
    let (server, passwords) = configured_server();
    let spec = StreamSpec::single_server(genesis().ledger_id());
    let mut members = Vec::new();
    for org in ["ccl", "zmina"] {
        members.push(start_member_with(org, &url_for(&server, &passwords, org), spec.clone()).await);
    }
    for member in &members {
        open_cases(&member.node, 2, "Permitted".to_owned()).await;
    }
    let (heads, _) = converge(&members).await;
    assert_eq!(heads.len(), 2);
    assert!(heads.values().all(|(seq, _)| *seq == 2), "{heads:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_cannot_write_another_feed_nor_remove_the_stream() {
    let (server, passwords) = configured_server();
    let spec = StreamSpec::single_server(genesis().ledger_id());
    let connect = |user: &str| {
        let url = url_for(&server, &passwords, user);
        async move {
            let client = coalition_nats::connect(&url, &ConnectSettings::default()).await.expect("connect");
            coalition_nats::jetstream(client, DENIED_TIMEOUT)
        }
    };
    let ccl = connect("ccl").await;
    coalition_nats::ensure_stream(&ccl, &spec).await.expect("a node may create the ledger's stream");
    let mut writer = FeedWriter::new();
    let own = writer.write("ccl");
    publish_event(&ccl, &spec, &own, Some(0)).await.expect("ccl publishes on its own subject");

    let foreign = writer.write("zmina");
    let refused = publish_event(&ccl, &spec, &foreign, None).await;
    assert!(refused.is_err(), "ccl published on zmina's subject: {refused:?}");

    let admin = connect("admin").await;
    let messages = |jetstream: coalition_nats::JetStream| {
        let name = spec.stream_name();
        async move { jetstream.get_stream(name).await.expect("stream").info().await.expect("info").state.messages }
    };
    assert_eq!(messages(admin.clone()).await, 1, "only ccl's own event is stored");

    // The stream's deny flags do not bind the API; the user's permissions must.
    let deleted = ccl.delete_stream(spec.stream_name()).await;
    assert!(deleted.is_err(), "ccl deleted the stream");
    let stream = ccl.get_stream(spec.stream_name()).await.expect("ccl may read the stream");
    assert!(stream.purge().await.is_err(), "ccl purged the stream");
    let mut config = coalition_nats::stream_config(&spec);
    config.max_age = Duration::from_secs(60);
    assert!(ccl.update_stream(config).await.is_err(), "ccl reconfigured the stream");
    assert!(stream.delete_message(1).await.is_err(), "ccl deleted a message");
    assert_eq!(messages(admin.clone()).await, 1, "nothing was removed");
    match coalition_nats::ensure_stream(&admin, &spec).await {
        Ok(_) => {}
        Err(error @ NatsError::StreamMismatch { .. }) => panic!("the stream was changed: {error}"),
        Err(error) => panic!("{error}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_replicates_private_records_but_cannot_purge_them() {
    let (server, passwords) = configured_server();
    let spec = StreamSpec::single_server(genesis().ledger_id());
    let url = url_for(&server, &passwords, "ccl");
    let client = coalition_nats::connect(&url, &ConnectSettings::default()).await.expect("connect");
    let ccl = coalition_nats::jetstream(client, DENIED_TIMEOUT);
    coalition_nats::ensure_private_stream(&ccl, &spec).await.expect("a node may create the private stream");
    coalition_nats::publish_private(&ccl, &spec, PrivateSpace::Reports, "r-1", b"ciphertext", false)
        .await
        .expect("ccl publishes a private record");
    coalition_nats::publish_private(&ccl, &spec, PrivateSpace::Reports, "r-2", b"ciphertext", true)
        .await
        .expect("ccl publishes a private record if absent");
    coalition_nats::publish_private_deletion(&ccl, &spec, PrivateSpace::Reports, "r-2")
        .await
        .expect("ccl publishes a tombstone");
    let read = coalition_nats::get_private(&ccl, &spec, PrivateSpace::Reports, "r-1").await.expect("ccl reads");
    assert!(read.is_some());
    let settings = coalition_nats::ConsumerSettings::default();
    let consumer = coalition_nats::durable_private_consumer(&ccl, &spec, "node-ccl", settings)
        .await
        .expect("ccl opens its private consumer");
    let messages = consumer.messages().await.expect("pull");
    futures::pin_mut!(messages);
    let first = tokio::time::timeout(Duration::from_secs(10), messages.next())
        .await
        .expect("a message in time")
        .expect("a message")
        .expect("delivered");
    first.ack().await.expect("ccl acks");
    assert!(
        coalition_nats::durable_private_consumer(&ccl, &spec, "node-zmina", settings).await.is_err(),
        "ccl opened zmina's private consumer"
    );
    let stream = ccl.get_stream(spec.private_stream_name()).await.expect("ccl may read the private stream");
    assert!(stream.purge().await.is_err(), "ccl purged the private stream");
    assert!(stream.delete_message(1).await.is_err(), "ccl deleted a private message");
    assert!(ccl.delete_stream(spec.private_stream_name()).await.is_err(), "ccl deleted the private stream");
    let mut config = coalition_nats::private_stream_config(&spec);
    config.max_messages_per_subject = 5;
    assert!(ccl.update_stream(config).await.is_err(), "ccl reconfigured the private stream");
    let admin_url = url_for(&server, &passwords, "admin");
    let admin = coalition_nats::jetstream(
        coalition_nats::connect(&admin_url, &ConnectSettings::default()).await.expect("connect"),
        DENIED_TIMEOUT,
    );
    let state =
        admin.get_stream(spec.private_stream_name()).await.expect("stream").info().await.expect("info").state.messages;
    assert_eq!(state, 2, "r-1 and r-2's tombstone");
    coalition_nats::ensure_private_stream(&admin, &spec).await.expect("unchanged");
}
