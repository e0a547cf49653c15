//! Lesson 5.4 — Condition variable («Синхронизация с условием (Condition)»)
//!
//! A condition variable lets a thread sleep until shared state satisfies a
//! condition, instead of polling. The condition lives in the data behind a
//! `Mutex`; the `Condvar` only carries "something changed, look again". Every
//! rule of this lesson follows from that: always re-check the condition
//! (wake-ups may be spurious), and never rely on a notification that carries
//! no state (it is lost if nobody is waiting yet).
//!
//! | Python                                   | Rust                                                   |
//! |------------------------------------------|--------------------------------------------------------|
//! | `cond = threading.Condition()` + state   | `Mutex<State>` + `std::sync::Condvar`                  |
//! | `with cond: cond.wait()`                 | `guard = cvar.wait(guard).unwrap()`                    |
//! | `cond.wait_for(lambda: ready)`           | `cvar.wait_while(guard, \|s\| !ready(s))` (wait *while* not ready) |
//! | `cond.wait(timeout)`                     | `cvar.wait_timeout(guard, d)` → `(guard, WaitTimeoutResult)` |
//! | `cond.wait_for(pred, timeout)`           | `cvar.wait_timeout_while(guard, d, \|s\| !pred(s))`    |
//! | `cond.notify()` / `cond.notify_all()`    | `cvar.notify_one()` / `cvar.notify_all()`              |
//! | `cond.notify(n)`                         | `notify_one()` n times (std has no `notify(n)`)        |
//!
//! - Run all steps: `cargo run -p module_05 --bin lesson_04`
//! - Run one step:  `cargo run -p module_05 --bin lesson_04 -- lost_notification`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `wait_while_demo`, change the `notify_all` after `closed = true`
//! to `notify_one` and run `-- wait_while`: it hangs (stop it with Ctrl-C).
//! Which waiters never learn that the kitchen closed, and why does
//! `wait_while` not save them?

use std::collections::VecDeque;
use std::process::ExitCode;
use std::sync::{Condvar, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use step_runner::{Step, lesson_id};

// ---------------------------------------------------------------------------
// wait_while: a cook puts dishes on the counter, waiters carry them out.
// ---------------------------------------------------------------------------

/// The state the condition is about.
#[derive(Default)]
struct Counter {
    dishes: VecDeque<u32>,
    /// The kitchen is closed: no more dishes will come.
    closed: bool,
}

/// The cook puts `dishes` dishes on the counter, one every `pace`; `waiters`
/// threads take them. Returns what each waiter carried out.
///
/// A real work queue is a channel (lesson 4.x); a condition variable is for
/// conditions a channel cannot express. The queue keeps this demo small.
fn wait_while_demo(dishes: u32, waiters: usize, pace: Duration) -> Vec<Vec<u32>> {
    let counter = Mutex::new(Counter::default());
    let changed = Condvar::new();
    thread::scope(|s| {
        let carriers: Vec<_> = (0..waiters)
            .map(|_| {
                let (counter, changed) = (&counter, &changed);
                s.spawn(move || {
                    let mut carried = Vec::new();
                    loop {
                        let guard = counter.lock().unwrap();
                        // Sleep while there is nothing to do; the closure is
                        // re-checked after every wake-up, spurious or not.
                        let mut state = changed
                            .wait_while(guard, |c| c.dishes.is_empty() && !c.closed)
                            .unwrap();
                        let Some(dish) = state.dishes.pop_front() else {
                            break; // empty and closed
                        };
                        drop(state); // carry the dish out without holding the lock
                        carried.push(dish);
                    }
                    carried
                })
            })
            .collect();

        for dish in 1..=dishes {
            thread::sleep(pace);
            counter.lock().unwrap().dishes.push_back(dish);
            // One new dish: one waiter is enough.
            changed.notify_one();
        }
        counter.lock().unwrap().closed = true;
        // Closing concerns every waiter, or some would sleep forever.
        changed.notify_all();

        carriers.into_iter().map(|c| c.join().unwrap()).collect()
    })
}

// ---------------------------------------------------------------------------
// notify_one versus notify_all.
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Gate {
    open: bool,
    waiting: usize,
}

/// How many waiters had gone through the gate after each notification.
#[derive(Debug, PartialEq, Eq)]
struct Woken {
    /// After `notify_one` (and `settle` for any others to follow).
    by_notify_one: usize,
    /// After Python's `notify(2)` as well (and `settle`).
    by_notify_two: usize,
    /// After `notify_all` as well: everyone.
    in_the_end: usize,
}

/// Python's `cond.notify(n)`: wake up to `n` waiters. std has no such
/// call; `n` times `notify_one` is the same, as each call wakes one thread
/// still waiting (if there is none, that call does nothing).
fn notify(cvar: &Condvar, n: usize) {
    for _ in 0..n {
        cvar.notify_one();
    }
}

/// `waiters` threads wait, with no time-out, at a gate. Once all of them are
/// waiting, the gate opens and the main thread calls `notify_one`, waits for
/// the first waiter through and `settle` longer; then Python's `notify(2)`
/// (two more through, `settle` longer); then `notify_all`, and waits for
/// everyone.
///
/// The gate is open for all of them after the first call, yet only one was
/// woken to look: `notify_one` wakes one thread, not "everyone who cares".
/// (A spurious wake-up may let another through: the count is at least one.)
fn notify_demo(waiters: usize, settle: Duration) -> Woken {
    let gate = Mutex::new(Gate::default());
    let arrived = Condvar::new();
    let opened = Condvar::new();
    let (through_tx, through) = mpsc::channel();
    thread::scope(|s| {
        for _ in 0..waiters {
            let (gate, arrived, opened, through_tx) =
                (&gate, &arrived, &opened, through_tx.clone());
            s.spawn(move || {
                let mut state = gate.lock().unwrap();
                state.waiting += 1;
                arrived.notify_one();
                drop(opened.wait_while(state, |g| !g.open).unwrap());
                // Fails only if the main thread is gone; nothing to tell then.
                let _ = through_tx.send(());
            });
        }
        drop(through_tx);

        // Everyone counted has released the lock inside `wait_while`, so
        // they are all waiting when the notification comes.
        let mut state = arrived
            .wait_while(gate.lock().unwrap(), |g| g.waiting < waiters)
            .unwrap();
        state.open = true;
        drop(state);

        opened.notify_one();
        through.recv().expect("the woken waiter goes through");
        thread::sleep(settle);
        let by_notify_one = 1 + through.try_iter().count();

        notify(&opened, 2);
        // Two more wake, unless fewer than two were still waiting.
        let more = 2.min(waiters - by_notify_one);
        through.iter().take(more).for_each(drop);
        thread::sleep(settle);
        let by_notify_two = by_notify_one + more + through.try_iter().count();

        opened.notify_all();
        let in_the_end = by_notify_two + through.iter().count();
        Woken {
            by_notify_one,
            by_notify_two,
            in_the_end,
        }
    })
}

// ---------------------------------------------------------------------------
// Why the condition is checked in a loop.
// ---------------------------------------------------------------------------

/// A waiter needs `target` items; a producer adds one every `pace` and
/// notifies after each. Returns how many items the waiter saw with an `if`
/// around `wait` (it trusts the first wake-up) and with `wait_while`.
///
/// Any wake-up may come too early: another state change, another waiter's
/// notification, or a spurious wake-up that the OS allows. Python's docs say
/// the same: `wait_for` or a `while` loop, never an `if`.
fn if_versus_while(target: u32, pace: Duration) -> (u32, u32) {
    let run = |use_loop: bool| {
        let items = Mutex::new((0u32, false)); // (count, waiter ready)
        let changed = Condvar::new();
        thread::scope(|s| {
            let waiter = s.spawn(|| {
                let mut state = items.lock().unwrap();
                state.1 = true;
                changed.notify_all();
                if use_loop {
                    state = changed
                        .wait_while(state, |(count, _)| *count < target)
                        .unwrap();
                } else if state.0 < target {
                    // The bug: one wake-up is taken as "the condition holds".
                    state = changed.wait(state).unwrap();
                }
                state.0
            });
            // Start producing once the waiter is waiting.
            drop(
                changed
                    .wait_while(items.lock().unwrap(), |(_, ready)| !*ready)
                    .unwrap(),
            );
            for _ in 0..target {
                thread::sleep(pace);
                items.lock().unwrap().0 += 1;
                changed.notify_all();
            }
            waiter.join().unwrap()
        })
    };
    (run(false), run(true))
}

// ---------------------------------------------------------------------------
// The lost notification.
// ---------------------------------------------------------------------------

/// What each waiter saw in the lost-notification demo.
#[derive(Debug, PartialEq, Eq)]
struct LostNotification {
    /// The bare wait: timed out, because the notification came first.
    trap_timed_out: bool,
    /// The wait on a flag: returned at once, having seen the flag.
    fix_saw_flag: bool,
}

/// The notifier runs *before* the waiter starts waiting — in real code this
/// order is a race that happens now and then; here it is forced.
///
/// A notification is not stored: with nobody waiting it does nothing, and a
/// bare `wait()` afterwards would sleep forever (here: until `patience`).
/// The fix is state: set a flag under the mutex, and wait *while* it is
/// unset; a late waiter finds the flag and never sleeps.
fn lost_notification(patience: Duration) -> LostNotification {
    let trap_timed_out = {
        let nothing = Mutex::new(());
        let cvar = Condvar::new();
        cvar.notify_one(); // nobody is waiting: this does nothing
        let guard = nothing.lock().unwrap();
        let (_guard, result) = cvar.wait_timeout(guard, patience).unwrap();
        result.timed_out()
    };
    let fix_saw_flag = {
        let done = Mutex::new(false);
        let cvar = Condvar::new();
        *done.lock().unwrap() = true;
        cvar.notify_one();
        let (done, _) = cvar
            .wait_timeout_while(done.lock().unwrap(), patience, |d| !*d)
            .unwrap();
        *done
    };
    LostNotification {
        trap_timed_out,
        fix_saw_flag,
    }
}

fn show_lost_notification() {
    let seen = lost_notification(Duration::from_millis(500));
    println!(
        "notify, then a bare wait (0.5 s limit): timed out = {}",
        seen.trap_timed_out
    );
    println!(
        "set a flag + notify, then wait_while: saw the flag = {}",
        seen.fix_saw_flag
    );
}

fn show_wait_while() {
    let carried = wait_while_demo(12, 3, Duration::from_millis(100));
    for (number, dishes) in carried.iter().enumerate() {
        println!("waiter {} carried out dishes {dishes:?}", number + 1);
    }
}

fn show_notify_one_vs_all() {
    let woken = notify_demo(4, Duration::from_millis(500));
    println!(
        "gate open, notify_one: {} of 4 went through in 0.5 s",
        woken.by_notify_one
    );
    println!(
        "then notify(2), Python's: {} of 4 went through",
        woken.by_notify_two
    );
    println!("then notify_all: {} of 4 went through", woken.in_the_end);
}

fn show_spurious_wakeups() {
    let (with_if, with_while) = if_versus_while(5, Duration::from_millis(100));
    println!("waiting for 5 items, `if` + wait() went on with {with_if}");
    println!("waiting for 5 items, wait_while went on with {with_while}");
}

#[rustfmt::skip]
fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 5.4 — Condition variable («Синхронизация с условием (Condition)»)",
        &[
            Step::new("wait_while", "three waiters sleep until a dish is on the counter", show_wait_while),
            Step::new("notify_one_vs_all", "notify_one wakes one waiter, notify_all wakes them all", show_notify_one_vs_all),
            Step::new("spurious_wakeups", "re-check the condition after every wake-up", show_spurious_wakeups),
            Step::new("lost_notification", "a notification before the wait is lost; a flag is not", show_lost_notification),
        ],
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use course_tests::deadline;

    use super::*;

    #[test]
    fn every_dish_is_carried_out_exactly_once() {
        let carried = deadline(Duration::from_secs(10), || {
            wait_while_demo(200, 4, Duration::ZERO)
        });
        let mut all: Vec<u32> = carried.into_iter().flatten().collect();
        all.sort_unstable();
        assert_eq!(all, (1..=200).collect::<Vec<_>>());
    }

    #[test]
    fn each_waiter_gets_its_dishes_in_counter_order() {
        let carried = deadline(Duration::from_secs(10), || {
            wait_while_demo(30, 3, Duration::from_millis(1))
        });
        for dishes in &carried {
            assert!(dishes.is_sorted(), "{dishes:?}");
        }
        let distinct: BTreeSet<u32> = carried.into_iter().flatten().collect();
        assert_eq!(distinct.len(), 30);
    }

    #[test]
    fn notify_all_wakes_every_waiter_and_notify_one_at_least_one() {
        // The waiters have no time-out: were `notify_all` a `notify_one`,
        // the others would sleep forever and the deadline would fire.
        let woken = deadline(Duration::from_secs(20), || {
            notify_demo(6, Duration::from_millis(10))
        });
        assert_eq!(woken.in_the_end, 6);
        assert!((1..=6).contains(&woken.by_notify_one), "{woken:?}");
        let two_more = (woken.by_notify_one + 2).min(6);
        assert!((two_more..=6).contains(&woken.by_notify_two), "{woken:?}");
    }

    #[test]
    fn wait_while_goes_on_only_when_the_condition_holds() {
        let (with_if, with_while) = deadline(Duration::from_secs(10), || {
            if_versus_while(4, Duration::from_millis(20))
        });
        assert_eq!(with_while, 4);
        assert!((1..=4).contains(&with_if));
    }

    #[test]
    fn a_flag_survives_what_a_notification_does_not() {
        let seen = deadline(Duration::from_secs(10), || {
            lost_notification(Duration::from_millis(100))
        });
        assert!(seen.fix_saw_flag);
        assert!(seen.trap_timed_out);
    }
}
