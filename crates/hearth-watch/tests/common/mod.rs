//! Loopback servers the watch tests run: an HTTP target that can be stopped, restarted or made
//! to flap, a webhook receiver that keeps every message, and an SMTP sink. All listen on
//! 127.0.0.1 ports the OS picks.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_watch::{Kind, Probe, Target};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How the target answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Always 200.
    Steady,
    /// 200 and 500 in turn.
    Flapping,
}

/// An HTTP server on a fixed loopback port, which the test stops and starts again.
pub struct HttpTarget {
    pub addr: SocketAddr,
    mode: Mode,
    pub requests: Arc<AtomicU64>,
    task: Option<JoinHandle<()>>,
}

impl HttpTarget {
    pub async fn start(mode: Mode) -> HttpTarget {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut t = HttpTarget { addr, mode, requests: Arc::new(AtomicU64::new(0)), task: None };
        t.task = Some(tokio::spawn(serve(listener, mode, t.requests.clone())));
        t
    }

    /// Stops listening: connections are refused from now on.
    pub fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop();
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot listen on {} again: {e}", self.addr),
            }
        };
        self.task = Some(tokio::spawn(serve(listener, self.mode, self.requests.clone())));
    }

    /// A watch target for this server.
    pub fn target(&self, id: &str, machine: &str, service: &str, group: &str, interval: Duration) -> Target {
        Target {
            id: id.into(),
            machine: machine.into(),
            service: Some(service.into()),
            group: Some(group.into()),
            kind: Kind::Http,
            describe: format!("http://{service}.lab.test/ answers below 400"),
            location: "hearth.yaml:1:1".into(),
            probe: Probe::Http {
                addr: self.addr,
                request: hearth_verify::probe::http::Request {
                    https: false,
                    host: format!("{service}.lab.test"),
                    path: "/".into(),
                    ca_pem: None,
                },
                expect: hearth_facts::Expect::Success,
            },
            interval,
            timeout: Duration::from_millis(500),
            fail_after: None,
        }
    }
}

impl Drop for HttpTarget {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(listener: TcpListener, mode: Mode, requests: Arc<AtomicU64>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { return };
        let n = requests.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(k) => got.extend_from_slice(&buf[..k]),
                }
            }
            let status = if mode == Mode::Flapping && n % 2 == 1 { "500 Internal Server Error" } else { "200 OK" };
            let _ = stream
                .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").as_bytes())
                .await;
        });
    }
}

/// A webhook receiver keeping each JSON body it gets.
pub struct Webhook {
    pub url: String,
    pub messages: Arc<Mutex<Vec<serde_json::Value>>>,
    task: JoinHandle<()>,
}

impl Webhook {
    pub async fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let messages: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let kept = messages.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let kept = kept.clone();
                tokio::spawn(async move {
                    if let Some((_, _, body)) = read_request(stream).await
                        && let Ok(v) = serde_json::from_slice(&body)
                    {
                        kept.lock().unwrap().push(v);
                    }
                });
            }
        });
        Webhook { url: format!("http://{addr}/hook"), messages, task }
    }

    /// The messages about `check`, as `status` words.
    pub fn statuses(&self, check: &str) -> Vec<String> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m["check"] == check)
            .map(|m| m["status"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request as received: its request line, headers (names in lower case) and body.
pub type Request = (String, Vec<(String, String)>, String);

/// A receiver of any HTTP request, answering 200 and keeping each.
pub struct Recorder {
    pub base: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
    task: JoinHandle<()>,
}

impl Recorder {
    pub async fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let kept = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let kept = kept.clone();
                tokio::spawn(async move {
                    if let Some((line, headers, body)) = read_request(stream).await {
                        kept.lock().unwrap().push((line, headers, String::from_utf8_lossy(&body).to_string()));
                    }
                });
            }
        });
        Recorder { base: format!("http://{addr}"), requests, task }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request and answers 200.
async fn read_request(stream: tokio::net::TcpStream) -> Option<(String, Vec<(String, String)>, Vec<u8>)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await.ok()?;
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).await.ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        if k.eq_ignore_ascii_case("content-length") {
            length = v.trim().parse().ok()?;
        }
        headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).await.ok()?;
    let mut stream = reader.into_inner();
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}").await;
    Some((line.trim_end().to_string(), headers, body))
}

/// An SMTP sink: accepts one message per connection and keeps its DATA.
pub struct SmtpSink {
    pub addr: SocketAddr,
    pub messages: Arc<Mutex<Vec<String>>>,
    pub dialogue: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let messages: Arc<Mutex<Vec<String>>> = Arc::default();
        let dialogue: Arc<Mutex<Vec<String>>> = Arc::default();
        let (kept, said) = (messages.clone(), dialogue.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (kept, said) = (kept.clone(), said.clone());
                tokio::spawn(async move {
                    let mut s = BufReader::new(stream);
                    let _ = s.get_mut().write_all(b"220 sink ESMTP\r\n").await;
                    let mut data: Option<String> = None;
                    loop {
                        let mut line = String::new();
                        if s.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(d) = data.as_mut() {
                            if line == ".\r\n" {
                                kept.lock().unwrap().push(data.take().unwrap_or_default());
                                let _ = s.get_mut().write_all(b"250 queued\r\n").await;
                            } else {
                                d.push_str(&line);
                            }
                            continue;
                        }
                        said.lock().unwrap().push(line.trim_end().to_string());
                        let reply: &[u8] =
                            match line.split_whitespace().next().unwrap_or("").to_ascii_uppercase().as_str() {
                                "EHLO" => b"250-sink\r\n250 AUTH PLAIN\r\n",
                                "AUTH" => b"235 ok\r\n",
                                "DATA" => {
                                    data = Some(String::new());
                                    b"354 go ahead\r\n"
                                }
                                "QUIT" => b"221 bye\r\n",
                                _ => b"250 ok\r\n",
                            };
                        let _ = s.get_mut().write_all(reply).await;
                    }
                });
            }
        });
        SmtpSink { addr, messages, dialogue, task }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// GETs `path` from the server at `addr` (HTTP/1.0, so the body is not chunked), optionally
/// with an `Authorization` value; status and body.
pub async fn get(addr: SocketAddr, path: &str, authorization: Option<&str>) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n{auth}\r\n").as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, body.to_string())
}
