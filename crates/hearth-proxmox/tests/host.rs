//! A node's own steps, data-driven: ZFS datasets read and made through a shell that records the
//! commands it is given (no real `zfs` runs here: the machine has no ZFS pool to test against),
//! backup jobs against the node's list, and the bridges guests attach to. Each case prints the
//! plan as `hearth plan` does (an insta snapshot), and the dataset cases the commands run.

use std::collections::BTreeMap;
use std::sync::Mutex;

use hearth_model::model::GuestKind;
use hearth_proxmox::backup::{DesiredJob, plan_jobs};
use hearth_proxmox::host::{Datasets, HostPlan, apply_datasets, read_datasets};
use hearth_proxmox::network::{Bridge, bridges};
use hearth_proxmox::plan::{Actual, plan_node};
use hearth_proxmox::shell::{NodeShell, OutputFuture, ShellFuture};
use hearth_proxmox::{DesiredGuest, text};
use hearth_render::zfs::Dataset;
use serde_json::{Map, Value, json};

/// Root on a node that has the datasets of `zfs get` output `have` (`NAME\tPROPERTY\tVALUE`
/// lines, by pool), recording every command.
struct FakeShell {
    have: BTreeMap<String, String>,
    ran: Mutex<Vec<String>>,
}

impl FakeShell {
    fn new(have: &[(&str, &str)]) -> FakeShell {
        FakeShell {
            have: have.iter().map(|(p, o)| ((*p).to_string(), (*o).to_string())).collect(),
            ran: Mutex::new(Vec::new()),
        }
    }

    fn ran(&self) -> Vec<String> {
        self.ran.lock().unwrap().clone()
    }
}

impl NodeShell for FakeShell {
    fn run<'a>(&'a self, _node: &'a str, argv: &'a [String]) -> ShellFuture<'a> {
        self.ran.lock().unwrap().push(argv.join(" "));
        Box::pin(async { Ok(()) })
    }

    fn output<'a>(&'a self, _node: &'a str, argv: &'a [String]) -> OutputFuture<'a> {
        self.ran.lock().unwrap().push(argv.join(" "));
        let pool = argv.last().cloned().unwrap_or_default();
        let answer = self.have.get(&pool).cloned().ok_or(format!("cannot open '{pool}': dataset does not exist"));
        Box::pin(async move { answer })
    }
}

fn dataset(name: &str, props: &[(&str, &str)]) -> Dataset {
    Dataset { name: name.into(), properties: props.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect() }
}

/// The plan of `desired` datasets on a node whose `zfs get` answers `have`, and the commands
/// read and run, as text.
fn check_datasets(desired: &[Dataset], have: &[(&str, &str)]) -> String {
    let shell = FakeShell::new(have);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let datasets = runtime.block_on(read_datasets(&shell, "pve", desired));
    let plan = plan_with(HostPlan { datasets, jobs: Vec::new() });
    let host = plan.host.clone();
    runtime.block_on(apply_datasets(&shell, "pve", &host));
    format!("{}\ncommands:\n{}\n", text::plan(&[plan]), shell.ran().join("\n"))
}

fn plan_with(host: HostPlan) -> hearth_proxmox::NodePlan {
    let mut plan = plan_node("pve", &[], &Actual::default(), &[]);
    plan.host = host;
    plan
}

#[test]
fn datasets_are_created_with_their_properties() {
    insta::assert_snapshot!(check_datasets(
        &[
            dataset("tank/media", &[("compression", "lz4"), ("recordsize", "1M")]),
            dataset("tank/media/movies", &[]),
            dataset(
                "tank/secure",
                &[("encryption", "on"), ("keyformat", "raw"), ("keylocation", "file:///etc/zfs/keys/tank.key")]
            ),
        ],
        &[("tank", "tank\ttype\tfilesystem\n")],
    ));
}

#[test]
fn changed_properties_are_set_and_equal_ones_left() {
    insta::assert_snapshot!(check_datasets(
        &[
            dataset("tank/media", &[("compression", "zstd"), ("recordsize", "1M"), ("quota", "2TB")]),
            dataset("tank/apps", &[("atime", "off")]),
        ],
        &[(
            "tank",
            "tank\ttype\tfilesystem\ntank/media\ttype\tfilesystem\ntank/media\tcompression\tlz4\ntank/media\trecordsize\t1048576\ntank/media\tquota\t0\ntank/apps\ttype\tfilesystem\ntank/apps\tatime\toff\n",
        )],
    ));
}

#[test]
fn encryption_is_never_changed_and_a_missing_pool_is_refused() {
    insta::assert_snapshot!(check_datasets(
        &[
            dataset("tank/secure", &[("encryption", "on"), ("keyformat", "raw")]),
            dataset("tank/kept", &[("encryption", "on")]),
            // Inherits its key from an encrypted parent on the node.
            dataset("tank/kept/child", &[("encryption", "on")]),
            dataset("tank/nokey", &[("encryption", "on")]),
            dataset("tank/prompted", &[("encryption", "on"), ("keyformat", "passphrase"), ("keylocation", "prompt")]),
            dataset("fast/vm", &[]),
        ],
        &[(
            "tank",
            "tank\ttype\tfilesystem\ntank/secure\ttype\tfilesystem\ntank/secure\tencryption\toff\ntank/secure\tkeyformat\tnone\ntank/kept\ttype\tfilesystem\ntank/kept\tencryption\taes-256-gcm\n",
        )],
    ));
}

#[test]
fn without_a_shell_datasets_are_not_planned() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let datasets = runtime.block_on(read_datasets(&hearth_proxmox::NoShell, "pve", &[dataset("tank/media", &[])]));
    insta::assert_snapshot!(text::plan(&[plan_with(HostPlan { datasets, jobs: Vec::new() })]));
    assert_eq!(runtime.block_on(read_datasets(&hearth_proxmox::NoShell, "pve", &[])), Datasets::None);
}

fn job(id: &str, over: &[(&str, Value)]) -> DesiredJob {
    let mut params: Map<String, Value> = [
        ("comment", json!(format!("Hearth policy weekly: media, app"))),
        ("enabled", json!(1)),
        ("mode", json!("snapshot")),
        ("notes-template", json!("{{guestname}}")),
        ("prune-backups", json!("keep-daily=7,keep-weekly=4")),
        ("schedule", json!("Sun *-*-* 03:00:00")),
        ("storage", json!("pbs")),
        ("vmid", json!("101,102")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in over {
        params.insert((*k).to_string(), v.clone());
    }
    DesiredJob { id: id.into(), params }
}

/// A job as `GET /cluster/backup` lists it.
fn listed(d: &DesiredJob, over: &[(&str, Value)]) -> Map<String, Value> {
    let mut m = d.params.clone();
    m.insert("id".into(), json!(d.id));
    m.insert("type".into(), json!("vzdump"));
    for (k, v) in over {
        if v.is_null() {
            m.remove(*k);
        } else {
            m.insert((*k).to_string(), v.clone());
        }
    }
    m
}

fn check_jobs(desired: &[DesiredJob], actual: &[Map<String, Value>]) -> String {
    text::plan(&[plan_with(HostPlan { datasets: Datasets::None, jobs: plan_jobs(desired, actual) })])
}

#[test]
fn backup_jobs_are_created_updated_and_deleted_only_when_hearths() {
    let weekly = job("hearth-weekly-pbs", &[]);
    let daily = job("hearth-daily-pbs", &[("comment", json!("Hearth policy daily: db"))]);
    let old = job("hearth-monthly-pbs", &[("comment", json!("Hearth policy monthly: db"))]);
    let by_hand = listed(&job("backup-4b2e", &[]), &[("comment", json!("nightly, made by hand"))]);
    insta::assert_snapshot!(check_jobs(
        &[weekly.clone(), daily.clone(), job("hearth-new-pbs", &[])],
        &[
            // Same properties in another order, and numbers the node prints as text.
            listed(&weekly, &[("prune-backups", json!("keep-weekly=4,keep-daily=7")), ("enabled", json!("1"))]),
            listed(&daily, &[("vmid", json!("101")), ("mailto", json!("root@localhost"))]),
            listed(&old, &[]),
            by_hand,
        ],
    ));
}

#[test]
fn a_job_id_taken_by_a_job_hearth_did_not_make_is_refused() {
    let weekly = job("hearth-weekly-pbs", &[]);
    insta::assert_snapshot!(check_jobs(std::slice::from_ref(&weekly), &[listed(&weekly, &[("comment", Value::Null)])]));
}

fn guest(name: &str, vmid: u32, kind: GuestKind, net0: &str) -> DesiredGuest {
    let mut create = Map::new();
    create.insert("net0".into(), json!(net0));
    create.insert("tags".into(), json!("hearth"));
    DesiredGuest {
        name: name.into(),
        host: "pve".into(),
        node: "pve".into(),
        vmid,
        kind,
        create,
        disk: ("rootfs".into(), 8192),
        managed: true,
        snapshot_keep: None,
    }
}

fn check_bridges(guests: &[DesiredGuest], node_bridges: Vec<Bridge>) -> String {
    let actual = Actual { guests: Vec::new(), bridges: Some(node_bridges) };
    text::plan(&[plan_node("pve", guests, &actual, &[])])
}

#[test]
fn bridges_are_read_from_the_network_list() {
    let entries = json!([
        { "iface": "eno1", "type": "eth" },
        { "iface": "vmbr1", "type": "bridge" },
        { "iface": "vmbr0", "type": "bridge", "bridge_vlan_aware": 1 },
        { "iface": "vmbr2", "type": "OVSBridge" },
    ]);
    assert_eq!(
        bridges(entries.as_array().unwrap()),
        vec![
            Bridge { name: "vmbr0".into(), vlan_aware: true },
            Bridge { name: "vmbr1".into(), vlan_aware: false },
            Bridge { name: "vmbr2".into(), vlan_aware: true },
        ]
    );
}

#[test]
fn guests_need_their_bridges_and_vlan_awareness() {
    let node =
        vec![Bridge { name: "vmbr0".into(), vlan_aware: false }, Bridge { name: "vmbr1".into(), vlan_aware: true }];
    insta::assert_snapshot!(check_bridges(
        &[
            guest("fine", 101, GuestKind::Lxc, "name=eth0,bridge=vmbr1,tag=20,ip=10.0.20.5/24"),
            guest("untagged", 102, GuestKind::Vm, "virtio,bridge=vmbr0"),
            guest("tagged", 103, GuestKind::Lxc, "name=eth0,bridge=vmbr0,tag=30,ip=dhcp"),
            guest("nowhere", 104, GuestKind::Vm, "virtio,bridge=vmbr9,tag=40"),
        ],
        node,
    ));
}
