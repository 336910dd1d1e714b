//! `share:NAME` in the `mounts:` of a service on a cluster: the pod mounts the NFS share itself
//! (a Kubernetes `nfs` volume), so every node the pod may run on is a client the export admits
//! and the server's firewall opens to. A service on a guest or host mounts no share: its machine
//! does (`mounts:` of the guest or host), and the service binds that folder. Kubernetes has no
//! SMB volume of its own, so an SMB share on a cluster is refused.

use std::collections::{BTreeMap, BTreeSet};

use hearth_spec::ast::{Mount, ShareKind};
use hearth_spec::decode::Entry;
use hearth_spec::{Code, Diagnostic, Edit};

use super::Resolver;
use super::connections::sql_ident;
use super::shares::SHARE_PREFIX;
use crate::model::{Model, NfsVolume, Placement, Volume};

impl Resolver<'_> {
    /// Every service's `share:NAME` mounts, made volumes of its pods; returns, per share, the
    /// nodes that mount it for a pod, which become its clients when `clients:` names none.
    pub(super) fn pod_shares(&mut self, model: &mut Model) -> BTreeMap<String, BTreeSet<String>> {
        let mut clients: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for e in &self.spec.services.entries {
            for m in e.value.mounts.entries.iter().filter(|m| m.value.from.value.starts_with(SHARE_PREFIX)) {
                if let Some((share, nodes)) = self.pod_share(&e.name, m, model) {
                    clients.entry(share).or_default().extend(nodes);
                }
            }
        }
        clients
    }

    /// One `share:NAME` mount of service `service`: its volume, and the nodes that mount it.
    fn pod_share(&mut self, service: &str, m: &Entry<Mount>, model: &mut Model) -> Option<(String, Vec<String>)> {
        let from = &m.value.from;
        let name = from.value.strip_prefix(SHARE_PREFIX)?;
        let s = model.services.get(service)?;
        let Some(share) = model.shares.get(name) else {
            if !self.spec.shares.is_declared(name) || self.spec.shares.broken.iter().any(|b| b == name) {
                let candidates: Vec<&str> = self.spec.shares.names().collect();
                self.unknown(from.span, "share", name, candidates);
            }
            return None;
        };
        let Placement::Cluster(cluster) = &s.on else {
            let machine = s.on.name();
            self.diags.push(
                Diagnostic::new(
                    Code::ShareOnServiceUnfit,
                    from.span,
                    format!("service `{service}` runs on `{machine}`, which mounts shares for its services"),
                )
                .label("only a pod mounts a share itself")
                .help(format!(
                    "mount the share on `{machine}` (`/mnt/{name}: share:{name}` under its `mounts:`) and give the service that folder (`{}: /mnt/{name}`)",
                    m.name
                )),
            );
            return None;
        };
        if share.kind == ShareKind::Smb {
            self.diags.push(
                Diagnostic::new(
                    Code::ShareOnServiceUnfit,
                    from.span,
                    format!("share `{name}` is SMB, which Kubernetes cannot mount into a pod by itself"),
                )
                .label(format!("`{service}` runs on cluster `{cluster}`"))
                .help(format!(
                    "serve the folder over NFS (`kind: nfs` on share `{name}`), or install the SMB CSI driver (csi-driver-smb) on the cluster and mount it through a claim outside Hearth"
                )),
            );
            return None;
        }
        if !m.name.starts_with('/') {
            self.diags.push(
                Diagnostic::new(Code::SharePathInvalid, m.key_span, format!("mount path `{}` is not absolute", m.name))
                    .label("where the share appears in the container")
                    .help(format!("write an absolute path such as `/{}`", m.name.trim_start_matches('/'))),
            );
            return None;
        }
        let spec_share = self.spec.shares.get(name);
        let readonly = self.mount_readonly(name, service, m.value.readonly.as_ref(), share.readonly);
        // The nodes the pod may be scheduled on: its `nodes:`, else every node of the cluster.
        let nodes: Vec<String> = if s.nodes.is_empty() {
            model.cluster_nodes(cluster).into_iter().map(str::to_string).collect()
        } else {
            s.nodes.iter().filter(|n| model.cluster_nodes(cluster).contains(&n.as_str())).cloned().collect()
        };
        if let Some(spec_share) = spec_share.filter(|s| !s.clients.is_empty()) {
            for node in &nodes {
                let named = spec_share.clients.iter().any(|c| &c.value == node);
                let in_network = model.interfaces(node).iter().any(|i| share.networks.contains(&i.network));
                if named || in_network {
                    continue;
                }
                let mut d = Diagnostic::new(
                    Code::ShareClientNotAllowed,
                    from.span,
                    format!(
                        "pods of `{service}` mount share `{name}` from node `{node}`, which its `clients:` do not admit"
                    ),
                )
                .label("the server would refuse this mount");
                if let Some(list) = spec_share.spans.value("clients") {
                    d = d
                        .with(list, "the machines and networks allowed")
                        .suggest_edit(Edit::append(list, node.as_str()));
                }
                self.diags.push(d.help(format!("add `{node}` to the share's `clients:`")));
            }
        }
        let (Some(server), Some(source)) = (share.address, share.source()) else {
            return Some((name.to_string(), nodes));
        };
        let volume = Volume {
            name: sql_ident(m.name.trim_start_matches('/')),
            source,
            target: m.name.trim_end_matches('/').to_string(),
            stateful: false,
            readonly,
            dataset: None,
            nfs: Some(NfsVolume { share: name.to_string(), server, path: share.path.clone() }),
        };
        if let Some(s) = model.services.get_mut(service) {
            s.volumes.push(volume);
        }
        Some((name.to_string(), nodes))
    }
}
