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
//! | `pool.imap(f, items, chunksize=2)`       | `imap_chunked(&pool, items, 2, f)`: one task per chunk         |
//! | `pool.map(f, items)` (everything at once) | `items.par_iter().map(f).collect()` (lesson 9.5)              |
//!
//! The reorder buffer is written out because it is the lesson; in production
//! code, a `par_iter().map(f).collect()` is the right call whenever you can
//! wait for the whole list.
//!
//! Python's pool runs the tasks in worker processes; here they run on
//! rayon's threads. Python needs processes because its GIL lets one thread
//! at a time run Python code; Rust's threads run in parallel on every core,
//! so a thread pool is the Rust equivalent (9.1, 9.2 and 9.13 show real
//! processes, for isolation).
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_07`
//! - Run one step:  `cargo run -p module_09 --bin lesson_07 -- imap_stream`
//!
//! Try:
//! - Change `UNITS` to `[1, 2, 3, 4, 9]` and run `-- imap_stream`: items 0
//!   to 3 print one by one, and the last line comes much later; nothing
//!   before the slow item waits for it.
//! - In `show_imap_chunksize`, add a chunksize of 6: one task gets all six
//!   items and runs them one after another, so every result arrives at
//!   once, after 21 units (about 2.1 s).

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

use module_09::panic_message;
use rayon::{ThreadPool, ThreadPoolBuilder};
use step_runner::{Sink, Step, lesson_id};

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
            // The panic's own message becomes the item's error.
            let result =
                catch_unwind(AssertUnwindSafe(|| f(item))).map_err(|p| panic_message(p.as_ref()));
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

/// `pool.imap(f, items, chunksize)`: one task per `chunksize` consecutive
/// items, so the results of a chunk arrive together. A chunk whose task
/// panics is one error in the stream, after which the stream goes on; in
/// Python `next()` raises once and the iterator is over.
fn imap_chunked<T, R, F>(
    pool: &ThreadPool,
    items: Vec<T>,
    chunksize: usize,
    f: F,
) -> impl Iterator<Item = Result<R, String>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
{
    assert!(
        chunksize >= 1,
        "chunksize must be 1+ (as Python's ValueError says)"
    );
    let mut items = items.into_iter();
    let chunks: Vec<Vec<T>> = std::iter::from_fn(|| {
        let chunk: Vec<T> = items.by_ref().take(chunksize).collect();
        (!chunk.is_empty()).then_some(chunk)
    })
    .collect();
    imap(pool, chunks, move |chunk| {
        chunk.into_iter().map(&f).collect::<Vec<R>>()
    })
    .flat_map(|chunk| match chunk {
        Ok(results) => results.into_iter().map(Ok).collect(),
        Err(message) => vec![Err(message)],
    })
}

fn pool(threads: usize) -> ThreadPool {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the OS can start the pool's threads")
}

/// Item `i` waits `units[i]` (through `wait`) and yields `(i + 1) × 10`;
/// each result goes to `sink` the moment `imap` yields it, with how many
/// later results were already waiting in the buffer.
fn imap_stream<W>(units: &[u32], wait: W, sink: &Sink) -> Vec<u64>
where
    W: Fn(u32) + Send + Sync + 'static,
{
    let started = Instant::now();
    let jobs: Vec<(usize, u32)> = units.iter().copied().enumerate().collect();
    let mut stream = imap(&pool(units.len()), jobs, move |(i, n)| {
        wait(n);
        (i as u64 + 1) * 10
    });
    let mut values = Vec::new();
    while let Some(result) = stream.next() {
        let value = result.expect("these tasks do not fail");
        sink.note(format!(
            "t = {:.2?}: item {} → {value} (buffered early: {})",
            started.elapsed(),
            values.len(),
            stream.buffered()
        ));
        values.push(value);
    }
    values
}

fn show_imap_stream() {
    println!("item i sleeps {UNITS:?}[i] × {UNIT:?}; 5 workers");
    imap_stream(&UNITS, |n| thread::sleep(UNIT * n), &Sink::stdout());
}

/// Item `x` of six sleeps `x + 1` units, on six workers, `chunksize` items
/// a task; each result goes to `sink` as it is yielded.
fn imap_chunksize(chunksize: usize, unit: Duration, sink: &Sink) -> Vec<u64> {
    let started = Instant::now();
    imap_chunked(&pool(6), (0..6u64).collect(), chunksize, move |x| {
        thread::sleep(unit * (x as u32 + 1));
        x * x
    })
    .enumerate()
    .map(|(i, result)| {
        let value = result.expect("these tasks do not fail");
        sink.note(format!(
            "  t = {:.2?}: item {i} → {value}",
            started.elapsed()
        ));
        value
    })
    .collect()
}

fn show_imap_chunksize() {
    let sink = Sink::stdout();
    for chunksize in [1, 2] {
        println!("chunksize {chunksize}: item x sleeps (x + 1) × {CHUNK_UNIT:?}; 6 workers");
        imap_chunksize(chunksize, CHUNK_UNIT, &sink);
    }
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

fn show_imap_with_errors() {
    println!("tasks that panic on a negative input are reported as errors");
    // The panic message of item 1 also appears on stderr: the default panic
    // hook prints it before the task catches it.
    for (i, r) in imap_with_errors(vec![1, -2, 3]).into_iter().enumerate() {
        println!("item {i}: {r:?}");
    }
}

/// The course's kind of delays: item 0 is the slowest, so nothing can be
/// yielded before it, and then several results come out at once.
const UNITS: [u32; 5] = [4, 1, 3, 2, 5];
const UNIT: Duration = Duration::from_millis(300);
const CHUNK_UNIT: Duration = Duration::from_millis(100);

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("imap_stream", "results stream in order as they become available", show_imap_stream),
        Step::new("imap_chunksize", "chunksize: one task per chunk, its results together", show_imap_chunksize),
        Step::new("imap_with_errors", "a failed item stays in its place", show_imap_with_errors),
    ])
}

const TITLE: &str =
    "Lesson 9.7 — Lazy ordered results (imap) («Итеративная синхронная обработка задач»)";

// The ordinary tests run on std's channel; with the `model` feature it is
// shuttle's, which works only inside a shuttle test (`mod model`).
#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_item_order() {
        course_tests::deadline(Duration::from_secs(30), || {
            let sink = Sink::collect();
            let unit = Duration::from_millis(5);
            let values = imap_stream(&UNITS, move |n| thread::sleep(unit * n), &sink);
            assert_eq!(values, vec![10, 20, 30, 40, 50]);
            let lines = sink.lines();
            for (i, line) in lines.iter().enumerate() {
                assert!(
                    line.contains(&format!("item {i} → {}", values[i])),
                    "{line}"
                );
            }
        });
    }

    #[test]
    fn a_result_is_printed_before_a_slower_later_item_finishes() {
        course_tests::deadline(Duration::from_secs(30), || {
            let sink = Sink::collect();
            let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
            // Item 0 is done at once; item 1 waits for the gate, which opens
            // only once item 0's line is in the sink.
            let wait = move |n: u32| {
                if n > 0 {
                    let _ = gate_rx.recv();
                }
            };
            thread::scope(|s| {
                let streaming = s.spawn(|| imap_stream(&[0, 1], wait, &sink));
                while sink.lines().is_empty() {
                    thread::yield_now();
                }
                assert_eq!(sink.lines().len(), 1);
                assert!(
                    sink.lines()[0].contains("item 0 → 10"),
                    "{:?}",
                    sink.lines()
                );
                drop(gate_tx);
                assert_eq!(streaming.join().unwrap(), vec![10, 20]);
            });
        });
    }

    #[test]
    fn any_chunksize_keeps_order_and_every_item() {
        course_tests::deadline(Duration::from_secs(30), || {
            for chunksize in [1, 2, 3, 7, 20] {
                let out: Vec<u64> =
                    imap_chunked(&pool(3), (0..10u64).collect(), chunksize, |x| x + 1)
                        .map(Result::unwrap)
                        .collect();
                assert_eq!(out, (1..=10).collect::<Vec<_>>(), "chunksize {chunksize}");
            }
            let sink = Sink::collect();
            assert_eq!(
                imap_chunksize(2, Duration::ZERO, &sink),
                [0, 1, 4, 9, 16, 25]
            );
            assert_eq!(sink.lines().len(), 6);
        });
    }

    #[test]
    fn a_chunk_runs_as_one_task() {
        course_tests::deadline(Duration::from_secs(30), || {
            let threads: Vec<Option<usize>> =
                imap_chunked(&pool(3), (0..12u64).collect(), 4, |x| {
                    thread::sleep(Duration::from_millis(1 + x % 3));
                    rayon::current_thread_index()
                })
                .map(Result::unwrap)
                .collect();
            for chunk in threads.chunks(4) {
                assert!(chunk.iter().all(|t| *t == chunk[0]), "{threads:?}");
            }
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
            vec![Ok(2), Err("negative input -2".to_owned()), Ok(6)]
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
        let message = course_tests::panic_text(&*failure);
        assert!(message.contains("input order"), "{message}");
    }
}
