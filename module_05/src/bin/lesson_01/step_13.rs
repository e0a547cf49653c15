//! Step 13: a producer fills a queue of orders; cooks take them and bake,
//! one at a time, in the kitchen's one oven.

use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use step_runner::Sink;

use super::COURSE_SECOND;

/// A cook, a pizza and its baking time in course seconds.
pub type Order = (&'static str, &'static str, u32);

/// The course's cooks and pizzas, in its order.
pub const ORDERS: [Order; 5] = [
    ("Alexey", "Margherita", 3),
    ("Marina", "Pepperoni", 2),
    ("Sergey", "Vegetarian", 4),
    ("Irina", "Four Cheese", 5),
    ("Nikolay", "Hawaiian", 3),
];

/// Step 13 — a producer thread puts every order into a queue; `consumers`
/// threads take orders from it and bake each under the oven's lock.
///
/// The course runs one consumer (`step_13`): it bakes the orders in queue
/// order and the lock is never contended. `step_13_five_cooks` runs the same
/// code with five consumers, where the lock is what keeps them to one oven.
///
/// Python fills the queue, joins the producer and then lets the consumer
/// loop `while not queue.empty()`: that works only because the producer has
/// finished first. Here the producer's end *closes* the channel (its
/// `Sender` is dropped), and `for order in &orders` ends on closed-and-empty,
/// so it would also be right with the producer still running.
pub fn step_13(orders: &[Order], consumers: usize, second: Duration, sink: &Sink) {
    let (queue, taken) = crossbeam_channel::unbounded();
    let oven = Mutex::new(());
    thread::scope(|s| {
        s.spawn(move || {
            for &order in orders {
                queue.send(order).unwrap(); // the consumers outlive the producer
            }
        });
        for _ in 0..consumers {
            // Borrowed, not moved: every consumer shares these.
            let (taken, oven) = (&taken, &oven);
            s.spawn(move || {
                for (cook, pizza, bake_time) in taken {
                    let _oven = oven.lock().unwrap();
                    sink.note(format!("{cook} starts baking {pizza}"));
                    thread::sleep(second * bake_time);
                    sink.note(format!("{cook} has baked {pizza}"));
                    // `_oven` is dropped here: the oven is free again.
                }
            });
        }
    });
    sink.note("All pizzas are baked.");
}

pub fn show_step_13() {
    step_13(&ORDERS, 1, COURSE_SECOND, &Sink::stdout_timed());
}

pub fn show_step_13_five_cooks() {
    step_13(&ORDERS, 5, COURSE_SECOND, &Sink::stdout_timed());
}

#[cfg(test)]
mod tests {
    use super::*;
    use course_tests::deadline;

    const FAST: Duration = Duration::from_millis(20);

    fn run(consumers: usize) -> Vec<String> {
        deadline(Duration::from_secs(20), move || {
            let sink = Sink::collect();
            step_13(&ORDERS, consumers, FAST, &sink);
            sink.lines()
        })
    }

    #[test]
    fn one_cook_bakes_in_the_courses_order() {
        let mut expected = Vec::new();
        for (cook, pizza, _) in ORDERS {
            expected.push(format!("{cook} starts baking {pizza}"));
            expected.push(format!("{cook} has baked {pizza}"));
        }
        expected.push("All pizzas are baked.".to_owned());
        assert_eq!(run(1), expected);
    }

    #[test]
    fn five_cooks_still_bake_one_pizza_at_a_time() {
        let lines = run(5);
        assert_eq!(lines.len(), 2 * ORDERS.len() + 1);
        // Starts and finishes alternate, and each pair is one pizza.
        for pair in lines[..lines.len() - 1].chunks(2) {
            let started = pair[0].replace(" starts baking ", "|");
            let baked = pair[1].replace(" has baked ", "|");
            assert_eq!(started, baked, "{pair:?}");
        }
    }
}
