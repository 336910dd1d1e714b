//! Network namespaces for the firewall tests: one namespace per machine on a shared bridge,
//! listeners on the ports under test, and probes that report `ok`, `timeout` or `refused` per
//! target. Everything a test makes is removed when its `Lab` drops, also when an assertion fails.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Network namespaces, veth pairs and listener processes of one test run, all removed on drop
/// (also when an assertion fails).
pub struct Lab {
    pub prefix: String,
    pub namespaces: Vec<String>,
    pub children: Vec<Child>,
}

impl Lab {
    pub fn new() -> Lab {
        // Tests of one binary run in parallel in one process: each lab numbers its namespaces
        // apart, or two tests' `br` namespaces would collide.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Lab { prefix: format!("hearth-t-{}-{n}", std::process::id()), namespaces: Vec::new(), children: Vec::new() }
    }

    pub fn ns(&mut self, suffix: &str) -> String {
        let name = format!("{}-{suffix}", self.prefix);
        super::run_ok(Command::new("ip").args(["netns", "add", &name]), "ip netns add");
        self.namespaces.push(name.clone());
        super::run_ok(Command::new("ip").args(["-n", &name, "link", "set", "lo", "up"]), "lo up");
        name
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

pub fn ip(args: &[&str]) {
    super::run_ok(Command::new("ip").args(args), &format!("ip {}", args.join(" ")));
}

/// Whether namespaces can be made here: root and a working `ip netns`.
pub fn can_use_namespaces() -> bool {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let netns = Command::new("ip").args(["netns", "list"]).output().is_ok_and(|o| o.status.success());
    let tools = super::have("nft") && super::have("python3");
    if !(root && netns) {
        super::unavailable(&format!("the firewall test needs root and `ip netns` (root: {root}, ip netns: {netns})"));
    }
    root && netns && tools
}

pub const LISTENER: &str = r#"
import socket, sys, threading
def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    while True:
        c, _ = s.accept()
        c.close()
for p in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(p),), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"#;

/// Tries every `address:port` given; prints `address:port ok|refused|timeout` per target.
pub const PROBE: &str = r#"
import socket, sys, threading
res = {}
def probe(t):
    host, port = t.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        res[t] = "ok"
    except socket.timeout:
        res[t] = "timeout"
    except OSError as e:
        res[t] = "refused:%s" % e.errno
ts = [threading.Thread(target=probe, args=(t,)) for t in sys.argv[1:]]
[t.start() for t in ts]
[t.join() for t in ts]
for t in sys.argv[1:]:
    print(t, res[t])
"#;

/// Runs the probes of every source machine in parallel, each `(from, target)` with `target` an
/// `address:port`; returns `(from, target) -> outcome`.
pub fn probe_all(
    ns_of: &BTreeMap<String, String>,
    attempts: &[(String, String)],
) -> BTreeMap<(String, String), String> {
    let mut by_source: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, target) in attempts {
        by_source.entry(from).or_default().push(target);
    }
    let running: Vec<(&str, Child)> = by_source
        .iter()
        .map(|(from, targets)| {
            let child = Command::new("ip")
                .args(["netns", "exec", &ns_of[*from], "python3", "-c", PROBE])
                .args(targets)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("probe starts");
            (*from, child)
        })
        .collect();
    let mut out = BTreeMap::new();
    for (from, child) in running {
        let o = child.wait_with_output().expect("probe finishes");
        assert!(o.status.success(), "probe from {from}: {}", String::from_utf8_lossy(&o.stderr));
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            let (target, outcome) = line.split_once(' ').unwrap();
            out.insert((from.to_string(), target.to_string()), outcome.to_string());
        }
    }
    out
}

/// Starts listeners on `ports` in namespace `ns`, kept until the lab drops.
pub fn listen(lab: &mut Lab, ns: &str, ports: &[u16]) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "python3", "-c", LISTENER])
        .args(ports.iter().map(u16::to_string))
        .stdout(Stdio::piped())
        .spawn()
        .expect("listener starts");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    assert_eq!(line.trim(), "ready", "listener in {ns}");
    lab.children.push(child);
}
