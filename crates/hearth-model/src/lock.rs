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

    /// Parses [`Allocations::to_text`]; lines that do not parse are ignored (they are re-allocated).
    pub fn from_text(text: &str) -> Allocations {
        let values = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once(" = "))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Allocations { values }
    }
}
