//! Lesson 8.1 — Thread-safe counter («Потокобезопасный счетчик»)
//!
//! `counter += 1` in Python is a read, an add and a write, and nothing makes
//! the sequence atomic. On CPython 3.11 `dis` shows four bytecodes for it
//! (`LOAD_GLOBAL`, `LOAD_CONST`, `BINARY_OP (+=)`, `STORE_GLOBAL`). CPython
//! 3.10 and later do not switch threads between them in practice (8 threads
//! × 1,000,000 increments of a global gave 8,000,000 in each of three runs
//! on 3.11), but the language promises nothing: other versions and
//! implementations, and free-threaded builds, can lose updates, and a read,
//! then anything that lets another thread run (`time.sleep(0)`), then the
//! write loses most of them today (8 threads × 1,000 gave about 1,050 of
//! 8,000 on 3.11). Rust refuses to compile the unsynchronised version; the
//! fixes are a `Mutex<u64>` or, for a plain number, an `AtomicU64`, wrapped
//! here in a small counter type.
//!
//! | Python                                  | Rust                                          |
//! |-----------------------------------------|-----------------------------------------------|
//! | `counter += 1` in many threads          | does not compile (E0499 / E0594, see below)   |
//! | `lock = threading.Lock()` + `with lock:` | `Mutex<u64>` + `*counter.lock().unwrap() += 1` |
//! | (no atomic integers in `threading`)     | `AtomicU64::fetch_add(1, Ordering::Relaxed)`  |
//! | `next(itertools.count())` as an id      | `fetch_add` returns the previous value        |
//! | a class holding a value and a lock      | `struct Counter { value: AtomicU64 }`         |
//!
//! - Run all steps: `cargo run -p module_08 --bin lesson_01`
//! - Run one step:  `cargo run -p module_08 --bin lesson_01 -- atomic_counter`
//!
//! Try: in `lost_update`, replace the `load` and `store` with one
//! `counter.fetch_add(1, Ordering::Relaxed)` and run the tests: which one
//! fails, and why does the barrier in it make the failure certain?

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use step_runner::{Step, lesson_id};

const TITLE: &str = "Lesson 8.1 — Thread-safe counter («Потокобезопасный счетчик»)";

/// How many threads increment the counter, and how often each.
const THREADS: u64 = 8;
const INCREMENTS: u64 = 100_000;

// The Python pattern, written in Rust, does not compile:
//
//     let mut counter: u64 = 0;
//     thread::scope(|s| {
//         for _ in 0..THREADS {
//             s.spawn(|| for _ in 0..INCREMENTS { counter += 1 });
//         }
//     });
//
//     error[E0499]: cannot borrow `counter` as mutable more than once at a time
//
// and neither does sharing it through an `Arc` (which hands out `&u64` only):
//
//     error[E0594]: cannot assign to data in an `Arc`
//
// A `&mut` is exclusive, so two threads can never hold one to the same value.
// Both errors are checked by the compiler, beside the version that
// compiles: `compile_checks::lesson_01` in `module_08/src/lib.rs`
// (`cargo test -p module_08 --doc`).

/// The lost update, reproduced without undefined behaviour: `load` and
/// `store` are each atomic, but the read-add-write *sequence* is not, just as
/// Python's `counter += 1` is several bytecodes. Returns the final count,
/// which is usually below `threads * increments`.
///
/// `between` runs between each load and its store. The demo passes a no-op
/// and leaves the interleaving to chance; the test passes a barrier, which
/// makes every thread load before any stores, as Python's read, sleep,
/// write does.
fn lost_update(threads: u64, increments: u64, between: impl Fn() + Sync) -> u64 {
    let counter = AtomicU64::new(0);
    // Start every thread at once so their loops overlap; otherwise the first
    // threads may finish before the last ones are even spawned.
    let start = Barrier::new(threads as usize);
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                start.wait();
                for _ in 0..increments {
                    let seen = counter.load(Ordering::Relaxed);
                    // Another thread may store between this load and store;
                    // its increment is then overwritten.
                    between();
                    counter.store(seen + 1, Ordering::Relaxed);
                }
            });
        }
    });
    counter.into_inner()
}

fn show_lost_update() {
    let expected = THREADS * INCREMENTS;
    let got = lost_update(THREADS, INCREMENTS, || {});
    println!("expected {expected}, got {got}: {} lost", expected - got);
}

/// Fix 1: a `Mutex<u64>`. The guard makes read-add-write one critical
/// section. Works for any data, not just numbers.
fn mutex_counter(threads: u64, increments: u64) -> u64 {
    let counter = Mutex::new(0u64);
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..increments {
                    // `unwrap` on `lock()` here, and on `join()` all through
                    // module 8: either fails only when another thread
                    // panicked, and then passes that panic on, which is all
                    // there is to do with it. (`+= 1` on these counts cannot
                    // overflow.)
                    *counter.lock().unwrap() += 1;
                }
            });
        }
    });
    counter.into_inner().unwrap()
}

fn show_mutex_counter() {
    let got = mutex_counter(THREADS, INCREMENTS);
    println!("expected {}, got {got}", THREADS * INCREMENTS);
}

/// Fix 2: an `AtomicU64`. `fetch_add` is one indivisible read-modify-write
/// operation, with no lock to wait for. How the CPU does it varies: on
/// x86-64 one `lock`-prefixed instruction; on AArch64 without the LSE
/// atomics a load-exclusive/store-exclusive loop that retries until no
/// other core wrote in between. Either way no increment is lost.
fn atomic_counter(threads: u64, increments: u64) -> u64 {
    let counter = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..increments {
                    // `Relaxed` is enough: no other data is published through
                    // the counter, and the final read happens after the
                    // scope has joined every thread, which synchronises.
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    counter.into_inner()
}

fn show_atomic_counter() {
    let got = atomic_counter(THREADS, INCREMENTS);
    println!("expected {}, got {got}", THREADS * INCREMENTS);
}

/// A thread-safe counter to share between threads (`Arc<Counter>`) or keep
/// in a `static`. Every method takes `&self`: the atomic does the
/// synchronisation, so no `&mut` and no lock are needed.
#[derive(Debug, Default)]
pub struct Counter {
    value: AtomicU64,
}

impl Counter {
    pub const fn new() -> Self {
        Self {
            value: AtomicU64::new(0),
        }
    }

    /// Adds one and returns the new value. No two calls ever return the
    /// same number, so it also hands out unique ids.
    pub fn increment(&self) -> u64 {
        self.value.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The current value; other threads may change it right after.
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

/// The counter type shared by `'static` threads through an `Arc`. Returns
/// the final value and every value `increment` returned, one list per thread.
fn counter_type(threads: u64, increments: u64) -> (u64, Vec<Vec<u64>>) {
    let counter = Arc::new(Counter::new());
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || (0..increments).map(|_| counter.increment()).collect())
        })
        .collect();
    let seen = handles
        .into_iter()
        .map(|handle| handle.join().unwrap())
        .collect();
    (counter.get(), seen)
}

fn show_counter_type() {
    let (total, seen) = counter_type(THREADS, INCREMENTS);
    println!("final value: {total}");
    for (thread, values) in seen.iter().enumerate() {
        let last = values.last().copied().unwrap_or_default();
        println!(
            "thread {thread}: {} increments, last id {last}",
            values.len()
        );
    }
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("lost_update", "load + store from many threads loses increments", show_lost_update),
        Step::new("mutex_counter", "Mutex<u64>: nothing lost", show_mutex_counter),
        Step::new("atomic_counter", "AtomicU64::fetch_add: nothing lost", show_atomic_counter),
        Step::new("counter_type", "a Counter type shared through Arc", show_counter_type),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_store_after_another_threads_load_loses_its_update() {
        // Left to chance, how many updates get lost depends on scheduling.
        // The barrier between load and store forces the losing interleaving
        // in every round: all threads read the same value and store the same
        // value plus one, so each round counts once, not `threads` times.
        // `fetch_add` here would count every increment and fail.
        const ROUNDS: u64 = 1_000;
        let got = course_tests::deadline(Duration::from_secs(30), || {
            let lockstep = Barrier::new(THREADS as usize);
            lost_update(THREADS, ROUNDS, || {
                lockstep.wait();
            })
        });
        assert_eq!(got, ROUNDS);
    }

    #[test]
    fn the_mutex_counter_is_exact() {
        for _ in 0..3 {
            assert_eq!(mutex_counter(THREADS, 10_000), THREADS * 10_000);
        }
    }

    #[test]
    fn the_atomic_counter_is_exact() {
        for _ in 0..3 {
            assert_eq!(atomic_counter(THREADS, 100_000), THREADS * 100_000);
        }
    }

    #[test]
    fn the_counter_type_hands_out_every_value_exactly_once() {
        let (total, seen) = counter_type(THREADS, 20_000);
        assert_eq!(total, THREADS * 20_000);
        let mut all: Vec<u64> = seen.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (1..=total).collect::<Vec<_>>());
        // Each thread sees its own values rise.
        for values in &seen {
            assert!(values.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn a_counter_can_live_in_a_static() {
        static HITS: Counter = Counter::new();
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| (0..1000).for_each(|_| _ = HITS.increment()));
            }
        });
        assert_eq!(HITS.get(), 4000);
    }
}
