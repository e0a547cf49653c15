//! Lesson 5.8 — Barrier («Барьер в потоках (Barrier)»)
//!
//! A barrier makes N threads wait for each other: nobody passes until all N
//! have arrived, then all go on together, and the barrier is ready for the
//! next round. `std::sync::Barrier` does that and picks each round's leader,
//! but has no time-out and no abort: if one party never arrives, the others
//! wait forever. So after it comes a barrier with both (`Mutex` + `Condvar`).
//!
//! | Python                                     | Rust                                                   |
//! |--------------------------------------------|--------------------------------------------------------|
//! | `threading.Barrier(n)`                     | `std::sync::Barrier::new(n)` (share it: `Arc` or `scope`) |
//! | `i = barrier.wait()`; `if i == 0:` (one thread) | `barrier.wait().is_leader()`                      |
//! | `Barrier(n, action=f)`                     | the leader calls `f()` after `wait` (the others are already on their way; Python runs `action` before releasing them) |
//! | `barrier.wait(timeout)` → `BrokenBarrierError` | not in std: `TimeoutBarrier::wait_timeout` (below) |
//! | `barrier.abort()`, `barrier.broken`        | not in std: `TimeoutBarrier::abort` (below)            |
//! | `barrier.reset()`, `barrier.n_waiting`     | `TimeoutBarrier::reset`, `n_waiting` (below)           |
//! | (none: a party that dies is waited for until the time-out) | `barrier.party()`: the handle's `Drop` breaks the barrier |
//! | (asyncio) `asyncio.Barrier(n)`             | `tokio::sync::Barrier::new(n)`                         |
//!
//! Output order varies between runs where threads race; the values do not.
//! - Run all steps: `cargo run -p module_05 --bin lesson_08`
//! - Run one step:  `cargo run -p module_05 --bin lesson_08 -- timeout_barrier`
//!
//! Try:
//! - In `start_line`, add `if name == "Vera" { return; }` before
//!   `line.wait()` and run `-- start_line`: the other four wait for her
//!   forever (Ctrl-C). Hence `TimeoutBarrier`.
//! - Make `Party`'s `drop` do nothing and run
//!   `cargo test -p module_05 --bin lesson_08`: which test now fails on its
//!   deadline, and how long would its parties have waited?

use std::process::ExitCode;
// The time-out barrier's types come from std, or from shuttle with the
// `model` feature (`mod model` at the bottom); std's `Barrier` is not modelled.
#[cfg(feature = "model")]
use shuttle::sync::{Condvar, Mutex, MutexGuard};
use std::sync::{Barrier, PoisonError, mpsc};
#[cfg(not(feature = "model"))]
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use step_runner::{Sink, Step, lesson_id};

// ---- std::sync::Barrier: the start line.

/// The runners and how many milliseconds each takes to get to the start line.
#[rustfmt::skip]
const RUNNERS: [(&str, u64); 5] =
    [("Anna", 300), ("Boris", 100), ("Vera", 500), ("Gleb", 200), ("Daria", 400)];

/// Every runner gets ready (taking `ready × unit`; `main` uses 1 ms), then waits at the
/// start line; the leader — one runner, chosen by the barrier — fires the
/// starting pistol, and all run, each event reported to `sink` as it happens.
fn start_line(runners: &[(&'static str, u64)], unit: Duration, sink: &Sink) {
    let line = Barrier::new(runners.len());
    // A std `Barrier` cannot be broken: a runner that panicked before its
    // `wait` (printing to a closed stdout, say) would strand the others. So
    // runners send their lines to this thread, which reports them.
    let (lines, reported) = mpsc::channel();
    thread::scope(|s| {
        for &(name, ready) in runners {
            let (line, lines) = (&line, lines.clone());
            s.spawn(move || {
                thread::sleep(unit * ready as u32);
                let _ = lines.send(format!("{name} is at the start line"));
                // Python's `Barrier(n, action=...)`: one thread does the
                // action; here the leader does it after the wait.
                if line.wait().is_leader() {
                    let _ = lines.send(format!("{name} fires the starting pistol: go!"));
                }
                let _ = lines.send(format!("{name} runs"));
            });
        }
        drop(lines);
        for line in reported {
            sink.note(line);
        }
    });
}

fn show_start_line() {
    start_line(&RUNNERS, Duration::from_millis(1), &Sink::stdout_timed());
}

// ---- std::sync::Barrier: rounds.

/// `workers` threads work through `rounds` rounds; in round `r` each adds up
/// its share of `numbers` times `r`. The barrier ends each round (nobody
/// starts round `r + 1` before every part of round `r` is in) and resets
/// itself when it opens, so the same `Barrier` serves every round.
fn rounds(workers: usize, rounds: u64, numbers: &[u64], sink: &Sink) {
    let barrier = Barrier::new(workers);
    // Workers report through this thread, as in `start_line`.
    let (lines, reported) = mpsc::channel();
    thread::scope(|s| {
        for worker in 1..=workers {
            let (barrier, lines) = (&barrier, lines.clone());
            s.spawn(move || {
                let share: u64 = numbers.iter().skip(worker - 1).step_by(workers).sum();
                for round in 1..=rounds {
                    let part = share * round;
                    let _ = lines.send(format!("round {round}: worker {worker} adds {part}"));
                    if barrier.wait().is_leader() {
                        let _ = lines.send(format!("round {round}: all {workers} parts are in"));
                    }
                    // A second wait: nobody starts the next round before
                    // the leader has reported this one.
                    barrier.wait();
                }
            });
        }
        drop(lines);
        for line in reported {
            sink.note(line);
        }
    });
}

fn show_rounds() {
    rounds(4, 3, &Vec::from_iter(1..=100), &Sink::stdout());
}

// ---- What std lacks: a time-out and an abort.

/// Why a `TimeoutBarrier` wait failed, like Python's `BrokenBarrierError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum BarrierError {
    /// This thread waited too long; it broke the barrier for everyone.
    TimedOut,
    /// Another party timed out, called `abort`, or dropped its [`Party`].
    Broken,
}

#[derive(Debug, Default)]
struct BarrierState {
    arrived: usize,
    /// Openings: a waiter whose generation has passed is through.
    generation: u64,
    broken: bool,
    /// `reset`s: a waiter whose count has moved on gets `Broken`.
    resets: u64,
}

/// A reusable barrier with a time-out and an abort, which std's lacks; its
/// parties wait through [`Party`] handles. Once broken it stays broken until
/// [`TimeoutBarrier::reset`], as in Python.
struct TimeoutBarrier {
    parties: usize,
    state: Mutex<BarrierState>,
    opened: Condvar,
}

impl TimeoutBarrier {
    fn new(parties: usize) -> Self {
        Self {
            parties,
            state: Mutex::new(BarrierState::default()),
            opened: Condvar::new(),
        }
    }

    /// No code panics while holding this lock: a poisoned lock is safe to use.
    fn state(&self) -> MutexGuard<'_, BarrierState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A handle for one party's thread; dropping it breaks the barrier.
    fn party(&self) -> Party<'_> {
        Party { barrier: self }
    }

    /// Waits until all parties have arrived, for at most `timeout`.
    /// `Ok(true)` for the one leader of the round, `Ok(false)` for the rest.
    fn wait_timeout(&self, timeout: Duration) -> Result<bool, BarrierError> {
        let mut state = self.state();
        if state.broken {
            return Err(BarrierError::Broken);
        }
        let (generation, resets) = (state.generation, state.resets);
        state.arrived += 1;
        if state.arrived == self.parties {
            // The last to arrive opens the barrier and leads the round.
            state.arrived = 0;
            state.generation += 1;
            self.opened.notify_all();
            return Ok(true);
        }
        let (mut state, _) = self
            .opened
            .wait_timeout_while(state, timeout, |s| {
                s.generation == generation && !s.broken && s.resets == resets
            })
            .unwrap_or_else(PoisonError::into_inner);
        if state.generation != generation {
            return Ok(false);
        }
        if state.resets != resets {
            // `reset` has already emptied the count.
            return Err(BarrierError::Broken);
        }
        state.arrived -= 1; // this waiter leaves without the round opening
        if state.broken {
            Err(BarrierError::Broken)
        } else {
            // This thread's time is up. As in Python, the barrier breaks, so
            // nobody else waits for a party that is not coming.
            state.broken = true;
            self.opened.notify_all();
            Err(BarrierError::TimedOut)
        }
    }

    /// Python's `n_waiting`: how many parties wait now (a snapshot).
    fn n_waiting(&self) -> usize {
        self.state().arrived
    }

    /// Python's `reset()`: back to the empty, unbroken state; the parties
    /// waiting now are released with `Broken`.
    fn reset(&self) {
        let mut state = self.state();
        state.arrived = 0;
        state.broken = false;
        state.resets += 1;
        self.opened.notify_all();
    }

    /// Breaks the barrier: every waiter, present and future, gets `Broken`.
    /// For a party that failed and will never arrive.
    fn abort(&self) {
        self.state().broken = true;
        self.opened.notify_all();
    }
}

/// One party's place at a [`TimeoutBarrier`]. Its `Drop` breaks the
/// barrier: a party that leaves (returns early, or panics) will never arrive
/// again. A waiter whose round has opened still gets `Ok`, so handles
/// dropped after the last round break nothing that matters.
#[must_use = "dropping the handle breaks the barrier"]
struct Party<'a> {
    barrier: &'a TimeoutBarrier,
}

impl Party<'_> {
    fn wait_timeout(&self, timeout: Duration) -> Result<bool, BarrierError> {
        self.barrier.wait_timeout(timeout)
    }
}

impl Drop for Party<'_> {
    fn drop(&mut self) {
        self.barrier.abort();
    }
}

/// Three parties are expected, `arriving` come, each waits at most `timeout`;
/// then a latecomer tries. Returns every answer, the latecomer's last.
fn timeout_barrier(arriving: usize, timeout: Duration) -> Vec<Result<bool, BarrierError>> {
    let barrier = TimeoutBarrier::new(3);
    let mut answers: Vec<_> = thread::scope(|s| {
        let parties: Vec<_> = (0..arriving)
            .map(|_| s.spawn(|| barrier.party().wait_timeout(timeout)))
            .collect();
        parties.into_iter().map(|p| p.join().unwrap()).collect()
    });
    answers.push(barrier.party().wait_timeout(timeout));
    answers
}

fn show_timeout_barrier() {
    let answers = timeout_barrier(2, Duration::from_millis(500));
    println!("3 parties expected, 2 came, each waits at most 0.5 s:");
    let (late, on_time) = answers.split_last().expect("there are answers");
    for (n, answer) in on_time.iter().enumerate() {
        println!("  party {}: {}", n + 1, describe(answer));
    }
    println!("  the latecomer: {}", describe(late));
}

/// How the third party fails before it arrives: it calls `abort` (as in
/// Python), or it panics and its [`Party`], dropped in the unwind, breaks
/// the barrier.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Failure {
    Aborts,
    Panics,
}

/// Two parties wait (at most `timeout`); the third fails after `fail_after`.
/// Returns the two answers, how long they waited, whether the third panicked.
fn third_party_fails(
    timeout: Duration,
    fail_after: Duration,
    failure: Failure,
) -> (Vec<Result<bool, BarrierError>>, Duration, bool) {
    let barrier = TimeoutBarrier::new(3);
    let start = Instant::now();
    thread::scope(|s| {
        let waiters: Vec<_> = (0..2)
            .map(|_| s.spawn(|| barrier.party().wait_timeout(timeout)))
            .collect();
        let third = s.spawn(|| {
            thread::sleep(fail_after);
            match failure {
                Failure::Aborts => barrier.abort(),
                Failure::Panics => {
                    let _party = barrier.party();
                    panic!("party 3 could not load its part");
                }
            }
        });
        let answers = waiters.into_iter().map(|w| w.join().unwrap()).collect();
        let waited = start.elapsed();
        (answers, waited, third.join().is_err())
    })
}

fn describe(answer: &Result<bool, BarrierError>) -> &'static str {
    match answer {
        Ok(true) => "passed (leader)",
        Ok(false) => "passed",
        Err(BarrierError::TimedOut) => "timed out and broke the barrier",
        Err(BarrierError::Broken) => "found the barrier broken",
    }
}

fn show_third_party_fails(failure: Failure) {
    let five_s = Duration::from_secs(5);
    let (answers, waited, panicked) =
        third_party_fails(five_s, Duration::from_millis(200), failure);
    println!("  party 3 panicked before arriving: {panicked}");
    for (n, answer) in answers.iter().enumerate() {
        println!("  party {}: {}", n + 1, describe(answer));
    }
    let ms = waited.as_millis();
    println!("they waited {ms} ms, not their 5 s time-out");
}

fn show_abort() {
    show_third_party_fails(Failure::Aborts);
}

fn show_party_dies() {
    println!("(the panic message on stderr is part of the demo)");
    show_third_party_fails(Failure::Panics);
}

/// Two of three parties wait; `reset` releases them with `Broken`; then a
/// full round passes. Returns `n_waiting` before and after the reset, the
/// two answers and the leaders of the round after it.
fn reset_and_n_waiting() -> (usize, usize, Vec<Result<bool, BarrierError>>, usize) {
    let barrier = TimeoutBarrier::new(3);
    let patience = Duration::from_secs(60);
    let (before, answers) = thread::scope(|s| {
        let waiters: Vec<_> = (0..2)
            .map(|_| s.spawn(|| barrier.wait_timeout(patience)))
            .collect();
        while barrier.n_waiting() < 2 {
            thread::yield_now();
        }
        let before = barrier.n_waiting();
        barrier.reset();
        let answers = waiters.into_iter().map(|w| w.join().unwrap()).collect();
        (before, answers)
    });
    let after = barrier.n_waiting();
    let leaders = thread::scope(|s| {
        let round: Vec<_> = (0..3)
            .map(|_| s.spawn(|| barrier.wait_timeout(patience)))
            .collect();
        let answers = round.into_iter().map(|party| party.join().unwrap());
        answers.filter(|answer| *answer == Ok(true)).count()
    });
    (before, after, answers, leaders)
}

fn show_reset_and_n_waiting() {
    let (before, after, answers, leaders) = reset_and_n_waiting();
    println!("n_waiting with two of three parties waiting: {before}");
    println!("reset() releases them with: {answers:?}");
    println!("n_waiting after the reset: {after}");
    println!("a full round after the reset opens with {leaders} leader");
}

const TITLE: &str = "Lesson 5.8 — Barrier («Барьер в потоках (Barrier)»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("start_line", "five runners wait at the start line; the leader fires the pistol", show_start_line),
        Step::new("rounds", "one Barrier, reused for three rounds", show_rounds),
        Step::new("timeout_barrier", "std has no time-out: a Mutex + Condvar barrier that has one", show_timeout_barrier),
        Step::new("abort", "a party that fails aborts the barrier; nobody waits it out", show_abort),
        Step::new("reset_and_n_waiting", "Python's reset() and n_waiting on the time-out barrier", show_reset_and_n_waiting),
        Step::new("party_dies", "a party that panics breaks the barrier as its handle drops", show_party_dies),
    ])
}

#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    // The ordinary tests run on std's types; with the `model` feature the
    // barrier is built from shuttle's, which work only inside `shuttle::check_*`.
    use std::collections::BTreeSet;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use course_tests::deadline;

    use super::*;

    fn position(lines: &[String], text: &str) -> usize {
        lines
            .iter()
            .position(|line| line == text)
            .unwrap_or_else(|| panic!("{text:?} missing in {lines:?}"))
    }

    #[test]
    fn nobody_runs_before_everyone_is_at_the_start_line() {
        let lines = deadline(Duration::from_secs(10), || {
            let sink = Sink::collect();
            start_line(&RUNNERS, Duration::from_micros(100), &sink);
            sink.lines()
        });
        let last_ready = RUNNERS
            .iter()
            .map(|(name, _)| position(&lines, &format!("{name} is at the start line")))
            .max()
            .unwrap();
        let pistols: Vec<_> = lines.iter().filter(|l| l.contains("pistol")).collect();
        assert_eq!(pistols.len(), 1, "exactly one leader");
        for (name, _) in RUNNERS {
            assert!(position(&lines, &format!("{name} runs")) > last_ready);
        }
    }

    #[test]
    fn the_start_line_ends_when_the_reader_goes_away() {
        // The reader leaves after two lines: the runners already at the
        // unbreakable std barrier must not wait there for the rest.
        let ended = deadline(Duration::from_secs(10), move || {
            let sink = Sink::closing_after(2);
            std::panic::catch_unwind(|| start_line(&RUNNERS, Duration::ZERO, &sink)).is_err()
        });
        assert!(ended, "the reporting thread's panic reaches the caller");
    }

    #[test]
    fn rounds_end_when_the_reader_goes_away() {
        // The reader leaves after 3 lines, as `| head -n 3` would: the
        // reporting panics, and every worker must still get through its
        // rounds (a worker that panicked before `wait` would strand the rest
        // at the unbreakable std barrier).
        let ended = deadline(Duration::from_secs(10), move || {
            let sink = Sink::closing_after(3);
            let numbers: Vec<u64> = (1..=1000).collect();
            std::panic::catch_unwind(|| rounds(4, 6, &numbers, &sink)).is_err()
        });
        assert!(ended, "the reporting thread's panic reaches the caller");
    }

    #[test]
    fn every_round_ends_before_the_next_begins_with_one_leader() {
        let lines = deadline(Duration::from_secs(10), move || {
            let sink = Sink::collect();
            rounds(4, 6, &(1..=1000).collect::<Vec<u64>>(), &sink);
            sink.lines()
        });
        assert_eq!(lines.len(), 6 * 5);
        for (r, round) in lines.chunks(5).enumerate() {
            let prefix = format!("round {}: ", r + 1);
            assert!(round.iter().all(|l| l.starts_with(&prefix)), "{lines:?}");
            assert_eq!(round[4], format!("{prefix}all 4 parts are in"));
        }
    }

    #[test]
    fn the_timeout_barrier_passes_many_rounds_with_one_leader_each() {
        const PARTIES: usize = 6;
        const ROUNDS: usize = 100;
        let leaders = deadline(Duration::from_secs(20), || {
            let barrier = TimeoutBarrier::new(PARTIES);
            let leaders = AtomicUsize::new(0);
            thread::scope(|s| {
                for _ in 0..PARTIES {
                    s.spawn(|| {
                        let party = barrier.party();
                        for _ in 0..ROUNDS {
                            let leader = party.wait_timeout(Duration::from_secs(10)).unwrap();
                            leaders.fetch_add(usize::from(leader), Ordering::SeqCst);
                        }
                    });
                }
            });
            leaders.into_inner()
        });
        assert_eq!(leaders, ROUNDS);
    }

    #[test]
    fn a_missing_party_breaks_the_barrier_instead_of_hanging() {
        let answers = deadline(Duration::from_secs(10), || {
            timeout_barrier(2, Duration::from_millis(50))
        });
        let (late, on_time) = answers.split_last().unwrap();
        // One waiter times out and breaks it; the other is told it broke.
        let on_time: BTreeSet<_> = on_time.iter().copied().collect();
        assert_eq!(
            on_time,
            BTreeSet::from([Err(BarrierError::TimedOut), Err(BarrierError::Broken)])
        );
        assert_eq!(*late, Err(BarrierError::Broken));
    }

    #[test]
    fn abort_releases_the_waiters_at_once() {
        let timeout = Duration::from_secs(5);
        let (answers, waited, _) = deadline(Duration::from_secs(10), move || {
            third_party_fails(timeout, Duration::from_millis(20), Failure::Aborts)
        });
        assert_eq!(
            answers,
            [Err(BarrierError::Broken), Err(BarrierError::Broken)]
        );
        assert!(waited < timeout / 2, "{waited:?}");
    }

    #[test]
    fn reset_releases_the_waiters_and_the_barrier_works_again() {
        let seen = deadline(Duration::from_secs(20), reset_and_n_waiting);
        let broken = vec![Err(BarrierError::Broken); 2];
        assert_eq!(seen, (2, 0, broken, 1));
    }

    #[test]
    fn n_waiting_counts_a_timed_out_party_out() {
        let barrier = TimeoutBarrier::new(2);
        let answer = barrier.wait_timeout(Duration::from_millis(10));
        assert_eq!(answer, Err(BarrierError::TimedOut));
        assert_eq!(barrier.n_waiting(), 0);
    }

    #[test]
    fn a_party_that_panics_releases_everyone_with_an_error() {
        // The waiters' time-out is longer than the deadline: only the dying
        // party's handle can release them in time.
        let (answers, _, panicked) = deadline(Duration::from_secs(10), || {
            third_party_fails(
                Duration::from_secs(60),
                Duration::from_millis(20),
                Failure::Panics,
            )
        });
        assert!(panicked);
        assert_eq!(
            answers,
            [Err(BarrierError::Broken), Err(BarrierError::Broken)]
        );
    }

    #[test]
    fn a_party_that_returns_early_breaks_the_barrier_for_later_rounds() {
        let answers = deadline(Duration::from_secs(10), || {
            let barrier = TimeoutBarrier::new(2);
            thread::scope(|s| {
                let stayer = s.spawn(|| {
                    let party = barrier.party();
                    let first = party.wait_timeout(Duration::from_secs(60));
                    let second = party.wait_timeout(Duration::from_secs(60));
                    (first, second)
                });
                // One round together, then this party leaves.
                let party = barrier.party();
                let first = party.wait_timeout(Duration::from_secs(60));
                drop(party);
                (first, stayer.join().unwrap())
            })
        });
        let (mine, (first, second)) = answers;
        // The round both reached opens normally, with one leader.
        assert!(matches!(
            (mine, first),
            (Ok(true), Ok(false)) | (Ok(false), Ok(true))
        ));
        assert_eq!(second, Err(BarrierError::Broken));
    }
}

/// Model checks of the time-out barrier (`cargo test -p module_05 --features
/// model`): shuttle runs the parties under many random and PCT schedules,
/// with its own `Mutex` and `Condvar` in place of std's. Its `Condvar` never
/// times out, so a party left waiting blocks for good, which shuttle reports
/// as a deadlock.
#[cfg(test)]
#[cfg(feature = "model")]
mod model {
    use super::*;
    use shuttle::sync::Arc;
    use shuttle::thread;
    use std::panic;

    const ITERATIONS: usize = 2_000;
    const PATIENCE: Duration = Duration::from_secs(3600);

    /// The property, part 1: three parties pass two rounds; each round has
    /// exactly one leader, and nobody sees an error.
    fn every_round_opens_with_one_leader() {
        let barrier = Arc::new(TimeoutBarrier::new(3));
        let parties: Vec<_> = (0..3)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    let party = barrier.party();
                    [(); 2].map(|()| party.wait_timeout(PATIENCE))
                })
            })
            .collect();
        let answers: Vec<_> = parties
            .into_iter()
            .map(|p| p.join().expect("a party does not panic"))
            .collect();
        for round in 0..2 {
            let leaders = answers.iter().filter(|a| a[round] == Ok(true)).count();
            assert_eq!(leaders, 1, "round {round}: {answers:?}");
            assert!(answers.iter().all(|a| a[round].is_ok()), "{answers:?}");
        }
    }

    /// The property, part 2: two parties wait while the third leaves without
    /// arriving (`leave` gets rid of its handle). The barrier breaks and
    /// releases both with `Broken`; nobody waits forever.
    fn a_party_that_leaves_releases_everyone(leave: fn(Party<'_>)) {
        let barrier = Arc::new(TimeoutBarrier::new(3));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || barrier.party().wait_timeout(PATIENCE))
            })
            .collect();
        let leaving = Arc::clone(&barrier);
        thread::spawn(move || leave(leaving.party()))
            .join()
            .expect("the leaving party does not panic");
        for waiter in waiters {
            let answer = waiter.join().expect("a waiter does not panic");
            assert_eq!(answer, Err(BarrierError::Broken));
        }
    }

    /// The property, part 3: `reset` while two of three parties wait
    /// releases both with `Broken`, and `n_waiting` is back to 0.
    fn reset_releases_the_waiters(reset: fn(&TimeoutBarrier)) {
        let barrier = Arc::new(TimeoutBarrier::new(3));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || barrier.wait_timeout(PATIENCE))
            })
            .collect();
        while barrier.n_waiting() < 2 {
            thread::yield_now();
        }
        reset(&barrier);
        for waiter in waiters {
            let answer = waiter.join().expect("a waiter does not panic");
            assert_eq!(answer, Err(BarrierError::Broken));
        }
        assert_eq!(barrier.n_waiting(), 0);
    }

    /// Broken: a reset that empties the count and wakes everyone, but does
    /// not mark the waiters' wait as over, so they go back to waiting.
    fn reset_forgetting_the_waiters(barrier: &TimeoutBarrier) {
        barrier.state().arrived = 0;
        barrier.opened.notify_all();
    }

    #[test]
    fn model_reset_releases_the_waiters() {
        // Random schedules only: the spin on `n_waiting` yields, and PCT's
        // fixed priorities could starve the waiters it spins for.
        shuttle::check_random(
            || reset_releases_the_waiters(TimeoutBarrier::reset),
            ITERATIONS,
        );
    }

    #[test]
    fn model_catches_a_reset_that_leaves_the_waiters_waiting() {
        let failure = panic::catch_unwind(|| {
            shuttle::check_random(
                || reset_releases_the_waiters(reset_forgetting_the_waiters),
                ITERATIONS,
            );
        })
        .expect_err("the checker must catch the waiters left waiting");
        let message = course_tests::panic_text(&*failure);
        assert!(message.contains("deadlock"), "{message}");
    }

    fn check(property: impl Fn() + Send + Sync + Clone + 'static) {
        shuttle::check_random(property.clone(), ITERATIONS);
        shuttle::check_pct(property, ITERATIONS, 3);
    }

    #[test]
    fn model_every_round_opens_with_one_leader() {
        check(every_round_opens_with_one_leader);
    }

    #[test]
    fn model_a_party_that_leaves_breaks_the_barrier_for_everyone() {
        check(|| a_party_that_leaves_releases_everyone(leave));
    }

    /// The party leaves as any owner goes: its handle is dropped.
    fn leave(party: Party<'_>) {
        drop(party);
    }

    /// Broken: the party vanishes without its handle's `Drop`, as a Python
    /// thread that dies without calling `abort()`.
    fn vanish(party: Party<'_>) {
        std::mem::forget(party);
    }

    #[test]
    fn model_catches_a_party_that_vanishes_without_breaking_the_barrier() {
        let failure = panic::catch_unwind(|| {
            check(|| a_party_that_leaves_releases_everyone(vanish));
        })
        .expect_err("the checker must catch the waiters left waiting");
        let message = course_tests::panic_text(&*failure);
        assert!(message.contains("deadlock"), "{message}");
    }
}
