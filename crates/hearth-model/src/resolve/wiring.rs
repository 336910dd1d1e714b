//! Wiring: a service's environment (its app's variables and secrets, its connections, the
//! spec's own `env:`), the databases and buckets a server declares, and its companions'
//! environment. Connections and exposures have modules of their own.

use std::collections::BTreeMap;

use hearth_catalog::{App, Provides};
use hearth_spec::ast;

use super::Resolver;
use super::connections::register;
use crate::model::{Bucket, Database, Engine, Model, Template};
use crate::template::Vars;

impl Resolver<'_> {
    pub(super) fn wire(&mut self, name: &str, svc: &ast::Service, model: &mut Model) {
        let app = model.services.get(name).and_then(|s| s.app.clone()).and_then(|a| self.catalog.get(&a));
        let (vars, mut env) = self.app_environment(name, svc, app, model);
        let mut uses = Vec::new();
        let implied = self.log_store_use(name, svc, model);
        for u in svc.uses.iter().chain(implied.as_ref()) {
            if let Some(record) = self.connect(name, u, app, &mut env, model) {
                uses.push(record);
            }
        }
        for e in &svc.env.entries {
            let t = match &e.value.value {
                hearth_spec::reference::Value::Text(t) if t.contains("{{") => {
                    references(name, t, model, &mut uses).unwrap_or_else(|| Template::text(t.clone()))
                }
                hearth_spec::reference::Value::Text(t) => Template::text(t.clone()),
                hearth_spec::reference::Value::Secret(r) => Template::secret(crate::derive::reference(self.spec, r)),
            };
            env.insert(e.name.clone(), t);
        }
        self.declared_stores(name, svc, app, model);
        let exposes = self.exposures(name, svc, app, model);
        if let Some(s) = model.services.get_mut(name) {
            if let Some(app) = app {
                self.companion_env(app, &vars, &env, &mut s.companions);
            }
            s.env = env;
            s.uses = uses;
            s.exposes = exposes;
        }
    }

    /// Loki's bucket on `monitoring.logs.store` when its own `uses:` names none there:
    /// `{ service: <store>, bucket: loki }`, so the store's init script makes the bucket and
    /// Loki's login like any consumer's. Only for a store that is an S3 service (else E856).
    fn log_store_use(&self, name: &str, svc: &ast::Service, model: &Model) -> Option<ast::Use> {
        let m = self.spec.monitoring.as_ref()?;
        let store = m.logs.as_ref()?.store.as_ref()?;
        if m.loki.as_ref()?.value != name || svc.uses.iter().any(|u| u.service.value == store.value) {
            return None;
        }
        let app = model.services.get(&store.value)?.app.as_deref().and_then(|a| self.catalog.get(a))?;
        if !app.provides(Provides::S3) {
            return None;
        }
        Some(ast::Use {
            service: store.clone(),
            database: None,
            user: None,
            db: None,
            bucket: Some(hearth_spec::Sp { value: "loki".to_string(), span: store.span }),
            span: store.span,
            spans: Default::default(),
        })
    }

    /// The placeholders a service's catalog entry may use, and the environment the entry sets:
    /// its secrets (generated, or from their declared source) and its `env:` expanded.
    fn app_environment(
        &mut self,
        name: &str,
        svc: &ast::Service,
        app: Option<&App>,
        model: &mut Model,
    ) -> (Vars, BTreeMap<String, Template>) {
        let fqdn = svc.expose.as_ref().and_then(|x| x.0.first()).map(|x| self.fqdn(&x.name.value, model));
        let mut vars = Vars::default();
        vars.text("tz", model.timezone.clone());
        vars.text("domain", model.domain.clone().unwrap_or_default());
        vars.text("service", name);
        vars.text("version", svc.version.as_ref().map_or_else(String::new, |v| v.value.clone()));
        vars.text("fqdn", fqdn.clone().unwrap_or_default());
        vars.text("url", fqdn.as_ref().map_or_else(String::new, |f| format!("https://{f}")));
        let mut env: BTreeMap<String, Template> = BTreeMap::new();
        if let Some(app) = app {
            for (sname, s) in app.secrets.iter() {
                // The spec setting the variable itself makes the catalog's secret unnecessary,
                // unless it names that very secret (`secret:<service>-<secret>`, as documented).
                let own = format!("secret:{name}-{sname}");
                let names_own = |v: &str| {
                    svc.env.get(v).is_some_and(
                        |x| matches!(&x.value, hearth_spec::reference::Value::Secret(r) if r.to_string() == own),
                    )
                };
                if s.env.as_ref().is_some_and(|v| svc.env.contains(v) && !names_own(v)) {
                    continue;
                }
                let secret = if s.external == Some(true) {
                    self.external_secret(&format!("{name}-{sname}"), name, model)
                } else {
                    self.need_secret(&format!("{name}-{sname}"), s.length.unwrap_or(32) as usize, name)
                };
                vars.set(&format!("secret.{sname}"), secret.clone());
                if let Some(var) = &s.env {
                    env.insert(var.clone(), secret);
                }
            }
            for (k, v) in app.env.iter() {
                if let Ok(t) = vars.expand(v) {
                    env.insert(k.to_string(), t);
                }
            }
        }
        (vars, env)
    }

    /// The databases and buckets a server lists though nobody `uses` them yet, and a Redis
    /// server's password.
    fn declared_stores(&mut self, name: &str, svc: &ast::Service, app: Option<&App>, model: &mut Model) {
        for d in &svc.databases {
            let key = (name.to_string(), d.value.clone());
            if self.database_index.contains_key(&key) {
                continue;
            }
            // An image without a catalog entry is taken for PostgreSQL, the common case; a
            // catalog app that provides no such engine (Redis) has no databases to create.
            let engine = match app {
                Some(a) => a.provides.iter().find_map(|p| Engine::of(*p)),
                None => Some(Engine::Postgres),
            };
            let Some(engine) = engine else { continue };
            let secret_name = format!("{name}-{}-password", d.value.replace('_', "-"));
            self.need_secret(&secret_name, 32, name);
            let new = || Database {
                server: name.to_string(),
                engine,
                name: d.value.clone(),
                user: d.value.clone(),
                password_secret: secret_name,
                consumers: Vec::new(),
                extensions: Vec::new(),
                superuser: false,
                monitor: false,
            };
            register(&mut self.database_index, &mut model.databases, key, new);
        }
        for b in &svc.buckets {
            let key = (name.to_string(), b.value.clone());
            let new = || Bucket { server: name.to_string(), name: b.value.clone(), consumers: Vec::new() };
            register(&mut self.bucket_index, &mut model.buckets, key, new);
        }
        if app.is_some_and(|a| a.provides(Provides::Redis)) {
            self.need_secret(&format!("{name}-password"), 32, name);
        }
    }
}

/// A spec `env` value with its `{{ service.NAME.address }}` / `{{ service.NAME.port[.PORT] }}`
/// references filled in as `consumer` reaches the service: from a pod of the same cluster its
/// cluster DNS name and port, from elsewhere a cluster's first node and the NodePort, otherwise
/// the service's machine address and the port as published there. Each service referred to
/// becomes a `uses` record (unless `uses:` names it already), so the firewall opens the flow and
/// verify checks it like any other connection. `None` when a placeholder is not such a
/// reference or names what does not exist: the checks report it (E705, E802).
fn references(consumer: &str, text: &str, model: &Model, uses: &mut Vec<crate::model::Use>) -> Option<Template> {
    use crate::model::{Placement, Service};
    use crate::template::{placeholders, service_ref};
    let mut vars = Vars::default();
    let mut referred = Vec::new();
    let same_cluster = |t: &Service| model.services.get(consumer).is_some_and(|c| c.on == t.on);
    for (_, inner) in placeholders(text) {
        let r = service_ref(inner)?.ok()?;
        let t = model.services.get(r.service)?;
        let value = match r.port {
            None => match &t.on {
                Placement::Cluster(_) if same_cluster(t) => Service::cluster_dns(r.service),
                Placement::Cluster(cluster) => {
                    let node = model.cluster_nodes(cluster).first().map(|n| n.to_string())?;
                    model.machine_address(&node).map_or(node, |a| a.to_string())
                }
                _ => t.address.map_or_else(|| t.on.name().to_string(), |a| a.to_string()),
            },
            Some(port) => {
                let p = match port {
                    Some(p) => t.ports.iter().find(|x| x.name == p)?,
                    None => t.ports.first()?,
                };
                let reachable = match &t.on {
                    Placement::Cluster(_) if !same_cluster(t) => *t.node_ports.get(&p.name)?,
                    _ => p.reachable(),
                };
                reachable.to_string()
            }
        };
        // The flow goes to the port named (else the service's main port, as for `uses:`).
        let at = match (r.port, &t.on) {
            (Some(_), Placement::Guest(_) | Placement::Host(_)) => {
                t.address.map(|a| Template::text(format!("{a}:{value}")))
            }
            _ => None,
        };
        vars.text(inner, value);
        referred.push((r.service.to_string(), at));
    }
    for (service, url) in referred {
        if service != consumer && !uses.iter().any(|u| u.service == service && (u.url == url || url.is_none())) {
            uses.push(crate::model::Use {
                service,
                kind: "service".into(),
                database: None,
                user: None,
                db: None,
                bucket: None,
                url,
            });
        }
    }
    vars.expand(text).ok()
}
