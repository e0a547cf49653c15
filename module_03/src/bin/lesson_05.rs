//! Lesson 3.5 — Checking a future's status («Проверяем статус Future»)
//!
//! Asking "is it done yet?" without waiting: Python's `future.done()`. Rust
//! asks an eager handle (`JoinHandle::is_finished`), or polls a future once
//! (`now_or_never`); it can also wait for whichever finishes first (`select`)
//! or take results in the order they finish (`FuturesUnordered`).
//!
//! | Python                                 | Rust                                                        |
//! |----------------------------------------|-------------------------------------------------------------|
//! | `future.done()`                        | `std::thread::JoinHandle::is_finished()`, tokio's too        |
//! | `future.done()` on a lazy future       | `(&mut fut).now_or_never()` → `Some(value)` once ready (polls it once) |
//! | `future.add_done_callback(report)`     | `FutureExt::inspect(report)` on the task                     |
//! | `wait(fs, return_when=FIRST_COMPLETED)` | `futures::future::select(a, b)` → the winner and the other, still pending |
//! | `as_completed(fs)`                     | `FuturesUnordered` + `StreamExt::next`                       |
//!
//! - Run all steps: `cargo run -p module_03 --bin lesson_05`
//! - Run one step:  `cargo run -p module_03 --bin lesson_05 -- step_09`
//!
//! In step 09 the done callbacks race: their lines come in varying order.
//!
//! Try: in `sleepy`, replace `tokio::time::sleep(delay).await` by
//! `std::thread::sleep(delay)` and run `-- status_checks`. Why do `select`
//! and `as completed` now report the submission order?

use std::process::ExitCode;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use futures::executor::{ThreadPool, block_on};
use futures::future::{Either, FutureExt, join_all, select};
use futures::stream::{FuturesUnordered, StreamExt};
use futures::task::SpawnExt;
use step_runner::{Sink, Step, lesson_id};

/// One product of the shop: name, price, units in stock.
#[derive(Debug, Clone, Copy)]
struct Product {
    name: &'static str,
    price: u64,
    stock: u64,
}

const fn product(name: &'static str, price: u64, stock: u64) -> Product {
    Product { name, price, stock }
}

/// Step 09: the shop's catalogue; product ids are 1-based (course data,
/// names in English).
const PRODUCTS: [Product; 30] = [
    product("Computer ProMax", 50000, 1),
    product("Phone UltraTalk", 30000, 1),
    product("Headphones SoundBeats", 2000, 0),
    product("Tablet ViewTab", 15000, 20),
    product("Monitor ClearView", 10000, 15),
    product("Keyboard QuickType", 1500, 30),
    product("Mouse Clicker", 800, 40),
    product("Flash drive SpeedDrive", 500, 0),
    product("Hard drive StoreMore", 4000, 25),
    product("Printer PrintAll", 6000, 12),
    product("Smartphone FlexPhone", 25000, 18),
    product("Laptop CarryComp", 45000, 8),
    product("Camera SnapShot", 8000, 22),
    product("Projector LightShow", 12000, 0),
    product("Speakers SoundWave", 2500, 35),
    product("Monopod SelfieStick", 700, 60),
    product("Router NetFast", 3000, 28),
    product("Tablet SketchTab", 13000, 0),
    product("Microphone EchoMic", 1500, 45),
    product("Webcam VisionPro", 2000, 0),
    product("Headphones BassHead", 1800, 55),
    product("Gaming mouse GameMaster", 1200, 38),
    product("Gaming keyboard KeyStrike", 2500, 0),
    product("Graphics tablet DrawMaster", 8000, 17),
    product("Smartwatch TimeTech", 3000, 23),
    product("Computer speakers SoundSpace", 3500, 30),
    product("Wireless mouse FreedomClick", 1000, 42),
    product("Smartphone Samsung GalaxyZ", 27000, 0),
    product("Smartphone iPhone X", 35000, 9),
    product("Laptop Dell Inspire", 48000, 7),
];

/// The search of step 09: announces the product, then reports what it
/// found, each line the moment it happens (course: `search_product`).
fn search_product(products: &[Product], id: usize, sink: &Sink) {
    let product = products[id - 1];
    sink.note(format!("searching for product: {}", product.name));
    if product.stock == 0 {
        sink.note(format!("product id {id} not found or out of stock"));
    } else {
        sink.note(format!("product id {id}: {product:?}"));
    }
}

fn total_stock_cost(products: &[Product]) -> u64 {
    products.iter().map(|p| p.price * p.stock).sum()
}

/// Step 09 — search every product on a pool; a done callback reports each
/// search's status as it finishes; then compute the value of the stock.
///
/// The callback is attached with `inspect`, so it runs on the worker right
/// after the search returns: by then the search is done, which is why
/// Python's `future.done()` inside a done callback is always `True`.
/// Python attaches each callback after submitting; a search that already
/// finished then runs its callback at once on the main thread. Either way
/// a search's callback line comes after that search's lines, and the lines
/// of different searches interleave.
fn step_09(products: &'static [Product], workers: usize, sink: &Arc<Sink>) -> u64 {
    let pool = ThreadPool::builder()
        .pool_size(workers)
        .create()
        .expect("creating the thread pool");
    let handles: Vec<_> = (1..=products.len())
        .map(|id| {
            let (search_sink, callback_sink) = (Arc::clone(sink), Arc::clone(sink));
            let search = async move { search_product(products, id, &search_sink) }
                .inspect(move |()| callback_sink.note("search finished, done: true"));
            pool.spawn_with_handle(search)
                .expect("the pool accepts tasks")
        })
        .collect();
    // Python's `with` block waits for every task before the total is printed.
    block_on(join_all(handles));
    total_stock_cost(products)
}

fn show_step_09() {
    let sink = Arc::new(Sink::stdout());
    // Python's default `max_workers`: min(32, CPUs + 4).
    let cpus = thread::available_parallelism().map_or(1, usize::from);
    let total = step_09(&PRODUCTS, (cpus + 4).min(32), &sink);
    println!("total value of the stock: {total}");
}

/// What the status checks saw.
#[derive(Debug)]
struct Statuses {
    /// `is_finished()` checks of a thread, until it said yes.
    checks_until_finished: usize,
    /// `now_or_never()` on a task's handle: before and after it finished.
    now_or_never: (Option<u32>, Option<u32>),
    /// `select`: the winner's value, then the loser's once awaited.
    first_completed: (u32, u32),
    /// `FuturesUnordered`: values in the order the tasks finished.
    as_completed: Vec<u32>,
}

/// A task that takes `delay` and returns `value`. `tokio::time::sleep`
/// waits without holding a thread: the runtime's one thread meanwhile runs
/// the other tasks (a `thread::sleep` here would stall them all).
async fn sleepy(value: u32, delay: Duration) -> u32 {
    tokio::time::sleep(delay).await;
    value
}

/// Demo — four ways to look at a future's status; `delays[i]` is how long
/// task `i` takes (the default: 0.3 s, 0.1 s, 0.2 s). The tasks run on
/// `runtime`: `main` passes a real-time one, the tests one whose clock only
/// moves when every task waits, so their order is exact on any machine.
fn status_checks(delays: [Duration; 3], runtime: &tokio::runtime::Runtime) -> Statuses {
    // An eager handle: ask `is_finished` while doing other things. The
    // thread starts its work when told, so the first answer is "not yet".
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let worker = thread::spawn(move || {
        let _ = go_rx.recv();
        thread::sleep(delays[0]);
    });
    let mut checks_until_finished = 1;
    while !worker.is_finished() {
        checks_until_finished += 1;
        let _ = go_tx.send(());
        thread::sleep(delays[0] / 10);
    }
    worker.join().expect("the worker does not panic");

    runtime.block_on(async {
        let spawn = |value: u32, delay: Duration| {
            // `JoinHandle` yields `Result<u32, JoinError>`; the tasks never
            // panic, so keep the value.
            tokio::spawn(sleepy(value, delay))
                .map(|joined| joined.expect("the task does not panic"))
        };

        // A future polled once: `None` means "not ready", and nothing blocks.
        let mut handle = spawn(7, delays[1]);
        let before = (&mut handle).now_or_never();
        tokio::time::sleep(delays[1] * 3).await;
        let after = (&mut handle).now_or_never();

        // FIRST_COMPLETED: `select` returns the winner and the other future,
        // which keeps running and can still be awaited.
        let (slow, fast) = (spawn(1, delays[0]), spawn(2, delays[1]));
        let first_completed = match select(slow, fast).await {
            Either::Left((value, other)) | Either::Right((value, other)) => (value, other.await),
        };

        // as_completed: results in finishing order, not submission order.
        let pending: FuturesUnordered<_> = [(1, delays[0]), (2, delays[1]), (3, delays[2])]
            .into_iter()
            .map(|(value, delay)| spawn(value, delay))
            .collect();
        let as_completed = pending.collect().await;

        Statuses {
            checks_until_finished,
            now_or_never: (before, after),
            first_completed,
            as_completed,
        }
    })
}

fn show_status_checks() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("building the tokio runtime");
    let delays = [
        Duration::from_millis(300),
        Duration::from_millis(100),
        Duration::from_millis(200),
    ];
    let seen = status_checks(delays, &runtime);
    println!(
        "thread finished after {} is_finished() checks",
        seen.checks_until_finished
    );
    let (before, after) = seen.now_or_never;
    println!("now_or_never while running: {before:?}, after: {after:?}");
    let (winner, loser) = seen.first_completed;
    println!("select: first completed {winner}, then {loser}");
    println!("as completed: {:?}", seen.as_completed);
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 3.5 — Checking a future's status («Проверяем статус Future»)",
        &[
            Step::new(
                "step_09",
                "search 30 products, report each status, value the stock",
                show_step_09,
            ),
            Step::new(
                "status_checks",
                "is_finished, now_or_never, select, FuturesUnordered",
                show_status_checks,
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;

    /// Runs step 09 into a collecting sink.
    fn step_09_lines() -> (Vec<String>, u64) {
        let sink = Arc::new(Sink::collect());
        let total = deadline(Duration::from_secs(20), {
            let sink = Arc::clone(&sink);
            move || step_09(&PRODUCTS, 2, &sink)
        });
        (sink.lines(), total)
    }

    #[test]
    fn step_09_searches_every_product_once() {
        let (lines, total) = step_09_lines();
        assert_eq!(lines.len(), 90, "three lines per product: {lines:?}");
        let mut out_of_stock: Vec<usize> = (1..=30)
            .filter(|id| lines.contains(&format!("product id {id} not found or out of stock")))
            .collect();
        out_of_stock.sort_unstable();
        assert_eq!(out_of_stock, [3, 8, 14, 18, 20, 23, 28]);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("product id 1: Product { name: \"Computer ProMax\""))
        );
        for product in &PRODUCTS {
            let announced = format!("searching for product: {}", product.name);
            assert_eq!(lines.iter().filter(|l| **l == announced).count(), 1);
        }
        assert_eq!(total, 3_193_600);
    }

    #[test]
    fn step_09_reports_each_callback_as_its_search_finishes() {
        // Each search prints two lines and then its callback one, so at
        // any point the callbacks seen so far never outnumber the searches
        // whose result line has been seen. Live, not after all searches:
        // with 2 workers for 30 searches, a worker runs its first callback
        // before it takes another search, so the first callback line comes
        // before the last search is announced.
        let (lines, _) = step_09_lines();
        let first_callback = lines
            .iter()
            .position(|l| l == "search finished, done: true");
        let last_search = lines.iter().rposition(|l| l.starts_with("searching for"));
        assert!(first_callback < last_search, "{lines:?}");
        let (mut results, mut callbacks) = (0, 0);
        for line in &lines {
            if line.starts_with("product id ") {
                results += 1;
            } else if line == "search finished, done: true" {
                callbacks += 1;
                assert!(callbacks <= results, "{lines:?}");
            }
        }
        assert_eq!((results, callbacks), (30, 30));
    }

    #[test]
    fn status_checks_see_pending_then_done() {
        let seen = deadline(Duration::from_secs(20), || {
            // tokio's paused clock: timers fire in deadline order, and time
            // jumps to the next one whenever every task waits.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            let delays = [
                Duration::from_millis(30),
                Duration::from_millis(10),
                Duration::from_millis(20),
            ];
            status_checks(delays, &runtime)
        });
        // The thread is told to start only after the first check.
        assert!(seen.checks_until_finished >= 2, "{seen:?}");
        assert_eq!(seen.now_or_never, (None, Some(7)));
        assert_eq!(seen.first_completed, (2, 1));
        assert_eq!(seen.as_completed, [2, 3, 1]);
    }
}
