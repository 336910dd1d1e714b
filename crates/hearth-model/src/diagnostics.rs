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
/// and the name. An `env` reference to an unknown service (E802, "`env.KEY` of `S` refers to
/// unknown service `NAME`") reads the same way, so a planned service explains it too.
pub fn unknown_parts(d: &Diagnostic) -> Option<(Vec<&str>, &str)> {
    let rest = match d.code {
        Code::UnknownReference => d.message.strip_prefix("unknown ")?,
        Code::UnknownEnvReference => d.message.split_once(" refers to unknown ")?.1,
        _ => return None,
    };
    let rest = rest.strip_suffix('`')?;
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
    fn unknown_parts_read_an_env_reference_to_an_unknown_service() {
        let d = Diagnostic::new(
            Code::UnknownEnvReference,
            Span::default(),
            "`env.B` of `n8n` refers to unknown service `mqtt`",
        );
        assert_eq!(unknown_parts(&d), Some((vec!["service"], "mqtt")));
    }

    #[test]
    fn unknown_parts_read_back_what_unknown_reference_wrote() {
        check("service", "pg", &["service"]);
        check("guest, host or cluster", "k3s-node", &["guest", "host", "cluster"]);
        check("backup policy", "offsite", &["backup policy"]);
    }
}
