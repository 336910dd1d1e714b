//! Alertmanager: `alertmanager.yml` routing every alert to the channels of
//! `monitoring.alerts.notify` (every channel under `notifications` when that list is empty), plus
//! one 0600 secret file per secret a channel needs.
//!
//! Secrets never enter `alertmanager.yml`: each receiver points at a file with a `*_file` key
//! (`bot_token_file`, `auth_password_file`, `credentials_file`), and those files are
//! [`Kind::EnvSecret`] under `secrets/` beside the config. They must be readable by the
//! Alertmanager user when deployed.
//!
//! Routing: the root route's receiver is only a fallback; one child route per channel, each
//! matching everything with `continue: true`, so every alert reaches every channel. ntfy and
//! Gotify have no native receiver: they get `webhook_configs` posting to their HTTP endpoints.

use std::fmt::Write as _;

use hearth_model::model::{Channel, Template};

use crate::query::{dirs, service};
use crate::reader::Runner;
use crate::yaml::quoted as q;
use crate::{Context, File, Kind, Output, fill};

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    let Some((name, svc)) = service(m, m.monitoring.alertmanager.as_deref()) else { return };
    let machine = svc.on.name();
    let runner = Runner::of(cx, name, svc);
    let (host_dir, proc_dir) = dirs(svc, "config", "/etc/alertmanager");
    let channels: Vec<&String> = if m.monitoring.notify.is_empty() {
        m.notifications.keys().collect()
    } else {
        m.monitoring.notify.iter().filter(|c| m.notifications.contains_key(*c)).collect()
    };

    let mut y =
        String::from("# Alertmanager configuration rendered by Hearth from `monitoring` and `notifications`.\n");
    let mut receivers = String::new();
    let mut names = Vec::new();
    let mut sources = vec!["monitoring".to_string(), format!("service/{name}")];
    for ch in channels {
        let Some(channel) = m.notifications.get(ch) else { continue };
        let mut secret = |field: &str, reference: &str| -> String {
            let file = format!("secrets/{ch}-{field}");
            let content = fill(&Template::secret(reference), cx.secrets);
            out.push(
                runner
                    .private(File::new(machine, format!("{host_dir}/{file}"), Kind::EnvSecret, content))
                    .from(format!("notification/{ch}"))
                    .from(format!("service/{name}")),
            );
            format!("{proc_dir}/{file}")
        };
        let mut r = String::new();
        let _ = writeln!(r, "  - name: {}", q(ch));
        match channel {
            Channel::Telegram { chat, token } => {
                // Alertmanager wants the chat id as a number; a name such as `@channel` is not one.
                let Ok(chat_id) = chat.trim().parse::<i64>() else {
                    let _ = writeln!(y, "# channel `{ch}` skipped: telegram chat `{chat}` is not a numeric chat id");
                    continue;
                };
                let token_file = secret("token", token);
                let _ = writeln!(
                    r,
                    "    telegram_configs:\n      - bot_token_file: {}\n        chat_id: {chat_id}\n        send_resolved: true",
                    q(&token_file)
                );
            }
            Channel::Webhook { url } => {
                let _ = writeln!(r, "    webhook_configs:\n      - url: {}\n        send_resolved: true", q(url));
            }
            Channel::Email { to, from, smarthost, username, password } => {
                let from = from.clone().unwrap_or_else(|| {
                    format!("alertmanager@{}", m.domain.clone().unwrap_or_else(|| format!("{}.home.arpa", m.homelab)))
                });
                let _ = writeln!(r, "    email_configs:\n      - to: {}\n        from: {}", q(to), q(&from));
                let _ = writeln!(r, "        smarthost: {}", q(smarthost));
                if let Some(user) = username {
                    let _ = writeln!(r, "        auth_username: {}", q(user));
                }
                if let Some(password) = password {
                    let _ = writeln!(r, "        auth_password_file: {}", q(&secret("password", password)));
                }
                r.push_str("        send_resolved: true\n");
            }
            Channel::Ntfy { url, topic, token } => {
                // ntfy takes any POST body as the message text: the webhook's JSON is delivered as is.
                let _ = writeln!(r, "    # ntfy has no Alertmanager receiver: a webhook posting to the topic's URL.");
                let endpoint = format!("{}/{topic}", url.trim_end_matches('/'));
                let _ = writeln!(r, "    webhook_configs:\n      - url: {}\n        send_resolved: true", q(&endpoint));
                if let Some(token) = token {
                    let _ = writeln!(
                        r,
                        "        http_config:\n          authorization:\n            credentials_file: {}",
                        q(&secret("token", token))
                    );
                }
            }
            Channel::Gotify { url, token } => {
                // Gotify expects `{"message": ...}`; a bridge such as alertmanager_gotify_bridge
                // may be needed for readable messages. The token goes as a Bearer header.
                let _ = writeln!(
                    r,
                    "    # Gotify has no Alertmanager receiver: a webhook posting to its /message endpoint\n    \
                     # (Gotify wants a `message` field; put a bridge in between for readable messages)."
                );
                let endpoint = format!("{}/message", url.trim_end_matches('/'));
                let _ = writeln!(r, "    webhook_configs:\n      - url: {}\n        send_resolved: true", q(&endpoint));
                let _ = writeln!(
                    r,
                    "        http_config:\n          authorization:\n            credentials_file: {}",
                    q(&secret("token", token))
                );
            }
        }
        receivers.push_str(&r);
        names.push(ch.clone());
        sources.push(format!("notification/{ch}"));
    }

    let fallback = names.first().cloned().unwrap_or_else(|| "none".to_string());
    y.push_str("route:\n");
    let _ = writeln!(y, "  receiver: {}", q(&fallback));
    y.push_str(
        "  group_by: [\"alertname\", \"instance\"]\n  group_wait: 30s\n  group_interval: 5m\n  repeat_interval: 4h\n",
    );
    if !names.is_empty() {
        y.push_str("  routes:\n");
        for n in &names {
            let _ = writeln!(y, "    - receiver: {}\n      continue: true", q(n));
        }
    }
    y.push_str("receivers:\n");
    if names.is_empty() {
        y.push_str("  # no notification channel: alerts are only visible in the Alertmanager UI\n  - name: \"none\"\n");
    }
    y.push_str(&receivers);

    let mut file = runner.config(File::new(machine, format!("{host_dir}/alertmanager.yml"), Kind::Alertmanager, y));
    for s in sources {
        file = file.from(s);
    }
    out.push(file);
}
