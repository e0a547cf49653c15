//! The command line every lesson binary shares, built on `clap`.
//!
//! A lesson is a list of [`Step`]s; each step is a subcommand. [`run`] prints
//! the lesson's title line and then, depending on the arguments:
//!
//! * no argument: runs every step in order, each under a heading line
//!   `== step_06: <summary>`;
//! * a step name: runs just that step, with the options it declares
//!   ([`Step::with_options`]);
//! * `--list`: prints the step names, one per line, and runs nothing;
//! * a [`Step::hidden`] name: runs that step alone, without the title line
//!   or a heading (a helper process the lesson starts itself);
//! * `--help` (or `STEP --help`): prints the usage and the steps;
//! * anything else: clap's error (with a "similar subcommand" tip for a
//!   typo) and the list of steps on standard error, exit status 2.
//!
//! The exit status comes from what the steps return: 0 when every step that
//! ran reported [`Outcome::Done`], 1 when one reported [`Outcome::Failed`],
//! 130 when one reported [`Outcome::Interrupted`] (and no later step runs).
//!
//! A step that reports events live (where their order or timing is the
//! lesson) writes them to a [`Sink`]: printed at once when the lesson runs,
//! collected when a test runs the step.
//!
//! This is infrastructure, not teaching material: the lessons themselves stay
//! self-contained, and each step function can be copied out on its own.

mod sink;

pub use sink::{Event, Sink};

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Arg, ArgAction, ArgMatches, Command};

/// How a step ended, as far as the exit status is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The step did what it was asked.
    Done,
    /// Something the user asked for failed (a download, say): exit status 1.
    Failed,
    /// The user stopped the step (Ctrl-C): no later step runs, exit status
    /// 130, what a shell reports for a program that SIGINT ended.
    Interrupted,
}

type RunWithOptions = Box<dyn Fn(&ArgMatches) -> Result<Outcome, clap::Error>>;

enum Action {
    Plain(fn()),
    /// A hidden step: it reports its own outcome and prints no heading.
    Hidden(fn() -> Outcome),
    WithOptions {
        /// Adds the step's options and arguments to its subcommand.
        augment: fn(Command) -> Command,
        run: RunWithOptions,
    },
}

/// One runnable part of a lesson: a course step (`step_06`) or a named demo
/// (`lost_update`).
pub struct Step {
    /// The name used on the command line and in the heading.
    pub name: &'static str,
    /// One line saying what the step shows.
    pub summary: &'static str,
    action: Action,
}

impl Step {
    /// A step without options: runs `run`, which prints its own output.
    pub const fn new(name: &'static str, summary: &'static str, run: fn()) -> Self {
        Self {
            name,
            summary,
            action: Action::Plain(run),
        }
    }

    /// A hidden subcommand for a helper process that the lesson starts
    /// itself (module 9 re-runs its own executable as a worker, the way
    /// Python's `spawn` start method re-runs `sys.executable` with the hidden
    /// argument `--multiprocessing-fork`). It is not listed, never runs with
    /// the other steps, and prints neither the title line nor a heading, so
    /// its standard output carries nothing but what `run` writes.
    pub const fn hidden(name: &'static str, run: fn() -> Outcome) -> Self {
        Self {
            name,
            summary: "",
            action: Action::Hidden(run),
        }
    }

    fn is_hidden(&self) -> bool {
        matches!(self.action, Action::Hidden(_))
    }

    /// A step with its own options and arguments, declared by `T` (a
    /// `#[derive(clap::Args)]` struct). `run` gets them parsed; when every
    /// step runs (no step named), it gets `T`'s defaults.
    pub fn with_options<T>(name: &'static str, summary: &'static str, run: fn(T) -> Outcome) -> Self
    where
        T: clap::Args + 'static,
    {
        Self {
            name,
            summary,
            action: Action::WithOptions {
                augment: T::augment_args,
                run: Box::new(move |matches| Ok(run(T::from_arg_matches(matches)?))),
            },
        }
    }

    fn subcommand(&self) -> Command {
        let command = Command::new(self.name);
        let command = match &self.action {
            Action::Plain(_) => command,
            Action::Hidden(_) => command.hide(true),
            Action::WithOptions { augment, .. } => augment(command),
        };
        // After `augment`: a doc comment on the options struct would
        // otherwise replace the step's summary in `--help`.
        command.about(self.summary)
    }

    fn run(&self, matches: &ArgMatches) -> Result<Outcome, clap::Error> {
        match &self.action {
            Action::Plain(run) => {
                run();
                Ok(Outcome::Done)
            }
            Action::Hidden(run) => Ok(run()),
            Action::WithOptions { run, .. } => run(matches),
        }
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
///
/// `cargo doc` documents each lesson as a module of its package's library
/// (`#[cfg(doc)]` in each module's `lib.rs`), where Cargo sets no
/// `CARGO_BIN_NAME`: there the name is empty, and nothing runs. Any other
/// build outside a binary fails to compile, as a plain `env!` would.
#[macro_export]
macro_rules! lesson_id {
    () => {
        $crate::LessonId {
            package: env!("CARGO_PKG_NAME"),
            bin: {
                #[cfg(not(doc))]
                let bin = env!("CARGO_BIN_NAME");
                #[cfg(doc)]
                let bin = "";
                bin
            },
        }
    };
}

/// The steps as an aligned list, one `  name  summary` line each, for usage
/// and error messages.
pub fn step_list(steps: &[Step]) -> String {
    let width = listed(steps).map(|s| s.name.len()).max().unwrap_or(0);
    listed(steps)
        .map(|s| format!("  {:width$}  {}\n", s.name, s.summary))
        .collect()
}

/// The steps a reader can run: all but the hidden ones.
fn listed(steps: &[Step]) -> impl Iterator<Item = &Step> {
    steps.iter().filter(|step| !step.is_hidden())
}

/// The heading printed before a step's output.
pub fn heading(step: &Step) -> String {
    format!("== {}: {}", step.name, step.summary)
}

/// The lesson's command line: `--list`, or one subcommand per step.
fn command(id: LessonId, title: &str, steps: &[Step]) -> Command {
    Command::new(id.bin)
        .bin_name(format!("cargo run -p {} --bin {} --", id.package, id.bin))
        .about(title.to_owned())
        .after_help("Without a step, every step runs in order.")
        .subcommand_value_name("STEP")
        .subcommand_help_heading("Steps")
        .disable_help_subcommand(true)
        .args_conflicts_with_subcommands(true)
        .arg(
            Arg::new("list")
                .long("list")
                .action(ArgAction::SetTrue)
                .help("Print the step names, one per line, and run nothing"),
        )
        .subcommands(steps.iter().map(Step::subcommand))
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    /// Every step, in order, with its default options.
    All,
    /// The index of the chosen step, and its parsed options.
    One(usize, ArgMatches),
    List,
}

fn parse(command: Command, steps: &[Step], args: &[OsString]) -> Result<Request, clap::Error> {
    let matches = command.try_get_matches_from(args)?;
    if matches.get_flag("list") {
        return Ok(Request::List);
    }
    Ok(match matches.subcommand() {
        Some((name, step_matches)) => {
            let index = steps
                .iter()
                .position(|step| step.name == name)
                .expect("clap accepts only the steps' own subcommands");
            Request::One(index, step_matches.clone())
        }
        None => Request::All,
    })
}

/// Runs the lesson as its command line asks and returns the exit status.
///
/// `title` is the lesson's title line, e.g.
/// `"Lesson 1.3 — What threads are («Что такое потоки»)"`.
pub fn run(id: LessonId, title: &str, steps: &[Step]) -> ExitCode {
    run_with(id, title, steps, std::env::args_os().collect())
}

fn run_with(id: LessonId, title: &str, steps: &[Step], args: Vec<OsString>) -> ExitCode {
    match execute(id, title, steps, &args) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::FAILURE,
        Ok(Outcome::Interrupted) => ExitCode::from(130),
        Err(error) => report(&error, steps),
    }
}

fn execute(
    id: LessonId,
    title: &str,
    steps: &[Step],
    args: &[OsString],
) -> Result<Outcome, clap::Error> {
    let step_requests: Vec<(&Step, ArgMatches)> =
        match parse(command(id, title, steps), steps, args)? {
            Request::List => {
                for step in listed(steps) {
                    println!("{}", step.name);
                }
                return Ok(Outcome::Done);
            }
            Request::One(index, matches) if steps[index].is_hidden() => {
                return steps[index].run(&matches);
            }
            Request::One(index, matches) => vec![(&steps[index], matches)],
            // Every step with its default options, all parsed before the first
            // step starts, so a step that cannot run without arguments fails
            // here and not halfway through.
            Request::All => listed(steps)
                .map(|step| Ok((step, step.subcommand().try_get_matches_from([step.name])?)))
                .collect::<Result<_, clap::Error>>()?,
        };
    println!("{title} [{}/{}]", id.package, id.bin);
    let mut outcome = Outcome::Done;
    for (i, (step, matches)) in step_requests.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!("{}", heading(step));
        match step.run(matches)? {
            Outcome::Done => {}
            Outcome::Failed => outcome = Outcome::Failed,
            Outcome::Interrupted => return Ok(Outcome::Interrupted),
        }
    }
    Ok(outcome)
}

/// Prints clap's message (help, or an error followed by the list of steps)
/// and returns clap's exit status: 0 for `--help`, 2 for a usage error.
fn report(error: &clap::Error, steps: &[Step]) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => print!("{}", error.render()),
        _ => eprint!("{}\nsteps:\n{}", error.render(), step_list(steps)),
    }
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop() {}

    const ID: LessonId = LessonId {
        package: "module_00",
        bin: "lesson_00",
    };

    fn steps() -> [Step; 2] {
        [
            Step::new("step_06", "first", noop),
            Step::new("step_07", "second", noop),
        ]
    }

    fn parse_args(steps: &[Step], list: &[&str]) -> Result<Request, clap::Error> {
        let args: Vec<OsString> = std::iter::once("lesson_00")
            .chain(list.iter().copied())
            .map(OsString::from)
            .collect();
        parse(command(ID, "Lesson 0.0", steps), steps, &args)
    }

    #[test]
    fn no_argument_runs_everything() {
        assert_eq!(parse_args(&steps(), &[]).unwrap(), Request::All);
    }

    #[test]
    fn a_step_name_picks_that_step() {
        assert!(matches!(
            parse_args(&steps(), &["step_07"]),
            Ok(Request::One(1, _))
        ));
    }

    #[test]
    fn list_and_help_are_recognised() {
        assert_eq!(parse_args(&steps(), &["--list"]).unwrap(), Request::List);
        let help = parse_args(&steps(), &["--help"]).unwrap_err();
        assert_eq!(help.kind(), ErrorKind::DisplayHelp);
        let text = help.render().to_string();
        assert!(
            text.contains("step_06") && text.contains("second"),
            "{text}"
        );
    }

    #[test]
    fn a_typo_gets_a_suggestion_and_status_2() {
        let error = parse_args(&steps(), &["step_6"]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidSubcommand);
        assert_eq!(error.exit_code(), 2);
        let text = error.render().to_string();
        assert!(
            text.contains("similar subcommand") && text.contains("step_06"),
            "{text}"
        );
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for args in [
            &["step_06", "step_07"][..],
            &["--list", "step_06"],
            &["--bogus"],
        ] {
            let error = parse_args(&steps(), args).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
    }

    #[derive(clap::Args, Debug, PartialEq)]
    struct Jobs {
        /// How many at once.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..))]
        jobs: u8,
    }

    fn jobs_step(jobs: Jobs) -> Outcome {
        match jobs.jobs {
            3 => Outcome::Done,
            9 => Outcome::Interrupted,
            _ => Outcome::Failed,
        }
    }

    fn with_jobs() -> [Step; 2] {
        [
            Step::new("step_06", "first", noop),
            Step::with_options("jobs", "takes --jobs", jobs_step),
        ]
    }

    fn status(steps: &[Step], list: &[&str]) -> ExitCode {
        let args = std::iter::once("lesson_00").chain(list.iter().copied());
        run_with(ID, "Lesson 0.0", steps, args.map(OsString::from).collect())
    }

    #[test]
    fn a_step_gets_its_options_and_its_outcome_sets_the_status() {
        assert_eq!(status(&with_jobs(), &["jobs"]), ExitCode::SUCCESS);
        assert_eq!(
            status(&with_jobs(), &["jobs", "--jobs", "5"]),
            ExitCode::FAILURE
        );
        assert_eq!(
            status(&with_jobs(), &["jobs", "--jobs", "9"]),
            ExitCode::from(130)
        );
        assert_eq!(status(&with_jobs(), &[]), ExitCode::SUCCESS);
    }

    #[test]
    fn a_bad_option_is_a_usage_error() {
        for args in [
            &["jobs", "--jobs", "0"][..],
            &["jobs", "--jobs"],
            &["step_06", "--jobs", "2"],
        ] {
            assert_eq!(status(&with_jobs(), args), ExitCode::from(2), "{args:?}");
        }
    }

    fn serve() -> Outcome {
        Outcome::Failed
    }

    fn never() -> Outcome {
        panic!("a hidden step ran with the others")
    }

    #[test]
    fn a_hidden_step_runs_only_when_named_and_is_never_listed() {
        let steps = [
            Step::new("step_06", "first", noop),
            Step::hidden("serve", serve),
        ];
        // Named, it runs alone and its outcome is the status.
        assert_eq!(status(&steps, &["serve"]), ExitCode::FAILURE);
        assert_eq!(step_list(&steps), "  step_06  first\n");
        let help = parse_args(&steps, &["--help"]).unwrap_err();
        assert!(!help.render().to_string().contains("serve"));
        // Every step: the hidden one would panic if it ran.
        let steps = [
            Step::new("step_06", "first", noop),
            Step::hidden("serve", never),
        ];
        assert_eq!(status(&steps, &[]), ExitCode::SUCCESS);
    }

    #[test]
    fn the_list_aligns_summaries() {
        assert_eq!(step_list(&steps()), "  step_06  first\n  step_07  second\n");
    }
}
