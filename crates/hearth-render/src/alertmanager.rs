//! Alertmanager: `alertmanager.yml` routing every alert to the channels of
//! `monitoring.alerts.notify` (every channel under `notifications` when that list is empty), plus
//! one 0600 secret file per secret a channel needs. The configuration itself is built in
//! [`crate::alerting`], shared with the NixOS flake.
//!
//! Secrets never enter `alertmanager.yml`: each receiver points at a file with a `*_file` key
//! (`bot_token_file`, `auth_password_file`, `credentials_file`), and those files are
//! [`Kind::EnvSecret`] under `secrets/` beside the config, owned by the Alertmanager user.
//!
//! Natively the files are where Debian's `prometheus-alertmanager` reads them: the configuration
//! at the catalog's `native.config` (`/etc/prometheus/alertmanager.yml`), the secrets in
//! `alertmanager-secrets/` beside it (the folder is Prometheus's too), and the command line
//! (configuration, data folder, listen port) in `/etc/default/prometheus-alertmanager`.

use hearth_model::model::Template;

use crate::alerting;
use crate::native;
use crate::query::{dirs, listen_port, service};
use crate::reader::Runner;
use crate::yaml::quoted;
use crate::{Context, File, Kind, Output, fill};

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    let Some((name, svc)) = service(m, m.monitoring.alertmanager.as_deref()) else { return };
    let machine = svc.on.name();
    let runner = Runner::of(cx, name, svc);
    let native_config = native::config(cx, svc);
    let (config_path, secrets) = match &native_config {
        Some(config) => {
            let dir = config.rsplit_once('/').map_or("/etc/prometheus", |(d, _)| d);
            (config.clone(), (format!("{dir}/alertmanager-secrets"), format!("{dir}/alertmanager-secrets")))
        }
        None => {
            let (host_dir, proc_dir) = dirs(svc, "config", "/etc/alertmanager");
            (format!("{host_dir}/alertmanager.yml"), (format!("{host_dir}/secrets"), format!("{proc_dir}/secrets")))
        }
    };
    let (host_secrets, proc_secrets) = secrets;

    let mut secret_file = |ch: &str, field: &str, reference: &str| -> String {
        let file = format!("{ch}-{field}");
        let content = fill(&Template::secret(reference), cx.secrets);
        out.push(
            runner
                .private(File::new(machine, format!("{host_secrets}/{file}"), Kind::EnvSecret, content))
                .from(format!("notification/{ch}"))
                .from(format!("service/{name}")),
        );
        format!("{proc_secrets}/{file}")
    };
    let config = alerting::alertmanager(m, &mut secret_file);

    let mut y =
        String::from("# Alertmanager configuration rendered by Hearth from `monitoring` and `notifications`.\n");
    y.push_str(&config.doc.to_block(&quoted));
    let mut file = runner.config(File::new(machine, &config_path, Kind::Alertmanager, y));
    for s in ["monitoring".to_string(), format!("service/{name}")].into_iter().chain(config.sources) {
        file = file.from(s);
    }
    out.push(file);

    if let Some(config) = native_config {
        let data = native::data_dir(cx, svc).unwrap_or_else(|| "/var/lib/prometheus/alertmanager".to_string());
        let args = [
            format!("--config.file={config}"),
            format!("--storage.path={data}/"),
            format!("--web.listen-address=:{}", listen_port(svc, &["http"]).unwrap_or(9093)),
        ];
        let file = native::args_file(machine, "prometheus-alertmanager", &format!("Alertmanager `{name}`"), &args);
        out.push(runner.env(file).from("monitoring").from(format!("service/{name}")));
    }
}
