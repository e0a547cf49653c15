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
//! | `with ThreadPoolExecutor() as ex:` (leaving it waits for the tasks) | `pool.scope_fifo(\|s\| …)`: returns once every task spawned in it has finished; dropping a rayon pool does not wait |
//! | `ex.submit(f)` inside the `with` (first in, first out) | `s.spawn_fifo(\|_\| f())`: started in the order queued, like Python's queue |
//! | `ex.submit(f, x).result()`                      | `pool.install(\|\| f(x))`: runs on a worker, returns the value |
//! | `future = ex.submit(f, x)` … `future.result()`  | `futures` pool: `pool.spawn_with_handle(fut)` → `block_on(handle)` |
//! | `thread_name_prefix="DemoThread"`               | `.thread_name(\|i\| format!("DemoThread_{i}"))`               |
//! | `initializer=f, initargs=("Hello",)`            | `.start_handler(move \|i\| f("Hello", i))`                    |
//! | `threading.current_thread().name`               | `thread::current().name()`                                   |
//!
//! - Run all steps: `cargo run -p module_02 --bin lesson_01`
//! - Run one step:  `cargo run -p module_02 --bin lesson_01 -- step_09`
//!
//! The steps named after course steps (`step_09`…) are the exercises; the
//! others are the lecture's demos `02a` (`submit_two`), `02b`
//! (`reused_workers`) and `02c` (`one_worker`).
//!
//! Try:
//! - In `reused_workers`, change `scope_fifo`/`spawn_fifo` to `scope`/`spawn`
//!   and run `-- reused_workers`: task 3, the last one queued, starts in the
//!   first second beside task 0, and task 1 waits for the second wave.
//! - In `show_reused_workers`, ask for 1 worker instead of 2: one greeting,
//!   all four tasks on `DemoThread_0`, one after another, in 4 s instead of 2.
//! - In `submit_two`, make the pool size 1: the second task starts only when
//!   the first has finished, and the results come after 4 s instead of 2.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use futures::executor::{ThreadPool, block_on};
use futures::task::SpawnExt;
use step_runner::{Sink, Step, lesson_id};

const TITLE: &str = "Lesson 2.1 — What thread pools are («Что такое пулы потоков»)";

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
        .expect("a 4-thread pool should build");
    // `install` runs the closure on a pool worker and blocks until it returns:
    // `submit(f).result()` in one call. It may borrow `s` because it waits.
    strings
        .iter()
        .map(|s| pool.install(|| s.to_uppercase()))
        .collect()
}

fn show_step_09() {
    for line in step_09(&STEP_09_STRINGS) {
        println!("{line}");
    }
}

fn sum_range((start, end): (u64, u64)) -> u64 {
    (start..end).sum()
}

/// Step 10 — three range sums submitted at once to three workers; the
/// results are read through their handles, in submission order.
///
/// This follows the exercise's solution. The lecture's version of this step
/// calls `future.result()` right after each `submit`, so its three sums run
/// one after another; the values and their order are the same.
fn step_10(ranges: &[(u64, u64)]) -> Vec<u64> {
    let pool = ThreadPool::builder()
        .pool_size(3)
        .create()
        .expect("a 3-thread pool should start");
    // `spawn_with_handle` is `submit`: the task is queued now, and the
    // `RemoteHandle` is its future. Dropping a handle would cancel the task if
    // it had not started yet (Python needs an explicit `future.cancel()`).
    let handles: Vec<_> = ranges
        .iter()
        .map(|&range| {
            pool.spawn_with_handle(async move { sum_range(range) })
                .expect("the pool should accept tasks while it exists")
        })
        .collect();
    // `block_on(handle)` is `future.result()`: wait for that one task.
    handles.into_iter().map(block_on).collect()
}

fn show_step_10() {
    let sums = step_10(&STEP_10_RANGES);
    for (&(start, end), sum) in STEP_10_RANGES.iter().zip(sums) {
        println!("sum of the numbers {start} to {}: {sum}", end - 1);
    }
}

/// The 20th Fibonacci number from Binet's formula, as the course computes it.
fn fibonacci_binet(n: i32) -> u64 {
    let sqrt5 = 5f64.sqrt();
    let phi = (1.0 + sqrt5) / 2.0;
    let psi = (1.0 - sqrt5) / 2.0;
    // `powf` is C's `pow`, which Python's `**` on floats calls: 6765.000…05
    // here. `powi` multiplies step by step and gives 6764.999…, unless the
    // optimiser folds a constant `n` and gets the other value: the answer
    // would depend on the build.
    let n = f64::from(n);
    // Python's `int()` truncates towards zero; `as u64` does the same for a
    // positive float. Rounding would be more robust; truncation matches.
    ((phi.powf(n) - psi.powf(n)) / sqrt5) as u64
}

/// Step 11 — three different functions on a default-sized pool: the 20th
/// Fibonacci number, the sum of the square roots of 1..=50, and 20!.
fn step_11() -> Vec<String> {
    // No `num_threads`: rayon's default is `RAYON_NUM_THREADS`, else
    // `available_parallelism()`; Python's is `min(32, CPUs + 4)`.
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .expect("the default pool should build");
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

fn show_step_11() {
    for line in step_11() {
        println!("{line}");
    }
}

/// Lecture demo `02a` — two two-second tasks submitted to a pool of three;
/// each reports when it starts and ends, and `main` then reads both results
/// through their handles, in submission order.
///
/// The tasks report through the sink as it happens (both start at once, both
/// end two seconds later); the results come back as values.
fn submit_two(sink: &Arc<Sink>, delay: Duration) -> Vec<String> {
    let pool = ThreadPool::builder()
        .pool_size(3)
        .name_prefix("worker-")
        .create()
        .expect("a 3-thread pool should start");
    let handles: Vec<_> = ["Hello, World!", "Another task."]
        .into_iter()
        .map(|message| {
            // A pool task must own what it uses (`'static`): each gets its
            // own handle to the sink.
            let sink = Arc::clone(sink);
            pool.spawn_with_handle(async move {
                sink.note(format!("task started on {}", current_name()));
                thread::sleep(delay);
                sink.note(format!("task finished on {}", current_name()));
                format!("task done with the message: {message}")
            })
            .expect("the pool should accept tasks while it exists")
        })
        .collect();
    handles.into_iter().map(block_on).collect()
}

fn show_submit_two() {
    let sink = Arc::new(Sink::stdout_timed());
    for result in submit_two(&sink, Duration::from_secs(2)) {
        sink.note(result);
    }
}

fn current_name() -> String {
    thread::current().name().unwrap_or("unnamed").to_owned()
}

/// Lecture demo `02b` — four one-second tasks on `workers` named workers
/// with an initializer. Each worker greets when it starts, each task reports
/// its start and end. Returns the names of the threads that ran the tasks.
///
/// Only `workers` threads ever exist: the pool *reuses* them for all four
/// tasks. That reuse is the point of a pool.
fn reused_workers(sink: &Arc<Sink>, workers: usize, tasks: usize, delay: Duration) -> Vec<String> {
    let greeter = Arc::clone(sink);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("DemoThread_{i}"))
        // `initializer` + `initargs`: the closure captures its arguments.
        // Rayon starts every worker up front (Python starts them lazily: at
        // most one per `submit`, none while an idle worker is waiting), so
        // every worker greets, even one that gets no task. A panic in a
        // start handler (printing to a closed stdout) aborts the process:
        // rayon has nowhere to report it unless `.panic_handler(…)` is set
        // (rayon-core's `Registry::catch_unwind`).
        .start_handler(move |_index| greeter.note(format!("Hello from {}", current_name())))
        .build()
        .expect("the demo pool should build");

    let (done_tx, done_rx) = crossbeam_channel::unbounded();
    // `scope_fifo` is the `with` block: it returns once every task spawned in
    // it has finished. The `_fifo` forms start the tasks in the order they
    // were queued, as Python's executor does (its work queue is first in,
    // first out). Plain `scope`/`spawn` would let the worker that queued
    // them start the *newest* one first: task 3 before task 0 (rayon-core's
    // `scope_fifo` docs: "FIFO order ... as opposed to `scope()`'s LIFO").
    pool.scope_fifo(|s| {
        for task in 0..tasks {
            let done_tx = done_tx.clone();
            s.spawn_fifo(move |_| {
                let name = current_name();
                sink.note(format!("task {task} runs on {name}"));
                thread::sleep(delay);
                sink.note(format!("task {task} finished on {name}"));
                done_tx.send(name).expect("main should keep the receiver");
            });
        }
    });
    drop(done_tx);
    done_rx.iter().collect()
}

fn show_reused_workers() {
    let sink = Arc::new(Sink::stdout_timed());
    let ran_on = reused_workers(&sink, 2, 4, Duration::from_secs(1));
    let distinct: BTreeSet<_> = ran_on.iter().collect();
    println!(
        "{} tasks ran on {} threads: {distinct:?}",
        ran_on.len(),
        distinct.len()
    );
}

/// Lecture demo `02c` — a pool of one worker runs a task that counts 0..5,
/// one number per `delay`; `main` waits for it and then says it is done.
fn one_worker(sink: &Sink, delay: Duration) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a 1-thread pool should build");
    // `install` is `submit(…).result()`: it blocks until the task returns,
    // so the task may borrow `sink`.
    pool.install(|| {
        for number in 0..5 {
            sink.note(number);
            thread::sleep(delay);
        }
    });
    sink.note("the task has finished");
}

fn show_one_worker() {
    one_worker(&Sink::stdout_timed(), Duration::from_secs(1));
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("step_09", "upper-case strings, one task at a time", show_step_09),
        Step::new("step_10", "three range sums with task handles", show_step_10),
        Step::new("step_11", "three functions on a default pool", show_step_11),
        Step::new("submit_two", "two tasks, their results by handle", show_submit_two),
        Step::new("reused_workers", "four tasks, two named workers, an initializer", show_reused_workers),
        Step::new("one_worker", "a pool of one runs one long task", show_one_worker),
    ])
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
    fn binet_gives_the_20th_fibonacci_number_at_run_time() {
        // `black_box`: computed at run time, not folded by the optimiser.
        assert_eq!(fibonacci_binet(std::hint::black_box(20)), 6765);
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
        let sink = Arc::new(Sink::collect());
        let shared = Arc::clone(&sink);
        let ran_on = course_tests::deadline(Duration::from_secs(20), move || {
            reused_workers(&shared, 2, 4, Duration::from_millis(20))
        });
        assert_eq!(ran_on.len(), 4);
        let distinct: BTreeSet<_> = ran_on.iter().map(String::as_str).collect();
        assert!(distinct.len() <= 2, "{distinct:?}");
        assert!(distinct.iter().all(|name| name.starts_with("DemoThread_")));
        let lines = sink.lines();
        let greetings = lines
            .iter()
            .filter(|l| l.starts_with("Hello from DemoThread_"));
        assert_eq!(greetings.count(), 2, "{lines:?}");
    }

    #[test]
    fn tasks_start_in_the_order_they_were_queued() {
        // One worker runs the tasks one by one, so the order it starts them
        // in is exactly its queue's order: first in, first out, as in
        // Python. With `scope`/`spawn` it would be 3, 2, 1, 0.
        let sink = Arc::new(Sink::collect());
        let shared = Arc::clone(&sink);
        course_tests::deadline(Duration::from_secs(20), move || {
            reused_workers(&shared, 1, 4, Duration::ZERO)
        });
        let started: Vec<String> = sink
            .lines()
            .into_iter()
            .filter(|l| l.contains(" runs on "))
            .collect();
        let expected: Vec<String> = (0..4)
            .map(|t| format!("task {t} runs on DemoThread_0"))
            .collect();
        assert_eq!(started, expected);
        assert_eq!(sink.lines()[0], "Hello from DemoThread_0");
    }

    #[test]
    fn submit_two_returns_both_results_in_submission_order() {
        let sink = Arc::new(Sink::collect());
        let shared = Arc::clone(&sink);
        let results = course_tests::deadline(Duration::from_secs(20), move || {
            submit_two(&shared, Duration::ZERO)
        });
        assert_eq!(
            results,
            [
                "task done with the message: Hello, World!",
                "task done with the message: Another task."
            ]
        );
        let lines = sink.lines();
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("task started on "))
                .count(),
            2
        );
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("task finished on "))
                .count(),
            2
        );
    }

    #[test]
    fn one_worker_counts_to_four_and_then_returns() {
        let sink = Sink::collect();
        one_worker(&sink, Duration::ZERO);
        assert_eq!(
            sink.lines(),
            ["0", "1", "2", "3", "4", "the task has finished"]
        );
    }
}
