//! A Compose project as Compose assembles it: the compose file (and its override file when a
//! folder is given), `.env`, `extends` (from the same file or another one) and profiles. Paths
//! are made absolute against the file that wrote them, before services from different files are
//! merged, as Compose does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use hearth_spec::yaml::{Key, Node, Value};
use hearth_spec::{FileId, Span};

use crate::dotenv;
use crate::report::{Cx, Level};
use crate::{Error, Files};

/// The names Compose looks for in a folder, in its order of preference.
const MAIN_FILES: [&str; 4] = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];
const OVERRIDE_FILES: [&str; 4] =
    ["compose.override.yaml", "compose.override.yml", "docker-compose.override.yaml", "docker-compose.override.yml"];

/// One service of a project, its extends and overrides merged.
#[derive(Debug, Clone)]
pub struct RawService {
    pub name: String,
    /// The service's key in the file that defined it.
    pub span: Span,
    pub body: Node,
}

/// A loaded project.
pub struct Project {
    pub name: String,
    /// The active services, in file order.
    pub services: Vec<RawService>,
    /// Top-level named volumes (`volumes:`), by name.
    pub volumes: BTreeMap<String, Node>,
}

/// Loads the project at `path` (a compose file, or a folder holding one).
pub fn load(path: &Path, files: &dyn Files, cwd: &Path, cx: &mut Cx) -> Result<Project, Error> {
    let (dir, paths) = if files.is_dir(path) {
        let main = MAIN_FILES
            .iter()
            .map(|f| path.join(f))
            .find(|p| files.exists(p))
            .ok_or_else(|| Error::NoComposeFile { dir: path.to_path_buf(), looked_for: MAIN_FILES.join("`, `") })?;
        let mut paths = vec![main];
        paths.extend(OVERRIDE_FILES.iter().map(|f| path.join(f)).find(|p| files.exists(p)));
        (path.to_path_buf(), paths)
    } else {
        (path.parent().map(Path::to_path_buf).unwrap_or_default(), vec![path.to_path_buf()])
    };
    // `.env` feeds interpolation; the environment Hearth runs in wins over it, as in Compose.
    let dotenv_path = dir.join(".env");
    if files.exists(&dotenv_path) {
        let text = files.read(&dotenv_path).map_err(|e| Error::Read { path: dotenv_path.clone(), source: e })?;
        let process = cx.env.clone();
        for e in dotenv::parse(&text, &process) {
            if let Some(v) = e.value {
                cx.problems(&v, Some(dotenv_path.clone()), e.line);
                cx.env.entry(e.key).or_insert(v.text);
            }
        }
    }
    let mut loader = Loader { files, cwd, parsed: BTreeMap::new() };
    let mut services: Vec<RawService> = Vec::new();
    let mut volumes = BTreeMap::new();
    let mut name = None;
    // Compose's top-level `include:` adds the services of other files (relative to the file
    // that includes them); they are read after the file that names them, once each.
    let mut queue: Vec<PathBuf> = paths.clone();
    let mut i = 0;
    while i < queue.len() {
        let p = queue[i].clone();
        i += 1;
        let p = &p;
        let root = loader.parse(p, cx)?;
        for inc in root.get("include").and_then(|n| n.as_seq()).unwrap_or_default() {
            let listed: Vec<String> = match (inc.as_scalar(), inc.get("path")) {
                (Some(_), _) => cx.string(inc).into_iter().collect(),
                (None, Some(path)) if path.as_seq().is_some() => {
                    path.as_seq().unwrap_or_default().iter().filter_map(|x| cx.string(x)).collect()
                }
                (None, Some(path)) => cx.string(path).into_iter().collect(),
                (None, None) => Vec::new(),
            };
            for f in listed {
                let full = PathBuf::from(join(p.parent().unwrap_or(Path::new("")), &f));
                if queue.len() < 64 && !queue.contains(&full) {
                    queue.push(full);
                }
            }
        }
        if let Some(n) = root.get("name").and_then(|n| cx.string(n)) {
            name = Some(n);
        }
        if let Some(map) = root.get("volumes").and_then(Node::as_map) {
            for (k, v) in map {
                volumes.insert(k.name.clone(), v.clone());
            }
        }
        for (key, body) in root.get("services").and_then(Node::as_map).unwrap_or_default() {
            let body = loader.extended(p, &key.name, body, cx, 0)?;
            match services.iter_mut().find(|s| s.name == key.name) {
                Some(existing) => existing.body = merge(&existing.body, &body),
                None => services.push(RawService { name: key.name.clone(), span: key.span, body }),
            }
        }
        for (key, value) in root.as_map().unwrap_or_default() {
            if !matches!(key.name.as_str(), "services" | "volumes" | "name" | "version" | "networks" | "include")
                && !key.name.starts_with("x-")
            {
                let _ = value;
                cx.at(key.span, Level::Differs, None, format!("top-level `{}:` is not imported", key.name));
            }
        }
    }
    let name =
        name.or_else(|| cx.env.get("COMPOSE_PROJECT_NAME").cloned()).unwrap_or_else(|| dir_name(&absolute(cwd, &dir)));
    let active: BTreeSet<String> = cx
        .env
        .get("COMPOSE_PROFILES")
        .map(|p| p.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let mut kept = Vec::new();
    for s in services {
        let profiles: Vec<String> = s
            .body
            .get("profiles")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| cx.string(p))
            .collect();
        if !profiles.is_empty() && !profiles.iter().any(|p| active.contains(p) || p == "*") {
            cx.at(
                s.span,
                Level::Differs,
                Some(&s.name),
                format!(
                    "not imported: it runs only with the profile {} (`COMPOSE_PROFILES` selects profiles)",
                    profiles.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
                ),
            );
            continue;
        }
        kept.push(s);
    }
    Ok(Project { name: project_name(&name), services: kept, volumes })
}

/// Reads and parses compose files once each, with their relative paths made absolute.
struct Loader<'a> {
    files: &'a dyn Files,
    cwd: &'a Path,
    parsed: BTreeMap<PathBuf, Node>,
}

impl Loader<'_> {
    fn parse(&mut self, path: &Path, cx: &mut Cx) -> Result<Node, Error> {
        if let Some(n) = self.parsed.get(path) {
            return Ok(n.clone());
        }
        let text = self.files.read(path).map_err(|e| Error::Read { path: path.to_path_buf(), source: e })?;
        let id: FileId = cx.sources.add(path.to_path_buf(), text.clone());
        let (root, diags) = hearth_spec::yaml::parse(id, &text);
        if let Some(d) = diags.first() {
            let (file, line) = cx.place(d.primary.span);
            return Err(Error::Yaml { path: file, line, message: d.message.clone() });
        }
        let Some(mut root) = root else {
            return Err(Error::Yaml { path: path.to_path_buf(), line: 1, message: "the file is empty".into() });
        };
        let dir = absolute(self.cwd, path.parent().unwrap_or(Path::new("")));
        if let Value::Map(entries) = &mut root.value {
            for (k, v) in entries.iter_mut() {
                if k.name == "services"
                    && let Value::Map(services) = &mut v.value
                {
                    for (_, s) in services.iter_mut() {
                        rebase(s, &dir);
                    }
                }
            }
        }
        self.parsed.insert(path.to_path_buf(), root.clone());
        Ok(root)
    }

    /// A service body with its `extends` chain merged under it.
    fn extended(&mut self, file: &Path, name: &str, body: &Node, cx: &mut Cx, depth: usize) -> Result<Node, Error> {
        let Some(ext) = body.get("extends") else { return Ok(body.clone()) };
        if depth > 16 {
            cx.at(ext.span, Level::Differs, Some(name), "`extends` nests too deeply; the base is not merged");
            return Ok(without(body, "extends"));
        }
        let (base_name, base_file) = match (ext.as_scalar(), ext.get("service")) {
            (Some(_), _) => (cx.string(ext), None),
            (None, Some(s)) => (cx.string(s), ext.get("file").and_then(|f| cx.string(f))),
            (None, None) => (None, None),
        };
        let Some(base_name) = base_name else {
            cx.at(ext.span, Level::Differs, Some(name), "`extends` names no service; nothing is merged");
            return Ok(without(body, "extends"));
        };
        // `file` was made absolute by `rebase`, against the file that wrote it.
        let base_path = base_file.map_or_else(|| file.to_path_buf(), PathBuf::from);
        let root = self.parse(&base_path, cx)?;
        let Some(base) = root.get("services").and_then(|s| s.get(&base_name)).cloned() else {
            cx.at(
                ext.span,
                Level::Differs,
                Some(name),
                format!("`extends` names `{base_name}`, which `{}` does not define", base_path.display()),
            );
            return Ok(without(body, "extends"));
        };
        let base = self.extended(&base_path, &base_name, &base, cx, depth + 1)?;
        Ok(merge(&base, &without(body, "extends")))
    }
}

fn without(node: &Node, key: &str) -> Node {
    let mut n = node.clone();
    if let Value::Map(entries) = &mut n.value {
        entries.retain(|(k, _)| k.name != key);
    }
    n
}

/// Makes the relative paths of a service absolute against `dir`: bind sources, `env_file`,
/// `extends.file` and `build` contexts.
fn rebase(service: &mut Node, dir: &Path) {
    let Value::Map(entries) = &mut service.value else { return };
    for (k, v) in entries.iter_mut() {
        match k.name.as_str() {
            "env_file" => match &mut v.value {
                Value::Scalar(s) => s.text = join(dir, &s.text),
                Value::Seq(items) => {
                    for i in items {
                        match &mut i.value {
                            Value::Scalar(s) => s.text = join(dir, &s.text),
                            Value::Map(m) => {
                                for (pk, pv) in m.iter_mut() {
                                    if pk.name == "path"
                                        && let Value::Scalar(s) = &mut pv.value
                                    {
                                        s.text = join(dir, &s.text);
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            },
            "extends" => {
                if let Value::Map(m) = &mut v.value {
                    for (pk, pv) in m.iter_mut() {
                        if pk.name == "file"
                            && let Value::Scalar(s) = &mut pv.value
                        {
                            s.text = join(dir, &s.text);
                        }
                    }
                }
            }
            "volumes" => {
                if let Value::Seq(items) = &mut v.value {
                    for i in items {
                        match &mut i.value {
                            Value::Scalar(s) if s.text.starts_with('.') => {
                                let (src, rest) = s.text.split_once(':').unwrap_or((&s.text, ""));
                                let src = join(dir, src);
                                s.text = if rest.is_empty() { src } else { format!("{src}:{rest}") };
                            }
                            Value::Map(m) => {
                                for (pk, pv) in m.iter_mut() {
                                    if pk.name == "source"
                                        && let Value::Scalar(s) = &mut pv.value
                                        && s.text.starts_with('.')
                                    {
                                        s.text = join(dir, &s.text);
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// `dir/rel` with `.` and `..` folded away; absolute paths and `${…}` are left as they are.
fn join(dir: &Path, rel: &str) -> String {
    if rel.starts_with('/') || rel.starts_with('$') || rel.starts_with('~') {
        return rel.to_string();
    }
    normalize(&dir.join(rel)).to_string_lossy().into_owned()
}

pub fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    normalize(&if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) })
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn dir_name(dir: &Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "imported".into())
}

/// A project name as Compose normalises it: lowercase letters, digits, `-` and `_`.
fn project_name(raw: &str) -> String {
    raw.to_ascii_lowercase().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

/// Keys whose lists Compose concatenates when merging (`extends`, override files).
const CONCATENATED: &[&str] = &[
    "ports",
    "expose",
    "dns",
    "dns_search",
    "tmpfs",
    "cap_add",
    "cap_drop",
    "env_file",
    "external_links",
    "security_opt",
];
/// Keys whose values are mappings (or `KEY=VALUE` lists) merged key by key.
const KEYED: &[&str] = &["environment", "labels", "extra_hosts", "sysctls"];
/// Keys whose mappings merge recursively.
const DEEP: &[&str] = &["healthcheck", "deploy", "logging", "build", "ulimits", "depends_on"];

/// `over` merged onto `base` with Compose's rules.
pub fn merge(base: &Node, over: &Node) -> Node {
    let (Some(b), Some(o)) = (base.as_map(), over.as_map()) else { return over.clone() };
    let mut out: Vec<(Key, Node)> = b.to_vec();
    for (k, v) in o {
        let Some(slot) = out.iter_mut().find(|(bk, _)| bk.name == k.name) else {
            out.push((k.clone(), v.clone()));
            continue;
        };
        let merged = if CONCATENATED.contains(&k.name.as_str()) {
            concat(&slot.1, v)
        } else if KEYED.contains(&k.name.as_str()) {
            keyed(&slot.1, v)
        } else if k.name == "volumes" || k.name == "devices" {
            by_target(&slot.1, v)
        } else if DEEP.contains(&k.name.as_str()) && slot.1.as_map().is_some() && v.as_map().is_some() {
            merge(&slot.1, v)
        } else {
            v.clone()
        };
        *slot = (k.clone(), merged);
    }
    Node { value: Value::Map(out), span: over.span }
}

fn seq(n: &Node) -> Vec<Node> {
    match &n.value {
        Value::Seq(items) => items.clone(),
        Value::Null => Vec::new(),
        _ => vec![n.clone()],
    }
}

fn concat(base: &Node, over: &Node) -> Node {
    let mut items = seq(base);
    for i in seq(over) {
        if !items.iter().any(|b| b.value == i.value) {
            items.push(i);
        }
    }
    Node { value: Value::Seq(items), span: over.span }
}

/// A `KEY=VALUE` list or mapping as mapping entries (`KEY` alone has a null value).
pub fn entries(n: &Node) -> Vec<(Key, Node)> {
    match &n.value {
        Value::Map(m) => m.clone(),
        Value::Seq(items) => items
            .iter()
            .filter_map(|i| {
                let text = i.as_scalar()?;
                let (k, v) = match text.split_once('=') {
                    Some((k, v)) => (k, Some(v)),
                    None => (text, None),
                };
                let value = match v {
                    Some(v) => Value::Scalar(hearth_spec::yaml::Scalar { text: v.to_string(), quoted: true }),
                    None => Value::Null,
                };
                Some((Key { name: k.trim().to_string(), span: i.span }, Node { value, span: i.span }))
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn keyed(base: &Node, over: &Node) -> Node {
    let mut out = entries(base);
    for (k, v) in entries(over) {
        match out.iter_mut().find(|(bk, _)| bk.name == k.name) {
            Some(slot) => *slot = (k, v),
            None => out.push((k, v)),
        }
    }
    Node { value: Value::Map(out), span: over.span }
}

/// The container path of a volume or device entry, for merging by target.
fn target(n: &Node) -> Option<String> {
    match &n.value {
        Value::Scalar(s) => {
            let parts: Vec<&str> = s.text.split(':').collect();
            Some(if parts.len() >= 2 { parts[1] } else { parts[0] }.to_string())
        }
        Value::Map(_) => n.get("target").and_then(Node::as_scalar).map(str::to_string),
        _ => None,
    }
}

fn by_target(base: &Node, over: &Node) -> Node {
    let mut items = seq(base);
    for i in seq(over) {
        let t = target(&i);
        match items.iter_mut().find(|b| t.is_some() && target(b) == t) {
            Some(slot) => *slot = i,
            None => items.push(i),
        }
    }
    Node { value: Value::Seq(items), span: over.span }
}

/// `as_seq` for nodes, which hearth-spec's tree does not offer.
pub trait SeqExt {
    fn as_seq(&self) -> Option<&[Node]>;
}

impl SeqExt for Node {
    fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }
}
