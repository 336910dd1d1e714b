//! Running the external programs the lab drives (`docker`, `ssh-keygen`, `debootstrap`, `tar`).
//!
//! Every failure carries the command line and its standard error, so the operator sees what the
//! lab tried and what the program answered.

use std::process::{Command, Output, Stdio};

use crate::error::Error;

/// Runs a command to completion and returns its standard output; a non-zero exit is an error.
pub fn run(cmd: &mut Command) -> Result<String, Error> {
    let out = output(cmd)?;
    if !out.status.success() {
        return Err(failed(cmd, &out));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command to completion and returns its output, whatever its exit status.
pub fn output(cmd: &mut Command) -> Result<Output, Error> {
    cmd.stdin(Stdio::null());
    cmd.output().map_err(|source| spawn_error(cmd, source))
}

/// Runs `docker ARGS…` and returns its standard output.
pub fn docker<I, S>(args: I) -> Result<String, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    run(Command::new("docker").args(args))
}

/// Runs `from | to` (`tar -c | docker import -`, `docker save | docker exec -i M docker load`);
/// either side failing is an error.
pub fn pipe(from: &mut Command, to: &mut Command) -> Result<(), Error> {
    from.stdout(Stdio::piped()).stdin(Stdio::null());
    let mut source = from.spawn().map_err(|e| spawn_error(from, e))?;
    let Some(stdout) = source.stdout.take() else {
        return Err(Error::Command { command: line(from), stderr: "no standard output".to_string() });
    };
    to.stdin(stdout);
    let out = to.output().map_err(|e| spawn_error(to, e))?;
    let status = source.wait().map_err(|e| spawn_error(from, e))?;
    if !out.status.success() {
        return Err(failed(to, &out));
    }
    if !status.success() {
        return Err(Error::Command { command: line(from), stderr: format!("exit status {status}") });
    }
    Ok(())
}

/// The error for a command that exited unsuccessfully.
pub fn failed(cmd: &Command, out: &Output) -> Error {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr = stderr.trim();
    let stderr = if stderr.is_empty() { format!("exit status {}", out.status) } else { tail(stderr) };
    Error::Command { command: line(cmd), stderr }
}

/// The error for a command that could not start: a missing program is named with its package.
pub fn spawn_error(cmd: &Command, source: std::io::Error) -> Error {
    let program = cmd.get_program().to_string_lossy().into_owned();
    if source.kind() == std::io::ErrorKind::NotFound {
        let hint = match program.as_str() {
            "docker" => "the lab runs on the local Docker engine",
            "debootstrap" | "tinyproxy" => "run `scripts/lab-deps.sh` (or `apt-get install debootstrap tinyproxy`)",
            "ssh" | "ssh-keygen" => "install `openssh-client`",
            "iptables" => "install `iptables` (the lab routes between its networks with it)",
            _ => "install it and retry",
        };
        return Error::Missing { program, hint: hint.to_string() };
    }
    Error::Spawn { program, source }
}

/// A command line as the operator would type it.
pub fn line(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last lines of a long error output: the cause is at the end.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(8);
    lines[start..].join("\n")
}

/// Waits until `ready` answers for a daemon `cmd` just spawned as `child`, checking every
/// `every` until `within` has passed. When the daemon exits first or never gets ready, it is
/// ended (it may already have exited) and the error names `what` with the daemon's `log`.
pub fn await_ready<T>(
    child: &mut std::process::Child,
    cmd: &Command,
    log: &std::path::Path,
    what: &str,
    (within, every): (std::time::Duration, std::time::Duration),
    mut ready: impl FnMut() -> Option<T>,
) -> Result<T, Error> {
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(value) = ready() {
            return Ok(value);
        }
        let exited = child.try_wait().map_err(|e| spawn_error(cmd, e))?;
        if exited.is_some() || std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let detail = std::fs::read_to_string(log).unwrap_or_default();
            return Err(Error::Command { command: line(cmd), stderr: format!("{what}: {}", detail.trim()) });
        }
        std::thread::sleep(every);
    }
}
