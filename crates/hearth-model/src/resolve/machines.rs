//! Networks and hosts, and how a storage path translates between a host and its guests.

use std::collections::BTreeMap;

use hearth_spec::suggest;

use super::Resolver;
use crate::model::{Host, HostKind, Network, Pool};
use crate::zones::Interface;

impl Resolver<'_> {
    pub(super) fn networks(&mut self) -> BTreeMap<String, Network> {
        self.spec
            .networks
            .iter()
            .map(|(name, n)| {
                let net = Network {
                    cidr: n.cidr.value.to_string(),
                    gateway: n.gateway.as_ref().map(|g| g.value.0),
                    vlan: n.vlan.as_ref().map(|v| v.value),
                    zone: n.zone.as_ref().map_or_else(|| name.to_string(), |z| z.value.clone()),
                    bridge: n.bridge.clone().unwrap_or_else(|| "vmbr0".into()),
                    reserved: n.reserved.iter().map(|r| r.value.to_string()).collect(),
                    dhcp: n.dhcp.as_ref().map(|d| d.value.to_string()),
                    allocate: n.allocate.as_ref().map(|a| a.value.to_string()),
                    dns: n.dns.iter().map(|d| d.value.0).collect(),
                    isolated: n.isolated.as_ref().map_or_else(
                        || {
                            let zone = n.zone.as_ref().map_or(name, |z| z.value.as_str());
                            crate::model::ISOLATED_ZONES.contains(&zone)
                        },
                        |i| i.value,
                    ),
                    router: n.router.as_ref().map(|r| r.value.clone()),
                };
                (name.to_string(), net)
            })
            .collect()
    }

    pub(super) fn hosts(&mut self) -> BTreeMap<String, Host> {
        let mut out = BTreeMap::new();
        for e in &self.spec.hosts.entries {
            let h = &e.value;
            if let Some(net) = &h.network
                && !self.spec.networks.is_declared(&net.value)
            {
                self.unknown(net.span, "network", &net.value, self.spec.networks.names().collect());
            }
            if let Some(a) = &h.address {
                self.origins.addresses.push((a.value.0, format!("host `{}`", e.name), a.span));
            }
            let mut interfaces = Vec::new();
            if let Some(net) = &h.network {
                interfaces.push(self.interface(&net.value, h.address.as_ref().map(|a| a.value.0), None, true));
            }
            for i in &h.interfaces {
                if !self.spec.networks.is_declared(&i.network.value) {
                    self.unknown(i.network.span, "network", &i.network.value, self.spec.networks.names().collect());
                }
                if let Some(a) = &i.address {
                    self.origins.addresses.push((a.value.0, format!("host `{}`", e.name), a.span));
                }
                let address = i.address.as_ref().map(|a| a.value.0);
                interfaces.push(self.interface(&i.network.value, address, i.bridge.as_deref(), false));
            }
            let pools = h
                .storage
                .iter()
                .map(|(pname, p)| {
                    let pool = Pool {
                        kind: p.kind,
                        size: p.size.as_ref().map(|s| s.value),
                        tier: p.tier.clone(),
                        path: p.path.clone().unwrap_or_else(|| format!("/{pname}")),
                        datasets: p.datasets.names().map(str::to_string).collect(),
                        disks: p.disks.iter().map(|d| d.value.clone()).collect(),
                        dataset_properties: p
                            .datasets
                            .iter()
                            .filter(|(_, props)| !props.is_empty())
                            .map(|(d, props)| (d.to_string(), props.clone()))
                            .collect(),
                        content: p.content.clone(),
                    };
                    (pname.to_string(), pool)
                })
                .collect();
            let hw = h.hardware.as_ref();
            out.insert(
                e.name.clone(),
                Host {
                    kind: if h.proxmox.is_some() { HostKind::Proxmox } else { HostKind::BareMetal },
                    node: h.proxmox.as_ref().map(|p| p.node.clone().unwrap_or_else(|| e.name.clone())),
                    api: h.proxmox.as_ref().map(|p| {
                        p.api.clone().unwrap_or_else(|| {
                            let at = h.address.as_ref().map_or_else(|| e.name.clone(), |a| a.value.to_string());
                            format!("https://{at}:8006")
                        })
                    }),
                    token: h
                        .proxmox
                        .as_ref()
                        .and_then(|p| p.token.as_ref())
                        .map(|t| crate::derive::reference(self.spec, t)),
                    version: h.proxmox.as_ref().and_then(|p| p.version.clone()),
                    address: h.address.as_ref().map(|a| a.value.0),
                    network: h.network.as_ref().map(|n| n.value.clone()),
                    interfaces,
                    runtime: h.runtime.as_ref().map(|r| r.value),
                    cores: hw.and_then(|h| h.cores.as_ref()).map(|c| c.value),
                    threads: hw.and_then(|h| h.threads.as_ref()).map(|c| c.value),
                    memory: hw.and_then(|h| h.memory.as_ref()).map(|m| m.value),
                    disks: hw
                        .map(|h| h.disks.iter().map(|d| (d.name.value.clone(), d.size)).collect())
                        .unwrap_or_default(),
                    pools,
                    expect: h.expect.as_ref().map_or_else(Default::default, |x| crate::totals::Stated {
                        cores: x.cores.as_ref().map(|c| c.value),
                        memory: x.memory.as_ref().map(|m| m.value),
                        disk: x.disk.as_ref().map(|m| m.value),
                        memory_free: x.memory_free.as_ref().map(|m| m.value),
                        disk_free: x.disk_free.as_ref().map(|m| m.value),
                    }),
                },
            );
        }
        // A router guest (a network's `router:`) at the router's address is the router itself,
        // not a second machine claiming its address.
        let router_guest = |a: std::net::IpAddr| {
            self.spec.networks.iter().filter_map(|(_, n)| n.router.as_ref()).any(|r| {
                self.spec.guests.get(&r.value).is_some_and(|g| {
                    g.address.as_ref().is_some_and(|x| x.value.0 == a)
                        || g.interfaces.iter().any(|i| i.address.as_ref().is_some_and(|x| x.value.0 == a))
                })
            })
        };
        if let Some(router) = &self.spec.router
            && let Some(a) = &router.address
            && !router_guest(a.value.0)
        {
            self.origins.addresses.push((a.value.0, "the router".into(), a.span));
        }
        out
    }

    /// An interface on network `net` (its bridge and VLAN from the network unless given).
    pub(super) fn interface(
        &self,
        net: &str,
        address: Option<std::net::IpAddr>,
        bridge: Option<&str>,
        primary: bool,
    ) -> Interface {
        let n = self.spec.networks.get(net);
        Interface {
            network: net.to_string(),
            address,
            bridge: bridge
                .map(str::to_string)
                .or_else(|| n.and_then(|n| n.bridge.clone()))
                .unwrap_or_else(|| "vmbr0".into()),
            vlan: n.and_then(|n| n.vlan.as_ref()).map(|v| v.value),
            primary,
        }
    }

    /// The host path of `pool/dataset` (or an absolute path) on a host, if the pool exists there.
    pub(super) fn host_path(&self, host: &str, source: &str) -> Result<String, String> {
        if source.starts_with('/') {
            return Ok(source.to_string());
        }
        let (pool_name, rest) = source.split_once('/').unwrap_or((source, ""));
        let Some(h) = self.spec.hosts.get(host) else {
            return Err(format!("host `{host}` is not declared"));
        };
        let Some(pool) = h.storage.get(pool_name) else {
            let pools: Vec<&str> = h.storage.names().collect();
            let hint = suggest::help_for(pool_name, pools.iter().copied(), "pools").unwrap_or_default();
            return Err(sentence(format!("host `{host}` has no storage pool `{pool_name}`"), &hint));
        };
        if !rest.is_empty() && !pool.datasets.is_empty() {
            let declared = pool
                .datasets
                .names()
                .any(|d| d == rest || rest.starts_with(&format!("{d}/")) || d.starts_with(&format!("{rest}/")));
            if !declared {
                let hint = suggest::help_for(rest, pool.datasets.names(), "datasets").unwrap_or_default();
                return Err(sentence(format!("pool `{pool_name}` on host `{host}` has no dataset `{rest}`"), &hint));
            }
        }
        let base = pool.path.clone().unwrap_or_else(|| format!("/{pool_name}"));
        Ok(if rest.is_empty() { base } else { format!("{base}/{rest}") })
    }

    /// The path inside a guest where a dataset is mounted.
    pub(super) fn guest_path(&self, guest: &str, source: &str) -> Result<String, String> {
        let Some(g) = self.spec.guests.get(guest) else { return Err(format!("guest `{guest}` is not declared")) };
        for e in &g.mounts.entries {
            let from = e.value.from.value.as_str();
            if source == from {
                return Ok(e.name.clone());
            }
            if let Some(rest) = source.strip_prefix(from).and_then(|r| r.strip_prefix('/')) {
                return Ok(format!("{}/{rest}", e.name.trim_end_matches('/')));
            }
        }
        Err(format!("`{source}` is not mounted into guest `{guest}`"))
    }
}

/// Joins a message and an optional hint with `; `.
fn sentence(message: String, hint: &str) -> String {
    if hint.is_empty() { message } else { format!("{message}; {hint}") }
}
