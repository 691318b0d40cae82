//! Random ledger histories for property tests: several organisations write concurrently, each
//! seeing only the feeds it has synced with, on clocks that disagree, with conflicting updates,
//! references outside the causal past, governance, and the occasional fork.

use coalition_core::event::{EventId, SignedEvent};
use coalition_core::genesis::Genesis;
use proptest::prelude::*;
use serde_json::json;

use crate::support::{self, Author, Deps, Draft};

const ORGS: [&str; 5] = ["alpha", "bravo", "charlie", "delta", "echo"];
const REGIONS: [&str; 8] = ["crimea", "sevastopol", "donetsk", "luhansk", "zaporizhzhia", "kherson", "russia", "other"];
const STAGES: [&str; 4] = ["pre_trial", "trial", "appeal", "serving_sentence"];
const GROUNDS: [&str; 3] = ["war_crimes", "general_crime", "occupation_contribution"];
const SIGNS: [&str; 3] = ["free_speech", "professional_activity", "pro_ukrainian_position"];
const CRITERIA: [&str; 5] = ["a", "b", "c", "d", "e"];
const CIRCUMSTANCES: [&str; 3] = ["exchange", "end_of_term", "pardon"];

/// One step of a history: an organisation maybe syncs with another, then writes one event.
#[derive(Debug, Clone)]
pub struct Step {
    org: usize,
    sync: Option<usize>,
    action: u8,
    a: u8,
    b: u8,
    jitter: i64,
}

/// The shape of a history.
#[derive(Debug, Clone)]
pub struct Plan {
    members: usize,
    listing: u32,
    exclusion: u32,
    steps: Vec<Step>,
    /// Whether event times follow the script order strictly (no jitter).
    ordered_times: bool,
}

/// Plans of `members` founders plus one outsider.
pub fn plans(max_steps: usize, ordered_times: bool) -> impl Strategy<Value = Plan> {
    (3usize..=4, 1u32..=2, 1u32..=2).prop_flat_map(move |(members, listing, exclusion)| {
        // One step in 5 * members + 1 is written by the outsider (not a member).
        let writer =
            (0..=members * 5).prop_map(move |choice| if choice == members * 5 { members } else { choice % members });
        let step = (writer, proptest::option::of(0..=members), 0u8..20, any::<u8>(), any::<u8>(), -120i64..120)
            .prop_map(|(org, sync, action, a, b, jitter)| Step { org, sync, action, a, b, jitter });
        proptest::collection::vec(step, 5..max_steps).prop_map(move |steps| Plan {
            members,
            listing,
            exclusion,
            steps,
            ordered_times,
        })
    })
}

/// A written history.
pub struct History {
    pub genesis: Genesis,
    pub events: Vec<SignedEvent>,
}

struct Sim {
    author: Author,
    /// Ids of each organisation's feed, in seq order (forks not included).
    feeds: Vec<Vec<EventId>>,
    /// seen[org][other]: how many of other's events org has synced.
    seen: Vec<Vec<usize>>,
    /// (case id, org, seq) of every case.opened.
    cases: Vec<(EventId, usize, usize)>,
    /// (proposal id, org, seq, is policy).
    proposals: Vec<(EventId, usize, usize, bool)>,
}

impl Sim {
    fn visible(&self, org: usize, owner: usize, seq: usize) -> bool {
        owner == org || self.seen[org][owner] >= seq
    }

    fn pick_case(&self, org: usize, selector: u8) -> Option<EventId> {
        let visible: Vec<EventId> = self
            .cases
            .iter()
            .filter(|(_, owner, seq)| selector.is_multiple_of(6) || self.visible(org, *owner, *seq))
            .map(|(id, _, _)| *id)
            .collect();
        // Mostly one of the four most recent cases, so that endorsements and criteria meet.
        let recent = visible.len().min(4);
        (!visible.is_empty()).then(|| visible[visible.len() - 1 - usize::from(selector) % recent])
    }

    fn pick_proposal(&self, org: usize, selector: u8, policy: bool) -> Option<EventId> {
        let visible: Vec<EventId> = self
            .proposals
            .iter()
            .filter(|(_, owner, seq, is_policy)| *is_policy == policy && self.visible(org, *owner, *seq))
            .map(|(id, _, _, _)| *id)
            .collect();
        (!visible.is_empty()).then(|| visible[usize::from(selector) % visible.len()])
    }
}

/// Writes and signs the history a plan describes.
pub fn write(plan: &Plan) -> History {
    let orgs = plan.members + 1;
    let founders: Vec<&str> = ORGS[..plan.members].to_vec();
    let policy = support::policy(plan.listing, 2, 2, plan.exclusion);
    let genesis = support::genesis(&founders, policy);
    let mut sim = Sim {
        author: Author::new(&genesis),
        feeds: vec![Vec::new(); orgs],
        seen: vec![vec![0; orgs]; orgs],
        cases: Vec::new(),
        proposals: Vec::new(),
    };
    let mut events = Vec::new();
    for (index, step) in plan.steps.iter().enumerate() {
        let org = step.org;
        if let Some(other) = step.sync.filter(|other| *other != org) {
            sim.seen[org][other] = sim.feeds[other].len();
        }
        let case = sim.pick_case(org, step.a);
        let date = format!("2025-{:02}-{:02}", 1 + step.b % 12, 1 + step.a % 28);
        let (kind, body) = match (step.action, case) {
            (0 | 1, _) | (_, None) => (
                "case.opened",
                json!({"facts": {"name_en": format!("Person {}", step.a), "region": REGIONS[usize::from(step.b) % 8]}}),
            ),
            (3, Some(case)) => (
                "case.updated",
                json!({"case": case, "facts": {"region": REGIONS[usize::from(step.b) % 8], "stage": STAGES[usize::from(step.a) % 4]}}),
            ),
            (4, Some(case)) if step.b % 2 == 0 => ("case.updated", json!({"case": case, "clear": ["region"]})),
            (4, Some(case)) => {
                ("case.updated", json!({"case": case, "facts": {"summary_en": format!("Summary {}", step.b)}}))
            }
            (2 | 5 | 6, Some(case)) => {
                ("criterion.asserted", json!({"case": case, "criterion": CRITERIA[usize::from(step.b) % 5]}))
            }
            (7, Some(case)) => {
                ("criterion.withdrawn", json!({"case": case, "criterion": CRITERIA[usize::from(step.b) % 5]}))
            }
            (8 | 9, Some(case)) => ("person.added", json!({"case": case})),
            (10, Some(case)) => ("person.removed", json!({"case": case})),
            (11, Some(case)) if step.b % 3 == 0 => {
                ("exclusion.raised", json!({"case": case, "ground": GROUNDS[usize::from(step.a) % 3]}))
            }
            (11, Some(case)) => ("exclusion.withdrawn", json!({"case": case})),
            (12, Some(case)) => (
                "person.released",
                json!({"case": case, "date": date, "circumstances": CIRCUMSTANCES[usize::from(step.b) % 3]}),
            ),
            (13, Some(case)) if step.b % 4 == 0 => ("person.died", json!({"case": case, "date": date})),
            (13, Some(case)) => ("person.detained", json!({"case": case, "date": date})),
            (14, Some(case)) => ("sign.noted", json!({"case": case, "sign": SIGNS[usize::from(step.b) % 3]})),
            (15, _) if step.b % 2 == 0 => (
                "policy.proposed",
                json!({"policy": {"listing_quorum": 1 + u32::from(step.a) % 2, "governance_quorum": 2, "edition_quorum": 2, "exclusion_quorum": 1 + u32::from(step.b / 2) % 2}}),
            ),
            (15, _) => match sim.pick_proposal(org, step.a, true) {
                Some(proposal) => ("policy.approved", json!({"proposal": proposal})),
                None => ("person.added", json!({"case": case})),
            },
            (16, _) if step.b % 2 == 0 => {
                ("member.removal_proposed", json!({"slug": ORGS[usize::from(step.a) % plan.members]}))
            }
            (16, _) => match sim.pick_proposal(org, step.a, false) {
                Some(proposal) => ("member.approved", json!({"proposal": proposal})),
                None => ("person.added", json!({"case": case})),
            },
            (_, Some(case)) => ("person.added", json!({"case": case})),
        };
        let deps: Vec<EventId> = (0..orgs)
            .filter(|other| *other != org && sim.seen[org][*other] > 0)
            .map(|other| sim.feeds[other][sim.seen[org][other] - 1])
            .collect();
        let offset = index as i64 * 30 + if plan.ordered_times { 0 } else { step.jitter };
        let mut draft = Draft::new(ORGS[org], support::body(kind, &body));
        draft.deps = Deps::These(deps);
        draft.time = Some(support::time_at(offset.max(0)));
        // Now and then (action 19, one b in four) a second event at the organisation's last seq:
        // a fork.
        let fork = step.action == 19 && step.b % 4 == 0 && !sim.feeds[org].is_empty() && !plan.ordered_times;
        if fork {
            let seq = sim.feeds[org].len();
            let prev = (seq >= 2).then(|| sim.feeds[org][seq - 2]);
            draft.fork_at = Some((seq as u64, prev));
        }
        let event = sim.author.write(draft);
        if !fork {
            sim.feeds[org].push(event.id());
            let seq = sim.feeds[org].len();
            match kind {
                "case.opened" => sim.cases.push((event.id(), org, seq)),
                "policy.proposed" => sim.proposals.push((event.id(), org, seq, true)),
                "member.removal_proposed" => sim.proposals.push((event.id(), org, seq, false)),
                _ => {}
            }
        }
        events.push(event);
    }
    History { genesis, events }
}
