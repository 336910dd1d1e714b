//! Ingress (proxy, TLS, SSO, tunnel), DNS and router forwards.

use hearth_catalog::Catalog;
use hearth_spec::Spec;
use hearth_spec::ast::{Challenge, L4};

use crate::model::{Dns, Forward, Ingress, Model, Tls};

/// The secret holding the basic-auth user name for `auth: basic` exposures.
pub const BASIC_AUTH_USER: &str = "proxy-basic-auth-user";
/// The secret holding the bcrypt hash of the basic-auth password.
pub const BASIC_AUTH_HASH: &str = "proxy-basic-auth-hash";

/// Where the Caddyfile Hearth renders reads the DNS provider's token and basic-auth credentials.
pub const CADDY_DNS_TOKEN_VAR: &str = "ACME_DNS_TOKEN";
pub const CADDY_BASIC_USER_VAR: &str = "HEARTH_BASIC_AUTH_USER";
pub const CADDY_BASIC_HASH_VAR: &str = "HEARTH_BASIC_AUTH_HASH";

/// The environment variable an ACME client reads the DNS provider's token from: lego's names
/// (`lego`: Traefik and NixOS's security.acme both use lego); the Caddyfile reads
/// [`CADDY_DNS_TOKEN_VAR`]; nginx's certbot uses a credentials file instead (`None`).
pub fn dns_token_var(client: &str, provider: &str) -> Option<String> {
    match client {
        "caddy" => Some(CADDY_DNS_TOKEN_VAR.into()),
        "lego" | "traefik" => Some(match provider {
            "cloudflare" => "CF_DNS_API_TOKEN".into(),
            "digitalocean" => "DO_AUTH_TOKEN".into(),
            "duckdns" => "DUCKDNS_TOKEN".into(),
            "hetzner" => "HETZNER_API_KEY".into(),
            "linode" => "LINODE_TOKEN".into(),
            "vultr" => "VULTR_API_KEY".into(),
            "desec" => "DESEC_TOKEN".into(),
            "gandiv5" => "GANDIV5_PERSONAL_ACCESS_TOKEN".into(),
            "ionos" => "IONOS_API_KEY".into(),
            other => format!("{}_API_TOKEN", other.to_ascii_uppercase().replace('-', "_")),
        }),
        _ => None,
    }
}

pub fn derive(spec: &Spec, catalog: &Catalog, model: &mut Model) {
    let app_of = |name: &Option<String>| {
        name.as_ref()
            .and_then(|n| model.services.get(n))
            .and_then(|s| s.app.clone())
            .filter(|a| catalog.get(a).is_some())
    };
    if let Some(i) = &spec.ingress {
        let name = |r: &Option<hearth_spec::Sp<String>>| r.as_ref().map(|r| r.value.clone());
        let tls = match &i.tls {
            Some(t) if t.none == Some(true) => Tls::None,
            Some(hearth_spec::ast::Tls { acme: Some(a), .. }) => Tls::Acme {
                email: a.email.value.clone(),
                challenge: a.challenge.unwrap_or(Challenge::Http),
                provider: a.provider.clone(),
                token: a.token.as_ref().map(|t| super::reference(spec, t)),
                server: a.server.clone(),
            },
            Some(t) if t.internal == Some(true) => Tls::Internal,
            _ => Tls::None,
        };
        let proxy = name(&i.proxy);
        let sso = name(&i.sso);
        model.ingress = Ingress {
            proxy_app: app_of(&proxy),
            proxy,
            tls,
            sso_app: app_of(&sso),
            sso,
            tunnel: name(&i.tunnel),
            vpn: name(&i.vpn),
            crowdsec: name(&i.crowdsec),
        };
    }
    let server = spec.dns.as_ref().and_then(|d| d.server.as_ref()).map(|s| s.value.clone());
    let zone = spec
        .dns
        .as_ref()
        .and_then(|d| d.zone.as_ref())
        .map(|z| z.value.clone())
        .or_else(|| model.domain.clone())
        .unwrap_or_else(|| "home.arpa".into());
    model.dns = Dns { server_app: app_of(&server), server, zone };
    if let Some(r) = &spec.router {
        for f in &r.forwards {
            let to = f.to.value.clone();
            let to_address = model.machine_address(&to).or_else(|| model.services.get(&to).and_then(|s| s.address));
            model.forwards.push(Forward {
                port: f.port.value,
                protocol: f.protocol.unwrap_or(L4::Tcp),
                to,
                to_address,
                to_port: f.to_port.as_ref().map_or(f.port.value, |p| p.value),
            });
        }
    }
}
