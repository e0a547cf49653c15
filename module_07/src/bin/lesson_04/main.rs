//! Lesson 7.4 — Project: a concurrent web scraper («Проект: многопоточный веб-скрейпер»)
//!
//! **Beyond the course's syllabus.** The course's learning roadmap ends with
//! a project: "build something that needs concurrency, e.g. a web scraper".
//! This is one: from a start page, fetch every page of the same site once,
//! following links, at most `--jobs` requests at once, retrying server
//! errors, with a time limit per request, live progress, Ctrl-C, and a
//! summary. The work is I/O, so concurrency pays even on one core.
//!
//! Three engines share one fetch (`fetch.rs`): a plain loop (below: the
//! smallest form, and the baseline), OS threads around a shared frontier
//! (`threads.rs`: where "when is the crawl over?" needs care) and tokio
//! tasks (`tasks.rs`: `JoinSet` + `Semaphore`, where the same question
//! answers itself). The demo server's web site (`module_07::site`) has
//! cycles, duplicate links, relative and absolute links, a link to another
//! host, files, slow pages, failures of every kind and a redirect; its map
//! is a function, so the tests know which URLs a correct crawl visits.
//!
//! | Python                                              | Rust                                                   |
//! |-----------------------------------------------------|--------------------------------------------------------|
//! | `requests.get(url, timeout=5)`                      | `Client::builder().timeout(..)`, then `get(url).send()` |
//! | `BeautifulSoup(html).find_all("a", href=True)`      | `Html::parse_document(html).select(&Selector::parse("a[href]")?)` |
//! | `urljoin(page, href)`; `urldefrag(url)`             | `page.join(href)?`; `url.set_fragment(None)`           |
//! | `urlparse(a).netloc == urlparse(b).netloc`          | `a.origin() == b.origin()` (scheme, host and port)     |
//! | `visited = set()` under a `threading.Lock()`        | `Mutex<Seen>` (`fetch.rs`)                             |
//! | `queue.Queue()` with `task_done()` and `q.join()`   | `Frontier`: a queue that counts busy workers (`threads.rs`) |
//! | `asyncio.Semaphore(n)` + `asyncio.create_task`      | `tokio::sync::Semaphore` + `JoinSet::spawn`            |
//! | `signal.signal(SIGINT, handler)`                    | `ctrlc::set_handler(handler)`                          |
//!
//! - Run all steps: `cargo run -p module_07 --bin lesson_04`
//! - Run one step:  `cargo run -p module_07 --bin lesson_04 -- engines`
//! - A real site:   `cargo run -p module_07 --bin lesson_04 -- crawl --max-pages 50 https://example.com/`
//!
//! Options of `crawl`: `--jobs N` (1–256, default 8), `--max-pages N`
//! (default 1000), `--engine sequential|threads|tokio` (default threads),
//! `--timeout SECONDS` (default 10; 0.5 on the demo site). Without a URL it
//! crawls the demo site on 127.0.0.1: no network. Exit status 1 if a URL of
//! your site failed, 2 for a bad option, 130 after Ctrl-C.
//!
//! Try:
//! - In `threads.rs`, `Frontier::take`, delete `s.busy > 0 && ` from the
//!   wait and run `-- crawl`: every page is fetched, and then the crawl
//!   never ends, as the idle workers wait for work nobody can add (press
//!   Ctrl-C twice). The busy count is what tells "done" from "not yet".
//! - Run `-- crawl --jobs 1`, then `--jobs 32`: the time falls about tenfold
//!   and then stops falling, the slowest page's time being the floor.
//! - Run `-- crawl --max-pages 20 --engine tokio`: 20 URLs, and the summary
//!   counts the links left behind.

mod fetch;
mod tasks;
mod threads;

use std::collections::{BTreeSet, VecDeque};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fetch::{Crawl, Limits, Progress, Seen, Stop, fetch_blocking};
use module_07::site::{self, SiteConfig};
use module_07::{DemoServer, Requests, parse_url};
use step_runner::{Outcome, Sink, Step, lesson_id};
use url::Url;

const TITLE: &str = "Lesson 7.4 — Project: a concurrent web scraper (beyond the syllabus) («Проект: многопоточный веб-скрейпер»)";

/// The demo site's timing: 5 ms a page, four slow pages of 100 ms, and one
/// that outlasts [`DEMO_TIMEOUT`].
const DEMO_SITE: SiteConfig = SiteConfig {
    delay: Duration::from_millis(5),
    slow: Duration::from_millis(100),
    too_slow: Duration::from_secs(3),
};
const DEMO_TIMEOUT: Duration = Duration::from_millis(500);
const TIMEOUT: Duration = Duration::from_secs(10);
const JOBS: usize = 8;

/// The limits of a crawl: three tries on a 5xx, 50 ms before the first
/// retry.
fn limits(jobs: usize, max_pages: usize, timeout: Duration) -> Limits {
    Limits {
        jobs,
        max_pages,
        timeout,
        attempts: 3,
        backoff: Duration::from_millis(50),
    }
}

/// Which engine crawls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Engine {
    /// One request at a time
    Sequential,
    /// `--jobs` OS threads around a shared frontier
    Threads,
    /// tokio tasks, `--jobs` past a semaphore
    Tokio,
}

/// Engine `sequential` — the crawl without concurrency: a queue, the
/// visited set, one loop. It is over when the queue is empty: only this
/// loop adds to it, and it is not in the middle of a fetch.
fn crawl_sequential(start: Url, limits: &Limits, stop: &Stop, progress: &Progress) -> Crawl {
    let started = Instant::now();
    let client = limits.blocking_client();
    let mut seen = Seen::new(&start, limits.max_pages);
    let mut queue = VecDeque::from([start]);
    let mut visits = Vec::new();
    while let Some(url) = queue.pop_front() {
        if stop.is_set() {
            break;
        }
        let visit = fetch_blocking(&client, url, limits, stop);
        queue.extend(seen.admit(visit.leads_to()));
        progress.report(&visit);
        visits.push(visit);
    }
    Crawl::new(visits, &seen, started.elapsed(), stop.is_set())
}

/// Crawls from `start` with `engine`.
fn crawl(engine: Engine, start: Url, limits: &Limits, stop: &Stop, progress: &Progress) -> Crawl {
    match engine {
        Engine::Sequential => crawl_sequential(start, limits, stop, progress),
        Engine::Threads => threads::crawl(start, limits, stop, progress),
        Engine::Tokio => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("building a tokio runtime")
            .block_on(tasks::crawl(start, limits, stop, progress)),
    }
}

fn demo_server(config: SiteConfig) -> DemoServer {
    DemoServer::start_site(config).expect("binding a loopback port for the demo server")
}

/// A URL for printing: only its path on the demo server (`port`), whose
/// port changes from run to run.
fn shorten(port: Option<u16>) -> impl Fn(&Url) -> String + Sync {
    move |url| match port {
        Some(port) if url.port() == Some(port) => url.path().to_owned(),
        _ => url.to_string(),
    }
}

// The options of step `crawl` (a plain comment: clap would take a doc
// comment for the step's summary in `--help`).
#[derive(clap::Args, Debug)]
struct CrawlArgs {
    /// Requests at once (1 to 256)
    #[arg(long, value_name = "N", default_value_t = JOBS, value_parser = parse_jobs)]
    jobs: usize,
    /// Fetch at most N URLs (pages and files; at least 1)
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = parse_max_pages)]
    max_pages: usize,
    /// How the requests run at once
    #[arg(long, value_enum, default_value = "threads")]
    engine: Engine,
    /// The time limit of one request [default: 10, or 0.5 on the demo site]
    #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
    timeout: Option<Duration>,
    /// Crawl this site (http or https) instead of the demo site
    #[arg(value_name = "URL", value_parser = parse_url)]
    url: Option<Url>,
}

fn parse_jobs(text: &str) -> Result<usize, String> {
    text.parse()
        .ok()
        .filter(|jobs| (1..=256).contains(jobs))
        .ok_or_else(|| "--jobs needs a number from 1 to 256".to_owned())
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

/// Ctrl-C, SIGTERM and SIGHUP (ctrlc's `termination` feature) set `stop`,
/// on ctrlc's own thread. A second press, or one after the crawl (the
/// handler holds only a `Weak`), exits at once.
fn on_ctrl_c(stop: &Arc<Stop>) {
    let stop = Arc::downgrade(stop);
    let mut pressed = false;
    ctrlc::set_handler(move || {
        if let Some(stop) = stop.upgrade() {
            stop.stop();
        }
        if pressed || stop.strong_count() == 0 {
            std::process::exit(130);
        }
        pressed = true;
    })
    .expect("installing the Ctrl-C handler, once per process");
}

/// Step `crawl` — crawls the demo site, or the site given, with one
/// engine; a line per failure, retry or redirect and per 25 URLs as they
/// happen, then the summary.
fn show_crawl(args: CrawlArgs) -> Outcome {
    let server = args.url.is_none().then(|| demo_server(DEMO_SITE));
    let (start, timeout) = match (&args.url, &server) {
        (Some(url), _) => (url.clone(), args.timeout.unwrap_or(TIMEOUT)),
        (None, Some(server)) => (
            server.url(site::START),
            args.timeout.unwrap_or(DEMO_TIMEOUT),
        ),
        (None, None) => unreachable!("a demo server runs when no URL is given"),
    };
    let limits = limits(args.jobs, args.max_pages, timeout);
    let stop = Arc::new(Stop::new());
    on_ctrl_c(&stop);
    println!(
        "crawling {start}: {:?} engine, {} at once, at most {} URLs, {:.1} s per request",
        args.engine,
        limits.jobs,
        limits.max_pages,
        timeout.as_secs_f64()
    );
    let (sink, short) = (
        Sink::stdout_timed(),
        shorten(server.as_ref().map(|s| s.addr().port())),
    );
    let crawl = crawl(
        args.engine,
        start,
        &limits,
        &stop,
        &Progress::new(&sink, 25, &short),
    );
    crawl.summary().iter().for_each(|line| println!("{line}"));
    if crawl.interrupted {
        Outcome::Interrupted
    } else if server.is_none() && !crawl.failures().is_empty() {
        // Failures on your site are what you asked about; the demo site's
        // are the lesson.
        Outcome::Failed
    } else {
        Outcome::Done
    }
}

/// Step `engines` — the demo site crawled by each engine, each on a fresh
/// server that counts the requests it handles at once.
fn engines(site: SiteConfig, limits: &Limits) -> Vec<(Engine, Crawl, Requests)> {
    [Engine::Sequential, Engine::Threads, Engine::Tokio]
        .into_iter()
        .map(|engine| {
            let server = demo_server(site);
            let (sink, short) = (Sink::collect(), shorten(Some(server.addr().port())));
            let progress = Progress::new(&sink, usize::MAX, &short);
            let crawl = crawl(
                engine,
                server.url(site::START),
                limits,
                &Stop::new(),
                &progress,
            );
            (engine, crawl, server.requests())
        })
        .collect()
}

/// The paths a crawl visited.
fn paths(crawl: &Crawl) -> BTreeSet<String> {
    crawl
        .visits
        .iter()
        .map(|visit| visit.url.path().to_owned())
        .collect()
}

fn show_engines() {
    let runs = engines(DEMO_SITE, &limits(JOBS, 1000, DEMO_TIMEOUT));
    println!("{JOBS} at once; the demo site answers in 5 ms, four pages in 100 ms, one never");
    println!("engine      time     URLs  failed  most requests at once (as the server saw them)");
    for (engine, crawl, requests) in &runs {
        println!(
            "{:<10} {:>5.2} s  {:>5}  {:>6}  {}",
            format!("{engine:?}").to_lowercase(),
            crawl.elapsed.as_secs_f64(),
            crawl.visits.len(),
            crawl.failures().values().sum::<usize>(),
            requests.max_in_flight
        );
    }
    let first = paths(&runs[0].1);
    let same = runs.iter().all(|(_, crawl, _)| paths(crawl) == first);
    println!(
        "the same {} URLs in every run: {}",
        first.len(),
        if same { "yes" } else { "NO" }
    );
}

#[rustfmt::skip]
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::with_options("crawl", "crawl a site: same host, each URL once, --jobs at once, a summary", show_crawl),
        Step::new("engines", "the demo site by a loop, by threads and by tokio tasks: times, same URLs", show_engines),
    ])
}
