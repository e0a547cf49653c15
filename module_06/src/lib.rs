//! Module 6 — Advanced locking
//!
//! Five lessons on what locks cost and how to pay less: contention, striping,
//! splitting, retry with back-off, and the raw overhead of each primitive.
//! Timings are printed, never asserted; the tests check that every variant
//! computes the right result.
//!
//! # Lessons
//!
//! Each lesson is a page: the `lesson_NN` modules listed below, in course
//! order. A page opens with the lesson's header (what it teaches, the
//! Python → Rust table, how to run it, what to try) and lists the lesson's
//! steps, the functions its `main` runs, each with its doc; "Source" shows
//! the code. Run a lesson with `cargo run -p module_06 --bin lesson_NN`.
//!
//! # Also in this library
//!
//! What module 6's lessons share besides the measuring kit: the thread
//! count and the stand-in work of the contention demos, and a plain-text
//! table.
//!
//! Every lesson here prints timings, taken with the workspace's measuring
//! kit (the `measure` crate: an uncounted warm-up round, rounds that take
//! turns, the median and spread, a verdict that compares the variants round
//! by round). They are printed, never asserted: they depend on the cores
//! free for the run, on what else the machine is doing, and on the build.
//! `cargo run -p module_06 …` already builds this package (and
//! parking_lot, lock_api and crossbeam-utils, which it measures) at
//! opt-level 3 without debug assertions or overflow checks: the root
//! Cargo.toml's `[profile.dev.package.module_06]`; `--release` is not
//! needed.

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
}
