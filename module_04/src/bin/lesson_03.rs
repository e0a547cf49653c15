//! Lesson 4.3 — LIFO queue («LifoQueue»)
//!
//! Last in, first out: the newest item is taken first. Channels are FIFO
//! only, so a thread-safe stack is a `Vec` behind a `Mutex`, with a `Condvar`
//! that consumers sleep on while it is empty. Writing that small type is the
//! lesson; for work-stealing schedulers, `crossbeam_deque::Worker::new_lifo`
//! is the ready-made (non-blocking) LIFO.
//!
//! | Python                               | Rust                                                  |
//! |--------------------------------------|-------------------------------------------------------|
//! | `queue.LifoQueue()`                  | `Stack<T>`: `Mutex<Vec<T>>` + `Condvar` (below)       |
//! | `stack.put(item)`                    | `stack.push(item)`: `Vec::push` + `notify_one()`      |
//! | `stack.get()` (blocks when empty)    | `stack.pop()`: `Condvar::wait_while`, then `Vec::pop` |
//! | daemon consumers + `stack.join()`    | `stack.close()`, `pop()` returns `None`, join threads |
//! | `queue.Empty` from `get_nowait()`    | `try_pop()` returns `None`                            |
//!
//! Run all steps: `cargo run -p module_04 --bin lesson_03`
//! Run one step:  `cargo run -p module_04 --bin lesson_03 -- step_05`
//! Output order varies between runs where threads race; the values do not.

use std::process::ExitCode;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread;
use std::time::Duration;

use step_runner::{Step, lesson_id};

/// Where a step reports what happens while it runs: `main` prints each line
/// as it comes, the tests pass a closure that ignores it.
type Log<'a> = &'a (dyn Fn(String) + Sync);

/// The course's data for step 05.
const DATA: [u32; 10] = [15, 13, 7, 19, 3, 1, 11, 5, 9, 17];

/// A blocking LIFO stack for several producers and consumers.
///
/// `close()` plays the part of dropping the last `Sender` of a channel:
/// consumers take what is left and then get `None` instead of waiting
/// forever. If a producer may panic, call `close()` from a drop guard.
struct Stack<T> {
    state: Mutex<StackState<T>>,
    /// Signalled when an item is pushed or the stack is closed.
    changed: Condvar,
}

struct StackState<T> {
    items: Vec<T>,
    closed: bool,
}

impl<T> Stack<T> {
    fn new() -> Self {
        Self {
            state: Mutex::new(StackState {
                items: Vec::new(),
                closed: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, StackState<T>> {
        // No code that can panic runs while the lock is held, so the state is
        // consistent even if the mutex were poisoned: take it anyway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pushes `item` on top, or gives it back as `Err` if the stack is closed.
    fn push(&self, item: T) -> Result<(), T> {
        let mut state = self.lock();
        if state.closed {
            return Err(item);
        }
        state.items.push(item);
        // Unlock before waking a consumer, so it does not wake up only to
        // wait for the lock we still hold.
        drop(state);
        self.changed.notify_one();
        Ok(())
    }

    /// Takes the top item, waiting while the stack is empty and open.
    /// Returns `None` once the stack is closed and empty.
    fn pop(&self) -> Option<T> {
        // `wait_while` re-checks the condition after every wake-up, so a
        // spurious wake-up or another consumer taking the item first just
        // sends this one back to sleep.
        let mut state = self
            .changed
            .wait_while(self.lock(), |s| s.items.is_empty() && !s.closed)
            .unwrap_or_else(PoisonError::into_inner);
        state.items.pop()
    }

    /// Takes the top item if there is one, without waiting.
    fn try_pop(&self) -> Option<T> {
        self.lock().items.pop()
    }

    /// No more pushes: wakes every waiting consumer so each can see it.
    fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }
}

/// The same items through a FIFO channel and through the stack, on one
/// thread. Returns the two orders in which they come out.
fn lifo_vs_fifo(items: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let (tx, rx) = mpsc::channel();
    let stack = Stack::new();
    for &item in items {
        tx.send(item).expect("the receiver is alive");
        stack.push(item).expect("the stack is open");
    }
    drop(tx);
    stack.close();
    let fifo = rx.iter().collect();
    let lifo = std::iter::from_fn(|| stack.try_pop()).collect();
    (fifo, lifo)
}

/// Step 05 — a producer pushes the course's numbers onto a stack; after it
/// has finished, three consumers process them. `work` is a pause per item so
/// the consumers visibly share the stack (the course has none). Returns the
/// items each consumer took, in the order it took them.
fn step_05(data: &[u32], consumers: usize, work: Duration, log: Log) -> Vec<Vec<u32>> {
    let stack = Stack::new();
    thread::scope(|s| {
        // As in the course, the producer is joined before any consumer
        // starts: every item is on the stack when the first `pop` runs.
        s.spawn(|| {
            for &item in data {
                stack.push(item).expect("the stack is open");
            }
            // All items are in; consumers that find the stack empty from now
            // on stop instead of waiting (Python's consumers are daemons that
            // wait forever while `stack.join()` waits for `task_done`s).
            stack.close();
        })
        .join()
        .expect("the producer panicked");

        let handles: Vec<_> = (1..=consumers)
            .map(|id| {
                let stack = &stack;
                s.spawn(move || {
                    let mut taken = Vec::new();
                    while let Some(item) = stack.pop() {
                        log(format!("consumer {id}: processing {item}"));
                        thread::sleep(work);
                        taken.push(item);
                    }
                    taken
                })
            })
            .collect();
        let taken = handles
            .into_iter()
            .map(|h| h.join().expect("a consumer panicked"))
            .collect();
        log("every item was processed".to_owned());
        taken
    })
}

/// Consumers start first and sleep on the `Condvar` until the producer,
/// pushing an item every `pause`, wakes them; each consumer then works on
/// its item for `work`. When the consumers are slower than the producer the
/// stack fills up and the newest item always goes first: under load, LIFO
/// lets the oldest items wait longest. Returns what each consumer took.
fn consumers_wait_for_items(
    data: &[u32],
    consumers: usize,
    pause: Duration,
    work: Duration,
    log: Log,
) -> Vec<Vec<u32>> {
    let stack = Stack::new();
    thread::scope(|s| {
        let handles: Vec<_> = (1..=consumers)
            .map(|id| {
                let stack = &stack;
                s.spawn(move || {
                    let mut taken = Vec::new();
                    while let Some(item) = stack.pop() {
                        log(format!("    consumer {id}: took {item}"));
                        thread::sleep(work);
                        taken.push(item);
                    }
                    log(format!("    consumer {id}: stack closed, stopping"));
                    taken
                })
            })
            .collect();
        for &item in data {
            log(format!("producer: push {item}"));
            stack.push(item).expect("the stack is open");
            thread::sleep(pause);
        }
        stack.close();
        handles
            .into_iter()
            .map(|h| h.join().expect("a consumer panicked"))
            .collect()
    })
}

fn print_line(line: String) {
    println!("{line}");
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 4.3 — LIFO queue («LifoQueue»)",
        &[
            Step::new(
                "lifo_vs_fifo",
                "the same items through a channel and a stack",
                || {
                    let (fifo, lifo) = lifo_vs_fifo(&DATA);
                    println!("put in:        {DATA:?}");
                    println!("FIFO (queue):  {fifo:?}");
                    println!("LIFO (stack):  {lifo:?}");
                },
            ),
            Step::new("step_05", "three consumers of a LIFO stack", || {
                let taken = step_05(&DATA, 3, Duration::from_millis(100), &print_line);
                for (i, items) in taken.iter().enumerate() {
                    println!("consumer {} took {items:?}", i + 1);
                }
            }),
            Step::new(
                "consumers_wait_for_items",
                "consumers block in pop(); slow consumers take the newest first",
                || {
                    let taken = consumers_wait_for_items(
                        &DATA,
                        2,
                        Duration::from_millis(100),
                        Duration::from_millis(300),
                        &print_line,
                    );
                    for (i, items) in taken.iter().enumerate() {
                        println!("consumer {} took {items:?}", i + 1);
                    }
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

    #[test]
    fn the_stack_returns_the_newest_item_first() {
        let (fifo, lifo) = lifo_vs_fifo(&DATA);
        assert_eq!(fifo, DATA);
        assert_eq!(lifo, reversed(&DATA));
    }

    #[test]
    fn pushes_and_pops_interleave_in_lifo_order() {
        let stack = Stack::new();
        stack.push(1).unwrap();
        stack.push(2).unwrap();
        assert_eq!(stack.pop(), Some(2));
        stack.push(3).unwrap();
        assert_eq!(stack.pop(), Some(3));
        assert_eq!(stack.pop(), Some(1));
        assert_eq!(stack.try_pop(), None);
        stack.close();
        assert_eq!(stack.pop(), None, "closed and empty: no waiting");
        assert_eq!(stack.push(4), Err(4), "closed: the item comes back");
    }

    #[test]
    fn one_consumer_takes_the_items_in_reverse() {
        let taken = deadline(LIMIT, || step_05(&DATA, 1, Duration::ZERO, &quiet));
        assert_eq!(taken, [reversed(&DATA)]);
    }

    #[test]
    fn three_consumers_take_each_item_once_newest_first() {
        for _ in 0..20 {
            let taken = deadline(LIMIT, || {
                step_05(&DATA, 3, Duration::from_micros(50), &quiet)
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
            consumers_wait_for_items(&data, 4, Duration::ZERO, Duration::ZERO, &quiet)
        });
        assert_eq!(taken.len(), 4);
        assert_eq!(sorted(taken.concat()), (1..=200).collect::<Vec<_>>());
    }
}
