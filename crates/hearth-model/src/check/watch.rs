//! `watch:` settings that `hearth watch` could not honour: an interval under a second or over a
//! day (E780), a timeout under 100 ms (E781), a timeout that is not shorter than the interval
//! it must fit in (E782), `fail_after` outside 1-100 (E783), and an interval and `fail_after`
//! that together announce an outage only after more than an hour (W780).
//!
//! A service's settings fall back field by field to `monitoring.watch`, so the pairs are judged
//! as they combine; a clash that lies wholly in `monitoring.watch` is reported there once, not
//! at every service that inherits it.

use hearth_spec::ast::Watch;
use hearth_spec::units::Duration;
use hearth_spec::{Code, Diagnostic, Sp, Span, Spec};

/// The shortest and longest interval the watcher schedules.
const MIN_INTERVAL_MS: u64 = 1_000;
const MAX_INTERVAL_MS: u64 = 86_400_000;
/// The shortest timeout: an SSH-run check cannot answer sooner.
const MIN_TIMEOUT_MS: u64 = 100;
/// The watcher's own defaults where the spec gives none (`hearth-watch`'s per-kind interval of
/// quick checks, its timeout and its `fail_after`).
const DEFAULT_INTERVAL_MS: u64 = crate::model::Watch::DEFAULT_INTERVAL_MS;
const DEFAULT_FAIL_AFTER: u32 = 3;
const MAX_FAIL_AFTER: u32 = 100;
/// Longer than this between the first failure and the alert is reported (W780).
const LATE_MS: u64 = 3_600_000;

pub(super) fn watch(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let default = spec.monitoring.as_ref().and_then(|m| m.watch.as_ref());
    if let Some(d) = default {
        values(d, out);
        combined(d, None, "`monitoring.watch`", out);
    }
    for e in &spec.services.entries {
        if let Some(w) = &e.value.watch {
            values(w, out);
            combined(w, default, &format!("service `{}`", e.name), out);
        }
    }
}

/// Each value on its own.
fn values(w: &Watch, out: &mut Vec<Diagnostic>) {
    if let Some(i) = w.interval.as_ref().filter(|i| !interval_ok(i)) {
        let too_short = i.value.millis < MIN_INTERVAL_MS;
        let d = Diagnostic::new(
            Code::WatchInterval,
            i.span,
            format!(
                "watch interval `{}` is {}",
                i.value,
                if too_short { "shorter than a second" } else { "longer than a day" }
            ),
        )
        .label(if too_short { "checked too often" } else { "checked too rarely" });
        // The proposal must itself fit around a timeout the service gives.
        let proposed = if too_short { DEFAULT_INTERVAL_MS } else { MAX_INTERVAL_MS };
        let fits = w.timeout.as_ref().is_none_or(|t| t.value.millis < proposed);
        let help = format!("write an interval from `1s` to `1d`, such as `{}`", text(proposed));
        out.push(if fits { d.help(help).suggest(i.span, text(proposed)) } else { d.help(help) });
    }
    if let Some(t) = w.timeout.as_ref().filter(|t| t.value.millis < MIN_TIMEOUT_MS) {
        let proposed = default_timeout(w.interval.as_ref().filter(|i| interval_ok(i)).map(|i| i.value.millis));
        out.push(
            Diagnostic::new(
                Code::WatchTimeout,
                t.span,
                format!("watch timeout `{}` is shorter than 100ms: every check would fail", t.value),
            )
            .label("no check answers this fast")
            .help(format!("write `{}`, or leave `timeout` out for the watcher's default", text(proposed)))
            .suggest(t.span, text(proposed)),
        );
    }
    if let Some(n) = w.fail_after.as_ref().filter(|n| n.value == 0 || n.value > MAX_FAIL_AFTER) {
        let (why, proposed) = if n.value == 0 {
            ("an incident opens after one failure at the least", DEFAULT_FAIL_AFTER)
        } else {
            ("an outage would go unannounced for too long", MAX_FAIL_AFTER)
        };
        out.push(
            Diagnostic::new(Code::WatchFailAfter, n.span, format!("`fail_after: {}` is outside 1-100", n.value))
                .label(why)
                .help(format!("write `{proposed}` (failures in a row before an incident opens)"))
                .suggest(n.span, proposed.to_string()),
        );
    }
}

/// A value written here (`true`), else the default's.
fn pick<'a, T>(own: Option<&'a T>, default: Option<&'a T>) -> Option<(&'a T, bool)> {
    own.map(|v| (v, true)).or_else(|| default.map(|v| (v, false)))
}

/// The settings of `w` over `default`, judged together where at least one of a pair is `w`'s.
fn combined(w: &Watch, default: Option<&Watch>, whose: &str, out: &mut Vec<Diagnostic>) {
    let interval = pick(w.interval.as_ref(), default.and_then(|d| d.interval.as_ref()));
    let timeout = pick(w.timeout.as_ref(), default.and_then(|d| d.timeout.as_ref()));
    let fail_after = pick(w.fail_after.as_ref(), default.and_then(|d| d.fail_after.as_ref()));
    // Values already refused on their own are not judged again in pairs.
    let interval = interval.filter(|(i, _)| interval_ok(i));
    let timeout = timeout.filter(|(t, _)| t.value.millis >= MIN_TIMEOUT_MS);
    let fail_after = fail_after.filter(|(n, _)| (1..=MAX_FAIL_AFTER).contains(&n.value));

    if let (Some((i, own_i)), Some((t, own_t))) = (interval, timeout)
        && (own_i || own_t)
        && t.value.millis >= i.value.millis
    {
        let message = format!("watch timeout `{}` of {whose} is not shorter than its interval `{}`", t.value, i.value);
        let proposed = text(default_timeout(Some(i.value.millis)));
        let d = if own_t {
            Diagnostic::new(Code::WatchTimeoutOverInterval, t.span, message)
                .label("a check may run into the next one")
                .with(i.span, "the interval")
                .help(format!("write a timeout shorter than the interval, such as `{proposed}`"))
                .suggest(t.span, proposed)
        } else {
            // The timeout comes from `monitoring.watch`: the fix is this service's own timeout
            // (or a longer interval), which is an insertion the help can only describe.
            Diagnostic::new(Code::WatchTimeoutOverInterval, i.span, message)
                .label("shorter than the timeout")
                .with(t.span, "the timeout, from `monitoring.watch`")
                .help(format!("add `timeout: {proposed}` to this `watch:`, or write a longer interval"))
        };
        out.push(d);
    }

    let own_any = interval.is_some_and(|(_, o)| o) || fail_after.is_some_and(|(_, o)| o);
    if !own_any {
        return;
    }
    let every = interval.map_or(DEFAULT_INTERVAL_MS, |(i, _)| i.value.millis);
    let n = fail_after.map_or(DEFAULT_FAIL_AFTER, |(n, _)| n.value);
    if every.saturating_mul(u64::from(n)) <= LATE_MS {
        return;
    }
    let message = format!(
        "{whose} is announced down only {} after it fails ({n} failures, one every {})",
        human(every.saturating_mul(u64::from(n))),
        text(every)
    );
    // Lowering `fail_after` is the fix when it is written here and enough to reach an hour.
    let fewer = (LATE_MS / every).min(u64::from(u32::MAX)) as u32;
    let d = match fail_after {
        Some((f, true)) if fewer >= 1 => Diagnostic::new(Code::WatchLateIncident, f.span, message)
            .label("failures in a row before an incident")
            .help(format!("write `{fewer}`, so an outage is announced within an hour"))
            .suggest(f.span, fewer.to_string()),
        _ => {
            let span: Span = match (interval, fail_after) {
                (Some((i, true)), _) => i.span,
                (_, Some((f, _))) => f.span,
                (Some((i, _)), None) => i.span,
                (None, None) => return,
            };
            Diagnostic::new(Code::WatchLateIncident, span, message)
                .label("an outage is announced late")
                .help("check more often, or lower `fail_after`, so an outage is announced within an hour")
        }
    };
    out.push(d);
}

fn interval_ok(i: &Sp<Duration>) -> bool {
    (MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&i.value.millis)
}

/// The watcher's timeout when the spec gives none: 10 s, or half the interval when shorter
/// (`hearth-watch` applies the same rule).
fn default_timeout(interval_ms: Option<u64>) -> u64 {
    crate::model::Watch::default_timeout_ms(interval_ms.unwrap_or(DEFAULT_INTERVAL_MS))
}

/// A duration as the spec writes it: whole seconds, minutes, hours or days when it is one,
/// milliseconds otherwise.
fn text(ms: u64) -> String {
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// A duration in words for a message (`3h`, `1h30m`).
fn human(ms: u64) -> String {
    let minutes = ms / 60_000;
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_the_spec_writes_them() {
        let check = |ms: u64, expected: &str| assert_eq!(text(ms), expected, "{ms}");
        check(30_000, "30s");
        check(2_500, "2500ms");
        check(60_000, "1m");
        check(90_000, "90s");
        check(86_400_000, "1d");
        check(500, "500ms");
        assert_eq!(human(5_400_000), "1h30m");
        assert_eq!(human(7_200_000), "2h");
    }

    #[test]
    fn the_default_timeout_fits_the_interval() {
        assert_eq!(default_timeout(None), 10_000);
        assert_eq!(default_timeout(Some(30_000)), 10_000);
        assert_eq!(default_timeout(Some(5_000)), 2_500);
        assert_eq!(default_timeout(Some(1_000)), 500);
    }
}
