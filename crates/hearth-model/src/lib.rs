//! From a spec to the resolved model, and every check a careful operator would make.
//!
//! Entry point: [`analyze`], which resolves and checks in one call. This crate is pure: no file,
//! network or clock access. Previous allocations come in as [`Allocations`] and leave as the new
//! set; the caller decides whether to write them back.

pub mod check;
pub mod derive;
pub mod diagnostics;
pub mod lock;
pub mod model;
pub mod origins;
pub mod promql;
pub mod resolve;
pub mod template;
pub mod tzdb;

pub use lock::Allocations;
pub use model::Model;

use hearth_catalog::Catalog;
use hearth_spec::{Diagnostic, Spec};

/// A resolved, checked homelab.
pub struct Analysis {
    pub model: Model,
    pub allocations: Allocations,
    /// Every problem, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

/// Resolves and checks a spec.
pub fn analyze(spec: &Spec, catalog: &Catalog, previous: &Allocations) -> Analysis {
    let resolution = resolve::resolve(spec, catalog, previous);
    let mut diagnostics = resolution.diagnostics;
    diagnostics.extend(check::check(spec, catalog, &resolution.model, &resolution.origins));
    hearth_spec::diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    Analysis { model: resolution.model, allocations: resolution.allocations, diagnostics }
}
