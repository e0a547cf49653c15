//! The tokio engine: a task per URL in a `JoinSet`, at most `--jobs` of
//! them past a `Semaphore` at once.
//!
//! Here the termination problem solves itself: only the loop below spawns
//! tasks, when it receives a page's links. So when the set is empty, none
//! is running and none can be added. Only the loop touches the visited
//! set: it needs no lock.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use url::Url;

use module_07::crawl::{Crawl, Limits, Progress, Seen, Stop, Visit, fetch_async};

/// Crawls from `start` with at most `limits.jobs` requests at once. Returns
/// when every admitted URL has been fetched, or at once after `stop`: the
/// set, dropped, cancels the tasks in flight (a task is a future: dropping
/// it stops it at its next `.await`).
pub async fn crawl(start: Url, limits: &Limits, stop: &Stop, progress: &Progress<'_>) -> Crawl {
    let started = Instant::now();
    let client = limits.async_client();
    let permits = Arc::new(Semaphore::new(limits.jobs));
    let mut seen = Seen::new(&start, limits.max_pages);
    let mut tasks = JoinSet::new();
    let spawn = |tasks: &mut JoinSet<Visit>, url: Url| {
        // A `Client` clone shares one connection pool (an `Arc` inside).
        let (client, permits, limits) = (client.clone(), Arc::clone(&permits), *limits);
        tasks.spawn(async move {
            // Waits its turn here; the permit is returned when the task ends.
            let _permit = permits.acquire_owned().await.expect("never closed");
            fetch_async(&client, url, &limits).await
        });
    };
    spawn(&mut tasks, start);
    let mut visits = Vec::new();
    loop {
        let joined = tokio::select! {
            joined = tasks.join_next() => joined,
            () = stop.stopped() => None,
        };
        // `None` from `join_next`: the set is empty, so nothing is in
        // flight or to come.
        let Some(joined) = joined else { break };
        // A task's panic is a bug: pass it on.
        let visit = joined.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
        for url in seen.admit(visit.leads_to()) {
            spawn(&mut tasks, url);
        }
        progress.report(&visit);
        visits.push(visit);
    }
    Crawl::new(visits, &seen, started.elapsed(), stop.is_set())
}
