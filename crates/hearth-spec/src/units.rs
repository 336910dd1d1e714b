//! Sizes and durations, parsed with their units and printed back the way they were written.

use std::fmt;

use crate::decode::{Cx, Decode, string_schema};
use crate::diagnostic::{Code, Diagnostic};
use crate::yaml::Node;

/// A size in bytes. Remembers whether it was written with binary (`GiB`) or decimal (`GB`) units,
/// so messages and documents print it back in the user's own unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Size {
    pub bytes: u64,
    pub binary: bool,
}

const DECIMAL: [(&str, u64); 6] = [
    ("PB", 1_000_000_000_000_000),
    ("TB", 1_000_000_000_000),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("KB", 1_000),
    ("B", 1),
];
const BINARY: [(&str, u64); 6] =
    [("PiB", 1 << 50), ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)];

impl Size {
    pub const fn new(bytes: u64, binary: bool) -> Size {
        Size { bytes, binary }
    }

    pub fn gib(n: u64) -> Size {
        Size { bytes: n << 30, binary: true }
    }

    /// Parses `2GiB`, `500GB`, `1.5TB`, `512 MiB`, `1024B` or `0`. A bare number other than 0
    /// is refused: nobody means bytes when they write `memory: 8`.
    pub fn parse(text: &str) -> Result<Size, String> {
        let t = text.trim();
        let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let unit = unit.trim();
        if num.is_empty() {
            return Err("a size starts with a number".into());
        }
        let value: f64 = num.parse().map_err(|_| format!("`{num}` is not a number"))?;
        let (mult, binary) = match unit {
            "" if value == 0.0 => (1, false),
            "" => return Err("a size needs a unit".into()),
            "B" => (1, false),
            u => {
                if let Some(&(_, m)) = BINARY.iter().find(|(n, _)| n.eq_ignore_ascii_case(u)) {
                    (m, true)
                } else if let Some(&(_, m)) = DECIMAL.iter().find(|(n, _)| n.eq_ignore_ascii_case(u)) {
                    (m, false)
                } else if let Some(&(_, m)) =
                    BINARY.iter().find(|(n, _)| n[..1].eq_ignore_ascii_case(u) && u.len() == 1)
                {
                    // `2G` is read as binary, the way `free -g`, Proxmox and Docker read it.
                    (m, true)
                } else {
                    return Err(format!("unknown unit `{u}`"));
                }
            }
        };
        let bytes = value * mult as f64;
        if !bytes.is_finite() || bytes > u64::MAX as f64 {
            return Err("too large".into());
        }
        Ok(Size { bytes: bytes.round() as u64, binary })
    }

    /// The value in the given unit, e.g. `in_unit("GiB")`.
    pub fn as_f64(&self, unit: u64) -> f64 {
        self.bytes as f64 / unit as f64
    }

    /// Whole MiB, rounded up: what Proxmox takes for `memory`.
    pub fn mib(&self) -> u64 {
        self.bytes.div_ceil(1 << 20)
    }

    /// Whole GiB, rounded up: what Proxmox takes for disk sizes.
    pub fn gib_ceil(&self) -> u64 {
        self.bytes.div_ceil(1 << 30)
    }
}

impl std::ops::Add for Size {
    type Output = Size;

    /// Sum, keeping the unit family of the left side.
    fn add(self, other: Size) -> Size {
        Size { bytes: self.bytes.saturating_add(other.bytes), binary: self.binary }
    }
}

impl fmt::Display for Size {
    /// The largest unit of the written family in which the value is at least 1, with up to one
    /// decimal: `14GB`, `1.5TiB`, `512MiB`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table: &[(&str, u64)] = if self.binary { &BINARY } else { &DECIMAL };
        let &(name, mult) = table.iter().find(|(_, m)| self.bytes >= *m).unwrap_or(&table[table.len() - 1]);
        let v = self.bytes as f64 / mult as f64;
        if (v - v.round()).abs() < 0.05 { write!(f, "{}{name}", v.round() as u64) } else { write!(f, "{v:.1}{name}") }
    }
}

/// What a bare number most likely meant under `key`: the unit Proxmox gives that field.
/// Proxmox takes memory in MiB (`memory: 8192`), so a number from 256 up is MiB, while a small
/// one (`memory: 8`) is GiB, as is a disk or pool size. A number too large for either was bytes.
pub fn unit_for_bare_number(key: &str, number: &str) -> String {
    let value: f64 = number.parse().unwrap_or(0.0);
    let whole = number.parse::<u64>().ok();
    if value >= (1u64 << 20) as f64 {
        if let Some(bytes) = whole {
            let size = Size::new(bytes, true);
            // Only a unit that reads back as the same number of bytes.
            if Size::parse(&size.to_string()).is_ok_and(|s| s.bytes == bytes) {
                return size.to_string();
            }
        }
        return format!("{number}B");
    }
    if key == "memory" && value >= 256.0 { format!("{number}MiB") } else { format!("{number}GiB") }
}

/// Whether `text` is a number with no unit.
fn is_bare_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|c| c.is_ascii_digit() || c == b'.') && text.parse::<f64>().is_ok()
}

impl Decode for Size {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = cx.scalar(node, "a size like `2GiB` or `500GB`")?;
        let trimmed = text.trim();
        if is_bare_number(trimmed) && trimmed.parse::<f64>().is_ok_and(|v| v != 0.0) {
            let fixed = unit_for_bare_number(cx.key, trimmed);
            cx.push(
                Diagnostic::new(
                    Code::SizeWithoutUnit,
                    node.span,
                    format!("size {} has no unit", crate::decode::describe(node)),
                )
                .label("read alone, this would be a number of bytes")
                .help(format!("write `{fixed}`; a size takes a unit: `MiB`, `GiB`, `GB`, `TB`"))
                .suggest_part(node.span, trimmed, fixed),
            );
            return None;
        }
        match Size::parse(text) {
            Ok(s) => Some(s),
            Err(e) => {
                cx.invalid(
                    node,
                    format!("invalid size `{text}`: {e}"),
                    "write a number and a unit: `512MiB`, `2GiB`, `500GB`, `24TB`",
                );
                None
            }
        }
    }
}

impl schemars::JsonSchema for Size {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Size".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        string_schema(
            "A size: a number and a unit (KB MB GB TB, KiB MiB GiB TiB), e.g. `2GiB`; only 0 goes without one",
            Some(r"^\s*([0-9]+(\.[0-9]+)?\s*([KMGTP]i?B|[KMGTP]|B)|0)\s*$"),
        )
    }
}

impl serde::Serialize for Size {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A length of time, kept in milliseconds with the unit it was written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Duration {
    pub millis: u64,
    unit: DurationUnit,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
enum DurationUnit {
    Ms,
    #[default]
    S,
    M,
    H,
    D,
    W,
}

impl DurationUnit {
    fn millis(self) -> u64 {
        match self {
            DurationUnit::Ms => 1,
            DurationUnit::S => 1_000,
            DurationUnit::M => 60_000,
            DurationUnit::H => 3_600_000,
            DurationUnit::D => 86_400_000,
            DurationUnit::W => 604_800_000,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            DurationUnit::Ms => "ms",
            DurationUnit::S => "s",
            DurationUnit::M => "m",
            DurationUnit::H => "h",
            DurationUnit::D => "d",
            DurationUnit::W => "w",
        }
    }
}

impl Duration {
    pub fn seconds(n: u64) -> Duration {
        Duration { millis: n * 1000, unit: DurationUnit::S }
    }

    pub fn minutes(n: u64) -> Duration {
        Duration { millis: n * 60_000, unit: DurationUnit::M }
    }

    pub fn parse(text: &str) -> Result<Duration, String> {
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        if num.is_empty() {
            return Err("a duration starts with a whole number".into());
        }
        let n: u64 = num.parse().map_err(|_| format!("`{num}` is too large"))?;
        let unit = match unit.trim() {
            "ms" => DurationUnit::Ms,
            "s" => DurationUnit::S,
            "m" | "min" => DurationUnit::M,
            "h" => DurationUnit::H,
            "d" => DurationUnit::D,
            "w" => DurationUnit::W,
            "" => return Err("missing unit".into()),
            u => return Err(format!("unknown unit `{u}`")),
        };
        let millis = n.checked_mul(unit.millis()).ok_or("too long")?;
        Ok(Duration { millis, unit })
    }

    pub fn as_secs(&self) -> u64 {
        self.millis / 1000
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.millis / self.unit.millis(), self.unit.suffix())
    }
}

impl Decode for Duration {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = cx.scalar(node, "a duration like `30s` or `5m`")?;
        let trimmed = text.trim();
        if !trimmed.is_empty() && trimmed.bytes().all(|c| c.is_ascii_digit()) {
            // The unit the field is usually written in: days for a retention, minutes for an
            // alert's `for`, seconds for intervals and timeouts.
            let unit = match cx.key {
                "retention" => "d",
                "for" => "m",
                _ => "s",
            };
            let fixed = format!("{trimmed}{unit}");
            cx.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    node.span,
                    format!("duration {} has no unit", crate::decode::describe(node)),
                )
                .help(format!("write `{fixed}`; a duration takes a unit: `ms`, `s`, `m`, `h`, `d`, `w`"))
                .suggest_part(node.span, trimmed, fixed),
            );
            return None;
        }
        match Duration::parse(text) {
            Ok(d) => Some(d),
            Err(e) => {
                cx.invalid(
                    node,
                    format!("invalid duration `{text}`: {e}"),
                    "write a whole number and a unit: `500ms`, `30s`, `5m`, `2h`, `30d`, `1w`",
                );
                None
            }
        }
    }
}

impl schemars::JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        string_schema("A duration, e.g. `30s`, `5m`, `30d`", Some(r"^\s*[0-9]+\s*(ms|s|m|min|h|d|w)\s*$"))
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_size(input: &str, expected: Result<(u64, &str), &str>) {
        match (Size::parse(input), expected) {
            (Ok(s), Ok((bytes, shown))) => {
                assert_eq!(s.bytes, bytes, "{input}");
                assert_eq!(s.to_string(), shown, "{input}");
            }
            (Err(e), Err(msg)) => assert!(e.contains(msg), "{input}: {e}"),
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn sizes() {
        check_size("2GiB", Ok((2 << 30, "2GiB")));
        check_size("500GB", Ok((500_000_000_000, "500GB")));
        check_size("1.5TB", Ok((1_500_000_000_000, "1.5TB")));
        check_size("512 MiB", Ok((512 << 20, "512MiB")));
        check_size("4G", Ok((4 << 30, "4GiB")));
        check_size("1024B", Ok((1024, "1KB")));
        check_size("0", Ok((0, "0B")));
        check_size("1024", Err("needs a unit"));
        check_size("12 parsecs", Err("unknown unit"));
        check_size("GiB", Err("starts with a number"));
    }

    fn check_bare(key: &str, number: &str, expected: &str) {
        assert_eq!(unit_for_bare_number(key, number), expected, "{key}: {number}");
    }

    #[test]
    fn bare_numbers_get_the_unit_proxmox_gives_the_field() {
        check_bare("memory", "8", "8GiB");
        check_bare("memory", "1.5", "1.5GiB");
        check_bare("memory", "2048", "2048MiB");
        check_bare("disk", "32", "32GiB");
        check_bare("disk", "500", "500GiB");
        check_bare("size", "4000", "4000GiB");
        check_bare("memory", "8589934592", "8GiB");
        check_bare("disk", "1000000001", "1000000001B");
    }

    #[test]
    fn durations() {
        assert_eq!(Duration::parse("30s").unwrap().as_secs(), 30);
        assert_eq!(Duration::parse("5m").unwrap().to_string(), "5m");
        assert_eq!(Duration::parse("30d").unwrap().millis, 30 * 86_400_000);
        assert!(Duration::parse("5").unwrap_err().contains("missing unit"));
        assert!(Duration::parse("5y").unwrap_err().contains("unknown unit"));
    }
}
