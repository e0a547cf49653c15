//! Lesson 3.2 — The future object («Объект Future»)
//!
//! What is inside a future: a state, a slot for the value or the error, and
//! the callbacks to run when it is filled. We build Python's kind (a blocking
//! promise) from `Mutex` + `Condvar`, then meet Rust's kind: the `Future`
//! trait, whose `poll` either returns the value or registers a `Waker`.
//!
//! | Python                                   | Rust                                                     |
//! |------------------------------------------|----------------------------------------------------------|
//! | `Future()` with `_state`, `_result`, `_exception`, `_done_callbacks` | `Promise<T>` below: `Mutex<Inner>` + `Condvar` (teaching copy) |
//! | `future.set_running_or_notify_cancel()`  | `promise.set_running()`                                  |
//! | `future.set_result(x)` / `set_exception(e)` | `promise.set_outcome(Ok(x))` / `set_outcome(Err(e))`  |
//! | `future.result(timeout)`                 | `promise.result(timeout)` (`Condvar::wait_timeout_while`) |
//! | `future.add_done_callback(fn)`           | `promise.add_done_callback(fn)`                          |
//! | a coroutine object `f()`: lazy, runs once awaited or wrapped in a task | `impl Future for T { fn poll(…) -> Poll<T::Output> }`, `Waker`: lazy the same way |
//! | a future set by one thread, read by many | `futures::channel::oneshot` + `FutureExt::shared`        |
//!
//! `concurrent.futures.Future` and `asyncio.Future` only hold the result of
//! work something else runs, like `Promise`. Python's lazy kind is the
//! coroutine object: it runs nothing until awaited, like `Delay` until polled.
//!
//! - Run all steps: `cargo run -p module_03 --bin lesson_02`
//! - Run one step:  `cargo run -p module_03 --bin lesson_02 -- hand_written_future`
//!
//! Try: in `Delay::poll`, move `shared.waker = …` into the `if !this.started`
//! block and run `-- hand_written_future`: it never ends. Which waker does
//! the timer thread call, and who is listening to it?

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
// std's types, or the shuttle model checker's when the `model` feature is
// on (see `mod model` at the bottom).
#[cfg(feature = "model")]
use shuttle::{
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread,
};
use std::sync::{PoisonError, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
#[cfg(not(feature = "model"))]
use std::{
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread,
};

use futures::channel::oneshot;
use futures::executor::block_on;
use futures::future::FutureExt;
use futures::task::noop_waker;
use step_runner::{Sink, Step, lesson_id};

/// The states of Python's future (cancellation is lesson 3.8's topic).
#[derive(Debug, Clone, PartialEq, Eq)]
enum State<T> {
    Pending,
    Running,
    Finished(Result<T, String>),
}

type Callback<T> = Box<dyn FnOnce(&Result<T, String>) + Send>;

struct Inner<T> {
    state: State<T>,
    callbacks: Vec<Callback<T>>,
}

/// A teaching copy of Python's `concurrent.futures.Future`: one thread sets
/// the outcome once, any thread may wait for it. In real code use
/// `futures::channel::oneshot` (see the last demo) or a `JoinHandle`.
struct Promise<T> {
    inner: Mutex<Inner<T>>,
    finished: Condvar,
}

impl<T: Clone> Promise<T> {
    fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                state: State::Pending,
                callbacks: Vec::new(),
            }),
            finished: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // Under the lock run only `T::clone` (a panic there leaves the state
        // as it was) and `Vec::push`: even a poisoned state is sound.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn state(&self) -> State<T> {
        self.lock().state.clone()
    }

    fn done(&self) -> bool {
        matches!(self.state(), State::Finished(_))
    }

    /// PENDING → RUNNING; the worker calls it before starting the work.
    /// Panics if the promise is not pending (Python raises `RuntimeError`).
    fn set_running(&self) {
        let mut inner = self.lock();
        let pending = matches!(inner.state, State::Pending);
        if pending {
            inner.state = State::Running;
        }
        // Panic only after unlocking: a panic while the guard is alive
        // poisons the mutex, and every later caller would pay for it.
        drop(inner);
        assert!(pending, "a promise runs once");
    }

    /// Stores the value or the error, wakes every waiter, runs the callbacks.
    /// Panics if an outcome is already set (Python raises
    /// `InvalidStateError`); the first outcome stays.
    fn set_outcome(&self, outcome: Result<T, String>) {
        let mut inner = self.lock();
        if matches!(inner.state, State::Finished(_)) {
            drop(inner);
            panic!("an outcome is set once");
        }
        inner.state = State::Finished(outcome.clone());
        let callbacks = std::mem::take(&mut inner.callbacks);
        drop(inner);
        self.finished.notify_all();
        // Outside the lock: a callback that asks the promise anything
        // (`done()`, `result()`) would otherwise deadlock on it.
        for callback in callbacks {
            callback(&outcome);
        }
    }

    /// Waits for the outcome; `None` when `timeout` passes first (Python
    /// raises `TimeoutError` instead).
    fn result(&self, timeout: Duration) -> Option<Result<T, String>> {
        let inner = self.lock();
        // `wait_timeout_while` re-checks the condition after every wake-up,
        // so spurious wake-ups cannot return early.
        let (inner, _) = self
            .finished
            .wait_timeout_while(inner, timeout, |inner| {
                !matches!(inner.state, State::Finished(_))
            })
            .unwrap_or_else(PoisonError::into_inner);
        match &inner.state {
            State::Finished(outcome) => Some(outcome.clone()),
            _ => None,
        }
    }

    /// Runs `callback` once the outcome is set: on the thread that sets it,
    /// or right here if it is already set (Python does the same).
    fn add_done_callback(&self, callback: impl FnOnce(&Result<T, String>) + Send + 'static) {
        let mut inner = self.lock();
        if let State::Finished(outcome) = &inner.state {
            let outcome = outcome.clone();
            drop(inner);
            callback(&outcome);
        } else {
            inner.callbacks.push(Box::new(callback));
        }
    }
}

/// The promise demo: each state, each wait and the callback are reported
/// through `sink` as they happen.
fn promise_demo(work: Duration, sink: &Arc<Sink>) {
    let promise = Arc::new(Promise::<u64>::new());
    sink.note(format!("created: {:?}", promise.state()));
    // The callback is kept by the promise and runs later on another thread:
    // it needs a sink of its own, hence the `Arc`.
    let callback_sink = Arc::clone(sink);
    promise.add_done_callback(move |outcome| {
        let thread = thread::current().name().unwrap_or("unnamed").to_owned();
        callback_sink.note(format!("callback on thread `{thread}`: {outcome:?}"));
    });

    let (running_tx, running_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    let worker = {
        let promise = Arc::clone(&promise);
        thread::Builder::new()
            .name("worker".into())
            .spawn(move || {
                promise.set_running();
                running_tx.send(()).expect("main is listening");
                // Work only once main has looked, so its early look is
                // early on any machine (main gone: `recv` fails, work on).
                let _ = go_rx.recv();
                thread::sleep(work);
                promise.set_outcome(Ok((1..=20).product()));
            })
            .expect("spawning the worker")
    };

    running_rx.recv().expect("the worker starts");
    // Too short a wait: the work has not even started.
    sink.note(format!(
        "result(timeout) too early: {:?}",
        promise.result(work / 10)
    ));
    sink.note(format!("state while waiting: {:?}", promise.state()));
    go_tx.send(()).expect("the worker waits for the go");
    sink.note(format!(
        "result(timeout) in time: {:?}",
        promise.result(Duration::from_secs(10))
    ));
    worker.join().expect("the worker does not panic");
    sink.note(format!("done: {}", promise.done()));
}

/// What `Delay` shares with its timer thread.
#[derive(Default)]
struct TimerState {
    elapsed: bool,
    waker: Option<Waker>,
}

/// A hand-written future that is ready after `duration`.
///
/// It is lazy: the timer thread starts on the first `poll`, not in `new`.
/// Real code uses `tokio::time::sleep`, which needs no thread per timer.
struct Delay {
    duration: Duration,
    shared: Arc<Mutex<TimerState>>,
    started: bool,
    polls: usize,
}

impl Delay {
    fn new(duration: Duration) -> Self {
        Self {
            duration,
            shared: Arc::default(),
            started: false,
            polls: 0,
        }
    }
}

impl Future for Delay {
    /// How many times it was polled.
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        // `Delay` holds nothing self-referential, so it is `Unpin` and can
        // be used as a plain `&mut`.
        let this = self.get_mut();
        this.polls += 1;
        let mut shared = this.shared.lock().unwrap();
        if shared.elapsed {
            return Poll::Ready(this.polls);
        }
        // Keep the latest waker: the task may be polled with a different one
        // each time, and only the one from the latest `poll` must be woken
        // (the `Future::poll` docs).
        shared.waker = Some(cx.waker().clone());
        drop(shared);
        if !this.started {
            this.started = true;
            let shared = Arc::clone(&this.shared);
            let duration = this.duration;
            thread::spawn(move || {
                thread::sleep(duration);
                let waker = {
                    let mut shared = shared.lock().unwrap();
                    shared.elapsed = true;
                    shared.waker.take()
                };
                // "Poll me again": without this, the executor never would.
                if let Some(waker) = waker {
                    waker.wake();
                }
            });
        }
        Poll::Pending
    }
}

/// What the hand-written future showed.
#[derive(Debug)]
struct Polled {
    /// The first poll, done by hand with a waker that does nothing.
    first_poll: Poll<usize>,
    /// Polls in all, once `block_on` finished the job.
    polls: usize,
    took: Duration,
}

/// Demo — poll a future by hand once, then let `block_on` drive it.
fn hand_written_future(duration: Duration) -> Polled {
    let started = Instant::now();
    let mut delay = Delay::new(duration);
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    // What an executor does, step by step: poll; `Pending` means "not yet,
    // I will wake you"; this waker ignores the wake-up.
    let first_poll = Pin::new(&mut delay).poll(&mut cx);
    // `block_on` polls again with a waker that unparks this thread, then
    // sleeps until the timer thread calls `wake`.
    let polls = block_on(delay);
    Polled {
        first_poll,
        polls,
        took: started.elapsed(),
    }
}

/// Demo — the real thing: a `oneshot` channel is a future set once by one
/// thread; `shared()` lets several threads wait for the same value, like
/// several threads calling `future.result()` in Python.
fn oneshot_and_shared(work: Duration) -> Vec<(String, Result<u64, oneshot::Canceled>)> {
    let (sender, receiver) = oneshot::channel::<u64>();
    let value = receiver.shared();

    let readers: Vec<_> = (1..=3)
        .map(|i| {
            let value = value.clone();
            thread::Builder::new()
                .name(format!("reader-{i}"))
                .spawn(move || {
                    let name = thread::current().name().unwrap_or("unnamed").to_owned();
                    (name, block_on(value))
                })
                .expect("spawning a reader")
        })
        .collect();

    thread::spawn(move || {
        thread::sleep(work);
        // `send` fails only if every receiver is gone; ours are waiting.
        sender.send(2 + 2 * 20).expect("the readers are waiting");
    });

    readers
        .into_iter()
        .map(|reader| reader.join().expect("a reader does not panic"))
        .collect()
}

/// Demo — a sender dropped without sending: the receiver gets `Canceled`
/// instead of waiting forever. A bare Python `Future()` that nobody sets
/// makes `result()` wait forever; Python's executors avoid it by catching
/// every exception of the work and storing it in the future.
fn dropped_sender() -> Result<u64, oneshot::Canceled> {
    let (sender, receiver) = oneshot::channel::<u64>();
    thread::spawn(move || drop(sender))
        .join()
        .expect("the thread does not panic");
    block_on(receiver)
}

fn show_promise() {
    promise_demo(Duration::from_millis(500), &Arc::new(Sink::stdout()));
}

fn show_hand_written_future() {
    let polled = hand_written_future(Duration::from_millis(500));
    println!("first poll by hand: {:?}", polled.first_poll);
    println!("ready after {} polls and {:.1?}", polled.polls, polled.took);
}

fn show_oneshot_and_shared() {
    for (reader, value) in oneshot_and_shared(Duration::from_millis(300)) {
        println!("{reader} got {value:?}");
    }
    println!("sender dropped without a value: {:?}", dropped_sender());
}

const TITLE: &str = "Lesson 3.2 — The future object («Объект Future»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("promise", "Python's future rebuilt from Mutex + Condvar", show_promise),
        Step::new("hand_written_future", "impl Future: poll, Pending, the waker, Ready", show_hand_written_future),
        Step::new("oneshot_and_shared", "a oneshot channel set once, awaited by three threads", show_oneshot_and_shared),
    ])
}

// The ordinary tests run on std's types; with the `model` feature the
// promise is built from shuttle's, which work only inside `shuttle::check_*`.
#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;
    use course_tests::deadline;
    use std::panic::{self, AssertUnwindSafe};
    use std::task::Wake;

    const LIMIT: Duration = Duration::from_secs(20);

    #[test]
    fn promise_moves_through_its_states() {
        let log = deadline(LIMIT, || {
            let sink = Arc::new(Sink::collect());
            promise_demo(Duration::from_millis(20), &sink);
            sink.lines()
        });
        let product: u64 = (1..=20).product();
        // The callback runs on the worker, so its line may come before or
        // after main's: check main's lines in order, the callback apart.
        let log: Vec<&str> = log
            .iter()
            .map(String::as_str)
            .filter(|l| !l.starts_with("callback"))
            .collect();
        assert_eq!(
            log,
            [
                "created: Pending",
                "result(timeout) too early: None",
                "state while waiting: Running",
                &format!("result(timeout) in time: Some(Ok({product}))"),
                "done: true",
            ]
        );
    }

    #[test]
    fn the_callback_runs_once_on_the_worker_with_the_outcome() {
        let log = deadline(LIMIT, || {
            let sink = Arc::new(Sink::collect());
            promise_demo(Duration::from_millis(20), &sink);
            sink.lines()
        });
        let product: u64 = (1..=20).product();
        let callbacks: Vec<_> = log.iter().filter(|l| l.starts_with("callback")).collect();
        assert_eq!(
            callbacks,
            [&format!("callback on thread `worker`: Ok({product})")]
        );
    }

    #[test]
    fn a_callback_added_after_the_end_runs_at_once_on_the_caller() {
        let promise = Promise::new();
        promise.set_running();
        promise.set_outcome(Err::<u8, _>("boom".to_owned()));
        let (tx, rx) = mpsc::channel();
        promise.add_done_callback(move |outcome| {
            tx.send((thread::current().id(), outcome.clone())).unwrap();
        });
        let (thread, outcome) = rx.try_recv().expect("ran before returning");
        assert_eq!(thread, thread::current().id());
        assert_eq!(outcome, Err("boom".to_owned()));
    }

    #[test]
    fn a_second_outcome_is_refused_and_the_promise_keeps_working() {
        // The refusal panics; before it was raised outside the lock, the
        // panic poisoned the mutex and every later call failed too.
        let promise = Promise::new();
        promise.set_outcome(Ok(1));
        let second = panic::catch_unwind(AssertUnwindSafe(|| promise.set_outcome(Ok(2))));
        assert!(second.is_err(), "a second outcome must be refused");
        let again = panic::catch_unwind(AssertUnwindSafe(|| promise.set_running()));
        assert!(again.is_err(), "a finished promise cannot start running");
        assert!(promise.done());
        assert_eq!(promise.result(Duration::ZERO), Some(Ok(1)));
        let (tx, rx) = mpsc::channel();
        promise.add_done_callback(move |outcome| tx.send(outcome.clone()).unwrap());
        assert_eq!(rx.try_recv(), Ok(Ok(1)));
    }

    #[test]
    fn every_waiter_gets_the_outcome_once_it_is_set() {
        let seen = deadline(LIMIT, || {
            let promise = Arc::new(Promise::<u32>::new());
            let (waiting_tx, waiting_rx) = mpsc::channel();
            let waiters: Vec<_> = (0..3)
                .map(|_| {
                    let promise = Arc::clone(&promise);
                    let waiting_tx = waiting_tx.clone();
                    thread::spawn(move || {
                        waiting_tx.send(()).unwrap();
                        promise.result(LIMIT)
                    })
                })
                .collect();
            for _ in 0..3 {
                waiting_rx.recv().unwrap();
            }
            promise.set_outcome(Ok(7));
            waiters
                .into_iter()
                .map(|w| w.join().unwrap())
                .collect::<Vec<_>>()
        });
        assert_eq!(seen, [Some(Ok(7)), Some(Ok(7)), Some(Ok(7))]);
    }

    /// A waker that reports each wake-up on a channel.
    struct Signal(mpsc::Sender<()>);

    impl Wake for Signal {
        fn wake(self: Arc<Self>) {
            let _ = self.0.send(());
        }
    }

    #[test]
    fn delay_starts_its_timer_on_the_first_poll_not_in_new() {
        let mut delay = Delay::new(Duration::from_millis(1));
        // Nothing but `delay` holds its state: no timer thread was started.
        assert_eq!(Arc::strong_count(&delay.shared), 1);
        let (woken_tx, woken_rx) = mpsc::channel();
        let waker = Waker::from(Arc::new(Signal(woken_tx)));
        let first = Pin::new(&mut delay).poll(&mut Context::from_waker(&waker));
        assert_eq!(first, Poll::Pending);
        // The first poll started the timer, and the timer wakes the waker
        // that poll left.
        woken_rx
            .recv_timeout(LIMIT)
            .expect("the timer thread wakes the task");
        let again = Pin::new(&mut delay).poll(&mut Context::from_waker(&waker));
        assert_eq!(again, Poll::Ready(2));
    }

    #[test]
    fn delay_is_pending_first_and_ready_after_a_wake_up() {
        let polled = deadline(LIMIT, || hand_written_future(Duration::from_millis(50)));
        assert_eq!(polled.first_poll, Poll::Pending);
        // By hand once, by `block_on` once more (Pending, or Ready if the
        // timer was already done), and once after the wake-up: never more,
        // since nothing wakes the task before the timer does.
        assert!(matches!(polled.polls, 2 | 3), "{polled:?}");
        assert!(polled.took >= Duration::from_millis(50), "{polled:?}");
    }

    #[test]
    fn every_reader_of_a_shared_future_gets_the_value() {
        let seen = deadline(LIMIT, || oneshot_and_shared(Duration::from_millis(20)));
        let mut readers: Vec<_> = seen.iter().map(|(name, _)| name.as_str()).collect();
        readers.sort_unstable();
        assert_eq!(readers, ["reader-1", "reader-2", "reader-3"]);
        assert!(seen.iter().all(|(_, value)| *value == Ok(42)));
    }

    #[test]
    fn a_dropped_sender_cancels_the_receiver() {
        assert_eq!(deadline(LIMIT, dropped_sender), Err(oneshot::Canceled));
    }
}

/// Model checks of `Promise` (`cargo test -p module_03 --features model`):
/// shuttle runs a setter, two waiters and a late callback under many random
/// and PCT schedules, with its own `Mutex` and `Condvar` in place of std's.
/// Its `wait_timeout_while` never times out, so a waiter that misses its
/// wake-up blocks for good, which shuttle reports as a deadlock.
#[cfg(test)]
#[cfg(feature = "model")]
mod model {
    use super::*;
    use shuttle::thread;
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::atomic::{AtomicUsize, Ordering};

    const ITERATIONS: usize = 5_000;

    /// How a waiter asks for the outcome, and how the setter sets it.
    type Wait = fn(&Promise<u32>) -> Option<Result<u32, String>>;
    type Set = fn(&Promise<u32>, Result<u32, String>);

    /// The property: while one thread sets the outcome, two threads wait for
    /// it and a third adds a done callback. Each waiter gets the value (no
    /// wake-up is lost between its look at the state and its wait), and the
    /// callback runs exactly once with it, whichever came first.
    fn every_waiter_sees_the_value_once(wait: Wait, set: Set) {
        let promise = Arc::new(Promise::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let promise = Arc::clone(&promise);
                thread::spawn(move || wait(&promise))
            })
            .collect();
        let adder = {
            let (promise, calls) = (Arc::clone(&promise), Arc::clone(&calls));
            thread::spawn(move || {
                promise.add_done_callback(move |outcome| {
                    assert_eq!(outcome, &Ok(7), "the callback sees the value");
                    calls.fetch_add(1, Ordering::SeqCst);
                });
            })
        };
        promise.set_running();
        set(&promise, Ok(7));
        for waiter in waiters {
            assert_eq!(waiter.join().expect("a waiter does not panic"), Some(Ok(7)));
        }
        adder.join().expect("the adder does not panic");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the callback ran once");
    }

    fn result(promise: &Promise<u32>) -> Option<Result<u32, String>> {
        promise.result(Duration::from_secs(3600))
    }

    fn check(wait: Wait, set: Set) {
        let property = move || every_waiter_sees_the_value_once(wait, set);
        shuttle::check_random(property, ITERATIONS);
        shuttle::check_pct(property, ITERATIONS, 3);
    }

    /// Runs a model that must fail and returns the checker's message.
    fn caught(wait: Wait, set: Set) -> String {
        let failure = panic::catch_unwind(AssertUnwindSafe(|| check(wait, set)))
            .expect_err("the checker must catch the broken promise");
        course_tests::panic_text(&*failure).to_owned()
    }

    #[test]
    fn model_promise_wakes_every_waiter_and_calls_back_once() {
        check(result, Promise::set_outcome);
    }

    /// Broken: looks at the state, unlocks, then waits without looking again.
    /// A `set_outcome` between the look and the wait is a lost wake-up.
    fn wait_after_looking_once(promise: &Promise<u32>) -> Option<Result<u32, String>> {
        if let State::Finished(outcome) = promise.state() {
            return Some(outcome);
        }
        let inner = promise
            .finished
            .wait(promise.lock())
            .unwrap_or_else(PoisonError::into_inner);
        match &inner.state {
            State::Finished(outcome) => Some(outcome.clone()),
            _ => None,
        }
    }

    /// Broken: wakes one waiter instead of every one.
    fn set_waking_one(promise: &Promise<u32>, outcome: Result<u32, String>) {
        let mut inner = promise.lock();
        inner.state = State::Finished(outcome.clone());
        let callbacks = std::mem::take(&mut inner.callbacks);
        drop(inner);
        promise.finished.notify_one();
        for callback in callbacks {
            callback(&outcome);
        }
    }

    #[test]
    fn model_catches_a_wait_that_does_not_look_again() {
        let message = caught(wait_after_looking_once, Promise::set_outcome);
        assert!(message.contains("deadlock"), "{message}");
    }

    #[test]
    fn model_catches_a_set_that_wakes_one_waiter() {
        let message = caught(result, set_waking_one);
        assert!(message.contains("deadlock"), "{message}");
    }

    /// The second property, of the hand-written `Delay`: polled once by hand
    /// and then driven by `block_on`, it always completes. The timer thread
    /// may set `elapsed` at any point around a `poll`; a wake-up lost
    /// between the poll's look at `elapsed` and its storing of the waker
    /// leaves `block_on` asleep for good: a deadlock.
    fn delay_always_completes<F: Future<Output = usize> + Unpin>(delay: F) {
        let mut delay = delay;
        let waker = futures::task::noop_waker();
        let first = Pin::new(&mut delay).poll(&mut Context::from_waker(&waker));
        if first.is_pending() {
            let polls = shuttle::future::block_on(delay);
            assert!(polls >= 2, "ready only after a second poll");
        }
    }

    #[test]
    fn model_delay_wakes_its_task_whenever_the_timer_fires() {
        let property = || delay_always_completes(Delay::new(Duration::from_millis(1)));
        shuttle::check_random(property, ITERATIONS);
        shuttle::check_pct(property, ITERATIONS, 3);
    }

    /// Broken: looks at `elapsed` and stores the waker under two separate
    /// locks. The timer can fire in between and wake the old waker.
    struct SplitLockDelay(Delay);

    impl Future for SplitLockDelay {
        type Output = usize;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            let this = &mut self.get_mut().0;
            this.polls += 1;
            if this.shared.lock().unwrap().elapsed {
                return Poll::Ready(this.polls);
            }
            this.shared.lock().unwrap().waker = Some(cx.waker().clone());
            if !this.started {
                this.started = true;
                let shared = Arc::clone(&this.shared);
                thread::spawn(move || {
                    let waker = {
                        let mut shared = shared.lock().unwrap();
                        shared.elapsed = true;
                        shared.waker.take()
                    };
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                });
            }
            Poll::Pending
        }
    }

    #[test]
    fn model_catches_a_delay_that_loses_the_wake_up() {
        let failure = panic::catch_unwind(|| {
            let property =
                || delay_always_completes(SplitLockDelay(Delay::new(Duration::from_millis(1))));
            shuttle::check_random(property, ITERATIONS);
            shuttle::check_pct(property, ITERATIONS, 3);
        })
        .expect_err("the checker must catch the lost wake-up");
        let message = course_tests::panic_text(&*failure);
        assert!(message.contains("deadlock"), "{message}");
    }
}
