//! Data tier: database servers, their databases and users with consumers, Redis DB numbers,
//! buckets, and every connection string with its secrets masked.

use hearth_catalog::{Catalog, Provides};
use hearth_model::Model;

use crate::md::{self, Table};

const KINDS: [Provides; 5] = [Provides::Postgres, Provides::Mysql, Provides::Mongodb, Provides::Redis, Provides::S3];

pub fn write(model: &Model, catalog: &Catalog, out: &mut String) {
    out.push_str("## Data tier\n\n");
    let mut servers = Table::new(&["Server", "Provides", "App", "Machine", "Endpoint"]);
    for (name, s) in &model.services {
        let Some(app) = s.app.as_deref().and_then(|a| catalog.get(a)) else { continue };
        let kinds: Vec<&str> = KINDS.iter().filter(|k| app.provides(**k)).map(|k| k.as_str()).collect();
        if kinds.is_empty() {
            continue;
        }
        let port = s.ports.iter().find(|p| p.host.is_some()).and_then(|p| p.host);
        let endpoint = match (s.address.or_else(|| model.machine_address(s.on.name())), port) {
            (Some(a), Some(p)) => format!("{a}:{p}"),
            (Some(a), None) => a.to_string(),
            (None, Some(p)) => format!(":{p}"),
            (None, None) => String::new(),
        };
        // The version the spec runs (its `version:` or image), not the catalog's default.
        let version = s.version().map(|t| format!("{} {t}", app.name.value)).unwrap_or_else(|| app.name.value.clone());
        servers.row(&[name.clone(), kinds.join(", "), version, s.on.name().to_string(), endpoint]);
    }
    let nothing = servers.is_empty()
        && model.databases.is_empty()
        && model.redis_dbs.is_empty()
        && model.buckets.is_empty()
        && !model.services.values().any(|s| s.uses.iter().any(|u| u.url.is_some()));
    if nothing {
        out.push_str("No databases, caches or object stores.\n\n");
        return;
    }
    if !servers.is_empty() {
        out.push_str("### Servers\n\n");
        servers.write(out);
    }
    if !model.databases.is_empty() {
        out.push_str("### Databases\n\n");
        let mut dbs: Vec<&hearth_model::model::Database> = model.databases.iter().collect();
        dbs.sort_by(|a, b| (&a.server, &a.name).cmp(&(&b.server, &b.name)));
        let mut t = Table::new(&["Server", "Engine", "Database", "User", "Password secret", "Consumers"]);
        for d in dbs {
            let consumers =
                if d.consumers.is_empty() { "(declared on the server)".to_string() } else { d.consumers.join(", ") };
            t.row(&[
                d.server.clone(),
                d.engine.to_string(),
                // A monitoring login reads the server's maintenance database; it owns none.
                if d.monitor { format!("{} ({} login)", d.name, monitor_role(d.engine)) } else { d.name.clone() },
                d.user.clone(),
                md::code(&md::secret_name(&d.password_secret)),
                consumers,
            ]);
        }
        t.write(out);
    }
    if !model.redis_dbs.is_empty() {
        out.push_str("### Redis databases\n\n");
        let mut rows: Vec<&hearth_model::model::RedisDb> = model.redis_dbs.iter().collect();
        rows.sort_by(|a, b| (&a.server, a.db, &a.consumer).cmp(&(&b.server, b.db, &b.consumer)));
        let mut t = Table::new(&["Server", "DB", "Consumer"]);
        for r in rows {
            t.row(&[r.server.clone(), r.db.to_string(), r.consumer.clone()]);
        }
        t.write(out);
    }
    if !model.buckets.is_empty() {
        out.push_str("### Buckets\n\n");
        let mut rows: Vec<&hearth_model::model::Bucket> = model.buckets.iter().collect();
        rows.sort_by(|a, b| (&a.server, &a.name).cmp(&(&b.server, &b.name)));
        let mut t = Table::new(&["Server", "Bucket", "Consumers"]);
        for b in rows {
            let consumers =
                if b.consumers.is_empty() { "(declared on the server)".to_string() } else { b.consumers.join(", ") };
            t.row(&[b.server.clone(), b.name.clone(), consumers]);
        }
        t.write(out);
    }
    let mut conns = Table::new(&["Consumer", "Uses", "Kind", "Connection (secrets masked)", "Secrets"]);
    for (name, s) in &model.services {
        for u in &s.uses {
            let Some(url) = &u.url else { continue };
            let secrets: Vec<String> = md::secrets_of(url).iter().map(|n| md::code(n)).collect();
            conns.row(&[
                name.clone(),
                u.service.clone(),
                u.kind.clone(),
                md::code(&md::masked(url)),
                secrets.join(", "),
            ]);
        }
    }
    if !conns.is_empty() {
        out.push_str("### Connection strings\n\n");
        out.push_str("Secrets are shown as `****`; the last column names the secret each one comes from.\n\n");
        conns.write(out);
    }
}

/// The role a monitoring login gets on `engine` (`render/postgres.rs`, `render/mongo.rs`).
fn monitor_role(engine: hearth_model::model::Engine) -> &'static str {
    match engine {
        hearth_model::model::Engine::Mongodb => "`clusterMonitor`",
        _ => "`pg_monitor`",
    }
}
