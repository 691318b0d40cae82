//! [`GroupCommitter`]: many threads each append one event and wait until it is durable; one
//! committer thread gathers what is waiting into a single [`EventStore::append`], so a durable
//! commit (an fsync) is shared by every event in it.
//!
//! Order: events are committed in the order they were enqueued, and one batch never reorders
//! them. The node assigns seq and prev under its per-feed lock and enqueues before releasing it
//! (see [`GroupCommitter::enqueue`]), so a feed's events reach the store in seq order while the
//! waiting for durability happens outside the lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use coalition_core::event::{EventId, SignedEvent};

use crate::error::StoreError;
use crate::limits::{GROUP_COMMIT_EVENTS_MAX, GROUP_COMMIT_QUEUE_MAX};
use crate::{Appended, EventStore};

type Reply = Result<Appended, StoreError>;

struct Request {
    event: SignedEvent,
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
        self.reply.recv().unwrap_or(Err(StoreError::CommitterStopped))
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
        let batch_max = batch_max.clamp(1, crate::limits::APPEND_BATCH_EVENTS_MAX);
        let (queue, requests) = mpsc::sync_channel(queue_max.max(1));
        let counters = Arc::new(Counters::default());
        let worker_counters = Arc::clone(&counters);
        let worker = std::thread::Builder::new()
            .name("coalition-store-commit".into())
            .spawn(move || run(store.as_ref(), &requests, batch_max, &worker_counters))
            .map_err(|error| StoreError::Spawn(Arc::new(error)))?;
        Ok(Self { queue: Some(queue), worker: Some(worker), counters })
    }

    /// Puts `event` in the queue and returns at once (blocking only while the queue is full).
    /// Events are committed in the order they are enqueued.
    pub fn enqueue(&self, event: SignedEvent) -> Result<PendingAppend, StoreError> {
        let queue = self.queue.as_ref().ok_or(StoreError::CommitterStopped)?;
        let (reply, receiver) = mpsc::sync_channel(1);
        let id = event.id();
        queue.send(Request { event, reply }).map_err(|_| StoreError::CommitterStopped)?;
        Ok(PendingAppend { id, reply: receiver })
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

fn run(store: &dyn EventStore, requests: &Receiver<Request>, batch_max: usize, counters: &Counters) {
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        while batch.len() < batch_max {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let (events, replies): (Vec<SignedEvent>, Vec<SyncSender<Reply>>) =
            batch.into_iter().map(|request| (request.event, request.reply)).unzip();
        let answers: Vec<Reply> = match store.append(&events) {
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
        };
        counters.events.fetch_add(events.len() as u64, Ordering::Relaxed);
        for (reply, answer) in replies.into_iter().zip(answers) {
            // A waiter that gave up (dropped its PendingAppend) needs no answer.
            let _ = reply.send(answer);
        }
    }
}
