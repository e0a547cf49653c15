//! The non-concurrent half of lesson 7.4's crawler, which its three
//! engines share: fetching one URL (with retries and a time limit), the
//! links of a page, which URLs a crawl admits (same host, each once, up to
//! `--max-pages`), Ctrl-C's flag, live progress, the summary, and the
//! options of the step `crawl`. The lesson file keeps the concurrent half:
//! how each engine runs these at once, and when a crawl is over.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use crate::{error_chain, parse_jobs, parse_url};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, LOCATION};
use scraper::{Html, Selector};
use step_runner::Sink;
use tokio::sync::watch;
use url::Url;

/// How the crawler names itself to servers: a polite crawler says who it
/// is (and reads `robots.txt`, which this one, a lesson, does not).
pub const USER_AGENT: &str = "module_07-lesson_04 (a course's crawler)";

/// Requests at once unless `--jobs` says otherwise.
pub const CRAWL_JOBS: usize = 8;

/// How a crawl may use the server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Requests at once.
    pub jobs: usize,
    /// URLs fetched in all (pages, files, failures); the start counts.
    pub max_pages: usize,
    /// The time limit of one request, body included.
    pub timeout: Duration,
    /// Tries per URL when the server answers 5xx.
    pub attempts: u32,
    /// The pause before the first retry; it doubles for each next one.
    pub backoff: Duration,
}

impl std::fmt::Display for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (jobs, max, limit) = (self.jobs, self.max_pages, self.timeout.as_secs_f64());
        write!(
            f,
            "{jobs} at once, at most {max} URLs, {limit:.1} s per request"
        )
    }
}

impl Limits {
    /// A blocking client for the thread engines. Redirects are not followed
    /// by the client: a crawler takes a redirect as a link, so its target is
    /// checked against the host and the visited set like any other.
    pub fn blocking_client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client with rustls and a time-out builds")
    }

    /// The same for the tokio engine.
    pub fn async_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client with rustls and a time-out builds")
    }
}

/// What a successful fetch found.
#[derive(Debug)]
pub enum Fetched {
    /// An HTML page, its size and the links on it.
    Page { bytes: u64, links: Vec<Url> },
    /// Anything else: a file, downloaded and counted.
    File { bytes: u64 },
    /// A redirect (3xx): its target, to visit like a link.
    Redirect { to: Url },
}

/// Why a URL could not be fetched: the kinds the summary counts.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("the server answered {0}")]
    Status(StatusCode),
    #[error("no answer within the time limit")]
    TimedOut,
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The connection broke while the answer was arriving.
    #[error("the connection dropped: {0}")]
    Dropped(String),
    #[error("a redirect without a usable Location")]
    BadRedirect,
    #[error("{0}")]
    Other(String),
}

impl Failure {
    /// Sorts a reqwest error by its cause (as lesson 7.3 does): a time-out
    /// while the body arrives is a time-out, not a dropped connection.
    fn classify(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::TimedOut
        } else if error.is_connect() {
            Self::Connect(error_chain(&error))
        } else if error.is_body() || error.is_decode() || error.is_request() {
            Self::Dropped(error_chain(&error))
        } else {
            Self::Other(error_chain(&error))
        }
    }

    /// The summary's name for this kind of failure.
    pub fn kind(&self) -> String {
        match self {
            Self::Status(status) => format!("HTTP {}", status.as_u16()),
            Self::TimedOut => "time-out".into(),
            Self::Connect(_) => "no connection".into(),
            Self::Dropped(_) => "connection dropped".into(),
            Self::BadRedirect => "bad redirect".into(),
            Self::Other(_) => "other".into(),
        }
    }

    /// Worth another try? Only a server error: it may be over in a moment.
    fn is_transient(&self) -> bool {
        matches!(self, Self::Status(status) if status.is_server_error())
    }
}

/// One URL of a crawl: what came of it, after how many tries.
#[derive(Debug)]
pub struct Visit {
    pub url: Url,
    pub result: Result<Fetched, Failure>,
    pub attempts: u32,
}

impl Visit {
    /// The URLs this visit leads to: a page's links, a redirect's target.
    pub fn leads_to(&self) -> &[Url] {
        match &self.result {
            Ok(Fetched::Page { links, .. }) => links,
            Ok(Fetched::Redirect { to }) => std::slice::from_ref(to),
            _ => &[],
        }
    }
}

/// `href` resolved against the page's URL, as a browser does, without its
/// `#fragment` (the same document); `None` for what is no web page
/// (`mailto:`, `javascript:`) or no URL at all.
pub fn resolve(base: &Url, href: &str) -> Option<Url> {
    let mut url = base.join(href.trim()).ok()?;
    url.set_fragment(None);
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// The links of an HTML page: every `<a href>`, parsed the way a browser
/// parses HTML (html5ever, through `scraper`), so a link in a comment, a
/// script or an attribute's text is no link, and an unquoted or upper-case
/// `HREF` still is. Relative links are resolved against `<base href>` if
/// the page has one, else against the page's URL.
pub fn links(page: &Url, html: &str) -> Vec<Url> {
    static BASE: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("base[href]").expect("a valid selector"));
    static LINKS: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("a[href]").expect("a valid selector"));
    // `Html` is not `Send` (its strings are not atomically counted): it is
    // built and dropped here, never held across an `.await`.
    let document = Html::parse_document(html);
    let base = document
        .select(&BASE)
        .next()
        .and_then(|base| resolve(page, base.attr("href")?))
        .unwrap_or_else(|| page.clone());
    document
        .select(&LINKS)
        .filter_map(|a| resolve(&base, a.attr("href")?))
        .collect()
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("text/html"))
}

/// What a response's status and headers say before its body is read:
/// `Some` for a redirect or an error, `None` to read the body.
fn before_body(
    url: &Url,
    status: StatusCode,
    headers: &HeaderMap,
) -> Option<Result<Fetched, Failure>> {
    if status.is_redirection() {
        let to = headers
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|location| resolve(url, location));
        return Some(
            to.map(|to| Fetched::Redirect { to })
                .ok_or(Failure::BadRedirect),
        );
    }
    (!status.is_success()).then_some(Err(Failure::Status(status)))
}

/// One try, blocking.
fn get_blocking(client: &reqwest::blocking::Client, url: &Url) -> Result<Fetched, Failure> {
    let mut response = client.get(url.clone()).send().map_err(Failure::classify)?;
    if let Some(early) = before_body(url, response.status(), response.headers()) {
        return early;
    }
    if is_html(response.headers()) {
        let html = response.text().map_err(Failure::classify)?;
        let links = links(url, &html);
        Ok(Fetched::Page {
            bytes: html.len() as u64,
            links,
        })
    } else {
        // A file: counted as it streams past, not kept in memory.
        let bytes = response
            .copy_to(&mut io::sink())
            .map_err(Failure::classify)?;
        Ok(Fetched::File { bytes })
    }
}

/// One try, async.
async fn get_async(client: &reqwest::Client, url: &Url) -> Result<Fetched, Failure> {
    let mut response = client
        .get(url.clone())
        .send()
        .await
        .map_err(Failure::classify)?;
    if let Some(early) = before_body(url, response.status(), response.headers()) {
        return early;
    }
    if is_html(response.headers()) {
        let html = response.text().await.map_err(Failure::classify)?;
        let links = links(url, &html);
        Ok(Fetched::Page {
            bytes: html.len() as u64,
            links,
        })
    } else {
        let mut bytes = 0;
        while let Some(chunk) = response.chunk().await.map_err(Failure::classify)? {
            bytes += chunk.len() as u64;
        }
        Ok(Fetched::File { bytes })
    }
}

/// Fetches `url`, trying again after a 5xx with a pause that doubles
/// (50 ms, 100 ms, …), up to `limits.attempts` tries; no retry once
/// `stop` is set. The pause keeps the worker (and its place among the
/// `--jobs`): a retry is part of fetching this URL.
pub fn fetch_blocking(
    client: &reqwest::blocking::Client,
    url: Url,
    limits: &Limits,
    stop: &Stop,
) -> Visit {
    let (mut attempts, mut pause) = (1, limits.backoff);
    loop {
        let result = get_blocking(client, &url);
        match result {
            Err(failure)
                if failure.is_transient() && attempts < limits.attempts && !stop.is_set() =>
            {
                std::thread::sleep(pause);
                (attempts, pause) = (attempts + 1, pause * 2);
            }
            result => {
                return Visit {
                    url,
                    result,
                    attempts,
                };
            }
        }
    }
}

/// [`fetch_blocking`] for tokio: the same tries, pauses with
/// `tokio::time::sleep` (a blocking sleep would stall the runtime's thread).
pub async fn fetch_async(client: &reqwest::Client, url: Url, limits: &Limits) -> Visit {
    let (mut attempts, mut pause) = (1, limits.backoff);
    loop {
        let result = get_async(client, &url).await;
        match result {
            Err(failure) if failure.is_transient() && attempts < limits.attempts => {
                tokio::time::sleep(pause).await;
                (attempts, pause) = (attempts + 1, pause * 2);
            }
            result => {
                return Visit {
                    url,
                    result,
                    attempts,
                };
            }
        }
    }
}

/// The visited set: which URLs a crawl fetches. A URL is admitted once,
/// only on the start's host (any scheme and port, so that a redirect from
/// `http://` to `https://` stays on the site), and only while fewer than
/// `max` have been admitted.
pub struct Seen {
    start: Url,
    admitted: HashSet<Url>,
    max: usize,
    /// Distinct links refused: to another host, or past `max`.
    pub offsite: HashSet<Url>,
    pub beyond_limit: HashSet<Url>,
}

impl Seen {
    /// The start URL is admitted.
    pub fn new(start: &Url, max: usize) -> Self {
        Self {
            start: start.clone(),
            admitted: HashSet::from([start.clone()]),
            max,
            offsite: HashSet::new(),
            beyond_limit: HashSet::new(),
        }
    }

    /// The URLs of `links` seen for the first time, to be fetched.
    pub fn admit(&mut self, links: &[Url]) -> Vec<Url> {
        let mut new = Vec::new();
        for link in links {
            if link.host() != self.start.host() {
                self.offsite.insert(link.clone());
            } else if self.admitted.contains(link) {
                // Seen before: a cycle or a duplicate.
            } else if self.admitted.len() >= self.max {
                self.beyond_limit.insert(link.clone());
            } else {
                self.admitted.insert(link.clone());
                new.push(link.clone());
            }
        }
        new
    }
}

/// Ctrl-C's flag: set once, seen by blocking code (`is_set`) and awaited by
/// async code (`stopped`).
#[derive(Default)]
pub struct Stop(watch::Sender<bool>);

impl Stop {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once [`Stop::stop`] has been called, before or after.
    pub async fn stopped(&self) {
        let mut seen = self.0.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail.
        let _ = seen.wait_for(|stopped| *stopped).await;
    }
}

/// A [`Stop`] that Ctrl-C, SIGTERM and SIGHUP (ctrlc's `termination`
/// feature) set, on ctrlc's own thread. A second press, or one after the
/// crawl (the handler holds only a `Weak`), exits at once. Installs the
/// process's one handler: call it once.
pub fn on_ctrl_c() -> Arc<Stop> {
    let stop = Arc::new(Stop::new());
    let weak = Arc::downgrade(&stop);
    let mut pressed = false;
    ctrlc::set_handler(move || {
        if let Some(stop) = weak.upgrade() {
            stop.stop();
        }
        if pressed || weak.strong_count() == 0 {
            std::process::exit(130);
        }
        pressed = true;
    })
    .expect("installing the Ctrl-C handler, once per process");
    stop
}

/// Live progress: a line for every visit that is not a plain page or file
/// (a failure, a retry, a redirect) and one every `every` visits (none
/// for 0).
pub struct Progress<'a> {
    pub sink: &'a Sink,
    pub every: usize,
    /// How a URL is printed (the demo site's: its path only).
    pub short: &'a (dyn Fn(&Url) -> String + Sync),
    /// Visits reported so far. Numbered and printed under this one lock,
    /// so the numbers appear in order whichever thread reports.
    done: Mutex<usize>,
}

impl<'a> Progress<'a> {
    pub fn new(sink: &'a Sink, every: usize, short: &'a (dyn Fn(&Url) -> String + Sync)) -> Self {
        Self {
            sink,
            every,
            short,
            done: Mutex::new(0),
        }
    }

    /// Reports `visit`, the crawl's next finished one.
    pub fn report(&self, visit: &Visit) {
        // A panic while printing (stdout closed) poisons the lock; the count
        // it guards is whole, so the other threads go on with it.
        let mut done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        *done += 1;
        let n = *done;
        let url = (self.short)(&visit.url);
        let tries = match visit.attempts {
            1 => String::new(),
            n => format!(" after {n} tries"),
        };
        let line = match &visit.result {
            Err(failure) => format!("FAILED {url}{tries}: {failure}"),
            Ok(Fetched::Redirect { to }) => format!("{url} redirects to {}", (self.short)(to)),
            Ok(_) if visit.attempts > 1 => format!("{url}: fetched{tries}"),
            Ok(_) if n.is_multiple_of(self.every) => format!("{n} fetched, latest {url}"),
            Ok(_) => return,
        };
        self.sink.note(format!("[{n:>4}] {line}"));
    }
}

/// A finished crawl: every visit, in the order they finished.
pub struct Crawl {
    pub visits: Vec<Visit>,
    pub elapsed: Duration,
    pub interrupted: bool,
    pub offsite: usize,
    pub beyond_limit: usize,
}

impl Crawl {
    pub fn new(visits: Vec<Visit>, seen: &Seen, elapsed: Duration, interrupted: bool) -> Self {
        Self {
            visits,
            elapsed,
            interrupted,
            offsite: seen.offsite.len(),
            beyond_limit: seen.beyond_limit.len(),
        }
    }

    /// The paths visited (the demo server's port differs from run to run).
    pub fn paths(&self) -> BTreeSet<String> {
        let paths = self.visits.iter().map(|visit| visit.url.path().to_owned());
        paths.collect()
    }

    /// The failures by kind, e.g. `{"HTTP 404": 1, "time-out": 1}`.
    pub fn failures(&self) -> BTreeMap<String, usize> {
        let mut kinds = BTreeMap::new();
        for visit in &self.visits {
            if let Err(failure) = &visit.result {
                *kinds.entry(failure.kind()).or_insert(0) += 1;
            }
        }
        kinds
    }

    /// The summary: pages, files, bytes, failures by kind, time.
    pub fn summary(&self) -> Vec<String> {
        let (mut pages, mut files, mut redirects, mut bytes) = (0, 0, 0, 0);
        for visit in &self.visits {
            match &visit.result {
                Ok(Fetched::Page { bytes: b, .. }) => (pages, bytes) = (pages + 1, bytes + b),
                Ok(Fetched::File { bytes: b }) => (files, bytes) = (files + 1, bytes + b),
                Ok(Fetched::Redirect { .. }) => redirects += 1,
                Err(_) => {}
            }
        }
        let failures = self.failures();
        let failed: usize = failures.values().sum();
        let kinds: Vec<String> = failures
            .iter()
            .map(|(kind, n)| format!("{kind} ×{n}"))
            .collect();
        let mut lines = vec![
            format!(
                "{} URLs in {:.2} s: pages {pages}, files {files}, redirects {redirects}, bytes {bytes}",
                self.visits.len(),
                self.elapsed.as_secs_f64()
            ),
            format!(
                "{failed} failed{}{}",
                if failed > 0 { ": " } else { "" },
                kinds.join(", ")
            ),
            format!(
                "not followed: links to other hosts {}, past --max-pages {}",
                self.offsite, self.beyond_limit
            ),
        ];
        if self.interrupted {
            lines.push("interrupted: no new request after Ctrl-C".into());
        }
        lines
    }
}

impl Limits {
    /// Three tries on a 5xx, 50 ms before the first retry.
    pub fn new(jobs: usize, max_pages: usize, timeout: Duration) -> Self {
        Self {
            jobs,
            max_pages,
            timeout,
            attempts: 3,
            backoff: Duration::from_millis(50),
        }
    }
}

/// Which engine crawls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// One request at a time
    Sequential,
    /// `--jobs` OS threads around a shared frontier
    Threads,
    /// tokio tasks, `--jobs` past a semaphore
    Tokio,
}

/// A URL for printing: only its path on the demo server (`port`), whose
/// port changes from run to run.
pub fn shorten(port: Option<u16>) -> impl Fn(&Url) -> String + Sync {
    move |url| match port {
        Some(port) if url.port() == Some(port) => url.path().to_owned(),
        _ => url.to_string(),
    }
}

// The options of step `crawl` (a plain comment: clap would take a doc
// comment for the step's summary in `--help`).
#[derive(clap::Args, Debug)]
pub struct CrawlArgs {
    /// Requests at once (1 to 256)
    #[arg(long, value_name = "N", default_value_t = CRAWL_JOBS, value_parser = parse_jobs)]
    pub jobs: usize,
    /// Fetch at most N URLs (pages and files; at least 1)
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = parse_max_pages)]
    pub max_pages: usize,
    /// How the requests run at once
    #[arg(long, value_enum, default_value = "threads")]
    pub engine: Engine,
    /// The time limit of one request [default: 10, or 0.5 on the demo site]
    #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Crawl this site (http or https) instead of the demo site
    #[arg(value_name = "URL", value_parser = parse_url)]
    pub url: Option<Url>,
}

fn parse_max_pages(text: &str) -> Result<usize, String> {
    text.parse()
        .ok()
        .filter(|&max| max >= 1)
        .ok_or_else(|| "--max-pages needs a number of at least 1".to_owned())
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    text.parse()
        .ok()
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .filter(|limit| !limit.is_zero())
        .ok_or_else(|| "--timeout needs a number of seconds above 0".to_owned())
}
