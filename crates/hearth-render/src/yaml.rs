//! YAML scalars that read back as the same string under YAML 1.1 and 1.2, shared by every
//! renderer that writes YAML and by `hearth show`.

/// A double-quoted scalar (JSON string syntax is valid YAML): always safe, for values such as
/// URLs, templates and free text.
pub fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

/// A plain scalar where that is unambiguous (names, paths, durations), else [`quoted`]. YAML 1.1
/// readers (Docker Compose v1, PyYAML) turn `no`, `on`, `80:80` or `1_000` into booleans and
/// numbers, so those are always quoted.
pub fn scalar(s: &str) -> String {
    let first_ok = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/');
    // `:` is safe inside a plain scalar that starts with a letter or `/` (no base-60 reading)
    // as long as no space follows it and it does not end the scalar.
    let safe_chars = s.chars().all(|c| c.is_ascii_alphanumeric() || "_./@+-".contains(c) || (c == ':' && first_ok))
        && !s.ends_with(':');
    let duration = {
        let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let unit = &s[digits.len()..];
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) && matches!(unit, "ms" | "s" | "m" | "h")
    };
    let keyword =
        matches!(s.to_ascii_lowercase().as_str(), "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null");
    if safe_chars && (first_ok || duration) && !keyword { s.to_string() } else { quoted(s) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars() {
        for plain in ["traefik", "/opt/hearth/x", "30s", "unless-stopped", "hearth.service", "a/b:1.2", "/a:/b:ro"] {
            assert_eq!(scalar(plain), plain);
        }
        for q in ["80:80", "no", "ON", "1_000", "1e5", "", "-x", "a b", "0x10", "~", "12", "a:", "1:2"] {
            assert!(scalar(q).starts_with('"'), "{q}");
        }
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
    }
}
