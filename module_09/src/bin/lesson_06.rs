//! Lesson 9.6 — Process a collection, non-blocking (map_async) («Асинхронная обработка коллекций»)
//!
//! `pool.map_async(f, items, callback, error_callback)` starts a whole `map`
//! and returns at once; the callback gets the full, ordered list when the last
//! item is done. In rayon: spawn one task on the pool that runs the parallel
//! iterator (it splits across the pool from there) and sends the list back
//! over a one-slot channel.
//!
//! | Python                                          | Rust                                                                  |
//! |-------------------------------------------------|-----------------------------------------------------------------------|
//! | `res = pool.map_async(f, items)`                | `pool.spawn(move \|\| { let v = items.into_par_iter().map(f).collect(); … })` |
//! | `map_async(..., callback=cb)`                   | `cb(&list)` once, with every result, in order                         |
//! | `map_async(..., error_callback=ecb)`            | `ecb(&error)` once if any item fails (`collect::<Result<Vec<_>, _>>`) |
//! | `res.ready()` / `res.get(timeout)`              | `AsyncResult` below: `rx.recv_timeout` once, the outcome kept         |
//! | `while not res.ready(): work()`                 | poll `ready()` between pieces of the caller's own work                |
//!
//! Python's pool runs the tasks in worker processes; this lesson runs them
//! on rayon's threads. Python needs processes because its GIL lets one
//! thread at a time run Python code; Rust's threads run in parallel on every
//! core, so a thread pool is the Rust equivalent (9.1, 9.2 and 9.13 show
//! real processes, for isolation).
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_06`
//! - Run one step:  `cargo run -p module_09 --bin lesson_06 -- map_async_error`
//!
//! Try: halve `TICK` and run `-- map_async_with_callback`: the caller now
//! finishes about twice as many pieces of its own work while the map runs.

use std::process::ExitCode;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use step_runner::{Step, lesson_id};

/// Python's `AsyncResult` for a whole map: one list, or the error. The
/// outcome is kept once it has arrived, so `get` returns it again and
/// `ready` stays true, as in Python (lesson 9.4 says more).
struct AsyncResult<T> {
    rx: Receiver<Result<Vec<T>, String>>,
    /// Held while receiving: two threads in `get` never both wait for the
    /// one message.
    outcome: Mutex<Option<Result<Vec<T>, String>>>,
}

impl<T: Clone> AsyncResult<T> {
    /// Whether the map has ended; stays true from then on.
    fn ready(&self) -> bool {
        self.get(Duration::ZERO).is_some()
    }

    /// `None` if the map has not finished within `timeout`.
    fn get(&self, timeout: Duration) -> Option<Result<Vec<T>, String>> {
        let mut outcome = self.outcome.lock().unwrap();
        if outcome.is_none() {
            *outcome = Some(match self.rx.recv_timeout(timeout) {
                Ok(answer) => answer,
                Err(RecvTimeoutError::Timeout) => return None,
                // The task sends before it ends; this is a task that never ran.
                Err(RecvTimeoutError::Disconnected) => Err("the map was dropped unrun".to_owned()),
            });
        }
        outcome.clone()
    }
}

/// `pool.map_async(f, items, callback, error_callback)`.
///
/// Items must fail with `Err`, and neither they nor the callbacks may panic:
/// a panic that leaves a spawned rayon task aborts the process (lesson 9.4
/// catches the task's and the callbacks' panics with `catch_unwind`).
fn map_async<T, R, F, C, E>(
    pool: &ThreadPool,
    items: Vec<T>,
    f: F,
    callback: C,
    error_callback: E,
) -> AsyncResult<R>
where
    T: Send + 'static,
    R: Clone + Send + 'static,
    F: Fn(T) -> Result<R, String> + Send + Sync + 'static,
    C: FnOnce(&[R]) + Send + 'static,
    E: FnOnce(&str) + Send + 'static,
{
    let (tx, rx) = crossbeam_channel::bounded(1);
    pool.spawn(move || {
        // Running on a pool thread, `into_par_iter` splits over this pool.
        let outcome: Result<Vec<R>, String> = items.into_par_iter().map(f).collect();
        match &outcome {
            Ok(list) => callback(list),
            Err(e) => error_callback(e),
        }
        let _ = tx.send(outcome);
    });
    AsyncResult {
        rx,
        outcome: Mutex::new(None),
    }
}

fn pool(threads: usize) -> ThreadPool {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the OS can start the pool's threads")
}

fn slow_cube(x: u64, delay: Duration) -> Result<u64, String> {
    thread::sleep(delay);
    Ok(x * x * x)
}

/// What the caller did while the map ran, and what it got.
#[derive(Debug)]
struct Outcome {
    /// Pieces of its own work the caller finished while waiting.
    ticks: u32,
    callback_got: Option<Vec<u64>>,
    result: Option<Result<Vec<u64>, String>>,
}

/// Start the map, keep the caller busy with its own work, then collect.
fn map_async_with_callback(items: Vec<u64>, delay: Duration, tick: Duration) -> Outcome {
    let (cb_tx, cb_rx) = crossbeam_channel::bounded(1);
    let handle = map_async(
        &pool(4),
        items,
        move |x| slow_cube(x, delay),
        move |list: &[u64]| {
            let _ = cb_tx.send(list.to_vec());
        },
        |_: &str| {},
    );
    let mut ticks = 0;
    while !handle.ready() {
        // The caller's own work, done while the pool computes.
        thread::sleep(tick);
        ticks += 1;
    }
    Outcome {
        ticks,
        result: handle.get(Duration::ZERO),
        callback_got: cb_rx.try_recv().ok(),
    }
}

fn show_map_async_with_callback() {
    let o = map_async_with_callback((1..=8).collect(), DELAY, TICK);
    println!(
        "the caller did {} ticks of its own work while waiting",
        o.ticks
    );
    println!("callback got: {:?}", o.callback_got);
    println!("get(): {:?}", o.result);
}

/// One failing item: the error callback runs once; `get` returns the error.
fn map_async_error(items: Vec<i64>) -> (Option<String>, Option<Result<Vec<i64>, String>>) {
    let (ecb_tx, ecb_rx) = crossbeam_channel::bounded(1);
    let handle = map_async(
        &pool(2),
        items,
        |x: i64| {
            100i64
                .checked_div(x)
                .ok_or_else(|| format!("cannot divide 100 by {x}"))
        },
        |_: &[i64]| {},
        move |e: &str| {
            let _ = ecb_tx.send(e.to_owned());
        },
    );
    let result = handle.get(Duration::from_secs(60));
    (ecb_rx.try_recv().ok(), result)
}

fn show_map_async_error() {
    let (error_callback_got, result) = map_async_error(vec![5, 4, 0, 2]);
    println!("error callback got: {error_callback_got:?}");
    println!("get(): {result:?}");
}

const DELAY: Duration = Duration::from_millis(500);
const TICK: Duration = Duration::from_millis(100);

const TITLE: &str = "Lesson 9.6 — Process a collection, non-blocking (map_async) («Асинхронная обработка коллекций»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("map_async_with_callback", "the caller works while the map runs", show_map_async_with_callback),
        Step::new("map_async_error", "one failing item: error callback, once", show_map_async_error),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn map_async_returns_before_any_item_can_finish() {
        course_tests::deadline(Duration::from_secs(30), || {
            let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
            let handle = map_async(
                &pool(2),
                (0..6u64).collect(),
                // Items wait for the gate, which opens only after map_async
                // returned: proof that the call did not wait for them.
                move |x| {
                    let _ = gate_rx.recv();
                    Ok(x * 10)
                },
                |_: &[u64]| {},
                |_: &str| {},
            );
            assert!(!handle.ready());
            assert_eq!(handle.get(Duration::from_millis(10)), None);
            drop(gate_tx); // disconnecting opens the gate for every item
            assert_eq!(
                handle.get(Duration::from_secs(20)),
                Some(Ok(vec![0, 10, 20, 30, 40, 50]))
            );
            // As in Python: ready stays true, and get returns the list again.
            assert!(handle.ready());
            assert_eq!(
                handle.get(Duration::ZERO),
                Some(Ok(vec![0, 10, 20, 30, 40, 50]))
            );
        });
    }

    #[test]
    fn the_callback_runs_once_with_the_ordered_list() {
        let o = map_async_with_callback(
            (1..=8).collect(),
            Duration::from_millis(5),
            Duration::from_millis(1),
        );
        let cubes: Vec<u64> = (1..=8).map(|x| x * x * x).collect();
        assert_eq!(o.callback_got, Some(cubes.clone()));
        assert_eq!(o.result, Some(Ok(cubes)));
    }

    #[test]
    fn exactly_one_callback_runs_per_map() {
        course_tests::deadline(Duration::from_secs(30), || {
            let ok = Arc::new(AtomicUsize::new(0));
            let failed = Arc::new(AtomicUsize::new(0));
            let p = pool(2);
            let handles: Vec<_> = [vec![1, 2, 3], vec![1, 0, 3], vec![0, 0], vec![]]
                .into_iter()
                .map(|items| {
                    let (ok, failed) = (Arc::clone(&ok), Arc::clone(&failed));
                    map_async(
                        &p,
                        items,
                        |x: i64| {
                            if x == 0 {
                                Err("zero".to_owned())
                            } else {
                                Ok(x)
                            }
                        },
                        move |_: &[i64]| {
                            ok.fetch_add(1, Ordering::SeqCst);
                        },
                        move |_: &str| {
                            failed.fetch_add(1, Ordering::SeqCst);
                        },
                    )
                })
                .collect();
            for h in &handles {
                assert!(h.get(Duration::from_secs(20)).is_some());
            }
            // Two maps succeed (one of them empty), two fail: one callback each.
            assert_eq!(ok.load(Ordering::SeqCst), 2);
            assert_eq!(failed.load(Ordering::SeqCst), 2);
        });
    }

    #[test]
    fn a_failing_item_reaches_the_error_callback() {
        let (ecb, result) = map_async_error(vec![5, 4, 0, 2]);
        assert_eq!(ecb.as_deref(), Some("cannot divide 100 by 0"));
        assert_eq!(result, Some(Err("cannot divide 100 by 0".to_owned())));
        let (ecb, result) = map_async_error(vec![5, 4, 2]);
        assert_eq!(ecb, None);
        assert_eq!(result, Some(Ok(vec![20, 25, 50])));
    }
}
