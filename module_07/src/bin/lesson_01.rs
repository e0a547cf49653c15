//! Lesson 7.1 — Sequential vs concurrent download («Последовательная и параллельная загрузка»)
//!
//! Downloading is waiting: most of a request's time is the network's, not the
//! CPU's. The same ten files are fetched one by one, then on ten threads with
//! the blocking `reqwest` client, then as ten tokio tasks with the async
//! client; the times show the speed-up (close to 10× here).
//!
//! | Python                                        | Rust                                                   |
//! |-----------------------------------------------|--------------------------------------------------------|
//! | `requests.get(url)`                           | `reqwest::blocking::Client::get(url).send()`            |
//! | `response.raise_for_status()`                 | `response.error_for_status()?`                          |
//! | `response.content`                            | `response.bytes()?`                                     |
//! | `requests.Session()` (connection reuse)       | one `Client`, cloned cheaply (it is an `Arc` inside)    |
//! | `ThreadPoolExecutor(10).map(download, urls)`  | `thread::scope` + 10 workers taking the next index      |
//! | `aiohttp.ClientSession().get(url)`            | `reqwest::Client::get(url).send().await`                |
//! | `asyncio.gather(*tasks)`                      | `futures::future::join_all(tasks)` (no limit either)     |
//! | `gather` + `asyncio.Semaphore(n)` (N at once) | `stream::iter(…).map(…).buffered(n).collect()`          |
//! | `time.perf_counter()`                         | `std::time::Instant::now()` / `.elapsed()`              |
//!
//! - Run all steps: `cargo run -p module_07 --bin lesson_01`
//! - Run one step:  `cargo run -p module_07 --bin lesson_01 -- compare`
//! - Your own URLs: `cargo run -p module_07 --bin lesson_01 -- compare https://example.com/a.bin https://example.com/b.bin`
//!   (`blocking_get` and `async_get` fetch the first of them.)
//!
//! Without URLs the files come from a demo server on 127.0.0.1 that waits
//! 300 ms before each response, like a distant server would.
//!
//! Try: in `with_tokio`, change `buffered(jobs.max(1))` to `buffered(1)` and
//! run `-- compare`: the tokio run is now as slow as the sequential one. Async
//! code waits without a thread, but only futures that are polled together
//! overlap.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use module_07::{
    DemoServer, ServerConfig, Targets, Url, UrlArgs, demo_files, error_chain, map_on_workers,
};
use step_runner::{Outcome, Step, lesson_id};

/// The demo server's latency per response.
const DELAY: Duration = Duration::from_millis(300);
/// How many demo files, and how many downloads run at once.
const FILES: usize = 10;
const WORKERS: usize = 10;
/// A request that takes longer than this is a failure, not a hang.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How many bytes a download brought, or why it failed.
type Fetched = Result<usize, reqwest::Error>;

/// One timed run over every URL; `outcomes[i]` belongs to `urls[i]`.
struct Run {
    outcomes: Vec<Fetched>,
    elapsed: Duration,
}

fn blocking_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .expect("a client with rustls and a time-out builds")
}

fn async_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .expect("a client with rustls and a time-out builds")
}

/// Downloads one URL with the blocking client. A 4xx/5xx status is an error
/// too: without `error_for_status` a 404 page would count as a download.
fn fetch(client: &reqwest::blocking::Client, url: &Url) -> Fetched {
    let response = client.get(url.clone()).send()?.error_for_status()?;
    Ok(response.bytes()?.len())
}

/// The same with the async client: it waits only at `.await`, without
/// holding a thread, so many of these can share one.
async fn fetch_async(client: &reqwest::Client, url: &Url) -> Fetched {
    let response = client.get(url.clone()).send().await?.error_for_status()?;
    Ok(response.bytes().await?.len())
}

/// Step `blocking_get` — one GET with the blocking client, timed.
fn blocking_get(url: &Url) -> (Fetched, Duration) {
    let client = blocking_client();
    let started = Instant::now();
    let outcome = fetch(&client, url);
    (outcome, started.elapsed())
}

/// Step `async_get` — the same GET with the async client on a tokio runtime.
fn async_get(url: &Url) -> (Fetched, Duration) {
    // `main` is not async: build a runtime and block on the future, which is
    // what `asyncio.run` does in Python.
    let runtime = tokio::runtime::Runtime::new().expect("starting a tokio runtime");
    runtime.block_on(async {
        let client = async_client();
        let started = Instant::now();
        let outcome = fetch_async(&client, url).await;
        (outcome, started.elapsed())
    })
}

/// One file after another: the times add up.
fn sequential(client: &reqwest::blocking::Client, urls: &[Url]) -> Run {
    let started = Instant::now();
    let outcomes = urls.iter().map(|url| fetch(client, url)).collect();
    Run {
        outcomes,
        elapsed: started.elapsed(),
    }
}

/// `workers` threads, each taking the next URL until none is left: the
/// `ThreadPoolExecutor` of the Python version, written out in
/// [`module_07::map_on_workers`] so the mechanism shows. The waits overlap,
/// so the run takes about as long as `urls.len() / workers` (rounded up)
/// files one after another.
fn with_threads(client: &reqwest::blocking::Client, urls: &[Url], workers: usize) -> Run {
    let started = Instant::now();
    let outcomes = map_on_workers(urls, workers, |url| fetch(client, url));
    Run {
        outcomes,
        elapsed: started.elapsed(),
    }
}

/// Async tasks on one tokio runtime, at most `jobs` requests in flight.
/// `buffered` keeps the results in the order of the URLs; `buffer_unordered`
/// would yield them as they complete.
fn with_tokio(urls: &[Url], jobs: usize) -> Run {
    let runtime = tokio::runtime::Runtime::new().expect("starting a tokio runtime");
    runtime.block_on(async {
        let client = async_client();
        let started = Instant::now();
        let outcomes = futures::stream::iter(urls)
            .map(|url| fetch_async(&client, url))
            .buffered(jobs.max(1))
            .collect()
            .await;
        Run {
            outcomes,
            elapsed: started.elapsed(),
        }
    })
}

/// Step `compare` — the three ways over the same URLs.
fn compare(urls: &[Url], workers: usize) -> [(String, Run); 3] {
    let client = blocking_client();
    [
        ("one by one".to_owned(), sequential(&client, urls)),
        (
            format!("threads, {workers} at once"),
            with_threads(&client, urls, workers),
        ),
        (
            format!("tokio, {workers} at once"),
            with_tokio(urls, workers),
        ),
    ]
}

fn describe(outcome: &Fetched) -> String {
    match outcome {
        Ok(bytes) => format!("{bytes} bytes"),
        Err(error) => format!("failed: {}", error_chain(error)),
    }
}

fn demo_targets(args: &UrlArgs) -> Targets {
    Targets::new(
        args,
        ServerConfig::with_delay(DELAY),
        |server: &DemoServer| server.file_urls(&demo_files(FILES)),
    )
}

fn show_single((outcome, elapsed): (Fetched, Duration), url: &Url) -> Outcome {
    println!("GET {url}");
    println!(
        "  {} in {:.0} ms",
        describe(&outcome),
        elapsed.as_secs_f64() * 1e3
    );
    if outcome.is_ok() {
        Outcome::Done
    } else {
        Outcome::Failed
    }
}

fn show_blocking_get(args: UrlArgs) -> Outcome {
    let targets = demo_targets(&args);
    show_single(blocking_get(&targets.urls[0]), &targets.urls[0])
}

fn show_async_get(args: UrlArgs) -> Outcome {
    let targets = demo_targets(&args);
    show_single(async_get(&targets.urls[0]), &targets.urls[0])
}

fn show_compare(args: UrlArgs) -> Outcome {
    let targets = demo_targets(&args);
    let runs = compare(&targets.urls, WORKERS.min(targets.urls.len()));
    let sequential_time = runs[0].1.elapsed;
    for (name, run) in &runs {
        let ok: Vec<usize> = run
            .outcomes
            .iter()
            .filter_map(|o| o.as_ref().ok())
            .copied()
            .collect();
        let speed_up = sequential_time.as_secs_f64() / run.elapsed.as_secs_f64();
        println!(
            "{name:<19} {} of {} files, {} bytes in {:.2} s  (speed-up {speed_up:.1}×)",
            ok.len(),
            run.outcomes.len(),
            ok.iter().sum::<usize>(),
            run.elapsed.as_secs_f64(),
        );
    }
    // Each failure once, from the sequential run.
    let mut done = Outcome::Done;
    for (url, outcome) in targets.urls.iter().zip(&runs[0].1.outcomes) {
        if outcome.is_err() {
            println!("  {url}: {}", describe(outcome));
            done = Outcome::Failed;
        }
    }
    done
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 7.1 — Sequential vs concurrent download («Последовательная и параллельная загрузка»)",
        &[
            Step::with_options(
                "blocking_get",
                "one file with the blocking client",
                show_blocking_get,
            ),
            Step::with_options(
                "async_get",
                "one file with the async client on tokio",
                show_async_get,
            ),
            Step::with_options(
                "compare",
                "the same files one by one, on threads, and on tokio",
                show_compare,
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(run: &Run) -> Vec<usize> {
        run.outcomes
            .iter()
            .map(|outcome| *outcome.as_ref().expect("every demo file downloads"))
            .collect()
    }

    #[test]
    fn one_get_brings_the_whole_file_both_ways() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = DemoServer::start(ServerConfig::with_delay(Duration::ZERO))
                .expect("starting the demo server");
            let file = &demo_files(3)[2];
            let url = server.file_url(file);
            assert_eq!(blocking_get(&url).0.expect("downloads"), file.size);
            assert_eq!(async_get(&url).0.expect("downloads"), file.size);
        });
    }

    #[test]
    fn a_404_is_an_error_not_a_download() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = DemoServer::start(ServerConfig::with_delay(Duration::ZERO))
                .expect("starting the demo server");
            let error = blocking_get(&server.url("/status/404"))
                .0
                .expect_err("a 404");
            assert_eq!(error.status(), Some(reqwest::StatusCode::NOT_FOUND));
        });
    }

    #[test]
    fn concurrent_runs_get_the_same_files_much_faster() {
        course_tests::deadline(Duration::from_secs(60), || {
            // 10 files × 150 ms: at least 1.5 s one by one, about 0.15 s at
            // once. The bound (3× faster: under 0.5 s) leaves plenty of slack.
            let server = DemoServer::start(ServerConfig::with_delay(Duration::from_millis(150)))
                .expect("starting the demo server");
            let files = demo_files(10);
            let urls = server.file_urls(&files);
            let expected: Vec<usize> = files.iter().map(|f| f.size).collect();
            let [(_, one_by_one), (_, threads), (_, tokio)] = compare(&urls, 10);
            for run in [&one_by_one, &threads, &tokio] {
                assert_eq!(sizes(run), expected);
            }
            assert!(one_by_one.elapsed >= Duration::from_millis(1500));
            assert!(
                threads.elapsed * 3 < one_by_one.elapsed,
                "{:?}",
                threads.elapsed
            );
            assert!(
                tokio.elapsed * 3 < one_by_one.elapsed,
                "{:?}",
                tokio.elapsed
            );
        });
    }

    #[test]
    fn fewer_workers_than_files_still_fetch_each_file_once() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = DemoServer::start(ServerConfig::with_delay(Duration::ZERO))
                .expect("starting the demo server");
            let files = demo_files(7);
            let urls = server.file_urls(&files);
            let expected: Vec<usize> = files.iter().map(|f| f.size).collect();
            assert_eq!(sizes(&with_threads(&blocking_client(), &urls, 3)), expected);
            assert_eq!(sizes(&with_tokio(&urls, 3)), expected);
            assert!(with_threads(&blocking_client(), &[], 3).outcomes.is_empty());
        });
    }
}
