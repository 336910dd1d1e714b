//! POSIX shell quoting for the scripts Hearth sends to machines.

/// Quotes `s` as one shell word: bare when it holds only safe characters, otherwise in single
/// quotes with embedded single quotes closed, escaped and reopened.
pub fn quote(s: &str) -> String {
    let safe = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe { s.to_string() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}

/// Quotes every word and joins them with spaces.
pub fn join<S: AsRef<str>>(words: &[S]) -> String {
    words.iter().map(|w| quote(w.as_ref())).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::quote;

    fn check(input: &str, expected: &str) {
        assert_eq!(quote(input), expected, "quoting {input:?}");
    }

    #[test]
    fn quoting() {
        check("/etc/caddy/Caddyfile", "/etc/caddy/Caddyfile");
        check("", "''");
        check("a b", "'a b'");
        check("it's", r"'it'\''s'");
        check("$(reboot)", "'$(reboot)'");
    }
}
