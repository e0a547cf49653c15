//! Lesson 6.2 — Lock striping («Чередование блокировок»)
//!
//! One lock around a whole map makes every thread wait for every other, even
//! when they touch different keys. Striping splits the map into N shards,
//! each with its own lock, and picks the shard by the key's hash: threads
//! working on different shards no longer meet. Operations on the whole map
//! (length, snapshot) then take every stripe — always in the same order, so
//! two of them can never deadlock.
//!
//! | Python                                    | Rust                                             |
//! |-------------------------------------------|--------------------------------------------------|
//! | `lock = Lock(); d = {}`                   | `Mutex<HashMap<K, V>>` (one lock)                |
//! | `locks = [Lock() for _ in range(n)]`      | `Vec<CachePadded<Mutex<HashMap<K, V>>>>`         |
//! | `hash(key) % n`                           | `RandomState::hash_one(&key) % n`                |
//! | `with locks[i]: d[i][k] = d[i].get(k,0)+1` | `*stripe.lock().unwrap().entry(k).or_default() += 1` |
//! | `for l in locks: l.acquire()`             | `stripes.iter().map(\|s\| s.lock())` (fixed order)  |
//!
//! Striping removes waiting, and threads wait as long as an update holds
//! the lock. So each update here holds it for a few hundred ns of work (it
//! adds a reading to its key's total): with one lock that work runs one
//! update at a time, with stripes on every free core at once.
//!
//! The numbers depend on the free cores, the load and the build (`cargo run`
//! builds module 6 optimised: the root Cargo.toml). Nine rounds after a
//! warm-up (the `measure` crate's `RUNS_UNDER_LOAD`); the median, the spread,
//! and a `verdict:` that compares the variants round by round.
//!
//! - Run all steps: `cargo run -p module_06 --bin lesson_02`
//! - Run one step:  `cargo run -p module_06 --bin lesson_02 -- transfers`
//!
//! Production code can use `dashmap` (a sharded `RwLock<HashMap>`); it is
//! written out here because the striping is the lesson.
//!
//! Try:
//! - Set `HELD_ROUNDS` to 0 and run `-- striping`: an update holds the lock
//!   for a few ns, there is little waiting to remove, and one lock comes out
//!   as fast or faster (here once 1.3×): the stripes' second hash costs more.
//! - In `StripedMap::transfer`, lock `from`'s stripe first instead of the
//!   lower-numbered one, and run `cargo test -p module_06 --features model
//!   --bin lesson_02`: shuttle reports a deadlock and the schedule that leads
//!   to it. Why do the ordinary tests almost never see it?

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
// The stripes' locks come from std, or from the shuttle model checker when
// the `model` feature is on (see `mod model` at the bottom).
#[cfg(feature = "model")]
use shuttle::sync::{Mutex, MutexGuard};
#[cfg(not(feature = "model"))]
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use measure::{RUNS_UNDER_LOAD, best_marker, conditions, rounds, verdict};
use module_06::{Table, thread_count, work};
use step_runner::{Sink, Step, lesson_id};

/// Updates per thread per round.
const UPDATES_PER_THREAD: u64 = 40_000;
/// Work each update does while it holds its lock: rounds of
/// `module_06::work`, about a nanosecond each.
const HELD_ROUNDS: u32 = 300;
/// Distinct keys the updates spread over.
const KEYS: u64 = 10_000;
/// Stripe counts to compare.
const STRIPE_COUNTS: [usize; 4] = [1, 4, 16, 64];
/// Accounts in the transfer demo, and what each starts with.
const ACCOUNTS: u64 = 1_000;
const START_BALANCE: u64 = 100;
/// Transfers each thread attempts in the transfer demo.
const TRANSFERS_PER_THREAD: u64 = 20_000;

/// A hash map split into stripes, each behind its own lock.
///
/// `CachePadded` gives every stripe its own cache line: it aligns to 128
/// bytes on x86-64 and AArch64 (Intel's prefetcher pulls 64-byte lines in
/// pairs; crossbeam-utils' source says why), 32 to 256 elsewhere. A
/// `Mutex<HashMap>` is 56 bytes, so without padding two stripes share a
/// line, and locking one makes the other core's copy of its neighbour
/// invalid ("false sharing") — contention again, through the hardware.
struct StripedMap<K, V> {
    /// One hasher picks the stripe; each inner map hashes again with its own
    /// keys, so the stripe choice does not skew the inner tables.
    hasher: RandomState,
    stripes: Vec<CachePadded<Mutex<HashMap<K, V>>>>,
}

impl<K: Hash + Eq, V> StripedMap<K, V> {
    fn new(stripes: usize) -> Self {
        assert!(stripes > 0, "at least one stripe");
        Self {
            hasher: RandomState::new(),
            stripes: (0..stripes)
                .map(|_| CachePadded::new(Mutex::new(HashMap::new())))
                .collect(),
        }
    }

    /// The stripe that owns `key`: hash % N.
    fn stripe_of(&self, key: &K) -> usize {
        (self.hasher.hash_one(key) % self.stripes.len() as u64) as usize
    }

    fn lock(&self, stripe: usize) -> MutexGuard<'_, HashMap<K, V>> {
        // A poisoned stripe means a thread panicked mid-update; its map may
        // be half-changed, so propagating the panic is the safe choice.
        self.stripes[stripe]
            .lock()
            .expect("a thread panicked while updating this stripe")
    }

    /// Changes the value of `key` (starting from `V::default()`), holding
    /// only that key's stripe.
    fn update(&self, key: K, change: impl FnOnce(&mut V))
    where
        V: Default,
    {
        let stripe = self.stripe_of(&key);
        change(self.lock(stripe).entry(key).or_default());
    }

    /// Locks every stripe, in index order. Every whole-map operation goes
    /// through here, so all of them take the stripes in the same order and
    /// two can never each hold a stripe the other waits for.
    fn lock_all(&self) -> Vec<MutexGuard<'_, HashMap<K, V>>> {
        (0..self.stripes.len()).map(|i| self.lock(i)).collect()
    }

    /// The number of keys: a whole-map operation. Holding every stripe at
    /// once gives the length at one instant, not a sum of stale parts.
    fn len(&self) -> usize {
        self.lock_all().iter().map(|stripe| stripe.len()).sum()
    }

    /// A consistent copy of the whole map.
    fn snapshot(&self) -> HashMap<K, V>
    where
        K: Clone,
        V: Clone,
    {
        let stripes = self.lock_all();
        stripes
            .iter()
            .flat_map(|stripe| stripe.iter().map(|(k, v)| (k.clone(), v.clone())))
            .collect()
    }
}

impl<K: Hash + Eq> StripedMap<K, u64> {
    /// Moves `amount` from `from` to `to` if `from` has it. The two keys may
    /// live in two stripes: take the lower-numbered stripe first — the same
    /// global order as `lock_all`, so transfers and snapshots cannot deadlock.
    fn transfer(&self, from: &K, to: &K, amount: u64) -> bool {
        let (a, b) = (self.stripe_of(from), self.stripe_of(to));
        if a == b {
            // One stripe: locking it twice would deadlock on ourselves.
            let mut stripe = self.lock(a);
            if !take(&mut stripe, from, amount) {
                return false;
            }
            give(&mut stripe, to, amount);
            return true;
        }
        let (mut low, mut high) = (self.lock(a.min(b)), self.lock(a.max(b)));
        let (source, target) = if a < b {
            (&mut low, &mut high)
        } else {
            (&mut high, &mut low)
        };
        if !take(source, from, amount) {
            return false;
        }
        give(target, to, amount);
        true
    }
}

/// Takes `amount` from an existing balance; false if it is missing or short.
fn take<K: Hash + Eq>(map: &mut HashMap<K, u64>, key: &K, amount: u64) -> bool {
    match map.get_mut(key) {
        Some(balance) if *balance >= amount => {
            *balance -= amount;
            true
        }
        _ => false,
    }
}

/// Adds `amount` to an existing balance.
fn give<K: Hash + Eq>(map: &mut HashMap<K, u64>, key: &K, amount: u64) {
    // Transfers only go between accounts that were opened up front.
    *map.get_mut(key).expect("transfers go between accounts") += amount;
}

/// The reading the `i`-th update adds to its key's total: [`HELD_ROUNDS`]
/// rounds of work, done under the lock. Never 0, so a lost update shows.
fn reading(i: u64) -> u64 {
    1 + work(i, HELD_ROUNDS)
}

/// The key of the `i`-th update: a fixed, scrambled walk over `KEYS` keys.
fn key_of(i: u64, keys: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % keys
}

/// The map every variant must end with: each update added once, in any
/// order.
fn expected_totals(threads: usize, updates: u64, keys: u64) -> HashMap<u64, u64> {
    let mut totals = HashMap::new();
    for i in 0..threads as u64 * updates {
        *totals.entry(key_of(i, keys)).or_default() += reading(i);
    }
    totals
}

/// `threads` threads each apply `updates` updates through `apply`, which
/// gets the update's number; returns the wall time.
fn run_updates(threads: usize, updates: u64, apply: impl Fn(u64) + Sync) -> Duration {
    let start = Instant::now();
    thread::scope(|s| {
        for t in 0..threads as u64 {
            let apply = &apply;
            s.spawn(move || {
                for i in t * updates..(t + 1) * updates {
                    apply(i);
                }
            });
        }
    });
    start.elapsed()
}

/// Demo: the updates through one `Mutex<HashMap>`.
fn single_lock(threads: usize, updates: u64, keys: u64) -> (HashMap<u64, u64>, Duration) {
    let map = Mutex::new(HashMap::new());
    let elapsed = run_updates(threads, updates, |i| {
        // The guard first: in `*map.lock().unwrap().entry(k).or_default() +=
        // reading(i)`, the reading would run before the lock is taken (`a +=
        // b` on numbers evaluates `b` first: rustc's ui test eval-order.rs).
        let mut map = map.lock().unwrap();
        *map.entry(key_of(i, keys)).or_default() += reading(i);
    });
    (map.into_inner().unwrap(), elapsed)
}

/// Demo: the same updates through a map with `stripes` stripes.
fn striped(
    stripes: usize,
    threads: usize,
    updates: u64,
    keys: u64,
) -> (HashMap<u64, u64>, Duration) {
    let map = StripedMap::new(stripes);
    let elapsed = run_updates(threads, updates, |i| {
        map.update(key_of(i, keys), |total: &mut u64| *total += reading(i));
    });
    (map.snapshot(), elapsed)
}

/// The result of the transfer demo.
#[derive(Debug)]
struct Audit {
    /// The total of each snapshot the auditor took while transfers ran (all
    /// must equal the starting total).
    totals_seen: Vec<u64>,
    transfers_done: u64,
    final_total: u64,
    accounts: usize,
}

/// Demo: threads move money between accounts (two stripes, fixed order)
/// while an auditor snapshots the whole map (all stripes, same order). Each
/// snapshot must see the same total: a transfer is never half-visible.
fn transfers(stripes: usize, accounts: u64, threads: usize, transfers_each: u64) -> Audit {
    let map = StripedMap::new(stripes);
    for account in 0..accounts {
        map.update(account, |balance: &mut u64| *balance = START_BALANCE);
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    let (transfers_done, totals_seen) = thread::scope(|s| {
        let auditor = s.spawn(|| {
            let mut totals = Vec::new();
            // Acquire pairs with the Release store below: once the auditor
            // sees `done`, the loop ends; one last snapshot follows.
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                totals.push(map.snapshot().values().sum::<u64>());
                thread::yield_now();
            }
            totals
        });
        let movers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    (0..transfers_each)
                        .filter(|_| {
                            let from = rand::random_range(0..accounts);
                            let to = rand::random_range(0..accounts);
                            map.transfer(&from, &to, rand::random_range(1..=10))
                        })
                        .count() as u64
                })
            })
            .collect();
        let moved = movers.into_iter().map(|h| h.join().unwrap()).sum();
        done.store(true, std::sync::atomic::Ordering::Release);
        (moved, auditor.join().expect("the auditor panicked"))
    });
    Audit {
        totals_seen,
        transfers_done,
        final_total: map.snapshot().values().sum(),
        accounts: map.len(),
    }
}

/// Step `striping`: every variant, repeated; one lock vs the fastest stripes.
fn show_striping() {
    let threads = thread_count();
    let expected = expected_totals(threads, UPDATES_PER_THREAD, KEYS);
    // Variant 0 is the single lock, i the striped map with STRIPE_COUNTS[i - 1].
    let variants: Vec<usize> = (0..=STRIPE_COUNTS.len()).collect();
    println!("ms per run of one lock, then of {STRIPE_COUNTS:?} stripes:");
    let walls = rounds(&Sink::stdout(), &variants, RUNS_UNDER_LOAD, |i| {
        let (map, elapsed) = match i {
            0 => single_lock(threads, UPDATES_PER_THREAD, KEYS),
            _ => striped(STRIPE_COUNTS[i - 1], threads, UPDATES_PER_THREAD, KEYS),
        };
        assert_eq!(map, expected, "lost or extra updates");
        elapsed
    });
    let mut table = Table::new([
        "map",
        "stripes",
        "wall, ms (median)",
        "spread, ms",
        "ns/update per thread",
        "",
    ]);
    for (i, wall) in walls.iter().enumerate() {
        let (map, stripes) = match i {
            0 => ("Mutex<HashMap>", "-".to_owned()),
            _ => ("StripedMap", STRIPE_COUNTS[i - 1].to_string()),
        };
        table.row([
            map.to_owned(),
            stripes,
            wall.median_cell(),
            wall.spread_cell(),
            format!("{:.1}", wall.median() * 1e6 / UPDATES_PER_THREAD as f64),
            best_marker(&walls, i).to_owned(),
        ]);
    }
    print!("{table}");
    println!(
        "{threads} threads x {UPDATES_PER_THREAD} updates over {KEYS} keys, each holding its lock \
         for {HELD_ROUNDS} rounds of work, {RUNS_UNDER_LOAD} rounds; every run ended with the \
         same {} totals",
        expected.len()
    );
    println!("{}", conditions!());
    let fastest = (1..walls.len())
        .min_by(|&a, &b| walls[a].median().total_cmp(&walls[b].median()))
        .expect("at least one stripe count");
    let n = STRIPE_COUNTS[fastest - 1];
    let striping = format!("striping ({n} stripe{})", if n == 1 { "" } else { "s" });
    let compared = verdict(&striping, &walls[fastest], "one lock", &walls[0]);
    println!("{compared}");
}

/// Step `transfers`: the auditor's snapshots during concurrent transfers.
fn show_transfers() {
    let audit = transfers(16, ACCOUNTS, thread_count(), TRANSFERS_PER_THREAD);
    let total = ACCOUNTS * START_BALANCE;
    let torn = audit.totals_seen.iter().filter(|&&t| t != total).count();
    let (done, accounts, seen) = (
        audit.transfers_done,
        audit.accounts,
        audit.totals_seen.len(),
    );
    println!("{done} transfers between {accounts} accounts in 16 stripes");
    println!("{seen} snapshots taken meanwhile, {torn} of them with a total other than {total}");
    println!("final total: {}", audit.final_total);
    // A snapshot that locked the stripes one at a time (lock, copy, unlock,
    // next) could catch a transfer between its two stripes and see the
    // money twice or not at all.
}

const TITLE: &str = "Lesson 6.2 — Lock striping («Чередование блокировок»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> std::process::ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("striping", "one lock vs N striped locks", show_striping),
        Step::new("transfers", "whole-map snapshots during two-stripe transfers", show_transfers),
    ])
}

// The ordinary tests run on std's types; with the `model` feature the
// stripes' locks are shuttle's, which work only inside `shuttle::check_*`.
#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;

    #[test]
    fn striped_and_single_lock_maps_end_with_the_same_contents() {
        let expected = expected_totals(3, 2_000, 50);
        let (single, _) = single_lock(3, 2_000, 50);
        assert_eq!(single, expected);
        for stripes in [1, 4, 64] {
            let (map, _) = striped(stripes, 3, 2_000, 50);
            assert_eq!(map, single, "{stripes} stripes");
        }
    }

    #[test]
    fn every_key_lands_in_its_own_stripe_and_len_counts_all() {
        let map = StripedMap::new(8);
        for key in 0..100u64 {
            map.update(key, |v: &mut u64| *v = key);
        }
        assert_eq!(map.len(), 100);
        for key in 0..100u64 {
            let stripe = map.stripe_of(&key);
            assert_eq!(map.lock(stripe).get(&key), Some(&key));
        }
    }

    #[test]
    fn transfers_keep_every_snapshot_consistent_and_never_deadlock() {
        let audit = course_tests::deadline(Duration::from_secs(20), || transfers(4, 20, 3, 2_000));
        assert_eq!(audit.final_total, 20 * START_BALANCE);
        assert_eq!(audit.accounts, 20);
        assert!(
            audit.totals_seen.iter().all(|&t| t == 20 * START_BALANCE),
            "{:?}",
            audit.totals_seen
        );
        assert!(audit.transfers_done <= 3 * 2_000);
    }

    #[test]
    fn a_transfer_within_one_stripe_and_a_short_balance() {
        let map = StripedMap::new(1);
        map.update(1u64, |v: &mut u64| *v = 5);
        map.update(2u64, |v: &mut u64| *v = 0);
        assert!(map.transfer(&1, &2, 5));
        assert!(!map.transfer(&1, &2, 1), "balance is 0 now");
        assert_eq!(map.snapshot(), HashMap::from([(1, 0), (2, 5)]));
    }
}

/// Model checks of the striped map (`cargo test -p module_06 --features
/// model`): shuttle runs the threads under many random and PCT schedules,
/// with its own `Mutex` in place of std's. Two threads that each hold one
/// stripe and wait for the other block for good, which shuttle reports as a
/// deadlock.
#[cfg(test)]
#[cfg(feature = "model")]
mod model {
    use super::*;
    use shuttle::sync::Arc;
    use shuttle::thread;
    use std::panic;

    const ITERATIONS: usize = 2_000;

    type Transfer = fn(&StripedMap<u64, u64>, &u64, &u64, u64) -> bool;

    /// The property: two accounts in different stripes; one thread moves
    /// money from the first to the second while another moves it back, and
    /// the main thread takes a snapshot. No schedule deadlocks, the snapshot
    /// and the final map both hold the starting total.
    fn transfers_keep_the_total_and_never_deadlock(transfer: Transfer) {
        let map = Arc::new(StripedMap::new(2));
        let (a, b) = two_keys_in_different_stripes(&map);
        for account in [a, b] {
            map.update(account, |balance: &mut u64| *balance = START_BALANCE);
        }
        let movers: Vec<_> = [(a, b), (b, a)]
            .into_iter()
            .map(|(from, to)| {
                let map = Arc::clone(&map);
                thread::spawn(move || transfer(&map, &from, &to, 10))
            })
            .collect();
        let seen: u64 = map.snapshot().values().sum();
        for mover in movers {
            assert!(mover.join().expect("a mover does not panic"));
        }
        assert_eq!(
            seen,
            2 * START_BALANCE,
            "a snapshot saw a half-done transfer"
        );
        assert_eq!(map.snapshot().values().sum::<u64>(), 2 * START_BALANCE);
    }

    fn two_keys_in_different_stripes(map: &StripedMap<u64, u64>) -> (u64, u64) {
        let a = 0;
        let b = (1..)
            .find(|k| map.stripe_of(k) != map.stripe_of(&a))
            .expect("some key hashes to the other stripe");
        (a, b)
    }

    fn run(transfer: Transfer) {
        let property = move || transfers_keep_the_total_and_never_deadlock(transfer);
        shuttle::check_random(property, ITERATIONS);
        shuttle::check_pct(property, ITERATIONS, 3);
    }

    #[test]
    fn model_transfers_in_stripe_order_never_deadlock_and_keep_the_total() {
        run(StripedMap::transfer);
    }

    /// Broken: the source's stripe first, whatever its number. Two
    /// transfers in opposite directions each hold one stripe and wait for
    /// the other.
    fn transfer_source_first(
        map: &StripedMap<u64, u64>,
        from: &u64,
        to: &u64,
        amount: u64,
    ) -> bool {
        let mut source = map.lock(map.stripe_of(from));
        let mut target = map.lock(map.stripe_of(to));
        if !take(&mut source, from, amount) {
            return false;
        }
        give(&mut target, to, amount);
        true
    }

    #[test]
    fn model_catches_transfers_that_lock_the_source_first() {
        let failure = panic::catch_unwind(|| run(transfer_source_first))
            .expect_err("the checker must find the deadlock");
        let message = course_tests::panic_text(&*failure);
        assert!(message.contains("deadlock"), "{message}");
    }
}
