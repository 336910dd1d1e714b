//! A small, deterministic YAML writer for `hearth show`: block style, keys in the order the
//! model gives them, strings quoted only when YAML would misread them.

use serde_json::Value;

/// Writes a JSON value as a YAML document.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0, false);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(quote(s)),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Object(o) if o.is_empty() => Some("{}".into()),
        _ => None,
    }
}

use hearth_render::yaml::scalar as quote;

fn write_value(out: &mut String, v: &Value, indent: usize, in_seq: bool) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (i, (k, val)) in map.iter().enumerate() {
                if !(in_seq && i == 0) {
                    out.push_str(&pad);
                }
                out.push_str(&quote(k));
                out.push(':');
                match scalar(val) {
                    Some(s) => {
                        out.push(' ');
                        out.push_str(&s);
                        out.push('\n');
                    }
                    None => {
                        out.push('\n');
                        write_value(out, val, indent + 2, false);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                if !(in_seq && i == 0) {
                    out.push_str(&pad);
                }
                out.push_str("- ");
                match scalar(item) {
                    Some(s) => {
                        out.push_str(&s);
                        out.push('\n');
                    }
                    None => write_value(out, item, indent + 2, true),
                }
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&scalar(other).unwrap_or_default());
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::to_yaml;

    #[test]
    fn writes_block_yaml() {
        let v = serde_json::json!({"a": 1, "b": ["x", {"c": "yes", "d": []}, ["p", "q"]], "e": {"f": "02:00"}});
        assert_eq!(to_yaml(&v), "a: 1\nb:\n  - x\n  - c: \"yes\"\n    d: []\n  - - p\n    - q\ne:\n  f: \"02:00\"\n");
    }
}
