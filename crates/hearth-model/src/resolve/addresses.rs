//! Guest addresses: explicit ones claimed first, then the ones remembered in the lock file if
//! still usable, then the lowest free address of the guest's network, by guest name.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use hearth_spec::ast;
use hearth_spec::{Code, Diagnostic};

use super::Resolver;

/// Addresses already given out, and where each network's allocation goes on from.
pub(super) struct AddressPool {
    taken: HashSet<IpAddr>,
    /// Lock key (`guest/NAME/address`, `guest/NAME/address/NETWORK` for a further interface) ->
    /// the address from the lock file, still free and valid.
    remembered: BTreeMap<String, IpAddr>,
    /// Network -> the next address to try.
    cursors: BTreeMap<String, u128>,
}

impl Resolver<'_> {
    /// Claims every address the spec gives (guests, hosts, the router, DNS records) and the ones
    /// guests had before, so fresh allocation hands out neither.
    pub(super) fn address_pool(&mut self) -> AddressPool {
        let spec = self.spec;
        let mut taken: HashSet<IpAddr> = self.origins.addresses.iter().map(|a| a.0).collect();
        for e in &spec.guests.entries {
            if let Some(a) = &e.value.address {
                taken.insert(a.value.0);
                self.origins.addresses.push((a.value.0, format!("guest `{}`", e.name), a.span));
            }
            for i in &e.value.interfaces {
                if let Some(a) = &i.address {
                    taken.insert(a.value.0);
                    self.origins.addresses.push((a.value.0, format!("guest `{}`", e.name), a.span));
                }
            }
        }
        if let Some(dns) = &spec.dns {
            for e in &dns.records.entries {
                taken.insert(e.value.value.0);
            }
        }
        // Remembered addresses are claimed before any fresh allocation, so a new guest whose name
        // sorts first cannot take an address another guest already had.
        let mut remembered: BTreeMap<String, IpAddr> = BTreeMap::new();
        for e in &spec.guests.entries {
            let primary = e.value.address.is_none().then_some(e.value.network.as_ref()).flatten();
            let further = e.value.interfaces.iter().filter(|i| i.address.is_none()).map(|i| &i.network);
            for (net_name, key) in primary
                .map(|n| (n, format!("guest/{}/address", e.name)))
                .into_iter()
                .chain(further.map(|n| (n, format!("guest/{}/address/{}", e.name, n.value))))
            {
                let prev = self.previous.get(&key).and_then(|v| v.parse::<IpAddr>().ok());
                if let (Some(a), Some(net)) = (prev, spec.networks.get(&net_name.value))
                    && address_usable(net, a, &taken)
                {
                    taken.insert(a);
                    remembered.insert(key, a);
                }
            }
        }
        AddressPool { taken, remembered, cursors: BTreeMap::new() }
    }

    /// The address of guest `name` on network `net_name` (`None`: none, or the network is full).
    pub(super) fn guest_address(
        &mut self,
        name: &str,
        net_name: &str,
        primary: bool,
        pool: &mut AddressPool,
    ) -> Option<IpAddr> {
        let key = if primary { format!("guest/{name}/address") } else { format!("guest/{name}/address/{net_name}") };
        if let Some(a) = pool.remembered.get(&key).copied() {
            self.allocations.set(key, a.to_string());
            return Some(a);
        }
        let net = self.spec.networks.get(net_name)?;
        self.allocate_address(name, key, net_name, net, pool)
    }

    fn allocate_address(
        &mut self,
        guest: &str,
        key: String,
        net_name: &str,
        net: &ast::Network,
        pool: &mut AddressPool,
    ) -> Option<IpAddr> {
        let cidr = net.cidr.value.0;
        let to_u128 = |a: IpAddr| match a {
            IpAddr::V4(v) => u32::from(v) as u128,
            IpAddr::V6(v) => u128::from(v),
        };
        let from_u128 = |n: u128| -> IpAddr {
            if cidr.network().is_ipv4() {
                IpAddr::V4(std::net::Ipv4Addr::from(n as u32))
            } else {
                IpAddr::V6(std::net::Ipv6Addr::from(n))
            }
        };
        let (lo, hi) = match &net.allocate {
            Some(r) => (to_u128(r.value.first), to_u128(r.value.last)),
            None => (to_u128(cidr.network()).saturating_add(1), to_u128(cidr.broadcast())),
        };
        let start = pool.cursors.get(net_name).copied().unwrap_or(lo).max(lo);
        // Bounded: a /8 must not make allocation scan sixteen million addresses per guest.
        let end = hi.min(start.saturating_add(1 << 20));
        for n in start..=end {
            let a = from_u128(n);
            if address_usable(net, a, &pool.taken) {
                pool.taken.insert(a);
                pool.cursors.insert(net_name.to_string(), n.saturating_add(1));
                self.allocations.set(key, a.to_string());
                return Some(a);
            }
        }
        let span = net.allocate.as_ref().map_or(net.cidr.span, |r| r.span);
        self.diags.push(
            Diagnostic::new(
                Code::AllocationExhausted,
                span,
                format!("no free address left in network `{net_name}` for guest `{guest}`"),
            )
            .help("give the guest an `address:`, widen `allocate:`, or free addresses from `reserved:`"),
        );
        None
    }
}

/// Whether an allocator may hand out `a` in `net`.
fn address_usable(net: &ast::Network, a: IpAddr, taken: &HashSet<IpAddr>) -> bool {
    let cidr = net.cidr.value.0;
    cidr.contains(&a)
        && a != cidr.network()
        && a != cidr.broadcast()
        && net.gateway.as_ref().is_none_or(|g| g.value.0 != a)
        && !net.reserved.iter().any(|r| r.value.contains(a))
        && net.dhcp.as_ref().is_none_or(|d| !d.value.contains(a))
        && net.allocate.as_ref().is_none_or(|r| r.value.contains(a))
        && !taken.contains(&a)
}
