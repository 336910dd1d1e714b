//! A minimal SMTP client for alert mail: one plain-text message to one recipient through the
//! spec's smarthost.
//!
//! Written here rather than taken from lettre: alerts need one message shape, the TLS stack
//! (rustls with ring, webpki roots) is already in the tree through reqwest, and lettre would
//! bring its own transport and TLS choices for a dialogue of seven commands. Port 465 speaks
//! TLS from the start; any other port upgrades with `STARTTLS` when the server offers it. A
//! password is never sent over an unencrypted connection, except to a smarthost on loopback
//! (a local relay).

use std::net::ToSocketAddrs as _;
use std::sync::Arc;
use std::time::Duration;

use hearth_verify::probe::Secret;
use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Why the mail was not sent.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SmtpError {
    #[error("cannot reach the smarthost `{host}`: {reason}")]
    Connect { host: String, reason: String },
    #[error("the smarthost answered `{command}` with `{reply}`")]
    Refused { command: String, reply: String },
    #[error(
        "the smarthost `{0}` offers no STARTTLS, so the password would travel in clear text; use port 465 or a server with STARTTLS"
    )]
    NoTls(String),
    #[error("TLS with the smarthost: {0}")]
    Tls(String),
    #[error("no answer from the smarthost within {0}s")]
    Timeout(u64),
}

/// One message.
#[derive(Debug, Clone, Copy)]
pub struct Mail<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// Sends `mail` through `smarthost` (`host:port`), logging in with `auth` when given.
pub async fn send(
    smarthost: &str,
    mail: &Mail<'_>,
    auth: Option<(&str, &Secret)>,
    timeout: Duration,
) -> Result<(), SmtpError> {
    match tokio::time::timeout(timeout, run(smarthost, mail, auth)).await {
        Ok(r) => r,
        Err(_) => Err(SmtpError::Timeout(timeout.as_secs())),
    }
}

async fn run(smarthost: &str, mail: &Mail<'_>, auth: Option<(&str, &Secret)>) -> Result<(), SmtpError> {
    let connect = |reason: String| SmtpError::Connect { host: smarthost.to_string(), reason };
    let (host, port) = smarthost.rsplit_once(':').ok_or_else(|| connect("it has no `:port`".into()))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().map_err(|_| connect(format!("`{port}` is not a port")))?;
    let addrs: Vec<_> = (host, port).to_socket_addrs().map_err(|e| connect(e.to_string()))?.collect();
    let loopback = addrs.iter().all(|a| a.ip().is_loopback());
    let tcp = TcpStream::connect(&addrs[..]).await.map_err(|e| connect(e.to_string()))?;
    if port == 465 {
        let tls = upgrade(tcp, host).await?;
        let mut s = Session::new(tls);
        s.expect("(greeting)", 220).await?;
        s.ehlo().await?;
        return s.deliver(mail, auth).await;
    }
    let mut s = Session::new(tcp);
    s.expect("(greeting)", 220).await?;
    let caps = s.ehlo().await?;
    if caps.iter().any(|c| c.eq_ignore_ascii_case("STARTTLS")) {
        s.command("STARTTLS", 220).await?;
        let tls = upgrade(s.stream.into_inner(), host).await?;
        let mut s = Session::new(tls);
        s.ehlo().await?;
        return s.deliver(mail, auth).await;
    }
    if auth.is_some() && !loopback {
        return Err(SmtpError::NoTls(smarthost.to_string()));
    }
    s.deliver(mail, auth).await
}

async fn upgrade(tcp: TcpStream, host: &str) -> Result<tokio_rustls::client::TlsStream<TcpStream>, SmtpError> {
    let config = hearth_verify::probe::tls::verifying(None).map_err(|e| SmtpError::Tls(e.to_string()))?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| SmtpError::Tls(e.to_string()))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| SmtpError::Tls(e.to_string()))
}

struct Session<S> {
    stream: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    fn new(stream: S) -> Self {
        Session { stream: BufReader::new(stream) }
    }

    /// Reads one reply (all its lines); its code and texts.
    async fn reply(&mut self, command: &str) -> Result<(u16, Vec<String>), SmtpError> {
        let mut texts = Vec::new();
        loop {
            let mut line = String::new();
            let n = self.stream.read_line(&mut line).await.map_err(|e| SmtpError::Refused {
                command: command.to_string(),
                reply: format!("the connection broke: {e}"),
            })?;
            if n == 0 || line.len() < 4 {
                return Err(SmtpError::Refused { command: command.into(), reply: "the connection closed".into() });
            }
            let line = line.trim_end();
            let code: u16 =
                line[..3].parse().map_err(|_| SmtpError::Refused { command: command.into(), reply: line.into() })?;
            texts.push(line.get(4..).unwrap_or("").to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, texts));
            }
        }
    }

    async fn expect(&mut self, command: &str, code: u16) -> Result<Vec<String>, SmtpError> {
        let (got, texts) = self.reply(command).await?;
        if got == code {
            Ok(texts)
        } else {
            Err(SmtpError::Refused { command: command.into(), reply: format!("{got} {}", texts.join(" ")) })
        }
    }

    /// Sends `line` (shown as `shown` in errors) and expects `code`.
    async fn send(&mut self, line: &str, shown: &str, code: u16) -> Result<Vec<String>, SmtpError> {
        let broke = |e: std::io::Error| SmtpError::Refused {
            command: shown.into(),
            reply: format!("the connection broke: {e}"),
        };
        self.stream.get_mut().write_all(format!("{line}\r\n").as_bytes()).await.map_err(broke)?;
        self.stream.get_mut().flush().await.map_err(broke)?;
        self.expect(shown, code).await
    }

    async fn command(&mut self, line: &str, code: u16) -> Result<Vec<String>, SmtpError> {
        self.send(line, line, code).await
    }

    /// `EHLO`; the extensions the server lists.
    async fn ehlo(&mut self) -> Result<Vec<String>, SmtpError> {
        let texts = self.command("EHLO hearth-watch", 250).await?;
        Ok(texts.into_iter().skip(1).map(|t| t.split_whitespace().next().unwrap_or("").to_string()).collect())
    }

    async fn deliver(&mut self, mail: &Mail<'_>, auth: Option<(&str, &Secret)>) -> Result<(), SmtpError> {
        use base64::Engine as _;
        if let Some((user, password)) = auth {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{}", password.expose()));
            self.send(&format!("AUTH PLAIN {token}"), "AUTH PLAIN", 235).await?;
        }
        self.command(&format!("MAIL FROM:<{}>", one_line(mail.from)), 250).await?;
        self.command(&format!("RCPT TO:<{}>", one_line(mail.to)), 250).await?;
        self.command("DATA", 354).await?;
        let mut text = format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
            one_line(mail.from),
            one_line(mail.to),
            one_line(mail.subject)
        );
        for line in mail.body.lines() {
            // Dot-stuffing: a line that starts with `.` gets another, so it cannot end the data.
            if line.starts_with('.') {
                text.push('.');
            }
            text.push_str(line);
            text.push_str("\r\n");
        }
        text.push('.');
        self.send(&text, "(message)", 250).await?;
        let _ = self.command("QUIT", 221).await;
        Ok(())
    }
}

/// A header value or address on one line (no header injection).
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}
