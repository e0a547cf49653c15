//! Timings a learner can compare: one uncounted warm-up run, then several
//! counted runs, reported as the median and the spread (fastest–slowest).
//! Alternatives compared with each other are timed in alternating rounds
//! ([`time_rounds`]).
//!
//! The median, not the mean: one run slowed by another program on the
//! machine moves the mean but not the median. The spread is the range of
//! the middle runs (of 5 runs, the 2nd to the 4th fastest; of 3 or fewer,
//! all of them), for the same reason: one disturbed run should neither
//! hide a gap nor invent one. Two timings differ *clearly* only when the
//! gap between their medians is larger than the spread of each; otherwise
//! the verdict says "no clear difference". Merely non-overlapping ranges
//! are not enough: five runs each, under shifting load, can miss each other
//! by a hair.
//!
//! What the numbers depend on: the number of cores, what else the machine
//! is running, and the build: `cargo run` builds module 9 with the
//! workspace's dev profile (opt-level 1, debug assertions on).

use std::fmt;
use std::time::{Duration, Instant};

/// The counted runs of one measurement, fastest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    runs: Vec<Duration>,
}

impl Timing {
    /// Timings given as numbers (for tests and for per-item samples).
    ///
    /// # Panics
    /// If `runs` is empty: a measurement needs at least one run.
    pub fn from_runs(mut runs: Vec<Duration>) -> Self {
        assert!(!runs.is_empty(), "a timing needs at least one run");
        runs.sort_unstable();
        Timing { runs }
    }

    /// The middle run (the lower middle for an even count).
    pub fn median(&self) -> Duration {
        self.runs[(self.runs.len() - 1) / 2]
    }

    pub fn fastest(&self) -> Duration {
        self.runs[0]
    }

    pub fn slowest(&self) -> Duration {
        self.runs[self.runs.len() - 1]
    }

    pub fn count(&self) -> usize {
        self.runs.len()
    }

    /// The fastest and the slowest of the middle runs: a quarter of the
    /// runs (rounded down) left off at each end.
    pub fn middle(&self) -> (Duration, Duration) {
        let cut = self.runs.len() / 4;
        (self.runs[cut], self.runs[self.runs.len() - 1 - cut])
    }

    /// The width of the middle runs' range.
    pub fn spread(&self) -> Duration {
        let (low, high) = self.middle();
        high - low
    }

    /// True when `self`'s median is below `other`'s by more than the spread
    /// of either.
    pub fn clearly_faster_than(&self, other: &Timing) -> bool {
        other
            .median()
            .checked_sub(self.median())
            .is_some_and(|gap| gap > self.spread() && gap > other.spread())
    }
}

/// `12.30ms (11.90ms–14.02ms)`: the median, then the middle runs' range.
impl fmt::Display for Timing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (low, high) = self.middle();
        write!(f, "{:.2?} ({low:.2?}–{high:.2?})", self.median())
    }
}

/// Runs `work` once uncounted (warm-up: caches, lazily started threads),
/// then `runs` times counted. Returns the timing and the last run's result.
///
/// # Panics
/// If `runs` is 0.
pub fn time_runs<T>(runs: usize, mut work: impl FnMut() -> T) -> (Timing, T) {
    assert!(runs > 0, "count at least one run");
    let mut result = work();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        result = work();
        times.push(started.elapsed());
    }
    (Timing::from_runs(times), result)
}

/// Times `n` alternatives against each other: `work(i)` runs alternative
/// `i`. One uncounted warm-up round, then `runs` rounds, each running every
/// alternative once, so a burst of load from another program falls on all
/// of them alike instead of on whichever was being timed at that moment.
/// Returns, per alternative, its timing and its last result.
///
/// # Panics
/// If `runs` is 0.
pub fn time_rounds<T>(runs: usize, n: usize, mut work: impl FnMut(usize) -> T) -> Vec<(Timing, T)> {
    assert!(runs > 0, "count at least one run");
    let mut results: Vec<T> = (0..n).map(&mut work).collect();
    let mut times = vec![Vec::with_capacity(runs); n];
    for _ in 0..runs {
        for (i, result) in results.iter_mut().enumerate() {
            let started = Instant::now();
            *result = work(i);
            times[i].push(started.elapsed());
        }
    }
    times
        .into_iter()
        .map(Timing::from_runs)
        .zip(results)
        .collect()
}

/// The sentence for two timings whose gap is within their spread.
pub const NO_CLEAR_DIFFERENCE: &str = "no clear difference here: the spread is larger than the gap";

/// "`a`: 1.9× faster than `b` here", the other way round, or no clear
/// difference, from the two timings' medians and spreads.
pub fn faster_verdict(a: &str, a_time: &Timing, b: &str, b_time: &Timing) -> String {
    let ratio = |slow: &Timing, fast: &Timing| {
        slow.median().as_secs_f64() / fast.median().as_secs_f64().max(1e-9)
    };
    if a_time.clearly_faster_than(b_time) {
        format!("{a}: {:.1}× faster than {b} here", ratio(b_time, a_time))
    } else if b_time.clearly_faster_than(a_time) {
        format!("{b}: {:.1}× faster than {a} here", ratio(a_time, b_time))
    } else {
        NO_CLEAR_DIFFERENCE.to_string()
    }
}

/// "`a` cost 2.10ms more than `b` here" (the gap between the medians), the
/// other way round, or no clear difference.
pub fn cost_verdict(a: &str, a_time: &Timing, b: &str, b_time: &Timing, what: &str) -> String {
    if b_time.clearly_faster_than(a_time) {
        let gap = a_time.median() - b_time.median();
        format!("{a} cost {gap:.2?} more {what} than {b} here")
    } else if a_time.clearly_faster_than(b_time) {
        let gap = b_time.median() - a_time.median();
        format!("{b} cost {gap:.2?} more {what} than {a} here")
    } else {
        NO_CLEAR_DIFFERENCE.to_string()
    }
}

/// The index of the timing that beat every other one beyond the spread, if
/// there is one: only that row deserves a "best" marker.
pub fn clear_winner(timings: &[&Timing]) -> Option<usize> {
    let (best, fastest) = timings.iter().enumerate().min_by_key(|(_, t)| t.median())?;
    timings
        .iter()
        .enumerate()
        .all(|(i, t)| i == best || fastest.clearly_faster_than(t))
        .then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(runs: &[u64]) -> Timing {
        Timing::from_runs(runs.iter().map(|&m| Duration::from_millis(m)).collect())
    }

    #[test]
    fn a_known_sleep_is_reported_about_right_and_the_warm_up_is_not_counted() {
        let nap = Duration::from_millis(20);
        let mut calls = 0;
        let (t, last) = time_runs(3, || {
            calls += 1;
            std::thread::sleep(nap);
            calls
        });
        assert_eq!((calls, last, t.count()), (4, 4, 3));
        // A sleep lasts at least its time; the upper bound is generous for
        // a loaded machine.
        assert!(t.fastest() >= nap, "{t}");
        assert!(t.median() < nap * 25, "{t}");
    }

    #[test]
    fn rounds_time_each_alternative_in_turn() {
        let naps = [Duration::from_millis(5), Duration::from_millis(30)];
        let mut order = Vec::new();
        let timed = time_rounds(2, 2, |i| {
            order.push(i);
            std::thread::sleep(naps[i]);
            i * 10
        });
        // The warm-up round, then two counted rounds, each alternative in turn.
        assert_eq!(order, [0, 1, 0, 1, 0, 1]);
        let [(short, 0), (long, 10)] = &timed[..] else {
            panic!("{timed:?}")
        };
        assert_eq!((short.count(), long.count()), (2, 2));
        assert!(short.fastest() >= naps[0] && long.fastest() >= naps[1]);
        assert!(short.median() < naps[0] * 25 && long.median() < naps[1] * 25);
    }

    #[test]
    fn the_median_and_the_spread_come_from_the_runs() {
        let t = ms(&[30, 10, 50, 20, 40]);
        assert_eq!(t.median(), Duration::from_millis(30));
        assert_eq!(t.fastest(), Duration::from_millis(10));
        assert_eq!(t.slowest(), Duration::from_millis(50));
        assert_eq!(ms(&[40, 10, 20, 30]).median(), Duration::from_millis(20));
        // The spread leaves one disturbed run of five out.
        let (low, high) = t.middle();
        assert_eq!(
            (low, high),
            (Duration::from_millis(20), Duration::from_millis(40))
        );
        assert_eq!(ms(&[10, 20, 30]).spread(), Duration::from_millis(20));
    }

    #[test]
    fn a_clear_gap_gives_faster_and_an_overlap_gives_no_clear_difference() {
        let fast = ms(&[9, 10, 12]);
        let slow = ms(&[19, 20, 22]);
        let overlapping = ms(&[11, 20, 21]);
        assert_eq!(
            faster_verdict("two", &fast, "one", &slow),
            "two: 2.0× faster than one here"
        );
        assert_eq!(
            faster_verdict("one", &slow, "two", &fast),
            "two: 2.0× faster than one here"
        );
        assert_eq!(
            faster_verdict("two", &fast, "one", &overlapping),
            NO_CLEAR_DIFFERENCE
        );
        // Ranges that miss each other by a hair, with a gap smaller than the
        // spread (9.2's table under load: 361–391 ms against 208–352 ms).
        let (one, two) = (ms(&[361, 369, 391]), ms(&[208, 337, 352]));
        assert_eq!(
            faster_verdict("two", &two, "one", &one),
            NO_CLEAR_DIFFERENCE
        );
        assert_eq!(
            cost_verdict("processes", &slow, "threads", &fast, "to start"),
            "processes cost 10.00ms more to start than threads here"
        );
        assert_eq!(
            cost_verdict("processes", &overlapping, "threads", &fast, "to start"),
            NO_CLEAR_DIFFERENCE
        );
    }

    #[test]
    fn only_a_winner_beyond_the_spread_is_marked() {
        let (a, b, c) = (ms(&[10, 12]), ms(&[20, 21]), ms(&[25, 30]));
        assert_eq!(clear_winner(&[&b, &a, &c]), Some(1));
        let close = ms(&[11, 14]);
        assert_eq!(clear_winner(&[&b, &a, &close]), None);
        assert_eq!(clear_winner(&[]), None);
    }
}
