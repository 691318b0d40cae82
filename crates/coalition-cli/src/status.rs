//! `coalition status`: what a running node holds and how its replication is doing, from its
//! public `GET /api/v1/status`.

use std::fmt::Write as _;

use anyhow::{Result, anyhow};
use clap::Args;
use coalition_server::api::StatusBody;
use coalition_server::client::PublicClient;

use crate::Outcome;
use crate::member::{NODE_DEFAULT, NODE_ENV};

/// Characters of an event id shown in the table (the full id is in `--json`).
const SHORT_ID_CHARS: usize = 12;
/// A replicator report older than this is shown as stale (the replicator reports every second).
const STALE_REPORT_SECONDS: i64 = 10;

/// Show a node's feeds and replication: each feed's head, whether the node is connected to NATS,
/// how far behind the stream it is, its unpublished events, quarantined inputs and fork proofs.
///
/// Reads the node's public status page; no token is needed. Exits with 1 when something needs a
/// person's attention (a fork was found, replication is disconnected or has stopped reporting),
/// 0 otherwise.
#[derive(Args)]
#[command(
    after_help = "Example:\n  coalition status --node http://127.0.0.1:8080\n  coalition status --json | jq .replication"
)]
pub struct StatusArgs {
    /// The node [default: $COALITION_NODE, else http://127.0.0.1:8080].
    #[arg(long, value_name = "URL")]
    node: Option<String>,
    /// Print the node's JSON answer instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn status(args: &StatusArgs) -> Result<Outcome> {
    let url = args
        .node
        .clone()
        .or_else(|| std::env::var(NODE_ENV).ok().filter(|value| !value.is_empty()))
        .unwrap_or_else(|| NODE_DEFAULT.to_owned());
    let client = PublicClient::new(&url).map_err(|error| anyhow!("{error} (--node)"))?;
    let status = client.status().map_err(|error| anyhow!("{error}"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX));
    let problems = problems(&status, now);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", describe(&status, now));
        for problem in &problems {
            eprintln!("attention: {problem}");
        }
    }
    Ok(if problems.is_empty() { Outcome::Success } else { Outcome::Findings })
}

/// What needs a person's attention.
fn problems(status: &StatusBody, now_unix_s: i64) -> Vec<String> {
    let mut found = Vec::new();
    if status.fork_proofs > 0 {
        found.push(format!(
            "{} fork proof(s): a member signed two different events at one seq; its feed is frozen",
            status.fork_proofs
        ));
    }
    if let Some(replication) = &status.replication {
        if !replication.connected {
            found.push("replication is not connected to NATS (writes are kept in the outbox)".to_owned());
        } else if now_unix_s - replication.updated_unix_s > STALE_REPORT_SECONDS {
            found.push(format!("the replicator last reported {} seconds ago", now_unix_s - replication.updated_unix_s));
        }
    }
    found
}

/// The status as a table for people.
fn describe(status: &StatusBody, now_unix_s: i64) -> String {
    let mut out = String::new();
    let org = status.org.as_ref().map_or_else(|| "read-only mirror".to_owned(), ToString::to_string);
    let _ = writeln!(out, "node of {org}, ledger {}", status.ledger);
    let _ = writeln!(out, "{:<24} {:>10}  {:<14}", "feed", "head seq", "head id");
    for feed in &status.feeds {
        let id: String = feed.head_id.to_string().chars().take(SHORT_ID_CHARS).collect();
        let frozen = feed.frozen_at.map(|seq| format!("frozen by a fork at seq {seq}")).unwrap_or_default();
        let _ = writeln!(out, "{:<24} {:>10}  {:<14} {frozen}", feed.org.to_string(), feed.head_seq, format!("{id}…"));
    }
    if status.feeds.is_empty() {
        let _ = writeln!(out, "(no feed yet)");
    }
    match &status.replication {
        None => {
            let _ = writeln!(out, "replication: off (the node was started without --nats)");
        }
        Some(replication) => {
            let state = if replication.connected { "connected" } else { "DISCONNECTED" };
            let _ = writeln!(
                out,
                "replication: {state}; stream at {}, applied up to {}, {} message(s) behind; reported {}s ago",
                replication.stream_last_seq,
                replication.applied_stream_seq,
                replication.lag_messages,
                (now_unix_s - replication.updated_unix_s).max(0)
            );
        }
    }
    let _ = writeln!(
        out,
        "outbox: {} unpublished event(s); quarantine: {} input(s); fork proofs: {}",
        status.outbox, status.quarantined, status.fork_proofs
    );
    out
}
