//! The Prometheus alert rules and the Alertmanager configuration, each built once as a YAML tree
//! from `Model.monitoring` and `notifications`, and serialised by each target: a YAML file
//! (`prometheus.rs`, `alertmanager.rs`) or a Nix expression (the NixOS flake).
//!
//! Alertmanager routing: the root route's receiver is only a fallback; one child route per
//! channel, each matching everything with `continue: true`, so every alert reaches every channel.
//! ntfy and Gotify have no native receiver: they get `webhook_configs` posting to their HTTP
//! endpoints. Secrets never enter the configuration: each receiver names a file (`*_file` keys),
//! and where that file lies depends on the target, so the caller says (`secret_file`).

use hearth_model::Model;
use hearth_model::model::Channel;

use crate::yaml::Node;

/// The rules document (`groups:` with one group, `hearth`), or `None` without rules.
pub(crate) fn rules(m: &Model) -> Option<Node> {
    if m.monitoring.rules.is_empty() {
        return None;
    }
    let rules = m
        .monitoring
        .rules
        .iter()
        .map(|rule| {
            let mut r = vec![("alert".to_string(), Node::s(&rule.name)), ("expr".to_string(), Node::s(&rule.expr))];
            if !rule.for_.is_empty() {
                r.push(("for".into(), Node::s(&rule.for_)));
            }
            r.push(("labels".into(), Node::Map(vec![("severity".into(), Node::s(&rule.severity))])));
            r.push(("annotations".into(), Node::Map(vec![("summary".into(), Node::s(&rule.summary))])));
            Node::Map(r)
        })
        .collect();
    let group = Node::Map(vec![("name".into(), Node::Plain("hearth".into())), ("rules".into(), Node::Seq(rules))]);
    Some(Node::Map(vec![("groups".into(), Node::Seq(vec![group]))]))
}

/// The Alertmanager configuration and the model entities it came from.
pub(crate) struct Alertmanager {
    pub(crate) doc: Node,
    /// `notification/<channel>` of every channel it routes to.
    pub(crate) sources: Vec<String>,
}

/// Builds the configuration; `secret_file(channel, field, reference)` places one secret and
/// returns the path Alertmanager reads it at.
pub(crate) fn alertmanager(m: &Model, secret_file: &mut dyn FnMut(&str, &str, &str) -> String) -> Alertmanager {
    let channels: Vec<&String> = if m.monitoring.notify.is_empty() {
        m.notifications.keys().collect()
    } else {
        m.monitoring.notify.iter().filter(|c| m.notifications.contains_key(*c)).collect()
    };
    let mut top = Vec::new();
    let mut receivers = Vec::new();
    let mut names = Vec::new();
    let mut sources = Vec::new();
    for ch in channels {
        let Some(channel) = m.notifications.get(ch) else { continue };
        let mut secret = |field: &str, reference: &str| Node::s(&secret_file(ch, field, reference));
        let mut r = vec![("name".to_string(), Node::s(ch))];
        let resolved = || ("send_resolved".to_string(), Node::Bool(true));
        let bearer = |file: Node| {
            (
                "http_config".to_string(),
                Node::Map(vec![("authorization".into(), Node::Map(vec![("credentials_file".into(), file)]))]),
            )
        };
        match channel {
            Channel::Telegram { chat, token } => {
                // Alertmanager wants the chat id as a number; a name such as `@channel` is not one.
                let Ok(chat_id) = chat.trim().parse::<i64>() else {
                    top.push(Node::comment(format!(
                        "channel `{ch}` skipped: telegram chat `{chat}` is not a numeric chat id"
                    )));
                    continue;
                };
                let config = vec![
                    ("bot_token_file".to_string(), secret("token", token)),
                    ("chat_id".into(), Node::Num(chat_id.to_string())),
                    resolved(),
                ];
                r.push(("telegram_configs".into(), Node::Seq(vec![Node::Map(config)])));
            }
            Channel::Webhook { url } => {
                let config = vec![("url".to_string(), Node::s(url)), resolved()];
                r.push(("webhook_configs".into(), Node::Seq(vec![Node::Map(config)])));
            }
            Channel::Email { to, from, smarthost, username, password } => {
                let from = from.clone().unwrap_or_else(|| {
                    format!("alertmanager@{}", m.domain.clone().unwrap_or_else(|| format!("{}.home.arpa", m.homelab)))
                });
                let mut config = vec![
                    ("to".to_string(), Node::s(to)),
                    ("from".into(), Node::s(&from)),
                    ("smarthost".into(), Node::s(smarthost)),
                ];
                if let Some(user) = username {
                    config.push(("auth_username".into(), Node::s(user)));
                }
                if let Some(password) = password {
                    config.push(("auth_password_file".into(), secret("password", password)));
                }
                config.push(resolved());
                r.push(("email_configs".into(), Node::Seq(vec![Node::Map(config)])));
            }
            Channel::Ntfy { url, topic, token } => {
                // ntfy takes any POST body as the message text: the webhook's JSON is delivered as is.
                r.push(Node::comment("ntfy has no Alertmanager receiver: a webhook posting to the topic's URL."));
                let mut config =
                    vec![("url".to_string(), Node::s(&format!("{}/{topic}", url.trim_end_matches('/')))), resolved()];
                if let Some(token) = token {
                    config.push(bearer(secret("token", token)));
                }
                r.push(("webhook_configs".into(), Node::Seq(vec![Node::Map(config)])));
            }
            Channel::Gotify { url, token } => {
                // Gotify expects `{"message": ...}`; a bridge such as alertmanager_gotify_bridge
                // may be needed for readable messages. The token goes as a Bearer header.
                r.push(Node::comment(
                    "Gotify has no Alertmanager receiver: a webhook posting to its /message endpoint",
                ));
                r.push(Node::comment(
                    "(Gotify wants a `message` field; put a bridge in between for readable messages).",
                ));
                let config = vec![
                    ("url".to_string(), Node::s(&format!("{}/message", url.trim_end_matches('/')))),
                    resolved(),
                    bearer(secret("token", token)),
                ];
                r.push(("webhook_configs".into(), Node::Seq(vec![Node::Map(config)])));
            }
        }
        receivers.push(Node::Map(r));
        names.push(ch.clone());
        sources.push(format!("notification/{ch}"));
    }

    let fallback = names.first().cloned().unwrap_or_else(|| "none".to_string());
    let mut route = vec![
        ("receiver".to_string(), Node::s(&fallback)),
        ("group_by".into(), Node::Flow(vec![Node::s("alertname"), Node::s("instance")])),
        ("group_wait".into(), Node::Plain("30s".into())),
        ("group_interval".into(), Node::Plain("5m".into())),
        ("repeat_interval".into(), Node::Plain("4h".into())),
    ];
    if !names.is_empty() {
        let routes = names
            .iter()
            .map(|n| Node::Map(vec![("receiver".into(), Node::s(n)), ("continue".into(), Node::Bool(true))]))
            .collect();
        route.push(("routes".into(), Node::Seq(routes)));
    }
    if names.is_empty() {
        receivers.push(Node::Comment("no notification channel: alerts are only visible in the Alertmanager UI".into()));
        receivers.push(Node::Map(vec![("name".into(), Node::s("none"))]));
    }
    top.push(("route".into(), Node::Map(route)));
    top.push(("receivers".into(), Node::Seq(receivers)));
    Alertmanager { doc: Node::Map(top), sources }
}
