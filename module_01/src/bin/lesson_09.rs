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
//! - Run all steps: `cargo run -p module_01 --bin lesson_09`
//! - Run one step:  `cargo run -p module_01 --bin lesson_09 -- step_14`
//!
//! Output order varies between runs where threads race; the values do not.
//!
//! Try: in `main_value_survives`, call the closure directly instead of
//! passing it to `thread::spawn` (and drop `.join().unwrap()`): both
//! values become 1007. Why does the same code now touch `main`'s copy?

use std::cell::{Cell, RefCell};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use step_runner::{Sink, Step, lesson_id};

thread_local! {
    /// Step 14's storage: empty in every thread until that thread fills it.
    static MESSAGE: RefCell<String> = const { RefCell::new(String::new()) };
    /// Step 15's storage: the student this thread is processing.
    static STUDENT: RefCell<Option<Student>> = const { RefCell::new(None) };
    /// A counter for the "main's value survives" demo.
    static COUNTER: Cell<u32> = const { Cell::new(0) };
    /// The lecture demo's storage: a text per thread.
    static LABEL: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Lecture demo (1.9) — `main` stores a text in its thread-local storage;
/// threads `Поток-1` and `Поток-2` (the course's names) each store their
/// own after `pause` (0.1 s); `main` reads its text back, unchanged.
fn own_storage(pause: Duration, sink: &Sink) {
    let report = || {
        let me = thread::current();
        let me = me.name().unwrap_or("<unnamed>").to_owned();
        LABEL.with_borrow(|label| sink.note(format!("thread {me}; local data: {label}")));
    };
    LABEL.set("the main thread's storage".to_owned());
    report();
    thread::scope(|s| {
        for i in 1..=2 {
            thread::Builder::new()
                .name(format!("Поток-{i}"))
                .spawn_scoped(s, move || {
                    thread::sleep(pause);
                    LABEL.set(format!("thread {i}'s local data"));
                    report();
                })
                .expect("the OS should have room for one more thread");
        }
    });
    report();
}

fn show_own_storage() {
    own_storage(Duration::from_millis(100), &Sink::stdout());
}

/// Step 14 — three threads each store a message in thread-local storage and
/// print it back.
///
/// Returns what each thread read back. The threads are joined (by the
/// scope); the Python exercise leaves that to the interpreter's exit.
fn step_14(sink: &Sink) -> Vec<String> {
    thread::scope(|s| {
        let threads: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    MESSAGE.set("HELLO LOCAL STORAGE!".to_owned());
                    MESSAGE.with_borrow(|message| {
                        sink.note(format!("data in thread-local storage: {message}"));
                        message.clone()
                    })
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

fn show_step_14() {
    step_14(&Sink::stdout());
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
    /// The fields that are present, as `(label, value)` pairs, in the
    /// order of the course's dictionary (Python's `dict` keeps insertion
    /// order). The hobbies print as a list, as Python prints them.
    fn present_fields(&self) -> Vec<(&'static str, String)> {
        let text = |value: Option<&str>| value.map(str::to_owned);
        let fields = [
            ("age", Some(self.age.to_string())),
            ("specialty", text(self.specialty)),
            ("city", text(self.city)),
            ("country", text(self.country)),
            ("university", text(self.university)),
            ("year", Some(self.year.to_string())),
            ("group", Some(self.group.to_owned())),
            ("email", Some(self.email.to_owned())),
            ("phone", text(self.phone)),
            ("birth date", Some(self.birth_date.to_owned())),
            ("gender", text(self.gender)),
            ("hobbies", self.hobbies.map(|h| format!("{h:?}"))),
            (
                "processing time",
                self.processing_time.map(|t| t.to_string()),
            ),
        ];
        fields
            .into_iter()
            .filter_map(|(label, value)| Some((label, value?)))
            .collect()
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
/// field. The threads start `stagger` apart (the exercise's 0.1 s; the
/// lecture's version starts them at once).
///
/// Each line goes to `sink`, tagged with the name of the thread that wrote
/// it. With the course's times both threads print 0.6 s in (0.6 s of work;
/// 0.1 s of stagger plus 0.5 s), so which comes first varies, in Python too.
fn step_15(students: &[Student], unit: Duration, stagger: Duration, sink: &Sink) {
    thread::scope(|s| {
        for student in students {
            let student = student.clone();
            thread::Builder::new()
                .name(student.name.to_owned())
                .spawn_scoped(s, move || {
                    STUDENT.set(Some(student));
                    let tenths = STUDENT
                        .with_borrow(|s| s.as_ref().and_then(|s| s.processing_time).unwrap_or(3));
                    thread::sleep(unit * tenths / 10);
                    let me = thread::current();
                    let me = me
                        .name()
                        .expect("the thread should have its name from spawn");
                    STUDENT.with_borrow(|s| {
                        let s = s.as_ref().expect("the record should be stored above");
                        for (label, value) in s.present_fields() {
                            sink.note(format!("thread {me}, thread-local data - {label}: {value}"));
                        }
                    });
                })
                .expect("the OS should have room for one more thread");
            thread::sleep(stagger);
        }
    });
}

fn show_step_15() {
    let (unit, stagger) = (Duration::from_secs(1), Duration::from_millis(100));
    step_15(&STUDENTS, unit, stagger, &Sink::stdout());
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
    .unwrap();
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
            Step::new("own_storage", "each thread's own text", show_own_storage),
            Step::new("step_14", "each thread its own message", show_step_14),
            Step::new("step_15", "a student per thread", show_step_15),
            Step::new(
                "main_value_survives",
                "main's copy stays",
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
        let sink = Sink::collect();
        assert_eq!(step_14(&sink), vec!["HELLO LOCAL STORAGE!"; 3]);
        let line = "data in thread-local storage: HELLO LOCAL STORAGE!";
        assert_eq!(sink.lines(), [line; 3]);
    }

    #[test]
    fn step_14_leaves_this_thread_storage_empty() {
        step_14(&Sink::collect());
        assert_eq!(MESSAGE.with_borrow(String::clone), "");
    }

    #[test]
    fn step_15_each_thread_prints_its_own_student_in_the_course_order() {
        let lines = deadline(Duration::from_secs(10), || {
            let sink = Sink::collect();
            step_15(&STUDENTS, Duration::from_millis(20), Duration::ZERO, &sink);
            sink.lines()
        });
        let of = |name: &str| -> Vec<String> {
            let prefix = format!("thread {name}, thread-local data - ");
            let mine = lines.iter().filter_map(|l| l.strip_prefix(&prefix));
            mine.map(str::to_owned).collect()
        };
        assert_eq!(
            of("Varlaam Biryukova"),
            [
                "age: 25",
                "country: Russia",
                "university: ZAO «Mironova-Prokhorov»",
                "year: 3",
                "group: CK008",
                "email: ostaplitkin@example.com",
                "birth date: 2005-08-22",
                "gender: Female",
                r#"hobbies: ["Physics", "Astronomy"]"#,
                "processing time: 6",
            ]
        );
        assert_eq!(
            of("Nikandr Mamontov"),
            [
                "age: 20",
                "specialty: Computer science",
                "city: k. Oktyabrsky (Bashk.)",
                "country: Russia",
                "year: 3",
                "group: LE057",
                "email: jakub_2001@example.org",
                "phone: +7 919 424 9512",
                "birth date: 2002-01-13",
                "processing time: 5",
            ]
        );
        assert_eq!(lines.len(), 20);
    }

    #[test]
    fn own_storage_each_thread_reads_its_own_text() {
        let lines = deadline(Duration::from_secs(10), || {
            let sink = Sink::collect();
            own_storage(Duration::from_millis(5), &sink);
            sink.lines()
        });
        assert_eq!(lines.len(), 4, "{lines:?}");
        let main_line = format!(
            "thread {}; local data: the main thread's storage",
            "deadline-body"
        );
        assert_eq!([&lines[0], &lines[3]], [&main_line, &main_line]);
        let mut threads = lines[1..3].to_vec();
        threads.sort();
        assert_eq!(
            threads,
            [
                "thread Поток-1; local data: thread 1's local data",
                "thread Поток-2; local data: thread 2's local data"
            ]
        );
    }

    #[test]
    fn main_keeps_its_value() {
        assert_eq!(main_value_survives(), (7, 1000));
    }
}
