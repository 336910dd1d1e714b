//! `hearth show` as YAML: the model's JSON written as block YAML through the renderers' own
//! writer, so every YAML Hearth prints follows the same quoting rules.

use hearth_spec::emit::{Node, scalar};
use serde_json::Value;

/// Writes a JSON value as a YAML document.
pub fn to_yaml(value: &Value) -> String {
    Node::from_json(value).to_block(&scalar)
}
