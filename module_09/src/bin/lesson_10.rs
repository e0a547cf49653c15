//! Lesson 9.10 — Many arguments, non-blocking (starmap_async) («Асинхронная обработка задач с множеством аргументов»)
//!
//! `pool.starmap_async(f, tuples, callback, error_callback)` is `starmap`
//! that returns at once: the caller gets an `AsyncResult`, and exactly one
//! of the callbacks runs with the whole ordered list or with the error. In
//! Rust: one task on the pool runs the parallel iterator over the tuples and
//! sends the outcome over a one-slot channel.
//!
//! | Python                                                | Rust                                                                 |
//! |-------------------------------------------------------|----------------------------------------------------------------------|
//! | `res = pool.starmap_async(f, [(a, b), …])`            | `pool.spawn(move \|\| tuples.into_par_iter().map(\|(a, b)\| f(a, b))…)` |
//! | `callback=cb` (the whole list, once)                  | `cb(&list)` in the task, before sending                              |
//! | `error_callback=ecb` (the first exception, once)      | `ecb(&error)` when `collect::<Result<Vec<_>, _>>` fails              |
//! | `res.get(timeout)`                                    | `rx.recv_timeout(timeout)`                                           |
//! | `res.successful()`                                    | `matches!(outcome, Ok(_))`                                           |
//!
//! Python's pool runs the tasks in worker processes; this lesson runs them
//! on rayon's threads. Python needs processes because its GIL lets one
//! thread at a time run Python code; Rust's threads run in parallel on every
//! core, so a thread pool is the Rust equivalent (9.1, 9.2 and 9.13 show
//! real processes, for isolation).
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_10`
//! - Run one step:  `cargo run -p module_09 --bin lesson_10 -- loan_payments`
//!
//! Try: set `DELAY` to 3 s and run `-- loan_payments`: submitting still
//! takes microseconds; only `get()` waits.

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use step_runner::{Step, lesson_id};

/// `pool.starmap_async(f, pairs, callback, error_callback)`: returns the
/// receiving end of a one-slot channel, Python's `AsyncResult`.
///
/// `f` reports failures with `Err`; a panic in `f` or in a callback would
/// leave the spawned rayon task and abort the process (9.4 shows catching
/// both).
fn starmap_async<A, B, R, F, C, E>(
    pool: &ThreadPool,
    pairs: Vec<(A, B)>,
    f: F,
    callback: C,
    error_callback: E,
) -> Receiver<Result<Vec<R>, String>>
where
    A: Send + 'static,
    B: Send + 'static,
    R: Send + 'static,
    F: Fn(A, B) -> Result<R, String> + Send + Sync + 'static,
    C: FnOnce(&[R]) + Send + 'static,
    E: FnOnce(&str) + Send + 'static,
{
    let (tx, rx) = crossbeam_channel::bounded(1);
    pool.spawn(move || {
        // The tuple is unpacked in the closure's parameter: Python's `*args`.
        let outcome: Result<Vec<R>, String> = pairs.into_par_iter().map(|(a, b)| f(a, b)).collect();
        match &outcome {
            Ok(list) => callback(list),
            Err(e) => error_callback(e),
        }
        let _ = tx.send(outcome);
    });
    rx
}

fn pool(threads: usize) -> ThreadPool {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the OS can start the pool's threads")
}

/// Monthly payment of an annuity loan, in cents, rounded: (principal in
/// cents, annual rate in basis points). Slowed down by `delay` to stand for
/// real work.
fn monthly_payment(
    principal_cents: u64,
    rate_bp: u32,
    months: u32,
    delay: Duration,
) -> Result<u64, String> {
    thread::sleep(delay);
    if months == 0 {
        return Err(format!("a loan of {principal_cents} cents over 0 months"));
    }
    let p = principal_cents as f64;
    let r = f64::from(rate_bp) / 10_000.0 / 12.0;
    let payment = if r == 0.0 {
        p / f64::from(months)
    } else {
        p * r / (1.0 - (1.0 + r).powi(-(months as i32)))
    };
    Ok(payment.round() as u64)
}

/// What the caller saw: how long submitting took, what each callback got,
/// and what `get` returned.
#[derive(Debug)]
struct Seen {
    submit_time: Duration,
    callback: Option<Vec<u64>>,
    error_callback: Option<String>,
    result: Result<Vec<u64>, String>,
}

/// Loans as `(principal, rate)` tuples, all over `months`.
fn loan_payments(loans: Vec<(u64, u32)>, months: u32, delay: Duration) -> Seen {
    let (cb_tx, cb_rx) = crossbeam_channel::bounded(1);
    let (ecb_tx, ecb_rx) = crossbeam_channel::bounded(1);
    let started = Instant::now();
    let rx = starmap_async(
        &pool(2),
        loans,
        move |principal, rate| monthly_payment(principal, rate, months, delay),
        move |list: &[u64]| {
            let _ = cb_tx.send(list.to_vec());
        },
        move |e: &str| {
            let _ = ecb_tx.send(e.to_owned());
        },
    );
    let submit_time = started.elapsed();
    let result = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|e| Err(format!("no result: {e}")));
    Seen {
        submit_time,
        callback: cb_rx.try_recv().ok(),
        error_callback: ecb_rx.try_recv().ok(),
        result,
    }
}

fn show_loan_payments() {
    let seen = loan_payments(LOANS.to_vec(), 12, DELAY);
    println!(
        "submitted in {:.2?}, then waited with get()",
        seen.submit_time
    );
    println!(
        "callback got monthly payments in cents: {:?}",
        seen.callback
    );
    println!("error callback got: {:?}", seen.error_callback);
    println!("successful(): {}", seen.result.is_ok());
}

/// The course's kind of data: 1 000 000.00, 250 000.00 and 50 000.00 at
/// 12%, 7.5% and 0%.
const LOANS: [(u64, u32); 3] = [(100_000_000, 1200), (25_000_000, 750), (5_000_000, 0)];
const DELAY: Duration = Duration::from_millis(300);

fn show_failing_tuple() {
    let seen = loan_payments(LOANS.to_vec(), 0, DELAY);
    println!("callback got: {:?}", seen.callback);
    println!("error callback got: {:?}", seen.error_callback);
    println!("get(): {:?}", seen.result);
}

const TITLE: &str = "Lesson 9.10 — Many arguments, non-blocking (starmap_async) («Асинхронная обработка задач с множеством аргументов»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("loan_payments", "starmap_async over (principal, rate) tuples", show_loan_payments),
        Step::new("failing_tuple", "0 months: the error callback runs instead", show_failing_tuple),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn results_match_the_sequential_loop_in_order() {
        let seen = loan_payments(LOANS.to_vec(), 12, Duration::ZERO);
        let expected: Vec<u64> = LOANS
            .iter()
            .map(|&(p, r)| monthly_payment(p, r, 12, Duration::ZERO).unwrap())
            .collect();
        // 1 000 000.00 at 12% over a year: 88 848.79 a month.
        assert_eq!(expected[0], 8_884_879);
        assert_eq!(expected[2], 416_667);
        assert_eq!(seen.result, Ok(expected.clone()));
        assert_eq!(seen.callback, Some(expected));
        assert_eq!(seen.error_callback, None);
    }

    #[test]
    fn a_failing_tuple_runs_only_the_error_callback() {
        let seen = loan_payments(LOANS.to_vec(), 0, Duration::ZERO);
        assert_eq!(seen.callback, None);
        assert!(
            seen.error_callback
                .as_deref()
                .unwrap()
                .contains("over 0 months")
        );
        assert_eq!(seen.result, Err(seen.error_callback.unwrap()));
    }

    #[test]
    fn starmap_async_does_not_wait_and_calls_back_once() {
        course_tests::deadline(Duration::from_secs(30), || {
            let calls = Arc::new(AtomicUsize::new(0));
            let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
            let counted = Arc::clone(&calls);
            let rx = starmap_async(
                &pool(2),
                vec![(1u64, 2u64), (3, 4), (5, 6)],
                // Every call waits for the gate, opened only after the
                // submit returned.
                move |a, b| {
                    let _ = gate_rx.recv();
                    Ok(a * b)
                },
                move |_: &[u64]| {
                    counted.fetch_add(1, Ordering::SeqCst);
                },
                |_: &str| panic!("no call fails"),
            );
            assert!(rx.is_empty());
            drop(gate_tx);
            assert_eq!(
                rx.recv_timeout(Duration::from_secs(20)).unwrap(),
                Ok(vec![2, 12, 30])
            );
            assert_eq!(calls.load(Ordering::SeqCst), 1);
        });
    }
}
