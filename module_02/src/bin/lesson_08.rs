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
//! | `ex.shutdown()` / `shutdown(wait=True)`      | await every `JoinHandle`, then `drop(runtime)` (see `step_10`) |
//! | `ex.shutdown(wait=False)`: queued work still runs | `runtime.shutdown_background()`: returns at once; see `step_11` for what runs on |
//! | `ex.submit(…)` after shutdown → `RuntimeError` | `handle.spawn_blocking(…)` → `Err(JoinError)`, `is_cancelled()` |
//! | `as_completed(futures)`                      | `FuturesUnordered` of the `JoinHandle`s                        |
//! | `future.result()`                            | `futures::executor::block_on(join_handle)` → `Result<T, JoinError>` |
//! | `future.cancelled()` / the task's exception   | `JoinError::is_cancelled()` / `is_panic()`                     |
//! | `ex.shutdown(cancel_futures=True)`           | `futures` pool: drop every `RemoteHandle` — queued tasks never start |
//!
//! - Run all steps: `cargo run -p module_02 --bin lesson_08`
//! - Run one step:  `cargo run -p module_02 --bin lesson_08 -- step_10`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `step_10`, build the runtime with `runtime(1)` (one blocking
//! thread for seven tasks) and run `-- step_10`: the sum is still right, only
//! slower, because every handle is awaited before the runtime is dropped.
//! Why would dropping it first be a bet on tokio's internals?

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use futures::StreamExt;
use futures::executor::{ThreadPool, block_on};
use futures::future::join_all;
use futures::stream::FuturesUnordered;
use futures::task::SpawnExt;
use step_runner::{Sink, Step, lesson_id};
use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinError;

const TITLE: &str = "Lesson 2.8 — Shutting down a thread pool («Завершение работы пула потоков»)";

const STEP_10_NUMBERS: [u64; 7] = [19, 1, 4, 13, 10, 7, 16];
const STEP_11_NUMBERS: [u64; 7] = [3, 6, 14, 20, 5, 7, 2];

/// `n!` for `n <= 7`, otherwise `n²` — after sleeping `n` tenths (`unit`s).
fn factorial_or_square(sink: &Sink, n: u64, unit: Duration) -> u64 {
    sink.note(format!("processing {n} started"));
    thread::sleep(unit * u32::try_from(n).expect("the number should fit in u32"));
    if n <= 7 { (1..=n).product() } else { n * n }
}

fn runtime(blocking_threads: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(blocking_threads)
        .build()
        .expect("the tokio runtime should build")
}

/// Why a task's `JoinHandle` gave no value.
#[derive(Debug, PartialEq, Eq)]
enum Lost {
    /// The runtime shut down before the task started (or it was aborted).
    Cancelled,
    /// The task panicked with this message.
    Panicked(String),
}

/// A `JoinError` is either a cancellation or a panic; tell them apart
/// instead of calling every error a panic.
fn lost(error: JoinError) -> Lost {
    match error.try_into_panic() {
        Ok(payload) => Lost::Panicked(
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default(),
        ),
        Err(_) => Lost::Cancelled,
    }
}

/// Step 10 — process every number on the pool, shut it down *waiting*, then
/// print the sum of the results.
///
/// The Python version adds into a global under `with t.Lock():`, which makes
/// a new lock on every call and so guards nothing. Here each task returns its
/// value and the sum is taken afterwards: nothing is shared, nothing races.
fn step_10(sink: &Arc<Sink>, numbers: &[u64], unit: Duration) -> Result<u64, Lost> {
    let rt = runtime(numbers.len());
    let handles: Vec<_> = numbers
        .iter()
        .map(|&n| {
            // A blocking task must own what it uses (`'static`): each gets
            // its own handle to the sink.
            let sink = Arc::clone(sink);
            rt.spawn_blocking(move || factorial_or_square(&sink, n, unit))
        })
        .collect();
    // `shutdown(wait=True)` waits for every submitted task, queued ones too.
    // Dropping a runtime does not promise that: it waits for blocking tasks
    // that have *started*, and one that has not started "may be cancelled"
    // (tokio's `spawn_blocking` and `Runtime` docs, Shutdown). So wait for
    // every handle first; the drop then has nothing left to wait for.
    let results = rt.block_on(join_all(handles));
    drop(rt);
    results.into_iter().map(|result| result.map_err(lost)).sum()
}

fn show_step_10() {
    match step_10(
        &Arc::new(Sink::stdout()),
        &STEP_10_NUMBERS,
        Duration::from_millis(100),
    ) {
        Ok(sum) => println!("sum of the processed numbers: {sum}"),
        Err(lost) => println!("no sum: a task was lost ({lost:?})"),
    }
}

/// What step 11 observed.
#[derive(Debug)]
struct Step11 {
    /// The error the late submission got.
    rejected: JoinError,
    /// `(number, result)` in completion order.
    completed: Vec<(u64, u64)>,
    /// Numbers whose tasks the shutdown cancelled before they started.
    cancelled: Vec<u64>,
}

/// Step 11 — submit every number, shut down *without waiting*, try to submit
/// one more task (rejected), then take the results as they complete.
///
/// Python's `shutdown(wait=False)` still runs every task already submitted.
/// Tokio's `shutdown_background` keeps only *started* `spawn_blocking` work
/// running to its end; a blocking task still queued may be cancelled, and an
/// async task is dropped at its next `.await` (tokio's `Runtime` docs,
/// Shutdown). With one blocking thread per task almost all have started, but
/// nothing promises it, so a cancelled task is reported as such.
fn step_11(sink: &Arc<Sink>, numbers: &[u64], unit: Duration) -> Step11 {
    let rt = runtime(numbers.len());
    let handle = rt.handle().clone();
    let mut pending: FuturesUnordered<_> = numbers
        .iter()
        .map(|&n| {
            let sink = Arc::clone(sink);
            let task = handle.spawn_blocking(move || (n, factorial_or_square(&sink, n, unit)));
            // Tag each handle with its number, to name a cancelled one.
            async move { (n, task.await) }
        })
        .collect();
    rt.shutdown_background();

    thread::sleep(unit);
    // Python raises `RuntimeError` from `submit`; tokio hands back a
    // JoinHandle that resolves to a "cancelled" error straight away.
    let late_sink = Arc::clone(sink);
    let late = handle.spawn_blocking(move || factorial_or_square(&late_sink, 42, unit));
    let rejected = match block_on(late) {
        Err(error) => error,
        Ok(_) => unreachable!("a runtime that has shut down runs no new tasks"),
    };
    sink.note(format!(
        "the pool has shut down: the new task was rejected ({rejected})"
    ));

    // `as_completed`: the stream yields each JoinHandle's output as it ends.
    let mut completed = Vec::new();
    let mut cancelled = Vec::new();
    block_on(async {
        while let Some((n, result)) = pending.next().await {
            match result.map_err(lost) {
                Ok((_, value)) => {
                    sink.note(format!("result of processing {n} = {value}"));
                    completed.push((n, value));
                }
                Err(Lost::Cancelled) => {
                    sink.note(format!("processing {n} was cancelled by the shutdown"));
                    cancelled.push(n);
                }
                Err(Lost::Panicked(message)) => panic!("processing {n} panicked: {message}"),
            }
        }
    });
    Step11 {
        rejected,
        completed,
        cancelled,
    }
}

fn show_step_11() {
    let out = step_11(
        &Arc::new(Sink::stdout()),
        &STEP_11_NUMBERS,
        Duration::from_millis(100),
    );
    println!(
        "late submission cancelled: {}; of the tasks submitted before the shutdown {} completed, {} were cancelled",
        out.rejected.is_cancelled(),
        out.completed.len(),
        out.cancelled.len()
    );
}

/// `shutdown(cancel_futures=True)` — four tasks on one worker; once the
/// first has started, every handle is dropped: the running task finishes
/// (its body never reaches an `.await`, and nothing stops a running thread),
/// the queued ones never start. A task waiting at an `.await` would be
/// dropped at its next poll (`futures`' `Remote::poll` checks for the
/// cancellation before polling the task). Returns the tasks that ran.
fn cancel_queued(delay: Duration) -> Vec<u32> {
    let pool = ThreadPool::builder()
        .pool_size(1)
        .create()
        .expect("a 1-thread pool should start");
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
                    .expect("no task should panic holding the lock")
                    .push(task);
                thread::sleep(delay);
            })
            .expect("the pool should accept tasks")
        })
        .collect();
    started_rx.recv().expect("the first task should start");
    // Dropping a `RemoteHandle` cancels its task (unless `forget()` was
    // called): a task not yet polled sees the cancellation on its first poll
    // and returns without running.
    drop(handles);
    // The single worker is busy with task 0; the tasks it polls after that
    // all see their cancellation. Wait until the worker has passed them: a
    // marker task runs only after everything queued before it.
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    pool.spawn_ok(async move { done_tx.send(()).expect("main should wait for this") });
    done_rx.recv().expect("the marker task should run");
    ran.lock().expect("no task should have panicked").clone()
}

fn show_cancel_queued() {
    let ran = cancel_queued(Duration::from_millis(500));
    println!("tasks that ran: {ran:?}; the others were cancelled before they started");
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("step_10", "shut down waiting, then sum the results", show_step_10),
        Step::new("step_11", "shut down without waiting; submitting after is rejected", show_step_11),
        Step::new("cancel_queued", "cancel the tasks that have not started", show_cancel_queued),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_10_sums_factorials_and_squares() {
        let sum = course_tests::deadline(Duration::from_secs(20), || {
            step_10(
                &Arc::new(Sink::collect()),
                &STEP_10_NUMBERS,
                Duration::from_millis(1),
            )
        });
        // 19² + 1! + 4! + 13² + 10² + 7! + 16²
        assert_eq!(sum, Ok(361 + 1 + 24 + 169 + 100 + 5040 + 256));
    }

    #[test]
    fn step_11_rejects_the_late_task_and_keeps_the_earlier_ones() {
        let sink = Arc::new(Sink::collect());
        let shared = Arc::clone(&sink);
        let out = course_tests::deadline(Duration::from_secs(20), move || {
            step_11(&shared, &STEP_11_NUMBERS, Duration::from_millis(20))
        });
        assert!(out.rejected.is_cancelled());
        // The late task never started; each earlier one that completed did.
        let lines = sink.lines();
        assert!(
            !lines.contains(&"processing 42 started".to_owned()),
            "{lines:?}"
        );
        for (n, _) in &out.completed {
            assert!(
                lines.contains(&format!("processing {n} started")),
                "{lines:?}"
            );
        }
        // Every task is reported once: completed with its value, or (if the
        // shutdown came before it started) cancelled.
        let mut reported: Vec<u64> = out.completed.iter().map(|&(n, _)| n).collect();
        reported.extend(&out.cancelled);
        reported.sort_unstable();
        let mut numbers = STEP_11_NUMBERS;
        numbers.sort_unstable();
        assert_eq!(reported, numbers);
        for (n, value) in out.completed {
            assert_eq!(value, if n <= 7 { (1..=n).product() } else { n * n });
        }
    }

    #[test]
    fn a_join_error_is_told_apart_as_cancellation_or_panic() {
        let rt = runtime(1);
        let panicked = rt.block_on(rt.spawn_blocking(|| -> u64 { panic!("boom") }));
        let handle = rt.handle().clone();
        rt.shutdown_background();
        // Submitted after the shutdown: cancelled without running.
        let cancelled = block_on(handle.spawn_blocking(|| 1u64));
        assert_eq!(
            panicked.map_err(lost),
            Err(Lost::Panicked("boom".to_owned()))
        );
        assert_eq!(cancelled.map_err(lost), Err(Lost::Cancelled));
    }

    #[test]
    fn cancelled_queued_tasks_never_run() {
        let ran = course_tests::deadline(Duration::from_secs(20), || {
            cancel_queued(Duration::from_millis(50))
        });
        assert_eq!(ran, [0]);
    }
}
