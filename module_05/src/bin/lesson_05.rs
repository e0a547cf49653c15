//! Lesson 5.5 — Semaphore («Семафор в потоках (Semaphore)»)
//!
//! A semaphore lets at most N threads into a section at once: N parking
//! spaces, N database connections. The lesson opens with the standard one,
//! `tokio::sync::Semaphore`, in a few lines; its `acquire` is `async`, and
//! std has none for plain threads, so the lesson then builds one from
//! `Mutex<usize>` + `Condvar` with an RAII permit (how it works *is* the
//! lesson). Beyond it: a bounded channel full of tokens, when you need to
//! know *which* resource you got.
//!
//! | Python                                   | Rust                                                    |
//! |------------------------------------------|---------------------------------------------------------|
//! | `threading.Semaphore(3)`                 | `Semaphore::new(3)` (this lesson) = `Mutex` + `Condvar` |
//! | `with sem: ...`                          | `let _permit = sem.acquire();` (released on drop)       |
//! | `sem.acquire(blocking=False)`            | `sem.try_acquire()` → `Option<Permit>`                  |
//! | `sem.acquire(timeout=t)`                 | `sem.acquire_timeout(t)` → `Option<Permit>`             |
//! | `threading.BoundedSemaphore(3)`          | the permit is the only way to release: never above 3    |
//! | `sem.release()` too often (no error)     | `tokio::sync::Semaphore::add_permits` (deliberate)      |
//! | `queue.Queue(3)` filled with resources   | `crossbeam_channel::bounded(3)` filled with tokens      |
//! | `asyncio.Semaphore(3)`                   | `tokio::sync::Semaphore::new(3)`, `acquire().await`     |
//!
//! - Run all steps: `cargo run -p module_05 --bin lesson_05`
//! - Run one step:  `cargo run -p module_05 --bin lesson_05 -- parking`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `Semaphore::acquire`, drop the guard after `wait_while` and lock
//! again to take the permit (`acquire_check_then_take` in `mod model`), then
//! run `cargo test -p module_05 --features model --bin lesson_05`: the model
//! checker finds the schedule where two threads take the last permit.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
// The semaphore's synchronisation comes from std, or from the shuttle model
// checker when the `model` feature is on (see `mod model` at the bottom).
#[cfg(feature = "model")]
use shuttle::sync::{Condvar, Mutex, MutexGuard};
use std::sync::PoisonError;
#[cfg(not(feature = "model"))]
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use step_runner::{Sink, Step, lesson_id};

/// A counting semaphore with RAII permits, like Python's `BoundedSemaphore`.
///
/// Written out because std has none and it is what this lesson teaches; in
/// async code use `tokio::sync::Semaphore`.
#[derive(Debug)]
struct Semaphore {
    available: Mutex<usize>,
    released: Condvar,
    permits: usize,
}

/// Proof of one admission; dropping it lets the next thread in. A thread
/// cannot forget to release, and cannot release what it never acquired.
#[derive(Debug)]
#[must_use = "the permit is released as soon as it is dropped"]
struct Permit<'a> {
    semaphore: &'a Semaphore,
}

impl Semaphore {
    fn new(permits: usize) -> Self {
        Self {
            available: Mutex::new(permits),
            released: Condvar::new(),
            permits,
        }
    }

    /// No code panics while holding this lock, and a panic could not leave a
    /// `usize` half-written anyway: a poisoned lock is safe to use.
    fn count(&self) -> MutexGuard<'_, usize> {
        self.available
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks until a permit is free.
    fn acquire(&self) -> Permit<'_> {
        let mut available = self
            .released
            .wait_while(self.count(), |n| *n == 0)
            .unwrap_or_else(PoisonError::into_inner);
        *available -= 1;
        Permit { semaphore: self }
    }

    /// A permit if one is free right now.
    fn try_acquire(&self) -> Option<Permit<'_>> {
        let mut available = self.count();
        (*available > 0).then(|| {
            *available -= 1;
            Permit { semaphore: self }
        })
    }

    /// A permit if one frees up within `timeout`.
    fn acquire_timeout(&self, timeout: Duration) -> Option<Permit<'_>> {
        let (mut available, _) = self
            .released
            .wait_timeout_while(self.count(), timeout, |n| *n == 0)
            .unwrap_or_else(PoisonError::into_inner);
        (*available > 0).then(|| {
            *available -= 1;
            Permit { semaphore: self }
        })
    }

    fn available(&self) -> usize {
        *self.count()
    }
}

impl Drop for Permit<'_> {
    /// Runs on every path out of the permit's scope, including a panic
    /// unwinding through it: a thread that dies inside the section still
    /// lets the next one in.
    fn drop(&mut self) {
        let over_released = {
            let mut available = self.semaphore.count();
            let over = *available >= self.semaphore.permits;
            if !over {
                *available += 1;
            }
            over
        }; // the lock is released here, before anything can panic
        // One permit freed: one waiter can use it.
        self.semaphore.released.notify_one();
        // The bounded-semaphore check: Python's `BoundedSemaphore.release()`
        // raises `ValueError` here. With permits it cannot happen, so it is
        // only asserted in debug builds, outside the lock (a panic under it
        // would poison it for every later caller), and never while already
        // unwinding (a second panic in a `Drop` aborts the process).
        debug_assert!(
            !over_released || thread::panicking(),
            "released more permits than were acquired"
        );
    }
}

/// Counts how many threads are inside a section, and the most at once.
#[derive(Default)]
struct Occupancy {
    now: AtomicUsize,
    most: AtomicUsize,
}

impl Occupancy {
    fn enter(&self) -> usize {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        now
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------
// A parking lot with three spaces.
// ---------------------------------------------------------------------------

/// `cars` cars, `spaces` spaces; car `i` stays `(i % 3 + 1) × stay`. Each
/// event goes to `sink` as it happens. Returns the most cars parked at once.
fn parking(cars: usize, spaces: usize, stay: Duration, sink: &Sink) -> usize {
    let lot = Semaphore::new(spaces);
    let parked = Occupancy::default();
    thread::scope(|s| {
        for car in 1..=cars {
            // `s.spawn(move || …)` must own what it captures; references
            // made first are what it owns, so every car shares one lot.
            let (lot, parked) = (&lot, &parked);
            s.spawn(move || {
                sink.note(format!("car {car} arrives"));
                let _space = lot.acquire();
                let now = parked.enter();
                sink.note(format!("car {car} parks ({now} of {spaces} spaces taken)"));
                thread::sleep(stay * (car % 3 + 1) as u32);
                sink.note(format!("car {car} leaves"));
                parked.leave();
                // `_space` is dropped here: the next car may park.
            });
        }
    });
    parked.most()
}

fn show_parking() {
    let most = parking(8, 3, Duration::from_millis(300), &Sink::stdout_timed());
    println!("most cars parked at once: {most}");
}

/// A car that will not wait, and one that waits a little: with every space
/// taken, `try_acquire` and `acquire_timeout` both come back empty; once a
/// space is freed, `try_acquire` succeeds.
fn try_acquire_demo(patience: Duration) -> (bool, bool, bool) {
    let lot = Semaphore::new(2);
    let taken = [lot.acquire(), lot.acquire()];
    let no_wait = lot.try_acquire().is_some();
    let short_wait = lot.acquire_timeout(patience).is_some();
    drop(taken);
    let after_leaving = lot.try_acquire().is_some();
    (no_wait, short_wait, after_leaving)
}

// ---------------------------------------------------------------------------
// A bounded channel as a pool of tokens.
// ---------------------------------------------------------------------------

/// A connection on loan from a token pool. Dropping the lease sends the
/// token back, also while a panic unwinds through the job: a job that dies
/// does not take its connection with it and leave the others waiting for a
/// token that never returns.
struct Lease {
    connection: usize,
    pool: crossbeam_channel::Sender<usize>,
}

impl Lease {
    /// Blocks while every token is out, like `acquire`. `None` once the pool
    /// is gone (every sender dropped).
    fn take(
        take: &crossbeam_channel::Receiver<usize>,
        give_back: &crossbeam_channel::Sender<usize>,
    ) -> Option<Self> {
        let connection = take.recv().ok()?;
        Some(Self {
            connection,
            pool: give_back.clone(),
        })
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Never blocks: the channel has room for every token there is. It
        // fails only when no receiver is left, and then nobody needs it.
        let _ = self.pool.send(self.connection);
    }
}

/// `jobs` jobs share `connections` connections, handed out as tokens from a
/// bounded channel. Returns which connection each job used and the most
/// connections in use at once.
///
/// Unlike a counting semaphore, the token says *which* resource you hold.
fn channel_token_pool(jobs: usize, connections: usize, work: Duration) -> (Vec<usize>, usize) {
    let (give_back, take) = crossbeam_channel::bounded(connections);
    for connection in 1..=connections {
        give_back
            .send(connection)
            .expect("the pool has room for all");
    }
    let busy = Occupancy::default();
    let used = thread::scope(|s| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                let (give_back, take, busy) = (&give_back, &take, &busy);
                s.spawn(move || {
                    let lease = Lease::take(take, give_back).expect("the pool outlives the jobs");
                    busy.enter();
                    thread::sleep(work);
                    busy.leave();
                    lease.connection
                    // `lease` is dropped here: the token goes back.
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    (used, busy.most())
}

fn show_channel_token_pool() {
    let (used, most) = channel_token_pool(10, 3, Duration::from_millis(200));
    for (job, connection) in used.iter().enumerate() {
        println!("job {} ran on connection {connection}", job + 1);
    }
    println!("most connections in use at once: {most}");
}

// ---------------------------------------------------------------------------
// Async: tokio::sync::Semaphore.
// ---------------------------------------------------------------------------

/// The smallest form, before building one: the standard semaphore,
/// `tokio::sync::Semaphore`, as the same parking lot (`cars` async tasks,
/// `spaces` permits). Returns the most cars parked at once.
///
/// Its `acquire` is `async`: it suits tasks, not plain threads (a thread
/// gets only `try_acquire`). std has no semaphore for threads, hence the
/// one this lesson builds next.
fn tokio_semaphore(cars: usize, spaces: usize, stay: Duration, sink: &Sink) -> usize {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("building a tokio runtime should work");
    let lot = tokio::sync::Semaphore::new(spaces);
    let parked = Occupancy::default();
    let (lot, parked) = (&lot, &parked);
    runtime.block_on(async {
        let cars = (1..=cars).map(|car| async move {
            sink.note(format!("car {car} arrives"));
            let _space = lot.acquire().await.expect("the lot is never closed");
            let now = parked.enter();
            sink.note(format!("car {car} parks ({now} of {spaces} spaces taken)"));
            tokio::time::sleep(stay * (car % 3 + 1) as u32).await;
            sink.note(format!("car {car} leaves"));
            parked.leave();
            // `_space` is dropped here, as in `parking` below.
        });
        futures::future::join_all(cars).await;
    });
    parked.most()
}

fn show_tokio_semaphore() {
    let most = tokio_semaphore(8, 3, Duration::from_millis(300), &Sink::stdout_timed());
    println!("most cars parked at once: {most}");
}

/// The bounded check. Returns what is available after many permits came and
/// went (this lesson's semaphore), and after one `add_permits(1)` on a
/// 3-permit `tokio::sync::Semaphore` — the equivalent of a stray
/// `sem.release()` in Python, which a `BoundedSemaphore` would refuse.
fn bounded_check() -> (usize, usize) {
    let ours = Semaphore::new(3);
    thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                for _ in 0..100 {
                    let _permit = ours.acquire();
                }
            });
        }
    });
    let theirs = tokio::sync::Semaphore::new(3);
    theirs.add_permits(1);
    (ours.available(), theirs.available_permits())
}

fn show_bounded_check() {
    let (ours, tokio) = bounded_check();
    println!("after 600 acquire/release cycles, permits available: {ours} of 3");
    println!("tokio Semaphore(3) after add_permits(1): {tokio} available");
}

fn show_try_acquire() {
    let (no_wait, short_wait, after) = try_acquire_demo(Duration::from_millis(200));
    println!("lot full, try_acquire: got a space = {no_wait}");
    println!("lot full, acquire_timeout(0.2 s): got a space = {short_wait}");
    println!("after two cars left, try_acquire: got a space = {after}");
}

#[rustfmt::skip]
fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 5.5 — Semaphore («Семафор в потоках (Semaphore)»)",
        &[
            Step::new("tokio_semaphore", "the standard one first: tokio::sync::Semaphore, eight cars, three spaces", show_tokio_semaphore),
            Step::new("parking", "eight cars, three spaces, this lesson's semaphore", show_parking),
            Step::new("try_acquire", "no waiting, or waiting with a time limit", show_try_acquire),
            Step::new("channel_token_pool", "a bounded channel of connection tokens", show_channel_token_pool),
            Step::new("bounded_check", "permits cannot raise the count; add_permits can", show_bounded_check),
        ],
    )
}

// The ordinary tests run on std's types; with the `model` feature the
// semaphore is built from shuttle's, which work only inside `shuttle::check_*`.
#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use std::collections::BTreeSet;

    use course_tests::deadline;

    use super::*;

    #[test]
    fn the_semaphore_never_admits_more_than_its_permits() {
        const PERMITS: usize = 3;
        let (most, available) = deadline(Duration::from_secs(20), || {
            let semaphore = Semaphore::new(PERMITS);
            let inside = Occupancy::default();
            thread::scope(|s| {
                for _ in 0..16 {
                    s.spawn(|| {
                        for round in 0..200 {
                            let _permit = semaphore.acquire();
                            inside.enter();
                            if round % 50 == 0 {
                                thread::sleep(Duration::from_millis(1));
                            } else {
                                thread::yield_now();
                            }
                            inside.leave();
                        }
                    });
                }
            });
            (inside.most(), semaphore.available())
        });
        assert!((1..=PERMITS).contains(&most), "{most}");
        assert_eq!(available, PERMITS);
    }

    #[test]
    fn timed_and_untimed_tries_fail_only_while_full() {
        let answers = deadline(Duration::from_secs(10), || {
            try_acquire_demo(Duration::from_millis(30))
        });
        assert_eq!(answers, (false, false, true));
    }

    #[test]
    fn a_waiter_gets_the_permit_another_thread_releases() {
        deadline(Duration::from_secs(10), || {
            let semaphore = Semaphore::new(1);
            let held = semaphore.acquire();
            thread::scope(|s| {
                let waiter =
                    s.spawn(|| semaphore.acquire_timeout(Duration::from_secs(5)).is_some());
                thread::sleep(Duration::from_millis(20));
                drop(held);
                assert!(waiter.join().unwrap());
            });
        });
    }

    #[test]
    fn parking_never_exceeds_the_spaces() {
        let (log, most) = deadline(Duration::from_secs(20), || {
            let sink = Sink::collect();
            let most = parking(8, 3, Duration::from_millis(10), &sink);
            (sink.lines(), most)
        });
        assert!((1..=3).contains(&most));
        for car in 1..=8 {
            for what in ["arrives", "parks", "leaves"] {
                let line = format!("car {car} {what}");
                assert_eq!(log.iter().filter(|l| l.contains(&line)).count(), 1);
            }
        }
    }

    #[test]
    fn the_token_pool_hands_out_only_its_tokens() {
        let (used, most) = deadline(Duration::from_secs(20), || {
            channel_token_pool(12, 3, Duration::from_millis(10))
        });
        assert_eq!(used.len(), 12);
        assert!(
            used.iter()
                .collect::<BTreeSet<_>>()
                .is_subset(&[1, 2, 3].iter().collect())
        );
        assert!((1..=3).contains(&most));
    }

    #[test]
    fn tokio_semaphore_limits_tasks() {
        let most = deadline(Duration::from_secs(20), || {
            tokio_semaphore(20, 3, Duration::from_millis(10), &Sink::collect())
        });
        assert!((1..=3).contains(&most));
    }

    #[test]
    fn a_permit_held_by_a_panicking_thread_is_released() {
        let got_it = deadline(Duration::from_secs(10), || {
            let semaphore = Semaphore::new(1);
            thread::scope(|s| {
                let dying = s.spawn(|| {
                    let _permit = semaphore.acquire();
                    panic!("the holder dies inside the section");
                });
                assert!(dying.join().is_err(), "the holder panicked on purpose");
                // No time-out: if the permit were lost, this would hang.
                let _permit = semaphore.acquire();
                semaphore.available()
            })
        });
        assert_eq!(got_it, 0);
    }

    #[test]
    fn a_token_held_by_a_panicking_job_goes_back_to_the_pool() {
        deadline(Duration::from_secs(10), || {
            let (give_back, take) = crossbeam_channel::bounded(1);
            give_back.send(7).unwrap();
            thread::scope(|s| {
                let dying = s.spawn(|| {
                    let _lease = Lease::take(&take, &give_back).unwrap();
                    panic!("the job dies holding the only connection");
                });
                assert!(dying.join().is_err(), "the job panicked on purpose");
            });
            // With the token lost, this `recv` would wait forever.
            let lease = Lease::take(&take, &give_back).unwrap();
            assert_eq!(lease.connection, 7);
        });
    }

    #[test]
    fn permits_cannot_raise_the_count() {
        assert_eq!(bounded_check(), (3, 4));
    }
}

/// Model checks of the semaphore (`cargo test -p module_05 --features model`):
/// shuttle runs the threads under many random and PCT schedules, with its
/// own `Mutex` and `Condvar` in place of std's.
#[cfg(test)]
#[cfg(feature = "model")]
mod model {
    use super::*;
    use shuttle::sync::Arc;
    use shuttle::sync::atomic::{AtomicUsize, Ordering};
    use shuttle::thread;
    use std::panic;

    const ITERATIONS: usize = 2_000;
    const PERMITS: usize = 2;

    /// The property: three threads take a permit of a 2-permit semaphore
    /// (twice each) through `acquire`, and the bounded form's promise holds:
    /// at most 2 permits are held at any moment, nobody waits forever, and
    /// all 2 are available again at the end.
    fn at_most_n_permits_held(acquire: for<'a> fn(&'a Semaphore) -> Permit<'a>) {
        let semaphore = Arc::new(Semaphore::new(PERMITS));
        let held = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (semaphore, held) = (Arc::clone(&semaphore), Arc::clone(&held));
                thread::spawn(move || {
                    for _ in 0..2 {
                        let permit = acquire(&semaphore);
                        let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                        assert!(now <= PERMITS, "{now} permits held, at most {PERMITS}");
                        held.fetch_sub(1, Ordering::SeqCst);
                        drop(permit);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("a thread does not panic");
        }
        assert_eq!(semaphore.available(), PERMITS, "every permit came back");
    }

    fn run(acquire: for<'a> fn(&'a Semaphore) -> Permit<'a>) {
        let property = move || at_most_n_permits_held(acquire);
        shuttle::check_random(property, ITERATIONS);
        shuttle::check_pct(property, ITERATIONS, 3);
    }

    #[test]
    fn model_at_most_n_permits_are_held_and_all_come_back() {
        run(Semaphore::acquire);
    }

    /// Broken: check and take under two separate locks. Two threads can
    /// both see the last permit free and both take it.
    fn acquire_check_then_take(semaphore: &Semaphore) -> Permit<'_> {
        drop(
            semaphore
                .released
                .wait_while(semaphore.count(), |n| *n == 0)
                .unwrap_or_else(PoisonError::into_inner),
        );
        let mut available = semaphore.count();
        *available = available.saturating_sub(1);
        Permit { semaphore }
    }

    #[test]
    fn model_catches_a_check_then_take_semaphore() {
        let failure = panic::catch_unwind(|| run(acquire_check_then_take))
            .expect_err("the checker must catch the over-admission");
        let message = course_tests::panic_text(&*failure);
        assert!(message.contains("permits"), "{message}");
    }
}
