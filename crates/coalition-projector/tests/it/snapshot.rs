//! Snapshots: a projector decoded from another's snapshot holds the same events, so it serves
//! the same projection and goes on exactly as the original would; damaged bytes are refused with
//! an error, never a panic.

use coalition_projector::Projector;
use coalition_projector::codec::{Decoder, Encoder};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

use crate::history;
use crate::support::{self, Rng};

fn snapshot_of(projector: &Projector) -> Vec<u8> {
    let mut encoder = Encoder::new();
    projector.encode_snapshot(&mut encoder);
    encoder.into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn a_decoded_snapshot_and_the_rest_of_the_events_give_the_same_projection(
        plan in history::plans(60, false),
        seed in any::<u64>(),
        split_per_mille in 0usize..=1000,
    ) {
        let history = history::write(&plan);
        let mut rng = Rng::new(seed);
        // Any delivery order: events may wait for parents when the snapshot is taken.
        let mut delivery = history.events.clone();
        rng.shuffle(&mut delivery);
        let split = delivery.len() * split_per_mille / 1000;
        let mut expected = support::project(&history.genesis, &delivery, &[]);

        let before = support::project(&history.genesis, &delivery[..split], &[]);
        let bytes = snapshot_of(&before);
        let mut decoder = Decoder::new(&bytes);
        let mut restored = Projector::decode_snapshot(&history.genesis, &mut decoder).expect("decode");
        prop_assert!(decoder.is_at_end());
        prop_assert_eq!(restored.event_count(), before.event_count());
        prop_assert_eq!(restored.waiting_count(), before.waiting_count());
        for event in &delivery[split..] {
            restored.insert(event.clone()).expect("insert");
        }
        prop_assert!(support::state_text(&mut restored) == support::state_text(&mut expected));
        prop_assert_eq!(restored.linear_order(), expected.linear_order());
    }
}

#[test]
fn truncated_or_foreign_snapshots_are_refused_without_panicking() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let plan = history::plans(40, true).new_tree(&mut runner).expect("plan").current();
    let history = history::write(&plan);
    let projector = support::project(&history.genesis, &history.events, &[]);
    let bytes = snapshot_of(&projector);
    assert!(!history.events.is_empty());
    for length in (0..bytes.len()).step_by(7) {
        let mut decoder = Decoder::new(&bytes[..length]);
        assert!(Projector::decode_snapshot(&history.genesis, &mut decoder).is_err(), "truncated to {length}");
    }
    let other = support::genesis(&["somebody-else"], support::policy(1, 1, 1, 1));
    let mut decoder = Decoder::new(&bytes);
    assert!(Projector::decode_snapshot(&other, &mut decoder).is_err(), "another ledger's snapshot");
}
