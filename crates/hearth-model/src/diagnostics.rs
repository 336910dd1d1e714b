//! Diagnostic constructors shared by the resolver and the checks.

use hearth_spec::{Code, Diagnostic, Span, suggest};

/// "unknown WHAT `name`", with the closest declared name as help, else the valid names, else
/// `declare the WHAT first`.
pub fn unknown_reference(span: Span, what: &str, name: &str, candidates: &[&str]) -> Diagnostic {
    let plural = match what.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{what}s"),
    };
    let help = suggest::help_for(name, candidates.iter().copied(), &plural)
        .unwrap_or_else(|| format!("declare the {what} first"));
    let d = Diagnostic::new(Code::UnknownReference, span, format!("unknown {what} `{name}`"))
        .label(format!("no {what} has this name"))
        .help(help);
    match suggest::did_you_mean(name, candidates.iter().copied()) {
        Some(best) if !name.is_empty() => d.suggest_part(span, name, best),
        _ => d,
    }
}

/// What an [`unknown_reference`] diagnostic is about, read back from the message it wrote
/// ("unknown WHAT `NAME`"): the kinds of thing WHAT names (`guest, host or cluster` gives three)
/// and the name.
pub fn unknown_parts(d: &Diagnostic) -> Option<(Vec<&str>, &str)> {
    if d.code != Code::UnknownReference {
        return None;
    }
    let rest = d.message.strip_prefix("unknown ")?.strip_suffix('`')?;
    let (what, name) = rest.rsplit_once(" `")?;
    let kinds = what.split(", ").flat_map(|w| w.split(" or ")).collect();
    Some((kinds, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(what: &str, name: &str, kinds: &[&str]) {
        let d = unknown_reference(Span::default(), what, name, &[]);
        assert_eq!(unknown_parts(&d), Some((kinds.to_vec(), name)));
    }

    #[test]
    fn unknown_parts_read_back_what_unknown_reference_wrote() {
        check("service", "pg", &["service"]);
        check("guest, host or cluster", "k3s-node", &["guest", "host", "cluster"]);
        check("backup policy", "offsite", &["backup policy"]);
    }
}
