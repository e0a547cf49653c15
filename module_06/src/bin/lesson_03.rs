//! Lesson 6.3 — Lock splitting («Разделение блокировок»)
//!
//! One coarse lock around a struct makes threads that update *different*
//! fields wait for each other. Splitting gives each independent field its
//! own lock, so those threads never meet. What the split costs: an operation
//! that must keep two fields consistent now needs both locks — and every
//! such operation must take them in the same fixed order, or two of them
//! can deadlock.
//!
//! | Python                                        | Rust                                          |
//! |-----------------------------------------------|-----------------------------------------------|
//! | `self.lock` guarding `views` and `latency`    | `Mutex<Stats>` (one coarse lock)              |
//! | `self.views_lock`, `self.latency_lock`        | `views: Mutex<…>`, `latency: Mutex<…>`        |
//! | `with self.views_lock: self.views[p] += 1`    | `*self.views.lock().unwrap().entry(p).or_default() += 1` |
//! | `with self.views_lock, self.latency_lock:`    | lock `views`, then `latency`, always in that order |
//!
//! The numbers depend on the free cores, the load and the build (`cargo run`
//! builds module 6 optimised: the root Cargo.toml). Nine rounds after a
//! warm-up (the `measure` crate's `RUNS_UNDER_LOAD`: a round lost to another
//! program's burst of load cannot hide the difference); the median, the
//! spread, and a `verdict:` that compares the variants round by round.
//!
//! - Run all steps: `cargo run -p module_06 --bin lesson_03`
//! - Run one step:  `cargo run -p module_06 --bin lesson_03 -- invariant`
//!
//! In Python a lock and the field it guards are only linked by convention;
//! here the field lives *inside* its `Mutex`, so after the split the compiler
//! still refuses any access that skips the right lock.
//!
//! Try: swap the two `lock()` lines in `SplitStats::snapshot` and run
//! `cargo test -p module_06 --features model --bin lesson_03`: shuttle
//! finds the deadlock with `record_request`. The compiler cannot: lock
//! order is a rule the code must keep by itself.

use std::collections::HashMap;
// The locks come from std, or from the shuttle model checker when the
// `model` feature is on (see `mod model` at the bottom).
#[cfg(feature = "model")]
use shuttle::sync::Mutex;
#[cfg(not(feature = "model"))]
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use measure::{RUNS_UNDER_LOAD, conditions, rounds, verdict};
use module_06::Table;
use step_runner::{Sink, Step, lesson_id};

/// Threads per field: half count page views, half record latencies.
const THREADS_PER_FIELD: usize = 2;
/// Updates per thread per round.
const UPDATES_PER_THREAD: u64 = 200_000;
/// Requests each thread records in the invariant demo.
const REQUESTS_PER_THREAD: u64 = 20_000;

/// The pages of a small web site.
const PAGES: [&str; 8] = [
    "/", "/about", "/blog", "/contact", "/docs", "/login", "/pricing", "/search",
];

/// Response times in power-of-two buckets of microseconds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Histogram {
    buckets: [u64; 16],
    samples: u64,
    total_micros: u64,
}

impl Histogram {
    fn record(&mut self, micros: u64) {
        let bucket = (u64::BITS - micros.leading_zeros()).min(15) as usize;
        self.buckets[bucket] += 1;
        self.samples += 1;
        self.total_micros += micros;
    }
}

/// Everything the statistics hold; also what every variant reports.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Stats {
    views: HashMap<&'static str, u64>,
    latency: Histogram,
}

/// The page and response time of the `i`-th update: fixed, varied data.
fn page_of(i: u64) -> &'static str {
    PAGES[(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 61) as usize]
}

fn micros_of(i: u64) -> u64 {
    i.wrapping_mul(7_919) % 5_000
}

/// The statistics behind one coarse lock.
#[derive(Default)]
struct CoarseStats(Mutex<Stats>);

impl CoarseStats {
    fn count_view(&self, page: &'static str) {
        // `unwrap`: a poisoned lock means another thread panicked mid-update.
        *self.0.lock().unwrap().views.entry(page).or_default() += 1;
    }

    fn record_latency(&self, micros: u64) {
        self.0.lock().unwrap().latency.record(micros);
    }

    fn into_stats(self) -> Stats {
        self.0.into_inner().unwrap()
    }
}

/// The same statistics with one lock per independent field.
///
/// Lock order, for every method that needs both: `views`, then `latency`.
#[derive(Default)]
struct SplitStats {
    views: Mutex<HashMap<&'static str, u64>>,
    latency: Mutex<Histogram>,
}

impl SplitStats {
    fn count_view(&self, page: &'static str) {
        *self.views.lock().unwrap().entry(page).or_default() += 1;
    }

    fn record_latency(&self, micros: u64) {
        self.latency.lock().unwrap().record(micros);
    }

    /// One served request updates both fields, and readers must never see
    /// one without the other: hold both locks, `views` first.
    fn record_request(&self, page: &'static str, micros: u64) {
        let mut views = self.views.lock().unwrap();
        let mut latency = self.latency.lock().unwrap();
        *views.entry(page).or_default() += 1;
        latency.record(micros);
    }

    /// A consistent copy of both fields: hold both locks, in the same order.
    /// Had this method taken `latency` first, it and `record_request` could
    /// each hold one lock and wait forever for the other.
    fn snapshot(&self) -> Stats {
        let views = self.views.lock().unwrap();
        let latency = self.latency.lock().unwrap();
        Stats {
            views: views.clone(),
            latency: latency.clone(),
        }
    }

    /// The mistake splitting invites: copy one field, release its lock, then
    /// copy the other. A request recorded in between is half in the copy.
    /// Shown only to count how often that happens.
    fn snapshot_one_lock_at_a_time(&self) -> Stats {
        let views = self.views.lock().unwrap().clone();
        let latency = self.latency.lock().unwrap().clone();
        Stats { views, latency }
    }

    fn into_stats(self) -> Stats {
        Stats {
            views: self.views.into_inner().unwrap(),
            latency: self.latency.into_inner().unwrap(),
        }
    }
}

/// What every variant must end with: each update applied once.
fn expected_stats(threads_per_field: usize, updates: u64) -> Stats {
    let mut stats = Stats::default();
    for i in 0..threads_per_field as u64 * updates {
        *stats.views.entry(page_of(i)).or_default() += 1;
        stats.latency.record(micros_of(i));
    }
    stats
}

/// Runs `threads_per_field` view-counting threads and as many
/// latency-recording threads at once; returns the wall time.
fn run_fields(
    threads_per_field: usize,
    updates: u64,
    count_view: impl Fn(&'static str) + Sync,
    record_latency: impl Fn(u64) + Sync,
) -> Duration {
    let start = Instant::now();
    thread::scope(|s| {
        for t in 0..threads_per_field as u64 {
            let (count_view, record_latency) = (&count_view, &record_latency);
            s.spawn(move || {
                for i in t * updates..(t + 1) * updates {
                    count_view(page_of(i));
                }
            });
            s.spawn(move || {
                for i in t * updates..(t + 1) * updates {
                    record_latency(micros_of(i));
                }
            });
        }
    });
    start.elapsed()
}

/// Demo: both kinds of update through one coarse lock.
fn coarse(threads_per_field: usize, updates: u64) -> (Stats, Duration) {
    let stats = CoarseStats::default();
    let elapsed = run_fields(
        threads_per_field,
        updates,
        |page| stats.count_view(page),
        |micros| stats.record_latency(micros),
    );
    (stats.into_stats(), elapsed)
}

/// Demo: the same updates, one lock per field.
fn split(threads_per_field: usize, updates: u64) -> (Stats, Duration) {
    let stats = SplitStats::default();
    let elapsed = run_fields(
        threads_per_field,
        updates,
        |page| stats.count_view(page),
        |micros| stats.record_latency(micros),
    );
    (stats.into_stats(), elapsed)
}

/// A demo of the `splitting` step: threads per field, updates per thread.
type Variant = fn(usize, u64) -> (Stats, Duration);

/// What the invariant demo saw.
#[derive(Debug)]
struct InvariantRun {
    snapshots: u64,
    /// Snapshots where the page views did not add up to the latency samples.
    torn: u64,
    final_stats: Stats,
}

/// Demo: threads record whole requests (both fields, both locks) while a
/// reporter takes snapshots; every snapshot should show as many page views
/// as latency samples. `consistent` picks the correct snapshot or the
/// one-lock-at-a-time mistake.
fn invariant(consistent: bool, threads: usize, requests: u64) -> InvariantRun {
    let stats = SplitStats::default();
    let done = AtomicBool::new(false);
    let (snapshots, torn) = thread::scope(|s| {
        let reporter = s.spawn(|| {
            let (mut snapshots, mut torn) = (0, 0);
            // Acquire pairs with the Release store after the recorders end.
            while !done.load(Ordering::Acquire) {
                let snap = if consistent {
                    stats.snapshot()
                } else {
                    stats.snapshot_one_lock_at_a_time()
                };
                snapshots += 1;
                if snap.views.values().sum::<u64>() != snap.latency.samples {
                    torn += 1;
                }
            }
            (snapshots, torn)
        });
        thread::scope(|recorders| {
            for t in 0..threads as u64 {
                let stats = &stats;
                recorders.spawn(move || {
                    for i in t * requests..(t + 1) * requests {
                        stats.record_request(page_of(i), micros_of(i));
                    }
                });
            }
        });
        done.store(true, Ordering::Release);
        reporter.join().expect("the reporter panicked")
    });
    InvariantRun {
        snapshots,
        torn,
        final_stats: stats.into_stats(),
    }
}

/// Step `splitting`: both variants, repeated; the verdict compares them.
fn show_splitting() {
    let expected = expected_stats(THREADS_PER_FIELD, UPDATES_PER_THREAD);
    let mut table = Table::new([
        "locks",
        "wall, ms (median)",
        "spread, ms",
        "ns/update per thread",
    ]);
    let variants: [(&str, Variant); 2] = [
        ("one coarse Mutex<Stats>", coarse),
        ("a Mutex per field", split),
    ];
    let sink = Sink::stdout();
    sink.note("ms per run of one coarse lock, then of a lock per field:");
    let walls = rounds(&sink, &variants, RUNS_UNDER_LOAD, |(name, run)| {
        let (stats, elapsed) = run(THREADS_PER_FIELD, UPDATES_PER_THREAD);
        assert_eq!(stats, expected, "{name}: lost or extra updates");
        elapsed
    });
    for ((name, _), wall) in variants.iter().zip(&walls) {
        table.row([
            name.to_string(),
            wall.median_cell(),
            wall.spread_cell(),
            format!("{:.1}", wall.median() * 1e6 / UPDATES_PER_THREAD as f64),
        ]);
    }
    print!("{table}");
    println!(
        "{THREADS_PER_FIELD} threads count page views and {THREADS_PER_FIELD} record latencies, \
         {UPDATES_PER_THREAD} updates each, {RUNS_UNDER_LOAD} rounds; every run ended with {} views",
        expected.latency.samples
    );
    println!("{}", conditions!());
    println!(
        "{}",
        verdict("a lock per field", &walls[1], "one coarse lock", &walls[0])
    );
    // With one lock, a latency update waits behind page-view updates that
    // never touch the histogram. Split, the two groups proceed in parallel
    // and each lock sees half the traffic. The gain needs free cores: on a
    // loaded machine the threads take turns on the CPU anyway.
}

/// Step `invariant`: torn snapshots, correct and mistaken.
fn show_invariant() {
    let threads = 2 * THREADS_PER_FIELD;
    for (consistent, name) in [
        (true, "snapshot: views then latency, held together"),
        (false, "snapshot: one lock at a time (the mistake)"),
    ] {
        let run = invariant(consistent, threads, REQUESTS_PER_THREAD);
        println!(
            "{name}: {} snapshots, {} torn (views != latency samples); final {} requests",
            run.snapshots, run.torn, run.final_stats.latency.samples
        );
    }
    // The torn count of the mistake varies from run to run and may be 0 on
    // a quiet machine; the correct snapshot's is 0 every time, by
    // construction.
}

fn main() -> std::process::ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 6.3 — Lock splitting («Разделение блокировок»)",
        &[
            Step::new(
                "splitting",
                "one coarse lock vs one lock per field",
                show_splitting,
            ),
            Step::new(
                "invariant",
                "both locks, fixed order, for what spans fields",
                show_invariant,
            ),
        ],
    )
}

// The ordinary tests run on std's types; with the `model` feature the locks
// are shuttle's, which work only inside `shuttle::check_*`.
#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;

    #[test]
    fn coarse_and_split_count_every_update_exactly() {
        let expected = expected_stats(2, 3_000);
        assert_eq!(expected.latency.samples, 6_000);
        assert_eq!(expected.views.values().sum::<u64>(), 6_000);
        let (coarse_stats, _) = coarse(2, 3_000);
        let (split_stats, _) = split(2, 3_000);
        assert_eq!(coarse_stats, expected);
        assert_eq!(split_stats, expected);
    }

    #[test]
    fn consistent_snapshots_are_never_torn_and_never_deadlock() {
        let run = course_tests::deadline(Duration::from_secs(20), || invariant(true, 3, 3_000));
        assert_eq!(run.torn, 0, "{run:?}");
        assert_eq!(run.final_stats, expected_stats(3, 3_000));
    }

    #[test]
    fn the_one_lock_at_a_time_snapshot_still_finishes_with_exact_totals() {
        // Whether it tears depends on timing; what it must not do is lose
        // updates or hang.
        let run = course_tests::deadline(Duration::from_secs(20), || invariant(false, 3, 3_000));
        assert!(run.torn <= run.snapshots);
        assert_eq!(run.final_stats, expected_stats(3, 3_000));
    }

    #[test]
    fn histogram_buckets_by_power_of_two() {
        let mut h = Histogram::default();
        for micros in [0, 1, 2, 3, 4, 1_000_000] {
            h.record(micros);
        }
        assert_eq!(&h.buckets[..4], &[1, 1, 2, 1]);
        assert_eq!(h.buckets[15], 1);
        assert_eq!((h.samples, h.total_micros), (6, 1_000_010));
    }
}

/// Model checks of the split locks (`cargo test -p module_06 --features
/// model`): shuttle runs the threads under many random and PCT schedules,
/// with its own `Mutex` in place of std's. Two threads that each hold one
/// lock and wait for the other block for good, which shuttle reports as a
/// deadlock.
#[cfg(test)]
#[cfg(feature = "model")]
mod model {
    use super::*;
    use shuttle::sync::Arc;
    use shuttle::thread;
    use std::panic;

    const ITERATIONS: usize = 2_000;

    /// The property: two recorders record whole requests (both locks,
    /// `views` first) while a reporter takes two snapshots through
    /// `snapshot`. No schedule deadlocks, and every snapshot shows as many
    /// page views as latency samples.
    fn snapshots_are_whole_and_nothing_deadlocks(snapshot: fn(&SplitStats) -> Stats) {
        let stats = Arc::new(SplitStats::default());
        let recorders: Vec<_> = (0..2u64)
            .map(|t| {
                let stats = Arc::clone(&stats);
                thread::spawn(move || stats.record_request(page_of(t), micros_of(t)))
            })
            .collect();
        for _ in 0..2 {
            let snap = snapshot(&stats);
            assert_eq!(
                snap.views.values().sum::<u64>(),
                snap.latency.samples,
                "a torn snapshot"
            );
        }
        for recorder in recorders {
            recorder.join().expect("a recorder does not panic");
        }
    }

    fn run(snapshot: fn(&SplitStats) -> Stats) {
        let property = move || snapshots_are_whole_and_nothing_deadlocks(snapshot);
        shuttle::check_random(property, ITERATIONS);
        shuttle::check_pct(property, ITERATIONS, 3);
    }

    #[test]
    fn model_split_locks_in_one_order_never_deadlock_or_tear() {
        run(SplitStats::snapshot);
    }

    /// Broken: the lock order reversed (`latency`, then `views`), the
    /// mistake `snapshot`'s doc comment warns about.
    fn snapshot_in_reverse_order(stats: &SplitStats) -> Stats {
        let latency = stats.latency.lock().unwrap();
        let views = stats.views.lock().unwrap();
        Stats {
            views: views.clone(),
            latency: latency.clone(),
        }
    }

    #[test]
    fn model_catches_the_reversed_lock_order() {
        let failure = panic::catch_unwind(|| run(snapshot_in_reverse_order))
            .expect_err("the checker must find the deadlock");
        assert!(
            course_tests::panic_text(&*failure).contains("deadlock"),
            "{}",
            course_tests::panic_text(&*failure)
        );
    }

    #[test]
    fn model_catches_the_one_lock_at_a_time_snapshot() {
        let failure = panic::catch_unwind(|| run(SplitStats::snapshot_one_lock_at_a_time))
            .expect_err("the checker must find a torn snapshot");
        assert!(
            course_tests::panic_text(&*failure).contains("torn"),
            "{}",
            course_tests::panic_text(&*failure)
        );
    }
}
