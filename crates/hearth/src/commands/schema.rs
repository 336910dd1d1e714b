//! `hearth schema`: the spec's JSON Schema, for editors.

use std::process::ExitCode;

pub fn run() -> anyhow::Result<ExitCode> {
    print!("{}", hearth_spec::schema::json());
    Ok(ExitCode::SUCCESS)
}
