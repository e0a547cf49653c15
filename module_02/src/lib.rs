//! Lessons 2.9, 2.11 and 2.12 time their workloads with the workspace's
//! measuring kit, the `measure` crate: every configuration once uncounted,
//! then rounds that take turns; the median and the spread (fastest to
//! slowest run) of each; and a `verdict:` that compares the configurations
//! round by round (the crate's docs give the rule).

// The lessons, each a page of this crate's documentation: rustdoc reads
// every lesson binary's source as a module of this library. Only rustdoc
// sees these modules (`cfg(doc)`, set by `cargo doc` and `cargo test
// --doc`), so no lesson is compiled twice. They are private, as the steps
// in them are: .cargo/config.toml has rustdoc document private items. The
// lessons name this library `module_02`, as their binaries do.
#[cfg(doc)]
extern crate self as module_02;
#[cfg(doc)]
#[path = "bin/lesson_01.rs"]
mod lesson_01;
#[cfg(doc)]
#[path = "bin/lesson_02.rs"]
mod lesson_02;
#[cfg(doc)]
#[path = "bin/lesson_03.rs"]
mod lesson_03;
#[cfg(doc)]
#[path = "bin/lesson_04.rs"]
mod lesson_04;
#[cfg(doc)]
#[path = "bin/lesson_05.rs"]
mod lesson_05;
#[cfg(doc)]
#[path = "bin/lesson_06.rs"]
mod lesson_06;
#[cfg(doc)]
#[path = "bin/lesson_07.rs"]
mod lesson_07;
#[cfg(doc)]
#[path = "bin/lesson_08.rs"]
mod lesson_08;
#[cfg(doc)]
#[path = "bin/lesson_09.rs"]
mod lesson_09;
#[cfg(doc)]
#[path = "bin/lesson_10.rs"]
mod lesson_10;
#[cfg(doc)]
#[path = "bin/lesson_11.rs"]
mod lesson_11;
#[cfg(doc)]
#[path = "bin/lesson_12.rs"]
mod lesson_12;
