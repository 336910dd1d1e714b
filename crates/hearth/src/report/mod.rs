//! Printing diagnostics to stderr: graphical with source snippets (miette), or one compact block
//! per diagnostic with `--format short`. Colour only on a terminal, never with `NO_COLOR`.

use std::io::{IsTerminal, Write};

use hearth_spec::{Diagnostic, Severity, SourceMap};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan};

use excerpt::{Excerpt, Label};

mod excerpt;

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

struct Report<'a> {
    d: &'a Diagnostic,
    source: Excerpt,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
    code: String,
}

impl std::fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report").field("d", self.d).field("code", &self.code).finish_non_exhaustive()
    }
}

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, clip(&self.d.message))
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

/// The most characters of a message, label or help text the graphical report prints: a
/// message quoting a megabyte-long key would otherwise fill thousands of wrapped lines.
const TEXT_LIMIT: usize = 400;

/// `text`, cut to [`TEXT_LIMIT`] characters with an ellipsis.
fn clip(text: &str) -> String {
    match text.char_indices().nth(TEXT_LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn range(s: hearth_spec::Span) -> std::ops::Range<usize> {
    s.start as usize..s.end as usize
}

/// Renders one diagnostic the way `hearth` prints it.
pub fn render(d: &Diagnostic, sources: &SourceMap, format: Format, colour: bool) -> String {
    if format == Format::Short {
        return d.render_short(sources);
    }
    let file = sources.file(d.primary.span.file);
    let primary = Label {
        range: range(d.primary.span),
        text: if d.primary.text.is_empty() { "here".to_string() } else { clip(&d.primary.text) },
    };
    let mut secondary = Vec::new();
    let mut notes = Vec::new();
    for l in &d.secondary {
        if l.span.file == d.primary.span.file {
            secondary.push(Label { range: range(l.span), text: clip(&l.text) });
        } else {
            notes.push(format!("{} at {}", l.text, sources.location(l.span)));
        }
    }
    let placed = excerpt::place(file, primary, secondary);
    for l in &placed.hidden {
        let span = hearth_spec::Span::new(d.primary.span.file, l.range.start, l.range.end);
        notes.push(format!("{} at {}", l.text, sources.location(span)));
    }
    let mut help = d.help.as_deref().map(clip);
    if !notes.is_empty() {
        let joined = notes.join("; ");
        help = Some(match help {
            Some(h) => format!("{h}\n{joined}"),
            None => joined,
        });
    }
    let report = Report { d, source: placed.source, labels: placed.labels, help, code: d.code.as_str().to_string() };
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

#[cfg(test)]
mod tests {
    use hearth_spec::{Code, Diagnostic, SourceMap, Span};

    use super::{Format, render};

    /// Renders a diagnostic with the given primary and secondary byte ranges over `text` and
    /// checks that the graphical header names `location`, as the short format does.
    fn check(text: &str, primary: (u32, u32), secondary: &[(u32, u32)], location: &str) {
        let mut sources = SourceMap::new();
        let file = sources.add("t.yaml", text);
        let span = |(start, end): (u32, u32)| Span { file, start, end };
        let mut d = Diagnostic::new(Code::UnknownKey, span(primary), "message");
        for &s in secondary {
            d = d.with(span(s), "other");
        }
        let short = render(&d, &sources, Format::Short, false);
        assert!(short.starts_with(&format!("t.yaml:{location}: ")), "{short}");
        let human = render(&d, &sources, Format::Human, false);
        assert!(human.contains(&format!("─[t.yaml:{location}]")), "{location}:\n{human}");
    }

    #[test]
    fn spans_outside_the_text_or_inside_a_character_still_render() {
        check("a: 1\n", (5, 5), &[], "2:1");
        check("a: 1", (4, 4), &[], "1:5");
        check("a: 1\n", (3, 1), &[(0, 99)], "1:4");
        check("é: 1\n", (1, 2), &[(1, 1)], "1:2");
        check("a: 1\n", (90, 99), &[(0, 1)], "2:1");
        check("", (0, 0), &[(0, 5)], "1:1");
        check("a: 1\r\nb: 2\r\n", (4, 6), &[(10, 12)], "1:5");
    }

    #[test]
    fn a_label_over_many_lines_shows_its_first_line_only() {
        let text = "k: v\n".repeat(100_000);
        let mut sources = SourceMap::new();
        let file = sources.add("t.yaml", text.as_str());
        let d = Diagnostic::new(Code::MissingKey, Span { file, start: 0, end: text.len() as u32 }, "no name");
        let human = render(&d, &sources, Format::Human, false);
        assert!(human.lines().count() < 12, "{human}");
        let d = Diagnostic::new(Code::MissingKey, Span { file, start: 0, end: 24 }, "five lines");
        let human = render(&d, &sources, Format::Human, false);
        assert!(human.contains(" 5 │ ├─▶ k: v"), "a short multi-line label keeps its lines:\n{human}");
    }
}
