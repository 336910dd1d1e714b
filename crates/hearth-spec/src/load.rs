//! Loading a spec from files: the root, its includes, and merging them into one [`Spec`].

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use crate::ast::Spec;
use crate::decode::{Cx, Decode, NamedMap};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, SourceMap, Span};
use crate::yaml;

/// Where spec files are read from: the file system, or memory in tests and fuzzing.
pub trait Files {
    fn read(&self, path: &Path) -> io::Result<String>;
    /// `*.yaml` and `*.yml` files directly inside a folder, or `None` if `path` is not a folder.
    fn yaml_in_dir(&self, path: &Path) -> Option<Vec<PathBuf>>;
}

/// The real file system.
pub struct FsFiles;

impl Files for FsFiles {
    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn yaml_in_dir(&self, path: &Path) -> Option<Vec<PathBuf>> {
        let entries = std::fs::read_dir(path).ok()?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        files.sort();
        Some(files)
    }
}

/// A spec with every file it came from and every problem found while loading it.
#[derive(Debug)]
pub struct Loaded {
    pub spec: Spec,
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    /// The root file.
    pub root: PathBuf,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses and decodes one text as a root spec; for tests and fuzzing.
pub fn load_str(path: &str, text: &str) -> Loaded {
    let mut sources = SourceMap::new();
    let file = sources.add(path, text);
    let (root, mut diagnostics) = yaml::parse(file, text);
    let mut cx = Cx::new();
    let spec = decode_root(root.as_ref(), Span::new(file, 0, 0), &mut cx);
    diagnostics.append(&mut cx.diagnostics);
    let mut loaded = Loaded { spec, sources, diagnostics, root: PathBuf::from(path) };
    require_homelab(&mut loaded);
    crate::diagnostic::sort(&mut loaded.diagnostics);
    loaded
}

/// Loads a spec from `path`: a file, or a folder holding `hearth.yaml`. Follows `include:`.
pub fn load(path: &Path, files: &dyn Files) -> Loaded {
    let root = if files.yaml_in_dir(path).is_some() { path.join("hearth.yaml") } else { path.to_path_buf() };
    let mut loader = Loader {
        files,
        sources: SourceMap::new(),
        diagnostics: Vec::new(),
        seen: BTreeSet::new(),
        included_at: BTreeMap::new(),
    };
    let spec = loader.file(&root, None, true).unwrap_or_else(empty_spec);
    let mut loaded = Loaded { spec, sources: loader.sources, diagnostics: loader.diagnostics, root };
    if !loaded.diagnostics.iter().any(|d| d.code == Code::Io) {
        require_homelab(&mut loaded);
    }
    crate::diagnostic::sort(&mut loaded.diagnostics);
    loaded
}

fn require_homelab(loaded: &mut Loaded) {
    if loaded.spec.homelab.is_none()
        && !loaded.diagnostics.iter().any(|d| matches!(d.code, Code::YamlSyntax | Code::YamlLimit))
    {
        let span = loaded.spec.span;
        loaded.diagnostics.push(
            Diagnostic::new(Code::MissingKey, span, "the spec has no `homelab:` name")
                .help("start the root file with `homelab: <name>`, e.g. `homelab: home`")
                .suggest(Span { end: span.start, ..span }, "homelab: home\n"),
        );
    }
}

fn empty_spec() -> Spec {
    Spec {
        homelab: None,
        domain: None,
        include: Vec::new(),
        timezone: None,
        networks: NamedMap::default(),
        router: None,
        policy: None,
        hosts: NamedMap::default(),
        guests: NamedMap::default(),
        clusters: NamedMap::default(),
        services: NamedMap::default(),
        shares: NamedMap::default(),
        ingress: None,
        dns: None,
        monitoring: None,
        notifications: NamedMap::default(),
        backups: None,
        secrets: NamedMap::default(),
        admin: None,
        updates: None,
        decisions: NamedMap::default(),
        span: Span::default(),
        spans: Default::default(),
    }
}

/// Decodes the root mapping one top-level section at a time, so a bad value in one section
/// loses only that section: the rest of the spec (its name, its other sections) is still checked.
fn decode_root(root: Option<&yaml::Node>, empty: Span, cx: &mut Cx) -> Spec {
    let Some(node) = root else { return Spec { span: empty, ..empty_spec() } };
    let Some(entries) = node.as_map() else {
        cx.wrong_type(node, "a mapping of sections (`homelab:`, `guests:`, `services:` ...)");
        return Spec { span: node.span, ..empty_spec() };
    };
    let mut spec = Spec { span: node.span, ..empty_spec() };
    for (key, value) in entries {
        let single = yaml::Node { value: yaml::Value::Map(vec![(key.clone(), value.clone())]), span: node.span };
        if let Some(part) = Spec::decode(&single, cx) {
            take_section(&mut spec, part);
        }
    }
    spec
}

/// Moves the sections `part` has into `spec` (their keys are unique within one file).
fn take_section(spec: &mut Spec, part: Spec) {
    macro_rules! take_opt {
        ($($f:ident),*) => {$( if part.$f.is_some() { spec.$f = part.$f; } )*};
    }
    macro_rules! take_map {
        ($($f:ident),*) => {$( if !part.$f.is_empty() || !part.$f.broken.is_empty() { spec.$f = part.$f; } )*};
    }
    take_opt!(homelab, domain, timezone, router, policy, ingress, dns, monitoring, backups, admin, updates);
    take_map!(networks, hosts, guests, clusters, services, shares, notifications, secrets, decisions);
    if !part.include.is_empty() {
        spec.include = part.include;
    }
    spec.spans.extend(part.spans);
}

struct Loader<'a> {
    files: &'a dyn Files,
    sources: SourceMap,
    diagnostics: Vec<Diagnostic>,
    seen: BTreeSet<PathBuf>,
    /// For every included file, the `include:` entry that brought it in.
    included_at: BTreeMap<FileId, Span>,
}

/// Where a span is in reading order: the included file's text stands where its `include:`
/// entry is. One `(file, offset)` per level from the root file down to the span's own file, so
/// comparing two keys compares positions; two files of one folder include, which share the
/// entry, compare by load order (their file ids).
fn reading_key(included_at: &BTreeMap<FileId, Span>, span: Span) -> Vec<(FileId, u32)> {
    let mut key = vec![(span.file, span.start)];
    let mut file = span.file;
    while let Some(at) = included_at.get(&file) {
        // An include cycle is refused before it gets here; the bound only guards the loop.
        if key.len() > 64 {
            break;
        }
        key.push((at.file, at.start));
        file = at.file;
    }
    key.reverse();
    key
}

impl Loader<'_> {
    /// Loads one file and, recursively, what it includes. `from` is the `include:` entry that
    /// named it, for error locations.
    fn file(&mut self, path: &Path, from: Option<Span>, is_root: bool) -> Option<Spec> {
        let canonical = normalize(path);
        if !self.seen.insert(canonical.clone()) {
            if let Some(span) = from {
                self.diagnostics.push(
                    Diagnostic::new(Code::Include, span, format!("`{}` is included more than once", path.display()))
                        .help("include each file once; an include cycle also shows up this way"),
                );
            }
            return None;
        }
        let text = match self.files.read(path) {
            Ok(t) => t,
            Err(e) => {
                let message = format!("cannot read `{}`: {e}", path.display());
                let d = match from {
                    Some(span) => Diagnostic::new(Code::Include, span, message)
                        .help("check the path; it is relative to the file that includes it"),
                    None => {
                        // A file that cannot be read has no text to point into; register its name
                        // so the diagnostic still names it.
                        let span = Span { file: self.sources.add(path, ""), ..Span::default() };
                        Diagnostic::new(Code::Io, span, message)
                            .help("give the path of a spec file, or of a folder holding `hearth.yaml`")
                    }
                };
                self.diagnostics.push(d);
                return None;
            }
        };
        let file = self.sources.add(path, text);
        if let Some(at) = from {
            self.included_at.insert(file, at);
        }
        let text = self.sources.file(file).text.clone();
        let (root, mut diags) = yaml::parse(file, &text);
        self.diagnostics.append(&mut diags);
        let mut cx = Cx::new();
        let mut spec = decode_root(root.as_ref(), Span::new(file, 0, 0), &mut cx);
        self.diagnostics.append(&mut cx.diagnostics);
        if !is_root && let Some(h) = &spec.homelab {
            self.diagnostics.push(
                Diagnostic::new(Code::Include, h.span, "`homelab:` belongs in the root file only")
                    .help("remove it from this included file"),
            );
        }
        let includes = std::mem::take(&mut spec.include);
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for inc in &includes {
            let target = base.join(&inc.value);
            let paths = match self.files.yaml_in_dir(&target) {
                Some(list) => list,
                None => vec![target],
            };
            for p in paths {
                if let Some(part) = self.file(&p, Some(inc.span), false) {
                    merge(&mut spec, part, &self.included_at, &mut self.diagnostics);
                }
            }
        }
        spec.include = includes;
        Some(spec)
    }
}

/// `a/./b/../c` to `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Merges an included file's section; a name defined twice is reported at the definition read
/// second, and the one read first is kept.
fn merge_map<T>(
    into: &mut NamedMap<T>,
    from: NamedMap<T>,
    section: &str,
    order: &BTreeMap<FileId, Span>,
    diags: &mut Vec<Diagnostic>,
) {
    for entry in from.entries {
        if let Some(pos) = into.entries.iter().position(|e| e.name == entry.name) {
            let existing = into.entries[pos].key_span;
            let included_first = reading_key(order, entry.key_span) < reading_key(order, existing);
            let (first, second) = if included_first { (entry.key_span, existing) } else { (existing, entry.key_span) };
            diags.push(
                Diagnostic::new(
                    Code::DuplicateDefinition,
                    second,
                    format!("`{}` is defined twice under `{section}`", entry.name),
                )
                .label("second definition")
                .with(first, "first defined here")
                .help("rename one of them or remove the duplicate"),
            );
            if included_first {
                into.entries[pos] = entry;
            }
        } else {
            into.push(entry);
        }
    }
    into.broken.extend(from.broken);
}

fn merge_one<T>(
    into: &mut Option<T>,
    from: Option<T>,
    key_span: Option<Span>,
    first_span: Option<Span>,
    section: &str,
    diags: &mut Vec<Diagnostic>,
) {
    match (into.is_some(), from) {
        (_, None) => {}
        (false, Some(v)) => *into = Some(v),
        (true, Some(_)) => {
            let mut d = Diagnostic::new(
                Code::DuplicateDefinition,
                key_span.unwrap_or_default(),
                format!("`{section}:` is written in more than one file"),
            )
            .help(format!("keep all of `{section}:` in one file"));
            if let Some(first) = first_span {
                d = d.with(first, "first written here");
            }
            diags.push(d);
        }
    }
}

fn merge(spec: &mut Spec, part: Spec, order: &BTreeMap<FileId, Span>, diags: &mut Vec<Diagnostic>) {
    merge_map(&mut spec.networks, part.networks, "networks", order, diags);
    merge_map(&mut spec.hosts, part.hosts, "hosts", order, diags);
    merge_map(&mut spec.guests, part.guests, "guests", order, diags);
    merge_map(&mut spec.clusters, part.clusters, "clusters", order, diags);
    merge_map(&mut spec.services, part.services, "services", order, diags);
    merge_map(&mut spec.shares, part.shares, "shares", order, diags);
    merge_map(&mut spec.notifications, part.notifications, "notifications", order, diags);
    merge_map(&mut spec.secrets, part.secrets, "secrets", order, diags);
    merge_map(&mut spec.decisions, part.decisions, "decisions", order, diags);
    let (ps, ss) = (&part.spans, &spec.spans);
    merge_one(&mut spec.router, part.router, ps.key("router"), ss.key("router"), "router", diags);
    merge_one(&mut spec.policy, part.policy, ps.key("policy"), ss.key("policy"), "policy", diags);
    merge_one(&mut spec.ingress, part.ingress, ps.key("ingress"), ss.key("ingress"), "ingress", diags);
    merge_one(&mut spec.dns, part.dns, ps.key("dns"), ss.key("dns"), "dns", diags);
    merge_one(&mut spec.monitoring, part.monitoring, ps.key("monitoring"), ss.key("monitoring"), "monitoring", diags);
    merge_one(&mut spec.backups, part.backups, ps.key("backups"), ss.key("backups"), "backups", diags);
    merge_one(&mut spec.domain, part.domain, ps.key("domain"), ss.key("domain"), "domain", diags);
    merge_one(&mut spec.timezone, part.timezone, ps.key("timezone"), ss.key("timezone"), "timezone", diags);
    merge_one(&mut spec.admin, part.admin, ps.key("admin"), ss.key("admin"), "admin", diags);
    merge_one(&mut spec.updates, part.updates, ps.key("updates"), ss.key("updates"), "updates", diags);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io;
    use std::path::{Path, PathBuf};

    use super::{Files, load};
    use crate::diagnostic::Code;

    /// Files held in memory.
    struct Mem(BTreeMap<PathBuf, String>);

    impl Files for Mem {
        fn read(&self, path: &Path) -> io::Result<String> {
            self.0.get(path).cloned().ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
        }
        fn yaml_in_dir(&self, _: &Path) -> Option<Vec<PathBuf>> {
            None
        }
    }

    /// Loads `files` (the first is the root) and expects one duplicate definition, reported at
    /// `second` with its note at `first` (each `path:line:col`).
    fn check_duplicate(files: &[(&str, &str)], second: &str, first: &str) {
        let mem = Mem(files.iter().map(|(p, t)| (PathBuf::from(p), t.to_string())).collect());
        let loaded = load(Path::new(files[0].0), &mem);
        let dups: Vec<_> = loaded.diagnostics.iter().filter(|d| d.code == Code::DuplicateDefinition).collect();
        assert_eq!(dups.len(), 1, "{:?}", loaded.diagnostics);
        let at = |s| loaded.sources.location(s).to_string();
        assert_eq!(at(dups[0].primary.span), second, "the second definition");
        assert_eq!(at(dups[0].secondary[0].span), first, "the first definition");
    }

    #[test]
    fn the_first_definition_is_the_one_read_first() {
        let part = "guests:\n  a: { lxc: { on: pve } }\n";
        // The included file stands where `include:` is: before the root's own `guests:`.
        check_duplicate(
            &[("r.yaml", "homelab: x\ninclude: [p.yaml]\nguests:\n  a: { lxc: { on: pve } }\n"), ("p.yaml", part)],
            "r.yaml:4:3",
            "p.yaml:2:3",
        );
        // After it when `include:` comes last.
        check_duplicate(
            &[("r.yaml", "homelab: x\nguests:\n  a: { lxc: { on: pve } }\ninclude: [p.yaml]\n"), ("p.yaml", part)],
            "p.yaml:2:3",
            "r.yaml:3:3",
        );
        // Two included files: in the order the `include:` list names them, at any depth.
        check_duplicate(
            &[
                ("r.yaml", "homelab: x\ninclude: [q.yaml, p.yaml]\n"),
                ("p.yaml", part),
                ("q.yaml", "include: [s.yaml]\n"),
                ("s.yaml", part),
            ],
            "p.yaml:2:3",
            "s.yaml:2:3",
        );
    }
}
