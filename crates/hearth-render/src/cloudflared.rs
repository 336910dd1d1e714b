//! `config.yml` of the tunnel service (`ingress.tunnel`): one ingress rule per route with
//! `access: tunnel`, ending in the catch-all `http_status:404`. Natively it is
//! `/etc/cloudflared/config.yml`; in a container it is in the host folder of the `config` volume,
//! which is mounted read-only at `/etc/cloudflared`, a folder cloudflared searches for
//! `config.yml` by default.
//!
//! Every name goes to the reverse proxy, not to the service: the proxy applies the route's
//! authentication and middlewares, so a tunnelled name is protected exactly like a public one.
//! With TLS from ACME the proxy is reached over HTTPS at its `websecure`/`https` port and the
//! certificate is checked against the route's name (`originServerName`); with an internal CA
//! the connection stays encrypted but unverified (`noTLSVerify`), since cloudflared does not
//! know that CA; without TLS it is plain HTTP to the proxy's `web`/`http` port. cloudflared
//! keeps the client's `Host` header, which the proxy routes on. Without a proxy a name goes
//! straight to the route's first upstream.
//!
//! Credentials: the catalog's secret is a tunnel *token*, which already carries the account, the
//! tunnel id and its secret, so no `credentials-file` is written. The token goes into the 0600
//! environment file `/etc/cloudflared/tunnel.env` as `TUNNEL_TOKEN` (what `cloudflared tunnel
//! run` reads), for a native service; a Docker service gets it from its compose secret env file.
//! `tunnel:` names the tunnel for humans and logs; the model has no tunnel id, so it holds a
//! marked placeholder. These ingress rules apply to a locally managed tunnel (`cloudflared
//! tunnel create`); for a tunnel created in the Zero Trust dashboard, the dashboard's public
//! hostnames take precedence. A token runs the tunnel it names with this file's ingress rules
//! when that tunnel is locally managed: create it with `cloudflared tunnel create` and take its
//! token from `cloudflared tunnel token <name>`.

use hearth_model::model::{Service, Template, Tls};
use hearth_spec::ast::{Access, Form};

use crate::query::dirs;
use crate::reader::Runner;
use crate::{Context, File, Kind, Output, fill};

pub const CONFIG: &str = "/etc/cloudflared/config.yml";
pub const TOKEN_ENV: &str = "/etc/cloudflared/tunnel.env";
pub const TUNNEL_ID_PLACEHOLDER: &str = "REPLACE-ME-tunnel-uuid";

pub fn render(cx: &Context, out: &mut Output) {
    let Some(tunnel) = cx.model.ingress.tunnel.as_deref() else { return };
    let Some(svc) = cx.model.services.get(tunnel) else { return };
    let machine = svc.on.name();
    let proxy = cx.model.ingress.proxy.as_deref().and_then(|p| cx.model.services.get(p).map(|s| (p, s)));
    let token_from = if svc.form == Form::Native { TOKEN_ENV } else { "the compose project's secret env file" };
    let runner = Runner::of(cx, tunnel, svc);
    let path = match svc.form {
        Form::Docker => format!("{}/config.yml", dirs(svc, "config", "/etc/cloudflared").0),
        _ => CONFIG.to_string(),
    };
    let file = File::new(machine, path, Kind::Cloudflared, config(cx, tunnel, token_from, proxy.map(|(_, s)| s)));
    let mut file = runner.config(file).from(format!("service/{tunnel}")).from("ingress");
    if let Some((p, _)) = proxy {
        file = file.from(format!("service/{p}"));
    }
    for r in cx.model.routes.iter().filter(|r| r.access == Access::Tunnel) {
        file = file.from(format!("service/{}", r.service));
    }
    out.push(file);
    if svc.form == Form::Native {
        let token = svc
            .env
            .get("TUNNEL_TOKEN")
            .cloned()
            .unwrap_or_else(|| Template::secret(format!("secret:{tunnel}-tunnel-token")));
        let text = format!(
            "# Tunnel token of `{tunnel}`, rendered by Hearth. Secret: keep it mode 0600.\nTUNNEL_TOKEN={}\n",
            fill(&token, cx.secrets)
        );
        out.push(runner.env(File::new(machine, TOKEN_ENV, Kind::EnvSecret, text)).from(format!("service/{tunnel}")));
    }
}

use crate::yaml::{Node, quoted};

/// The first of `names` the proxy publishes on its machine, as reached from the tunnel.
fn published(s: &Service, names: &[&str], default: u16) -> u16 {
    names.iter().find_map(|n| s.port(n).filter(|p| p.published)).map_or(default, |p| p.reachable)
}

fn config(cx: &Context, tunnel: &str, token_from: &str, proxy: Option<&Service>) -> String {
    let mut ingress = Vec::new();
    for r in cx.model.routes.iter().filter(|r| r.access == Access::Tunnel) {
        let mut rule = vec![("hostname".to_string(), Node::s(&r.fqdn))];
        match proxy.and_then(|p| p.address.map(|a| (p, a))) {
            Some((p, addr)) => {
                let host = if addr.is_ipv6() { format!("[{addr}]") } else { addr.to_string() };
                match &cx.model.ingress.tls {
                    Tls::None => {
                        let url = format!("http://{host}:{}", published(p, &["web", "http"], 80));
                        rule.push(("service".into(), Node::Plain(url)));
                    }
                    tls => {
                        let url = format!("https://{host}:{}", published(p, &["websecure", "https"], 443));
                        rule.push(("service".into(), Node::Plain(url)));
                        let mut origin = vec![("originServerName".to_string(), Node::s(&r.fqdn))];
                        if *tls == Tls::Internal {
                            origin.push(("noTLSVerify".into(), Node::Bool(true)));
                        }
                        rule.push(("originRequest".into(), Node::Map(origin)));
                    }
                }
            }
            None => {
                let upstream = r.upstreams.first().map_or("http_status:502", String::as_str);
                rule.push(("service".into(), Node::Plain(upstream.into())));
            }
        }
        ingress.push(Node::Map(rule));
    }
    ingress.push(Node::Map(vec![("service".into(), Node::Plain("http_status:404".into()))]));
    Node::Map(vec![
        Node::comment(format!("Cloudflare Tunnel `{tunnel}`, rendered by Hearth.")),
        Node::comment(format!("Credentials: the tunnel token, TUNNEL_TOKEN in {token_from}.")),
        Node::comment("Replace the id below with the tunnel's UUID (`cloudflared tunnel list`)."),
        ("tunnel".into(), Node::Plain(TUNNEL_ID_PLACEHOLDER.into())),
        ("no-autoupdate".into(), Node::Bool(true)),
        ("ingress".into(), Node::Seq(ingress)),
    ])
    .to_block(&quoted)
}
