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
//!
//! Run all steps: `cargo run -p module_01 --bin lesson_06`
//! Run one step:  `cargo run -p module_01 --bin lesson_06 -- step_14`
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `finished_within`, delete `let _ended = ended_tx;` and run
//! `-- recv_timeout`: even the 2 s wait now reports `false`. Who holds the
//! sender now, and when is it dropped?

use std::process::ExitCode;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use step_runner::{Step, lesson_id};

/// Step 14 — one thread prints 1..=5 every `fast`, another a..=e every
/// `slow`; `main` joins both and then says it is done.
///
/// Each thread returns what it printed, and `join` hands that back: no
/// shared list needed.
fn step_14(fast: Duration, slow: Duration) -> (Vec<char>, Vec<char>) {
    let printer = |items: Vec<char>, pause: Duration| {
        thread::spawn(move || {
            for &item in &items {
                thread::sleep(pause);
                println!("{item}");
            }
            items
        })
    };
    let digits = printer(vec!['1', '2', '3', '4', '5'], fast);
    let letters = printer(vec!['a', 'b', 'c', 'd', 'e'], slow);
    (
        digits.join().expect("the digit printer panicked"),
        letters.join().expect("the letter printer panicked"),
    )
}

fn show_step_14() {
    step_14(Duration::from_millis(500), Duration::from_secs(1));
    println!("Done!");
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

fn show_join_timeout() {
    let slow = thread::spawn(|| {
        thread::sleep(Duration::from_secs(1));
        42
    });
    let slow = match join_timeout(slow, Duration::from_millis(300)) {
        Ok(result) => {
            println!("finished early: {result:?}");
            return;
        }
        Err(still_running) => {
            println!("still running after 300 ms; waiting without a limit");
            still_running
        }
    };
    println!("it returned {}", slow.join().expect("no panic"));
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
    worker.join().expect("the worker does not panic");
    finished
}

/// A panic in a thread ends only that thread; `join` returns the panic
/// payload as an `Err`, usually a `&str` or a `String`.
fn panic_message(message: &'static str) -> Option<String> {
    let handle = thread::spawn(move || -> u32 { panic!("{message}") });
    let payload = handle.join().err()?;
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
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
    match panic_message("the sensor is offline") {
        Some(message) => {
            println!("join returned Err: the thread panicked with {message:?}")
        }
        None => println!("the thread did not panic"),
    }
    println!("main carries on");
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 1.6 — Waiting for a thread to finish («Ожидание выполнения потока»)",
        &[
            Step::new(
                "step_14",
                "join two printer threads, then say done",
                show_step_14,
            ),
            Step::new(
                "join_timeout",
                "wait with a deadline by polling is_finished",
                show_join_timeout,
            ),
            Step::new(
                "recv_timeout",
                "wait with a deadline on a channel",
                show_recv_timeout,
            ),
            Step::new(
                "panic_in_thread",
                "a panic comes back from join as Err",
                show_panic_in_thread,
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;

    const LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn step_14_returns_what_each_thread_printed() {
        let (digits, letters) = deadline(LIMIT, || {
            step_14(Duration::from_millis(2), Duration::from_millis(4))
        });
        assert_eq!(digits, ['1', '2', '3', '4', '5']);
        assert_eq!(letters, ['a', 'b', 'c', 'd', 'e']);
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
        assert_eq!(panic_message("boom").as_deref(), Some("boom"));
    }
}
