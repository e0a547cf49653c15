//! Lesson 7.3 — Handling errors during task execution («Обработка исключений во время выполнения задачи»)
//!
//! In a batch of downloads some will fail: a missing file, a server error, a
//! server too slow to answer, a connection that breaks midway, a host that
//! refuses. Each task returns its own `Result`, so one failure never stops the
//! others; transient failures are retried with growing pauses, permanent ones
//! (404) are not; a summary says what happened to every task. A *panic* in a
//! task (a bug, not a network error) is caught where the thread is joined.
//!
//! | Python                                            | Rust                                                        |
//! |---------------------------------------------------|-------------------------------------------------------------|
//! | `try: … except requests.RequestException as e:`   | `match download(url) { Ok(…) => …, Err(e) => … }`            |
//! | `response.raise_for_status()` → `HTTPError`       | `error_for_status()?` → `DownloadError::Status(code)`        |
//! | `requests.Timeout`, `requests.ConnectionError`    | `reqwest::Error::is_timeout()`, `is_connect()`, `is_body()`  |
//! | `future.exception()` / `future.result()` raises   | the task's `Result`, returned by `join()`                    |
//! | an exception escaping a thread (`excepthook`)     | a panic: `join()` returns `Err(payload)`                     |
//! | `time.sleep(backoff); backoff *= 2` in a loop     | `thread::sleep(backoff)`; `backoff * 2`, capped              |
//! | `e.__cause__` / `traceback`                        | `Error::source()` chain, printed by `error_chain`             |
//!
//! - Run all steps: `cargo run -p module_07 --bin lesson_03`
//! - Run one step:  `cargo run -p module_07 --bin lesson_03 -- retry_with_backoff`
//! - Your own URLs: `cargo run -p module_07 --bin lesson_03 -- retry_with_backoff https://example.com/a.bin`
//!
//! Without URLs the tasks use a demo server on 127.0.0.1 whose routes fail
//! on purpose; those failures are the lesson, so the run still exits with 0.
//!
//! Try: make `is_transient` return `true` for every status and run
//! `-- retry_with_backoff`: the 404 is now tried three times, adding load for
//! an answer that cannot change.

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use module_07::{
    DemoServer, ServerConfig, Targets, Url, UrlArgs, blocking_client, error_chain, map_on_workers,
};
use reqwest::StatusCode;
use step_runner::{Outcome, Step, lesson_id};

/// The demo server's latency per response.
const DELAY: Duration = Duration::from_millis(100);
/// A slower response is a failure; the demo's `/slow/…` route takes 10 s.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Tasks that run at once.
const WORKERS: usize = 8;
/// Three tries, pausing 100 ms and then 200 ms between them.
const RETRY: RetryPolicy = RetryPolicy {
    attempts: 3,
    first_backoff: Duration::from_millis(100),
    max_backoff: Duration::from_secs(5),
};

/// Why one attempt failed, sorted by what the caller can do about it. The
/// cause is the `source()`; [`error_chain`] prints the whole chain.
#[derive(Debug, thiserror::Error)]
enum DownloadError {
    /// The server answered with an error status.
    #[error("the server answered {0}")]
    Status(StatusCode),
    /// No complete answer within the client's time-out.
    #[error("timed out")]
    TimedOut(#[source] reqwest::Error),
    /// No connection: refused, unreachable, DNS failure.
    #[error("cannot connect")]
    Connect(#[source] reqwest::Error),
    /// The connection broke while the body was arriving.
    #[error("connection broke")]
    Interrupted(#[source] reqwest::Error),
    /// Anything else (a redirect loop, an invalid response…).
    #[error(transparent)]
    Other(reqwest::Error),
}

impl DownloadError {
    /// Sorts a `reqwest::Error` by its cause. The order matters: a time-out
    /// while reading the body is a time-out, not an interrupted body.
    fn classify(error: reqwest::Error) -> Self {
        if let Some(status) = error.status() {
            Self::Status(status)
        } else if error.is_timeout() {
            Self::TimedOut(error)
        } else if error.is_connect() {
            Self::Connect(error)
        } else if error.is_body() || error.is_decode() || error.is_request() {
            // A connection that breaks while the body arrives is a body
            // error; `copy_to` calls any other failure of its copy a decode
            // error (reqwest 0.12's `copy_to` and `decode_io`), and writing
            // into a `Vec` cannot fail. A request error (not a time-out, not a
            // connect error) failed between sending and the response's head,
            // e.g. a connection that closed before the server answered.
            Self::Interrupted(error)
        } else {
            Self::Other(error)
        }
    }

    /// Worth trying again? Server errors, "too many requests", time-outs and
    /// broken or refused connections may pass; a 404 or 403 only adds load.
    fn is_transient(&self) -> bool {
        match self {
            Self::Status(status) => {
                status.is_server_error()
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || *status == StatusCode::TOO_MANY_REQUESTS
            }
            Self::TimedOut(_) | Self::Connect(_) | Self::Interrupted(_) => true,
            Self::Other(_) => false,
        }
    }

    /// A short name for the summary.
    fn kind(&self) -> String {
        match self {
            Self::Status(status) => format!("HTTP {}", status.as_u16()),
            Self::TimedOut(_) => "time-out".into(),
            Self::Connect(_) => "no connection".into(),
            Self::Interrupted(_) => "connection broke".into(),
            Self::Other(_) => "other".into(),
        }
    }
}

/// One attempt: the whole body, or why not. Reading the body can fail too
/// (a dropped connection), so its error is classified like the request's.
fn download(client: &reqwest::blocking::Client, url: &Url) -> Result<Vec<u8>, DownloadError> {
    let mut response = client
        .get(url.clone())
        .send()
        .and_then(reqwest::blocking::Response::error_for_status)
        .map_err(DownloadError::classify)?;
    let mut body = Vec::new();
    response
        .copy_to(&mut body)
        .map_err(DownloadError::classify)?;
    Ok(body)
}

/// How often to try and how long to pause in between. The retry loop is
/// written out because it is the lesson; in production a crate such as
/// `backon` adds random jitter (`ExponentialBuilder::with_jitter`) and works
/// for async code too (its `Retryable` trait).
#[derive(Clone, Copy, Debug)]
struct RetryPolicy {
    /// Tries in all, the first included; 1 means no retry.
    attempts: u32,
    first_backoff: Duration,
    max_backoff: Duration,
}

/// What happened to one task.
#[derive(Debug)]
struct TaskReport {
    url: Url,
    /// The failed attempts that were retried, in order.
    retried: Vec<DownloadError>,
    /// The last attempt's outcome: bytes received, or the final error.
    result: Result<usize, DownloadError>,
}

impl TaskReport {
    fn attempts(&self) -> usize {
        self.retried.len() + 1
    }
}

/// Downloads `url`, retrying transient failures with a pause that doubles
/// each time (100 ms, 200 ms, …) so a struggling server gets room to recover.
fn download_with_retry(
    client: &reqwest::blocking::Client,
    url: &Url,
    policy: RetryPolicy,
) -> TaskReport {
    let mut retried = Vec::new();
    let mut backoff = policy.first_backoff;
    let result = loop {
        match download(client, url) {
            Ok(body) => break Ok(body.len()),
            // `retried.len() + 1` tries so far: is one left?
            Err(error) if error.is_transient() && retried.len() + 1 < policy.attempts as usize => {
                retried.push(error);
                thread::sleep(backoff);
                backoff = (backoff * 2).min(policy.max_backoff);
            }
            Err(error) => break Err(error),
        }
    };
    TaskReport {
        url: url.clone(),
        retried,
        result,
    }
}

/// Steps `per_task_results` and `retry_with_backoff` — every URL is one task
/// on a pool of `workers` threads; each returns its own report, so a failed
/// task cannot stop the others. Reports come back in the order of `urls`.
fn run_tasks(
    client: &reqwest::blocking::Client,
    urls: &[Url],
    workers: usize,
    policy: RetryPolicy,
) -> Vec<TaskReport> {
    // Errors are values here; only a bug would panic.
    map_on_workers(urls, workers, |url| {
        download_with_retry(client, url, policy)
    })
}

/// The first byte of a body: a deliberate bug, it indexes without checking,
/// so an empty body makes it panic.
fn first_byte(body: &[u8]) -> u8 {
    body[0]
}

/// What a task of step `panicking_task` ended with: its value or error, or
/// the message of the panic that ended it.
type Joined = Result<Result<u8, DownloadError>, String>;

/// The message inside a panic's payload: `panic!` makes a `&str` or a
/// `String`; anything else is rare.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Step `panicking_task` — one thread per URL reads the first byte of the
/// body. The empty file makes one task panic: its `join()` returns `Err`, and
/// the other tasks finish normally. Python would keep the exception in the
/// future and raise it from `result()`; Rust keeps the payload in `join()`.
fn panicking_task(client: &reqwest::blocking::Client, urls: &[Url]) -> Vec<(Url, Joined)> {
    thread::scope(|s| {
        let handles: Vec<_> = urls
            .iter()
            .enumerate()
            .map(|(i, url)| {
                thread::Builder::new()
                    .name(format!("task-{i}"))
                    .spawn_scoped(s, move || {
                        download(client, url).map(|body| first_byte(&body))
                    })
                    .expect("spawning a task thread")
            })
            .collect();
        urls.iter()
            .cloned()
            .zip(handles)
            .map(|(url, handle)| {
                let joined = handle.join().map_err(|payload| panic_message(&*payload));
                (url, joined)
            })
            .collect()
    })
}

/// The demo's tasks: two good files, one that fails twice before it works,
/// and one for each kind of failure.
fn demo_urls(server: &DemoServer) -> Vec<Url> {
    [
        "/files/41234/file_01.bin",
        "/files/81234/file_02.bin",
        "/flaky/2/30000/flaky.bin",
        "/status/404",
        "/status/500",
        "/slow/1000/slow.bin",
        "/drop/100000/broken.bin",
    ]
    .iter()
    .map(|path| server.url(path))
    .chain([refused_url()])
    .collect()
}

/// Port 1 on the loopback: normally nothing listens there, so the
/// connection is refused at once, without leaving the machine.
fn refused_url() -> Url {
    Url::parse("http://127.0.0.1:1/refused.bin").expect("a valid URL")
}

fn print_reports(reports: &[TaskReport], targets: &Targets, elapsed: Duration) -> Outcome {
    for report in reports {
        let name = targets.short(&report.url);
        let attempts = report.attempts();
        let tries = if attempts == 1 { "try" } else { "tries" };
        match &report.result {
            Ok(bytes) => println!("ok      {name}: {bytes} bytes ({attempts} {tries})"),
            Err(error) => {
                let permanence = if error.is_transient() {
                    "transient"
                } else {
                    "permanent, not retried"
                };
                println!(
                    "FAILED  {name}: {} ({permanence}; {attempts} {tries})",
                    error_chain(error)
                );
            }
        }
        for (n, error) in report.retried.iter().enumerate() {
            println!("          try {}: {}", n + 1, error.kind());
        }
    }
    let kinds: Vec<String> = reports
        .iter()
        .filter_map(|r| r.result.as_ref().err().map(DownloadError::kind))
        .collect();
    let (failed, ok) = (kinds.len(), reports.len() - kinds.len());
    let kinds = match kinds.is_empty() {
        true => String::new(),
        false => format!(" ({})", kinds.join(", ")),
    };
    let seconds = elapsed.as_secs_f64();
    println!("summary: {ok} succeeded, {failed} failed{kinds} in {seconds:.2} s");
    // The demo's failures are on purpose; a failed URL of the user's is not.
    if targets.given && failed > 0 {
        Outcome::Failed
    } else {
        Outcome::Done
    }
}

fn run_step(args: &UrlArgs, policy: RetryPolicy) -> Outcome {
    let targets = Targets::new(args, ServerConfig::with_delay(DELAY), demo_urls);
    let started = Instant::now();
    let reports = run_tasks(&blocking_client(TIMEOUT), &targets.urls, WORKERS, policy);
    print_reports(&reports, &targets, started.elapsed())
}

fn show_per_task_results(args: UrlArgs) -> Outcome {
    run_step(
        &args,
        RetryPolicy {
            attempts: 1,
            ..RETRY
        },
    )
}

fn show_retry_with_backoff(args: UrlArgs) -> Outcome {
    run_step(&args, RETRY)
}

fn show_panicking_task(args: UrlArgs) -> Outcome {
    let targets = Targets::new(&args, ServerConfig::with_delay(DELAY), |server| {
        [
            "/files/41234/file_01.bin",
            "/files/0/empty.bin",
            "/files/81234/file_02.bin",
        ]
        .iter()
        .map(|path| server.url(path))
        .collect()
    });
    // The panicking thread also prints the usual panic message on standard
    // error; the program carries on.
    let mut outcome = Outcome::Done;
    for (url, joined) in panicking_task(&blocking_client(TIMEOUT), &targets.urls) {
        let name = targets.short(&url);
        match joined {
            Ok(Ok(byte)) => println!("ok        {name}: first byte {byte:#04x}"),
            Ok(Err(error)) => {
                println!("FAILED    {name}: {}", error_chain(&error));
                if targets.given {
                    outcome = Outcome::Failed;
                }
            }
            Err(message) => println!("PANICKED  {name}: {message}"),
        }
    }
    outcome
}

fn main() -> ExitCode {
    step_runner::run(
        lesson_id!(),
        "Lesson 7.3 — Handling errors during task execution («Обработка исключений во время выполнения задачи»)",
        &[
            Step::with_options(
                "per_task_results",
                "every task returns its own Result; one failure stops nothing",
                show_per_task_results,
            ),
            Step::with_options(
                "retry_with_backoff",
                "transient errors retried with growing pauses, 404 never",
                show_retry_with_backoff,
            ),
            Step::with_options(
                "panicking_task",
                "a panic in one task comes back from join(); the rest finish",
                show_panicking_task,
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use module_07::demo_content;

    /// A demo server whose slow route outlasts a short client time-out by far.
    fn server() -> DemoServer {
        DemoServer::start(ServerConfig {
            delay: Duration::ZERO,
            slow: Duration::from_secs(5),
        })
        .expect("starting the demo server")
    }

    fn quick_client() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .expect("a client")
    }

    const NO_RETRY: RetryPolicy = RetryPolicy {
        attempts: 1,
        ..QUICK_RETRY
    };

    const QUICK_RETRY: RetryPolicy = RetryPolicy {
        attempts: 3,
        first_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
    };

    /// Each demo task's final error kind (`None` for success) and its tries.
    fn summary(reports: &[TaskReport]) -> Vec<(Option<String>, usize)> {
        reports
            .iter()
            .map(|r| {
                (
                    r.result.as_ref().err().map(DownloadError::kind),
                    r.attempts(),
                )
            })
            .collect()
    }

    fn kind(name: &str) -> Option<String> {
        Some(name.to_owned())
    }

    #[test]
    fn each_failure_is_its_own_tasks_error() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = server();
            let reports = run_tasks(&quick_client(), &demo_urls(&server), 8, NO_RETRY);
            assert_eq!(
                summary(&reports),
                [
                    (None, 1),
                    (None, 1),
                    (kind("HTTP 500"), 1),
                    (kind("HTTP 404"), 1),
                    (kind("HTTP 500"), 1),
                    (kind("time-out"), 1),
                    (kind("connection broke"), 1),
                    (kind("no connection"), 1),
                ]
            );
            assert!(matches!(reports[0].result, Ok(41_234)));
            assert!(matches!(reports[1].result, Ok(81_234)));
        });
    }

    #[test]
    fn transient_errors_are_retried_and_404_never() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = server();
            let reports = run_tasks(&quick_client(), &demo_urls(&server), 8, QUICK_RETRY);
            assert_eq!(
                summary(&reports),
                [
                    (None, 1),
                    (None, 1),
                    // Fails twice, then succeeds on the third try.
                    (None, 3),
                    (kind("HTTP 404"), 1),
                    (kind("HTTP 500"), 3),
                    (kind("time-out"), 3),
                    (kind("connection broke"), 3),
                    (kind("no connection"), 3),
                ]
            );
            assert!(matches!(reports[2].result, Ok(30_000)));
            let flaky: Vec<String> = reports[2].retried.iter().map(DownloadError::kind).collect();
            assert_eq!(flaky, ["HTTP 500", "HTTP 500"]);
        });
    }

    #[test]
    fn the_pauses_grow_between_tries() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = server();
            let policy = RetryPolicy {
                attempts: 3,
                first_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(1),
            };
            let started = Instant::now();
            let report = download_with_retry(&quick_client(), &server.url("/status/503"), policy);
            // 100 ms, then 200 ms: at least 300 ms, however fast the machine.
            assert!(started.elapsed() >= Duration::from_millis(300));
            assert_eq!(report.attempts(), 3);
            assert!(matches!(report.result, Err(DownloadError::Status(s)) if s.as_u16() == 503));
        });
    }

    #[test]
    fn a_good_download_is_byte_exact() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = server();
            let body = download(&quick_client(), &server.url("/flaky/0/5000/x.bin")).expect("ok");
            assert!(body == demo_content("x.bin", 5000));
        });
    }

    #[test]
    fn a_panicking_task_does_not_stop_the_others() {
        course_tests::deadline(Duration::from_secs(30), || {
            let server = server();
            let urls = [
                server.url("/files/10/a.bin"),
                server.url("/files/0/empty.bin"),
                server.url("/status/404"),
                server.url("/files/10/b.bin"),
            ];
            let joined = panicking_task(&quick_client(), &urls);
            assert_eq!(joined.len(), 4);
            assert_eq!(
                joined[0].1.as_ref().ok().and_then(|r| r.as_ref().ok()),
                Some(&demo_content("a.bin", 1)[0])
            );
            let message = joined[1].1.as_ref().expect_err("the empty body panics");
            assert!(message.contains("index out of bounds"), "{message}");
            assert!(matches!(joined[2].1, Ok(Err(DownloadError::Status(_)))));
            assert_eq!(
                joined[3].1.as_ref().ok().and_then(|r| r.as_ref().ok()),
                Some(&demo_content("b.bin", 1)[0])
            );
        });
    }
}
