//! Each channel kind delivers to a receiver on loopback, as its service expects the message;
//! `test_alerts` sends one per channel; no error text carries a token.

mod common;

use common::{Recorder, SmtpSink, Webhook};
use hearth_verify::probe::Secret;
use hearth_watch::alert::{Channel, Notifier};

fn notifier(name: &str, channel: Channel) -> Notifier {
    Notifier { name: name.into(), channel }
}

#[tokio::test]
async fn one_test_message_reaches_each_channel_as_its_service_expects() {
    let hook = Webhook::start().await;
    let http = Recorder::start().await;
    let smtp = SmtpSink::start().await;
    let notifiers = vec![
        notifier("hook", Channel::Webhook { url: hook.url.clone() }),
        notifier(
            "phone",
            Channel::Ntfy { url: http.base.clone(), topic: "homelab".into(), token: Some(Secret::new("ntfy-canary")) },
        ),
        notifier("gotify", Channel::Gotify { url: format!("{}/", http.base), token: Secret::new("gotify-canary") }),
        notifier(
            "tg",
            Channel::Telegram { api: http.base.clone(), chat: "123".into(), token: Secret::new("tg-canary") },
        ),
        notifier(
            "mail",
            Channel::Email {
                smarthost: smtp.addr.to_string(),
                from: "hearth@lab.test".into(),
                to: "ops@lab.test".into(),
                username: Some("hearth".into()),
                password: Some(Secret::new("mail-canary")),
            },
        ),
    ];
    let results = hearth_watch::test_alerts("lab", &notifiers).await;
    let shown: Vec<(String, bool)> = results.iter().map(|(n, r)| (n.clone(), r.is_ok())).collect();
    assert_eq!(
        shown,
        [("hook", true), ("phone", true), ("gotify", true), ("tg", true), ("mail", true)]
            .map(|(n, ok)| (n.to_string(), ok)),
        "{results:?}"
    );

    let messages = hook.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["status"], "test");
    assert_eq!(messages[0]["homelab"], "lab");

    let mut requests = http.requests.lock().unwrap().clone();
    requests.sort_by(|a, b| a.0.cmp(&b.0));
    let lines: Vec<&str> = requests.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(lines, ["POST /bottg-canary/sendMessage HTTP/1.1", "POST /homelab HTTP/1.1", "POST /message HTTP/1.1"]);
    let header = |i: usize, name: &str| {
        requests[i].1.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    // Telegram: chat and text in JSON.
    let tg: serde_json::Value = serde_json::from_str(&requests[0].2).unwrap();
    assert_eq!(tg["chat_id"], "123");
    assert!(tg["text"].as_str().unwrap().starts_with("[lab] TEST"));
    // ntfy: the body is the text, the title a header, the token a bearer.
    assert_eq!(header(1, "authorization"), "Bearer ntfy-canary");
    assert_eq!(header(1, "title"), "[lab] TEST: Test message from 'hearth watch' to channel 'phone'");
    assert_eq!(requests[1].2, "Test message from `hearth watch` to channel `phone`");
    // Gotify: the token in a header, never in the URL.
    assert_eq!(header(2, "x-gotify-key"), "gotify-canary");
    let g: serde_json::Value = serde_json::from_str(&requests[2].2).unwrap();
    assert_eq!(g["title"], "[lab] TEST: Test message from `hearth watch` to channel `gotify`");

    // Email: logged in (AUTH PLAIN over loopback), one message with the headers.
    let mail = smtp.messages.lock().unwrap().clone();
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0].contains("Subject: [lab] TEST: Test message from `hearth watch` to channel `mail`\r\n"),
        "{}",
        mail[0]
    );
    assert!(mail[0].contains("To: ops@lab.test\r\n"));
    let said = smtp.dialogue.lock().unwrap().clone();
    assert_eq!(said.iter().filter(|l| l.starts_with("AUTH PLAIN ")).count(), 1, "{said:?}");
    assert!(said.contains(&"RCPT TO:<ops@lab.test>".to_string()));
}

#[tokio::test]
async fn failures_name_the_channel_and_never_a_token() {
    // A port nothing listens on: bind one, then drop it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let notifiers = vec![
        notifier(
            "tg",
            Channel::Telegram { api: format!("http://{closed}"), chat: "1".into(), token: Secret::new("tg-canary") },
        ),
        notifier("gotify", Channel::Gotify { url: format!("http://{closed}"), token: Secret::new("gotify-canary") }),
        notifier(
            "mail",
            Channel::Email {
                smarthost: closed.to_string(),
                from: "a@b".into(),
                to: "c@d".into(),
                username: Some("u".into()),
                password: Some(Secret::new("mail-canary")),
            },
        ),
    ];
    for (name, result) in hearth_watch::test_alerts("lab", &notifiers).await {
        let err = result.expect_err(&name).to_string();
        assert!(err.starts_with(&format!("channel `{name}`: ")), "{err}");
        assert!(!err.contains("canary"), "{err}");
    }
}
