//! YAML text to a tree of [`Node`]s, each with its span.
//!
//! The tree is built from `granit-parser` events (the parser under serde-saphyr) rather than
//! through serde, because Hearth decodes with recovery: one run must report every unknown key and
//! every bad value, which a serde `Deserialize` stopping at the first error cannot do.
//!
//! Scalars stay text: their type comes from the field they land in (see `decode`), which avoids
//! YAML's implicit typing surprises (`version: 1.10` stays `1.10`, `NO` stays `NO`).
//!
//! Limits protect against hostile input: nesting deeper than [`MAX_DEPTH`] and alias expansion
//! beyond [`MAX_NODES`] nodes are refused before any large allocation happens.

use std::collections::HashMap;

use granit_parser::{Event, Marker, Parser, ScalarStyle, ScanError};

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};

/// Deepest nesting of lists and mappings accepted.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to, counting every alias expansion.
pub const MAX_NODES: usize = 2_000_000;
/// Largest file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// A YAML node and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An empty value, `~` or `null`.
    Null,
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A scalar's text after YAML escape processing.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    pub text: String,
    /// Whether it was written in quotes or as a block scalar, rather than plain.
    pub quoted: bool,
}

/// A mapping key. Hearth only uses scalar keys.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

impl Node {
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// What kind of value this is, for messages: "a string", "a list", "a mapping", "nothing".
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "nothing",
            Value::Scalar(_) => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value under `key`, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    fn count(&self) -> usize {
        match &self.value {
            Value::Null | Value::Scalar(_) => 1,
            Value::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            Value::Map(entries) => 1 + entries.iter().map(|(_, v)| 1 + v.count()).sum::<usize>(),
        }
    }
}

enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<(Key, Node)>,
        key: Option<Key>,
        /// Keys that came from a merge (`<<`) and may still be overridden.
        merged: Vec<String>,
        /// Every key so far, so duplicate detection stays linear in large mappings.
        seen: std::collections::HashSet<String>,
    },
}

struct Builder<'a> {
    file: FileId,
    text: &'a str,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    root: Option<Node>,
    documents: usize,
    diagnostics: Vec<Diagnostic>,
}

/// Parses one YAML document. Returns the root node (`None` when the text is empty or too broken
/// to use) and every problem found.
pub fn parse(file: FileId, text: &str) -> (Option<Node>, Vec<Diagnostic>) {
    if text.len() > MAX_FILE_BYTES {
        let d = Diagnostic::new(
            Code::YamlLimit,
            Span::new(file, 0, 0),
            format!("file is {} bytes, larger than the {MAX_FILE_BYTES} bytes Hearth reads", text.len()),
        )
        .help("split the spec into several files with `include:`");
        return (None, vec![d]);
    }
    let mut b = Builder {
        file,
        text,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
        documents: 0,
        diagnostics: Vec::new(),
    };
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_event() {
            None => break,
            Some(Err(e)) => {
                b.syntax_error(&e);
                return (None, b.diagnostics);
            }
            Some(Ok((event, span))) => {
                let start = b.offset(&span.start);
                let end = b.offset(&span.end);
                if let Err(d) = b.event(event, start, end) {
                    b.diagnostics.push(*d);
                    return (None, b.diagnostics);
                }
            }
        }
    }
    (b.root, b.diagnostics)
}

impl Builder<'_> {
    fn offset(&self, m: &Marker) -> usize {
        match m.byte_offset() {
            Some(b) => b,
            // The parser counts characters; convert when it did not record bytes.
            None => self.text.char_indices().nth(m.index()).map_or(self.text.len(), |(b, _)| b),
        }
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    fn syntax_error(&mut self, e: &ScanError) {
        let mut at = self.offset(e.marker());
        let info = e.info();
        let tab = info.contains("tab");
        if tab && let Some(t) = self.tab_near(at) {
            at = t;
        }
        let span = self.span(at, (at + 1).min(self.text.len()).max(at));
        let help = if tab {
            "YAML indents with spaces only; replace this tab with spaces"
        } else {
            "check indentation, quotes and `:` separators near this point"
        };
        let label = if tab { "a tab" } else { "the parser stopped here" };
        self.diagnostics
            .push(Diagnostic::new(Code::YamlSyntax, span, format!("invalid YAML: {info}")).label(label).help(help));
    }

    /// The tab a tab error is about. The parser reports it where it noticed: just after the tab
    /// (indentation), or at the end of the scalar before it, on the line above. The tab is the
    /// last one at or before `at` on `at`'s line, else the first one after `at` within the next
    /// line.
    fn tab_near(&self, at: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let at = at.min(bytes.len());
        let line_start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        if let Some(i) = self.text[line_start..at].rfind('\t') {
            return Some(line_start + i);
        }
        let rest = &self.text[at..];
        let limit = rest.match_indices('\n').nth(1).map_or(rest.len(), |(i, _)| i);
        rest[..limit].find('\t').map(|i| at + i)
    }

    fn event(&mut self, event: Event<'_>, start: usize, end: usize) -> Result<(), Box<Diagnostic>> {
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Box::new(
                        Diagnostic::new(
                            Code::YamlSyntax,
                            self.span(start, end.max(start + 1)),
                            "a spec file holds one YAML document, this is a second one",
                        )
                        .help("remove the `---` separator, or move this document to its own file and `include:` it"),
                    ));
                }
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let value =
                    if style == ScalarStyle::Plain && matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL") {
                        Value::Null
                    } else {
                        Value::Scalar(Scalar { text: text.into_owned(), quoted: style != ScalarStyle::Plain })
                    };
                let node = Node { value, span: self.span(start, end) };
                self.add(node, anchor)?;
            }
            Event::SequenceStart(_, anchor, _) => {
                self.push(Frame::Seq { start, anchor, items: Vec::new() }, start, end)?;
            }
            Event::MappingStart(_, anchor, _) => {
                self.push(
                    Frame::Map {
                        start,
                        anchor,
                        entries: Vec::new(),
                        key: None,
                        merged: Vec::new(),
                        seen: std::collections::HashSet::new(),
                    },
                    start,
                    end,
                )?;
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { start: s, anchor, items }) = self.stack.pop() {
                    let node = Node { value: Value::Seq(items), span: self.span(s, end) };
                    self.add(node, anchor)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map { start: s, anchor, entries, .. }) = self.stack.pop() {
                    let node = Node { value: Value::Map(entries), span: self.span(s, end) };
                    self.add(node, anchor)?;
                }
            }
            Event::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id).cloned() else {
                    return Err(Box::new(Diagnostic::new(
                        Code::YamlSyntax,
                        self.span(start, end),
                        "alias refers to an anchor that is not defined before it",
                    )));
                };
                if self.nodes + size > MAX_NODES {
                    return Err(Box::new(
                        Diagnostic::new(
                            Code::YamlLimit,
                            self.span(start, end),
                            format!("aliases expand this document beyond {MAX_NODES} nodes"),
                        )
                        .label("this alias would exceed the limit")
                        .help("this looks like an alias bomb; write the values out or use fewer nested aliases"),
                    ));
                }
                // The copy keeps the anchor's spans: diagnostics about an aliased value point at
                // where it was written.
                self.nodes += size;
                self.attach(node)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame, start: usize, end: usize) -> Result<(), Box<Diagnostic>> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Box::new(
                Diagnostic::new(
                    Code::YamlLimit,
                    self.span(start, end.max(start + 1)),
                    format!("lists and mappings are nested deeper than {MAX_DEPTH} levels"),
                )
                .help("a Hearth spec never needs this depth; flatten the structure"),
            ));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn add(&mut self, node: Node, anchor: usize) -> Result<(), Box<Diagnostic>> {
        // The size of an anchored node is what each alias to it adds; only those need counting.
        if anchor != 0 {
            let size = node.count();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        // Children were counted as they arrived; this counts the node itself.
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Box::new(Diagnostic::new(
                Code::YamlLimit,
                node.span,
                format!("document has more than {MAX_NODES} nodes"),
            )));
        }
        self.attach(node)
    }

    fn attach(&mut self, node: Node) -> Result<(), Box<Diagnostic>> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, merged, seen, .. }) => match key.take() {
                None => {
                    let name = match &node.value {
                        Value::Scalar(s) => s.text.clone(),
                        Value::Null => String::new(),
                        _ => {
                            return Err(Box::new(
                                Diagnostic::new(
                                    Code::WrongType,
                                    node.span,
                                    format!("mapping keys must be plain names, found {}", node.kind_name()),
                                )
                                .help("write the key as a single word"),
                            ));
                        }
                    };
                    *key = Some(Key { name, span: node.span });
                }
                Some(k) => {
                    if k.name == "<<" && node.as_map().is_some() {
                        merge(entries, merged, node);
                        for (e, _) in entries.iter() {
                            seen.insert(e.name.clone());
                        }
                    } else if let Some(i) = merged.iter().position(|m| *m == k.name) {
                        merged.swap_remove(i);
                        entries.retain(|(e, _)| e.name != k.name);
                        entries.push((k, node));
                    } else if !seen.insert(k.name.clone())
                        && let Some((first, _)) = entries.iter().find(|(e, _)| e.name == k.name)
                    {
                        let first = first.span;
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::DuplicateKey,
                                k.span,
                                format!("key `{}` is written twice in this mapping", k.name),
                            )
                            .label("second definition, ignored")
                            .with(first, "first defined here")
                            .help("remove one of them")
                            .suggest_removal(k.span.to(node.span)),
                        );
                    } else {
                        entries.push((k, node));
                    }
                }
            },
        }
        Ok(())
    }
}

/// YAML merge keys (`<<: *defaults`): entries of the merged mapping that the mapping does not
/// set itself. Keys written after the merge replace merged ones instead of counting as duplicates.
fn merge(entries: &mut Vec<(Key, Node)>, merged: &mut Vec<String>, node: Node) {
    if let Value::Map(from) = node.value {
        for (k, v) in from {
            if !entries.iter().any(|(e, _)| e.name == k.name) {
                merged.push(k.name.clone());
                entries.push((k, v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<&'static str> {
        parse(FileId(0), text).1.iter().map(|d| d.code.as_str()).collect()
    }

    #[test]
    fn scalars_keep_their_text() {
        let (root, diags) = parse(FileId(0), "a: 1.10\nb: NO\nc: ~\nd: 'x'\n");
        assert!(diags.is_empty());
        let root = root.unwrap();
        assert_eq!(root.get("a").unwrap().as_scalar(), Some("1.10"));
        assert_eq!(root.get("b").unwrap().as_scalar(), Some("NO"));
        assert!(root.get("c").unwrap().is_null());
        assert_eq!(root.get("d").unwrap().as_scalar(), Some("x"));
    }

    #[test]
    fn spans_are_byte_ranges() {
        let (root, _) = parse(FileId(0), "key: välue\nnext: x\n");
        let root = root.unwrap();
        let v = root.get("next").unwrap();
        assert_eq!(v.span.start, "key: välue\nnext: ".len() as u32);
    }

    #[test]
    fn limits_and_errors() {
        assert_eq!(codes("a: [1, 2"), ["E101"]);
        assert_eq!(codes("a: 1\na: 2\n"), ["E104"]);
        assert_eq!(codes("a: 1\n---\nb: 2\n"), ["E101"]);
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(codes(&deep), ["E102"]);
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 { "a".to_string() } else { format!("l{}", i - 1) };
            bomb.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert_eq!(codes(&bomb), ["E102"]);
    }

    #[test]
    fn merge_keys() {
        let (root, diags) = parse(FileId(0), "base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n");
        assert!(diags.is_empty(), "{diags:?}");
        let c = root.unwrap().get("c").unwrap().clone();
        assert_eq!(c.get("x").unwrap().as_scalar(), Some("1"));
        assert_eq!(c.get("y").unwrap().as_scalar(), Some("3"));
    }
}
