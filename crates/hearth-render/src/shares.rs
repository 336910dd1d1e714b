//! Shares (`shares:`), on both ends.
//!
//! Clients: each mount of a share is a systemd `.mount` unit named after its path (what
//! `systemd-escape --path` gives), with `_netdev` so it waits for the network, and, when the
//! spec asks for `automount`, an `.automount` unit that mounts it on first access instead of at
//! boot. An SMB mount reads its login from `/etc/hearth/shares/<share>.cred` (mode 0600, filled
//! at apply time, never in the rendered tree). An LXC container's share is mounted by its
//! Proxmox host under `/mnt/hearth/shares/<share>` and bound into the container (proxmox.rs).
//!
//! Servers Hearth runs natively on Debian: an NFS server gets `/etc/exports.d/hearth.exports`
//! (the package's own `/etc/exports` stays the operator's) and `exportfs -ra`; Samba gets its
//! whole `smb.conf` (global settings that admit only the shares' clients, one section per
//! share), and the users the shares name are made with their passwords from the secret store
//! (`users.sh`, run at apply time). NixOS machines are configured by their flake instead
//! (nixos/services.rs); a share on an appliance is the appliance's to serve.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hearth_model::Model;
use hearth_model::model::Template;
use hearth_model::shares::{Share, ShareMount};
use hearth_spec::ast::{Form, ShareKind};

use crate::shell::sh_quote;
use crate::systemd::unit_file;
use crate::{Activation, Context, File, Kind, Output, fill};

/// The folder of the SMB credentials files on clients and of the Samba users script on servers.
const DIR: &str = "/etc/hearth/shares";

pub fn render(cx: &Context, out: &mut Output) {
    let model = cx.model;
    for m in &model.share_mounts {
        let Some(share) = model.shares.get(&m.share) else { continue };
        if model.is_nixos(&m.machine) {
            continue;
        }
        client(cx, m, share, out);
    }
    servers(cx, out);
}

/// The unit name of a mount point, as `systemd-escape --path --suffix=SUFFIX` writes it.
pub fn unit_name(path: &str, suffix: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return format!("-.{suffix}");
    }
    let mut name = String::new();
    for (i, b) in trimmed.bytes().enumerate() {
        match b {
            b'/' => name.push('-'),
            b'.' if i == 0 => name.push_str("\\x2e"),
            b if b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'.') => name.push(b as char),
            b => {
                let _ = write!(name, "\\x{b:02x}");
            }
        }
    }
    format!("{name}.{suffix}")
}

/// The mount options of one client's mount; an SMB mount reads its login from `credentials`.
pub(crate) fn options(share: &Share, m: &ShareMount, credentials: &str) -> Vec<String> {
    let mut o = vec!["_netdev".to_string(), if m.readonly { "ro" } else { "rw" }.to_string()];
    match share.kind {
        // NFS v4 only: one port, which is all the firewall opens.
        ShareKind::Nfs => {
            o.push("nfsvers=4.2".into());
            if share.port != 2049 {
                o.push(format!("port={}", share.port));
            }
        }
        ShareKind::Smb => {
            o.push(format!("credentials={credentials}"));
            o.push("vers=3.0".into());
            if share.port != 445 {
                o.push(format!("port={}", share.port));
            }
        }
    }
    o
}

/// The filesystem type of a share's mount.
pub(crate) fn fstype(kind: ShareKind) -> &'static str {
    match kind {
        ShareKind::Nfs => "nfs4",
        ShareKind::Smb => "cifs",
    }
}

fn client(cx: &Context, m: &ShareMount, share: &Share, out: &mut Output) {
    let Some(what) = share.source() else { return };
    let name = &m.share;
    let mount = unit_name(&m.path, "mount");
    let fstype = fstype(share.kind);
    let for_guests = if m.guests.is_empty() {
        String::new()
    } else {
        format!("\n# Bound into {} by its Proxmox parameters.", m.guests.join(", "))
    };
    let install = if m.automount { "" } else { "\n[Install]\nWantedBy=remote-fs.target\n" };
    let content = format!(
        "# Rendered by Hearth: share `{name}` from `{server}`.{for_guests}\n\
         [Unit]\n\
         Description=Share {name} from {server}\n\
         Wants=network-online.target\n\
         After=network-online.target\n\n\
         [Mount]\n\
         What={what}\n\
         Where={where_}\n\
         Type={fstype}\n\
         Options={options}\n\
         TimeoutSec=30\n{install}",
        server = share.machine,
        where_ = m.path,
        options = options(share, m, &format!("{DIR}/{name}.cred")).join(","),
    );
    let source = format!("share/{name}");
    let kind = if cx.model.guests.contains_key(&m.machine) { "guest" } else { "host" };
    let machine_source = format!("{kind}/{}", m.machine);
    let with = |f: File| f.from(source.clone()).from(machine_source.clone());
    out.push(with(unit_file(&m.machine, &mount, content, !m.automount)));
    if m.automount {
        let automount = unit_name(&m.path, "automount");
        let content = format!(
            "# Rendered by Hearth: mounts share `{name}` on first access.\n\
             [Unit]\n\
             Description=Automount of share {name}\n\n\
             [Automount]\n\
             Where={}\n\
             TimeoutIdleSec=600\n\n\
             [Install]\n\
             WantedBy=remote-fs.target\n",
            m.path
        );
        out.push(with(unit_file(&m.machine, &automount, content, true)));
    }
    if share.kind == ShareKind::Smb {
        out.push(with(File::new(&m.machine, format!("{DIR}/{name}.cred"), Kind::EnvSecret, credentials(cx, share))));
    }
}

/// `username=` and `password=` for mount.cifs's `credentials=` file.
pub(crate) fn credentials(cx: &Context, share: &Share) -> String {
    let password = share.password.as_ref().map(|p| fill(&Template::secret(p.clone()), cx.secrets)).unwrap_or_default();
    format!("username={}\npassword={password}\n", share.user.as_deref().unwrap_or_default())
}

/// The addresses and networks a share admits, as the server's export list and `hosts allow`
/// write them: each client machine's address toward the server, then each network's CIDR.
pub fn client_sources(model: &Model, share: &Share) -> Vec<String> {
    let mut from: Vec<String> =
        share.machines.iter().filter_map(|c| model.address_toward(c, share.address)).map(|a| a.to_string()).collect();
    from.sort();
    from.dedup();
    from.extend(share.networks.iter().filter_map(|n| model.networks.get(n)).map(|n| n.cidr.clone()));
    from
}

/// The export and share files of the servers Hearth runs natively on Debian.
fn servers(cx: &Context, out: &mut Output) {
    let model = cx.model;
    let mut by_service: BTreeMap<&str, Vec<(&str, &Share)>> = BTreeMap::new();
    for (name, s) in &model.shares {
        if let Some(service) = s.service.as_deref() {
            by_service.entry(service).or_default().push((name, s));
        }
    }
    for (service, shares) in by_service {
        let Some(svc) = model.services.get(service) else { continue };
        let machine = svc.on.name();
        if svc.form != Form::Native || model.is_nixos(machine) {
            continue;
        }
        let sources: Vec<String> = shares.iter().map(|(n, _)| format!("share/{n}")).collect();
        let with = |mut f: File| {
            f = f.from(format!("service/{service}"));
            for s in &sources {
                f = f.from(s.clone());
            }
            f
        };
        match shares[0].1.kind {
            ShareKind::Nfs => out.push(with(exports(model, service, machine, &shares))),
            ShareKind::Smb => {
                out.push(with(smb_conf(model, service, machine, &shares)));
                let (script, secrets) = samba_users(cx, machine, &shares);
                out.push(with(secrets));
                out.push(with(script));
            }
        }
    }
}

/// `/etc/exports.d/hearth.exports`: one line per share, each client with the share's options.
fn exports(model: &Model, service: &str, machine: &str, shares: &[(&str, &Share)]) -> File {
    let mut text = format!("# NFS exports of `{service}`, rendered by Hearth from `shares:` (exports(5)).\n");
    for (name, s) in shares {
        let clients = client_sources(model, s);
        if clients.is_empty() {
            let _ = writeln!(text, "# `{name}` ({}): no client mounts it", s.path);
            continue;
        }
        let opts = format!("({},sync,no_subtree_check,root_squash)", if s.readonly { "ro" } else { "rw" });
        let list: Vec<String> = clients.iter().map(|c| format!("{c}{opts}")).collect();
        let _ = writeln!(text, "# share `{name}`\n{} {}", export_path(&s.path), list.join(" "));
    }
    File::new(machine, "/etc/exports.d/hearth.exports", Kind::NfsExports, text)
        .activate(Activation::Run { argv: vec!["/usr/sbin/exportfs".into(), "-ra".into()] })
}

/// A path as exports(5) reads it: a space or other blank written in octal.
fn export_path(path: &str) -> String {
    path.chars().map(|c| if c.is_whitespace() { format!("\\{:03o}", c as u32) } else { c.to_string() }).collect()
}

/// The global settings of a Samba with a Time Machine share: Apple's extensions on every share,
/// macOS metadata in extended attributes.
pub(crate) const FRUIT_GLOBAL: [(&str, &str); 3] =
    [("vfs objects", "catia fruit streams_xattr"), ("fruit:metadata", "stream"), ("fruit:model", "MacSamba")];

/// A share's Time Machine settings, none when it is not a destination.
pub(crate) fn time_machine(s: &Share) -> Vec<(&'static str, String)> {
    let Some(tm) = &s.time_machine else { return Vec::new() };
    let mut out = vec![("fruit:time machine", "yes".to_string())];
    if let Some(size) = tm.max_size {
        out.push(("fruit:time machine max size", samba_size(size.bytes)));
    }
    out
}

/// A size as Samba reads one (binary `K`, `M`, `G`, `T` suffixes): the largest unit that
/// divides it, else bytes, so `1TiB` is `1T` and `1TB` is `976562500K`.
fn samba_size(bytes: u64) -> String {
    for (unit, factor) in [("T", 1u64 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] {
        if bytes >= factor && bytes.is_multiple_of(factor) {
            return format!("{}{unit}", bytes / factor);
        }
    }
    bytes.to_string()
}

/// Samba's whole `smb.conf`: SMB 3 only, no guest access, only the shares' clients admitted.
fn smb_conf(model: &Model, service: &str, machine: &str, shares: &[(&str, &Share)]) -> File {
    let mut allow: Vec<String> = shares.iter().flat_map(|(_, s)| client_sources(model, s)).collect();
    allow.sort();
    allow.dedup();
    allow.push("127.0.0.1".into());
    let hostname = model.guests.get(machine).map_or(machine, |g| g.hostname.as_str());
    let mut text = format!(
        "# Samba `{service}`, rendered by Hearth from `shares:` (smb.conf(5)).\n\
         [global]\n\
         \tserver string = {hostname}\n\
         \tserver role = standalone server\n\
         \tserver min protocol = SMB3\n\
         \tmap to guest = never\n\
         \tload printers = no\n\
         \tprinting = bsd\n\
         \tprintcap name = /dev/null\n\
         \tdisable spoolss = yes\n\
         \thosts allow = {}\n\
         \thosts deny = 0.0.0.0/0\n",
        allow.join(" ")
    );
    // macOS negotiates Apple's SMB extensions on its first connection, so `vfs_fruit` goes on
    // every share once one is a Time Machine destination (vfs_fruit(8) warns against mixing).
    if shares.iter().any(|(_, s)| s.time_machine.is_some()) {
        for (key, value) in FRUIT_GLOBAL {
            let _ = writeln!(text, "\t{key} = {value}");
        }
    }
    for (name, s) in shares {
        let _ = write!(
            text,
            "\n# share `{name}`\n[{}]\n\tpath = {}\n\tread only = {}\n\tbrowseable = yes\n\tguest ok = no\n\tvalid users = {}\n",
            s.name,
            s.path,
            if s.readonly { "yes" } else { "no" },
            s.user.as_deref().unwrap_or_default(),
        );
        for (key, value) in time_machine(s) {
            let _ = writeln!(text, "\t{key} = {value}");
        }
    }
    let unit = "smbd.service".to_string();
    File::new(machine, "/etc/samba/smb.conf", Kind::SambaConf, text).activate(Activation::Reload { unit })
}

/// The Samba users the shares name: a system user without a login shell for each, and its
/// Samba password from `passwords` (user and password per line, mode 0600), set with `smbpasswd`.
fn samba_users(cx: &Context, machine: &str, shares: &[(&str, &Share)]) -> (File, File) {
    let mut users: BTreeMap<&str, &str> = BTreeMap::new();
    for (_, s) in shares {
        if let (Some(u), Some(p)) = (s.user.as_deref(), s.password.as_deref()) {
            users.entry(u).or_insert(p);
        }
    }
    let passwords_path = format!("{DIR}/samba-passwords");
    let mut passwords = String::new();
    for (user, password) in &users {
        let _ = writeln!(passwords, "{user} {}", fill(&Template::secret(password.to_string()), cx.secrets));
    }
    let script = format!(
        "#!/bin/sh\n\
         # Samba users of the shares, rendered by Hearth: each a system user with no login, and its\n\
         # Samba password from {passwords_path} (`USER PASSWORD` per line).\n\
         set -eu\n\
         while read -r user password; do\n\
         \tid \"$user\" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin \"$user\"\n\
         \tprintf '%s\\n%s\\n' \"$password\" \"$password\" | smbpasswd -s -a \"$user\" >/dev/null\n\
         done < {}\n",
        sh_quote(&passwords_path)
    );
    let script_path = format!("{DIR}/samba-users.sh");
    let script = File::new(machine, &script_path, Kind::Script, script)
        .mode(0o755)
        .activate(Activation::Run { argv: vec!["/bin/sh".into(), script_path.clone()] });
    (script, File::new(machine, passwords_path, Kind::EnvSecret, passwords))
}

#[cfg(test)]
mod tests {
    use super::unit_name;

    /// Each expected name is what `systemd-escape --path --suffix=mount` prints for the path.
    fn check(path: &str, expected: &str) {
        assert_eq!(unit_name(path, "mount"), expected, "{path}");
    }

    #[test]
    fn unit_names_escape_like_systemd() {
        check("/mnt/nas/media", "mnt-nas-media.mount");
        check("/mnt/nas/media/", "mnt-nas-media.mount");
        check("/mnt/my share", "mnt-my\\x20share.mount");
        check("/srv/a-b", "srv-a\\x2db.mount");
        check("/.hidden/x", "\\x2ehidden-x.mount");
    }
}
