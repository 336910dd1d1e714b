//! `cloudflare_access` on an exposure: Cloudflare Access admits identities at Cloudflare's edge,
//! so it only stands in front of a name the tunnel carries (`access: tunnel`), and a policy that
//! names no e-mail, domain or group would admit nobody.

use hearth_spec::ast::Access;
use hearth_spec::{Code, Diagnostic, Spec};

pub(super) fn cloudflare_access(spec: &Spec, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let Some(x) = &e.value.expose else { continue };
        for ex in &x.0 {
            let Some(c) = &ex.cloudflare_access else { continue };
            let span = ex.spans.key("cloudflare_access").unwrap_or(ex.name.span);
            let access = ex.access.as_ref().map_or(Access::Internal, |a| a.value);
            if access != Access::Tunnel {
                let mut d = Diagnostic::new(
                    Code::CloudflareAccessOffTunnel,
                    span,
                    format!("`{}` has a Cloudflare Access policy but is not reached through the tunnel", ex.name.value),
                )
                .label(format!("`access: {}` never passes Cloudflare's edge", access.as_str()));
                d = match &ex.access {
                    Some(a) => d.help("make the exposure `access: tunnel`").suggest(a.span, "tunnel"),
                    None => d.help("add `access: tunnel` to the exposure, or remove `cloudflare_access`"),
                };
                out.push(d);
            }
            if c.emails.is_empty() && c.email_domains.is_empty() && c.groups.is_empty() {
                out.push(
                    Diagnostic::new(
                        Code::CloudflareAccessAdmitsNobody,
                        span,
                        format!("the Cloudflare Access policy of `{}` admits nobody", ex.name.value),
                    )
                    .label("no `emails`, `email_domains` or `groups`")
                    .help("name who may log in, e.g. `cloudflare_access: { emails: [you@example.com] }`"),
                );
            }
        }
    }
}
