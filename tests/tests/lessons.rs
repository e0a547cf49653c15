//! End-to-end: every lesson binary of every module runs all its steps and
//! exits 0, prints a heading for each step, and answers a bad step name with
//! the list of steps and exit status 2.
//!
//! One test per module. A module's lessons run at the same time (they mostly
//! sleep through the course's delays), so a module takes about as long as its
//! slowest lesson.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use course_tests::{
    lesson_binaries, lesson_names, module_packages, run_lesson, spawn_lesson, wait_with_limit,
};

/// Generous: the slowest lesson's delays add up to well under this.
const LESSON_LIMIT: Duration = Duration::from_secs(120);
/// `--list` and bad arguments return at once.
const QUICK_LIMIT: Duration = Duration::from_secs(30);

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
    assert!(stderr.contains("unknown step `no_such_step`"), "{stderr}");
    for step in steps {
        assert!(
            stderr.contains(step.as_str()),
            "{package}/{bin}: {step} missing in\n{stderr}"
        );
    }
}

fn check_module(package: &str) {
    let dir = lesson_binaries(package);
    let lessons = lesson_names(package);
    assert!(!lessons.is_empty(), "{package} has no lessons");

    // Start every lesson of the module at once, then check each.
    let running: Vec<_> = lessons
        .iter()
        .map(|bin| (bin, steps_of(&dir, bin), spawn_lesson(&dir, bin, &[])))
        .collect();
    for (bin, steps, child) in running {
        let output = wait_with_limit(child, LESSON_LIMIT, bin);
        check_full_run(package, bin, &steps, &output);
        check_bad_step(package, &dir, bin, &steps);
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

module_tests!(module_01, module_09);
