//! Connections: one `uses:` entry turned into a [`Use`] record, the consumer's environment
//! (its catalog wiring, or generic `DATABASE_URL`-style variables for an image), and the
//! database, Redis DB or bucket it needs on the server.

use std::collections::{BTreeMap, HashMap};

use hearth_catalog::{App, Provides};
use hearth_spec::ast;
use hearth_spec::{Code, Diagnostic};

use super::Resolver;
use crate::model::{Bucket, Database, Engine, Model, Placement, Port, Service, Template, Use};
use crate::template::Vars;

/// One connection being resolved: who connects where, the placeholders its wiring may use, and
/// the record it becomes.
struct Connection<'s> {
    consumer: &'s str,
    target: &'s str,
    spec: &'s ast::Use,
    host: String,
    port: Option<u16>,
    vars: Vars,
    record: Use,
    /// How the consumer's app wires this kind of `uses:` (catalog), if it says.
    wiring: Option<&'s hearth_catalog::Wiring>,
}

impl Resolver<'_> {
    /// Connects service `name` (running `app`) to the service `u` names, adding the variables
    /// the connection needs to `env`. `None` when the target is missing or the service itself.
    pub(super) fn connect(
        &mut self,
        name: &str,
        u: &ast::Use,
        app: Option<&App>,
        env: &mut BTreeMap<String, Template>,
        model: &mut Model,
    ) -> Option<Use> {
        let target = u.service.value.as_str();
        if target == name {
            self.diags.push(
                Diagnostic::new(Code::DependencyCycle, u.service.span, format!("service `{name}` uses itself"))
                    .help("remove it from `uses:`")
                    .suggest_removal(u.span),
            );
            return None;
        }
        let Some(t) = model.services.get(target) else {
            if !self.spec.services.is_declared(target) {
                self.unknown(u.service.span, "service", target, self.spec.services.names().collect());
            }
            return None;
        };
        let tapp = t.app.as_deref().and_then(|a| self.catalog.get(a));
        let provides: &[Provides] = tapp.map_or(&[], |a| a.provides.as_slice());
        let kind = provides
            .iter()
            .find(|k| app.is_some_and(|a| a.uses.contains(k.as_str())))
            .or_else(|| provides.first())
            .copied();
        let (host, port) = match &t.on {
            // A service on a cluster: its Service's DNS name and port from a pod of the same
            // cluster; from anywhere else, the first node's address and the port's NodePort.
            Placement::Cluster(cluster) => {
                let port = protocol_port(t, tapp, kind);
                let same = model.services.get(name).is_some_and(|c| c.on == t.on);
                if same {
                    (Service::cluster_dns(target), port.map(Port::reachable))
                } else {
                    let node = model.cluster_nodes(cluster).first().map(|n| n.to_string());
                    let host = node
                        .as_deref()
                        .and_then(|n| model.machine_address(n).map(|a| a.to_string()))
                        .or(node)
                        .unwrap_or_else(|| cluster.clone());
                    (host, port.and_then(|p| t.node_ports.get(&p.name).copied()))
                }
            }
            _ => (
                t.address.map_or_else(|| t.on.name().to_string(), |a| a.to_string()),
                protocol_port(t, tapp, kind).map(Port::reachable),
            ),
        };
        let mut c = Connection {
            consumer: name,
            target,
            spec: u,
            vars: Vars::default(),
            record: Use {
                service: target.to_string(),
                kind: kind.map_or_else(|| "service".into(), |k| k.as_str().to_string()),
                database: None,
                user: None,
                db: None,
                bucket: None,
                url: None,
            },
            host,
            port,
            wiring: kind.and_then(|k| app.and_then(|a| a.uses.get(k.as_str()))),
        };
        c.vars.text("host", c.host.clone());
        c.vars.text("port", port.map_or_else(String::new, |p| p.to_string()));
        match (kind, kind.and_then(Engine::of)) {
            (_, Some(engine)) => self.connect_database(&mut c, engine, model),
            (Some(Provides::Redis), _) => self.connect_redis(&mut c, model),
            (Some(Provides::S3), _) => self.connect_bucket(&mut c, model),
            _ => {
                let url = format!("http://{}:{}", c.host, port.unwrap_or(80));
                c.vars.text("url", url);
            }
        }
        consumer_env(kind, app, &c, env);
        Some(c.record)
    }

    /// A database and user on a PostgreSQL, MySQL or MongoDB server, with its password secret.
    fn connect_database(&mut self, c: &mut Connection, engine: Engine, model: &mut Model) {
        let (name, target) = (c.consumer, c.target);
        // An exporter logs into the maintenance database every server has, under its own name.
        let monitor = c.wiring.is_some_and(|w| w.monitor == Some(true));
        let own = || if monitor { maintenance_database(engine).to_string() } else { sql_ident(name) };
        let database = c.spec.database.as_ref().map_or_else(own, |d| d.value.clone());
        let user = c
            .spec
            .user
            .as_ref()
            .map_or_else(|| if monitor { sql_ident(name) } else { database.clone() }, |d| d.value.clone());
        let secret_name = format!("{target}-{}-password", user.replace('_', "-"));
        let password = self.need_secret(&secret_name, 32, name);
        c.vars.text("database", database.clone());
        c.vars.text("user", user.clone());
        c.vars.set("password", password);
        let scheme = match engine {
            Engine::Postgres => "postgresql",
            Engine::Mysql => "mysql",
            Engine::Mongodb => "mongodb",
        };
        let url = c
            .vars
            .expand(&format!(
                "{scheme}://{{{{ user }}}}:{{{{ password }}}}@{{{{ host }}}}:{{{{ port }}}}/{{{{ database }}}}"
            ))
            .ok();
        if let Some(url) = &url {
            c.vars.set("url", url.clone());
        }
        let key = (target.to_string(), database.clone());
        let new = || Database {
            server: target.to_string(),
            engine,
            name: database.clone(),
            user: user.clone(),
            password_secret: secret_name,
            consumers: Vec::new(),
            extensions: Vec::new(),
            superuser: false,
            monitor,
        };
        // A monitoring login shares the maintenance database with every other one: each is a
        // record of its own, keyed by its user.
        let key = if monitor { (target.to_string(), format!("{database}\u{0}{user}")) } else { key };
        let db = register(&mut self.database_index, &mut model.databases, key, new);
        db.consumers.push(name.to_string());
        if let Some(w) = c.wiring {
            for e in &w.extensions {
                if !db.extensions.contains(e) {
                    db.extensions.push(e.clone());
                }
            }
            db.superuser |= w.superuser == Some(true);
        }
        c.record.database = Some(database);
        c.record.user = Some(user);
        c.record.url = url;
    }

    /// A Redis logical database, with the server's password.
    fn connect_redis(&mut self, c: &mut Connection, model: &mut Model) {
        let password = self.need_secret(&format!("{}-password", c.target), 32, c.consumer);
        c.vars.set("password", password);
        // An exporter reads the whole server's INFO: it takes no logical DB of its own.
        if c.wiring.is_some_and(|w| w.monitor == Some(true)) {
            c.vars.text("db", "0");
            c.record.url = c.vars.expand("redis://:{{ password }}@{{ host }}:{{ port }}").ok();
            return;
        }
        let db = self.redis_db(c.consumer, c.target, c.spec, model);
        c.vars.text("db", db.to_string());
        let url = c.vars.expand("redis://:{{ password }}@{{ host }}:{{ port }}/{{ db }}").ok();
        if let Some(url) = &url {
            c.vars.set("url", url.clone());
        }
        c.record.db = Some(db);
        c.record.url = url;
    }

    /// A bucket on an S3 server, with the consumer's access key (its name) and secret key.
    fn connect_bucket(&mut self, c: &mut Connection, model: &mut Model) {
        let (name, target) = (c.consumer, c.target);
        let bucket = c.spec.bucket.as_ref().map_or_else(|| name.to_string(), |b| b.value.clone());
        let secret = self.need_secret(&format!("{target}-{name}-secret-key"), 40, name);
        c.vars.text("bucket", bucket.clone());
        c.vars.text("access_key", name);
        c.vars.set("secret_key", secret);
        let endpoint = format!("http://{}:{}", c.host, c.port.unwrap_or(9000));
        c.vars.text("endpoint", endpoint.clone());
        c.vars.text("url", endpoint.clone());
        let key = (target.to_string(), bucket.clone());
        let new = || Bucket { server: target.to_string(), name: bucket.clone(), consumers: Vec::new() };
        register(&mut self.bucket_index, &mut model.buckets, key, new).consumers.push(name.to_string());
        c.record.bucket = Some(bucket);
        c.record.url = Some(Template::text(endpoint));
    }
}

/// The port consumers talk to (MinIO's S3 `api`, not its web console): the port named after the
/// kind or `api`, else the app's primary one, else the first.
fn protocol_port<'t>(t: &'t Service, tapp: Option<&App>, kind: Option<Provides>) -> Option<&'t Port> {
    let kind_name = kind.map(|k| k.as_str());
    t.ports
        .iter()
        .find(|p| Some(p.name.as_str()) == kind_name || p.name == "api")
        .or_else(|| tapp.and_then(|a| a.primary_port()).and_then(|(pn, _)| t.ports.iter().find(|p| p.name == pn)))
        .or_else(|| t.ports.first())
}

/// The consumer's variables for a connection: its catalog wiring expanded, or for an image
/// without a catalog entry a generic variable holding the URL.
fn consumer_env(kind: Option<Provides>, app: Option<&App>, c: &Connection, env: &mut BTreeMap<String, Template>) {
    match kind.and_then(|k| app.and_then(|a| a.uses.get(k.as_str()))) {
        Some(w) => {
            for (k, v) in w.env.iter() {
                if let Ok(t) = c.vars.expand(v) {
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
            if let (Some(var), Some(url)) = (var, c.record.url.clone()) {
                // A second connection of the same kind gets a numbered variable instead of
                // replacing the first: REDIS_URL, REDIS_URL_2, ...
                let name = (1..)
                    .map(|i| if i == 1 { var.to_string() } else { format!("{var}_{i}") })
                    .find(|n| !env.contains_key(n))
                    .unwrap_or_else(|| var.to_string());
                env.insert(name, url);
            }
        }
        None => {}
    }
}

/// The store (database or bucket) at `key` in `items`, created by `new` and indexed on first use.
pub(super) fn register<'i, T>(
    index: &mut HashMap<(String, String), usize>,
    items: &'i mut Vec<T>,
    key: (String, String),
    new: impl FnOnce() -> T,
) -> &'i mut T {
    let i = *index.entry(key).or_insert_with(|| {
        items.push(new());
        items.len() - 1
    });
    &mut items[i]
}

/// The database every server of `engine` has, where a monitoring login connects.
fn maintenance_database(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "postgres",
        Engine::Mysql => "mysql",
        Engine::Mongodb => "admin",
    }
}

/// Turns a name into an SQL identifier: `my-app` -> `my_app`.
pub fn sql_ident(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}
