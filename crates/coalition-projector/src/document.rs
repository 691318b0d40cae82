//! The state document: the whole projection as one JSON value, for audits, debugging and
//! comparing two projections (every part is keyed by slug or id and sorted, so two nodes with
//! the same events produce the same document byte for byte once canonicalised).

use serde_json::{Value, json};

use crate::state::{Detention, Edition, Member, Projection, Proposal, ProposalOutcome, ProposedChange};

fn member_json(member: &Member) -> Value {
    json!({
        "slug": member.slug,
        "name": member.name,
        "key": member.key.to_string(),
        "active": member.active,
        "founder": member.founder,
        "admitted_by": member.admitted_by,
        "removed_by": member.removed_by,
    })
}

fn proposal_json(proposal: &Proposal) -> Value {
    let change = match &proposal.change {
        ProposedChange::Admit { slug, name, key, .. } => {
            json!({"admit": {"slug": slug, "name": name, "key": key.to_string()}})
        }
        ProposedChange::Remove { slug } => json!({"remove": {"slug": slug}}),
        ProposedChange::Policy(policy) => json!({"policy": policy}),
    };
    let outcome = match &proposal.outcome {
        ProposalOutcome::Open => json!({"state": "open"}),
        ProposalOutcome::Enacted { by } => json!({"state": "enacted", "by": by}),
        ProposalOutcome::Void { by, reason } => {
            json!({"state": "void", "by": by, "reason": reason.code(), "message": reason.to_string()})
        }
    };
    json!({
        "id": proposal.id,
        "proposer": proposal.proposer,
        "change": change,
        "approvals": proposal.approvals,
        "outcome": outcome,
    })
}

fn edition_json(edition: &Edition) -> Value {
    json!({
        "id": edition.id,
        "proposer": edition.proposer,
        "label": edition.label,
        "frontier": edition.frontier,
        "count": edition.count,
        "root": edition.root,
        "list_hash": edition.list_hash,
        "cosigners": edition.cosigners,
        "official_by": edition.official_by,
    })
}

fn detention_json(detention: Detention) -> Value {
    match detention {
        Detention::Detained => json!({"state": "detained"}),
        Detention::Released { date, circumstances } => {
            json!({"state": "released", "date": date, "circumstances": circumstances})
        }
        Detention::Died { date } => json!({"state": "died", "date": date}),
    }
}

impl Projection {
    /// The whole projection as one JSON value: ledger, policy, members, cases (facts, claims
    /// with reasoning, signs, endorsements, exclusions, detention, status history), proposals,
    /// editions, anomalies, waiting events, the number of events folded and the list summary.
    pub fn to_json(&self) -> Value {
        let cases: Vec<Value> = self
            .cases()
            .map(|case| {
                let claims: Vec<Value> = case
                    .claims()
                    .iter()
                    .map(|claim| {
                        json!({
                            "criterion": claim.criterion,
                            "org": claim.org,
                            "reasoning_uk": claim.reasoning.and_then(|reasoning| reasoning.uk.as_ref()),
                            "reasoning_en": claim.reasoning.and_then(|reasoning| reasoning.en.as_ref()),
                        })
                    })
                    .collect();
                let signs: Vec<Value> =
                    case.signs().iter().map(|(sign, org)| json!({"sign": sign, "org": org})).collect();
                let exclusions: Vec<Value> =
                    case.exclusions().iter().map(|(org, ground)| json!({"org": org, "ground": ground})).collect();
                let history: Vec<Value> = case
                    .history()
                    .iter()
                    .map(|change| json!({"status": change.status, "event": change.event, "date": change.date}))
                    .collect();
                json!({
                    "id": case.id(),
                    "opened_by": case.opened_by(),
                    "facts": case.facts(),
                    "claims": claims,
                    "signs": signs,
                    "endorsements": case.endorsements(),
                    "exclusions": exclusions,
                    "detention": detention_json(case.detention()),
                    "status": case.status(),
                    "history": history,
                    "last_event": case.last_event(),
                })
            })
            .collect();
        let anomalies: Vec<Value> = self
            .anomalies()
            .iter()
            .map(|anomaly| {
                json!({
                    "event": anomaly.event,
                    "org": anomaly.org,
                    "seq": anomaly.seq,
                    "kind": anomaly.kind.as_str(),
                    "reason": anomaly.reason.code(),
                    "message": anomaly.reason.to_string(),
                })
            })
            .collect();
        let waiting: Vec<Value> = self
            .waiting()
            .iter()
            .map(|event| json!({"id": event.id, "org": event.org, "seq": event.seq, "missing": event.missing}))
            .collect();
        let list = match self.list_summary() {
            Ok(summary) => json!({"count": summary.count, "hash": summary.hash}),
            Err(error) => json!({"error": error.to_string()}),
        };
        json!({
            "ledger": self.ledger(),
            "policy": self.policy(),
            "members": self.members().map(member_json).collect::<Vec<_>>(),
            "cases": cases,
            "proposals": self.proposals().map(proposal_json).collect::<Vec<_>>(),
            "editions": self.editions().map(edition_json).collect::<Vec<_>>(),
            "anomalies": anomalies,
            "waiting": waiting,
            "applied": self.applied_events(),
            "last_event": self.last_event(),
            "list": list,
        })
    }
}
