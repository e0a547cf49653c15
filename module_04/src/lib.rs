//! Module 4 — Thread-safe queues («Потокобезопасные очереди»)
//!
//! Producers and consumers connected by a queue: FIFO channels
//! (`std::sync::mpsc`, `crossbeam_channel`; bounded and unbounded; blocking,
//! non-blocking and with a time-out), a LIFO stack and a priority queue built
//! from `Mutex` + `Condvar` where no channel has the order, and the errors a
//! queue reports (`Empty`, `Full`, time-out, disconnected).
//!
//! The hand-written stack (4.3) and priority queue (4.4) behave like channels:
//! each comes as a `Pusher` and a `Popper` half, and dropping the last of
//! either side closes it (`pop` returns `None` once the queue is empty, `push`
//! fails), also when the thread holding it panics. So no thread waits forever
//! for one that died.
//!
//! Python's sentinels and `task_done()`/`join()` become: drop every `Sender`
//! (the consumers' loops end when the queue is drained), join the consumers,
//! or, when the consumers must keep running, a `crossbeam_utils::sync::WaitGroup`
//! clone per item (lesson 4.2, `wait_for_batches`).
//!
//! # Lessons
//!
//! Each lesson is a page: the `lesson_NN` modules listed below, in course
//! order. A page opens with the lesson's header (what it teaches, the
//! Python → Rust table, how to run it, what to try) and lists the lesson's
//! steps, the functions its `main` runs, each with its doc; "Source" shows
//! the code. Run a lesson with `cargo run -p module_04 --bin lesson_NN`.

// The lessons, each a page of this crate's documentation: rustdoc reads
// every lesson binary's source as a module of this library. Only rustdoc
// sees these modules (`cfg(doc)`, set by `cargo doc` and `cargo test
// --doc`), so no lesson is compiled twice. They are private, as the steps
// in them are: .cargo/config.toml has rustdoc document private items. The
// lessons name this library `module_04`, as their binaries do.
#[cfg(doc)]
extern crate self as module_04;
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
