//! Lesson 1.4 — The main thread («Что такое главный поток»)
//!
//! Every program starts on one thread, the main thread. In Rust it is named
//! `"main"`, its name cannot be changed, and when `main` returns the process
//! ends, taking every other thread with it: Rust has no non-daemon threads
//! that keep a process alive.
//!
//! | Python                                  | Rust                                              |
//! |-----------------------------------------|---------------------------------------------------|
//! | `threading.current_thread()`            | `thread::current()`                               |
//! | `threading.main_thread()`               | no direct call: remember `thread::current().id()` in `main` |
//! | `thread.name`                           | `thread.name()` → `Option<&str>` (`Some("main")`)  |
//! | `thread.name = "new"`                   | not possible: a name is fixed at spawn (`thread::Builder::name`) |
//! | `thread.ident`                          | `thread.id()` → `ThreadId`                        |
//! | `thread.daemon` (`False` for main)      | no flag: every spawned thread behaves like a daemon thread |
//! | the interpreter waits for non-daemon threads | `main` must `join` the threads it wants to finish |
//!
//! - Run all steps: `cargo run -p module_01 --bin lesson_04`
//! - Run one step:  `cargo run -p module_01 --bin lesson_04 -- step_12`
//!
//! Try: in `unjoined_thread_is_cut_off`, `join` the handle before returning
//! and run `-- unjoined_thread`: the background thread's line now appears,
//! five seconds later. What did `main` wait for this time?

use std::process::ExitCode;
use std::thread::{self, ThreadId};
use std::time::Duration;

use step_runner::{Sink, Step, lesson_id};

/// What a thread can learn about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ThreadInfo {
    name: Option<String>,
    id: ThreadId,
}

/// Step 12 — the main thread's name; renaming it; its daemon flag.
///
/// Returns what the calling thread knows about itself. Called from `main`
/// it reports `Some("main")`.
fn step_12() -> ThreadInfo {
    let me = thread::current();
    // Python lets any thread rename itself at any time. A Rust thread's name
    // is given once, when it is spawned (`thread::Builder::name`), and is
    // immutable afterwards: there is no setter to call here.
    ThreadInfo {
        name: me.name().map(str::to_owned),
        id: me.id(),
    }
}

fn show_step_12() {
    let info = step_12();
    println!("main thread name: {:?}", info.name);
    println!("main thread id: {:?}", info.id);
    println!("rename: not possible, a Rust thread's name is fixed when it is spawned");
    println!(
        "daemon: no such flag; the process ends when main returns, \
                     whatever other threads are doing"
    );
}

/// A thread that is not joined does not keep the process alive.
///
/// Python waits at exit for every non-daemon thread; Rust does not wait for
/// any. This spawns a thread that would print after `delay`, returns without
/// joining it, and reports whether it had finished (it had not). If this is
/// the last thing `main` does, the thread is killed when `main` returns.
fn unjoined_thread_is_cut_off(delay: Duration) -> bool {
    let background = thread::spawn(move || {
        thread::sleep(delay);
        println!("the background thread finished (main was still running)");
    });
    thread::sleep(Duration::from_millis(100));
    // Dropping the JoinHandle detaches the thread; it runs on until it ends
    // or the process exits, whichever comes first.
    background.is_finished()
}

fn show_unjoined_thread() {
    let finished = unjoined_thread_is_cut_off(Duration::from_secs(5));
    println!("background thread finished before main moved on: {finished}");
    println!("main returns now; the background thread's line is never printed");
}

/// Lecture demo (1.4, last) — five threads named `Worker-1` … `Worker-5`
/// each ask whether they are the main thread, and report their name and id.
///
/// Python compares `current_thread()` with `main_thread()`. std has no
/// `main_thread()`, so `main` passes its own `ThreadId` down. A `ThreadId`
/// is never reused within a process; Python's `ident` is the OS's id and is
/// reused: in the course's run, Worker-3 to Worker-5 printed Worker-1's
/// ident, as each had ended before the next began (seen on 3.11). Each
/// worker is joined before the next starts, which keeps the course's order.
fn worker_names(main_id: ThreadId, sink: &Sink) {
    for i in 1..=5 {
        let worker = thread::Builder::new().name(format!("Worker-{i}"));
        thread::scope(|s| {
            worker
                .spawn_scoped(s, || {
                    let me = thread::current();
                    let role = if me.id() == main_id { "main" } else { "worker" };
                    let name = me.name().unwrap_or("<unnamed>");
                    sink.note(format!("{role} thread: name {name}, id {:?}", me.id()));
                })
                .expect("the OS should have room for one more thread");
        });
    }
}

fn show_worker_names() {
    worker_names(thread::current().id(), &Sink::stdout());
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 1.4 — The main thread («Что такое главный поток»)",
        &[
            Step::new("step_12", "the main thread's name and id", show_step_12),
            Step::new(
                "worker_names",
                "workers are not the main thread",
                show_worker_names,
            ),
            Step::new(
                "unjoined_thread",
                "it dies when main returns",
                show_unjoined_thread,
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_reports_the_name_it_was_spawned_with() {
        let info = thread::Builder::new()
            .name("main".into())
            .spawn(step_12)
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(info.name.as_deref(), Some("main"));
        assert_ne!(info.id, thread::current().id());
    }

    #[test]
    fn workers_report_their_names_and_are_not_main() {
        let sink = Sink::collect();
        worker_names(thread::current().id(), &sink);
        let lines = sink.lines();
        assert_eq!(lines.len(), 5);
        for (i, line) in (1..=5).zip(&lines) {
            let prefix = format!("worker thread: name Worker-{i}, id ");
            assert!(line.starts_with(&prefix), "{line}");
        }
    }

    #[test]
    fn an_unnamed_thread_has_no_name() {
        let info = thread::spawn(step_12).join().unwrap();
        assert_eq!(info.name, None);
    }

    #[test]
    fn the_background_thread_is_still_running_when_the_step_returns() {
        assert!(!unjoined_thread_is_cut_off(Duration::from_secs(3)));
    }
}
