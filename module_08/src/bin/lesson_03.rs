//! Lesson 8.3 — Thread-safe logging («Потокобезопасное логирование»)
//!
//! Log from many threads without torn or lost lines, and see which thread and
//! which task wrote each one. Python's `logging` does this with a lock in
//! every handler; in Rust the standard is `tracing` with a
//! `tracing-subscriber` fmt layer, which formats each event into a buffer
//! and hands it to the writer in one `write_all` call (tracing-subscriber
//! 0.3.23, `fmt_layer.rs`, `on_event`); `Stdout::write_all` holds stdout's
//! lock for the whole call.
//!
//! Writing is the slow part (a terminal, a disk, a pipe nobody reads). To
//! keep it off the hot path, Python puts a `QueueHandler` on the logger and
//! lets a `QueueListener` thread do the writing; in Rust the same job is
//! `tracing-appender`'s non-blocking writer, whose `WorkerGuard` plays
//! `listener.stop()` (steps `non_blocking` and `full_buffer`).
//!
//! | Python                                         | Rust                                               |
//! |------------------------------------------------|----------------------------------------------------|
//! | `logging.basicConfig(level=logging.INFO)`      | `tracing_subscriber::fmt()` … `set_global_default` |
//! | `format='%(threadName)s %(thread)d …'`         | `.with_thread_names(true).with_thread_ids(true)`   |
//! | `LOGLEVEL` read by hand from `os.environ`      | `EnvFilter` reads `RUST_LOG` (default `info` here)  |
//! | `logging.info("…")`, `logging.debug("…")`      | `info!("…")`, `debug!("…")`                         |
//! | `LoggerAdapter` / `extra={"task": id}`         | a span: `info_span!("task", id)` or `#[instrument]` |
//! | `threading.Thread(name="worker-1")`            | `thread::Builder::new().name("worker-1".into())`   |
//! | `QueueHandler(q)` + `QueueListener(q, handler)`, `start()` | `let (writer, guard) = tracing_appender::non_blocking(io::stdout());` |
//! | `listener.stop()`: waits until the queue is written | drop the `WorkerGuard` (it waits at most about 1.1 s) |
//! | `queue.Queue(-1)`: unbounded, never drops      | `lossy(false)`: 128,000 lines, then the logging thread waits |
//! | `queue.Queue(n)` full: the record is lost, "--- Logging error ---" on stderr | `lossy(true)` (the default): dropped, counted in `error_counter()` |
//!
//! - Run all steps: `cargo run -p module_08 --bin lesson_03`
//! - Run one step:  `cargo run -p module_08 --bin lesson_03 -- named_workers`
//! - More detail:   `RUST_LOG=debug cargo run -p module_08 --bin lesson_03`
//!
//! Try: run `-- levels` with `RUST_LOG=warn`, then with `RUST_LOG=trace`,
//! and compare which lines appear. In `log_off_thread`, move `drop(guard)`
//! up to right after the `let` that makes it (what `let (writer, _) = …`
//! does): its worker stops at once, and `-- non_blocking` prints none of
//! the 20 log lines; standard error gets an "Unable to write an event"
//! for each failed write, and the step still says "0 dropped", because
//! `error_counter` counts only what a lossy writer drops.

use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use step_runner::{Step, lesson_id};
use tracing::{Dispatch, Subscriber, debug, info, info_span, instrument, trace, warn};
use tracing_appender::non_blocking::NonBlockingBuilder;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The tasks of `named_workers`: (task id, n), each summing the squares 1..=n.
const TASKS: [(u32, u64); 4] = [(1, 10), (2, 100), (3, 1_000), (4, 10_000)];
/// How long each task "works" between its log lines.
const TASK_DELAY: Duration = Duration::from_millis(200);
/// The burst of `full_buffer`: threads × events each, into a buffer of
/// `BURST_BUFFER` lines, while the writer stalls for `STALL`.
const BURST_THREADS: usize = 4;
const BURST_EVENTS: usize = 50;
const BURST_BUFFER: usize = 16;
const STALL: Duration = Duration::from_millis(200);

const TITLE: &str = "Lesson 8.3 — Thread-safe logging («Потокобезопасное логирование»)";

// The unsafe Python pattern is a home-made logger: threads appending to one
// shared list or file object without a lock. Written in Rust with the
// single-threaded shared pointer, it does not compile:
//
//     let log = Rc::new(RefCell::new(Vec::<String>::new()));
//     let log2 = Rc::clone(&log);
//     thread::spawn(move || log2.borrow_mut().push("hi".into()));
//
//     error[E0277]: `Rc<RefCell<Vec<String>>>` cannot be sent between threads safely
//
// `tracing`'s subscriber is `Send + Sync` by construction: it may be called
// from any thread at any time.
//
// The error is checked by the compiler, beside the version that compiles:
// `compile_checks::lesson_03` in `module_08/src/lib.rs`
// (`cargo test -p module_08 --doc`).

/// The lesson's subscriber: one line per event with the level, the thread's
/// name and id, and the spans it happened in.
fn subscriber<W>(writer: W, filter: EnvFilter, ansi: bool) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_thread_names(true)
        .with_thread_ids(true)
        .with_target(false)
        .with_ansi(ansi)
        .finish()
}

/// `RUST_LOG` if it is set and valid, otherwise `info`.
fn filter_from_env() -> EnvFilter {
    EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env_lossy()
}

/// Spawns a named thread that logs through the caller's subscriber.
///
/// A global subscriber (`set_global_default`, as in `main`) reaches every
/// thread. A scoped one (`tracing::subscriber::with_default`, as in the
/// tests) is the *current thread's* only, so it is handed on explicitly.
fn spawn_logged<T: Send + 'static>(
    name: String,
    body: impl FnOnce() -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    let dispatch = tracing::dispatcher::get_default(Dispatch::clone);
    thread::Builder::new()
        .name(name)
        .spawn(move || tracing::dispatcher::with_default(&dispatch, body))
        .expect("the OS should let us spawn a thread")
}

/// One task. `#[instrument]` opens a span `task{id=… n=…}` around the call,
/// so every event inside names its task, whichever thread runs it.
#[instrument(name = "task", skip(delay))]
fn sum_of_squares(id: u32, n: u64, delay: Duration) -> u64 {
    info!("started");
    thread::sleep(delay);
    let sum = (1..=n).map(|k| k * k).sum();
    debug!(sum, "computed");
    thread::sleep(delay);
    info!(sum, "finished");
    sum
}

/// Each task on its own named thread `worker-<id>`. Returns (id, result).
fn named_workers(tasks: &[(u32, u64)], delay: Duration) -> Vec<(u32, u64)> {
    info!(tasks = tasks.len(), "starting the workers");
    let handles: Vec<_> = tasks
        .iter()
        .map(|&(id, n)| {
            let handle = spawn_logged(format!("worker-{id}"), move || sum_of_squares(id, n, delay));
            (id, handle)
        })
        .collect();
    let results = handles
        .into_iter()
        .map(|(id, handle)| (id, handle.join().unwrap()))
        .collect();
    info!("all workers done");
    results
}

fn show_named_workers() {
    for (id, sum) in named_workers(&TASKS, TASK_DELAY) {
        println!("task {id}: {sum}");
    }
}

/// Many threads, many events: every line comes out whole, because the fmt
/// layer formats an event completely before a single write.
fn many_threads(threads: usize, events: usize) {
    let handles: Vec<_> = (1..=threads)
        .map(|thread_no| {
            spawn_logged(format!("logger-{thread_no}"), move || {
                // An explicit span, entered for the thread's whole run.
                let _span = info_span!("job", thread_no).entered();
                for seq in 1..=events {
                    info!(seq, "event");
                    trace!("this one is filtered out unless RUST_LOG=trace");
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

fn show_many_threads() {
    many_threads(4, 5);
}

/// One event per level; `RUST_LOG` decides which ones appear.
fn levels() {
    tracing::error!("error: shown at the default level");
    warn!("warn: shown at the default level");
    info!("info: shown at the default level");
    debug!("debug: shown with RUST_LOG=debug");
    trace!("trace: shown with RUST_LOG=trace");
}

/// The non-blocking writer's buffer: how many lines it holds, and what a
/// full buffer does to a thread that logs (drop the line, or wait).
#[derive(Clone, Copy, Debug)]
struct Buffer {
    lines: usize,
    lossy: bool,
}

/// Python's `QueueHandler` + `QueueListener`: the threads of `hot_path` only
/// format their lines and put them into a channel; one thread,
/// `log-writer`, takes them out and writes them to `out`. Returns how many
/// lines the writer dropped because the buffer was full (always 0 with
/// `lossy: false`).
///
/// The formatting still happens on the thread that logs, so each line
/// names that thread (`logger-3`), not `log-writer`: in Python too,
/// `QueueHandler.prepare` formats the message on the calling thread, and
/// the record keeps its `threadName`.
fn log_off_thread<W>(out: W, buffer: Buffer, filter: EnvFilter, hot_path: impl FnOnce()) -> usize
where
    W: io::Write + Send + 'static,
{
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(buffer.lines)
        .lossy(buffer.lossy)
        .thread_name("log-writer")
        .finish(out);
    let dropped = writer.error_counter();
    tracing::subscriber::with_default(subscriber(writer, filter, false), hot_path);
    // The guard is the listener's `stop()`. Its drop queues a shutdown
    // message behind every line already sent, then waits until `log-writer`
    // has written them all and flushed `out` (tracing-appender 0.2.5,
    // `non_blocking.rs`, `Drop for WorkerGuard`, and `worker.rs`). Unlike
    // `stop()`, it waits at most about 1.1 s: up to 100 ms to get the
    // shutdown message into a full buffer (else it prints "Failed to send
    // shutdown signal" and returns), then up to 1 s for the writer to
    // finish; after that it returns anyway, and what is still queued is
    // written only if the program lives on. In a program, bind the guard
    // for the whole of `main` (`let (writer, _guard) = …`; with `_` in its
    // place it is dropped at once): lines still queued when the program
    // exits without dropping it are lost, as Python's are when `stop()` is
    // never called (the listener's thread is a daemon).
    drop(guard);
    dropped.dropped_lines()
}

fn show_non_blocking() {
    let lossless = Buffer {
        lines: tracing_appender::non_blocking::DEFAULT_BUFFERED_LINES_LIMIT,
        lossy: false,
    };
    let dropped = log_off_thread(io::stdout(), lossless, filter_from_env(), || {
        many_threads(4, 5);
    });
    println!("every line above was written by the thread `log-writer`; {dropped} dropped");
}

/// A writer that stalls on its first line until `resume` fires (a paused
/// terminal, a disk that hangs, a pipe nobody reads), then counts the
/// lines it is given instead of printing them.
struct Stalled {
    resume: Option<mpsc::Receiver<()>>,
    lines: Arc<AtomicUsize>,
}

impl io::Write for Stalled {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if let Some(resume) = self.resume.take() {
            // A message or a dropped sender both end the stall.
            let _ = resume.recv();
        }
        let lines = bytes.iter().filter(|&&b| b == b'\n').count();
        self.lines.fetch_add(lines, Ordering::Relaxed);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What `full_buffer` saw: lines written and dropped, and how long the
/// logging threads took for their burst.
#[derive(Debug)]
struct BurstReport {
    written: usize,
    dropped: usize,
    burst: Duration,
}

/// A burst of `BURST_THREADS × BURST_EVENTS` events into a buffer of
/// `BURST_BUFFER` lines while the writer stalls for `STALL`. Lossy: the
/// burst never waits, and what does not fit is dropped. Lossless: nothing is
/// dropped, and the logging threads wait for the writer instead.
///
/// Python's `QueueHandler` puts with `put_nowait`: into a full bounded
/// `queue.Queue(n)` the record is lost, and `handleError` prints
/// "--- Logging error ---" with a traceback for each one (Python 3.11,
/// checked); into the unbounded queue the docs use, nothing is lost and
/// the memory grows instead. Neither ever makes the logging thread wait.
fn full_buffer(lossy: bool, stall: Duration) -> BurstReport {
    let (resume, stalled) = mpsc::channel();
    let lines = Arc::new(AtomicUsize::new(0));
    let out = Stalled {
        resume: Some(stalled),
        lines: Arc::clone(&lines),
    };
    let buffer = Buffer {
        lines: BURST_BUFFER,
        lossy,
    };
    let mut burst = Duration::ZERO;
    let dropped = log_off_thread(out, buffer, EnvFilter::new("info"), || {
        thread::scope(|s| {
            s.spawn(|| {
                thread::sleep(stall);
                let _ = resume.send(());
            });
            let started = Instant::now();
            many_threads(BURST_THREADS, BURST_EVENTS);
            burst = started.elapsed();
            // The scope also waits for the stall to end, so the guard
            // finds the writer running again.
        });
    });
    BurstReport {
        written: lines.load(Ordering::Relaxed),
        dropped,
        burst,
    }
}

fn show_full_buffer() {
    let total = BURST_THREADS * BURST_EVENTS;
    println!("{total} events, a buffer of {BURST_BUFFER} lines, the writer stalled for {STALL:?}:");
    for (name, lossy) in [("lossy (default)", true), ("lossy(false)", false)] {
        let BurstReport {
            written,
            dropped,
            burst,
        } = full_buffer(lossy, STALL);
        println!(
            "{name:>15}: the logging threads took {:>6.1} ms; {written} lines written, {dropped} dropped",
            burst.as_secs_f64() * 1e3
        );
    }
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    // Logs go to stdout, after the step headings; colours only on a terminal.
    let ansi = io::stdout().is_terminal();
    tracing::subscriber::set_global_default(subscriber(io::stdout, filter_from_env(), ansi))
        .expect("no other subscriber should be installed yet");
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("named_workers", "named threads, a span per task, thread names and ids", show_named_workers),
        Step::new("many_threads", "4 threads × 5 events, every line whole", show_many_threads),
        Step::new("levels", "the level filter from RUST_LOG", levels),
        Step::new("non_blocking", "QueueHandler's counterpart: one thread writes, the guard flushes", show_non_blocking),
        Step::new("full_buffer", "a stalled writer: lossy drops lines, lossy(false) waits", show_full_buffer),
    ])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// An in-memory log: every clone appends to the same buffer.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().write(bytes)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Capture {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).expect("the logs should be UTF-8")
        }
    }

    /// Runs `body` with a capturing subscriber as this thread's default and
    /// returns what it logged.
    fn captured(filter: &str, body: impl FnOnce()) -> String {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = subscriber(move || writer.clone(), EnvFilter::new(filter), false);
        tracing::subscriber::with_default(subscriber, body);
        capture.text()
    }

    #[test]
    fn every_task_logs_on_its_own_named_thread() {
        let tasks = TASKS;
        let mut results = Vec::new();
        let log = captured("info", || {
            results = named_workers(&tasks, Duration::from_millis(5));
        });
        let expected: Vec<(u32, u64)> = TASKS
            .iter()
            .map(|&(id, n)| (id, n * (n + 1) * (2 * n + 1) / 6))
            .collect();
        assert_eq!(results, expected);
        for (id, sum) in expected {
            let task = format!("task{{id={id} ");
            let lines: Vec<&str> = log.lines().filter(|l| l.contains(&task)).collect();
            assert_eq!(lines.len(), 2, "started + finished for task {id}:\n{log}");
            for line in lines {
                assert!(line.contains(&format!(" worker-{id} ")), "{line}");
                assert!(line.contains("ThreadId("), "{line}");
            }
            assert!(log.contains(&format!("finished sum={sum}")), "{log}");
        }
        // `debug!` is below the `info` filter.
        assert!(!log.contains("computed"), "{log}");
        // The caller's own events carry its name (here the test's thread).
        let caller = thread::current()
            .name()
            .expect("test threads should be named")
            .to_owned();
        assert!(
            log.lines()
                .any(|l| l.contains(&caller) && l.contains("all workers done")),
            "{log}"
        );
    }

    #[test]
    fn the_filter_decides_which_levels_appear() {
        let info = captured("info", levels);
        assert!(info.contains("error: shown") && info.contains("info: shown"));
        assert!(!info.contains("debug: shown") && !info.contains("trace: shown"));
        let debug = captured("debug", levels);
        assert!(debug.contains("debug: shown") && !debug.contains("trace: shown"));
        let warn = captured("warn", levels);
        assert!(warn.contains("warn: shown") && !warn.contains("info: shown"));
    }

    /// Every `(thread_no, seq)` that `many_threads` logged, failing on a
    /// torn or doubled line.
    fn events_seen(log: &str) -> BTreeSet<(usize, usize)> {
        let mut seen = BTreeSet::new();
        for line in log.lines() {
            // `… INFO logger-3 ThreadId(07) job{thread_no=3}: event seq=42`
            let (_, job) = line.split_once("job{thread_no=").expect(line);
            let (thread_no, rest) = job.split_once("}: event seq=").expect(line);
            assert!(line.contains(&format!(" logger-{thread_no} ")), "{line}");
            let thread_no: usize = thread_no.parse().expect(line);
            let seq: usize = rest.parse().expect(line);
            assert!(seen.insert((thread_no, seq)), "duplicate line: {line}");
        }
        seen
    }

    fn all_events(threads: usize, events: usize) -> BTreeSet<(usize, usize)> {
        (1..=threads)
            .flat_map(|t| (1..=events).map(move |s| (t, s)))
            .collect()
    }

    const THREADS: usize = 8;
    const EVENTS: usize = 500;

    #[test]
    fn many_threads_lose_and_tear_no_line() {
        let log = course_tests::deadline(Duration::from_secs(20), || {
            captured("info", || many_threads(THREADS, EVENTS))
        });
        assert_eq!(events_seen(&log), all_events(THREADS, EVENTS));
    }

    #[test]
    fn the_guards_drop_leaves_every_line_written() {
        // Lossless with a buffer far smaller than the burst, and lossy with
        // the default buffer, larger than the burst: either way, every line
        // is in `out` once `log_off_thread` has dropped its guard. (The
        // guard waits at most 1 s for the writer; writing these 4,000 lines
        // to memory takes milliseconds.) With the guard forgotten instead
        // of dropped, or dropped before the logging, lines are missing.
        let buffers = [
            Buffer {
                lines: 4,
                lossy: false,
            },
            Buffer {
                lines: tracing_appender::non_blocking::DEFAULT_BUFFERED_LINES_LIMIT,
                lossy: true,
            },
        ];
        for buffer in buffers {
            let capture = Capture::default();
            let out = capture.clone();
            let dropped = course_tests::deadline(Duration::from_secs(20), move || {
                log_off_thread(out, buffer, EnvFilter::new("info"), || {
                    many_threads(THREADS, EVENTS);
                })
            });
            assert_eq!(dropped, 0, "{buffer:?}");
            assert_eq!(
                events_seen(&capture.text()),
                all_events(THREADS, EVENTS),
                "{buffer:?}"
            );
        }
    }

    #[test]
    fn a_full_lossy_buffer_drops_and_counts_lines_without_waiting() {
        // The writer stays stalled until the whole burst has been logged,
        // so the burst must not wait for it (if it did, the deadline would
        // fire). The writer holds one line, the buffer 16; every other line
        // is dropped and counted.
        const BUFFER: usize = 16;
        let (resume, stalled) = mpsc::channel();
        let lines = Arc::new(AtomicUsize::new(0));
        let out = Stalled {
            resume: Some(stalled),
            lines: Arc::clone(&lines),
        };
        let buffer = Buffer {
            lines: BUFFER,
            lossy: true,
        };
        let dropped = course_tests::deadline(Duration::from_secs(20), move || {
            log_off_thread(out, buffer, EnvFilter::new("info"), || {
                many_threads(4, 50);
                resume
                    .send(())
                    .expect("the writer should be waiting for this");
            })
        });
        let written = lines.load(Ordering::Relaxed);
        assert_eq!(written + dropped, 200);
        // 17 when the writer took the first line before the buffer filled,
        // 16 when the buffer filled first and the burst ended before the
        // writer took a line out.
        assert!(
            written == BUFFER || written == BUFFER + 1,
            "{written} written"
        );
    }

    #[test]
    fn a_lossless_writer_drops_nothing_from_a_burst() {
        let report = course_tests::deadline(Duration::from_secs(20), || {
            full_buffer(false, Duration::from_millis(20))
        });
        assert_eq!(report.dropped, 0, "{report:?}");
        assert_eq!(report.written, BURST_THREADS * BURST_EVENTS, "{report:?}");
    }

    #[test]
    fn a_scoped_subscriber_does_not_follow_a_plain_thread() {
        // The pitfall `spawn_logged` avoids: a plain spawned thread does not
        // see the test's scoped subscriber, so its event goes nowhere.
        let log = captured("info", || {
            thread::spawn(|| info!("lost")).join().unwrap();
            spawn_logged("kept".into(), || info!("kept"))
                .join()
                .unwrap();
        });
        assert!(!log.contains("lost") && log.contains(" kept "), "{log}");
    }
}
