//! `hearth verify`: derives every fact the spec implies about the running homelab
//! (`hearth-facts`) and checks each from where it matters (`hearth-verify`), printing one line
//! per check grouped by machine, or JSON with `--json`. Exit 0 when no check fails, 1 otherwise.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::process::ExitCode;

use anyhow::bail;
use hearth_facts::{Check, Fact, Trust};
use hearth_render::SecretValues as _;
use hearth_verify::{Options, Secrets, Target};

use crate::cli::VerifyArgs;
use crate::live_secrets::LiveSecrets;
use crate::persist;
use crate::report::Format;
use crate::targets::{self, Need};

pub fn run(args: &VerifyArgs, format: Format) -> anyhow::Result<ExitCode> {
    let t = match targets::load(&args.target, format, Need::AllMachines)? {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let facts = hearth_facts::facts(&t.model, hearth_catalog::builtin());
    let wanted = &args.target.machines;
    let facts: Vec<&Fact> = facts.iter().filter(|f| wanted.is_empty() || wanted.contains(&f.machine)).collect();
    // What the lab cannot run: services whose package is not Debian's, services an image is
    // missing for (theirs or one they need), and whatever needs the internet.
    let mut offline: BTreeMap<String, String> = BTreeMap::new();
    if let Some((dir, input)) = &t.lab {
        for n in hearth_lab::not_in_lab(dir, input)? {
            offline
                .entry(n.service.clone())
                .or_insert_with(|| format!("`{}` is not started in the lab: {}", n.service, n.reason));
        }
    }
    // The targets already hold the lab's machines (managed) and the unmanaged ones beside them.
    let absent = match &t.lab {
        Some(_) => absent_machines(&t.model, |name| t.machines.iter().any(|m| m.name == name && m.managed)),
        None => BTreeMap::new(),
    };
    let lab = t.lab.is_some();
    let targets: Vec<Target> = facts
        .iter()
        .map(|f| Target {
            fact: f,
            location: hearth_facts::span(&t.spans, &f.source).map_or_else(String::new, |s| {
                let l = t.sources.location(s);
                format!("{}:{}:{}", l.path.display(), l.line, l.col)
            }),
            skip: f
                .skip
                .clone()
                .or_else(|| f.needs.iter().find_map(|n| offline.get(n).cloned()))
                .or_else(|| lab.then(|| lab_skip(f).or_else(|| remote_backup(&t.model, f))).flatten())
                .or_else(|| to_absent(f, &absent)),
        })
        .collect();
    let secrets = StoreSecrets::open(&t.root, t.lab.as_ref().map(|(dir, _)| dir.as_path()));
    let options = Options { jobs: args.jobs, run_backups: args.run_backups, ..Options::default() };
    let progress = |line: &str| eprintln!("{line}");
    let report = targets::runtime()?.block_on(hearth_verify::verify(
        &targets,
        &t.machines,
        &t.ssh,
        &secrets,
        &options,
        &progress,
    ));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        print!("{}", report.text(color));
    }
    if targets.is_empty() && !wanted.is_empty() {
        bail!("no check is about {}", wanted.join(", "));
    }
    Ok(if report.is_success() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The addresses of the machines the lab has no container for, by address: appliances (DSM,
/// HAOS, pfSense…), which its Proxmox simulators create without starting them, and machines
/// Hearth does not manage.
fn absent_machines(model: &hearth_model::Model, in_lab: impl Fn(&str) -> bool) -> BTreeMap<std::net::IpAddr, String> {
    let hosts = model.hosts.iter().map(|(name, h)| (name, h.address));
    let guests = model.guests.iter().map(|(name, g)| (name, g.address));
    hosts
        .chain(guests)
        .filter(|(name, _)| !in_lab(name.as_str()))
        .filter_map(|(name, address)| Some((address?, name.clone())))
        .collect()
}

/// Why a fact that connects to a machine the lab has no container for cannot be checked there.
fn to_absent(f: &Fact, absent: &BTreeMap<std::net::IpAddr, String>) -> Option<String> {
    let address = match &f.check {
        Check::Connect { address, .. }
        | Check::Postgres { address, .. }
        | Check::Mysql { address, .. }
        | Check::Mongodb { address, .. }
        | Check::Redis { address, .. } => address,
        _ => return None,
    };
    let name = absent.get(address)?;
    Some(format!(
        "`{name}` has no running machine in the lab (an appliance, which its Proxmox simulator creates without starting, or a machine Hearth does not manage)"
    ))
}

/// Why the lab cannot check a fact: public certificates and chat or mail channels need the
/// internet, which lab networks do not reach.
pub(crate) fn lab_skip(f: &Fact) -> Option<String> {
    match &f.check {
        Check::Certificate { trust: Trust::Public, .. } => {
            Some("an ACME certificate needs the internet, which the lab does not reach".into())
        }
        Check::Notify { integration, .. } if integration != "webhook" => {
            Some(format!("a {integration} notification needs the internet, which the lab does not reach"))
        }
        _ => None,
    }
}

/// Why the lab cannot check a backup: its policy writes to a repository on the internet (B2,
/// Azure, Google Cloud Storage, Swift, rclone, S3 at a public host).
fn remote_backup(model: &hearth_model::Model, f: &Fact) -> Option<String> {
    let Check::Backup { job, .. } = &f.check else { return None };
    let job = model.backups.jobs.iter().find(|j| j.name == *job)?;
    let policy = model.backups.policies.get(&job.policy)?;
    policy.to.iter().find_map(|name| match model.backups.repositories.get(name)? {
        hearth_model::model::Repository::Restic { url, .. }
            if on_the_internet(url, model.domain.as_deref().unwrap_or_default()) =>
        {
            Some(format!("repository `{name}` ({url}) is on the internet, which the lab does not reach"))
        }
        _ => None,
    })
}

/// Whether a restic repository URL names a place outside the homelab (a cloud backend, or an S3
/// or REST server at a public name outside the homelab's domain).
fn on_the_internet(url: &str, domain: &str) -> bool {
    const CLOUD: &[&str] = &["b2:", "azure:", "gs:", "swift:", "rclone:"];
    if CLOUD.iter().any(|c| url.starts_with(c)) {
        return true;
    }
    let Some(rest) = url.strip_prefix("s3:").or_else(|| url.strip_prefix("rest:")) else { return false };
    let host = rest.split("://").last().unwrap_or(rest).split(['/', ':']).next().unwrap_or_default();
    let inside = |suffix: &str| !suffix.is_empty() && (host == suffix || host.ends_with(&format!(".{suffix}")));
    host.parse::<std::net::IpAddr>().is_err()
        && host.contains('.')
        && !inside(domain)
        && !inside("arpa")
        && !inside("lan")
}

/// Secret values from the age store beside the spec; a store that cannot be opened fails each
/// login that needs a value, saying why.
pub(crate) enum StoreSecrets {
    Open(Box<LiveSecrets>),
    Unavailable(String),
}

impl StoreSecrets {
    /// The store beside the spec; with the lab's state folder, the lab's own values stand in
    /// for those it cannot read, as `apply --lab` used them.
    pub(crate) fn open(root: &std::path::Path, lab: Option<&std::path::Path>) -> StoreSecrets {
        let opened = persist::open_store(root).map_err(|e| format!("{e:#}")).and_then(|(store, identity)| {
            let live = LiveSecrets::new(store, identity);
            match lab {
                Some(dir) => live.with_lab_values(dir).map_err(|e| e.to_string()),
                None => Ok(live),
            }
        });
        match opened {
            Ok(live) => StoreSecrets::Open(Box::new(live)),
            Err(e) => StoreSecrets::Unavailable(format!("the secret store: {e}")),
        }
    }
}

impl Secrets for StoreSecrets {
    fn value(&self, reference: &str) -> Result<String, String> {
        match self {
            StoreSecrets::Open(live) => live.get(reference).ok_or_else(|| {
                live.failures()
                    .into_iter()
                    .find(|(r, _)| r == reference)
                    .map_or_else(|| "no value".to_string(), |(_, why)| why)
            }),
            StoreSecrets::Unavailable(why) => Err(why.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn repositories_on_the_internet() {
        for (url, expected) in [
            ("b2:homelab-backups:/", true),
            ("s3:https://s3.amazonaws.com/bucket", true),
            ("s3:http://10.0.20.13:9000/restic", false),
            ("s3:https://minio.home.arpa/restic", false),
            ("rest:https://backup.example.org/", false),
            ("/mnt/usb/restic", false),
            ("sftp:user@nas:/restic", false),
        ] {
            assert_eq!(super::on_the_internet(url, "example.org"), expected, "{url}");
        }
    }

    /// A connection to a machine the lab has no container for is skipped naming it; one to a
    /// lab machine, or a check that connects nowhere, is not.
    #[test]
    fn connections_to_machines_outside_the_lab() {
        let spec = "homelab: t\nnetworks: { lan: { cidr: 192.168.1.0/24 } }\n\
                    hosts: { pve: { address: 192.168.1.10, network: lan, proxmox: { node: pve } } }\n\
                    guests:\n\
                    \x20 nas: { vm: { on: pve, id: 200 }, os: dsm, address: 192.168.1.20, managed: false }\n";
        let loaded = hearth_spec::load_str("hearth.yaml", spec);
        let analysis =
            hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &hearth_model::Allocations::default());
        let absent = super::absent_machines(&analysis.model, |name| name == "pve");
        let fact = |address: &str, check: fn(std::net::IpAddr) -> super::Check| super::Fact {
            id: "share/media/reached-from/pve".into(),
            machine: "pve".into(),
            from: "pve".into(),
            check: check(address.parse().expect("address")),
            source: "share/media".into(),
            span: None,
            needs: Vec::new(),
            skip: None,
        };
        let connect = |address| super::Check::Connect { address, port: 2049, protocol: "tcp".into(), open: true };
        let unit = |_| super::Check::Unit { unit: "nfs-client.target".into() };
        assert_eq!(
            super::to_absent(&fact("192.168.1.20", connect), &absent).as_deref(),
            Some(
                "`nas` has no running machine in the lab (an appliance, which its Proxmox simulator creates \
                 without starting, or a machine Hearth does not manage)"
            )
        );
        assert_eq!(super::to_absent(&fact("192.168.1.10", connect), &absent), None);
        assert_eq!(super::to_absent(&fact("192.168.1.20", unit), &absent), None);
    }
}
