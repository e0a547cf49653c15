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
//! Run all steps: `cargo run -p module_09 --bin lesson_05`
//! Run one step:  `cargo run -p module_09 --bin lesson_05 -- map_first_error`

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use module_09::{count_primes, split_range};
use rayon::prelude::*;
use step_runner::{Step, lesson_id};

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

/// The CPU-bound case a process pool exists for: counting primes, sequential
/// and with `map`.
fn map_cpu_bound(limit: u64, chunks: u64) -> ((Vec<u64>, Duration), (Vec<u64>, Duration)) {
    let ranges = split_range(limit, chunks);
    let started = Instant::now();
    let sequential: Vec<u64> = ranges.iter().cloned().map(count_primes).collect();
    let sequential_time = started.elapsed();
    let started = Instant::now();
    let parallel: Vec<u64> = ranges.par_iter().cloned().map(count_primes).collect();
    ((sequential, sequential_time), (parallel, started.elapsed()))
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

const LIMIT: u64 = 2_000_000;
const SQUARE_DELAY: Duration = Duration::from_millis(50);
const ITEM_DELAY: Duration = Duration::from_millis(2);
const CHUNKS: u64 = 8;

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 9.5 — Process a collection, blocking (map) («Синхронная обработка коллекций»)",
        &[
            Step::new(
                "map_squares",
                "results come back in the items' order",
                || {
                    let results = map_squares(10, SQUARE_DELAY);
                    let squares: Vec<u64> = results.iter().map(|&(s, _)| s).collect();
                    println!("squares: {squares:?}");
                    for (x, (s, thread)) in results.iter().enumerate() {
                        println!("  {x}² = {s:<3} on pool thread {thread:?}");
                    }
                },
            ),
            Step::new(
                "map_chunksize",
                "with_min_len is chunksize: pieces of at least n items",
                || {
                    let items: Vec<u64> = (0..100).collect();
                    // Without a minimum, rayon still makes few pieces: it splits
                    // further only when an idle thread steals work.
                    for min_len in [1, 25, 100] {
                        let threads = map_chunksize(&items, min_len, ITEM_DELAY);
                        println!(
                            "min_len {min_len:>3}: 100 items ran as {} runs of consecutive items",
                            runs(&threads)
                        );
                    }
                },
            ),
            Step::new("map_cpu_bound", "count primes: map vs a plain loop", || {
                let ((seq, seq_time), (par, par_time)) = map_cpu_bound(LIMIT, CHUNKS);
                println!("primes per chunk below {LIMIT}: {par:?}");
                println!(
                    "plain loop: {} primes in {seq_time:.2?}",
                    seq.iter().sum::<u64>()
                );
                println!(
                    "map on {} threads: {} primes in {par_time:.2?}",
                    rayon::current_num_threads(),
                    par.iter().sum::<u64>()
                );
            }),
            Step::new(
                "map_first_error",
                "one failing item fails the whole map",
                || {
                    println!("1/x for [1, 2, 4]: {:?}", map_first_error(&[1, 2, 4]));
                    println!("1/x for [1, 0, 4]: {:?}", map_first_error(&[1, 0, 4]));
                },
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

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
        let ((seq, _), (par, _)) = map_cpu_bound(100_000, 7);
        assert_eq!(seq, par);
        assert_eq!(par.iter().sum::<u64>(), 9592);
    }

    #[test]
    fn an_error_fails_the_map() {
        assert_eq!(map_first_error(&[1, 2, 4]), Ok(vec![1.0, 0.5, 0.25]));
        assert_eq!(map_first_error(&[1, 0, 4]), Err("division by zero".into()));
    }
}
