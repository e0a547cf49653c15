//! Module 8 — Thread-safe building blocks
//!
//! Counters, printing, logging, maps, lists, file writes and "volatile" flags
//! shared by many threads. Each lesson shows the Python pattern that loses or
//! tears data, why Rust refuses to compile it (the compiler's error is quoted
//! in the lesson), and one or two correct Rust designs. Each lesson's tests
//! hammer those designs from many threads and check that nothing is lost,
//! duplicated or torn.
//!
//! # Lessons
//!
//! Each lesson is a page: the `lesson_NN` modules listed below, in course
//! order. A page opens with the lesson's header (what it teaches, the
//! Python → Rust table, how to run it, what to try) and lists the lesson's
//! steps, the functions its `main` runs, each with its doc; "Source" shows
//! the code. Run a lesson with `cargo run -p module_08 --bin lesson_NN`.
//!
//! # Also in this library
//!
//! Module 8's checked material: the compiler errors its lessons quote, each
//! a `compile_fail` doctest with its error code beside the version that
//! compiles. `cargo test -p module_08 --doc` proves that every quote still
//! holds on the current compiler (stable rustdoc checks the error codes only
//! in nightly mode, as CI runs it: `RUSTC_BOOTSTRAP=1 cargo test -p
//! module_08 --doc`).

// The lessons, each a page of this crate's documentation: rustdoc reads
// every lesson binary's source as a module of this library. Only rustdoc
// sees these modules (`cfg(doc)`, set by `cargo doc` and `cargo test
// --doc`), so no lesson is compiled twice. They are private, as the steps
// in them are: .cargo/config.toml has rustdoc document private items. The
// lessons name this library `module_08`, as their binaries do.
#[cfg(doc)]
extern crate self as module_08;
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
#[path = "bin/lesson_07/main.rs"]
mod lesson_07;

/// One module per lesson, named after the lesson's file.
pub mod compile_checks {
    /// Lesson 8.1 — the Python counter, `counter += 1` from many threads.
    ///
    /// Every scoped thread would need `&mut counter` at once, and a `&mut`
    /// is exclusive:
    ///
    /// ```compile_fail,E0499
    /// use std::thread;
    /// let mut counter: u64 = 0;
    /// thread::scope(|s| {
    ///     for _ in 0..8 {
    ///         s.spawn(|| {
    ///             for _ in 0..1_000 {
    ///                 counter += 1;
    ///             }
    ///         });
    ///     }
    /// });
    /// ```
    ///
    /// An `Arc` shares the value but hands out `&u64` only:
    ///
    /// ```compile_fail,E0594
    /// use std::sync::Arc;
    /// use std::thread;
    /// let counter = Arc::new(0u64);
    /// let handle = {
    ///     let counter = Arc::clone(&counter);
    ///     thread::spawn(move || *counter += 1)
    /// };
    /// handle.join().unwrap();
    /// ```
    ///
    /// What compiles: an atomic (or a `Mutex<u64>`), changed through a
    /// shared reference.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::thread;
    /// let counter = AtomicU64::new(0);
    /// thread::scope(|s| {
    ///     for _ in 0..8 {
    ///         s.spawn(|| {
    ///             for _ in 0..1_000 {
    ///                 counter.fetch_add(1, Ordering::Relaxed);
    ///             }
    ///         });
    ///     }
    /// });
    /// assert_eq!(counter.into_inner(), 8_000);
    /// ```
    pub mod lesson_01 {}

    /// Lesson 8.3 — a home-made logger: a list shared through `Rc`, whose
    /// count is not atomic, cannot go to another thread:
    ///
    /// ```compile_fail,E0277
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use std::thread;
    /// let log = Rc::new(RefCell::new(Vec::<String>::new()));
    /// let log2 = Rc::clone(&log);
    /// thread::spawn(move || log2.borrow_mut().push("hi".into()));
    /// ```
    ///
    /// `Arc` and `Mutex`, their thread-safe counterparts, can (and
    /// `tracing`, the lesson's answer, needs neither in your code):
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::thread;
    /// let log = Arc::new(Mutex::new(Vec::<String>::new()));
    /// let log2 = Arc::clone(&log);
    /// thread::spawn(move || log2.lock().unwrap().push("hi".into()))
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(*log.lock().unwrap(), ["hi"]);
    /// ```
    pub mod lesson_03 {}

    /// Lesson 8.4 — a plain `HashMap` shared through an `Arc` cannot be
    /// changed: the `Arc` hands out shared references only.
    ///
    /// ```compile_fail,E0596
    /// use std::collections::HashMap;
    /// use std::sync::Arc;
    /// use std::thread;
    /// let shared: Arc<HashMap<String, u32>> = Arc::new(HashMap::new());
    /// thread::spawn(move || shared.insert("apple".to_owned(), 1));
    /// ```
    ///
    /// Behind a `Mutex` it can:
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use std::sync::{Arc, Mutex};
    /// use std::thread;
    /// let shared: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    /// let handle = {
    ///     let shared = Arc::clone(&shared);
    ///     thread::spawn(move || shared.lock().unwrap().insert("apple".to_owned(), 1))
    /// };
    /// handle.join().unwrap();
    /// assert_eq!(shared.lock().unwrap()["apple"], 1);
    /// ```
    pub mod lesson_04 {}

    /// Lesson 8.5 — pushing to one local `Vec` from several threads:
    ///
    /// ```compile_fail,E0499
    /// use std::thread;
    /// let mut results: Vec<u64> = Vec::new();
    /// thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| results.push(42));
    ///     }
    /// });
    /// ```
    ///
    /// Behind a `Mutex` (or, better, each thread returning its own `Vec`):
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use std::thread;
    /// let results = Mutex::new(Vec::new());
    /// thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| results.lock().unwrap().push(42u64));
    ///     }
    /// });
    /// assert_eq!(results.into_inner().unwrap(), [42; 4]);
    /// ```
    pub mod lesson_05 {}

    /// Lesson 8.6 — one `BufWriter` written by several threads:
    ///
    /// ```compile_fail,E0499
    /// use std::io::{BufWriter, Write};
    /// use std::thread;
    /// let mut out = BufWriter::new(Vec::new());
    /// thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| writeln!(out, "line").unwrap());
    ///     }
    /// });
    /// ```
    ///
    /// Behind a `Mutex`, each line written under the guard:
    ///
    /// ```
    /// use std::io::{BufWriter, Write};
    /// use std::sync::Mutex;
    /// use std::thread;
    /// let out = Mutex::new(BufWriter::new(Vec::new()));
    /// thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| writeln!(out.lock().unwrap(), "line").unwrap());
    ///     }
    /// });
    /// let bytes = out.into_inner().unwrap().into_inner().unwrap();
    /// assert_eq!(bytes, b"line\n".repeat(4));
    /// ```
    pub mod lesson_06 {}

    /// Lesson 8.7 — a plain `bool` as a stop flag. Assigning it while a
    /// thread reads it:
    ///
    /// ```compile_fail,E0506
    /// use std::thread;
    /// let mut stop = false;
    /// thread::scope(|s| {
    ///     s.spawn(|| {
    ///         while !stop {
    ///             thread::yield_now();
    ///         }
    ///     });
    ///     stop = true;
    /// });
    /// ```
    ///
    /// A `static mut` flag compiles only inside `unsafe`:
    ///
    /// ```compile_fail,E0133
    /// use std::thread;
    /// static mut STOP: bool = false;
    /// let worker = thread::spawn(|| {
    ///     while !STOP {
    ///         thread::yield_now();
    ///     }
    /// });
    /// STOP = true;
    /// worker.join().unwrap();
    /// ```
    ///
    /// An `AtomicBool`, local or `static`, needs neither:
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::thread;
    /// static STOP: AtomicBool = AtomicBool::new(false);
    /// let stop = AtomicBool::new(false);
    /// thread::scope(|s| {
    ///     s.spawn(|| {
    ///         while !stop.load(Ordering::Relaxed) || !STOP.load(Ordering::Relaxed) {
    ///             thread::yield_now();
    ///         }
    ///     });
    ///     stop.store(true, Ordering::Relaxed);
    ///     STOP.store(true, Ordering::Relaxed);
    /// });
    /// ```
    pub mod lesson_07 {}
}
