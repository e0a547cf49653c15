//! Lesson 9.9 — Many arguments, blocking (starmap) («Синхронная обработка задач с множеством аргументов»)
//!
//! `pool.starmap(f, [(a, b), …])` is `map` for functions of several
//! arguments: each tuple is unpacked into the call. Rust closures destructure
//! tuples in their parameter list, so the counterpart is a `par_iter` whose
//! closure takes `&(a, b)`; parallel sequences are paired with `zip`.
//!
//! | Python                                        | Rust                                                             |
//! |-----------------------------------------------|------------------------------------------------------------------|
//! | `pool.starmap(pow, [(2, 5), (3, 2)])`         | `pairs.par_iter().map(\|&(b, e)\| b.pow(e)).collect()`             |
//! | `pool.starmap(f, zip(prices, quantities))`    | `prices.par_iter().zip(&quantities).map(\|(p, q)\| p * q)`         |
//! | `pool.starmap(f, [(x, lo, hi), …])`           | `triples.par_iter().map(\|&(x, lo, hi)\| x.clamp(lo, hi))`         |
//! | `pool.map(partial(f, rate), items)`           | a closure capturing `rate`: `items.par_iter().map(\|&x\| f(rate, x))` |
//! | `starmap` raises the first exception          | `collect::<Result<Vec<_>, _>>()`                                 |
//!
//! Python's pool runs the tasks in worker processes; this lesson runs them
//! on rayon's threads. Python needs processes because its GIL lets one
//! thread at a time run Python code; Rust's threads run in parallel on every
//! core, so a thread pool is the Rust equivalent (9.1, 9.2 and 9.13 show
//! real processes, for isolation).
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_09`
//! - Run one step:  `cargo run -p module_09 --bin lesson_09 -- zip_two_lists`
//!
//! Try: change `(7, 0)` in `PAIRS` to `(0, 0)` and run `-- powers`:
//! `pow(0, 0) = 1`, as Python's `0 ** 0`.

use std::process::ExitCode;

use rayon::prelude::*;
use step_runner::{Step, lesson_id};

/// `pool.starmap(pow, pairs)`: base and exponent in each tuple.
fn powers(pairs: &[(u64, u32)]) -> Vec<u64> {
    pairs.par_iter().map(|&(base, exp)| base.pow(exp)).collect()
}

fn show_powers() {
    for (&(base, exp), result) in PAIRS.iter().zip(powers(&PAIRS)) {
        println!("pow({base}, {exp}) = {result}");
    }
}

/// `pool.starmap(line_total, zip(prices, quantities))`: two lists, paired.
/// rayon's `zip` stops at the shorter list, like Python's `zip`.
fn zip_two_lists(prices_cents: &[u64], quantities: &[u64]) -> Vec<u64> {
    prices_cents
        .par_iter()
        .zip(quantities)
        .map(|(price, quantity)| price * quantity)
        .collect()
}

fn show_zip_two_lists() {
    let totals = zip_two_lists(&PRICES_CENTS, &QUANTITIES);
    println!("line totals in cents: {totals:?}");
    println!("order total: {} cents", totals.iter().sum::<u64>());
}

/// Three arguments per task: keep each reading within its sensor's range.
fn clamp_readings(triples: &[(i32, i32, i32)]) -> Vec<i32> {
    triples
        .par_iter()
        .map(|&(value, low, high)| value.clamp(low, high))
        .collect()
}

/// One fixed argument and one varying: `partial(f, rate)` is a closure.
fn with_fixed_argument(rate_percent: u64, amounts: &[u64]) -> Vec<u64> {
    amounts
        .par_iter()
        .map(|&amount| amount * rate_percent / 100)
        .collect()
}

/// A failing call fails the whole `starmap`.
fn checked_divisions(pairs: &[(i64, i64)]) -> Result<Vec<i64>, String> {
    pairs
        .par_iter()
        .map(|&(a, b)| {
            a.checked_div(b)
                .ok_or_else(|| format!("{a} / {b}: division by zero"))
        })
        .collect()
}

fn show_checked_divisions() {
    println!("{:?}", checked_divisions(&[(10, 2), (9, 3)]));
    println!("{:?}", checked_divisions(&[(10, 2), (1, 0), (9, 3)]));
}

const PAIRS: [(u64, u32); 5] = [(2, 5), (3, 2), (10, 3), (7, 0), (2, 10)];
const PRICES_CENTS: [u64; 4] = [1999, 550, 12000, 75];
const QUANTITIES: [u64; 4] = [3, 10, 1, 40];
const READINGS: [(i32, i32, i32); 4] = [(105, 0, 100), (-7, 0, 100), (42, 0, 100), (19, 20, 25)];

fn show_three_arguments() {
    println!("{READINGS:?} → {:?}", clamp_readings(&READINGS));
}

fn show_fixed_argument() {
    println!(
        "20% of [100, 250, 999]: {:?}",
        with_fixed_argument(20, &[100, 250, 999])
    );
}

const TITLE: &str = "Lesson 9.9 — Many arguments, blocking (starmap) («Синхронная обработка задач с множеством аргументов»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("powers", "starmap(pow, pairs): one tuple per call", show_powers),
        Step::new("zip_two_lists", "starmap over zip(prices, quantities)", show_zip_two_lists),
        Step::new("three_arguments", "tuples of three: clamp(value, low, high)", show_three_arguments),
        Step::new("fixed_argument", "partial(f, rate) is a capturing closure", show_fixed_argument),
        Step::new("checked_divisions", "one failing call fails the starmap", show_checked_divisions),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_in_order() {
        assert_eq!(powers(&PAIRS), vec![32, 9, 1000, 1, 1024]);
        let many: Vec<(u64, u32)> = (0..1000).map(|i| (i % 7 + 1, (i % 5) as u32)).collect();
        let expected: Vec<u64> = many.iter().map(|&(b, e)| b.pow(e)).collect();
        assert_eq!(powers(&many), expected);
    }

    #[test]
    fn zip_pairs_and_stops_at_the_shorter_list() {
        assert_eq!(
            zip_two_lists(&PRICES_CENTS, &QUANTITIES),
            vec![5997, 5500, 12000, 3000]
        );
        assert_eq!(zip_two_lists(&[1, 2, 3], &[10, 10]), vec![10, 20]);
    }

    #[test]
    fn three_and_fixed_arguments() {
        assert_eq!(clamp_readings(&READINGS), vec![100, 0, 42, 20]);
        assert_eq!(with_fixed_argument(20, &[100, 250, 999]), vec![20, 50, 199]);
    }

    #[test]
    fn a_division_by_zero_fails_the_starmap() {
        assert_eq!(checked_divisions(&[(10, 2), (9, 3)]), Ok(vec![5, 3]));
        assert_eq!(
            checked_divisions(&[(10, 2), (1, 0), (9, 3)]),
            Err("1 / 0: division by zero".to_owned())
        );
    }
}
