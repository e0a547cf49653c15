//! The measuring kit every lesson of module 6 shares: repeated runs with a
//! median and a spread, a verdict computed from them, and a plain-text table.
//!
//! Every lesson here prints timings. They are printed, never asserted: they
//! depend on the cores free for the run, on what else the machine is doing,
//! and on the build. `cargo run -p module_06 …` already builds this package
//! (and parking_lot, lock_api and crossbeam-utils, which it measures) at
//! opt-level 3 without debug assertions or overflow checks: the root
//! Cargo.toml's `[profile.dev.package.module_06]`; `--release` is not
//! needed.
//!
//! How a measurement is taken: one uncounted warm-up run (caches, page
//! faults, lazily started threads, CPU frequency), then [`RUNS`] counted
//! runs; variants that are compared take turns, round by round. A table shows the median of the counted runs — not the minimum:
//! these demos are about threads, and the waiting the other threads cause
//! is part of what is measured, not noise to discard — and the spread,
//! from the fastest to the slowest counted run. A verdict calls one variant
//! faster only when the two spreads do not overlap and the medians lie
//! further apart than either spread is wide. If both variants were equally
//! fast, all five runs of one would land below all five of the other by
//! chance in 2 of the 252 equally likely orders (under 1%); the second
//! condition keeps a small gap between two wide spreads from counting.
//!
//! For serious benchmarks use a harness such as `criterion`, which adds
//! outlier detection and more statistics; this kit only keeps the lessons
//! honest (warm-up, whole loops timed, `std::hint::black_box`, repeated runs).

// The lessons, each a page of this crate's documentation: rustdoc reads
// every lesson binary's source as a module of this library. Only rustdoc
// sees these modules (`cfg(doc)`, set by `cargo doc` and `cargo test
// --doc`), so no lesson is compiled twice. They are private, as the steps
// in them are: .cargo/config.toml has rustdoc document private items. The
// lessons name this library `module_06`, as their binaries do.
#[cfg(doc)]
extern crate self as module_06;
#[cfg(doc)]
#[path = "bin/lesson_01.rs"]
mod lesson_01;
#[cfg(doc)]
#[path = "bin/lesson_02.rs"]
mod lesson_02;
#[cfg(doc)]
#[path = "bin/lesson_03.rs"]
mod lesson_03;
#[cfg(doc)]
#[path = "bin/lesson_04.rs"]
mod lesson_04;
#[cfg(doc)]
#[path = "bin/lesson_05.rs"]
mod lesson_05;

use std::fmt;
use std::thread;
use std::time::{Duration, Instant};

/// Counted runs per measurement, after one uncounted warm-up.
pub const RUNS: usize = 5;

/// Threads for a contention demo: one per core this process may use, at
/// least two, so every thread could run at once and only the lock stops it.
pub fn thread_count() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

/// CPU work standing in for a task: `rounds` rounds of xorshift mixing of
/// `seed` (about a nanosecond each), a number below 1,000. `black_box` on
/// the count keeps the optimiser from precomputing it.
pub fn work(seed: u64, rounds: u32) -> u64 {
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    for _ in 0..std::hint::black_box(rounds) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x % 1_000
}

/// The line printed under every measured table: what the numbers depend on.
pub fn conditions() -> String {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    // Linux only; elsewhere the load is simply not shown.
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .map_or(String::new(), |l| format!(", load average {l} (1 min)"));
    let build = if cfg!(debug_assertions) {
        "debug assertions on: an unoptimised build distorts these numbers"
    } else {
        "optimised build"
    };
    let cores = if cores == 1 {
        "1 core".to_owned()
    } else {
        format!("{cores} cores")
    };
    format!("measured on {cores}{load}, {build}")
}

/// Runs `run` once to warm up, then `runs` more times, and returns what the
/// counted runs returned, in order.
pub fn repeat<T>(runs: usize, mut run: impl FnMut() -> T) -> Vec<T> {
    assert!(runs > 0, "at least one counted run");
    let _warm_up = run();
    (0..runs).map(|_| run()).collect()
}

/// [`repeat`] for several variants at once, taking turns: every variant
/// once to warm up, then `runs` rounds of every variant in order. Taking
/// turns spreads a burst of load from other programs over all variants
/// instead of letting it land on one. `run(v)` runs variant `v`; the result
/// holds each variant's counted runs.
pub fn repeat_each<T>(
    runs: usize,
    variants: usize,
    mut run: impl FnMut(usize) -> T,
) -> Vec<Vec<T>> {
    assert!(runs > 0, "at least one counted run");
    (0..variants).for_each(|v| drop(run(v)));
    let mut counted: Vec<Vec<T>> = (0..variants).map(|_| Vec::with_capacity(runs)).collect();
    for _ in 0..runs {
        for (v, runs) in counted.iter_mut().enumerate() {
            runs.push(run(v));
        }
    }
    counted
}

/// [`repeat_each`] for runs that time themselves: each variant's durations
/// in ms.
pub fn measure_each(
    runs: usize,
    variants: usize,
    mut run: impl FnMut(usize) -> Duration,
) -> Vec<Runs> {
    repeat_each(runs, variants, |v| run(v).as_secs_f64() * 1e3)
        .into_iter()
        .map(Runs::new)
        .collect()
}

/// [`repeat`] for a run that times itself (so that thread start-up or
/// set-up can stay outside the measured part): the durations in ms.
pub fn measure_ms(runs: usize, mut run: impl FnMut() -> Duration) -> Runs {
    Runs::new(repeat(runs, || run().as_secs_f64() * 1e3))
}

/// Times a closure from start to end.
pub fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

/// The counted runs of one measurement, in the unit the lesson chose (ms,
/// ns per operation, …), sorted.
#[derive(Debug, Clone, PartialEq)]
pub struct Runs {
    sorted: Vec<f64>,
}

impl Runs {
    pub fn new(values: impl IntoIterator<Item = f64>) -> Self {
        let mut sorted: Vec<f64> = values.into_iter().collect();
        assert!(!sorted.is_empty(), "at least one run");
        sorted.sort_by(f64::total_cmp);
        Self { sorted }
    }

    /// The middle run (the mean of the two middle ones for an even count).
    pub fn median(&self) -> f64 {
        let n = self.sorted.len();
        (self.sorted[(n - 1) / 2] + self.sorted[n / 2]) / 2.0
    }

    /// How many runs there are.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Never: a `Runs` holds at least one run.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The fastest (smallest) run.
    pub fn low(&self) -> f64 {
        self.sorted[0]
    }

    /// The slowest (largest) run.
    pub fn high(&self) -> f64 {
        self.sorted[self.sorted.len() - 1]
    }

    /// The same runs in another unit: `runs.map(|ms| ms * 1e6 / ops)`.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Self {
        Self::new(self.sorted.iter().map(|&v| f(v)))
    }

    /// The median with one decimal: a table cell.
    pub fn median_cell(&self) -> String {
        format!("{:.1}", self.median())
    }

    /// The spread, fastest to slowest run: a table cell.
    pub fn spread_cell(&self) -> String {
        format!("{:.1}–{:.1}", self.low(), self.high())
    }
}

/// How two measurements compare, smaller being better.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gap {
    /// The spreads overlap: these runs cannot tell the two apart.
    Unclear,
    /// Every run of the first is below every run of the second; `ratio` is
    /// the second's median over the first's.
    FirstLower { ratio: f64 },
    /// Every run of the second is below every run of the first.
    SecondLower { ratio: f64 },
}

/// Compares two measurements by their spreads (see the module's docs):
/// clear when the runs do not overlap and the medians lie further apart
/// than either spread is wide.
pub fn gap(first: &Runs, second: &Runs) -> Gap {
    let width = (first.high() - first.low()).max(second.high() - second.low());
    if (first.median() - second.median()).abs() <= width {
        Gap::Unclear
    } else if first.high() < second.low() {
        Gap::FirstLower {
            ratio: second.median() / first.median(),
        }
    } else if second.high() < first.low() {
        Gap::SecondLower {
            ratio: first.median() / second.median(),
        }
    } else {
        Gap::Unclear
    }
}

/// The `verdict:` line for two timings (smaller is faster), naming them
/// `first` and `second`.
pub fn verdict(first: &str, a: &Runs, second: &str, b: &Runs) -> String {
    match gap(a, b) {
        Gap::FirstLower { ratio } => {
            format!("verdict: {first}: {ratio:.1}× faster than {second} here")
        }
        Gap::SecondLower { ratio } => {
            format!("verdict: {second}: {ratio:.1}× faster than {first} here")
        }
        Gap::Unclear => format!(
            "verdict: no clear difference between {first} and {second} here: the spread is \
             larger than the gap"
        ),
    }
}

/// The index of the measurement that is below every other one beyond the
/// spread, if there is one: where a table may mark "best".
pub fn best(all: &[Runs]) -> Option<usize> {
    (0..all.len()).find(|&i| {
        all.len() > 1
            && all
                .iter()
                .enumerate()
                .all(|(j, other)| i == j || matches!(gap(&all[i], other), Gap::FirstLower { .. }))
    })
}

/// `"<- best"` for the row `i` that [`best`] picks, else nothing.
pub fn best_marker(all: &[Runs], i: usize) -> &'static str {
    if best(all) == Some(i) { "<- best" } else { "" }
}

/// The verdict on the fastest of several timings: against the runner-up.
pub fn verdict_on_fastest(named: &[(&str, &Runs)]) -> String {
    let mut by_median = named.to_vec();
    by_median.sort_by(|a, b| a.1.median().total_cmp(&b.1.median()));
    let [(first, a), (second, b), ..] = by_median[..] else {
        panic!("a verdict needs two measurements");
    };
    verdict(first, a, second, b)
}

/// Nanoseconds per operation.
pub fn ns_per_op(elapsed: Duration, ops: u64) -> f64 {
    elapsed.as_nanos() as f64 / ops.max(1) as f64
}

/// `12.3` for a duration in milliseconds, with one decimal.
pub fn fmt_ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}
/// A small plain-text table: the first column left-aligned, the others
/// right-aligned (they hold numbers).
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Self {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; it must have as many cells as there are headers.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        let cells: Vec<String> = cells.into_iter().map(Into::into).collect();
        assert_eq!(cells.len(), self.headers.len(), "one cell per column");
        self.rows.push(cells);
        self
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|c| {
                std::iter::once(&self.headers[c])
                    .chain(self.rows.iter().map(|r| &r[c]))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String]| -> fmt::Result {
            let mut text = String::new();
            for (c, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                if c == 0 {
                    text += &format!("{cell:<width$}");
                } else {
                    text += &format!("  {cell:>width$}");
                }
            }
            // An empty last column (a marker most rows lack) adds no blanks.
            writeln!(f, "{}", text.trim_end())
        };
        line(f, &self.headers)?;
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        line(f, &rule)?;
        for row in &self.rows {
            line(f, row)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut table = Table::new(["variant", "ns/op"]);
        table.row(["a", "1.0"]).row(["longer", "123.4"]);
        assert_eq!(
            table.to_string(),
            "variant  ns/op\n-------  -----\na          1.0\nlonger   123.4\n"
        );
    }

    #[test]
    fn repeat_skips_the_warm_up() {
        let mut calls = 0;
        let counted = repeat(3, || {
            calls += 1;
            calls
        });
        assert_eq!(counted, [2, 3, 4], "the first call is the warm-up");
    }

    #[test]
    fn variants_take_turns_after_one_warm_up_each() {
        let mut order = Vec::new();
        let counted = repeat_each(2, 3, |v| {
            order.push(v);
            order.len()
        });
        assert_eq!(order, [0, 1, 2, 0, 1, 2, 0, 1, 2]);
        assert_eq!(counted, [vec![4, 7], vec![5, 8], vec![6, 9]]);
    }

    #[test]
    fn runs_give_median_and_spread() {
        let runs = Runs::new([5.0, 3.0, 40.0, 4.0, 1.0]);
        assert_eq!((runs.median(), runs.low(), runs.high()), (4.0, 1.0, 40.0));
        assert_eq!(runs.spread_cell(), "1.0–40.0");
        assert_eq!(Runs::new([1.0, 2.0, 3.0, 10.0]).median(), 2.5);
        assert_eq!(runs.map(|v| v * 2.0).median(), 8.0);
    }

    #[test]
    fn a_known_sleep_is_measured_as_about_that_sleep() {
        // A sleep lasts at least what was asked; the bound above is loose,
        // for a loaded machine.
        let runs = measure_ms(3, || time(|| thread::sleep(Duration::from_millis(20))).1);
        assert!(runs.low() >= 20.0, "{runs:?}");
        assert!(runs.median() < 1_000.0, "{runs:?}");
    }

    #[test]
    fn a_clear_gap_gives_faster_and_an_overlap_gives_no_clear_difference() {
        let fast = Runs::new([10.0, 11.0, 12.0, 10.5, 11.5]);
        let slow = Runs::new([25.0, 22.0, 30.0, 23.0, 24.0]);
        assert_eq!(
            verdict("split", &fast, "coarse", &slow),
            "verdict: split: 2.2× faster than coarse here"
        );
        assert_eq!(
            verdict("coarse", &slow, "split", &fast),
            "verdict: split: 2.2× faster than coarse here"
        );
        // One slow run of the faster variant reaches into the other's spread.
        let noisy = Runs::new([10.0, 11.0, 12.0, 10.5, 23.5]);
        assert_eq!(gap(&noisy, &slow), Gap::Unclear);
        // Apart, but the gap (21.5 - 12) is smaller than a spread (20 - 10).
        let wide = Runs::new([10.0, 11.0, 12.0, 13.0, 20.0]);
        let near = Runs::new([20.5, 21.0, 21.5, 22.0, 22.5]);
        assert_eq!(gap(&wide, &near), Gap::Unclear);
        let nearer = Runs::new([20.5, 21.0, 22.5, 23.0, 23.5]);
        assert_eq!(gap(&wide, &nearer), Gap::FirstLower { ratio: 22.5 / 12.0 });
        assert!(
            verdict("split", &noisy, "coarse", &slow)
                .starts_with("verdict: no clear difference between split and coarse here")
        );
    }

    #[test]
    fn best_only_beyond_the_spread() {
        let a = Runs::new([10.0, 12.0]);
        let b = Runs::new([20.0, 22.0]);
        let c = Runs::new([11.0, 30.0]);
        assert_eq!(best(&[b.clone(), a.clone()]), Some(1));
        assert_eq!(best(&[a.clone(), b.clone(), c]), None, "c overlaps a");
        assert_eq!(best(std::slice::from_ref(&b)), None, "nothing to beat");
        let slowest = Runs::new([40.0, 41.0]);
        assert_eq!(
            verdict_on_fastest(&[("b", &b), ("slowest", &slowest), ("a", &a)]),
            "verdict: a: 1.9× faster than b here"
        );
    }

    #[test]
    fn ns_per_op_divides() {
        assert_eq!(ns_per_op(Duration::from_micros(1), 10), 100.0);
        assert!(conditions().starts_with("measured on "));
    }
}
