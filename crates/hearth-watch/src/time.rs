//! UTC timestamps without a date crate: RFC 3339 text to and from milliseconds since the
//! epoch (for the API, the page and alert messages), durations as people write them, and
//! maintenance windows (`2026-11-29T22:00Z/2h` or `START/END`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::track::Millis;

/// The wall clock now.
pub fn now() -> Millis {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as Millis)
}

/// `2026-11-29T10:05:00Z`
pub fn rfc3339(at: Millis) -> String {
    let secs = at.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// Parses `YYYY-MM-DDTHH:MM[:SS]Z` (UTC only: a window in local time would shift with DST).
pub fn parse_rfc3339(text: &str) -> Option<Millis> {
    let text = text.strip_suffix('Z').or_else(|| text.strip_suffix('z'))?;
    let (date, clock) = text.split_once(['T', 't', ' '])?;
    let mut d = date.split('-');
    let (y, m, day): (i64, i64, i64) = (d.next()?.parse().ok()?, d.next()?.parse().ok()?, d.next()?.parse().ok()?);
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut c = clock.split(':');
    let (h, min): (i64, i64) = (c.next()?.parse().ok()?, c.next()?.parse().ok()?);
    let s: i64 = match c.next() {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    if c.next().is_some() || h > 23 || min > 59 || s > 60 || h < 0 || min < 0 || s < 0 {
        return None;
    }
    let days = days_from_civil(y, m, day);
    if civil_from_days(days) != (y, m, day) {
        return None;
    }
    Some((days * 86_400 + h * 3600 + min * 60 + s) * 1000)
}

/// `30s`, `5m`, `2h`, `1d`, `500ms`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let n: u64 = n.parse().ok()?;
    let ms = match unit {
        "ms" => n,
        "s" => n.checked_mul(1000)?,
        "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        "d" => n.checked_mul(86_400_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(ms))
}

/// A duration as a person reads it: `42s`, `5m`, `3h 5m`, `12d`.
pub fn human(ms: Millis) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 if s % 3600 / 60 == 0 => format!("{}h", s / 3600),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d", s / 86_400),
    }
}

/// A span of time during which incidents are recorded but not announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Millis,
    pub end: Millis,
}

impl Window {
    /// `START/END` or `START/DURATION`, START and END in UTC (`2026-11-29T22:00Z/2h`).
    pub fn parse(text: &str) -> Result<Window, String> {
        let (start, rest) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not `START/END` or `START/DURATION` (e.g. `2026-11-29T22:00Z/2h`)"))?;
        let start =
            parse_rfc3339(start).ok_or_else(|| format!("`{start}` is not a UTC time such as `2026-11-29T22:00Z`"))?;
        let end = match parse_duration(rest) {
            Some(d) => start + d.as_millis() as Millis,
            None => parse_rfc3339(rest).ok_or_else(|| {
                format!("`{rest}` is neither a duration (`2h`) nor a UTC time such as `2026-11-29T23:00Z`")
            })?,
        };
        if end <= start {
            return Err(format!("the window `{text}` ends before it starts"));
        }
        Ok(Window { start, end })
    }

    pub fn covers(&self, at: Millis) -> bool {
        (self.start..self.end).contains(&at)
    }
}

/// Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        let check = |text: &str, expected: Option<&str>| {
            assert_eq!(parse_rfc3339(text).map(rfc3339).as_deref(), expected, "{text}");
        };
        check("1970-01-01T00:00:00Z", Some("1970-01-01T00:00:00Z"));
        check("2026-11-29T10:05Z", Some("2026-11-29T10:05:00Z"));
        check("2024-02-29T23:59:59Z", Some("2024-02-29T23:59:59Z"));
        check("2023-02-29T00:00Z", None);
        check("2026-11-29T10:05", None);
        check("2026-13-01T00:00Z", None);
        check("2026-11-29T24:00Z", None);
        check("tomorrow", None);
    }

    #[test]
    fn windows_parse_with_an_end_or_a_duration() {
        let check = |text: &str, expected: Result<(&str, &str), &str>| {
            let got = Window::parse(text).map(|w| (rfc3339(w.start), rfc3339(w.end)));
            let expected = expected.map(|(a, b)| (a.to_string(), b.to_string())).map_err(str::to_string);
            assert_eq!(got, expected, "{text}");
        };
        check("2026-11-29T22:00Z/2h", Ok(("2026-11-29T22:00:00Z", "2026-11-30T00:00:00Z")));
        check("2026-11-29T22:00Z/2026-11-29T22:30Z", Ok(("2026-11-29T22:00:00Z", "2026-11-29T22:30:00Z")));
        check("2026-11-29T22:00Z/0s", Err("the window `2026-11-29T22:00Z/0s` ends before it starts"));
        check(
            "2026-11-29T22:00Z",
            Err("`2026-11-29T22:00Z` is not `START/END` or `START/DURATION` (e.g. `2026-11-29T22:00Z/2h`)"),
        );
        check("x/2h", Err("`x` is not a UTC time such as `2026-11-29T22:00Z`"));
        check(
            "2026-11-29T22:00Z/soon",
            Err("`soon` is neither a duration (`2h`) nor a UTC time such as `2026-11-29T23:00Z`"),
        );
    }

    #[test]
    fn durations_read_and_print_as_people_write_them() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("2"), None);
        assert_eq!(parse_duration("h"), None);
        let shown: Vec<String> = [0, 59_000, 60_000, 3_600_000, 3_900_000, 90_000_000].map(human).to_vec();
        assert_eq!(shown, ["0s", "59s", "1m", "1h", "1h 5m", "1d"]);
    }
}
