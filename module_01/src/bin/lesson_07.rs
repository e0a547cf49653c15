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
//! | a global list appended to by threads         | a `step_runner::Sink` the scoped threads report to     |
//!
//! - Run all steps: `cargo run -p module_01 --bin lesson_07`
//! - Run one step:  `cargo run -p module_01 --bin lesson_07 -- step_14`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `step_15`, remove the `.name(…)` call and run `-- step_15`:
//! every worker now calls itself `<unnamed>`, and a panic in one would say
//! `thread '<unnamed>' panicked`. In `named_workers`, join `Worker-2` last
//! instead of first and run `-- named_workers`: the workers' lines stay the
//! same, only the join order at the end changes. Why does joining it first
//! not make `Worker-2` finish first?

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::mpsc::{self, TryRecvError};
use std::thread;
use std::time::Duration;

use step_runner::{Sink, Step, lesson_id};

/// The current thread's name, for messages; unnamed threads say so.
fn current_name() -> String {
    thread::current().name().unwrap_or("<unnamed>").to_owned()
}

/// Spawns a thread with a name inside a scope. Only the OS can refuse.
fn spawn_named<'scope, 'env, T: Send + 'scope>(
    s: &'scope thread::Scope<'scope, 'env>,
    name: &str,
    f: impl FnOnce() -> T + Send + 'scope,
) -> thread::ScopedJoinHandle<'scope, T> {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn_scoped(s, f)
        .expect("the OS should have room for one more thread")
}

/// Lecture demo (1.7, first) — a thread named as the course names it,
/// `Поток-1` ("Thread-1"), reads its own name. A Rust thread name may be
/// any string without a NUL byte; the OS may see a shortened copy (Linux
/// keeps 15 bytes), `thread::current().name()` always the whole.
fn own_name(sink: &Sink) {
    thread::scope(|s| {
        spawn_named(s, "Поток-1", || {
            sink.note(format!("the running thread's name: {}", current_name()));
        });
    });
}

fn show_own_name() {
    own_name(&Sink::stdout());
}

/// Lecture demo (1.7, second) — two threads spawned without a name report
/// theirs as they start and end `work` (the course's 3 s) later.
///
/// Python names them `Thread-1 (task)` and `Thread-2 (task)` (3.10+); a
/// Rust thread without a name has none, and `current_name` prints
/// `<unnamed>` for both, so the two are told apart only by their ids.
fn default_names(work: Duration, sink: &Sink) {
    let task = || {
        let me = thread::current();
        let id = me.id();
        sink.note(format!("thread {} ({id:?}) starts", current_name()));
        thread::sleep(work);
        sink.note(format!("thread {} ({id:?}) ends", current_name()));
    };
    thread::scope(|s| {
        s.spawn(task);
        s.spawn(task);
    });
}

fn show_default_names() {
    default_names(Duration::from_secs(3), &Sink::stdout_timed());
}

/// Lecture demo (1.7, third) — five workers `Worker-0` … `Worker-4`, kept in
/// a map by name; `main` joins `Worker-2` by its name first, then the rest.
///
/// Python's `dict` keeps insertion order; a `BTreeMap` keeps key order,
/// which for these five names is the same. Returns the names in the order
/// they were joined.
fn named_workers(work: Duration, sink: &Sink) -> Vec<String> {
    let task = || {
        sink.note(format!("thread {} starts", current_name()));
        thread::sleep(work);
        sink.note(format!("thread {} ends", current_name()));
    };
    thread::scope(|s| {
        let mut workers: BTreeMap<String, _> = (0..5)
            .map(|i| format!("Worker-{i}"))
            .map(|name| (name.clone(), spawn_named(s, &name, task)))
            .collect();
        let mut joined = Vec::new();
        if let Some(worker_2) = workers.remove("Worker-2") {
            worker_2.join().unwrap();
            joined.push("Worker-2".to_owned());
        }
        for (name, worker) in workers {
            worker.join().unwrap();
            joined.push(name);
        }
        joined
    })
}

fn show_named_workers() {
    let joined = named_workers(Duration::from_secs(3), &Sink::stdout_timed());
    println!("joined in this order: {joined:?}");
}

/// Lecture demo (1.7, fourth) — named threads for two stages: `DataLoad`
/// loads for `load` (the course's 2 s), `DataTransform` transforms for
/// `transform` (3 s), both at once; each reports under its own name.
fn stage_names(load: Duration, transform: Duration, sink: &Sink) {
    let stage = |what: &'static str, work: Duration| {
        move || {
            sink.note(format!("{what} starts; thread {}", current_name()));
            thread::sleep(work);
            sink.note(format!("{what} is done; thread {}", current_name()));
        }
    };
    thread::scope(|s| {
        spawn_named(s, "DataLoad", stage("loading the data", load));
        spawn_named(
            s,
            "DataTransform",
            stage("transforming the data", transform),
        );
    });
}

fn show_stage_names() {
    let (load, transform) = (Duration::from_secs(2), Duration::from_secs(3));
    stage_names(load, transform, &Sink::stdout_timed());
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
///
/// The lecture's version logs each thread's end as well; this follows the
/// exercise, which prints only the starts and the threads still running.
fn step_14(a_work: Duration, b_work: Duration, timeout: Duration, sink: &Sink) -> Vec<String> {
    thread::scope(|s| {
        let spawn = |name: &str, work: Duration| {
            let (ended_tx, ended_rx) = mpsc::channel::<()>();
            let handle = spawn_named(s, name, move || {
                let _ended = ended_tx;
                sink.note(format!("thread {} started", current_name()));
                thread::sleep(work);
            });
            (handle, ended_rx)
        };
        let (a, a_ended) = spawn("A", a_work);
        let (b, b_ended) = spawn("B", b_work);

        // Either outcome (A ended, or the timeout passed) means: look now.
        let _ = a_ended.recv_timeout(timeout);

        // Python's interpreter would wait for both (non-daemon) threads
        // before exiting; the scope joins them, so the lesson does the same.
        [(&a, &a_ended), (&b, &b_ended)]
            .into_iter()
            .filter(|(_, ended)| matches!(ended.try_recv(), Err(TryRecvError::Empty)))
            .map(|(handle, _)| handle.thread().name().unwrap_or("<unnamed>").to_owned())
            .collect()
    })
}

fn show_step_14() {
    let sink = Sink::stdout();
    let (a, b) = (Duration::from_secs(2), Duration::from_secs(3));
    for name in step_14(a, b, Duration::from_millis(2100), &sink) {
        sink.note(format!("thread {name} did not finish in the time allowed."));
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
///
/// This follows the exercise (the `Name_thread-` prefix, a line at start and
/// end); the lecture's version names the threads by the bare call sign and
/// only logs. The exercise does not join its threads (the interpreter waits
/// for them at exit); a Rust program would not wait, so the scope joins.
fn step_15(work: Duration, sink: &Sink) -> Vec<String> {
    thread::scope(|s| {
        let workers: Vec<_> = CALL_SIGNS
            .iter()
            .map(|sign| {
                spawn_named(s, &format!("Name_thread-{sign}"), move || {
                    let me = current_name();
                    sink.note(format!("{me} started work."));
                    thread::sleep(work);
                    sink.note(format!("{me} finished work."));
                    me
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    })
}

fn show_step_15() {
    step_15(Duration::from_secs(1), &Sink::stdout());
}

/// The course's files for step 16.
const FILES: [&str; 3] = ["file623.xlsx", "file538.jpg", "file13.txt"];

/// Step 16 — for each file in turn, three threads named
/// `LoadThread-<file>`, `ProcessThread-<file>` and `SaveThread-<file>` run
/// at once, each reporting when it starts and ends its stage.
///
/// This follows the exercise: three files, one after another. The lecture's
/// version starts all fifteen threads of five files at once, and its threads
/// read the file name from a global that the loop has left at the last file
/// by the time they run: every line names `file984.docx` (seen on 3.11).
/// Passing each thread its own `file` rules that out.
///
/// The Python version appends the lines to a global list (safe because the
/// GIL makes `append` atomic) and prints the list at the end; here each line
/// goes to the sink as it happens: the same lines in the same order, shown
/// while the threads work. The sink is shared by reference, which a scope
/// allows; a plain `Vec` pushed to by three threads would not compile
/// (E0499, a `compile_fail` doctest in `module_01/src/lib.rs`).
fn step_16(files: &[&str], work: Duration, sink: &Sink) {
    let stage = |action: &str| {
        let me = current_name();
        sink.note(format!("{me} started {action}."));
        thread::sleep(work);
        sink.note(format!("{me} finished {action}."));
    };
    for file in files {
        thread::scope(|s| {
            for (prefix, action) in [
                ("LoadThread", "loading"),
                ("ProcessThread", "processing"),
                ("SaveThread", "saving"),
            ] {
                let name = format!("{prefix}-{file}");
                spawn_named(s, &name, move || stage(&format!("{action} {file}")));
            }
        });
    }
}

fn show_step_16() {
    step_16(&FILES, Duration::from_secs(1), &Sink::stdout());
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 1.7 — Thread names («Имена потоков»)",
        &[
            Step::new("own_name", "a thread reads its own name", show_own_name),
            Step::new(
                "default_names",
                "threads without a name",
                show_default_names,
            ),
            Step::new(
                "named_workers",
                "join a worker by its name",
                show_named_workers,
            ),
            Step::new("stage_names", "a thread named per stage", show_stage_names),
            Step::new("step_14", "join A with a timeout", show_step_14),
            Step::new("step_15", "ten named workers", show_step_15),
            Step::new("step_16", "named threads per file", show_step_16),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;
    use std::collections::HashSet;

    const LIMIT: Duration = Duration::from_secs(20);
    const SHORT: Duration = Duration::from_millis(5);

    /// Runs `step` under the deadline with a collecting sink; its lines.
    fn lines_of(step: impl FnOnce(&Sink) + Send + 'static) -> Vec<String> {
        deadline(LIMIT, || {
            let sink = Sink::collect();
            step(&sink);
            sink.lines()
        })
    }

    #[test]
    fn own_name_is_the_given_name() {
        assert_eq!(lines_of(own_name), ["the running thread's name: Поток-1"]);
    }

    #[test]
    fn default_names_are_none_and_ids_tell_the_threads_apart() {
        let lines = lines_of(|sink| default_names(SHORT, sink));
        assert_eq!(lines.len(), 4);
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("thread <unnamed> (ThreadId("))
        );
        let ids: HashSet<&str> = lines.iter().map(|l| &l[..l.find(')').unwrap()]).collect();
        assert_eq!(ids.len(), 2, "{lines:?}");
    }

    #[test]
    fn named_workers_join_worker_2_first_and_each_once() {
        let joined = deadline(LIMIT, || named_workers(SHORT, &Sink::collect()));
        assert_eq!(
            joined,
            ["Worker-2", "Worker-0", "Worker-1", "Worker-3", "Worker-4"]
        );
        let lines = lines_of(|sink| {
            named_workers(SHORT, sink);
        });
        for i in 0..5 {
            assert!(lines.contains(&format!("thread Worker-{i} starts")));
            assert!(lines.contains(&format!("thread Worker-{i} ends")));
        }
        assert_eq!(lines.len(), 10);
    }

    #[test]
    fn stage_names_report_under_their_own_names() {
        let lines = lines_of(|sink| stage_names(SHORT, SHORT, sink));
        assert_eq!(lines.len(), 4, "{lines:?}");
        for (what, name) in [
            ("loading the data", "DataLoad"),
            ("transforming the data", "DataTransform"),
        ] {
            let at = |line: String| lines.iter().position(|l| *l == line);
            let starts = at(format!("{what} starts; thread {name}"));
            let done = at(format!("{what} is done; thread {name}"));
            assert!(starts.is_some() && starts < done, "{name}: {lines:?}");
        }
    }

    #[test]
    fn step_14_b_is_still_running_when_a_ends() {
        // A ends at once; B works for far longer than it takes to look.
        let running = deadline(LIMIT, || {
            let (a, b) = (Duration::ZERO, Duration::from_millis(800));
            step_14(a, b, Duration::from_secs(10), &Sink::collect())
        });
        assert_eq!(running, ["B"]);
    }

    #[test]
    fn step_14_both_are_running_when_the_timeout_passes_first() {
        let lines = lines_of(|sink| {
            let work = Duration::from_millis(800);
            let running = step_14(work, work, Duration::from_millis(10), sink);
            assert_eq!(running, ["A", "B"]);
        });
        let mut lines = lines;
        lines.sort();
        assert_eq!(lines, ["thread A started", "thread B started"]);
    }

    #[test]
    fn step_15_every_worker_has_its_own_name() {
        let names = deadline(LIMIT, || step_15(SHORT, &Sink::collect()));
        let expected: Vec<String> = CALL_SIGNS
            .iter()
            .map(|s| format!("Name_thread-{s}"))
            .collect();
        assert_eq!(names, expected);
        let lines = lines_of(|sink| {
            step_15(SHORT, sink);
        });
        for name in &expected {
            let at = |line: String| lines.iter().position(|l| *l == line);
            let started = at(format!("{name} started work."));
            let finished = at(format!("{name} finished work."));
            assert!(started.is_some() && started < finished, "{name}: {lines:?}");
        }
    }

    #[test]
    fn step_16_reports_every_stage_once_file_by_file() {
        let log = lines_of(|sink| step_16(&FILES, SHORT, sink));
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
