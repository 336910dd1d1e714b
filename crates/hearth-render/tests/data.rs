//! The data renderers (postgres, redis, mongo, minio, backup, zfs, pbs) against every example:
//! real PostgreSQL runs the rendered init.sql on a throwaway cluster, a real redis-server loads
//! the rendered redis.conf, `systemd-analyze verify` checks every unit, `sh -n` every script,
//! `node --check` the mongosh script; Debian's PostgreSQL and Redis exporters log in with their
//! rendered environment files (`exporters/`); the Proxmox sections and MinIO policies are parsed and
//! checked structurally. Plus snapshots and the secret rule.

mod common;
mod exporters;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use hearth_render::{Context, File, Kind, Output, SecretValues};

/// Test secret values: `test-` and the reference with anything but letters and digits as `-`.
struct TestSecrets;

impl SecretValues for TestSecrets {
    fn get(&self, reference: &str) -> Option<String> {
        Some(test_value(reference))
    }
}

fn test_value(reference: &str) -> String {
    let r: String = reference.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    format!("test-{r}")
}

/// The files of this group's renderers only.
fn data_files(model: &hearth_model::Model, secrets: Option<&dyn SecretValues>) -> Vec<File> {
    let cx = Context { model, catalog: hearth_catalog::builtin(), secrets };
    let mut out = Output::default();
    hearth_render::postgres::render(&cx, &mut out);
    hearth_render::redis::render(&cx, &mut out);
    hearth_render::mongo::render(&cx, &mut out);
    hearth_render::minio::render(&cx, &mut out);
    hearth_render::native_env::render(&cx, &mut out);
    hearth_render::backup::render(&cx, &mut out);
    hearth_render::zfs::render(&cx, &mut out);
    hearth_render::pbs::render(&cx, &mut out);
    hearth_render::pbs_server::render(&cx, &mut out);
    out.finish()
}

fn rendered_with_secrets() -> Vec<(String, hearth_model::Model, Vec<File>)> {
    common::examples()
        .into_iter()
        .map(|(name, model)| {
            let files = data_files(&model, Some(&TestSecrets));
            (name, model, files)
        })
        .collect()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn snapshot_text(files: &[File]) -> String {
    files
        .iter()
        .map(|f| format!("==> {}:{} ({}, {:o})\n{}", f.machine, f.path, f.kind.as_str(), f.mode, f.content))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn secrets_only_in_secret_files() {
    for (name, _, files) in rendered_with_secrets() {
        for f in &files {
            if f.kind == Kind::EnvSecret {
                assert_eq!(f.mode, 0o600, "{name}: {}:{} is a secret file", f.machine, f.path);
            } else {
                assert!(!f.content.contains("test-secret-"), "{name}: {}:{} holds a secret value", f.machine, f.path);
                assert!(
                    !f.content.contains("{{secret:"),
                    "{name}: {}:{} holds a secret placeholder",
                    f.machine,
                    f.path
                );
                assert!(!f.content.contains("${secret:"), "{name}: {}:{} holds a secret template", f.machine, f.path);
            }
            assert!(!f.sources.is_empty(), "{name}: {}:{} has no source", f.machine, f.path);
        }
    }
}

#[test]
fn snapshots() {
    for (name, model) in common::examples() {
        if name == "ryzen-tiered-lxc-platform" || name == "two-node-docker-pbs" {
            insta::assert_snapshot!(format!("data-{name}"), snapshot_text(&data_files(&model, None)));
        }
    }
}

#[test]
fn every_example_renders_what_it_declares() {
    for (name, model, files) in rendered_with_secrets() {
        let has = |machine: &str, path: &str| files.iter().any(|f| f.machine == machine && f.path == path);
        for job in &model.backups.jobs {
            let restic = model.backups.policies.get(&job.policy).is_some_and(|p| {
                p.to.iter().any(|r| {
                    matches!(model.backups.repositories.get(r), Some(hearth_model::model::Repository::Restic { .. }))
                })
            });
            let nixos = model.guests.get(&job.machine).is_some_and(|g| g.os.starts_with("nixos"));
            if restic && !nixos {
                for ext in ["service", "timer"] {
                    let path = format!("/etc/systemd/system/hearth-backup-{}.{ext}", job.service);
                    assert!(has(&job.machine, &path), "{name}: missing {}:{path}", job.machine);
                }
            }
        }
        let pg_servers: Vec<&str> = model
            .databases
            .iter()
            .filter(|d| d.engine == hearth_model::model::Engine::Postgres)
            .map(|d| d.server.as_str())
            .collect();
        for server in pg_servers {
            let machine = model.services[server].on.name();
            assert!(
                files
                    .iter()
                    .any(|f| f.machine == machine && f.kind == Kind::PostgresInit && f.path.ends_with("init.sql")),
                "{name}: no init.sql for `{server}`"
            );
        }
        for f in &files {
            if f.path.ends_with(".env") && f.kind == Kind::EnvSecret && f.path.starts_with("/etc/hearth/restic/") {
                assert!(f.content.contains("RESTIC_REPOSITORY=") && f.content.contains("RESTIC_PASSWORD="));
            }
        }
    }
}

#[test]
fn shell_scripts_parse() {
    if !common::have("sh") || !common::have("bash") {
        return;
    }
    let mut n = 0;
    for (name, _, files) in rendered_with_secrets() {
        let dir = common::write_tree(&files, &common::temp_dir(&format!("data-sh-{name}")));
        for f in files.iter().filter(|f| f.path.ends_with(".sh")) {
            let path = dir.join(&f.machine).join(f.path.trim_start_matches('/'));
            // bash only where the script needs it (`pipefail` in the whole-guest backups).
            let bash = f.content.starts_with("#!/bin/bash\n");
            assert!(bash || f.content.starts_with("#!/bin/sh\n"), "{name}: {} has no #!/bin/sh", f.path);
            if !bash {
                common::run_ok(Command::new("sh").arg("-n").arg(&path), &format!("{name}: sh -n {}", f.path));
            }
            common::run_ok(Command::new("bash").arg("-n").arg(&path), &format!("{name}: bash -n {}", f.path));
            n += 1;
        }
    }
    assert!(n > 0);
    eprintln!("sh -n / bash -n: {n} scripts");
}

#[test]
fn mongosh_scripts_parse() {
    if !common::have("node") {
        return;
    }
    let mut n = 0;
    for (name, _, files) in rendered_with_secrets() {
        let dir = common::temp_dir(&format!("data-js-{name}"));
        for (i, f) in files.iter().filter(|f| f.kind == Kind::MongoInit && f.path.ends_with(".js")).enumerate() {
            // mongosh scripts are plain JavaScript with a global `db`: node parses them as scripts.
            let path = dir.join(format!("init-{i}.js"));
            std::fs::write(&path, &f.content).unwrap();
            common::run_ok(Command::new("node").arg("--check").arg(&path), &format!("{name}: node --check {}", f.path));
            n += 1;
        }
    }
    assert!(n > 0, "no example has a MongoDB server");
    eprintln!("node --check: {n} scripts");
}

#[test]
fn minio_policies_are_json() {
    let mut n = 0;
    for (name, model, files) in rendered_with_secrets() {
        for f in files.iter().filter(|f| f.kind == Kind::MinioInit) {
            let mut rest = f.content.as_str();
            while let Some(start) = rest.find("<<'JSON'\n") {
                let body = &rest[start + 9..];
                let end = body.find("\nJSON\n").expect("heredoc end");
                let doc: serde_json::Value = serde_json::from_str(&body[..end]).expect("policy JSON");
                let resources = doc["Statement"][0]["Resource"].as_array().expect("resources");
                assert!(!resources.is_empty());
                for r in resources {
                    let bucket = r.as_str().unwrap().trim_start_matches("arn:aws:s3:::").trim_end_matches("/*");
                    assert!(model.buckets.iter().any(|b| b.name == bucket), "{name}: unknown bucket {bucket}");
                }
                n += 1;
                rest = &body[end..];
            }
            for b in &model.buckets {
                assert!(f.content.contains(&format!("mc mb --ignore-existing hearth/{}\n", b.name)));
            }
        }
    }
    assert!(n > 0);
}

/// Proxmox section config: `type: id` then tab-indented `key value` lines.
fn sections(text: &str) -> Vec<(String, String, BTreeMap<String, String>)> {
    let mut out: Vec<(String, String, BTreeMap<String, String>)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(prop) = line.strip_prefix('\t') {
            let (k, v) = prop.split_once(' ').expect("key value");
            let last = out.last_mut().expect("property before a section");
            assert!(last.2.insert(k.to_string(), v.to_string()).is_none(), "duplicate key {k}");
        } else {
            let (kind, id) = line.split_once(": ").expect("section header");
            out.push((kind.to_string(), id.to_string(), BTreeMap::new()));
        }
    }
    out
}

#[test]
fn pbs_sections() {
    let mut jobs = 0;
    for (name, model, files) in rendered_with_secrets() {
        for f in files.iter().filter(|f| f.path == "/etc/hearth/pbs/jobs.cfg") {
            let storage =
                files.iter().find(|s| s.machine == f.machine && s.path == "/etc/hearth/pbs/storage.cfg").unwrap();
            let storages = sections(&storage.content);
            for (kind, id, props) in &storages {
                assert_eq!(kind, "pbs");
                for key in ["datastore", "server", "content", "username", "fingerprint"] {
                    assert!(props.contains_key(key), "{name}: storage {id} lacks {key}");
                }
                let pw =
                    files.iter().find(|p| p.machine == f.machine && p.path == format!("/etc/pve/priv/storage/{id}.pw"));
                assert!(pw.is_some_and(|p| p.kind == Kind::EnvSecret), "{name}: no password file for {id}");
            }
            for (kind, id, props) in sections(&f.content) {
                assert_eq!(kind, "vzdump");
                let store = &props["storage"];
                assert!(storages.iter().any(|(_, s, _)| s == store), "{name}: job {id} uses unknown storage {store}");
                for id in props["vmid"].split(',') {
                    let id: u32 = id.parse().expect("vmid");
                    assert!(model.backups.guests.iter().any(|g| g.id == id));
                }
                for keep in props["prune-backups"].split(',') {
                    let (k, v) = keep.split_once('=').unwrap();
                    assert!(k.starts_with("keep-"));
                    v.parse::<u32>().unwrap();
                }
                assert!(!props["schedule"].is_empty());
                jobs += 1;
            }
        }
    }
    assert!(jobs > 0, "no example backs up guests to PBS");
}

#[test]
fn systemd_units_verify() {
    if !common::have("systemd-analyze") || !common::have("restic") {
        return;
    }
    let mut n = 0;
    for (name, _, files) in rendered_with_secrets() {
        let units: Vec<&File> = files
            .iter()
            .filter(|f| f.kind == Kind::SystemdUnit && (f.path.ends_with(".service") || f.path.ends_with(".timer")))
            .collect();
        let mut machines: BTreeMap<&str, Vec<&File>> = BTreeMap::new();
        for u in units {
            machines.entry(u.machine.as_str()).or_default().push(u);
        }
        for (machine, units) in machines {
            // One flat folder per machine: a timer finds its service next to it.
            let dir = common::temp_dir(&format!("data-units-{name}-{machine}"));
            let mut paths = Vec::new();
            for u in &units {
                let p = dir.join(Path::new(&u.path).file_name().unwrap());
                std::fs::write(&p, &u.content).unwrap();
                paths.push(p);
            }
            let out = Command::new("systemd-analyze").arg("verify").arg("--man=no").args(&paths).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            // Accepted: nothing. A missing EnvironmentFile is only noticed when a unit starts, so
            // verify does not mention it; any other message is a finding.
            let findings: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            assert!(out.status.success() && findings.is_empty(), "{name}/{machine}: systemd-analyze verify:\n{stderr}");
            n += units.len();
        }
    }
    assert!(n > 0);
    eprintln!("systemd-analyze verify: {n} units");
}

static PORTS: AtomicU32 = AtomicU32::new(0);

/// A loopback port unlikely to be taken: per process and per call.
fn free_port() -> u16 {
    let base = 20000 + (std::process::id() % 20000);
    (base + PORTS.fetch_add(1, Ordering::SeqCst)) as u16
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn redis_server_loads_config() {
    if !common::have("redis-server") || !common::have("redis-cli") {
        return;
    }
    let mut n = 0;
    for (name, model, files) in rendered_with_secrets() {
        let tree = common::write_tree(&files, &common::temp_dir(&format!("data-redis-{name}")));
        for f in files.iter().filter(|f| f.kind == Kind::Redis) {
            let folder = Path::new(&f.path).parent().unwrap();
            let secret = tree.join(&f.machine).join(folder.strip_prefix("/").unwrap()).join("secret.conf");
            assert!(secret.exists(), "{name}: no secret.conf beside {}", f.path);
            let dir = common::temp_dir(&format!("data-redis-run-{name}-{n}"));
            // The include and the data dir name paths on the server, which redis opens while it
            // reads the file (before command-line options apply): the test points the include at
            // the rendered copy and the dir at its temp folder; port and bind come from the
            // command line.
            let mut conf = String::new();
            for line in f.content.lines() {
                if line.starts_with("include ") {
                    conf.push_str(&format!("include {}\n", secret.display()));
                } else if line.starts_with("dir ") {
                    conf.push_str(&format!("dir {}\n", dir.display()));
                } else {
                    conf.push_str(line);
                    conf.push('\n');
                }
            }
            let conf_path = dir.join("redis.conf");
            std::fs::write(&conf_path, conf).unwrap();
            let port = free_port().to_string();
            let child = Command::new("redis-server")
                .arg(&conf_path)
                .args(["--port", &port, "--bind", "127.0.0.1", "--dir"])
                .arg(&dir)
                .args(["--daemonize", "no", "--logfile", ""])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("redis-server");
            let mut child = Killed(child);
            let server = model.services.iter().find(|(_, s)| s.on.name() == f.machine).map(|(n, _)| n.clone());
            let server = model
                .services
                .keys()
                .find(|s| f.content.contains(&format!("# Redis server `{s}`")))
                .cloned()
                .or(server)
                .unwrap();
            let password = test_value(&format!("secret:{server}-password"));
            let cli = |args: &[&str]| {
                Command::new("redis-cli")
                    .args(["-h", "127.0.0.1", "-p", &port, "-a", &password, "--no-auth-warning"])
                    .args(args)
                    .output()
                    .unwrap()
            };
            let mut pong = String::new();
            for _ in 0..100 {
                if let Ok(Some(status)) = child.0.try_wait() {
                    let mut err = String::new();
                    use std::io::Read;
                    if let Some(mut o) = child.0.stdout.take() {
                        let _ = o.read_to_string(&mut err);
                    }
                    if let Some(mut o) = child.0.stderr.take() {
                        let _ = o.read_to_string(&mut err);
                    }
                    panic!("{name}: redis-server exited ({status}) with {}:\n{err}", f.path);
                }
                pong = String::from_utf8_lossy(&cli(&["ping"]).stdout).trim().to_string();
                if pong == "PONG" {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            assert_eq!(pong, "PONG", "{name}: redis-server with {} does not answer", f.path);
            // Without the password it must refuse.
            let anon = Command::new("redis-cli").args(["-h", "127.0.0.1", "-p", &port, "ping"]).output().unwrap();
            assert!(
                String::from_utf8_lossy(&anon.stdout).contains("NOAUTH"),
                "{name}: redis answers without a password"
            );
            let dbs = String::from_utf8_lossy(&cli(&["config", "get", "databases"]).stdout).to_string();
            let highest = model.redis_dbs.iter().filter(|d| d.server == server).map(|d| d.db).max().unwrap_or(0);
            let count: u32 = dbs.lines().nth(1).unwrap().trim().parse().unwrap();
            assert!(count > highest, "{name}: databases {count} but db {highest} is allocated");
            redis_exporter_reaches(&files, &f.machine, &port);
            let _ = cli(&["shutdown", "nosave"]);
            drop(child);
            n += 1;
        }
    }
    assert!(n > 0);
    eprintln!("redis-server: {n} configs");
}

/// Debian's redis exporter with the environment Hearth renders for it on `machine` (if the
/// server there has a native one) reaches the test server on loopback `port`.
fn redis_exporter_reaches(files: &[File], machine: &str, port: &str) {
    let Some(env) = files.iter().find(|e| e.machine == machine && e.path == "/etc/default/prometheus-redis-exporter")
    else {
        return;
    };
    if !common::have("prometheus-redis-exporter") {
        return;
    }
    let addr = ("REDIS_ADDR", format!("redis://127.0.0.1:{port}"));
    let metrics = exporters::scrape("prometheus-redis-exporter", &env.content, &[addr], free_port());
    assert!(exporters::is_one(&metrics, "redis_up"), "{machine}: the redis exporter did not reach the server");
}

/// Debian's PostgreSQL exporter with the environment Hearth renders for it on `machine` logs
/// into `database` of the test cluster (its socket in `socket`) and reads its statistics.
fn postgres_exporter_reaches(files: &[File], machine: &str, socket: &Path, database: &str) {
    let Some(env) =
        files.iter().find(|e| e.machine == machine && e.path == "/etc/default/prometheus-postgres-exporter")
    else {
        return;
    };
    if !common::have("prometheus-postgres-exporter") {
        return;
    }
    // The rendered URI names the server's address; the test cluster listens on a socket only,
    // which a URI cannot name, so the exporter gets the same login as a key-value string
    // (`DATA_SOURCE_NAME` takes precedence over `DATA_SOURCE_URI`).
    let vars = exporters::variables(&env.content, &[]);
    let var = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    assert!(var("DATA_SOURCE_URI").ends_with(&format!(":5432/{database}?sslmode=disable")), "{}", env.content);
    let dsn = format!(
        "host={} port=5432 dbname={database} sslmode=disable user={} password={}",
        socket.display(),
        var("DATA_SOURCE_USER"),
        var("DATA_SOURCE_PASS")
    );
    let metrics =
        exporters::scrape("prometheus-postgres-exporter", &env.content, &[("DATA_SOURCE_NAME", dsn)], free_port());
    assert!(exporters::is_one(&metrics, "pg_up"), "{machine}: the PostgreSQL exporter did not log in:\n{metrics}");
    assert!(metrics.contains("pg_stat_database_xact_commit"), "{machine}: no database statistics:\n{metrics}");
}

/// A throwaway PostgreSQL cluster on a Unix socket in a temp folder; stopped on drop.
struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    root: bool,
}

impl Cluster {
    fn as_postgres(&self, program: &Path) -> Command {
        if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn admin_psql(&self) -> String {
        let psql = self.bin.join("psql");
        let prefix = if self.root { "runuser -u postgres -- " } else { "" };
        format!("{prefix}{} -h {} -p 5432 -U postgres -d postgres", psql.display(), self.dir.display())
    }

    fn query(&self, sql: &str) -> String {
        let mut c = self.as_postgres(&self.bin.join("psql"));
        c.arg("-h").arg(&self.dir).args(["-p", "5432", "-U", "postgres", "-d", "postgres", "-XAtq", "-c", sql]);
        common::run_ok(&mut c, sql)
    }

    fn connect(&self, user: &str, password: &str, database: &str) -> std::process::Output {
        Command::new(self.bin.join("psql"))
            .arg("-h")
            .arg(&self.dir)
            .args(["-p", "5432", "-U", user, "-d", database, "-XAtq", "-c", "select 1"])
            .env("PGPASSWORD", password)
            .output()
            .unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut c = self.as_postgres(&self.bin.join("pg_ctl"));
        let _ = c.arg("-D").arg(self.dir.join("data")).args(["-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    versions.sort();
    versions.into_iter().rev().map(|v| v.join("bin")).find(|b| b.join("initdb").exists())
}

#[test]
fn postgres_init_runs_on_a_real_cluster() {
    if !common::have("psql") {
        return;
    }
    let Some(bin) = postgres_bin() else {
        common::unavailable("no initdb under /usr/lib/postgresql");
        return;
    };
    let root = is_root();
    let mut n = 0;
    for (name, model, files) in rendered_with_secrets() {
        let tree = common::write_tree(&files, &common::temp_dir(&format!("data-pg-{name}")));
        for init in files.iter().filter(|f| f.kind == Kind::PostgresInit && f.path.ends_with("/init.sql")) {
            let folder = Path::new(&init.path).parent().unwrap();
            let local = tree.join(&init.machine).join(folder.strip_prefix("/").unwrap());
            let hba = std::fs::read_to_string(local.join("pg_hba.conf")).unwrap();
            let server = model
                .services
                .keys()
                .find(|s| init.content.starts_with(&format!("-- PostgreSQL server `{s}`")))
                .unwrap()
                .clone();
            let dbs: Vec<_> = model
                .databases
                .iter()
                .filter(|d| d.server == server && d.engine == hearth_model::model::Engine::Postgres)
                .collect();

            let dir = std::env::temp_dir().join(format!("hearth-pg-{}-{name}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            if root {
                common::run_ok(Command::new("chown").arg("postgres:postgres").arg(&dir), "chown");
            }
            let cluster = Cluster { dir: dir.clone(), bin: bin.clone(), root };
            let mut initdb = cluster.as_postgres(&bin.join("initdb"));
            initdb.arg("-D").arg(dir.join("data")).args([
                "-U",
                "postgres",
                "--auth-local=peer",
                "--auth-host=reject",
                "-N",
            ]);
            common::run_ok(&mut initdb, "initdb");
            // The rendered rules, then password logins over the socket for the consumers (the
            // rendered `host` lines name their real machines). Without root, `postgres` cannot be
            // reached by peer, so it is trusted on the socket instead.
            let mut test_hba = String::new();
            if !root {
                test_hba.push_str("local all postgres trust\n");
            }
            test_hba.push_str(&hba);
            test_hba.push_str("local all all scram-sha-256\n");
            let hba_path = dir.join("data/hearth_hba.conf");
            std::fs::write(&hba_path, test_hba).unwrap();
            if root {
                common::run_ok(Command::new("chown").arg("postgres:postgres").arg(&hba_path), "chown");
            }
            let mut start = cluster.as_postgres(&bin.join("pg_ctl"));
            start.arg("-D").arg(dir.join("data")).arg("-l").arg(dir.join("data/log")).args(["-w", "-o"]).arg(format!(
                "-c listen_addresses='' -k {} -p 5432 -c hba_file={}",
                dir.display(),
                hba_path.display()
            ));
            start.arg("start");
            let out = start.output().unwrap();
            assert!(
                out.status.success(),
                "pg_ctl start: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(dir.join("data/log")).unwrap_or_default()
            );
            assert_eq!(cluster.query("select count(*) from pg_hba_file_rules where error is not null"), "0\n");

            for round in 1..=2 {
                let mut apply = Command::new("sh");
                apply.arg(local.join("apply.sh")).env("HEARTH_PG_DIR", &local).env("HEARTH_PSQL", cluster.admin_psql());
                common::run_ok(&mut apply, &format!("{name}: apply.sh of `{server}`, run {round}"));
            }
            let roles = cluster.query("select rolname from pg_roles order by 1");
            let databases = cluster.query("select datname from pg_database order by 1");
            for d in &dbs {
                assert!(roles.lines().any(|r| r == d.user), "{name}: role {} missing", d.user);
                assert!(databases.lines().any(|r| r == d.name), "{name}: database {} missing", d.name);
                if d.monitor {
                    postgres_exporter_reaches(&files, &init.machine, &dir, &d.name);
                    // An exporter's login: `pg_monitor`, owner of nothing, no superuser.
                    let role = cluster.query(&format!(
                        "select pg_has_role('{0}', 'pg_monitor', 'member'), (select rolsuper from pg_roles where rolname = '{0}'), \
                         (select count(*) from pg_database where pg_get_userbyid(datdba) = '{0}')",
                        d.user
                    ));
                    assert_eq!(role.trim(), "t|f|0", "{name}: monitoring login {}", d.user);
                } else {
                    let owner = cluster.query(&format!(
                        "select pg_get_userbyid(datdba) from pg_database where datname = '{}'",
                        d.name
                    ));
                    assert_eq!(owner.trim(), d.user, "{name}: owner of {}", d.name);
                }
                let password = test_value(&format!("secret:{}", d.password_secret));
                let own = cluster.connect(&d.user, &password, &d.name);
                assert!(
                    own.status.success(),
                    "{name}: {} cannot connect to {}: {}",
                    d.user,
                    d.name,
                    String::from_utf8_lossy(&own.stderr)
                );
                let wrong = cluster.connect(&d.user, "wrong-password", &d.name);
                assert!(!wrong.status.success(), "{name}: {} connects with a wrong password", d.user);
                // A superuser (Immich's role, as its catalog entry asks) passes `CONNECT`;
                // pg_hba.conf still admits it over the network to its own database only.
                // The maintenance database keeps `CONNECT` for `PUBLIC` (the server's own tools
                // use it): pg_hba.conf admits only the monitoring login to it over the network.
                for other in dbs.iter().filter(|o| o.user != d.user && !d.superuser && !o.monitor) {
                    let theirs = cluster.connect(&d.user, &password, &other.name);
                    assert!(!theirs.status.success(), "{name}: {} can connect to {}", d.user, other.name);
                    assert!(
                        String::from_utf8_lossy(&theirs.stderr).contains("permission denied"),
                        "{name}: {} to {}: {}",
                        d.user,
                        other.name,
                        String::from_utf8_lossy(&theirs.stderr)
                    );
                }
            }
            drop(cluster);
            n += 1;
        }
    }
    assert!(n > 0);
    eprintln!("postgres: {n} init.sql applied twice on a real cluster");
}

/// No example replicates, so one gets two replications of the same dataset added.
#[test]
fn zfs_replication() {
    let (_, mut model) = common::examples().into_iter().find(|(n, _)| n == "two-node-docker-pbs").unwrap();
    for to in ["srv-2:rpool/replica/appdata", "10.10.10.99:tank/appdata"] {
        model.backups.replication.push(hearth_model::model::Replication {
            dataset: "ssd/appdata".to_string(),
            to: to.to_string(),
            at: "*-*-* 03:00:00".to_string(),
        });
    }
    let files = data_files(&model, None);
    let units: Vec<&File> = files.iter().filter(|f| f.path.contains("hearth-zfs-replicate-")).collect();
    assert_eq!(units.len(), 4, "a service and a timer per replication");
    assert!(units.iter().all(|u| u.machine == "srv-1"));
    let services: Vec<&&File> = units.iter().filter(|u| u.path.ends_with(".service")).collect();
    assert!(services[0].content.contains("replicate.sh ssd/appdata 10.10.10.99 tank/appdata\n"));
    assert!(services[1].content.contains("replicate.sh ssd/appdata 10.10.10.12 rpool/replica/appdata\n"));
    let script = files.iter().find(|f| f.machine == "srv-1" && f.path == "/etc/hearth/zfs/replicate.sh").unwrap();
    if common::have("systemd-analyze") && common::have("sh") {
        let dir = common::temp_dir("data-zfs-replication");
        let mut paths = Vec::new();
        for u in &units {
            let p = dir.join(Path::new(&u.path).file_name().unwrap());
            std::fs::write(&p, &u.content).unwrap();
            paths.push(p);
        }
        let out = Command::new("systemd-analyze").arg("verify").arg("--man=no").args(&paths).output().unwrap();
        assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
        let sh = dir.join("replicate.sh");
        std::fs::write(&sh, &script.content).unwrap();
        common::run_ok(Command::new("sh").arg("-n").arg(&sh), "sh -n replicate.sh");
    }
}

/// The datasets script honours the properties the spec states: created with all of them, an
/// existing dataset set to those ZFS can change (never `encryption`), and the script parses.
#[test]
fn zfs_dataset_properties() {
    let (_, mut model) = common::examples().into_iter().find(|(n, _)| n == "two-node-docker-pbs").unwrap();
    let pool = model.hosts.get_mut("srv-1").and_then(|h| h.pools.get_mut("ssd")).unwrap();
    let props = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
    pool.dataset_properties.insert("appdata".into(), props(&[("compression", "lz4"), ("recordsize", "16K")]));
    pool.datasets.push("secure".into());
    pool.dataset_properties.insert(
        "secure".into(),
        props(&[("encryption", "on"), ("keyformat", "raw"), ("keylocation", "file:///etc/zfs/keys/ssd-secure.key")]),
    );
    let files = data_files(&model, None);
    let script = files.iter().find(|f| f.machine == "srv-1" && f.path == "/etc/hearth/zfs/datasets.sh").unwrap();
    let lines: Vec<&str> = script.content.lines().filter(|l| l.contains("ssd/")).collect();
    assert_eq!(
        lines,
        [
            "if zfs list -H -o name ssd/appdata >/dev/null 2>&1; then zfs set compression=lz4 recordsize=16K ssd/appdata; else zfs create -p -o compression=lz4 -o recordsize=16K ssd/appdata; fi",
            "ensure ssd/backups",
            // `keylocation` can change afterwards; `encryption` and `keyformat` cannot.
            "if zfs list -H -o name ssd/secure >/dev/null 2>&1; then zfs set keylocation=file:///etc/zfs/keys/ssd-secure.key ssd/secure; else zfs create -p -o encryption=on -o keyformat=raw -o keylocation=file:///etc/zfs/keys/ssd-secure.key ssd/secure; fi",
        ]
    );
    if common::have("sh") {
        let dir = common::temp_dir("data-zfs-datasets");
        let sh = dir.join("datasets.sh");
        std::fs::write(&sh, &script.content).unwrap();
        common::run_ok(Command::new("sh").arg("-n").arg(&sh), "sh -n datasets.sh");
    }
}

/// A rendered backup script run for real against a temporary restic repository: the paths of
/// the machine (env files, the backed-up folder, the textfile folder) are rewritten to temp
/// folders; restic, its flags and the metric line are the rendered ones.
#[test]
fn restic_script_runs() {
    if !common::have("restic") || !common::have("sh") {
        return;
    }
    let (_, model) = common::examples().into_iter().find(|(n, _)| n == "minimal").unwrap();
    let files = data_files(&model, None);
    let job = &model.backups.jobs[0];
    let script = files.iter().find(|f| f.path == format!("/etc/hearth/backup/{}.sh", job.service)).unwrap();
    let dir = common::temp_dir("data-restic-run");
    let (env, data, textfile) = (dir.join("env"), dir.join("data"), dir.join("textfile"));
    for d in [&env, &data] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(data.join("file.txt"), "hello").unwrap();
    let policy = &model.backups.policies[&job.policy];
    for repo in &policy.to {
        std::fs::write(
            env.join(format!("{repo}.env")),
            format!("RESTIC_REPOSITORY='{}'\nRESTIC_PASSWORD='test'\n", dir.join(format!("repo-{repo}")).display()),
        )
        .unwrap();
    }
    let mut content = script.content.replace("/etc/hearth/restic/", &format!("{}/", env.display()));
    content = content.replace("/var/lib/prometheus/node-exporter", &textfile.display().to_string());
    for p in &job.paths {
        content = content.replace(p.as_str(), &data.display().to_string());
    }
    let path = dir.join("backup.sh");
    std::fs::write(&path, content).unwrap();
    let step = |s: &str| {
        let mut c = Command::new("sh");
        c.arg(&path).arg(s).env("XDG_CACHE_HOME", dir.join("cache"));
        common::run_ok(&mut c, &format!("backup.sh {s}"));
    };
    step("backup");
    step("backup");
    step("metric");
    // Pruning is the repository's own script's, once per repository.
    for repo in &policy.to {
        let prune = files.iter().find(|f| f.path == format!("/etc/hearth/backup/repository-{repo}.sh")).unwrap();
        let local = dir.join(format!("repository-{repo}.sh"));
        std::fs::write(&local, prune.content.replace("/etc/hearth/restic/", &format!("{}/", env.display()))).unwrap();
        let mut c = Command::new("sh");
        c.arg(&local).arg("prune").env("XDG_CACHE_HOME", dir.join("cache"));
        common::run_ok(&mut c, &format!("repository-{repo}.sh prune"));
    }
    let metric = std::fs::read_to_string(textfile.join(format!("hearth-backup-{}.prom", job.service))).unwrap();
    let line = metric.lines().find(|l| !l.starts_with('#')).unwrap();
    let (name, value) = line.split_once(' ').unwrap();
    assert_eq!(name, format!("hearth_backup_last_success_timestamp_seconds{{job_name=\"{}\"}}", job.service));
    value.parse::<u64>().unwrap();
    for repo in &policy.to {
        let snapshots = common::run_ok(
            Command::new("restic")
                .args(["snapshots", "--json", "--tag", &job.service])
                .env("RESTIC_REPOSITORY", dir.join(format!("repo-{repo}")))
                .env("RESTIC_PASSWORD", "test")
                .env("XDG_CACHE_HOME", dir.join("cache")),
            "restic snapshots",
        );
        let list: serde_json::Value = serde_json::from_str(&snapshots).unwrap();
        // Two runs on one day: `forget` with the policy's keep-daily leaves one.
        assert_eq!(list.as_array().unwrap().len(), 1, "{repo}: {snapshots}");
    }
}

/// No other renderer writes to one of this group's paths (the full render keeps one file per
/// place, so a clash would silently drop one).
#[test]
fn no_path_clashes_with_other_renderers() {
    for (name, model) in common::examples() {
        let all = common::render(&model);
        for f in data_files(&model, None) {
            let full = all.iter().find(|a| a.machine == f.machine && a.path == f.path);
            assert_eq!(full, Some(&f), "{name}: {}:{} is also written by another renderer", f.machine, f.path);
        }
    }
}

/// Immich's migrations manage pgvecto.rs and earthdistance: its role is a superuser and the
/// extensions are created in its database (the real-cluster test above runs the SQL).
#[test]
fn immich_database_gets_its_superuser_and_extensions() {
    let mut checked = 0;
    for (name, model) in common::examples() {
        let files = data_files(&model, None);
        for d in &model.databases {
            let immich = d.consumers.iter().any(|c| model.services[c].app.as_deref() == Some("immich"));
            if !immich {
                continue;
            }
            let server = &model.services[&d.server];
            let init = files
                .iter()
                .find(|f| f.machine == server.on.name() && f.kind == Kind::PostgresInit && f.path.ends_with("init.sql"))
                .unwrap_or_else(|| panic!("{name}: no init.sql for {}", d.server));
            assert!(
                init.content.contains(&format!("ALTER ROLE \"{}\" WITH LOGIN SUPERUSER PASSWORD", d.user)),
                "{name}: {}",
                init.content
            );
            let after = init.content.split(&format!("\\connect \"{}\"\n", d.name)).nth(1).unwrap_or_default();
            for e in ["vectors", "earthdistance"] {
                assert!(after.contains(&format!("CREATE EXTENSION IF NOT EXISTS \"{e}\" CASCADE;")), "{name}: {e}");
            }
            checked += 1;
        }
    }
    assert!(checked > 0);
}

/// A native server's init script runs to the end with MinIO's client on the PATH (a stand-in
/// `mcli` that records its arguments here) and no `HEARTH_MC`: its `mc` function must call the
/// client, not itself (it did, and `sh` stopped at its recursion limit).
#[test]
fn native_minio_init_runs_the_client_on_the_path() {
    let mut n = 0;
    for (name, model, files) in rendered_with_secrets() {
        for f in files.iter().filter(|f| f.kind == Kind::MinioInit && !f.content.contains("docker exec")) {
            let dir = common::temp_dir(&format!("minio-init-{name}"));
            std::fs::create_dir_all(dir.join("bin")).unwrap();
            let client = dir.join("bin/mcli");
            std::fs::write(&client, "#!/bin/sh\necho \"$*\" >> \"$(dirname \"$0\")/../calls\"\n").unwrap();
            Command::new("chmod").arg("+x").arg(&client).status().unwrap();
            let credentials = files
                .iter()
                .find(|c| c.machine == f.machine && c.path == "/etc/hearth/minio/credentials.env")
                .expect("the server's credentials file");
            std::fs::write(dir.join("credentials.env"), &credentials.content).unwrap();
            std::fs::write(dir.join("init.sh"), &f.content).unwrap();
            let out = Command::new("sh")
                .arg(dir.join("init.sh"))
                .env("PATH", format!("{}:/usr/bin:/bin", dir.join("bin").display()))
                .env("HEARTH_MINIO_CREDENTIALS", dir.join("credentials.env"))
                .env_remove("HEARTH_MC")
                .output()
                .unwrap();
            assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
            let calls = std::fs::read_to_string(dir.join("calls")).unwrap_or_default();
            for b in &model.buckets {
                assert!(calls.contains(&format!("mb --ignore-existing hearth/{}", b.name)), "{name}: {calls}");
            }
            n += 1;
        }
    }
    assert!(n > 0, "no example has a native MinIO server");
}
