//! MariaDB/MySQL as a data-tier engine, against a real `mariadbd` on a loopback port: the rendered
//! `apply.sh` and `init.sql` create each consumer's database and user with the password of the
//! secret store, twice (idempotent), each user reaches its own database and no other, privileges
//! granted by hand are taken back on the next run, and a native server's rendered option file is
//! read by the real server.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_model::model::{Database, Engine};
use hearth_render::{Activation, File, Kind, SecretValues};

/// Secret values: awkward characters, different per secret.
struct Values;

impl SecretValues for Values {
    fn get(&self, reference: &str) -> Option<String> {
        Some(format!("p'w\"$\\ `{}` #x", reference.len()))
    }
}

/// A throwaway MariaDB server on a loopback port, removed when dropped.
struct Mariadb {
    dir: PathBuf,
    port: u16,
    child: std::process::Child,
}

impl Mariadb {
    /// A server reading `options` (a rendered option file) if given, else no option file; the
    /// command line then puts it on a loopback port and a folder of its own, whatever the file says.
    fn start(name: &str, options: Option<&Path>) -> Option<Mariadb> {
        if !common::have("mariadbd") || !common::have("mariadb-install-db") {
            common::unavailable("mariadbd (Debian's mariadb-server) is not installed");
            return None;
        }
        let dir = common::temp_dir(name);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        common::run_ok(
            Command::new("mariadb-install-db")
                .args(["--no-defaults", "--auth-root-authentication-method=socket", "--skip-test-db"])
                .arg(format!("--datadir={}", dir.join("data").display()))
                .arg(format!("--user={}", whoami())),
            "mariadb-install-db",
        );
        let mut server = Command::new("mariadbd");
        match options {
            Some(file) => server.arg(format!("--defaults-file={}", file.display())),
            None => server.arg("--no-defaults"),
        };
        let child = server
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg(format!("--socket={}", dir.join("sock").display()))
            .arg(format!("--port={port}"))
            .args(["--bind-address=127.0.0.1", "--skip-name-resolve"])
            .arg(format!("--user={}", whoami()))
            .arg(format!("--pid-file={}", dir.join("pid").display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("log")).unwrap())
            .spawn()
            .expect("start mariadbd");
        let mut db = Mariadb { dir, port, child };
        for _ in 0..100 {
            if db.root(&["-e", "select 1"]).status.success() {
                return Some(db);
            }
            if db.child.try_wait().is_ok_and(|s| s.is_some()) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("mariadbd did not start: {}", std::fs::read_to_string(db.dir.join("log")).unwrap_or_default());
    }

    fn root_cmdline(&self) -> String {
        format!("mariadb --no-defaults -uroot --socket={}", self.dir.join("sock").display())
    }

    fn root(&self, args: &[&str]) -> std::process::Output {
        Command::new("mariadb")
            .args(["--no-defaults", "-uroot"])
            .arg(format!("--socket={}", self.dir.join("sock").display()))
            .args(args)
            .output()
            .unwrap()
    }

    /// `select 1` in `database` as `user` over TCP.
    fn login(&self, user: &str, password: &str, database: &str) -> std::process::Output {
        Command::new("mariadb")
            .args(["--no-defaults", "-h", "127.0.0.1"])
            .arg(format!("-P{}", self.port))
            .arg(format!("-u{user}"))
            .arg(format!("-p{password}"))
            .args([database, "-e", "select 1"])
            .output()
            .unwrap()
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn whoami() -> String {
    String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap().trim().to_string()
}

fn render(model: &hearth_model::Model) -> Vec<File> {
    hearth_render::render(&hearth_render::Context { model, catalog: hearth_catalog::builtin(), secrets: Some(&Values) })
}

fn model_of(text: &str) -> hearth_model::Model {
    let loaded = hearth_spec::load_str("test.yaml", text);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    assert!(!a.diagnostics.iter().any(|d| d.is_error()), "{:?}", a.diagnostics);
    a.model
}

fn mysql_databases(model: &hearth_model::Model) -> Vec<&Database> {
    model.databases.iter().filter(|d| d.engine == Engine::Mysql).collect()
}

/// Runs the rendered `apply.sh` in `dir` against `db`.
fn apply(db: &Mariadb, dir: &Path, what: &str) {
    common::run_ok(
        Command::new("sh")
            .arg(dir.join("apply.sh"))
            .env("HEARTH_MYSQL_DIR", dir)
            .env("HEARTH_MYSQL", db.root_cmdline()),
        what,
    );
}

/// Applies the rendered init twice to `db`, then checks every user against every database.
fn check(db: &Mariadb, files: &[File], machine: &str, dbs: &[&Database]) {
    let dir = common::write_tree(files, &common::temp_dir(&format!("mysql-files-{}", db.port)));
    let dir = dir.join(machine).join("etc/hearth/mysql");
    apply(db, &dir, "apply.sh, first run");
    // Privileges granted by hand are taken back by the next run: a user holds its own databases
    // and nothing else.
    let (first, other) = (dbs[0], dbs[1]);
    let grant = format!("GRANT SELECT ON `{}`.* TO '{}'@'%'; CREATE DATABASE `stray`;", other.name, first.user);
    assert!(db.root(&["-e", &grant]).status.success(), "grant by hand");
    apply(db, &dir, "apply.sh, second run");
    for d in dbs {
        let password = Values.get(&format!("secret:{}", d.password_secret)).unwrap();
        let own = db.login(&d.user, &password, &d.name);
        assert!(own.status.success(), "{} into {}: {}", d.user, d.name, String::from_utf8_lossy(&own.stderr));
        assert!(!db.login(&d.user, "wrong", &d.name).status.success(), "{}: a wrong password works", d.user);
        for o in dbs.iter().filter(|o| o.user != d.user) {
            assert!(!db.login(&d.user, &password, &o.name).status.success(), "{} reaches {}", d.user, o.name);
        }
        assert!(!db.login(&d.user, &password, "stray").status.success(), "{} reaches another database", d.user);
        let grants = db.root(&["-N", "-e", &format!("SHOW GRANTS FOR '{}'@'%'", d.user)]);
        let grants = String::from_utf8_lossy(&grants.stdout).to_string();
        assert!(!grants.contains("GRANT OPTION") && !grants.contains(" ON *.*  TO"), "{grants}");
        assert_eq!(grants.lines().filter(|l| l.contains(" ON `")).count(), 1, "{}: {grants}", d.user);
    }
}

#[test]
fn wordpress_sites_get_their_databases_and_users_on_a_real_mariadb() {
    let model =
        common::examples().into_iter().find(|(n, _)| n == "two-node-docker-pbs").map(|(_, m)| m).expect("example");
    let dbs = mysql_databases(&model);
    assert!(dbs.len() >= 2, "seed 002's WordPress sites use MariaDB: {dbs:?}");
    let files = render(&model);
    let server = &model.services[&dbs[0].server];
    let machine = server.on.name();
    let apply = files
        .iter()
        .find(|f| f.machine == machine && f.path == "/etc/hearth/mysql/apply.sh")
        .expect("MariaDB's init is rendered");
    assert!(apply.content.contains("docker exec -i"), "{}", apply.content);
    assert!(!files.iter().any(|f| f.kind == Kind::MysqlConf), "a container needs no option file");
    let Some(db) = Mariadb::start("mysql-docker", None) else { return };
    check(&db, &files, machine, &dbs);
}

const NATIVE: &str = "
homelab: t
domain: example.com
networks: { lan: { cidr: 192.168.1.0/24, gateway: 192.168.1.1 } }
hosts: { pve: { proxmox: {}, address: 192.168.1.10, network: lan } }
guests:
  db: { lxc: { on: pve }, network: lan }
  docker: { vm: { on: pve }, network: lan, runtime: docker }
services:
  mariadb: { app: mariadb, on: db, form: native }
  blog: { app: wordpress, on: docker, uses: [mariadb] }
  shop: { app: wordpress, on: docker, uses: [{ service: mariadb, database: shop_db, user: shopkeeper }] }
";

#[test]
fn a_native_mariadb_listens_for_its_consumers_on_other_machines() {
    let model = model_of(NATIVE);
    let dbs = mysql_databases(&model);
    assert_eq!(
        dbs.iter().map(|d| (d.name.as_str(), d.user.as_str())).collect::<Vec<_>>(),
        [("blog", "blog"), ("shop_db", "shopkeeper")]
    );
    let files = render(&model);
    let conf = files
        .iter()
        .find(|f| f.machine == "db" && f.path == "/etc/mysql/mariadb.conf.d/60-hearth.cnf")
        .expect("the option file is rendered beside 50-server.cnf");
    assert_eq!(conf.kind, Kind::MysqlConf);
    assert!(conf.content.contains("\nbind-address = 0.0.0.0\nport = 3306\n"), "{}", conf.content);
    assert_eq!(conf.activation, [Activation::Restart { unit: "mariadb.service".into() }]);
    let apply = files.iter().find(|f| f.machine == "db" && f.path == "/etc/hearth/mysql/apply.sh").expect("apply.sh");
    assert!(apply.content.contains("run_client() { mariadb -uroot; }"), "{}", apply.content);
    let tree = common::write_tree(&files, &common::temp_dir("mysql-native-conf"));
    let options = tree.join("db/etc/mysql/mariadb.conf.d/60-hearth.cnf");
    let Some(db) = Mariadb::start("mysql-native", Some(&options)) else { return };
    check(&db, &files, "db", &dbs);
}
