//! The JSON Schema of the spec, for editor autocompletion (`hearth schema`).

use crate::ast::Spec;

/// The schema as pretty JSON, with a stable key order.
pub fn json() -> String {
    let mut schema = schemars::schema_for!(Spec);
    schema.insert("$id".into(), "https://hearth.invalid/schema/spec.json".into());
    schema.insert("title".into(), "Hearth homelab spec".into());
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
