//! The daemon: one scheduler, the check tasks (bounded by a semaphore), one recorder and the
//! web server, on the caller's tokio runtime.
//!
//! The scheduler pops due targets from `schedule::Queue` and spawns one task per run once a
//! permit is free, so at most `concurrency` probes are in flight whatever the number of targets
//! (a task per target would hold 10,000 futures). Results go through a channel to the recorder,
//! the only writer: it updates each target's `Tracker`, records incidents as they open and
//! close, sends their alerts, and writes results in one transaction per `flush_every`. The page,
//! `/api/status` and `/metrics` read the same in-memory state and the database.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use thiserror::Error;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use crate::alert::{self, Message, Notifier};
use crate::runner::{Remote, Runner, Sample};
use crate::schedule::Queue;
use crate::server::{self, Auth};
use crate::store::{Row, Store, StoreError};
use crate::target::Target;
use crate::time::{self, Window};
use crate::track::{Change, Millis, Policy, Tracker};

/// How many latencies each target keeps for its sparkline.
pub const SPARK: usize = 40;

/// Everything the daemon runs with.
pub struct Config {
    pub homelab: String,
    pub targets: Vec<Target>,
    pub notifiers: Vec<Notifier>,
    pub db: PathBuf,
    pub listen: SocketAddr,
    /// Required when `listen` is not a loopback address.
    pub auth: Option<Auth>,
    pub policy: Policy,
    pub maintenance: Vec<Window>,
    /// Probes in flight at once.
    pub concurrency: usize,
    /// Days of raw results kept (their hourly aggregates stay).
    pub raw_days: u32,
    /// Days of hourly aggregates kept.
    pub hourly_days: u32,
    /// Spreads the targets over their intervals.
    pub seed: u64,
    /// SSH access for the checks `hearth-verify` runs on machines.
    pub remote: Option<Remote>,
    /// How often results are written.
    pub flush_every: Duration,
    /// Where the daemon says what it does (a line per event, no secret values).
    pub log: Arc<dyn Fn(&str) + Send + Sync>,
}

impl Config {
    /// A configuration with the defaults, checking `targets` at `listen`.
    pub fn new(homelab: &str, targets: Vec<Target>, db: PathBuf, listen: SocketAddr) -> Config {
        Config {
            homelab: homelab.into(),
            targets,
            notifiers: Vec::new(),
            db,
            listen,
            auth: None,
            policy: Policy::default(),
            maintenance: Vec::new(),
            concurrency: 256,
            raw_days: 7,
            hourly_days: 400,
            seed: 0,
            remote: None,
            flush_every: Duration::from_secs(5),
            log: Arc::new(|line| eprintln!("{line}")),
        }
    }
}

/// Why the daemon did not start.
#[derive(Debug, Error)]
pub enum WatchError {
    #[error(
        "listening on `{0}` needs authentication, since other machines can reach it; store a token with `hearth secrets set hearth-watch-token` (or listen on `127.0.0.1`)"
    )]
    NoAuth(SocketAddr),
    #[error("cannot listen on `{addr}`: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Client(String),
}

/// What the page shows of one target, kept in memory.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub tracker: Tracker,
    /// When it last ran, whether it passed, its latency and why it failed.
    pub last: Option<(Millis, Sample)>,
    /// The latest results, oldest first: (passed, latency in µs).
    pub spark: VecDeque<(bool, u64)>,
    pub cert_expiry: Option<Millis>,
    pub last_success: Option<Millis>,
    /// The open incident: its id and start.
    pub incident: Option<(i64, Millis)>,
    pub checks: u64,
    pub failures: u64,
}

/// Alerts sent and failed, per channel.
#[derive(Debug, Clone, Default)]
pub struct AlertCount {
    pub sent: u64,
    pub failed: u64,
}

/// What the web server and the recorder share.
pub struct Shared {
    pub homelab: String,
    pub targets: Vec<Target>,
    pub live: Mutex<Vec<Live>>,
    pub store: Mutex<Store>,
    pub alerts: Mutex<Vec<(String, AlertCount)>>,
    pub started: Millis,
    pub policy: Policy,
}

/// A running daemon.
pub struct Handle {
    /// The address the server listens on (the port is known once bound).
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Handle {
    /// Stops the scheduler and the server, writes the last results, and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Locks a mutex, taking the data even if a task panicked while holding it (the state is
/// plain data, always consistent between statements).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts the daemon.
pub async fn start(config: Config) -> Result<Handle, WatchError> {
    if !config.listen.ip().is_loopback() && config.auth.is_none() {
        return Err(WatchError::NoAuth(config.listen));
    }
    let mut store = Store::open(&config.db)?;
    let open = store.incidents(0)?;
    let mut live = Vec::with_capacity(config.targets.len());
    for t in &config.targets {
        let mut l = Live::default();
        if let Some(i) = open.iter().find(|i| i.target == t.id && i.ended.is_none()) {
            l.tracker = Tracker::with_open(i.announced);
            l.incident = Some((i.id, i.started));
        }
        l.spark = store.latencies(&t.id, SPARK)?.into();
        l.last_success = store.last_success(&t.id)?;
        live.push(l);
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| WatchError::Listen { addr: config.listen, reason: e.to_string() })?;
    let addr = listener.local_addr().map_err(|e| WatchError::Listen { addr: config.listen, reason: e.to_string() })?;
    let client = alert::client().map_err(WatchError::Client)?;
    let shared = Arc::new(Shared {
        homelab: config.homelab.clone(),
        targets: config.targets.clone(),
        live: Mutex::new(live),
        store: Mutex::new(store),
        alerts: Mutex::new(config.notifiers.iter().map(|n| (n.name.clone(), AlertCount::default())).collect()),
        started: time::now(),
        policy: config.policy,
    });
    let (stop, stopped) = watch::channel(false);
    let (tx, rx) = mpsc::channel::<(usize, Millis, Sample)>(4096);
    let runner = Arc::new(Runner::new(&config.targets, config.remote));
    let log = config.log.clone();
    log(&format!("watching {} check(s); the status page is at http://{addr}/", config.targets.len()));

    let scheduler =
        tokio::spawn(schedule(shared.clone(), runner, config.concurrency.max(1), config.seed, tx, stopped.clone()));
    let recorder = tokio::spawn(record(
        shared.clone(),
        Recorder {
            notifiers: Arc::new(config.notifiers),
            client,
            maintenance: config.maintenance,
            flush_every: config.flush_every,
            raw_days: config.raw_days,
            hourly_days: config.hourly_days,
            log: log.clone(),
        },
        rx,
    ));
    let server = tokio::spawn(server::serve(listener, shared.clone(), config.auth, stopped, log));
    Ok(Handle { addr, shared, stop, tasks: vec![scheduler, recorder, server] })
}

/// Runs each target when it is due, at most `concurrency` at once, until stopped.
async fn schedule(
    shared: Arc<Shared>,
    runner: Arc<Runner>,
    concurrency: usize,
    seed: u64,
    tx: mpsc::Sender<(usize, Millis, Sample)>,
    mut stopped: watch::Receiver<bool>,
) {
    let clock = Clock::new();
    let mut queue =
        Queue::new(shared.targets.iter().map(|t| (t.id.as_str(), t.interval.as_millis() as Millis)), clock.now(), seed);
    let permits = Arc::new(Semaphore::new(concurrency));
    loop {
        let Some(due) = queue.next_due() else {
            let _ = stopped.changed().await;
            return;
        };
        let wait = Duration::from_millis((due - clock.now()).max(0) as u64);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => return,
        }
        for i in queue.pop_due(clock.now()) {
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
                _ = stopped.changed() => return,
            };
            let (runner, shared, tx) = (runner.clone(), shared.clone(), tx.clone());
            let at = clock.now();
            tokio::spawn(async move {
                let sample = runner.run(&shared.targets[i]).await;
                drop(permit);
                let _ = tx.send((i, at, sample)).await;
            });
        }
    }
}

/// Wall-clock milliseconds that advance with tokio's clock (so a paused test clock and the
/// scheduler agree).
struct Clock {
    wall: Millis,
    base: tokio::time::Instant,
}

impl Clock {
    fn new() -> Clock {
        Clock { wall: time::now(), base: tokio::time::Instant::now() }
    }

    fn now(&self) -> Millis {
        self.wall + self.base.elapsed().as_millis() as Millis
    }
}

struct Recorder {
    notifiers: Arc<Vec<Notifier>>,
    client: reqwest::Client,
    maintenance: Vec<Window>,
    flush_every: Duration,
    raw_days: u32,
    hourly_days: u32,
    log: Arc<dyn Fn(&str) + Send + Sync>,
}

/// Takes results until the scheduler and its tasks are gone, writing them in batches.
async fn record(shared: Arc<Shared>, r: Recorder, mut rx: mpsc::Receiver<(usize, Millis, Sample)>) {
    let mut batch: Vec<Row> = Vec::new();
    let mut tick = tokio::time::interval(r.flush_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_prune: Millis = 0;
    loop {
        tokio::select! {
            got = rx.recv() => match got {
                Some((i, at, sample)) => take(&shared, &r, i, at, sample, &mut batch),
                None => break,
            },
            _ = tick.tick() => {
                flush(&shared, &r, &mut batch).await;
                let now = time::now();
                if now - last_prune > 3_600_000 {
                    last_prune = now;
                    let shared = shared.clone();
                    let (raw, hourly) = (r.raw_days, r.hourly_days);
                    let pruned = tokio::task::spawn_blocking(move || lock(&shared.store).prune(now, raw, hourly)).await;
                    if let Ok(Err(e)) = pruned {
                        (r.log)(&format!("warning: {e}"));
                    }
                }
            }
        }
    }
    flush(&shared, &r, &mut batch).await;
}

async fn flush(shared: &Arc<Shared>, r: &Recorder, batch: &mut Vec<Row>) {
    if batch.is_empty() {
        return;
    }
    let rows = std::mem::take(batch);
    let s = shared.clone();
    match tokio::task::spawn_blocking(move || lock(&s.store).record(&rows)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => (r.log)(&format!("warning: results not recorded: {e}")),
        Err(e) => (r.log)(&format!("warning: results not recorded: {e}")),
    }
}

/// One result: the tracker, the in-memory state, the incident and its alert.
fn take(shared: &Arc<Shared>, r: &Recorder, i: usize, at: Millis, sample: Sample, batch: &mut Vec<Row>) {
    let target = &shared.targets[i];
    let maintenance = r.maintenance.iter().any(|w| w.covers(at));
    let change = {
        let mut live = lock(&shared.live);
        let l = &mut live[i];
        // The spec's `fail_after` for the target's service replaces the daemon's.
        let policy = target.fail_after.map_or(shared.policy, |f| Policy { fail_after: f, ..shared.policy });
        let change = l.tracker.observe(&policy, at, sample.ok, maintenance);
        l.checks += 1;
        if sample.ok {
            l.last_success = Some(at);
        } else {
            l.failures += 1;
        }
        if sample.cert_expiry.is_some() {
            l.cert_expiry = sample.cert_expiry;
        }
        if l.spark.len() >= SPARK {
            l.spark.pop_front();
        }
        l.spark.push_back((sample.ok, sample.latency.as_micros() as u64));
        l.last = Some((at, sample.clone()));
        change.map(|c| (c, l.incident))
    };
    batch.push(Row {
        target: target.id.clone(),
        at,
        ok: sample.ok,
        latency_us: sample.latency.as_micros() as u64,
        reason: sample.reason.clone(),
    });
    let Some((change, open)) = change else { return };
    let reason = sample.reason.clone().unwrap_or_default();
    let message = match change {
        Change::Open { started, announce } => {
            let id = match lock(&shared.store).open_incident(&target.id, started, &reason, announce) {
                Ok(id) => id,
                Err(e) => {
                    (r.log)(&format!("warning: {e}"));
                    -1
                }
            };
            lock(&shared.live)[i].incident = Some((id, started));
            (r.log)(&format!(
                "{}: down since {} ({reason}){}",
                target.id,
                time::rfc3339(started),
                if announce { "" } else { ", in maintenance: not announced" }
            ));
            announce.then(|| {
                Message::firing(&shared.homelab, &target.id, &target.machine, &target.describe, &reason, id, started)
            })
        }
        Change::Close { announce } => {
            let (id, started) = open.unwrap_or((-1, at));
            if let Err(e) = lock(&shared.store).close_incident(id, at) {
                (r.log)(&format!("warning: {e}"));
            }
            lock(&shared.live)[i].incident = None;
            (r.log)(&format!("{}: up again after {}", target.id, time::human(at - started)));
            announce.then(|| {
                Message::resolved(&shared.homelab, &target.id, &target.machine, &target.describe, id, started, at)
            })
        }
    };
    if let Some(message) = message {
        for k in 0..r.notifiers.len() {
            let (client, notifiers, shared, message, log) =
                (r.client.clone(), r.notifiers.clone(), shared.clone(), message.clone(), r.log.clone());
            tokio::spawn(async move {
                let n = &notifiers[k];
                let result = alert::send(&client, n, &message, Duration::from_secs(20)).await;
                let mut counts = lock(&shared.alerts);
                match result {
                    Ok(()) => counts[k].1.sent += 1,
                    Err(e) => {
                        counts[k].1.failed += 1;
                        log(&format!("warning: alert not sent: {e}"));
                    }
                }
            });
        }
    }
}

/// Sends one test message per channel; each channel's outcome, in order.
pub async fn test_alerts(homelab: &str, notifiers: &[Notifier]) -> Vec<(String, Result<(), alert::AlertError>)> {
    let client = match alert::client() {
        Ok(c) => c,
        Err(e) => {
            return notifiers
                .iter()
                .map(|n| (n.name.clone(), Err(alert::AlertError { channel: n.name.clone(), reason: e.clone() })))
                .collect();
        }
    };
    let mut out = Vec::new();
    for n in notifiers {
        let result = alert::send(&client, n, &Message::test(homelab, &n.name), Duration::from_secs(20)).await;
        out.push((n.name.clone(), result));
    }
    out
}
