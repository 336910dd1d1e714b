//! `probe::redis` against a real redis-server: password and ACL logins, DB selection, and the
//! refusals (wrong password, no password, DB out of range, a user without `SELECT`).

use std::process::Command;

use hearth_verify::probe::redis::{Auth, ping};
use hearth_verify::probe::{ProbeError, Secret};

use super::common::{self, Server, TIMEOUT, TempDir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_auth_select_ping_and_refusals() {
    let Some(redis) = common::program("redis-server", &[]) else { return };
    let dir = TempDir::new("redis");
    let port = common::free_port();
    let config = format!(
        "bind 127.0.0.1\nport {port}\nsave \"\"\nappendonly no\ndatabases 4\ndir {dir}\n\
         requirepass pw-canary-1\n\
         user alice on >alice-canary-2 ~* &* +@all\n\
         user nosel on >nosel-canary-3 ~* &* +@all -select\n",
        dir = dir.path().display()
    );
    let conf = dir.path().join("redis.conf");
    std::fs::write(&conf, config).unwrap();
    let mut command = Command::new(redis);
    command.arg(&conf);
    let mut server = Server::start("redis-server", command, dir.path().join("log"));
    server.wait_for(port);
    let addr = common::loopback(port);
    let auth = |user: Option<&str>, password: Option<&str>, db| Auth {
        user: user.map(str::to_string),
        password: password.map(Secret::from),
        db,
    };

    ping(addr, &auth(None, Some("pw-canary-1"), 3), TIMEOUT).await.unwrap();
    ping(addr, &auth(Some("alice"), Some("alice-canary-2"), 1), TIMEOUT).await.unwrap();

    let wrong = ping(addr, &auth(None, Some("wrong-canary-4"), 0), TIMEOUT).await.unwrap_err();
    assert!(matches!(wrong, ProbeError::Auth { .. }), "{wrong}");
    assert!(wrong.to_string().contains("WRONGPASS"), "{wrong}");
    let wrong_user = ping(addr, &auth(Some("alice"), Some("pw-canary-1"), 0), TIMEOUT).await.unwrap_err();
    assert!(matches!(wrong_user, ProbeError::Auth { ref user, .. } if user == "alice"), "{wrong_user}");

    let anonymous = ping(addr, &auth(None, None, 0), TIMEOUT).await.unwrap_err();
    assert!(matches!(anonymous, ProbeError::Auth { .. }), "{anonymous}");
    assert!(anonymous.to_string().contains("NOAUTH"), "{anonymous}");

    let out_of_range = ping(addr, &auth(None, Some("pw-canary-1"), 9), TIMEOUT).await.unwrap_err();
    assert!(matches!(out_of_range, ProbeError::Missing { ref name, .. } if name == "DB 9"), "{out_of_range}");

    let no_select = ping(addr, &auth(Some("nosel"), Some("nosel-canary-3"), 1), TIMEOUT).await.unwrap_err();
    assert!(matches!(no_select, ProbeError::Denied { ref user, .. } if user == "nosel"), "{no_select}");

    for e in [wrong, wrong_user, anonymous, out_of_range, no_select] {
        let text = format!("{e} {e:?}");
        assert!(!text.contains("canary"), "{text}");
    }
}
