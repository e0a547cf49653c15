//! The measuring kit of the lessons that time things (modules 2, 6 and 9):
//! repeated rounds, a median and a spread per variant, and a `verdict:`
//! worked out from the numbers.
//!
//! One run is one sample, and on a shared or busy machine one sample can
//! mislead. So a measurement goes like this:
//!
//! - **Warm-up.** Every variant runs once uncounted: the heap growing, the
//!   kernel mapping fresh pages, lazily started threads and the CPU's clock
//!   speed would otherwise fall on whichever variant ran first.
//! - **Rounds.** Then [`RUNS`] counted rounds (or as many as the lesson
//!   asks), each running every variant once, in turn. A burst of load from
//!   another program then falls on one round, and on the variants of that
//!   round alike, instead of on whichever variant was being timed.
//! - **Median and spread.** A table shows each variant's median run (one
//!   lucky or one disturbed run does not move it) and its spread, from the
//!   fastest to the slowest counted run. The median, not the minimum: these
//!   lessons are about threads, and the waiting other threads cause is part
//!   of what is measured, not noise to discard.
//!
//! ## When one variant counts as faster: round by round
//!
//! The two runs of one round ran back to back, under the same load, so the
//! verdict compares them pair by pair rather than comparing two piles of
//! runs taken at different moments ([`gap`]). `a` counts as **clearly
//! faster** than `b` when both hold:
//!
//! 1. `a` was faster in at least [`wins_needed`] of the rounds: so many that
//!    two equally fast variants, each round a coin flip, would get there by
//!    chance at most once in 16 measurements, either way round (all 5 of 5
//!    rounds, 8 of 9, 9 of 10). Fewer than five rounds can never show that,
//!    and are always "no clear difference".
//! 2. The median of the rounds' ratios (`b`'s time over `a`'s) is at least
//!    [`CLEAR_RATIO`] (1.1×): a difference of a few per cent comes and goes
//!    with what else the machine runs, and is not called.
//!
//! Otherwise the verdict is "no clear difference" and says which condition
//! failed. The rule needs no assumption about how the noise is shaped: a
//! whole round slowed by another program (both variants at once) does not
//! change who won it, and one round lost to a burst of load costs a clear
//! verdict only where the lesson runs five rounds (with nine rounds, one lost
//! round is allowed). A "best" marker goes only to a row that is clearly
//! faster than every other row ([`best`]).
//!
//! For serious benchmarks use a harness such as `criterion`, which adds
//! outlier detection and more statistics; this kit only keeps the lessons
//! honest: warm-up, whole loops timed, repeated rounds, a computed verdict.

use std::borrow::Borrow;
use std::fmt;
use std::thread;
use std::time::{Duration, Instant};

use step_runner::Sink;

/// Counted rounds per measurement, after one uncounted warm-up round.
pub const RUNS: usize = 5;

/// Counted rounds for a comparison that must hold up on a busy machine:
/// with nine rounds a verdict needs 8 wins ([`wins_needed`]), so one round
/// lost to a burst of load no longer hides a real difference, while chance
/// still gets there at most once in 16 times (4 in 100).
pub const RUNS_UNDER_LOAD: usize = 9;

/// The smallest ratio of medians a verdict calls a difference: 1.1×.
pub const CLEAR_RATIO: f64 = 1.1;

/// Times a closure from start to end.
pub fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

/// Nanoseconds per operation.
pub fn ns_per_op(elapsed: Duration, ops: u64) -> f64 {
    elapsed.as_nanos() as f64 / ops.max(1) as f64
}

/// Which round a round's results belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// The uncounted first round.
    WarmUp,
    /// Counted round `n` (from 1) of `of`.
    Counted { n: usize, of: usize },
}

impl fmt::Display for Round {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Round::WarmUp => f.write_str("warm-up, not counted"),
            Round::Counted { n, of } => write!(f, "run {n} of {of}"),
        }
    }
}

/// Runs every variant once uncounted, then `runs` rounds of every variant
/// in turn (`run(v)` runs variant `v`), and hands each round's results, in
/// the order of the variants, to `after_round` as the round ends. Returns
/// each variant's counted results, in round order.
///
/// # Panics
/// If `runs` is 0.
pub fn take_turns<T>(
    runs: usize,
    variants: usize,
    mut run: impl FnMut(usize) -> T,
    mut after_round: impl FnMut(Round, &[T]),
) -> Vec<Vec<T>> {
    assert!(runs > 0, "at least one counted run");
    let warm_up: Vec<T> = (0..variants).map(&mut run).collect();
    after_round(Round::WarmUp, &warm_up);
    drop(warm_up);
    let mut counted: Vec<Vec<T>> = (0..variants).map(|_| Vec::with_capacity(runs)).collect();
    for n in 1..=runs {
        let row: Vec<T> = (0..variants).map(&mut run).collect();
        after_round(Round::Counted { n, of: runs }, &row);
        for (runs_of_one, result) in counted.iter_mut().zip(row) {
            runs_of_one.push(result);
        }
    }
    counted
}

/// [`take_turns`] without a look at each round.
pub fn repeat_each<T>(runs: usize, variants: usize, run: impl FnMut(usize) -> T) -> Vec<Vec<T>> {
    take_turns(runs, variants, run, |_, _| {})
}

/// One variant: runs `run` once to warm up, then `runs` more times, and
/// returns what the counted runs returned, in order.
pub fn repeat<T>(runs: usize, mut run: impl FnMut() -> T) -> Vec<T> {
    repeat_each(runs, 1, |_| run()).pop().expect("one variant")
}

/// [`repeat`] for a run that times itself: its times, in ms.
pub fn measure_ms(runs: usize, mut run: impl FnMut() -> Duration) -> Runs {
    Runs::from_durations(repeat(runs, &mut run))
}

/// Times `work(i)` for `n` alternatives in turn, a whole call each: one
/// warm-up round, then `runs` rounds, noting each round's times on `sink` as
/// the round ends, as [`rounds`] does. Returns, per alternative, its times
/// and the result of its last run.
pub fn time_rounds<T>(
    sink: &Sink,
    runs: usize,
    n: usize,
    mut work: impl FnMut(usize) -> T,
) -> Vec<(Runs, T)> {
    take_turns(
        runs,
        n,
        |i| time(|| work(i)),
        |round, row| note_round(sink, round, row.iter().map(|&(_, d)| d)),
    )
    .into_iter()
    .map(|timed| {
        let (results, times): (Vec<T>, Vec<Duration>) = timed.into_iter().unzip();
        let last = results.into_iter().last().expect("at least one run");
        (Runs::from_durations(times), last)
    })
    .collect()
}

/// [`take_turns`] over a list of configurations, for runs that time
/// themselves (so that set-up, such as starting threads, can stay outside
/// the measured part), noting each round's times on `sink` as the round
/// ends (`  warm-up, not counted:   12.3   45.6`), so the reader sees the
/// measurement go. Returns each configuration's times, in ms.
pub fn rounds<C: Copy>(
    sink: &Sink,
    configs: &[C],
    runs: usize,
    mut measure: impl FnMut(C) -> Duration,
) -> Vec<Runs> {
    take_turns(
        runs,
        configs.len(),
        |i| measure(configs[i]),
        |round, row| note_round(sink, round, row.iter().copied()),
    )
    .into_iter()
    .map(Runs::from_durations)
    .collect()
}

/// One line per round: `  warm-up, not counted:   12.3   45.6`.
fn note_round(sink: &Sink, round: Round, times: impl Iterator<Item = Duration>) {
    let cells: String = times.map(|d| format!("{:>8}", ms(d))).collect();
    sink.note(format!("  {:>20}:{cells}", round.to_string()));
}

/// The counted runs of one variant, in the order of the rounds, in the unit
/// the lesson chose (ms for times, or ns per operation, …); smaller is
/// better.
#[derive(Debug, Clone, PartialEq)]
pub struct Runs {
    in_rounds: Vec<f64>,
    sorted: Vec<f64>,
    /// The values are milliseconds of wall time: shown as durations.
    times: bool,
}

impl Runs {
    /// Runs given as numbers, in round order.
    ///
    /// # Panics
    /// If there are none: a measurement needs at least one run.
    pub fn new(values: impl IntoIterator<Item = f64>) -> Self {
        let in_rounds: Vec<f64> = values.into_iter().collect();
        assert!(!in_rounds.is_empty(), "at least one run");
        let mut sorted = in_rounds.clone();
        sorted.sort_by(f64::total_cmp);
        Self {
            in_rounds,
            sorted,
            times: false,
        }
    }

    /// Timed runs, in round order; kept in ms and shown as durations.
    pub fn from_durations(times: impl IntoIterator<Item = Duration>) -> Self {
        Self {
            times: true,
            ..Self::new(times.into_iter().map(|d| d.as_secs_f64() * 1e3))
        }
    }

    /// The runs in the order of the rounds.
    pub fn in_rounds(&self) -> &[f64] {
        &self.in_rounds
    }

    /// How many runs there are.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Never: a `Runs` holds at least one run.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The middle run (the mean of the two middle ones for an even count).
    pub fn median(&self) -> f64 {
        let n = self.sorted.len();
        (self.sorted[(n - 1) / 2] + self.sorted[n / 2]) / 2.0
    }

    /// The fastest (smallest) run.
    pub fn low(&self) -> f64 {
        self.sorted[0]
    }

    /// The slowest (largest) run.
    pub fn high(&self) -> f64 {
        self.sorted[self.sorted.len() - 1]
    }

    /// The median of timed runs as a duration.
    pub fn median_time(&self) -> Duration {
        duration_of_ms(self.median())
    }

    /// The fastest of timed runs as a duration.
    pub fn fastest_time(&self) -> Duration {
        duration_of_ms(self.low())
    }

    /// The slowest of timed runs as a duration.
    pub fn slowest_time(&self) -> Duration {
        duration_of_ms(self.high())
    }

    /// The same runs in another unit, in the same round order:
    /// `runs.map(|ms| ms * 1e6 / ops)`.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Self {
        Self::new(self.in_rounds.iter().map(|&v| f(v)))
    }

    /// The median with one decimal: a table cell.
    pub fn median_cell(&self) -> String {
        format!("{:.1}", self.median())
    }

    /// The spread, fastest to slowest run, with one decimal: a table cell.
    pub fn spread_cell(&self) -> String {
        format!("{:.1}–{:.1}", self.low(), self.high())
    }

    /// Timed runs in a fixed-width column of milliseconds:
    /// `   1608 ms (1604–1612)`.
    pub fn ms_summary(&self) -> String {
        let [median, low, high] = [self.median(), self.low(), self.high()].map(ms_text);
        format!("{median:>7} ms ({low}–{high})")
    }
}

/// The median, then the spread from the fastest to the slowest run: for
/// timed runs `12.30ms (11.90ms–14.02ms)`, else `12.3 (11.9–14.0)`.
impl fmt::Display for Runs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.times {
            let [median, low, high] = [self.median(), self.low(), self.high()].map(duration_of_ms);
            write!(f, "{median:.2?} ({low:.2?}–{high:.2?})")
        } else {
            write!(f, "{} ({})", self.median_cell(), self.spread_cell())
        }
    }
}

fn duration_of_ms(ms: f64) -> Duration {
    Duration::from_secs_f64(ms.max(0.0) / 1e3)
}

/// Milliseconds, to a tenth below 100 ms.
fn ms_text(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else {
        format!("{ms:.1}")
    }
}

/// A duration in milliseconds, to a tenth below 100 ms: `1608`, `67.4`.
pub fn ms(d: Duration) -> String {
    ms_text(d.as_secs_f64() * 1e3)
}

/// How many of `rounds` rounds a variant must win to count as clearly
/// faster: the fewest wins that two equally fast variants (each round a coin
/// flip) reach, either of them, in at most 1 of 16 measurements. `None`
/// below five rounds, where even winning every round is too likely by chance
/// (4 of 4: 1 in 8).
pub fn wins_needed(rounds: usize) -> Option<usize> {
    // P(one given variant wins at least k of n fair rounds) = the binomial
    // tail; doubled for "either variant".
    let choose = |n: usize, k: usize| (0..k).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64);
    let all = 2f64.powi(i32::try_from(rounds).ok()?);
    (rounds / 2 + 1..=rounds).find(|&k| {
        let tail: f64 = (k..=rounds).map(|j| choose(rounds, j)).sum();
        2.0 * tail / all <= 1.0 / 16.0
    })
}

/// Why a comparison found no clear difference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unclear {
    /// Fewer rounds than any verdict needs (five).
    TooFewRounds { rounds: usize },
    /// Each was faster in some rounds: the first won `first_won` of them.
    Mixed { first_won: usize, rounds: usize },
    /// One won enough rounds, but by a median ratio under [`CLEAR_RATIO`].
    Close { ratio: f64 },
}

/// How two measurements of one `take_turns` compare, smaller being better;
/// `ratio` is the median of the rounds' ratios, slower over faster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gap {
    /// The first was clearly faster (see the crate's docs).
    FirstLower {
        ratio: f64,
        won: usize,
        rounds: usize,
    },
    /// The second was clearly faster.
    SecondLower {
        ratio: f64,
        won: usize,
        rounds: usize,
    },
    Unclear(Unclear),
}

/// Compares two measurements round by round (the crate's docs give the
/// rule). Round `i` of `first` must have run next to round `i` of `second`:
/// both from one [`take_turns`] (or `repeat_each`, `time_rounds`, `rounds`)
/// call.
///
/// # Panics
/// If the two have different numbers of runs: they are not paired rounds.
pub fn gap(first: &Runs, second: &Runs) -> Gap {
    let (a, b) = (first.in_rounds(), second.in_rounds());
    assert_eq!(a.len(), b.len(), "paired rounds: one run of each per round");
    let rounds = a.len();
    let Some(needed) = wins_needed(rounds) else {
        return Gap::Unclear(Unclear::TooFewRounds { rounds });
    };
    let first_won = a.iter().zip(b).filter(|(x, y)| x < y).count();
    let second_won = a.iter().zip(b).filter(|(x, y)| y < x).count();
    // Slower over faster, per round; a zero time counts as a tiny one.
    let ratio = |slow: &[f64], fast: &[f64]| {
        let ratios: Vec<f64> = slow
            .iter()
            .zip(fast)
            .map(|(s, f)| s / f.max(f64::MIN_POSITIVE))
            .collect();
        Runs::new(ratios).median()
    };
    let (won, ratio, first_is_faster) = if first_won >= needed {
        (first_won, ratio(b, a), true)
    } else if second_won >= needed {
        (second_won, ratio(a, b), false)
    } else {
        return Gap::Unclear(Unclear::Mixed { first_won, rounds });
    };
    match (ratio >= CLEAR_RATIO, first_is_faster) {
        (false, _) => Gap::Unclear(Unclear::Close { ratio }),
        (true, true) => Gap::FirstLower { ratio, won, rounds },
        (true, false) => Gap::SecondLower { ratio, won, rounds },
    }
}

/// "`a`: 1.9× faster than `b` here", the other way round, or "no clear
/// difference between `a` and `b` here: …" with the reason.
pub fn faster_verdict(a: &str, a_runs: &Runs, b: &str, b_runs: &Runs) -> String {
    match gap(a_runs, b_runs) {
        Gap::FirstLower { ratio, .. } => format!("{a}: {ratio:.1}× faster than {b} here"),
        Gap::SecondLower { ratio, .. } => format!("{b}: {ratio:.1}× faster than {a} here"),
        Gap::Unclear(why) => no_clear_difference(a, b, why),
    }
}

/// The sentence for a comparison without a clear winner.
fn no_clear_difference(a: &str, b: &str, why: Unclear) -> String {
    let reason = match why {
        Unclear::TooFewRounds { rounds } => {
            format!("{rounds} rounds are too few to tell (it takes five)")
        }
        Unclear::Mixed { first_won, rounds } => {
            format!("each was faster in some rounds ({a} in {first_won} of {rounds})")
        }
        Unclear::Close { ratio } => format!("{ratio:.2}× apart, under {CLEAR_RATIO}×"),
    };
    format!("no clear difference between {a} and {b} here: {reason}")
}

/// [`faster_verdict`] as a `verdict:` line.
pub fn verdict(a: &str, a_runs: &Runs, b: &str, b_runs: &Runs) -> String {
    format!("verdict: {}", faster_verdict(a, a_runs, b, b_runs))
}

/// "`a` cost 2.10ms more `what` than `b` here" (the gap between the
/// medians of timed runs), the other way round, or no clear difference.
pub fn cost_verdict(a: &str, a_runs: &Runs, b: &str, b_runs: &Runs, what: &str) -> String {
    let extra = |more: &Runs, less: &Runs| duration_of_ms(more.median() - less.median());
    match gap(a_runs, b_runs) {
        Gap::SecondLower { .. } => {
            format!(
                "{a} cost {:.2?} more {what} than {b} here",
                extra(a_runs, b_runs)
            )
        }
        Gap::FirstLower { .. } => {
            format!(
                "{b} cost {:.2?} more {what} than {a} here",
                extra(b_runs, a_runs)
            )
        }
        Gap::Unclear(why) => no_clear_difference(a, b, why),
    }
}

/// The index of the measurement that is clearly faster than every other
/// one, if there is one: the only row that may be marked "best".
pub fn best<R: Borrow<Runs>>(all: &[R]) -> Option<usize> {
    if all.len() < 2 {
        return None;
    }
    (0..all.len()).find(|&i| {
        (0..all.len()).all(|j| {
            i == j
                || matches!(
                    gap(all[i].borrow(), all[j].borrow()),
                    Gap::FirstLower { .. }
                )
        })
    })
}

/// `"<- best"` for the row `i` that [`best`] picks, else nothing.
pub fn best_marker<R: Borrow<Runs>>(all: &[R], i: usize) -> &'static str {
    if best(all) == Some(i) { "<- best" } else { "" }
}

/// The `verdict:` line on the fastest of several measurements (by median)
/// against the runner-up.
///
/// # Panics
/// With fewer than two measurements.
pub fn verdict_on_fastest(named: &[(&str, &Runs)]) -> String {
    let mut by_median = named.to_vec();
    by_median.sort_by(|a, b| a.1.median().total_cmp(&b.1.median()));
    let [(first, a), (second, b), ..] = by_median[..] else {
        panic!("a verdict needs two measurements");
    };
    verdict(first, a, second, b)
}

/// A sweep's result: which row (if any) earns a "best" marker, and the
/// verdict in words.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The row that was clearly faster than every other row, if any.
    pub best: Option<usize>,
    pub text: String,
}

/// The verdict on a sweep (pool sizes, say) of labelled measurements from
/// one `rounds` call; `labels[0]` is the baseline, the others in growing
/// order.
///
/// A row clearly faster than every other is "best". Otherwise the first
/// row that no other row is clearly faster than is the smallest
/// configuration that is as fast as it gets here (the knee).
///
/// # Panics
/// Without rows, or with a label missing.
pub fn sweep_verdict(labels: &[&str], runs: &[Runs]) -> Verdict {
    assert_eq!(labels.len(), runs.len(), "one label per measurement");
    assert!(!runs.is_empty(), "a sweep has at least one row");
    let beats = |i: usize, j: usize| matches!(gap(&runs[i], &runs[j]), Gap::FirstLower { .. });
    let ratio_over = |i: usize, j: usize| match gap(&runs[i], &runs[j]) {
        Gap::FirstLower { ratio, .. } => ratio,
        _ => runs[j].median() / runs[i].median(),
    };
    if let Some(top) = best(runs) {
        let runner_up = (0..runs.len())
            .filter(|&i| i != top)
            .min_by(|&i, &j| runs[i].median().total_cmp(&runs[j].median()))
            .expect("a best row has another row to beat");
        let mut text = format!(
            "{}: clearly the fastest, {:.1}× faster than {}",
            labels[top],
            ratio_over(top, runner_up),
            labels[runner_up]
        );
        if runner_up != 0 && top != 0 {
            text += &format!(" and {:.1}× faster than {}", ratio_over(top, 0), labels[0]);
        }
        return Verdict {
            best: Some(top),
            text: text + " here",
        };
    }
    let knee = (0..runs.len())
        .find(|&i| (0..runs.len()).all(|j| !beats(j, i)))
        .expect("the row with the smallest median: nothing is clearly faster than it");
    let text = if knee == 0 {
        if runs.len() == 2 {
            faster_verdict(labels[0], &runs[0], labels[1], &runs[1])
        } else {
            format!(
                "no clear difference here: no size was clearly faster than {}",
                labels[0]
            )
        }
    } else {
        let against_base = if beats(knee, 0) {
            format!("{:.1}× faster than {}", ratio_over(knee, 0), labels[0])
        } else {
            format!("though not clearly faster than {}", labels[0])
        };
        format!(
            "{} already as fast as it gets here, {against_base}; no size was clearly faster than {}",
            labels[knee], labels[knee]
        )
    };
    Verdict { best: None, text }
}

fn thread_label(size: usize) -> String {
    match size {
        1 => "1 thread".to_owned(),
        n => format!("{n} threads"),
    }
}

/// A sweep over pool sizes as lines: the median and spread per size, a
/// "best" marker only on a clear winner, and the `verdict:` line last.
pub fn pool_table(sizes: &[usize], runs: &[Runs]) -> Vec<String> {
    let labels: Vec<String> = sizes.iter().map(|&n| thread_label(n)).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let verdict = sweep_verdict(&labels, runs);
    let mut lines = vec!["  threads   median (fastest–slowest run)".to_owned()];
    for (i, (size, r)) in sizes.iter().zip(runs).enumerate() {
        let mark = if verdict.best == Some(i) {
            "  <- best"
        } else {
            ""
        };
        lines.push(format!("  {size:>7}  {}{mark}", r.ms_summary()));
    }
    lines.push(format!("verdict: {}", verdict.text));
    lines
}

/// What the times depend on, as far as this process can see: the cores it
/// may use and, on Linux, the load average of the last minute (proc(5):
/// jobs running or waiting for a core or for disk, averaged), which counts
/// every program on the machine, not just this one.
pub fn machine() -> String {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let cores = match cores {
        1 => "1 core".to_owned(),
        n => format!("{n} cores"),
    };
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned));
    match load {
        Some(load) => format!("{cores}, load average {load} over the last minute"),
        None => cores,
    }
}

/// [`machine`] and the build, for the line under a table:
/// `measured on 2 cores, load average 0.52 over the last minute, optimised
/// build`. `debug_assertions` is the measuring crate's own
/// `cfg!(debug_assertions)`: use [`conditions!`], which passes it.
pub fn conditions_for(debug_assertions: bool) -> String {
    let build = if debug_assertions {
        "debug assertions on: a dev build distorts these numbers"
    } else {
        "optimised build"
    };
    format!("measured on {}, {build}", machine())
}

/// `conditions!()`: [`conditions_for`] with the calling crate's build
/// (`cfg!` expands where the macro is used, not in this crate).
#[macro_export]
macro_rules! conditions {
    () => {
        $crate::conditions_for(cfg!(debug_assertions))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_runs(ms: &[u64]) -> Runs {
        Runs::from_durations(ms.iter().map(|&m| Duration::from_millis(m)))
    }

    #[test]
    fn median_fastest_slowest_and_round_order() {
        let r = Runs::new([30.0, 10.0, 50.0, 20.0, 40.0]);
        assert_eq!((r.median(), r.low(), r.high()), (30.0, 10.0, 50.0));
        assert_eq!(r.in_rounds(), [30.0, 10.0, 50.0, 20.0, 40.0]);
        assert_eq!(Runs::new([40.0, 10.0, 20.0, 30.0]).median(), 25.0);
        assert_eq!(r.map(|v| v * 2.0).in_rounds()[0], 60.0);
        assert_eq!(
            (r.median_cell(), r.spread_cell()),
            ("30.0".into(), "10.0–50.0".into())
        );
        assert_eq!(r.to_string(), "30.0 (10.0–50.0)");
        let t = ms_runs(&[1608, 1604, 1612]);
        assert_eq!(t.ms_summary(), "   1608 ms (1604–1612)");
        assert_eq!(t.to_string(), "1.61s (1.60s–1.61s)");
        assert_eq!(t.median_time(), Duration::from_millis(1608));
        assert_eq!(ms(Duration::from_micros(67_440)), "67.4");
    }

    #[test]
    fn a_known_sleep_is_measured_as_at_least_that_sleep_and_the_warm_up_is_not_counted() {
        let naps = [Duration::from_millis(5), Duration::from_millis(30)];
        let (timed, order, lines) = course_tests::deadline(Duration::from_secs(30), move || {
            let sink = Sink::collect();
            let mut order = Vec::new();
            let timed = rounds(&sink, &[0, 1], 3, |i| {
                order.push(i);
                time(|| thread::sleep(naps[i])).1
            });
            (timed, order, sink.lines())
        });
        // The warm-up round, then three counted rounds, each config in turn.
        assert_eq!(order, [0, 1, 0, 1, 0, 1, 0, 1]);
        for (nap, r) in naps.iter().zip(&timed) {
            assert_eq!(r.len(), 3);
            // A sleep lasts at least its time; the bound above is generous,
            // for a loaded machine.
            assert!(r.fastest_time() >= *nap, "{r}");
            assert!(r.median_time() < *nap + Duration::from_secs(2), "{r}");
        }
        assert_eq!(lines.len(), 4);
        assert!(lines[0].contains("warm-up, not counted"), "{lines:?}");
        assert!(lines[3].contains("run 3 of 3"), "{lines:?}");
    }

    #[test]
    fn the_warm_up_is_left_out_and_variants_take_turns() {
        let mut next = [900, 10, 11, 12].into_iter();
        let r = measure_ms(3, || Duration::from_millis(next.next().expect("four runs")));
        assert_eq!(r, ms_runs(&[10, 11, 12]));
        let mut order = Vec::new();
        let counted = repeat_each(2, 3, |v| {
            order.push(v);
            order.len()
        });
        assert_eq!(order, [0, 1, 2, 0, 1, 2, 0, 1, 2]);
        assert_eq!(counted, [vec![4, 7], vec![5, 8], vec![6, 9]]);
        let mut calls = 0;
        assert_eq!(
            repeat(2, || {
                calls += 1;
                calls
            }),
            [2, 3]
        );
        let sink = Sink::collect();
        let timed = time_rounds(&sink, 2, 2, |i| i * 10);
        assert_eq!((timed[0].1, timed[1].1, timed[1].0.len()), (0, 10, 2));
        // Each round is noted as it ends, one time per alternative.
        let lines = sink.lines();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].contains("warm-up, not counted:"), "{lines:?}");
        assert!(lines[2].contains("run 2 of 2:"), "{lines:?}");
        assert!(
            lines
                .iter()
                .all(|l| l.split(':').nth(1).unwrap().split_whitespace().count() == 2),
            "{lines:?}"
        );
    }

    #[test]
    fn wins_needed_keeps_chance_at_one_in_sixteen() {
        let needed: Vec<Option<usize>> = (3..=10).map(wins_needed).collect();
        assert_eq!(
            needed,
            [
                None,
                None,
                Some(5),
                Some(6),
                Some(7),
                Some(8),
                Some(8),
                Some(9)
            ]
        );
    }

    #[test]
    fn a_clear_gap_gives_faster_in_either_argument_order() {
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
        assert_eq!(
            cost_verdict(
                "processes",
                &ms_runs(&[20, 21, 22, 20, 21]),
                "threads",
                &ms_runs(&[10, 11, 12, 10, 11]),
                "to start"
            ),
            "processes cost 10.00ms more to start than threads here"
        );
    }

    #[test]
    fn rounds_under_shifting_load_still_show_the_winner() {
        // 6.3 under load: the load changed from round to round, and the
        // piles of runs overlap (a spread of 18–60 against 35–95), but in
        // every round a lock per field beat one coarse lock by about 1.9×.
        let split = Runs::new([18.0, 40.0, 22.0, 60.0, 30.0]);
        let coarse = Runs::new([35.0, 74.0, 44.0, 95.0, 58.0]);
        assert!(coarse.low() < split.high(), "the spreads overlap");
        let Gap::FirstLower {
            ratio,
            won: 5,
            rounds: 5,
        } = gap(&split, &coarse)
        else {
            panic!("{:?}", gap(&split, &coarse))
        };
        assert!(
            (ratio - 58.0 / 30.0).abs() < 1e-9,
            "the median round's ratio"
        );
        assert_eq!(
            verdict("a lock per field", &split, "one coarse lock", &coarse),
            "verdict: a lock per field: 1.9× faster than one coarse lock here"
        );
    }

    #[test]
    fn an_overlap_or_one_outlier_gives_no_clear_difference() {
        let same = Runs::new([10.0, 12.0, 11.0, 13.0, 10.5]);
        let mixed = Runs::new([11.0, 11.5, 10.0, 14.0, 10.2]);
        assert_eq!(
            gap(&same, &mixed),
            Gap::Unclear(Unclear::Mixed {
                first_won: 2,
                rounds: 5
            })
        );
        assert_eq!(
            faster_verdict("a", &same, "b", &mixed),
            "no clear difference between a and b here: each was faster in some rounds (a in 2 of 5)"
        );
        // One disturbed round out of five: `fast` lost it, so it won 4 of 5,
        // short of the 5 that five rounds need.
        let fast = Runs::new([10.0, 11.0, 40.0, 10.5, 11.5]);
        let slow = Runs::new([25.0, 22.0, 30.0, 23.0, 24.0]);
        assert_eq!(
            gap(&fast, &slow),
            Gap::Unclear(Unclear::Mixed {
                first_won: 4,
                rounds: 5
            })
        );
        // With nine rounds, one lost round is allowed.
        let fast9 = Runs::new([10.0, 11.0, 40.0, 10.5, 11.5, 10.0, 11.0, 12.0, 10.0]);
        let slow9 = Runs::new([25.0, 22.0, 30.0, 23.0, 24.0, 22.0, 23.0, 25.0, 24.0]);
        assert!(matches!(
            gap(&fast9, &slow9),
            Gap::FirstLower { won: 8, .. }
        ));
        // Every round, but only by 3%: not called.
        let a = Runs::new([10.0, 20.0, 15.0, 12.0, 30.0]);
        let b = a.map(|v| v * 1.03);
        let Gap::Unclear(Unclear::Close { ratio }) = gap(&a, &b) else {
            panic!("{:?}", gap(&a, &b))
        };
        assert!((ratio - 1.03).abs() < 1e-9);
        assert!(faster_verdict("a", &a, "b", &b).ends_with("1.03× apart, under 1.1×"));
        // Four rounds are never enough.
        let four = Runs::new([1.0, 1.0, 1.0, 1.0]);
        assert_eq!(
            gap(&four, &four.map(|v| v * 10.0)),
            Gap::Unclear(Unclear::TooFewRounds { rounds: 4 })
        );
    }

    /// Made-up measurements of two equally fast variants: each round's load
    /// moves both, each run has its own noise, one run in ten is disturbed.
    /// A fixed seed: the test is the same every time.
    fn simulate(ratio: f64, rounds: usize, seed: &mut u64) -> (Runs, Runs) {
        let mut uniform = || {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            (*seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let load = 1.0 + 2.0 * uniform();
            let mut run = |base: f64| {
                let disturbed = if uniform() < 0.1 { 2.0 } else { 1.0 };
                base * load * (0.8 + 0.4 * uniform()) * disturbed
            };
            a.push(run(1.0));
            b.push(run(ratio));
        }
        (Runs::new(a), Runs::new(b))
    }

    #[test]
    fn noise_is_rarely_called_a_difference_and_a_real_one_mostly_is() {
        let mut seed = 0x2545_F491_4F6C_DD1D;
        let trials = 2_000;
        let clear = |ratio: f64, rounds: usize, seed: &mut u64| {
            (0..trials)
                .filter(|_| {
                    let (a, b) = simulate(ratio, rounds, seed);
                    !matches!(gap(&a, &b), Gap::Unclear(_))
                })
                .count()
        };
        for rounds in [RUNS, 9] {
            // Equally fast: called a difference at most 1 time in 16.
            let noise = clear(1.0, rounds, &mut seed);
            assert!(noise <= trials / 16, "{rounds} rounds: {noise} of {trials}");
        }
        // 1.5× slower in truth: called in most measurements, and in more
        // of them with nine rounds, where one disturbed round is allowed.
        let (five, nine) = (clear(1.5, RUNS, &mut seed), clear(1.5, 9, &mut seed));
        assert!(five > trials / 2, "5 rounds: {five} of {trials}");
        assert!(nine > trials * 3 / 4, "9 rounds: {nine} of {trials}");
    }

    #[test]
    fn best_goes_only_to_a_row_clearly_faster_than_every_other() {
        let a = Runs::new([10.0, 12.0, 11.0, 10.0, 12.0]);
        let b = Runs::new([20.0, 22.0, 21.0, 20.0, 22.0]);
        let c = Runs::new([30.0, 11.5, 30.0, 30.0, 30.0]);
        assert_eq!(best(&[b.clone(), a.clone()]), Some(1));
        assert_eq!(best_marker(&[&b, &a], 1), "<- best");
        assert_eq!(best_marker(&[&b, &a], 0), "");
        assert_eq!(best(&[&a, &b, &c]), None, "c beat a in one round");
        assert_eq!(best(std::slice::from_ref(&b)), None, "nothing to beat");
        assert_eq!(
            verdict_on_fastest(&[("b", &b), ("c", &c), ("a", &a)]),
            "verdict: a: 1.9× faster than b here"
        );
    }

    #[test]
    fn a_sweep_names_a_clear_best_or_the_knee() {
        let v = sweep_verdict(
            &["1 thread", "2 threads", "4 threads"],
            &[
                Runs::new([100.0, 101.0, 99.0, 100.0, 100.0]),
                Runs::new([60.0, 61.0, 62.0, 60.0, 60.0]),
                Runs::new([30.0, 33.0, 31.0, 30.0, 30.0]),
            ],
        );
        assert_eq!(v.best, Some(2));
        assert_eq!(
            v.text,
            "4 threads: clearly the fastest, 2.0× faster than 2 threads and 3.3× faster than 1 thread here"
        );
        // 2.11 on 2 cores: 2, 4 and 8 threads take turns being fastest.
        let v = sweep_verdict(
            &["1 thread", "2 threads", "4 threads", "8 threads"],
            &[
                Runs::new([130.0, 135.0, 140.0, 150.0, 138.0]),
                Runs::new([66.0, 75.0, 71.0, 70.0, 69.0]),
                Runs::new([65.0, 72.0, 70.0, 74.0, 70.0]),
                Runs::new([64.0, 77.0, 74.0, 69.0, 71.0]),
            ],
        );
        assert_eq!(v.best, None);
        assert_eq!(
            v.text,
            "2 threads already as fast as it gets here, 2.0× faster than 1 thread; no size was clearly faster than 2 threads"
        );
        let flat = sweep_verdict(
            &["a", "b", "c"],
            &[
                Runs::new([10.0; 5]),
                Runs::new([9.0, 11.0, 9.0, 11.0, 10.0]),
                Runs::new([10.0; 5]),
            ],
        );
        assert_eq!(
            flat.text,
            "no clear difference here: no size was clearly faster than a"
        );
    }

    #[test]
    fn the_knee_may_not_clearly_beat_the_baseline() {
        // 4 clearly beats 1, but not 2; 2 beat 1 in four rounds of five.
        let v = sweep_verdict(
            &["1", "2", "4"],
            &[
                Runs::new([50.0; 5]),
                Runs::new([40.0, 40.0, 40.0, 40.0, 55.0]),
                Runs::new([42.0, 42.0, 42.0, 42.0, 30.0]),
            ],
        );
        assert_eq!(v.best, None);
        assert_eq!(
            v.text,
            "2 already as fast as it gets here, though not clearly faster than 1; no size was clearly faster than 2"
        );
    }

    #[test]
    fn the_pool_table_marks_a_best_only_on_a_clear_winner() {
        let clear = pool_table(
            &[1, 2],
            &[
                ms_runs(&[30, 31, 30, 32, 31]),
                ms_runs(&[10, 12, 11, 10, 11]),
            ],
        );
        assert_eq!(clear[2], "        2     11.0 ms (10.0–12.0)  <- best");
        assert_eq!(clear.iter().filter(|l| l.contains("<- best")).count(), 1);
        assert_eq!(
            clear.last().unwrap(),
            "verdict: 2 threads: clearly the fastest, 2.8× faster than 1 thread here"
        );
        // 2.11 once marked 8 threads "best" for 67.4 ms against 69.9 ms on 4.
        let noisy = pool_table(
            &[4, 8],
            &[
                ms_runs(&[66, 70, 75, 68, 69]),
                ms_runs(&[64, 71, 71, 67, 70]),
            ],
        );
        assert!(noisy.iter().all(|l| !l.contains("best")), "{noisy:?}");
        assert_eq!(
            noisy.last().unwrap(),
            "verdict: no clear difference between 4 threads and 8 threads here: each was faster in some rounds (4 threads in 2 of 5)"
        );
    }

    #[test]
    fn the_machine_line_names_cores_and_the_build() {
        assert!(machine().contains(" core"), "{}", machine());
        assert!(conditions_for(false).starts_with("measured on "));
        assert!(conditions_for(false).ends_with(", optimised build"));
        assert!(conditions_for(true).contains("debug assertions on"));
        assert_eq!(ns_per_op(Duration::from_micros(1), 10), 100.0);
    }
}
