//! Reading and decoding stored events on several threads while handing them out in order.
//!
//! Parsing a note (canonical-form check, schema, BLAKE3) and reading its page are nearly all the
//! cost of a start-up replay. A walk is cut into jobs of at most [`REPLAY_CHUNK_EVENTS`] seqs of
//! one feed; worker threads read and decode jobs from one shared snapshot, and the calling thread
//! passes the events to the sink strictly in job order. At most a few jobs are in flight, so
//! memory does not grow with the store.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc;

use coalition_core::event::{OrgSlug, SignedEvent};

use crate::Head;
use crate::error::StoreError;
use crate::limits::{REPLAY_CHUNK_EVENTS, REPLAY_THREADS_MAX};

/// A range of one feed: org, first seq, last seq (inclusive).
pub(crate) type Job = (OrgSlug, u64, u64);

type Decoded = Result<Vec<SignedEvent>, StoreError>;

/// The jobs that cover every feed from seq 1 to its head, feed by feed (produced lazily).
pub(crate) fn jobs(heads: &BTreeMap<OrgSlug, Head>) -> impl Iterator<Item = Job> + '_ {
    let chunk = REPLAY_CHUNK_EVENTS as u64;
    heads.iter().flat_map(move |(org, (head, _))| {
        (0..head.div_ceil(chunk)).map(move |index| {
            let from = index * chunk + 1;
            (org.clone(), from, (from + chunk - 1).min(*head))
        })
    })
}

/// Runs `read` on every job (on worker threads when there are cores for them) and passes the
/// events, in job order, to `sink`, until the jobs end, the sink breaks, or an error.
pub(crate) fn replay(
    file: &Path,
    jobs: &mut dyn Iterator<Item = Job>,
    read: &(dyn Fn(&Job) -> Decoded + Sync),
    sink: &mut dyn FnMut(SignedEvent) -> Result<ControlFlow<()>, StoreError>,
) -> Result<ControlFlow<()>, StoreError> {
    let workers = std::thread::available_parallelism().map_or(1, |count| count.get()).min(REPLAY_THREADS_MAX);
    if workers < 2 {
        for job in jobs {
            for event in read(&job)? {
                if sink(event)?.is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
        }
        return Ok(ControlFlow::Continue(()));
    }
    let in_flight_max = workers * 2;
    let (queue, job_queue) = mpsc::sync_channel::<(u64, Job)>(in_flight_max);
    let job_queue = Mutex::new(job_queue);
    std::thread::scope(|scope| {
        // Moved in, so that it is dropped when the walk ends, however it ends: that stops the
        // workers before the scope waits for them.
        let queue = queue;
        let (done, results) = mpsc::channel::<(u64, Decoded)>();
        for _ in 0..workers {
            let (job_queue, done) = (&job_queue, done.clone());
            scope.spawn(move || {
                loop {
                    // The lock is held only while waiting for the next job.
                    let job = match job_queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok((index, job)) = job else { return };
                    if done.send((index, read(&job))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done);
        let stopped = || StoreError::Database {
            file: file.to_path_buf(),
            action: "reading every event",
            detail: "a reading thread stopped".to_owned(),
        };
        let (mut sent, mut handed, mut exhausted) = (0u64, 0u64, false);
        let mut arrived: BTreeMap<u64, Decoded> = BTreeMap::new();
        loop {
            while !exhausted && sent - handed < in_flight_max as u64 {
                match jobs.next() {
                    Some(job) => {
                        queue.send((sent, job)).map_err(|_| stopped())?;
                        sent += 1;
                    }
                    None => exhausted = true,
                }
            }
            if handed == sent {
                return Ok(ControlFlow::Continue(()));
            }
            let decoded = loop {
                if let Some(decoded) = arrived.remove(&handed) {
                    break decoded;
                }
                let (index, decoded) = results.recv().map_err(|_| stopped())?;
                arrived.insert(index, decoded);
            };
            handed += 1;
            for event in decoded? {
                if sink(event)?.is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
        }
    })
}
