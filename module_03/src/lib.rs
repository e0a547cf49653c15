//! Module 3 — Futures
//!
//! Python's `concurrent.futures.Future` is an *eager handle*: `submit` starts
//! the work on an executor at once, and the future only reports on it. Rust
//! has such handles too — `std::thread::JoinHandle`,
//! `futures::future::RemoteHandle` (from `futures::executor::ThreadPool` and
//! `SpawnExt::spawn_with_handle`), tokio's `JoinHandle` — but Rust's `Future`
//! trait is a *lazy* state machine that does nothing until something polls it,
//! as lazy as a Python coroutine object, which runs nothing until it is awaited
//! or made a task. The lessons show both faces, side by side.
//!
//! # Lessons
//!
//! Each lesson is a page: the `lesson_NN` modules listed below, in course
//! order. A page opens with the lesson's header (what it teaches, the
//! Python → Rust table, how to run it, what to try) and lists the lesson's
//! steps, the functions its `main` runs, each with its doc; "Source" shows
//! the code. Run a lesson with `cargo run -p module_03 --bin lesson_NN`.
//!
//! # Also in this library
//!
//! Checked material for module 3: the compiler errors its lessons quote,
//! each a `compile_fail` doctest beside the version that compiles.
//! `cargo test -p module_03 --doc` proves that each still fails (and, with
//! `RUSTC_BOOTSTRAP=1`, with the error code quoted).

// The lessons, each a page of this crate's documentation: rustdoc reads
// every lesson binary's source as a module of this library. Only rustdoc
// sees these modules (`cfg(doc)`, set by `cargo doc` and `cargo test
// --doc`), so no lesson is compiled twice. They are private, as the steps
// in them are: .cargo/config.toml has rustdoc document private items. The
// lessons name this library `module_03`, as their binaries do.
#[cfg(doc)]
extern crate self as module_03;
#[cfg(doc)]
#[path = "bin/lesson_01.rs"]
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

/// Lesson 3.3, `methods_tour`: `result(timeout=…)` waits on a *borrowed*
/// handle, so the task can still be awaited after the time-out.
///
/// ```
/// # async fn tour() {
/// use std::time::Duration;
/// let mut slow = tokio::spawn(async { 6 * 7u64 });
/// let early = tokio::time::timeout(Duration::from_millis(1), &mut slow).await;
/// let result = slow.await; // still ours: `timeout` only borrowed it
/// # let _ = (early, result);
/// # }
/// ```
///
/// Handing `timeout` the handle itself moves it into the `Timeout` future,
/// which is dropped with the handle inside when the time runs out: nothing
/// is left to wait on, and the compiler says so (E0382, use of moved value):
///
/// ```compile_fail,E0382
/// # async fn tour() {
/// use std::time::Duration;
/// let slow = tokio::spawn(async { 6 * 7u64 });
/// let early = tokio::time::timeout(Duration::from_millis(1), slow).await;
/// let result = slow.await; // error[E0382]: use of moved value: `slow`
/// # let _ = (early, result);
/// # }
/// ```
pub mod compile_checks {}
