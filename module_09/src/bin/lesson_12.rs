//! Lesson 9.12 — Comparing the methods («Сравнение методов»)
//!
//! All eight methods on one CPU-bound workload (counting primes in chunks),
//! timed and printed as a table. The results are identical; what differs is
//! when the caller gets them. `apply` in a loop is the only sequential one:
//! each call waits before the next is submitted.
//!
//! | Python                          | Rust, as written below                                        |
//! |---------------------------------|---------------------------------------------------------------|
//! | `[pool.apply(f, (c,)) for c]`   | `chunks.iter().map(\|c\| pool.install(\|\| f(c)))`                 |
//! | `[pool.apply_async(f, (c,))…]`  | `pool.spawn` per chunk, one channel each, then `recv` in order |
//! | `pool.map(f, chunks)`           | `pool.install(\|\| chunks.par_iter().map(f).collect())`          |
//! | `pool.map_async(f, chunks)`     | one `pool.spawn` running the `par_iter`, result over a channel |
//! | `pool.imap(f, chunks)`          | `spawn` per chunk + reorder buffer                             |
//! | `pool.imap_unordered(f, chunks)`| `spawn` per chunk + `Receiver` iteration                       |
//! | `pool.starmap(g, pairs)`        | `pairs.par_iter().map(\|&(a, b)\| g(a, b))`                      |
//! | `pool.starmap_async(g, pairs)`  | one `pool.spawn` running that, result over a channel           |
//! | `time.perf_counter()`           | `Instant::now()` / `elapsed()`                                 |
//!
//! Each time is the median of a few rounds after an uncounted warm-up round
//! (each round runs the loop and every method once, so a burst of load
//! falls on all of them alike), with its spread (fastest to slowest run);
//! the `verdict:` line and any `<- best` marker are computed from them
//! (the `measure` crate): a method counts as faster only when it beat the
//! loop in every round, by at least 1.1× (the median round). The numbers depend
//! on the cores (the pool has one thread per core), on what else the
//! machine runs, and on the build: `cargo run` builds the prime counting
//! (the `primes` crate) at opt-level 1 and this lesson unoptimised, with
//! debug assertions on. On 2 idle cores expect every
//! method but `apply` near half the loop's time.
//!
//! Python's pool runs the tasks in worker processes; this lesson runs them
//! on rayon's threads. Python needs processes because its GIL lets one
//! thread at a time run Python code; Rust's threads run in parallel on every
//! core, so a thread pool is the Rust equivalent (9.1, 9.2 and 9.13 show
//! real processes, for isolation).
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_12`
//! - Run one step:  `cargo run -p module_09 --bin lesson_12 -- compare`
//!
//! Try: run `-- compare` a few times and watch the last column: only
//! `imap_unordered`'s order may change from run to run; every other method
//! hands the chunks back in their order. Then run it while another build
//! keeps the cores busy: the spreads widen, and where the loop wins a round
//! the verdict lists the method under "no clear difference".

use std::collections::BTreeMap;
use std::ops::Range;
use std::process::ExitCode;

use measure::{Gap, Runs, best, gap, time_rounds};
use module_09::{count_primes, split_range};
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use step_runner::{Sink, Step, lesson_id};

/// Per-chunk prime counts, in chunk order (completion order for
/// `imap_unordered`, which pairs each count with its chunk's index).
type Counts = Vec<(usize, u64)>;

fn apply(pool: &ThreadPool, chunks: &[Range<u64>]) -> Counts {
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| (i, pool.install(|| count_primes(c.clone()))))
        .collect()
}

fn apply_async(pool: &ThreadPool, chunks: &[Range<u64>]) -> Counts {
    let handles: Vec<_> = chunks
        .iter()
        .cloned()
        .map(|c| {
            let (tx, rx) = crossbeam_channel::bounded(1);
            pool.spawn(move || {
                let _ = tx.send(count_primes(c));
            });
            rx
        })
        .collect();
    handles
        .iter()
        .enumerate()
        .map(|(i, rx)| (i, rx.recv().expect("every task sends its count")))
        .collect()
}

fn map(pool: &ThreadPool, chunks: &[Range<u64>]) -> Counts {
    pool.install(|| {
        chunks
            .par_iter()
            .cloned()
            .map(count_primes)
            .enumerate()
            .collect()
    })
}

fn map_async(pool: &ThreadPool, chunks: &[Range<u64>]) -> Counts {
    let chunks = chunks.to_vec();
    let (tx, rx) = crossbeam_channel::bounded(1);
    pool.spawn(move || {
        let counts: Counts = chunks
            .into_par_iter()
            .map(count_primes)
            .enumerate()
            .collect();
        let _ = tx.send(counts);
    });
    rx.recv().expect("the map sends its list")
}

/// One task per chunk, each sending `(index, count)`.
fn spawn_each(
    pool: &ThreadPool,
    chunks: &[Range<u64>],
) -> crossbeam_channel::Receiver<(usize, u64)> {
    let (tx, rx) = crossbeam_channel::unbounded();
    for (i, c) in chunks.iter().cloned().enumerate() {
        let tx = tx.clone();
        pool.spawn(move || {
            let _ = tx.send((i, count_primes(c)));
        });
    }
    rx
}

fn imap(pool: &ThreadPool, chunks: &[Range<u64>]) -> Counts {
    let rx = spawn_each(pool, chunks);
    let mut early = BTreeMap::new();
    let mut out = Vec::with_capacity(chunks.len());
    while out.len() < chunks.len() {
        let next = out.len();
        if let Some(count) = early.remove(&next) {
            out.push((next, count));
            continue;
        }
        let (i, count) = rx.recv().expect("every task sends its count");
        early.insert(i, count);
    }
    out
}

fn imap_unordered(pool: &ThreadPool, chunks: &[Range<u64>]) -> Counts {
    spawn_each(pool, chunks).iter().take(chunks.len()).collect()
}

fn starmap(pool: &ThreadPool, chunks: &[Range<u64>]) -> Counts {
    let pairs: Vec<(u64, u64)> = chunks.iter().map(|c| (c.start, c.end)).collect();
    pool.install(|| {
        pairs
            .par_iter()
            .map(|&(start, end)| count_primes(start..end))
            .enumerate()
            .collect()
    })
}

fn starmap_async(pool: &ThreadPool, chunks: &[Range<u64>]) -> Counts {
    let pairs: Vec<(u64, u64)> = chunks.iter().map(|c| (c.start, c.end)).collect();
    let (tx, rx) = crossbeam_channel::bounded(1);
    pool.spawn(move || {
        let counts: Counts = pairs
            .into_par_iter()
            .map(|(start, end)| count_primes(start..end))
            .enumerate()
            .collect();
        let _ = tx.send(counts);
    });
    rx.recv().expect("the starmap sends its list")
}

type Method = fn(&ThreadPool, &[Range<u64>]) -> Counts;

const METHODS: [(&str, Method); 8] = [
    ("apply", apply),
    ("apply_async", apply_async),
    ("map", map),
    ("map_async", map_async),
    ("imap", imap),
    ("imap_unordered", imap_unordered),
    ("starmap", starmap),
    ("starmap_async", starmap_async),
];

/// One row of the table.
#[derive(Debug)]
struct Row {
    method: &'static str,
    time: Runs,
    counts: Counts,
}

/// The sequential baseline, then every method on the same pool and chunks,
/// timed in `runs` alternating rounds (each runs the loop and every method
/// once) after a warm-up round, each round's times noted on `sink` as it
/// ends.
fn compare(limit: u64, chunks: u64, threads: usize, runs: usize, sink: &Sink) -> (Row, Vec<Row>) {
    let ranges = split_range(limit, chunks);
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the OS can start the pool's threads");
    let plain_loop = |_: &ThreadPool, ranges: &[Range<u64>]| -> Counts {
        ranges
            .iter()
            .cloned()
            .map(count_primes)
            .enumerate()
            .collect()
    };
    let all: Vec<(&'static str, Method)> = std::iter::once(("(plain loop)", plain_loop as Method))
        .chain(METHODS)
        .collect();
    let mut rows: Vec<Row> = time_rounds(sink, runs, all.len(), |i| (all[i].1)(&pool, &ranges))
        .into_iter()
        .zip(&all)
        .map(|((time, counts), &(method, _))| Row {
            method,
            time,
            counts,
        })
        .collect();
    let baseline = rows.remove(0);
    (baseline, rows)
}

/// Each method against the plain loop, round by round (`measure::gap`).
fn compare_verdict(baseline: &Row, rows: &[Row]) -> String {
    let (mut faster, mut unclear, mut slower) = (Vec::new(), Vec::new(), Vec::new());
    for r in rows {
        match gap(&r.time, &baseline.time) {
            Gap::FirstLower { ratio, .. } => faster.push(format!("{} {ratio:.1}×", r.method)),
            Gap::SecondLower { .. } => slower.push(r.method.to_string()),
            Gap::Unclear(_) => unclear.push(r.method.to_string()),
        }
    }
    [
        ("faster than the plain loop", faster),
        ("no clear difference from the loop", unclear),
        ("slower than the loop", slower),
    ]
    .into_iter()
    .filter(|(_, methods)| !methods.is_empty())
    .map(|(label, methods)| format!("{label}: {}", methods.join(", ")))
    .collect::<Vec<_>>()
    .join("; ")
}

fn show_compare() {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!("primes below {LIMIT} in {CHUNKS} chunks, pool of {threads} threads");
    println!("median of {RUNS} alternating rounds after a warm-up (spread: fastest–slowest run)");
    let methods: Vec<&str> = METHODS.iter().map(|&(method, _)| method).collect();
    println!(
        "ms per run of the plain loop, then of {}:",
        methods.join(", ")
    );
    let (baseline, rows) = compare(LIMIT, CHUNKS, threads, RUNS, &Sink::stdout());
    let base = baseline.time.median();
    let times: Vec<&Runs> = std::iter::once(&baseline)
        .chain(&rows)
        .map(|r| &r.time)
        .collect();
    let best = best(&times);
    println!(
        "{:<15} {:>28} {:>8} {:>8}  first chunks' order",
        "method", "time", "vs loop", "primes"
    );
    for (i, r) in std::iter::once(&baseline).chain(&rows).enumerate() {
        let order: Vec<usize> = r.counts.iter().take(6).map(|&(i, _)| i).collect();
        println!(
            "{:<15} {:>28} {:>7.2}x {:>8}  {order:?}{}",
            r.method,
            r.time.to_string(),
            base / r.time.median(),
            r.counts.iter().map(|&(_, n)| n).sum::<u64>(),
            if best == Some(i) { "  <- best" } else { "" },
        );
    }
    println!("verdict: {}", compare_verdict(&baseline, &rows));
}

const LIMIT: u64 = 1_500_000;
const CHUNKS: u64 = 16;
/// Counted runs per method (each after an uncounted warm-up).
const RUNS: usize = 5;

const TITLE: &str = "Lesson 9.12 — Comparing the methods («Сравнение методов»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("compare", "all eight methods on one workload, timed", show_compare),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_method_gets_the_sequential_counts() {
        course_tests::deadline(Duration::from_secs(60), || {
            let (baseline, rows) = compare(60_000, 12, 2, 1, &Sink::collect());
            assert_eq!(rows.len(), 8);
            assert_eq!(baseline.counts.iter().map(|&(_, n)| n).sum::<u64>(), 6057);
            for row in rows {
                let mut counts = row.counts.clone();
                if row.method == "imap_unordered" {
                    // Completion order: compare as a set of (chunk, count).
                    counts.sort_unstable();
                }
                assert_eq!(counts, baseline.counts, "{}", row.method);
            }
        });
    }

    #[test]
    fn ordered_methods_keep_chunk_order() {
        let ranges = split_range(10_000, 9);
        let pool = ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        for (name, run) in METHODS {
            let indices: Vec<usize> = run(&pool, &ranges).iter().map(|&(i, _)| i).collect();
            if name != "imap_unordered" {
                assert_eq!(indices, (0..9).collect::<Vec<_>>(), "{name}");
            }
        }
    }

    fn row(method: &'static str, ms: &[u64]) -> Row {
        Row {
            method,
            time: Runs::from_durations(ms.iter().map(|&m| Duration::from_millis(m))),
            counts: Vec::new(),
        }
    }

    #[test]
    fn the_verdict_follows_the_numbers() {
        let baseline = row("(plain loop)", &[100, 102, 110, 101, 100]);
        let rows = [
            row("map", &[50, 51, 60, 50, 49]),
            // Faster than the loop in three rounds of five: not clearly.
            row("apply", &[98, 104, 120, 99, 98]),
            row("imap", &[130, 131, 140, 130, 132]),
        ];
        assert_eq!(
            compare_verdict(&baseline, &rows),
            "faster than the plain loop: map 2.0×; \
             no clear difference from the loop: apply; slower than the loop: imap"
        );
    }
}
