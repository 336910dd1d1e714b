//! Every example's guests created against the simulator from nothing, a second apply that
//! changes nothing, and a memory change planned and applied with `PUT .../config` and the
//! digest.

use hearth_proxmox::GuestAction;
use serde_json::json;

use crate::sim::harness::{assert_success, start_all};

pub const EXAMPLES: [&str; 6] = [
    "examples/minimal.yaml",
    "examples/lxc-media-apps-tunnel.yaml",
    "examples/nixos-proxmox-five-vms.yaml",
    "examples/ryzen-tiered-lxc-platform.yaml",
    "examples/two-node-docker-pbs.yaml",
    "examples/zfs-proxmox-media-cloud.yaml",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_is_created_then_unchanged() {
    let mut jobs_made = 0;
    for spec in EXAMPLES {
        for node in start_all(spec).await {
            assert!(node.guests().is_empty());
            let (plan, outcome) = node.apply().await;
            assert!(plan.guests.iter().all(|g| g.action == GuestAction::Create), "{spec}: {plan:?}");
            assert_success(&outcome);
            let wanted: Vec<u32> = node.desired.iter().map(|d| d.vmid).collect();
            let have: Vec<u32> = node.guests().keys().copied().collect();
            assert_eq!(have, wanted, "{spec}: the node's guests");
            // Every guest runs in the simulator; an appliance is reported as not started.
            assert!(node.guests().values().all(|running| *running), "{spec}: {:?}", node.guests());
            for g in &outcome.guests {
                let d = node.desired.iter().find(|d| d.vmid == g.vmid).expect("a spec guest");
                let appliance = d.create.get("tags").is_some_and(|t| t.to_string().contains("appliance"));
                let expected: Vec<String> = if appliance {
                    vec![
                        "not started: an appliance's OS does not run as a container (the simulator reports it running)"
                            .into(),
                    ]
                } else {
                    Vec::new()
                };
                assert_eq!(g.notes, expected, "{spec}: {}", g.name);
                assert_eq!(g.done.contains(&"started".to_string()), !appliance, "{spec}: {}", g.name);
            }
            // No request refused (each passed the schema check and the node's own rules), and
            // never more than two tasks at once.
            let (refused, most) = node.sim.with_stats(|st| (st.refused.clone(), st.max_concurrent_tasks));
            assert!(refused.is_empty(), "{spec}: refused requests: {refused:?}");
            assert!((1..=2).contains(&most), "{spec}: {most} tasks at once");
            // The whole-guest backup jobs are made through `/cluster/backup`, marked as Hearth's.
            let jobs = node.sim.with_state(|s| s.backup_jobs.clone());
            assert_eq!(jobs.len(), node.host.jobs.len(), "{spec}: backup jobs {jobs:?}");
            assert!(jobs.values().all(hearth_proxmox::backup::is_hearths), "{spec}: {jobs:?}");
            jobs_made += jobs.len();
            let again = node.plan(&[]).await;
            assert!(
                again.is_empty(),
                "{spec}: second plan:\n{}",
                hearth_proxmox::text::plan(std::slice::from_ref(&again))
            );
            assert!(again.guests.iter().all(|g| g.action == GuestAction::Unchanged), "{spec}: {again:?}");
        }
    }
    assert!(jobs_made > 0, "no example backs a guest up to PBS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_change_is_planned_and_applied_with_the_digest() {
    let mut nodes = start_all("examples/lxc-media-apps-tunnel.yaml").await;
    let mut node = nodes.remove(0);
    assert_success(&node.apply().await.1);
    let first = node.desired[0].clone();
    let memory = first.create["memory"].as_u64().unwrap_or(512) * 2;
    node.desired[0].create.insert("memory".into(), json!(memory));
    let plan = node.plan(&[]).await;
    let text = hearth_proxmox::text::plan(std::slice::from_ref(&plan));
    assert!(text.contains(&format!("memory: {} -> {memory} (live)", memory / 2)), "{text}");
    let before = node.client.sent().len();
    let outcome = node.apply_plan(&plan).await;
    assert_success(&outcome);
    let puts: Vec<_> = node.client.sent()[before..].iter().filter(|s| s.method == "PUT").cloned().collect();
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert_eq!(puts[0].path, format!("/nodes/{}/lxc/{}/config", node.client.node(), first.vmid));
    assert_eq!(puts[0].params, vec!["memory".to_string(), "digest".to_string()]);
    let config = node.client.config(first.kind, first.vmid).await.unwrap();
    assert_eq!(config["memory"].to_string(), memory.to_string());
    assert!(node.plan(&[]).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_guest_is_destroyed_only_when_allowed_and_foreign_ones_never() {
    let mut nodes = start_all("examples/lxc-media-apps-tunnel.yaml").await;
    let mut node = nodes.remove(0);
    assert_success(&node.apply().await.1);
    // A guest someone else made on the node: no `hearth` tag.
    node.sim.with_state(|s| {
        let mut foreign = s.guests.get(&node.desired[1].vmid).cloned().expect("a guest to copy");
        foreign.vmid = 990;
        foreign.config.insert("tags".into(), "prod".into());
        foreign.config.insert("hostname".into(), "router".into());
        s.guests.insert(990, foreign);
    });
    let dropped = node.desired.remove(0);
    let plan = node.plan(&[]).await;
    let text = hearth_proxmox::text::plan(std::slice::from_ref(&plan));
    let kept = format!(
        "  ? {} {} (lxc): tagged `hearth` but not in the spec; kept (destroy it with `--allow-destroy {}`)\n",
        dropped.vmid, dropped.name, dropped.name
    );
    assert!(text.contains(&kept), "{text}");
    assert!(text.ends_with("  · 990 router (lxc): no `hearth` tag, left alone\n"), "{text}");
    assert!(plan.is_empty());
    node.apply_plan(&plan).await;
    assert!(node.guests().contains_key(&dropped.vmid) && node.guests().contains_key(&990));

    let plan = node.plan(&[dropped.name.clone(), "router".into()]).await;
    let outcome = node.apply_plan(&plan).await;
    assert_success(&outcome);
    let g = outcome.guests.iter().find(|g| g.vmid == dropped.vmid).expect("the dropped guest");
    assert_eq!(g.done, vec!["stopped".to_string(), "destroyed".to_string()]);
    assert!(!node.guests().contains_key(&dropped.vmid));
    assert!(node.guests().contains_key(&990), "a guest without the `hearth` tag is never destroyed");
}
