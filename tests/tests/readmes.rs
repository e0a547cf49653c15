//! README.md and its Russian counterpart README.ru.md stay in step.
//!
//! The two are written by hand, so nothing but this test notices when a
//! lesson is added to one and not the other. It checks that
//!
//! * every `cargo run -p … --bin …` command (with its arguments, as written)
//!   of one README appears in the other, and so does every `cargo test`
//!   command, the test command `cargo test --workspace` among them;
//! * each README links to the other;
//! * every lesson binary in the workspace has its
//!   `cargo run -p PACKAGE --bin LESSON` line in both, and no run line names
//!   a lesson that does not exist.

use std::collections::BTreeSet;
use std::fs;

use course_tests::{lesson_names, module_packages, workspace_root};

const ENGLISH: &str = "README.md";
const RUSSIAN: &str = "README.ru.md";
/// The command the README gives for running every test (`.ci/run` runs it).
const TEST_COMMAND: &str = "cargo test --workspace";

fn read(name: &str) -> String {
    let path = workspace_root().join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every command starting with `prefix` (`cargo run`, `cargo test`) in a
/// Markdown text, as written, with runs of whitespace made single spaces;
/// the bare prefix alone does not count.
///
/// Inside an inline code span (an odd number of backticks before it on its
/// line) a command ends at the closing backtick, which may be on a later
/// line; in an indented code block it ends at the end of the line.
fn commands(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut line_start = 0;
    for (at, _) in text.match_indices(prefix) {
        if let Some(newline) = text[line_start..at].rfind('\n') {
            line_start += newline + 1;
        }
        let rest = &text[at..];
        let in_span = text[line_start..at].matches('`').count() % 2 == 1;
        let end = if in_span {
            rest.find('`')
        } else {
            rest.find('\n')
        };
        let command = rest[..end.unwrap_or(rest.len())]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        // A bare `cargo test` is prose ("`cargo test` proves …"), not a
        // command the reader is told to run.
        if command != prefix {
            found.insert(command);
        }
    }
    found
}

/// The `cargo run` commands that run a lesson: they name a package and a
/// binary (prose such as "two `cargo run`s" does not).
fn run_commands(text: &str) -> BTreeSet<String> {
    commands(text, "cargo run")
        .into_iter()
        .filter(|command| package_and_bin(command).is_some())
        .collect()
}

/// `("module_06", "lesson_05")` from `cargo run --release -p module_06 --bin
/// lesson_05 -- …`; only the words before `--` count.
fn package_and_bin(command: &str) -> Option<(&str, &str)> {
    let mut words = command.split(' ').take_while(|word| *word != "--");
    let (mut package, mut bin) = (None, None);
    while let Some(word) = words.next() {
        match word {
            "-p" | "--package" => package = words.next(),
            "--bin" => bin = words.next(),
            _ => {}
        }
    }
    package.zip(bin)
}

/// The commands of `ours` that `theirs` lacks, one per line, or "".
fn missing(ours: &BTreeSet<String>, theirs: &BTreeSet<String>, from: &str, to: &str) -> String {
    ours.difference(theirs)
        .map(|command| format!("  in {from}, not in {to}: `{command}`\n"))
        .collect()
}

/// Asserts that both READMEs show the same commands of one kind.
fn assert_same(kind: &str, english: &BTreeSet<String>, russian: &BTreeSet<String>) {
    assert!(!english.is_empty(), "{ENGLISH} shows no {kind} command");
    let report =
        missing(english, russian, ENGLISH, RUSSIAN) + &missing(russian, english, RUSSIAN, ENGLISH);
    assert!(
        report.is_empty(),
        "the READMEs' {kind} commands differ: keep {ENGLISH} and {RUSSIAN} in step\n{report}"
    );
}

#[test]
fn both_show_the_same_run_commands() {
    let english = run_commands(&read(ENGLISH));
    let russian = run_commands(&read(RUSSIAN));
    assert_same("`cargo run`", &english, &russian);
}

#[test]
fn both_show_the_same_test_commands() {
    let english = commands(&read(ENGLISH), "cargo test");
    let russian = commands(&read(RUSSIAN), "cargo test");
    for (name, found) in [(ENGLISH, &english), (RUSSIAN, &russian)] {
        assert!(
            found.contains(TEST_COMMAND),
            "{name} does not show the test command `{TEST_COMMAND}`; it shows {found:?}"
        );
    }
    assert_same("`cargo test`", &english, &russian);
}

#[test]
fn each_links_to_the_other() {
    for (name, other) in [(ENGLISH, RUSSIAN), (RUSSIAN, ENGLISH)] {
        let link = format!("]({other})");
        assert!(
            read(name).contains(&link),
            "{name} has no link to {other} (`[…]({other})`)"
        );
    }
}

#[test]
fn every_lesson_has_its_run_line_in_both() {
    let packages = module_packages();
    assert!(!packages.is_empty(), "no module packages found");
    let mut report = String::new();
    for name in [ENGLISH, RUSSIAN] {
        let shown = run_commands(&read(name));
        for package in &packages {
            for lesson in lesson_names(package) {
                let line = format!("cargo run -p {package} --bin {lesson}");
                if !shown.contains(&line) {
                    report += &format!("  {name} has no `{line}`\n");
                }
            }
        }
    }
    assert!(
        report.is_empty(),
        "lessons missing from the READMEs:\n{report}"
    );
}

#[test]
fn every_run_line_names_an_existing_lesson() {
    let packages = module_packages();
    let mut report = String::new();
    for name in [ENGLISH, RUSSIAN] {
        for command in run_commands(&read(name)) {
            let (package, bin) = package_and_bin(&command).expect("run_commands keeps these");
            let exists = packages.iter().any(|p| p == package)
                && lesson_names(package).iter().any(|lesson| lesson == bin);
            if !exists {
                report += &format!("  {name}: `{command}` names no lesson binary\n");
            }
        }
    }
    assert!(
        report.is_empty(),
        "run lines for lessons that do not exist:\n{report}"
    );
}

/// The extraction itself: a command that is cut short or missed would make
/// the comparisons above pass on READMEs that differ.
#[test]
fn commands_are_read_as_written() {
    let text = "Run `cargo run -p module_07 --bin lesson_02 -- save_files --out d URL`.\n\
                Two `cargo run`s at once race; `cargo run --release -p module_06\n\
                --bin lesson_05` wraps.\n\
                \n\
                \x20   cargo run -p module_01 --bin lesson_03 -- --list\n\
                \x20   cargo test --workspace\n\
                and `RUSTC_BOOTSTRAP=1 cargo test --workspace --doc`.\n";
    let run: Vec<String> = run_commands(text).into_iter().collect();
    assert_eq!(
        run,
        [
            "cargo run --release -p module_06 --bin lesson_05",
            "cargo run -p module_01 --bin lesson_03 -- --list",
            "cargo run -p module_07 --bin lesson_02 -- save_files --out d URL",
        ]
    );
    let test: Vec<String> = commands(text, "cargo test").into_iter().collect();
    assert_eq!(
        test,
        ["cargo test --workspace", "cargo test --workspace --doc"]
    );
    assert_eq!(
        package_and_bin("cargo run -p a --bin b -- -p c --bin d"),
        Some(("a", "b"))
    );
}
