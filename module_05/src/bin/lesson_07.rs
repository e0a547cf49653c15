//! Lesson 5.7 — Stop all tasks when one fails («Остановить все задачи, если одна завершилась неудачей»)
//!
//! When one task fails and the others' results are useless without it, stop
//! them: the first error raises the stop flag, running tasks notice it at
//! their next check, queued tasks never start. Rayon and `futures` package
//! the same idea as `try_for_each` and `try_join_all`.
//!
//! | Python                                            | Rust                                                   |
//! |---------------------------------------------------|--------------------------------------------------------|
//! | `wait(futures, return_when=FIRST_EXCEPTION)`      | results over a channel; stop at the first `Err`        |
//! | `future.exception()`                              | `Result<T, E>` sent back by the worker                 |
//! | `stop_event.set()` checked by every task          | `Arc<AtomicBool>`, raised by the failing task, checked between steps |
//! | `executor.shutdown(cancel_futures=True)`          | workers stop taking jobs; the queue is dropped         |
//! | `for x in executor.map(f, items)` raising         | `items.par_iter().try_for_each(f)` (rayon)             |
//! | `async with asyncio.TaskGroup()` (3.11+) raising  | `futures::future::try_join_all(futs).await`: the other futures are dropped |
//! | `asyncio.gather(*coros)` raising                  | no direct match: `gather` raises the first error but lets the other tasks run on |
//!
//! - Run all steps: `cargo run -p module_05 --bin lesson_07`
//! - Run one step:  `cargo run -p module_05 --bin lesson_07 -- try_join_all`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `channel_and_flag`, delete the worker's `stop.store(true, …)`
//! and run `-- channel_and_flag`: the error still arrives, but jobs 5–10 now
//! all complete and the last ends at about 3.6 s instead of 1.6 s, because
//! nobody told the other workers.

use std::fmt;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use step_runner::{Step, lesson_id};

/// A job's failure.
#[derive(Clone, Debug, PartialEq, Eq)]
struct JobError {
    job: u32,
    reason: &'static str,
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {} failed: {}", self.job, self.reason)
    }
}

impl std::error::Error for JobError {}

// ---------------------------------------------------------------------------
// Results over a channel, a stop flag.
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Completed,
    Failed,
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
    /// When it ended, if it did any work.
    ended_at: Option<Duration>,
}

/// How a run of the pool went.
#[derive(Debug)]
struct PoolRun {
    first_error: Option<JobError>,
    /// When the failing job ended and raised the stop flag.
    stop_at: Option<Duration>,
    reports: Vec<JobReport>,
}

/// One job: `steps` steps of `interval`, checking `stop` before each;
/// job `failing` fails at its third step.
fn run_job(
    job: u32,
    failing: u32,
    steps: u32,
    interval: Duration,
    stop: &AtomicBool,
    start: Instant,
) -> (JobReport, Result<(), JobError>) {
    let mut report = JobReport {
        job,
        outcome: Outcome::Completed,
        first_step_at: None,
        ended_at: None,
    };
    let mut result = Ok(());
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
        if job == failing && step == 2 {
            report.outcome = Outcome::Failed;
            result = Err(JobError {
                job,
                reason: "the input was corrupt",
            });
            break;
        }
    }
    report.ended_at = report.first_step_at.map(|_| start.elapsed());
    (report, result)
}

/// `jobs` jobs for `workers` workers; job `failing` fails. A failing worker
/// raises the stop flag; every result goes over a channel to the main
/// thread, which keeps the first error and receives until the workers are
/// done.
fn channel_and_flag(
    jobs: u32,
    failing: u32,
    steps: u32,
    interval: Duration,
    workers: usize,
) -> PoolRun {
    let (queue_tx, queue_rx) = crossbeam_channel::unbounded();
    for job in 1..=jobs {
        queue_tx.send(job).expect("the receiver is alive");
    }
    drop(queue_tx);
    let (results_tx, results_rx) = crossbeam_channel::unbounded();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();

    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let (queue, results, stop) = (queue_rx.clone(), results_tx.clone(), Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    let Ok(job) = queue.recv() else { break };
                    let (report, result) = run_job(job, failing, steps, interval, &stop, start);
                    if result.is_err() {
                        // Raise the flag here, not when the main thread reads
                        // the error: in between, this worker would already
                        // have taken the next job.
                        stop.store(true, Ordering::Release);
                    }
                    results
                        .send((report, result))
                        .expect("the main thread receives until the workers are done");
                }
            })
        })
        .collect();
    // Only the workers hold senders now: the loop below ends when they do.
    drop(results_tx);

    let mut run = PoolRun {
        first_error: None,
        stop_at: None,
        reports: Vec::new(),
    };
    for (report, result) in results_rx {
        if let Err(error) = result
            && run.first_error.is_none()
        {
            // The failing worker raised the stop flag as this job ended.
            run.stop_at = report.ended_at;
            run.first_error = Some(error);
        }
        run.reports.push(report);
    }
    for handle in handles {
        handle.join().unwrap();
    }
    run.reports.extend(queue_rx.try_iter().map(|job| JobReport {
        job,
        outcome: Outcome::NotStarted,
        first_step_at: None,
        ended_at: None,
    }));
    run.reports.sort_by_key(|r| r.job);
    run
}

// ---------------------------------------------------------------------------
// rayon: try_for_each.
// ---------------------------------------------------------------------------

/// Processes items `1..=items` on a pool of `threads` threads; item
/// `failing` fails. Returns the first error and how many items were begun.
///
/// After an error rayon stops starting items "as soon as possible" (its
/// `try_for_each` docs: a shared flag that each worker checks between
/// items); items already running finish, since rayon cannot interrupt them
/// either. Which error wins when several fail is not specified.
fn rayon_try_for_each(
    items: u32,
    failing: u32,
    threads: usize,
    work: Duration,
) -> (Result<(), JobError>, u32) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("building a rayon pool should work");
    let begun = AtomicU32::new(0);
    let result = pool.install(|| {
        (1..=items).into_par_iter().try_for_each(|item| {
            begun.fetch_add(1, Ordering::Relaxed);
            thread::sleep(work);
            if item == failing {
                Err(JobError {
                    job: item,
                    reason: "the input was corrupt",
                })
            } else {
                Ok(())
            }
        })
    });
    (result, begun.into_inner())
}

// ---------------------------------------------------------------------------
// futures: try_join_all.
// ---------------------------------------------------------------------------

/// What `try_join_all` returned, how long it took, and how many of the
/// other futures had completed by then and `linger` later.
#[derive(Debug)]
struct JoinAllRun {
    result: Result<Vec<u32>, JobError>,
    took: Duration,
    completed: u32,
    completed_later: u32,
}

/// Async jobs that take `durations[i]` each; the one at `failing` fails
/// after its duration. `try_join_all` returns the first error at once and
/// drops the other futures: an async job is cancelled at its `.await`,
/// which threads cannot do.
///
/// Only futures it owns are dropped: a `tokio::spawn`ed task keeps running
/// when its `JoinHandle` is dropped (put such tasks in a `JoinSet`, which
/// aborts them when dropped).
fn try_join_all(durations: &[Duration], failing: usize, linger: Duration) -> JoinAllRun {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("building a tokio runtime should work");
    let completed = Arc::new(AtomicU32::new(0));
    runtime.block_on(async {
        let jobs = durations.iter().enumerate().map(|(index, &duration)| {
            let completed = Arc::clone(&completed);
            async move {
                tokio::time::sleep(duration).await;
                if index == failing {
                    return Err(JobError {
                        job: index as u32 + 1,
                        reason: "the server said no",
                    });
                }
                completed.fetch_add(1, Ordering::SeqCst);
                Ok(index as u32 + 1)
            }
        });
        let start = Instant::now();
        let result = futures::future::try_join_all(jobs).await;
        let took = start.elapsed();
        let completed_now = completed.load(Ordering::SeqCst);
        // The dropped futures are gone: nothing completes later.
        tokio::time::sleep(linger).await;
        JoinAllRun {
            result,
            took,
            completed: completed_now,
            completed_later: completed.load(Ordering::SeqCst),
        }
    })
}

fn show_try_join_all() {
    let durations = [1000, 2000, 300, 1500, 100].map(Duration::from_millis);
    let run = try_join_all(&durations, 2, Duration::from_secs(2));
    match &run.result {
        Ok(values) => println!("all succeeded: {values:?}"),
        Err(error) => println!("{error}, after {}", ms(run.took)),
    }
    println!(
        "jobs completed by then: {}; two seconds later: {}",
        run.completed, run.completed_later
    );
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

fn show_channel_and_flag() {
    let run = channel_and_flag(10, 4, 5, Duration::from_millis(200), 3);
    if let (Some(error), Some(at)) = (&run.first_error, run.stop_at) {
        println!("{error}; stop raised at {}", ms(at));
    }
    for r in &run.reports {
        let when = match (r.first_step_at, r.ended_at) {
            (Some(from), Some(to)) => format!(" ({}–{})", ms(from), ms(to)),
            _ => String::new(),
        };
        let outcome = match r.outcome {
            Outcome::Completed => "completed".to_owned(),
            Outcome::Failed => "FAILED".to_owned(),
            Outcome::Stopped(done) => format!("stopped after {done} of 5 steps"),
            Outcome::NotStarted => "never started".to_owned(),
        };
        println!("job {:2}: {outcome}{when}", r.job);
    }
}

fn show_rayon_try_for_each() {
    let (result, begun) = rayon_try_for_each(100, 7, 2, Duration::from_millis(50));
    match result {
        Ok(()) => println!("all items processed"),
        Err(error) => println!("{error}; items begun: {begun} of 100"),
    }
}

#[rustfmt::skip]
fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 5.7 — Stop all tasks when one fails («Остановить все задачи, если одна завершилась неудачей»)",
        &[
            Step::new("channel_and_flag", "10 jobs, 3 workers, job 4 fails: the first error stops the rest", show_channel_and_flag),
            Step::new("rayon_try_for_each", "rayon: try_for_each stops handing out items after an error", show_rayon_try_for_each),
            Step::new("try_join_all", "futures: try_join_all returns the first error and drops the rest", show_try_join_all),
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
    fn the_first_error_stops_the_rest() {
        let interval = Duration::from_millis(20);
        let run = deadline(Duration::from_secs(20), move || {
            channel_and_flag(12, 4, 5, interval, 3)
        });
        assert_eq!(
            run.first_error,
            Some(JobError {
                job: 4,
                reason: "the input was corrupt"
            })
        );
        let stop_at = run.stop_at.expect("the stop was raised");
        let jobs: Vec<u32> = run.reports.iter().map(|r| r.job).collect();
        assert_eq!(jobs, (1..=12).collect::<Vec<_>>());
        for r in &run.reports {
            match r.outcome {
                Outcome::NotStarted => assert!(r.first_step_at.is_none(), "{r:?}"),
                _ => {
                    // No job starts its work after the stop…
                    assert!(r.first_step_at.unwrap() <= stop_at + SLACK, "{r:?}");
                    // …and a running one ends within one step of it.
                    assert!(r.ended_at.unwrap() <= stop_at + interval + SLACK, "{r:?}");
                }
            }
        }
        assert_eq!(run.reports[3].outcome, Outcome::Failed);
        // Job 4 starts after a first 100 ms job and fails ~60 ms later;
        // twelve 100 ms jobs on three workers cannot all be taken by then.
        assert!(run.reports.iter().any(|r| r.outcome == Outcome::NotStarted));
    }

    #[test]
    fn without_a_failure_every_job_completes() {
        let run = deadline(Duration::from_secs(20), || {
            channel_and_flag(6, 99, 3, Duration::from_millis(5), 3)
        });
        assert_eq!(run.first_error, None);
        assert!(run.reports.iter().all(|r| r.outcome == Outcome::Completed));
        assert_eq!(run.reports.len(), 6);
    }

    #[test]
    fn rayon_stops_handing_out_items_after_the_error() {
        let (result, begun) = deadline(Duration::from_secs(20), || {
            rayon_try_for_each(200, 5, 2, Duration::from_millis(5))
        });
        assert_eq!(result.unwrap_err().job, 5);
        assert!(begun < 200, "{begun}");
    }

    #[test]
    fn try_join_all_returns_the_error_without_waiting_for_the_rest() {
        let durations = [1000, 2000, 50, 1500, 1].map(Duration::from_millis);
        let run = deadline(Duration::from_secs(20), move || {
            try_join_all(&durations, 2, Duration::from_millis(200))
        });
        assert_eq!(run.result.unwrap_err().job, 3);
        assert!(run.took < Duration::from_millis(1000), "{:?}", run.took);
        // Only the 1 ms job could finish before the failure; none after it.
        assert!(run.completed <= 1);
        assert_eq!(run.completed_later, run.completed);
    }
}
