//! The mutants of one spec for the mutation test (`cli/mutation.rs`): small edits of its YAML
//! text at the positions of its nodes, each one a mistake a person could make while editing.
//!
//! The text is parsed once with Hearth's own YAML reader (`hearth_spec::yaml`), whose nodes carry
//! byte spans, and every mutation is an edit of the original text: the mutant is what the user
//! would have saved, comments and layout included. The kinds are:
//!
//! - `replace`: a scalar (or written `null`) replaced by each of [`VALUES`] in turn,
//! - `edge`: a scalar replaced by the limits of its own shape (`edges`: the largest port,
//!   32-bit and 64-bit numbers, sizes and durations as large, a /31 or /32 network, ...),
//! - `delete`: a mapping entry removed,
//! - `empty`: a list replaced by `[]`,
//! - `duplicate`: a list item written twice (two services, disks or jobs of the same name),
//! - `rename`: a name that something else refers to renamed, so those references dangle.
//!
//! Generation is deterministic: nodes in document order, values in the order of [`VALUES`], and
//! an edit that an alias or a merge key would produce twice is kept once.

use std::collections::BTreeSet;

use hearth_spec::yaml::{Node, Value};
use hearth_spec::{Edit, FileId, Span};

/// The replacements of a scalar: absent, zero, negative, too large, empty, a plain word, the
/// wrong shape, very long, the widest network, an IPv6 address, an impossible IPv4 address and a
/// value with a space.
pub const VALUES: &[&str] = &[
    "null",
    "0",
    "-1",
    "99999999999999999999",
    "\"\"",
    "\"x\"",
    "[]",
    "{}",
    LONG,
    "0.0.0.0/0",
    "::1",
    "300.1.1.1",
    "a b",
];

/// A 300-character string.
const LONG: &str = concat!(
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
);

/// One mutation of a text: an edit of `start..end`, described for failure messages.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mutant {
    pub start: usize,
    pub end: usize,
    /// The text written in place of `start..end`; empty removes the entry there together with
    /// the separators around it, as a suggested removal does (`Edit::remove`).
    pub text: String,
    pub kind: &'static str,
}

impl Mutant {
    /// The mutated text.
    pub fn apply(&self, source: &str) -> String {
        let span = Span::new(FileId(0), self.start, self.end);
        let edit = if self.text.is_empty() {
            Edit::remove(span)
        } else {
            Edit { span, part: None, text: self.text.clone(), append: false }
        };
        edit.apply(source).expect("mutants are made from the text's own spans")
    }

    /// `KIND at LINE:COL`, and what was written there when it is short.
    pub fn describe(&self, source: &str) -> String {
        let line = source[..self.start].matches('\n').count() + 1;
        let col = self.start - source[..self.start].rfind('\n').map_or(0, |i| i + 1) + 1;
        let what =
            if self.text.chars().count() > 40 { format!("{} characters", self.text.len()) } else { self.text.clone() };
        format!("{} at {line}:{col} -> `{what}`", self.kind)
    }
}

/// Every mutant of `source`, in document order. Empty when the text does not parse.
pub fn mutants(source: &str) -> Vec<Mutant> {
    let (Some(root), _) = hearth_spec::yaml::parse(FileId(0), source) else { return Vec::new() };
    let mut values = BTreeSet::new();
    scalar_values(&root, &mut values);
    let mut g = Gen { source, values, seen: BTreeSet::new(), out: Vec::new() };
    g.node(&root);
    g.out
}

/// Every scalar written as a value (not a key): the names a rename can leave dangling.
fn scalar_values(node: &Node, out: &mut BTreeSet<String>) {
    match &node.value {
        Value::Null => {}
        Value::Scalar(s) => {
            out.insert(s.text.clone());
        }
        Value::Seq(items) => items.iter().for_each(|n| scalar_values(n, out)),
        Value::Map(entries) => entries.iter().for_each(|(_, v)| scalar_values(v, out)),
    }
}

struct Gen<'a> {
    source: &'a str,
    values: BTreeSet<String>,
    seen: BTreeSet<(usize, usize, String)>,
    out: Vec<Mutant>,
}

impl Gen<'_> {
    fn push(&mut self, start: usize, end: usize, text: &str, kind: &'static str) {
        let fits = start <= end
            && end <= self.source.len()
            && self.source.is_char_boundary(start)
            && self.source.is_char_boundary(end);
        if fits && self.source[start..end] != *text && self.seen.insert((start, end, text.to_string())) {
            self.out.push(Mutant { start, end, text: text.to_string(), kind });
        }
    }

    fn node(&mut self, node: &Node) {
        match &node.value {
            Value::Null | Value::Scalar(_) => {
                // An empty value (`key:`) has no text to replace.
                if !node.span.is_empty() {
                    let (start, end) = (node.span.start as usize, self.tight_end(node));
                    for v in VALUES {
                        self.push(start, end, v, "replace");
                    }
                    for v in edges(&self.source[start..end]) {
                        self.push(start, end, &v, "edge");
                    }
                }
            }
            Value::Seq(items) => {
                self.seq(node, items);
                items.iter().for_each(|n| self.node(n));
            }
            Value::Map(entries) => {
                self.map(node, entries);
                entries.iter().for_each(|(_, v)| self.node(v));
            }
        }
    }

    fn seq(&mut self, node: &Node, items: &[Node]) {
        if items.is_empty() || !self.inside(node, items.iter().map(|n| n.span)) {
            return;
        }
        let flow = self.source[node.span.start as usize..].starts_with('[');
        if flow {
            self.push(node.span.start as usize, node.span.end as usize, "[]", "empty");
        } else if let Some(dash) = self.dash(&items[0]) {
            // `[]` goes right after the key's `:` (or the outer item's `-`), where a flow list is
            // valid whatever the block list's indentation was.
            let head = self.source[..dash].trim_end();
            let start = if head.ends_with(':') || head.ends_with('-') { head.len() } else { dash };
            let text = if start == dash { "[]" } else { " []" };
            self.push(start, self.tight_end(node), text, "empty");
        }
        for item in items {
            let end = self.tight_end(item);
            let copy = if flow {
                format!(", {}", &self.source[item.span.start as usize..end])
            } else {
                let Some(dash) = self.dash(item) else { continue };
                let line_start = self.source[..dash].rfind('\n').map_or(0, |i| i + 1);
                if !self.source[line_start..dash].chars().all(|c| c == ' ') {
                    continue;
                }
                format!("\n{}", &self.source[line_start..end])
            };
            self.push(end, end, &copy, "duplicate");
        }
    }

    fn map(&mut self, node: &Node, entries: &[(hearth_spec::yaml::Key, Node)]) {
        let spans = entries.iter().flat_map(|(k, v)| [k.span, v.span]);
        if entries.is_empty() || !self.inside(node, spans) {
            return;
        }
        let ordered = entries.windows(2).all(|w| w[0].0.span.start < w[1].0.span.start);
        for (i, (key, value)) in entries.iter().enumerate() {
            let start = key.span.start as usize;
            match entries.get(i + 1) {
                // The next key takes this one's place: right for block and flow mappings, and for
                // the first entry of a list item (`- name: x`).
                Some((next, _)) if ordered => {
                    self.push(start, next.span.end as usize, &next_key(self.source, next), "delete");
                }
                _ => self.push(start, self.entry_end(key, value), "", "delete"),
            }
            let renames = !value.is_null() && self.values.contains(&key.name);
            if renames && !self.source[start..].starts_with(['"', '\'']) {
                self.push(start, key.span.end as usize, &format!("{}-renamed", key.name), "rename");
            }
            if key.name == "name"
                && let Value::Scalar(s) = &value.value
                && !self.source[value.span.start as usize..].starts_with(['"', '\''])
            {
                self.push(value.span.start as usize, value.span.end as usize, &format!("{}-renamed", s.text), "rename");
            }
        }
    }

    /// Whether every span lies within the node's: false for mappings with merged (`<<`) entries,
    /// whose spans are the anchor's, where edits by position would cut the wrong text.
    fn inside(&self, node: &Node, spans: impl IntoIterator<Item = Span>) -> bool {
        spans.into_iter().all(|s| s.start >= node.span.start && s.end <= node.span.end)
    }

    /// The end of an entry `key: value`.
    fn entry_end(&self, key: &hearth_spec::yaml::Key, value: &Node) -> usize {
        if value.span.is_empty() { key.span.end as usize } else { self.tight_end(value).max(key.span.end as usize) }
    }

    /// Where the node's own text ends: a block collection's span runs on to the next token, past
    /// comments and blank lines, so it ends with its last child instead; trailing spaces and
    /// line breaks of a block scalar are not part of it either.
    fn tight_end(&self, node: &Node) -> usize {
        let (start, end) = (node.span.start as usize, node.span.end as usize);
        let flow = self.source[start..].starts_with(['[', '{']);
        let end = match &node.value {
            Value::Seq(items) if !flow => items.last().map_or(end, |n| self.tight_end(n)),
            Value::Map(entries) if !flow => entries.last().map_or(end, |(k, v)| self.entry_end(k, v)),
            _ => end,
        };
        start + self.source[start..end.max(start)].trim_end().len()
    }

    /// The `-` that starts a block list item, when only spaces separate it from the item.
    fn dash(&self, item: &Node) -> Option<usize> {
        let head = self.source[..item.span.start as usize].trim_end_matches(' ');
        head.ends_with('-').then(|| head.len() - 1)
    }
}

/// The limits of the value's own shape, where arithmetic on it would overflow: a number at the
/// largest port, 32-bit and 64-bit values; a size or duration as large with its unit; a
/// network narrowed to one or two addresses; the last and the unspecified IPv4 address; a time
/// of day past midnight.
fn edges(written: &str) -> Vec<String> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if digits(written) {
        return ["65535", "4294967295", "18446744073709551615"].map(String::from).to_vec();
    }
    if let Some(i) = written.find(|c: char| !c.is_ascii_digit())
        && digits(&written[..i])
        && written[i..].chars().all(|c| c.is_ascii_alphabetic())
    {
        let unit = &written[i..];
        return vec![format!("18446744073709551615{unit}"), format!("4294967296{unit}")];
    }
    if let Some((address, _)) = written.split_once('/')
        && address.parse::<std::net::Ipv4Addr>().is_ok()
    {
        return vec![format!("{address}/31"), format!("{address}/32")];
    }
    if written.parse::<std::net::Ipv4Addr>().is_ok() {
        return ["255.255.255.255", "0.0.0.0"].map(String::from).to_vec();
    }
    let unquoted = written.trim_matches('"');
    if unquoted.len() == 5 && unquoted.as_bytes()[2] == b':' && digits(&unquoted[..2]) && digits(&unquoted[3..]) {
        return vec!["\"24:00\"".to_string()];
    }
    Vec::new()
}

/// The next entry's key, which replaces everything from this entry's key to the end of that one:
/// the entry goes with the separator after it, and the next key starts where this one did.
fn next_key(source: &str, next: &hearth_spec::yaml::Key) -> String {
    let start = next.span.start as usize;
    source[start..next.span.end as usize].to_string()
}
