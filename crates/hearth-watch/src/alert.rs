//! Alerts to the spec's notification channels: a message when an incident opens, one when it
//! closes, and a test message per channel (`hearth watch --test-alerts`).
//!
//! Webhook (JSON, Alertmanager-like `status` of `firing`/`resolved`), ntfy (a POST to the topic
//! with `Title` and an optional bearer token), Gotify (`POST /message` with the token in the
//! `X-Gotify-Key` header, not the URL), Telegram (`sendMessage` on the Bot API, whose URL holds
//! the token: request errors are stripped of their URL) and email over SMTP (`smtp`). Secret
//! values arrive resolved in `hearth_verify::probe::Secret`, whose `Debug` hides them; no
//! error text carries one.

use std::time::Duration;

use hearth_verify::probe::Secret;
use serde::Serialize;
use thiserror::Error;

use crate::smtp;
use crate::time::rfc3339;
use crate::track::Millis;

/// Where a channel delivers, with secret values resolved.
#[derive(Debug, Clone)]
pub enum Channel {
    Webhook {
        url: String,
    },
    Ntfy {
        url: String,
        topic: String,
        token: Option<Secret>,
    },
    Gotify {
        url: String,
        token: Secret,
    },
    /// `api` is the Bot API's base URL (`https://api.telegram.org`; tests point it at loopback).
    Telegram {
        api: String,
        chat: String,
        token: Secret,
    },
    Email {
        smarthost: String,
        from: String,
        to: String,
        username: Option<String>,
        password: Option<Secret>,
    },
}

/// A channel by its spec name.
#[derive(Debug, Clone)]
pub struct Notifier {
    pub name: String,
    pub channel: Channel,
}

/// Why a message was not delivered.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("channel `{channel}`: {reason}")]
pub struct AlertError {
    pub channel: String,
    pub reason: String,
}

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Firing,
    Resolved,
    Test,
}

/// One message, the same for every channel.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub homelab: String,
    pub status: Status,
    /// The check's id (`route/grafana.home.example`).
    pub check: String,
    pub machine: String,
    /// What the check checks.
    pub summary: String,
    /// Why it failed (firing), empty otherwise.
    pub reason: String,
    /// The incident's id in the watch database.
    pub incident: Option<i64>,
    pub started: Option<String>,
    pub ended: Option<String>,
}

impl Message {
    /// An incident opened.
    pub fn firing(
        homelab: &str,
        check: &str,
        machine: &str,
        summary: &str,
        reason: &str,
        incident: i64,
        started: Millis,
    ) -> Message {
        Message {
            homelab: homelab.into(),
            status: Status::Firing,
            check: check.into(),
            machine: machine.into(),
            summary: summary.into(),
            reason: reason.into(),
            incident: Some(incident),
            started: Some(rfc3339(started)),
            ended: None,
        }
    }

    /// An incident closed.
    pub fn resolved(
        homelab: &str,
        check: &str,
        machine: &str,
        summary: &str,
        incident: i64,
        started: Millis,
        ended: Millis,
    ) -> Message {
        Message {
            homelab: homelab.into(),
            status: Status::Resolved,
            check: check.into(),
            machine: machine.into(),
            summary: summary.into(),
            reason: String::new(),
            incident: Some(incident),
            started: Some(rfc3339(started)),
            ended: Some(rfc3339(ended)),
        }
    }

    /// A test message for `channel`.
    pub fn test(homelab: &str, channel: &str) -> Message {
        Message {
            homelab: homelab.into(),
            status: Status::Test,
            check: "test".into(),
            machine: String::new(),
            summary: format!("Test message from `hearth watch` to channel `{channel}`"),
            reason: String::new(),
            incident: None,
            started: None,
            ended: None,
        }
    }

    /// One line: `[home] DOWN route/grafana: … (reason)`.
    pub fn title(&self) -> String {
        let word = match self.status {
            Status::Firing => "DOWN",
            Status::Resolved => "RECOVERED",
            Status::Test => "TEST",
        };
        match self.status {
            Status::Test => format!("[{}] {word}: {}", self.homelab, self.summary),
            _ => format!("[{}] {word} {} on {}", self.homelab, self.check, self.machine),
        }
    }

    /// The text body.
    pub fn body(&self) -> String {
        let mut lines = vec![self.summary.clone()];
        if !self.reason.is_empty() {
            lines.push(format!("Reason: {}", self.reason));
        }
        if let Some(s) = &self.started {
            lines.push(format!("Since: {s}"));
        }
        if let Some(e) = &self.ended {
            lines.push(format!("Recovered: {e}"));
        }
        lines.join("\n")
    }
}

/// Sends `message` to one channel.
pub async fn send(
    client: &reqwest::Client,
    notifier: &Notifier,
    message: &Message,
    timeout: Duration,
) -> Result<(), AlertError> {
    let fail = |reason: String| AlertError { channel: notifier.name.clone(), reason };
    let request = match &notifier.channel {
        Channel::Webhook { url } => json(client.post(url), &serde_json::to_value(message).unwrap_or_default()),
        Channel::Ntfy { url, topic, token } => {
            let mut r = client
                .post(format!("{}/{topic}", url.trim_end_matches('/')))
                .header("Title", header_safe(&message.title()))
                .header("Tags", if message.status == Status::Resolved { "white_check_mark" } else { "warning" })
                .body(message.body());
            if let Some(t) = token {
                r = r.bearer_auth(t.expose());
            }
            r
        }
        Channel::Gotify { url, token } => json(
            client.post(format!("{}/message", url.trim_end_matches('/'))).header("X-Gotify-Key", token.expose()),
            &serde_json::json!({ "title": message.title(), "message": message.body(), "priority": 5 }),
        ),
        Channel::Telegram { api, chat, token } => json(
            client.post(format!("{}/bot{}/sendMessage", api.trim_end_matches('/'), token.expose())),
            &serde_json::json!({ "chat_id": chat, "text": format!("{}\n{}", message.title(), message.body()) }),
        ),
        Channel::Email { smarthost, from, to, username, password } => {
            let auth = match (username, password) {
                (Some(u), Some(p)) => Some((u.as_str(), p)),
                _ => None,
            };
            let mail = smtp::Mail { from, to, subject: &message.title(), body: &message.body() };
            return smtp::send(smarthost, &mail, auth, timeout).await.map_err(|e| fail(e.to_string()));
        }
    };
    // The Telegram URL holds the bot token: no error text may carry the URL.
    let response = request.timeout(timeout).send().await.map_err(|e| fail(describe(e.without_url())))?;
    let status = response.status();
    if status.is_success() { Ok(()) } else { Err(fail(format!("the server answered {status}"))) }
}

/// A request with a JSON body.
fn json(request: reqwest::RequestBuilder, body: &serde_json::Value) -> reqwest::RequestBuilder {
    request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_string())
}

/// A request error with its sources, which reqwest's own text leaves out.
fn describe(error: reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// A header value: no line breaks, ASCII (ntfy reads `Title` as Latin-1).
fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' })
        .collect::<String>()
        .replace('`', "'")
}

/// The HTTP client alerts go out on: it honours the environment's proxy (it may be the only way
/// out of a homelab) and follows no redirect.
pub fn client() -> Result<reqwest::Client, String> {
    let config = hearth_verify::probe::tls::verifying(None).map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot set up the HTTP client for alerts: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_alone() {
        let m = Message::firing(
            "home",
            "route/grafana",
            "edge",
            "https://grafana/ answers below 400",
            "answered 502",
            7,
            0,
        );
        assert_eq!(m.title(), "[home] DOWN route/grafana on edge");
        assert_eq!(m.body(), "https://grafana/ answers below 400\nReason: answered 502\nSince: 1970-01-01T00:00:00Z");
        let r = Message::resolved("home", "route/grafana", "edge", "s", 7, 0, 60_000);
        assert_eq!(r.title(), "[home] RECOVERED route/grafana on edge");
        assert_eq!(r.body(), "s\nSince: 1970-01-01T00:00:00Z\nRecovered: 1970-01-01T00:01:00Z");
        assert_eq!(
            Message::test("home", "ops").title(),
            "[home] TEST: Test message from `hearth watch` to channel `ops`"
        );
        assert_eq!(header_safe("a`b\nc é"), "a'b?c ?");
    }
}
