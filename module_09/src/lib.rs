//! Module 9 — Process pools («Пул процессов»)
//!
//! Python needs `multiprocessing.Pool` to get past the GIL. Rust threads
//! already run in parallel, so [`rayon`](https://docs.rs/rayon) is the
//! idiomatic pool: each of the pool's eight methods (`apply` …
//! `starmap_async`) gets a lesson with the Python call and its rayon
//! counterpart side by side. Where a lesson is about processes as such —
//! pids, separate memory, start-up cost, a crashing worker — the lesson
//! binary re-runs itself as a worker process, with the machinery described
//! under "Also in this library" below.
//!
//! # Lessons
//!
//! Each lesson is a page: the `lesson_NN` modules listed below, in course
//! order. A page opens with the lesson's header (what it teaches, the
//! Python → Rust table, how to run it, what to try) and lists the lesson's
//! steps, the functions its `main` runs, each with its doc; "Source" shows
//! the code. Run a lesson with `cargo run -p module_09 --bin lesson_NN`.
//!
//! # Also in this library
//!
//! The pieces module 9's lessons share: a CPU-bound workload, and real
//! worker *processes* for the lessons about processes as such (9.1, 9.2,
//! 9.13, 9.14).
//!
//! A lesson binary becomes a worker when its first argument is the hidden
//! step [`WORKER_STEP`]: it then reads one task per line on standard input
//! and answers one line per task on standard output. The parent re-runs its own
//! executable with [`std::process::Command`], owns every child it starts, and
//! talks to it over pipes. That is Python's `spawn` start method for a frozen
//! program: it re-runs `sys.executable` with the hidden first argument
//! `--multiprocessing-fork`, which `multiprocessing.freeze_support()` checks
//! at the top of the child's `main` (`multiprocessing/spawn.py`). A plain
//! `spawn` or `forkserver` child re-imports your main module, which is why the
//! `if __name__ == "__main__":` guard exists; `fork`, the default on Linux up
//! to Python 3.13, copies the running parent and re-imports nothing.
//!
//! Nothing here is needed for parallelism in Rust — threads already run in
//! parallel, and `rayon` is the idiomatic pool. Processes add isolation (a
//! crash, a leak or corrupted memory stays in the child) and cost start-up
//! time and copying data through pipes.
//!
//! One convention across module 9: `lock().unwrap()` and `join().unwrap()`.
//! A poisoned lock or a failed join only relays a panic that another thread
//! has already reported; unwrapping passes it on. Other `expect`s say what
//! should have held.

// The lessons, each a page of this crate's documentation: rustdoc reads
// every lesson binary's source as a module of this library. Only rustdoc
// sees these modules (`cfg(doc)`, set by `cargo doc` and `cargo test
// --doc`), so no lesson is compiled twice. They are private, as the steps
// in them are: .cargo/config.toml has rustdoc document private items. The
// lessons name this library `module_09`, as their binaries do.
#[cfg(doc)]
extern crate self as module_09;
#[cfg(doc)]
#[path = "bin/lesson_01.rs"]
mod lesson_01;
#[cfg(doc)]
#[path = "bin/lesson_02.rs"]
mod lesson_02;
#[cfg(doc)]
#[path = "bin/lesson_03.rs"]
mod lesson_03;
#[cfg(doc)]
#[path = "bin/lesson_04.rs"]
mod lesson_04;
#[cfg(doc)]
#[path = "bin/lesson_05.rs"]
mod lesson_05;
#[cfg(doc)]
#[path = "bin/lesson_06.rs"]
mod lesson_06;
#[cfg(doc)]
#[path = "bin/lesson_07.rs"]
mod lesson_07;
#[cfg(doc)]
#[path = "bin/lesson_08.rs"]
mod lesson_08;
#[cfg(doc)]
#[path = "bin/lesson_09.rs"]
mod lesson_09;
#[cfg(doc)]
#[path = "bin/lesson_10.rs"]
mod lesson_10;
#[cfg(doc)]
#[path = "bin/lesson_11.rs"]
mod lesson_11;
#[cfg(doc)]
#[path = "bin/lesson_12.rs"]
mod lesson_12;
#[cfg(doc)]
#[path = "bin/lesson_13.rs"]
mod lesson_13;
#[cfg(doc)]
#[path = "bin/lesson_14.rs"]
mod lesson_14;
#[cfg(doc)]
#[path = "bin/lesson_15/main.rs"]
mod lesson_15;

use std::io::{self, BufRead, BufReader, Write};
use std::ops::Range;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use step_runner::{Outcome, Step};

mod pool;
pub use pool::{AsyncResult, PoolClosed, ProcessPool, TaskError};

/// The hidden step that makes a lesson binary serve tasks instead of running
/// its steps (Python's `--multiprocessing-fork`). Each process lesson puts it
/// in its table of steps; only [`WorkerProcess::spawn`] names it on a command
/// line, and the step runner neither lists it nor runs it with the others.
///
/// An argument and not an environment variable: every descendant inherits
/// the environment, so a variable set for a worker (or exported by a user)
/// would turn the worker's own children, and any lesson run from that shell,
/// into workers that silently wait for tasks on stdin. Arguments are not
/// inherited. (Module 9 once used `MODULE_09_WORKER`; it now means nothing.)
pub const WORKER_STEP: Step = Step::hidden("module-09-worker", serve_stdio);

/// The message a panic was started with (`panic!("…")`), from the payload
/// that `catch_unwind` or a pool's panic handler gets.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a task panicked".to_owned())
}

/// A process's state letter from `/proc` (Linux: `R` running, `S`
/// sleeping, `Z` zombie), `None` once it is gone or where there is no
/// `/proc`.
pub fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state follows the command name, which is in parentheses.
    stat.rsplit_once(") ")?.1.chars().next()
}

/// The CPU-bound workload of this module: counting primes by trial
/// division. It lives in the `primes` crate, which builds optimised while
/// the lessons build unoptimised (the root `Cargo.toml` says why).
pub use primes::{count_primes, is_prime};

/// Splits `0..limit` into `parts` consecutive ranges of (nearly) equal length.
pub fn split_range(limit: u64, parts: u64) -> Vec<Range<u64>> {
    let parts = parts.max(1);
    (0..parts)
        .map(|i| limit * i / parts..limit * (i + 1) / parts)
        .collect()
}

/// A counter that lives in each process's own memory: a worker adding to its
/// copy leaves the parent's untouched (lesson 9.1).
pub static PROCESS_COUNTER: AtomicU64 = AtomicU64::new(0);

/// One unit of work sent to a worker process, one text line on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    /// Reply with nothing but the worker's pid.
    Pid,
    /// Count the primes in `start..end`.
    CountPrimes { start: u64, end: u64 },
    /// Sum the numbers (shows the cost of copying data to a process).
    Sum(Vec<u64>),
    /// Add to the worker's own [`PROCESS_COUNTER`] and reply with its value.
    AddToCounter(u64),
    /// Panic inside the worker: the process dies, the parent must not.
    Crash(String),
    /// Sleep this many milliseconds, then reply 0: a worker that is stuck,
    /// for [`WorkerProcess::request_within`]'s time limit.
    Sleep(u64),
}

impl Task {
    /// The line sent to the worker (without the newline).
    pub fn to_line(&self) -> String {
        match self {
            Task::Pid => "pid".to_owned(),
            Task::CountPrimes { start, end } => format!("count_primes {start} {end}"),
            Task::Sum(numbers) => {
                let mut line = "sum".to_owned();
                for n in numbers {
                    line.push(' ');
                    line.push_str(&n.to_string());
                }
                line
            }
            Task::AddToCounter(n) => format!("add_to_counter {n}"),
            // A message is one line on the wire.
            Task::Crash(message) => format!("crash {}", message.replace('\n', " ")),
            Task::Sleep(millis) => format!("sleep {millis}"),
        }
    }

    /// Parses a line written by [`Task::to_line`].
    pub fn parse(line: &str) -> Result<Task, String> {
        let (command, rest) = line.split_once(' ').unwrap_or((line, ""));
        let numbers = || -> Result<Vec<u64>, String> {
            rest.split_whitespace()
                .map(|word| {
                    word.parse()
                        .map_err(|e| format!("bad number {word:?}: {e}"))
                })
                .collect()
        };
        match command {
            "pid" => Ok(Task::Pid),
            "count_primes" => match numbers()?[..] {
                [start, end] => Ok(Task::CountPrimes { start, end }),
                _ => Err(format!("count_primes takes two numbers: {line:?}")),
            },
            "sum" => Ok(Task::Sum(numbers()?)),
            "add_to_counter" => match numbers()?[..] {
                [n] => Ok(Task::AddToCounter(n)),
                _ => Err(format!("add_to_counter takes one number: {line:?}")),
            },
            "crash" => Ok(Task::Crash(rest.to_owned())),
            "sleep" => match numbers()?[..] {
                [millis] => Ok(Task::Sleep(millis)),
                _ => Err(format!("sleep takes one number: {line:?}")),
            },
            _ => Err(format!("unknown task {line:?}")),
        }
    }

    /// Does the work, in whichever process this is.
    pub fn run(&self) -> u64 {
        match self {
            Task::Pid => 0,
            Task::CountPrimes { start, end } => count_primes(*start..*end),
            Task::Sum(numbers) => numbers.iter().sum(),
            Task::AddToCounter(n) => PROCESS_COUNTER.fetch_add(*n, Ordering::SeqCst) + n,
            Task::Crash(message) => panic!("worker crashed on purpose: {message}"),
            Task::Sleep(millis) => {
                thread::sleep(Duration::from_millis(*millis));
                0
            }
        }
    }
}

/// A worker's answer: its pid (so lessons can show who did the work) and the
/// task's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    pub pid: u32,
    pub value: u64,
}

/// The worker's side of the protocol: one task per input line, one
/// `ok <pid> <value>` or `err <pid> <message>` line per task, until the input
/// ends. A [`Task::Crash`] panics, which ends the process.
pub fn serve(input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    let pid = std::process::id();
    for line in input.lines() {
        let line = line?;
        match Task::parse(&line) {
            Ok(task) => writeln!(output, "ok {pid} {}", task.run())?,
            Err(message) => writeln!(output, "err {pid} {message}")?,
        }
        // The parent waits for this line: don't leave it in a buffer.
        output.flush()?;
    }
    Ok(())
}

/// The worker's `main`: serve tasks from standard input until it ends.
fn serve_stdio() -> Outcome {
    match serve(io::stdin().lock(), io::stdout().lock()) {
        Ok(()) => Outcome::Done,
        // A closed pipe means the parent has gone; there is no one to tell.
        Err(_) => Outcome::Failed,
    }
}

/// What can go wrong when asking a worker process for a result.
#[derive(Debug)]
pub enum WorkerError {
    /// Starting the process or talking to it failed.
    Io(io::Error),
    /// The worker understood the line but refused it.
    Refused(String),
    /// The worker process ended without answering (it crashed).
    Died {
        pid: u32,
        status: ExitStatus,
        /// What the worker wrote last to standard error: its panic message.
        last_words: String,
    },
    /// No answer within the request's time limit; the worker was killed.
    TimedOut { pid: u32, limit: Duration },
    /// Told to stop while waiting ([`WorkerProcess::request_unless`]); the
    /// worker was killed.
    Stopped { pid: u32 },
}

impl std::fmt::Display for WorkerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkerError::Io(e) => write!(f, "talking to the worker failed: {e}"),
            WorkerError::Refused(message) => write!(f, "the worker refused the task: {message}"),
            WorkerError::Died {
                pid,
                status,
                last_words,
            } => write!(f, "worker {pid} died ({status}): {last_words}"),
            WorkerError::TimedOut { pid, limit } => {
                write!(f, "worker {pid} did not answer within {limit:?}; killed")
            }
            WorkerError::Stopped { pid } => write!(f, "worker {pid} was stopped; killed"),
        }
    }
}

impl std::error::Error for WorkerError {}

impl From<io::Error> for WorkerError {
    fn from(e: io::Error) -> Self {
        WorkerError::Io(e)
    }
}

/// One child process serving [`Task`]s over its stdin/stdout pipes.
///
/// Each pipe has its own thread in the parent: one writes the tasks, one
/// reads the replies, one drains standard error as it comes. A pipe holds
/// 64 KiB (Linux's default); a worker writing more to a pipe nobody reads blocks,
/// and a parent waiting for that worker's reply on another pipe then waits
/// forever too. With a thread per pipe nothing fills up, and the parent
/// itself waits only on channels, which can time out
/// ([`WorkerProcess::request_within`]).
///
/// The parent owns the child: [`WorkerProcess::finish`] closes its input and
/// waits for it; dropping a worker that was not finished kills and reaps it,
/// so no child outlives its owner, even on an error path.
pub struct WorkerProcess {
    child: Child,
    /// Task lines for the writer thread; dropping it closes the worker's stdin.
    tasks: Option<Sender<String>>,
    /// Reply lines from the reader thread; disconnected once stdout ends.
    replies: Receiver<io::Result<String>>,
    /// The writer and the reader thread.
    pipe_threads: Vec<JoinHandle<()>>,
    /// The thread draining stderr; it returns what it kept.
    stderr_thread: Option<JoinHandle<LastWords>>,
    reaped: bool,
}

impl WorkerProcess {
    /// Starts `program` (a lesson binary) as a worker.
    pub fn spawn(program: &Path) -> io::Result<WorkerProcess> {
        let child = Command::new(program)
            .arg(WORKER_STEP.name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Captured (and drained) so a crash's panic message can be reported.
            .stderr(Stdio::piped())
            .spawn()?;
        let (tasks, task_lines) = crossbeam_channel::unbounded::<String>();
        let (reply_lines, replies) = crossbeam_channel::unbounded();
        // Owned before the threads start: if one cannot start, `?` drops the
        // worker, which kills and reaps the child.
        let mut worker = WorkerProcess {
            child,
            tasks: Some(tasks),
            replies,
            pipe_threads: Vec::new(),
            stderr_thread: None,
            reaped: false,
        };
        let pid = worker.pid();
        let mut stdin = worker.child.stdin.take().expect("stdin is piped");
        let stdout = worker.child.stdout.take().expect("stdout is piped");
        let stderr = worker.child.stderr.take().expect("stderr is piped");
        let named = |role: &str| thread::Builder::new().name(format!("worker-{pid}-{role}"));
        worker.pipe_threads.push(named("stdin").spawn(move || {
            for line in task_lines {
                // A failed write means the worker died; the reader sees that.
                if writeln!(stdin, "{line}")
                    .and_then(|()| stdin.flush())
                    .is_err()
                {
                    break;
                }
            }
            // Dropping `stdin` closes the worker's input: it then exits.
        })?);
        worker.pipe_threads.push(named("stdout").spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let failed = line.is_err();
                if reply_lines.send(line).is_err() || failed {
                    break;
                }
            }
        })?);
        worker.stderr_thread =
            Some(named("stderr").spawn(move || LastWords::read(BufReader::new(stderr)))?);
        Ok(worker)
    }

    /// Starts this very executable as a worker: what a lesson does.
    pub fn spawn_self() -> io::Result<WorkerProcess> {
        WorkerProcess::spawn(&std::env::current_exe()?)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one task and waits for its answer, however long it takes. If the
    /// worker dies instead, the child is reaped and [`WorkerError::Died`]
    /// says how it ended.
    pub fn request(&mut self, task: &Task) -> Result<Reply, WorkerError> {
        self.ask(task, None, None)
    }

    /// Like [`WorkerProcess::request`], but waits at most `limit`. A worker
    /// that has not answered by then is killed and reaped (an answer that
    /// came later would be out of step with the next task) and the result is
    /// [`WorkerError::TimedOut`].
    pub fn request_within(&mut self, task: &Task, limit: Duration) -> Result<Reply, WorkerError> {
        self.ask(task, Some(limit), None)
    }

    /// Like [`WorkerProcess::request`], but a message on `stop`, or its
    /// disconnection, kills and reaps the worker at once and the result is
    /// [`WorkerError::Stopped`]: how [`crate::ProcessPool::terminate`] stops
    /// a busy worker.
    pub fn request_unless(
        &mut self,
        task: &Task,
        stop: &Receiver<()>,
    ) -> Result<Reply, WorkerError> {
        self.ask(task, None, Some(stop))
    }

    fn ask(
        &mut self,
        task: &Task,
        limit: Option<Duration>,
        stop: Option<&Receiver<()>>,
    ) -> Result<Reply, WorkerError> {
        if self.reaped {
            let message = format!("worker {} has already ended", self.pid());
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, message).into());
        }
        if let Some(tasks) = &self.tasks {
            // Fails only if the writer has stopped, because the worker died:
            // then its stdout has ended too, and the reply says so.
            let _ = tasks.send(task.to_line());
        }
        // A channel that never delivers stands in for a missing limit or stop.
        let deadline = limit.map_or_else(crossbeam_channel::never, crossbeam_channel::after);
        let never = crossbeam_channel::never();
        let stop = stop.unwrap_or(&never);
        let reply = crossbeam_channel::select_biased! {
            recv(self.replies) -> reply => reply.map_err(|_| RecvTimeoutError::Disconnected),
            recv(stop) -> _ => {
                self.kill_and_reap();
                return Err(WorkerError::Stopped { pid: self.pid() });
            },
            recv(deadline) -> _ => Err(RecvTimeoutError::Timeout),
        };
        match reply {
            Ok(Ok(line)) => parse_reply(line.trim_end()),
            Ok(Err(e)) => Err(e.into()),
            Err(RecvTimeoutError::Disconnected) => Err(self.reap_dead()),
            Err(RecvTimeoutError::Timeout) => {
                self.kill_and_reap();
                Err(WorkerError::TimedOut {
                    pid: self.pid(),
                    limit: limit.expect("only a limited wait times out"),
                })
            }
        }
    }

    /// Closes the worker's input, lets the pipe threads run to the end of
    /// their pipes, and returns what the stderr thread kept.
    fn close_pipes(&mut self) -> LastWords {
        self.tasks = None;
        // The pipe threads do not panic; if one did, there is nothing to add
        // here, and `drop` (which calls this, maybe while unwinding) must not
        // panic in turn.
        for handle in self.pipe_threads.drain(..) {
            let _ = handle.join();
        }
        self.stderr_thread
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }

    /// The worker's stdout has ended: it is exiting. Its stderr is drained to
    /// the end first (a pipe must never be left full while we `wait`), then
    /// the child is reaped.
    fn reap_dead(&mut self) -> WorkerError {
        let last_words = self.close_pipes().message();
        let status = match self.child.wait() {
            Ok(status) => status,
            Err(e) => return WorkerError::Io(e),
        };
        self.reaped = true;
        WorkerError::Died {
            pid: self.pid(),
            status,
            last_words,
        }
    }

    /// Kills the child, reaps it, and joins the pipe threads, which end once
    /// the dead child's pipes close.
    fn kill_and_reap(&mut self) {
        // A child that has already exited is left as it is (`Child::kill`
        // returns `Ok` then); `wait` reaps it either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reaped = true;
        self.close_pipes();
    }

    /// Closes the worker's input (it exits at the end of its input), drains
    /// its output and waits for it.
    pub fn finish(mut self) -> io::Result<ExitStatus> {
        self.close_pipes();
        let status = self.child.wait()?;
        self.reaped = true;
        Ok(status)
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if !self.reaped {
            // An owner that did not call `finish` is unwinding or bailing out:
            // don't leave an orphan behind.
            self.kill_and_reap();
        }
    }
}

/// What a worker said last on standard error, kept while the pipe is
/// drained: the message of its last panic report (`thread '…' panicked at
/// file:line:col:` followed by the message) and its last non-empty line.
/// Lines are cut at [`LastWords::LINE_CAP`] bytes, so a worker that writes
/// without end costs the parent bounded memory.
#[derive(Debug, Default)]
struct LastWords {
    after_panic_header: bool,
    panic: Option<String>,
    last_line: Option<String>,
}

impl LastWords {
    const LINE_CAP: usize = 1024;

    /// Reads `input` to its end, line by line.
    fn read(mut input: impl BufRead) -> LastWords {
        let mut words = LastWords::default();
        let mut line = Vec::new();
        loop {
            let chunk = match input.fill_buf() {
                Ok([]) => break,
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let newline = chunk.iter().position(|&b| b == b'\n');
            let part = &chunk[..newline.unwrap_or(chunk.len())];
            let room = Self::LINE_CAP.saturating_sub(line.len());
            line.extend_from_slice(&part[..part.len().min(room)]);
            let used = newline.map_or(chunk.len(), |i| i + 1);
            input.consume(used);
            if newline.is_some() {
                words.push(&String::from_utf8_lossy(&line));
                line.clear();
            }
        }
        if !line.is_empty() {
            words.push(&String::from_utf8_lossy(&line));
        }
        words
    }

    fn push(&mut self, line: &str) {
        if std::mem::take(&mut self.after_panic_header) {
            self.panic = Some(line.to_owned());
        }
        if line.contains(" panicked at ") {
            self.after_panic_header = true;
        }
        if !line.trim().is_empty() {
            self.last_line = Some(line.to_owned());
        }
    }

    /// The panic message, or else the last line, or else "no message".
    fn message(self) -> String {
        self.panic
            .or(self.last_line)
            .unwrap_or_else(|| "no message".to_owned())
    }
}

fn parse_reply(line: &str) -> Result<Reply, WorkerError> {
    let mut words = line.splitn(3, ' ');
    let (Some(kind), Some(pid), rest) = (words.next(), words.next(), words.next()) else {
        return Err(WorkerError::Refused(format!("malformed reply {line:?}")));
    };
    let rest = rest.unwrap_or("");
    let pid = pid
        .parse()
        .map_err(|_| WorkerError::Refused(format!("malformed reply {line:?}")))?;
    match kind {
        "ok" => rest
            .parse()
            .map(|value| Reply { pid, value })
            .map_err(|_| WorkerError::Refused(format!("malformed reply {line:?}"))),
        _ => Err(WorkerError::Refused(rest.to_owned())),
    }
}

/// A minimal process pool: `workers` child processes of `program` share
/// `tasks`; results come back in task order.
///
/// Hand-written because the lessons are about what processes do; each worker
/// is driven by one parent thread that waits for its replies. A worker that dies
/// fails only the task it was running: it is replaced, and the pool carries
/// on (Python's `ProcessPoolExecutor` instead marks the whole pool broken).
pub fn map_in_processes(
    program: &Path,
    workers: usize,
    tasks: &[Task],
) -> Vec<Result<Reply, WorkerError>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Reply, WorkerError>>>> =
        Mutex::new((0..tasks.len()).map(|_| None).collect());
    thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| {
                let mut worker: Option<WorkerProcess> = None;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(task) = tasks.get(i) else { break };
                    let result = match worker.as_mut() {
                        Some(w) => w.request(task),
                        None => match WorkerProcess::spawn(program) {
                            Ok(w) => worker.insert(w).request(task),
                            Err(e) => Err(e.into()),
                        },
                    };
                    if matches!(result, Err(WorkerError::Died { .. })) {
                        // Start a fresh worker for the next task.
                        worker = None;
                    }
                    results.lock().unwrap()[i] = Some(result);
                }
                if let Some(w) = worker {
                    let _ = w.finish();
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every task index was taken by exactly one thread"))
        .collect()
}

/// The compile errors lesson 9.14 quotes, each checked by the compiler
/// (`cargo test -p module_09 --doc`) beside the version that compiles.
///
/// A `spawn`ed task may outlive the function that spawned it, so it cannot
/// borrow that function's data:
///
/// ```compile_fail,E0373
/// let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
/// let data = vec![1, 2, 3];
/// pool.spawn(|| println!("{}", data.len()));
/// ```
///
/// A scope's tasks end before the scope returns, so they may:
///
/// ```
/// let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
/// let data = vec![1, 2, 3];
/// pool.scope(|s| s.spawn(|_| println!("{}", data.len())));
/// ```
///
/// An `Rc` cannot go to another thread (its count is not atomic):
///
/// ```compile_fail,E0277
/// use std::rc::Rc;
/// let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
/// let shared = Rc::new(vec![1, 2, 3]);
/// pool.spawn(move || println!("{}", shared.len()));
/// ```
///
/// An `Arc` can:
///
/// ```
/// use std::sync::Arc;
/// let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
/// let shared = Arc::new(vec![1, 2, 3]);
/// pool.spawn(move || println!("{}", shared.len()));
/// ```
///
/// Nor can a `par_iter` closure that uses an `Rc` run on several threads:
///
/// ```compile_fail,E0277
/// use rayon::prelude::*;
/// use std::rc::Rc;
/// let offset = Rc::new(5);
/// let shifted: Vec<i32> = (0..4).into_par_iter().map(|x| x + *offset).collect();
/// ```
///
/// Plain shared data can:
///
/// ```
/// use rayon::prelude::*;
/// let offset = 5;
/// let shifted: Vec<i32> = (0..4).into_par_iter().map(|x| x + offset).collect();
/// assert_eq!(shifted, [5, 6, 7, 8]);
/// ```
///
/// A `par_iter` closure is a `Fn`, called from several threads at once: it
/// cannot add to a captured total.
///
/// ```compile_fail,E0596
/// use rayon::prelude::*;
/// let numbers = [1u64, 2, 3];
/// let mut total = 0;
/// numbers.par_iter().for_each(|x| total += x);
/// ```
///
/// A reduction can:
///
/// ```
/// use rayon::prelude::*;
/// let numbers = [1u64, 2, 3];
/// let total: u64 = numbers.par_iter().sum();
/// assert_eq!(total, 6);
/// ```
pub mod compile_errors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_range_covers_everything_once() {
        let parts = split_range(1003, 7);
        assert_eq!(parts.len(), 7);
        assert_eq!(parts[0].start, 0);
        assert_eq!(parts[6].end, 1003);
        assert!(parts.windows(2).all(|w| w[0].end == w[1].start));
    }

    #[test]
    fn tasks_survive_the_wire() {
        for task in [
            Task::Pid,
            Task::CountPrimes { start: 5, end: 90 },
            Task::Sum(vec![1, 2, 3]),
            Task::Sum(vec![]),
            Task::AddToCounter(7),
            Task::Crash("boom".into()),
            Task::Sleep(20),
        ] {
            assert_eq!(Task::parse(&task.to_line()), Ok(task));
        }
        assert!(Task::parse("fly 1").is_err());
        assert!(Task::parse("count_primes 1").is_err());
    }

    #[test]
    fn the_panic_message_is_found_among_backtrace_lines() {
        let words = |text: &str| LastWords::read(text.as_bytes()).message();
        let report = "thread 'main' (7) panicked at src/lib.rs:1:2:\nworker crashed on purpose: x\nstack backtrace:\n   0: f\n";
        assert_eq!(words(report), "worker crashed on purpose: x");
        assert_eq!(words("just this\n"), "just this");
        assert_eq!(words("no newline at the end"), "no newline at the end");
        assert_eq!(words(""), "no message");
        // A line without end is kept only up to the cap.
        let flood = format!("thread 'main' panicked at x:\n{}\n", "y".repeat(100_000));
        assert_eq!(words(&flood), "y".repeat(LastWords::LINE_CAP));
    }

    /// A lesson binary of this package: in a unit test `current_exe()` is the
    /// test harness, which has no worker mode.
    fn lesson_binary(name: &str) -> std::path::PathBuf {
        course_tests::lesson_binaries("module_09").join(name)
    }

    #[test]
    fn a_long_panic_message_is_reported_not_deadlocked() {
        let program = lesson_binary("lesson_01");
        // 100 000 bytes on stderr overflow the pipe's buffer (64 KiB on
        // Linux): a parent that does not drain stderr while it waits for the
        // reply on stdout waits forever, and so does the worker.
        let error = course_tests::deadline(Duration::from_secs(60), move || {
            let mut worker = WorkerProcess::spawn(&program).unwrap();
            worker
                .request(&Task::Crash("x".repeat(100_000)))
                .unwrap_err()
        });
        let WorkerError::Died {
            status, last_words, ..
        } = error
        else {
            panic!("expected a dead worker, got {error:?}");
        };
        assert_eq!(status.code(), Some(101));
        assert!(
            last_words.starts_with("worker crashed on purpose: xxxx"),
            "{last_words:.80}"
        );
        assert_eq!(last_words.len(), LastWords::LINE_CAP);
    }

    #[test]
    fn a_stuck_worker_times_out_and_is_killed() {
        let program = lesson_binary("lesson_01");
        let (pid, answered, stuck, after) =
            course_tests::deadline(Duration::from_secs(60), move || {
                let mut worker = WorkerProcess::spawn(&program).unwrap();
                let pid = worker.pid();
                // A generous limit for a prompt answer, a short one for a
                // task that would take ten minutes.
                let answered = worker.request_within(&Task::Pid, Duration::from_secs(30));
                let stuck =
                    worker.request_within(&Task::Sleep(600_000), Duration::from_millis(200));
                let after = worker.request(&Task::Pid);
                (pid, answered, stuck, after)
            });
        assert_eq!(answered.unwrap().pid, pid);
        assert!(
            matches!(stuck, Err(WorkerError::TimedOut { pid: p, .. }) if p == pid),
            "{stuck:?}"
        );
        assert!(matches!(after, Err(WorkerError::Io(_))), "{after:?}");
        if cfg!(target_os = "linux") {
            // Killed and reaped: not even a zombie is left.
            assert!(!Path::new(&format!("/proc/{pid}")).exists());
        }
    }

    #[test]
    fn dropping_a_busy_worker_kills_and_reaps_it() {
        let program = lesson_binary("lesson_01");
        let pid = course_tests::deadline(Duration::from_secs(60), move || {
            let worker = WorkerProcess::spawn(&program).unwrap();
            let pid = worker.pid();
            // A task that would run for ten minutes, its answer never awaited.
            let tasks = worker.tasks.as_ref().unwrap();
            tasks.send(Task::Sleep(600_000).to_line()).unwrap();
            drop(worker);
            pid
        });
        if cfg!(target_os = "linux") {
            assert!(!Path::new(&format!("/proc/{pid}")).exists());
        }
    }

    #[test]
    fn the_old_worker_variable_does_not_make_a_lesson_a_worker() {
        let program = lesson_binary("lesson_01");
        let output = course_tests::deadline(Duration::from_secs(60), move || {
            Command::new(program)
                .arg("--list")
                .env("MODULE_09_WORKER", "1")
                .stdin(Stdio::null())
                .output()
                .unwrap()
        });
        assert!(output.status.success(), "{output:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "pids\nseparate_memory\nrayon_pool\n"
        );
    }

    #[test]
    fn only_the_hidden_first_argument_makes_a_worker() {
        let program = lesson_binary("lesson_01");
        let replies = course_tests::deadline(Duration::from_secs(60), move || {
            let serve = |args: &[&str]| {
                let mut child = Command::new(&program)
                    .args(args)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                // Closing stdin right after the task ends a worker's loop; a
                // lesson that is no worker may have exited before the write.
                let _ = writeln!(child.stdin.take().unwrap(), "sum 2 3");
                String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
            };
            (serve(&[WORKER_STEP.name]), serve(&["--list"]))
        });
        assert!(
            replies.0.starts_with("ok ") && replies.0.ends_with(" 5\n"),
            "{replies:?}"
        );
        assert_eq!(replies.1, "pids\nseparate_memory\nrayon_pool\n");
    }

    #[test]
    fn serve_answers_one_line_per_task() {
        let input = "count_primes 0 100\nsum 1 2 3\nnonsense\n";
        let mut output = Vec::new();
        serve(input.as_bytes(), &mut output).unwrap();
        let pid = std::process::id();
        let lines: Vec<String> = String::from_utf8(output)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(lines[0], format!("ok {pid} 25"));
        assert_eq!(lines[1], format!("ok {pid} 6"));
        assert!(lines[2].starts_with(&format!("err {pid} unknown task")));
        assert_eq!(parse_reply(&lines[0]).unwrap(), Reply { pid, value: 25 });
        assert!(matches!(
            parse_reply(&lines[2]),
            Err(WorkerError::Refused(_))
        ));
    }
}
