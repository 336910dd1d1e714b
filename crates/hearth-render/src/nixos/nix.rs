//! Nix values: an attribute tree written as Nix text, string and attribute-name quoting.

use std::fmt::Write as _;

use crate::yaml::Node;

/// A Nix value, written with two-space indentation.
pub(super) enum N {
    Str(String),
    /// An expression written as is (`true`, `3000`, `pkgs.postgresql_16`).
    Raw(String),
    /// An indented string (`'' ... ''`); its text is escaped.
    Lines(String),
    List(Vec<N>),
    Attrs(Vec<(String, N)>),
}

impl N {
    pub(super) fn s(v: impl Into<String>) -> N {
        N::Str(v.into())
    }

    pub(super) fn b(v: bool) -> N {
        N::Raw(v.to_string())
    }

    pub(super) fn num(v: impl std::fmt::Display) -> N {
        N::Raw(v.to_string())
    }

    pub(super) fn strs<S: AsRef<str>>(v: &[S]) -> N {
        N::List(v.iter().map(|s| N::s(s.as_ref())).collect())
    }

    pub(super) fn attrs(entries: Vec<(&str, N)>) -> N {
        N::Attrs(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    /// A YAML tree as the Nix value NixOS modules turn back into that YAML (`settings`,
    /// `configuration`): mappings become attribute sets, sequences lists; comments are dropped.
    pub(super) fn from_yaml(node: &Node) -> N {
        match node {
            Node::Str(s) | Node::Plain(s) => N::s(s),
            Node::Int(n) => N::num(n),
            Node::Num(n) => N::Raw(n.clone()),
            Node::Bool(b) => N::b(*b),
            Node::Null | Node::Comment(_) => N::Raw("null".into()),
            Node::Seq(items) | Node::Flow(items) => {
                N::List(items.iter().filter(|i| !matches!(i, Node::Comment(_))).map(N::from_yaml).collect())
            }
            Node::Map(entries) | Node::TextMap(entries) => N::Attrs(
                entries
                    .iter()
                    .filter(|(_, v)| !matches!(v, Node::Comment(_)))
                    .map(|(k, v)| (k.clone(), N::from_yaml(v)))
                    .collect(),
            ),
        }
    }

    pub(super) fn write(&self, out: &mut String, indent: usize) {
        let pad = "  ".repeat(indent);
        match self {
            N::Str(s) => out.push_str(&nix_str(s)),
            N::Raw(s) => out.push_str(s),
            N::Lines(text) => {
                out.push_str("''\n");
                for line in text.lines() {
                    if line.is_empty() {
                        out.push('\n');
                    } else {
                        let _ = writeln!(out, "{pad}  {}", line.replace("''", "'''").replace("${", "''${"));
                    }
                }
                let _ = write!(out, "{pad}''");
            }
            N::List(items) if items.is_empty() => out.push_str("[ ]"),
            N::List(items) if items.iter().all(|i| matches!(i, N::Str(_) | N::Raw(_))) => {
                out.push_str("[ ");
                for i in items {
                    i.write(out, indent);
                    out.push(' ');
                }
                out.push(']');
            }
            N::List(items) => {
                out.push_str("[\n");
                for i in items {
                    out.push_str(&pad);
                    out.push_str("  ");
                    i.write(out, indent + 1);
                    out.push('\n');
                }
                let _ = write!(out, "{pad}]");
            }
            N::Attrs(entries) if entries.is_empty() => out.push_str("{ }"),
            N::Attrs(entries) => {
                out.push_str("{\n");
                for (k, v) in entries {
                    let _ = write!(out, "{pad}  {k} = ");
                    v.write(out, indent + 1);
                    out.push_str(";\n");
                }
                let _ = write!(out, "{pad}}}");
            }
        }
    }
}

/// A Nix string literal.
pub(super) fn nix_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An attribute name, quoted unless it is a plain identifier.
pub(super) fn attr(s: &str) -> String {
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-'".contains(c))
        && !matches!(s, "if" | "then" | "else" | "let" | "in" | "with" | "rec" | "inherit" | "assert" | "or");
    if plain { s.to_string() } else { nix_str(s) }
}

/// An attribute path from segments: `services.redis.servers."my.cache"`.
pub(super) fn path(segments: &[&str]) -> String {
    segments.iter().map(|s| attr(s)).collect::<Vec<_>>().join(".")
}

/// An indented string whose `${...}` are Nix interpolations (written by this module only);
/// `indent` is the nesting level of the attribute it is assigned to.
pub(super) fn raw_lines(text: &str, indent: usize) -> String {
    let pad = "  ".repeat(indent);
    let mut s = String::from("''\n");
    for line in text.lines() {
        let _ = writeln!(s, "{pad}  {}", line.replace("''", "'''"));
    }
    let _ = write!(s, "{pad}''");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_names() {
        assert_eq!(nix_str("a\"b${c}\\"), "\"a\\\"b\\${c}\\\\\"");
        assert_eq!(attr("web-server"), "web-server");
        assert_eq!(attr("192.168.1.1:80"), "\"192.168.1.1:80\"");
        assert_eq!(attr("in"), "\"in\"");
        assert_eq!(path(&["services", "redis", "servers", "my.cache"]), "services.redis.servers.\"my.cache\"");
    }

    #[test]
    fn indented_strings_escape() {
        let mut s = String::new();
        N::Lines("a ${b} ''c''\n".into()).write(&mut s, 0);
        assert_eq!(s, "''\n  a ''${b} '''c'''\n''");
    }
}
