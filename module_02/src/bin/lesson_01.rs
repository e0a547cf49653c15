//! Lesson 2.1 — What thread pools are («Что такое пулы потоков»)
//!
//! A pool starts a few worker threads once and feeds them many tasks, instead
//! of paying for a new thread per task. Std has no `ThreadPoolExecutor`; the
//! standard crates are `rayon` (a work-stealing pool) and
//! `futures::executor::ThreadPool` (a pool that returns a handle per task).
//!
//! | Python                                          | Rust                                                        |
//! |-------------------------------------------------|-------------------------------------------------------------|
//! | `ThreadPoolExecutor(max_workers=4)`             | `rayon::ThreadPoolBuilder::new().num_threads(4).build()`     |
//! | `ThreadPoolExecutor()` (default size)           | `ThreadPoolBuilder::new()` (one worker per CPU this process may use) |
//! | `with ThreadPoolExecutor() as ex:` (leaving it waits for the tasks) | `pool.scope(\|s\| …)`: returns once every task spawned in it has finished; dropping a rayon pool does not wait |
//! | `ex.submit(f, x).result()`                      | `pool.install(\|\| f(x))`: runs on a worker, returns the value |
//! | `future = ex.submit(f, x)` … `future.result()`  | `futures` pool: `pool.spawn_with_handle(fut)` → `block_on(handle)` |
//! | `thread_name_prefix="DemoThread"`               | `.thread_name(\|i\| format!("DemoThread_{i}"))`               |
//! | `initializer=f, initargs=("Hello",)`            | `.start_handler(move \|i\| f("Hello", i))`                    |
//! | `threading.current_thread().name`               | `thread::current().name()`                                   |
//!
//! Run all steps: `cargo run -p module_02 --bin lesson_01`
//! Run one step:  `cargo run -p module_02 --bin lesson_01 -- step_09`

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use futures::executor::{ThreadPool, block_on};
use futures::task::SpawnExt;
use step_runner::{Step, lesson_id};

/// Step 09's strings (rendered in English).
const STEP_09_STRINGS: [&str; 4] = [
    "Long live ThreadPoolExecutor!!!",
    "Multithreading in Python lets you run several tasks at once, improving performance.",
    "Multithreading can make managing memory and resources more complex.",
    "Using multithreading in Python correctly can greatly improve application performance.",
];

/// Step 10's half-open ranges, as in Python's `range(start, end)`.
const STEP_10_RANGES: [(u64, u64); 3] = [(1, 101), (101, 201), (201, 301)];

/// Step 09 — upper-case each string on a pool of four workers, waiting for
/// each result before submitting the next (as the Python `submit().result()`
/// loop does).
fn step_09(strings: &[&str]) -> Vec<String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .expect("building a 4-thread pool");
    // `install` runs the closure on a pool worker and blocks until it returns:
    // `submit(f).result()` in one call. It may borrow `s` because it waits.
    strings
        .iter()
        .map(|s| pool.install(|| s.to_uppercase()))
        .collect()
}

fn sum_range((start, end): (u64, u64)) -> u64 {
    (start..end).sum()
}

/// Step 10 — three range sums submitted at once to three workers; the
/// results are read through their handles, in submission order.
fn step_10(ranges: &[(u64, u64)]) -> Vec<u64> {
    let pool = ThreadPool::builder()
        .pool_size(3)
        .create()
        .expect("creating a 3-thread pool");
    // `spawn_with_handle` is `submit`: the task is queued now, and the
    // `RemoteHandle` is its future. Dropping a handle would cancel the task if
    // it had not started yet (Python needs an explicit `future.cancel()`).
    let handles: Vec<_> = ranges
        .iter()
        .map(|&range| {
            pool.spawn_with_handle(async move { sum_range(range) })
                .expect("the pool accepts tasks while it exists")
        })
        .collect();
    // `block_on(handle)` is `future.result()`: wait for that one task.
    handles.into_iter().map(block_on).collect()
}

/// The 20th Fibonacci number from Binet's formula, as the course computes it.
fn fibonacci_binet(n: i32) -> u64 {
    let sqrt5 = 5f64.sqrt();
    let phi = (1.0 + sqrt5) / 2.0;
    let psi = (1.0 - sqrt5) / 2.0;
    // Python's `int()` truncates towards zero; `as u64` does the same for a
    // positive float. Rounding would be more robust; truncation matches.
    ((phi.powi(n) - psi.powi(n)) / sqrt5) as u64
}

/// Step 11 — three different functions on a default-sized pool: the 20th
/// Fibonacci number, the sum of the square roots of 1..=50, and 20!.
fn step_11() -> Vec<String> {
    // No `num_threads`: rayon's default is `RAYON_NUM_THREADS`, else
    // `available_parallelism()`; Python's is `min(32, CPUs + 4)`.
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .expect("building the default pool");
    let tasks: [fn() -> String; 3] = [
        || format!("20th Fibonacci number: {}", fibonacci_binet(20)),
        || {
            let sum: f64 = (1..=50).map(|i| f64::from(i).sqrt()).sum();
            format!("sum of the square roots of 1 to 50: {sum:.4}")
        },
        || format!("factorial of 20: {}", (1..=20u64).product::<u64>()),
    ];
    tasks.iter().map(|task| pool.install(task)).collect()
}

/// Lecture demo — four one-second tasks on two named workers with an
/// initializer. Returns the names of the threads that ran the tasks and the
/// greetings the workers printed when they started.
///
/// Only two threads ever exist: the pool *reuses* them for all four tasks.
/// That reuse is the point of a pool.
fn reused_workers(tasks: usize, delay: Duration) -> (Vec<String>, Vec<String>) {
    let (greet_tx, greet_rx) = crossbeam_channel::unbounded();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .thread_name(|i| format!("DemoThread_{i}"))
        // `initializer` + `initargs`: the closure captures its arguments.
        .start_handler(move |_index| {
            let name = thread::current().name().unwrap_or("?").to_owned();
            greet_tx
                .send(format!("Hello from {name}"))
                .expect("main keeps the receiver");
        })
        .build()
        .expect("building the demo pool");

    let (done_tx, done_rx) = crossbeam_channel::unbounded();
    // `scope` is the `with` block: it returns once every task spawned in it
    // has finished.
    pool.scope(|s| {
        for task in 0..tasks {
            let done_tx = done_tx.clone();
            s.spawn(move |_| {
                let name = thread::current().name().unwrap_or("?").to_owned();
                println!("task {task} runs on {name}");
                thread::sleep(delay);
                done_tx.send(name).expect("main keeps the receiver");
            });
        }
    });
    drop(done_tx);
    let ran_on = done_rx.iter().collect();
    // Dropping the pool lets its workers exit; once the last one has gone,
    // rayon drops the start handler and with it `greet_tx`, which ends this
    // loop. Rayon starts every worker up front (Python starts them lazily: at
    // most one per `submit`, none while an idle worker is waiting), so both
    // greet even if one ran no task.
    drop(pool);
    let greetings = greet_rx.iter().collect();
    (ran_on, greetings)
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 2.1 — What thread pools are («Что такое пулы потоков»)",
        &[
            Step::new("step_09", "upper-case strings, one task at a time", || {
                for line in step_09(&STEP_09_STRINGS) {
                    println!("{line}");
                }
            }),
            Step::new("step_10", "three range sums with task handles", || {
                let sums = step_10(&STEP_10_RANGES);
                for (&(start, end), sum) in STEP_10_RANGES.iter().zip(sums) {
                    println!("sum of the numbers {start} to {}: {sum}", end - 1);
                }
            }),
            Step::new("step_11", "three functions on a default pool", || {
                for line in step_11() {
                    println!("{line}");
                }
            }),
            Step::new(
                "reused_workers",
                "four tasks, two named workers, an initializer",
                || {
                    let (ran_on, greetings) = reused_workers(4, Duration::from_secs(1));
                    for greeting in greetings {
                        println!("{greeting}");
                    }
                    let distinct: BTreeSet<_> = ran_on.iter().collect();
                    println!(
                        "{} tasks ran on {} threads: {distinct:?}",
                        ran_on.len(),
                        distinct.len()
                    );
                },
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_09_upper_cases_every_string_in_order() {
        let out = step_09(&["abc", "Мир"]);
        assert_eq!(out, ["ABC", "МИР"]);
        assert_eq!(
            step_09(&STEP_09_STRINGS)[0],
            "LONG LIVE THREADPOOLEXECUTOR!!!"
        );
    }

    #[test]
    fn step_10_matches_the_sequential_sums() {
        assert_eq!(step_10(&STEP_10_RANGES), [5050, 15050, 25050]);
    }

    #[test]
    fn step_11_computes_the_course_values() {
        let out = step_11();
        assert_eq!(out[0], "20th Fibonacci number: 6765");
        let expected: f64 = (1..=50).map(|i| f64::from(i).sqrt()).sum();
        assert_eq!(
            out[1],
            format!("sum of the square roots of 1 to 50: {expected:.4}")
        );
        assert_eq!(out[2], "factorial of 20: 2432902008176640000");
    }

    #[test]
    fn four_tasks_reuse_two_threads() {
        let (ran_on, greetings) = course_tests::deadline(Duration::from_secs(20), || {
            reused_workers(4, Duration::from_millis(20))
        });
        assert_eq!(ran_on.len(), 4);
        let distinct: BTreeSet<_> = ran_on.iter().map(String::as_str).collect();
        assert!(distinct.len() <= 2, "{distinct:?}");
        assert!(distinct.iter().all(|name| name.starts_with("DemoThread_")));
        assert_eq!(greetings.len(), 2, "{greetings:?}");
        assert!(
            greetings
                .iter()
                .all(|g| g.starts_with("Hello from DemoThread_"))
        );
    }
}
