//! Kernel limits a lab must fit in, checked before any machine starts.
//!
//! systemd takes several inotify instances in each machine, all charged to root on this machine
//! (containers run without user namespaces). When the per-user limit runs out, systemd exits
//! with status 255 as the machine boots; the lab says so up front instead.

use std::path::Path;

use crate::error::Error;

/// The inotify instances one lab machine is expected to take (about 7 were measured with
/// systemd, sshd and dbus; Docker machines take more).
pub const INSTANCES_PER_MACHINE: usize = 12;

const LIMIT: &str = "/proc/sys/fs/inotify/max_user_instances";

/// Fails when `machines` more machines would not fit in the inotify instances left.
pub fn check(machines: usize) -> Result<(), Error> {
    let limit = std::fs::read_to_string(LIMIT).map_err(Error::io(LIMIT))?;
    let limit: usize = limit
        .trim()
        .parse()
        .map_err(|_| Error::State { path: LIMIT.into(), message: format!("`{}` is not a number", limit.trim()) })?;
    let used = instances_in_use(Path::new("/proc"));
    let needed = machines * INSTANCES_PER_MACHINE;
    if used + needed > limit {
        return Err(Error::InotifyLimit { limit, used, machines, needed });
    }
    Ok(())
}

/// The inotify instances open on this machine: descriptors of every process that point at one.
fn instances_in_use(proc: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(proc) else { return 0 };
    let mut count = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // Processes that end or deny access while being read hold no instance of ours to count.
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == "anon_inode:inotify") {
                count += 1;
            }
        }
    }
    count
}
