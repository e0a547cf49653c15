//! Step 14: fields from ten files, zipped into records, written as JSON.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::Mutex;
use std::thread;

/// The course's ten files, one field each, one line per person.
#[rustfmt::skip]
pub const FIELDS: [&str; 10] = [
    "first_name", "last_name", "age", "country", "hobbies",
    "salary", "job_title", "email", "projects", "education",
];

/// The course does not ship its files; these people fill the generated ones,
/// one line each, the fields in [`FIELDS`] order.
pub const PEOPLE: [&str; 4] = [
    "Anna Petrova 29 Russia chess 85000 engineer anna@example.com 4 MSc",
    "Boris Ivanov 41 Kazakhstan fishing 120000 architect boris@example.com 11 PhD",
    "Vera Smirnova 35 Serbia painting 97000 analyst vera@example.com 7 BSc",
    "Gleb Sokolov 23 Georgia climbing 64000 tester gleb@example.com 2 BSc",
];

/// Writes one `<field>.txt` per field into `dir`, one line per person.
pub fn write_inputs(dir: &Path, people: &[&str]) -> io::Result<()> {
    for (column, field) in FIELDS.iter().enumerate() {
        let lines: String = people
            .iter()
            .map(|p| format!("{}\n", p.split(' ').nth(column).unwrap_or_default()))
            .collect();
        fs::write(dir.join(format!("{field}.txt")), lines)?;
    }
    Ok(())
}

/// One person: `(field, value)` in [`FIELDS`] order.
pub type Record = Vec<(&'static str, String)>;

/// Step 14 — read the ten field files in ten threads, zip their lines into
/// one record per person and write the records to `output` as JSON, each
/// record's keys in the files' order (as Python's `dict` keeps them).
///
/// Differences from the course, each on purpose:
/// - Python reads every file *while holding* `list_queues_lock`, so the ten
///   reads run one after another; here only the insert takes the lock.
/// - Python appends each file's rows to a list in whatever order the threads
///   finish, then zips that list with the field names in file order: a file
///   that finishes early lands under another file's name (run on these
///   files, it wrote Anna's "country": "chess"). Keying the columns by field
///   name keeps every value under its own name.
/// - Ragged files (different line counts) are an error, not a short zip.
pub fn step_14(dir: &Path, output: &Path) -> io::Result<Vec<Record>> {
    let columns: Mutex<HashMap<&str, Vec<String>>> = Mutex::new(HashMap::new());
    thread::scope(|s| {
        let readers: Vec<_> = FIELDS
            .iter()
            .map(|&field| {
                let columns = &columns;
                s.spawn(move || -> io::Result<()> {
                    let text = fs::read_to_string(dir.join(format!("{field}.txt")))?;
                    let values = text.lines().map(|line| line.trim().to_owned()).collect();
                    columns.lock().unwrap().insert(field, values);
                    Ok(())
                })
            })
            .collect();
        readers
            .into_iter()
            .try_for_each(|reader| reader.join().unwrap())
    })?;
    let mut columns = columns.into_inner().unwrap();

    let rows = columns.values().map(Vec::len).max().unwrap_or(0);
    if columns.values().any(|column| column.len() != rows) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the field files have different numbers of lines",
        ));
    }
    let mut records: Vec<Record> = vec![Vec::new(); rows];
    for field in FIELDS {
        let column = columns.remove(field).unwrap_or_default();
        for (record, value) in records.iter_mut().zip(column) {
            record.push((field, value));
        }
    }
    // One writer, after the readers are done: no lock needed for the output.
    fs::write(output, to_json(&records))?;
    Ok(records)
}

/// `json.dump(records, f, ensure_ascii=False, indent=4)`, keys in field
/// order. serde_json's own `Map` sorts its keys unless the crate is built
/// with its `preserve_order` feature (not enabled in this workspace), so the
/// object is written by hand; serde_json still escapes each string.
pub fn to_json(records: &[Record]) -> String {
    let quote = |s: &str| serde_json::to_string(s).expect("a string always serialises");
    let objects: Vec<String> = records
        .iter()
        .map(|record| {
            let fields: Vec<String> = record
                .iter()
                .map(|(field, value)| format!("        {}: {}", quote(field), quote(value)))
                .collect();
            format!("    {{\n{}\n    }}", fields.join(",\n"))
        })
        .collect();
    format!("[\n{}\n]", objects.join(",\n"))
}

pub fn show_step_14() {
    let dir = tempfile::tempdir().expect("creating a temporary directory should work");
    write_inputs(dir.path(), &PEOPLE).expect("writing the input files should work");
    let output = dir.path().join("result.json");
    let records = step_14(dir.path(), &output).expect("step 14 should read its own files");
    println!("result.json, {} records:", records.len());
    print!(
        "{}",
        fs::read_to_string(&output).expect("result.json was just written")
    );
    println!();
    // `dir` is dropped here and takes the files with it.
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn writes_one_record_per_person_with_keys_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        write_inputs(dir.path(), &PEOPLE).unwrap();
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
        write_inputs(dir.path(), &PEOPLE).unwrap();
        fs::write(dir.path().join("age.txt"), "29\n").unwrap();
        let err = step_14(dir.path(), &dir.path().join("out.json")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
