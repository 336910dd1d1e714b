//! Running one target once: the watcher's own probes (HTTP, TCP, DNS) from `hearth-verify`'s
//! clients, built once per target and reused, or a fact checked by `hearth-verify` over an SSH
//! connection kept open per machine (reopened when it dies). Every run is bounded by the
//! target's timeout, except for opening that connection (SSH's connect timeout bounds it); a
//! reason never carries a secret value (`hearth-verify` redacts them).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_deploy::ssh::Connection;
use hearth_deploy::{Machine, SshOptions};
use hearth_verify::probe::{self, http::Prober};
use hearth_verify::{Options, Secrets};
use tokio::sync::Mutex;

use crate::cert;
use crate::target::{Probe, Target};
use crate::track::Millis;

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub ok: bool,
    pub latency: Duration,
    pub reason: Option<String>,
    /// When the certificate the server presented expires (HTTPS).
    pub cert_expiry: Option<Millis>,
}

/// What remote checks need: the SSH targets by machine name, the options and secret values.
pub struct Remote {
    pub machines: Vec<Machine>,
    pub ssh: SshOptions,
    pub secrets: Arc<dyn Secrets + Send + Sync>,
    pub options: Options,
}

/// One machine's connection, opened on first use; its lock makes other checks of the machine
/// wait while it opens.
type Slot = Arc<Mutex<Option<Arc<Connection>>>>;

/// Runs targets; shared by every check task.
pub struct Runner {
    /// Plain-HTTP clients, one per timeout the targets ask for (a client carries its timeout).
    plain: HashMap<std::time::Duration, Prober>,
    https: HashMap<String, Prober>,
    remote: Option<Remote>,
    connections: Mutex<HashMap<String, Slot>>,
}

impl Runner {
    /// Builds the HTTP clients of `targets` once.
    pub fn new(targets: &[Target], remote: Option<Remote>) -> Runner {
        let mut https = HashMap::new();
        let mut plain = HashMap::new();
        for t in targets {
            if let Probe::Http { addr, request, .. } = &t.probe {
                if request.https {
                    if let Ok(p) = Prober::new(*addr, request, t.timeout) {
                        https.insert(t.id.clone(), p);
                    }
                } else if !plain.contains_key(&t.timeout)
                    && let Ok(p) = Prober::plain(t.timeout)
                {
                    plain.insert(t.timeout, p);
                }
            }
        }
        Runner { plain, https, remote, connections: Mutex::new(HashMap::new()) }
    }

    /// Runs `target` once.
    pub async fn run(&self, target: &Target) -> Sample {
        // A remote check's SSH connection is opened (when none is open) outside its timeout,
        // bounded by SSH's own connect timeout: a handshake can take longer than a check whose
        // spec asks for a 1 s timeout, and a cut-off handshake would never let it pass.
        let connection = match (&target.probe, &self.remote) {
            (Probe::Remote(fact), Some(remote)) => match self.connection(remote, &fact.from).await {
                Ok(c) => Some(c),
                Err(reason) => {
                    return Sample { ok: false, latency: Duration::ZERO, reason: Some(reason), cert_expiry: None };
                }
            },
            _ => None,
        };
        let started = Instant::now();
        let outcome = tokio::time::timeout(target.timeout, self.probe(target, connection)).await;
        let latency = started.elapsed();
        match outcome {
            Ok(Ok(cert_expiry)) => Sample { ok: true, latency, reason: None, cert_expiry },
            Ok(Err((reason, cert_expiry))) => Sample { ok: false, latency, reason: Some(reason), cert_expiry },
            Err(_) => Sample {
                ok: false,
                latency,
                reason: Some(format!("no answer within {}s", target.timeout.as_secs_f64())),
                cert_expiry: None,
            },
        }
    }

    /// `Ok(certificate expiry)` when the target passes, else why not.
    async fn probe(
        &self,
        target: &Target,
        connection: Option<Arc<Connection>>,
    ) -> Result<Option<Millis>, (String, Option<Millis>)> {
        let timeout = target.timeout;
        match &target.probe {
            Probe::Http { addr, request, expect } => {
                let prober = if request.https { self.https.get(&target.id) } else { self.plain.get(&target.timeout) };
                let response = match prober {
                    Some(p) => p.get(*addr, request).await,
                    None => probe::http::get(*addr, request, timeout).await,
                }
                .map_err(|e| (e.to_string(), None))?;
                let expiry = response.leaf.as_deref().and_then(cert::not_after);
                if expect.admits(response.status) {
                    Ok(expiry)
                } else {
                    Err((format!("answered {}", response.status), expiry))
                }
            }
            Probe::Tcp { addr } => match tokio::net::TcpStream::connect(addr).await {
                Ok(_) => Ok(None),
                Err(e) => Err((format!("cannot connect to {addr}: {e}"), None)),
            },
            Probe::Dns { server, name, expect } => {
                let family = if expect.is_ipv4() { probe::dns::Family::V4 } else { probe::dns::Family::V6 };
                let answers =
                    probe::dns::resolve(*server, name, family, timeout).await.map_err(|e| (e.to_string(), None))?;
                hearth_facts::dns_answer(name, *expect, &answers).map(|()| None).map_err(|why| (why, None))
            }
            Probe::Remote(fact) => {
                let (Some(remote), Some(connection)) = (&self.remote, connection) else {
                    return Err(("no SSH access to the machines was given".into(), None));
                };
                let result =
                    hearth_verify::check_fact(&connection, fact, remote.secrets.as_ref(), &remote.options).await;
                // The connection may be what failed: then the next run opens a new one. A check
                // that failed over a live connection (a stopped unit) keeps it, so an outage
                // does not cost every check of the machine a new SSH handshake per run.
                if result.is_err() && !connection.is_alive().await {
                    self.drop_connection(&fact.from).await;
                }
                result.map(|()| None).map_err(|e| (e, None))
            }
        }
    }

    /// The open connection to `machine`, opened when there is none.
    async fn connection(&self, remote: &Remote, machine: &str) -> Result<Arc<Connection>, String> {
        let slot = {
            let mut all = self.connections.lock().await;
            all.entry(machine.to_string()).or_default().clone()
        };
        // One opener per machine at a time: the other checks of that machine wait for it.
        let mut slot = slot.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let target = remote
            .machines
            .iter()
            .find(|m| m.name == machine)
            .ok_or_else(|| format!("no SSH target for machine `{machine}`"))?;
        let opened = Arc::new(Connection::open(target, &remote.ssh).await.map_err(|e| e.to_string())?);
        *slot = Some(opened.clone());
        Ok(opened)
    }

    async fn drop_connection(&self, machine: &str) {
        let slot = self.connections.lock().await.get(machine).cloned();
        if let Some(slot) = slot {
            slot.lock().await.take();
        }
    }
}
