//! Whether a node has the bridges the spec's guests attach to (`GET /nodes/{node}/network`): each
//! `bridge=` of a guest's network devices exists, and is VLAN-aware where the device carries a
//! `tag=`. Hearth does not change the node's network configuration unasked (a wrong
//! `/etc/network/interfaces` cuts the node off), so a missing or VLAN-unaware bridge refuses the
//! guest with the fix to make on the node. Pure.

use serde::Serialize;
use serde_json::Value;

use crate::client::scalar;
use crate::desired::DesiredGuest;
use crate::property::parts;

/// A Linux (or OVS) bridge of the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bridge {
    pub name: String,
    pub vlan_aware: bool,
}

/// The bridges among `GET /nodes/{node}/network` entries. An OVS bridge carries VLAN tags
/// without being marked VLAN-aware.
pub fn bridges(entries: &[Value]) -> Vec<Bridge> {
    let mut out: Vec<Bridge> = entries
        .iter()
        .filter_map(|e| {
            let kind = e.get("type").and_then(Value::as_str)?;
            if kind != "bridge" && kind != "OVSBridge" {
                return None;
            }
            let name = e.get("iface").and_then(Value::as_str)?.to_string();
            let vlan_aware = kind == "OVSBridge" || e.get("bridge_vlan_aware").is_some_and(|v| scalar(v) == "1");
            Some(Bridge { name, vlan_aware })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn numbered_net(key: &str) -> bool {
    key.strip_prefix("net").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Why `guest` cannot be attached on a node with `bridges`: one reason per network device whose
/// bridge is missing or needs VLAN awareness it lacks.
pub fn check(guest: &DesiredGuest, bridges: &[Bridge]) -> Vec<String> {
    let mut reasons = Vec::new();
    let names: Vec<&str> = bridges.iter().map(|b| b.name.as_str()).collect();
    for (key, value) in guest.create.iter().filter(|(k, _)| numbered_net(k)) {
        let parts = parts(&scalar(value));
        let find = |k: &str| parts.iter().find(|(p, _)| p == k).and_then(|(_, v)| v.clone());
        let Some(bridge) = find("bridge") else { continue };
        let tag = find("tag");
        match bridges.iter().find(|b| b.name == bridge) {
            None => reasons.push(format!(
                "its `{key}` attaches to bridge `{bridge}`, which node `{}` does not have (it has {}): create `{bridge}`{} on the node (System > Network), or set the guest's network's `bridge:` to one it has",
                guest.node,
                if names.is_empty() { "none".to_string() } else { names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ") },
                if tag.is_some() { " VLAN-aware" } else { "" },
            )),
            Some(b) if tag.is_some() && !b.vlan_aware => reasons.push(format!(
                "its `{key}` carries VLAN tag {} on bridge `{bridge}`, which is not VLAN-aware on node `{}`: tick \"VLAN aware\" on `{bridge}` (System > Network; `bridge-vlan-aware yes` in /etc/network/interfaces) and apply the network configuration",
                tag.unwrap_or_default(),
                guest.node
            )),
            Some(_) => {}
        }
    }
    reasons
}
