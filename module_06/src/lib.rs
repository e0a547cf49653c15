//! The measuring kit every lesson of module 6 shares: which build profile is
//! running, a warmed-up median timer, and a plain-text table.
//!
//! Every lesson here prints timings. They are printed, never asserted: they
//! depend on the machine, its load and the build profile. In the dev profile
//! (opt-level 1, debug assertions and overflow checks on) every number is
//! distorted, the cheap operations most of all; for numbers worth comparing
//! run the lesson with `--release`:
//!
//! `cargo run --release -p module_06 --bin lesson_05`
//!
//! For serious benchmarks use a harness such as `criterion`, which adds
//! statistics and outlier detection; this kit only keeps the lessons honest
//! (warm-up, whole loops timed, `std::hint::black_box`, median of runs).

use std::fmt;
use std::time::{Duration, Instant};

/// The build profile this binary was compiled in, for the table's footer.
pub fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "dev (debug assertions on)"
    } else {
        "release"
    }
}

/// The line printed under every table: the profile, and in a dev build a
/// warning with the command that gives meaningful numbers.
pub fn profile_note(bin: &str) -> String {
    if cfg!(debug_assertions) {
        format!(
            "profile: {} -- debug builds distort these numbers; for real ones run \
             `cargo run --release -p module_06 --bin {bin}`",
            profile()
        )
    } else {
        format!("profile: {}", profile())
    }
}

/// Runs `run` once to warm up (caches, page faults, lazily started threads,
/// CPU frequency), then `rounds` more times, and returns the median of the
/// durations `run` reports. `run` times itself, so that thread start-up or
/// set-up can stay outside the measured part.
pub fn median_of<F: FnMut() -> Duration>(rounds: usize, mut run: F) -> Duration {
    assert!(rounds > 0, "at least one measured round");
    let _ = run();
    let mut times: Vec<Duration> = (0..rounds).map(|_| run()).collect();
    times.sort_unstable();
    times[times.len() / 2]
}

/// Times a closure from start to end; a shorthand for the common case of
/// [`median_of`] where the whole closure is the measured part.
pub fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

/// Nanoseconds per operation.
pub fn ns_per_op(elapsed: Duration, ops: u64) -> f64 {
    elapsed.as_nanos() as f64 / ops.max(1) as f64
}

/// `12.3` for nanoseconds, with one decimal.
pub fn fmt_ns(ns: f64) -> String {
    format!("{ns:.1}")
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
            for (c, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                let sep = if c == 0 { "" } else { "  " };
                if c == 0 {
                    write!(f, "{sep}{cell:<width$}")?;
                } else {
                    write!(f, "{sep}{cell:>width$}")?;
                }
            }
            writeln!(f)
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
    fn median_skips_the_warm_up_and_takes_the_middle() {
        let mut calls = 0u64;
        let median = median_of(3, || {
            calls += 1;
            // Warm-up 1 ms (ignored), then 5, 3 and 4 ms.
            Duration::from_millis([1, 5, 3, 4][calls as usize - 1])
        });
        assert_eq!(calls, 4);
        assert_eq!(median, Duration::from_millis(4));
    }

    #[test]
    fn ns_per_op_divides() {
        assert_eq!(ns_per_op(Duration::from_micros(1), 10), 100.0);
        assert!(profile_note("lesson_05").starts_with("profile: "));
    }
}
