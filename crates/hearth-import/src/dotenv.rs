//! `.env` and `env_file:` files as Compose reads them: `KEY=VALUE` lines, `export ` prefixes,
//! `#` comments, single quotes taken literally, double quotes with escapes, and `${VAR}`
//! interpolation in unquoted and double-quoted values (against the variables set so far and the
//! environment).

use std::collections::BTreeMap;

use crate::interpolate::{Interpolated, interpolate};

/// One variable from an env file.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    /// `None` for a bare `KEY` line: the value comes from the environment, if set there.
    pub value: Option<Interpolated>,
    /// 1-based line.
    pub line: usize,
}

/// Parses an env file. `env` is what `${VAR}` reads besides the file's own earlier variables.
pub fn parse(text: &str, env: &BTreeMap<String, String>) -> Vec<Entry> {
    let mut own: BTreeMap<String, String> = env.clone();
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, raw)) = lines.next() {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, rest)) = line.split_once('=') else {
            let key = line.trim();
            if !key.is_empty() {
                out.push(Entry { key: key.to_string(), value: None, line: n + 1 });
            }
            continue;
        };
        let key = key.trim().to_string();
        let rest = rest.trim_start();
        let value = if let Some(body) = rest.strip_prefix('\'') {
            let text = match body.find('\'') {
                Some(end) => body[..end].to_string(),
                None => multiline(body, '\'', &mut lines),
            };
            Interpolated { text, ..Interpolated::default() }
        } else if let Some(body) = rest.strip_prefix('"') {
            let raw = match closing_double(body) {
                Some(end) => body[..end].to_string(),
                None => multiline(body, '"', &mut lines),
            };
            interpolate(&unescape(&raw), &own)
        } else {
            let v = match rest.find(" #") {
                Some(i) => &rest[..i],
                None => rest,
            };
            interpolate(v.trim_end(), &own)
        };
        own.insert(key.clone(), value.text.clone());
        out.push(Entry { key, value: Some(value), line: n + 1 });
    }
    out
}

/// The rest of a quoted value that spans lines, up to the closing quote.
fn multiline<'a>(first: &str, quote: char, lines: &mut impl Iterator<Item = (usize, &'a str)>) -> String {
    let mut text = first.to_string();
    for (_, l) in lines.by_ref() {
        text.push('\n');
        match l.find(quote) {
            Some(end) => {
                text.push_str(&l[..end]);
                return text;
            }
            None => text.push_str(l),
        }
    }
    text
}

/// The index of the `"` closing a double-quoted value, skipping escaped quotes.
fn closing_double(body: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            // `\$` is a literal dollar: keep it doubled so interpolation leaves it alone.
            Some('$') => out.push_str("$$"),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &[(&str, Option<&str>)]) {
        let env: BTreeMap<String, String> = [("HOME".to_string(), "/home/x".to_string())].into();
        let got: Vec<(String, Option<String>)> =
            parse(text, &env).into_iter().map(|e| (e.key, e.value.map(|v| v.text))).collect();
        let expected: Vec<(String, Option<String>)> =
            expected.iter().map(|(k, v)| (k.to_string(), v.map(str::to_string))).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn lines() {
        check(
            "# comment\nA=1\nexport B = two words # note\nC='lit $HOME'\nD=\"q \\\"x\\\" $HOME\"\nE=${A}-$B\nBARE\n\nF=\nG=\"a\nb\"\n",
            &[
                ("A", Some("1")),
                ("B", Some("two words")),
                ("C", Some("lit $HOME")),
                ("D", Some("q \"x\" /home/x")),
                ("E", Some("1-two words")),
                ("BARE", None),
                ("F", Some("")),
                ("G", Some("a\nb")),
            ],
        );
    }
}
