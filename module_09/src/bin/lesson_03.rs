//! Lesson 9.3 — Run one task, blocking (apply) («Синхронное выполнение одиночной задачи»)
//!
//! `pool.apply(f, args)` runs one call on a pool worker and blocks the caller
//! until it returns. rayon's counterpart is `pool.install(closure)`: the
//! closure runs on one of the pool's threads, the caller waits, and the value
//! (or the panic) comes back to the caller.
//!
//! | Python                                   | Rust                                                       |
//! |------------------------------------------|------------------------------------------------------------|
//! | `with Pool(2) as pool:`                  | `let pool = ThreadPoolBuilder::new().num_threads(2).build()?;` |
//! | `pool.apply(square, (7,))`               | `pool.install(\|\| square(7))`                               |
//! | an exception re-raised in the caller     | the closure returns `Result`; the caller gets the `Err`    |
//! | an uncaught exception in the task        | a panic inside `install` resumes in the caller             |
//! | `current_process().name`                 | `rayon::current_thread_index()` / `thread::current().name()` |
//!
//! `apply` in a loop runs one task at a time: the other workers stay idle.
//! For many tasks use `map` (lesson 9.5) or `apply_async` (lesson 9.4).
//!
//! The two pools end differently. Leaving `with Pool(2) as pool:` calls
//! `terminate()`, which kills the workers and drops unfinished tasks (lesson
//! 9.13 shows it with real processes). Dropping a rayon `ThreadPool` cancels
//! nothing: its threads end "once any extant work is completed"
//! (rayon-core 1.13, `Registry::terminate`), and the drop does not wait for
//! them.
//!
//! Python's pool runs the tasks in worker processes; this lesson runs them
//! on rayon's threads. Python needs processes because its GIL lets one
//! thread at a time run Python code; Rust's threads run in parallel on every
//! core, so a thread pool is the Rust equivalent (9.1, 9.2 and 9.13 show
//! real processes, for isolation).
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_03`
//! - Run one step:  `cargo run -p module_09 --bin lesson_03 -- apply_error`
//!
//! Try: in `show_apply_in_a_loop`, use `pool(1)`: the loop still takes
//! about 1.5 s, because `apply` in a loop never had two tasks running.

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use rayon::{ThreadPool, ThreadPoolBuilder};
use step_runner::{Step, lesson_id};

/// The course's kind of task: square a number slowly.
fn slow_square(x: u64, delay: Duration) -> u64 {
    thread::sleep(delay);
    x * x
}

/// A small named pool, as `Pool(2)` would be.
fn pool(threads: usize) -> ThreadPool {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("pool-worker-{i}"))
        .build()
        .expect("the OS can start two threads")
}

/// Where one `apply` ran: the value, the worker's name, the caller's name.
#[derive(Debug)]
struct Applied {
    value: u64,
    worker: String,
    caller: String,
}

/// `pool.apply(square, (7,))`: one task, run on a pool thread, caller waits.
fn apply_one(pool: &ThreadPool, x: u64, delay: Duration) -> Applied {
    let caller = thread::current().name().unwrap_or("unnamed").to_owned();
    let (value, worker) = pool.install(|| {
        let me = thread::current().name().unwrap_or("unnamed").to_owned();
        (slow_square(x, delay), me)
    });
    Applied {
        value,
        worker,
        caller,
    }
}

fn show_apply_one() {
    let a = apply_one(&pool(2), 7, DELAY);
    println!(
        "{} asked, {} computed 7 * 7 = {}",
        a.caller, a.worker, a.value
    );
}

/// `apply` in a loop: each call blocks, so the tasks run one after another.
fn apply_in_a_loop(pool: &ThreadPool, numbers: &[u64], delay: Duration) -> (Vec<u64>, Duration) {
    let started = Instant::now();
    let results = numbers
        .iter()
        .map(|&x| pool.install(|| slow_square(x, delay)))
        .collect();
    (results, started.elapsed())
}

fn show_apply_in_a_loop() {
    let (results, elapsed) = apply_in_a_loop(&pool(2), &NUMBERS, DELAY);
    println!("squares of {NUMBERS:?}: {results:?}");
    println!(
        "{} tasks of {DELAY:?} on 2 workers took {elapsed:.2?}: one at a time",
        NUMBERS.len()
    );
}

/// A task that can fail: the square root of a perfect square.
fn exact_sqrt(x: i64) -> Result<i64, String> {
    if x < 0 {
        return Err(format!("{x} is negative"));
    }
    let root = x.isqrt();
    if root * root == x {
        Ok(root)
    } else {
        Err(format!("{x} is not a perfect square"))
    }
}

/// Python's `apply` re-raises the task's exception in the caller; in Rust the
/// task returns a `Result` and `install` hands it back unchanged.
fn apply_error(pool: &ThreadPool, inputs: &[i64]) -> Vec<Result<i64, String>> {
    inputs
        .iter()
        .map(|&x| pool.install(|| exact_sqrt(x)))
        .collect()
}

fn show_apply_error() {
    for (x, result) in [49, 50, -4]
        .into_iter()
        .zip(apply_error(&pool(2), &[49, 50, -4]))
    {
        match result {
            Ok(root) => println!("sqrt({x}) = {root}"),
            Err(e) => println!("sqrt({x}) failed: {e}"),
        }
    }
}

const NUMBERS: [u64; 3] = [2, 3, 4];
const DELAY: Duration = Duration::from_millis(500);

const TITLE: &str =
    "Lesson 9.3 — Run one task, blocking (apply) («Синхронное выполнение одиночной задачи»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("apply_one", "pool.install runs one task and waits for it", show_apply_one),
        Step::new("apply_in_a_loop", "apply in a loop runs one task at a time", show_apply_in_a_loop),
        Step::new("apply_error", "a failing task's error reaches the caller", show_apply_error),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_runs_on_a_pool_thread_and_returns_its_value() {
        let a = apply_one(&pool(2), 7, Duration::ZERO);
        assert_eq!(a.value, 49);
        assert!(a.worker.starts_with("pool-worker-"), "{}", a.worker);
        assert_ne!(a.worker, a.caller);
    }

    #[test]
    fn apply_in_a_loop_takes_at_least_the_sum_of_the_delays() {
        let delay = Duration::from_millis(30);
        let (results, elapsed) = apply_in_a_loop(&pool(2), &NUMBERS, delay);
        assert_eq!(results, vec![4, 9, 16]);
        // A lower bound only: the calls cannot overlap, whatever the machine.
        assert!(elapsed >= delay * 3, "{elapsed:?}");
    }

    #[test]
    fn errors_come_back_to_the_caller() {
        let results = apply_error(&pool(2), &[49, 50, -4]);
        assert_eq!(results[0], Ok(7));
        assert_eq!(results[1], Err("50 is not a perfect square".to_owned()));
        assert_eq!(results[2], Err("-4 is negative".to_owned()));
    }

    #[test]
    fn a_panic_inside_install_resumes_in_the_caller() {
        let p = pool(2);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            p.install(|| -> u64 { panic!("task failed") })
        }));
        assert!(caught.is_err());
        // The pool survives a panicking task.
        assert_eq!(p.install(|| 6 * 7), 42);
    }
}
