//! Publishing data behind a flag: `Release` on the store, `Acquire` on the
//! load. The `model` feature swaps the atomics for loom's, and `mod model`
//! at the bottom checks the claim over every execution loom explores.

#[cfg(not(feature = "model"))]
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::atomic::{Ordering, Ordering::*};
use std::thread;
#[cfg(not(feature = "model"))]
use std::thread::yield_now;

#[cfg(feature = "model")]
use loom::sync::atomic::{AtomicBool, AtomicU64};
#[cfg(feature = "model")]
use loom::thread::yield_now;

/// Rounds of the publish/observe handshake in `release_acquire`.
const ROUNDS: u64 = 1_000;

/// What the producer publishes in round `round`.
fn payload(round: u64) -> [u64; 4] {
    [round, round * 2, round * 3, round * 4 + 1]
}

/// Four data slots and a flag that says they are filled.
#[derive(Default)]
struct Mailbox {
    data: [AtomicU64; 4],
    ready: AtomicBool,
}

impl Mailbox {
    /// Fills the slots, then raises `ready` with `flag` ordering. The
    /// lesson passes `Release`; the ordering is a parameter only so that
    /// `mod model` can show the checker catching `Relaxed`.
    fn publish(&self, values: [u64; 4], flag: Ordering) {
        // The data stores are `Relaxed`: on their own they promise nothing
        // about when another thread sees them. The `Release` store of
        // `ready` below makes every write before it visible to any thread
        // whose `Acquire` load reads `true`.
        for (slot, value) in self.data.iter().zip(values) {
            slot.store(value, Relaxed);
        }
        self.ready.store(true, flag);
    }

    /// Waits until `ready` (loaded with `flag` ordering, `Acquire` in the
    /// lesson), then reads the slots.
    fn observe(&self, flag: Ordering) -> [u64; 4] {
        while !self.ready.load(flag) {
            // Let the producer run on a busy machine.
            yield_now();
        }
        self.data.each_ref().map(|slot| slot.load(Relaxed))
    }
}

/// Publish with `Release`, observe with `Acquire`: one producer fills a
/// fresh mailbox each round, `consumers` threads wait for it and read it.
/// Returns everything the consumers saw, one entry per round and consumer.
///
/// With `Relaxed` on `ready`, nothing would order the data stores before the
/// flag: the compiler may move them past it on any target, x86 included, and
/// a weakly ordered CPU (ARM, POWER) may make them visible out of order even
/// when the compiler did not. A consumer could then see `ready == true` and
/// read stale zeros. x86 hardware keeps stores in order and loads in order,
/// so there the broken version usually passes every run: runs can show such
/// a bug, never its absence. `mod model` checks the claim with loom, which
/// explores the executions the memory model allows.
fn release_acquire(rounds: u64, consumers: usize) -> Vec<(u64, [u64; 4])> {
    let mut seen = Vec::new();
    for round in 1..=rounds {
        let mailbox = Mailbox::default();
        thread::scope(|s| {
            let readers: Vec<_> = (0..consumers)
                .map(|_| s.spawn(|| mailbox.observe(Acquire)))
                .collect();
            s.spawn(|| mailbox.publish(payload(round), Release));
            for reader in readers {
                seen.push((round, reader.join().unwrap()));
            }
        });
    }
    seen
}

pub fn show_release_acquire() {
    let seen = release_acquire(ROUNDS, 2);
    let complete = seen
        .iter()
        .filter(|(round, got)| *got == payload(*round))
        .count();
    println!(
        "{ROUNDS} rounds × 2 consumers: {complete} of {} saw the whole payload",
        seen.len()
    );
    let (round, last) = seen.last().expect("there should be at least one round");
    println!("last round {round}: {last:?}");
}

// No ordinary test runs `release_acquire` to check the ordering: on x86 the
// all-`Relaxed` version passes such a test too. `mod model` checks it.

/// Loom runs each closure under every interleaving, and every value a load
/// may return under the memory model, up to its limits. `Mailbox` is the
/// lesson's own code, on loom's atomics.
#[cfg(test)]
#[cfg(feature = "model")]
mod model {
    use super::*;
    use loom::sync::Arc;

    /// One producer publishes, the model thread observes.
    fn message_passing(flag_store: Ordering, flag_load: Ordering) {
        loom::model(move || {
            let mailbox = Arc::new(Mailbox::default());
            let producer = {
                let mailbox = Arc::clone(&mailbox);
                loom::thread::spawn(move || mailbox.publish(payload(7), flag_store))
            };
            let seen = mailbox.observe(flag_load);
            assert_eq!(
                seen,
                payload(7),
                "a consumer saw ready but not the whole payload"
            );
            producer.join().unwrap();
        });
    }

    #[test]
    fn release_acquire_every_consumer_sees_the_whole_payload() {
        message_passing(Release, Acquire);
    }

    #[test]
    #[should_panic(expected = "not the whole payload")]
    fn all_relaxed_is_caught_reading_stale_data() {
        message_passing(Relaxed, Relaxed);
    }
}
