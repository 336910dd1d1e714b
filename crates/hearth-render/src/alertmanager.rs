//! Alertmanager: `alertmanager.yml` routing every alert to the channels of
//! `monitoring.alerts.notify` (every channel under `notifications` when that list is empty), plus
//! one 0600 secret file per secret a channel needs. The configuration itself is built in
//! [`crate::alerting`], shared with the NixOS flake.
//!
//! Secrets never enter `alertmanager.yml`: each receiver points at a file with a `*_file` key
//! (`bot_token_file`, `auth_password_file`, `credentials_file`), and those files are
//! [`Kind::EnvSecret`] under `secrets/` beside the config, owned by the Alertmanager user.

use hearth_model::model::Template;

use crate::alerting;
use crate::query::{dirs, service};
use crate::reader::Runner;
use crate::yaml::quoted;
use crate::{Context, File, Kind, Output, fill};

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    let Some((name, svc)) = service(m, m.monitoring.alertmanager.as_deref()) else { return };
    let machine = svc.on.name();
    let runner = Runner::of(cx, name, svc);
    let (host_dir, proc_dir) = dirs(svc, "config", "/etc/alertmanager");

    let mut secret_file = |ch: &str, field: &str, reference: &str| -> String {
        let file = format!("secrets/{ch}-{field}");
        let content = fill(&Template::secret(reference), cx.secrets);
        out.push(
            runner
                .private(File::new(machine, format!("{host_dir}/{file}"), Kind::EnvSecret, content))
                .from(format!("notification/{ch}"))
                .from(format!("service/{name}")),
        );
        format!("{proc_dir}/{file}")
    };
    let config = alerting::alertmanager(m, &mut secret_file);

    let mut y =
        String::from("# Alertmanager configuration rendered by Hearth from `monitoring` and `notifications`.\n");
    y.push_str(&config.doc.to_block(&quoted));
    let mut file = runner.config(File::new(machine, format!("{host_dir}/alertmanager.yml"), Kind::Alertmanager, y));
    for s in ["monitoring".to_string(), format!("service/{name}")].into_iter().chain(config.sources) {
        file = file.from(s);
    }
    out.push(file);
}
