//! Secret values, only for files of kind `env-secret`.

use hearth_model::model::{Part, Template};

/// Looks up secret values by reference (`secret:NAME`, `env:VAR`, `op://...`).
pub trait SecretValues {
    fn get(&self, reference: &str) -> Option<String>;
}

/// The placeholder written where a secret value goes when values were not asked for.
pub fn placeholder(reference: &str) -> String {
    format!("{{{{{reference}}}}}")
}

/// A template's text with secrets filled in (or placeholders). Callers must only write the
/// result into `env-secret` files.
pub fn fill(template: &Template, values: Option<&dyn SecretValues>) -> String {
    template
        .parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => t.clone(),
            Part::Secret(r) => values.and_then(|v| v.get(r)).unwrap_or_else(|| placeholder(r)),
        })
        .collect()
}
