//! The package proxy: lab machines have no route out, so apt reaches the Debian mirror through a
//! tinyproxy the lab runs on this machine, one per lab network, listening only on that network's
//! gateway address (the bridge's address on this machine) and admitting only its subnet.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::Error;
use crate::process;
use crate::state::{self, ProxyState};

/// The port proxies listen on (apt-cacher-ng's, so apt configuration reads familiar).
pub const PORT: u16 = 3142;

/// The apt configuration each machine gets, pointing at its network's proxy.
pub fn apt_config(gateway: Ipv4Addr) -> String {
    format!(
        "// Written by `hearth lab up`: lab machines reach packages only through the lab's proxy.\nAcquire::http::Proxy \"http://{gateway}:{PORT}\";\nAcquire::https::Proxy \"http://{gateway}:{PORT}\";\n"
    )
}

fn config(gateway: Ipv4Addr, subnet: &str) -> String {
    format!(
        "User nobody\nGroup nogroup\nListen {gateway}\nPort {PORT}\nAllow {subnet}\nTimeout 600\nMaxClients 64\nLogLevel Warning\nDisableViaHeader Yes\nConnectPort 443\n"
    )
}

/// Starts a proxy for one lab network and waits until it accepts connections.
pub fn start(dir: &Path, network: &str, gateway: Ipv4Addr, subnet: &str) -> Result<ProxyState, Error> {
    // The absolute path goes on the command line: `stop` recognises the process by it, and a
    // lab started from a relative spec path would otherwise leave its proxy running at `down`.
    let conf = state::absolute(&dir.join(format!("{network}.conf")));
    state::write(&conf, &config(gateway, subnet))?;
    let log = dir.join(format!("{network}.log"));
    let log_file = std::fs::File::create(&log).map_err(Error::io(&log))?;
    let err_file = log_file.try_clone().map_err(Error::io(&log))?;
    let mut cmd = Command::new("tinyproxy");
    cmd.arg("-d").arg("-c").arg(&conf);
    // Its own process group: the proxy outlives `hearth lab up` and ignores the terminal's signals.
    cmd.stdin(Stdio::null()).stdout(log_file).stderr(err_file).process_group(0);
    let mut child = cmd.spawn().map_err(|e| process::spawn_error(&cmd, e))?;
    let addr = SocketAddr::from((gateway, PORT));
    let what = format!("the proxy did not listen on {addr}");
    process::await_ready(&mut child, &cmd, &log, &what, (Duration::from_secs(10), Duration::from_millis(100)), || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok().then_some(())
    })?;
    Ok(ProxyState { pid: child.id(), listen: addr.to_string(), config: conf })
}

/// Stops a proxy this lab started: only when the process with that id still runs tinyproxy with
/// this lab's configuration, so a recycled process id is never signalled.
pub fn stop(proxy: &ProxyState) -> Result<(), Error> {
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", proxy.pid)).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline);
    if !cmdline.contains("tinyproxy") || !cmdline.contains(&*proxy.config.to_string_lossy()) {
        return Ok(());
    }
    process::run(Command::new("kill").arg(proxy.pid.to_string())).map(drop)
}
