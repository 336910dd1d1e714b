//! Runtimes: every service's form runs on its machine's runtime.

use hearth_catalog::Catalog;
use hearth_spec::ast::{Form, Runtime};
use hearth_spec::{Code, Diagnostic, Spec};

use crate::model::{Model, Placement};

pub(super) fn runtimes(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let Some(s) = model.services.get(&e.name) else { continue };
        let (runtime, machine) = match &s.on {
            Placement::Guest(g) => (model.guests.get(g).map(|g| g.runtime), g),
            Placement::Host(h) => (model.hosts.get(h).and_then(|h| h.runtime), h),
            Placement::Cluster(_) => continue,
        };
        let runtime = runtime.unwrap_or(Runtime::None);
        let needed = match s.form {
            Form::Docker => "docker",
            Form::Native => "native",
            Form::Appliance => "an appliance",
        };
        let ok = match s.form {
            Form::Docker => runtime == Runtime::Docker,
            // A Docker machine still runs systemd units.
            Form::Native => matches!(runtime, Runtime::Native | Runtime::Docker),
            Form::Appliance => runtime == Runtime::None,
        };
        let no_native =
            s.form == Form::Native && s.app.as_deref().and_then(|a| catalog.get(a)).is_some_and(|a| a.native.is_none());
        if no_native {
            out.push(
                Diagnostic::new(
                    Code::MissingRuntime,
                    e.value.form.as_ref().map_or(e.value.on.span, |f| f.span),
                    format!("app `{}` has no native form", s.app.as_deref().unwrap_or_default()),
                )
                .help(format!("run it with Docker: `form: docker` and `runtime: docker` on `{machine}`")),
            );
        } else if !ok {
            let span = e.value.on.span;
            let help = if s.form == Form::Appliance {
                format!(
                    "`form: appliance` is for software an appliance runs itself; `{machine}` has runtime `{runtime}`"
                )
            } else if runtime == Runtime::None {
                format!(
                    "`{machine}` is an appliance (runtime `none`): place the service elsewhere, or say `form: appliance` if the appliance itself runs it"
                )
            } else if s.form == Form::Native {
                format!("set `form: docker` and `runtime: docker` on `{machine}`; this app has no native form")
            } else {
                format!("add `runtime: docker` to `{machine}`, or set `form: native` on the service")
            };
            out.push(
                Diagnostic::new(
                    Code::MissingRuntime,
                    span,
                    format!("service `{}` needs {needed}, but `{machine}` has runtime `{runtime}`", e.name),
                )
                .help(help),
            );
        }
    }
}

/// A Docker VM that cloud-init sets up needs Docker Compose v2, which Hearth's projects require
/// (the top-level `name:`). Debian has it from 13 and Debian 12 takes Debian 13's package (it
/// needs glibc 2.34); older Debian releases have neither.
pub(super) fn compose_v2(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.guests.entries {
        let Some(g) = model.guests.get(&e.name) else { continue };
        if g.runtime != Runtime::Docker || g.kind != crate::model::GuestKind::Vm || !g.managed {
            continue;
        }
        let Some(version) = g.os.strip_prefix("debian-").and_then(|v| v.parse::<u32>().ok()) else { continue };
        if version >= 12 {
            continue;
        }
        let span = e.value.os.as_ref().map_or(e.key_span, |o| o.span);
        out.push(
            Diagnostic::new(
                Code::NoComposeV2,
                span,
                format!("Debian {version} has no Docker Compose v2, which the Docker VM `{}` needs", e.name),
            )
            .help("use `os: debian-12` or later"),
        );
    }
}
