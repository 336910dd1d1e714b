//! PostgreSQL roles, databases and client authentication, per PostgreSQL server, on the
//! server's machine under `/etc/hearth/postgres/` (`/etc/hearth/postgres/<server>/` when a
//! machine runs more than one server):
//!
//! - `init.sql`: idempotent SQL for `psql -v ON_ERROR_STOP=1`. Roles and databases are created
//!   only when missing (`\gexec` over a `WHERE NOT EXISTS` query: `CREATE DATABASE` cannot run in
//!   a `DO` block), then brought to the wanted state on every run (login, password, owner,
//!   `CONNECT` revoked from `PUBLIC` and granted to the owner), so it is also how passwords are
//!   rotated. Passwords come from psql variables (`:'pw_n8n'`), which psql quotes as literals;
//!   the SQL file itself holds no secret. A role whose app's catalog entry asks for a superuser
//!   (Immich, whose migrations manage its extensions) is made one; the extensions the apps name
//!   are created in their databases where the server has them, and psql warns where it has not.
//! - `passwords.env` (secret, mode 0600): one `PW_<ROLE>=value` per role.
//! - `apply.sh`: sources `passwords.env` and runs psql with one `-v pw_<role>=...` per role. The
//!   psql command can be replaced with `HEARTH_PSQL` (the tests point it at a throwaway cluster).
//! - `pg_hba.conf`: `local all postgres peer` for administration, then one `host` line per
//!   database and consumer machine with `scram-sha-256`; nothing else may connect.
//! - natively, `hearth.conf` in the cluster's `conf.d` (`/etc/postgresql/<major>/main/conf.d/`,
//!   which Debian's `postgresql.conf` includes last): `listen_addresses = '*'` and the port, so
//!   the consumers on other machines can connect at all (Debian's default is `localhost`), and
//!   `hba_file` pointing at the `pg_hba.conf` above. Who may connect is `pg_hba.conf`'s and the
//!   firewall's decision, not the listening address's.

use std::collections::BTreeMap;

use hearth_model::model::{Database, Service, Template};

use crate::logins::{from_consumers, logins, password_var};
use crate::native;
use crate::query::listen_port;
use crate::reader::Runner;
use crate::shell::{docker_exec, env_name, sh_quote};
use crate::{Activation, Context, File, Kind, Output, fill};

pub fn render(cx: &Context, out: &mut Output) {
    let model = cx.model;
    let mut servers: BTreeMap<&str, Vec<&Database>> = BTreeMap::new();
    for d in model.databases.iter().filter(|d| d.engine == hearth_model::model::Engine::Postgres) {
        servers.entry(d.server.as_str()).or_default().push(d);
    }
    let mut per_machine: BTreeMap<&str, usize> = BTreeMap::new();
    for server in servers.keys() {
        if let Some(s) = model.services.get(*server) {
            *per_machine.entry(s.on.name()).or_default() += 1;
        }
    }
    for (server, databases) in &servers {
        let Some(s) = model.services.get(*server) else { continue };
        let machine = s.on.name();
        let dir = if per_machine.get(machine).copied().unwrap_or(0) > 1 {
            format!("/etc/hearth/postgres/{server}")
        } else {
            "/etc/hearth/postgres".to_string()
        };
        let roles = logins(databases);
        let source = format!("service/{server}");
        let runner = Runner::of(cx, server, s);
        let apply = Activation::Run { argv: vec!["/bin/sh".into(), format!("{dir}/apply.sh")] };
        let mut files = vec![
            File::new(machine, format!("{dir}/init.sql"), Kind::PostgresInit, init_sql(server, databases, &roles))
                .activate(apply.clone()),
            runner
                .owns(File::new(
                    machine,
                    format!("{dir}/passwords.env"),
                    Kind::EnvSecret,
                    passwords_env(cx, server, &roles),
                ))
                .activate(apply.clone()),
            File::new(machine, format!("{dir}/apply.sh"), Kind::PostgresInit, apply_sh(server, s, &dir, &roles))
                .mode(0o755)
                .activate(apply),
            // The server reads it (`hba_file`), and re-reads it on reload.
            runner.config(File::new(
                machine,
                format!("{dir}/pg_hba.conf"),
                Kind::PostgresInit,
                pg_hba(cx, server, databases),
            )),
        ];
        if let Some(config) = native::config(cx, s) {
            let conf_d = config.rsplit_once('/').map_or(config.as_str(), |(d, _)| d);
            let port = listen_port(s, &["postgres"]).unwrap_or(5432);
            let content = format!(
                "# PostgreSQL server `{server}`, rendered by Hearth; read after postgresql.conf.\n\
                 # Listen on every address: pg_hba.conf and the firewall decide who connects.\n\
                 listen_addresses = '*'\n\
                 port = {port}\n\
                 hba_file = '{dir}/pg_hba.conf'\n"
            );
            let file = File::new(machine, format!("{conf_d}/conf.d/hearth.conf"), Kind::PostgresConf, content);
            files.push(runner.restarted(file));
        }
        for f in files {
            out.push(from_consumers(f, &source, databases));
        }
    }
}

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn init_sql(server: &str, databases: &[&Database], roles: &BTreeMap<&str, &str>) -> String {
    let mut s = format!(
        "-- PostgreSQL server `{server}`: roles and databases, rendered by Hearth.\n\
         -- Run by apply.sh: psql -v ON_ERROR_STOP=1 -v pw_<role>=... (idempotent; re-running rotates passwords).\n\n"
    );
    for role in roles.keys() {
        // A role whose app manages extensions in its migrations (catalog `superuser`) gets to.
        let superuser = databases.iter().any(|d| d.user == *role && d.superuser);
        s.push_str(&format!(
            "-- role {role}\n\
             SELECT format('CREATE ROLE %I LOGIN', {lit}) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {lit})\\gexec\n\
             ALTER ROLE {id} WITH LOGIN {su}PASSWORD :'{var}';\n\n",
            lit = literal(role),
            id = ident(role),
            var = password_var(role),
            su = if superuser { "SUPERUSER " } else { "" },
        ));
    }
    for d in databases {
        let consumers = if d.consumers.is_empty() { "none".to_string() } else { d.consumers.join(", ") };
        if d.monitor {
            // The server's own maintenance database: not created, owned or closed to others here.
            s.push_str(&format!(
                "-- monitoring login {user} on database {name}, used by {consumers}\n\
                 GRANT pg_monitor TO {user_id};\n\
                 GRANT CONNECT ON DATABASE {name_id} TO {user_id};\n\n",
                name = d.name,
                user = d.user,
                name_id = ident(&d.name),
                user_id = ident(&d.user),
            ));
            continue;
        }
        s.push_str(&format!(
            "-- database {name}, owner {user}, used by {consumers}\n\
             SELECT format('CREATE DATABASE %I OWNER %I', {name_lit}, {user_lit}) WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = {name_lit})\\gexec\n\
             ALTER DATABASE {name_id} OWNER TO {user_id};\n\
             REVOKE CONNECT ON DATABASE {name_id} FROM PUBLIC;\n\
             GRANT CONNECT ON DATABASE {name_id} TO {user_id};\n\n",
            name = d.name,
            user = d.user,
            name_lit = literal(&d.name),
            user_lit = literal(&d.user),
            name_id = ident(&d.name),
            user_id = ident(&d.user),
        ));
    }
    s.push_str(&extensions_sql(databases));
    s
}

/// The extensions the databases' apps need, created in each database where the server has them;
/// where it does not, psql warns on every run, naming what to install.
fn extensions_sql(databases: &[&Database]) -> String {
    let mut s = String::new();
    for d in databases.iter().filter(|d| !d.extensions.is_empty()) {
        s.push_str(&format!("-- extensions of database {}\n\\connect {}\n", d.name, ident(&d.name)));
        for e in &d.extensions {
            let lit = literal(e);
            s.push_str(&format!(
                "SELECT NOT EXISTS (SELECT FROM pg_available_extensions WHERE name = {lit}) AS hearth_missing \\gset\n\
                 \\if :hearth_missing\n\
                 \\warn {warning}\n\
                 \\else\n\
                 CREATE EXTENSION IF NOT EXISTS {id} CASCADE;\n\
                 \\endif\n",
                id = ident(e),
                warning = literal(&format!(
                    "this PostgreSQL server has no extension {e}, which database {} needs: install it",
                    d.name
                )),
            ));
        }
        s.push('\n');
    }
    s
}

fn passwords_env(cx: &Context, server: &str, roles: &BTreeMap<&str, &str>) -> String {
    let mut s = format!(
        "# Passwords of the roles on PostgreSQL server `{server}`, rendered by Hearth. Secret: keep it mode 0600.\n"
    );
    for (role, secret) in roles {
        let value = fill(&Template::secret(format!("secret:{secret}")), cx.secrets);
        s.push_str(&format!("PW_{}={}\n", env_name(role), sh_quote(&value)));
    }
    s
}

fn apply_sh(server: &str, s: &Service, dir: &str, roles: &BTreeMap<&str, &str>) -> String {
    // Natively over the cluster's socket, which is named after its port.
    let port = listen_port(s, &["postgres"]).unwrap_or(5432);
    let psql = docker_exec(server, s, " -i").map_or_else(
        || format!("runuser -u postgres -- psql --port={port}"),
        |exec| format!("{exec} psql --username=postgres"),
    );
    let mut sh = format!(
        "#!/bin/sh\n\
         # Creates the roles and databases of PostgreSQL server `{server}` (init.sql), rendered by Hearth.\n\
         # Idempotent. HEARTH_PSQL replaces the psql command line, HEARTH_PG_DIR the folder of the files.\n\
         set -eu\n\
         dir=\"${{HEARTH_PG_DIR:-{dir}}}\"\n\
         . \"$dir/passwords.env\"\n\
         if [ -n \"${{HEARTH_PSQL:-}}\" ]; then\n    \
           # Word splitting is wanted: it is a command line.\n    \
           # shellcheck disable=SC2086\n    \
           run_psql() {{ $HEARTH_PSQL \"$@\"; }}\n\
         else\n    \
           run_psql() {{ {psql} \"$@\"; }}\n\
         fi\n\
         run_psql -X -q -v ON_ERROR_STOP=1 \\\n"
    );
    for role in roles.keys() {
        sh.push_str(&format!("    -v {}=\"$PW_{}\" \\\n", password_var(role), env_name(role)));
    }
    sh.push_str("    -f - < \"$dir/init.sql\"\n");
    sh
}

fn pg_hba(cx: &Context, server: &str, databases: &[&Database]) -> String {
    let model = cx.model;
    let mut s = format!(
        "# Client authentication for PostgreSQL server `{server}`, rendered by Hearth.\n\
         # Each database only from its consumers' machines; anything not listed is refused.\n\
         # TYPE  DATABASE  USER  ADDRESS  METHOD\n\
         local   all   postgres   peer\n"
    );
    for d in databases {
        let mut addresses = Vec::new();
        for consumer in &d.consumers {
            let Some(c) = model.services.get(consumer) else { continue };
            for m in model.source_machines(c) {
                match model.machine_address(m) {
                    Some(a) => {
                        let cidr = if a.is_ipv4() { format!("{a}/32") } else { format!("{a}/128") };
                        if !addresses.contains(&cidr) {
                            addresses.push(cidr);
                        }
                    }
                    None => s.push_str(&format!("# {}: consumer `{consumer}` on `{m}` has no address\n", d.name)),
                }
            }
        }
        if addresses.is_empty() {
            s.push_str(&format!("# {}: no consumer machines, no remote access\n", d.name));
        }
        for a in addresses {
            s.push_str(&format!("host   {}   {}   {a}   scram-sha-256\n", ident(&d.name), ident(&d.user)));
        }
    }
    s
}
