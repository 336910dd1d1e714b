//! The start hook: `CommandRuntime` gets each start, stop and destroy with the guest's settings;
//! an appliance it reports as simulated only stays running in the API with the reason in the
//! task log; a hook that fails fails the task and leaves the guest stopped.

use std::path::PathBuf;
use std::sync::Arc;

use hearth_pve_sim::CommandRuntime;

use crate::common::{Body, start_with_runtime};

fn dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn the_hook_sees_each_event_with_the_guests_settings() {
    let dir = dir("pve-sim-runtime");
    let log = dir.join("events");
    // One line per event; a VM of ostype `win11` is reported as not runnable here.
    let command = format!(
        r#"echo "$HEARTH_PVE_EVENT $HEARTH_PVE_VMID $HEARTH_PVE_KIND $HEARTH_PVE_NAME cores=$HEARTH_PVE_CORES mem=$HEARTH_PVE_MEMORY_MIB ip=$HEARTH_PVE_ADDRESS gw=$HEARTH_PVE_GATEWAY tags=$HEARTH_PVE_TAGS" >> {}; if [ "$HEARTH_PVE_OSTYPE" = win11 ]; then echo "simulated-only: Windows does not run as a container"; fi"#,
        log.display()
    );
    let node = start_with_runtime(Arc::new(CommandRuntime { command })).await;
    assert_eq!(node.create_ct("101", &[("cores", "2"), ("start", "1")]).await["exitstatus"], "OK");
    let upid = node.post("/nodes/pve/lxc/101/status/stop", &[]).await.data().clone();
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    let upid = node.api("DELETE", "/nodes/pve/lxc/101", Body::None).await.data().clone();
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");

    let upid = node
        .post(
            "/nodes/pve/qemu",
            &[("vmid", "150"), ("name", "win"), ("ostype", "win11"), ("memory", "8192"), ("start", "1")],
        )
        .await
        .data()
        .clone();
    let done = node.wait(&upid).await;
    assert_eq!(done["exitstatus"], "OK");
    assert_eq!(node.get("/nodes/pve/qemu/150/status/current").await.data()["status"], "running");
    let task_log = node
        .get(&format!("/nodes/pve/tasks/{}/log", crate::common::encode(upid.as_str().unwrap())))
        .await
        .data()
        .clone();
    let lines: Vec<&str> = task_log.as_array().unwrap().iter().map(|l| l["t"].as_str().unwrap()).collect();
    assert!(lines.contains(&"VM 150: simulated only: Windows does not run as a container"), "{lines:?}");

    insta::assert_snapshot!("runtime_events", std::fs::read_to_string(&log).unwrap());
}

#[tokio::test]
async fn a_failing_hook_fails_the_start_and_leaves_the_guest_stopped() {
    let command =
        r#"if [ "$HEARTH_PVE_EVENT" = start ]; then echo "docker: no such image" >&2; exit 3; fi"#.to_string();
    let node = start_with_runtime(Arc::new(CommandRuntime { command })).await;
    node.create_ct("101", &[]).await;
    let upid = node.post("/nodes/pve/lxc/101/status/start", &[]).await.data().clone();
    let done = node.wait(&upid).await;
    assert_eq!(done["exitstatus"], "runtime command failed on start (exit status: 3): docker: no such image");
    assert_eq!(node.get("/nodes/pve/lxc/101/status/current").await.data()["status"], "stopped");
}
