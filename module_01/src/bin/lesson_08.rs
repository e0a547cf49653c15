//! Lesson 1.8 — Thread attributes («Атрибуты потока»)
//!
//! What you can know about a thread, and set: its name and stack size before
//! it starts (`thread::Builder`), its id and name while it runs
//! (`thread::current()`), and whether it has finished
//! (`JoinHandle::is_finished`).
//!
//! | Python                          | Rust                                                      |
//! |---------------------------------|-----------------------------------------------------------|
//! | `t.name` (read)                 | `handle.thread().name()`, `thread::current().name()`       |
//! | `t.name = "x"` (write)          | only before spawning: `thread::Builder::new().name("x")`   |
//! | `t.ident`                       | `handle.thread().id()` → `ThreadId`                        |
//! | `t.native_id`                   | not in std (the OS id is platform-specific)               |
//! | `t.is_alive()`                  | `!handle.is_finished()` (no handle exists before spawning) |
//! | `t.daemon`                      | no flag: unjoined threads die with the process            |
//! | `threading.stack_size(n)`       | `thread::Builder::new().stack_size(n)`, per thread        |
//!
//! - Run all steps: `cargo run -p module_01 --bin lesson_08`
//! - Run one step:  `cargo run -p module_01 --bin lesson_08 -- step_15`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `step_16`, call `handle.is_finished()` once more after
//! `handle.join()` and read the compiler's error: what did `join` do to the
//! handle? (`module_01/src/lib.rs` keeps this error, E0382, as a
//! `compile_fail` doctest.)

use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use rand::RngExt;
use step_runner::{Sink, Step, lesson_id};

/// The course's code names for step 15.
const CODE_NAMES: [&str; 5] = ["Alpha", "Bravo", "Delta", "Charley", "Echo"];

/// Step 15 — each of five threads should report its initial name, take a
/// code name, and finish its task under that name.
///
/// The Python threads rename themselves. A Rust thread's name cannot change
/// once it runs, so the code name is given at spawn; the "initial name" a
/// Python thread would have had (`Thread-N (task)` since 3.10) has no Rust
/// counterpart.
///
/// This follows the exercise: five code names, renamed before the work.
/// The lecture's version has four (no Echo; Charley before Delta) and
/// renames after a second of work. Returns the names the threads ran under.
fn step_15(work: Duration, sink: &Sink) -> Vec<String> {
    thread::scope(|s| {
        let tasks: Vec<_> = CODE_NAMES
            .iter()
            .map(|code_name| {
                thread::Builder::new()
                    .name((*code_name).to_owned())
                    .spawn_scoped(s, move || {
                        let me = thread::current();
                        let name = me
                            .name()
                            .expect("the thread should have its name from spawn")
                            .to_owned();
                        sink.note(format!("thread {name} started (named when spawned)"));
                        thread::sleep(work);
                        sink.note(format!("task done for {name}"));
                        name
                    })
                    .expect("the OS should have room for one more thread")
            })
            .collect();
        tasks.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

fn show_step_15() {
    step_15(Duration::from_secs(1), &Sink::stdout());
}

/// The course's missions for step 16: thread name and mission.
const MISSIONS: [(&str, &str); 2] = [
    ("Thread-Scan", "Data scan"),
    ("Thread-Hack", "System breach"),
];

/// What step 16 observed about one mission's thread.
#[derive(Debug, PartialEq, Eq)]
struct MissionStatus {
    /// The random duration drawn, in `unit`s (1 to 3).
    units: u32,
    /// `is_finished()` right after spawning.
    finished_after_start: bool,
}

/// Step 16 — run each mission in its own named thread for a random 1–3
/// `unit`s, one mission after another: report its state before it starts,
/// right after it starts, and after it is joined.
///
/// Python can ask an unstarted `Thread` object `is_alive()` (always
/// `False`); in Rust there is no thread object until it is spawned, so the
/// "before" state is simply "no handle yet". After `join` the handle is
/// consumed: a joined thread has ended by definition, so there is nothing
/// left to ask.
///
/// This follows the exercise: two missions, one after another. The
/// lecture's version has six (scan, breach, search, anonymity, analysis,
/// DDoS), reports all six before starting any, then starts them all at
/// once and joins them in turn. Whether "mission started" or "mission
/// active" comes first is a race, in Python as here.
fn step_16(unit: Duration, sink: &Sink) -> Vec<MissionStatus> {
    let mut rng = rand::rng();
    MISSIONS
        .iter()
        .map(|&(thread_name, mission)| {
            let units = rng.random_range(1..=3);
            sink.note(format!(
                "[{thread_name} ({mission})] before start: no thread exists yet"
            ));
            thread::scope(|s| {
                let handle = thread::Builder::new()
                    .name(thread_name.to_owned())
                    .spawn_scoped(s, move || {
                        sink.note(format!("[{mission}] mission started."));
                        thread::sleep(unit * units);
                        sink.note(format!("[{mission}] mission accomplished!"));
                    })
                    .expect("the OS should have room for one more thread");
                let finished_after_start = handle.is_finished();
                let active = !finished_after_start;
                sink.note(format!(
                    "[{thread_name} ({mission})] mission active: {active}"
                ));
                handle.join().unwrap();
                sink.note(format!(
                    "[{thread_name} ({mission})] joined: the thread has ended"
                ));
                MissionStatus {
                    units,
                    finished_after_start,
                }
            })
        })
        .collect()
}

fn show_step_16() {
    step_16(Duration::from_secs(1), &Sink::stdout());
}

/// The attributes a running thread can report, and the ones set at spawn.
fn attributes() -> (String, thread::ThreadId, usize) {
    const STACK: usize = 256 * 1024;
    let handle = thread::Builder::new()
        .name("probe".into())
        .stack_size(STACK)
        .spawn(|| {
            // A deep enough recursion would overflow this small stack; Rust
            // then aborts the process with "has overflowed its stack".
            thread::current()
        })
        .expect("the OS should have room for one more thread");
    let me = handle.join().unwrap();
    (me.name().unwrap_or("<unnamed>").to_owned(), me.id(), STACK)
}

fn show_attributes() {
    let (name, id, stack) = attributes();
    println!("name: {name}, id: {id:?}, stack size requested: {stack} bytes");
    println!("main thread id: {:?}", thread::current().id());
    match thread::available_parallelism() {
        Ok(n) => println!("threads that can run at once here: {n}"),
        Err(e) => println!("the number of CPUs is unknown: {e}"),
    }
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 1.8 — Thread attributes («Атрибуты потока»)",
        &[
            Step::new("step_15", "five threads with code names", show_step_15),
            Step::new("step_16", "alive before, during, after?", show_step_16),
            Step::new("attributes", "name, id and stack size", show_attributes),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;

    const LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn step_15_threads_run_under_their_code_names() {
        let (names, lines) = deadline(LIMIT, || {
            let sink = Sink::collect();
            (step_15(Duration::from_millis(5), &sink), sink.lines())
        });
        assert_eq!(names, CODE_NAMES);
        for name in CODE_NAMES {
            let at = |line: String| lines.iter().position(|l| *l == line);
            let started = at(format!("thread {name} started (named when spawned)"));
            let done = at(format!("task done for {name}"));
            assert!(started.is_some() && started < done, "{name}: {lines:?}");
        }
        assert_eq!(lines.len(), 10);
    }

    #[test]
    fn step_16_each_mission_is_active_right_after_it_starts() {
        // The missions sleep at least one unit, far longer than the check
        // right after spawning takes.
        let (statuses, lines) = deadline(LIMIT, || {
            let sink = Sink::collect();
            (step_16(Duration::from_millis(300), &sink), sink.lines())
        });
        assert_eq!(statuses.len(), MISSIONS.len());
        for status in statuses {
            assert!((1..=3).contains(&status.units), "{status:?}");
            assert!(!status.finished_after_start, "{status:?}");
        }
        // One mission after another: each one's five lines together, the
        // thread's own two in order, the join last.
        for ((thread_name, mission), lines) in MISSIONS.iter().zip(lines.chunks(5)) {
            let tag = format!("[{thread_name} ({mission})]");
            assert!(lines[0].starts_with(&tag) && lines[0].contains("before start"));
            let started = lines.iter().position(|l| l.contains("mission started"));
            let done = lines.iter().position(|l| l.contains("accomplished"));
            assert!(started.is_some() && started < done, "{lines:?}");
            assert_eq!(lines[4], format!("{tag} joined: the thread has ended"));
        }
    }

    #[test]
    fn attributes_come_back_as_set() {
        let (name, id, _) = attributes();
        assert_eq!(name, "probe");
        assert_ne!(id, thread::current().id());
    }
}
