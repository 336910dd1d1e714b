//! `probe::postgres` against a real PostgreSQL: a login that works, and wrong password, missing
//! database and pg_hba refusal each with its own reason.

use std::process::Command;

use hearth_verify::probe::postgres::{Session, login};
use hearth_verify::probe::{Login, ProbeError};

use super::common::{self, Server, TIMEOUT, TempDir};

const PASSWORD: &str = "pw-canary-7f3a";

fn as_postgres(root: bool, program: &std::path::Path) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn postgres_bin() -> Option<std::path::PathBuf> {
    let mut versions: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    versions.sort();
    let found = versions.into_iter().rev().map(|v| v.join("bin")).find(|b| b.join("initdb").exists());
    if found.is_none() {
        common::unavailable("no initdb under /usr/lib/postgresql");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_login_and_its_refusals() {
    let Some(bin) = postgres_bin() else { return };
    let root = common::is_root();
    let dir = TempDir::new("pg");
    if root {
        common::run_ok(Command::new("chown").arg("postgres:postgres").arg(dir.path()), "chown");
    }
    let data = dir.path().join("data");
    common::run_ok(
        as_postgres(root, &bin.join("initdb")).arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=reject",
            "-N",
        ]),
        "initdb",
    );
    // `blocked` is refused by a `reject` line before any password is asked; everyone else logs
    // in with a password.
    let hba = "local all all trust\n\
               host all blocked 127.0.0.1/32 reject\n\
               host all all 127.0.0.1/32 scram-sha-256\n";
    std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
    let port = common::free_port();
    // The server runs as `postgres` itself (not under runuser, which a kill would not reach
    // through), so the guard's kill stops it.
    let mut postgres = Command::new(bin.join("postgres"));
    if root {
        use std::os::unix::process::CommandExt;
        let id = |flag: &str| {
            common::run_ok(Command::new("id").args([flag, "postgres"]), "id").trim().parse::<u32>().unwrap()
        };
        postgres.uid(id("-u")).gid(id("-g"));
    }
    postgres
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-k"])
        .arg(dir.path());
    let mut server =
        Server::start("postgres", postgres, std::env::temp_dir().join(format!("hearth-verify-pg-{port}.log")));
    server.wait_for(port);
    let sql = format!(
        "create role app login password '{PASSWORD}'; create database appdb owner app;\
         create role blocked login password '{PASSWORD}';"
    );
    for statement in sql.split(';').filter(|s| !s.trim().is_empty()) {
        common::run_ok(
            as_postgres(root, &bin.join("psql")).arg("-h").arg(dir.path()).args([
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-XAtqc",
                statement,
            ]),
            statement,
        );
    }
    let addr = common::loopback(port);
    let as_app = |database: &str, password: &str| Login {
        user: "app".into(),
        password: password.into(),
        database: database.into(),
    };

    let session = login(addr, &as_app("appdb", PASSWORD), TIMEOUT).await.unwrap();
    assert_eq!(session, Session { user: "app".into(), database: "appdb".into() });

    let wrong = login(addr, &as_app("appdb", "not-the-password"), TIMEOUT).await.unwrap_err();
    assert!(matches!(wrong, ProbeError::Auth { ref user, .. } if user == "app"), "{wrong}");
    assert!(!wrong.to_string().contains("not-the-password"));

    let missing = login(addr, &as_app("nodb", PASSWORD), TIMEOUT).await.unwrap_err();
    assert!(matches!(missing, ProbeError::Missing { ref name, .. } if name == "nodb"), "{missing}");

    let blocked = Login { user: "blocked".into(), password: PASSWORD.into(), database: "appdb".into() };
    let denied = login(addr, &blocked, TIMEOUT).await.unwrap_err();
    assert!(matches!(denied, ProbeError::Denied { .. }), "{denied}");
    assert!(denied.to_string().contains("pg_hba.conf"), "{denied}");

    for e in [&wrong, &missing, &denied] {
        assert!(!e.to_string().contains(PASSWORD), "{e}");
        assert!(!format!("{e:?}").contains(PASSWORD), "{e:?}");
    }
    drop(server);
    let closed = login(addr, &as_app("appdb", PASSWORD), TIMEOUT).await.unwrap_err();
    assert!(matches!(closed, ProbeError::Connect { .. }), "{closed}");
}
