//! "Did you mean": the closest known name to a misspelt one.

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let word_lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&word_lower, &c.to_ascii_lowercase()), c))
        .filter(|&(d, c)| {
            // Allow roughly one edit per three characters, and at least one, so short names
            // still get suggestions while unrelated words do not.
            let limit = (word.len().max(c.len()) / 3).max(1);
            d <= limit
        })
        .min_by_key(|&(d, c)| (d, c))
        .map(|(_, c)| c)
}

/// A help line suggesting the closest candidate, or listing a few valid ones.
pub fn help_for<'a, I>(word: &str, candidates: I, what: &str) -> Option<String>
where
    I: IntoIterator<Item = &'a str> + Clone,
{
    if let Some(best) = did_you_mean(word, candidates.clone()) {
        return Some(format!("did you mean `{best}`?"));
    }
    let mut all: Vec<&str> = candidates.into_iter().collect();
    if all.is_empty() {
        return None;
    }
    all.sort_unstable();
    all.dedup();
    let shown: Vec<String> = all.iter().take(12).map(|c| format!("`{c}`")).collect();
    let more = if all.len() > 12 { format!(" and {} more", all.len() - 12) } else { String::new() };
    Some(format!("valid {what}: {}{more}", shown.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    fn check(word: &str, candidates: &[&str], expected: Option<&str>) {
        assert_eq!(did_you_mean(word, candidates.iter().copied()), expected, "{word}");
    }

    #[test]
    fn suggestions() {
        check("adress", &["address", "network", "size"], Some("address"));
        check("netwrok", &["address", "network"], Some("network"));
        check("zzz", &["address", "network"], None);
        check("on", &["os", "on"], Some("on"));
        check("Cores", &["cores", "memory"], Some("cores"));
    }
}
