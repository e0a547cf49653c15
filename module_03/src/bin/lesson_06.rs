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
//! - Run all steps: `cargo run -p module_03 --bin lesson_06`
//! - Run one step:  `cargo run -p module_03 --bin lesson_06 -- step_11`
//!
//! The tasks race: the order of the lines varies between runs.
//!
//! Try: in `named_pool`, add `.pool_size(1)` and run `-- step_11`: every
//! line now says `on pool-0`, and each search is followed at once by its
//! callback, in the course's order; with more workers they interleave.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;

use futures::executor::{ThreadPool, block_on};
use futures::future::{FutureExt, join_all};
use futures::task::SpawnExt;
use step_runner::{Sink, Step, lesson_id};

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

/// Who reports: the task itself or its done callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Task,
    Callback,
}

/// Reports one event the moment it happens, with who reported it and on
/// which thread: `[callback on pool-1] …`. Python's lines name neither; the
/// thread is what shows that the callback runs on the task's worker.
fn note(sink: &Sink, kind: Kind, line: &str) {
    let who = match kind {
        Kind::Task => "task",
        Kind::Callback => "callback",
    };
    let thread = thread::current().name().unwrap_or("unnamed").to_owned();
    sink.note(format!("[{who:<8} on {thread}] {line}"));
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
/// unit of each if any is left. Returns the inventory after.
fn step_11(inventory: &[(&'static str, u32)], sink: &Arc<Sink>) -> Vec<(&'static str, u32)> {
    let stock = Arc::new(Mutex::new(inventory.to_vec()));
    let pool = named_pool();

    let handles: Vec<_> = (0..inventory.len())
        .map(|item| {
            let (search_stock, stock) = (Arc::clone(&stock), Arc::clone(&stock));
            let (search_sink, callback_sink) = (Arc::clone(sink), Arc::clone(sink));
            let search = async move {
                // `unwrap`: a poisoned lock only relays another thread's
                // panic (the same everywhere in this module).
                let (name, count) = search_stock.lock().unwrap()[item];
                let line = format!("looking up {name}: {count} in stock");
                note(&search_sink, Kind::Task, &line);
                item
            };
            // The callback gets the search's result. Reading and decrementing
            // happen under one lock, so two orders can never ship the last unit.
            let process_order = move |item: usize| {
                let mut stock = stock.lock().unwrap();
                let (name, count) = &mut stock[item];
                let line = if *count > 0 {
                    *count -= 1;
                    format!("{name} shipped to the customer: {count} left in stock")
                } else {
                    format!("{name} is out of stock, the order cannot be processed")
                };
                drop(stock);
                note(&callback_sink, Kind::Callback, &line);
            };
            pool.spawn_with_handle(search.map(process_order))
                .expect("the pool accepts tasks")
        })
        .collect();
    block_on(join_all(handles));
    stock.lock().unwrap().clone()
}

fn show_step_11() {
    let after = step_11(&INVENTORY, &Arc::new(Sink::stdout()));
    // Not in the course, whose output ends with the last callback: the
    // total shows what the step returns, the stock after every shipment.
    let units: u32 = after.iter().map(|(_, count)| count).sum();
    println!("units left in stock: {units}");
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
/// inactive ones. Returns the devices as the callbacks left them.
///
/// Python's callback flips `status` in the shared dict. Here the device
/// moves through the task into the callback, which returns it updated: no
/// shared mutable state at all.
fn step_12(devices: Vec<Device>, sink: &Arc<Sink>) -> Vec<Device> {
    let pool = named_pool();
    let handles: Vec<_> = devices
        .into_iter()
        .map(|device| {
            let (task_sink, callback_sink) = (Arc::clone(sink), Arc::clone(sink));
            let monitor = async move {
                let (name, ip, active) = (device.name, device.ip, device.active);
                note(
                    &task_sink,
                    Kind::Task,
                    &format!("monitoring {name} at {ip}: active {active}"),
                );
                device
            };
            // `then`: the callback is a future too, so it could await more work
            // (a real device would be switched on over the network).
            let handle_status = move |mut device: Device| async move {
                let name = device.name;
                if device.active {
                    note(
                        &callback_sink,
                        Kind::Callback,
                        &format!("{name} is active and working normally"),
                    );
                } else {
                    note(
                        &callback_sink,
                        Kind::Callback,
                        &format!("warning: {name} is inactive, switching it on"),
                    );
                    device.active = true;
                    note(
                        &callback_sink,
                        Kind::Callback,
                        &format!("{name} switched on"),
                    );
                }
                device
            };
            pool.spawn_with_handle(monitor.then(handle_status))
                .expect("the pool accepts tasks")
        })
        .collect();
    block_on(join_all(handles))
}

fn show_step_12() {
    // Not in the course, whose output ends with the last callback: each
    // device's status as the step returns it, every one switched on.
    for device in step_12(devices(), &Arc::new(Sink::stdout())) {
        println!("{}: active {}", device.name, device.active);
    }
}

const TITLE: &str = "Lesson 3.6 — Done callbacks («Добавляем обратный вызов к Future»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("step_11", "search processors; a done callback ships one of each", show_step_11),
        Step::new("step_12", "monitor devices; a done callback switches on the inactive", show_step_12),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;
    use std::time::Duration;

    /// One reported line, taken apart: who, on which thread, what.
    struct Seen {
        kind: Kind,
        thread: String,
        text: String,
    }

    fn parse(line: &str) -> Seen {
        let (head, text) = line
            .split_once("] ")
            .expect("a `[who on thread] text` line");
        let (who, thread) = head[1..].split_once(" on ").expect("`who on thread`");
        let kind = if who.trim() == "task" {
            Kind::Task
        } else {
            Kind::Callback
        };
        Seen {
            kind,
            thread: thread.to_owned(),
            text: text.to_owned(),
        }
    }

    /// Runs a step into a collecting sink; its result and the lines seen.
    fn collect<T: Send + 'static>(
        step: impl FnOnce(&Arc<Sink>) -> T + Send + 'static,
    ) -> (T, Vec<Seen>) {
        deadline(Duration::from_secs(20), move || {
            let sink = Arc::new(Sink::collect());
            let result = step(&sink);
            (
                result,
                sink.lines().iter().map(|line| parse(line)).collect(),
            )
        })
    }

    /// The claims about callbacks: for each name, its task's line comes
    /// first, then its callback's (`callbacks` lines), all on one thread of
    /// the pool. A name is matched with the space or colon after it, so
    /// `Server1` does not match `Server10`.
    fn check_callbacks(seen: &[Seen], names: &[&str], callbacks: impl Fn(&str) -> usize) {
        for name in names {
            let of_name: Vec<&Seen> = seen
                .iter()
                .filter(|s| {
                    s.text.contains(&format!("{name} ")) || s.text.contains(&format!("{name}:"))
                })
                .collect();
            let kinds: Vec<Kind> = of_name.iter().map(|s| s.kind).collect();
            let mut expected = vec![Kind::Task];
            expected.extend(std::iter::repeat_n(Kind::Callback, callbacks(name)));
            // Exactly once, and after the task (the sink keeps time order).
            assert_eq!(kinds, expected, "{name}");
            // On the worker that ran the task, a thread of the pool.
            assert!(
                of_name.iter().all(|s| s.thread == of_name[0].thread),
                "{name}"
            );
            assert!(
                of_name[0].thread.starts_with("pool-"),
                "{}",
                of_name[0].thread
            );
        }
    }

    #[test]
    fn step_11_callbacks_run_once_after_each_search_on_its_worker() {
        let (_, seen) = collect(|sink| step_11(&INVENTORY, sink));
        let names: Vec<&str> = INVENTORY.iter().map(|(name, _)| *name).collect();
        check_callbacks(&seen, &names, |_| 1);
        assert_eq!(seen.len(), 2 * INVENTORY.len());
    }

    #[test]
    fn step_11_ships_one_unit_of_every_processor_in_stock() {
        let (after, seen) = collect(|sink| step_11(&INVENTORY, sink));
        let expected: Vec<(&str, u32)> = INVENTORY
            .iter()
            .map(|&(name, count)| (name, count.saturating_sub(1)))
            .collect();
        assert_eq!(after, expected);
        let refused = seen
            .iter()
            .filter(|s| s.text.ends_with("cannot be processed"))
            .count();
        let out_of_stock = INVENTORY.iter().filter(|(_, count)| *count == 0).count();
        assert_eq!((refused, out_of_stock), (5, 5));
    }

    #[test]
    fn step_12_callbacks_run_once_and_switch_everything_on() {
        let (after, seen) = collect(|sink| step_12(devices(), sink));
        let inactive = ["Switch1", "Router10"];
        let names: Vec<&str> = devices().iter().map(|device| device.name).collect();
        check_callbacks(
            &seen,
            &names,
            |name| if inactive.contains(&name) { 2 } else { 1 },
        );
        assert!(after.iter().all(|device| device.active));
        let after: Vec<_> = after.iter().map(|device| device.name).collect();
        assert_eq!(after, names);
        let mut switched_on: Vec<&str> = seen
            .iter()
            .filter(|s| s.text.ends_with("switched on"))
            .map(|s| s.text.as_str())
            .collect();
        switched_on.sort_unstable();
        assert_eq!(switched_on, ["Router10 switched on", "Switch1 switched on"]);
    }
}
