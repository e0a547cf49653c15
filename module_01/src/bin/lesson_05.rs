//! Lesson 1.5 — Waiting for a result from a thread («Ожидание результата от потока»)
//!
//! Four ways for one thread to wait for another's result, from worst to
//! best: polling a flag, a one-shot signal (`Mutex` + `Condvar`), receiving
//! from a channel, and simply joining the thread, whose return value *is*
//! the result. A thread that waits may itself be waited for: joins nest.
//!
//! | Python                                        | Rust                                          |
//! |-----------------------------------------------|-----------------------------------------------|
//! | `while not done: time.sleep(…)` on a global   | `AtomicBool` polled with `thread::sleep`      |
//! | the result in another global                  | an `AtomicU64`, published by the flag's `Release` |
//! | `threading.Event` set by the worker           | `Mutex<Option<T>>` + `Condvar::wait_while`    |
//! | `queue.Queue` + `q.get()`                     | `mpsc::channel()` + `rx.recv()`               |
//! | `t.join()`, then read a global                | `handle.join()` returns the value             |
//!
//! - Run all steps: `cargo run -p module_01 --bin lesson_05`
//! - Run one step:  `cargo run -p module_01 --bin lesson_05 -- step_13`
//! - Model check:   `cargo test -p module_01 --features model --bin lesson_05`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `polling`, pass `Ordering::Relaxed` to both halves and run the
//! model check: loom finds the run where `main` sees the flag and reads 0.
//! In `show_polling`, change the 5 s interval to 100 ms and run
//! `-- polling`: the result arrives sooner, and `main` looks about twenty
//! times.

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
use step_runner::{Sink, Step, lesson_id};

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
    // The lecture looks every 5 s. The work takes 2 s, so the result waits
    // 3 s before anyone sees it: the cost of polling, in one line.
    let (value, looks) = polling(WORK, Duration::from_secs(5));
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
    guard.expect("wait_while should return only once the value is there")
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
    rx.recv().expect("the worker should send before it ends")
}

fn show_channel() {
    println!("result {}", channel(WORK));
}

/// Lecture demo (1.5, third) — joins nest: thread 1 starts thread 2 and
/// waits for it; `main` waits for thread 1.
///
/// Each thread reports through `sink`; thread 2's work takes `work` (the
/// course's 2 s). Thread 1 can go on only after thread 2 has ended, so the
/// order of the four lines is fixed.
fn nested_join(work: Duration, sink: &Sink) {
    thread::scope(|s| {
        s.spawn(|| {
            sink.note("thread 1 starts and waits for thread 2");
            thread::scope(|inner| {
                let thread_2 = inner.spawn(|| {
                    sink.note("thread 2 starts");
                    thread::sleep(work);
                    sink.note("thread 2 ends");
                });
                thread_2.join().unwrap();
            });
            sink.note("thread 1 carries on");
        });
    });
}

fn show_nested_join() {
    nested_join(WORK, &Sink::stdout_timed());
}

/// Joining: when the result is the thread's last act, return it.
fn join_value(work: Duration) -> u64 {
    thread::spawn(move || slow_sum(work)).join().unwrap()
}

fn show_join_value() {
    println!("result {}", join_value(WORK));
}

/// Step 13 — two threads print 1..=5 every `fast` and 6..=10 every `slow`;
/// `main` waits for both, then reports that both are done.
///
/// Each number goes to `sink` the moment its thread reaches it, so the
/// reader sees the two threads interleave as they run.
fn step_13(fast: Duration, slow: Duration, sink: &Sink) {
    thread::scope(|s| {
        s.spawn(|| {
            for n in 1..=5 {
                thread::sleep(fast);
                sink.note(n);
            }
        });
        s.spawn(|| {
            for n in 6..=10 {
                thread::sleep(slow);
                sink.note(n);
            }
        });
    });
    sink.note("Both threads have finished.");
}

fn show_step_13() {
    step_13(
        Duration::from_millis(500),
        Duration::from_secs(1),
        &Sink::stdout(),
    );
}

/// How long the worker takes in the demos: the lecture's join, `Condition`
/// and nested-join demos work for 2 s (its `Event` demo for 5 s).
const WORK: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 1.5 — Waiting for a result from a thread («Ожидание результата от потока»)",
        &[
            Step::new("polling", "poll a flag: late and wasteful", show_polling),
            Step::new("condvar_signal", "wait for a signal", show_condvar_signal),
            Step::new("channel", "receive the result from a channel", show_channel),
            Step::new("join_value", "join, take the return value", show_join_value),
            Step::new("nested_join", "one join inside another", show_nested_join),
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
    fn nested_join_thread_1_goes_on_only_after_thread_2() {
        let lines = deadline(LIMIT, || {
            let sink = Sink::collect();
            nested_join(SHORT, &sink);
            sink.lines()
        });
        assert_eq!(
            lines,
            [
                "thread 1 starts and waits for thread 2",
                "thread 2 starts",
                "thread 2 ends",
                "thread 1 carries on"
            ]
        );
    }

    #[test]
    fn step_13_prints_each_number_once_each_thread_in_order() {
        let mut lines = deadline(LIMIT, || {
            let sink = Sink::collect();
            step_13(Duration::from_millis(5), Duration::from_millis(10), &sink);
            sink.lines()
        });
        assert_eq!(lines.pop().as_deref(), Some("Both threads have finished."));
        let printed: Vec<u32> = lines.iter().map(|l| l.parse().unwrap()).collect();
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
