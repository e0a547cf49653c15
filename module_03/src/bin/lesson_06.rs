//! Lesson 3.6 — Done callbacks («Добавляем обратный вызов к Future»)
//!
//! A done callback is code that runs when a future completes, with its
//! result. Rust attaches it to the future itself before the future is handed
//! to an executor: `map` for a plain function, `then` for a continuation that
//! is itself async. The callback then runs exactly once, on the worker that
//! finished the task, right after the task's body.
//!
//! | Python                                   | Rust                                                    |
//! |------------------------------------------|---------------------------------------------------------|
//! | `future.add_done_callback(fn)`           | `pool.spawn_with_handle(task.map(fn))`                  |
//! | a callback that starts more work         | `task.then(\|value\| async move { … })`                  |
//! | `future.result()` inside the callback    | the callback's argument: the task's output itself       |
//! | callback runs in the worker thread       | the same: the pool worker that polled the task          |
//! | callback added to a finished future runs at once, in the caller | (no such case: the callback is part of the task) |
//! | `with stdout_lock:` around shared state  | `Mutex<Inventory>`: the lock guards the data, not the printing |
//!
//! Run all steps: `cargo run -p module_03 --bin lesson_06`
//! Run one step:  `cargo run -p module_03 --bin lesson_06 -- step_11`
//! The tasks race: the order of the lines varies between runs.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;

use futures::executor::{ThreadPool, block_on};
use futures::future::{FutureExt, join_all};
use futures::task::SpawnExt;
use step_runner::{Step, lesson_id};

/// Step 11: processors in stock (course data, in the course's order).
const INVENTORY: [(&str, u32); 30] = [
    ("Intel Core i9", 120),
    ("Intel Core i7", 66),
    ("Intel Core i5", 60),
    ("Intel Core i3", 1),
    ("Intel Xeon", 81),
    ("AMD Ryzen 9", 56),
    ("AMD Ryzen 7", 55),
    ("AMD Ryzen 5", 0),
    ("AMD Ryzen 3", 1),
    ("AMD Threadripper", 41),
    ("AMD Epyc", 3),
    ("Intel Pentium", 19),
    ("Intel Celeron", 2),
    ("Qualcomm Snapdragon 888", 54),
    ("Apple M1", 14),
    ("Apple A14 Bionic", 20),
    ("ARM Cortex-A78", 0),
    ("ARM Cortex-A55", 87),
    ("ARM Cortex-M4", 30),
    ("NVIDIA Tegra X1", 2),
    ("Samsung Exynos 2100", 22),
    ("MediaTek Dimensity 1000", 0),
    ("Intel Atom", 0),
    ("AMD Athlon", 95),
    ("AMD Sempron", 30),
    ("Intel Core 2 Duo", 2),
    ("Intel Core 2 Quad", 1),
    ("Intel Itanium", 2),
    ("AMD Duron", 98),
    ("AMD FX", 0),
];

/// Who did what, on which thread, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    kind: Kind,
    item: usize,
    thread: String,
    line: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Task,
    Callback,
}

type Log = Arc<Mutex<Vec<Event>>>;

fn record(log: &Log, kind: Kind, item: usize, line: String) {
    let thread = thread::current().name().unwrap_or("unnamed").to_owned();
    log.lock().expect("log lock").push(Event {
        kind,
        item,
        thread,
        line,
    });
}

/// The pools of this lesson name their threads, so callbacks can show where
/// they ran.
fn named_pool() -> ThreadPool {
    ThreadPool::builder()
        .name_prefix("pool-")
        .create()
        .expect("creating the thread pool")
}

/// Step 11 — search every processor on a pool; a done callback ships one
/// unit of each if any is left. Returns the log and the inventory after.
fn step_11(inventory: &[(&'static str, u32)]) -> (Vec<Event>, Vec<(&'static str, u32)>) {
    let stock = Arc::new(Mutex::new(inventory.to_vec()));
    let log: Log = Arc::default();
    let pool = named_pool();

    let handles: Vec<_> = (0..inventory.len())
        .map(|item| {
            let (search_stock, stock) = (Arc::clone(&stock), Arc::clone(&stock));
            let (search_log, callback_log) = (Arc::clone(&log), Arc::clone(&log));
            let search = async move {
                let (name, count) = search_stock.lock().expect("stock lock")[item];
                let line = format!("looking up {name}: {count} in stock");
                record(&search_log, Kind::Task, item, line);
                item
            };
            // The callback gets the search's result. Reading and decrementing
            // happen under one lock, so two orders can never ship the last unit.
            let process_order = move |item: usize| {
                let mut stock = stock.lock().expect("stock lock");
                let (name, count) = &mut stock[item];
                let line = if *count > 0 {
                    *count -= 1;
                    format!("{name} shipped to the customer: {count} left in stock")
                } else {
                    format!("{name} is out of stock, the order cannot be processed")
                };
                drop(stock);
                record(&callback_log, Kind::Callback, item, line);
            };
            pool.spawn_with_handle(search.map(process_order))
                .expect("the pool accepts tasks")
        })
        .collect();
    block_on(join_all(handles));

    let events = log.lock().expect("log lock").clone();
    let after = stock.lock().expect("stock lock").clone();
    (events, after)
}

/// A network device of step 12.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Device {
    name: &'static str,
    ip: &'static str,
    active: bool,
}

/// Step 12: the devices to monitor (course data).
fn devices() -> Vec<Device> {
    [
        ("Server1", "192.168.1.1", true),
        ("Router1", "192.168.1.2", true),
        ("Switch1", "192.168.1.3", false),
        ("Server10", "192.168.1.28", true),
        ("Router10", "192.168.1.29", false),
        ("Switch10", "192.168.1.30", true),
    ]
    .into_iter()
    .map(|(name, ip, active)| Device { name, ip, active })
    .collect()
}

/// Step 12 — monitor each device on a pool; a done callback turns on the
/// inactive ones. Returns the log and the devices as the callbacks left them.
///
/// Python's callback flips `status` in the shared dict. Here the device
/// moves through the task into the callback, which returns it updated: no
/// shared mutable state at all.
fn step_12(devices: Vec<Device>) -> (Vec<Event>, Vec<Device>) {
    let log: Log = Arc::default();
    let pool = named_pool();
    let handles: Vec<_> = devices
        .into_iter()
        .enumerate()
        .map(|(item, device)| {
            let (task_log, callback_log) = (Arc::clone(&log), Arc::clone(&log));
            let monitor = async move {
                let line = format!(
                    "monitoring {} at {}: active {}",
                    device.name, device.ip, device.active
                );
                record(&task_log, Kind::Task, item, line);
                device
            };
            // `then`: the callback is a future too, so it could await more work
            // (a real device would be switched on over the network).
            let handle_status = move |mut device: Device| async move {
                let line = if device.active {
                    format!("{} is active and working normally", device.name)
                } else {
                    device.active = true;
                    format!("warning: {} was inactive; switched it on", device.name)
                };
                record(&callback_log, Kind::Callback, item, line);
                device
            };
            pool.spawn_with_handle(monitor.then(handle_status))
                .expect("the pool accepts tasks")
        })
        .collect();
    let devices = block_on(join_all(handles));
    let events = log.lock().expect("log lock").clone();
    (events, devices)
}

fn print_events(events: &[Event]) {
    for event in events {
        let who = match event.kind {
            Kind::Task => "task",
            Kind::Callback => "callback",
        };
        println!("[{:<8} on {}] {}", who, event.thread, event.line);
    }
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 3.6 — Done callbacks («Добавляем обратный вызов к Future»)",
        &[
            Step::new(
                "step_11",
                "search processors; a done callback ships one of each",
                || {
                    let (events, after) = step_11(&INVENTORY);
                    print_events(&events);
                    let units: u32 = after.iter().map(|(_, count)| count).sum();
                    println!("units left in stock: {units}");
                },
            ),
            Step::new(
                "step_12",
                "monitor devices; a done callback switches on the inactive",
                || {
                    let (events, devices) = step_12(devices());
                    print_events(&events);
                    for device in devices {
                        println!("{}: active {}", device.name, device.active);
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
    use std::time::Duration;

    /// The claims about callbacks: one per task, after it, on its worker.
    fn check_callbacks(events: &[Event], tasks: usize) {
        for item in 0..tasks {
            let of_item: Vec<&Event> = events.iter().filter(|e| e.item == item).collect();
            let kinds: Vec<Kind> = of_item.iter().map(|e| e.kind).collect();
            // Exactly once, and after the task (the log is in time order).
            assert_eq!(kinds, [Kind::Task, Kind::Callback], "item {item}");
            // On the worker that ran the task, a thread of the pool.
            assert_eq!(of_item[0].thread, of_item[1].thread, "item {item}");
            assert!(of_item[1].thread.starts_with("pool-"), "{:?}", of_item[1]);
        }
        assert_eq!(events.len(), 2 * tasks);
    }

    #[test]
    fn step_11_callbacks_run_once_after_each_search_on_its_worker() {
        let (events, _) = deadline(Duration::from_secs(20), || step_11(&INVENTORY));
        check_callbacks(&events, INVENTORY.len());
    }

    #[test]
    fn step_11_ships_one_unit_of_every_processor_in_stock() {
        let (events, after) = deadline(Duration::from_secs(20), || step_11(&INVENTORY));
        let expected: Vec<(&str, u32)> = INVENTORY
            .iter()
            .map(|&(name, count)| (name, count.saturating_sub(1)))
            .collect();
        assert_eq!(after, expected);
        let refused = events
            .iter()
            .filter(|e| e.line.ends_with("cannot be processed"))
            .count();
        let out_of_stock = INVENTORY.iter().filter(|(_, count)| *count == 0).count();
        assert_eq!((refused, out_of_stock), (5, 5));
    }

    #[test]
    fn step_12_callbacks_run_once_and_switch_everything_on() {
        let (events, after) = deadline(Duration::from_secs(20), || step_12(devices()));
        check_callbacks(&events, 6);
        assert!(after.iter().all(|device| device.active));
        let names: Vec<_> = after.iter().map(|device| device.name).collect();
        assert_eq!(
            names,
            [
                "Server1", "Router1", "Switch1", "Server10", "Router10", "Switch10"
            ]
        );
        let mut switched_on: Vec<&str> = events
            .iter()
            .filter(|e| e.line.contains("switched it on"))
            .map(|e| e.line.as_str())
            .collect();
        switched_on.sort_unstable();
        assert_eq!(
            switched_on,
            [
                "warning: Router10 was inactive; switched it on",
                "warning: Switch1 was inactive; switched it on",
            ]
        );
    }
}
