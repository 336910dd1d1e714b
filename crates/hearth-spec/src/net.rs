//! Network values: addresses, subnets and address ranges.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::decode::{Cx, Decode, string_schema};
use crate::diagnostic::{Code, Diagnostic};
use crate::yaml::Node;

/// An IPv4 or IPv6 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Addr(pub IpAddr);

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Decode for Addr {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = cx.scalar(node, "an IP address")?;
        match text.trim().parse::<IpAddr>() {
            Ok(a) => Some(Addr(a)),
            Err(_) => {
                let help = if text.contains('/') {
                    "an address has no prefix length: drop the `/..` part"
                } else {
                    "write an address such as `192.168.1.10`"
                };
                cx.invalid(node, format!("`{text}` is not an IP address"), help);
                None
            }
        }
    }
}

impl schemars::JsonSchema for Addr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Address".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        string_schema("An IPv4 or IPv6 address, e.g. `192.168.1.10`", None)
    }
}

impl serde::Serialize for Addr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// An address and port to listen on, `ADDR:PORT` (IPv6 as `[ADDR]:PORT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Listen(pub std::net::SocketAddr);

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Decode for Listen {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = cx.scalar(node, "an address and port like `127.0.0.1:9180`")?;
        match text.trim().parse::<std::net::SocketAddr>() {
            Ok(a) if a.port() != 0 => Some(Listen(a)),
            Ok(_) => {
                cx.invalid(node, format!("`{text}` has port 0"), "give a port from 1 to 65535, e.g. `127.0.0.1:9180`");
                None
            }
            Err(_) => {
                let help = if text.trim().parse::<IpAddr>().is_ok() {
                    format!("add the port: `{}:9180`", text.trim())
                } else {
                    "write an address and a port, e.g. `127.0.0.1:9180` or `0.0.0.0:9180`".to_string()
                };
                cx.invalid(node, format!("`{text}` is not an address and port"), help);
                None
            }
        }
    }
}

impl schemars::JsonSchema for Listen {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Listen".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        string_schema("An address and port, e.g. `127.0.0.1:9180` or `[::1]:9180`", None)
    }
}

impl serde::Serialize for Listen {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// A subnet in CIDR notation, always with its host bits zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr(pub IpNet);

impl Cidr {
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.0.contains(&addr)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Decode for Cidr {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = cx.scalar(node, "a subnet like `192.168.1.0/24`")?;
        match text.trim().parse::<IpNet>() {
            Ok(net) if net.trunc() == net => Some(Cidr(net)),
            Ok(net) => {
                let fixed = net.trunc().to_string();
                cx.invalid_fix(
                    node,
                    format!("`{text}` has host bits set"),
                    format!("did you mean `{fixed}`?"),
                    text.trim(),
                    &fixed,
                );
                None
            }
            Err(_) => {
                cx.invalid(
                    node,
                    format!("`{text}` is not a subnet"),
                    "write an address and a prefix length, e.g. `192.168.1.0/24`",
                );
                None
            }
        }
    }
}

impl schemars::JsonSchema for Cidr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Cidr".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        string_schema("A subnet in CIDR notation, e.g. `192.168.1.0/24`", Some(r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"))
    }
}

impl serde::Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// An inclusive range of addresses, `FIRST-LAST`; a single address is a range of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddrRange {
    pub first: IpAddr,
    pub last: IpAddr,
}

impl AddrRange {
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.first, self.last, addr) {
            (IpAddr::V4(a), IpAddr::V4(b), IpAddr::V4(x)) => a <= x && x <= b,
            (IpAddr::V6(a), IpAddr::V6(b), IpAddr::V6(x)) => a <= x && x <= b,
            _ => false,
        }
    }
}

impl fmt::Display for AddrRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last { write!(f, "{}", self.first) } else { write!(f, "{}-{}", self.first, self.last) }
    }
}

impl Decode for AddrRange {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = cx.scalar(node, "an address range like `192.168.1.2-192.168.1.9`")?;
        let (a, b) = text.split_once('-').unwrap_or((text, text));
        match (a.trim().parse::<IpAddr>(), b.trim().parse::<IpAddr>()) {
            (Ok(first), Ok(last)) if first.is_ipv4() == last.is_ipv4() && first <= last => {
                Some(AddrRange { first, last })
            }
            (Ok(_), Ok(_)) => {
                cx.invalid(node, format!("range `{text}` ends before it starts"), "write the lower address first");
                None
            }
            (Ok(IpAddr::V4(first)), Err(_)) if b.trim().parse::<u8>().is_ok() => {
                // `192.168.1.100-200`: the last octet alone, as routers' web pages show pools.
                let [x, y, z, _] = first.octets();
                let fixed = format!("{first}-{x}.{y}.{z}.{}", b.trim());
                cx.push(
                    Diagnostic::new(Code::InvalidValue, node.span, format!("`{text}` is not an address range"))
                        .help(format!("write both addresses in full: `{fixed}`"))
                        .suggest_part(node.span, text.trim(), fixed),
                );
                None
            }
            _ => {
                cx.invalid(
                    node,
                    format!("`{text}` is not an address range"),
                    "write `FIRST-LAST`, e.g. `192.168.1.2-192.168.1.9`, or one address",
                );
                None
            }
        }
    }
}

impl schemars::JsonSchema for AddrRange {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AddressRange".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        string_schema("An inclusive address range `FIRST-LAST`, or one address", None)
    }
}

impl serde::Serialize for AddrRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
