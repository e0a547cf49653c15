//! End-to-end: every lesson binary of every module runs all its steps and
//! exits 0, prints a heading for each step, and answers a bad step name with
//! the list of steps and exit status 2.
//!
//! One test per module. The first test to ask builds the modules one
//! package at a time, and starts each module's lessons as soon as it is
//! built, all at once: the lessons mostly sleep through the course's delays,
//! so the whole run takes about as long as the slowest lesson, however many
//! tests the harness runs in parallel.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Mutex, OnceLock, mpsc};
use std::thread;
use std::time::Duration;

use course_tests::{
    Lesson, lesson_binaries, lesson_names, module_packages, run_lesson, spawn_lesson,
    spawn_lesson_closing_stdout,
};

/// Generous: the slowest lesson's delays add up to well under this.
const LESSON_LIMIT: Duration = Duration::from_secs(120);
/// `--list` and bad arguments return at once.
const QUICK_LIMIT: Duration = Duration::from_secs(30);

/// The modules whose lessons run longest go first: a full run of lesson 5.1
/// takes about 45 s (the course's delays), 2.9 36 s, 1.6 22 s, 4.5 13 s,
/// 3.8 10.5 s and 9.13 9 s (each alone; 9.13 far longer on a busy machine,
/// where each of its worker processes' many replies waits for a core).
/// Started first, they wait while the other modules build, and the module
/// built last is one whose lessons end soon after (no lesson of modules 6, 7
/// and 8 takes over 5 s). The rest follow in name order.
const LONGEST_FIRST: [&str; 6] = [
    "module_05",
    "module_02",
    "module_01",
    "module_04",
    "module_09",
    "module_03",
];

/// The workspace's modules, in the order they are built and started.
fn modules_in_start_order() -> Vec<String> {
    let mut modules = module_packages();
    // A stable sort: the unnamed modules keep their name order.
    modules.sort_by_key(|module| {
        LONGEST_FIRST
            .iter()
            .position(|first| first == module)
            .unwrap_or(LONGEST_FIRST.len())
    });
    modules
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("lesson output is UTF-8")
}

fn steps_of(dir: &Path, bin: &str) -> Vec<String> {
    let output = run_lesson(dir, bin, &["--list"], QUICK_LIMIT);
    assert!(output.status.success(), "{bin} --list failed: {output:?}");
    let steps: Vec<String> = text(&output.stdout).lines().map(str::to_owned).collect();
    assert!(!steps.is_empty(), "{bin} lists no steps");
    steps
}

/// The full run: exit 0, the right binary, every step's heading in order.
fn check_full_run(package: &str, bin: &str, steps: &[String], output: &Output) {
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{package}/{bin} exited with {}\n--- stdout\n{stdout}\n--- stderr\n{}",
        output.status,
        text(&output.stderr)
    );
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.contains(&format!("[{package}/{bin}]")),
        "{package}/{bin}: the first line names another binary: {first}"
    );
    let headings: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("== "))
        .filter_map(|rest| rest.split(':').next())
        .collect();
    assert_eq!(headings, steps, "{package}/{bin}: step headings");
}

/// A step name that does not exist: exit 2, an error, the list of steps.
fn check_bad_step(package: &str, dir: &Path, bin: &str, steps: &[String]) {
    let output = run_lesson(dir, bin, &["no_such_step"], QUICK_LIMIT);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{package}/{bin} no_such_step"
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("unrecognized subcommand 'no_such_step'"),
        "{stderr}"
    );
    for step in steps {
        assert!(
            stderr.contains(step.as_str()),
            "{package}/{bin}: {step} missing in\n{stderr}"
        );
    }
}

/// One lesson binary's full run (no arguments).
struct FullRun {
    bin: String,
    steps: Vec<String>,
    output: Output,
}

/// A module's lessons: where its binaries are, and how each full run went;
/// or why the module could not be run.
type ModuleRuns = Result<(PathBuf, Vec<FullRun>), String>;

/// Runs `f`, turning a panic (a failed assertion in a helper) into `Err`.
fn catching<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".to_owned())
    })
}

/// Every module's full runs, made once for all the tests.
fn all_runs() -> &'static BTreeMap<String, ModuleRuns> {
    static RUNS: OnceLock<BTreeMap<String, ModuleRuns>> = OnceLock::new();
    RUNS.get_or_init(|| {
        // Build and start, module by module; nothing is awaited yet.
        type Started = (PathBuf, Vec<(String, Vec<String>, Lesson)>);
        let started: Vec<(String, Result<Started, String>)> = modules_in_start_order()
            .into_iter()
            .map(|package| {
                let start = catching(|| {
                    let dir = lesson_binaries(&package);
                    let lessons = lesson_names(&package);
                    assert!(!lessons.is_empty(), "{package} has no lessons");
                    let children = lessons
                        .into_iter()
                        .map(|bin| {
                            let steps = steps_of(&dir, &bin);
                            let child = spawn_lesson(&dir, &bin, &[]);
                            (bin, steps, child)
                        })
                        .collect();
                    (dir, children)
                });
                (package, start)
            })
            .collect();
        // Then collect every run.
        started
            .into_iter()
            .map(|(package, start)| {
                let runs = start.and_then(|(dir, children)| {
                    let runs = children
                        .into_iter()
                        .map(|(bin, steps, child)| {
                            // A failure here drops the other children: each
                            // is killed and reaped by `Lesson`'s `Drop`.
                            let output = catching(|| child.wait(LESSON_LIMIT))?;
                            Ok(FullRun { bin, steps, output })
                        })
                        .collect::<Result<Vec<_>, String>>()?;
                    Ok((dir, runs))
                });
                (package, runs)
            })
            .collect()
    })
}

fn check_module(package: &str) {
    let runs = all_runs()
        .get(package)
        .unwrap_or_else(|| panic!("{package} is not in the workspace"));
    let (dir, runs) = match runs {
        Ok(runs) => runs,
        Err(why) => panic!("{package}: {why}"),
    };
    for run in runs {
        check_full_run(package, &run.bin, &run.steps, &run.output);
        check_bad_step(package, dir, &run.bin, &run.steps);
    }
}

macro_rules! module_tests {
    ($($module:ident),* $(,)?) => {
        $(
            #[test]
            fn $module() {
                check_module(stringify!($module));
            }
        )*

        /// A module added to the workspace without a test here would be
        /// silently skipped; this test catches that.
        #[test]
        fn every_module_has_an_end_to_end_test() {
            let covered = [$(stringify!($module)),*];
            assert_eq!(module_packages(), covered);
        }
    };
}

module_tests!(
    module_01, module_02, module_03, module_04, module_05, module_06, module_07, module_08,
    module_09
);

/// A mistyped step name gets clap's suggestion, the list of steps and exit
/// status 2; `--help` lists the steps and exits 0.
#[test]
fn a_typo_gets_a_suggestion() {
    let dir = lesson_binaries("module_01");
    let output = run_lesson(&dir, "lesson_03", &["step_6"], QUICK_LIMIT);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("similar subcommand"), "{stderr}");
    assert!(stderr.contains("'step_06'"), "{stderr}");
    assert!(output.stdout.is_empty(), "a typo ran something");

    let output = run_lesson(&dir, "lesson_03", &["--help"], QUICK_LIMIT);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        stdout.contains("step_09") && stdout.contains("Usage:"),
        "{stdout}"
    );
}

/// Module 7's steps take URLs (and 7.2's `save_files` `--out DIR` and
/// `--jobs N`): bad ones are answered with clap's message and exit status 2,
/// a failed download with exit status 1, and `--out` keeps the files.
/// Loopback only.
#[test]
fn module_07_bad_arguments() {
    let dir = lesson_binaries("module_07");
    let usage_errors: [(&str, &[&str], &str); 8] = [
        (
            "lesson_01",
            &["compare", "http://"],
            "malformed URL `http://`",
        ),
        (
            "lesson_01",
            &["compare", "not a url"],
            "malformed URL `not a url`",
        ),
        ("lesson_01", &["--bogus"], "unexpected argument '--bogus'"),
        (
            "lesson_01",
            &["compare", "--out", "x"],
            "unexpected argument '--out'",
        ),
        (
            "lesson_01",
            &["http://example.com/"],
            "unrecognized subcommand",
        ),
        (
            "lesson_02",
            &["save_files", "--jobs", "0"],
            "--jobs needs a number",
        ),
        (
            "lesson_02",
            &["save_files", "ftp://example.com/x"],
            "only http and https",
        ),
        (
            "lesson_03",
            &["retry_with_backoff", "--jobs=2"],
            "unexpected argument '--jobs'",
        ),
    ];
    for (bin, args, message) in usage_errors {
        let output = run_lesson(&dir, bin, args, QUICK_LIMIT);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bin} {args:?}: {stderr}");
        assert!(stderr.contains(message), "{bin} {args:?}: {stderr}");
        assert!(stderr.contains("--help"), "{bin} {args:?}: {stderr}");
        assert!(stderr.contains("steps:"), "{bin} {args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{bin} {args:?} ran something");
    }

    // Nothing listens on port 1: the task fails, the program reports it.
    let refused = "http://127.0.0.1:1/refused.bin";
    for (bin, step) in [
        ("lesson_01", "compare"),
        ("lesson_02", "save_files"),
        ("lesson_03", "retry_with_backoff"),
    ] {
        let output = run_lesson(&dir, bin, &[step, refused], QUICK_LIMIT);
        let stdout = text(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{bin}: {stdout}");
        assert!(stdout.contains("Connection refused"), "{bin}: {stdout}");
    }

    // `--out DIR` keeps the demo files there.
    let out = std::env::temp_dir().join(format!("module_07-out-{}", std::process::id()));
    let out_arg = out.to_str().expect("a UTF-8 temporary path");
    let output = run_lesson(
        &dir,
        "lesson_02",
        &["save_files", "--out", out_arg, "--jobs", "10"],
        LESSON_LIMIT,
    );
    let saved = std::fs::read_dir(&out).map(|entries| entries.count());
    let _ = std::fs::remove_dir_all(&out);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("with 10 at once"));
    assert_eq!(saved.expect("the output directory exists"), 10);
}

/// How many closed-stdout runs go at once: enough to overlap the lessons'
/// sleeps (most runs wait a few seconds, on one CPU-light thread), few
/// enough that CPU-bound steps on two cores still end well within their
/// limit.
const CLOSED_RUNS_AT_ONCE: usize = 16;

/// Every step of every lesson ends by itself when its reader goes away, as
/// with `cargo run … | head`: standard output is closed right after the
/// step's heading, so the step's first write fails (a broken pipe: printing
/// panics in whichever thread prints). A step that then hangs (a thread
/// waiting forever for one that died) is killed at the limit and reported.
/// Any exit status counts as ending: 101 is the broken pipe's panic.
///
/// This thread builds the modules in turn and queues each module's steps as
/// soon as it is built; the runners take them from the queue.
#[test]
fn every_step_ends_when_stdout_is_closed_early() {
    let (queue, steps) = mpsc::channel::<(PathBuf, String, String)>();
    let steps = Mutex::new(steps);
    let hung = Mutex::new(Vec::new());
    let mut queued = 0;
    thread::scope(|scope| {
        for _ in 0..CLOSED_RUNS_AT_ONCE {
            scope.spawn(|| {
                loop {
                    // Its own statement, so the lock is released before the
                    // run (a `while let` would hold it through the body): one
                    // runner waits in `recv` at a time, the others run.
                    let next = steps.lock().unwrap().recv();
                    let Ok((dir, bin, step)) = next else {
                        break;
                    };
                    let heading = format!("== {step}:");
                    let child = spawn_lesson_closing_stdout(&dir, &bin, &[step.as_str()], &heading);
                    if let Err(why) = catching(|| child.wait(LESSON_LIMIT)) {
                        let package = dir.file_name().unwrap_or_default().to_string_lossy();
                        hung.lock().unwrap().push(format!("{package}/{why}"));
                    }
                }
            });
        }
        // If a build fails, the panic drops `queue` on its way out: the
        // runners finish what is queued, and the scope passes the panic on.
        for package in modules_in_start_order() {
            let dir = lesson_binaries(&package);
            for bin in lesson_names(&package) {
                for step in steps_of(&dir, &bin) {
                    queued += 1;
                    queue
                        .send((dir.clone(), bin.clone(), step))
                        .expect("the runners wait for steps until the queue is dropped");
                }
            }
        }
        drop(queue);
    });
    let hung = hung.into_inner().unwrap();
    assert!(
        hung.is_empty(),
        "{} of {queued} steps did not end with stdout closed:\n{}",
        hung.len(),
        hung.join("\n")
    );
}
