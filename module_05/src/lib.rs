//! Module 5 — Synchronisation primitives («Примитивы синхронизации»)
//!
//! Locks, reentrant locks, events, condition variables, semaphores, stopping
//! work cooperatively, stopping everything at the first error, and barriers —
//! the `threading` toolbox of the course, in Rust. Python's lock sits beside
//! the data it protects; a Rust `Mutex<T>` owns it. Where std has no type for
//! the job (event, semaphore, a barrier with a time-out), the lesson builds a
//! small one from `Mutex` + `Condvar`, because that is what it teaches, and
//! shows the crate to use in real code.
//!
//! # Lessons
//!
//! Each lesson is a page: the `lesson_NN` modules listed below, in course
//! order. A page opens with the lesson's header (what it teaches, the
//! Python → Rust table, how to run it, what to try) and lists the lesson's
//! steps, the functions its `main` runs, each with its doc; "Source" shows
//! the code. Run a lesson with `cargo run -p module_05 --bin lesson_NN`.
//!
//! # Also in this library
//!
//! Module 5's checked material: the compiler errors its lessons quote, as
//! `compile_fail` doctests (`cargo test -p module_05 --doc`). The lessons'
//! live output goes through `step_runner::Sink`.

// The lessons, each a page of this crate's documentation: rustdoc reads
// every lesson binary's source as a module of this library. Only rustdoc
// sees these modules (`cfg(doc)`, set by `cargo doc` and `cargo test
// --doc`), so no lesson is compiled twice. They are private, as the steps
// in them are: .cargo/config.toml has rustdoc document private items. The
// lessons name this library `module_05`, as their binaries do.
#[cfg(doc)]
extern crate self as module_05;
#[cfg(doc)]
#[path = "bin/lesson_01/main.rs"]
mod lesson_01;
#[cfg(doc)]
#[path = "bin/lesson_02.rs"]
mod lesson_02;
#[cfg(doc)]
#[path = "bin/lesson_03.rs"]
mod lesson_03;
#[cfg(doc)]
#[path = "bin/lesson_04.rs"]
mod lesson_04;
#[cfg(doc)]
#[path = "bin/lesson_05.rs"]
mod lesson_05;
#[cfg(doc)]
#[path = "bin/lesson_06.rs"]
mod lesson_06;
#[cfg(doc)]
#[path = "bin/lesson_07.rs"]
mod lesson_07;
#[cfg(doc)]
#[path = "bin/lesson_08.rs"]
mod lesson_08;

/// Compiler errors module 5's lessons quote, kept true by `cargo test --doc`.
///
/// Lesson 5.1 (its header's `release()` row, and its second Try): a Python
/// `Lock` may be released by a thread that did not acquire it; a
/// `MutexGuard` cannot even be moved to another thread, because it is not
/// `Send` (E0277):
///
/// ```compile_fail,E0277
/// use std::sync::Mutex;
/// use std::thread;
///
/// let oven = Mutex::new(0);
/// thread::scope(|s| {
///     let guard = oven.lock().unwrap();
///     s.spawn(move || drop(guard)); // release in another thread
/// });
/// ```
///
/// What compiles instead: the thread that locks is the thread that unlocks.
///
/// ```
/// use std::sync::Mutex;
/// use std::thread;
///
/// let oven = Mutex::new(0);
/// thread::scope(|s| {
///     s.spawn(|| *oven.lock().unwrap() += 1);
/// });
/// assert_eq!(oven.into_inner().unwrap(), 1);
/// ```
pub mod compile_checks {}
