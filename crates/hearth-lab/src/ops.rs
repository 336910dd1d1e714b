//! The commands on a running lab: `status`, `exec`, `ssh`, and putting images into machines.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::error::Error;
use crate::machines::OfflineImage;
use crate::process;
use crate::state::{LabState, Paths};

/// One machine as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MachineStatus {
    pub name: String,
    pub container: String,
    pub network: String,
    pub address: String,
    /// Docker's container state (`running`, `exited`, ...), `missing`, or for a Proxmox guest
    /// `not created (…)` until its node's simulator starts it.
    pub state: String,
    pub docker: bool,
}

/// Every machine of the lab in `dir`, sorted by name.
pub fn status(dir: &Path) -> Result<Vec<MachineStatus>, Error> {
    let lab = LabState::load(&Paths::new(dir))?;
    let mut out = Vec::new();
    for (name, m) in &lab.machines {
        let inspect = process::output(Command::new("docker").args([
            "container",
            "inspect",
            "--format",
            "{{.State.Status}}",
            &m.container,
        ]))?;
        let state = if inspect.status.success() {
            String::from_utf8_lossy(&inspect.stdout).trim().to_string()
        } else if let Some(p) = &m.proxmox {
            // Made by the node's simulator when `apply --lab` starts the guest.
            format!("not created (guest {} of node {})", p.vmid, p.node)
        } else {
            "missing".to_string()
        };
        out.push(MachineStatus {
            name: name.clone(),
            container: m.container.clone(),
            network: m.network.clone(),
            address: m.address.to_string(),
            state,
            docker: m.docker,
        });
    }
    Ok(out)
}

/// Runs `argv` on a machine as root (through `docker exec`, so it works whatever the machine's
/// firewall and sshd say) with this process's standard streams; returns its exit status.
pub fn exec(dir: &Path, machine: &str, argv: &[String]) -> Result<i32, Error> {
    let lab = LabState::load(&Paths::new(dir))?;
    let m = lab.machine(machine)?;
    let mut cmd = Command::new("docker");
    cmd.arg("exec").arg("-i");
    // A terminal gets a terminal, so interactive programs (a shell, an editor) work.
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        cmd.arg("-t");
    }
    cmd.arg(&m.container).args(argv);
    cmd.stdin(Stdio::inherit()).stdout(Stdio::inherit()).stderr(Stdio::inherit());
    let status = cmd.status().map_err(|e| process::spawn_error(&cmd, e))?;
    // A command killed by a signal has no exit code; shells report 128 + signal, so does this.
    Ok(status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + status.signal().unwrap_or(0)
    }))
}

/// The command that opens an SSH session on a machine through the lab's `ssh_config`, as the
/// admin user with the lab's key; `extra` is passed to ssh after the host (a remote command).
pub fn ssh_command(dir: &Path, machine: &str, extra: &[String]) -> Result<Command, Error> {
    let paths = Paths::new(dir);
    let lab = LabState::load(&paths)?;
    lab.machine(machine)?;
    let mut cmd = Command::new("ssh");
    cmd.arg("-F").arg(paths.ssh_config()).arg(machine).args(extra);
    Ok(cmd)
}

/// Runs [`ssh_command`] with this process's standard streams; returns ssh's exit status.
pub fn ssh(dir: &Path, machine: &str, extra: &[String]) -> Result<i32, Error> {
    let mut cmd = ssh_command(dir, machine, extra)?;
    let status = cmd.status().map_err(|e| process::spawn_error(&cmd, e))?;
    Ok(status.code().unwrap_or(255))
}

/// Copies an image from this machine's Docker engine into a lab machine's engine
/// (`docker save | docker exec -i M docker load`): lab machines cannot pull.
pub fn load_image(dir: &Path, machine: &str, image: &str) -> Result<(), Error> {
    let lab = LabState::load(&Paths::new(dir))?;
    let m = lab.machine(machine)?;
    let present = process::output(Command::new("docker").args(["image", "inspect", "--format", "{{.Id}}", image]))?;
    if !present.status.success() {
        return Err(Error::NoSuchImage { image: image.to_string(), machine: machine.to_string() });
    }
    let mut save = Command::new("docker");
    save.args(["save", image]);
    let mut load = Command::new("docker");
    load.args(["exec", "-i", &m.container, "docker", "load", "-q"]);
    process::pipe(&mut save, &mut load)
}

/// The Docker services of the lab in `dir` whose image their machine's engine lacks, each to be
/// reported as "image not available offline"; call again after [`load_image`].
pub fn offline_images(dir: &Path, input: &crate::LabInput) -> Result<Vec<OfflineImage>, Error> {
    let lab = LabState::load(&Paths::new(dir))?;
    let machines = crate::machines::machines(&input.model, &input.files);
    missing_images(&lab, &crate::machines::service_images(&input.model, &machines))
}

/// What the lab in `dir` can start of each stack with the images its machines have, and the
/// services it leaves out with why.
pub fn stack_starts(
    dir: &Path,
    input: &crate::LabInput,
) -> Result<(Vec<crate::StackStart>, Vec<crate::NotStarted>), Error> {
    Ok(crate::offline::startable(&input.model, &offline_images(dir, input)?))
}

/// What the lab changed in the files it deploys: the files it left out and the services it
/// does not start, each with why.
#[derive(Debug, Default)]
pub struct Fitted {
    pub skipped: Vec<crate::SkippedFile>,
    pub not_started: Vec<crate::NotStarted>,
}

/// Fits the rendered `files` to the lab in `dir`: leaves out what belongs to what the lab skips
/// (pools, the Proxmox API, NixOS, [`crate::skipped_files`]), the packages it cannot install and
/// what serves only their services ([`crate::limit_to_debian`]), and limits each stack to the
/// containers whose images the machines have ([`crate::limit_files`]). Deploy and verify both
/// see the lab through this one function.
pub fn fit(dir: &Path, input: &crate::LabInput, files: &mut Vec<hearth_render::File>) -> Result<Fitted, Error> {
    let mut skipped = crate::skipped_files(&input.model, files);
    let gone: std::collections::BTreeSet<(String, String)> =
        skipped.iter().map(|s| (s.machine.clone(), s.path.clone())).collect();
    files.retain(|f| !gone.contains(&(f.machine.clone(), f.path.clone())));
    let plan = crate::limit_to_debian(&input.model, hearth_catalog::builtin(), files);
    skipped.extend(plan.left_out);
    let mut not_started = plan.not_started;
    let (starts, stopped) = stack_starts(dir, input)?;
    skipped.extend(crate::limit_files(&input.model, &starts, files));
    not_started.extend(stopped);
    files.extend(credential_drop_ins(files));
    Ok(Fitted { skipped, not_started })
}

/// The lab's containers cannot hand systemd credentials to a service: systemd leaves
/// `/run/credentials/UNIT` empty there (checked with a bare `systemd-run -p LoadCredential=…`), so
/// a unit with `LoadCredential=` could never read its secrets. In the lab such a unit reads them
/// where they were deployed instead, as root (the files are root's, mode 0600), through a drop-in;
/// on real machines the unit is deployed as rendered. Run as root, SQLite hands its journal files
/// to the database's owner with `fchown`, which a unit's `~@privileged` filter forbids: the
/// drop-in allows `@chown` back. Only when every credential is a file of one folder named as the
/// credential, which is how Hearth renders them.
fn credential_drop_ins(files: &[hearth_render::File]) -> Vec<hearth_render::File> {
    files
        .iter()
        .filter(|f| f.kind == hearth_render::Kind::SystemdUnit)
        .filter_map(|f| {
            let unit = f.path.rsplit('/').next()?;
            let mut folders = std::collections::BTreeSet::new();
            for l in f.content.lines() {
                let Some((name, source)) = l.strip_prefix("LoadCredential=").and_then(|c| c.split_once(':')) else {
                    continue;
                };
                let (folder, file) = source.rsplit_once('/')?;
                if file != name {
                    return None;
                }
                folders.insert(folder.to_string());
            }
            let [folder] = Vec::from_iter(folders).try_into().ok()?;
            let text = format!(
                "# Written by the lab: its containers cannot pass systemd credentials.\n[Service]\nLoadCredential=\nDynamicUser=no\nEnvironment=CREDENTIALS_DIRECTORY={folder}\nSystemCallFilter=@chown\n"
            );
            Some(
                hearth_render::File::new(
                    &f.machine,
                    format!("/etc/systemd/system/{unit}.d/hearth-lab-credentials.conf"),
                    hearth_render::Kind::SystemdUnit,
                    text,
                )
                .activate(hearth_render::Activation::Restart { unit: unit.to_string() }),
            )
        })
        .collect()
}

/// Every service the lab in `dir` leaves out, with why (see [`fit`]).
pub fn not_in_lab(dir: &Path, input: &crate::LabInput) -> Result<Vec<crate::NotStarted>, Error> {
    Ok(fit(dir, input, &mut input.files.clone())?.not_started)
}

/// The service images missing from their machines' engines.
pub(crate) fn missing_images(lab: &LabState, wanted: &[OfflineImage]) -> Result<Vec<OfflineImage>, Error> {
    let mut out = Vec::new();
    for w in wanted {
        let Ok(m) = lab.machine(&w.machine) else { continue };
        let inspect = process::output(Command::new("docker").args([
            "exec",
            &m.container,
            "docker",
            "image",
            "inspect",
            "--format",
            "{{.Id}}",
            &w.image,
        ]))?;
        if !inspect.status.success() {
            out.push(w.clone());
        }
    }
    Ok(out)
}

/// Runs a command on a machine and captures its output; for tests and deploy checks.
pub fn exec_output(dir: &Path, machine: &str, argv: &[&str]) -> Result<std::process::Output, Error> {
    let lab = LabState::load(&Paths::new(dir))?;
    let m = lab.machine(machine)?;
    process::output(Command::new("docker").arg("exec").arg(&m.container).args(argv))
}
