//! Lesson 8.7 — Volatile variables and memory ordering («Непостоянные переменные»)
//!
//! A variable that one thread writes and another polls. Python has no
//! `volatile`: the GIL makes a plain global flag "work" in CPython. Rust has
//! no `volatile` for threads either; it has atomics, whose memory orderings
//! say exactly what another thread is guaranteed to see.
//!
//! | Python / other languages                | Rust                                               |
//! |-----------------------------------------|----------------------------------------------------|
//! | `volatile boolean stop` (Java, C#)      | `AtomicBool` with `load` / `store`                 |
//! | a global `stop = False` polled in a loop | `stop.load(Ordering::Relaxed)` in the loop         |
//! | `event.set()` / `event.is_set()`        | `flag.store(true, …)` / `flag.load(…)`              |
//! | fill data, then set a "ready" flag      | data, then `ready.store(true, Release)`; reader `load(Acquire)` |
//! | initialise once, others wait for it     | `OnceLock::set` / `OnceLock::wait`                 |
//! | C's `volatile` / `read_volatile`        | memory-mapped I/O only: not atomic, orders nothing |
//!
//! Run all steps: `cargo run -p module_08 --bin lesson_07`
//! Run one step:  `cargo run -p module_08 --bin lesson_07 -- release_acquire`

use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use step_runner::{Step, lesson_id};

/// How long the workers of `stop_flag` run before they are told to stop.
const RUN_FOR: Duration = Duration::from_millis(500);
/// Rounds of the publish/observe handshake in `release_acquire`.
const ROUNDS: u64 = 1_000;
/// How long `once_lock` pretends to load its configuration.
const LOAD_DELAY: Duration = Duration::from_millis(300);

// A plain `bool` written by one thread while another reads it does not
// compile:
//
//     let mut stop = false;
//     thread::scope(|s| {
//         s.spawn(|| while !stop { thread::yield_now() });
//         stop = true;
//     });
//
//     error[E0506]: cannot assign to `stop` because it is borrowed
//
// and a `static mut STOP: bool` needs `unsafe` for every access:
//
//     error[E0133]: use of mutable static is unsafe and requires unsafe block
//
// (this workspace forbids `unsafe` outright). In C, where such code compiles,
// the optimiser may read the flag once and loop forever; `volatile` stops
// that but still gives no atomicity and no ordering between threads, which
// is why `std::ptr::read_volatile` is meant for device registers, not threads.

/// A stop flag. Workers spin doing "work" until the flag is set, then return
/// how many iterations they managed. Returns those counts and how long the
/// workers took to notice the flag.
fn stop_flag(workers: usize, run_for: Duration) -> (Vec<u64>, Duration) {
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut iterations = 0u64;
                    // An atomic load is never hoisted out of the loop: each
                    // iteration really reads the flag. `Relaxed` suffices,
                    // because the flag guards no other data; the count travels
                    // back through `join`, which synchronises by itself.
                    while !stop.load(Ordering::Relaxed) {
                        iterations = std::hint::black_box(iterations + 1);
                    }
                    iterations
                })
            })
            .collect();
        thread::sleep(run_for);
        let told = Instant::now();
        // A `Relaxed` store still becomes visible to the other threads'
        // loads promptly; ordering only matters for *other* data.
        stop.store(true, Ordering::Relaxed);
        let counts = handles
            .into_iter()
            .map(|h| h.join().expect("a worker panicked"))
            .collect();
        (counts, told.elapsed())
    })
}

/// What the producer publishes in round `round`.
fn payload(round: u64) -> [u64; 4] {
    [round, round * 2, round * 3, round * 4 + 1]
}

/// Publish with `Release`, observe with `Acquire`. The producer fills the
/// data slots, then sets `ready`; consumers wait for `ready` and read the
/// slots. Returns everything the consumers saw, one entry per round and
/// consumer.
///
/// The data stores are `Relaxed`: on their own they promise nothing about
/// when another thread sees them. The `Release` store of `ready` makes every
/// write before it visible to any thread whose `Acquire` load reads `true`.
/// With `Relaxed` on `ready` as well, a consumer on a weakly ordered CPU
/// (ARM, POWER) could see `ready == true` and still read stale zeros; x86
/// happens to hide that, which is how such bugs survive testing.
fn release_acquire(rounds: u64, consumers: usize) -> Vec<(u64, [u64; 4])> {
    let mut seen = Vec::new();
    for round in 1..=rounds {
        let data: [AtomicU64; 4] = Default::default();
        let ready = AtomicBool::new(false);
        thread::scope(|s| {
            let readers: Vec<_> = (0..consumers)
                .map(|_| {
                    s.spawn(|| {
                        while !ready.load(Ordering::Acquire) {
                            // Let the producer run on a busy machine.
                            thread::yield_now();
                        }
                        data.each_ref().map(|slot| slot.load(Ordering::Relaxed))
                    })
                })
                .collect();
            s.spawn(|| {
                for (slot, value) in data.iter().zip(payload(round)) {
                    slot.store(value, Ordering::Relaxed);
                }
                ready.store(true, Ordering::Release);
            });
            for reader in readers {
                seen.push((round, reader.join().expect("a consumer panicked")));
            }
        });
    }
    seen
}

/// The settings `once_lock` publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Config {
    workers: usize,
    name: String,
}

/// The high-level way to publish once: `OnceLock`. The loader `set`s the
/// value; readers `wait` for it, blocking instead of spinning. The
/// Release/Acquire pairing is inside `OnceLock`, as it is inside `Mutex`,
/// channels and `JoinHandle::join`: prefer them to hand-written orderings.
fn once_lock(readers: usize, load_delay: Duration) -> Vec<Config> {
    let config: OnceLock<Config> = OnceLock::new();
    thread::scope(|s| {
        let handles: Vec<_> = (0..readers)
            .map(|_| s.spawn(|| config.wait().clone()))
            .collect();
        s.spawn(|| {
            thread::sleep(load_delay);
            let loaded = Config {
                workers: 4,
                name: "report".to_owned(),
            };
            config
                .set(loaded)
                .expect("only this thread sets the config");
        });
        handles
            .into_iter()
            .map(|h| h.join().expect("a reader panicked"))
            .collect()
    })
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 8.7 — Volatile variables and memory ordering («Непостоянные переменные»)",
        &[
            Step::new("stop_flag", "an AtomicBool stop flag", || {
                let (counts, noticed) = stop_flag(2, RUN_FOR);
                for (worker, count) in counts.iter().enumerate() {
                    println!("worker {worker}: {count} iterations in {RUN_FOR:?}");
                }
                println!("all workers stopped {noticed:?} after the flag was set");
            }),
            Step::new(
                "release_acquire",
                "publish with Release, observe with Acquire",
                || {
                    let seen = release_acquire(ROUNDS, 2);
                    let complete = seen
                        .iter()
                        .filter(|(round, got)| *got == payload(*round))
                        .count();
                    println!(
                        "{ROUNDS} rounds × 2 consumers: {complete} of {} saw the whole payload",
                        seen.len()
                    );
                    let (round, last) = seen.last().expect("at least one round");
                    println!("last round {round}: {last:?}");
                },
            ),
            Step::new("once_lock", "publish once with OnceLock::wait", || {
                let started = Instant::now();
                let seen = once_lock(3, LOAD_DELAY);
                for (reader, config) in seen.iter().enumerate() {
                    println!("reader {reader} got {config:?}");
                }
                println!("readers waited {:?} for the loader", started.elapsed());
            }),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_flag_stops_every_worker() {
        // The claim is termination: every spinning worker sees the store and
        // returns, whether it had run for a while or not at all.
        for run_for in [Duration::ZERO, Duration::from_millis(20)] {
            let (counts, _) =
                course_tests::deadline(Duration::from_secs(20), move || stop_flag(3, run_for));
            assert_eq!(counts.len(), 3);
        }
    }

    #[test]
    fn every_consumer_sees_the_whole_payload() {
        let seen = course_tests::deadline(Duration::from_secs(30), || release_acquire(500, 3));
        assert_eq!(seen.len(), 500 * 3);
        for (round, got) in seen {
            assert_eq!(got, payload(round), "round {round}");
        }
    }

    #[test]
    fn every_reader_waits_for_the_one_value() {
        let seen = course_tests::deadline(Duration::from_secs(20), || {
            once_lock(16, Duration::from_millis(10))
        });
        let expected = Config {
            workers: 4,
            name: "report".to_owned(),
        };
        assert_eq!(seen, vec![expected; 16]);
    }
}
