//! Lesson 1.11 — Timer threads («Поток-таймер»)
//!
//! A timer runs a function once, after a delay, on its own thread, unless it
//! is cancelled first. std has no timer type; the lesson builds one from a
//! thread that waits on a channel with `recv_timeout` (time-out = fire, a
//! message = cancel), then shows `crossbeam_channel::after` and `tick`, the
//! ready-made timer channels.
//!
//! | Python                                  | Rust                                                      |
//! |-----------------------------------------|-----------------------------------------------------------|
//! | `t = threading.Timer(delay, f); t.start()` | `Timer::start(delay, f)` (below): a thread + `recv_timeout` |
//! | `t.cancel()`                            | `timer.cancel()`: send on the channel; dropping it cancels too |
//! | a callback that starts the next `Timer` | `crossbeam_channel::tick(interval)`: a re-arming timer    |
//! | `Timer` racing a cancel                 | `select! { recv(after(d)) … recv(cancel) … }`             |
//!
//! - Run all steps: `cargo run -p module_01 --bin lesson_11`
//! - Run one step:  `cargo run -p module_01 --bin lesson_11 -- step_14`
//! - Model check:   `cargo test -p module_01 --features model --bin lesson_11`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `step_15`, bind the timers to `_` (`let _: Vec<Timer> = …`)
//! and delete the loop that joins them: no astronaut starts.
//! Dropping a `Timer` cancels it; what would Python's `threading.Timer` do?

use std::process::ExitCode;
use std::sync::Arc;
#[cfg(not(feature = "model"))]
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
#[cfg(not(feature = "model"))]
use std::thread::{self, JoinHandle};
use std::time::Duration;

// The timer's channel and thread come from std, or from the shuttle model
// checker when the `model` feature is on (`mod model` at the bottom).
#[cfg(feature = "model")]
use shuttle::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
#[cfg(feature = "model")]
use shuttle::thread::{self, JoinHandle};

use crossbeam_channel::{after, select, tick};
use step_runner::{Sink, Step, lesson_id};

/// A one-shot timer: runs `f` on its own thread after `delay`, unless
/// cancelled first.
///
/// Unlike Python's `Timer`, dropping the handle cancels the timer (the
/// channel disconnects), so a timer never fires for someone who has
/// forgotten it. Call [`Timer::join`] to wait for it to fire.
struct Timer {
    cancel: Sender<()>,
    thread: JoinHandle<bool>,
}

impl Timer {
    fn start(delay: Duration, f: impl FnOnce() + Send + 'static) -> Self {
        let (cancel, cancelled) = mpsc::channel();
        let thread = thread::spawn(move || match wait_for_cancel(&cancelled, delay) {
            Err(RecvTimeoutError::Timeout) => {
                f();
                true
            }
            // A cancel message, or the handle was dropped.
            Ok(()) | Err(RecvTimeoutError::Disconnected) => false,
        });
        Self { cancel, thread }
    }

    /// Cancels the timer if it has not fired yet. Returns whether `f` ran.
    fn cancel(self) -> bool {
        // Fails only if the timer thread already ended (fired); fine.
        let _ = self.cancel.send(());
        self.thread.join().unwrap()
    }

    /// Waits for the timer to fire and its function to return.
    fn join(self) {
        let Self { cancel, thread } = self;
        // Holding `cancel` until the thread ends keeps the channel connected,
        // so the wait runs its full delay and `f` runs.
        thread.join().unwrap();
        drop(cancel);
    }
}

/// Waits up to `delay` for a cancel message: `recv_timeout`.
#[cfg(not(feature = "model"))]
fn wait_for_cancel(cancelled: &Receiver<()>, delay: Duration) -> Result<(), RecvTimeoutError> {
    cancelled.recv_timeout(delay)
}

/// The model checker has no clock (shuttle's `recv_timeout` never times
/// out), so under it the delay may run out at any point, and the checker
/// chooses when: each look that finds no message either times out or
/// yields and looks again.
#[cfg(feature = "model")]
fn wait_for_cancel(cancelled: &Receiver<()>, _delay: Duration) -> Result<(), RecvTimeoutError> {
    use shuttle::rand::{RngCore, thread_rng};
    use shuttle::sync::mpsc::TryRecvError;
    loop {
        match cancelled.try_recv() {
            Ok(()) => return Ok(()),
            Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) if thread_rng().next_u32().is_multiple_of(2) => {
                return Err(RecvTimeoutError::Timeout);
            }
            Err(TryRecvError::Empty) => thread::yield_now(),
        }
    }
}

/// Lecture demo (1.11, first) — a timer says "Hello, World!" after `delay`
/// (the course's 3 s), while `main` says it is waiting.
///
/// Python's demo does not wait: the interpreter waits at exit for the
/// timer's (non-daemon) thread. Here `main` must `join` it, and dropping
/// the `Timer` instead would cancel it.
fn hello_timer(delay: Duration, sink: &Arc<Sink>) {
    let timer_sink = Arc::clone(sink);
    let timer = Timer::start(delay, move || timer_sink.note("Hello, World!"));
    sink.note("waiting for the timer...");
    timer.join();
}

fn show_hello_timer() {
    hello_timer(Duration::from_secs(3), &Arc::new(Sink::stdout_timed()));
}

/// Step 14 — an auction: the bid starts at `increment` and rises by
/// `increment` every `interval` until it reaches `max`; then the auction
/// closes.
///
/// The Python version has each timer callback start the next `Timer`. A
/// re-arming timer is exactly what `crossbeam_channel::tick` is: a channel
/// that delivers a message every `interval`. Returns the bids in order.
/// The lesson runs the exercise's auction (steps of 1 up to 10); the
/// lecture's raises by 18 up to 175, its last bid 180.
fn step_14(increment: u32, max: u32, interval: Duration, sink: &Sink) -> Vec<u32> {
    thread::scope(|s| {
        let auctioneer = s.spawn(move || {
            let ticks = tick(interval);
            let mut bids = Vec::new();
            let mut bid = 0;
            loop {
                if bid >= max {
                    sink.note("No more bids, the auction is closed!");
                    return bids;
                }
                bid += increment;
                sink.note(format!("current bid: {bid}"));
                bids.push(bid);
                // Waiting for the next tick; the first bid went out at once.
                ticks
                    .recv()
                    .expect("a tick channel should never disconnect");
            }
        });
        auctioneer.join().unwrap()
    })
}

fn show_step_14() {
    step_14(1, 10, Duration::from_secs(1), &Sink::stdout_timed());
}

/// The course's data for step 15: astronaut, task, delay.
const ASTRONAUTS: [(&str, &str, Duration); 3] = [
    (
        "Alexei Leonov",
        "Repairing equipment",
        Duration::from_millis(700),
    ),
    (
        "Yuri Gagarin",
        "Running experiments",
        Duration::from_millis(1300),
    ),
    (
        "John Glenn",
        "Monitoring systems",
        Duration::from_millis(1800),
    ),
];

/// Step 15 — each astronaut starts a task after their own delay.
///
/// One timer per astronaut, all started at once, each reporting through the
/// sink when it fires. This follows the exercise: the delays count from the
/// start (0.7, 1.3, 1.8 s). The lecture's version chains the timers instead:
/// the first astronaut starts at once and each callback arms the next timer,
/// so they start at 0, 0.7 and 2.0 s, and the 1.8 s is never used.
fn step_15(crew: &[(&'static str, &'static str, Duration)], sink: &Arc<Sink>) {
    let timers: Vec<Timer> = crew
        .iter()
        .map(|&(astronaut, task, delay)| {
            let sink = Arc::clone(sink);
            Timer::start(delay, move || {
                sink.note(format!("{astronaut} is doing the task: {task}"));
            })
        })
        .collect();
    for timer in timers {
        timer.join();
    }
}

fn show_step_15() {
    step_15(&ASTRONAUTS, &Arc::new(Sink::stdout_timed()));
}

/// A timer cancelled before its delay is up never runs its function.
/// Returns what `cancel` reported and, separately, whether the function
/// really ran (it leaves a message on a channel when it does).
fn cancel_before_firing(delay: Duration, cancel_after: Duration) -> (bool, bool) {
    let (ran_tx, ran_rx) = mpsc::channel();
    let timer = Timer::start(delay, move || {
        let _ = ran_tx.send(());
        println!("the timer fired");
    });
    thread::sleep(cancel_after);
    let reported = timer.cancel();
    (reported, ran_rx.try_recv().is_ok())
}

/// The same race with crossbeam: whichever channel is ready first wins.
/// Returns `true` if the delay won.
fn after_or_cancel(delay: Duration, cancel_after: Duration) -> bool {
    let (cancel_tx, cancel_rx) = crossbeam_channel::bounded::<()>(1);
    let canceller = thread::spawn(move || {
        thread::sleep(cancel_after);
        let _ = cancel_tx.send(());
    });
    let fired = select! {
        recv(after(delay)) -> _ => true,
        recv(cancel_rx) -> _ => false,
    };
    canceller.join().unwrap();
    fired
}

fn show_cancel() {
    // The lecture's second demo: a 3 s timer, cancelled after 1 s.
    let (delay, cancel_after) = (Duration::from_secs(3), Duration::from_secs(1));
    let (_, ran) = cancel_before_firing(delay, cancel_after);
    println!("3 s timer cancelled after 1 s; its function ran: {ran}");
}

fn show_after() {
    for (delay, cancel) in [(300, 600), (600, 300)] {
        let fired = after_or_cancel(Duration::from_millis(delay), Duration::from_millis(cancel));
        let winner = if fired { "the timer" } else { "the cancel" };
        println!("timer {delay} ms vs cancel {cancel} ms: {winner} won");
    }
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 1.11 — Timer threads («Поток-таймер»)",
        &[
            Step::new("hello_timer", "a timer fires after 3 s", show_hello_timer),
            Step::new("cancel", "a timer cancelled in time", show_cancel),
            Step::new("step_14", "an auction, a bid a second", show_step_14),
            Step::new("step_15", "astronauts start after delays", show_step_15),
            Step::new("after", "crossbeam's after() vs a cancel", show_after),
        ],
    )
}

// The ordinary tests run on std's types; with the `model` feature the timer
// is built from shuttle's, which work only inside `shuttle::check_*`.
#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;
    use course_tests::deadline;
    use std::collections::HashSet;

    const LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn hello_timer_fires_after_main_says_it_waits() {
        let lines = deadline(LIMIT, || {
            let sink = Arc::new(Sink::collect());
            hello_timer(Duration::from_millis(200), &sink);
            sink.lines()
        });
        assert_eq!(lines, ["waiting for the timer...", "Hello, World!"]);
    }

    #[test]
    fn step_14_bids_rise_to_the_maximum_and_stop() {
        let ms = Duration::from_millis;
        let (bids, lines) = deadline(LIMIT, move || {
            let sink = Sink::collect();
            (step_14(1, 10, ms(2), &sink), sink.lines())
        });
        assert_eq!(bids, (1..=10).collect::<Vec<_>>());
        let mut expected: Vec<String> = (1..=10).map(|b| format!("current bid: {b}")).collect();
        expected.push("No more bids, the auction is closed!".to_owned());
        assert_eq!(lines, expected);
        let bids = deadline(LIMIT, move || step_14(3, 10, ms(2), &Sink::collect()));
        assert_eq!(bids, [3, 6, 9, 12]);
        // The lecture's auction.
        let bids = deadline(LIMIT, move || step_14(18, 175, ms(2), &Sink::collect()));
        assert_eq!(bids, (1..=10).map(|n| 18 * n).collect::<Vec<_>>());
    }

    #[test]
    fn step_15_every_astronaut_starts_exactly_once() {
        let crew: Vec<_> = ASTRONAUTS
            .iter()
            .map(|&(who, task, delay)| (who, task, delay / 100))
            .collect();
        let messages = deadline(LIMIT, move || {
            let sink = Arc::new(Sink::collect());
            step_15(&crew, &sink);
            sink.lines()
        });
        assert_eq!(messages.len(), 3);
        let expected: HashSet<String> = ASTRONAUTS
            .iter()
            .map(|(who, task, _)| format!("{who} is doing the task: {task}"))
            .collect();
        assert_eq!(messages.into_iter().collect::<HashSet<_>>(), expected);
    }

    #[test]
    fn a_cancelled_timer_never_runs() {
        let (reported, ran) = deadline(LIMIT, || {
            cancel_before_firing(Duration::from_secs(60), Duration::ZERO)
        });
        assert!(!reported && !ran);
    }

    #[test]
    fn an_uncancelled_timer_runs_once() {
        let (reported, ran) = deadline(LIMIT, || {
            cancel_before_firing(Duration::ZERO, Duration::from_millis(200))
        });
        assert!(reported && ran);
    }

    #[test]
    fn a_dropped_timer_does_not_fire() {
        let (tx, rx) = mpsc::channel::<()>();
        drop(Timer::start(Duration::from_secs(60), move || {
            let _ = tx.send(());
        }));
        // The callback owned the only sender. Whether it ran or was dropped
        // unrun, the channel disconnects; `recv` tells which.
        assert!(deadline(LIMIT, move || rx.recv().is_err()));
    }

    #[test]
    fn after_loses_to_an_earlier_cancel_and_beats_a_later_one() {
        deadline(LIMIT, || {
            assert!(!after_or_cancel(Duration::from_secs(60), Duration::ZERO));
            assert!(after_or_cancel(Duration::ZERO, Duration::from_millis(200)));
        });
    }
}

/// Model checks of `Timer` (`cargo test -p module_01 --features model --bin
/// lesson_11`): shuttle runs the timer's thread and its caller under many
/// random and PCT schedules, and chooses when the delay runs out (see
/// `wait_for_cancel`). The real-time paths keep their tests above.
#[cfg(all(test, feature = "model"))]
mod model {
    use super::*;
    use std::panic;

    const ITERATIONS: usize = 1_000;

    /// A timer whose callback reports on a channel that it ran.
    fn reporting_timer() -> (Timer, mpsc::Receiver<()>) {
        let (ran_tx, ran_rx) = mpsc::channel();
        let timer = Timer::start(Duration::from_secs(1), move || {
            let _ = ran_tx.send(());
        });
        (timer, ran_rx)
    }

    /// The property: whatever the race between the delay and the cancel,
    /// `cancel` reports exactly whether the callback ran; a timer cancelled
    /// in time never runs its callback, not even later; the callback runs at
    /// most once.
    fn cancel_tells_the_truth(cancel: fn(Timer) -> bool) {
        let (timer, ran) = reporting_timer();
        let reported = cancel(timer);
        // The callback owns the only sender: once the timer thread is done,
        // with or without running it, the channel disconnects.
        let runs = ran.iter().count();
        assert!(runs <= 1, "the callback ran {runs} times");
        assert_eq!(
            reported,
            runs == 1,
            "cancel() reported {reported}, but the callback ran {runs} times"
        );
    }

    fn run(property: fn()) {
        shuttle::check_random(property, ITERATIONS);
        shuttle::check_pct(property, ITERATIONS, 3);
    }

    #[test]
    fn model_a_cancelled_timer_never_runs_and_cancel_says_so() {
        run(|| cancel_tells_the_truth(Timer::cancel));
    }

    #[test]
    fn model_an_uncancelled_timer_runs_exactly_once() {
        // Random schedules only: PCT sizes itself from a first,
        // oldest-task-first run, counts no scheduling step in this one (the
        // caller just waits in `join`), and refuses it with "test closure
        // did not exercise any concurrency".
        shuttle::check_random(
            || {
                let (timer, ran) = reporting_timer();
                timer.join();
                assert_eq!(ran.iter().count(), 1, "an uncancelled timer must run once");
            },
            ITERATIONS,
        );
    }

    /// Broken: sends the cancel and answers "did not run" without waiting
    /// for the timer thread, which may already be past its wait.
    fn cancel_without_waiting(timer: Timer) -> bool {
        let _ = timer.cancel.send(());
        false
    }

    #[test]
    fn model_catches_a_cancel_that_does_not_wait_for_the_timer() {
        let failure =
            panic::catch_unwind(|| run(|| cancel_tells_the_truth(cancel_without_waiting)))
                .expect_err("the checker must catch the broken cancel");
        let message = course_tests::panic_text(&*failure);
        assert!(message.contains("cancel() reported false"), "{message}");
    }
}
