//! Routing between a lab's networks, as the homelab's router routes between its VLANs.
//!
//! Docker drops traffic between `--internal` networks (and to anywhere else). The lab accepts,
//! in Docker's `DOCKER-USER` chain (consulted before its isolation rules), traffic from one of
//! its subnets to another of its own, and nothing more: the way out stays closed. Each rule
//! carries a comment naming the lab, which is how `down` finds and removes exactly those.
//!
//! The controller reaches each machine from the Docker host, whose address on a machine's
//! network is that network's gateway. Where the machine's firewall admits SSH only from other
//! networks (a management zone), the host's SSH connections to it leave from the gateway address
//! it holds on one of those (a source NAT rule per machine, labelled the same way), as an
//! operator's would from the management VLAN.

use std::process::Command;

use crate::error::Error;
use crate::process;
use crate::state::LABEL;

const CHAIN: &str = "DOCKER-USER";

/// Accepts traffic between every pair of the lab's subnets.
pub fn open(id: &str, subnets: &[String]) -> Result<(), Error> {
    let comment = format!("{LABEL}={id}");
    for from in subnets {
        for to in subnets.iter().filter(|to| *to != from) {
            process::run(Command::new("iptables").args([
                "-I",
                CHAIN,
                "-s",
                from,
                "-d",
                to,
                "-m",
                "comment",
                "--comment",
                &comment,
                "-j",
                "ACCEPT",
            ]))?;
        }
    }
    Ok(())
}

/// Where the controller's SSH connection to each machine must come from, when not from the
/// host's own address on the machine's network: `(machine address, source address)`, the source
/// being the gateway of a network its firewall admits SSH from. Pure.
pub fn ssh_sources(
    firewall: &std::collections::BTreeMap<String, Vec<hearth_model::model::Opening>>,
    networks: &[(String, std::net::Ipv4Addr)],
    machines: &[(String, String, std::net::Ipv4Addr)],
) -> Vec<(std::net::Ipv4Addr, std::net::Ipv4Addr)> {
    let mut out = Vec::new();
    for (name, subnet, address) in machines {
        let Some(ssh) =
            firewall.get(name).and_then(|o| o.iter().find(|o| o.port == 22 && o.protocol == hearth_spec::ast::L4::Tcp))
        else {
            continue;
        };
        if ssh.from.is_empty() || ssh.from.iter().any(|f| f == subnet) {
            continue;
        }
        if let Some((_, gateway)) = networks.iter().find(|(net, _)| ssh.from.contains(net)) {
            out.push((*address, *gateway));
        }
    }
    out
}

/// Makes the host's SSH connections to each machine of `pairs` leave from its source address.
pub fn ssh_from(id: &str, pairs: &[(std::net::Ipv4Addr, std::net::Ipv4Addr)]) -> Result<(), Error> {
    let comment = format!("{LABEL}={id}");
    for (machine, source) in pairs {
        process::run(Command::new("iptables").args([
            "-t",
            "nat",
            "-I",
            "POSTROUTING",
            "-d",
            &format!("{machine}/32"),
            "-p",
            "tcp",
            "--dport",
            "22",
            "-m",
            "addrtype",
            "--src-type",
            "LOCAL",
            "-m",
            "comment",
            "--comment",
            &comment,
            "-j",
            "SNAT",
            "--to-source",
            &source.to_string(),
        ]))?;
    }
    Ok(())
}

/// Removes the rules [`open`] and [`ssh_from`] added for this lab; nothing to do when iptables
/// is absent.
pub fn close(id: &str) -> Result<usize, Error> {
    let mut removed = close_in(id, &[], CHAIN)?;
    removed += close_in(id, &["-t", "nat"], "POSTROUTING")?;
    Ok(removed)
}

fn close_in(id: &str, table: &[&str], chain: &str) -> Result<usize, Error> {
    let out = match process::output(Command::new("iptables").args(table).args(["-S", chain])) {
        Ok(out) => out,
        Err(Error::Missing { .. }) => return Ok(0),
        Err(e) => return Err(e),
    };
    if !out.status.success() {
        // Without the chain (no Docker rules yet) there is nothing of the lab's to remove.
        return Ok(0);
    }
    let comment = format!("{LABEL}={id}");
    let listing = String::from_utf8_lossy(&out.stdout);
    let mut removed = 0;
    for rule in listing.lines().filter(|l| l.starts_with("-A ")) {
        // `iptables -S` quotes comments; the lab's have no blanks, so the quotes can go.
        let args: Vec<&str> = rule.split_whitespace().skip(1).map(|a| a.trim_matches('"')).collect();
        if !args.windows(2).any(|w| w == ["--comment", comment.as_str()]) {
            continue;
        }
        process::run(Command::new("iptables").args(table).arg("-D").args(&args))?;
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::Ipv4Addr;

    use hearth_model::model::Opening;
    use hearth_spec::ast::L4;

    /// `ssh_sources` for machines `(name, subnet, address)` whose SSH openings come from
    /// `from` (by machine), with the lab's networks `(subnet, gateway)`.
    fn check(from: &[(&str, &[&str])], machines: &[(&str, &str, [u8; 4])], expected: &[([u8; 4], [u8; 4])]) {
        let firewall: BTreeMap<String, Vec<Opening>> = from
            .iter()
            .map(|(m, f)| {
                let o = Opening {
                    port: 22,
                    protocol: L4::Tcp,
                    from: f.iter().map(|s| s.to_string()).collect(),
                    reason: String::new(),
                };
                (m.to_string(), vec![o])
            })
            .collect();
        let networks = vec![
            ("10.200.10.0/24".to_string(), Ipv4Addr::new(10, 200, 10, 1)),
            ("10.200.20.0/24".to_string(), Ipv4Addr::new(10, 200, 20, 1)),
        ];
        let machines: Vec<(String, String, Ipv4Addr)> =
            machines.iter().map(|(n, s, a)| (n.to_string(), s.to_string(), Ipv4Addr::from(*a))).collect();
        let got = super::ssh_sources(&firewall, &networks, &machines);
        let expected: Vec<(Ipv4Addr, Ipv4Addr)> =
            expected.iter().map(|(a, b)| (Ipv4Addr::from(*a), Ipv4Addr::from(*b))).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn ssh_comes_from_the_management_network_where_only_it_is_admitted() {
        // `db` on the data network admits SSH from the management network only; `pve` is on it.
        check(
            &[("db", &["10.200.10.0/24"]), ("pve", &["10.200.10.0/24"]), ("web", &[])],
            &[
                ("db", "10.200.20.0/24", [10, 200, 20, 5]),
                ("pve", "10.200.10.0/24", [10, 200, 10, 5]),
                ("web", "10.200.20.0/24", [10, 200, 20, 6]),
                ("nofirewall", "10.200.20.0/24", [10, 200, 20, 7]),
            ],
            &[([10, 200, 20, 5], [10, 200, 10, 1])],
        );
    }
}
