//! Compose's variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
//! `${VAR:?error}`, `${VAR?error}`, `${VAR:+alternative}`, `${VAR+alternative}` and `$$`.
//!
//! Besides the text, it says which variables a value used (so a value that came from
//! `${DB_PASSWORD}` is known to be a secret, and can be declared `env: DB_PASSWORD`), whether the
//! whole value was one variable, and which variables were missing.

use std::collections::BTreeMap;

/// The result of interpolating one value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interpolated {
    pub text: String,
    /// Every variable the value read, set or not, in order.
    pub vars: Vec<String>,
    /// The variable the whole value was, when it was nothing but one substitution.
    pub whole: Option<String>,
    /// Variables that were not set and had no default (Compose substitutes an empty string).
    pub unset: Vec<String>,
    /// `${VAR:?message}` whose variable was not set: Compose refuses the file.
    pub required: Vec<(String, String)>,
    /// Text Compose cannot read (an unclosed `${`); kept as written.
    pub malformed: bool,
}

/// Interpolates `text` against `env`.
pub fn interpolate(text: &str, env: &BTreeMap<String, String>) -> Interpolated {
    let mut out = Interpolated::default();
    out.text = expand(text, env, &mut out, 0);
    if out.vars.len() == 1 && is_single_reference(text) {
        out.whole = out.vars.first().cloned();
    }
    out
}

/// Nested defaults deeper than this are kept as written instead of expanded.
const MAX_NESTING: usize = 16;

fn expand(text: &str, env: &BTreeMap<String, String>, out: &mut Interpolated, depth: usize) -> String {
    let bytes = text.as_bytes();
    let mut result = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            let next = text[i..].find('$').map_or(text.len(), |p| i + p);
            result.push_str(&text[i..next]);
            i = next;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => {
                result.push('$');
                i += 2;
            }
            Some(b'{') => {
                let Some(close) = matching_brace(text, i + 2) else {
                    out.malformed = true;
                    result.push_str(&text[i..]);
                    break;
                };
                let inner = &text[i + 2..close];
                result.push_str(&braced(inner, env, out, depth));
                i = close + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let end = text[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(text.len(), |p| i + 1 + p);
                let name = &text[i + 1..end];
                result.push_str(&lookup(name, env, out, true));
                i = end;
            }
            _ => {
                result.push('$');
                i += 1;
            }
        }
    }
    result
}

/// The index of the `}` closing a `${` whose body starts at `from`, counting nested `${`.
fn matching_brace(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 2;
                continue;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn lookup(name: &str, env: &BTreeMap<String, String>, out: &mut Interpolated, report_unset: bool) -> String {
    out.vars.push(name.to_string());
    match env.get(name) {
        Some(v) => v.clone(),
        None => {
            if report_unset && !out.unset.iter().any(|u| u == name) {
                out.unset.push(name.to_string());
            }
            String::new()
        }
    }
}

/// The body of `${…}`: a name, then optionally an operator and a word.
fn braced(inner: &str, env: &BTreeMap<String, String>, out: &mut Interpolated, depth: usize) -> String {
    let name_end = inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(inner.len());
    let name = &inner[..name_end];
    let rest = &inner[name_end..];
    if name.is_empty() {
        out.malformed = true;
        return format!("${{{inner}}}");
    }
    let word = |w: &str, out: &mut Interpolated| {
        if depth >= MAX_NESTING { w.to_string() } else { expand(w, env, out, depth + 1) }
    };
    let value = env.get(name);
    out.vars.push(name.to_string());
    let (op, w) = if let Some(w) = rest.strip_prefix(":-") {
        (":-", w)
    } else if let Some(w) = rest.strip_prefix(":?") {
        (":?", w)
    } else if let Some(w) = rest.strip_prefix(":+") {
        (":+", w)
    } else if rest.is_empty() {
        ("", "")
    } else {
        let first = rest.chars().next().map_or(0, char::len_utf8);
        (&rest[..first], &rest[first..])
    };
    match op {
        "" => match value {
            Some(v) => v.clone(),
            None => {
                if !out.unset.iter().any(|u| u == name) {
                    out.unset.push(name.to_string());
                }
                String::new()
            }
        },
        ":-" => match value.filter(|v| !v.is_empty()) {
            Some(v) => v.clone(),
            None => word(w, out),
        },
        "-" => match value {
            Some(v) => v.clone(),
            None => word(w, out),
        },
        ":?" | "?" => {
            let missing = if op == ":?" { value.is_none_or(|v| v.is_empty()) } else { value.is_none() };
            if missing {
                out.required.push((name.to_string(), w.to_string()));
                String::new()
            } else {
                value.cloned().unwrap_or_default()
            }
        }
        ":+" => match value.filter(|v| !v.is_empty()) {
            Some(_) => word(w, out),
            None => String::new(),
        },
        "+" => match value {
            Some(_) => word(w, out),
            None => String::new(),
        },
        _ => {
            out.malformed = true;
            format!("${{{inner}}}")
        }
    }
}

/// Whether the text is exactly one `$VAR` or `${VAR…}` (surrounding spaces aside).
fn is_single_reference(text: &str) -> bool {
    let t = text.trim();
    if let Some(body) = t.strip_prefix("${") {
        return matching_brace(t, 2) == Some(t.len() - 1) && !body.is_empty();
    }
    t.strip_prefix('$').is_some_and(|n| {
        n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &str, unset: &[&str]) {
        let env: BTreeMap<String, String> = [("SET", "v"), ("EMPTY", ""), ("PW", "s3cret")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let got = interpolate(text, &env);
        assert_eq!(got.text, expected, "{text}");
        assert_eq!(got.unset, unset.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "{text}");
    }

    #[test]
    fn forms() {
        check("plain", "plain", &[]);
        check("$SET", "v", &[]);
        check("${SET}", "v", &[]);
        check("a${SET}b$SET.c", "avbv.c", &[]);
        check("$$SET", "$SET", &[]);
        check("${MISSING}", "", &["MISSING"]);
        check("$MISSING/x", "/x", &["MISSING"]);
        check("${MISSING:-def}", "def", &[]);
        check("${EMPTY:-def}", "def", &[]);
        check("${EMPTY-def}", "", &[]);
        check("${MISSING-def}", "def", &[]);
        check("${MISSING:-${SET}x}", "vx", &[]);
        check("${SET:+alt}", "alt", &[]);
        check("${MISSING:+alt}", "", &[]);
        check("${EMPTY+alt}", "alt", &[]);
        check("cost $5", "cost $5", &[]);
        check("${unclosed", "${unclosed", &[]);
    }

    #[test]
    fn whole_and_required() {
        let env = BTreeMap::new();
        let got = interpolate("${DB_PASSWORD:?set it}", &env);
        assert_eq!(got.whole.as_deref(), Some("DB_PASSWORD"));
        assert_eq!(got.required, vec![("DB_PASSWORD".to_string(), "set it".to_string())]);
        assert_eq!(interpolate("x${A}", &env).whole, None);
        assert_eq!(interpolate(" $A ", &env).whole.as_deref(), Some("A"));
    }
}
