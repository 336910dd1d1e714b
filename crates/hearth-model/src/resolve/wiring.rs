//! Wiring: a service's environment from its app, its `uses:` turned into connection strings,
//! databases and buckets, and its exposures.

use std::collections::BTreeMap;

use hearth_catalog::Provides;
use hearth_spec::ast::{self, Access, Auth};
use hearth_spec::{Code, Diagnostic};

use super::Resolver;
use crate::model::{Bucket, Database, Engine, Exposure, Model, Port, Template, Use};
use crate::template::Vars;

impl Resolver<'_> {
    pub(super) fn wire(&mut self, name: &str, svc: &ast::Service, model: &mut Model) {
        let app = model.services.get(name).and_then(|s| s.app.clone()).and_then(|a| self.catalog.get(&a));
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
                // The spec setting the variable itself makes the catalog's secret unnecessary.
                if s.env.as_ref().is_some_and(|v| svc.env.contains(v)) {
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
        let mut uses = Vec::new();
        for u in &svc.uses {
            let target = u.service.value.as_str();
            if target == name {
                self.diags.push(
                    Diagnostic::new(Code::DependencyCycle, u.service.span, format!("service `{name}` uses itself"))
                        .help("remove it from `uses:`"),
                );
                continue;
            }
            let Some(t) = model.services.get(target).cloned() else {
                if !self.spec.services.is_declared(target) {
                    self.unknown(u.service.span, "service", target, self.spec.services.names().collect());
                }
                continue;
            };
            let tapp = t.app.as_deref().and_then(|a| self.catalog.get(a));
            let provides: Vec<Provides> = tapp.map(|a| a.provides.clone()).unwrap_or_default();
            let kind = provides
                .iter()
                .find(|k| app.is_some_and(|a| a.uses.contains(k.as_str())))
                .or_else(|| provides.first())
                .copied();
            let host = t.address.map_or_else(|| t.on.name().to_string(), |a| a.to_string());
            // Consumers talk to the protocol port (MinIO's S3 `api`, not its web console): the
            // port named after the kind or `api`, else the primary one.
            let kind_name = kind.map(|k| k.as_str());
            let port = t
                .ports
                .iter()
                .find(|p| Some(p.name.as_str()) == kind_name || p.name == "api")
                .or_else(|| {
                    tapp.and_then(|a| a.primary_port()).and_then(|(pn, _)| t.ports.iter().find(|p| p.name == pn))
                })
                .or_else(|| t.ports.first())
                .map(Port::reachable);
            let mut uvars = Vars::default();
            uvars.text("host", host.clone());
            uvars.text("port", port.map_or_else(String::new, |p| p.to_string()));
            let mut record = Use {
                service: target.to_string(),
                kind: kind.map_or_else(|| "service".into(), |k| k.as_str().to_string()),
                database: None,
                user: None,
                db: None,
                bucket: None,
                url: None,
            };
            match (kind, kind.and_then(Engine::of)) {
                (_, Some(engine)) => {
                    let database = u.database.as_ref().map_or_else(|| sql_ident(name), |d| d.value.clone());
                    let user = u.user.as_ref().map_or_else(|| database.clone(), |d| d.value.clone());
                    let secret_name = format!("{target}-{}-password", user.replace('_', "-"));
                    let password = self.need_secret(&secret_name, 32, name);
                    uvars.text("database", database.clone());
                    uvars.text("user", user.clone());
                    uvars.set("password", password);
                    let scheme = match engine {
                        Engine::Postgres => "postgresql",
                        Engine::Mysql => "mysql",
                        Engine::Mongodb => "mongodb",
                    };
                    let url = uvars.expand(&format!("{scheme}://{{{{ user }}}}:{{{{ password }}}}@{{{{ host }}}}:{{{{ port }}}}/{{{{ database }}}}")).ok();
                    if let Some(url) = &url {
                        uvars.set("url", url.clone());
                    }
                    let key = (target.to_string(), database.clone());
                    match self.database_index.get(&key) {
                        Some(&i) => model.databases[i].consumers.push(name.to_string()),
                        None => {
                            self.database_index.insert(key, model.databases.len());
                            model.databases.push(Database {
                                server: target.to_string(),
                                engine,
                                name: database.clone(),
                                user: user.clone(),
                                password_secret: secret_name,
                                consumers: vec![name.to_string()],
                            });
                        }
                    }
                    record.database = Some(database);
                    record.user = Some(user);
                    record.url = url;
                }
                (Some(Provides::Redis), _) => {
                    let db = self.redis_db(name, target, u, model);
                    let password = self.need_secret(&format!("{target}-password"), 32, name);
                    uvars.text("db", db.to_string());
                    uvars.set("password", password);
                    let url = uvars.expand("redis://:{{ password }}@{{ host }}:{{ port }}/{{ db }}").ok();
                    if let Some(url) = &url {
                        uvars.set("url", url.clone());
                    }
                    record.db = Some(db);
                    record.url = url;
                }
                (Some(Provides::S3), _) => {
                    let bucket = u.bucket.as_ref().map_or_else(|| name.to_string(), |b| b.value.clone());
                    let secret = self.need_secret(&format!("{target}-{name}-secret-key"), 40, name);
                    uvars.text("bucket", bucket.clone());
                    uvars.text("access_key", name);
                    uvars.set("secret_key", secret);
                    let endpoint = format!("http://{host}:{}", port.unwrap_or(9000));
                    uvars.text("endpoint", endpoint.clone());
                    uvars.text("url", endpoint.clone());
                    let key = (target.to_string(), bucket.clone());
                    match self.bucket_index.get(&key) {
                        Some(&i) => model.buckets[i].consumers.push(name.to_string()),
                        None => {
                            self.bucket_index.insert(key, model.buckets.len());
                            model.buckets.push(Bucket {
                                server: target.to_string(),
                                name: bucket.clone(),
                                consumers: vec![name.to_string()],
                            });
                        }
                    }
                    record.bucket = Some(bucket);
                    record.url = Some(Template::text(endpoint));
                }
                _ => {
                    uvars.text("url", format!("http://{host}:{}", port.unwrap_or(80)));
                }
            }
            // The consumer's catalog wiring, or generic variables for an image without one.
            let wiring = kind.and_then(|k| app.and_then(|a| a.uses.get(k.as_str())));
            match wiring {
                Some(w) => {
                    for (k, v) in w.env.iter() {
                        if let Ok(t) = uvars.expand(v) {
                            env.insert(k.to_string(), t);
                        }
                    }
                }
                None if app.is_none() => {
                    let var = match kind {
                        Some(Provides::Postgres | Provides::Mysql) => Some("DATABASE_URL"),
                        Some(Provides::Redis) => Some("REDIS_URL"),
                        Some(Provides::Mongodb) => Some("MONGODB_URL"),
                        Some(Provides::S3) => Some("S3_ENDPOINT"),
                        _ => None,
                    };
                    if let (Some(var), Some(url)) = (var, record.url.clone()) {
                        // A second connection of the same kind gets a numbered variable instead
                        // of replacing the first: REDIS_URL, REDIS_URL_2, ...
                        let name = (1..)
                            .map(|i| if i == 1 { var.to_string() } else { format!("{var}_{i}") })
                            .find(|n| !env.contains_key(n))
                            .unwrap_or_else(|| var.to_string());
                        env.insert(name, url);
                    }
                }
                None => {}
            }
            uses.push(record);
        }
        for e in &svc.env.entries {
            let t = match &e.value.value {
                hearth_spec::reference::Value::Text(t) => Template::text(t.clone()),
                hearth_spec::reference::Value::Secret(r) => Template::secret(crate::derive::reference(self.spec, r)),
            };
            env.insert(e.name.clone(), t);
        }
        // Database servers get the databases nobody `uses` but the spec lists.
        for d in &svc.databases {
            let key = (name.to_string(), d.value.clone());
            if let std::collections::hash_map::Entry::Vacant(slot) = self.database_index.entry(key) {
                // An image without a catalog entry is taken for PostgreSQL, the common case; a
                // catalog app that provides no such engine (Redis) has no databases to create.
                let engine = match app {
                    Some(a) => a.provides.iter().find_map(|p| Engine::of(*p)),
                    None => Some(Engine::Postgres),
                };
                let Some(engine) = engine else { continue };
                slot.insert(model.databases.len());
                let secret_name = format!("{name}-{}-password", d.value.replace('_', "-"));
                self.need_secret(&secret_name, 32, name);
                model.databases.push(Database {
                    server: name.to_string(),
                    engine,
                    name: d.value.clone(),
                    user: d.value.clone(),
                    password_secret: secret_name,
                    consumers: Vec::new(),
                });
            }
        }
        for b in &svc.buckets {
            let key = (name.to_string(), b.value.clone());
            if let std::collections::hash_map::Entry::Vacant(slot) = self.bucket_index.entry(key) {
                slot.insert(model.buckets.len());
                model.buckets.push(Bucket { server: name.to_string(), name: b.value.clone(), consumers: Vec::new() });
            }
        }
        if app.is_some_and(|a| a.provides(Provides::Redis)) {
            self.need_secret(&format!("{name}-password"), 32, name);
        }
        let mut exposes = Vec::new();
        if let Some(x) = &svc.expose {
            for ex in &x.0 {
                let fqdn = self.fqdn(&ex.name.value, model);
                let ports = model.services.get(name).map(|s| s.ports.clone()).unwrap_or_default();
                let port = match &ex.port {
                    Some(p) => match ports.iter().find(|q| q.name == p.value) {
                        Some(q) => Some(q.reachable()),
                        None => {
                            let names: Vec<&str> = ports.iter().map(|q| q.name.as_str()).collect();
                            self.unknown(p.span, "port", &p.value, names);
                            None
                        }
                    },
                    None => app
                        .and_then(|a| a.primary_port())
                        .and_then(|(pn, _)| ports.iter().find(|q| q.name == pn))
                        .or_else(|| ports.first())
                        .map(Port::reachable),
                };
                let Some(port) = port else {
                    self.diags.push(
                        Diagnostic::new(
                            Code::MissingKey,
                            ex.name.span,
                            format!("service `{name}` has no port to expose"),
                        )
                        .help("declare one under `ports:` (e.g. `ports: { http: 8080 }`)"),
                    );
                    continue;
                };
                // Two services may share a name on different paths; only the same name and path
                // conflict.
                let routed = format!("{fqdn}{}", ex.path.as_deref().unwrap_or(""));
                self.origins.exposures.push((routed, name.to_string(), ex.name.span));
                exposes.push(Exposure {
                    fqdn,
                    path: ex.path.clone(),
                    port,
                    access: ex.access.as_ref().map_or(Access::Internal, |a| a.value),
                    auth: ex.auth.as_ref().map_or(Auth::None, |a| a.value),
                });
            }
        }
        if let Some(s) = model.services.get_mut(name) {
            if let Some(app) = app {
                self.companion_env(app, &vars, &env, &mut s.companions);
            }
            s.env = env;
            s.uses = uses;
            s.exposes = exposes;
        }
    }
}

/// Turns a name into an SQL identifier: `my-app` -> `my_app`.
pub fn sql_ident(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}
