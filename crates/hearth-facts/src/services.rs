//! Facts about services: each runs, each `uses` edge logs in from the consumer's machine, each
//! route answers through the proxy, each DNS name resolves, each backup job restores.

use std::net::IpAddr;

use hearth_catalog::Catalog;
use hearth_model::Model;
use hearth_model::model::{Part, Placement, Repository, Service, Template, Tls};
use hearth_spec::ast::{Auth, Form};

use crate::fact::{Check, Expect, Fact, Trust};
use crate::place;

/// Where Debian's Caddy keeps its local CA's root certificate (the `caddy` user's home is
/// `/var/lib/caddy`); the image keeps it under its `/data` volume.
const CADDY_ROOT: &str = ".local/share/caddy/pki/authorities/local/root.crt";

/// Each service runs on each of its machines: its package's unit active, or its containers
/// (the service's and its companions') running, healthy and on the rendered image.
pub(crate) fn runs(model: &Model, catalog: &Catalog, out: &mut Vec<Fact>) {
    for (name, s) in &model.services {
        // A job of a cluster runs only on its schedule: what holds between its runs is its
        // CronJob (`schedules::cron_jobs`).
        if s.schedule.is_some() && matches!(s.on, Placement::Cluster(_)) {
            continue;
        }
        let source = format!("service/{name}");
        for machine in s.machines() {
            let suffix = if machine == s.on.name() { String::new() } else { format!("/on/{machine}") };
            let skip = place::unreachable(model, s, machine);
            let fact = |id: String, check: Check| {
                Fact::new(id, machine, machine, check, source.clone()).needs(&[name]).skip(skip.clone())
            };
            match s.form {
                Form::Docker => {
                    let image = s.image.clone().unwrap_or_default();
                    let check = Check::Container { name: name.clone(), image, healthcheck: s.healthcheck.is_some() };
                    out.push(fact(format!("service/{name}/running{suffix}"), check));
                    for c in &s.companions {
                        let check = Check::Container {
                            name: format!("{name}-{}", c.name),
                            image: c.image.clone(),
                            healthcheck: c.healthcheck.is_some(),
                        };
                        out.push(fact(format!("service/{name}/{}/running{suffix}", c.name), check));
                    }
                }
                Form::Native => {
                    let app = s.app.as_deref();
                    let unit =
                        app.and_then(|a| catalog.get(a)).and_then(|a| a.native.as_ref()).and_then(|n| n.unit.clone());
                    let reason = format!("the catalog names no systemd unit for `{}`", app.unwrap_or(name));
                    let fact = fact(
                        format!("service/{name}/running{suffix}"),
                        Check::Unit { unit: unit.clone().unwrap_or_default() },
                    );
                    out.push(fact.skip(unit.is_none().then_some(reason)));
                }
                Form::Appliance => {
                    let fact = fact(format!("service/{name}/running{suffix}"), Check::Unit { unit: String::new() });
                    out.push(fact.skip(Some("an appliance runs its own services; Hearth starts none of them".into())));
                }
            }
        }
    }
}

/// The text of a template with each secret as `x`, and its first secret reference.
fn parts(t: &Template) -> (String, Option<String>) {
    let mut text = String::new();
    let mut secret = None;
    for p in &t.parts {
        match p {
            Part::Text(s) => text.push_str(s),
            Part::Secret(r) => {
                text.push('x');
                secret.get_or_insert_with(|| r.clone());
            }
        }
    }
    (text, secret)
}

/// The port of a connection URL (`scheme://user:pw@host:port/path`), as the model computed it.
fn url_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let host_port = authority.rsplit('@').next()?;
    host_port.rsplit_once(':')?.1.parse().ok()
}

/// The reference of secret `name`: its declared outside source, else the store's.
fn secret_ref(model: &Model, name: &str) -> String {
    model
        .declared_secrets
        .iter()
        .find(|d| d.name == name && d.source != "generated")
        .map_or_else(|| format!("secret:{name}"), |d| d.source.clone())
}

/// Each `uses` edge to a database, Redis or object store logs in with the rendered credentials,
/// from each machine the consumer runs on.
pub(crate) fn logins(model: &Model, out: &mut Vec<Fact>) {
    for (consumer, c) in &model.services {
        for u in &c.uses {
            let Some(t) = model.services.get(&u.service) else { continue };
            let server = t.on.name();
            let Some(address) = place::address(model, t, server) else { continue };
            let (url, password) = u.url.as_ref().map(parts).unwrap_or_default();
            let Some(port) = url_port(&url) else { continue };
            let user = u.user.clone().unwrap_or_default();
            let database = u.database.clone().unwrap_or_default();
            let check = match u.kind.as_str() {
                "postgres" => Check::Postgres { address, port, user, database, password: password.unwrap_or_default() },
                "mysql" => Check::Mysql { address, port, user, database, password: password.unwrap_or_default() },
                "mongodb" => Check::Mongodb { address, port, user, database, password: password.unwrap_or_default() },
                "redis" => Check::Redis { address, port, password, db: u.db.unwrap_or(0) },
                "s3" => Check::S3 {
                    address,
                    port,
                    access_key: consumer.clone(),
                    secret_key: secret_ref(model, &format!("{}-{consumer}-secret-key", u.service)),
                    bucket: u.bucket.clone().unwrap_or_default(),
                },
                _ => continue,
            };
            for machine in c.machines() {
                let suffix = if machine == c.on.name() { String::new() } else { format!("/from/{machine}") };
                let skip = place::unreachable(model, c, machine).or_else(|| place::unreachable(model, t, server));
                let fact = Fact::new(
                    format!("uses/{consumer}/{}{suffix}", u.service),
                    server,
                    machine,
                    check.clone(),
                    format!("service/{consumer}/uses/{}", u.service),
                );
                out.push(fact.needs(&[consumer, &u.service]).skip(skip));
            }
        }
    }
}

/// The proxy's machine, address and service, when the homelab has a proxy on a machine.
fn proxy(model: &Model) -> Option<(&str, IpAddr, &Service, &str)> {
    let name = model.ingress.proxy.as_ref()?;
    let s = model.services.get(name)?;
    let machine = s.on.name();
    Some((machine, place::address(model, s, machine)?, s, name.as_str()))
}

/// Each route answers through the proxy with its Host (and SNI), and each name's certificate is
/// valid against the internal CA or public roots.
pub(crate) fn routes(model: &Model, out: &mut Vec<Fact>) {
    let Some((machine, address, p, proxy_name)) = proxy(model) else { return };
    let tls = model.ingress.tls != Tls::None;
    let port =
        if tls { p.port("https").map_or(443, |e| e.reachable) } else { p.port("http").map_or(80, |e| e.reachable) };
    let skip = place::unreachable(model, p, machine);
    let mut certified: Vec<&str> = Vec::new();
    for r in &model.routes {
        let path = r.path.clone().unwrap_or_else(|| "/".into());
        let expect = if r.auth == Auth::None { Expect::Success } else { Expect::AuthChallenge };
        let check = Check::Route { address, port, tls, host: r.fqdn.clone(), path: path.clone(), expect };
        let id = format!("route/{}{}", r.fqdn, r.path.as_deref().unwrap_or(""));
        let source = format!("service/{}/expose", r.service);
        let route_skip = model.services.get(&r.service).and_then(|s| place::unreachable(model, s, s.on.name()));
        out.push(
            Fact::new(id, machine, machine, check, source.clone())
                .needs(&[proxy_name, &r.service])
                .skip(skip.clone())
                .skip(route_skip),
        );
        if !tls || certified.contains(&r.fqdn.as_str()) {
            continue;
        }
        certified.push(&r.fqdn);
        let (trust, why) = match &model.ingress.tls {
            Tls::Internal => match caddy_root(p) {
                Some(ca) => (Trust::Internal { ca }, None),
                None => (
                    Trust::Internal { ca: String::new() },
                    Some(format!("the internal CA's root of `{proxy_name}` is at no path verify knows")),
                ),
            },
            _ => (Trust::Public, None),
        };
        let check = Check::Certificate { address, port, host: r.fqdn.clone(), trust };
        let fact = Fact::new(format!("route/{}/certificate", r.fqdn), machine, machine, check, source);
        out.push(fact.needs(&[proxy_name]).skip(skip.clone()).skip(why));
    }
}

/// The local CA root of a Caddy proxy on its machine.
fn caddy_root(p: &Service) -> Option<String> {
    if p.app.as_deref() != Some("caddy") {
        return None;
    }
    match p.form {
        Form::Native => Some(format!("/var/lib/caddy/{CADDY_ROOT}")),
        Form::Docker => {
            let data = p.volumes.iter().find(|v| v.target == "/data")?;
            data.source.starts_with('/').then(|| format!("{}/caddy/pki/authorities/local/root.crt", data.source))
        }
        Form::Appliance => None,
    }
}

/// Each internal DNS record resolves on the homelab's DNS server to its address.
pub(crate) fn dns(model: &Model, out: &mut Vec<Fact>) {
    let Some((machine, d)) = place::machine_of(model, model.dns.server.as_ref()) else { return };
    let Some(server) = place::address(model, d, machine) else { return };
    let port = d
        .ports
        .iter()
        .find(|p| p.protocol == hearth_spec::ast::Protocol::Dns || p.name == "dns")
        .map_or(53, hearth_model::model::Port::reachable);
    let dns_name = model.dns.server.clone().unwrap_or_default();
    let skip = place::unreachable(model, d, machine);
    for r in &model.dns_records {
        let source = model
            .routes
            .iter()
            .find(|x| x.fqdn == r.name)
            .map_or_else(|| "dns".to_string(), |x| format!("service/{}/expose", x.service));
        let check = Check::Dns { server, port, name: r.name.clone(), expect: r.address };
        out.push(
            Fact::new(format!("dns/{}", r.name), machine, machine, check, source)
                .needs(&[&dns_name])
                .skip(skip.clone()),
        );
    }
}

/// Each backup job has succeeded (or runs now), and its latest snapshot in each restic repository
/// restores; whole-guest backups are listed as skipped.
pub(crate) fn backups(model: &Model, out: &mut Vec<Fact>) {
    for job in &model.backups.jobs {
        let Some(policy) = model.backups.policies.get(&job.policy) else { continue };
        let mut environments = Vec::new();
        let mut pbs = Vec::new();
        let mut dirs = Vec::new();
        for repo in &policy.to {
            match model.backups.repositories.get(repo) {
                Some(Repository::Restic { .. }) => environments.push(format!("/etc/hearth/restic/{repo}.env")),
                Some(Repository::Pbs { .. }) => pbs.push(repo.as_str()),
                Some(Repository::Dir { .. }) => dirs.push(repo.as_str()),
                // Copies go to `rsync:` and `git:` repositories through copy jobs, never here (E868).
                Some(Repository::Rsync { .. } | Repository::Git { .. }) | None => {}
            }
        }
        let no_restic = environments.is_empty();
        let check = Check::Backup {
            unit: format!("hearth-backup-{}.service", job.name),
            job: job.name.clone(),
            host: job.machine.clone(),
            environments,
            paths: job.paths.clone(),
        };
        let skip = model
            .services
            .get(&job.service)
            .and_then(|s| place::unreachable(model, s, &job.machine))
            .or_else(|| place::machine_skip(model, &job.machine))
            .or_else(|| {
                (!pbs.is_empty()).then(|| {
                    format!(
                        "repository `{}` is a Proxmox Backup Server; verify restores restic repositories only",
                        pbs[0]
                    )
                })
            })
            .or_else(|| {
                (no_restic && !dirs.is_empty()).then(|| {
                    format!("repository `{}` is a plain folder; verify restores restic repositories only", dirs[0])
                })
            });
        let fact = Fact::new(
            format!("backup/{}", job.name),
            &job.machine,
            &job.machine,
            check,
            format!("service/{}/backup", job.service),
        );
        out.push(fact.needs(&[&job.service]).skip(skip));
    }
    for g in &model.backups.guests {
        let Some(guest) = model.guests.get(&g.guest) else { continue };
        let check = Check::Backup {
            unit: String::new(),
            job: g.guest.clone(),
            host: guest.host.clone(),
            environments: Vec::new(),
            paths: Vec::new(),
        };
        let fact = Fact::new(
            format!("backup/guest/{}", g.guest),
            &guest.host,
            &guest.host,
            check,
            format!("guest/{}", g.guest),
        );
        out.push(fact.skip(Some(format!(
            "whole-guest backups of `{}` run through the Proxmox host's vzdump; verify does not restore them",
            g.guest
        ))));
    }
}
