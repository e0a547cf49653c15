//! The pieces module 9's lessons share: a CPU-bound workload, and real
//! worker *processes* for the lessons about processes as such (9.1, 9.2,
//! 9.13, 9.14).
//!
//! A lesson binary becomes a worker when it is started with the environment
//! variable [`WORKER_ENV`] set: it then reads one task per line on standard
//! input and answers one line per task on standard output. That is Python's
//! `multiprocessing` model (the pool re-imports your module in every child and
//! talks to it over pipes), spelled out: the parent re-runs its own
//! executable with [`std::process::Command`] and owns every child it starts.
//!
//! Nothing here is needed for parallelism in Rust — threads already run in
//! parallel, and `rayon` is the idiomatic pool. Processes add isolation (a
//! crash, a leak or corrupted memory stays in the child) and cost start-up
//! time and copying data through pipes.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::ops::Range;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;

/// Set in a child's environment to make a lesson binary serve tasks instead
/// of running its steps. The step runner never sees it: lessons check it on
/// the first line of `main`.
pub const WORKER_ENV: &str = "MODULE_09_WORKER";

/// Whether `n` is prime, by trial division: deliberately plain CPU work.
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n < 4 {
        return true;
    }
    if n.is_multiple_of(2) {
        return false;
    }
    let mut d = 3;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 2;
    }
    true
}

/// How many primes lie in `range`: the CPU-bound workload of this module.
pub fn count_primes(range: Range<u64>) -> u64 {
    range.filter(|&n| is_prime(n)).count() as u64
}

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

/// Call on the first line of a lesson's `main`: if this process was started
/// as a worker, serve tasks and exit; otherwise return and run the lesson.
pub fn run_worker_if_requested() {
    if std::env::var_os(WORKER_ENV).is_none() {
        return;
    }
    let served = serve(io::stdin().lock(), io::stdout().lock());
    // A closed pipe means the parent has gone; there is no one to tell.
    std::process::exit(if served.is_ok() { 0 } else { 1 });
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
        /// The last line the worker wrote to standard error (its panic message).
        last_words: String,
    },
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
/// The parent owns the child: [`WorkerProcess::finish`] closes its input and
/// waits for it; dropping a worker that was not finished kills and reaps it,
/// so no child outlives its owner, even on an error path.
pub struct WorkerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    reaped: bool,
}

impl WorkerProcess {
    /// Starts `program` (a lesson binary) as a worker.
    pub fn spawn(program: &Path) -> io::Result<WorkerProcess> {
        let mut child = Command::new(program)
            .env(WORKER_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Captured so a crash's panic message can be reported by the parent.
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        Ok(WorkerProcess {
            child,
            stdin: Some(stdin),
            stdout,
            reaped: false,
        })
    }

    /// Starts this very executable as a worker: what a lesson does.
    pub fn spawn_self() -> io::Result<WorkerProcess> {
        WorkerProcess::spawn(&std::env::current_exe()?)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one task and waits for its answer. If the worker dies instead,
    /// the child is reaped and [`WorkerError::Died`] says how it ended.
    pub fn request(&mut self, task: &Task) -> Result<Reply, WorkerError> {
        let sent = match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "{}", task.to_line()).and_then(|()| stdin.flush()),
            None => Err(io::Error::new(io::ErrorKind::BrokenPipe, "worker finished")),
        };
        let mut line = String::new();
        // A write into a dead worker fails with a broken pipe; reading then
        // sees the end of its output, and both mean "it died".
        let read = match sent {
            Ok(()) => self.stdout.read_line(&mut line)?,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
            Err(e) => return Err(e.into()),
        };
        if read == 0 {
            return Err(self.reap_dead());
        }
        parse_reply(line.trim_end())
    }

    /// The worker's output ended: wait for it and collect its last words.
    fn reap_dead(&mut self) -> WorkerError {
        self.stdin = None;
        let status = match self.child.wait() {
            Ok(status) => status,
            Err(e) => return WorkerError::Io(e),
        };
        self.reaped = true;
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            // The child has exited, so this read ends at once.
            let _ = pipe.read_to_string(&mut stderr);
        }
        let last_words = panic_message(&stderr).to_owned();
        WorkerError::Died {
            pid: self.child.id(),
            status,
            last_words,
        }
    }

    /// Closes the worker's input (it exits at the end of its input) and waits.
    pub fn finish(mut self) -> io::Result<ExitStatus> {
        self.stdin = None;
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
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The message of a Rust panic report (`thread '…' panicked at file:line:col:`
/// followed by the message), or the last line written if there is none.
fn panic_message(stderr: &str) -> &str {
    let mut lines = stderr.lines();
    if lines.any(|line| line.contains(" panicked at "))
        && let Some(message) = lines.next()
    {
        return message;
    }
    stderr
        .lines()
        .rfind(|line| !line.trim().is_empty())
        .unwrap_or("no message")
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
/// is driven by one parent thread blocked on its pipe. A worker that dies
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
                    results.lock().expect("no thread panics holding the lock")[i] = Some(result);
                }
                if let Some(w) = worker {
                    let _ = w.finish();
                }
            });
        }
    });
    results
        .into_inner()
        .expect("no thread panics holding the lock")
        .into_iter()
        .map(|r| r.expect("every task index was taken by exactly one thread"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primes_below_100_and_1000() {
        assert_eq!(count_primes(0..100), 25);
        assert_eq!(count_primes(0..1000), 168);
        assert!(is_prime(999_983) && !is_prime(999_981));
    }

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
        ] {
            assert_eq!(Task::parse(&task.to_line()), Ok(task));
        }
        assert!(Task::parse("fly 1").is_err());
        assert!(Task::parse("count_primes 1").is_err());
    }

    #[test]
    fn the_panic_message_is_found_among_backtrace_lines() {
        let report = "thread 'main' (7) panicked at src/lib.rs:1:2:\nworker crashed on purpose: x\nstack backtrace:\n   0: f\n";
        assert_eq!(panic_message(report), "worker crashed on purpose: x");
        assert_eq!(panic_message("just this\n"), "just this");
        assert_eq!(panic_message(""), "no message");
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
