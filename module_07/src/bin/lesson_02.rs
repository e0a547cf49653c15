//! Lesson 7.2 — Concurrent file downloads («Одновременная загрузка файлов»)
//!
//! Save files into a directory with a fixed number of downloads at once, and
//! report each file as it completes. Saving safely is half the job: the file
//! name comes from the URL, so it is cleaned before it touches the disk;
//! each file is written under a temporary name and renamed when complete,
//! so a failed download leaves nothing behind and a reader never sees half a
//! file.
//!
//! | Python                                             | Rust                                                      |
//! |----------------------------------------------------|-----------------------------------------------------------|
//! | `ThreadPoolExecutor(max_workers=N)`                | `thread::scope` + N workers fed by a `crossbeam_channel`   |
//! | `as_completed(futures)`                            | receiving results from a channel in completion order      |
//! | `requests.get(url, stream=True)` + `iter_content`  | `io::copy(&mut response, &mut file)` (streams, no full buffer) |
//! | `open(path, "wb")` on the final name               | `tempfile::Builder::new().tempfile_in(dir)` (temporary name) |
//! | `os.replace(tmp, path)`                            | `NamedTempFile::persist_noclobber(path)` (never overwrites) |
//! | `os.path.basename(name)`                           | `sanitise(name)`: last component, safe characters only   |
//! | `urllib.parse.unquote(segment)`                    | `percent_encoding::percent_decode_str(segment)`           |
//! | `tempfile.TemporaryDirectory()`                    | `tempfile::tempdir()` (removed when dropped)              |
//!
//! Run all steps: `cargo run -p module_07 --bin lesson_02`
//! Run one step:  `cargo run -p module_07 --bin lesson_02 -- save_files`
//! Keep the files and pick the concurrency:
//! `cargo run -p module_07 --bin lesson_02 -- save_files --out downloads --jobs 8`
//! Your own URLs: `cargo run -p module_07 --bin lesson_02 -- save_files --out downloads https://example.com/a.bin`
//! Without `--out` the files go to a temporary directory that is removed at
//! the end; without URLs they come from a demo server on 127.0.0.1.
//! `hostile_names` always uses the demo server and a temporary directory.
//!
//! Try: in `persist_unique`, call `persist` instead of `persist_noclobber`
//! and run `-- hostile_names`: the second `report…pdf` silently replaces the
//! first. Which test notices?

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use module_07::saving::{FALLBACK_NAME, MAX_CLASHES, numbered, sanitise, suggested_name};
use module_07::{
    DemoServer, SaveArgs, ServerConfig, Targets, Url, blocking_client, demo_files, error_chain,
    output_dir,
};
use step_runner::{Outcome, Sink, Step, lesson_id};
use tempfile::NamedTempFile;

/// The demo server's latency per response.
const DELAY: Duration = Duration::from_millis(300);
const FILES: usize = 10;
const TIMEOUT: Duration = Duration::from_secs(30);

/// A file saved in the output directory.
#[derive(Debug)]
struct Saved {
    /// The final path, inside the output directory.
    path: PathBuf,
    /// The name the URL suggested, before cleaning.
    suggested: String,
    bytes: u64,
}

/// Why one download failed. Each variant keeps its cause as its `source()`;
/// [`error_chain`] prints the whole chain.
#[derive(Debug, thiserror::Error)]
enum SaveError {
    /// No answer, or an error status.
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// The body broke off. reqwest's `Read` for a blocking `Response` puts
    /// its own error inside the `io::Error`.
    #[error("reading the response")]
    Read(#[source] io::Error),
    #[error("writing the file")]
    Disk(#[from] io::Error),
    /// The body's size differs from the announced `Content-Length`. hyper
    /// already fails a body that breaks off; this check keeps the promise
    /// "the saved file is complete" visible where the file is written.
    #[error("expected {expected} bytes, received {received}")]
    Truncated { expected: u64, received: u64 },
}

impl SaveError {
    /// An error of `io::copy` from the response into the file: reading
    /// failed if reqwest's error is inside, writing if not.
    fn from_copy(error: io::Error) -> Self {
        if error
            .get_ref()
            .is_some_and(|inner| inner.is::<reqwest::Error>())
        {
            Self::Read(error)
        } else {
            Self::Disk(error)
        }
    }
}

/// Gives the finished temporary file its final name in `dir`: the URL's
/// name made safe by [`sanitise`] (`module_07::saving`, with the rules for
/// untrusted names). Never overwrites: two URLs may suggest the same name,
/// and a file already there may be the user's.
fn persist_unique(mut file: NamedTempFile, dir: &Path, name: &str) -> io::Result<PathBuf> {
    for n in 0..MAX_CLASHES {
        let path = dir.join(numbered(name, n));
        match file.persist_noclobber(&path) {
            Ok(_) => return Ok(path),
            Err(error) if error.error.kind() == io::ErrorKind::AlreadyExists => file = error.file,
            Err(error) => return Err(error.error),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("too many files named like {name}"),
    ))
}

/// Downloads `url` into `dir`. The body streams into a temporary file in
/// `dir` itself, which is renamed once complete. It has to be in `dir`: a
/// rename cannot cross file systems (it fails with `EXDEV`, "Invalid
/// cross-device link"; tempfile's docs: "Temporary files cannot be persisted
/// across filesystems"), so a file in `/tmp` could not become one in an
/// `--out` directory on another disk. On any error the temporary file is
/// deleted when `partial` is dropped.
fn save(client: &reqwest::blocking::Client, url: &Url, dir: &Path) -> Result<Saved, SaveError> {
    let mut response = client.get(url.clone()).send()?.error_for_status()?;
    let expected = response.content_length();
    let mut partial = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)?;
    // `io::copy` rather than `response.copy_to`: reqwest reports any failure
    // of `copy_to` as its own error, a full disk included.
    let received = io::copy(&mut response, &mut partial).map_err(SaveError::from_copy)?;
    if let Some(expected) = expected.filter(|&expected| expected != received) {
        return Err(SaveError::Truncated { expected, received });
    }
    // On disk before it gets its final name, so a crash cannot leave a
    // complete-looking name with missing data.
    partial.as_file().sync_all()?;
    let suggested = suggested_name(url);
    let path = persist_unique(partial, dir, &sanitise(&suggested))?;
    Ok(Saved {
        path,
        suggested,
        bytes: received,
    })
}

/// One finished download, as reported in completion order.
struct Done {
    url: Url,
    result: Result<Saved, SaveError>,
    /// Time since the whole batch started.
    at: Duration,
}

/// Step `save_files` — downloads `urls` into `dir`, at most `jobs` at once,
/// and reports each download to `sink` in the calling thread the moment it
/// completes (like iterating `as_completed`). Returns every outcome, in
/// completion order.
fn save_all(
    client: &reqwest::blocking::Client,
    urls: &[Url],
    dir: &Path,
    jobs: usize,
    sink: &Sink,
) -> Vec<Done> {
    let started = Instant::now();
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<&Url>();
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Done>();
    for url in urls {
        job_tx.send(url).expect("the receiver is alive");
    }
    // Closing the queue is how the workers learn there is no more work.
    drop(job_tx);
    // `move`: the closure owns `done_rx`, so if reporting panics (printing to
    // a closed pipe, say) the receiver is dropped while the panic leaves the
    // closure, before the scope waits for the workers.
    thread::scope(move |s| {
        for _ in 0..jobs.clamp(1, urls.len().max(1)) {
            let (job_rx, done_tx) = (job_rx.clone(), done_tx.clone());
            s.spawn(move || {
                for url in job_rx {
                    let result = save(client, url, dir);
                    let at = started.elapsed();
                    let done = Done {
                        url: url.clone(),
                        result,
                        at,
                    };
                    // Fails only when the collector has gone: nobody wants
                    // the remaining downloads, so stop taking them.
                    if done_tx.send(done).is_err() {
                        break;
                    }
                }
            });
        }
        // Only the workers' clones remain: the loop below ends when the last
        // worker is done.
        drop(done_tx);
        let mut finished = Vec::new();
        for done in done_rx {
            sink.note(done_line(&done, finished.len() + 1, urls.len()));
            finished.push(done);
        }
        finished
    })
}

/// The live line of the `n`-th finished download of `total`.
fn done_line(done: &Done, n: usize, total: usize) -> String {
    let at = done.at.as_secs_f64();
    match &done.result {
        Ok(saved) => format!(
            "[{n:>2}/{total}] {at:>5.2} s  saved {} ({} bytes)",
            shown(&saved.path),
            saved.bytes
        ),
        Err(error) => format!(
            "[{n:>2}/{total}] {at:>5.2} s  FAILED {}: {}",
            done.url,
            error_chain(error)
        ),
    }
}

/// The name of a saved file relative to the output directory.
fn shown(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn show_save_files(args: SaveArgs) -> Outcome {
    let targets = Targets::new(&args.urls, ServerConfig::with_delay(DELAY), |server| {
        server.file_urls(&demo_files(FILES))
    });
    let (dir, temporary) = match output_dir(args.out.as_deref()) {
        Ok(found) => found,
        Err(error) => {
            eprintln!("error: cannot use the output directory: {error}");
            return Outcome::Failed;
        }
    };
    let total = targets.urls.len();
    match &temporary {
        Some(_) => println!(
            "{total} files into a temporary directory (removed at the end; --out DIR keeps them)"
        ),
        None => println!("{total} files into {}", dir.display()),
    }
    let client = blocking_client(TIMEOUT);
    let done = save_all(&client, &targets.urls, &dir, args.jobs, &Sink::stdout());
    let saved: u64 = done
        .iter()
        .filter_map(|done| done.result.as_ref().ok())
        .map(|saved| saved.bytes)
        .sum();
    let failed = done.iter().filter(|done| done.result.is_err()).count();
    let elapsed = done.iter().map(|done| done.at).max().unwrap_or_default();
    println!(
        "{} saved ({saved} bytes), {failed} failed, in {:.2} s with {} at once",
        total - failed,
        elapsed.as_secs_f64(),
        args.jobs
    );
    if failed > 0 {
        Outcome::Failed
    } else {
        Outcome::Done
    }
}

/// Names a hostile or careless URL might carry, for step `hostile_names`,
/// and the name each is saved under. The last is a clash with the one
/// before it, so it gets a number.
const HOSTILE: [(&str, &str); 9] = [
    ("../../x", "x"),
    ("/etc/passwd", "passwd"),
    ("../..", FALLBACK_NAME),
    ("..\\..\\boot.ini", "boot.ini"),
    (".bashrc", "bashrc"),
    ("con.txt", "_con.txt"),
    ("notes. . .", "notes._._"),
    ("report; rm -rf ~.pdf", "report__rm_-rf__.pdf"),
    ("report; rm -rf ~.pdf", "report__rm_-rf__-1.pdf"),
];

/// The URL of a demo file whose last path segment decodes to `name`, which
/// may hold `/` and `..`: percent-encoded, they stay inside one segment.
fn demo_url(server: &DemoServer, size: usize, name: &str) -> Url {
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    server.url(&format!("/files/{size}/{encoded}"))
}

/// Step `hostile_names` — the URLs carry dangerous names; every file still
/// lands inside `dir`, and a download that breaks off midway leaves no file.
fn hostile_names(server: &DemoServer, dir: &Path) -> Vec<Done> {
    let mut urls: Vec<Url> = HOSTILE
        .iter()
        .map(|(name, _)| demo_url(server, 1000, name))
        .collect();
    urls.push(server.url("/drop/50000/broken.bin"));
    // One at a time, so the two clashing names are numbered in order. The
    // step prints its own table afterwards, so the live lines are not shown.
    save_all(&blocking_client(TIMEOUT), &urls, dir, 1, &Sink::collect())
}

fn show_hostile_names() {
    let server = DemoServer::start(ServerConfig::with_delay(Duration::ZERO))
        .expect("binding a loopback port for the demo server");
    let temporary = tempfile::tempdir().expect("creating a temporary directory");
    for done in hostile_names(&server, temporary.path()) {
        match &done.result {
            Ok(saved) => println!(
                "suggested {:<24} saved as {}",
                format!("{:?}", saved.suggested),
                shown(&saved.path)
            ),
            Err(error) => println!(
                "{} failed, no file left: {}",
                done.url.path(),
                error_chain(error)
            ),
        }
    }
    let mut names: Vec<String> = fs::read_dir(temporary.path())
        .expect("listing the directory")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    println!("the directory holds exactly: {}", names.join(", "));
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 7.2 — Concurrent file downloads («Одновременная загрузка файлов»)",
        &[
            Step::with_options(
                "save_files",
                "save files into a directory, a few at once, reporting each",
                show_save_files,
            ),
            Step::new(
                "hostile_names",
                "dangerous names from the server stay inside the directory",
                show_hostile_names,
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use module_07::demo_content;

    fn client() -> reqwest::blocking::Client {
        blocking_client(TIMEOUT)
    }

    fn server(delay: Duration) -> DemoServer {
        DemoServer::start(ServerConfig::with_delay(delay)).expect("starting the demo server")
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("listing the directory")
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// 120 CJK characters: 120 characters but 360 bytes.
    fn cjk_name(chars: usize) -> String {
        "文件名".chars().cycle().take(chars).collect()
    }

    #[test]
    fn a_long_cjk_name_is_saved_to_disk() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = server(Duration::ZERO);
            let dir = tempfile::tempdir().expect("a temporary directory");
            let names = [cjk_name(120), format!("{}.txt", cjk_name(120))];
            let urls: Vec<Url> = names
                .iter()
                .map(|name| demo_url(&server, 1000, name))
                .collect();
            let done = save_all(&client(), &urls, dir.path(), 1, &Sink::collect());
            for (done, name) in done.iter().zip(&names) {
                let saved = done.result.as_ref().expect("saved");
                assert_eq!(&saved.suggested, name);
                let bytes = fs::read(&saved.path).expect("readable");
                assert!(bytes == demo_content(name, 1000));
            }
            let saved = listing(dir.path());
            assert_eq!(saved.len(), 2, "{saved:?}");
            assert!(saved.iter().any(|name| name.ends_with(".txt")), "{saved:?}");
        });
    }

    #[test]
    fn every_file_arrives_byte_exact() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = server(Duration::ZERO);
            let dir = tempfile::tempdir().expect("a temporary directory");
            let files = demo_files(10);
            let sink = Sink::collect();
            let done = save_all(&client(), &server.file_urls(&files), dir.path(), 4, &sink);
            assert_eq!(done.len(), 10);
            // One live line per file, numbered in completion order.
            let lines = sink.lines();
            for (n, (line, done)) in lines.iter().zip(&done).enumerate() {
                let name = shown(&done.result.as_ref().expect("saved").path);
                assert!(line.starts_with(&format!("[{:>2}/10]", n + 1)), "{line}");
                assert!(line.contains(&format!("saved {name} (")), "{line}");
            }
            assert_eq!(lines.len(), 10);
            for file in &files {
                let bytes = fs::read(dir.path().join(&file.name)).expect("the file was saved");
                assert!(
                    bytes == demo_content(&file.name, file.size),
                    "{}",
                    file.name
                );
            }
            // Nothing else: no leftover temporary files.
            let mut expected: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
            expected.sort();
            assert_eq!(listing(dir.path()), expected);
        });
    }

    #[test]
    fn hostile_names_stay_inside_and_broken_downloads_leave_nothing() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = server(Duration::ZERO);
            let outer = tempfile::tempdir().expect("a temporary directory");
            let dir = outer.path().join("out");
            fs::create_dir(&dir).expect("creating the output directory");
            let done = hostile_names(&server, &dir);
            assert_eq!(done.len(), HOSTILE.len() + 1);
            for (done, (suggest, name)) in done.iter().zip(HOSTILE) {
                let saved = done.result.as_ref().expect("saved");
                assert_eq!(saved.suggested, suggest);
                assert_eq!(saved.path, dir.join(name));
                let bytes = fs::read(&saved.path).expect("readable");
                assert!(bytes == demo_content(suggest, 1000), "{suggest}");
            }
            let broken = done.last().expect("the broken download");
            assert!(
                matches!(broken.result, Err(SaveError::Read(_))),
                "{:?}",
                broken.result
            );
            let mut expected: Vec<String> = HOSTILE.iter().map(|(_, n)| n.to_string()).collect();
            expected.sort();
            assert_eq!(listing(&dir), expected);
            // Nothing escaped into the parent.
            assert_eq!(listing(outer.path()), ["out"]);
        });
    }

    #[test]
    fn failed_downloads_leave_no_partial_file() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = DemoServer::start(ServerConfig {
                delay: Duration::ZERO,
                slow: Duration::from_secs(5),
            })
            .expect("starting the demo server");
            let dir = tempfile::tempdir().expect("a temporary directory");
            let quick = reqwest::blocking::Client::builder()
                .timeout(Duration::from_millis(500))
                .build()
                .expect("a client");
            let urls = [
                server.url("/status/404"),
                server.url("/status/500"),
                server.url("/drop/100000/a.bin"),
                server.url("/slow/1000/b.bin"),
                Url::parse("http://127.0.0.1:1/refused.bin").expect("valid"),
            ];
            let done = save_all(&quick, &urls, dir.path(), 5, &Sink::collect());
            assert_eq!(done.len(), urls.len());
            assert!(done.iter().all(|done| done.result.is_err()));
            assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
        });
    }

    #[test]
    fn at_most_jobs_downloads_run_at_once() {
        course_tests::deadline(Duration::from_secs(30), || {
            // Six 200 ms responses on two workers need three rounds: at
            // least 600 ms however fast the machine is.
            let server = server(Duration::from_millis(200));
            let dir = tempfile::tempdir().expect("a temporary directory");
            let started = Instant::now();
            let done = save_all(
                &client(),
                &server.file_urls(&demo_files(6)),
                dir.path(),
                2,
                &Sink::collect(),
            );
            assert!(started.elapsed() >= Duration::from_millis(600));
            assert_eq!(done.len(), 6);
            assert!(done.iter().all(|done| done.result.is_ok()));
        });
    }

    #[test]
    fn a_copy_error_is_blamed_on_the_side_that_failed() {
        course_tests::deadline(Duration::from_secs(30), || {
            // What reading a broken response gives `io::copy`: reqwest's
            // error inside an `io::Error`.
            let refused = client()
                .get("http://127.0.0.1:1/refused.bin")
                .send()
                .expect_err("nothing listens on port 1");
            let reading = io::Error::other(refused);
            assert!(matches!(SaveError::from_copy(reading), SaveError::Read(_)));
            let writing = io::Error::from(io::ErrorKind::StorageFull);
            assert!(matches!(SaveError::from_copy(writing), SaveError::Disk(_)));
        });
    }
}
