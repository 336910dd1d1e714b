//! Loki: a single-binary configuration with a TSDB index, its chunks on the local filesystem or
//! in the spec's object store (`monitoring.logs.store`), retention enforced by the compactor, and
//! the ruler evaluating the log-pattern alert rules (`logql:`) against Alertmanager, on the
//! machine of `monitoring.loki`.
//!
//! Natively the file is the one the `loki` package of Grafana's apt repository starts with
//! (`loki.service`: `-config.file /etc/loki/config.yml`, the catalog's `native.config`) and the
//! data is the service's data folder (which that package does not make: `packages` does); in a
//! container it goes into the `config` volume. The package's unit reads no environment, so a
//! drop-in gives it the environment file `native_env` writes (`/etc/default/loki`) and
//! `-config.expand-env=true`, as the catalog's `command` does for the image: an object store's
//! secret key is `${LOKI_S3_SECRET_ACCESS_KEY}` in the configuration, never its value.
//!
//! One process, an in-memory ring and replication factor 1 is the upstream's recommended setup
//! for one machine. Paths are under the `data` volume as the process sees it; listen ports are
//! the container ports of `http` and `grpc`. The schema starts at a fixed date so the rendered
//! file does not depend on the day it was rendered.
//!
//! The ruler reads rule files from a local folder beside the configuration, one subfolder per
//! tenant: without authentication Loki's only tenant is `fake`, so the rules are
//! `rules/fake/hearth.yaml`, in the Prometheus rules format with LogQL expressions.

use hearth_model::Model;
use hearth_model::model::LogStore;
use hearth_spec::ast::Form;

use crate::native;
use crate::query::{address, dirs, http_port, listen_port, service};
use crate::reader::Runner;
use crate::yaml::{Node, quoted as q};
use crate::{Activation, Context, File, Kind, Output};

/// The file the `grafana/loki` image's command reads, in its `/etc/loki` folder.
const IMAGE_CONFIG: &str = "local-config.yaml";

/// Loki's tenant when `auth_enabled: false`: the ruler looks for rules under this folder.
const TENANT: &str = "fake";

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    let Some((name, svc)) = service(m, m.monitoring.loki.as_deref()) else { return };
    let (host_dir, proc_dir) = dirs(svc, "config", "/etc/loki");
    let (path, data, rules_host, rules_proc) = match svc.form {
        // The image's command is `-config.file=/etc/loki/local-config.yaml`, so in a container
        // the file has that name in the mounted config folder.
        Form::Docker => (
            format!("{host_dir}/{IMAGE_CONFIG}"),
            dirs(svc, "data", "/var/lib/loki").1,
            format!("{host_dir}/rules"),
            format!("{proc_dir}/rules"),
        ),
        _ => {
            let config = native::config(cx, svc).unwrap_or_else(|| "/etc/loki/config.yml".to_string());
            let dir = config.rsplit_once('/').map_or("/etc/loki", |(d, _)| d).to_string();
            (
                config,
                native::data_dir(cx, svc).unwrap_or_else(|| "/var/lib/loki".to_string()),
                format!("{dir}/rules"),
                format!("{dir}/rules"),
            )
        }
    };
    let http = listen_port(svc, &["http"]).unwrap_or(0);
    let grpc = svc.port("grpc").map_or(9096, |p| p.listen);
    let logs = &m.monitoring.logs;
    let store = logs.store.as_ref();
    let alertmanager = service(m, m.monitoring.alertmanager.as_deref())
        .map(|(_, am)| format!("http://{}:{}", address(m, am), http_port(am)));
    let ruler = !m.monitoring.log_rules.is_empty() || store.is_some();

    let mut content = format!(
        "# Loki configuration rendered by Hearth from `monitoring`.\n\
auth_enabled: false\n\
server:\n  http_listen_port: {http}\n  grpc_listen_port: {grpc}\n  log_level: info\n\
common:\n  instance_addr: 127.0.0.1\n  path_prefix: {data}\n  replication_factor: 1\n  \
storage:\n{storage}  \
ring:\n    kvstore:\n      store: inmemory\n\
schema_config:\n  configs:\n    - from: \"2024-01-01\"\n      store: tsdb\n      object_store: {object_store}\n      \
schema: v13\n      index:\n        prefix: index_\n        period: 24h\n",
        data = q(&data),
        storage = match store {
            Some(s) => s3(s),
            None => format!(
                "    filesystem:\n      chunks_directory: {}\n      rules_directory: {}\n",
                q(&format!("{data}/chunks")),
                q(&format!("{data}/rules"))
            ),
        },
        object_store = if store.is_some() { "s3" } else { "filesystem" },
    );
    if let (Some(_), Some(local)) = (store, &logs.local) {
        // Chunks go to the store as the ingester flushes them; what stays on local disk is the
        // index the queriers downloaded, for `local` after its last use.
        content.push_str(&format!(
            "storage_config:\n  tsdb_shipper:\n    active_index_directory: {}\n    cache_location: {}\n    cache_ttl: {}\n",
            q(&format!("{data}/tsdb-index")),
            q(&format!("{data}/tsdb-cache")),
            q(local),
        ));
    }
    content.push_str(&format!(
        "limits_config:\n  retention_period: {retention}\n\
compactor:\n  working_directory: {compactor}\n  retention_enabled: true\n  delete_request_store: {object_store}\n",
        retention = q(&logs.retention),
        compactor = q(&format!("{data}/compactor")),
        object_store = if store.is_some() { "s3" } else { "filesystem" },
    ));
    if ruler {
        // The rules stay in a local folder even when the chunks are in the store: Hearth
        // renders them, nobody uploads them.
        content.push_str(&format!(
            "ruler:\n  storage:\n    type: local\n    local:\n      directory: {}\n  rule_path: {}\n",
            q(&rules_proc),
            q(&format!("{data}/rules-temp")),
        ));
        if let Some(url) = &alertmanager {
            content.push_str(&format!("  alertmanager_url: {}\n", q(url)));
        }
    }
    content.push_str("analytics:\n  reporting_enabled: false\n");
    let runner = Runner::of(cx, name, svc);
    let mut file = runner.config(File::new(svc.on.name(), path, Kind::Loki, content)).from("monitoring");
    file = file.from(format!("service/{name}"));
    if let Some(s) = store {
        file = file.from(format!("service/{}", s.service));
    }
    out.push(file);

    if let Some(rules) = rules(m) {
        let file = File::new(svc.on.name(), format!("{rules_host}/{TENANT}/hearth.yaml"), Kind::LokiRules, rules);
        out.push(runner.config(file).from("monitoring").from(format!("service/{name}")));
    }
    if let Runner::Native { unit, .. } = &runner
        && let Some(env_file) = native::entry(cx, svc).and_then(|n| n.env_file.as_deref())
    {
        let config = native::config(cx, svc).unwrap_or_else(|| "/etc/loki/config.yml".to_string());
        let dropin = format!(
            "# Rendered by Hearth: Loki `{name}` reads its environment (an object store's secret key)\n\
             # from {env_file}, and expands `${{VAR}}` in its configuration from it.\n\
             [Service]\n\
             EnvironmentFile={env_file}\n\
             ExecStart=\n\
             ExecStart=/usr/bin/loki -config.file={config} -config.expand-env=true\n"
        );
        let file =
            File::new(svc.on.name(), format!("/etc/systemd/system/{unit}.d/hearth.conf"), Kind::SystemdUnit, dropin)
                .activate(Activation::Unit { unit: unit.clone(), start: true });
        out.push(file.from(format!("service/{name}")));
    }
}

/// `common.storage.s3`: the bucket on the spec's S3 service, path-style over plain HTTP (MinIO
/// in the homelab), with Loki's own login; the secret key from the environment.
fn s3(s: &LogStore) -> String {
    format!(
        "    s3:\n      endpoint: {}\n      bucketnames: {}\n      access_key_id: {}\n      \
secret_access_key: \"${{{}}}\"\n      s3forcepathstyle: true\n      insecure: true\n",
        q(&s.endpoint),
        q(&s.bucket),
        q(&s.access_key),
        LogStore::SECRET_ENV,
    )
}

/// The ruler's rules file: one group, `hearth-logs`, of the log-pattern rules; `None` without.
fn rules(m: &Model) -> Option<String> {
    if m.monitoring.log_rules.is_empty() {
        return None;
    }
    let rules = m
        .monitoring
        .log_rules
        .iter()
        .map(|rule| {
            Node::Map(vec![
                ("alert".to_string(), Node::s(&rule.name)),
                ("expr".to_string(), Node::s(&rule.expr)),
                ("for".to_string(), Node::s(&rule.for_)),
                ("labels".into(), Node::Map(vec![("severity".into(), Node::s(&rule.severity))])),
                ("annotations".into(), Node::Map(vec![("summary".into(), Node::s(&rule.summary))])),
            ])
        })
        .collect();
    let group = Node::Map(vec![("name".into(), Node::Plain("hearth-logs".into())), ("rules".into(), Node::Seq(rules))]);
    let mut text =
        String::from("# Log-pattern alert rules (LogQL) rendered by Hearth from `monitoring.alerts.rules`.\n");
    text.push_str(&Node::Map(vec![("groups".into(), Node::Seq(vec![group]))]).to_block(&q));
    Some(text)
}
