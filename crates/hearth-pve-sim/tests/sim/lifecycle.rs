//! A guest's life through the API, as the client drives it: template download, create (a task
//! with a real UPID), config with digest, update, resize (growth only), start, stop, destroy;
//! a VM from an imported cloud image; backup jobs.

use serde_json::Value;

use crate::common::{Node, start};

fn volume_names(node_state: &Value, storage: &str) -> Vec<String> {
    node_state["storages"][storage]["volumes"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

async fn state(node: &Node) -> Value {
    node.raw("GET", "/_sim/state", None, crate::common::Body::None).await.body["data"].clone()
}

#[tokio::test]
async fn a_container_from_download_to_destruction() {
    let node = start(20, 2_000).await;
    assert_eq!(node.get("/cluster/nextid").await.data(), "100");

    // The template is fetched through aplinfo when missing.
    let offered = node.get("/nodes/pve/aplinfo").await.data().clone();
    let template = offered[1]["template"].as_str().unwrap().to_string();
    let upid = node.post("/nodes/pve/aplinfo", &[("storage", "local"), ("template", &template)]).await.data().clone();
    assert!(upid.as_str().unwrap().starts_with("UPID:pve:"), "{upid}");
    assert!(upid.as_str().unwrap().ends_with(&format!(":download:{template}:root@pam!hearth:")), "{upid}");
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    let content = node.get("/nodes/pve/storage/local/content?content=vztmpl").await.data().clone();
    assert!(content.as_array().unwrap().iter().any(|v| v["volid"] == format!("local:vztmpl/{template}")), "{content}");

    // Create: a task whose UPID names the type, the guest and the token.
    let upid = node
        .post(
            "/nodes/pve/lxc",
            &[
                ("vmid", "101"),
                ("ostemplate", &format!("local:vztmpl/{template}")),
                ("hostname", "db"),
                ("memory", "1024"),
                ("cores", "2"),
                ("rootfs", "local-lvm:8"),
                ("net0", "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1"),
                ("tags", "hearth;db"),
            ],
        )
        .await
        .data()
        .clone();
    let fields: Vec<&str> = upid.as_str().unwrap().split(':').collect();
    assert_eq!(fields.len(), 9, "{upid}");
    assert_eq!(
        (fields[0], fields[1], fields[5], fields[6], fields[7]),
        ("UPID", "pve", "vzcreate", "101", "root@pam!hearth")
    );
    assert!(fields[2..5].iter().all(|f| f.len() == 8 && f.chars().all(|c| c.is_ascii_hexdigit())), "{upid}");
    let done = node.wait(&upid).await;
    assert_eq!(done["exitstatus"], "OK");
    let log = node
        .get(&format!("/nodes/pve/tasks/{}/log", crate::common::encode(upid.as_str().unwrap())))
        .await
        .data()
        .clone();
    assert_eq!(log.as_array().unwrap().last().unwrap()["t"], "TASK OK");
    assert_eq!(node.get("/cluster/nextid").await.data(), "100");

    // The config as the node keeps it, typed, with a digest that changes with it.
    let config = node.get("/nodes/pve/lxc/101/config").await.data().clone();
    let digest = config["digest"].as_str().unwrap().to_string();
    let mut shown = config.clone();
    shown["digest"] = Value::from("[sha1]");
    insta::assert_json_snapshot!("created_config", shown);
    assert_eq!(digest.len(), 40);
    assert_eq!(
        node.get("/nodes/pve/lxc/101/config").await.data()["digest"],
        digest.as_str(),
        "reading changes nothing"
    );
    node.put("/nodes/pve/lxc/101/config", &[("memory", "2048"), ("digest", &digest), ("delete", "cores")]).await.data();
    let config = node.get("/nodes/pve/lxc/101/config").await.data().clone();
    assert_eq!(config["memory"], 2048);
    assert!(config.get("cores").is_none());
    assert_ne!(config["digest"], digest.as_str());

    // Disks grow, never shrink; usage follows.
    let used = |s: &Value| s["storages"]["local-lvm"]["volumes"]["vm-101-disk-0"]["size"].as_u64().unwrap();
    assert_eq!(used(&state(&node).await), 8 << 30);
    let upid = node.put("/nodes/pve/lxc/101/resize", &[("disk", "rootfs"), ("size", "+2G")]).await.data().clone();
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    assert_eq!(node.get("/nodes/pve/lxc/101/config").await.data()["rootfs"], "local-lvm:vm-101-disk-0,size=10G");
    assert_eq!(used(&state(&node).await), 10 << 30);
    let shrink = node.put("/nodes/pve/lxc/101/resize", &[("disk", "rootfs"), ("size", "4G")]).await;
    assert_eq!((shrink.status, shrink.reason.as_str()), (500, "unable to shrink disk size"));
    let same = node.put("/nodes/pve/lxc/101/resize", &[("disk", "rootfs"), ("size", "10G")]).await.data().clone();
    assert_eq!(node.wait(&same).await["exitstatus"], "OK");

    // Start, status, refusals that depend on running state, stop, destroy.
    let upid = node.post("/nodes/pve/lxc/101/status/start", &[]).await.data().clone();
    assert!(upid.as_str().unwrap().contains(":vzstart:101:"));
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    let status = node.get("/nodes/pve/lxc/101/status/current").await.data().clone();
    assert_eq!((status["status"].as_str(), status["maxmem"].as_u64()), (Some("running"), Some(2048 << 20)));
    let again = node.post("/nodes/pve/lxc/101/status/start", &[]).await;
    assert_eq!((again.status, again.reason.as_str()), (500, "CT 101 already running"));
    let busy = node.api("DELETE", "/nodes/pve/lxc/101", crate::common::Body::None).await;
    assert_eq!((busy.status, busy.reason.as_str()), (500, "CT 101 is running - destroy failed"));
    let resources = node.get("/cluster/resources?type=vm").await.data().clone();
    assert_eq!(resources[0]["tags"], "hearth;db");
    let upid = node.post("/nodes/pve/lxc/101/status/shutdown", &[("timeout", "30")]).await.data().clone();
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    let upid = node.api("DELETE", "/nodes/pve/lxc/101", crate::common::Body::None).await.data().clone();
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    let gone = node.get("/nodes/pve/lxc/101/config").await;
    assert_eq!(
        (gone.status, gone.reason.as_str()),
        (500, "Configuration file 'nodes/pve/lxc/101.conf' does not exist")
    );
    assert!(volume_names(&state(&node).await, "local-lvm").is_empty(), "the disk is freed");
}

#[tokio::test]
async fn a_vm_from_an_imported_cloud_image() {
    let node = start(20, 2_000).await;
    let upid = node
        .post(
            "/nodes/pve/storage/local/download-url",
            &[
                ("content", "import"),
                ("filename", "debian-12-genericcloud-amd64.qcow2"),
                ("url", "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2"),
            ],
        )
        .await
        .data()
        .clone();
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    let snippet = node
        .raw(
            "PUT",
            "/_sim/volumes/local/snippets/hearth-200.yaml",
            None,
            crate::common::Body::Json(serde_json::json!({ "content": "snippets", "size": 300 })),
        )
        .await;
    assert_eq!(snippet.status, 200, "{}", snippet.shown());
    let upid = node
        .post(
            "/nodes/pve/qemu",
            &[
                ("vmid", "200"),
                ("name", "docker"),
                ("memory", "4096"),
                ("cores", "4"),
                ("ostype", "l26"),
                ("scsihw", "virtio-scsi-single"),
                (
                    "scsi0",
                    "local-lvm:0,import-from=local:import/debian-12-genericcloud-amd64.qcow2,discard=on,iothread=1",
                ),
                ("efidisk0", "local-lvm:1,efitype=4m,pre-enrolled-keys=0"),
                ("bios", "ovmf"),
                ("ide2", "local-lvm:cloudinit"),
                ("cicustom", "user=local:snippets/hearth-200.yaml"),
                ("ipconfig0", "ip=10.0.0.9/24,gw=10.0.0.1"),
                ("net0", "virtio,bridge=vmbr0,tag=30"),
                ("agent", "1"),
                ("tags", "hearth;docker"),
            ],
        )
        .await
        .data()
        .clone();
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    let mut config = node.get("/nodes/pve/qemu/200/config").await.data().clone();
    config["digest"] = Value::from("[sha1]");
    insta::assert_json_snapshot!("imported_vm_config", config);
    let upid = node.put("/nodes/pve/qemu/200/resize", &[("disk", "scsi0"), ("size", "32G")]).await.data().clone();
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    let shrink = node.put("/nodes/pve/qemu/200/resize", &[("disk", "scsi0"), ("size", "16G")]).await;
    assert_eq!((shrink.status, shrink.reason.as_str()), (500, "shrinking disks is not supported"));
    let upid = node.post("/nodes/pve/qemu/200/status/start", &[]).await.data().clone();
    assert!(upid.as_str().unwrap().contains(":qmstart:200:"));
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    assert_eq!(node.get("/nodes/pve/qemu/200/status/current").await.data()["qmpstatus"], "running");
}

#[tokio::test]
async fn a_vm_start_needs_its_cloud_init_snippet_and_fails_as_a_task() {
    let node = start(20, 2_000).await;
    let upid = node
        .post(
            "/nodes/pve/qemu",
            &[("vmid", "201"), ("scsi0", "local-lvm:4"), ("cicustom", "user=local:snippets/missing.yaml")],
        )
        .await
        .data()
        .clone();
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    // `qm start` checks inside its worker: the request gets a task, the task fails.
    let upid = node.post("/nodes/pve/qemu/201/status/start", &[]).await.data().clone();
    assert!(upid.as_str().unwrap().contains(":qmstart:201:"));
    assert_eq!(node.wait(&upid).await["exitstatus"], "volume 'local:snippets/missing.yaml' does not exist");
    assert_eq!(node.get("/nodes/pve/qemu/201/status/current").await.data()["status"], "stopped");
    let upid = node.post("/nodes/pve/qemu/201/status/stop", &[]).await.data().clone();
    assert_eq!(node.wait(&upid).await["exitstatus"], "VM 201 not running");
}

#[tokio::test]
async fn backup_jobs_are_kept() {
    let node = start(20, 2_000).await;
    node.post(
        "/cluster/backup",
        &[
            ("id", "hearth-nightly"),
            ("schedule", "02:30"),
            ("storage", "local"),
            ("vmid", "101,102"),
            ("mode", "snapshot"),
        ],
    )
    .await
    .data();
    let dup = node.post("/cluster/backup", &[("id", "hearth-nightly"), ("schedule", "02:30"), ("vmid", "101")]).await;
    assert_eq!(dup.status, 500, "{}", dup.shown());
    node.put("/cluster/backup/hearth-nightly", &[("schedule", "03:00"), ("delete", "mode")]).await.data();
    let job = node.get("/cluster/backup/hearth-nightly").await.data().clone();
    insta::assert_json_snapshot!("backup_job", job);
    node.api("DELETE", "/cluster/backup/hearth-nightly", crate::common::Body::None).await.data();
    assert_eq!(node.get("/cluster/backup").await.data(), &serde_json::json!([]));
}

#[tokio::test]
async fn a_running_vm_keeps_changes_pending_until_it_restarts() {
    let node = start(20, 2_000).await;
    let upid = node
        .post(
            "/nodes/pve/qemu",
            &[
                ("vmid", "300"),
                ("name", "app"),
                ("memory", "2048"),
                ("scsi0", "local-lvm:4"),
                ("net0", "virtio,bridge=vmbr0"),
                ("start", "1"),
            ],
        )
        .await
        .data()
        .clone();
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    let digest = node.get("/nodes/pve/qemu/300/config").await.data()["digest"].as_str().unwrap().to_string();
    node.put("/nodes/pve/qemu/300/config", &[("memory", "4096"), ("name", "app2"), ("digest", &digest)]).await.data();
    let shown = node.get("/nodes/pve/qemu/300/config").await.data().clone();
    let current = node.get("/nodes/pve/qemu/300/config?current=1").await.data().clone();
    assert_eq!((shown["memory"].as_str(), current["memory"].as_str()), (Some("4096"), Some("2048")));
    assert_eq!(
        (shown["name"].as_str(), current["name"].as_str()),
        (Some("app2"), Some("app2")),
        "a name applies at once"
    );
    assert_ne!(shown["digest"], digest.as_str());
    insta::assert_json_snapshot!("pending_memory", node.get("/nodes/pve/qemu/300/pending").await.data());

    let upid = node.post("/nodes/pve/qemu/300/status/reboot", &[]).await.data().clone();
    assert!(upid.as_str().unwrap().contains(":qmreboot:300:"));
    assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    let current = node.get("/nodes/pve/qemu/300/config?current=1").await.data().clone();
    assert_eq!(current["memory"], "4096");
    let pending = node.get("/nodes/pve/qemu/300/pending").await.data().clone();
    assert!(pending.as_array().unwrap().iter().all(|e| e.get("pending").is_none()), "{pending}");
}

#[tokio::test]
async fn guests_attach_only_to_bridges_the_node_has() {
    let node = start(20, 2_000).await;
    let bridges = node.get("/nodes/pve/network?type=bridge").await.data().clone();
    assert_eq!((bridges[0]["iface"].as_str(), bridges[0]["bridge_vlan_aware"].as_u64()), (Some("vmbr0"), Some(1)));
    node.create_ct("101", &[("net1", "name=eth1,bridge=vmbr9")]).await;
    let start = node.post("/nodes/pve/lxc/101/status/start", &[]).await;
    assert_eq!((start.status, start.reason.as_str()), (500, "bridge 'vmbr9' does not exist"));
    let status = node.get("/nodes/pve/storage/local-lvm/status").await.data().clone();
    assert_eq!(status["used"], 8u64 << 30);
}

#[tokio::test]
async fn a_running_container_takes_memory_at_once_and_the_rest_at_its_next_start() {
    let node = start(20, 2_000).await;
    node.create_ct("101", &[("start", "1"), ("searchdomain", "old.example")]).await;
    node.put(
        "/nodes/pve/lxc/101/config",
        &[("memory", "2048"), ("hostname", "db2"), ("nameserver", "10.0.0.53"), ("delete", "searchdomain")],
    )
    .await
    .data();
    let current = node.get("/nodes/pve/lxc/101/config?current=1").await.data().clone();
    assert_eq!((current["memory"].as_u64(), current["hostname"].as_str()), (Some(2048), Some("db2")));
    assert!(current.get("nameserver").is_none() && current["searchdomain"] == "old.example", "{current}");
    let pending = node.get("/nodes/pve/lxc/101/pending").await.data().clone();
    let waiting: Vec<&Value> = pending
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get("pending").is_some() || e.get("delete").is_some())
        .collect();
    assert_eq!(
        waiting,
        [
            &serde_json::json!({ "key": "nameserver", "pending": "10.0.0.53" }),
            &serde_json::json!({ "key": "searchdomain", "value": "old.example", "delete": 1 })
        ]
    );
    for action in ["shutdown", "start"] {
        let upid = node.post(&format!("/nodes/pve/lxc/101/status/{action}"), &[]).await.data().clone();
        assert_eq!(node.wait(&upid).await["exitstatus"], "OK");
    }
    let current = node.get("/nodes/pve/lxc/101/config?current=1").await.data().clone();
    assert_eq!(current["nameserver"], "10.0.0.53");
    assert!(current.get("searchdomain").is_none());
}
