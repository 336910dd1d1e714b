//! Guests: ids allocated (explicit, then remembered, then the lowest free from 100, by name),
//! addresses from `addresses`, the rest of their settings defaulted.

use std::collections::{BTreeMap, BTreeSet};

use hearth_spec::ast::{self, Runtime};
use hearth_spec::units::Size;
use hearth_spec::{Code, Diagnostic};

use super::Resolver;
use super::addresses::AddressPool;
use crate::model::{Guest, GuestKind, Network};

impl Resolver<'_> {
    pub(super) fn guests(&mut self, networks: &BTreeMap<String, Network>) -> BTreeMap<String, Guest> {
        let mut names: Vec<&str> = self.spec.guests.names().collect();
        names.sort_unstable();
        let ids = self.guest_ids(&names);
        let mut pool = self.address_pool();
        let mut out = BTreeMap::new();
        for name in names {
            let Some(g) = self.spec.guests.get(name) else { continue };
            let id = ids.get(name).copied().unwrap_or(0);
            if let Some(guest) = self.guest(name, g, id, networks, &mut pool) {
                out.insert(name.to_string(), guest);
            }
        }
        out
    }

    /// Guest ids: explicit ones first, then remembered ones, then the lowest free from 100.
    fn guest_ids(&mut self, names: &[&str]) -> BTreeMap<String, u32> {
        let spec = self.spec;
        let mut used_ids: BTreeSet<u32> = BTreeSet::new();
        let mut ids: BTreeMap<String, u32> = BTreeMap::new();
        for e in &spec.guests.entries {
            if let Some(id) =
                e.value.lxc.as_ref().and_then(|l| l.id.as_ref()).or(e.value.vm.as_ref().and_then(|v| v.id.as_ref()))
            {
                self.origins.guest_ids.insert(e.name.clone(), id.span);
                used_ids.insert(id.value);
                ids.insert(e.name.clone(), id.value);
            }
        }
        // Remembered ids are claimed before any fresh allocation, so a new guest whose name sorts
        // first cannot take an id another guest already had.
        for name in names {
            let key = format!("guest/{name}/id");
            let prev = self.previous.get(&key).and_then(|v| v.parse::<u32>().ok());
            if let Some(id) = prev.filter(|v| *v >= 100 && !used_ids.contains(v) && !ids.contains_key(*name)) {
                used_ids.insert(id);
                ids.insert(name.to_string(), id);
                self.allocations.set(key, id.to_string());
            }
        }
        for name in names {
            if ids.contains_key(*name) {
                continue;
            }
            let id = (100..).find(|i| !used_ids.contains(i)).unwrap_or(100);
            used_ids.insert(id);
            ids.insert(name.to_string(), id);
            self.allocations.set(format!("guest/{name}/id"), id.to_string());
        }
        ids
    }

    /// One guest, its settings defaulted; `None` when it is neither (or both) LXC and VM.
    fn guest(
        &mut self,
        name: &str,
        g: &ast::Guest,
        id: u32,
        networks: &BTreeMap<String, Network>,
        pool: &mut AddressPool,
    ) -> Option<Guest> {
        let spec = self.spec;
        let (kind, host) = match (&g.lxc, &g.vm) {
            (Some(l), None) => (GuestKind::Lxc, &l.on),
            (None, Some(v)) => (GuestKind::Vm, &v.on),
            (Some(_), Some(v)) => {
                self.diags.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        v.span,
                        format!("guest `{name}` is both an LXC container and a VM"),
                    )
                    .help("keep either `lxc:` or `vm:`"),
                );
                return None;
            }
            (None, None) => {
                let span = spec.guests.entry(name).map_or(g.span, |e| e.key_span);
                self.diags.push(
                    Diagnostic::new(Code::MissingKey, span, format!("guest `{name}` says neither `lxc:` nor `vm:`"))
                        .help("add `lxc: { on: <host> }` or `vm: { on: <host> }`"),
                );
                return None;
            }
        };
        match spec.hosts.get(&host.value) {
            None if !spec.hosts.is_declared(&host.value) => {
                self.unknown(host.span, "host", &host.value, spec.hosts.names().collect());
            }
            Some(h) if h.proxmox.is_none() => {
                self.diags.push(
                    Diagnostic::new(Code::WrongKind, host.span, format!("host `{}` is not a Proxmox node", host.value))
                        .label("guests need a Proxmox host")
                        .help(format!(
                            "add `proxmox: {{}}` to host `{}`, or run the services on it directly",
                            host.value
                        )),
                );
            }
            _ => {}
        }
        let net_name = g.network.as_ref().map(|n| n.value.clone());
        if let Some(n) = &g.network
            && !spec.networks.is_declared(&n.value)
        {
            self.unknown(n.span, "network", &n.value, spec.networks.names().collect());
        }
        let address = match (&g.address, &net_name) {
            (Some(a), _) => Some(a.value.0),
            (None, Some(net)) => self.guest_address(name, net, true, pool),
            (None, None) => None,
        };
        let mut interfaces = Vec::new();
        if let Some(net) = &net_name {
            interfaces.push(self.interface(net, address, None, true));
        }
        for i in &g.interfaces {
            let net = &i.network.value;
            if !spec.networks.is_declared(net) {
                self.unknown(i.network.span, "network", net, spec.networks.names().collect());
            }
            // A second interface on the primary's network is reported (E821), not allocated.
            let address = match &i.address {
                Some(a) => Some(a.value.0),
                None if net_name.as_ref() != Some(net) => self.guest_address(name, net, false, pool),
                None => None,
            };
            interfaces.push(self.interface(net, address, i.bridge.as_deref(), false));
        }
        let storage = match kind {
            GuestKind::Lxc => g.lxc.as_ref().and_then(|l| l.storage.as_ref()),
            GuestKind::Vm => g.vm.as_ref().and_then(|v| v.storage.as_ref()),
        };
        if let (Some(st), Some(h)) = (storage, spec.hosts.get(&host.value))
            && !h.storage.is_declared(&st.value)
        {
            self.unknown(st.span, "storage pool", &st.value, h.storage.names().collect());
        }
        let os = g.os.as_ref().map_or_else(|| "debian-12".to_string(), |o| o.value.clone());
        let runtime = g.runtime.as_ref().map_or(Runtime::Native, |r| r.value);
        let mut mounts = BTreeMap::new();
        // `share:NAME` mounts are the shares resolver's (resolve/shares.rs).
        for e in g.mounts.entries.iter().filter(|e| !e.value.from.value.starts_with(super::shares::SHARE_PREFIX)) {
            match self.host_path(&host.value, &e.value.from.value) {
                Ok(p) => {
                    mounts.insert(e.name.clone(), p);
                }
                Err(msg) => self.diags.push(
                    Diagnostic::new(
                        Code::UnknownReference,
                        e.value.from.span,
                        format!("cannot mount `{}`: {msg}", e.value.from.value),
                    )
                    .help("name a pool and dataset declared under the host's `storage:`, or an absolute path"),
                ),
            }
        }
        let mut features = Vec::new();
        if kind == GuestKind::Lxc {
            let lxc = g.lxc.as_ref();
            if runtime == Runtime::Docker || lxc.and_then(|l| l.nesting) == Some(true) {
                features.push("nesting=1".to_string());
            }
            if runtime == Runtime::Docker {
                features.push("keyctl=1".to_string());
            }
        }
        let size = g.size.as_ref();
        let backup: Vec<String> = g
            .backup
            .as_ref()
            .map(|b| b.policies().iter().map(|p| p.policy.value.clone()).collect())
            .unwrap_or_default();
        let nixos = g.nixos.as_ref().map(|n| crate::model::NixosSettings {
            gc: n.gc.as_ref().map(|gc| crate::model::NixGc {
                on_calendar: gc.every.value.on_calendar(),
                older_than_days: gc.older_than.as_ref().map(|d| d.value.as_secs().div_ceil(86_400)),
            }),
            upgrade: n.upgrade.as_ref().map(|u| crate::model::NixUpgrade {
                on_calendar: u.every.value.on_calendar(),
                reboot: u.reboot.unwrap_or(false),
            }),
        });
        let snapshot = g.snapshot.as_ref().or_else(|| {
            let h = self.spec.hosts.get(&host.value)?;
            h.proxmox.as_ref()?.snapshot.as_ref()
        });
        let snapshot_keep = snapshot.filter(|s| s.before_apply.value).map(|s| s.keep.as_ref().map_or(3, |k| k.value));
        let vm = self.vm_hardware(g, &host.value, &os, storage.map_or("local-lvm", |s| s.value.as_str()));
        let devices = self.devices(name, g, &host.value, kind, &os, vm.as_ref());
        let host_disks =
            self.spec.hosts.get(&host.value).and_then(|h| h.hardware.as_ref()).map_or(&[][..], |hw| &hw.disks[..]);
        let passed_disks = g
            .devices
            .iter()
            .filter_map(|d| d.device.value.strip_prefix("disk:"))
            .filter(|d| host_disks.iter().any(|h| h.name.value == *d))
            .map(str::to_string)
            .collect();
        Some(Guest {
            kind,
            host: host.value.clone(),
            id,
            hostname: g.hostname.as_ref().map_or_else(|| name.to_string(), |h| h.value.clone()),
            os,
            network: net_name.clone(),
            address,
            zone: net_name.as_ref().and_then(|n| networks.get(n)).map(|n| n.zone.clone()),
            interfaces,
            cores: size.and_then(|s| s.cores.as_ref()).map_or(1, |c| c.value),
            memory: size.and_then(|s| s.memory.as_ref()).map_or(Size::new(512 << 20, true), |m| m.value),
            disk: size.and_then(|s| s.disk.as_ref()).map_or(Size::gib(8), |d| d.value),
            storage: storage.map(|s| s.value.clone()),
            swap: size.and_then(|s| s.swap.as_ref()).map(|s| s.value),
            runtime,
            managed: g.managed.unwrap_or(runtime != Runtime::None),
            unprivileged: g.lxc.as_ref().and_then(|l| l.unprivileged).unwrap_or(true),
            onboot: g.onboot.unwrap_or(true),
            tags: g.tags.clone(),
            description: g.description.clone(),
            vm,
            mounts,
            devices,
            passed_disks,
            features,
            backup,
            nixos,
            snapshot_keep,
        })
    }
}
