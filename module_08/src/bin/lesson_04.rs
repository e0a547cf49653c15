//! Lesson 8.4 — Thread-safe map (dict) («Потокобезопасный словарь»)
//!
//! A map shared by threads: in CPython one `d[k] = v` with a built-in key
//! type is atomic under the GIL (a key whose `__hash__` or `__eq__` is
//! Python code lets other threads run inside it). `if k not in d: d[k] = v`
//! and `d[k] += 1` are several steps, and nothing makes them one: whether a
//! given CPython switches threads between them depends on its version (see
//! lesson 8.1), and free-threaded builds run the threads truly at once.
//! Rust will not let threads touch a bare `HashMap` at all; put it behind a
//! `Mutex` or `RwLock` and do check-then-act through the entry API under
//! one guard.
//!
//! | Python                                  | Rust                                                   |
//! |-----------------------------------------|--------------------------------------------------------|
//! | `d[k] = v` from many threads            | `map.lock().unwrap().insert(k, v)`                      |
//! | `d[k] = d.get(k, 0) + 1` under a lock   | `*map.lock().unwrap().entry(k).or_insert(0) += 1`       |
//! | `if k not in d: d[k] = v` (racy)        | `match guard.entry(k) { Vacant(e) => …, Occupied(_) => … }` |
//! | `d.setdefault(k, v)`                    | `guard.entry(k).or_insert(v)`                            |
//! | many readers, few writers + `Lock`      | `RwLock<HashMap>`: `read()` shared, `write()` exclusive |
//!
//! - Run all steps: `cargo run -p module_08 --bin lesson_04`
//! - Run one step:  `cargo run -p module_08 --bin lesson_04 -- claim_with_entry`
//!
//! Try: in `Cache::get_or_compute`, replace `read()` with `write()`: every
//! result stays the same. What do the readers lose?

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex, RwLock};
use std::thread;

use step_runner::{Step, lesson_id};

const TITLE: &str = "Lesson 8.4 — Thread-safe map (dict) («Потокобезопасный словарь»)";

/// Threads that race for the seats, and how many seats there are.
const THREADS: usize = 8;
const SEATS: u32 = 1_000;

// Sharing a plain map, the Python way, does not compile. An `Arc` hands out
// shared references only:
//
//     let shared: Arc<HashMap<String, u32>> = …;
//     thread::spawn(move || shared.insert("apple".to_owned(), 1));
//
//     error[E0596]: cannot borrow data in an `Arc` as mutable
//
// and scoped threads cannot each hold `&mut map` (E0499, see lesson 8.1).
// The error is checked by the compiler, beside the version that compiles:
// `compile_checks::lesson_04` in `module_08/src/lib.rs`
// (`cargo test -p module_08 --doc`).

/// Seat number → the thread that booked it.
type Bookings = Mutex<HashMap<u32, usize>>;

/// Check-then-act with the lock dropped in between, the shape of
/// `if seat not in bookings: bookings[seat] = who`. Safe Rust, but a logic
/// race: two threads can both see the seat free and both report success;
/// the later `insert` silently overwrites the earlier one.
fn book_racy(bookings: &Bookings, seat: u32, who: usize) -> bool {
    // The guard is a temporary: it is released at the end of this statement.
    let free = !bookings.lock().unwrap().contains_key(&seat);
    if !free {
        return false;
    }
    // Stands for any work between the check and the act.
    thread::yield_now();
    bookings.lock().unwrap().insert(seat, who);
    true
}

/// Check and act under one guard: the entry API looks the key up once and
/// inserts into the same slot, with no window for another thread.
fn book(bookings: &Bookings, seat: u32, who: usize) -> bool {
    match bookings.lock().unwrap().entry(seat) {
        Entry::Vacant(slot) => {
            slot.insert(who);
            true
        }
        Entry::Occupied(_) => false,
    }
}

/// Every thread tries to book every seat. Returns, per thread, the seats it
/// was told it got, and the final bookings.
fn race_for_seats(
    threads: usize,
    seats: u32,
    try_book: fn(&Bookings, u32, usize) -> bool,
) -> (Vec<Vec<u32>>, HashMap<u32, usize>) {
    let bookings = Mutex::new(HashMap::new());
    let start = Barrier::new(threads);
    let won = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|who| {
                let (bookings, start) = (&bookings, &start);
                s.spawn(move || {
                    start.wait();
                    // Everyone tries the seats in the same order, front row
                    // first: the worst case, where the threads collide most.
                    (0..seats)
                        .filter(|&seat| try_book(bookings, seat, who))
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    (won, bookings.into_inner().unwrap())
}

fn show_check_then_act_race() {
    let (won, bookings) = race_for_seats(THREADS, SEATS, book_racy);
    let reported: usize = won.iter().map(Vec::len).sum();
    println!(
        "{SEATS} seats, {} booked, {reported} bookings confirmed",
        bookings.len()
    );
    println!(
        "confirmed, then overwritten by another thread: {}",
        reported - bookings.len()
    );
}

fn show_claim_with_entry() {
    let (won, bookings) = race_for_seats(THREADS, SEATS, book);
    let reported: usize = won.iter().map(Vec::len).sum();
    println!(
        "{SEATS} seats, {} booked, {reported} bookings confirmed",
        bookings.len()
    );
    for (who, seats) in won.iter().enumerate() {
        println!("thread {who} got {} seats", seats.len());
    }
}

/// The word lists for `word_count`: `threads` chunks of `words` words drawn
/// from a small vocabulary, so the threads hit the same keys all the time.
fn word_chunks(threads: usize, words: usize) -> Vec<Vec<String>> {
    const VOCABULARY: [&str; 8] = [
        "thread", "lock", "queue", "event", "pool", "future", "barrier", "timer",
    ];
    (0..threads)
        .map(|t| {
            (0..words)
                .map(|i| VOCABULARY[(i * i + t) % 7 + i % 2].to_owned())
                .collect()
        })
        .collect()
}

fn sorted<K: Ord + Clone, V: Clone>(map: &HashMap<K, V>) -> Vec<(K, V)> {
    let mut pairs: Vec<_> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    pairs
}

/// Word counting into one `Mutex<HashMap>`: read-modify-write of a count
/// under one guard (`d[w] = d.get(w, 0) + 1` in Python).
fn word_count(chunks: &[Vec<String>]) -> HashMap<String, u64> {
    let counts = Mutex::new(HashMap::new());
    thread::scope(|s| {
        for chunk in chunks {
            let counts = &counts;
            s.spawn(move || {
                for word in chunk {
                    *counts.lock().unwrap().entry(word.clone()).or_insert(0) += 1;
                }
            });
        }
    });
    // With many words per thread, counting into a local map and merging
    // after `join` takes the lock far less often; see lesson 8.5.
    counts.into_inner().unwrap()
}

fn show_word_count() {
    let counts = word_count(&word_chunks(THREADS, 10_000));
    for (word, count) in sorted(&counts) {
        println!("{word:>8}: {count}");
    }
}

/// A read-mostly cache: `RwLock` lets any number of readers look values up
/// at once; only a miss takes the exclusive write lock.
#[derive(Debug, Default)]
struct Cache {
    values: RwLock<HashMap<u64, u64>>,
    computed: AtomicU64,
}

impl Cache {
    fn get_or_compute(&self, key: u64, compute: impl FnOnce(u64) -> u64) -> u64 {
        // The read guard is dropped at the end of this statement.
        let hit = self.values.read().unwrap().get(&key).copied();
        if let Some(value) = hit {
            return value;
        }
        // A read guard cannot be upgraded in place (two upgraders would wait
        // for each other forever), so take the write lock and check again
        // through `entry`: another thread may have filled the slot meanwhile.
        // `compute` runs under the write lock; for slow computations use a
        // per-key `OnceLock` instead, so readers of other keys are not held up.
        let mut values = self.values.write().unwrap();
        *values.entry(key).or_insert_with(|| {
            self.computed.fetch_add(1, Ordering::Relaxed);
            compute(key)
        })
    }
}

/// Steps of the Collatz sequence from `n` down to 1: something to cache.
fn collatz_steps(mut n: u64) -> u64 {
    let mut steps = 0;
    while n > 1 {
        n = if n.is_multiple_of(2) {
            n / 2
        } else {
            3 * n + 1
        };
        steps += 1;
    }
    steps
}

/// `threads` threads look up the keys 1..=keys, each starting at a different
/// key. Returns the cache's contents and how many values were computed.
fn cached_lookups(threads: usize, keys: u64) -> (HashMap<u64, u64>, u64) {
    let cache = Cache::default();
    thread::scope(|s| {
        for t in 0..threads as u64 {
            let cache = &cache;
            s.spawn(move || {
                for i in 0..keys {
                    let key = (t * 7 + i) % keys + 1;
                    let steps = cache.get_or_compute(key, collatz_steps);
                    assert_eq!(
                        steps,
                        collatz_steps(key),
                        "the cache returned a wrong value"
                    );
                }
            });
        }
    });
    let computed = cache.computed.load(Ordering::Relaxed);
    (cache.values.into_inner().unwrap(), computed)
}

fn show_rwlock_cache() {
    let (values, computed) = cached_lookups(THREADS, 1_000);
    println!("{} keys cached, {computed} computations", values.len());
    let (key, steps) = values
        .iter()
        .max_by_key(|&(_, s)| s)
        .expect("the cache should hold at least one key");
    println!("longest Collatz chain below 1001: {key} takes {steps} steps");
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("check_then_act_race", "check, unlock, insert: seats booked twice", show_check_then_act_race),
        Step::new("claim_with_entry", "the entry API under one guard: each seat once", show_claim_with_entry),
        Step::new("word_count", "counting into a Mutex<HashMap>", show_word_count),
        Step::new("rwlock_cache", "a read-mostly RwLock<HashMap> cache", show_rwlock_cache),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_api_books_every_seat_exactly_once() {
        for _ in 0..3 {
            let (won, bookings) = race_for_seats(THREADS, SEATS, book);
            assert_eq!(bookings.len(), SEATS as usize);
            // Every confirmation is real: the map names that thread, and no
            // seat was confirmed twice.
            assert_eq!(won.iter().map(Vec::len).sum::<usize>(), SEATS as usize);
            for (who, seats) in won.iter().enumerate() {
                for seat in seats {
                    assert_eq!(bookings[seat], who, "seat {seat}");
                }
            }
        }
    }

    #[test]
    fn the_racy_booking_fills_every_seat_but_may_confirm_too_many() {
        // Whether a seat gets double-booked depends on scheduling; the
        // allowed outcomes are "every seat taken" and "at least one
        // confirmation per seat".
        let (won, bookings) = race_for_seats(THREADS, SEATS, book_racy);
        assert_eq!(bookings.len(), SEATS as usize);
        assert!(won.iter().map(Vec::len).sum::<usize>() >= SEATS as usize);
    }

    #[test]
    fn word_count_matches_the_sequential_count() {
        let chunks = word_chunks(THREADS, 5_000);
        let mut expected: HashMap<String, u64> = HashMap::new();
        for word in chunks.iter().flatten() {
            *expected.entry(word.clone()).or_default() += 1;
        }
        for _ in 0..3 {
            assert_eq!(word_count(&chunks), expected);
        }
        assert_eq!(expected.values().sum::<u64>(), THREADS as u64 * 5_000);
    }

    #[test]
    fn the_cache_computes_each_key_once() {
        for _ in 0..3 {
            let (values, computed) = cached_lookups(THREADS, 2_000);
            assert_eq!(computed, 2_000);
            let expected: HashMap<u64, u64> = (1..=2_000).map(|k| (k, collatz_steps(k))).collect();
            assert_eq!(values, expected);
        }
        assert_eq!(collatz_steps(27), 111);
    }
}
