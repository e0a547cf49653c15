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
//! The numbers depend on the free cores, the load and the build (`cargo run`
//! builds module 6 optimised: the root Cargo.toml). Rounds after a warm-up
//! (the `measure` crate); the median, the spread, and a `verdict:` that
//! compares the variants round by round.
//!
//! - Run all steps: `cargo run -p module_06 --bin lesson_04`
//! - Run one step:  `cargo run -p module_06 --bin lesson_04 -- try_lock_for`
//!
//! A plain `lock()` already spins briefly and then sleeps in the kernel until
//! the holder wakes it; hand-written retry pays off when the caller has
//! something better to do than wait, or must give up after a while.
//!
//! Try:
//! - Set `ATTEMPT_TIMEOUT` to 400 ms and run `-- try_lock_for`: one attempt,
//!   acquired after about 300 ms: the waiter wakes when the holder lets go,
//!   not when its timeout ends.
//! - In `BackoffPolicy::ceiling`, write `2u32.pow` for `2u32.saturating_pow`
//!   and run `cargo test -p module_06 --bin lesson_04`: the cap test gets
//!   `0ns` for `1ms`. The power wrapped to 0 without a panic: module 6 is
//!   built without overflow checks (root Cargo.toml).

use std::hint::black_box;
use std::sync::{Barrier, Mutex, MutexGuard, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_utils::Backoff;
use measure::{RUNS, Runs, best_marker, conditions, repeat_each, verdict_on_fastest};
use module_06::{Table, thread_count, work};
use step_runner::{Sink, Step, lesson_id};

/// Increments per thread per round.
const INCREMENTS_PER_THREAD: u64 = 2_000;
/// Work done while holding the lock (a microsecond or two).
const HELD_ROUNDS: u32 = 1_000;
/// The try_lock_for demo: how long the holder keeps the lock, and how long
/// each attempt waits before giving up.
const HOLD: Duration = Duration::from_millis(300);
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(100);

/// A back-off schedule: the pause after failed attempt `n` grows from
/// `base` — linearly (base, 2·base, 3·base, …) or exponentially (base,
/// 2·base, 4·base, …) — never exceeds `cap`, and with `jitter` is drawn at
/// random from `0..=that` ("full jitter"), so that threads which failed
/// together do not all retry at the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BackoffPolicy {
    label: &'static str,
    exponential: bool,
    base: Duration,
    cap: Duration,
    jitter: bool,
}

impl BackoffPolicy {
    const LINEAR: Self = Self {
        label: "try_lock, linear back-off",
        exponential: false,
        base: Duration::from_micros(50),
        cap: Duration::from_millis(1),
        jitter: false,
    };
    const EXPONENTIAL: Self = Self {
        label: "try_lock, exponential back-off",
        exponential: true,
        base: Duration::from_micros(10),
        ..Self::LINEAR
    };
    const EXPONENTIAL_JITTER: Self = Self {
        label: "try_lock, exponential + jitter",
        jitter: true,
        ..Self::EXPONENTIAL
    };

    /// The pause after the `attempt`-th failure (1-based), before jitter.
    /// Saturating arithmetic: attempt 100 must not overflow, just hit the cap.
    fn ceiling(&self, attempt: u32) -> Duration {
        let factor = if self.exponential {
            2u32.saturating_pow(attempt.saturating_sub(1))
        } else {
            attempt
        };
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The pause to actually sleep after the `attempt`-th failure.
    fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let jittered = || Duration::from_nanos(rand::random_range(0..=ceiling.as_nanos() as u64));
        if self.jitter { jittered() } else { ceiling }
    }
}

/// The retry loop every strategy below shares: `try_lock`, and after each
/// failure `pause(failures so far)`, which waits and returns whether to try
/// again (`false`: stop retrying and block in `lock()`). Returns the guard
/// and how many attempts failed.
fn try_lock_retrying<T>(
    mutex: &Mutex<T>,
    mut pause: impl FnMut(u32) -> bool,
) -> (MutexGuard<'_, T>, u32) {
    let mut failures = 0;
    loop {
        match mutex.try_lock() {
            Ok(guard) => return (guard, failures),
            Err(TryLockError::WouldBlock) => {
                failures += 1;
                if !pause(failures) {
                    return (mutex.lock().expect(POISONED), failures);
                }
            }
            Err(TryLockError::Poisoned(_)) => panic!("{POISONED}"),
        }
    }
}

const POISONED: &str = "a thread panicked holding the lock";

/// Retries after sleeping per `policy`, without limit (the cap bounds each
/// pause); to give up instead, bound the attempts or use a timed lock as in
/// `try_lock_for_demo`.
fn lock_with_backoff<'a, T>(
    mutex: &'a Mutex<T>,
    policy: &BackoffPolicy,
) -> (MutexGuard<'a, T>, u32) {
    try_lock_retrying(mutex, |failures| {
        // Linux rounds short sleeps up to ~50 µs or more (timer slack,
        // scheduling): the schedule is a lower bound.
        thread::sleep(policy.delay(failures));
        true
    })
}

/// Pauses with `crossbeam_utils::Backoff`: a few exponentially longer spins,
/// then `yield_now`; once the back-off reports it is completed, waiting
/// longer by hand is pointless, so it falls back to the blocking `lock()`,
/// which sleeps in the kernel.
fn lock_with_snooze<T>(mutex: &Mutex<T>) -> (MutexGuard<'_, T>, u32) {
    let backoff = Backoff::new();
    try_lock_retrying(mutex, |_| {
        let go_on = !backoff.is_completed();
        if go_on {
            backoff.snooze();
        }
        go_on
    })
}

/// Retries at once: the anti-pattern the back-off strategies improve on.
fn lock_spinning<T>(mutex: &Mutex<T>) -> (MutexGuard<'_, T>, u32) {
    try_lock_retrying(mutex, |_| {
        std::hint::spin_loop();
        true
    })
}

/// How the threads of the retry demo take the lock: a name for the table,
/// and the function (non-capturing closures are plain `fn` pointers).
type Strategy = (&'static str, fn(&Mutex<u64>) -> (MutexGuard<'_, u64>, u32));

const BLOCKING: Strategy = ("lock() (blocking)", |m| (m.lock().expect(POISONED), 0));

const STRATEGIES: [Strategy; 6] = [
    BLOCKING,
    ("try_lock, retry at once", lock_spinning),
    (BackoffPolicy::LINEAR.label, |m| {
        lock_with_backoff(m, &BackoffPolicy::LINEAR)
    }),
    (BackoffPolicy::EXPONENTIAL.label, |m| {
        lock_with_backoff(m, &BackoffPolicy::EXPONENTIAL)
    }),
    (BackoffPolicy::EXPONENTIAL_JITTER.label, |m| {
        lock_with_backoff(m, &BackoffPolicy::EXPONENTIAL_JITTER)
    }),
    ("try_lock, crossbeam Backoff", lock_with_snooze),
];

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
fn retry((_, lock): Strategy, threads: usize, increments: u64, held_rounds: u32) -> RetryRun {
    let counter = Mutex::new(0u64);
    let start = Instant::now();
    let (failures, most) = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let (mut failures, mut most) = (0u64, 0u32);
                    for _ in 0..increments {
                        let (mut guard, failed) = lock(&counter);
                        black_box(work(*guard, held_rounds));
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

/// Demo: a holder keeps a `parking_lot::Mutex` for `hold`; meanwhile another
/// thread calls `try_lock_for(timeout)` until it succeeds (at most
/// `max_attempts` times), free to do other work between attempts, and
/// reports each attempt to `sink` as it ends. Returns the value the waiter
/// found: the holder's, since it got the lock only after the holder let go.
fn try_lock_for_demo(
    hold: Duration,
    timeout: Duration,
    max_attempts: u32,
    sink: &Sink,
) -> Option<&'static str> {
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
        for n in 1..=max_attempts {
            let asked = Instant::now();
            // Unlike a `try_lock` loop, the waiter is parked in the lock's
            // queue and woken the moment the lock is released.
            let guard = data.try_lock_for(timeout);
            let outcome = ["timed out", "acquired"][usize::from(guard.is_some())];
            let waited_ms = asked.elapsed().as_secs_f64() * 1e3;
            sink.note(format!("attempt {n}: {outcome} after {waited_ms:.1} ms"));
            if let Some(guard) = guard {
                return Some(*guard);
            }
        }
        None
    })
}

/// Step `schedule`: the pauses each policy would sleep (computed, not timed).
fn show_schedule() {
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
    println!("linear: 50 µs steps; exponential: from 10 µs, doubling; both capped at 1 ms");
}

/// Step `retry`: every strategy, repeated; the verdict compares the two
/// fastest.
fn show_retry() {
    let threads = thread_count();
    let total = threads as u64 * INCREMENTS_PER_THREAD;
    let runs = repeat_each(RUNS, STRATEGIES.len(), |v| {
        let run = retry(STRATEGIES[v], threads, INCREMENTS_PER_THREAD, HELD_ROUNDS);
        assert_eq!(run.counter, total, "an increment was lost");
        run
    });
    let walls: Vec<Runs> = runs
        .iter()
        .map(|r| Runs::new(r.iter().map(|r| r.wall.as_secs_f64() * 1e3)))
        .collect();
    let mut table = Table::new([
        "strategy",
        "wall, ms (median)",
        "spread, ms",
        "failed tries per increment",
        "most in a row",
        "",
    ]);
    for (i, ((label, _), runs)) in STRATEGIES.iter().zip(&runs).enumerate() {
        let failures: u64 = runs.iter().map(|r| r.failures).sum();
        let most = runs.iter().fold(0, |m, r| m.max(r.most_failures_in_a_row));
        table.row([
            label.to_string(),
            walls[i].median_cell(),
            walls[i].spread_cell(),
            format!("{:.2}", failures as f64 / (total * RUNS as u64) as f64),
            most.to_string(),
            best_marker(&walls, i).to_owned(),
        ]);
    }
    print!("{table}");
    println!(
        "{threads} threads x {INCREMENTS_PER_THREAD} increments, the lock held for \
         {HELD_ROUNDS} rounds of work each time, {RUNS} runs; the counter reached {total} every time"
    );
    println!("{}", conditions!());
    let named: Vec<(&str, &Runs)> = STRATEGIES.iter().map(|s| s.0).zip(&walls).collect();
    println!("{}", verdict_on_fastest(&named));
    // Retrying at once fails thousands of times in a row and steals CPU
    // from the holder. Back-off fails a few times and sleeps in between;
    // each sleep lasts at least the kernel's granularity (~50 µs), so a
    // too-long pause wastes wall time once the lock is free: that is what
    // the cap is for. crossbeam's Backoff spins, then yields, and after ten
    // steps reports `is_completed` ("blocking the thread is advised", its
    // docs); then this code calls lock(). The blocking lock() does all this
    // inside the lock, and the kernel wakes the next waiter.
}

/// Step `try_lock_for`: each timed attempt, printed as it ends.
fn show_try_lock_for() {
    println!(
        "the holder keeps the lock for {HOLD:?}; each attempt waits up to {ATTEMPT_TIMEOUT:?}"
    );
    match try_lock_for_demo(HOLD, ATTEMPT_TIMEOUT, 10, &Sink::stdout()) {
        Some(value) => println!("the waiter found: {value:?}"),
        None => println!("the waiter gave up"),
    }
}

fn main() -> std::process::ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 6.4 — Lock retry with back-off («Повторная попытка блокировки с откатом»)",
        &[
            Step::new(
                "schedule",
                "the pause after each failed attempt",
                show_schedule,
            ),
            Step::new(
                "retry",
                "blocking vs spinning vs back-off strategies",
                show_retry,
            ),
            Step::new(
                "try_lock_for",
                "give up after a timeout, try again later",
                show_try_lock_for,
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
        for strategy in STRATEGIES {
            let run = course_tests::deadline(Duration::from_secs(20), move || {
                retry(strategy, 3, 100, 50)
            });
            assert_eq!(run.counter, 300, "{}", strategy.0);
            assert!(u64::from(run.most_failures_in_a_row) <= run.failures);
        }
        let blocking =
            course_tests::deadline(Duration::from_secs(20), || retry(BLOCKING, 3, 100, 50));
        assert_eq!(blocking.failures, 0);
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
        let (found, lines) = course_tests::deadline(Duration::from_secs(20), || {
            let sink = Sink::collect();
            let hold = Duration::from_millis(100);
            let found = try_lock_for_demo(hold, Duration::from_millis(10), 1_000, &sink);
            (found, sink.lines())
        });
        assert_eq!(found, Some("written by the holder"));
        let (last, earlier) = lines.split_last().expect("at least one attempt");
        assert!(last.contains(": acquired after "), "{last}");
        for line in earlier {
            // "attempt 3: timed out after 10.1 ms": each waited its timeout.
            let ms: f64 = line
                .strip_suffix(" ms")
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|n| n.parse().ok())
                .expect("an attempt line ends in its time");
            assert!(line.contains(": timed out after ") && ms >= 10.0, "{line}");
        }
    }
}
