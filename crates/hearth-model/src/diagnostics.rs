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
