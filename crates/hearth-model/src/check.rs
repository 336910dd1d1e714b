pub fn check(_: &hearth_spec::Spec, _: &hearth_catalog::Catalog, _: &crate::Model, _: &crate::resolve::Origins) -> Vec<hearth_spec::Diagnostic> { Vec::new() }
