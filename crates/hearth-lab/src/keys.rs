//! SSH keys made on the controller: the lab's own login key, and each machine's host key, so
//! `known_hosts` is written before any machine answers and no first contact is trusted blindly.

use std::path::Path;
use std::process::Command;

use crate::error::Error;
use crate::process;

/// Makes an ed25519 key pair at `path` (private key 0600) unless one is already there; returns
/// the public key line.
pub fn ensure(path: &Path, comment: &str) -> Result<String, Error> {
    let public = path.with_extension("pub");
    if !path.exists() || !public.exists() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        for p in [path, public.as_path()] {
            if p.exists() {
                std::fs::remove_file(p).map_err(Error::io(p))?;
            }
        }
        process::run(
            Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"]).arg(path),
        )?;
    }
    // ssh refuses a private key others can read; ssh-keygen writes 0600, this keeps it so.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(Error::io(path))?;
    std::fs::read_to_string(&public).map(|s| s.trim().to_string()).map_err(Error::io(&public))
}
