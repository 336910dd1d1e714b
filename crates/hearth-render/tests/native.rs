//! Native services get their files where their Debian package reads them, owned so the package's
//! user can read them, and the Debian daemons start with them.
//!
//! The path rule holds for every native service of every example (the catalog's `native:` entry
//! is the reference: `config` is what the package's unit reads). The daemons Debian packages —
//! PostgreSQL, Redis, Prometheus and Alertmanager — are started in temporary folders with the
//! rendered files: PostgreSQL with the rendered `conf.d` drop-in and `pg_hba.conf` accepts the
//! consumers over TCP from 127.0.0.1, `redis-server` reads `secret.conf` as its own non-root user,
//! Prometheus and Alertmanager start with the command line of the rendered `/etc/default` file.
//! Nothing is installed at runtime; without the binaries (or without root, which the user switch
//! needs) the daemon tests skip through `common::unavailable`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hearth_model::Model;
use hearth_model::model::Engine;
use hearth_render::{Context, File, Kind, SecretValues};
use hearth_spec::ast::Form;

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

fn render(model: &Model) -> Vec<File> {
    hearth_render::render(&Context { model, catalog: hearth_catalog::builtin(), secrets: Some(&TestSecrets) })
}

/// Every native service of every example that is not on NixOS, with its catalog native entry.
fn natives(model: &Model) -> Vec<(&str, &hearth_model::model::Service, &'static hearth_catalog::Native)> {
    let catalog = hearth_catalog::builtin();
    model
        .services
        .iter()
        .filter(|(_, s)| s.form == Form::Native && !model.is_nixos(s.on.name()))
        .filter_map(|(n, s)| {
            let native = s.app.as_deref().and_then(|a| catalog.get(a))?.native.as_ref()?;
            Some((n.as_str(), s, native))
        })
        .collect()
}

fn major(s: &hearth_model::model::Service) -> String {
    let tag = s.image.as_deref().and_then(hearth_catalog::image_tag).unwrap_or_default();
    tag.chars().take_while(char::is_ascii_digit).collect()
}

/// The files Hearth must write for a native service of these apps, where the package reads them.
fn expected_paths(app: &str, s: &hearth_model::model::Service, native: &hearth_catalog::Native) -> Vec<String> {
    let config = native.config.clone().unwrap_or_default().replace("{{ version }}", &major(s));
    match app {
        "loki" | "redis" | "mongodb" | "minio" => vec![config],
        "prometheus" => vec![config, "/etc/default/prometheus".into()],
        "alertmanager" => vec![config, "/etc/default/prometheus-alertmanager".into()],
        "postgresql" => {
            let dir = config.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
            vec![format!("{dir}/conf.d/hearth.conf")]
        }
        _ => vec![],
    }
}

#[test]
fn configs_land_where_the_package_reads_them() {
    let mut n = 0;
    for (name, model) in common::examples() {
        let files = render(&model);
        for (service, s, native) in natives(&model) {
            let app = s.app.as_deref().unwrap_or_default();
            // A PostgreSQL server without databases still needs to listen where its consumers are;
            // a Prometheus or Alertmanager that no monitoring role names is not configured.
            let role = match app {
                "prometheus" => model.monitoring.prometheus.as_deref() == Some(service),
                "alertmanager" => model.monitoring.alertmanager.as_deref() == Some(service),
                "loki" => model.monitoring.loki.as_deref() == Some(service),
                "minio" => true,
                _ => true,
            };
            if !role {
                continue;
            }
            for path in expected_paths(app, s, native) {
                assert!(
                    files.iter().any(|f| f.machine == s.on.name() && f.path == path),
                    "{name}: native `{service}` ({app}) gets no {}:{path}, where its package reads it; it has {:?}",
                    s.on.name(),
                    files
                        .iter()
                        .filter(|f| f.machine == s.on.name() && f.sources.contains(&format!("service/{service}")))
                        .map(|f| &f.path)
                        .collect::<Vec<_>>()
                );
                n += 1;
            }
        }
    }
    assert!(n > 0);
}

/// A file a native unit reads must be readable by the unit's user: world-readable, or owned by
/// that user (or its group). Files systemd itself reads for the unit (`EnvironmentFile=`: under
/// `/etc/default/`, or an `.env` file) are read as root.
#[test]
fn native_files_are_readable_by_their_user() {
    for (name, model) in common::examples() {
        let files = render(&model);
        for (service, s, native) in natives(&model) {
            let (Some(unit), Some(user)) = (&native.unit, &native.user) else { continue };
            for f in files.iter().filter(|f| f.machine == s.on.name()) {
                let read_by_unit = f.activation.iter().any(|a| {
                    matches!(a, hearth_render::Activation::Restart { unit: u } | hearth_render::Activation::Reload { unit: u } if u == unit)
                });
                if !read_by_unit || f.path.starts_with("/etc/default/") || f.path.ends_with(".env") {
                    continue;
                }
                let readable = f.mode & 0o004 != 0
                    || (f.owner == *user && f.mode & 0o400 != 0)
                    || (f.group == *user && f.mode & 0o040 != 0);
                assert!(
                    readable,
                    "{name}: {}:{} ({:o} {}:{}) is read by `{unit}` of `{service}`, which runs as `{user}`",
                    f.machine, f.path, f.mode, f.owner, f.group
                );
            }
        }
    }
}

/// Native services whose package makes no data folder get it from Hearth's tmpfiles.d, owned by
/// the package's user.
#[test]
fn data_folders_exist_for_their_user() {
    const MAKE_NO_DATA: &[&str] = &["loki", "minio"];
    let mut n = 0;
    for (name, model) in common::examples() {
        let files = render(&model);
        for (service, s, native) in natives(&model) {
            let app = s.app.as_deref().unwrap_or_default();
            if !MAKE_NO_DATA.contains(&app) {
                continue;
            }
            let user = native.user.as_deref().unwrap();
            let data = s.volumes.iter().find(|v| v.name == "data").map(|v| v.source.clone()).unwrap();
            let tmpfiles = files
                .iter()
                .find(|f| f.machine == s.on.name() && f.kind == Kind::Tmpfiles)
                .unwrap_or_else(|| panic!("{name}: no tmpfiles.d on {} for `{service}`", s.on.name()));
            assert!(
                tmpfiles.content.contains(&format!("d {data} 0750 {user} {user} -\n")),
                "{name}: `{service}` data folder {data} is not made for `{user}`:\n{}",
                tmpfiles.content
            );
            n += 1;
        }
    }
    assert!(n > 0);
}

/// `/etc/default/minio` sets what MinIO's unit refuses to start without, from the spec.
#[test]
fn minio_default_file() {
    let mut n = 0;
    for (name, model) in common::examples() {
        let files = render(&model);
        for (service, s, _) in natives(&model).into_iter().filter(|(_, s, _)| s.app.as_deref() == Some("minio")) {
            let f = files.iter().find(|f| f.machine == s.on.name() && f.path == "/etc/default/minio").unwrap();
            assert_eq!(f.kind, Kind::EnvSecret, "{name}: it holds the root password");
            let env = source_env(&f.content);
            let data = s.volumes.iter().find(|v| v.name == "data").map(|v| v.source.clone()).unwrap();
            assert_eq!(env("MINIO_VOLUMES"), data, "{name}: `{service}`");
            let api = s.port("api").unwrap().listen;
            let console = s.port("console").unwrap().listen;
            assert_eq!(env("MINIO_OPTS"), format!("--address :{api} --console-address :{console}"));
            assert_eq!(env("MINIO_ROOT_PASSWORD"), test_value(&format!("secret:{service}-root-password")));
            assert!(!env("MINIO_ROOT_USER").is_empty());
            n += 1;
        }
    }
    assert!(n > 0);
}

/// A variable of an environment file, as `sh` reads it (the quoting systemd also accepts).
fn source_env(content: &str) -> impl Fn(&str) -> String {
    let content = content.to_string();
    move |var: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("set -a; eval \"$1\"; printf %s \"${var}\""))
            .arg("sh")
            .arg(&content)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// `mongod.conf` turns authorization on, listens where the consumers reach it and keeps data in
/// the data folder; the init creates the root it logs in as when it does not exist yet.
#[test]
fn mongod_conf_and_root() {
    if !common::have("python3") {
        return;
    }
    let mut n = 0;
    for (name, model) in common::examples() {
        let files = render(&model);
        let dir = common::write_tree(&files, &common::temp_dir(&format!("native-mongo-{name}")));
        for (service, s, _) in natives(&model).into_iter().filter(|(_, s, _)| s.app.as_deref() == Some("mongodb")) {
            let path = dir.join(s.on.name()).join("etc/mongod.conf");
            let out = Command::new("python3")
                .args(["-c", "import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}: mongod.conf of `{service}`: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let y: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(y["security"]["authorization"], "enabled", "{name}");
            let data = s.volumes.iter().find(|v| v.name == "data").map(|v| v.source.clone()).unwrap();
            assert_eq!(y["storage"]["dbPath"], serde_json::Value::from(data));
            assert_eq!(y["net"]["port"], s.port("mongodb").unwrap().listen);
            let bind = y["net"]["bindIp"].as_str().unwrap();
            let address = model.machine_address(s.on.name()).unwrap().to_string();
            assert!(bind.split(',').any(|b| b == address || b == "0.0.0.0"), "{name}: bindIp {bind}");
            let init = files.iter().find(|f| f.machine == s.on.name() && f.path.ends_with("/mongo/init.js"));
            if let Some(init) = init {
                assert!(
                    init.content.contains(
                        "createUser({ user: rootUser, pwd: rootPassword, roles: [{ role: 'root', db: 'admin' }] })"
                    ),
                    "{name}: init.js never creates the root it logs in as"
                );
            }
            n += 1;
        }
    }
    assert!(n > 0);
}

// ---- Real daemons -------------------------------------------------------------------------------

static PORTS: AtomicU32 = AtomicU32::new(0);

fn free_port() -> u16 {
    let base = 30000 + (std::process::id() % 15000);
    (base + PORTS.fetch_add(1, Ordering::SeqCst)) as u16
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Root is needed to run a daemon as its package's user; without it the test says so and skips.
fn can_switch_user() -> bool {
    is_root() || common::unavailable("not root: cannot run daemons as their package's user")
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Places a rendered file under `dir` with its rendered owner, group and mode.
fn place(dir: &Path, f: &File, content: &str) -> PathBuf {
    let path = dir.join(f.path.trim_start_matches('/'));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
    common::run_ok(Command::new("chown").arg(format!("{}:{}", f.owner, f.group)).arg(&path), "chown");
    common::run_ok(Command::new("chmod").arg(format!("{:o}", f.mode)).arg(&path), "chmod");
    path
}

/// A fresh folder every user can traverse (the daemons run as their own users).
fn open_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hearth-native-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    common::run_ok(Command::new("chmod").arg("0755").arg(&dir), "chmod");
    dir
}

fn wait_for(what: &str, child: &mut Killed, mut ok: impl FnMut() -> bool) {
    for _ in 0..150 {
        if let Ok(Some(status)) = child.0.try_wait() {
            let mut err = String::new();
            if let Some(mut o) = child.0.stderr.take() {
                let _ = o.read_to_string(&mut err);
            }
            panic!("{what} exited ({status}):\n{err}");
        }
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} does not answer");
}

/// A plain HTTP request to 127.0.0.1; the status code and body, or `None` when nothing answers.
fn http(port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default()))
}

/// The `ARGS` of a Debian `/etc/default` file, split as systemd splits `$ARGS` (on whitespace).
fn args_of(f: &File) -> Vec<String> {
    let args = source_env(&f.content)("ARGS");
    args.split_whitespace().map(str::to_string).collect()
}

/// Rewrites `--flag=value` flags of a command line: `with(flag)` gives a replacement value.
fn rewrite(args: &[String], with: impl Fn(&str) -> Option<String>) -> Vec<String> {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((flag, _)) => with(flag).map_or_else(|| a.clone(), |v| format!("{flag}={v}")),
            None => a.clone(),
        })
        .collect()
}

#[test]
fn prometheus_starts_with_the_rendered_flags() {
    if !common::have("prometheus") || !can_switch_user() {
        return;
    }
    let mut n = 0;
    for (name, model) in common::examples() {
        let files = render(&model);
        for (service, s, _) in natives(&model).into_iter().filter(|(_, s, _)| s.app.as_deref() == Some("prometheus")) {
            let machine = s.on.name();
            let default = files
                .iter()
                .find(|f| f.machine == machine && f.path == "/etc/default/prometheus")
                .unwrap_or_else(|| panic!("{name}: native `{service}` gets no /etc/default/prometheus"));
            let args = args_of(default);
            let has = |flag: &str| args.iter().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
            assert!(
                args.contains(&format!("--storage.tsdb.retention.time={}", model.monitoring.retention)),
                "{name}: {args:?}"
            );
            let alloy = model.monitoring.agent.as_deref() == Some("alloy");
            assert_eq!(has("--web.enable-remote-write-receiver"), alloy, "{name}: {args:?}");
            // The rendered prometheus.yml scrapes the homelab's addresses: the daemon gets an empty
            // configuration instead, and the test checks what the flags do.
            let dir = open_dir(&format!("prometheus-{name}"));
            let config = dir.join("prometheus.yml");
            std::fs::write(&config, "global: {}\n").unwrap();
            let data = dir.join("data");
            std::fs::create_dir_all(&data).unwrap();
            common::run_ok(Command::new("chown").arg("prometheus:prometheus").arg(&data), "chown");
            let port = free_port();
            let args = rewrite(&args, |flag| match flag {
                "--config.file" => Some(config.display().to_string()),
                "--storage.tsdb.path" => Some(data.display().to_string()),
                "--web.listen-address" => Some(format!("127.0.0.1:{port}")),
                _ => None,
            });
            assert!(has("--config.file") && has("--storage.tsdb.path") && has("--web.listen-address"), "{args:?}");
            let child = Command::new("runuser")
                .args(["-u", "prometheus", "--", "prometheus"])
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut child = Killed(child);
            wait_for(&format!("{name}: prometheus {args:?}"), &mut child, || {
                http(port, "GET", "/-/ready").is_some_and(|(c, _)| c == 200)
            });
            let (_, flags) = http(port, "GET", "/api/v1/status/flags").unwrap();
            assert!(
                flags.contains(&format!("\"storage.tsdb.retention.time\":\"{}\"", model.monitoring.retention)),
                "{name}: {flags}"
            );
            // The receiver answers a bad write with 400; without the flag the path is 404.
            let (code, _) = http(port, "POST", "/api/v1/write").unwrap();
            assert_eq!(code == 404, !alloy, "{name}: POST /api/v1/write answered {code}");
            drop(child);
            let _ = std::fs::remove_dir_all(&dir);
            n += 1;
        }
    }
    assert!(n > 0);
}

#[test]
fn alertmanager_starts_with_the_rendered_files() {
    if !common::have("prometheus-alertmanager") || !can_switch_user() {
        return;
    }
    let mut n = 0;
    for (name, model) in common::examples() {
        let files = render(&model);
        for (service, s, _) in natives(&model).into_iter().filter(|(_, s, _)| s.app.as_deref() == Some("alertmanager"))
        {
            let machine = s.on.name();
            let default = files
                .iter()
                .find(|f| f.machine == machine && f.path == "/etc/default/prometheus-alertmanager")
                .unwrap_or_else(|| panic!("{name}: native `{service}` gets no /etc/default/prometheus-alertmanager"));
            let dir = open_dir(&format!("alertmanager-{name}"));
            // Every file the unit reads, placed with its owner and mode, paths moved under `dir`.
            let root = dir.join("root");
            let ours: Vec<&File> = files
                .iter()
                .filter(|f| {
                    f.machine == machine
                        && f.sources.contains(&format!("service/{service}"))
                        && (f.kind == Kind::Alertmanager || f.kind == Kind::EnvSecret)
                        && !f.path.starts_with("/etc/default/")
                })
                .collect();
            for f in &ours {
                let content = f.content.replace("/etc/prometheus/", &format!("{}/etc/prometheus/", root.display()));
                place(&root, f, &content);
            }
            common::run_ok(Command::new("chmod").args(["-R", "a+X"]).arg(&root), "chmod");
            let data = dir.join("data");
            std::fs::create_dir_all(&data).unwrap();
            common::run_ok(Command::new("chown").arg("prometheus:prometheus").arg(&data), "chown");
            let port = free_port();
            let args = rewrite(&args_of(default), |flag| match flag {
                "--config.file" => Some(format!("{}/etc/prometheus/alertmanager.yml", root.display())),
                "--storage.path" => Some(data.display().to_string()),
                "--web.listen-address" => Some(format!("127.0.0.1:{port}")),
                _ => None,
            });
            assert!(
                args.iter().any(|a| a == "--config.file=/etc/prometheus/alertmanager.yml")
                    || args.iter().any(|a| a.starts_with("--config.file=")),
                "{args:?}"
            );
            let child = Command::new("runuser")
                .args(["-u", "prometheus", "--", "prometheus-alertmanager"])
                .args(&args)
                // One instance: no gossip (nothing is sent anywhere).
                .arg("--cluster.listen-address=")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut child = Killed(child);
            wait_for(&format!("{name}: alertmanager {args:?}"), &mut child, || {
                http(port, "GET", "/-/ready").is_some_and(|(c, _)| c == 200)
            });
            let (_, status) = http(port, "GET", "/api/v2/status").unwrap();
            assert!(status.contains("route"), "{name}: {status}");
            drop(child);
            let _ = std::fs::remove_dir_all(&dir);
            n += 1;
        }
    }
    assert!(n > 0);
}

#[test]
fn redis_reads_its_secret_as_its_own_user() {
    if !common::have("redis-server") || !common::have("redis-cli") || !can_switch_user() {
        return;
    }
    let mut n = 0;
    for (name, model) in common::examples() {
        let files = render(&model);
        for f in files.iter().filter(|f| f.kind == Kind::Redis) {
            let folder = Path::new(&f.path).parent().unwrap();
            let secret = files
                .iter()
                .find(|o| o.machine == f.machine && Path::new(&o.path) == folder.join("secret.conf"))
                .unwrap();
            let server =
                model.services.keys().find(|s| f.content.contains(&format!("# Redis server `{s}`"))).cloned().unwrap();
            let s = &model.services[&server];
            let dir = open_dir(&format!("redis-{name}-{n}"));
            let secret_path = place(&dir, secret, &secret.content);
            let data = dir.join("data");
            std::fs::create_dir_all(&data).unwrap();
            // The user the server runs as: the package's `redis`, or the image's uid.
            let (user, group) = if s.form == Form::Docker { ("999", "999") } else { ("redis", "redis") };
            common::run_ok(Command::new("chown").arg(format!("{user}:{group}")).arg(&data), "chown");
            let mut conf = String::new();
            for line in f.content.lines() {
                if line.starts_with("include ") {
                    conf.push_str(&format!("include {}\n", secret_path.display()));
                } else if line.starts_with("dir ") {
                    conf.push_str(&format!("dir {}\n", data.display()));
                } else {
                    conf.push_str(line);
                    conf.push('\n');
                }
            }
            let conf_path = place(&dir, f, &conf);
            let port = free_port().to_string();
            let child = Command::new("setpriv")
                .args([&format!("--reuid={user}"), &format!("--regid={group}"), "--clear-groups", "redis-server"])
                .arg(&conf_path)
                .args(["--port", &port, "--bind", "127.0.0.1", "--daemonize", "no", "--logfile", ""])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut child = Killed(child);
            let password = test_value(&format!("secret:{server}-password"));
            wait_for(&format!("{name}: redis-server as {user} with {}", f.path), &mut child, || {
                let out = Command::new("redis-cli")
                    .args(["-h", "127.0.0.1", "-p", &port, "-a", &password, "--no-auth-warning", "ping"])
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).trim() == "PONG"
            });
            drop(child);
            let _ = std::fs::remove_dir_all(&dir);
            n += 1;
        }
    }
    assert!(n > 0);
}

fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    versions.sort();
    versions.into_iter().rev().map(|v| v.join("bin")).find(|b| b.join("initdb").exists())
}

fn as_postgres(program: &Path) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).arg(program);
    c
}

/// The rendered `conf.d` drop-in and `pg_hba.conf` on a real cluster, included the way Debian's
/// `postgresql.conf` includes `conf.d`: the consumers log in over TCP (from 127.0.0.1, standing in
/// for their machines' addresses) with the rendered passwords, a wrong password is refused.
#[test]
fn postgres_accepts_consumers_over_tcp() {
    if !common::have("psql") || !can_switch_user() {
        return;
    }
    let Some(bin) = postgres_bin() else {
        common::unavailable("no initdb under /usr/lib/postgresql");
        return;
    };
    let mut n = 0;
    for (name, model) in common::examples() {
        let files = render(&model);
        for (server, s, _) in natives(&model).into_iter().filter(|(_, s, _)| s.app.as_deref() == Some("postgresql")) {
            let machine = s.on.name();
            let dbs: Vec<_> =
                model.databases.iter().filter(|d| d.server == server && d.engine == Engine::Postgres).collect();
            let dropin = files
                .iter()
                .find(|f| f.machine == machine && f.path.ends_with("/main/conf.d/hearth.conf"))
                .unwrap_or_else(|| panic!("{name}: native `{server}` gets no conf.d drop-in"));
            let hba = files.iter().find(|f| f.machine == machine && f.path.ends_with("/pg_hba.conf")).unwrap();
            let init_dir = Path::new(&hba.path).parent().unwrap().to_path_buf();
            let dir = open_dir(&format!("pg-{name}"));
            common::run_ok(Command::new("chown").arg("postgres:postgres").arg(&dir), "chown");
            let data = dir.join("data");
            let mut initdb = as_postgres(&bin.join("initdb"));
            initdb.arg("-D").arg(&data).args(["-U", "postgres", "--auth-local=peer", "--auth-host=reject", "-N"]);
            common::run_ok(&mut initdb, "initdb");
            // The consumers' machines are 127.0.0.1 here.
            let mut test_hba = String::new();
            for line in hba.content.lines() {
                let mut words: Vec<&str> = line.split_whitespace().collect();
                if words.first() == Some(&"host") && words.len() == 5 {
                    words[3] = "127.0.0.1/32";
                }
                test_hba.push_str(&words.join(" "));
                test_hba.push('\n');
            }
            let hba_copy = place(&dir, hba, &test_hba);
            let conf = dropin.content.replace(&hba.path, &hba_copy.display().to_string());
            assert_ne!(conf, dropin.content, "{name}: the drop-in does not point `hba_file` at {}", hba.path);
            std::fs::create_dir_all(data.join("conf.d")).unwrap();
            std::fs::write(data.join("conf.d/hearth.conf"), conf).unwrap();
            let mut main = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
            main.push_str("include_dir = 'conf.d'\n");
            std::fs::write(data.join("postgresql.conf"), main).unwrap();
            common::run_ok(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&data), "chown");
            let port = free_port().to_string();
            let mut start = as_postgres(&bin.join("pg_ctl"));
            // The drop-in listens on the machine's addresses; here only loopback exists.
            start
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.join("log"))
                .args(["-w", "-o"])
                .arg(format!("-c listen_addresses=127.0.0.1 -k {} -p {port}", dir.display()));
            start.arg("start");
            let out = start.output().unwrap();
            assert!(
                out.status.success(),
                "{name}: pg_ctl start: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(dir.join("log")).unwrap_or_default()
            );
            let stop = || {
                let _ =
                    as_postgres(&bin.join("pg_ctl")).arg("-D").arg(&data).args(["-m", "immediate", "stop"]).output();
            };
            let psql = format!(
                "runuser -u postgres -- {} -h {} -p {port} -U postgres -d postgres",
                bin.join("psql").display(),
                dir.display()
            );
            let local = dir.join("init");
            std::fs::create_dir_all(&local).unwrap();
            for f in
                files.iter().filter(|f| f.machine == machine && Path::new(&f.path).parent() == Some(init_dir.as_path()))
            {
                std::fs::write(local.join(Path::new(&f.path).file_name().unwrap()), &f.content).unwrap();
            }
            let mut apply = Command::new("sh");
            apply.arg(local.join("apply.sh")).env("HEARTH_PG_DIR", &local).env("HEARTH_PSQL", &psql);
            let applied = apply.output().unwrap();
            if !applied.status.success() {
                stop();
                panic!("{name}: apply.sh: {}", String::from_utf8_lossy(&applied.stderr));
            }
            let connect = |user: &str, password: &str, db: &str| {
                Command::new(bin.join("psql"))
                    .args(["-h", "127.0.0.1", "-p", &port, "-U", user, "-d", db, "-XAtq", "-c", "select 1"])
                    .env("PGPASSWORD", password)
                    .output()
                    .unwrap()
            };
            for d in &dbs {
                let password = test_value(&format!("secret:{}", d.password_secret));
                let ok = connect(&d.user, &password, &d.name);
                if d.consumers.is_empty() {
                    // No consumer machine: no remote access at all.
                    if ok.status.success() {
                        stop();
                    }
                    assert!(!ok.status.success(), "{name}: {} without consumers logs in over TCP", d.name);
                    continue;
                }
                let wrong = connect(&d.user, "wrong-password", &d.name);
                if !ok.status.success() || wrong.status.success() {
                    stop();
                }
                assert!(
                    ok.status.success(),
                    "{name}: {} cannot log in to {} over TCP: {}",
                    d.user,
                    d.name,
                    String::from_utf8_lossy(&ok.stderr)
                );
                assert!(!wrong.status.success(), "{name}: {} logs in with a wrong password", d.user);
            }
            stop();
            let _ = std::fs::remove_dir_all(&dir);
            n += 1;
        }
    }
    assert!(n > 0);
}

/// Debian's `redis-server.service` may write only `/var/lib/redis` (`ProtectSystem=strict`): a
/// data folder the spec moves elsewhere gets a drop-in opening it, which restarts the unit.
#[test]
fn redis_may_write_a_moved_data_folder() {
    let (_, mut model) = common::examples().into_iter().find(|(n, _)| n == "ryzen-tiered-lxc-platform").unwrap();
    let files = render(&model);
    let dropin = "/etc/systemd/system/redis-server.service.d/hearth.conf";
    assert!(!files.iter().any(|f| f.path == dropin), "the package's own folder needs no drop-in");
    let s = model.services.get_mut("redis").unwrap();
    for v in s.volumes.iter_mut().filter(|v| v.name == "data") {
        v.source = "/mnt/fast/redis".into();
        v.target = "/mnt/fast/redis".into();
    }
    let machine = s.on.name().to_string();
    let files = render(&model);
    let f = files.iter().find(|f| f.machine == machine && f.path == dropin).expect("a drop-in for the moved folder");
    assert_eq!(f.kind, Kind::SystemdUnit);
    assert!(f.content.contains("[Service]\nReadWritePaths=/mnt/fast/redis\n"), "{}", f.content);
    assert_eq!(f.activation, [hearth_render::Activation::Unit { unit: "redis-server.service".into(), start: true }]);
    let conf = files.iter().find(|f| f.machine == machine && f.path == "/etc/redis/redis.conf").unwrap();
    assert!(conf.content.contains("\ndir /mnt/fast/redis\n"));
}
