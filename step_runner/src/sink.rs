//! [`Sink`]: the one way a step reports events live.
//!
//! Where the order or timing of events is the lesson (workers taking items,
//! results streaming in as they complete), a step writes each event to a
//! sink the moment it happens. When the lesson runs, the sink prints the line
//! at once; when a test runs the step, the sink collects the lines so the
//! test can check them. One sink serves every thread of a step.

use std::fmt::Display;
use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// One reported event: when it happened (since the sink was made) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub at: Duration,
    pub line: String,
}

/// Where a step's events go as they happen. Share it by reference
/// (`thread::scope`) or in an `Arc`.
#[derive(Debug)]
pub struct Sink {
    start: Instant,
    /// Print `  1.25s  line` instead of `line`.
    timed: bool,
    /// `None`: print each event at once. `Some`: keep them for a test.
    ///
    /// Printing happens under this same lock, so the printed lines are in
    /// the order of their times even when many threads report at once.
    events: Mutex<Option<Vec<Event>>>,
    /// For tests: how many events a collecting sink takes before it panics
    /// as printing to a closed stdout does.
    capacity: Option<usize>,
}

impl Sink {
    /// Prints each event on standard output the moment it is reported.
    pub fn stdout() -> Self {
        Self::new(false, None)
    }

    /// Like [`Sink::stdout`], with each line's time since the sink was made.
    pub fn stdout_timed() -> Self {
        Self::new(true, None)
    }

    /// Keeps the events for [`Sink::events`] and prints nothing: for tests.
    pub fn collect() -> Self {
        Self::new(false, Some(Vec::new()))
    }

    /// Like [`Sink::collect`], but the reader "goes away" after `lines`
    /// events: the next `note` panics, in whichever thread calls it, as
    /// `println!` does when `| head` has closed standard output. Tests use it
    /// to check that a step still ends when the thread that reports dies.
    pub fn closing_after(lines: usize) -> Self {
        Self {
            capacity: Some(lines),
            ..Self::collect()
        }
    }

    fn new(timed: bool, events: Option<Vec<Event>>) -> Self {
        Self {
            start: Instant::now(),
            timed,
            events: Mutex::new(events),
            capacity: None,
        }
    }

    /// Reports one event, now.
    ///
    /// Printing to a closed standard output (the reader of `| head` went
    /// away) panics in the reporting thread, as `println!` does; the lock is
    /// not poisoned for the other threads by that, as it guards no state
    /// that a half-finished print could break.
    pub fn note(&self, line: impl Display) {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        let at = self.start.elapsed();
        match events.as_mut() {
            Some(events) if self.capacity.is_some_and(|cap| events.len() >= cap) => {
                // The guard is dropped while unwinding, which poisons the
                // lock; every use of it takes the data anyway (see above).
                panic!("failed printing to stdout: the reader has gone (Sink::closing_after)");
            }
            Some(events) => events.push(Event {
                at,
                line: line.to_string(),
            }),
            None => {
                let mut out = std::io::stdout().lock();
                let written = if self.timed {
                    writeln!(out, "{:6.2}s  {line}", at.as_secs_f64())
                } else {
                    writeln!(out, "{line}")
                };
                written.expect("failed printing to stdout");
            }
        }
    }

    /// The events collected so far, in the order they were reported; empty
    /// for a sink that prints.
    pub fn events(&self) -> Vec<Event> {
        let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        events.clone().unwrap_or_default()
    }

    /// The lines collected so far, without their times.
    pub fn lines(&self) -> Vec<String> {
        self.events().into_iter().map(|event| event.line).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn events_from_many_threads_are_all_kept_in_time_order() {
        let sink = Sink::collect();
        thread::scope(|s| {
            for t in 0..4 {
                let sink = &sink;
                s.spawn(move || {
                    for i in 0..250 {
                        sink.note(format!("{t}-{i}"));
                    }
                });
            }
        });
        let events = sink.events();
        assert_eq!(events.len(), 1000);
        assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
        for t in 0..4 {
            let mine: Vec<String> = sink
                .lines()
                .into_iter()
                .filter(|line| line.starts_with(&format!("{t}-")))
                .collect();
            let expected: Vec<String> = (0..250).map(|i| format!("{t}-{i}")).collect();
            assert_eq!(mine, expected, "thread {t}'s events in its own order");
        }
    }

    #[test]
    fn an_event_is_seen_before_the_step_ends() {
        // The point of a live sink: a test (or a reader) sees the first
        // event while the thread that reported it is still running.
        let sink = Sink::collect();
        let (go_on, wait) = std::sync::mpsc::channel::<()>();
        thread::scope(|s| {
            let sink = &sink;
            s.spawn(move || {
                sink.note("first");
                wait.recv().expect("the test lets the worker go on");
                sink.note("second");
            });
            while sink.lines().is_empty() {
                thread::yield_now();
            }
            assert_eq!(sink.lines(), ["first"]);
            go_on.send(()).expect("the worker waits");
        });
        assert_eq!(sink.lines(), ["first", "second"]);
    }

    #[test]
    fn a_closing_sink_panics_after_its_lines_and_keeps_them() {
        let sink = Sink::closing_after(2);
        sink.note("one");
        sink.note("two");
        let third = std::panic::catch_unwind(|| sink.note("three"));
        assert!(third.is_err(), "the third line finds the reader gone");
        assert_eq!(sink.lines(), ["one", "two"]);
        // Still usable (not poisoned) for the lines already taken.
        assert!(std::panic::catch_unwind(|| sink.note("four")).is_err());
    }

    #[test]
    fn a_printing_sink_collects_nothing() {
        let sink = Sink::stdout();
        sink.note("printed, not kept");
        assert!(sink.events().is_empty());
    }
}
