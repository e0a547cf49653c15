//! Lesson 9.7 — Lazy ordered results (imap) («Итеративная синхронная обработка задач»)
//!
//! `pool.imap(f, items)` returns an iterator: results arrive in the items'
//! order, each as soon as it and all before it are done, while later items
//! are still running. rayon has no such iterator (its `collect` waits for
//! everything), so this lesson builds one: every item is a pool task sending
//! `(index, result)` over a channel, and a reorder buffer holds results that
//! arrive early until their turn comes.
//!
//! | Python                                   | Rust                                                           |
//! |------------------------------------------|----------------------------------------------------------------|
//! | `for r in pool.imap(f, items):`          | `for r in imap(&pool, items, f) {` (below)                     |
//! | results handed over through a queue      | `mpsc::channel::<(usize, R)>()`                                |
//! | the pool's internal reorder cache        | `BTreeMap<usize, R>` keyed by item index                       |
//! | `next(it)` raises the task's exception   | the item is `Err(message)` (a panic is caught in the task)     |
//! | `pool.map(f, items)` (everything at once) | `items.par_iter().map(f).collect()` (lesson 9.5)              |
//!
//! The reorder buffer is written out because it is the lesson; in production
//! code, a `par_iter().map(f).collect()` is the right call whenever you can
//! wait for the whole list.
//!
//! Run all steps: `cargo run -p module_09 --bin lesson_07`
//! Run one step:  `cargo run -p module_09 --bin lesson_07 -- imap_stream`

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::sync::Arc;
// The results' channel comes from std, or from the shuttle model checker when
// the `model` feature is on (see `mod model` at the bottom).
#[cfg(feature = "model")]
use shuttle::sync::mpsc::{Receiver, channel};
#[cfg(not(feature = "model"))]
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::{Duration, Instant};

use rayon::{ThreadPool, ThreadPoolBuilder};
use step_runner::{Step, lesson_id};

/// The iterator `imap` returns: yields result `next` as soon as it is in.
struct Imap<R> {
    rx: Receiver<(usize, Result<R, String>)>,
    /// Results that finished before their turn.
    early: BTreeMap<usize, Result<R, String>>,
    next: usize,
    total: usize,
}

impl<R> Imap<R> {
    /// How many finished results are waiting for an earlier one.
    fn buffered(&self) -> usize {
        self.early.len()
    }
}

impl<R> Iterator for Imap<R> {
    type Item = Result<R, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == self.total {
            return None;
        }
        loop {
            if let Some(result) = self.early.remove(&self.next) {
                self.next += 1;
                return Some(result);
            }
            // Every task sends exactly once (a panic is caught and sent as
            // an error), so this can only fail if a task was lost.
            let (index, result) = self.rx.recv().ok()?;
            self.early.insert(index, result);
        }
    }
}

/// `pool.imap(f, items)`: submits every item now, returns the ordered stream.
fn imap<T, R, F>(pool: &ThreadPool, items: Vec<T>, f: F) -> Imap<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
{
    let (tx, rx) = channel();
    let f = Arc::new(f);
    let total = items.len();
    for (index, item) in items.into_iter().enumerate() {
        let (tx, f) = (tx.clone(), Arc::clone(&f));
        pool.spawn(move || {
            // rayon would abort the process on a panic in a spawned task.
            let result = catch_unwind(AssertUnwindSafe(|| f(item)))
                .map_err(|_| format!("item {index} panicked"));
            // If the caller dropped the iterator, no one wants this result.
            let _ = tx.send((index, result));
        });
    }
    Imap {
        rx,
        early: BTreeMap::new(),
        next: 0,
        total,
    }
}

fn pool(threads: usize) -> ThreadPool {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the OS can start the pool's threads")
}

/// One line of the stream: when the caller got which item, and how many
/// later results were already waiting in the buffer.
#[derive(Debug)]
struct Received {
    at: Duration,
    index: usize,
    value: u64,
    buffered: usize,
}

/// Items take `units[i] × unit` each; the caller prints each result the
/// moment `imap` yields it.
fn imap_stream(units: &[u32], unit: Duration) -> Vec<Received> {
    let started = Instant::now();
    let jobs: Vec<(usize, u32)> = units.iter().copied().enumerate().collect();
    let mut stream = imap(&pool(units.len()), jobs, move |(i, n)| {
        thread::sleep(unit * n);
        (i as u64 + 1) * 10
    });
    let mut received = Vec::new();
    let mut index = 0;
    while let Some(result) = stream.next() {
        received.push(Received {
            at: started.elapsed(),
            index,
            value: result.expect("these tasks do not fail"),
            buffered: stream.buffered(),
        });
        index += 1;
    }
    received
}

/// The item's place in the stream is kept even when its task fails.
fn imap_with_errors(items: Vec<i64>) -> Vec<Result<i64, String>> {
    imap(&pool(2), items, |x| {
        if x < 0 {
            panic!("negative input {x}");
        }
        x * 2
    })
    .collect()
}

/// The course's kind of delays: item 0 is the slowest, so nothing can be
/// yielded before it, and then several results come out at once.
const UNITS: [u32; 5] = [4, 1, 3, 2, 5];
const UNIT: Duration = Duration::from_millis(300);

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 9.7 — Lazy ordered results (imap) («Итеративная синхронная обработка задач»)",
        &[
            Step::new(
                "imap_stream",
                "results stream in order as they become available",
                || {
                    println!("item i sleeps {UNITS:?}[i] × {UNIT:?}; 5 workers");
                    for r in imap_stream(&UNITS, UNIT) {
                        println!(
                            "t = {:.2?}: item {} → {} (buffered early: {})",
                            r.at, r.index, r.value, r.buffered
                        );
                    }
                },
            ),
            Step::new(
                "imap_with_errors",
                "a failed item stays in its place",
                || {
                    println!("tasks that panic on a negative input are reported as errors");
                    // The panic message of item 1 also appears on stderr: the
                    // default panic hook prints it before the task catches it.
                    for (i, r) in imap_with_errors(vec![1, -2, 3]).into_iter().enumerate() {
                        println!("item {i}: {r:?}");
                    }
                },
            ),
        ],
    )
}

// The ordinary tests run on std's channel; with the `model` feature it is
// shuttle's, which works only inside a shuttle test (`mod model`).
#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_item_order() {
        course_tests::deadline(Duration::from_secs(30), || {
            let received = imap_stream(&UNITS, Duration::from_millis(5));
            let values: Vec<u64> = received.iter().map(|r| r.value).collect();
            assert_eq!(values, vec![10, 20, 30, 40, 50]);
        });
    }

    #[test]
    fn every_item_comes_once_in_order_under_load() {
        course_tests::deadline(Duration::from_secs(30), || {
            let out: Vec<u64> = imap(&pool(3), (0..1000u64).collect(), |x| x * x)
                .map(Result::unwrap)
                .collect();
            assert_eq!(out, (0..1000u64).map(|x| x * x).collect::<Vec<_>>());
        });
    }

    #[test]
    fn the_first_result_is_yielded_before_the_last_task_finishes() {
        course_tests::deadline(Duration::from_secs(30), || {
            let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
            // Item 0 is immediate; the others wait for the gate, which opens
            // only after the caller has received item 0: a stream, not a batch.
            let mut stream = imap(&pool(2), (0..4u64).collect(), move |x| {
                if x > 0 {
                    let _ = gate_rx.recv();
                }
                x + 100
            });
            assert_eq!(stream.next(), Some(Ok(100)));
            drop(gate_tx);
            assert_eq!(stream.collect::<Vec<_>>(), vec![Ok(101), Ok(102), Ok(103)]);
        });
    }

    #[test]
    fn a_panicking_item_is_an_error_in_its_place() {
        assert_eq!(
            imap_with_errors(vec![1, -2, 3]),
            vec![Ok(2), Err("item 1 panicked".to_owned()), Ok(6)]
        );
    }

    #[test]
    fn an_empty_input_yields_nothing() {
        assert_eq!(imap(&pool(1), Vec::<u8>::new(), |x| x).count(), 0);
    }
}

/// Model check of the reorder buffer (`cargo test -p module_09 --bin
/// lesson_07 --features model`): shuttle runs the tasks as its own threads
/// under many random and PCT schedules, so results arrive in many orders.
#[cfg(all(test, feature = "model"))]
mod model {
    use super::*;
    use std::panic;

    const ITERATIONS: usize = 1_000;
    const ITEMS: usize = 4;

    /// The property: whatever order the tasks finish in, the stream yields
    /// every result once, in input order (a failed task's error in its
    /// place), and then ends.
    fn in_input_order_each_once(next: fn(&mut Imap<usize>) -> Option<Result<usize, String>>) {
        let (tx, rx) = channel();
        for index in 0..ITEMS {
            let tx = tx.clone();
            // A task as `imap` spawns it: one `(index, result)` send.
            shuttle::thread::spawn(move || {
                let result = if index == 2 {
                    Err(format!("item {index} panicked"))
                } else {
                    Ok(index * 10)
                };
                let _ = tx.send((index, result));
            });
        }
        drop(tx);
        let mut stream = Imap {
            rx,
            early: BTreeMap::new(),
            next: 0,
            total: ITEMS,
        };
        let got: Vec<_> = std::iter::from_fn(|| next(&mut stream)).collect();
        assert_eq!(
            got,
            [Ok(0), Ok(10), Err("item 2 panicked".to_owned()), Ok(30)],
            "results in input order, each once"
        );
    }

    fn check(next: fn(&mut Imap<usize>) -> Option<Result<usize, String>>) {
        shuttle::check_random(move || in_input_order_each_once(next), ITERATIONS);
        shuttle::check_pct(move || in_input_order_each_once(next), ITERATIONS, 3);
    }

    #[test]
    fn model_imap_yields_results_in_input_order_each_once() {
        check(Iterator::next);
    }

    /// Broken: hands out the earliest result that has arrived instead of
    /// waiting for result `next` (a reorder buffer that does not reorder).
    fn next_as_it_comes(stream: &mut Imap<usize>) -> Option<Result<usize, String>> {
        if stream.next == stream.total {
            return None;
        }
        stream.next += 1;
        if let Some((_, result)) = stream.early.pop_first() {
            return Some(result);
        }
        stream.rx.recv().ok().map(|(_, result)| result)
    }

    #[test]
    fn model_catches_a_buffer_that_yields_in_arrival_order() {
        let failure = panic::catch_unwind(|| check(next_as_it_comes))
            .expect_err("the checker must catch the broken buffer");
        let message = failure
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| failure.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        assert!(message.contains("input order"), "{message}");
    }
}
