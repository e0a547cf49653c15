//! Module 7 — Practice: concurrent downloads
//!
//! Real HTTP with [`reqwest`](https://docs.rs/reqwest) (rustls, no system
//! OpenSSL): the blocking client on threads, and the async client on tokio.
//!
//! By default every lesson downloads from a demo server built into this
//! module ([`DemoServer`]): a real HTTP server (axum on tokio) bound to a
//! free port on `127.0.0.1`, serving generated files of known sizes and
//! contents after a fixed delay per response, plus routes that fail on
//! purpose. So the lessons run offline and give the same results every time.
//! Give URLs on the command line to download those instead.
//!
//! # Lessons
//!
//! Each lesson is a page: the `lesson_NN` modules listed below, in course
//! order. A page opens with the lesson's header (what it teaches, the
//! Python → Rust table, how to run it, what to try) and lists the lesson's
//! steps, the functions its `main` runs, each with its doc; "Source" shows
//! the code. Run a lesson with `cargo run -p module_07 --bin lesson_NN`.
//!
//! # Also in this library
//!
//! The shared runtime pieces of module 7 (concurrent downloads):
//!
//! * [`DemoServer`]: a real HTTP server (axum on tokio) bound to a free
//!   loopback port, serving generated files of known sizes and contents after
//!   a configurable delay, plus routes that fail the ways real servers do
//!   (404, 500, too slow, connection dropped midway). The lessons download
//!   from it by default, so they run offline and give the same results every
//!   time.
//! * [`UrlArgs`] and [`Targets`]: a step's URLs from its command line
//!   (`step_runner` makes each step a subcommand), or the demo server's
//!   files when none are given; [`SaveArgs`], lesson 7.2's `--out` and
//!   `--jobs`.
//! * [`saving`]: where lesson 7.2's downloads land: safe file names, partial
//!   files, and the [`saving::Run`] that Ctrl-C interrupts.
//! * [`site`]: the small web site lesson 7.4 crawls, with its map; the
//!   server counts the requests it sees ([`DemoServer::requests`]).
//! * [`crawl`]: lesson 7.4's fetching, links, visited set and summary, and
//!   its step's options.
//!
//! This is infrastructure; the downloading itself is written out in each
//! lesson file.

// The lessons, each a page of this crate's documentation: rustdoc reads
// every lesson binary's source as a module of this library. Only rustdoc
// sees these modules (`cfg(doc)`, set by `cargo doc` and `cargo test
// --doc`), so no lesson is compiled twice. They are private, as the steps
// in them are: .cargo/config.toml has rustdoc document private items. The
// lessons name this library `module_07`, as their binaries do.
#[cfg(doc)]
extern crate self as module_07;
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
#[path = "bin/lesson_04/main.rs"]
mod lesson_04;

pub mod crawl;
pub mod saving;
pub mod site;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
pub use reqwest::Url;
use site::{Resource, SiteConfig};
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
    /// How long the `/slow/…` route waits before answering (longer than the
    /// client's time-out), and how long `/trickle/…` takes to send a body.
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
    site: SiteConfig,
    /// `http://127.0.0.1:PORT`, for the site's absolute links.
    origin: String,
    /// Requests seen per `/flaky/…` path, so it fails the first N times.
    flaky_hits: Mutex<HashMap<String, u32>>,
    /// Requests seen per path, whatever the route.
    hits: Mutex<BTreeMap<String, u32>>,
    /// Requests being handled now, and the most seen at once.
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// What the demo server has seen so far ([`DemoServer::requests`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requests {
    /// Requests per path (without the query), every route.
    pub hits: BTreeMap<String, u32>,
    /// The most requests the server was handling at one moment: from the
    /// moment a request's head arrived until its response's head was ready.
    pub max_in_flight: usize,
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
/// | `/status/{code}`                | that status (404, 500, …) and a short text body    |
/// | `/flaky/{n}/{size}/{name}`      | 500 the first `n` times, then the file             |
/// | `/slow/{size}/{name}`           | the file, after [`ServerConfig::slow`]             |
/// | `/trickle/{size}/{name}`        | the headers at once, the body in 100 pieces spread over [`ServerConfig::slow`] |
/// | `/drop/{size}/{name}`           | announces `size` bytes, sends half, drops the connection |
/// | `/site/…`                       | lesson 7.4's web site: see [`site`]                 |
pub struct DemoServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl DemoServer {
    /// Binds `127.0.0.1:0` (a free port; loopback only) and starts serving.
    pub fn start(config: ServerConfig) -> io::Result<Self> {
        Self::start_with_site(config, SiteConfig::default())
    }

    /// Like [`DemoServer::start`], the `/site/…` pages timed by `site`.
    pub fn start_site(site: SiteConfig) -> io::Result<Self> {
        Self::start_with_site(ServerConfig::with_delay(site.delay), site)
    }

    fn start_with_site(config: ServerConfig, site: SiteConfig) -> io::Result<Self> {
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
            site,
            origin: format!("http://{addr}"),
            flaky_hits: Mutex::default(),
            hits: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let counted = Arc::clone(&state);
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
            state: counted,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The requests the server has seen so far.
    pub fn requests(&self) -> Requests {
        Requests {
            hits: self
                .state
                .hits
                .lock()
                .expect("no handler panics holding it")
                .clone(),
            max_in_flight: self.state.max_in_flight.load(Ordering::SeqCst),
        }
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

    /// The URL of a demo file of `size` bytes whose last path segment
    /// decodes to `name`, which may hold `/` and `..`: percent-encoded, they
    /// stay inside the one segment.
    pub fn named_file_url(&self, size: usize, name: &str) -> Url {
        let encoded =
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
        self.url(&format!("/files/{size}/{encoded}"))
    }

    /// The URLs of `files`.
    pub fn file_urls(&self, files: &[DemoFile]) -> Vec<Url> {
        files.iter().map(|file| self.file_url(file)).collect()
    }
}

/// A demo server whose `/site/…` pages are timed by `site`; panics if no
/// loopback port can be bound (nothing a lesson could do about it).
pub fn demo_server(site: SiteConfig) -> DemoServer {
    DemoServer::start_site(site).expect("binding a loopback port for the demo server")
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
        .route("/status/{code}", get(status))
        .route("/flaky/{failures}/{size}/{name}", get(flaky))
        .route("/slow/{size}/{name}", get(slow))
        .route("/trickle/{size}/{name}", get(trickle))
        .route("/drop/{size}/{name}", get(drop_midway))
        .route("/site/{*rest}", get(site_resource))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), count))
        .with_state(state)
}

/// Counts every request: per path, and how many are handled at once.
async fn count(State(state): State<Arc<ServerState>>, request: Request, next: Next) -> Response {
    *state
        .hits
        .lock()
        .expect("no handler panics holding it")
        .entry(request.uri().path().to_owned())
        .or_insert(0) += 1;
    // `SeqCst` on both counters: `fetch_max` must see every increment that
    // happened before it, and the test reads the maximum afterwards.
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    // Decremented also when the request is cancelled mid-way (the future
    // dropped), not only when it completes.
    struct Leaving<'a>(&'a AtomicUsize);
    impl Drop for Leaving<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let _leaving = Leaving(&state.in_flight);
    next.run(request).await
}

/// Lesson 7.4's web site ([`site`]): pages, files, failures, a redirect.
async fn site_resource(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let Some(resource) = Resource::parse(request.uri().path()) else {
        tokio::time::sleep(state.site.delay).await;
        return (StatusCode::NOT_FOUND, "no such page\n").into_response();
    };
    let pause = match resource {
        Resource::Slow(_) => state.site.slow,
        Resource::TooSlow => state.site.too_slow,
        _ => state.site.delay,
    };
    tokio::time::sleep(pause).await;
    let html = || {
        let links = resource.links(&state.origin);
        site::page_html(&resource.path(), &links)
    };
    let page = |html: String| ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html);
    match resource {
        Resource::File(k) => file_response(&resource.path(), site::file_size(k)),
        Resource::Missing => (StatusCode::NOT_FOUND, "no such page\n").into_response(),
        Resource::Broken => (StatusCode::INTERNAL_SERVER_ERROR, "broken\n").into_response(),
        Resource::Flaky => {
            let seen = {
                let mut hits = state
                    .flaky_hits
                    .lock()
                    .expect("no handler panics holding it");
                let seen = hits.entry(resource.path()).or_insert(0);
                *seen += 1;
                *seen
            };
            if seen == 1 {
                (StatusCode::INTERNAL_SERVER_ERROR, "try again\n").into_response()
            } else {
                page(html()).into_response()
            }
        }
        Resource::Moved => (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, Resource::MOVED_TO.path())],
        )
            .into_response(),
        Resource::Dropped => {
            let mut half = html().into_bytes();
            let size = half.len();
            half.truncate(size / 2);
            dropped_body("text/html; charset=utf-8", size, half)
        }
        _ => page(html()).into_response(),
    }
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

async fn trickle(
    State(state): State<Arc<ServerState>>,
    Path((size, name)): Path<(usize, String)>,
) -> Response {
    tokio::time::sleep(state.config.delay).await;
    if size > MAX_DEMO_SIZE {
        return (StatusCode::BAD_REQUEST, "size too large\n").into_response();
    }
    const PIECES: usize = 100;
    let pause = state.config.slow / PIECES as u32;
    let pieces: Vec<Bytes> = demo_content(&name, size)
        .chunks(size.div_ceil(PIECES).max(1))
        .map(Bytes::copy_from_slice)
        .collect();
    // The first piece goes out with the headers, each further one after a
    // pause: a download in progress, with part of the file on the client.
    let body = futures::stream::iter(pieces)
        .enumerate()
        .then(move |(i, piece)| async move {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            Ok::<_, io::Error>(piece)
        });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, size)
        .body(Body::from_stream(body))
        .expect("static headers are valid")
}

async fn drop_midway(
    State(state): State<Arc<ServerState>>,
    Path((size, name)): Path<(usize, String)>,
) -> Response {
    tokio::time::sleep(state.config.delay).await;
    let mut content = demo_content(&name, size.min(MAX_DEMO_SIZE));
    content.truncate(content.len() / 2);
    dropped_body("application/octet-stream", size, content)
}

/// Announces `size` bytes, sends `first` with the headers and then drops
/// the connection.
fn dropped_body(content_type: &'static str, size: usize, first: Vec<u8>) -> Response {
    let first = Bytes::from(first);
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
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, size)
        .body(Body::from_stream(chunks))
        .expect("static headers are valid")
}

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

// The arguments of a step that downloads: URLs to fetch instead of the demo
// server's files. `step_runner` makes each step a subcommand
// (`lesson_01 compare URL…`); with no step named, every step runs with none.
// A plain comment, not `///`: clap would take a doc comment for the step's
// summary in `--help`.
#[derive(clap::Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct UrlArgs {
    /// URLs to download (http or https) instead of the demo server's files
    #[arg(value_name = "URL", value_parser = parse_url)]
    pub urls: Vec<Url>,
}

/// Downloads at once unless `--jobs` says otherwise: lesson 7.2's 10 demo
/// files in 3 rounds.
pub const DEFAULT_JOBS: usize = 4;
/// The most `--jobs` accepts: one thread per download.
pub const MAX_JOBS: usize = 256;

// The options of lesson 7.2's step `save_files` (a plain comment: clap would take a doc
// comment for the step's summary in `--help`).
#[derive(clap::Args, Debug)]
pub struct SaveArgs {
    /// Keep the files in DIR (created if needed); without it they go to a
    /// temporary directory that is removed at the end
    #[arg(long, value_name = "DIR", value_parser = parse_out)]
    pub out: Option<PathBuf>,
    /// How many downloads run at once (1 to 256)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_JOBS, value_parser = parse_jobs)]
    pub jobs: usize,
    #[command(flatten)]
    pub urls: UrlArgs,
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
pub fn output_dir(
    out: Option<&std::path::Path>,
) -> io::Result<(PathBuf, Option<tempfile::TempDir>)> {
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

/// A URL given on the command line that is not absolute `http` or `https`
/// with a host.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadUrl(pub String);

/// Parses a URL given on the command line: absolute, `http` or `https`, with
/// a host.
pub fn parse_url(text: &str) -> Result<Url, BadUrl> {
    let url =
        Url::parse(text).map_err(|error| BadUrl(format!("malformed URL `{text}`: {error}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(BadUrl(format!(
            "malformed URL `{text}`: only http and https are supported"
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(BadUrl(format!("malformed URL `{text}`: no host")));
    }
    Ok(url)
}

/// A blocking client whose requests fail after `timeout` instead of hanging
/// on a server that stops answering.
pub fn blocking_client(timeout: Duration) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .build()
        .expect("a client with rustls and a time-out builds")
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

/// What a step downloads: the URLs given to it, or files on a demo server
/// that lives as long as this value.
pub struct Targets {
    pub urls: Vec<Url>,
    /// True when the URLs came from the command line.
    pub given: bool,
    server: Option<DemoServer>,
}

impl Targets {
    /// `given` if there are any; otherwise starts a demo server with
    /// `config` and asks `demo` which of its URLs to use.
    pub fn new(
        given: &UrlArgs,
        config: ServerConfig,
        demo: impl FnOnce(&DemoServer) -> Vec<Url>,
    ) -> Self {
        if !given.urls.is_empty() {
            return Self {
                urls: given.urls.clone(),
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

    /// `url` for printing: only its path when it is on the demo server,
    /// whose port changes from run to run, so the output stays the same.
    pub fn short(&self, url: &Url) -> String {
        match &self.server {
            Some(server) if url.port() == Some(server.addr().port()) => url.path().to_owned(),
            _ => url.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use clap::{Args, Command, FromArgMatches};

    /// Parses `list` as the arguments of a step that takes [`UrlArgs`].
    fn parse(list: &[&str]) -> Result<UrlArgs, clap::Error> {
        let matches = UrlArgs::augment_args(Command::new("step"))
            .try_get_matches_from(std::iter::once("step").chain(list.iter().copied()))?;
        UrlArgs::from_arg_matches(&matches)
    }

    #[test]
    fn map_on_workers_handles_each_item_once_in_order() {
        let items: Vec<u32> = (0..100).collect();
        let calls = AtomicUsize::new(0);
        for workers in [0, 1, 3, 100, 500] {
            calls.store(0, Ordering::Relaxed);
            let squares = map_on_workers(&items, workers, |&x| {
                calls.fetch_add(1, Ordering::Relaxed);
                // Uneven durations, so the workers' shares interleave and
                // only putting the results back in order passes.
                thread::sleep(Duration::from_millis(u64::from(x % 3)));
                x * x
            });
            assert_eq!(squares, items.iter().map(|x| x * x).collect::<Vec<_>>());
            assert_eq!(calls.load(Ordering::Relaxed), items.len());
        }
        assert!(map_on_workers(&[] as &[u32], 4, |&x| x).is_empty());
    }

    #[test]
    fn a_panic_in_map_on_workers_reaches_the_caller() {
        let items: Vec<u32> = (0..20).collect();
        let caught = std::panic::catch_unwind(|| {
            map_on_workers(&items, 3, |&x| {
                assert_ne!(x, 7, "a bug at item 7");
                x
            })
        });
        let payload = caught.expect_err("the panic is passed on");
        let message = payload
            .downcast_ref::<String>()
            .expect("assert_ne! panics with a String");
        assert!(message.contains("a bug at item 7"), "{message}");
    }

    #[test]
    fn urls_are_parsed_and_checked() {
        assert_eq!(parse(&[]).expect("valid"), UrlArgs::default());
        let parsed = parse(&["http://example.com/a.bin", "https://example.com/b"]).expect("valid");
        assert_eq!(
            parsed.urls.iter().map(Url::as_str).collect::<Vec<_>>(),
            ["http://example.com/a.bin", "https://example.com/b"]
        );
        for (bad, message) in [
            ("http://", "malformed URL `http://`"),
            ("example.com/x.bin", "malformed URL"),
            ("ftp://example.com/x", "only http and https"),
            ("http://exa mple.com/", "malformed URL"),
        ] {
            let error = parse(&[bad]).expect_err(bad);
            assert_eq!(error.exit_code(), 2, "{bad}");
            assert!(error.to_string().contains(message), "{bad}: {error}");
        }
        assert_eq!(parse(&["--bogus"]).expect_err("unknown").exit_code(), 2);
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
