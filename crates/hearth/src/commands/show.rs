//! `hearth show`: the resolved model (or the app catalog) as YAML or JSON on stdout.

use std::io::Write;
use std::process::ExitCode;

use crate::checked::{self, Gate};
use crate::cli::ShowArgs;
use crate::report::Format;
use crate::yaml_out;

pub fn run(args: &ShowArgs, format: Format) -> anyhow::Result<ExitCode> {
    let value = if args.catalog {
        let c = hearth_catalog::builtin();
        let names: Vec<serde_json::Value> = c
            .apps
            .iter()
            .map(|a| serde_json::json!({"name": a.name.value, "image": a.image.value, "category": a.category.as_str()}))
            .collect();
        serde_json::Value::Array(names)
    } else {
        match checked::load(&args.spec.path, format, Gate::Errors)? {
            Ok(spec) => serde_json::to_value(&spec.model)?,
            Err(code) => return Ok(code),
        }
    };
    let text =
        if args.json { format!("{}\n", serde_json::to_string_pretty(&value)?) } else { yaml_out::to_yaml(&value) };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
