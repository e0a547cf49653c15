//! Lesson 1.5 — Waiting for a result from a thread («Ожидание результата от потока»)
//!
//! Four ways for one thread to wait for another's result, from worst to
//! best: polling a flag, a one-shot signal (`Mutex` + `Condvar`), receiving
//! from a channel, and simply joining the thread, whose return value *is*
//! the result.
//!
//! | Python                                        | Rust                                          |
//! |-----------------------------------------------|-----------------------------------------------|
//! | `while not done: time.sleep(…)` on a global   | `AtomicBool` polled with `thread::sleep`      |
//! | the result in another global                  | an `AtomicU64`, published by the flag's `Release` |
//! | `threading.Event` set by the worker           | `Mutex<Option<T>>` + `Condvar::wait_while`    |
//! | `queue.Queue` + `q.get()`                     | `mpsc::channel()` + `rx.recv()`               |
//! | `t.join()`, then read a global                | `handle.join()` returns the value             |
//!
//! Run all steps: `cargo run -p module_01 --bin lesson_05`
//! Run one step:  `cargo run -p module_01 --bin lesson_05 -- step_13`
//! Output order varies between runs where threads race; the values do not.
//! Model check:   `cargo test -p module_01 --features model --bin lesson_05`
//!
//! Try: in `polling`, pass `Ordering::Relaxed` to both halves and run the
//! model check: loom finds the run where `main` sees the flag and reads 0.

use std::process::ExitCode;
use std::sync::atomic::Ordering;
#[cfg(not(feature = "model"))]
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

// The model check (`mod model` at the bottom) runs the two halves of
// `polling` under loom, which needs its own atomics.
#[cfg(feature = "model")]
use loom::sync::atomic::{AtomicBool, AtomicU64};
use step_runner::{Step, lesson_id};

/// The work every demo waits for: something slow with a known answer.
fn slow_sum(work: Duration) -> u64 {
    thread::sleep(work);
    (1..=100).sum()
}

/// Polling: the worker raises a flag, `main` checks it every `poll` interval.
///
/// It works, but the result is seen up to one interval late, and a short
/// interval burns CPU waking up for nothing. Returns the result and how many
/// times `main` looked.
fn polling(work: Duration, poll: Duration) -> (u64, u32) {
    let done = Arc::new(AtomicBool::new(false));
    let result = Arc::new(AtomicU64::new(0));
    {
        let (done, result) = (Arc::clone(&done), Arc::clone(&result));
        thread::spawn(move || {
            publish_result(&result, &done, slow_sum(work), Ordering::Release);
        });
    }
    poll_for_result(&result, &done, Ordering::Acquire, || thread::sleep(poll))
}

fn show_polling() {
    let started = Instant::now();
    let (value, looks) = polling(WORK, Duration::from_millis(200));
    println!(
        "result {value} after {:.2?}, having looked {looks} times",
        started.elapsed()
    );
}

/// The worker's half of `polling`: store the result, then raise the flag.
///
/// The result store is `Relaxed`, like a write to a Python global: on its
/// own it promises nothing about when `main` sees it. The flag's `Release`
/// store (the lesson passes `Release`; the ordering is a parameter so that
/// `mod model` can show `Relaxed` failing) pairs with the `Acquire` load in
/// `poll_for_result`: whoever reads `true` also sees the result. A result
/// behind a `Mutex` would be published by the mutex itself, whatever the
/// flag's ordering; lesson 8.7 has more.
fn publish_result(result: &AtomicU64, done: &AtomicBool, value: u64, flag: Ordering) {
    result.store(value, Ordering::Relaxed);
    done.store(true, flag);
}

/// `main`'s half: look at the flag, `pause`, look again, until it is up;
/// then read the result. Returns the result and how many times it looked.
fn poll_for_result(
    result: &AtomicU64,
    done: &AtomicBool,
    flag: Ordering,
    pause: impl Fn(),
) -> (u64, u32) {
    let mut looks = 1;
    while !done.load(flag) {
        pause();
        looks += 1;
    }
    (result.load(Ordering::Relaxed), looks)
}

/// A one-shot signal: `main` sleeps on a condition variable until the worker
/// has stored the result, and wakes at once when it has.
fn condvar_signal(work: Duration) -> u64 {
    let slot = Arc::new((Mutex::new(None), Condvar::new()));
    let worker_slot = Arc::clone(&slot);
    thread::spawn(move || {
        let value = slow_sum(work);
        let (lock, ready) = &*worker_slot;
        *lock.lock().unwrap() = Some(value);
        ready.notify_one();
    });
    let (lock, ready) = &*slot;
    // `wait_while` re-checks the condition after every wake-up, so spurious
    // wake-ups and a notification sent before we started waiting are both
    // harmless.
    let guard = ready
        .wait_while(lock.lock().unwrap(), |value| value.is_none())
        .unwrap();
    guard.expect("wait_while returned, so the value is there")
}

fn show_condvar_signal() {
    println!("result {}", condvar_signal(WORK));
}

/// A channel: the idiomatic way to hand a value from one thread to another.
fn channel(work: Duration) -> u64 {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        // If `main` had stopped listening, `send` would fail; nothing to do then.
        let _ = tx.send(slow_sum(work));
    });
    // `recv` fails only if the worker dropped its sender without sending,
    // i.e. if it panicked.
    rx.recv().expect("the worker panicked before sending")
}

fn show_channel() {
    println!("result {}", channel(WORK));
}

/// Joining: when the result is the thread's last act, return it.
fn join_value(work: Duration) -> u64 {
    thread::spawn(move || slow_sum(work))
        .join()
        .expect("the worker panicked")
}

fn show_join_value() {
    println!("result {}", join_value(WORK));
}

/// Step 13 — two threads print 1..=5 every `fast` and 6..=10 every `slow`;
/// `main` waits for both, then reports that both are done.
///
/// Returns the numbers in the order they were printed. Printing and
/// recording happen under one lock, so the returned order is exactly the
/// printed order.
fn step_13(fast: Duration, slow: Duration) -> Vec<u32> {
    let printed = Mutex::new(Vec::new());
    let print = |n: u32| {
        let mut printed = printed.lock().unwrap();
        println!("{n}");
        printed.push(n);
    };
    thread::scope(|s| {
        s.spawn(|| {
            for n in 1..=5 {
                thread::sleep(fast);
                print(n);
            }
        });
        s.spawn(|| {
            for n in 6..=10 {
                thread::sleep(slow);
                print(n);
            }
        });
    });
    printed.into_inner().unwrap()
}

fn show_step_13() {
    step_13(Duration::from_millis(500), Duration::from_secs(1));
    println!("Both threads have finished.");
}

/// How long the worker takes in the demos of `main`.
const WORK: Duration = Duration::from_millis(500);

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 1.5 — Waiting for a result from a thread («Ожидание результата от потока»)",
        &[
            Step::new(
                "polling",
                "poll a flag (works, but late and wasteful)",
                show_polling,
            ),
            Step::new(
                "condvar_signal",
                "sleep until signalled (Mutex + Condvar)",
                show_condvar_signal,
            ),
            Step::new("channel", "receive the result from a channel", show_channel),
            Step::new(
                "join_value",
                "join the thread and take its return value",
                show_join_value,
            ),
            Step::new("step_13", "two printers at different rates", show_step_13),
        ],
    )
}

// The ordinary tests run on std's atomics; with the `model` feature the
// lesson's atomics are loom's, which work only inside `loom::model`.
#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;
    use course_tests::deadline;

    const LIMIT: Duration = Duration::from_secs(10);
    const SHORT: Duration = Duration::from_millis(20);

    #[test]
    fn every_way_of_waiting_gets_the_same_result() {
        deadline(LIMIT, || {
            let (value, looks) = polling(SHORT, Duration::from_millis(1));
            assert_eq!(value, 5050);
            assert!(looks >= 1);
            assert_eq!(condvar_signal(SHORT), 5050);
            assert_eq!(channel(SHORT), 5050);
            assert_eq!(join_value(SHORT), 5050);
        });
    }

    #[test]
    fn step_13_prints_each_number_once_each_thread_in_order() {
        let printed = deadline(LIMIT, || {
            step_13(Duration::from_millis(5), Duration::from_millis(10))
        });
        let mut sorted = printed.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=10).collect::<Vec<_>>());
        // The two threads interleave freely, but each prints its own
        // numbers in order.
        let fast: Vec<u32> = printed.iter().copied().filter(|&n| n <= 5).collect();
        let slow: Vec<u32> = printed.iter().copied().filter(|&n| n > 5).collect();
        assert_eq!(fast, [1, 2, 3, 4, 5]);
        assert_eq!(slow, [6, 7, 8, 9, 10]);
    }
}

/// Loom runs the worker's and `main`'s halves of `polling` under every
/// interleaving and every value the memory model lets a load return.
#[cfg(all(test, feature = "model"))]
mod model {
    use super::*;

    fn flag_polling(store: Ordering, load: Ordering) {
        loom::model(move || {
            let done = Arc::new(AtomicBool::new(false));
            let result = Arc::new(AtomicU64::new(0));
            let worker = {
                let (done, result) = (Arc::clone(&done), Arc::clone(&result));
                loom::thread::spawn(move || publish_result(&result, &done, 5050, store))
            };
            let (value, _) = poll_for_result(&result, &done, load, loom::thread::yield_now);
            assert_eq!(value, 5050, "main saw the flag but not the result");
            worker.join().unwrap();
        });
    }

    #[test]
    fn release_acquire_main_always_sees_the_result() {
        flag_polling(Ordering::Release, Ordering::Acquire);
    }

    #[test]
    #[should_panic(expected = "main saw the flag but not the result")]
    fn a_relaxed_flag_is_caught_publishing_too_early() {
        flag_polling(Ordering::Relaxed, Ordering::Relaxed);
    }
}
