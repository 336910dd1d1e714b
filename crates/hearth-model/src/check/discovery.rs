//! `ingress.discover.docker`: Traefik's Docker provider reading one machine's containers through
//! a socket proxy. The machine must be a Docker machine whose compose files Hearth writes (the
//! routers travel as labels in them), and the proxy must be Traefik, the one proxy with a Docker
//! provider that takes a remote endpoint.

use hearth_spec::ast::Runtime;
use hearth_spec::suggest::did_you_mean;
use hearth_spec::{Code, Diagnostic, Spec};

use crate::model::Model;

pub(super) fn discovery(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    let Some(i) = &spec.ingress else { return };
    let Some(d) = &i.discover else { return };
    let Some(machine) = &d.docker else { return };
    let name = machine.value.as_str();
    let whole = i.spans.key("discover").zip(i.spans.value("discover")).map(|(k, v)| k.to(v));

    let proxy_app = i.proxy.as_ref().and_then(|p| model.services.get(&p.value)).and_then(|s| s.app.as_deref());
    if proxy_app != Some("traefik") {
        let mut diag = Diagnostic::new(
            Code::DiscoveryProxyNotTraefik,
            machine.span,
            match (&i.proxy, proxy_app) {
                (Some(p), Some(app)) => {
                    format!("`discover.docker` needs Traefik, but the proxy `{}` runs `{app}`", p.value)
                }
                _ => "`discover.docker` needs Traefik as `ingress.proxy`".to_string(),
            },
        )
        .label("only Traefik reads routers from container labels over a remote Docker endpoint")
        .help("make `ingress.proxy` a Traefik service, or remove `discover:` and let Hearth write the routes");
        if let Some(span) = whole {
            diag = diag.suggest_removal(span);
        }
        out.push(diag);
    }

    let guest = model.guests.get(name);
    let host = model.hosts.get(name);
    if guest.is_none() && host.is_none() {
        let mut candidates: Vec<&str> = model.guests.keys().map(String::as_str).collect();
        candidates.extend(model.hosts.keys().map(String::as_str));
        let mut diag = crate::diagnostics::unknown_reference(machine.span, "guest or host", name, &candidates);
        if let Some(best) = did_you_mean(name, candidates.iter().copied()) {
            diag = diag.suggest_part(machine.span, name, best);
        }
        out.push(diag);
        return;
    }
    let why = if guest.is_some_and(|g| !g.managed) {
        Some("this guest is `managed: false`: Hearth writes no compose file there")
    } else if model.is_nixos(name) {
        Some("a NixOS guest's containers come from its flake, which carries no labels")
    } else if guest.is_some_and(|g| g.runtime != Runtime::Docker)
        || host.is_some_and(|h| h.runtime != Some(Runtime::Docker))
    {
        Some("it has no Docker runtime, so no containers to discover")
    } else {
        None
    };
    if let Some(why) = why {
        let docker: Vec<&str> = model
            .guests
            .iter()
            .filter(|(n, g)| g.managed && g.runtime == Runtime::Docker && !model.is_nixos(n))
            .map(|(n, _)| n.as_str())
            .chain(model.hosts.iter().filter(|(_, h)| h.runtime == Some(Runtime::Docker)).map(|(n, _)| n.as_str()))
            .collect();
        let mut diag = Diagnostic::new(
            Code::DiscoveryMachineUnfit,
            machine.span,
            format!("Traefik cannot discover containers on `{name}`"),
        )
        .label(why);
        diag = match docker.as_slice() {
            [only] => diag.help(format!("discover the Docker machine `{only}`")).suggest(machine.span, *only),
            [] => diag.help("name a managed Docker machine, or remove `discover:`"),
            many => diag.help(format!(
                "name a managed Docker machine ({})",
                many.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
            )),
        };
        out.push(diag);
    }
}
