//! The thread engine: `--jobs` OS threads take URLs from a shared frontier
//! and put back the links they find.
//!
//! When is the crawl over? Not when the queue is empty: the workers fill
//! it themselves, so it can be empty for a moment while one of them still
//! fetches a page whose links will fill it again. Workers that quit on
//! "queue empty" quit too early: while the first fetches the start page,
//! the others find nothing and leave, and the crawl runs on one thread.
//! It is over when the queue is empty *and no worker is busy*. A channel
//! cannot say that (it ends when all senders are gone, and every worker
//! keeps one to send links), nor can Python's `Queue.empty()`; its
//! `task_done()` + `join()` count unfinished items the same way. Hence
//! [`Frontier`]: a queue that counts busy workers under the same lock.

use std::collections::VecDeque;
// The frontier's synchronisation comes from std, or from the shuttle model
// checker when the `model` feature is on (see `mod model` at the bottom).
#[cfg(feature = "model")]
use shuttle::sync::{Condvar, Mutex, MutexGuard};
#[cfg(not(feature = "model"))]
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Instant;

use url::Url;

use module_07::crawl::{Crawl, Limits, Progress, Seen, Stop, fetch_blocking};

/// A work queue that knows when the work is done: [`Frontier::take`] waits
/// while the queue is empty but a worker is busy, and returns `None` once
/// none is, or after [`Frontier::close`].
pub struct Frontier<T> {
    state: Mutex<State<T>>,
    changed: Condvar,
}

struct State<T> {
    queue: VecDeque<T>,
    /// Workers holding a [`Job`]: each may still add items.
    busy: usize,
    closed: bool,
}

/// An item being worked on. A job dropped without [`Job::finish`] (its
/// worker panicked) closes the frontier: the others stop, not wait for it.
#[must_use = "a job dropped without `finish` closes the frontier"]
pub struct Job<'a, T> {
    pub item: T,
    frontier: &'a Frontier<T>,
    finished: bool,
}

impl<T> Frontier<T> {
    pub fn new(items: impl IntoIterator<Item = T>) -> Self {
        Self {
            state: Mutex::new(State {
                queue: items.into_iter().collect(),
                busy: 0,
                closed: false,
            }),
            changed: Condvar::new(),
        }
    }

    /// `unwrap`: nothing panics holding this lock, so poisoning could only
    /// relay a panic.
    fn state(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap()
    }

    /// The next item, once there is one; `None` when the work is done.
    pub fn take(&self) -> Option<Job<'_, T>> {
        // Wait while there is nothing to take but a busy worker may still
        // add something.
        let mut state = (self.changed)
            .wait_while(self.state(), |s| {
                s.queue.is_empty() && s.busy > 0 && !s.closed
            })
            .unwrap();
        if state.closed {
            return None;
        }
        // Empty here means no worker is busy either: the crawl is over.
        let item = state.queue.pop_front()?;
        state.busy += 1;
        Some(Job {
            item,
            frontier: self,
            finished: false,
        })
    }

    /// Stops the work: every `take`, waiting or not, returns `None`.
    pub fn close(&self) {
        self.state().closed = true;
        self.changed.notify_all();
    }

    fn done(&self, found: impl IntoIterator<Item = T>, failed: bool) {
        let mut state = self.state();
        state.queue.extend(found);
        state.busy -= 1;
        state.closed |= failed;
        drop(state);
        // All, not one: when the last busy worker finds nothing, every
        // waiting worker must wake to see that the work is over.
        self.changed.notify_all();
    }
}

impl<T> Job<'_, T> {
    /// Puts `found` in the queue and ends this job, in one step: no other
    /// worker can see the queue empty and this job over, but not the items.
    pub fn finish(mut self, found: impl IntoIterator<Item = T>) {
        self.finished = true;
        self.frontier.done(found, false);
    }
}

impl<T> Drop for Job<'_, T> {
    fn drop(&mut self) {
        if !self.finished {
            self.frontier.done([], true);
        }
    }
}

/// Crawls from `start` on `limits.jobs` threads, one request each at a
/// time. After `stop`, returns once the requests in flight have ended
/// (each within the time limit).
pub fn crawl(start: Url, limits: &Limits, stop: &Stop, progress: &Progress) -> Crawl {
    let started = Instant::now();
    let client = limits.blocking_client();
    // The visited set has its own lock: it is never held together with the
    // frontier's, so the two cannot deadlock.
    let seen = std::sync::Mutex::new(Seen::new(&start, limits.max_pages));
    let frontier = Frontier::new([start]);
    let visits = thread::scope(|s| {
        let workers: Vec<_> = (0..limits.jobs)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    while let Some(job) = frontier.take() {
                        let visit = fetch_blocking(&client, job.item.clone(), limits, stop);
                        // `unwrap`: a poisoned lock only relays another
                        // worker's panic.
                        let new = seen.lock().unwrap().admit(visit.leads_to());
                        // May panic (stdout closed): `job` then closes the
                        // frontier as it drops.
                        progress.report(&visit);
                        if stop.is_set() {
                            frontier.close();
                        }
                        job.finish(new);
                        mine.push(visit);
                    }
                    mine
                })
            })
            .collect();
        // `unwrap` passes a worker's panic on; the scope still waits for
        // the others, which the closed frontier sends home.
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let seen = seen.into_inner().unwrap();
    Crawl::new(visits, &seen, started.elapsed(), stop.is_set())
}

#[cfg(test)]
#[cfg(feature = "model")]
mod model {
    use super::*;
    use shuttle::sync::Arc;
    use shuttle::sync::atomic::{AtomicUsize, Ordering};

    const ITERATIONS: usize = 3_000;
    /// A tiny site: page `n` links to these; 0 is the start.
    const LINKS: [&[usize]; 5] = [&[1, 2], &[3], &[0, 4], &[], &[3]];

    type Take = for<'a> fn(&'a Frontier<usize>) -> Option<Job<'a, usize>>;
    type Finish = fn(Job<'_, usize>, Vec<usize>);

    /// The property: three workers crawl the tiny site through `take` and
    /// `finish`; every page is fetched exactly once, every worker ends, and
    /// none leaves before the crawl is over (while work may still come).
    fn every_page_once(take: Take, finish: Finish) {
        let frontier = Arc::new(Frontier::new([0]));
        let seen = Arc::new(Mutex::new(vec![true, false, false, false, false]));
        let fetched = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let (frontier, seen, fetched) = (
                    Arc::clone(&frontier),
                    Arc::clone(&seen),
                    Arc::clone(&fetched),
                );
                shuttle::thread::spawn(move || {
                    while let Some(job) = take(&frontier) {
                        // "Fetching": a point where the other workers run.
                        shuttle::thread::yield_now();
                        fetched.fetch_add(1, Ordering::SeqCst);
                        let new: Vec<usize> = {
                            let mut seen = seen.lock().unwrap();
                            LINKS[job.item]
                                .iter()
                                .copied()
                                .filter(|&n| !std::mem::replace(&mut seen[n], true))
                                .collect()
                        };
                        finish(job, new);
                    }
                    assert_eq!(fetched.load(Ordering::SeqCst), LINKS.len(), "left early");
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        assert_eq!(fetched.load(Ordering::SeqCst), LINKS.len(), "pages fetched");
    }

    /// `Job::finish` as the fn pointer [`Finish`] takes.
    fn finish(job: Job<'_, usize>, found: Vec<usize>) {
        job.finish(found);
    }

    #[test]
    fn the_frontier_ends_after_every_page() {
        shuttle::check_random(|| every_page_once(Frontier::take, finish), ITERATIONS);
    }

    /// Expects the checker to find a schedule that breaks the property.
    fn caught(take: Take, finish: Finish) -> bool {
        std::panic::catch_unwind(|| {
            shuttle::check_random(move || every_page_once(take, finish), ITERATIONS);
        })
        .is_err()
    }

    /// The broken variant: a worker stops as soon as the queue is empty,
    /// even while another one is busy and about to add links. Every page is
    /// still fetched, by the workers that stayed: the crawl quietly loses
    /// its concurrency.
    fn take_until_empty(frontier: &Frontier<usize>) -> Option<Job<'_, usize>> {
        let mut state = frontier.state();
        let item = state.queue.pop_front()?;
        state.busy += 1;
        Some(Job {
            item,
            frontier,
            finished: false,
        })
    }

    #[test]
    fn stopping_on_an_empty_queue_leaves_early() {
        assert!(
            caught(take_until_empty, finish),
            "a worker leaving early goes unseen"
        );
    }

    /// The other broken variant: `notify_one` where all must wake. When the
    /// last busy worker finds nothing, one waiter wakes and leaves; the
    /// others sleep for ever, a deadlock the checker reports.
    fn finish_waking_one(mut job: Job<'_, usize>, found: Vec<usize>) {
        job.finished = true;
        let mut state = job.frontier.state();
        state.queue.extend(found);
        state.busy -= 1;
        drop(state);
        job.frontier.changed.notify_one();
    }

    #[test]
    fn waking_one_worker_strands_the_others() {
        assert!(
            caught(Frontier::take, finish_waking_one),
            "a stranded worker goes unseen"
        );
    }
}
