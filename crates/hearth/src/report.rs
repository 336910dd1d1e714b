//! Printing diagnostics to stderr: graphical with source snippets (miette), or one compact block
//! per diagnostic with `--format short`. Colour only on a terminal, never with `NO_COLOR`.

use std::io::{IsTerminal, Write};

use hearth_spec::{Diagnostic, Severity, SourceMap};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Source snippets with labels.
    Human,
    /// `path:line:col: error[CODE]: message` and indented notes.
    Short,
}

/// Whether stderr gets colour: a terminal, and `NO_COLOR` unset or empty.
pub fn use_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

#[derive(Debug)]
struct Report<'a> {
    d: &'a Diagnostic,
    source: NamedSource<String>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
    code: String,
}

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.d.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.clone().into_iter()))
    }
}

fn span(s: hearth_spec::Span) -> SourceSpan {
    SourceSpan::new((s.start as usize).into(), s.len())
}

/// Renders one diagnostic the way `hearth` prints it.
pub fn render(d: &Diagnostic, sources: &SourceMap, format: Format, colour: bool) -> String {
    if format == Format::Short {
        return d.render_short(sources);
    }
    let file = sources.file(d.primary.span.file);
    let mut labels = vec![LabeledSpan::new_primary_with_span(
        Some(if d.primary.text.is_empty() { "here".to_string() } else { d.primary.text.clone() }),
        span(d.primary.span),
    )];
    let mut notes = Vec::new();
    for l in &d.secondary {
        if l.span.file == d.primary.span.file {
            labels.push(LabeledSpan::new_with_span(Some(l.text.clone()), span(l.span)));
        } else {
            notes.push(format!("{} at {}", l.text, sources.location(l.span)));
        }
    }
    let mut help = d.help.clone();
    if !notes.is_empty() {
        let joined = notes.join("; ");
        help = Some(match help {
            Some(h) => format!("{h}\n{joined}"),
            None => joined,
        });
    }
    let report = Report {
        d,
        source: NamedSource::new(file.path.display().to_string(), file.text.clone()),
        labels,
        help,
        code: d.code.as_str().to_string(),
    };
    let theme = if colour { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1).with_width(100);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        return d.render_short(sources);
    }
    out
}

/// Prints every diagnostic to stderr, then a summary line. Returns (errors, warnings).
pub fn print(diagnostics: &[Diagnostic], sources: &SourceMap, format: Format) -> (usize, usize) {
    let colour = use_colour();
    let mut err = std::io::stderr().lock();
    for d in diagnostics {
        let _ = writeln!(err, "{}", render(d, sources, format, colour));
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    (errors, warnings)
}
