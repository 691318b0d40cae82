//! Key grants and reports on the ledger's private stream: a sealed record opens on every member,
//! shredding destroys the grant everywhere (and in the stream), a member admitted later is
//! re-granted the keys, reports reach every inbox and a discard reaches every node (one offline
//! too), a replicator restarted on an empty private stream refills it, and a contradicting
//! private stream is reported.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use coalition_core::body::EventKind;
use coalition_core::event::EventId;
use coalition_core::genesis::Genesis;
use coalition_core::seal::{DataKeyId, Identity, SealedRecord, SealedValue};
use coalition_nats::replication::run_replication;
use coalition_nats::{ConnectSettings, JetStream, NatsError, PrivateValue, StreamSpec};
use coalition_node::{Node, RecordContent, ReportForm};
use coalition_store::PrivateSpace;
use serde_json::json;

use crate::fixtures::{ORGS, genesis_with_recipients, key};
use crate::replication::{CONVERGE_DEADLINE, Member, Picture, picture};
use crate::server::NatsServer;

/// Text inside every sealed record: it must never appear in a public output.
const MARKER: &str = "SENSITIVE-DETAIL-7f3a";

async fn jetstream(url: &str) -> JetStream {
    let client = coalition_nats::connect(url, &ConnectSettings::default()).await.expect("connect");
    coalition_nats::jetstream(client, Duration::from_secs(2))
}

/// Starts replicating `node` through `url` under the consumer `node-<name>`.
async fn replicate(node: &Node, url: &str, name: &str) -> tokio::task::JoinHandle<()> {
    let jetstream = jetstream(url).await;
    let spec = StreamSpec::single_server(node.genesis().ledger_id());
    let replicated = node.clone();
    let consumer = format!("node-{name}");
    tokio::spawn(async move {
        let result = run_replication(replicated, jetstream, spec, consumer, std::future::pending()).await;
        assert!(result.is_ok(), "replication stopped: {result:?}");
    })
}

/// A member node of `org` holding `identity`, replicating.
async fn sealing_member(genesis: &Genesis, org: &str, identity: &Identity, url: &str) -> Member {
    let node = Node::open_in_memory(genesis.clone(), Some(key(org))).expect("open node");
    node.set_identity(identity.clone()).expect("identity");
    let task = replicate(&node, url, org).await;
    Member { node, task }
}

/// Waits until every node holds the same feeds and public list, including every event each
/// wrote itself (some members may have written nothing).
async fn converge(members: &[Member]) -> Picture {
    let deadline = Instant::now() + CONVERGE_DEADLINE;
    loop {
        let pictures: Vec<Picture> = members.iter().map(|member| picture(&member.node)).collect();
        let own_held = members.iter().all(|member| {
            let Some(org) = member.node.org() else { return true };
            member.node.heads().get(org).is_none_or(|own| pictures[0].0.get(&org.to_string()) == Some(own))
        });
        if own_held && pictures.iter().all(|candidate| *candidate == pictures[0]) {
            return pictures[0].clone();
        }
        assert!(Instant::now() < deadline, "no convergence in time: {pictures:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `condition` holds, failing with `what` after [`CONVERGE_DEADLINE`].
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + CONVERGE_DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "not in time: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn blocking<T: Send + 'static>(node: &Node, work: impl FnOnce(&Node) -> T + Send + 'static) -> T {
    let node = node.clone();
    tokio::task::spawn_blocking(move || work(&node)).await.expect("blocking task")
}

fn sensitive_sign(case: EventId) -> SealedRecord {
    let mut fields = BTreeMap::new();
    fields.insert("sign".to_owned(), SealedValue::Text("security_service_past".to_owned()));
    fields.insert("details".to_owned(), SealedValue::Text(format!("{MARKER} served 2014-2016")));
    SealedRecord { case: Some(case), fields, kind: EventKind::SignNoted }
}

async fn open_case(node: &Node) -> EventId {
    blocking(node, |node| {
        node.submit(EventKind::CaseOpened, json!({"facts": {"name_uk": "Особа Вигадана", "region": "crimea"}}))
            .expect("case")
            .id
    })
    .await
}

/// The records of `case` on `node` that opened.
fn opened(node: &Node, case: &EventId) -> usize {
    node.case_file(case)
        .map(|file| file.iter().filter(|record| matches!(record.content, RecordContent::Opened(_))).count())
        .unwrap_or(0)
}

fn grant_held(node: &Node, key: &DataKeyId) -> bool {
    node.private_record(PrivateSpace::KeyGrants, &key.to_string()).expect("read").is_some()
}

/// Every note `node` holds, imported into a fresh node without key or identity: every chain
/// verifies when nothing is refused.
fn chains_verify(node: &Node) {
    let mut notes = Vec::new();
    for (org, (seq, _)) in node.heads() {
        for event in node.read_feed(&org, 1, usize::try_from(seq).expect("seq")).expect("feed") {
            notes.push((notes.len() as u64, event.note().to_owned()));
        }
    }
    let fresh = Node::open_in_memory(node.genesis().clone(), None).expect("fresh node");
    let report = fresh.import(notes.clone()).expect("import");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(report.stored as usize, notes.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_records_open_everywhere_shred_everywhere_and_reach_a_member_admitted_later() {
    let server = NatsServer::start();
    let url = server.url();
    let identities: Vec<Identity> = ORGS.iter().map(|_| Identity::generate()).collect();
    let genesis = genesis_with_recipients(&identities);
    let spec = StreamSpec::single_server(genesis.ledger_id());
    let mut members = Vec::new();
    for (org, identity) in ORGS.iter().zip(&identities) {
        members.push(sealing_member(&genesis, org, identity, &url).await);
    }
    // A public mirror: no key, no identity.
    let mirror_node = Node::open_in_memory(genesis.clone(), None).expect("mirror");
    let mirror = Member { task: replicate(&mirror_node, &url, "mirror").await, node: mirror_node };
    let zmina = members[2].node.clone();
    let (shredded_case, kept_case) = (open_case(&zmina).await, open_case(&zmina).await);
    for case in [shredded_case, kept_case] {
        blocking(&zmina, move |node| node.seal_record(sensitive_sign(case)).expect("seal")).await;
    }
    for member in &members {
        eventually("every member opens both records", || {
            opened(&member.node, &shredded_case) == 1 && opened(&member.node, &kept_case) == 1
        })
        .await;
    }
    // The public picture is the same on every member and on the mirror, and holds no clear text.
    let public = converge(&members).await;
    eventually("the mirror holds the same public picture", || picture(&mirror.node) == public).await;
    let list = mirror.node.with_projection(|projection| projection.list_document()).expect("list");
    assert!(!list.contains(MARKER));
    for member in &members {
        assert_eq!(member.node.with_projection(|projection| projection.list_document()).expect("list"), list);
    }

    // zmina shreds one case: the grant goes from every store and from the stream.
    let shredded_key = zmina.case_file(&shredded_case).expect("file")[0].key;
    let kept_key = zmina.case_file(&kept_case).expect("file")[0].key;
    let js = jetstream(&url).await;
    let in_stream = coalition_nats::get_private(&js, &spec, PrivateSpace::KeyGrants, &shredded_key.to_string())
        .await
        .expect("read the private stream");
    assert!(matches!(in_stream, Some((_, PrivateValue::Kept(_)))), "the grant travelled on the private stream");
    blocking(&zmina, move |node| node.shred_case(&shredded_case).expect("shred")).await;
    for member in &members {
        eventually("every member destroys the grant", || !grant_held(&member.node, &shredded_key)).await;
        let file = member.node.case_file(&shredded_case).expect("file");
        assert_eq!(file.len(), 1);
        assert_eq!(file[0].content, RecordContent::Shredded);
        assert_eq!(opened(&member.node, &kept_case), 1, "the other case stays readable");
    }
    converge(&members).await;
    for member in &members {
        chains_verify(&member.node);
    }
    eventually("the mirror has the shredding too", || picture(&mirror.node) == picture(&members[0].node)).await;
    chains_verify(&mirror.node);
    let in_stream = coalition_nats::get_private(&js, &spec, PrivateSpace::KeyGrants, &shredded_key.to_string())
        .await
        .expect("read the private stream");
    assert!(matches!(in_stream, Some((_, PrivateValue::Deleted))), "only a tombstone is left: {in_stream:?}");
    assert!(
        !coalition_nats::get_private(&js, &spec, PrivateSpace::KeyGrants, &kept_key.to_string())
            .await
            .expect("read")
            .is_some_and(|(_, value)| value == PrivateValue::Deleted),
        "the other grant stays"
    );
    // A tombstone for a key the feed has not shredded (any member may publish one) takes no
    // grant away.
    coalition_nats::publish_private_deletion(&js, &spec, PrivateSpace::KeyGrants, &kept_key.to_string())
        .await
        .expect("a forged tombstone");
    tokio::time::sleep(Duration::from_secs(1)).await;
    for member in &members {
        assert!(grant_held(&member.node, &kept_key), "a tombstone alone deleted a grant on {:?}", member.node.org());
        assert_eq!(opened(&member.node, &kept_case), 1);
    }
    // The mirror relays no private record.
    assert!(mirror.node.private_ids(PrivateSpace::KeyGrants, None, 10).expect("ids").is_empty());

    // A new member with a recipient, proposed by zmina and approved by ccl: the members' nodes
    // re-grant the keys they hold to the grown set, and the newcomer opens the old record.
    let newcomer = Identity::generate();
    let proposal = blocking(&zmina, {
        let recipient = newcomer.recipient().to_string();
        move |node| {
            node.submit(
                EventKind::MemberProposed,
                json!({"slug": "newngo", "name": "New NGO", "vkey": key("newngo").verifier_key().to_string(),
                       "recipient": recipient}),
            )
            .expect("proposal")
            .id
        }
    })
    .await;
    let ccl = members[0].node.clone();
    eventually("ccl holds the proposal", || ccl.event(&proposal).ok().flatten().is_some()).await;
    blocking(&ccl, move |node| node.submit(EventKind::MemberApproved, json!({"proposal": proposal})).expect("approve"))
        .await;
    let newngo = sealing_member(&genesis, "newngo", &newcomer, &url).await;
    eventually("the newcomer opens the record made before its admission", || opened(&newngo.node, &kept_case) == 1)
        .await;
    assert_eq!(opened(&newngo.node, &shredded_case), 0, "a shredded key is never re-granted");
    // The re-grant replaced the grant everywhere: the old members still open it, with a copy
    // the newcomer can open too.
    for member in &members {
        assert_eq!(opened(&member.node, &kept_case), 1);
    }
    let held = ccl.private_record(PrivateSpace::KeyGrants, &kept_key.to_string()).expect("read").expect("held");
    assert!(coalition_core::seal::KeyGrant::open(&held, &newcomer).is_ok(), "ccl's copy is the re-grant");
    // New records of the case are sealed to the new set (a new key) and open on the newcomer.
    blocking(&zmina, move |node| node.seal_record(sensitive_sign(kept_case)).expect("seal")).await;
    eventually("the newcomer opens the new record", || opened(&newngo.node, &kept_case) == 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_cannot_open_records_made_after_its_removal() {
    let server = NatsServer::start();
    let url = server.url();
    let identities: Vec<Identity> = ORGS.iter().map(|_| Identity::generate()).collect();
    let genesis = genesis_with_recipients(&identities);
    let mut members = Vec::new();
    for (org, identity) in ORGS.iter().zip(&identities) {
        members.push(sealing_member(&genesis, org, identity, &url).await);
    }
    let (ccl, crimea, zmina) = (members[0].node.clone(), members[1].node.clone(), members[2].node.clone());
    let case = open_case(&zmina).await;
    blocking(&zmina, move |node| node.seal_record(sensitive_sign(case)).expect("seal")).await;
    eventually("crimea-sos opens the first record", || opened(&crimea, &case) == 1).await;
    // ccl and zmina remove crimea-sos.
    let removal = blocking(&ccl, |node| {
        node.submit(EventKind::MemberRemovalProposed, json!({"slug": "crimea-sos"})).expect("removal").id
    })
    .await;
    eventually("zmina holds the removal proposal", || zmina.event(&removal).ok().flatten().is_some()).await;
    blocking(&zmina, move |node| {
        node.submit(EventKind::MemberApproved, json!({"proposal": removal})).expect("approve")
    })
    .await;
    eventually("ccl applies the removal", || ccl.sealing_recipients().map(|set| set.len() == 2).unwrap_or(false)).await;
    blocking(&ccl, move |node| node.seal_record(sensitive_sign(case)).expect("seal after removal")).await;
    eventually("zmina opens both records", || opened(&zmina, &case) == 2).await;
    converge(&members).await;
    let keys: std::collections::BTreeSet<DataKeyId> =
        zmina.case_file(&case).expect("file").iter().map(|record| record.key).collect();
    assert_eq!(keys.len(), 2, "the record after the removal uses a new data key");
    // The removed member received the new grant (it travels to every node) but cannot open it.
    let newest = zmina.case_file(&case).expect("file")[1].key;
    eventually("the new grant reaches crimea-sos's store", || grant_held(&crimea, &newest)).await;
    assert_eq!(opened(&crimea, &case), 1, "only the record from before the removal opens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_reach_every_inbox_and_a_discard_reaches_every_node_even_one_offline() {
    let server = NatsServer::start();
    let url = server.url();
    let identities: Vec<Identity> = ORGS.iter().map(|_| Identity::generate()).collect();
    let genesis = genesis_with_recipients(&identities);
    let spec = StreamSpec::single_server(genesis.ledger_id());
    let mut members = Vec::new();
    for (org, identity) in ORGS.iter().zip(&identities) {
        members.push(sealing_member(&genesis, org, identity, &url).await);
    }
    let form = ReportForm {
        who: "A fictional person".into(),
        place: "Crimea".into(),
        what: "Detained (fictional).".into(),
        contact: String::new(),
        consent: false,
    };
    let ccl = members[0].node.clone();
    let id = blocking(&ccl, move |node| node.submit_report(form).expect("report")).await;
    for member in &members {
        let node = member.node.clone();
        let wanted = id.clone();
        eventually("every inbox holds the report", move || node.sealed_report(&wanted).ok().flatten().is_some()).await;
        assert_eq!(member.node.open_report(&id).expect("open").what, "Detained (fictional).");
    }
    // crimea-sos goes offline; zmina discards the report.
    members[1].task.abort();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let zmina = members[2].node.clone();
    let discarded = id.clone();
    assert!(blocking(&zmina, move |node| node.discard_report(&discarded).expect("discard")).await);
    let (ccl_view, wanted) = (ccl.clone(), id.clone());
    eventually("ccl deletes it", move || ccl_view.sealed_report(&wanted).ok().flatten().is_none()).await;
    let crimea = members[1].node.clone();
    assert!(crimea.sealed_report(&id).expect("read").is_some(), "offline, crimea-sos still holds it");
    let js = jetstream(&url).await;
    let in_stream = coalition_nats::get_private(&js, &spec, PrivateSpace::Reports, &id).await.expect("read");
    assert!(matches!(in_stream, Some((_, PrivateValue::Deleted))), "{in_stream:?}");
    // Back online: its durable consumer brings the tombstone, and its republish at start does
    // not bring the report back.
    let back = replicate(&crimea, &url, "crimea-sos").await;
    let (crimea_view, wanted) = (crimea.clone(), id.clone());
    eventually("crimea-sos deletes it", move || crimea_view.sealed_report(&wanted).ok().flatten().is_none()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for member in &members {
        assert!(member.node.sealed_report(&id).expect("read").is_none());
    }
    let in_stream = coalition_nats::get_private(&js, &spec, PrivateSpace::Reports, &id).await.expect("read");
    assert!(matches!(in_stream, Some((_, PrivateValue::Deleted))), "{in_stream:?}");
    back.abort();
}

/// A plain (not JetStream) subscription to every private subject of the ledger, in place at the
/// server when this returns.
async fn private_messages(js: &JetStream, spec: &StreamSpec) -> coalition_nats::async_nats::Subscriber {
    let client = js.client();
    let subscriber = client.subscribe(spec.private_wildcard()).await.expect("subscribe");
    client.flush().await.expect("flush the subscription");
    subscriber
}

/// Waits until a message on `subject` goes by on `on_wire`, failing at `deadline`.
///
/// Why not poll the private stream at once: the replicator creates that stream, and nats-server
/// 2.9 (the version the tests run against) registers a stream before its storage exists, so a
/// `STREAM.MSG.GET` arriving during the creation dereferences a nil store and the server dies
/// (seen in its stderr: `panic ... jsMsgGetRequest`; the test then failed with "never
/// published"). The replicator publishes only after its creation request was answered, so once
/// its message is seen here the stream is whole and reading it is safe.
async fn wait_for_publication(on_wire: &mut coalition_nats::async_nats::Subscriber, subject: &str, deadline: Instant) {
    use futures::StreamExt;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, on_wire.next()).await {
            Ok(Some(message)) if message.subject.as_str() == subject => return,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the subscription to the private subjects ended"),
            Err(_) => panic!("nothing was published on {subject} in time"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicator_restarted_on_an_empty_private_stream_refills_it() {
    let server = NatsServer::start();
    let url = server.url();
    let identities: Vec<Identity> = ORGS.iter().map(|_| Identity::generate()).collect();
    let genesis = genesis_with_recipients(&identities);
    let spec = StreamSpec::single_server(genesis.ledger_id());
    let js = jetstream(&url).await;
    // Subscribed before the replicator starts: it creates the private stream first.
    let mut on_wire = private_messages(&js, &spec).await;
    let member = sealing_member(&genesis, "zmina", &identities[2], &url).await;
    let case = open_case(&member.node).await;
    blocking(&member.node, move |node| node.seal_record(sensitive_sign(case)).expect("seal")).await;
    let key = member.node.case_file(&case).expect("file")[0].key.to_string();
    let held = member.node.private_record(PrivateSpace::KeyGrants, &key).expect("read").expect("held");
    let subject = spec.private_subject(PrivateSpace::KeyGrants, &key);
    let published = || async { coalition_nats::get_private(&js, &spec, PrivateSpace::KeyGrants, &key).await };
    let deadline = Instant::now() + CONVERGE_DEADLINE;
    wait_for_publication(&mut on_wire, &subject, deadline).await;
    while !matches!(published().await, Ok(Some(_))) {
        assert!(Instant::now() < deadline, "the grant was never published");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    member.task.abort();
    tokio::time::sleep(Duration::from_millis(200)).await;
    js.delete_stream(spec.private_stream_name()).await.expect("an operator deletes the private stream");
    let mut on_wire = private_messages(&js, &spec).await;
    let again = replicate(&member.node, &url, "zmina").await;
    let deadline = Instant::now() + CONVERGE_DEADLINE;
    wait_for_publication(&mut on_wire, &subject, deadline).await;
    loop {
        if let Ok(Some((_, value))) = published().await {
            assert_eq!(value, PrivateValue::Kept(held.clone()), "the store's grant, byte for byte");
            break;
        }
        assert!(Instant::now() < deadline, "the grant was not republished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    again.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contradicting_private_stream_is_reported_field_by_field() {
    let server = NatsServer::start();
    let js = jetstream(&server.url()).await;
    let spec = StreamSpec::single_server(crate::fixtures::genesis().ledger_id());
    let mut config = coalition_nats::private_stream_config(&spec);
    config.max_messages_per_subject = 10;
    js.create_stream(config).await.expect("create");
    match coalition_nats::ensure_private_stream(&js, &spec).await {
        Err(NatsError::StreamMismatch { field, .. }) => assert_eq!(field, "max_msgs_per_subject"),
        other => panic!("expected a mismatch, got {other:?}"),
    }
    js.update_stream(coalition_nats::private_stream_config(&spec)).await.expect("an operator fixes it");
    let info = coalition_nats::ensure_private_stream(&js, &spec).await.expect("now it matches");
    assert_eq!(info.config.max_messages_per_subject, 1);
    // Latest value wins, a tombstone replaces the value, and an absent-only publish never
    // overwrites.
    coalition_nats::publish_private(&js, &spec, PrivateSpace::Reports, "r-1", b"first", false).await.expect("put");
    coalition_nats::publish_private(&js, &spec, PrivateSpace::Reports, "r-1", b"second", false).await.expect("put");
    let refused = coalition_nats::publish_private(&js, &spec, PrivateSpace::Reports, "r-1", b"third", true).await;
    assert!(matches!(refused, Err(NatsError::WrongLastSubjectSequence { .. })), "{refused:?}");
    let value = coalition_nats::get_private(&js, &spec, PrivateSpace::Reports, "r-1").await.expect("get");
    assert_eq!(value.map(|(_, value)| value), Some(PrivateValue::Kept(b"second".to_vec())));
    coalition_nats::publish_private_deletion(&js, &spec, PrivateSpace::Reports, "r-1").await.expect("delete");
    let value = coalition_nats::get_private(&js, &spec, PrivateSpace::Reports, "r-1").await.expect("get");
    assert_eq!(value.map(|(_, value)| value), Some(PrivateValue::Deleted));
    let refused = coalition_nats::publish_private(&js, &spec, PrivateSpace::Reports, "r-1", b"revived", true).await;
    assert!(refused.is_err(), "a deleted record is never revived by a republish");
    let state =
        js.get_stream(spec.private_stream_name()).await.expect("stream").info().await.expect("info").state.messages;
    assert_eq!(state, 1, "one message per subject: the tombstone");
    // Ids the store would refuse never reach a subject.
    for id in ["", "a.b", "*", ">", "UPPER"] {
        let refused = coalition_nats::publish_private(&js, &spec, PrivateSpace::Reports, id, b"x", false).await;
        assert!(matches!(refused, Err(NatsError::Invalid { .. })), "{id:?}: {refused:?}");
    }
    assert_eq!(
        spec.classify_private(&spec.private_subject(PrivateSpace::KeyGrants, "ab12")),
        Some((PrivateSpace::KeyGrants, "ab12".to_owned()))
    );
    assert_eq!(spec.classify_private(&format!("{}.x", spec.private_subject(PrivateSpace::Reports, "r-1"))), None);
}
