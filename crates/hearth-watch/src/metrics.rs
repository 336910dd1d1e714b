//! `/metrics`: the snapshot in Prometheus's text exposition format (version 0.0.4), one
//! family per fact about a check, labelled by check id, machine and kind, so the homelab's own
//! Prometheus can scrape its watcher and alert on it.

use std::fmt::Write as _;

use crate::status::Status;
use crate::track::State;

/// The exposition text.
pub fn render(status: &Status) -> String {
    let mut out = String::new();
    let labels = |c: &crate::status::CheckStatus| {
        format!("check=\"{}\",machine=\"{}\",kind=\"{}\"", escape(&c.id), escape(&c.machine), c.kind)
    };
    family(
        &mut out,
        "hearth_watch_up",
        "gauge",
        "Whether the check passed the last time it ran (1) or not (0); absent before its first run.",
    );
    for c in &status.checks {
        if c.last_checked_ms.is_some() {
            let up = u8::from(c.reason.is_none());
            let _ = writeln!(out, "hearth_watch_up{{{}}} {up}", labels(c));
        }
    }
    family(
        &mut out,
        "hearth_watch_incident_open",
        "gauge",
        "Whether an incident is open for the check (enough failures in a row).",
    );
    for c in &status.checks {
        let _ = writeln!(out, "hearth_watch_incident_open{{{}}} {}", labels(c), u8::from(c.state == State::Down));
    }
    family(&mut out, "hearth_watch_latency_seconds", "gauge", "How long the check's last run took.");
    for c in &status.checks {
        if let Some(ms) = c.latency_ms {
            let _ = writeln!(out, "hearth_watch_latency_seconds{{{}}} {}", labels(c), ms / 1000.0);
        }
    }
    family(&mut out, "hearth_watch_checks_total", "counter", "Runs of the check since the watcher started.");
    for c in &status.checks {
        let _ = writeln!(out, "hearth_watch_checks_total{{{}}} {}", labels(c), c.checks);
    }
    family(&mut out, "hearth_watch_failures_total", "counter", "Failed runs of the check since the watcher started.");
    for c in &status.checks {
        let _ = writeln!(out, "hearth_watch_failures_total{{{}}} {}", labels(c), c.failures);
    }
    family(
        &mut out,
        "hearth_watch_certificate_expiry_timestamp_seconds",
        "gauge",
        "When the certificate the check last saw expires (Unix time).",
    );
    for c in &status.checks {
        if let Some(ms) = c.certificate_expires_ms {
            let _ = writeln!(out, "hearth_watch_certificate_expiry_timestamp_seconds{{{}}} {}", labels(c), ms / 1000);
        }
    }
    family(&mut out, "hearth_watch_last_success_timestamp_seconds", "gauge", "When the check last passed (Unix time).");
    for c in &status.checks {
        if let Some(ms) = c.last_success_ms {
            let _ = writeln!(out, "hearth_watch_last_success_timestamp_seconds{{{}}} {}", labels(c), ms / 1000);
        }
    }
    family(&mut out, "hearth_watch_alerts_total", "counter", "Alert messages per channel and outcome.");
    for ch in &status.channels {
        let name = escape(&ch.name);
        let _ = writeln!(out, "hearth_watch_alerts_total{{channel=\"{name}\",outcome=\"sent\"}} {}", ch.sent);
        let _ = writeln!(out, "hearth_watch_alerts_total{{channel=\"{name}\",outcome=\"failed\"}} {}", ch.failed);
    }
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value: backslash, double quote and line feed escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
