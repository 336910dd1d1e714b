//! `hearth check`: report every problem of a spec, and nothing else.

use std::process::ExitCode;

use crate::checked::{self, Gate};
use crate::cli::SpecArgs;
use crate::report::Format;

pub fn run(args: &SpecArgs, format: Format) -> anyhow::Result<ExitCode> {
    Ok(match checked::load(&args.path, format, Gate::Errors)? {
        Ok(spec) => {
            checked::summary(0, spec.warnings);
            ExitCode::SUCCESS
        }
        Err(code) => code,
    })
}
