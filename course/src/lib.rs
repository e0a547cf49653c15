//! # Многопоточный Python → Rust
//!
//! The Stepik course «Многопоточный Python» (course 190100), translated
//! lesson by lesson into idiomatic Rust: the same exercises on the same data
//! with the same results. Each module below is a crate whose page introduces
//! the module and lists its lessons; each lesson is a page with its header
//! (the Python → Rust table, how to run it, what to try) and its steps.
//!
//! | Module | Topic |
//! |--------|-------|
//! | [module_01](../module_01/index.html) | Threads: start, join, results, names, attributes, thread-local data, atomics, timers |
//! | [module_02](../module_02/index.html) | Thread pools: submit and map, results, executors, shutdown, how many threads, pools vs async |
//! | [module_03](../module_03/index.html) | Futures: results that arrive later, status, callbacks, errors, cancelling |
//! | [module_04](../module_04/index.html) | Thread-safe queues: FIFO, LIFO, priority, producers and consumers |
//! | [module_05](../module_05/index.html) | Synchronisation: locks, conditions, semaphores, events, barriers |
//! | [module_06](../module_06/index.html) | Advanced locking: contention, striping, splitting, retry with back-off, overhead |
//! | [module_07](../module_07/index.html) | Practice: concurrent downloads, and a web crawler (7.4) |
//! | [module_08](../module_08/index.html) | Thread-safe building blocks: counter, printing, logging, map, list, files, memory ordering |
//! | [module_09](../module_09/index.html) | Process pools: apply, map, imap, starmap and their async forms; processes that talk (9.15) |
//!
//! Run a lesson: `cargo run -p module_05 --bin lesson_04`. Its steps:
//! `cargo run -p module_05 --bin lesson_04 -- --list`.
//!
//! The crates the lessons share: [step_runner](../step_runner/index.html)
//! (the command line and the live output every lesson uses),
//! [measure](../measure/index.html) (the timing rounds and verdicts of the
//! measuring lessons), [primes](../primes/index.html) (the prime counting
//! that modules 2 and 9 time, built optimised), [course_tests](../course_tests/index.html) (test
//! helpers and the end-to-end tests).
//!
//! This crate holds no code: it is the page `cargo doc --workspace --open`
//! opens, since Cargo opens the first crate by name.
