//! The store-buffer example: what `SeqCst` adds to Release/Acquire. The
//! `model` feature swaps the atomics for loom's, and `mod model` at the
//! bottom checks the claim over every execution loom explores.

#[cfg(not(feature = "model"))]
use std::sync::atomic::AtomicU32;
use std::sync::atomic::{Ordering, Ordering::*};
use std::thread;

#[cfg(feature = "model")]
use loom::sync::atomic::AtomicU32;

/// Rounds of the store-buffer experiment.
const STORE_BUFFER_ROUNDS: u32 = 200_000;

/// One half of the store-buffer experiment: store `value` into `mine`, then
/// load `theirs` and return what was there.
fn store_then_load(
    mine: &AtomicU32,
    theirs: &AtomicU32,
    value: u32,
    (store, load): (Ordering, Ordering),
) -> u32 {
    mine.store(value, store);
    theirs.load(load)
}

/// The store-buffer example. Two threads, two variables: A stores `x` then
/// loads `y`, B stores `y` then loads `x`. Can both read the old value?
///
/// With `Release`/`Acquire` they can: neither load reads the other
/// thread's store, so nothing synchronises, and a store may still sit in
/// the CPU's store buffer (x86 has one) while the same thread's next load
/// goes ahead. With `SeqCst` the four operations fall into one order that
/// both threads agree on; whichever load comes last in it comes after both
/// stores, so at least one thread reads the new value. Only `SeqCst` (or a
/// `fence(SeqCst)` between each store and load) rules out "both old". On
/// x86-64 the difference is visible in the code: a `Release` store is a
/// plain `mov`, a `SeqCst` store an `xchg`, which waits for the store buffer
/// to drain (rustc 1.95 `--emit asm`).
///
/// Runs `rounds` rounds in lock step (round `r` stores `r`, so no reset is
/// needed) and returns in how many both threads read an older round.
fn store_buffer(rounds: u32, orderings: (Ordering, Ordering)) -> u32 {
    let (x, y) = (AtomicU32::new(0), AtomicU32::new(0));
    let run = |mine: &AtomicU32, theirs: &AtomicU32| -> Vec<bool> {
        (1..=rounds)
            .map(|round| {
                // Start round `round` once the other thread has finished
                // the one before, so the two threads' rounds overlap. Spin
                // rather than block (a wake-up takes far longer than a
                // round), but give the CPU away now and then: on a busy
                // machine the other thread may not be running.
                let mut spins = 0u32;
                while theirs.load(Relaxed) < round - 1 {
                    spins += 1;
                    if spins.is_multiple_of(1024) {
                        thread::yield_now();
                    }
                    std::hint::spin_loop();
                }
                store_then_load(mine, theirs, round, orderings) < round
            })
            .collect()
    };
    thread::scope(|s| {
        let a = s.spawn(|| run(&x, &y));
        let b = s.spawn(|| run(&y, &x));
        let a = a.join().unwrap();
        let b = b.join().unwrap();
        a.iter().zip(&b).filter(|&(a, b)| *a && *b).count() as u32
    })
}

pub fn show_store_buffer() {
    for (name, orderings) in [
        ("Release/Acquire", (Release, Acquire)),
        ("SeqCst", (SeqCst, SeqCst)),
    ] {
        let both_old = store_buffer(STORE_BUFFER_ROUNDS, orderings);
        println!(
            "{name:>15}: both threads read the old value in {both_old} of {STORE_BUFFER_ROUNDS} rounds"
        );
    }
    println!("(Release/Acquire may show 0 on a run where the threads rarely overlap;");
    println!(" SeqCst shows 0 on every run: the memory model forbids it)");
}

// The ordinary test runs on std's atomics; with the `model` feature the
// atomics are loom's, which work only inside `loom::model`.
#[cfg(test)]
#[cfg(not(feature = "model"))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn with_seq_cst_both_threads_never_read_the_old_value() {
        // The allowed outcomes under SeqCst exclude "both old". On x86 the
        // Release/Acquire version failed this test in 3 of 3 runs (15 to 46
        // rounds of 100,000 read "both old"), but only while both threads
        // really run at once, which a busy machine does not guarantee;
        // `mod model` catches it every time.
        let both_old = course_tests::deadline(Duration::from_secs(60), || {
            store_buffer(100_000, (SeqCst, SeqCst))
        });
        assert_eq!(both_old, 0);
    }
}

/// Loom runs each closure under every interleaving, and every value a load
/// may return under the memory model, up to its limits. `store_then_load`
/// is the lesson's own code, on loom's atomics.
#[cfg(all(test, feature = "model"))]
mod model {
    use super::*;
    use loom::sync::Arc;
    use loom::sync::atomic::fence;

    /// The store-buffer example; returns nothing, asserts that at least one
    /// thread read the other's store. `fenced` puts a `fence(SeqCst)`
    /// between each store and load.
    fn store_buffer_model(orderings: (Ordering, Ordering), fenced: bool) {
        loom::model(move || {
            let x = Arc::new(AtomicU32::new(0));
            let y = Arc::new(AtomicU32::new(0));
            let half = |mine: Arc<AtomicU32>, theirs: Arc<AtomicU32>| {
                move || {
                    if fenced {
                        mine.store(1, orderings.0);
                        fence(SeqCst);
                        theirs.load(orderings.1)
                    } else {
                        store_then_load(&mine, &theirs, 1, orderings)
                    }
                }
            };
            let a = loom::thread::spawn(half(Arc::clone(&x), Arc::clone(&y)));
            let b = half(y, x)();
            let a = a.join().unwrap();
            assert!(a == 1 || b == 1, "both threads read the old value");
        });
    }

    // Loom 0.7 models `SeqCst` loads and stores as `AcqRel` (its README,
    // "Unsupported features"), so it would report "both old" for the
    // lesson's `SeqCst` pair too, an outcome the memory model forbids. It
    // does model `fence(SeqCst)`, which gives the same guarantee here; so
    // the passing model is the fenced form.
    #[test]
    fn seq_cst_fences_rule_out_both_threads_reading_the_old_value() {
        store_buffer_model((Relaxed, Relaxed), true);
    }

    #[test]
    #[should_panic(expected = "both threads read the old value")]
    fn release_acquire_is_caught_with_both_threads_reading_the_old_value() {
        store_buffer_model((Release, Acquire), false);
    }
}
