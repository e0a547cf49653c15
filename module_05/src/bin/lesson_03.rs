//! Lesson 5.3 — Event («Синхронизация по событиям (Event)»)
//!
//! An event is a flag that threads can wait for: `set` wakes every waiter,
//! and the flag stays set (later waiters pass at once) until `clear`. Rust's
//! std has no event type, so this lesson builds one from a `Mutex` +
//! `Condvar` — building it *is* the lesson; in async code use
//! `tokio::sync::watch` instead.
//!
//! | Python                           | Rust (this lesson's [`Event`])                       |
//! |----------------------------------|------------------------------------------------------|
//! | `threading.Event()`              | `Event::new()` = `Mutex<State>` + `Condvar`          |
//! | `event.set()` / `event.clear()`  | `event.set()` / `event.clear()`                      |
//! | `event.is_set()`                 | `event.is_set()`                                     |
//! | `event.wait()`                   | `event.wait()` (`Condvar::wait_while`) → `Result`    |
//! | `event.wait(timeout)` → bool     | `event.wait_timeout(d)` → `Result<bool, Abandoned>`  |
//! | (none: a setter that dies leaves its waiters waiting) | `event.setter()`: dropped unset, it releases every waiter with `Err(Abandoned)` |
//! | (asyncio) `asyncio.Event`        | `tokio::sync::watch::channel(false)`                 |
//! | (asyncio) wake one waiter        | `tokio::sync::Notify` (a wake-up, not a flag: 5.4)   |
//!
//! - Run all steps: `cargo run -p module_05 --bin lesson_03`
//! - Run one step:  `cargo run -p module_05 --bin lesson_03 -- step_15`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `Event::set`, change `notify_all` to `notify_one` and run
//! `cargo test -p module_05 --bin lesson_03`: `every_waiter_wakes_after_set`
//! fails on its deadline. Why does `wait_while` not rescue the others?

use std::process::ExitCode;
// The event's synchronisation comes from std, or from the shuttle model
// checker when the `model` feature is on (see `mod model` at the bottom).
#[cfg(feature = "model")]
use shuttle::sync::{Condvar, Mutex, MutexGuard};
use std::sync::PoisonError;
#[cfg(not(feature = "model"))]
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use rand::seq::IndexedRandom;
use step_runner::{Sink, Step, lesson_id};

/// A settable flag that threads wait for, like Python's `threading.Event`.
///
/// Written out because std has none and it is what this lesson teaches.
/// One addition Python lacks: an event can be *abandoned* (see
/// [`Setter`]), which releases every waiter with [`Abandoned`] instead of
/// leaving them to wait forever for a thread that died.
#[derive(Debug, Default)]
struct Event {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Clear,
    Set,
    /// The thread that was to set it is gone; final, like a closed channel.
    Abandoned,
}

/// What a waiter gets when the event was abandoned: the thread that was to
/// set it returned or panicked without setting it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Abandoned;

impl Event {
    fn new() -> Self {
        Self::default()
    }

    /// No code panics while holding this lock, and a panic could not leave a
    /// small `Copy` enum half-written: a poisoned lock is safe to use.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the flag and wakes every waiting thread.
    fn set(&self) {
        let mut state = self.state();
        if *state == State::Clear {
            *state = State::Set;
        }
        drop(state);
        // Every waiter, not one: they all wait for the same flag.
        self.changed.notify_all();
    }

    /// Resets the flag; later `wait` calls block again.
    fn clear(&self) {
        let mut state = self.state();
        if *state == State::Set {
            *state = State::Clear;
        }
    }

    fn is_set(&self) -> bool {
        *self.state() == State::Set
    }

    /// Releases every waiter, present and future, with [`Abandoned`].
    fn abandon(&self) {
        *self.state() = State::Abandoned;
        self.changed.notify_all();
    }

    /// A promise to set this event: dropping it unset (the thread returned
    /// early or a panic unwound through it) abandons the event.
    fn setter(&self) -> Setter<'_> {
        Setter { event: self }
    }

    /// Blocks until the flag is set; returns at once if it already is.
    /// `wait_while` re-checks the flag after every wake-up, so a spurious
    /// wake-up never lets a thread through early.
    fn wait(&self) -> Result<(), Abandoned> {
        let state = self
            .changed
            .wait_while(self.state(), |state| *state == State::Clear)
            .unwrap_or_else(PoisonError::into_inner);
        match *state {
            State::Abandoned => Err(Abandoned),
            _ => Ok(()),
        }
    }

    /// Like `wait`, but gives up after `timeout`. `Ok(false)` means "timed
    /// out", as Python's `wait(timeout)` returning `False`.
    fn wait_timeout(&self, timeout: Duration) -> Result<bool, Abandoned> {
        let (state, _) = self
            .changed
            .wait_timeout_while(self.state(), timeout, |state| *state == State::Clear)
            .unwrap_or_else(PoisonError::into_inner);
        match *state {
            State::Abandoned => Err(Abandoned),
            state => Ok(state == State::Set),
        }
    }
}

/// Held by the thread that is to set an event. Python has no such thing:
/// there, if that thread dies first, its waiters wait forever (or until
/// their time-out). Here `Drop` runs on every way out of the thread,
/// including a panic unwinding, and abandons the event if it was not set.
#[must_use = "dropping the setter at once abandons the event"]
struct Setter<'a> {
    event: &'a Event,
}

impl Setter<'_> {
    /// Sets the event and keeps the promise.
    fn set(self) {
        self.event.set();
        // The promise is kept: skip the `Drop` that would abandon the event.
        std::mem::forget(self);
    }
}

impl Drop for Setter<'_> {
    fn drop(&mut self) {
        self.event.abandon();
    }
}

// ---------------------------------------------------------------------------
// Lecture: waiting with a time limit, clearing.
// ---------------------------------------------------------------------------

/// What `wait_timeout` answered at each stage of the demo.
#[derive(Debug, PartialEq, Eq)]
struct TimeoutAnswers {
    before_set: bool,
    after_set: bool,
    is_set_after_clear: bool,
    after_clear: bool,
}

/// Waits with a time limit before `set`, while another thread sets the
/// event after `delay`, and after `clear`. The waits that nobody ends give
/// up after `give_up`; the one that another thread ends allows `patience`.
fn wait_timeout_demo(give_up: Duration, patience: Duration, delay: Duration) -> TimeoutAnswers {
    let event = Event::new();
    let before_set = event.wait_timeout(give_up) == Ok(true);
    let after_set = thread::scope(|s| {
        let setter = event.setter();
        s.spawn(move || {
            thread::sleep(delay);
            setter.set();
        });
        event.wait_timeout(patience) == Ok(true)
    });
    event.clear();
    TimeoutAnswers {
        before_set,
        after_set,
        is_set_after_clear: event.is_set(),
        after_clear: event.wait_timeout(give_up) == Ok(true),
    }
}

fn show_wait_timeout() {
    let ms = Duration::from_millis;
    let seen = wait_timeout_demo(ms(500), ms(500), ms(100));
    println!("nobody sets it, wait_timeout(0.5 s): {}", seen.before_set);
    println!("another thread sets it after 0.1 s: {}", seen.after_set);
    println!("is_set() after clear(): {}", seen.is_set_after_clear);
    println!("after clear(), wait_timeout(0.5 s): {}", seen.after_clear);
}

// ---------------------------------------------------------------------------
// Step 14: clients wait for the cashier.
// ---------------------------------------------------------------------------

/// The course's clients for step 14.
const CLIENTS: [&str; 3] = ["Victor", "Irina", "Andrey"];

/// Step 14 — each client waits until a cashier has served them; serving
/// takes a random time below `max_service` (the course: up to 1 s).
///
/// The course shares one event among all clients, and an event stays set:
/// the first client served would release everyone. Here each client has an
/// event of their own, which is what "wait until *I* am served" means. The
/// cashier holds each event's [`Setter`]: a cashier who collapses mid-way
/// sends the client home instead of leaving them waiting forever.
fn step_14(clients: &[&'static str], max_service: Duration, sink: &Sink) {
    let served: Vec<Event> = clients.iter().map(|_| Event::new()).collect();
    thread::scope(|s| {
        for (&name, event) in clients.iter().zip(&served) {
            s.spawn(move || {
                sink.note(format!("{name} enters the bank"));
                match event.wait() {
                    Ok(()) => sink.note(format!("{name} has been served and leaves the bank")),
                    Err(Abandoned) => sink.note(format!("{name} leaves unserved")),
                }
            });
            let served = event.setter();
            s.spawn(move || {
                sink.note(format!("Cashier: serving {name}"));
                thread::sleep(max_service.mul_f64(rand::random::<f64>()));
                sink.note(format!("Cashier: {name} is served"));
                served.set();
            });
        }
    });
    sink.note("All clients are served. The bank closes.");
}

fn show_step_14() {
    step_14(&CLIENTS, Duration::from_secs(1), &Sink::stdout_timed());
}

// ---------------------------------------------------------------------------
// Steps 15 and 16: bidders wait for the auction to begin.
// ---------------------------------------------------------------------------

/// The course's bidders for steps 15 and 16.
const BIDDERS: [&str; 5] = ["Sergey", "Boris", "Victor", "Evdokim", "Egor"];

/// Step 15 — five bidders get ready and wait; after `opening` the
/// auctioneer opens the auction with one `set`, and every bidder bids.
///
/// The pause (the course has none) only lets the bidders line up first, so
/// the output shows them waiting; a bidder arriving after `set` passes
/// straight through.
///
/// The auctioneer (this thread) holds the [`Setter`]: if it panicked before
/// `set`, `thread::scope` would first wait for every bidder, and without
/// the setter's `Drop` to call the auction off, they would wait forever.
fn step_15(bidders: &[&'static str], opening: Duration, sink: &Sink) {
    let auction_open = Event::new();
    thread::scope(|s| {
        let opener = auction_open.setter();
        for &name in bidders {
            let auction_open = &auction_open;
            s.spawn(move || {
                sink.note(format!("{name} is ready for the auction"));
                match auction_open.wait() {
                    Ok(()) => sink.note(format!("{name} bids on the rare painting")),
                    Err(Abandoned) => sink.note(format!("{name} goes home")),
                }
            });
        }
        thread::sleep(opening);
        sink.note("The auction begins!");
        opener.set();
    });
}

fn show_step_15() {
    step_15(&BIDDERS, Duration::from_millis(500), &Sink::stdout_timed());
}

/// Step 16 — two auctions, two events, opened after `opening`: every bidder
/// waits for both, thinks for `think` (the course: 0.25 s), bids in both.
/// Then a random winner is drawn for each lot. Returns the two winners.
fn step_16(
    bidders: &[&'static str],
    opening: Duration,
    think: Duration,
    sink: &Sink,
) -> (&'static str, &'static str) {
    let painting = Event::new();
    let clock = Event::new();
    thread::scope(|s| {
        let (open_painting, open_clock) = (painting.setter(), clock.setter());
        for &name in bidders {
            let (painting, clock) = (&painting, &clock);
            s.spawn(move || {
                sink.note(format!("{name} is ready to bid on the rare painting"));
                sink.note(format!("{name} is ready to bid on the antique clock"));
                if painting.wait().and(clock.wait()).is_err() {
                    sink.note(format!("{name} goes home"));
                    return;
                }
                thread::sleep(think);
                sink.note(format!("{name} bids on the rare painting"));
                sink.note(format!("{name} bids on the antique clock"));
            });
        }
        thread::sleep(opening);
        // The course prints "the painting auction begins" twice, the first
        // time as it opens the clock's auction; each line names its lot here.
        sink.note("The antique clock auction begins!");
        open_clock.set();
        sink.note("The rare painting auction begins!");
        open_painting.set();
    });
    sink.note("The rare painting auction is over!");
    sink.note("The antique clock auction is over!");
    let mut rng = rand::rng();
    let pick = |rng: &mut _| *bidders.choose(rng).expect("there are bidders");
    let painting_winner = pick(&mut rng);
    let clock_winner = pick(&mut rng);
    (painting_winner, clock_winner)
}

fn show_step_16() {
    let sink = Sink::stdout_timed();
    let think = Duration::from_millis(250);
    let (painting, clock) = step_16(&BIDDERS, Duration::from_millis(500), think, &sink);
    sink.note(format!("The rare painting goes to {painting}."));
    sink.note(format!("The antique clock goes to {clock}."));
}

// ---------------------------------------------------------------------------
// The async equivalents from tokio.
// ---------------------------------------------------------------------------

/// `watch::channel(false)` is the async `Event`: a value that stays set.
/// `tasks` tasks wait for it; returns how many saw it become true.
/// (`tokio::sync::Notify` is not one: it is a wake-up without a flag, like
/// lesson 5.4's bare notifications.)
fn tokio_equivalents(tasks: usize) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("building a tokio runtime should work");
    runtime.block_on(async {
        let (set, flag) = tokio::sync::watch::channel(false);
        let waiters: Vec<_> = (0..tasks)
            .map(|_| {
                let mut flag = flag.clone();
                tokio::spawn(async move { flag.wait_for(|&is_set| is_set).await.is_ok() })
            })
            .collect();
        set.send_replace(true);
        let mut woken = 0;
        for waiter in waiters {
            woken += usize::from(waiter.await.unwrap());
        }
        woken
    })
}

fn show_tokio_equivalents() {
    let woken = tokio_equivalents(5);
    println!("tasks woken by watch::Sender::send_replace(true): {woken} of 5");
}

#[rustfmt::skip]
fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 5.3 — Event («Синхронизация по событиям (Event)»)",
        &[
            Step::new("wait_timeout", "wait with a time limit returns false on time-out", show_wait_timeout),
            Step::new("step_14", "clients wait until a cashier serves them", show_step_14),
            Step::new("step_15", "one event starts the auction for all", show_step_15),
            Step::new("step_16", "two events, two auctions", show_step_16),
            Step::new("tokio_equivalents", "async: tokio::sync::watch as an event", show_tokio_equivalents),
        ],
    )
}

// The ordinary tests run on std's types; with the `model` feature the event
// is built from shuttle's, which work only inside `shuttle::check_*`.
#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use course_tests::deadline;

    use super::*;

    fn position(lines: &[String], text: &str) -> usize {
        lines
            .iter()
            .position(|line| line == text)
            .unwrap_or_else(|| panic!("{text:?} missing in {lines:?}"))
    }

    #[test]
    fn every_waiter_wakes_after_set() {
        const WAITERS: usize = 32;
        let woken = deadline(Duration::from_secs(10), || {
            let event = Arc::new(Event::new());
            let woken = Arc::new(AtomicUsize::new(0));
            let waiters: Vec<_> = (0..WAITERS)
                .map(|_| {
                    let (event, woken) = (Arc::clone(&event), Arc::clone(&woken));
                    thread::spawn(move || {
                        event.wait().unwrap();
                        woken.fetch_add(1, Ordering::SeqCst);
                    })
                })
                .collect();
            thread::sleep(Duration::from_millis(20));
            // Nobody passes before the event is set.
            assert_eq!(woken.load(Ordering::SeqCst), 0);
            event.set();
            for waiter in waiters {
                waiter.join().unwrap();
            }
            woken.load(Ordering::SeqCst)
        });
        assert_eq!(woken, WAITERS);
    }

    #[test]
    fn many_setters_and_waiters_at_once() {
        deadline(Duration::from_secs(10), || {
            for _ in 0..50 {
                let event = Event::new();
                thread::scope(|s| {
                    for _ in 0..8 {
                        s.spawn(|| event.wait().unwrap());
                    }
                    for _ in 0..3 {
                        s.spawn(|| event.set());
                    }
                });
                assert!(event.is_set());
            }
        });
    }

    #[test]
    fn wait_timeout_is_false_on_time_out_and_true_when_set() {
        let seen = deadline(Duration::from_secs(10), || {
            wait_timeout_demo(
                Duration::from_millis(30),
                Duration::from_secs(5),
                Duration::from_millis(20),
            )
        });
        assert_eq!(
            seen,
            TimeoutAnswers {
                before_set: false,
                after_set: true,
                is_set_after_clear: false,
                after_clear: false,
            }
        );
    }

    #[test]
    fn a_set_event_lets_later_waiters_through() {
        let event = Event::new();
        event.set();
        deadline(Duration::from_secs(5), move || {
            event.wait().unwrap();
            assert_eq!(event.wait_timeout(Duration::ZERO), Ok(true));
        });
    }

    #[test]
    fn a_setter_that_panics_releases_every_waiter_with_an_error() {
        const WAITERS: usize = 8;
        let answers = deadline(Duration::from_secs(10), || {
            let event = Event::new();
            thread::scope(|s| {
                let waiters: Vec<_> = (0..WAITERS).map(|_| s.spawn(|| event.wait())).collect();
                let setter = event.setter();
                let dying = s.spawn(move || {
                    let _promise = setter;
                    panic!("the setter dies before it sets the event");
                });
                assert!(dying.join().is_err(), "the setter panicked on purpose");
                // Without the abandon, these joins would wait forever.
                waiters
                    .into_iter()
                    .map(|w| w.join().unwrap())
                    .collect::<Vec<_>>()
            })
        });
        assert_eq!(answers, [Err(Abandoned); WAITERS]);
    }

    #[test]
    fn an_abandoned_event_stays_abandoned_and_a_kept_promise_does_not_abandon() {
        deadline(Duration::from_secs(10), || {
            let event = Event::new();
            drop(event.setter());
            event.set();
            event.clear();
            assert_eq!(event.wait(), Err(Abandoned));
            assert_eq!(event.wait_timeout(Duration::ZERO), Err(Abandoned));
            assert!(!event.is_set());

            let event = Event::new();
            event.setter().set();
            assert_eq!(event.wait(), Ok(()));
        });
    }

    #[test]
    fn step_14_each_client_leaves_after_being_served() {
        let sink = Sink::collect();
        step_14(&CLIENTS, Duration::from_millis(30), &sink);
        let lines = sink.lines();
        for name in CLIENTS {
            let served = position(&lines, &format!("Cashier: {name} is served"));
            let leaves = position(
                &lines,
                &format!("{name} has been served and leaves the bank"),
            );
            assert!(served < leaves, "{lines:?}");
        }
        assert_eq!(
            lines.last().unwrap(),
            "All clients are served. The bank closes."
        );
    }

    #[test]
    fn step_15_nobody_bids_before_the_start() {
        let sink = Sink::collect();
        step_15(&BIDDERS, Duration::from_millis(5), &sink);
        let lines = sink.lines();
        let start = position(&lines, "The auction begins!");
        for name in BIDDERS {
            assert!(position(&lines, &format!("{name} bids on the rare painting")) > start);
        }
    }

    #[test]
    fn step_16_bids_follow_both_starts() {
        let sink = Sink::collect();
        let (painting, clock) = step_16(
            &BIDDERS,
            Duration::from_millis(5),
            Duration::from_millis(10),
            &sink,
        );
        let lines = sink.lines();
        let clock_start = position(&lines, "The antique clock auction begins!");
        let painting_start = position(&lines, "The rare painting auction begins!");
        for name in BIDDERS {
            let bid = position(&lines, &format!("{name} bids on the antique clock"));
            assert!(bid > clock_start && bid > painting_start, "{lines:?}");
        }
        assert!(BIDDERS.contains(&painting) && BIDDERS.contains(&clock));
    }

    #[test]
    fn tokio_watch_wakes_every_waiting_task() {
        let woken = deadline(Duration::from_secs(10), || tokio_equivalents(16));
        assert_eq!(woken, 16);
    }
}

/// Model checks of the event (`cargo test -p module_05 --features model`):
/// shuttle runs the threads under many random and PCT schedules, with its
/// own `Mutex` and `Condvar` in place of std's. A waiter that is never
/// woken leaves every thread blocked, which shuttle reports as a deadlock.
#[cfg(test)]
#[cfg(feature = "model")]
mod model {
    use super::*;
    use shuttle::sync::Arc;
    use shuttle::thread;
    use std::panic;

    const ITERATIONS: usize = 2_000;

    /// The property: three waiters wait while a setter either sets the event
    /// (`keep`) or drops its `Setter` unset. Every waiter wakes, and all see
    /// the same answer: `Ok` after `set`, `Err(Abandoned)` after the drop.
    fn every_waiter_wakes(set: fn(&Event), keep: bool) {
        let event = Arc::new(Event::new());
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let event = Arc::clone(&event);
                thread::spawn(move || event.wait())
            })
            .collect();
        let setter_event = Arc::clone(&event);
        thread::spawn(move || {
            let setter = setter_event.setter();
            if keep {
                set(&setter_event);
                std::mem::forget(setter);
            } else {
                drop(setter);
            }
        })
        .join()
        .expect("the setter does not panic");
        let expected = if keep { Ok(()) } else { Err(Abandoned) };
        for waiter in waiters {
            assert_eq!(waiter.join().expect("a waiter does not panic"), expected);
        }
    }

    fn run(set: fn(&Event), keep: bool) {
        let property = move || every_waiter_wakes(set, keep);
        shuttle::check_random(property, ITERATIONS);
        shuttle::check_pct(property, ITERATIONS, 3);
    }

    #[test]
    fn model_set_releases_every_waiter() {
        run(Event::set, true);
    }

    #[test]
    fn model_a_dropped_setter_releases_every_waiter_with_an_error() {
        run(Event::set, false);
    }

    /// Broken: `set` with `notify_one` instead of `notify_all` (the
    /// header's "Try").
    fn set_waking_one(event: &Event) {
        *event.state() = State::Set;
        event.changed.notify_one();
    }

    #[test]
    fn model_catches_a_set_that_wakes_one_waiter() {
        let failure = panic::catch_unwind(|| run(set_waking_one, true))
            .expect_err("the checker must catch the lost wake-up");
        let message = course_tests::panic_text(&*failure);
        assert!(message.contains("deadlock"), "{message}");
    }
}
