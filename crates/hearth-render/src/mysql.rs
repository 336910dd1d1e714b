//! MariaDB and MySQL users and databases, per server of `uses: <mysql>` edges, on the server's
//! machine under `/etc/hearth/mysql/` (`/etc/hearth/mysql/<server>/` when a machine runs more than
//! one server):
//!
//! - `init.sql`: idempotent SQL. Each user is created when missing, then given its password on
//!   every run (so re-running rotates it) through a prepared `ALTER USER … IDENTIFIED BY` built
//!   with `QUOTE(@pw_<user>)`: the file itself holds no secret. Then every privilege of the user
//!   is revoked, and each database is created when missing and its user granted every privilege
//!   on it: after each run a user holds exactly the privileges on its own databases, and none left
//!   over from a database the spec moved it away from, nor any granted by hand.
//! - `passwords.env` (secret, mode 0600): one `PW_<USER>=value` per user.
//! - `apply.sh`: sources `passwords.env`, sets each `@pw_<user>` from the hex of its value
//!   (`UNHEX`, so no character of a password can end the SQL string), then sends `init.sql` to
//!   the server's client on stdin: inside the container for a Docker server, logged in as root with
//!   the image's root password variable (`MARIADB_ROOT_PASSWORD`, or MySQL's), or natively as
//!   root through the unix socket (Debian's default for `root@localhost`). `HEARTH_MYSQL`
//!   replaces the client command line and `HEARTH_MYSQL_DIR` the folder (the tests point them at a
//!   throwaway server).
//!
//! - natively, `60-hearth.cnf` beside the package's `50-server.cnf` (Debian's `my.cnf` reads
//!   `mariadb.conf.d/` in name order, so it comes last): `bind-address = 0.0.0.0` and the port, so
//!   consumers on other machines can connect at all (Debian's default is `127.0.0.1`). Changing it
//!   restarts the server.
//!
//! Users are `'<user>'@'%'`: consumers in the same Compose project connect from the stack
//! network's addresses, others from their machine's; the firewall limits who reaches the port.

use std::collections::BTreeMap;

use hearth_model::model::{Database, Engine, Service, Template};

use crate::logins::{from_consumers, logins, password_var};
use crate::native;
use crate::query::listen_port;
use crate::reader::Runner;
use crate::shell::{docker_exec, env_name, sh_quote};
use crate::{Activation, Context, File, Kind, Output, fill};

pub fn render(cx: &Context, out: &mut Output) {
    let model = cx.model;
    let mut servers: BTreeMap<&str, Vec<&Database>> = BTreeMap::new();
    for d in model.databases.iter().filter(|d| d.engine == Engine::Mysql) {
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
            format!("/etc/hearth/mysql/{server}")
        } else {
            "/etc/hearth/mysql".to_string()
        };
        let users = logins(databases);
        let apply = Activation::Run { argv: vec!["/bin/sh".into(), format!("{dir}/apply.sh")] };
        let mut files = vec![
            File::new(machine, format!("{dir}/init.sql"), Kind::MysqlInit, init_sql(server, databases, &users))
                .activate(apply.clone()),
            File::new(machine, format!("{dir}/passwords.env"), Kind::EnvSecret, passwords_env(cx, server, &users))
                .activate(apply.clone()),
            File::new(machine, format!("{dir}/apply.sh"), Kind::MysqlInit, apply_sh(server, s, &dir, &users))
                .mode(0o755)
                .activate(apply),
        ];
        if let Some(config) = native::config(cx, s) {
            let conf_d = config.rsplit_once('/').map_or(config.as_str(), |(d, _)| d);
            let port = listen_port(s, &["mysql"]).unwrap_or(3306);
            let content = format!(
                "# MariaDB/MySQL server `{server}`, rendered by Hearth; read after 50-server.cnf.\n\
                 # Listen on every address: the users' grants and the firewall decide who connects.\n\
                 [mysqld]\n\
                 bind-address = 0.0.0.0\n\
                 port = {port}\n"
            );
            let file = File::new(machine, format!("{conf_d}/60-hearth.cnf"), Kind::MysqlConf, content);
            files.push(Runner::of(cx, server, s).restarted(file));
        }
        for f in files {
            out.push(from_consumers(f, &format!("service/{server}"), databases));
        }
    }
}

/// A string literal (MariaDB and MySQL's default `sql_mode` reads backslash escapes).
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

fn ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

fn account(user: &str) -> String {
    format!("{}@'%'", literal(user))
}

fn init_sql(server: &str, databases: &[&Database], users: &BTreeMap<&str, &str>) -> String {
    let mut s = format!(
        "-- MariaDB/MySQL server `{server}`: users and databases, rendered by Hearth.\n\
         -- Run by apply.sh, which sets @pw_<user> first (idempotent; re-running rotates passwords).\n\n"
    );
    for user in users.keys() {
        let alter = format!("ALTER USER {} IDENTIFIED BY ", account(user));
        s.push_str(&format!(
            "-- user {user}\n\
             CREATE USER IF NOT EXISTS {account};\n\
             SET @hearth_sql = CONCAT({alter}, QUOTE(@{var}));\n\
             PREPARE hearth_stmt FROM @hearth_sql;\n\
             EXECUTE hearth_stmt;\n\
             DEALLOCATE PREPARE hearth_stmt;\n\
             REVOKE ALL PRIVILEGES, GRANT OPTION FROM {account};\n\n",
            account = account(user),
            alter = literal(&alter),
            var = password_var(user),
        ));
    }
    for d in databases {
        let consumers = if d.consumers.is_empty() { "none".to_string() } else { d.consumers.join(", ") };
        s.push_str(&format!(
            "-- database {name}, user {user}, used by {consumers}\n\
             CREATE DATABASE IF NOT EXISTS {id} CHARACTER SET utf8mb4;\n\
             GRANT ALL PRIVILEGES ON {id}.* TO {account};\n\n",
            name = d.name,
            user = d.user,
            id = ident(&d.name),
            account = account(&d.user),
        ));
    }
    s
}

fn passwords_env(cx: &Context, server: &str, users: &BTreeMap<&str, &str>) -> String {
    let mut s = format!(
        "# Passwords of the users on MariaDB/MySQL server `{server}`, rendered by Hearth. Secret: keep it mode 0600.\n"
    );
    for (user, secret) in users {
        let value = fill(&Template::secret(format!("secret:{secret}")), cx.secrets);
        s.push_str(&format!("PW_{}={}\n", env_name(user), sh_quote(&value)));
    }
    s
}

/// The client, logged in as root, inside the container or through the local socket.
fn client(server: &str, s: &Service) -> String {
    // Run by the container's shell: the root password is the image's own variable, and MariaDB
    // 11 images have only the `mariadb` client, MySQL images only `mysql`.
    const IN_CONTAINER: &str = "MYSQL_PWD=\"${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}\"; export MYSQL_PWD; \
                                if command -v mariadb >/dev/null; then exec mariadb -uroot; else exec mysql -uroot; fi";
    docker_exec(server, s, " -i")
        .map_or_else(|| "mariadb -uroot".to_string(), |exec| format!("{exec} sh -c {}", sh_quote(IN_CONTAINER)))
}

fn apply_sh(server: &str, s: &Service, dir: &str, users: &BTreeMap<&str, &str>) -> String {
    let mut sh = format!(
        "#!/bin/sh\n\
         # Creates the users and databases of MariaDB/MySQL server `{server}` (init.sql), rendered by Hearth.\n\
         # Idempotent. HEARTH_MYSQL replaces the client command line, HEARTH_MYSQL_DIR the folder of the files.\n\
         set -eu\n\
         dir=\"${{HEARTH_MYSQL_DIR:-{dir}}}\"\n\
         . \"$dir/passwords.env\"\n\
         # A value as hex digits, for UNHEX(): no character of it can end the SQL string.\n\
         hex() {{ printf '%s' \"$1\" | od -An -v -tx1 | tr -d ' \\n'; }}\n\
         if [ -n \"${{HEARTH_MYSQL:-}}\" ]; then\n    \
           # Word splitting is wanted: it is a command line.\n    \
           # shellcheck disable=SC2086\n    \
           run_client() {{ $HEARTH_MYSQL \"$@\"; }}\n\
         else\n    \
           run_client() {{ {client}; }}\n\
         fi\n\
         {{\n",
        client = client(server, s),
    );
    for user in users.keys() {
        sh.push_str(&format!(
            "    printf \"SET @{var} = CONVERT(UNHEX('%s') USING utf8mb4);\\n\" \"$(hex \"$PW_{env}\")\"\n",
            var = password_var(user),
            env = env_name(user),
        ));
    }
    sh.push_str("    cat \"$dir/init.sql\"\n} | run_client\n");
    sh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(literal("a'b\\c"), "'a''b\\\\c'");
        assert_eq!(ident("we`ird"), "`we``ird`");
        assert_eq!(password_var("wp-site.a"), "pw_wp_site_a");
    }
}
