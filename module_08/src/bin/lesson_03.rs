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
//! | Python                                         | Rust                                               |
//! |------------------------------------------------|----------------------------------------------------|
//! | `logging.basicConfig(level=logging.INFO)`      | `tracing_subscriber::fmt()` … `set_global_default` |
//! | `format='%(threadName)s %(thread)d …'`         | `.with_thread_names(true).with_thread_ids(true)`   |
//! | `LOGLEVEL` read by hand from `os.environ`      | `EnvFilter` reads `RUST_LOG` (default `info` here)  |
//! | `logging.info("…")`, `logging.debug("…")`      | `info!("…")`, `debug!("…")`                         |
//! | `LoggerAdapter` / `extra={"task": id}`         | a span: `info_span!("task", id)` or `#[instrument]` |
//! | `threading.Thread(name="worker-1")`            | `thread::Builder::new().name("worker-1".into())`   |
//!
//! Run all steps: `cargo run -p module_08 --bin lesson_03`
//! Run one step:  `cargo run -p module_08 --bin lesson_03 -- named_workers`
//! More detail:   `RUST_LOG=debug cargo run -p module_08 --bin lesson_03`
//!
//! Try: run `-- levels` with `RUST_LOG=warn`, then with `RUST_LOG=trace`,
//! and compare which lines appear; then `-- many_threads` with
//! `RUST_LOG=trace` shows the events filtered out by default.

use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use step_runner::{Step, lesson_id};
use tracing::{Dispatch, Subscriber, debug, info, info_span, instrument, trace, warn};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The tasks of `named_workers`: (task id, n), each summing the squares 1..=n.
const TASKS: [(u32, u64); 4] = [(1, 10), (2, 100), (3, 1_000), (4, 10_000)];
/// How long each task "works" between its log lines.
const TASK_DELAY: Duration = Duration::from_millis(200);

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
        .expect("spawning a thread")
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
        .map(|(id, handle)| (id, handle.join().expect("a worker panicked")))
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
        handle.join().expect("a logging thread panicked");
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

fn main() -> ExitCode {
    // Logs go to stdout, after the step headings; colours only on a terminal.
    let ansi = io::stdout().is_terminal();
    tracing::subscriber::set_global_default(subscriber(io::stdout, filter_from_env(), ansi))
        .expect("no other subscriber is installed");
    step_runner::run(
        lesson_id!(),
        "Lesson 8.3 — Thread-safe logging («Потокобезопасное логирование»)",
        &[
            Step::new(
                "named_workers",
                "named threads, a span per task, thread names and ids",
                show_named_workers,
            ),
            Step::new(
                "many_threads",
                "4 threads × 5 events, every line whole",
                show_many_threads,
            ),
            Step::new("levels", "the level filter from RUST_LOG", levels),
        ],
    )
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
            String::from_utf8(self.0.lock().unwrap().clone()).expect("logs are UTF-8")
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
            .expect("test threads are named")
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

    #[test]
    fn many_threads_lose_and_tear_no_line() {
        const THREADS: usize = 8;
        const EVENTS: usize = 500;
        let log = course_tests::deadline(Duration::from_secs(20), || {
            captured("info", || many_threads(THREADS, EVENTS))
        });
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
        let expected: BTreeSet<_> = (1..=THREADS)
            .flat_map(|t| (1..=EVENTS).map(move |s| (t, s)))
            .collect();
        assert_eq!(seen, expected);
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
