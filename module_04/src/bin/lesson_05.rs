//! Lesson 4.5 — SimpleQueue, Empty and Full («SimpleQueue и исключения»)
//!
//! Python signals "nothing to get" and "no room to put" with the exceptions
//! `queue.Empty` and `queue.Full`; a Rust channel returns them as error
//! values that the compiler makes you handle. A channel adds a third case,
//! *disconnected*: the other side is gone. Nobody has to call anything for
//! it: the channel sees its last `Sender` (or `Receiver`) dropped, also by a
//! thread that panicked, and that is how a consumer learns that no more
//! items will ever come. Python's nearest thing is `Queue.shutdown()`, new in
//! 3.13: an explicit call, after which `put` raises `queue.ShutDown` and
//! `get` raises it once the queue is empty. Before 3.13 (and on
//! `SimpleQueue`, which has no `shutdown`), a consumer learns it only from a
//! sentinel; and no Python queue tells a producer that every consumer is
//! gone. A failed send always hands the item back, so nothing is lost
//! silently.
//!
//! | Python                                        | Rust (`crossbeam_channel`)                            |
//! |-----------------------------------------------|-------------------------------------------------------|
//! | `queue.SimpleQueue()`                         | `mpsc::channel()` (unbounded, no `task_done`/`join`)  |
//! | `q.get_nowait()` → `queue.Empty`              | `rx.try_recv()` → `Err(TryRecvError::Empty)`          |
//! | `q.put_nowait(x)` → `queue.Full`              | `tx.try_send(x)` → `Err(TrySendError::Full(x))`       |
//! | `q.get(timeout=t)` → `queue.Empty`            | `rx.recv_timeout(t)` → `Err(RecvTimeoutError::Timeout)` |
//! | `q.put(x, timeout=t)` → `queue.Full`          | `tx.send_timeout(x, t)` → `Err(SendTimeoutError::Timeout(x))` |
//! | `q.empty()` / `q.full()` (a hint, racy)       | `tx.is_empty()` / `tx.is_full()` (a hint, racy)       |
//! | `q.shutdown()`, then `get()` → `queue.ShutDown` once empty (3.13+, not `SimpleQueue`) | drop every `Sender`: `Err(RecvError)`, `…::Disconnected` once empty |
//! | (consumer thread gone: `put` still succeeds)  | every `Receiver` dropped: `tx.send(x)` → `Err(SendError(x))` |
//!
//! `std::sync::mpsc` uses the same error names, but its `SyncSender` has no
//! `send_timeout`, `len` or `is_full` on stable Rust.
//!
//! Output order varies between runs where threads race; the values do not.
//! - Run all steps: `cargo run -p module_04 --bin lesson_05`
//! - Run one step:  `cargo run -p module_04 --bin lesson_05 -- step_06`
//!
//! Try:
//! - in `supply`, move `let full = tx.is_full();` below `pause();` and run
//!   `-- step_06`: the router is supplied now and the player turned away
//!   (the seller sold during the pause); the `supply_…` test fails.
//! - in `simple_queue`, delete `drop(tx);`: the step prints `got 5` and
//!   hangs. The consumer waits for a sender that `main` still holds.

use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender, TryRecvError, TrySendError,
    bounded, unbounded,
};
use step_runner::{Sink, Step, lesson_id};

/// The course's goods for step 06.
#[rustfmt::skip]
const GOODS: [&str; 10] = [
    "smartphone", "laptop", "tablet", "camera", "headset",
    "TV", "gadget", "monitor", "router", "player",
];

/// The course's warehouse size for step 06.
const WAREHOUSE_SIZE: usize = 5;

/// `SimpleQueue`: unbounded, so `put` never blocks and never fails with
/// `Full`; there is no `task_done`/`join`, only put and get. A consumer
/// thread gets everything the main thread puts.
fn simple_queue(items: &[u32], sink: &Sink) -> Vec<u32> {
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        let consumer = s.spawn(move || {
            rx.iter()
                .inspect(|n| sink.note(format!("    got {n}")))
                .collect()
        });
        for &item in items {
            // Never blocks: the queue grows as needed.
            tx.send(item).expect("the consumer is alive");
            sink.note(format!("put {item}"));
        }
        drop(tx);
        consumer.join().unwrap()
    })
}

// Each function below triggers one error on purpose and returns it, so that
// the step can show it and the tests can check it.

/// `get_nowait()` on an empty queue.
fn get_nowait_when_empty() -> Result<u32, TryRecvError> {
    let (_tx, rx) = unbounded::<u32>();
    rx.try_recv()
}

/// `put_nowait()` on a full queue: the item comes back inside the error.
fn put_nowait_when_full() -> Result<(), TrySendError<&'static str>> {
    let (tx, _rx) = bounded(1);
    tx.try_send("first").expect("one free slot");
    tx.try_send("second")
}

/// `get(timeout=…)` when nothing arrives in time.
fn get_with_timeout_when_empty(timeout: Duration) -> Result<u32, RecvTimeoutError> {
    let (_tx, rx) = unbounded::<u32>();
    rx.recv_timeout(timeout)
}

/// `put(…, timeout=…)` when no room frees up in time.
fn put_with_timeout_when_full(timeout: Duration) -> Result<(), SendTimeoutError<&'static str>> {
    let (tx, _rx) = bounded(1);
    tx.send("first").expect("one free slot");
    tx.send_timeout("second", timeout)
}

/// What each kind of receive returns once every sender is gone.
#[derive(Debug, PartialEq, Eq)]
struct AfterSendersDropped {
    /// An item queued before the senders went is still delivered.
    queued: Result<u32, RecvError>,
    recv: Result<u32, RecvError>,
    try_recv: Result<u32, TryRecvError>,
    recv_timeout: Result<u32, RecvTimeoutError>,
}

/// Every sender is gone: the queued item still arrives, then every kind of
/// receive reports the disconnection, at once, without waiting.
fn get_when_disconnected() -> AfterSendersDropped {
    let (tx, rx) = unbounded();
    tx.send(7).expect("the receiver is alive");
    drop(tx);
    AfterSendersDropped {
        queued: rx.recv(),
        recv: rx.recv(),
        try_recv: rx.try_recv(),
        recv_timeout: rx.recv_timeout(Duration::from_secs(1)),
    }
}

/// What each kind of send returns once the receiver is gone.
#[derive(Debug, PartialEq, Eq)]
struct AfterReceiverDropped {
    send: Result<(), SendError<&'static str>>,
    try_send: Result<(), TrySendError<&'static str>>,
}

/// The receiver is gone: sending fails at once and hands the item back.
fn put_when_disconnected() -> AfterReceiverDropped {
    let (tx, rx) = bounded(5);
    drop(rx);
    AfterReceiverDropped {
        send: tx.send("for nobody"),
        try_send: tx.try_send("for nobody either"),
    }
}

/// The same `Full` with `std::sync::mpsc`'s bounded channel.
fn std_put_nowait_when_full() -> Result<(), mpsc::TrySendError<u32>> {
    let (tx, _rx) = mpsc::sync_channel(1);
    tx.try_send(1).expect("one free slot");
    tx.try_send(2)
}

/// One delivery of step 06, paced as in the course: an empty warehouse is
/// restocked at once; otherwise the supplier looks whether it is full, then
/// pauses, then acts on what it saw: turns the item away (`Full`, handing it
/// back) or puts it in.
///
/// Python's `if q.full(): … else: q.put()` is check-then-act: the answer
/// can change during the pause. It is kept here because it decides which
/// good is turned away (the router, in the course's run). Only this
/// supplier puts, so the warehouse can only empty during the pause: an item
/// seen "not full" still fits, and `try_send` cannot fail with `Full`; an
/// item seen "full" is turned away even if the seller made room meanwhile,
/// as in Python. Trying `try_send` after the pause instead would supply it
/// (and turn away a later good: the player).
fn supply<T>(tx: &Sender<T>, item: T, pause: impl FnOnce()) -> Result<(), TrySendError<T>> {
    if tx.is_empty() {
        return tx.try_send(item);
    }
    let full = tx.is_full();
    pause();
    if full {
        return Err(TrySendError::Full(item));
    }
    tx.try_send(item)
}

/// What happened in the warehouse of step 06.
#[derive(Debug, Default)]
struct Warehouse {
    supplied: Vec<&'static str>,
    /// Goods that found the warehouse full (`Full`) and were not delivered.
    turned_away: Vec<&'static str>,
    sold: Vec<&'static str>,
    /// How often the seller found the warehouse empty (`Empty`).
    found_empty: usize,
}

/// Step 06 — a supplier puts goods into a warehouse of `WAREHOUSE_SIZE`
/// every `supply_pause`, turning goods away when it is full; a seller sells
/// one every `sale_pause`, reporting when it is empty, and stops when the
/// supplies have ended and the warehouse is empty.
fn step_06(
    goods: &[&'static str],
    size: usize,
    supply_pause: Duration,
    sale_pause: Duration,
    sink: &Sink,
) -> Warehouse {
    let (tx, rx) = bounded(size);
    thread::scope(|s| {
        let supplier = s.spawn(move || {
            let (mut supplied, mut turned_away) = (Vec::new(), Vec::new());
            for &item in goods {
                match supply(&tx, item, || thread::sleep(supply_pause)) {
                    Ok(()) => {
                        sink.note(format!("supplied: {item}"));
                        supplied.push(item);
                    }
                    Err(TrySendError::Full(item)) => {
                        // The course's line does not name the item its
                        // `elif queue_.full()` branch skips; this one does.
                        sink.note(format!("warehouse full for now: {item} not supplied"));
                        turned_away.push(item);
                    }
                    // The seller has gone: nobody will ever sell this.
                    Err(TrySendError::Disconnected(item)) => {
                        sink.note(format!("the seller has gone: {item} not supplied"));
                        turned_away.push(item);
                        break;
                    }
                }
            }
            sink.note("supplies have ended");
            // Dropping `tx` here is what tells the seller to stop.
            (supplied, turned_away)
        });
        let seller = s.spawn(move || {
            let (mut sold, mut found_empty) = (Vec::new(), 0);
            loop {
                thread::sleep(sale_pause);
                match rx.try_recv() {
                    Ok(item) => {
                        sink.note(format!("    sold: {item}"));
                        sold.push(item);
                    }
                    Err(TryRecvError::Empty) => {
                        sink.note("    warehouse empty for now");
                        found_empty += 1;
                    }
                    // Empty *and* the supplier is gone: no more goods will
                    // come. Python's daemon seller never learns this, unless
                    // the supplier calls `q.shutdown()` (3.13+) when done.
                    Err(TryRecvError::Disconnected) => break,
                }
            }
            sink.note("    everything sold, the seller stops");
            (sold, found_empty)
        });
        let (supplied, turned_away) = supplier.join().unwrap();
        let (sold, found_empty) = seller.join().unwrap();
        Warehouse {
            supplied,
            turned_away,
            sold,
            found_empty,
        }
    })
}

/// Blocking with a time limit on both sides of a queue of one: the supplier
/// (pausing `supply_pause` before each item) waits up to `timeout` for room
/// and retries on `Timeout`; the seller (pausing `sale_pause` after each
/// sale) waits up to `timeout` for goods, waits again on `Timeout`, and stops
/// on `Disconnected`. A slow seller makes the supplier time out, a slow
/// supplier the seller. Returns (items sold in order, supplier time-outs,
/// seller time-outs).
fn timeouts(
    items: u32,
    timeout: Duration,
    supply_pause: Duration,
    sale_pause: Duration,
    sink: &Sink,
) -> (Vec<u32>, u32, u32) {
    let (tx, rx) = bounded(1);
    thread::scope(|s| {
        let supplier = s.spawn(move || {
            let mut timed_out = 0;
            for item in 1..=items {
                thread::sleep(supply_pause);
                let mut item = item;
                loop {
                    match tx.send_timeout(item, timeout) {
                        Ok(()) => break,
                        // The item comes back in the error: retry with it.
                        Err(SendTimeoutError::Timeout(back)) => {
                            sink.note(format!(
                                "supplier: no room for {back} within {timeout:?}, retrying"
                            ));
                            timed_out += 1;
                            item = back;
                        }
                        Err(SendTimeoutError::Disconnected(_)) => return timed_out,
                    }
                }
            }
            timed_out
        });
        let seller = s.spawn(move || {
            let (mut sold, mut timed_out) = (Vec::new(), 0);
            loop {
                match rx.recv_timeout(timeout) {
                    Ok(item) => {
                        sink.note(format!("    seller: sold {item}"));
                        sold.push(item);
                        thread::sleep(sale_pause);
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        sink.note(format!(
                            "    seller: nothing within {timeout:?}, waiting on"
                        ));
                        timed_out += 1;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            (sold, timed_out)
        });
        let supplier_timeouts = supplier.join().unwrap();
        let (sold, seller_timeouts) = seller.join().unwrap();
        (sold, supplier_timeouts, seller_timeouts)
    })
}

/// Triggers each error once and shows what it carries. A failed send hands
/// its item back (`into_inner`), so the caller decides: retry, store, drop.
fn show_error_kinds() {
    let t = Duration::from_millis(100);
    let back = get_nowait_when_empty().unwrap_err();
    println!("get_nowait(), empty queue:    {back:?}: nothing yet, come back later");
    let back = put_nowait_when_full().unwrap_err().into_inner();
    println!("put_nowait(), full queue:     Full: {back:?} handed back");
    let error = get_with_timeout_when_empty(t).unwrap_err();
    println!("get(timeout={t:?}), empty:  {error:?}");
    let back = put_with_timeout_when_full(t).unwrap_err().into_inner();
    println!("put(timeout={t:?}), full:   Timeout: {back:?} handed back");
    let got = get_when_disconnected();
    let queued = got.queued;
    println!("senders dropped:   recv() -> {queued:?} (what was queued still arrives)");
    let (recv, try_recv, recv_timeout) = (got.recv, got.try_recv, got.recv_timeout);
    let then = format!("recv() -> {recv:?}, try_recv() -> {try_recv:?}");
    println!("                   then {then}, recv_timeout() -> {recv_timeout:?}");
    let put = put_when_disconnected();
    if let Err(SendError(item)) = put.send {
        println!("receiver dropped:  send() -> SendError: {item:?} handed back");
    }
    if let Err(TrySendError::Disconnected(item)) = put.try_send {
        println!("                   try_send() -> Disconnected: {item:?} handed back");
    }
    if let Err(mpsc::TrySendError::Full(item)) = std_put_nowait_when_full() {
        println!("std::sync::mpsc::sync_channel, full: TrySendError::Full: {item} handed back");
    }
}

fn show_simple_queue() {
    let got = simple_queue(&[1, 2, 3, 4, 5], &Sink::stdout());
    println!("received: {got:?}");
}

fn show_timeouts() {
    let (timeout, sink) = (Duration::from_millis(150), Sink::stdout());
    let (fast, slow) = (Duration::ZERO, Duration::from_millis(400));
    println!("a slow seller: the supplier times out");
    let (sold, supplier, seller) = timeouts(4, timeout, fast, slow, &sink);
    println!("sold {sold:?}; time-outs: supplier {supplier}, seller {seller}");
    println!("a slow supplier: the seller times out");
    let (sold, supplier, seller) = timeouts(3, timeout, slow, fast, &sink);
    println!("sold {sold:?}; time-outs: supplier {supplier}, seller {seller}");
}

/// The course's pacing: a delivery every 0.5 s, a sale every second.
fn show_step_06() {
    let (supply, sale) = (Duration::from_millis(500), Duration::from_secs(1));
    let w = step_06(&GOODS, WAREHOUSE_SIZE, supply, sale, &Sink::stdout());
    println!("supplied {}: {:?}", w.supplied.len(), w.supplied);
    println!("turned away {}: {:?}", w.turned_away.len(), w.turned_away);
    let (sold, empty) = (w.sold.len(), w.found_empty);
    println!("sold {sold}, found the warehouse empty {empty} times");
}

const TITLE: &str = "Lesson 4.5 — SimpleQueue, Empty and Full («SimpleQueue и исключения»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("simple_queue", "an unbounded queue: put never blocks", show_simple_queue),
        Step::new("error_kinds", "Empty, Full, timeouts, disconnection", show_error_kinds),
        Step::new("timeouts", "retry on Timeout, stop on Disconnected", show_timeouts),
        Step::new("step_06", "a warehouse of 5: Full turns goods away", show_step_06),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;

    const LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn the_simple_queue_delivers_everything_in_order() {
        let got = deadline(LIMIT, || simple_queue(&[3, 1, 4, 1, 5], &Sink::collect()));
        assert_eq!(got, [3, 1, 4, 1, 5]);
    }

    #[test]
    fn every_error_kind_is_triggered() {
        deadline(LIMIT, || {
            assert_eq!(get_nowait_when_empty(), Err(TryRecvError::Empty));
            assert_eq!(put_nowait_when_full(), Err(TrySendError::Full("second")));
            let short = Duration::from_millis(5);
            assert_eq!(
                get_with_timeout_when_empty(short),
                Err(RecvTimeoutError::Timeout)
            );
            assert_eq!(
                put_with_timeout_when_full(short),
                Err(SendTimeoutError::Timeout("second"))
            );
            assert_eq!(
                get_when_disconnected(),
                AfterSendersDropped {
                    queued: Ok(7),
                    recv: Err(RecvError),
                    try_recv: Err(TryRecvError::Disconnected),
                    recv_timeout: Err(RecvTimeoutError::Disconnected),
                }
            );
            assert_eq!(
                put_when_disconnected(),
                AfterReceiverDropped {
                    send: Err(SendError("for nobody")),
                    try_send: Err(TrySendError::Disconnected("for nobody either")),
                }
            );
            assert_eq!(std_put_nowait_when_full(), Err(mpsc::TrySendError::Full(2)));
        });
    }

    /// Every good is either supplied or turned away, and everything supplied
    /// is sold exactly once, in supply order.
    fn check_warehouse(w: &Warehouse) {
        let mut accounted: Vec<&str> = w.supplied.iter().chain(&w.turned_away).copied().collect();
        accounted.sort_unstable();
        let mut goods = GOODS.to_vec();
        goods.sort_unstable();
        assert_eq!(accounted, goods);
        assert_eq!(w.sold, w.supplied);
        // The first five always fit: only the seller ever frees a slot.
        assert!(w.supplied.len() >= WAREHOUSE_SIZE, "{w:?}");
    }

    #[test]
    fn step_06_sells_every_supplied_good_once_in_order() {
        for (supply, sale) in [(1, 2), (2, 1), (0, 3), (3, 0)] {
            let w = deadline(LIMIT, move || {
                step_06(
                    &GOODS,
                    WAREHOUSE_SIZE,
                    Duration::from_millis(supply),
                    Duration::from_millis(sale),
                    &Sink::collect(),
                )
            });
            check_warehouse(&w);
        }
    }

    #[test]
    fn supply_restocks_an_empty_warehouse_at_once() {
        let (tx, _rx) = bounded(2);
        let no_pause = || panic!("an empty warehouse is restocked without a pause");
        assert_eq!(supply(&tx, "first", no_pause), Ok(()));
        assert_eq!(supply(&tx, "second", || {}), Ok(()));
        assert_eq!(tx.len(), 2);
    }

    #[test]
    fn supply_turns_away_what_it_saw_full_before_the_pause() {
        // The seller sells during the supplier's pause: there is room again,
        // but the supplier acts on what it saw, as the course's does.
        let (tx, rx) = bounded(1);
        tx.send("on the shelf").expect("one free slot");
        let sell = || assert_eq!(rx.try_recv(), Ok("on the shelf"));
        assert_eq!(supply(&tx, "late", sell), Err(TrySendError::Full("late")));
        assert!(tx.is_empty());
    }

    #[test]
    fn step_06_reports_as_it_goes() {
        let (w, lines) = deadline(LIMIT, || {
            let sink = Sink::collect();
            let w = step_06(
                &GOODS,
                WAREHOUSE_SIZE,
                Duration::ZERO,
                Duration::ZERO,
                &sink,
            );
            (w, sink.lines())
        });
        let supplied = lines.iter().filter(|l| l.starts_with("supplied: ")).count();
        let sold = lines.iter().filter(|l| l.starts_with("    sold: ")).count();
        assert_eq!((supplied, sold), (w.supplied.len(), w.sold.len()));
        assert!(lines.contains(&"supplies have ended".to_owned()));
        assert_eq!(
            lines.last().map(String::as_str),
            Some("    everything sold, the seller stops")
        );
    }

    #[test]
    fn timeouts_lose_nothing_and_end_on_disconnect() {
        for (supply, sale) in [(0, 3), (3, 0), (1, 1)] {
            let (sold, _, _) = deadline(LIMIT, move || {
                timeouts(
                    20,
                    Duration::from_millis(1),
                    Duration::from_millis(supply),
                    Duration::from_millis(sale),
                    &Sink::collect(),
                )
            });
            assert_eq!(sold, (1..=20).collect::<Vec<_>>());
        }
    }
}
