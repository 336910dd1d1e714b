//! Loki: a single-binary configuration storing chunks and a TSDB index on the local filesystem,
//! with retention enforced by the compactor, on the machine of `monitoring.loki`.
//!
//! Natively the file is the one the `loki` package of Grafana's apt repository starts with
//! (`loki.service`: `-config.file /etc/loki/config.yml`, the catalog's `native.config`) and the
//! data is the service's data folder (which that package does not make: `packages` does); in a
//! container it goes into the `config` volume.
//!
//! One process, an in-memory ring and replication factor 1 is the upstream's recommended setup
//! for one machine. Paths are under the `data` volume as the process sees it; listen ports are
//! the container ports of `http` and `grpc`. The schema starts at a fixed date so the rendered
//! file does not depend on the day it was rendered.

use hearth_spec::ast::Form;

use crate::native;
use crate::query::{dirs, listen_port, service};
use crate::reader::Runner;
use crate::yaml::quoted as q;
use crate::{Context, File, Kind, Output};

/// The file the `grafana/loki` image's command reads, in its `/etc/loki` folder.
const IMAGE_CONFIG: &str = "local-config.yaml";

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    let Some((name, svc)) = service(m, m.monitoring.loki.as_deref()) else { return };
    let (host_dir, _) = dirs(svc, "config", "/etc/loki");
    let (path, data) = match svc.form {
        // The image's command is `-config.file=/etc/loki/local-config.yaml`, so in a container
        // the file has that name in the mounted config folder.
        Form::Docker => (format!("{host_dir}/{IMAGE_CONFIG}"), dirs(svc, "data", "/var/lib/loki").1),
        _ => (
            native::config(cx, svc).unwrap_or_else(|| "/etc/loki/config.yml".to_string()),
            native::data_dir(cx, svc).unwrap_or_else(|| "/var/lib/loki".to_string()),
        ),
    };
    let http = listen_port(svc, &["http"]).unwrap_or(0);
    let grpc = svc.port("grpc").map_or(9096, |p| p.listen);
    let retention = m.monitoring.retention.as_str();
    let content = format!(
        "# Loki configuration rendered by Hearth from `monitoring`.\n\
auth_enabled: false\n\
server:\n  http_listen_port: {http}\n  grpc_listen_port: {grpc}\n  log_level: info\n\
common:\n  instance_addr: 127.0.0.1\n  path_prefix: {data}\n  replication_factor: 1\n  \
storage:\n    filesystem:\n      chunks_directory: {chunks}\n      rules_directory: {rules}\n  \
ring:\n    kvstore:\n      store: inmemory\n\
schema_config:\n  configs:\n    - from: \"2024-01-01\"\n      store: tsdb\n      object_store: filesystem\n      \
schema: v13\n      index:\n        prefix: index_\n        period: 24h\n\
limits_config:\n  retention_period: {retention}\n\
compactor:\n  working_directory: {compactor}\n  retention_enabled: true\n  delete_request_store: filesystem\n\
analytics:\n  reporting_enabled: false\n",
        data = q(&data),
        chunks = q(&format!("{data}/chunks")),
        rules = q(&format!("{data}/rules")),
        compactor = q(&format!("{data}/compactor")),
        retention = q(retention),
    );
    let file = File::new(svc.on.name(), path, Kind::Loki, content);
    out.push(Runner::of(cx, name, svc).config(file).from("monitoring").from(format!("service/{name}")));
}
