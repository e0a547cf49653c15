//! [`ProcessPool`]: `multiprocessing.Pool`'s life cycle with real worker
//! processes (lesson 9.13): `apply_async`, `close`, `join`, `terminate`, and
//! what leaving `with Pool() as pool:` does.
//!
//! | Python (`multiprocessing/pool.py`, 3.11)      | here                                                   |
//! |-----------------------------------------------|--------------------------------------------------------|
//! | `Pool(2)` starts two processes at once         | [`ProcessPool::new`]                                   |
//! | `pool.apply_async(f, args)` → `AsyncResult`    | [`ProcessPool::apply_async`] → [`AsyncResult`]         |
//! | `close()`: no new tasks, queued ones still run | [`ProcessPool::close`]                                 |
//! | `apply_async` after `close`: `ValueError("Pool not running")` | `Err(PoolClosed)`                     |
//! | `join()`: wait for the workers (after `close`) | [`ProcessPool::join`]                                  |
//! | `terminate()`: kill the workers now            | [`ProcessPool::terminate`]                             |
//! | leaving `with Pool() as pool:` → `terminate()` | dropping the pool terminates it                        |
//! | `get()` of a task the pool never finished: waits forever | `Err(TaskError::Terminated)` at once         |
//!
//! The drop deliberately copies Python's `__exit__`, trap included, so the
//! lesson can show it; a Rust API of one's own could as well make drop
//! wait (as `thread::scope` does).

use std::io;
use std::path::Path;
use std::sync::Mutex;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded, unbounded};

use crate::{Reply, Task, WorkerError, WorkerProcess};

/// Why a task submitted with [`ProcessPool::apply_async`] gave no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskError {
    /// The worker refused the task or died running it.
    Failed(String),
    /// The pool was terminated (or dropped) before the task finished.
    /// Python's `get()` waits forever for such a task (`get(timeout)` raises
    /// `TimeoutError`, tried on 3.11): here the lost task says so at once.
    Terminated,
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskError::Failed(message) => write!(f, "task failed: {message}"),
            TaskError::Terminated => write!(f, "the pool was terminated before the task finished"),
        }
    }
}

impl std::error::Error for TaskError {}

/// `apply_async` on a closed pool: Python's `ValueError("Pool not running")`.
#[derive(Debug, PartialEq, Eq)]
pub struct PoolClosed;

type Outcome = Result<Reply, TaskError>;

struct Job {
    task: Task,
    reply: Sender<Outcome>,
}

/// Python's `AsyncResult`: [`AsyncResult::get`] may be called again and
/// returns the same outcome, and once [`AsyncResult::ready`] is true it stays
/// true. The outcome is taken from its one-slot channel once and kept.
pub struct AsyncResult {
    rx: Receiver<Outcome>,
    /// The outcome once it has arrived. Held while receiving, so that two
    /// threads calling `get` cannot both wait for the one message.
    outcome: Mutex<Option<Outcome>>,
}

impl AsyncResult {
    /// Waits for the task's outcome; every later call returns it again.
    pub fn get(&self) -> Outcome {
        self.wait(None)
            .expect("an unlimited wait ends with an outcome")
    }

    /// Waits at most `limit`: `None` if the task has not finished by then
    /// (Python's `get(timeout)` raising `TimeoutError`).
    pub fn get_timeout(&self, limit: Duration) -> Option<Outcome> {
        self.wait(Some(limit))
    }

    /// Whether the outcome is in, without waiting. False while another
    /// thread holds the slot in `get`.
    pub fn ready(&self) -> bool {
        match self.outcome.try_lock() {
            Ok(mut outcome) => Self::fill(&self.rx, &mut outcome, Some(Duration::ZERO)).is_some(),
            Err(_) => false,
        }
    }

    fn wait(&self, limit: Option<Duration>) -> Option<Outcome> {
        let mut outcome = self.outcome.lock().unwrap();
        Self::fill(&self.rx, &mut outcome, limit)
    }

    fn fill(
        rx: &Receiver<Outcome>,
        slot: &mut Option<Outcome>,
        limit: Option<Duration>,
    ) -> Option<Outcome> {
        if slot.is_none() {
            let received = match limit {
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(limit) => rx.recv_timeout(limit),
            };
            *slot = match received {
                Ok(outcome) => Some(outcome),
                Err(RecvTimeoutError::Timeout) => return None,
                // The job, and with it the reply's sender, was dropped
                // unanswered: the pool was terminated.
                Err(RecvTimeoutError::Disconnected) => Some(Err(TaskError::Terminated)),
            };
        }
        slot.clone()
    }
}

/// A pool of worker processes with `multiprocessing.Pool`'s life cycle.
///
/// One parent thread per worker process takes tasks from a shared queue and
/// waits for each reply; a worker that dies is replaced (as Python's pool
/// replaces a worker that exited), failing only its task.
pub struct ProcessPool {
    /// `None` once closed: the drivers finish the queue, then stop.
    jobs: Option<Sender<Job>>,
    /// Dropping it tells every driver to kill its worker at once.
    stop: Option<Sender<()>>,
    drivers: Vec<JoinHandle<()>>,
    pids: Vec<u32>,
}

impl ProcessPool {
    /// Starts `workers` processes of `program` (a lesson binary) now, as
    /// `Pool(workers)` does.
    pub fn new(program: &Path, workers: usize) -> io::Result<ProcessPool> {
        let (jobs, queue) = unbounded::<Job>();
        let (stop, stopped) = bounded::<()>(0);
        let mut pool = ProcessPool {
            jobs: Some(jobs),
            stop: Some(stop),
            drivers: Vec::new(),
            pids: Vec::new(),
        };
        for _ in 0..workers.max(1) {
            // On an error `?` drops the pool, which terminates what started.
            let worker = WorkerProcess::spawn(program)?;
            pool.pids.push(worker.pid());
            let (queue, stopped, program) = (queue.clone(), stopped.clone(), program.to_owned());
            pool.drivers.push(thread::spawn(move || {
                drive(worker, &program, &queue, &stopped)
            }));
        }
        Ok(pool)
    }

    /// The worker processes started with the pool.
    pub fn pids(&self) -> &[u32] {
        &self.pids
    }

    /// Queues one task and returns at once.
    pub fn apply_async(&self, task: Task) -> Result<AsyncResult, PoolClosed> {
        let jobs = self.jobs.as_ref().ok_or(PoolClosed)?;
        let (reply, rx) = bounded(1);
        jobs.send(Job { task, reply })
            .expect("the drivers keep the queue open while the pool is open");
        Ok(AsyncResult {
            rx,
            outcome: Mutex::new(None),
        })
    }

    /// No new tasks; the queued ones still run. Python's `close()`.
    pub fn close(&mut self) {
        self.jobs = None;
    }

    /// Closes the pool, waits until every queued task has run and every
    /// worker has exited. Python's `join()` raises `ValueError` unless
    /// `close()` or `terminate()` came first; taking `self` makes the order
    /// a non-issue here.
    pub fn join(mut self) {
        self.close();
        self.join_drivers();
    }

    /// Kills every worker now; tasks running or queued never finish, and
    /// their `get` returns [`TaskError::Terminated`]. Python's `terminate()`.
    pub fn terminate(mut self) {
        self.terminate_now();
    }

    fn terminate_now(&mut self) {
        self.close();
        self.stop = None;
        self.join_drivers();
    }

    fn join_drivers(&mut self) {
        for driver in self.drivers.drain(..) {
            driver.join().unwrap();
        }
    }
}

impl Drop for ProcessPool {
    /// Python's `Pool.__exit__`: terminate, not wait.
    fn drop(&mut self) {
        self.terminate_now();
    }
}

/// One worker's parent thread: runs queued tasks on its process until the
/// queue is closed and empty, or until the pool is terminated.
fn drive(mut worker: WorkerProcess, program: &Path, queue: &Receiver<Job>, stopped: &Receiver<()>) {
    loop {
        let job = crossbeam_channel::select_biased! {
            recv(stopped) -> _ => return, // dropping `worker` kills it
            recv(queue) -> job => match job {
                Ok(job) => job,
                Err(_) => break,
            },
        };
        let outcome = match worker.request_unless(&job.task, stopped) {
            Ok(reply) => Ok(reply),
            // The job is dropped unanswered: its `get` reports `Terminated`.
            Err(WorkerError::Stopped { .. }) => return,
            Err(e) => {
                if matches!(e, WorkerError::Died { .. }) {
                    match WorkerProcess::spawn(program) {
                        Ok(fresh) => worker = fresh,
                        Err(_) => return,
                    }
                }
                Err(TaskError::Failed(e.to_string()))
            }
        };
        // The caller may have dropped its `AsyncResult`: nobody to tell.
        let _ = job.reply.send(outcome);
    }
    let _ = worker.finish();
}
