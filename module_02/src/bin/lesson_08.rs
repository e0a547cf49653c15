//! Lesson 2.8 — Shutting down a thread pool («Завершение работы пула потоков»)
//!
//! Shutting a pool down: waiting for its work or not, cancelling work that
//! has not started, and what happens to a task submitted afterwards. A tokio
//! `Runtime` is used as the pool here because it has an explicit shutdown
//! (its blocking pool runs plain blocking functions); rayon pools have no
//! shutdown call — you wait with `scope`/`install` and drop the pool.
//!
//! | Python                                       | Rust                                                           |
//! |----------------------------------------------|----------------------------------------------------------------|
//! | `ex = ThreadPoolExecutor()`                  | `tokio::runtime::Builder::new_multi_thread().build()`          |
//! | `ex.submit(f, x)` → `Future`                 | `handle.spawn_blocking(move \|\| f(x))` → `JoinHandle<T>`        |
//! | `ex.map(f, xs)` (results not read)           | one `spawn_blocking` per item                                  |
//! | `ex.shutdown()` / `shutdown(wait=True)`      | `drop(runtime)`: blocks until every blocking task has returned |
//! | `ex.shutdown(wait=False)`                    | `runtime.shutdown_background()`: returns at once, work goes on |
//! | `ex.submit(…)` after shutdown → `RuntimeError` | `handle.spawn_blocking(…)` → `Err(JoinError)`, `is_cancelled()` |
//! | `as_completed(futures)`                      | `FuturesUnordered` of the `JoinHandle`s                        |
//! | `future.result()`                            | `futures::executor::block_on(join_handle)` → `Result<T, JoinError>` |
//! | `ex.shutdown(cancel_futures=True)`           | `futures` pool: drop every `RemoteHandle` — queued tasks never start |
//!
//! Run all steps: `cargo run -p module_02 --bin lesson_08`
//! Run one step:  `cargo run -p module_02 --bin lesson_08 -- step_10`
//! Output order varies between runs where threads race; the values do not.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use futures::StreamExt;
use futures::executor::{ThreadPool, block_on};
use futures::stream::FuturesUnordered;
use futures::task::SpawnExt;
use step_runner::{Step, lesson_id};
use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinError;

const STEP_10_NUMBERS: [u64; 7] = [19, 1, 4, 13, 10, 7, 16];
const STEP_11_NUMBERS: [u64; 7] = [3, 6, 14, 20, 5, 7, 2];

/// `n!` for `n <= 7`, otherwise `n²` — after sleeping `n` tenths (`unit`s).
fn factorial_or_square(n: u64, unit: Duration) -> u64 {
    println!("processing {n} started");
    thread::sleep(unit * u32::try_from(n).expect("a small number"));
    if n <= 7 { (1..=n).product() } else { n * n }
}

fn runtime(blocking_threads: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(blocking_threads)
        .build()
        .expect("building a tokio runtime")
}

/// Step 10 — process every number on the pool, shut it down *waiting*, then
/// print the sum of the results.
///
/// The Python version adds into a global under `with t.Lock():`, which makes
/// a new lock on every call and so guards nothing. Here each task returns its
/// value and the sum is taken afterwards: nothing is shared, nothing races.
fn step_10(numbers: &[u64], unit: Duration) -> u64 {
    let rt = runtime(numbers.len());
    let handles: Vec<_> = numbers
        .iter()
        .map(|&n| rt.spawn_blocking(move || factorial_or_square(n, unit)))
        .collect();
    // `shutdown(wait=True)`: dropping a runtime blocks until every blocking
    // task has returned.
    drop(rt);
    handles
        .into_iter()
        // Already finished; `block_on` just takes the value out. `Err` would
        // mean the task panicked.
        .map(|h| block_on(h).expect("the task did not panic"))
        .sum()
}

/// What step 11 observed.
#[derive(Debug)]
struct Step11 {
    /// The error the late submission got.
    rejected: JoinError,
    /// `(number, result)` in completion order.
    completed: Vec<(u64, u64)>,
}

/// Step 11 — submit every number, shut down *without waiting*, try to submit
/// one more task (rejected), then take the results as they complete: work
/// submitted before the shutdown still finishes.
fn step_11(numbers: &[u64], unit: Duration) -> Step11 {
    let rt = runtime(numbers.len());
    let handle = rt.handle().clone();
    let mut pending: FuturesUnordered<_> = numbers
        .iter()
        .map(|&n| handle.spawn_blocking(move || (n, factorial_or_square(n, unit))))
        .collect();
    // `shutdown(wait=False)`: returns at once. Blocking tasks keep running
    // until they return; with one blocking thread per task, every task
    // submitted above is already running or about to be.
    rt.shutdown_background();

    thread::sleep(unit);
    // Python raises `RuntimeError` from `submit`; tokio hands back a
    // JoinHandle that resolves to a "cancelled" error straight away.
    let rejected = match block_on(handle.spawn_blocking(move || factorial_or_square(42, unit))) {
        Err(error) => error,
        Ok(_) => unreachable!("a runtime that has shut down runs no new tasks"),
    };
    println!("the pool has shut down: the new task was rejected ({rejected})");

    // `as_completed`: the stream yields each JoinHandle's output as it ends.
    let completed = block_on(async {
        let mut completed = Vec::new();
        while let Some(result) = pending.next().await {
            let (n, value) = result.expect("the task did not panic");
            println!("result of processing {n} = {value}");
            completed.push((n, value));
        }
        completed
    });
    Step11 {
        rejected,
        completed,
    }
}

/// `shutdown(cancel_futures=True)` — four tasks on one worker; once the
/// first has started, every handle is dropped: the running task finishes
/// (nothing can stop a running thread), the queued ones never start.
/// Returns the tasks that ran.
fn cancel_queued(delay: Duration) -> Vec<u32> {
    let pool = ThreadPool::builder()
        .pool_size(1)
        .create()
        .expect("creating a 1-thread pool");
    let ran = Arc::new(Mutex::new(Vec::new()));
    let (started_tx, started_rx) = crossbeam_channel::bounded(1);
    let handles: Vec<_> = (0..4)
        .map(|task| {
            let ran = Arc::clone(&ran);
            let started_tx = started_tx.clone();
            pool.spawn_with_handle(async move {
                // A full channel just means another task already signalled.
                let _ = started_tx.try_send(());
                ran.lock()
                    .expect("no task panics holding the lock")
                    .push(task);
                thread::sleep(delay);
            })
            .expect("the pool accepts tasks")
        })
        .collect();
    started_rx.recv().expect("the first task starts");
    // Dropping a `RemoteHandle` cancels its task: a task not yet polled sees
    // the cancellation on its first poll and returns without running.
    drop(handles);
    // The single worker is busy with task 0; the tasks it polls after that
    // all see their cancellation. Wait until the worker has passed them: a
    // marker task runs only after everything queued before it.
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    pool.spawn_ok(async move { done_tx.send(()).expect("main waits for this") });
    done_rx.recv().expect("the marker task runs");
    let ran = ran.lock().expect("no task panicked").clone();
    println!("tasks that ran: {ran:?}; the others were cancelled before they started");
    ran
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 2.8 — Shutting down a thread pool («Завершение работы пула потоков»)",
        &[
            Step::new("step_10", "shut down waiting, then sum the results", || {
                let sum = step_10(&STEP_10_NUMBERS, Duration::from_millis(100));
                println!("sum of the processed numbers: {sum}");
            }),
            Step::new(
                "step_11",
                "shut down without waiting; submitting after is rejected",
                || {
                    let out = step_11(&STEP_11_NUMBERS, Duration::from_millis(100));
                    println!(
                        "late submission cancelled: {}; tasks submitted before the shutdown that completed: {}",
                        out.rejected.is_cancelled(),
                        out.completed.len()
                    );
                },
            ),
            Step::new(
                "cancel_queued",
                "cancel the tasks that have not started",
                || {
                    cancel_queued(Duration::from_millis(500));
                },
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_10_sums_factorials_and_squares() {
        let sum = course_tests::deadline(Duration::from_secs(20), || {
            step_10(&STEP_10_NUMBERS, Duration::from_millis(1))
        });
        // 19² + 1! + 4! + 13² + 10² + 7! + 16²
        assert_eq!(sum, 361 + 1 + 24 + 169 + 100 + 5040 + 256);
    }

    #[test]
    fn step_11_rejects_the_late_task_and_keeps_the_earlier_ones() {
        let out = course_tests::deadline(Duration::from_secs(20), || {
            step_11(&STEP_11_NUMBERS, Duration::from_millis(20))
        });
        assert!(out.rejected.is_cancelled());
        let mut completed = out.completed;
        completed.sort_unstable();
        assert_eq!(
            completed,
            [
                (2, 2),
                (3, 6),
                (5, 120),
                (6, 720),
                (7, 5040),
                (14, 196),
                (20, 400)
            ]
        );
    }

    #[test]
    fn cancelled_queued_tasks_never_run() {
        let ran = course_tests::deadline(Duration::from_secs(20), || {
            cancel_queued(Duration::from_millis(50))
        });
        assert_eq!(ran, [0]);
    }
}
