//! Lesson 9.14 — Common mistakes («Распространенные ошибки»)
//!
//! Python's pool mistakes surface at run time: an unpicklable lambda, a
//! global that the workers never see, an exception that vanishes until
//! `get()`, a dead worker that hangs `Pool.map`. Rust's versions of the
//! first two are compile errors (named in `send_and_static`, proved by
//! `compile_fail` doctests in `lib.rs`); the rest — blocking inside
//! the pool, pools inside pools, panics in tasks, too many threads, children
//! left behind — compile fine and are shown here, each safely.
//!
//! | Python mistake                                   | Rust                                                         |
//! |--------------------------------------------------|--------------------------------------------------------------|
//! | `PicklingError: Can't pickle <lambda>`           | `E0373`/`E0277`: the task must be `Send + 'static` (compile time) |
//! | updating a global from a worker (lost silently)  | `E0596`: cannot mutate a capture in a `Fn` closure; reduce    |
//! | `time.sleep`/I/O inside pool tasks               | blocking a rayon thread starves the pool: use own threads     |
//! | a `Pool` created inside a task or a loop         | build one pool; nest `par_iter`s inside it                     |
//! | a task waiting for another pool's result         | `other.install` runs this pool's jobs meanwhile: hold no lock across it |
//! | exception only seen at `res.get()`               | a panic resumes in the caller of `collect`/`install`; catch it |
//! | `Pool(64)` on 2 cores, or a pool per process     | one pool, threads = cores; no pools per thread                 |
//! | a `Process` never joined (zombie)                | `Child::wait`; here `WorkerProcess` kills and reaps on drop    |
//!
//! - Run all steps: `cargo run -p module_09 --bin lesson_14`
//! - Run one step:  `cargo run -p module_09 --bin lesson_14 -- panic_in_task`
//!
//! Try: in `install_reenters`, change task B's `try_lock()` to `lock()` and
//! run `-- install_reenters`. It hangs for good, although the gate's
//! `recv_timeout` gives up after ten seconds: which thread is B waiting for?

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use module_09::{
    Task, WorkerError, WorkerProcess, count_primes, panic_message, process_state, split_range,
};
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use step_runner::{Sink, Step, lesson_id};

fn pool(threads: usize) -> ThreadPool {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the OS can start the pool's threads")
}

/// The compile errors and their fixes. Each comment names a mistake and its
/// error; the code under it compiles. The mistakes, in full, are
/// `compile_fail` doctests in this module's `lib.rs` (`compile_errors`):
/// `cargo test -p module_09
/// --doc` shows that they still fail to compile.
fn send_and_static(pool: &ThreadPool) -> (usize, usize, Vec<i32>, u64) {
    let data = vec![1, 2, 3];
    // `pool.spawn(|| println!("{}", data.len()))`: E0373, the closure may
    // outlive `data`. Fix 1: a scope, whose tasks end before it returns.
    let borrowed = pool.scope(|s| {
        let (tx, rx) = crossbeam_channel::bounded(1);
        // `move` moves `tx` in; `data` is rebound to a reference first, so
        // only the reference moves and the task borrows the Vec.
        let data = &data;
        s.spawn(move |_| {
            let _ = tx.send(data.len());
        });
        rx.recv().expect("the scoped task sends once")
    });

    // An `Rc` moved into `pool.spawn`: E0277, `Rc` is not `Send`.
    // Fix 2: `Arc`, whose reference count is atomic, and `move`.
    let shared = Arc::new(data.clone());
    let (tx, rx) = crossbeam_channel::bounded(1);
    pool.spawn(move || {
        let _ = tx.send(shared.len());
    });
    let owned = rx.recv().expect("the task sends once");

    // An `Rc` used in a `par_iter` closure: E0277, `Rc` is not `Sync`.
    // Fix 3: share plain data (or an `Arc`); a `Copy` value is simplest.
    let offset = 5;
    let shifted = pool.install(|| (0..4).into_par_iter().map(|x| x + offset).collect());

    // `par_iter().for_each(|x| total += x)`: E0596, a `Fn` closure cannot
    // mutate a capture. (In Python each worker process adds to its own copy
    // and the total stays 0, with no error.) Fix 4: let the pool reduce.
    let numbers = [1u64, 2, 3];
    let total = pool.install(|| numbers.par_iter().sum());

    (borrowed, owned, shifted, total)
}

fn show_send_and_static() {
    let (borrowed, owned, shifted, total) = send_and_static(&pool(2));
    println!("scoped task borrowed a Vec of {borrowed}; Arc moved into spawn: {owned}");
    println!("shared offset: {shifted:?}; reduced total: {total}");
}

/// When each task started and ended, relative to one origin.
#[derive(Debug)]
struct Blocking {
    blockers_ended: Vec<Duration>,
    quick_started: Duration,
}

/// Two tasks that block (standing in for a slow read) occupy both threads
/// of a 2-thread pool; a quick task submitted after them cannot even start
/// until one of them ends. With `on_own_threads`, the blocking work runs on
/// plain threads instead and the pool stays free.
fn blocking_inside_rayon(pool: &ThreadPool, block: Duration, on_own_threads: bool) -> Blocking {
    let origin = Instant::now();
    let (started_tx, started_rx) = crossbeam_channel::unbounded();
    let (ended_tx, ended_rx) = crossbeam_channel::unbounded();
    let mut own_threads = Vec::new();
    for _ in 0..2 {
        let (started_tx, ended_tx) = (started_tx.clone(), ended_tx.clone());
        let blocker = move || {
            let _ = started_tx.send(());
            thread::sleep(block);
            let _ = ended_tx.send(origin.elapsed());
        };
        if on_own_threads {
            own_threads.push(thread::spawn(blocker));
        } else {
            pool.spawn(blocker);
        }
    }
    // Submit the quick task only once both blockers are running.
    for _ in 0..2 {
        started_rx.recv().expect("each blocker reports its start");
    }
    let (quick_tx, quick_rx) = crossbeam_channel::bounded(1);
    pool.spawn(move || {
        let _ = quick_tx.send(origin.elapsed());
    });
    let quick_started = quick_rx.recv().expect("the quick task runs");
    drop(ended_tx);
    let blockers_ended = ended_rx.iter().collect();
    own_threads.into_iter().for_each(|t| t.join().unwrap());
    Blocking {
        blockers_ended,
        quick_started,
    }
}

fn show_blocking_inside_rayon() {
    let p = pool(2);
    for own in [false, true] {
        let label = ["blockers in the pool", "blockers on own threads"][usize::from(own)];
        let b = blocking_inside_rayon(&p, BLOCK, own);
        println!(
            "{label}: quick task started at {:.2?}; blockers ended at {:.2?}",
            b.quick_started, b.blockers_ended
        );
    }
}

/// A new pool built inside every task, against nested `par_iter`s sharing
/// one pool: every extra pool costs threads and start-up time (and see
/// `install_reenters` for what waiting on another pool does). Returns
/// `(sum, time, threads)` for each.
fn nested_pools(items: u64, inner: u64) -> ((u64, Duration, usize), (u64, Duration, usize)) {
    let work = |i: u64| -> u64 { (0..inner).map(|j| (i * inner + j) % 13).sum() };
    let outer = pool(2);

    let pools_built = AtomicUsize::new(0);
    let started = Instant::now();
    let sum_new_pools = outer.install(|| {
        (0..items)
            .into_par_iter()
            .map(|i| {
                // The mistake: every task builds (and tears down) its own pool.
                let inner_pool = pool(2);
                pools_built.fetch_add(1, Ordering::SeqCst);
                inner_pool.install(|| (0..1).into_par_iter().map(|_| work(i)).sum::<u64>())
            })
            .sum()
    });
    let threads = 2 + 2 * pools_built.load(Ordering::SeqCst);
    let new_pools = (sum_new_pools, started.elapsed(), threads);

    let started = Instant::now();
    // The fix: nest parallel iterators in the one pool; work stealing
    // spreads the inner work over the same two threads.
    let sum_nested = outer.install(|| {
        (0..items)
            .into_par_iter()
            .map(|i| (0..1).into_par_iter().map(|_| work(i)).sum::<u64>())
            .sum()
    });
    (new_pools, (sum_nested, started.elapsed(), 2))
}

fn show_nested_pools() {
    let ((s1, t1, n1), (s2, t2, n2)) = nested_pools(64, 10_000);
    println!("a new pool in every task: sum {s1} in {t1:.2?}, {n1} threads started");
    println!("nested par_iter, one pool: sum {s2} in {t2:.2?}, {n2} threads");
}

/// A task of a one-thread pool waits in `other.install`, holding a lock. rayon
/// does not block the waiting thread: it runs its own pool's other jobs
/// meanwhile, on top of the waiting task's stack ("Warning: execution order"
/// in rayon-core's `ThreadPool::install` docs). Task B, queued by `join` on
/// this pool's only thread, runs there while task A still holds its lock:
/// with `lock()` instead of `try_lock()`, B would wait for its own thread for
/// ever (std's `Mutex::lock` docs: locking twice on one thread "might panic or
/// deadlock"). Each event goes to `sink` as it happens.
fn install_reenters(sink: &Sink) {
    let (this, other) = (pool(1), pool(1));
    let lock = Mutex::new(());
    // Opened by task B. If waiting in `install` blocked the thread, B could
    // not run and the gate would stay shut; the limit keeps that case finite.
    let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(1);
    this.install(|| {
        rayon::join(
            || {
                let _guard = lock.lock().unwrap();
                sink.note("A: holds the lock, waits in other.install");
                let opened = other.install(|| gate_rx.recv_timeout(Duration::from_secs(10)));
                let gate = opened.is_ok();
                sink.note(format!("A: back from other.install (gate opened: {gate})"));
            },
            || {
                let held = lock.try_lock().is_err();
                sink.note(format!(
                    "B: runs while A waits, on the same thread; lock held: {held}"
                ));
                let _ = gate_tx.send(());
            },
        )
    });
}

fn show_install_reenters() {
    install_reenters(&Sink::stdout());
}

/// What happened to three kinds of panicking tasks.
#[derive(Debug, PartialEq, Eq)]
struct Panics {
    /// A panic in `par_iter().map`, caught around `collect`.
    in_map: Result<Vec<u64>, String>,
    /// Panics in `spawn`ed tasks seen by the pool's panic handler.
    handled_by_pool: usize,
    /// The fix: failures as values, each in its place.
    as_results: Vec<Result<u64, String>>,
}

fn panic_in_task(items: &[u64]) -> Panics {
    let checked = |x: u64| {
        if x == 13 {
            Err(format!("unlucky item {x}"))
        } else {
            Ok(x * 2)
        }
    };
    // rayon resumes the panic in the caller of `collect`, but only after the
    // pieces already split off have ended: `join` always runs both halves
    // (rayon-core's `join` docs, Panics). The rest of the piece that panicked
    // never runs, so which other items ran depends on the split;
    // `panic_fuse()` stops the others sooner. Uncaught, the panic would end
    // this thread (and `main`).
    let in_map = catch_unwind(AssertUnwindSafe(|| {
        items
            .par_iter()
            .map(|&x| checked(x).unwrap_or_else(|e| panic!("{e}")))
            .collect::<Vec<u64>>()
    }))
    .map_err(|payload| panic_message(payload.as_ref()));

    // A panic in a `spawn`ed task has no caller to go to: by default rayon
    // aborts the whole process. A pool with a panic handler survives it.
    // Every task reports once: itself when it ends, or the handler for it.
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Result<(), String>>();
    let handler_tx = done_tx.clone();
    let guarded = ThreadPoolBuilder::new()
        .num_threads(2)
        .panic_handler(move |payload| {
            let _ = handler_tx.send(Err(panic_message(payload.as_ref())));
        })
        .build()
        .expect("the OS can start the pool's threads");
    for &x in items {
        let done_tx = done_tx.clone();
        guarded.spawn(move || {
            checked(x).unwrap_or_else(|e| panic!("{e}"));
            let _ = done_tx.send(Ok(()));
        });
    }
    let handled_by_pool = done_rx
        .iter()
        .take(items.len())
        .filter(Result::is_err)
        .count();

    let as_results = items.par_iter().map(|&x| checked(x)).collect();
    Panics {
        in_map,
        handled_by_pool,
        as_results,
    }
}

fn show_panic_in_task() {
    // std's default panic hook prints each panic on stderr as it
    // happens, caught or not; rayon installs no hook of its own.
    let p = panic_in_task(&[3, 13, 21]);
    println!("par_iter with a panicking item: {:?}", p.in_map);
    let handled = p.handled_by_pool;
    println!("spawned tasks that panicked, seen by the pool's handler: {handled}");
    println!("returning Result instead: {:?}", p.as_results);
}

/// `groups` threads each building their own pool of `per_group` threads
/// for their share of the work, against one shared pool. Returns
/// `(primes, time, threads)` for each.
fn oversubscription(
    limit: u64,
    groups: usize,
    per_group: usize,
) -> ((u64, Duration, usize), (u64, Duration, usize)) {
    let chunks = split_range(limit, (groups * 4) as u64);

    let started = Instant::now();
    let primes_many: u64 = thread::scope(|s| {
        let handles: Vec<_> = chunks
            .chunks(4)
            .map(|share| {
                s.spawn(move || {
                    pool(per_group)
                        .install(|| share.par_iter().cloned().map(count_primes).sum::<u64>())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let many = (primes_many, started.elapsed(), groups + groups * per_group);

    let shared = pool(per_group);
    let started = Instant::now();
    let primes_one = shared.install(|| chunks.par_iter().cloned().map(count_primes).sum());
    (many, (primes_one, started.elapsed(), per_group))
}

fn show_oversubscription() {
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    let ((p1, t1, n1), (p2, t2, n2)) = oversubscription(1_000_000, 4, cores);
    println!("4 threads with a pool each: {p1} primes in {t1:.2?} on {n1} threads");
    println!("one shared pool:            {p2} primes in {t2:.2?} on {n2} threads");
}

/// A child process that is neither waited for nor killed lingers: first
/// running, then as a zombie. `WorkerProcess` kills and reaps in `drop`,
/// so even an early return leaves nothing behind.
fn forgotten_child(program: &Path) -> Result<(u32, Option<char>, Option<char>), WorkerError> {
    let mut worker = WorkerProcess::spawn(program)?;
    let pid = worker.request(&Task::Pid)?.pid;
    let while_owned = process_state(pid);
    // No `finish()`: dropping the worker (as any early return would) kills it.
    drop(worker);
    Ok((pid, while_owned, process_state(pid)))
}

fn show_forgotten_child() {
    match forgotten_child(&this_program()) {
        Ok((pid, before, after)) => {
            println!("worker {pid} while owned: state {before:?}");
            println!("worker {pid} after its handle was dropped: state {after:?} (gone)");
        }
        Err(e) => println!("error: {e}"),
    }
}

fn this_program() -> PathBuf {
    std::env::current_exe().expect("the running program's path")
}

const BLOCK: Duration = Duration::from_millis(500);

const TITLE: &str = "Lesson 9.14 — Common mistakes («Распространенные ошибки»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("send_and_static", "the compile errors, and the code that compiles", show_send_and_static),
        Step::new("blocking_inside_rayon", "blocked pool threads delay every other task", show_blocking_inside_rayon),
        Step::new("nested_pools", "a pool per task vs nested par_iter in one pool", show_nested_pools),
        Step::new("install_reenters", "waiting in another pool's install runs this pool's jobs", show_install_reenters),
        Step::new("panic_in_task", "panics caught, handled, or avoided", show_panic_in_task),
        Step::new("oversubscription", "pools per thread vs one pool sized to the cores", show_oversubscription),
        Step::new("forgotten_child", "a dropped worker process is killed and reaped", show_forgotten_child),
        // Hidden: what a child started by this lesson runs (module_09's lib.rs).
        module_09::WORKER_STEP,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_versions_compute_the_right_values() {
        assert_eq!(send_and_static(&pool(2)), (3, 3, vec![5, 6, 7, 8], 6));
    }

    #[test]
    fn a_quick_task_waits_for_blocked_pool_threads() {
        course_tests::deadline(Duration::from_secs(30), || {
            let p = pool(2);
            let b = blocking_inside_rayon(&p, Duration::from_millis(50), false);
            let first_end = *b.blockers_ended.iter().min().unwrap();
            // Each end is recorded before its thread is free again, so the
            // quick task cannot have started earlier, on any machine.
            assert!(b.quick_started >= first_end, "{b:?}");
        });
    }

    #[test]
    fn blocking_on_own_threads_leaves_the_pool_free() {
        course_tests::deadline(Duration::from_secs(30), || {
            let p = pool(2);
            let b = blocking_inside_rayon(&p, Duration::from_millis(500), true);
            assert_eq!(b.blockers_ended.len(), 2);
            assert!(
                b.quick_started < *b.blockers_ended.iter().min().unwrap(),
                "{b:?}"
            );
        });
    }

    #[test]
    fn nested_work_gives_the_same_sum_either_way() {
        let ((s1, _, n1), (s2, _, n2)) = nested_pools(8, 100);
        let expected: u64 = (0..800u64).map(|k| k % 13).sum();
        assert_eq!((s1, s2), (expected, expected));
        assert_eq!(n1, 2 + 8 * 2);
        assert_eq!(n2, 2);
    }

    #[test]
    fn a_thread_waiting_in_another_pools_install_runs_its_own_jobs() {
        let events = course_tests::deadline(Duration::from_secs(60), || {
            let sink = Sink::collect();
            install_reenters(&sink);
            sink.lines()
        });
        assert_eq!(
            events,
            [
                "A: holds the lock, waits in other.install",
                "B: runs while A waits, on the same thread; lock held: true",
                "A: back from other.install (gate opened: true)",
            ]
        );
    }

    #[test]
    fn panics_are_caught_or_handled_and_nothing_aborts() {
        let p = course_tests::deadline(Duration::from_secs(30), || panic_in_task(&[3, 13, 21, 13]));
        assert_eq!(p.in_map, Err("unlucky item 13".to_owned()));
        assert_eq!(p.handled_by_pool, 2);
        assert_eq!(
            p.as_results,
            vec![
                Ok(6),
                Err("unlucky item 13".into()),
                Ok(42),
                Err("unlucky item 13".into())
            ]
        );
    }

    #[test]
    fn oversubscribed_or_not_the_count_is_the_same() {
        let ((p1, _, n1), (p2, _, n2)) = oversubscription(50_000, 3, 2);
        assert_eq!((p1, p2), (5133, 5133));
        assert_eq!((n1, n2), (9, 2));
    }

    #[test]
    fn a_dropped_worker_leaves_no_process_behind() {
        let program = course_tests::lesson_binaries("module_09").join("lesson_14");
        let (pid, before, after) = course_tests::deadline(Duration::from_secs(60), move || {
            forgotten_child(&program).unwrap()
        });
        assert_ne!(pid, std::process::id());
        if cfg!(target_os = "linux") {
            assert!(before.is_some(), "the worker was running");
            assert_eq!(after, None, "the worker was killed and reaped");
        }
    }
}
