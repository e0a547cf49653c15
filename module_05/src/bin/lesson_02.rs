//! Lesson 5.2 — Reentrant lock (RLock) («Реентерабельная блокировка (RLock)»)
//!
//! A reentrant lock may be taken again by the thread that already holds it,
//! so a method that locks can call another method that locks. Rust has one
//! (`parking_lot::ReentrantMutex`), but the idiomatic answer is usually a
//! different design: lock once at the entry point and pass `&mut T` down.
//!
//! | Python                                       | Rust                                                     |
//! |----------------------------------------------|----------------------------------------------------------|
//! | `threading.Lock()` taken twice by one thread | std `Mutex::lock` twice: deadlock or panic (unspecified) |
//! | `lock.acquire(blocking=False)` → `False`     | `Mutex::try_lock` → `Err(TryLockError::WouldBlock)`      |
//! | `lock.locked()` (a snapshot, may change)     | `parking_lot::Mutex::is_locked` (std has none)           |
//! | `threading.RLock()`                          | `parking_lot::ReentrantMutex<RefCell<T>>`                |
//! | `with self.rlock:` inside `with self.rlock:` | a second `lock()` on the same thread: another guard      |
//! | methods that each take `self.rlock`          | lock once, call helpers taking `&mut T`                  |
//!
//! - Run all steps: `cargo run -p module_05 --bin lesson_02`
//! - Run one step:  `cargo run -p module_05 --bin lesson_02 -- reentrant_mutex`
//!
//! Try: in `self_deadlock`, add `let _again = balances.lock();` right
//! before the `try_lock` line and run `-- self_deadlock`: the step never
//! ends (stop it with Ctrl-C). The thread waits for a lock it holds itself;
//! `parking_lot::ReentrantMutex` (`-- reentrant_mutex`) is the lock that
//! lets its owner in again.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Mutex, TryLockError};
use std::thread;

use parking_lot::ReentrantMutex;
use step_runner::{Step, lesson_id};

/// The bank's customers and their opening balances.
const OPENING: [(&str, i64); 3] = [("Anna", 1000), ("Boris", 1000), ("Vera", 1000)];

type Balances = BTreeMap<&'static str, i64>;

fn opening_balances() -> Balances {
    OPENING.into_iter().collect()
}

#[derive(Debug, PartialEq, Eq)]
enum TransferError {
    Insufficient,
}

// ---------------------------------------------------------------------------
// The trap: std's Mutex is not reentrant.
// ---------------------------------------------------------------------------

/// A deposit that, like a Python method calling another `with self.lock:`
/// method, tries to take the lock it already holds. Returns whether the
/// second attempt would have blocked.
///
/// With `lock()` instead of `try_lock()` the thread would wait for itself:
/// std documents the result as "might panic or deadlock", never success.
/// `try_lock` asks the same question without hanging.
fn self_deadlock() -> bool {
    let balances = Mutex::new(opening_balances());
    let mut held = balances.lock().unwrap();
    *held.get_mut("Anna").expect("Anna has an account") += 100;
    // The nested "log the deposit" helper wants the lock again.
    let would_block = matches!(balances.try_lock(), Err(TryLockError::WouldBlock));
    drop(held);
    would_block
}

fn show_self_deadlock() {
    let would_block = self_deadlock();
    println!("the nested try_lock reports WouldBlock: {would_block}");
    println!("with lock() the thread would have waited for itself forever");
}

// ---------------------------------------------------------------------------
// The Python way: a reentrant lock.
// ---------------------------------------------------------------------------

/// A bank whose every method locks, as a Python class with an `RLock` would.
///
/// `ReentrantMutex` hands out *shared* guards (`&T`): the same thread may
/// hold two of them, and two `&mut` to one value would break Rust's
/// aliasing rule. So the data sits in a `RefCell`, which checks at run time
/// that each `borrow_mut()` is alone. Keep those borrows short: holding one
/// across a call that borrows again panics with "already borrowed".
struct ReentrantBank {
    balances: ReentrantMutex<RefCell<Balances>>,
}

impl ReentrantBank {
    fn new() -> Self {
        Self {
            balances: ReentrantMutex::new(RefCell::new(opening_balances())),
        }
    }

    fn deposit(&self, who: &str, amount: i64) {
        let guard = self.balances.lock();
        *guard.borrow_mut().get_mut(who).expect("known customer") += amount;
    }

    fn withdraw(&self, who: &str, amount: i64) -> Result<(), TransferError> {
        let guard = self.balances.lock();
        let mut balances = guard.borrow_mut();
        let balance = balances.get_mut(who).expect("known customer");
        if *balance < amount {
            return Err(TransferError::Insufficient);
        }
        *balance -= amount;
        Ok(())
    }

    /// Holds the lock across both calls, so no one ever sees the money
    /// gone from `from` but not yet in `to`. `withdraw` and `deposit` lock
    /// again on the same thread; a reentrant mutex lets them.
    fn transfer(&self, from: &str, to: &str, amount: i64) -> Result<(), TransferError> {
        let _whole_transfer = self.balances.lock();
        self.withdraw(from, amount)?;
        self.deposit(to, amount);
        Ok(())
    }

    fn total(&self) -> i64 {
        self.balances.lock().borrow().values().sum()
    }
}

/// Outcome of a run of concurrent transfers.
#[derive(Debug)]
struct Audit {
    balances: Balances,
    done: usize,
    refused: usize,
    /// Totals an auditor saw while the transfers ran; all must equal 3000.
    seen_totals: Vec<i64>,
}

/// Runs `per_thread` transfers of `amount` on each of three threads (Anna ⇄
/// Boris, Boris ⇄ Vera, Vera ⇄ Anna) while an auditor sums the accounts.
fn run_transfers(
    per_thread: usize,
    amount: i64,
    transfer: impl Fn(&str, &str, i64) -> Result<(), TransferError> + Sync,
    total: impl Fn() -> i64 + Sync,
    finish: impl FnOnce() -> Balances,
) -> Audit {
    let names: Vec<&str> = OPENING.iter().map(|(name, _)| *name).collect();
    let (done, refused, seen_totals) = thread::scope(|s| {
        let workers: Vec<_> = (0..names.len())
            .map(|i| {
                let (from, to) = (names[i], names[(i + 1) % names.len()]);
                let transfer = &transfer;
                s.spawn(move || {
                    // Back and forth, so the balances stay near their start.
                    (0..per_thread)
                        .filter(|k| match k % 2 {
                            0 => transfer(from, to, amount).is_ok(),
                            _ => transfer(to, from, amount).is_ok(),
                        })
                        .count()
                })
            })
            .collect();
        let auditor = s.spawn(|| (0..200).map(|_| total()).collect::<Vec<_>>());
        let done: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        let seen = auditor.join().unwrap();
        (done, names.len() * per_thread - done, seen)
    });
    Audit {
        balances: finish(),
        done,
        refused,
        seen_totals,
    }
}

/// Concurrent transfers through the reentrant bank.
fn reentrant_mutex(per_thread: usize, amount: i64) -> Audit {
    let bank = ReentrantBank::new();
    run_transfers(
        per_thread,
        amount,
        |from, to, amount| bank.transfer(from, to, amount),
        || bank.total(),
        || bank.balances.lock().borrow().clone(),
    )
}

fn show_reentrant_mutex() {
    print_audit(&reentrant_mutex(500, 7));
}

// ---------------------------------------------------------------------------
// The Rust way: lock once, pass `&mut` down.
// ---------------------------------------------------------------------------

/// The operations work on `&mut Balances` and know nothing about locks;
/// the borrow checker proves they have the data to themselves.
fn withdraw(balances: &mut Balances, who: &str, amount: i64) -> Result<(), TransferError> {
    let balance = balances.get_mut(who).expect("known customer");
    if *balance < amount {
        return Err(TransferError::Insufficient);
    }
    *balance -= amount;
    Ok(())
}

fn deposit(balances: &mut Balances, who: &str, amount: i64) {
    *balances.get_mut(who).expect("known customer") += amount;
}

/// Only the public entry points lock, exactly once each.
struct Bank {
    balances: Mutex<Balances>,
}

impl Bank {
    fn transfer(&self, from: &str, to: &str, amount: i64) -> Result<(), TransferError> {
        let mut balances = self.balances.lock().unwrap();
        withdraw(&mut balances, from, amount)?;
        deposit(&mut balances, to, amount);
        Ok(())
    }

    fn total(&self) -> i64 {
        self.balances.lock().unwrap().values().sum()
    }
}

/// Concurrent transfers through the lock-once bank.
fn lock_once(per_thread: usize, amount: i64) -> Audit {
    let bank = Bank {
        balances: Mutex::new(opening_balances()),
    };
    run_transfers(
        per_thread,
        amount,
        |from, to, amount| bank.transfer(from, to, amount),
        || bank.total(),
        || bank.balances.lock().unwrap().clone(),
    )
}

fn show_lock_once() {
    print_audit(&lock_once(500, 7));
}

fn print_audit(audit: &Audit) {
    println!("transfers done: {}, refused: {}", audit.done, audit.refused);
    println!("balances: {:?}", audit.balances);
    let odd = audit.seen_totals.iter().filter(|&&t| t != 3000).count();
    println!(
        "the auditor summed the bank {} times; totals other than 3000: {odd}",
        audit.seen_totals.len()
    );
}

#[rustfmt::skip]
fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 5.2 — Reentrant lock (RLock) («Реентерабельная блокировка (RLock)»)",
        &[
            Step::new("self_deadlock", "a std Mutex taken twice by one thread (checked with try_lock)", show_self_deadlock),
            Step::new("reentrant_mutex", "parking_lot::ReentrantMutex<RefCell<_>>: methods that lock call each other", show_reentrant_mutex),
            Step::new("lock_once", "the idiomatic fix: lock once, pass &mut down", show_lock_once),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(audit: &Audit, per_thread: usize) {
        assert_eq!(audit.done + audit.refused, 3 * per_thread);
        assert_eq!(audit.balances.values().sum::<i64>(), 3000);
        assert!(audit.balances.values().all(|&b| b >= 0), "{audit:?}");
        // Each transfer holds the lock from withdrawal to deposit.
        assert!(audit.seen_totals.iter().all(|&t| t == 3000), "{audit:?}");
    }

    #[test]
    fn std_mutex_is_not_reentrant() {
        assert!(self_deadlock());
    }

    #[test]
    fn a_reentrant_mutex_can_be_locked_again_by_its_owner() {
        let lock = ReentrantMutex::new(RefCell::new(0));
        let outer = lock.lock();
        let inner = lock.lock();
        *inner.borrow_mut() += 1;
        assert!(lock.is_owned_by_current_thread());
        // Another thread still has to wait.
        thread::scope(|s| {
            s.spawn(|| assert!(lock.try_lock().is_none()));
        });
        drop(inner);
        assert_eq!(*outer.borrow(), 1);
    }

    #[test]
    fn reentrant_transfers_keep_the_total() {
        check(&reentrant_mutex(300, 7), 300);
    }

    #[test]
    fn lock_once_transfers_keep_the_total() {
        check(&lock_once(300, 7), 300);
    }

    #[test]
    fn an_overdraft_is_refused_and_changes_nothing() {
        let bank = ReentrantBank::new();
        assert_eq!(
            bank.transfer("Anna", "Boris", 5000),
            Err(TransferError::Insufficient)
        );
        assert_eq!(*bank.balances.lock().borrow(), opening_balances());
    }
}
