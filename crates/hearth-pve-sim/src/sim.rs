//! The simulated node as the routes use it: configuration, the state behind one mutex, the
//! config lock of each guest, task workers, faults and the runtime hook.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::faults::{FaultKind, Faults};
use crate::response::ApiError;
use crate::runtime::{GuestInfo, Runtime, Started};
use crate::schema::Schema;
use crate::state::{Kind, State};

/// An API token the node accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// `USER@REALM!TOKENID`.
    pub id: String,
    pub secret: String,
}

/// Why a `--token` value is refused.
#[derive(Debug, thiserror::Error)]
#[error("token `{0}` is not `USER@REALM!TOKENID=SECRET`")]
pub struct TokenError(pub String);

impl Token {
    /// Parses `USER@REALM!TOKENID=SECRET`. The error names the token ID only, never the secret.
    pub fn parse(s: &str) -> Result<Token, TokenError> {
        let (id, secret) = s.split_once('=').ok_or_else(|| TokenError("(no `=`)".into()))?;
        let well_formed = id.split_once('@').is_some_and(|(user, rest)| {
            !user.is_empty() && rest.split_once('!').is_some_and(|(realm, name)| !realm.is_empty() && !name.is_empty())
        });
        if !well_formed || secret.is_empty() {
            return Err(TokenError(id.to_string()));
        }
        Ok(Token { id: id.to_string(), secret: secret.to_string() })
    }
}

/// How the node behaves.
#[derive(Debug, Clone)]
pub struct Config {
    pub tokens: Vec<Token>,
    /// How long a task runs before it ends.
    pub task_duration: Duration,
    /// How long a request waits for a guest's config lock (the real node: 10 s).
    pub lock_timeout: Duration,
    pub state_file: Option<PathBuf>,
    /// Where `STORAGE:snippets/NAME` volumes are also looked up (the node's
    /// `/var/lib/vz/snippets`, which the client fills over SSH).
    pub snippets_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            tokens: Vec::new(),
            task_duration: Duration::from_millis(200),
            lock_timeout: Duration::from_secs(10),
            state_file: None,
            snippets_dir: None,
        }
    }
}

/// What a finished task body asks the runtime to do.
pub enum Effect {
    None,
    Start(GuestInfo),
    Stop(GuestInfo),
    /// Stop, then start (a reboot).
    Restart(GuestInfo),
    Destroy(GuestInfo),
    /// A running guest's limits changed (memory, cores) and apply at once.
    Update(GuestInfo),
}

/// A task's work, run under the state lock when the task's time is up.
pub type TaskBody = Box<dyn FnOnce(&mut State, &mut Vec<String>) -> Result<Effect, String> + Send>;
/// What undoes a failed task's reservations (a half-created guest).
pub type OnFail = Box<dyn FnOnce(&mut State) + Send>;

/// A task to start: its type and ID (as in the UPID), the guest whose config lock it holds,
/// its work, and what undoes the request's reservations when it fails.
pub struct TaskSpec {
    pub kind: String,
    pub id: String,
    pub hold: Option<u32>,
    pub body: TaskBody,
    pub on_fail: Option<OnFail>,
}

/// The request a handler serves, for faults and task users.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Below `/api2/json`.
    pub path: String,
    /// The token ID (`root@pam!hearth`), the task user.
    pub user: String,
}

/// What the node saw, for tests to assert on (`GET /_sim/stats`): how many API requests, each
/// refused one (the client's tests expect none they did not provoke), and the most tasks that
/// ran at once (the client promises at most 2 per node).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stats {
    pub requests: u64,
    /// Requests by method (`POST`, `PUT`, …), refused ones included.
    pub methods: std::collections::BTreeMap<String, u64>,
    pub refused: Vec<Refusal>,
    pub max_concurrent_tasks: usize,
}

/// One refused API request.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refusal {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub message: String,
}

/// The simulated node.
pub struct Sim {
    pub schema: Arc<Schema>,
    pub config: Config,
    state: Mutex<State>,
    faults: Mutex<Faults>,
    stats: Mutex<Stats>,
    runtime: Arc<dyn Runtime>,
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock would leave plain data behind, still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sim {
    pub fn new(schema: Arc<Schema>, config: Config, state: State, faults: Faults, runtime: Arc<dyn Runtime>) -> Sim {
        Sim {
            schema,
            config,
            state: Mutex::new(state),
            faults: Mutex::new(faults),
            stats: Mutex::new(Stats::default()),
            runtime,
        }
    }

    /// Runs `f` on the statistics.
    pub fn with_stats<R>(&self, f: impl FnOnce(&mut Stats) -> R) -> R {
        f(&mut relock(&self.stats))
    }

    /// Counts an API request and remembers it when refused (the first 1000 refusals are kept).
    pub fn record(&self, method: &str, path: &str, outcome: Result<(), (u16, String)>) {
        self.with_stats(|st| {
            st.requests += 1;
            *st.methods.entry(method.to_string()).or_default() += 1;
            if let Err((status, message)) = outcome
                && st.refused.len() < 1000
            {
                st.refused.push(Refusal { method: method.into(), path: path.into(), status, message });
            }
        });
    }

    /// The node's name.
    pub fn node(&self) -> String {
        relock(&self.state).node.clone()
    }

    /// Runs `f` on the state.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut relock(&self.state))
    }

    /// Runs `f` on the fault rules.
    pub fn with_faults<R>(&self, f: impl FnOnce(&mut Faults) -> R) -> R {
        f(&mut relock(&self.faults))
    }

    /// Takes a matching fault rule.
    pub fn fault(&self, kind: FaultKind, req: &Request) -> Option<crate::faults::Rule> {
        self.with_faults(|f| f.take(kind, &req.method, &req.path))
    }

    /// Writes the state file, if there is one. A failure is reported on stderr and the node
    /// keeps serving from memory.
    pub fn persist(&self) {
        self.with_state(|s| self.save(s));
    }

    /// Writes the state file from a state already locked, so a change and its record on disk
    /// are one step: a client that saw a task end finds it in the file too.
    fn save(&self, state: &State) {
        if let Some(path) = &self.config.state_file
            && let Err(e) = state.save(path)
        {
            eprintln!("hearth-pve-sim: {e}");
        }
    }

    /// The real message for a guest that does not exist.
    pub fn missing(node: &str, kind: Kind, vmid: u32) -> ApiError {
        let dir = if kind == Kind::Lxc { "lxc" } else { "qemu-server" };
        ApiError::fail(format!("Configuration file 'nodes/{node}/{dir}/{vmid}.conf' does not exist"))
    }

    /// Runs `f` once the guest's config lock is free, waiting up to the lock timeout like the
    /// real node's `lock_config`, then failing with its `got timeout` message.
    pub async fn with_guest_lock<R>(
        &self,
        req: &Request,
        kind: Kind,
        vmid: u32,
        mut f: impl FnMut(&mut State) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let deadline = Instant::now() + self.config.lock_timeout;
        loop {
            {
                let mut state = relock(&self.state);
                let node = state.node.clone();
                let Some(g) = state.guests.get(&vmid).filter(|g| g.kind == kind) else {
                    return Err(Sim::missing(&node, kind, vmid));
                };
                let file = g.lock_file();
                if let Some(rule) = self.fault(FaultKind::Lock, req) {
                    // A rule may name another lock (`cfs-lock 'storage-local-lvm' error: got lock
                    // request timeout`), as parallel creations on one storage meet on a real node.
                    return Err(ApiError::fail(
                        rule.message.unwrap_or(format!("can't lock file '{file}' - got timeout")),
                    ));
                }
                if g.flock.is_none() {
                    return f(&mut state);
                }
                if Instant::now() >= deadline {
                    return Err(ApiError::fail(format!("can't lock file '{file}' - got timeout")));
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts a task: recorded as running now, holding `hold`'s config lock, its body applied
    /// when the task duration has passed. A `task-fail` fault matching the request makes it end
    /// with an error, and `on_fail` undoes what the request reserved.
    pub fn spawn_task(self: &Arc<Self>, state: &mut State, req: &Request, spec: TaskSpec) -> String {
        let TaskSpec { kind, id, hold, body, on_fail } = spec;
        let pid = state.next_pid;
        state.next_pid += 1;
        let start = now();
        let task = crate::state::Task::new(&state.node, pid, pid.wrapping_mul(7919), start, &kind, &id, &req.user);
        let upid = task.upid.clone();
        state.tasks.push(task);
        let running = state.tasks.iter().filter(|t| t.exitstatus.is_none()).count();
        self.with_stats(|st| st.max_concurrent_tasks = st.max_concurrent_tasks.max(running));
        if let Some(vmid) = hold
            && let Some(g) = state.guests.get_mut(&vmid)
        {
            g.flock = Some(upid.clone());
        }
        let injected = self.fault(FaultKind::TaskFail, req);
        let sim = Arc::clone(self);
        let task_upid = upid.clone();
        tokio::spawn(async move {
            tokio::time::sleep(sim.config.task_duration).await;
            let mut log = Vec::new();
            let outcome = match injected {
                Some(rule) => Err(rule.message.unwrap_or_else(|| "injected failure (hearth-pve-sim fault)".into())),
                None => sim.with_state(|s| body(s, &mut log)),
            };
            let result = match outcome {
                Ok(effect) => sim.apply_effect(effect, &mut log).await,
                Err(e) => Err(e),
            };
            sim.with_state(|s| {
                if result.is_err()
                    && let Some(undo) = on_fail
                {
                    undo(s);
                }
                if let Some(vmid) = hold
                    && let Some(g) = s.guests.get_mut(&vmid)
                    && g.flock.as_deref() == Some(task_upid.as_str())
                {
                    g.flock = None;
                }
                if let Some(t) = s.tasks.iter_mut().find(|t| t.upid == task_upid) {
                    t.log.extend(log);
                    t.finish(result, now());
                }
                sim.save(s);
            });
        });
        upid
    }

    /// Hands a running guest's changed limits to the runtime outside any task (a container's
    /// `PUT …/config` answers at once); a failure goes to stderr, the config change stands.
    pub async fn update_runtime(self: &Arc<Self>, guest: GuestInfo) {
        let runtime = Arc::clone(&self.runtime);
        let vmid = guest.vmid;
        match tokio::task::spawn_blocking(move || runtime.update(&guest)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("hearth-pve-sim: guest {vmid}: applying changed limits failed: {e}"),
            Err(e) => eprintln!("hearth-pve-sim: guest {vmid}: runtime hook crashed: {e}"),
        }
    }

    async fn apply_effect(self: &Arc<Self>, effect: Effect, log: &mut Vec<String>) -> Result<(), String> {
        let runtime = Arc::clone(&self.runtime);
        let call = move || match effect {
            Effect::None => Ok(None),
            Effect::Start(g) => runtime.start(&g).map(|s| Some((g, s))),
            Effect::Stop(g) => runtime.stop(&g).map(|()| None),
            Effect::Restart(g) => runtime.stop(&g).and_then(|()| runtime.start(&g)).map(|s| Some((g, s))),
            Effect::Destroy(g) => runtime.destroy(&g).map(|()| None),
            Effect::Update(g) => runtime.update(&g).map(|()| None),
        };
        let started = tokio::task::spawn_blocking(call).await.map_err(|e| format!("runtime hook crashed: {e}"))?;
        match started {
            Ok(Some((g, Started::SimulatedOnly(reason)))) => {
                let note = format!("simulated only: {reason}");
                log.push(format!("{} {}: {note}", g.kind.short(), g.vmid));
                self.with_state(|s| {
                    if let Some(guest) = s.guests.get_mut(&g.vmid) {
                        guest.runtime_note = Some(note);
                    }
                });
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_without_echoing_secrets() {
        let t = Token::parse("root@pam!hearth=s3cret-value").unwrap();
        assert_eq!(t.id, "root@pam!hearth");
        let err = Token::parse("root@pam=s3cret-value").unwrap_err().to_string();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(Token::parse("root@pam!x=").is_err());
    }
}
