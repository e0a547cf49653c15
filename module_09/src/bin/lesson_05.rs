//! Lesson 9.5 — Process a collection, blocking (map) («Синхронная обработка коллекций»)
//!
//! `pool.map(f, items)` applies `f` to every item on the pool and returns the
//! results in the items' order, blocking until all are done. In rayon that is
//! a parallel iterator: `items.par_iter().map(f).collect()`. Order is kept
//! because `collect` writes each result into its item's slot.
//!
//! | Python                                   | Rust                                                     |
//! |------------------------------------------|----------------------------------------------------------|
//! | `pool.map(square, range(10))`            | `(0..10).into_par_iter().map(square).collect::<Vec<_>>()` |
//! | `pool.map(f, items, chunksize=25)`       | `items.par_iter().with_min_len(25).map(f).collect()`      |
//! | `map` raises the task's exception        | `collect::<Result<Vec<_>, _>>()` returns an `Err`         |
//! | `with Pool() as pool:` (one per core)    | rayon's global pool, or `pool.install(\|\| …)` for your own |
//! | `list(map(f, items))` (sequential)       | `items.iter().map(f).collect()`                           |
//!
//! Where Python's pool runs tasks in worker *processes*, these lessons (9.3
//! to 9.12) run them on rayon's *threads*: Python needs processes because
//! its GIL lets one thread at a time run Python code, while Rust's threads
//! run in parallel on every core, so a thread pool is the Rust equivalent.
//! Processes remain for isolation (lessons 9.1, 9.2, 9.13).
//!
//! Two differences in `map` itself. Python's `map` waits for *every* task
//! and only then raises the first exception that arrived (`MapResult._set`
//! in `multiprocessing/pool.py`: "only consider the result ready once all
//! jobs are done"); rayon's `collect::<Result<…>>` stops handing out items
//! once one has failed (`map_waits_then_raises` shows both). And Python cuts
//! the items into chunks of `ceil(len / (4 × workers))` by default
//! (`Pool._map_async`); rayon splits adaptively instead (`default_chunksize`).
//!
//! `map_cpu_bound` times the loop and `map` as the median of a few
//! alternating rounds after an uncounted warm-up round, with the spread
//! (fastest to slowest run), and ends with a `verdict:` computed from them,
//! round by round (the `measure` crate). The numbers depend on the cores, on what
//! else the machine runs, and on the build: `cargo run` builds the prime
//! counting (the `primes` crate) at opt-level 1 and this lesson unoptimised,
//! with debug assertions on.
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_05`
//! - Run one step:  `cargo run -p module_09 --bin lesson_05 -- map_first_error`
//!
//! Try:
//! - Run `RAYON_NUM_THREADS=4 cargo run -p module_09 --bin lesson_05 --
//!   map_chunksize`: with `min_len 1` the 100 items now run as many more
//!   pieces (threads steal from each other); `min_len 25` keeps it at 4.
//! - In `map_waits_then_raises`, make item 0 fail instead of item 1
//!   (`x == 0`): Python's way still runs all 40 items, rayon still stops
//!   after a few.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use measure::{Runs, faster_verdict, time_rounds};
use module_09::{count_primes, split_range};
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use step_runner::{Sink, Step, lesson_id};

fn pool(threads: usize) -> ThreadPool {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the OS can start the pool's threads")
}

fn square(x: u64) -> u64 {
    x * x
}

/// `pool.map(square, range(10))`, noting which pool thread got each item.
/// Each item takes `delay`, so that both threads get a share.
fn map_squares(n: u64, delay: Duration) -> Vec<(u64, Option<usize>)> {
    (0..n)
        .into_par_iter()
        .map(|x| {
            thread::sleep(delay);
            (square(x), rayon::current_thread_index())
        })
        .collect()
}

fn show_map_squares() {
    let results = map_squares(10, SQUARE_DELAY);
    let squares: Vec<u64> = results.iter().map(|&(s, _)| s).collect();
    println!("squares: {squares:?}");
    for (x, (s, thread)) in results.iter().enumerate() {
        println!("  {x}² = {s:<3} on pool thread {thread:?}");
    }
}

/// `chunksize`: rayon splits the work adaptively, and `with_min_len` stops it
/// splitting below a size, so each piece runs on one thread. Returns, per
/// item, the thread that ran it.
fn map_chunksize(items: &[u64], min_len: usize, delay: Duration) -> Vec<Option<usize>> {
    items
        .par_iter()
        .with_min_len(min_len)
        .map(|_| {
            thread::sleep(delay);
            rayon::current_thread_index()
        })
        .collect()
}

/// How many runs of consecutive items went to the same thread.
fn runs(threads: &[Option<usize>]) -> usize {
    threads.chunk_by(|a, b| a == b).count()
}

fn show_map_chunksize() {
    let items: Vec<u64> = (0..100).collect();
    // Without a minimum, rayon still makes few pieces: it splits further
    // only when an idle thread steals work.
    for min_len in [1, 25, 100] {
        let threads = map_chunksize(&items, min_len, ITEM_DELAY);
        println!(
            "min_len {min_len:>3}: 100 items ran as {} runs of consecutive items",
            runs(&threads)
        );
    }
}

/// The CPU-bound case a process pool exists for: counting primes, sequential
/// and with `map`, timed in `runs` alternating rounds after a warm-up round,
/// each round's times noted on `sink` as it ends.
fn map_cpu_bound(
    limit: u64,
    chunks: u64,
    runs: usize,
    sink: &Sink,
) -> ((Vec<u64>, Runs), (Vec<u64>, Runs)) {
    let ranges = split_range(limit, chunks);
    let mut timed = time_rounds(sink, runs, 2, |i| {
        if i == 0 {
            ranges.iter().cloned().map(count_primes).collect::<Vec<_>>()
        } else {
            ranges.par_iter().cloned().map(count_primes).collect()
        }
    });
    let (parallel_time, parallel) = timed.pop().expect("two alternatives");
    let (sequential_time, sequential) = timed.pop().expect("two alternatives");
    ((sequential, sequential_time), (parallel, parallel_time))
}

fn show_map_cpu_bound() {
    println!("ms per run of the plain loop, then of map:");
    let ((seq, seq_time), (par, par_time)) = map_cpu_bound(LIMIT, CHUNKS, RUNS, &Sink::stdout());
    println!("primes per chunk below {LIMIT}: {par:?}");
    println!("median of {RUNS} alternating rounds after a warm-up (spread: fastest–slowest run):");
    println!(
        "plain loop: {} primes in {seq_time}",
        seq.iter().sum::<u64>()
    );
    let threads = rayon::current_num_threads();
    println!(
        "map on {threads} threads: {} primes in {par_time}",
        par.iter().sum::<u64>()
    );
    let verdict = faster_verdict("map", &par_time, "the plain loop", &seq_time);
    println!("verdict: {verdict}");
}

fn checked_reciprocal(x: i64) -> Result<f64, String> {
    if x == 0 {
        Err("division by zero".to_owned())
    } else {
        Ok(1.0 / x as f64)
    }
}

/// Python's `map` raises the first exception; collecting into a `Result`
/// stops at an error too. With several failing items, which error wins
/// depends on which thread got there first.
fn map_first_error(items: &[i64]) -> Result<Vec<f64>, String> {
    items.par_iter().map(|&x| checked_reciprocal(x)).collect()
}

fn show_map_first_error() {
    println!("1/x for [1, 2, 4]: {:?}", map_first_error(&[1, 2, 4]));
    println!("1/x for [1, 0, 4]: {:?}", map_first_error(&[1, 0, 4]));
}

/// How many items ran, and the error, when item 1 of `n` fails: Python's
/// way (every item runs, then the error) and rayon's (no new item starts
/// once one has failed). Items other than 1 take `delay`.
fn map_waits_then_raises(n: u64, delay: Duration) -> [(usize, Result<Vec<u64>, String>); 2] {
    let ran = AtomicUsize::new(0);
    let task = |x: u64| {
        ran.fetch_add(1, Ordering::Relaxed);
        if x == 1 {
            return Err(format!("item {x} failed"));
        }
        thread::sleep(delay);
        Ok(x)
    };
    let pool = pool(2);
    // Python's way: collect every outcome, then look for the first error
    // (here the first by position; Python's is the first to arrive).
    let every: Vec<Result<u64, String>> =
        pool.install(|| (0..n).into_par_iter().map(task).collect());
    let python = (ran.swap(0, Ordering::Relaxed), every.into_iter().collect());
    let rayon = pool.install(|| (0..n).into_par_iter().map(task).collect());
    [python, (ran.load(Ordering::Relaxed), rayon)]
}

fn show_map_waits_then_raises() {
    let [(python_ran, python), (rayon_ran, rayon)] = map_waits_then_raises(40, ITEM_DELAY * 10);
    println!(
        "40 items, item 1 fails, the others take {:?}; 2 threads",
        ITEM_DELAY * 10
    );
    println!("Python's map: {python_ran:>2} items ran, then {python:?}");
    println!("rayon:        {rayon_ran:>2} items ran, then {rayon:?}");
}

/// Python's default `chunksize` for `map(f, items)` on a pool of `workers`
/// processes (`Pool._map_async`): `ceil(len / (workers × 4))`, 0 when empty.
fn python_chunksize(len: usize, workers: usize) -> usize {
    let (chunksize, extra) = (len / (workers * 4), len % (workers * 4));
    chunksize + usize::from(extra > 0)
}

fn show_default_chunksize() {
    for (len, workers) in [(10, 2), (10, 4), (100, 4), (1000, 2)] {
        let chunksize = python_chunksize(len, workers);
        println!(
            "map over {len:>4} items on {workers} processes: chunksize {chunksize:>3}, {} tasks",
            len.div_ceil(chunksize)
        );
    }
    println!("rayon: no fixed chunks; pieces split further only when a thread is idle");
}

const LIMIT: u64 = 2_000_000;
const SQUARE_DELAY: Duration = Duration::from_millis(50);
const ITEM_DELAY: Duration = Duration::from_millis(2);
const CHUNKS: u64 = 8;
/// Counted runs per timing in `map_cpu_bound` (after an uncounted warm-up).
const RUNS: usize = 5;

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("map_squares", "results come back in the items' order", show_map_squares),
        Step::new("map_chunksize", "with_min_len is chunksize: pieces of at least n items", show_map_chunksize),
        Step::new("default_chunksize", "Python's default chunksize, and rayon's splitting", show_default_chunksize),
        Step::new("map_cpu_bound", "count primes: map vs a plain loop", show_map_cpu_bound),
        Step::new("map_first_error", "one failing item fails the whole map", show_map_first_error),
        Step::new("map_waits_then_raises", "Python runs every item before raising; rayon stops", show_map_waits_then_raises),
    ])
}

const TITLE: &str =
    "Lesson 9.5 — Process a collection, blocking (map) («Синхронная обработка коллекций»)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_runs_every_item_before_the_error_rayon_stops_early() {
        let n = 400;
        let [(python_ran, python), (rayon_ran, rayon)] =
            map_waits_then_raises(n, Duration::from_millis(5));
        let error = Err("item 1 failed".to_owned());
        assert_eq!((python_ran, &python), (n as usize, &error));
        // Item 1 fails at once; the other thread would need 200 items × 5 ms
        // to run everything before it notices.
        assert_eq!(rayon, error);
        assert!(rayon_ran < n as usize, "{rayon_ran}");
    }

    #[test]
    fn the_default_chunksize_is_pythons() {
        // Values printed by Python 3.11's `Pool._map_async` rule.
        let cases = [
            (10, 2, 2),
            (10, 4, 1),
            (100, 4, 7),
            (1000, 2, 125),
            (0, 4, 0),
            (7, 1, 2),
        ];
        for (len, workers, expected) in cases {
            assert_eq!(
                python_chunksize(len, workers),
                expected,
                "{len} items, {workers}"
            );
        }
    }

    #[test]
    fn map_keeps_order_and_matches_the_loop() {
        let results = map_squares(1000, Duration::ZERO);
        let squares: Vec<u64> = results.iter().map(|&(s, _)| s).collect();
        let expected: Vec<u64> = (0..1000).map(square).collect();
        assert_eq!(squares, expected);
        // Every item ran on a pool thread, never on the caller.
        assert!(results.iter().all(|&(_, t)| t.is_some()));
    }

    #[test]
    fn each_item_is_processed_exactly_once() {
        let calls: Vec<AtomicUsize> = (0..500).map(|_| AtomicUsize::new(0)).collect();
        let _: Vec<()> = (0..500usize)
            .into_par_iter()
            .map(|i| {
                calls[i].fetch_add(1, Ordering::SeqCst);
            })
            .collect();
        assert!(calls.iter().all(|c| c.load(Ordering::SeqCst) == 1));
    }

    #[test]
    fn min_len_bounds_the_number_of_pieces() {
        let items: Vec<u64> = (0..100).collect();
        // Each piece has at least 25 items and runs on one thread.
        let delay = Duration::from_micros(100);
        assert!(runs(&map_chunksize(&items, 25, delay)) <= 4);
        assert_eq!(runs(&map_chunksize(&items, 100, delay)), 1);
    }

    #[test]
    fn prime_counts_match_the_loop() {
        let ((seq, _), (par, _)) = map_cpu_bound(100_000, 7, 1, &Sink::collect());
        assert_eq!(seq, par);
        assert_eq!(par.iter().sum::<u64>(), 9592);
    }

    #[test]
    fn an_error_fails_the_map() {
        assert_eq!(map_first_error(&[1, 2, 4]), Ok(vec![1.0, 0.5, 0.25]));
        assert_eq!(map_first_error(&[1, 0, 4]), Err("division by zero".into()));
    }
}
