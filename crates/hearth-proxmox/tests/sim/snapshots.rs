//! Snapshots before apply: a guest about to change is snapshotted first (its settings, or its
//! files as the binary marks them), Hearth's older snapshots are pruned to `keep` while one the
//! operator took stays, a failed snapshot leaves the guest unchanged with a clear error, and the
//! node refuses a container on storage that cannot snapshot.

use std::collections::BTreeSet;

use hearth_proxmox::client::Method;
use hearth_proxmox::plan::snapshot_changing;
use hearth_proxmox::snapshots::DESCRIPTION;
use serde_json::json;

use crate::sim::harness::{Node, assert_success, start_all};

/// The guest's snapshots on the simulated node, oldest first, Hearth's marked by their description.
fn snapshots(node: &Node, vmid: u32) -> Vec<(String, bool)> {
    node.sim.with_state(|s| {
        s.guests[&vmid].snapshots.iter().map(|snap| (snap.name.clone(), snap.description == DESCRIPTION)).collect()
    })
}

fn memory(node: &Node, vmid: u32) -> String {
    node.sim.with_state(|s| s.guests[&vmid].config.get("memory").cloned().unwrap_or_default())
}

/// A snapshot the operator takes through the API, described as theirs.
async fn by_hand(node: &Node, vmid: u32, name: &str) {
    let path = format!("/nodes/{}/lxc/{vmid}/snapshot", node.client.node());
    let body =
        [("snapname".to_string(), json!(name)), ("description".to_string(), json!("by hand"))].into_iter().collect();
    node.client.task(Method::Post, &path, &body).await.expect("a snapshot by hand");
}

/// A node of the LXC example with every guest created and the first one asking for snapshots.
async fn created(keep: u32) -> (Node, u32) {
    let mut nodes = start_all("examples/lxc-media-apps-tunnel.yaml").await;
    let mut node = nodes.remove(0);
    assert_success(&node.apply().await.1);
    node.desired[0].snapshot_keep = Some(keep);
    let vmid = node.desired[0].vmid;
    (node, vmid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_is_snapshotted_and_hearths_are_pruned_to_keep() {
    let (mut node, vmid) = created(2).await;
    // A snapshot the operator took by hand, and one named like Hearth's without its description.
    by_hand(&node, vmid, "pre-update").await;
    by_hand(&node, vmid, "hearth-by-hand").await;
    let mut taken = Vec::new();
    for mib in [1024, 1536, 2048] {
        node.desired[0].create.insert("memory".into(), json!(mib));
        let (plan, outcome) = node.apply().await;
        let g = plan.guests.iter().find(|g| g.vmid == vmid).unwrap();
        assert_eq!(g.snapshot, Some(2), "{plan:?}");
        let text = hearth_proxmox::text::plan(std::slice::from_ref(&plan));
        assert!(text.contains("snapshot `hearth-YYYYMMDD-HHMMSS` (UTC) first, keeping Hearth's newest 2"), "{text}");
        assert_success(&outcome);
        let o = outcome.guests.iter().find(|g| g.vmid == vmid).unwrap();
        let name = o.done[0].strip_prefix("snapshot ").and_then(|s| s.strip_suffix(" taken")).expect("snapshot first");
        assert!(o.notes.contains(&format!("undo with `pct rollback {vmid} {name}` on the node")), "{o:?}");
        assert_eq!(memory(&node, vmid), mib.to_string());
        taken.push(name.to_string());
    }
    let have = snapshots(&node, vmid);
    let ours: Vec<&str> = have.iter().filter(|(_, h)| *h).map(|(n, _)| n.as_str()).collect();
    assert_eq!(ours, [taken[1].as_str(), taken[2].as_str()], "the two newest of Hearth's stay");
    let foreign: Vec<&str> = have.iter().filter(|(_, h)| !*h).map(|(n, _)| n.as_str()).collect();
    assert_eq!(foreign, ["pre-update", "hearth-by-hand"], "the operator's snapshots stay");
    // Nothing to change: no snapshot either.
    let (plan, _) = node.apply().await;
    assert!(plan.is_empty(), "{plan:?}");
    assert_eq!(snapshots(&node, vmid).len(), 4);
    let refused = node.sim.with_stats(|st| st.refused.clone());
    assert!(refused.is_empty(), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_whose_files_change_is_snapshotted_without_a_settings_change() {
    let (node, vmid) = created(3).await;
    let mut plan = node.plan(&[]).await;
    assert!(plan.is_empty());
    let changing: BTreeSet<String> = [node.desired[0].name.clone()].into();
    snapshot_changing(&mut plan, &node.desired, &changing);
    assert!(!plan.is_empty());
    let text = hearth_proxmox::text::plan(std::slice::from_ref(&plan));
    assert!(
        text.contains(&format!("  ~ {vmid} {} (lxc): snapshot before its files change", node.desired[0].name)),
        "{text}"
    );
    let outcome = node.apply_plan(&plan).await;
    assert_success(&outcome);
    assert_eq!(snapshots(&node, vmid).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_snapshot_leaves_the_guest_unchanged() {
    let (mut node, vmid) = created(3).await;
    let before = memory(&node, vmid);
    let path = format!("/lxc/{vmid}/snapshot");
    node.fault(&format!(
        r#"{{"kind":"task-fail","count":1,"method":"POST","path":"{path}","message":"zfs error: out of space"}}"#
    ));
    node.desired[0].create.insert("memory".into(), json!(4096));
    let (_, outcome) = node.apply().await;
    let o = outcome.guests.iter().find(|g| g.vmid == vmid).unwrap();
    let text = o.error.as_ref().expect("the guest failed").to_string();
    assert!(
        text.starts_with(&format!(
            "guest `{}` ({vmid}): the snapshot before changes failed, so the guest was not changed: task `UPID:",
            o.name
        )),
        "{text}"
    );
    assert!(text.contains("out of space"), "{text}");
    assert_eq!(memory(&node, vmid), before, "no change without the snapshot");
    assert!(snapshots(&node, vmid).is_empty());
    // Every other guest's apply went on.
    assert!(outcome.guests.iter().filter(|g| g.vmid != vmid).all(|g| g.error.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_on_a_directory_cannot_be_snapshotted() {
    let (node, vmid) = created(3).await;
    // Move its root disk's volume to `local`, a directory storage, as a hand-made container has it.
    node.sim.with_state(|s| {
        let g = s.guests.get_mut(&vmid).unwrap();
        let rootfs = g.config["rootfs"].clone();
        let rest = rootfs.split_once(',').map_or(String::new(), |(_, r)| format!(",{r}"));
        g.config.insert("rootfs".into(), format!("local:{vmid}/vm-{vmid}-disk-0.raw{rest}"));
    });
    let err =
        node.client.snapshot(hearth_model::model::GuestKind::Lxc, vmid, "hearth-20260101-000000").await.unwrap_err();
    assert!(err.to_string().contains("snapshot feature is not available"), "{err}");
}
