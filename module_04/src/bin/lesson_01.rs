//! Lesson 4.1 — Introduction to queues («Введение в очереди»)
//!
//! A queue decouples the threads that make work from the threads that do it.
//! In Rust the queue is a channel: the `Sender` half goes to the producers,
//! the `Receiver` half to the consumers, and the channel closes by itself
//! when the last `Sender` is dropped, so nobody needs a "stop" value.
//!
//! | Python                                      | Rust                                                  |
//! |---------------------------------------------|-------------------------------------------------------|
//! | `q = queue.Queue()`                         | `let (tx, rx) = mpsc::channel()` (one consumer)       |
//! | `q = queue.Queue()` shared by consumers     | `let (tx, rx) = crossbeam_channel::unbounded()`       |
//! | `q.put(item)`                               | `tx.send(item)`                                       |
//! | `q.get()`                                   | `rx.recv()`, or `for item in rx` until closed         |
//! | passing `q` to every producer               | `tx.clone()` per producer                             |
//! | passing `q` to every consumer               | `rx.clone()` (crossbeam only: `mpsc::Receiver` is single-consumer) |
//! | `q.put(None)` per consumer (sentinel)       | `drop(tx)`: `recv()` returns `Err` once drained       |
//! | waiting on two queues (polling both)        | `crossbeam_channel::select!`                          |
//!
//! - Run all steps: `cargo run -p module_04 --bin lesson_01`
//! - Run one step:  `cargo run -p module_04 --bin lesson_01 -- multiple_consumers`
//!
//! Output order varies between runs where threads race; the values do not.
//! Each step prints its events through a live sink, as they happen.
//!
//! Try: in `stop_with_sentinels`, send one sentinel too few
//! (`for _ in 0..consumers - 1`) and run `-- stop_with_sentinels`: two
//! consumers say they stop, the third waits forever and the step hangs
//! (Ctrl-C). `multiple_consumers` cannot be miscounted that way: why?

use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{never, select, unbounded};
use step_runner::{Sink, Step, lesson_id};

/// One producer, one consumer: the producer sends `items` with a pause
/// between them; the consumer receives until the channel closes. Returns the
/// items in the order the consumer received them.
fn producer_consumer(items: &[u32], pause: Duration, sink: &Sink) -> Vec<u32> {
    // `std::sync::mpsc` is "multi-producer, single-consumer": exactly the
    // shape of this demo.
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        s.spawn(move || {
            for &item in items {
                sink.note(format!("producer: put {item}"));
                // `send` fails only when the receiver is gone; here it lives
                // until the scope ends.
                tx.send(item).expect("the consumer outlives the producer");
                thread::sleep(pause);
            }
            sink.note("producer: done");
            // `tx` is dropped here, which closes the channel.
        });
        let consumer = s.spawn(move || {
            // The loop waits for each item and ends when the channel is empty
            // *and* every sender is gone: no sentinel, no `task_done`.
            rx.iter()
                .inspect(|item| sink.note(format!("consumer: got {item}")))
                .collect::<Vec<_>>()
        });
        // `join` fails only when the thread panicked; `unwrap` passes that
        // panic on (so every `join().unwrap()` of this module).
        consumer.join().unwrap()
    })
}

/// Several consumers share one queue. Each returns the jobs it took; every
/// job goes to exactly one consumer.
fn multiple_consumers(jobs: u32, consumers: usize, work: Duration, sink: &Sink) -> Vec<Vec<u32>> {
    // A std `Receiver` cannot be cloned (sharing it takes
    // `Arc<Mutex<Receiver>>`); crossbeam's channel is multi-producer *and*
    // multi-consumer, so each consumer gets its own `Receiver` clone.
    let (tx, rx) = unbounded();
    for job in 1..=jobs {
        tx.send(job).expect("the receiver is alive");
    }
    // All jobs are queued; dropping the only sender lets each consumer's loop
    // end once the queue is empty.
    drop(tx);
    thread::scope(|s| {
        let handles: Vec<_> = (1..=consumers)
            .map(|id| {
                let rx = rx.clone();
                s.spawn(move || {
                    let mut taken = Vec::new();
                    for job in rx {
                        sink.note(format!("consumer {id}: job {job}"));
                        thread::sleep(work);
                        taken.push(job);
                    }
                    taken
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Several producers, one consumer: each producer sends `(producer, n)` for
/// `n` in `1..=per_producer`. Returns everything the consumer received, in
/// order of arrival.
fn multiple_producers(producers: u32, per_producer: u32, sink: &Sink) -> Vec<(u32, u32)> {
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        for id in 1..=producers {
            // One `Sender` clone per producer; the channel stays open until
            // the last clone is dropped.
            let tx = tx.clone();
            s.spawn(move || {
                for n in 1..=per_producer {
                    tx.send((id, n)).expect("the consumer is alive");
                }
            });
        }
        // The original sender would keep the channel open forever: the loop
        // below would never end. Drop it so only the producers' clones remain.
        drop(tx);
        rx.iter()
            .inspect(|(id, n)| sink.note(format!("consumer: item {n} from producer {id}")))
            .collect()
    })
}

/// The Python way to stop consumers: one sentinel (`None`) per consumer.
/// It works in Rust too, with `Option<T>`, but it must be counted right: one
/// sentinel too few and a consumer waits forever. Returns how many jobs each
/// consumer did. Compare `multiple_consumers`, where dropping the sender does
/// the same job and cannot be miscounted.
fn stop_with_sentinels(jobs: u32, consumers: usize, work: Duration, sink: &Sink) -> Vec<usize> {
    let (tx, rx) = unbounded::<Option<u32>>();
    thread::scope(|s| {
        let handles: Vec<_> = (1..=consumers)
            .map(|id| {
                let rx = rx.clone();
                s.spawn(move || {
                    let mut done = 0;
                    // `while let Ok(Some(_))`: stop at the sentinel (or, as a
                    // safety net, if the channel closes).
                    while let Ok(Some(job)) = rx.recv() {
                        sink.note(format!("consumer {id}: job {job}"));
                        thread::sleep(work);
                        done += 1;
                    }
                    sink.note(format!("consumer {id}: got the sentinel, stopping"));
                    done
                })
            })
            .collect();
        for job in 1..=jobs {
            tx.send(Some(job)).expect("the consumers are alive");
        }
        // FIFO order guarantees every job is taken before any sentinel.
        for _ in 0..consumers {
            tx.send(None).expect("the consumers are alive");
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// What arrived from which of the two queues in `select_two_queues`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Arrival {
    Order(u32),
    Return(u32),
}

/// One consumer serves two queues, orders and returns, whichever has an item
/// ready. Python's `queue` module cannot wait on two queues at once (the
/// usual workaround polls both with timeouts); `select!` blocks on both.
fn select_two_queues(orders: u32, returns: u32, pause: Duration, sink: &Sink) -> Vec<Arrival> {
    let (order_tx, order_rx) = unbounded();
    let (return_tx, return_rx) = unbounded();
    thread::scope(|s| {
        s.spawn(move || {
            for n in 1..=orders {
                order_tx.send(n).expect("the consumer is alive");
                thread::sleep(pause);
            }
        });
        s.spawn(move || {
            for n in 1..=returns {
                return_tx.send(n).expect("the consumer is alive");
                thread::sleep(pause * 2);
            }
        });

        let mut arrivals = Vec::new();
        let (mut order_rx, mut return_rx) = (order_rx, return_rx);
        let mut open = 2;
        while open > 0 {
            // A closed channel is always "ready" (with an error), so once a
            // queue is finished it is replaced by `never()`, which is never
            // ready; the loop ends when both queues are finished.
            select! {
                recv(order_rx) -> msg => match msg {
                    Ok(n) => {
                        sink.note(format!("consumer: order {n}"));
                        arrivals.push(Arrival::Order(n));
                    }
                    Err(_) => {
                        order_rx = never();
                        open -= 1;
                    }
                },
                recv(return_rx) -> msg => match msg {
                    Ok(n) => {
                        sink.note(format!("consumer: return {n}"));
                        arrivals.push(Arrival::Return(n));
                    }
                    Err(_) => {
                        return_rx = never();
                        open -= 1;
                    }
                },
            }
        }
        arrivals
    })
}

fn show_producer_consumer() {
    let got = producer_consumer(
        &[1, 2, 3, 4, 5],
        Duration::from_millis(200),
        &Sink::stdout(),
    );
    println!("received in order: {got:?}");
}

fn show_multiple_consumers() {
    let taken = multiple_consumers(12, 3, Duration::from_millis(100), &Sink::stdout());
    for (i, jobs) in taken.iter().enumerate() {
        println!("consumer {} did {jobs:?}", i + 1);
    }
}

fn show_multiple_producers() {
    let got = multiple_producers(3, 4, &Sink::stdout());
    println!("received {} items", got.len());
}

fn show_stop_with_sentinels() {
    let done = stop_with_sentinels(9, 3, Duration::from_millis(100), &Sink::stdout());
    println!("jobs per consumer: {done:?}");
}

fn show_select_two_queues() {
    let got = select_two_queues(4, 2, Duration::from_millis(150), &Sink::stdout());
    println!("arrivals: {got:?}");
}

const TITLE: &str = "Lesson 4.1 — Introduction to queues («Введение в очереди»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("producer_consumer", "one producer, one consumer, mpsc channel", show_producer_consumer),
        Step::new("multiple_consumers", "three consumers share one crossbeam queue", show_multiple_consumers),
        Step::new("multiple_producers", "three producers, one consumer: senders are cloned", show_multiple_producers),
        Step::new("stop_with_sentinels", "the Python idiom: one None per consumer", show_stop_with_sentinels),
        Step::new("select_two_queues", "one consumer waits on two queues with select!", show_select_two_queues),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;

    const LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn a_single_consumer_gets_everything_in_fifo_order() {
        let got = deadline(LIMIT, || {
            producer_consumer(&[5, 3, 9, 1], Duration::from_millis(1), &Sink::collect())
        });
        assert_eq!(got, [5, 3, 9, 1]);
    }

    #[test]
    fn the_consumer_reports_each_item_as_it_arrives() {
        let lines = deadline(LIMIT, || {
            let sink = Sink::collect();
            producer_consumer(&[5, 3, 9], Duration::ZERO, &sink);
            sink.lines()
        });
        let got: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .filter(|l| l.starts_with("consumer"))
            .collect();
        assert_eq!(
            got,
            ["consumer: got 5", "consumer: got 3", "consumer: got 9"]
        );
        // An item is put before it is got.
        let put_5 = lines.iter().position(|l| l == "producer: put 5");
        let got_5 = lines.iter().position(|l| l == "consumer: got 5");
        assert!(put_5 < got_5, "{lines:?}");
    }

    #[test]
    fn each_job_goes_to_exactly_one_consumer() {
        let taken = deadline(LIMIT, || {
            multiple_consumers(40, 3, Duration::ZERO, &Sink::collect())
        });
        assert_eq!(taken.len(), 3);
        // Each consumer sees the jobs in queue order, and together they see
        // every job once.
        for jobs in &taken {
            assert!(jobs.is_sorted(), "{jobs:?}");
        }
        let mut all: Vec<u32> = taken.concat();
        all.sort_unstable();
        assert_eq!(all, (1..=40).collect::<Vec<_>>());
    }

    #[test]
    fn each_producers_items_arrive_in_its_own_order() {
        let got = deadline(LIMIT, || multiple_producers(4, 25, &Sink::collect()));
        assert_eq!(got.len(), 100);
        for id in 1..=4 {
            let from_id: Vec<u32> = got
                .iter()
                .filter(|(p, _)| *p == id)
                .map(|&(_, n)| n)
                .collect();
            assert_eq!(from_id, (1..=25).collect::<Vec<_>>(), "producer {id}");
        }
    }

    #[test]
    fn sentinels_stop_every_consumer_after_all_jobs() {
        let done = deadline(LIMIT, || {
            stop_with_sentinels(30, 4, Duration::ZERO, &Sink::collect())
        });
        assert_eq!(done.len(), 4);
        assert_eq!(done.iter().sum::<usize>(), 30);
    }

    #[test]
    fn select_takes_everything_from_both_queues() {
        let got = deadline(LIMIT, || {
            select_two_queues(6, 3, Duration::from_millis(1), &Sink::collect())
        });
        let orders: Vec<u32> = got
            .iter()
            .filter_map(|a| match a {
                Arrival::Order(n) => Some(*n),
                Arrival::Return(_) => None,
            })
            .collect();
        let returns: Vec<u32> = got
            .iter()
            .filter_map(|a| match a {
                Arrival::Return(n) => Some(*n),
                Arrival::Order(_) => None,
            })
            .collect();
        assert_eq!(orders, [1, 2, 3, 4, 5, 6]);
        assert_eq!(returns, [1, 2, 3]);
    }
}
