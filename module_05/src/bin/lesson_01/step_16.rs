//! Step 16: five ovens; a cook tries each one, and if all are busy waits
//! for oven 1, as the course does.

use std::sync::Mutex;
use std::thread;

use step_runner::Sink;

use super::COURSE_SECOND;
use super::step_13::Order;

/// The course's dishes: `(cook, dish, baking time)`.
pub const DISHES: [Order; 7] = [
    ("Alexey", "Margherita", 3),
    ("Alexey", "Lasagna", 5),
    ("Alexey", "Shrimp pizza", 4),
    ("Alexey", "Mussels in cream", 4),
    ("Alexey", "Sicilian", 5),
    ("Marina", "Mexican", 3),
    ("Marina", "Vegetarian", 4),
];

/// Step 16 — every dish gets its own thread. The cook tries the ovens in
/// turn with `try_lock` (Python's `acquire(blocking=False)`) and bakes in
/// the first free one; if every oven is busy, the cook waits for oven 1,
/// like the course. `bake` does the baking (`main`: sleep for the baking
/// time). Returns each oven's dishes.
///
/// The course's fallback has a cost: with seven dishes and five ovens, the
/// last two cooks both queue for oven 1 while ovens 2–5 fall free one by
/// one, so the kitchen needs 3 + 3 + 4 = 10 s where any-free-oven would need
/// 7 or 8 s (oven 1 is free at 3 s, ovens 3 and 4 at 4 s). Waiting for
/// *any* oven is a semaphore's job: lesson 5.5's token pool (a channel of
/// oven numbers) does it in a few lines.
pub fn step_16(
    dishes: &[Order],
    ovens: usize,
    bake: impl Fn(Order) + Sync,
    sink: &Sink,
) -> Vec<Vec<&'static str>> {
    let ovens: Vec<Mutex<Vec<&str>>> = (0..ovens).map(|_| Mutex::new(Vec::new())).collect();
    thread::scope(|s| {
        for &dish in dishes {
            let (ovens, bake) = (&ovens, &bake);
            s.spawn(move || {
                // The first free oven, else oven 1 (a blocking `lock`). A
                // cook that panics drops its guard while unwinding, so a cook
                // waiting for that oven wakes up, finds it poisoned and
                // panics too (`unwrap`): nobody waits forever.
                let mut oven = ovens
                    .iter()
                    .find_map(|oven| oven.try_lock().ok())
                    .unwrap_or_else(|| ovens[0].lock().unwrap());
                let (cook, name, time) = dish;
                sink.note(format!("{cook} starts {name}, baking time {time} s"));
                bake(dish);
                oven.push(name);
                sink.note(format!("{cook} has baked {name}, it took {time} s"));
            });
        }
    });
    ovens
        .into_iter()
        .map(|oven| oven.into_inner().unwrap())
        .collect()
}

pub fn show_step_16() {
    let sleep = |(_, _, time): Order| thread::sleep(COURSE_SECOND * time);
    let per_oven = step_16(&DISHES, 5, sleep, &Sink::stdout_timed());
    for (number, dishes) in per_oven.iter().enumerate() {
        println!("oven {} baked {dishes:?}", number + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;
    use std::collections::BTreeSet;
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A bake that takes `unit` per course second.
    fn quick(unit: Duration) -> impl Fn(Order) + Sync {
        move |(_, _, time)| thread::sleep(unit * time)
    }

    #[test]
    fn every_dish_is_baked_once() {
        let per_oven = deadline(Duration::from_secs(20), || {
            step_16(
                &DISHES,
                5,
                quick(Duration::from_millis(20)),
                &Sink::collect(),
            )
        });
        let baked: BTreeSet<_> = per_oven.iter().flatten().copied().collect();
        assert_eq!(baked, DISHES.iter().map(|d| d.1).collect());
        assert_eq!(per_oven.iter().map(Vec::len).sum::<usize>(), 7);
    }

    #[test]
    fn five_ovens_bake_at_once() {
        // The first five bakes wait at a barrier for each other: it opens
        // only if five ovens are baking at the same moment.
        let per_oven = deadline(Duration::from_secs(20), || {
            let all_five = Barrier::new(5);
            let started = AtomicUsize::new(0);
            let bake = |_| {
                if started.fetch_add(1, Ordering::SeqCst) < 5 {
                    all_five.wait();
                }
            };
            step_16(&DISHES, 5, bake, &Sink::collect())
        });
        assert!(per_oven.iter().all(|oven| !oven.is_empty()));
    }

    #[test]
    fn a_cook_who_panics_does_not_leave_the_others_waiting() {
        // One oven: while the first cook bakes, the others wait for it. The
        // first cook drops the tray; the others must wake, find the oven
        // poisoned and pass the panic on, instead of waiting forever.
        let panicked = deadline(Duration::from_secs(20), || {
            let first = AtomicUsize::new(0);
            let bake = |_| {
                if first.fetch_add(1, Ordering::SeqCst) == 0 {
                    thread::sleep(Duration::from_millis(20));
                    panic!("the cook dropped the tray");
                }
            };
            std::panic::catch_unwind(|| step_16(&DISHES[..3], 1, bake, &Sink::collect())).is_err()
        });
        assert!(panicked, "the panic reaches the caller");
    }
}
