//! Lesson 9.2 — Thread pool vs process pool («ThreadPoolExecutor vs ProcessPoolExecutor»)
//!
//! In Python a CPU-bound job on a `ThreadPoolExecutor` runs no faster than on
//! one thread: the GIL lets one thread execute bytecode at a time, so only a
//! `ProcessPoolExecutor` scales. (CPython's free-threaded build, 3.13t and
//! later (PEP 703), has no GIL and its threads do scale; it is a separate,
//! optional build, not the default `python3`.) Rust has no GIL: threads run on every core,
//! so a thread pool scales and processes add nothing to speed. What processes
//! do add is isolation (a crash stays in the child), paid for with start-up
//! time and with copying every argument and result through a pipe.
//!
//! | Python                                      | Rust                                                        |
//! |---------------------------------------------|-------------------------------------------------------------|
//! | `ThreadPoolExecutor(max_workers=n)`         | `rayon::ThreadPoolBuilder::new().num_threads(n).build()?`   |
//! | `ProcessPoolExecutor(max_workers=n)`        | `n` × `Command::new(current_exe()?)` with piped stdin/stdout |
//! | `executor.map(f, chunks)`                   | `pool.install(\|\| chunks.par_iter().map(f).collect())`       |
//! | pickling arguments and results              | writing and parsing a text line per task                    |
//! | `BrokenProcessPool` after a worker dies     | `WorkerError::Died`; the parent and other workers carry on  |
//! | `time.perf_counter()`                       | `std::time::Instant::now()` / `elapsed()`                   |
//!
//! Every timing below is the median of a few rounds after an uncounted
//! warm-up round (each round runs every alternative once, so a burst of
//! load falls on all of them alike), with its spread (fastest to slowest
//! run); each measuring step ends with a `verdict:` computed from them,
//! round by round (the `measure` crate). The numbers depend on the cores (the
//! table goes up to all of them), on what else the machine runs, and on the
//! build: `cargo run` builds the prime counting (the `primes` crate) at
//! opt-level 1 and this lesson unoptimised, with debug assertions on.
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_02`
//! - Run one step:  `cargo run -p module_09 --bin lesson_02 -- crash_isolation`
//!
//! Try: in `show_copying_data`, sum `1..=2_000_000` instead: more than ten
//! times the bytes go through the pipe and the process's time grows with
//! them, while the thread still copies nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;

use measure::{Runs, cost_verdict, faster_verdict, time_rounds};
use module_09::{Task, WorkerError, WorkerProcess, count_primes, map_in_processes, split_range};
use rayon::ThreadPoolBuilder;
use rayon::prelude::*;
use step_runner::{Sink, Step, lesson_id};

/// One row of the scaling table.
#[derive(Debug)]
struct Row {
    kind: &'static str,
    workers: usize,
    time: Runs,
    primes: u64,
}

/// Count the primes below `limit`, cut into `chunks` ranges, on rayon pools of
/// 1..=`max_workers` threads and on `max_workers` worker processes; timed in
/// `runs` alternating rounds after a warm-up round, each round's times noted
/// on `sink` as it ends.
fn scaling_table(
    program: &Path,
    limit: u64,
    chunks: u64,
    max_workers: usize,
    runs: usize,
    sink: &Sink,
) -> Result<Vec<Row>, WorkerError> {
    let ranges = split_range(limit, chunks);
    let pools: Vec<_> = (1..=max_workers)
        .map(|workers| {
            ThreadPoolBuilder::new()
                .num_threads(workers)
                .build()
                .expect("the OS can start the pool's threads")
        })
        .collect();
    let tasks: Vec<Task> = ranges
        .iter()
        .map(|r| Task::CountPrimes {
            start: r.start,
            end: r.end,
        })
        .collect();
    let mut first_error = None;
    let timed = time_rounds(sink, runs, max_workers + 1, |i| match pools.get(i) {
        Some(pool) => pool.install(|| ranges.par_iter().cloned().map(count_primes).sum()),
        // Each run starts its own processes: start-up is part of the price.
        None => map_in_processes(program, max_workers, &tasks)
            .into_iter()
            .map(|reply| reply.map(|r| r.value))
            .sum::<Result<u64, WorkerError>>()
            .unwrap_or_else(|e| {
                first_error = first_error.take().or(Some(e));
                0
            }),
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(timed
        .into_iter()
        .enumerate()
        .map(|(i, (time, primes))| Row {
            kind: if i < max_workers {
                "threads"
            } else {
                "processes"
            },
            workers: (i + 1).min(max_workers),
            time,
            primes,
        })
        .collect())
}

/// The `verdict:` line of the table: the most threads against one thread,
/// then processes against as many threads.
fn scaling_verdict(rows: &[Row]) -> String {
    let [one, .., most, processes] = rows else {
        return "too few rows to compare".to_string();
    };
    let most_threads = format!("{} threads", most.workers);
    format!(
        "{}; processes vs threads: {}",
        faster_verdict(&most_threads, &most.time, "one thread", &one.time),
        faster_verdict("processes", &processes.time, &most_threads, &most.time)
    )
}

fn show_scaling_table() {
    let n = cores();
    println!("counting primes below {LIMIT} in {CHUNKS} chunks; {n} cores");
    println!("median of {RUNS} alternating rounds after a warm-up (spread: fastest–slowest run)");
    println!("ms per run on 1 to {n} threads, then on {n} processes:");
    match scaling_table(&this_program(), LIMIT, CHUNKS, n, RUNS, &Sink::stdout()) {
        Ok(rows) => {
            let base = rows[0].time.median();
            println!(
                "{:<10} {:>7} {:>28} {:>8} {:>8}",
                "kind", "workers", "time", "speed-up", "primes"
            );
            for r in &rows {
                println!(
                    "{:<10} {:>7} {:>28} {:>7.2}x {:>8}",
                    r.kind,
                    r.workers,
                    r.time.to_string(),
                    base / r.time.median(),
                    r.primes
                );
            }
            // Python's threads row would stay near 1.0x: the GIL.
            println!("verdict: {}", scaling_verdict(&rows));
        }
        Err(e) => println!("error: {e}"),
    }
}

/// The time to start a worker and get one answer back, for a thread and
/// for a process (one timing per round), and the pid each process reported.
#[derive(Debug)]
struct Startup {
    thread: Runs,
    process: Runs,
    pids: Vec<u32>,
}

/// Starts a thread and a process in turn, `rounds` times after a warm-up
/// round, each round's times noted on `sink` as it ends.
fn startup_cost(program: &Path, rounds: usize, sink: &Sink) -> Result<Startup, WorkerError> {
    let mut pids = Vec::new();
    let mut first_error = None;
    let start_process = || -> Result<u32, WorkerError> {
        let mut worker = WorkerProcess::spawn(program)?;
        let pid = worker.request(&Task::Pid)?.pid;
        worker.finish()?;
        Ok(pid)
    };
    let mut timed = time_rounds(sink, rounds, 2, |i| {
        if i == 0 {
            thread::spawn(std::process::id).join().unwrap();
        } else {
            match start_process() {
                Ok(pid) => pids.push(pid),
                Err(e) => first_error = first_error.take().or(Some(e)),
            }
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    let (process, ()) = timed.pop().expect("two alternatives");
    let (thread, ()) = timed.pop().expect("two alternatives");
    Ok(Startup {
        thread,
        process,
        // The first pid is the warm-up round's.
        pids: pids.split_off(1),
    })
}

fn show_startup_cost() {
    println!("median of {STARTS} alternating rounds after a warm-up (spread: fastest–slowest run)");
    println!("ms per start of a thread, then of a process:");
    match startup_cost(&this_program(), STARTS, &Sink::stdout()) {
        Ok(s) => {
            println!("thread:  spawn + answer + join {}", s.thread);
            println!("process: spawn + answer + exit {}", s.process);
            println!("process pids: {:?}", s.pids);
            let verdict = cost_verdict("processes", &s.process, "threads", &s.thread, "to start");
            println!("verdict: {verdict}");
        }
        Err(e) => println!("error: {e}"),
    }
}

/// What handing `numbers` to a worker costs.
#[derive(Debug)]
struct Copying {
    thread_sum: u64,
    thread_time: Runs,
    process_sum: u64,
    process_time: Runs,
    bytes_sent: usize,
}

/// A thread borrows the numbers where they are; a process needs them
/// written out, sent through a pipe and parsed back. Each is timed over
/// `runs` runs after a warm-up; the process is started before the timing,
/// so its times are the transfer and not the start-up. Each round's times
/// are noted on `sink` as it ends.
fn copying_data(
    program: &Path,
    numbers: &[u64],
    runs: usize,
    sink: &Sink,
) -> Result<Copying, WorkerError> {
    let mut worker = WorkerProcess::spawn(program)?;
    let task = Task::Sum(numbers.to_vec());
    let bytes_sent = task.to_line().len() + 1;
    let mut first_error = None;
    let mut timed = time_rounds(sink, runs, 2, |i| {
        if i == 0 {
            thread::scope(|s| s.spawn(|| numbers.iter().sum()).join())
                .expect("summing cannot panic")
        } else {
            worker.request(&task).map(|r| r.value).unwrap_or_else(|e| {
                first_error = first_error.take().or(Some(e));
                0
            })
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    worker.finish()?;
    let (process_time, process_sum) = timed.pop().expect("two alternatives");
    let (thread_time, thread_sum) = timed.pop().expect("two alternatives");
    Ok(Copying {
        thread_sum,
        thread_time,
        process_sum,
        process_time,
        bytes_sent,
    })
}

fn show_copying_data() {
    let numbers: Vec<u64> = (1..=200_000).collect();
    println!("median of {RUNS} alternating rounds after a warm-up (spread: fastest–slowest run)");
    println!("ms per sum in a thread, then in a process:");
    match copying_data(&this_program(), &numbers, RUNS, &Sink::stdout()) {
        Ok(c) => {
            println!(
                "thread:  sum {} in {}, nothing copied",
                c.thread_sum, c.thread_time
            );
            println!(
                "process: sum {} in {}, {} bytes through the pipe",
                c.process_sum, c.process_time, c.bytes_sent
            );
            let verdict =
                faster_verdict("the thread", &c.thread_time, "the process", &c.process_time);
            println!("verdict: {verdict}");
        }
        Err(e) => println!("error: {e}"),
    }
}

/// What the parent saw when one of its two workers crashed.
#[derive(Debug)]
struct CrashReport {
    crash: WorkerError,
    /// The other worker's answer after the crash.
    survivor_answer: u64,
    /// The parent's own work after the crash.
    parent_answer: u64,
}

/// Worker A panics on its task; the parent reports it, worker B keeps
/// serving, and the parent keeps running.
fn crash_isolation(program: &Path) -> Result<CrashReport, WorkerError> {
    let mut a = WorkerProcess::spawn(program)?;
    let mut b = WorkerProcess::spawn(program)?;
    let crash = match a.request(&Task::Crash("bad input".into())) {
        Err(e) => e,
        Ok(reply) => {
            return Err(WorkerError::Refused(format!(
                "worker survived a crash: {reply:?}"
            )));
        }
    };
    let survivor_answer = b
        .request(&Task::CountPrimes {
            start: 0,
            end: 1000,
        })?
        .value;
    b.finish()?;
    // `a` was reaped when its death was noticed; dropping it does nothing more.
    drop(a);
    Ok(CrashReport {
        crash,
        survivor_answer,
        parent_answer: count_primes(0..1000),
    })
}

fn show_crash_isolation() {
    match crash_isolation(&this_program()) {
        Ok(r) => {
            println!("worker A: {}", r.crash);
            println!(
                "worker B still answers: {} primes below 1000",
                r.survivor_answer
            );
            println!(
                "the parent still runs: {} primes below 1000",
                r.parent_answer
            );
        }
        Err(e) => println!("error: {e}"),
    }
}

const LIMIT: u64 = 3_000_000;
const CHUNKS: u64 = 16;
/// Counted runs per measurement (each after an uncounted warm-up).
const RUNS: usize = 5;
/// Counted thread and process starts.
const STARTS: usize = 5;

fn this_program() -> PathBuf {
    std::env::current_exe().expect("the running program's path")
}

fn cores() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get())
}

const TITLE: &str =
    "Lesson 9.2 — Thread pool vs process pool («ThreadPoolExecutor vs ProcessPoolExecutor»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("scaling_table", "CPU-bound work on 1..N threads and on N processes", show_scaling_table),
        Step::new("startup_cost", "starting a thread vs starting a process", show_startup_cost),
        Step::new("copying_data", "a thread borrows data, a process gets a copy", show_copying_data),
        Step::new("crash_isolation", "a crashing worker process does not take the parent down", show_crash_isolation),
        // Hidden: what a child started by this lesson runs (module_09's lib.rs).
        module_09::WORKER_STEP,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The lesson binary itself: in a unit test `current_exe()` is the test
    /// harness, which has no worker mode.
    fn lesson_binary() -> PathBuf {
        course_tests::lesson_binaries("module_09").join("lesson_02")
    }

    #[test]
    fn threads_and_processes_count_the_same_primes() {
        let program = lesson_binary();
        let (rows, lines) = course_tests::deadline(Duration::from_secs(60), move || {
            let sink = Sink::collect();
            let rows = scaling_table(&program, 100_000, 6, 2, 2, &sink).unwrap();
            (rows, sink.lines())
        });
        let kinds: Vec<(&str, usize)> = rows.iter().map(|r| (r.kind, r.workers)).collect();
        assert_eq!(
            kinds,
            vec![("threads", 1), ("threads", 2), ("processes", 2)]
        );
        assert!(rows.iter().all(|r| r.primes == 9592), "{rows:?}");
        // Live: the warm-up and both rounds, as they end, a time per row.
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[2].contains("run 2 of 2:"), "{lines:?}");
    }

    #[test]
    fn a_process_gets_a_copy_and_sums_it_right() {
        let program = lesson_binary();
        let numbers: Vec<u64> = (1..=10_000).collect();
        let c = course_tests::deadline(Duration::from_secs(60), move || {
            copying_data(&program, &numbers, 2, &Sink::collect()).unwrap()
        });
        assert_eq!(c.thread_sum, 50_005_000);
        assert_eq!(c.process_sum, 50_005_000);
        assert!(c.bytes_sent > 10_000 * 2);
    }

    #[test]
    fn a_crashing_worker_leaves_the_parent_and_the_other_worker_running() {
        let program = lesson_binary();
        let r = course_tests::deadline(Duration::from_secs(60), move || {
            crash_isolation(&program).unwrap()
        });
        let WorkerError::Died {
            status, last_words, ..
        } = &r.crash
        else {
            panic!("expected a dead worker, got {:?}", r.crash);
        };
        // A Rust panic ends the process with status 101.
        assert_eq!(status.code(), Some(101));
        assert!(last_words.contains("bad input"), "{last_words}");
        assert_eq!(r.survivor_answer, 168);
        assert_eq!(r.parent_answer, 168);
    }

    #[test]
    fn every_round_starts_a_new_process_and_is_timed_on_its_own() {
        let program = lesson_binary();
        let rounds = 3;
        let (s, total) = course_tests::deadline(Duration::from_secs(60), move || {
            let started = std::time::Instant::now();
            let s = startup_cost(&program, rounds, &Sink::collect()).unwrap();
            (s, started.elapsed())
        });
        // A fresh process per counted round: as many distinct pids, none of
        // them ours.
        let mut pids = s.pids.clone();
        pids.sort_unstable();
        pids.dedup();
        assert_eq!(pids.len(), rounds, "{s:?}");
        assert!(!pids.contains(&std::process::id()));
        assert_eq!((s.thread.len(), s.process.len()), (rounds, rounds));
        // Each round timed alone: `rounds` of the fastest fit in the whole
        // call, on any machine (a total reported as one round would not).
        assert!(
            (s.thread.fastest_time() + s.process.fastest_time()) * rounds as u32 <= total,
            "{s:?} in {total:?}"
        );
    }
}
