//! The watcher as a service of one machine (`monitoring.watcher`): a hardened systemd unit
//! running `hearth watch --config`, the configuration it reads (`WatchConfig`, JSON), and one
//! secret file per credential it needs, which the unit hands it with `LoadCredential=`.
//!
//! What the watcher on that machine checks is decided here, from `hearth-facts`: routes through
//! the proxy and DNS answers (from anywhere, so from it too) and the TCP connections to other
//! machines that their firewall admits from the watcher's machine. Checks that need a command on a machine or a connection from
//! another machine (units, containers, logins, scrape targets, certificates against the
//! internal CA's file, backups, firewall edges from elsewhere) are left out, each with the
//! reason: they need SSH into the other machines, and a root key to every machine kept on one
//! service machine would make that machine the homelab's weakest point. `hearth verify` and the
//! controller's `hearth watch` keep checking them.
//!
//! The `hearth` binary the unit runs is not rendered (a render is the same bytes on every
//! controller); `apply` ships the controller's own binary to `BINARY` before the files.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use hearth_facts::{Check, Expect, Fact};
use hearth_model::Model;
use hearth_model::model::{Channel, Template, Watcher};
use serde::{Deserialize, Serialize};

use crate::secrets::fill;
use crate::{Activation, Context, File, Kind, Output, systemd};

/// Where `apply` puts the `hearth` binary the unit runs.
pub const BINARY: &str = "/usr/local/lib/hearth/hearth";
/// The rendered configuration.
pub const CONFIG: &str = "/etc/hearth/watch/config.json";
/// The folder of the credential files (root, 0600), read by systemd, not by the watcher.
pub const CREDENTIALS: &str = "/etc/hearth/watch/credentials";
/// The history database, in the unit's `StateDirectory`.
pub const DB: &str = "/var/lib/hearth-watch/watch.db";

/// What `hearth watch --config` reads. Secrets are credential *names*: the values are files
/// systemd passes in `$CREDENTIALS_DIRECTORY`, never this file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchConfig {
    pub homelab: String,
    pub machine: String,
    pub listen: SocketAddr,
    pub db: String,
    /// The credential holding the page's token, when it listens beyond loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub targets: Vec<WatchTarget>,
    #[serde(default)]
    pub channels: Vec<WatchChannel>,
    /// The facts this watcher does not check, by reason.
    #[serde(default)]
    pub left_out: BTreeMap<String, Vec<String>>,
}

/// One check of the rendered watcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchTarget {
    pub id: String,
    pub machine: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub describe: String,
    /// The model entity it comes from (`service/whoami/expose`).
    pub source: String,
    pub probe: WatchProbe,
    /// From the service's `watch:` (merged over `monitoring.watch`), else the watcher's default.
    pub interval_ms: u64,
    pub timeout_ms: u64,
    /// Failures in a row before an incident opens, when the spec sets it; else the daemon's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_after: Option<u32>,
}

/// How a rendered target is probed: from the watcher's machine, no SSH.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum WatchProbe {
    Http { addr: SocketAddr, https: bool, host: String, path: String, expect: Expect },
    Tcp { addr: SocketAddr },
    Dns { server: SocketAddr, name: String, expect: IpAddr },
}

/// A notification channel; secret parts are credential names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum WatchChannel {
    Webhook {
        name: String,
        url: String,
    },
    Ntfy {
        name: String,
        url: String,
        topic: String,
        token: Option<String>,
    },
    Gotify {
        name: String,
        url: String,
        token: String,
    },
    Telegram {
        name: String,
        chat: String,
        token: String,
    },
    Email {
        name: String,
        to: String,
        from: String,
        smarthost: String,
        username: Option<String>,
        password: Option<String>,
    },
}

pub fn render(cx: &Context, out: &mut Output) {
    let Some(w) = &cx.model.monitoring.watcher else { return };
    let facts = hearth_facts::facts(cx.model, cx.catalog);
    let mut credentials: BTreeMap<String, String> = BTreeMap::new();
    let config = config(cx.model, w, &facts, &mut credentials);
    let mut text = serde_json::to_string_pretty(&config).unwrap_or_default();
    text.push('\n');
    let unit = format!("{}.service", Watcher::UNIT);
    out.push(
        File::new(&w.machine, CONFIG, Kind::Watch, text)
            .activate(Activation::Restart { unit: unit.clone() })
            .from("monitoring/watcher"),
    );
    for (name, reference) in &credentials {
        let value = fill(&Template::secret(reference.clone()), cx.secrets);
        out.push(
            File::new(&w.machine, format!("{CREDENTIALS}/{name}"), Kind::EnvSecret, value)
                .activate(Activation::Restart { unit: unit.clone() })
                .from("monitoring/watcher"),
        );
    }
    out.push(
        systemd::unit_file(&w.machine, &unit, unit_text(w, credentials.keys().map(String::as_str)), true)
            .from("monitoring/watcher"),
    );
}

/// The configuration of the watcher on `w.machine`; `credentials` collects each credential
/// name with the secret reference its file holds.
pub fn config(model: &Model, w: &Watcher, facts: &[Fact], credentials: &mut BTreeMap<String, String>) -> WatchConfig {
    let mut targets = Vec::new();
    let mut left_out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in facts {
        if f.skip.is_some() {
            continue;
        }
        match probe(model, f, &w.machine) {
            Ok(Some((id, probe))) => {
                // One probe per connection: several facts can become the same one from here.
                if !seen.insert(id.clone()) {
                    continue;
                }
                let service = f
                    .source
                    .strip_prefix("service/")
                    .and_then(|s| s.split('/').next())
                    .filter(|s| model.services.contains_key(*s))
                    .map(str::to_string);
                let group = service
                    .as_ref()
                    .and_then(|s| model.services.get(s))
                    .map(|s| s.group.clone())
                    .filter(|g| !g.is_empty());
                let watch =
                    service.as_ref().and_then(|s| model.services.get(s)).map_or(model.monitoring.watch, |s| s.watch);
                let (interval_ms, timeout_ms) = watch.schedule_ms(hearth_model::model::Watch::DEFAULT_INTERVAL_MS);
                targets.push(WatchTarget {
                    id,
                    machine: f.machine.clone(),
                    service,
                    group,
                    describe: f.check.describe(),
                    source: f.source.clone(),
                    probe,
                    interval_ms,
                    timeout_ms,
                    fail_after: watch.fail_after,
                });
            }
            Ok(None) => {}
            Err(why) => left_out.entry(why.to_string()).or_default().push(f.id.clone()),
        }
    }
    let mut credential = |reference: &str| {
        let name = credential_name(reference);
        credentials.insert(name.clone(), reference.to_string());
        name
    };
    let token = w.token.as_deref().filter(|_| w.beyond_loopback()).map(&mut credential);
    let channels = model
        .notifications
        .iter()
        .map(|(name, c)| {
            let name = name.clone();
            match c {
                Channel::Webhook { url } => WatchChannel::Webhook { name, url: url.clone() },
                Channel::Ntfy { url, topic, token } => WatchChannel::Ntfy {
                    name,
                    url: url.clone(),
                    topic: topic.clone(),
                    token: token.as_deref().map(&mut credential),
                },
                Channel::Gotify { url, token } => {
                    WatchChannel::Gotify { name, url: url.clone(), token: credential(token) }
                }
                Channel::Telegram { chat, token } => {
                    WatchChannel::Telegram { name, chat: chat.clone(), token: credential(token) }
                }
                Channel::Email { to, from, smarthost, username, password } => WatchChannel::Email {
                    name,
                    to: to.clone(),
                    from: from.clone().unwrap_or_else(|| {
                        format!(
                            "hearth@{}",
                            model.domain.clone().unwrap_or_else(|| format!("{}.home.arpa", model.homelab))
                        )
                    }),
                    smarthost: smarthost.clone(),
                    username: username.clone(),
                    password: password.as_deref().map(&mut credential),
                },
            }
        })
        .collect();
    WatchConfig {
        homelab: model.homelab.clone(),
        machine: w.machine.clone(),
        listen: w.listen,
        db: DB.to_string(),
        token,
        targets,
        channels,
        left_out,
    }
}

/// How the watcher on `machine` (at `own`) probes a fact, with the id it is known by there;
/// `Ok(None)` for facts no watcher runs (a firewall edge that must be closed, an alert's series,
/// a test alert: `hearth verify`'s audits), `Err` with the reason for those this one leaves out.
/// A connection the firewall admits from `machine` too is probed from there, named so.
fn probe(model: &Model, f: &Fact, machine: &str) -> Result<Option<(String, WatchProbe)>, &'static str> {
    let probe = match &f.check {
        Check::Route { address, port, tls, host, path, expect } => WatchProbe::Http {
            addr: SocketAddr::new(*address, *port),
            https: *tls,
            host: host.clone(),
            path: path.clone(),
            expect: *expect,
        },
        Check::Dns { server, port, name, expect } => {
            WatchProbe::Dns { server: SocketAddr::new(*server, *port), name: name.clone(), expect: *expect }
        }
        Check::Connect { address, port, protocol, open: true } if protocol == "tcp" => {
            // The watcher's connection leaves from its interface on the target's network, if it
            // has one: that is the address the target's rules see.
            let own = model.address_toward(machine, Some(*address));
            if f.machine == machine || (f.from != machine && !admitted(model, &f.machine, *port, own)) {
                return Err("a connection the firewall admits only from other machines: it needs SSH there");
            }
            let id = format!("firewall/{}/tcp/{port}/from/{machine}", f.machine);
            return Ok(Some((id, WatchProbe::Tcp { addr: SocketAddr::new(*address, *port) })));
        }
        Check::Connect { .. } | Check::Series { .. } | Check::Notify { .. } => return Ok(None),
        Check::Unit { .. }
        | Check::Container { .. }
        | Check::Backup { .. }
        | Check::Timer { .. }
        | Check::CronJob { .. } => {
            return Err("a command on the machine: it needs SSH there");
        }
        Check::Postgres { .. }
        | Check::Mysql { .. }
        | Check::Mongodb { .. }
        | Check::Redis { .. }
        | Check::S3 { .. } => return Err("a login from the consumer's machine: it needs SSH there"),
        Check::ScrapeUp { .. } => return Err("a question to Prometheus from its own machine: it needs SSH there"),
        Check::Certificate { .. } => {
            return Err("a certificate judged against the CA file on the proxy's machine: it needs SSH there");
        }
    };
    Ok(Some((f.id.clone(), probe)))
}

/// Whether `target`'s firewall admits `own` on TCP `port`: an opening from anywhere, or one
/// whose sources (addresses and CIDRs) cover it.
fn admitted(model: &Model, target: &str, port: u16, own: Option<IpAddr>) -> bool {
    let Some(own) = own else { return false };
    model.firewall.get(target).into_iter().flatten().any(|o| {
        o.port == port
            && o.protocol == hearth_spec::ast::L4::Tcp
            && (o.from.is_empty() || o.from.iter().any(|s| covers(s, own)))
    })
}

/// Whether a firewall source (`192.168.1.20` or `192.168.1.0/24`) covers `a`.
fn covers(source: &str, a: IpAddr) -> bool {
    let (addr, len) = source.split_once('/').unwrap_or((source, ""));
    let Ok(net) = addr.parse::<IpAddr>() else { return false };
    let bits = |ip: IpAddr| match ip {
        IpAddr::V4(v) => (u128::from(u32::from(v)) << 96, 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    };
    let ((n, width), (x, xwidth)) = (bits(net), bits(a));
    let len: u32 = if len.is_empty() { width } else { len.parse().unwrap_or(u32::MAX) };
    if width != xwidth || len > width {
        return false;
    }
    let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
    n & mask == x & mask
}

/// A credential's name from the secret reference it holds (`secret:telegram-token` →
/// `telegram-token`): what `LoadCredential=` and `$CREDENTIALS_DIRECTORY` accept.
pub fn credential_name(reference: &str) -> String {
    let bare = reference.strip_prefix("secret:").unwrap_or(reference);
    bare.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).collect()
}

/// The unit: a dynamic user with no access to anything but its state folder, the network and
/// the credentials systemd copies for it.
fn unit_text<'a>(w: &Watcher, credentials: impl Iterator<Item = &'a str>) -> String {
    let mut s = String::from(
        "# Rendered by Hearth.\n\
         [Unit]\n\
         Description=Hearth watcher: checks, status page and alerts\n\
         Wants=network-online.target\n\
         After=network-online.target\n\n\
         [Service]\n",
    );
    s.push_str(&format!("ExecStart={BINARY} watch --config {CONFIG}\n"));
    for name in credentials {
        s.push_str(&format!("LoadCredential={name}:{CREDENTIALS}/{name}\n"));
    }
    if w.listen.port() < 1024 {
        s.push_str("AmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n");
    } else {
        s.push_str("CapabilityBoundingSet=\n");
    }
    s.push_str(
        "DynamicUser=yes\n\
         StateDirectory=hearth-watch\n\
         StateDirectoryMode=0700\n\
         Environment=HOME=/var/lib/hearth-watch\n\
         Restart=on-failure\n\
         RestartSec=5s\n\
         NoNewPrivileges=yes\n\
         ProtectSystem=strict\n\
         ProtectHome=yes\n\
         PrivateTmp=yes\n\
         PrivateDevices=yes\n\
         ProtectKernelTunables=yes\n\
         ProtectKernelModules=yes\n\
         ProtectKernelLogs=yes\n\
         ProtectControlGroups=yes\n\
         ProtectClock=yes\n\
         ProtectHostname=yes\n\
         RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n\
         RestrictNamespaces=yes\n\
         RestrictRealtime=yes\n\
         RestrictSUIDSGID=yes\n\
         LockPersonality=yes\n\
         SystemCallArchitectures=native\n\
         SystemCallFilter=@system-service\n\
         SystemCallFilter=~@privileged @resources\n\
         UMask=0077\n\n\
         [Install]\n\
         WantedBy=multi-user.target\n",
    );
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_source_covers_its_addresses() {
        let check = |source: &str, a: &str, expected: bool| {
            assert_eq!(super::covers(source, a.parse().unwrap()), expected, "{source} {a}")
        };
        check("192.168.1.0/24", "192.168.1.20", true);
        check("192.168.1.0/24", "192.168.2.20", false);
        check("192.168.1.20", "192.168.1.20", true);
        check("192.168.1.20", "192.168.1.21", false);
        check("0.0.0.0/0", "10.0.0.1", true);
        check("fd00::/8", "fd12::1", true);
        check("fd00::/8", "192.168.1.1", false);
        check("not an address", "192.168.1.1", false);
    }
}
