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
//! | `future.cancel()`               | `handle.abort()`                                                |
//! | `future.cancelled()`            | `JoinError::is_cancelled()`                                     |
//! | `future.add_done_callback(fn)`  | `FutureExt::inspect` / `map` on the future before spawning it    |
//!
//! Run all steps: `cargo run -p module_03 --bin lesson_03`
//! Run one step:  `cargo run -p module_03 --bin lesson_03 -- step_13`

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
        let mut slow = tokio::spawn({
            let running = Arc::clone(&running);
            async move {
                running.store(true, Ordering::SeqCst);
                let _ = started_tx.send(());
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
        // worker that finishes the task, right after it.
        let calls = Arc::new(Mutex::new(Vec::new()));
        let with_callback = tokio::spawn({
            let calls = Arc::clone(&calls);
            async move { 7u64 }.inspect(move |value| {
                let on_worker = thread::current()
                    .name()
                    .is_some_and(|name| name == "tokio-worker");
                calls.lock().expect("calls lock").push((*value, on_worker));
            })
        });
        with_callback.await.expect("the task does not panic");
        let callback_calls = calls.lock().expect("calls lock").clone();

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

fn rank_language((rank, language): (u32, &str), delay: Duration) -> String {
    thread::sleep(delay);
    format!("{language} is number {rank} on GitHub in the first quarter of 2024")
}

/// Python's default `max_workers`: `min(32, cpu_count + 4)`.
fn python_default_workers() -> usize {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    (cpus + 4).min(32)
}

/// Step 13 — ten tasks sleep `delay` each and describe a language's rank;
/// print the results in submission order.
///
/// The work is a blocking sleep, so each task holds a pool thread while it
/// runs, exactly as in Python's `ThreadPoolExecutor`.
fn step_13(data: &[(u32, &'static str)], delay: Duration, workers: usize) -> Vec<String> {
    let pool = ThreadPool::builder()
        .pool_size(workers)
        .name_prefix("pool-")
        .create()
        .expect("creating the thread pool");
    let handles: Vec<_> = data
        .iter()
        .map(|&entry| {
            pool.spawn_with_handle(async move { rank_language(entry, delay) })
                .expect("the pool accepts tasks")
        })
        .collect();
    // Calling `result()` on each future in turn: the results come back in
    // submission order whatever order the tasks finish in.
    block_on(join_all(handles))
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 3.3 — Future methods («Методы Future»)",
        &[
            Step::new(
                "methods_tour",
                "result, timeout, exception, done, running, cancel, callback",
                || {
                    let tour = methods_tour(Duration::from_millis(500));
                    println!(
                        "done() right after spawn:      {}",
                        tour.done_right_after_spawn
                    );
                    println!(
                        "running() once started:        {}",
                        tour.running_once_started
                    );
                    println!(
                        "result(timeout=0.05):          {:?} (timed out)",
                        tour.result_with_short_timeout
                    );
                    println!("result():                      {}", tour.result);
                    println!("done() after result():         {}", tour.done_after_result);
                    println!("exception() of a failed task:  {:?}", tour.exception);
                    println!("cancelled() after cancel():    {}", tour.cancelled);
                    for (value, on_worker) in &tour.callback_calls {
                        println!("done callback saw {value}, on a runtime worker: {on_worker}");
                    }
                },
            ),
            Step::new(
                "step_13",
                "ten ranking tasks, results read in submission order",
                || {
                    let lines = step_13(
                        &STEP_13_DATA,
                        Duration::from_millis(100),
                        python_default_workers(),
                    );
                    for line in lines {
                        println!("{line}");
                    }
                },
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;
    use std::time::Instant;

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
        let lines = deadline(Duration::from_secs(20), || {
            step_13(&STEP_13_DATA, Duration::from_millis(5), 4)
        });
        assert_eq!(lines.len(), 10);
        assert_eq!(
            lines[0],
            "Python is number 1 on GitHub in the first quarter of 2024"
        );
        assert_eq!(
            lines[9],
            "C# is number 10 on GitHub in the first quarter of 2024"
        );
        for (line, (rank, language)) in lines.iter().zip(STEP_13_DATA) {
            assert!(line.starts_with(&format!("{language} is number {rank} ")));
        }
    }

    #[test]
    fn step_13_runs_the_tasks_concurrently() {
        let delay = Duration::from_millis(100);
        let took = deadline(Duration::from_secs(20), move || {
            let started = Instant::now();
            step_13(&STEP_13_DATA, delay, 10);
            started.elapsed()
        });
        // Sequentially: 10 × 100 ms. Ten workers need about 100 ms.
        assert!(took < delay * 5, "took {took:?}");
    }
}
