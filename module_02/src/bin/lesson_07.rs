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
//! | a global list every thread appends to, printed at the end | a `Sink`: each line printed as it happens       |
//! | a global dict every thread updates                 | a channel: each exit handler sends its count, `main` collects |
//!
//! - Run all steps: `cargo run -p module_02 --bin lesson_07`
//! - Run one step:  `cargo run -p module_02 --bin lesson_07 -- step_11`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try:
//! - In `step_11`, change `scope_fifo`/`spawn_fifo` to `scope`/`spawn` and run
//!   `-- step_11`: `CosmicSage99` now runs in the first second.
//! - In `step_13`, make the pool 1 thread: one line, `environment_0 - numbers
//!   processed: 62`, after about six seconds.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use step_runner::{Sink, Step, lesson_id};

const TITLE: &str = "Lesson 2.7 — Initializing worker threads («Инициализация рабочих потоков»)";

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

/// Step 11 — `workers` workers (three in the course), each announcing itself
/// from the initializer; ten one-second tasks, each reporting which worker
/// ran it, the moment it is done.
///
/// The tasks start in the order they were submitted (`scope_fifo`), as from
/// Python's queue: three waves of three, and `CosmicSage99`, submitted last,
/// alone in the fourth. Plain `scope`/`spawn` would start it in the first
/// wave (lesson 2.1 shows why).
fn step_11(sink: &Arc<Sink>, workers: usize, task_ids: &[&str], delay: Duration) {
    // The start handler outlives this call (rayon keeps it in the pool), so
    // it gets its own handle to the sink.
    let init_sink = Arc::clone(sink);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("worker_{i}"))
        .start_handler(move |_| init_sink.note(format!("initializing thread {}", current_name())))
        .build()
        .expect("the pool should build");
    pool.scope_fifo(|s| {
        for task_id in task_ids {
            s.spawn_fifo(move |_| {
                // Read the name first, as the Python task does.
                let name = current_name();
                thread::sleep(delay);
                sink.note(format!("thread {name} runs task {task_id}"));
            });
        }
    });
}

fn show_step_11() {
    step_11(
        &Arc::new(Sink::stdout()),
        3,
        &STEP_11_TASK_IDS,
        Duration::from_secs(1),
    );
}

thread_local! {
    /// The id the initializer gave this worker.
    static WORKER_ID: Cell<&'static str> = const { Cell::new("none") };
    /// How many tasks this worker has processed.
    static PROCESSED: Cell<u32> = const { Cell::new(0) };
}

/// Step 12 — ten workers each take the next id from a list in their
/// initializer and keep it in thread-local storage; ten short tasks report
/// their start and end as they happen.
///
/// Python pulls the ids from one generator shared by all initializers;
/// calling `next` on a generator from two threads at once can raise
/// "generator already executing". Rayon hands each worker its index, so no
/// shared iterator is needed. Python starts a worker per submitted task, so
/// its lines pair up ("initializing", then that worker's task); rayon starts
/// all ten up front, and they race.
fn step_12(sink: &Arc<Sink>, delay: Duration) {
    let init_sink = Arc::clone(sink);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(10)
        .start_handler(move |index| {
            let id = STEP_12_WORKER_IDS[index];
            WORKER_ID.set(id);
            init_sink.note(format!("initializing worker {id}"));
        })
        .build()
        .expect("a 10-thread pool should build");
    // Python's `with t.Lock():` makes a brand-new lock on every call, so it
    // protects nothing. The sink prints whole lines, one at a time.
    pool.scope_fifo(|s| {
        for task in 0..10 {
            s.spawn_fifo(move |_| {
                let worker = WORKER_ID.get();
                sink.note(format!("task {task} started on {worker}"));
                thread::sleep(delay);
                sink.note(format!("task {task} finished on {worker}"));
            });
        }
    });
}

fn show_step_12() {
    step_12(&Arc::new(Sink::stdout()), Duration::from_millis(100));
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
                .expect("main should keep the receiver");
        })
        .build()
        .expect("a 10-thread pool should build");
    pool.scope_fifo(|s| {
        for _ in numbers.iter().filter(|&&n| n % 2 == 0) {
            s.spawn_fifo(move |_| {
                thread::sleep(delay);
                PROCESSED.set(PROCESSED.get() + 1);
            });
        }
    });
    drop(pool);
    // Ends once every worker has exited and rayon has dropped the handler.
    rx.iter().filter(|&(_, count)| count > 0).collect()
}

fn show_step_13() {
    for (name, count) in step_13(&STEP_13_NUMBERS, Duration::from_millis(100)) {
        println!("{name} - numbers processed: {count}");
    }
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("step_11", "an initializer on three workers, ten tasks", show_step_11),
        Step::new("step_12", "worker ids from the initializer, in thread-local storage", show_step_12),
        Step::new("step_13", "thread-local counters reported per worker", show_step_13),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_11_initializes_three_workers_and_runs_every_task_once() {
        let sink = Arc::new(Sink::collect());
        let shared = Arc::clone(&sink);
        course_tests::deadline(Duration::from_secs(20), move || {
            step_11(&shared, 3, &STEP_11_TASK_IDS, Duration::from_millis(10));
        });
        let lines = sink.lines();
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
    fn step_11_starts_the_tasks_in_submission_order() {
        // One worker runs them one at a time, in its queue's order: first in,
        // first out, as Python's executor. With `scope`/`spawn` it would
        // start with CosmicSage99.
        let sink = Arc::new(Sink::collect());
        let shared = Arc::clone(&sink);
        course_tests::deadline(Duration::from_secs(20), move || {
            step_11(&shared, 1, &STEP_11_TASK_IDS, Duration::ZERO);
        });
        let ran: Vec<String> = sink
            .lines()
            .iter()
            .filter_map(|l| l.strip_prefix("thread worker_0 runs task "))
            .map(str::to_owned)
            .collect();
        assert_eq!(ran, STEP_11_TASK_IDS);
    }

    #[test]
    fn step_12_runs_every_task_after_its_workers_initializer() {
        let sink = Arc::new(Sink::collect());
        let shared = Arc::clone(&sink);
        course_tests::deadline(Duration::from_secs(20), move || {
            step_12(&shared, Duration::from_millis(5));
        });
        let lines = sink.lines();
        let mut ids: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("initializing worker "))
            .collect();
        ids.sort_unstable();
        let mut expected = STEP_12_WORKER_IDS;
        expected.sort_unstable();
        assert_eq!(ids, expected);
        let at = |prefix: &str| lines.iter().position(|l| l.starts_with(prefix));
        for task in 0..10 {
            let (Some(start), Some(end)) = (
                at(&format!("task {task} started on ")),
                at(&format!("task {task} finished on ")),
            ) else {
                panic!("task {task} missing in {lines:?}");
            };
            assert!(start < end);
            let worker = lines[start].rsplit(' ').next().expect("a worker id");
            assert!(lines[end].ends_with(worker), "{}", lines[end]);
            // The worker's initializer ran (and was reported) before its tasks.
            let init = at(&format!("initializing worker {worker}"));
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
