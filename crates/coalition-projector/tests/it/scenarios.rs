//! Data-driven scenarios: every `tests/data/scenarios/*.json` file at the workspace root is a
//! ledger story (genesis, events, forks) with the expected outcome. Each scenario is also
//! replayed in other delivery orders and one event at a time with reads in between: every run
//! must give the same projection, byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use coalition_core::body::Policy;
use coalition_core::event::{EventId, OrgSlug, SignedEvent};
use coalition_core::time::Timestamp;
use coalition_projector::{Detention, Projector, ProposalOutcome};
use serde::Deserialize;
use serde_json::Value;

use crate::support::{self, Author, Deps, Draft, Rng};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    description: String,
    members: Vec<String>,
    policy: Policy,
    events: Vec<ScenarioEvent>,
    #[serde(default)]
    forks: Vec<ForkSpec>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioEvent {
    #[serde(default)]
    label: Option<String>,
    org: String,
    kind: String,
    body: Value,
    /// Labels of the events to name as deps; absent: the heads of every other feed.
    #[serde(default)]
    deps: Option<Vec<String>>,
    /// Absolute time; absent: one minute after the previous event of the script.
    #[serde(default)]
    time: Option<Timestamp>,
    /// Test key to sign with (`alpha`, `alpha#2`); absent: the feed's current key.
    #[serde(default)]
    key: Option<String>,
    /// Label of an event of the same feed whose seq and prev this one takes: a fork.
    #[serde(default)]
    fork_of: Option<String>,
    /// Written (and usable as a dep) but never delivered to the projector.
    #[serde(default)]
    withhold: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForkSpec {
    org: String,
    seq: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditionExpect {
    official: bool,
    #[serde(default)]
    cosigners: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// Labels of the cases in the joint list (any order).
    #[serde(default)]
    list: Option<Vec<String>>,
    #[serde(default)]
    status: BTreeMap<String, String>,
    #[serde(default)]
    history: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    detention: BTreeMap<String, String>,
    /// Exact facts of a case, as JSON.
    #[serde(default)]
    facts: BTreeMap<String, Value>,
    /// Counted endorsements of a case (current members), sorted.
    #[serde(default)]
    endorsements: BTreeMap<String, Vec<String>>,
    /// Standing criteria of a case.
    #[serde(default)]
    criteria: BTreeMap<String, Vec<String>>,
    /// Current members.
    #[serde(default)]
    members: Option<Vec<String>>,
    #[serde(default)]
    policy: Option<Policy>,
    /// Every anomaly, as [label, reason code] (unlabelled events are `#<index>`).
    #[serde(default)]
    anomalies: Option<Vec<(String, String)>>,
    /// Proposal outcome by label: open, enacted, void.
    #[serde(default)]
    proposals: BTreeMap<String, String>,
    #[serde(default)]
    editions: BTreeMap<String, EditionExpect>,
    /// Labels of the events left waiting.
    #[serde(default)]
    waiting: Option<Vec<String>>,
    /// Labels of the cases one endorsement short.
    #[serde(default)]
    one_short: Option<Vec<String>>,
    /// Count of people detained now.
    #[serde(default)]
    detained_now: Option<usize>,
}

/// A scenario turned into signed events.
struct Built {
    genesis: coalition_core::genesis::Genesis,
    delivered: Vec<SignedEvent>,
    forks: Vec<(OrgSlug, u64)>,
    labels: BTreeMap<String, EventId>,
    names: BTreeMap<EventId, String>,
}

fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/scenarios")
}

fn substitute(value: &Value, labels: &BTreeMap<String, EventId>, author: &Author) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) if text == "@frontier" => Value::Array(
            author
                .heads()
                .into_iter()
                .map(|(org, (seq, id))| serde_json::json!({"org": org, "seq": seq, "id": id}))
                .collect(),
        ),
        Value::String(text) if text.starts_with("@note_signature:") => value.clone(),
        Value::String(text) if text.starts_with("@vkey:") => {
            Value::String(support::signer(&text["@vkey:".len()..]).verifier_key().to_string())
        }
        Value::String(text) if text.starts_with("@digest:") => {
            Value::String(blake3::hash(&text.as_bytes()["@digest:".len()..]).to_hex().to_string())
        }
        Value::String(text) if text.starts_with('@') => {
            let id = labels.get(&text[1..]).ok_or_else(|| format!("unknown label {text}"))?;
            Value::String(id.to_string())
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| substitute(item, labels, author)).collect::<Result<_, _>>()?)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| Ok((key.clone(), substitute(item, labels, author)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Fills an edition body's `note_signature`: absent, the author's current key signs the edition
/// note (of this proposal, or of the proposal a cosignature names); `"@note_signature:KEY"` signs
/// with test key KEY instead (to write a bad signature).
fn sign_edition_note(
    genesis: &coalition_core::genesis::Genesis,
    author: &Author,
    spec: &ScenarioEvent,
    body: &mut Value,
    editions: &BTreeMap<String, Value>,
) -> Result<(), String> {
    let edition = match spec.kind.as_str() {
        "edition.proposed" => body.clone(),
        "edition.cosigned" => {
            let named = spec.body["edition"].as_str().unwrap_or_default().trim_start_matches('@');
            // A cosignature of something that is no edition: sign any edition note; the
            // reference check refuses it first.
            editions.get(named).or_else(|| editions.values().next()).cloned().ok_or("cosigned before any edition")?
        }
        _ => return Ok(()),
    };
    let key_name = match body.get("note_signature").and_then(Value::as_str) {
        Some(text) if text.starts_with("@note_signature:") => text["@note_signature:".len()..].to_owned(),
        Some(_) => return Ok(()),
        None => author.current_key_name(&spec.org, spec.key.as_deref()),
    };
    body["note_signature"] = Value::String(support::note_signature(genesis, &key_name, &edition));
    Ok(())
}

fn build(scenario: &Scenario) -> Result<Built, String> {
    let members: Vec<&str> = scenario.members.iter().map(String::as_str).collect();
    let genesis = support::genesis(&members, scenario.policy);
    let mut author = Author::new(&genesis);
    let mut labels = BTreeMap::new();
    let mut names = BTreeMap::new();
    let mut positions: BTreeMap<String, (u64, Option<EventId>)> = BTreeMap::new();
    let mut delivered = Vec::new();
    let mut editions: BTreeMap<String, Value> = BTreeMap::new();
    for (index, spec) in scenario.events.iter().enumerate() {
        let mut body_json = substitute(&spec.body, &labels, &author)?;
        sign_edition_note(&genesis, &author, spec, &mut body_json, &editions)?;
        if spec.kind == "edition.proposed" {
            editions.insert(spec.label.clone().unwrap_or_default(), body_json.clone());
        }
        let body = support::body(&spec.kind, &body_json);
        let mut draft = Draft::new(&spec.org, body);
        if let Some(deps) = &spec.deps {
            let ids = deps
                .iter()
                .map(|label| labels.get(label.trim_start_matches('@')).copied().ok_or(format!("unknown dep {label}")))
                .collect::<Result<Vec<_>, _>>()?;
            draft.deps = Deps::These(ids);
        }
        draft.time = spec.time;
        draft.key = spec.key.clone();
        if let Some(original) = &spec.fork_of {
            draft.fork_at = Some(*positions.get(original).ok_or(format!("unknown fork_of {original}"))?);
        }
        let prev_head = author.head(&spec.org);
        let event = author.write(draft);
        let name = spec.label.clone().unwrap_or_else(|| format!("#{index}"));
        positions.insert(name.clone(), (event.event().seq, event.event().prev));
        let _ = prev_head;
        labels.insert(name.clone(), event.id());
        names.insert(event.id(), name);
        if !spec.withhold {
            delivered.push(event);
        }
    }
    let forks = scenario.forks.iter().map(|fork| (support::slug(&fork.org), fork.seq)).collect();
    Ok(Built { genesis, delivered, forks, labels, names })
}

fn check(scenario: &Scenario, built: &Built, projector: &mut Projector) -> Vec<String> {
    let mut failures = Vec::new();
    let projection = projector.projection();
    let name_of = |id: &EventId| built.names.get(id).cloned().unwrap_or_else(|| id.short());
    let id_of = |label: &str| built.labels.get(label).copied();
    let expect = &scenario.expect;
    let mut fail = |message: String| failures.push(message);

    if let Some(list) = &expect.list {
        let mut expected: Vec<String> = list.clone();
        expected.sort();
        let mut found: Vec<String> = projection.list_entries().map(|entry| name_of(&entry.case)).collect();
        found.sort();
        if expected != found {
            fail(format!("list: expected {expected:?}, found {found:?}"));
        }
    }
    for (label, status) in &expect.status {
        let found = id_of(label).and_then(|id| projection.case(&id)).map(|case| case.status().as_str().to_owned());
        if found.as_deref() != Some(status.as_str()) {
            fail(format!("status of {label}: expected {status}, found {found:?}"));
        }
    }
    for (label, history) in &expect.history {
        let found: Option<Vec<String>> = id_of(label)
            .and_then(|id| projection.case(&id))
            .map(|case| case.history().iter().map(|change| change.status.as_str().to_owned()).collect());
        if found.as_ref() != Some(history) {
            fail(format!("history of {label}: expected {history:?}, found {found:?}"));
        }
    }
    for (label, detention) in &expect.detention {
        let found = id_of(label).and_then(|id| projection.case(&id)).map(|case| match case.detention() {
            Detention::Detained => "detained",
            Detention::Released { .. } => "released",
            Detention::Died { .. } => "died",
            _ => "other",
        });
        if found != Some(detention.as_str()) {
            fail(format!("detention of {label}: expected {detention}, found {found:?}"));
        }
    }
    for (label, facts) in &expect.facts {
        let found = id_of(label).and_then(|id| projection.case(&id)).map(|case| serde_json::json!(case.facts()));
        if found.as_ref() != Some(facts) {
            fail(format!("facts of {label}: expected {facts}, found {found:?}"));
        }
    }
    for (label, orgs) in &expect.endorsements {
        let found: Option<Vec<String>> = id_of(label)
            .and_then(|id| projection.case(&id))
            .map(|case| case.counted_endorsements().iter().map(|org| org.to_string()).collect());
        if found.as_ref() != Some(orgs) {
            fail(format!("endorsements of {label}: expected {orgs:?}, found {found:?}"));
        }
    }
    for (label, criteria) in &expect.criteria {
        let found: Option<Vec<String>> = id_of(label)
            .and_then(|id| projection.case(&id))
            .map(|case| case.standing_criteria().iter().map(|criterion| criterion.as_str().to_owned()).collect());
        if found.as_ref() != Some(criteria) {
            fail(format!("criteria of {label}: expected {criteria:?}, found {found:?}"));
        }
    }
    if let Some(members) = &expect.members {
        let found: Vec<String> = projection.current_members().map(|member| member.slug.to_string()).collect();
        if &found != members {
            fail(format!("members: expected {members:?}, found {found:?}"));
        }
    }
    if let Some(policy) = &expect.policy
        && projection.policy() != policy
    {
        fail(format!("policy: expected {policy:?}, found {:?}", projection.policy()));
    }
    if let Some(anomalies) = &expect.anomalies {
        let mut expected = anomalies.clone();
        expected.sort();
        let mut found: Vec<(String, String)> = projection
            .anomalies()
            .iter()
            .map(|anomaly| (name_of(&anomaly.event), anomaly.reason.code().to_owned()))
            .collect();
        found.sort();
        if expected != found {
            let messages: Vec<String> = projection.anomalies().iter().map(ToString::to_string).collect();
            fail(format!("anomalies: expected {expected:?}, found {found:?} ({messages:#?})"));
        }
    }
    for (label, outcome) in &expect.proposals {
        let found = id_of(label).and_then(|id| projection.proposal(&id)).map(|proposal| match &proposal.outcome {
            ProposalOutcome::Open => "open",
            ProposalOutcome::Enacted { .. } => "enacted",
            ProposalOutcome::Void { .. } => "void",
            _ => "other",
        });
        if found != Some(outcome.as_str()) {
            fail(format!("proposal {label}: expected {outcome}, found {found:?}"));
        }
    }
    for (label, edition) in &expect.editions {
        let found = id_of(label).and_then(|id| projection.edition(&id));
        match found {
            None => fail(format!("edition {label}: not recorded")),
            Some(found) => {
                if found.official_by.is_some() != edition.official {
                    fail(format!(
                        "edition {label}: expected official {}, found {:?}",
                        edition.official, found.official_by
                    ));
                }
                if let Some(cosigners) = &edition.cosigners {
                    let names: Vec<String> = found.cosigners.iter().map(ToString::to_string).collect();
                    if &names != cosigners {
                        fail(format!("edition {label}: expected cosigners {cosigners:?}, found {names:?}"));
                    }
                }
            }
        }
    }
    if let Some(waiting) = &expect.waiting {
        let mut expected = waiting.clone();
        expected.sort();
        let mut found: Vec<String> = projection.waiting().iter().map(|event| name_of(&event.id)).collect();
        found.sort();
        if expected != found {
            fail(format!("waiting: expected {expected:?}, found {found:?}"));
        }
    }
    if let Some(one_short) = &expect.one_short {
        let mut expected = one_short.clone();
        expected.sort();
        let mut found: Vec<String> = projection.pending().cases_one_short.iter().map(&name_of).collect();
        found.sort();
        if expected != found {
            fail(format!("one endorsement short: expected {expected:?}, found {found:?}"));
        }
    }
    if let Some(detained) = expect.detained_now
        && projection.counts().detained_now != detained
    {
        fail(format!("detained now: expected {detained}, found {}", projection.counts().detained_now));
    }
    failures
}

/// The same events in other orders, forks before or after: every projection must be equal.
fn check_orders(built: &Built, baseline: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let mut orders: Vec<(String, Vec<SignedEvent>, bool)> = Vec::new();
    let mut reversed = built.delivered.clone();
    reversed.reverse();
    orders.push(("reversed, forks first".into(), reversed, true));
    for seed in 1..=4u64 {
        let mut rng = Rng::new(seed * 7919);
        let mut shuffled = built.delivered.clone();
        rng.shuffle(&mut shuffled);
        orders.push((format!("shuffle {seed}"), shuffled, seed % 2 == 0));
        orders.push((
            format!("feed order {seed}"),
            support::interleave_by_feed(&built.delivered, &mut rng),
            seed % 2 == 1,
        ));
    }
    for (name, events, forks_first) in orders {
        let mut projector = Projector::new(&built.genesis);
        if forks_first {
            for (org, seq) in &built.forks {
                projector.insert_fork(org, *seq).expect("fork");
            }
        }
        for event in events {
            projector.insert(event).expect("insert");
        }
        if !forks_first {
            for (org, seq) in &built.forks {
                projector.insert_fork(org, *seq).expect("fork");
            }
        }
        if support::state_text(&mut projector) != baseline {
            failures.push(format!("delivery order '{name}' gives another projection"));
        }
    }
    // One at a time, reading after each insertion.
    let mut projector = Projector::new(&built.genesis);
    for event in &built.delivered {
        projector.insert(event.clone()).expect("insert");
        let _ = projector.projection().list_summary();
    }
    for (org, seq) in &built.forks {
        projector.insert_fork(org, *seq).expect("fork");
    }
    if support::state_text(&mut projector) != baseline {
        failures.push("inserting one at a time with reads gives another projection".into());
    }
    failures
}

#[test]
fn every_scenario_gives_its_expected_projection_in_every_delivery_order() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .expect("scenario directory")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 12, "expected at least 12 scenarios, found {}", paths.len());
    let mut report = Vec::new();
    for path in &paths {
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(path).expect("read scenario");
        let scenario: Scenario = match serde_json::from_str(&text) {
            Ok(scenario) => scenario,
            Err(error) => {
                report.push(format!("{name}: unreadable: {error}"));
                continue;
            }
        };
        let built = match build(&scenario) {
            Ok(built) => built,
            Err(error) => {
                report.push(format!("{name}: {error}"));
                continue;
            }
        };
        let mut projector = support::project(&built.genesis, &built.delivered, &built.forks);
        let mut failures = check(&scenario, &built, &mut projector);
        let baseline = support::state_text(&mut projector);
        failures.extend(check_orders(&built, &baseline));
        for failure in failures {
            report.push(format!("{name} ({}): {failure}", scenario.description));
        }
    }
    assert!(report.is_empty(), "scenario failures:\n{}", report.join("\n"));
}
