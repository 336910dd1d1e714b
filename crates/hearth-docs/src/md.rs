//! Small Markdown helpers: tables with escaped cells, code spans, counts, secret names.

use hearth_model::model::{Part, Template};

/// A Markdown table; cells are escaped when added.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table { header: header.iter().map(|h| cell(h)).collect(), rows: Vec::new() }
    }

    /// Adds a row of plain text (escaped).
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        self.rows.push(cells.iter().map(|c| cell(c.as_ref())).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn write(&self, out: &mut String) {
        out.push_str(&format!("| {} |\n", self.header.join(" | ")));
        out.push_str(&format!("|{}\n", "---|".repeat(self.header.len())));
        for r in &self.rows {
            let mut cells = r.clone();
            cells.resize(self.header.len(), String::new());
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out.push('\n');
    }
}

/// One table cell: `|` escaped, line breaks flattened, empty shown as `-`.
pub fn cell(text: &str) -> String {
    let t = text.replace('|', "\\|").replace(['\n', '\r'], " ");
    if t.trim().is_empty() { "-".to_string() } else { t }
}

/// A code span that survives any backticks inside.
pub fn code(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let ticks = longest_run(text, '`') + 1;
    let fence = "`".repeat(ticks);
    if text.starts_with('`') || text.ends_with('`') {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in text.chars() {
        if ch == c {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// `1 host`, `3 hosts`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A percentage with one decimal.
pub fn percent(part: f64, whole: f64) -> String {
    if whole <= 0.0 { "-".to_string() } else { format!("{:.1}%", part * 100.0 / whole) }
}

/// The name a secret reference is listed under: `secret:NAME` becomes `NAME`; `env:` and
/// `op://` references stay whole.
pub fn secret_name(reference: &str) -> String {
    reference.strip_prefix("secret:").unwrap_or(reference).to_string()
}

/// Whether a string is a secret reference (never a value: the model holds none).
pub fn is_reference(text: &str) -> bool {
    text.starts_with("secret:") || text.starts_with("env:") || text.starts_with("op://")
}

/// A templated value with every secret part masked as `****`.
pub fn masked(t: &Template) -> String {
    t.parts
        .iter()
        .map(|p| match p {
            Part::Text(s) => s.clone(),
            Part::Secret(_) => "****".to_string(),
        })
        .collect()
}

/// The secret names a template refers to.
pub fn secrets_of(t: &Template) -> Vec<String> {
    t.parts
        .iter()
        .filter_map(|p| match p {
            Part::Secret(s) => Some(secret_name(s)),
            Part::Text(_) => None,
        })
        .collect()
}
