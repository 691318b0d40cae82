//! The public API one call at a time: insertion outcomes and errors, the list document and its
//! hash, status dates, counts and pending work.

use coalition_core::body::{Body, Region};
use coalition_core::canonical::to_canonical_profile;
use coalition_core::event::{Event, EventId, LedgerId, SignedEvent};
use coalition_core::time::Date;
use coalition_projector::{AnomalyReason, InsertError, InsertOutcome, LIST_FORMAT, PreparedEvent, Projector, Status};
use serde_json::json;

use crate::support::{self, Author, Deps, Draft};

fn draft(org: &str, kind: &str, body: serde_json::Value) -> Draft {
    Draft::new(org, support::body(kind, &body))
}

/// alpha opens a case, asserts criterion a, endorses it: listed with listing_quorum 1.
fn listed_case(author: &mut Author, name: &str) -> (EventId, Vec<SignedEvent>) {
    let opened = author.write(draft(
        "alpha",
        "case.opened",
        json!({"facts": {"name_en": name, "region": "crimea", "detention_date": "2023-05-06"}}),
    ));
    let case = opened.id();
    let criterion = author.write(draft("alpha", "criterion.asserted", json!({"case": case, "criterion": "a"})));
    let added = author.write(draft("alpha", "person.added", json!({"case": case})));
    (case, vec![opened, criterion, added])
}

#[test]
fn insertion_outcomes_name_what_happened() {
    let genesis = support::genesis(&["alpha", "bravo"], support::policy(1, 2, 2, 1));
    let mut author = Author::new(&genesis);
    let (case, events) = listed_case(&mut author, "First Person");
    let mut projector = Projector::new(&genesis);

    // The second event alone waits for its prev (the first).
    let outcome = projector.insert(events[1].clone()).expect("insert");
    assert_eq!(outcome, InsertOutcome::Waiting { missing: vec![events[0].id()] });
    assert_eq!(projector.projection().waiting().len(), 1);
    assert_eq!(projector.projection().waiting()[0].missing, vec![events[0].id()]);
    // The first releases it; both sort after everything held, so they are applied at once.
    assert_eq!(projector.insert(events[0].clone()).expect("insert"), InsertOutcome::Applied { released: 1 });
    assert_eq!(projector.insert(events[0].clone()).expect("insert"), InsertOutcome::Duplicate);
    assert_eq!(projector.insert(events[2].clone()).expect("insert"), InsertOutcome::Applied { released: 0 });
    assert!(!projector.is_stale());
    assert_eq!(projector.projection().case(&case).map(|case| case.status()), Some(Status::Listed));

    // An event that sorts before the last one applied, and does not follow it, is deferred to a
    // re-fold. (One that named it as a dep would come last in any order, and be applied at once.)
    let mut early = draft("bravo", "sign.noted", json!({"case": case, "sign": "free_speech"}));
    early.time = Some(support::time_at(-3600));
    early.deps = Deps::These(vec![events[0].id()]);
    let early = author.write(early);
    assert_eq!(projector.insert(early).expect("insert"), InsertOutcome::Deferred { released: 0 });
    assert!(projector.is_stale());
    let projection = projector.projection();
    assert!(projection.waiting().is_empty());
    assert_eq!(projection.applied_events(), 4);
    assert_eq!(projection.case(&case).map(|case| case.standing_signs().len()), Some(1));
}

#[test]
fn refused_insertions_change_nothing() {
    let genesis = support::genesis(&["alpha", "bravo"], support::policy(1, 2, 2, 1));
    let mut author = Author::new(&genesis);
    let (_, events) = listed_case(&mut author, "Someone");
    let mut projector = Projector::new(&genesis);
    let mut foreign = events[0].event().clone();
    foreign.ledger = LedgerId::from_bytes([7; 32]);
    let error = projector.insert_event(events[0].id(), foreign, events[0].key_id()).expect_err("foreign ledger");
    assert!(matches!(error, InsertError::WrongLedger { .. }), "{error}");
    assert_eq!(projector.insert_fork(&support::slug("alpha"), 0), Err(InsertError::ForkSeqZero));
    assert_eq!(projector.event_count(), 0);
}

#[test]
fn forks_exclude_the_feed_from_the_fork_on() {
    let genesis = support::genesis(&["alpha", "bravo"], support::policy(1, 2, 2, 1));
    let mut author = Author::new(&genesis);
    let (case, events) = listed_case(&mut author, "Someone");
    let mut twin = draft("alpha", "person.removed", json!({"case": case}));
    twin.fork_at = Some((3, Some(events[1].id())));
    let twin = author.write(twin);
    let later = author.write(draft("alpha", "case.updated", json!({"case": case, "facts": {"stage": "trial"}})));

    let mut projector = Projector::new(&genesis);
    for event in &events {
        projector.insert(event.clone()).expect("insert");
    }
    assert_eq!(projector.insert(twin).expect("insert"), InsertOutcome::ForkDetected { seq: 3 });
    assert_eq!(projector.insert(later).expect("insert"), InsertOutcome::Excluded { fork_seq: 3 });
    assert_eq!(projector.insert_fork(&support::slug("alpha"), 5), Ok(false), "a later fork changes nothing");
    let projection = projector.projection();
    let case = projection.case(&case).expect("case");
    assert_eq!(case.status(), Status::UnderReview, "the endorsement at seq 3 is excluded");
    let excluded: Vec<u64> = projection
        .anomalies()
        .iter()
        .filter(|anomaly| matches!(anomaly.reason, AnomalyReason::ExcludedByFork { fork_seq: 3 }))
        .map(|anomaly| anomaly.seq)
        .collect();
    assert_eq!(excluded, vec![3, 3, 4]);
}

#[test]
fn the_list_document_is_canonical_json_and_its_hash_is_blake3_of_it() {
    let genesis = support::genesis(&["alpha", "bravo"], support::policy(1, 2, 2, 1));
    let mut author = Author::new(&genesis);
    let (first, mut events) = listed_case(&mut author, "Перша Особа");
    let (second, more) = listed_case(&mut author, "Second \"Quoted\" Person\\");
    events.extend(more);
    events.push(author.write(draft(
        "bravo",
        "person.released",
        json!({"case": second, "date": "2026-02-03", "circumstances": "exchange"}),
    )));
    for sign in ["professional_activity", "pro_ukrainian_position", "free_speech"] {
        events.push(author.write(draft("bravo", "sign.noted", json!({"case": first, "sign": sign}))));
    }
    let mut projector = support::project(&genesis, &events, &[]);
    let projection = projector.projection();

    let document = projection.list_document().expect("document");
    let entries: Vec<serde_json::Value> = projection.list_entries().map(|entry| entry.to_json()).collect();
    assert_eq!(entries.len(), 2);
    let whole = json!({"entries": entries, "format": LIST_FORMAT, "ledger": genesis.ledger_id()});
    assert_eq!(document, to_canonical_profile(&whole).expect("canonical"));
    let summary = projection.list_summary().expect("summary");
    assert_eq!(summary.count, 2);
    assert_eq!(summary.hash.as_bytes(), blake3::hash(document.as_bytes()).as_bytes());

    let released = projection.list_entries().find(|entry| entry.case == second).expect("released entry");
    assert_eq!(released.status, Status::Released);
    assert_eq!(released.status_date, Date::parse("2026-02-03").expect("date"), "a release is dated by its body");
    assert_eq!(released.to_json()["release_circumstances"], "exchange");
    let listed = projection.list_entries().find(|entry| entry.case == first).expect("listed entry");
    assert_eq!(listed.status_date, support::time_at(2 * 60).date(), "a listing is dated by its event");
    assert_eq!(
        listed.to_json()["signs"],
        json!(["free_speech", "pro_ukrainian_position", "professional_activity"]),
        "signs sort by spelling"
    );
    assert_eq!(listed.to_json()["endorsed_by"], json!(["alpha"]));
    assert_eq!(listed.to_json()["criteria"], json!(["a"]));
}

#[test]
fn counts_and_pending_work() {
    let genesis = support::genesis(&["alpha", "bravo", "charlie"], support::policy(2, 2, 2, 1));
    let mut author = Author::new(&genesis);
    let opened = author.write(draft(
        "alpha",
        "case.opened",
        json!({"facts": {"name_en": "A", "region": "kherson", "detention_date": "2022-09-01"}}),
    ));
    let case = opened.id();
    let mut events = vec![
        opened,
        author.write(draft("alpha", "criterion.asserted", json!({"case": case, "criterion": "b"}))),
        author.write(draft("alpha", "person.added", json!({"case": case}))),
    ];
    let proposal = author.write(draft("bravo", "member.removal_proposed", json!({"slug": "charlie"})));
    events.push(proposal.clone());
    let mut edition_body = json!({"label": "2026-01", "frontier": [{"org": "alpha", "seq": 3, "id": events[2].id()}],
                                  "count": 0, "root": "00".repeat(32), "list_hash": "11".repeat(32)});
    edition_body["note_signature"] = json!(support::note_signature(&genesis, "bravo", &edition_body));
    let edition = author.write(draft("bravo", "edition.proposed", edition_body));
    events.push(edition.clone());
    let mut projector = support::project(&genesis, &events, &[]);
    let projection = projector.projection();
    let pending = projection.pending();
    assert_eq!(pending.cases_one_short, vec![case]);
    assert_eq!(pending.open_proposals.iter().map(|proposal| proposal.id).collect::<Vec<_>>(), vec![proposal.id()]);
    assert_eq!(pending.editions_below_quorum.iter().map(|edition| edition.id).collect::<Vec<_>>(), vec![edition.id()]);
    assert_eq!(projection.counts().detained_now, 0);

    // A second endorsement lists the case: the counts follow.
    let mut second = draft("charlie", "person.added", json!({"case": case}));
    second.deps = Deps::These(vec![events[2].id()]);
    projector.insert(author.write(second)).expect("insert");
    let counts = projector.projection().counts().clone();
    assert_eq!(counts.detained_now, 1);
    assert_eq!(counts.in_list, 1);
    assert_eq!(counts.by_region.get(&Some(Region::Kherson)), Some(&1));
    assert_eq!(counts.by_detention_year.get(&Some(2022)), Some(&1));
    assert_eq!(counts.by_status.get(&Status::Listed), Some(&1));
    assert_eq!(counts.by_status.get(&Status::UnderReview), Some(&0));
}

#[test]
fn anomalies_say_what_happened_in_plain_words() {
    let genesis = support::genesis(&["alpha", "bravo"], support::policy(1, 2, 2, 1));
    let mut author = Author::new(&genesis);
    let outsider = author.write(draft("mallory", "case.opened", json!({"facts": {"name_en": "X"}})));
    let mut projector = support::project(&genesis, std::slice::from_ref(&outsider), &[]);
    let projection = projector.projection();
    let anomaly = &projection.anomalies()[0];
    assert_eq!(anomaly.event, outsider.id());
    assert_eq!(anomaly.org.as_str(), "mallory");
    assert_eq!(anomaly.seq, 1);
    assert_eq!(anomaly.reason.to_string(), "the organisation was not a current member at this point");
    assert!(anomaly.to_string().starts_with("mallory #1 (case.opened, "), "{anomaly}");
}

#[test]
fn events_can_be_inserted_from_their_parts() {
    let genesis = support::genesis(&["alpha"], support::policy(1, 1, 1, 1));
    let mut author = Author::new(&genesis);
    let (case, events) = listed_case(&mut author, "Parts");
    let mut projector = Projector::new(&genesis);
    for event in &events {
        let (id, key_id) = (event.id(), event.key_id());
        let content: Event = event.clone().into_event();
        assert!(matches!(content.body, Body::CaseOpened(_) | Body::CriterionAsserted(_) | Body::PersonAdded(_)));
        projector.insert_event(id, content, key_id).expect("insert");
    }
    assert_eq!(projector.projection().case(&case).map(|case| case.status()), Some(Status::Listed));
    assert_eq!(projector.linear_order(), events.iter().map(SignedEvent::id).collect::<Vec<_>>());
}

#[test]
fn prepared_events_project_as_the_events_they_were_made_from() {
    let genesis = support::genesis(&["alpha"], support::policy(1, 1, 1, 1));
    let mut author = Author::new(&genesis);
    let (case, events) = listed_case(&mut author, "Prepared");
    let mut direct = Projector::new(&genesis);
    let mut prepared = Projector::new(&genesis);
    for event in &events {
        direct.insert(event.clone()).expect("insert");
        let compact = PreparedEvent::new(event.id(), event.clone().into_event(), event.key_id());
        assert_eq!(compact.id(), event.id());
        assert_eq!(compact.org(), &event.event().org);
        assert_eq!((compact.seq(), compact.time()), (event.event().seq, event.event().time));
        assert_eq!(compact.edition_frontier(), None);
        prepared.insert_prepared(compact).expect("insert");
    }
    assert_eq!(prepared.projection().case(&case).map(|case| case.status()), Some(Status::Listed));
    assert_eq!(prepared.projection().list_summary(), direct.projection().list_summary());
    assert_eq!(prepared.linear_order(), direct.linear_order());

    let mut foreign = events[0].event().clone();
    foreign.ledger = LedgerId::from_bytes([7; 32]);
    let error = Projector::new(&genesis)
        .insert_prepared(PreparedEvent::new(events[0].id(), foreign, events[0].key_id()))
        .expect_err("foreign ledger");
    assert!(matches!(error, InsertError::WrongLedger { .. }), "{error}");
}

/// Every facts field set, with text that needs escaping or is outside ASCII.
pub fn full_facts() -> serde_json::Value {
    json!({
        "birth_date": "1980-02-29",
        "birth_year": 1980,
        "can_receive_letters": true,
        "case_group": "Група \"Хізб ут-Тахрір\" / Hizb ut-Tahrir",
        "charges": [
            {"article": "205.5", "code": "ru_criminal_code", "note": "участь у \\ терористичній організації", "part": "2"},
            {"article": "20.3.3", "code": "ru_administrative_code"}
        ],
        "citizenship": ["RU", "UA"],
        "detention_date": "2019-03-27",
        "detention_place": "Stroitelnoe, Crimea 🇺🇦",
        "gender": "male",
        "name_en": "Server Example",
        "name_ru": "Сервер Пример",
        "name_uk": "Сервер Приклад",
        "place_of_detention": "SIZO-1, Rostov-on-Don",
        "postal_address": "344022, Rostov-on-Don, ul. Maksima Gorkogo 219",
        "region": "crimea",
        "sentence": {"life": false, "months": 6, "regime": "strict", "text_en": "14 years 6 months", "text_uk": "14 років 6 місяців", "years": 14},
        "stage": "serving_sentence",
        "summary_en": "Line one.\nLine two with a tab\u{2028}separator and é.",
        "summary_uk": "Рядок один.\nРядок два."
    })
}

#[test]
fn entries_are_written_canonically_with_every_fact() {
    let genesis = support::genesis(&["alpha"], support::policy(1, 1, 1, 1));
    let mut author = Author::new(&genesis);
    let opened = author.write(draft("alpha", "case.opened", json!({"facts": full_facts()})));
    let case = opened.id();
    let events = vec![
        opened,
        author.write(draft("alpha", "criterion.asserted", json!({"case": case, "criterion": "e"}))),
        author.write(draft("alpha", "person.added", json!({"case": case}))),
        author.write(draft(
            "alpha",
            "person.released",
            json!({"case": case, "date": "2026-01-05", "circumstances": "pardon"}),
        )),
    ];
    let mut projector = support::project(&genesis, &events, &[]);
    let projection = projector.projection();
    let entry = projection.list_entries().next().expect("one entry");
    assert_eq!(entry.to_json()["facts"], full_facts());
    let text = entry.to_canonical().expect("canonical");
    assert_eq!(text, to_canonical_profile(&entry.to_json()).expect("canonical profile"));
}

#[test]
fn events_that_name_every_head_fold_at_once_even_within_one_second() {
    let genesis = support::genesis(&["alpha", "bravo"], support::policy(1, 2, 2, 1));
    let mut author = Author::new(&genesis);
    let same_second = support::time_at(0);
    let mut events = Vec::new();
    for index in 0..40 {
        // Two writers taking turns in bursts, within one second: ids, not times, order them, so
        // about half of them sort below the greatest (time, id) held when they arrive.
        let org = if (index / 3) % 2 == 0 { "alpha" } else { "bravo" };
        let mut opened = draft(org, "case.opened", json!({"facts": {"name_en": format!("Person {index}")}}));
        opened.time = Some(same_second);
        events.push(author.write(opened));
    }
    let mut live = Projector::new(&genesis);
    for event in &events {
        let outcome = live.insert(event.clone()).expect("insert");
        assert_eq!(outcome, InsertOutcome::Applied { released: 0 });
        assert!(!live.is_stale(), "an event naming every head it follows must not need a re-fold");
    }
    // The same events delivered backwards wait, then re-fold: the same order and state.
    let mut backwards: Vec<SignedEvent> = events.clone();
    backwards.reverse();
    let mut folded = support::project(&genesis, &backwards, &[]);
    assert_eq!(live.linear_order(), folded.linear_order());
    assert_eq!(support::state_text(&mut live), support::state_text(&mut folded));
}
