//! The MongoDB exporter's login, as the rendered `init.js` creates it. No MongoDB server is
//! installable from Debian, so the script runs under node against a stand-in for mongosh's `db`
//! that records each `createUser`/`updateUser`: what is checked is the users and roles the
//! script asks for (the exporter's `clusterMonitor` in `admin` and `read` on `local`, every other
//! user `readWrite` on its own database only), not MongoDB's answer to them.

use std::process::Command;

use hearth_model::model::{Database, Engine};
use hearth_render::Kind;

/// mongosh's globals as far as `init.js` uses them; every environment variable reads `pw`.
const STAND_IN: &str = "const calls = [];\n\
Object.defineProperty(process, 'env', { value: new Proxy({}, { get: () => 'pw' }) });\n\
const db = {\n  \
  getSiblingDB(name) {\n    \
    return {\n      \
      auth() { return 1; },\n      \
      getUser() { return null; },\n      \
      createUser(u) { calls.push({ db: name, user: u.user, roles: u.roles }); },\n      \
      updateUser(user, u) { calls.push({ db: name, user, roles: u.roles }); },\n    \
    };\n  \
  },\n\
};\n";

/// The roles `d`'s user must get.
fn expected_roles(d: &Database) -> serde_json::Value {
    if d.monitor {
        serde_json::json!([{ "role": "clusterMonitor", "db": "admin" }, { "role": "read", "db": "local" }])
    } else {
        serde_json::json!([{ "role": "readWrite", "db": d.name }])
    }
}

#[test]
fn mongo_init_gives_the_exporter_a_monitoring_login() {
    if !crate::common::have("node") {
        return;
    }
    let mut monitors = 0;
    for (name, model, files) in crate::rendered_with_secrets() {
        let dir = crate::common::temp_dir(&format!("data-mongo-roles-{name}"));
        for f in files.iter().filter(|f| f.kind == Kind::MongoInit && f.path.ends_with("init.js")) {
            let path = dir.join(format!("{}.js", f.machine));
            let script = format!("{STAND_IN}{}\nconsole.log(JSON.stringify(calls));\n", f.content);
            std::fs::write(&path, script).unwrap();
            let out = Command::new("node").arg(&path).output().expect("node runs");
            assert!(out.status.success(), "{name}: {}: {}", f.path, String::from_utf8_lossy(&out.stderr));
            let calls: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("the recorded calls");
            let servers: Vec<&String> = model
                .services
                .iter()
                .filter(|(_, s)| s.on.name() == f.machine && s.app.as_deref() == Some("mongodb"))
                .map(|(n, _)| n)
                .collect();
            let dbs: Vec<&Database> = model
                .databases
                .iter()
                .filter(|d| d.engine == Engine::Mongodb && servers.contains(&&d.server))
                .collect();
            assert_eq!(calls.len(), dbs.len(), "{name}: one user per database and login: {calls:?}");
            for d in dbs {
                let call = calls
                    .iter()
                    .find(|c| c["user"] == d.user.as_str())
                    .unwrap_or_else(|| panic!("{name}: no user `{}` in {calls:?}", d.user));
                assert_eq!(call["db"], d.name.as_str(), "{name}: `{}` lives in its database", d.user);
                assert_eq!(call["roles"], expected_roles(d), "{name}: roles of `{}`", d.user);
                monitors += usize::from(d.monitor);
            }
        }
    }
    assert!(monitors > 0, "no example runs a MongoDB exporter");
}
