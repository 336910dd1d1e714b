//! A service's watch schedule (`watch:`, defaulted by `monitoring.watch`): how often `hearth
//! watch` checks it, how long a check may take, and how many failures in a row open an incident.

use hearth_spec::units::Duration;
use serde::Serialize;

/// `hearth watch`'s settings the spec gives for a service; what it leaves out the watcher
/// decides (per kind of check).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Watch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_after: Option<u32>,
}

impl Watch {
    /// `hearth watch`'s interval for the quick checks (HTTP, TCP, DNS, units, scrapes) of a
    /// service whose spec gives none.
    pub const DEFAULT_INTERVAL_MS: u64 = 30_000;
    /// Its timeout when the spec gives none, unless half the interval is shorter.
    pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

    /// The timeout of a check run every `interval_ms` when the spec gives none: 10 s, or half the
    /// interval when that is shorter, so one run ends before the next is due.
    pub fn default_timeout_ms(interval_ms: u64) -> u64 {
        Self::DEFAULT_TIMEOUT_MS.min(interval_ms / 2)
    }

    /// A check's interval and timeout in milliseconds: the spec's, else `default_interval_ms`
    /// (the watcher's for that kind of check) and [`Watch::default_timeout_ms`]. The one rule
    /// the checker, the rendered watcher and `hearth watch` all follow.
    pub fn schedule_ms(&self, default_interval_ms: u64) -> (u64, u64) {
        let interval = self.interval.map_or(default_interval_ms, |d| d.millis);
        (interval, self.timeout.map_or_else(|| Self::default_timeout_ms(interval), |d| d.millis))
    }

    /// The spec's `watch:` as written, without spans.
    pub fn from_spec(w: &hearth_spec::ast::Watch) -> Watch {
        Watch {
            interval: w.interval.as_ref().map(|d| d.value),
            timeout: w.timeout.as_ref().map(|d| d.value),
            fail_after: w.fail_after.as_ref().map(|n| n.value),
        }
    }

    /// Each field of `self`, or `default`'s where `self` has none.
    pub fn or(self, default: Watch) -> Watch {
        Watch {
            interval: self.interval.or(default.interval),
            timeout: self.timeout.or(default.timeout),
            fail_after: self.fail_after.or(default.fail_after),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Watch::default()
    }
}
