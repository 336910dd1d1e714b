//! Secret references (`secret:NAME`, `env:VAR`, `op://vault/item/field`) and values that may be one.

use std::fmt;

use crate::decode::{Cx, Decode, string_schema};
use crate::yaml::Node;

/// Where a secret value comes from. The spec only ever holds the reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretRef {
    /// A secret declared under `secrets:` or generated into the encrypted store.
    Named(String),
    /// An environment variable of the machine running Hearth.
    Env(String),
    /// A 1Password reference, resolved with `op read`.
    Op(String),
}

impl SecretRef {
    /// Parses a reference; `None` if the text is not written as one.
    pub fn parse(text: &str) -> Option<Result<SecretRef, String>> {
        let t = text.trim();
        if let Some(name) = t.strip_prefix("secret:") {
            return Some(if valid_secret_name(name) {
                Ok(SecretRef::Named(name.to_string()))
            } else {
                Err(format!("`{name}` is not a secret name (letters, digits, `-`, `_` and `.`)"))
            });
        }
        if let Some(var) = t.strip_prefix("env:") {
            return Some(if !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                Ok(SecretRef::Env(var.to_string()))
            } else {
                Err(format!("`{var}` is not an environment variable name"))
            });
        }
        if let Some(path) = t.strip_prefix("op://") {
            let parts = path.split('/').filter(|p| !p.is_empty()).count();
            return Some(if parts >= 3 {
                Ok(SecretRef::Op(t.to_string()))
            } else {
                Err(format!("`{t}` is not a 1Password reference: write `op://vault/item/field`"))
            });
        }
        None
    }
}

pub fn valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Named(n) => write!(f, "secret:{n}"),
            SecretRef::Env(v) => write!(f, "env:{v}"),
            SecretRef::Op(r) => f.write_str(r),
        }
    }
}

impl Decode for SecretRef {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = cx.scalar(node, "a secret reference")?;
        match SecretRef::parse(text) {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                cx.invalid(node, e, "");
                None
            }
            None => {
                cx.push(
                    crate::Diagnostic::new(
                        crate::Code::PlaintextSecret,
                        node.span,
                        "a secret is written in plain text in the spec",
                    )
                    .label("this value must be a reference")
                    .help("write `secret:NAME`, `env:VARIABLE` or `op://vault/item/field` and keep the value out of the spec"),
                );
                None
            }
        }
    }
}

impl schemars::JsonSchema for SecretRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretRef".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        string_schema("`secret:NAME`, `env:VARIABLE` or `op://vault/item/field`", Some(r"^(secret:|env:|op://)"))
    }
}

impl serde::Serialize for SecretRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A configuration value: literal text or a secret reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    Text(String),
    Secret(SecretRef),
}

impl Decode for Value {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = cx.scalar(node, "a string")?;
        match SecretRef::parse(text) {
            Some(Ok(r)) => Some(Value::Secret(r)),
            Some(Err(e)) => {
                cx.invalid(node, e, "");
                None
            }
            None => Some(Value::Text(text.to_string())),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(t) => f.write_str(t),
            Value::Secret(r) => r.fmt(f),
        }
    }
}

impl schemars::JsonSchema for Value {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Value".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut map = serde_json::Map::new();
        map.insert("type".into(), serde_json::json!(["string", "number", "boolean"]));
        map.insert("description".into(), "Text, or a secret reference (`secret:NAME`, `env:VAR`, `op://...`)".into());
        schemars::Schema::from(map)
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Whether an environment variable or option name suggests its value is a credential.
pub fn looks_secret(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "ACCESS_KEY", "CREDENTIAL"]
        .iter()
        .any(|w| k.contains(w))
}
