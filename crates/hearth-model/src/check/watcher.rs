//! `monitoring.watcher`: the machine it runs on exists and is one Hearth deploys services to,
//! its page listens on an address that machine has, a page other machines can reach has a token,
//! and the firewall knows exactly who may reach it. The page's port conflicts are the host port
//! checks' (`conflicts::ports`): the resolver claims it like a service's.

use hearth_spec::ast::Runtime;
use hearth_spec::suggest::{did_you_mean, help_for};
use hearth_spec::{Code, Diagnostic, Spec};

use crate::model::Model;
use crate::plans::ItemKind;

pub(super) fn watcher(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    let Some(w) = spec.monitoring.as_ref().and_then(|m| m.watcher.as_ref()) else { return };
    let machine = w.on.value.as_str();
    let known = model.guests.contains_key(machine) || model.hosts.contains_key(machine);
    if !known {
        out.push(unknown_machine(model, w.on.span, machine));
    } else if let Some(why) = unfit(model, machine) {
        out.push(
            Diagnostic::new(Code::WatcherMachineUnfit, w.on.span, format!("the watcher cannot run on `{machine}`"))
                .label(why)
                .help("put the watcher on a managed Debian guest or a host with a runtime"),
        );
    }
    let listen = w.listen.as_ref();
    let addr = listen.map_or(crate::model::Watcher::DEFAULT_LISTEN, |l| l.value.0);
    let span = listen.map_or(w.on.span, |l| l.span);
    let ip = addr.ip();
    if known && !ip.is_loopback() && !ip.is_unspecified() {
        let own = model.machine_address(machine);
        if own != Some(ip) {
            let mut d = Diagnostic::new(
                Code::WatcherListenElsewhere,
                span,
                format!("`{machine}` has no address {ip} for the watcher to listen on"),
            )
            .label("not an address of the watcher's machine");
            d = match own {
                Some(a) => d.help(format!("listen on `{a}`, the machine's address")).suggest_part(
                    span,
                    ip.to_string(),
                    a.to_string(),
                ),
                None => d.help("listen on `0.0.0.0` or on loopback"),
            };
            out.push(d);
        }
    }
    if ip.is_loopback() {
        return;
    }
    if w.token.is_none() {
        out.push(
            Diagnostic::new(Code::WatcherWithoutToken, span, "the watcher's page listens beyond loopback without a token")
                .label("every machine the firewall admits would read the homelab's state")
                .help("add `token: \"secret:hearth-watch-token\"` to `monitoring.watcher` (generated into the store), or listen on `127.0.0.1`"),
        );
    }
    if w.from.is_empty() {
        out.push(
            Diagnostic::new(Code::WatcherSources, span, "no one may reach the watcher's page")
                .label("the firewall opens the page's port only to the sources `from:` names")
                .help("name the networks or machines that may see the page, e.g. `from: [lan]`"),
        );
    }
    let mut candidates: Vec<&str> = model.networks.keys().map(String::as_str).collect();
    candidates.extend(model.guests.keys().map(String::as_str));
    candidates.extend(model.hosts.keys().map(String::as_str));
    for source in &w.from {
        if candidates.contains(&source.value.as_str()) {
            continue;
        }
        let mut d = Diagnostic::new(
            Code::WatcherSources,
            source.span,
            format!("unknown network or machine `{}` in the watcher's `from`", source.value),
        )
        .label("the firewall cannot open the page to it");
        d = d.help(
            help_for(&source.value, candidates.iter().copied(), "networks and machines")
                .unwrap_or_else(|| "name a network, guest or host of the spec".to_string()),
        );
        if let Some(best) = did_you_mean(&source.value, candidates.iter().copied()) {
            d = d.suggest_part(source.span, source.value.as_str(), best);
        }
        out.push(d);
    }
}

/// The watcher on a name no deployed machine has: a planned machine is unfit (nothing is
/// deployed there yet), any other name unknown.
fn unknown_machine(model: &Model, span: hearth_spec::Span, machine: &str) -> Diagnostic {
    if model.planned.iter().any(|p| matches!(p.kind, ItemKind::Guest | ItemKind::Host) && p.name == machine) {
        return Diagnostic::new(Code::WatcherMachineUnfit, span, format!("the watcher cannot run on `{machine}`"))
            .label("this machine is planned: nothing is deployed to it yet")
            .help("put the watcher on an active machine until this one is built");
    }
    let mut candidates: Vec<&str> = model.guests.keys().map(String::as_str).collect();
    candidates.extend(model.hosts.keys().map(String::as_str));
    let d = Diagnostic::new(Code::WatcherUnknownMachine, span, format!("unknown machine `{machine}` for the watcher"))
        .label("no guest or host has this name")
        .help(
            help_for(machine, candidates.iter().copied(), "guests and hosts")
                .unwrap_or_else(|| "name a guest or host of the spec".into()),
        );
    match did_you_mean(machine, candidates.iter().copied()) {
        Some(best) => d.suggest_part(span, machine, best),
        None => d,
    }
}

/// Why Hearth cannot run the watcher on `machine`, if it cannot: it deploys no files to an
/// unmanaged guest, a NixOS guest's flake replaces the files it renders, an appliance runs
/// nothing of Hearth's, and a host without a runtime gets no services.
fn unfit(model: &Model, machine: &str) -> Option<&'static str> {
    if let Some(g) = model.guests.get(machine) {
        if !g.managed {
            return Some("this guest is `managed: false`: Hearth deploys nothing to it");
        }
        if model.is_nixos(machine) {
            return Some("a NixOS guest's services come from its flake, which has no watcher");
        }
        if g.runtime == Runtime::None {
            return Some("this guest is an appliance (`runtime: none`)");
        }
        return None;
    }
    match model.hosts.get(machine).map(|h| h.runtime) {
        Some(None | Some(Runtime::None)) => Some("this host has no runtime: Hearth deploys no services to it"),
        _ => None,
    }
}
