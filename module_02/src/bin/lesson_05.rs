//! Lesson 2.5 — What executors are («Что такое Executors»)
//!
//! An executor separates *what* to run (a task) from *how* it runs (which
//! thread, when). This lesson writes a minimal pool by hand — a channel of
//! boxed jobs, N workers, shutdown by dropping the sender — to show what a
//! pool is made of. Writing it is the lesson; in real code use `rayon`
//! (`ThreadPoolBuilder`) or `futures::executor::ThreadPool`, which add work
//! stealing, panic handling, scoped borrowing and much more.
//!
//! | Python                                   | Rust (`MiniPool` below)                       | Rust (real crate)                     |
//! |------------------------------------------|-----------------------------------------------|---------------------------------------|
//! | `Executor` (abstract base class)         | a type with `execute(job)`                    | `futures::task::Spawn` trait          |
//! | `ThreadPoolExecutor(max_workers=n)`      | `MiniPool::new(n)`                            | `rayon::ThreadPoolBuilder::num_threads(n)` |
//! | `ex.submit(f, *args)` → `Future`         | `pool.submit(move \|\| f(args))` → `Receiver<T>` | `pool.spawn_with_handle(fut)`        |
//! | `ex.map(f, xs, ys)`                      | `pool.map(items, f)` (ordered results)        | `pool.install(\|\| xs.par_iter().map(f).collect())` |
//! | `ex.shutdown(wait=True)` / end of `with` | `drop(pool)`: close the queue, join workers   | `pool.scope` / `install` return when done |
//! | `base ** exponent` (unbounded `int`)     | `BigUint::from(base).pow(exponent)`           |                                       |
//!
//! Run all steps: `cargo run -p module_02 --bin lesson_05`
//! Run one step:  `cargo run -p module_02 --bin lesson_05 -- step_06`

use std::process::ExitCode;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};
use num_bigint::BigUint;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use step_runner::{Step, lesson_id};

/// A unit of work: any closure that can be sent to another thread and run
/// once.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// A minimal fixed-size thread pool. Illustration only — see the header.
struct MiniPool {
    /// `Option` so that `drop` can take and drop it before joining.
    queue: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl MiniPool {
    fn new(size: usize) -> Self {
        assert!(size > 0, "a pool needs at least one worker");
        let (queue, jobs) = crossbeam_channel::unbounded::<Job>();
        let workers = (0..size)
            .map(|i| {
                // crossbeam's receiver is multi-consumer: every worker holds a
                // clone and each job goes to exactly one of them.
                let jobs = jobs.clone();
                thread::Builder::new()
                    .name(format!("mini-pool-{i}"))
                    // The loop ends when the queue is closed *and* empty, so
                    // queued jobs still run after shutdown begins.
                    .spawn(move || jobs.iter().for_each(|job| job()))
                    .expect("spawning a worker")
            })
            .collect();
        Self {
            queue: Some(queue),
            workers,
        }
    }

    /// Queue a job; some idle worker will run it.
    fn execute(&self, job: impl FnOnce() + Send + 'static) {
        let queue = self.queue.as_ref().expect("the queue is open until drop");
        queue.send(Box::new(job)).expect("workers live until drop");
    }

    /// `submit`: queue a job and return a receiver for its result — the
    /// simplest possible future.
    fn submit<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Receiver<T> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.execute(move || {
            // The caller may have dropped the receiver; then nobody wants
            // the value and dropping it is right.
            let _ = tx.send(f());
        });
        rx
    }

    /// `map`: submit every item, then read the results in input order.
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
            .map(|rx| rx.recv().expect("a job panicked"))
            .collect()
    }
}

impl Drop for MiniPool {
    /// `shutdown(wait=True)`: close the queue, let the workers finish what
    /// is queued, then join them.
    fn drop(&mut self) {
        drop(self.queue.take());
        for worker in self.workers.drain(..) {
            // A job that panicked killed its worker; don't panic in drop.
            let _ = worker.join();
        }
    }
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

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 2.5 — What executors are («Что такое Executors»)",
        &[
            Step::new(
                "step_06",
                "big powers with a hand-written pool's map",
                || {
                    for (base, exponent, power) in step_06(&STEP_06_BASES, &STEP_06_EXPONENTS) {
                        println!("{base} to the power of {exponent} is {power}");
                    }
                },
            ),
            Step::new(
                "step_07",
                "sort the parts of a split array in parallel",
                || {
                    for ((lo, hi), part) in step_07(&random_numbers(190_100)) {
                        println!("numbers from {lo} to {hi}: {part:?}");
                    }
                },
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
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
