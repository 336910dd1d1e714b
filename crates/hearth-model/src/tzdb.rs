//! The names of the IANA tz database, vendored under `data/tzdb/` (public domain; regenerate with
//! `scripts/gen-tzdb.sh`), so the checker can refuse a timezone the machines would not know.
//!
//! Zones and links both count: `Asia/Calcutta` is as good a `TZ` as `Asia/Kolkata`.

/// One name a line, sorted bytewise.
const ZONES: &str = include_str!("../data/tzdb/zones.txt");

/// Every zone and link name, in bytewise order.
pub fn names() -> impl Iterator<Item = &'static str> + Clone {
    ZONES.lines().filter(|l| !l.is_empty())
}

/// Whether `name` is a zone or link of the tz database (case matters, as for `TZ`).
pub fn is_zone(name: &str) -> bool {
    names().any(|z| z == name)
}

/// The zone the operator most likely meant by a name that is not one: the same name in other
/// case (`europe/berlin`), with underscores for spaces (`America/New York`), a city alone
/// (`Berlin`), or the closest spelling of an `Area/City` name.
pub fn closest(name: &str) -> Option<&'static str> {
    let wanted = name.trim().replace(' ', "_");
    if let Some(z) = names().find(|z| z.eq_ignore_ascii_case(&wanted)) {
        return Some(z);
    }
    // `UTC+2` means two hours ahead, which the tz database (POSIX signs) calls `Etc/GMT-2`.
    if let Some(offset) = wanted.strip_prefix("UTC").or_else(|| wanted.strip_prefix("GMT")) {
        let inverted = match offset.split_at_checked(1) {
            Some(("+", h)) => format!("Etc/GMT-{}", h.trim_start_matches('0')),
            Some(("-", h)) => format!("Etc/GMT+{}", h.trim_start_matches('0')),
            _ => String::new(),
        };
        if let Some(z) = names().find(|z| *z == inverted) {
            return Some(z);
        }
    }
    if !wanted.contains('/') {
        let mut cities = names().filter(|z| {
            z.rsplit_once('/').is_some_and(|(area, city)| city.eq_ignore_ascii_case(&wanted) && area != "Etc")
        });
        if let (Some(z), None) = (cities.next(), cities.next()) {
            return Some(z);
        }
    }
    // Abbreviations (`PST`, `CEST`) are a letter or two from unrelated zones (`EST`, `CET`),
    // so only `Area/City` names get a spelling suggestion.
    wanted
        .contains('/')
        .then(|| hearth_spec::suggest::did_you_mean(&wanted, names().filter(|z| z.contains('/'))))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, valid: bool, closest_zone: Option<&str>) {
        assert_eq!(is_zone(name), valid, "{name}");
        if !valid {
            assert_eq!(closest(name), closest_zone, "{name}");
        }
    }

    #[test]
    fn zones() {
        assert!(names().count() > 500);
        assert!(names().zip(names().skip(1)).all(|(a, b)| a < b), "zones.txt is sorted and unique");
        check("UTC", true, None);
        check("Europe/Berlin", true, None);
        check("Asia/Calcutta", true, None);
        check("europe/berlin", false, Some("Europe/Berlin"));
        check("America/New York", false, Some("America/New_York"));
        check("Berlin", false, Some("Europe/Berlin"));
        check("Europe/Berlim", false, Some("Europe/Berlin"));
        check("Mars/Olympus_Mons", false, None);
        check("PST", false, None);
        check("UTC+2", false, Some("Etc/GMT-2"));
        check("GMT-05", false, Some("Etc/GMT+5"));
    }
}
