//! Module 1 — Threads («Введение в многопоточность»)
//!
//! Starting threads, waiting for them, naming them, thread-local data, atomic
//! operations, timers, and keeping track of running threads.
//!
//! # Lessons
//!
//! Each lesson is a page: the `lesson_NN` modules listed below, in course
//! order. A page opens with the lesson's header (what it teaches, the
//! Python → Rust table, how to run it, what to try) and lists the lesson's
//! steps, the functions its `main` runs, each with its doc; "Source" shows
//! the code. Run a lesson with `cargo run -p module_01 --bin lesson_NN`.
//!
//! # Also in this library
//!
//! Checked material for module 1: the compiler errors its lessons quote,
//! each a `compile_fail` doctest beside the version that compiles.
//! `cargo test -p module_01 --doc` proves that each still fails (and, with
//! `RUSTC_BOOTSTRAP=1`, with the error code quoted).

// The lessons, each a page of this crate's documentation: rustdoc reads
// every lesson binary's source as a module of this library. Only rustdoc
// sees these modules (`cfg(doc)`, set by `cargo doc` and `cargo test
// --doc`), so no lesson is compiled twice. They are private, as the steps
// in them are: .cargo/config.toml has rustdoc document private items. The
// lessons name this library `module_01`, as their binaries do.
#[cfg(doc)]
extern crate self as module_01;
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
#[cfg(doc)]
#[path = "bin/lesson_09.rs"]
mod lesson_09;
#[cfg(doc)]
#[path = "bin/lesson_10.rs"]
mod lesson_10;
#[cfg(doc)]
#[path = "bin/lesson_11.rs"]
mod lesson_11;
#[cfg(doc)]
#[path = "bin/lesson_12.rs"]
mod lesson_12;

/// Lesson 1.10, the header: Python's racy `counter += 1` from many threads.
/// An atomic counter that the threads share by reference compiles, and
/// loses nothing:
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::thread;
///
/// let n = AtomicU64::new(0);
/// thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| n.fetch_add(1, Ordering::Relaxed));
///     }
/// });
/// assert_eq!(n.into_inner(), 4);
/// ```
///
/// A plain `u64` written by four threads needs four `&mut` borrows at once,
/// and the compiler refuses the second (E0499, cannot borrow `n` as mutable
/// more than once at a time):
///
/// ```compile_fail,E0499
/// use std::thread;
///
/// let mut n = 0u64;
/// thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| n += 1);
///     }
/// });
/// ```
///
/// Lesson 1.7, `step_16`: the same holds for a `Vec` that three threads
/// push to; lesson 1.7 shares a `Sink` instead, which locks inside.
///
/// ```compile_fail,E0499
/// use std::thread;
///
/// let mut log = Vec::new();
/// thread::scope(|s| {
///     for stage in ["load", "process", "save"] {
///         s.spawn(|| log.push(stage));
///     }
/// });
/// ```
///
/// Lesson 1.3, `step_09` (its Try section): three threads may each sort an
/// array of their own,
///
/// ```
/// use std::thread;
///
/// let (mut a, mut b) = ([3, 1, 2], [6, 5, 4]);
/// thread::scope(|s| {
///     s.spawn(|| a.sort_unstable());
///     s.spawn(|| b.sort_unstable());
/// });
/// assert_eq!((a, b), ([1, 2, 3], [4, 5, 6]));
/// ```
///
/// but two threads may not both borrow one array mutably (E0499):
///
/// ```compile_fail,E0499
/// use std::thread;
///
/// let mut a = [3, 1, 2];
/// thread::scope(|s| {
///     s.spawn(|| a.sort_unstable());
///     s.spawn(|| a.sort_unstable_by(|x, y| y.cmp(x)));
/// });
/// ```
///
/// Lesson 1.8, `step_16` (its Try section): a handle can be asked whether
/// its thread has finished until it is joined,
///
/// ```
/// use std::thread;
///
/// let handle = thread::spawn(|| 42);
/// let _still_running = !handle.is_finished();
/// assert_eq!(handle.join().unwrap(), 42);
/// ```
///
/// and not after: `join` takes the handle by value (E0382, borrow of moved
/// value).
///
/// ```compile_fail,E0382
/// use std::thread;
///
/// let handle = thread::spawn(|| 42);
/// assert_eq!(handle.join().unwrap(), 42);
/// let _finished = handle.is_finished();
/// ```
pub mod compile_checks {}
