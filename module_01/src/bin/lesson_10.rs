//! Lesson 1.10 — Atomic operations («Атомарные операции»)
//!
//! An atomic operation happens all at once: no other thread can see it half
//! done or slip in between its parts. In CPython, `list.append(x)` is atomic,
//! but not because it is one bytecode (on 3.11 `dis` shows `LOAD_METHOD`,
//! `PRECALL`, `CALL` for the call): the C function behind it runs whole
//! because it never releases the GIL. `x += 1` is four bytecodes (load,
//! load the constant, add, store) and nothing makes the sequence atomic.
//! CPython 3.10 and later do not switch threads inside it in practice, but
//! other versions and implementations, and free-threaded builds, can, and a
//! read, then `time.sleep(0)`, then the write loses updates on any of them
//! (lesson 8.1 has the numbers). In Rust, sharing a plain `u64` between
//! threads and writing to it does not compile; the atomic types make each
//! operation indivisible.
//!
//! | Python                                        | Rust                                              |
//! |-----------------------------------------------|---------------------------------------------------|
//! | `counter += 1` from many threads (racy)       | does not compile on a shared `u64` (see below)    |
//! | `with lock: counter += 1`                     | `counter.fetch_add(1, Ordering::Relaxed)`         |
//! | read, decide, write under a lock              | `compare_exchange` in a loop (`fetch_update`)     |
//! | `list.append(x)` is atomic under the GIL      | `Mutex<Vec<T>>` (nothing is implicitly atomic)    |
//!
//! What the compiler says to the racy version, `let mut n = 0u64;` and
//! `thread::scope(|s| for _ in 0..4 { s.spawn(|| n += 1); });`:
//!
//! ```text
//! error[E0499]: cannot borrow `n` as mutable more than once at a time
//! ```
//!
//! `cargo test -p module_01 --doc` checks that quote, beside the atomic
//! version that compiles (`module_01/src/lib.rs`).
//!
//! - Run all steps: `cargo run -p module_01 --bin lesson_10`
//! - Run one step:  `cargo run -p module_01 --bin lesson_10 -- lost_update`
//!
//! Try: in `bounded_tickets`, replace the `compare_exchange_weak` loop with
//! `if issued.load(..) < limit { issued.fetch_add(1, ..); true }`. Each
//! operation is still atomic; why can more than `limit` tickets go out now?

use std::process::ExitCode;
#[cfg(not(feature = "model"))]
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::thread;

// The model check (`mod model` at the bottom) runs the two increments under
// loom, which needs its own atomics.
#[cfg(feature = "model")]
use loom::sync::atomic::AtomicU64;

use step_runner::{Step, lesson_id};

/// Threads and increments per thread used by the demos in `main`.
const THREADS: u64 = 4;
const PER_THREAD: u64 = 1_000_000;

/// The Python `x += 1` race, reproduced safely: each increment is an atomic
/// *load* followed by a separate atomic *store*. Each half is atomic, the
/// pair is not: another thread can store in between, and its update is
/// overwritten. No undefined behaviour, just wrong arithmetic.
///
/// Returns the final count; anything below `threads * per_thread` was lost.
///
/// `between` runs between each load and its store: a no-op in the demo,
/// which leaves the interleaving to chance, and a barrier in the test, which
/// forces every thread to load before any of them stores.
fn lost_update(threads: u64, per_thread: u64, between: impl Fn() + Sync) -> u64 {
    let counter = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    racy_increment(&counter, &between);
                }
            });
        }
    });
    counter.into_inner()
}

fn show_lost_update() {
    let expected = THREADS * PER_THREAD;
    let got = lost_update(THREADS, PER_THREAD, || {});
    println!(
        "expected {expected}, got {got}: {} updates lost",
        expected - got
    );
    println!(
        "(on a single core, or with luck, nothing may be lost: the race is real all the same)"
    );
}

/// One increment the way Python's `x += 1` does it: a load, then a store.
fn racy_increment(counter: &AtomicU64, between: impl Fn()) {
    let seen = counter.load(Ordering::Relaxed);
    // Another thread may store here, between our load and store.
    between();
    counter.store(seen + 1, Ordering::Relaxed);
}

/// One increment as one indivisible read-modify-write.
fn atomic_increment(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The fix: `fetch_add` reads, adds and writes as one indivisible operation.
///
/// `Relaxed` is enough: we only need every increment to land, not to order
/// other memory around it; joining the threads (the end of the scope)
/// makes the final value visible to this thread.
fn fetch_add(threads: u64, per_thread: u64) -> u64 {
    let counter = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    atomic_increment(&counter);
                }
            });
        }
    });
    counter.into_inner()
}

fn show_fetch_add() {
    let expected = THREADS * PER_THREAD;
    let got = fetch_add(THREADS, PER_THREAD);
    println!("expected {expected}, got {got}");
}

/// `compare_exchange`: "set it to `new` only if it is still `current`".
/// Here: hand out at most `limit` tickets to threads that keep asking.
/// A thread that loses a race reloads and tries again; no ticket is handed
/// out twice and none past the limit.
///
/// Returns how many tickets each thread got.
fn bounded_tickets(threads: u64, attempts: u64, limit: u64) -> Vec<u64> {
    let issued = AtomicU64::new(0);
    let take_ticket = || {
        let mut current = issued.load(Ordering::Relaxed);
        loop {
            if current == limit {
                return false;
            }
            match issued.compare_exchange_weak(
                current,
                current + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                // Someone else changed it (or, for the `_weak` version, a
                // spurious failure): retry with the value actually there.
                Err(actual) => current = actual,
            }
        }
    };
    thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| s.spawn(|| (0..attempts).filter(|_| take_ticket()).count() as u64))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    })
}

fn show_compare_exchange() {
    let per_thread = bounded_tickets(THREADS, 1_000, 1_000);
    println!(
        "tickets per thread: {per_thread:?}, in total {}",
        per_thread.iter().sum::<u64>()
    );
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 1.10 — Atomic operations («Атомарные операции»)",
        &[
            Step::new(
                "lost_update",
                "load + store is not one operation: updates are lost",
                show_lost_update,
            ),
            Step::new("fetch_add", "fetch_add: every update lands", show_fetch_add),
            Step::new(
                "compare_exchange",
                "compare_exchange: at most 1000 tickets, none twice",
                show_compare_exchange,
            ),
        ],
    )
}

// The ordinary tests run on std's atomics; with the `model` feature the
// lesson's atomics are loom's, which work only inside `loom::model`.
#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::time::Duration;

    #[test]
    fn a_store_after_another_threads_load_overwrites_its_update() {
        // Left to chance, how many updates get lost depends on scheduling.
        // A barrier between load and store makes the losing interleaving
        // happen every round: all four threads read the same value and
        // store it plus one, so a round counts once instead of four times.
        // `fetch_add` in `lost_update` would count all 4,000 and fail.
        let got = course_tests::deadline(Duration::from_secs(30), || {
            let lockstep = Barrier::new(4);
            lost_update(4, 1_000, || {
                lockstep.wait();
            })
        });
        assert_eq!(got, 1_000);
    }

    #[test]
    fn fetch_add_loses_nothing() {
        assert_eq!(fetch_add(8, 100_000), 800_000);
    }

    #[test]
    fn tickets_stop_exactly_at_the_limit() {
        let per_thread = bounded_tickets(8, 500, 1_000);
        assert_eq!(per_thread.iter().sum::<u64>(), 1_000);
        let plenty = bounded_tickets(4, 100, 1_000);
        assert_eq!(plenty, [100; 4]);
    }
}

/// Loom runs each closure under every interleaving of the two threads.
#[cfg(all(test, feature = "model"))]
mod model {
    use super::*;
    use loom::sync::Arc;

    /// Two threads increment once each; the count must end at 2.
    fn two_increments(increment: fn(&AtomicU64)) {
        loom::model(move || {
            let counter = Arc::new(AtomicU64::new(0));
            let other = {
                let counter = Arc::clone(&counter);
                loom::thread::spawn(move || increment(&counter))
            };
            increment(&counter);
            other.join().unwrap();
            assert_eq!(counter.load(Ordering::Relaxed), 2, "an update was lost");
        });
    }

    #[test]
    fn fetch_add_never_loses_an_update() {
        two_increments(atomic_increment);
    }

    #[test]
    #[should_panic(expected = "an update was lost")]
    fn load_then_store_is_caught_losing_an_update() {
        two_increments(|counter| racy_increment(counter, || {}));
    }
}
