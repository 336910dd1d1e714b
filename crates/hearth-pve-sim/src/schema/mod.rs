//! The Proxmox VE API schema (`pve-apidata.json`) as the simulator's router: every endpoint's
//! path template, its methods and their parameter schemas, and the compiled `pattern`s.
//!
//! The schema is read at start from the vendored file (AGPL data, so it is loaded, not compiled
//! into the binary). Path matching follows the real server's handler lookup: at each level a
//! literal segment wins over a `{param}` segment.

mod check;
mod formats;
mod propstr;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use regex::Regex;
use serde_json::{Map, Value};

pub use check::Errors;
pub use propstr::{parse_disk_size, split_property_string};

/// Why the schema file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot read the API schema `{path}`: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the API schema `{path}` is not JSON: {source}")]
    Json { path: String, source: serde_json::Error },
    #[error("the API schema `{path}` is not a list of endpoints")]
    Shape { path: String },
}

/// One API path of the schema with the methods it has.
#[derive(Debug)]
pub struct Endpoint {
    /// The template as the schema writes it, e.g. `/nodes/{node}/lxc/{vmid}/config`.
    pub template: String,
    segments: Vec<Segment>,
    methods: BTreeMap<String, Value>,
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    Param(String),
}

impl Endpoint {
    /// The method's `info` object (`parameters`, `returns`, `proxyto`, …), if it has the method.
    pub fn method(&self, method: &str) -> Option<&Value> {
        self.methods.get(method)
    }
}

/// The loaded schema.
#[derive(Debug)]
pub struct Schema {
    endpoints: Vec<Endpoint>,
    /// Every `pattern` of the schema.
    raw_patterns: Vec<String>,
    /// Patterns compiled on first use (`None`: the regex engine refuses it, so it is not
    /// checked); compiling all ~180 at start would cost more than a test run needs.
    patterns: Mutex<HashMap<String, Option<Regex>>>,
}

/// The default location of the vendored schema, relative to the repository root.
pub const VENDORED: &str = "schemas/proxmox/pve-apidata.json";

impl Schema {
    /// The repository's vendored schema, found from this crate's source folder (for tests and
    /// the binary's default).
    pub fn vendored_path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(VENDORED)
    }

    /// Reads the repository's vendored schema.
    pub fn vendored() -> Result<Schema, SchemaError> {
        Schema::from_file(&Schema::vendored_path())
    }

    /// Reads and indexes the schema file.
    pub fn from_file(path: &Path) -> Result<Schema, SchemaError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Read { path: shown.clone(), source })?;
        let root: Value =
            serde_json::from_str(&text).map_err(|source| SchemaError::Json { path: shown.clone(), source })?;
        Schema::from_value(&root).ok_or(SchemaError::Shape { path: shown })
    }

    /// Indexes an already parsed schema (a JSON array of tree nodes).
    pub fn from_value(root: &Value) -> Option<Schema> {
        let mut schema =
            Schema { endpoints: Vec::new(), raw_patterns: Vec::new(), patterns: Mutex::new(HashMap::new()) };
        schema.walk(root.as_array()?);
        let mut raw = Vec::new();
        for e in &schema.endpoints {
            for info in e.methods.values() {
                collect_patterns(&info["parameters"], &mut raw);
            }
        }
        raw.sort();
        raw.dedup();
        schema.raw_patterns = raw;
        Some(schema)
    }

    fn walk(&mut self, nodes: &[Value]) {
        for n in nodes {
            if let Some(path) = n.get("path").and_then(Value::as_str) {
                let methods: BTreeMap<String, Value> = n
                    .get("info")
                    .and_then(Value::as_object)
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                let segments = split_path(path)
                    .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => Segment::Param(name.to_string()),
                        None => Segment::Literal(s.to_string()),
                    })
                    .collect();
                self.endpoints.push(Endpoint { template: path.to_string(), segments, methods });
            }
            if let Some(children) = n.get("children").and_then(Value::as_array) {
                self.walk(children);
            }
        }
    }

    /// The endpoint a request path (relative to `/api2/json`, segments already percent-decoded)
    /// reaches, with the values of its `{param}` segments. Literal segments win over parameters,
    /// level by level, as in the real server.
    pub fn find(&self, segments: &[String]) -> Option<(&Endpoint, BTreeMap<String, String>)> {
        let mut best: Option<(&Endpoint, Vec<bool>)> = None;
        for e in self.endpoints.iter().filter(|e| e.segments.len() == segments.len()) {
            let mut literal = Vec::with_capacity(segments.len());
            let fits = e.segments.iter().zip(segments).all(|(seg, got)| match seg {
                Segment::Literal(l) => {
                    literal.push(true);
                    l == got
                }
                Segment::Param(_) => {
                    literal.push(false);
                    !got.is_empty()
                }
            });
            if fits && best.as_ref().is_none_or(|(_, b)| literal > *b) {
                best = Some((e, literal));
            }
        }
        let (endpoint, _) = best?;
        let params = endpoint
            .segments
            .iter()
            .zip(segments)
            .filter_map(|(seg, got)| match seg {
                Segment::Param(name) => Some((name.clone(), got.clone())),
                Segment::Literal(_) => None,
            })
            .collect();
        Some((endpoint, params))
    }

    /// Validates a request's parameters (URI parameters merged in) against a method's schema,
    /// returning the real server's per-parameter messages.
    pub fn validate(&self, info: &Value, params: &Map<String, Value>) -> Errors {
        check::validate(self, &info["parameters"], params)
    }

    fn pattern(&self, pattern: &str) -> Option<Regex> {
        let mut cache = self.patterns.lock().unwrap_or_else(|e| e.into_inner());
        cache.entry(pattern.to_string()).or_insert_with(|| compile(pattern)).clone()
    }

    /// The schema's patterns the regex engine cannot compile (they go unchecked).
    pub fn skipped_patterns(&self) -> Vec<String> {
        self.raw_patterns.iter().filter(|p| self.pattern(p).is_none()).cloned().collect()
    }

    /// The number of endpoints (paths) indexed.
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Whether no endpoint was indexed.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }
}

fn compile(pattern: &str) -> Option<Regex> {
    // Unicode classes under a counted repetition (`[\w\s]{0,256}`) outgrow the default
    // compiled-size limit.
    regex::RegexBuilder::new(&format!("^(?:{})$", perl_to_rust(pattern))).size_limit(1 << 26).build().ok()
}

/// The non-empty segments of a path.
pub fn split_path(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

fn collect_patterns(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(m) => {
            if let Some(p) = m.get("pattern").and_then(Value::as_str) {
                out.push(p.to_string());
            }
            for v in m.values() {
                collect_patterns(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_patterns(v, out)),
        _ => {}
    }
}

/// A Perl pattern in the regex crate's syntax: stringified `qr//` groups (`(?^:…)`, `(?^i:…)`),
/// `{,n}` (a quantifier since Perl 5.34), `\0`, and `-` after a range end inside a class taken
/// literally, as Perl does.
fn perl_to_rust(pattern: &str) -> String {
    pattern
        .replace("(?^:", "(?:")
        .replace("(?^i:", "(?i:")
        .replace("(?^u:", "(?:")
        .replace("{,", "{0,")
        .replace("\\0", "\\x00")
        .replace("\\)-_", "\\)-\\x5F")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_groups_become_rust_groups() {
        assert_eq!(perl_to_rust("(?^:(?^i:a)|b)"), "(?:(?i:a)|b)");
        assert_eq!(perl_to_rust("[a-z]{,8}\\0"), "[a-z]{0,8}\\x00");
    }
}
