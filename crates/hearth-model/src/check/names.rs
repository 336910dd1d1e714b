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

pub(super) fn names(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let sections: [(&str, Vec<(&str, Span)>); 4] = [
        ("guest", spec.guests.entries.iter().map(|e| (e.name.as_str(), e.key_span)).collect()),
        ("service", spec.services.entries.iter().map(|e| (e.name.as_str(), e.key_span)).collect()),
        ("host", spec.hosts.entries.iter().map(|e| (e.name.as_str(), e.key_span)).collect()),
        ("network", spec.networks.entries.iter().map(|e| (e.name.as_str(), e.key_span)).collect()),
    ];
    for (what, entries) in sections {
        for (name, span) in entries {
            if !valid_name(name) {
                let fixed: String = name
                    .to_ascii_lowercase()
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .collect();
                out.push(
                    Diagnostic::new(Code::InvalidValue, span, format!("`{name}` is not a valid {what} name"))
                        .label("names become hostnames and DNS labels")
                        .help(format!(
                            "use lowercase letters, digits and `-`, starting with a letter, e.g. `{}`",
                            fixed.trim_matches('-')
                        )),
                );
            }
        }
    }
}

pub(super) fn ids_and_hostnames(spec: &Spec, model: &Model, origins: &Origins, out: &mut Vec<Diagnostic>) {
    let mut by_id: BTreeMap<u32, (&str, Span)> = BTreeMap::new();
    // In file order (across includes, in load order), so "first use" is the one read first.
    let mut ids: Vec<(&String, &Span)> = origins.guest_ids.iter().collect();
    ids.sort_by_key(|(_, span)| **span);
    for (name, span) in ids {
        let Some(g) = model.guests.get(name) else { continue };
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
