//! Lesson 9.13 — Process pool best practices («Лучшие практики использования пула процессов»)
//!
//! Scope the pool to the work, keep tasks independent and return results
//! instead of sharing mutable state, size chunks so each task is worth its
//! overhead, keep the pool for CPU-bound work, and reach for real processes
//! when you need isolation from crashes.
//!
//! | Python                                       | Rust                                                           |
//! |----------------------------------------------|----------------------------------------------------------------|
//! | `pool.close(); pool.join()` (wait for all)   | `pool.scope(\|s\| …)` / `rayon::scope`: every task done at `}`   |
//! | pass data in, return results (no globals)    | `par_iter().map(…).sum()`: a reduction, no `Mutex` needed      |
//! | `multiprocessing.Value` + lock for a counter | `Mutex`/atomics work, but contend: prefer the reduction        |
//! | `pool.map(f, items, chunksize=…)`            | `with_min_len(n)`; for processes, fewer bigger tasks           |
//! | threads (or asyncio) for I/O, pool for CPU   | `std::thread`/tokio for waiting, rayon for computing           |
//! | `if __name__ == "__main__":`                 | the worker mode check on the first line of `main`              |
//! | a crashing worker process                    | `WorkerError::Died`; replace the worker, the parent carries on |
//!
//! `with Pool() as pool:` is not the waiting kind: its `__exit__` calls
//! `terminate()`, which throws pending tasks away, so results must be
//! collected (`map`, `get`) inside the block (`multiprocessing/pool.py`).
//!
//! Run all steps: `cargo run -p module_09 --bin lesson_13`
//! Run one step:  `cargo run -p module_09 --bin lesson_13 -- isolate_crashes`

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use module_09::{Task, WorkerError, map_in_processes, split_range};
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use step_runner::{Step, lesson_id};

fn pool(threads: usize) -> ThreadPool {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the OS can start the pool's threads")
}

/// `pool.close(); pool.join()`: a scope ends only when every task spawned in
/// it has ended, so tasks may borrow local data, here disjoint `&mut` parts
/// of one vector. (Leaving `with Pool() as pool:` does not wait: it
/// terminates the workers.)
fn scope_the_pool(pool: &ThreadPool, values: &mut [u64]) {
    pool.scope(|s| {
        for part in values.chunks_mut(4) {
            s.spawn(move |_| {
                for v in part {
                    *v *= *v;
                }
            });
        }
    });
    // Every part is squared here: the scope waited for all of its tasks.
}

/// The same sum, as a reduction and through a shared `Mutex`.
fn no_shared_state(n: u64) -> ((u64, Duration), (u64, Duration)) {
    let started = Instant::now();
    let reduced: u64 = (0..n).into_par_iter().map(|x| x % 7).sum();
    let reduce_time = started.elapsed();

    let total = Mutex::new(0u64);
    let started = Instant::now();
    (0..n).into_par_iter().for_each(|x| {
        // Correct in Rust, but every item queues for the same lock.
        *total.lock().expect("no task panics holding the lock") += x % 7;
    });
    let locked = total.into_inner().expect("no task panics holding the lock");
    ((reduced, reduce_time), (locked, started.elapsed()))
}

/// Count primes below `limit` in worker processes, cut into `tasks` tasks:
/// every task is a round trip through a pipe, so tiny tasks cost more in
/// messages than in work. Returns the count and the time.
fn chunk_sizes(
    program: &Path,
    limit: u64,
    tasks: u64,
    workers: usize,
) -> Result<(u64, Duration), WorkerError> {
    let tasks: Vec<Task> = split_range(limit, tasks)
        .into_iter()
        .map(|r| Task::CountPrimes {
            start: r.start,
            end: r.end,
        })
        .collect();
    let started = Instant::now();
    let mut total = 0;
    for reply in map_in_processes(program, workers, &tasks) {
        total += reply?.value;
    }
    Ok((total, started.elapsed()))
}

/// `count` tasks that only wait (I/O stand-ins): on a 2-thread rayon pool,
/// and on one plain thread each.
fn cpu_bound_only(count: usize, wait: Duration) -> (Duration, Duration) {
    let started = Instant::now();
    pool(2).install(|| (0..count).into_par_iter().for_each(|_| thread::sleep(wait)));
    let on_rayon = started.elapsed();

    let started = Instant::now();
    thread::scope(|s| {
        for _ in 0..count {
            s.spawn(|| thread::sleep(wait));
        }
    });
    (on_rayon, started.elapsed())
}

/// What a crash-isolating process pool returned.
#[derive(Debug)]
struct Isolated {
    /// Per task: the worker's pid and value, or the error.
    results: Vec<Result<(u32, u64), String>>,
}

/// One poisoned task among healthy ones, on two worker processes: the
/// worker that ran it dies and is replaced; every other task completes.
fn isolate_crashes(program: &Path) -> Isolated {
    let mut tasks: Vec<Task> = split_range(50_000, 6)
        .into_iter()
        .map(|r| Task::CountPrimes {
            start: r.start,
            end: r.end,
        })
        .collect();
    tasks.insert(2, Task::Crash("corrupt record".into()));
    let results = map_in_processes(program, 2, &tasks)
        .into_iter()
        .map(|r| {
            r.map(|reply| (reply.pid, reply.value))
                .map_err(|e| e.to_string())
        })
        .collect();
    Isolated { results }
}

fn this_program() -> PathBuf {
    std::env::current_exe().expect("the running program's path")
}

const PRIME_LIMIT: u64 = 200_000;
const WAIT: Duration = Duration::from_millis(200);

fn main() -> ExitCode {
    // A child started by this lesson serves tasks and never reaches the steps.
    module_09::run_worker_if_requested();
    step_runner::run(
        lesson_id!(),
        "Lesson 9.13 — Process pool best practices («Лучшие практики использования пула процессов»)",
        &[
            Step::new(
                "scope_the_pool",
                "a scope ends when all its tasks have ended",
                || {
                    let mut values: Vec<u64> = (1..=10).collect();
                    scope_the_pool(&pool(2), &mut values);
                    println!("squared in place by scoped tasks: {values:?}");
                },
            ),
            Step::new(
                "no_shared_state",
                "return and reduce instead of locking a counter",
                || {
                    let ((reduced, rt), (locked, lt)) = no_shared_state(2_000_000);
                    println!("reduction:      {reduced} in {rt:.2?}");
                    println!(
                        "shared mutex:   {locked} in {lt:.2?} (same sum, every item takes the lock)"
                    );
                },
            ),
            Step::new(
                "chunk_sizes",
                "fewer, bigger tasks for worker processes",
                || {
                    for tasks in [20_000, 200, 2] {
                        match chunk_sizes(&this_program(), PRIME_LIMIT, tasks, 2) {
                            Ok((total, time)) => {
                                println!(
                                    "{tasks:>5} tasks: {total} primes below {PRIME_LIMIT} in {time:.2?}"
                                )
                            }
                            Err(e) => println!("error: {e}"),
                        }
                    }
                },
            ),
            Step::new(
                "cpu_bound_only",
                "waiting tasks belong on threads, not in the pool",
                || {
                    let (on_rayon, on_threads) = cpu_bound_only(8, WAIT);
                    println!("8 tasks waiting {WAIT:?} each:");
                    println!("  rayon pool of 2 threads: {on_rayon:.2?} (two at a time)");
                    println!("  a thread per task:       {on_threads:.2?}");
                },
            ),
            Step::new(
                "isolate_crashes",
                "a poisoned task kills its worker, not the pool",
                || {
                    for (i, r) in isolate_crashes(&this_program()).results.iter().enumerate() {
                        match r {
                            Ok((pid, value)) => println!("task {i}: {value} (worker pid {pid})"),
                            Err(e) => println!("task {i}: {e}"),
                        }
                    }
                },
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use module_09::count_primes;
    use std::collections::BTreeSet;

    fn lesson_binary() -> PathBuf {
        // In a unit test `current_exe()` is the test harness: use the lesson.
        course_tests::lesson_binaries("module_09").join("lesson_13")
    }

    #[test]
    fn the_scope_waits_for_every_task() {
        let mut values: Vec<u64> = (1..=10).collect();
        scope_the_pool(&pool(2), &mut values);
        assert_eq!(values, (1..=10u64).map(|x| x * x).collect::<Vec<_>>());
    }

    #[test]
    fn reduction_and_mutex_agree_with_the_loop() {
        let ((reduced, _), (locked, _)) = no_shared_state(100_000);
        let expected: u64 = (0..100_000u64).map(|x| x % 7).sum();
        assert_eq!((reduced, locked), (expected, expected));
    }

    #[test]
    fn any_chunking_counts_the_same_primes() {
        let program = lesson_binary();
        course_tests::deadline(Duration::from_secs(60), move || {
            for tasks in [50, 5, 1] {
                assert_eq!(chunk_sizes(&program, 20_000, tasks, 2).unwrap().0, 2262);
            }
        });
    }

    #[test]
    fn waiting_tasks_are_throttled_by_the_pool_size() {
        let wait = Duration::from_millis(40);
        let (on_rayon, on_threads) = cpu_bound_only(8, wait);
        // 8 waits on 2 threads cannot take less than 4 waits.
        assert!(on_rayon >= wait * 4, "{on_rayon:?}");
        assert!(on_threads >= wait);
        assert!(on_threads < on_rayon, "{on_threads:?} vs {on_rayon:?}");
    }

    #[test]
    fn only_the_poisoned_task_fails() {
        let program = lesson_binary();
        let r = course_tests::deadline(Duration::from_secs(60), move || isolate_crashes(&program));
        assert_eq!(r.results.len(), 7);
        let err = r.results[2].as_ref().unwrap_err();
        assert!(err.contains("corrupt record"), "{err}");
        let ok: Vec<(u32, u64)> = r
            .results
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != 2)
            .map(|(_, r)| *r.as_ref().unwrap())
            .collect();
        assert_eq!(
            ok.iter().map(|&(_, n)| n).sum::<u64>(),
            count_primes(0..50_000)
        );
        let pids: BTreeSet<u32> = ok.iter().map(|&(pid, _)| pid).collect();
        assert!(!pids.contains(&std::process::id()));
    }
}
