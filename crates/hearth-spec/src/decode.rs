//! Typed decoding of [`Node`] trees with recovery.
//!
//! [`Decode::decode`] turns a node into a value or records why it cannot and returns `None`;
//! the caller carries on with the siblings, so every problem of a spec is found in one run.
//! Structs and string enums are declared with [`spec_struct!`](crate::spec_struct) and
//! [`spec_enum!`](crate::spec_enum), which also derive their JSON Schema and reject unknown keys
//! with a "did you mean" suggestion.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;
use crate::suggest;
use crate::yaml::{Key, Node, Value};

/// The decoding context: collects diagnostics.
#[derive(Debug, Default)]
pub struct Cx {
    pub diagnostics: Vec<Diagnostic>,
    /// The key of the struct field being decoded (empty outside a struct). Value types read it
    /// to word their message for the field: a bare number under `memory` means something else
    /// than under `disk`, and a number too large for a port deserves a word about ports.
    pub key: &'static str,
}

impl Cx {
    pub fn new() -> Cx {
        Cx::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    /// Records a wrong-type error: `expected` is a noun phrase such as "a size like `2GiB`".
    /// The help says what to write; it carries no edit, since only the user knows the value.
    pub fn wrong_type(&mut self, node: &Node, expected: &str) {
        let help = match &node.value {
            Value::Null => format!("write {expected} after the key"),
            Value::Scalar(_) => format!("replace {} with {expected}", describe(node)),
            Value::Seq(_) | Value::Map(_) => format!("replace the {} with {expected}", &describe(node)[2..]),
        };
        self.push(
            Diagnostic::new(Code::WrongType, node.span, format!("expected {expected}, found {}", describe(node)))
                .label(format!("expected {expected}"))
                .help(help),
        );
    }

    /// Records an invalid scalar value with a help line.
    pub fn invalid(&mut self, node: &Node, message: impl Into<String>, help: impl Into<String>) {
        let help = help.into();
        let mut d = Diagnostic::new(Code::InvalidValue, node.span, message);
        if !help.is_empty() {
            d = d.help(help);
        }
        self.push(d);
    }

    /// Records an invalid scalar value whose help proposes `replacement` for `text` in it.
    pub fn invalid_fix(
        &mut self,
        node: &Node,
        message: impl Into<String>,
        help: impl Into<String>,
        text: &str,
        replacement: &str,
    ) {
        let d = Diagnostic::new(Code::InvalidValue, node.span, message).help(help).suggest_part(
            node.span,
            text,
            replacement,
        );
        self.push(d);
    }

    /// An unknown key, with the closest field as "did you mean" and the edit that renames it.
    /// When that field is already set beside it, renaming would only write it twice: the help
    /// then says to remove the key instead.
    pub fn unknown_key(&mut self, key: &Key, fields: &[&str], owner: &str, siblings: &[(Key, Node)]) {
        let place =
            if owner == "the spec" { "at the top level of the spec".to_string() } else { format!("in {owner}") };
        let mut d = Diagnostic::new(Code::UnknownKey, key.span, format!("unknown key `{}` {place}", key.name))
            .label("not a key Hearth knows here");
        let best = suggest::did_you_mean(&key.name, fields.iter().copied());
        match best {
            Some(best) if siblings.iter().any(|(k, _)| k.name == best) => {
                d = d.help(format!("`{best}` is already set here; remove this key"));
            }
            Some(best) => {
                d = d.help(format!("did you mean `{best}`?")).suggest_part(key.span, key.name.as_str(), best);
            }
            None => {
                if let Some(help) = suggest::help_for(&key.name, fields.iter().copied(), "keys") {
                    d = d.help(help);
                }
            }
        }
        self.push(d);
    }

    /// The wrong-type error for a list written where a mapping (`what`) is expected; `field` is
    /// the one field of that mapping the list would fit under, when there is one.
    pub fn list_for_mapping(&mut self, node: &Node, what: &str, field: Option<&str>) {
        let expected = format!("a mapping ({what})");
        let mut d =
            Diagnostic::new(Code::WrongType, node.span, format!("expected {expected}, found {}", describe(node)))
                .label(format!("expected {expected}"));
        if let Some(field) = field {
            d = d.help(if self.key.is_empty() {
                format!("this list belongs under `{field}:`: write `{field}:` on a line of its own and the items under it")
            } else {
                format!(
                    "this list belongs under `{field}:`: write `{field}:` on a line of its own under `{}:`, and the items under it",
                    self.key
                )
            });
        }
        self.push(d);
    }

    /// The entries of a mapping node, or a wrong-type error.
    pub fn map<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(Key, Node)]> {
        match &node.value {
            Value::Map(entries) => Some(entries),
            _ => {
                self.wrong_type(node, &format!("a mapping ({what})"));
                None
            }
        }
    }

    /// The text of a scalar node, or a wrong-type error.
    pub fn scalar<'n>(&mut self, node: &'n Node, expected: &str) -> Option<&'n str> {
        match &node.value {
            Value::Scalar(s) => Some(&s.text),
            _ => {
                self.wrong_type(node, expected);
                None
            }
        }
    }
}

/// How a node is described in "expected X, found Y".
pub fn describe(node: &Node) -> String {
    match &node.value {
        Value::Null => "nothing".to_string(),
        Value::Scalar(s) => {
            let shown: String = s.text.chars().take(40).collect();
            let ellipsis = if s.text.chars().count() > 40 { "..." } else { "" };
            format!("`{shown}{ellipsis}`")
        }
        Value::Seq(_) => "a list".to_string(),
        Value::Map(_) => "a mapping".to_string(),
    }
}

/// A value that can be decoded from a node.
pub trait Decode: Sized {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self>;
}

impl Decode for String {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        cx.scalar(node, "a string").map(str::to_owned)
    }
}

impl Decode for bool {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match cx.scalar(node, "`true` or `false`")? {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            // YAML 1.1's other booleans, and numbers, have one meaning the user surely intended.
            other @ ("yes" | "Yes" | "YES" | "on" | "On" | "ON" | "1") => {
                let message = format!("expected `true` or `false`, found `{other}`");
                cx.invalid_fix(node, message, "write `true`", other, "true");
                None
            }
            other @ ("no" | "No" | "NO" | "off" | "Off" | "OFF" | "0") => {
                let message = format!("expected `true` or `false`, found `{other}`");
                cx.invalid_fix(node, message, "write `false`", other, "false");
                None
            }
            other => {
                cx.invalid(node, format!("expected `true` or `false`, found `{other}`"), "write `true` or `false`");
                None
            }
        }
    }
}

macro_rules! decode_number {
    ($($t:ty => $what:literal),*) => {$(
        impl Decode for $t {
            fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
                let text = cx.scalar(node, $what)?;
                match text.trim().parse::<$t>() {
                    Ok(v) => Some(v),
                    Err(_) => {
                        cx.invalid(
                            node,
                            format!("expected {}, found `{text}`", $what),
                            format!("write a number from {} to {}", <$t>::MIN, <$t>::MAX),
                        );
                        None
                    }
                }
            }
        }
    )*};
}

decode_number!(u8 => "a whole number", u32 => "a whole number", u64 => "a whole number", i64 => "a whole number");

/// The keys whose `u16` value is a TCP or UDP port.
const PORT_KEYS: [&str; 4] = ["port", "to_port", "host", "container"];

impl Decode for u16 {
    /// Like the other numbers, except that a port gets a message about the port range: `70000`
    /// is a whole number, just not a port, and port 0 means "any port" to the kernel, never a
    /// port a homelab can publish or forward.
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = cx.scalar(node, "a whole number")?;
        let trimmed = text.trim();
        let port = PORT_KEYS.contains(&cx.key);
        match trimmed.parse::<u16>() {
            Ok(0) if port => {
                cx.push(
                    Diagnostic::new(Code::PortOutOfRange, node.span, "port 0 is not a port a service can publish")
                        .label("ports run from 1 to 65535")
                        .help("write the port number, from 1 to 65535"),
                );
                None
            }
            Ok(v) => Some(v),
            Err(_) if port && trimmed.parse::<i128>().is_ok() => {
                cx.push(
                    Diagnostic::new(
                        Code::PortOutOfRange,
                        node.span,
                        format!("port {} is outside the port range", describe(node)),
                    )
                    .label("ports run from 1 to 65535")
                    .help("TCP and UDP ports run from 1 to 65535; write the port the service listens on"),
                );
                None
            }
            Err(_) if cx.key == "vlan" && trimmed.parse::<i128>().is_ok() => {
                cx.invalid(
                    node,
                    format!("VLAN {} is outside 1-4094", describe(node)),
                    "802.1Q tags run from 1 to 4094",
                );
                None
            }
            Err(_) => {
                let what = if port { "a port number" } else { "a whole number" };
                let message = format!("expected {what}, found `{text}`");
                // Compose's `8080:80` is the mapping Hearth writes as `{ host: 8080, container: 80 }`.
                let mapping = trimmed
                    .split_once(':')
                    .filter(|(h, c)| cx.key == "host" && h.parse::<u16>().is_ok() && c.parse::<u16>().is_ok());
                match mapping {
                    Some((h, c)) => {
                        let fixed = format!("{{ host: {h}, container: {c} }}");
                        cx.push(
                            Diagnostic::new(Code::InvalidValue, node.span, message)
                                .help(format!("a port mapping is written `{fixed}`"))
                                .suggest(node.span, fixed),
                        );
                    }
                    None => cx.invalid(node, message, "write a number from 0 to 65535"),
                }
                None
            }
        }
    }
}

impl Decode for f64 {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = cx.scalar(node, "a number")?;
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                cx.invalid(node, format!("expected a number, found `{text}`"), "write a number such as `1.5`");
                None
            }
        }
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match &node.value {
            Value::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items {
                    match T::decode(item, cx) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
            _ => {
                cx.wrong_type(node, "a list");
                None
            }
        }
    }
}

impl<T: Decode> Decode for Box<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        T::decode(node, cx).map(Box::new)
    }
}

/// A value with the span it was written at.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sp<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Sp<T> {
    pub fn new(value: T, span: Span) -> Sp<T> {
        Sp { value, span }
    }
}

impl<T> std::ops::Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Display> fmt::Display for Sp<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: Decode> Decode for Sp<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        T::decode(node, cx).map(|value| Sp { value, span: node.span })
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<T: serde::Serialize> serde::Serialize for Sp<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

/// One entry of a [`NamedMap`].
#[derive(Clone, Debug, PartialEq)]
pub struct Entry<T> {
    pub name: String,
    pub key_span: Span,
    pub value: T,
}

/// A mapping from names to values, in source order, with the span of every name.
///
/// Lookups by name use an index built on first use, so resolving a spec with ten thousand
/// services stays linear; add entries with [`NamedMap::push`], which keeps the index valid.
#[derive(Clone, Debug)]
pub struct NamedMap<T> {
    pub entries: Vec<Entry<T>>,
    /// Names whose values failed to decode. They are already reported; keeping the names stops
    /// references to them from being reported a second time as unknown.
    pub broken: Vec<String>,
    index: std::sync::OnceLock<std::collections::HashMap<String, usize>>,
}

impl<T: PartialEq> PartialEq for NamedMap<T> {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries && self.broken == other.broken
    }
}

impl<T> Default for NamedMap<T> {
    fn default() -> Self {
        NamedMap { entries: Vec::new(), broken: Vec::new(), index: std::sync::OnceLock::new() }
    }
}

impl<T> NamedMap<T> {
    pub fn new(entries: Vec<Entry<T>>, broken: Vec<String>) -> Self {
        NamedMap { entries, broken, index: std::sync::OnceLock::new() }
    }

    /// Adds an entry at the end.
    pub fn push(&mut self, entry: Entry<T>) {
        self.entries.push(entry);
        self.index = std::sync::OnceLock::new();
    }

    fn position(&self, name: &str) -> Option<usize> {
        // Small maps are faster to scan than to index.
        if self.entries.len() <= 16 {
            return self.entries.iter().position(|e| e.name == name);
        }
        let index = self.index.get_or_init(|| {
            let mut map = std::collections::HashMap::with_capacity(self.entries.len());
            for (i, e) in self.entries.iter().enumerate() {
                map.entry(e.name.clone()).or_insert(i);
            }
            map
        });
        index.get(name).copied()
    }

    /// Whether the name was written, whether or not its value decoded.
    pub fn is_declared(&self, name: &str) -> bool {
        self.contains(name) || self.broken.iter().any(|b| b == name)
    }

    pub fn get(&self, name: &str) -> Option<&T> {
        self.position(name).map(|i| &self.entries[i].value)
    }

    pub fn entry(&self, name: &str) -> Option<&Entry<T>> {
        self.position(name).map(|i| &self.entries[i])
    }

    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.entries.iter().map(|e| (e.name.as_str(), &e.value))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> + Clone {
        self.entries.iter().map(|e| e.name.as_str())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<T: Decode> Decode for NamedMap<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let entries = cx.map(node, "names to values")?;
        let mut out = Vec::with_capacity(entries.len());
        let mut broken = Vec::new();
        for (key, value) in entries {
            // Entries that decoded are kept even when a sibling failed, so later checks still
            // see them; the failure itself is already reported.
            match T::decode(value, cx) {
                Some(v) => out.push(Entry { name: key.name.clone(), key_span: key.span, value: v }),
                None => broken.push(key.name.clone()),
            }
        }
        Some(NamedMap::new(out, broken))
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for NamedMap<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut map = serde_json::Map::new();
        map.insert("type".into(), "object".into());
        map.insert("additionalProperties".into(), generator.subschema_for::<T>().to_value());
        schemars::Schema::from(map)
    }
}

/// The key and value span of every field a struct was given, for diagnostics about any value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldSpans {
    fields: Vec<(&'static str, Span, Span)>,
}

impl FieldSpans {
    pub fn push(&mut self, field: &'static str, key: Span, value: Span) {
        self.fields.push((field, key, value));
    }

    pub fn extend(&mut self, other: FieldSpans) {
        self.fields.extend(other.fields);
    }

    /// The span of a field's value, if the field was written.
    pub fn value(&self, field: &str) -> Option<Span> {
        self.fields.iter().find(|(f, _, _)| *f == field).map(|&(_, _, v)| v)
    }

    /// The span of a field's key, if the field was written.
    pub fn key(&self, field: &str) -> Option<Span> {
        self.fields.iter().find(|(f, _, _)| *f == field).map(|&(_, k, _)| k)
    }
}

/// Parses a scalar with [`FromStr`], reporting `what` and `help` on failure.
pub fn parse_scalar<T: FromStr>(node: &Node, cx: &mut Cx, what: &str, help: &str) -> Option<T>
where
    T::Err: fmt::Display,
{
    let text = cx.scalar(node, what)?;
    match text.trim().parse::<T>() {
        Ok(v) => Some(v),
        Err(e) => {
            cx.invalid(node, format!("invalid {what} `{text}`: {e}"), help);
            None
        }
    }
}

/// A JSON Schema for a string that matches `pattern`, described for editors.
pub fn string_schema(description: &str, pattern: Option<&str>) -> schemars::Schema {
    let mut map = serde_json::Map::new();
    map.insert("type".into(), "string".into());
    map.insert("description".into(), description.into());
    if let Some(p) = pattern {
        map.insert("pattern".into(), p.into());
    }
    schemars::Schema::from(map)
}

/// How messages name the mapping a struct is decoded from: `GuestSize` is "a guest size",
/// `Spec` is "the spec".
pub fn owner_name(type_name: &str) -> String {
    match type_name {
        "Spec" => return "the spec".to_string(),
        "Lxc" => return "an LXC container".to_string(),
        "Vm" => return "a VM".to_string(),
        _ => {}
    }
    let mut words = String::new();
    for (i, c) in type_name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    // A plural name (`Alerts`, `Logs`) takes no article: "in alerts", never "in an alerts".
    // Abbreviations ending in `s` (`Pbs`, `Tls`, `Dns`) and `-ss` words are singular.
    let plural = words.ends_with('s') && !words.ends_with("ss") && !["pbs", "tls", "dns"].contains(&words.as_str());
    if plural {
        return words;
    }
    let article = if words.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {words}")
}

/// The YAML key of a struct field: its name without a raw-identifier prefix (`r#for` is `for`).
pub const fn key_name(field: &'static str) -> &'static str {
    let b = field.as_bytes();
    if b.len() > 2 && b[0] == b'r' && b[1] == b'#' { field.split_at(2).1 } else { field }
}

/// Turns a scalar written in place of a mapping into `{field: scalar}`: `expose: grafana` means
/// `expose: {name: grafana}`.
pub fn wrap_shorthand(node: &Node, field: &str) -> Node {
    Node { value: Value::Map(vec![(Key { name: field.to_string(), span: node.span }, node.clone())]), span: node.span }
}

/// Schema-only type: a field that takes either a scalar shorthand or the full mapping `T`.
pub struct OrScalar<T>(std::marker::PhantomData<T>);

impl<T: schemars::JsonSchema> schemars::JsonSchema for OrScalar<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("{}_or_scalar", T::schema_name()).into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let full = generator.subschema_for::<T>().to_value();
        let mut map = serde_json::Map::new();
        map.insert("anyOf".into(), serde_json::json!([{ "type": ["string", "number", "boolean"] }, full]));
        schemars::Schema::from(map)
    }
}

impl<V: Decode> Decode for BTreeMap<String, V> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let entries = cx.map(node, "names to values")?;
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (key, value) in entries {
            match V::decode(value, cx) {
                Some(v) => {
                    out.insert(key.name.clone(), v);
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}

/// Arbitrary YAML passed through to a rendered file (raw compose keys, say). Plain scalars that
/// read as numbers or booleans become those; quoted ones stay strings.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RawYaml(pub serde_json::Value);

impl Decode for RawYaml {
    fn decode(node: &Node, _cx: &mut Cx) -> Option<Self> {
        fn convert(node: &Node) -> serde_json::Value {
            match &node.value {
                Value::Null => serde_json::Value::Null,
                Value::Scalar(s) if s.quoted => s.text.clone().into(),
                Value::Scalar(s) => match s.text.as_str() {
                    "true" | "True" | "TRUE" => true.into(),
                    "false" | "False" | "FALSE" => false.into(),
                    t => {
                        if let Ok(i) = t.parse::<i64>() {
                            i.into()
                        } else if let Some(f) = t.parse::<f64>().ok().filter(|f| f.is_finite()) {
                            f.into()
                        } else {
                            t.into()
                        }
                    }
                },
                Value::Seq(items) => items.iter().map(convert).collect(),
                Value::Map(entries) => {
                    entries.iter().map(|(k, v)| (k.name.clone(), convert(v))).collect::<serde_json::Map<_, _>>().into()
                }
            }
        }
        Some(RawYaml(convert(node)))
    }
}

impl schemars::JsonSchema for RawYaml {
    fn schema_name() -> Cow<'static, str> {
        "RawYaml".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::Schema::from(serde_json::Map::new())
    }
}

/// Declares a spec struct: its fields, JSON Schema and strict decoding.
///
/// Each field is `req name: Type` (must be written), `opt name: Type` (becomes `Option<Type>`)
/// or `def name: Type` (`Type::default()` when not written). Every struct also gets `span`
/// (the whole mapping) and `spans` (every field's key and value).
#[macro_export]
macro_rules! spec_struct {
    (
        $(@shorthand $sh:ident;)?
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $kind:ident $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, schemars::JsonSchema)]
        #[schemars(deny_unknown_fields, transform = $name::__mark_required)]
        $vis struct $name {
            $( $(#[$fmeta])* pub $field: $crate::spec_struct!(@ty $kind $ty), )*
            #[schemars(skip)]
            pub span: $crate::Span,
            #[schemars(skip)]
            pub spans: $crate::decode::FieldSpans,
        }

        impl $name {
            /// Only `req` fields are required in the schema; `def` fields have defaults.
            #[doc(hidden)]
            pub fn __mark_required(schema: &mut schemars::Schema) {
                let mut required: Vec<serde_json::Value> = Vec::new();
                $(
                    if $crate::spec_struct!(@is_req $kind) {
                        required.push($crate::decode::key_name(stringify!($field)).into());
                    }
                )*
                if required.is_empty() {
                    schema.remove("required");
                } else {
                    schema.insert("required".into(), serde_json::Value::Array(required));
                }
            }

            pub const FIELDS: &'static [&'static str] = &[$($crate::decode::key_name(stringify!($field))),*];
        }

        impl $crate::decode::Decode for $name {
            #[allow(unused_mut, unused_variables)]
            fn decode(node: &$crate::yaml::Node, cx: &mut $crate::decode::Cx) -> Option<Self> {
                let what = &$crate::decode::owner_name(stringify!($name));
                $(
                    if let $crate::yaml::Value::Scalar(_) = &node.value {
                        let wrapped = $crate::decode::wrap_shorthand(node, stringify!($sh));
                        return <Self as $crate::decode::Decode>::decode(&wrapped, cx);
                    }
                )?
                if let $crate::yaml::Value::Seq(_) = &node.value {
                    // A list where the struct is expected usually belongs under one of its
                    // fields (`alerts: [...]` for `alerts: { rules: [...] }`): name the field when
                    // exactly one of them reads this very list without a complaint.
                    let mut fits: Vec<&'static str> = Vec::new();
                    $(
                        let mut scratch = $crate::decode::Cx::new();
                        if <$ty as $crate::decode::Decode>::decode(node, &mut scratch).is_some()
                            && scratch.diagnostics.is_empty()
                        {
                            fits.push($crate::decode::key_name(stringify!($field)));
                        }
                    )*
                    cx.list_for_mapping(node, what, (fits.len() == 1).then(|| fits[0]));
                    return None;
                }
                let entries = cx.map(node, what)?;
                let mut ok = true;
                let mut spans = $crate::decode::FieldSpans::default();
                $( let mut $field: Option<$ty> = None; )*
                for (key, value) in entries {
                    let k = key.name.as_str();
                    $(
                        if k == $crate::decode::key_name(stringify!($field)) {
                            spans.push($crate::decode::key_name(stringify!($field)), key.span, value.span);
                            cx.key = $crate::decode::key_name(stringify!($field));
                            if !(value.is_null() && $crate::spec_struct!(@nullable $kind)) {
                                match <$ty as $crate::decode::Decode>::decode(value, cx) {
                                    Some(v) => $field = Some(v),
                                    None => ok = false,
                                }
                            }
                            continue;
                        }
                    )*
                    cx.unknown_key(key, Self::FIELDS, what, entries);
                }
                $( $crate::spec_struct!(@missing $kind $field, node, cx, ok, what, spans); )*
                if !ok {
                    return None;
                }
                Some($name {
                    $( $field: $crate::spec_struct!(@finish $kind $field), )*
                    span: node.span,
                    spans,
                })
            }
        }
    };
    (@ty req $ty:ty) => { $ty };
    (@ty opt $ty:ty) => { Option<$ty> };
    (@ty def $ty:ty) => { $ty };
    (@is_req req) => { true };
    (@is_req opt) => { false };
    (@is_req def) => { false };
    (@nullable req) => { false };
    (@nullable opt) => { true };
    (@nullable def) => { true };
    (@missing req $field:ident, $node:ident, $cx:ident, $ok:ident, $what:ident, $spans:ident) => {
        // A key that was written but failed to decode is already reported.
        if $field.is_none() && $spans.key($crate::decode::key_name(stringify!($field))).is_none() {
            $cx.push(
                $crate::Diagnostic::new(
                    $crate::Code::MissingKey,
                    $node.span,
                    format!("{} is missing the required key `{}`", $what, $crate::decode::key_name(stringify!($field))),
                )
                .help(format!("add `{}: ...`", $crate::decode::key_name(stringify!($field)))),
            );
        }
        if $field.is_none() {
            $ok = false;
        }
    };
    (@missing opt $field:ident, $node:ident, $cx:ident, $ok:ident, $what:ident, $spans:ident) => {};
    (@missing def $field:ident, $node:ident, $cx:ident, $ok:ident, $what:ident, $spans:ident) => {};
    (@finish req $field:ident) => { $field? };
    (@finish opt $field:ident) => { $field };
    (@finish def $field:ident) => { $field.unwrap_or_default() };
}

/// Declares an enum written as one of a fixed set of strings.
#[macro_export]
macro_rules! spec_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $( $(#[$vmeta])* $variant, )* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub const NAMES: &'static [&'static str] = &[$($text),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            pub fn from_name(name: &str) -> Option<$name> {
                match name { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl $crate::decode::Decode for $name {
            fn decode(node: &$crate::yaml::Node, cx: &mut $crate::decode::Cx) -> Option<Self> {
                let what = $crate::decode::owner_name(stringify!($name));
                let text = cx.scalar(node, &what)?;
                if let Some(v) = $name::from_name(text) {
                    return Some(v);
                }
                let help = $crate::suggest::help_for(text, Self::NAMES.iter().copied(), "values")
                    .unwrap_or_default();
                let noun = what.split_once(' ').map_or(what.as_str(), |(_, n)| n);
                let message = format!("`{text}` is not a valid {noun}");
                match $crate::suggest::did_you_mean(text, Self::NAMES.iter().copied()) {
                    Some(best) if !text.is_empty() => cx.invalid_fix(node, message, help, text, best),
                    _ => cx.invalid(node, message, help),
                }
                None
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let mut map = serde_json::Map::new();
                map.insert("type".into(), "string".into());
                map.insert(
                    "enum".into(),
                    serde_json::Value::Array(Self::NAMES.iter().map(|n| (*n).into()).collect()),
                );
                schemars::Schema::from(map)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    /// How a diagnostic names what a mapping is: with its article, plural names without one.
    #[test]
    fn owner_names() {
        for (type_name, expected) in [
            ("Spec", "the spec"),
            ("Service", "a service"),
            ("Alerts", "alerts"),
            ("NixosSettings", "nixos settings"),
            ("Ingress", "an ingress"),
            ("Pbs", "a pbs"),
            ("Tls", "a tls"),
        ] {
            assert_eq!(super::owner_name(type_name), expected, "{type_name}");
        }
    }
}
