//! Lesson 3.8 — Cancelling futures («Всё об отмене Future»)
//!
//! Only work that has not started can be cancelled: a waiting task is thrown
//! away unrun. Work that is running stops only if it cooperates: an async
//! task at its next `.await`, a blocking loop when it checks a flag. In Rust,
//! dropping a future cancels it: none of its code runs again (only its
//! destructors). The nearest Python thing is asyncio's `task.cancel()`,
//! which throws `CancelledError` into the coroutine at its next `await`,
//! where the coroutine may even catch it; `concurrent.futures` has nothing
//! like it for a running call.
//!
//! | Python                                   | Rust                                                          |
//! |------------------------------------------|---------------------------------------------------------------|
//! | `future.cancel()` on a pending task       | `AbortHandle::abort()` (`futures::future::abortable`); or drop its `RemoteHandle` |
//! | `future.cancelled()`                     | the handle yields `Err(Aborted)`; tokio: `JoinError::is_cancelled()` |
//! | `cancel()` returns `False`: already running | `abort()` cannot stop a blocking poll; the task finishes      |
//! | asyncio `task.cancel()` (no way to stop a running thread) | tokio `JoinHandle::abort()`: stops an async task at its next `.await` |
//! | a `threading.Event` the task checks      | an `AtomicBool` (or `tokio_util::sync::CancellationToken`) checked between chunks |
//! | a coroutine object never awaited: its body never runs (`RuntimeWarning: … was never awaited`) | drop a future that was never polled: its body never runs, silently |
//! | (none)                                   | `RemoteHandle::forget()`: let the task run with nobody waiting |
//!
//! - Run all steps: `cargo run -p module_03 --bin lesson_08`
//! - Run one step:  `cargo run -p module_03 --bin lesson_08 -- step_08`
//!
//! The tasks race: lines about finished tasks come in finishing order.
//!
//! Try: in `step_08`, give the pool ten workers (`pool_of(10)`) and run the
//! step. Which tasks can still be cancelled, and why?

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, mpsc};
use std::thread;
use std::time::Duration;

use futures::executor::{ThreadPool, block_on};
use futures::future::{Aborted, abortable, join_all};
use futures::task::SpawnExt;
use step_runner::{Sink, Step, lesson_id};

/// Step 08: (delay in tenths of a second, task name), in the course's order.
/// Tenths as integers keep "is the digit after the point odd?" exact.
const STEP_08_TASKS: [(u32, &str); 10] = [
    (14, "ljeo"),
    (4, "akwx"),
    (23, "tydx"),
    (27, "qnai"),
    (26, "smgx"),
    (19, "fhef"),
    (16, "wzag"),
    (25, "hjsz"),
    (24, "gpay"),
    (5, "wxco"),
];

/// Step 09: (component, delay in tenths of a second), the course's order.
const STEP_09_TASKS: [(&str, u32); 10] = [
    ("CPU", 31),
    ("RAM", 15),
    ("GPU", 16),
    ("Motherboard", 18),
    ("SSD", 13),
    ("Keyboard", 15),
    ("Mouse", 39),
    ("Monitor", 28),
    ("Headphones", 30),
    ("Router", 10),
];

/// A task's name, and `Err(Aborted)` if it was cancelled before it ran.
type Outcome = (&'static str, Result<(), Aborted>);

fn pool_of(workers: usize) -> ThreadPool {
    ThreadPool::builder()
        .pool_size(workers)
        .create()
        .expect("creating the thread pool")
}

/// Step 08 — ten tasks on two workers; right after submitting, cancel each
/// task whose delay has an odd digit after the point. Returns, per task in
/// order, its name and whether it ran (`Ok`) or was cancelled (`Err`). Each
/// task that runs reports `task … finished` the moment it does, as the
/// course's tasks print.
///
/// `abortable` wraps each task in an `Abortable` and gives back an
/// `AbortHandle`. The executor knows nothing of it: the wrapper's own `poll`
/// checks the abort flag before it polls the task inside (futures-util
/// 0.3.34, `abortable.rs`), and `abort()` wakes a task that waits at an
/// `.await`, so that check runs.
/// So a task aborted while it waits in the queue ends at its first poll
/// without running its body, and its handle yields `Err(Aborted)`; a task
/// already inside its body's poll finishes that poll first.
fn step_08(tasks: &[(u32, &'static str)], tenth: Duration, sink: &Arc<Sink>) -> Vec<Outcome> {
    let pool = pool_of(2);
    // The course cancels right after submitting and counts on the first two
    // tasks still running by then. A gate makes that so on any machine:
    // every task first passes it (a shared read lock), and main holds it
    // shut (the write lock) until it has submitted and cancelled. The first
    // two tasks wait at the gate on the two workers, as if already working.
    let gate = Arc::new(RwLock::new(()));
    let shut = gate.write().expect("a new lock is not poisoned");
    let handles: Vec<_> = tasks
        .iter()
        .map(|&(tenths, name)| {
            let sink = Arc::clone(sink);
            let gate = Arc::clone(&gate);
            let (task, abort) = abortable(async move {
                let _open = gate.read();
                // Blocking on purpose: like a call in Python's
                // `ThreadPoolExecutor`, a started task holds its worker, so
                // the tasks behind the first two must wait, and only those
                // can be cancelled.
                thread::sleep(tenth * tenths);
                sink.note(format!("task {name} finished"));
            });
            let handle = pool
                .spawn_with_handle(task)
                .expect("the pool accepts tasks");
            if tenths % 2 == 1 {
                abort.abort();
            }
            (name, handle)
        })
        .collect();
    drop(shut);
    block_on(join_all(
        handles
            .into_iter()
            .map(|(name, handle)| async move { (name, handle.await) }),
    ))
}

/// Step 09 — ten tasks on five workers; cancel every task after the fifth
/// by dropping its `RemoteHandle`. Each task that runs reports
/// `task … finished in …` the moment it does.
///
/// The first five occupy all five workers, so the rest are still waiting
/// when their handles are dropped; when a worker gets to one, the wrapper
/// `spawn_with_handle` put around it sees its handle gone and ends without
/// polling the task inside (futures-util 0.3.34, `remote_handle.rs`).
fn step_09(tasks: &[(&'static str, u32)], tenth: Duration, sink: &Arc<Sink>) {
    let pool = pool_of(5);
    // The same gate as in step 08: the first five wait on the five workers
    // until the last five handles are dropped.
    let gate = Arc::new(RwLock::new(()));
    let shut = gate.write().expect("a new lock is not poisoned");
    let mut handles: Vec<_> = tasks
        .iter()
        .map(|&(name, tenths)| {
            let sink = Arc::clone(sink);
            let gate = Arc::clone(&gate);
            pool.spawn_with_handle(async move {
                let _open = gate.read();
                // Blocking on purpose, as in step 08: the first five hold
                // the five workers, so the rest are still queued.
                let took = tenth * tenths;
                thread::sleep(took);
                sink.note(format!("task {name} finished in {took:.1?}"));
            })
            .expect("the pool accepts tasks")
        })
        .collect();
    // `futures[5:]`: dropping a handle is the cancel.
    drop(handles.split_off(5));
    drop(shut);
    // Keep the first five handles alive until they finish: dropping them
    // now would cancel them too (or `forget()` them to let them run).
    block_on(join_all(handles));
}

/// What the cooperation demo saw.
#[derive(Debug)]
struct Cooperation {
    /// An async task's ticks when aborted, and a while later.
    ticks_at_abort: usize,
    ticks_later: usize,
    aborted_task_cancelled: bool,
    /// A blocking task aborted while running: it still completed.
    blocking_completed: bool,
    /// A blocking loop asked to stop through a flag: chunks done of 100.
    chunks_done: usize,
}

/// Demo — running work stops only where it cooperates.
fn cooperation(tick: Duration) -> Cooperation {
    // tokio: `abort` takes effect at the task's next `.await`.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("building the tokio runtime");
    let ticks = Arc::new(AtomicUsize::new(0));
    let (ticks_at_abort, aborted_task_cancelled) = runtime.block_on({
        let ticks = Arc::clone(&ticks);
        async move {
            let ticker = tokio::spawn({
                let ticks = Arc::clone(&ticks);
                async move {
                    loop {
                        tokio::time::sleep(tick).await;
                        ticks.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
            tokio::time::sleep(tick * 5).await;
            ticker.abort();
            let cancelled = ticker.await.is_err_and(|e| e.is_cancelled());
            (ticks.load(Ordering::SeqCst), cancelled)
        }
    });
    thread::sleep(tick * 5);
    let ticks_later = ticks.load(Ordering::SeqCst);

    // A blocking task is one long poll: an abort during it changes nothing.
    // The `thread::sleep` inside `async` is the point of this part.
    let pool = pool_of(1);
    let (started_tx, started_rx) = mpsc::channel();
    let (task, abort) = abortable(async move {
        started_tx.send(()).expect("main is listening");
        thread::sleep(tick * 5);
    });
    let handle = pool
        .spawn_with_handle(task)
        .expect("the pool accepts tasks");
    started_rx.recv().expect("the task starts");
    abort.abort();
    let blocking_completed = block_on(handle).is_ok();

    // Cooperation: the loop checks a flag between chunks of work.
    let stop = Arc::new(AtomicBool::new(false));
    let worker = thread::spawn({
        let stop = Arc::clone(&stop);
        move || {
            let mut chunks = 0;
            while chunks < 100 && !stop.load(Ordering::SeqCst) {
                thread::sleep(tick);
                chunks += 1;
            }
            chunks
        }
    });
    thread::sleep(tick * 5);
    stop.store(true, Ordering::SeqCst);
    let chunks_done = worker.join().expect("the worker does not panic");

    Cooperation {
        ticks_at_abort,
        ticks_later,
        aborted_task_cancelled,
        blocking_completed,
        chunks_done,
    }
}

/// Demo — dropping cancels: an unpolled future, a waiting task's
/// `RemoteHandle`; `forget()` instead lets the task run. Returns whether
/// each body ran: (unpolled future, dropped handle, forgotten handle).
fn drop_cancels() -> (bool, bool, bool) {
    let ran = [(); 3].map(|()| Arc::new(AtomicBool::new(false)));
    let body = |i: usize| {
        let ran = Arc::clone(&ran[i]);
        async move { ran.store(true, Ordering::SeqCst) }
    };

    // Created, never polled, dropped: nothing ever happens.
    drop(body(0));

    // One worker, held by a gate, so the next two tasks wait in the queue.
    let pool = pool_of(1);
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let gate = pool
        .spawn_with_handle(async move {
            let _ = gate_rx.recv();
        })
        .expect("the pool accepts tasks");
    let dropped = pool
        .spawn_with_handle(body(1))
        .expect("the pool accepts tasks");
    let forgotten = pool
        .spawn_with_handle(body(2))
        .expect("the pool accepts tasks");
    drop(dropped);
    forgotten.forget();
    // A last task, to know when the single worker has got through the queue.
    let last = pool
        .spawn_with_handle(async {})
        .expect("the pool accepts tasks");
    gate_tx.send(()).expect("the gate task is waiting");
    block_on(gate);
    block_on(last);

    let [a, b, c] = ran.map(|flag| flag.load(Ordering::SeqCst));
    (a, b, c)
}

fn show_step_08() {
    let outcomes = step_08(
        &STEP_08_TASKS,
        Duration::from_millis(100),
        &Arc::new(Sink::stdout()),
    );
    // Python prints only the finished tasks; the verdicts show the rest.
    for (name, outcome) in outcomes {
        let verdict = if outcome.is_ok() { "ran" } else { "cancelled" };
        println!("{name}: {verdict}");
    }
}

fn show_step_09() {
    step_09(
        &STEP_09_TASKS,
        Duration::from_millis(100),
        &Arc::new(Sink::stdout()),
    );
}

fn show_cooperation() {
    let seen = cooperation(Duration::from_millis(100));
    let (at_abort, later) = (seen.ticks_at_abort, seen.ticks_later);
    let cancelled = seen.aborted_task_cancelled;
    println!(
        "async task aborted after {at_abort} ticks, {later} ticks a while later, cancelled: {cancelled}"
    );
    let completed = seen.blocking_completed;
    println!("blocking task aborted while running completed anyway: {completed}");
    let chunks = seen.chunks_done;
    println!("blocking loop told to stop by a flag: {chunks} of 100 chunks done");
}

fn show_drop_cancels() {
    let (unpolled, dropped, forgotten) = drop_cancels();
    println!("unpolled future dropped, body ran:       {unpolled}");
    println!("waiting task's handle dropped, body ran: {dropped}");
    println!("waiting task's handle forgotten, body ran: {forgotten}");
}

const TITLE: &str = "Lesson 3.8 — Cancelling futures («Всё об отмене Future»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("step_08", "two workers; cancel the tasks whose delay has an odd tenth", show_step_08),
        Step::new("step_09", "five workers; cancel every task after the fifth", show_step_09),
        Step::new("cooperation", "running work stops only where it checks", show_cooperation),
        Step::new("drop_cancels", "drop an unpolled future or a RemoteHandle; forget() keeps it", show_drop_cancels),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;

    /// Short: the steps' gate, not the delays, keeps the first tasks on the
    /// workers while the rest are cancelled.
    const TENTH: Duration = Duration::from_millis(20);

    #[test]
    fn step_08_cancelled_tasks_never_run() {
        let (outcomes, lines) = deadline(Duration::from_secs(30), || {
            let sink = Arc::new(Sink::collect());
            (step_08(&STEP_08_TASKS, TENTH, &sink), sink.lines())
        });
        let finished: Vec<&str> = lines
            .iter()
            .map(|line| {
                line.strip_prefix("task ")
                    .and_then(|l| l.strip_suffix(" finished"))
                    .expect("a finished line")
            })
            .collect();
        let cancelled: Vec<&str> = outcomes
            .iter()
            .filter(|(_, outcome)| outcome.is_err())
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(cancelled, ["tydx", "qnai", "fhef", "hjsz", "wxco"]);
        let mut ran = finished.clone();
        ran.sort_unstable();
        assert_eq!(ran, ["akwx", "gpay", "ljeo", "smgx", "wzag"]);
        // Each task either ran once or was cancelled, never both.
        for (name, outcome) in &outcomes {
            assert_eq!(outcome.is_ok(), finished.contains(name), "{name}");
        }
    }

    #[test]
    fn a_task_aborted_while_it_waits_is_never_polled() {
        let ran = deadline(Duration::from_secs(20), || {
            let pool = pool_of(1);
            let (gate_tx, gate_rx) = mpsc::channel::<()>();
            let gate = pool
                .spawn_with_handle(async move {
                    let _ = gate_rx.recv();
                })
                .unwrap();
            let ran = Arc::new(AtomicBool::new(false));
            let (task, abort) = abortable({
                let ran = Arc::clone(&ran);
                async move { ran.store(true, Ordering::SeqCst) }
            });
            let handle = pool.spawn_with_handle(task).unwrap();
            abort.abort();
            gate_tx.send(()).unwrap();
            block_on(gate);
            assert_eq!(block_on(handle), Err(Aborted));
            ran.load(Ordering::SeqCst)
        });
        assert!(!ran);
    }

    #[test]
    fn step_09_runs_only_the_first_five() {
        let lines = deadline(Duration::from_secs(30), || {
            let sink = Arc::new(Sink::collect());
            step_09(&STEP_09_TASKS, TENTH, &sink);
            sink.lines()
        });
        let mut ran: Vec<&str> = lines
            .iter()
            .map(|line| {
                line.strip_prefix("task ")
                    .and_then(|l| l.split(" finished").next())
                    .expect("a finished line")
            })
            .collect();
        ran.sort_unstable();
        assert_eq!(ran, ["CPU", "GPU", "Motherboard", "RAM", "SSD"]);
    }

    #[test]
    fn running_work_stops_only_by_cooperation() {
        let seen = deadline(Duration::from_secs(30), || {
            cooperation(Duration::from_millis(20))
        });
        assert!(seen.aborted_task_cancelled);
        assert_eq!(seen.ticks_at_abort, seen.ticks_later, "{seen:?}");
        assert!(seen.blocking_completed);
        assert!(seen.chunks_done < 100, "{seen:?}");
    }

    #[test]
    fn dropping_cancels_and_forget_does_not() {
        let ran = deadline(Duration::from_secs(20), drop_cancels);
        assert_eq!(ran, (false, false, true));
    }
}
