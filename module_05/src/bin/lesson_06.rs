//! Lesson 5.6 — Stopping all tasks («Как остановить все задачи»)
//!
//! Neither Python nor Rust can kill a running thread: a thread killed while
//! holding a lock or half-way through an update would leave the program
//! broken. Stopping is cooperative: raise a shared flag, and let every task
//! check it between units of work. Work still waiting in a queue is simply
//! never started.
//!
//! | Python                                     | Rust                                                   |
//! |--------------------------------------------|--------------------------------------------------------|
//! | `stop = threading.Event()`; `stop.set()`   | `Arc<AtomicBool>`; `stop.store(true, Release)`         |
//! | `while not stop.is_set(): ...`             | `while !stop.load(Acquire) { ... }`                    |
//! | `stop.wait(timeout)` as an interruptible sleep | `stop_rx.recv_timeout(t)` on a channel closed at stop |
//! | `future.cancel()` → `False` once running   | no cancel for threads; check a flag                    |
//! | `executor.shutdown(cancel_futures=True)`   | workers stop taking jobs; the queue is dropped         |
//! | `task.cancel()` (asyncio)                  | `tokio::task::JoinHandle::abort` (at the next `.await`) |
//!
//! - Run all steps: `cargo run -p module_05 --bin lesson_06`
//! - Run one step:  `cargo run -p module_05 --bin lesson_06 -- queued_work_dropped`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `cooperative_stop`, delete the `stop.store(true, …)` line and
//! run `-- cooperative_stop`: it never ends (Ctrl-C). Nothing from outside
//! can stop a thread, in Rust as in Python: the flag it checks is the only
//! way in.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use step_runner::{Step, lesson_id};

// ---------------------------------------------------------------------------
// The stop flag.
// ---------------------------------------------------------------------------

/// What one worker did before it stopped.
#[derive(Debug)]
struct WorkerReport {
    units: u32,
    /// When the worker noticed the flag and returned, from the start.
    stopped_at: Duration,
}

/// `workers` threads each do units of work lasting `interval`, checking the
/// flag before each unit; after `run_for` the main thread raises the flag.
/// Returns when the flag was raised and each worker's report.
///
/// `spawn` needs `'static` closures, so the flag is shared through an `Arc`.
/// `Release` on the store and `Acquire` on the load make everything written
/// before the stop visible to a worker that sees it.
fn cooperative_stop(
    workers: usize,
    interval: Duration,
    run_for: Duration,
) -> (Duration, Vec<WorkerReport>) {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut units = 0;
                while !stop.load(Ordering::Acquire) {
                    thread::sleep(interval); // one unit of work
                    units += 1;
                }
                WorkerReport {
                    units,
                    stopped_at: start.elapsed(),
                }
            })
        })
        .collect();
    thread::sleep(run_for);
    stop.store(true, Ordering::Release);
    let stop_at = start.elapsed();
    let reports = handles.into_iter().map(|h| h.join().unwrap()).collect();
    (stop_at, reports)
}

// ---------------------------------------------------------------------------
// Running work cannot be cancelled; waiting can be interrupted.
// ---------------------------------------------------------------------------

/// Two workers asked to stop right after they begin a `work`-long wait.
/// Returns how long each took to stop: one sleeps and cannot hear the
/// request; the other waits on a channel that the stop closes.
fn no_cancel(work: Duration) -> (Duration, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let deaf = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            // A sleep (or a long computation, or a blocking call) cannot be
            // interrupted from outside; the flag is only read afterwards.
            thread::sleep(work);
            stop.load(Ordering::Acquire)
        })
    };
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
    let listening = thread::spawn(move || {
        // Waits like a sleep, but ends as soon as the sender is dropped.
        matches!(
            stop_rx.recv_timeout(work),
            Err(RecvTimeoutError::Disconnected)
        )
    });

    let asked = Instant::now();
    stop.store(true, Ordering::Release);
    drop(stop_tx);
    let heard = listening.join().unwrap();
    let listening_took = asked.elapsed();
    let saw_flag = deaf.join().unwrap();
    let deaf_took = asked.elapsed();
    assert!(heard && saw_flag, "both workers end up seeing the stop");
    (deaf_took, listening_took)
}

fn show_no_cancel() {
    let (deaf, listening) = no_cancel(Duration::from_secs(2));
    println!(
        "asked to stop during a 2 s sleep: stopped after {}",
        ms(deaf)
    );
    println!(
        "asked to stop during a 2 s channel wait: stopped after {}",
        ms(listening)
    );
}

/// Async tasks are the exception: tokio can cancel a task, because a task
/// hands control back to the runtime at every `.await` that has to wait.
/// `abort` drops it the next time it does (`tokio::task` docs,
/// "Cancellation"); a task that never yields cannot be aborted either.
/// Returns whether the task ended as cancelled, and the ticks it counted.
fn async_abort(tick: Duration, run_for: Duration) -> (bool, u32) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("building a tokio runtime should work");
    let ticks = Arc::new(AtomicU32::new(0));
    let cancelled = runtime.block_on(async {
        let task = {
            let ticks = Arc::clone(&ticks);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(tick).await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        tokio::time::sleep(run_for).await;
        task.abort();
        task.await.is_err_and(|e| e.is_cancelled())
    });
    (cancelled, ticks.load(Ordering::Relaxed))
}

fn show_async_abort() {
    let (cancelled, ticks) = async_abort(Duration::from_millis(100), Duration::from_millis(550));
    println!("the task counted {ticks} ticks; aborted and cancelled: {cancelled}");
}

// ---------------------------------------------------------------------------
// A pool with a queue: stop the running jobs, drop the queued ones.
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Completed,
    /// Stopped part-way, after this many steps.
    Stopped(u32),
    /// Never did any work: still queued at the stop, or taken just as it came.
    NotStarted,
}

#[derive(Clone, Copy, Debug)]
struct JobReport {
    job: u32,
    outcome: Outcome,
    /// When its first step began, if it did any work.
    first_step_at: Option<Duration>,
    /// When it finished or stopped, if it did any work.
    ended_at: Option<Duration>,
}

/// `jobs` jobs of `steps` steps (each `interval` long) queued for `workers`
/// workers; the stop comes after `stop_after`. Returns when the stop came
/// and a report for every job, by job number.
///
/// A job checks the flag before each step, so a running job ends within
/// one step of the stop. Workers check it before taking the next job;
/// what is left in the queue is drained and reported, then dropped.
fn queued_work_dropped(
    jobs: u32,
    steps: u32,
    interval: Duration,
    workers: usize,
    stop_after: Duration,
) -> (Duration, Vec<JobReport>) {
    let (queue_tx, queue_rx) = crossbeam_channel::unbounded();
    for job in 1..=jobs {
        queue_tx.send(job).expect("the receiver is alive");
    }
    drop(queue_tx); // no more jobs: workers end when the queue is empty
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();

    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let (queue, stop) = (queue_rx.clone(), Arc::clone(&stop));
            thread::spawn(move || {
                let mut reports = Vec::new();
                while !stop.load(Ordering::Acquire) {
                    let Ok(job) = queue.recv() else { break };
                    let mut report = JobReport {
                        job,
                        outcome: Outcome::Completed,
                        first_step_at: None,
                        ended_at: None,
                    };
                    for step in 0..steps {
                        if stop.load(Ordering::Acquire) {
                            report.outcome = match step {
                                0 => Outcome::NotStarted,
                                done => Outcome::Stopped(done),
                            };
                            break;
                        }
                        report.first_step_at.get_or_insert(start.elapsed());
                        thread::sleep(interval);
                    }
                    report.ended_at = report.first_step_at.map(|_| start.elapsed());
                    reports.push(report);
                }
                reports
            })
        })
        .collect();

    thread::sleep(stop_after);
    stop.store(true, Ordering::Release);
    let stop_at = start.elapsed();
    let mut reports: Vec<JobReport> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    // `shutdown(cancel_futures=True)`: whatever is still queued never runs.
    reports.extend(queue_rx.try_iter().map(|job| JobReport {
        job,
        outcome: Outcome::NotStarted,
        first_step_at: None,
        ended_at: None,
    }));
    reports.sort_by_key(|r| r.job);
    (stop_at, reports)
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

fn show_cooperative_stop() {
    let (stop_at, reports) =
        cooperative_stop(3, Duration::from_millis(100), Duration::from_secs(1));
    println!("stop requested at {}", ms(stop_at));
    for (n, r) in reports.iter().enumerate() {
        println!(
            "worker {}: {} units of work, stopped at {}",
            n + 1,
            r.units,
            ms(r.stopped_at)
        );
    }
}

fn show_queued_work_dropped() {
    let (stop_at, reports) = queued_work_dropped(
        10,
        5,
        Duration::from_millis(200),
        2,
        Duration::from_millis(1500),
    );
    println!("stop requested at {}", ms(stop_at));
    for r in &reports {
        let when = match (r.first_step_at, r.ended_at) {
            (Some(from), Some(to)) => format!(" ({}–{})", ms(from), ms(to)),
            _ => String::new(),
        };
        let outcome = match r.outcome {
            Outcome::Completed => "completed all 5 steps".to_owned(),
            Outcome::Stopped(done) => format!("stopped after {done} of 5 steps"),
            Outcome::NotStarted => "never started".to_owned(),
        };
        println!("job {:2}: {outcome}{when}", r.job);
    }
}

#[rustfmt::skip]
fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 5.6 — Stopping all tasks («Как остановить все задачи»)",
        &[
            Step::new("cooperative_stop", "three workers check a shared AtomicBool", show_cooperative_stop),
            Step::new("no_cancel", "a sleeping thread cannot be interrupted; a waiting one can", show_no_cancel),
            Step::new("async_abort", "tokio can abort an async task at its next .await", show_async_abort),
            Step::new("queued_work_dropped", "10 jobs, 2 workers: stop the running, drop the queued", show_queued_work_dropped),
        ],
    )
}

#[cfg(test)]
mod tests {
    use course_tests::deadline;

    use super::*;

    /// Room for a busy machine; far more than a check interval needs.
    const SLACK: Duration = Duration::from_millis(300);

    #[test]
    fn every_worker_stops_within_one_interval() {
        let interval = Duration::from_millis(20);
        let (stop_at, reports) = deadline(Duration::from_secs(10), move || {
            cooperative_stop(4, interval, Duration::from_millis(100))
        });
        assert_eq!(reports.len(), 4);
        for r in reports {
            assert!(r.units >= 1, "{r:?}");
            assert!(
                r.stopped_at <= stop_at + interval + SLACK,
                "{r:?} vs {stop_at:?}"
            );
        }
    }

    #[test]
    fn a_sleeping_thread_ignores_the_stop_a_waiting_one_does_not() {
        let work = Duration::from_millis(600);
        let (deaf, listening) = deadline(Duration::from_secs(10), move || no_cancel(work));
        // A sleep never ends early: the request changed nothing.
        assert!(deaf >= work - Duration::from_millis(50), "{deaf:?}");
        assert!(listening < work / 2, "{listening:?}");
    }

    #[test]
    fn an_async_task_is_cancelled_at_an_await() {
        let (cancelled, ticks) = deadline(Duration::from_secs(10), || {
            async_abort(Duration::from_millis(10), Duration::from_millis(55))
        });
        assert!(cancelled);
        assert!(ticks <= 6, "{ticks}");
    }

    #[test]
    fn queued_jobs_never_start_and_running_ones_stop_quickly() {
        let interval = Duration::from_millis(20);
        let (stop_at, reports) = deadline(Duration::from_secs(20), move || {
            queued_work_dropped(10, 5, interval, 2, Duration::from_millis(100))
        });
        // Every job is accounted for exactly once.
        let jobs: Vec<u32> = reports.iter().map(|r| r.job).collect();
        assert_eq!(jobs, (1..=10).collect::<Vec<_>>());
        for r in &reports {
            match r.outcome {
                Outcome::NotStarted => assert!(r.first_step_at.is_none(), "{r:?}"),
                Outcome::Completed | Outcome::Stopped(_) => {
                    // No job starts its work after the stop…
                    assert!(r.first_step_at.unwrap() <= stop_at + SLACK, "{r:?}");
                    // …and a running one ends within one step of it.
                    assert!(r.ended_at.unwrap() <= stop_at + interval + SLACK, "{r:?}");
                }
            }
        }
        // Ten 100 ms jobs on two workers cannot all have run by ~100 ms.
        assert!(reports.iter().any(|r| r.outcome == Outcome::NotStarted));
    }
}
