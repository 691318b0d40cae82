//! [`GroupCommitter`]: many threads each append one event and wait until it is durable; one
//! committer thread gathers what is waiting into a single [`EventStore::append`], so a durable
//! commit (an fsync) is shared by every event in it.
//!
//! Order: events are committed in the order they were enqueued, and one batch never reorders
//! them. The node assigns seq and prev under its per-feed lock and takes its place in the queue
//! before releasing it (see [`GroupCommitter::enqueue`] and [`GroupCommitter::reserve`]), so a
//! feed's events reach the store in seq order while the waiting for durability happens outside
//! the lock.
//!
//! A place can be reserved before its event exists ([`GroupCommitter::reserve`]): the node
//! reserves under its lock once seq, prev and the event's id are fixed (the id is the hash of the
//! signed text, not of the signature), then signs outside the lock, in parallel with other
//! writers and with the commit in progress, and fills the place ([`Reservation::fill`]). The
//! committer thread takes filled places in order; at the first place not yet filled it commits
//! what it has and starts the next batch there, so one slow signer delays only the events behind
//! it. A place given up ([`Reservation::abandon`], or a dropped reservation) is answered with
//! [`StoreError::NotSigned`]; the store's own chain check then refuses every event that named it
//! as `prev`, so nothing after a gap is ever stored.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::thread::JoinHandle;

use coalition_core::event::{EventId, SignedEvent};

use crate::error::StoreError;
use crate::limits::{GROUP_COMMIT_EVENTS_MAX, GROUP_COMMIT_QUEUE_MAX};
use crate::{Appended, EventStore};

type Reply = Result<Appended, StoreError>;

/// Called on the committer thread with the events each durable commit stored, in commit order,
/// before any of their writers is answered: see [`GroupCommitter::with_hook`].
pub type DurableHook = Box<dyn FnMut(&[SignedEvent]) + Send>;

/// The event of a queued request: given at once, or promised by a [`Reservation`].
enum Offered {
    Ready(Box<SignedEvent>),
    Reserved(Receiver<SignedEvent>),
}

struct Request {
    offered: Offered,
    reply: SyncSender<Reply>,
}

#[derive(Debug, Default)]
struct Counters {
    commits: AtomicU64,
    events: AtomicU64,
}

/// Batches concurrent single-event appends into group commits on one thread. Share it between
/// threads by reference or in an `Arc`; dropping it lets the queue drain, then stops the thread.
pub struct GroupCommitter {
    queue: Option<SyncSender<Request>>,
    worker: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for GroupCommitter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("GroupCommitter").field("counters", &self.counters).finish_non_exhaustive()
    }
}

/// An enqueued event; [`PendingAppend::wait`] blocks until its commit is durable (or failed).
#[derive(Debug)]
pub struct PendingAppend {
    id: EventId,
    reply: Receiver<Reply>,
}

impl PendingAppend {
    /// The id of the enqueued event.
    pub fn id(&self) -> EventId {
        self.id
    }

    /// Blocks until the event's commit is durable ([`Appended::Stored`] or
    /// [`Appended::Duplicate`]) or refused or failed.
    pub fn wait(self) -> Result<Appended, StoreError> {
        wait_for(&self.reply)
    }
}

fn wait_for(reply: &Receiver<Reply>) -> Reply {
    reply.recv().unwrap_or(Err(StoreError::CommitterStopped))
}

/// A place in the commit queue, taken before its event is signed: see the module
/// documentation. Fill it with [`Self::fill`] or give it up with [`Self::abandon`]; dropping it
/// unfilled gives it up too.
#[derive(Debug)]
pub struct Reservation {
    slot: SyncSender<SignedEvent>,
    reply: Receiver<Reply>,
}

impl Reservation {
    /// Puts `event` in its reserved place; it is committed after every event enqueued before the
    /// reservation was taken.
    pub fn fill(self, event: SignedEvent) -> PendingAppend {
        let id = event.id();
        // The committer holds the receiving end until it has answered this place; if it has
        // stopped, the reply below says so.
        let _ = self.slot.send(event);
        PendingAppend { id, reply: self.reply }
    }

    /// Gives the place up. The returned [`Abandoned::wait`] returns once the committer has
    /// passed the place, that is once every event enqueued before it has been answered.
    pub fn abandon(self) -> Abandoned {
        Abandoned { reply: self.reply }
    }
}

/// A reservation given up; see [`Reservation::abandon`].
#[derive(Debug)]
pub struct Abandoned {
    reply: Receiver<Reply>,
}

impl Abandoned {
    /// Blocks until the committer has passed the abandoned place (or stopped).
    pub fn wait(self) {
        // The answer is always an error: the place held no event.
        let _ = wait_for(&self.reply);
    }
}

impl GroupCommitter {
    /// Starts the committer thread for `store`, with at most [`GROUP_COMMIT_EVENTS_MAX`] events
    /// per commit and [`GROUP_COMMIT_QUEUE_MAX`] waiting.
    pub fn start(store: Arc<dyn EventStore>) -> Result<Self, StoreError> {
        Self::with_limits(store, GROUP_COMMIT_EVENTS_MAX, GROUP_COMMIT_QUEUE_MAX)
    }

    /// [`Self::start`] with other limits (each at least 1; the batch limit at most
    /// [`crate::limits::APPEND_BATCH_EVENTS_MAX`]).
    pub fn with_limits(store: Arc<dyn EventStore>, batch_max: usize, queue_max: usize) -> Result<Self, StoreError> {
        Self::spawn(store, batch_max, queue_max, Box::new(|_: &[SignedEvent]| {}))
    }

    /// [`Self::start`] with a hook that sees every stored event once it is durable, in the order
    /// of the feed, on the committer thread, before the event's writer is answered. A node applies
    /// its own events to its projection there: in seq order (a projection fed out of order would
    /// hold events back and re-check them), and before the writer's acknowledgement, so that a
    /// writer reads its own write. Keep it short: the next commit waits for it.
    pub fn with_hook(store: Arc<dyn EventStore>, hook: DurableHook) -> Result<Self, StoreError> {
        Self::spawn(store, GROUP_COMMIT_EVENTS_MAX, GROUP_COMMIT_QUEUE_MAX, hook)
    }

    fn spawn(
        store: Arc<dyn EventStore>,
        batch_max: usize,
        queue_max: usize,
        mut hook: DurableHook,
    ) -> Result<Self, StoreError> {
        let batch_max = batch_max.clamp(1, crate::limits::APPEND_BATCH_EVENTS_MAX);
        let (queue, requests) = mpsc::sync_channel(queue_max.max(1));
        let counters = Arc::new(Counters::default());
        let worker_counters = Arc::clone(&counters);
        let worker = std::thread::Builder::new()
            .name("coalition-store-commit".into())
            .spawn(move || run(store.as_ref(), &requests, batch_max, &worker_counters, &mut hook))
            .map_err(|error| StoreError::Spawn(Arc::new(error)))?;
        Ok(Self { queue: Some(queue), worker: Some(worker), counters })
    }

    /// Puts `event` in the queue and returns at once (blocking only while the queue is full).
    /// Events are committed in the order they are enqueued.
    pub fn enqueue(&self, event: SignedEvent) -> Result<PendingAppend, StoreError> {
        let id = event.id();
        let reply = self.send(Offered::Ready(Box::new(event)))?;
        Ok(PendingAppend { id, reply })
    }

    /// Takes the next place in the queue for an event that is not signed yet (blocking only
    /// while the queue is full). Places are committed in the order they are taken, whether
    /// reserved or enqueued.
    pub fn reserve(&self) -> Result<Reservation, StoreError> {
        let (slot, filled) = mpsc::sync_channel(1);
        let reply = self.send(Offered::Reserved(filled))?;
        Ok(Reservation { slot, reply })
    }

    fn send(&self, offered: Offered) -> Result<Receiver<Reply>, StoreError> {
        let queue = self.queue.as_ref().ok_or(StoreError::CommitterStopped)?;
        let (reply, receiver) = mpsc::sync_channel(1);
        queue.send(Request { offered, reply }).map_err(|_| StoreError::CommitterStopped)?;
        Ok(receiver)
    }

    /// Appends one event and blocks until it is durable: [`Self::enqueue`], then
    /// [`PendingAppend::wait`].
    pub fn submit(&self, event: SignedEvent) -> Result<Appended, StoreError> {
        self.enqueue(event)?.wait()
    }

    /// Durable commits made so far.
    pub fn commits(&self) -> u64 {
        self.counters.commits.load(Ordering::Relaxed)
    }

    /// Events answered so far (stored, duplicate or refused).
    pub fn events(&self) -> u64 {
        self.counters.events.load(Ordering::Relaxed)
    }

    /// Stops taking events, commits what is queued, and waits for the thread to end.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.queue = None;
        if let Some(worker) = self.worker.take() {
            // A panicked worker has already answered nobody; its waiters see CommitterStopped.
            let _ = worker.join();
        }
    }
}

impl Drop for GroupCommitter {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What became of a request when the batch was gathered.
enum Taken {
    /// Its event, to commit.
    Event(Box<SignedEvent>, SyncSender<Reply>),
    /// A reserved place not filled yet: the next batch starts with it.
    NotYet(Request),
    /// A place given up: answered at once.
    Abandoned,
}

/// Resolves a request; `block` waits for a reserved place to be filled.
fn take(request: Request, block: bool) -> Taken {
    let Request { offered, reply } = request;
    match offered {
        Offered::Ready(event) => Taken::Event(event, reply),
        Offered::Reserved(filled) => {
            let event = if block {
                filled.recv().ok()
            } else {
                match filled.try_recv() {
                    Ok(event) => Some(event),
                    Err(TryRecvError::Empty) => {
                        return Taken::NotYet(Request { offered: Offered::Reserved(filled), reply });
                    }
                    Err(TryRecvError::Disconnected) => None,
                }
            };
            match event {
                Some(event) => Taken::Event(Box::new(event), reply),
                None => {
                    // A waiter that gave up (dropped its reservation) needs no answer.
                    let _ = reply.send(Err(StoreError::NotSigned));
                    Taken::Abandoned
                }
            }
        }
    }
}

fn run(
    store: &dyn EventStore,
    requests: &Receiver<Request>,
    batch_max: usize,
    counters: &Counters,
    hook: &mut dyn FnMut(&[SignedEvent]),
) {
    let mut carried: Option<Request> = None;
    loop {
        let first = match carried.take() {
            Some(request) => request,
            None => match requests.recv() {
                Ok(request) => request,
                Err(_) => return,
            },
        };
        let mut events = Vec::new();
        let mut replies = Vec::new();
        // The first place is waited for: nothing behind it may be committed before it.
        if let Taken::Event(event, reply) = take(first, true) {
            events.push(*event);
            replies.push(reply);
        }
        while events.len() < batch_max {
            let Ok(request) = requests.try_recv() else { break };
            match take(request, false) {
                Taken::Event(event, reply) => {
                    events.push(*event);
                    replies.push(reply);
                }
                Taken::NotYet(request) => {
                    carried = Some(request);
                    break;
                }
                Taken::Abandoned => {}
            }
        }
        if events.is_empty() {
            continue;
        }
        let answers = commit(store, &events, counters);
        let stored: Vec<SignedEvent> = events
            .into_iter()
            .zip(&answers)
            .filter(|(_, answer)| matches!(answer, Ok(Appended::Stored)))
            .map(|(event, _)| event)
            .collect();
        if !stored.is_empty() {
            hook(&stored);
        }
        counters.events.fetch_add(answers.len() as u64, Ordering::Relaxed);
        for (reply, answer) in replies.into_iter().zip(answers) {
            // A waiter that gave up (dropped its PendingAppend) needs no answer.
            let _ = reply.send(answer);
        }
    }
}

/// Commits `events` in one append; the verdict of each, in order.
fn commit(store: &dyn EventStore, events: &[SignedEvent], counters: &Counters) -> Vec<Reply> {
    match store.append(events) {
        Ok(report) => {
            counters.commits.fetch_add(1, Ordering::Relaxed);
            report.outcomes.into_iter().map(Ok).collect()
        }
        // One refused event refuses its batch: give every event its own verdict, in order,
        // so that the others are not failed for a stranger's fault.
        Err(error) if error.is_refusal() && events.len() > 1 => events
            .iter()
            .map(|event| {
                let answer = store.append(std::slice::from_ref(event));
                counters.commits.fetch_add(1, Ordering::Relaxed);
                answer.and_then(|report| report.outcomes.first().copied().ok_or(StoreError::CommitterStopped))
            })
            .collect(),
        Err(error) => vec![Err(error); events.len()],
    }
}
