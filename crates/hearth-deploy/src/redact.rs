//! Replaces secret values with `***` in anything that came back from a machine before it reaches
//! an error, an event or a log.

use hearth_render::{File, Kind};

/// The secret values to hide: each value of a `KEY=VALUE` line of a secret file, and each whole
/// line, longest first so that a value inside another is not half replaced.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
}

impl Redactor {
    pub fn new<'a>(files: impl IntoIterator<Item = &'a File>) -> Redactor {
        let mut values = Vec::new();
        for file in files.into_iter().filter(|f| f.kind == Kind::EnvSecret) {
            for line in file.content.lines() {
                let line = line.trim();
                if let Some((_, value)) = line.split_once('=') {
                    let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
                    // Very short values (`1`, `yes`) would blank out ordinary words.
                    if value.len() >= 4 {
                        values.push(value.to_string());
                    }
                }
                if line.len() >= 4 {
                    values.push(line.to_string());
                }
            }
        }
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Redactor { values }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(secret: &str, text: &str, expected: &str) {
        let file = File::new("m", "/srv/.env", Kind::EnvSecret, secret);
        assert_eq!(Redactor::new([&file]).redact(text), expected);
    }

    #[test]
    fn redaction() {
        check("TOKEN=canary-123\n", "error: bad token canary-123", "error: bad token ***");
        check("TOKEN=\"quoted-value\"\n", "saw quoted-value", "saw ***");
        check("FLAG=1\n", "exit 1", "exit 1");
        check("A=abcdef\nB=abcdefgh\n", "abcdefgh abcdef", "*** ***");
    }
}
