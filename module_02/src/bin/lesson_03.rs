//! Lesson 2.3 — Submitting tasks with submit() and map() («Отправка задач в пул потоков с помощью submit() и map()»)
//!
//! `submit` hands the pool one task and gives back a handle to its result;
//! `map` hands it a whole collection and gives back the results in input
//! order. Results can also be taken in the order the tasks *finish*.
//!
//! | Python                                       | Rust                                                           |
//! |----------------------------------------------|----------------------------------------------------------------|
//! | `ThreadPoolExecutor(max_workers=2)`          | `rayon::ThreadPoolBuilder::new().num_threads(2).build()`        |
//! | `ex.submit(f)` (result not needed)           | `s.spawn(\|_\| f())` inside `pool.scope`                         |
//! | leaving `with`: wait for all tasks           | `pool.scope(…)` returns when every spawned task has finished    |
//! | `ex.map(f, items)` (ordered results)         | `pool.install(\|\| items.par_iter().map(f).collect::<Vec<_>>())` |
//! | `ex.submit(f, x)` → `Future`                 | `pool.spawn(…)` + a channel the task sends its result on        |
//! | `as_completed(futures)`                      | one shared channel: `rx.iter()` yields results as they finish   |
//!
//! Run all steps: `cargo run -p module_02 --bin lesson_03`
//! Run one step:  `cargo run -p module_02 --bin lesson_03 -- step_07`
//! Output order varies between runs where threads race; the values do not.

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use step_runner::{Step, lesson_id};

const STEP_08_NUMBERS: [u64; 6] = [2, 17, 8, 11, 14, 5];

fn pool_of(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("building a thread pool")
}

/// Step 07 — two workers: one prints 1..=5 every `number_delay`, the other
/// a..=e every `letter_delay`; "Done!" comes only after both.
///
/// The tasks print as they go and also return what they printed, in the
/// order it happened, so the test can check it.
fn step_07(number_delay: Duration, letter_delay: Duration) -> Vec<String> {
    let pool = pool_of(2);
    let (tx, rx) = crossbeam_channel::unbounded();
    let say = move |line: String| {
        println!("{line}");
        tx.send(line).expect("the receiver lives until the end");
    };
    pool.scope(|s| {
        let say_number = say.clone();
        s.spawn(move |_| {
            for i in 1..=5 {
                thread::sleep(number_delay);
                say_number(i.to_string());
            }
        });
        let say_letter = say.clone();
        s.spawn(move |_| {
            for c in 'a'..='e' {
                thread::sleep(letter_delay);
                say_letter(c.to_string());
            }
        });
    });
    // `scope` has returned, so both tasks are done: this is the line after
    // Python's `with` block.
    say("Done!".to_owned());
    rx.try_iter().collect()
}

/// Step 08 — square each number on three workers with `map`.
///
/// The Python task prints inside the worker, so its lines come out in any
/// order; `map` itself returns results in input order, which is what this
/// returns and the caller prints.
fn step_08(numbers: &[u64]) -> Vec<u64> {
    pool_of(3).install(|| numbers.par_iter().map(|n| n * n).collect())
}

/// Lecture demo — five tasks (`n + 5` after a delay) submitted to two
/// workers; results are taken as they complete. Returns `(input, result)`
/// pairs in completion order.
fn as_completed(delay: Duration) -> Vec<(u64, u64)> {
    let pool = pool_of(2);
    let (tx, rx) = crossbeam_channel::unbounded();
    for n in 0..5u64 {
        let tx = tx.clone();
        // `spawn` needs `'static` tasks: the task owns its sender and input.
        pool.spawn(move || {
            thread::sleep(delay);
            tx.send((n, n + 5)).expect("main keeps the receiver");
        });
    }
    // Drop main's sender, or `rx.iter()` would wait for it forever after the
    // last task's sender is gone.
    drop(tx);
    rx.iter()
        .inspect(|(n, result)| println!("task {n} finished: {result}"))
        .collect()
}

/// Lecture demo — `map` over 0..5 on three workers, squaring after a delay:
/// results come back in input order although tasks finish in any order.
fn map_in_order(delay: Duration) -> Vec<u64> {
    pool_of(3).install(|| {
        (0..5u64)
            .into_par_iter()
            .map(|n| {
                thread::sleep(delay);
                n * n
            })
            .collect()
    })
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 2.3 — Submitting tasks with submit() and map() («Отправка задач в пул потоков с помощью submit() и map()»)",
        &[
            Step::new("step_07", "numbers and letters on two workers", || {
                step_07(Duration::from_millis(500), Duration::from_secs(1));
            }),
            Step::new("step_08", "squares with map", || {
                for square in step_08(&STEP_08_NUMBERS) {
                    println!("{square}");
                }
            }),
            Step::new("as_completed", "results in completion order", || {
                let started = Instant::now();
                let results = as_completed(Duration::from_secs(1));
                println!("{} results in {:.1?}", results.len(), started.elapsed());
            }),
            Step::new("map_in_order", "map keeps the input order", || {
                let started = Instant::now();
                let squares = map_in_order(Duration::from_secs(1));
                println!("{squares:?} in {:.1?}", started.elapsed());
            }),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_07_keeps_each_sequence_in_order_and_finishes_last() {
        let lines = course_tests::deadline(Duration::from_secs(20), || {
            step_07(Duration::from_millis(5), Duration::from_millis(10))
        });
        let numbers: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .filter(|l| l.parse::<u8>().is_ok())
            .collect();
        let letters: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .filter(|l| l.len() == 1 && l.chars().all(|c| c.is_ascii_lowercase()))
            .collect();
        assert_eq!(numbers, ["1", "2", "3", "4", "5"]);
        assert_eq!(letters, ["a", "b", "c", "d", "e"]);
        assert_eq!(lines.len(), 11);
        assert_eq!(lines.last().map(String::as_str), Some("Done!"));
    }

    #[test]
    fn step_08_returns_squares_in_input_order() {
        assert_eq!(step_08(&STEP_08_NUMBERS), [4, 289, 64, 121, 196, 25]);
    }

    #[test]
    fn as_completed_yields_every_result_once() {
        let mut results = course_tests::deadline(Duration::from_secs(20), || {
            as_completed(Duration::from_millis(10))
        });
        results.sort();
        assert_eq!(results, [(0, 5), (1, 6), (2, 7), (3, 8), (4, 9)]);
    }

    #[test]
    fn map_returns_results_in_input_order() {
        assert_eq!(map_in_order(Duration::from_millis(10)), [0, 1, 4, 9, 16]);
    }
}
