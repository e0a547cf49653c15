//! Lesson 2.9 — How many threads («Количество потоков»)
//!
//! How big a pool should be depends on what the tasks do. Tasks that mostly
//! *wait* (network, disk, sleep) keep getting faster with more threads, far
//! beyond the number of cores; tasks that *compute* speed up only until every
//! core is busy. Unlike Python, whose GIL lets one thread run Python code at
//! a time, Rust threads really do run CPU-bound code in parallel. (CPython's
//! free-threaded build — `python3.13t`, experimental in 3.13, supported from
//! 3.14, not the default — has no GIL, and there Python threads compute in
//! parallel too.)
//!
//! | Python                                          | Rust                                                        |
//! |-------------------------------------------------|-------------------------------------------------------------|
//! | `os.process_cpu_count()` (3.13+; CPUs this process may use) | `std::thread::available_parallelism()` (also lowered by a cgroup CPU quota) |
//! | `os.cpu_count()` (every CPU of the machine)     | no std counterpart                                          |
//! | default `max_workers = min(32, (os.cpu_count() or 1) + 4)` (3.8–3.12; 3.13+: `process_cpu_count()`) | rayon: `RAYON_NUM_THREADS`, else `available_parallelism()` |
//! | `ThreadPoolExecutor(max_workers=1000)`          | `futures::executor::ThreadPool::builder().pool_size(1000)`   |
//! | `ex.submit(time.sleep, 1)` ×1000                | `pool.spawn_with_handle(async move { thread::sleep(d) })`    |
//! | `wait(futures)`                                 | `block_on(join_all(handles))`                               |
//! | CPU-bound pool of n threads                     | `rayon::ThreadPoolBuilder::new().num_threads(n)` + `par_iter` |
//! | CPU-bound threads: no speed-up (with the GIL)   | CPU-bound threads: speed-up up to the core count            |
//! | `time.perf_counter()`                           | `std::time::Instant::now()` / `.elapsed()`                  |
//!
//! - Run all steps: `cargo run -p module_02 --bin lesson_09`
//! - Run one step:  `cargo run -p module_02 --bin lesson_09 -- io_bound`
//!
//! The times depend on the number of cores, on what else the machine is
//! running, and (for counting primes) on the build: `cargo run` builds the
//! counting (the `primes` crate) at `opt-level = 1` with debug assertions
//! on, and the rest of the lesson unoptimised. So
//! each pool size runs once uncounted and then five times, in rounds that
//! take turns; the table shows the median and the fastest and slowest run,
//! and the `verdict:` line is worked out from those numbers, round by round
//! (the `measure` crate says how and why).
//!
//! Try:
//! - In `show_io_bound`, put 100 in front of `sizes`: the 1,000 one-second
//!   sleeps on 100 threads take about 10 s, ten rounds of 100 (and the step
//!   a minute and a half: six rounds of 15 s).
//! - In `show_cpu_bound`, cut the work into 1 chunk instead of 16: every
//!   pool size says `{1}` thread took chunks, since one chunk is one task on
//!   one thread, and the verdict finds no clear difference.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use futures::executor::{ThreadPool, block_on};
use futures::future::join_all;
use futures::task::SpawnExt;
use measure::{RUNS, machine, pool_table, rounds};
// Is `n` prime? Trial division, deliberately CPU-heavy: a crate of its own,
// built optimised (the root `Cargo.toml` says why).
use primes::is_prime;
use rayon::prelude::*;
use step_runner::{Sink, Step, lesson_id};

const TITLE: &str = "Lesson 2.9 — How many threads («Количество потоков»)";

fn cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

fn pool_of(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the pool should build")
}

/// The default pool sizes of the Rust pools on this machine, and Python's
/// formula. Python's own count can differ from `available_parallelism`:
/// `os.cpu_count()` (its default before 3.13) counts every CPU of the
/// machine, `os.process_cpu_count()` (3.13+) those this process may run on;
/// neither looks at a cgroup CPU quota, which std does (its docs, Linux).
fn defaults() -> Vec<String> {
    let cores = cores();
    vec![
        format!("CPUs this process may use (available_parallelism): {cores}"),
        format!(
            "Python ThreadPoolExecutor default: min(32, CPUs + 4), here {} if Python counts {cores} CPUs",
            (cores + 4).min(32)
        ),
        format!(
            "rayon default pool: {} threads",
            pool_of(0).current_num_threads()
        ),
        // futures-executor's `ThreadPoolBuilder::new` and tokio's runtime
        // builder both start from `available_parallelism()`.
        format!("futures::executor::ThreadPool default: {cores} threads"),
        format!(
            "tokio: {cores} worker threads (TOKIO_WORKER_THREADS overrides), plus up to 512 for spawn_blocking"
        ),
    ]
}

/// `tasks` tasks that each sleep `delay`, on a pool of `threads` threads.
/// Returns how many tasks ran and the wall time.
///
/// Waiting work goes to `futures`' pool, whose idle workers block on the job
/// queue. Rayon (used below for computing) lets an idle worker search for
/// work to steal, yielding, for a few dozen rounds before it sleeps: right
/// for CPU work, wasteful with 1,000 mostly idle threads.
fn io_bound(tasks: usize, threads: usize, delay: Duration) -> (usize, Duration) {
    let pool = ThreadPool::builder()
        .pool_size(threads)
        .create()
        .expect("the pool should start");
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            pool.spawn_with_handle(async move {
                thread::sleep(delay);
                1usize
            })
            .expect("the pool should accept tasks")
        })
        .collect();
    let ran = block_on(join_all(handles)).into_iter().sum();
    (ran, started.elapsed())
}

/// One CPU-bound run: the answer, the wall time, and how many of the pool's
/// threads took a chunk.
struct CpuRun {
    primes: usize,
    elapsed: Duration,
    threads_used: usize,
}

/// Count the primes below `limit`, split into `chunks` ranges processed on a
/// pool of `threads` threads, timing only the counting.
fn cpu_bound(limit: u64, chunks: u64, threads: usize) -> CpuRun {
    let pool = pool_of(threads);
    let step = limit.div_ceil(chunks);
    let started = Instant::now();
    let per_chunk: Vec<(usize, usize)> = pool.install(|| {
        (0..chunks)
            .into_par_iter()
            .map(|c| {
                let primes = (c * step..((c + 1) * step).min(limit))
                    .filter(|&n| is_prime(n))
                    .count();
                // Which of this pool's workers ran the chunk.
                let worker = rayon::current_thread_index()
                    .expect("`install` should run the chunks on the pool");
                (primes, worker)
            })
            .collect()
    });
    let elapsed = started.elapsed();
    let workers: BTreeSet<_> = per_chunk.iter().map(|&(_, worker)| worker).collect();
    CpuRun {
        primes: per_chunk.iter().map(|&(primes, _)| primes).sum(),
        elapsed,
        threads_used: workers.len(),
    }
}

fn show_defaults() {
    for line in defaults() {
        println!("{line}");
    }
}

fn show_io_bound() {
    let sink = Sink::stdout();
    let sizes = [250, 1000];
    sink.note("1,000 one-second sleeps, ms per run on 250 and 1,000 threads:");
    // Each round takes 5 s of sleeping; fewer than five rounds could never
    // give a verdict (the `measure` crate's `wins_needed`).
    let mut ran = BTreeSet::new();
    let samples = rounds(&sink, &sizes, RUNS, |threads| {
        let (count, elapsed) = io_bound(1000, threads, Duration::from_secs(1));
        ran.insert(count);
        elapsed
    });
    pool_table(&sizes, &samples)
        .into_iter()
        .for_each(|l| sink.note(l));
    sink.note(format!("tasks that ran (every run): {ran:?}"));
}

fn show_cpu_bound() {
    let sink = Sink::stdout();
    let sizes = [1, 2, 4, 8];
    sink.note(format!("here: {}", machine()));
    sink.note(
        "counting the primes below 1,000,000 in 16 chunks, ms per run on 1, 2, 4, 8 threads:",
    );
    let (mut primes, mut used) = (BTreeSet::new(), vec![BTreeSet::new(); sizes.len()]);
    let samples = rounds(&sink, &sizes, RUNS, |threads| {
        let run = cpu_bound(1_000_000, 16, threads);
        primes.insert(run.primes);
        let row = sizes
            .iter()
            .position(|&n| n == threads)
            .expect("a listed size");
        used[row].insert(run.threads_used);
        run.elapsed
    });
    pool_table(&sizes, &samples)
        .into_iter()
        .for_each(|l| sink.note(l));
    let used: Vec<String> = sizes
        .iter()
        .zip(&used)
        .map(|(n, u)| format!("{n}: {u:?}"))
        .collect();
    sink.note(format!(
        "threads that took chunks, per pool size: {}",
        used.join(", ")
    ));
    sink.note(format!("primes counted (every run): {primes:?}"));
    sink.note("in CPython with the GIL (the default build) every pool size would stay near 1 thread's time");
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("defaults", "default pool sizes on this machine", show_defaults),
        Step::new("io_bound", "1,000 one-second sleeps on 250 and 1,000 threads", show_io_bound),
        Step::new("cpu_bound", "counting primes on 1, 2, 4, 8 threads", show_cpu_bound),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeping_tasks_overlap_on_a_big_pool() {
        let (ran, elapsed) = course_tests::deadline(Duration::from_secs(30), || {
            io_bound(200, 200, Duration::from_millis(50))
        });
        assert_eq!(ran, 200);
        // The measurement covers the work: every task sleeps 50 ms, so the
        // wall time cannot be shorter.
        assert!(elapsed >= Duration::from_millis(50), "{elapsed:?}");
        // Sequentially this would take 10 s; overlapping, about 50 ms.
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    }

    #[test]
    fn the_prime_count_is_right_on_any_pool_size_and_runs_on_that_pool() {
        for threads in [1, 2, 3] {
            let outside = Instant::now();
            let run = cpu_bound(100_000, 7, threads);
            assert_eq!(run.primes, 9592, "pi(100000) on {threads} threads");
            // The chunks ran on the pool's own workers (`cpu_bound` panics
            // off the pool), and on no more threads than it has.
            assert!(
                (1..=threads).contains(&run.threads_used),
                "{} on {threads}",
                run.threads_used
            );
            // The time is measured inside the call, around the counting.
            assert!(run.elapsed <= outside.elapsed());
        }
        assert_eq!(cpu_bound(10, 3, 2).primes, 4);
    }

    #[test]
    fn defaults_mention_pythons_formula() {
        let cores = cores();
        assert!(defaults().contains(&format!(
            "Python ThreadPoolExecutor default: min(32, CPUs + 4), here {} if Python counts {cores} CPUs",
            (cores + 4).min(32)
        )));
    }
}
