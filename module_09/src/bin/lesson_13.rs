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
//! The first two steps show that life cycle with real worker processes
//! ([`module_09::ProcessPool`]): `close()` + `join()` waits, leaving the
//! block kills.
//!
//! The measuring steps (`no_shared_state`, `chunk_sizes`, `cpu_bound_only`)
//! print the median of a few alternating rounds after an uncounted warm-up
//! round, with its spread (fastest to slowest run), and end with a
//! `verdict:` computed from them, round by round (the `measure` crate). Their numbers
//! depend on the cores, on what else the machine runs, and on the build:
//! `cargo run` builds the prime counting (the `primes` crate) at opt-level
//! 1 and this lesson unoptimised, with debug assertions on.
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_13`
//! - Run one step:  `cargo run -p module_09 --bin lesson_13 -- isolate_crashes`
//!
//! Try:
//! - In `with_block_terminates`, move the `results` collection into the
//!   block (`.map(|r| r.get())` before the block ends) and run
//!   `-- with_block_terminates`: every task now says `done in worker …`,
//!   and the pool ends only after the naps.
//! - In `close_then_join`, call `pool.terminate()` instead of `pool.join()`:
//!   the pool ends at once and every task reports that it was terminated.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use measure::{Runs, best, faster_verdict, time_rounds};
use module_09::{
    AsyncResult, PoolClosed, ProcessPool, Reply, Task, TaskError, WorkerError, map_in_processes,
    split_range,
};
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use step_runner::{Sink, Step, lesson_id};

fn pool(threads: usize) -> ThreadPool {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the OS can start the pool's threads")
}

/// What the life-cycle steps saw: per task, its outcome as `get` returned it
/// the first and the second time, and whether `ready()` said so.
#[derive(Debug)]
struct LifeCycle {
    pids: Vec<u32>,
    /// Per task: `get()`, `get()` again, `ready()` after both.
    outcomes: Vec<(Outcome, Outcome, bool)>,
    /// What `apply_async` said after `close()`, if it was tried.
    after_close: Option<Result<(), PoolClosed>>,
    /// From the end of the pool's life (`join`, or the `with` block) to here.
    ended_in: Duration,
}

type Outcome = Result<Reply, TaskError>;

fn outcomes(results: &[AsyncResult]) -> Vec<(Outcome, Outcome, bool)> {
    results
        .iter()
        .map(|r| (r.get(), r.get(), r.ready()))
        .collect()
}

/// `pool = Pool(2)`, four `apply_async` naps, `close()`, `join()`: the
/// queued tasks all run; a task offered after `close` is refused.
fn close_then_join(program: &Path, nap: u64) -> LifeCycle {
    let mut pool = ProcessPool::new(program, 2).expect("the lesson starts as a worker");
    let pids = pool.pids().to_vec();
    let results: Vec<AsyncResult> = (0..4)
        .map(|_| {
            pool.apply_async(Task::Sleep(nap))
                .expect("the pool is open")
        })
        .collect();
    pool.close();
    let after_close = Some(pool.apply_async(Task::Pid).map(drop));
    let joining = Instant::now();
    pool.join();
    let ended_in = joining.elapsed();
    LifeCycle {
        pids,
        outcomes: outcomes(&results),
        after_close,
        ended_in,
    }
}

fn show_close_then_join() {
    show_life_cycle(&close_then_join(&this_program(), NAP_MS));
}

/// The trap: the same four naps submitted inside a `with Pool(2) as pool:`
/// block and collected after it. Leaving the block drops the pool, which
/// (as Python's `__exit__`) terminates it: the workers are killed, and the
/// naps never finish. Collect inside the block, or `close(); join()` first.
fn with_block_terminates(program: &Path, nap: u64) -> LifeCycle {
    let (pids, results, leaving) = {
        let pool = ProcessPool::new(program, 2).expect("the lesson starts as a worker");
        let results: Vec<AsyncResult> = (0..4)
            .map(|_| {
                pool.apply_async(Task::Sleep(nap))
                    .expect("the pool is open")
            })
            .collect();
        (pool.pids().to_vec(), results, Instant::now())
        // `pool` is dropped here: `pool.terminate()`.
    };
    let ended_in = leaving.elapsed();
    LifeCycle {
        pids,
        outcomes: outcomes(&results),
        after_close: None,
        ended_in,
    }
}

fn show_with_block_terminates() {
    show_life_cycle(&with_block_terminates(&this_program(), NAP_MS));
    println!("(Python's get() would wait forever here; get(timeout) raises TimeoutError)");
}

fn show_life_cycle(seen: &LifeCycle) {
    println!(
        "worker processes: {:?}; four tasks of {NAP_MS} ms each",
        seen.pids
    );
    if let Some(after_close) = &seen.after_close {
        println!("apply_async after close(): {after_close:?}");
    }
    println!("the pool ended {:.2?} later", seen.ended_in);
    for (i, (first, second, ready)) in seen.outcomes.iter().enumerate() {
        let first = match first {
            Ok(reply) => format!("done in worker {}", reply.pid),
            Err(e) => e.to_string(),
        };
        let same = if second == &seen.outcomes[i].0 {
            "same again"
        } else {
            "DIFFERENT"
        };
        println!("task {i}: get() → {first}; get() → {same}; ready() → {ready}");
    }
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

fn show_scope_the_pool() {
    let mut values: Vec<u64> = (1..=10).collect();
    scope_the_pool(&pool(2), &mut values);
    println!("squared in place by scoped tasks: {values:?}");
}

/// The same sum, as a reduction and through a shared `Mutex`, timed in
/// `runs` alternating rounds after a warm-up round, each round's times noted
/// on `sink` as it ends.
fn no_shared_state(n: u64, runs: usize, sink: &Sink) -> ((u64, Runs), (u64, Runs)) {
    let mut timed = time_rounds(sink, runs, 2, |i| {
        if i == 0 {
            return (0..n).into_par_iter().map(|x| x % 7).sum::<u64>();
        }
        let total = Mutex::new(0u64);
        (0..n).into_par_iter().for_each(|x| {
            // Correct in Rust, but every item queues for the same lock.
            *total.lock().unwrap() += x % 7;
        });
        total.into_inner().unwrap()
    });
    let (lock_time, locked) = timed.pop().expect("two alternatives");
    let (reduce_time, reduced) = timed.pop().expect("two alternatives");
    ((reduced, reduce_time), (locked, lock_time))
}

fn show_no_shared_state() {
    println!("median of {RUNS} alternating rounds after a warm-up (spread: fastest–slowest run)");
    println!("ms per run of the reduction, then of the shared mutex:");
    let ((reduced, rt), (locked, lt)) = no_shared_state(2_000_000, RUNS, &Sink::stdout());
    println!("reduction:      {reduced} in {rt}");
    println!("shared mutex:   {locked} in {lt} (same sum, every item takes the lock)");
    println!(
        "verdict: {}",
        faster_verdict("the reduction", &rt, "the shared mutex", &lt)
    );
}

/// Count primes below `limit` in worker processes, once per task count in
/// `task_counts`: every task is a round trip through a pipe, so tiny tasks
/// cost more in messages than in work. Returns, per task count, the count
/// and the time over `runs` alternating rounds (each run starting its
/// workers) after a warm-up round, each round's times noted on `sink` as it
/// ends.
fn chunk_sizes(
    program: &Path,
    limit: u64,
    task_counts: &[u64],
    workers: usize,
    runs: usize,
    sink: &Sink,
) -> Result<Vec<(u64, Runs)>, WorkerError> {
    let task_lists: Vec<Vec<Task>> = task_counts
        .iter()
        .map(|&tasks| {
            split_range(limit, tasks)
                .into_iter()
                .map(|r| Task::CountPrimes {
                    start: r.start,
                    end: r.end,
                })
                .collect()
        })
        .collect();
    let mut first_error = None;
    let timed = time_rounds(sink, runs, task_lists.len(), |i| {
        map_in_processes(program, workers, &task_lists[i])
            .into_iter()
            .map(|reply| reply.map(|r| r.value))
            .sum::<Result<u64, WorkerError>>()
            .unwrap_or_else(|e| {
                first_error = first_error.take().or(Some(e));
                0
            })
    });
    match first_error {
        Some(e) => Err(e),
        None => Ok(timed
            .into_iter()
            .map(|(time, total)| (total, time))
            .collect()),
    }
}

fn show_chunk_sizes() {
    println!(
        "median of {RUNS} alternating rounds after a warm-up (spread: fastest–slowest run), 2 workers"
    );
    let counts = [2_000, 200, 2];
    let columns: Vec<String> = counts.iter().map(u64::to_string).collect();
    println!("ms per run with {} tasks:", columns.join(", "));
    let rows = match chunk_sizes(
        &this_program(),
        PRIME_LIMIT,
        &counts,
        2,
        RUNS,
        &Sink::stdout(),
    ) {
        Ok(rows) => rows,
        Err(e) => return println!("error: {e}"),
    };
    let best = best(&rows.iter().map(|(_, t)| t).collect::<Vec<_>>());
    for (i, (tasks, (total, time))) in counts.iter().zip(&rows).enumerate() {
        let mark = if best == Some(i) { "  <- best" } else { "" };
        println!("{tasks:>5} tasks: {total} primes below {PRIME_LIMIT} in {time}{mark}");
    }
    let verdict = faster_verdict(
        &format!("{} tasks", counts[2]),
        &rows[2].1,
        &format!("{} tasks", counts[0]),
        &rows[0].1,
    );
    println!("verdict: {verdict}");
}

/// `count` tasks that only wait (I/O stand-ins): on a 2-thread rayon pool,
/// and on one plain thread each; timed in `runs` alternating rounds after a
/// warm-up round, each round's times noted on `sink` as it ends.
fn cpu_bound_only(count: usize, wait: Duration, runs: usize, sink: &Sink) -> (Runs, Runs) {
    let rayon = pool(2);
    let mut timed = time_rounds(sink, runs, 2, |i| {
        if i == 0 {
            rayon.install(|| (0..count).into_par_iter().for_each(|_| thread::sleep(wait)));
        } else {
            thread::scope(|s| {
                for _ in 0..count {
                    s.spawn(|| thread::sleep(wait));
                }
            });
        }
    });
    let (on_threads, ()) = timed.pop().expect("two alternatives");
    let (on_rayon, ()) = timed.pop().expect("two alternatives");
    (on_rayon, on_threads)
}

fn show_cpu_bound_only() {
    println!("ms per run on the rayon pool, then on a thread per task:");
    let (on_rayon, on_threads) = cpu_bound_only(8, WAIT, RUNS, &Sink::stdout());
    println!("8 tasks waiting {WAIT:?} each, median of {RUNS} rounds after a warm-up:");
    println!("  rayon pool of 2 threads: {on_rayon} (two at a time)");
    println!("  a thread per task:       {on_threads}");
    let verdict = faster_verdict("a thread per task", &on_threads, "the pool", &on_rayon);
    println!("verdict: {verdict}");
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

fn show_isolate_crashes() {
    for (i, r) in isolate_crashes(&this_program()).results.iter().enumerate() {
        match r {
            Ok((pid, value)) => println!("task {i}: {value} (worker pid {pid})"),
            Err(e) => println!("task {i}: {e}"),
        }
    }
}

fn this_program() -> PathBuf {
    std::env::current_exe().expect("the running program's path")
}

const NAP_MS: u64 = 300;
const PRIME_LIMIT: u64 = 200_000;
const WAIT: Duration = Duration::from_millis(200);
/// Counted runs per measurement (each after an uncounted warm-up).
const RUNS: usize = 5;

const TITLE: &str =
    "Lesson 9.13 — Process pool best practices («Лучшие практики использования пула процессов»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("close_then_join", "close() + join() waits for every queued task", show_close_then_join),
        Step::new("with_block_terminates", "leaving `with Pool()` kills pending tasks", show_with_block_terminates),
        Step::new("scope_the_pool", "a scope ends when all its tasks have ended", show_scope_the_pool),
        Step::new("no_shared_state", "return and reduce instead of locking a counter", show_no_shared_state),
        Step::new("chunk_sizes", "fewer, bigger tasks for worker processes", show_chunk_sizes),
        Step::new("cpu_bound_only", "waiting tasks belong on threads, not in the pool", show_cpu_bound_only),
        Step::new("isolate_crashes", "a poisoned task kills its worker, not the pool", show_isolate_crashes),
        // Hidden: what a child started by this lesson runs (module_09's lib.rs).
        module_09::WORKER_STEP,
    ])
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
    fn close_then_join_runs_every_queued_task_and_refuses_new_ones() {
        let program = lesson_binary();
        let seen = course_tests::deadline(Duration::from_secs(60), move || {
            close_then_join(&program, 50)
        });
        assert_eq!(seen.after_close, Some(Err(PoolClosed)));
        assert_eq!(seen.outcomes.len(), 4);
        for (first, second, ready) in &seen.outcomes {
            let reply = first.as_ref().expect("every queued task ran");
            assert!(
                seen.pids.contains(&reply.pid),
                "{reply:?} from {:?}",
                seen.pids
            );
            assert_eq!(first, second, "get() returns the same outcome again");
            assert!(ready, "ready() stays true");
        }
    }

    #[test]
    fn leaving_the_block_kills_the_workers_and_their_pending_tasks() {
        let program = lesson_binary();
        // Naps of a minute: if the drop waited for them, the deadline fails.
        let seen = course_tests::deadline(Duration::from_secs(30), move || {
            with_block_terminates(&program, 60_000)
        });
        for (first, second, ready) in &seen.outcomes {
            assert_eq!(first, &Err(TaskError::Terminated));
            assert_eq!(second, first);
            assert!(ready);
        }
        #[cfg(target_os = "linux")]
        for &pid in &seen.pids {
            // Killed and reaped: no such process any more, not even a zombie.
            assert_eq!(module_09::process_state(pid), None, "{pid}");
        }
    }

    #[test]
    fn terminate_kills_a_busy_pool_at_once() {
        let program = lesson_binary();
        course_tests::deadline(Duration::from_secs(30), move || {
            let pool = ProcessPool::new(&program, 1).unwrap();
            let nap = pool.apply_async(Task::Sleep(60_000)).unwrap();
            let queued = pool.apply_async(Task::Pid).unwrap();
            assert_eq!(nap.get_timeout(Duration::from_millis(20)), None);
            assert!(!nap.ready());
            pool.terminate();
            assert_eq!(nap.get(), Err(TaskError::Terminated));
            assert_eq!(queued.get(), Err(TaskError::Terminated));
        });
    }

    #[test]
    fn the_scope_waits_for_every_task() {
        let mut values: Vec<u64> = (1..=10).collect();
        scope_the_pool(&pool(2), &mut values);
        assert_eq!(values, (1..=10u64).map(|x| x * x).collect::<Vec<_>>());
    }

    #[test]
    fn reduction_and_mutex_agree_with_the_loop() {
        let ((reduced, _), (locked, _)) = no_shared_state(100_000, 1, &Sink::collect());
        let expected: u64 = (0..100_000u64).map(|x| x % 7).sum();
        assert_eq!((reduced, locked), (expected, expected));
    }

    #[test]
    fn any_chunking_counts_the_same_primes() {
        let program = lesson_binary();
        course_tests::deadline(Duration::from_secs(60), move || {
            let rows = chunk_sizes(&program, 20_000, &[50, 5, 1], 2, 1, &Sink::collect()).unwrap();
            let totals: Vec<u64> = rows.iter().map(|&(total, _)| total).collect();
            assert_eq!(totals, [2262; 3]);
        });
    }

    #[test]
    fn waiting_tasks_are_throttled_by_the_pool_size() {
        let wait = Duration::from_millis(40);
        let (on_rayon, on_threads) = cpu_bound_only(8, wait, 2, &Sink::collect());
        assert_eq!((on_rayon.len(), on_threads.len()), (2, 2));
        // 8 waits on 2 threads cannot take less than 4 waits, and no run of
        // sleeps is shorter than one wait: each run is timed around the sleeps.
        assert!(on_rayon.fastest_time() >= wait * 4, "{on_rayon}");
        assert!(on_threads.fastest_time() >= wait, "{on_threads}");
        // One after another, the 8 waits would take 8 waits; side by side on
        // their own threads, far less (a generous bound for a loaded machine).
        assert!(on_threads.fastest_time() < wait * 8, "{on_threads}");
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
