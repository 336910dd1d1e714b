//! One check on one machine: a command over its SSH connection, or a probe through a loopback
//! port forwarded through it (so the probe's connection leaves from the machine's address).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use hearth_deploy::ssh::Connection;
use hearth_facts::{Check, Fact, Trust};

use crate::probe::{self, Login, ProbeError, Secret};
use crate::remote;
use crate::run::{Options, Secrets};

/// How long after its first read of a Prometheus's targets a check waits for a down target to be
/// scraped again: longer than the rendered scrape interval, so a target that came up after its
/// last scrape is seen up.
const SCRAPE_SETTLE: std::time::Duration = std::time::Duration::from_secs(45);

/// What one machine's checks share: its connection, the secret values read so far (to redact
/// them from every reason) and Prometheus's targets once fetched.
pub(crate) struct Cx<'a> {
    connection: &'a Connection,
    secrets: &'a dyn Secrets,
    options: &'a Options,
    values: Vec<String>,
    /// Each Prometheus's targets, and when they were first read.
    targets: BTreeMap<SocketAddr, (std::time::Instant, Vec<probe::prometheus::Target>)>,
}

impl<'a> Cx<'a> {
    pub(crate) fn new(connection: &'a Connection, secrets: &'a dyn Secrets, options: &'a Options) -> Cx<'a> {
        Cx { connection, secrets, options, values: Vec::new(), targets: BTreeMap::new() }
    }

    /// `text` with every secret value read by this machine's checks replaced by `***`.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in self.values.iter().filter(|v| !v.is_empty()) {
            out = out.replace(v.as_str(), "***");
        }
        out
    }

    fn secret(&mut self, reference: &str) -> Result<Secret, String> {
        let value = self.secrets.value(reference).map_err(|e| format!("cannot read `{reference}`: {e}"))?;
        self.values.push(value.clone());
        Ok(Secret::new(value))
    }

    /// Runs a shell script as root; `Ok(stdout)` when it exits 0, else its output as the reason.
    async fn sh(&self, script: &str) -> Result<String, String> {
        let out = self.connection.run(&remote::as_root(script), b"").await.map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() {
            Ok(stdout)
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            let text = if stdout.is_empty() { stderr } else { stdout };
            Err(one_line(&text))
        }
    }

    /// Runs `probe` against `address:port` as reached from this machine.
    async fn through<T, F, Fut>(&self, address: IpAddr, port: u16, probe: F) -> Result<T, String>
    where
        F: FnOnce(SocketAddr) -> Fut,
        Fut: std::future::Future<Output = Result<T, ProbeError>>,
    {
        let remote = SocketAddr::new(address, port);
        let local = free_loopback().map_err(|e| format!("no free loopback port: {e}"))?;
        self.connection.forward(local, remote).await.map_err(|e| e.to_string())?;
        // The probe only sees the forward's loopback end: its reasons name the real target.
        let result = probe(local).await.map_err(|e| e.to_string().replace(&local.to_string(), &remote.to_string()));
        self.connection.unforward(local, remote).await;
        result
    }

    /// Checks one fact: `Ok` when it holds, else why not.
    pub(crate) async fn run(&mut self, fact: &Fact) -> Result<(), String> {
        let timeout = self.options.timeout;
        match &fact.check {
            Check::Unit { unit } => self.sh(&remote::unit(unit)).await.map(drop),
            Check::Container { name, image, healthcheck } => {
                let out = self.sh(&remote::container(name)).await?;
                let fields: Vec<&str> = out.split('\t').collect();
                match fields.as_slice() {
                    [state, health, running] => {
                        if *state != "running" {
                            return Err(format!("container is {state}"));
                        }
                        if *healthcheck && *health != "healthy" {
                            return Err(format!("container is {health}"));
                        }
                        if running != image {
                            return Err(format!("container runs `{running}`, the render says `{image}`"));
                        }
                        Ok(())
                    }
                    _ => Err(one_line(&out)),
                }
            }
            Check::Connect { address, port, open, .. } => {
                let seconds = timeout.as_secs().clamp(1, 5);
                let out = self
                    .connection
                    .run(&remote::connect(&address.to_string(), *port, seconds), b"")
                    .await
                    .map_err(|e| e.to_string())?;
                let code = out.status.code();
                match (open, code) {
                    (true, Some(0)) | (false, Some(1..=123 | 125..)) | (false, Some(124)) => Ok(()),
                    (true, Some(124)) => Err(format!("no answer from {address}:{port} within {seconds}s (dropped)")),
                    (true, _) => Err(format!("connection to {address}:{port} refused")),
                    (false, _) => Err(format!("{address}:{port} is reachable from `{}`", fact.from)),
                }
            }
            Check::Postgres { address, port, user, database, password } => {
                let login = Login { user: user.clone(), password: self.secret(password)?, database: database.clone() };
                self.through(*address, *port, |a| async move { probe::postgres::login(a, &login, timeout).await })
                    .await
                    .map(drop)
            }
            Check::Mysql { address, port, user, database, password } => {
                let login = Login { user: user.clone(), password: self.secret(password)?, database: database.clone() };
                self.through(*address, *port, |a| async move { probe::mysql::login(a, &login, timeout).await })
                    .await
                    .map(drop)
            }
            Check::Mongodb { address, port, user, database, password } => {
                let login = Login { user: user.clone(), password: self.secret(password)?, database: database.clone() };
                let source = database.clone();
                self.through(*address, *port, |a| async move { probe::mongo::login(a, &login, &source, timeout).await })
                    .await
                    .map(drop)
            }
            Check::Redis { address, port, password, db } => {
                let password = match password {
                    Some(p) => Some(self.secret(p)?),
                    None => None,
                };
                let auth = probe::redis::Auth { user: None, password, db: *db };
                self.through(*address, *port, |a| async move { probe::redis::ping(a, &auth, timeout).await }).await
            }
            Check::S3 { address, port, access_key, secret_key, bucket } => {
                let b = probe::s3::Bucket {
                    host: format!("{address}:{port}"),
                    region: "us-east-1".into(),
                    bucket: bucket.clone(),
                    access_key: access_key.clone(),
                    secret_key: self.secret(secret_key)?,
                };
                self.through(*address, *port, |a| async move { probe::s3::list(a, &b, timeout).await }).await.map(drop)
            }
            Check::Dns { server, port, name, expect } => {
                let family = if expect.is_ipv4() { probe::dns::Family::V4 } else { probe::dns::Family::V6 };
                let answers = self
                    .through(*server, *port, |a| async move { probe::dns::resolve(a, name, family, timeout).await })
                    .await?;
                hearth_facts::dns_answer(name, *expect, &answers)
            }
            Check::Route { address, port, tls, host, path, expect } => {
                let request =
                    probe::http::Request { https: *tls, host: host.clone(), path: path.clone(), ca_pem: None };
                let response = self
                    .through(*address, *port, |a| async move { probe::http::get(a, &request, timeout).await })
                    .await?;
                if expect.admits(response.status) { Ok(()) } else { Err(format!("answered {}", response.status)) }
            }
            Check::Certificate { address, port, host, trust } => {
                let ca_pem = match trust {
                    Trust::Internal { ca } => Some(
                        self.sh(&remote::cat(ca)).await.map_err(|e| format!("cannot read the CA root `{ca}`: {e}"))?,
                    ),
                    Trust::Public => None,
                };
                let request = probe::http::Request { https: true, host: host.clone(), path: "/".into(), ca_pem };
                let response = self
                    .through(*address, *port, |a| async move { probe::http::get(a, &request, timeout).await })
                    .await?;
                match response.chain {
                    probe::http::Chain::Verified => Ok(()),
                    probe::http::Chain::Invalid(why) => Err(format!("the chain does not verify: {why}")),
                    probe::http::Chain::None => Err("no certificate was presented".into()),
                }
            }
            Check::ScrapeUp { address, port, job, instance } => {
                let key = SocketAddr::new(*address, *port);
                loop {
                    if !self.targets.contains_key(&key) {
                        let targets = self
                            .through(*address, *port, |a| async move { probe::prometheus::targets(a, timeout).await })
                            .await?;
                        self.targets.insert(key, (std::time::Instant::now(), targets));
                    }
                    let (first_read, targets) = &self.targets[&key];
                    let first = *first_read;
                    let verdict = match targets.iter().find(|t| &t.job == job && &t.instance == instance) {
                        Some(t) if t.health == probe::prometheus::Health::Up => Ok(()),
                        Some(t) => Err(format!("target is {:?}: {}", t.health, t.last_error).to_lowercase()),
                        None => Err(format!("Prometheus has no target `{instance}` in job `{job}`")),
                    };
                    // Right after a deploy, Prometheus may not have scraped a target since it
                    // started: its last answer is stale. Read the targets again until a while after
                    // the first read (the scrape interval and then some), never longer.
                    if verdict.is_ok() || first.elapsed() >= SCRAPE_SETTLE {
                        return verdict;
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    let targets = self
                        .through(*address, *port, |a| async move { probe::prometheus::targets(a, timeout).await })
                        .await?;
                    self.targets.insert(key, (first, targets));
                }
            }
            Check::Series { address, port, selectors, .. } => {
                let mut missing = Vec::new();
                for s in selectors {
                    let found = self
                        .through(*address, *port, |a| async move { probe::prometheus::has_series(a, s, timeout).await })
                        .await?;
                    if !found {
                        missing.push(format!("`{s}`"));
                    }
                }
                if missing.is_empty() { Ok(()) } else { Err(format!("no series for {}", missing.join(", "))) }
            }
            Check::Notify { address, port, channel, integration } => {
                let alert = probe::alertmanager::TestAlert {
                    labels: BTreeMap::from([
                        ("alertname".to_string(), "HearthVerify".to_string()),
                        ("channel".to_string(), channel.clone()),
                        ("severity".to_string(), "info".to_string()),
                    ]),
                    annotations: BTreeMap::from([(
                        "summary".to_string(),
                        format!("Test alert from `hearth verify` for channel `{channel}`"),
                    )]),
                };
                let wait = self.options.alert_wait;
                let integrations = vec![integration.clone()];
                let deliveries = self
                    .through(*address, *port, |a| async move {
                        probe::alertmanager::notify(a, &alert, &integrations, wait, timeout).await
                    })
                    .await?;
                match deliveries.iter().find(|d| &d.integration == integration).map(|d| d.outcome) {
                    Some(probe::alertmanager::Outcome::Sent) => Ok(()),
                    Some(probe::alertmanager::Outcome::Failed) => {
                        Err(format!("Alertmanager's {integration} notification failed"))
                    }
                    _ => {
                        Err(format!("Alertmanager attempted no {integration} notification within {}s", wait.as_secs()))
                    }
                }
            }
            Check::Backup { unit, job, host, environments, paths } => {
                self.sh(&remote::backup(unit, job, host, environments, paths, self.options.run_backups)).await.map(drop)
            }
            Check::Timer { timer, unit } => self.sh(&remote::timer(timer, unit)).await.map(drop),
            Check::CronJob { name, namespace } => self.sh(&remote::cron_job(name, namespace)).await.map(drop),
        }
    }
}

/// Checks one fact over `connection` (a connection to the machine the fact runs from), with
/// every secret value redacted from the reason: the watcher calls this on its schedule, keeping
/// one connection per machine open between calls.
pub async fn check_fact(
    connection: &Connection,
    fact: &Fact,
    secrets: &dyn Secrets,
    options: &Options,
) -> Result<(), String> {
    let mut cx = Cx::new(connection, secrets, options);
    let result = cx.run(fact).await;
    result.map_err(|why| cx.redact(&why))
}

/// A loopback port free right now, for a forward.
fn free_loopback() -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))?;
    listener.local_addr()
}

/// Text on one line: lines joined with `; `, at most 300 characters.
fn one_line(text: &str) -> String {
    let joined: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let line = joined.join("; ");
    match line.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}
