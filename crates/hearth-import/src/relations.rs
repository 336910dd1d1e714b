//! Relationships between the containers of the imported projects: sidecar databases an app
//! reaches through its environment (`DB_HOST=db`, `POSTGRES_*`, `REDIS_URL=redis://cache`)
//! become `uses` edges with their database, user and password; the names a container was reached
//! by that are not its spec name.

use crate::images::Engine;
use crate::plan::Planned;
use crate::report::{Cx, Level};

/// A `uses:` edge found in a consumer's environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Use {
    /// The target's spec name (a service of the import, or of the spec it joins).
    pub service: String,
    pub engine: Engine,
    pub database: Option<String>,
    pub user: Option<String>,
    /// A Redis logical database.
    pub db: Option<u32>,
    /// Consumer variables holding the password, and the variable whose value is the password
    /// when it was written inside a URL (none then: the URL itself is dropped).
    pub password_keys: Vec<String>,
    /// Consumer variables that name the target's host (`DB_HOST=db`).
    pub host_keys: Vec<String>,
    /// Consumer variables holding a whole connection URL.
    pub url_keys: Vec<String>,
    /// Whether a URL held the password inline (such a URL cannot be carried: it is a secret
    /// inside a larger text).
    pub inline_password: bool,
    /// Read back from the connection values Hearth itself rendered (its placeholders name the
    /// password secret, and so the server and user).
    pub from_hearth: bool,
}

/// The parts of a `scheme://user:pass@host:port/path` URL.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Url {
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: String,
    pub path: Option<String>,
}

/// Parses a connection URL; `None` when the value is not one.
pub fn url(value: &str) -> Option<Url> {
    let (_, rest) = value.split_once("://")?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a, Some(p.to_string()).filter(|p| !p.is_empty())),
        None => (rest, None),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((user, pass)) => (Some(user.to_string()).filter(|u| !u.is_empty()), Some(pass.to_string())),
            None => (Some(u.to_string()), None),
        },
        None => (None, None),
    };
    let host = hostport.split(':').next().unwrap_or(hostport).to_string();
    Some(Url { user, password: password.filter(|p| !p.is_empty()), host, path })
}

/// The host a plain value names: `db` or `db:5432`.
fn plain_host(value: &str) -> &str {
    value.split(':').next().unwrap_or(value)
}

fn db_related(key: &str, engine: Engine) -> bool {
    let k = key.to_ascii_uppercase();
    match engine {
        Engine::Redis => k.contains("REDIS") || k.contains("CACHE"),
        _ => {
            !k.contains("REDIS")
                && ["DB", "DATABASE", "POSTGRES", "PG", "MYSQL", "MARIADB", "MONGO", "SQL"]
                    .iter()
                    .any(|w| k.contains(w))
        }
    }
}

fn ends(key: &str, suffixes: &[&str]) -> bool {
    let k = key.to_ascii_uppercase();
    suffixes.iter().any(|s| k.ends_with(s))
}

/// Finds every `uses` edge from the planned services' environments.
pub fn find(planned: &mut [Planned], cx: &mut Cx) {
    let n = planned.len();
    for c in 0..n {
        if planned[c].absorbed || planned[c].engine.is_some() {
            continue;
        }
        let mut found: Vec<Use> = Vec::new();
        for t in 0..n {
            if t == c || planned[t].absorbed || planned[c].project != planned[t].project {
                continue;
            }
            let Some(engine) = planned[t].engine else { continue };
            let aliases = planned[t].svc.aliases.clone();
            let mut u = Use {
                service: planned[t].name.clone(),
                from_hearth: false,
                engine,
                database: None,
                user: None,
                db: None,
                password_keys: Vec::new(),
                host_keys: Vec::new(),
                url_keys: Vec::new(),
                inline_password: false,
            };
            for (k, v) in &planned[c].svc.env {
                if let Some(parsed) = url(&v.value) {
                    if aliases.contains(&parsed.host) {
                        u.url_keys.push(k.clone());
                        u.user = u.user.take().or(parsed.user.clone());
                        u.inline_password |= parsed.password.is_some();
                        if let Some(p) = &parsed.path {
                            match engine {
                                Engine::Redis => u.db = u.db.or(p.parse().ok()),
                                _ => u.database = u.database.take().or(Some(p.clone())),
                            }
                        }
                    }
                } else if aliases.iter().any(|a| a == plain_host(&v.value)) {
                    u.host_keys.push(k.clone());
                }
            }
            if u.host_keys.is_empty() && u.url_keys.is_empty() {
                continue;
            }
            // The companion variables of a host variable: its database, user and password.
            for (k, v) in &planned[c].svc.env {
                if !db_related(k, engine) || u.host_keys.contains(k) || u.url_keys.contains(k) {
                    continue;
                }
                if engine == Engine::Redis {
                    if ends(k, &["PASS", "PASSWORD"]) {
                        u.password_keys.push(k.clone());
                    } else if ends(k, &["DB", "DBINDEX", "DB_INDEX", "DATABASE"]) {
                        u.db = u.db.or(v.value.parse().ok());
                    }
                    continue;
                }
                if ends(k, &["PASS", "PASSWORD", "PASSWD", "DBPASS"]) {
                    u.password_keys.push(k.clone());
                } else if ends(k, &["USER", "USERNAME", "DBUSER", "_LOGIN"]) {
                    u.user = u.user.take().or(Some(v.value.clone()));
                } else if ends(k, &["DB_NAME", "DBNAME", "DATABASE_NAME", "DB_DATABASE", "_DATABASE", "_DB"])
                    || k.eq_ignore_ascii_case("DATABASE")
                {
                    u.database = u.database.take().or(Some(v.value.clone()));
                }
            }
            // What the server itself was told to create fills the gaps.
            let server = &planned[t].svc.env;
            let get = |keys: &[&str]| keys.iter().find_map(|k| server.get(*k).map(|v| v.value.clone()));
            match engine {
                Engine::Postgres => {
                    let user = get(&["POSTGRES_USER"]).unwrap_or_else(|| "postgres".into());
                    u.user = u.user.take().or(Some(user.clone()));
                    u.database = u.database.take().or(get(&["POSTGRES_DB"])).or(Some(user));
                }
                Engine::Mysql => {
                    u.user = u.user.take().or(get(&["MYSQL_USER", "MARIADB_USER"]));
                    u.database = u.database.take().or(get(&["MYSQL_DATABASE", "MARIADB_DATABASE"]));
                }
                Engine::Mongo => {
                    u.user = u.user.take().or(get(&["MONGO_INITDB_ROOT_USERNAME"]));
                    u.database = u.database.take().or(get(&["MONGO_INITDB_DATABASE"]));
                }
                Engine::Redis => {}
            }
            found.push(u);
        }
        found.extend(from_hearth(&planned[c], &found));
        for u in &found {
            let target = u.service.clone();
            let first =
                u.host_keys.first().or(u.url_keys.first()).or(u.password_keys.first()).cloned().unwrap_or_default();
            let shown = planned.iter().find(|p| p.name == target).map_or(target.clone(), |p| p.svc.compose.clone());
            if let Some(v) = planned[c].svc.env.get(&first) {
                let at = v.at.clone();
                cx.findings.push(crate::report::Finding {
                    file: Some(at.0),
                    line: at.1,
                    level: Level::Differs,
                    service: Some(planned[c].svc.compose.clone()),
                    message: format!("`{first}` points at `{shown}`: imported as `uses: {target}`"),
                });
            }
        }
        planned[c].uses = found;
    }
}

/// The `uses` edges behind the connection values of Hearth's own compose files: a password
/// placeholder `{{secret:<server>-<user>-password}}` (or `{{secret:<redis>-password}}`) in a
/// catalog app's wiring variable or a generic `DATABASE_URL`/`REDIS_URL`/`MONGODB_URL` names the
/// server; the user, database and Redis DB come from the variables beside it.
fn from_hearth(p: &Planned, already: &[Use]) -> Vec<Use> {
    use crate::service::placeholder;
    let mut out: Vec<Use> = Vec::new();
    if !p.svc.labels.iter().any(|(k, _, _)| k == "hearth.service") {
        return out;
    }
    let value = |k: &str| p.svc.env.get(k).map(|v| v.value.clone());
    let mut push = |u: Use| {
        if !already
            .iter()
            .chain(out.iter())
            .any(|o| o.service == u.service && o.engine == u.engine && o.database == u.database && o.db == u.db)
        {
            out.push(u);
        }
    };
    let blank = |service: String, engine: Engine| Use {
        service,
        engine,
        database: None,
        user: None,
        db: None,
        password_keys: Vec::new(),
        host_keys: Vec::new(),
        url_keys: Vec::new(),
        inline_password: false,
        from_hearth: true,
    };
    let server_of = |secret: &str, engine: Engine, user: Option<&str>| -> Option<String> {
        let rest = secret.strip_suffix("-password")?;
        let name = match (engine, user) {
            (Engine::Redis, _) => rest,
            (_, Some(u)) => rest.strip_suffix(&format!("-{}", u.replace('_', "-")))?,
            (_, None) => return None,
        };
        (!name.is_empty()).then(|| name.to_string())
    };
    // A catalog app's wiring variables.
    if let Some(app) = p.app {
        for (kind, wiring) in app.uses.iter() {
            let engine = match kind {
                "postgres" => Engine::Postgres,
                "mysql" => Engine::Mysql,
                "mongodb" => Engine::Mongo,
                "redis" => Engine::Redis,
                _ => continue,
            };
            let by_template = |t: &str| wiring.env.iter().find(|(_, v)| v.as_str() == t).map(|(k, _)| k.to_string());
            let user = by_template("{{ user }}").and_then(|k| value(&k));
            let database = by_template("{{ database }}").and_then(|k| value(&k));
            let db = by_template("{{ db }}").and_then(|k| value(&k)).and_then(|v| v.parse().ok());
            let direct = by_template("{{ password }}").and_then(|k| value(&k).map(|v| (k, v)));
            let via_url = by_template("{{ url }}").and_then(|k| value(&k).map(|v| (k, v)));
            let (key, secret, user, database, db) = match (direct, via_url) {
                (Some((k, v)), _) => match placeholder(&v) {
                    Some(n) => (k, n.to_string(), user, database, db),
                    None => continue,
                },
                (None, Some((k, v))) => {
                    let Some(parsed) = url(&v) else { continue };
                    let Some(n) = parsed.password.as_deref().and_then(placeholder) else { continue };
                    let path = parsed.path.clone();
                    let db = if engine == Engine::Redis { path.as_deref().and_then(|p| p.parse().ok()) } else { db };
                    let database = if engine == Engine::Redis { None } else { path };
                    (k, n.to_string(), parsed.user.clone(), database, db)
                }
                _ => continue,
            };
            let Some(server) = server_of(&secret, engine, user.as_deref()) else { continue };
            let mut u = blank(server, engine);
            u.user = user;
            u.database = database;
            u.db = db;
            u.url_keys.push(key);
            push(u);
        }
        return out;
    }
    // An image's generic variables.
    for (k, v) in &p.svc.env {
        let engine = match k.as_str() {
            "DATABASE_URL" => None,
            k if k == "REDIS_URL" || k.starts_with("REDIS_URL_") => Some(Engine::Redis),
            k if k == "MONGODB_URL" || k.starts_with("MONGODB_URL_") => Some(Engine::Mongo),
            k if k.starts_with("DATABASE_URL_") => None,
            _ => continue,
        };
        let Some(parsed) = url(&v.value) else { continue };
        let engine = engine.unwrap_or(if v.value.starts_with("mysql:") { Engine::Mysql } else { Engine::Postgres });
        let Some(secret) = parsed.password.as_deref().and_then(placeholder) else { continue };
        let Some(server) = server_of(secret, engine, parsed.user.as_deref()) else { continue };
        let mut u = blank(server, engine);
        match engine {
            Engine::Redis => u.db = parsed.path.as_deref().and_then(|p| p.parse().ok()),
            _ => {
                u.user = parsed.user.clone();
                u.database = parsed.path.clone();
            }
        }
        u.url_keys.push(k.clone());
        push(u);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = url("postgresql://app:pw@db:5432/app_db?sslmode=disable").unwrap();
        assert_eq!(
            u,
            Url {
                user: Some("app".into()),
                password: Some("pw".into()),
                host: "db".into(),
                path: Some("app_db".into())
            }
        );
        let r = url("redis://cache:6379/2").unwrap();
        assert_eq!((r.host.as_str(), r.path.as_deref(), r.password), ("cache", Some("2"), None));
        assert_eq!(url("db:5432"), None);
        assert_eq!(plain_host("db:5432"), "db");
    }
}
