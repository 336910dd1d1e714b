//! `/etc/nftables.d/hearth.nft`: one complete, self-contained nftables ruleset per managed machine
//! that has openings in `Model::firewall`; everything those openings do not name is dropped.
//!
//! The file owns one table, `inet hearth`, and replaces it atomically: `table inet hearth`
//! (creates it when missing), `delete table inet hearth`, then the full definition, all in one
//! `nft -f` transaction. `destroy table` would say this in one line but needs nftables 1.0.8;
//! Debian 12 ships 1.0.6. `flush table` was not used because it keeps chains a newer ruleset no
//! longer defines, with their hooks and policies. Other tables (Docker's, Debian's default
//! `inet filter`) are left alone: a packet must pass every base chain on a hook, so this table's
//! drops hold whatever they accept. Debian's `/etc/nftables.conf` must `include
//! "/etc/nftables.d/*.nft"` for the file to load at boot.
//!
//! `input` drops by default and accepts established/related traffic, loopback, the ICMP and
//! ICMPv6 messages IP needs (path MTU discovery, neighbour discovery, errors, ping), then one rule
//! per opening (openings that differ only in their reason are merged), limited to its sources,
//! split into an `ip saddr` set and an `ip6 saddr` set. An opening whose sources are all IPv4
//! therefore stays closed to IPv6, and the other way round.
//!
//! Docker: a published container port never reaches `input`. Docker DNATs it in `prerouting` and
//! the packet is *forwarded* to the container, so on a machine whose runtime is Docker the same
//! openings are also enforced in a `forward` chain. Docker's own `DOCKER-USER` chain lives in
//! iptables and is flushed by nothing Hearth controls, so it was not used; instead this table's
//! `forward` chain (policy accept, so routing for everything else is untouched) looks only at new
//! connections Docker DNATed (`ct status & dnat == 0 accept` lets the others through: a bit
//! test, since `ct status != dnat` compares the whole status word and a DNATed connection always
//! has other bits set, so it would accept every one of them), matches the port the client asked for with
//! `ct original proto-dst` (after DNAT the port is the container's, which may differ), accepts
//! the opening's sources and drops every other DNATed connection. Traffic entering from Docker's
//! own bridges (`docker0`, `br-*`: containers reaching each other through a published port) is
//! not filtered: it is the machine's own workload. A port served only by a container on the
//! host's network stack (`network_mode: host`) is never DNATed, so it gets no `forward` rule.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use hearth_model::model::Opening;
use hearth_spec::ast::L4;

use crate::{Activation, Context, File, Kind, Output};

/// Where the ruleset goes.
pub const PATH: &str = "/etc/nftables.d/hearth.nft";

/// nftables refuses comments longer than this many bytes.
const COMMENT_MAX: usize = 128;

pub fn render(cx: &Context, out: &mut Output) {
    let by_machine = services_by_machine(cx);
    for (machine, openings) in &cx.model.firewall {
        let guest = cx.model.guests.get(machine);
        let host = cx.model.hosts.get(machine);
        // Appliances (`managed: false`) are never logged into, so no file can be placed there.
        if guest.is_some_and(|g| !g.managed) || (guest.is_none() && host.is_none()) {
            continue;
        }
        let runtime = guest.map(|g| g.runtime).or_else(|| host.and_then(|h| h.runtime));
        let docker = runtime == Some(hearth_spec::ast::Runtime::Docker);
        let host_networked = docker.then(|| host_networked_ports(cx, machine));
        let content = ruleset(machine, openings, host_networked.as_ref());
        let source = if guest.is_some() { format!("guest/{machine}") } else { format!("host/{machine}") };
        let mut file = File::new(machine, PATH, Kind::Nftables, content).activate(Activation::LoadRuleset).from(source);
        for s in by_machine.get(machine.as_str()).into_iter().flatten() {
            file = file.from(format!("service/{s}"));
        }
        out.push(file);
    }
}

/// The services running on each machine (the openings were derived from them), gathered in one
/// pass: asking per machine would scan every service for every machine.
fn services_by_machine<'a>(cx: &'a Context) -> std::collections::BTreeMap<&'a str, Vec<&'a str>> {
    let mut map: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    for (name, s) in &cx.model.services {
        for m in std::iter::once(s.on.name()).chain(s.also_on.iter().map(String::as_str)) {
            map.entry(m).or_default().push(name.as_str());
        }
    }
    map
}

/// The ports that on `machine` only containers on the host's network stack
/// (`network_mode: host`) serve: they listen on the machine itself, so `input` holds them and
/// Docker never DNATs them. Other ports the `forward` chain names without being published (SSH)
/// are harmless there; a host-networked port is left out because a reader would take its rule
/// for a published container port.
fn host_networked_ports(cx: &Context, machine: &str) -> BTreeSet<u16> {
    let (mut host, mut bridged) = (BTreeSet::new(), BTreeSet::new());
    for s in cx.model.services.values() {
        if s.on.name() != machine && !s.also_on.iter().any(|m| m == machine) {
            continue;
        }
        let ports = s.ports.iter().chain(s.companions.iter().flat_map(|c| &c.ports)).filter_map(|p| p.host);
        if s.network_mode.as_deref() == Some("host") { host.extend(ports) } else { bridged.extend(ports) }
    }
    host.difference(&bridged).copied().collect()
}

/// One rule's worth of an opening: sources split by family, reasons merged.
struct Rule {
    port: u16,
    protocol: L4,
    anywhere: bool,
    v4: Vec<String>,
    v6: Vec<String>,
    /// Sources that are neither an address nor a CIDR: left out, named in a comment.
    skipped: Vec<String>,
    reasons: Vec<String>,
}

fn rules(openings: &[Opening]) -> Vec<Rule> {
    let mut merged: BTreeMap<(u16, L4, Vec<String>), Vec<String>> = BTreeMap::new();
    for o in openings {
        let mut from = o.from.clone();
        from.sort();
        from.dedup();
        let reasons = merged.entry((o.port, o.protocol, from)).or_default();
        if !reasons.contains(&o.reason) {
            reasons.push(o.reason.clone());
        }
    }
    merged
        .into_iter()
        .map(|((port, protocol, from), reasons)| {
            let (mut v4, mut v6, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
            for src in &from {
                match family(src) {
                    Some(true) => v4.push(src.clone()),
                    Some(false) => v6.push(src.clone()),
                    None => skipped.push(src.clone()),
                }
            }
            Rule { port, protocol, anywhere: from.is_empty(), v4, v6, skipped, reasons }
        })
        .collect()
}

/// `Some(true)` for an IPv4 address or CIDR, `Some(false)` for IPv6, `None` for anything else.
fn family(src: &str) -> Option<bool> {
    let (addr, prefix) = src.split_once('/').map_or((src, None), |(a, p)| (a, Some(p)));
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if let Some(p) = prefix {
        let p: u8 = p.parse().ok()?;
        if p > max {
            return None;
        }
    }
    Some(ip.is_ipv4())
}

/// A `comment "..."` argument: no double quotes (nftables strings cannot escape them), at most
/// [`COMMENT_MAX`] bytes, cut on a character boundary.
fn comment(reasons: &[String]) -> String {
    let mut text: String =
        reasons.join("; ").chars().map(|c| if c == '"' || c.is_control() { '\'' } else { c }).collect();
    if text.len() > COMMENT_MAX {
        let mut cut = COMMENT_MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    format!("comment \"{text}\"")
}

fn set(items: &[String]) -> String {
    format!("{{ {} }}", items.join(", "))
}

/// The rule lines for one opening, given what matches the port (`tcp dport 5432` in `input`,
/// `meta l4proto tcp ct original proto-dst 5432` in `forward`).
fn rule_lines(r: &Rule, port_match: &str, indent: &str) -> Vec<String> {
    let c = comment(&r.reasons);
    let mut lines = Vec::new();
    if !r.skipped.is_empty() {
        lines.push(format!("{indent}# left out, not an address or CIDR: {}", r.skipped.join(", ")));
    }
    if r.anywhere {
        lines.push(format!("{indent}{port_match} accept {c}"));
        return lines;
    }
    if !r.v4.is_empty() {
        lines.push(format!("{indent}ip saddr {} {port_match} accept {c}", set(&r.v4)));
    }
    if !r.v6.is_empty() {
        lines.push(format!("{indent}ip6 saddr {} {port_match} accept {c}", set(&r.v6)));
    }
    lines
}

/// The ruleset; a Docker machine (given its host-networked ports) also gets a `forward` chain.
fn ruleset(machine: &str, openings: &[Opening], docker: Option<&BTreeSet<u16>>) -> String {
    let rules = rules(openings);
    let mut s = format!(
        "#!/usr/sbin/nft -f\n\
         # Firewall of `{machine}`, rendered by Hearth: everything not opened below is dropped.\n\
         # Replaces only the table `inet hearth`, atomically; other tables are left alone.\n\
         \n\
         table inet hearth\n\
         delete table inet hearth\n\
         \n\
         table inet hearth {{\n\
         \tchain input {{\n\
         \t\ttype filter hook input priority filter; policy drop;\n\
         \n\
         \t\tct state established,related accept\n\
         \t\tct state invalid drop\n\
         \t\tiif \"lo\" accept\n\
         \t\tmeta l4proto icmp icmp type {{ echo-request, destination-unreachable, time-exceeded, parameter-problem }} accept\n\
         \t\tmeta l4proto ipv6-icmp icmpv6 type {{ echo-request, destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert }} accept\n\
         \n"
    );
    for r in &rules {
        for line in rule_lines(r, &format!("{} dport {}", r.protocol.as_str(), r.port), "\t\t") {
            s.push_str(&line);
            s.push('\n');
        }
    }
    s.push_str("\t}\n");
    if let Some(host_networked) = docker {
        s.push_str(
            "\n\
             \t# Published container ports: Docker DNATs them to the container, so they are forwarded,\n\
             \t# not delivered to `input`. The port the client asked for is the original destination.\n\
             \tchain forward {\n\
             \t\ttype filter hook forward priority filter; policy accept;\n\
             \n\
             \t\tct state != new accept\n\
             \t\tct status & dnat == 0 accept\n\
             \t\tiifname \"docker0\" accept\n\
             \t\tiifname \"br-*\" accept\n\
             \n",
        );
        for r in rules.iter().filter(|r| !host_networked.contains(&r.port)) {
            let matcher = format!("meta l4proto {} ct original proto-dst {}", r.protocol.as_str(), r.port);
            for line in rule_lines(r, &matcher, "\t\t") {
                s.push_str(&line);
                s.push('\n');
            }
        }
        s.push_str("\t\tdrop comment \"a published container port the spec does not open to this source\"\n\t}\n");
    }
    s.push_str("}\n");
    s
}
