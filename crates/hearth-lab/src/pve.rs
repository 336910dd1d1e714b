//! The lab's Proxmox nodes: one API simulator per node that has guests in the lab, a process of
//! the program the caller names (the `hearth` binary's hidden `lab pve-node`), detached so it
//! outlives `lab up`, listening on loopback with the lab's own token. `apply --lab` creates the
//! guests through it; its runtime makes each started guest a lab machine (`guest.rs`).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::process;
use crate::state::{self, LabState, Paths, SimulatorState};

/// How to start a simulator: `PROGRAM ARGS… --dir DIR --node NODE --listen 127.0.0.1:0
/// [--extra-storage ID]…`, the token in `HEARTH_PVE_SIM_TOKEN`; it prints its base URL on stdout
/// once it listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulator {
    pub program: PathBuf,
    pub args: Vec<String>,
}

/// The token id every lab simulator accepts.
pub const TOKEN_ID: &str = "root@pam!hearth-lab";

/// Makes the lab's token (`TOKEN_ID=` 32 random hex digits, in a 0600 file) unless it exists;
/// returns it. It opens only the lab's own simulators on loopback.
pub fn ensure_token(paths: &Paths) -> Result<String, Error> {
    let path = paths.pve_token();
    if let Ok(text) = std::fs::read_to_string(&path)
        && text.trim().starts_with(TOKEN_ID)
    {
        return Ok(text.trim().to_string());
    }
    let mut bytes = [0u8; 16];
    let urandom = Path::new("/dev/urandom");
    std::fs::File::open(urandom).and_then(|mut f| f.read_exact(&mut bytes)).map_err(Error::io(urandom))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let token = format!("{TOKEN_ID}={secret}");
    state::write(&path, &format!("{token}\n"))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(Error::io(&path))?;
    Ok(token)
}

/// The lab's token, as `up` made it.
pub fn token(dir: &Path) -> Result<String, Error> {
    let path = Paths::new(dir).pve_token();
    std::fs::read_to_string(&path).map(|t| t.trim().to_string()).map_err(Error::io(&path))
}

/// Starts one simulator per node of the lab's guest machines and waits for each to listen.
/// `storages` are the storages each node's guests' disks name beyond the simulator's defaults.
pub fn start_all(
    paths: &Paths,
    lab: &LabState,
    sim: &Simulator,
    storages: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<SimulatorState>, Error> {
    let token = ensure_token(paths)?;
    let mut nodes: BTreeMap<&str, &str> = BTreeMap::new();
    for m in lab.machines.values() {
        if let Some(p) = &m.proxmox {
            nodes.insert(&p.node, &p.host);
        }
    }
    let mut out = Vec::new();
    for (node, host) in nodes {
        let extra = storages.get(node).map(Vec::as_slice).unwrap_or_default();
        out.push(start(paths, sim, node, host, &token, extra)?);
    }
    Ok(out)
}

fn start(
    paths: &Paths,
    sim: &Simulator,
    node: &str,
    host: &str,
    token: &str,
    storages: &[String],
) -> Result<SimulatorState, Error> {
    let folder = paths.pve_dir().join(node);
    std::fs::create_dir_all(paths.snippets(node)).map_err(Error::io(paths.snippets(node)))?;
    let state_file = state::absolute(&folder.join("state.json"));
    // A fresh node each `up`: the lab's guests do not exist until `apply --lab` creates them.
    if state_file.exists() {
        std::fs::remove_file(&state_file).map_err(Error::io(&state_file))?;
    }
    let url_file = folder.join("url");
    let log = folder.join("log");
    let out = std::fs::File::create(&url_file).map_err(Error::io(&url_file))?;
    let err = std::fs::File::create(&log).map_err(Error::io(&log))?;
    let mut cmd = Command::new(&sim.program);
    cmd.args(&sim.args)
        .arg("--dir")
        .arg(state::absolute(&paths.dir))
        .args(["--node", node, "--listen", "127.0.0.1:0"])
        .arg("--state")
        .arg(&state_file);
    for s in storages {
        cmd.args(["--extra-storage", s]);
    }
    // Its own process group: the simulator outlives `hearth lab up` and ignores the terminal's
    // signals, as the proxies do.
    cmd.env("HEARTH_PVE_SIM_TOKEN", token).stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
    let mut child = cmd.spawn().map_err(|e| process::spawn_error(&cmd, e))?;
    let what = format!("the Proxmox simulator of node `{node}` did not listen");
    let url = process::await_ready(
        &mut child,
        &cmd,
        &log,
        &what,
        (Duration::from_secs(20), Duration::from_millis(50)),
        || {
            let printed = std::fs::read_to_string(&url_file).unwrap_or_default();
            printed.lines().next().filter(|l| l.starts_with("http")).map(|l| l.trim().to_string())
        },
    )?;
    Ok(SimulatorState {
        node: node.to_string(),
        host: host.to_string(),
        pid: child.id(),
        url,
        state: state_file,
        log: state::absolute(&log),
    })
}

/// Whether the process with the recorded id is still this lab's simulator (its command line
/// names its state file), so a recycled process id is never signalled.
pub fn running(s: &SimulatorState) -> bool {
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", s.pid)).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline);
    cmdline.contains(&*s.state.to_string_lossy())
}

/// Stops a simulator this lab started, and waits (up to 5 s) until it is gone so that no task
/// of it starts a guest container after `down` removed the lab's containers.
pub fn stop(s: &SimulatorState) -> Result<(), Error> {
    if !running(s) {
        return Ok(());
    }
    process::run(Command::new("kill").arg(s.pid.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while running(s) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// One simulator as `lab status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SimulatorStatus {
    pub node: String,
    pub host: String,
    pub url: String,
    pub pid: u32,
    pub running: bool,
}

/// The simulators of the lab in `dir`.
pub fn simulators(dir: &Path) -> Result<Vec<SimulatorStatus>, Error> {
    let lab = LabState::load(&Paths::new(dir))?;
    Ok(lab
        .simulators
        .iter()
        .map(|s| SimulatorStatus {
            node: s.node.clone(),
            host: s.host.clone(),
            url: s.url.clone(),
            pid: s.pid,
            running: running(s),
        })
        .collect())
}
