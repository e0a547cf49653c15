//! The shared runtime pieces of module 7 (concurrent downloads):
//!
//! * [`DemoServer`]: a real HTTP server (axum on tokio) bound to a free
//!   loopback port, serving generated files of known sizes and contents after
//!   a configurable delay, plus routes that fail the ways real servers do
//!   (404, 500, too slow, connection dropped midway). The lessons download
//!   from it by default, so they run offline and give the same results every
//!   time.
//! * [`run`]: the lessons' command line. It keeps the contract of
//!   `step_runner` (`--list`, `--help`, a step name, exit status 2 for bad
//!   arguments) and adds URLs to download instead of the demo files, and for
//!   lesson 7.2 `--out DIR` and `--jobs N`.
//!
//! This is infrastructure; the downloading itself is written out in each
//! lesson file.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
pub use reqwest::Url;
use step_runner::{LessonId, Step, step_list};
use tokio::sync::oneshot;

// ---------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------

/// Applies `f` to every item on `workers` scoped threads, each taking the
/// next item until none is left, and returns the results in the order of
/// `items`: the `ThreadPoolExecutor.map` of the Python versions, written out
/// so the mechanism shows (`rayon::ThreadPoolBuilder::new().num_threads(n)` +
/// `par_iter` does the same). Lessons 7.1 and 7.3 run their downloads on it.
///
/// A panic in `f` is a bug, not a task's error (those are values), and is
/// passed on to the caller.
pub fn map_on_workers<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    // The next index to take. Each index is handed out exactly once, so no
    // two workers handle the same item.
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = thread::scope(|s| {
        let handles: Vec<_> = (0..workers.clamp(1, items.len().max(1)))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break mine };
                        mine.push((i, f(item)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| match handle.join() {
                Ok(mine) => mine,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    // Put the results back in the order of the items.
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, result)| result).collect()
}

// ---------------------------------------------------------------------------
// Demo files
// ---------------------------------------------------------------------------

/// A file the demo server can serve: its name and size in bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoFile {
    pub name: String,
    pub size: usize,
}

/// The demo's files: `file_01.bin` … with sizes that differ from file to file
/// and are no multiple of any buffer size, so an off-by-one chunk shows.
pub fn demo_files(count: usize) -> Vec<DemoFile> {
    (1..=count)
        .map(|i| DemoFile {
            name: format!("file_{i:02}.bin"),
            size: 40_000 * i + 1_234,
        })
        .collect()
}

/// The bytes of the demo file `name` of `size` bytes: a pattern seeded by the
/// name, so every file differs and a test can check each byte.
pub fn demo_content(name: &str, size: usize) -> Vec<u8> {
    let seed = name.bytes().fold(17u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    (0..size)
        .map(|i| {
            // `i as u32` wraps for files over 4 GiB; the pattern stays
            // deterministic, which is all it needs to be.
            let mut x = (i as u32).wrapping_add(seed.wrapping_mul(0x9E37_79B9));
            // MurmurHash3's finaliser: neighbouring inputs give unrelated bytes.
            x ^= x >> 16;
            x = x.wrapping_mul(0x85EB_CA6B);
            x ^= x >> 13;
            x = x.wrapping_mul(0xC2B2_AE35);
            x ^= x >> 16;
            (x >> 24) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The demo server
// ---------------------------------------------------------------------------

/// How the demo server behaves.
#[derive(Clone, Copy, Debug)]
pub struct ServerConfig {
    /// Every response waits this long first: the network latency that makes
    /// concurrent downloads pay off.
    pub delay: Duration,
    /// How long the `/slow/…` route waits before answering; longer than the
    /// client's time-out.
    pub slow: Duration,
}

impl ServerConfig {
    pub const fn with_delay(delay: Duration) -> Self {
        Self {
            delay,
            slow: Duration::from_secs(10),
        }
    }
}

struct ServerState {
    config: ServerConfig,
    /// Requests seen per `/flaky/…` path, so it fails the first N times.
    flaky_hits: Mutex<HashMap<String, u32>>,
}

/// A running demo server. It serves on its own thread with its own tokio
/// runtime, so blocking code can use it too; dropping the handle stops it
/// and joins the thread.
///
/// Routes (each answers after [`ServerConfig::delay`]):
///
/// | route                           | answer                                             |
/// |---------------------------------|----------------------------------------------------|
/// | `/files/{size}/{name}`          | 200, `size` bytes of [`demo_content`]              |
/// | `/attachment/{size}/{suggest}`  | 200, with `Content-Disposition: attachment; filename="{suggest}"` |
/// | `/status/{code}`                | that status (404, 500, …) and a short text body    |
/// | `/flaky/{n}/{size}/{name}`      | 500 the first `n` times, then the file             |
/// | `/slow/{size}/{name}`           | the file, after [`ServerConfig::slow`]             |
/// | `/drop/{size}/{name}`           | announces `size` bytes, sends half, drops the connection |
pub struct DemoServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl DemoServer {
    /// Binds `127.0.0.1:0` (a free port; loopback only) and starts serving.
    pub fn start(config: ServerConfig) -> io::Result<Self> {
        // Bind on the caller's thread so a failure is reported here, and so
        // the port is accepting connections before `start` returns.
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let state = Arc::new(ServerState {
            config,
            flaky_hits: Mutex::default(),
        });
        let thread = thread::Builder::new()
            .name("demo-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("a non-blocking std listener converts");
                    let serve = axum::serve(listener, router(state));
                    // On shutdown, stop at once instead of waiting for
                    // in-flight requests: `/slow/…` may still be sleeping.
                    tokio::select! {
                        result = serve => {
                            if let Err(error) = result {
                                eprintln!("demo server failed: {error}");
                            }
                        }
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime cancels the remaining connection tasks.
            })?;
        Ok(Self {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The server's address, e.g. `127.0.0.1:40123`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The absolute URL of `path` (which starts with `/`) on this server.
    pub fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.addr)).expect("a loopback URL is valid")
    }

    /// The URL of a demo file.
    pub fn file_url(&self, file: &DemoFile) -> Url {
        self.url(&format!("/files/{}/{}", file.size, file.name))
    }

    /// The URLs of `files`.
    pub fn file_urls(&self, files: &[DemoFile]) -> Vec<Url> {
        files.iter().map(|file| self.file_url(file)).collect()
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The server may have stopped on its own already; nothing to do then.
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/files/{size}/{name}", get(file))
        .route("/attachment/{size}/{suggest}", get(attachment))
        .route("/status/{code}", get(status))
        .route("/flaky/{failures}/{size}/{name}", get(flaky))
        .route("/slow/{size}/{name}", get(slow))
        .route("/drop/{size}/{name}", get(drop_midway))
        .with_state(state)
}

/// Refuses absurd sizes, so a typo in a URL cannot make the demo server
/// allocate gigabytes.
const MAX_DEMO_SIZE: usize = 64 << 20;

fn file_response(name: &str, size: usize) -> Response {
    if size > MAX_DEMO_SIZE {
        return (StatusCode::BAD_REQUEST, "size too large\n").into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        demo_content(name, size),
    )
        .into_response()
}

async fn file(
    State(state): State<Arc<ServerState>>,
    Path((size, name)): Path<(usize, String)>,
) -> Response {
    tokio::time::sleep(state.config.delay).await;
    file_response(&name, size)
}

async fn attachment(
    State(state): State<Arc<ServerState>>,
    Path((size, suggest)): Path<(usize, String)>,
) -> Response {
    tokio::time::sleep(state.config.delay).await;
    let mut response = file_response(&suggest, size);
    // A quoted string: `\` and `"` are escaped with a backslash.
    let quoted = suggest.replace('\\', "\\\\").replace('"', "\\\"");
    let value = format!("attachment; filename=\"{quoted}\"");
    if let Ok(value) = header::HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn status(State(state): State<Arc<ServerState>>, Path(code): Path<u16>) -> Response {
    tokio::time::sleep(state.config.delay).await;
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    (code, format!("{code}\n")).into_response()
}

async fn flaky(
    State(state): State<Arc<ServerState>>,
    Path((failures, size, name)): Path<(u32, usize, String)>,
) -> Response {
    tokio::time::sleep(state.config.delay).await;
    let seen = {
        let mut hits = state
            .flaky_hits
            .lock()
            .expect("no handler panics holding it");
        let seen = hits.entry(format!("{failures}/{size}/{name}")).or_insert(0);
        *seen += 1;
        *seen
    };
    if seen <= failures {
        (StatusCode::INTERNAL_SERVER_ERROR, "try again later\n").into_response()
    } else {
        file_response(&name, size)
    }
}

async fn slow(
    State(state): State<Arc<ServerState>>,
    Path((size, name)): Path<(usize, String)>,
) -> Response {
    tokio::time::sleep(state.config.slow).await;
    file_response(&name, size)
}

async fn drop_midway(
    State(state): State<Arc<ServerState>>,
    Path((size, name)): Path<(usize, String)>,
) -> Response {
    tokio::time::sleep(state.config.delay).await;
    let mut content = demo_content(&name, size.min(MAX_DEMO_SIZE));
    content.truncate(content.len() / 2);
    let first = Bytes::from(content);
    // The first half goes out with the headers; a moment later the body
    // fails, and hyper aborts the connection: what the client sees when a
    // real server dies mid-transfer.
    let failure = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "the demo server drops the connection",
        ))
    };
    let chunks = futures::stream::iter([Ok(first)]).chain(futures::stream::once(failure));
    Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, size)
        .body(Body::from_stream(chunks))
        .expect("static headers are valid")
}

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

/// Which options a lesson accepts besides step names and URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepts {
    /// `--out DIR` and `--jobs N` (lesson 7.2).
    pub out_and_jobs: bool,
}

/// What the command line asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// URLs to download instead of the demo server's files.
    pub urls: Vec<Url>,
    /// `--out DIR`: where to save files (lesson 7.2).
    pub out: Option<PathBuf>,
    /// `--jobs N`: how many downloads run at once (lesson 7.2).
    pub jobs: Option<NonZeroUsize>,
    /// The step to run; `None` runs them all.
    pub step: Option<String>,
    pub list: bool,
    pub help: bool,
}

/// A bad command line; the message is printed with the usage, exit status 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Parses a URL given on the command line: absolute, `http` or `https`, with
/// a host.
pub fn parse_url(text: &str) -> Result<Url, UsageError> {
    let url =
        Url::parse(text).map_err(|error| UsageError(format!("malformed URL `{text}`: {error}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UsageError(format!(
            "malformed URL `{text}`: only http and https are supported"
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UsageError(format!("malformed URL `{text}`: no host")));
    }
    Ok(url)
}

/// Parses the arguments (without the program name).
///
/// A word made of letters, digits and `_` is a step name; anything else that
/// is not an option must be a URL.
pub fn parse_args(
    args: &[String],
    step_names: &[&str],
    accepts: Accepts,
) -> Result<CommandLine, UsageError> {
    let mut parsed = CommandLine::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let arg = arg.as_str();
        // `--out=DIR` and `--out DIR` both work.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| UsageError(format!("{name} needs a value")))
        };
        match flag {
            "--list" if inline.is_none() => parsed.list = true,
            "--help" | "-h" if inline.is_none() => parsed.help = true,
            "--out" if accepts.out_and_jobs => {
                let dir = value("--out")?;
                if dir.is_empty() {
                    return Err(UsageError("--out needs a directory".into()));
                }
                parsed.out = Some(PathBuf::from(dir));
            }
            "--jobs" if accepts.out_and_jobs => {
                let text = value("--jobs")?;
                let jobs = text
                    .parse::<NonZeroUsize>()
                    .ok()
                    .filter(|jobs| jobs.get() <= 256)
                    .ok_or_else(|| {
                        UsageError(format!("--jobs needs a number from 1 to 256, not `{text}`"))
                    })?;
                parsed.jobs = Some(jobs);
            }
            _ if arg.starts_with('-') => {
                return Err(UsageError(format!("unknown option `{arg}`")));
            }
            _ if is_word(arg) => {
                if !step_names.contains(&arg) {
                    return Err(UsageError(format!("unknown step `{arg}`")));
                }
                if parsed.step.is_some() {
                    return Err(UsageError("expected at most one step name".into()));
                }
                parsed.step = Some(arg.to_owned());
            }
            _ => parsed.urls.push(parse_url(arg)?),
        }
    }
    if (parsed.list || parsed.help)
        && (parsed.step.is_some()
            || !parsed.urls.is_empty()
            || parsed.out.is_some()
            || parsed.jobs.is_some())
    {
        return Err(UsageError(
            "--list and --help take no other arguments".into(),
        ));
    }
    Ok(parsed)
}

fn is_word(arg: &str) -> bool {
    !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

static COMMAND_LINE: OnceLock<CommandLine> = OnceLock::new();
static FAILED: AtomicBool = AtomicBool::new(false);

/// The parsed command line; empty (demo files, defaults) when [`run`] has
/// not set it, as in tests.
pub fn command_line() -> &'static CommandLine {
    COMMAND_LINE.get_or_init(CommandLine::default)
}

/// Makes the program exit with status 1 at the end: a download the user
/// asked for failed.
pub fn mark_failed() {
    FAILED.store(true, Ordering::Relaxed);
}

/// An error with its chain of causes, `outer: inner: root`. reqwest's
/// errors print only the outermost message; the cause (connection refused,
/// time-out, …) is further down the chain.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some layers repeat their inner message; print it once.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Runs the lesson as its command line asks and returns the exit status:
/// 0, 1 if a download the user asked for failed, 2 for bad arguments.
pub fn run(id: LessonId, title: &str, steps: &[Step], accepts: Accepts) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = if accepts.out_and_jobs {
        " [--out DIR] [--jobs N]"
    } else {
        ""
    };
    let usage = format!(
        "usage: cargo run -p {} --bin {} [-- [STEP]{options} [URL…] | --list | --help]\n\
         without URLs, the lesson downloads from its own demo server on 127.0.0.1",
        id.package, id.bin
    );
    let names: Vec<&str> = steps.iter().map(|step| step.name).collect();
    let parsed = match parse_args(&args, &names, accepts) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("error: {error}\n{usage}\n\nsteps:\n{}", step_list(steps));
            return ExitCode::from(2);
        }
    };
    if parsed.list {
        for step in steps {
            println!("{}", step.name);
        }
        return ExitCode::SUCCESS;
    }
    if parsed.help {
        println!("{title}\n{usage}\n\nsteps:\n{}", step_list(steps));
        return ExitCode::SUCCESS;
    }
    let chosen = parsed.step.clone();
    COMMAND_LINE
        .set(parsed)
        .expect("the command line is parsed once");
    println!("{title} [{}/{}]", id.package, id.bin);
    let selected = steps
        .iter()
        .filter(|step| chosen.as_deref().is_none_or(|name| name == step.name));
    for (i, step) in selected.enumerate() {
        if i > 0 {
            println!();
        }
        println!("{}", step_runner::heading(step));
        (step.run)();
    }
    if FAILED.load(Ordering::Relaxed) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// What a step downloads: the command line's URLs, or files on a demo server
/// that lives as long as this value.
pub struct Targets {
    pub urls: Vec<Url>,
    /// True when the URLs came from the command line.
    pub given: bool,
    server: Option<DemoServer>,
}

impl Targets {
    /// The command line's URLs if there are any; otherwise starts a demo
    /// server with `config` and asks `demo` which of its URLs to use.
    pub fn from_command_line(
        config: ServerConfig,
        demo: impl FnOnce(&DemoServer) -> Vec<Url>,
    ) -> Self {
        let given = &command_line().urls;
        if !given.is_empty() {
            return Self {
                urls: given.clone(),
                given: true,
                server: None,
            };
        }
        let server =
            DemoServer::start(config).expect("binding a loopback port for the demo server");
        Self {
            urls: demo(&server),
            given: false,
            server: Some(server),
        }
    }

    /// The demo server, when the URLs are the demo's.
    pub fn server(&self) -> Option<&DemoServer> {
        self.server.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: [&str; 2] = ["compare", "one_file"];
    const PLAIN: Accepts = Accepts {
        out_and_jobs: false,
    };
    const WITH_OUT: Accepts = Accepts { out_and_jobs: true };

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn parse(list: &[&str], accepts: Accepts) -> Result<CommandLine, UsageError> {
        parse_args(&args(list), &STEPS, accepts)
    }

    #[test]
    fn map_on_workers_handles_each_item_once_in_order() {
        let items: Vec<u32> = (0..100).collect();
        let calls = AtomicUsize::new(0);
        for workers in [0, 1, 3, 100, 500] {
            calls.store(0, Ordering::Relaxed);
            let squares = map_on_workers(&items, workers, |&x| {
                calls.fetch_add(1, Ordering::Relaxed);
                x * x
            });
            assert_eq!(squares, items.iter().map(|x| x * x).collect::<Vec<_>>());
            assert_eq!(calls.load(Ordering::Relaxed), items.len());
        }
        assert!(map_on_workers(&[] as &[u32], 4, |&x| x).is_empty());
    }

    fn error(list: &[&str], accepts: Accepts) -> String {
        parse(list, accepts).expect_err("a usage error").0
    }

    #[test]
    fn nothing_means_every_step_on_the_demo_server() {
        assert_eq!(parse(&[], PLAIN), Ok(CommandLine::default()));
    }

    #[test]
    fn steps_urls_and_options_are_recognised() {
        let parsed = parse(
            &[
                "one_file",
                "http://example.com/a.bin",
                "--out",
                "dir",
                "--jobs=3",
                "https://example.com/b",
            ],
            WITH_OUT,
        )
        .expect("valid");
        assert_eq!(parsed.step.as_deref(), Some("one_file"));
        assert_eq!(
            parsed.urls.iter().map(Url::as_str).collect::<Vec<_>>(),
            ["http://example.com/a.bin", "https://example.com/b"]
        );
        assert_eq!(parsed.out, Some(PathBuf::from("dir")));
        assert_eq!(parsed.jobs, NonZeroUsize::new(3));
        assert!(parse(&["--list"], PLAIN).expect("valid").list);
        assert!(parse(&["--help"], PLAIN).expect("valid").help);
    }

    #[test]
    fn malformed_urls_are_usage_errors() {
        assert!(error(&["http://"], PLAIN).starts_with("malformed URL `http://`"));
        assert!(error(&["example.com/x.bin"], PLAIN).starts_with("malformed URL"));
        assert!(error(&["ftp://example.com/x"], PLAIN).contains("only http and https"));
        assert!(error(&["http://exa mple.com/"], PLAIN).starts_with("malformed URL"));
    }

    #[test]
    fn bad_options_are_usage_errors() {
        assert_eq!(error(&["--bogus"], PLAIN), "unknown option `--bogus`");
        // 7.1 and 7.3 take no --out or --jobs.
        assert_eq!(error(&["--out", "d"], PLAIN), "unknown option `--out`");
        assert_eq!(error(&["--jobs"], WITH_OUT), "--jobs needs a value");
        for bad in ["0", "-1", "many", "1000"] {
            assert!(
                error(&["--jobs", bad], WITH_OUT).starts_with("--jobs needs a number"),
                "{bad}"
            );
        }
        assert_eq!(error(&["--out="], WITH_OUT), "--out needs a directory");
        assert_eq!(
            error(&["no_such_step"], PLAIN),
            "unknown step `no_such_step`"
        );
        assert_eq!(
            error(&["compare", "one_file"], PLAIN),
            "expected at most one step name"
        );
        assert!(error(&["--list", "compare"], PLAIN).contains("no other arguments"));
    }

    #[test]
    fn demo_content_is_deterministic_and_differs_per_file() {
        let a = demo_content("file_01.bin", 1000);
        assert_eq!(a, demo_content("file_01.bin", 1000));
        assert_ne!(a, demo_content("file_02.bin", 1000));
        assert_eq!(demo_content("x", 10), demo_content("x", 20)[..10]);
    }

    #[test]
    fn the_server_serves_files_and_stops_when_dropped() {
        course_tests::deadline(Duration::from_secs(20), || {
            let server = DemoServer::start(ServerConfig::with_delay(Duration::ZERO))
                .expect("starting the demo server");
            let file = &demo_files(3)[2];
            let body = reqwest::blocking::get(server.file_url(file))
                .and_then(|response| response.error_for_status())
                .and_then(|response| response.bytes())
                .expect("downloading a demo file");
            assert_eq!(body, demo_content(&file.name, file.size));
            let addr = server.addr();
            drop(server);
            // Nothing listens on the port any more.
            assert!(std::net::TcpStream::connect(addr).is_err());
        });
    }
}
