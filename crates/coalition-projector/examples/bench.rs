//! Measures the projector at scale: `cargo run --release -p coalition-projector --example bench
//! [events] [orgs] [cases]` (defaults 1,000,000 events over 8 organisations and 100,000 cases).
//!
//! Events are built in memory, not signed (the projector trusts its caller to have verified
//! them), with ids derived from a counter. Each event names the heads of every other feed as
//! deps, as a live node would. Reported: the rate of a full fold, the time of one incremental
//! insertion at the end of the order, the list hash and counts time, and memory per case and per
//! event.

use std::time::Instant;

use coalition_core::body::{
    Body, CaseOpened, CaseUpdated, Criterion, CriterionAsserted, Facts, PersonAdded, PersonReleased, Policy, Region,
    ReleaseCircumstances, Sign, SignNoted, Stage,
};
use coalition_core::event::{Event, EventId, OrgSlug};
use coalition_core::genesis::{FoundingMember, Genesis, GenesisDoc};
use coalition_core::keys::{KeyName, SignerKey};
use coalition_core::time::{Date, Timestamp};
use coalition_projector::{InsertOutcome, Projector};

const ORIGIN: &str = "coalition.bench";

fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn argument(index: usize, default: usize) -> usize {
    std::env::args().nth(index).and_then(|text| text.parse().ok()).unwrap_or(default)
}

struct Workload {
    genesis: Genesis,
    slugs: Vec<OrgSlug>,
    key_ids: Vec<coalition_core::keys::KeyId>,
    heads: Vec<Option<EventId>>,
    seqs: Vec<u64>,
    cases: Vec<EventId>,
    counter: u64,
    start: i64,
}

impl Workload {
    fn new(orgs: usize) -> Self {
        let signers: Vec<(OrgSlug, SignerKey)> = (0..orgs)
            .map(|index| {
                let slug = OrgSlug::parse(&format!("org-{index:02}")).expect("slug");
                let name = KeyName::parse(&format!("{ORIGIN}/{slug}")).expect("key name");
                let seed = *blake3::hash(slug.as_str().as_bytes()).as_bytes();
                (slug, SignerKey::from_seed(name, seed))
            })
            .collect();
        let members = signers
            .iter()
            .map(|(slug, key)| FoundingMember {
                slug: slug.clone(),
                name: format!("Organisation {slug}"),
                vkey: key.verifier_key(),
                recipient: None,
            })
            .collect();
        let created = Timestamp::parse("2020-01-01T00:00:00Z").expect("time");
        let policy = Policy { listing_quorum: 2, governance_quorum: 5, edition_quorum: 5, exclusion_quorum: 2 };
        let doc = GenesisDoc { name: "Bench".into(), origin: ORIGIN.into(), created, members, policy };
        let genesis = Genesis::parse(&doc.to_note_text().expect("genesis")).expect("genesis");
        Self {
            genesis,
            slugs: signers.iter().map(|(slug, _)| slug.clone()).collect(),
            key_ids: signers.iter().map(|(_, key)| key.key_id()).collect(),
            heads: vec![None; orgs],
            seqs: vec![0; orgs],
            cases: Vec::new(),
            counter: 0,
            start: created.unix_seconds() + 86_400,
        }
    }

    /// The next event of `org` with `body`, one second after the previous event.
    fn next(&mut self, org: usize, body: Body) -> (EventId, Event, coalition_core::keys::KeyId) {
        self.counter += 1;
        let id = EventId::from_bytes(*blake3::hash(&self.counter.to_le_bytes()).as_bytes());
        self.seqs[org] += 1;
        let mut deps: Vec<EventId> =
            self.heads.iter().enumerate().filter(|(other, _)| *other != org).filter_map(|(_, head)| *head).collect();
        deps.sort_unstable();
        let event = Event {
            ledger: self.genesis.ledger_id(),
            org: self.slugs[org].clone(),
            seq: self.seqs[org],
            prev: self.heads[org],
            time: Timestamp::from_unix_seconds(self.start + self.counter as i64).expect("time"),
            deps,
            body,
        };
        self.heads[org] = Some(id);
        (id, event, self.key_ids[org])
    }

    /// A body for the `n`th event: one case opened in ten events, the rest about recent cases.
    fn body(&mut self, n: u64, cases_total: usize, events_total: usize) -> Body {
        let open_every = (events_total / cases_total.max(1)).max(1) as u64;
        if n.is_multiple_of(open_every) || self.cases.is_empty() {
            let facts = Facts {
                name_en: Some(format!("Person {n}")),
                name_uk: Some(format!("Особа {n}")),
                region: Some(Region::ALL[(n % 8) as usize]),
                detention_date: Date::new(2014 + (n % 12) as u16, 1 + (n % 12) as u8, 1 + (n % 28) as u8),
                summary_en: Some("Detained for expressing a pro-Ukrainian position in a social network post.".into()),
                ..Facts::default()
            };
            return Body::CaseOpened(CaseOpened { facts });
        }
        let recent = self.cases.len().min(64);
        let case = self.cases[self.cases.len() - 1 - (n as usize * 7919) % recent];
        match n % 9 {
            0..=2 => Body::PersonAdded(PersonAdded { case }),
            3 | 4 => Body::CriterionAsserted(CriterionAsserted {
                case,
                criterion: Criterion::ALL[(n % 5) as usize],
                reasoning_uk: None,
                reasoning_en: Some("Prosecuted for a peaceful statement.".into()),
            }),
            5 | 6 => Body::CaseUpdated(CaseUpdated {
                case,
                facts: Some(Facts { stage: Some(Stage::ALL[(n % 8) as usize]), ..Facts::default() }),
                clear: None,
            }),
            7 => Body::SignNoted(SignNoted { case, sign: Sign::ALL[(n % 6) as usize] }),
            _ => Body::PersonReleased(PersonReleased {
                case,
                date: Date::new(2025, 1 + (n % 12) as u8, 1).expect("date"),
                circumstances: ReleaseCircumstances::Exchange,
            }),
        }
    }
}

fn main() {
    let events_total = argument(1, 1_000_000);
    let orgs = argument(2, 8);
    let cases_total = argument(3, 100_000);
    println!("workload: {events_total} events, {orgs} organisations, about {cases_total} cases");

    let mut workload = Workload::new(orgs);
    let mut events = Vec::with_capacity(events_total);
    for n in 0..events_total as u64 {
        let body = workload.body(n, cases_total, events_total);
        let opens = matches!(body, Body::CaseOpened(_));
        let org = ((n * 2_654_435_761) % orgs as u64) as usize;
        let event = workload.next(org, body);
        if opens {
            workload.cases.push(event.0);
        }
        events.push(event);
    }
    let rss_before = resident_bytes();

    // Incremental path all the way: every event sorts after the previous one.
    let mut projector = Projector::new(&workload.genesis);
    let started = Instant::now();
    for (id, event, key_id) in events.iter().cloned() {
        projector.insert_event(id, event, key_id).expect("insert");
    }
    let incremental_all = started.elapsed();
    assert!(!projector.is_stale());
    let rss_after = resident_bytes();

    // Incremental insertion of new events at 1,000,000 held.
    let extra = 10_000;
    let mut worst = std::time::Duration::ZERO;
    let mut samples = Vec::with_capacity(extra);
    for n in 0..extra as u64 {
        let body = workload.body(events_total as u64 + n, cases_total, events_total);
        let org = (n % orgs as u64) as usize;
        let (id, event, key_id) = workload.next(org, body);
        let started = Instant::now();
        let outcome = projector.insert_event(id, event, key_id).expect("insert");
        let elapsed = started.elapsed();
        assert_eq!(outcome, InsertOutcome::Applied { released: 0 });
        worst = worst.max(elapsed);
        samples.push(elapsed);
    }
    samples.sort();
    let mean = samples.iter().sum::<std::time::Duration>() / extra as u32;
    let p99 = samples[extra * 99 / 100];

    // A full fold: an event that sorts early makes the projection stale.
    let (id, mut event, key_id) =
        workload.next(0, Body::SignNoted(SignNoted { case: workload.cases[0], sign: Sign::FreeSpeech }));
    event.time = Timestamp::from_unix_seconds(workload.start + 5).expect("time");
    let outcome = projector.insert_event(id, event, key_id).expect("insert");
    assert!(matches!(outcome, InsertOutcome::Deferred { .. }));
    let started = Instant::now();
    let projection = projector.projection();
    let fold = started.elapsed();
    let applied = projection.applied_events();

    let started = Instant::now();
    let summary = projection.list_summary().expect("list").clone();
    let list_time = started.elapsed();
    let started = Instant::now();
    let counts = projection.counts().clone();
    let counts_time = started.elapsed();
    let cases = projection.case_count();
    let case_bytes = projection.approximate_case_bytes();
    let anomalies = projection.anomalies().len();
    let graph_bytes = projector.approximate_graph_bytes();

    println!(
        "insert {events_total} in order (incremental path): {incremental_all:?}, {:.0} events/s",
        events_total as f64 / incremental_all.as_secs_f64()
    );
    println!(
        "incremental insertion at {events_total} held ({extra} samples): mean {mean:?}, p99 {p99:?}, worst {worst:?}"
    );
    println!("full fold of {applied} events: {fold:?}, {:.0} events/s", applied as f64 / fold.as_secs_f64());
    println!("list summary ({} entries, hash {}): {list_time:?}", summary.count, summary.hash);
    println!("counts (detained now {}): {counts_time:?}", counts.detained_now);
    println!("cases {cases}, anomalies {anomalies}");
    println!("state bytes per case (approximate, cases only): {}", case_bytes / cases.max(1));
    println!("graph bytes per event (approximate: events, indices, clocks): {}", graph_bytes / applied.max(1) as usize);
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        println!(
            "resident memory growth while inserting: {} MiB ({} bytes per event)",
            after.saturating_sub(before) / (1 << 20),
            after.saturating_sub(before) / events_total as u64
        );
    }
}
