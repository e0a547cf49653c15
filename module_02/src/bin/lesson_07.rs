//! Lesson 2.7 — Initializing worker threads («Инициализация рабочих потоков»)
//!
//! A pool can run setup code once in every worker before it takes any task
//! — open a connection, seed a generator, reset thread-local state — and, in
//! rayon, teardown code when the worker stops.
//!
//! | Python                                             | Rust                                                       |
//! |----------------------------------------------------|------------------------------------------------------------|
//! | `ThreadPoolExecutor(initializer=f)`                | `rayon::ThreadPoolBuilder::new().start_handler(\|index\| f(index))` |
//! | `initargs=(…)`                                     | values the `start_handler` closure captures                |
//! | (no counterpart)                                   | `.exit_handler(\|index\| …)`, run as each worker stops      |
//! | `thread_name_prefix="environment"`                 | `.thread_name(\|i\| format!("environment_{i}"))`             |
//! | `local = threading.local(); local.counter = 0`     | `thread_local! { static COUNTER: Cell<u32> = … }`           |
//! | `next(generator)` from every initializer           | `start_handler` gets the worker's index: `ids[index]`       |
//! | a global list/dict every thread appends to         | a channel: workers send, `main` collects                    |
//!
//! Run all steps: `cargo run -p module_02 --bin lesson_07`
//! Run one step:  `cargo run -p module_02 --bin lesson_07 -- step_11`
//! Output order varies between runs where threads race; the values do not.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use step_runner::{Step, lesson_id};

const STEP_11_TASK_IDS: [&str; 10] = [
    "StarExplorer42",
    "QuantumLeap89",
    "CyberWizard77",
    "GalacticVoyager66",
    "MysticCoder11",
    "NeuralNinja53",
    "QuantumRanger88",
    "SpaceSurfer15",
    "TimeTraveler23",
    "CosmicSage99",
];

const STEP_12_WORKER_IDS: [&str; 10] = [
    "KFD34", "DGS6D", "F7F9S", "SDG0D", "WQ9WE", "29AXC", "AF632", "DCV13", "Q9ETF", "1D0S3",
];

const STEP_13_NUMBERS: [u32; 120] = [
    6359, 5217, 5411, 3615, 1524, 5946, 5693, 9662, 8922, 1657, 6202, 2930, 2651, 6594, 4482, 5504,
    6084, 5142, 3272, 1934, 1002, 7333, 2003, 9584, 1018, 1882, 5929, 3411, 8984, 8886, 7037, 4988,
    6961, 2602, 8114, 4462, 3908, 3549, 3812, 5882, 7907, 2438, 2210, 3879, 3765, 8623, 1654, 3562,
    5205, 5082, 8443, 8742, 9058, 6979, 7968, 2205, 8830, 8798, 2028, 7474, 8519, 1853, 1815, 3194,
    3700, 9318, 2716, 5772, 8939, 8925, 1594, 9005, 5326, 4190, 8645, 6392, 6583, 8614, 5242, 2417,
    7037, 2122, 8311, 6808, 9534, 7189, 1493, 8339, 1669, 2605, 1653, 3423, 6555, 6779, 1749, 3709,
    4545, 8217, 5080, 8658, 2731, 7139, 6508, 2515, 2280, 7627, 3565, 9623, 7520, 5807, 5403, 1356,
    7310, 3268, 3320, 4320, 6361, 4625, 7427, 2781,
];

fn current_name() -> String {
    thread::current().name().unwrap_or("unnamed").to_owned()
}

/// Step 11 — three workers, each announcing itself from the initializer;
/// ten one-second tasks, each reporting which worker ran it. Returns the
/// reports in the order they arrived.
fn step_11(task_ids: &[&'static str], delay: Duration) -> Vec<String> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let init_tx = tx.clone();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .thread_name(|i| format!("worker_{i}"))
        .start_handler(move |_| {
            init_tx
                .send(format!("initializing thread {}", current_name()))
                .expect("main keeps the receiver");
        })
        .build()
        .expect("building a 3-thread pool");
    pool.scope(|s| {
        for &task_id in task_ids {
            let tx = tx.clone();
            s.spawn(move |_| {
                thread::sleep(delay);
                let line = format!("thread {} runs task {task_id}", current_name());
                tx.send(line).expect("main keeps the receiver");
            });
        }
    });
    drop(tx);
    // The start handler owns a sender too. Dropping the pool lets its workers
    // exit, after which rayon drops the handler, and `rx.iter()` ends.
    drop(pool);
    rx.iter().collect()
}

thread_local! {
    /// The id the initializer gave this worker.
    static WORKER_ID: Cell<&'static str> = const { Cell::new("none") };
    /// How many tasks this worker has processed.
    static PROCESSED: Cell<u32> = const { Cell::new(0) };
}

/// What happened in step 12, as it happened.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    Initialized(&'static str),
    Started { task: u32, worker: &'static str },
    Finished { task: u32, worker: &'static str },
}

/// Step 12 — ten workers each take the next id from a list in their
/// initializer and keep it in thread-local storage; ten short tasks report
/// their start and end.
///
/// Python pulls the ids from one generator shared by all initializers;
/// calling `next` on a generator from two threads at once can raise
/// "generator already executing". Rayon hands each worker its index, so no
/// shared iterator is needed.
fn step_12(delay: Duration) -> Vec<Event> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let init_tx = tx.clone();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(10)
        .start_handler(move |index| {
            let id = STEP_12_WORKER_IDS[index];
            WORKER_ID.set(id);
            init_tx
                .send(Event::Initialized(id))
                .expect("main keeps the receiver");
        })
        .build()
        .expect("building a 10-thread pool");
    // Python's `with t.Lock():` makes a brand-new lock on every call, so it
    // protects nothing. Whole lines through a channel need no lock at all.
    pool.scope(|s| {
        for task in 0..10 {
            let tx = tx.clone();
            s.spawn(move |_| {
                let worker = WORKER_ID.get();
                tx.send(Event::Started { task, worker })
                    .expect("receiver kept");
                thread::sleep(delay);
                tx.send(Event::Finished { task, worker })
                    .expect("receiver kept");
            });
        }
    });
    drop(tx);
    drop(pool);
    rx.iter().collect()
}

/// Step 13 — ten workers named `environment_N` process the even numbers
/// (0.1 s each), counting in a thread-local counter; each worker reports its
/// count when it stops. Returns worker name → numbers processed.
///
/// Python also writes a global dict from every worker; here nothing is
/// shared: each counter is private to its thread until the exit handler
/// sends it.
fn step_13(numbers: &[u32], delay: Duration) -> BTreeMap<String, u32> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(10)
        .thread_name(|i| format!("environment_{i}"))
        // The initializer: reset this worker's counter.
        .start_handler(|_| PROCESSED.set(0))
        .exit_handler(move |_| {
            tx.send((current_name(), PROCESSED.get()))
                .expect("main keeps the receiver");
        })
        .build()
        .expect("building a 10-thread pool");
    pool.scope(|s| {
        for _ in numbers.iter().filter(|&&n| n % 2 == 0) {
            s.spawn(move |_| {
                thread::sleep(delay);
                PROCESSED.set(PROCESSED.get() + 1);
            });
        }
    });
    drop(pool);
    // Ends once every worker has exited and rayon has dropped the handler.
    rx.iter().filter(|&(_, count)| count > 0).collect()
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 2.7 — Initializing worker threads («Инициализация рабочих потоков»)",
        &[
            Step::new(
                "step_11",
                "an initializer on three workers, ten tasks",
                || {
                    for line in step_11(&STEP_11_TASK_IDS, Duration::from_secs(1)) {
                        println!("{line}");
                    }
                },
            ),
            Step::new(
                "step_12",
                "worker ids from the initializer, in thread-local storage",
                || {
                    for event in step_12(Duration::from_millis(100)) {
                        match event {
                            Event::Initialized(id) => println!("initializing worker {id}"),
                            Event::Started { task, worker } => {
                                println!("task {task} started on {worker}")
                            }
                            Event::Finished { task, worker } => {
                                println!("task {task} finished on {worker}")
                            }
                        }
                    }
                },
            ),
            Step::new(
                "step_13",
                "thread-local counters reported per worker",
                || {
                    for (name, count) in step_13(&STEP_13_NUMBERS, Duration::from_millis(100)) {
                        println!("{name} - numbers processed: {count}");
                    }
                },
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_11_initializes_three_workers_and_runs_every_task_once() {
        let lines = course_tests::deadline(Duration::from_secs(20), || {
            step_11(&STEP_11_TASK_IDS, Duration::from_millis(10))
        });
        let mut inits: Vec<_> = lines
            .iter()
            .filter(|l| l.starts_with("initializing"))
            .collect();
        inits.sort();
        assert_eq!(
            inits,
            [
                "initializing thread worker_0",
                "initializing thread worker_1",
                "initializing thread worker_2"
            ]
        );
        for id in STEP_11_TASK_IDS {
            let runs = lines
                .iter()
                .filter(|l| l.ends_with(&format!(" runs task {id}")))
                .count();
            assert_eq!(runs, 1, "{id}");
        }
        assert_eq!(lines.len(), 13);
    }

    #[test]
    fn step_12_runs_every_task_after_its_workers_initializer() {
        let events = course_tests::deadline(Duration::from_secs(20), || {
            step_12(Duration::from_millis(5))
        });
        let mut ids: Vec<_> = events
            .iter()
            .filter_map(|e| {
                if let Event::Initialized(id) = e {
                    Some(*id)
                } else {
                    None
                }
            })
            .collect();
        ids.sort_unstable();
        let mut expected = STEP_12_WORKER_IDS;
        expected.sort_unstable();
        assert_eq!(ids, expected);
        for task in 0..10 {
            let start = events
                .iter()
                .position(|e| matches!(e, Event::Started { task: t, .. } if *t == task));
            let end = events
                .iter()
                .position(|e| matches!(e, Event::Finished { task: t, .. } if *t == task));
            let (Some(start), Some(end)) = (start, end) else {
                panic!("task {task} missing in {events:?}");
            };
            assert!(start < end);
            let Event::Started { worker, .. } = events[start] else {
                unreachable!()
            };
            // The worker's initializer ran (and was reported) before its tasks.
            let init = events.iter().position(|e| *e == Event::Initialized(worker));
            assert!(init.is_some_and(|i| i < start), "task {task} on {worker}");
        }
    }

    #[test]
    fn step_13_counts_every_even_number_once() {
        let counts = course_tests::deadline(Duration::from_secs(20), || {
            step_13(&STEP_13_NUMBERS, Duration::from_millis(5))
        });
        let evens = STEP_13_NUMBERS.iter().filter(|&&n| n % 2 == 0).count();
        assert_eq!(counts.values().sum::<u32>() as usize, evens);
        assert!(counts.len() <= 10);
        assert!(counts.keys().all(|name| name.starts_with("environment_")));
    }
}
