//! Routing between a lab's networks, as the homelab's router routes between its VLANs.
//!
//! Docker drops traffic between `--internal` networks (and to anywhere else). The lab accepts,
//! in Docker's `DOCKER-USER` chain (consulted before its isolation rules), traffic from one of
//! its subnets to another of its own, and nothing more: the way out stays closed. Each rule
//! carries a comment naming the lab, which is how `down` finds and removes exactly those.

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

/// Removes the rules [`open`] added for this lab; nothing to do when iptables is absent.
pub fn close(id: &str) -> Result<usize, Error> {
    let out = match process::output(Command::new("iptables").args(["-S", CHAIN])) {
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
        process::run(Command::new("iptables").arg("-D").args(&args))?;
        removed += 1;
    }
    Ok(removed)
}
