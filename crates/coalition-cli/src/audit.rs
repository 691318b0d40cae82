//! `coalition audit`: the auditor's one command.
//!
//! It reads bundles, or fetches every feed from one or more nodes; compares what the nodes serve
//! (a node that serves another history for a feed than the others is a split view, with both notes
//! as evidence); verifies every event as `coalition verify` does; recomputes the projection and,
//! for every edition, the list at its frontier; and writes a report that a non-engineer can read,
//! or JSON. Nothing here trusts a node: a node is only a source of notes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use coalition_core::body::{Body, Digest, FrontierEntry, Policy};
use coalition_core::event::{EventId, OrgSlug, SignedEvent};
use coalition_core::genesis::Genesis;
use coalition_core::merkle::HASH_BYTES;
use coalition_core::time::Timestamp;
use coalition_core::verify::Tag;
use coalition_projector::{
    EditionEntry, EditionError, EditionList, ListEntry, PreparedEvent, Projection, Projector, ProposalOutcome,
    ProposedChange,
};
use coalition_server::client::PublicClient;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::events::{self, Kept, LineSender, RawLine};
use crate::{Outcome, genesis};

/// Notes asked for per feed page (the server's largest page).
const FEED_PAGE_NOTES: usize = coalition_server::FEED_PAGE_NOTES_MAX;
/// Most notes taken from one node: a hostile node must not make the audit hold unbounded data.
const NODE_NOTES_MAX: u64 = 50_000_000;
/// Most nodes compared in one audit (tags reserve 8 bits for the node).
const NODES_MAX: usize = 255;
/// Notes per verification batch when the notes come from nodes.
const NODE_BATCH_NOTES: usize = 1024;
/// Bits of a node-source tag that hold the note's position among that node's notes.
const NODE_TAG_POSITION_BITS: u32 = 48;
/// Events without effect listed one by one in the human report (all are in the JSON report).
const HUMAN_ANOMALIES_SHOWN: usize = 20;

/// Check a coalition's whole history without trusting any node.
///
/// Reads bundles (`--bundle`) or fetches every feed from nodes (`--node`, several to compare
/// them), verifies every event against the genesis, recomputes the joint list, checks every
/// edition (its frontier exists, its root and count reproduce, its cosignatures reach the
/// quorum), lists every governance change with its approvals, and ends with a verdict.
#[derive(Args)]
#[command(after_help = "Examples:\n  coalition audit --genesis genesis.note --bundle ledger.jsonl\n  \
    coalition audit --genesis genesis.note --node https://a.example --node https://b.example --json --out report.json\n\n\
Exit codes: 0 clean (nothing to report), 1 findings (read the report), 2 could not audit \
(unreadable genesis or bundle, a node that does not answer).")]
pub struct AuditArgs {
    /// The genesis file (signed by every founder): the only thing the audit trusts.
    #[arg(long)]
    genesis: PathBuf,
    /// A bundle file (JSON Lines of signed notes); repeat for several.
    #[arg(long = "bundle", value_name = "FILE", required_unless_present = "nodes", conflicts_with = "nodes")]
    bundles: Vec<PathBuf>,
    /// A node's base URL; repeat to compare what several nodes serve.
    #[arg(long = "node", value_name = "URL")]
    nodes: Vec<String>,
    /// Write the report as JSON.
    #[arg(long)]
    json: bool,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "REPORT")]
    out: Option<PathBuf>,
    /// Threads for signature checks (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Also print the time taken, the rate and the peak memory (on stderr).
    #[arg(long)]
    stats: bool,
}

/// The audit's report: everything it found, for people (`render_human`) and machines (JSON).
#[derive(Serialize)]
struct Report {
    ledger: String,
    coalition: String,
    sources: Vec<String>,
    verdict: &'static str,
    events: u64,
    duplicates: usize,
    feeds: Vec<FeedReport>,
    findings: Vec<Finding>,
    editions: Vec<EditionReport>,
    governance: Vec<GovernanceReport>,
    events_without_effect: Vec<WithoutEffect>,
    list: ListReport,
}

#[derive(Serialize)]
struct FeedReport {
    org: OrgSlug,
    events: u64,
    head_seq: u64,
    head_id: EventId,
    first_time: Option<Timestamp>,
    last_time: Option<Timestamp>,
    forked_at: Option<u64>,
}

#[derive(Serialize)]
struct ListReport {
    entries: usize,
    detained_now: usize,
    hash: Option<String>,
}

/// Something an auditor must look at. Every finding makes the verdict "findings" (exit 1).
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Finding {
    /// A note that does not verify: forged, altered, out of place, for another ledger...
    InvalidEvent {
        source: String,
        org: Option<OrgSlug>,
        seq: Option<u64>,
        id: Option<String>,
        code: String,
        reason: String,
    },
    /// An organisation signed two different events at one seq.
    Fork { org: OrgSlug, seq: u64, first: EventId, second: EventId, first_note: Option<String>, second_note: String },
    /// Nodes serve different notes at one position of a feed.
    SplitView { org: OrgSlug, seq: u64, variants: Vec<SplitVariant> },
    /// A node serves fewer events of a feed than another node does (it lags, or withholds).
    FeedShorter { org: OrgSlug, node: String, served_head: u64, longest_head: u64, longest_node: String },
    /// An event whose author had no right to make it (not a member at its point, or not its key).
    Unauthorised { id: EventId, org: OrgSlug, seq: u64, event_kind: String, code: String, reason: String },
    /// An edition whose frontier names an event nobody can show.
    EditionFrontierMissing { label: String, edition: EventId, org: OrgSlug, seq: u64, named: EventId },
    /// An edition whose root or count does not reproduce from the events at its frontier.
    EditionMismatch {
        label: String,
        edition: EventId,
        stated_count: u64,
        computed_count: u64,
        stated_root: String,
        computed_root: String,
        stated_list_hash: String,
        computed_list_hash: String,
    },
    /// An edition whose list cannot be computed from the events at its frontier.
    EditionUnreproducible { label: String, edition: EventId, reason: String },
    /// An edition still short of its cosignature quorum.
    EditionShortOfQuorum { label: String, edition: EventId, cosigners: Vec<OrgSlug>, quorum: u32 },
}

#[derive(Serialize)]
struct SplitVariant {
    nodes: Vec<String>,
    id: Option<EventId>,
    note: String,
}

#[derive(Serialize)]
struct EditionReport {
    label: String,
    id: EventId,
    proposer: OrgSlug,
    count: u64,
    root: String,
    cosigners: Vec<OrgSlug>,
    official: bool,
    reproduced: Option<bool>,
}

#[derive(Serialize)]
struct GovernanceReport {
    proposal: EventId,
    proposer: OrgSlug,
    change: String,
    approvals: Vec<OrgSlug>,
    outcome: String,
}

#[derive(Serialize)]
struct WithoutEffect {
    id: EventId,
    org: OrgSlug,
    seq: u64,
    event_kind: String,
    code: String,
    reason: String,
}

/// An accepted event as the audit keeps it: in the projector's compact form, without its note
/// text, which it no longer needs.
#[derive(Clone)]
struct KeptEvent {
    event: PreparedEvent,
    frozen: bool,
}

/// What one node served: every feed it has, in seq order.
struct NodeView {
    url: String,
    feeds: BTreeMap<OrgSlug, Vec<String>>,
}

pub fn audit(args: &AuditArgs) -> Result<Outcome> {
    if args.nodes.len() > NODES_MAX {
        bail!("at most {NODES_MAX} nodes can be compared in one audit");
    }
    let started = std::time::Instant::now();
    let genesis = genesis::load_complete(&args.genesis)?;
    let threads = events::default_threads(args.threads);
    let progress = Progress::new();

    let views = fetch_all(&genesis, &args.nodes, &progress)?;
    let mut findings = compare_views(&views);

    let mut kept: Vec<KeptEvent> = Vec::new();
    let mut keep = |item: Kept| {
        let (signed, frozen) = match item {
            Kept::Accepted(signed) => (signed, false),
            Kept::Frozen(signed) => (signed, true),
        };
        let (id, key_id) = (signed.id(), signed.key_id());
        kept.push(KeptEvent { event: PreparedEvent::new(id, signed.into_event(), key_id), frozen });
    };
    let bar = progress.counter("verifying", total_notes(&views));
    let mut tick = |done: u64| bar.set_position(done);
    let report = if views.is_empty() {
        events::verify_lines(
            &genesis,
            |sender| events::read_batches(&args.bundles, sender),
            threads,
            Some(&mut keep),
            &mut tick,
        )?
    } else {
        events::verify_lines(&genesis, |sender| send_node_notes(&views, sender), threads, Some(&mut keep), &mut tick)?
    };
    bar.finish_and_clear();

    for problem in report.problems() {
        findings.push(Finding::InvalidEvent {
            source: describe_source(problem.tag, &args.bundles, &views),
            org: problem.org.clone(),
            seq: problem.seq,
            id: problem.id.clone(),
            code: problem.code.to_owned(),
            reason: problem.reason.clone(),
        });
    }
    let fork_notes = first_notes_of_forks(&report, &args.bundles, &views)?;
    for fork in report.forks() {
        findings.push(Finding::Fork {
            org: fork.org.clone(),
            seq: fork.seq,
            first: fork.first,
            second: fork.second.id(),
            first_note: fork_notes.get(&fork.first).cloned(),
            second_note: fork.second.note().to_owned(),
        });
    }
    let forks: Vec<(OrgSlug, u64)> = report.forks().iter().map(|fork| (fork.org.clone(), fork.seq)).collect();

    let feeds = feed_reports(&report, &kept, &forks);
    let verified_s = started.elapsed().as_secs_f64();
    let bar = progress.counter("projecting and checking editions", 0);
    let (mut projector, edition_results) = replay(&genesis, kept, &forks, threads)?;
    let projection = projector.projection();
    bar.finish_and_clear();
    if args.stats {
        eprintln!("verified_s {verified_s:.3}");
        eprintln!("projected_s {:.3}", started.elapsed().as_secs_f64());
    }

    let events_total: u64 = feeds.iter().map(|feed| feed.events).sum();
    let (editions, edition_findings) = edition_reports(projection, &edition_results);
    findings.extend(edition_findings);
    let mut events_without_effect = Vec::new();
    for anomaly in projection.anomalies() {
        let code = anomaly.reason.code();
        if matches!(code, "not_a_member" | "wrong_key") {
            findings.push(Finding::Unauthorised {
                id: anomaly.event,
                org: anomaly.org.clone(),
                seq: anomaly.seq,
                event_kind: anomaly.kind.as_str().to_owned(),
                code: code.to_owned(),
                reason: anomaly.reason.to_string(),
            });
        } else {
            events_without_effect.push(WithoutEffect {
                id: anomaly.event,
                org: anomaly.org.clone(),
                seq: anomaly.seq,
                event_kind: anomaly.kind.as_str().to_owned(),
                code: code.to_owned(),
                reason: anomaly.reason.to_string(),
            });
        }
    }
    let summary = projection.list_summary().ok();
    let report_document = Report {
        ledger: genesis.ledger_id().to_string(),
        coalition: genesis.doc().name.clone(),
        sources: if views.is_empty() {
            args.bundles.iter().map(|path| path.display().to_string()).collect()
        } else {
            views.iter().map(|view| view.url.clone()).collect()
        },
        verdict: if findings.is_empty() { "clean" } else { "findings" },
        events: events_total,
        duplicates: report.duplicates(),
        feeds,
        findings,
        editions,
        governance: governance_reports(projection),
        events_without_effect,
        list: ListReport {
            entries: projection.counts().in_list,
            detained_now: projection.counts().detained_now,
            hash: summary.map(|summary| summary.hash.to_string()),
        },
    };

    let text =
        if args.json { serde_json::to_string_pretty(&report_document)? + "\n" } else { render_human(&report_document) };
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write the report to {}", path.display()))?;
            eprintln!("report written to {} (verdict: {})", path.display(), report_document.verdict);
        }
        None => print!("{text}"),
    }
    if args.stats {
        let elapsed_s = started.elapsed().as_secs_f64();
        eprintln!("elapsed_s {elapsed_s:.3}");
        eprintln!("rate_events_per_s {:.0}", report_document.events as f64 / elapsed_s.max(1e-9));
        if let Some(peak) = events::peak_rss_kib() {
            eprintln!("peak_rss_kib {peak}");
        }
    }
    Ok(if report_document.findings.is_empty() { Outcome::Success } else { Outcome::Findings })
}

/// Progress on standard error while it is a terminal; nothing otherwise (logs and pipes stay
/// clean).
struct Progress {
    visible: bool,
}

impl Progress {
    fn new() -> Self {
        Self { visible: std::io::stderr().is_terminal() }
    }

    /// A bar over `total` items, or a counter when the total is not known (0).
    fn counter(&self, label: &str, total: u64) -> ProgressBar {
        if !self.visible {
            return ProgressBar::hidden();
        }
        let bar = if total > 0 {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} ({per_sec}, {eta} left)")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        } else {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {pos} ({per_sec})") {
                bar.set_style(style);
            }
            bar
        };
        bar.set_message(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }
}

// --- fetching from nodes ---

fn fetch_all(genesis: &Genesis, urls: &[String], progress: &Progress) -> Result<Vec<NodeView>> {
    urls.iter()
        .map(|url| {
            let bar = progress.counter(&format!("fetching {url}"), 0);
            let view = fetch_node(genesis, url, &bar);
            bar.finish_and_clear();
            view
        })
        .collect()
}

/// Fetches every feed a node serves: the founders' feeds, then the feed of every organisation
/// proposed as a member in what it served, until no new feed appears.
fn fetch_node(genesis: &Genesis, url: &str, bar: &ProgressBar) -> Result<NodeView> {
    let client = PublicClient::new(url).with_context(|| format!("{url} is not a usable node address"))?;
    let mut feeds: BTreeMap<OrgSlug, Vec<String>> = BTreeMap::new();
    let mut to_fetch: BTreeSet<OrgSlug> = genesis.doc().members.iter().map(|member| member.slug.clone()).collect();
    let mut notes_total = 0u64;
    while let Some(org) = to_fetch.pop_first() {
        if feeds.len() >= coalition_projector::limits::ORGANISATIONS_MAX {
            bail!(
                "{url} serves more feeds than a ledger may have ({})",
                coalition_projector::limits::ORGANISATIONS_MAX
            );
        }
        let mut notes = Vec::new();
        let mut from = 1u64;
        loop {
            let page = client
                .feed(&org, from, FEED_PAGE_NOTES)
                .with_context(|| format!("cannot fetch {org}'s feed from {url} (from seq {from})"))?;
            if page.org != org || page.from != from {
                bail!("{url} answered for {} from seq {} when asked for {org} from seq {from}", page.org, page.from);
            }
            if page.notes.len() > FEED_PAGE_NOTES {
                bail!("{url} sent {} notes in a page of at most {FEED_PAGE_NOTES}", page.notes.len());
            }
            notes_total += page.notes.len() as u64;
            if notes_total > NODE_NOTES_MAX {
                bail!("{url} serves more than {NODE_NOTES_MAX} notes; the audit stops here");
            }
            bar.set_position(notes_total);
            for note in &page.notes {
                if let Ok(signed) = SignedEvent::parse(note)
                    && let Body::MemberProposed(proposal) = &signed.event().body
                    && !feeds.contains_key(&proposal.slug)
                    && proposal.slug != org
                {
                    to_fetch.insert(proposal.slug.clone());
                }
            }
            let full = page.notes.len() == FEED_PAGE_NOTES;
            notes.extend(page.notes);
            match page.next {
                Some(next) if full && next == from + FEED_PAGE_NOTES as u64 => from = next,
                _ => break,
            }
        }
        feeds.insert(org, notes);
    }
    Ok(NodeView { url: url.to_owned(), feeds })
}

fn total_notes(views: &[NodeView]) -> u64 {
    views.iter().flat_map(|view| view.feeds.values()).map(|notes| notes.len() as u64).sum()
}

/// Compares the nodes' feeds position by position: the first position where they serve
/// different notes (a split view), and nodes serving fewer events than another.
fn compare_views(views: &[NodeView]) -> Vec<Finding> {
    let mut findings = Vec::new();
    if views.len() < 2 {
        return findings;
    }
    let orgs: BTreeSet<&OrgSlug> = views.iter().flat_map(|view| view.feeds.keys()).collect();
    for org in orgs {
        let served: Vec<(&str, &[String])> = views
            .iter()
            .map(|view| (view.url.as_str(), view.feeds.get(org).map_or(&[][..], |notes| notes.as_slice())))
            .collect();
        let longest =
            served.iter().max_by_key(|(_, notes)| notes.len()).map_or(("", 0), |(url, notes)| (*url, notes.len()));
        for position in 0..longest.1 {
            let mut variants: Vec<SplitVariant> = Vec::new();
            for (url, notes) in &served {
                let Some(note) = notes.get(position) else { continue };
                match variants.iter_mut().find(|variant| variant.note == *note) {
                    Some(variant) => variant.nodes.push((*url).to_owned()),
                    None => variants.push(SplitVariant {
                        nodes: vec![(*url).to_owned()],
                        id: SignedEvent::parse(note).ok().map(|signed| signed.id()),
                        note: note.clone(),
                    }),
                }
            }
            if variants.len() > 1 {
                // After the first divergence everything differs: the first position is the evidence.
                findings.push(Finding::SplitView { org: org.clone(), seq: position as u64 + 1, variants });
                break;
            }
        }
        for (url, notes) in &served {
            if notes.len() < longest.1 {
                findings.push(Finding::FeedShorter {
                    org: org.clone(),
                    node: (*url).to_owned(),
                    served_head: notes.len() as u64,
                    longest_head: longest.1 as u64,
                    longest_node: longest.0.to_owned(),
                });
            }
        }
    }
    findings
}

/// Sends every distinct note the nodes served to the verifier. A tag holds the node's index and
/// the note's position among that node's notes, so a problem names where it came from.
fn send_node_notes(views: &[NodeView], sender: &LineSender) {
    let mut seen: std::collections::HashSet<blake3::Hash> = std::collections::HashSet::new();
    let mut batch: Vec<RawLine> = Vec::with_capacity(NODE_BATCH_NOTES);
    for (node_index, view) in views.iter().enumerate() {
        let notes = view.feeds.values().flatten();
        for (position, note) in notes.enumerate() {
            if !seen.insert(blake3::hash(note.as_bytes())) {
                continue;
            }
            let tag: Tag = ((node_index as u64) << NODE_TAG_POSITION_BITS) | position as u64;
            batch.push((tag, Some(coalition_core::bundle::format_line(note).trim_end().as_bytes().to_vec())));
            if batch.len() == NODE_BATCH_NOTES && sender.send(Ok(std::mem::take(&mut batch))).is_err() {
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = sender.send(Ok(batch));
    }
}

/// Where a problem's note came from, in words.
fn describe_source(tag: Tag, bundles: &[PathBuf], views: &[NodeView]) -> String {
    if views.is_empty() {
        return events::describe_tag(tag, bundles);
    }
    let node_index = (tag >> NODE_TAG_POSITION_BITS) as usize;
    let mut position = (tag & ((1 << NODE_TAG_POSITION_BITS) - 1)) as usize;
    let Some(view) = views.get(node_index) else { return "?".to_owned() };
    for (org, notes) in &view.feeds {
        if position < notes.len() {
            return format!("{} feed {org} note {}", view.url, position + 1);
        }
        position -= notes.len();
    }
    view.url.clone()
}

/// The note of the first event of every fork, found again in the sources (the audit does not keep
/// notes of accepted events).
fn first_notes_of_forks(
    report: &events::BundleReport,
    bundles: &[PathBuf],
    views: &[NodeView],
) -> Result<HashMap<EventId, String>> {
    let wanted: BTreeSet<EventId> = report.forks().iter().map(|fork| fork.first).collect();
    let mut found = HashMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let mut consider = |note: &str| {
        if let Ok(signed) = SignedEvent::parse(note)
            && wanted.contains(&signed.id())
        {
            found.insert(signed.id(), note.to_owned());
        }
    };
    if views.is_empty() {
        for path in bundles {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            for line in text.lines() {
                if let Ok(note) = coalition_core::bundle::parse_line(line) {
                    consider(&note);
                }
            }
        }
    } else {
        views.iter().flat_map(|view| view.feeds.values().flatten()).for_each(|note| consider(note));
    }
    Ok(found)
}

// --- projection and editions ---

/// What the audit found for one edition.
enum EditionResult {
    /// A frontier head is not the event the audit holds at that position.
    FrontierMissing { org: OrgSlug, seq: u64, named: EventId },
    /// The list at the frontier cannot be computed (events below it wait for events beyond it).
    Unreproducible { reason: String },
    /// The list at the frontier, recomputed.
    Computed { count: u64, root: Digest, list_hash: Digest },
}

/// Projects the kept events, stopping on the way at every edition's frontier to recompute the
/// list there. Frontiers are visited in increasing order, so one projector serves them all and
/// the whole history is folded about once; the events are handed to the projector in (time, id)
/// order, so it folds them incrementally. When every frontier covers the one before (monthly
/// editions do), each event is moved into the projector rather than copied, so the audit holds
/// one copy of the history; otherwise a frontier below one already passed starts a new projector
/// from copies. Editions are found in the events themselves (their bodies name their frontiers),
/// so the check does not depend on the projection's view.
fn replay(
    genesis: &Genesis,
    kept: Vec<KeptEvent>,
    forks: &[(OrgSlug, u64)],
    threads: usize,
) -> Result<(Projector, HashMap<EventId, EditionResult>)> {
    // Each feed as (seq, index in `kept`), in seq order: the events stay where they are.
    let mut feeds: BTreeMap<OrgSlug, Vec<(u64, usize)>> = BTreeMap::new();
    for (index, kept_event) in kept.iter().enumerate() {
        feeds.entry(kept_event.event.org().clone()).or_default().push((kept_event.event.seq(), index));
    }
    for events in feeds.values_mut() {
        events.sort_by_key(|(seq, _)| *seq);
    }
    let mut editions: Vec<(EventId, Vec<FrontierEntry>)> = kept
        .iter()
        .filter_map(|kept_event| {
            kept_event.event.edition_frontier().map(|frontier| (kept_event.event.id(), frontier.to_vec()))
        })
        .collect();
    editions.sort_by_key(|(_, frontier)| frontier.iter().map(|head| head.seq).sum::<u64>());

    let mut results = HashMap::new();
    let mut cuts: Vec<(EventId, Vec<FrontierEntry>, BTreeMap<OrgSlug, u64>)> = Vec::new();
    for (edition, frontier) in editions {
        let missing = frontier.iter().find(|head| {
            let named = feeds.get(&head.org).and_then(|events| {
                let first = events.partition_point(|(seq, _)| *seq < head.seq);
                events[first..]
                    .iter()
                    .take_while(|(seq, _)| *seq == head.seq)
                    .map(|(_, index)| &kept[*index])
                    .find(|kept_event| !kept_event.frozen)
            });
            named.is_none_or(|kept_event| kept_event.event.id() != head.id)
        });
        match missing {
            Some(head) => {
                let result = EditionResult::FrontierMissing { org: head.org.clone(), seq: head.seq, named: head.id };
                results.insert(edition, result);
            }
            None => {
                let cut = frontier.iter().map(|head| (head.org.clone(), head.seq)).collect();
                cuts.push((edition, frontier, cut));
            }
        }
    }
    let covers = |later: &BTreeMap<OrgSlug, u64>, earlier: &BTreeMap<OrgSlug, u64>| {
        earlier.iter().all(|(org, seq)| later.get(org).is_some_and(|later_seq| later_seq >= seq))
    };
    let monotone = cuts.windows(2).all(|pair| covers(&pair[1].2, &pair[0].2));

    let mut replayer = Replayer::new(genesis, kept, feeds, forks, monotone);
    let mut written = WrittenEntries::default();
    for (edition, frontier, cut) in cuts {
        replayer.advance_to(|org| cut.get(org).copied().unwrap_or(0))?;
        let events = replayer.included.values().map(|included| *included as u64).sum();
        let result = match edition_list(&frontier, replayer.projector.projection(), events, threads, &mut written)? {
            Ok(computed) => computed,
            Err(error) => EditionResult::Unreproducible { reason: error.to_string() },
        };
        results.insert(edition, result);
    }
    replayer.advance_to(|_| u64::MAX)?;
    Ok((replayer.projector, results))
}

/// What makes a case's list entry what it is, besides the members and the policy: the last event
/// that changed the case and how many status changes it has had. The rules change a case's state
/// only by an event that becomes its `last_event` (`case.opened` and the events on a case), and
/// change its status or history otherwise only when the members or the policy change (which
/// lengthens the history when the status moves): so under the same members and policy, an equal
/// key means an equal entry.
type EntryKey = (EventId, usize);

/// The entries written at the previous edition, kept so that the next one writes only the
/// entries of cases that changed in between (a monthly edition's list is mostly last month's).
#[derive(Default)]
struct WrittenEntries {
    /// The current members and the policy when they were written: any change writes every entry
    /// again (it can change entries whose case did not change).
    members: Vec<OrgSlug>,
    policy: Option<Policy>,
    /// Per entry, in case order: the case, its key, the entry and its leaf hash.
    entries: Vec<(EventId, EntryKey, EditionEntry, [u8; HASH_BYTES])>,
}

/// The list at `frontier` of `projection` (which holds exactly the events at or below it). Entries
/// of cases unchanged since the previous edition (`written`) are taken from it, the others are
/// written on `threads` threads: the fold waits meanwhile, so every core writes. `written` then
/// holds this list's entries. The outer error is an internal one (a thread panicked); the inner
/// one is the edition's.
fn edition_list(
    frontier: &[FrontierEntry],
    projection: &Projection,
    events: u64,
    threads: usize,
    written: &mut WrittenEntries,
) -> Result<Result<EditionResult, EditionError>> {
    let members: Vec<OrgSlug> = projection.current_members().map(|member| member.slug.clone()).collect();
    let policy = *projection.policy();
    let mut previous = std::mem::take(&mut written.entries);
    if written.members != members || written.policy != Some(policy) {
        previous.clear();
    }
    // The cases of the list, in its order (`EditionList::from_written` checks the entries against
    // the same cases).
    let keys: Vec<(EventId, EntryKey)> = projection
        .cases()
        .filter(|case| case.status().is_in_list() && case.status_date().is_some())
        .map(|case| (case.id(), (case.last_event(), case.history().len())))
        .collect();
    let entries: Vec<ListEntry<'_>> = projection.list_entries().collect();
    if entries.len() != keys.len() || entries.iter().zip(&keys).any(|(entry, (case, _))| entry.case != *case) {
        bail!("internal error: the list's entries are not the list's cases");
    }
    // Both lists are in case order: walk them together, taking what did not change.
    let mut reused: Vec<Option<(EditionEntry, [u8; HASH_BYTES])>> = Vec::with_capacity(keys.len());
    let mut old = previous.into_iter().peekable();
    for (case, key) in &keys {
        while old.next_if(|(old_case, ..)| old_case < case).is_some() {}
        reused.push(
            old.next_if(|(old_case, old_key, ..)| old_case == case && old_key == key)
                .map(|(_, _, entry, leaf)| (entry, leaf)),
        );
    }
    drop(old);
    let changed: Vec<&ListEntry<'_>> =
        entries.iter().zip(&reused).filter(|(_, reused)| reused.is_none()).map(|(entry, _)| entry).collect();
    let chunk_len = changed.len().div_ceil(threads.max(1)).max(1);
    let parts: Vec<std::thread::Result<Result<Vec<_>, EditionError>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = changed
            .chunks(chunk_len)
            .map(|chunk| scope.spawn(move || chunk.iter().map(|entry| EditionEntry::write(entry)).collect()))
            .collect();
        workers.into_iter().map(|worker| worker.join()).collect()
    });
    let mut fresh = Vec::with_capacity(changed.len());
    for part in parts {
        match part {
            Ok(Ok(part)) => fresh.extend(part),
            Ok(Err(error)) => return Ok(Err(error)),
            Err(_) => bail!("internal error: a thread writing an edition's list panicked"),
        }
    }
    let mut fresh = fresh.into_iter();
    let mut all = Vec::with_capacity(keys.len());
    for reused in reused {
        match reused.or_else(|| fresh.next()) {
            Some(entry) => all.push(entry),
            None => bail!("internal error: an entry of an edition's list was not written"),
        }
    }
    let list = match EditionList::from_written(frontier, projection, all, events) {
        Ok(list) => list,
        Err(error) => return Ok(Err(error)),
    };
    let computed = EditionResult::Computed { count: list.count(), root: list.root, list_hash: list.list_hash };
    written.members = members;
    written.policy = Some(policy);
    written.entries = keys
        .into_iter()
        .zip(list.entries.into_iter().zip(list.leaf_hashes))
        .map(|((case, key), (entry, leaf))| (case, key, entry, leaf))
        .collect();
    Ok(Ok(computed))
}

/// A projector over a growing prefix of every feed.
struct Replayer<'a> {
    genesis: &'a Genesis,
    /// Every kept event; `None` once moved into the projector.
    events: Vec<Option<KeptEvent>>,
    /// Each feed as (seq, index in `events`), in seq order.
    feeds: BTreeMap<OrgSlug, Vec<(u64, usize)>>,
    forks: &'a [(OrgSlug, u64)],
    /// Whether prefixes only grow, so events can be moved into the projector.
    move_events: bool,
    projector: Projector,
    /// Per feed, how many of its events are in the projector (a prefix).
    included: BTreeMap<OrgSlug, usize>,
    /// Forks already recorded, by index in `forks`.
    forks_recorded: Vec<bool>,
}

impl<'a> Replayer<'a> {
    fn new(
        genesis: &'a Genesis,
        events: Vec<KeptEvent>,
        feeds: BTreeMap<OrgSlug, Vec<(u64, usize)>>,
        forks: &'a [(OrgSlug, u64)],
        move_events: bool,
    ) -> Self {
        Self {
            genesis,
            events: events.into_iter().map(Some).collect(),
            feeds,
            forks,
            move_events,
            projector: Projector::new(genesis),
            included: BTreeMap::new(),
            forks_recorded: vec![false; forks.len()],
        }
    }

    /// Makes the projector hold exactly the events with seq up to `head_of(org)` of each feed.
    fn advance_to(&mut self, head_of: impl Fn(&OrgSlug) -> u64) -> Result<()> {
        let targets: Vec<(OrgSlug, usize)> = self
            .feeds
            .iter()
            .map(|(org, events)| {
                let head = head_of(org);
                (org.clone(), events.partition_point(|(seq, _)| *seq <= head))
            })
            .collect();
        let behind = targets.iter().any(|(org, target)| self.included.get(org).copied().unwrap_or(0) > *target)
            || self
                .forks
                .iter()
                .zip(&self.forks_recorded)
                .any(|((org, seq), recorded)| *recorded && *seq > head_of(org));
        if behind {
            if self.move_events {
                bail!("internal error: an edition's frontier is below one already passed");
            }
            self.projector = Projector::new(self.genesis);
            self.included.clear();
            self.forks_recorded.iter_mut().for_each(|recorded| *recorded = false);
        }
        for (index, (org, seq)) in self.forks.iter().enumerate() {
            if !self.forks_recorded[index] && *seq <= head_of(org) {
                self.projector.insert_fork(org, *seq).context("recording a fork")?;
                self.forks_recorded[index] = true;
            }
        }
        let mut batch: Vec<(Timestamp, EventId, usize)> = Vec::new();
        for (org, target) in targets {
            let done = self.included.entry(org.clone()).or_insert(0);
            let Some(events) = self.feeds.get(&org) else { continue };
            for (_, index) in &events[*done..target] {
                let Some(kept_event) = &self.events[*index] else {
                    bail!("internal error: an event was replayed twice")
                };
                batch.push((kept_event.event.time(), kept_event.event.id(), *index));
            }
            *done = target;
        }
        // In (time, id) order the projector folds each event onto what it holds, without re-folding.
        batch.sort_unstable_by_key(|(time, id, _)| (*time, *id));
        for (_, id, index) in batch {
            let kept_event = if self.move_events { self.events[index].take() } else { self.events[index].clone() };
            let Some(kept_event) = kept_event else { bail!("internal error: an event was replayed twice") };
            self.projector.insert_prepared(kept_event.event).with_context(|| format!("projecting event {id}"))?;
        }
        Ok(())
    }
}

fn edition_reports(
    projection: &Projection,
    results: &HashMap<EventId, EditionResult>,
) -> (Vec<EditionReport>, Vec<Finding>) {
    let quorum = projection.policy().edition_quorum;
    let mut reports = Vec::new();
    let mut findings = Vec::new();
    for edition in projection.editions() {
        let reproduced = match results.get(&edition.id) {
            Some(EditionResult::FrontierMissing { org, seq, named }) => {
                findings.push(Finding::EditionFrontierMissing {
                    label: edition.label.clone(),
                    edition: edition.id,
                    org: org.clone(),
                    seq: *seq,
                    named: *named,
                });
                Some(false)
            }
            Some(EditionResult::Unreproducible { reason }) => {
                findings.push(Finding::EditionUnreproducible {
                    label: edition.label.clone(),
                    edition: edition.id,
                    reason: reason.clone(),
                });
                Some(false)
            }
            Some(EditionResult::Computed { count, root, list_hash }) => {
                let same = *count == edition.count && *root == edition.root && *list_hash == edition.list_hash;
                if !same {
                    findings.push(Finding::EditionMismatch {
                        label: edition.label.clone(),
                        edition: edition.id,
                        stated_count: edition.count,
                        computed_count: *count,
                        stated_root: edition.root.to_string(),
                        computed_root: root.to_string(),
                        stated_list_hash: edition.list_hash.to_string(),
                        computed_list_hash: list_hash.to_string(),
                    });
                }
                Some(same)
            }
            None => None,
        };
        let official = edition.official_by.is_some();
        if !official {
            findings.push(Finding::EditionShortOfQuorum {
                label: edition.label.clone(),
                edition: edition.id,
                cosigners: edition.cosigners.clone(),
                quorum,
            });
        }
        reports.push(EditionReport {
            label: edition.label.clone(),
            id: edition.id,
            proposer: edition.proposer.clone(),
            count: edition.count,
            root: edition.root.to_string(),
            cosigners: edition.cosigners.clone(),
            official,
            reproduced,
        });
    }
    (reports, findings)
}

fn governance_reports(projection: &Projection) -> Vec<GovernanceReport> {
    projection
        .proposals()
        .map(|proposal| GovernanceReport {
            proposal: proposal.id,
            proposer: proposal.proposer.clone(),
            change: match &proposal.change {
                ProposedChange::Admit { slug, name, .. } => format!("admit {slug} ({name})"),
                ProposedChange::Remove { slug } => format!("remove {slug}"),
                ProposedChange::Policy(policy) => {
                    let quorums: Vec<String> =
                        policy.quorums().iter().map(|(name, value)| format!("{name} {value}")).collect();
                    format!("set the quorums: {}", quorums.join(", "))
                }
                other => format!("{other:?}"),
            },
            approvals: proposal.approvals.clone(),
            outcome: match &proposal.outcome {
                ProposalOutcome::Open => "open".to_owned(),
                ProposalOutcome::Enacted { by } => format!("enacted by {}", by.short()),
                ProposalOutcome::Void { by, reason } => format!("void at {}: {reason}", by.short()),
                other => format!("{other:?}"),
            },
        })
        .collect()
}

fn feed_reports(report: &events::BundleReport, kept: &[KeptEvent], forks: &[(OrgSlug, u64)]) -> Vec<FeedReport> {
    let mut times: BTreeMap<&OrgSlug, (u64, Timestamp, Timestamp)> = BTreeMap::new();
    for kept_event in kept.iter().filter(|kept| !kept.frozen) {
        let time = kept_event.event.time();
        times
            .entry(kept_event.event.org())
            .and_modify(|(count, first, last)| {
                *count += 1;
                *first = (*first).min(time);
                *last = (*last).max(time);
            })
            .or_insert((1, time, time));
    }
    report
        .verifier
        .heads()
        .into_iter()
        .map(|(org, (head_seq, head_id))| {
            let summary = times.get(&org);
            FeedReport {
                events: summary.map_or(0, |(count, _, _)| *count),
                first_time: summary.map(|(_, first, _)| *first),
                last_time: summary.map(|(_, _, last)| *last),
                forked_at: forks.iter().filter(|(fork_org, _)| *fork_org == org).map(|(_, seq)| *seq).min(),
                org,
                head_seq,
                head_id,
            }
        })
        .collect()
}

// --- the human report ---

fn render_human(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Audit of {:?} (ledger {})", report.coalition, report.ledger);
    let _ = writeln!(out, "Sources: {}", report.sources.join(", "));
    if report.findings.is_empty() {
        let _ = writeln!(
            out,
            "Verdict: CLEAN. Every event verifies, no feed forks, every edition reproduces and is official.\n"
        );
    } else {
        let _ = writeln!(out, "Verdict: {} FINDING(S). Each is explained below.\n", report.findings.len());
    }
    let _ = writeln!(
        out,
        "Feeds ({}; {} valid events, {} duplicates skipped):",
        report.feeds.len(),
        report.events,
        report.duplicates
    );
    let _ = writeln!(
        out,
        "  {:<20} {:>8} {:>9}  {:<18} {:<22} {:<22}",
        "organisation", "events", "head seq", "head id", "first event", "last event"
    );
    for feed in &report.feeds {
        let time = |time: Option<Timestamp>| time.map_or_else(|| "-".to_owned(), |time| time.to_string());
        let _ = writeln!(
            out,
            "  {:<20} {:>8} {:>9}  {:<18} {:<22} {:<22}{}",
            feed.org.as_str(),
            feed.events,
            feed.head_seq,
            feed.head_id.short(),
            time(feed.first_time),
            time(feed.last_time),
            feed.forked_at.map_or_else(String::new, |seq| format!("  FORKED at seq {seq}"))
        );
    }
    if !report.findings.is_empty() {
        let _ = writeln!(out, "\nFindings:");
        for (number, finding) in report.findings.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", number + 1, describe_finding(finding));
        }
        let _ = writeln!(out, "  (The JSON report, --json, carries the evidence: the conflicting notes in full.)");
    }
    let _ = writeln!(out, "\nEditions ({}):", report.editions.len());
    for edition in &report.editions {
        let reproduced = match edition.reproduced {
            Some(true) => "root reproduced",
            Some(false) => "ROOT DOES NOT REPRODUCE",
            None => "not checked",
        };
        let _ = writeln!(
            out,
            "  {}  {}  {} entries  cosigned by {}  {}",
            edition.label,
            if edition.official { "official" } else { "NOT official" },
            edition.count,
            edition.cosigners.iter().map(OrgSlug::as_str).collect::<Vec<_>>().join(", "),
            reproduced
        );
    }
    let _ = writeln!(out, "\nGovernance ({} proposals):", report.governance.len());
    for proposal in &report.governance {
        let _ = writeln!(
            out,
            "  {} by {}: {} (approved by {}; {})",
            proposal.proposal.short(),
            proposal.proposer.as_str(),
            proposal.change,
            proposal.approvals.iter().map(OrgSlug::as_str).collect::<Vec<_>>().join(", "),
            proposal.outcome
        );
    }
    let _ = writeln!(
        out,
        "\nEvents without effect: {} (valid and signed, but the rules gave them no effect; not a finding by itself)",
        report.events_without_effect.len()
    );
    for item in report.events_without_effect.iter().take(HUMAN_ANOMALIES_SHOWN) {
        let _ = writeln!(
            out,
            "  {} seq {} ({}, {}): {}",
            item.org.as_str(),
            item.seq,
            item.event_kind,
            item.id.short(),
            item.reason
        );
    }
    if report.events_without_effect.len() > HUMAN_ANOMALIES_SHOWN {
        let _ = writeln!(
            out,
            "  ... and {} more in the JSON report",
            report.events_without_effect.len() - HUMAN_ANOMALIES_SHOWN
        );
    }
    let _ = writeln!(
        out,
        "\nThe joint list: {} entries, {} detained now; list hash {}",
        report.list.entries,
        report.list.detained_now,
        report.list.hash.as_deref().unwrap_or("-")
    );
    out
}

fn describe_finding(finding: &Finding) -> String {
    match finding {
        Finding::InvalidEvent { source, org, seq, reason, .. } => {
            let position = match (org, seq) {
                (Some(org), Some(seq)) => format!("{org} seq {seq}: "),
                _ => String::new(),
            };
            format!("Invalid event at {source}: {position}{reason}")
        }
        Finding::Fork { org, seq, first, second, .. } => {
            format!(
                "Fork: {org} signed two different events at seq {seq} ({} and {}); its feed is frozen from there",
                first.short(),
                second.short()
            )
        }
        Finding::SplitView { org, seq, variants } => {
            let sides: Vec<String> = variants
                .iter()
                .map(|variant| {
                    let id = variant.id.map_or_else(|| "an unreadable note".to_owned(), |id| id.short().to_string());
                    format!("{} serve(s) {id}", variant.nodes.join(", "))
                })
                .collect();
            format!("Split view: nodes disagree on {org}'s event at seq {seq}: {}", sides.join("; "))
        }
        Finding::FeedShorter { org, node, served_head, longest_head, longest_node } => format!(
            "{node} serves {org}'s feed only up to seq {served_head}, while {longest_node} serves it up to seq {longest_head} (the node lags or withholds events)"
        ),
        Finding::Unauthorised { org, seq, event_kind, reason, .. } => {
            format!("Unauthorised: {org} seq {seq} ({event_kind}) had no right to act: {reason}")
        }
        Finding::EditionFrontierMissing { label, org, seq, named, .. } => format!(
            "Edition {label} names {} as {org}'s event at seq {seq}, but no valid event is there",
            named.short()
        ),
        Finding::EditionMismatch { label, stated_count, computed_count, stated_root, computed_root, .. } => format!(
            "Edition {label} does not reproduce: it states {stated_count} entries with root {stated_root}, the events at its frontier give {computed_count} entries with root {computed_root}"
        ),
        Finding::EditionUnreproducible { label, reason, .. } => {
            format!("Edition {label} cannot be recomputed from the events at its frontier: {reason}")
        }
        Finding::EditionShortOfQuorum { label, cosigners, quorum, .. } => format!(
            "Edition {label} is not official: {} cosignature(s) ({}) of the {quorum} needed",
            cosigners.len(),
            cosigners.iter().map(OrgSlug::as_str).collect::<Vec<_>>().join(", ")
        ),
    }
}
