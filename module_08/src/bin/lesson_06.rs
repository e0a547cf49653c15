//! Lesson 8.6 — Thread-safe file writes («Потокобезопасная запись в файл»)
//!
//! Many threads write many lines to one file. Each line must arrive whole,
//! none may be lost, and the buffer must be flushed at the end. Two designs:
//! one `BufWriter<File>` behind a `Mutex`, and one writer thread that owns
//! the file and receives lines through a channel.
//!
//! | Python                                     | Rust                                               |
//! |--------------------------------------------|----------------------------------------------------|
//! | `f = open(path, "w")` shared by threads    | `Mutex<BufWriter<File>>`                           |
//! | `with lock: f.write(line + "\n")`          | `writeln!(out.lock().unwrap(), "{line}")?`         |
//! | a writer thread draining a `Queue`         | a thread owning `BufWriter<File>`, fed by `mpsc::sync_channel` |
//! | `f.flush()` / leaving `with open(...)`     | `out.flush()?` (a dropped `BufWriter` ignores flush errors) |
//! | `tempfile.TemporaryDirectory()`            | `tempfile::tempdir()`                              |
//!
//! - Run all steps: `cargo run -p module_08 --bin lesson_06`
//! - Run one step:  `cargo run -p module_08 --bin lesson_06 -- writer_thread`
//!
//! Try: in `mutex_writer`, return `Ok(())` instead of flushing and let the
//! `BufWriter` drop: the file still comes out whole here. What would happen
//! to an error such as a full disk at that moment?

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Mutex, mpsc};
use std::thread;

use step_runner::{Step, lesson_id};

const TITLE: &str = "Lesson 8.6 — Thread-safe file writes («Потокобезопасная запись в файл»)";

/// Writer threads, and the lines each one writes.
const THREADS: usize = 8;
const LINES: usize = 1_000;
/// Lines the writer thread's channel holds before senders wait.
const CHANNEL_CAPACITY: usize = 1_024;

// In Python, threads sharing one file object without a lock can interleave
// their writes, and a line written in pieces (`f.write(text); f.write("\n")`)
// can be split by another thread's text. Sharing a `BufWriter` in Rust does
// not compile:
//
//     let mut out = BufWriter::new(File::create(path)?);
//     thread::scope(|s| {
//         for _ in 0..4 {
//             s.spawn(|| writeln!(out, "line").unwrap());
//         }
//     });
//
//     error[E0499]: cannot borrow `out` as mutable more than once at a time
//
// (`&File` does implement `Write`, so threads may write to one unbuffered
// `File` without a lock; but `write_all` may take several system calls, and
// nothing then keeps another thread's bytes out of the middle of a line.)
//
// The error is checked by the compiler, beside the version that compiles:
// `compile_checks::lesson_06` in `module_08/src/lib.rs`
// (`cargo test -p module_08 --doc`).

/// Line `number` of thread `thread`, about 90 bytes. Don't expect the 8 KiB
/// buffer to tear it: `BufWriter` flushes *before* a write that would not
/// fit (std's `BufWriter::write_all`), so a line's text is never split
/// between two flushes. What keeps other threads' bytes out of a line is
/// the lock, or the single writer thread; `check_text` would show a torn,
/// lost or doubled line if either failed.
fn line(thread: usize, number: usize) -> String {
    let letter = char::from(b'a' + ((thread * 7 + number) % 26) as u8);
    let payload: String = std::iter::repeat_n(letter, 64).collect();
    format!("thread {thread:02} line {number:05} {payload}")
}

/// Runs `threads` scoped threads and returns the first error any returned.
fn run_threads(threads: usize, work: impl Fn(usize) -> io::Result<()> + Sync) -> io::Result<()> {
    thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let work = &work;
                s.spawn(move || work(t))
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().unwrap())
    })
}

/// Design 1: one buffered writer behind a mutex. Each line is formatted
/// outside the lock and written while holding it, so it lands whole.
fn mutex_writer(path: &Path, threads: usize, lines: usize) -> io::Result<()> {
    let out = Mutex::new(BufWriter::new(File::create(path)?));
    run_threads(threads, |t| {
        for number in 1..=lines {
            let text = line(t, number);
            // `writeln!` may call `write` several times; the guard is held
            // across all of them.
            writeln!(out.lock().unwrap(), "{text}")?;
        }
        Ok(())
    })?;
    // Flush explicitly: dropping a `BufWriter` flushes too, but would
    // swallow an error such as a full disk.
    out.into_inner().unwrap().flush()
}

fn show_mutex_writer() {
    demo(mutex_writer);
}

/// Design 2: one writer thread owns the file; the others send it lines. No
/// lock around the file; the bounded channel makes fast producers wait for
/// a slow disk instead of piling lines up in memory.
fn writer_thread(path: &Path, threads: usize, lines: usize) -> io::Result<()> {
    let file = File::create(path)?;
    let (sender, receiver) = mpsc::sync_channel::<String>(CHANNEL_CAPACITY);
    thread::scope(|s| {
        let writer = s.spawn(move || {
            let mut out = BufWriter::new(file);
            // Ends when every sender is gone: all producers are done.
            for text in receiver {
                out.write_all(text.as_bytes())?;
                out.write_all(b"\n")?;
            }
            out.flush()
        });
        for t in 0..threads {
            let sender = sender.clone();
            s.spawn(move || {
                for number in 1..=lines {
                    // Sending fails only once the writer has stopped on an
                    // I/O error, which `join` below returns; stop producing.
                    if sender.send(line(t, number)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        writer.join().unwrap()
    })
}

fn show_writer_thread() {
    demo(writer_thread);
}

/// Reads the file back and checks it: every expected line exactly once,
/// nothing else, and each thread's lines in the order it wrote them.
fn check_file(path: &Path, threads: usize, lines: usize) -> io::Result<Result<usize, String>> {
    let text = fs::read_to_string(path)?;
    Ok(check_text(&text, threads, lines))
}

fn check_text(text: &str, threads: usize, lines: usize) -> Result<usize, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the last line is cut off (not flushed?)".to_owned());
    }
    let expected: HashSet<String> = (0..threads)
        .flat_map(|t| (1..=lines).map(move |n| line(t, n)))
        .collect();
    let mut seen = HashSet::new();
    let mut next = vec![1; threads];
    for found in text.lines() {
        if !expected.contains(found) {
            return Err(format!("torn or unknown line: {found:?}"));
        }
        if !seen.insert(found) {
            return Err(format!("duplicate line: {found:?}"));
        }
        // Known line, so the fields parse: "thread TT line NNNNN …".
        let t: usize = found[7..9].parse().expect("a known line should parse");
        let n: usize = found[15..20].parse().expect("a known line should parse");
        if n != next[t] {
            return Err(format!("thread {t}: line {n} came before line {}", next[t]));
        }
        next[t] += 1;
    }
    if seen.len() != expected.len() {
        return Err(format!(
            "{} of {} lines missing",
            expected.len() - seen.len(),
            expected.len()
        ));
    }
    Ok(seen.len())
}

/// Runs one design in a fresh temporary directory and reports on the file.
fn demo(write: fn(&Path, usize, usize) -> io::Result<()>) {
    // The directory and the file are removed when `dir` is dropped.
    let dir = tempfile::tempdir().expect("a temporary directory should be creatable");
    let path = dir.path().join("lines.txt");
    write(&path, THREADS, LINES).expect("the file should be writable");
    let size = fs::metadata(&path).expect("the file should exist").len();
    println!("{THREADS} threads × {LINES} lines → {size} bytes");
    match check_file(&path, THREADS, LINES).expect("the file should read back") {
        Ok(count) => println!("read back: all {count} lines present once and intact"),
        Err(problem) => println!("read back: {problem}"),
    }
    let text = fs::read_to_string(&path).expect("the file should read back");
    for first in text.lines().take(3) {
        println!("  {first}");
    }
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("mutex_writer", "Mutex<BufWriter<File>> shared by all threads", show_mutex_writer),
        Step::new("writer_thread", "one writer thread fed by a channel", show_writer_thread),
    ])
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn hammer(write: fn(&Path, usize, usize) -> io::Result<()>) {
        const MANY_THREADS: usize = 16;
        const MANY_LINES: usize = 2_000;
        course_tests::deadline(Duration::from_secs(30), move || {
            let dir = tempfile::tempdir().unwrap();
            for round in 0..3 {
                let path = dir.path().join(format!("round-{round}.txt"));
                write(&path, MANY_THREADS, MANY_LINES).unwrap();
                assert_eq!(
                    check_file(&path, MANY_THREADS, MANY_LINES).unwrap(),
                    Ok(MANY_THREADS * MANY_LINES)
                );
            }
        });
    }

    #[test]
    fn the_mutex_writer_writes_every_line_once_and_whole() {
        hammer(mutex_writer);
    }

    #[test]
    fn the_writer_thread_writes_every_line_once_and_whole() {
        hammer(writer_thread);
    }

    #[test]
    fn the_check_catches_torn_lost_and_duplicated_lines() {
        let good: String = (1..=3).map(|n| line(0, n) + "\n").collect();
        assert_eq!(check_text(&good, 1, 3), Ok(3));
        let torn = good.replacen("line 00002", "line 0000", 1);
        assert!(check_text(&torn, 1, 3).unwrap_err().starts_with("torn"));
        let lost: String = [1, 3].map(|n| line(0, n) + "\n").concat();
        assert!(check_text(&lost, 1, 3).is_err());
        let twice = good.clone() + &line(0, 3) + "\n";
        assert!(
            check_text(&twice, 1, 3)
                .unwrap_err()
                .starts_with("duplicate")
        );
        assert!(check_text(&good[..good.len() - 1], 1, 3).is_err());
    }

    #[test]
    fn a_path_that_cannot_be_created_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("lines.txt");
        assert!(mutex_writer(&missing, 2, 2).is_err());
        assert!(writer_thread(&missing, 2, 2).is_err());
    }
}
