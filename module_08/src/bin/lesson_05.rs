//! Lesson 8.5 — Thread-safe list («Потокобезопасный список»)
//!
//! Threads that append results to one shared list. In CPython a single
//! `list.append` is atomic under the GIL, but `if len(lst) < n:
//! lst.append(x)` is not. In Rust the list goes behind a `Mutex` — or, better,
//! is not shared at all: each thread returns its own results through `join`
//! or sends them through a channel.
//!
//! | Python                                  | Rust                                             |
//! |-----------------------------------------|--------------------------------------------------|
//! | `results.append(x)` from many threads   | `results.lock().unwrap().push(x)` on a `Mutex<Vec<_>>` |
//! | `with lock: if len(lst) < n: lst.append(x)` | check and push under one guard               |
//! | results in a global list, then `join()` | each thread *returns* its `Vec`; `join` hands it back |
//! | `queue.Queue()` of results              | `mpsc::channel()`, iterate the receiver          |
//! | `pool.map(f, items)` (ordered results)  | join in spawn order, or `rayon`'s `par_iter().map().collect()` |
//!
//! - Run all steps: `cargo run -p module_08 --bin lesson_05`
//! - Run one step:  `cargo run -p module_08 --bin lesson_05 -- collect_by_join`
//!
//! Try: in `collect_by_channel`, delete `drop(sender)` and run
//! `-- collect_by_channel`: it never ends. Why does the receiver keep
//! waiting?

use std::process::ExitCode;
use std::sync::{Mutex, mpsc};
use std::thread;

use step_runner::{Step, lesson_id};

const TITLE: &str = "Lesson 8.5 — Thread-safe list («Потокобезопасный список»)";

/// Threads, and how many numbers each one squares.
const THREADS: u64 = 8;
const PER_THREAD: u64 = 1_000;
const TOTAL: u64 = THREADS * PER_THREAD;
/// `bounded_append` keeps at most this many results.
const CAPACITY: usize = 100;

// Pushing to one local `Vec` from several threads does not compile:
//
//     let mut results: Vec<u64> = Vec::new();
//     thread::scope(|s| {
//         for _ in 0..4 {
//             s.spawn(|| results.push(42));
//         }
//     });
//
//     error[E0499]: cannot borrow `results` as mutable more than once at a time
//
// Two threads inside `Vec::push` at once could both write the same slot or
// grow the buffer twice; Rust rules that out before the program runs.
// The error is checked by the compiler, beside the version that compiles:
// `compile_checks::lesson_05` in `module_08/src/lib.rs`
// (`cargo test -p module_08 --doc`).

/// The numbers thread `t` works on: a contiguous chunk of 1..=threads*per_thread.
fn chunk(t: u64, per_thread: u64) -> impl Iterator<Item = u64> {
    t * per_thread + 1..=(t + 1) * per_thread
}

/// Every thread pushes each result into one `Mutex<Vec>`. Nothing is lost,
/// but the order is whatever order the threads took the lock in.
fn mutex_vec(threads: u64, per_thread: u64) -> Vec<u64> {
    let results = Mutex::new(Vec::new());
    thread::scope(|s| {
        for t in 0..threads {
            let results = &results;
            s.spawn(move || {
                for n in chunk(t, per_thread) {
                    // Compute outside the lock, hold it only for the push.
                    let square = n * n;
                    results.lock().unwrap().push(square);
                }
            });
        }
    });
    results.into_inner().unwrap()
}

fn show_mutex_vec() {
    let results = mutex_vec(THREADS, PER_THREAD);
    println!(
        "{} of {TOTAL} results, first ten: {:?}",
        results.len(),
        &results[..10]
    );
}

/// "Keep the first `capacity` results": the length check and the push happen
/// under one guard. With the lock dropped between them, two threads could
/// both see `len == capacity - 1` and both push.
fn bounded_append(threads: u64, per_thread: u64, capacity: usize) -> Vec<u64> {
    let results = Mutex::new(Vec::with_capacity(capacity));
    thread::scope(|s| {
        for t in 0..threads {
            let results = &results;
            s.spawn(move || {
                for n in chunk(t, per_thread) {
                    let mut results = results.lock().unwrap();
                    if results.len() >= capacity {
                        break;
                    }
                    results.push(n * n);
                }
            });
        }
    });
    results.into_inner().unwrap()
}

fn show_bounded_append() {
    let results = bounded_append(THREADS, PER_THREAD, CAPACITY);
    println!("kept {} results (capacity {CAPACITY})", results.len());
}

/// No shared list at all: each thread builds and returns its own `Vec`, and
/// joining the handles in spawn order gives the sequential order back.
fn collect_by_join(threads: u64, per_thread: u64) -> Vec<u64> {
    thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || chunk(t, per_thread).map(|n| n * n).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

fn show_collect_by_join() {
    let results = collect_by_join(THREADS, PER_THREAD);
    println!("{} results, first ten: {:?}", results.len(), &results[..10]);
    println!("in input order: {}", results.is_sorted());
}

/// Results sent through a channel as they are ready, tagged with their
/// input so the receiver can restore the order if it needs to.
fn collect_by_channel(threads: u64, per_thread: u64) -> Vec<(u64, u64)> {
    let (sender, receiver) = mpsc::channel();
    thread::scope(|s| {
        for t in 0..threads {
            let sender = sender.clone();
            s.spawn(move || {
                for n in chunk(t, per_thread) {
                    // The receiver lives until the scope ends: send cannot fail.
                    sender.send((n, n * n)).unwrap();
                }
            });
        }
        // Drop the original sender, or the loop below would never end.
        drop(sender);
        receiver.iter().collect()
    })
}

fn show_collect_by_channel() {
    let mut results = collect_by_channel(THREADS, PER_THREAD);
    println!(
        "{} results, first five as received: {:?}",
        results.len(),
        &results[..5]
    );
    results.sort_unstable();
    println!("after sorting by input: {:?}", &results[..5]);
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("mutex_vec", "push into one Mutex<Vec>", show_mutex_vec),
        Step::new("bounded_append", "check the length and push under one guard", show_bounded_append),
        Step::new("collect_by_join", "each thread returns its Vec; join in order", show_collect_by_join),
        Step::new("collect_by_channel", "results through a channel, in completion order", show_collect_by_channel),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANY_THREADS: u64 = 16;
    const MANY: u64 = 5_000;

    fn sequential() -> Vec<u64> {
        (1..=MANY_THREADS * MANY).map(|n| n * n).collect()
    }

    #[test]
    fn the_mutex_vec_loses_nothing() {
        for _ in 0..3 {
            let mut results = mutex_vec(MANY_THREADS, MANY);
            results.sort_unstable();
            assert_eq!(results, sequential());
        }
    }

    #[test]
    fn bounded_append_never_overshoots() {
        let all = sequential();
        for capacity in [0, 1, 100, 4_999, 5_000, 5_001] {
            let results = bounded_append(MANY_THREADS, MANY, capacity);
            assert_eq!(results.len(), capacity);
            // Every kept value is a real result, kept once.
            let mut kept = results.clone();
            kept.sort_unstable();
            kept.dedup();
            assert_eq!(kept.len(), capacity);
            assert!(kept.iter().all(|v| all.binary_search(v).is_ok()));
        }
        // A capacity above the number of results keeps everything.
        assert_eq!(bounded_append(2, 10, 1_000).len(), 20);
    }

    #[test]
    fn collect_by_join_equals_the_sequential_result_in_order() {
        assert_eq!(collect_by_join(MANY_THREADS, MANY), sequential());
    }

    #[test]
    fn collect_by_channel_delivers_each_result_once() {
        course_tests::deadline(std::time::Duration::from_secs(20), || {
            let mut results = collect_by_channel(MANY_THREADS, MANY);
            results.sort_unstable();
            let expected: Vec<(u64, u64)> = (1..=MANY_THREADS * MANY).map(|n| (n, n * n)).collect();
            assert_eq!(results, expected);
        });
    }
}
