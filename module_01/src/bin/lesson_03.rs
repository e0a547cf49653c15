//! Lesson 1.3 — What threads are («Что такое потоки»)
//!
//! Start a thread, give it data, get its result back. Python threads hand
//! results back through globals; a Rust thread *returns* its result through
//! its `JoinHandle`, and borrows local data safely inside `thread::scope`.
//!
//! | Python                                   | Rust                                          |
//! |------------------------------------------|-----------------------------------------------|
//! | `threading.Thread(target=f, args=(x,))`  | `thread::spawn(move \|\| f(x))`                 |
//! | `t.start()`                              | (a Rust thread starts when it is spawned)     |
//! | `t.join()`                               | `handle.join()` → `Result<T, panic payload>`  |
//! | `global total` written by the thread     | the closure's return value, from `join()`     |
//! | passing a list the thread sorts in place | `thread::scope` + `&mut` borrows              |
//!
//! - Run all steps: `cargo run -p module_01 --bin lesson_03`
//! - Run one step:  `cargo run -p module_01 --bin lesson_03 -- step_06`
//!
//! Try: in `step_09`, give two threads the same array (`descending` twice)
//! and read the compiler's error (E0499; `module_01/src/lib.rs` keeps it as
//! a `compile_fail` doctest). Then make one thread `panic!` and run
//! `-- step_09`: which message does the scope end with? In `thread_ids`,
//! delete the main thread's `sleep` and run `-- thread_ids`: the step still
//! takes a second, because `join` now does the waiting.

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use step_runner::{Sink, Step, lesson_id};

/// Lecture demo (1.3, first) — a second thread counts from 1 to 5.
///
/// The thread reports through `sink` as it counts: printed at once when the
/// lesson runs, collected when a test runs the step. `thread::scope` lets
/// the thread borrow the sink; the scope waits for the thread at its end.
/// Python's demo only calls `start()`: the interpreter then waits for the
/// thread at exit. A Rust program does not wait (lesson 1.4), so a thread
/// whose output matters is always joined, here by the scope.
fn count_to_five(sink: &Sink) {
    thread::scope(|s| {
        s.spawn(|| {
            sink.note("the thread starts");
            for n in 1..=5 {
                sink.note(n);
            }
            sink.note("the thread ends");
        });
    });
}

fn show_count_to_five() {
    count_to_five(&Sink::stdout());
}

/// Lecture demo (1.3, second) — a thread counts down from 5, one number a
/// `tick` (the course's 1 s); the main thread joins it and then carries on.
fn countdown(tick: Duration, sink: &Sink) {
    sink.note("main: the countdown starts");
    thread::scope(|s| {
        let counter = s.spawn(|| {
            for n in (1..=5).rev() {
                sink.note(n);
                thread::sleep(tick);
            }
        });
        // `join` returns `Err` only when the thread panicked, and `unwrap`
        // then passes that panic on to this thread. The module writes
        // `join().unwrap()` and `lock().unwrap()` (a lock's `Err` likewise
        // only reports another thread's panic) for that reason throughout,
        // and `expect("… should …")` where the reason is less obvious.
        counter.join().unwrap();
        sink.note("main: the countdown is over, the main thread carries on");
    });
}

fn show_countdown() {
    countdown(Duration::from_secs(1), &Sink::stdout_timed());
}

/// Lecture demo (1.3, third) — the main thread and a second thread each
/// sleep for `pause` (the course's 1 s) at the same time, so the whole run
/// takes about one `pause`, not two. Each reports its own thread id.
///
/// Python's `ident` is an integer the OS may reuse once the thread ends; a
/// Rust `ThreadId` is never reused while the process runs (std's `ThreadId`
/// docs); the main thread's id printed as `ThreadId(1)` in our runs.
fn thread_ids(pause: Duration, sink: &Sink) -> Duration {
    let started = Instant::now();
    sink.note(format!("main thread id: {:?}", thread::current().id()));
    thread::scope(|s| {
        sink.note("main: starting a new thread");
        let task = s.spawn(|| {
            let id = thread::current().id();
            thread::sleep(pause);
            sink.note(format!("a message from the task in thread {id:?}"));
        });
        sink.note("main: waiting for the new thread to finish");
        thread::sleep(pause);
        task.join().unwrap();
        sink.note("main: the new thread has finished");
    });
    started.elapsed()
}

fn show_thread_ids() {
    let took = thread_ids(Duration::from_secs(1), &Sink::stdout());
    println!("the run took {:.4} s", took.as_secs_f64());
}

/// The course's numbers for step 06.
const STEP_06_NUMBERS: [u64; 6] = [123456, 7890123, 987654, 114455, 995423, 1000000];

/// The course's numbers for step 08.
const STEP_08_NUMBERS: [u64; 34] = [
    456, 467, 961, 561, 512, 740, 6412, 464, 444, 102, 456, 347, 905, 854, 901, 326, 267, 236, 790,
    235, 745, 769, 467, 734, 745, 895, 445, 312, 123, 451, 523, 567, 344, 234,
];

/// Step 06 — sum an array in a second thread and print the sum in `main`.
///
/// `spawn` needs a `'static` closure: it may outlive this function, so it
/// cannot borrow `numbers`. `move` gives the thread its own copy (an array
/// of `u64` is `Copy`; a `Vec` would be moved in).
fn step_06(numbers: [u64; 6]) -> u64 {
    let handle = thread::spawn(move || numbers.iter().sum::<u64>());
    // Summing six numbers that fit in a u64 cannot panic.
    handle.join().unwrap()
}

fn show_step_06() {
    println!("sum: {}", step_06(STEP_06_NUMBERS));
}

/// Step 07 — in two threads: the sum of 1..=1000 and the product of 1..=10.
fn step_07() -> (u64, u64) {
    let sum = thread::spawn(|| (1..=1000u64).sum::<u64>());
    let product = thread::spawn(|| (1..=10u64).product::<u64>());
    // Both threads run at the same time; joining in either order is fine.
    (sum.join().unwrap(), product.join().unwrap())
}

fn show_step_07() {
    let (sum, product) = step_07();
    println!("sum of the numbers 1 to 1000: {sum}");
    println!("product of the numbers 1 to 10: {product}");
}

/// Step 08 — sum the even and the odd numbers of one array in two threads.
///
/// Both threads only *read* `numbers`, so both may borrow it at once.
/// `thread::scope` guarantees the threads end before the scope does, which
/// is what makes borrowing local data from a thread legal.
fn step_08(numbers: &[u64]) -> (u64, u64) {
    thread::scope(|s| {
        let even = s.spawn(|| numbers.iter().filter(|&&n| n % 2 == 0).sum::<u64>());
        let odd = s.spawn(|| numbers.iter().filter(|&&n| n % 2 == 1).sum::<u64>());
        (even.join().unwrap(), odd.join().unwrap())
    })
}

fn show_step_08() {
    let (even, odd) = step_08(&STEP_08_NUMBERS);
    println!("sum of the even numbers: {even}");
    println!("sum of the odd numbers: {odd}");
}

/// Step 09 — sort three arrays in place in three threads: numbers
/// descending, numbers ascending, letters alphabetically.
///
/// Each thread gets a `&mut` borrow of a different array. The borrow checker
/// proves that no two threads touch the same data. In Python nothing checks
/// that: two threads sorting one list of ints happen not to collide only
/// because CPython's `list.sort` holds the GIL throughout; with a
/// Python-level `__lt__` other threads run mid-sort, and one that appends
/// to the list makes the sort raise `ValueError: list modified during sort`
/// (tried on 3.11).
fn step_09(descending: &mut [u32], ascending: &mut [u32], letters: &mut [char]) {
    thread::scope(|s| {
        s.spawn(|| descending.sort_unstable_by(|a, b| b.cmp(a)));
        s.spawn(|| ascending.sort_unstable());
        s.spawn(|| letters.sort_unstable());
        // Threads spawned in a scope are joined when the scope ends. If one
        // of them panicked and nobody joined its handle, `scope` then panics
        // with a new message, "a scoped thread panicked": the original
        // payload is gone (the default hook has printed it). To get it back,
        // keep the handle and `join()` it inside the scope, which returns
        // `Err(payload)` (std's `thread::scope` docs and source).
    });
}

fn show_step_09() {
    let (mut descending, mut ascending, mut letters) = step_09_data();
    step_09(&mut descending, &mut ascending, &mut letters);
    println!("numbers, descending: {descending:?}");
    println!("numbers, ascending: {ascending:?}");
    println!("letters, alphabetical: {letters:?}");
}

fn step_09_data() -> ([u32; 10], [u32; 10], [char; 15]) {
    (
        [733, 725, 606, 544, 526, 496, 448, 389, 345, 239],
        [124, 168, 350, 389, 419, 428, 501, 662, 760, 829],
        [
            'g', 'e', 'k', 'a', 'w', 'z', 'o', 'b', 'm', 'l', 'h', 'n', 'd', 's', 'q',
        ],
    )
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 1.3 — What threads are («Что такое потоки»)",
        &[
            Step::new(
                "count_to_five",
                "a thread counts 1 to 5",
                show_count_to_five,
            ),
            Step::new("countdown", "a countdown thread, joined", show_countdown),
            Step::new("thread_ids", "two threads sleep at once", show_thread_ids),
            Step::new("step_06", "sum an array in a thread", show_step_06),
            Step::new("step_07", "a sum and a product", show_step_07),
            Step::new("step_08", "even and odd sums", show_step_08),
            Step::new("step_09", "sort three arrays", show_step_09),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;

    const LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn count_to_five_reports_as_the_course_prints() {
        let sink = Sink::collect();
        count_to_five(&sink);
        let expected = [
            "the thread starts",
            "1",
            "2",
            "3",
            "4",
            "5",
            "the thread ends",
        ];
        assert_eq!(sink.lines(), expected);
    }

    #[test]
    fn countdown_ends_before_main_carries_on() {
        let lines = deadline(LIMIT, || {
            let sink = Sink::collect();
            countdown(Duration::from_millis(1), &sink);
            sink.lines()
        });
        assert_eq!(lines[1..6], ["5", "4", "3", "2", "1"]);
        assert!(lines[0].starts_with("main: the countdown starts"));
        assert!(lines[6].starts_with("main: the countdown is over"));
    }

    #[test]
    fn thread_ids_differ_and_the_sleeps_overlap() {
        let pause = Duration::from_millis(500);
        let (took, lines, main_id) = deadline(LIMIT, move || {
            let sink = Sink::collect();
            let took = thread_ids(pause, &sink);
            (took, sink.lines(), format!("{:?}", thread::current().id()))
        });
        // Two pauses one after the other would take 1 s at least: the bound
        // fails if the thread is joined before main sleeps, and leaves half
        // a second for a loaded machine.
        assert!(took >= pause && took < 2 * pause, "{took:?}");
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert!(lines[0].ends_with(&main_id), "{lines:?}");
        assert!(lines[3].starts_with("a message from the task"), "{lines:?}");
        assert!(!lines[3].ends_with(&main_id), "{lines:?}");
    }

    #[test]
    fn step_06_sums_the_course_numbers() {
        assert_eq!(step_06(STEP_06_NUMBERS), 11_111_111);
    }

    #[test]
    fn step_07_matches_the_closed_forms() {
        assert_eq!(step_07(), (1000 * 1001 / 2, 3_628_800));
    }

    #[test]
    fn step_08_splits_the_total() {
        let (even, odd) = step_08(&STEP_08_NUMBERS);
        assert_eq!(even + odd, STEP_08_NUMBERS.iter().sum::<u64>());
        assert_eq!((even, odd), (13_416, 10_374));
    }

    #[test]
    fn step_09_sorts_shuffled_arrays_each_its_own_way() {
        // The course's number arrays come already sorted, so a step that
        // left them alone would pass the test below; shuffled copies catch
        // that, and a sort in the wrong direction.
        use rand::seq::SliceRandom;
        let mut rng = rand::rng();
        let (sorted_desc, sorted_asc, _) = step_09_data();
        for _ in 0..20 {
            let (mut descending, mut ascending, mut letters) = step_09_data();
            descending.shuffle(&mut rng);
            ascending.shuffle(&mut rng);
            letters.shuffle(&mut rng);
            step_09(&mut descending, &mut ascending, &mut letters);
            assert_eq!(descending, sorted_desc);
            assert_eq!(ascending, sorted_asc);
            assert_eq!(letters.iter().collect::<String>(), "abdeghklmnoqswz");
        }
        // And the reverse of each expected order, which a shuffle may miss.
        let (mut descending, mut ascending, mut letters) = step_09_data();
        descending.reverse();
        ascending.reverse();
        letters.sort_unstable_by(|a, b| b.cmp(a));
        step_09(&mut descending, &mut ascending, &mut letters);
        assert_eq!(descending, sorted_desc);
        assert_eq!(ascending, sorted_asc);
        assert_eq!(letters.iter().collect::<String>(), "abdeghklmnoqswz");
    }

    #[test]
    fn step_09_sorts_each_array_its_own_way() {
        let (mut descending, mut ascending, mut letters) = step_09_data();
        step_09(&mut descending, &mut ascending, &mut letters);
        assert_eq!(
            descending,
            [733, 725, 606, 544, 526, 496, 448, 389, 345, 239]
        );
        assert_eq!(
            ascending,
            [124, 168, 350, 389, 419, 428, 501, 662, 760, 829]
        );
        assert_eq!(letters.iter().collect::<String>(), "abdeghklmnoqswz");
    }
}
