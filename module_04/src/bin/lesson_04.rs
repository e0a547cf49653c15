//! Lesson 4.4 — Priority queue («PriorityQueue»)
//!
//! The item with the lowest priority number is taken first, whatever the
//! order it was put in. `std::collections::BinaryHeap` is a max-heap, so
//! `Reverse` turns it into Python's min-heap, and a sequence number breaks
//! ties in arrival order. Behind a `Mutex` with two `Condvar`s it becomes a
//! bounded blocking queue. Writing that small type is the lesson: no channel
//! orders its items by priority.
//!
//! Like 4.3's stack, the queue behaves like a channel: `priority_queue(n)`
//! returns a `Pusher` and a `Popper`, each can be cloned. When the last
//! `Pusher` goes, the consumers drain the queue and then get `None`; when the
//! last `Popper` goes, `push` fails, also a `push` already waiting for room.
//! A thread that dies drops its half while unwinding, so the others never
//! wait for it forever.
//!
//! | Python                                   | Rust                                                      |
//! |------------------------------------------|-----------------------------------------------------------|
//! | `heapq` / `PriorityQueue` (min first)    | `BinaryHeap<Reverse<_>>` (`BinaryHeap` alone: max first)  |
//! | `PriorityQueue(maxsize=5)`               | `priority_queue(5)`: `Mutex<BinaryHeap>` + 2 `Condvar`s    |
//! | `q.put((priority, item))` (blocks full)  | `pusher.push(priority, item)`: waits on `not_full`; `Err(item)` once every `Popper` is gone |
//! | `q.get()` (blocks empty)                 | `popper.pop()`: waits on `not_empty`; `None` once empty and every `Pusher` is gone |
//! | `(priority, count, item)` tie-breaker    | `Entry { priority, seq, item }`, ordered by `(priority, seq)` |
//! | `q.qsize()`                              | `pusher.len()`                                            |
//! | daemon consumers + `q.join()`            | drop every `Pusher`, then join the consumers              |
//! | `q.shutdown()` (3.13+), `queue.ShutDown` | the same drop; no call to forget                          |
//!
//! - Run all steps: `cargo run -p module_04 --bin lesson_04`
//! - Run one step:  `cargo run -p module_04 --bin lesson_04 -- step_05`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `Drop for Popper`, delete the `notify_all` and run
//! `cargo test -p module_04 --bin lesson_04 a_waiting_push_fails_when_every_consumer_goes`:
//! it times out. Who else could wake a producer that waits for room?

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::process::ExitCode;
// The queue's synchronisation comes from std, or from the shuttle model
// checker when the `model` feature is on (see `mod model` at the bottom).
#[cfg(feature = "model")]
use shuttle::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::sync::PoisonError;
#[cfg(not(feature = "model"))]
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use step_runner::{Sink, Step, lesson_id};

/// The course's items for step 05: (priority, name); lower goes first.
const ELECTRONICS: [(u32, &str); 10] = [
    (1, "smartphone"),
    (15, "laptop"),
    (7, "tablet"),
    (33, "camera"),
    (67, "headset"),
    (4, "TV"),
    (21, "gadget"),
    (83, "monitor"),
    (0, "router"),
    (47, "player"),
];

/// The course's queue size for step 05.
const CAPACITY: usize = 5;

/// A heap entry, ordered by `(priority, seq)` only, so the item itself needs
/// no ordering. Python compares whole tuples: two equal priorities fall
/// through to comparing the items (`TypeError` if they cannot be compared),
/// which is why `heapq`'s docs suggest an entry count as the second field
/// (the `queue` docs instead wrap the item in a dataclass that leaves it out
/// of the comparison); `seq` is that count, and it makes equal priorities
/// come out first in, first out.
struct Entry<P, T> {
    priority: P,
    seq: u64,
    item: T,
}

impl<P: Ord, T> Ord for Entry<P, T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.priority, self.seq).cmp(&(&other.priority, other.seq))
    }
}

impl<P: Ord, T> PartialOrd for Entry<P, T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<P: Ord, T> PartialEq for Entry<P, T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<P: Ord, T> Eq for Entry<P, T> {}

/// What the `Pusher`s and `Popper`s of one priority queue share.
struct Shared<P, T> {
    state: Mutex<QueueState<P, T>>,
    /// Signalled when an item arrives or the last `Pusher` goes.
    not_empty: Condvar,
    /// Signalled when an item leaves or the last `Popper` goes.
    not_full: Condvar,
    capacity: usize,
}

struct QueueState<P, T> {
    heap: BinaryHeap<Reverse<Entry<P, T>>>,
    next_seq: u64,
    /// Live `Pusher`s: at 0, `pop` stops waiting.
    pushers: usize,
    /// Live `Popper`s: at 0, `push` fails.
    poppers: usize,
}

impl<P, T> Shared<P, T> {
    fn lock(&self) -> MutexGuard<'_, QueueState<P, T>> {
        // Only `Ord::cmp` of `P` runs under the lock; for the plain
        // priorities used here it cannot panic, so a poisoned state is still
        // a valid heap.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A new bounded, blocking min-priority queue for several producers and
/// consumers, as the two halves of a channel (like `sync_channel(capacity)`):
/// push through a `Pusher`, pop through a `Popper`, clone either.
fn priority_queue<P: Ord, T>(capacity: usize) -> (Pusher<P, T>, Popper<P, T>) {
    assert!(
        capacity > 0,
        "a queue of capacity 0 could never take an item"
    );
    let shared = Arc::new(Shared {
        state: Mutex::new(QueueState {
            heap: BinaryHeap::with_capacity(capacity),
            next_seq: 0,
            pushers: 1,
            poppers: 1,
        }),
        not_empty: Condvar::new(),
        not_full: Condvar::new(),
        capacity,
    });
    (Pusher(Arc::clone(&shared)), Popper(shared))
}

/// The producers' half of a priority queue.
struct Pusher<P, T>(Arc<Shared<P, T>>);

/// The consumers' half of a priority queue.
struct Popper<P, T>(Arc<Shared<P, T>>);

impl<P: Ord, T> Pusher<P, T> {
    /// Adds `item`, waiting while the queue is full. Gives the item back as
    /// `Err` when every `Popper` is gone, also if they go while it waits.
    fn push(&self, priority: P, item: T) -> Result<(), T> {
        let shared = &*self.0;
        let mut state = shared
            .not_full
            .wait_while(shared.lock(), |s| {
                s.heap.len() >= shared.capacity && s.poppers > 0
            })
            .unwrap_or_else(PoisonError::into_inner);
        if state.poppers == 0 {
            return Err(item);
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        state.heap.push(Reverse(Entry {
            priority,
            seq,
            item,
        }));
        drop(state);
        shared.not_empty.notify_one();
        Ok(())
    }

    /// How many items are queued (`q.qsize()`): a snapshot, other threads
    /// may change it at once.
    fn len(&self) -> usize {
        self.0.lock().heap.len()
    }
}

impl<P: Ord, T> Popper<P, T> {
    /// Takes the item with the lowest priority (the earliest of equals),
    /// waiting while the queue is empty and a `Pusher` is alive. `None` once
    /// the queue is empty and every `Pusher` is gone.
    fn pop(&self) -> Option<(P, T)> {
        let shared = &*self.0;
        let mut state = shared
            .not_empty
            .wait_while(shared.lock(), |s| s.heap.is_empty() && s.pushers > 0)
            .unwrap_or_else(PoisonError::into_inner);
        let Reverse(entry) = state.heap.pop()?;
        drop(state);
        // One free slot lets one producer in: `notify_one` is enough.
        shared.not_full.notify_one();
        Some((entry.priority, entry.item))
    }
}

impl<P, T> Clone for Pusher<P, T> {
    fn clone(&self) -> Self {
        self.0.lock().pushers += 1;
        Self(Arc::clone(&self.0))
    }
}

impl<P, T> Clone for Popper<P, T> {
    fn clone(&self) -> Self {
        self.0.lock().poppers += 1;
        Self(Arc::clone(&self.0))
    }
}

impl<P, T> Drop for Pusher<P, T> {
    /// Also runs while a panicking producer unwinds: its consumers are told.
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.pushers -= 1;
        let last = state.pushers == 0;
        drop(state);
        if last {
            // Every waiting consumer must see that nothing more will come.
            self.0.not_empty.notify_all();
        }
    }
}

impl<P, T> Drop for Popper<P, T> {
    /// Also runs while a panicking consumer unwinds: producers waiting for
    /// room are told that none will come.
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.poppers -= 1;
        let last = state.poppers == 0;
        drop(state);
        if last {
            self.0.not_full.notify_all();
        }
    }
}

/// The heap's orders, on one thread: `BinaryHeap` alone gives the largest
/// priority first, `Reverse` the smallest; equal priorities leave the queue
/// in the order they came. Returns the three orders.
fn heap_order(items: &[(u32, &'static str)]) -> (Vec<u32>, Vec<u32>, Vec<&'static str>) {
    let max_first: Vec<u32> = BinaryHeap::from_iter(items.iter().map(|&(p, _)| p))
        .into_sorted_vec()
        .into_iter()
        .rev()
        .collect();
    let mut min_heap: BinaryHeap<Reverse<u32>> = items.iter().map(|&(p, _)| Reverse(p)).collect();
    let min_first = std::iter::from_fn(|| min_heap.pop().map(|Reverse(p)| p)).collect();

    let (ties, popper) = priority_queue(6);
    for (priority, name) in [
        (2, "b1"),
        (1, "a1"),
        (2, "b2"),
        (1, "a2"),
        (2, "b3"),
        (1, "a3"),
    ] {
        ties.push(priority, name).expect("the queue is open");
    }
    drop(ties);
    let tie_order = std::iter::from_fn(|| popper.pop().map(|(_, name)| name)).collect();
    (max_first, min_first, tie_order)
}

/// What step 05 returns: the queue length after each push, and the items
/// each consumer processed, in its order.
struct Step05 {
    lengths: Vec<usize>,
    processed: Vec<Vec<(u32, &'static str)>>,
}

/// Step 05 — a producer puts the items into a priority queue of size
/// `capacity`; `consumers` threads take them, each spending `priority ×
/// per_unit` on an item (the course: priority / 100 seconds).
fn step_05(
    items: &[(u32, &'static str)],
    capacity: usize,
    consumers: usize,
    per_unit: Duration,
    sink: &Sink,
) -> Step05 {
    thread::scope(|s| {
        // Both halves live inside the scope's closure: if this thread (the
        // producer) panics, `pusher` is dropped while unwinding, before the
        // scope waits for the consumers, and they stop instead of waiting.
        let (pusher, popper) = priority_queue(capacity);
        let handles: Vec<_> = (1..=consumers)
            .map(|id| {
                let popper = popper.clone();
                s.spawn(move || {
                    let mut processed = Vec::new();
                    while let Some((priority, name)) = popper.pop() {
                        thread::sleep(per_unit * priority);
                        // The sink writes each line whole, under its lock:
                        // the course's print lock is built in.
                        sink.note(format!(
                            "consumer {id}: processed \"{name}\" (priority {priority})"
                        ));
                        processed.push((priority, name));
                    }
                    processed
                })
            })
            .collect();
        // Only the consumers' clones may keep the queue "read": if they all
        // die, the producer's `push` fails instead of waiting for room.
        drop(popper);

        let mut lengths = Vec::new();
        for &(priority, name) in items {
            // Waits while 5 items are queued: the consumers set the pace.
            if pusher.push(priority, name).is_err() {
                sink.note("producer: every consumer is gone, stopping");
                break;
            }
            lengths.push(pusher.len());
        }
        // No more items: the consumers drain the queue, then stop.
        drop(pusher);

        let processed = handles.into_iter().map(|h| h.join().unwrap()).collect();
        Step05 { lengths, processed }
    })
}

fn show_heap_order() {
    let (max_first, min_first, ties) = heap_order(&ELECTRONICS);
    println!("BinaryHeap:          {max_first:?}");
    println!("BinaryHeap<Reverse>: {min_first:?}");
    println!("equal priorities:    {ties:?}");
}

fn show_step_05() {
    let result = step_05(
        &ELECTRONICS,
        CAPACITY,
        2,
        Duration::from_millis(10),
        &Sink::stdout(),
    );
    println!("queue length after each put: {:?}", result.lengths);
    for (i, items) in result.processed.iter().enumerate() {
        println!("consumer {} processed {items:?}", i + 1);
    }
    // The consumers start while the producer is still putting, so the order
    // is by priority among the items queued at each get, not over all ten.
    println!("each get took the lowest priority queued at that moment");
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 4.4 — Priority queue («PriorityQueue»)",
        &[
            Step::new(
                "heap_order",
                "max-heap, min-heap with Reverse, ties in arrival order",
                show_heap_order,
            ),
            Step::new(
                "step_05",
                "two consumers, a priority queue of size 5",
                show_step_05,
            ),
        ],
    )
}

// The ordinary tests run on std's types; with the `model` feature the queue
// is built from shuttle's, which work only inside `shuttle::check_*`.
#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;
    use course_tests::deadline;
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::mpsc;

    const LIMIT: Duration = Duration::from_secs(10);

    /// Runs `body`, which must panic, under the deadline: a hang fails the
    /// test with the deadline's message, an ordinary end fails it too.
    fn ends_with_a_panic(body: impl FnOnce() + Send + 'static) {
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| deadline(LIMIT, body)));
        let payload = outcome.expect_err("the body should have panicked");
        let message = course_tests::panic_text(&*payload);
        assert!(!message.contains("deadline"), "it hung: {message}");
    }

    #[test]
    fn reverse_turns_the_max_heap_into_a_min_heap() {
        let (max_first, min_first, ties) = deadline(LIMIT, || heap_order(&ELECTRONICS));
        assert_eq!(max_first, [83, 67, 47, 33, 21, 15, 7, 4, 1, 0]);
        assert_eq!(min_first, [0, 1, 4, 7, 15, 21, 33, 47, 67, 83]);
        assert_eq!(ties, ["a1", "a2", "a3", "b1", "b2", "b3"]);
    }

    #[test]
    fn items_present_together_come_out_lowest_priority_first() {
        let (order, late) = deadline(LIMIT, || {
            // Fill to capacity before anyone takes: the order is then fixed.
            let (pusher, popper) = priority_queue(CAPACITY);
            for &(priority, name) in &ELECTRONICS[..CAPACITY] {
                pusher.push(priority, name).unwrap();
            }
            assert_eq!(pusher.len(), CAPACITY);
            drop(pusher);
            let order: Vec<&str> = std::iter::from_fn(|| popper.pop().map(|(_, n)| n)).collect();
            // A new pusher cannot be made once all are gone, so check the
            // other direction on a fresh queue: no popper, the item comes back.
            let (pusher, popper) = priority_queue(CAPACITY);
            drop(popper);
            (order, pusher.push(9, "late"))
        });
        assert_eq!(
            order,
            ["smartphone", "tablet", "laptop", "camera", "headset"]
        );
        assert_eq!(late, Err("late"), "no consumer: the item comes back");
    }

    #[test]
    fn a_full_queue_makes_the_producer_wait_and_the_next_pop_is_the_minimum() {
        let first = deadline(LIMIT, || {
            let (pusher, popper) = priority_queue(CAPACITY);
            let (pushed_tx, pushed_rx) = mpsc::channel();
            thread::scope(|s| {
                s.spawn(move || {
                    for &(priority, name) in &ELECTRONICS {
                        pusher.push(priority, name).unwrap();
                        pushed_tx.send(pusher.len()).unwrap();
                    }
                });
                // The producer reports the first five pushes and then blocks
                // on the 6th item; the first pop must take the minimum of
                // the first five.
                for _ in 0..CAPACITY {
                    pushed_rx.recv().unwrap();
                }
                let first = popper.pop();
                while popper.pop().is_some() {}
                first
            })
        });
        assert_eq!(first, Some((1, "smartphone")));
    }

    #[test]
    fn pop_returns_none_when_the_producer_panics() {
        let got = deadline(LIMIT, || {
            let (pusher, popper) = priority_queue(CAPACITY);
            let consumer = thread::spawn(move || {
                std::iter::from_fn(|| popper.pop()).collect::<Vec<(u32, &str)>>()
            });
            let producer = thread::spawn(move || {
                pusher.push(2, "b").unwrap();
                pusher.push(1, "a").unwrap();
                panic!("producer dies before it is done");
            });
            assert!(producer.join().is_err());
            consumer.join().unwrap()
        });
        let mut got = got;
        got.sort_unstable();
        assert_eq!(got, [(1, "a"), (2, "b")], "what was queued still comes out");
    }

    #[test]
    fn a_waiting_push_fails_when_every_consumer_goes() {
        // Three producers wait for room in a full queue; the only consumer
        // panics. Each waiting push must wake and hand its item back; before
        // the queue closed on drop, they waited forever.
        let mut failed = deadline(LIMIT, || {
            let (pusher, popper) = priority_queue(1);
            pusher.push(0, 0).unwrap();
            let producers: Vec<_> = (1..=3)
                .map(|n| {
                    let pusher = pusher.clone();
                    thread::spawn(move || pusher.push(n, n))
                })
                .collect();
            let consumer = thread::spawn(move || {
                let _keep = popper;
                // Give the producers time to start waiting (not needed for
                // correctness: a late one sees the count at once).
                thread::sleep(Duration::from_millis(50));
                panic!("consumer dies");
            });
            assert!(consumer.join().is_err());
            producers
                .into_iter()
                .map(|p| p.join().unwrap())
                .collect::<Vec<_>>()
        });
        failed.sort_unstable();
        assert_eq!(failed, [Err(1), Err(2), Err(3)]);
    }

    #[test]
    fn closing_wakes_every_waiting_consumer() {
        let stopped = deadline(LIMIT, || {
            let (pusher, popper) = priority_queue::<u32, u32>(CAPACITY);
            let consumers: Vec<_> = (0..4)
                .map(|_| {
                    let popper = popper.clone();
                    thread::spawn(move || popper.pop())
                })
                .collect();
            // Give them time to start waiting (not needed for correctness).
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
    fn consumers_that_die_mid_step_do_not_hang_the_producer() {
        // Each consumer dies on its first item, as it would printing to a
        // closed stdout: here `per_unit * priority` overflows `Duration`
        // (every priority is at least 2). Before the queue closed on drop,
        // the producer waited for room in the full queue forever, and the
        // scope waited for the producer.
        ends_with_a_panic(|| {
            let items: Vec<(u32, &str)> = (2..40).map(|priority| (priority, "doomed")).collect();
            step_05(&items, CAPACITY, 2, Duration::MAX, &Sink::collect());
        });
    }

    #[test]
    fn step_05_reports_each_item_as_it_is_processed() {
        let (result, lines) = deadline(LIMIT, || {
            let sink = Sink::collect();
            let result = step_05(&ELECTRONICS, CAPACITY, 1, Duration::ZERO, &sink);
            (result, sink.lines())
        });
        // One consumer: its lines are its items, in the order it took them.
        let expected: Vec<String> = result.processed[0]
            .iter()
            .map(|(priority, name)| {
                format!("consumer 1: processed \"{name}\" (priority {priority})")
            })
            .collect();
        assert_eq!(lines, expected);
    }

    #[test]
    fn step_05_processes_every_item_once_within_capacity() {
        for consumers in [1, 2, 4] {
            let result = deadline(LIMIT, move || {
                step_05(
                    &ELECTRONICS,
                    CAPACITY,
                    consumers,
                    Duration::from_micros(20),
                    &Sink::collect(),
                )
            });
            assert_eq!(result.lengths.len(), ELECTRONICS.len());
            assert!(
                result.lengths.iter().all(|&n| n <= CAPACITY),
                "{:?}",
                result.lengths
            );
            assert_eq!(result.processed.len(), consumers);
            let mut all: Vec<(u32, &str)> = result.processed.concat();
            all.sort_unstable();
            let mut expected = ELECTRONICS.to_vec();
            expected.sort_unstable();
            assert_eq!(all, expected, "{consumers} consumers");
        }
    }
}

/// Model checks of the priority queue (`cargo test -p module_04 --features
/// model`): shuttle runs producers and consumers under many random and PCT
/// schedules, with its own `Mutex` and `Condvar` in place of std's. A thread
/// that is never woken leaves every thread blocked, which shuttle reports as
/// a deadlock.
#[cfg(test)]
#[cfg(feature = "model")]
mod model {
    use super::*;
    use shuttle::thread;
    use std::panic;

    const ITERATIONS: usize = 5_000;
    const CAPACITY: usize = 1;

    type Push = fn(&Pusher<u32, u32>, u32, u32) -> Result<(), u32>;

    /// The first property: two producers push two items each through a
    /// queue of capacity 1 to two consumers, then go (`close` drops the
    /// last `Pusher`). The queue never holds more than its capacity (checked
    /// after every push); every item is popped exactly once; every waiter on
    /// either side is woken (a missed wake-up is a deadlock).
    fn every_item_once_within_capacity(push: Push, close: fn(Pusher<u32, u32>)) {
        let (pusher, popper) = priority_queue(CAPACITY);
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let popper = popper.clone();
                thread::spawn(move || {
                    std::iter::from_fn(|| popper.pop().map(|(_, item)| item)).collect::<Vec<_>>()
                })
            })
            .collect();
        drop(popper);
        let producers: Vec<_> = [[4, 2], [3, 1]]
            .into_iter()
            .map(|items| {
                let pusher = pusher.clone();
                thread::spawn(move || {
                    for item in items {
                        push(&pusher, item, item).expect("the consumers are alive");
                        assert!(pusher.len() <= CAPACITY, "the bound was exceeded");
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.join().unwrap();
        }
        close(pusher);
        let mut popped: Vec<u32> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        popped.sort_unstable();
        assert_eq!(popped, [1, 2, 3, 4], "every item popped exactly once");
    }

    /// The second property: two producers wait for room in a full queue
    /// when the only consumer goes (`leave` drops its `Popper`): both wake,
    /// and each gets its item back.
    fn consumers_leaving_wake_every_waiting_producer(leave: fn(Popper<u32, u32>)) {
        let (pusher, popper) = priority_queue(CAPACITY);
        pusher.push(0, 0).expect("the consumer is alive");
        let producers: Vec<_> = [1, 2]
            .into_iter()
            .map(|item| {
                let pusher = pusher.clone();
                thread::spawn(move || pusher.push(item, item))
            })
            .collect();
        leave(popper);
        let mut refused: Vec<Result<(), u32>> =
            producers.into_iter().map(|p| p.join().unwrap()).collect();
        refused.sort_unstable();
        assert_eq!(refused, [Err(1), Err(2)], "every waiting push fails");
    }

    fn check(property: impl Fn() + Send + Sync + 'static) {
        let property = Arc::new(property);
        let random = Arc::clone(&property);
        shuttle::check_random(move || random(), ITERATIONS);
        shuttle::check_pct(move || property(), ITERATIONS, 3);
    }

    /// Runs a model that must fail and returns the checker's message.
    fn caught(property: impl Fn() + Send + Sync + 'static) -> String {
        let failure = panic::catch_unwind(panic::AssertUnwindSafe(|| check(property)))
            .expect_err("the checker must catch the broken queue");
        course_tests::panic_text(&*failure).to_owned()
    }

    #[test]
    fn model_queue_pops_every_item_once_within_capacity() {
        check(|| every_item_once_within_capacity(Pusher::push, drop));
    }

    #[test]
    fn model_queue_wakes_every_waiting_producer_when_the_consumers_go() {
        check(|| consumers_leaving_wake_every_waiting_producer(drop));
    }

    /// Broken: the last `Pusher` goes with `notify_one` instead of
    /// `notify_all`.
    fn close_waking_one(pusher: Pusher<u32, u32>) {
        let shared = Arc::clone(&pusher.0);
        // Skip the real `Drop` and do its work, wrongly, by hand.
        std::mem::forget(pusher);
        shared.lock().pushers -= 1;
        shared.not_empty.notify_one();
    }

    /// Broken: the last `Popper` goes without waking anyone (the header's
    /// "Try").
    fn leave_waking_nobody(popper: Popper<u32, u32>) {
        let shared = Arc::clone(&popper.0);
        std::mem::forget(popper);
        shared.lock().poppers -= 1;
    }

    #[test]
    fn model_catches_a_close_that_wakes_one_consumer() {
        let message = caught(|| every_item_once_within_capacity(Pusher::push, close_waking_one));
        assert!(message.contains("deadlock"), "{message}");
    }

    #[test]
    fn model_catches_consumers_that_leave_without_waking_the_producers() {
        let message = caught(|| consumers_leaving_wake_every_waiting_producer(leave_waking_nobody));
        assert!(message.contains("deadlock"), "{message}");
    }

    /// Broken: a push that does not wait for room.
    fn push_ignoring_capacity(
        pusher: &Pusher<u32, u32>,
        priority: u32,
        item: u32,
    ) -> Result<(), u32> {
        let mut state = pusher.0.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        state.heap.push(Reverse(Entry {
            priority,
            seq,
            item,
        }));
        drop(state);
        pusher.0.not_empty.notify_one();
        Ok(())
    }

    #[test]
    fn model_catches_a_push_that_exceeds_the_capacity() {
        let message = caught(|| every_item_once_within_capacity(push_ignoring_capacity, drop));
        assert!(message.contains("the bound was exceeded"), "{message}");
    }
}
