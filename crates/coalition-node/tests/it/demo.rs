//! The demo coalition and its history: a complete genesis that says it is fictional, a
//! deterministic history that the verifier accepts whole and the projector applies without a
//! single anomaly, a realistic shape, and NFC text.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Instant;

use coalition_core::body::{Body, EventKind, Facts, Region};
use coalition_core::event::{EventId, OrgSlug, SignedEvent};
use coalition_core::genesis::Genesis;
use coalition_core::keys::{KeyName, SignerKey};
use coalition_core::time::Timestamp;
use coalition_core::verify::{Outcome, Verifier};
use coalition_node::demo::{
    DEMO_CASES_MAX, DEMO_COALITION_NAME, DEMO_HISTORY_DAYS, DEMO_MEMBER_NAME_SUFFIX, DEMO_MEMBERS, DEMO_ORIGIN,
    DEMO_POLICY, DemoError, demo_genesis, demo_history, demo_key_name, transliterate_uk,
};
use coalition_projector::{Detention, Projector, ProposalOutcome, ProposedChange, Status};
use unicode_normalization::is_nfc;

const CREATED: &str = "2024-03-01T00:00:00Z";
const CASES: usize = 300;

fn created() -> Timestamp {
    Timestamp::parse(CREATED).expect("time")
}

/// Fixed test keys for the demo members, in `DEMO_MEMBERS` order.
fn demo_keys(salt: u8) -> Vec<SignerKey> {
    DEMO_MEMBERS
        .iter()
        .enumerate()
        .map(|(index, (slug, _))| {
            SignerKey::from_seed(demo_key_name(slug).expect("key name"), [salt.wrapping_add(index as u8); 32])
        })
        .collect()
}

struct Demo {
    genesis: Genesis,
    events: Vec<SignedEvent>,
}

/// The demo with 300 cases and seed 1, generated once for all the tests that read it.
fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let keys = demo_keys(0x40);
        let genesis = demo_genesis(&keys, created()).expect("genesis");
        let started = Instant::now();
        let events = demo_history(&genesis, &keys, CASES, 1).expect("history");
        eprintln!("demo history: {CASES} cases, {} events in {:?}", events.len(), started.elapsed());
        Demo { genesis, events }
    })
}

fn verify_all(genesis: &Genesis, events: &[SignedEvent]) {
    let mut verifier = Verifier::new(genesis);
    for (tag, event) in events.iter().enumerate() {
        let outcomes = verifier.push(tag as u64, event.note());
        assert_eq!(outcomes.len(), 1, "event {tag} gave {outcomes:?}");
        assert!(matches!(outcomes[0], Outcome::Accepted { .. }), "event {tag} not accepted: {:?}", outcomes[0]);
    }
    assert!(verifier.finish().is_empty(), "nothing may be left waiting");
    assert_eq!(verifier.pending_count(), 0);
}

fn project(genesis: &Genesis, events: &[SignedEvent]) -> Projector {
    let mut projector = Projector::new(genesis);
    for event in events {
        projector.insert(event.clone()).expect("insert");
    }
    projector
}

fn assert_no_anomalies(projector: &mut Projector) {
    let projection = projector.projection();
    let anomalies: Vec<String> = projection.anomalies().iter().map(ToString::to_string).collect();
    assert!(anomalies.is_empty(), "anomalies: {anomalies:#?}");
    assert!(projection.waiting().is_empty(), "waiting: {:?}", projection.waiting());
}

#[test]
fn the_genesis_is_signed_by_all_eight_and_says_it_is_fictional() {
    let genesis = &demo().genesis;
    genesis.require_complete().expect("every founder signed");
    assert_eq!(genesis.signed_by().len(), DEMO_MEMBERS.len());
    let doc = genesis.doc();
    assert_eq!(doc.name, DEMO_COALITION_NAME);
    assert!(doc.name.contains("fictional"), "{}", doc.name);
    assert_eq!(doc.origin, DEMO_ORIGIN);
    assert_eq!(doc.policy, DEMO_POLICY);
    assert_eq!(doc.created, created());
    assert_eq!(doc.members.len(), DEMO_MEMBERS.len());
    for (slug, name) in DEMO_MEMBERS {
        let member = genesis.member(&OrgSlug::parse(slug).expect("slug")).expect("member");
        assert_eq!(member.name, format!("{name}{DEMO_MEMBER_NAME_SUFFIX}"));
        assert!(member.name.ends_with("(demo)"), "{}", member.name);
        assert_eq!(member.vkey.name().as_str(), format!("{DEMO_ORIGIN}/{slug}"));
    }
    // The note round-trips: a node can store and reload it.
    assert_eq!(&Genesis::parse(genesis.note()).expect("reparse"), genesis);
}

#[test]
fn the_history_is_deterministic_and_depends_on_the_seed() {
    let demo = demo();
    let keys = demo_keys(0x40);
    let again = demo_history(&demo.genesis, &keys, CASES, 1).expect("history");
    let notes = |events: &[SignedEvent]| events.iter().map(|event| event.note().to_owned()).collect::<Vec<_>>();
    assert_eq!(notes(&again), notes(&demo.events), "same inputs, same bytes");
    let other = demo_history(&demo.genesis, &keys, CASES, 2).expect("history");
    assert_ne!(notes(&other), notes(&demo.events), "another seed, another history");
}

#[test]
fn the_verifier_accepts_every_event_in_order() {
    let demo = demo();
    assert!(demo.events.len() > 2 * CASES, "a few thousand events, found {}", demo.events.len());
    verify_all(&demo.genesis, &demo.events);
}

#[test]
fn every_feed_chains_every_event_names_the_other_heads_and_time_stays_in_the_window() {
    let demo = demo();
    let start = created().unix_seconds();
    let end = start + DEMO_HISTORY_DAYS * 86_400;
    let mut heads: BTreeMap<OrgSlug, (u64, EventId)> = BTreeMap::new();
    let mut last_time = start;
    for signed in &demo.events {
        let event = signed.event();
        let time = event.time.unix_seconds();
        assert!(time > last_time && time <= end, "time {} out of order or window", event.time);
        last_time = time;
        let (seq, prev) = heads.get(&event.org).map_or((1, None), |(seq, id)| (seq + 1, Some(*id)));
        assert_eq!((event.seq, event.prev), (seq, prev), "feed {} chains", event.org);
        let mut others: Vec<EventId> =
            heads.iter().filter(|(org, _)| **org != event.org).map(|(_, (_, id))| *id).collect();
        others.sort();
        assert_eq!(event.deps, others, "deps are the other feeds' heads");
        heads.insert(event.org.clone(), (event.seq, signed.id()));
    }
    assert!(last_time - start > 365 * 86_400, "the history spans about two years");
    assert_eq!(heads.len(), DEMO_MEMBERS.len(), "every member writes");
}

#[test]
fn the_projection_has_no_anomalies_and_a_realistic_shape() {
    let demo = demo();
    let mut projector = project(&demo.genesis, &demo.events);
    assert_no_anomalies(&mut projector);
    let projection = projector.projection();
    assert_eq!(projection.case_count(), CASES);

    let counts = projection.counts();
    eprintln!("status counts for {CASES} cases, seed 1: {:?}; in list {}", counts.by_status, counts.in_list);
    eprintln!("detained now by region: {:?}", counts.by_region);
    let count = |status: Status| counts.by_status.get(&status).copied().unwrap_or(0);
    let listed = count(Status::Listed);
    assert!(listed * 100 >= CASES * 50 && listed * 100 <= CASES * 90, "listed {listed} of {CASES}");
    assert!(count(Status::Released) >= 1, "someone was released");
    assert!(count(Status::Died) >= 1, "someone died in custody");
    assert!(count(Status::UnderReview) >= 1, "some cases are under review");
    assert!(!projection.pending().cases_one_short.is_empty(), "under review one endorsement short");
    let withdrawn_exclusion = demo.events.iter().any(|event| event.event().kind() == EventKind::ExclusionWithdrawn);
    assert!(count(Status::Excluded) >= 1 || withdrawn_exclusion, "an exclusion stands or was withdrawn");
    assert!(withdrawn_exclusion, "an exclusion was withdrawn");

    let redetained = projection.cases().any(|case| {
        let history = case.history();
        let released_at = history.iter().position(|change| change.status == Status::Released);
        released_at.is_some_and(|at| history[at..].iter().any(|change| change.status == Status::Listed))
            && case.detention() == Detention::Detained
    });
    assert!(redetained, "someone released was detained again");

    let crimea = projection.cases().filter(|case| case.facts().region == Some(Region::Crimea)).count();
    assert!(crimea * 100 >= CASES * 35 && crimea * 100 <= CASES * 65, "about half from Crimea: {crimea}");
    assert!(projection.cases().all(|case| !case.claims().is_empty()), "every case has a criterion asserted");
    assert!(projection.cases().filter(|case| !case.standing_signs().is_empty()).count() > CASES / 2, "signs noted");
    assert!(projection.cases().any(|case| case.facts().sentence.is_some()), "sentences");
    assert!(projection.cases().any(|case| case.facts().postal_address.is_some()), "postal addresses");
    assert!(projection.cases().any(|case| case.facts().case_group.is_some()), "case groups");

    let enacted_policies = projection
        .proposals()
        .filter(|proposal| {
            matches!(proposal.change, ProposedChange::Policy(_))
                && matches!(proposal.outcome, ProposalOutcome::Enacted { .. })
        })
        .count();
    assert_eq!(enacted_policies, 1, "one policy change enacted");
    assert_eq!(projection.policy().edition_quorum, 4, "the enacted policy is in force");

    let kinds: BTreeMap<EventKind, usize> = demo.events.iter().fold(BTreeMap::new(), |mut kinds, event| {
        *kinds.entry(event.event().kind()).or_default() += 1;
        kinds
    });
    eprintln!("events by kind: {kinds:?}");
    for kind in [
        EventKind::CaseUpdated,
        EventKind::CriterionWithdrawn,
        EventKind::PersonRemoved,
        EventKind::PersonDetained,
        EventKind::ExclusionRaised,
        EventKind::PolicyApproved,
    ] {
        assert!(kinds.contains_key(&kind), "some {kind} events");
    }
}

/// Every string in a body, wherever it sits.
fn strings(value: &serde_json::Value, found: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) => found.push(text.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|item| strings(item, found)),
        serde_json::Value::Object(fields) => fields.values().for_each(|item| strings(item, found)),
        _ => {}
    }
}

#[test]
fn every_text_is_nfc_and_every_case_says_it_is_fictional() {
    let demo = demo();
    let mut texts = Vec::new();
    for event in &demo.events {
        strings(&serde_json::to_value(&event.event().body).expect("body json"), &mut texts);
    }
    assert!(texts.len() > demo.events.len());
    for text in &texts {
        assert!(is_nfc(text), "not NFC: {text:?}");
    }
    assert!(is_nfc(demo.genesis.note()));

    for event in &demo.events {
        let Body::CaseOpened(opened) = &event.event().body else {
            continue;
        };
        let Facts { name_uk, name_en, name_ru, summary_uk, summary_en, citizenship, .. } = &opened.facts;
        let (name_uk, name_en, name_ru) = (name_uk.as_deref(), name_en.as_deref(), name_ru.as_deref());
        let name_uk = name_uk.expect("name_uk");
        assert_eq!(name_en, Some(transliterate_uk(name_uk).as_str()), "English is the KMU 2010 transliteration");
        assert_eq!(name_ru.map(|name| name.split(' ').count()), Some(3), "surname, name, patronymic: {name_ru:?}");
        assert!(summary_uk.as_deref().is_some_and(|summary| summary.starts_with("Вигадана справа")));
        assert!(summary_en.as_deref().is_some_and(|summary| summary.starts_with("Fictional case")));
        assert_eq!(citizenship.as_deref(), Some(&["UA".to_owned()][..]));
    }
}

#[test]
fn transliteration_follows_the_national_system() {
    for (ukrainian, latin) in [
        ("Андрій Олійник", "Andrii Oliinyk"),
        ("Згурівка", "Zghurivka"),
        ("Єнакієве", "Yenakiieve"),
        ("Їжакевич", "Yizhakevych"),
        ("Йосипівка", "Yosypivka"),
        ("Юрій", "Yurii"),
        ("Яготин", "Yahotyn"),
        ("Костянтин", "Kostiantyn"),
        ("Знам’янка", "Znamianka"),
        ("Щербухи", "Shcherbukhy"),
        ("Ґалаґан", "Galagan"),
        ("Сєвєродонецьк", "Sievierodonetsk"),
        ("Абдуллаєв", "Abdullaiev"),
        ("Стара Гута", "Stara Huta"),
    ] {
        assert_eq!(transliterate_uk(ukrainian), latin, "{ukrainian}");
    }
}

#[test]
fn small_histories_are_valid_too() {
    let keys = demo_keys(0x40);
    let genesis = demo_genesis(&keys, created()).expect("genesis");
    for (cases, seed) in [(0, 1), (1, 2), (2, 3), (5, 4), (12, 5), (40, 6)] {
        let events = demo_history(&genesis, &keys, cases, seed).expect("history");
        verify_all(&genesis, &events);
        let mut projector = project(&genesis, &events);
        assert_no_anomalies(&mut projector);
        assert_eq!(projector.projection().case_count(), cases);
    }
}

#[test]
fn a_late_genesis_still_gives_a_valid_history() {
    // Detention dates stay before the cases are opened, even when the coalition starts in 2014.
    let keys = demo_keys(0x40);
    let genesis = demo_genesis(&keys, Timestamp::parse("2014-04-15T12:34:56Z").expect("time")).expect("genesis");
    let events = demo_history(&genesis, &keys, 60, 9).expect("history");
    verify_all(&genesis, &events);
    let mut projector = project(&genesis, &events);
    assert_no_anomalies(&mut projector);
    for case in projector.projection().cases() {
        let opened = case.history()[0].date;
        assert!(case.facts().detention_date.is_some_and(|date| date < opened), "detained before the case opened");
    }
}

#[test]
fn wrong_inputs_are_refused_with_a_reason() {
    let keys = demo_keys(0x40);
    assert!(matches!(demo_genesis(&keys[..7], created()), Err(DemoError::KeyCount { expected: 8, found: 7 })));
    let mut renamed = keys.clone();
    renamed[2] = SignerKey::from_seed(KeyName::parse("elsewhere.example/zmina").expect("name"), [9; 32]);
    assert!(matches!(demo_genesis(&renamed, created()), Err(DemoError::KeyName { slug: "zmina", .. })));

    let genesis = demo_genesis(&keys, created()).expect("genesis");
    assert!(matches!(demo_history(&genesis, &keys, DEMO_CASES_MAX + 1, 1), Err(DemoError::TooManyCases { .. })));
    let strangers = demo_keys(0x80);
    assert!(matches!(demo_history(&genesis, &strangers, 3, 1), Err(DemoError::NotDemoGenesis(_))));
    let late = demo_genesis(&keys, Timestamp::parse("2999-06-01T00:00:00Z").expect("time")).expect("genesis");
    assert!(matches!(demo_history(&late, &keys, 3, 1), Err(DemoError::TimeOutOfRange { .. })));
}

#[test]
fn the_demo_sealed_records_are_valid_fictional_and_deterministic() {
    let cases: Vec<EventId> = (0..40u8).map(|index| EventId::of_text(&[index])).collect();
    let records = coalition_node::demo::demo_sealed_records(&cases, 7);
    assert_eq!(records, coalition_node::demo::demo_sealed_records(&cases, 7), "same input, same records");
    let sealed_cases: std::collections::BTreeSet<_> = records.iter().filter_map(|record| record.case).collect();
    assert_eq!(sealed_cases.len(), coalition_node::demo::DEMO_SEALED_CASES_MAX, "capped at the maximum");
    assert!(records.iter().any(|record| record.kind == EventKind::SignNoted), "some carry a sensitive sign");
    for record in &records {
        record.validate().expect("a valid sealed record");
        let text = serde_json::to_string(&record.fields).expect("JSON");
        assert!(text.contains("вигадан") || text.contains(".invalid"), "says it is fictional: {text}");
    }
}
