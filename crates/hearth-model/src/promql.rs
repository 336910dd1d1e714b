//! The series selectors of a PromQL expression (`up{job="node"}`, `node_filesystem_avail_bytes`),
//! so the checker can refuse an alert rule no deployed exporter feeds and verify can ask
//! Prometheus whether its series exist.
//!
//! A small scanner, not a parser: it skips strings, range and offset durations, numbers, function
//! and aggregation names and the label lists of `by`, `without`, `on`, `ignoring`, `group_left`
//! and `group_right`, and keeps every metric name with its matchers as written.

/// Words that are never metric names: binary operators, modifiers, and the aggregations, which
/// may take their `by (…)` clause before the parenthesis.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
    "limitk",
    "limit_ratio",
];

/// Words whose parenthesised list holds label names, not expressions.
const LABEL_LISTS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];

/// Every series selector of `expr`, once each, in the order written.
pub fn selectors(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&chars, i);
        } else if c == '[' {
            i = skip_until(&chars, i, ']');
        } else if c == '{' {
            let end = skip_braces(&chars, i);
            push(&mut out, chars[i..end].iter().collect());
            i = end;
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = next_non_space(&chars, i);
            let lower = word.to_ascii_lowercase();
            if LABEL_LISTS.contains(&lower.as_str()) {
                if next.is_some_and(|n| chars[n] == '(') {
                    i = skip_until(&chars, next.unwrap_or(i), ')');
                }
            } else if KEYWORDS.contains(&lower.as_str()) || next.is_some_and(|n| chars[n] == '(') {
                // A function or aggregation: its arguments are scanned next.
            } else if next.is_some_and(|n| chars[n] == '{') {
                let open = next.unwrap_or(i);
                let end = skip_braces(&chars, open);
                push(&mut out, format!("{word}{}", chars[open..end].iter().collect::<String>()));
                i = end;
            } else {
                push(&mut out, word);
            }
        } else {
            i += 1;
        }
    }
    out
}

fn push(out: &mut Vec<String>, selector: String) {
    if !out.contains(&selector) {
        out.push(selector);
    }
}

fn next_non_space(chars: &[char], mut i: usize) -> Option<usize> {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    (i < chars.len()).then_some(i)
}

/// The index after the string starting at `i`, honouring backslash escapes.
fn skip_string(chars: &[char], i: usize) -> usize {
    let quote = chars[i];
    let mut j = i + 1;
    while j < chars.len() && chars[j] != quote {
        if chars[j] == '\\' && quote != '`' {
            j += 1;
        }
        j += 1;
    }
    j + 1
}

/// The index after the first `close` from `i`.
fn skip_until(chars: &[char], i: usize, close: char) -> usize {
    let mut j = i;
    while j < chars.len() && chars[j] != close {
        j += 1;
    }
    j + 1
}

/// The index after the `}` closing the matchers opened at `i`, skipping strings inside.
fn skip_braces(chars: &[char], i: usize) -> usize {
    let mut j = i + 1;
    while j < chars.len() && chars[j] != '}' {
        if matches!(chars[j], '"' | '\'' | '`') {
            j = skip_string(chars, j);
        } else {
            j += 1;
        }
    }
    (j + 1).min(chars.len())
}

#[cfg(test)]
mod tests {
    use super::selectors;

    #[test]
    fn selectors_of_expressions() {
        let cases: &[(&str, &[&str])] = &[
            ("up == 0", &["up"]),
            (r#"up{job="node"} == 0"#, &[r#"up{job="node"}"#]),
            (
                r#"(node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay"}) * 100 < 10"#,
                &[
                    r#"node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"}"#,
                    r#"node_filesystem_size_bytes{fstype!~"tmpfs|overlay"}"#,
                ],
            ),
            (
                "100 - (avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])) * 100) > 90",
                &["node_cpu_seconds_total{mode=\"idle\"}"],
            ),
            ("sum(rate(x_total[5m] offset 1h)) without (pod) > 1e3", &["x_total"]),
            (
                "time() - hearth_backup_last_success_timestamp_seconds > 26 * 3600",
                &["hearth_backup_last_success_timestamp_seconds"],
            ),
            ("a and on(instance) group_left(job) b", &["a", "b"]),
            (r#"{__name__="up", job='x}'}"#, &[r#"{__name__="up", job='x}'}"#]),
            ("vector(1)", &[]),
            ("probe_ssl_earliest_cert_expiry - time() < 86400 * 14", &["probe_ssl_earliest_cert_expiry"]),
        ];
        for (expr, expected) in cases {
            assert_eq!(selectors(expr), *expected, "{expr}");
        }
    }
}
