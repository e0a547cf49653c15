//! Lesson 9.15 — Processes that talk: Queue, Pipe, Lock («Процессы, которые общаются: Queue, Pipe, Lock»)
//!
//! **Beyond the course's syllabus**, from its learning roadmap: creating a
//! `Process`, passing data between processes with `Pipe` and `Queue`, and
//! synchronising processes, with real child processes. A child is this
//! program re-run (`current_exe()`) with the hidden step `child`, as
//! Python's `spawn` re-runs `sys.executable`; its stdin and stdout carry
//! only messages, a JSON value a line (`serde_json`; Python pickles).
//!
//! | Python                                      | Rust                                                   |
//! |---------------------------------------------|--------------------------------------------------------|
//! | `p = Process(target=f); p.start()`          | `Command::new(current_exe()?).arg("child").spawn()?`   |
//! | `p.join()` / `p.kill()`                     | `child.wait()` / `child.kill()`, then `wait()`         |
//! | `a, b = Pipe()`; `a.send(x)`; `b.recv()`    | the child's stdin and stdout; `send` / `recv` below    |
//! | `q = Queue()`; `q.put(x)` in each producer  | a pipe per producer, read into one channel             |
//! | a `None` sentinel from each producer        | the end of each pipe                                   |
//! | `lock = Lock()`; `with lock:` around writes | `file.lock()?` … `file.unlock()?`: an advisory file lock |
//!
//! `Value('i', 0)` and `Array('d', 10)` share memory between processes.
//! Safe Rust cannot (and this workspace forbids `unsafe`): mapping a file
//! (`memmap2::MmapMut::map_mut`) is `unsafe`, as another process may change
//! it behind the compiler's back, and so is `fork`, which would share an
//! anonymous mapping. Instead: threads with `Arc<Mutex<T>>` or atomics for
//! parallelism (no GIL to escape), messages between processes, a locked
//! file or a database for state they keep together.
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_15`
//! - Run one step:  `cargo run -p module_09 --bin lesson_15 -- queue`
//!
//! Try: in `queue.rs`, `consume`, delete `drop(tx)` and run `-- queue`:
//! every item arrives, then the consumer waits for good (Ctrl-C ends it).
//! Whose sender keeps the channel open?

mod lock;
mod pipe;
mod queue;

use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use step_runner::{Outcome, Step, lesson_id};

/// `conn.send(obj)`: one message, one JSON line, flushed at once.
fn send<T: Serialize>(to: &mut impl Write, message: &T) -> io::Result<()> {
    writeln!(to, "{}", serde_json::to_string(message)?)?;
    to.flush()
}

/// `conn.recv()`: the next message; `None` once the other end is closed.
fn recv<T: DeserializeOwned>(from: &mut impl BufRead) -> io::Result<Option<T>> {
    let mut line = String::new();
    if from.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(serde_json::from_str(&line)?))
}

/// A child's first message: what to run. (Python's `spawn` likewise
/// pickles the `Process` object, target and arguments, to the child.)
#[derive(Serialize, Deserialize)]
enum Role {
    Squarer,
    Producer(queue::Part),
    Appender(lock::Append),
}

/// This program as a child, in the hidden step `child`. Dropped unwaited
/// (on a `?`, a panic, a closed stdout) it kills and reaps the child, so
/// none outlives its step. After a `wait`, std neither signals the reaped
/// child (its pid may be another's by now) nor waits again.
struct ChildProcess(Child);

impl ChildProcess {
    /// Its stdin a pipe from us, its stderr ours (a panic message shows).
    fn start(program: &Path, role: &Role, stdout: impl Into<Stdio>) -> io::Result<Self> {
        let mut command = Command::new(program);
        command.arg("child").stdin(Stdio::piped()).stdout(stdout);
        let mut child = Self(command.spawn()?);
        send(child.0.stdin.as_mut().expect("stdin is piped"), role)?;
        Ok(child)
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The hidden step `child`: read the role, play it over stdin and stdout.
fn run_child() -> Outcome {
    let (mut from, to) = (io::stdin().lock(), io::stdout().lock());
    let played = match recv(&mut from) {
        Ok(Some(Role::Squarer)) => pipe::answer(from, to),
        Ok(Some(Role::Producer(part))) => queue::produce(part, to),
        Ok(Some(Role::Appender(me))) => lock::append(me),
        // No role: the parent went away before it sent one.
        nothing => nothing.map(drop),
    };
    let played = played.inspect_err(|e| eprintln!("child: {e}"));
    played.map_or(Outcome::Failed, |()| Outcome::Done)
}

fn this_program() -> PathBuf {
    std::env::current_exe().expect("the running program's path")
}

const TITLE: &str = "Lesson 9.15 — Processes that talk: Queue, Pipe, Lock («Процессы, которые общаются: Queue, Pipe, Lock»), beyond the syllabus";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("pipe", "Process + Pipe: a parent and a child talk both ways", pipe::show_pipe),
        Step::new("queue", "Queue: three producer processes, one consumer; one dies", queue::show_queue),
        Step::new("append", "processes append to one file, without a lock and with one", lock::show_append),
        Step::hidden("child", run_child),
    ])
}

#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;

    /// The lesson binary itself: in a unit test `current_exe()` is the test
    /// harness, which has no hidden steps.
    pub(crate) fn lesson_binary() -> PathBuf {
        course_tests::lesson_binaries("module_09").join("lesson_15")
    }

    /// The pids in a sink's `… started: pid N` lines.
    pub(crate) fn started_pids(lines: &[String]) -> Vec<u32> {
        let pid = |line: &String| line.split_once("started: pid ")?.1.parse().ok();
        lines.iter().filter_map(pid).collect()
    }

    /// Each of `pids` is gone: not running, not even a zombie (Linux).
    pub(crate) fn assert_gone(pids: &[u32]) {
        for pid in pids.iter().filter(|_| cfg!(target_os = "linux")) {
            let gone = !Path::new(&format!("/proc/{pid}")).exists();
            assert!(gone, "process {pid} is left");
        }
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Note {
        n: u32,
        text: String,
    }

    #[test]
    fn a_message_is_one_json_line_and_the_end_is_none() {
        let mut wire = Vec::new();
        let note = Note {
            n: 7,
            text: "two\nlines".into(),
        };
        send(&mut wire, &note).unwrap();
        send(&mut wire, &note).unwrap();
        // The newline inside the text is escaped: one message, one line.
        assert_eq!(wire.iter().filter(|&&b| b == b'\n').count(), 2);
        let mut from = &wire[..];
        assert_eq!(recv::<Note>(&mut from).unwrap(), Some(note));
        assert!(recv::<Note>(&mut from).unwrap().is_some());
        assert_eq!(recv::<Note>(&mut from).unwrap(), None);
        assert!(recv::<Note>(&mut &b"{\"n\":1}\n"[..]).is_err());
    }
}
