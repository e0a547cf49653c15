//! Module 5's checked material: the compiler errors its lessons quote, as
//! `compile_fail` doctests (`cargo test -p module_05 --doc`). The lessons'
//! live output goes through `step_runner::Sink`.

/// Compiler errors module 5's lessons quote, kept true by `cargo test --doc`.
///
/// Lesson 5.1, `release_elsewhere`: a Python `Lock` may be released by a
/// thread that did not acquire it; a `MutexGuard` cannot even be moved to
/// another thread, because it is not `Send` (E0277):
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
