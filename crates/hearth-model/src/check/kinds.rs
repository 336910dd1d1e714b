//! References to the wrong kind of thing: a name that exists, or a key that decodes, but that the
//! field cannot use. `via:` a service that is no VPN or runs on another machine, a healthcheck
//! on a port the service lacks, `database:` on a Redis connection, snapshots of a pool that is not ZFS, an exposure through a
//! tunnel or VPN nobody configured, a PBS server naming nothing, a DNS server Hearth writes no
//! records for. Each of these used to be accepted and then silently ignored or rendered wrong.

use std::net::IpAddr;

use hearth_catalog::{Catalog, Provides};
use hearth_spec::ast::{Access, PoolKind};
use hearth_spec::{Code, Diagnostic, Sp, Spec};

use crate::diagnostics::unknown_reference;
use crate::model::Model;

pub(super) fn kinds(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    via(spec, catalog, out);
    via_elsewhere(spec, model, out);
    healthcheck_ports(spec, model, out);
    use_keys(spec, model, out);
    snapshot_pools(spec, out);
    exposure_paths(spec, out);
    pbs_servers(spec, catalog, out);
    dns_server(spec, catalog, out);
}

/// The catalog app a declared service runs, if it names one the catalog has.
fn app_of<'c>(spec: &Spec, catalog: &'c Catalog, service: &str) -> Option<&'c hearth_catalog::App> {
    spec.services.get(service).and_then(|s| s.app.as_ref()).and_then(|a| catalog.get(&a.value))
}

/// What a service runs, for messages: `app \`x\`` or `image \`y\``.
fn runs(spec: &Spec, service: &str) -> String {
    let s = spec.services.get(service);
    match (s.and_then(|s| s.app.as_ref()), s.and_then(|s| s.image.as_ref())) {
        (Some(a), _) => format!("app `{}`", a.value),
        (None, Some(i)) => format!("image `{}`", i.value),
        _ => "no app".to_string(),
    }
}

/// The declared services whose app provides one of `kinds`, in spec order.
fn providers<'s>(spec: &'s Spec, catalog: &Catalog, kinds: &[Provides]) -> Vec<&'s str> {
    spec.services
        .names()
        .filter(|n| app_of(spec, catalog, n).is_some_and(|a| kinds.iter().any(|k| a.provides(*k))))
        .collect()
}

/// A `WrongKind` diagnostic at `r` with `help`; when exactly one service fits, it carries the
/// edit that names it.
fn wrong_kind(r: &Sp<String>, message: String, help: String, fits: &[&str]) -> Diagnostic {
    let d = Diagnostic::new(Code::WrongKind, r.span, message).help(help);
    match fits {
        [only] => d.suggest_part(r.span, r.value.as_str(), *only),
        _ => d,
    }
}

/// `via:` joins another container's network: it means something only for a VPN client or VPN
/// gateway. Via anything else the service would lose its own network for no reason.
fn via(spec: &Spec, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    const VPN: &[Provides] = &[Provides::Vpn, Provides::VpnGateway];
    for e in &spec.services.entries {
        let Some(v) = &e.value.via else { continue };
        // An unknown service is reported by `references`; an image's kind is unknown.
        let Some(app) = app_of(spec, catalog, &v.value) else { continue };
        if VPN.iter().any(|k| app.provides(*k)) {
            continue;
        }
        let fits = providers(spec, catalog, VPN);
        let named = if fits.is_empty() {
            "a service running `gluetun`, `wireguard`, `tailscale` or `netbird`".to_string()
        } else {
            fits.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(" or ")
        };
        out.push(
            wrong_kind(
                v,
                format!("`via: {}` names a service that is no VPN: it runs app `{}`", v.value, app.name.value),
                format!("`via:` sends the service's traffic through a VPN; point it at {named}, or remove `via:`"),
                &fits,
            )
            .label("this service's network would be this app's"),
        );
    }
}

/// `via:` shares a container's network, so both run on one machine: from another machine the
/// rendered `network_mode` would name a container that is not there.
fn via_elsewhere(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let Some(v) = &e.value.via else { continue };
        let (Some(s), Some(vpn)) = (model.services.get(&e.name), model.services.get(&v.value)) else { continue };
        if s.on == vpn.on {
            continue;
        }
        let (here, there) = (s.on.name(), vpn.on.name());
        let mut d = Diagnostic::new(
            Code::ViaElsewhere,
            v.span,
            format!("`{}` runs on `{here}` but its `via: {}` runs on `{there}`", e.name, v.value),
        )
        .label("a container joins the network of a container on its own machine")
        .help(format!("place `{}` on `{there}` beside `{}`, or run a VPN service on `{here}`", e.name, v.value));
        if !matches!(vpn.on, crate::model::Placement::Cluster(_)) {
            d = d
                .help(format!(
                    "place `{}` on `{there}` beside `{}` (`on: {there}`), or run a VPN service on `{here}`",
                    e.name, v.value
                ))
                .suggest_part(e.value.on.span, here, there);
        }
        out.push(d);
    }
}

/// A healthcheck naming a port by name must name one of the service's ports; a number is a
/// port inside the container and always fine.
fn healthcheck_ports(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let (Some(h), Some(s)) = (&e.value.healthcheck, model.services.get(&e.name)) else { continue };
        let ports: Vec<&str> = s.ports.iter().map(|p| p.name.as_str()).collect();
        for port in [h.http.as_ref().map(|h| &h.port), h.tcp.as_ref()].into_iter().flatten() {
            if port.value.parse::<u16>().is_ok() || ports.contains(&port.value.as_str()) {
                continue;
            }
            let mut d = unknown_reference(port.span, "port", &port.value, &ports)
                .label(format!("`{}` has no port of this name", e.name));
            match ports.as_slice() {
                [] => d = d.help("give the port as a number, e.g. `{ tcp: 8080 }`, or declare it under `ports:`"),
                [only] if d.suggestion.is_none() => {
                    d = d.help(format!("the only port of `{}` is `{only}`", e.name)).suggest_part(
                        port.span,
                        port.value.as_str(),
                        *only,
                    );
                }
                _ => {}
            }
            out.push(d);
        }
    }
}

/// `uses:` keys the target's kind has no use for: a Redis server has numbered databases
/// (`db:`), SQL servers and MongoDB have named ones (`database:`, `user:`), an object store has
/// buckets. The resolver ignores the others, so the operator's intent would be lost.
fn use_keys(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let Some(s) = model.services.get(&e.name) else { continue };
        for u in &e.value.uses {
            let Some(record) = s.uses.iter().find(|r| r.service == u.service.value) else { continue };
            let kind = record.kind.as_str();
            let (fits, what): (&[&str], &str) = match kind {
                "redis" => (&["db"], "a Redis server has numbered databases"),
                "postgres" | "mysql" | "mongodb" => (&["database", "user"], "its databases have names"),
                "s3" => (&["bucket"], "an object store has buckets"),
                _ => (&[], "it is no database"),
            };
            let written = [
                ("database", u.database.as_ref().map(|d| d.span)),
                ("user", u.user.as_ref().map(|d| d.span)),
                ("db", u.db.as_ref().map(|d| d.span)),
                ("bucket", u.bucket.as_ref().map(|d| d.span)),
            ];
            for (key, span) in written {
                let Some(value) = span else { continue };
                if fits.contains(&key) {
                    continue;
                }
                let key_span = u.spans.key(key).unwrap_or(value);
                let target = &u.service.value;
                let mut d = Diagnostic::new(
                    Code::IgnoredUseKey,
                    key_span,
                    format!("`{key}:` means nothing to `{target}` ({kind}): {what}"),
                )
                .label("Hearth would ignore this");
                d = match (kind, record.db) {
                    // `db:` is there already: this key only has to go.
                    ("redis", Some(_)) if u.db.is_some() => {
                        d.help(format!("remove `{key}:`")).suggest_removal(key_span.to(value))
                    }
                    ("redis", Some(n)) => d
                        .help(format!("write `db: {n}` (the number Hearth gives `{}`), or leave it out", e.name))
                        .suggest(key_span.to(value), format!("db: {n}")),
                    ("postgres" | "mysql" | "mongodb", _) => {
                        d.help("name the database with `database:` (and its user with `user:`)")
                    }
                    ("s3", _) => d.help("name the bucket with `bucket:`"),
                    _ => d.help(format!("remove `{key}:`")),
                };
                out.push(d);
            }
        }
    }
}

/// The pools named `pool` on any host, with the host's name.
fn pools<'s>(spec: &'s Spec, pool: &str) -> Vec<(&'s str, &'s hearth_spec::ast::Pool)> {
    spec.hosts.iter().filter_map(|(h, host)| host.storage.get(pool).map(|p| (h, p))).collect()
}

/// Every ZFS pool name, for suggestions.
fn zfs_pools(spec: &Spec) -> Vec<&str> {
    let mut names: Vec<&str> = spec
        .hosts
        .iter()
        .flat_map(|(_, h)| h.storage.iter().filter(|(_, p)| p.kind == PoolKind::Zfs).map(|(n, _)| n))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// ZFS snapshots and replication work only on ZFS pools: on anything else the timers would fail
/// every run, and the data would look covered (no W504) while it is not.
fn snapshot_pools(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let Some(b) = &spec.backups else { return };
    let datasets = b
        .snapshots
        .iter()
        .map(|s| ("snapshots", &s.dataset))
        .chain(b.replication.iter().map(|r| ("replication", &r.dataset)));
    for (what, dataset) in datasets {
        let pool = dataset.value.split('/').next().unwrap_or_default();
        let found = pools(spec, pool);
        if found.is_empty() {
            let zfs = zfs_pools(spec);
            let mut d = unknown_reference(dataset.span, "pool", pool, &zfs);
            if zfs.is_empty() {
                d = d.help(format!("`backups.{what}` takes `pool/dataset` of a ZFS pool under a host's `storage:`"));
            }
            out.push(d);
            continue;
        }
        if found.iter().any(|(_, p)| p.kind == PoolKind::Zfs) {
            continue;
        }
        let (host, p) = found[0];
        out.push(
            Diagnostic::new(
                Code::SnapshotNotZfs,
                dataset.span,
                format!("`backups.{what}` needs ZFS, but pool `{pool}` on host `{host}` is `{}`", p.kind.as_str()),
            )
            .label("no ZFS snapshot can be taken here")
            .help(
                "name a dataset of a ZFS pool, or back this data up with a policy (`backup: <policy>` on its services)",
            ),
        );
    }
    for r in &b.replication {
        let Some((host, rest)) = r.to.split_once(':') else { continue };
        let pool = rest.split('/').next().unwrap_or_default();
        let Some(p) = spec.hosts.get(host).and_then(|h| h.storage.get(pool)) else { continue };
        if p.kind != PoolKind::Zfs {
            out.push(
                Diagnostic::new(
                    Code::SnapshotNotZfs,
                    r.spans.value("to").unwrap_or(r.dataset.span),
                    format!(
                        "replication needs ZFS at both ends, but pool `{pool}` on host `{host}` is `{}`",
                        p.kind.as_str()
                    ),
                )
                .help("replicate to a dataset of a ZFS pool (`host:pool/dataset`)"),
            );
        }
    }
}

/// `access: tunnel` and `access: vpn` reach the service through `ingress.tunnel` and
/// `ingress.vpn`: without one, nothing routes to it (as `auth: sso` needs `ingress.sso`).
fn exposure_paths(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let ingress = spec.ingress.as_ref();
    let tunnel = ingress.and_then(|i| i.tunnel.as_ref()).is_some();
    let vpn = ingress.and_then(|i| i.vpn.as_ref()).is_some();
    for e in &spec.services.entries {
        let Some(x) = &e.value.expose else { continue };
        for ex in &x.0 {
            let Some(access) = &ex.access else { continue };
            let (needs, apps) = match access.value {
                Access::Tunnel if !tunnel => ("tunnel", "cloudflared"),
                Access::Vpn if !vpn => ("vpn", "wireguard, tailscale or netbird"),
                _ => continue,
            };
            out.push(
                Diagnostic::new(
                    Code::MissingKey,
                    access.span,
                    format!("`access: {needs}` needs a {needs} service, and `ingress.{needs}` names none"),
                )
                .label("nothing would route this name")
                .help(format!(
                    "set `ingress: {{ {needs}: <service> }}` to a service running {apps}, or use `access: internal`"
                ))
                .suggest_part(access.span, needs, "internal"),
            );
        }
    }
}

/// A PBS repository's `server` is a Proxmox Backup Server service, or an address or DNS name
/// of one outside the spec. A bare word that is neither names nothing: the hosts' storage
/// configuration would point at a name nobody resolves.
fn pbs_servers(spec: &Spec, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    let Some(b) = &spec.backups else { return };
    let pbs = providers_of_app(spec, catalog, "proxmox-backup-server");
    for e in &b.repositories.entries {
        let Some(p) = &e.value.pbs else { continue };
        let server = &p.server;
        if let Some(app) = app_of(spec, catalog, &server.value) {
            if app.name.value != "proxmox-backup-server" {
                out.push(wrong_kind(
                    server,
                    format!("PBS server `{}` runs app `{}`, not `proxmox-backup-server`", server.value, app.name.value),
                    "name a service running `proxmox-backup-server`, or the address of a PBS server".to_string(),
                    &pbs,
                ));
            }
            continue;
        }
        if spec.services.is_declared(&server.value) {
            // An image: Hearth cannot tell, and it may well be a PBS image.
            continue;
        }
        if server.value.parse::<IpAddr>().is_ok() || server.value.contains('.') {
            continue;
        }
        let mut d = unknown_reference(server.span, "service", &server.value, &pbs)
            .label("neither a service, an address nor a DNS name");
        if pbs.is_empty() {
            d = d.help("name a service running `proxmox-backup-server`, or give the server's address");
        }
        out.push(d);
    }
}

fn providers_of_app<'s>(spec: &'s Spec, catalog: &Catalog, app: &str) -> Vec<&'s str> {
    spec.services.names().filter(|n| app_of(spec, catalog, n).is_some_and(|a| a.name.value == app)).collect()
}

/// `dns.server` gets the homelab's records; Hearth writes them only for apps that provide `dns`.
fn dns_server(spec: &Spec, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    let Some(server) = spec.dns.as_ref().and_then(|d| d.server.as_ref()) else { return };
    if !spec.services.is_declared(&server.value) {
        return;
    }
    if app_of(spec, catalog, &server.value).is_some_and(|a| a.provides(Provides::Dns)) {
        return;
    }
    let fits = providers(spec, catalog, &[Provides::Dns]);
    let help = if fits.is_empty() {
        "run one of them and point `dns.server` at it, or leave `dns.server` out and keep the records elsewhere"
            .to_string()
    } else {
        let named: Vec<String> = fits.iter().map(|f| format!("`{f}`")).collect();
        format!("point it at {}, or leave `dns.server` out and keep the records elsewhere", named.join(" or "))
    };
    out.push(
        wrong_kind(
            server,
            format!(
                "`dns.server` is `{}`, which runs {}: Hearth writes DNS records only for `adguard-home`, `dnsmasq`, `pihole` and `unbound`",
                server.value,
                runs(spec, &server.value)
            ),
            help,
            &fits,
        )
        .label("no record would be written"),
    );
}
