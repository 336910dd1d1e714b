//! `hearth secrets`: list what the homelab needs and where each value comes from; set and
//! rotate values in the encrypted store. Values are read from stdin and never printed.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use hearth_secrets::{SecretString, Store};

use crate::checked::{self, Gate};
use crate::cli::SecretsAction;
use crate::persist;
use crate::report::Format;

pub fn run(action: SecretsAction, format: Format) -> anyhow::Result<ExitCode> {
    let spec = match checked::load(action.spec_path(), format, Gate::Model)? {
        Ok(spec) => spec,
        Err(code) => return Ok(code),
    };
    let (root, model) = (spec.root.as_path(), &spec.model);
    let store_path = persist::store_path(root);
    match action {
        SecretsAction::List { .. } => {
            let store = Store::open(&store_path).with_context(|| format!("cannot open `{}`", store_path.display()))?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{:<48} {:<10} {:<28} USED BY", "NAME", "STATUS", "SOURCE")?;
            let stored = |name: &str| if store.contains(name) { "stored" } else { "missing" };
            for s in &model.generated_secrets {
                writeln!(out, "{:<48} {:<10} {:<28} {}", s.name, stored(&s.name), "generated", s.used_by.join(", "))?;
            }
            // Only the operator has these (provider tokens): `hearth secrets set NAME` stores them.
            for s in &model.external_secrets {
                writeln!(
                    out,
                    "{:<48} {:<10} {:<28} {}",
                    s.name,
                    stored(&s.name),
                    "you (secrets set)",
                    s.used_by.join(", ")
                )?;
            }
            for d in model.declared_secrets.iter().filter(|d| d.source != "generated") {
                let status = match d.source.strip_prefix("env:") {
                    Some(var) if std::env::var_os(var).is_some() => "set",
                    Some(_) => "unset",
                    None => "1password",
                };
                writeln!(out, "{:<48} {status:<10} {:<28} -", d.name, d.source)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        SecretsAction::Set { name, .. } => {
            let value = read_value(&name)?;
            let mut store =
                Store::open_or_init(&store_path).with_context(|| format!("cannot open `{}`", store_path.display()))?;
            store.set(&name, &value)?;
            store.save()?;
            eprintln!("stored `{name}` in `{}`", store_path.display());
            Ok(ExitCode::SUCCESS)
        }
        SecretsAction::Rotate { name, .. } => {
            let Some(secret) = model.generated_secrets.iter().find(|s| s.name == name) else {
                bail!("`{name}` is not a generated secret of this spec; use `hearth secrets set {name}` for others");
            };
            let mut store =
                Store::open_or_init(&store_path).with_context(|| format!("cannot open `{}`", store_path.display()))?;
            if store.contains(&name) {
                store.rotate(&name, secret.length)?;
            } else {
                store.ensure(&[(name.as_str(), secret.length)])?;
            }
            store.save()?;
            eprintln!(
                "rotated `{name}`; services using it get the new value on the next apply: {}",
                secret.used_by.join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn read_value(name: &str) -> anyhow::Result<SecretString> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("value for `{name}` (input is read until end of line): ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        stdin.read_line(&mut line)?;
        return Ok(SecretString::new(line.trim_end_matches(['\n', '\r']).to_string()));
    }
    let mut text = String::new();
    stdin.read_to_string(&mut text)?;
    let value = text.strip_suffix('\n').unwrap_or(&text).to_string();
    if value.is_empty() {
        bail!("no value on stdin for `{name}`; pipe it in, e.g. `printf %s \"$TOKEN\" | hearth secrets set {name}`");
    }
    Ok(SecretString::new(value))
}
