//! Lesson 1.9 — Thread-local data («Хранение локальных данных потока»)
//!
//! A thread-local variable has one independent copy per thread: each thread
//! sees only what it stored itself, so no lock is needed. Python creates one
//! `threading.local()` object and sets attributes on it; Rust declares each
//! thread-local with `thread_local!` and reaches it through `with`.
//!
//! | Python                                   | Rust                                                   |
//! |------------------------------------------|--------------------------------------------------------|
//! | `local = threading.local()`              | `thread_local! { static DATA: RefCell<T> = … }`        |
//! | `local.data = value`                     | `DATA.with_borrow_mut(\|d\| *d = value)` or `DATA.set(value)` |
//! | `local.data`                             | `DATA.with_borrow(\|d\| …)`, or `DATA.get()` for `Cell` |
//! | `AttributeError` if this thread never set it | the initial value given in `thread_local!`          |
//! | `threading.current_thread().name = n`    | `thread::Builder::new().name(n)` at spawn              |
//!
//! Run all steps: `cargo run -p module_01 --bin lesson_09`
//! Run one step:  `cargo run -p module_01 --bin lesson_09 -- step_14`
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `main_value_survives`, call the closure directly instead of
//! passing it to `thread::spawn` (and drop `.join().expect(…)`): both
//! values become 1007. Why does the same code now touch `main`'s copy?

use std::cell::{Cell, RefCell};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use step_runner::{Step, lesson_id};

thread_local! {
    /// Step 14's storage: empty in every thread until that thread fills it.
    static MESSAGE: RefCell<String> = const { RefCell::new(String::new()) };
    /// Step 15's storage: the student this thread is processing.
    static STUDENT: RefCell<Option<Student>> = const { RefCell::new(None) };
    /// A counter for the "main's value survives" demo.
    static COUNTER: Cell<u32> = const { Cell::new(0) };
}

/// Step 14 — three threads each store a message in thread-local storage and
/// print it back.
///
/// Returns what each thread read back.
fn step_14() -> Vec<String> {
    let threads: Vec<_> = (0..3)
        .map(|_| {
            thread::spawn(|| {
                MESSAGE.set("HELLO LOCAL STORAGE!".to_owned());
                MESSAGE.with_borrow(|message| {
                    println!("data in thread-local storage: {message}");
                    message.clone()
                })
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("a thread panicked"))
        .collect()
}

fn show_step_14() {
    step_14();
}

/// One of the course's student records. `None` marks a field the course
/// leaves empty.
#[derive(Clone, Debug, PartialEq)]
struct Student {
    name: &'static str,
    age: u32,
    specialty: Option<&'static str>,
    city: Option<&'static str>,
    country: Option<&'static str>,
    university: Option<&'static str>,
    year: u32,
    group: &'static str,
    email: &'static str,
    phone: Option<&'static str>,
    birth_date: &'static str,
    gender: Option<&'static str>,
    hobbies: Option<&'static [&'static str]>,
    /// Processing time in tenths of a `unit`; `None` means the default of 3.
    processing_time: Option<u32>,
}

impl Student {
    /// The fields that are present, as `(label, value)` pairs.
    fn present_fields(&self) -> Vec<(&'static str, String)> {
        let optional = [
            ("specialty", self.specialty),
            ("city", self.city),
            ("country", self.country),
            ("university", self.university),
            ("phone", self.phone),
            ("gender", self.gender),
        ];
        let mut fields = vec![
            ("age", self.age.to_string()),
            ("year", self.year.to_string()),
            ("group", self.group.to_owned()),
            ("email", self.email.to_owned()),
            ("birth date", self.birth_date.to_owned()),
        ];
        fields.extend(
            optional
                .into_iter()
                .filter_map(|(label, value)| Some((label, value?.to_owned()))),
        );
        if let Some(hobbies) = self.hobbies {
            fields.push(("hobbies", hobbies.join(", ")));
        }
        if let Some(time) = self.processing_time {
            fields.push(("processing time", time.to_string()));
        }
        fields
    }
}

/// The course's two students (names transliterated, text in English).
const STUDENTS: [Student; 2] = [
    Student {
        name: "Varlaam Biryukova",
        age: 25,
        specialty: None,
        city: None,
        country: Some("Russia"),
        university: Some("ZAO «Mironova-Prokhorov»"),
        year: 3,
        group: "CK008",
        email: "ostaplitkin@example.com",
        phone: None,
        birth_date: "2005-08-22",
        gender: Some("Female"),
        hobbies: Some(&["Physics", "Astronomy"]),
        processing_time: Some(6),
    },
    Student {
        name: "Nikandr Mamontov",
        age: 20,
        specialty: Some("Computer science"),
        city: Some("k. Oktyabrsky (Bashk.)"),
        country: Some("Russia"),
        university: None,
        year: 3,
        group: "LE057",
        email: "jakub_2001@example.org",
        phone: Some("+7 919 424 9512"),
        birth_date: "2002-01-13",
        gender: None,
        hobbies: None,
        processing_time: Some(5),
    },
];

/// Step 15 — a thread per student, named after the student, keeps the
/// student's record in thread-local storage, "processes" it for its
/// processing time (tenths of `unit`, default 3), then prints every present
/// field. The threads start `stagger` apart.
///
/// Returns, per thread, the lines it printed, each tagged with the name of
/// the thread that printed it.
fn step_15(students: &[Student], unit: Duration, stagger: Duration) -> Vec<Vec<String>> {
    let mut threads = Vec::new();
    for student in students {
        let student = student.clone();
        let handle = thread::Builder::new()
            .name(student.name.to_owned())
            .spawn(move || {
                STUDENT.set(Some(student));
                let tenths = STUDENT
                    .with_borrow(|s| s.as_ref().and_then(|s| s.processing_time).unwrap_or(3));
                thread::sleep(unit * tenths / 10);
                let me = thread::current();
                let me = me.name().expect("named at spawn");
                STUDENT.with_borrow(|s| {
                    let s = s.as_ref().expect("stored above");
                    s.present_fields()
                        .into_iter()
                        .map(|(label, value)| {
                            let line = format!("thread {me}, thread-local data - {label}: {value}");
                            println!("{line}");
                            line
                        })
                        .collect::<Vec<_>>()
                })
            })
            .expect("the OS refused to create a thread");
        threads.push(handle);
        thread::sleep(stagger);
    }
    threads
        .into_iter()
        .map(|t| t.join().expect("a student thread panicked"))
        .collect()
}

fn show_step_15() {
    step_15(
        &STUDENTS,
        Duration::from_secs(1),
        Duration::from_millis(100),
    );
}

/// Main sets its own copy; a spawned thread counts to 1000 in its copy; main's
/// copy is untouched. Returns (main's value, the thread's value).
fn main_value_survives() -> (u32, u32) {
    COUNTER.set(7);
    let other = thread::spawn(|| {
        // A new thread starts from the initial value, not from main's 7.
        for _ in 0..1000 {
            COUNTER.set(COUNTER.get() + 1);
        }
        COUNTER.get()
    })
    .join()
    .expect("the counting thread panicked");
    (COUNTER.get(), other)
}

fn show_main_value_survives() {
    let (main_value, thread_value) = main_value_survives();
    println!("main's counter: {main_value}; the other thread's counter: {thread_value}");
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 1.9 — Thread-local data («Хранение локальных данных потока»)",
        &[
            Step::new(
                "step_14",
                "three threads, each with its own message",
                show_step_14,
            ),
            Step::new(
                "step_15",
                "each student's record in its thread's storage",
                show_step_15,
            ),
            Step::new(
                "main_value_survives",
                "another thread's writes never reach main's copy",
                show_main_value_survives,
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;

    #[test]
    fn step_14_every_thread_reads_its_own_message() {
        assert_eq!(step_14(), vec!["HELLO LOCAL STORAGE!"; 3]);
    }

    #[test]
    fn step_14_leaves_this_thread_storage_empty() {
        step_14();
        assert_eq!(MESSAGE.with_borrow(String::clone), "");
    }

    #[test]
    fn step_15_each_thread_prints_only_its_own_student() {
        let printed = deadline(Duration::from_secs(10), || {
            step_15(&STUDENTS, Duration::from_millis(20), Duration::ZERO)
        });
        assert_eq!(printed.len(), STUDENTS.len());
        for (student, lines) in STUDENTS.iter().zip(&printed) {
            // Ten of the thirteen fields are present for each student.
            assert_eq!(lines.len(), 10, "{lines:?}");
            let prefix = format!("thread {}, ", student.name);
            assert!(lines.iter().all(|l| l.starts_with(&prefix)), "{lines:?}");
            assert!(lines.iter().any(|l| l.ends_with(student.email)));
        }
        assert!(
            printed[0]
                .iter()
                .any(|l| l.ends_with("hobbies: Physics, Astronomy"))
        );
        assert!(
            printed[1]
                .iter()
                .any(|l| l.ends_with("phone: +7 919 424 9512"))
        );
    }

    #[test]
    fn main_keeps_its_value() {
        assert_eq!(main_value_survives(), (7, 1000));
    }
}
