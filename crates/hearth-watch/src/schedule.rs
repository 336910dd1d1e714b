//! When each target runs. Pure: times are passed in, so the tests use a fake clock.
//!
//! Each target keeps a fixed cadence: its next run is its previous due time plus its interval,
//! whatever the check took, so runs do not drift. Its first run is its *phase*, a point within
//! its interval derived from a hash of its id and a seed, so 10,000 checks with the same
//! interval spread evenly instead of starting in the same second, and a restart keeps them
//! where they were. A watcher that fell behind (the machine slept) skips the runs it missed
//! rather than firing them all at once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::track::Millis;

/// Where in its interval a target runs: FNV-1a of the seed and the id, modulo the interval.
pub fn phase(id: &str, seed: u64, interval: Millis) -> Millis {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed.to_le_bytes().iter().chain(id.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % interval.max(1) as u64) as Millis
}

/// The targets' next due times, earliest first.
#[derive(Debug, Clone)]
pub struct Queue {
    heap: BinaryHeap<Reverse<(Millis, usize)>>,
    intervals: Vec<Millis>,
}

impl Queue {
    /// Each target (id, interval) first due at `start` plus its phase.
    pub fn new<'a>(targets: impl IntoIterator<Item = (&'a str, Millis)>, start: Millis, seed: u64) -> Queue {
        let mut heap = BinaryHeap::new();
        let mut intervals = Vec::new();
        for (i, (id, interval)) in targets.into_iter().enumerate() {
            let interval = interval.max(1);
            intervals.push(interval);
            heap.push(Reverse((start + phase(id, seed, interval), i)));
        }
        Queue { heap, intervals }
    }

    /// When the earliest target is due.
    pub fn next_due(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse((due, _))| *due)
    }

    /// The targets due at `now`, each rescheduled one interval later (or, when it fell more
    /// than an interval behind, at the first point of its cadence after `now`).
    pub fn pop_due(&mut self, now: Millis) -> Vec<usize> {
        let mut due = Vec::new();
        while let Some(Reverse((at, i))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            due.push(i);
            let interval = self.intervals[i];
            let mut next = at + interval;
            if next <= now {
                next += (now - next) / interval * interval + interval;
            }
            self.heap.push(Reverse((next, i)));
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a queue over `targets` (id, interval in seconds) from 0 to `until` seconds, stepping
    /// the fake clock by `step` seconds, and lists each run as `id@second`.
    fn check(targets: &[(&str, i64)], step: i64, until: i64, expected: &str) {
        let mut q = Queue::new(targets.iter().map(|(id, s)| (*id, s * 1000)), 0, 7);
        let mut runs = Vec::new();
        let mut now = 0;
        while now <= until * 1000 {
            for i in q.pop_due(now) {
                runs.push(format!("{}@{}", targets[i].0, now / 1000));
            }
            now += step * 1000;
        }
        assert_eq!(runs.join(" "), expected);
    }

    #[test]
    fn runs_keep_their_cadence_from_their_phase() {
        // The first whole second at or after each phase.
        let pa = (phase("a", 7, 10_000) + 999) / 1000;
        let pb = (phase("b", 7, 30_000) + 999) / 1000;
        let mut expected: Vec<(i64, String)> = Vec::new();
        for k in 0..4 {
            if pa + 10 * k <= 35 {
                expected.push((pa + 10 * k, format!("a@{}", pa + 10 * k)));
            }
        }
        for k in 0..2 {
            if pb + 30 * k <= 35 {
                expected.push((pb + 30 * k, format!("b@{}", pb + 30 * k)));
            }
        }
        expected.sort();
        let shown: Vec<String> = expected.into_iter().map(|(_, s)| s).collect();
        check(&[("a", 10), ("b", 30)], 1, 35, &shown.join(" "));
    }

    #[test]
    fn a_late_clock_skips_missed_runs_instead_of_bursting() {
        // Stepping 100 s at a time over a 10 s interval: one run per step, never ten.
        let p = phase("a", 7, 10_000) / 1000;
        let expected: Vec<String> = (0..=3).filter(|k| k * 100 >= p).map(|k| format!("a@{}", k * 100)).collect();
        check(&[("a", 10)], 100, 300, &expected.join(" "));
    }

    #[test]
    fn phases_spread_over_the_interval_and_are_stable() {
        let interval = 30_000;
        let mut buckets = [0u32; 10];
        for i in 0..10_000 {
            let p = phase(&format!("http/{i}"), 0, interval);
            assert!((0..interval).contains(&p));
            buckets[(p * 10 / interval) as usize] += 1;
        }
        // Each tenth of the interval gets close to a tenth of the checks.
        assert!(buckets.iter().all(|b| (800..1200).contains(b)), "{buckets:?}");
        // Stable across runs and machines: pinned, not compared with itself.
        assert_eq!([phase("x", 1, interval), phase("a", 7, 10_000), phase("b", 7, 30_000)], [20292, 3801, 29168]);
        assert_ne!(phase("x", 1, interval), phase("x", 2, interval));
    }
}
