//! `Process` + `Pipe`: a parent and a child exchange messages both ways.
//!
//! Python's `Pipe()` is one duplex channel (a socket pair on Unix); here
//! it is the child's stdin and stdout, two one-way OS pipes. Request and
//! answer take turns, so neither pipe fills while its reader waits on the
//! other. (Where messages pile up, read each pipe on a thread of its own.)

use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{ExitStatus, Stdio};

use serde::{Deserialize, Serialize};
use step_runner::Sink;

use super::{ChildProcess, Role, recv, send, this_program};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Message {
    Square { n: u64 },
    Squared { square: u64 },
}

/// The child's side, `def child(conn): …`: an answer per request, until
/// the parent closes its end (or sends anything but a request).
pub fn answer(mut from: impl BufRead, mut to: impl Write) -> io::Result<()> {
    while let Some(Message::Square { n }) = recv(&mut from)? {
        // Too big a square panics the child: the parent then finds the end
        // of the pipe where the answer should be.
        let square = n.checked_mul(n).expect("the square should fit in a u64");
        send(&mut to, &Message::Squared { square })?;
    }
    Ok(())
}

/// The parent asks a child to square each of `numbers` in turn, noting
/// each message as it crosses, then closes its end and waits for the exit.
fn talk(program: &Path, numbers: &[u64], sink: &Sink) -> io::Result<ExitStatus> {
    let mut child = ChildProcess::start(program, &Role::Squarer, Stdio::piped())?;
    sink.note(format!("child started: pid {}", child.0.id()));
    let mut to_child = child.0.stdin.take().expect("stdin is piped");
    let mut from_child = BufReader::new(child.0.stdout.take().expect("stdout is piped"));
    for &n in numbers {
        let request = Message::Square { n };
        let line = serde_json::to_string(&request)?;
        sink.note(format!("parent → child:  {line}"));
        send(&mut to_child, &request)?;
        let Some(answer) = recv::<Message>(&mut from_child)? else {
            return Err(io::Error::other("the child has ended"));
        };
        let line = serde_json::to_string(&answer)?;
        sink.note(format!("child  → parent: {line}"));
    }
    // Closing our end says "no more" (Python would send a sentinel such as
    // `None`): the child reads the end of its input and exits.
    drop(to_child);
    child.0.wait()
}

pub fn show_pipe() {
    match talk(&this_program(), &[3, 4, 12], &Sink::stdout()) {
        Ok(status) => println!("the parent closed its end; the child's {status}"),
        Err(e) => println!("error: {e}"),
    }
}

#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;
    use crate::tests::{assert_gone, lesson_binary, started_pids};
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::time::Duration;

    fn talk_within_a_minute(
        numbers: Vec<u64>,
        sink: Sink,
    ) -> (io::Result<ExitStatus>, Vec<String>) {
        let program = lesson_binary();
        course_tests::deadline(Duration::from_secs(60), move || {
            let talked = catch_unwind(AssertUnwindSafe(|| talk(&program, &numbers, &sink)));
            let talked = talked.unwrap_or_else(|_| Err(io::Error::other("talk panicked")));
            (talked, sink.lines())
        })
    }

    #[test]
    fn messages_go_both_ways_in_turn() {
        let (status, lines) = talk_within_a_minute(vec![3, 4, 12], Sink::collect());
        assert!(status.unwrap().success());
        let pids = started_pids(&lines);
        assert_eq!(pids.len(), 1);
        assert_ne!(pids[0], std::process::id());
        // Each request, then its answer: they take turns.
        let talk: Vec<&str> = lines[1..].iter().map(String::as_str).collect();
        assert_eq!(
            talk,
            [
                r#"parent → child:  {"kind":"square","n":3}"#,
                r#"child  → parent: {"kind":"squared","square":9}"#,
                r#"parent → child:  {"kind":"square","n":4}"#,
                r#"child  → parent: {"kind":"squared","square":16}"#,
                r#"parent → child:  {"kind":"square","n":12}"#,
                r#"child  → parent: {"kind":"squared","square":144}"#,
            ]
        );
        assert_gone(&pids);
    }

    #[test]
    fn a_child_that_panics_is_an_error_and_is_reaped() {
        let (status, lines) = talk_within_a_minute(vec![5, u64::MAX], Sink::collect());
        let error = status.unwrap_err();
        assert_eq!(error.to_string(), "the child has ended");
        assert_eq!(
            lines.len(),
            4,
            "started, 5, 25, the fatal request: {lines:#?}"
        );
        assert_gone(&started_pids(&lines));
    }

    #[test]
    fn a_parent_whose_printing_dies_kills_and_reaps_its_child() {
        // The reader goes away after two lines: the third note panics, as
        // `println!` does on a closed stdout, in the middle of the talk.
        let (status, lines) = talk_within_a_minute(vec![1, 2], Sink::closing_after(2));
        assert_eq!(status.unwrap_err().to_string(), "talk panicked");
        assert_eq!(lines.len(), 2);
        assert_gone(&started_pids(&lines));
    }

    #[test]
    fn the_child_answers_until_its_input_ends() {
        let requests = "{\"kind\":\"square\",\"n\":2}\n{\"kind\":\"square\",\"n\":7}\n";
        let mut answers = Vec::new();
        answer(requests.as_bytes(), &mut answers).unwrap();
        let expected =
            "{\"kind\":\"squared\",\"square\":4}\n{\"kind\":\"squared\",\"square\":49}\n";
        assert_eq!(String::from_utf8(answers).unwrap(), expected);
        assert!(answer("not json\n".as_bytes(), io::sink()).is_err());
    }
}
