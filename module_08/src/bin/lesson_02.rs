//! Lesson 8.2 — Thread-safe printing («Потокобезопасная печать»)
//!
//! Several threads printing at once: in Python, lines can run together and a
//! multi-line report can be split by other threads' lines. Rust's `println!`
//! never tears a line, but a block of lines still needs one lock held for the
//! whole block, or one printer thread that owns the output.
//!
//! | Python                                  | Rust                                           |
//! |-----------------------------------------|------------------------------------------------|
//! | `print(a, b)` from many threads         | `println!("{a} {b}")`: one locked write per call |
//! | `with print_lock: print(...)` × n lines | `let mut out = io::stdout().lock();` + `writeln!` |
//! | `sys.stdout.write(...)`                 | `io::stdout().write_all(...)`                   |
//! | a printer thread reading a `Queue`      | a thread owning the writer, fed by `mpsc::channel` |
//! | `print(..., flush=True)`                | `out.flush()`                                   |
//!
//! - Run all steps: `cargo run -p module_08 --bin lesson_02`
//! - Run one step:  `cargo run -p module_08 --bin lesson_02 -- block_per_lock`
//!
//! Output order varies between runs where threads race; the lines do not.
//!
//! Every step writes to any `io::Write`, so the tests run the same code
//! against an in-memory buffer and check what came out.
//!
//! Try: in `printer_thread`, delete `drop(blocks)` and run
//! `-- printer_thread`: it never ends. Which sender is the printer still
//! waiting on?

use std::fmt::Write as _;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use step_runner::{Step, lesson_id};

const TITLE: &str = "Lesson 8.2 — Thread-safe printing («Потокобезопасная печать»)";

/// How many workers print, and how many lines each one's report has.
const WORKERS: usize = 4;
const LINES: usize = 3;

// Why Python tears lines: `print(a, b)` writes `a`, the separator, `b` and
// the newline as separate writes, and another thread may write in between,
// giving `worker 1: doneworker 2: done\n\n`. Rust's `println!` formats the
// whole line into `Stdout` while holding its lock, so a line is always whole.
// Two `println!` calls are two locks, though: another thread fits between.

/// One line of a worker's report.
fn report_line(worker: usize, line: usize, lines: usize) -> String {
    format!("worker {worker}: line {line} of {lines}")
}

/// Runs one scoped thread per worker and returns the first I/O error, if any.
fn run_workers(workers: usize, work: impl Fn(usize) -> io::Result<()> + Sync) -> io::Result<()> {
    thread::scope(|s| {
        let handles: Vec<_> = (1..=workers)
            .map(|worker| {
                // `move` copies `worker` into the thread. To share `work`
                // instead of moving it, take a reference first: the `move`
                // then copies the reference, and every thread calls the one
                // closure. (The same idiom recurs through this module.)
                let work = &work;
                s.spawn(move || work(worker))
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().unwrap())
    })
}

/// What `println!` does: lock, write one line, unlock, once per line. Every
/// line is intact, but the workers' reports interleave line by line.
///
/// `open` hands out an exclusive writer: `|| io::stdout().lock()` here, a
/// locked in-memory buffer in the tests.
fn line_per_lock<F, W>(open: F, workers: usize, lines: usize) -> io::Result<()>
where
    F: Fn() -> W + Sync,
    W: Write,
{
    run_workers(workers, |worker| {
        for line in 1..=lines {
            writeln!(open(), "{}", report_line(worker, line, lines))?;
            // Give the other workers a chance to get in between.
            thread::yield_now();
        }
        Ok(())
    })
}

fn show_line_per_lock() {
    line_per_lock(|| io::stdout().lock(), WORKERS, LINES).expect("stdout should take the lines");
}

/// One lock for the whole block: prepare the report first, then hold the
/// writer only while writing it, so no other thread's line lands inside.
fn block_per_lock<F, W>(open: F, workers: usize, lines: usize) -> io::Result<()>
where
    F: Fn() -> W + Sync,
    W: Write,
{
    run_workers(workers, |worker| {
        let report: Vec<String> = (1..=lines)
            .map(|line| report_line(worker, line, lines))
            .collect();
        // The guard (`StdoutLock` for stdout) is held until `out` is dropped.
        let mut out = open();
        for line in &report {
            writeln!(out, "{line}")?;
        }
        Ok(())
    })
}

fn show_block_per_lock() {
    block_per_lock(|| io::stdout().lock(), WORKERS, LINES).expect("stdout should take the lines");
}

/// A printer thread owns the writer; workers send it whole blocks through a
/// channel. No lock at all: only one thread ever touches the output, and a
/// block is one message, so it cannot be split. Returns the writer, flushed.
fn printer_thread<W: Write + Send>(out: W, workers: usize, lines: usize) -> io::Result<W> {
    let (blocks, inbox) = mpsc::channel::<String>();
    thread::scope(|s| {
        let printer = s.spawn(move || {
            let mut out = out;
            // The loop ends when every sender is dropped: all workers are done.
            for block in inbox {
                out.write_all(block.as_bytes())?;
            }
            out.flush()?;
            Ok(out)
        });
        for worker in 1..=workers {
            let blocks = blocks.clone();
            s.spawn(move || {
                let mut block = String::new();
                for line in 1..=lines {
                    // Writing into a `String` cannot fail.
                    writeln!(block, "{}", report_line(worker, line, lines)).unwrap();
                }
                // The send fails only if the printer stopped on an I/O
                // error, which it returns from `join` below.
                let _ = blocks.send(block);
            });
        }
        // Drop main's sender too, or the printer would wait forever.
        drop(blocks);
        printer.join().unwrap()
    })
}

fn show_printer_thread() {
    printer_thread(io::stdout(), WORKERS, LINES).expect("stdout should take the lines");
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("line_per_lock", "one lock per line, as println! does: reports interleave", show_line_per_lock),
        Step::new("block_per_lock", "stdout().lock() held for a whole report", show_block_per_lock),
        Step::new("printer_thread", "one printer thread fed by a channel", show_printer_thread),
    ])
}

#[cfg(test)]
mod tests {
    use std::sync::{Mutex, MutexGuard};

    use super::*;

    const MANY_WORKERS: usize = 8;
    const MANY_LINES: usize = 300;

    /// An exclusive handle on a shared in-memory buffer, like `StdoutLock`.
    struct Locked<'a>(MutexGuard<'a, Vec<u8>>);

    impl Write for Locked<'_> {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.write(bytes)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Parses the output into `(worker, line)` pairs, failing on any line
    /// that is not exactly one intact report line.
    fn parse(output: &[u8]) -> Vec<(usize, usize)> {
        let text = std::str::from_utf8(output).expect("the output should be UTF-8");
        assert!(text.ends_with('\n'), "the last line is cut off");
        text.lines()
            .map(|line| {
                let parsed = line
                    .strip_prefix("worker ")
                    .and_then(|rest| rest.split_once(": line "))
                    .and_then(|(worker, rest)| Some((worker, rest.split_once(" of ")?)))
                    .and_then(|(worker, (line, of))| {
                        Some((worker.parse().ok()?, line.parse().ok()?, of.parse().ok()?))
                    });
                let Some((worker, number, of)) = parsed else {
                    panic!("torn line: {line:?}");
                };
                assert_eq!(of, MANY_LINES, "torn line: {line:?}");
                assert_eq!(line, report_line(worker, number, of), "torn line");
                (worker, number)
            })
            .collect()
    }

    /// Every message exactly once, and each worker's lines in its order.
    fn assert_complete(pairs: &[(usize, usize)]) {
        let mut sorted = pairs.to_vec();
        sorted.sort_unstable();
        let expected: Vec<_> = (1..=MANY_WORKERS)
            .flat_map(|w| (1..=MANY_LINES).map(move |l| (w, l)))
            .collect();
        assert_eq!(sorted, expected, "a line is missing or duplicated");
        for worker in 1..=MANY_WORKERS {
            let own: Vec<usize> = pairs
                .iter()
                .filter(|(w, _)| *w == worker)
                .map(|&(_, l)| l)
                .collect();
            assert_eq!(own, (1..=MANY_LINES).collect::<Vec<_>>());
        }
    }

    /// Each worker's block is one contiguous run of lines.
    fn assert_blocks_not_interleaved(pairs: &[(usize, usize)]) {
        for block in pairs.chunks(MANY_LINES) {
            let worker = block[0].0;
            assert!(
                block.iter().all(|&(w, _)| w == worker),
                "a block was interleaved: {block:?}"
            );
        }
    }

    #[test]
    fn one_lock_per_line_keeps_every_line_intact() {
        let buffer = Mutex::new(Vec::new());
        line_per_lock(|| Locked(buffer.lock().unwrap()), MANY_WORKERS, MANY_LINES).unwrap();
        assert_complete(&parse(&buffer.into_inner().unwrap()));
    }

    #[test]
    fn one_lock_per_block_keeps_blocks_together() {
        for _ in 0..5 {
            let buffer = Mutex::new(Vec::new());
            block_per_lock(|| Locked(buffer.lock().unwrap()), MANY_WORKERS, MANY_LINES).unwrap();
            let pairs = parse(&buffer.into_inner().unwrap());
            assert_complete(&pairs);
            assert_blocks_not_interleaved(&pairs);
        }
    }

    #[test]
    fn the_printer_thread_prints_every_block_once_and_whole() {
        course_tests::deadline(std::time::Duration::from_secs(20), || {
            for _ in 0..5 {
                let output = printer_thread(Vec::new(), MANY_WORKERS, MANY_LINES).unwrap();
                let pairs = parse(&output);
                assert_complete(&pairs);
                assert_blocks_not_interleaved(&pairs);
            }
        });
    }

    /// A writer that fails after a few bytes, like a closed pipe.
    #[derive(Debug)]
    struct Broken(usize);

    impl Write for Broken {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if self.0 < bytes.len() {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"));
            }
            self.0 -= bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_reaches_the_caller_and_nothing_hangs() {
        course_tests::deadline(std::time::Duration::from_secs(20), || {
            let error = printer_thread(Broken(100), MANY_WORKERS, MANY_LINES).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
        });
    }
}
