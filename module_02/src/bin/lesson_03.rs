//! Lesson 2.3 — Submitting tasks with submit() and map() («Отправка задач в пул потоков с помощью submit() и map()»)
//!
//! `submit` hands the pool one task and gives back a handle to its result;
//! `map` hands it a whole collection and gives back the results in input
//! order. Results can also be taken in the order the tasks *finish*.
//!
//! | Python                                       | Rust                                                           |
//! |----------------------------------------------|----------------------------------------------------------------|
//! | `ThreadPoolExecutor(max_workers=2)`          | `rayon::ThreadPoolBuilder::new().num_threads(2).build()`        |
//! | `ex.submit(f)` (result not needed)           | `s.spawn_fifo(\|_\| f())` inside `pool.scope_fifo`               |
//! | leaving `with`: wait for all tasks           | `pool.scope_fifo(…)` returns when every spawned task has finished |
//! | `ex.map(f, items)` (ordered results)         | `pool.install(\|\| items.par_iter().map(f).collect::<Vec<_>>())` |
//! | `ex.submit(f, x)` → `Future`                 | `pool.spawn(…)` + a channel the task sends its result on        |
//! | `as_completed(futures)`                      | one shared channel: `rx.iter()` yields results as they finish   |
//!
//! - Run all steps: `cargo run -p module_02 --bin lesson_03`
//! - Run one step:  `cargo run -p module_02 --bin lesson_03 -- step_07`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try:
//! - In `step_07`, make the pool 1 thread: the tasks no longer overlap, all
//!   numbers come before all letters (the lecture's order), in 7.5 s.
//! - In `as_completed`, make the pool 5 threads: all five results arrive
//!   after one second instead of three, in any order.
//! - In `step_08`, replace `par_iter` with `iter`: the same six squares in
//!   the same order, now computed on one worker.

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use step_runner::{Sink, Step, lesson_id};

const TITLE: &str = "Lesson 2.3 — Submitting tasks with submit() and map() («Отправка задач в пул потоков с помощью submit() и map()»)";

const STEP_08_NUMBERS: [u64; 6] = [2, 17, 8, 11, 14, 5];

fn pool_of(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the pool should build")
}

/// Step 07 — two workers: one prints 1..=5 every `number_delay`, the other
/// a..=e every `letter_delay`; "Done!" comes only after both.
///
/// This follows the exercise's solution: both tasks are submitted at once and
/// run side by side, so the numbers and letters interleave. The lecture's
/// version of this step calls `future.result()` right after each `submit`,
/// which runs the two tasks one after the other (1…5, then a…e).
fn step_07(sink: &Sink, number_delay: Duration, letter_delay: Duration) {
    let pool = pool_of(2);
    // `_fifo`: started in the order submitted, as from Python's queue (see
    // lesson 2.1); with two workers both start at once either way.
    pool.scope_fifo(|s| {
        s.spawn_fifo(move |_| {
            for i in 1..=5 {
                thread::sleep(number_delay);
                sink.note(i);
            }
        });
        s.spawn_fifo(move |_| {
            for c in 'a'..='e' {
                thread::sleep(letter_delay);
                sink.note(c);
            }
        });
    });
    // `scope_fifo` has returned, so both tasks are done: this is the line
    // after Python's `with` block.
    sink.note("Done!");
}

fn show_step_07() {
    step_07(
        &Sink::stdout(),
        Duration::from_millis(500),
        Duration::from_secs(1),
    );
}

/// Step 08 — square each number on three workers with `map`; the results
/// come back in input order, whichever task finishes first.
///
/// This follows the lecture's version, which prints `map`'s results. The
/// exercise's solution prints inside each task instead, so its lines may
/// come out in any order (in practice the input order: each task is short).
fn step_08(numbers: &[u64]) -> Vec<u64> {
    pool_of(3).install(|| numbers.par_iter().map(|n| n * n).collect())
}

fn show_step_08() {
    for square in step_08(&STEP_08_NUMBERS) {
        println!("{square}");
    }
}

/// Lecture demo `01a` — five tasks (`n + 5` after a delay) submitted to two
/// workers; each result is reported the moment it arrives. Returns `(input,
/// result)` pairs in completion order.
///
/// The lecture sleeps 2 s in the main thread before its `as_completed` loop;
/// that only decides how many results are already waiting, so it is left
/// out here.
fn as_completed(sink: &Sink, delay: Duration) -> Vec<(u64, u64)> {
    let pool = pool_of(2);
    let (tx, rx) = crossbeam_channel::unbounded();
    for n in 0..5u64 {
        let tx = tx.clone();
        // `spawn` needs `'static` tasks: the task owns its sender and input.
        // Spawned from outside the pool, the tasks go to the pool's shared
        // queue, which is first in, first out, like Python's.
        pool.spawn(move || {
            thread::sleep(delay);
            tx.send((n, n + 5)).expect("main should keep the receiver");
        });
    }
    // Drop main's sender, or `rx.iter()` would wait for it forever after the
    // last task's sender is gone.
    drop(tx);
    rx.iter()
        .inspect(|(n, result)| sink.note(format!("task {n} finished: {result}")))
        .collect()
}

fn show_as_completed() {
    let sink = Sink::stdout();
    let started = Instant::now();
    let results = as_completed(&sink, Duration::from_secs(1));
    println!("{} results in {:.1?}", results.len(), started.elapsed());
}

/// Lecture demo `01b` — `map` over 0..5 on three workers, squaring after a delay:
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

fn show_map_in_order() {
    let started = Instant::now();
    let squares = map_in_order(Duration::from_secs(1));
    println!("{squares:?} in {:.1?}", started.elapsed());
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("step_07", "numbers and letters on two workers", show_step_07),
        Step::new("step_08", "squares with map", show_step_08),
        Step::new("as_completed", "results in completion order", show_as_completed),
        Step::new("map_in_order", "map keeps the input order", show_map_in_order),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_07_keeps_each_sequence_in_order_and_finishes_last() {
        let sink = std::sync::Arc::new(Sink::collect());
        let shared = std::sync::Arc::clone(&sink);
        course_tests::deadline(Duration::from_secs(20), move || {
            step_07(&shared, Duration::from_millis(5), Duration::from_millis(10));
        });
        let lines = sink.lines();
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
            as_completed(&Sink::collect(), Duration::from_millis(10))
        });
        results.sort();
        assert_eq!(results, [(0, 5), (1, 6), (2, 7), (3, 8), (4, 9)]);
    }

    #[test]
    fn map_returns_results_in_input_order() {
        assert_eq!(map_in_order(Duration::from_millis(10)), [0, 1, 4, 9, 16]);
    }
}
