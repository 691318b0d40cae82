//! Replication between nodes through one nats-server: convergence, an outage, hostile input, a
//! fork, a gap only the stream can fill, and the status the replicator reports.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use coalition_core::body::{EventKind, parse_body};
use coalition_core::event::{Event, EventId, LedgerId, SignedEvent};
use coalition_core::keys::SignerKey;
use coalition_core::time::Timestamp;
use coalition_nats::replication::run_replication;
use coalition_nats::{ConnectSettings, StreamSpec};
use coalition_node::Node;
use futures::StreamExt;
use serde_json::json;

use crate::fixtures::{FeedWriter, ORGS, genesis, key, slug};
use crate::server::NatsServer;

/// Longest wait for the nodes to agree.
pub(crate) const CONVERGE_DEADLINE: Duration = Duration::from_secs(60);

/// A node and its replicator task (aborted on drop).
pub(crate) struct Member {
    pub(crate) node: Node,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

impl Drop for Member {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_member(org: &str, url: &str) -> Member {
    start_member_with(org, url, StreamSpec::single_server(genesis().ledger_id())).await
}

/// A member node replicating through `url` (one or several, comma-separated) on stream `spec`.
pub(crate) async fn start_member_with(org: &str, url: &str, spec: StreamSpec) -> Member {
    let genesis = genesis();
    let node = Node::open_in_memory(genesis, Some(key(org))).expect("open node");
    let settings = ConnectSettings { client_name: Some(format!("test/{org}")), ..ConnectSettings::default() };
    let client = coalition_nats::connect(url, &settings).await.expect("connect");
    let jetstream = coalition_nats::jetstream(client, Duration::from_secs(2));
    let replicated = node.clone();
    let name = format!("node-{org}");
    let task = tokio::spawn(async move {
        let result = run_replication(replicated, jetstream, spec, name, std::future::pending()).await;
        assert!(result.is_ok(), "replication stopped: {result:?}");
    });
    Member { node, task }
}

async fn start_all(url: &str) -> Vec<Member> {
    let mut members = Vec::new();
    for org in ORGS {
        members.push(start_member(org, url).await);
    }
    members
}

/// Opens `count` cases on `node`, off the async threads.
pub(crate) async fn open_cases(node: &Node, count: usize, label: String) -> Vec<EventId> {
    let node = node.clone();
    tokio::task::spawn_blocking(move || {
        (0..count)
            .map(|index| {
                let body = json!({"facts": {"name_en": format!("{label} {index}"), "region": "crimea"}});
                node.submit(EventKind::CaseOpened, body).expect("case opened").id
            })
            .collect()
    })
    .await
    .expect("submit task")
}

/// Asserts a criterion and endorses every case in `cases` on `node`; returns how many events
/// were signed.
async fn endorse(node: &Node, cases: Vec<EventId>) -> usize {
    let node = node.clone();
    tokio::task::spawn_blocking(move || {
        let mut signed = 0;
        for case in cases {
            if node.submit(EventKind::CriterionAsserted, json!({"case": case, "criterion": "a"})).is_ok() {
                signed += 1;
            }
            if node.submit(EventKind::PersonAdded, json!({"case": case})).is_ok() {
                signed += 1;
            }
        }
        signed
    })
    .await
    .expect("endorse task")
}

pub(crate) type Picture = (BTreeMap<String, (u64, EventId)>, String);

pub(crate) fn picture(node: &Node) -> Picture {
    let heads = node.heads().into_iter().map(|(org, head)| (org.to_string(), head)).collect();
    let list = node.with_projection(|projection| {
        format!("{:?}", projection.list_summary().map(|summary| (summary.count, summary.hash)))
    });
    (heads, list)
}

/// Waits until every node holds every feed up to the seq each node's own feed reached.
pub(crate) async fn converge(members: &[Member]) -> Picture {
    let deadline = Instant::now() + CONVERGE_DEADLINE;
    loop {
        let pictures: Vec<Picture> = members.iter().map(|member| picture(&member.node)).collect();
        let own: BTreeMap<String, u64> = members
            .iter()
            .filter_map(|member| {
                let org = member.node.org()?;
                Some((org.to_string(), member.node.heads().get(org).map_or(0, |head| head.0)))
            })
            .collect();
        let complete = pictures[0].0.iter().map(|(org, head)| (org.clone(), head.0)).collect::<BTreeMap<_, _>>() == own;
        if complete && pictures.iter().all(|candidate| *candidate == pictures[0]) {
            return pictures[0].clone();
        }
        assert!(Instant::now() < deadline, "no convergence in time: {pictures:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_writing_concurrently_converge() {
    let server = NatsServer::start();
    let members = start_all(&server.url()).await;
    let opened = futures::future::join_all(
        members.iter().zip(ORGS).map(|(member, org)| open_cases(&member.node, 3, format!("Person of {org}"))),
    )
    .await;
    converge(&members).await;
    // Each endorses the others' cases, concurrently.
    let endorsements = futures::future::join_all(members.iter().enumerate().map(|(index, member)| {
        let others: Vec<EventId> = opened
            .iter()
            .enumerate()
            .filter(|(other, _)| *other != index)
            .flat_map(|(_, cases)| cases.iter().copied())
            .collect();
        endorse(&member.node, others)
    }))
    .await;
    assert!(endorsements.iter().all(|signed| *signed > 0), "{endorsements:?}");
    let (heads, list) = converge(&members).await;
    assert_eq!(heads.len(), 3);
    for (org, (seq, _)) in &heads {
        assert!(*seq >= 3, "{org} at {seq}");
    }
    assert!(list.contains("Ok"), "{list}");
    for member in &members {
        assert_eq!(member.node.published_seq().expect("cursor"), heads[&member.node.org().expect("org").to_string()].0);
        assert_eq!(member.node.quarantine_count().expect("count"), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_keep_writing_while_nats_is_down_and_converge_after() {
    let mut server = NatsServer::start();
    let members = start_all(&server.url()).await;
    for (member, org) in members.iter().zip(ORGS) {
        open_cases(&member.node, 1, format!("Before {org}")).await;
    }
    converge(&members).await;

    server.stop();
    for (member, org) in members.iter().zip(ORGS) {
        // Writes are accepted while NATS is down.
        let opened =
            tokio::time::timeout(Duration::from_secs(10), open_cases(&member.node, 2, format!("During {org}")))
                .await
                .expect("writes do not wait for NATS");
        assert_eq!(opened.len(), 2);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for member in &members {
        assert_eq!(member.node.heads().len(), 3);
        let org = member.node.org().expect("org");
        assert_eq!(member.node.heads()[org].0, 3);
        assert_eq!(member.node.published_seq().expect("cursor"), 1, "nothing published while down");
    }

    server.restart();
    let (heads, _) = converge(&members).await;
    assert!(heads.values().all(|(seq, _)| *seq == 3), "{heads:?}");
}

fn other_ledger_note() -> String {
    let mut writer = FeedWriter::new();
    let mut event = writer.next("ccl", crate::fixtures::case_opened("Elsewhere"));
    event.ledger = LedgerId::from_bytes([7; 32]);
    event.sign(&key("ccl")).expect("sign").note().to_owned()
}

fn forged_note() -> String {
    let mut writer = FeedWriter::new();
    let note = writer.write("crimea-sos").note().to_owned();
    // Same signature line, altered text: the signature no longer verifies.
    note.replacen("Test Person", "Test Persom", 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_are_quarantined_and_valid_events_still_converge() {
    let server = NatsServer::start();
    let members = start_all(&server.url()).await;
    for (member, org) in members.iter().zip(ORGS) {
        open_cases(&member.node, 1, format!("First {org}")).await;
    }
    converge(&members).await;

    let client = coalition_nats::connect(&server.url(), &ConnectSettings::default()).await.expect("connect");
    let jetstream = coalition_nats::jetstream(client, Duration::from_secs(2));
    let spec = StreamSpec::single_server(genesis().ledger_id());
    let forged = forged_note();
    assert_ne!(forged, FeedWriter::new().write("crimea-sos").note(), "the forgery changed the note");
    let hostile: Vec<(String, Vec<u8>)> = vec![
        (spec.feed_subject(&crate::fixtures::slug("zmina")), b"\xff\xfe garbage \x00".to_vec()),
        (spec.feed_subject(&crate::fixtures::slug("ccl")), b"not a note at all".to_vec()),
        (spec.feed_subject(&crate::fixtures::slug("crimea-sos")), forged.into_bytes()),
        (spec.feed_subject(&crate::fixtures::slug("ccl")), other_ledger_note().into_bytes()),
        (spec.forks_subject(), b"{\"notes\": 3}".to_vec()),
    ];
    for (subject, payload) in hostile {
        jetstream.publish(subject, payload.into()).await.expect("publish").await.expect("stored");
    }

    // Valid writes after the garbage, on every feed, including those the garbage landed on.
    for (member, org) in members.iter().zip(ORGS) {
        open_cases(&member.node, 2, format!("After {org}")).await;
    }
    let (heads, _) = converge(&members).await;
    assert!(heads.values().all(|(seq, _)| *seq == 3), "{heads:?}");
    let deadline = Instant::now() + CONVERGE_DEADLINE;
    for member in &members {
        while member.node.quarantine_count().expect("count") < 5 {
            assert!(Instant::now() < deadline, "not everything quarantined in time");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!member.task.is_finished(), "the replicator stays up");
    }
}

/// Two validly signed events of `org` at the seq after `head`, with different bodies: a fork.
fn fork_pair(org: &str, head: (u64, EventId)) -> (SignedEvent, SignedEvent) {
    let genesis = genesis();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let time = Timestamp::from_unix_seconds(i64::try_from(now).expect("time") + 60).expect("time");
    let sign = |name: &str| {
        Event {
            ledger: genesis.ledger_id(),
            org: slug(org),
            seq: head.0 + 1,
            prev: Some(head.1),
            time,
            deps: Vec::new(),
            body: crate::fixtures::case_opened(name),
        }
        .sign(&key(org))
        .expect("sign")
    };
    (sign("Fork One"), sign("Fork Two"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_is_proven_to_every_node_the_feed_freezes_and_the_nodes_converge() {
    let server = NatsServer::start();
    let members = start_all(&server.url()).await;
    for (member, org) in members.iter().zip(ORGS) {
        open_cases(&member.node, 1, format!("First {org}")).await;
    }
    converge(&members).await;

    // Someone holding zmina's key publishes two different events for zmina's seq 2.
    let zmina = slug("zmina");
    let head = members[0].node.heads()[&zmina];
    let (one, two) = fork_pair("zmina", head);
    let client = coalition_nats::connect(&server.url(), &ConnectSettings::default()).await.expect("connect");
    let jetstream = coalition_nats::jetstream(client, Duration::from_secs(2));
    let spec = StreamSpec::single_server(genesis().ledger_id());
    for event in [&one, &two] {
        let payload = event.note().as_bytes().to_vec();
        jetstream.publish(spec.feed_subject(&zmina), payload.into()).await.expect("publish").await.expect("stored");
    }

    let deadline = Instant::now() + CONVERGE_DEADLINE;
    for member in &members {
        loop {
            let proofs = member.node.fork_proofs().expect("proofs");
            if proofs.len() == 1 && member.node.frozen_at(&zmina) == Some(2) {
                let ids = BTreeSet::from([proofs[0].first.id(), proofs[0].second.id()]);
                assert_eq!(ids, BTreeSet::from([one.id(), two.id()]));
                assert_eq!((proofs[0].org.clone(), proofs[0].seq), (zmina.clone(), 2));
                break;
            }
            assert!(Instant::now() < deadline, "{:?} has no fork proof in time", member.node.org());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The proof was republished, once: every node found the fork and published the same proof.
    let stream = jetstream.get_stream(spec.stream_name()).await.expect("stream");
    let proof = loop {
        match stream.get_first_raw_message_by_subject(spec.forks_subject(), 1).await {
            Ok(proof) => break proof,
            Err(error) => {
                assert!(Instant::now() < deadline, "no proof on the forks subject: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let (first, second) = coalition_nats::decode_fork_proof(&proof.payload).expect("decode");
    assert_eq!(BTreeSet::from([first, second]), BTreeSet::from([one.note().to_owned(), two.note().to_owned()]));
    // Give every node the time to publish it too.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = stream.get_first_raw_message_by_subject(spec.forks_subject(), proof.sequence + 1).await;
    assert!(again.is_err(), "the proof is on the stream once, however many nodes published it");

    // Nobody went down; the others keep writing and everyone agrees.
    for member in &members[..2] {
        open_cases(&member.node, 2, "After the fork".to_owned()).await;
    }
    let (heads, _) = converge(&members).await;
    assert_eq!(heads[&zmina.to_string()].0, 2, "{heads:?}");
    for member in &members {
        assert!(!member.task.is_finished(), "the replicator stays up");
        assert_eq!(member.node.quarantine_count().expect("count"), 0, "a fork is not garbage");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_consumer_is_past_events_it_lacks_fetches_them_from_the_stream() {
    let server = NatsServer::start();
    let writer = start_member("ccl", &server.url()).await;
    open_cases(&writer.node, 3, "Early".to_owned()).await;
    let deadline = Instant::now() + CONVERGE_DEADLINE;
    while writer.node.published_seq().expect("cursor") < 3 {
        assert!(Instant::now() < deadline, "not published in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // zmina's durable consumer has acked the first three messages, but zmina's store (restored
    // from an old backup, say) holds none of them: the consumer will never deliver them again.
    {
        let client = coalition_nats::connect(&server.url(), &ConnectSettings::default()).await.expect("connect");
        let jetstream = coalition_nats::jetstream(client.clone(), Duration::from_secs(2));
        let spec = StreamSpec::single_server(genesis().ledger_id());
        let consumer = coalition_nats::durable_consumer(&jetstream, &spec, "node-zmina").await.expect("consumer");
        let mut messages = consumer.messages().await.expect("messages");
        for _ in 0..3 {
            let message = messages.next().await.expect("some").expect("message");
            message.ack_confirmed().await.expect("ack");
        }
        drop(messages);
        client.drain().await.expect("drain");
    }
    open_cases(&writer.node, 2, "Late".to_owned()).await;

    let reader = start_member("zmina", &server.url()).await;
    let deadline = Instant::now() + CONVERGE_DEADLINE;
    loop {
        if reader.node.heads().get(&slug("ccl")).map(|head| head.0) == Some(5) {
            break;
        }
        assert!(Instant::now() < deadline, "the gap was not filled: {:?}", reader.node.heads());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(picture(&reader.node), picture(&writer.node));
    assert_eq!(reader.node.quarantine_count().expect("count"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replicator_reports_its_progress_to_the_node() {
    let server = NatsServer::start();
    let members = start_all(&server.url()).await;
    for (member, org) in members.iter().zip(ORGS) {
        open_cases(&member.node, 2, format!("Status {org}")).await;
    }
    converge(&members).await;
    let deadline = Instant::now() + CONVERGE_DEADLINE;
    for member in &members {
        loop {
            let status = member.node.replication_status().expect("a replicating node reports");
            if status.connected && status.stream_last_seq == 6 && status.applied_stream_seq == 6 {
                assert_eq!(status.lag_messages, 0);
                break;
            }
            assert!(Instant::now() < deadline, "status not up to date in time: {status:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(member.node.outbox_len().expect("outbox"), 0);
    }
    drop(server);
    let deadline = Instant::now() + CONVERGE_DEADLINE;
    for member in &members {
        while member.node.replication_status().expect("status").connected {
            assert!(Instant::now() < deadline, "still connected after the server stopped");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Events of one feed published before a new node starts, so they reach it together.
const BACKLOG_EVENTS: usize = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_node_catches_up_a_backlog_with_a_forgery_and_a_key_rotation_inside_it() {
    let server = NatsServer::start();
    let client = coalition_nats::connect(&server.url(), &ConnectSettings::default()).await.expect("connect");
    let jetstream = coalition_nats::jetstream(client, Duration::from_secs(2));
    let spec = StreamSpec::single_server(genesis().ledger_id());
    coalition_nats::ensure_stream(&jetstream, &spec).await.expect("stream");

    // zmina writes, rotates its key half way, and goes on with the new key.
    let zmina = slug("zmina");
    let new_key = SignerKey::from_seed(key("zmina").name().clone(), [42; 32]);
    let rotated_at = BACKLOG_EVENTS / 2;
    let mut writer = FeedWriter::new();
    let mut events: Vec<SignedEvent> = (0..rotated_at).map(|_| writer.write("zmina")).collect();
    let rotation = parse_body(EventKind::KeyRotated, &json!({"vkey": new_key.verifier_key().to_string()}).to_string())
        .expect("body");
    events.push(writer.write_with("zmina", rotation, &key("zmina")));
    while events.len() < BACKLOG_EVENTS {
        let body = crate::fixtures::case_opened(&format!("After rotation {}", events.len()));
        events.push(writer.write_with("zmina", body, &new_key));
    }
    // A forgery before the genuine event of its seq, and the first event after the rotation
    // signed with the retired key (valid under the key a snapshot taken before the rotation holds).
    let forged_at = rotated_at / 2;
    let forged = events[forged_at].note().replacen("Test Person", "Test Persom", 1);
    assert_ne!(forged, events[forged_at].note(), "the forgery changed the note");
    let first_new = rotated_at + 1;
    let stale = events[first_new].event().clone().sign(&key("zmina")).expect("sign with the old key");
    let mut payloads: Vec<Vec<u8>> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        if index == forged_at {
            payloads.push(forged.clone().into_bytes());
        }
        if index == first_new {
            payloads.push(stale.note().as_bytes().to_vec());
        }
        payloads.push(event.note().as_bytes().to_vec());
    }
    for payload in payloads {
        jetstream.publish(spec.feed_subject(&zmina), payload.into()).await.expect("publish").await.expect("stored");
    }

    let member = start_member("ccl", &server.url()).await;
    let last = events.last().map(|event| (event.event().seq, event.id())).expect("events");
    let deadline = Instant::now() + CONVERGE_DEADLINE;
    while member.node.heads().get(&zmina) != Some(&last) || member.node.quarantine_count().expect("count") < 2 {
        assert!(Instant::now() < deadline, "no catch-up in time: {:?}", member.node.heads().get(&zmina));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let quarantined = member.node.quarantined(coalition_node::QuarantineId(0), 10).expect("quarantine");
    assert_eq!(quarantined.len(), 2, "{quarantined:?}");
    let reason_of = |bytes: &[u8]| {
        quarantined.iter().find(|note| note.kept == bytes).map(|note| note.reason.clone()).expect("quarantined")
    };
    let forged_reason = reason_of(forged.as_bytes());
    assert!(forged_reason.starts_with("bad signature"), "{forged_reason}");
    let stale_reason = reason_of(stale.note().as_bytes());
    assert!(stale_reason.contains("names key"), "{stale_reason}");
    for (seq, event) in (1u64..).zip(&events) {
        assert_eq!(member.node.event(&event.id()).expect("read").map(|held| held.event().seq), Some(seq));
    }
    assert!(!member.task.is_finished(), "the replicator stays up");
}
