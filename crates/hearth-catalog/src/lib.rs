//! Hearth's built-in app catalog.
//!
//! Entries live as YAML files under `catalog/` in the repository and are compiled in. They are
//! decoded with the same strict rules as a spec, and the tests hold every entry to the catalog's
//! promises: a pinned image, a healthcheck, and ports and volumes that its references name.

mod entry;

use std::sync::OnceLock;

pub use entry::*;
use hearth_spec::decode::{Cx, Decode};
use hearth_spec::{Diagnostic, SourceMap};

mod files {
    include!(concat!(env!("OUT_DIR"), "/catalog_files.rs"));
}

/// The decoded catalog, sorted by name.
pub struct Catalog {
    pub apps: Vec<App>,
    /// The catalog files as sources, so diagnostics about entries can point into them.
    pub sources: SourceMap,
    /// Problems in the catalog itself; empty in a release (the tests guarantee it).
    pub diagnostics: Vec<Diagnostic>,
}

impl Catalog {
    pub fn get(&self, name: &str) -> Option<&App> {
        self.apps.binary_search_by(|a| a.name.value.as_str().cmp(name)).ok().map(|i| &self.apps[i])
    }

    pub fn names(&self) -> impl Iterator<Item = &str> + Clone {
        self.apps.iter().map(|a| a.name.value.as_str())
    }
}

/// Decodes a set of catalog files; used for the built-in catalog and in tests.
pub fn decode(files: &[(&str, &str)]) -> Catalog {
    let mut sources = SourceMap::new();
    let mut cx = Cx::new();
    let mut apps = Vec::new();
    for (stem, text) in files {
        let id = sources.add(format!("catalog/{stem}.yaml"), *text);
        let (root, mut diags) = hearth_spec::yaml::parse(id, text);
        cx.diagnostics.append(&mut diags);
        if let Some(app) = root.as_ref().and_then(|n| App::decode(n, &mut cx)) {
            if app.name.value != *stem {
                cx.push(Diagnostic::new(
                    hearth_spec::Code::Catalog,
                    app.name.span,
                    format!("catalog entry `{}` is in the file `{stem}.yaml`", app.name.value),
                ));
            }
            apps.push(app);
        }
    }
    apps.sort_by(|a, b| a.name.value.cmp(&b.name.value));
    Catalog { apps, sources, diagnostics: cx.diagnostics }
}

/// The built-in catalog, decoded once.
pub fn builtin() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| decode(files::FILES))
}

#[cfg(test)]
mod tests;
