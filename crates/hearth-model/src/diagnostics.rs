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
    Diagnostic::new(Code::UnknownReference, span, format!("unknown {what} `{name}`"))
        .label(format!("no {what} has this name"))
        .help(help)
}

/// The name an [`unknown_reference`] diagnostic is about: the text between the last pair of
/// backticks of its message, which `unknown_reference` writes as "unknown WHAT `NAME`".
pub fn unknown_name(d: &Diagnostic) -> Option<&str> {
    if d.code != Code::UnknownReference {
        return None;
    }
    let rest = d.message.strip_suffix('`')?;
    let start = rest.rfind('`')?;
    Some(&rest[start + 1..])
}
