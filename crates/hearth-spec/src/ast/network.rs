//! `networks:` and `router:`.

use crate::decode::Sp;
use crate::net::{Addr, AddrRange, Cidr};
use crate::{spec_enum, spec_struct};

spec_struct! {
    /// A subnet, optionally a VLAN, in a security zone.
    pub struct Network {
        req cidr: Sp<Cidr>,
        /// Never allocated.
        opt gateway: Sp<Addr>,
        /// 802.1Q tag, 1-4094.
        opt vlan: Sp<u16>,
        /// Security zone label (default: the network's name).
        opt zone: Sp<String>,
        /// Machines here start no connection into other networks beyond DNS to this network's
        /// `dns:` resolvers, and ports opened to the homelab's networks stay closed to it
        /// (default: true for the zones `iot` and `guest`).
        opt isolated: Sp<bool>,
        /// Proxmox bridge (default `vmbr0`).
        opt bridge: String,
        /// Never allocated.
        def reserved: Vec<Sp<AddrRange>>,
        /// The router's DHCP pool; never allocated.
        opt dhcp: Sp<AddrRange>,
        /// Where Hearth allocates addresses (default: the whole subnet).
        opt allocate: Sp<AddrRange>,
        /// Resolvers handed to guests on this network.
        def dns: Vec<Sp<Addr>>,
        /// The guest that routes this network, at its gateway address (a pfSense or OPNsense VM):
        /// it may hold the gateway address, and stays unmanaged.
        opt router: Sp<String>,
        opt description: String,
        /// `planned` or `future`: checked and documented, not deployed (default `active`).
        opt status: Sp<super::Status>,
        /// Why or when, for a planned item (shown in the docs' Planned section).
        opt note: String,
    }
}

spec_struct! {
    /// One more network interface of a guest or host, beside the primary one its `network:`
    /// and `address:` give.
    pub struct Interface {
        /// The network the interface is on.
        req network: Sp<String>,
        /// Allocated inside the network when left out (guests only; a host's is written).
        opt address: Sp<Addr>,
        /// Proxmox bridge of a guest's interface (default: the network's `bridge`).
        opt bridge: String,
    }
}

spec_enum! {
    /// What the firewall does between zones when no `allow` entry says otherwise.
    pub enum PolicyDefault {
        /// Every zone reaches every service port of the others (isolated networks excepted).
        Allow = "allow",
        /// Zones reach only what the homelab's own connections and the `allow` entries name.
        Deny = "deny",
    }
}

spec_struct! {
    /// What may cross from one zone to another.
    pub struct ZonePolicy {
        /// `allow` (default) or `deny`.
        opt default: Sp<PolicyDefault>,
        /// Explicit openings between zones.
        def allow: Vec<Allow>,
    }
}

spec_struct! {
    /// Machines of the zone `from` may reach `to` (a zone or a service).
    pub struct Allow {
        /// A zone (a network's `zone`, by default its name).
        req from: Sp<String>,
        /// A zone, or a service.
        req to: Sp<String>,
        /// Only these ports (default: every port of the services there).
        def ports: Vec<Sp<u16>>,
        opt description: String,
    }
}

spec_enum! {
    /// A transport protocol.
    pub enum L4 { Tcp = "tcp", Udp = "udp" }
}

spec_struct! {
    /// The gateway to the internet.
    pub struct Router {
        opt address: Sp<Addr>,
        def forwards: Vec<Forward>,
    }
}

spec_struct! {
    /// A port forward from the WAN to a machine or service.
    pub struct Forward {
        req port: Sp<u16>,
        /// A guest, host or service.
        req to: Sp<String>,
        /// Port on the target (default: `port`).
        opt to_port: Sp<u16>,
        opt protocol: L4,
        opt description: String,
    }
}
