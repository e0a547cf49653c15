//! Lesson 9.4 — Run one task, non-blocking (apply_async) («Асинхронное выполнение одиночной задачи»)
//!
//! `pool.apply_async(f, args, callback, error_callback)` submits one task and
//! returns at once with an `AsyncResult`; the callbacks run when the task
//! ends. rayon's `pool.spawn` is the fire-and-forget half; a one-slot channel
//! carries the result back, which is all an `AsyncResult` is.
//!
//! | Python                                            | Rust                                                        |
//! |---------------------------------------------------|-------------------------------------------------------------|
//! | `res = pool.apply_async(f, (x,))`                 | `pool.spawn(move \|\| { let _ = tx.send(f(x)); })` + `rx`     |
//! | `apply_async(..., callback=cb)`                   | call `cb(&value)` in the task after `f` returns `Ok`        |
//! | `apply_async(..., error_callback=ecb)`            | call `ecb(&error)` on `Err`, or on a panic (`catch_unwind`) |
//! | `res.get(timeout=1)`                              | `rx.recv_timeout(Duration::from_secs(1))`                   |
//! | `res.ready()`, `res.get()` again                  | the outcome kept after the first `recv` (`AsyncResult`)     |
//! | `multiprocessing.TimeoutError`                    | `RecvTimeoutError::Timeout`                                 |
//!
//! Python runs callbacks on the pool's result-handler thread in the parent;
//! here they run on the worker thread right after the task. Either way they
//! must be quick, and they must not block on the pool. A callback that
//! raises kills Python's result-handler thread: that `get()` and every later
//! one never return (tried on 3.11). Here a panicking callback is caught, and
//! `get` reports it as `GetError::CallbackPanicked`.
//!
//! Python's pool runs the tasks in worker processes; this lesson runs them
//! on rayon's threads. Python needs processes because its GIL lets one
//! thread at a time run Python code; Rust's threads run in parallel on every
//! core, so a thread pool is the Rust equivalent (9.1, 9.2 and 9.13 show
//! real processes, for isolation).
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_04`
//! - Run one step:  `cargo run -p module_09 --bin lesson_04 -- get_with_timeout`
//!
//! Try: in `show_get_with_timeout`, pass `DELAY / 2` as the task's time
//! (the second argument): the first `get` no longer times out and all three
//! return `Ok(144)`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use module_09::panic_message;
use rayon::{ThreadPool, ThreadPoolBuilder};
use step_runner::{Sink, Step, lesson_id};

/// What `AsyncResult::get` can report instead of a value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum GetError {
    /// The task has not finished yet; the handle stays usable.
    Timeout,
    /// The task returned an error or panicked.
    Failed(String),
    /// The task ended, but the callback (or error callback) panicked.
    CallbackPanicked(String),
}

/// Python's `AsyncResult`: the receiving end of the task's one-slot channel,
/// and the outcome kept once it has arrived, so that `get` returns it again
/// and `ready` stays true, as in Python. (A bare channel hands the value
/// over once; that is all many callers need.)
struct AsyncResult<T> {
    rx: Receiver<Result<T, GetError>>,
    /// Held while receiving: two threads in `get` never both wait for the
    /// one message.
    outcome: Mutex<Option<Result<T, GetError>>>,
}

impl<T: Clone> AsyncResult<T> {
    fn new(rx: Receiver<Result<T, GetError>>) -> Self {
        AsyncResult {
            rx,
            outcome: Mutex::new(None),
        }
    }

    /// Whether the task has ended; stays true from then on.
    fn ready(&self) -> bool {
        !matches!(self.get(Duration::ZERO), Err(GetError::Timeout))
    }

    fn get(&self, timeout: Duration) -> Result<T, GetError> {
        let mut outcome = self.outcome.lock().unwrap();
        if outcome.is_none() {
            *outcome = Some(match self.rx.recv_timeout(timeout) {
                Ok(answer) => answer,
                Err(RecvTimeoutError::Timeout) => return Err(GetError::Timeout),
                // The task sends before it ends; this is a task that never ran.
                Err(RecvTimeoutError::Disconnected) => {
                    Err(GetError::Failed("the task was dropped unrun".to_owned()))
                }
            });
        }
        outcome.clone().expect("filled above")
    }
}

/// `pool.apply_async(task, callback=..., error_callback=...)`: returns at
/// once; exactly one of the callbacks runs when the task ends, and `get`
/// always gets an answer, whatever the task and the callbacks do (short of
/// never returning).
fn apply_async<T, F, C, E>(
    pool: &ThreadPool,
    task: F,
    callback: C,
    error_callback: E,
) -> AsyncResult<T>
where
    T: Clone + Send + 'static,
    F: FnOnce() -> Result<T, String> + Send + 'static,
    C: FnOnce(&T) + Send + 'static,
    E: FnOnce(&str) + Send + 'static,
{
    // One slot: the task never waits to hand over its result.
    let (tx, rx) = crossbeam_channel::bounded(1);
    // `spawn` needs `'static` closures: the task may outlive this call, so it
    // owns everything it uses (Python pickles the arguments instead).
    pool.spawn(move || {
        // A panic that leaves a `spawn`ed closure aborts the whole process:
        // no one waits to receive it, and a pool without a `panic_handler`
        // aborts (rayon-core's `ThreadPoolBuilder::panic_handler` docs). So
        // nothing here may unwind: the task and the callbacks each run under
        // `catch_unwind`, and a task's panic becomes an error, as Python
        // treats an exception.
        let outcome =
            catch_unwind(AssertUnwindSafe(task)).unwrap_or_else(|p| Err(panic_message(p.as_ref())));
        // Exactly one callback runs; if it panics, the other does not run.
        let called_back = catch_unwind(AssertUnwindSafe(|| match &outcome {
            Ok(value) => callback(value),
            Err(message) => error_callback(message),
        }));
        let answer = match called_back {
            Err(p) => Err(GetError::CallbackPanicked(panic_message(p.as_ref()))),
            Ok(()) => outcome.map_err(GetError::Failed),
        };
        // The caller may have dropped its `AsyncResult`: nobody to tell.
        let _ = tx.send(answer);
    });
    AsyncResult::new(rx)
}

fn pool(threads: usize) -> ThreadPool {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the OS can start the pool's threads")
}

fn slow_square(x: u64, delay: Duration) -> Result<u64, String> {
    thread::sleep(delay);
    Ok(x * x)
}

/// Everything one step saw, for printing and for the tests.
#[derive(Debug, Default)]
struct Report {
    results: Vec<Result<u64, GetError>>,
    /// Lines written by the callbacks, sorted (`with_error_callback`).
    callback_log: Vec<String>,
}

/// Submit five slow squares with a callback each; collect later. The
/// callbacks report to `sink` the moment they run, before `get` is called.
fn with_callback(pool: &ThreadPool, numbers: &[u64], delay: Duration, sink: &Arc<Sink>) -> Report {
    let started = Instant::now();
    let handles: Vec<AsyncResult<u64>> = numbers
        .iter()
        .map(|&x| {
            let (sink, error_sink) = (Arc::clone(sink), Arc::clone(sink));
            apply_async(
                pool,
                move || slow_square(x, delay),
                move |v: &u64| sink.note(format!("callback: {x}² = {v}")),
                move |e: &str| error_sink.note(format!("error callback: {e}")),
            )
        })
        .collect();
    let submit_time = started.elapsed();
    let ready_after_submit = handles.iter().any(AsyncResult::ready);
    let count = numbers.len();
    sink.note(format!(
        "submitted {count} tasks in {submit_time:.2?}; any ready yet? {ready_after_submit}"
    ));
    let results = handles
        .iter()
        .map(|h| h.get(Duration::from_secs(60)))
        .collect();
    Report {
        results,
        ..Report::default()
    }
}

fn show_with_callback() {
    let r = with_callback(&pool(2), &NUMBERS, DELAY, &Arc::new(Sink::stdout()));
    println!("get() in submission order: {:?}", r.results);
}

/// A task that can fail, and one that panics: the error callback gets both.
fn with_error_callback(pool: &ThreadPool, inputs: &[i64]) -> Report {
    let log = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<AsyncResult<u64>> = inputs
        .iter()
        .map(|&x| {
            let log = Arc::clone(&log);
            let error_log = Arc::clone(&log);
            apply_async(
                pool,
                move || match x {
                    // A bug rather than an error: the panic is caught in the task.
                    i64::MIN => panic!("cannot negate {x}"),
                    x if x < 0 => Err(format!("{x} is negative")),
                    x => Ok(x.unsigned_abs().isqrt()),
                },
                move |v: &u64| {
                    log.lock()
                        .unwrap()
                        .push(format!("callback: isqrt({x}) = {v}"))
                },
                move |e: &str| {
                    error_log
                        .lock()
                        .unwrap()
                        .push(format!("error callback: {e}"))
                },
            )
        })
        .collect();
    let results = handles
        .iter()
        .map(|h| h.get(Duration::from_secs(60)))
        .collect();
    let mut callback_log = log.lock().unwrap().clone();
    // Callbacks race with each other; sort so the output is stable.
    callback_log.sort();
    Report {
        results,
        callback_log,
    }
}

fn show_with_error_callback() {
    // The tests also feed `i64::MIN`, whose panic is caught the same way.
    let r = with_error_callback(&pool(2), &[16, -9, 50]);
    for line in &r.callback_log {
        println!("{line}");
    }
    println!("get(): {:?}", r.results);
}

/// `res.get(timeout=...)` on a task that takes longer: a timeout, then the
/// value once it is ready, then the same value again, as in Python.
fn get_with_timeout(
    pool: &ThreadPool,
    task_time: Duration,
    timeout: Duration,
) -> Vec<Result<u64, GetError>> {
    let handle = apply_async(pool, move || slow_square(12, task_time), |_| {}, |_| {});
    vec![
        handle.get(timeout),
        handle.get(Duration::from_secs(60)),
        handle.get(Duration::ZERO),
    ]
}

fn show_get_with_timeout() {
    let [early, late, again] = get_with_timeout(&pool(2), DELAY * 2, DELAY)
        .try_into()
        .expect("three gets");
    println!("get after {DELAY:?}: {early:?}");
    println!("get, waiting longer: {late:?}");
    println!("get once more: {again:?}");
}

const NUMBERS: [u64; 5] = [1, 2, 3, 4, 5];
const DELAY: Duration = Duration::from_millis(300);

const TITLE: &str = "Lesson 9.4 — Run one task, non-blocking (apply_async) («Асинхронное выполнение одиночной задачи»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("with_callback", "submit five tasks, each with a callback", show_with_callback),
        Step::new("with_error_callback", "a failing task runs the error callback", show_with_error_callback),
        Step::new("get_with_timeout", "get(timeout) before and after the task ends", show_get_with_timeout),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn apply_async_returns_before_the_task_can_finish() {
        course_tests::deadline(Duration::from_secs(30), || {
            let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
            let handle = apply_async(
                &pool(2),
                // The task cannot finish until the caller opens the gate, so
                // returning at all proves the call did not wait for it.
                move || gate_rx.recv().map(|()| 7).map_err(|e| e.to_string()),
                |_| {},
                |_| {},
            );
            assert!(!handle.ready());
            assert_eq!(
                handle.get(Duration::from_millis(10)),
                Err(GetError::Timeout)
            );
            gate_tx.send(()).unwrap();
            assert_eq!(handle.get(Duration::from_secs(20)), Ok(7));
        });
    }

    #[test]
    fn results_come_back_in_submission_order() {
        let sink = Arc::new(Sink::collect());
        let r = with_callback(&pool(2), &NUMBERS, Duration::from_millis(5), &sink);
        assert_eq!(r.results, vec![Ok(1), Ok(4), Ok(9), Ok(16), Ok(25)]);
        let mut log = sink.lines();
        log.retain(|l| l.starts_with("callback: "));
        log.sort();
        let expected = ["1² = 1", "2² = 4", "3² = 9", "4² = 16", "5² = 25"];
        assert_eq!(log, expected.map(|e| format!("callback: {e}")));
    }

    #[test]
    fn each_task_runs_exactly_one_callback() {
        course_tests::deadline(Duration::from_secs(30), || {
            let ok = Arc::new(AtomicUsize::new(0));
            let failed = Arc::new(AtomicUsize::new(0));
            let p = pool(2);
            let handles: Vec<_> = (0..20i64)
                .map(|i| {
                    let (ok, failed) = (Arc::clone(&ok), Arc::clone(&failed));
                    apply_async(
                        &p,
                        move || match i % 4 {
                            0 => Err(format!("{i} failed")),
                            1 => panic!("{i} panicked"),
                            _ => Ok(i),
                        },
                        move |_| {
                            ok.fetch_add(1, Ordering::SeqCst);
                        },
                        move |_| {
                            failed.fetch_add(1, Ordering::SeqCst);
                        },
                    )
                })
                .collect();
            let outcomes: Vec<_> = handles
                .iter()
                .map(|h| h.get(Duration::from_secs(20)))
                .collect();
            // The callback runs before the result is sent, so all have run now.
            assert_eq!(ok.load(Ordering::SeqCst), 10);
            assert_eq!(failed.load(Ordering::SeqCst), 10);
            assert_eq!(outcomes[1], Err(GetError::Failed("1 panicked".into())));
            assert_eq!(outcomes[4], Err(GetError::Failed("4 failed".into())));
            assert_eq!(outcomes[6], Ok(6));
        });
    }

    #[test]
    fn panicking_callbacks_neither_abort_nor_lose_the_answer() {
        course_tests::deadline(Duration::from_secs(30), || {
            let calls = Arc::new(AtomicUsize::new(0));
            let p = pool(2);
            let handles: Vec<_> = (0..8i64)
                .map(|i| {
                    let (ok_calls, error_calls) = (Arc::clone(&calls), Arc::clone(&calls));
                    apply_async(
                        &p,
                        move || {
                            if i % 2 == 0 {
                                Ok(i)
                            } else {
                                Err(format!("{i} failed"))
                            }
                        },
                        move |v: &i64| {
                            ok_calls.fetch_add(1, Ordering::SeqCst);
                            panic!("callback choked on {v}")
                        },
                        move |e: &str| {
                            error_calls.fetch_add(1, Ordering::SeqCst);
                            panic!("error callback choked on {e}")
                        },
                    )
                })
                .collect();
            let outcomes: Vec<_> = handles
                .iter()
                .map(|h| h.get(Duration::from_secs(20)))
                .collect();
            // One callback per task, though every one of them panicked.
            assert_eq!(calls.load(Ordering::SeqCst), 8);
            assert_eq!(
                outcomes[0],
                Err(GetError::CallbackPanicked("callback choked on 0".into()))
            );
            assert_eq!(
                outcomes[1],
                Err(GetError::CallbackPanicked(
                    "error callback choked on 1 failed".into()
                ))
            );
            // The pool's threads survived: it still runs tasks.
            let after = apply_async(&p, || Ok(42), |_| {}, |_| {});
            assert_eq!(after.get(Duration::from_secs(20)), Ok(42));
        });
    }

    #[test]
    fn errors_and_panics_reach_the_error_callback() {
        let r = with_error_callback(&pool(2), &[16, -9, i64::MIN, 50]);
        assert_eq!(
            r.results,
            vec![
                Ok(4),
                Err(GetError::Failed("-9 is negative".into())),
                Err(GetError::Failed(format!("cannot negate {}", i64::MIN))),
                Ok(7),
            ]
        );
        assert_eq!(
            r.callback_log
                .iter()
                .filter(|l| l.starts_with("error callback"))
                .count(),
            2
        );
        assert_eq!(
            r.callback_log
                .iter()
                .filter(|l| l.starts_with("callback"))
                .count(),
            2
        );
    }

    #[test]
    fn get_times_out_then_returns_the_value_every_time() {
        let results = get_with_timeout(
            &pool(2),
            Duration::from_millis(200),
            Duration::from_millis(1),
        );
        assert_eq!(results, vec![Err(GetError::Timeout), Ok(144), Ok(144)]);
    }
}
