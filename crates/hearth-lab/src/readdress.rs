//! Re-addressing: every spec address moved into the lab's own subnets, by its offset.
//!
//! The lab never uses a spec's addresses: a user's LAN (often `192.168.1.0/24`) would collide
//! with a Docker network of the same range, and nothing here may send a packet to a real machine.
//! Each spec network gets a lab subnet of the same size, and every IPv4 address or subnet in the
//! spec's text is replaced by the one at the same offset in its network's lab subnet. Working on
//! the text, before decoding, reaches every field without listing them: machine addresses,
//! gateways, DNS records, reserved ranges, and addresses inside URLs such as a Proxmox `api:`.
//! The resolver then runs on the re-addressed spec, so everything derived from it (rendered files,
//! firewall rules, connection strings) carries lab addresses.
//!
//! Pure: planning takes the subnets already in use as an argument.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::tokens::{Token, tokens};

/// What becomes of one spec address or subnet in the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapped<T> {
    /// It lies in a spec network: this is its lab counterpart.
    To(T),
    /// It belongs to no homelab (see [`passes_through`]) and stays as written.
    Keep,
    /// A private address outside every spec network: the lab has no counterpart for it.
    Outside,
}

impl<T> Mapped<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Mapped<U> {
        match self {
            Mapped::To(t) => Mapped::To(f(t)),
            Mapped::Keep => Mapped::Keep,
            Mapped::Outside => Mapped::Outside,
        }
    }
}

/// Where the lab looks for free subnets: far from Docker's default pools (`172.17.0.0/16` and
/// up, `192.168.0.0/16`) and from the `10.0.x.0`/`10.10.x.0` ranges homelabs favour.
const POOL: &str = "10.200.0.0/13";

/// A spec network and the lab subnet that stands in for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub spec: Ipv4Net,
    pub lab: Ipv4Net,
}

/// The lab subnet of every spec network, by network name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressMap {
    pub networks: BTreeMap<String, Subnet>,
}

/// Why a spec cannot be re-addressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReaddressError {
    #[error("network `{name}` has the IPv6 subnet `{cidr}`: the lab re-addresses IPv4 networks only")]
    Ipv6 { name: String, cidr: String },
    #[error("network `{name}` (`{cidr}`) is larger than the lab's address pool `{POOL}`")]
    TooLarge { name: String, cidr: String },
    #[error("no free lab subnet of size /{prefix} is left in `{POOL}` for network `{name}`")]
    PoolExhausted { name: String, prefix: u8 },
    #[error("`{address}` (line {line}) is outside every spec network, so the lab has no address for it")]
    Outside { address: String, line: usize },
}

impl AddressMap {
    /// Gives each network a free lab subnet of its size. `taken` holds the subnets in use on this
    /// machine (Docker networks, host routes); spec networks are avoided too, so a lab address is
    /// never one of the spec's. Networks keep the subnet `previous` gave them when it is still
    /// free and of the right size, so addresses stay stable across `lab up` runs.
    pub fn plan(
        networks: &[(String, ipnet::IpNet)],
        taken: &[Ipv4Net],
        previous: &AddressMap,
    ) -> Result<AddressMap, ReaddressError> {
        let mut specs = Vec::new();
        for (name, cidr) in networks {
            match cidr {
                ipnet::IpNet::V4(net) => specs.push((name.clone(), *net)),
                ipnet::IpNet::V6(net) => {
                    return Err(ReaddressError::Ipv6 { name: name.clone(), cidr: net.to_string() });
                }
            }
        }
        let mut used: Vec<Ipv4Net> = taken.to_vec();
        used.extend(specs.iter().map(|(_, net)| *net));
        let mut map = AddressMap::default();
        // Remembered subnets first, so a new network cannot take an old one's place.
        let mut pending = Vec::new();
        for (name, spec) in specs {
            match previous.networks.get(&name) {
                Some(old) if old.spec.prefix_len() == spec.prefix_len() && !overlaps(&used, old.lab) => {
                    used.push(old.lab);
                    map.networks.insert(name, Subnet { spec, lab: old.lab });
                }
                _ => pending.push((name, spec)),
            }
        }
        let pool: Ipv4Net = POOL.parse().expect("the pool is a valid subnet");
        for (name, spec) in pending {
            let prefix = spec.prefix_len();
            if prefix < pool.prefix_len() {
                return Err(ReaddressError::TooLarge { name, cidr: spec.to_string() });
            }
            let lab = pool
                .subnets(prefix)
                .map_err(|_| ReaddressError::TooLarge { name: name.clone(), cidr: spec.to_string() })?
                .find(|candidate| !overlaps(&used, *candidate))
                .ok_or_else(|| ReaddressError::PoolExhausted { name: name.clone(), prefix })?;
            used.push(lab);
            map.networks.insert(name, Subnet { spec, lab });
        }
        Ok(map)
    }

    /// The lab address standing in for a spec address.
    pub fn address(&self, addr: Ipv4Addr) -> Mapped<Ipv4Addr> {
        for subnet in self.networks.values() {
            if subnet.spec.contains(&addr) {
                let offset = u32::from(addr) - u32::from(subnet.spec.network());
                return Mapped::To(Ipv4Addr::from(u32::from(subnet.lab.network()) + offset));
            }
        }
        if passes_through(addr) { Mapped::Keep } else { Mapped::Outside }
    }

    /// The lab subnet standing in for a spec subnet inside one of the spec networks.
    fn subnet(&self, net: Ipv4Net) -> Mapped<Ipv4Net> {
        for subnet in self.networks.values() {
            if subnet.spec.contains(&net) {
                let offset = u32::from(net.network()) - u32::from(subnet.spec.network());
                let lab = Ipv4Addr::from(u32::from(subnet.lab.network()) + offset);
                return match Ipv4Net::new(lab, net.prefix_len()) {
                    Ok(n) => Mapped::To(n),
                    Err(_) => Mapped::Outside,
                };
            }
        }
        if passes_through(net.network()) { Mapped::Keep } else { Mapped::Outside }
    }

    /// Rewrites every IPv4 address and subnet in a spec file's text (comments excepted).
    pub fn rewrite(&self, text: &str) -> Result<String, ReaddressError> {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for Token { start, end, addr, prefix } in tokens(text) {
            let replacement = match prefix {
                None => self.address(addr).map(|a| a.to_string()),
                Some(p) => match Ipv4Net::new(addr, p) {
                    Ok(net) if net.trunc() == net => self.subnet(net).map(|n| n.to_string()),
                    // An address with a prefix (`10.0.0.5/24`) keeps its prefix and moves.
                    _ => self.address(addr).map(|a| format!("{a}/{p}")),
                },
            };
            match replacement {
                Mapped::Keep => {}
                Mapped::To(new) => {
                    out.push_str(&text[last..start]);
                    out.push_str(&new);
                    last = end;
                }
                Mapped::Outside => {
                    let line = text[..start].matches('\n').count() + 1;
                    return Err(ReaddressError::Outside { address: text[start..end].to_string(), line });
                }
            }
        }
        out.push_str(&text[last..]);
        Ok(out)
    }
}

/// Addresses that belong to no homelab and so need no lab counterpart: loopback and the
/// unspecified address (`127.0.0.1`, `0.0.0.0` in listen settings), multicast and broadcast, and
/// public internet addresses (upstream resolvers such as `1.1.1.1`), which lab machines cannot
/// reach anyway: their networks are internal. Every other address (private, shared, link-local)
/// must lie in a spec network.
fn passes_through(addr: Ipv4Addr) -> bool {
    let o = addr.octets();
    let shared = o[0] == 100 && (o[1] & 0xc0) == 64;
    let reserved = o[0] >= 240 || o[0] == 0 || (o[0] == 192 && o[1] == 0 && o[2] == 0);
    let documentation = (o[0] == 192 && o[1] == 0 && o[2] == 2)
        || (o[0] == 198 && o[1] == 51 && o[2] == 100)
        || (o[0] == 203 && o[1] == 0 && o[2] == 113);
    let benchmarking = o[0] == 198 && (o[1] & 0xfe) == 18;
    let local = addr.is_private() || addr.is_link_local() || shared || documentation || benchmarking;
    addr.is_loopback() || addr.is_unspecified() || addr.is_multicast() || addr.is_broadcast() || (!local && !reserved)
}

fn overlaps(used: &[Ipv4Net], candidate: Ipv4Net) -> bool {
    used.iter().any(|u| u.contains(&candidate) || candidate.contains(u))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(nets: &[(&str, &str)], taken: &[&str]) -> AddressMap {
        let nets: Vec<_> = nets.iter().map(|(n, c)| (n.to_string(), c.parse().unwrap())).collect();
        let taken: Vec<Ipv4Net> = taken.iter().map(|t| t.parse().unwrap()).collect();
        AddressMap::plan(&nets, &taken, &AddressMap::default()).unwrap()
    }

    /// One rewrite: spec text in, lab text (or the error message) out.
    fn check(input: &str, expected: &str) {
        let m = map(&[("lan", "192.168.1.0/24"), ("data", "10.0.20.0/24"), ("big", "10.8.0.0/16")], &[]);
        let got = match m.rewrite(input) {
            Ok(text) => text,
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expected, "rewriting {input:?}");
    }

    #[test]
    fn rewrites_every_address_by_offset() {
        check("address: 192.168.1.10", "address: 10.200.0.10");
        check("cidr: 192.168.1.0/24, gateway: 192.168.1.1", "cidr: 10.200.0.0/24, gateway: 10.200.0.1");
        check("api: \"https://192.168.1.10:8006\"", "api: \"https://10.200.0.10:8006\"");
        check("reserved: [192.168.1.2-192.168.1.9]", "reserved: [10.200.0.2-10.200.0.9]");
        check("db: 10.0.20.12", "db: 10.200.1.12");
        check("x: 10.8.3.4", "x: 10.201.3.4");
        check("route: 10.8.3.0/24", "route: 10.201.3.0/24");
        check("iface: 192.168.1.7/24", "iface: 10.200.0.7/24");
        check("url: postgres://u@10.0.20.12:5432/db", "url: postgres://u@10.200.1.12:5432/db");
    }

    #[test]
    fn leaves_what_belongs_to_no_homelab() {
        check("upstream: [1.1.1.1, 9.9.9.9]", "upstream: [1.1.1.1, 9.9.9.9]");
        check("listen: 0.0.0.0, lo: 127.0.0.1", "listen: 0.0.0.0, lo: 127.0.0.1");
        check("image: app:1.2.3.4", "image: app:1.2.3.4");
        check("version: 1.2.3", "version: 1.2.3");
        check("name: host-a.1.2", "name: host-a.1.2");
        check("address: 192.168.1.10 # was 172.16.0.4", "address: 10.200.0.10 # was 172.16.0.4");
        check("note: \"a # 192.168.1.3\"", "note: \"a # 10.200.0.3\"");
    }

    #[test]
    fn refuses_private_addresses_outside_every_network() {
        check(
            "a: 1\nb: 192.168.2.10",
            "error: `192.168.2.10` (line 2) is outside every spec network, so the lab has no address for it",
        );
        check(
            "c: 172.16.0.0/12",
            "error: `172.16.0.0/12` (line 1) is outside every spec network, so the lab has no address for it",
        );
    }

    #[test]
    fn avoids_subnets_in_use_and_keeps_previous_ones() {
        let m = map(&[("lan", "192.168.1.0/24")], &["10.200.0.0/16", "10.201.0.0/24"]);
        assert_eq!(m.networks["lan"].lab.to_string(), "10.201.1.0/24");
        let nets = vec![
            ("lan".to_string(), "192.168.1.0/24".parse().unwrap()),
            ("b".to_string(), "10.1.0.0/24".parse().unwrap()),
        ];
        let again = AddressMap::plan(&nets, &[], &m).unwrap();
        assert_eq!(again.networks["lan"].lab.to_string(), "10.201.1.0/24");
        assert_eq!(again.networks["b"].lab.to_string(), "10.200.0.0/24");
        let v6 = vec![("v6".to_string(), "fd00::/64".parse().unwrap())];
        assert!(matches!(AddressMap::plan(&v6, &[], &m), Err(ReaddressError::Ipv6 { .. })));
        let huge = vec![("huge".to_string(), "10.0.0.0/8".parse().unwrap())];
        assert!(matches!(AddressMap::plan(&huge, &[], &m), Err(ReaddressError::TooLarge { .. })));
    }
}
