//! One compose service read into what the spec can say about it: image, ports, volumes,
//! environment (with where each variable came from), command, devices, capabilities,
//! healthcheck, resources, dependencies and labels; keys the spec has no field for but the
//! escape hatch `compose:` can carry are kept raw, and the rest is reported.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hearth_spec::Span;
use hearth_spec::emit::Node as Out;
use hearth_spec::yaml::{Node, Value};

use crate::ports::{self, Published};
use crate::project::{RawService, SeqExt, entries};
use crate::report::{Cx, Level};
use crate::volumes::{self, Volume};
use crate::{Files, dotenv};

/// Where a value was written: a file and a 1-based line.
pub type Place = (PathBuf, usize);

/// One environment variable as the container would get it.
#[derive(Debug, Clone)]
pub struct EnvVar {
    pub value: String,
    pub at: Place,
    /// The variable the whole value came from (`${DB_PASSWORD}`), if it was one.
    pub from_var: Option<String>,
}

/// A compose service, read.
#[derive(Debug, Clone)]
pub struct Svc {
    /// Its key in the compose file.
    pub compose: String,
    pub span: Span,
    pub image: Option<String>,
    /// Names other containers of the project reach it by (key, `container_name`, `hostname`,
    /// network aliases).
    pub aliases: Vec<String>,
    pub container_name: Option<(String, Span)>,
    pub network_mode: Option<(String, Span)>,
    pub ports: Vec<(Published, Span)>,
    pub volumes: Vec<(Volume, Span)>,
    pub env: BTreeMap<String, EnvVar>,
    pub command: Option<(Vec<String>, Span)>,
    pub devices: Vec<String>,
    pub cap_add: Vec<String>,
    pub privileged: bool,
    pub healthcheck: Option<(Out, Span)>,
    pub cpus: Option<String>,
    pub memory: Option<String>,
    pub depends_on: Vec<(String, Span)>,
    pub labels: Vec<(String, String, Span)>,
    /// Keys carried through the spec's `compose:` escape hatch, in order.
    pub raw: Vec<(String, serde_json::Value)>,
}

/// Keys with no spec field that the `compose:` escape hatch carries as they are.
const RAW_KEYS: &[&str] = &[
    "user",
    "working_dir",
    "entrypoint",
    "extra_hosts",
    "sysctls",
    "security_opt",
    "shm_size",
    "ulimits",
    "tmpfs",
    "logging",
    "stop_grace_period",
    "stop_signal",
    "init",
    "dns",
    "dns_search",
    "dns_opt",
    "group_add",
    "ipc",
    "pid",
    "cap_drop",
    "tty",
    "stdin_open",
    "runtime",
    "gpus",
    "platform",
    "pull_policy",
    "read_only",
    "mac_address",
    "userns_mode",
    "oom_score_adj",
    "oom_kill_disable",
    "cgroup",
    "cgroup_parent",
    "domainname",
    "storage_opt",
    "device_cgroup_rules",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "pids_limit",
    "cpu_shares",
    "cpuset",
    "blkio_config",
    "annotations",
    "stop_signal",
];

/// Keys that only document or only matter to Compose itself, dropped without a word.
const SILENT: &[&str] = &["profiles", "extends", "expose", "scale"];

/// Reads one service.
pub fn read(raw: &RawService, files: &dyn Files, cx: &mut Cx) -> Svc {
    let name = raw.name.as_str();
    let mut s = Svc {
        compose: raw.name.clone(),
        span: raw.span,
        image: None,
        aliases: vec![raw.name.clone()],
        container_name: None,
        network_mode: None,
        ports: Vec::new(),
        volumes: Vec::new(),
        env: BTreeMap::new(),
        command: None,
        devices: Vec::new(),
        cap_add: Vec::new(),
        privileged: false,
        healthcheck: None,
        cpus: None,
        memory: None,
        depends_on: Vec::new(),
        labels: Vec::new(),
        raw: Vec::new(),
    };
    let Some(map) = raw.body.as_map() else {
        cx.at(raw.span, Level::Differs, Some(name), "its definition is not a mapping; not imported");
        return s;
    };
    // `env_file` first: `environment` overrides it.
    if let Some(files_node) = raw.body.get("env_file") {
        read_env_files(&mut s, files_node, files, cx);
    }
    for (key, v) in map {
        let k = key.name.as_str();
        match k {
            "image" => s.image = cx.string(v),
            "build" => {
                let msg = if raw.body.get("image").is_some() {
                    "`build:` is not imported: the spec runs the image named by `image:`, build and push it first"
                } else {
                    "`build:` without `image:`: the spec needs a pushed image; build it, push it and set `image:`"
                };
                cx.at(key.span, Level::Todo, Some(name), msg);
            }
            "container_name" => {
                if let Some(c) = cx.string(v) {
                    s.aliases.push(c.clone());
                    s.container_name = Some((c, v.span));
                }
            }
            "hostname" => {
                if let Some(h) = cx.string(v) {
                    s.aliases.push(h);
                }
            }
            "network_mode" => s.network_mode = cx.string(v).map(|m| (m, v.span)),
            "networks" => networks(&mut s, v, cx),
            "ports" => {
                for item in v.as_seq().unwrap_or_default() {
                    read_port(&mut s, item, cx);
                }
            }
            "volumes" => {
                for item in v.as_seq().unwrap_or_default() {
                    read_volume(&mut s, item, cx);
                }
            }
            "environment" => read_environment(&mut s, v, cx),
            "env_file" => {}
            "command" => {
                let cmd = command(v, cx);
                if let Some(flag) = cmd.as_deref().and_then(secret_flag) {
                    cx.at(
                        v.span,
                        Level::Todo,
                        Some(name),
                        format!("the command passes a secret (`{flag}`); not imported: give the value through a `secret:` environment variable"),
                    );
                } else {
                    s.command = cmd.map(|c| (c, v.span));
                }
            }
            // `/dev/x:/dev/x` is `/dev/x`: written short, it matches the catalog's devices.
            "devices" => {
                s.devices = strings(v, cx)
                    .into_iter()
                    .map(|d| match d.split_once(':') {
                        Some((a, b)) if a == b => a.to_string(),
                        _ => d,
                    })
                    .collect()
            }
            "cap_add" => s.cap_add = strings(v, cx),
            "privileged" => s.privileged = cx.string(v).is_some_and(|b| b == "true"),
            "healthcheck" => s.healthcheck = healthcheck(name, v, cx).map(|h| (h, v.span)),
            "cpus" => s.cpus = cx.string(v),
            "mem_limit" => s.memory = cx.string(v).and_then(|m| size(&m)),
            "deploy" => deploy(&mut s, v, cx),
            "depends_on" => {
                let names: Vec<(String, Span)> = match &v.value {
                    Value::Seq(items) => items.iter().filter_map(|i| cx.string(i).map(|n| (n, i.span))).collect(),
                    Value::Map(m) => m.iter().map(|(k, _)| (k.name.clone(), k.span)).collect(),
                    _ => Vec::new(),
                };
                s.depends_on = names;
            }
            "labels" => {
                for (lk, lv) in entries(v) {
                    let value = cx.string(&lv).unwrap_or_default();
                    // Labels are carried as text: one that holds a credential is not.
                    let inline = crate::relations::url(&value).is_some_and(|u| u.password.is_some());
                    if !value.is_empty() && (inline || crate::secrets::secret_name(&lk.name.replace(['.', '-'], "_"))) {
                        cx.at(
                            lk.span,
                            Level::Todo,
                            Some(name),
                            format!("label `{}` holds a secret; not imported", lk.name),
                        );
                        continue;
                    }
                    s.labels.push((lk.name.clone(), value, lk.span));
                }
            }
            "restart" => {
                if let Some(r) = cx.string(v).filter(|r| r != "unless-stopped") {
                    s.raw.push(("restart".into(), serde_json::Value::String(r)));
                }
            }
            "entrypoint" => {
                let argv = command(v, cx).unwrap_or_default();
                if let Some(flag) = secret_flag(&argv) {
                    cx.at(
                        v.span,
                        Level::Todo,
                        Some(name),
                        format!("the entrypoint passes a secret (`{flag}`); not imported: give the value through a `secret:` environment variable"),
                    );
                } else {
                    let j = json(v, cx);
                    s.raw.push((k.to_string(), j));
                }
            }
            k if RAW_KEYS.contains(&k) => {
                let j = json(v, cx);
                s.raw.push((k.to_string(), j));
            }
            k if SILENT.contains(&k) || k.starts_with("x-") => {}
            "links" | "external_links" => cx.at(
                key.span,
                Level::Differs,
                Some(name),
                format!("`{k}:` is not imported: services of one stack reach each other by name"),
            ),
            "secrets" | "configs" => cx.at(
                key.span,
                Level::Todo,
                Some(name),
                format!(
                    "`{k}:` (Compose files mounted under /run/secrets or as configs) is not imported: mount the file with `mounts:`, or pass the value as a `secret:` environment variable"
                ),
            ),
            "volumes_from" => cx.at(
                key.span,
                Level::Differs,
                Some(name),
                "`volumes_from:` is not imported: give the service the same `mounts:`",
            ),
            other => cx.at(key.span, Level::Differs, Some(name), format!("`{other}:` is not imported")),
        }
    }
    s
}

fn networks(s: &mut Svc, v: &Node, cx: &mut Cx) {
    let names: Vec<(String, Option<&Node>, Span)> = match &v.value {
        Value::Seq(items) => items.iter().filter_map(|i| cx.string(i).map(|n| (n, None, i.span))).collect(),
        Value::Map(m) => m.iter().map(|(k, body)| (k.name.clone(), Some(body), k.span)).collect(),
        _ => Vec::new(),
    };
    for (n, body, span) in names {
        if let Some(aliases) = body.and_then(|b| b.get("aliases")) {
            s.aliases.extend(strings(aliases, cx));
        }
        if n != "default" {
            cx.at(
                span,
                Level::Differs,
                Some(&s.compose),
                format!("network `{n}` is not imported: each stack gets one network of its own"),
            );
        }
    }
}

fn read_env_files(s: &mut Svc, node: &Node, files: &dyn Files, cx: &mut Cx) {
    let items: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    for item in items {
        let (path, required) = match item.as_scalar() {
            Some(_) => (cx.string(item), true),
            None => (
                item.get("path").and_then(|p| cx.string(p)),
                item.get("required").and_then(|r| cx.string(r)).is_none_or(|r| r != "false"),
            ),
        };
        let Some(path) = path else { continue };
        let path = PathBuf::from(path);
        let text = match files.read(&path) {
            Ok(t) => t,
            Err(e) => {
                if required {
                    cx.at(
                        item.span,
                        Level::Todo,
                        Some(&s.compose),
                        format!("env file `{}` cannot be read ({e}); its variables are missing", path.display()),
                    );
                }
                continue;
            }
        };
        let path = cx.shown(&path);
        cx.sources.add(path.clone(), text.clone());
        let env = cx.env.clone();
        for e in dotenv::parse(&text, &env) {
            let value = match e.value {
                Some(v) => {
                    cx.problems(&v, Some(path.clone()), e.line);
                    Some((v.text, v.whole))
                }
                None => env.get(&e.key).map(|v| (v.clone(), Some(e.key.clone()))),
            };
            if let Some((value, from_var)) = value {
                s.env.insert(e.key, EnvVar { value, at: (path.clone(), e.line), from_var });
            }
        }
    }
}

fn read_environment(s: &mut Svc, node: &Node, cx: &mut Cx) {
    for (k, v) in entries(node) {
        let at = cx.place(k.span);
        if v.is_null() {
            // `KEY` alone: the value Compose runs with, when it is set there.
            match cx.env.get(&k.name).cloned() {
                Some(value) => {
                    s.env.insert(k.name.clone(), EnvVar { value, at, from_var: Some(k.name.clone()) });
                }
                None => {
                    s.env.remove(&k.name);
                    cx.at(
                        k.span,
                        Level::Differs,
                        Some(&s.compose),
                        format!(
                            "environment `{}` takes its value from the environment, where it is not set; not imported",
                            k.name
                        ),
                    );
                }
            }
            continue;
        }
        let Some(got) = cx.text(&v) else {
            let value = json(&v, cx);
            let value = match value {
                serde_json::Value::String(t) => t,
                other => other.to_string(),
            };
            s.env.insert(k.name.clone(), EnvVar { value, at, from_var: None });
            continue;
        };
        s.env.insert(k.name.clone(), EnvVar { value: got.text, at, from_var: got.whole });
    }
}

fn read_port(s: &mut Svc, item: &Node, cx: &mut Cx) {
    let parsed = match &item.value {
        Value::Scalar(_) => cx.string(item).map(|t| ports::short(&t)),
        Value::Map(_) => {
            let field = |cx: &mut Cx, k: &str| item.get(k).and_then(|n| cx.string(n));
            let target = field(cx, "target");
            let published = field(cx, "published");
            let protocol = field(cx, "protocol");
            let host_ip = field(cx, "host_ip");
            target.map(|t| ports::long(&t, published.as_deref(), protocol.as_deref(), host_ip.as_deref()))
        }
        _ => None,
    };
    match parsed {
        Some(Ok(list)) => s.ports.extend(list.into_iter().map(|p| (p, item.span))),
        Some(Err(msg)) => cx.at(item.span, Level::Differs, Some(&s.compose), format!("{msg}; not imported")),
        None => cx.at(item.span, Level::Differs, Some(&s.compose), "a port entry without a port; not imported"),
    }
}

fn read_volume(s: &mut Svc, item: &Node, cx: &mut Cx) {
    let parsed = match &item.value {
        Value::Scalar(_) => cx.string(item).map(|t| volumes::short(&t)),
        Value::Map(_) => {
            let field = |cx: &mut Cx, k: &str| item.get(k).and_then(|n| cx.string(n));
            let kind = field(cx, "type");
            let source = field(cx, "source");
            let target = field(cx, "target");
            let readonly = field(cx, "read_only").is_some_and(|r| r == "true");
            target.map(|t| Ok(volumes::long(kind.as_deref(), source.as_deref(), &t, readonly)))
        }
        _ => None,
    };
    match parsed {
        Some(Ok(v)) => s.volumes.push((v, item.span)),
        Some(Err(msg)) => cx.at(item.span, Level::Differs, Some(&s.compose), format!("{msg}; not imported")),
        None => cx.at(item.span, Level::Differs, Some(&s.compose), "a volume entry without a target; not imported"),
    }
}

fn strings(v: &Node, cx: &mut Cx) -> Vec<String> {
    match &v.value {
        Value::Seq(items) => items.iter().filter_map(|i| cx.string(i)).collect(),
        Value::Scalar(_) => cx.string(v).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// A command as an argument vector: a list as written, a string split as a shell would
/// (Compose does the same).
fn command(v: &Node, cx: &mut Cx) -> Option<Vec<String>> {
    match &v.value {
        Value::Seq(_) => Some(strings(v, cx)),
        Value::Scalar(_) => cx.string(v).map(|t| shell_words(&t)),
        _ => None,
    }
}

/// The first argument of a command that passes a credential (`--requirepass x`,
/// `--password=x`), which the spec must not hold as text.
fn secret_flag(argv: &[String]) -> Option<&str> {
    argv.iter().find_map(|a| {
        if crate::relations::url(a.split_once('=').map_or(a.as_str(), |(_, v)| v)).is_some_and(|u| u.password.is_some())
        {
            return Some("a URL with a password");
        }
        let flag = a.trim_start_matches('-');
        let name = flag.split('=').next().unwrap_or(flag).to_ascii_uppercase().replace('-', "_");
        (a.starts_with('-') && (crate::secrets::secret_name(&name) || name.contains("PASS")))
            .then(|| a.split('=').next().unwrap_or(a))
    })
}

/// Splits a command line into words: spaces separate, quotes group, a backslash escapes.
pub fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        q => cur.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// A compose healthcheck as the spec's: `command` (an argument vector; `CMD-SHELL` through
/// `sh -c`) and the timings.
fn healthcheck(name: &str, v: &Node, cx: &mut Cx) -> Option<Out> {
    if v.get("disable").and_then(|d| cx.string(d)).is_some_and(|d| d == "true") {
        cx.at(v.span, Level::Differs, Some(name), "`healthcheck: { disable: true }` is not imported");
        return None;
    }
    let test = v.get("test")?;
    let argv: Vec<String> = match &test.value {
        Value::Scalar(_) => vec!["sh".into(), "-c".into(), cx.string(test)?],
        Value::Seq(_) => {
            let items = strings(test, cx);
            match items.split_first() {
                Some((first, rest)) if first == "CMD" => rest.to_vec(),
                Some((first, rest)) if first == "CMD-SHELL" => {
                    vec!["sh".into(), "-c".into(), rest.join(" ")]
                }
                Some((first, _)) if first == "NONE" => {
                    cx.at(test.span, Level::Differs, Some(name), "`healthcheck: [NONE]` is not imported");
                    return None;
                }
                _ => items,
            }
        }
        _ => return None,
    };
    let mut m = vec![probe(&argv).unwrap_or_else(|| ("command".to_string(), Out::strs(&argv)))];
    for k in ["interval", "timeout", "start_period"] {
        if let Some(d) = v.get(k).and_then(|d| cx.string(d)) {
            match duration(&d) {
                Some(d) => m.push((k.to_string(), Out::Plain(d))),
                None => cx.at(
                    v.span,
                    Level::Differs,
                    Some(name),
                    format!("healthcheck `{k}: {d}` is not a duration; not imported"),
                ),
            }
        }
    }
    if let Some(r) = v.get("retries").and_then(|r| cx.string(r)).and_then(|r| r.parse::<u64>().ok()) {
        m.push(("retries".into(), Out::Int(r)));
    }
    if v.get("start_interval").is_some() {
        cx.at(v.span, Level::Differs, Some(name), "healthcheck `start_interval` is not imported");
    }
    Some(Out::Map(m))
}

/// The spec's `http:` or `tcp:` probe for a command that only fetches a local URL with curl or
/// wget (`curl -f http://localhost:8096/health`, Hearth's own `wget … || curl … || exit 1`) or
/// opens a local port with `nc -z`; `None` for anything else, which stays a command.
fn probe(argv: &[String]) -> Option<(String, Out)> {
    let line = match argv {
        [sh, c, script] if (sh == "sh" || sh == "/bin/sh") && c == "-c" => script.clone(),
        _ => argv.join(" "),
    };
    let local = |host: &str| matches!(host, "localhost" | "127.0.0.1" | "0.0.0.0" | "[::1]");
    let mut target: Option<(String, String)> = None;
    let mut tcp: Option<String> = None;
    for part in line.split("||").map(str::trim) {
        let words = shell_words(part);
        // Anything more than one command (`&&`, `;`, pipes, redirections) stays a command.
        let plain = !["&&", ";", "|", "`", "$(", ">", "<"].iter().any(|op| part.contains(op));
        if !plain && words.first().is_none_or(|w| w != "bash") {
            return None;
        }
        match words.first().map(String::as_str) {
            Some("exit") if words.get(1).is_some_and(|c| c == "1") => {}
            Some("curl" | "wget") => {
                let url = words.iter().find_map(|w| w.strip_prefix("http://"))?;
                let (hostport, path) =
                    url.split_once('/').map_or((url, "/".to_string()), |(h, p)| (h, format!("/{p}")));
                let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "80"));
                if !local(host) || port.parse::<u16>().is_err() {
                    return None;
                }
                let this = (port.to_string(), path);
                if target.as_ref().is_some_and(|t| *t != this) {
                    return None;
                }
                target = Some(this);
            }
            Some("nc") if words.get(1).is_some_and(|f| f == "-z") && words.len() == 4 && local(&words[2]) => {
                words[3].parse::<u16>().ok()?;
                tcp = Some(words[3].clone());
            }
            Some("bash") if part.contains("/dev/tcp/127.0.0.1/") && tcp.is_some() => {}
            _ => return None,
        }
    }
    match (target, tcp) {
        (Some((port, path)), None) => {
            Some(("http".to_string(), Out::Map(vec![("port".into(), Out::s(&port)), ("path".into(), Out::s(&path))])))
        }
        (None, Some(port)) => Some(("tcp".to_string(), Out::s(&port))),
        _ => None,
    }
}

/// A Compose duration (`1m30s`, `500ms`) in the spec's units: the largest unit that is exact.
pub fn duration(text: &str) -> Option<String> {
    let mut ms: u128 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let factor: f64 = match &rest[..unit_len] {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" | "" => 1000.0,
            "ms" => 1.0,
            "us" | "µs" => 0.001,
            "ns" => 0.000_001,
            _ => return None,
        };
        ms += (number * factor).round() as u128;
        rest = &rest[unit_len..];
    }
    Some(if ms == 0 {
        "0s".into()
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    })
}

/// A Compose byte size (`512m`, `1gb`, `2048`) as a spec size.
pub fn size(text: &str) -> Option<String> {
    let t = text.trim().to_ascii_lowercase();
    let digits = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let number: f64 = t[..digits].parse().ok()?;
    let factor: f64 = match t[digits..].trim() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = (number * factor).round() as u64;
    const UNITS: [(u64, &str); 4] = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    Some(
        UNITS
            .iter()
            .find(|(n, _)| bytes > 0 && bytes.is_multiple_of(*n))
            .map_or_else(|| bytes.to_string(), |(n, u)| format!("{}{u}", bytes / n)),
    )
}

fn deploy(s: &mut Svc, v: &Node, cx: &mut Cx) {
    let name = s.compose.clone();
    for (k, body) in v.as_map().unwrap_or_default() {
        if k.name != "resources" {
            cx.at(k.span, Level::Differs, Some(&name), format!("`deploy.{}` is not imported (Swarm only)", k.name));
            continue;
        }
        for (rk, rv) in body.as_map().unwrap_or_default() {
            match rk.name.as_str() {
                "limits" => {
                    for (lk, lv) in rv.as_map().unwrap_or_default() {
                        match lk.name.as_str() {
                            "cpus" => s.cpus = cx.string(lv),
                            "memory" => s.memory = cx.string(lv).and_then(|m| size(&m)),
                            other => cx.at(
                                lk.span,
                                Level::Differs,
                                Some(&name),
                                format!("`deploy.resources.limits.{other}` is not imported"),
                            ),
                        }
                    }
                }
                "reservations" => {
                    for (lk, lv) in rv.as_map().unwrap_or_default() {
                        if lk.name == "devices" {
                            // GPUs: the escape hatch carries the reservation as Compose reads it.
                            let devices = json(lv, cx);
                            s.raw.push((
                                "deploy".into(),
                                serde_json::json!({ "resources": { "reservations": { "devices": devices } } }),
                            ));
                        } else {
                            cx.at(
                                lk.span,
                                Level::Differs,
                                Some(&name),
                                format!("`deploy.resources.reservations.{}` is not imported", lk.name),
                            );
                        }
                    }
                }
                other => {
                    cx.at(rk.span, Level::Differs, Some(&name), format!("`deploy.resources.{other}` is not imported"))
                }
            }
        }
    }
}

/// A node as JSON for the `compose:` escape hatch, scalars interpolated and typed as Compose
/// types them (unquoted `true`, numbers).
pub fn json(node: &Node, cx: &mut Cx) -> serde_json::Value {
    match &node.value {
        Value::Null => serde_json::Value::Null,
        Value::Scalar(sc) => {
            let t = cx.string(node).unwrap_or_default();
            if sc.quoted {
                return t.into();
            }
            match t.as_str() {
                "true" | "True" | "TRUE" => true.into(),
                "false" | "False" | "FALSE" => false.into(),
                _ => t
                    .parse::<i64>()
                    .map(serde_json::Value::from)
                    .or_else(|_| {
                        t.parse::<f64>()
                            .ok()
                            .filter(|f| f.is_finite() && t.contains('.'))
                            .map(serde_json::Value::from)
                            .ok_or(())
                    })
                    .unwrap_or_else(|_| t.into()),
            }
        }
        Value::Seq(items) => items.iter().map(|i| json(i, cx)).collect(),
        Value::Map(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                out.insert(k.name.clone(), json(v, cx));
            }
            serde_json::Value::Object(out)
        }
    }
}

/// Whether an env value is a placeholder Hearth's renderer writes for a secret
/// (`{{secret:NAME}}`), and its name.
pub fn placeholder(value: &str) -> Option<&str> {
    let name = value.strip_prefix("{{secret:")?.strip_suffix("}}")?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(duration("1m30s").as_deref(), Some("90s"));
        assert_eq!(duration("2m").as_deref(), Some("2m"));
        assert_eq!(duration("1h").as_deref(), Some("1h"));
        assert_eq!(duration("500ms").as_deref(), Some("500ms"));
        assert_eq!(duration("10").as_deref(), Some("10s"));
        assert_eq!(duration("x"), None);
        assert_eq!(size("512m").as_deref(), Some("512MiB"));
        assert_eq!(size("1gb").as_deref(), Some("1GiB"));
        assert_eq!(size("1.5g").as_deref(), Some("1536MiB"));
        assert_eq!(size("1000").as_deref(), Some("1000"));
    }

    #[test]
    fn probes() {
        fn check(argv: &[&str], expected: Option<&str>) {
            let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
            let got = probe(&argv).map(|(k, v)| format!("{k}: {}", v.to_block(&hearth_spec::emit::scalar).trim_end()));
            assert_eq!(got.as_deref(), expected, "{argv:?}");
        }
        check(&["curl", "-f", "http://localhost:8096/health"], Some("http: port: \"8096\"\npath: /health"));
        check(
            &[
                "sh",
                "-c",
                "wget -q -O /dev/null 'http://127.0.0.1:8080/' || curl -fsS -o /dev/null 'http://127.0.0.1:8080/' || exit 1",
            ],
            Some("http: port: \"8080\"\npath: /"),
        );
        check(
            &["sh", "-c", "nc -z 127.0.0.1 6379 || bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379' || exit 1"],
            Some("tcp: \"6379\""),
        );
        check(&["curl", "-f", "http://example.com/"], None);
        check(&["curl", "-f", "https://localhost/"], None);
        check(&["pg_isready", "-U", "postgres"], None);
        check(&["sh", "-c", "curl http://localhost:1/a && rm -rf /"], None);
    }

    #[test]
    fn words() {
        assert_eq!(shell_words("a  'b c' \"d\\\"e\" f\\ g"), vec!["a", "b c", "d\"e", "f g"]);
        assert_eq!(placeholder("{{secret:x-y}}"), Some("x-y"));
        assert_eq!(placeholder("{{secret:}}"), None);
    }
}
