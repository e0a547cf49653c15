//! Lesson 6.5 — Lock overhead («Накладные расходы поточной блокировки»)
//!
//! What one operation costs: a plain local, an `AtomicU64`, a std `Mutex`, a
//! `parking_lot::Mutex` and an `RwLock` read, first on one thread
//! (uncontended), then with every core hammering the same value (contended).
//! An uncontended lock is one atomic instruction to take and one to release;
//! contention, not the lock itself, is what makes locking expensive.
//!
//! | Python                              | Rust                                        |
//! |-------------------------------------|---------------------------------------------|
//! | `x += 1` on a local                 | `x += 1` on a local (no sharing, no cost)   |
//! | (no atomic integers in the stdlib)  | `AtomicU64::fetch_add(1, Relaxed)`          |
//! | `with lock: counter += 1`           | `*mutex.lock().unwrap() += 1`               |
//! | (no RWLock in `threading`)          | `RwLock::read()`                            |
//! | `time.perf_counter_ns()`            | `Instant::now()` / `elapsed()`              |
//! | `timeit` (disables GC, repeats)     | warm-up, median of rounds, `hint::black_box` |
//!
//! The numbers depend on the free cores, the load and the build (`cargo run`
//! builds module 6 optimised: the root Cargo.toml). Rounds after a warm-up
//! (the `measure` crate); the median, the spread, and a `verdict:` that
//! compares the variants round by round.
//!
//! - Run all steps: `cargo run -p module_06 --bin lesson_05`
//! - Run one step:  `cargo run -p module_06 --bin lesson_05 -- overhead`
//!
//! In CPython the interpreter's own work dominates: `timeit` on 3.11 gives
//! tens of nanoseconds for `x += 1` and a few hundred for `with lock: x += 1`.
//! In Rust the plain add costs about a nanosecond, so the operations span two
//! orders of magnitude, which is what the table shows.
//!
//! Try:
//! - In `run_variant`, share a plain number: `Variant::Local =>
//!   run_shared(&0u64, threads, ops, |c| { *c += 1; 1 })`. Error E0594,
//!   "cannot assign to `*c`, which is behind a `&` reference": threads get
//!   only shared references, and a plain `u64` cannot change through one.
//! - Set `UNCONTENDED_OPS` to 1 and run `-- timer_cost`: the verdict says
//!   the two clock reads are hundreds of per cent of the time they measure.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use measure::{RUNS, Runs, conditions, ns_per_op, repeat, repeat_each, verdict};
use module_06::Table;
use step_runner::{Step, lesson_id};

/// Operations per measured round on one thread: enough that the two
/// `Instant::now()` calls around the loop (tens of ns) are lost in the noise.
const UNCONTENDED_OPS: u64 = 2_000_000;
/// Operations per thread per round when every thread shares the value.
const CONTENDED_OPS: u64 = 500_000;

/// The operations the table compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Local,
    AtomicLoad,
    AtomicAdd,
    StdMutex,
    ParkingLotMutex,
    StdRwLockRead,
    ParkingLotRwLockRead,
}

impl Variant {
    const ALL: [Variant; 7] = [
        Variant::Local,
        Variant::AtomicLoad,
        Variant::AtomicAdd,
        Variant::StdMutex,
        Variant::ParkingLotMutex,
        Variant::StdRwLockRead,
        Variant::ParkingLotRwLockRead,
    ];

    fn label(self) -> &'static str {
        match self {
            Variant::Local => "plain local u64 += 1",
            Variant::AtomicLoad => "AtomicU64::load (read)",
            Variant::AtomicAdd => "AtomicU64::fetch_add",
            Variant::StdMutex => "std Mutex lock += 1",
            Variant::ParkingLotMutex => "parking_lot Mutex lock += 1",
            Variant::StdRwLockRead => "std RwLock read",
            Variant::ParkingLotRwLockRead => "parking_lot RwLock read",
        }
    }
}

/// One timed run: what the threads computed (so it can be checked) and the
/// wall time of the operations.
#[derive(Debug, Clone, Copy)]
struct Run {
    total: u64,
    elapsed: Duration,
}

/// `threads` threads each call `op` `ops` times on one shared value; returns
/// the sum of what `op` returned and the wall time. With one thread it runs
/// on the caller's thread, so no thread start-up is measured.
fn run_shared<S: Sync>(shared: &S, threads: usize, ops: u64, op: impl Fn(&S) -> u64 + Sync) -> Run {
    // Each thread reads the clock itself, after the barrier and after its
    // loop: the main thread may be descheduled (more threads than cores), so
    // its own clock could start after the workers had finished.
    let work = || {
        let start = Instant::now();
        let mut sum = 0u64;
        for _ in 0..ops {
            // `black_box` hides which value is shared, so the optimiser
            // cannot prove every iteration does the same thing and collapse
            // the loop into one operation.
            sum += op(black_box(shared));
        }
        (sum, start, Instant::now())
    };
    let (total, start, end) = if threads == 1 {
        work()
    } else {
        // The barrier releases every thread at once, so they really overlap.
        let barrier = Barrier::new(threads);
        thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        work()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a measuring thread panicked"))
                .reduce(|(sum, start, end), (s2, start2, end2)| {
                    (sum + s2, start.min(start2), end.max(end2))
                })
                .expect("at least one thread")
        })
    };
    Run {
        total,
        // From the first thread's start to the last thread's end.
        elapsed: end - start,
    }
}

/// One run of `variant` on fresh state. Every variant returns 1 per
/// operation (read variants read a stored 1), so `total` must equal
/// `threads * ops` — and for the writing variants the stored counter must
/// too, which is checked here: a lost update would be a bug, not noise.
fn run_variant(variant: Variant, threads: usize, ops: u64) -> Run {
    let expected = threads as u64 * ops;
    match variant {
        // A plain local cannot be shared between threads at all (the
        // compiler refuses `&mut` from two threads): each thread adds to its
        // own `sum`, the baseline of no sharing. `black_box(1)` keeps the
        // compiler from replacing the loop with `sum = ops`.
        Variant::Local => run_shared(&(), threads, ops, |_| black_box(1)),
        Variant::AtomicLoad => run_shared(&AtomicU64::new(1), threads, ops, |a| {
            a.load(Ordering::Relaxed)
        }),
        Variant::AtomicAdd => {
            let counter = AtomicU64::new(0);
            // Relaxed is enough for a counter read after the threads are
            // joined. On x86-64 every ordering compiles to the same locked
            // instruction: with the result unused, as here, `lock inc`
            // (`lock add` for other amounts); with it used, `lock xadd`
            // (checked with `rustc -O --emit asm`, Rust 1.95).
            let run = run_shared(&counter, threads, ops, |a| {
                a.fetch_add(1, Ordering::Relaxed);
                1
            });
            assert_eq!(counter.into_inner(), expected, "lost atomic updates");
            run
        }
        Variant::StdMutex => {
            let counter = Mutex::new(0u64);
            let run = run_shared(&counter, threads, ops, |m| {
                // `unwrap` fails only if a thread panicked holding the lock.
                *m.lock().unwrap() += 1;
                1
            });
            assert_eq!(counter.into_inner().unwrap(), expected);
            run
        }
        Variant::ParkingLotMutex => {
            let counter = parking_lot::Mutex::new(0u64);
            let run = run_shared(&counter, threads, ops, |m| {
                *m.lock() += 1;
                1
            });
            assert_eq!(counter.into_inner(), expected);
            run
        }
        Variant::StdRwLockRead => {
            run_shared(&RwLock::new(1u64), threads, ops, |l| *l.read().unwrap())
        }
        Variant::ParkingLotRwLockRead => {
            run_shared(&parking_lot::RwLock::new(1u64), threads, ops, |l| *l.read())
        }
    }
}

/// `runs` counted runs of `variant` after a warm-up, for each `(threads,
/// ops per thread)` of `setups`, taking turns: ns per operation (per
/// thread). Every run must count every operation.
fn measure(variant: Variant, setups: &[(usize, u64)], runs: usize) -> Vec<Runs> {
    let ns = repeat_each(runs, setups.len(), |v| {
        let (threads, ops) = setups[v];
        let run = run_variant(variant, threads, ops);
        assert_eq!(
            run.total,
            threads as u64 * ops,
            "{variant:?}: a lost operation"
        );
        ns_per_op(run.elapsed, ops)
    });
    ns.into_iter().map(Runs::new).collect()
}

/// One row of the overhead table.
#[derive(Debug, Clone)]
struct Row {
    variant: Variant,
    uncontended: Runs,
    contended: Runs,
}

/// Demo: what `Instant::now()` itself costs, in ns per call — the reason the
/// table times whole loops of millions of operations, not single ones.
fn timer_cost(calls: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        black_box(Instant::now());
    }
    ns_per_op(start.elapsed(), calls)
}

/// Demo: the cost of each operation, uncontended and contended.
fn overhead(threads: usize, uncontended_ops: u64, contended_ops: u64, runs: usize) -> Vec<Row> {
    Variant::ALL
        .iter()
        .map(|&variant| {
            let setups = [(1, uncontended_ops), (threads, contended_ops)];
            let [uncontended, contended] = <[Runs; 2]>::try_from(measure(variant, &setups, runs))
                .expect("one measurement per setup");
            Row {
                variant,
                uncontended,
                contended,
            }
        })
        .collect()
}

/// Step `timer_cost`: the clock's cost against the cheapest timed loop.
fn show_timer_cost() {
    let clock = Runs::new(repeat(RUNS, || timer_cost(UNCONTENDED_OPS)));
    let adds = &measure(Variant::Local, &[(1, UNCONTENDED_OPS)], RUNS)[0];
    println!(
        "Instant::now(): {} ns per call (spread {}, {RUNS} runs after a warm-up)",
        clock.median_cell(),
        clock.spread_cell()
    );
    println!("so each measurement below times a loop of {UNCONTENDED_OPS} operations.");
    println!("{}", conditions!());
    // The two reads around a loop, against the loop of plain adds: the
    // cheapest loop the table times, so the largest share the clock can take.
    let loop_ns = adds.median() * UNCONTENDED_OPS as f64;
    let share = 100.0 * 2.0 * clock.median() / loop_ns;
    println!(
        "verdict: the two clock reads around a loop of {UNCONTENDED_OPS} plain adds ({:.1} ms) \
         are {share:.4}% of its time here",
        loop_ns / 1e6
    );
}

/// Step `overhead`: the table, then the verdict on contention.
fn show_overhead() {
    let threads = contending_threads();
    let rows = overhead(threads, UNCONTENDED_OPS, CONTENDED_OPS, RUNS);
    let mut table = Table::new([
        "operation".to_owned(),
        "1 thread, ns/op".to_owned(),
        "spread".to_owned(),
        format!("{threads} threads, ns/op"),
        "spread".to_owned(),
    ]);
    for row in &rows {
        let (one, many) = (&row.uncontended, &row.contended);
        table.row([
            row.variant.label().to_owned(),
            one.median_cell(),
            one.spread_cell(),
            many.median_cell(),
            many.spread_cell(),
        ]);
    }
    print!("{table}");
    println!("ns/op = wall time / operations per thread; median of {RUNS} runs after a warm-up");
    println!("{}", conditions!());
    let mutex = &rows[3];
    assert_eq!(mutex.variant, Variant::StdMutex);
    let (one, many) = (&mutex.uncontended, &mutex.contended);
    println!(
        "{}",
        verdict(
            "an uncontended std Mutex",
            one,
            &format!("one shared by {threads} threads"),
            many
        )
    );
    // What to read in the table (typical x86-64, optimised build; every row
    // includes the loop's own cost, the first row):
    // - local and atomic load cost ~1 ns in both columns: reading shared
    //   memory that nobody writes scales perfectly;
    // - an uncontended fetch_add or lock/unlock is one or two atomic
    //   instructions, ~5-20 ns;
    // - contended, the cache line holding the counter or the lock bounces
    //   between cores: atomics get several times slower, mutexes more
    //   (waiters park and wake through the kernel);
    // - an RwLock *read* still writes the reader count, so readers contend
    //   with each other too: it pays off only when the read section itself
    //   is long.
}

/// Every core, at least two: with one thread nothing is contended.
fn contending_threads() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

fn main() -> std::process::ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 6.5 — Lock overhead («Накладные расходы поточной блокировки»)",
        &[
            Step::new(
                "timer_cost",
                "what reading the clock costs",
                show_timer_cost,
            ),
            Step::new(
                "overhead",
                "ns per operation, uncontended and contended",
                show_overhead,
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_counts_exactly_uncontended_and_contended() {
        for variant in Variant::ALL {
            for threads in [1, 4] {
                // `run_variant` asserts the stored counter; check the total.
                let run = run_variant(variant, threads, 1_000);
                assert_eq!(run.total, threads as u64 * 1_000, "{variant:?} x{threads}");
            }
        }
    }

    #[test]
    fn the_table_has_one_row_per_variant_with_exact_totals() {
        let rows = course_tests::deadline(Duration::from_secs(20), || overhead(3, 500, 200, 2));
        let variants: Vec<Variant> = rows.iter().map(|r| r.variant).collect();
        assert_eq!(variants, Variant::ALL);
        // `measure` asserts every run's total; here, one cell per run.
        for row in rows {
            assert_eq!(row.uncontended.len(), 2);
            assert_eq!(row.contended.len(), 2);
        }
    }

    #[test]
    fn the_timer_costs_something_finite() {
        let ns = timer_cost(1_000);
        assert!(ns.is_finite() && ns >= 0.0);
    }
}
