//! Lesson 2.9 — How many threads («Количество потоков»)
//!
//! How big a pool should be depends on what the tasks do. Tasks that mostly
//! *wait* (network, disk, sleep) keep getting faster with more threads, far
//! beyond the number of cores; tasks that *compute* speed up only until every
//! core is busy. Unlike Python, whose GIL lets one thread run Python code at
//! a time, Rust threads really do run CPU-bound code in parallel.
//!
//! | Python                                          | Rust                                                        |
//! |-------------------------------------------------|-------------------------------------------------------------|
//! | `os.cpu_count()`                                | `std::thread::available_parallelism()`                      |
//! | default `max_workers = min(32, cpu_count + 4)`  | rayon: one thread per logical core (`RAYON_NUM_THREADS`)     |
//! | `ThreadPoolExecutor(max_workers=1000)`          | `futures::executor::ThreadPool::builder().pool_size(1000)`   |
//! | `ex.submit(time.sleep, 1)` ×1000                | `pool.spawn_with_handle(async move { thread::sleep(d) })`    |
//! | `wait(futures)`                                 | `block_on(join_all(handles))`                               |
//! | CPU-bound pool of n threads                     | `rayon::ThreadPoolBuilder::new().num_threads(n)` + `par_iter` |
//! | CPU-bound threads: no speed-up (GIL)            | CPU-bound threads: speed-up up to the core count            |
//! | `time.perf_counter()`                           | `std::time::Instant::now()` / `.elapsed()`                  |
//!
//! Run all steps: `cargo run -p module_02 --bin lesson_09`
//! Run one step:  `cargo run -p module_02 --bin lesson_09 -- io_bound`
//! Times depend on the machine; the printed numbers are this run's.

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use futures::executor::{ThreadPool, block_on};
use futures::future::join_all;
use futures::task::SpawnExt;
use rayon::prelude::*;
use step_runner::{Step, lesson_id};

fn cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

fn pool_of(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("building a thread pool")
}

/// The default pool sizes of Python and of the Rust pools, on this machine.
fn defaults() -> Vec<String> {
    let cores = cores();
    vec![
        format!("logical cores (available_parallelism): {cores}"),
        format!(
            "Python ThreadPoolExecutor default: min(32, {cores} + 4) = {}",
            (cores + 4).min(32)
        ),
        format!(
            "rayon default pool: {} threads",
            pool_of(0).current_num_threads()
        ),
        "futures::executor::ThreadPool default: one thread per logical core".to_owned(),
        "tokio: one worker per core, plus up to 512 threads for spawn_blocking".to_owned(),
    ]
}

/// `tasks` tasks that each sleep `delay`, on a pool of `threads` threads.
/// Returns how many tasks ran and the wall time.
///
/// Waiting work goes to `futures`' pool, whose idle workers block on the job
/// queue. Rayon (used below for computing) lets idle workers spin looking for
/// work to steal: right for CPU work, wasteful with 1,000 mostly idle threads.
fn io_bound(tasks: usize, threads: usize, delay: Duration) -> (usize, Duration) {
    let pool = ThreadPool::builder()
        .pool_size(threads)
        .create()
        .expect("creating the thread pool");
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            pool.spawn_with_handle(async move {
                thread::sleep(delay);
                1usize
            })
            .expect("the pool accepts tasks")
        })
        .collect();
    let ran = block_on(join_all(handles)).into_iter().sum();
    (ran, started.elapsed())
}

/// Is `n` prime? Plain trial division: deliberately CPU-heavy.
fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

/// Count the primes below `limit`, split into `chunks` ranges processed on a
/// pool of `threads` threads. Returns the count and the wall time.
fn cpu_bound(limit: u64, chunks: u64, threads: usize) -> (usize, Duration) {
    let pool = pool_of(threads);
    let step = limit.div_ceil(chunks);
    let started = Instant::now();
    let count = pool.install(|| {
        (0..chunks)
            .into_par_iter()
            .map(|c| {
                (c * step..((c + 1) * step).min(limit))
                    .filter(|&n| is_prime(n))
                    .count()
            })
            .sum()
    });
    (count, started.elapsed())
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 2.9 — How many threads («Количество потоков»)",
        &[
            Step::new("defaults", "default pool sizes on this machine", || {
                for line in defaults() {
                    println!("{line}");
                }
            }),
            Step::new(
                "io_bound",
                "1,000 one-second sleeps on 250 and 1,000 threads",
                || {
                    for threads in [250, 1000] {
                        let (ran, elapsed) = io_bound(1000, threads, Duration::from_secs(1));
                        println!("{ran} sleeping tasks on {threads:>4} threads: {elapsed:.2?}");
                    }
                    println!(
                        "waiting tasks scale with the thread count, far past the number of cores"
                    );
                },
            ),
            Step::new("cpu_bound", "counting primes on 1, 2, 4, 8 threads", || {
                let cores = cores();
                println!("{cores} logical cores");
                let mut single = None;
                for threads in [1, 2, 4, 8] {
                    let (count, elapsed) = cpu_bound(1_500_000, 16, threads);
                    let base = *single.get_or_insert(elapsed);
                    let speedup = base.as_secs_f64() / elapsed.as_secs_f64();
                    println!(
                        "{count} primes on {threads} threads: {elapsed:>8.2?} (speed-up {speedup:.2}x)"
                    );
                }
                println!(
                    "computing tasks stop speeding up once every core is busy ({cores} here);"
                );
                println!("in CPython the GIL would keep them near 1x at any thread count");
            }),
        ],
    )
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
        // Sequentially this would take 10 s; overlapping, about 50 ms.
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    }

    #[test]
    fn the_prime_count_is_right_on_any_pool_size() {
        for threads in [1, 2, 3] {
            let (count, elapsed) = cpu_bound(100_000, 7, threads);
            assert_eq!(count, 9592, "pi(100000) on {threads} threads");
            assert!(elapsed > Duration::ZERO);
        }
        assert_eq!(cpu_bound(10, 3, 2).0, 4);
    }

    #[test]
    fn defaults_mention_pythons_formula() {
        let cores = cores();
        assert!(defaults().contains(&format!(
            "Python ThreadPoolExecutor default: min(32, {cores} + 4) = {}",
            (cores + 4).min(32)
        )));
    }
}
