//! Convergence: the projection is a function of the set of events. Random concurrent
//! histories delivered in random orders (respecting each feed's order, or not at all) give
//! identical projections and identical list hashes; inserting one at a time with reads in
//! between gives what inserting all at once gives.

use coalition_projector::{InsertOutcome, Projector};
use proptest::prelude::*;

use crate::history::{self, History};
use crate::support::{self, Rng};

fn batch(history: &History, events: &[coalition_core::event::SignedEvent]) -> (String, String) {
    let mut projector = support::project(&history.genesis, events, &[]);
    assert_eq!(projector.waiting_count(), 0, "every parent was delivered, nothing may wait");
    let hash = projector.projection().list_summary().expect("list").hash.to_string();
    (support::state_text(&mut projector), hash)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_delivery_order_gives_the_same_projection(plan in history::plans(60, false), seed in any::<u64>()) {
        let history = history::write(&plan);
        let (expected, expected_hash) = batch(&history, &history.events);
        let mut rng = Rng::new(seed);

        let by_feed = support::interleave_by_feed(&history.events, &mut rng);
        let (state, hash) = batch(&history, &by_feed);
        prop_assert_eq!(&hash, &expected_hash, "feed-ordered delivery: list hash differs");
        prop_assert!(state == expected, "feed-ordered delivery: projection differs");

        let mut shuffled = history.events.clone();
        rng.shuffle(&mut shuffled);
        let (state, hash) = batch(&history, &shuffled);
        prop_assert_eq!(&hash, &expected_hash, "arbitrary delivery: list hash differs");
        prop_assert!(state == expected, "arbitrary delivery: projection differs");

        let mut reversed = history.events.clone();
        reversed.reverse();
        let (state, _) = batch(&history, &reversed);
        prop_assert!(state == expected, "reversed delivery: projection differs");
    }

    #[test]
    fn one_at_a_time_with_reads_equals_all_at_once(plan in history::plans(60, false), seed in any::<u64>()) {
        let history = history::write(&plan);
        let mut rng = Rng::new(seed);
        let delivery = support::interleave_by_feed(&history.events, &mut rng);
        let (expected, _) = batch(&history, &delivery);
        let mut projector = Projector::new(&history.genesis);
        for event in delivery {
            projector.insert(event).expect("insert");
            let projection = projector.projection();
            let _ = projection.list_summary();
            let _ = projection.counts();
        }
        prop_assert!(support::state_text(&mut projector) == expected);
    }

    #[test]
    fn incremental_fast_path_equals_batch(plan in history::plans(60, true)) {
        // Times follow the script, so delivering in script order takes the fast path.
        let history = history::write(&plan);
        let (expected, _) = batch(&history, &history.events);
        let mut projector = Projector::new(&history.genesis);
        let mut applied = 0;
        for event in history.events.iter().cloned() {
            if let InsertOutcome::Applied { .. } = projector.insert(event).expect("insert") {
                applied += 1;
            }
            prop_assert!(!projector.is_stale(), "in-order insertion must not need a re-fold");
            let _ = projector.projection().list_summary();
        }
        prop_assert_eq!(applied, history.events.len());
        prop_assert!(support::state_text(&mut projector) == expected);
    }
}

/// The test author writes feeds that coalition-core's verifier accepts: every founder's event is
/// accepted and only the outsider's are refused, so the histories above are realistic input.
#[test]
fn generated_histories_pass_the_verifier() {
    use coalition_core::verify::{Outcome, Verifier};
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    for _ in 0..16 {
        let plan = history::plans(60, true).new_tree(&mut runner).expect("plan").current();
        let history = history::write(&plan);
        let mut verifier = Verifier::new(&history.genesis);
        let mut outcomes = Vec::new();
        for (tag, event) in history.events.iter().enumerate() {
            outcomes.extend(verifier.push(tag as u64, event.note()));
        }
        outcomes.extend(verifier.finish());
        for outcome in outcomes {
            match outcome {
                Outcome::Accepted { .. } => {}
                Outcome::Rejected { position: Some((org, _)), .. } if history.genesis.member(&org).is_none() => {}
                other => panic!("the verifier refused a founder's event: {other:?}"),
            }
        }
    }
}
