//! Lesson 3.4 — Future life cycle («Жизненный цикл Future»)
//!
//! A Python future goes PENDING → RUNNING → FINISHED, or PENDING → CANCELLED.
//! We watch every state on a pool with a single worker, where a second task
//! must wait its turn. Rust adds a state Python's `Future` lacks: a future
//! that exists but was never polled, and so has done nothing at all (in
//! Python, a coroutine object nobody has awaited is in the same state).
//!
//! | Python state                      | Rust, for a future run by an executor                       |
//! |-----------------------------------|-------------------------------------------------------------|
//! | (none: `submit` starts the work; a coroutine object not yet awaited) | `Created`: a future value nobody has spawned or polled |
//! | `PENDING`                         | `Pending`: spawned (`spawn_with_handle`), waiting for a worker |
//! | `RUNNING`                         | `Running`: the executor has polled it                        |
//! | `FINISHED`                        | `Finished`: `poll` returned `Poll::Ready`                    |
//! | `CANCELLED` (`future.cancel()`, only while `PENDING`) | `Cancelled`: dropped before `Ready` (drop its `RemoteHandle`, or the future itself) |
//! | `ThreadPoolExecutor(max_workers=1)` | `ThreadPool::builder().pool_size(1)`                       |
//!
//! `Tracked` below records the stages; it is a teaching wrapper, the
//! executor itself keeps no such record you can read.
//!
//! - Run all steps: `cargo run -p module_03 --bin lesson_04`
//! - Run one step:  `cargo run -p module_03 --bin lesson_04 -- life_cycle`
//!
//! Try: give the pool two workers (`pool_size(2)`) and run the step. Which
//! snapshot changes, and why can the step now fail waiting for C to be
//! cancelled? (Python's `cancel()` would return `False` for the same reason.)

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use futures::executor::{ThreadPool, block_on};
use futures::future::RemoteHandle;
use futures::task::SpawnExt;
use step_runner::{Step, lesson_id};

/// The stages a tracked future goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Created,
    Pending,
    Running,
    Finished,
    Cancelled,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` honours widths such as `{:<9}`, for the aligned table.
        f.pad(&format!("{self:?}"))
    }
}

/// One future's stages so far; observers can wait for a stage.
struct Tracker {
    stages: Mutex<Vec<Stage>>,
    changed: Condvar,
}

impl Tracker {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            stages: Mutex::new(vec![Stage::Created]),
            changed: Condvar::new(),
        })
    }

    fn enter(&self, stage: Stage) {
        self.stages.lock().unwrap().push(stage);
        self.changed.notify_all();
    }

    fn current(&self) -> Stage {
        *self
            .stages
            .lock()
            .unwrap()
            .last()
            .expect("starts with Created")
    }

    fn history(&self) -> Vec<Stage> {
        self.stages.lock().unwrap().clone()
    }

    /// Waits until the future reaches `stage`; false if `limit` passes first.
    fn wait_for(&self, stage: Stage, limit: Duration) -> bool {
        let stages = self.stages.lock().unwrap();
        let (stages, _) = self
            .changed
            .wait_timeout_while(stages, limit, |stages| !stages.contains(&stage))
            .unwrap();
        stages.contains(&stage)
    }
}

/// Wraps a future and records its stages in a `Tracker`.
struct Tracked<F> {
    // Boxed, so `Tracked` is `Unpin` whatever `F` is, and `poll` can use
    // `&mut self` without pin projection.
    inner: Pin<Box<F>>,
    tracker: Arc<Tracker>,
    polled: bool,
    finished: bool,
}

impl<F: Future> Tracked<F> {
    fn new(inner: F) -> (Self, Arc<Tracker>) {
        let tracker = Tracker::new();
        let tracked = Self {
            inner: Box::pin(inner),
            tracker: Arc::clone(&tracker),
            polled: false,
            finished: false,
        };
        (tracked, tracker)
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        if !this.polled {
            this.polled = true;
            this.tracker.enter(Stage::Running);
        }
        let poll = this.inner.as_mut().poll(cx);
        if poll.is_ready() {
            this.finished = true;
            this.tracker.enter(Stage::Finished);
        }
        poll
    }
}

impl<F> Drop for Tracked<F> {
    /// A future dropped before it finished is cancelled: it never runs again.
    fn drop(&mut self) {
        if !self.finished {
            self.tracker.enter(Stage::Cancelled);
        }
    }
}

/// Hands a tracked future to the pool: from here on it is PENDING until a
/// worker polls it.
fn submit<F>(pool: &ThreadPool, tracked: Tracked<F>) -> RemoteHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send,
{
    tracked.tracker.enter(Stage::Pending);
    pool.spawn_with_handle(tracked)
        .expect("the pool accepts tasks")
}

/// A snapshot of the four tasks' current stages.
type Snapshot = (&'static str, [Stage; 4]);

#[derive(Debug)]
struct LifeCycle {
    snapshots: Vec<Snapshot>,
    histories: [Vec<Stage>; 4],
    results: (u32, u32),
    /// Did the bodies of the cancelled task and of the never-polled one run?
    cancelled_body_ran: bool,
    unpolled_body_ran: bool,
}

/// Demo — four tasks on a one-worker pool: A runs (for `work`), B waits for
/// A and then runs, C is cancelled while it waits, D is never submitted.
fn life_cycle(work: Duration) -> LifeCycle {
    let limit = Duration::from_secs(10) + work * 4;
    let pool = ThreadPool::builder()
        .pool_size(1)
        .name_prefix("the-only-worker-")
        .create()
        .expect("creating the thread pool");

    // A blocks the only worker, as a Python task holds its worker thread:
    // first until main has looked at the pending tasks and cancelled C (so
    // the snapshot sees B and C pending on any machine), then for `work`.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (a, a_stages) = Tracked::new(async move {
        // If main is gone, `recv` fails: work anyway.
        let _ = go_rx.recv();
        thread::sleep(work);
        1
    });
    let (b, b_stages) = Tracked::new(async { 2 });
    let c_ran = Arc::new(AtomicBool::new(false));
    let (c, c_stages) = Tracked::new({
        let c_ran = Arc::clone(&c_ran);
        async move { c_ran.store(true, Ordering::SeqCst) }
    });
    let d_ran = Arc::new(AtomicBool::new(false));
    let (d, d_stages) = Tracked::new({
        let d_ran = Arc::clone(&d_ran);
        async move { d_ran.store(true, Ordering::SeqCst) }
    });
    let trackers = [&a_stages, &b_stages, &c_stages, &d_stages];
    let snapshot = |label| (label, trackers.map(|t| t.current()));

    let mut snapshots = vec![snapshot("all four created")];
    let a_handle = submit(&pool, a);
    let b_handle = submit(&pool, b);
    let c_handle = submit(&pool, c);
    assert!(a_stages.wait_for(Stage::Running, limit), "A never started");
    // The only worker is busy with A, so B and C must wait: PENDING.
    snapshots.push(snapshot("A, B, C submitted; A started"));

    // `future.cancel()` on a pending task: drop its handle. When the worker
    // gets to it, it polls only `spawn_with_handle`'s wrapper, which sees the
    // handle gone and ends without polling C (futures-util 0.3.34,
    // `remote_handle.rs`); then the pool drops C.
    drop(c_handle);
    go_tx.send(()).expect("A waits for the go");
    let results = (block_on(a_handle), block_on(b_handle));
    assert!(
        c_stages.wait_for(Stage::Cancelled, limit),
        "C never dropped"
    );
    snapshots.push(snapshot("A and B awaited, C cancelled"));

    // D was never spawned nor polled: dropping it is all that ever happens.
    drop(d);
    snapshots.push(snapshot("D dropped"));

    LifeCycle {
        snapshots,
        histories: trackers.map(|t| t.history()),
        results,
        cancelled_body_ran: c_ran.load(Ordering::SeqCst),
        unpolled_body_ran: d_ran.load(Ordering::SeqCst),
    }
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 3.4 — Future life cycle («Жизненный цикл Future»)",
        &[Step::new(
            "life_cycle",
            "PENDING → RUNNING → FINISHED or CANCELLED on a one-worker pool",
            || {
                let seen = life_cycle(Duration::from_secs(1));
                for (label, [a, b, c, d]) in &seen.snapshots {
                    println!("{label:<30} A: {a:<9} B: {b:<9} C: {c:<9} D: {d}");
                }
                for (name, history) in ["A", "B", "C", "D"].iter().zip(&seen.histories) {
                    println!("{name}'s life: {history:?}");
                }
                println!("results of A and B: {:?}", seen.results);
                println!("C's body ran: {}", seen.cancelled_body_ran);
                println!("D's body ran: {}", seen.unpolled_body_ran);
            },
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use Stage::*;
    use course_tests::deadline;

    #[test]
    fn every_stage_is_seen_in_order() {
        let seen = deadline(Duration::from_secs(30), || {
            life_cycle(Duration::from_millis(100))
        });
        assert_eq!(
            seen.snapshots,
            [
                ("all four created", [Created, Created, Created, Created]),
                (
                    "A, B, C submitted; A started",
                    [Running, Pending, Pending, Created]
                ),
                (
                    "A and B awaited, C cancelled",
                    [Finished, Finished, Cancelled, Created]
                ),
                ("D dropped", [Finished, Finished, Cancelled, Cancelled]),
            ]
        );
        assert_eq!(
            seen.histories,
            [
                vec![Created, Pending, Running, Finished],
                vec![Created, Pending, Running, Finished],
                vec![Created, Pending, Cancelled],
                vec![Created, Cancelled],
            ]
        );
        assert_eq!(seen.results, (1, 2));
        assert!(!seen.cancelled_body_ran);
        assert!(!seen.unpolled_body_ran);
    }

    #[test]
    fn a_finished_future_is_not_cancelled_by_drop() {
        let (tracked, tracker) = Tracked::new(async { 5 });
        assert_eq!(block_on(tracked), 5);
        assert_eq!(tracker.history(), [Created, Running, Finished]);
    }
}
