//! Lesson 6.4 — Lock retry with back-off («Повторная попытка блокировки с откатом»)
//!
//! `try_lock` never waits: when the lock is busy, the caller decides what to
//! do. Retrying at once burns a core and fights the holder for the CPU;
//! retrying after a pause that grows — linearly or exponentially, up to a
//! cap, with random jitter so the waiters do not all wake together — leaves
//! the holder room to finish. For short waits `crossbeam_utils::Backoff`
//! spins, then yields; for "give up after a while", `parking_lot`'s
//! `try_lock_for` waits with a timeout.
//!
//! | Python                                   | Rust                                          |
//! |------------------------------------------|-----------------------------------------------|
//! | `lock.acquire(blocking=False)`           | `mutex.try_lock()` → `Err(WouldBlock)`        |
//! | `time.sleep(delay)`; `delay *= 2`        | `thread::sleep(policy.delay(attempt))`        |
//! | `min(cap, delay)`, `random.uniform(0, d)` | `.min(cap)`, `rand::random_range(0..=d)`     |
//! | (no spin helper)                         | `crossbeam_utils::Backoff::snooze()`          |
//! | `lock.acquire(timeout=0.1)`              | `parking_lot::Mutex::try_lock_for(100 ms)`    |
//! | `lock.acquire()`                         | `mutex.lock()`                                |
//!
//! Debug builds distort these numbers: for real ones run
//! `cargo run --release -p module_06 --bin lesson_04`.
//!
//! Run all steps: `cargo run -p module_06 --bin lesson_04`
//! Run one step:  `cargo run -p module_06 --bin lesson_04 -- try_lock_for`
//!
//! A plain `lock()` already spins briefly and then sleeps in the kernel until
//! the holder wakes it; hand-written retry pays off when the caller has
//! something better to do than wait, or must give up after a while.

use std::hint::black_box;
use std::sync::{Barrier, Mutex, MutexGuard, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_utils::Backoff;
use module_06::{Table, fmt_ms, fmt_ns, median_of, ns_per_op, profile_note};
use step_runner::{Step, lesson_id};

/// Threads working at once: one per core this process may use, at least
/// two, so that threads really can collide over a lock.
fn thread_count() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get().max(2))
}
/// Increments per thread per round.
const INCREMENTS_PER_THREAD: u64 = 2_000;
/// Work done while holding the lock (a microsecond or two).
const HELD_ROUNDS: u32 = 1_000;
/// Measured rounds after the warm-up; the median is reported.
const ROUNDS: usize = 3;
/// The try_lock_for demo: how long the holder keeps the lock, and how long
/// each attempt waits before giving up.
const HOLD: Duration = Duration::from_millis(300);
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(100);

/// How the pause grows from one failed attempt to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Growth {
    /// base, 2·base, 3·base, …
    Linear,
    /// base, 2·base, 4·base, …
    Exponential,
}

/// A back-off schedule: the pause after failed attempt `n` grows from
/// `base`, never exceeds `cap`, and with `jitter` is drawn at random from
/// `0..=that` ("full jitter"), so that threads which failed together do not
/// all retry at the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BackoffPolicy {
    growth: Growth,
    base: Duration,
    cap: Duration,
    jitter: bool,
}

impl BackoffPolicy {
    const LINEAR: Self = Self {
        growth: Growth::Linear,
        base: Duration::from_micros(50),
        cap: Duration::from_millis(1),
        jitter: false,
    };
    const EXPONENTIAL: Self = Self {
        growth: Growth::Exponential,
        base: Duration::from_micros(10),
        cap: Duration::from_millis(1),
        jitter: false,
    };
    const EXPONENTIAL_JITTER: Self = Self {
        jitter: true,
        ..Self::EXPONENTIAL
    };

    /// The pause after the `attempt`-th failure (1-based), before jitter.
    /// Saturating arithmetic: attempt 100 must not overflow, just hit the cap.
    fn ceiling(&self, attempt: u32) -> Duration {
        let factor = match self.growth {
            Growth::Linear => attempt,
            Growth::Exponential => 2u32.saturating_pow(attempt.saturating_sub(1)),
        };
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The pause to actually sleep after the `attempt`-th failure.
    fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        if self.jitter {
            Duration::from_nanos(rand::random_range(0..=ceiling.as_nanos() as u64))
        } else {
            ceiling
        }
    }
}

/// Takes `mutex` with `try_lock`, sleeping per `policy` after each failure.
/// Returns the guard and how many attempts failed. It retries without limit
/// (the cap bounds each pause); to give up instead, bound the attempts or use
/// a timed lock as in `try_lock_for_demo`.
fn lock_with_backoff<'a, T>(
    mutex: &'a Mutex<T>,
    policy: &BackoffPolicy,
) -> (MutexGuard<'a, T>, u32) {
    let mut failures = 0;
    loop {
        match mutex.try_lock() {
            Ok(guard) => return (guard, failures),
            Err(TryLockError::WouldBlock) => {
                failures += 1;
                // Linux rounds short sleeps up to ~50 µs or more (timer
                // slack, scheduling): the schedule is a lower bound.
                thread::sleep(policy.delay(failures));
            }
            Err(TryLockError::Poisoned(_)) => panic!("a thread panicked holding the lock"),
        }
    }
}

/// Takes `mutex` with `try_lock`, pausing with `crossbeam_utils::Backoff`:
/// a few exponentially longer spins, then `yield_now`; once the back-off
/// reports it is completed, waiting longer by hand is pointless, so it
/// falls back to the blocking `lock()`, which sleeps in the kernel.
fn lock_with_snooze<T>(mutex: &Mutex<T>) -> (MutexGuard<'_, T>, u32) {
    let backoff = Backoff::new();
    let mut failures = 0;
    loop {
        match mutex.try_lock() {
            Ok(guard) => return (guard, failures),
            Err(TryLockError::WouldBlock) => {
                failures += 1;
                if backoff.is_completed() {
                    return (
                        mutex.lock().expect("a thread panicked holding the lock"),
                        failures,
                    );
                }
                backoff.snooze();
            }
            Err(TryLockError::Poisoned(_)) => panic!("a thread panicked holding the lock"),
        }
    }
}

/// Takes `mutex` with `try_lock` and retries at once: the anti-pattern the
/// back-off strategies improve on.
fn lock_spinning<T>(mutex: &Mutex<T>) -> (MutexGuard<'_, T>, u32) {
    let mut failures = 0;
    loop {
        match mutex.try_lock() {
            Ok(guard) => return (guard, failures),
            Err(TryLockError::WouldBlock) => {
                failures += 1;
                std::hint::spin_loop();
            }
            Err(TryLockError::Poisoned(_)) => panic!("a thread panicked holding the lock"),
        }
    }
}

/// How the threads of the retry demo take the lock.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Strategy {
    Blocking,
    Spin,
    Backoff(BackoffPolicy),
    Snooze,
}

impl Strategy {
    const ALL: [Strategy; 6] = [
        Strategy::Blocking,
        Strategy::Spin,
        Strategy::Backoff(BackoffPolicy::LINEAR),
        Strategy::Backoff(BackoffPolicy::EXPONENTIAL),
        Strategy::Backoff(BackoffPolicy::EXPONENTIAL_JITTER),
        Strategy::Snooze,
    ];

    fn label(&self) -> &'static str {
        match self {
            Strategy::Blocking => "lock() (blocking)",
            Strategy::Spin => "try_lock, retry at once",
            Strategy::Backoff(p) => match (p.growth, p.jitter) {
                (Growth::Linear, false) => "try_lock, linear back-off",
                (Growth::Linear, true) => "try_lock, linear back-off + jitter",
                (Growth::Exponential, false) => "try_lock, exponential back-off",
                (Growth::Exponential, true) => "try_lock, exponential + jitter",
            },
            Strategy::Snooze => "try_lock, crossbeam Backoff",
        }
    }

    fn lock<'a, T>(&self, mutex: &'a Mutex<T>) -> (MutexGuard<'a, T>, u32) {
        match self {
            Strategy::Blocking => (mutex.lock().expect("a thread panicked holding the lock"), 0),
            Strategy::Spin => lock_spinning(mutex),
            Strategy::Backoff(policy) => lock_with_backoff(mutex, policy),
            Strategy::Snooze => lock_with_snooze(mutex),
        }
    }
}

/// Some work done while holding the lock, so that others find it busy.
fn held_work(seed: u64, rounds: u32) -> u64 {
    let mut x = seed | 1;
    for _ in 0..black_box(rounds) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// One run of the retry demo.
#[derive(Debug, Clone, Copy)]
struct RetryRun {
    counter: u64,
    failures: u64,
    most_failures_in_a_row: u32,
    wall: Duration,
}

/// Demo: `threads` threads each increment one counter `increments` times,
/// taking the lock by `strategy` and holding it for `held_rounds` of work.
fn retry(strategy: Strategy, threads: usize, increments: u64, held_rounds: u32) -> RetryRun {
    let counter = Mutex::new(0u64);
    let start = Instant::now();
    let (failures, most) = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let (mut failures, mut most) = (0u64, 0u32);
                    for _ in 0..increments {
                        let (mut guard, failed) = strategy.lock(&counter);
                        black_box(held_work(*guard, held_rounds));
                        *guard += 1;
                        drop(guard);
                        failures += u64::from(failed);
                        most = most.max(failed);
                    }
                    (failures, most)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a worker panicked"))
            .fold((0, 0), |(f, m), (f2, m2)| (f + f2, m.max(m2)))
    });
    RetryRun {
        counter: counter
            .into_inner()
            .expect("no worker panicked holding the lock"),
        failures,
        most_failures_in_a_row: most,
        wall: start.elapsed(),
    }
}

/// One `try_lock_for` attempt of the timed demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Attempt {
    acquired: bool,
    waited: Duration,
}

/// Demo: a holder keeps a `parking_lot::Mutex` for `hold`; meanwhile another
/// thread calls `try_lock_for(timeout)` until it succeeds (at most
/// `max_attempts` times), free to do other work between attempts. Returns
/// the attempts and the value the waiter found: the holder's, since the
/// waiter got the lock only after the holder released it.
fn try_lock_for_demo(
    hold: Duration,
    timeout: Duration,
    max_attempts: u32,
) -> (Vec<Attempt>, Option<&'static str>) {
    let data = parking_lot::Mutex::new("initial");
    let locked = Barrier::new(2);
    thread::scope(|s| {
        s.spawn(|| {
            let mut guard = data.lock();
            locked.wait();
            thread::sleep(hold);
            *guard = "written by the holder";
        });
        // Start trying only once the holder really holds the lock.
        locked.wait();
        let mut attempts = Vec::new();
        for _ in 0..max_attempts {
            let asked = Instant::now();
            // Unlike a `try_lock` loop, the waiter is parked in the lock's
            // queue and woken the moment the lock is released.
            let guard = data.try_lock_for(timeout);
            attempts.push(Attempt {
                acquired: guard.is_some(),
                waited: asked.elapsed(),
            });
            if let Some(guard) = guard {
                return (attempts, Some(*guard));
            }
        }
        (attempts, None)
    })
}

fn main() -> std::process::ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 6.4 — Lock retry with back-off («Повторная попытка блокировки с откатом»)",
        &[
            Step::new("schedule", "the pause after each failed attempt", || {
                let policies = [
                    BackoffPolicy::LINEAR,
                    BackoffPolicy::EXPONENTIAL,
                    BackoffPolicy::EXPONENTIAL_JITTER,
                ];
                let mut table = Table::new([
                    "failed attempt",
                    "linear, µs",
                    "exponential, µs",
                    "exponential + jitter, µs",
                ]);
                for attempt in 1..=10 {
                    let mut row = vec![attempt.to_string()];
                    row.extend(
                        policies
                            .iter()
                            .map(|p| p.delay(attempt).as_micros().to_string()),
                    );
                    table.row(row);
                }
                print!("{table}");
                println!(
                    "linear: 50 µs steps; exponential: from 10 µs, doubling; both capped at 1 ms"
                );
            }),
            Step::new(
                "retry",
                "blocking vs spinning vs back-off strategies",
                || {
                    let mut table = Table::new([
                        "strategy",
                        "wall, ms",
                        "ns/increment",
                        "failed tries per increment",
                        "most in a row",
                    ]);
                    let threads = thread_count();
                    let total = threads as u64 * INCREMENTS_PER_THREAD;
                    for strategy in Strategy::ALL {
                        let mut last = None;
                        let wall = median_of(ROUNDS, || {
                            let run = retry(strategy, threads, INCREMENTS_PER_THREAD, HELD_ROUNDS);
                            assert_eq!(run.counter, total, "an increment was lost");
                            last = Some(run);
                            run.wall
                        });
                        let run = last.expect("median_of ran at least once");
                        table.row([
                            strategy.label().to_owned(),
                            fmt_ms(wall),
                            fmt_ns(ns_per_op(wall, total)),
                            format!("{:.2}", run.failures as f64 / total as f64),
                            run.most_failures_in_a_row.to_string(),
                        ]);
                    }
                    print!("{table}");
                    println!(
                        "{threads} threads x {INCREMENTS_PER_THREAD} increments, the lock held for \
                     {HELD_ROUNDS} rounds of work each time; the counter reached {total} in every run"
                    );
                    println!("{}", profile_note("lesson_04"));
                    // Retrying at once fails thousands of times in a row and
                    // steals CPU from the holder. Back-off fails a few times
                    // and sleeps in between; each sleep lasts at least the
                    // kernel's granularity (~50 µs), so a too-long pause wastes
                    // wall time once the lock is free: that is what the cap is
                    // for. crossbeam's Backoff spins, then yields, and after ten
                    // steps reports `is_completed` ("blocking the thread is
                    // advised", its docs); then this code calls lock().
                    // The blocking lock() is usually best: it does all this
                    // inside the lock, and the kernel wakes the next waiter.
                },
            ),
            Step::new(
                "try_lock_for",
                "give up after a timeout, try again later",
                || {
                    let (attempts, found) = try_lock_for_demo(HOLD, ATTEMPT_TIMEOUT, 10);
                    println!(
                        "the holder keeps the lock for {HOLD:?}; each attempt waits up to {ATTEMPT_TIMEOUT:?}"
                    );
                    for (n, attempt) in attempts.iter().enumerate() {
                        let outcome = if attempt.acquired {
                            "acquired"
                        } else {
                            "timed out"
                        };
                        println!(
                            "attempt {}: {outcome} after {} ms",
                            n + 1,
                            fmt_ms(attempt.waited)
                        );
                    }
                    match found {
                        Some(value) => println!("the waiter found: {value:?}"),
                        None => println!("the waiter gave up"),
                    }
                },
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_grow_and_stop_at_the_cap() {
        let micros =
            |p: BackoffPolicy| -> Vec<u128> { (1..=8).map(|a| p.ceiling(a).as_micros()).collect() };
        assert_eq!(
            micros(BackoffPolicy::LINEAR),
            [50, 100, 150, 200, 250, 300, 350, 400]
        );
        assert_eq!(
            micros(BackoffPolicy::EXPONENTIAL),
            [10, 20, 40, 80, 160, 320, 640, 1_000]
        );
        assert_eq!(
            BackoffPolicy::LINEAR.ceiling(1_000),
            Duration::from_millis(1)
        );
        assert_eq!(
            BackoffPolicy::EXPONENTIAL.ceiling(u32::MAX),
            Duration::from_millis(1)
        );
    }

    #[test]
    fn jitter_stays_between_zero_and_the_ceiling() {
        let policy = BackoffPolicy::EXPONENTIAL_JITTER;
        for attempt in 1..=20 {
            for _ in 0..50 {
                assert!(policy.delay(attempt) <= policy.ceiling(attempt));
            }
        }
    }

    #[test]
    fn every_strategy_eventually_acquires_and_every_increment_lands() {
        for strategy in Strategy::ALL {
            let run = course_tests::deadline(Duration::from_secs(20), move || {
                retry(strategy, 3, 100, 50)
            });
            assert_eq!(run.counter, 300, "{}", strategy.label());
            assert!(u64::from(run.most_failures_in_a_row) <= run.failures);
        }
        assert_eq!(
            course_tests::deadline(Duration::from_secs(20), || retry(
                Strategy::Blocking,
                3,
                100,
                50
            ))
            .failures,
            0
        );
    }

    #[test]
    fn backoff_retry_waits_out_a_held_lock() {
        let counter = Mutex::new(0u64);
        let value = course_tests::deadline(Duration::from_secs(20), move || {
            let release = Barrier::new(2);
            thread::scope(|s| {
                s.spawn(|| {
                    let mut guard = counter.lock().unwrap();
                    release.wait();
                    thread::sleep(Duration::from_millis(20));
                    *guard = 41;
                });
                release.wait();
                let (mut guard, _failures) =
                    lock_with_backoff(&counter, &BackoffPolicy::EXPONENTIAL_JITTER);
                *guard += 1;
                *guard
            })
        });
        // The holder took the lock before the retrying thread started, so
        // the retry got it only after the holder's write: 41 + 1.
        assert_eq!(value, 42);
    }

    #[test]
    fn try_lock_for_times_out_then_gets_the_holders_value() {
        let (attempts, found) = course_tests::deadline(Duration::from_secs(20), || {
            try_lock_for_demo(Duration::from_millis(100), Duration::from_millis(10), 1_000)
        });
        assert_eq!(found, Some("written by the holder"));
        let (last, earlier) = attempts.split_last().expect("at least one attempt");
        assert!(last.acquired);
        assert!(
            earlier
                .iter()
                .all(|a| !a.acquired && a.waited >= Duration::from_millis(10))
        );
    }
}
