//! Lesson 5.3 — Event («Синхронизация по событиям (Event)»)
//!
//! An event is a flag that threads can wait for: `set` wakes every waiter,
//! and the flag stays set (later waiters pass at once) until `clear`. Rust's
//! std has no event type, so this lesson builds one from `Mutex<bool>` +
//! `Condvar` — building it *is* the lesson; in async code use
//! `tokio::sync::watch` or `tokio::sync::Notify` instead.
//!
//! | Python                           | Rust (this lesson's [`Event`])                       |
//! |----------------------------------|------------------------------------------------------|
//! | `threading.Event()`              | `Event::new()` = `Mutex<bool>` + `Condvar`           |
//! | `event.set()` / `event.clear()`  | `event.set()` / `event.clear()`                      |
//! | `event.is_set()`                 | `event.is_set()`                                     |
//! | `event.wait()`                   | `event.wait()` (`Condvar::wait_while`)               |
//! | `event.wait(timeout)` → bool     | `event.wait_timeout(d)` → bool                       |
//! | (asyncio) `asyncio.Event`        | `tokio::sync::watch::channel(false)`                 |
//! | (asyncio) wake one waiter        | `tokio::sync::Notify::notify_one` (keeps a permit)   |
//!
//! Run all steps: `cargo run -p module_05 --bin lesson_03`
//! Run one step:  `cargo run -p module_05 --bin lesson_03 -- step_15`
//! Output order varies between runs where threads race; the values do not.

use std::process::ExitCode;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use module_05::{Journal, print_lines};
use rand::seq::IndexedRandom;
use step_runner::{Step, lesson_id};

/// A settable flag that threads wait for, like Python's `threading.Event`.
///
/// Written out because std has none and it is what this lesson teaches.
#[derive(Debug, Default)]
struct Event {
    flag: Mutex<bool>,
    changed: Condvar,
}

impl Event {
    fn new() -> Self {
        Self::default()
    }

    /// A panic elsewhere cannot leave a `bool` half-written, so a poisoned
    /// lock is safe to use: take the guard out of the error.
    fn flag(&self) -> MutexGuard<'_, bool> {
        self.flag.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the flag and wakes every waiting thread.
    fn set(&self) {
        *self.flag() = true;
        self.changed.notify_all();
    }

    /// Resets the flag; later `wait` calls block again.
    fn clear(&self) {
        *self.flag() = false;
    }

    fn is_set(&self) -> bool {
        *self.flag()
    }

    /// Blocks until the flag is set; returns at once if it already is.
    /// `wait_while` re-checks the flag after every wake-up, so a spurious
    /// wake-up never lets a thread through early.
    fn wait(&self) {
        drop(
            self.changed
                .wait_while(self.flag(), |set| !*set)
                .unwrap_or_else(PoisonError::into_inner),
        );
    }

    /// Like `wait`, but gives up after `timeout`. Returns the flag, so
    /// `false` means "timed out", as in Python.
    fn wait_timeout(&self, timeout: Duration) -> bool {
        let (set, _) = self
            .changed
            .wait_timeout_while(self.flag(), timeout, |set| !*set)
            .unwrap_or_else(PoisonError::into_inner);
        *set
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
    let before_set = event.wait_timeout(give_up);
    let after_set = thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(delay);
            event.set();
        });
        event.wait_timeout(patience)
    });
    event.clear();
    TimeoutAnswers {
        before_set,
        after_set,
        is_set_after_clear: event.is_set(),
        after_clear: event.wait_timeout(give_up),
    }
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
/// event of their own, which is what "wait until *I* am served" means.
fn step_14(clients: &[&'static str], max_service: Duration) -> Vec<(Duration, String)> {
    let journal = Journal::new();
    let served: Vec<Event> = clients.iter().map(|_| Event::new()).collect();
    thread::scope(|s| {
        for (&name, event) in clients.iter().zip(&served) {
            let journal = &journal;
            s.spawn(move || {
                journal.note(format!("{name} enters the bank"));
                event.wait();
                journal.note(format!("{name} has been served and leaves the bank"));
            });
            s.spawn(move || {
                journal.note(format!("Cashier: serving {name}"));
                thread::sleep(max_service.mul_f64(rand::random::<f64>()));
                journal.note(format!("Cashier: {name} is served"));
                event.set();
            });
        }
    });
    journal.note("All clients are served. The bank closes.".into());
    journal.into_lines()
}

// ---------------------------------------------------------------------------
// Steps 15 and 16: bidders wait for the auction to begin.
// ---------------------------------------------------------------------------

/// The course's bidders for steps 15 and 16.
const BIDDERS: [&str; 5] = ["Sergey", "Boris", "Victor", "Evdokim", "Egor"];

/// Step 15 — five bidders get ready and wait; after `opening` the
/// auctioneer opens the auction with one `set`, and every bidder bids.
///
/// The pause only lets the bidders line up first, so the output shows them
/// waiting; a bidder arriving after `set` passes straight through.
fn step_15(bidders: &[&'static str], opening: Duration) -> Vec<(Duration, String)> {
    let journal = Journal::new();
    let auction_open = Event::new();
    thread::scope(|s| {
        for &name in bidders {
            let (journal, auction_open) = (&journal, &auction_open);
            s.spawn(move || {
                journal.note(format!("{name} is ready for the auction"));
                auction_open.wait();
                journal.note(format!("{name} bids on the rare painting"));
            });
        }
        thread::sleep(opening);
        journal.note("The auction begins!".into());
        auction_open.set();
    });
    journal.into_lines()
}

/// Step 16 — two auctions, two events, opened after `opening`: every bidder
/// waits for both, thinks for `think` (the course: 0.25 s), bids in both.
/// Then a random winner is drawn for each lot. Returns the journal and the
/// two winners.
fn step_16(
    bidders: &[&'static str],
    opening: Duration,
    think: Duration,
) -> (Vec<(Duration, String)>, &'static str, &'static str) {
    let journal = Journal::new();
    let painting = Event::new();
    let clock = Event::new();
    thread::scope(|s| {
        for &name in bidders {
            let (journal, painting, clock) = (&journal, &painting, &clock);
            s.spawn(move || {
                journal.note(format!(
                    "{name} is ready to bid on the painting and the clock"
                ));
                painting.wait();
                clock.wait();
                thread::sleep(think);
                journal.note(format!("{name} bids on the rare painting"));
                journal.note(format!("{name} bids on the antique clock"));
            });
        }
        thread::sleep(opening);
        journal.note("The antique clock auction begins!".into());
        clock.set();
        journal.note("The rare painting auction begins!".into());
        painting.set();
    });
    journal.note("Both auctions are over.".into());
    let mut rng = rand::rng();
    let pick = |rng: &mut _| *bidders.choose(rng).expect("there are bidders");
    let painting_winner = pick(&mut rng);
    let clock_winner = pick(&mut rng);
    (journal.into_lines(), painting_winner, clock_winner)
}

// ---------------------------------------------------------------------------
// The async equivalents from tokio.
// ---------------------------------------------------------------------------

/// What the tokio demo observed.
#[derive(Debug, PartialEq, Eq)]
struct TokioEvents {
    /// Tasks that saw the `watch` flag become true.
    woken_by_watch: usize,
    /// `notify_one` before anyone waits: the permit is kept for the next waiter.
    notify_one_kept: bool,
    /// `notify_waiters` with nobody waiting: the wake-up is gone.
    notify_waiters_lost: bool,
}

/// `watch::channel(false)` is the async `Event` (a value that stays set);
/// `Notify` is a wake-up, not a flag.
fn tokio_equivalents(tasks: usize) -> TokioEvents {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("building a tokio runtime");
    runtime.block_on(async {
        let (set, flag) = tokio::sync::watch::channel(false);
        let waiters: Vec<_> = (0..tasks)
            .map(|_| {
                let mut flag = flag.clone();
                tokio::spawn(async move { flag.wait_for(|&is_set| is_set).await.is_ok() })
            })
            .collect();
        set.send_replace(true);
        let mut woken_by_watch = 0;
        for waiter in waiters {
            woken_by_watch += usize::from(waiter.await.expect("a waiter task panicked"));
        }

        let patience = Duration::from_millis(50);
        let notify = tokio::sync::Notify::new();
        notify.notify_one();
        let notify_one_kept = tokio::time::timeout(patience, notify.notified())
            .await
            .is_ok();
        notify.notify_waiters();
        let notify_waiters_lost = tokio::time::timeout(patience, notify.notified())
            .await
            .is_err();
        TokioEvents {
            woken_by_watch,
            notify_one_kept,
            notify_waiters_lost,
        }
    })
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 5.3 — Event («Синхронизация по событиям (Event)»)",
        &[
            Step::new(
                "wait_timeout",
                "wait with a time limit returns false on time-out",
                || {
                    let seen = wait_timeout_demo(
                        Duration::from_millis(500),
                        Duration::from_millis(500),
                        Duration::from_millis(100),
                    );
                    println!("nobody sets it, wait_timeout(0.5 s): {}", seen.before_set);
                    println!("another thread sets it after 0.1 s: {}", seen.after_set);
                    println!("is_set() after clear(): {}", seen.is_set_after_clear);
                    println!("after clear(), wait_timeout(0.5 s): {}", seen.after_clear);
                },
            ),
            Step::new(
                "step_14",
                "clients wait until a cashier serves them",
                || {
                    print_lines(&step_14(&CLIENTS, Duration::from_secs(1)));
                },
            ),
            Step::new("step_15", "one event starts the auction for all", || {
                print_lines(&step_15(&BIDDERS, Duration::from_millis(500)));
            }),
            Step::new("step_16", "two events, two auctions", || {
                let (lines, painting, clock) = step_16(
                    &BIDDERS,
                    Duration::from_millis(500),
                    Duration::from_millis(250),
                );
                print_lines(&lines);
                println!("The rare painting goes to {painting}.");
                println!("The antique clock goes to {clock}.");
            }),
            Step::new(
                "tokio_equivalents",
                "async: tokio::sync::watch as an event, Notify as a wake-up",
                || {
                    let seen = tokio_equivalents(5);
                    println!(
                        "tasks woken by watch::Sender::send_replace(true): {}",
                        seen.woken_by_watch
                    );
                    println!(
                        "notify_one before anyone waits keeps a permit: {}",
                        seen.notify_one_kept
                    );
                    println!(
                        "notify_waiters with nobody waiting is lost: {}",
                        seen.notify_waiters_lost
                    );
                },
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use course_tests::deadline;

    use super::*;

    fn position(lines: &[(Duration, String)], text: &str) -> usize {
        lines
            .iter()
            .position(|(_, line)| line == text)
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
                        event.wait();
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
                        s.spawn(|| event.wait());
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
            event.wait();
            assert!(event.wait_timeout(Duration::ZERO));
        });
    }

    #[test]
    fn step_14_each_client_leaves_after_being_served() {
        let lines = step_14(&CLIENTS, Duration::from_millis(30));
        for name in CLIENTS {
            let served = position(&lines, &format!("Cashier: {name} is served"));
            let leaves = position(
                &lines,
                &format!("{name} has been served and leaves the bank"),
            );
            assert!(served < leaves, "{lines:?}");
        }
        assert_eq!(
            lines.last().unwrap().1,
            "All clients are served. The bank closes."
        );
    }

    #[test]
    fn step_15_nobody_bids_before_the_start() {
        let lines = step_15(&BIDDERS, Duration::from_millis(5));
        let start = position(&lines, "The auction begins!");
        for name in BIDDERS {
            assert!(position(&lines, &format!("{name} bids on the rare painting")) > start);
        }
    }

    #[test]
    fn step_16_bids_follow_both_starts() {
        let (lines, painting, clock) = step_16(
            &BIDDERS,
            Duration::from_millis(5),
            Duration::from_millis(10),
        );
        let clock_start = position(&lines, "The antique clock auction begins!");
        let painting_start = position(&lines, "The rare painting auction begins!");
        for name in BIDDERS {
            let bid = position(&lines, &format!("{name} bids on the antique clock"));
            assert!(bid > clock_start && bid > painting_start, "{lines:?}");
        }
        assert!(BIDDERS.contains(&painting) && BIDDERS.contains(&clock));
    }

    #[test]
    fn tokio_watch_wakes_all_and_notify_keeps_one_permit() {
        let seen = deadline(Duration::from_secs(10), || tokio_equivalents(16));
        assert_eq!(
            seen,
            TokioEvents {
                woken_by_watch: 16,
                notify_one_kept: true,
                notify_waiters_lost: true,
            }
        );
    }
}
