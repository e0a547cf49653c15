//! Lesson 5.1 — Mutual exclusion lock (Lock) («Блокировка взаимного исключения (Lock)»)
//!
//! A lock lets one thread at a time into a critical section. In Python the
//! lock sits *beside* the data and nothing stops code that forgets it; a Rust
//! `Mutex<T>` *owns* its data, and the only way to reach the data is through
//! the guard that `lock()` returns, which unlocks when it is dropped.
//!
//! | Python                                   | Rust                                                  |
//! |------------------------------------------|-------------------------------------------------------|
//! | `lock = threading.Lock()` + shared data  | `Mutex::new(data)`: the lock owns the data            |
//! | `with lock: ...`                         | `let guard = m.lock().unwrap();` (unlocks on drop)    |
//! | `lock.acquire()` / `lock.release()`      | `m.lock()` / `drop(guard)`                            |
//! | `lock.acquire(blocking=False)`           | `m.try_lock()` → `Err(TryLockError::WouldBlock)`      |
//! | `lock.acquire(timeout=t)`                | `parking_lot::Mutex::try_lock_for(t)`                 |
//! | exception inside `with lock:`            | panic while locked → the mutex is *poisoned*          |
//! | (no poisoning)                           | `parking_lot::Mutex`: no poisoning, no `unwrap`       |
//! | `open(path, "a")` shared by threads      | `Mutex<File>`                                         |
//! | `json.dump(data, f, indent=4)`           | `serde_json::to_writer_pretty(f, &data)`              |
//!
//! Run all steps: `cargo run -p module_05 --bin lesson_01`
//! Run one step:  `cargo run -p module_05 --bin lesson_01 -- step_16`
//! Output order varies between runs where threads race; the values do not.
//!
//! The cooking steps count time in the course's seconds ([`COURSE_SECOND`]);
//! the tests play them much faster (`FAST`).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use step_runner::{Step, lesson_id};

/// One of the course's seconds, as `main` plays it.
const COURSE_SECOND: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------
// The lecture: the lock owns the data, guards, try_lock, poisoning.
// ---------------------------------------------------------------------------

/// `threads` threads each add 1 to a shared counter `per_thread` times.
///
/// In Python `counter += 1` is a read, an add and a write (`dis` shows
/// `LOAD`, `BINARY_OP +=`, `STORE`), and nothing guarantees it is atomic. On
/// CPython 3.10 and later the interpreter happens not to switch threads
/// between that load and store, so 8 threads × 10⁶ plain increments come
/// out exact (checked on 3.11); older versions, other implementations and
/// the free-threaded build (3.13t) can lose updates. A race that loses them
/// today on any CPython: `value = counter; time.sleep(0); counter = value + 1`
/// (8 threads × 1000 of those ended near 1000 on 3.11, not 8000). Here the
/// `u64` lives *inside* the mutex, so an unlocked increment does not even
/// compile.
fn shared_counter(threads: u64, per_thread: u64) -> u64 {
    let counter = Mutex::new(0u64);
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    // The guard lives until the end of this statement.
                    *counter.lock().expect("no thread panics while counting") += 1;
                }
            });
        }
    });
    counter.into_inner().expect("no thread panicked")
}

/// `try_lock` answers at once: `WouldBlock` while another thread holds the
/// guard, `Ok` once the guard has been dropped. Returns both answers.
fn try_lock_demo() -> (bool, bool) {
    let oven = Mutex::new("Margherita");
    let guard = oven.lock().expect("a fresh mutex is not poisoned");
    let while_held = thread::scope(|s| {
        s.spawn(|| matches!(oven.try_lock(), Err(TryLockError::WouldBlock)))
            .join()
            .expect("the probing thread panicked")
    });
    // Dropping the guard is the `release()`; leaving its scope does the same.
    drop(guard);
    let after_drop = thread::scope(|s| {
        s.spawn(|| oven.try_lock().is_ok())
            .join()
            .expect("the probing thread panicked")
    });
    (while_held, after_drop)
}

/// A thread panics halfway through an update while holding the lock.
/// Returns whether the mutex was poisoned and the half-updated data.
///
/// Python's `with lock:` releases the lock on an exception and lets others
/// see the half-done update. Rust releases it too, but marks the mutex
/// poisoned: the next `lock()` returns `Err`, and the caller decides whether
/// the data can still be trusted (`into_inner` gets it anyway).
fn poisoning() -> (bool, Vec<&'static str>) {
    let oven = Mutex::new(vec!["Margherita"]);
    let careless = thread::scope(|s| {
        s.spawn(|| {
            let mut pizzas = oven.lock().expect("not poisoned yet");
            pizzas.push("half-baked Pepperoni");
            panic!("the cook dropped the tray");
        })
        .join()
    });
    assert!(careless.is_err(), "the careless cook panics on purpose");
    let poisoned = oven.is_poisoned();
    let pizzas = match oven.lock() {
        Ok(guard) => guard.clone(),
        // The lock is still usable: the error carries the guard.
        Err(poison) => poison.into_inner().clone(),
    };
    // After repairing (or accepting) the data, clear the flag.
    oven.clear_poison();
    (poisoned, pizzas)
}

/// The same accident with `parking_lot::Mutex`: no poisoning, so `lock()`
/// returns the guard directly, and `try_lock_for` waits with a time limit.
/// Returns the data after the panic and whether a timed try failed while
/// another thread held the lock.
fn parking_lot_mutex() -> (Vec<&'static str>, bool) {
    let oven = parking_lot::Mutex::new(vec!["Margherita"]);
    let careless = thread::scope(|s| {
        s.spawn(|| {
            oven.lock().push("half-baked Pepperoni");
            panic!("the cook dropped the tray");
        })
        .join()
    });
    assert!(careless.is_err(), "the careless cook panics on purpose");
    let held = oven.lock();
    let timed_out = thread::scope(|s| {
        s.spawn(|| oven.try_lock_for(Duration::from_millis(50)).is_none())
            .join()
            .expect("the probing thread panicked")
    });
    let pizzas = held.clone();
    (pizzas, timed_out)
}

// ---------------------------------------------------------------------------
// Step 13: one oven, several cooks.
// ---------------------------------------------------------------------------

/// A cook, a pizza and its baking time in course seconds.
#[derive(Clone, Copy, Debug)]
struct Order {
    cook: &'static str,
    pizza: &'static str,
    bake_time: u32,
}

const fn order(cook: &'static str, pizza: &'static str, bake_time: u32) -> Order {
    Order {
        cook,
        pizza,
        bake_time,
    }
}

/// The course's cooks and pizzas for step 13.
const STEP_13_ORDERS: [Order; 5] = [
    order("Alexey", "Margherita", 3),
    order("Marina", "Pepperoni", 2),
    order("Sergey", "Vegetarian", 4),
    order("Irina", "Four Cheese", 5),
    order("Nikolay", "Hawaiian", 3),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Starts,
    Finishes,
}

/// One line of the oven's log.
#[derive(Clone, Copy, Debug)]
struct OvenEntry {
    at: Duration,
    cook: &'static str,
    pizza: &'static str,
    stage: Stage,
}

/// Step 13 — every cook bakes a pizza, but the kitchen has one oven.
/// Returns the oven's log in the order things happened.
///
/// The log lives inside the oven's mutex: writing to it without holding the
/// oven does not compile, so the log cannot lie about who was baking.
fn step_13(orders: &[Order], second: Duration) -> Vec<OvenEntry> {
    let oven = Mutex::new(Vec::new());
    let start = Instant::now();
    thread::scope(|s| {
        for &Order {
            cook,
            pizza,
            bake_time,
        } in orders
        {
            let oven = &oven;
            s.spawn(move || {
                let mut log = oven.lock().expect("no cook panics while baking");
                let mut note = |stage| {
                    let at = start.elapsed();
                    log.push(OvenEntry {
                        at,
                        cook,
                        pizza,
                        stage,
                    });
                };
                note(Stage::Starts);
                thread::sleep(second * bake_time);
                note(Stage::Finishes);
                // `log` is dropped here: the oven is free for the next cook.
            });
        }
    });
    oven.into_inner().expect("no cook panicked")
}

// ---------------------------------------------------------------------------
// Step 14: fields from ten files, zipped into records, written as JSON.
// ---------------------------------------------------------------------------

/// The course's ten files, one field each, one line per person.
const STEP_14_FIELDS: [&str; 10] = [
    "first_name",
    "last_name",
    "age",
    "country",
    "hobbies",
    "salary",
    "job_title",
    "email",
    "projects",
    "education",
];

/// The course does not ship its files; these people fill the generated ones.
const STEP_14_PEOPLE: [[&str; 10]; 4] = [
    [
        "Anna",
        "Petrova",
        "29",
        "Russia",
        "chess",
        "85000",
        "engineer",
        "anna@example.com",
        "4",
        "MSc",
    ],
    [
        "Boris",
        "Ivanov",
        "41",
        "Kazakhstan",
        "fishing",
        "120000",
        "architect",
        "boris@example.com",
        "11",
        "PhD",
    ],
    [
        "Vera",
        "Smirnova",
        "35",
        "Serbia",
        "painting",
        "97000",
        "analyst",
        "vera@example.com",
        "7",
        "BSc",
    ],
    [
        "Gleb",
        "Sokolov",
        "23",
        "Georgia",
        "climbing",
        "64000",
        "tester",
        "gleb@example.com",
        "2",
        "BSc",
    ],
];

/// Writes one `<field>.txt` per field into `dir`, one line per person.
fn write_step_14_inputs(dir: &Path, people: &[[&str; 10]]) -> io::Result<()> {
    for (column, field) in STEP_14_FIELDS.iter().enumerate() {
        let lines: String = people.iter().map(|p| format!("{}\n", p[column])).collect();
        fs::write(dir.join(format!("{field}.txt")), lines)?;
    }
    Ok(())
}

/// Step 14 — read the ten field files in ten threads, zip their lines into
/// one record per person and write the records to `output` as JSON.
/// Returns the records.
///
/// The readers share one map of columns behind a lock. The course appends
/// each column to a list in whatever order the threads finish, then zips the
/// list with the field names in file order; keying the map by field name
/// keeps every value under its own name whichever thread wins.
fn step_14(dir: &Path, output: &Path) -> io::Result<Vec<Value>> {
    let columns: Mutex<BTreeMap<&str, Vec<String>>> = Mutex::new(BTreeMap::new());
    thread::scope(|s| {
        let readers: Vec<_> = STEP_14_FIELDS
            .iter()
            .map(|&field| {
                let columns = &columns;
                s.spawn(move || -> io::Result<()> {
                    // Read outside the lock: only the insert needs it.
                    let text = fs::read_to_string(dir.join(format!("{field}.txt")))?;
                    let values = text.lines().map(|line| line.trim().to_owned()).collect();
                    columns
                        .lock()
                        .expect("no reader panics while inserting")
                        .insert(field, values);
                    Ok(())
                })
            })
            .collect();
        readers
            .into_iter()
            .try_for_each(|reader| reader.join().expect("a reader thread panicked"))
    })?;
    let columns = columns.into_inner().expect("no reader panicked");

    let rows = columns.values().map(Vec::len).max().unwrap_or(0);
    if columns.values().any(|column| column.len() != rows) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the field files have different numbers of lines",
        ));
    }
    let records: Vec<Value> = (0..rows)
        .map(|row| {
            let record: Map<String, Value> = STEP_14_FIELDS
                .iter()
                .map(|&field| (field.to_owned(), Value::from(columns[field][row].clone())))
                .collect();
            Value::Object(record)
        })
        .collect();

    // One writer, after the readers are done: no lock needed for the output.
    let mut file = BufWriter::new(File::create(output)?);
    serde_json::to_writer_pretty(&mut file, &records)?;
    file.flush()?;
    Ok(records)
}

// ---------------------------------------------------------------------------
// Step 15: numbers from many files, transformed, appended to one file.
// ---------------------------------------------------------------------------

/// Writes `count` files `numbers_NN.txt` into `dir`, ten integers each.
/// The course does not ship its files; these numbers are made up.
fn write_step_15_inputs(dir: &Path, count: u32) -> io::Result<()> {
    for file in 1..=count {
        let lines: String = (1..=10)
            .map(|k| format!("{}\n", (file * 37 + k * 101) % 1000))
            .collect();
        fs::write(dir.join(format!("numbers_{file:02}.txt")), lines)?;
    }
    Ok(())
}

/// The course's transformation: every number times 3/4, summed per file.
/// Multiples of 0.25 are exact in an `f64`, so the sum is exact too.
fn transform(text: &str) -> io::Result<f64> {
    text.lines()
        .map(|line| {
            line.trim()
                .parse::<i64>()
                .map(|n| n as f64 * 3.0 / 4.0)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{line:?}: {e}")))
        })
        .sum()
}

/// Step 15 — one thread per file in `input_dir` reads its numbers,
/// transforms them and appends `"<file name> <sum>"` to `output`.
///
/// `&File` implements `Write`, so nothing *forces* a lock here; but one
/// `writeln!` may become several `write` calls, and two threads' lines could
/// interleave. `Mutex<File>` makes each line one uninterrupted append.
fn step_15(input_dir: &Path, output: &Path) -> io::Result<()> {
    let mut inputs: Vec<PathBuf> = fs::read_dir(input_dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    inputs.sort();
    let result = Mutex::new(OpenOptions::new().create(true).append(true).open(output)?);
    thread::scope(|s| {
        let workers: Vec<_> = inputs
            .iter()
            .map(|path| {
                let result = &result;
                s.spawn(move || -> io::Result<()> {
                    let total = transform(&fs::read_to_string(path)?)?;
                    let name = path.file_name().unwrap_or_default().to_string_lossy();
                    let mut file = result.lock().expect("no writer panics while appending");
                    // `{:?}` prints 75.0 as `75.0`, like Python's `str(float)`.
                    writeln!(file, "{name} {total:?}")
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|worker| worker.join().expect("a worker thread panicked"))
    })
}

// ---------------------------------------------------------------------------
// Step 16: five ovens; try each one, else wait for one to be freed.
// ---------------------------------------------------------------------------

/// The course's dishes for step 16: `(cook, dish, baking time)`.
const STEP_16_DISHES: [Order; 7] = [
    order("Alexey", "Margherita", 3),
    order("Alexey", "Lasagna", 5),
    order("Alexey", "Shrimp pizza", 4),
    order("Alexey", "Mussels in cream", 4),
    order("Alexey", "Sicilian", 5),
    order("Marina", "Mexican", 3),
    order("Marina", "Vegetarian", 4),
];

/// Which oven baked a dish, and when.
#[derive(Clone, Copy, Debug)]
struct OvenUse {
    order: Order,
    oven: usize,
    from: Duration,
    to: Duration,
    /// Whether the cook found every oven busy at first.
    waited: bool,
}

struct Kitchen {
    /// Each oven owns the list of dishes it has baked.
    ovens: Vec<Mutex<Vec<&'static str>>>,
    /// How many times an oven has been freed. A cook that found every oven
    /// busy waits until this number changes; a counter, not a bare signal,
    /// so a release between "all busy" and "wait" is not missed (lesson 5.4).
    released: Mutex<u64>,
    oven_freed: Condvar,
}

impl Kitchen {
    /// `bake` is the baking itself: a sleep in the lesson; in the tests, a
    /// gate that proves the ovens bake at the same time.
    fn bake(&self, order: Order, bake: &impl Fn(Order), start: Instant) -> OvenUse {
        let mut waited = false;
        loop {
            let seen = *self.released.lock().expect("the counter is never poisoned");
            for (number, oven) in self.ovens.iter().enumerate() {
                // `acquire(blocking=False)`: a busy oven answers at once.
                let baked = match oven.try_lock() {
                    Ok(baked) => baked,
                    Err(TryLockError::WouldBlock) => continue,
                    Err(TryLockError::Poisoned(poisoned)) => {
                        // Even a look at the oven held its lock, and a cook
                        // who found it busy meanwhile now waits: release it
                        // the same way, with a wake-up, then pass it on.
                        drop(InUse {
                            kitchen: self,
                            baked: Some(poisoned.into_inner()),
                        });
                        panic!("a cook panicked at oven {number}");
                    }
                };
                let mut in_use = InUse {
                    kitchen: self,
                    baked: Some(baked),
                };
                let from = start.elapsed();
                bake(order);
                in_use
                    .baked
                    .as_mut()
                    .expect("held until dropped")
                    .push(order.pizza);
                let to = start.elapsed();
                drop(in_use); // frees the oven and tells the waiting cooks
                return OvenUse {
                    order,
                    oven: number,
                    from,
                    to,
                    waited,
                };
            }
            // Every oven was busy: sleep until one is freed, then try again.
            waited = true;
            let count = self.released.lock().expect("the counter is never poisoned");
            drop(
                self.oven_freed
                    .wait_while(count, |count| *count == seen)
                    .expect("the counter is never poisoned"),
            );
        }
    }
}

/// An oven in use. Dropping it — after baking, or while a panic unwinds
/// through the cook — unlocks the oven and then wakes the waiting cooks: a
/// cook who drops the tray must not leave the others waiting for an oven
/// that is never freed. (They find it poisoned and pass the panic on.)
struct InUse<'k> {
    kitchen: &'k Kitchen,
    baked: Option<MutexGuard<'k, Vec<&'static str>>>,
}

impl Drop for InUse<'_> {
    fn drop(&mut self) {
        // Unlock first, so that a woken cook finds the oven free.
        drop(self.baked.take());
        // Nothing panics while this counter is locked: a poisoned lock
        // still holds a valid count.
        *self
            .kitchen
            .released
            .lock()
            .unwrap_or_else(PoisonError::into_inner) += 1;
        self.kitchen.oven_freed.notify_all();
    }
}

/// Step 16 — every dish gets its own thread; a cook takes the first free
/// one of `ovens` ovens, or waits until one is freed.
/// `bake` does the baking (`main`: sleep for the dish's baking time).
/// Returns who baked what where, sorted by start time, and each oven's list.
fn step_16(
    dishes: &[Order],
    ovens: usize,
    bake: impl Fn(Order) + Sync,
) -> (Vec<OvenUse>, Vec<Vec<&str>>) {
    let kitchen = Kitchen {
        ovens: (0..ovens).map(|_| Mutex::new(Vec::new())).collect(),
        released: Mutex::new(0),
        oven_freed: Condvar::new(),
    };
    let start = Instant::now();
    let mut uses: Vec<OvenUse> = thread::scope(|s| {
        let cooks: Vec<_> = dishes
            .iter()
            .map(|&order| {
                let (kitchen, bake) = (&kitchen, &bake);
                s.spawn(move || kitchen.bake(order, bake, start))
            })
            .collect();
        cooks
            .into_iter()
            .map(|cook| cook.join().expect("a cook panicked"))
            .collect()
    });
    uses.sort_by_key(|u| u.from);
    let per_oven = kitchen
        .ovens
        .into_iter()
        .map(|oven| oven.into_inner().expect("no cook panicked"))
        .collect();
    (uses, per_oven)
}

fn secs(at: Duration) -> String {
    format!("{:5.1}s", at.as_secs_f64())
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 5.1 — Mutual exclusion lock (Lock) («Блокировка взаимного исключения (Lock)»)",
        &[
            Step::new(
                "shared_counter",
                "10 threads × 100 000 increments of a Mutex<u64>",
                || {
                    println!(
                        "counter: {} (expected 1000000)",
                        shared_counter(10, 100_000)
                    )
                },
            ),
            Step::new("try_lock", "try_lock answers at once: busy or free", || {
                let (while_held, after_drop) = try_lock_demo();
                println!("while another thread holds the guard, WouldBlock: {while_held}");
                println!("after the guard is dropped, the lock is free: {after_drop}");
            }),
            Step::new(
                "poisoning",
                "a panic while locked poisons a std Mutex",
                || {
                    println!("(the panic message on stderr is part of the demo)");
                    let (poisoned, pizzas) = poisoning();
                    println!("poisoned: {poisoned}");
                    println!("the data, half updated: {pizzas:?}");
                },
            ),
            Step::new(
                "parking_lot_mutex",
                "parking_lot::Mutex: no poisoning, try_lock_for",
                || {
                    println!("(the panic message on stderr is part of the demo)");
                    let (pizzas, timed_out) = parking_lot_mutex();
                    println!("after the panic, lock() still works: {pizzas:?}");
                    println!("try_lock_for(50 ms) on a held lock gave up: {timed_out}");
                },
            ),
            Step::new("step_13", "five cooks, one oven", || {
                let log = step_13(&STEP_13_ORDERS, COURSE_SECOND);
                for entry in &log {
                    let verb = match entry.stage {
                        Stage::Starts => "starts baking",
                        Stage::Finishes => "has baked",
                    };
                    println!("{}  {} {verb} {}", secs(entry.at), entry.cook, entry.pizza);
                }
                println!("All pizzas are baked.");
            }),
            Step::new(
                "step_14",
                "ten field files → records → JSON (temporary directory)",
                || {
                    let dir = tempfile::tempdir().expect("creating a temporary directory");
                    write_step_14_inputs(dir.path(), &STEP_14_PEOPLE)
                        .expect("writing the input files");
                    let output = dir.path().join("result.json");
                    let records = step_14(dir.path(), &output).expect("step 14 failed");
                    let written = fs::read_to_string(&output).expect("reading result.json");
                    println!(
                        "result.json: {} bytes, {} records:",
                        written.len(),
                        records.len()
                    );
                    for record in &records {
                        println!("{record}");
                    }
                    // `dir` is dropped here and takes the files with it.
                },
            ),
            Step::new(
                "step_15",
                "numbers × 3/4 summed per file, appended under a Mutex<File>",
                || {
                    let dir = tempfile::tempdir().expect("creating a temporary directory");
                    let input = dir.path().join("input");
                    fs::create_dir(&input).expect("creating the input directory");
                    write_step_15_inputs(&input, 10).expect("writing the input files");
                    let output = dir.path().join("result.txt");
                    step_15(&input, &output).expect("step 15 failed");
                    println!("result.txt (lines in the order the threads appended them):");
                    print!(
                        "{}",
                        fs::read_to_string(&output).expect("reading result.txt")
                    );
                },
            ),
            Step::new("step_16", "five ovens: try each, else wait", || {
                let (uses, per_oven) = step_16(&STEP_16_DISHES, 5, |order| {
                    thread::sleep(COURSE_SECOND * order.bake_time);
                });
                for u in &uses {
                    let waited = if u.waited { " (after waiting)" } else { "" };
                    println!(
                        "{}–{}  oven {}: {} bakes {} ({} s){waited}",
                        secs(u.from),
                        secs(u.to).trim_start(),
                        u.oven + 1,
                        u.order.cook,
                        u.order.pizza,
                        u.order.bake_time,
                    );
                }
                for (number, dishes) in per_oven.iter().enumerate() {
                    println!("oven {} baked {dishes:?}", number + 1);
                }
            }),
        ],
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use course_tests::deadline;

    use super::*;

    const FAST: Duration = Duration::from_millis(20);

    #[test]
    fn the_counter_loses_no_update() {
        assert_eq!(shared_counter(8, 10_000), 80_000);
    }

    #[test]
    fn try_lock_sees_the_guard() {
        assert_eq!(try_lock_demo(), (true, true));
    }

    #[test]
    fn a_panic_poisons_std_but_not_parking_lot() {
        let (poisoned, pizzas) = poisoning();
        assert!(poisoned);
        assert_eq!(pizzas, ["Margherita", "half-baked Pepperoni"]);
        let (pizzas, timed_out) = parking_lot_mutex();
        assert_eq!(pizzas, ["Margherita", "half-baked Pepperoni"]);
        assert!(timed_out);
    }

    #[test]
    fn step_13_bakes_one_pizza_at_a_time() {
        let log = step_13(&STEP_13_ORDERS, FAST);
        assert_eq!(log.len(), 2 * STEP_13_ORDERS.len());
        // Starts and finishes alternate, and each pair is one cook's pizza.
        for pair in log.chunks(2) {
            assert_eq!(
                (pair[0].stage, pair[1].stage),
                (Stage::Starts, Stage::Finishes)
            );
            assert_eq!((pair[0].cook, pair[0].pizza), (pair[1].cook, pair[1].pizza));
        }
        let cooks: BTreeSet<_> = log.iter().map(|e| e.cook).collect();
        assert_eq!(cooks, STEP_13_ORDERS.iter().map(|o| o.cook).collect());
        // One oven: the bakes add up (a lower bound; sleeping never ends early).
        let total: u32 = STEP_13_ORDERS.iter().map(|o| o.bake_time).sum();
        assert!(log.last().unwrap().at >= FAST * total);
    }

    #[test]
    fn step_14_writes_one_record_per_person() {
        let dir = tempfile::tempdir().unwrap();
        write_step_14_inputs(dir.path(), &STEP_14_PEOPLE).unwrap();
        let output = dir.path().join("result.json");
        let records = step_14(dir.path(), &output).unwrap();
        let written: Vec<Value> =
            serde_json::from_str(&fs::read_to_string(&output).unwrap()).unwrap();
        assert_eq!(written, records);
        assert_eq!(written.len(), STEP_14_PEOPLE.len());
        for (record, person) in written.iter().zip(&STEP_14_PEOPLE) {
            for (field, value) in STEP_14_FIELDS.iter().zip(person) {
                assert_eq!(record[field], *value, "{field}");
            }
        }
    }

    #[test]
    fn step_14_rejects_ragged_columns() {
        let dir = tempfile::tempdir().unwrap();
        write_step_14_inputs(dir.path(), &STEP_14_PEOPLE).unwrap();
        fs::write(dir.path().join("age.txt"), "29\n").unwrap();
        let err = step_14(dir.path(), &dir.path().join("out.json")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn step_15_appends_every_file_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input");
        fs::create_dir(&input).unwrap();
        write_step_15_inputs(&input, 10).unwrap();
        let output = dir.path().join("result.txt");
        step_15(&input, &output).unwrap();

        let mut expected = BTreeMap::new();
        for file in 1..=10u32 {
            let name = format!("numbers_{file:02}.txt");
            let sum: f64 = (1..=10u32)
                .map(|k| f64::from((file * 37 + k * 101) % 1000) * 0.75)
                .sum();
            expected.insert(name, sum);
        }
        let text = fs::read_to_string(&output).unwrap();
        let mut got = BTreeMap::new();
        for line in text.lines() {
            let (name, value) = line.split_once(' ').unwrap();
            let previous = got.insert(name.to_owned(), value.parse::<f64>().unwrap());
            assert!(previous.is_none(), "{name} appended twice");
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn step_16_uses_each_oven_for_one_dish_at_a_time() {
        let (uses, per_oven) = deadline(Duration::from_secs(20), || {
            step_16(&STEP_16_DISHES, 5, |order| {
                thread::sleep(FAST * order.bake_time)
            })
        });
        let dishes: BTreeSet<_> = uses.iter().map(|u| u.order.pizza).collect();
        assert_eq!(dishes, STEP_16_DISHES.iter().map(|o| o.pizza).collect());
        assert_eq!(per_oven.iter().map(Vec::len).sum::<usize>(), 7);
        for oven in 0..5 {
            let mut bakes: Vec<_> = uses.iter().filter(|u| u.oven == oven).collect();
            bakes.sort_by_key(|u| u.from);
            for pair in bakes.windows(2) {
                assert!(pair[1].from >= pair[0].to, "oven {oven} overlapped");
            }
        }
        // A cook waits only while five others bake: at most two of seven.
        assert!(uses.iter().filter(|u| u.waited).count() <= 2);
    }

    #[test]
    fn step_16_a_cook_who_panics_does_not_leave_the_others_waiting() {
        // One oven: while the first cook bakes, the others find it busy and
        // wait. The first cook then drops the tray. Its oven must still be
        // "freed", so that the waiting cooks wake up, find the oven poisoned
        // and pass the panic on, instead of waiting forever.
        let outcome = deadline(Duration::from_secs(20), || {
            let first = AtomicUsize::new(0);
            std::panic::catch_unwind(|| {
                step_16(&STEP_16_DISHES[..3], 1, |_| {
                    if first.fetch_add(1, Ordering::SeqCst) == 0 {
                        // Give the other cooks time to start waiting.
                        thread::sleep(FAST);
                        panic!("the cook dropped the tray");
                    }
                })
            })
            .is_err()
        });
        assert!(outcome, "the panic reaches the caller");
    }

    #[test]
    fn step_16_bakes_in_five_ovens_at_once() {
        // The first five bakes wait at a barrier for each other: it opens
        // only if five ovens are baking at the same moment. A kitchen that
        // baked one dish at a time would never open it.
        let (uses, _) = deadline(Duration::from_secs(20), || {
            let all_five = Barrier::new(5);
            let started = AtomicUsize::new(0);
            step_16(&STEP_16_DISHES, 5, |_| {
                if started.fetch_add(1, Ordering::SeqCst) < 5 {
                    all_five.wait();
                }
            })
        });
        let ovens: BTreeSet<_> = uses.iter().take(5).map(|u| u.oven).collect();
        assert_eq!(ovens.len(), 5, "the first five bakes used five ovens");
    }
}
