//! Lesson 6.1 — Lock contention («Конкуренция за блокировку»)
//!
//! When many threads need one lock, they spend their time waiting for it and
//! the program runs as if it had one core. The cure is a shorter critical
//! section: compute outside the lock, hold it only to publish the result.
//! Then the lock implementation matters less — but it still decides who gets
//! the lock next, which the second demo measures for std, parking_lot and
//! parking_lot's `FairMutex`.
//!
//! | Python                               | Rust                                           |
//! |--------------------------------------|------------------------------------------------|
//! | `lock = threading.Lock()`            | `Mutex<T>` (the lock owns the data it guards)  |
//! | `with lock: total += work(x)`        | `*m.lock().unwrap() += work(x)` (hot lock)     |
//! | `r = work(x)` then `with lock: …`    | `let r = work(x); *m.lock().unwrap() += r;`    |
//! | (no choice of lock implementation)   | `parking_lot::Mutex`, `parking_lot::FairMutex` |
//! | `time.perf_counter()` around acquire | `Instant::now()` around `lock()`               |
//!
//! The numbers depend on the free cores, the load and the build (`cargo run`
//! builds module 6 optimised: the root Cargo.toml). Rounds after a warm-up
//! (the `measure` crate); the median, the spread, and a `verdict:` that
//! compares the variants round by round.
//!
//! - Run all steps: `cargo run -p module_06 --bin lesson_01`
//! - Run one step:  `cargo run -p module_06 --bin lesson_01 -- mutex_kinds`
//!
//! In CPython with the GIL, the GIL already serialises the `work` itself, so
//! moving it out of the lock gains little there (the free-threaded build,
//! 3.13t and later, runs it in parallel); in Rust the threads really run in
//! parallel, and the shorter critical section scales with the cores.
//!
//! Try:
//! - Delete `let total = &total;` in `contention` and build: error E0507,
//!   "cannot move out of `total`": without it, the `move` closure would
//!   take the `Mutex` itself, and only one thread can own it.
//! - In `Ledger::record`, replace `work(self.count, HELD_ROUNDS)` with
//!   `self.count` and run `-- mutex_kinds`: ns per lock falls from
//!   thousands to a few (here about 2,900 to 6–9). The lock is cheap; the
//!   work held inside it is what the others wait for.

use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use measure::{Gap, RUNS, Runs, conditions, gap, measure_ms, repeat_each, time, verdict};
use module_06::{Table, thread_count, work};
use step_runner::{Step, lesson_id};

/// Tasks per thread in the contention demo.
const TASKS_PER_THREAD: u64 = 5_000;
/// Cost of one task: rounds of integer mixing (a microsecond or two).
const WORK_ROUNDS: u32 = 1_000;
/// Work done while holding the lock in the fairness demo (a microsecond or
/// two): long enough that waiters stop spinning and park in the lock's queue.
const HELD_ROUNDS: u32 = 1_000;
/// How long each lock kind is hammered in the fairness demo.
const WINDOW: Duration = Duration::from_millis(100);

/// The expected result: every task's work, added up on one thread.
fn sequential_total(threads: usize, tasks: u64, rounds: u32) -> u64 {
    (0..threads as u64 * tasks).map(|i| work(i, rounds)).sum()
}

/// Where the work happens relative to the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// `lock; total += work(i); unlock` — the whole task is critical.
    WorkInsideLock,
    /// `r = work(i); lock; total += r; unlock` — only the addition is.
    WorkOutsideLock,
}

/// One run of the contention demo.
#[derive(Debug, Clone, Copy)]
struct ContentionRun {
    total: u64,
    wall: Duration,
    /// Time the threads spent inside `lock()`, waiting, summed over threads.
    waiting: Duration,
}

/// Demo: `threads` threads each run `tasks` tasks and add their results to
/// one `Mutex<u64>`, with the work inside or outside the critical section.
fn contention(section: Section, threads: usize, tasks: u64, rounds: u32) -> ContentionRun {
    let total = Mutex::new(0u64);
    let start = Instant::now();
    let waiting: Duration = thread::scope(|s| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|t| {
                // `move` copies this reference into each thread, so all of
                // them share the one lock; the scope outlives the threads.
                let total = &total;
                s.spawn(move || {
                    let mut waited = Duration::ZERO;
                    for i in t * tasks..(t + 1) * tasks {
                        // Reading the clock costs ~25 ns, small next to a
                        // microsecond task, so timing each wait is honest here.
                        match section {
                            Section::WorkInsideLock => {
                                let asked = Instant::now();
                                let mut guard = total.lock().unwrap();
                                waited += asked.elapsed();
                                *guard += work(i, rounds);
                            }
                            Section::WorkOutsideLock => {
                                let result = work(i, rounds);
                                let asked = Instant::now();
                                let mut guard = total.lock().unwrap();
                                waited += asked.elapsed();
                                *guard += result;
                            }
                        }
                    }
                    waited
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a worker panicked"))
            .sum()
    });
    ContentionRun {
        // `unwrap`: no worker panicked while holding the lock (joined above).
        total: total.into_inner().unwrap(),
        wall: start.elapsed(),
        waiting,
    }
}

/// The lock implementations the second demo compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Std,
    ParkingLot,
    ParkingLotFair,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Std, Kind::ParkingLot, Kind::ParkingLotFair];

    fn label(self) -> &'static str {
        match self {
            Kind::Std => "std::sync::Mutex",
            Kind::ParkingLot => "parking_lot::Mutex",
            Kind::ParkingLotFair => "parking_lot::FairMutex",
        }
    }
}

/// What the lock protects in the fairness demo: a counter, and who took the
/// lock last, to count hand-offs from one thread to another.
#[derive(Debug, Default)]
struct Ledger {
    count: u64,
    checksum: u64,
    last_owner: Option<usize>,
    handoffs: u64,
}

impl Ledger {
    fn record(&mut self, me: usize) {
        // A little work inside the lock, so that waiters actually queue up.
        self.checksum ^= work(self.count, HELD_ROUNDS);
        self.count += 1;
        if self.last_owner != Some(me) {
            self.handoffs += 1;
            self.last_owner = Some(me);
        }
    }
}

/// One run of the fairness demo.
#[derive(Debug, Clone)]
struct KindRun {
    ledger_count: u64,
    handoffs: u64,
    /// How many times each thread got the lock.
    per_thread: Vec<u64>,
    elapsed: Duration,
}

/// Runs `threads` threads that take the lock as often as they can until
/// `window` has passed; `record(me)` takes the lock once for thread `me`.
fn hammer(threads: usize, window: Duration, record: impl Fn(usize) + Sync) -> (Vec<u64>, Duration) {
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let per_thread = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|me| {
                let (stop, record) = (&stop, &record);
                s.spawn(move || {
                    let mut mine = 0u64;
                    // Relaxed: the flag carries no data, only "time is up".
                    while !stop.load(Ordering::Relaxed) {
                        record(me);
                        mine += 1;
                    }
                    mine
                })
            })
            .collect();
        thread::sleep(window);
        stop.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .map(|h| h.join().expect("a worker panicked"))
            .collect()
    });
    (per_thread, start.elapsed())
}

/// Demo: the same hot, tiny critical section on each lock kind.
///
/// std's `Mutex` (a futex on Linux) and `parking_lot::Mutex` are *unfair*: a
/// thread that unlocks and immediately locks again usually wins against the
/// parked waiters, so the lock stays on one core for long runs — good for
/// throughput, bad for latency, and a waiter can starve. (parking_lot 0.13
/// removed the "eventual fairness" that once forced a fair hand-off every
/// 0.5 ms: its CHANGELOG, and its `Mutex` docs, "Fairness".) For fairness,
/// unlock with `MutexGuard::unlock_fair`, or use `FairMutex`, which does so
/// on every unlock: the lock goes straight to a parked waiter. Slower, since
/// every hand-off wakes a parked thread; and not first-in first-out, since a
/// thread still spinning can take the lock before it has parked.
fn mutex_kind(kind: Kind, threads: usize, window: Duration) -> KindRun {
    let (ledger, (per_thread, elapsed)) = match kind {
        Kind::Std => {
            let m = Mutex::new(Ledger::default());
            let run = hammer(threads, window, |me| m.lock().unwrap().record(me));
            (m.into_inner().unwrap(), run)
        }
        Kind::ParkingLot => {
            let m = parking_lot::Mutex::new(Ledger::default());
            let run = hammer(threads, window, |me| m.lock().record(me));
            (m.into_inner(), run)
        }
        Kind::ParkingLotFair => {
            let m = parking_lot::FairMutex::new(Ledger::default());
            let run = hammer(threads, window, |me| m.lock().record(me));
            (m.into_inner(), run)
        }
    };
    KindRun {
        ledger_count: ledger.count,
        handoffs: ledger.handoffs,
        per_thread,
        elapsed,
    }
}

/// Step `contention`: the sequential baseline, then both critical sections,
/// each repeated; the verdict compares the two sections.
fn show_contention() {
    let threads = thread_count();
    let expected = sequential_total(threads, TASKS_PER_THREAD, WORK_ROUNDS);
    // `black_box` on the result: an unused result would let the optimiser
    // delete the whole computation.
    let sequential = measure_ms(RUNS, || {
        time(|| black_box(sequential_total(threads, TASKS_PER_THREAD, WORK_ROUNDS))).1
    });
    let mut table = Table::new([
        "variant",
        "wall, ms (median)",
        "spread, ms",
        "waiting, % of thread time (median)",
    ]);
    table.row([
        "one thread, no lock".to_owned(),
        sequential.median_cell(),
        sequential.spread_cell(),
        "-".to_owned(),
    ]);
    let sections = [Section::WorkInsideLock, Section::WorkOutsideLock];
    let mut walls = Vec::new();
    let all_runs = repeat_each(RUNS, sections.len(), |v| {
        let run = contention(sections[v], threads, TASKS_PER_THREAD, WORK_ROUNDS);
        assert_eq!(run.total, expected, "a lost update");
        run
    });
    for (section, runs) in sections.iter().zip(all_runs) {
        let wall = Runs::new(runs.iter().map(|r| r.wall.as_secs_f64() * 1e3));
        let waiting =
            Runs::new(runs.iter().map(|r| {
                100.0 * r.waiting.as_secs_f64() / (r.wall.as_secs_f64() * threads as f64)
            }));
        table.row([
            format!("{section:?}"),
            wall.median_cell(),
            wall.spread_cell(),
            format!("{:.0}", waiting.median()),
        ]);
        walls.push(wall);
    }
    print!("{table}");
    println!("{threads} threads x {TASKS_PER_THREAD} tasks, total {expected} in every run");
    println!("{}", conditions!());
    println!(
        "{}",
        verdict(
            "work outside the lock",
            &walls[1],
            "work inside it",
            &walls[0]
        )
    );
    // Work inside the lock: only one thread computes at a time, so the wall
    // time is no better than one thread's, and the others wait. Work
    // outside: the lock is held for one addition, waits nearly vanish, and
    // the wall time drops towards sequential / cores -- when the cores are
    // free: on a machine busy with other work, the threads take turns on
    // the CPU anyway and the verdict may find no clear difference. (A thread
    // the scheduler has not run is not waiting in `lock()`, so under load
    // the waiting column shrinks too.)
}

/// Step `mutex_kinds`: each lock kind hammered for a window, repeated.
fn show_mutex_kinds() {
    let threads = thread_count();
    let mut table = Table::new([
        "lock",
        "ns per lock (median)",
        "spread",
        "locks per hand-off (median)",
        "spread",
        "fewest / most per thread, %",
    ]);
    let mut per_hand_off = Vec::new();
    let all_runs = repeat_each(RUNS, Kind::ALL.len(), |v| {
        mutex_kind(Kind::ALL[v], threads, WINDOW)
    });
    for (kind, runs) in Kind::ALL.iter().zip(all_runs) {
        let ns = Runs::new(
            runs.iter()
                .map(|r| r.elapsed.as_nanos() as f64 / r.ledger_count.max(1) as f64),
        );
        let runs_of = Runs::new(
            runs.iter()
                .map(|r| r.ledger_count as f64 / r.handoffs.max(1) as f64),
        );
        let evenness = Runs::new(runs.iter().map(|r| {
            let min = r.per_thread.iter().min().copied().unwrap_or(0);
            let max = r.per_thread.iter().max().copied().unwrap_or(0);
            100.0 * min as f64 / max.max(1) as f64
        }));
        table.row([
            kind.label().to_owned(),
            ns.median_cell(),
            ns.spread_cell(),
            runs_of.median_cell(),
            runs_of.spread_cell(),
            format!("{:.0}", evenness.median()),
        ]);
        per_hand_off.push(runs_of);
    }
    print!("{table}");
    println!("{threads} threads, each locking as often as it can for {WINDOW:?}, {RUNS} runs");
    println!("{}", conditions!());
    let (unfair, fair) = (&per_hand_off[0], &per_hand_off[2]);
    let verdict = match gap(fair, unfair) {
        Gap::FirstLower { ratio, .. } => format!(
            "FairMutex hands the lock to another thread {ratio:.0}× as often as std's Mutex here"
        ),
        Gap::SecondLower { ratio, .. } => format!(
            "std's Mutex hands the lock to another thread {ratio:.0}× as often as FairMutex here"
        ),
        Gap::Unclear(_) => "no clear difference in hand-offs between std's Mutex and FairMutex \
                            here: neither had clearly shorter runs in enough rounds"
            .to_owned(),
    };
    println!("verdict: {verdict}");
    // "Locks per hand-off": how many times in a row one thread got the lock.
    // Unfair locks show long runs (cheap: lock and data stay in one core's
    // cache, nobody is woken). FairMutex hands each unlock straight to a
    // parked waiter (one still spinning is not queued yet), paying a wake-up
    // each time. On a busy machine the scheduler's time slices also decide
    // who runs, which blurs every column: a thread that is not running is
    // not parked in the lock's queue, so there is no one to hand over to.
}

fn main() -> std::process::ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 6.1 — Lock contention («Конкуренция за блокировку»)",
        &[
            Step::new(
                "contention",
                "work inside vs outside one hot lock",
                show_contention,
            ),
            Step::new(
                "mutex_kinds",
                "std vs parking_lot vs FairMutex",
                show_mutex_kinds,
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_critical_sections_give_the_sequential_total() {
        let expected = sequential_total(3, 200, 50);
        for section in [Section::WorkInsideLock, Section::WorkOutsideLock] {
            let run = course_tests::deadline(Duration::from_secs(20), move || {
                contention(section, 3, 200, 50)
            });
            assert_eq!(run.total, expected, "{section:?}");
            assert!(run.waiting <= run.wall * 3, "waiting is per-thread time");
        }
    }

    #[test]
    fn every_lock_kind_counts_every_acquisition() {
        for kind in Kind::ALL {
            let run = course_tests::deadline(Duration::from_secs(20), move || {
                mutex_kind(kind, 3, Duration::from_millis(20))
            });
            assert_eq!(run.per_thread.len(), 3);
            assert_eq!(
                run.ledger_count,
                run.per_thread.iter().sum::<u64>(),
                "{kind:?}"
            );
            assert!(run.handoffs <= run.ledger_count);
            assert_eq!(run.handoffs == 0, run.ledger_count == 0);
        }
    }

    #[test]
    fn the_ledger_counts_handoffs() {
        let mut ledger = Ledger::default();
        for me in [0, 0, 1, 1, 1, 0] {
            ledger.record(me);
        }
        assert_eq!((ledger.count, ledger.handoffs), (6, 3));
    }
}
