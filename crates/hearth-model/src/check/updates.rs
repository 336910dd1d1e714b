//! Update policies that cannot work as written: a `reboot:` that is no time of day (E871),
//! `updates:` on a machine Hearth does not log into (E872), and `updates:` beside the
//! `nixos.upgrade` that already says how a NixOS guest upgrades (E873).

use hearth_spec::ast;
use hearth_spec::{Code, Diagnostic, Spec};

use crate::model::Model;
use crate::resolve::updates::{guest_system, host_system};
use crate::updates::parse_reboot;

pub fn updates(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    reboot(spec.updates.as_ref(), out);
    for (name, h) in spec.hosts.iter() {
        reboot(h.updates.as_ref(), out);
        let Some(host) = model.hosts.get(name) else { continue };
        if host_system(h, host.kind).is_none()
            && let Some(span) = h.spans.key("updates")
        {
            out.push(
                Diagnostic::new(
                    Code::UpdatesUnmanaged,
                    span,
                    format!("host `{name}` has `updates:` but Hearth does not log into it"),
                )
                .label("no file is written to this host")
                .help(format!(
                    "give `{name}` a `runtime:` or `proxmox:` so Hearth manages it, or remove its `updates:`"
                )),
            );
        }
    }
    for (name, g) in spec.guests.iter() {
        reboot(g.updates.as_ref(), out);
        let Some(span) = g.spans.key("updates") else { continue };
        let Some(guest) = model.guests.get(name) else { continue };
        if guest_system(guest).is_none() {
            let why = if guest.managed {
                format!("Hearth does not update its system `{}`", guest.os)
            } else if g.managed == Some(false) {
                "Hearth does not log into it (`managed: false`)".to_string()
            } else {
                "Hearth does not log into it (its runtime is `none`)".to_string()
            };
            out.push(
                Diagnostic::new(Code::UpdatesUnmanaged, span, format!("guest `{name}` has `updates:` but {why}"))
                    .label("no file is written for this")
                    .help("update it with its own tools, and remove its `updates:`"),
            );
            continue;
        }
        if let Some(upgrade) = g.nixos.as_ref().and_then(|n| n.spans.key("upgrade")) {
            out.push(
                Diagnostic::new(
                    Code::UpdatesBesideNixosUpgrade,
                    span,
                    format!("guest `{name}` has both `updates:` and `nixos.upgrade`"),
                )
                .label("both set `system.autoUpgrade`")
                .with(upgrade, "its upgrade is set here too")
                .help("keep one: `nixos.upgrade` for a schedule of its own, or `updates:` for the homelab's policy"),
            );
        }
    }
}

/// A `reboot:` value that is neither `never` nor a time of day (E871), with the time it holds,
/// if any, as the fix.
fn reboot(updates: Option<&ast::Updates>, out: &mut Vec<Diagnostic>) {
    let Some(r) = updates.and_then(|u| u.reboot.as_ref()) else { return };
    if parse_reboot(&r.value).is_ok() {
        return;
    }
    let time = r.value.split_whitespace().find_map(|w| parse_reboot(w).ok().flatten());
    let d = Diagnostic::new(
        Code::UpdateRebootInvalid,
        r.span,
        format!("`reboot` takes `never` or a time of day, not `{}`", super::short(&r.value)),
    )
    .label("unattended-upgrades reboots at a time of day, after that day's upgrade");
    out.push(match time {
        Some(t) => d
            .help(format!(
                "write the time alone, `{t}`: the machine reboots at most once a day, when an update needs it"
            ))
            .suggest(r.span, t),
        None => d.help("write a time of day such as `04:00`, or `never`").suggest(r.span, "never"),
    });
}
