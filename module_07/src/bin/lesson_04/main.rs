//! Lesson 7.4 — Project: a concurrent web scraper («Проект: многопоточный веб-скрейпер»)
//!
//! **Beyond the course's syllabus**: the project of its learning roadmap,
//! "build something that needs concurrency, e.g. a web scraper". From a
//! start page, fetch every URL of the same site once, following links, at
//! most `--jobs` requests at once, retrying server errors, with a time
//! limit per request, live progress, Ctrl-C, and a summary.
//!
//! Three engines share one fetch ([`module_07::crawl`]): a plain loop
//! (below: the smallest form), OS threads around a shared frontier
//! (`threads.rs`: where "when is the crawl over?" needs care) and tokio
//! tasks (`tasks.rs`, where it answers itself). They crawl the demo
//! server's site ([`module_07::site`]): cycles, duplicate, relative and
//! absolute links, another host, files, slow pages, failures, a redirect.
//!
//! | Python                                              | Rust                                                   |
//! |-----------------------------------------------------|--------------------------------------------------------|
//! | `requests.get(url, timeout=5)`                      | `Client::builder().timeout(..)`, then `get(url).send()` |
//! | `BeautifulSoup(html).find_all("a", href=True)`      | `Html::parse_document(html).select(&Selector::parse("a[href]")?)` |
//! | `urljoin(page, href)`; `urldefrag(url)`             | `page.join(href)?`; `url.set_fragment(None)`           |
//! | `urlparse(a).hostname == urlparse(b).hostname`      | `a.host() == b.host()`                                 |
//! | `visited = set()` under a `threading.Lock()`        | `Mutex<Seen>` (`threads.rs`)                             |
//! | `queue.Queue()` with `task_done()` and `q.join()`   | `Frontier`: a queue that counts busy workers (`threads.rs`) |
//! | `asyncio.Semaphore(n)` + `asyncio.create_task`      | `tokio::sync::Semaphore` + `JoinSet::spawn`            |
//! | `signal.signal(SIGINT, handler)`                    | `ctrlc::set_handler(handler)`                          |
//!
//! - Run all steps: `cargo run -p module_07 --bin lesson_04`
//! - Run one step:  `cargo run -p module_07 --bin lesson_04 -- engines`
//! - A real site:   `cargo run -p module_07 --bin lesson_04 -- crawl --max-pages 50 https://example.com/`
//!
//! `crawl --help` lists its options (`--jobs`, `--max-pages`, `--engine`,
//! `--timeout`). Without a URL it crawls the demo site on 127.0.0.1: no
//! network. Exit status 1 if a URL of your site failed, 2 for a bad
//! option, 130 after Ctrl-C.
//!
//! Try:
//! - In `threads.rs`, `Frontier::take`, delete `s.busy > 0 && ` from the
//!   wait and run `-- crawl`: every page is fetched, and then the crawl
//!   never ends, as the idle workers wait for work nobody can add (press
//!   Ctrl-C twice). The busy count is what tells "done" from "not yet".
//! - Run `-- crawl --jobs 1`, `--jobs 8`, `--jobs 32`: 2.7 s, 0.6 s, 0.6 s.
//!   The floor is the page that outlasts the 0.5 s time limit.
//! - Run `-- crawl --max-pages 20 --engine tokio`: 20 URLs, and the summary
//!   counts the links left behind.

mod tasks;
mod threads;

use std::collections::VecDeque;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use module_07::crawl::{
    CRAWL_JOBS, Crawl, CrawlArgs, Engine, Limits, Progress, Seen, Stop, fetch_blocking, on_ctrl_c,
    shorten,
};
use module_07::site::{self, SiteConfig};
use module_07::{Requests, demo_server};
use step_runner::{Outcome, Sink, Step, lesson_id};
use url::Url;

const TITLE: &str = "Lesson 7.4 — Project: a concurrent web scraper (beyond the syllabus) («Проект: многопоточный веб-скрейпер»)";

/// The time limit per request on the demo site: its too-slow page
/// outlasts it ([`SiteConfig::DEMO`]), every other page is well within.
const DEMO_TIMEOUT: Duration = Duration::from_millis(500);
const TIMEOUT: Duration = Duration::from_secs(10);

/// Engine `sequential` — the crawl without concurrency: a queue, the
/// visited set, one loop. It is over when the queue is empty: only this
/// loop adds to it, and it is not in the middle of a fetch.
fn crawl_sequential(start: Url, limits: &Limits, stop: &Stop, progress: &Progress) -> Crawl {
    let started = Instant::now();
    let client = limits.blocking_client();
    let mut seen = Seen::new(&start, limits.max_pages);
    let mut queue = VecDeque::from([start]);
    let mut visits = Vec::new();
    while let Some(url) = queue.pop_front().filter(|_| !stop.is_set()) {
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
        Engine::Tokio => tokio::runtime::Runtime::new()
            .expect("building a tokio runtime")
            .block_on(tasks::crawl(start, limits, stop, progress)),
    }
}

/// Step `crawl` — crawls the demo site, or the site given, with one
/// engine; a line per failure, retry or redirect and per 25 URLs as they
/// happen, then the summary.
fn show_crawl(args: CrawlArgs) -> Outcome {
    let server = args.url.is_none().then(|| demo_server(SiteConfig::DEMO));
    let (start, timeout) = match (&args.url, &server) {
        (Some(url), _) => (url.clone(), TIMEOUT),
        (None, Some(server)) => (server.url(site::START), DEMO_TIMEOUT),
        (None, None) => unreachable!("a demo server runs when no URL is given"),
    };
    let limits = Limits::new(args.jobs, args.max_pages, args.timeout.unwrap_or(timeout));
    let stop = on_ctrl_c();
    let engine = args.engine;
    println!("crawling {start} with the {engine:?} engine: {limits}");
    let (sink, short) = (
        Sink::stdout_timed(),
        shorten(server.as_ref().map(|s| s.addr().port())),
    );
    let progress = Progress::new(&sink, 25, &short);
    let crawl = crawl(engine, start, &limits, &stop, &progress);
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
            let (start, progress) = (server.url(site::START), Progress::new(&sink, 0, &short));
            let crawl = crawl(engine, start, limits, &Stop::new(), &progress);
            (engine, crawl, server.requests())
        })
        .collect()
}

fn show_engines() {
    let limits = Limits::new(CRAWL_JOBS, 1000, DEMO_TIMEOUT);
    let runs = engines(SiteConfig::DEMO, &limits);
    println!("{CRAWL_JOBS} at once; pages answer in 5 ms, four in 100 ms, one never");
    println!("engine      time     URLs  failed  most requests at once (as the server saw them)");
    for (engine, crawl, requests) in &runs {
        let (engine, urls) = (format!("{engine:?}").to_lowercase(), crawl.visits.len());
        let (time, most) = (crawl.elapsed.as_secs_f64(), requests.max_in_flight);
        let failed: usize = crawl.failures().values().sum();
        println!("{engine:<10} {time:>5.2} s  {urls:>5}  {failed:>6}  {most}");
    }
    let first = runs[0].1.paths();
    let same = runs.iter().all(|(_, crawl, _)| crawl.paths() == first);
    println!("the same {} URLs in every run: {same}", first.len());
}

#[rustfmt::skip]
fn main() -> ExitCode {
    step_runner::run(lesson_id!(), TITLE, &[
        Step::with_options("crawl", "crawl a site: same host, each URL once, --jobs at once, a summary", show_crawl),
        Step::new("engines", "the demo site by a loop, by threads and by tokio tasks: times, same URLs", show_engines),
    ])
}

#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;
    use module_07::crawl::{Failure, Fetched};
    use module_07::site::Resource;
    use std::collections::{BTreeMap, BTreeSet};

    const ENGINES: [Engine; 3] = [Engine::Sequential, Engine::Threads, Engine::Tokio];

    /// The site as the tests crawl it: no delays, a too-slow page well past
    /// [`TEST_TIMEOUT`] (the server's end cancels its wait).
    const QUICK_SITE: SiteConfig = SiteConfig {
        delay: Duration::ZERO,
        slow: Duration::ZERO,
        too_slow: Duration::from_secs(60),
    };
    const TEST_TIMEOUT: Duration = Duration::from_secs(2);
    /// The same without the too-slow page's wait, for the tests whose point
    /// is not the time limit: a crawl then takes a fraction of a second
    /// instead of waiting [`TEST_TIMEOUT`] out.
    const NO_WAIT_SITE: SiteConfig = SiteConfig {
        too_slow: Duration::ZERO,
        ..QUICK_SITE
    };

    /// Crawls a fresh demo site with `engine`; returns the crawl, the
    /// requests the server saw, and the progress lines.
    fn crawl_site(
        engine: Engine,
        config: SiteConfig,
        limits: &Limits,
    ) -> (Crawl, Requests, Vec<String>) {
        let server = demo_server(config);
        let (sink, short) = (Sink::collect(), shorten(Some(server.addr().port())));
        let progress = Progress::new(&sink, 25, &short);
        let crawl = super::crawl(
            engine,
            server.url(site::START),
            limits,
            &Stop::new(),
            &progress,
        );
        (crawl, server.requests(), sink.lines())
    }

    /// Runs `check` for every item at once, one thread each, so crawls
    /// that wait (out the time limit, on slow pages) wait together. A failed
    /// assertion in any thread fails the test.
    fn at_once<T: Send>(items: impl IntoIterator<Item = T>, check: impl Fn(T) + Sync) {
        std::thread::scope(|scope| {
            for item in items {
                let check = &check;
                scope.spawn(move || check(item));
            }
        });
    }

    /// The visited paths, each once: a URL visited twice fails here.
    fn visited_once(crawl: &Crawl) -> BTreeSet<String> {
        let mut visited = BTreeSet::new();
        for visit in &crawl.visits {
            assert_eq!(visit.url.host_str(), Some("127.0.0.1"), "{}", visit.url);
            assert!(
                visited.insert(visit.url.path().to_owned()),
                "twice: {}",
                visit.url
            );
        }
        visited
    }

    #[test]
    fn every_engine_visits_exactly_the_reachable_set_each_url_once() {
        course_tests::deadline(Duration::from_secs(120), || {
            for engine in ENGINES {
                let (crawl, requests, _) =
                    crawl_site(engine, NO_WAIT_SITE, &Limits::new(4, 1000, TEST_TIMEOUT));
                assert_eq!(visited_once(&crawl), site::reachable(), "{engine:?}");
                // The server saw each reachable path once per try, and
                // nothing else: not the other host's page, not the page
                // linked only from inside an HTML comment.
                let expected: BTreeMap<String, u32> = crawl
                    .visits
                    .iter()
                    .map(|visit| (visit.url.path().to_owned(), visit.attempts))
                    .collect();
                assert_eq!(requests.hits, expected, "{engine:?}");
                let tries = |resource: Resource| expected[&resource.path()];
                assert_eq!(tries(Resource::Broken), 3, "{engine:?}: 500 is retried");
                assert_eq!(tries(Resource::Flaky), 2, "{engine:?}: then it answers");
                assert_eq!(tries(Resource::Missing), 1, "{engine:?}: 404 is not");
                assert_eq!(crawl.offsite, 1, "{engine:?}");
                assert_eq!(crawl.beyond_limit, 0, "{engine:?}");
                assert!(!crawl.interrupted);
            }
        });
    }

    #[test]
    fn the_other_host_is_never_requested() {
        course_tests::deadline(Duration::from_secs(120), || {
            for engine in ENGINES {
                let (_, requests, _) =
                    crawl_site(engine, NO_WAIT_SITE, &Limits::new(4, 1000, TEST_TIMEOUT));
                for never in [
                    Resource::Offsite,
                    Resource::IN_A_COMMENT,
                    Resource::Page(site::PAGES + 2),
                ] {
                    assert!(
                        !requests.hits.contains_key(&never.path()),
                        "{engine:?}: {never:?}"
                    );
                }
            }
        });
    }

    #[test]
    fn every_failure_kind_is_reported() {
        course_tests::deadline(Duration::from_secs(120), || {
            at_once(ENGINES, |engine| {
                let (crawl, _, lines) =
                    crawl_site(engine, QUICK_SITE, &Limits::new(4, 1000, TEST_TIMEOUT));
                let expected: BTreeMap<String, usize> = [
                    ("HTTP 404", 1),
                    ("HTTP 500", 1),
                    ("connection dropped", 1),
                    ("time-out", 1),
                ]
                .into_iter()
                .map(|(kind, n)| (kind.to_owned(), n))
                .collect();
                assert_eq!(crawl.failures(), expected, "{engine:?}");
                let failed_path = |failure: fn(&Failure) -> bool| {
                    crawl
                        .visits
                        .iter()
                        .find(|visit| visit.result.as_ref().err().is_some_and(failure))
                        .map(|visit| visit.url.path().to_owned())
                };
                assert_eq!(
                    failed_path(|f| matches!(f, Failure::Dropped(_))),
                    Some(Resource::Dropped.path())
                );
                assert_eq!(
                    failed_path(|f| matches!(f, Failure::TimedOut)),
                    Some(Resource::TooSlow.path())
                );
                let moved = crawl
                    .visits
                    .iter()
                    .find(|visit| visit.url.path() == Resource::Moved.path())
                    .expect("the redirect was visited");
                assert!(
                    matches!(&moved.result, Ok(Fetched::Redirect { to }) if to.path() == Resource::MOVED_TO.path()),
                    "{:?}",
                    moved.result
                );
                // Live: one line per failure, retry and redirect.
                for needle in [
                    "FAILED /site/missing.html: the server answered 404",
                    "FAILED /site/broken.html after 3 tries: the server answered 500",
                    "FAILED /site/dropped.html: the connection dropped",
                    "FAILED /site/too-slow.html: no answer within the time limit",
                    "/site/flaky.html: fetched after 2 tries",
                    "/site/moved.html redirects to /site/page/200.html",
                ] {
                    let found = lines.iter().filter(|line| line.contains(needle)).count();
                    assert_eq!(found, 1, "{engine:?}: {needle}\n{lines:#?}");
                }
                let summary = crawl.summary().join("\n");
                assert!(
                    summary.contains(
                        "4 failed: HTTP 404 ×1, HTTP 500 ×1, connection dropped ×1, time-out ×1"
                    ),
                    "{summary}"
                );
            });
        });
    }

    #[test]
    fn the_server_never_sees_more_than_jobs_requests_at_once() {
        course_tests::deadline(Duration::from_secs(120), || {
            // Every page takes 10 ms, so requests overlap; the too-slow page
            // answers within the time limit, so no request is abandoned
            // while the server still handles it.
            let site = SiteConfig {
                delay: Duration::from_millis(10),
                slow: Duration::from_millis(50),
                too_slow: Duration::from_millis(50),
            };
            let cases = [
                (Engine::Threads, 3),
                (Engine::Tokio, 3),
                (Engine::Threads, 1),
            ];
            at_once(cases, |(engine, jobs)| {
                let (crawl, requests, _) =
                    crawl_site(engine, site, &Limits::new(jobs, 1000, TEST_TIMEOUT));
                assert_eq!(visited_once(&crawl), site::reachable(), "{engine:?}");
                let most = requests.max_in_flight;
                assert!(most <= jobs, "{engine:?}: {most} at once, {jobs} allowed");
                // Concurrent at all: 200-odd requests of 10 ms each never
                // overlapping would mean the engine runs one at a time.
                assert!(most >= jobs.min(2), "{engine:?}: {most} at once");
            });
        });
    }

    #[test]
    fn both_engines_find_the_same_pages_as_the_loop() {
        course_tests::deadline(Duration::from_secs(120), || {
            let runs = engines(NO_WAIT_SITE, &Limits::new(8, 1000, TEST_TIMEOUT));
            let first = runs[0].1.paths();
            assert_eq!(first, site::reachable());
            for (engine, crawl, _) in &runs {
                assert_eq!(crawl.paths(), first, "{engine:?}");
            }
        });
    }

    #[test]
    fn max_pages_caps_the_urls_fetched() {
        course_tests::deadline(Duration::from_secs(120), || {
            for engine in ENGINES {
                let (crawl, requests, _) =
                    crawl_site(engine, NO_WAIT_SITE, &Limits::new(4, 30, TEST_TIMEOUT));
                let visited = visited_once(&crawl);
                assert_eq!(visited.len(), 30, "{engine:?}");
                assert!(visited.is_subset(&site::reachable()), "{engine:?}");
                assert_eq!(
                    requests.hits.keys().cloned().collect::<BTreeSet<_>>(),
                    visited
                );
                assert!(crawl.beyond_limit > 0, "{engine:?}");
            }
        });
    }

    #[test]
    fn a_stop_before_the_start_fetches_at_most_the_start() {
        course_tests::deadline(Duration::from_secs(60), || {
            for engine in ENGINES {
                let server = demo_server(QUICK_SITE);
                let (sink, stop) = (Sink::collect(), Stop::new());
                stop.stop();
                let short = shorten(None);
                let limits = Limits::new(4, 1000, TEST_TIMEOUT);
                let crawl = super::crawl(
                    engine,
                    server.url(site::START),
                    &limits,
                    &stop,
                    &Progress::new(&sink, 1, &short),
                );
                assert!(crawl.interrupted, "{engine:?}");
                assert!(
                    crawl.visits.len() <= 1,
                    "{engine:?}: {}",
                    crawl.visits.len()
                );
                assert!(server.requests().hits.len() <= 1, "{engine:?}");
            }
        });
    }

    /// Printing panics when stdout is closed (`| head`): in a worker thread
    /// for the thread engine, in the loop for the others. The crawl must
    /// still end, passing the panic on.
    #[test]
    fn a_crawl_ends_when_its_reader_goes_away() {
        course_tests::deadline(Duration::from_secs(60), || {
            for engine in ENGINES {
                let server = demo_server(QUICK_SITE);
                let (sink, short) = (Sink::closing_after(3), shorten(None));
                let limits = Limits::new(4, 1000, TEST_TIMEOUT);
                let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    super::crawl(
                        engine,
                        server.url(site::START),
                        &limits,
                        &Stop::new(),
                        &Progress::new(&sink, 1, &short),
                    )
                }));
                assert!(
                    ended.is_err(),
                    "{engine:?}: the reader's panic is passed on"
                );
                assert_eq!(sink.lines().len(), 3, "{engine:?}");
            }
        });
    }

    #[test]
    fn links_come_from_the_html_not_from_its_text() {
        let page = Url::parse("http://127.0.0.1:8000/site/page/7.html").expect("valid");
        let links = |html: &str| -> Vec<String> {
            module_07::crawl::links(&page, html)
                .iter()
                .map(Url::to_string)
                .collect()
        };
        let html = site::page_html("t", &Resource::Page(70).links("http://127.0.0.1:8000"));
        assert_eq!(
            links(&html),
            [
                "http://127.0.0.1:8000/site/page/91.html",
                "http://127.0.0.1:8000/site/page/91.html",
                "http://127.0.0.1:8000/site/page/115.html",
                "http://127.0.0.1:8000/site/page/71.html",
                "http://127.0.0.1:8000/site/page/70.html",
                "http://localhost:8000/site/offsite.html",
            ]
        );
        assert_eq!(
            links(
                r#"<base href="/other/"><a href="x.html">x</a><script>"<a href='y.html'>"</script>"#
            ),
            ["http://127.0.0.1:8000/other/x.html"]
        );
        assert_eq!(
            links(
                r#"<a href="mailto:a@b.c">m</a><a href="javascript:go()">j</a><a href="ftp://h/f">f</a><a href=" #top ">t</a>"#
            ),
            ["http://127.0.0.1:8000/site/page/7.html"]
        );
    }

    fn lesson_04() -> std::path::PathBuf {
        course_tests::lesson_binaries("module_07").join("lesson_04")
    }

    #[test]
    fn bad_options_exit_2_and_failures_on_a_given_site_exit_1() {
        // Built before the deadline starts: a build is slow, not stuck.
        let lesson = lesson_04();
        let run_lesson = move |args: &[&str]| {
            std::process::Command::new(&lesson)
                .args(args)
                .output()
                .expect("running lesson_04")
        };
        course_tests::deadline(Duration::from_secs(120), move || {
            for (args, message) in [
                (
                    &["crawl", "--jobs", "0"][..],
                    "--jobs needs a number from 1 to 256",
                ),
                (&["crawl", "--max-pages", "0"], "--max-pages needs a number"),
                (&["crawl", "--timeout", "0"], "--timeout needs a number"),
                (&["crawl", "--engine", "fibers"], "invalid value 'fibers'"),
                (&["crawl", "ftp://example.com/"], "only http and https"),
                (&["engines", "--jobs", "2"], "unexpected argument '--jobs'"),
            ] {
                let output = run_lesson(args);
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
                assert!(stderr.contains(message), "{args:?}: {stderr}");
                assert!(output.stdout.is_empty(), "{args:?} ran something");
            }
            let output = run_lesson(&["crawl", "http://127.0.0.1:1/"]);
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert_eq!(output.status.code(), Some(1), "{stdout}");
            assert!(stdout.contains("Connection refused"), "{stdout}");
            // A site given on the command line: its failures are the
            // user's, so the exit status says so.
            let server = demo_server(QUICK_SITE);
            let start = server.url(site::START);
            let output = run_lesson(&[
                "crawl",
                "--engine",
                "tokio",
                "--timeout",
                "1",
                start.as_str(),
            ]);
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert_eq!(output.status.code(), Some(1), "{stdout}");
            let total = site::reachable().len();
            assert!(stdout.contains(&format!("{total} URLs in")), "{stdout}");
            assert!(stdout.contains("4 failed: HTTP 404 ×1"), "{stdout}");
        });
    }

    #[cfg(unix)]
    #[test]
    fn ctrl_c_stops_the_crawl_with_a_summary_and_exit_130() {
        use std::io::{BufRead, BufReader};
        let lesson = lesson_04();
        course_tests::deadline(Duration::from_secs(120), move || {
            // Every page takes a minute: the crawl is in flight when the
            // signal comes.
            let server = demo_server(SiteConfig {
                delay: Duration::from_secs(60),
                ..QUICK_SITE
            });
            for engine in ["tokio", "threads"] {
                let mut child = std::process::Command::new(&lesson)
                    .args(["crawl", "--engine", engine, "--timeout", "2"])
                    .arg(server.url(site::START).as_str())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("starting lesson_04");
                let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
                // The handler is installed before this line is printed.
                let mut line = String::new();
                while !line.starts_with("crawling") {
                    line.clear();
                    stdout
                        .read_line(&mut line)
                        .expect("reading lesson_04's output");
                }
                let status = std::process::Command::new("kill")
                    .args(["-INT", &child.id().to_string()])
                    .status()
                    .expect("running kill");
                assert!(status.success());
                let mut rest = String::new();
                std::io::Read::read_to_string(&mut stdout, &mut rest).expect("reading the rest");
                let status = child.wait().expect("waiting for lesson_04");
                assert_eq!(status.code(), Some(130), "{engine}: {rest}");
                assert!(
                    rest.contains("interrupted: no new request after Ctrl-C"),
                    "{engine}: {rest}"
                );
            }
        });
    }
}
