//! Lesson 7.2 — Concurrent file downloads («Одновременная загрузка файлов»)
//!
//! Save files into a directory with a fixed number of downloads at once, and
//! report each file as it completes. Saving safely is half the job: the file
//! name comes from the URL, so it is cleaned before it touches the disk;
//! each file is written under a temporary name and renamed when complete,
//! so a failed download leaves nothing behind and a reader never sees half a
//! file.
//!
//! Ctrl-C (or SIGTERM) stops the batch: no new download starts, the ones in
//! flight are abandoned and their partial files removed, a summary says what
//! was saved and what was not, and the exit status is 130. A second Ctrl-C
//! exits at once, also without a partial file. A run killed outright
//! (SIGKILL) leaves `.save_files-XXXXXX.partial` files; the next run into
//! the same directory removes them and says so.
//!
//! | Python                                             | Rust                                                      |
//! |----------------------------------------------------|-----------------------------------------------------------|
//! | `ThreadPoolExecutor(max_workers=N)`                | N `thread::spawn` workers fed by a `crossbeam_channel`     |
//! | `as_completed(futures)`                            | receiving results from a channel in completion order      |
//! | `for chunk in response.iter_content(65536):`       | `response.read(&mut buffer)` in a loop (streams)          |
//! | `open(path, "wb")` on the final name               | `saving::partial_file(dir)` (a temporary name in `dir`)   |
//! | `os.replace(tmp, path)`                            | `NamedTempFile::persist_noclobber(path)` (never overwrites) |
//! | `os.path.basename(name)`                           | `sanitise(name)`: last component, safe characters only   |
//! | `signal.signal(SIGINT, handler)`                   | `ctrlc::set_handler(handler)` (runs on its own thread)    |
//! | `tempfile.TemporaryDirectory()`                    | `tempfile::tempdir()` (removed when dropped)              |
//!
//! - Run all steps: `cargo run -p module_07 --bin lesson_02`
//! - Run one step:  `cargo run -p module_07 --bin lesson_02 -- save_files`
//! - Keep the files and pick the concurrency:
//!   `cargo run -p module_07 --bin lesson_02 -- save_files --out downloads --jobs 8`
//! - Your own URLs: `cargo run -p module_07 --bin lesson_02 -- save_files --out downloads https://example.com/a.bin`
//!
//! Without `--out` the files go to a temporary directory that is removed at
//! the end; without URLs they come from a demo server on 127.0.0.1.
//! `hostile_names` always uses the demo server and a temporary directory.
//!
//! Try: run `-- save_files --jobs 1`, then `--jobs 10`: the total falls from
//! about 3 s to 0.3 s, as the ten 300 ms waits overlap.
//! Run `-- save_files --out d --jobs 1` and press Ctrl-C after a few lines:
//! the summary lists what is missing, `echo $?` prints 130, and `ls -a d`
//! shows no partial file.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use module_07::saving::{
    HOSTILE_NAMES, Run, file_name, listing, persist_unique, remove_leftovers, sanitise,
    suggested_name,
};
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

/// A file saved in the output directory: its final path, and its size.
#[derive(Debug)]
struct Saved {
    path: PathBuf,
    bytes: u64,
}

/// Why one download failed. Each variant keeps its cause as its `source()`;
/// [`error_chain`] prints the whole chain.
#[derive(Debug, thiserror::Error)]
enum SaveError {
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// The body broke off. reqwest's `Read` for a blocking `Response` puts
    /// its own error inside the `io::Error`.
    #[error("reading the response")]
    Read(#[source] io::Error),
    #[error("writing the file")]
    Disk(#[from] io::Error),
    /// hyper already fails a body shorter than its `Content-Length`; this
    /// keeps the promise "the saved file is complete" visible here.
    #[error("expected {expected} bytes, received {received}")]
    Truncated { expected: u64, received: u64 },
    #[error("interrupted")]
    Interrupted,
}

/// Worker `id` downloads `url` into a partial file in `dir` and returns it
/// complete, with its size. On any error the partial file is deleted when
/// it is dropped.
fn download(
    client: &reqwest::blocking::Client,
    url: &Url,
    dir: &Path,
    id: usize,
    run: &Run,
) -> Result<(NamedTempFile, u64), SaveError> {
    let mut response = client.get(url.clone()).send()?.error_for_status()?;
    let expected = response.content_length();
    let Some(mut partial) = run.partial(id, dir)? else {
        return Err(SaveError::Interrupted);
    };
    let mut buffer = vec![0; 64 * 1024];
    let mut received = 0;
    // Checked between reads: that is how a download in flight stops. A read
    // that waits on a silent server is not cut short; `interrupt` removes
    // the file meanwhile and the program exits without this thread.
    loop {
        if run.is_interrupted() {
            return Err(SaveError::Interrupted);
        }
        let n = match response.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(SaveError::Read(error)),
        };
        partial.write_all(&buffer[..n])?;
        received += n as u64;
    }
    if let Some(expected) = expected.filter(|&expected| expected != received) {
        return Err(SaveError::Truncated { expected, received });
    }
    // On disk before it gets its final name, so a crash cannot leave a
    // complete-looking name with missing data.
    partial.as_file().sync_all()?;
    Ok((partial, received))
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
/// completes (like iterating `as_completed`). Returns the outcomes in
/// completion order: all of them, or after [`Run::interrupt`] those
/// reported so far.
fn save_all(
    client: &reqwest::blocking::Client,
    urls: &[Url],
    dir: &Path,
    jobs: usize,
    run: &Arc<Run>,
    sink: &Sink,
) -> Vec<Done> {
    let started = Instant::now();
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<Url>();
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Done>();
    for url in urls {
        job_tx.send(url.clone()).expect("the receiver is alive");
    }
    // Closing the queue is how the workers learn there is no more work.
    drop(job_tx);
    // `thread::spawn`, not `thread::scope`: after Ctrl-C this function must
    // return while a worker may still wait on a silent server, and a scope
    // would wait for it. So each worker owns its share (a `Client` clone is
    // cheap: an `Arc` inside).
    let workers: Vec<_> = (0..jobs.clamp(1, urls.len().max(1)))
        .map(|id| {
            let (client, dir, run) = (client.clone(), dir.to_owned(), Arc::clone(run));
            let (job_rx, done_tx) = (job_rx.clone(), done_tx.clone());
            thread::spawn(move || {
                for url in job_rx.iter().take_while(|_| !run.is_interrupted()) {
                    let downloaded = download(&client, &url, &dir, id, &run);
                    // Renamed and reported under the lock: once `interrupt`
                    // holds it, every saved file has been reported and no
                    // other will be saved.
                    let mut state = run.state();
                    state.partials.remove(&id);
                    let result = match downloaded {
                        Ok(_) if state.interrupted => Err(SaveError::Interrupted),
                        Ok((file, bytes)) => {
                            let name = sanitise(&suggested_name(&url));
                            let path = persist_unique(file, &dir, &name);
                            path.map(|path| Saved { path, bytes })
                                .map_err(SaveError::Disk)
                        }
                        Err(error) => Err(error),
                    };
                    let at = started.elapsed();
                    // Fails only when the collector has gone: nobody wants
                    // the remaining downloads, so stop taking them.
                    if done_tx.send(Done { url, result, at }).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    // Only the workers' clones remain: `done_rx` disconnects when the last
    // worker is done.
    drop(done_tx);
    let mut finished = Vec::new();
    let mut report = |done: Done| {
        sink.note(done_line(&done, finished.len() + 1, urls.len()));
        finished.push(done);
    };
    loop {
        crossbeam_channel::select! {
            recv(done_rx) -> done => match done {
                Ok(done) => report(done),
                Err(_) => break,
            },
            recv(run.woken()) -> _ => {
                // Everything sent before `interrupt` took the lock.
                done_rx.try_iter().for_each(&mut report);
                return finished;
            }
        }
    }
    for worker in workers {
        // `unwrap` passes a worker's panic on; it can only come from a bug.
        worker.join().unwrap();
    }
    finished
}

/// The live line of the `n`-th finished download of `total`.
fn done_line(done: &Done, n: usize, total: usize) -> String {
    let what = match &done.result {
        Ok(saved) => format!("saved {} ({} bytes)", file_name(&saved.path), saved.bytes),
        Err(error) => format!("FAILED {}: {}", done.url, error_chain(error)),
    };
    format!("[{n:>2}/{total}] {:>5.2} s  {what}", done.at.as_secs_f64())
}

/// Ctrl-C, SIGTERM and SIGHUP (ctrlc's `termination` feature) call
/// [`Run::interrupt`] on ctrlc's own thread. A second press, or one after
/// the run is over (the handler holds only a `Weak`), exits at once.
fn on_ctrl_c(run: &Arc<Run>) {
    let run = Arc::downgrade(run);
    let mut pressed = false;
    ctrlc::set_handler(move || {
        if let Some(run) = run.upgrade() {
            run.interrupt();
        }
        if pressed || run.strong_count() == 0 {
            std::process::exit(130);
        }
        pressed = true;
    })
    .expect("installing the Ctrl-C handler, once per process");
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
    match remove_leftovers(&dir) {
        Ok(0) => {}
        Ok(n) => println!("removed {n} partial file(s) left by an earlier run that was killed"),
        Err(error) => eprintln!("warning: cannot look for leftover partial files: {error}"),
    }
    let run = Run::new();
    on_ctrl_c(&run);
    let (client, urls) = (blocking_client(TIMEOUT), &targets.urls);
    let done = save_all(&client, urls, &dir, args.jobs, &run, &Sink::stdout());
    if run.is_interrupted() {
        show_interrupted(&targets.urls, &done);
        // Exit status 130 (128 + SIGINT), after the temporary directory and
        // the demo server have been dropped as usual.
        return Outcome::Interrupted;
    }
    let failed = done.iter().filter(|done| done.result.is_err()).count();
    let saved: u64 = done.iter().flat_map(|d| &d.result).map(|s| s.bytes).sum();
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

/// The summary of an interrupted `save_files`: what was saved, and which
/// URLs to fetch again.
fn show_interrupted(urls: &[Url], done: &[Done]) {
    let mut missing: Vec<&Url> = urls.iter().collect();
    let mut saved = Vec::new();
    for done in done {
        let Ok(file) = &done.result else { continue };
        // One URL off the list per saved file: a URL given twice counts twice.
        if let Some(i) = missing.iter().position(|url| **url == done.url) {
            missing.remove(i);
        }
        saved.push(file_name(&file.path));
    }
    println!(
        "interrupted: {} of {} saved, {} not saved, partial files removed",
        saved.len(),
        urls.len(),
        missing.len()
    );
    saved
        .iter()
        .for_each(|name| println!("  saved      {name}"));
    missing
        .iter()
        .for_each(|url| println!("  not saved  {url}"));
}

/// Step `hostile_names` — the URLs carry dangerous names; every file still
/// lands inside `dir`, and a download that breaks off midway leaves no file.
fn hostile_names(server: &DemoServer, dir: &Path) -> Vec<Done> {
    let mut urls: Vec<Url> = HOSTILE_NAMES
        .iter()
        .map(|(name, _)| server.named_file_url(1000, name))
        .collect();
    urls.push(server.url("/drop/50000/broken.bin"));
    // One at a time, so the two clashing names are numbered in order. The
    // step prints its own table afterwards, so the live lines are not shown.
    let (client, run) = (blocking_client(TIMEOUT), Run::new());
    save_all(&client, &urls, dir, 1, &run, &Sink::collect())
}

fn show_hostile_names() {
    let server = DemoServer::start(ServerConfig::with_delay(Duration::ZERO))
        .expect("binding a loopback port for the demo server");
    let temporary = tempfile::tempdir().expect("creating a temporary directory");
    for done in hostile_names(&server, temporary.path()) {
        match &done.result {
            Ok(saved) => println!(
                "suggested {:<24} saved as {}",
                format!("{:?}", suggested_name(&done.url)),
                file_name(&saved.path)
            ),
            Err(error) => println!(
                "{} failed, no file left: {}",
                done.url.path(),
                error_chain(error)
            ),
        }
    }
    let names = listing(temporary.path()).expect("listing the directory");
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
    use std::fs;

    fn client() -> reqwest::blocking::Client {
        blocking_client(TIMEOUT)
    }

    fn server(delay: Duration) -> DemoServer {
        DemoServer::start(ServerConfig::with_delay(delay)).expect("starting the demo server")
    }

    fn names_in(dir: &Path) -> Vec<String> {
        listing(dir).expect("listing the directory")
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
                .map(|name| server.named_file_url(1000, name))
                .collect();
            let done = save_all(
                &client(),
                &urls,
                dir.path(),
                1,
                &Run::new(),
                &Sink::collect(),
            );
            for (done, name) in done.iter().zip(&names) {
                let saved = done.result.as_ref().expect("saved");
                assert_eq!(&suggested_name(&done.url), name);
                let bytes = fs::read(&saved.path).expect("readable");
                assert!(bytes == demo_content(name, 1000));
            }
            let saved = names_in(dir.path());
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
            let done = save_all(
                &client(),
                &server.file_urls(&files),
                dir.path(),
                4,
                &Run::new(),
                &sink,
            );
            assert_eq!(done.len(), 10);
            // One live line per file, numbered in completion order.
            let lines = sink.lines();
            for (n, (line, done)) in lines.iter().zip(&done).enumerate() {
                let name = file_name(&done.result.as_ref().expect("saved").path);
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
            assert_eq!(names_in(dir.path()), expected);
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
            assert_eq!(done.len(), HOSTILE_NAMES.len() + 1);
            for (done, (suggest, name)) in done.iter().zip(HOSTILE_NAMES) {
                let saved = done.result.as_ref().expect("saved");
                assert_eq!(suggested_name(&done.url), suggest);
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
            let mut expected: Vec<String> =
                HOSTILE_NAMES.iter().map(|(_, n)| n.to_string()).collect();
            expected.sort();
            assert_eq!(names_in(&dir), expected);
            // Nothing escaped into the parent.
            assert_eq!(names_in(outer.path()), ["out"]);
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
            let done = save_all(&quick, &urls, dir.path(), 5, &Run::new(), &Sink::collect());
            assert_eq!(done.len(), urls.len());
            assert!(done.iter().all(|done| done.result.is_err()));
            assert!(
                names_in(dir.path()).is_empty(),
                "{:?}",
                names_in(dir.path())
            );
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
                &Run::new(),
                &Sink::collect(),
            );
            assert!(started.elapsed() >= Duration::from_millis(600));
            assert_eq!(done.len(), 6);
            assert!(done.iter().all(|done| done.result.is_ok()));
        });
    }

    /// A demo server whose `/trickle/…` body takes a minute and whose
    /// `/slow/…` answers only after a minute: downloads that are still in
    /// flight when a test interrupts them.
    fn slow_server() -> DemoServer {
        DemoServer::start(ServerConfig {
            delay: Duration::ZERO,
            slow: Duration::from_secs(60),
        })
        .expect("starting the demo server")
    }

    /// Waits until `dir` holds `name` and a partial file: one download
    /// saved, one in flight. Polls, as another program's directory can only
    /// be watched from outside; the callers run it under a deadline.
    fn wait_for_saved_and_partial(dir: &Path, name: &str) {
        loop {
            let names = names_in(dir);
            let partial = names.iter().any(|n| n.ends_with(".partial"));
            if partial && names.iter().any(|n| n == name) {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Two at once over: a quick file, a trickling body (a partial file on
    /// disk), a server that has not answered yet, and one more quick file
    /// that the two busy workers never reach.
    fn interrupted_urls(server: &DemoServer) -> Vec<Url> {
        vec![
            server.url("/files/1000/a.bin"),
            server.url("/trickle/500000/c.bin"),
            server.url("/slow/1000/d.bin"),
            server.url("/files/1000/e.bin"),
        ]
    }

    #[test]
    fn an_interrupt_returns_at_once_and_leaves_no_partial_file() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = slow_server();
            let dir = tempfile::tempdir().expect("a temporary directory");
            let urls = interrupted_urls(&server);
            let run = Run::new();
            let done = thread::scope(|s| {
                s.spawn(|| {
                    wait_for_saved_and_partial(dir.path(), "a.bin");
                    run.interrupt();
                });
                save_all(&client(), &urls, dir.path(), 2, &run, &Sink::collect())
            });
            // Right away, while one worker still waits for `/slow/…`.
            assert_eq!(names_in(dir.path()), ["a.bin"]);
            let saved: Vec<&Url> = done
                .iter()
                .filter(|done| done.result.is_ok())
                .map(|done| &done.url)
                .collect();
            assert_eq!(saved, [&urls[0]]);
        });
    }

    fn lesson_02() -> PathBuf {
        course_tests::lesson_binaries("module_07").join("lesson_02")
    }

    /// Sends `signal` (`INT`, `KILL`) to process `pid` with kill(1).
    fn kill(signal: &str, pid: u32) {
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    fn save_files_command(dir: &Path, urls: &[Url]) -> std::process::Command {
        let mut command = std::process::Command::new(lesson_02());
        command
            .args(["save_files", "--jobs", "2", "--out"])
            .arg(dir)
            .args(urls.iter().map(Url::as_str))
            .stdout(std::process::Stdio::piped());
        command
    }

    #[cfg(unix)]
    #[test]
    fn ctrl_c_prints_a_summary_removes_partial_files_and_exits_130() {
        course_tests::deadline(Duration::from_secs(120), || {
            let server = slow_server();
            let dir = tempfile::tempdir().expect("a temporary directory");
            let urls = interrupted_urls(&server);
            let child = save_files_command(dir.path(), &urls)
                .spawn()
                .expect("starting lesson_02");
            wait_for_saved_and_partial(dir.path(), "a.bin");
            kill("INT", child.id());
            let output = child.wait_with_output().expect("waiting for lesson_02");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert_eq!(output.status.code(), Some(130), "{stdout}");
            assert!(
                stdout.contains("interrupted: 1 of 4 saved, 3 not saved, partial files removed"),
                "{stdout}"
            );
            assert!(stdout.contains("  saved      a.bin\n"), "{stdout}");
            for url in &urls[1..] {
                assert!(
                    stdout.contains(&format!("  not saved  {url}\n")),
                    "{stdout}"
                );
            }
            assert_eq!(names_in(dir.path()), ["a.bin"]);
        });
    }

    #[cfg(unix)]
    #[test]
    fn a_killed_run_leaves_a_partial_file_the_next_run_removes() {
        course_tests::deadline(Duration::from_secs(120), || {
            let server = slow_server();
            let dir = tempfile::tempdir().expect("a temporary directory");
            let urls = [
                server.url("/files/1000/a.bin"),
                server.url("/trickle/500000/c.bin"),
            ];
            let mut child = save_files_command(dir.path(), &urls)
                .spawn()
                .expect("starting lesson_02");
            wait_for_saved_and_partial(dir.path(), "a.bin");
            kill("KILL", child.id());
            child.wait().expect("waiting for lesson_02");
            let left = names_in(dir.path());
            assert_eq!(left.len(), 2, "{left:?}");
            assert!(left[0].starts_with(".save_files-") && left[0].ends_with(".partial"));
            let again = save_files_command(dir.path(), &[server.url("/files/1000/b.bin")])
                .output()
                .expect("running lesson_02 again");
            let stdout = String::from_utf8_lossy(&again.stdout);
            assert!(again.status.success(), "{stdout}");
            assert!(stdout.contains("removed 1 partial file(s)"), "{stdout}");
            assert_eq!(names_in(dir.path()), ["a.bin", "b.bin"]);
        });
    }

    #[cfg(unix)]
    #[test]
    fn saved_files_get_0666_minus_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        course_tests::deadline(Duration::from_secs(120), || {
            let server = server(Duration::ZERO);
            let dir = tempfile::tempdir().expect("a temporary directory");
            // A shell sets the umask, then becomes the lesson (`exec`).
            let status = std::process::Command::new("sh")
                .args(["-c", "umask 027 && exec \"$0\" \"$@\""])
                .arg(lesson_02())
                .args(["save_files", "--out"])
                .arg(dir.path())
                .arg(server.url("/files/1000/a.bin").as_str())
                .stdout(std::process::Stdio::null())
                .status()
                .expect("running lesson_02 under umask 027");
            assert!(status.success());
            let mode = fs::metadata(dir.path().join("a.bin"))
                .expect("a.bin was saved")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o640, "{mode:o}");
        });
    }
}
