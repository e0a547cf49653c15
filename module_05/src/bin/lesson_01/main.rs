//! Lesson 5.1 — Mutual exclusion lock (Lock) («Блокировка взаимного исключения (Lock)»)
//!
//! A lock lets one thread at a time into a critical section. Python's lock
//! sits *beside* the data, and nothing stops code that forgets it; a Rust
//! `Mutex<T>` *owns* it, reached only through the guard `lock()` returns.
//!
//! | Python                                   | Rust                                                  |
//! |------------------------------------------|-------------------------------------------------------|
//! | `lock = threading.Lock()` + shared data  | `Mutex::new(data)`: the lock owns the data            |
//! | `with lock: ...`                         | `let guard = m.lock().unwrap();` (unlocks on drop)    |
//! | `lock.acquire()` / `lock.release()`      | `m.lock()` / `drop(guard)`                            |
//! | `lock.acquire(blocking=False)`           | `m.try_lock()` → `Err(TryLockError::WouldBlock)`      |
//! | `lock.acquire(timeout=t)`                | `parking_lot::Mutex::try_lock_for(t)`                 |
//! | `lock.locked()`                          | `parking_lot::Mutex::is_locked()` (std has none)      |
//! | `release()` from another thread          | a guard is `!Send` (Try); a one-token channel (5.5)   |
//! | exception inside `with lock:`            | panic while locked → the mutex is *poisoned*          |
//! | (no poisoning)                           | `parking_lot::Mutex`: no poisoning, no `unwrap`       |
//! | `open(path, "a")` under a `Lock`         | one loader thread owns the `File` (step 15)           |
//! | `json.dump(data, f, indent=4)`           | keys in order: written by hand, values via `serde_json` |
//! | `Queue` between producer and consumer    | `crossbeam_channel`: closes when the senders are gone |
//!
//! - Run all steps: `cargo run -p module_05 --bin lesson_01`
//! - Run one step:  `cargo run -p module_05 --bin lesson_01 -- step_16`
//!
//! Output order varies where threads race; the values do not. The cooks
//! print each event as it happens, timed in [`COURSE_SECOND`]s.
//!
//! Try:
//! - In `step_13`, delete the `let _oven = …` line and run
//!   `-- step_13_five_cooks`: all five "starts baking" lines come first, at
//!   0.0 s. With the course's one cook (`-- step_13`) nothing changes.
//! - Paste the `compile_fail` example of `module_05/src/lib.rs` (a guard
//!   released in another thread) into `main`: E0277, `MutexGuard` cannot be
//!   sent between threads safely.
//! - Run `-- step_16`: the two cooks who find every oven busy both wait for
//!   oven 1, and the kitchen ends after 10 s or more, ovens 2–5 free from 5 s.

use std::fs::{self, OpenOptions};
use std::io::{self, ErrorKind::InvalidData, Write};
use std::ops::DerefMut;
use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};
use std::{collections::HashMap, path::Path, thread, time::Duration};

use step_runner::{Sink, Step, lesson_id};

/// `threads` threads each add 1 to a counter `per_thread` times. The `u64`
/// lives *inside* the mutex: an unlocked increment does not compile. Python's
/// `counter += 1` is a load, an add and a store (`dis`): exact on CPython
/// 3.10+ by no guarantee (8 threads × 10⁶ on 3.11), not on older or
/// free-threaded (3.13t) builds, and `value = counter; time.sleep(0);
/// counter = value + 1` loses updates on any (8 × 1000 ended near 1000).
fn shared_counter(threads: u64, per_thread: u64) -> u64 {
    let counter = Mutex::new(0u64);
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    // The guard lives to the end of the statement. `unwrap` (so
                    // in all of module 5): poisoning only relays a panic.
                    *counter.lock().unwrap() += 1;
                }
            });
        }
    });
    counter.into_inner().unwrap()
}

fn show_shared_counter() {
    let counter = shared_counter(10, 100_000);
    println!("counter: {counter} (expected 1000000)");
}

/// The accident of the next two steps: a cook takes the lock (`lock`), half
/// updates the data and panics, guard in hand.
fn drop_the_tray<G: DerefMut<Target = Vec<&'static str>>>(lock: impl FnOnce() -> G + Send) {
    thread::scope(|s| {
        s.spawn(|| {
            let mut pizzas = lock();
            pizzas.push("half-baked Pepperoni");
            panic!("the cook dropped the tray");
        })
        .join()
        .expect_err("the cook panics on purpose");
    });
}

/// Python's `with lock:` releases the lock on an exception and lets others
/// see the half-done update. Rust releases it too but marks the mutex
/// *poisoned*: `lock()` returns `Err`, and the caller decides whether the
/// data can still be trusted. Returns the flag and the data.
fn poisoning() -> (bool, Vec<&'static str>) {
    let oven = Mutex::new(vec!["Margherita"]);
    drop_the_tray(|| oven.lock().unwrap());
    let poisoned = oven.is_poisoned();
    // The error carries the guard; clear the flag once the data is repaired.
    let pizzas = oven.lock().unwrap_or_else(PoisonError::into_inner).clone();
    oven.clear_poison();
    (poisoned, pizzas)
}

fn show_poisoning() {
    println!("(the panic message on stderr is part of the demo)");
    let (poisoned, pizzas) = poisoning();
    println!("poisoned: {poisoned}\nthe data, half updated: {pizzas:?}");
}

/// The same accident with `parking_lot::Mutex`: no poisoning. Returns
/// `is_locked` after the panic, while held and after release (a snapshot for
/// a log line, never for a decision: "free, so I lock it" races), the data,
/// and whether `try_lock_for` gave up on the held lock.
fn parking_lot_mutex() -> ([bool; 3], Vec<&'static str>, bool) {
    let oven = parking_lot::Mutex::new(vec!["Margherita"]);
    drop_the_tray(|| oven.lock());
    let after_panic = oven.is_locked();
    let held = oven.lock();
    let while_held = oven.is_locked();
    let timed_try = || oven.try_lock_for(Duration::from_millis(50)).is_none();
    let timed_out = thread::scope(|s| s.spawn(timed_try).join().unwrap());
    let pizzas = held.clone();
    drop(held);
    let locked = [after_panic, while_held, oven.is_locked()];
    (locked, pizzas, timed_out)
}

fn show_parking_lot_mutex() {
    println!("(the panic message on stderr is part of the demo)");
    let (locked, pizzas, timed_out) = parking_lot_mutex();
    println!("after the panic, lock() still works: {pizzas:?}");
    println!("try_lock_for(50 ms) on a held lock gave up: {timed_out}");
    println!("locked() after the panic, while held, after release: {locked:?}");
}

/// One of the course's seconds, as `main` plays it (the tests, faster).
const COURSE_SECOND: Duration = Duration::from_secs(1);

/// A cook, a dish and its baking time in course seconds.
type Order = (&'static str, &'static str, u32);

const ORDERS: [Order; 5] = [
    ("Alexey", "Margherita", 3),
    ("Marina", "Pepperoni", 2),
    ("Sergey", "Vegetarian", 4),
    ("Irina", "Four Cheese", 5),
    ("Nikolay", "Hawaiian", 3),
];

/// Step 13 — a producer queues the orders; `consumers` cooks bake them under
/// the oven's lock. The course has one cook, so its lock is never contended;
/// with five (`step_13_five_cooks`) the lock keeps them to one oven.
///
/// Python's consumer loops `while not queue.empty()`, right only because the
/// producer was joined first. Here the producer's end drops its `Sender`,
/// which closes the channel: `for … in &taken` ends on closed-and-empty.
fn step_13(orders: &[Order], consumers: usize, second: Duration, sink: &Sink) {
    let (queue, taken) = crossbeam_channel::unbounded();
    let oven = Mutex::new(());
    thread::scope(|s| {
        // The producer. `unwrap`: `taken` outlives it.
        s.spawn(move || orders.iter().for_each(|&order| queue.send(order).unwrap()));
        for _ in 0..consumers {
            s.spawn(|| {
                for (cook, pizza, bake_time) in &taken {
                    let _oven = oven.lock().unwrap(); // until the loop's `}`
                    sink.note(format!("{cook} starts baking {pizza}"));
                    thread::sleep(second * bake_time);
                    sink.note(format!("{cook} has baked {pizza}"));
                }
            });
        }
    });
    sink.note("All pizzas are baked.");
}

fn show_step_13() {
    step_13(&ORDERS, 1, COURSE_SECOND, &Sink::stdout_timed());
}

fn show_step_13_five_cooks() {
    step_13(&ORDERS, 5, COURSE_SECOND, &Sink::stdout_timed());
}

const DISHES: [Order; 7] = [
    ("Alexey", "Margherita", 3),
    ("Alexey", "Lasagna", 5),
    ("Alexey", "Shrimp pizza", 4),
    ("Alexey", "Mussels in cream", 4),
    ("Alexey", "Sicilian", 5),
    ("Marina", "Mexican", 3),
    ("Marina", "Vegetarian", 4),
];

/// Step 16 — a thread per dish: the cook tries the ovens with `try_lock` (a
/// busy one answers `Err(WouldBlock)` at once), bakes (`bake`) in the first
/// free one, else waits for oven 1, like the course: the last two cooks both
/// queue for oven 1 while ovens 2–5 fall free, 10 s or more where any free
/// oven would take 7 or 8 (lesson 5.5's token pool). Returns the ovens' dishes.
fn step_16<B>(dishes: &[Order], ovens: usize, bake: B, sink: &Sink) -> Vec<Vec<&'static str>>
where
    B: Fn(Order) + Sync,
{
    let ovens: Vec<Mutex<Vec<&str>>> = (0..ovens).map(|_| Mutex::default()).collect();
    thread::scope(|s| {
        for &dish in dishes {
            // `let x = &x;` before a `move` closure (here for `dish`): the
            // closure moves the reference, so all cooks share the ovens.
            let (ovens, bake) = (&ovens, &bake);
            s.spawn(move || {
                // A cook who panics drops the guard while unwinding: a cook
                // waiting for that oven wakes, finds it poisoned and panics
                // too (`unwrap`), so nobody waits forever.
                let free = ovens.iter().find_map(|oven| oven.try_lock().ok());
                let mut oven = free.unwrap_or_else(|| ovens[0].lock().unwrap());
                let (cook, name, time) = dish;
                sink.note(format!("{cook} starts {name}, baking time {time} s"));
                bake(dish);
                oven.push(name);
                sink.note(format!("{cook} has baked {name}, it took {time} s"));
            });
        }
    });
    ovens.into_iter().map(|o| o.into_inner().unwrap()).collect()
}

fn show_step_16() {
    let sleep = |(_, _, time): Order| thread::sleep(COURSE_SECOND * time);
    let per_oven = step_16(&DISHES, 5, sleep, &Sink::stdout_timed());
    for (number, dishes) in per_oven.iter().enumerate() {
        println!("oven {} baked {dishes:?}", number + 1);
    }
}

/// Step 14's ten files, one field each, one line per person.
#[rustfmt::skip]
const FIELDS: [&str; 10] = [
    "first_name", "last_name", "age", "country", "hobbies",
    "salary", "job_title", "email", "projects", "education",
];

/// The course ships no files; these people fill ours, fields in file order.
const PEOPLE: [&str; 4] = [
    "Anna Petrova 29 Russia chess 85000 engineer anna@example.com 4 MSc",
    "Boris Ivanov 41 Kazakhstan fishing 120000 architect boris@example.com 11 PhD",
    "Vera Smirnova 35 Serbia painting 97000 analyst vera@example.com 7 BSc",
    "Gleb Sokolov 23 Georgia climbing 64000 tester gleb@example.com 2 BSc",
];

/// Writes one `<field>.txt` per field into `dir`, one line per person.
fn write_people(dir: &Path, people: &[&str]) -> io::Result<()> {
    for (column, field) in FIELDS.iter().enumerate() {
        let line = |p: &&str| format!("{}\n", p.split(' ').nth(column).unwrap_or_default());
        let lines: String = people.iter().map(line).collect();
        fs::write(dir.join(format!("{field}.txt")), lines)?;
    }
    Ok(())
}

/// One person: `(field, value)` in [`FIELDS`] order.
type Record = Vec<(&'static str, String)>;

/// Step 14 — ten threads read the ten files; their lines are zipped into a
/// record per person and written to `output` as JSON.
///
/// Differences from the course: Python reads each file *holding*
/// `list_queues_lock` (here only the insert locks), and zips the columns in
/// the order the threads finished with the names in file order, so a value
/// can land under another name (Anna's "country": "chess"); keyed by name,
/// each stays under its own. Files of different lengths are an error.
fn step_14(dir: &Path, output: &Path) -> io::Result<Vec<Record>> {
    let texts = Mutex::new(HashMap::new());
    thread::scope(|s| {
        for field in FIELDS {
            let texts = &texts;
            s.spawn(move || {
                let text = fs::read_to_string(dir.join(format!("{field}.txt")));
                texts.lock().unwrap().insert(field, text);
            });
        }
    });
    let mut texts = texts.into_inner().unwrap();
    let mut records: Vec<Record> = Vec::new();
    for field in FIELDS {
        let text = texts.remove(field).expect("its reader should insert it")?;
        records.resize_with(records.len().max(text.lines().count()), Vec::new);
        for (record, line) in records.iter_mut().zip(text.lines()) {
            record.push((field, line.trim().to_owned()));
        }
    }
    if records.iter().any(|record| record.len() != FIELDS.len()) {
        let ragged = "the field files have different numbers of lines";
        return Err(io::Error::new(InvalidData, ragged));
    }
    fs::write(output, to_json(&records))?; // one writer, the readers done: no lock
    Ok(records)
}

/// `json.dump(records, f, ensure_ascii=False, indent=4)` with the keys in
/// field order, which serde_json's `Map` sorts (its `preserve_order` feature
/// is off here): the objects by hand, each string by serde_json.
fn to_json(records: &[Record]) -> String {
    let quote = |s: &str| serde_json::to_string(s).expect("a string always serialises");
    let object = |record: &Record| {
        let field = |(k, v): &(&str, String)| format!("        {}: {}", quote(k), quote(v));
        let fields: Vec<String> = record.iter().map(field).collect();
        format!("    {{\n{}\n    }}", fields.join(",\n"))
    };
    let objects: Vec<String> = records.iter().map(object).collect();
    format!("[\n{}\n]", objects.join(",\n"))
}

fn show_step_14() {
    let dir = tempfile::tempdir().expect("creating a temporary directory should work");
    write_people(dir.path(), &PEOPLE).expect("writing the input files should work");
    let output = dir.path().join("result.json");
    let records = step_14(dir.path(), &output).expect("step 14 should read its own files");
    let json = fs::read_to_string(&output).expect("result.json was just written");
    println!("result.json, {} records:\n{json}", records.len());
}

/// Writes `count` files of ten made-up integers into `dir`.
fn write_numbers(dir: &Path, count: u32) -> io::Result<()> {
    for file in 1..=count {
        let number = |k: u32| format!("{}\n", (file * 37 + k * 101) % 1000);
        let lines: String = (1..=10).map(number).collect();
        fs::write(dir.join(format!("numbers_{file:02}.txt")), lines)?;
    }
    Ok(())
}

/// Step 15 — three stages, two queues: a task per file extracts its text;
/// a thread sums each text's numbers × 3/4 (exact in an `f64`); this thread
/// appends each sum to `output` as it arrives, owning the file: no lock
/// (Python's `lock_result_file`; several writers would share a `Mutex<File>`).
///
/// Where the channels improve on the course's `Queue`s: a Python stage loops
/// `while not queue.empty()`, so it must wait for the whole stage before it.
/// A channel ends when it is empty *and* its senders are gone: the stages
/// overlap, each stopping when its input is done.
fn step_15(input_dir: &Path, output: &Path) -> io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(output)?;
    let (extracted, to_transform) = crossbeam_channel::unbounded();
    let (transformed, to_load) = crossbeam_channel::unbounded();
    thread::scope(|s| {
        for path in fs::read_dir(input_dir)? {
            let (path, extracted) = (path?.path(), extracted.clone());
            // A failed read goes down the queue for the transform to report;
            // a failed send means the transform has stopped (on an error).
            s.spawn(move || extracted.send(fs::read_to_string(path)));
        }
        drop(extracted); // the queue closes when the extractors are done
        let transform = s.spawn(move || -> io::Result<()> {
            let invalid = |e| io::Error::new(InvalidData, e);
            for text in to_transform {
                let mut sum = 0.0;
                for line in text?.lines() {
                    sum += line.trim().parse::<i64>().map_err(invalid)? as f64 * 0.75;
                }
                let _ = transformed.send(sum); // fails only once the loader failed
            }
            Ok(())
        });
        for sum in to_load {
            writeln!(file, "{sum:?}")?; // `{:?}`: 75.0 as `75.0`, like Python
        }
        transform.join().unwrap()
    })
}

fn show_step_15() {
    let dir = tempfile::tempdir().expect("creating a temporary directory should work");
    let (input, output) = (dir.path().join("input"), dir.path().join("result.txt"));
    fs::create_dir(&input).expect("a fresh temporary directory takes a folder");
    write_numbers(&input, 10).expect("writing the input files should work");
    step_15(&input, &output).expect("step 15 should read its own files");
    let sums = fs::read_to_string(&output).expect("result.txt was just written");
    print!("result.txt (one sum per file, in the order they reached the loader):\n{sums}");
}

#[rustfmt::skip]
fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 5.1 — Mutual exclusion lock (Lock) («Блокировка взаимного исключения (Lock)»)",
        &[
            Step::new("shared_counter", "10 threads × 100 000 increments of a Mutex<u64>", show_shared_counter),
            Step::new("poisoning", "a panic while locked poisons a std Mutex", show_poisoning),
            Step::new("parking_lot_mutex", "parking_lot::Mutex: no poisoning, is_locked, try_lock_for", show_parking_lot_mutex),
            Step::new("step_13", "a producer queues five orders, one cook bakes them", show_step_13),
            Step::new("step_13_five_cooks", "the same queue, five cooks, one oven", show_step_13_five_cooks),
            Step::new("step_14", "ten field files → records → JSON (temporary directory)", show_step_14),
            Step::new("step_15", "extract → queue → transform → queue → load", show_step_15),
            Step::new("step_16", "five ovens: try each, else wait for oven 1", show_step_16),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;
    use serde_json::Value;
    use std::collections::BTreeSet;
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_counter_loses_no_update() {
        assert_eq!(shared_counter(8, 10_000), 80_000);
    }

    #[test]
    fn locked_answers_without_taking_the_lock() {
        assert_eq!(parking_lot_mutex().0, [false, true, false]);
    }

    #[test]
    fn a_panic_poisons_std_but_not_parking_lot() {
        let (poisoned, pizzas) = poisoning();
        assert!(poisoned);
        assert_eq!(pizzas, ["Margherita", "half-baked Pepperoni"]);
        let (_, pizzas, timed_out) = parking_lot_mutex();
        assert_eq!(pizzas, ["Margherita", "half-baked Pepperoni"]);
        assert!(timed_out);
    }

    const FAST: Duration = Duration::from_millis(20);

    fn run(consumers: usize) -> Vec<String> {
        deadline(Duration::from_secs(20), move || {
            let sink = Sink::collect();
            step_13(&ORDERS, consumers, FAST, &sink);
            sink.lines()
        })
    }

    #[test]
    fn one_cook_bakes_in_the_courses_order() {
        let mut expected = Vec::new();
        for (cook, pizza, _) in ORDERS {
            expected.push(format!("{cook} starts baking {pizza}"));
            expected.push(format!("{cook} has baked {pizza}"));
        }
        expected.push("All pizzas are baked.".to_owned());
        assert_eq!(run(1), expected);
    }

    #[test]
    fn five_cooks_still_bake_one_pizza_at_a_time() {
        let lines = run(5);
        assert_eq!(lines.len(), 2 * ORDERS.len() + 1);
        // Starts and finishes alternate, and each pair is one pizza.
        for pair in lines[..lines.len() - 1].chunks(2) {
            let started = pair[0].replace(" starts baking ", "|");
            let baked = pair[1].replace(" has baked ", "|");
            assert_eq!(started, baked, "{pair:?}");
        }
    }

    /// A bake that takes `unit` per course second.
    fn quick(unit: Duration) -> impl Fn(Order) + Sync {
        move |(_, _, time)| thread::sleep(unit * time)
    }

    #[test]
    fn every_dish_is_baked_once() {
        let per_oven = deadline(Duration::from_secs(20), || {
            step_16(
                &DISHES,
                5,
                quick(Duration::from_millis(20)),
                &Sink::collect(),
            )
        });
        let baked: BTreeSet<_> = per_oven.iter().flatten().copied().collect();
        assert_eq!(baked, DISHES.iter().map(|d| d.1).collect());
        assert_eq!(per_oven.iter().map(Vec::len).sum::<usize>(), 7);
    }

    #[test]
    fn five_ovens_bake_at_once() {
        // The first five bakes wait at a barrier for each other: it opens
        // only if five ovens are baking at the same moment.
        let per_oven = deadline(Duration::from_secs(20), || {
            let all_five = Barrier::new(5);
            let started = AtomicUsize::new(0);
            let bake = |_| {
                if started.fetch_add(1, Ordering::SeqCst) < 5 {
                    all_five.wait();
                }
            };
            step_16(&DISHES, 5, bake, &Sink::collect())
        });
        assert!(per_oven.iter().all(|oven| !oven.is_empty()));
    }

    #[test]
    fn a_cook_who_panics_does_not_leave_the_others_waiting() {
        // One oven: while the first cook bakes, the others wait for it. The
        // first cook drops the tray; the others must wake, find the oven
        // poisoned and pass the panic on, instead of waiting forever.
        let panicked = deadline(Duration::from_secs(20), || {
            let first = AtomicUsize::new(0);
            let bake = |_| {
                if first.fetch_add(1, Ordering::SeqCst) == 0 {
                    thread::sleep(Duration::from_millis(20));
                    panic!("the cook dropped the tray");
                }
            };
            std::panic::catch_unwind(|| step_16(&DISHES[..3], 1, bake, &Sink::collect())).is_err()
        });
        assert!(panicked, "the panic reaches the caller");
    }

    #[test]
    fn writes_one_record_per_person_with_keys_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        write_people(dir.path(), &PEOPLE).unwrap();
        let output = dir.path().join("result.json");
        step_14(dir.path(), &output).unwrap();
        let text = fs::read_to_string(&output).unwrap();
        let written: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(written.len(), PEOPLE.len());
        for (record, person) in written.iter().zip(PEOPLE) {
            for (field, value) in FIELDS.iter().zip(person.split(' ')) {
                assert_eq!(record[field], value, "{field}");
            }
        }
        // The keys in the files' order, not sorted.
        let first_record = text.split('}').next().unwrap();
        let keys: Vec<&str> = first_record
            .lines()
            .filter_map(|line| line.trim().split('"').nth(1))
            .collect();
        assert_eq!(keys, FIELDS);
    }

    #[test]
    fn escapes_what_json_must_escape() {
        let record = vec![("first_name", "Ann \"Q\"\nÜ".to_owned())];
        let parsed: Value = serde_json::from_str(&to_json(&[record])).unwrap();
        assert_eq!(parsed[0]["first_name"], "Ann \"Q\"\nÜ");
    }

    #[test]
    fn rejects_ragged_columns() {
        let dir = tempfile::tempdir().unwrap();
        write_people(dir.path(), &PEOPLE).unwrap();
        fs::write(dir.path().join("age.txt"), "29\n").unwrap();
        let err = step_14(dir.path(), &dir.path().join("out.json")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn appends_every_files_sum_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input");
        fs::create_dir(&input).unwrap();
        write_numbers(&input, 10).unwrap();
        let output = dir.path().join("result.txt");
        step_15(&input, &output).unwrap();

        let mut expected: Vec<String> = (1..=10u32)
            .map(|file| {
                let sum: f64 = (1..=10u32)
                    .map(|k| f64::from((file * 37 + k * 101) % 1000) * 0.75)
                    .sum();
                format!("{sum:?}")
            })
            .collect();
        let mut got: Vec<String> = fs::read_to_string(&output)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        expected.sort();
        got.sort();
        assert_eq!(got, expected);
    }

    #[test]
    fn a_bad_number_is_an_error_and_nothing_hangs() {
        let dir = tempfile::tempdir().unwrap();
        write_numbers(dir.path(), 3).unwrap();
        fs::write(dir.path().join("numbers_02.txt"), "12\nthirteen\n").unwrap();
        let output = dir.path().join("out").with_extension("txt");
        let input = dir.path().to_owned();
        let err = course_tests::deadline(std::time::Duration::from_secs(20), move || {
            step_15(&input, &output).unwrap_err()
        });
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
