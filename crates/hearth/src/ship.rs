//! The `hearth` binary the watcher's unit runs (`monitoring.watcher`): `apply` ships the
//! controller's own executable to the watcher's machine, since a render is the same bytes on
//! every controller and cannot hold a build of Hearth. It goes to
//! `hearth_render::watcher::BINARY` by rename, only when its SHA-256 differs from what is there,
//! and only to a machine of the controller's architecture (a binary of another one would never
//! start). It is not part of a generation: a rollback keeps the newer binary, which reads the
//! configurations of older generations too.

use std::collections::BTreeSet;

use anyhow::{Context as _, bail};
use hearth_deploy::Machine;
use hearth_deploy::ssh::Connection;
use hearth_render::watcher::BINARY;
use sha2::{Digest as _, Sha256};

use crate::targets::Targets;

/// The binary for the watcher's machine, and whether it must be uploaded.
pub struct Binary {
    pub machine: Machine,
    pub upload: bool,
    bytes: Vec<u8>,
}

/// Root runs `script` directly, any other user through `sudo -n` (as deploy does).
fn as_root(script: &str) -> String {
    format!(
        "if [ \"$(id -u)\" = 0 ]; then set --; else set -- sudo -n; fi; exec \"$@\" sh -c {}",
        hearth_render::sh_quote(script)
    )
}

/// Whether `uname -m` of a machine names the architecture this binary was built for.
fn same_architecture(uname: &str) -> bool {
    let ours = std::env::consts::ARCH;
    uname == ours || matches!((ours, uname), ("aarch64", "arm64") | ("x86", "i686" | "i586" | "i386"))
}

/// Looks at the watcher's machine when `apply` deploys to it: refuses another architecture, and
/// says whether the binary there differs from this one.
pub async fn inspect(targets: &Targets, creating: &BTreeSet<String>) -> anyhow::Result<Option<Binary>> {
    let Some(w) = &targets.model.monitoring.watcher else { return Ok(None) };
    let Some(machine) = targets.machines.iter().find(|m| m.name == w.machine && !creating.contains(&m.name)) else {
        return Ok(None);
    };
    let exe = std::env::current_exe().context("cannot find the running `hearth` binary")?;
    let bytes = std::fs::read(&exe).with_context(|| format!("cannot read `{}`", exe.display()))?;
    let ours = format!("{:x}", Sha256::digest(&bytes));
    let conn = Connection::open(machine, &targets.ssh).await?;
    let out = conn.run(&format!("uname -m; sha256sum {BINARY} 2>/dev/null || true"), b"").await;
    conn.close().await;
    let out = out?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let arch = lines.next().unwrap_or("").trim().to_string();
    if !same_architecture(&arch) {
        bail!(
            "`{}` is `{arch}` and this `hearth` is built for `{}`: the watcher's unit could not run it; apply from a controller of the same architecture, or move `monitoring.watcher`",
            machine.name,
            std::env::consts::ARCH
        );
    }
    let theirs = lines.next().and_then(|l| l.split_whitespace().next()).unwrap_or("");
    Ok(Some(Binary { machine: machine.clone(), upload: theirs != ours, bytes }))
}

/// Puts the binary in place by rename, so a running watcher keeps the file it started from.
pub async fn upload(targets: &Targets, b: &Binary) -> anyhow::Result<()> {
    let dir = BINARY.rsplit_once('/').map_or("/", |(d, _)| d);
    let script = format!(
        "set -e; umask 022; mkdir -p {dir}; cat > {BINARY}.new; chmod 0755 {BINARY}.new; mv -f {BINARY}.new {BINARY}"
    );
    let conn = Connection::open(&b.machine, &targets.ssh).await?;
    let out = conn.run(&as_root(&script), &b.bytes).await;
    conn.close().await;
    let out = out?;
    if !out.status.success() {
        bail!(
            "cannot put the `hearth` binary on `{}`: {}",
            b.machine.name,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Restarts the watcher if it runs, so it runs the binary just uploaded (a changed unit or
/// configuration already restarted it; once more does no harm).
pub async fn restart(targets: &Targets, b: &Binary) -> anyhow::Result<()> {
    let conn = Connection::open(&b.machine, &targets.ssh).await?;
    let unit = format!("{}.service", hearth_model::model::Watcher::UNIT);
    let out = conn.run(&as_root(&format!("systemctl try-restart {unit}")), b"").await;
    conn.close().await;
    let out = out?;
    if !out.status.success() {
        bail!("cannot restart `{unit}` on `{}`: {}", b.machine.name, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn architectures_match_by_their_uname_names() {
        let check = |uname: &str, expected: bool| assert_eq!(super::same_architecture(uname), expected, "{uname}");
        check(std::env::consts::ARCH, true);
        check("sparc64", false);
        check("", false);
    }
}
