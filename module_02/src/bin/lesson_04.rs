//! Lesson 2.4 — Getting results from a thread pool («Получаем результаты из пула потоков»)
//!
//! Blocking for a task's result, waiting with a time-out (and deciding what
//! happens to a result that misses it), and `map`'s ordered results.
//!
//! | Python                                   | Rust                                                           |
//! |------------------------------------------|----------------------------------------------------------------|
//! | `future = ex.submit(f, x)`               | `pool.spawn(…)` sending on its own `crossbeam_channel::bounded(1)` |
//! | `future.result()`                        | `rx.recv()` (blocks until the task has sent)                    |
//! | `future.result(timeout=1.5)`             | `rx.recv_timeout(Duration::from_secs_f64(1.5))`                 |
//! | `except TimeoutError:`                   | `Err(RecvTimeoutError::Timeout)`: the task is still running     |
//! | `ex.map(f, items)` → ordered iterator    | `pool.install(\|\| items.par_iter().map(f).collect())`           |
//! | `len(s)` (code points)                   | `s.chars().count()` — `s.len()` counts UTF-8 *bytes*           |
//! | `round(x, 2)` → `float`                  | `format!("{x:.2}")` → `String`: the same rounding, but always two decimals (`3.50` where Python prints `3.5`) |
//!
//! - Run all steps: `cargo run -p module_02 --bin lesson_04`
//! - Run one step:  `cargo run -p module_02 --bin lesson_04 -- step_10`
//!
//! Try:
//! - In `show_step_10`, make the time-out 1.0 s: `zxcl` and `vbnm` now print
//!   `wait`, and both arrive after the loop. Why is `poiu` (2.7 s) on time?
//! - In `step_11`, count with `message.len()`: `[85, 99]`, the UTF-8 bytes,
//!   since each Cyrillic letter takes two.

use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use rayon::prelude::*;
use step_runner::{Sink, Step, lesson_id};

const TITLE: &str =
    "Lesson 2.4 — Getting results from a thread pool («Получаем результаты из пула потоков»)";

/// Step 10's tasks: a name and how many seconds the task takes.
const STEP_10_TASKS: [(&str, f64); 7] = [
    ("asdf", 0.7),
    ("ghjk", 1.4),
    ("zxcl", 3.2),
    ("vbnm", 4.1),
    ("poiu", 2.7),
    ("ytre", 0.3),
    ("wqsx", 1.1),
];

/// Step 11's messages. Kept in Russian: the result is their lengths.
const STEP_11_MESSAGES: [&str; 2] = [
    "Привет, давайте обсудим многопоточность в Python!",
    "Да, GIL - это большая проблема для многопоточности в Python.",
];

struct Student {
    name: &'static str,
    grades: &'static [u32],
}

const STUDENTS: [Student; 4] = [
    Student {
        name: "Alice",
        grades: &[4, 5, 5, 4, 2, 3, 5, 2],
    },
    Student {
        name: "Bob",
        grades: &[3, 4, 3, 4, 4, 5, 3, 4, 3, 2, 4],
    },
    Student {
        name: "Charlie",
        grades: &[5, 5, 5, 5, 5, 5, 4, 5, 4, 5, 4],
    },
    Student {
        name: "Hannah Thompson",
        grades: &[2, 4, 3, 5, 3, 3, 2, 4, 4, 3, 2, 2, 2, 2, 5, 3, 4, 5],
    },
];

/// How one `result(timeout)` call ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The task's value arrived within the time-out.
    OnTime(&'static str),
    /// The time-out passed first; the value was collected after the loop.
    Late(&'static str),
}

/// Step 10 — seven tasks of different lengths; read each result in
/// submission order with a time-out per read.
///
/// As in Python, each time-out starts when that read starts, so a slow task
/// may still be on time if earlier reads already waited long. A task that
/// misses its time-out keeps running (a running thread cannot be stopped);
/// here its value is **collected after the loop**, not abandoned.
fn step_10(sink: &Sink, tasks: &[(&'static str, Duration)], timeout: Duration) -> Vec<Outcome> {
    // One worker per task, so no task waits in the queue behind another.
    // Python uses its default size, `min(32, CPUs + 4)`; with 5 or more
    // workers the course's tasks print the same lines.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(tasks.len())
        .build()
        .expect("the pool should build");
    // A `bounded(1)` channel per task plays the role of its Future: the task
    // sends exactly once, and the receiver can wait with or without a limit.
    let futures: Vec<Receiver<&'static str>> = tasks
        .iter()
        .map(|&(name, delay)| {
            let (tx, rx) = crossbeam_channel::bounded(1);
            pool.spawn(move || {
                thread::sleep(delay);
                // Never fails: every receiver is kept until its value is read.
                tx.send(name).expect("the future should be kept until read");
            });
            rx
        })
        .collect();
    let (mut outcomes, late) = read_on_time(sink, &futures, timeout);
    outcomes.extend(collect_late(sink, &futures, &late));
    outcomes
}

fn show_step_10() {
    step_10(
        &Sink::stdout(),
        &course_tasks(),
        Duration::from_secs_f64(1.5),
    );
}

/// Read each future in submission order, waiting at most `timeout` for each.
/// Returns the values that were on time and the indices of the late ones.
fn read_on_time(
    sink: &Sink,
    futures: &[Receiver<&'static str>],
    timeout: Duration,
) -> (Vec<Outcome>, Vec<usize>) {
    let mut outcomes = Vec::new();
    let mut late = Vec::new();
    for (index, future) in futures.iter().enumerate() {
        match future.recv_timeout(timeout) {
            Ok(name) => {
                sink.note(name);
                outcomes.push(Outcome::OnTime(name));
            }
            Err(RecvTimeoutError::Timeout) => {
                sink.note("wait");
                late.push(index);
            }
            Err(RecvTimeoutError::Disconnected) => unreachable!("a task sends before it ends"),
        }
    }
    (outcomes, late)
}

/// The late tasks are still running; block for their values now.
fn collect_late(sink: &Sink, futures: &[Receiver<&'static str>], late: &[usize]) -> Vec<Outcome> {
    late.iter()
        .map(|&index| {
            let name = futures[index]
                .recv()
                .expect("the task should send before it ends");
            sink.note(format!("{name} (arrived after its time-out)"));
            Outcome::Late(name)
        })
        .collect()
}

fn course_tasks() -> Vec<(&'static str, Duration)> {
    STEP_10_TASKS
        .iter()
        .map(|&(name, seconds)| (name, Duration::from_secs_f64(seconds)))
        .collect()
}

/// Step 11 — the number of characters in each message, computed on the pool
/// and collected in submission order.
///
/// This follows the exercise's solution (`submit`, then each `result()`);
/// the lecture's version uses `map`, as step 12 does. Same values.
fn step_11(messages: &[&str]) -> Vec<usize> {
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .expect("the pool should build");
    let futures: Vec<Receiver<usize>> = messages
        .iter()
        .map(|message| {
            let (tx, rx) = crossbeam_channel::bounded(1);
            let message = message.to_string();
            // Python's `len` counts code points; `str::len` would count UTF-8
            // bytes (about twice as many for Cyrillic text).
            pool.spawn(move || {
                tx.send(message.chars().count())
                    .expect("main should keep the receiver")
            });
            rx
        })
        .collect();
    futures
        .iter()
        .map(|rx| rx.recv().expect("the task should send before it ends"))
        .collect()
}

fn show_step_11() {
    let counts = step_11(&STEP_11_MESSAGES);
    println!("characters in each message: {counts:?}");
}

/// Step 12 — every student's average grade, rounded to two places, with
/// `map` on five workers; the pairs come back in the students' order.
fn step_12(students: &[Student]) -> Vec<(&'static str, String)> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(5)
        .build()
        .expect("a 5-thread pool should build");
    pool.install(|| {
        students
            .par_iter()
            .map(|s| {
                let sum: u32 = s.grades.iter().sum();
                let average = f64::from(sum) / s.grades.len() as f64;
                (s.name, format!("{average:.2}"))
            })
            .collect()
    })
}

/// Printed like Python's dict: `{Alice: 3.75, …}`.
fn show_step_12() {
    let shown: Vec<String> = step_12(&STUDENTS)
        .iter()
        .map(|(name, avg)| format!("{name}: {avg}"))
        .collect();
    println!("{{{}}}", shown.join(", "));
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("step_10", "results with a 1.5 s time-out per read", show_step_10),
        Step::new("step_11", "characters per message", show_step_11),
        Step::new("step_12", "average grades with map", show_step_12),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_result_is_reported_late_and_still_collected() {
        let (senders, futures): (Vec<_>, Vec<_>) =
            (0..3).map(|_| crossbeam_channel::bounded(1)).unzip();
        // The quick tasks have sent before the reads begin; "slow" sends only
        // after its read has timed out: ordered by the test, not the clock.
        senders[0]
            .send("quick")
            .expect("main should keep the receiver");
        senders[2]
            .send("also_quick")
            .expect("main should keep the receiver");
        let sink = Sink::collect();
        let (on_time, late) = read_on_time(&sink, &futures, Duration::from_millis(10));
        assert_eq!(
            on_time,
            [Outcome::OnTime("quick"), Outcome::OnTime("also_quick")]
        );
        assert_eq!(late, [1]);
        senders[1]
            .send("slow")
            .expect("main should keep the receiver");
        assert_eq!(
            collect_late(&sink, &futures, &late),
            [Outcome::Late("slow")]
        );
        assert_eq!(
            sink.lines(),
            [
                "quick",
                "wait",
                "also_quick",
                "slow (arrived after its time-out)"
            ]
        );
    }

    #[test]
    fn step_10_collects_every_course_name_exactly_once() {
        let tasks: Vec<_> = STEP_10_TASKS
            .iter()
            .map(|&(name, s)| (name, Duration::from_secs_f64(s / 100.0)))
            .collect();
        let outcomes = course_tests::deadline(Duration::from_secs(20), move || {
            step_10(&Sink::collect(), &tasks, Duration::from_secs(10))
        });
        let names: Vec<_> = outcomes
            .iter()
            .map(|o| match o {
                Outcome::OnTime(n) | Outcome::Late(n) => *n,
            })
            .collect();
        let expected: Vec<_> = STEP_10_TASKS.iter().map(|&(n, _)| n).collect();
        // With a generous time-out every value is on time, in submission order.
        assert_eq!(names, expected);
        assert!(outcomes.iter().all(|o| matches!(o, Outcome::OnTime(_))));
    }

    #[test]
    fn step_11_counts_code_points_not_bytes() {
        let counts = step_11(&STEP_11_MESSAGES);
        let expected: Vec<usize> = STEP_11_MESSAGES.iter().map(|m| m.chars().count()).collect();
        assert_eq!(counts, expected);
        assert_eq!(counts, [49, 60]);
        assert!(STEP_11_MESSAGES[0].len() > counts[0]);
    }

    #[test]
    fn two_decimals_round_as_pythons_round() {
        // `round(x, 2)` in Python 3.11 gives 0.12, 0.38, 2.67, 1.0 and 3.5:
        // both round the exact binary value, ties to even. Only the text
        // differs: Rust keeps two decimals.
        let shown = [0.125, 0.375, 2.675, 1.005, 3.5].map(|x: f64| format!("{x:.2}"));
        assert_eq!(shown, ["0.12", "0.38", "2.67", "1.00", "3.50"]);
    }

    #[test]
    fn step_12_matches_pythons_rounded_averages() {
        let averages = step_12(&STUDENTS);
        assert_eq!(
            averages,
            [
                ("Alice", "3.75".to_owned()),
                ("Bob", "3.55".to_owned()),
                ("Charlie", "4.73".to_owned()),
                ("Hannah Thompson", "3.22".to_owned()),
            ]
        );
    }
}
