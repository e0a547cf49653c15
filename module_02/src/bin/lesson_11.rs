//! Lesson 2.11 — Testing for the optimal thread count («Тестирование и оптимальное количество потоков»)
//!
//! The best pool size is found by measuring, not guessing: run the same
//! workload on pools of different sizes and look for the knee where adding
//! threads stops helping. Waiting work and computing work have very
//! different knees.
//!
//! | Python                                          | Rust                                                      |
//! |-------------------------------------------------|-----------------------------------------------------------|
//! | `ThreadPoolExecutor(max_workers=pool_size)`     | `rayon::ThreadPoolBuilder::new().num_threads(pool_size)`   |
//! | `ex.submit(f, x)` ×n, then `result()` in order  | `pool.install(\|\| xs.par_iter().map(f).collect())`         |
//! | `with stdout_lock: print(…)`                    | `sink.note(line)`: whole lines, one at a time             |
//! | `ex.submit(f, x)` ×n, results not read          | `s.spawn_fifo(\|_\| f(x))` in `pool.scope_fifo`            |
//! | `math.factorial(300)` (unbounded `int`)         | `num_bigint::BigUint` product                             |
//! | `time.perf_counter()` around each run           | `Instant::now()` / `.elapsed()`                           |
//!
//! - Run all steps: `cargo run -p module_02 --bin lesson_11`
//! - Run one step:  `cargo run -p module_02 --bin lesson_11 -- sweep`
//!
//! The sweep's times depend on the number of cores, on what else the
//! machine is running, and (for counting primes) on the build: `cargo run`
//! builds the counting (the `primes` crate) at `opt-level = 1` with debug
//! assertions on, and the rest of the lesson unoptimised. So each pool size
//! runs once uncounted and then in rounds that take turns (five for
//! sleeping, nine for counting primes, so that one round lost to another
//! program's burst of load cannot hide the knee); the table shows the median
//! and the fastest and slowest run, and the `verdict:` line is worked out
//! round by round (the `measure` crate says how and why): "best" only where
//! one size beat every other clearly.
//!
//! Try:
//! - In `STEP_07_LISTS`, make every pool size 1 and run `-- step_07`: each
//!   pool prints its four elements in list order, as Python does. Then
//!   change `scope_fifo`/`spawn_fifo` to `scope`/`spawn`: every list comes
//!   out backwards.
//! - Add 64 to `SIZES` and run `-- sweep`: the IO-bound "best" marker goes
//!   and the verdict calls 32 threads "already as fast as it gets": 64 are
//!   not clearly faster, since there is no 33rd task to run.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use measure::{RUNS, RUNS_UNDER_LOAD, machine, pool_table, rounds};
use num_bigint::BigUint;
// Counting primes by trial division, a CPU-bound workload: a crate of its
// own, built optimised (the root `Cargo.toml` says why).
use primes::count_primes;
use rayon::prelude::*;
use step_runner::{Sink, Step, lesson_id};

const TITLE: &str = "Lesson 2.11 — Testing for the optimal thread count («Тестирование и оптимальное количество потоков»)";

const STEP_07_LISTS: [(usize, [&str; 4]); 3] = [
    (50, ["OF95RK", "VH61DX", "NB03WA", "OL41DZ"]),
    (100, ["JF39XW", "RO06QB", "RW48XW", "ZE42EF"]),
    (200, ["FP99WI", "IJ21HS", "SV16JN", "EP11JG"]),
];

fn pool_of(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the pool should build")
}

/// Step 07 — process the same kind of list on pools of 50, 100 and 200
/// threads; each task reports its element the moment it runs.
///
/// Four tasks never need 200 threads. Python starts workers lazily (at most
/// one per submitted task); rayon starts all of them up front, so here an
/// oversized pool costs 200 thread start-ups for nothing. The tasks start in
/// the order submitted (`scope_fifo`, see lesson 2.1), as in Python; with
/// many idle workers they still race to print, so the lines of one pool can
/// come out in another order.
fn step_07(sink: &Sink, lists: &[(usize, [&str; 4])]) {
    for &(pool_size, elements) in lists {
        let pool = pool_of(pool_size);
        pool.scope_fifo(|s| {
            for element in elements {
                s.spawn_fifo(move |_| {
                    sink.note(format!(
                        "element {element} of the list, pool of size {pool_size}"
                    ));
                });
            }
        });
    }
}

fn show_step_07() {
    step_07(&Sink::stdout(), &STEP_07_LISTS);
}

fn factorial(n: u32) -> BigUint {
    (1..=n).map(BigUint::from).product()
}

/// Step 08's three batches: numbers, function name, and pool size.
fn step_08_batches() -> [(std::ops::RangeInclusive<u32>, &'static str, usize); 3] {
    [
        (1..=50, "square", 10),
        (51..=150, "cube", 20),
        (151..=300, "factorial", 30),
    ]
}

/// Step 08 — squares of 1..=50 on 10 threads, cubes of 51..=150 on 20,
/// factorials of 151..=300 on 30; results in input order.
///
/// 300! has 615 digits: far beyond u128, whose largest factorial is 34!
/// (≈ 2.95e38; 35! overflows), so every value is a `BigUint`, as Python's
/// `int` would be.
fn step_08() -> Vec<(&'static str, Vec<(u32, BigUint)>)> {
    step_08_batches()
        .into_iter()
        .map(|(numbers, function, pool_size)| {
            let f = match function {
                "square" => |n: u32| BigUint::from(n).pow(2),
                "cube" => |n: u32| BigUint::from(n).pow(3),
                _ => factorial,
            };
            let results =
                pool_of(pool_size).install(|| numbers.into_par_iter().map(|n| (n, f(n))).collect());
            (function, results)
        })
        .collect()
}

fn show_step_08() {
    for (function, results) in step_08() {
        println!("results for {function}:");
        for (n, value) in results {
            println!("{{{n}: {value}}}");
        }
    }
}

/// One run: `tasks` tasks sleeping `delay` each on a pool of `size`
/// threads; returns the wall time.
fn time_io(size: usize, tasks: u32, delay: Duration) -> Duration {
    let pool = pool_of(size);
    let started = Instant::now();
    pool.install(|| {
        (0..tasks)
            .into_par_iter()
            .for_each(|_| thread::sleep(delay))
    });
    started.elapsed()
}

/// One run: count the primes below `limit`, in `chunks` pieces, on a pool
/// of `size` threads; returns the count and the wall time of the counting.
fn time_cpu(size: usize, limit: u64, chunks: u64) -> (u64, Duration) {
    let pool = pool_of(size);
    let step = limit.div_ceil(chunks);
    let started = Instant::now();
    let count = pool.install(|| {
        (0..chunks)
            .into_par_iter()
            .map(|c| count_primes(c * step..((c + 1) * step).min(limit)))
            .sum()
    });
    (count, started.elapsed())
}

const SIZES: [usize; 6] = [1, 2, 4, 8, 16, 32];

fn show_sweep() {
    let sink = Sink::stdout();
    sink.note(format!(
        "ms per run on {} threads; here: {}",
        SIZES.map(|n| n.to_string()).join(", "),
        machine()
    ));
    sink.note("32 tasks sleeping 20 ms each (IO-bound):");
    let io = rounds(&sink, &SIZES, RUNS, |size| {
        time_io(size, 32, Duration::from_millis(20))
    });
    pool_table(&SIZES, &io)
        .into_iter()
        .for_each(|l| sink.note(l));
    let mut counts = BTreeSet::new();
    sink.note("counting the primes below 1,000,000 in 32 chunks (CPU-bound):");
    let cpu = rounds(&sink, &SIZES, RUNS_UNDER_LOAD, |size| {
        let (count, elapsed) = time_cpu(size, 1_000_000, 32);
        counts.insert(count);
        elapsed
    });
    pool_table(&SIZES, &cpu)
        .into_iter()
        .for_each(|l| sink.note(l));
    sink.note(format!(
        "primes counted (every run, every size): {counts:?}"
    ));
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("step_07", "four elements on pools of 50, 100, 200", show_step_07),
        Step::new("step_08", "squares, cubes and big factorials", show_step_08),
        Step::new("sweep", "time IO-bound and CPU-bound work per pool size", show_sweep),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_07_processes_each_element_once_per_pool() {
        let sink = Sink::collect();
        step_07(&sink, &STEP_07_LISTS);
        let lines = sink.lines();
        assert_eq!(lines.len(), 12);
        for (size, elements) in STEP_07_LISTS {
            for element in elements {
                let expected = format!("element {element} of the list, pool of size {size}");
                assert_eq!(lines.iter().filter(|l| **l == expected).count(), 1);
            }
        }
    }

    #[test]
    fn step_07_starts_the_tasks_in_submission_order() {
        // On a pool of one the start order is the print order: first in,
        // first out, as in Python. `scope`/`spawn` would print each list
        // backwards.
        let lists: Vec<(usize, [&str; 4])> = STEP_07_LISTS.iter().map(|&(_, e)| (1, e)).collect();
        let sink = Sink::collect();
        step_07(&sink, &lists);
        let expected: Vec<String> = STEP_07_LISTS
            .iter()
            .flat_map(|(_, elements)| elements)
            .map(|e| format!("element {e} of the list, pool of size 1"))
            .collect();
        assert_eq!(sink.lines(), expected);
    }

    /// n! from its prime factorisation (Legendre's formula): an independent
    /// way to the same number.
    fn factorial_by_primes(n: u32) -> BigUint {
        let mut result = BigUint::from(1u32);
        for p in (2..=n).filter(|&p| {
            (2..p)
                .take_while(|d| d * d <= p)
                .all(|d| !p.is_multiple_of(d))
        }) {
            let mut exponent = 0;
            let mut power = p;
            while power <= n {
                exponent += n / power;
                power = power.saturating_mul(p);
            }
            result *= BigUint::from(p).pow(exponent);
        }
        result
    }

    #[test]
    fn thirty_four_factorial_is_the_largest_that_fits_in_u128() {
        let checked = |n: u128| (1..=n).try_fold(1u128, |acc, k| acc.checked_mul(k));
        assert_eq!(
            checked(34),
            Some(295_232_799_039_604_140_847_618_609_643_520_000_000)
        );
        assert_eq!(checked(35), None);
        assert_eq!(factorial(34).to_string(), checked(34).unwrap().to_string());
    }

    #[test]
    fn step_08_is_exact_in_order_and_beyond_u128() {
        let batches = step_08();
        let names: Vec<_> = batches.iter().map(|(f, _)| *f).collect();
        assert_eq!(names, ["square", "cube", "factorial"]);
        let (_, squares) = &batches[0];
        assert_eq!(
            squares.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            (1..=50).collect::<Vec<_>>()
        );
        assert!(squares.iter().all(|(n, v)| *v == BigUint::from(n * n)));
        let (_, cubes) = &batches[1];
        assert_eq!(cubes.len(), 100);
        assert!(
            cubes
                .iter()
                .all(|(n, v)| *v == BigUint::from(u64::from(*n).pow(3)))
        );
        let (_, factorials) = &batches[2];
        assert_eq!(factorials.first().map(|(n, _)| *n), Some(151));
        assert_eq!(factorials.last().map(|(n, _)| *n), Some(300));
        for (n, value) in factorials {
            assert_eq!(*value, factorial_by_primes(*n), "{n}!");
        }
        let f300 = factorials.last().expect("300!").1.to_string();
        // Digits from the sum of logarithms; 74 trailing zeros = 300/5 + 300/25 + 300/125.
        let digits = (1..=300).map(|k| f64::from(k).log10()).sum::<f64>().floor() as usize + 1;
        assert_eq!((f300.len(), digits), (615, 615));
        assert_eq!(f300.len() - f300.trim_end_matches('0').len(), 74);
        assert!(f300.starts_with(
            "306057512216440636035370461297268629388588804173576999416776741259476533"
        ));
    }

    #[test]
    fn one_run_measures_its_sleeps_and_counts_right() {
        let (io, counts) = course_tests::deadline(Duration::from_secs(30), || {
            let io = time_io(1, 8, Duration::from_millis(20));
            let counts: Vec<u64> = [1, 2, 3].map(|n| time_cpu(n, 50_000, 7).0).into();
            (io, counts)
        });
        // Eight 20 ms sleeps on one thread take at least 160 ms; the upper
        // bound is generous, for a loaded machine.
        assert!(io >= Duration::from_millis(160), "{io:?}");
        assert!(io < Duration::from_secs(10), "{io:?}");
        assert_eq!(counts, [5133; 3], "pi(50000) on any pool size");
    }
}
