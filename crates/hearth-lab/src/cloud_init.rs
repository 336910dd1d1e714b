//! A VM's `#cloud-config` user-data as a shell script for its lab container, in the order
//! cloud-init's NoCloud data source applies it at first boot: `write_files`, `timezone`, `users`
//! (account, groups, shell, sudo rule, locked password, authorised keys added beside the lab's),
//! `package_update`/`packages` (through the lab's package proxy; packages already installed are
//! left alone), then `runcmd`. As with cloud-init, a failing step is logged and the boot goes on:
//! the log is `/var/log/cloud-init-output.log`, the user-data `/var/lib/cloud/instance/user-data.txt`.
//! Keys the lab cannot honour (`mounts:` of virtiofs shares, `hostname`, which the API's
//! `hostname` already set) are logged as skipped.
//!
//! Pure: text in, script out.

use hearth_render::sh_quote;
use hearth_spec::yaml::{Node, Value};

const LOG: &str = "/var/log/cloud-init-output.log";

/// The keys applied; others are logged as not applied in the lab.
const KNOWN: &[&str] = &[
    "write_files",
    "timezone",
    "users",
    "package_update",
    "packages",
    "runcmd",
    "ssh_pwauth",
    "hostname",
    "fqdn",
    "prefer_fqdn_over_hostname",
    "manage_etc_hosts",
];

/// The script applying `user_data`, or why it is not `#cloud-config` YAML.
pub fn script(user_data: &str) -> Result<String, String> {
    if !user_data.starts_with("#cloud-config") {
        return Err("the user-data is not a `#cloud-config` document (the lab applies no other kind)".into());
    }
    let (root, diagnostics) = hearth_spec::yaml::parse(hearth_spec::FileId(0), user_data);
    if let Some(d) = diagnostics.first() {
        return Err(format!("the user-data is not valid YAML: {}", d.message));
    }
    let Some(root) = root else { return Ok(String::new()) };
    let Some(entries) = root.as_map() else {
        return Err(format!("the user-data is {}, not a mapping", root.kind_name()));
    };
    let mut s = format!(
        "exec >>{LOG} 2>&1\nmkdir -p /var/lib/cloud/instance\nstep() {{ \"$@\" || echo \"hearth lab cloud-init: failed: $*\"; }}\n"
    );
    s.push_str(&format!("printf '%s' {} > /var/lib/cloud/instance/user-data.txt\n", sh_quote(user_data)));
    for (key, _) in entries {
        if !KNOWN.contains(&key.name.as_str()) {
            s.push_str(&format!(
                "echo {}\n",
                sh_quote(&format!("hearth lab cloud-init: `{}` not applied in the lab", key.name))
            ));
        }
    }
    if root.get("mounts").is_some() {
        s.push_str("echo 'hearth lab cloud-init: `mounts` not applied: the lab has no virtiofs shares'\n");
    }
    for f in items(root.get("write_files")) {
        let Some(path) = f.get("path").and_then(Node::as_scalar) else { continue };
        let content = f.get("content").and_then(Node::as_scalar).unwrap_or("");
        let redirect = if f.get("append").and_then(Node::as_scalar) == Some("true") { ">>" } else { ">" };
        let dir = path.rsplit_once('/').map_or("/", |(d, _)| if d.is_empty() { "/" } else { d });
        s.push_str(&format!("step mkdir -p {}\n", sh_quote(dir)));
        s.push_str(&format!("printf '%s' {} {redirect} {}\n", sh_quote(content), sh_quote(path)));
        if let Some(mode) = f.get("permissions").and_then(Node::as_scalar) {
            s.push_str(&format!("step chmod {} {}\n", sh_quote(mode), sh_quote(path)));
        }
        if let Some(owner) = f.get("owner").and_then(Node::as_scalar) {
            s.push_str(&format!("step chown {} {}\n", sh_quote(owner), sh_quote(path)));
        }
    }
    if let Some(tz) = root.get("timezone").and_then(Node::as_scalar) {
        s.push_str(&format!(
            "step ln -sf {} /etc/localtime && echo {} > /etc/timezone\n",
            sh_quote(&format!("/usr/share/zoneinfo/{tz}")),
            sh_quote(tz)
        ));
    }
    for u in items(root.get("users")) {
        user(&mut s, u);
    }
    let packages: Vec<&str> = items(root.get("packages")).into_iter().filter_map(Node::as_scalar).collect();
    if !packages.is_empty() || root.get("package_update").and_then(Node::as_scalar) == Some("true") {
        s.push_str("missing=''\n");
        for p in &packages {
            s.push_str(&format!("dpkg -s {0} >/dev/null 2>&1 || missing=\"$missing {0}\"\n", sh_quote(p)));
        }
        s.push_str("if [ -n \"$missing\" ]; then step apt-get update -q; step env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing; fi\n");
    }
    for c in items(root.get("runcmd")) {
        match &c.value {
            Value::Scalar(sc) => s.push_str(&format!("step sh -c {}\n", sh_quote(&sc.text))),
            Value::Seq(words) => {
                let argv: Vec<String> = words.iter().filter_map(Node::as_scalar).map(sh_quote).collect();
                s.push_str(&format!("step {}\n", argv.join(" ")));
            }
            _ => {}
        }
    }
    s.push_str("echo 'hearth lab cloud-init: done'\n");
    Ok(s)
}

/// The items of a list (nothing for anything else).
fn items(node: Option<&Node>) -> Vec<&Node> {
    match node.map(|n| &n.value) {
        Some(Value::Seq(items)) => items.iter().collect(),
        _ => Vec::new(),
    }
}

/// A scalar or a list of scalars, as a list (`groups: [sudo]` or `groups: sudo, adm`).
fn words(node: Option<&Node>) -> Vec<String> {
    match node.map(|n| &n.value) {
        Some(Value::Scalar(s)) => s.text.split(',').map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect(),
        Some(Value::Seq(items)) => items.iter().filter_map(Node::as_scalar).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// One `users:` entry (`default`, the image's default user, has none in the lab).
fn user(s: &mut String, u: &Node) {
    let Some(name) = u.get("name").and_then(Node::as_scalar) else { return };
    let q = sh_quote(name);
    let shell = u.get("shell").and_then(Node::as_scalar).unwrap_or("/bin/sh");
    let mut add = format!("useradd -m -s {}", sh_quote(shell));
    if let Some(gecos) = u.get("gecos").and_then(Node::as_scalar) {
        add.push_str(&format!(" -c {}", sh_quote(gecos)));
    }
    s.push_str(&format!("id -u {q} >/dev/null 2>&1 || step {add} {q}\n"));
    s.push_str(&format!("step usermod -s {} {q}\n", sh_quote(shell)));
    for g in words(u.get("groups")) {
        s.push_str(&format!("step usermod -aG {} {q}\n", sh_quote(&g)));
    }
    for rule in words(u.get("sudo")) {
        s.push_str(&format!(
            "echo {} >> /etc/sudoers.d/90-cloud-init-users && chmod 440 /etc/sudoers.d/90-cloud-init-users\n",
            sh_quote(&format!("{name} {rule}"))
        ));
    }
    if u.get("lock_passwd").and_then(Node::as_scalar) != Some("false") {
        s.push_str(&format!("step passwd -l {q} >/dev/null\n"));
    }
    let keys: Vec<String> =
        items(u.get("ssh_authorized_keys")).into_iter().filter_map(Node::as_scalar).map(str::to_string).collect();
    if !keys.is_empty() {
        let home = format!("$(getent passwd {q} | cut -d: -f6)");
        s.push_str(&format!("h={home}; install -d -m 700 -o {q} \"$h/.ssh\"\n"));
        for k in keys {
            s.push_str(&format!("echo {} >> \"$h/.ssh/authorized_keys\"\n", sh_quote(&k)));
        }
        s.push_str(&format!("chown {q} \"$h/.ssh/authorized_keys\"; chmod 600 \"$h/.ssh/authorized_keys\"\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The script of `user_data` contains each of `parts` in order, or the error is `error`.
    fn check(user_data: &str, parts: &[&str]) {
        let got = script(user_data).expect("a script");
        let mut rest = got.as_str();
        for p in parts {
            let at = rest.find(p).unwrap_or_else(|| panic!("`{p}` missing (or out of order) in:\n{got}"));
            rest = &rest[at + p.len()..];
        }
    }

    #[test]
    fn applies_users_files_packages_and_commands_in_cloud_init_order() {
        check(
            "#cloud-config\nhostname: apps\ntimezone: Europe/Berlin\nwrite_files:\n  - path: /etc/x/y.conf\n    content: |\n      a=1\n    permissions: '0640'\n\
             users:\n  - name: hearth\n    groups: [sudo]\n    shell: /bin/bash\n    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n    lock_passwd: true\n    ssh_authorized_keys:\n      - ssh-ed25519 AAAA op\n\
             package_update: true\npackages:\n  - qemu-guest-agent\nmounts:\n  - [a, b]\nruncmd:\n  - [systemctl, enable, --now, qemu-guest-agent]\n  - echo hi\n",
            &[
                "`mounts` not applied",
                "step mkdir -p /etc/x",
                "printf '%s' 'a=1\n' > /etc/x/y.conf",
                "step chmod 0640 /etc/x/y.conf",
                "/usr/share/zoneinfo/Europe/Berlin",
                "useradd -m -s /bin/bash hearth",
                "step usermod -aG sudo hearth",
                "'hearth ALL=(ALL) NOPASSWD:ALL' >> /etc/sudoers.d/90-cloud-init-users",
                "passwd -l hearth",
                "echo 'ssh-ed25519 AAAA op' >> \"$h/.ssh/authorized_keys\"",
                "dpkg -s qemu-guest-agent",
                "apt-get install -y -q $missing",
                "step systemctl enable --now qemu-guest-agent",
                "step sh -c 'echo hi'",
                "cloud-init: done",
            ],
        );
    }

    #[test]
    fn unknown_keys_are_logged_and_other_documents_refused() {
        check("#cloud-config\nbootcmd: [x]\n", &["`bootcmd` not applied in the lab"]);
        assert!(script("#!/bin/sh\necho hi\n").unwrap_err().contains("not a `#cloud-config`"));
        assert!(script("#cloud-config\n- a\n").unwrap_err().contains("not a mapping"));
    }
}
