//! The one thing every Hearth fuzzer does: load a spec from arbitrary bytes and, when it
//! decoded (no YAML syntax or limit error, as `hearth check` decides), resolve and check it.
//! It must never panic, whatever the input.

use hearth_spec::Code;

/// Loads `data` (as UTF-8, lossily) and, when it decoded, analyzes it. Returns the number of
/// diagnostics so the work cannot be optimised away.
pub fn load_check(data: &[u8]) -> usize {
    let text = String::from_utf8_lossy(data);
    let loaded = hearth_spec::load_str("fuzz.yaml", &text);
    let decoded = !loaded.diagnostics.iter().any(|d| matches!(d.code, Code::YamlSyntax | Code::YamlLimit));
    let mut n = loaded.diagnostics.len();
    if decoded {
        let analysis =
            hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &hearth_model::Allocations::default());
        n += analysis.diagnostics.len();
        // Rendering diagnostics exercises span/position arithmetic too.
        for d in analysis.diagnostics.iter().chain(loaded.diagnostics.iter()) {
            n += d.render_short(&loaded.sources).len();
        }
    }
    n
}
