//! Writing YAML: scalars that read back as the same string under YAML 1.1 and 1.2, and an
//! ordered block writer. Shared by every renderer that writes YAML and by `hearth show`; it lives
//! here, beside the YAML reader, so that neither has to borrow it from the other.

/// A double-quoted scalar (JSON string syntax is valid YAML): always safe, for values such as
/// URLs, templates and free text.
pub fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

/// A plain scalar where that is unambiguous (names, paths, durations), else [`quoted`]. YAML 1.1
/// readers (Docker Compose v1, PyYAML) turn `no`, `on`, `80:80` or `1_000` into booleans and
/// numbers, so those are always quoted.
pub fn scalar(s: &str) -> String {
    let first_ok = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/');
    // `:` is safe inside a plain scalar that starts with a letter or `/` (no base-60 reading)
    // as long as no space follows it and it does not end the scalar.
    let safe_chars = s.chars().all(|c| c.is_ascii_alphanumeric() || "_./@+-".contains(c) || (c == ':' && first_ok))
        && !s.ends_with(':');
    let duration = {
        let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let unit = &s[digits.len()..];
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) && matches!(unit, "ms" | "s" | "m" | "h")
    };
    let keyword =
        matches!(s.to_ascii_lowercase().as_str(), "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null");
    if safe_chars && (first_ok || duration) && !keyword { s.to_string() } else { quoted(s) }
}

/// An ordered YAML tree: mappings keep the order entries were pushed in.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Str(String),
    Int(u64),
    /// A number already formatted as YAML reads it (`1.5`, `-3`).
    Num(String),
    Bool(bool),
    Null,
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
    /// A mapping whose keys are free text (titles, group names), written like string values
    /// instead of as plain scalars where possible.
    TextMap(Vec<(String, Node)>),
    /// A string written as a plain scalar where that is unambiguous (see [`scalar`]), whatever
    /// the writer does with other strings.
    Plain(String),
    /// A sequence written in flow style on its key's line: `[a, b]`.
    Flow(Vec<Node>),
    /// A comment line (`# text`) in a mapping (its key is ignored) or a sequence.
    Comment(String),
}

impl Node {
    pub fn s(v: &str) -> Node {
        Node::Str(v.to_string())
    }

    pub fn strs(v: &[String]) -> Node {
        Node::Seq(v.iter().map(|s| Node::Str(s.clone())).collect())
    }

    /// A comment line as a mapping entry.
    pub fn comment(text: impl Into<String>) -> (String, Node) {
        (String::new(), Node::Comment(text.into()))
    }

    /// The same tree from JSON, keeping its key order.
    pub fn from_json(v: &serde_json::Value) -> Node {
        use serde_json::Value;
        match v {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => n.as_u64().map_or_else(|| Node::Num(n.to_string()), Node::Int),
            Value::String(s) => Node::Str(s.clone()),
            Value::Array(items) => Node::Seq(items.iter().map(Node::from_json).collect()),
            Value::Object(map) => Node::Map(map.iter().map(|(k, v)| (k.clone(), Node::from_json(v))).collect()),
        }
    }

    /// Block-style YAML; `string` formats string values (keys always go through [`scalar`]).
    pub fn to_block(&self, string: &dyn Fn(&str) -> String) -> String {
        let mut out = String::new();
        self.write_at(&mut out, 0, false, string);
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }

    /// The value on the same line as its key or dash, if it fits there.
    fn inline(&self, string: &dyn Fn(&str) -> String) -> Option<String> {
        match self {
            Node::Str(s) => Some(string(s)),
            Node::Int(n) => Some(n.to_string()),
            Node::Num(n) => Some(n.clone()),
            Node::Bool(b) => Some(b.to_string()),
            Node::Null => Some("null".into()),
            Node::Seq(v) if v.is_empty() => Some("[]".into()),
            Node::Map(v) | Node::TextMap(v) if v.is_empty() => Some("{}".into()),
            Node::Plain(s) => Some(scalar(s)),
            Node::Flow(items) => {
                let items: Vec<String> = items.iter().map(|i| i.inline(string).unwrap_or_default()).collect();
                Some(format!("[{}]", items.join(", ")))
            }
            _ => None,
        }
    }

    /// Writes a block value at `indent`; `first_inline` when the caller already wrote the
    /// line's start (a mapping or sequence inside a sequence item).
    fn write_at(&self, out: &mut String, indent: usize, first_inline: bool, string: &dyn Fn(&str) -> String) {
        let pad = " ".repeat(indent);
        match self {
            Node::Map(entries) | Node::TextMap(entries) if !entries.is_empty() => {
                let text_keys = matches!(self, Node::TextMap(_));
                for (i, (k, v)) in entries.iter().enumerate() {
                    if !(first_inline && i == 0) {
                        out.push_str(&pad);
                    }
                    if let Node::Comment(text) = v {
                        out.push_str(&format!("# {text}\n"));
                        continue;
                    }
                    out.push_str(&if text_keys { string(k) } else { scalar(k) });
                    out.push(':');
                    match v.inline(string) {
                        Some(s) => {
                            out.push(' ');
                            out.push_str(&s);
                            out.push('\n');
                        }
                        None => {
                            out.push('\n');
                            v.write_at(out, indent + 2, false, string);
                        }
                    }
                }
            }
            Node::Seq(items) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    if !(first_inline && i == 0) {
                        out.push_str(&pad);
                    }
                    if let Node::Comment(text) = item {
                        out.push_str(&format!("# {text}\n"));
                        continue;
                    }
                    out.push_str("- ");
                    match item.inline(string) {
                        Some(s) => {
                            out.push_str(&s);
                            out.push('\n');
                        }
                        None => item.write_at(out, indent + 2, true, string),
                    }
                }
            }
            Node::Comment(text) => {
                out.push_str(&pad);
                out.push_str(&format!("# {text}\n"));
            }
            other => {
                out.push_str(&pad);
                out.push_str(&other.inline(string).unwrap_or_default());
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars() {
        for plain in ["traefik", "/opt/hearth/x", "30s", "unless-stopped", "hearth.service", "a/b:1.2", "/a:/b:ro"] {
            assert_eq!(scalar(plain), plain);
        }
        for q in ["80:80", "no", "ON", "1_000", "1e5", "", "-x", "a b", "0x10", "~", "12", "a:", "1:2"] {
            assert!(scalar(q).starts_with('"'), "{q}");
        }
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn flow_plain_and_comments() {
        let doc = Node::Map(vec![
            Node::comment("first"),
            ("a".into(), Node::Flow(vec![Node::s("x"), Node::Int(1)])),
            (
                "b".into(),
                Node::Seq(vec![
                    Node::Comment("none".into()),
                    Node::Map(vec![("name".into(), Node::Plain("hearth".into()))]),
                ]),
            ),
        ]);
        assert_eq!(doc.to_block(&quoted), "# first\na: [\"x\", 1]\nb:\n  # none\n  - name: hearth\n");
    }

    #[test]
    fn text_keys_are_written_like_values() {
        let doc =
            Node::Seq(vec![Node::TextMap(vec![("Media".into(), Node::Map(vec![("href".into(), Node::s("x"))]))])]);
        assert_eq!(doc.to_block(&quoted), "- \"Media\":\n    href: \"x\"\n");
    }

    #[test]
    fn blocks() {
        let v = serde_json::json!({"a": 1, "b": ["x", {"c": "yes", "d": []}, ["p", "q"]], "e": {"f": "02:00"}});
        assert_eq!(
            Node::from_json(&v).to_block(&scalar),
            "a: 1\nb:\n  - x\n  - c: \"yes\"\n    d: []\n  - - p\n    - q\ne:\n  f: \"02:00\"\n"
        );
    }
}
