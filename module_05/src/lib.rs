//! The one runtime piece module 5's lessons share: a [`Journal`] that threads
//! write timestamped lines to, so a lesson can print what happened in the
//! order it happened, and its tests can check that order.

/// Compiler errors module 5's lessons quote, kept true by `cargo test --doc`.
///
/// Lesson 5.1, `release_elsewhere`: a Python `Lock` may be released by a
/// thread that did not acquire it; a `MutexGuard` cannot even be moved to
/// another thread, because it is not `Send` (E0277):
///
/// ```compile_fail,E0277
/// use std::sync::Mutex;
/// use std::thread;
///
/// let oven = Mutex::new(0);
/// thread::scope(|s| {
///     let guard = oven.lock().unwrap();
///     s.spawn(move || drop(guard)); // release in another thread
/// });
/// ```
///
/// What compiles instead: the thread that locks is the thread that unlocks.
///
/// ```
/// use std::sync::Mutex;
/// use std::thread;
///
/// let oven = Mutex::new(0);
/// thread::scope(|s| {
///     s.spawn(|| *oven.lock().unwrap() += 1);
/// });
/// assert_eq!(oven.into_inner().unwrap(), 1);
/// ```
pub mod compile_checks {}

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What happened and when, from every thread, in the order it happened.
pub struct Journal {
    start: Instant,
    lines: Mutex<Vec<(Duration, String)>>,
}

impl Journal {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            lines: Mutex::new(Vec::new()),
        }
    }

    /// Records `line` with the time since the journal was created. The time
    /// is taken and the line stored under one lock, so the lines stay in time
    /// order.
    pub fn note(&self, line: String) {
        let mut lines = self.lines.lock().expect("no thread panics while noting");
        lines.push((self.start.elapsed(), line));
    }

    pub fn into_lines(self) -> Vec<(Duration, String)> {
        self.lines.into_inner().expect("no thread panicked")
    }
}

impl Default for Journal {
    fn default() -> Self {
        Self::new()
    }
}

/// Prints journal lines as `  1.25s  line`.
pub fn print_lines(lines: &[(Duration, String)]) {
    for (at, line) in lines {
        println!("{:5.2}s  {line}", at.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn lines_from_many_threads_are_all_kept_in_time_order() {
        let journal = Journal::new();
        thread::scope(|s| {
            for t in 0..4 {
                let journal = &journal;
                s.spawn(move || {
                    for i in 0..250 {
                        journal.note(format!("{t}-{i}"));
                    }
                });
            }
        });
        let lines = journal.into_lines();
        assert_eq!(lines.len(), 1000);
        assert!(lines.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
