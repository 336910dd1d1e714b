//! `redis.conf` per Redis server (every service whose catalog app provides `redis`), with the
//! password in a separate 0600 file pulled in by `include`, so the main config can be read,
//! diffed and shown freely.
//!
//! Where: a native server reads `/etc/redis/redis.conf` (Debian's path) and keeps its data in the
//! service's data volume on the machine; a Docker server gets both files in the folder of its
//! `config` volume (the catalog starts it with `redis-server /usr/local/etc/redis/redis.conf`),
//! and the paths inside the file (`include`, `dir`) are the container's. `databases` is 16, or
//! more when an allocated DB number needs it. The password is the secret `<server>-password`,
//! the one the consumers' `redis://` URLs carry. NixOS machines are left to the NixOS renderer
//! (`services.redis.servers`).
//!
//! Debian's `redis-server.service` may write only its own folders (`ProtectSystem=strict`,
//! `ReadWritePaths=-/var/lib/redis`): a native data folder the spec moves elsewhere gets a unit
//! drop-in adding it, or the server could not write its append-only file there.

use hearth_catalog::Provides;
use hearth_model::model::{Service, Template};
use hearth_spec::ast::Form;

use crate::query::{listen_port, provides};
use crate::reader::Runner;
use crate::{Activation, Context, File, Kind, Output, fill};

/// The folder Debian's Redis unit may write, and the server's data folder by default.
const PACKAGE_DATA: &str = "/var/lib/redis";

pub fn render(cx: &Context, out: &mut Output) {
    for (name, s) in &cx.model.services {
        if !provides(cx, s, Provides::Redis) || cx.model.is_nixos(s.on.name()) {
            // On NixOS `services.redis.servers` writes the config (nixos.rs).
            continue;
        }
        let (folder, include_dir, data_dir) = placement(s);
        let mut dbs: Vec<_> = cx.model.redis_dbs.iter().filter(|d| d.server == *name).collect();
        dbs.sort_by(|a, b| (a.db, &a.consumer).cmp(&(b.db, &b.consumer)));
        let databases = dbs.iter().map(|d| d.db + 1).max().unwrap_or(0).max(16);
        let mut conf = format!(
            "# Redis server `{name}`, rendered by Hearth.\n\
             # The password is in the 0600 file included at the end.\n\
             bind 0.0.0.0\n\
             protected-mode yes\n\
             port {port}\n\
             databases {databases}\n",
            port = listen_port(s, &["redis"]).unwrap_or(6379),
        );
        for d in &dbs {
            conf.push_str(&format!("# db {}: {}\n", d.db, d.consumer));
        }
        conf.push_str(&format!(
            "dir {data_dir}\n\
             appendonly yes\n\
             appendfsync everysec\n\
             include {include_dir}/secret.conf\n"
        ));
        let password = fill(&Template::secret(format!("secret:{name}-password")), cx.secrets);
        let secret = format!(
            "# requirepass of Redis server `{name}`, rendered by Hearth. Secret: keep it mode 0600.\nrequirepass {password}\n"
        );
        let source = format!("service/{name}");
        let machine = s.on.name();
        let runner = Runner::of(cx, name, s);
        let conf_file = runner.config(File::new(machine, format!("{folder}/redis.conf"), Kind::Redis, conf));
        let conf_file = dbs.iter().fold(conf_file.from(&source), |f, d| f.from(format!("service/{}", d.consumer)));
        out.push(conf_file);
        let secret_file = File::new(machine, format!("{folder}/secret.conf"), Kind::EnvSecret, secret);
        out.push(runner.private(secret_file).from(&source));
        if let Runner::Native { unit, .. } = &runner
            && !std::path::Path::new(&data_dir).starts_with(PACKAGE_DATA)
        {
            let dropin = format!(
                "# Rendered by Hearth: Redis server `{name}` keeps its data in {data_dir}, which\n\
                 # {unit} (ProtectSystem=strict) may not write otherwise.\n\
                 [Service]\n\
                 ReadWritePaths={data_dir}\n"
            );
            let file =
                File::new(machine, format!("/etc/systemd/system/{unit}.d/hearth.conf"), Kind::SystemdUnit, dropin)
                    .activate(Activation::Unit { unit: unit.clone(), start: true });
            out.push(file.from(&source));
        }
    }
}

/// Folder of both files on the machine, the same folder as the server sees it, and the data dir.
fn placement(s: &Service) -> (String, String, String) {
    let volume = |name: &str| s.volumes.iter().find(|v| v.name == name);
    if s.form == Form::Docker {
        let (folder, inside) = volume("config").map_or_else(
            || ("/etc/redis".to_string(), "/usr/local/etc/redis".to_string()),
            |v| (v.source.clone(), v.target.clone()),
        );
        let data = volume("data").map_or_else(|| "/data".to_string(), |v| v.target.clone());
        (folder, inside, data)
    } else {
        let data = volume("data").map_or_else(|| PACKAGE_DATA.to_string(), |v| v.source.clone());
        ("/etc/redis".to_string(), "/etc/redis".to_string(), data)
    }
}
