//! MongoDB servers: the configuration of a native server, and the users per server on the
//! server's machine under `/etc/hearth/mongo/`:
//!
//! - natively, `mongod.conf` where MongoDB's `mongodb-org` package reads it (the catalog's
//!   `native.config`, `/etc/mongod.conf`): authorization on, listening on every address (the
//!   firewall decides who connects), data in the service's data folder, the package's log file.
//! - `init.js`: a mongosh script that logs in as the root user (creating it first when no user
//!   exists yet, which MongoDB's localhost exception allows on a fresh native server; the image
//!   creates it in a container) and creates (or updates, so
//!   re-running rotates passwords) one user per database with `readWrite` on it. The user lives
//!   in its own database, which is the `authSource` the consumers' `mongodb://.../<db>` URLs
//!   imply. A monitoring login (the exporter of `monitoring.exporters: [mongodb]`) lives in
//!   `admin` with `clusterMonitor` there and `read` on `local` (the oplog), and owns no database. Every password is read from the environment (`process.env.MONGO_PW_<USER>`), so the
//!   script holds no secret and fails when a variable is missing.
//! - `credentials.env` (secret, mode 0600): the root login and one `MONGO_PW_<USER>` per user.
//! - `apply.sh`: exports `credentials.env` and runs mongosh against the local server (inside
//!   the container for a Docker server, passing the variables through).

use std::collections::BTreeMap;

use hearth_catalog::Provides;
use hearth_model::model::{Database, Service, Template};

use crate::logins::from_consumers;
use crate::native;
use crate::query::{listen_port, provides};
use crate::reader::Runner;
use crate::shell::{docker_exec, env_name, sh_quote};
use crate::yaml::{Node, quoted};
use crate::{Activation, Context, File, Kind, Output, fill};

pub fn render(cx: &Context, out: &mut Output) {
    let model = cx.model;
    for (name, s) in &model.services {
        if provides(cx, s, Provides::Mongodb)
            && let Some(path) = native::config(cx, s)
        {
            let file = File::new(s.on.name(), path, Kind::Mongod, mongod_conf(cx, name, s));
            out.push(Runner::of(cx, name, s).restarted(file).from(format!("service/{name}")));
        }
    }
    let mut servers: BTreeMap<&str, Vec<&Database>> = BTreeMap::new();
    for d in model.databases.iter().filter(|d| d.engine == hearth_model::model::Engine::Mongodb) {
        servers.entry(d.server.as_str()).or_default().push(d);
    }
    for (server, databases) in &servers {
        let Some(s) = model.services.get(*server) else { continue };
        let machine = s.on.name();
        let source = format!("service/{server}");
        let apply = Activation::Run { argv: vec!["/bin/sh".into(), "/etc/hearth/mongo/apply.sh".into()] };
        let files = [
            File::new(machine, "/etc/hearth/mongo/init.js", Kind::MongoInit, init_js(server, databases)),
            File::new(
                machine,
                "/etc/hearth/mongo/credentials.env",
                Kind::EnvSecret,
                credentials(cx, server, s, databases),
            ),
            File::new(machine, "/etc/hearth/mongo/apply.sh", Kind::MongoInit, apply_sh(server, s, databases))
                .mode(0o755),
        ];
        for f in files {
            let f = f.activate(apply.clone());
            out.push(from_consumers(f, &source, databases));
        }
    }
}

/// `mongod.conf` of a native server: the `mongodb-org` package's defaults (data, log, time zones)
/// with the service's data folder and port, every address, and authorization on.
fn mongod_conf(cx: &Context, name: &str, s: &Service) -> String {
    let data = native::data_dir(cx, s).unwrap_or_else(|| "/var/lib/mongodb".to_string());
    let port = listen_port(s, &["mongodb"]).unwrap_or(27017);
    let doc = Node::Map(vec![
        Node::comment(format!("MongoDB server `{name}`, rendered by Hearth.")),
        ("storage".into(), Node::Map(vec![("dbPath".into(), Node::s(&data))])),
        (
            "systemLog".into(),
            Node::Map(vec![
                ("destination".into(), Node::s("file")),
                ("logAppend".into(), Node::Bool(true)),
                ("path".into(), Node::s("/var/log/mongodb/mongod.log")),
            ]),
        ),
        ("net".into(), Node::Map(vec![("port".into(), Node::Int(port.into())), ("bindIp".into(), Node::s("0.0.0.0"))])),
        ("processManagement".into(), Node::Map(vec![("timeZoneInfo".into(), Node::s("/usr/share/zoneinfo"))])),
        ("security".into(), Node::Map(vec![("authorization".into(), Node::s("enabled"))])),
    ]);
    doc.to_block(&quoted)
}

/// A JavaScript string literal (JSON's escaping is valid JavaScript).
fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

fn init_js(server: &str, databases: &[&Database]) -> String {
    let mut s = format!(
        "// MongoDB server `{server}`: one readWrite user per database (and the exporter's monitoring\n\
         // login), rendered by Hearth.\n\
         // Run by apply.sh; passwords come from the environment (credentials.env). Idempotent.\n\
         function env(name) {{\n  \
           const value = process.env[name];\n  \
           if (!value) {{\n    throw new Error(`environment variable ${{name}} is not set`);\n  }}\n  \
           return value;\n\
         }}\n\n\
         const admin = db.getSiblingDB('admin');\n\
         const rootUser = env('MONGO_ROOT_USERNAME');\n\
         const rootPassword = env('MONGO_ROOT_PASSWORD');\n\
         try {{\n  \
           admin.auth(rootUser, rootPassword);\n\
         }} catch (e) {{\n  \
           // A fresh native server has no user: MongoDB's localhost exception lets this connection\n  \
           // create the first one, the root Hearth logs in as. Anything else fails here.\n  \
           admin.createUser({{ user: rootUser, pwd: rootPassword, roles: [{{ role: 'root', db: 'admin' }}] }});\n  \
           admin.auth(rootUser, rootPassword);\n\
         }}\n\n\
         function ensureUser(database, user, password, roles) {{\n  \
           const target = db.getSiblingDB(database);\n  \
           if (target.getUser(user) === null) {{\n    \
             target.createUser({{ user: user, pwd: password, roles: roles }});\n  \
           }} else {{\n    \
             target.updateUser(user, {{ pwd: password, roles: roles }});\n  \
           }}\n\
         }}\n\n"
    );
    for d in databases {
        // An exporter reads the server's statistics and the oplog: never a database's documents.
        let roles = if d.monitor {
            "[{ role: 'clusterMonitor', db: 'admin' }, { role: 'read', db: 'local' }]".to_string()
        } else {
            format!("[{{ role: 'readWrite', db: {} }}]", js(&d.name))
        };
        s.push_str(&format!(
            "// {}used by {}\nensureUser({}, {}, env({}), {roles});\n",
            if d.monitor { "monitoring login, " } else { "" },
            if d.consumers.is_empty() { "no service".to_string() } else { d.consumers.join(", ") },
            js(&d.name),
            js(&d.user),
            js(&format!("MONGO_PW_{}", env_name(&d.user)))
        ));
    }
    s
}

fn credentials(cx: &Context, server: &str, s: &Service, databases: &[&Database]) -> String {
    let user = s.env.get("MONGO_INITDB_ROOT_USERNAME").map_or_else(|| "root".to_string(), ToString::to_string);
    let root = s
        .env
        .get("MONGO_INITDB_ROOT_PASSWORD")
        .cloned()
        .unwrap_or_else(|| Template::secret(format!("secret:{server}-root-password")));
    let mut out = format!(
        "# Logins for MongoDB server `{server}`, rendered by Hearth. Secret: keep it mode 0600.\n\
         MONGO_ROOT_USERNAME={}\n\
         MONGO_ROOT_PASSWORD={}\n",
        sh_quote(&user),
        sh_quote(&fill(&root, cx.secrets))
    );
    let mut seen = Vec::new();
    for d in databases {
        let var = format!("MONGO_PW_{}", env_name(&d.user));
        if seen.contains(&var) {
            continue;
        }
        let value = fill(&Template::secret(format!("secret:{}", d.password_secret)), cx.secrets);
        out.push_str(&format!("{var}={}\n", sh_quote(&value)));
        seen.push(var);
    }
    out
}

fn apply_sh(server: &str, s: &Service, databases: &[&Database]) -> String {
    let url = format!("mongodb://127.0.0.1:{}/admin", listen_port(s, &["mongodb"]).unwrap_or(27017));
    let mut vars = vec!["MONGO_ROOT_USERNAME".to_string(), "MONGO_ROOT_PASSWORD".to_string()];
    for d in databases {
        let v = format!("MONGO_PW_{}", env_name(&d.user));
        if !vars.contains(&v) {
            vars.push(v);
        }
    }
    let run = match docker_exec(server, s, " -i") {
        Some(exec) => {
            let pass: Vec<String> = vars.iter().map(|v| format!("-e {v}")).collect();
            let exec = exec.replacen("docker exec -i", &format!("docker exec -i {}", pass.join(" ")), 1);
            format!("{exec} mongosh --quiet {url} < \"$dir/init.js\"")
        }
        None => format!("mongosh --quiet {url} --file \"$dir/init.js\""),
    };
    format!(
        "#!/bin/sh\n\
         # Creates the users of MongoDB server `{server}` (init.js), rendered by Hearth. Idempotent.\n\
         set -eu\n\
         dir=\"${{HEARTH_MONGO_DIR:-/etc/hearth/mongo}}\"\n\
         set -a\n\
         . \"$dir/credentials.env\"\n\
         set +a\n\
         {run}\n"
    )
}
