//! Allocations remembered between runs, so adding a guest or service never renumbers others.
//!
//! The resolver takes the previous [`Allocations`] (from `hearth.lock` beside the spec) and
//! returns the new set. A remembered value is reused while it is still valid and free; values
//! nobody asks for any more are dropped. Without a lock file, allocation is deterministic by name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `kind/owner/what` -> value, e.g. `guest/db/id` -> `105`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocations {
    #[serde(flatten)]
    pub values: BTreeMap<String, String>,
}

impl Allocations {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn set(&mut self, key: String, value: String) {
        self.values.insert(key, value);
    }

    /// The lock file's text: one `key = value` line each, sorted, with a header.
    pub fn to_text(&self) -> String {
        let mut out = String::from(
            "# hearth.lock: allocations Hearth made for values the spec leaves out.\n# Keep it under version control so numbers and addresses stay stable.\n",
        );
        for (k, v) in &self.values {
            out.push_str(k);
            out.push_str(" = ");
            out.push_str(v);
            out.push('\n');
        }
        out
    }

    /// Parses [`Allocations::to_text`]. Blank lines and `#` comments are skipped; any other
    /// line must be `key = value`, each key once. A line that does not parse is an error: dropping
    /// it would silently renumber what it held.
    pub fn from_text(text: &str) -> Result<Allocations, LockError> {
        let mut values = BTreeMap::new();
        let mut first_seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let Some((key, value)) = raw.split_once(" = ").map(|(k, v)| (k.trim(), v.trim())) else {
                return Err(LockError::Malformed { line, text: excerpt(trimmed) });
            };
            if key.is_empty() || value.is_empty() {
                return Err(LockError::Malformed { line, text: excerpt(trimmed) });
            }
            if let Some(&first) = first_seen.get(key) {
                return Err(LockError::Duplicate { line, key: excerpt(key), first });
            }
            first_seen.insert(key, line);
            values.insert(key.to_string(), value.to_string());
        }
        Ok(Allocations { values })
    }
}

/// Why a lock file could not be parsed, with the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    #[error("expected `key = value`, found `{text}`")]
    Malformed { line: usize, text: String },
    #[error("`{key}` is already set on line {first}")]
    Duplicate { line: usize, key: String, first: usize },
}

impl LockError {
    /// The 1-based line the error is on.
    pub fn line(&self) -> usize {
        match self {
            LockError::Malformed { line, .. } | LockError::Duplicate { line, .. } => *line,
        }
    }
}

/// At most 80 characters of a line, for an error message.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Allocations, LockError};

    /// Parses `text` and compares the result, as `key=value` pairs or the error, with `expected`.
    fn check(text: &str, expected: Result<&[(&str, &str)], LockError>) {
        let got = Allocations::from_text(text);
        let want = expected
            .map(|pairs| Allocations { values: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() });
        assert_eq!(got, want, "{text:?}");
    }

    #[test]
    fn parses_what_it_writes_and_refuses_the_rest() {
        let mut a = Allocations::default();
        a.set("guest/db/id".into(), "105".into());
        a.set("guest/db/address".into(), "192.168.1.20".into());
        assert_eq!(Allocations::from_text(&a.to_text()), Ok(a));
        check("", Ok(&[]));
        check("# comment\n\n  \nguest/a/id = 100\r\n", Ok(&[("guest/a/id", "100")]));
        check("guest/a/id = 100\nguest/a/id\n", Err(LockError::Malformed { line: 2, text: "guest/a/id".into() }));
        check("guest/a/id=100\n", Err(LockError::Malformed { line: 1, text: "guest/a/id=100".into() }));
        check(" = 100\n", Err(LockError::Malformed { line: 1, text: "= 100".into() }));
        check("a = 1\n# x\na = 2\n", Err(LockError::Duplicate { line: 3, key: "a".into(), first: 1 }));
        let long = "x".repeat(1000);
        check(&long, Err(LockError::Malformed { line: 1, text: format!("{}…", "x".repeat(80)) }));
    }
}
