//! Schedules for backups and jobs: `daily`, `02:00`, `Sun 03:00` or a 5-field cron line.

use std::fmt;

use crate::decode::{Cx, Decode, string_schema};
use crate::yaml::Node;

/// When something runs. Renders to systemd `OnCalendar=` and to cron.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Schedule {
    Hourly,
    /// Every day at hour:minute.
    Daily {
        hour: u8,
        minute: u8,
    },
    /// Every week on a day (0 = Monday) at hour:minute.
    Weekly {
        day: u8,
        hour: u8,
        minute: u8,
    },
    /// The first of every month at hour:minute.
    Monthly {
        hour: u8,
        minute: u8,
    },
    /// A validated 5-field cron line.
    Cron(String),
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn hhmm(text: &str) -> Result<(u8, u8), String> {
    let (h, m) = text.split_once(':').ok_or_else(|| format!("`{text}` is not a time like `02:00`"))?;
    let hour: u8 = h.parse().map_err(|_| format!("`{h}` is not an hour"))?;
    let minute: u8 = m.parse().map_err(|_| format!("`{m}` is not a minute"))?;
    if hour > 23 || minute > 59 || m.len() != 2 {
        return Err(format!("`{text}` is not a time of day (00:00 to 23:59)"));
    }
    Ok((hour, minute))
}

fn cron_field(field: &str, min: u32, max: u32) -> bool {
    field.split(',').all(|part| {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        let step_ok = step.is_none_or(|s| s.parse::<u32>().is_ok_and(|n| n > 0));
        let range_ok = range == "*"
            || match range.split_once('-') {
                Some((a, b)) => {
                    matches!((a.parse::<u32>(), b.parse::<u32>()), (Ok(a), Ok(b)) if min <= a && a <= b && b <= max)
                }
                None => range.parse::<u32>().is_ok_and(|n| (min..=max).contains(&n)),
            };
        step_ok && range_ok
    })
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let t = text.trim();
        match t {
            "hourly" => return Ok(Schedule::Hourly),
            "daily" => return Ok(Schedule::Daily { hour: 0, minute: 0 }),
            "weekly" => return Ok(Schedule::Weekly { day: 6, hour: 0, minute: 0 }),
            "monthly" => return Ok(Schedule::Monthly { hour: 0, minute: 0 }),
            _ => {}
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        match words.as_slice() {
            [time] if time.contains(':') => {
                let (hour, minute) = hhmm(time)?;
                Ok(Schedule::Daily { hour, minute })
            }
            [day, time] => {
                let d = DAYS
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(&day[..day.len().min(3)]) && day.len() >= 3)
                    .ok_or_else(|| format!("`{day}` is not a day of the week"))?;
                let (hour, minute) = hhmm(time)?;
                Ok(Schedule::Weekly { day: d as u8, hour, minute })
            }
            [m, h, dom, mon, dow] => {
                let ok = cron_field(m, 0, 59)
                    && cron_field(h, 0, 23)
                    && cron_field(dom, 1, 31)
                    && cron_field(mon, 1, 12)
                    && cron_field(dow, 0, 7);
                if ok { Ok(Schedule::Cron(words.join(" "))) } else { Err(format!("`{t}` is not a valid cron line")) }
            }
            _ => Err(format!("`{t}` is not a schedule")),
        }
    }

    /// systemd `OnCalendar=` form.
    pub fn on_calendar(&self) -> String {
        match self {
            Schedule::Hourly => "hourly".into(),
            Schedule::Daily { hour, minute } => format!("*-*-* {hour:02}:{minute:02}:00"),
            Schedule::Weekly { day, hour, minute } => {
                format!("{} *-*-* {hour:02}:{minute:02}:00", DAYS[*day as usize])
            }
            Schedule::Monthly { hour, minute } => format!("*-*-01 {hour:02}:{minute:02}:00"),
            Schedule::Cron(line) => cron_to_calendar(line),
        }
    }

    /// The longest time between two runs, in seconds. For a cron line it is an upper bound: the
    /// period of the coarsest field it restricts (a month, a week, a day, an hour), so a staleness
    /// alert built on it never fires between two on-time runs.
    pub fn max_interval_seconds(&self) -> u64 {
        const HOUR: u64 = 3600;
        const DAY: u64 = 24 * HOUR;
        match self {
            Schedule::Hourly => HOUR,
            Schedule::Daily { .. } => DAY,
            Schedule::Weekly { .. } => 7 * DAY,
            Schedule::Monthly { .. } => 31 * DAY,
            Schedule::Cron(line) => {
                let f: Vec<&str> = line.split_whitespace().collect();
                let restricted = |i: usize| f.get(i).is_some_and(|v| *v != "*");
                if restricted(3) {
                    366 * DAY
                } else if restricted(2) {
                    31 * DAY
                } else if restricted(4) {
                    7 * DAY
                } else if restricted(1) {
                    DAY
                } else {
                    HOUR
                }
            }
        }
    }

    /// Five-field cron form.
    pub fn cron(&self) -> String {
        match self {
            Schedule::Hourly => "0 * * * *".into(),
            Schedule::Daily { hour, minute } => format!("{minute} {hour} * * *"),
            Schedule::Weekly { day, hour, minute } => format!("{minute} {hour} * * {}", (day + 1) % 7),
            Schedule::Monthly { hour, minute } => format!("{minute} {hour} 1 * *"),
            Schedule::Cron(line) => line.clone(),
        }
    }
}

/// A best-effort translation of simple cron lines (numbers, `*`, lists) to `OnCalendar=`.
fn cron_to_calendar(line: &str) -> String {
    let f: Vec<&str> = line.split_whitespace().collect();
    // systemd wants two-digit hours and minutes; lists, ranges and steps pass through.
    let conv = |s: &str| s.parse::<u32>().map_or_else(|_| s.to_string(), |n| format!("{n:02}"));
    let dow = if f[4] == "*" {
        String::new()
    } else {
        let days: Vec<&str> =
            f[4].split(',').filter_map(|d| d.parse::<usize>().ok().map(|n| DAYS[(n + 6) % 7])).collect();
        format!("{} ", days.join(","))
    };
    format!("{dow}*-{}-{} {}:{}:00", conv(f[3]), conv(f[2]), conv(f[1]), conv(f[0]))
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Hourly => f.write_str("hourly"),
            Schedule::Daily { hour, minute } => write!(f, "{hour:02}:{minute:02}"),
            Schedule::Weekly { day, hour, minute } => write!(f, "{} {hour:02}:{minute:02}", DAYS[*day as usize]),
            Schedule::Monthly { hour, minute } => write!(f, "monthly {hour:02}:{minute:02}"),
            Schedule::Cron(line) => f.write_str(line),
        }
    }
}

impl Decode for Schedule {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = cx.scalar(node, "a schedule like `02:00` or `Sun 03:00`")?;
        match Schedule::parse(text) {
            Ok(s) => Some(s),
            Err(e) => {
                cx.invalid(
                    node,
                    format!("invalid schedule: {e}"),
                    "write `hourly`, `daily`, `weekly`, `monthly`, `02:00`, `Sun 03:00` or a cron line `0 2 * * *`",
                );
                None
            }
        }
    }
}

impl schemars::JsonSchema for Schedule {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Schedule".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        string_schema("`hourly`, `daily`, `weekly`, `monthly`, `HH:MM`, `Day HH:MM` or a 5-field cron line", None)
    }
}

impl serde::Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::Schedule;

    fn check(input: &str, expected: Result<&str, &str>) {
        match (Schedule::parse(input), expected) {
            (Ok(s), Ok(cal)) => assert_eq!(s.on_calendar(), cal, "{input}"),
            (Err(e), Err(msg)) => assert!(e.contains(msg), "{input}: {e}"),
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn schedules() {
        check("02:00", Ok("*-*-* 02:00:00"));
        check("Sun 03:30", Ok("Sun *-*-* 03:30:00"));
        check("daily", Ok("*-*-* 00:00:00"));
        check("hourly", Ok("hourly"));
        check("0 4 * * 1", Ok("Mon *-*-* 04:00:00"));
        check("25:00", Err("not a time of day"));
        check("Funday 02:00", Err("not a day"));
        check("0 4 * * 9", Err("not a valid cron"));
        check("sometimes", Err("not a schedule"));
    }

    #[test]
    fn intervals() {
        let check = |input: &str, hours: u64| {
            assert_eq!(Schedule::parse(input).unwrap().max_interval_seconds(), hours * 3600, "{input}");
        };
        check("hourly", 1);
        check("02:00", 24);
        check("Sun 03:00", 7 * 24);
        check("monthly", 31 * 24);
        check("0 4 * * 1", 7 * 24);
        check("0 4 1 * *", 31 * 24);
        check("*/15 * * * *", 1);
        check("0 */6 * * *", 24);
    }
}
