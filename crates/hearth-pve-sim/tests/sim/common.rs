//! The harness: a simulator on an ephemeral loopback port and a minimal HTTP/1.1 client that
//! reads the status line as sent, since the real server's reason phrase carries its message.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hearth_pve_sim::state::Volume;
use hearth_pve_sim::state::storage::default_storages;
use hearth_pve_sim::{Config, Faults, NoRuntime, Runtime, Schema, Sim, State, Token};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const TOKEN: &str = "root@pam!hearth=test-secret-not-real";
pub const TEMPLATE: &str = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

pub fn schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| Arc::new(Schema::vendored().expect("vendored schema loads"))).clone()
}

/// A running simulator.
pub struct Node {
    pub addr: std::net::SocketAddr,
}

/// An answer: status, reason phrase and the JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub reason: String,
    pub body: Value,
}

impl Answer {
    /// The answer as the snapshots show it.
    pub fn shown(&self) -> String {
        format!("{} {}\n{}", self.status, self.reason, serde_json::to_string_pretty(&self.body).unwrap())
    }

    /// `data` of a success, failing the test otherwise.
    pub fn data(&self) -> &Value {
        assert_eq!(self.status, 200, "{}", self.shown());
        &self.body["data"]
    }
}

/// Starts a node named `pve` with the default storages, the Debian template present, tasks of
/// `task_ms` and a config lock timeout of `lock_ms`.
pub async fn start(task_ms: u64, lock_ms: u64) -> Node {
    start_with(State::new("pve", default_storages()), task_ms, lock_ms).await
}

/// Starts a node from a given state, with the Debian template added.
pub async fn start_with(state: State, task_ms: u64, lock_ms: u64) -> Node {
    serve(sim_with(state, task_ms, lock_ms, Arc::new(NoRuntime))).await
}

/// Starts a default node whose guests start through `runtime`.
pub async fn start_with_runtime(runtime: Arc<dyn Runtime>) -> Node {
    serve(sim_with(State::new("pve", default_storages()), 20, 2_000, runtime)).await
}

async fn serve(sim: Arc<Sim>) -> Node {
    Node { addr: hearth_pve_sim::spawn_local(sim).await.unwrap() }
}

/// A node named `pve` with the default storages and the Debian template, not yet served.
pub fn sim(task_ms: u64, lock_ms: u64) -> Arc<Sim> {
    sim_with(State::new("pve", default_storages()), task_ms, lock_ms, Arc::new(NoRuntime))
}

fn sim_with(mut state: State, task_ms: u64, lock_ms: u64, runtime: Arc<dyn Runtime>) -> Arc<Sim> {
    let (store, name) = TEMPLATE.split_once(':').unwrap();
    state
        .storages
        .get_mut(store)
        .unwrap()
        .volumes
        .insert(name.into(), Volume { content: "vztmpl".into(), size: 120 << 20, format: "zst".into(), vmid: None });
    let config = Config {
        tokens: vec![Token::parse(TOKEN).unwrap()],
        task_duration: Duration::from_millis(task_ms),
        lock_timeout: Duration::from_millis(lock_ms),
        ..Config::default()
    };
    Arc::new(Sim::new(schema(), config, state, Faults::default(), runtime))
}

/// How a request carries its parameters.
pub enum Body<'a> {
    None,
    Form(&'a [(&'a str, &'a str)]),
    Json(Value),
}

pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn form(params: &[(&str, &str)]) -> String {
    params.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

impl Node {
    /// Sends a request with `auth` as the `Authorization` header (none when `None`).
    pub async fn raw(&self, method: &str, path: &str, auth: Option<&str>, body: Body<'_>) -> Answer {
        let (ctype, payload) = match body {
            Body::None => (None, String::new()),
            Body::Form(p) => (Some("application/x-www-form-urlencoded"), form(p)),
            Body::Json(v) => (Some("application/json"), v.to_string()),
        };
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.addr);
        if let Some(a) = auth {
            req.push_str(&format!("Authorization: {a}\r\n"));
        }
        if let Some(c) = ctype {
            req.push_str(&format!("Content-Type: {c}\r\nContent-Length: {}\r\n", payload.len()));
        }
        req.push_str("\r\n");
        req.push_str(&payload);
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status_line = head.lines().next().unwrap();
        let mut parts = status_line.splitn(3, ' ');
        parts.next();
        let status = parts.next().unwrap().parse().unwrap();
        let reason = parts.next().unwrap_or("").to_string();
        let body = if body.is_empty() { Value::Null } else { serde_json::from_str(body).unwrap() };
        Answer { status, reason, body }
    }

    /// An authenticated API request below `/api2/json`.
    pub async fn api(&self, method: &str, path: &str, body: Body<'_>) -> Answer {
        let auth = format!("PVEAPIToken={TOKEN}");
        self.raw(method, &format!("/api2/json{path}"), Some(&auth), body).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.api("GET", path, Body::None).await
    }

    pub async fn post(&self, path: &str, params: &[(&str, &str)]) -> Answer {
        self.api("POST", path, Body::Form(params)).await
    }

    pub async fn put(&self, path: &str, params: &[(&str, &str)]) -> Answer {
        self.api("PUT", path, Body::Form(params)).await
    }

    /// Polls a task until it stops and returns its status object.
    pub async fn wait(&self, upid: &Value) -> Value {
        let upid = upid.as_str().expect("a UPID");
        let node = upid.split(':').nth(1).expect("a node in the UPID");
        for _ in 0..500 {
            let status = self.get(&format!("/nodes/{node}/tasks/{}/status", encode(upid))).await;
            let data = status.data().clone();
            if data["status"] == "stopped" {
                return data;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("task {upid} never stopped");
    }

    /// Creates container `vmid` from the template and waits for the task.
    pub async fn create_ct(&self, vmid: &str, extra: &[(&str, &str)]) -> Value {
        let mut params = vec![
            ("vmid", vmid),
            ("ostemplate", TEMPLATE),
            ("hostname", "db"),
            ("memory", "1024"),
            ("rootfs", "local-lvm:8"),
            ("net0", "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1"),
            ("tags", "hearth"),
        ];
        // An extra parameter replaces a default of the same name (a repeated form key would be
        // one value joined with NUL, as on the real server).
        params.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        params.extend_from_slice(extra);
        let upid = self.post("/nodes/pve/lxc", &params).await.data().clone();
        self.wait(&upid).await
    }
}
