//! Lesson 7.2 — Concurrent file downloads («Одновременная загрузка файлов»)
//!
//! Save files into a directory with a fixed number of downloads at once, and
//! report each file as it completes. Saving safely is half the job: the file
//! name comes from the server, so it is cleaned before it touches the disk;
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
//! | `tqdm(total=n)`                                    | `indicatif::ProgressBar` (hidden when not a terminal)     |
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

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use module_07::{DemoServer, ServerConfig, Targets, Url, UrlArgs, demo_files, error_chain};
use reqwest::header::{CONTENT_DISPOSITION, HeaderMap};
use step_runner::{Outcome, Step, lesson_id};
use tempfile::NamedTempFile;

/// The demo server's latency per response.
const DELAY: Duration = Duration::from_millis(300);
const FILES: usize = 10;
/// Downloads at once unless `--jobs` says otherwise: 10 files in 3 rounds.
const DEFAULT_JOBS: usize = 4;
/// The most `--jobs` accepts: one thread per download.
const MAX_JOBS: usize = 256;
const TIMEOUT: Duration = Duration::from_secs(30);
/// The name used when the server's suggestion has nothing usable left.
const FALLBACK_NAME: &str = "download";

/// A file saved in the output directory.
#[derive(Debug)]
struct Saved {
    /// The final path, inside the output directory.
    path: PathBuf,
    /// The name the server suggested, before cleaning.
    suggested: String,
    bytes: u64,
}

/// Why one download failed. Each variant keeps its cause for the message.
#[derive(Debug)]
enum SaveError {
    Http(reqwest::Error),
    Disk(io::Error),
    /// The body's size differs from the announced `Content-Length`. hyper
    /// already fails a body that breaks off; this check keeps the promise
    /// "the saved file is complete" visible where the file is written.
    Truncated {
        expected: u64,
        received: u64,
    },
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http(error) => write!(f, "{}", error_chain(error)),
            Self::Disk(error) => write!(f, "writing the file: {error}"),
            Self::Truncated { expected, received } => {
                write!(f, "expected {expected} bytes, received {received}")
            }
        }
    }
}

impl SaveError {
    /// An error of `io::copy` from the response into the file. Reading the
    /// response fails with a `reqwest::Error` inside the `io::Error`
    /// (reqwest's `Read` for a blocking `Response`), writing the file with a
    /// plain one.
    fn from_copy(error: io::Error) -> Self {
        match error.downcast::<reqwest::Error>() {
            Ok(http) => Self::Http(http),
            Err(disk) => Self::Disk(disk),
        }
    }
}

impl From<reqwest::Error> for SaveError {
    fn from(error: reqwest::Error) -> Self {
        Self::Http(error)
    }
}

impl From<io::Error> for SaveError {
    fn from(error: io::Error) -> Self {
        Self::Disk(error)
    }
}

/// The file name the server suggests: `Content-Disposition`'s `filename*` or
/// `filename` if present, else the URL's last path segment, percent-decoded.
/// Anything here is untrusted input; [`sanitise`] cleans it.
fn suggested_name(url: &Url, headers: &HeaderMap) -> String {
    let from_header = headers
        .get(CONTENT_DISPOSITION)
        .and_then(|value| value.to_str().ok())
        .and_then(disposition_filename);
    from_header.unwrap_or_else(|| {
        let segment = url
            .path_segments()
            .and_then(|mut segments| segments.next_back())
            .unwrap_or_default();
        percent_encoding::percent_decode_str(segment)
            .decode_utf8_lossy()
            .into_owned()
    })
}

/// The file name in a `Content-Disposition` header (RFC 6266), preferring
/// the UTF-8 `filename*=UTF-8''…` form over the plain `filename="…"`.
fn disposition_filename(value: &str) -> Option<String> {
    let params = disposition_params(value);
    let find = |wanted: &str| {
        params
            .iter()
            .find(|(key, _)| key == wanted)
            .map(|(_, value)| value.as_str())
    };
    let extended = find("filename*").and_then(|raw| {
        // `charset'language'percent-encoded`
        let mut parts = raw.splitn(3, '\'');
        let (charset, _language, encoded) = (parts.next()?, parts.next()?, parts.next()?);
        charset.eq_ignore_ascii_case("utf-8").then(|| {
            percent_encoding::percent_decode_str(encoded)
                .decode_utf8_lossy()
                .into_owned()
        })
    });
    extended.or_else(|| find("filename").map(str::to_owned))
}

/// The `key=value` parameters after the disposition type, keys lowercased,
/// quoted values unquoted (a `;` inside quotes belongs to the value).
fn disposition_params(value: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let (mut key, mut text) = (String::new(), String::new());
    let (mut in_value, mut quoted, mut escaped) = (false, false, false);
    for c in value.chars() {
        if quoted {
            match c {
                _ if escaped => {
                    text.push(c);
                    escaped = false;
                }
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => text.push(c),
            }
            continue;
        }
        match c {
            ';' => {
                if in_value {
                    params.push((key.trim().to_ascii_lowercase(), text.trim().to_owned()));
                }
                key.clear();
                text.clear();
                in_value = false;
            }
            '=' if !in_value => in_value = true,
            '"' if in_value => quoted = true,
            _ if in_value => text.push(c),
            _ => key.push(c),
        }
    }
    if in_value {
        params.push((key.trim().to_ascii_lowercase(), text.trim().to_owned()));
    }
    params
}

/// The longest file name most file systems take: 255 bytes (`NAME_MAX` on
/// Linux's ext4, XFS, btrfs and tmpfs: `getconf NAME_MAX /tmp`), 255 UTF-16
/// units on NTFS. A character never takes more UTF-16 units than UTF-8
/// bytes, so one cap in bytes serves both. Capping at 120 *characters* is
/// not enough: 120 CJK characters are 360 bytes.
const NAME_MAX: usize = 255;
/// `persist_unique` numbers a clashing name `-1` … `-999`.
const MAX_CLASHES: usize = 1000;
/// The longest name `sanitise` returns, so the name with its `-N` still fits.
/// The temporary file needs no room here: its name (`.partial-` and six
/// random characters) does not depend on the final one.
const MAX_NAME_BYTES: usize = NAME_MAX - "-999".len();
/// An extension up to this long survives the cap (`.pdf`, `.gz`).
const MAX_EXTENSION_BYTES: usize = 16;

/// Makes an untrusted name safe to create inside the output directory:
/// - only the last path component survives (so `../../x` and `/etc/passwd`
///   become `x` and `passwd`);
/// - characters other than letters, digits and `. _ - ( ) +` become `_`
///   (this also removes spaces, control characters and Windows' `<>:"|?*`);
/// - leading dots go (no `..`, no hidden files), and trailing dots too
///   (Windows drops them, so `a.` and `a` would be one file there);
/// - a Windows device name (`CON`, `NUL`, `COM1`, …, also with an
///   extension: `con.txt`) gets a `_` in front;
/// - the result is at most [`MAX_NAME_BYTES`] bytes, cut at a character
///   boundary, keeping a short extension.
fn sanitise(raw: &str) -> String {
    // Split on both separators: a name made on Windows uses `\`.
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "._-()+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches('.');
    if cleaned.is_empty() {
        return FALLBACK_NAME.to_owned();
    }
    let cleaned = if is_windows_device(cleaned) {
        format!("_{cleaned}")
    } else {
        cleaned.to_owned()
    };
    // The cut can end the name in a dot again.
    cap_bytes(&cleaned, MAX_NAME_BYTES)
        .trim_end_matches('.')
        .to_owned()
}

/// Windows opens a device, not a file, for these names, whatever the
/// extension (`NUL.txt` and `NUL.tar.gz` are `NUL`): the list of Microsoft's
/// "Naming Files, Paths, and Namespaces", the same as Python's
/// `pathlib.PureWindowsPath.is_reserved` (whose `CONIN$` and `CONOUT$`
/// cannot occur here: `sanitise` has replaced the `$`).
fn is_windows_device(name: &str) -> bool {
    const DEVICES: [&str; 4] = ["CON", "PRN", "AUX", "NUL"];
    let base = name.split('.').next().unwrap_or_default().to_uppercase();
    DEVICES.contains(&base.as_str())
        || ["COM", "LPT"].iter().any(|port| {
            base.strip_prefix(port).is_some_and(|n| {
                matches!(
                    n,
                    "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "¹" | "²" | "³"
                )
            })
        })
}

/// `name` cut to at most `max` bytes at a character boundary. An extension
/// of up to [`MAX_EXTENSION_BYTES`] is kept and the part before it is cut.
fn cap_bytes(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= MAX_EXTENSION_BYTES => name.split_at(dot),
        _ => (name, ""),
    };
    let keep = stem.floor_char_boundary(max - extension.len());
    format!("{}{extension}", &stem[..keep])
}

/// `name`, or `stem-1.ext`, `stem-2.ext`, … for the `n`-th clash.
fn numbered(name: &str, n: usize) -> String {
    if n == 0 {
        return name.to_owned();
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}-{n}.{ext}"),
        _ => format!("{name}-{n}"),
    }
}

/// Gives the finished temporary file its final name in `dir`. Never
/// overwrites: two URLs may suggest the same name, and a file already there
/// may be the user's.
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
    let suggested = suggested_name(url, response.headers());
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
/// and calls `on_done` in the calling thread as each download completes
/// (like iterating `as_completed`). Returns every outcome, in completion
/// order.
fn save_all(
    client: &reqwest::blocking::Client,
    urls: &[Url],
    dir: &Path,
    jobs: usize,
    mut on_done: impl FnMut(&Done),
) -> Vec<Done> {
    let started = Instant::now();
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<&Url>();
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Done>();
    for url in urls {
        job_tx.send(url).expect("the receiver is alive");
    }
    // Closing the queue is how the workers learn there is no more work.
    drop(job_tx);
    // `move`: the closure owns `done_rx`, so if `on_done` panics (printing to
    // a closed pipe, say) the receiver is dropped while the panic leaves the
    // closure, before the scope waits for the workers.
    thread::scope(move |s| {
        for _ in 0..jobs.clamp(1, urls.len().max(1)) {
            let (job_rx, done_tx) = (job_rx.clone(), done_tx.clone());
            s.spawn(move || {
                for url in job_rx {
                    let result = save(client, url, dir);
                    let done = Done {
                        url: url.clone(),
                        result,
                        at: started.elapsed(),
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
        done_rx
            .iter()
            .inspect(|done| on_done(done))
            .collect::<Vec<_>>()
    })
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .expect("a client with rustls and a time-out builds")
}

// The options of step `save_files` (a plain comment: clap would take a doc
// comment for the step's summary in `--help`).
#[derive(clap::Args, Debug)]
struct SaveArgs {
    /// Keep the files in DIR (created if needed); without it they go to a
    /// temporary directory that is removed at the end
    #[arg(long, value_name = "DIR", value_parser = parse_out)]
    out: Option<PathBuf>,
    /// How many downloads run at once (1 to 256)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_JOBS, value_parser = parse_jobs)]
    jobs: usize,
    #[command(flatten)]
    urls: UrlArgs,
}

fn parse_out(text: &str) -> Result<PathBuf, String> {
    if text.is_empty() {
        Err("--out needs a directory".to_owned())
    } else {
        Ok(PathBuf::from(text))
    }
}

fn parse_jobs(text: &str) -> Result<usize, String> {
    text.parse()
        .ok()
        .filter(|jobs| (1..=MAX_JOBS).contains(jobs))
        .ok_or_else(|| format!("--jobs needs a number from 1 to {MAX_JOBS}"))
}

/// The output directory: `out` (created if needed), or a temporary one that
/// is removed when the returned guard drops.
fn output_dir(out: Option<&Path>) -> io::Result<(PathBuf, Option<tempfile::TempDir>)> {
    match out {
        Some(dir) => {
            fs::create_dir_all(dir)?;
            Ok((dir.to_owned(), None))
        }
        None => {
            let temporary = tempfile::tempdir()?;
            Ok((temporary.path().to_owned(), Some(temporary)))
        }
    }
}

/// The name of a saved file relative to the output directory.
fn shown(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Downloads, reporting progress, then prints the summary.
fn run_and_report(urls: &[Url], dir: &Path, jobs: usize) -> Outcome {
    let total = urls.len();
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} files, {elapsed}")
            .expect("a valid template"),
    );
    let mut finished = 0;
    let done = save_all(&client(), urls, dir, jobs, |done| {
        finished += 1;
        let line = match &done.result {
            Ok(saved) => format!(
                "[{finished:>2}/{total}] {:>5.2} s  saved {} ({} bytes)",
                done.at.as_secs_f64(),
                shown(&saved.path),
                saved.bytes
            ),
            Err(error) => format!(
                "[{finished:>2}/{total}] {:>5.2} s  FAILED {}: {error}",
                done.at.as_secs_f64(),
                done.url
            ),
        };
        // `suspend` hides the bar while the line prints; when standard error
        // is not a terminal the bar is hidden anyway and only lines appear.
        bar.suspend(|| println!("{line}"));
        bar.inc(1);
    });
    bar.finish_and_clear();
    let saved: u64 = done
        .iter()
        .filter_map(|done| done.result.as_ref().ok())
        .map(|saved| saved.bytes)
        .sum();
    let failed = done.iter().filter(|done| done.result.is_err()).count();
    let elapsed = done.iter().map(|done| done.at).max().unwrap_or_default();
    println!(
        "{} saved ({saved} bytes), {failed} failed, in {:.2} s with {jobs} at once",
        total - failed,
        elapsed.as_secs_f64()
    );
    if failed > 0 {
        Outcome::Failed
    } else {
        Outcome::Done
    }
}

/// Names a hostile or careless server might suggest, for step
/// `hostile_names`, and the name each is saved under.
/// The last is a clash with the one before it, so it gets a number.
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

/// Step `hostile_names` — the demo server suggests dangerous names through
/// `Content-Disposition`; every file still lands inside `dir`, and a
/// download that breaks off midway leaves no file.
fn hostile_names(server: &DemoServer, dir: &Path) -> Vec<Done> {
    let mut urls: Vec<Url> = HOSTILE
        .iter()
        .map(|(suggest, _)| {
            let encoded =
                percent_encoding::utf8_percent_encode(suggest, percent_encoding::NON_ALPHANUMERIC);
            server.url(&format!("/attachment/1000/{encoded}"))
        })
        .collect();
    urls.push(server.url("/drop/50000/broken.bin"));
    // One at a time, so the two clashing names are numbered in order.
    save_all(&client(), &urls, dir, 1, |_| {})
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
    match &temporary {
        Some(_) => println!(
            "{} files into a temporary directory (removed at the end; --out DIR keeps them)",
            targets.urls.len()
        ),
        None => println!("{} files into {}", targets.urls.len(), dir.display()),
    }
    run_and_report(&targets.urls, &dir, args.jobs)
}

fn show_hostile_names() {
    let server = DemoServer::start(ServerConfig::with_delay(Duration::ZERO))
        .expect("binding a loopback port for the demo server");
    let temporary = tempfile::tempdir().expect("creating a temporary directory");
    let done = hostile_names(&server, temporary.path());
    for done in &done {
        match &done.result {
            Ok(saved) => println!(
                "suggested {:<24} saved as {}",
                format!("{:?}", saved.suggested),
                shown(&saved.path)
            ),
            Err(error) => {
                println!("{} failed, no file left: {error}", done.url.path());
            }
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

    #[test]
    fn sanitise_keeps_names_inside_the_directory() {
        let (clash, unique) = HOSTILE.split_last().expect("not empty");
        for (raw, expected) in unique {
            assert_eq!(sanitise(raw), *expected, "{raw}");
        }
        assert_eq!(numbered(&sanitise(clash.0), 1), clash.1);
        assert_eq!(sanitise("file_01.bin"), "file_01.bin");
        assert_eq!(sanitise("C:\\Windows\\win.ini"), "win.ini");
        assert_eq!(sanitise("dir/"), FALLBACK_NAME);
        assert_eq!(sanitise(""), FALLBACK_NAME);
        assert_eq!(sanitise("..."), FALLBACK_NAME);
        assert_eq!(sanitise("отчёт.txt"), "отчёт.txt");
    }

    #[test]
    fn windows_device_names_and_trailing_dots_are_defused() {
        for (raw, expected) in [
            ("CON", "_CON"),
            ("nul.txt", "_nul.txt"),
            ("NUL.tar.gz", "_NUL.tar.gz"),
            ("Aux", "_Aux"),
            ("prn.", "_prn"),
            ("com1.log", "_com1.log"),
            ("LPT9", "_LPT9"),
            ("COM¹.txt", "_COM¹.txt"),
            ("a.b.", "a.b"),
            ("name..", "name"),
        ] {
            assert_eq!(sanitise(raw), expected, "{raw}");
        }
        // Names that only start like a device are files.
        for raw in ["CONSOLE.txt", "COM10", "LPT", "nul_.txt", "com0"] {
            assert_eq!(sanitise(raw), raw);
        }
    }

    /// 120 CJK characters: 120 characters but 360 bytes.
    fn cjk_name(chars: usize) -> String {
        "文件名".chars().cycle().take(chars).collect()
    }

    #[test]
    fn long_names_are_capped_in_bytes_at_a_character_boundary() {
        let long = cjk_name(120);
        let capped = sanitise(&long);
        assert!(capped.len() <= MAX_NAME_BYTES, "{}", capped.len());
        assert!(long.starts_with(&capped));
        // 3 bytes a character: 83 of them fit in 251 bytes.
        assert_eq!(capped.chars().count(), MAX_NAME_BYTES / 3);
        // A short extension survives the cut.
        let with_extension = sanitise(&format!("{}.pdf", cjk_name(300)));
        assert!(with_extension.ends_with(".pdf"), "{with_extension}");
        assert!(with_extension.len() <= MAX_NAME_BYTES);
        let ascii = sanitise(&format!("{}.tar", "a".repeat(500)));
        assert_eq!(ascii.len(), MAX_NAME_BYTES);
        // Even the 999th clash still fits.
        for name in [&capped, &with_extension, &ascii] {
            assert!(numbered(name, MAX_CLASHES - 1).len() <= NAME_MAX);
        }
        // No trailing dot from the cut.
        let dotted = sanitise(&format!(
            "{}.{}",
            "a".repeat(MAX_NAME_BYTES - 1),
            "b".repeat(40)
        ));
        assert_eq!(dotted, "a".repeat(MAX_NAME_BYTES - 1));
    }

    #[test]
    fn a_long_cjk_name_is_saved_to_disk() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = server(Duration::ZERO);
            let dir = tempfile::tempdir().expect("a temporary directory");
            let names = [cjk_name(120), format!("{}.txt", cjk_name(120))];
            let urls: Vec<Url> = names
                .iter()
                .map(|name| {
                    let encoded = percent_encoding::utf8_percent_encode(
                        name,
                        percent_encoding::NON_ALPHANUMERIC,
                    );
                    server.url(&format!("/attachment/1000/{encoded}"))
                })
                .collect();
            let done = save_all(&client(), &urls, dir.path(), 1, |_| {});
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
    fn names_come_from_the_header_or_the_url() {
        let url = Url::parse("http://h/dir/my%20file.txt?x=1").expect("valid");
        assert_eq!(suggested_name(&url, &HeaderMap::new()), "my file.txt");
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_DISPOSITION,
            "attachment; filename=\"a.txt\"".parse().expect("valid"),
        );
        assert_eq!(suggested_name(&url, &headers), "a.txt");
        assert_eq!(
            disposition_filename("attachment; filename=\"a.txt\"; filename*=UTF-8''%C3%A9.txt"),
            Some("é.txt".to_owned())
        );
        assert_eq!(disposition_filename("inline"), None);
        assert_eq!(
            disposition_filename(r#"attachment; filename="a; \"b\".txt"; size=3"#),
            Some(r#"a; "b".txt"#.to_owned())
        );
    }

    #[test]
    fn every_file_arrives_byte_exact() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = server(Duration::ZERO);
            let dir = tempfile::tempdir().expect("a temporary directory");
            let files = demo_files(10);
            let mut reported = 0;
            let done = save_all(&client(), &server.file_urls(&files), dir.path(), 4, |_| {
                reported += 1;
            });
            assert_eq!((done.len(), reported), (10, 10));
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
                matches!(broken.result, Err(SaveError::Http(_))),
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
            let done = save_all(&quick, &urls, dir.path(), 5, |_| {});
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
                |_| {},
            );
            assert!(started.elapsed() >= Duration::from_millis(600));
            assert_eq!(done.len(), 6);
            assert!(done.iter().all(|done| done.result.is_ok()));
        });
    }

    #[test]
    fn the_workers_stop_when_the_collector_panics() {
        course_tests::deadline(Duration::from_secs(30), || {
            // One worker, 20 files of 100 ms each: 2 s if it went on. The
            // collector panics at the first report; the worker notices at its
            // next report and stops, so far fewer than 20 files are saved.
            let server = server(Duration::from_millis(100));
            let dir = tempfile::tempdir().expect("a temporary directory");
            let urls = server.file_urls(&demo_files(20));
            let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                save_all(&client(), &urls, dir.path(), 1, |_| {
                    panic!("the reader went away")
                })
            }));
            assert!(panicked.is_err());
            let saved = listing(dir.path()).len();
            assert!(saved < urls.len() / 2, "{saved} saved");
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
            assert!(matches!(SaveError::from_copy(reading), SaveError::Http(_)));
            let writing = io::Error::from(io::ErrorKind::StorageFull);
            assert!(matches!(SaveError::from_copy(writing), SaveError::Disk(_)));
        });
    }

    #[test]
    fn clashing_names_are_numbered_not_overwritten() {
        assert_eq!(numbered("a.txt", 0), "a.txt");
        assert_eq!(numbered("a.txt", 2), "a-2.txt");
        assert_eq!(numbered("archive.tar.gz", 1), "archive.tar-1.gz");
        assert_eq!(numbered("README", 1), "README-1");
    }
}
