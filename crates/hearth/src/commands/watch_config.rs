//! `hearth watch --config FILE`: the watcher as the unit `apply` deploys runs it, from the
//! configuration `hearth_render::watcher` rendered instead of the spec (a machine running it has
//! no spec, no secret store and no SSH keys). Secret values come from the credentials systemd
//! passes in `$CREDENTIALS_DIRECTORY`, named in the configuration.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use hearth_render::watcher::{WatchChannel, WatchConfig, WatchProbe};
use hearth_verify::probe::Secret;
use hearth_verify::probe::http::Request;
use hearth_watch::alert::{Channel, Notifier};
use hearth_watch::server::Auth;
use hearth_watch::time::Window;
use hearth_watch::track::Policy;
use hearth_watch::{Config, Kind, Probe, Target};

use crate::cli::WatchArgs;

pub fn run(args: &WatchArgs, file: &Path, windows: Vec<Window>) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read `{}`", file.display()))?;
    let rendered: WatchConfig =
        serde_json::from_str(&text).with_context(|| format!("`{}` is not a watcher configuration", file.display()))?;
    let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    let read = |name: &str| -> anyhow::Result<Secret> {
        let Some(dir) = &credentials else {
            bail!(
                "credential `{name}` is needed but `CREDENTIALS_DIRECTORY` is not set (run by the `hearth-watch` unit)"
            )
        };
        let value =
            std::fs::read_to_string(dir.join(name)).with_context(|| format!("cannot read credential `{name}`"))?;
        Ok(Secret::new(value.trim_end_matches(['\r', '\n']).to_string()))
    };
    let mut notifiers = Vec::new();
    for c in &rendered.channels {
        let (name, channel) = match c {
            WatchChannel::Webhook { name, url } => (name, Channel::Webhook { url: url.clone() }),
            WatchChannel::Ntfy { name, url, topic, token } => (
                name,
                Channel::Ntfy {
                    url: url.clone(),
                    topic: topic.clone(),
                    token: token.as_deref().map(read).transpose()?,
                },
            ),
            WatchChannel::Gotify { name, url, token } => {
                (name, Channel::Gotify { url: url.clone(), token: read(token)? })
            }
            WatchChannel::Telegram { name, chat, token } => (
                name,
                Channel::Telegram { api: "https://api.telegram.org".into(), chat: chat.clone(), token: read(token)? },
            ),
            WatchChannel::Email { name, to, from, smarthost, username, password } => (
                name,
                Channel::Email {
                    smarthost: smarthost.clone(),
                    from: from.clone(),
                    to: to.clone(),
                    username: username.clone(),
                    password: password.as_deref().map(read).transpose()?,
                },
            ),
        };
        notifiers.push(Notifier { name: name.clone(), channel });
    }
    let targets: Vec<Target> = rendered
        .targets
        .iter()
        .map(|t| {
            let (kind, probe) = match &t.probe {
                WatchProbe::Http { addr, https, host, path, expect } => (
                    Kind::Http,
                    Probe::Http {
                        addr: *addr,
                        request: Request { https: *https, host: host.clone(), path: path.clone(), ca_pem: None },
                        expect: *expect,
                    },
                ),
                WatchProbe::Tcp { addr } => (Kind::Tcp, Probe::Tcp { addr: *addr }),
                WatchProbe::Dns { server, name, expect } => {
                    (Kind::Dns, Probe::Dns { server: *server, name: name.clone(), expect: *expect })
                }
            };
            Target {
                id: t.id.clone(),
                machine: t.machine.clone(),
                service: t.service.clone(),
                group: t.group.clone(),
                kind,
                describe: t.describe.clone(),
                location: t.source.clone(),
                probe,
                interval: Duration::from_millis(t.interval_ms.max(1)),
                timeout: Duration::from_millis(t.timeout_ms.max(1)),
                fail_after: t.fail_after,
            }
        })
        .collect();
    let left_out: usize = rendered.left_out.values().map(Vec::len).sum();
    eprintln!(
        "watching {} check(s) from `{}`; {left_out} left to `hearth verify` (see `left_out` in the configuration)",
        targets.len(),
        rendered.machine
    );
    let auth = match &rendered.token {
        Some(name) if !rendered.listen.ip().is_loopback() => Some(Auth::Token(read(name)?)),
        _ => None,
    };
    let mut config = Config::new(&rendered.homelab, targets, PathBuf::from(&rendered.db), rendered.listen);
    config.notifiers = notifiers;
    config.auth = auth;
    config.maintenance = windows;
    config.policy = Policy { fail_after: args.fail_after, ..Policy::default() };
    config.concurrency = args.concurrency as usize;
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    if args.test_alerts {
        let mut failed = 0;
        for (name, result) in runtime.block_on(hearth_watch::test_alerts(&rendered.homelab, &config.notifiers)) {
            match result {
                Ok(()) => println!("sent {name}"),
                Err(e) => {
                    failed += 1;
                    println!("FAIL {name}: {}", e.reason);
                }
            }
        }
        return Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    runtime.block_on(async {
        let handle = hearth_watch::start(config).await?;
        super::watch::shutdown_signal().await;
        eprintln!("stopping");
        handle.stop().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
