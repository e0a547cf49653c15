//! The command line every lesson binary shares.
//!
//! A lesson is a list of [`Step`]s. [`run`] prints the lesson's title line and
//! then, depending on the arguments:
//!
//! * no argument: runs every step in order, each under a heading line
//!   `== step_06: <summary>`;
//! * one step name: runs just that step;
//! * `--list`: prints the step names, one per line, and runs nothing;
//! * `--help`: prints the usage and the steps;
//! * anything else: prints what went wrong and the list of steps to standard
//!   error and exits with status 2.
//!
//! This is infrastructure, not teaching material: the lessons themselves stay
//! self-contained, and each step function can be copied out on its own.

use std::process::ExitCode;

/// One runnable part of a lesson: a course step (`step_06`) or a named demo
/// (`lost_update`).
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// The name used on the command line and in the heading.
    pub name: &'static str,
    /// One line saying what the step shows.
    pub summary: &'static str,
    /// Runs the step and prints its output.
    pub run: fn(),
}

impl Step {
    pub const fn new(name: &'static str, summary: &'static str, run: fn()) -> Self {
        Self { name, summary, run }
    }
}

/// Which binary is running: `module_01/lesson_03`. Build it with
/// [`lesson_id!`] so that it names the caller's package and binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LessonId {
    pub package: &'static str,
    pub bin: &'static str,
}

/// The [`LessonId`] of the binary that expands this macro.
#[macro_export]
macro_rules! lesson_id {
    () => {
        $crate::LessonId {
            package: env!("CARGO_PKG_NAME"),
            bin: env!("CARGO_BIN_NAME"),
        }
    };
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    All,
    /// The index of the chosen step.
    One(usize),
    List,
    Help,
}

#[derive(Debug, PartialEq, Eq)]
enum UsageError {
    UnknownStep(String),
    TooManyArguments,
}

fn parse(steps: &[Step], args: &[String]) -> Result<Request, UsageError> {
    match args {
        [] => Ok(Request::All),
        [arg] if arg == "--list" => Ok(Request::List),
        [arg] if arg == "--help" || arg == "-h" => Ok(Request::Help),
        [arg] => steps
            .iter()
            .position(|step| step.name == arg)
            .map(Request::One)
            .ok_or_else(|| UsageError::UnknownStep(arg.clone())),
        _ => Err(UsageError::TooManyArguments),
    }
}

/// The steps as an aligned list, one `  name  summary` line each, for usage
/// and error messages.
pub fn step_list(steps: &[Step]) -> String {
    let width = steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
    steps
        .iter()
        .map(|s| format!("  {:width$}  {}\n", s.name, s.summary))
        .collect()
}

/// The heading printed before a step's output.
pub fn heading(step: &Step) -> String {
    format!("== {}: {}", step.name, step.summary)
}

/// Runs the lesson as its command line asks and returns the exit status.
///
/// `title` is the lesson's title line, e.g.
/// `"Lesson 1.3 — What threads are («Что такое потоки»)"`.
pub fn run(id: LessonId, title: &str, steps: &[Step]) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = format!(
        "usage: cargo run -p {} --bin {} [-- STEP | --list | --help]",
        id.package, id.bin
    );
    match parse(steps, &args) {
        Ok(Request::List) => {
            for step in steps {
                println!("{}", step.name);
            }
        }
        Ok(Request::Help) => {
            println!("{title}\n{usage}\n\nsteps:\n{}", step_list(steps));
        }
        Ok(Request::One(index)) => {
            let step = &steps[index];
            println!("{title} [{}/{}]", id.package, id.bin);
            println!("{}", heading(step));
            (step.run)();
        }
        Ok(Request::All) => {
            println!("{title} [{}/{}]", id.package, id.bin);
            for (i, step) in steps.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                println!("{}", heading(step));
                (step.run)();
            }
        }
        Err(error) => {
            let what = match error {
                UsageError::UnknownStep(name) => format!("unknown step `{name}`"),
                UsageError::TooManyArguments => "expected at most one step name".to_owned(),
            };
            eprintln!("error: {what}\n{usage}\n\nsteps:\n{}", step_list(steps));
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop() {}

    const STEPS: [Step; 2] = [
        Step::new("step_06", "first", noop),
        Step::new("step_07", "second", noop),
    ];

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn no_argument_runs_everything() {
        assert_eq!(parse(&STEPS, &[]), Ok(Request::All));
    }

    #[test]
    fn a_step_name_picks_that_step() {
        assert_eq!(parse(&STEPS, &args(&["step_07"])), Ok(Request::One(1)));
    }

    #[test]
    fn flags_are_recognised() {
        assert_eq!(parse(&STEPS, &args(&["--list"])), Ok(Request::List));
        assert_eq!(parse(&STEPS, &args(&["--help"])), Ok(Request::Help));
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        assert_eq!(
            parse(&STEPS, &args(&["step_99"])),
            Err(UsageError::UnknownStep("step_99".into()))
        );
        assert_eq!(
            parse(&STEPS, &args(&["step_06", "step_07"])),
            Err(UsageError::TooManyArguments)
        );
    }

    #[test]
    fn the_list_aligns_summaries() {
        assert_eq!(step_list(&STEPS), "  step_06  first\n  step_07  second\n");
    }
}
