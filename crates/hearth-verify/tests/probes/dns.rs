//! `probe::dns` against a real unbound on a loopback port, over TCP: A and AAAA answers, a name
//! with no record of the asked type, and NXDOMAIN.

use std::net::IpAddr;
use std::process::Command;

use hearth_verify::probe::ProbeError;
use hearth_verify::probe::dns::{Family, resolve};

use super::common::{self, Server, TIMEOUT, TempDir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbound_answers_over_tcp() {
    let Some(unbound) = common::program("unbound", &["/usr/sbin/unbound"]) else { return };
    let dir = TempDir::new("unbound");
    let port = common::free_port();
    let config = format!(
        "server:\n\
         \x20 interface: 127.0.0.1\n  port: {port}\n  do-daemonize: no\n  chroot: \"\"\n  username: \"\"\n\
         \x20 directory: \"{dir}\"\n  pidfile: \"{dir}/pid\"\n  use-syslog: no\n  logfile: \"\"\n\
         \x20 do-ip6: no\n  access-control: 127.0.0.0/8 allow\n\
         \x20 local-zone: \"lab.test.\" static\n\
         \x20 local-data: \"app.lab.test. A 192.0.2.10\"\n\
         \x20 local-data: \"app.lab.test. AAAA 2001:db8::10\"\n\
         \x20 local-data: \"v4only.lab.test. A 192.0.2.11\"\n",
        dir = dir.path().display()
    );
    let conf = dir.path().join("unbound.conf");
    std::fs::write(&conf, config).unwrap();
    let mut command = Command::new(unbound);
    command.arg("-d").arg("-c").arg(&conf);
    let mut server = Server::start("unbound", command, dir.path().join("log"));
    server.wait_for(port);
    let addr = common::loopback(port);

    let v4 = resolve(addr, "app.lab.test", Family::V4, TIMEOUT).await.unwrap();
    assert_eq!(v4, vec!["192.0.2.10".parse::<IpAddr>().unwrap()]);
    let v6 = resolve(addr, "app.lab.test.", Family::V6, TIMEOUT).await.unwrap();
    assert_eq!(v6, vec!["2001:db8::10".parse::<IpAddr>().unwrap()]);
    assert_eq!(resolve(addr, "v4only.lab.test", Family::V6, TIMEOUT).await.unwrap(), Vec::<IpAddr>::new());

    let missing = resolve(addr, "nope.lab.test", Family::V4, TIMEOUT).await.unwrap_err();
    assert!(matches!(missing, ProbeError::Missing { ref name, .. } if name == "nope.lab.test"), "{missing}");
    assert!(missing.to_string().contains("NXDOMAIN"), "{missing}");
    drop(server);
}
