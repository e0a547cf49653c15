//! Lesson 2.6 — Waiting for tasks to complete («Ожидание завершения задач»)
//!
//! Waiting for a *group* of tasks: all of them, the first one, or the first
//! failure, optionally with a deadline, and splitting them into the done and
//! the not-yet-done. All tasks report on one shared channel, so "what has
//! finished by now" is simply "what has arrived by now".
//!
//! | Python                                           | Rust                                                        |
//! |--------------------------------------------------|-------------------------------------------------------------|
//! | `ThreadPoolExecutor(max_workers=20)`             | `rayon::ThreadPoolBuilder::new().num_threads(20).build()`    |
//! | `ex.submit(task, x)`                             | `pool.spawn(move \|\| { …; tx.send((index, value)) })`       |
//! | `done, not_done = wait(fs, timeout=1.5)`         | `rx.recv_deadline(deadline)` in a loop; the rest are not done |
//! | `wait(fs)` (`ALL_COMPLETED`, no timeout)         | `rx.iter()` until every task's sender is dropped             |
//! | `wait(fs, return_when=FIRST_COMPLETED)`          | `rx.recv()`, then `rx.try_iter()` for any others already done |
//! | `wait(fs, return_when=FIRST_EXCEPTION)`          | receive `Result`s, return at the first `Err`; the rest are not done |
//! | `future.cancel()` on the not-done                | a per-task `AtomicU8` state: one `compare_exchange` decides between start and cancel |
//! | `ex.map(f, xs)` (ordered)                        | `pool.install(\|\| xs.par_iter().map(f).collect())`          |
//!
//! - Run all steps: `cargo run -p module_02 --bin lesson_06`
//! - Run one step:  `cargo run -p module_02 --bin lesson_06 -- step_11`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `first_exception`, delete the `break` (so the loop waits for every
//! task) and run `-- first_exception`: nothing is cancelled any more. Then run
//! the tests: which one now hits its deadline, and why can it never finish?

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use rayon::prelude::*;
use step_runner::{Step, lesson_id};

const TITLE: &str = "Lesson 2.6 — Waiting for tasks to complete («Ожидание завершения задач»)";

const STEP_11_TASKS: [(&str, f64); 7] = [
    ("asdf", 0.7),
    ("ghjk", 1.4),
    ("zxcl", 3.2),
    ("vbnm", 4.1),
    ("poiu", 2.7),
    ("ytre", 0.3),
    ("wqsx", 1.1),
];

const STEP_12_WORK_TIMES: [u64; 20] = [4, 5, 3, 5, 4, 2, 5, 1, 3, 5, 3, 5, 1, 5, 5, 2, 1, 5, 1, 2];
const STEP_12_NUMBERS: [[u64; 2]; 20] = [
    [2, 5],
    [6, 2],
    [9, 4],
    [2, 2],
    [2, 8],
    [3, 5],
    [4, 1],
    [6, 2],
    [7, 4],
    [9, 7],
    [5, 7],
    [3, 8],
    [4, 0],
    [8, 2],
    [6, 9],
    [9, 7],
    [3, 6],
    [6, 7],
    [2, 5],
    [7, 3],
];

const STEP_13_NUMBERS: [u64; 5] = [5, 4, 7, 6, 3];

/// What a `wait` with a time-out saw, by task index, plus what happened to
/// the tasks that were not done by then.
#[derive(Debug)]
struct Waited<T> {
    /// Finished before the time-out, in completion order.
    done: Vec<(usize, T)>,
    /// Still running at the time-out.
    not_done: Vec<usize>,
    /// The not-done tasks' values, collected after waiting for them (as
    /// leaving Python's `with` block waits for them too).
    finished_later: Vec<(usize, T)>,
}

/// Queue one task per input on `pool`. Every task sends `(index, value)` on
/// the one channel returned; the channel disconnects once all have sent.
fn submit_all<I, T, F>(pool: &rayon::ThreadPool, inputs: Vec<I>, task: F) -> Receiver<(usize, T)>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(I) -> T + Clone + Send + 'static,
{
    let (tx, rx) = crossbeam_channel::unbounded();
    for (index, input) in inputs.into_iter().enumerate() {
        let (tx, task) = (tx.clone(), task.clone());
        pool.spawn(move || {
            let value = task(input);
            // The receiver may be gone if nobody waits for this task any more.
            let _ = tx.send((index, value));
        });
    }
    // Main's sender is dropped here, so that `rx` disconnects once every
    // task is done.
    rx
}

/// `done, not_done = wait(fs, timeout)`: everything that arrives within
/// `timeout`, and the indices of the `total` tasks that have not. The time-out
/// starts now, as Python's starts when `wait` is called.
fn wait_for<T>(
    rx: &Receiver<(usize, T)>,
    total: usize,
    timeout: Duration,
) -> (Vec<(usize, T)>, Vec<usize>) {
    let deadline = Instant::now() + timeout;
    // Stops early if all senders are gone (every task has finished).
    let done: Vec<_> = std::iter::from_fn(|| rx.recv_deadline(deadline).ok()).collect();
    let not_done = (0..total)
        .filter(|i| !done.iter().any(|(d, _)| d == i))
        .collect();
    (done, not_done)
}

/// Run one task per input on a pool with one worker per task, wait up to
/// `timeout`, then wait for the stragglers too.
///
/// Step 11's Python uses the default pool size (`min(32, CPUs + 4)`); with
/// six or more workers (its default on two or more CPUs) the same four
/// tasks are done at 1.5 s; with five, `wqsx` waits for a worker and is not.
fn run_and_wait<I, T, F>(inputs: Vec<I>, timeout: Duration, task: F) -> Waited<T>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(I) -> T + Clone + Send + 'static,
{
    let total = inputs.len();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(total)
        .build()
        .expect("the pool should build");
    let rx = submit_all(&pool, inputs, task);
    let (done, not_done) = wait_for(&rx, total, timeout);
    let finished_later = rx.iter().collect();
    Waited {
        done,
        not_done,
        finished_later,
    }
}

/// Step 11 — seven tasks; after 1.5 s report the names of those that are done.
fn step_11(tasks: &[(&'static str, Duration)], timeout: Duration) -> Waited<&'static str> {
    run_and_wait(tasks.to_vec(), timeout, |(name, delay)| {
        thread::sleep(delay);
        name
    })
}

/// Step 12 — twenty tasks on twenty workers: each sleeps its work time and
/// returns the product of its pair if the time is even, else the sum. Report
/// what is done after 2.5 s.
fn step_12(unit: Duration, timeout: Duration) -> Waited<u64> {
    let inputs = STEP_12_WORK_TIMES
        .into_iter()
        .zip(STEP_12_NUMBERS)
        .collect();
    run_and_wait(inputs, timeout, move |(time, pair)| {
        thread::sleep(unit * u32::try_from(time).expect("a work time should fit in u32"));
        sum_or_product(time, pair)
    })
}

fn sum_or_product(time: u64, [a, b]: [u64; 2]) -> u64 {
    if time.is_multiple_of(2) { a * b } else { a + b }
}

/// Step 13 — factorials with `map`, each task sleeping `n` tenths of a
/// second: the results come back in input order, whatever order they finish.
fn step_13(numbers: &[u64], tenth: Duration) -> Vec<(u64, u64)> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(numbers.len())
        .build()
        .expect("the pool should build");
    pool.install(|| {
        numbers
            .par_iter()
            .map(|&n| {
                thread::sleep(tenth * u32::try_from(n).expect("the number should fit in u32"));
                (n, (1..=n).product())
            })
            .collect()
    })
}

/// `FIRST_COMPLETED`: run `task` for every input, block for the first
/// result, then take whatever else has finished by that moment. Returns the
/// indices of the done tasks. The others keep running: dropping a rayon pool
/// does not wait for them, and their sends fail quietly once `rx` is gone.
fn first_completed<I, F>(inputs: Vec<I>, task: F) -> Vec<usize>
where
    I: Send + 'static,
    F: Fn(I) + Clone + Send + 'static,
{
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(inputs.len())
        .build()
        .expect("the pool should build");
    let rx = submit_all(&pool, inputs, task);
    let (first, _) = rx.recv().expect("at least one task should send");
    std::iter::once(first)
        .chain(rx.try_iter().map(|(index, _)| index))
        .collect()
}

/// What `done, not_done = wait(fs, return_when=FIRST_EXCEPTION)` followed
/// by `f.cancel()` for every `f` in `not_done` saw.
#[derive(Debug, Default)]
struct FirstException {
    /// Finished before the waiter returned, in completion order; the last
    /// one is the first failure, if any task failed.
    done: Vec<(usize, Result<u64, String>)>,
    /// Not done when the waiter returned, and already started, so `cancel()`
    /// failed: running tasks cannot be stopped, in Python or Rust. They run
    /// (or have run) to their end; their results are dropped.
    started: Vec<usize>,
    /// Not done and not started: cancelled, they never run.
    cancelled: Vec<usize>,
}

/// A task's state, decided by one `compare_exchange`: whichever of the
/// worker (`QUEUED` → `RUNNING`) and the waiter (`QUEUED` → `CANCELLED`)
/// comes first wins, as in Python, where `cancel()` and the worker's
/// `set_running_or_notify_cancel()` both check the future's state under its
/// lock.
const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const CANCELLED: u8 = 2;

/// `FIRST_EXCEPTION`: run `task` for every input on `pool`; return as soon
/// as one fails (or all are done), then cancel the tasks that have not
/// started.
fn first_exception<F>(pool: &rayon::ThreadPool, inputs: &[u64], task: F) -> FirstException
where
    F: Fn(u64) -> Result<u64, String> + Clone + Send + 'static,
{
    let states: Arc<Vec<AtomicU8>> =
        Arc::new(inputs.iter().map(|_| AtomicU8::new(QUEUED)).collect());
    let indexed: Vec<(usize, u64)> = inputs.iter().copied().enumerate().collect();
    let rx = submit_all(pool, indexed, {
        let states = Arc::clone(&states);
        move |(index, n): (usize, u64)| {
            // Relaxed is enough: only who wins matters, and every
            // read-modify-write of one atomic is ordered in a single total
            // order; nothing else is published through the state.
            states[index]
                .compare_exchange(QUEUED, RUNNING, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
                .then(|| task(n))
        }
    });
    let mut result = FirstException::default();
    // Ends early at the first error, or when every task has reported.
    for (index, outcome) in rx.iter() {
        let Some(outcome) = outcome else {
            unreachable!("nothing is cancelled while the waiter waits")
        };
        let failed = outcome.is_err();
        result.done.push((index, outcome));
        if failed {
            break;
        }
    }
    for index in 0..inputs.len() {
        if result.done.iter().any(|(d, _)| *d == index) {
            continue;
        }
        let cancel =
            states[index].compare_exchange(QUEUED, CANCELLED, Ordering::Relaxed, Ordering::Relaxed);
        match cancel {
            Ok(_) => result.cancelled.push(index),
            Err(_) => result.started.push(index),
        }
    }
    // Nothing waits for the started tasks: they finish on their own, and
    // their sends fail quietly once `rx` is gone; the cancelled ones return
    // at once.
    result
}

/// The course-style task for `first_exception`: `100 / n` after a delay;
/// `n = 0` fails, as `100 / 0` raises `ZeroDivisionError`.
fn divide_after(delay: Duration) -> impl Fn(u64) -> Result<u64, String> + Clone + Send + 'static {
    move |n| {
        thread::sleep(delay);
        100u64
            .checked_div(n)
            .ok_or_else(|| "division by zero".to_owned())
    }
}

fn show_step_11() {
    let tasks: Vec<_> = STEP_11_TASKS
        .iter()
        .map(|&(name, s)| (name, Duration::from_secs_f64(s)))
        .collect();
    let waited = step_11(&tasks, Duration::from_secs_f64(1.5));
    // Python's `done` is a set, printed in no particular order; here the
    // done tasks come in the order they finished.
    for (_, name) in &waited.done {
        println!("{name}");
    }
    let not_done: Vec<_> = waited.not_done.iter().map(|&i| tasks[i].0).collect();
    println!("not done after 1.5 s: {not_done:?}; waiting for them...");
    let later: Vec<_> = waited.finished_later.iter().map(|(_, name)| name).collect();
    println!("finished later: {later:?}");
}

fn show_step_12() {
    let waited = step_12(Duration::from_secs(1), Duration::from_secs_f64(2.5));
    for (index, value) in &waited.done {
        println!(
            "task {index} (work time {} s): {value}",
            STEP_12_WORK_TIMES[*index]
        );
    }
    println!(
        "{} done, {} not done after 2.5 s; waiting for the rest...",
        waited.done.len(),
        waited.not_done.len()
    );
    println!("{} more finished later", waited.finished_later.len());
}

fn show_step_13() {
    for (n, factorial) in step_13(&STEP_13_NUMBERS, Duration::from_millis(100)) {
        println!("the factorial of {n} is {factorial}");
    }
}

fn show_first_completed() {
    let delays = [300, 100, 200].map(Duration::from_millis);
    println!(
        "done at the first completion: tasks {:?}",
        first_completed(delays.to_vec(), thread::sleep)
    );
}

/// The divisors of the `first_exception` demo: task 1 fails.
const DIVISORS: [u64; 6] = [5, 0, 4, 2, 1, 10];

fn show_first_exception() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("the pool should build");
    let result = first_exception(&pool, &DIVISORS, divide_after(Duration::from_millis(200)));
    for (index, outcome) in &result.done {
        match outcome {
            Ok(quotient) => println!("task {index}: 100 / {} = {quotient}", DIVISORS[*index]),
            Err(error) => println!("task {index}: 100 / {} failed: {error}", DIVISORS[*index]),
        }
    }
    println!(
        "returned at the first error; not done then: started {:?} (cannot be cancelled), cancelled {:?}",
        result.started, result.cancelled
    );
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("step_11", "which tasks are done after 1.5 s", show_step_11),
        Step::new("step_12", "which of 20 tasks are done after 2.5 s", show_step_12),
        Step::new("step_13", "factorials with map, in input order", show_step_13),
        Step::new("first_completed", "return at the first finished task", show_first_completed),
        Step::new("first_exception", "stop at the first error, cancel the queued", show_first_exception),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn wait_for_splits_done_from_not_done_and_loses_nothing() {
        let (done, not_done, later) = course_tests::deadline(Duration::from_secs(20), || {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .expect("the pool should build");
            // "slow" waits at a gate that opens only after `wait_for` has
            // returned; the other two return at once.
            let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
            let rx = submit_all(&pool, vec!["fast", "slow", "quick"], move |name| {
                if name == "slow" {
                    // `Err` once the gate's sender is dropped.
                    let _ = gate_rx.recv();
                }
                name
            });
            // Both quick tasks have reported before the wait starts: the
            // order comes from the channel, not from the clock.
            while rx.len() < 2 {
                thread::sleep(ms(1));
            }
            let (done, not_done) = wait_for(&rx, 3, ms(50));
            drop(gate_tx);
            let later: Vec<_> = rx.iter().collect();
            (done, not_done, later)
        });
        let mut done: Vec<_> = done.iter().map(|(_, n)| *n).collect();
        done.sort_unstable();
        assert_eq!(done, ["fast", "quick"]);
        assert_eq!(not_done, [1]);
        assert_eq!(later, [(1, "slow")]);
    }

    #[test]
    fn step_12_computes_every_value_exactly_once() {
        // A generous timeout: everything is done in time.
        let waited = course_tests::deadline(Duration::from_secs(20), || {
            step_12(ms(5), Duration::from_secs(10))
        });
        assert!(waited.not_done.is_empty() && waited.finished_later.is_empty());
        let mut got = waited.done;
        got.sort_unstable();
        let expected: Vec<(usize, u64)> = STEP_12_WORK_TIMES
            .iter()
            .zip(STEP_12_NUMBERS)
            .map(|(&t, pair)| sum_or_product(t, pair))
            .enumerate()
            .collect();
        assert_eq!(got, expected);
        // The ones the course's 2.5 s deadline lets through (times 1 and 2).
        let quick: Vec<u64> = expected
            .iter()
            .filter(|(i, _)| STEP_12_WORK_TIMES[*i] <= 2)
            .map(|&(_, v)| v)
            .collect();
        assert_eq!(quick, [15, 8, 4, 63, 9, 7, 21]);
    }

    #[test]
    fn step_13_returns_factorials_in_input_order() {
        assert_eq!(
            step_13(&STEP_13_NUMBERS, ms(1)),
            [(5, 120), (4, 24), (7, 5040), (6, 720), (3, 6)]
        );
    }

    #[test]
    fn first_completed_returns_the_fastest_task() {
        let done = course_tests::deadline(Duration::from_secs(20), || {
            // Tasks 0 and 2 wait at a gate that opens only after
            // `first_completed` has returned, so task 1 is the only one done.
            let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
            let done = first_completed(vec![0, 1, 2], move |index| {
                if index != 1 {
                    let _ = gate_rx.recv();
                }
            });
            drop(gate_tx);
            done
        });
        assert_eq!(done, [1]);
    }

    /// Every index exactly once across done, started and cancelled.
    fn assert_partition(result: &FirstException, total: usize) {
        let mut all: Vec<usize> = result.done.iter().map(|(i, _)| *i).collect();
        all.extend(&result.started);
        all.extend(&result.cancelled);
        all.sort_unstable();
        assert_eq!(all, (0..total).collect::<Vec<_>>(), "{result:?}");
    }

    #[test]
    fn first_exception_returns_at_the_first_error_while_others_still_run() {
        let result = course_tests::deadline(Duration::from_secs(20), || {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .expect("the pool should build");
            let (started_tx, started_rx) = crossbeam_channel::bounded::<()>(1);
            let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
            // Task 0 (n = 5) starts, then waits at a gate that opens only
            // after `first_exception` has returned. Task 1 (n = 0) fails only
            // once task 0 is running. A waiter that waited for every task
            // would never return.
            let task = move |n: u64| match n {
                5 => {
                    started_tx.send(()).expect("task 1 waits for this");
                    let _ = gate_rx.recv();
                    Ok(20)
                }
                0 => {
                    started_rx.recv().expect("task 0 starts");
                    Err("division by zero".to_owned())
                }
                n => Ok(100 / n),
            };
            let result = first_exception(&pool, &DIVISORS, task);
            drop(gate_tx);
            result
        });
        assert_partition(&result, DIVISORS.len());
        assert_eq!(
            result.done.last(),
            Some(&(1, Err("division by zero".to_owned())))
        );
        assert!(result.started.contains(&0), "{result:?}");
        for (index, outcome) in &result.done[..result.done.len() - 1] {
            assert_eq!(*outcome, Ok(100 / DIVISORS[*index]));
        }
    }

    #[test]
    fn first_exception_cancels_queued_tasks_and_they_never_run() {
        let (result, ran) = course_tests::deadline(Duration::from_secs(20), || {
            // One worker takes the jobs injected from outside in order
            // (rayon-core's injector queue is FIFO).
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .expect("the pool should build");
            let ran = Arc::new(std::sync::Mutex::new(Vec::new()));
            let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
            let task = {
                let ran = Arc::clone(&ran);
                move |n: u64| {
                    // `lock().unwrap()` (here and wherever module 2 uses it):
                    // a lock is poisoned only when another thread panicked
                    // while holding it, and `unwrap` relays that panic.
                    ran.lock().unwrap().push(n);
                    if n == 0 {
                        return Err("division by zero".to_owned());
                    }
                    // Hold the only worker until the waiter has returned.
                    let _ = gate_rx.recv();
                    Ok(100 / n)
                }
            };
            let result = first_exception(&pool, &[0, 1, 2, 3, 4], task);
            drop(gate_tx);
            // Runs after every job queued before it: the pool is idle then.
            pool.install(|| ());
            let ran = ran.lock().unwrap().clone();
            (result, ran)
        });
        assert_partition(&result, 5);
        assert_eq!(result.done, [(0, Err("division by zero".to_owned()))]);
        // One worker: at most one task can have started after the failure.
        assert!(result.started.len() <= 1, "{result:?}");
        assert!(result.cancelled.len() >= 3, "{result:?}");
        for index in &result.cancelled {
            assert!(!ran.contains(&(*index as u64)), "{index} ran: {ran:?}");
        }
        assert_eq!(ran.len(), 1 + result.started.len());
    }

    #[test]
    fn the_course_division_fails_once_and_reports_the_rest() {
        let result = course_tests::deadline(Duration::from_secs(20), || {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .expect("the pool should build");
            first_exception(&pool, &DIVISORS, divide_after(ms(1)))
        });
        assert_partition(&result, DIVISORS.len());
        let failures: Vec<_> = result.done.iter().filter(|(_, o)| o.is_err()).collect();
        assert_eq!(failures, [&(1, Err("division by zero".to_owned()))]);
    }
}
