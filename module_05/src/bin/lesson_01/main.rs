//! Lesson 5.1 — Mutual exclusion lock (Lock) («Блокировка взаимного исключения (Lock)»)
//!
//! A lock lets one thread at a time into a critical section. In Python the
//! lock sits *beside* the data and nothing stops code that forgets it; a Rust
//! `Mutex<T>` *owns* its data, and the only way to reach the data is through
//! the guard that `lock()` returns, which unlocks when it is dropped.
//!
//! | Python                                   | Rust                                                  |
//! |------------------------------------------|-------------------------------------------------------|
//! | `lock = threading.Lock()` + shared data  | `Mutex::new(data)`: the lock owns the data            |
//! | `with lock: ...`                         | `let guard = m.lock().unwrap();` (unlocks on drop)    |
//! | `lock.acquire()` / `lock.release()`      | `m.lock()` / `drop(guard)`                            |
//! | `lock.acquire(blocking=False)`           | `m.try_lock()` → `Err(TryLockError::WouldBlock)`      |
//! | `lock.acquire(timeout=t)`                | `parking_lot::Mutex::try_lock_for(t)`                 |
//! | `lock.locked()`                          | `parking_lot::Mutex::is_locked()` (std has none)      |
//! | `release()` from another thread          | not with a guard (`!Send`); a one-token channel       |
//! | exception inside `with lock:`            | panic while locked → the mutex is *poisoned*          |
//! | (no poisoning)                           | `parking_lot::Mutex`: no poisoning, no `unwrap`       |
//! | `open(path, "a")` under a `Lock`         | one loader thread owns the `File` (step 15)           |
//! | `json.dump(data, f, indent=4)`           | keys in order: written by hand, values via `serde_json` |
//! | `Queue` between producer and consumer    | `crossbeam_channel`: closes when the senders are gone |
//!
//! - Run all steps: `cargo run -p module_05 --bin lesson_01`
//! - Run one step:  `cargo run -p module_05 --bin lesson_01 -- step_16`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! The cooking steps count time in the course's seconds ([`COURSE_SECOND`])
//! and print each event as it happens, with its time; the tests play them
//! much faster and check the lines they collect.
//!
//! Files: `lecture.rs` (the lock and its guard), then one file per course
//! step, `step_13.rs` … `step_16.rs`.
//!
//! Try:
//! - In `step_13.rs`, delete the `let _oven = …` line and run
//!   `-- step_13_five_cooks`: the five cooks' "starts baking" lines come
//!   first, all at 0.0 s. With one consumer (`-- step_13`) nothing changes:
//!   the course's lock never had anyone to keep out.
//! - Paste the `compile_fail` example of `module_05/src/lib.rs` (a guard
//!   moved into another thread to be released there) into `main` and read
//!   the compiler's error: E0277, `MutexGuard` cannot be sent between
//!   threads safely.
//! - Run `-- step_16` and watch the times: the two cooks who find every
//!   oven busy both wait for oven 1, and the kitchen ends after 10 s or
//!   more, while ovens 2–5 stand free from 5 s.

mod lecture;
mod step_13;
mod step_14;
mod step_15;
mod step_16;

use std::process::ExitCode;
use std::time::Duration;

use step_runner::{Step, lesson_id};

/// One of the course's seconds, as `main` plays it.
const COURSE_SECOND: Duration = Duration::from_secs(1);

#[rustfmt::skip]
fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 5.1 — Mutual exclusion lock (Lock) («Блокировка взаимного исключения (Lock)»)",
        &[
            Step::new("shared_counter", "10 threads × 100 000 increments of a Mutex<u64>", lecture::show_shared_counter),
            Step::new("try_lock", "try_lock answers at once: busy or free", lecture::show_try_lock),
            Step::new("locked", "Python's locked(): parking_lot's is_locked, a snapshot", lecture::show_locked),
            Step::new("release_elsewhere", "taken in one thread, given back in another: a token", lecture::show_release_elsewhere),
            Step::new("poisoning", "a panic while locked poisons a std Mutex", lecture::show_poisoning),
            Step::new("parking_lot_mutex", "parking_lot::Mutex: no poisoning, try_lock_for", lecture::show_parking_lot_mutex),
            Step::new("step_13", "a producer queues five orders, one cook bakes them", step_13::show_step_13),
            Step::new("step_13_five_cooks", "the same queue, five cooks, one oven", step_13::show_step_13_five_cooks),
            Step::new("step_14", "ten field files → records → JSON (temporary directory)", step_14::show_step_14),
            Step::new("step_15", "extract → queue → transform → queue → load", step_15::show_step_15),
            Step::new("step_16", "five ovens: try each, else wait for oven 1", step_16::show_step_16),
        ],
    )
}
