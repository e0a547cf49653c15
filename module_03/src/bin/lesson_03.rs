//! Lesson 3.3 — Future methods («Методы Future»)
//!
//! Python's `Future` has seven methods. A tokio `JoinHandle` covers most of
//! them directly; the rest are one combinator or one flag away. Each row of
//! the table is demonstrated by `methods_tour`, then step 13 reads ten results
//! in submission order.
//!
//! | Python                          | Rust (tokio `JoinHandle` unless noted)                          |
//! |---------------------------------|-----------------------------------------------------------------|
//! | `future.result()`               | `handle.await` → `Result<T, JoinError>`; `block_on(remote_handle)` |
//! | `future.result(timeout=t)`      | `tokio::time::timeout(t, &mut handle).await` → `Err(Elapsed)`, the task keeps running |
//! | `future.exception()`            | the `Err` of the task's own `Result`; `JoinError::is_panic()` for panics |
//! | `future.done()`                 | `handle.is_finished()`                                          |
//! | `future.running()`              | no method: the task says so itself (an `AtomicBool`, a channel) |
//! | `future.cancel()` (only before it starts) | `handle.abort()` (also stops a running task at its next `.await`) |
//! | `future.cancelled()`            | `JoinError::is_cancelled()`                                     |
//! | `future.add_done_callback(fn)` (also runs on cancel) | `FutureExt::inspect` / `map` on the future before spawning it (runs only if the task completes) |
//!
//! - Run all steps: `cargo run -p module_03 --bin lesson_03`
//! - Run one step:  `cargo run -p module_03 --bin lesson_03 -- step_13`
//!
//! Try:
//! - in `methods_tour`, replace `&mut slow` by `slow` in the
//!   `tokio::time::timeout` call and read the compiler's error (E0382, use
//!   of moved value; kept as a `compile_fail` test in `src/lib.rs`). What
//!   would be left to wait on after the time-out?
//! - in `show_step_13`, pass `1` instead of `python_default_workers()`:
//!   the same lines in the same order, after a second instead of a tenth.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use futures::executor::{ThreadPool, block_on};
use futures::future::{FutureExt, join_all};
use futures::task::SpawnExt;
use step_runner::{Step, lesson_id};
use tokio::sync::oneshot;

/// Step 13: GitHub's language ranking, first quarter of 2024 (course data).
const STEP_13_DATA: [(u32, &str); 10] = [
    (1, "Python"),
    (2, "Java"),
    (3, "Go"),
    (4, "JavaScript"),
    (5, "C++"),
    (6, "TypeScript"),
    (7, "PHP"),
    (8, "Ruby"),
    (9, "C"),
    (10, "C#"),
];

/// Everything the tour observed, one field per Python method.
#[derive(Debug, PartialEq, Eq)]
struct Tour {
    done_right_after_spawn: bool,
    running_once_started: bool,
    result_with_short_timeout: Option<u64>,
    result: u64,
    done_after_result: bool,
    exception: Option<String>,
    cancelled: bool,
    /// What the done callback saw, and whether it ran on a runtime worker.
    callback_calls: Vec<(u64, bool)>,
}

/// Demo — every method of Python's future, on tokio tasks that take `work`.
fn methods_tour(work: Duration) -> Tour {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tokio-worker")
        .enable_time()
        .build()
        .expect("building the tokio runtime");
    runtime.block_on(async {
        // running(): the task raises a flag and tells us it has started.
        let running = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = oneshot::channel();
        // The task works only after `go`, so the short `result(timeout)`
        // below times out on any machine, however late it runs.
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let mut slow = tokio::spawn({
            let running = Arc::clone(&running);
            async move {
                running.store(true, Ordering::SeqCst);
                let _ = started_tx.send(());
                let _ = go_rx.await;
                tokio::time::sleep(work).await;
                running.store(false, Ordering::SeqCst);
                6 * 7u64
            }
        });
        let done_right_after_spawn = slow.is_finished();
        started_rx.await.expect("the task starts");
        let running_once_started = running.load(Ordering::SeqCst);

        // result(timeout): gives up waiting, not the task; the handle is
        // borrowed, so we can wait again.
        let result_with_short_timeout = tokio::time::timeout(work / 10, &mut slow)
            .await
            .ok()
            .map(|joined| joined.expect("the task does not panic"));
        go_tx.send(()).expect("the task waits for the go");
        let result = (&mut slow).await.expect("the task does not panic");
        let done_after_result = slow.is_finished();

        // exception(): a failure is the task's `Err`, handed back unchanged.
        let failing = tokio::spawn(async { "x".parse::<u64>().map_err(|e| e.to_string()) });
        let exception = failing.await.expect("the task does not panic").err();

        // cancel() and cancelled(): `abort` stops the task at its next await.
        let endless = tokio::spawn(async move { tokio::time::sleep(work * 100).await });
        endless.abort();
        let cancelled = endless.await.is_err_and(|error| error.is_cancelled());

        // add_done_callback(): attached before spawning, so it runs on the
        // worker that finishes the task, right after it. Unlike Python's, it
        // runs only when the task completes: not after `abort` or a panic.
        let calls = Arc::new(Mutex::new(Vec::new()));
        let with_callback = tokio::spawn({
            let calls = Arc::clone(&calls);
            async move { 7u64 }.inspect(move |value| {
                let on_worker = thread::current()
                    .name()
                    .is_some_and(|name| name == "tokio-worker");
                calls.lock().unwrap().push((*value, on_worker));
            })
        });
        with_callback.await.expect("the task does not panic");
        let callback_calls = calls.lock().unwrap().clone();

        Tour {
            done_right_after_spawn,
            running_once_started,
            result_with_short_timeout,
            result,
            done_after_result,
            exception,
            cancelled,
            callback_calls,
        }
    })
}

fn show_methods_tour() {
    let tour = methods_tour(Duration::from_millis(500));
    println!(
        "done() right after spawn:      {}",
        tour.done_right_after_spawn
    );
    println!(
        "running() once started:        {}",
        tour.running_once_started
    );
    let early = tour.result_with_short_timeout;
    println!("result(timeout=0.05):          {early:?} (timed out)");
    println!("result():                      {}", tour.result);
    println!("done() after result():         {}", tour.done_after_result);
    println!("exception() of a failed task:  {:?}", tour.exception);
    println!("cancelled() after cancel():    {}", tour.cancelled);
    for (value, on_worker) in &tour.callback_calls {
        println!("done callback saw {value}, on a runtime worker: {on_worker}");
    }
}

fn rank_language((rank, language): (u32, &str), delay: Duration) -> String {
    thread::sleep(delay);
    format!("{language} is number {rank} on GitHub in the first quarter of 2024")
}

/// Python's default `max_workers` for `ThreadPoolExecutor`: `min(32,
/// os.cpu_count() + 4)` (3.8–3.12), `min(32, os.process_cpu_count() + 4)`
/// since 3.13. `available_parallelism` is Rust's nearest figure; it also
/// honours CPU affinity and cgroup quotas, so on a container or a pinned
/// process it can be smaller than Python's count.
fn python_default_workers() -> usize {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    (cpus + 4).min(32)
}

/// Step 13 — ten tasks each run `work` (in the course: sleep, then describe
/// a language's rank); print the results in submission order.
fn step_13<F>(data: &[(u32, &'static str)], workers: usize, work: F) -> Vec<String>
where
    F: Fn((u32, &'static str)) -> String + Clone + Send + 'static,
{
    let pool = ThreadPool::builder()
        .pool_size(workers)
        .name_prefix("pool-")
        .create()
        .expect("creating the thread pool");
    let handles: Vec<_> = data
        .iter()
        .map(|&entry| {
            let work = work.clone();
            // A blocking call inside `async` on purpose: the course's work is
            // a blocking sleep, and here, as in Python's
            // `ThreadPoolExecutor`, each task holds a pool thread while it
            // runs. That is why the pool has `workers` threads. On an async
            // runtime (tokio) a blocking call would stall the other tasks of
            // its worker; there it goes to `spawn_blocking`.
            pool.spawn_with_handle(async move { work(entry) })
                .expect("the pool accepts tasks")
        })
        .collect();
    // Calling `result()` on each future in turn: the results come back in
    // submission order whatever order the tasks finish in.
    block_on(join_all(handles))
}

const TITLE: &str = "Lesson 3.3 — Future methods («Методы Future»)";

fn show_step_13() {
    let work = |entry| rank_language(entry, Duration::from_millis(100));
    for line in step_13(&STEP_13_DATA, python_default_workers(), work) {
        println!("{line}");
    }
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("methods_tour", "result, timeout, exception, done, running, cancel, callback", show_methods_tour),
        Step::new("step_13", "ten ranking tasks, results read in submission order", show_step_13),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;
    use std::sync::Barrier;

    #[test]
    fn every_method_has_a_counterpart() {
        let tour = deadline(Duration::from_secs(20), || {
            methods_tour(Duration::from_millis(100))
        });
        assert_eq!(
            tour,
            Tour {
                done_right_after_spawn: false,
                running_once_started: true,
                result_with_short_timeout: None,
                result: 42,
                done_after_result: true,
                exception: Some("invalid digit found in string".to_owned()),
                cancelled: true,
                callback_calls: vec![(7, true)],
            }
        );
    }

    #[test]
    fn step_13_returns_results_in_submission_order() {
        // Reversed delays: the tasks finish last to first, and the results
        // must still come back first to last.
        let lines = deadline(Duration::from_secs(20), || {
            step_13(&STEP_13_DATA, 10, |entry| {
                rank_language(entry, Duration::from_millis(5 * (11 - u64::from(entry.0))))
            })
        });
        let expected: Vec<String> = STEP_13_DATA
            .iter()
            .map(|(rank, language)| {
                format!("{language} is number {rank} on GitHub in the first quarter of 2024")
            })
            .collect();
        assert_eq!(lines, expected);
    }

    #[test]
    fn step_13_runs_the_tasks_concurrently() {
        // Every task waits at a barrier for all ten: the step can only end
        // if the ten run at the same time (one by one, the first would wait
        // forever, and the deadline would fail the test).
        let barrier = Arc::new(Barrier::new(STEP_13_DATA.len()));
        let lines = deadline(Duration::from_secs(20), move || {
            step_13(&STEP_13_DATA, STEP_13_DATA.len(), move |(rank, _)| {
                barrier.wait();
                rank.to_string()
            })
        });
        assert_eq!(lines, ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
    }
}
