//! Lesson 2.2 — Creating a thread pool («Создание пула потоков»)
//!
//! The parameters a pool is built with — size, thread names, per-worker setup
//! and teardown, stack size — and their defaults, in rayon and in the
//! `futures` crate's pool, next to Python's `ThreadPoolExecutor` arguments.
//!
//! | Python                                  | rayon `ThreadPoolBuilder`          | `futures::executor::ThreadPoolBuilder` |
//! |-----------------------------------------|------------------------------------|----------------------------------------|
//! | `ThreadPoolExecutor(max_workers=3)`     | `.num_threads(3)`                  | `.pool_size(3)`                        |
//! | default `min(32, (os.cpu_count() or 1) + 4)` (3.8–3.12; 3.13+: `os.process_cpu_count()`) | `RAYON_NUM_THREADS`, else `available_parallelism()` | `available_parallelism()` |
//! | `thread_name_prefix="worker"`           | `.thread_name(\|i\| format!(…))`     | `.name_prefix("worker-")`              |
//! | `initializer=f, initargs=(…)`           | `.start_handler(\|i\| …)`            | `.after_start(\|i\| …)`                 |
//! | (no counterpart)                        | `.exit_handler(\|i\| …)`             | `.before_stop(\|i\| …)`                 |
//! | `threading.stack_size(n)` (global)      | `.stack_size(n)` (this pool only)  | `.stack_size(n)`                       |
//! | `executor.submit(worker, texts=…, thread_num=…)` | `s.spawn_fifo(move \|_\| worker(…))` in `pool.scope_fifo` | `pool.spawn_ok(async move { … })` |
//!
//! - Run all steps: `cargo run -p module_02 --bin lesson_02`
//! - Run one step:  `cargo run -p module_02 --bin lesson_02 -- step_08`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try:
//! - In `show_step_08`, give the pool 1 worker: the nine lines come out
//!   always in the order Python prints them: task 1's three, then 2's, then 3's.
//! - Then change `scope_fifo`/`spawn_fifo` in `step_08` to `scope`/`spawn`:
//!   the single worker now takes the newest task first, task 3 before 1.
//! - Set `RAYON_NUM_THREADS=5` and run `-- builder_parameters`: the default
//!   rayon pool has 5 threads; Python's default ignores that variable.

use std::process::ExitCode;
use std::thread;

use futures::executor::ThreadPool;
use step_runner::{Sink, Step, lesson_id};

const TITLE: &str = "Lesson 2.2 — Creating a thread pool («Создание пула потоков»)";

const STEP_08_LISTS: [[&str; 3]; 3] = [
    ["kw63vdxI", "YmSsWblC", "5OJ3Mto9"],
    ["7GBrUY6t", "bfQjS3gj", "MhTsKf0X"],
    ["mt05f80F", "haHHiXoX", "v2cYPhRO"],
];

/// Step 08 — three workers, each walks its own list and reports every text
/// it takes, tagged with its task number (1, 2, 3), as it takes it.
///
/// The lines of one task keep their order; with more than one worker the
/// tasks interleave freely.
fn step_08(sink: &Sink, workers: usize, lists: &[[&str; 3]]) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .expect("the pool should build");
    // The scope waits for its tasks, as leaving Python's `with` block does.
    // `_fifo`: the tasks start in the order they were submitted, as from
    // Python's queue; plain `scope`/`spawn` would start task 3 first (see
    // lesson 2.1).
    pool.scope_fifo(|s| {
        for (thread_num, texts) in (1..).zip(lists) {
            s.spawn_fifo(move |_| {
                for text in texts {
                    sink.note(format!(
                        "task {thread_num} took a text from its list: {text}"
                    ));
                }
            });
        }
    });
}

fn show_step_08() {
    step_08(&Sink::stdout(), 3, &STEP_08_LISTS);
}

/// What each builder produces when given nothing but defaults, and with
/// every parameter set. Returns printable lines.
fn builder_parameters() -> Vec<String> {
    // `available_parallelism` counts the CPUs this process may use (affinity
    // mask, and on Linux a cgroup CPU quota). Python's default starts from
    // `os.cpu_count()` (all of the machine's CPUs) before 3.13 and from
    // `os.process_cpu_count()` (the affinity mask, no quota) since, so its
    // number can differ from this one.
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let mut lines = vec![
        format!("CPUs this process may use (available_parallelism): {cores}"),
        format!(
            "Python's default max_workers, if it counts {cores} CPUs: {}",
            (cores + 4).min(32)
        ),
    ];

    let default_rayon = rayon::ThreadPoolBuilder::new()
        .build()
        .expect("the default rayon pool should build");
    lines.push(format!(
        "rayon default pool: {} threads",
        default_rayon.current_num_threads()
    ));
    // An unnamed rayon worker has no name, just like any `thread::spawn`ed
    // thread; Python would call it `ThreadPoolExecutor-0_0`.
    let name = default_rayon.install(|| thread::current().name().map(str::to_owned));
    lines.push(format!("rayon default worker name: {name:?}"));

    let (tx, rx) = crossbeam_channel::unbounded();
    let start_tx = tx.clone();
    let configured = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .thread_name(|index| format!("worker_{index}"))
        .stack_size(256 * 1024)
        .start_handler(move |index| {
            start_tx
                .send(format!("worker {index} started (start handler)"))
                .expect("main should keep the receiver");
        })
        .exit_handler(move |index| {
            tx.send(format!("worker {index} stopped (exit handler)"))
                .expect("main should keep the receiver");
        })
        .build()
        .expect("the configured rayon pool should build");
    let name = configured.install(|| thread::current().name().map(str::to_owned));
    lines.push(format!(
        "configured rayon pool: {} threads, a worker is named {name:?}",
        configured.current_num_threads()
    ));
    // The handlers hold the senders; they are dropped with the pool's
    // internals once every worker has exited, which ends this loop.
    drop(configured);
    let mut events: Vec<String> = rx.iter().collect();
    events.sort();
    lines.extend(events);

    let futures_pool = ThreadPool::builder()
        .pool_size(2)
        .name_prefix("fut-worker-")
        .create()
        .expect("the futures pool should start");
    let (name_tx, name_rx) = crossbeam_channel::bounded(1);
    futures_pool.spawn_ok(async move {
        let name = thread::current().name().map(str::to_owned);
        name_tx.send(name).expect("main should keep the receiver");
    });
    let name = name_rx
        .recv()
        .expect("the task should send its thread's name");
    lines.push(format!("futures pool of 2: a worker is named {name:?}"));
    lines
}

fn show_builder_parameters() {
    for line in builder_parameters() {
        println!("{line}");
    }
}

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("step_08", "three workers, three lists", show_step_08),
        Step::new("builder_parameters", "pool parameters and their defaults", show_builder_parameters),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_08_reports_every_text_once_in_list_order() {
        let sink = Sink::collect();
        step_08(&sink, 3, &STEP_08_LISTS);
        let reports = sink.lines();
        assert_eq!(reports.len(), 9);
        for (thread_num, list) in (1..).zip(&STEP_08_LISTS) {
            let prefix = format!("task {thread_num} took a text from its list: ");
            let seen: Vec<&str> = reports
                .iter()
                .filter_map(|line| line.strip_prefix(&prefix))
                .collect();
            assert_eq!(seen, list, "task {thread_num}");
        }
    }

    #[test]
    fn one_worker_takes_the_tasks_first_in_first_out() {
        // As Python's executor: task 1's lines, then 2's, then 3's. With
        // `scope`/`spawn` the one worker would start with task 3.
        let sink = Sink::collect();
        step_08(&sink, 1, &STEP_08_LISTS);
        let tasks: Vec<char> = sink
            .lines()
            .iter()
            .filter_map(|l| l.chars().nth(5))
            .collect();
        assert_eq!(tasks, ['1', '1', '1', '2', '2', '2', '3', '3', '3']);
    }

    #[test]
    fn the_builders_apply_their_parameters() {
        let lines = builder_parameters();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("3 threads, a worker is named Some(\"worker_"))
        );
        assert!(lines.iter().any(|l| l.contains("Some(\"fut-worker-")));
        for index in 0..3 {
            assert!(lines.contains(&format!("worker {index} started (start handler)")));
            assert!(lines.contains(&format!("worker {index} stopped (exit handler)")));
        }
    }
}
