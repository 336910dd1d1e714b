//! The one thing every Hearth fuzzer does: the whole path a user hits with `hearth check` and
//! `hearth render`, from arbitrary bytes. Load the spec; when it decoded (no YAML syntax or
//! limit error, as `hearth check` decides) resolve and check it; when it has no errors render
//! every file and the manifest; and print every diagnostic in both report formats, the
//! graphical one with and without colour. It must never panic, whatever the input.

use hearth::report::{self, Format};
use hearth_spec::Code;

/// Runs the whole path on `data` (as UTF-8, lossily). Returns a size of what was produced so
/// the work cannot be optimised away.
pub fn load_check(data: &[u8]) -> usize {
    let text = String::from_utf8_lossy(data);
    let loaded = hearth_spec::load_str("fuzz.yaml", &text);
    let decoded = !loaded.diagnostics.iter().any(|d| matches!(d.code, Code::YamlSyntax | Code::YamlLimit));
    let mut diagnostics = loaded.diagnostics.clone();
    let mut n = 0;
    if decoded {
        let analysis =
            hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &hearth_model::Allocations::default());
        diagnostics.extend(analysis.diagnostics);
        if !diagnostics.iter().any(|d| d.is_error()) {
            let context =
                hearth_render::Context { model: &analysis.model, catalog: hearth_catalog::builtin(), secrets: None };
            let files = hearth_render::render(&context);
            n += hearth::manifest::manifest(&files, &analysis.model, &loaded.sources).len();
        }
    }
    for d in &diagnostics {
        n += report::render(d, &loaded.sources, Format::Short, false).len();
        n += report::render(d, &loaded.sources, Format::Human, false).len();
        n += report::render(d, &loaded.sources, Format::Human, true).len();
    }
    n
}
