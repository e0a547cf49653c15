//! Lesson 4.2 — FIFO queue («Queue»)
//!
//! First in, first out: a channel hands items to consumers in the order they
//! were sent. A bounded channel makes a fast producer wait for a slow
//! consumer; waiting "until all work is processed" is a join of the
//! consumers once the senders are dropped, or a `WaitGroup` when the
//! consumers must stay alive.
//!
//! | Python                               | Rust                                                    |
//! |--------------------------------------|---------------------------------------------------------|
//! | `queue.Queue()` (unbounded)          | `mpsc::channel()` / `crossbeam_channel::unbounded()`    |
//! | `queue.Queue(maxsize=n)`             | `crossbeam_channel::bounded(n)` / `mpsc::sync_channel(n)` |
//! | `q.put(item)` (blocks when full)     | `tx.send(item)`                                         |
//! | `q.get()` (blocks when empty)        | `rx.recv()` / `for item in rx`                          |
//! | `q.qsize()`                          | `tx.len()` / `rx.len()` (crossbeam)                     |
//! | `q.task_done()` + `q.join()`         | drop every `Sender`, then `join()` the consumers        |
//! | the same, consumers kept running     | a `WaitGroup` clone per item, dropped when it is done; `wg.wait()` |
//! | `Thread(daemon=True)` consumers      | not needed: consumers end when the channel closes       |
//! | `os.listdir` + `open().readlines()`  | `fs::read_dir` + `fs::read_to_string` + `str::lines`    |
//! | `len(line.split())`                  | `line.split_whitespace().count()`                       |
//!
//! - Run all steps: `cargo run -p module_04 --bin lesson_02`
//! - Run one step:  `cargo run -p module_04 --bin lesson_02 -- step_06`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `show_bounded_blocks_the_producer`, change `capacity` from 2
//! to 0 and run `-- bounded_blocks_the_producer`: a zero-capacity channel
//! hands each item over directly (a rendezvous), so every length is 0.
//! Python's `Queue(maxsize=0)` means the opposite: unbounded.

use std::fs;
use std::io;
use std::ops::Add;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{bounded, unbounded};
use crossbeam_utils::sync::WaitGroup;
use step_runner::{Sink, Step, lesson_id};

/// The course's items for step 06 (the last one really is listed twice).
const APPLIANCES: [&str; 10] = [
    "TV",
    "fridge",
    "microwave",
    "iron",
    "kettle",
    "vacuum cleaner",
    "washing machine",
    "coffee maker",
    "hair dryer",
    "iron",
];

/// A bounded queue makes the producer wait: `items` go through a queue of
/// `capacity` to a consumer that needs `work` per item. Returns the queue
/// length seen right after each `send`, which never exceeds the capacity.
fn bounded_blocks_the_producer(
    capacity: usize,
    items: u32,
    work: Duration,
    sink: &Sink,
) -> (Vec<usize>, Vec<u32>) {
    // `Queue(maxsize=capacity)`. With an unbounded queue the producer would
    // run ahead and the queue (memory) would grow without limit.
    let (tx, rx) = bounded(capacity);
    thread::scope(|s| {
        let producer = s.spawn(move || {
            let mut lengths = Vec::new();
            for item in 1..=items {
                // Blocks while the queue holds `capacity` items.
                tx.send(item).expect("the consumer is alive");
                let length = tx.len();
                sink.note(format!("put {item}, queue length {length}"));
                lengths.push(length);
            }
            lengths
        });
        let consumer = s.spawn(move || {
            rx.iter()
                .inspect(|item| {
                    thread::sleep(work);
                    sink.note(format!("    processed {item}"));
                })
                .collect()
        });
        (producer.join().unwrap(), consumer.join().unwrap())
    })
}

/// Step 06 — a producer puts the items into a queue every `put_pause`; a
/// consumer takes one every `work`; the program waits until every item is
/// processed. Returns the items in the order they were processed.
fn step_06(
    items: &[&'static str],
    put_pause: Duration,
    work: Duration,
    sink: &Sink,
) -> Vec<&'static str> {
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        let producer = s.spawn(move || {
            for &item in items {
                tx.send(item).expect("the consumer is alive");
                sink.note(format!("added: {item}"));
                thread::sleep(put_pause);
            }
            sink.note("all items added");
            // Dropping `tx` here closes the queue: this is what lets the
            // consumer finish, where Python's daemon consumer loops forever
            // and the program relies on `queue.join()` instead.
        });
        let consumer = s.spawn(move || {
            let mut processed = Vec::new();
            for item in rx {
                thread::sleep(work);
                sink.note(format!("    taken: {item}"));
                processed.push(item);
            }
            processed
        });
        // `producer_thread.join()`.
        producer.join().unwrap();
        // `queue.join()`: the consumer returns only after the last item,
        // which is exactly "every put item was processed".
        let processed = consumer.join().unwrap();
        sink.note("every item of the queue was processed");
        processed
    })
}

/// `task_done()`/`join()` for consumers that stay alive: each batch of jobs
/// is sent with a clone of that batch's `WaitGroup`; a worker drops the clone
/// when the job is done, and `wait()` returns when all clones are gone.
/// Returns, for each batch, how many jobs were finished when its `wait()`
/// returned.
fn wait_for_batches(batches: &[u32], workers: usize, work: Duration, sink: &Sink) -> Vec<usize> {
    let (tx, rx) = unbounded::<(u32, WaitGroup)>();
    let finished = AtomicUsize::new(0);
    thread::scope(|s| {
        for id in 1..=workers {
            let rx = rx.clone();
            let finished = &finished;
            s.spawn(move || {
                for (job, done) in rx {
                    thread::sleep(work);
                    finished.fetch_add(1, Ordering::Relaxed);
                    sink.note(format!("    worker {id}: job {job} done"));
                    // `task_done()`. Unlike Python's, it cannot be forgotten
                    // or called twice: the clone is dropped exactly once,
                    // even if the job panics.
                    drop(done);
                }
            });
        }
        // Only the workers hold receivers now. If they all die, the channel
        // drops the jobs still queued, and with them their `WaitGroup`
        // clones (crossbeam-channel 0.5.17 discards the queue when the last
        // receiver goes, `flavors/list.rs`), so `wait` below returns instead
        // of waiting for jobs nobody will do; the next `send` then fails.
        // A receiver kept here would keep those jobs, and `wait`, forever.
        drop(rx);

        let mut finished_at_wait = Vec::new();
        let mut next_job = 1;
        for (batch, &size) in batches.iter().enumerate() {
            let batch_done = WaitGroup::new();
            for _ in 0..size {
                tx.send((next_job, batch_done.clone()))
                    .expect("the workers are alive");
                next_job += 1;
            }
            // `q.join()`. Each worker drops its clone after its increment,
            // and the drop decrements the WaitGroup's count with `Release`;
            // `wait` returns only after reading that count as 0 with
            // `Acquire` (crossbeam-utils 0.8.23, `sync/wait_group.rs`). So
            // every worker's increment happens before this load, and
            // `Relaxed` is enough for the counter itself.
            batch_done.wait();
            let now = finished.load(Ordering::Relaxed);
            sink.note(format!(
                "batch {} of {size} jobs done, {now} jobs so far",
                batch + 1
            ));
            finished_at_wait.push(now);
        }
        // The workers were idle, waiting on the open channel, between the
        // batches; closing it lets them end before the scope joins them.
        drop(tx);
        finished_at_wait
    })
}

/// Lines and words, counted like Python's `len(file.readlines())` and
/// `len(line.split())`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    files: usize,
    lines: usize,
    words: usize,
}

impl Counts {
    fn of_text(text: &str) -> Self {
        Self {
            files: 1,
            lines: text.lines().count(),
            words: text.split_whitespace().count(),
        }
    }
}

impl Add for Counts {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self {
            files: self.files + other.files,
            lines: self.lines + other.lines,
            words: self.words + other.words,
        }
    }
}

const WORDS: [&str; 12] = [
    "queue", "thread", "producer", "consumer", "item", "lock", "put", "get", "task", "done",
    "wait", "join",
];

/// Writes `files` text files into `dir` for step 07 (the course reads a
/// folder of its own that is not published): file `k` has `10 * k` lines,
/// line `j` has `j % 8` words, so some lines are empty.
fn generate_text_files(dir: &Path, files: usize) -> io::Result<Vec<PathBuf>> {
    (1..=files)
        .map(|k| {
            let text: String = (0..10 * k)
                .map(|j| {
                    let line: Vec<&str> = (0..j % 8)
                        .map(|w| WORDS[(j + w + k) % WORDS.len()])
                        .collect();
                    line.join(" ") + "\n"
                })
                .collect();
            let path = dir.join(format!("part_{k:02}.txt"));
            fs::write(&path, text)?;
            Ok(path)
        })
        .collect()
}

/// The files of `dir`, like `os.listdir`.
fn files_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            paths.push(entry.path());
        }
    }
    Ok(paths)
}

/// Step 07 — a producer thread reads every file of `dir` into the queue;
/// `workers` consumer threads count the lines and words. Returns the totals,
/// or the first error reading the files.
fn step_07(dir: &Path, workers: usize) -> io::Result<Counts> {
    // With no worker, nobody would ever receive and the producer would wait
    // forever on the first file.
    assert!(workers > 0, "step 07 needs at least one worker");
    let paths = files_in(dir)?;
    // Bounded: the producer reads at most a few files ahead of the workers,
    // so a big folder never sits in memory all at once.
    let (tx, rx) = bounded::<String>(workers);
    thread::scope(|s| {
        let producer = s.spawn(move || -> io::Result<()> {
            for path in &paths {
                // `?` ends the producer at the first unreadable file; dropping
                // `tx` on the way out still closes the queue, so the workers
                // finish instead of waiting forever.
                let text = fs::read_to_string(path)?;
                tx.send(text).expect("the workers are alive");
            }
            Ok(())
        });
        // Each worker sums into its own `Counts` and returns it: no shared
        // total, so no lock. Python's one consumer adds to shared fields,
        // which would need a lock with two consumer threads.
        let workers: Vec<_> = (0..workers)
            .map(|_| {
                let rx = rx.clone();
                s.spawn(move || {
                    rx.iter()
                        .map(|text| Counts::of_text(&text))
                        .fold(Counts::default(), Add::add)
                })
            })
            .collect();
        let totals = workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .fold(Counts::default(), Add::add);
        producer.join().unwrap()?;
        Ok(totals)
    })
}

/// The same count on one thread, to check step 07 against.
fn count_sequentially(dir: &Path) -> io::Result<Counts> {
    let mut total = Counts::default();
    for path in files_in(dir)? {
        total = total + Counts::of_text(&fs::read_to_string(path)?);
    }
    Ok(total)
}

/// Step 07 with its generated files in a temporary folder, removed when
/// `dir` is dropped.
fn run_step_07() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let files = generate_text_files(dir.path(), 6)?;
    println!(
        "generated {} files in {}",
        files.len(),
        dir.path().display()
    );
    let totals = step_07(dir.path(), 3)?;
    println!("files read: {}", totals.files);
    println!("total lines: {}", totals.lines);
    println!("total words: {}", totals.words);
    let check = count_sequentially(dir.path())?;
    println!("sequential count agrees: {}", check == totals);
    Ok(())
}

fn show_bounded_blocks_the_producer() {
    let (capacity, work) = (2, Duration::from_millis(200));
    let (lengths, processed) = bounded_blocks_the_producer(capacity, 6, work, &Sink::stdout());
    println!("queue lengths after each put: {lengths:?} (capacity {capacity})");
    println!("processed in order: {processed:?}");
}

/// The course's pacing: a put every 0.5 s, a take every second.
fn show_step_06() {
    let (put_pause, work) = (Duration::from_millis(500), Duration::from_secs(1));
    let processed = step_06(&APPLIANCES, put_pause, work, &Sink::stdout());
    println!("processed in order: {processed:?}");
}

fn show_wait_for_batches() {
    let finished = wait_for_batches(&[4, 2, 3], 2, Duration::from_millis(100), &Sink::stdout());
    println!("jobs finished when each batch's wait returned: {finished:?}");
}

fn show_step_07() {
    if let Err(error) = run_step_07() {
        eprintln!("step_07 failed: {error}");
        std::process::exit(1);
    }
}

const TITLE: &str = "Lesson 4.2 — FIFO queue («Queue»)";

#[rustfmt::skip] // one step a line: the table of contents of the lesson
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::new("bounded_blocks_the_producer", "a full bounded queue makes the producer wait", show_bounded_blocks_the_producer),
        Step::new("step_06", "put every 0.5 s, take every 1 s, wait for all", show_step_06),
        Step::new("wait_for_batches", "task_done/join with a WaitGroup, workers kept alive", show_wait_for_batches),
        Step::new("step_07", "count lines and words of text files with worker threads", show_step_07),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;

    const LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn the_bounded_queue_never_holds_more_than_its_capacity() {
        let (lengths, processed) = deadline(LIMIT, || {
            bounded_blocks_the_producer(2, 30, Duration::from_millis(1), &Sink::collect())
        });
        assert_eq!(lengths.len(), 30);
        assert!(lengths.iter().all(|&n| n <= 2), "{lengths:?}");
        assert_eq!(processed, (1..=30).collect::<Vec<_>>());
    }

    #[test]
    fn step_06_processes_every_item_once_in_fifo_order() {
        let (processed, lines) = deadline(LIMIT, || {
            let sink = Sink::collect();
            let processed = step_06(
                &APPLIANCES,
                Duration::from_millis(1),
                Duration::from_millis(2),
                &sink,
            );
            (processed, sink.lines())
        });
        assert_eq!(processed, APPLIANCES);
        // The two threads' lines interleave; each thread's keep its order,
        // and the last line waits for both threads.
        let added: Vec<String> = APPLIANCES.iter().map(|i| format!("added: {i}")).collect();
        let taken: Vec<String> = APPLIANCES
            .iter()
            .map(|i| format!("    taken: {i}"))
            .collect();
        let of = |prefix: &str| -> Vec<String> {
            lines
                .iter()
                .filter(|l| l.starts_with(prefix))
                .cloned()
                .collect()
        };
        assert_eq!(of("added"), added);
        assert_eq!(of("    taken"), taken);
        assert_eq!(
            lines.last().map(String::as_str),
            Some("every item of the queue was processed")
        );
    }

    #[test]
    fn wait_returns_only_when_the_whole_batch_is_done() {
        let finished = deadline(LIMIT, || {
            wait_for_batches(&[5, 1, 7, 3], 3, Duration::from_millis(2), &Sink::collect())
        });
        // Exactly the jobs sent so far: not one fewer (wait returned too
        // early), not one more (jobs of the next batch are not sent yet).
        assert_eq!(finished, [5, 6, 13, 16]);
    }

    #[test]
    fn dead_workers_do_not_leave_the_wait_hanging() {
        // The reader has gone before the first line: each worker dies on
        // its first job, as it would printing to a closed stdout (no other
        // thread can print first: the batch line waits for the batch's
        // jobs). With a receiver kept by the main thread, the queued jobs
        // and their `WaitGroup` clones stayed, and `wait` never returned.
        let outcome = std::panic::catch_unwind(|| {
            deadline(LIMIT, || {
                wait_for_batches(&[4, 2, 3], 2, Duration::ZERO, &Sink::closing_after(0))
            })
        });
        let payload = outcome.expect_err("the dead workers' panics come through");
        let message = course_tests::panic_text(&*payload);
        assert!(!message.contains("deadline"), "it hung: {message}");
    }

    #[test]
    fn step_07_matches_the_sequential_count() {
        let dir = tempfile::tempdir().unwrap();
        generate_text_files(dir.path(), 6).unwrap();
        let expected = count_sequentially(dir.path()).unwrap();
        // 10 + 20 + … + 60 lines; line j has j % 8 words.
        let lines: usize = (1..=6).map(|k| 10 * k).sum();
        let words: usize = (1..=6).flat_map(|k| 0..10 * k).map(|j| j % 8).sum();
        assert_eq!(
            expected,
            Counts {
                files: 6,
                lines,
                words
            }
        );
        for workers in [1, 3, 8] {
            let path = dir.path().to_owned();
            let totals = deadline(LIMIT, move || step_07(&path, workers).unwrap());
            assert_eq!(totals, expected, "{workers} workers");
        }
    }

    #[test]
    fn step_07_reports_an_unreadable_file_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        generate_text_files(dir.path(), 4).unwrap();
        // Not UTF-8: `read_to_string` fails on it.
        fs::write(dir.path().join("binary.txt"), [0xff, 0xfe, 0x00]).unwrap();
        let path = dir.path().to_owned();
        let result = deadline(LIMIT, move || step_07(&path, 2));
        let error = result.expect_err("the unreadable file is an error");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn counting_follows_python_split_and_readlines() {
        let counts = Counts::of_text("one two  three\n\n\tfour\nfive");
        assert_eq!((counts.lines, counts.words), (4, 5));
    }
}
