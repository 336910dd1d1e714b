//! The named formats the simulator checks, with the real validators' rules and messages
//! (`PVE::JSONSchema`, `PVE::Storage`, `PVE::QemuServer`, `PVE::LXC`). A format not listed here
//! is unknown to the simulator; the caller decides what that means.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The parts of a `-list` value: split on commas, semicolons, NULs and white space, empty parts
/// dropped (`PVE::Tools::split_list`).
pub(crate) fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ';', '\0', ' ', '\t', '\n']).filter(|s| !s.is_empty())
}

fn fail(msg: String) -> Option<Result<(), String>> {
    Some(Err(format!("{msg}\n")))
}

fn ok() -> Option<Result<(), String>> {
    Some(Ok(()))
}

fn check(cond: bool, msg: impl FnOnce() -> String) -> Option<Result<(), String>> {
    if cond { ok() } else { fail(msg()) }
}

/// `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?`
fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

fn is_dns_name(s: &str) -> bool {
    s.split('.').all(is_label)
}

/// `[a-z][a-z0-9\-\_\.]*[a-z0-9]`, case-insensitive: storage and similar IDs.
fn is_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphabetic()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_ipv4(s: &str) -> bool {
    s.parse::<Ipv4Addr>().is_ok()
}

fn is_ipv6(s: &str) -> bool {
    s.parse::<Ipv6Addr>().is_ok()
}

fn is_cidr(s: &str, v6: bool) -> bool {
    let Some((addr, len)) = s.split_once('/') else { return false };
    let Ok(len) = len.parse::<u8>() else { return false };
    if v6 { is_ipv6(addr) && (8..=128).contains(&len) } else { is_ipv4(addr) && (8..=32).contains(&len) }
}

/// `PVE::Storage::parse_volume_id`: `STORAGE:NAME`.
fn is_volume_id(s: &str) -> bool {
    s.split_once(':').is_some_and(|(store, name)| is_id(store) && !name.is_empty())
}

/// `PVE::JSONSchema::parse_size`: `\d+(\.\d+)?([KMGT](iB)?)?`.
pub(crate) fn is_size(s: &str) -> bool {
    super::propstr::parse_disk_size(s).is_some()
}

/// Checks a value against a named format: `None` when the simulator does not know the format.
pub(crate) fn verify(name: &str, v: &str) -> Option<Result<(), String>> {
    match name {
        "string" | "regex" => ok(),
        "pve-configid" => check(
            v.len() >= 2
                && v.as_bytes()[0].is_ascii_alphabetic()
                && v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'),
            || format!("invalid configuration ID '{v}'"),
        ),
        "pve-storage-id" => {
            if v.len() < 2 {
                return fail(format!("storage ID '{v}' cannot be shorter than 2 characters"));
            }
            check(is_id(v), || format!("storage ID '{v}' contains illegal characters"))
        }
        "pve-bridge-id" => {
            check(!v.is_empty() && v.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.')), || {
                format!("invalid bridge ID '{v}'")
            })
        }
        "pve-vmid" => {
            check((3..=9).contains(&v.len()) && v.bytes().all(|c| c.is_ascii_digit()) && !v.starts_with('0'), || {
                "value does not look like a valid VM ID".into()
            })
        }
        "pve-node" => check(is_label(v), || "value does not look like a valid node name".into()),
        "mac-addr" => {
            let b = v.as_bytes();
            let hex = |c: &u8| c.is_ascii_hexdigit();
            let shape = v.len() == 17
                && b.iter().enumerate().all(|(i, c)| if i % 3 == 2 { *c == b':' } else { hex(c) })
                && matches!(b[1].to_ascii_lowercase(), b'0' | b'2' | b'4' | b'6' | b'8' | b'a' | b'c' | b'e');
            check(shape, || "value does not look like a valid unicast MAC address".into())
        }
        "ipv4" => check(is_ipv4(v), || "value does not look like a valid IPv4 address".into()),
        "ipv6" => check(is_ipv6(v), || "value does not look like a valid IPv6 address".into()),
        "ip" => check(is_ipv4(v) || is_ipv6(v), || "value does not look like a valid IP address".into()),
        "CIDRv4" => check(is_cidr(v, false), || "value does not look like a valid IPv4 CIDR network".into()),
        "CIDRv6" => check(is_cidr(v, true), || "value does not look like a valid IPv6 CIDR network".into()),
        "CIDR" => {
            check(is_cidr(v, false) || is_cidr(v, true), || "value does not look like a valid CIDR network".into())
        }
        "IPorCIDR" => check(is_ipv4(v) || is_ipv6(v) || is_cidr(v, false) || is_cidr(v, true), || {
            "value does not look like a valid IP address or CIDR network".into()
        }),
        "pve-ipv4-config" => check(matches!(v, "dhcp" | "manual") || is_cidr(v, false), || {
            "value does not look like a valid ipv4 network configuration".into()
        }),
        "pve-ipv6-config" => check(matches!(v, "auto" | "dhcp" | "manual") || is_cidr(v, true), || {
            "value does not look like a valid ipv6 network configuration".into()
        }),
        "dns-name" => check(is_dns_name(v), || "value does not look like a valid DNS name".into()),
        "address" => check(is_ipv4(v) || is_ipv6(v) || is_dns_name(v), || {
            format!("value does not look like a valid address: {v}")
        }),
        "pve-iface" => {
            let name = v.split_once([':', '.']).map_or(v, |(n, _)| n);
            let suffix_ok =
                v.split_once([':', '.']).is_none_or(|(_, s)| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()));
            let b = name.as_bytes();
            check(
                (2..=21).contains(&b.len())
                    && b[0].is_ascii_alphabetic()
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    && suffix_ok,
                || format!("invalid network interface name '{v}'"),
            )
        }
        "disk-size" => check(is_size(v), || format!("value does not look like a valid disk size: {v}")),
        "pve-tag" => {
            let b = v.as_bytes();
            check(
                !b.is_empty()
                    && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'+' | b'.')),
                || "invalid characters in tag".into(),
            )
        }
        "urlencoded" => check(v.bytes().all(|c| c.is_ascii_alphanumeric() || b"-%_.!~*'()".contains(&c)), || {
            format!("invalid urlencoded string: {v}")
        }),
        "pve-volume-id" => check(is_volume_id(v), || format!("unable to parse volume ID '{v}'")),
        "pve-volume-id-or-qm-path" => {
            check(matches!(v, "none" | "cdrom") || v.starts_with('/') || is_volume_id(v), || {
                format!("unable to parse volume ID '{v}'")
            })
        }
        "pve-volume-id-or-absolute-path" => {
            check(v.starts_with('/') || is_volume_id(v), || format!("unable to parse volume ID '{v}'"))
        }
        "pve-lxc-mp-string" => check(
            !(v.contains("/../")
                || v.contains("/./")
                || v.ends_with("/..")
                || v.ends_with("/.")
                || v.starts_with("../")
                || v.starts_with("./")),
            || format!("mount point '{v}' contains illegal character sequences"),
        ),
        "pve-storage-content" => check(
            matches!(v, "images" | "rootdir" | "vztmpl" | "iso" | "backup" | "snippets" | "import" | "none"),
            || format!("invalid content type '{v}'"),
        ),
        "pve-userid" => check(
            v.split_once('@').is_some_and(|(user, realm)| !user.is_empty() && is_id(realm) && !user.contains(':')),
            || format!("value '{v}' does not look like a valid user name"),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, value: &str) -> Result<(), String> {
        verify(name, value).expect("known format")
    }

    #[test]
    fn formats_accept_and_refuse() {
        for (name, good, bad) in [
            ("pve-vmid", "101", "99"),
            ("pve-node", "pve-1", "-pve"),
            ("pve-storage-id", "local-lvm", "1local"),
            ("pve-configid", "net0", "0net"),
            ("ipv4", "10.0.0.1", "10.0.0.256"),
            ("CIDRv4", "10.0.0.1/24", "10.0.0.1/4"),
            ("mac-addr", "BC:24:11:00:00:01", "01:24:11:00:00:01"),
            ("dns-name", "db.lab.example", "db_.example"),
            ("disk-size", "8G", "8X"),
            ("pve-tag", "hearth", "hearth!"),
            ("pve-volume-id", "local:vztmpl/debian.tar.zst", "debian.tar.zst"),
            ("pve-bridge-id", "vmbr0", "vm br0"),
        ] {
            assert_eq!(check(name, good), Ok(()), "{name} {good}");
            assert!(check(name, bad).is_err(), "{name} {bad}");
        }
        assert_eq!(check("pve-vmid", "1"), Err("value does not look like a valid VM ID\n".into()));
        assert!(verify("pve-made-up", "x").is_none());
    }

    #[test]
    fn lists_split_like_split_list() {
        assert_eq!(split_list("a;b, c").collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}
