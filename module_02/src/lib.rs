//! Module 2 — Thread pools («Пулы потоков»)
//!
//! Python's `concurrent.futures.ThreadPoolExecutor` has no counterpart in Rust's
//! standard library. These lessons map each of its features onto the crates Rust
//! programs use for the job:
//!
//! - `rayon::ThreadPoolBuilder` — size (`num_threads`), names (`thread_name`),
//!   per-worker setup and teardown (`start_handler`, `exit_handler`); `install`,
//!   `scope_fifo`/`spawn_fifo` and parallel iterators (`par_iter`) for `submit`
//!   and `map`. Best for computing work. The lessons use the `_fifo` forms
//!   where they stand for Python's executor: like its queue, they start tasks
//!   in the order submitted, where plain `scope`/`spawn` lets the submitting
//!   worker start the newest task first (lesson 2.1 shows both).
//! - `futures::executor::ThreadPool` — `spawn_with_handle` returns a
//!   `RemoteHandle`, the closest thing to a Python `Future`; dropping a handle
//!   cancels its task at the task's next poll, so one that has not started
//!   never runs. Its idle workers block on the job queue instead of searching
//!   for work to steal, which suits pools of many waiting threads.
//! - tokio's `Runtime` — explicit shutdown, rejection of tasks submitted
//!   afterwards, `spawn_blocking`, and async tasks (lesson 2.12). Its shutdown
//!   waits only for blocking tasks that have started (one still queued may be
//!   cancelled), so lesson 2.8 awaits every handle before dropping it.
//! - channels (`crossbeam-channel`) for results, time-outs and completion order;
//!   `num-bigint` where Python's integers outgrow `u128`.
//!
//! Lesson 2.5 writes a minimal pool by hand (about 80 lines of code) to show
//! what these crates do for you, including keeping a worker alive when its job
//! panics.
//!
//! # Lessons
//!
//! Each lesson is a page: the `lesson_NN` modules listed below, in course
//! order. A page opens with the lesson's header (what it teaches, the
//! Python → Rust table, how to run it, what to try) and lists the lesson's
//! steps, the functions its `main` runs, each with its doc; "Source" shows
//! the code. Run a lesson with `cargo run -p module_02 --bin lesson_NN`.
//!
//! # Measuring
//!
//! Lessons 2.9, 2.11 and 2.12 time their workloads with the workspace's
//! measuring kit, the `measure` crate: every configuration once uncounted,
//! then rounds that take turns; the median and the spread (fastest to
//! slowest run) of each; and a `verdict:` that compares the configurations
//! round by round (the crate's docs give the rule).

// The lessons, each a page of this crate's documentation: rustdoc reads
// every lesson binary's source as a module of this library. Only rustdoc
// sees these modules (`cfg(doc)`, set by `cargo doc` and `cargo test
// --doc`), so no lesson is compiled twice. They are private, as the steps
// in them are: .cargo/config.toml has rustdoc document private items. The
// lessons name this library `module_02`, as their binaries do.
#[cfg(doc)]
extern crate self as module_02;
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
