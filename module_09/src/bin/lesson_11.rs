//! Lesson 9.11 — Which method to choose («Какой метод выбрать?»)
//!
//! Four questions pick one of the pool's eight methods: one task or many?
//! Must the caller wait, or carry on? Does it want the results all at once or
//! as a stream, and if streamed, in order or as they finish? Does each call
//! take one argument or several? The function `choose` below encodes the
//! table; each answer names the Python call and its rayon counterpart.
//!
//! | Python                        | Rust (rayon)                                                         |
//! |-------------------------------|----------------------------------------------------------------------|
//! | `pool.apply(f, (x,))`         | `pool.install(\|\| f(x))`                                              |
//! | `pool.apply_async(f, (x,))`   | `pool.spawn(move \|\| tx.send(f(x)))` + the `Receiver`                 |
//! | `pool.map(f, xs)`             | `xs.par_iter().map(f).collect()`                                     |
//! | `pool.map_async(f, xs)`       | `pool.spawn(move \|\| tx.send(xs.into_par_iter().map(f).collect()))`   |
//! | `pool.imap(f, xs)`            | one `spawn` per item + a reorder buffer (lesson 9.7)                 |
//! | `pool.imap_unordered(f, xs)`  | one `spawn` per item + the channel's `Receiver` (lesson 9.8)         |
//! | `pool.starmap(f, pairs)`      | `pairs.par_iter().map(\|&(a, b)\| f(a, b)).collect()`                  |
//! | `pool.starmap_async(f, pairs)`| `pool.spawn(move \|\| tx.send(pairs.into_par_iter().map(…).collect()))` |
//!
//! Python's pool runs the tasks in worker processes; this lesson runs them
//! on rayon's threads. Python needs processes because its GIL lets one
//! thread at a time run Python code; Rust's threads run in parallel on every
//! core, so a thread pool is the Rust equivalent (9.1, 9.2 and 9.13 show
//! real processes, for isolation).
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_11`
//! - Run one step:  `cargo run -p module_09 --bin lesson_11 -- scenarios`
//!
//! Try: add `("send one e-mail and carry on", Tasks::One,
//! Delivery::Background, Arguments::Several)` to `SCENARIOS` (its length
//! becomes 7) and run `-- scenarios`: the table picks `apply_async`.

use std::process::ExitCode;

use step_runner::{Step, lesson_id};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Apply,
    ApplyAsync,
    Map,
    MapAsync,
    Imap,
    ImapUnordered,
    Starmap,
    StarmapAsync,
}

impl Method {
    fn python(self) -> &'static str {
        match self {
            Method::Apply => "apply",
            Method::ApplyAsync => "apply_async",
            Method::Map => "map",
            Method::MapAsync => "map_async",
            Method::Imap => "imap",
            Method::ImapUnordered => "imap_unordered",
            Method::Starmap => "starmap",
            Method::StarmapAsync => "starmap_async",
        }
    }

    fn rust(self) -> &'static str {
        match self {
            Method::Apply => "pool.install(|| f(x))",
            Method::ApplyAsync => "pool.spawn + a one-slot channel",
            Method::Map => "xs.par_iter().map(f).collect()",
            Method::MapAsync => "pool.spawn(par_iter … collect) + a channel",
            Method::Imap => "spawn per item + reorder buffer",
            Method::ImapUnordered => "spawn per item + Receiver",
            Method::Starmap => "pairs.par_iter().map(|&(a, b)| f(a, b))",
            Method::StarmapAsync => "pool.spawn(pairs … collect) + a channel",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tasks {
    One,
    Many,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivery {
    /// The caller waits for the result (or the whole list).
    Wait,
    /// The caller carries on and collects (or gets a callback) later.
    Background,
    /// Results one by one, in the items' order, while the rest still run.
    StreamInOrder,
    /// Results one by one, as they finish.
    StreamAsFinished,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arguments {
    One,
    Several,
}

/// The decision table. A single task is never streamed, so the two stream
/// deliveries fall back to its blocking form. Python has no `istarmap`:
/// several arguments are streamed with `imap` over tuples, which in Rust is
/// the same code, since closures unpack tuples in their parameters.
fn choose(tasks: Tasks, delivery: Delivery, arguments: Arguments) -> Method {
    use Delivery::*;
    match (tasks, delivery, arguments) {
        (Tasks::One, Background, _) => Method::ApplyAsync,
        (Tasks::One, _, _) => Method::Apply,
        (Tasks::Many, StreamInOrder, _) => Method::Imap,
        (Tasks::Many, StreamAsFinished, _) => Method::ImapUnordered,
        (Tasks::Many, Wait, Arguments::One) => Method::Map,
        (Tasks::Many, Background, Arguments::One) => Method::MapAsync,
        (Tasks::Many, Wait, Arguments::Several) => Method::Starmap,
        (Tasks::Many, Background, Arguments::Several) => Method::StarmapAsync,
    }
}

/// Every combination the questions allow, with its answer.
fn decision_table() -> Vec<(Tasks, Delivery, Arguments, Method)> {
    let mut rows = Vec::new();
    for tasks in [Tasks::One, Tasks::Many] {
        let deliveries: &[Delivery] = match tasks {
            Tasks::One => &[Delivery::Wait, Delivery::Background],
            Tasks::Many => &[
                Delivery::Wait,
                Delivery::Background,
                Delivery::StreamInOrder,
                Delivery::StreamAsFinished,
            ],
        };
        for &delivery in deliveries {
            for arguments in [Arguments::One, Arguments::Several] {
                rows.push((
                    tasks,
                    delivery,
                    arguments,
                    choose(tasks, delivery, arguments),
                ));
            }
        }
    }
    rows
}

fn show_decision_table() {
    println!(
        "{:<5} {:<17} {:<8} {:<15} rust",
        "tasks", "delivery", "args", "python"
    );
    for (tasks, delivery, arguments, method) in decision_table() {
        println!(
            "{:<5} {:<17} {:<8} {:<15} {}",
            format!("{tasks:?}"),
            format!("{delivery:?}"),
            format!("{arguments:?}"),
            method.python(),
            method.rust()
        );
    }
}

/// Everyday situations and the question answers they imply.
const SCENARIOS: [(&str, Tasks, Delivery, Arguments); 6] = [
    (
        "render one report while the UI stays responsive",
        Tasks::One,
        Delivery::Background,
        Arguments::One,
    ),
    (
        "hash 10 000 files, then print a summary",
        Tasks::Many,
        Delivery::Wait,
        Arguments::One,
    ),
    (
        "compress file chunks and append them to the archive in order",
        Tasks::Many,
        Delivery::StreamInOrder,
        Arguments::One,
    ),
    (
        "resize images and tick a progress bar as each is done",
        Tasks::Many,
        Delivery::StreamAsFinished,
        Arguments::One,
    ),
    (
        "price (product, quantity) pairs, wait for the invoice",
        Tasks::Many,
        Delivery::Wait,
        Arguments::Several,
    ),
    (
        "simulate (seed, steps) runs overnight, e-mail when done",
        Tasks::Many,
        Delivery::Background,
        Arguments::Several,
    ),
];

fn show_scenarios() {
    for (situation, tasks, delivery, arguments) in SCENARIOS {
        let method = choose(tasks, delivery, arguments);
        println!("{situation}\n    → {} ({})", method.python(), method.rust());
    }
}

const TITLE: &str = "Lesson 9.11 — Which method to choose («Какой метод выбрать?»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("decision_table", "tasks × delivery × arguments → method", show_decision_table),
        Step::new("scenarios", "everyday situations and their method", show_scenarios),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_method_answers_some_question() {
        let table = decision_table();
        assert_eq!(table.len(), 2 * 2 + 4 * 2);
        for method in [
            Method::Apply,
            Method::ApplyAsync,
            Method::Map,
            Method::MapAsync,
            Method::Imap,
            Method::ImapUnordered,
            Method::Starmap,
            Method::StarmapAsync,
        ] {
            assert!(
                table.iter().any(|row| row.3 == method),
                "{method:?} is never chosen"
            );
        }
    }

    #[test]
    fn the_table_answers_as_the_lessons_teach() {
        use Arguments as A;
        use Delivery as D;
        assert_eq!(choose(Tasks::One, D::Wait, A::Several), Method::Apply);
        assert_eq!(
            choose(Tasks::One, D::Background, A::One),
            Method::ApplyAsync
        );
        assert_eq!(choose(Tasks::Many, D::Wait, A::One), Method::Map);
        assert_eq!(choose(Tasks::Many, D::Background, A::One), Method::MapAsync);
        assert_eq!(
            choose(Tasks::Many, D::StreamInOrder, A::Several),
            Method::Imap
        );
        assert_eq!(
            choose(Tasks::Many, D::StreamAsFinished, A::One),
            Method::ImapUnordered
        );
        assert_eq!(choose(Tasks::Many, D::Wait, A::Several), Method::Starmap);
        assert_eq!(
            choose(Tasks::Many, D::Background, A::Several),
            Method::StarmapAsync
        );
    }

    #[test]
    fn scenarios_pick_distinct_methods() {
        let picked: Vec<&str> = SCENARIOS
            .iter()
            .map(|&(_, t, d, a)| choose(t, d, a).python())
            .collect();
        assert_eq!(
            picked,
            [
                "apply_async",
                "map",
                "imap",
                "imap_unordered",
                "starmap",
                "starmap_async"
            ]
        );
    }
}
