//! Lesson 1.7 — Thread names («Имена потоков»)
//!
//! A thread's name shows up in panics, debuggers and logs. In Rust it is set
//! once, when the thread is spawned, with `thread::Builder::name`; a thread
//! spawned without one has no name at all (Python invents one: since 3.10
//! `Thread-1 (f)` for a thread with `target=f`, plain `Thread-2` without a
//! target).
//!
//! | Python                                       | Rust                                                   |
//! |----------------------------------------------|--------------------------------------------------------|
//! | `Thread(target=f, name="A")`                 | `thread::Builder::new().name("A".into()).spawn(f)?`    |
//! | `threading.current_thread().name`            | `thread::current().name()` → `Option<&str>`             |
//! | default name `Thread-1 (f)` (3.10+), `Thread-2` | `None`                                              |
//! | `t.join(timeout=2.1)`; `t.is_alive()`        | a deadline on a channel; the channel still connected    |
//! | a global list appended to by threads         | `Mutex<Vec<String>>` shared by scoped threads          |
//!
//! Run all steps: `cargo run -p module_01 --bin lesson_07`
//! Run one step:  `cargo run -p module_01 --bin lesson_07 -- step_14`
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `step_15`, remove the `.name(…)` call and run `-- step_15`:
//! every worker now calls itself `<unnamed>`, and a panic in one would say
//! `thread '<unnamed>' panicked`.

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::mpsc::{self, TryRecvError};
use std::thread;
use std::time::Duration;

use step_runner::{Step, lesson_id};

/// The current thread's name, for messages; unnamed threads say so.
fn current_name() -> String {
    thread::current().name().unwrap_or("<unnamed>").to_owned()
}

/// Step 14 — threads "A" and "B" work for `a_work` and `b_work`; `main`
/// waits for A at most `timeout`, then reports which threads are still
/// running.
///
/// std has no `join(timeout)`. Each thread owns the sending half of its own
/// channel and drops it when it ends, so `recv_timeout` returns as soon as A
/// ends, or when the timeout passes, whichever is first. Returns the names of
/// the threads still running at that moment.
///
/// "Still running" is read from the same channels (`try_recv` finds it
/// still connected), not from `JoinHandle::is_finished`: the sender is
/// dropped while the thread's closure returns, a moment before the thread
/// counts as finished, so right after A's channel disconnects
/// `is_finished` can still say `false`.
fn step_14(a_work: Duration, b_work: Duration, timeout: Duration) -> Vec<String> {
    let spawn = |name: &str, work: Duration| {
        let (ended_tx, ended_rx) = mpsc::channel::<()>();
        let handle = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _ended = ended_tx;
                println!("thread {} started", current_name());
                thread::sleep(work);
            })
            .expect("the OS refused to create a thread");
        (handle, ended_rx)
    };
    let (a, a_ended) = spawn("A", a_work);
    let (b, b_ended) = spawn("B", b_work);

    // Either outcome (A ended, or the timeout passed) means: look now.
    let _ = a_ended.recv_timeout(timeout);

    let still_running: Vec<String> = [(&a, &a_ended), (&b, &b_ended)]
        .into_iter()
        .filter(|(_, ended)| matches!(ended.try_recv(), Err(TryRecvError::Empty)))
        .map(|(handle, _)| handle.thread().name().unwrap_or("<unnamed>").to_owned())
        .collect();

    // Python's interpreter would wait for both (non-daemon) threads before
    // exiting; we join them so the lesson does the same.
    a.join().expect("A does not panic");
    b.join().expect("B does not panic");
    still_running
}

fn show_step_14() {
    let running = step_14(
        Duration::from_secs(2),
        Duration::from_secs(3),
        Duration::from_millis(2100),
    );
    for name in running {
        println!("thread {name} did not finish in the time allowed.");
    }
}

/// The course's ten call signs for step 15.
const CALL_SIGNS: [&str; 10] = [
    "OF95RK", "VH61DX", "NB03WA", "WO40ZF", "NJ48EG", "SX21ET", "AT01PA", "MR36DD", "DD84HR",
    "MI81QY",
];

/// Step 15 — ten workers named `Name_thread-<call sign>`, each announcing its
/// start and end by name and working for `work` in between.
///
/// Returns the names the workers saw themselves under, in spawn order.
fn step_15(work: Duration) -> Vec<String> {
    let workers: Vec<_> = CALL_SIGNS
        .iter()
        .map(|sign| {
            thread::Builder::new()
                .name(format!("Name_thread-{sign}"))
                .spawn(move || {
                    let me = current_name();
                    println!("{me} started work.");
                    thread::sleep(work);
                    println!("{me} finished work.");
                    me
                })
                .expect("the OS refused to create a thread")
        })
        .collect();
    workers
        .into_iter()
        .map(|w| w.join().expect("a worker panicked"))
        .collect()
}

fn show_step_15() {
    step_15(Duration::from_secs(1));
}

/// The course's files for step 16.
const FILES: [&str; 3] = ["file623.xlsx", "file538.jpg", "file13.txt"];

/// Step 16 — for each file in turn, three threads named
/// `LoadThread-<file>`, `ProcessThread-<file>` and `SaveThread-<file>` run
/// at once, each logging when it starts and ends its stage; the log is
/// printed at the end.
///
/// The Python version appends to a global list and relies on the GIL to make
/// `append` safe. Here the log is a `Mutex<Vec<String>>`: the threads borrow
/// it inside `thread::scope`, and the compiler would reject sharing a plain
/// `Vec` between them.
fn step_16(files: &[&str], work: Duration) -> Vec<String> {
    let log = Mutex::new(Vec::new());
    let stage = |action: &str| {
        let me = current_name();
        log.lock().unwrap().push(format!("{me} started {action}."));
        thread::sleep(work);
        log.lock().unwrap().push(format!("{me} finished {action}."));
    };
    for file in files {
        thread::scope(|s| {
            for (prefix, action) in [
                ("LoadThread", "loading"),
                ("ProcessThread", "processing"),
                ("SaveThread", "saving"),
            ] {
                thread::Builder::new()
                    .name(format!("{prefix}-{file}"))
                    .spawn_scoped(s, move || stage(&format!("{action} {file}")))
                    .expect("the OS refused to create a thread");
            }
        });
    }
    log.into_inner().unwrap()
}

fn show_step_16() {
    for line in step_16(&FILES, Duration::from_secs(1)) {
        println!("{line}");
    }
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 1.7 — Thread names («Имена потоков»)",
        &[
            Step::new(
                "step_14",
                "join A with a timeout, report who is still running",
                show_step_14,
            ),
            Step::new("step_15", "ten named workers", show_step_15),
            Step::new(
                "step_16",
                "load, process and save each file in named threads",
                show_step_16,
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;
    use std::collections::HashSet;

    const LIMIT: Duration = Duration::from_secs(20);

    #[test]
    fn step_14_b_is_still_running_when_a_ends() {
        // A ends at once; B works for far longer than it takes to look.
        let running = deadline(LIMIT, || {
            step_14(
                Duration::ZERO,
                Duration::from_millis(800),
                Duration::from_secs(10),
            )
        });
        assert_eq!(running, ["B"]);
    }

    #[test]
    fn step_14_both_are_running_when_the_timeout_passes_first() {
        let running = deadline(LIMIT, || {
            step_14(
                Duration::from_millis(800),
                Duration::from_millis(800),
                Duration::from_millis(10),
            )
        });
        assert_eq!(running, ["A", "B"]);
    }

    #[test]
    fn step_15_every_worker_has_its_own_name() {
        let names = deadline(LIMIT, || step_15(Duration::from_millis(5)));
        let expected: Vec<String> = CALL_SIGNS
            .iter()
            .map(|s| format!("Name_thread-{s}"))
            .collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn step_16_logs_every_stage_once_file_by_file() {
        let log = deadline(LIMIT, || step_16(&FILES, Duration::from_millis(5)));
        assert_eq!(log.len(), FILES.len() * 6);
        assert_eq!(
            log.iter().collect::<HashSet<_>>().len(),
            log.len(),
            "duplicates"
        );
        // Files are handled one after another: the six lines of each file
        // come together, in file order, and every stage starts before it
        // finishes.
        for (file, lines) in FILES.iter().zip(log.chunks(6)) {
            for (prefix, action) in [
                ("LoadThread", "loading"),
                ("ProcessThread", "processing"),
                ("SaveThread", "saving"),
            ] {
                let started = format!("{prefix}-{file} started {action} {file}.");
                let finished = format!("{prefix}-{file} finished {action} {file}.");
                let at = |line: &str| lines.iter().position(|l| l == line);
                let (Some(s), Some(f)) = (at(&started), at(&finished)) else {
                    panic!("{file}: missing {prefix} lines in {lines:?}");
                };
                assert!(s < f, "{prefix}-{file} finished before it started");
            }
        }
    }
}
