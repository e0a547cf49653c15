//! Counting primes by trial division: deliberately plain CPU work, the
//! workload that modules 2 and 9 spread over threads, pools and processes and
//! time.
//!
//! It is a crate of its own so that it alone builds optimised: the root
//! `Cargo.toml` gives it `opt-level = 1` (debug assertions and overflow checks
//! stay on, as in every dev build), where it counts about 3 times faster than
//! unoptimised. The lessons around it build unoptimised, like every other
//! lesson, and compile 2 to 3 times faster for it (the root `Cargo.toml` has
//! the figures).

use std::ops::Range;

/// Whether `n` is prime, by trial division by 2 and then by every odd `d`
/// with `d * d <= n`.
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n < 4 {
        return true;
    }
    if n.is_multiple_of(2) {
        return false;
    }
    let mut d = 3;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 2;
    }
    true
}

/// How many primes lie in `range`.
pub fn count_primes(range: Range<u64>) -> u64 {
    range.filter(|&n| is_prime(n)).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_primes() {
        let first: Vec<u64> = (0..30).filter(|&n| is_prime(n)).collect();
        assert_eq!(first, [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
    }

    #[test]
    fn squares_of_primes_are_not_prime() {
        // The last divisor tried is the one whose square is `n` itself.
        for p in [3, 5, 7, 999_983] {
            assert!(!is_prime(p * p), "{p}²");
        }
        assert!(is_prime(999_983) && !is_prime(999_981));
    }

    #[test]
    fn primes_below_100_1000_and_a_million() {
        assert_eq!(count_primes(0..100), 25);
        assert_eq!(count_primes(0..1000), 168);
        assert_eq!(count_primes(0..1_000_000), 78_498);
        assert_eq!(count_primes(100..1000), 168 - 25);
    }
}
