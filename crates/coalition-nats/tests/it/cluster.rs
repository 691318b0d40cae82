//! A three-server JetStream cluster with the stream replicated three times: one server is killed
//! (SIGKILL) while the nodes write; replication goes on, nothing acknowledged is lost, the server
//! comes back and catches up, and the nodes converge.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use coalition_core::event::EventId;
use coalition_nats::{ConnectSettings, DUPLICATE_WINDOW_DEFAULT, StreamSpec};

use crate::fixtures::{ORGS, genesis, slug};
use crate::replication::{CONVERGE_DEADLINE, Member, converge, open_cases, start_member_with};
use crate::server::{NatsServer, free_port};

/// Servers in the cluster.
const SERVERS: usize = 3;
/// Cases each node opens in each of the two writing rounds.
const CASES_PER_ROUND: usize = 15;

fn start_cluster() -> Vec<NatsServer> {
    let client_ports: Vec<u16> = (0..SERVERS).map(|_| free_port()).collect();
    let route_ports: Vec<u16> = (0..SERVERS).map(|_| free_port()).collect();
    (0..SERVERS)
        .map(|index| {
            let routes: Vec<String> = route_ports
                .iter()
                .enumerate()
                .filter(|(other, _)| *other != index)
                .map(|(_, port)| format!("\"nats-route://127.0.0.1:{port}\""))
                .collect();
            let extra = format!(
                "server_name: test-{index}\ncluster {{ name: test, listen: 127.0.0.1:{}, routes: [{}] }}",
                route_ports[index],
                routes.join(", ")
            );
            NatsServer::start_configured(client_ports[index], &extra)
        })
        .collect()
}

/// Every node's own submissions, in one round.
async fn write_round(members: &[Member], label: &str) -> Vec<EventId> {
    let rounds = futures::future::join_all(
        members
            .iter()
            .zip(ORGS)
            .map(|(member, org)| open_cases(&member.node, CASES_PER_ROUND, format!("{label} {org}"))),
    )
    .await;
    rounds.into_iter().flatten().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_writes_loses_nothing_and_rejoins() {
    let mut servers = start_cluster();
    let urls: Vec<String> = servers.iter().map(NatsServer::url).collect();
    let url = urls.join(",");
    let spec = StreamSpec::new(genesis().ledger_id(), 3, DUPLICATE_WINDOW_DEFAULT).expect("spec");
    let mut members = Vec::new();
    for org in ORGS {
        members.push(start_member_with(org, &url, spec.clone()).await);
    }
    let mut acknowledged: BTreeSet<EventId> = write_round(&members, "Before").await.into_iter().collect();
    converge(&members).await;

    // Kill one server while every node writes.
    let writing = write_round(&members, "During");
    let killing = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        servers[1].kill();
    };
    let (during, ()) = futures::future::join(writing, killing).await;
    acknowledged.extend(during);
    acknowledged.extend(write_round(&members, "After the kill").await);
    let (heads, _) = converge(&members).await;
    let expected = (3 * CASES_PER_ROUND) as u64;
    assert!(heads.values().all(|(seq, _)| *seq == expected), "{heads:?}");
    for member in &members {
        for id in &acknowledged {
            assert!(member.node.event(id).expect("read").is_some(), "{id} missing on {:?}", member.node.org());
        }
    }

    // The stream holds every event once, per feed seqs 1..n, read through a surviving server.
    let client = coalition_nats::connect(&urls[0], &ConnectSettings::default()).await.expect("connect");
    let jetstream = coalition_nats::jetstream(client, Duration::from_secs(5));
    for org in ORGS {
        let mut seqs = Vec::new();
        let mut from = 1;
        while let Some(stored) =
            coalition_nats::get_next_on_feed(&jetstream, &spec, &slug(org), from).await.expect("read")
        {
            let text = String::from_utf8(stored.bytes).expect("text");
            let event = coalition_core::event::SignedEvent::parse(&text).expect("event");
            assert!(acknowledged.contains(&event.id()), "{} on the stream was never acknowledged", event.id());
            seqs.push(event.event().seq);
            from = stored.stream_seq + 1;
        }
        assert_eq!(seqs, (1..=expected).collect::<Vec<_>>(), "{org}'s subject");
    }

    // The killed server comes back and catches up with the stream.
    servers[1].start_again();
    let deadline = Instant::now() + CONVERGE_DEADLINE;
    loop {
        let mut stream = jetstream.get_stream(spec.stream_name()).await.expect("stream");
        let info = stream.info().await.expect("info").clone();
        let cluster = info.cluster.clone().unwrap_or_default();
        let peers: Vec<(String, bool, bool)> =
            cluster.replicas.iter().map(|peer| (peer.name.clone(), peer.current, peer.offline)).collect();
        let caught_up = peers.len() == SERVERS - 1 && peers.iter().all(|(_, current, offline)| *current && !offline);
        if caught_up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted server did not catch up: leader {:?}, {peers:?}",
            cluster.leader
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let again = write_round(&members, "After the return").await;
    acknowledged.extend(again);
    let (heads_after, _) = converge(&members).await;
    assert!(heads_after.values().all(|(seq, _)| *seq == expected + CASES_PER_ROUND as u64), "{heads_after:?}");
    for member in &members {
        assert_eq!(member.node.quarantine_count().expect("count"), 0);
    }
}
