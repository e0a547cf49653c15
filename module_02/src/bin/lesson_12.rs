//! Lesson 2.12 — Thread pool vs async (tokio) («ThreadPool vs AsyncIO»)
//!
//! The same 10,000 waiting tasks on OS threads and on tokio tasks. A thread
//! costs a kernel thread and a stack, so thousands of them need a pool that
//! bounds how many exist at once; a tokio task is a small state machine, and
//! tens of thousands share a few threads. Blocking code inside async code
//! goes to `spawn_blocking`, tokio's bridge to a thread pool.
//!
//! | Python                                       | Rust                                                          |
//! |----------------------------------------------|---------------------------------------------------------------|
//! | `ThreadPoolExecutor(max_workers=1000)`       | `futures::executor::ThreadPool::builder().pool_size(1000)`    |
//! | `ex.submit(time.sleep, d)` → `Future`        | `pool.spawn_with_handle(async move { thread::sleep(d) })`     |
//! | `wait(futures)`                              | `block_on(join_all(handles))`                                 |
//! | `asyncio.run(main())`                        | `tokio::runtime::Runtime::new()?.block_on(main())`            |
//! | `asyncio.create_task(coro)`                  | `tokio::spawn(fut)` / `JoinSet::spawn(fut)`                   |
//! | `await asyncio.gather(*tasks)` (input order) | `futures::future::join_all(handles).await` on the `JoinHandle`s (input order); `join_set.join_all()` gives completion order |
//! | `await asyncio.sleep(d)`                     | `tokio::time::sleep(d).await`                                 |
//! | `await loop.run_in_executor(None, f)` / `asyncio.to_thread(f)` | `tokio::task::spawn_blocking(f).await`      |
//!
//! - Run all steps: `cargo run -p module_02 --bin lesson_12`
//! - Run one step:  `cargo run -p module_02 --bin lesson_12 -- tokio_tasks`
//!
//! The times depend on the machine's cores and load and on the build
//! (`cargo run`: unoptimised, debug assertions on), the
//! memory on the allocator and the platform. Each timed step runs once
//! uncounted and then five times, prints the median with the fastest and
//! slowest run (the `measure` crate says why), and ends with a `verdict:`
//! line that compares the median with the least the waits need. Memory is
//! the first run's: later runs reuse what the first left resident.
//!
//! Try:
//! - In `show_spawn_blocking`, make the work 1 s instead of 500 ms: the
//!   direct count stays 0 and the offloaded one doubles, to about 20. Then
//!   delete the `set_missed_tick_behavior` line: the offloaded count also
//!   takes in the ticks the direct call held back.
//! - In `show_os_threads`, give the pool 10,000 threads instead of
//!   `POOL_THREADS`: one round of sleeps instead of ten, yet not ten times
//!   faster, because starting 10,000 threads takes time too, and the peak
//!   memory grows several times over (compare the time and RSS lines).
//!
//! When to choose which: a thread pool for blocking libraries and CPU work
//! and for a few hundred concurrent waits; async for thousands of concurrent
//! waits (sockets, timers) where each one costs almost nothing.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use futures::executor::{ThreadPool, block_on};
use futures::future::join_all;
use futures::task::SpawnExt;
use measure::{RUNS, Runs, machine, ms, rounds};
use step_runner::{Sink, Step, lesson_id};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

const TITLE: &str = "Lesson 2.12 — Thread pool vs async (tokio) («ThreadPool vs AsyncIO»)";

const TASKS: usize = 10_000;
const DELAY: Duration = Duration::from_millis(200);
const POOL_THREADS: usize = 1000;

/// Peak resident memory of this process in KiB: `VmHWM` in
/// `/proc/self/status` (Linux only; `None` elsewhere).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reset `VmHWM` to the current resident size by writing 5 to
/// `/proc/self/clear_refs` (Linux 4.0+), so the next reading is the peak of
/// what runs in between. Returns whether it worked.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// One workload's measurements.
struct Measured {
    completed: usize,
    elapsed: Duration,
    /// Resident memory of the whole process in KiB: at the start, and the
    /// peak during the run — only if the peak could be reset first, so that
    /// it belongs to this run and not to an earlier one.
    memory: Option<(u64, u64)>,
}

fn measure(run: impl FnOnce() -> usize) -> Measured {
    // Right after the reset, the peak equals the current resident size.
    let start = if reset_peak_rss() {
        peak_rss_kib()
    } else {
        None
    };
    let started = Instant::now();
    let completed = run();
    let elapsed = started.elapsed();
    let memory = start.zip(peak_rss_kib());
    Measured {
        completed,
        elapsed,
        memory,
    }
}

/// `tasks` sleeps of `delay` on a pool of `threads` OS threads.
///
/// Not one thread per task: 10,000 threads at once can exceed the process or
/// container thread limit (`ulimit -u`, cgroup `pids.max`) and reserve 10,000
/// stacks of address space. A pool bounds that; 1,000 threads finish 10,000
/// waits in ten rounds.
fn on_threads(tasks: usize, threads: usize, delay: Duration) -> usize {
    // `futures`' pool: its idle workers block on the job queue. A rayon
    // worker that runs out of work searches for work to steal, yielding, for
    // a few dozen rounds before it sleeps, which with 1,000 threads on a few
    // cores burns CPU that waiting work does not need.
    let pool = ThreadPool::builder()
        .pool_size(threads)
        // Sleeping needs little stack; without this the pool takes std's
        // default (2 MiB on the tier-1 platforms today, std's docs, or
        // `RUST_MIN_STACK`).
        .stack_size(64 * 1024)
        .create()
        .expect("the pool should start");
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            // Each task blocks its worker thread for `delay`: on a pool made
            // for it, that is fine (one task per thread at a time).
            pool.spawn_with_handle(async move {
                thread::sleep(delay);
                1usize
            })
            .expect("the pool should accept tasks")
        })
        .collect();
    block_on(join_all(handles)).into_iter().sum()
}

/// `tasks` sleeps of `delay` as tokio tasks: all of them wait at once on a
/// few worker threads.
fn on_tokio(tasks: usize, delay: Duration) -> usize {
    let rt = tokio::runtime::Runtime::new().expect("the tokio runtime should build");
    rt.block_on(async {
        let mut set = JoinSet::new();
        for _ in 0..tasks {
            set.spawn(async move {
                tokio::time::sleep(delay).await;
                1usize
            });
        }
        // `JoinSet::join_all` returns the results in completion order
        // (`gather` keeps the input order); a sum does not mind. It re-raises
        // a task's panic; these cannot panic.
        set.join_all().await.into_iter().sum()
    })
}

/// Blocking work called from async code on a single-threaded runtime, once
/// directly and once through `spawn_blocking`, while a ticker task counts
/// ticks. Returns the ticks seen during each: `(direct, spawn_blocking)`.
fn blocking_in_async(work: Duration, tick: Duration) -> (u32, u32, u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("the tokio runtime should build");
    rt.block_on(async {
        let ticks = Arc::new(AtomicU32::new(0));
        let ticker = tokio::spawn({
            let ticks = Arc::clone(&ticks);
            async move {
                let mut interval = tokio::time::interval(tick);
                // By default (`MissedTickBehavior::Burst`, tokio's
                // `interval` docs) the ticks missed while the thread was
                // blocked would all fire at once afterwards and be counted
                // in the `spawn_blocking` half. `Skip` drops them.
                interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
                loop {
                    interval.tick().await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        // Let the ticker start.
        tokio::time::sleep(tick * 2).await;

        // Wrong: the blocking call holds the runtime's only thread, so no
        // other task (the ticker, a socket, a timer) can run meanwhile.
        let before = ticks.load(Ordering::Relaxed);
        thread::sleep(work);
        let direct = ticks.load(Ordering::Relaxed) - before;

        // Right: the blocking call runs on tokio's blocking pool; this task
        // awaits it and the runtime keeps serving the others.
        let before = ticks.load(Ordering::Relaxed);
        let value = tokio::task::spawn_blocking(move || {
            thread::sleep(work);
            (1..=20u64).product::<u64>()
        })
        .await
        .expect("the blocking task should not panic");
        let offloaded = ticks.load(Ordering::Relaxed) - before;

        ticker.abort();
        (direct, offloaded, value)
    })
}

/// Peak memory as words: the whole process's, and its growth per `unit`.
fn memory_line(memory: Option<(u64, u64)>, units: usize, unit: &str) -> String {
    let mib = |kib: u64| kib as f64 / 1024.0;
    memory.map_or_else(
        || "memory not measured (needs Linux's /proc/self/clear_refs)".to_owned(),
        |(start, peak)| {
            let growth = peak.saturating_sub(start);
            format!(
                "peak RSS {:.1} MiB, +{:.1} MiB over the {:.1} MiB at the start: about {:.1} KiB per {unit}",
                mib(peak),
                mib(growth),
                mib(start),
                growth as f64 / units as f64
            )
        },
    )
}

/// The verdict on runs that each wait `waves` rounds of `delay`: how the
/// median compares with the least those rounds take.
fn verdict(runs: &Runs, waves: u32, delay: Duration) -> String {
    let least = delay * waves;
    let median = runs.median_time();
    let ratio = median.as_secs_f64() / least.as_secs_f64();
    let rounds = match waves {
        1 => "one round".to_owned(),
        n => format!("{n} rounds"),
    };
    let extra = median.saturating_sub(least);
    let rest = if extra < delay {
        "less than one wait"
    } else {
        "more than one wait: a busy machine, or costly start-up"
    };
    format!(
        "verdict: the median run took {ratio:.2}× the {} ms that {rounds} of {} ms waits need at the least; the rest ({} ms, {rest}) went on starting and scheduling",
        ms(least),
        ms(delay),
        ms(extra)
    )
}

/// Runs `run` once uncounted and `RUNS` times, through the sink: the times,
/// the verdict, and the memory of the first (warm-up) run. Only the first
/// shows what the workload needs: the memory it touched stays resident after
/// it (measured here: each later run starts near the first one's peak and
/// grows by a fraction of it), and later runs reuse it.
fn report(label: &str, waves: u32, units: (usize, &str), run: impl Fn() -> Measured) {
    let sink = Sink::stdout();
    sink.note(format!("{label}, ms per run; here: {}", machine()));
    let (mut first_memory, mut completed) = (None, BTreeSet::new());
    let samples = rounds(&sink, &[()], RUNS, |()| {
        let m = run();
        first_memory.get_or_insert(m.memory);
        completed.insert(m.completed);
        m.elapsed
    });
    sink.note(format!(
        "median (fastest–slowest run): {}",
        samples[0].ms_summary().trim_start()
    ));
    sink.note(format!("tasks completed (every run): {completed:?}"));
    sink.note(format!(
        "first run's memory: {}",
        memory_line(first_memory.flatten(), units.0, units.1)
    ));
    sink.note(verdict(&samples[0], waves, DELAY));
}

fn show_os_threads() {
    let waves = TASKS.div_ceil(POOL_THREADS) as u32;
    report(
        "OS threads (pool of 1,000)",
        waves,
        (POOL_THREADS, "thread"),
        || measure(|| on_threads(TASKS, POOL_THREADS, DELAY)),
    );
}

fn show_tokio_tasks() {
    report("tokio tasks", 1, (TASKS, "task"), || {
        measure(|| on_tokio(TASKS, DELAY))
    });
    println!("(RSS: the whole process's resident memory, from VmHWM in /proc/self/status,");
    println!(" reset through /proc/self/clear_refs before each run. Memory an earlier step");
    println!(" freed but the allocator kept can hide growth: run one step alone to compare.)");
}

fn show_spawn_blocking() {
    let (direct, offloaded, value) =
        blocking_in_async(Duration::from_millis(500), Duration::from_millis(50));
    println!("ticks while blocking the runtime thread directly: {direct}");
    println!("ticks while the work ran in spawn_blocking:       {offloaded}");
    println!("the offloaded work returned 20! = {value}");
    println!("{}", blocking_verdict(direct, offloaded));
}

/// One run is enough here: the direct count is 0 by construction (the
/// runtime's only thread is held), and the other is about work / tick.
fn blocking_verdict(direct: u32, offloaded: u32) -> String {
    if direct < offloaded {
        format!(
            "verdict: the runtime kept serving other tasks only while the work ran in spawn_blocking ({offloaded} ticks against {direct})"
        )
    } else {
        format!(
            "verdict: no difference seen in this run ({direct} ticks blocking directly, {offloaded} offloaded)"
        )
    }
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("os_threads", "10,000 sleeps of 200 ms on a pool of 1,000 threads", show_os_threads),
        Step::new("tokio_tasks", "10,000 sleeps of 200 ms as tokio tasks", show_tokio_tasks),
        Step::new("spawn_blocking", "blocking work inside async code", show_spawn_blocking),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_pool_overlaps_the_waits() {
        let (completed, elapsed) = course_tests::deadline(Duration::from_secs(30), || {
            let started = Instant::now();
            (
                on_threads(500, 100, Duration::from_millis(10)),
                started.elapsed(),
            )
        });
        assert_eq!(completed, 500);
        // Sequentially 5 s; on 100 threads about 50 ms.
        assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
    }

    #[test]
    fn ten_thousand_tokio_tasks_all_complete_concurrently() {
        let (completed, elapsed) = course_tests::deadline(Duration::from_secs(30), || {
            let started = Instant::now();
            (
                on_tokio(TASKS, Duration::from_millis(50)),
                started.elapsed(),
            )
        });
        assert_eq!(completed, TASKS);
        // Sequentially 500 s.
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    }

    #[test]
    fn measure_reports_the_run() {
        let m = measure(|| {
            thread::sleep(Duration::from_millis(50));
            7
        });
        assert_eq!(m.completed, 7);
        // A known sleep: at least its time, and a generous bound above.
        assert!(m.elapsed >= Duration::from_millis(50), "{:?}", m.elapsed);
        assert!(m.elapsed < Duration::from_secs(5), "{:?}", m.elapsed);
        if let Some((start, peak)) = m.memory {
            assert!(start > 0 && peak >= start, "{start} {peak}");
        }
    }

    #[test]
    fn spawn_blocking_keeps_the_runtime_responsive() {
        let (direct, offloaded, value) = course_tests::deadline(Duration::from_secs(30), || {
            blocking_in_async(Duration::from_millis(300), Duration::from_millis(10))
        });
        // On a single-threaded runtime nothing else runs during a direct
        // blocking call: exactly zero ticks.
        assert_eq!(direct, 0);
        assert!(offloaded >= 1, "{offloaded}");
        assert_eq!(value, 2_432_902_008_176_640_000);
    }

    fn sample(ms: &[u64]) -> Runs {
        Runs::from_durations(ms.iter().map(|&m| Duration::from_millis(m)))
    }

    #[test]
    fn the_verdict_compares_the_median_with_the_least_the_waits_need() {
        let delay = Duration::from_millis(200);
        let near = verdict(&sample(&[2050, 2100, 2400]), 10, delay);
        assert_eq!(
            near,
            "verdict: the median run took 1.05× the 2000 ms that 10 rounds of 200 ms waits need at the least; the rest (100 ms, less than one wait) went on starting and scheduling"
        );
        let slow = verdict(&sample(&[450, 500, 520]), 1, delay);
        assert!(slow.contains("2.50× the 200 ms that one round"), "{slow}");
        assert!(slow.contains("(300 ms, more than one wait"), "{slow}");
    }

    #[test]
    fn the_blocking_verdict_follows_the_counts() {
        assert!(
            blocking_verdict(0, 10)
                .contains("only while the work ran in spawn_blocking (10 ticks against 0)")
        );
        assert!(blocking_verdict(3, 3).starts_with("verdict: no difference seen"));
    }
}
