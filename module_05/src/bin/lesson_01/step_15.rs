//! Step 15: a pipeline. Extract (one task per file) → queue → transform →
//! queue → load (append each sum to one file).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread;

/// Writes `count` files `numbers_NN.txt` into `dir`, ten integers each.
/// The course does not ship its files; these numbers are made up.
pub fn write_inputs(dir: &Path, count: u32) -> io::Result<()> {
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
fn transform(lines: &[String]) -> io::Result<f64> {
    lines
        .iter()
        .map(|line| {
            let n: i64 = line.trim().parse().map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("{line:?}: {e}"))
            })?;
            Ok(n as f64 * 3.0 / 4.0)
        })
        .sum()
}

/// Step 15 — the course's three stages, joined by two queues: one extract
/// task per file puts the file's lines into the first queue; one transform
/// thread turns each file's lines into a sum for the second queue; one load
/// thread appends each sum to `output`, a line per file in the order the
/// sums arrive (like Python, which writes only the sum).
///
/// Where the channels improve on the course's `Queue`s: Python must wait
/// for *all* extract tasks before starting the transform, and for the
/// transform before the load, because each stage loops `while not
/// queue.empty()` and would stop at the first empty moment. A channel
/// instead ends when every sender is gone and it is empty, so here the three
/// stages run at the same time and each stops exactly when its input is done.
///
/// The file: Python appends under `lock_result_file`; here the one load
/// thread *owns* the file, so no other thread can write to it and no lock
/// is needed (with several loaders it would be a `Mutex<File>`).
pub fn step_15(input_dir: &Path, output: &Path) -> io::Result<()> {
    let mut inputs: Vec<PathBuf> = fs::read_dir(input_dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    inputs.sort();
    let mut file = OpenOptions::new().create(true).append(true).open(output)?;
    let (extracted, to_transform) = crossbeam_channel::unbounded::<Vec<String>>();
    let (transformed, to_load) = crossbeam_channel::unbounded::<f64>();
    thread::scope(|s| {
        let extractors: Vec<_> = inputs
            .iter()
            .map(|path| {
                let extracted = extracted.clone();
                s.spawn(move || -> io::Result<()> {
                    let text = fs::read_to_string(path)?;
                    // A send fails only if the transform stage has stopped
                    // (on an error): then there is nothing left to do.
                    let _ = extracted.send(text.lines().map(str::to_owned).collect());
                    Ok(())
                })
            })
            .collect();
        // The extractors hold the only senders now: when they are done, the
        // first queue closes.
        drop(extracted);
        let transform = s.spawn(move || -> io::Result<()> {
            for lines in to_transform {
                let _ = transformed.send(transform(&lines)?);
            }
            Ok(())
        });
        let load = s.spawn(move || -> io::Result<()> {
            for sum in to_load {
                // `{:?}` prints 75.0 as `75.0`, like Python's `str(float)`.
                writeln!(file, "{sum:?}")?;
            }
            Ok(())
        });
        for extractor in extractors {
            extractor.join().unwrap()?;
        }
        transform.join().unwrap()?;
        load.join().unwrap()
    })
}

pub fn show_step_15() {
    let dir = tempfile::tempdir().expect("creating a temporary directory should work");
    let input = dir.path().join("input");
    fs::create_dir(&input).expect("a fresh temporary directory takes a folder");
    write_inputs(&input, 10).expect("writing the input files should work");
    let output = dir.path().join("result.txt");
    step_15(&input, &output).expect("step 15 should read its own files");
    println!("result.txt (one sum per file, in the order they reached the loader):");
    print!(
        "{}",
        fs::read_to_string(&output).expect("result.txt was just written")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_every_files_sum_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input");
        fs::create_dir(&input).unwrap();
        write_inputs(&input, 10).unwrap();
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
        write_inputs(dir.path(), 3).unwrap();
        fs::write(dir.path().join("numbers_02.txt"), "12\nthirteen\n").unwrap();
        let output = dir.path().join("out").with_extension("txt");
        let input = dir.path().to_owned();
        let err = course_tests::deadline(std::time::Duration::from_secs(20), move || {
            step_15(&input, &output).unwrap_err()
        });
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
