//! Inline diagnostic markers in test specs: parsing them out and writing them back.

/// A diagnostic's position as a marker shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Marker {
    pub line: usize,
    pub col: usize,
    /// How many carets: the span's length on its first line.
    pub width: usize,
    pub code: String,
}

/// Whether a line is a marker: `#`, spaces, carets, a space and a code (`E201`, `W401`).
fn marker(line: &str) -> Option<(usize, usize, String)> {
    let rest = line.strip_prefix('#')?;
    let start = rest.find('^')?;
    if !rest[..start].chars().all(|c| c == ' ') {
        return None;
    }
    let carets = rest[start..].chars().take_while(|c| *c == '^').count();
    let code = rest[start + carets..].strip_prefix(' ')?.trim_end();
    let valid = code.len() == 4 && code.starts_with(['E', 'W']) && code[1..].chars().all(|c| c.is_ascii_digit());
    // `#` is column 1, so the first caret sits at column start + 2.
    valid.then(|| (start + 2, carets, code.to_string()))
}

/// The spec without its marker lines, and the markers, each pointing at the nearest line above
/// it that is not a marker (numbered in the spec without markers).
pub fn parse(annotated: &str) -> (String, Vec<Marker>) {
    let mut text = Vec::new();
    let mut found = Vec::new();
    for line in annotated.split('\n') {
        match marker(line) {
            Some((col, width, code)) => found.push(Marker { line: text.len(), col, width, code }),
            None => text.push(line),
        }
    }
    found.sort();
    (text.join("\n"), found)
}

/// The spec with markers written under the lines they point at.
pub fn render(text: &str, markers: &[Marker]) -> String {
    let mut out = String::new();
    for (i, line) in text.split('\n').enumerate() {
        out.push_str(line);
        out.push('\n');
        for m in markers.iter().filter(|m| m.line == i + 1) {
            let pad = " ".repeat(m.col.saturating_sub(2));
            out.push_str(&format!("#{pad}{} {}\n", "^".repeat(m.width), m.code));
        }
    }
    out
}

/// Loads and analyzes `annotated` (markers removed first, so they shift no position) with
/// `catalog`, and asserts that it gives exactly the diagnostics its markers name. On a mismatch
/// the message shows the spec annotated with what the analysis really reported. Returns the
/// diagnostics as `render_short` prints them, for tests that look at the wording too.
pub fn check_spec(annotated: &str, catalog: &hearth_catalog::Catalog) -> Vec<String> {
    let (text, expected) = parse(annotated);
    let loaded = hearth_spec::load_str("test.yaml", &text);
    let a = hearth_model::analyze(&loaded.spec, catalog, &hearth_model::Allocations::default());
    let all: Vec<_> = loaded.diagnostics.iter().chain(&a.diagnostics).collect();
    let mut got: Vec<Marker> = all
        .iter()
        .map(|d| {
            let loc = loaded.sources.location(d.primary.span);
            let snippet = loaded.sources.snippet(d.primary.span);
            let width = snippet.lines().next().map_or(1, |l| l.chars().count().max(1));
            Marker { line: loc.line, col: loc.col, width, code: d.code.to_string() }
        })
        .collect();
    got.sort();
    let key = |m: &Marker| (m.line, m.col, m.width, m.code.clone());
    let rendered: Vec<String> = all.iter().map(|d| d.render_short(&loaded.sources)).collect();
    assert!(
        got.iter().map(key).eq(expected.iter().map(key)),
        "\nexpected the markers of:\n{annotated}\ngot:\n{}\n{}",
        render(&text, &got),
        rendered.join("\n")
    );
    rendered
}
