//! From a spec to the resolved model, and every check a careful operator would make.
//!
//! Entry point: [`analyze`], which resolves and checks in one call. This crate is pure: no file,
//! network or clock access. Previous allocations come in as [`Allocations`] and leave as the new
//! set; the caller decides whether to write them back.

pub mod agents;
pub mod check;
pub mod derive;
pub mod diagnostics;
pub mod docker;
pub mod hardware;
pub mod lock;
pub mod model;
pub mod origins;
pub mod plans;
pub mod promql;
pub mod remotes;
pub mod resolve;
pub mod shares;
pub mod template;
pub mod totals;
pub mod tzdb;
pub mod updates;
pub mod zones;

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

/// Resolves and checks a spec. Planned items are split out first (see [`plans`]): the model
/// holds them only as [`plans::PlannedItem`]s, and the checks hold them to the rest of the spec.
pub fn analyze(spec: &Spec, catalog: &Catalog, previous: &Allocations) -> Analysis {
    let split = plans::split(spec);
    let mut resolution = resolve::resolve(&split.active, catalog, previous);
    // The checks see the planned items too: a reference to one is not a misspelt name.
    resolution.model.planned = split.planned.clone();
    let mut diagnostics = std::mem::take(&mut resolution.diagnostics);
    diagnostics.extend(check::check(&split.active, catalog, &resolution.model, &resolution.origins));
    plans::depends_on_planned(&split, &mut diagnostics);
    diagnostics.extend(check::plans::check(spec, catalog, &resolution.model));
    hearth_spec::diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    let allocations = plans::keep_allocations(&split, previous, resolution.allocations);
    let mut model = resolution.model;
    model.decisions = plans::decisions(spec);
    Analysis { model, allocations, diagnostics }
}
