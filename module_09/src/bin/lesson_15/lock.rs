//! `Lock` between processes: several processes append records to one file.
//!
//! A record is one line in three writes, as a logger may write a prefix,
//! a message and a newline. Appending (`O_APPEND`), each write lands at the
//! end of the file as it is then: no process overwrites another's bytes
//! (POSIX promises that). But nothing keeps a record's writes together:
//! others land in the gaps, and lines mix (very likely, not certain).
//! Linux's local filesystems do not split one small write in practice, but
//! POSIX promises that only for pipes (up to `PIPE_BUF` bytes): one write
//! per record is a habit, not a guarantee.
//!
//! `file.lock()` (std 1.89; `flock` on Linux) takes an exclusive advisory
//! lock: another `lock()` on the file waits until `unlock()`, or until the
//! holder closes the file or exits. It does not stop a process that never
//! calls `lock()`, nor handles cloned or inherited from the holder's `open`
//! (they share its `flock`): so each appender opens the file itself.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ChildProcess, Role, this_program};

/// An appender's part: its number, whether to lock, and the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Append {
    id: u32,
    locked: bool,
    path: PathBuf,
}

const APPENDERS: u32 = 3;
const RECORDS: u32 = 8;
/// A record's three writes, a pause before each: whole, a line reads
/// `i:rr begin i:rr middle i:rr end`.
const PARTS: [&str; 3] = ["begin ", "middle ", "end\n"];
const GAP: Duration = Duration::from_millis(3);

/// The appender's side: append the records, each under the lock if asked.
pub fn append(me: Append) -> io::Result<()> {
    let mut file = OpenOptions::new().append(true).open(&me.path)?;
    for record in 0..RECORDS {
        if me.locked {
            file.lock()?;
        }
        for part in PARTS {
            thread::sleep(GAP);
            // A `?` returns and closes `file`, which releases the lock.
            file.write_all(format!("{}:{record:02} {part}", me.id).as_bytes())?;
        }
        if me.locked {
            file.unlock()?;
        }
    }
    Ok(())
}

/// The appenders' pids, and the file they appended to, locking if `locked`.
fn appended(program: &Path, locked: bool) -> io::Result<(Vec<u32>, String)> {
    let file = tempfile::NamedTempFile::new()?;
    let mut children = Vec::new();
    for id in 0..APPENDERS {
        let path = file.path().to_owned();
        let me = Role::Appender(Append { id, locked, path });
        children.push(ChildProcess::start(program, &me, Stdio::null())?);
    }
    let pids = children.iter().map(|child| child.0.id()).collect();
    for child in &mut children {
        let status = child.0.wait()?;
        if !status.success() {
            return Err(io::Error::other(format!("an appender failed: {status}")));
        }
    }
    Ok((pids, fs::read_to_string(file.path())?))
}

/// The lines that hold one record whole, and the lines that mix records.
fn check(text: &str) -> (Vec<&str>, Vec<&str>) {
    text.lines().partition(|line| {
        let id = line.split(' ').next().unwrap_or_default();
        *line == format!("{id} begin {id} middle {id} end")
    })
}

/// Three processes append eight records each, without the lock, then with.
pub fn show_append() {
    for locked in [false, true] {
        let (pids, text) = match appended(&this_program(), locked) {
            Ok(appended) => appended,
            Err(e) => return println!("error: {e}"),
        };
        let (whole, mixed) = check(&text);
        let (with, whole) = (if locked { "with" } else { "without" }, whole.len());
        println!("{with} the lock, processes {pids:?}:");
        println!("  whole records: {whole}, mixed lines: {}", mixed.len());
        for line in mixed.iter().take(2) {
            println!("  for example: {line}");
        }
    }
}

#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;
    use crate::tests::{assert_gone, lesson_binary};

    fn appended_within_a_minute(locked: bool) -> (Vec<u32>, String) {
        let program = lesson_binary();
        course_tests::deadline(Duration::from_secs(60), move || {
            appended(&program, locked).unwrap()
        })
    }

    /// Every part of every record, sorted: what the file must hold, each
    /// part exactly once, in whatever order.
    fn all_parts() -> Vec<String> {
        let ids = (0..APPENDERS).flat_map(|i| (0..RECORDS).map(move |r| format!("{i}:{r:02}")));
        let mut parts: Vec<String> = ids
            .flat_map(|id| PARTS.map(|part| format!("{id} {}", part.trim_end())))
            .collect();
        parts.sort();
        parts
    }

    /// The parts found in `text`, sorted.
    fn parts_in(text: &str) -> Vec<String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let mut parts: Vec<String> = words.chunks(2).map(|pair| pair.join(" ")).collect();
        parts.sort();
        parts
    }

    #[test]
    fn with_the_lock_every_record_is_whole() {
        let (pids, text) = appended_within_a_minute(true);
        let (whole, mixed) = check(&text);
        assert_eq!(mixed, Vec::<&str>::new());
        assert_eq!(whole.len(), 24);
        assert_eq!(parts_in(&text), all_parts());
        // Each appender's records in its own order.
        for i in 0..APPENDERS {
            let mine: Vec<&str> = whole
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("{i}:")))
                .collect();
            let expected: Vec<String> = (0..RECORDS)
                .map(|r| format!("{i}:{r:02} begin {i}:{r:02} middle {i}:{r:02} end"))
                .collect();
            assert_eq!(mine, expected);
        }
        assert_gone(&pids);
    }

    /// Without the lock, lines mix in practice (the step shows it), but no
    /// schedule is promised, so this test cannot require it. What it can
    /// require holds locked or not: appending loses and overwrites nothing.
    #[test]
    fn without_the_lock_nothing_is_lost() {
        let (pids, text) = appended_within_a_minute(false);
        assert_eq!(parts_in(&text), all_parts(), "{text}");
        assert_eq!(text.lines().count(), 24, "one newline per record");
        assert_gone(&pids);
    }

    #[test]
    fn the_check_tells_whole_lines_from_mixed_ones() {
        let text = "0:00 begin 1:00 begin 0:00 middle 0:00 end\n1:00 middle 1:00 end\n2:00 begin 2:00 middle 2:00 end\n";
        let (whole, mixed) = check(text);
        assert_eq!(whole, ["2:00 begin 2:00 middle 2:00 end"]);
        assert_eq!(
            mixed,
            [
                "0:00 begin 1:00 begin 0:00 middle 0:00 end",
                "1:00 middle 1:00 end"
            ]
        );
    }

    #[test]
    fn an_appender_appends_its_records_to_what_is_there() {
        let file = tempfile::NamedTempFile::new().unwrap();
        fs::write(file.path(), "first line\n").unwrap();
        let path = file.path().to_owned();
        append(Append {
            id: 4,
            locked: true,
            path,
        })
        .unwrap();
        let text = fs::read_to_string(file.path()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + RECORDS as usize);
        assert_eq!(lines[0], "first line");
        assert_eq!(lines[1], "4:00 begin 4:00 middle 4:00 end");
        assert_eq!(check(&text).0.len(), RECORDS as usize);
    }
}
