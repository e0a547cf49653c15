//! Lesson 3.1 — What futures are («Что такое Futures»)
//!
//! A future is a placeholder for a result that is not there yet. Python's
//! `concurrent.futures.Future` is an *eager handle*: `submit` starts the work
//! on an executor at once, and the future only reports on it. Rust has such
//! handles too (`JoinHandle`, `RemoteHandle`), but Rust's `Future` trait is a
//! *lazy* state machine: an `async` block does nothing until something polls it.
//! Python's coroutine objects are lazy in the same way: calling an
//! `async def` function runs none of its body until the coroutine is
//! awaited or wrapped in a task.
//!
//! | Python                                   | Rust                                                        |
//! |------------------------------------------|-------------------------------------------------------------|
//! | `ThreadPoolExecutor(max_workers=n)`      | `futures::executor::ThreadPool::builder().pool_size(n)`, or a tokio runtime |
//! | `future = executor.submit(f, x)`         | `pool.spawn_with_handle(async move { f(x) })` → `RemoteHandle`; `tokio::spawn` → `JoinHandle` |
//! | `coro = f()` of an `async def` (lazy: runs once awaited or made a task) | `async { … }` — a lazy future, runs only when polled |
//! | `future.result()`                        | `block_on(handle)` / `handle.await`                         |
//! | `wait(futures, timeout=3)` → done, not done | `FuturesUnordered` of handles, drained under `tokio::time::timeout` |
//! | `future.exception()`                     | the `Err` of a `Result` the task returns                    |
//!
//! - Run all steps: `cargo run -p module_03 --bin lesson_01`
//! - Run one step:  `cargo run -p module_03 --bin lesson_01 -- step_11`
//!
//! In step 11 the tasks that sleep exactly as long as the deadline race it,
//! as they do in Python: the sum may or may not include them.
//!
//! Try:
//! - set `STEP_11_DEADLINE_UNITS` to 5 and run `-- step_11`: the eight
//!   five-second tasks tie with the deadline and usually lose. Set it to 6:
//!   done: 20, not done: 0, the sum of all twenty numbers, 107826.
//! - in `eager_and_lazy`, remove the `thread::sleep(pause)` line and ask
//!   yourself first: does the `async` block run now? (It does not: nothing
//!   polls it before `block_on`, however long or short the wait.)

use std::error::Error;
use std::fmt;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use futures::executor::{ThreadPool, block_on};
use futures::future::{FutureExt, join_all};
use futures::stream::{FuturesUnordered, StreamExt};
use futures::task::SpawnExt;
use step_runner::{Step, lesson_id};

/// Step 11: how long each task sleeps, in seconds (course data).
const STEP_11_TIMEOUTS: [u32; 20] = [4, 5, 3, 5, 4, 2, 5, 1, 3, 5, 3, 5, 1, 5, 5, 2, 1, 5, 1, 2];
/// Step 11: the number each task returns (course data).
const STEP_11_NUMBERS: [u64; 20] = [
    2257, 6217, 6594, 2259, 5284, 3568, 1741, 5462, 7494, 8971, 3157, 3998, 2040, 8828, 8769, 6976,
    9367, 1267, 6255, 7322,
];
/// Step 11: the course waits 3 seconds for the futures.
const STEP_11_DEADLINE_UNITS: u32 = 3;

/// Step 12: four lists; the task multiplies the i-th element of each.
const STEP_12_LISTS: [[u64; 4]; 4] = [
    [16, 10, 11, 20],
    [1, 0, 6, 4],
    [8, 19, 14, 13],
    [1, 0, 3, 6],
];

/// What the first demo observed.
#[derive(Debug, PartialEq, Eq)]
struct Faces {
    /// Did the pool task run before anybody asked for its result?
    handle_ran_before_await: bool,
    /// Did the `async` block run before anybody polled it?
    async_block_ran_before_poll: bool,
    /// The two results, once asked for.
    results: (u32, u32),
}

/// Demo — an eager handle against a lazy `async` block.
///
/// The pool task runs as soon as it is spawned, like Python's `submit`; the
/// `async` block only runs inside `block_on`, which polls it.
fn eager_and_lazy(pause: Duration) -> Faces {
    let pool = ThreadPool::new().expect("creating the thread pool");

    let (started_tx, started_rx) = mpsc::channel();
    let handle = pool
        .spawn_with_handle(async move {
            started_tx.send(()).expect("main is listening");
            6 * 7
        })
        .expect("the pool accepts tasks");
    // Nobody has touched `handle` yet, and still the task runs.
    let handle_ran_before_await = started_rx.recv_timeout(Duration::from_secs(10)).is_ok();

    let ran = Arc::new(AtomicBool::new(false));
    let lazy = {
        let ran = Arc::clone(&ran);
        async move {
            ran.store(true, Ordering::SeqCst);
            40 + 2
        }
    };
    // Give it every chance to start by itself: it will not.
    thread::sleep(pause);
    let async_block_ran_before_poll = ran.load(Ordering::SeqCst);

    let results = (block_on(handle), block_on(lazy));
    Faces {
        handle_ran_before_await,
        async_block_ran_before_poll,
        results,
    }
}

fn show_eager_and_lazy() {
    let faces = eager_and_lazy(Duration::from_millis(200));
    let (eager, lazy) = (
        faces.handle_ran_before_await,
        faces.async_block_ran_before_poll,
    );
    println!("pool task ran before its handle was awaited: {eager}");
    println!("async block ran before it was polled:        {lazy}");
    println!("results once asked for: {:?}", faces.results);
}

/// What step 11 collected.
#[derive(Debug)]
struct Step11 {
    /// The numbers of the tasks done by the deadline, in submission order.
    done: Vec<u64>,
    not_done: usize,
}

/// Step 11 — twenty tasks sleep `timeouts[i]` units and return `numbers[i]`;
/// wait at most `deadline` for them and sum the results of those done.
///
/// tokio's `JoinHandle` is the closest relative of Python's future: the task
/// starts at `spawn`, and awaiting the handle is `result()`. The tasks run
/// on `runtime`: `main` passes a real-time one, the test one whose clock
/// moves only when every task waits, so which tasks beat the deadline does
/// not depend on the machine's load.
fn step_11(
    timeouts: &[u32],
    numbers: &[u64],
    unit: Duration,
    deadline: Duration,
    runtime: tokio::runtime::Runtime,
) -> Step11 {
    runtime.block_on(async {
        // Async sleeps need no thread each: the runtime's workers (one per
        // core by default) serve all twenty, where a Python thread pool needs
        // a thread per sleeping call to run them all at once.
        let handles: Vec<_> = timeouts
            .iter()
            .zip(numbers)
            .map(|(&units, &number)| {
                tokio::spawn(async move {
                    tokio::time::sleep(unit * units).await;
                    number
                })
            })
            .collect();

        // `wait(futures, timeout)`: collect results as they come, but no
        // longer than the deadline. What is left in `pending` is "not done".
        let mut pending: FuturesUnordered<_> = handles
            .into_iter()
            .enumerate()
            .map(|(i, handle)| handle.map(move |result| (i, result)))
            .collect();
        let mut done = Vec::new();
        // `Err(Elapsed)` only says the deadline came first; the results that
        // did come are in `done` either way.
        let _ = tokio::time::timeout(deadline, async {
            while let Some((i, result)) = pending.next().await {
                done.push((i, result.expect("the task does not panic")));
            }
        })
        .await;
        let not_done = pending.len();
        // Python's `done` is an unordered set; submission order reads better.
        done.sort_unstable();
        let done = done.into_iter().map(|(_, number)| number).collect();
        // Python's `with` block would wait two more seconds for the rest;
        // here nobody wants them, and dropping `runtime` when this function
        // returns cancels them: each is dropped where it waits (tokio's
        // `Runtime` docs, "Shutdown").
        Step11 { done, not_done }
    })
}

/// Python prints only the sum; the counts show which side of the deadline
/// the tasks fell.
fn show_step_11() {
    let unit = Duration::from_secs(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .expect("building the tokio runtime");
    let deadline = unit * STEP_11_DEADLINE_UNITS;
    let result = step_11(&STEP_11_TIMEOUTS, &STEP_11_NUMBERS, unit, deadline, runtime);
    println!("done: {}, not done: {}", result.done.len(), result.not_done);
    println!(
        "sum of the finished results: {}",
        result.done.iter().sum::<u64>()
    );
}

/// The error of step 12: a zero among the factors.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MultiplyByZero;

impl fmt::Display for MultiplyByZero {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("multiplication by zero detected")
    }
}

impl Error for MultiplyByZero {}

fn multiply(factors: [u64; 4]) -> Result<u64, MultiplyByZero> {
    if factors.contains(&0) {
        return Err(MultiplyByZero);
    }
    Ok(factors.iter().product())
}

/// Step 12 — multiply the i-th elements of four lists on a pool; a zero is
/// an error, kept in the future and read back by the caller.
///
/// Python stores the raised exception in the future; in Rust the task
/// returns a `Result`, and the handle hands that `Result` back unchanged.
fn step_12(lists: &[[u64; 4]; 4]) -> Vec<Result<u64, MultiplyByZero>> {
    let pool = ThreadPool::new().expect("creating the thread pool");
    let handles: Vec<_> = (0..lists[0].len())
        .map(|i| {
            let factors = [lists[0][i], lists[1][i], lists[2][i], lists[3][i]];
            pool.spawn_with_handle(async move { multiply(factors) })
                .expect("the pool accepts tasks")
        })
        .collect();
    // `join_all` keeps the order of the handles, like looping over the list.
    block_on(join_all(handles))
}

fn show_step_12() {
    for outcome in step_12(&STEP_12_LISTS) {
        match outcome {
            Ok(product) => println!("result: {product}"),
            Err(error) => println!("handled error: {error}"),
        }
    }
}

const TITLE: &str = "Lesson 3.1 — What futures are («Что такое Futures»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("eager_and_lazy", "a pool handle runs at once, an async block waits to be polled", show_eager_and_lazy),
        Step::new("step_11", "wait 3 s for twenty sleeping tasks, sum the finished ones", show_step_11),
        Step::new("step_12", "errors are stored in the future and read back", show_step_12),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;

    #[test]
    fn handles_are_eager_async_blocks_are_lazy() {
        let faces = deadline(Duration::from_secs(20), || {
            eager_and_lazy(Duration::from_millis(20))
        });
        assert_eq!(
            faces,
            Faces {
                handle_ran_before_await: true,
                async_block_ran_before_poll: false,
                results: (42, 42),
            }
        );
    }

    #[test]
    fn step_11_sums_the_tasks_done_by_the_deadline() {
        let unit = Duration::from_millis(100);
        let result = deadline(Duration::from_secs(20), move || {
            // tokio's paused clock: timers fire in deadline order.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            step_11(&STEP_11_TIMEOUTS, &STEP_11_NUMBERS, unit, unit * 3, runtime)
        });
        // Tasks of 1 and 2 units always make it, tasks of 4 and 5 never do;
        // the 3-unit tasks race the deadline, as in Python.
        let sure: Vec<u64> = STEP_11_TIMEOUTS
            .iter()
            .zip(STEP_11_NUMBERS)
            .filter(|&(&t, _)| t < 3)
            .map(|(_, n)| n)
            .collect();
        let racing: Vec<u64> = STEP_11_TIMEOUTS
            .iter()
            .zip(STEP_11_NUMBERS)
            .filter(|&(&t, _)| t == 3)
            .map(|(_, n)| n)
            .collect();
        assert_eq!(sure.iter().sum::<u64>(), 40_990);
        for n in &sure {
            assert!(
                result.done.contains(n),
                "{n} missing from {:?}",
                result.done
            );
        }
        for n in &result.done {
            assert!(sure.contains(n) || racing.contains(n), "{n} cannot be done");
        }
        assert_eq!(result.done.len() + result.not_done, 20);
    }

    #[test]
    fn step_12_keeps_results_and_errors_in_order() {
        assert_eq!(
            step_12(&STEP_12_LISTS),
            vec![Ok(128), Err(MultiplyByZero), Ok(2772), Ok(6240)]
        );
    }
}
