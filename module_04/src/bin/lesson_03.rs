//! Lesson 4.3 — LIFO queue («LifoQueue»)
//!
//! Last in, first out: the newest item is taken first. Channels are FIFO
//! only, so a thread-safe stack is a `Vec` behind a `Mutex`, with a `Condvar`
//! that consumers sleep on while it is empty. Writing that small type is the
//! lesson; for work-stealing schedulers, `crossbeam_deque::Worker::new_lifo`
//! is the ready-made LIFO: non-blocking, and LIFO only for its owner, whose
//! `push` and `pop` use the same end (other threads steal from the other).
//!
//! The stack behaves like a channel: `stack()` returns a `Pusher` and a
//! `Popper`, each can be cloned, and dropping the last of either side closes
//! that side. That is what keeps a program from hanging when a thread dies:
//! a producer that panics drops its `Pusher` while unwinding, so the
//! consumers' `pop()` returns `None` once the stack is empty instead of
//! waiting forever; consumers that all die drop their `Popper`s, so `push`
//! fails instead of feeding a stack nobody reads.
//!
//! | Python                               | Rust                                                    |
//! |--------------------------------------|---------------------------------------------------------|
//! | `queue.LifoQueue()`                  | `let (pusher, popper) = stack()`: `Mutex<Vec<T>>` + `Condvar` (below) |
//! | `stack.put(item)`                    | `pusher.push(item)`: `Vec::push` + `notify_one()`; `Err(item)` once every `Popper` is gone |
//! | `stack.get()` (blocks when empty)    | `popper.pop()`: `Condvar::wait_while`, then `Vec::pop`  |
//! | daemon consumers + `stack.join()`    | drop every `Pusher`: `pop()` returns `None` once empty; join the consumers |
//! | `stack.shutdown()` (3.13+), then `get()` raises `queue.ShutDown` | the same drop; no call to forget |
//! | `queue.Empty` from `get_nowait()`    | `popper.try_pop()` returns `None`                       |
//!
//! - Run all steps: `cargo run -p module_04 --bin lesson_03`
//! - Run one step:  `cargo run -p module_04 --bin lesson_03 -- step_05`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `Drop for Pusher`, change `notify_all` to `notify_one` and run
//! `cargo test -p module_04 --bin lesson_03 closing_wakes_every_waiting_consumer`:
//! it times out. Why is `notify_one` enough in `push` but not here?

use std::process::ExitCode;
// The stack's synchronisation comes from std, or from the shuttle model
// checker when the `model` feature is on (see `mod model` at the bottom).
#[cfg(feature = "model")]
use shuttle::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(feature = "model"))]
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::sync::{PoisonError, mpsc};
use std::thread;
use std::time::Duration;

use step_runner::{Sink, Step, lesson_id};

/// The course's data for step 05.
const DATA: [u32; 10] = [15, 13, 7, 19, 3, 1, 11, 5, 9, 17];

/// What the `Pusher`s and `Popper`s of one stack share.
struct Shared<T> {
    state: Mutex<State<T>>,
    /// Signalled when an item is pushed or the last `Pusher` goes.
    changed: Condvar,
}

struct State<T> {
    items: Vec<T>,
    /// Live `Pusher`s: at 0, `pop` stops waiting.
    pushers: usize,
    /// Live `Popper`s: at 0, `push` fails.
    poppers: usize,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Only `Vec::push`/`pop` and counter updates run under the lock, and
        // none of them panics half-way, so the state is consistent even if
        // another thread panicked while holding it: take it anyway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A new blocking LIFO stack for several producers and consumers, as the
/// two halves of a channel: push through the `Pusher`, pop through the
/// `Popper`; clone either for more producers or consumers.
fn stack<T>() -> (Pusher<T>, Popper<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: Vec::new(),
            pushers: 1,
            poppers: 1,
        }),
        changed: Condvar::new(),
    });
    (Pusher(Arc::clone(&shared)), Popper(shared))
}

/// The producers' half of a stack.
struct Pusher<T>(Arc<Shared<T>>);

/// The consumers' half of a stack.
struct Popper<T>(Arc<Shared<T>>);

impl<T> Pusher<T> {
    /// Pushes `item` on top, or gives it back as `Err` when every `Popper`
    /// is gone: nobody would ever take it.
    fn push(&self, item: T) -> Result<(), T> {
        let mut state = self.0.lock();
        if state.poppers == 0 {
            return Err(item);
        }
        state.items.push(item);
        // Unlock before waking a consumer, so it does not wake up only to
        // wait for the lock we still hold. One item feeds one consumer:
        // `notify_one` is enough here.
        drop(state);
        self.0.changed.notify_one();
        Ok(())
    }
}

impl<T> Popper<T> {
    /// Takes the top item, waiting while the stack is empty and a `Pusher`
    /// is alive. Returns `None` once the stack is empty and every `Pusher`
    /// is gone.
    fn pop(&self) -> Option<T> {
        // `wait_while` re-checks the condition after every wake-up, so a
        // spurious wake-up or another consumer taking the item first just
        // sends this one back to sleep.
        let mut state = self
            .0
            .changed
            .wait_while(self.0.lock(), |s| s.items.is_empty() && s.pushers > 0)
            .unwrap_or_else(PoisonError::into_inner);
        state.items.pop()
    }

    /// Takes the top item if there is one, without waiting.
    fn try_pop(&self) -> Option<T> {
        self.0.lock().items.pop()
    }
}

impl<T> Clone for Pusher<T> {
    fn clone(&self) -> Self {
        self.0.lock().pushers += 1;
        Self(Arc::clone(&self.0))
    }
}

impl<T> Clone for Popper<T> {
    fn clone(&self) -> Self {
        self.0.lock().poppers += 1;
        Self(Arc::clone(&self.0))
    }
}

impl<T> Drop for Pusher<T> {
    /// Also runs while a panicking producer unwinds: its consumers are told.
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.pushers -= 1;
        let last = state.pushers == 0;
        drop(state);
        if last {
            // Every waiting consumer must see that nothing more will come,
            // so wake them all; each finds the stack empty and returns `None`.
            self.0.changed.notify_all();
        }
    }
}

impl<T> Drop for Popper<T> {
    fn drop(&mut self) {
        // `push` never waits (the stack is unbounded), so nobody needs
        // waking: the next `push` sees the count.
        self.0.lock().poppers -= 1;
    }
}

/// The same items through a FIFO channel and through the stack, on one
/// thread. Returns the two orders in which they come out.
fn lifo_vs_fifo(items: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let (tx, rx) = mpsc::channel();
    let (pusher, popper) = stack();
    for &item in items {
        tx.send(item).expect("the receiver is alive");
        pusher.push(item).expect("the popper is alive");
    }
    drop(tx);
    let fifo = rx.iter().collect();
    // `try_pop` (Python's `get_nowait`): on this one thread, with `pusher`
    // still alive, `pop` would wait forever on the empty stack.
    let lifo = std::iter::from_fn(|| popper.try_pop()).collect();
    (fifo, lifo)
}

/// Step 05 — a producer pushes the course's numbers onto a stack; after it
/// has finished, three consumers process them. `work` is a pause per item so
/// the consumers visibly share the stack (the course has none). Returns the
/// items each consumer took, in the order it took them.
fn step_05(data: &[u32], consumers: usize, work: Duration, sink: &Sink) -> Vec<Vec<u32>> {
    let (pusher, popper) = stack();
    thread::scope(|s| {
        // As in the course, the producer is joined before any consumer
        // starts: every item is on the stack when the first `pop` runs.
        s.spawn(move || {
            for &item in data {
                pusher.push(item).expect("the popper is alive");
            }
            // `pusher` is dropped here, also if this thread panics: the
            // consumers that find the stack empty from now on stop instead
            // of waiting (Python's consumers are daemons that wait forever
            // while `stack.join()` waits for `task_done`s).
        })
        .join()
        .unwrap();

        let handles: Vec<_> = (1..=consumers)
            .map(|id| {
                let popper = popper.clone();
                s.spawn(move || {
                    let mut taken = Vec::new();
                    while let Some(item) = popper.pop() {
                        sink.note(format!("consumer {id}: processing {item}"));
                        thread::sleep(work);
                        taken.push(item);
                    }
                    taken
                })
            })
            .collect();
        // Each consumer holds its own clone; keeping this one would keep the
        // stack "read" after every consumer had died.
        drop(popper);
        let taken = handles.into_iter().map(|h| h.join().unwrap()).collect();
        sink.note("every item was processed");
        taken
    })
}

/// Consumers start first and sleep on the `Condvar` until the producer,
/// pushing an item every `pause`, wakes them; each consumer then works on
/// item `n` for `n × per_unit`. When the consumers are slower than the
/// producer the stack fills up and the newest item always goes first: under
/// load, LIFO lets the oldest items wait longest. Returns what each consumer
/// took.
fn consumers_wait_for_items(
    data: &[u32],
    consumers: usize,
    pause: Duration,
    per_unit: Duration,
    sink: &Sink,
) -> Vec<Vec<u32>> {
    thread::scope(|s| {
        // Both halves live inside the scope's closure: if `note` panics on
        // this thread (say, stdout was closed), `pusher` is dropped while
        // unwinding, before the scope waits for the consumers, and they stop
        // instead of waiting for it forever.
        let (pusher, popper) = stack();
        let handles: Vec<_> = (1..=consumers)
            .map(|id| {
                let popper = popper.clone();
                s.spawn(move || {
                    let mut taken = Vec::new();
                    while let Some(item) = popper.pop() {
                        sink.note(format!("    consumer {id}: took {item}"));
                        thread::sleep(per_unit * item);
                        taken.push(item);
                    }
                    sink.note(format!("    consumer {id}: stack closed, stopping"));
                    taken
                })
            })
            .collect();
        drop(popper);
        // The producer is this thread.
        for &item in data {
            sink.note(format!("producer: push {item}"));
            if pusher.push(item).is_err() {
                sink.note("producer: every consumer is gone, stopping");
                break;
            }
            thread::sleep(pause);
        }
        drop(pusher);
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn show_lifo_vs_fifo() {
    let (fifo, lifo) = lifo_vs_fifo(&DATA);
    println!("put in:        {DATA:?}");
    println!("FIFO (queue):  {fifo:?}");
    println!("LIFO (stack):  {lifo:?}");
}

fn show_step_05() {
    let taken = step_05(&DATA, 3, Duration::from_millis(100), &Sink::stdout());
    for (i, items) in taken.iter().enumerate() {
        println!("consumer {} took {items:?}", i + 1);
    }
}

fn show_consumers_wait_for_items() {
    // Item n takes n × 30 ms: 300 ms on average, three pushes' time.
    let (pause, per_unit) = (Duration::from_millis(100), Duration::from_millis(30));
    let taken = consumers_wait_for_items(&DATA, 2, pause, per_unit, &Sink::stdout());
    for (i, items) in taken.iter().enumerate() {
        println!("consumer {} took {items:?}", i + 1);
    }
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 4.3 — LIFO queue («LifoQueue»)",
        &[
            Step::new(
                "lifo_vs_fifo",
                "the same items through a channel and a stack",
                show_lifo_vs_fifo,
            ),
            Step::new("step_05", "three consumers of a LIFO stack", show_step_05),
            Step::new(
                "consumers_wait_for_items",
                "consumers block in pop(); slow consumers take the newest first",
                show_consumers_wait_for_items,
            ),
        ],
    )
}

// The ordinary tests run on std's types; with the `model` feature the stack
// is built from shuttle's, which work only inside `shuttle::check_*`.
#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;
    use course_tests::deadline;
    use std::panic::{self, AssertUnwindSafe};

    const LIMIT: Duration = Duration::from_secs(10);

    fn reversed(data: &[u32]) -> Vec<u32> {
        data.iter().rev().copied().collect()
    }

    fn sorted(mut items: Vec<u32>) -> Vec<u32> {
        items.sort_unstable();
        items
    }

    /// Whether `part` appears in `whole` in the same relative order.
    fn is_subsequence(part: &[u32], whole: &[u32]) -> bool {
        let mut rest = whole.iter();
        part.iter().all(|x| rest.any(|y| y == x))
    }

    /// Runs `body`, which must panic, under the deadline: a hang fails the
    /// test with the deadline's message, an ordinary end fails it too.
    fn ends_with_a_panic(body: impl FnOnce() + Send + 'static) {
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| deadline(LIMIT, body)));
        let payload = outcome.expect_err("the body should have panicked");
        let message = course_tests::panic_text(&*payload);
        assert!(!message.contains("deadline"), "it hung: {message}");
    }

    #[test]
    fn the_stack_returns_the_newest_item_first() {
        let (fifo, lifo) = lifo_vs_fifo(&DATA);
        assert_eq!(fifo, DATA);
        assert_eq!(lifo, reversed(&DATA));
    }

    #[test]
    fn pushes_and_pops_interleave_in_lifo_order() {
        deadline(LIMIT, || {
            let (pusher, popper) = stack();
            pusher.push(1).unwrap();
            pusher.push(2).unwrap();
            assert_eq!(popper.pop(), Some(2));
            pusher.push(3).unwrap();
            assert_eq!(popper.pop(), Some(3));
            assert_eq!(popper.pop(), Some(1));
            assert_eq!(popper.try_pop(), None);
            pusher.push(4).unwrap();
            drop(pusher);
            assert_eq!(popper.pop(), Some(4), "what was pushed still comes out");
            assert_eq!(popper.pop(), None, "empty, no pusher: no waiting");
        });
    }

    #[test]
    fn push_fails_once_every_consumer_has_gone() {
        let result = deadline(LIMIT, || {
            let (pusher, popper) = stack();
            let second = popper.clone();
            pusher.push(1).unwrap();
            // One consumer takes an item and panics, the other just leaves.
            let consumer = thread::spawn(move || {
                popper.pop();
                panic!("consumer dies");
            });
            assert!(consumer.join().is_err());
            pusher.push(2).expect("one consumer is left");
            drop(second);
            pusher.push(3)
        });
        assert_eq!(result, Err(3), "nobody can take it: the item comes back");
    }

    #[test]
    fn pop_returns_none_when_the_producer_panics() {
        let got: Vec<u32> = deadline(LIMIT, || {
            let (pusher, popper) = stack();
            let consumer = thread::spawn(move || std::iter::from_fn(|| popper.pop()).collect());
            let producer = thread::spawn(move || {
                pusher.push(7).unwrap();
                panic!("producer dies before it is done");
            });
            assert!(producer.join().is_err());
            consumer.join().unwrap()
        });
        assert_eq!(got, vec![7]);
    }

    #[test]
    fn closing_wakes_every_waiting_consumer() {
        // Several consumers wait on an empty stack; when the only pusher
        // goes, every one of them must wake and stop. With `notify_one` in
        // `Drop for Pusher`, all but one would sleep on.
        let stopped = deadline(LIMIT, || {
            let (pusher, popper) = stack::<u32>();
            let (ready_tx, ready_rx) = mpsc::channel();
            let consumers: Vec<_> = (0..4)
                .map(|_| {
                    let popper = popper.clone();
                    let ready_tx = ready_tx.clone();
                    thread::spawn(move || {
                        ready_tx.send(()).unwrap();
                        popper.pop()
                    })
                })
                .collect();
            for _ in 0..4 {
                ready_rx.recv().unwrap();
            }
            // Give them time to get into `wait_while` (not needed for
            // correctness: a consumer that gets there late sees the count).
            thread::sleep(Duration::from_millis(50));
            drop(pusher);
            consumers
                .into_iter()
                .map(|c| c.join().unwrap())
                .collect::<Vec<_>>()
        });
        assert_eq!(stopped, [None; 4]);
    }

    #[test]
    fn a_producer_that_dies_mid_step_does_not_hang_its_consumers() {
        // The reader has gone before the first line, which is always the
        // producer's (a consumer prints only after a push): the producer
        // dies on it as it would printing to a closed stdout. Before the
        // stack closed on drop, the consumers waited in `pop` forever and
        // the scope waited for them.
        ends_with_a_panic(|| {
            let sink = Sink::closing_after(0);
            consumers_wait_for_items(&DATA, 2, Duration::ZERO, Duration::ZERO, &sink);
        });
    }

    #[test]
    fn consumers_that_die_mid_step_stop_the_producer() {
        // Each consumer dies on its first item, as it would printing to a
        // closed stdout: here `per_unit * item` overflows `Duration` (every
        // item is at least 2); the producer's sink stays open so that it can
        // say why it stops. Its pushes then fail, and it stops instead of
        // feeding a stack nobody reads; with a `Popper` that did not count
        // itself out on drop, it pushed all 2000 items. The 1 ms pauses leave
        // seconds for both consumers to take an item and die.
        let sink = Arc::new(Sink::collect());
        let seen = Arc::clone(&sink);
        ends_with_a_panic(move || {
            let data: Vec<u32> = (2..2002).collect();
            consumers_wait_for_items(&data, 2, Duration::from_millis(1), Duration::MAX, &seen);
        });
        assert_eq!(
            sink.lines().last().map(String::as_str),
            Some("producer: every consumer is gone, stopping"),
        );
    }

    #[test]
    fn one_consumer_takes_the_items_in_reverse() {
        let taken = deadline(LIMIT, || {
            step_05(&DATA, 1, Duration::ZERO, &Sink::collect())
        });
        assert_eq!(taken, [reversed(&DATA)]);
    }

    #[test]
    fn three_consumers_take_each_item_once_newest_first() {
        for _ in 0..20 {
            let taken = deadline(LIMIT, || {
                step_05(&DATA, 3, Duration::from_micros(50), &Sink::collect())
            });
            assert_eq!(taken.len(), 3);
            // Every item was on the stack before the first pop, so the pops,
            // serialised by the lock, run newest first; each consumer sees its
            // share in that order.
            for items in &taken {
                assert!(is_subsequence(items, &reversed(&DATA)), "{items:?}");
            }
            assert_eq!(sorted(taken.concat()), sorted(DATA.to_vec()));
        }
    }

    #[test]
    fn waiting_consumers_get_every_item_once_and_stop_on_close() {
        let data: Vec<u32> = (1..=200).collect();
        let taken = deadline(LIMIT, move || {
            consumers_wait_for_items(&data, 4, Duration::ZERO, Duration::ZERO, &Sink::collect())
        });
        assert_eq!(taken.len(), 4);
        assert_eq!(sorted(taken.concat()), (1..=200).collect::<Vec<_>>());
    }
}

/// Model checks of the stack (`cargo test -p module_04 --features model`):
/// shuttle runs the producer and consumer threads under many random and PCT
/// schedules, with its own `Mutex` and `Condvar` in place of std's. A
/// consumer that is never woken leaves every thread blocked, which shuttle
/// reports as a deadlock.
#[cfg(test)]
#[cfg(feature = "model")]
mod model {
    use super::*;
    use shuttle::thread;
    use std::panic;

    const ITERATIONS: usize = 5_000;

    /// The property: two consumers wait on the stack while a producer pushes
    /// three items and then goes (`close` drops its `Pusher`). Every item is
    /// popped exactly once (no item lost to a missed wake-up, none twice),
    /// and both consumers wake and stop (closing wakes every waiter).
    fn every_item_once_and_close_wakes_every_consumer(close: fn(Pusher<u32>)) {
        let (pusher, popper) = stack();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let popper = popper.clone();
                thread::spawn(move || std::iter::from_fn(|| popper.pop()).collect::<Vec<_>>())
            })
            .collect();
        drop(popper);
        let producer = thread::spawn(move || {
            for item in 1..=3 {
                pusher.push(item).expect("the consumers are alive");
            }
            close(pusher);
        });
        producer.join().unwrap();
        let mut popped: Vec<u32> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        popped.sort_unstable();
        assert_eq!(popped, [1, 2, 3], "every item popped exactly once");
    }

    fn run(close: fn(Pusher<u32>)) {
        let property = move || every_item_once_and_close_wakes_every_consumer(close);
        shuttle::check_random(property, ITERATIONS);
        shuttle::check_pct(property, ITERATIONS, 3);
    }

    #[test]
    fn model_stack_pops_every_item_once_and_close_wakes_every_consumer() {
        run(drop);
    }

    /// Broken: the last `Pusher` goes with `notify_one` instead of
    /// `notify_all` (the header's "Try").
    fn close_waking_one(pusher: Pusher<u32>) {
        let shared = Arc::clone(&pusher.0);
        // Skip the real `Drop` and do its work, wrongly, by hand.
        std::mem::forget(pusher);
        shared.lock().pushers -= 1;
        shared.changed.notify_one();
    }

    #[test]
    fn model_catches_a_close_that_wakes_one_consumer() {
        let failure = panic::catch_unwind(|| run(close_waking_one))
            .expect_err("the checker must catch the lost wake-up");
        let message = course_tests::panic_text(&*failure);
        assert!(message.contains("deadlock"), "{message}");
    }
}
