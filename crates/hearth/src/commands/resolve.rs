//! `hearth resolve`: save what resolution decided, `hearth.lock` and missing generated secrets.

use std::process::ExitCode;

use crate::checked::{self, Gate};
use crate::cli::SpecArgs;
use crate::persist;
use crate::report::Format;

pub fn run(args: &SpecArgs, format: Format) -> anyhow::Result<ExitCode> {
    let spec = match checked::load(&args.path, format, Gate::Errors)? {
        Ok(spec) => spec,
        Err(code) => return Ok(code),
    };
    checked::summary(0, spec.warnings);
    if persist::write_lock(&spec.root, &spec.allocations)? {
        eprintln!("wrote `{}`", persist::lock_path(&spec.root).display());
    }
    let generated = persist::ensure_secrets(&spec.root, &spec.model)?;
    if !generated.is_empty() {
        eprintln!(
            "generated {} secret{} into `{}`",
            generated.len(),
            if generated.len() == 1 { "" } else { "s" },
            persist::store_path(&spec.root).display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
