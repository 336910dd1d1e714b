//! The spec fragment: every planned service as a `services:` entry (in the order the compose
//! files list them, fields in the order docs/SPEC.md gives them) and the `secrets:` the
//! environment needs, written through `hearth_spec::emit`.

use std::collections::BTreeMap;

use hearth_spec::emit::{Node, scalar};

use crate::images::Engine;
use crate::plan::{Planned, spec_name};
use crate::report::{Cx, Finding, Level};
use crate::secrets::{Declarations, EnvOut, sql_ident};

/// Variables a `uses` edge or the catalog sets, which the fragment therefore leaves out, and the
/// differences that makes.
pub fn settle_env(planned: &mut [Planned], cx: &mut Cx) {
    for planned_one in planned.iter_mut() {
        if planned_one.absorbed {
            continue;
        }
        let mut dropped = Vec::new();
        let mut notes = Vec::new();
        let p: &Planned = planned_one;
        let at = p.svc.env.values().next().map(|v| v.at.clone());
        let place = |k: &str| p.svc.env.get(k).map(|v| v.at.clone()).or_else(|| at.clone());
        for u in &p.uses {
            let target = &u.service;
            let kind = match u.engine {
                Engine::Postgres => "postgres",
                Engine::Mysql => "mysql",
                Engine::Mongo => "mongodb",
                Engine::Redis => "redis",
            };
            match p.app.and_then(|a| a.uses.get(kind)) {
                Some(w) => {
                    for (k, _) in w.env.iter() {
                        dropped.push(k.to_string());
                        let verb = if p.svc.env.contains_key(k) { "set" } else { "added" };
                        notes.push((
                            place(k),
                            format!("`{k}` is {verb} by `uses: {target}` (Hearth's connection values)"),
                        ));
                    }
                }
                None if p.app.is_none() => {
                    let var = match u.engine {
                        Engine::Postgres | Engine::Mysql => "DATABASE_URL",
                        Engine::Redis => "REDIS_URL",
                        Engine::Mongo => "MONGODB_URL",
                    };
                    let inline = p
                        .svc
                        .env
                        .get(var)
                        .and_then(|v| crate::relations::url(&v.value))
                        .is_some_and(|u| u.password.is_some());
                    if !p.svc.env.contains_key(var) {
                        notes.push((at.clone(), format!("`{var}` is added by `uses: {target}`")));
                    } else if inline {
                        dropped.push(var.to_string());
                        notes.push((place(var), format!("`{var}` held a password; `uses: {target}` sets it instead")));
                    }
                }
                None => {}
            }
            for k in &u.url_keys {
                if dropped.contains(k) {
                    continue;
                }
                let inline = p
                    .svc
                    .env
                    .get(k)
                    .and_then(|v| crate::relations::url(&v.value))
                    .is_some_and(|u| u.password.is_some());
                if inline {
                    dropped.push(k.clone());
                    notes.push((
                        place(k),
                        format!("`{k}` is not imported: it holds a password inside a URL, which the spec cannot write as a reference"),
                    ));
                }
            }
            if u.engine == Engine::Redis && u.password_keys.is_empty() && !u.inline_password && !u.from_hearth {
                notes.push((
                    place(u.url_keys.first().or(u.host_keys.first()).map_or("", String::as_str)),
                    format!(
                        "`{}`: Hearth's Redis `{target}` requires the password `{target}-password`, and no variable carried over holds it",
                        u.url_keys.first().or(u.host_keys.first()).map_or("", String::as_str)
                    ),
                ));
            }
        }
        // Catalog variables written with the catalog's own value need not be repeated.
        if let Some(app) = p.app {
            for (k, v) in app.env.iter() {
                match p.svc.env.get(k) {
                    Some(orig) if !v.contains("{{") && orig.value == *v => dropped.push(k.to_string()),
                    Some(_) => {}
                    None => notes.push((at.clone(), format!("`{k}` is added by the catalog app `{}`", app.name.value))),
                }
            }
            for (_, s) in app.secrets.iter() {
                if let Some(var) = &s.env
                    && !p.svc.env.contains_key(var)
                {
                    notes.push((
                        at.clone(),
                        format!("`{var}` is added by the catalog app `{}` (a secret)", app.name.value),
                    ));
                }
            }
        }
        let compose = p.svc.compose.clone();
        let span = p.svc.span;
        for (place, message) in notes {
            match place {
                Some((file, line)) => cx.findings.push(Finding {
                    file: Some(file),
                    line,
                    level: Level::Differs,
                    service: Some(compose.clone()),
                    message: format!("environment {message}"),
                }),
                None => cx.at(span, Level::Differs, Some(&compose), format!("environment {message}")),
            }
        }
        planned_one.dropped_env.extend(dropped);
    }
}

/// Writes the fragment.
pub fn write(
    planned: &[Planned],
    envs: &[BTreeMap<String, EnvOut>],
    decls: &Declarations,
    on: &str,
    sources: &[String],
    cx: &mut Cx,
) -> String {
    let mut services = Vec::new();
    // Host ports already published on the machine, so a port added for a route takes a free one.
    let mut taken: std::collections::BTreeSet<u16> =
        planned.iter().filter(|p| !p.absorbed).flat_map(|p| p.ports.iter().map(|(_, h, _, _)| *h)).collect();
    for (i, p) in planned.iter().enumerate() {
        if p.absorbed {
            continue;
        }
        services.push((p.name.clone(), service(p, &envs[i], on, &mut taken, cx)));
    }
    let mut doc = vec![("services".to_string(), Node::Map(services))];
    if !decls.is_empty() {
        let entries = decls
            .iter()
            .map(|(n, env)| {
                let v = match env {
                    Some(var) => Node::Map(vec![("env".into(), Node::Plain(var.clone()))]),
                    None => Node::Map(Vec::new()),
                };
                (n.clone(), v)
            })
            .collect();
        doc.push(("secrets".to_string(), Node::Map(entries)));
    }
    let mut text = String::from("# Imported by `hearth import compose` from:\n");
    for s in sources {
        text.push_str(&format!("#   {s}\n"));
    }
    // The writer quotes `on` for YAML 1.1 readers, which would take it for `true`; the spec is
    // read as YAML 1.2, where a service's `on:` key is plain text, and reads better bare.
    text.push_str(&Node::Map(doc).to_block(&scalar).replace("\n    \"on\": ", "\n    on: "));
    text
}

fn service(
    p: &Planned,
    env: &BTreeMap<String, EnvOut>,
    on: &str,
    taken: &mut std::collections::BTreeSet<u16>,
    cx: &mut Cx,
) -> Node {
    let mut m: Vec<(String, Node)> = Vec::new();
    if let Some(app) = p.app {
        m.push(("app".into(), Node::Plain(app.name.value.clone())));
    }
    if let Some(v) = &p.version {
        m.push(("version".into(), Node::s(v)));
    }
    if let Some(i) = &p.image {
        m.push(("image".into(), Node::s(i)));
    }
    m.push(("on".into(), Node::Plain(on.to_string())));
    m.push(("stack".into(), Node::Plain(spec_name(&p.project))));
    if let Some(v) = &p.via {
        m.push(("via".into(), Node::Plain(v.clone())));
    }
    let mut ports = p.ports.clone();
    let expose = exposures(p, &mut ports, taken, cx);
    if !ports.is_empty() {
        let catalog_port = |n: &str| p.app.and_then(|a| a.ports.get(n)).map(|ap| ap.port);
        let entries = ports
            .iter()
            .map(|(n, host, container, proto)| {
                let default_container = catalog_port(n).unwrap_or(*host);
                let v = if *container == default_container && proto.is_none() {
                    Node::Int(u64::from(*host))
                } else {
                    let mut e = vec![("host".into(), Node::Int(u64::from(*host)))];
                    if *container != default_container {
                        e.push(("container".into(), Node::Int(u64::from(*container))));
                    }
                    if let Some(pr) = proto {
                        e.push(("protocol".into(), Node::Plain(pr.as_str().to_string())));
                    }
                    Node::Map(e)
                };
                (n.clone(), v)
            })
            .collect();
        m.push(("ports".into(), Node::Map(entries)));
    }
    if !p.volumes.is_empty() {
        m.push(("volumes".into(), Node::Map(p.volumes.iter().map(|(n, s)| (n.clone(), Node::s(s))).collect())));
    }
    if !p.mounts.is_empty() {
        let entries = p
            .mounts
            .iter()
            .map(|(t, s, ro)| {
                let v = if *ro {
                    Node::Map(vec![("from".into(), Node::s(s)), ("readonly".into(), Node::Bool(true))])
                } else {
                    Node::s(s)
                };
                (t.clone(), v)
            })
            .collect();
        m.push(("mounts".into(), Node::Map(entries)));
    }
    if !env.is_empty() {
        let entries = env
            .iter()
            .map(|(k, v)| {
                let node = match v {
                    EnvOut::Text(t) => Node::s(t),
                    EnvOut::Secret(n) => Node::Plain(format!("secret:{n}")),
                    EnvOut::Reference(r) => Node::s(r),
                };
                (k.clone(), node)
            })
            .collect();
        m.push(("env".into(), Node::Map(entries)));
    }
    if let Some((cmd, _)) = &p.svc.command {
        m.push(("command".into(), Node::strs(cmd)));
    }
    if !p.svc.devices.is_empty() {
        m.push(("devices".into(), Node::strs(&p.svc.devices)));
    }
    if !p.svc.cap_add.is_empty() {
        m.push(("cap_add".into(), Node::strs(&p.svc.cap_add)));
    }
    if p.svc.privileged {
        m.push(("privileged".into(), Node::Bool(true)));
    }
    // A catalog app's probe in Hearth's own compose files is the catalog's: leave it to it.
    let hearth_written = p.svc.labels.iter().any(|(k, _, _)| k == "hearth.service");
    if let Some((h, _)) = p.svc.healthcheck.as_ref().filter(|_| !(hearth_written && p.app.is_some())) {
        m.push(("healthcheck".into(), h.clone()));
    }
    let cpus = p.svc.cpus.as_ref().filter(|c| c.parse::<f64>().is_ok_and(|f| f.is_finite() && f > 0.0));
    if cpus.is_some() || p.svc.memory.is_some() {
        let mut r = Vec::new();
        if let Some(c) = cpus {
            r.push(("cpus".into(), Node::Num(c.clone())));
        }
        if let Some(mem) = &p.svc.memory {
            r.push(("memory".into(), Node::Plain(mem.clone())));
        }
        m.push(("resources".into(), Node::Map(r)));
    }
    if !p.uses.is_empty() {
        let uses = p
            .uses
            .iter()
            .map(|u| {
                let target = u.service.clone();
                let mut e = vec![("service".to_string(), Node::Plain(target.clone()))];
                if u.engine != Engine::Redis {
                    let database = u.database.clone().unwrap_or_else(|| sql_ident(&p.name));
                    if database != sql_ident(&p.name) {
                        e.push(("database".into(), Node::s(&database)));
                    }
                    if let Some(user) = u.user.as_ref().filter(|u| **u != database) {
                        e.push(("user".into(), Node::s(user)));
                    }
                } else if let Some(db) = u.db {
                    e.push(("db".into(), Node::Int(u64::from(db))));
                }
                if e.len() == 1 { Node::Plain(target) } else { Node::Map(e) }
            })
            .collect();
        m.push(("uses".into(), Node::Seq(uses)));
    }
    let after: Vec<String> = p.after.iter().filter(|a| !p.uses.iter().any(|u| u.service == **a)).cloned().collect();
    if !after.is_empty() {
        m.push(("after".into(), Node::Flow(after.into_iter().map(Node::Plain).collect())));
    }
    if !expose.is_empty() {
        m.push(("expose".into(), Node::Seq(expose)));
    }
    let mut raw: Vec<(String, Node)> = Vec::new();
    for (k, v) in &p.svc.raw {
        if let Some(field) = promoted(k, v) {
            match m.iter_mut().find(|(mk, _)| mk == k) {
                Some(slot) => slot.1 = field,
                None => m.push((k.clone(), field)),
            }
            continue;
        }
        match raw.iter_mut().find(|(rk, _)| rk == k) {
            Some(slot) => slot.1 = Node::from_json(v),
            None => raw.push((k.clone(), Node::from_json(v))),
        }
    }
    let labels: Vec<(String, Node)> = p
        .svc
        .labels
        .iter()
        .filter(|(k, _, _)| !k.starts_with("hearth.") && !p.carried_labels_skip(k))
        .map(|(k, v, _)| (k.clone(), Node::s(v)))
        .collect();
    if !labels.is_empty() {
        raw.push(("labels".into(), Node::Map(labels)));
    }
    if !raw.is_empty() {
        m.push(("compose".into(), Node::Map(raw)));
    }
    Node::Map(m)
}

/// A compose key the spec has a field for (`user`, `init`, `group_add`, `sysctls`, `shm_size`,
/// `gpus: all` or a count, and `network_mode: host | none`), as that field, when the value has
/// the field's form; `None` keeps it under `compose:` as it was.
fn promoted(key: &str, v: &serde_json::Value) -> Option<Node> {
    use serde_json::Value as J;
    let text = |v: &J| match v {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match (key, v) {
        ("user", v) => text(v).map(|t| Node::s(&t)),
        ("init", J::Bool(b)) => Some(Node::Bool(*b)),
        ("shm_size", v) => text(v).and_then(|t| compose_size(&t)).map(Node::Plain),
        ("gpus", J::String(all)) if all == "all" => Some(Node::Plain(all.clone())),
        // One request for a number of GPUs is the spec's count; device ids, drivers other than
        // NVIDIA's or several requests stay under `compose:`.
        ("gpus", J::Array(items)) => match &items[..] {
            [J::Object(r)]
                if r.keys().all(|k| k == "count" || k == "driver" || k == "capabilities")
                    && r.get("driver").is_none_or(|d| d == "nvidia") =>
            {
                match r.get("count")? {
                    J::String(all) if all == "all" => Some(Node::Plain(all.clone())),
                    J::Number(n) => n.as_u64().filter(|n| *n > 0).map(|n| Node::Plain(n.to_string())),
                    _ => None,
                }
            }
            _ => None,
        },
        ("network_mode", J::String(mode)) if mode == "host" || mode == "none" => Some(Node::Plain(mode.clone())),
        ("group_add", J::Array(items)) => items
            .iter()
            .map(text)
            .collect::<Option<Vec<_>>>()
            .map(|g| Node::Seq(g.iter().map(|t| Node::s(t)).collect())),
        ("sysctls", J::Object(map)) => {
            map.iter().map(|(k, v)| Some((k.clone(), Node::s(&text(v)?)))).collect::<Option<Vec<_>>>().map(Node::Map)
        }
        ("sysctls", J::Array(items)) => items
            .iter()
            .map(|i| {
                let (k, v) = i.as_str()?.split_once('=')?;
                Some((k.trim().to_string(), Node::s(v.trim())))
            })
            .collect::<Option<Vec<_>>>()
            .map(Node::Map),
        _ => None,
    }
}

/// A Compose byte value (`1gb`, `512m`, `64000000`: Docker's units are binary) as the spec's
/// size: in the largest unit when that reads back as the same bytes, else in MiB or bytes.
fn compose_size(text: &str) -> Option<String> {
    let t = text.trim().to_ascii_lowercase();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..digits].parse().ok()?;
    let shift = match t[digits..].trim() {
        "" | "b" => 0,
        "k" | "kb" => 10,
        "m" | "mb" => 20,
        "g" | "gb" => 30,
        _ => return None,
    };
    let bytes = n.checked_mul(1u64 << shift)?;
    if bytes == 0 {
        return None;
    }
    let size = hearth_spec::units::Size::new(bytes, true).to_string();
    let exact = hearth_spec::units::Size::parse(&size).is_ok_and(|s| s.bytes == bytes);
    Some(match (exact, bytes % (1 << 20)) {
        (true, _) => size,
        (false, 0) => format!("{}MiB", bytes >> 20),
        _ => format!("{bytes}B"),
    })
}

/// The `expose:` entries of a service's routes. A route to a container port the service does
/// not publish publishes it (on a free host port), since Hearth's proxy reaches services there.
fn exposures(
    p: &Planned,
    ports: &mut Vec<(String, u16, u16, Option<hearth_spec::ast::Protocol>)>,
    taken: &mut std::collections::BTreeSet<u16>,
    cx: &mut Cx,
) -> Vec<Node> {
    let mut expose = Vec::new();
    for r in &p.routes {
        let mut e = vec![("name".to_string(), Node::s(&r.name))];
        if let Some(port) = r.port {
            let primary = p.app.and_then(|a| a.primary_port()).map(|(n, ap)| (n.to_string(), ap.port));
            let name = ports.iter().find(|(_, _, c, _)| *c == port).map(|(n, _, _, _)| n.clone()).or_else(|| {
                p.app.and_then(|a| a.ports.iter().find(|(_, ap)| ap.port == port).map(|(n, _)| n.to_string()))
            });
            let name = match name {
                Some(n) => n,
                None => {
                    let n = format!("port-{port}");
                    let mut host = port;
                    while taken.contains(&host) && host < u16::MAX {
                        host += 1;
                    }
                    taken.insert(host);
                    ports.push((n.clone(), host, port, None));
                    cx.at(
                        p.svc.span,
                        Level::Differs,
                        Some(&p.svc.compose),
                        format!("port {host}:{port} is published on the machine so the proxy reaches `{}`", r.name),
                    );
                    n
                }
            };
            if primary.is_none_or(|(pn, _)| pn != name) {
                e.push(("port".into(), Node::Plain(name)));
            }
        } else if p.app.is_none() {
            match ports.first() {
                Some((n, _, _, _)) => e.push(("port".into(), Node::Plain(n.clone()))),
                None => cx.at(
                    p.svc.span,
                    Level::Todo,
                    Some(&p.svc.compose),
                    format!("the route `{}` names no port: add one to `ports:` and to its `expose`", r.name),
                ),
            }
        }
        if let Some(a) = r.auth {
            e.push(("auth".into(), Node::Plain(a.to_string())));
            if a == "sso" {
                cx.at(
                    p.svc.span,
                    Level::Todo,
                    Some(&p.svc.compose),
                    format!(
                        "`{}` was behind forward auth: `auth: sso` needs `ingress: {{ sso: … }}` in the spec",
                        r.name
                    ),
                );
            }
        }
        if let Some(path) = &r.path {
            e.push(("path".into(), Node::s(path)));
        }
        expose.push(if e.len() == 1 { Node::s(&r.name) } else { Node::Map(e) });
    }
    expose
}

impl Planned<'_> {
    /// Labels the import expressed otherwise (proxy routes) or that belong to Compose.
    fn carried_labels_skip(&self, key: &str) -> bool {
        key.starts_with("traefik.")
            || key == "caddy"
            || key.starts_with("caddy.")
            || key.starts_with("com.docker.compose.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `promoted(key, value)` against the field it should become (`None`: kept under `compose:`).
    fn check(key: &str, value: serde_json::Value, expected: Option<Node>) {
        assert_eq!(promoted(key, &value), expected, "{key}: {value}");
    }

    #[test]
    fn compose_keys_the_spec_has_fields_for_become_fields() {
        check("user", json!("1000:1000"), Some(Node::s("1000:1000")));
        check("user", json!(1000), Some(Node::s("1000")));
        check("init", json!(true), Some(Node::Bool(true)));
        check("network_mode", json!("host"), Some(Node::Plain("host".into())));
        check("network_mode", json!("bridge"), None);
        check("group_add", json!(["video", 105]), Some(Node::Seq(vec![Node::s("video"), Node::s("105")])));
        let sysctl = Some(Node::Map(vec![("net.core.somaxconn".into(), Node::s("1024"))]));
        check("sysctls", json!(["net.core.somaxconn=1024"]), sysctl.clone());
        check("sysctls", json!({ "net.core.somaxconn": 1024 }), sysctl);
        check("sysctls", json!(["no-equals-sign"]), None);
        check("shm_size", json!("1gb"), Some(Node::Plain("1GiB".into())));
        check("shm_size", json!("512m"), Some(Node::Plain("512MiB".into())));
        check("shm_size", json!(67108864), Some(Node::Plain("64MiB".into())));
        check("shm_size", json!("1.5g"), None);
        check("shm_size", json!("1537m"), Some(Node::Plain("1537MiB".into())));
        check("gpus", json!("all"), Some(Node::Plain("all".into())));
        check(
            "gpus",
            json!([{ "driver": "nvidia", "count": 2, "capabilities": ["gpu"] }]),
            Some(Node::Plain("2".into())),
        );
        check("gpus", json!([{ "device_ids": ["0"] }]), None);
    }
}
