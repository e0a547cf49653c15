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
//! | `wait(fs, return_when=FIRST_EXCEPTION)`          | receive `Result`s, stop at the first `Err`                  |
//! | `future.cancel()` on the not-done                | a shared `AtomicBool` that queued tasks check before starting |
//! | `ex.map(f, xs)` (ordered)                        | `pool.install(\|\| xs.par_iter().map(f).collect())`          |
//!
//! Run all steps: `cargo run -p module_02 --bin lesson_06`
//! Run one step:  `cargo run -p module_02 --bin lesson_06 -- step_11`
//! Output order varies between runs where threads race; the values do not.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use rayon::prelude::*;
use step_runner::{Step, lesson_id};

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

/// What a `wait` with a deadline saw, by task index, plus what happened to
/// the tasks that were not done by then.
#[derive(Debug)]
struct Waited<T> {
    /// Finished before the deadline, in completion order.
    done: Vec<(usize, T)>,
    /// Still running at the deadline.
    not_done: Vec<usize>,
    /// The not-done tasks' values, collected after waiting for them (as
    /// leaving Python's `with` block waits for them too).
    finished_later: Vec<(usize, T)>,
}

/// Run one task per input on a pool with one worker per task, wait until
/// `deadline`, then wait for the stragglers too.
fn run_and_wait<I, T, F>(inputs: Vec<I>, timeout: Duration, task: F) -> Waited<T>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(I) -> T + Copy + Send + 'static,
{
    let deadline = Instant::now() + timeout;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(inputs.len())
        .build()
        .expect("building the pool");
    let (tx, rx) = crossbeam_channel::unbounded();
    let total = inputs.len();
    for (index, input) in inputs.into_iter().enumerate() {
        let tx = tx.clone();
        pool.spawn(move || {
            let value = task(input);
            tx.send((index, value)).expect("main keeps the receiver");
        });
    }
    // Main's sender must go, so that `rx` disconnects once every task is done.
    drop(tx);
    let done = collect_until(&rx, deadline);
    let not_done = (0..total)
        .filter(|i| !done.iter().any(|(d, _)| d == i))
        .collect();
    let finished_later = rx.iter().collect();
    Waited {
        done,
        not_done,
        finished_later,
    }
}

/// Everything that arrives before `deadline`; stops early if all senders are
/// gone (every task has finished).
fn collect_until<T>(rx: &Receiver<T>, deadline: Instant) -> Vec<T> {
    std::iter::from_fn(|| rx.recv_deadline(deadline).ok()).collect()
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
        thread::sleep(unit * u32::try_from(time).expect("a small work time"));
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
        .expect("building the pool");
    pool.install(|| {
        numbers
            .par_iter()
            .map(|&n| {
                thread::sleep(tenth * u32::try_from(n).expect("a small number"));
                (n, (1..=n).product())
            })
            .collect()
    })
}

/// `FIRST_COMPLETED`: block for the first result, then take whatever else
/// has finished by that moment. The others keep running; the pool's
/// threads are detached, so dropping `rx` just discards their results.
fn first_completed(delays: &[Duration]) -> Vec<usize> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(delays.len())
        .build()
        .expect("building the pool");
    let (tx, rx) = crossbeam_channel::unbounded();
    for (index, &delay) in delays.iter().enumerate() {
        let tx = tx.clone();
        pool.spawn(move || {
            thread::sleep(delay);
            // The receiver may be gone: nobody waits for the slow ones.
            let _ = tx.send(index);
        });
    }
    drop(tx);
    let first = rx.recv().expect("at least one task");
    std::iter::once(first).chain(rx.try_iter()).collect()
}

/// How `FIRST_EXCEPTION` ended for each task.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Fate {
    Succeeded(u64),
    Failed,
    /// Never started: cancelled after the failure.
    Cancelled,
}

/// `FIRST_EXCEPTION`: tasks on two workers, one of which fails; stop waiting
/// at the first error and cancel the tasks that have not started yet
/// (running tasks cannot be stopped, in Python or Rust).
fn first_exception(inputs: &[u64], delay: Duration) -> Vec<Fate> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("building the pool");
    let cancelled = Arc::new(AtomicBool::new(false));
    let (tx, rx) = crossbeam_channel::unbounded();
    for (index, &n) in inputs.iter().enumerate() {
        let tx = tx.clone();
        let cancelled = Arc::clone(&cancelled);
        pool.spawn(move || {
            if cancelled.load(Ordering::Acquire) {
                let _ = tx.send((index, Fate::Cancelled));
                return;
            }
            thread::sleep(delay);
            let fate = match 100u64.checked_div(n) {
                Some(quotient) => Fate::Succeeded(quotient),
                None => {
                    // Flip the flag here, before reporting: no queued task can
                    // slip through between the failure and the waiter waking up.
                    cancelled.store(true, Ordering::Release);
                    Fate::Failed
                }
            };
            let _ = tx.send((index, fate));
        });
    }
    drop(tx);
    let mut fates = vec![None; inputs.len()];
    for (index, fate) in rx.iter() {
        if fate == Fate::Failed {
            println!("task {index} failed: the tasks still queued will be cancelled");
        }
        fates[index] = Some(fate);
    }
    // The loop ran until every task reported, so every slot is filled.
    fates
        .into_iter()
        .map(|f| f.expect("every task reports"))
        .collect()
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 2.6 — Waiting for tasks to complete («Ожидание завершения задач»)",
        &[
            Step::new("step_11", "which tasks are done after 1.5 s", || {
                let tasks: Vec<_> = STEP_11_TASKS
                    .iter()
                    .map(|&(name, s)| (name, Duration::from_secs_f64(s)))
                    .collect();
                let waited = step_11(&tasks, Duration::from_secs_f64(1.5));
                for (_, name) in &waited.done {
                    println!("{name}");
                }
                let not_done: Vec<_> = waited.not_done.iter().map(|&i| tasks[i].0).collect();
                println!("not done after 1.5 s: {not_done:?}; waiting for them...");
                let later: Vec<_> = waited.finished_later.iter().map(|(_, name)| name).collect();
                println!("finished later: {later:?}");
            }),
            Step::new("step_12", "which of 20 tasks are done after 2.5 s", || {
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
            }),
            Step::new("step_13", "factorials with map, in input order", || {
                for (n, factorial) in step_13(&STEP_13_NUMBERS, Duration::from_millis(100)) {
                    println!("the factorial of {n} is {factorial}");
                }
            }),
            Step::new(
                "first_completed",
                "return at the first finished task",
                || {
                    let delays = [300, 100, 200].map(Duration::from_millis);
                    println!(
                        "done at the first completion: tasks {:?}",
                        first_completed(&delays)
                    );
                },
            ),
            Step::new(
                "first_exception",
                "stop at the first error, cancel the queued",
                || {
                    let inputs = [5, 0, 4, 2, 1, 10];
                    for (n, fate) in inputs
                        .iter()
                        .zip(first_exception(&inputs, Duration::from_millis(200)))
                    {
                        println!("100 / {n}: {fate:?}");
                    }
                },
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn step_11_splits_done_from_not_done_and_loses_nothing() {
        let tasks = [("fast", ms(0)), ("slow", ms(1500)), ("quick", ms(10))];
        let waited =
            course_tests::deadline(Duration::from_secs(20), move || step_11(&tasks, ms(500)));
        let mut done: Vec<_> = waited.done.iter().map(|(_, n)| *n).collect();
        done.sort_unstable();
        assert_eq!(done, ["fast", "quick"]);
        assert_eq!(waited.not_done, [1]);
        assert_eq!(waited.finished_later, [(1, "slow")]);
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
    fn step_12_with_a_short_deadline_reports_the_slow_ones_as_not_done() {
        // Work times of 1 and 2 units finish long before 3.33 units; 4 and 5
        // cannot finish before 4. Tasks of 3 units are left out of the check.
        let waited = course_tests::deadline(Duration::from_secs(20), || step_12(ms(300), ms(1000)));
        for (index, _) in &waited.done {
            assert!(STEP_12_WORK_TIMES[*index] <= 3);
        }
        for (index, &t) in STEP_12_WORK_TIMES.iter().enumerate() {
            if t <= 2 {
                assert!(waited.done.iter().any(|(i, _)| *i == index), "task {index}");
            } else if t >= 4 {
                assert!(waited.not_done.contains(&index), "task {index}");
            }
        }
        assert_eq!(waited.done.len() + waited.finished_later.len(), 20);
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
            first_completed(&[ms(1500), ms(0), ms(1500)])
        });
        assert_eq!(done, [1]);
    }

    #[test]
    fn first_exception_cancels_only_tasks_that_had_not_started() {
        let inputs = [5, 0, 4, 2, 1, 10];
        let fates = course_tests::deadline(Duration::from_secs(20), move || {
            first_exception(&inputs, ms(100))
        });
        assert_eq!(fates[1], Fate::Failed);
        for (n, fate) in inputs.iter().zip(&fates) {
            match fate {
                Fate::Succeeded(v) => assert_eq!(*v, 100 / n),
                Fate::Failed => assert_eq!(*n, 0),
                Fate::Cancelled => {}
            }
        }
        // Task 1 fails after one delay on one of two workers; task 5 cannot
        // start before that worker is free again, so it is always cancelled.
        assert_eq!(fates[5], Fate::Cancelled);
    }
}
