//! Lesson 8.7 — Volatile variables and memory ordering («Непостоянные переменные»)
//!
//! A variable that one thread writes and another polls. Python has no
//! `volatile`: CPython looks a global up afresh on every loop iteration and
//! threads take turns under the GIL, so a plain global flag works there. Rust
//! has no `volatile` for threads either; it has atomics, and each access
//! names an ordering that says what else another thread is guaranteed to see:
//!
//! - `Relaxed`: the access itself is atomic, nothing more. Other memory may
//!   appear to move around it, in the compiler and in the CPU.
//! - `Release` store + `Acquire` load: a load that reads the stored value
//!   also sees every write made before the store.
//! - `SeqCst`: Release/Acquire, plus one order of all `SeqCst` operations
//!   that every thread agrees on (the `store_buffer` step shows what that
//!   adds).
//!
//! | Python / other languages                 | Rust                                               |
//! |------------------------------------------|----------------------------------------------------|
//! | a global `stop = False` polled in a loop | `stop.load(Ordering::Relaxed)` in the loop         |
//! | `event.set()` / `event.is_set()`         | `flag.store(true, Release)` / `flag.load(Acquire)` |
//! | fill data, then set a "ready" flag       | data, then `ready.store(true, Release)`; reader `load(Acquire)` |
//! | `volatile` in Java (one total order)     | `Ordering::SeqCst`                                 |
//! | `volatile` in C# (acquire/release)       | `Release` stores, `Acquire` loads                  |
//! | initialise once, others wait for it      | `OnceLock::set` / `OnceLock::wait`                 |
//! | C's `volatile` / `read_volatile`         | memory-mapped I/O only: not atomic, orders nothing |
//!
//! - Run all steps: `cargo run -p module_08 --bin lesson_07`
//! - Run one step:  `cargo run -p module_08 --bin lesson_07 -- store_buffer`
//! - Model check:   `cargo test -p module_08 --features model --bin lesson_07 -- model::`
//!
//! The lesson's files: this one (the stop flag, `OnceLock`),
//! `release_acquire.rs` (publishing data behind a flag) and
//! `store_buffer.rs` (what `SeqCst` adds); each ordering claim is
//! model-checked with loom at the bottom of its file.
//!
//! Try: in `store_buffer.rs`, `show_store_buffer`, change the `SeqCst` pair
//! to `(Release, Acquire)` and run `-- store_buffer` a few times: rounds
//! where both threads read the other's old value appear (on x86 too: its
//! store buffer is where the example gets its name). The model check finds
//! that outcome on every run: see `release_acquire_is_caught_…` there.

mod release_acquire;
mod store_buffer;

use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

use step_runner::{Sink, Step, lesson_id};

/// How long the workers of `stop_flag` run before they are told to stop.
const RUN_FOR: Duration = Duration::from_millis(500);
/// How long `once_lock` pretends to load its configuration.
const LOAD_DELAY: Duration = Duration::from_millis(300);

const TITLE: &str =
    "Lesson 8.7 — Volatile variables and memory ordering («Непостоянные переменные»)";

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
// that but gives no atomicity and no ordering between threads: std's
// `read_volatile` docs say volatile accesses "behave exactly like
// non-atomic accesses" with respect to concurrency, and are meant for
// memory-mapped I/O.
//
// Both errors are checked by the compiler, beside the version that
// compiles: `compile_checks::lesson_07` in `module_08/src/lib.rs`
// (`cargo test -p module_08 --doc`).

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
                    // Every iteration really loads the flag: the compiler may
                    // not turn the loop into one read, because the memory
                    // model promises that a store becomes visible to loads
                    // "within a reasonable amount of time" (C++
                    // [atomics.order], which Rust's atomics follow).
                    //
                    // `Relaxed` is enough here because the flag carries no
                    // other data: after seeing `true` the worker reads
                    // nothing that `main` wrote before the store, and its
                    // count travels back through `join`, which synchronises
                    // by itself. Lesson 5.6 uses `Release`/`Acquire` for its
                    // stop flag: that is needed as soon as the stopping
                    // thread writes something first that the workers read
                    // after they see the flag (a reason, a last batch, "stop
                    // after item N"). It is the safe default, and on x86-64
                    // it compiles to the same plain `mov`s as `Relaxed`.
                    while !stop.load(Relaxed) {
                        iterations = std::hint::black_box(iterations + 1);
                    }
                    iterations
                })
            })
            .collect();
        thread::sleep(run_for);
        let told = Instant::now();
        // The ordering says what else becomes visible with the store, not
        // how soon the store itself does.
        stop.store(true, Relaxed);
        let counts = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (counts, told.elapsed())
    })
}

fn show_stop_flag() {
    let (counts, noticed) = stop_flag(2, RUN_FOR);
    for (worker, count) in counts.iter().enumerate() {
        println!("worker {worker}: {count} iterations in {RUN_FOR:?}");
    }
    println!("all workers stopped {noticed:?} after the flag was set");
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
/// Each reader reports to `sink` as it goes, so its waiting shows.
fn once_lock(readers: usize, load_delay: Duration, sink: &Sink) -> Vec<Config> {
    let config: OnceLock<Config> = OnceLock::new();
    thread::scope(|s| {
        let handles: Vec<_> = (0..readers)
            .map(|reader| {
                let config = &config;
                s.spawn(move || {
                    sink.note(format!("reader {reader} waits"));
                    let got = config.wait().clone();
                    sink.note(format!("reader {reader} got {got:?}"));
                    got
                })
            })
            .collect();
        s.spawn(|| {
            thread::sleep(load_delay);
            let loaded = Config {
                workers: 4,
                name: "report".to_owned(),
            };
            // No report here: were stdout closed (`| head`), a panicking
            // note would leave the config unset and the readers waiting
            // forever. The readers' lines, timed, show when it came.
            config
                .set(loaded)
                .expect("the config should be set by this thread only");
        });
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn show_once_lock() {
    once_lock(3, LOAD_DELAY, &Sink::stdout_timed());
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("stop_flag", "a Relaxed AtomicBool stop flag", show_stop_flag),
        Step::new("release_acquire", "publish with Release, observe with Acquire", release_acquire::show_release_acquire),
        Step::new("store_buffer", "what SeqCst adds: never both threads reading the old value", store_buffer::show_store_buffer),
        Step::new("once_lock", "publish once with OnceLock::wait", show_once_lock),
    ])
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
    fn every_reader_waits_for_the_one_value() {
        let delay = Duration::from_millis(50);
        let sink = std::sync::Arc::new(Sink::collect());
        let seen = course_tests::deadline(Duration::from_secs(20), {
            let sink = std::sync::Arc::clone(&sink);
            move || once_lock(16, delay, &sink)
        });
        let expected = Config {
            workers: 4,
            name: "report".to_owned(),
        };
        assert_eq!(seen, vec![expected; 16]);
        // Each reader reports waiting, then getting; and no reader gets
        // the value before the loader has slept its delay and set it.
        let events = sink.events();
        for reader in 0..16 {
            let waits = events
                .iter()
                .position(|e| e.line == format!("reader {reader} waits"));
            let got = events
                .iter()
                .position(|e| e.line.starts_with(&format!("reader {reader} got ")));
            let (Some(waits), Some(got)) = (waits, got) else {
                panic!("reader {reader} is missing: {events:?}");
            };
            assert!(waits < got, "{events:?}");
            assert!(events[got].at >= delay, "got it early: {events:?}");
        }
        assert_eq!(events.len(), 2 * 16);
    }
}
