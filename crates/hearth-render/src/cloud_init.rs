//! `#cloud-config` user-data for every managed Debian or Ubuntu VM, written on its Proxmox host as
//! the snippet `/var/lib/vz/snippets/hearth-<guest>.yaml` (volume `local:snippets/...`) that the
//! VM's `cicustom: user=...` points at (proxmox.rs). NixOS, Home Assistant OS, DSM and other
//! appliances do not run cloud-init the same way (or at all) and get nothing here.
//!
//! What it sets up: hostname and FQDN (the DNS zone, else the domain), the homelab's timezone, an
//! admin user `hearth` with passwordless sudo and a locked password, and the packages Hearth
//! needs: `qemu-guest-agent` (Proxmox reads addresses and freezes filesystems through it) and,
//! on a Docker VM, Docker and Compose v2 from the distribution: `docker.io` with the `docker
//! compose` plugin, which is `docker-compose-v2` on Ubuntu and `docker-compose` from Debian 13 on.
//! Debian 12's own `docker-compose` is Compose 1.29, which refuses every rendered project (the
//! top-level `name:`), and Debian 12 has no Compose v2 package, not even in bookworm-backports;
//! Debian 13's `docker-compose` (2.26) depends on nothing but glibc 2.34 (Debian 12 has 2.36), so
//! a Debian 12 VM gets trixie's archive pinned to that one package: every other trixie package
//! has a negative priority and is never installed, not even as a recommendation. Addresses come
//! from Proxmox's `ipconfig0`, not from here: Proxmox writes the network config itself.
//!
//! The VM's `mounts:` are mounted at boot (`mounts:`, type `virtiofs`, the tag being the directory
//! mapping's id that proxmox.rs shares the host folder under).
//!
//! The user's `ssh_authorized_keys` are `admin.ssh_keys`; without any, a marked placeholder line
//! that must be replaced before the VM is created (the check warns, W641); with `cicustom`,
//! Proxmox's own `sshkeys` option is not applied.

use hearth_model::model::{Guest, Model};

use crate::{Context, File, Kind, Output};

/// Where Proxmox's `local` storage keeps snippets.
const SNIPPETS: &str = "/var/lib/vz/snippets";

/// The marker left where the operator's SSH public key goes when `admin.ssh_keys` is empty.
const SSH_KEY_PLACEHOLDER: &str = "REPLACE-ME operator SSH public key (set admin.ssh_keys in the spec)";

pub fn render(cx: &Context, out: &mut Output) {
    for (name, g) in &cx.model.guests {
        if !uses_cloud_init(g) {
            continue;
        }
        let path = format!("{SNIPPETS}/hearth-{name}.yaml");
        out.push(
            File::new(&g.host, path, Kind::CloudInit, user_data(cx.model, g))
                .from(format!("guest/{name}"))
                .from(format!("host/{}", g.host)),
        );
    }
}

/// Whether a guest boots a cloud image configured by this module's user-data.
pub(crate) fn uses_cloud_init(g: &Guest) -> bool {
    g.cloud_image().is_some()
}

/// The `cicustom` volume of a guest's snippet.
pub(crate) fn snippet_volume(guest: &str) -> String {
    format!("local:snippets/hearth-{guest}.yaml")
}

use crate::yaml::quoted;

/// Debian 13's archive for Docker Compose v2 alone, on a Debian 12 VM (see the module header).
const TRIXIE_COMPOSE: &str = "\
write_files:
  - path: /etc/apt/sources.list.d/hearth-trixie.list
    content: |
      # Debian 13, for docker-compose (Compose v2) only: see /etc/apt/preferences.d/hearth-compose. By Hearth.
      deb http://deb.debian.org/debian trixie main
  - path: /etc/apt/preferences.d/hearth-compose
    content: |
      Explanation: Debian 12 packages only Compose 1.29; take Compose v2 from Debian 13 and nothing else.
      Package: *
      Pin: release n=trixie
      Pin-Priority: -1

      Package: docker-compose
      Pin: release n=trixie
      Pin-Priority: 990
";

fn user_data(model: &Model, g: &Guest) -> String {
    let fqdn = format!("{}.{}", g.hostname, model.dns.zone);
    // The operator's keys from `admin.ssh_keys`; without any, a marked line to replace.
    let keys: String = if model.admin.ssh_keys.is_empty() {
        format!("      - {}\n", quoted(SSH_KEY_PLACEHOLDER))
    } else {
        model.admin.ssh_keys.iter().map(|k| format!("      - {}\n", quoted(k))).collect()
    };
    let docker = g.runtime == hearth_spec::ast::Runtime::Docker;
    let mut packages = vec!["qemu-guest-agent"];
    if docker {
        packages.push("docker.io");
        packages.push(if g.os.starts_with("ubuntu") { "docker-compose-v2" } else { "docker-compose" });
    }
    let compose_from_trixie = docker && g.os == "debian-12";
    let mut s = format!(
        "#cloud-config\n\
         # User-data of VM `{hostname}`, rendered by Hearth (Proxmox `cicustom`).\n\
         hostname: {hostname}\n\
         fqdn: {fqdn}\n\
         prefer_fqdn_over_hostname: false\n\
         manage_etc_hosts: true\n\
         timezone: {tz}\n\
         users:\n\
         \x20 - name: {user}\n\
         \x20   gecos: Hearth admin\n\
         \x20   groups: [sudo]\n\
         \x20   shell: /bin/bash\n\
         \x20   sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n\
         \x20   lock_passwd: true\n\
         \x20   ssh_authorized_keys:\n\
{keys}\
         ssh_pwauth: false\n",
        hostname = g.hostname,
        tz = quoted(&model.timezone),
        user = model.admin.user,
        keys = keys,
    );
    if compose_from_trixie {
        // Written in cloud-init's first stage, before the package update and install.
        s.push_str(TRIXIE_COMPOSE);
    }
    s.push_str("package_update: true\npackages:\n");
    for p in &packages {
        s.push_str(&format!("  - {p}\n"));
    }
    if !g.mounts.is_empty() {
        // `nofail`: a missing share must not stop the boot; the services that need it fail and
        // say so instead.
        s.push_str("mounts:\n");
        for (inside, host) in &g.mounts {
            s.push_str(&format!(
                "  - [{}, {}, virtiofs, \"defaults,nofail\", \"0\", \"0\"]\n",
                crate::proxmox::mapping_id(host),
                quoted(inside)
            ));
        }
    }
    s.push_str("runcmd:\n  - [systemctl, enable, --now, qemu-guest-agent]\n");
    if docker {
        // Joined here, not under `groups:`: a `docker` group cloud-init created before the package
        // installs would be a non-system group, which the package's own `addgroup --system` refuses.
        s.push_str(&format!(
            "  - [systemctl, enable, --now, docker]\n  - [usermod, -aG, docker, {}]\n",
            model.admin.user
        ));
    }
    s
}
