//! Docker: each machine's `docker:` block (daemon settings, pruning, Docker networks) and a
//! service's Docker-only settings, as the model carries them.

use std::collections::BTreeMap;

use hearth_spec::Spec;
use hearth_spec::ast::{self, NetworkMode};

use crate::docker::{Attachment, Daemon, Network, Prune, Settings};

/// The daemon of every host and guest that has a `docker:` block, by machine name.
pub(super) fn daemons(spec: &Spec) -> BTreeMap<String, Daemon> {
    let hosts = spec.hosts.iter().filter_map(|(n, h)| h.docker.as_ref().map(|d| (n, d)));
    let guests = spec.guests.iter().filter_map(|(n, g)| g.docker.as_ref().map(|d| (n, d)));
    hosts.chain(guests).map(|(name, d)| (name.to_string(), daemon(d))).collect()
}

fn daemon(d: &ast::DockerDaemon) -> Daemon {
    let log = d.log.as_ref();
    Daemon {
        storage_driver: d.storage_driver.as_ref().map(|s| s.value.clone()),
        log_driver: log.and_then(|l| l.driver.as_ref()).map(|s| s.value.clone()),
        log_max_size: log.and_then(|l| l.max_size.as_ref()).map(|s| s.value),
        log_max_files: log.and_then(|l| l.max_files.as_ref()).map(|s| s.value),
        prune: d.prune.as_ref().map(|p| Prune {
            every: p.every.value.clone(),
            all: p.all.unwrap_or(false),
            volumes: p.volumes.unwrap_or(false),
            older_than: p.older_than,
        }),
        networks: d
            .networks
            .iter()
            .map(|(key, n)| {
                let network = Network {
                    name: n.name.as_ref().map_or_else(|| key.to_string(), |s| s.value.clone()),
                    external: n.external.unwrap_or(false),
                    subnet: n.subnet.as_ref().map(|s| s.value),
                };
                (key.to_string(), network)
            })
            .collect(),
    }
}

/// A service's Docker-only settings: as written, over its app's `sysctls` and `shm_size`.
pub(super) fn settings(svc: &ast::Service, app: Option<&hearth_catalog::App>) -> Settings {
    let mut sysctls: BTreeMap<String, String> =
        app.map(|a| a.sysctls.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()).unwrap_or_default();
    sysctls.extend(svc.sysctls.iter().map(|(k, v)| (k.to_string(), v.value.clone())));
    Settings {
        gpus: svc.gpus.as_ref().map(|g| g.value),
        shm_size: svc.shm_size.as_ref().map(|s| s.value).or_else(|| app.and_then(|a| a.shm_size)),
        sysctls,
        init: svc.init.unwrap_or(false),
        group_add: svc.group_add.iter().map(|g| g.value.clone()).collect(),
        networks: svc
            .docker_networks
            .iter()
            .map(|(key, a)| Attachment {
                network: key.to_string(),
                address: a.address.as_ref().map(|a| a.value.0),
                aliases: a.aliases.clone(),
            })
            .collect(),
    }
}

/// The network mode a service's container gets: the spec's raw `compose: { network_mode: … }`
/// (the escape hatch replaces everything), then its `network_mode:`, then its app's, then the
/// VPN container it joins with `via:`.
pub(super) fn network_mode(svc: &ast::Service, app: Option<&hearth_catalog::App>) -> Option<String> {
    let raw = svc.compose.as_ref().and_then(|c| c.0.get("network_mode")?.as_str().map(str::to_string));
    raw.or_else(|| {
        svc.network_mode.as_ref().map(|m| match m.value {
            NetworkMode::Host => "host".to_string(),
            NetworkMode::None => "none".to_string(),
        })
    })
    .or_else(|| app.and_then(|a| a.network_mode.clone()))
    .or_else(|| svc.via.as_ref().map(|v| format!("service:{}", v.value)))
}
