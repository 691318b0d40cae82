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
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use coalition_core::body::Body;
use coalition_core::event::{EventId, OrgSlug, SignedEvent};
use coalition_core::genesis::Genesis;
use coalition_core::time::Timestamp;
use coalition_core::verify::Tag;
use coalition_projector::{PreparedEvent, Projection, ProposalOutcome, ProposedChange};
use coalition_server::client::PublicClient;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::audit_replay::{
    EditionHints, EditionResult, KeptEvent, PipelinedReplay, Replayed, hints_in_bundles, replay,
};
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
    /// Replay only once every event is verified, instead of while verifying (slower; the
    /// report is the same: for comparing the two).
    #[arg(long)]
    replay_after_verifying: bool,
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

    let pipelined = !args.replay_after_verifying;
    let mut verified = verify_and_replay(&genesis, args, &views, threads, &progress, pipelined, "verifying")?;
    if let Err(why) = &verified.replayed {
        // Rare (a fork, an edition found only by verifying): the replay needs every event again.
        if args.stats {
            eprintln!("replay_after_verifying {why}");
        }
        let label = format!("verifying again ({why} needs a replay after verifying)");
        verified = verify_and_replay(&genesis, args, &views, threads, &progress, false, &label)?;
    }
    let Verified { report, feed_times, replayed, verified_at } = verified;

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

    let feeds = feed_reports(&report, &feed_times, &forks);
    let (mut projector, edition_results) = match replayed {
        Ok(replayed) => replayed,
        Err(why) => bail!("internal error: the replay after verifying gave up ({why})"),
    };
    let projection = projector.projection();
    if args.stats {
        eprintln!("verified_s {:.3}", (verified_at - started).as_secs_f64());
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
    let outcome = if report_document.findings.is_empty() { Outcome::Success } else { Outcome::Findings };
    // The process ends next: freeing the projection's events one by one (a second at a million
    // events) would only delay the exit; the operating system takes the memory back at once.
    std::mem::forget(projector);
    std::mem::forget(report);
    Ok(outcome)
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

/// Accepted events handed to the replay thread at a time: one wake-up per event would cost more
/// than the fold of the event.
const FOLD_BATCH_EVENTS: usize = 1024;

/// What verification leaves for the report.
struct Verified {
    report: events::BundleReport,
    feed_times: FeedTimes,
    /// The projection and the editions' results, or why the replay done while verifying gave
    /// up (the audit then verifies again and replays after).
    replayed: Result<Replayed, &'static str>,
    verified_at: Instant,
}

/// Per feed: the events accepted, and the first and last event time.
type FeedTimes = BTreeMap<OrgSlug, (u64, Timestamp, Timestamp)>;

/// Verifies every note of the sources and projects the accepted events. With `pipelined`, a
/// thread of its own replays while the others verify, stopping at the edition frontiers read
/// ahead from the sources ([`PipelinedReplay`]); otherwise, or when there are no usable hints, it
/// keeps every event and replays after verifying ([`replay`]).
fn verify_and_replay(
    genesis: &Genesis,
    args: &AuditArgs,
    views: &[NodeView],
    threads: usize,
    progress: &Progress,
    pipelined: bool,
    label: &str,
) -> Result<Verified> {
    let mut feed_times = FeedTimes::new();
    let bar = progress.counter(label, total_notes(views));
    let (sender, receiver) = std::sync::mpsc::channel::<Vec<KeptEvent>>();
    let (report, folded) = std::thread::scope(|scope| -> Result<_> {
        let folder = scope.spawn(move || -> Result<Folded<'_>> {
            let hints = if !pipelined {
                None
            } else if views.is_empty() {
                hints_in_bundles(&args.bundles)
            } else {
                let mut hints = EditionHints::new();
                views.iter().flat_map(|view| view.feeds.values().flatten()).for_each(|note| hints.add_note(note));
                Some(hints)
            };
            match hints.and_then(|hints| PipelinedReplay::new(genesis, hints, threads)) {
                Some(mut pipeline) => {
                    for kept in receiver.into_iter().flatten() {
                        pipeline.receive(kept)?;
                    }
                    Ok(Folded::Pipelined(Box::new(pipeline)))
                }
                None => Ok(Folded::Collected(receiver.into_iter().flatten().collect())),
            }
        });
        let mut batch: Vec<KeptEvent> = Vec::with_capacity(FOLD_BATCH_EVENTS);
        let mut keep = |item: Kept| {
            let (signed, frozen) = match item {
                Kept::Accepted(signed) => (signed, false),
                Kept::Frozen(signed) => (signed, true),
            };
            let (id, key_id) = (signed.id(), signed.key_id());
            let event = PreparedEvent::new(id, signed.into_event(), key_id);
            if !frozen {
                let time = event.time();
                feed_times
                    .entry(event.org().clone())
                    .and_modify(|(count, first, last)| {
                        *count += 1;
                        *first = (*first).min(time);
                        *last = (*last).max(time);
                    })
                    .or_insert((1, time, time));
            }
            batch.push(KeptEvent { event, frozen });
            if batch.len() == FOLD_BATCH_EVENTS {
                // The replay thread stops only on an error, which its join reports.
                let _ = sender.send(std::mem::replace(&mut batch, Vec::with_capacity(FOLD_BATCH_EVENTS)));
            }
        };
        let mut tick = |done: u64| bar.set_position(done);
        let verified = if views.is_empty() {
            events::verify_lines(
                genesis,
                |sender| events::read_batches(&args.bundles, sender),
                threads,
                Some(&mut keep),
                &mut tick,
            )
        } else {
            events::verify_lines(genesis, |sender| send_node_notes(views, sender), threads, Some(&mut keep), &mut tick)
        };
        let _ = sender.send(batch);
        drop(sender);
        let folded = match folder.join() {
            Ok(folded) => folded,
            Err(_) => bail!("internal error: the replay thread panicked"),
        };
        Ok((verified?, folded?))
    })?;
    let verified_at = Instant::now();
    bar.finish_and_clear();
    let bar = progress.counter("projecting and checking editions", 0);
    let forks: Vec<(OrgSlug, u64)> = report.forks().iter().map(|fork| (fork.org.clone(), fork.seq)).collect();
    let replayed = match folded {
        Folded::Pipelined(pipeline) => pipeline.finish(!forks.is_empty())?,
        Folded::Collected(kept) => Ok(replay(genesis, kept, &forks, threads)?),
    };
    bar.finish_and_clear();
    Ok(Verified { report, feed_times, replayed, verified_at })
}

/// What the replay thread ends with.
enum Folded<'a> {
    /// The replay done while verifying, to finish.
    Pipelined(Box<PipelinedReplay<'a>>),
    /// Every accepted event, to replay.
    Collected(Vec<KeptEvent>),
}

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
        let notes: Vec<&String> = view.feeds.values().flatten().collect();
        for position in interleaved_positions(view) {
            let note = notes[position];
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

/// The positions of a node's notes (feed after feed) in the order they are verified: the feeds
/// interleaved, each in seq order, each note at its share of its feed's length. Feeds grow side by
/// side over time, so this is close to time order, which lets the replay reach each edition's
/// frontier while verification goes on instead of only with the last feed.
fn interleaved_positions(view: &NodeView) -> Vec<usize> {
    let mut positions: Vec<(f64, usize)> = Vec::with_capacity(view.feeds.values().map(Vec::len).sum());
    let mut offset = 0;
    for notes in view.feeds.values() {
        let length = notes.len();
        positions.extend((0..length).map(|index| ((index as f64 + 1.0) / length as f64, offset + index)));
        offset += length;
    }
    positions.sort_by(|left, right| left.0.total_cmp(&right.0).then(left.1.cmp(&right.1)));
    positions.into_iter().map(|(_, position)| position).collect()
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

fn feed_reports(report: &events::BundleReport, times: &FeedTimes, forks: &[(OrgSlug, u64)]) -> Vec<FeedReport> {
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
