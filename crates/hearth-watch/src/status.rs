//! One snapshot of the homelab's state, built from the daemon's in-memory state and the
//! database for each request: what `/api/status` serialises, the page renders and `/metrics`
//! prints. Checks keep the daemon's order (the facts' order: by machine, then id).

use serde::Serialize;

use crate::daemon::{Shared, lock};
use crate::store::{Incident, StoreError, Tally};
use crate::time::rfc3339;
use crate::track::{Millis, State};

/// Uptime over the three windows, as fractions (`null` before any check).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Uptime {
    #[serde(rename = "24h")]
    pub day: Option<f64>,
    #[serde(rename = "7d")]
    pub week: Option<f64>,
    #[serde(rename = "30d")]
    pub month: Option<f64>,
}

/// One check's state.
#[derive(Debug, Clone, Serialize)]
pub struct CheckStatus {
    pub id: String,
    pub machine: String,
    pub service: Option<String>,
    pub group: Option<String>,
    pub kind: &'static str,
    pub check: String,
    pub location: String,
    pub state: State,
    pub interval_seconds: u64,
    pub last_checked: Option<String>,
    #[serde(skip)]
    pub last_checked_ms: Option<Millis>,
    pub latency_ms: Option<f64>,
    pub reason: Option<String>,
    pub uptime: Uptime,
    pub last_success: Option<String>,
    #[serde(skip)]
    pub last_success_ms: Option<Millis>,
    pub certificate_expires: Option<String>,
    #[serde(skip)]
    pub certificate_expires_ms: Option<Millis>,
    /// The latest results for the sparkline: latency in ms, `null` for a failure.
    pub recent: Vec<Option<f64>>,
    /// Runs and failed runs since the watcher started.
    pub checks: u64,
    pub failures: u64,
    pub incident: Option<i64>,
}

/// Counts of checks by state.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    pub up: usize,
    pub flapping: usize,
    pub down: usize,
    pub pending: usize,
}

/// An incident with its check's machine and description.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentStatus {
    pub id: i64,
    pub check: String,
    pub machine: String,
    pub summary: String,
    pub started: String,
    pub ended: Option<String>,
    pub reason: String,
    pub announced: bool,
    #[serde(skip)]
    pub started_ms: Millis,
    #[serde(skip)]
    pub ended_ms: Option<Millis>,
}

/// Deliveries per channel.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelStatus {
    pub name: String,
    pub sent: u64,
    pub failed: u64,
}

/// The whole snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub homelab: String,
    pub generated: String,
    #[serde(skip)]
    pub generated_ms: Millis,
    pub started: String,
    pub summary: Summary,
    pub checks: Vec<CheckStatus>,
    pub incidents: Vec<IncidentStatus>,
    pub channels: Vec<ChannelStatus>,
}

const DAY: Millis = 86_400_000;

/// The snapshot at `now`, with up to `past` closed incidents.
pub fn snapshot(shared: &Shared, now: Millis, past: usize) -> Result<Status, StoreError> {
    let (day, week, month, incidents) = {
        let store = lock(&shared.store);
        (
            store.tallies(now - DAY)?,
            store.tallies(now - 7 * DAY)?,
            store.tallies(now - 30 * DAY)?,
            store.incidents(past)?,
        )
    };
    let up = |t: Option<&Tally>| t.and_then(Tally::uptime);
    let mut summary = Summary::default();
    let live = lock(&shared.live);
    let checks: Vec<CheckStatus> = shared
        .targets
        .iter()
        .zip(live.iter())
        .map(|(t, l)| {
            let state = l.tracker.state();
            match state {
                State::Up => summary.up += 1,
                State::Flapping => summary.flapping += 1,
                State::Down => summary.down += 1,
                State::Pending => summary.pending += 1,
            }
            CheckStatus {
                id: t.id.clone(),
                machine: t.machine.clone(),
                service: t.service.clone(),
                group: t.group.clone(),
                kind: t.kind.word(),
                check: t.describe.clone(),
                location: t.location.clone(),
                state,
                interval_seconds: t.interval.as_secs(),
                last_checked: l.last.as_ref().map(|(at, _)| rfc3339(*at)),
                last_checked_ms: l.last.as_ref().map(|(at, _)| *at),
                latency_ms: l.last.as_ref().map(|(_, s)| round(s.latency.as_secs_f64() * 1000.0)),
                reason: l.last.as_ref().and_then(|(_, s)| s.reason.clone()),
                uptime: Uptime { day: up(day.get(&t.id)), week: up(week.get(&t.id)), month: up(month.get(&t.id)) },
                last_success: l.last_success.map(rfc3339),
                last_success_ms: l.last_success,
                certificate_expires: l.cert_expiry.map(rfc3339),
                certificate_expires_ms: l.cert_expiry,
                recent: l.spark.iter().map(|(ok, us)| ok.then(|| round(*us as f64 / 1000.0))).collect(),
                checks: l.checks,
                failures: l.failures,
                incident: l.incident.map(|(id, _)| id),
            }
        })
        .collect();
    drop(live);
    let incidents = incidents
        .into_iter()
        .map(|i: Incident| {
            let t = shared.targets.iter().find(|t| t.id == i.target);
            IncidentStatus {
                id: i.id,
                machine: t.map(|t| t.machine.clone()).unwrap_or_default(),
                summary: t.map(|t| t.describe.clone()).unwrap_or_default(),
                check: i.target,
                started: rfc3339(i.started),
                ended: i.ended.map(rfc3339),
                reason: i.reason,
                announced: i.announced,
                started_ms: i.started,
                ended_ms: i.ended,
            }
        })
        .collect();
    let channels = lock(&shared.alerts)
        .iter()
        .map(|(name, c)| ChannelStatus { name: name.clone(), sent: c.sent, failed: c.failed })
        .collect();
    Ok(Status {
        homelab: shared.homelab.clone(),
        generated: rfc3339(now),
        generated_ms: now,
        started: rfc3339(shared.started),
        summary,
        checks,
        incidents,
        channels,
    })
}

/// Milliseconds with three decimals, so the JSON does not print float noise.
fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}
