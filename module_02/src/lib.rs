//! Module 2's measuring kit: lessons 2.9, 2.11 and 2.12 time their
//! workloads with it.
//!
//! One run is one sample, and on a shared or busy machine one sample can
//! mislead. So a measuring step runs every configuration once uncounted (the
//! warm-up), then several counted rounds, and reports for each
//! configuration the **median** of its counted runs (a typical run: one lucky
//! or one disturbed run does not move it) and the **spread** (its fastest and
//! slowest run). A verdict says "faster" only where the runs do not overlap:
//! every run of the winner beat every run of the other. With five runs each,
//! two equally fast configurations come out that cleanly separated in one
//! case of 126 (2 of the 252 ways to order ten runs by time), so an overlap
//! is read as "no clear difference here", not as a ranking.

// The lessons, each a page of this crate's documentation: rustdoc reads
// every lesson binary's source as a module of this library. Only rustdoc
// sees these modules (`cfg(doc)`, set by `cargo doc` and `cargo test
// --doc`), so no lesson is compiled twice. They are private, as the steps
// in them are: .cargo/config.toml has rustdoc document private items. The
// lessons name this library `module_02`, as their binaries do.
#[cfg(doc)]
extern crate self as module_02;
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
#[cfg(doc)]
#[path = "bin/lesson_06.rs"]
mod lesson_06;
#[cfg(doc)]
#[path = "bin/lesson_07.rs"]
mod lesson_07;
#[cfg(doc)]
#[path = "bin/lesson_08.rs"]
mod lesson_08;
#[cfg(doc)]
#[path = "bin/lesson_09.rs"]
mod lesson_09;
#[cfg(doc)]
#[path = "bin/lesson_10.rs"]
mod lesson_10;
#[cfg(doc)]
#[path = "bin/lesson_11.rs"]
mod lesson_11;
#[cfg(doc)]
#[path = "bin/lesson_12.rs"]
mod lesson_12;

use std::fmt;
use std::time::Duration;

use step_runner::Sink;

/// The counted runs of one configuration, sorted from fastest to slowest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    sorted: Vec<Duration>,
}

impl Sample {
    /// # Panics
    /// If `times` is empty: a sample needs at least one run.
    pub fn new(mut times: Vec<Duration>) -> Self {
        assert!(!times.is_empty(), "a sample needs at least one run");
        times.sort();
        Self { sorted: times }
    }

    pub fn median(&self) -> Duration {
        let n = self.sorted.len();
        if n % 2 == 1 {
            self.sorted[n / 2]
        } else {
            (self.sorted[n / 2 - 1] + self.sorted[n / 2]) / 2
        }
    }

    pub fn fastest(&self) -> Duration {
        self.sorted[0]
    }

    pub fn slowest(&self) -> Duration {
        self.sorted[self.sorted.len() - 1]
    }

    /// Every run of `self` beat every run of `other`: a gap larger than the
    /// spread.
    pub fn beats(&self, other: &Sample) -> bool {
        self.slowest() < other.fastest()
    }

    /// How many times faster `self` typically is than `other` (medians).
    pub fn speed_up_over(&self, other: &Sample) -> f64 {
        other.median().as_secs_f64() / self.median().as_secs_f64()
    }
}

/// The median and, in brackets, the fastest and slowest run:
/// `   1608 ms (1604–1612)`.
impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (median, fastest, slowest) =
            (ms(self.median()), ms(self.fastest()), ms(self.slowest()));
        write!(f, "{median:>7} ms ({fastest}–{slowest})")
    }
}

/// What the times depend on, as far as this process can see: the cores it
/// may use and, on Linux, the load average of the last minute (proc(5):
/// jobs running or waiting for a core or for disk, averaged), which counts
/// every program on the machine, not just this one.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned));
    match load {
        Some(load) => format!("{cores} cores, load average {load} over the last minute"),
        None => format!("{cores} cores"),
    }
}

/// Milliseconds, to a tenth below 100 ms.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else {
        format!("{ms:.1}")
    }
}

/// Measures every configuration once uncounted, then `runs` counted rounds;
/// returns one [`Sample`] per configuration, in the order of `configs`.
///
/// The warm-up round takes the first-time costs (the heap growing, the
/// kernel mapping fresh pages, lazily set-up runtime state) off the counted
/// runs. Each round measures every configuration once, in turn, so that a
/// change in the machine's load during the step falls on all of them alike
/// instead of on whichever was measured last. Each round's times (ms, in the
/// order of `configs`) are noted on `sink` as the round ends.
pub fn rounds<C: Copy>(
    sink: &Sink,
    configs: &[C],
    runs: usize,
    mut measure: impl FnMut(C) -> Duration,
) -> Vec<Sample> {
    let mut times = vec![Vec::with_capacity(runs); configs.len()];
    for round in 0..=runs {
        let row: Vec<Duration> = configs.iter().map(|&c| measure(c)).collect();
        let label = match round {
            0 => "warm-up, not counted".to_owned(),
            _ => format!("run {round} of {runs}"),
        };
        let cells: String = row.iter().map(|&d| format!("{:>8}", ms(d))).collect();
        sink.note(format!("  {label:>20}:{cells}"));
        if round > 0 {
            for (runs_of_one, time) in times.iter_mut().zip(row) {
                runs_of_one.push(time);
            }
        }
    }
    times.into_iter().map(Sample::new).collect()
}

/// A sweep's result: which row (if any) earns a "best" marker, and the
/// verdict in words.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The fastest row, only when it beat every other row beyond the spread.
    pub best: Option<usize>,
    pub text: String,
}

/// The verdict on a sweep of labelled samples; `labels[0]` is the
/// baseline (one thread), the others in growing order.
///
/// The fastest row (by median) is "best" only if it beat every other row
/// beyond the spread. Otherwise the rows whose runs overlap the fastest's
/// are as fast as one another here, and the first of them is the smallest
/// configuration that is as fast as it gets.
pub fn sweep_verdict(labels: &[&str], samples: &[Sample]) -> Verdict {
    assert_eq!(labels.len(), samples.len(), "one label per sample");
    let fastest = (0..samples.len())
        .min_by_key(|&i| samples[i].median())
        .expect("a sweep has at least one row");
    let top = &samples[fastest];
    let others: Vec<usize> = (0..samples.len()).filter(|&i| i != fastest).collect();
    if others.iter().all(|&i| top.beats(&samples[i])) {
        let runner_up = others.iter().copied().min_by_key(|&i| samples[i].median());
        let mut text = format!("{}: fastest beyond the spread", labels[fastest]);
        if let Some(r) = runner_up {
            text += &format!(
                ", {:.1}× faster than {}",
                top.speed_up_over(&samples[r]),
                labels[r]
            );
            if r != 0 && fastest != 0 {
                text += &format!(
                    " and {:.1}× faster than {}",
                    top.speed_up_over(&samples[0]),
                    labels[0]
                );
            }
        }
        return Verdict {
            best: Some(fastest),
            text: text + " here",
        };
    }
    let tied: Vec<usize> = (0..samples.len())
        .filter(|&i| samples[i].fastest() <= top.slowest())
        .collect();
    let knee = tied[0];
    let names: Vec<&str> = tied.iter().map(|&i| labels[i]).collect();
    let text = if knee == 0 {
        // Which row is fastest by median is itself noise here: name it only
        // when there are just two.
        let other = if samples.len() == 2 {
            labels[fastest]
        } else {
            "the fastest"
        };
        format!(
            "no clear difference between {} and {other} here: the spread is larger than the gap",
            labels[0]
        )
    } else {
        let base = &samples[0];
        let against_base = if samples[knee].beats(base) {
            format!(
                "{:.1}× faster than {}",
                samples[knee].speed_up_over(base),
                labels[0]
            )
        } else {
            format!("though not clearly faster than {}", labels[0])
        };
        format!(
            "{} already as fast as it gets here, {against_base}; no clear difference among {} (their runs overlap the fastest's)",
            labels[knee],
            names.join(", ")
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
/// "best" marker only beyond the spread, and the `verdict:` line last.
pub fn pool_table(sizes: &[usize], samples: &[Sample]) -> Vec<String> {
    let labels: Vec<String> = sizes.iter().map(|&n| thread_label(n)).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let verdict = sweep_verdict(&labels, samples);
    let mut lines = vec!["  threads   median (fastest–slowest run)".to_owned()];
    for (i, (size, sample)) in sizes.iter().zip(samples).enumerate() {
        let mark = if verdict.best == Some(i) {
            "  <- best"
        } else {
            ""
        };
        lines.push(format!("  {size:>7}  {sample}{mark}"));
    }
    lines.push(format!("verdict: {}", verdict.text));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;
    use std::time::Instant;

    fn sample(ms: &[u64]) -> Sample {
        Sample::new(ms.iter().map(|&m| Duration::from_millis(m)).collect())
    }

    #[test]
    fn median_fastest_and_slowest_of_unsorted_runs() {
        let s = sample(&[30, 10, 50, 20, 40]);
        assert_eq!(s.median(), Duration::from_millis(30));
        assert_eq!(s.fastest(), Duration::from_millis(10));
        assert_eq!(s.slowest(), Duration::from_millis(50));
        assert_eq!(
            sample(&[40, 10, 20, 30]).median(),
            Duration::from_millis(25)
        );
        assert_eq!(s.to_string(), "   30.0 ms (10.0–50.0)");
    }

    #[test]
    fn rounds_measure_a_known_sleep_and_do_not_count_the_warm_up() {
        let delays = [Duration::from_millis(5), Duration::from_millis(40)];
        let (samples, calls, lines) = course_tests::deadline(Duration::from_secs(30), move || {
            let sink = Sink::collect();
            let mut calls = Vec::new();
            let samples = rounds(&sink, &delays, 3, |delay| {
                calls.push(delay);
                let started = Instant::now();
                thread::sleep(delay);
                started.elapsed()
            });
            (samples, calls, sink.lines())
        });
        // One warm-up round and three counted ones, each config in turn.
        assert_eq!(calls, [delays; 4].concat());
        for (delay, s) in delays.iter().zip(&samples) {
            assert_eq!(s.sorted.len(), 3);
            // A sleep takes at least its time; the bound above is generous.
            assert!(s.fastest() >= *delay, "{s}");
            assert!(s.median() < *delay + Duration::from_secs(2), "{s}");
        }
        assert_eq!(lines.len(), 4);
        assert!(lines[0].contains("warm-up, not counted"), "{lines:?}");
        assert!(lines[3].contains("run 3 of 3"), "{lines:?}");
    }

    #[test]
    fn the_warm_up_run_is_left_out_of_the_sample() {
        let sink = Sink::collect();
        let mut next = [900, 10, 11, 12].into_iter();
        let samples = rounds(&sink, &[()], 3, |()| {
            Duration::from_millis(next.next().expect("four runs"))
        });
        assert_eq!(samples, [sample(&[10, 11, 12])]);
    }

    #[test]
    fn a_clear_gap_gives_faster_and_a_best_marker() {
        let v = sweep_verdict(
            &["1 thread", "2 threads", "4 threads"],
            &[
                sample(&[100, 101, 99]),
                sample(&[60, 61, 62]),
                sample(&[30, 33, 31]),
            ],
        );
        assert_eq!(v.best, Some(2));
        assert_eq!(
            v.text,
            "4 threads: fastest beyond the spread, 2.0× faster than 2 threads and 3.2× faster than 1 thread here"
        );
        let two = sweep_verdict(&["a", "b"], &[sample(&[40, 41]), sample(&[10, 11])]);
        assert_eq!(two.best, Some(1));
        assert_eq!(
            two.text,
            "b: fastest beyond the spread, 3.9× faster than a here"
        );
    }

    #[test]
    fn an_overlap_gives_no_clear_difference_and_no_marker() {
        // 2.11's case: 67.4 ms against 69.9 ms is no finding when the runs
        // overlap.
        let v = sweep_verdict(
            &["1 thread", "2 threads", "4 threads", "8 threads"],
            &[
                sample(&[130, 135, 140]),
                sample(&[66, 75, 71]),
                sample(&[65, 72, 70]),
                sample(&[64, 67, 74]),
            ],
        );
        assert_eq!(v.best, None);
        assert_eq!(
            v.text,
            "2 threads already as fast as it gets here, 1.9× faster than 1 thread; no clear difference among 2 threads, 4 threads, 8 threads (their runs overlap the fastest's)"
        );
        let flat = sweep_verdict(&["a", "b"], &[sample(&[10, 14]), sample(&[9, 12])]);
        assert_eq!(flat.best, None);
        assert_eq!(
            flat.text,
            "no clear difference between a and b here: the spread is larger than the gap"
        );
    }

    #[test]
    fn the_knee_may_overlap_the_baseline_too() {
        let v = sweep_verdict(
            &["1", "2", "4"],
            &[sample(&[50, 90]), sample(&[40, 60]), sample(&[30, 45])],
        );
        assert_eq!(v.best, None);
        assert!(
            v.text
                .starts_with("2 already as fast as it gets here, though not clearly faster than 1"),
            "{}",
            v.text
        );
    }

    #[test]
    fn the_table_marks_a_best_only_beyond_the_spread() {
        let clear = pool_table(&[1, 2], &[sample(&[30, 31]), sample(&[10, 12])]);
        assert!(clear[2].trim_start().starts_with("2 ") && clear[2].ends_with("<- best"));
        assert_eq!(clear.iter().filter(|l| l.contains("<- best")).count(), 1);
        assert_eq!(
            clear.last().unwrap(),
            "verdict: 2 threads: fastest beyond the spread, 2.8× faster than 1 thread here"
        );
        // 2.11 once marked 8 threads "best" for 67.4 ms against 69.9 ms on
        // 4. With runs that overlap, there is no marker.
        let noisy = pool_table(&[4, 8], &[sample(&[66, 70, 75]), sample(&[64, 67, 71])]);
        assert!(noisy.iter().all(|l| !l.contains("best")), "{noisy:?}");
        assert_eq!(
            noisy.last().unwrap(),
            "verdict: no clear difference between 4 threads and 8 threads here: the spread is larger than the gap"
        );
    }
}
