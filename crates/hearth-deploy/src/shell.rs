//! POSIX shell quoting for the scripts Hearth sends to machines.

/// Quotes `s` as one shell word, the same way the rendered scripts do.
pub use hearth_render::sh_quote as quote;

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
