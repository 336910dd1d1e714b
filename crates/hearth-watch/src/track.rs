//! The state of one target from its results: when an incident opens and closes, and whether
//! each is announced. Pure: the caller passes each result with its time and whether a
//! maintenance window covers it, so the logic is tested with a fake clock.
//!
//! Flap suppression: an incident opens only after `fail_after` failures in a row (default 3)
//! and closes only after `recover_after` successes in a row (default 2), so a target that
//! alternates between answering and not never opens one. Each incident is announced once when
//! it opens and once when it closes; an incident that opened inside a maintenance window is
//! recorded but announced neither way, so a recovery never arrives without its alert.

use serde::Serialize;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// When incidents open and close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures in a row before an incident opens.
    pub fail_after: u32,
    /// Successes in a row before it closes.
    pub recover_after: u32,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy { fail_after: 3, recover_after: 2 }
    }
}

/// What the page shows for a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// No result yet.
    Pending,
    /// Its last result passed and no incident is open.
    Up,
    /// Failing, but fewer times in a row than opens an incident (or recovering from one:
    /// passing, fewer times than closes it).
    Flapping,
    /// An incident is open.
    Down,
}

impl State {
    pub fn word(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Up => "up",
            State::Flapping => "flapping",
            State::Down => "down",
        }
    }
}

/// A change the caller records (and announces when `announce`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// An incident opens; it started at the first failure of the run.
    Open { started: Millis, announce: bool },
    /// The open incident closes.
    Close { announce: bool },
}

/// One target's run of results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracker {
    failures: u32,
    successes: u32,
    first_failure: Option<Millis>,
    /// The open incident and whether it was announced.
    open: Option<bool>,
    seen: bool,
}

impl Tracker {
    /// A tracker that knows an incident is open already (restored from the database), so a
    /// restart neither opens a second one nor loses the recovery.
    pub fn with_open(announced: bool) -> Tracker {
        Tracker { open: Some(announced), ..Tracker::default() }
    }

    /// Takes one result at `now`; `maintenance` when a window covers `now`.
    pub fn observe(&mut self, policy: &Policy, now: Millis, ok: bool, maintenance: bool) -> Option<Change> {
        self.seen = true;
        if ok {
            self.failures = 0;
            self.first_failure = None;
            self.successes = self.successes.saturating_add(1);
            if self.successes >= policy.recover_after.max(1)
                && let Some(announced) = self.open.take()
            {
                return Some(Change::Close { announce: announced });
            }
            None
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            let started = *self.first_failure.get_or_insert(now);
            if self.open.is_none() && self.failures >= policy.fail_after.max(1) {
                let announce = !maintenance;
                self.open = Some(announce);
                return Some(Change::Open { started, announce });
            }
            None
        }
    }

    /// The state the page shows.
    pub fn state(&self) -> State {
        match (self.seen, self.open.is_some(), self.failures, self.successes) {
            (_, true, 0, _) => State::Flapping,
            (_, true, _, _) => State::Down,
            (false, false, _, _) => State::Pending,
            (true, false, 0, _) => State::Up,
            (true, false, _, _) => State::Flapping,
        }
    }

    /// Whether an incident is open.
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds one result per character (`o` passes, `x` fails; upper case inside a maintenance
    /// window), one per 30 s, and writes what happened at each: `.` nothing, `A` an incident
    /// opens and is announced, `a` one opens silently, `R` it closes with a recovery message,
    /// `r` it closes silently. After `|`, the states at the end.
    fn check(policy: Policy, input: &str, expected: &str) {
        let mut tracker = Tracker::default();
        let mut out = String::new();
        let mut starts = Vec::new();
        for (i, c) in input.chars().enumerate() {
            let now = i as Millis * 30_000;
            let change = tracker.observe(&policy, now, c.eq_ignore_ascii_case(&'o'), c.is_ascii_uppercase());
            out.push(match change {
                None => '.',
                Some(Change::Open { started, announce }) => {
                    starts.push(started / 30_000);
                    if announce { 'A' } else { 'a' }
                }
                Some(Change::Close { announce: true }) => 'R',
                Some(Change::Close { announce: false }) => 'r',
            });
        }
        let shown = format!("{out}|{}|{starts:?}", tracker.state().word());
        assert_eq!(shown, expected, "input {input}");
    }

    #[test]
    fn incidents_open_after_n_failures_and_close_after_m_successes() {
        let p = Policy::default();
        check(p, "", "|pending|[]");
        check(p, "ooo", "...|up|[]");
        check(p, "oxx", "...|flapping|[]");
        check(p, "oxxx", "...A|down|[1]");
        check(p, "oxxxxxo", "...A...|flapping|[1]");
        check(p, "oxxxxxoo", "...A...R|up|[1]");
        // One alert and one recovery for one long outage.
        check(p, "xxxxxxxxxxoooooo", "..A........R....|up|[0]");
        // A recovery that fails again before it is confirmed keeps the incident open.
        check(p, "xxxoxoo", "..A...R|up|[0]");
        check(p, "xxxoxxxoo", "..A.....R|up|[0]");
    }

    #[test]
    fn a_flapping_target_raises_no_storm() {
        let p = Policy::default();
        check(p, "oxoxoxoxoxoxoxox", "................|flapping|[]");
        check(p, "xxoxxoxxoxxoxxoo", "................|up|[]");
        // Failures come in threes, each separated by a single success: one incident, which
        // a lone success does not close.
        check(p, "xxxoxxxoxxxoxxxoo", "..A.............R|up|[0]");
    }

    #[test]
    fn maintenance_mutes_an_incident_both_ways() {
        let p = Policy::default();
        check(p, "XXXXoo", "..a..r|up|[0]");
        // Opened inside the window: silent even when it recovers after the window.
        check(p, "XXXxxoo", "..a...r|up|[0]");
        // Opened before the window: its recovery is announced even inside it.
        check(p, "xxxXXOO", "..A...R|up|[0]");
        // The window ended before the third failure: announced.
        check(p, "XXx", "..A|down|[0]");
    }

    #[test]
    fn thresholds_of_one_follow_every_change() {
        let p = Policy { fail_after: 1, recover_after: 1 };
        check(p, "oxoxo", ".ARAR|up|[1, 3]");
        // Zero is taken as one: a result must be seen before anything changes.
        check(Policy { fail_after: 0, recover_after: 0 }, "xo", "AR|up|[0]");
    }

    #[test]
    fn a_restored_incident_closes_once() {
        let p = Policy::default();
        let mut t = Tracker::with_open(true);
        assert_eq!(t.observe(&p, 0, false, false), None);
        assert_eq!(t.observe(&p, 1, false, false), None);
        assert_eq!(t.observe(&p, 2, false, false), None, "no second incident while one is open");
        assert_eq!(t.observe(&p, 3, true, false), None);
        assert_eq!(t.observe(&p, 4, true, false), Some(Change::Close { announce: true }));
        assert_eq!(t.observe(&p, 5, true, false), None);
    }
}
