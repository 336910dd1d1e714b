//! `DockerRuntime` on the real Docker engine: a started container guest becomes a labelled
//! container with the guest's hostname, CPU and memory limits and address; stop and destroy
//! follow; an appliance VM stays simulated only. The guest image is made here: the host's
//! `sleep` and the libraries `ldd` names, imported (nothing pulled). Skips without Docker unless
//! `HEARTH_REQUIRE_LAB=1`.

use std::process::{Command, Stdio};
use std::sync::Arc;

use hearth_pve_sim::DockerRuntime;

use crate::common::{Body, start_with_runtime};

fn docker(args: &[&str]) -> Option<String> {
    let out = Command::new("docker").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn skip(why: &str) {
    assert!(std::env::var_os("HEARTH_REQUIRE_LAB").is_none(), "{why}");
    eprintln!("skipping: {why}");
}

/// Removes what the test made, whatever happens.
struct Cleanup {
    prefix: String,
    network: Option<String>,
    image: Option<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for vmid in ["101", "150"] {
            let _ = docker(&["rm", "--force", &format!("{}{vmid}", self.prefix)]);
        }
        if let Some(n) = &self.network {
            let _ = docker(&["network", "rm", n]);
        }
        if let Some(i) = &self.image {
            let _ = docker(&["image", "rm", i]);
        }
    }
}

/// An image holding only the host's `sleep` and its libraries; returns the path of `sleep`.
fn import_sleep_image(tag: &str) -> Option<String> {
    let sleep = ["/usr/bin/sleep", "/bin/sleep"].into_iter().find(|p| std::path::Path::new(p).exists())?.to_string();
    let ldd = Command::new("ldd").arg(&sleep).output().ok()?;
    let mut files = vec![sleep.clone()];
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let path = line.split("=>").last().unwrap_or(line).split_whitespace().next().unwrap_or("");
        if path.starts_with('/') {
            files.push(path.to_string());
        }
    }
    let mut tar = Command::new("tar")
        .args(["--create", "--dereference", "--absolute-names", "--file", "-"])
        .args(&files)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let import = Command::new("docker")
        .args(["import", "--change", "LABEL hearth.pve-sim.test=1", "-", tag])
        .stdin(tar.stdout.take()?)
        .output()
        .ok()?;
    (tar.wait().ok()?.success() && import.status.success()).then_some(sleep)
}

#[tokio::test]
async fn a_started_guest_becomes_a_container() {
    if docker(&["version", "--format", "{{.Server.Version}}"]).is_none() {
        return skip("no Docker engine");
    }
    let id = std::process::id();
    let mut cleanup = Cleanup { prefix: format!("hearth-pve-test-{id}-"), network: None, image: None };
    let image = format!("hearth-pve-sim-test-{id}:sleep");
    let Some(sleep) = import_sleep_image(&image) else { return skip("cannot import an image of the host's `sleep`") };
    cleanup.image = Some(image.clone());
    // A network of the test's own, on the first of a few private /24s no other network holds.
    let name = format!("hearth-pve-sim-test-{id}");
    let subnet = (240..250).map(|n| format!("172.29.{n}.0/24")).find(|subnet| {
        docker(&["network", "create", "--label", "hearth.pve-sim.test=1", "--subnet", subnet, &name]).is_some()
    });
    let Some(subnet) = subnet else { return skip("no free test subnet in 172.29.240.0/20") };
    cleanup.network = Some(name.clone());
    let address = subnet.replace(".0/24", ".10");

    let runtime = DockerRuntime {
        image,
        network: None,
        label: format!("hearth.pve-sim=test-{id}"),
        prefix: cleanup.prefix.clone(),
        run_args: Vec::new(),
        command: vec![sleep, "infinity".into()],
    };
    let node = start_with_runtime(Arc::new(runtime)).await;
    let net0 = format!("name=eth0,bridge=vmbr0,ip={address}/24");
    let done = node.create_ct("101", &[("cores", "2"), ("memory", "256"), ("net0", &net0), ("start", "1")]).await;
    assert_eq!(done["exitstatus"], "OK", "{done}");

    let container = format!("{}101", cleanup.prefix);
    let format = format!(
        "{{{{.State.Running}}}} {{{{.Config.Hostname}}}} {{{{.HostConfig.NanoCpus}}}} {{{{.HostConfig.Memory}}}} {{{{(index .NetworkSettings.Networks \"{name}\").IPAddress}}}}"
    );
    let seen = docker(&["inspect", "--format", &format, &container]).expect("the guest's container exists");
    assert_eq!(seen, format!("true db 2000000000 {} {address}", 256u64 << 20));

    let upid = node.post("/nodes/pve/lxc/101/status/stop", &[]).await.data().clone();
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    assert_eq!(docker(&["inspect", "--format", "{{.State.Running}}", &container]).as_deref(), Some("false"));
    let upid = node.api("DELETE", "/nodes/pve/lxc/101", Body::None).await.data().clone();
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    assert!(docker(&["inspect", &container]).is_none(), "the container is removed with the guest");

    // An appliance VM runs in the simulator only.
    let upid = node
        .post("/nodes/pve/qemu", &[("vmid", "150"), ("name", "haos"), ("tags", "hearth;appliance"), ("start", "1")])
        .await
        .data()
        .clone();
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    assert_eq!(node.get("/nodes/pve/qemu/150/status/current").await.data()["status"], "running");
    assert!(docker(&["inspect", &format!("{}150", cleanup.prefix)]).is_none());
}
