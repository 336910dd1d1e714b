//! NixOS: one flake for every guest whose `os` starts with `nixos`, with a
//! `hosts/<hostname>/configuration.nix` per guest in standard NixOS options. Each configuration's
//! attribute and folder are the guest's hostname (its name unless `hostname:` says otherwise):
//! `nixos-rebuild switch --flake /etc/nixos` builds `nixosConfigurations.<hostname>` by default.
//!
//! Layout: every NixOS guest gets the whole flake, `/etc/nixos/flake.nix` plus the
//! `configuration.nix` of *every* NixOS guest, identical on each. `nixos-rebuild switch --flake
//! /etc/nixos#<hostname>` then works on each machine from its own copy, any machine can build
//! (`--target-host`) or inspect another's system, and `/etc/nixos` is the same repository
//! everywhere, which is how NixOS homelabs keep their configuration in one git repository.
//! Putting the flake on one chosen machine would make that machine a single point of failure
//! for every rebuild.
//!
//! Choices, and why:
//! - No `hardware-configuration.nix`: a Proxmox VM imports nixpkgs'
//!   `virtualisation/proxmox-image.nix` (root file system by label, boot loader, QEMU guest
//!   agent) and an LXC container `virtualisation/proxmox-lxc.nix` with `manageNetwork` and
//!   `manageHostName`, so the configuration evaluates without anything generated on the machine.
//! - The interface is `ens18` in a VM (virtio's predictable name on Proxmox's q35/i440fx slot)
//!   and `eth0` in an LXC container: the model has no interface names.
//! - Firewall: NixOS's own `networking.firewall` on the nftables backend
//!   (`networking.nftables.enable = true`). Openings from anywhere go to `allowedTCPPorts` /
//!   `allowedUDPPorts`; openings restricted to sources go to `networking.firewall.extraInputRules`
//!   as nftables rules (`ip saddr { ... } tcp dport N accept`), which the plain port lists cannot
//!   express. NixOS keeps handling loopback, established traffic and ICMP.
//! - Secrets never enter a `.nix` file (it is world-readable in the Nix store): every secret is a
//!   mode-0600 file under `/etc/hearth/nixos/` rendered here as [`Kind::EnvSecret`], and the
//!   configuration names only its path (`requirePassFile`, `passwordFile`, `environmentFiles`).
//!   Services running as their own user (Grafana, Alertmanager) receive it through systemd's
//!   `LoadCredential`, so the file can stay root-only.
//! - PostgreSQL: `ensureDatabases` / `ensureUsers` with `ensureDBOwnership` for databases named
//!   like their user (NixOS asserts that), password authentication per consumer machine in
//!   `authentication`. Role passwords are not NixOS options; the postgres renderer's
//!   `/etc/hearth/postgres/apply.sh` sets them from its 0600 file, as the comment says.
//! - Backups: one `services.restic.backups.<service>-<repository>` per backup job and restic
//!   repository of its policy (the module takes one repository each), with the policy's calendar
//!   and `keep`, database dumps in `backupPrepareCommand`. Copies to `rsync:` and `git:`
//!   repositories are `systemd.services.hearth-copy-<policy>` with `startAt`, running the Debian
//!   units' script.
//! - The admin account (`admin.user`, default `hearth`) is declared in every configuration: a
//!   wheel member with the spec's SSH keys and sudo without a password, so Hearth's own deploys
//!   and the operator's `nixos-rebuild switch --flake .#<hostname> --target-host <admin>@<address>
//!   --use-remote-sudo` both keep working after the first rebuild. Declaring it in Nix, not only
//!   through cloud-init, keeps it when NixOS rewrites `/etc/passwd`.
//! - `nixos: { gc, upgrade }` on a guest become `nix.gc` and `system.autoUpgrade`, the upgrade
//!   building the guest's own copy of the flake (`/etc/nixos#<hostname>`) with the newest
//!   nixpkgs of its branch and writing no lock file into `/etc/nixos`, which Hearth owns.
//! - Docker services on a NixOS guest become `virtualisation.oci-containers.containers` (Docker
//!   backend): non-secret environment inline, secret environment in an `environmentFiles` entry.
//! - Native services whose catalog `native.nixos` module has no dedicated mapping here are
//!   enabled with `<module>.enable = true`; a service without a NixOS module gets a comment.
//!
//! Files: this module holds the flake and the per-guest `HostConfig` (sections of attribute
//! assignments, secrets, text); `system` the machine itself (imports, network, firewall, agent),
//! `services` the native services, `monitoring` Prometheus, Alertmanager, Grafana and Loki,
//! `containers` Docker services and backups, `copies` the folder copies, `shares` the shares it mounts, `nix` the Nix value
//! writer.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use hearth_catalog::{App, Provides};
use hearth_model::Model;
use hearth_model::model::{Guest, GuestKind, Opening, Placement, Repository, Service, Template, Tls};
use hearth_spec::ast::{Auth, Form};

use crate::shell::sh_quote;
use crate::sites::{self, Proxy};
use crate::{Activation, Context, File, Kind, Output, fill};

mod containers;
mod copies;
mod monitoring;
mod nix;
mod services;
mod shares;
mod system;

use nix::{N, attr, nix_str, path, raw_lines};

const NIXPKGS: &str = "github:NixOS/nixpkgs/nixos-24.11";
const STATE_VERSION: &str = "24.11";
/// Where the 0600 secret files the configurations point at live.
const SECRETS: &str = "/etc/hearth/nixos";

/// `nixos-rebuild` on a NixOS system.
const NIXOS_REBUILD: &str = "/run/current-system/sw/bin/nixos-rebuild";

pub fn render(cx: &Context, out: &mut Output) {
    let model = cx.model;
    let guests: Vec<(&str, &Guest)> =
        model.guests.iter().filter(|(n, _)| model.is_nixos(n)).map(|(n, g)| (n.as_str(), g)).collect();
    if guests.is_empty() {
        return;
    }
    let flake = flake(model, &guests);
    let mut configs = Vec::new();
    for (name, guest) in &guests {
        let mut host = HostConfig::new(cx, name, guest);
        host.build();
        for secret in &host.secrets {
            let mut file = File::new(name, format!("{SECRETS}/{}", secret.file), Kind::EnvSecret, &secret.content);
            for src in &secret.sources {
                file = file.from(src.clone());
            }
            out.push(file);
        }
        configs.push((guest.hostname.clone(), host.text(), host.sources));
    }
    for (machine, guest) in &guests {
        // Every file of the flake takes effect through one rebuild of this machine's system, of
        // the configuration named after its hostname (the attribute `nixos-rebuild` picks by
        // default, so a rebuild run by hand on the machine builds the same system).
        let rebuild = Activation::Run {
            argv: [NIXOS_REBUILD, "switch", "--flake", &format!("/etc/nixos#{}", guest.hostname)]
                .map(String::from)
                .to_vec(),
        };
        let mut f = File::new(machine, "/etc/nixos/flake.nix", Kind::Nixos, &flake).activate(rebuild.clone());
        for (name, _) in &guests {
            f = f.from(format!("guest/{name}"));
        }
        out.push(f);
        for (name, text, sources) in &configs {
            let mut f = File::new(machine, format!("/etc/nixos/hosts/{name}/configuration.nix"), Kind::Nixos, text)
                .activate(rebuild.clone());
            for src in sources {
                f = f.from(src.clone());
            }
            out.push(f);
        }
    }
}

fn flake(model: &Model, guests: &[(&str, &Guest)]) -> String {
    let mut s = format!(
        "# NixOS flake of homelab `{}`, rendered by Hearth. The same flake is on every NixOS guest:\n\
         #   nixos-rebuild switch --flake /etc/nixos#<hostname>\n\
         {{\n  description = {};\n\n  inputs.nixpkgs.url = {};\n\n  outputs = {{ self, nixpkgs }}: {{\n    nixosConfigurations = {{\n",
        model.homelab,
        nix_str(&format!("Homelab {}", model.homelab)),
        nix_str(NIXPKGS)
    );
    for (_, guest) in guests {
        let name = &guest.hostname;
        let _ = write!(
            s,
            "      {} = nixpkgs.lib.nixosSystem {{\n        system = \"x86_64-linux\";\n        modules = [ ./hosts/{name}/configuration.nix ];\n      }};\n",
            attr(name)
        );
    }
    s.push_str("    };\n  };\n}\n");
    s
}

/// A 0600 file this renderer writes beside the configuration.
struct Secret {
    file: String,
    content: String,
    sources: BTreeSet<String>,
}

/// One guest's `configuration.nix`, built as commented sections of attribute assignments.
struct HostConfig<'a> {
    cx: &'a Context<'a>,
    name: &'a str,
    guest: &'a Guest,
    sections: Vec<(String, Vec<(String, N)>)>,
    secrets: Vec<Secret>,
    sources: BTreeSet<String>,
}

impl<'a> HostConfig<'a> {
    fn new(cx: &'a Context<'a>, name: &'a str, guest: &'a Guest) -> HostConfig<'a> {
        let mut sources = BTreeSet::new();
        sources.insert(format!("guest/{name}"));
        HostConfig { cx, name, guest, sections: Vec::new(), secrets: Vec::new(), sources }
    }

    fn section(&mut self, comment: impl Into<String>, entries: Vec<(String, N)>) {
        if !entries.is_empty() {
            self.sections.push((comment.into(), entries));
        }
    }

    /// A secret file from a template; returns its path.
    fn secret(&mut self, file: &str, content: String, source: &str) -> String {
        if let Some(s) = self.secrets.iter_mut().find(|s| s.file == file) {
            s.sources.insert(source.to_string());
        } else {
            let mut sources = BTreeSet::new();
            sources.insert(source.to_string());
            self.secrets.push(Secret { file: file.to_string(), content, sources });
        }
        format!("{SECRETS}/{file}")
    }

    fn model(&self) -> &'a Model {
        self.cx.model
    }

    /// Services placed on this guest (primary or replica), by name.
    fn placed(&self) -> Vec<(&'a str, &'a Service)> {
        let name = self.name;
        self.model()
            .services
            .iter()
            .filter(|(_, s)| matches!(&s.on, Placement::Guest(g) if g == name) || s.also_on.iter().any(|a| a == name))
            .map(|(n, s)| (n.as_str(), s))
            .collect()
    }

    fn build(&mut self) {
        self.base();
        self.admin();
        self.maintenance();
        self.network();
        self.firewall();
        self.agents();
        let placed = self.placed();
        for (name, s) in &placed {
            if s.form == Form::Native {
                self.sources.insert(format!("service/{name}"));
                self.native(name, s);
            }
        }
        let docker: Vec<(&str, &Service)> = placed.iter().filter(|(_, s)| s.form == Form::Docker).copied().collect();
        if self.guest.runtime == hearth_spec::ast::Runtime::Docker || !docker.is_empty() {
            self.containers(&docker);
        }
        self.backups();
        self.copies();
        self.shares();
    }

    fn text(&self) -> String {
        let mut s = format!(
            "# NixOS configuration of `{}`, rendered by Hearth. Secrets are files under {SECRETS} (mode 0600).\n\
             {{ config, lib, pkgs, modulesPath, ... }}:\n\n{{\n",
            self.name
        );
        for (i, (comment, entries)) in self.sections.iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            for line in comment.lines() {
                let _ = writeln!(s, "  # {line}");
            }
            for (k, v) in entries {
                let _ = write!(s, "  {k} = ");
                v.write(&mut s, 1);
                s.push_str(";\n");
            }
        }
        s.push_str("}\n");
        s
    }
}

fn kind_name(k: GuestKind) -> &'static str {
    match k {
        GuestKind::Vm => "VM",
        GuestKind::Lxc => "LXC container",
    }
}

fn app_name(s: &Service) -> String {
    s.app.clone().or_else(|| s.image.clone()).unwrap_or_default()
}

fn host_port(a: IpAddr, port: u16) -> String {
    match a {
        IpAddr::V4(v) => format!("{v}:{port}"),
        IpAddr::V6(v) => format!("[{v}]:{port}"),
    }
}
