//! Lesson 2.5 — What executors are («Что такое Executors»)
//!
//! An executor separates *what* to run (a task) from *how* it runs (which
//! thread, when). This lesson writes a minimal pool by hand — a channel of
//! boxed jobs, N workers, shutdown by dropping the sender — to show what a
//! pool is made of. Writing it is the lesson; in real code use `rayon`
//! (`ThreadPoolBuilder`) or `futures::executor::ThreadPool`, which add work
//! stealing, scoped borrowing, async tasks and much more.
//!
//! | Python                                   | Rust (`MiniPool` below)                       | Rust (real crate)                     |
//! |------------------------------------------|-----------------------------------------------|---------------------------------------|
//! | `Executor` (abstract base class)         | a type with `execute(job)`                    | `futures::task::Spawn` trait          |
//! | `ThreadPoolExecutor(max_workers=n)`      | `MiniPool::new(n)`                            | `rayon::ThreadPoolBuilder::num_threads(n)` |
//! | `ex.submit(f, *args)` → `Future`         | `pool.submit(move \|\| f(args))` → `Receiver<Outcome<T>>` | `pool.spawn_with_handle(fut)`  |
//! | `future.result()`                        | `rx.recv()` → `Ok(value)` or `Err(panic payload)` | `block_on(handle)` (re-raises the panic) |
//! | a task raises: the worker lives on       | `catch_unwind` around every job               | rayon `spawn`: aborts unless `.panic_handler(…)` is set |
//! | `ex.map(f, xs, ys)`                      | `pool.map(items, f)` (ordered results)        | `pool.install(\|\| xs.par_iter().map(f).collect())` |
//! | `ex.shutdown(wait=True)` / end of `with` | `drop(pool)`: close the queue, join workers   | `pool.scope` / `install` return when done |
//! | `base ** exponent` (unbounded `int`)     | `BigUint::from(base).pow(exponent)`           |                                       |
//!
//! - Run all steps: `cargo run -p module_02 --bin lesson_05`
//! - Run one step:  `cargo run -p module_02 --bin lesson_05 -- step_06`
//!
//! Try: delete the `catch_unwind` in `work` (call `job()` instead) and in
//! `submit`, then run `-- a_job_panics`: each panic now kills a worker, and
//! once both are gone the jobs still queued are dropped with the queue.
//! Which `expect` fires, and why there?

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
// The pool's own synchronisation comes from std, or from the shuttle model
// checker when the `model` feature is on (see `mod model` at the bottom).
#[cfg(feature = "model")]
use shuttle::{
    sync::{
        Arc, Mutex,
        mpsc::{self, Receiver, Sender},
    },
    thread::{self, JoinHandle},
};
#[cfg(not(feature = "model"))]
use std::{
    sync::{
        Arc, Mutex,
        mpsc::{self, Receiver, Sender},
    },
    thread::{self, JoinHandle},
};

use num_bigint::BigUint;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use step_runner::{Step, lesson_id};

const TITLE: &str = "Lesson 2.5 — What executors are («Что такое Executors»)";

/// A unit of work: any closure that can be sent to another thread and run
/// once.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// What a job's waiter gets: its value, or the payload of the panic that
/// ended it — the type `JoinHandle::join` returns (`std::thread::Result`).
type Outcome<T> = Result<T, Box<dyn Any + Send + 'static>>;

/// A minimal fixed-size thread pool. Illustration only — see the header.
struct MiniPool {
    /// `Option` so that `drop` can take and drop it before joining.
    queue: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

/// A worker's life: take the next job, run it, repeat until the queue is
/// closed and empty.
fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // std's receiver has a single consumer, so the workers share it
        // behind a lock. The guard is a temporary of this statement: the lock
        // is released before the job runs, and another worker can take the
        // next job meanwhile. No job runs under the lock, so it is never
        // poisoned.
        let next = jobs
            .lock()
            .expect("the lock should be unpoisoned: no job runs under it")
            .recv();
        // `Err`: every sender is gone and the queue is empty, so queued jobs
        // still run after shutdown begins.
        let Ok(job) = next else { break };
        // A panicking job must not take its worker with it (Python's executor
        // keeps the worker and stores the exception in the future). The
        // default panic hook has already printed the message; `submit`'s jobs
        // hand the payload to their waiter themselves. `AssertUnwindSafe`:
        // the job is consumed by the call, so nothing half-updated by it is
        // left on this thread to be observed.
        let _ = panic::catch_unwind(AssertUnwindSafe(job));
    }
}

impl MiniPool {
    fn new(size: usize) -> Self {
        assert!(size > 0, "a pool needs at least one worker");
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let workers = (0..size)
            .map(|i| {
                let jobs = Arc::clone(&jobs);
                thread::Builder::new()
                    .name(format!("mini-pool-{i}"))
                    .spawn(move || work(&jobs))
                    .expect("a worker thread should spawn")
            })
            .collect();
        Self {
            queue: Some(queue),
            workers,
        }
    }

    /// Queue a job; some idle worker will run it.
    fn execute(&self, job: impl FnOnce() + Send + 'static) {
        let queue = self
            .queue
            .as_ref()
            .expect("the queue should be open until drop");
        // Workers survive their jobs' panics and leave only once the queue
        // is closed (in `drop`), so while `self` exists someone receives.
        queue
            .send(Box::new(job))
            .expect("the workers should live until drop");
    }

    /// `submit`: queue a job and return a receiver for its outcome — the
    /// simplest possible future. A panic in `f` reaches the waiter as
    /// `Err(payload)`, as an exception reaches Python's `future.result()`.
    fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Receiver<Outcome<T>> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.execute(move || {
            let outcome = panic::catch_unwind(AssertUnwindSafe(f));
            // The caller may have dropped the receiver; then nobody wants
            // the outcome and dropping it is right.
            let _ = tx.send(outcome);
        });
        rx
    }

    /// `map`: submit every item, then read the results in input order. Like
    /// Python's `map`, it re-raises a job's panic when that result is reached.
    fn map<I, T, F>(&self, items: impl IntoIterator<Item = I>, f: F) -> Vec<T>
    where
        I: Send + 'static,
        T: Send + 'static,
        F: Fn(I) -> T + Send + Sync + Clone + 'static,
    {
        let futures: Vec<_> = items
            .into_iter()
            .map(|item| {
                let f = f.clone();
                self.submit(move || f(item))
            })
            .collect();
        futures
            .into_iter()
            .map(|rx| match rx.recv().expect("every queued job should run") {
                Ok(value) => value,
                // `resume_unwind` does not call the panic hook again: the
                // message was printed once, where the job panicked.
                Err(payload) => panic::resume_unwind(payload),
            })
            .collect()
    }
}

impl Drop for MiniPool {
    /// `shutdown(wait=True)`: close the queue, let the workers finish what
    /// is queued, then join them. Runs also when the pool's owner panics, so
    /// queued work is never silently dropped and no worker is left waiting.
    fn drop(&mut self) {
        drop(self.queue.take());
        for worker in self.workers.drain(..) {
            // A worker catches its jobs' panics, so `Err` is not expected;
            // still, never panic in `drop`: during unwinding that aborts.
            let _ = worker.join();
        }
    }
}

/// The message of a panic payload: `panic!` with a literal gives a `&str`,
/// with format arguments a `String`.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

const STEP_06_BASES: [u32; 5] = [3, 44, 22, 4, 43];
const STEP_06_EXPONENTS: [u32; 5] = [12, 31, 23, 2, 43];

/// Step 06 — `base ** exponent` for pairs of bases and exponents, computed
/// by `map` over two lists (as Python's `map(power, bases, exponents)`).
///
/// 44^31 and 43^43 do not fit in a u128 (43^43 has 71 digits); Python's
/// `int` grows silently, in Rust the unbounded integer is `BigUint`.
fn step_06(bases: &[u32], exponents: &[u32]) -> Vec<(u32, u32, BigUint)> {
    let pool = MiniPool::new(4);
    let pairs: Vec<(u32, u32)> = bases
        .iter()
        .copied()
        .zip(exponents.iter().copied())
        .collect();
    pool.map(pairs, |(base, exponent)| {
        (base, exponent, BigUint::from(base).pow(exponent))
    })
}

/// Step 07's four value ranges, inclusive.
const LIMITS: [(u32, u32); 4] = [(1, 300), (301, 500), (501, 700), (701, 999)];

/// Step 07's 150 random numbers in 1..=999. Seeded, so every run (and the
/// test) sees the same numbers; Python's version differs on every run.
fn random_numbers(seed: u64) -> Vec<u32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..150).map(|_| rng.random_range(1..1000)).collect()
}

/// Split `numbers` into one part per range (each number into the first range
/// that holds it), keeping their order.
fn divide(numbers: &[u32], limits: &[(u32, u32)]) -> Vec<Vec<u32>> {
    let mut parts = vec![Vec::new(); limits.len()];
    for &n in numbers {
        if let Some(i) = limits.iter().position(|&(lo, hi)| (lo..=hi).contains(&n)) {
            parts[i].push(n);
        }
    }
    parts
}

/// Step 07 — split the numbers into ranges and sort the parts in parallel.
/// Here with rayon: what a production pool looks like from the outside.
fn step_07(numbers: &[u32]) -> Vec<((u32, u32), Vec<u32>)> {
    let mut parts = divide(numbers, &LIMITS);
    // Each part is a separate `&mut` borrow: rayon sorts them in parallel
    // in place, and the borrow checker proves no two tasks share a part.
    parts.par_iter_mut().for_each(|part| part.sort_unstable());
    LIMITS.into_iter().zip(parts).collect()
}

/// The divisions of the panic demo; the zeros panic, as `100 / 0` raises
/// `ZeroDivisionError` in Python.
const DIVISORS: [u64; 6] = [5, 0, 4, 0, 2, 1];

/// Lecture demo — jobs that panic, on a pool of two workers. Returns each
/// job's outcome (`100 / n`, or the panic's message) in submission order,
/// then the results of four jobs submitted after the panics.
///
/// The default panic hook prints each panic to stderr where it happens, on
/// the worker; the waiter gets the payload as an error, as
/// `future.result()` re-raises the task's exception in Python.
fn a_job_panics(divisors: &[u64]) -> (Vec<Result<u64, String>>, Vec<u64>) {
    let pool = MiniPool::new(2);
    let futures: Vec<_> = divisors
        .iter()
        .map(|&n| pool.submit(move || 100 / n))
        .collect();
    let outcomes = futures
        .into_iter()
        .map(|rx| {
            let outcome = rx.recv().expect("every queued job should run");
            outcome.map_err(|payload| panic_message(&*payload).to_owned())
        })
        .collect();
    // The workers that ran the panicking jobs are still there.
    let later = pool.map(1..=4u64, |n| n * 10);
    (outcomes, later)
}

fn show_step_06() {
    for (base, exponent, power) in step_06(&STEP_06_BASES, &STEP_06_EXPONENTS) {
        println!("{base} to the power of {exponent} is {power}");
    }
}

fn show_step_07() {
    for ((lo, hi), part) in step_07(&random_numbers(190_100)) {
        println!("numbers from {lo} to {hi}: {part:?}");
    }
}

fn show_a_job_panics() {
    let (outcomes, later) = a_job_panics(&DIVISORS);
    for (n, outcome) in DIVISORS.iter().zip(outcomes) {
        match outcome {
            Ok(quotient) => println!("100 / {n} = {quotient}"),
            Err(message) => println!("100 / {n}: the job panicked ({message})"),
        }
    }
    println!("jobs submitted after the panics still run: {later:?}");
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("step_06", "big powers with a hand-written pool's map", show_step_06),
        Step::new("step_07", "sort the parts of a split array in parallel", show_step_07),
        Step::new("a_job_panics", "a panicking job loses no worker", show_a_job_panics),
    ])
}

// The ordinary tests run on std's types; with the `model` feature the pool
// is built from shuttle's, which work only inside `shuttle::check_*`.
#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    /// The powers by repeated multiplication, an independent computation.
    fn by_multiplication(base: u32, exponent: u32) -> BigUint {
        (0..exponent).fold(BigUint::from(1u32), |acc, _| acc * base)
    }

    #[test]
    fn step_06_computes_exact_big_powers() {
        let results = step_06(&STEP_06_BASES, &STEP_06_EXPONENTS);
        assert_eq!(results.len(), 5);
        for ((&b, &e), (rb, re, power)) in
            STEP_06_BASES.iter().zip(&STEP_06_EXPONENTS).zip(&results)
        {
            assert_eq!((b, e), (*rb, *re), "map keeps the input order");
            assert_eq!(*power, by_multiplication(b, e));
        }
        assert_eq!(results[0].2, BigUint::from(531_441u32));
        assert_eq!(results[3].2, BigUint::from(16u32));
        assert_eq!(results[2].2, BigUint::from(22u128.pow(23)));
        // 44^31 and 43^43 overflow u128; check their sizes and last digits.
        assert!(44u128.checked_pow(31).is_none() && 43u128.checked_pow(43).is_none());
        assert_eq!(results[1].2.to_string().len(), 51);
        assert_eq!(results[4].2.to_string().len(), 71);
        let last_digits = |b: u128, e: u32| (0..e).fold(1u128, |acc, _| acc * b % 10u128.pow(12));
        let modulus = BigUint::from(10u128.pow(12));
        assert_eq!(&results[1].2 % &modulus, BigUint::from(last_digits(44, 31)));
        assert_eq!(&results[4].2 % &modulus, BigUint::from(last_digits(43, 43)));
    }

    #[test]
    fn mini_pool_runs_every_job_once_and_drains_on_drop() {
        let count = Arc::new(AtomicUsize::new(0));
        course_tests::deadline(Duration::from_secs(20), {
            let count = Arc::clone(&count);
            move || {
                let pool = MiniPool::new(3);
                for _ in 0..100 {
                    let count = Arc::clone(&count);
                    pool.execute(move || {
                        count.fetch_add(1, Ordering::Relaxed);
                    });
                }
                // Dropping waits for the queue to drain.
            }
        });
        assert_eq!(count.load(Ordering::Relaxed), 100);
    }

    #[test]
    fn mini_pool_map_keeps_input_order() {
        let out = course_tests::deadline(Duration::from_secs(20), || {
            MiniPool::new(4).map(0..50u64, |n| {
                thread::sleep(Duration::from_millis(50 - n));
                n * n
            })
        });
        assert_eq!(out, (0..50u64).map(|n| n * n).collect::<Vec<_>>());
    }

    #[test]
    fn panicking_jobs_lose_no_worker_and_reach_their_waiters() {
        const WORKERS: usize = 3;
        let (failed, later) = course_tests::deadline(Duration::from_secs(20), || {
            let pool = MiniPool::new(WORKERS);
            // As many panicking jobs as workers, twice (fire-and-forget and
            // with a waiter): enough to kill every worker of a pool that does
            // not catch them.
            for i in 0..WORKERS {
                pool.execute(move || panic!("fire-and-forget job {i} fails"));
            }
            let failed: Vec<_> = (0..WORKERS)
                .map(|i| pool.submit(move || -> usize { panic!("job {i} fails") }))
                .collect();
            let failed: Vec<_> = failed
                .into_iter()
                .map(|rx| {
                    let outcome = rx.recv().expect("the waiter hears from its job");
                    outcome.map_err(|payload| panic_message(&*payload).to_owned())
                })
                .collect();
            // Later jobs still run, on every worker at once: each waits at a
            // barrier that opens only when WORKERS of them run together.
            let barrier = Arc::new(Barrier::new(WORKERS));
            let later: Vec<_> = (0..WORKERS)
                .map(|i| {
                    let barrier = Arc::clone(&barrier);
                    pool.submit(move || {
                        barrier.wait();
                        i
                    })
                })
                .collect();
            let later: Vec<_> = later
                .into_iter()
                .map(|rx| rx.recv().expect("the job runs").ok())
                .collect();
            (failed, later)
        });
        let expected: Vec<Result<usize, String>> = (0..WORKERS)
            .map(|i| Err(format!("job {i} fails")))
            .collect();
        assert_eq!(failed, expected);
        assert_eq!(later, (0..WORKERS).map(Some).collect::<Vec<_>>());
    }

    #[test]
    fn a_job_panics_reports_each_division_and_keeps_working() {
        let (outcomes, later) =
            course_tests::deadline(Duration::from_secs(20), || a_job_panics(&DIVISORS));
        let zero = Err("attempt to divide by zero".to_owned());
        assert_eq!(
            outcomes,
            [Ok(20), zero.clone(), Ok(25), zero, Ok(50), Ok(100)]
        );
        assert_eq!(later, [10, 20, 30, 40]);
    }

    #[test]
    fn map_re_raises_a_jobs_panic_in_the_caller() {
        let caught = course_tests::deadline(Duration::from_secs(20), || {
            let pool = MiniPool::new(2);
            let caught =
                panic::catch_unwind(AssertUnwindSafe(|| pool.map([1u64, 0, 2], |n| 10 / n)));
            let message = caught.map_err(|payload| panic_message(&*payload).to_owned());
            // The pool is still whole after the panic went through `map`.
            (message, pool.map([1u64, 2], |n| 10 / n))
        });
        assert_eq!(
            caught,
            (Err("attempt to divide by zero".to_owned()), vec![10, 5])
        );
    }

    #[test]
    fn an_owner_that_panics_still_drains_the_queue() {
        let count = Arc::new(AtomicUsize::new(0));
        let owner_panicked = course_tests::deadline(Duration::from_secs(20), {
            let count = Arc::clone(&count);
            move || {
                thread::spawn(move || {
                    let pool = MiniPool::new(2);
                    for _ in 0..50 {
                        let count = Arc::clone(&count);
                        pool.execute(move || {
                            thread::sleep(Duration::from_millis(1));
                            count.fetch_add(1, Ordering::Relaxed);
                        });
                    }
                    // Unwinding drops the pool: the queue closes, the
                    // workers finish what is queued, `drop` joins them.
                    panic!("the pool's owner goes away");
                })
                .join()
                .is_err()
            }
        });
        assert!(owner_panicked);
        assert_eq!(count.load(Ordering::Relaxed), 50);
    }

    #[test]
    fn step_07_sorts_every_number_into_its_range() {
        let numbers = random_numbers(7);
        let parts = step_07(&numbers);
        let all: Vec<u32> = parts.iter().flat_map(|(_, p)| p.clone()).collect();
        // Concatenating the sorted ranges gives the whole list sorted.
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        assert_eq!(all, sorted);
        for ((lo, hi), part) in &parts {
            assert!(part.is_sorted());
            assert!(part.iter().all(|n| (lo..=hi).contains(&n)));
        }
    }
}

/// Model checks of `MiniPool` (`cargo test -p module_02 --features model`):
/// shuttle runs the pool's threads under many random and PCT schedules, with
/// its own `Mutex`, channels and threads in place of std's.
#[cfg(all(test, feature = "model"))]
mod model {
    use super::*;
    use shuttle::sync::atomic::{AtomicUsize, Ordering};

    const ITERATIONS: usize = 1_000;

    /// A job that panics. `resume_unwind` unwinds exactly as `panic!` does
    /// but skips the panic hook, which keeps thousands of schedules quiet.
    fn panicking_job() {
        panic::resume_unwind(Box::new("a job panics"));
    }

    /// The property: on two workers, two panicking jobs (enough to kill both
    /// workers of a pool that does not catch them) lose no worker; each
    /// counting job runs exactly once; a later job's waiter gets its value;
    /// and once `shut_down` (dropping the pool) returns, every queued job has
    /// run.
    fn every_job_runs_once_and_no_worker_is_lost(pool: MiniPool, shut_down: fn(MiniPool)) {
        let count = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            pool.execute(panicking_job);
            let count = Arc::clone(&count);
            pool.execute(move || {
                count.fetch_add(1, Ordering::SeqCst);
            });
        }
        let answer = pool.submit(|| 42);
        let answer = answer.recv().expect("the job runs").ok();
        assert_eq!(answer, Some(42), "a job after the panics runs");
        shut_down(pool);
        assert_eq!(
            count.load(Ordering::SeqCst),
            2,
            "every queued job ran exactly once before drop returned"
        );
    }

    fn run(pool: fn() -> MiniPool, shut_down: fn(MiniPool)) {
        let property = move || every_job_runs_once_and_no_worker_is_lost(pool(), shut_down);
        shuttle::check_random(property, ITERATIONS);
        shuttle::check_pct(property, ITERATIONS, 3);
    }

    /// Runs a model that must fail and returns the checker's message.
    fn caught(pool: fn() -> MiniPool, shut_down: fn(MiniPool)) -> String {
        let failure = panic::catch_unwind(|| run(pool, shut_down))
            .expect_err("the checker must catch the broken pool");
        panic_message(&*failure).to_owned()
    }

    #[test]
    fn model_mini_pool_runs_every_job_once_and_loses_no_worker() {
        run(|| MiniPool::new(2), drop);
    }

    /// Broken: the pool before the fix, whose workers run jobs without
    /// `catch_unwind`.
    fn pool_that_loses_workers() -> MiniPool {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let workers = (0..2)
            .map(|_| {
                let jobs = Arc::clone(&jobs);
                thread::spawn(move || {
                    loop {
                        let next = jobs.lock().expect("not poisoned").recv();
                        let Ok(job) = next else { break };
                        job();
                    }
                })
            })
            .collect();
        MiniPool {
            queue: Some(queue),
            workers,
        }
    }

    #[test]
    fn model_catches_a_pool_whose_workers_die_with_their_jobs() {
        let message = caught(pool_that_loses_workers, drop);
        assert!(message.contains("a job panics"), "{message}");
    }

    /// Broken: `shutdown(wait=False)` — close the queue but do not join the
    /// workers.
    fn drop_without_waiting(mut pool: MiniPool) {
        let workers = std::mem::take(&mut pool.workers);
        drop(pool);
        drop(workers);
    }

    #[test]
    fn model_catches_a_drop_that_does_not_wait_for_queued_jobs() {
        let message = caught(|| MiniPool::new(2), drop_without_waiting);
        assert!(message.contains("before drop returned"), "{message}");
    }
}
