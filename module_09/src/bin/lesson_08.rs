//! Lesson 9.8 — Results in completion order (imap_unordered) («Итеративная синхронная обработка задач без сохранения порядка»)
//!
//! `pool.imap_unordered(f, items)` yields each result the moment its task
//! finishes, whatever its position: nothing waits for a slow item. In Rust
//! that is simply the receiving end of a channel the tasks send into; no
//! reorder buffer. The order changes from run to run, so code (and tests)
//! may rely only on the *set* of results; pair each result with its input if
//! you need to know which is which.
//!
//! | Python                                         | Rust                                                        |
//! |------------------------------------------------|-------------------------------------------------------------|
//! | `for r in pool.imap_unordered(f, items):`      | `for r in imap_unordered(&pool, items, f) {` (a `Receiver`) |
//! | results in completion order                    | `crossbeam_channel::unbounded()`: first sent, first received |
//! | `imap_unordered(f, items, chunksize=…)`        | one task per item here; batch items yourself for tiny tasks |
//! | `for x, r in …imap_unordered(g, items)` where `g` returns `(x, f(x))` | send `(item, result)` pairs     |
//! | `concurrent.futures.as_completed(futures)`     | the same channel pattern                                    |
//!
//! rayon's own `par_iter().for_each_with(sender, …)` does the same when the
//! caller may block until all are sent; the version below streams.
//!
//! Python's pool runs the tasks in worker processes; here they run on
//! rayon's threads. Python needs processes because its GIL lets one thread
//! at a time run Python code; Rust's threads run in parallel on every core,
//! so a thread pool is the Rust equivalent.
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_08`
//! - Run one step:  `cargo run -p module_09 --bin lesson_08 -- first_come_first_served`
//!
//! Try:
//! - Run `-- first_come_first_served` a few times: the lines come one by
//!   one, item 1 first and item 5 last, about 200 ms apart.
//! - In `first_come_first_served`, change `pool(units.len())` to `pool(1)`:
//!   one worker takes the items in input order, so item 5 comes first,
//!   after 1 s, then 1, 4, 2, 3: completion order is now input order.

use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::IntoIter;
use rayon::{ThreadPool, ThreadPoolBuilder};
use step_runner::{Sink, Step, lesson_id};

/// `pool.imap_unordered(f, items)`: results in the order tasks finish.
///
/// The iterator ends when every task has sent its result, because then
/// every clone of the sender has been dropped. A task must not panic (rayon
/// would abort the process); return a `Result` for failures, or see 9.7 for
/// `catch_unwind`.
fn imap_unordered<T, R, F>(pool: &ThreadPool, items: Vec<T>, f: F) -> IntoIter<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
{
    let (tx, rx) = crossbeam_channel::unbounded();
    let f = Arc::new(f);
    for item in items {
        let (tx, f) = (tx.clone(), Arc::clone(&f));
        pool.spawn(move || {
            let _ = tx.send(f(item));
        });
    }
    // Our own sender goes here; the tasks hold the remaining clones.
    drop(tx);
    rx.into_iter()
}

fn pool(threads: usize) -> ThreadPool {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the OS can start the pool's threads")
}

/// Task `n` waits `n` units (through `wait`) and returns `n²`; each result
/// goes to `sink` the moment it is received. Returns `(item, square)` in
/// the order received.
fn first_come_first_served<W>(units: &[u64], wait: W, sink: &Sink) -> Vec<(u64, u64)>
where
    W: Fn(u64) + Send + Sync + 'static,
{
    let started = Instant::now();
    imap_unordered(&pool(units.len()), units.to_vec(), move |n| {
        wait(n);
        // Return the input with the result: the position no longer says
        // which item this was.
        (n, n * n)
    })
    .inspect(|(n, square)| {
        sink.note(format!(
            "t = {:.2?}: item {n} → {square}",
            started.elapsed()
        ))
    })
    .collect()
}

fn show_first_come_first_served() {
    println!("item n sleeps n × {UNIT:?}; items {UNITS:?}; 5 workers");
    first_come_first_served(&UNITS, |n| thread::sleep(UNIT * n as u32), &Sink::stdout());
}

/// Time to the first usable result: with `imap_unordered`, and with `imap`
/// order, where nothing can be handed out before item 0 (the slowest).
/// Also returns how many results were done while `imap` waited for item 0.
fn first_result_latency(units: &[u64], unit: Duration) -> (Duration, Duration, usize) {
    let jobs: Vec<(usize, u64)> = units.iter().copied().enumerate().collect();
    let work = move |(i, n): (usize, u64)| {
        thread::sleep(unit * n as u32);
        i
    };

    let started = Instant::now();
    let mut unordered = imap_unordered(&pool(units.len()), jobs.clone(), work);
    let _ = unordered.next();
    let unordered_first = started.elapsed();
    // Drain the rest so these tasks do not overlap the next measurement.
    unordered.for_each(drop);

    let started = Instant::now();
    let mut results = imap_unordered(&pool(units.len()), jobs, work);
    let done_before_item_0 = results.by_ref().take_while(|&i| i != 0).count();
    let ordered_first = started.elapsed();
    results.for_each(drop);
    (unordered_first, ordered_first, done_before_item_0)
}

fn show_first_result_latency() {
    let (unordered, ordered, waiting) = first_result_latency(&UNITS, UNIT);
    println!("imap_unordered: first result after {unordered:.2?}");
    println!(
        "imap (ordered):  first result after {ordered:.2?}; {waiting} finished results sat waiting for item 0"
    );
}

/// The course's kind of delays: the first item is the slowest.
const UNITS: [u64; 5] = [5, 1, 4, 2, 3];
const UNIT: Duration = Duration::from_millis(200);

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("first_come_first_served", "the quickest task's result comes first", show_first_come_first_served),
        Step::new("first_result_latency", "time to the first result: unordered vs ordered", show_first_result_latency),
    ])
}

const TITLE: &str = "Lesson 9.8 — Results in completion order (imap_unordered) («Итеративная синхронная обработка задач без сохранения порядка»)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_arrives_exactly_once() {
        course_tests::deadline(Duration::from_secs(30), || {
            let sink = Sink::collect();
            let unit = Duration::from_millis(2);
            let mut got =
                first_come_first_served(&UNITS, move |n| thread::sleep(unit * n as u32), &sink);
            // One line per result, in the order received.
            assert_eq!(sink.lines().len(), 5);
            for (line, (n, square)) in sink.lines().iter().zip(&got) {
                assert!(line.ends_with(&format!("item {n} → {square}")), "{line}");
            }
            // The order is not part of the contract: compare as sets.
            got.sort_unstable();
            assert_eq!(got, vec![(1, 1), (2, 4), (3, 9), (4, 16), (5, 25)]);
        });
    }

    #[test]
    fn a_result_is_printed_before_a_slower_item_finishes() {
        course_tests::deadline(Duration::from_secs(30), || {
            let sink = Sink::collect();
            let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
            // Item 5 waits for the gate, which opens only once item 1's
            // line is in the sink; item 1 is done at once.
            let wait = move |n: u64| {
                if n == 5 {
                    let _ = gate_rx.recv();
                }
            };
            thread::scope(|s| {
                let streaming = s.spawn(|| first_come_first_served(&[5, 1], wait, &sink));
                while sink.lines().is_empty() {
                    thread::yield_now();
                }
                assert_eq!(sink.lines().len(), 1);
                assert!(
                    sink.lines()[0].ends_with("item 1 → 1"),
                    "{:?}",
                    sink.lines()
                );
                drop(gate_tx);
                assert_eq!(streaming.join().unwrap(), vec![(1, 1), (5, 25)]);
            });
        });
    }

    #[test]
    fn many_items_none_lost_none_duplicated() {
        course_tests::deadline(Duration::from_secs(30), || {
            let mut got: Vec<u64> =
                imap_unordered(&pool(3), (0..2000u64).collect(), |x| x * 3).collect();
            got.sort_unstable();
            assert_eq!(got, (0..2000u64).map(|x| x * 3).collect::<Vec<_>>());
        });
    }

    #[test]
    fn a_finished_item_is_not_held_back_by_a_running_one() {
        course_tests::deadline(Duration::from_secs(30), || {
            let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
            // Item 0 waits for the gate; item 1 is immediate. The gate opens
            // only after item 1's result has been received.
            let mut results = imap_unordered(&pool(2), vec![0u64, 1], move |x| {
                if x == 0 {
                    let _ = gate_rx.recv();
                }
                x
            });
            assert_eq!(results.next(), Some(1));
            drop(gate_tx);
            assert_eq!(results.next(), Some(0));
            assert_eq!(results.next(), None);
        });
    }

    #[test]
    fn item_order_waits_for_the_slow_first_item() {
        course_tests::deadline(Duration::from_secs(30), || {
            // Item 0 sleeps 5 units, every other item at most 3: even on a
            // slow machine the quick ones finish long before it.
            let unit = Duration::from_millis(40);
            let (unordered, ordered, waiting) = first_result_latency(&UNITS, unit);
            assert!(ordered >= unit * 5, "{ordered:?}");
            assert!(unordered < ordered, "{unordered:?} vs {ordered:?}");
            // At least item 1 (one unit) was done and sat waiting for item 0.
            assert!(waiting >= 1, "{waiting}");
        });
    }

    #[test]
    fn an_empty_input_ends_at_once() {
        assert_eq!(imap_unordered(&pool(1), Vec::<u8>::new(), |x| x).count(), 0);
    }
}
