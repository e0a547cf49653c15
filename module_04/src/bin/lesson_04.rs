//! Lesson 4.4 — Priority queue («PriorityQueue»)
//!
//! The item with the lowest priority number is taken first, whatever the
//! order it was put in. `std::collections::BinaryHeap` is a max-heap, so
//! `Reverse` turns it into Python's min-heap, and a sequence number breaks
//! ties in arrival order. Behind a `Mutex` with two `Condvar`s it becomes a
//! bounded blocking queue. Writing that small type is the lesson: no channel
//! orders its items by priority.
//!
//! | Python                                   | Rust                                                      |
//! |------------------------------------------|-----------------------------------------------------------|
//! | `heapq` / `PriorityQueue` (min first)    | `BinaryHeap<Reverse<_>>` (`BinaryHeap` alone: max first)  |
//! | `PriorityQueue(maxsize=5)`               | `PriorityQueue::new(5)`: `Mutex<BinaryHeap>` + 2 `Condvar`s |
//! | `q.put((priority, item))` (blocks full)  | `q.push(priority, item)`: waits on `not_full`             |
//! | `q.get()` (blocks empty)                 | `q.pop()`: waits on `not_empty`; `None` once closed       |
//! | `(priority, count, item)` tie-breaker    | `Entry { priority, seq, item }`, ordered by `(priority, seq)` |
//! | `q.qsize()`                              | `q.len()`                                                 |
//! | daemon consumers + `q.join()`            | `q.close()`, then join the consumers                      |
//!
//! Run all steps: `cargo run -p module_04 --bin lesson_04`
//! Run one step:  `cargo run -p module_04 --bin lesson_04 -- step_05`
//! Output order varies between runs where threads race; the values do not.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::process::ExitCode;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use step_runner::{Step, lesson_id};

/// Where a step reports what happens while it runs: `main` prints each line
/// as it comes, the tests pass a closure that ignores it.
type Log<'a> = &'a (dyn Fn(String) + Sync);

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
/// which is why its docs suggest a counter as the second field; `seq` is that
/// counter, and it makes equal priorities come out first in, first out.
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

/// A bounded, blocking min-priority queue for several producers and
/// consumers.
struct PriorityQueue<P, T> {
    state: Mutex<QueueState<P, T>>,
    /// Signalled when an item arrives or the queue is closed.
    not_empty: Condvar,
    /// Signalled when an item leaves or the queue is closed.
    not_full: Condvar,
    capacity: usize,
}

struct QueueState<P, T> {
    heap: BinaryHeap<Reverse<Entry<P, T>>>,
    next_seq: u64,
    closed: bool,
}

impl<P: Ord, T> PriorityQueue<P, T> {
    fn new(capacity: usize) -> Self {
        assert!(
            capacity > 0,
            "a queue of capacity 0 could never take an item"
        );
        Self {
            state: Mutex::new(QueueState {
                heap: BinaryHeap::with_capacity(capacity),
                next_seq: 0,
                closed: false,
            }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState<P, T>> {
        // Only `Ord::cmp` of `P` runs under the lock; for the plain
        // priorities used here it cannot panic, so a poisoned state is still
        // a valid heap.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `item`, waiting while the queue is full. Gives the item back as
    /// `Err` if the queue is closed.
    fn push(&self, priority: P, item: T) -> Result<(), T> {
        let mut state = self
            .not_full
            .wait_while(self.lock(), |s| s.heap.len() >= self.capacity && !s.closed)
            .unwrap_or_else(PoisonError::into_inner);
        if state.closed {
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
        self.not_empty.notify_one();
        Ok(())
    }

    /// Takes the item with the lowest priority (the earliest of equals),
    /// waiting while the queue is empty. `None` once closed and empty.
    fn pop(&self) -> Option<(P, T)> {
        let mut state = self
            .not_empty
            .wait_while(self.lock(), |s| s.heap.is_empty() && !s.closed)
            .unwrap_or_else(PoisonError::into_inner);
        let Reverse(entry) = state.heap.pop()?;
        drop(state);
        self.not_full.notify_one();
        Some((entry.priority, entry.item))
    }

    fn len(&self) -> usize {
        self.lock().heap.len()
    }

    /// No more pushes: consumers drain what is left, then get `None`.
    fn close(&self) {
        self.lock().closed = true;
        self.not_empty.notify_all();
        self.not_full.notify_all();
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

    let ties = PriorityQueue::new(6);
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
    ties.close();
    let tie_order = std::iter::from_fn(|| ties.pop().map(|(_, name)| name)).collect();
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
    log: Log,
) -> Step05 {
    let queue = PriorityQueue::new(capacity);
    thread::scope(|s| {
        let queue = &queue;
        let handles: Vec<_> = (1..=consumers)
            .map(|id| {
                s.spawn(move || {
                    let mut processed = Vec::new();
                    while let Some((priority, name)) = queue.pop() {
                        thread::sleep(per_unit * priority);
                        // `println!` locks stdout for the whole line, so
                        // lines never mix; the course's print lock is built in.
                        log(format!(
                            "consumer {id}: processed \"{name}\" (priority {priority})"
                        ));
                        processed.push((priority, name));
                    }
                    processed
                })
            })
            .collect();

        let mut lengths = Vec::new();
        for &(priority, name) in items {
            // Waits while 5 items are queued: the consumers set the pace.
            queue.push(priority, name).expect("the queue is open");
            lengths.push(queue.len());
        }
        queue.close();

        let processed = handles
            .into_iter()
            .map(|h| h.join().expect("a consumer panicked"))
            .collect();
        Step05 { lengths, processed }
    })
}

fn print_line(line: String) {
    println!("{line}");
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 4.4 — Priority queue («PriorityQueue»)",
        &[
            Step::new(
                "heap_order",
                "max-heap, min-heap with Reverse, ties in arrival order",
                || {
                    let (max_first, min_first, ties) = heap_order(&ELECTRONICS);
                    println!("BinaryHeap:          {max_first:?}");
                    println!("BinaryHeap<Reverse>: {min_first:?}");
                    println!("equal priorities:    {ties:?}");
                },
            ),
            Step::new(
                "step_05",
                "two consumers, a priority queue of size 5",
                || {
                    let result = step_05(
                        &ELECTRONICS,
                        CAPACITY,
                        2,
                        Duration::from_millis(10),
                        &print_line,
                    );
                    println!("queue length after each put: {:?}", result.lengths);
                    for (i, items) in result.processed.iter().enumerate() {
                        println!("consumer {} processed {items:?}", i + 1);
                    }
                    // The consumers start while the producer is still putting,
                    // so the order is by priority among the items queued at
                    // each get, not over all ten.
                    println!("each get took the lowest priority queued at that moment");
                },
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;

    const LIMIT: Duration = Duration::from_secs(10);

    fn quiet(_: String) {}

    #[test]
    fn reverse_turns_the_max_heap_into_a_min_heap() {
        let (max_first, min_first, ties) = heap_order(&ELECTRONICS);
        assert_eq!(max_first, [83, 67, 47, 33, 21, 15, 7, 4, 1, 0]);
        assert_eq!(min_first, [0, 1, 4, 7, 15, 21, 33, 47, 67, 83]);
        assert_eq!(ties, ["a1", "a2", "a3", "b1", "b2", "b3"]);
    }

    #[test]
    fn items_present_together_come_out_lowest_priority_first() {
        // Fill to capacity before anyone takes: the order is then fixed.
        let queue = PriorityQueue::new(CAPACITY);
        for &(priority, name) in &ELECTRONICS[..CAPACITY] {
            queue.push(priority, name).unwrap();
        }
        assert_eq!(queue.len(), CAPACITY);
        queue.close();
        let order: Vec<&str> = std::iter::from_fn(|| queue.pop().map(|(_, n)| n)).collect();
        assert_eq!(
            order,
            ["smartphone", "tablet", "laptop", "camera", "headset"]
        );
        assert_eq!(
            queue.push(9, "late"),
            Err("late"),
            "closed: the item comes back"
        );
    }

    #[test]
    fn a_full_queue_makes_the_producer_wait_and_the_next_pop_is_the_minimum() {
        let first = deadline(LIMIT, || {
            let queue = PriorityQueue::new(CAPACITY);
            thread::scope(|s| {
                let producer = s.spawn(|| {
                    for &(priority, name) in &ELECTRONICS {
                        queue.push(priority, name).unwrap();
                    }
                    queue.close();
                });
                // Wait until the producer has filled the queue (it then
                // blocks on the 6th item); then the first pop must take the
                // minimum of the first five.
                while queue.len() < CAPACITY {
                    thread::yield_now();
                }
                let first = queue.pop();
                while queue.pop().is_some() {}
                producer.join().unwrap();
                first
            })
        });
        assert_eq!(first, Some((1, "smartphone")));
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
                    &quiet,
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
