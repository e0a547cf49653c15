//! Lesson 2.10 — Thread pool life cycle («Жизненный цикл пула потоков»)
//!
//! A pool lives through four stages: it is created (workers start), tasks
//! are submitted, their results are waited for, and it is shut down
//! (workers stop). Results should come back *out of* the tasks and be
//! combined by the caller, not written into shared globals.
//!
//! | Python                                         | Rust                                                        |
//! |------------------------------------------------|-------------------------------------------------------------|
//! | `ex = ThreadPoolExecutor()` (create)           | `rayon::ThreadPoolBuilder::new().build()`                   |
//! | `ex.submit(f, msg)` (submit)                   | `pool.spawn(…)` + a channel per task for its result         |
//! | `future.result()` (wait)                       | `rx.recv()`                                                 |
//! | end of `with` / `ex.shutdown()` (shut down)    | `drop(pool)` once every result is in                        |
//! | `Counter(text)`, `counter.update(other)`       | `BTreeMap<char, usize>` counts, merged with `+=`            |
//! | `ex.map(f, msgs)` writing a `global` maximum   | `pool.install(\|\| msgs.par_iter().map(f).max_by_key(…))`     |
//! | `string.punctuation`                           | `char::is_ascii_punctuation` (the same 32 characters)       |
//! | `str.lower()`                                  | `str::to_lowercase()`                                       |
//!
//! - Run all steps: `cargo run -p module_02 --bin lesson_10`
//! - Run one step:  `cargo run -p module_02 --bin lesson_10 -- step_09`
//!
//! Try:
//! - In `letters`, remove the `.flat_map(char::to_lowercase)` line: the
//!   capitals (`'А'`, `'К'`, `'М'`, `'П'`, Latin `'E'`, `'P'`) get counts of
//!   their own, and step 10 rejects every message for its first capital.
//! - In `step_09`, merge the futures in reverse (`futures.into_iter().rev()`):
//!   the same total, since adding counts does not depend on the order.

use std::collections::BTreeMap;
use std::process::ExitCode;

use crossbeam_channel::Receiver;
use rayon::prelude::*;
use step_runner::{Sink, Step, lesson_id};

const TITLE: &str = "Lesson 2.10 — Thread pool life cycle («Жизненный цикл пула потоков»)";

/// The course's chat messages. Kept in Russian: the steps count Cyrillic
/// letters.
const MESSAGES: [&str; 6] = [
    "Привет, коллеги! Кто-нибудь может объяснить разницу между асинхронным и многопоточным программированием в Python?",
    "Асинхронное программирование позволяет обрабатывать несколько задач без блокировки основного потока.",
    "Многопоточное программирование также обеспечивает параллельное выполнение, но с использованием потоков вместо асинхронных задач.",
    "Помните, что асинхронное программирование может требовать пересмотра структуры кода и логики приложения.",
    "Многопроцессорное программирование может использовать модуль multiprocessing.Event для организации событийного взаимодействия между процессами.",
    "Асинхронные функции могут использовать asyncio.ensure_future() для запуска задачи в асинхронном режиме.",
];

/// The Russian alphabet in order; a letter's value is its position (а = 1).
const ALPHABET: &str = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя";

/// The message's letters: lower-cased, without ASCII punctuation, spaces
/// and digits — exactly what the Python version strips.
fn letters(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars()
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_ascii_punctuation() && *c != ' ' && !c.is_ascii_digit())
}

fn count_letters(text: &str) -> BTreeMap<char, usize> {
    let mut counts = BTreeMap::new();
    for c in letters(text) {
        *counts.entry(c).or_insert(0) += 1;
    }
    counts
}

/// Step 09 — count the letters of every message on the pool and merge the
/// counts, walking the pool through its whole life cycle.
fn step_09(sink: &Sink, messages: &[&'static str]) -> BTreeMap<char, usize> {
    // 1. Create: the workers start now.
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .expect("the pool should build");
    sink.note(format!(
        "created a pool of {} workers",
        pool.current_num_threads()
    ));

    // 2. Submit: each task gets its own result channel (its "future").
    let futures: Vec<Receiver<BTreeMap<char, usize>>> = messages
        .iter()
        .map(|&message| {
            let (tx, rx) = crossbeam_channel::bounded(1);
            pool.spawn(move || {
                tx.send(count_letters(message))
                    .expect("the future should be kept until read")
            });
            rx
        })
        .collect();
    sink.note(format!("submitted {} tasks", futures.len()));

    // 3. Wait: take each result and merge it into the total.
    let mut total = BTreeMap::new();
    for future in futures {
        for (letter, n) in future.recv().expect("the task should send before it ends") {
            *total.entry(letter).or_insert(0) += n;
        }
    }
    sink.note("all results merged");

    // 4. Shut down: dropping the pool tells its workers to stop. Rayon does
    // not wait for them; they stop on their own shortly after.
    drop(pool);
    sink.note("pool dropped");
    total
}

fn show_step_09() {
    let total = step_09(&Sink::stdout(), &MESSAGES);
    println!("{total:?}");
}

/// A letter outside [`ALPHABET`].
#[derive(Debug, PartialEq, Eq)]
struct UnknownLetter(char);

/// A message and its letter sum.
type Scored = (&'static str, u32);
/// A message that could not be scored, and why.
type Unscored = (&'static str, UnknownLetter);

/// The sum of the values of a message's letters.
fn letter_sum(message: &str) -> Result<u32, UnknownLetter> {
    letters(message)
        .map(|c| {
            (1..)
                .zip(ALPHABET.chars())
                .find_map(|(value, letter)| (letter == c).then_some(value))
                .ok_or(UnknownLetter(c))
        })
        .sum()
}

/// Step 10 — the message with the largest letter sum, plus the messages that
/// could not be scored.
///
/// The Python version has two bugs. Each task compares with and writes to a
/// global `result` without a lock, so two tasks can interleave and a smaller
/// sum can overwrite a larger one. And its table has no Latin letters, so the
/// messages containing "Python", "multiprocessing" or "asyncio" raise
/// `KeyError` — which `map` swallows, because nobody reads its results. Here
/// each task returns its score as a `Result`, errors are reported, and the
/// caller takes the maximum of the returned scores: no shared state, so no
/// race is possible.
fn step_10(messages: &[&'static str]) -> (Option<Scored>, Vec<Unscored>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .expect("the pool should build");
    let scores: Vec<(&str, Result<u32, UnknownLetter>)> =
        pool.install(|| messages.par_iter().map(|&m| (m, letter_sum(m))).collect());
    let mut best: Option<Scored> = None;
    let mut errors = Vec::new();
    for (message, score) in scores {
        match score {
            Ok(sum) if best.is_none_or(|(_, b)| sum > b) => best = Some((message, sum)),
            Ok(_) => {}
            Err(e) => errors.push((message, e)),
        }
    }
    (best, errors)
}

fn show_step_10() {
    let (best, errors) = step_10(&MESSAGES);
    for (message, UnknownLetter(c)) in errors {
        println!("not scored, {c:?} has no value: {message}");
    }
    match best {
        Some((message, sum)) => println!("largest sum {sum}: {message}"),
        None => println!("no message could be scored"),
    }
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("step_09", "letter counts of all messages, merged", show_step_09),
        Step::new("step_10", "the message with the largest letter sum", show_step_10),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_09_matches_counting_everything_at_once() {
        let sink = Sink::collect();
        let merged = step_09(&sink, &MESSAGES);
        assert_eq!(merged, count_letters(&MESSAGES.concat()));
        // The four stages, in the order of the life cycle.
        let stages: Vec<String> = sink.lines().iter().skip(1).cloned().collect();
        assert!(sink.lines()[0].starts_with("created a pool of "));
        assert_eq!(
            stages,
            ["submitted 6 tasks", "all results merged", "pool dropped"]
        );
        assert_eq!(
            merged.get(&'р'),
            count_letters(&MESSAGES.concat()).get(&'р')
        );
        assert!(merged.keys().all(|c| c.is_alphabetic()));
        assert_eq!(
            count_letters("Кто-нибудь? 2024, ok!"),
            count_letters("ктонибудьok")
        );
    }

    #[test]
    fn letter_values_follow_the_alphabet() {
        assert_eq!(letter_sum("аб, Я!"), Ok(1 + 2 + 33));
        assert_eq!(letter_sum("ёж"), Ok(7 + 8));
        assert_eq!(letter_sum("Python"), Err(UnknownLetter('p')));
    }

    #[test]
    fn step_10_finds_the_maximum_and_reports_the_unscorable() {
        let (best, errors) = step_10(&MESSAGES);
        let unscored: Vec<_> = errors.iter().map(|(m, _)| *m).collect();
        assert_eq!(unscored, [MESSAGES[0], MESSAGES[4], MESSAGES[5]]);
        // The sequential maximum over the scorable messages.
        let expected = [MESSAGES[1], MESSAGES[2], MESSAGES[3]]
            .into_iter()
            .map(|m| (m, letter_sum(m).expect("Cyrillic only")))
            .max_by_key(|&(_, s)| s);
        assert_eq!(best, expected);
        assert_eq!(best.map(|(m, _)| m), Some(MESSAGES[2]));
    }
}
