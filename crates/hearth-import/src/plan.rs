//! From read compose services to spec services: names, catalog apps, `via`, ports moved to the
//! VPN client they belong to, `after`, ports and volumes in the spec's terms, and what a catalog
//! app adds that Compose did not have.

use std::collections::{BTreeMap, BTreeSet};

use hearth_catalog::{App, Catalog};
use hearth_spec::ast::Protocol;

use crate::images::{self, Engine, Match};
use crate::ports::Published;
use crate::relations::Use;
use crate::report::{Cx, Finding, Level};
use crate::service::{Place, Svc};
use crate::traefik::Route;
use crate::volumes::Volume;

/// A compose service on its way to the spec.
pub struct Planned<'c> {
    pub svc: Svc,
    /// Its spec name.
    pub name: String,
    /// Its compose project, which becomes its `stack`.
    pub project: String,
    pub app: Option<&'c App>,
    pub engine: Option<Engine>,
    pub version: Option<String>,
    /// `image:` in the spec (a database image the catalog app runs, or any image).
    pub image: Option<String>,
    /// Run by a catalog app as its companion: not a service of its own.
    pub absorbed: bool,
    /// The catalog app and companion whose image this is.
    pub companion_of: Option<(String, String)>,
    pub via: Option<String>,
    pub uses: Vec<Use>,
    pub after: Vec<String>,
    pub routes: Vec<Route>,
    /// Published ports as spec entries: `(name, host, container, protocol)`.
    pub ports: Vec<(String, u16, u16, Option<Protocol>)>,
    /// Catalog volume name -> host path.
    pub volumes: Vec<(String, String)>,
    /// Container path -> (host path, readonly).
    pub mounts: Vec<(String, String, bool)>,
    /// Variables the catalog or a `uses` edge sets, which the spec therefore leaves out.
    pub dropped_env: BTreeSet<String>,
}

/// A spec name from a compose name: lowercase, `_` and `.` as `-`, starting with a letter.
pub fn spec_name(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out = out.trim_end_matches('-').to_string();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "s-");
    }
    out.truncate(63);
    out.trim_end_matches('-').to_string()
}

fn finding(at: &Place, service: &str, level: Level, message: String) -> Finding {
    Finding { file: Some(at.0.clone()), line: at.1, level, service: Some(service.to_string()), message }
}

/// Names, catalog matches and companions.
pub fn identify<'c>(svcs: Vec<(String, Svc)>, catalog: &'c Catalog, cx: &mut Cx) -> Vec<Planned<'c>> {
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut out: Vec<Planned<'c>> = Vec::new();
    let duplicates: BTreeSet<String> = {
        let mut seen = BTreeSet::new();
        svcs.iter().map(|(_, s)| spec_name(&s.compose)).filter(|n| !seen.insert(n.clone())).collect()
    };
    for (project, svc) in svcs {
        let base = spec_name(&svc.compose);
        let mut name = if duplicates.contains(&base) { spec_name(&format!("{project}-{base}")) } else { base };
        while !taken.insert(name.clone()) {
            name.push_str("-2");
        }
        if name != svc.compose {
            cx.at(svc.span, Level::Differs, Some(&svc.compose), format!("imported as the service `{name}`"));
        }
        let mut p = Planned {
            name,
            project,
            app: None,
            engine: None,
            version: None,
            image: None,
            absorbed: false,
            companion_of: None,
            via: None,
            uses: Vec::new(),
            after: Vec::new(),
            routes: Vec::new(),
            ports: Vec::new(),
            volumes: Vec::new(),
            mounts: Vec::new(),
            dropped_env: BTreeSet::new(),
            svc,
        };
        match p.svc.image.clone() {
            None => {
                cx.at(p.svc.span, Level::Todo, Some(&p.svc.compose), "has no `image:`; give the service one");
            }
            Some(image) => {
                let (_, tag) = images::split(&image);
                match images::find(catalog, &image) {
                    Match::App(app) => {
                        p.app = Some(app);
                        p.engine = engine_of(app);
                        match tag.as_deref() {
                            None | Some("latest") => cx.at(
                                p.svc.span,
                                Level::Differs,
                                Some(&p.svc.compose),
                                format!(
                                    "image `{image}` is not pinned: the catalog app `{}` runs `{}`",
                                    app.name.value, app.image.value
                                ),
                            ),
                            Some(t) => {
                                p.version = Some(t.to_string());
                                let runs = replace_tag(&app.image.value, t);
                                if runs != image {
                                    cx.at(
                                        p.svc.span,
                                        Level::Differs,
                                        Some(&p.svc.compose),
                                        format!("image `{image}` is written `{runs}`: the catalog app `{}`'s repository with the tag", app.name.value),
                                    );
                                }
                            }
                        }
                    }
                    Match::Engine(app, engine) => {
                        p.app = Some(app);
                        p.engine = Some(engine);
                        p.image = Some(image.clone());
                    }
                    Match::Companion(app, cname) => {
                        // Absorbed below when its app is imported from the same project.
                        p.image = Some(image.clone());
                        p.companion_of = Some((app.name.value.clone(), cname));
                    }
                    Match::None => p.image = Some(image.clone()),
                }
                if p.image.as_deref().is_some_and(|i| matches!(images::split(i).1.as_deref(), None | Some("latest"))) {
                    cx.at(
                        p.svc.span,
                        Level::Todo,
                        Some(&p.svc.compose),
                        format!("image `{image}` is not pinned: give it a version tag"),
                    );
                }
            }
        }
        out.push(p);
    }
    // A companion's image beside its app in one project is the app's companion container.
    let apps: Vec<(String, String, String)> =
        out.iter().filter_map(|p| p.app.map(|a| (p.project.clone(), a.name.value.clone(), p.name.clone()))).collect();
    // Hearth's own compose files label a companion with its service.
    let names: BTreeMap<(String, String), Option<&'c App>> =
        out.iter().map(|p| ((p.project.clone(), p.name.clone()), p.app)).collect();
    for p in out.iter_mut() {
        let label = |k: &str| p.svc.labels.iter().find(|(lk, _, _)| lk == k).map(|(_, v, _)| v.clone());
        if let (Some(cname), Some(owner)) = (label("hearth.companion"), label("hearth.service"))
            && let Some(app) = names.get(&(p.project.clone(), owner.clone()))
        {
            p.absorbed = true;
            // Values the catalog derives from the service's routes or settings, which compose
            // files do not hold, may come out differently.
            for (k, v) in
                app.and_then(|a| a.companions.get(&cname)).map(|c| c.env.iter().collect::<Vec<_>>()).unwrap_or_default()
            {
                if v.contains("{{") {
                    cx.at(
                        p.svc.span,
                        Level::Differs,
                        Some(&p.svc.compose),
                        format!("environment `{k}` is the catalog's `{v}`, filled from the imported service (its routes are not in compose files)"),
                    );
                }
            }
            cx.at(
                p.svc.span,
                Level::Differs,
                Some(&p.svc.compose),
                format!("not a service of its own: the companion `{cname}` of `{owner}`, which its catalog app runs"),
            );
        }
    }
    for p in out.iter_mut().filter(|p| !p.absorbed) {
        let Some((app, cname)) = p.companion_of.clone() else { continue };
        if let Some((_, _, owner)) = apps.iter().find(|(proj, a, _)| *proj == p.project && *a == app) {
            p.absorbed = true;
            cx.at(
                p.svc.span,
                Level::Differs,
                Some(&p.svc.compose),
                format!(
                    "not a service of its own: the catalog app `{app}` of `{owner}` runs it as `{owner}-{cname}` with the catalog's settings"
                ),
            );
        }
    }
    out
}

/// `repo/name:tag` with another tag, as the resolver writes a catalog app's image.
fn replace_tag(image: &str, tag: &str) -> String {
    let (repo, _) = images::split(image);
    format!("{repo}:{tag}")
}

fn engine_of(app: &App) -> Option<Engine> {
    use hearth_catalog::Provides;
    app.provides.iter().find_map(|p| match p {
        Provides::Postgres => Some(Engine::Postgres),
        Provides::Mysql => Some(Engine::Mysql),
        Provides::Mongodb => Some(Engine::Mongo),
        Provides::Redis => Some(Engine::Redis),
        _ => None,
    })
}

/// `via`, `after` and the renaming of containers other containers reach by name.
pub fn wire(planned: &mut [Planned], cx: &mut Cx) {
    let by_alias: BTreeMap<(String, String), usize> = planned
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.svc.aliases.iter().map(move |a| ((p.project.clone(), a.clone()), i)))
        .collect();
    let by_key: BTreeMap<(String, String), usize> =
        planned.iter().enumerate().map(|(i, p)| ((p.project.clone(), p.svc.compose.clone()), i)).collect();
    for i in 0..planned.len() {
        let project = planned[i].project.clone();
        if let Some((mode, span)) = planned[i].svc.network_mode.clone() {
            let compose = planned[i].svc.compose.clone();
            if let Some(target) = mode.strip_prefix("service:") {
                match by_key.get(&(project.clone(), target.to_string())) {
                    Some(&t) => planned[i].via = Some(planned[t].name.clone()),
                    None => cx.at(
                        span,
                        Level::Differs,
                        Some(&compose),
                        format!("`network_mode: {mode}` names no imported service"),
                    ),
                }
            } else if let Some(target) = mode.strip_prefix("container:") {
                // A container of another project on the same machine is as good.
                let found = by_alias
                    .get(&(project.clone(), target.to_string()))
                    .or_else(|| by_alias.iter().find(|((_, a), _)| a == target).map(|(_, i)| i));
                match found {
                    Some(&t) => planned[i].via = Some(planned[t].name.clone()),
                    None => cx.at(
                        span,
                        Level::Differs,
                        Some(&compose),
                        format!("`network_mode: {mode}` names a container outside the import; not imported"),
                    ),
                }
            } else if planned[i].app.and_then(|a| a.network_mode.as_deref()) != Some(mode.as_str()) {
                // The catalog app's own mode (Home Assistant's `host`) needs no escape hatch.
                planned[i].svc.raw.push(("network_mode".into(), serde_json::Value::String(mode)));
            }
        }
        let deps = planned[i].svc.depends_on.clone();
        for (d, span) in deps {
            match by_key.get(&(project.clone(), d.clone())) {
                Some(&t) if !planned[t].absorbed => {
                    let name = planned[t].name.clone();
                    if planned[i].via.as_deref() != Some(&name) && !planned[i].after.contains(&name) {
                        planned[i].after.push(name);
                    }
                }
                Some(_) => {}
                None => {
                    let compose = planned[i].svc.compose.clone();
                    cx.at(span, Level::Differs, Some(&compose), format!("`depends_on: {d}` names no imported service"))
                }
            }
        }
    }
    move_vpn_ports(planned);
    rename_hosts(planned, cx);
}

/// Ports a VPN container publishes for a catalog app that joins its network belong to that app
/// in the spec (the renderer puts them back on the VPN container).
fn move_vpn_ports(planned: &mut [Planned]) {
    for v in 0..planned.len() {
        let clients: Vec<usize> =
            (0..planned.len()).filter(|&c| planned[c].via.as_deref() == Some(&planned[v].name)).collect();
        if clients.is_empty() {
            continue;
        }
        let ports = std::mem::take(&mut planned[v].svc.ports);
        for (p, span) in ports {
            let owner = clients.iter().copied().find(|&c| {
                planned[c].app.is_some_and(|a| {
                    a.ports.iter().any(|(_, ap)| ap.port == p.container && compatible(&p.protocol, ap.protocol))
                })
            });
            match owner {
                Some(c) if !own_catalog_port(&planned[v], &p) => planned[c].svc.ports.push((p, span)),
                _ => planned[v].svc.ports.push((p, span)),
            }
        }
    }
}

fn own_catalog_port(p: &Planned, port: &Published) -> bool {
    p.app.is_some_and(|a| {
        a.ports.iter().any(|(_, ap)| ap.port == port.container && compatible(&port.protocol, ap.protocol))
    })
}

/// Whether a compose protocol is served by a catalog port of the given protocol.
pub fn compatible(compose: &str, catalog: Option<Protocol>) -> bool {
    match catalog.unwrap_or(Protocol::Tcp) {
        Protocol::Udp => compose == "udp",
        Protocol::Dns => compose == "udp" || compose == "tcp",
        _ => compose == "tcp",
    }
}

/// Containers are named after their spec service: values that reached another container by a
/// different name (`container_name`, `hostname`, a key that was not a spec name) are rewritten.
fn rename_hosts(planned: &mut [Planned], cx: &mut Cx) {
    let renames: Vec<(String, String, String)> = planned
        .iter()
        .flat_map(|p| {
            p.svc.aliases.iter().filter(|a| **a != p.name).map(move |a| (p.project.clone(), a.clone(), p.name.clone()))
        })
        .collect();
    for p in planned.iter_mut().filter(|p| !p.absorbed) {
        let mut notes = Vec::new();
        for (k, v) in p.svc.env.iter_mut() {
            for (project, old, new) in &renames {
                if *project != p.project {
                    continue;
                }
                let replaced = if v.value == *old || v.value.starts_with(&format!("{old}:")) {
                    Some(format!("{new}{}", &v.value[old.len()..]))
                } else if crate::relations::url(&v.value).is_some_and(|u| u.host == *old) {
                    let (scheme, rest) = v.value.split_once("://").unwrap_or(("", &v.value));
                    let (user, hostpart) = rest.rsplit_once('@').map_or(("", rest), |(u, h)| (u, h));
                    let tail = &hostpart[old.len().min(hostpart.len())..];
                    let at = if user.is_empty() { String::new() } else { format!("{user}@") };
                    Some(format!("{scheme}://{at}{new}{tail}"))
                } else {
                    None
                };
                if let Some(r) = replaced.filter(|r| *r != v.value) {
                    v.value = r;
                    notes.push(finding(
                        &v.at,
                        &p.svc.compose,
                        Level::Differs,
                        format!("`{k}` reached `{old}`, which is now the container `{new}`"),
                    ));
                }
            }
        }
        cx.findings.extend(notes);
        if let Some((c, span)) = &p.svc.container_name
            && *c != p.name
        {
            let (name, span) = (p.name.clone(), *span);
            cx.at(span, Level::Differs, Some(&p.svc.compose), format!("the container is named `{name}`, not `{c}`"));
        }
    }
}

/// Ports and volumes in the spec's terms, and what the catalog adds.
pub fn shape(p: &mut Planned, volumes_top: &BTreeMap<String, hearth_spec::yaml::Node>, cx: &mut Cx) {
    let compose = p.svc.compose.clone();
    // Ports.
    let mut matched_catalog: BTreeSet<String> = BTreeSet::new();
    for (port, span) in p.svc.ports.clone() {
        let Some(host) = port.host else {
            cx.at(
                span,
                Level::Differs,
                Some(&compose),
                format!(
                    "port {}/{} is published on a port Docker picks; not imported (give it a host port)",
                    port.container, port.protocol
                ),
            );
            continue;
        };
        if port.protocol == "sctp" {
            cx.at(span, Level::Differs, Some(&compose), format!("SCTP port {} is not imported", port.container));
            continue;
        }
        if let Some(ip) = &port.host_ip {
            cx.at(span, Level::Differs, Some(&compose), format!("port {host}:{} was bound to `{ip}` only; Hearth publishes it on every address and its firewall decides who reaches it", port.container));
        }
        let catalog = p.app.and_then(|a| {
            a.ports
                .iter()
                .find(|(_, ap)| ap.port == port.container && compatible(&port.protocol, ap.protocol))
                .map(|(n, ap)| (n.to_string(), ap.protocol))
        });
        let (name, protocol) = match catalog {
            Some((n, _)) => {
                matched_catalog.insert(n.clone());
                if p.ports.iter().any(|(pn, h, _, _)| *pn == n && *h == host) {
                    continue; // the other half of a DNS port
                }
                (n, None)
            }
            None => {
                let n = if port.protocol == "udp" {
                    format!("port-{}-udp", port.container)
                } else {
                    format!("port-{}", port.container)
                };
                (n, (port.protocol == "udp").then_some(Protocol::Udp))
            }
        };
        let mut name = name;
        while p.ports.iter().any(|(pn, _, _, _)| *pn == name) {
            name.push_str("-2");
        }
        p.ports.push((name, host, port.container, protocol));
    }
    if let Some(app) = p.app {
        for (n, ap) in app.ports.iter() {
            if ap.publish != Some(false) && !matched_catalog.contains(n) {
                cx.at(
                    p.svc.span,
                    Level::Differs,
                    Some(&compose),
                    format!("port {} ({n}) is published by the catalog app `{}`", ap.port, app.name.value),
                );
            }
        }
    }
    // Volumes.
    let mut covered: BTreeSet<String> = BTreeSet::new();
    for (v, span) in p.svc.volumes.clone() {
        let catalog_volume = |target: &str| {
            p.app.and_then(|a| {
                a.volumes
                    .iter()
                    .find(|(_, av)| av.path.trim_end_matches('/') == target.trim_end_matches('/'))
                    .map(|(n, av)| (n.to_string(), av.readonly == Some(true)))
            })
        };
        match v {
            Volume::Bind { source, target, readonly } => {
                if source.starts_with('~') {
                    cx.at(span, Level::Todo, Some(&compose), format!("`{source}` depends on the user running Compose; not imported: mount an absolute path at `{target}`"));
                    continue;
                }
                covered.insert(target.clone());
                match catalog_volume(&target) {
                    Some((vname, ro)) if ro == readonly => p.volumes.push((vname, source)),
                    _ => p.mounts.push((target, source, readonly)),
                }
            }
            Volume::Named { name, target, readonly } => {
                covered.insert(target.clone());
                let folder = format!("/opt/hearth/{}/{}", p.name, spec_name(&name));
                let external =
                    volumes_top.get(&name).and_then(|v| v.get("external")).and_then(|e| e.as_scalar()) == Some("true");
                let kind = if external { "external named volume" } else { "named volume" };
                match catalog_volume(&target) {
                    Some((vname, ro)) if ro == readonly => {
                        let folder = format!("/opt/hearth/{}/{vname}", p.name);
                        p.volumes.push((vname, folder.clone()));
                        cx.at(span, Level::Todo, Some(&compose), format!("{kind} `{name}` at `{target}` becomes the folder `{folder}`: copy its data there before the first apply"));
                    }
                    _ => {
                        p.mounts.push((target.clone(), folder.clone(), readonly));
                        cx.at(span, Level::Todo, Some(&compose), format!("{kind} `{name}` at `{target}` becomes the folder `{folder}`: copy its data there before the first apply"));
                    }
                }
            }
            Volume::Anonymous { target } => {
                cx.at(span, Level::Differs, Some(&compose), format!("anonymous volume at `{target}` is not imported"));
            }
            Volume::Tmpfs { target } => {
                cx.at(
                    span,
                    Level::Differs,
                    Some(&compose),
                    format!("the tmpfs at `{target}` is carried as `compose: {{ tmpfs: … }}`"),
                );
                p.svc.raw.push(("tmpfs".into(), serde_json::json!([target])));
            }
        }
    }
    if let Some(app) = p.app {
        for (vname, av) in app.volumes.iter() {
            if covered.contains(av.path.trim_end_matches('/')) || covered.contains(&av.path) {
                continue;
            }
            let host = if av.same_path == Some(true) {
                av.path.clone()
            } else if av.socket == Some(true) {
                av.host.clone().unwrap_or_else(|| av.path.clone())
            } else {
                format!("/opt/hearth/{}/{vname}", p.name)
            };
            cx.at(
                p.svc.span,
                Level::Differs,
                Some(&compose),
                format!("volume `{}` is mounted from `{host}` by the catalog app `{}`", av.path, app.name.value),
            );
        }
        for (cname, _) in app.companions.iter() {
            cx.at(
                p.svc.span,
                Level::Differs,
                Some(&compose),
                format!("the catalog app `{}` runs the container `{}-{cname}` beside it", app.name.value, p.name),
            );
        }
        // Hearth writes a proxy's configuration; the flags that configured it from labels go.
        if app.category == hearth_catalog::Category::Proxy
            && let Some((_, span)) = p.svc.command.take()
        {
            cx.at(
                span,
                Level::Differs,
                Some(&compose),
                format!("the command is not imported: Hearth configures the proxy `{}` itself", app.name.value),
            );
        }
        if app.command.is_some() && p.svc.command.is_none() {
            cx.at(
                p.svc.span,
                Level::Differs,
                Some(&compose),
                format!("the command is the catalog app `{}`'s", app.name.value),
            );
        }
    }
}

/// Labels for a service behind a VPN container sit on the VPN container (the only one with a
/// network of its own); a route to a port that a joining service serves is that service's.
pub fn move_vpn_routes(planned: &mut [Planned], cx: &mut Cx) {
    for v in 0..planned.len() {
        let clients: Vec<usize> =
            (0..planned.len()).filter(|&c| planned[c].via.as_deref() == Some(planned[v].name.as_str())).collect();
        if clients.is_empty() {
            continue;
        }
        let routes = std::mem::take(&mut planned[v].routes);
        for r in routes {
            let serves = |c: &Planned, port: u16| {
                c.svc.ports.iter().any(|(p, _)| p.container == port)
                    || c.app.is_some_and(|a| a.ports.iter().any(|(_, ap)| ap.port == port))
            };
            let owner = r.port.and_then(|port| clients.iter().copied().find(|&c| serves(&planned[c], port)));
            match owner {
                Some(c) => {
                    let (span, compose) = (planned[v].svc.span, planned[v].svc.compose.clone());
                    let client = planned[c].name.clone();
                    cx.at(
                        span,
                        Level::Differs,
                        Some(&compose),
                        format!("the route `{}` is `{client}`'s, which joins its network", r.name),
                    );
                    planned[c].routes.push(r);
                }
                None => planned[v].routes.push(r),
            }
        }
    }
}

/// The exposed name of a catalog app in Hearth's own compose files, read back from the
/// variables its catalog entry fills with `{{ fqdn }}` or `{{ url }}` (those files hold no
/// routes: the proxy's configuration does). Files Hearth did not write are left alone: a
/// variable there says nothing about a proxy.
pub fn recover_routes(planned: &mut [Planned], cx: &mut Cx) {
    for i in 0..planned.len() {
        let p = &planned[i];
        let hearth_written = p.svc.labels.iter().any(|(k, _, _)| k == "hearth.service");
        let Some(app) = p.app.filter(|_| hearth_written && p.routes.is_empty() && !p.absorbed) else { continue };
        let mut pairs: Vec<(String, String, String)> = app
            .env
            .iter()
            .filter_map(|(k, t)| p.svc.env.get(k).map(|v| (k.to_string(), t.clone(), v.value.clone())))
            .collect();
        for c in planned.iter().filter(|c| c.absorbed && c.project == p.project) {
            let label = |k: &str| c.svc.labels.iter().find(|(lk, _, _)| lk == k).map(|(_, v, _)| v.clone());
            if label("hearth.service").as_deref() != Some(&p.name) {
                continue;
            }
            let Some(companion) = label("hearth.companion").and_then(|n| app.companions.get(&n)) else { continue };
            pairs.extend(
                companion
                    .env
                    .iter()
                    .filter_map(|(k, t)| c.svc.env.get(k).map(|v| (k.to_string(), t.clone(), v.value.clone()))),
            );
        }
        let found = pairs.iter().find_map(|(k, template, value)| fqdn_from(template, value).map(|f| (k.clone(), f)));
        if let Some((key, fqdn)) = found {
            let (span, compose) = (p.svc.span, p.svc.compose.clone());
            cx.at(
                span,
                Level::Differs,
                Some(&compose),
                format!("exposed as `{fqdn}`, read from `{key}` (compose files hold no routes): check its port, access and auth"),
            );
            planned[i].routes.push(Route { name: fqdn, path: None, port: None, auth: None });
        }
    }
}

/// The name a `{{ fqdn }}` or `{{ url }}` placeholder stood for in `value`, if the template has
/// only that placeholder and the rest matches.
fn fqdn_from(template: &str, value: &str) -> Option<String> {
    for (placeholder, url) in [("{{ fqdn }}", false), ("{{ url }}", true)] {
        let Some((prefix, suffix)) = template.split_once(placeholder) else { continue };
        if prefix.contains("{{") || suffix.contains("{{") {
            return None;
        }
        let middle = value.strip_prefix(prefix)?.strip_suffix(suffix)?;
        let name =
            if url { middle.strip_prefix("https://").or_else(|| middle.strip_prefix("http://"))? } else { middle };
        let valid = !name.is_empty()
            && name.contains('.')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        return valid.then(|| name.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(template: &str, value: &str, expected: Option<&str>) {
        assert_eq!(fqdn_from(template, value).as_deref(), expected, "{template} / {value}");
    }

    #[test]
    fn names_from_templates() {
        check("{{ url }}", "https://vault.example.com", Some("vault.example.com"));
        check("rels://{{ fqdn }}:443", "rels://nb.example.com:443", Some("nb.example.com"));
        check("{{ fqdn }}", "", None);
        check("{{ url }}", "ftp://x.y", None);
        check("{{ url }}/{{ fqdn }}", "https://a.b/a.b", None);
        check("{{ tz }}", "UTC", None);
    }

    #[test]
    fn spec_names() {
        for (raw, want) in [("immich_server", "immich-server"), ("Web.App", "web-app"), ("1st", "s-1st"), ("__", "s")] {
            assert_eq!(spec_name(raw), want);
        }
    }
}
