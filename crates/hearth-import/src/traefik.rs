//! Routes from proxy configuration on the containers: Traefik labels (`Host(…)` rules with
//! `PathPrefix`, the load balancer's port, basic-auth and forward-auth middlewares), the
//! `VIRTUAL_HOST`/`VIRTUAL_PORT` variables of nginx-proxy and the `caddy` labels of
//! caddy-docker-proxy, each turned into an `expose` entry.

use std::collections::BTreeMap;

use crate::service::Svc;

/// One route found.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The full name the route answers.
    pub name: String,
    pub path: Option<String>,
    /// The container port the proxy forwards to, when the labels say.
    pub port: Option<u16>,
    /// `basic` or `sso`.
    pub auth: Option<&'static str>,
}

/// What the labels and environment of one container say, and what could not be expressed
/// (each with the label that said it).
#[derive(Debug, Default)]
pub struct Found {
    pub routes: Vec<Route>,
    pub dropped: Vec<(String, String)>,
    /// Labels consumed (so they are not carried as raw labels).
    pub used: Vec<String>,
}

/// Reads a container's proxy labels and variables.
pub fn routes(s: &Svc) -> Found {
    let mut found = Found::default();
    let labels: BTreeMap<&str, &str> = s.labels.iter().map(|(k, v, _)| (k.as_str(), v.as_str())).collect();
    if labels.get("traefik.enable").is_some_and(|v| *v == "false") {
        found.used.extend(labels.keys().filter(|k| k.starts_with("traefik.")).map(|k| k.to_string()));
        return found;
    }
    let mut middlewares: BTreeMap<&str, &'static str> = BTreeMap::new();
    for k in labels.keys() {
        if let Some(rest) = k.strip_prefix("traefik.http.middlewares.")
            && let Some((name, kind)) = rest.split_once('.')
        {
            if kind.starts_with("basicauth.") {
                middlewares.insert(name, "basic");
            } else if kind.starts_with("forwardauth.") {
                middlewares.insert(name, "sso");
            }
        }
    }
    let service_ports: Vec<u16> = labels
        .iter()
        .filter(|(k, _)| k.starts_with("traefik.http.services.") && k.ends_with(".loadbalancer.server.port"))
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    for (k, v) in &labels {
        let Some(rest) = k.strip_prefix("traefik.") else { continue };
        found.used.push(k.to_string());
        if let Some(r) = rest.strip_prefix("http.routers.")
            && let Some((router, field)) = r.split_once('.')
        {
            match field {
                "rule" => {
                    let target = labels.get(format!("traefik.http.routers.{router}.service").as_str());
                    if target.is_some_and(|t| t.ends_with("@internal")) {
                        found
                            .dropped
                            .push((k.to_string(), "Traefik's own dashboard or API is not expressed".to_string()));
                        continue;
                    }
                    let (hosts, path, rest) = rule(v);
                    if hosts.is_empty() {
                        found.dropped.push((k.to_string(), format!("the rule `{v}` names no `Host`")));
                        continue;
                    }
                    if let Some(extra) = rest {
                        found.dropped.push((k.to_string(), format!("the rule's `{extra}` is not expressed")));
                    }
                    let mw_key = format!("traefik.http.routers.{router}.middlewares");
                    let mut auth = None;
                    if let Some(list) = labels.get(mw_key.as_str()) {
                        for m in list.split(',').map(str::trim) {
                            let bare = m.split('@').next().unwrap_or(m);
                            let kind = middlewares.get(bare).copied().or_else(|| {
                                let l = bare.to_ascii_lowercase();
                                (l.contains("authelia") || l.contains("authentik") || l.contains("forward"))
                                    .then_some("sso")
                            });
                            match kind {
                                Some(k) => auth = Some(k),
                                None => {
                                    found.dropped.push((mw_key.clone(), format!("middleware `{m}` is not expressed")))
                                }
                            }
                        }
                    }
                    let port_key = format!("traefik.http.routers.{router}.service");
                    let port = labels
                        .get(port_key.as_str())
                        .and_then(|svc| {
                            labels.get(format!("traefik.http.services.{svc}.loadbalancer.server.port").as_str())
                        })
                        .and_then(|p| p.parse().ok())
                        .or_else(|| service_ports.first().copied());
                    for h in hosts {
                        found.routes.push(Route { name: h, path: path.clone(), port, auth });
                    }
                }
                "middlewares" | "entrypoints" | "tls" | "service" | "priority" => {}
                f if f.starts_with("tls.") => {}
                _ => found.dropped.push((k.to_string(), "not expressed".to_string())),
            }
        } else if rest == "enable" || rest.starts_with("http.middlewares.") || rest.starts_with("http.services.") {
            if rest.starts_with("http.middlewares.") && !rest.contains(".basicauth.") && !rest.contains(".forwardauth.")
            {
                found.dropped.push((k.to_string(), "not expressed".to_string()));
            }
        } else if rest.starts_with("docker.") {
        } else {
            found.dropped.push((k.to_string(), "not expressed".to_string()));
        }
    }
    // caddy-docker-proxy
    if let Some(host) = labels.get("caddy") {
        found.used.push("caddy".into());
        let port = labels.get("caddy.reverse_proxy").and_then(|rp| {
            found.used.push("caddy.reverse_proxy".into());
            rp.rsplit(' ').next().map(|p| p.trim_end_matches('}')).and_then(|p| p.parse().ok())
        });
        for h in host.split([',', ' ']).filter(|h| !h.is_empty()) {
            let name = h.trim_start_matches("https://").trim_start_matches("http://").to_string();
            found.routes.push(Route { name, path: None, port, auth: None });
        }
    }
    // nginx-proxy
    if let Some(host) = s.env.get("VIRTUAL_HOST") {
        let port = s.env.get("VIRTUAL_PORT").and_then(|p| p.value.parse().ok());
        for h in host.value.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            found.routes.push(Route { name: h.to_string(), path: None, port, auth: None });
        }
    }
    found.routes.dedup();
    found
}

/// The host names of a Traefik rule, its path prefix, and anything else it tests.
fn rule(text: &str) -> (Vec<String>, Option<String>, Option<String>) {
    let mut hosts = Vec::new();
    let mut path = None;
    let mut other = Vec::new();
    for part in text.split("&&").flat_map(|p| p.split("||")) {
        let mut p = part.trim().trim_start_matches('(').trim().to_string();
        // Drop the closing parentheses of a group, keeping the matcher's own.
        while p.matches(')').count() > p.matches('(').count() {
            p.pop();
            p = p.trim_end().to_string();
        }
        let p = p.as_str();
        let args = |p: &str| -> Vec<String> {
            let inner = p.split_once('(').map_or("", |(_, r)| r).trim_end_matches(')');
            inner
                .split(',')
                .map(|a| a.trim().trim_matches(|c| c == '`' || c == '"' || c == '\'').to_string())
                .filter(|a| !a.is_empty())
                .collect()
        };
        if p.starts_with("Host(") {
            hosts.extend(args(p));
        } else if p.starts_with("PathPrefix(") || p.starts_with("Path(") {
            path = args(p).into_iter().next();
        } else if !p.is_empty() {
            other.push(p.to_string());
        }
    }
    (hosts, path, (!other.is_empty()).then(|| other.join(" && ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(rule("Host(`a.example.com`)"), (vec!["a.example.com".into()], None, None));
        assert_eq!(rule("Host(`a.x`) && PathPrefix(`/api`)"), (vec!["a.x".into()], Some("/api".into()), None));
        assert_eq!(rule("Host(`a.x`) || Host(`b.x`)").0, vec!["a.x".to_string(), "b.x".to_string()]);
        assert_eq!(rule("Host(`a.x`) && Method(`GET`)").2.as_deref(), Some("Method(`GET`)"));
    }
}
