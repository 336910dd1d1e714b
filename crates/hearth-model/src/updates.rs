//! Unattended upgrades of each machine (`updates:`): which updates it installs on its own and
//! when it may reboot for them, with the system that decides how they are rendered.

use hearth_spec::ast::UpdateScope;
use serde::Serialize;

/// The update policy of one machine: its own `updates:` over the top-level one, key by key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub system: System,
    pub install: UpdateScope,
    /// The time of day (`04:00`) it reboots at when an update needs it; `None`: never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reboot: Option<String>,
}

/// The update machinery a machine's system has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum System {
    Debian,
    Ubuntu,
    /// Debian with Proxmox VE's repositories, whose packages are never upgraded unattended.
    Proxmox,
    Nixos,
}

/// The system of an OS label (`debian-12`, `ubuntu-24.04`, `nixos`), or `None` for one Hearth
/// does not update (appliances, Windows, other systems).
pub fn system_of(os: &str) -> Option<System> {
    let family = os.split(['-', ' ']).next().unwrap_or(os).to_ascii_lowercase();
    match family.as_str() {
        "debian" => Some(System::Debian),
        "ubuntu" => Some(System::Ubuntu),
        "nixos" => Some(System::Nixos),
        _ => None,
    }
}

/// A `reboot:` value: `Ok(None)` for `never`, `Ok(Some("HH:MM"))` for a time of day, else why not.
pub fn parse_reboot(text: &str) -> Result<Option<String>, String> {
    let t = text.trim();
    if t == "never" {
        return Ok(None);
    }
    match hearth_spec::schedule::Schedule::parse(t) {
        Ok(hearth_spec::schedule::Schedule::Daily { hour, minute }) if t.contains(':') => {
            Ok(Some(format!("{hour:02}:{minute:02}")))
        }
        _ => Err(format!("`{t}` is neither `never` nor a time of day like `04:00`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<Option<&str>, ()>) {
        assert_eq!(
            parse_reboot(text).map(|r| r.map(|s| s.to_string())).map_err(|_| ()),
            expected.map(|r| r.map(str::to_string)),
            "{text}"
        );
    }

    #[test]
    fn reboot_values() {
        check("never", Ok(None));
        check("04:00", Ok(Some("04:00")));
        check("4:05", Ok(Some("04:05")));
        check("Sun 04:00", Err(()));
        check("daily", Err(()));
        check("25:00", Err(()));
    }

    #[test]
    fn systems() {
        assert_eq!(system_of("debian-12"), Some(System::Debian));
        assert_eq!(system_of("ubuntu-24.04"), Some(System::Ubuntu));
        assert_eq!(system_of("nixos"), Some(System::Nixos));
        assert_eq!(system_of("haos"), None);
        assert_eq!(system_of("windows-11"), None);
    }
}
