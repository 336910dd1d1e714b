//! `hearth watch`: the facts the spec implies (`hearth-facts`), checked on schedules by
//! `hearth-watch` until interrupted, with the status page on `--listen`; or, with
//! `--test-alerts`, one test message per notification channel. With `--config` it runs from a
//! rendered configuration instead (`watch_config`).
//!
//! The facts that cannot run are left out as `verify` skips them (their own reason, an image
//! the lab has not got, the internet); secret values (logins, channel tokens, the page's token)
//! come from the age store beside the spec.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use hearth_facts::Fact;
use hearth_model::Model;
use hearth_model::model::Channel as ModelChannel;
use hearth_verify::probe::Secret;
use hearth_verify::{Options, Secrets as _};
use hearth_watch::alert::{Channel, Notifier};
use hearth_watch::runner::Remote;
use hearth_watch::server::Auth;
use hearth_watch::target::{probe_of, service_of, settings};
use hearth_watch::time::Window;
use hearth_watch::track::Policy;
use hearth_watch::{Config, Target};

use crate::cli::WatchArgs;
use crate::commands::verify::{StoreSecrets, lab_skip};
use crate::report::Format;
use crate::targets::{self, Need};

/// The secret holding the page's token when it listens beyond loopback.
const TOKEN: &str = "secret:hearth-watch-token";

pub fn run(args: &WatchArgs, format: Format) -> anyhow::Result<ExitCode> {
    let windows: Vec<Window> =
        args.maintenance.iter().map(|w| Window::parse(w).map_err(anyhow::Error::msg)).collect::<Result<_, _>>()?;
    if let Some(file) = &args.config {
        return super::watch_config::run(args, file, windows);
    }
    let t = match targets::load(&args.target, format, Need::AllMachines)? {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let secrets = Arc::new(StoreSecrets::open(&t.root, t.lab.as_ref().map(|(dir, _)| dir.as_path())));
    let (notifiers, unreadable) = notifiers(&t.model, secrets.as_ref());
    // One current-thread runtime: the watcher waits on sockets almost all the time, and a
    // second worker only adds cross-thread wake-ups (5.3 % of a core against 4.9 % for
    // 10,000 checks every 30 s, docs/PERFORMANCE.md). SQLite writes run on its blocking pool.
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;

    if args.test_alerts {
        let mut failed = unreadable.len();
        for (name, why) in &unreadable {
            println!("FAIL {name}: {why}");
        }
        for (name, result) in runtime.block_on(hearth_watch::test_alerts(&t.model.homelab, &notifiers)) {
            match result {
                Ok(()) => println!("sent {name}"),
                Err(e) => {
                    failed += 1;
                    println!("FAIL {name}: {}", e.reason);
                }
            }
        }
        if notifiers.is_empty() && unreadable.is_empty() {
            bail!("the spec declares no notification channel (`notifications:`)");
        }
        return Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    for (name, why) in &unreadable {
        eprintln!("warning: channel `{name}` left out: {why}");
    }

    let facts = hearth_facts::facts(&t.model, hearth_catalog::builtin());
    let mut offline = std::collections::BTreeMap::new();
    if let Some((dir, input)) = &t.lab {
        for i in hearth_lab::offline_images(dir, input)? {
            offline.insert(i.service.clone(), format!("image `{}` is not available offline", i.image));
        }
    }
    let lab = t.lab.is_some();
    let mut skipped = 0;
    let mut watched: Vec<Target> = Vec::new();
    for f in &facts {
        let skip = f
            .skip
            .clone()
            .or_else(|| f.needs.iter().find_map(|n| offline.get(n).cloned()))
            .or_else(|| lab.then(|| lab_skip(f)).flatten());
        match (skip, probe_of(f)) {
            (None, Some((kind, probe))) => watched.push(target(&t, f, kind, probe)),
            (Some(_), Some(_)) => skipped += 1,
            _ => {}
        }
    }
    if skipped > 0 {
        eprintln!("{skipped} check(s) cannot run here and are not watched; `hearth verify` says why");
    }

    let listen: SocketAddr = args.listen;
    let auth = if listen.ip().is_loopback() {
        None
    } else {
        // Without the token the daemon refuses to start, saying how to store one.
        secrets.value(TOKEN).ok().map(|v| Auth::Token(Secret::new(v)))
    };
    let db = match &args.db {
        Some(p) => p.clone(),
        None => match &t.lab {
            Some((dir, _)) => dir.join("watch.db"),
            None => t.root.parent().unwrap_or(&PathBuf::new()).join(".hearth").join("watch.db"),
        },
    };
    if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    let mut config = Config::new(&t.model.homelab, watched, db, listen);
    config.notifiers = notifiers;
    config.auth = auth;
    config.maintenance = windows;
    config.policy = Policy { fail_after: args.fail_after, ..Policy::default() };
    config.concurrency = args.concurrency as usize;
    config.remote = Some(Remote {
        machines: t.machines.clone(),
        ssh: t.ssh.clone(),
        secrets: secrets.clone(),
        options: Options { jobs: 1, run_backups: false, ..Options::default() },
    });
    runtime.block_on(async {
        let handle = hearth_watch::start(config).await?;
        shutdown_signal().await;
        eprintln!("stopping");
        handle.stop().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// One fact as a watch target, under its service's group.
fn target(t: &targets::Targets, f: &Fact, kind: hearth_watch::Kind, probe: hearth_watch::Probe) -> Target {
    let service = service_of(&f.source).filter(|s| t.model.services.contains_key(s));
    let model_service = service.as_ref().and_then(|s| t.model.services.get(s));
    let group = model_service.map(|s| s.group.clone()).filter(|g| !g.is_empty());
    // A fact about no service (a machine's scrape target, an alert) takes the spec's default.
    let watch = model_service.map_or(t.model.monitoring.watch, |s| s.watch);
    let (interval, timeout, fail_after) = settings(kind, &watch);
    let location = hearth_facts::span(&t.spans, &f.source).map_or_else(String::new, |s| {
        let l = t.sources.location(s);
        format!("{}:{}:{}", l.path.display(), l.line, l.col)
    });
    Target {
        id: f.id.clone(),
        machine: f.machine.clone(),
        service,
        group,
        kind,
        describe: f.check.describe(),
        location,
        probe,
        interval,
        timeout,
        fail_after,
    }
}

/// The spec's channels with their secret values, and those whose values cannot be read.
fn notifiers(model: &Model, secrets: &StoreSecrets) -> (Vec<Notifier>, Vec<(String, String)>) {
    let mut out = Vec::new();
    let mut unreadable = Vec::new();
    for (name, channel) in &model.notifications {
        let read = |r: &str| secrets.value(r).map(Secret::new).map_err(|e| format!("cannot read `{r}`: {e}"));
        let channel = match channel {
            ModelChannel::Webhook { url } => Ok(Channel::Webhook { url: url.clone() }),
            ModelChannel::Ntfy { url, topic, token } => token
                .as_deref()
                .map(read)
                .transpose()
                .map(|token| Channel::Ntfy { url: url.clone(), topic: topic.clone(), token }),
            ModelChannel::Gotify { url, token } => read(token).map(|token| Channel::Gotify { url: url.clone(), token }),
            ModelChannel::Telegram { chat, token } => read(token).map(|token| Channel::Telegram {
                api: "https://api.telegram.org".into(),
                chat: chat.clone(),
                token,
            }),
            ModelChannel::Email { to, from, smarthost, username, password } => {
                password.as_deref().map(read).transpose().map(|password| Channel::Email {
                    smarthost: smarthost.clone(),
                    from: from.clone().unwrap_or_else(|| {
                        format!(
                            "hearth@{}",
                            model.domain.clone().unwrap_or_else(|| format!("{}.home.arpa", model.homelab))
                        )
                    }),
                    to: to.clone(),
                    username: username.clone(),
                    password,
                })
            }
        };
        match channel {
            Ok(channel) => out.push(Notifier { name: name.clone(), channel }),
            Err(why) => unreadable.push((name.clone(), why)),
        }
    }
    (out, unreadable)
}

/// Ctrl-C or SIGTERM.
pub(super) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
