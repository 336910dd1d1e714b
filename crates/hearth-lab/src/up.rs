//! `hearth lab up`: networks, proxies, keys and one booted Debian container per machine; with a
//! simulator program, one Proxmox API simulator per node instead of the node's guests, which
//! `apply --lab` then creates through the API (`pve.rs`, `guest.rs`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::down::teardown;
use crate::error::Error;
use crate::image::{self, Image};
use crate::machines::{self, OfflineImage, Skipped};
use crate::parallel::each;
use crate::process::{self, docker};
use crate::state::{self, LABEL, LabState, MachineState, NetworkState, Paths};
use crate::{LabInput, keys, limits, placement, proxy, routing};

/// How `up` runs.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// The Debian mirror the image is built from and lab machines' apt reaches through the proxy.
    pub mirror: String,
    /// How long each machine may take to boot and answer SSH.
    pub ready_timeout: Duration,
    /// Machines started at once.
    pub jobs: usize,
    /// How to start a Proxmox node's API simulator. With it, a Proxmox host's guests are not
    /// started by `up`: the node's simulator makes each one when `apply --lab` starts it through
    /// the API. Without it, `up` starts every guest itself and lists the API as skipped.
    pub simulator: Option<crate::pve::Simulator>,
}

impl Default for UpOptions {
    fn default() -> Self {
        UpOptions {
            mirror: image::DEFAULT_MIRROR.to_string(),
            ready_timeout: Duration::from_secs(120),
            jobs: 8,
            simulator: None,
        }
    }
}

/// What `up` did, for the CLI to print.
#[derive(Debug, Clone, Serialize)]
pub struct UpReport {
    pub image: String,
    /// Whether this run built the image (a cold start).
    pub image_built: bool,
    pub machines: Vec<crate::MachineStatus>,
    /// The Proxmox API simulators started, one per node with guests.
    pub simulators: Vec<crate::SimulatorStatus>,
    pub skipped: Vec<Skipped>,
    /// Docker services whose image the machine's engine does not have ("image not available
    /// offline"); `load_image` puts a locally built image there.
    pub offline_images: Vec<OfflineImage>,
    pub ssh_config: PathBuf,
}

/// Brings the lab up from scratch: anything a previous `up` left is taken down first, so the
/// lab always matches the spec.
pub fn up(input: &LabInput, dir: &Path, options: &UpOptions) -> Result<UpReport, Error> {
    let paths = Paths::new(dir);
    let id = state::lab_id(dir);
    teardown(dir)?;

    let Image { tag, built } = image::ensure(&options.mirror)?;
    let mut machines = machines::machines(&input.model, &input.files);
    if options.simulator.is_none() {
        for m in &mut machines {
            m.proxmox = None;
        }
    }
    limits::check(machines.len())?;
    let subnets = input.map.networks.iter().map(|(name, s)| (name.clone(), s.lab)).collect();
    let gateways = input
        .model
        .networks
        .iter()
        .filter_map(|(name, n)| match n.gateway {
            Some(IpAddr::V4(g)) => Some((name.clone(), g)),
            _ => None,
        })
        .collect();
    let placed = placement::place(&subnets, &gateways, &machines)?;

    let mut lab = LabState {
        id: id.clone(),
        homelab: input.model.homelab.clone(),
        image: tag.clone(),
        admin: input.model.admin.user.clone(),
        map: input.map.clone(),
        networks: BTreeMap::new(),
        machines: BTreeMap::new(),
        proxies: Vec::new(),
        simulators: Vec::new(),
    };
    for (name, (net, gateway)) in &placed.networks {
        let docker_name = format!("hearth-{id}-{name}");
        docker([
            "network",
            "create",
            "--internal",
            "--subnet",
            &net.to_string(),
            "--gateway",
            &gateway.to_string(),
            "--label",
            &format!("{LABEL}={id}"),
            &docker_name,
        ])?;
        lab.networks.insert(name.clone(), NetworkState { docker_name, subnet: net.to_string(), gateway: *gateway });
    }
    for (m, (net, address)) in machines.iter().zip(&placed.machines) {
        lab.machines.insert(
            m.name.clone(),
            MachineState {
                container: format!("hearth-{id}-{}", m.name),
                network: net.clone(),
                address: *address,
                docker: m.docker,
                // Re-addressed spec addresses are IPv4 inside the lab subnets already.
                interfaces: m
                    .interfaces
                    .iter()
                    .filter_map(|(net, a)| match a {
                        std::net::IpAddr::V4(v4) if placed.networks.contains_key(net) => Some((net.clone(), *v4)),
                        _ => None,
                    })
                    .collect(),
                proxmox: m.proxmox.clone(),
            },
        );
    }
    let subnets: Vec<String> = lab.networks.values().map(|n| n.subnet.clone()).collect();
    // Saved before anything else starts, so `down` finds the proxies of a run that fails later.
    lab.save(&paths)?;
    routing::open(&id, &subnets)?;
    let networks: Vec<(String, std::net::Ipv4Addr)> =
        lab.networks.values().map(|n| (n.subnet.clone(), n.gateway)).collect();
    let placed_on: Vec<(String, String, std::net::Ipv4Addr)> = lab
        .machines
        .iter()
        .filter_map(|(name, m)| Some((name.clone(), lab.networks.get(&m.network)?.subnet.clone(), m.address)))
        .collect();
    routing::ssh_from(&id, &routing::ssh_sources(&input.model.firewall, &networks, &placed_on))?;
    for (name, net) in &lab.networks {
        let started = proxy::start(&paths.proxy_dir(), name, net.gateway, &net.subnet)?;
        lab.proxies.push(started);
        lab.save(&paths)?;
    }

    let key = keys::ensure(&paths.key(), &format!("hearth-lab-{id}"))?;
    let mut host_keys = BTreeMap::new();
    for name in lab.machines.keys() {
        host_keys.insert(name.clone(), keys::ensure(&paths.host_key(name), &format!("{name}@hearth-lab"))?);
    }
    state::write(&paths.known_hosts(), &state::known_hosts(&lab, &host_keys))?;
    state::write(&paths.ssh_config(), &state::ssh_config(&paths, &lab))?;

    // A Proxmox guest waits for its node's simulator to start it.
    let jobs: Vec<(&String, &MachineState)> = lab.machines.iter().filter(|(_, m)| m.proxmox.is_none()).collect();
    let results = each(&jobs, options.jobs, |(name, m)| {
        start_machine(&paths, &lab, name, m, &key, input.hostname(name), None)?;
        wait_ready(&paths, name, options.ready_timeout)
    });
    for r in results {
        r?;
    }
    if let Some(simulator) = &options.simulator {
        lab.simulators = crate::pve::start_all(&paths, &lab, simulator, &guest_storages(&input.model))?;
        lab.save(&paths)?;
    }

    let statuses = crate::ops::status(dir)?;
    let offline = crate::ops::missing_images(&lab, &machines::service_images(&input.model, &machines))?;
    let mut skipped = machines::skipped(&input.model);
    if options.simulator.is_some() {
        skipped.retain(|s| !machines::is_proxmox_api(s));
    }
    Ok(UpReport {
        image: tag,
        image_built: built,
        machines: statuses,
        simulators: crate::pve::simulators(dir)?,
        skipped,
        offline_images: offline,
        ssh_config: state::absolute(&paths.ssh_config()),
    })
}

/// The storages each node's guests put their disks on beyond a simulator's defaults (`local`,
/// `local-lvm`), by node.
fn guest_storages(model: &hearth_model::Model) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for g in model.guests.values() {
        let Some(storage) = g.storage.as_ref().filter(|s| !matches!(s.as_str(), "local" | "local-lvm")) else {
            continue;
        };
        let node = model.hosts.get(&g.host).and_then(|h| h.node.clone()).unwrap_or_else(|| g.host.clone());
        let list = out.entry(node).or_default();
        if !list.contains(storage) {
            list.push(storage.clone());
        }
    }
    out
}

/// Creates, provisions and starts one machine's container; a Proxmox guest's with the limits
/// its node's API gives it.
pub(crate) fn start_machine(
    paths: &Paths,
    lab: &LabState,
    name: &str,
    m: &MachineState,
    key: &str,
    hostname: &str,
    limits: Option<crate::guest::Limits>,
) -> Result<(), Error> {
    let net = &lab.networks[&m.network];
    let label = format!("{LABEL}={}", lab.id);
    let mut args: Vec<String> = [
        "create",
        "--name",
        &m.container,
        "--hostname",
        hostname,
        "--label",
        &label,
        "--label",
        &format!("{LABEL}.machine={name}"),
        "--cap-add",
        "SYS_ADMIN",
        "--cap-add",
        "NET_ADMIN",
        "--security-opt",
        "seccomp=unconfined",
        "--security-opt",
        "apparmor=unconfined",
        "-v",
        "/sys/fs/cgroup:/sys/fs/cgroup:ro",
        "--tmpfs",
        "/run",
        "--tmpfs",
        "/run/lock",
        "--tmpfs",
        "/tmp",
        "-e",
        "container=docker",
        "--network",
        &net.docker_name,
        "--ip",
        &m.address.to_string(),
        // Machines find each other by name through Docker's resolver, as on a LAN with DNS.
        "--network-alias",
        name,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if m.docker {
        // The inner engine's images live in a volume of the lab's own (vfs copies every layer;
        // a volume keeps that off the container's overlay).
        let volume = format!("{}-docker", m.container);
        docker(["volume", "create", "--label", &label, &volume])?;
        args.extend(["--mount".to_string(), format!("type=volume,src={volume},dst=/var/lib/docker")]);
    }
    if let Some(limits) = limits {
        args.extend(limits.args());
    }
    // A simulated node's host keeps its snippets where the node's simulator reads them.
    if let Some(s) = lab.machines.values().filter_map(|g| g.proxmox.as_ref()).find(|p| p.host == name) {
        let dir = state::absolute(&paths.snippets(&s.node));
        std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        args.extend(["-v".to_string(), format!("{}:/var/lib/vz/snippets", dir.display())]);
    }
    args.extend([lab.image.clone(), "/lib/systemd/systemd".to_string()]);
    docker(&args)?;

    let stage = paths.dir.join("machines").join(name);
    if stage.exists() {
        std::fs::remove_dir_all(&stage).map_err(Error::io(&stage))?;
    }
    let host_key = std::fs::read_to_string(paths.host_key(name)).map_err(Error::io(paths.host_key(name)))?;
    let host_pub = paths.host_key(name).with_extension("pub");
    let host_pub = std::fs::read_to_string(&host_pub).map_err(Error::io(&host_pub))?;
    stage_file(&stage, "etc/ssh/ssh_host_ed25519_key", &host_key, 0o600)?;
    stage_file(&stage, "etc/ssh/ssh_host_ed25519_key.pub", &host_pub, 0o644)?;
    stage_file(
        &stage,
        "etc/ssh/sshd_config.d/hearth-lab.conf",
        "# Written by `hearth lab up`.\nHostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\n",
        0o644,
    )?;
    // The lab's containers cannot create user namespaces, so a packaged unit asking for one
    // (redis-server's `PrivateUsers=true`) would fail at its USER step: every service runs
    // without, through a drop-in for all services.
    stage_file(
        &stage,
        "etc/systemd/system/service.d/hearth-lab.conf",
        "# Written by `hearth lab up`: lab containers cannot create user namespaces.\n[Service]\nPrivateUsers=no\n",
        0o644,
    )?;
    stage_file(&stage, "etc/apt/apt.conf.d/80hearth-lab-proxy", &proxy::apt_config(net.gateway), 0o644)?;
    stage_file(&stage, "etc/sudoers.d/hearth-lab", &format!("{} ALL=(ALL) NOPASSWD:ALL\n", lab.admin), 0o440)?;
    docker(["cp".to_string(), format!("{}/.", stage.display()), format!("{}:/", m.container)])?;
    // A machine on several networks: Docker attaches the container to each further lab network
    // at its fixed address before it boots, as the machine's NICs would be.
    for (network, address) in &m.interfaces {
        let docker_name = &lab.networks[network].docker_name;
        docker(["network", "connect", "--ip", &address.to_string(), "--alias", name, docker_name, &m.container])?;
    }
    docker(["start", &m.container])?;

    let mut script = String::from(SETUP);
    if m.docker {
        script.push_str("systemctl enable --now containerd.service docker.service >/dev/null 2>&1\n");
    }
    docker(["exec", &m.container, "sh", "-c", &script, "sh", &lab.admin, key])?;
    Ok(())
}

/// Run in each machine once systemd is up: the admin account with the lab's key.
const SETUP: &str = r#"set -e
for i in $(seq 300); do
  s=$(systemctl is-system-running 2>/dev/null) || true
  case "$s" in running|degraded) break ;; esac
  sleep 0.2
done
id -u "$1" >/dev/null 2>&1 || useradd -m -s /bin/bash -G sudo "$1"
install -d -m 700 -o "$1" -g "$1" "/home/$1/.ssh"
printf '%s\n' "$2" > "/home/$1/.ssh/authorized_keys"
chown "$1:$1" "/home/$1/.ssh/authorized_keys"
chmod 600 "/home/$1/.ssh/authorized_keys"
"#;

fn stage_file(stage: &Path, rel: &str, content: &str, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let path = stage.join(rel);
    state::write(&path, content)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(Error::io(&path))
}

/// Waits until the machine answers SSH through the generated `ssh_config`, which checks the key,
/// the host key and the config in one go.
pub(crate) fn wait_ready(paths: &Paths, name: &str, timeout: Duration) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    loop {
        let out = process::output(Command::new("ssh").arg("-F").arg(paths.ssh_config()).args([
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=2",
            name,
            "true",
        ]))?;
        if out.status.success() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::NotReady {
                machine: name.to_string(),
                reason: format!("no SSH answer: {}", String::from_utf8_lossy(&out.stderr).trim()),
            });
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}
