//! What a machine needs before its files can take effect: the Debian packages of its native
//! services and tools (`/etc/hearth/packages.list`), the system users no package creates
//! (`/etc/sysusers.d/hearth.conf`) and the data folders the services write outside their package's
//! own (`/etc/tmpfiles.d/hearth.conf`). A container whose process is not root (the model's
//! `runs_as`: Prometheus's `nobody`, Grafana's 472, Loki's 10001) gets its writable bind-mounted
//! data folders made and owned by that uid and gid here too: Docker would create a missing one
//! owned by root, and the process could not write to it.
//!
//! Computed from the model and from the files the other renderers wrote (a machine with an
//! nftables ruleset needs `nftables`, one with an Alloy configuration needs `alloy`), so a planner
//! reading the render alone knows every action of a change. NixOS machines get none of these: the
//! flake declares packages, users and folders itself.

use std::collections::{BTreeMap, BTreeSet};

use hearth_catalog::Native;
use hearth_model::model::{Placement, Service};
use hearth_spec::ast::Form;

use crate::{Activation, Context, File, Kind};

pub const PACKAGES: &str = "/etc/hearth/packages.list";
pub const SYSUSERS: &str = "/etc/sysusers.d/hearth.conf";
pub const TMPFILES: &str = "/etc/tmpfiles.d/hearth.conf";

/// Packages that do not create the user their service runs as: the upstream `.deb` of MinIO
/// leaves `minio-user` to the operator, and Traefik ships as a bare release binary.
const CREATE_NO_USER: &[&str] = &["minio", "traefik"];

/// Packages that make no data folder for their service: Grafana's `loki` starts in whatever
/// folder its configuration names, MinIO's `.deb` in `MINIO_VOLUMES`, Traefik's binary in its
/// ACME storage folder. Hearth makes it, owned by the service's user.
const MAKE_NO_DATA: &[&str] = &["loki", "minio", "traefik"];

/// Packages Debian only recommends that a service cannot start without, since deploy installs
/// with `--no-install-recommends`: Unbound's default DNSSEC validation reads the root trust
/// anchor that `dns-root-data` ships.
const NEEDED_RECOMMENDS: &[(&str, &str)] = &[("unbound", "dns-root-data")];

/// What one machine needs.
#[derive(Default)]
struct Needs {
    packages: BTreeSet<String>,
    /// user -> what needs it
    users: BTreeMap<String, String>,
    /// path -> (user, group, what needs it)
    dirs: BTreeMap<String, (String, String, String)>,
    sources: BTreeSet<String>,
}

/// The files of every machine that needs packages, users or folders, given the other renderers'
/// files.
pub fn render(cx: &Context, files: &[File]) -> Vec<File> {
    let model = cx.model;
    let mut needs: BTreeMap<String, Needs> = BTreeMap::new();
    for (name, s) in &model.services {
        if s.form == Form::Docker {
            // A cluster's pods with volumes run on its control plane, where their `hostPath`
            // folders are (see `kubernetes::relocate`).
            let machines: Vec<&str> = match &s.on {
                Placement::Cluster(c) => crate::query::control_plane(model, c).into_iter().collect(),
                _ => s.machines(),
            };
            for machine in machines.into_iter().filter(|m| !model.is_nixos(m)) {
                container_needs(needs.entry(machine.to_string()).or_default(), name, s);
            }
            // A pod's NFS volume is mounted by the kubelet of whichever node runs it, with the
            // node's own `mount.nfs`.
            if let Placement::Cluster(c) = &s.on
                && s.volumes.iter().any(|v| v.nfs.is_some())
            {
                let nodes = if s.nodes.is_empty() {
                    model.cluster_nodes(c)
                } else {
                    s.nodes.iter().map(String::as_str).collect()
                };
                for node in nodes.into_iter().filter(|m| !model.is_nixos(m)) {
                    let n = needs.entry(node.to_string()).or_default();
                    n.packages.insert("nfs-common".to_string());
                    n.sources.insert(format!("service/{name}"));
                }
            }
            continue;
        }
        if s.form != Form::Native {
            continue;
        }
        let Some(native) = s.app.as_deref().and_then(|a| cx.catalog.get(a)).and_then(|a| a.native.as_ref()) else {
            continue;
        };
        for machine in s.machines() {
            if model.is_nixos(machine) {
                continue;
            }
            native_needs(needs.entry(machine.to_string()).or_default(), name, s, native);
        }
    }
    for f in files.iter().filter(|f| !model.is_nixos(&f.machine)) {
        let tool = match f.kind {
            // The node exporter Prometheus scrapes on every managed machine is Debian's package,
            // on Docker machines too: on the host rather than in a container, it sees the host's
            // own network and filesystems, needs no privileged container in an unprivileged LXC,
            // and its textfile collector reads the backup jobs' metrics, written on the host.
            Kind::NodeExporter => package_of(cx, "node-exporter"),
            Kind::Nftables => Some("nftables".to_string()),
            Kind::Alloy => package_of(cx, "alloy"),
            Kind::Promtail => package_of(cx, "promtail"),
            // Unattended upgrades are the `unattended-upgrades` package's daily run.
            Kind::AptConf if crate::updates::enables_upgrades(&f.content) => Some("unattended-upgrades".to_string()),
            // A backup script runs restic.
            Kind::Script if f.path.starts_with("/etc/hearth/backup/") => package_of(cx, "restic"),
            // A share's mount unit needs its filesystem's mount helper.
            Kind::SystemdUnit if f.path.ends_with(".mount") && f.content.contains("\nType=nfs4\n") => {
                Some("nfs-common".to_string())
            }
            Kind::SystemdUnit if f.path.ends_with(".mount") && f.content.contains("\nType=cifs\n") => {
                Some("cifs-utils".to_string())
            }
            // A Time Machine share needs `vfs_fruit`, in a package Debian's samba only recommends.
            Kind::SambaConf if f.content.contains("\tvfs objects = catia fruit") => {
                Some("samba-vfs-modules".to_string())
            }
            _ => None,
        };
        // A copy job runs rsync or git over ssh.
        if f.kind == Kind::Script && f.path.starts_with("/etc/hearth/copy/") {
            let n = needs.entry(f.machine.clone()).or_default();
            for (word, package) in [("rsync ", "rsync"), ("git ", "git"), ("ssh ", "openssh-client")] {
                if f.content.contains(word) {
                    n.packages.insert(package.to_string());
                }
            }
            n.sources.extend(f.sources.iter().cloned());
        }
        if let Some(package) = tool {
            let n = needs.entry(f.machine.clone()).or_default();
            n.packages.insert(package);
            n.sources.extend(f.sources.iter().cloned());
        }
    }
    let mut out = Vec::new();
    for (machine, n) in needs {
        let finish = |file: File| n.sources.iter().fold(file, |f, s| f.from(s.clone()));
        if !n.packages.is_empty() {
            let mut text = String::from("# Debian packages this machine needs, rendered by Hearth. One per line.\n");
            for p in &n.packages {
                text.push_str(p);
                text.push('\n');
            }
            out.push(finish(File::new(&machine, PACKAGES, Kind::Packages, text).activate(Activation::InstallPackages)));
        }
        if !n.users.is_empty() {
            let mut text = String::from("# System users no package creates, rendered by Hearth (sysusers.d(5)).\n");
            for (user, why) in &n.users {
                text.push_str(&format!("u {user} - \"{why}\"\n"));
            }
            out.push(finish(File::new(&machine, SYSUSERS, Kind::Sysusers, text).activate(Activation::Sysusers)));
        }
        if !n.dirs.is_empty() {
            let mut text = String::from("# Data folders of services, rendered by Hearth (tmpfiles.d(5)).\n");
            for (path, (user, group, why)) in &n.dirs {
                text.push_str(&format!("# {why}\nd {path} 0750 {user} {group} -\n"));
            }
            out.push(finish(File::new(&machine, TMPFILES, Kind::Tmpfiles, text).activate(Activation::Tmpfiles)));
        }
    }
    out
}

/// A native service's package, user and data folders.
fn native_needs(n: &mut Needs, name: &str, s: &Service, native: &Native) {
    // No colon: it is also the user's GECOS field.
    let why = format!("Hearth service {name}");
    if let Some(package) = &native.package {
        n.packages.insert(expand_version(package, s.image.as_deref()));
        for (_, extra) in NEEDED_RECOMMENDS.iter().filter(|(p, _)| p == package) {
            n.packages.insert(extra.to_string());
        }
        if let Some(user) = &native.user
            && CREATE_NO_USER.contains(&package.as_str())
        {
            n.users.entry(user.clone()).or_insert_with(|| why.clone());
        }
    }
    n.sources.insert(format!("service/{name}"));
    let Some(user) = &native.user else { return };
    // With no package to create it (the operator installs the service, W621), the user its
    // folders belong to is Hearth's to create: `systemd-tmpfiles` refuses an unknown owner, and
    // an installer run later reuses an existing system user.
    if native.package.is_none() {
        n.users.entry(user.clone()).or_insert_with(|| why.clone());
    }
    // The package makes its own data folder (unless it makes none); one the spec moved elsewhere
    // is Hearth's to make.
    let makes_data = !native.package.as_deref().is_some_and(|p| MAKE_NO_DATA.contains(&p));
    for v in s.volumes.iter().filter(|v| v.stateful && !v.readonly) {
        let packaged = makes_data && native.data.as_deref() == Some(v.source.as_str());
        if !packaged && v.source.starts_with('/') {
            n.dirs
                .entry(v.source.clone())
                .or_insert_with(|| (user.clone(), user.clone(), format!("{why}, volume {}", v.name)));
        }
    }
}

/// The data folders of a container whose process is not root, made its own before it starts.
/// Only stateful, writable folders: configuration Hearth renders stays root's and readable, and a
/// socket or host path the catalog mounts as is (the Docker socket) is not a folder to hand over.
fn container_needs(n: &mut Needs, name: &str, s: &Service) {
    let Some(user) = &s.runs_as else { return };
    let (uid, gid) = user.split_once(':').unwrap_or((user, user));
    let mut any = false;
    for v in s.volumes.iter().filter(|v| v.stateful && !v.readonly && v.source.starts_with('/')) {
        any = true;
        n.dirs.entry(v.source.clone()).or_insert_with(|| {
            (
                uid.to_string(),
                gid.to_string(),
                format!("Hearth service {name}, volume {}, container user {user}", v.name),
            )
        });
    }
    if any {
        n.sources.insert(format!("service/{name}"));
    }
}

/// The Debian package of a catalog app that runs natively.
fn package_of(cx: &Context, app: &str) -> Option<String> {
    cx.catalog.get(app)?.native.as_ref()?.package.clone()
}

/// A package name with `{{ version }}` replaced by the major version of the service's image tag
/// (`postgresql-{{ version }}` with `postgres:16.4` -> `postgresql-16`). Without a numeric tag the
/// unversioned package is meant (`postgresql`, Debian's package of its default version).
fn expand_version(package: &str, image: Option<&str>) -> String {
    const VERSION: &str = "{{ version }}";
    if !package.contains(VERSION) {
        return package.to_string();
    }
    let major: String = image
        .and_then(hearth_catalog::image_tag)
        .map(|t| t.chars().take_while(char::is_ascii_digit).collect())
        .unwrap_or_default();
    if major.is_empty() {
        package.replace(&format!("-{VERSION}"), "").replace(VERSION, "")
    } else {
        package.replace(VERSION, &major)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(package: &str, image: Option<&str>, expected: &str) {
        assert_eq!(expand_version(package, image), expected, "{package} with {image:?}");
    }

    #[test]
    fn versions() {
        check("redis-server", Some("redis:7.2"), "redis-server");
        check("postgresql-{{ version }}", Some("postgres:16.4-alpine"), "postgresql-16");
        check("postgresql-{{ version }}", Some("postgres:latest"), "postgresql");
        check("postgresql-{{ version }}", None, "postgresql");
    }
}
