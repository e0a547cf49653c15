//! Lesson 1.6 — Waiting for a thread to finish («Ожидание выполнения потока»)
//!
//! `join` blocks until a thread ends and hands back what it returned, or the
//! panic that ended it. std has no `join(timeout)`: to wait with a deadline,
//! poll `JoinHandle::is_finished` or let the thread signal its end over a
//! channel and wait with `recv_timeout`.
//!
//! | Python                                  | Rust                                                  |
//! |-----------------------------------------|-------------------------------------------------------|
//! | `t.join()`                              | `handle.join()` → `Result<T, Box<dyn Any + Send>>`    |
//! | `t.join(timeout=2)` then `t.is_alive()` | poll `handle.is_finished()` until a deadline          |
//! |                                         | or `rx.recv_timeout(d)` on a channel the thread drops |
//! | an exception in a thread: traceback printed, `join()` returns normally | a panic: message printed, `join()` returns `Err(payload)` |
//! | `t.start()` again: `RuntimeError`, a thread runs once | no way to ask: `spawn` consumes the closure; spawn a new thread |
//! | a loop that restarts a dead thread       | a supervisor that joins the ended worker and spawns a fresh one |
//!
//! - Run all steps: `cargo run -p module_01 --bin lesson_06`
//! - Run one step:  `cargo run -p module_01 --bin lesson_06 -- step_14`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `finished_within`, delete `let _ended = ended_tx;` and run
//! `-- recv_timeout`: even the 2 s wait now reports `false`. Who holds the
//! sender now, and when is it dropped? Make `random_fate` return
//! `Fate::Panic` always and run `-- supervisor`: a new worker every round,
//! each panic on stderr, and the supervisor keeps going.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use step_runner::{Sink, Step, lesson_id};

/// Step 14 — one thread prints 1..=5 every `fast`, another a..=e every
/// `slow`; `main` joins both and then says it is done.
///
/// Each thread returns what it printed, and `join` hands that back: no
/// shared list needed. The timing follows the exercise (letters every 1 s);
/// the lecture's version prints the letters every 0.5 s, like the digits.
fn step_14(fast: Duration, slow: Duration, sink: &Sink) -> (Vec<char>, Vec<char>) {
    let (digits, letters) = thread::scope(|s| {
        let printer = |items: Vec<char>, pause: Duration| {
            s.spawn(move || {
                for &item in &items {
                    thread::sleep(pause);
                    sink.note(item);
                }
                items
            })
        };
        let digits = printer(vec!['1', '2', '3', '4', '5'], fast);
        let letters = printer(vec!['a', 'b', 'c', 'd', 'e'], slow);
        (digits.join().unwrap(), letters.join().unwrap())
    });
    sink.note("Done!");
    (digits, letters)
}

fn show_step_14() {
    step_14(
        Duration::from_millis(500),
        Duration::from_secs(1),
        &Sink::stdout(),
    );
}

/// Waits up to `timeout` for the thread to end by polling `is_finished`.
///
/// Returns the join result if it ended in time, or the handle back if it is
/// still running, so the caller can decide: wait more, or let it go.
fn join_timeout<T>(
    handle: JoinHandle<T>,
    timeout: Duration,
) -> Result<thread::Result<T>, JoinHandle<T>> {
    let deadline = Instant::now() + timeout;
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return Err(handle);
        }
        // Polling trades latency for simplicity; 10 ms is plenty for a demo.
        thread::sleep(Duration::from_millis(10));
    }
    // Finished, so this does not block.
    Ok(handle.join())
}

/// Lecture demo (1.6, second) — the thread works for `work` (the course's
/// 5 s); `main` waits for it at most `timeout` (2 s), then looks once a
/// `tick` (1 s) until it has ended, saying so each time it has not.
///
/// The thread reports through the same sink, so it is shared in an `Arc`:
/// `join_timeout` takes a plain `JoinHandle`, whose thread must own what it
/// uses.
fn wait_then_poll(work: Duration, timeout: Duration, tick: Duration, sink: &Arc<Sink>) {
    let worker_sink = Arc::clone(sink);
    let mut worker = thread::spawn(move || {
        thread::sleep(work);
        worker_sink.note("the new thread is done");
    });
    let mut wait = timeout;
    let result = loop {
        match join_timeout(worker, wait) {
            Ok(result) => break result,
            Err(still_running) => {
                sink.note("the thread has not finished");
                (worker, wait) = (still_running, tick);
            }
        }
    };
    result.unwrap();
    sink.note("the thread has finished");
}

fn show_join_timeout() {
    let (work, timeout, tick) = (secs(5), secs(2), secs(1));
    wait_then_poll(work, timeout, tick, &Arc::new(Sink::stdout_timed()));
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Waits with a deadline without polling: the thread owns a `Sender` it never
/// uses. When the thread ends, normally or by panicking, the sender is
/// dropped and `recv_timeout` reports `Disconnected` at once.
///
/// Returns `true` if the thread finished within `timeout`.
fn finished_within(work: Duration, timeout: Duration) -> bool {
    let (ended_tx, ended_rx) = mpsc::channel::<()>();
    let worker = thread::spawn(move || {
        let _ended = ended_tx;
        thread::sleep(work);
    });
    let finished = match ended_rx.recv_timeout(timeout) {
        Err(RecvTimeoutError::Disconnected) => true,
        Err(RecvTimeoutError::Timeout) => false,
        Ok(()) => unreachable!("nothing is ever sent"),
    };
    // Not joining would leave the worker running on after this function;
    // here we wait for it so the demo ends tidily.
    worker.join().unwrap();
    finished
}

/// A panic in a thread ends only that thread; `join` returns the panic
/// payload as an `Err`, usually a `&str` or a `String`.
///
/// As in the lecture's first demo, the thread works for `work` (1 s), says
/// which thread fails, then fails. Python's thread is `Thread-1
/// (task_error)`; this one was spawned without a name.
fn panic_message(work: Duration, message: &'static str) -> Option<String> {
    let handle = thread::spawn(move || -> u32 {
        thread::sleep(work);
        let me = thread::current();
        let name = me.name().unwrap_or("<unnamed>");
        println!("a panic in thread {name} ({:?})", me.id());
        panic!("{message}")
    });
    handle.join().err().map(payload_text)
}

/// The text of a panic payload: `panic!` with a literal gives a `&str`,
/// with format arguments a `String`.
fn payload_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a payload that is not text".to_owned())
}

fn show_recv_timeout() {
    let work = Duration::from_millis(400);
    for timeout in [Duration::from_millis(100), Duration::from_secs(2)] {
        let finished = finished_within(work, timeout);
        println!("{work:?} of work, waited up to {timeout:?}: finished in time: {finished}");
    }
}

fn show_panic_in_thread() {
    // The default panic hook prints the panic to stderr first, as Python
    // prints a thread's traceback.
    match panic_message(Duration::from_secs(1), "something went wrong...") {
        Some(message) => {
            println!("join returned Err: the thread panicked with {message:?}")
        }
        None => println!("the thread did not panic"),
    }
    println!("main carries on");
}

/// What a worker does in one round of `supervise`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Work,
    Finish,
    Panic,
}

/// The lecture's odds: a worker stops in a round with probability 0.25.
/// Here 0.15 of the stops are an ordinary return and 0.10 a panic, so the
/// supervisor meets both.
fn random_fate() -> Fate {
    match rand::random::<f64>() {
        r if r < 0.15 => Fate::Finish,
        r if r < 0.25 => Fate::Panic,
        _ => Fate::Work,
    }
}

/// A worker: each `tick` it asks `fate` what to do, until `stop` is set.
fn worker(
    id: u32,
    tick: Duration,
    stop: &AtomicBool,
    fate: &(dyn Fn() -> Fate + Sync),
    sink: &Sink,
) {
    while !stop.load(Ordering::Relaxed) {
        match fate() {
            Fate::Work => sink.note(format!("worker {id}: working")),
            Fate::Finish => return sink.note(format!("worker {id}: stops")),
            Fate::Panic => panic!("worker {id} failed"),
        }
        thread::sleep(tick);
    }
}

/// Lecture "Как перезапустить поток" (how to restart a thread) — a thread
/// runs once: Python's `start()` on a finished thread raises `RuntimeError`
/// ("threads can only be started once"), and a Rust `spawn` consumes its
/// closure, so there is nothing to start again. What can be restarted is
/// the *work*: a supervisor checks its worker once a `tick` (the course's
/// 1 s) for `rounds` rounds (10) and, when the worker has ended, joins it,
/// says how it ended (returned, or panicked with which message) and spawns
/// a fresh one. At the end it tells the last worker to stop and joins it.
///
/// A panic ends only the worker's thread; `join` hands the supervisor the
/// payload, which is what lets it keep going (the default hook still prints
/// the panic on stderr, as Python prints the traceback). The lecture's
/// second demo keeps ten workers, but starts a new thread for each of them
/// every second without asking whether the old one has ended; its workers
/// never sleep and are over within a moment, so that goes unnoticed there.
/// Asking first, as here, keeps one worker per slot however long it works.
/// Returns how many workers were started. The flag needs no ordering beyond `Relaxed`: it
/// carries no data, and `join` orders everything the worker did.
fn supervise(rounds: u32, tick: Duration, fate: &(dyn Fn() -> Fate + Sync), sink: &Sink) -> u32 {
    // `stop` is a reference to a flag that lives until the scope ends; the
    // `move` closures below copy the reference, not the flag, so every
    // worker sees the one flag.
    let stop = &AtomicBool::new(false);
    thread::scope(|s| {
        let start = |id: u32| {
            thread::Builder::new()
                .name(format!("worker-{id}"))
                .spawn_scoped(s, move || worker(id, tick, stop, fate, sink))
                .expect("the OS should have room for one more thread")
        };
        let mut id = 1;
        let mut current = start(id);
        for _ in 0..rounds {
            if current.is_finished() {
                let how = ended(current.join());
                sink.note(format!(
                    "supervisor: worker {id} {how}; starting worker {}",
                    id + 1
                ));
                id += 1;
                current = start(id);
            }
            thread::sleep(tick);
        }
        stop.store(true, Ordering::Relaxed);
        let how = ended(current.join());
        sink.note(format!("supervisor: told worker {id} to stop; it {how}"));
        id
    })
}

/// How a worker's thread ended, from its `join` result.
fn ended(result: thread::Result<()>) -> String {
    match result {
        Ok(()) => "returned".to_owned(),
        Err(payload) => format!("panicked: {}", payload_text(payload)),
    }
}

fn show_supervisor() {
    let started = supervise(
        10,
        Duration::from_secs(1),
        &random_fate,
        &Sink::stdout_timed(),
    );
    println!("workers started: {started}");
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 1.6 — Waiting for a thread to finish («Ожидание выполнения потока»)",
        &[
            Step::new(
                "panic_in_thread",
                "join returns a panic as Err",
                show_panic_in_thread,
            ),
            Step::new(
                "join_timeout",
                "wait with a deadline, then poll",
                show_join_timeout,
            ),
            Step::new("step_14", "join two printers, then say done", show_step_14),
            Step::new("recv_timeout", "a deadline on a channel", show_recv_timeout),
            Step::new("supervisor", "restart a worker that ended", show_supervisor),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    const LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn step_14_returns_what_each_thread_printed() {
        let ((digits, letters), lines) = deadline(LIMIT, || {
            let sink = Sink::collect();
            let printed = step_14(Duration::from_millis(2), Duration::from_millis(4), &sink);
            (printed, sink.lines())
        });
        assert_eq!(digits, ['1', '2', '3', '4', '5']);
        assert_eq!(letters, ['a', 'b', 'c', 'd', 'e']);
        assert_eq!(lines.len(), 11);
        assert_eq!(lines[10], "Done!");
        let of = |set: &str| -> String {
            lines
                .iter()
                .filter(|l| set.contains(l.as_str()))
                .cloned()
                .collect()
        };
        assert_eq!(of("12345"), "12345");
        assert_eq!(of("abcde"), "abcde");
    }

    #[test]
    fn wait_then_poll_reports_until_the_thread_is_done() {
        let lines = deadline(LIMIT, || {
            let sink = Arc::new(Sink::collect());
            let ms = Duration::from_millis;
            wait_then_poll(ms(300), ms(20), ms(20), &sink);
            sink.lines()
        });
        let (last_two, waits) = (&lines[lines.len() - 2..], &lines[..lines.len() - 2]);
        assert_eq!(
            last_two,
            ["the new thread is done", "the thread has finished"]
        );
        assert!(!waits.is_empty(), "300 ms of work outlasts a 20 ms wait");
        assert!(
            waits.iter().all(|l| l == "the thread has not finished"),
            "{lines:?}"
        );
    }

    #[test]
    fn wait_then_poll_without_waiting_when_the_thread_is_quick() {
        let lines = deadline(LIMIT, || {
            let sink = Arc::new(Sink::collect());
            wait_then_poll(Duration::ZERO, LIMIT, LIMIT, &sink);
            sink.lines()
        });
        assert_eq!(lines, ["the new thread is done", "the thread has finished"]);
    }

    /// A fate that follows `script`, then works until told to stop.
    fn scripted(script: &[Fate]) -> impl Fn() -> Fate + Sync + use<> {
        let script = Mutex::new(script.iter().copied().collect::<VecDeque<_>>());
        move || script.lock().unwrap().pop_front().unwrap_or(Fate::Work)
    }

    #[test]
    fn supervise_replaces_a_worker_that_returned_or_panicked() {
        let (started, lines) = deadline(LIMIT, || {
            let sink = Sink::collect();
            let fate = scripted(&[Fate::Finish, Fate::Panic]);
            let started = supervise(2000, Duration::from_millis(1), &fate, &sink);
            (started, sink.lines())
        });
        assert_eq!(started, 3);
        let supervisor: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with("supervisor"))
            .collect();
        assert_eq!(
            supervisor,
            [
                "supervisor: worker 1 returned; starting worker 2",
                "supervisor: worker 2 panicked: worker 2 failed; starting worker 3",
                "supervisor: told worker 3 to stop; it returned",
            ]
        );
        assert_eq!(lines[0], "worker 1: stops");
        assert!(lines.contains(&"worker 3: working".to_owned()));
    }

    #[test]
    fn supervise_leaves_a_healthy_worker_alone() {
        let (started, lines) = deadline(LIMIT, || {
            let sink = Sink::collect();
            let started = supervise(5, Duration::from_millis(1), &scripted(&[]), &sink);
            (started, sink.lines())
        });
        assert_eq!(started, 1);
        assert_eq!(
            lines.last().map(String::as_str),
            Some("supervisor: told worker 1 to stop; it returned")
        );
        assert!(
            lines[..lines.len() - 1]
                .iter()
                .all(|l| l == "worker 1: working")
        );
    }

    #[test]
    fn join_timeout_gives_the_handle_back_while_the_thread_runs() {
        deadline(LIMIT, || {
            let (release_tx, release_rx) = mpsc::channel::<()>();
            let blocked = thread::spawn(move || release_rx.recv().is_err());
            let blocked = join_timeout(blocked, Duration::from_millis(20))
                .expect_err("the thread waits for us, it cannot have finished");
            drop(release_tx);
            let result = join_timeout(blocked, Duration::from_secs(5));
            assert!(matches!(result, Ok(Ok(true))));
        });
    }

    #[test]
    fn recv_timeout_tells_finished_from_running() {
        deadline(LIMIT, || {
            assert!(finished_within(Duration::ZERO, Duration::from_secs(5)));
            assert!(!finished_within(
                Duration::from_millis(500),
                Duration::from_millis(10)
            ));
        });
    }

    #[test]
    fn a_panic_reaches_join_as_err() {
        assert_eq!(
            panic_message(Duration::ZERO, "boom").as_deref(),
            Some("boom")
        );
    }
}
