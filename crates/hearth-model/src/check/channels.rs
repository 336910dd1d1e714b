//! Notification channels that post to a route of the homelab itself: a self-hosted ntfy or
//! Gotify, or a webhook, behind the proxy. Alertmanager and `hearth watch` send with the
//! channel's token or none, never a login, so an exposure that asks for one (`auth: sso`, whose
//! forward auth redirects to the login page, or `auth: basic`) drops every alert.

use hearth_spec::ast::Auth;
use hearth_spec::{Code, Diagnostic, Spec};

pub(super) fn channels(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let domain = spec.domain.as_ref().map(|d| d.value.to_ascii_lowercase());
    for n in &spec.notifications.entries {
        let c = &n.value;
        let url =
            [c.ntfy.as_ref().map(|x| &x.url), c.gotify.as_ref().map(|x| &x.url), c.webhook.as_ref().map(|x| &x.url)]
                .into_iter()
                .flatten()
                .next();
        let Some(url) = url else { continue };
        let Some(host) = host_of(&url.value) else { continue };
        for s in &spec.services.entries {
            let Some(expose) = &s.value.expose else { continue };
            for ex in &expose.0 {
                let Some(auth) = ex.auth.as_ref().filter(|a| matches!(a.value, Auth::Sso | Auth::Basic)) else {
                    continue;
                };
                let name = ex.name.value.to_ascii_lowercase();
                let fqdn = match &domain {
                    Some(d) if !name.contains('.') => format!("{name}.{d}"),
                    _ => name,
                };
                if fqdn != host {
                    continue;
                }
                out.push(
                    Diagnostic::new(
                        Code::ChannelBehindLogin,
                        url.span,
                        format!(
                            "notification channel `{}` posts to `{host}`, which `auth: {}` keeps behind a login",
                            n.name,
                            auth.value.as_str()
                        ),
                    )
                    .label("Alertmanager and `hearth watch` cannot log in, so no alert arrives")
                    .help(format!(
                        "write `auth: none` on the exposure `{}` of `{}` ({} checks its own tokens), or point the channel at the service's own address",
                        ex.name.value,
                        s.name,
                        if c.webhook.is_some() { "the webhook's receiver" } else { "the app" }
                    ))
                    .suggest(auth.span, "none"),
                );
            }
        }
    }
}

/// The host name of an `http(s)://` URL, lowercased, without port or path.
fn host_of(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}
