//! Parameter validation with the real server's rules and messages (`PVE::JSONSchema`'s
//! `check_prop`, `check_type` and `check_object`): missing required parameters, names the schema
//! does not define, types, formats, patterns, lengths, ranges and enums, in that order, the first
//! failure per parameter reported.
//!
//! Values arrive as JSON: a form-encoded request gives strings, a JSON body may give numbers,
//! booleans, arrays and objects, which the real server sees as Perl scalars and references.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Schema, formats, propstr};

/// Messages per parameter path (`vmid`, `net0.bridge`), as the real server's `errors` object.
pub type Errors = BTreeMap<String, String>;

/// Adds a message to a path, joining a second one with `\n` as the real server does.
pub(crate) fn add_error(errors: &mut Errors, path: &str, msg: &str) {
    let path = if path.is_empty() { "_root" } else { path };
    errors
        .entry(path.to_string())
        .and_modify(|old| {
            old.push('\n');
            old.push_str(msg);
        })
        .or_insert_with(|| msg.to_string());
}

/// Validates a request's parameter object against a method's `parameters` schema.
pub(crate) fn validate(schema: &Schema, parameters: &Value, params: &Map<String, Value>) -> Errors {
    let mut errors = Errors::new();
    let empty = Map::new();
    let props = parameters.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    // Every top-level parameter schema in pve-apidata forbids additional properties.
    let additional = parameters.get("additionalProperties").and_then(Value::as_i64).unwrap_or(0) != 0;
    check_object(schema, "", props, params, additional, &mut errors);
    errors
}

/// The schema of a parameter name: exact, or an indexed family (`net[n]` for `net0`).
pub(crate) fn property<'a>(props: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if let Some(p) = props.get(key) {
        return Some(p);
    }
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let index = &key[base.len()..];
    if base.is_empty() || index.is_empty() || (index.len() > 1 && index.starts_with('0')) {
        return None;
    }
    props.get(&format!("{base}[n]"))
}

/// `check_object`: each schema key checked (present or missing), then each value key that the
/// schema does not define refused.
pub(crate) fn check_object(
    schema: &Schema,
    path: &str,
    props: &Map<String, Value>,
    value: &Map<String, Value>,
    additional: bool,
    errors: &mut Errors,
) {
    let join = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    for (k, sub) in props {
        if k.ends_with("[n]") {
            continue; // indexed families are checked through the keys present
        }
        check_prop(schema, value.get(k), sub, &join(k), errors);
    }
    for (k, v) in value {
        let sub = if props.contains_key(k) { props.get(k) } else { property(props, k) };
        match sub {
            Some(sub) => {
                if !props.contains_key(k) {
                    check_prop(schema, Some(v), sub, &join(k), errors);
                }
                if let Some(req) = sub.get("requires").and_then(Value::as_str)
                    && value.get(req).is_none_or(Value::is_null)
                {
                    add_error(errors, &join(req), &format!("missing property required by '{}'", join(k)));
                }
            }
            None if !additional => add_error(
                errors,
                &join(k),
                "property is not defined in schema and the schema does not allow additional properties",
            ),
            None => {}
        }
    }
}

/// What a JSON value is to Perl: a plain scalar (its string form), a boolean object, or a
/// reference of another kind.
enum Perl {
    Scalar(String),
    Bool,
    Ref(&'static str),
}

fn perl(v: &Value) -> Option<Perl> {
    Some(match v {
        Value::Null => return None,
        Value::String(s) => Perl::Scalar(s.clone()),
        Value::Number(n) => Perl::Scalar(number_text(n)),
        Value::Bool(_) => Perl::Bool,
        Value::Array(_) => Perl::Ref("ARRAY"),
        Value::Object(_) => Perl::Ref("HASH"),
    })
}

/// A JSON number as Perl prints it (`2048`, `1.5`).
fn number_text(n: &serde_json::Number) -> String {
    match (n.as_i64(), n.as_u64(), n.as_f64()) {
        (Some(i), _, _) => i.to_string(),
        (_, Some(u), _) => u.to_string(),
        (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        _ => n.to_string(),
    }
}

/// A schema number (`minimum: 16`) as the message prints it.
fn bound_text(v: &Value) -> String {
    match v {
        Value::Number(n) => number_text(n),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_integer(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

/// Perl's `is_number`: `^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$`.
pub(crate) fn is_number(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => (digits(a) && (b.is_empty() || digits(b))) || (a.is_empty() && digits(b)),
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)))
}

fn parse_number(s: &str) -> Option<f64> {
    s.trim_start_matches('+').parse().ok()
}

/// `check_type`: true when the value has the schema's type.
fn check_type(path: &str, ty: &str, value: &Value, errors: &mut Errors) -> bool {
    let Some(p) = perl(value) else { return true };
    match (ty, p) {
        ("array", Perl::Ref("ARRAY")) | ("object", Perl::Ref("HASH")) | ("boolean", Perl::Bool) => true,
        ("array" | "object", _) => {
            add_error(errors, path, &format!("type check ('{ty}') failed"));
            false
        }
        (_, Perl::Bool) => {
            add_error(errors, path, &format!("type check ('{ty}') failed - got JSON::PP::Boolean"));
            false
        }
        (_, Perl::Ref(kind)) => {
            add_error(errors, path, &format!("type check ('{ty}') failed - got {kind}"));
            false
        }
        (_, Perl::Scalar(s)) => {
            let ok = match ty {
                "boolean" => s == "0" || s == "1",
                "integer" => is_integer(&s),
                "number" => is_number(&s),
                _ => true,
            };
            if !ok {
                add_error(errors, path, &format!("type check ('{ty}') failed - got '{s}'"));
            }
            ok
        }
    }
}

/// `check_prop` for one value (absent when `None`) against its schema.
pub(crate) fn check_prop(schema: &Schema, value: Option<&Value>, sub: &Value, path: &str, errors: &mut Errors) {
    // An alias is remapped to its target by the real server and never checked itself.
    if sub.get("alias").is_some() {
        return;
    }
    let Some(value) = value.filter(|v| !v.is_null()) else {
        let optional = sub.get("optional").is_some_and(|o| o.as_i64() == Some(1) || o.as_bool() == Some(true));
        if !optional {
            add_error(errors, path, "property is missing and it is not optional");
        }
        return;
    };
    let ty = sub.get("type").and_then(Value::as_str).unwrap_or("");
    if !ty.is_empty() && !check_type(path, ty, value, errors) {
        return;
    }
    match value {
        Value::Array(items) => {
            if let Some(item) = sub.get("items").filter(|i| i.is_object()) {
                for (i, el) in items.iter().enumerate() {
                    check_prop(schema, Some(el), item, &format!("{path}[{i}]"), errors);
                }
            }
            return;
        }
        Value::Object(map) => {
            if let Some(props) = sub.get("properties").and_then(Value::as_object) {
                let additional = sub.get("additionalProperties").is_some_and(|a| a.as_i64() != Some(0));
                check_object(schema, path, props, map, additional, errors);
            }
            return;
        }
        // A JSON boolean is a reference to Perl: nothing but its type is checked.
        Value::Bool(_) => return,
        _ => {}
    }
    let Some(Perl::Scalar(text)) = perl(value) else { return };
    if let Some(format) = sub.get("format") {
        let typetext = sub.get("typetext").and_then(Value::as_str);
        if let Err(msg) = check_format(schema, format, typetext, &text, path) {
            add_error(errors, path, &format!("invalid format - {msg}"));
            return;
        }
    }
    if let Some(pattern) = sub.get("pattern").and_then(Value::as_str)
        && let Some(re) = schema.pattern(pattern)
        && !re.is_match(&text)
    {
        add_error(errors, path, "value does not match the regex pattern");
        return;
    }
    let length = text.chars().count() as u64;
    if let Some(max) = sub.get("maxLength").and_then(Value::as_u64)
        && length > max
    {
        add_error(errors, path, &format!("value may only be {max} characters long"));
        return;
    }
    if let Some(min) = sub.get("minLength").and_then(Value::as_u64)
        && length < min
    {
        add_error(errors, path, &format!("value must be at least {min} characters long"));
        return;
    }
    if is_number(&text)
        && let Some(n) = parse_number(&text)
    {
        if let Some(max) = sub.get("maximum")
            && let Some(m) = max.as_f64().or_else(|| max.as_str().and_then(parse_number))
            && n > m
        {
            add_error(errors, path, &format!("value must have a maximum value of {}", bound_text(max)));
            return;
        }
        if let Some(min) = sub.get("minimum")
            && let Some(m) = min.as_f64().or_else(|| min.as_str().and_then(parse_number))
            && n < m
        {
            add_error(errors, path, &format!("value must have a minimum value of {}", bound_text(min)));
            return;
        }
    }
    if let Some(choices) = sub.get("enum").and_then(Value::as_array)
        && !choices.iter().any(|c| c.as_str() == Some(text.as_str()))
    {
        let list: Vec<String> = choices.iter().map(bound_text).collect();
        add_error(
            errors,
            path,
            &format!("value '{text}' does not have a value in the enumeration '{}'", list.join(", ")),
        );
    }
}

/// `check_format`: a property-string format object, or a named format (with `-list`/`-opt`).
/// A named format the simulator does not know is checked by the keys its `typetext` lists when
/// it is a property string, and otherwise accepted.
fn check_format(schema: &Schema, format: &Value, typetext: Option<&str>, text: &str, path: &str) -> Result<(), String> {
    match format {
        Value::Object(keys) => propstr::check(schema, keys, text, path),
        Value::String(name) => {
            let (base, kind) = match (name.strip_suffix("-list"), name.strip_suffix("-opt")) {
                (Some(b), _) => (b, "list"),
                (_, Some(b)) => (b, "opt"),
                _ => (name.as_str(), ""),
            };
            let one = |v: &str| match formats::verify(base, v) {
                Some(result) => result,
                None => match typetext {
                    Some(t) if t.contains('=') && kind.is_empty() => propstr::check_typetext(t, v),
                    _ => Ok(()),
                },
            };
            match kind {
                "list" => formats::split_list(text).try_for_each(one),
                "opt" if text.is_empty() => Ok(()),
                _ => one(text),
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_perl() {
        for (s, want) in [
            ("1", true),
            ("-1.5", true),
            ("1.", true),
            (".5", true),
            ("1e3", true),
            ("1e", false),
            ("a", false),
            ("", false),
        ] {
            assert_eq!(is_number(s), want, "{s}");
        }
    }

    #[test]
    fn indexed_families() {
        let props: Map<String, Value> = serde_json::from_str(r#"{"net[n]": {}, "vmid": {}}"#).unwrap();
        assert!(property(&props, "net0").is_some());
        assert!(property(&props, "net12").is_some());
        assert!(property(&props, "net01").is_none());
        assert!(property(&props, "net").is_none());
        assert!(property(&props, "vmid").is_some());
    }
}
