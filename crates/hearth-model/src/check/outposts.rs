//! authentik's LDAP outpost (`app: authentik-ldap`): it serves the directory of one authentik
//! server, so it must `uses:` that server (which gives it `AUTHENTIK_HOST`) or name one outside
//! the spec in `env: { AUTHENTIK_HOST: … }`, and it speaks
//! authentik's internal API, which changes between releases, so its version should be the
//! server's.

use hearth_spec::{Code, Diagnostic, Spec};

use crate::model::Model;

/// The catalog app of the LDAP outpost.
const LDAP_OUTPOST: &str = "authentik-ldap";

pub(super) fn outposts(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let svc = &e.value;
        let Some(app) = svc.app.as_ref().filter(|a| a.value == LDAP_OUTPOST) else { continue };
        let Some(outpost) = model.services.get(&e.name) else { continue };
        let server = outpost
            .uses
            .iter()
            .find(|u| model.services.get(&u.service).and_then(|s| s.app.as_deref()) == Some("authentik"))
            .and_then(|u| model.services.get(&u.service).map(|s| (u.service.as_str(), s)));
        let Some((server_name, server)) = server else {
            // An authentik outside the spec, named by its URL (what `import compose` reads back).
            if svc.env.is_declared("AUTHENTIK_HOST") {
                continue;
            }
            let servers: Vec<&str> = model
                .services
                .iter()
                .filter(|(_, s)| s.app.as_deref() == Some("authentik"))
                .map(|(n, _)| n.as_str())
                .collect();
            let help = match servers.as_slice() {
                [one] => format!("add `uses: [{one}]` to `{}`", e.name),
                [] => "add an authentik service and name it in this service's `uses:`".to_string(),
                many => format!(
                    "name the authentik server it serves in `uses:` (one of {})",
                    many.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                ),
            };
            out.push(
                Diagnostic::new(
                    Code::LdapOutpostWithoutAuthentik,
                    app.span,
                    format!("the LDAP outpost `{}` uses no authentik server", e.name),
                )
                .label("`AUTHENTIK_HOST` comes from the authentik service in `uses:` or from `env:`")
                .help(help),
            );
            continue;
        };
        let tag =
            |s: &crate::model::Service| s.image.as_deref().and_then(hearth_catalog::image_tag).map(str::to_string);
        let (Some(mine), Some(theirs)) = (tag(outpost), tag(server)) else { continue };
        if mine == theirs {
            continue;
        }
        let span = svc.version.as_ref().map_or(app.span, |v| v.span);
        let mut diag = Diagnostic::new(
            Code::LdapOutpostVersion,
            span,
            format!("the LDAP outpost `{}` runs `{mine}`, but authentik `{server_name}` runs `{theirs}`", e.name),
        )
        .label("an outpost talks to its server's API, which changes between releases");
        diag = match &svc.version {
            Some(v) => {
                diag.help(format!("run the outpost at `{theirs}`")).suggest_part(v.span, v.value.as_str(), theirs)
            }
            None => diag.help(format!("add `version: \"{theirs}\"` to `{}`", e.name)),
        };
        out.push(diag);
    }
}
