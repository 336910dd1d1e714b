//! `probe::mysql` against a real MariaDB (Debian's `mariadb-server`): a `mysql_native_password`
//! login, and wrong password, missing database and a database the user has no rights on, each
//! with its own reason. MariaDB has no `caching_sha2_password`; that plugin's scramble is tested
//! in the module against independently computed values.

use std::process::Command;

use hearth_verify::probe::mysql::login;
use hearth_verify::probe::{Login, ProbeError};

use super::common::{self, Server, TIMEOUT, TempDir};

const PASSWORD: &str = "pw-canary-9c1d";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_login_and_its_refusals() {
    let Some(mariadbd) = common::program("mariadbd", &["/usr/sbin/mariadbd"]) else { return };
    let Some(install_db) = common::program("mariadb-install-db", &[]) else { return };
    let Some(client) = common::program("mariadb", &[]) else { return };
    let dir = TempDir::new("mariadb");
    let data = dir.path().join("data");
    let user = if common::is_root() { "root" } else { "" };
    let mut install = Command::new(install_db);
    install
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(["--auth-root-authentication-method=socket", "--skip-test-db"]);
    if !user.is_empty() {
        install.arg(format!("--user={user}"));
    }
    common::run_ok(&mut install, "mariadb-install-db");
    let port = common::free_port();
    let socket = dir.path().join("sock");
    let mut command = Command::new(mariadbd);
    command
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--pid-file={}", dir.path().join("pid").display()))
        .arg(format!("--port={port}"))
        .args(["--bind-address=127.0.0.1", "--skip-name-resolve", "--skip-log-bin"]);
    if !user.is_empty() {
        command.arg(format!("--user={user}"));
    }
    let mut server = Server::start("mariadbd", command, dir.path().join("log"));
    server.wait_for(port);
    let sql = format!(
        "create database appdb; create database otherdb;\
         create user 'app'@'127.0.0.1' identified by '{PASSWORD}';\
         grant all on appdb.* to 'app'@'127.0.0.1';\
         create user 'admin'@'127.0.0.1' identified by '{PASSWORD}';\
         grant all on *.* to 'admin'@'127.0.0.1';"
    );
    common::run_ok(
        Command::new(client)
            .arg("--no-defaults")
            .arg(format!("--socket={}", socket.display()))
            .args(["-uroot", "-e", &sql]),
        "mariadb setup",
    );
    let addr = common::loopback(port);
    let as_user = |user: &str, database: &str, password: &str| Login {
        user: user.into(),
        password: password.into(),
        database: database.into(),
    };

    let session = login(addr, &as_user("app", "appdb", PASSWORD), TIMEOUT).await.unwrap();
    assert_eq!((session.user.as_str(), session.database.as_str()), ("app@127.0.0.1", "appdb"));
    assert!(session.server_version.contains("MariaDB"), "{}", session.server_version);

    let wrong = login(addr, &as_user("app", "appdb", "not-the-password"), TIMEOUT).await.unwrap_err();
    assert!(matches!(wrong, ProbeError::Auth { ref user, .. } if user == "app"), "{wrong}");
    assert!(wrong.to_string().contains("1045"), "{wrong}");
    assert!(!wrong.to_string().contains("not-the-password"));

    let unknown = login(addr, &as_user("nobody", "appdb", PASSWORD), TIMEOUT).await.unwrap_err();
    assert!(matches!(unknown, ProbeError::Auth { .. }), "{unknown}");

    let missing = login(addr, &as_user("admin", "nodb", PASSWORD), TIMEOUT).await.unwrap_err();
    assert!(matches!(missing, ProbeError::Missing { ref name, .. } if name == "nodb"), "{missing}");

    let denied = login(addr, &as_user("app", "otherdb", PASSWORD), TIMEOUT).await.unwrap_err();
    assert!(matches!(denied, ProbeError::Denied { .. }), "{denied}");
    assert!(denied.to_string().contains("1044"), "{denied}");

    for e in [&wrong, &unknown, &missing, &denied] {
        assert!(!format!("{e} {e:?}").contains(PASSWORD), "{e:?}");
    }
    drop(server);
}
