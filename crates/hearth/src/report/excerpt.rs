//! The source excerpt the graphical report shows: only the lines around a diagnostic's labels,
//! each cut to a window of at most [`WINDOW`] characters around the labels on it.
//!
//! miette lays out snippets with `format!` widths, which panic past 65,535 columns, and it
//! prints control characters as they are. The excerpt gives it short lines with control
//! characters replaced, and keeps the real line and column of the primary label for the header,
//! computed the way `--format short` computes them.

use std::ops::Range;

use hearth_spec::source::SourceFile;
use miette::{LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// The most characters of one source line a snippet shows.
pub const WINDOW: usize = 200;
/// How many characters before the first label on a long line stay visible.
const LEAD: usize = 60;
/// The most lines one label may cover; a longer one (a whole mapping, a whole file) is shown on
/// its first line only, so the snippet stays a snippet.
const MAX_LABEL_LINES: usize = 12;
/// What stands for the cut part of a long line.
const ELLIPSIS: &str = "…";

/// One label to place in the excerpt: a byte range of the file and its text.
pub struct Label {
    pub range: Range<usize>,
    pub text: String,
}

/// The excerpt, with the labels moved into it.
pub struct Placed {
    pub source: Excerpt,
    pub labels: Vec<LabeledSpan>,
    /// Secondary labels that start outside the visible part of their line, to be listed as
    /// notes instead.
    pub hidden: Vec<Label>,
}

/// A [`SourceCode`] holding the excerpt's text, whose line numbers are those of the real file.
pub struct Excerpt {
    name: String,
    text: String,
    /// The 0-based real line of the excerpt's first line.
    first_line: usize,
    /// The primary label's start in the excerpt, and its real 0-based line and column.
    primary: (usize, usize, usize),
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.as_str().read_span(span, before, after)?;
        let (offset, line, column) = self.primary;
        let (line, column) = if before == 0 && span.offset() == offset {
            (line, column)
        } else {
            (inner.line() + self.first_line, inner.column())
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            line,
            column,
            inner.line_count(),
        )))
    }
}

/// The visible part of one real line and where its characters went in the excerpt.
struct Window {
    /// Real byte offsets of the window's first and last character boundary.
    start: usize,
    end: usize,
    /// Whether the window reaches the end of the line (then the line break maps to its end).
    to_line_end: bool,
    /// Real line end: the offset of its `\n`, or the end of the text.
    line_end: usize,
    /// (real offset, excerpt offset) of every character boundary in the window, ascending.
    points: Vec<(usize, usize)>,
}

impl Window {
    /// The excerpt offset of a real offset on this line, if it is visible.
    fn map(&self, p: usize) -> Option<usize> {
        if p < self.start || (p > self.end && !(self.to_line_end && p <= self.line_end)) {
            return None;
        }
        let p = p.min(self.end);
        let i = self.points.partition_point(|&(real, _)| real <= p).saturating_sub(1);
        self.points.get(i).map(|&(_, e)| e)
    }

    /// The excerpt offset of a real offset on this line, moved into the window when outside.
    fn clamp(&self, p: usize) -> usize {
        self.map(p.clamp(self.start, self.end)).unwrap_or(0)
    }
}

/// The largest char boundary of `text` at or before `p`, within the text.
fn floor_boundary(text: &str, p: usize) -> usize {
    let mut p = p.min(text.len());
    while !text.is_char_boundary(p) {
        p -= 1;
    }
    p
}

/// The 0-based line of a byte offset.
fn line_of(file: &SourceFile, p: usize) -> usize {
    file.line_col(u32::try_from(p).unwrap_or(u32::MAX)).0 - 1
}

/// Builds the excerpt for a primary label and the secondary labels in the same file.
pub fn place(file: &SourceFile, primary: Label, secondary: Vec<Label>) -> Placed {
    let text = file.text.as_str();
    let fix = |l: Label| {
        let start = floor_boundary(text, l.range.start);
        let mut end = floor_boundary(text, l.range.end).max(start);
        if line_of(file, end) - line_of(file, start) > MAX_LABEL_LINES {
            end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        }
        Label { range: start..end, text: l.text }
    };
    // The header names the position `--format short` names, computed from the span as given.
    let (real_line, real_col) = file.line_col(u32::try_from(primary.range.start).unwrap_or(u32::MAX));
    let primary = fix(primary);
    let secondary: Vec<Label> = secondary.into_iter().map(fix).collect();
    let lines_of = |l: &Label| (line_of(file, l.range.start), line_of(file, l.range.end));
    let spans: Vec<(usize, usize)> = std::iter::once(&primary).chain(&secondary).map(lines_of).collect();
    let first_line = spans.iter().map(|s| s.0).min().unwrap_or(0).saturating_sub(1);
    let last_line = spans.iter().map(|s| s.1).max().unwrap_or(0) + 1;
    let shown = |l: usize| spans.iter().any(|&(s, e)| (s.saturating_sub(1)..=e + 1).contains(&l));
    let anchor = |ls: usize, le: usize| {
        let on = |p: usize| (ls..=le).contains(&p);
        if on(primary.range.start) {
            return primary.range.start;
        }
        let starts = secondary.iter().map(|l| l.range.start).filter(|&p| on(p)).min();
        let ends = std::iter::once(&primary).chain(&secondary).map(|l| l.range.end).filter(|&p| on(p)).min();
        starts.or(ends).unwrap_or(ls)
    };

    let mut out = String::new();
    let mut windows = Vec::new();
    // The earliest label start is on `first_line` or the line after it.
    let earliest = std::iter::once(&primary).chain(&secondary).map(|l| l.range.start).min().unwrap_or(0);
    let mut ls = line_start(text, earliest);
    if line_of(file, earliest) > first_line {
        ls = line_start(text, ls.saturating_sub(1));
    }
    let mut line = first_line;
    loop {
        let le = text[ls..].find('\n').map_or(text.len(), |i| ls + i);
        if shown(line) {
            windows.push((line, window(text, ls, le, anchor(ls, le), &mut out)));
        }
        if le == text.len() || line == last_line {
            break;
        }
        out.push('\n');
        ls = le + 1;
        line += 1;
    }

    let find = |p: usize| {
        let l = line_of(file, p);
        windows.iter().find(|(line, _)| *line == l).map(|(_, w)| w)
    };
    let start = find(primary.range.start).and_then(|w| w.map(primary.range.start)).unwrap_or(0);
    let end = find(primary.range.end).map_or(start, |w| w.clamp(primary.range.end)).max(start);
    let mut labels = vec![LabeledSpan::new_primary_with_span(Some(primary.text), start..end)];
    let mut hidden = Vec::new();
    for l in secondary {
        match find(l.range.start).and_then(|w| w.map(l.range.start)) {
            Some(s) => {
                let e = find(l.range.end).map_or(s, |w| w.clamp(l.range.end)).max(s);
                labels.push(LabeledSpan::new_with_span(Some(l.text), s..e));
            }
            None => hidden.push(l),
        }
    }
    let source = Excerpt {
        name: file.path.display().to_string(),
        text: out,
        first_line,
        primary: (start, real_line - 1, real_col - 1),
    };
    Placed { source, labels, hidden }
}

/// The offset where the line holding `p` starts.
fn line_start(text: &str, p: usize) -> usize {
    text[..p].rfind('\n').map_or(0, |i| i + 1)
}

/// Appends the visible part of the line `ls..le` to `out`: all of it when short, otherwise
/// [`WINDOW`] characters starting a little before `anchor`, with an ellipsis for each cut side.
fn window(text: &str, ls: usize, le: usize, anchor: usize, out: &mut String) -> Window {
    // A CRLF line's `\r` belongs to the line break, not to the text shown.
    let content_end = if text[ls..le].ends_with('\r') { le - 1 } else { le };
    let content = &text[ls..content_end];
    let n = content.chars().count();
    let (first, last) = if n <= WINDOW {
        (0, n)
    } else {
        let at = content[..anchor.clamp(ls, content_end) - ls].chars().count();
        let first = at.saturating_sub(LEAD).min(n - WINDOW);
        (first, first + WINDOW)
    };
    if first > 0 {
        out.push_str(ELLIPSIS);
    }
    let mut points = Vec::with_capacity(last - first + 1);
    let mut end = content_end;
    for (i, (off, c)) in content.char_indices().enumerate().skip(first) {
        if i == last {
            end = ls + off;
            break;
        }
        points.push((ls + off, out.len()));
        out.push(match c {
            // miette widens a tab to four columns: a cut line keeps to its window's width.
            '\t' if n > WINDOW => ' ',
            '\t' => c,
            c if c.is_control() => char::REPLACEMENT_CHARACTER,
            c => c,
        });
    }
    points.push((end, out.len()));
    if last < n {
        out.push_str(ELLIPSIS);
    }
    let start = points.first().map_or(ls, |p| p.0);
    Window { start, end, to_line_end: last == n, line_end: le, points }
}
