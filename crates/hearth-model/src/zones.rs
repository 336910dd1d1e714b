//! Machines on several networks and the zone policy between networks.
//!
//! A guest or host has a primary interface (its `network:` and `address:`: SSH, the default
//! route) and may have more (`interfaces:`). Which of them a connection leaves from follows the
//! routing table every machine gets: the interface on the network holding the destination, else
//! the primary one (the default route). The zone of a connection's ends is the zone of the
//! network each address is in, and the policy (`policy:`) says which zones may reach which:
//! within a zone everything the firewall opens is reachable, between zones what `default` and
//! the `allow` entries say.

use std::net::IpAddr;

use serde::Serialize;

use crate::model::{Model, Network, Service};

/// One network interface of a machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    pub network: String,
    pub address: Option<IpAddr>,
    /// The Proxmox bridge a guest's interface is attached to.
    pub bridge: String,
    /// The 802.1Q tag of the network, set on a guest's interface.
    pub vlan: Option<u16>,
    /// The primary interface: SSH and the default route.
    pub primary: bool,
}

/// What may cross between zones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ZonePolicy {
    /// `deny`: zones reach each other only through the homelab's own connections (which the
    /// checks require an `allow` for) and the `allow` entries. `allow` (the default): every zone
    /// that is not isolated reaches every service port.
    pub deny: bool,
    pub allow: Vec<Allow>,
}

/// Machines of zone `from` may reach `to` (a zone or a service) on `ports` (empty: all of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allow {
    pub from: String,
    pub to: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<u16>,
}

impl Allow {
    /// Whether this entry lets zone `from` reach `port` of `service` (if any) in zone `to`.
    pub fn admits(&self, from: &str, to: &str, service: Option<&str>, port: u16) -> bool {
        self.from == from
            && (self.to == to || Some(self.to.as_str()) == service)
            && (self.ports.is_empty() || self.ports.contains(&port))
    }

    /// Whether this entry opens `port` of service `name`, listening in zones `listens`, to every
    /// machine of zone `from`. An entry naming a zone opens all its ports, data ports included
    /// ("all servers can communicate"). An entry naming the service opens its ports for clients;
    /// its `closed` ones (data, exposed, metrics, DNS and share ports, which open only to the
    /// connections the homelab makes) only when `ports:` names them: a consumer's connection to
    /// a database across zones then needs `{ from, to: service }` without opening the database
    /// to the consumer's whole zone.
    pub fn opens(&self, from: &str, name: &str, listens: &[&str], port: u16, closed: bool) -> bool {
        if self.from != from {
            return false;
        }
        if listens.contains(&self.to.as_str()) {
            return self.ports.is_empty() || self.ports.contains(&port);
        }
        self.to == name && (self.ports.contains(&port) || (self.ports.is_empty() && !closed))
    }
}

impl Model {
    /// Every interface of a guest or host, the primary one first.
    pub fn interfaces(&self, machine: &str) -> &[Interface] {
        if let Some(g) = self.guests.get(machine) {
            return &g.interfaces;
        }
        self.hosts.get(machine).map_or(&[], |h| h.interfaces.as_slice())
    }

    /// The network whose subnet holds `address`.
    pub fn network_holding(&self, address: IpAddr) -> Option<(&str, &Network)> {
        self.networks
            .iter()
            .find(|(_, n)| n.cidr.parse::<ipnet::IpNet>().is_ok_and(|c| c.contains(&address)))
            .map(|(name, n)| (name.as_str(), n))
    }

    /// The zone of the network holding `address`.
    pub fn zone_of(&self, address: IpAddr) -> Option<&str> {
        self.network_holding(address).map(|(_, n)| n.zone.as_str())
    }

    /// The address `machine`'s connections to `to` leave from: its interface on the network
    /// holding `to`, else its primary address (the default route).
    pub fn address_toward(&self, machine: &str, to: Option<IpAddr>) -> Option<IpAddr> {
        let direct = to.and_then(|to| {
            let (net, _) = self.network_holding(to)?;
            self.interfaces(machine).iter().find(|i| i.network == net).and_then(|i| i.address)
        });
        direct.or_else(|| self.machine_address(machine))
    }

    /// Where a connection to `service` (or to `machine` when there is none) arrives: the
    /// service's own address, else the machine's primary one.
    pub fn destination(&self, machine: &str, service: Option<&Service>) -> Option<IpAddr> {
        service.and_then(|s| s.address).or_else(|| self.machine_address(machine))
    }

    /// The zones a machine has an interface in, primary first, each once.
    pub fn zones_of(&self, machine: &str) -> Vec<&str> {
        let mut zones: Vec<&str> = Vec::new();
        for i in self.interfaces(machine) {
            if let Some(n) = self.networks.get(&i.network)
                && !zones.contains(&n.zone.as_str())
            {
                zones.push(&n.zone);
            }
        }
        zones
    }

    /// Every zone the networks name, each once, in network order.
    pub fn zones(&self) -> Vec<&str> {
        let mut zones: Vec<&str> = Vec::new();
        for n in self.networks.values() {
            if !zones.contains(&n.zone.as_str()) {
                zones.push(&n.zone);
            }
        }
        zones
    }

    /// Whether a connection from zone `from` to `port` of `service` in zone `to` may pass: the
    /// same zone, an `allow` entry, or (under `default: allow`) any zone that is not isolated.
    pub fn policy_admits(&self, from: &str, to: &str, service: Option<&str>, port: u16) -> bool {
        if from == to || self.policy.allow.iter().any(|a| a.admits(from, to, service, port)) {
            return true;
        }
        !self.policy.deny && !self.zone_isolated(from)
    }

    /// Whether every network of a zone is isolated.
    pub fn zone_isolated(&self, zone: &str) -> bool {
        let mut nets = self.networks.values().filter(|n| n.zone == zone).peekable();
        nets.peek().is_some() && nets.all(|n| n.isolated)
    }
}
