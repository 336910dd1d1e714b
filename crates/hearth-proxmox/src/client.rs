//! One node's API: `https://HOST:8006/api2/json/...` with the token header, form-encoded bodies
//! (as `pvesh` and the web interface send them), retries with backoff for what a busy node
//! answers (lock contention, "got timeout", 5xx), and at most two tasks at a time per node.
//!
//! A request that may already have done something is not blindly sent again: a POST is retried
//! only when the node said it could not take the lock or was unavailable, or when the connection
//! was never made; reads and updates (which carry the `digest` they read) are retried on any
//! transient failure.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::Semaphore;

use crate::tls::{self, Presented, Trust};
use crate::{Error, Token};

/// Where one node's API is and how it is trusted.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The node name the API paths carry (`/nodes/{node}/...`).
    pub node: String,
    /// `https://HOST:8006` (a path, if any, is ignored), or `http://127.0.0.1:PORT` for the
    /// simulator.
    pub url: String,
    pub trust: Trust,
}

/// How hard the client tries. The defaults suit a real node; tests shorten the waits.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request (and per task) before the error is returned.
    pub attempts: u32,
    /// The first wait between attempts; it doubles up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// One request, connection included.
    pub request_timeout: Duration,
    /// The first wait between two reads of a task's status; it doubles up to `max_poll`.
    pub poll: Duration,
    pub max_poll: Duration,
    /// How long a task may run.
    pub task_timeout: Duration,
    /// Tasks a node runs for this client at once.
    pub tasks_per_node: usize,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 5,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            request_timeout: Duration::from_secs(60),
            poll: Duration::from_millis(200),
            max_poll: Duration::from_secs(2),
            task_timeout: Duration::from_secs(900),
            tasks_per_node: 2,
        }
    }
}

impl RetryPolicy {
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        self.backoff.saturating_mul(2u32.saturating_pow(attempt)).min(self.max_backoff)
    }
}

/// One request as sent: method, path and the names of its parameters (never their values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub method: String,
    pub path: String,
    pub params: Vec<String>,
}

/// A client of one node.
pub struct Client {
    node: String,
    base: String,
    http: reqwest::Client,
    token: Token,
    pub(crate) retry: RetryPolicy,
    /// With a pinned certificate: what the node presented, to tell a pin mismatch from other
    /// TLS failures, and the pin file for the message.
    pin: Option<(Presented, String, String)>,
    pub(crate) tasks: Arc<Semaphore>,
    sent: Mutex<Vec<Sent>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("node", &self.node).field("base", &self.base).finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

impl Client {
    /// A client of `endpoint`'s node. With a pinned certificate and no pin yet, the node is
    /// contacted once (without the token) to read its fingerprint, which is written to the pin
    /// file only when the trust says so, and otherwise named in the refusal.
    pub async fn connect(endpoint: &Endpoint, token: Token, retry: RetryPolicy) -> Result<Client, Error> {
        let base = base_url(&endpoint.url)?;
        let builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(retry.request_timeout)
            .connect_timeout(retry.request_timeout.min(Duration::from_secs(10)));
        let (http, pin) = if base.starts_with("http://") {
            // The simulator on loopback: no TLS to configure, but reqwest wants a backend.
            let (config, _) = tls::pinned(&base, None)?;
            (builder.tls_backend_preconfigured(config).build(), None)
        } else {
            match &endpoint.trust {
                Trust::Ca(file) => {
                    let pem = std::fs::read(file).map_err(|e| Error::Tls {
                        url: base.clone(),
                        reason: format!("cannot read the CA file `{}`: {e}", file.display()),
                    })?;
                    (builder.tls_backend_preconfigured(tls::with_ca(&base, &pem)?).build(), None)
                }
                Trust::Pinned { file, pin_new } => {
                    let expected = match tls::read_pin(file)? {
                        Some(pin) => pin,
                        None => first_contact(&endpoint.node, &base, file, *pin_new, &retry).await?,
                    };
                    let (config, presented) = tls::pinned(&base, Some(expected.clone()))?;
                    let pin = (presented, expected, file.display().to_string());
                    (builder.tls_backend_preconfigured(config).build(), Some(pin))
                }
            }
        };
        let http = http.map_err(|e| Error::Tls { url: base.clone(), reason: chain(&e) })?;
        Ok(Client {
            node: endpoint.node.clone(),
            base,
            http,
            token,
            tasks: Arc::new(Semaphore::new(retry.tasks_per_node.max(1))),
            retry,
            pin,
            sent: Mutex::new(Vec::new()),
        })
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// `scheme://host:port` of the node's API.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Every request sent so far, in order (for tests and `--verbose` output).
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// `GET path` with `params` in the query; answers `data`.
    pub async fn get(&self, path: &str, params: &Map<String, Value>) -> Result<Value, Error> {
        self.call(Method::Get, path, params).await
    }

    /// A request, retried while the failure is transient and sending it again is safe.
    pub async fn call(&self, method: Method, path: &str, params: &Map<String, Value>) -> Result<Value, Error> {
        let mut attempt = 0;
        loop {
            match self.once(method, path, params).await {
                Ok(data) => return Ok(data),
                Err(e) if attempt + 1 < self.retry.attempts && e.is_transient() && safe_to_repeat(method, &e) => {
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn once(&self, method: Method, path: &str, params: &Map<String, Value>) -> Result<Value, Error> {
        let pairs = form_pairs(params);
        let mut url = format!("{}/api2/json{path}", self.base);
        if matches!(method, Method::Get | Method::Delete) && !pairs.is_empty() {
            url.push('?');
            url.push_str(&encode(&pairs));
        }
        self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(Sent {
            method: method.as_str().to_string(),
            path: path.to_string(),
            params: params.keys().cloned().collect(),
        });
        let request = match method {
            Method::Get => self.http.get(&url),
            Method::Post => self.http.post(&url),
            Method::Put => self.http.put(&url),
            Method::Delete => self.http.delete(&url),
        };
        let request = request.header("Authorization", self.token.header());
        let request = match method {
            Method::Get | Method::Delete => request,
            Method::Post | Method::Put => {
                request.header("Content-Type", "application/x-www-form-urlencoded").body(encode(&pairs))
            }
        };
        let response = request.send().await.map_err(|e| self.failed(&url, e))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| self.failed(&url, e))?;
        let json: Option<Value> = serde_json::from_str(&body).ok();
        if status.as_u16() == 401 {
            return Err(Error::Auth { node: self.node.clone() });
        }
        if !status.is_success() {
            let (message, errors) = error_parts(json.as_ref(), status, &body);
            return Err(Error::Api {
                method: method.as_str().to_string(),
                path: path.to_string(),
                status: status.as_u16(),
                message: self.redact(&message),
                errors: errors.into_iter().map(|(k, v)| (k, self.redact(&v))).collect(),
            });
        }
        match json {
            Some(Value::Object(mut o)) => Ok(o.remove("data").unwrap_or(Value::Null)),
            _ => Err(Error::Protocol {
                what: format!("{} {path}", method.as_str()),
                reason: format!("the body is not a JSON object: {}", excerpt(&self.redact(&body))),
            }),
        }
    }

    fn failed(&self, url: &str, e: reqwest::Error) -> Error {
        if let Some((presented, pinned, file)) = &self.pin
            && let Some(got) = presented.get()
            && got != *pinned
        {
            return Error::PinMismatch {
                node: self.node.clone(),
                url: self.base.clone(),
                pinned: pinned.clone(),
                presented: got,
                file: file.clone(),
            };
        }
        if e.is_timeout() {
            Error::Timeout { url: url.to_string(), secs: self.retry.request_timeout.as_secs() }
        } else if e.is_connect() {
            Error::Connect { url: url.to_string(), reason: chain(&e) }
        } else {
            // A request sent and no complete answer: the node may have acted on it.
            Error::Transport { url: url.to_string(), reason: chain(&e) }
        }
    }

    /// The token's secret out of anything the node echoes back.
    fn redact(&self, text: &str) -> String {
        text.replace(self.token.secret(), "***")
    }
}

/// Whether a request that failed with `e` may be sent again without doing twice what it does.
fn safe_to_repeat(method: Method, e: &Error) -> bool {
    match method {
        Method::Get | Method::Put | Method::Delete => true,
        Method::Post => match e {
            Error::Connect { .. } => true,
            Error::Api { status, message, .. } => *status == 503 || crate::error::is_lock_message(message),
            _ => false,
        },
    }
}

/// Reads a node's fingerprint without sending the token; pins it when allowed.
async fn first_contact(
    node: &str,
    base: &str,
    file: &Path,
    pin_new: bool,
    retry: &RetryPolicy,
) -> Result<String, Error> {
    let (config, presented) = tls::pinned(base, None)?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(retry.request_timeout)
        .tls_backend_preconfigured(config)
        .build()
        .map_err(|e| Error::Tls { url: base.to_string(), reason: chain(&e) })?;
    // Any answer (401 included) means the handshake happened; only the fingerprint matters.
    let result = http.get(format!("{base}/api2/json/version")).send().await;
    let Some(fingerprint) = presented.get() else {
        let reason = result.err().map_or_else(|| "no certificate was presented".to_string(), |e| chain(&e));
        return Err(Error::Connect { url: base.to_string(), reason });
    };
    if !pin_new {
        return Err(Error::Untrusted { node: node.to_string(), url: base.to_string(), fingerprint });
    }
    tls::write_pin(file, &fingerprint)?;
    Ok(fingerprint)
}

/// `scheme://host:port` of an API URL; plain HTTP only to loopback, since the token would
/// travel in clear.
pub(crate) fn base_url(url: &str) -> Result<String, Error> {
    let bad = |reason: &str| Error::Tls { url: url.to_string(), reason: reason.to_string() };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("the URL has no `https://`"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(bad("the URL has no host"));
    }
    match scheme {
        "https" => Ok(format!("https://{authority}")),
        "http" => {
            let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
            let loopback = matches!(host, "localhost" | "[::1]") || host.starts_with("127.");
            if loopback { Ok(format!("http://{authority}")) } else { Err(Error::PlainHttp { url: url.to_string() }) }
        }
        _ => Err(bad("the scheme is not `https`")),
    }
}

/// The body's parameters as form pairs: text as is, numbers in decimal, booleans as `1`/`0`,
/// lists as the same name repeated (how Proxmox reads `-map` style array parameters).
pub(crate) fn form_pairs(params: &Map<String, Value>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (k, v) in params {
        match v {
            Value::Array(items) => pairs.extend(items.iter().map(|i| (k.clone(), scalar(i)))),
            Value::Null => {}
            v => pairs.push((k.clone(), scalar(v))),
        }
    }
    pairs
}

pub(crate) fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `application/x-www-form-urlencoded`, every byte but the unreserved ones escaped.
pub(crate) fn encode(pairs: &[(String, String)]) -> String {
    fn escape(s: &str, out: &mut String) {
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        escape(k, &mut out);
        out.push('=');
        escape(v, &mut out);
    }
    out
}

/// The message and per-parameter errors of a failed call. Proxmox puts the message in the
/// status line's reason and, in newer versions, in `message`; parameter errors in `errors`.
fn error_parts(json: Option<&Value>, status: reqwest::StatusCode, body: &str) -> (String, BTreeMap<String, String>) {
    let errors: BTreeMap<String, String> = json
        .and_then(|j| j.get("errors"))
        .and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), scalar(v))).collect())
        .unwrap_or_default();
    let message = json
        .and_then(|j| j.get("message"))
        .and_then(Value::as_str)
        .map(|m| m.trim_end().to_string())
        .filter(|m| !m.is_empty())
        .or_else(|| if json.is_none() && !body.trim().is_empty() { Some(excerpt(body)) } else { None })
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    (message, errors)
}

fn excerpt(text: &str) -> String {
    let t: String = text.trim().chars().take(300).collect();
    t.replace('\n', " ")
}

/// An error with its sources, since reqwest's own text is often only "error sending request".
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_base(input: &str, expected: Result<&str, &str>) {
        let got = base_url(input).map_err(|e| e.to_string());
        assert_eq!(got.as_deref().map_err(String::as_str), expected, "{input}");
    }

    #[test]
    fn base_urls() {
        check_base("https://192.0.2.1:8006", Ok("https://192.0.2.1:8006"));
        check_base("https://pve.lan:8006/api2/json", Ok("https://pve.lan:8006"));
        check_base("http://127.0.0.1:4000", Ok("http://127.0.0.1:4000"));
        check_base(
            "http://192.0.2.1:8006",
            Err(
                "refusing to send the API token over plain HTTP to `http://192.0.2.1:8006`; use `https://` (plain HTTP is allowed to loopback only)",
            ),
        );
        check_base("pve:8006", Err("TLS setup for `pve:8006`: the URL has no `https://`"));
    }

    #[test]
    fn form_encoding() {
        let mut p = Map::new();
        p.insert("net0".into(), json!("name=eth0,bridge=vmbr0,ip=10.0.0.5/24"));
        p.insert("memory".into(), json!(2048));
        p.insert("map".into(), json!(["node=pve,path=/tank"]));
        p.insert("ssh-public-keys".into(), json!("ssh-ed25519 AAAA a@b\nssh-rsa B c"));
        assert_eq!(
            encode(&form_pairs(&p)),
            "net0=name%3Deth0%2Cbridge%3Dvmbr0%2Cip%3D10.0.0.5%2F24&memory=2048&map=node%3Dpve%2Cpath%3D%2Ftank&ssh-public-keys=ssh-ed25519%20AAAA%20a%40b%0Assh-rsa%20B%20c"
        );
    }
}
