//! k3s server settings a cluster's spec states, as a drop-in on each of its servers:
//! `/etc/rancher/k3s/config.yaml.d/hearth.yaml`. k3s reads `config.yaml` and then every file of
//! `config.yaml.d/` in name order at start, so the operator's own `config.yaml` (its token, its
//! TLS names) stays theirs; changing the drop-in restarts `k3s.service`.
//!
//! Today it holds one setting: `traefik: false` becomes `disable: [traefik]` (k3s's
//! `--disable traefik`). The homelab's proxy routes into the cluster over NodePorts, so the
//! bundled ingress is not needed; k3s removes it when it restarts with it disabled. Nothing is
//! rendered for a cluster that keeps k3s's defaults.

use hearth_spec::ast::ClusterKind;

use crate::{Activation, Context, File, Kind, Output};

/// Where k3s reads its configuration drop-ins.
const DROP_IN: &str = "/etc/rancher/k3s/config.yaml.d/hearth.yaml";

pub fn render(cx: &Context, out: &mut Output) {
    for (name, c) in &cx.model.clusters {
        if c.kind != ClusterKind::K3s || c.traefik {
            continue;
        }
        let content = format!(
            "# k3s server settings of cluster `{name}`, rendered by Hearth; read after config.yaml.\n\
             # The homelab's proxy routes into the cluster over NodePorts: no bundled Traefik.\n\
             disable:\n  - traefik\n"
        );
        for server in &c.servers {
            let file = File::new(server, DROP_IN, Kind::K3sConfig, content.clone())
                .from(format!("cluster/{name}"))
                .activate(Activation::Restart { unit: "k3s.service".into() });
            out.push(file);
        }
    }
}
