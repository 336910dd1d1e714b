//! Names, guest ids and hostnames: valid DNS labels, each used once.

use std::collections::BTreeMap;

use hearth_spec::{Code, Diagnostic, Span, Spec};

use crate::model::Model;
use crate::origins::Origins;

fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !name.ends_with('-')
}

/// A valid name close to `name`: lowercase, `-` for anything else, no leading digit or `-`, no
/// doubled or trailing `-`, at most 63 characters (cut at a `-` when that keeps most of it), and
/// none of `taken`.
fn valid_form(name: &str, taken: &[&str]) -> String {
    let base = cleaned(name, true);
    if !taken.contains(&base.as_str()) {
        return base;
    }
    (2..)
        .map(|n| {
            let suffix = format!("-{n}");
            format!("{}{suffix}", shorten(&base, 63 - suffix.len()))
        })
        .find(|c| !taken.contains(&c.as_str()))
        .unwrap_or(base)
}

/// `name` lowercased, `-` for anything else, no doubled or edge `-`, at most 63 characters, and
/// starting with a letter when `letter_first` (names must; DNS labels need not).
fn cleaned(name: &str, letter_first: bool) -> String {
    let mut fixed = String::new();
    for c in name.chars().map(|c| c.to_ascii_lowercase()) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '-' };
        if c == '-' && (fixed.is_empty() || fixed.ends_with('-')) {
            continue;
        }
        if letter_first && fixed.is_empty() && c.is_ascii_digit() {
            fixed.push_str("n-");
        }
        fixed.push(c);
    }
    let base = shorten(fixed.trim_end_matches('-'), 63);
    if base.is_empty() { "name".to_string() } else { base }
}

/// `name` cut to at most `max` characters, at the last `-` if that keeps at least half of it.
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let cut = &name[..max];
    let cut = match cut.rfind('-') {
        Some(i) if i >= max / 2 => &cut[..i],
        _ => cut,
    };
    cut.trim_end_matches('-').to_string()
}

pub(super) fn names(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let sections: [(&str, Vec<(&str, Span)>); 4] = [
        ("guest", spec.guests.entries.iter().map(|e| (e.name.as_str(), e.key_span)).collect()),
        ("service", spec.services.entries.iter().map(|e| (e.name.as_str(), e.key_span)).collect()),
        ("host", spec.hosts.entries.iter().map(|e| (e.name.as_str(), e.key_span)).collect()),
        ("network", spec.networks.entries.iter().map(|e| (e.name.as_str(), e.key_span)).collect()),
    ];
    for (what, entries) in &sections {
        let taken: Vec<&str> = entries.iter().map(|(n, _)| *n).collect();
        for &(name, span) in entries {
            if valid_name(name) {
                continue;
            }
            let fixed = valid_form(name, &taken);
            let help = format!("rename it, e.g. to `{fixed}`, and every reference to it");
            let d = if name.len() > 63 {
                Diagnostic::new(
                    Code::NameTooLong,
                    span,
                    format!(
                        "{what} name `{}` has {} characters, more than the 63 a DNS label holds",
                        super::short(name),
                        name.len()
                    ),
                )
            } else {
                Diagnostic::new(
                    Code::InvalidValue,
                    span,
                    format!("`{}` is not a valid {what} name", super::short(name)),
                )
            };
            out.push(
                d.label(
                    "names become hostnames and DNS labels: lowercase letters, digits and `-`, starting with a letter",
                )
                .help(help),
            );
        }
    }
}

/// A DNS label as hostnames take it: letters, digits and `-`, not at either end, 1 to 63
/// characters. Unlike names, it may start with a digit (`3dprinter`) or hold capitals.
fn valid_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// Hostnames and exposed names: each dot-separated label a valid DNS label. Nothing refers to either,
/// so the help's name can be written in place as it is.
pub(super) fn labels(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let hostnames = spec
        .guests
        .entries
        .iter()
        .filter_map(|e| e.value.hostname.as_ref())
        .chain(spec.hosts.entries.iter().filter_map(|e| e.value.hostname.as_ref()))
        .map(|h| ("hostname", h));
    let exposed = spec
        .services
        .entries
        .iter()
        .flat_map(|e| e.value.expose.iter().flat_map(|x| x.0.iter()))
        .map(|x| ("exposed name", &x.name));
    for (what, value) in hostnames.chain(exposed) {
        let labels: Vec<&str> = value.value.split('.').collect();
        let Some(bad) = labels.iter().find(|l| !valid_label(l)) else { continue };
        // Values written as URLs are `values`' to report, with the bare name.
        if value.value.contains(['/', ':']) {
            continue;
        }
        let fixed: Vec<String> = labels
            .iter()
            .filter(|l| !l.is_empty())
            .map(|l| if valid_label(l) { (*l).to_string() } else { cleaned(l, false) })
            .collect();
        let fixed = fixed.join(".");
        let d = if bad.len() > 63 {
            Diagnostic::new(
                Code::NameTooLong,
                value.span,
                format!(
                    "{what} `{}` has a label of {} characters, more than the 63 DNS allows",
                    super::short(&value.value),
                    bad.len()
                ),
            )
        } else {
            Diagnostic::new(
                Code::InvalidValue,
                value.span,
                format!("{what} `{}` is not a valid DNS name", super::short(&value.value)),
            )
        };
        out.push(
            d.label("each label: letters, digits and `-`, not at either end, at most 63 characters")
                .help(format!("write `{fixed}`"))
                .suggest_part(value.span, value.value.as_str(), fixed),
        );
    }
}

pub(super) fn ids_and_hostnames(spec: &Spec, model: &Model, origins: &Origins, out: &mut Vec<Diagnostic>) {
    let mut by_id: BTreeMap<u32, (&str, Span)> = BTreeMap::new();
    // In file order (across includes, in load order), so "first use" is the one read first.
    let mut ids: Vec<(&String, &Span)> = origins.guest_ids.iter().collect();
    ids.sort_by_key(|(_, span)| **span);
    for (name, span) in ids {
        let Some(g) = model.guests.get(name) else { continue };
        if g.id > 999_999_999 {
            out.push(
                Diagnostic::new(Code::InvalidValue, *span, format!("id {} of guest `{name}` is above 999999999", g.id))
                    .help("Proxmox ids run from 100 to 999999999; use one in that range, or leave `id:` out to have one allocated"),
            );
        }
        if g.id < 100 {
            out.push(
                Diagnostic::new(Code::InvalidValue, *span, format!("id {} of guest `{name}` is below 100", g.id))
                    .help("Proxmox reserves ids below 100; use 100 or more"),
            );
        }
        if let Some((other, other_span)) = by_id.get(&g.id) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateVmId,
                    *span,
                    format!("id {} is used by guest `{name}` and guest `{other}`", g.id),
                )
                .label("second use")
                .with(*other_span, "first use")
                .help("give each guest its own id, or leave `id:` out to have one allocated"),
            );
        } else {
            by_id.insert(g.id, (name, *span));
        }
    }
    let mut by_hostname: BTreeMap<String, (String, Span)> = BTreeMap::new();
    let guest_spans =
        spec.guests.entries.iter().map(|e| (e.name.as_str(), e.value.hostname.as_ref().map_or(e.key_span, |h| h.span)));
    let host_spans =
        spec.hosts.entries.iter().map(|e| (e.name.as_str(), e.value.hostname.as_ref().map_or(e.key_span, |h| h.span)));
    let mut named: Vec<(&str, Span)> = guest_spans.chain(host_spans).collect();
    named.sort_by_key(|(_, span)| *span);
    for (name, span) in named {
        let hostname = model
            .guests
            .get(name)
            .map(|g| g.hostname.clone())
            .or_else(|| {
                spec.hosts.get(name).map(|h| h.hostname.as_ref().map_or_else(|| name.to_string(), |x| x.value.clone()))
            })
            .unwrap_or_else(|| name.to_string())
            .to_ascii_lowercase();
        if let Some((other, other_span)) = by_hostname.get(&hostname) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateHostname,
                    span,
                    format!("hostname `{hostname}` is used by `{name}` and `{other}`"),
                )
                .with(*other_span, "first use")
                .help("set a distinct `hostname:`"),
            );
        } else {
            by_hostname.insert(hostname, (name.to_string(), span));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, taken: &[&str], expected: &str) {
        let fixed = valid_form(name, taken);
        assert_eq!(fixed, expected, "{name}");
        assert!(valid_name(&fixed), "{name}: `{fixed}` is not valid");
    }

    #[test]
    fn valid_forms() {
        check("Media_Server", &[], "media-server");
        check("1password", &[], "n-1password");
        check("--odd--name--", &[], "odd-name");
        let long = "the-very-long-name-of-the-docker-virtual-machine-that-runs-our-media-apps";
        check(long, &[], "the-very-long-name-of-the-docker-virtual-machine-that-runs-our");
        check(&"a".repeat(70), &[], &"a".repeat(63));
        check("Web", &["web"], "web-2");
        check("_", &[], "name");
        assert_eq!(cleaned("3D_Printer", false), "3d-printer");
        assert!(
            valid_label("3dprinter") && valid_label("NAS") && !valid_label("my_nas") && !valid_label(&"a".repeat(64))
        );
    }
}
