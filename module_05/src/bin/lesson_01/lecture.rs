//! The lecture: the lock owns the data, guards, `try_lock`, `locked()`,
//! who may release, poisoning.

use std::sync::{Mutex, TryLockError};
use std::thread;
use std::time::Duration;

/// `threads` threads each add 1 to a shared counter `per_thread` times.
///
/// In Python `counter += 1` is a load, an add and a store (`dis` shows
/// them), atomic by no guarantee: CPython 3.10+ happens not to switch
/// threads in between (8 threads × 10⁶ came out exact on 3.11), older or
/// free-threaded (3.13t) builds can lose updates, and `value = counter;
/// time.sleep(0); counter = value + 1` loses them on any (8 × 1000 ended
/// near 1000 on 3.11). Here the `u64` lives *inside* the mutex: an unlocked
/// increment does not compile.
pub fn shared_counter(threads: u64, per_thread: u64) -> u64 {
    let counter = Mutex::new(0u64);
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    // The guard lives until the end of this statement.
                    // `unwrap`: a poisoned lock only relays another thread's
                    // panic (the same in every lesson of this module).
                    *counter.lock().unwrap() += 1;
                }
            });
        }
    });
    counter.into_inner().unwrap()
}

pub fn show_shared_counter() {
    let counter = shared_counter(10, 100_000);
    println!("counter: {counter} (expected 1000000)");
}

/// `try_lock` answers at once: `WouldBlock` while another thread holds the
/// guard, `Ok` once the guard has been dropped. Returns both answers.
pub fn try_lock_demo() -> (bool, bool) {
    let oven = Mutex::new("Margherita");
    let guard = oven.lock().unwrap();
    let while_held = thread::scope(|s| {
        s.spawn(|| matches!(oven.try_lock(), Err(TryLockError::WouldBlock)))
            .join()
            .unwrap()
    });
    // Dropping the guard is the `release()`; leaving its scope does the same.
    drop(guard);
    let after_drop = thread::scope(|s| s.spawn(|| oven.try_lock().is_ok()).join().unwrap());
    (while_held, after_drop)
}

pub fn show_try_lock() {
    let (while_held, after_drop) = try_lock_demo();
    println!("while another thread holds the guard, WouldBlock: {while_held}");
    println!("after the guard is dropped, the lock is free: {after_drop}");
}

/// Python's `lock.locked()`: std has none (`try_lock` *takes* a free lock);
/// `parking_lot::Mutex::is_locked` asks without taking. A snapshot, good
/// for a log line, never for a decision ("it is free, so I lock it" races).
/// Returns the answers before, while and after a guard is held.
pub fn locked() -> [bool; 3] {
    let oven = parking_lot::Mutex::new("Margherita");
    let before = oven.is_locked();
    let guard = oven.lock();
    let during = oven.is_locked();
    drop(guard);
    [before, during, oven.is_locked()]
}

pub fn show_locked() {
    let [before, during, after] = locked();
    println!("locked() before: {before}, while held: {during}, after release: {after}");
}

/// A Python `Lock` belongs to no thread: one may `acquire` it and another
/// `release` it. A `MutexGuard` is not `Send`, so it cannot even move to
/// another thread (the doctest in `module_05/src/lib.rs`): some platforms'
/// locks must be released by the thread that took them. Where the hand-over
/// is the design, use a one-token channel, a binary semaphore (lesson 5.5).
/// Returns who gave the token back.
pub fn release_elsewhere() -> &'static str {
    let (give_back, take) = crossbeam_channel::bounded::<&str>(1);
    give_back.send("nobody").unwrap();
    take.recv().unwrap(); // `acquire` in the main thread
    thread::scope(|s| {
        // `release` in another thread.
        s.spawn(|| give_back.send("the helper thread").unwrap());
    });
    take.recv().unwrap()
}

pub fn show_release_elsewhere() {
    println!("taken by main, given back by {}", release_elsewhere());
}

/// A thread panics halfway through an update while holding the lock.
/// Returns whether the mutex was poisoned and the half-updated data.
///
/// Python's `with lock:` releases the lock on an exception and lets others
/// see the half-done update. Rust releases it too, but marks the mutex
/// poisoned: the next `lock()` returns `Err`, and the caller decides whether
/// the data can still be trusted (`into_inner` gets it anyway).
pub fn poisoning() -> (bool, Vec<&'static str>) {
    let oven = Mutex::new(vec!["Margherita"]);
    let careless = thread::scope(|s| {
        s.spawn(|| {
            let mut pizzas = oven.lock().unwrap();
            pizzas.push("half-baked Pepperoni");
            panic!("the cook dropped the tray");
        })
        .join()
    });
    assert!(careless.is_err(), "the careless cook panics on purpose");
    let poisoned = oven.is_poisoned();
    let pizzas = match oven.lock() {
        Ok(guard) => guard.clone(),
        // The lock is still usable: the error carries the guard.
        Err(poison) => poison.into_inner().clone(),
    };
    // After repairing (or accepting) the data, clear the flag.
    oven.clear_poison();
    (poisoned, pizzas)
}

pub fn show_poisoning() {
    println!("(the panic message on stderr is part of the demo)");
    let (poisoned, pizzas) = poisoning();
    println!("poisoned: {poisoned}");
    println!("the data, half updated: {pizzas:?}");
}

/// The same accident with `parking_lot::Mutex`: no poisoning, so `lock()`
/// returns the guard directly, and `try_lock_for` waits with a time limit
/// (Python's `acquire(timeout=…)`). Returns the data after the panic and
/// whether a timed try failed while another thread held the lock.
pub fn parking_lot_mutex() -> (Vec<&'static str>, bool) {
    let oven = parking_lot::Mutex::new(vec!["Margherita"]);
    let careless = thread::scope(|s| {
        s.spawn(|| {
            let mut pizzas = oven.lock();
            pizzas.push("half-baked Pepperoni");
            panic!("the cook dropped the tray");
        })
        .join()
    });
    assert!(careless.is_err(), "the careless cook panics on purpose");
    let held = oven.lock();
    let timed_out = thread::scope(|s| {
        s.spawn(|| oven.try_lock_for(Duration::from_millis(50)).is_none())
            .join()
            .unwrap()
    });
    (held.clone(), timed_out)
}

pub fn show_parking_lot_mutex() {
    println!("(the panic message on stderr is part of the demo)");
    let (pizzas, timed_out) = parking_lot_mutex();
    println!("after the panic, lock() still works: {pizzas:?}");
    println!("try_lock_for(50 ms) on a held lock gave up: {timed_out}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_loses_no_update() {
        assert_eq!(shared_counter(8, 10_000), 80_000);
    }

    #[test]
    fn try_lock_sees_the_guard() {
        assert_eq!(try_lock_demo(), (true, true));
    }

    #[test]
    fn locked_answers_without_taking_the_lock() {
        assert_eq!(locked(), [false, true, false]);
    }

    #[test]
    fn another_thread_gives_the_token_back() {
        assert_eq!(release_elsewhere(), "the helper thread");
    }

    #[test]
    fn a_panic_poisons_std_but_not_parking_lot() {
        let (poisoned, pizzas) = poisoning();
        assert!(poisoned);
        assert_eq!(pizzas, ["Margherita", "half-baked Pepperoni"]);
        let (pizzas, timed_out) = parking_lot_mutex();
        assert_eq!(pizzas, ["Margherita", "half-baked Pepperoni"]);
        assert!(timed_out);
    }
}
