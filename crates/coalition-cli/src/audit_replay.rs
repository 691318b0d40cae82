//! The audit's replay: the projection recomputed from the verified events, stopping at every
//! edition's frontier to recompute the list there.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use crate::events;
use anyhow::{Context, Result, bail};
use coalition_core::body::{Body, Digest, FrontierEntry, Policy};
use coalition_core::bundle;
use coalition_core::event::{EventId, OrgSlug, SignedEvent};
use coalition_core::genesis::Genesis;
use coalition_core::merkle::HASH_BYTES;
use coalition_core::time::Timestamp;
use coalition_projector::{EditionEntry, EditionError, EditionList, ListEntry, PreparedEvent, Projection, Projector};

/// An accepted event as the audit keeps it: in the projector's compact form, without its note
/// text, which it no longer needs.
#[derive(Clone)]
pub(crate) struct KeptEvent {
    /// The event.
    pub(crate) event: PreparedEvent,
    /// Whether its feed is frozen by a fork at or before it (it has no effect).
    pub(crate) frozen: bool,
}

/// What the audit found for one edition.
pub(crate) enum EditionResult {
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
pub(crate) fn replay(
    genesis: &Genesis,
    kept: Vec<KeptEvent>,
    forks: &[(OrgSlug, u64)],
    threads: usize,
) -> Result<Replayed> {
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
    let monotone = cuts.windows(2).all(|pair| covers(&pair[1].2, &pair[0].2));

    let mut replayer = Replayer::new(genesis, kept, feeds, forks, monotone);
    replayer.projector.reserve(replayer.events.len());
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
    write_final_list(&mut replayer, threads, &mut written)?;
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
        let workers: Vec<_> =
            changed.chunks(chunk_len).map(|chunk| scope.spawn(move || write_entries(chunk))).collect();
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

/// Writes the list of every event as the editions' lists are written (taking the entries of
/// cases unchanged since the last edition, writing the others on every core), which leaves its
/// summary in the projection: the report's list hash then costs next to nothing instead of every
/// entry written again on one core while the others wait. When the list cannot be written so
/// (events still waiting), the report computes it as usual, and says why.
fn write_final_list(replayer: &mut Replayer<'_>, threads: usize, written: &mut WrittenEntries) -> Result<()> {
    let events = replayer.included.values().map(|included| *included as u64).sum();
    let _ = edition_list(&[], replayer.projector.projection(), events, threads, written)?;
    Ok(())
}

/// Writes `entries` for an edition's list (into a vector of the right size at once: a collected
/// `Result` cannot know its length up front).
fn write_entries(entries: &[&ListEntry<'_>]) -> Result<Vec<(EditionEntry, [u8; HASH_BYTES])>, EditionError> {
    let mut written = Vec::with_capacity(entries.len());
    for entry in entries {
        written.push(EditionEntry::write(entry)?);
    }
    Ok(written)
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
        let batch_len = targets
            .iter()
            .map(|(org, target)| target.saturating_sub(self.included.get(org).copied().unwrap_or(0)))
            .sum();
        let mut batch: Vec<(Timestamp, EventId, usize)> = Vec::with_capacity(batch_len);
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

// --- replaying while verifying ---

/// Most edition proposals read ahead of verification. With more, the audit replays after
/// verifying (as when no proposal is found ahead): a hostile bundle must not make the replay stop
/// at any number of made-up frontiers. 256 is over twenty years of monthly editions.
pub(crate) const EDITION_HINTS_MAX: usize = 256;

/// The text every `edition.proposed` note holds literally (canonical JSON escapes no letter).
const EDITION_KIND_TEXT: &str = "\"edition.proposed\"";
/// The kind alone, as it appears in a bundle line (where the note's quotes are escaped).
const EDITION_KIND_WORD: &[u8] = b"edition.proposed";

/// Edition proposals found by reading the notes before they are verified: where the replay will
/// have to stop. Only a hint: the replay's results count only for proposals that verify, and an
/// edition that verifies but was not hinted makes the audit replay again after verifying.
pub(crate) struct EditionHints {
    /// Each proposal's frontier, by proposal id.
    frontiers: BTreeMap<EventId, Vec<FrontierEntry>>,
    /// More than [`EDITION_HINTS_MAX`] were found: no hints at all.
    too_many: bool,
    /// Notes (or lines) read: about how many events the replay will hold.
    notes: usize,
}

impl EditionHints {
    /// No hints yet.
    pub(crate) fn new() -> Self {
        Self { frontiers: BTreeMap::new(), too_many: false, notes: 0 }
    }

    /// Takes the proposal in `note`, if it is one (a cheap text test first: almost no note is).
    pub(crate) fn add_note(&mut self, note: &str) {
        self.notes += 1;
        self.take_proposal(note);
    }

    fn take_proposal(&mut self, note: &str) {
        if self.too_many || !note.contains(EDITION_KIND_TEXT) {
            return;
        }
        let Ok(signed) = SignedEvent::parse(note) else { return };
        if let Body::EditionProposed(proposed) = &signed.event().body {
            self.frontiers.insert(signed.id(), proposed.frontier.clone());
            if self.frontiers.len() > EDITION_HINTS_MAX {
                self.too_many = true;
                self.frontiers.clear();
            }
        }
    }

    /// Takes the proposal on a bundle line, if it is one.
    pub(crate) fn add_line(&mut self, line: &[u8]) {
        self.notes += 1;
        // The kind's text survives the line's JSON escaping (it has no character to escape).
        if self.too_many || memchr::memmem::find(line, EDITION_KIND_WORD).is_none() {
            return;
        }
        if let Ok(note) =
            std::str::from_utf8(line).map_err(|_| ()).and_then(|line| bundle::parse_line(line).map_err(|_| ()))
        {
            self.take_proposal(&note);
        }
    }
}

/// Reads the edition proposals of bundle files ahead of verification; `None` when a file cannot
/// be read (verification then reports it).
pub(crate) fn hints_in_bundles(paths: &[PathBuf]) -> Option<EditionHints> {
    let mut hints = EditionHints::new();
    // One buffer for every line: this pass reads the whole history ahead of verification, on the
    // replay's thread, and must cost it as little as it can.
    let mut line = Vec::new();
    for path in paths {
        let mut reader = BufReader::new(File::open(path).ok()?);
        while let Some(fits) = events::read_line_into(&mut reader, bundle::BUNDLE_LINE_BYTES_MAX, &mut line).ok()? {
            if fits {
                hints.add_line(&line);
            }
        }
    }
    Some(hints)
}

/// A frontier the replay stops at.
struct Cut {
    edition: EventId,
    frontier: Vec<FrontierEntry>,
    heads: BTreeMap<OrgSlug, u64>,
}

/// The replay done while verification goes on: accepted events arrive in each feed's seq order;
/// as soon as every event up to the next hinted frontier has arrived, the projector folds up to
/// it and the list there is recomputed, while the other cores go on verifying. Gives up (the
/// audit then replays after verifying, as [`replay`]) on anything it cannot handle exactly as
/// [`replay`] would: a fork, an event out of its feed's order, an edition it was not told of.
pub(crate) struct PipelinedReplay<'a> {
    replayer: Replayer<'a>,
    /// Hinted frontiers not reached yet, in increasing order.
    cuts: std::collections::VecDeque<Cut>,
    hinted: BTreeSet<EventId>,
    /// Every position a hinted frontier names as a head, with the id of the event that arrived
    /// there (one lookup per event, however many frontiers were hinted).
    head_ids: BTreeMap<(OrgSlug, u64), Option<EventId>>,
    /// Every verified edition proposal seen.
    verified_editions: BTreeSet<EventId>,
    results: HashMap<EventId, EditionResult>,
    written: WrittenEntries,
    threads: usize,
    /// Why it gave up, if it did.
    given_up: Option<&'static str>,
}

impl<'a> PipelinedReplay<'a> {
    /// A replay stopping at the hinted frontiers; `None` when there are none to use (too many, or
    /// frontiers that do not each cover the one before: the replay after verifying handles those).
    pub(crate) fn new(genesis: &'a Genesis, hints: EditionHints, threads: usize) -> Option<Self> {
        if hints.too_many {
            return None;
        }
        let mut cuts: Vec<Cut> = hints
            .frontiers
            .into_iter()
            .map(|(edition, frontier)| {
                let heads = frontier.iter().map(|head| (head.org.clone(), head.seq)).collect();
                Cut { edition, frontier, heads }
            })
            .collect();
        cuts.sort_by_key(|cut| cut.frontier.iter().map(|head| head.seq).sum::<u64>());
        if !cuts.windows(2).all(|pair| covers(&pair[1].heads, &pair[0].heads)) {
            return None;
        }
        let head_ids =
            cuts.iter().flat_map(|cut| cut.frontier.iter().map(|head| ((head.org.clone(), head.seq), None))).collect();
        let mut replayer = Replayer::new(genesis, Vec::new(), BTreeMap::new(), &[], true);
        // Every note read ahead is about one event to hold: room for them all at once saves
        // growing (and copying) the tables a million events long step by step.
        let expected_events = hints.notes.min(coalition_projector::limits::EVENTS_RESERVE_MAX);
        replayer.events.reserve(expected_events);
        replayer.projector.reserve(expected_events);
        Some(Self {
            replayer,
            hinted: cuts.iter().map(|cut| cut.edition).collect(),
            cuts: cuts.into(),
            head_ids,
            verified_editions: BTreeSet::new(),
            results: HashMap::new(),
            written: WrittenEntries::default(),
            threads,
            given_up: None,
        })
    }

    /// Takes one accepted event and folds what it can.
    pub(crate) fn receive(&mut self, kept: KeptEvent) -> Result<()> {
        if self.given_up.is_some() {
            return Ok(());
        }
        if kept.frozen {
            self.give_up("a fork");
            return Ok(());
        }
        let (org, seq, id) = (kept.event.org().clone(), kept.event.seq(), kept.event.id());
        if kept.event.edition_frontier().is_some() {
            self.verified_editions.insert(id);
        }
        let feed = self.replayer.feeds.entry(org.clone()).or_default();
        if feed.last().is_some_and(|(last, _)| *last >= seq) {
            self.give_up("an event out of its feed's order");
            return Ok(());
        }
        feed.push((seq, self.replayer.events.len()));
        self.replayer.events.push(Some(kept));
        if let Some(slot) = self.head_ids.get_mut(&(org, seq)) {
            *slot = Some(id);
        }
        while self.cuts.front().is_some_and(|cut| self.reached(cut)) {
            if let Some(cut) = self.cuts.pop_front() {
                self.stop_at(cut)?;
            }
        }
        Ok(())
    }

    fn give_up(&mut self, why: &'static str) {
        self.given_up = Some(why);
        // The replay after verifying starts afresh: free what this one holds.
        self.replayer = Replayer::new(self.replayer.genesis, Vec::new(), BTreeMap::new(), &[], true);
        self.cuts.clear();
    }

    /// Whether every event up to the cut has arrived.
    fn reached(&self, cut: &Cut) -> bool {
        cut.heads.iter().all(|(org, head)| {
            self.replayer.feeds.get(org).and_then(|feed| feed.last()).map_or(0, |(seq, _)| *seq) >= *head
        })
    }

    /// The first head of `cut` that is not the event that arrived at its position.
    fn missing_head(&self, cut: &Cut) -> Option<EditionResult> {
        cut.frontier
            .iter()
            .find(|head| self.head_ids.get(&(head.org.clone(), head.seq)) != Some(&Some(head.id)))
            .map(|head| EditionResult::FrontierMissing { org: head.org.clone(), seq: head.seq, named: head.id })
    }

    fn stop_at(&mut self, cut: Cut) -> Result<()> {
        let result = match self.missing_head(&cut) {
            Some(missing) => missing,
            None => {
                self.replayer.advance_to(|org| cut.heads.get(org).copied().unwrap_or(0))?;
                let events = self.replayer.included.values().map(|included| *included as u64).sum();
                let projection = self.replayer.projector.projection();
                match edition_list(&cut.frontier, projection, events, self.threads, &mut self.written)? {
                    Ok(computed) => computed,
                    Err(error) => EditionResult::Unreproducible { reason: error.to_string() },
                }
            }
        };
        self.results.insert(cut.edition, result);
        Ok(())
    }

    /// Folds the rest once every event has arrived. `Err(why)` when the replay gave up, or when
    /// an edition verified that was not hinted: the audit must then replay after verifying.
    pub(crate) fn finish(mut self, forks_found: bool) -> Result<Result<Replayed, &'static str>> {
        if let Some(why) = self.given_up {
            return Ok(Err(why));
        }
        if forks_found {
            return Ok(Err("a fork"));
        }
        if !self.verified_editions.is_subset(&self.hinted) {
            return Ok(Err("an edition not found before verifying"));
        }
        // A frontier not reached names an event that never arrived (and may have held back the
        // ones after it, which are reached now).
        while let Some(cut) = self.cuts.pop_front() {
            self.stop_at(cut)?;
        }
        self.replayer.advance_to(|_| u64::MAX)?;
        write_final_list(&mut self.replayer, self.threads, &mut self.written)?;
        let verified = self.verified_editions;
        self.results.retain(|edition, _| verified.contains(edition));
        Ok(Ok((self.replayer.projector, self.results)))
    }
}

/// The projector over every event and the result of every edition, by proposal id.
pub(crate) type Replayed = (Projector, HashMap<EventId, EditionResult>);

/// Whether every feed position of `earlier` is at or below the one of `later`.
fn covers(later: &BTreeMap<OrgSlug, u64>, earlier: &BTreeMap<OrgSlug, u64>) -> bool {
    earlier.iter().all(|(org, seq)| later.get(org).is_some_and(|later_seq| later_seq >= seq))
}
