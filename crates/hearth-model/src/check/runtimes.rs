//! Runtimes: every service's form runs on its machine's runtime, and a native service on a
//! Debian machine is one Hearth can deploy there: its catalog entry does not say it cannot, and
//! a package named after a major version (`postgresql-{{ version }}`) gets one.

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
        let native = s.app.as_deref().and_then(|a| catalog.get(a)).and_then(|a| a.native.as_ref());
        let debian = s.form == Form::Native && ok && !model.is_nixos(machine);
        if debian && let Some(why) = native.and_then(|n| n.debian_unsupported.as_deref()) {
            let app = s.app.as_deref().unwrap_or_default();
            let form = if e.value.form.is_some() { " and remove `form: native` from the service" } else { "" };
            out.push(
                Diagnostic::new(
                    Code::NativeUnsupported,
                    e.value.on.span,
                    format!("`{}` cannot run natively on `{machine}`: {why}", e.name),
                )
                .label(format!("`{machine}` is no NixOS machine"))
                .help(format!(
                    "run it with Docker: add `runtime: docker` to `{machine}`{form}; or place it on a NixOS machine, whose `{}` module runs `{app}` natively",
                    native.and_then(|n| n.nixos.as_deref()).unwrap_or("services")
                )),
            );
        }
        let unpackaged = native.is_some_and(|n| n.package.is_none() && n.debian_unsupported.is_none());
        if debian && unpackaged {
            let app = s.app.as_deref().unwrap_or_default();
            // What Hearth computed for the service that only a deployment could hand over.
            let secret: Vec<String> =
                s.env.iter().filter(|(_, v)| v.is_secret()).map(|(k, _)| format!("`{k}`")).collect();
            let missing = if secret.is_empty() {
                String::new()
            } else {
                format!("; its environment ({}) reaches no file on the machine", secret.join(", "))
            };
            let form = if e.value.form.is_some() { " and remove `form: native` from the service" } else { "" };
            out.push(
                Diagnostic::new(
                    Code::NativeWithoutPackage,
                    e.value.on.span,
                    format!(
                        "Hearth cannot install native `{}` on `{machine}`: app `{app}` has no Debian package{missing}",
                        e.name
                    ),
                )
                .help(format!(
                    "install it on `{machine}` yourself and give it that environment, or run it with Docker: add `runtime: docker` to `{machine}`{form}"
                )),
            );
        }
        let versioned =
            native.is_some_and(|n| [&n.package, &n.config].into_iter().flatten().any(|p| p.contains("{{ version }}")));
        let major = s.version().is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()));
        if debian && versioned && !major {
            let span =
                e.value.version.as_ref().map_or(e.value.app.as_ref().map_or(e.value.on.span, |a| a.span), |v| v.span);
            out.push(
                Diagnostic::new(
                    Code::NativeNeedsVersion,
                    span,
                    format!(
                        "native `{}` needs a major version: its Debian package and configuration folder are named after it",
                        e.name
                    ),
                )
                .help("set `version:` to the major version to install, e.g. `version: \"15\"` (Debian 12's PostgreSQL)"),
            );
        }
        if no_native {
            out.push(
                Diagnostic::new(
                    Code::MissingRuntime,
                    e.value.form.as_ref().map_or(e.value.on.span, |f| f.span),
                    format!("app `{}` has no native form", s.app.as_deref().unwrap_or_default()),
                )
                .help(format!("run it with Docker: `form: docker` and `runtime: docker` on `{machine}`")),
            );
        } else if s.form == Form::Native && s.app.is_none() {
            // An image has no native form: nothing would be installed or started.
            out.push(
                Diagnostic::new(
                    Code::MissingRuntime,
                    e.value.form.as_ref().map_or(e.value.on.span, |f| f.span),
                    format!("service `{}` runs an image, which has no native form", e.name),
                )
                .label("nothing would be deployed")
                .help(format!(
                    "an image runs in Docker: remove `form: native`{}",
                    if runtime == Runtime::Docker {
                        String::new()
                    } else {
                        format!(" and add `runtime: docker` to `{machine}`")
                    }
                )),
            );
        } else if !ok {
            let span = e.value.on.span;
            let has_native = native.is_some();
            let is_host = matches!(s.on, Placement::Host(_));
            let proxmox =
                is_host && model.hosts.get(machine).is_some_and(|h| h.kind == crate::model::HostKind::Proxmox);
            let help = if s.form == Form::Appliance {
                format!(
                    "`form: appliance` is for software an appliance runs itself; `{machine}` has runtime `{runtime}`"
                )
            } else if proxmox {
                format!(
                    "`{machine}` is a Proxmox node with no runtime: place the service on a guest of it (`on: <guest>`), or add `runtime: docker` to host `{machine}`"
                )
            } else if runtime == Runtime::None {
                format!(
                    "`{machine}` has no runtime (an appliance, or a machine Hearth does not manage): place the service elsewhere, or say `form: appliance` if `{machine}` itself runs it"
                )
            } else if s.form == Form::Native {
                format!("set `form: docker` and `runtime: docker` on `{machine}`; this app has no native form")
            } else if has_native {
                format!("add `runtime: docker` to `{machine}`, or set `form: native` on the service")
            } else {
                format!("add `runtime: docker` to `{machine}`; `{}` runs only in Docker", e.name)
            };
            let mut d = Diagnostic::new(
                Code::MissingRuntime,
                span,
                format!("service `{}` needs {needed}, but `{machine}` has runtime `{runtime}`", e.name),
            )
            .help(help);
            // On a Proxmox node with one guest of the runtime the service needs, that guest is
            // the fix.
            if proxmox && s.form == Form::Docker {
                let fits: Vec<&str> = model
                    .guests
                    .iter()
                    .filter(|(_, g)| g.host == *machine && g.runtime == Runtime::Docker)
                    .map(|(n, _)| n.as_str())
                    .collect();
                if let [only] = fits.as_slice() {
                    d = d
                        .help(format!(
                            "`{machine}` is a Proxmox node with no runtime: place the service on its Docker guest, `on: {only}`"
                        ))
                        .suggest_part(span, machine.as_str(), *only);
                }
            }
            out.push(d);
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
        let mut d = Diagnostic::new(
            Code::NoComposeV2,
            span,
            format!("Debian {version} has no Docker Compose v2, which the Docker VM `{}` needs", e.name),
        )
        .help("use `os: debian-12` or later");
        if let Some(os) = &e.value.os {
            d = d.suggest_part(os.span, g.os.as_str(), "debian-12");
        }
        out.push(d);
    }
}
