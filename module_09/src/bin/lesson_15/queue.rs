//! `Queue`: several producer processes, one consumer.
//!
//! Python's `Queue` is one OS pipe that all producers write to, under a
//! lock (a pickled message may take several writes). Here each producer
//! has a pipe of its own, read by a thread of its own into one channel. To
//! learn that all are done, a Python consumer usually counts `None`
//! sentinels, one per producer; a producer that dies sends none. A pipe
//! ends when its writer exits, however it exits: that is the signal here.

use std::io::{self, BufReader, Write};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use step_runner::Sink;

use super::{ChildProcess, Role, recv, send, this_program};

/// A producer's part: `count` items, a pause before each; a panic after
/// `panic_after` items, if given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    count: u32,
    pause_ms: u64,
    panic_after: Option<u32>,
}

/// The producer's side, `def producer(q): … q.put(item)`. An item is its
/// number: a JSON number on a line of its own.
pub fn produce(part: Part, mut to: impl Write) -> io::Result<()> {
    for item in 0..part.count {
        if part.panic_after == Some(item) {
            panic!("a producer dies after {item} items, on purpose");
        }
        thread::sleep(Duration::from_millis(part.pause_ms));
        send(&mut to, &item)?;
    }
    Ok(())
}

/// `(producer, item)` as they arrived, and how each producer exited.
type Consumed = (Vec<(usize, u32)>, Vec<ExitStatus>);

/// A producer process per part; each item is noted as it arrives.
fn consume(program: &Path, parts: &[Part], sink: &Sink) -> io::Result<Consumed> {
    let (tx, rx) = mpsc::channel::<(usize, Option<io::Result<u32>>)>();
    thread::scope(|s| {
        let mut children = Vec::new();
        for (producer, part) in parts.iter().enumerate() {
            let mut child = ChildProcess::start(program, &Role::Producer(*part), Stdio::piped())?;
            sink.note(format!("producer {producer} started: pid {}", child.0.id()));
            let mut pipe = BufReader::new(child.0.stdout.take().expect("stdout is piped"));
            children.push(child);
            let tx = tx.clone();
            s.spawn(move || {
                // Each item, then `None` at the end; stop if the consumer has gone.
                while let Some(heard) = recv(&mut pipe).transpose() {
                    if tx.send((producer, Some(heard))).is_err() {
                        return;
                    }
                }
                let _ = tx.send((producer, None));
            });
        }
        // The channel ends when every sender is gone: each reader's at the
        // end of its pipe, and this one, which nobody else would drop.
        drop(tx);
        let mut items = Vec::new();
        for (producer, heard) in rx {
            let Some(item) = heard.transpose()? else {
                sink.note(format!("producer {producer}'s pipe has ended"));
                continue;
            };
            sink.note(format!("got item {item} from producer {producer}"));
            items.push((producer, item));
        }
        // Every pipe has ended: each producer has exited, or is exiting.
        let statuses = children.iter_mut().map(|child| child.0.wait());
        Ok((items, statuses.collect::<io::Result<_>>()?))
    })
}

/// Three producers of four items, each at its own pace; producer 1 dies
/// after two items, on purpose.
pub fn show_queue() {
    let parts = [(30, None), (50, Some(2)), (70, None)];
    let parts = parts.map(|(pause_ms, panic_after)| Part {
        count: 4,
        pause_ms,
        panic_after,
    });
    println!("producer 1 will die after 2 items (its panic message goes to stderr)");
    let (items, statuses) = match consume(&this_program(), &parts, &Sink::stdout()) {
        Ok(consumed) => consumed,
        Err(e) => return println!("error: {e}"),
    };
    for (i, status) in statuses.iter().enumerate() {
        let got = items.iter().filter(|item| item.0 == i).count();
        println!("producer {i}: {got} items; {status}");
    }
}

#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;
    use crate::tests::{assert_gone, lesson_binary, started_pids};
    use std::panic::{AssertUnwindSafe, catch_unwind};

    fn part(count: u32, pause_ms: u64, panic_after: Option<u32>) -> Part {
        Part {
            count,
            pause_ms,
            panic_after,
        }
    }

    fn consume_within(limit: u64, parts: Vec<Part>, sink: Sink) -> (Option<Consumed>, Vec<String>) {
        let program = lesson_binary();
        course_tests::deadline(Duration::from_secs(limit), move || {
            let consumed = catch_unwind(AssertUnwindSafe(|| consume(&program, &parts, &sink)));
            (consumed.ok().map(|c| c.unwrap()), sink.lines())
        })
    }

    /// The items of `producer`, in the order they arrived.
    fn items_of(items: &[(usize, u32)], producer: usize) -> Vec<u32> {
        let mine = items.iter().filter(|item| item.0 == producer);
        mine.map(|item| item.1).collect()
    }

    #[test]
    fn every_item_arrives_exactly_once_and_the_end_is_seen() {
        // One producer with nothing to send: its pipe ends all the same.
        let parts = vec![part(5, 1, None), part(3, 4, None), part(0, 1, None)];
        let (consumed, lines) = consume_within(60, parts, Sink::collect());
        let (items, statuses) = consumed.unwrap();
        assert_eq!(items.len(), 8);
        // Each producer's items once each, in its order: a pipe keeps it.
        assert_eq!(items_of(&items, 0), [0, 1, 2, 3, 4]);
        assert_eq!(items_of(&items, 1), [0, 1, 2]);
        assert!(statuses.iter().all(ExitStatus::success), "{statuses:?}");
        for producer in 0..3 {
            let ended = format!("producer {producer}'s pipe has ended");
            let position = lines.iter().position(|line| *line == ended).unwrap();
            let after = format!("from producer {producer}");
            assert!(!lines[position..].iter().any(|line| line.ends_with(&after)));
        }
        let pids = started_pids(&lines);
        assert_eq!(pids.len(), 3);
        assert_gone(&pids);
    }

    #[test]
    fn a_producer_that_dies_ends_its_pipe_and_the_consumer_ends_too() {
        let parts = vec![part(3, 1, None), part(4, 1, Some(2)), part(2, 1, None)];
        let (consumed, lines) = consume_within(60, parts, Sink::collect());
        let (items, statuses) = consumed.unwrap();
        assert_eq!(items_of(&items, 1), [0, 1]);
        assert_eq!(items.len(), 3 + 2 + 2);
        let codes: Vec<Option<i32>> = statuses.iter().map(ExitStatus::code).collect();
        assert_eq!(codes, [Some(0), Some(101), Some(0)]);
        assert_gone(&started_pids(&lines));
    }

    #[test]
    fn a_consumer_whose_printing_dies_kills_its_producers() {
        // Producers that would pause a minute before each item, and a
        // reader that goes away after two lines: the third note panics.
        // Waiting for the producers instead of killing them would miss the
        // deadline.
        let parts = vec![part(1, 60_000, None); 3];
        let (consumed, lines) = consume_within(30, parts, Sink::closing_after(2));
        assert!(consumed.is_none(), "the closed sink should panic");
        let pids = started_pids(&lines);
        assert_eq!(pids.len(), 2);
        assert_gone(&pids);
    }

    #[test]
    fn a_producer_sends_its_items() {
        let mut out = Vec::new();
        produce(part(3, 0, None), &mut out).unwrap();
        assert_eq!(out, b"0\n1\n2\n");
    }
}
