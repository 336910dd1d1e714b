//! Injected faults: lock contention for N requests, failing tasks that leave nothing behind,
//! server errors and delays, each observable through the API.

use serde_json::json;

use crate::common::{Body, Node, TEMPLATE, start};

async fn inject(node: &Node, rules: serde_json::Value) {
    let answer = node.raw("POST", "/_sim/faults", None, Body::Json(rules)).await;
    assert_eq!(answer.status, 200, "{}", answer.shown());
}

async fn remaining(node: &Node) -> serde_json::Value {
    node.raw("GET", "/_sim/faults", None, Body::None).await.body["data"].clone()
}

#[tokio::test]
async fn lock_contention_fails_n_requests_then_clears() {
    let node = start(20, 2_000).await;
    node.create_ct("101", &[]).await;
    inject(&node, json!({ "kind": "lock", "count": 2, "path": "/lxc/101" })).await;
    for _ in 0..2 {
        let answer = node.put("/nodes/pve/lxc/101/config", &[("memory", "2048")]).await;
        assert_eq!(answer.status, 500);
        insta::assert_snapshot!("injected_lock_contention", answer.shown());
    }
    node.put("/nodes/pve/lxc/101/config", &[("memory", "2048")]).await.data();
    assert_eq!(remaining(&node).await, json!([]));
}

#[tokio::test]
async fn a_failing_create_leaves_no_guest_and_frees_its_disk() {
    let node = start(20, 2_000).await;
    inject(&node, json!({ "rules": [{ "kind": "task-fail", "path": "/lxc", "method": "POST", "message": "unable to create CT 101 - zfs error: out of space" }] })).await;
    let done = node.create_ct("101", &[]).await;
    assert_eq!(done["exitstatus"], "unable to create CT 101 - zfs error: out of space");
    let config = node.get("/nodes/pve/lxc/101/config").await;
    assert_eq!(config.status, 500, "{}", config.shown());
    let state = node.raw("GET", "/_sim/state", None, Body::None).await.body["data"].clone();
    assert_eq!(state["storages"]["local-lvm"]["volumes"], json!({}));
    assert_eq!(
        state["tasks"][0]["log"].as_array().unwrap().last().unwrap(),
        "TASK ERROR: unable to create CT 101 - zfs error: out of space"
    );
    // The next attempt succeeds.
    assert_eq!(node.create_ct("101", &[]).await["exitstatus"], "OK");
}

#[tokio::test]
async fn server_errors_and_delays_are_injected() {
    let node = start(20, 2_000).await;
    inject(
        &node,
        json!({ "rules": [
        { "kind": "status", "status": 503, "message": "service unavailable (injected)", "path": "/version" },
        { "kind": "delay", "ms": 50, "path": "/nodes" },
    ] }),
    )
    .await;
    let answer = node.get("/version").await;
    assert_eq!((answer.status, answer.reason.as_str()), (503, "service unavailable (injected)"));
    assert_eq!(answer.body, json!({ "data": null, "message": "service unavailable (injected)\n" }));
    assert_eq!(node.get("/version").await.status, 200);
    // A delayed request still gets its answer, and the rule is used up.
    assert_eq!(node.get("/nodes").await.data()[0]["node"], "pve");
    assert_eq!(remaining(&node).await, json!([]));
}

#[tokio::test]
async fn a_bad_fault_rule_is_refused() {
    let node = start(20, 2_000).await;
    let answer = node.raw("POST", "/_sim/faults", None, Body::Json(json!({ "kind": "meteor" }))).await;
    assert_eq!(answer.status, 400, "{}", answer.shown());
}

#[tokio::test]
async fn stats_show_refused_requests_and_concurrent_tasks() {
    // Tasks last long enough that three creations overlap.
    let node = start(500, 2_000).await;
    let mut upids = Vec::new();
    for vmid in ["101", "102", "103"] {
        let rootfs = "local-lvm:1";
        let answer = node.post("/nodes/pve/lxc", &[("vmid", vmid), ("ostemplate", TEMPLATE), ("rootfs", rootfs)]).await;
        upids.push(answer.data().clone());
    }
    node.post("/nodes/pve/lxc", &[("vmid", "104"), ("ostemplate", TEMPLATE), ("memory", "lots")]).await;
    for upid in &upids {
        node.wait(upid).await;
    }
    let stats = node.raw("GET", "/_sim/stats", None, Body::None).await.body["data"].clone();
    assert_eq!(stats["max_concurrent_tasks"], 3);
    assert_eq!(
        stats["refused"],
        json!([{ "method": "POST", "path": "/nodes/pve/lxc", "status": 400,
                 "message": "Parameter verification failed. {\"memory\":\"type check ('integer') failed - got 'lots'\"}" }])
    );
    assert!(stats["requests"].as_u64().unwrap() >= 4);
}
