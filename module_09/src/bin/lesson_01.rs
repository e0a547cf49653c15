//! Lesson 9.1 — Introduction to process pools («Введение»)
//!
//! A process pool runs tasks in other processes: each has its own pid and
//! its own memory. Python needs that to get past the GIL; Rust threads
//! already run Rust code in parallel, so a thread pool (`rayon`) is Rust's
//! everyday answer, and real processes are for isolation.
//!
//! | Python                                   | Rust                                                     |
//! |------------------------------------------|----------------------------------------------------------|
//! | `os.getpid()`                            | `std::process::id()`                                     |
//! | `multiprocessing.Process(target=f)`      | `Command::new(std::env::current_exe()?)` + pipes         |
//! | `if __name__ == "__main__":` guard       | a worker mode checked on the first line of `main`        |
//! | pickled arguments over a pipe            | a text line per task on the child's stdin                |
//! | `multiprocessing.Pool(processes=n)`      | `rayon::ThreadPoolBuilder::new().num_threads(n).build()` |
//! | `pool.map(f, items)`                     | `items.par_iter().map(f).collect()`                      |
//! | `os.process_cpu_count()` (3.13+)         | `std::thread::available_parallelism()` (see below)       |
//!
//! `os.cpu_count()` counts the machine's CPUs; `os.process_cpu_count()` and
//! `available_parallelism()` count those this process may use (its affinity
//! mask; on Linux the std function also applies cgroup CPU quotas), and
//! rayon sizes its global pool by the latter unless `RAYON_NUM_THREADS` is set.
//!
//! Throughout module 9, `lock().unwrap()` and `join().unwrap()` only pass
//! on a panic another thread has already reported (poisoning relays it).
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_01`
//! - Run one step:  `cargo run -p module_09 --bin lesson_01 -- rayon_pool`
//!
//! Try: run `RAYON_NUM_THREADS=4 cargo run -p module_09 --bin lesson_01 --
//! rayon_pool`: the global pool now has 4 threads on any machine, and both
//! prime counts stay 25997.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use module_09::{PROCESS_COUNTER, Task, WorkerError, WorkerProcess, count_primes, split_range};
use rayon::prelude::*;
use step_runner::{Step, lesson_id};

/// Who ran what: the parent's pid, each worker's pid as the parent saw it
/// when spawning and as the worker reported it, and the pids rayon's threads
/// report.
#[derive(Debug)]
struct Pids {
    parent: u32,
    workers: Vec<(u32, u32)>,
    rayon_threads: BTreeSet<u32>,
}

/// Two worker processes and a few rayon tasks report their pids.
fn pids(program: &Path) -> Result<Pids, WorkerError> {
    let mut workers = Vec::new();
    for _ in 0..2 {
        let mut worker = WorkerProcess::spawn(program)?;
        let reply = worker.request(&Task::Pid)?;
        workers.push((worker.pid(), reply.pid));
        worker.finish()?;
    }
    // Threads are inside this process: they all share its pid.
    let rayon_threads = (0..8).into_par_iter().map(|_| std::process::id()).collect();
    Ok(Pids {
        parent: std::process::id(),
        workers,
        rayon_threads,
    })
}

fn show_pids() {
    match pids(&this_program()) {
        Ok(p) => {
            println!("parent process: pid {}", p.parent);
            for (i, (spawned, reported)) in p.workers.iter().enumerate() {
                println!("worker {i}: spawned as pid {spawned}, reports pid {reported}");
            }
            println!("rayon threads report pids {:?}", p.rayon_threads);
        }
        Err(e) => println!("error: {e}"),
    }
}

/// What each side saw of a counter both "share" by name.
#[derive(Debug, PartialEq, Eq)]
struct Memory {
    /// The worker's counter after it added 10, twice.
    worker_saw: Vec<u64>,
    /// The parent's counter before and after, with a rayon thread adding 5.
    parent_before: u64,
    parent_after: u64,
}

/// The same `static` counter in a child process is a different variable;
/// in a thread it is the same one.
fn separate_memory(program: &Path) -> Result<Memory, WorkerError> {
    let parent_before = PROCESS_COUNTER.fetch_add(1, Ordering::SeqCst) + 1;
    let mut worker = WorkerProcess::spawn(program)?;
    let worker_saw = vec![
        worker.request(&Task::AddToCounter(10))?.value,
        worker.request(&Task::AddToCounter(10))?.value,
    ];
    worker.finish()?;
    // A rayon task runs in this process and changes this process's counter.
    rayon::join(|| PROCESS_COUNTER.fetch_add(5, Ordering::SeqCst), || ());
    Ok(Memory {
        worker_saw,
        parent_before,
        parent_after: PROCESS_COUNTER.load(Ordering::SeqCst),
    })
}

fn show_separate_memory() {
    match separate_memory(&this_program()) {
        Ok(m) => {
            println!("parent's counter before: {}", m.parent_before);
            println!("worker's counter after adding 10 twice: {:?}", m.worker_saw);
            println!(
                "parent's counter after the worker ran and a rayon thread added 5: {}",
                m.parent_after
            );
        }
        Err(e) => println!("error: {e}"),
    }
}

/// How many primes lie below this; the work is cut into `CHUNKS` ranges.
const LIMIT: u64 = 300_000;
const CHUNKS: u64 = 8;

/// The rayon answer: the same count, sequentially and on rayon's global pool.
fn rayon_pool(limit: u64, chunks: u64) -> (u64, u64) {
    let ranges = split_range(limit, chunks);
    let sequential = ranges.iter().cloned().map(count_primes).sum();
    // `par_iter` hands the ranges to rayon's global pool: one thread per CPU
    // this process may use, started once, shared by the whole program.
    let parallel = ranges.par_iter().cloned().map(count_primes).sum();
    (sequential, parallel)
}

fn show_rayon_pool() {
    let threads = rayon::current_num_threads();
    let (sequential, parallel) = rayon_pool(LIMIT, CHUNKS);
    println!("rayon's global pool has {threads} threads (one per usable CPU)");
    println!("primes below {LIMIT}: {sequential} sequentially, {parallel} on the pool");
}

fn this_program() -> PathBuf {
    std::env::current_exe().expect("the running program's path")
}

const TITLE: &str = "Lesson 9.1 — Introduction to process pools («Введение»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("pids", "processes have their own pids, threads share one", show_pids),
        Step::new("separate_memory", "a child process has its own copy of every variable", show_separate_memory),
        Step::new("rayon_pool", "Rust's pool: rayon threads, no processes needed", show_rayon_pool),
        // Hidden: what a child started by this lesson runs (module_09's lib.rs).
        module_09::WORKER_STEP,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lesson binary itself, built by the shared test crate: in a unit
    /// test `current_exe()` is the test harness, which has no worker mode.
    fn lesson_binary() -> PathBuf {
        course_tests::lesson_binaries("module_09").join("lesson_01")
    }

    #[test]
    fn workers_are_other_processes_threads_are_not() {
        let program = lesson_binary();
        let p = course_tests::deadline(std::time::Duration::from_secs(60), move || {
            pids(&program).unwrap()
        });
        let me = std::process::id();
        assert_eq!(p.parent, me);
        assert_eq!(p.workers.len(), 2);
        for &(spawned, reported) in &p.workers {
            assert_eq!(spawned, reported, "the worker reports the pid we spawned");
            assert_ne!(reported, me);
        }
        assert_eq!(p.rayon_threads, BTreeSet::from([me]));
    }

    #[test]
    fn the_worker_counter_is_not_the_parent_counter() {
        let program = lesson_binary();
        let m = course_tests::deadline(std::time::Duration::from_secs(60), move || {
            separate_memory(&program).unwrap()
        });
        // A fresh worker starts from 0, whatever the parent's counter holds.
        assert_eq!(m.worker_saw, vec![10, 20]);
        // The rayon thread's +5 landed in the parent; the worker's +20 did not.
        assert_eq!(m.parent_after, m.parent_before + 5);
    }

    #[test]
    fn the_pool_counts_what_a_loop_counts() {
        assert_eq!(rayon_pool(LIMIT, CHUNKS), (25_997, 25_997));
        assert_eq!(rayon_pool(1000, 3), (168, 168));
    }
}
