//! The plan of a node, data-driven: the spec's guests and the node's, and the plan as text.

use hearth_model::model::GuestKind;
use hearth_proxmox::plan::{Actual, ActualGuest, plan_node};
use hearth_proxmox::{DesiredGuest, text};
use serde_json::{Map, Value, json};

fn map(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect()
}

/// A container as the spec wants it: a base configuration with `over` replacing keys.
fn lxc(name: &str, vmid: u32, disk_gib: u64, over: &[(&str, Value)]) -> DesiredGuest {
    let mut create = map(&[
        ("vmid", json!(vmid)),
        ("hostname", json!(name)),
        ("ostemplate", json!("local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst")),
        ("cores", json!(2)),
        ("memory", json!(1024)),
        ("rootfs", json!(format!("local-lvm:{disk_gib}"))),
        ("net0", json!("name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1")),
        ("unprivileged", json!(1)),
        ("tags", json!("hearth")),
    ]);
    create.extend(over.iter().map(|(k, v)| ((*k).to_string(), v.clone())));
    DesiredGuest {
        name: name.into(),
        host: "pve".into(),
        node: "pve".into(),
        vmid,
        kind: GuestKind::Lxc,
        create,
        disk: ("rootfs".into(), disk_gib * 1024),
        managed: true,
        snapshot_keep: None,
    }
}

fn vm(name: &str, vmid: u32, over: &[(&str, Value)]) -> DesiredGuest {
    let mut create = map(&[
        ("vmid", json!(vmid)),
        ("name", json!(name)),
        ("cores", json!(2)),
        ("memory", json!("2048")),
        ("scsi0", json!("local-lvm:0,import-from=local:import/debian-12-genericcloud-amd64.qcow2,discard=on")),
        ("net0", json!("virtio,bridge=vmbr0")),
        ("nameserver", json!("10.0.0.53")),
        ("tags", json!("hearth")),
    ]);
    create.extend(over.iter().map(|(k, v)| ((*k).to_string(), v.clone())));
    DesiredGuest {
        name: name.into(),
        host: "pve".into(),
        node: "pve".into(),
        vmid,
        kind: GuestKind::Vm,
        create,
        disk: ("scsi0".into(), 16 * 1024),
        managed: true,
        snapshot_keep: None,
    }
}

/// The node's configuration of a guest created from `d` (what Proxmox writes back), with `over`
/// replacing keys (`Value::Null` removes one).
fn have(d: &DesiredGuest, running: bool, over: &[(&str, Value)]) -> ActualGuest {
    let mut config = d.create.clone();
    for k in ["vmid", "ostemplate"] {
        config.remove(k);
    }
    if d.kind == GuestKind::Lxc {
        config.insert("rootfs".into(), json!(format!("local-lvm:vm-{}-disk-0,size={}G", d.vmid, d.disk.1 / 1024)));
        let net = config["net0"].as_str().unwrap_or_default().to_string();
        config.insert("net0".into(), json!(format!("{net},hwaddr=BC:24:11:5E:00:01,type=veth")));
    } else {
        config.insert(
            "scsi0".into(),
            json!(format!("local-lvm:vm-{}-disk-0,discard=on,size={}G", d.vmid, d.disk.1 / 1024)),
        );
        config.insert("net0".into(), json!("virtio=BC:24:11:5E:00:02,bridge=vmbr0"));
    }
    config.insert("digest".into(), json!("0123abcd"));
    for (k, v) in over {
        if v.is_null() {
            config.remove(*k);
        } else {
            config.insert((*k).to_string(), v.clone());
        }
    }
    ActualGuest { vmid: d.vmid, kind: d.kind, running, config }
}

fn check(desired: &[DesiredGuest], actual: Vec<ActualGuest>, allow: &[&str], expected: &str) {
    let allow: Vec<String> = allow.iter().map(|s| (*s).to_string()).collect();
    let plan = plan_node("pve", desired, &Actual { guests: actual, bridges: None }, &allow);
    assert_eq!(text::plan(&[plan]), expected);
}

#[test]
fn creates_what_the_node_lacks() {
    check(
        &[lxc("web", 101, 8, &[]), vm("app", 201, &[])],
        vec![],
        &[],
        "guests on node pve:\n  + 101 web (lxc): create and start\n  + 201 app (vm): create and start\n",
    );
}

#[test]
fn the_same_configuration_is_unchanged() {
    let (web, app) = (lxc("web", 101, 8, &[]), vm("app", 201, &[]));
    check(
        &[web.clone(), app.clone()],
        vec![have(&web, true, &[("tags", json!("hearth"))]), have(&app, true, &[("vmgenid", json!("x"))])],
        &[],
        "guests on node pve:\n  = 101 web (lxc): unchanged\n  = 201 app (vm): unchanged\n",
    );
}

#[test]
fn container_memory_and_cores_apply_live() {
    let web = lxc("web", 101, 8, &[("memory", json!(2048)), ("cores", json!(4))]);
    check(
        std::slice::from_ref(&web),
        vec![have(&web, true, &[("memory", json!(1024)), ("cores", json!(2))])],
        &[],
        "guests on node pve:\n  ~ 101 web (lxc): 2 change(s)\n      cores: 2 -> 4 (live)\n      memory: 1024 -> 2048 (live)\n",
    );
}

#[test]
fn vm_memory_needs_a_restart_unless_hotplugged() {
    let app = vm("app", 201, &[("memory", json!("4096"))]);
    check(
        std::slice::from_ref(&app),
        vec![have(&app, true, &[("memory", json!("2048"))])],
        &[],
        "guests on node pve:\n  ~ 201 app (vm): 1 change(s), restart\n      memory: 2048 -> 4096 (needs restart)\n",
    );
    check(
        std::slice::from_ref(&app),
        vec![have(&app, true, &[("memory", json!("2048")), ("hotplug", json!("network,disk,memory"))])],
        &[],
        "guests on node pve:\n  ~ 201 app (vm): 1 change(s)\n      memory: 2048 -> 4096 (live)\n",
    );
    // A stopped VM takes everything at its next start: no restart.
    check(
        std::slice::from_ref(&app),
        vec![have(&app, false, &[("memory", json!("2048"))])],
        &[],
        "guests on node pve:\n  ~ 201 app (vm): 1 change(s), start\n      memory: 2048 -> 4096 (needs restart)\n",
    );
}

#[test]
fn cloud_init_and_network_changes_of_a_vm() {
    let app = vm("app", 201, &[("nameserver", json!("10.0.0.54")), ("net0", json!("virtio,bridge=vmbr0,tag=20"))]);
    check(
        std::slice::from_ref(&app),
        vec![have(
            &app,
            true,
            &[("nameserver", json!("10.0.0.53")), ("net0", json!("virtio=BC:24:11:5E:00:02,bridge=vmbr0"))],
        )],
        &[],
        "guests on node pve:\n  ~ 201 app (vm): 2 change(s), restart\n      net0: virtio=BC:24:11:5E:00:02,bridge=vmbr0 -> virtio,bridge=vmbr0,tag=20 (live)\n      nameserver: 10.0.0.53 -> 10.0.0.54 (needs restart)\n",
    );
}

#[test]
fn mount_points_devices_and_features() {
    let web = lxc(
        "web",
        101,
        8,
        &[
            ("mp0", json!("/tank/media,mp=/media")),
            ("mp1", json!("/tank/dl,mp=/downloads")),
            ("dev0", json!("/dev/dri/renderD128")),
            ("features", json!("keyctl=1,nesting=1")),
        ],
    );
    check(
        std::slice::from_ref(&web),
        vec![have(
            &web,
            true,
            &[
                ("mp0", json!("/tank/media,mp=/srv/media")),
                ("mp1", Value::Null),
                ("mp2", json!("/tank/old,mp=/old")),
                ("dev0", Value::Null),
                ("features", json!("nesting=1")),
            ],
        )],
        &[],
        "guests on node pve:\n  ~ 101 web (lxc): 5 change(s), restart\n      mp0: /tank/media,mp=/srv/media -> /tank/media,mp=/media (needs restart, as root on the node)\n      mp1: add /tank/dl,mp=/downloads (live, as root on the node)\n      dev0: add /dev/dri/renderD128 (live, as root on the node)\n      features: nesting=1 -> keyctl=1,nesting=1 (needs restart, as root on the node)\n      mp2: remove /tank/old,mp=/old (needs restart, as root on the node)\n",
    );
}

#[test]
fn disks_grow_and_never_shrink() {
    let web = lxc("web", 101, 16, &[]);
    check(
        std::slice::from_ref(&web),
        vec![have(&web, true, &[("rootfs", json!("local-lvm:vm-101-disk-0,size=8G"))])],
        &[],
        "guests on node pve:\n  ~ 101 web (lxc): disk growth\n      rootfs: grow 8G -> 16G (live)\n",
    );
    check(
        std::slice::from_ref(&web),
        vec![have(&web, true, &[("rootfs", json!("local-lvm:vm-101-disk-0,size=32G"))])],
        &[],
        "guests on node pve:\n  ! 101 web (lxc): refused\n      its disk `rootfs` is 32G on the node and 16G in the spec: Proxmox cannot shrink a disk; set `disk: 32G` or more, or recreate the guest\n",
    );
    let app = vm("app", 201, &[]);
    check(
        std::slice::from_ref(&app),
        vec![have(&app, true, &[("scsi0", json!("local-lvm:vm-201-disk-0,size=2G"))])],
        &[],
        "guests on node pve:\n  ~ 201 app (vm): disk growth\n      scsi0: grow 2G -> 16G (live)\n",
    );
}

#[test]
fn guests_without_the_hearth_tag_are_never_touched() {
    let web = lxc("web", 101, 8, &[]);
    let other = lxc("router", 150, 4, &[("tags", json!("network"))]);
    check(
        std::slice::from_ref(&web),
        vec![have(&web, true, &[("tags", json!("prod")), ("hostname", json!("legacy"))]), have(&other, true, &[])],
        &["router"],
        "guests on node pve:\n  ! 101 web (lxc): refused\n      id 101 is taken by `legacy`, which has no `hearth` tag: Hearth did not create it and leaves it alone; give guest `web` a free `id`\n  · 150 router (lxc): no `hearth` tag, left alone\n",
    );
}

#[test]
fn destroying_needs_allow_destroy() {
    let old = lxc("old", 120, 8, &[]);
    let old_vm = vm("legacy-vm", 220, &[]);
    let actual = vec![have(&old, true, &[]), have(&old_vm, false, &[])];
    check(
        &[],
        actual.clone(),
        &[],
        "guests on node pve:\n  ? 120 old (lxc): tagged `hearth` but not in the spec; kept (destroy it with `--allow-destroy old`)\n  ? 220 legacy-vm (vm): tagged `hearth` but not in the spec; kept (destroy it with `--allow-destroy legacy-vm`)\n",
    );
    check(
        &[],
        actual,
        &["old", "220"],
        "guests on node pve:\n  - 120 old (lxc): destroy (not in the spec, `--allow-destroy` names it)\n  - 220 legacy-vm (vm): destroy (not in the spec, `--allow-destroy` names it)\n",
    );
}

#[test]
fn stopped_guests_start_when_hearth_deploys_into_them() {
    let web = lxc("web", 101, 8, &[]);
    let mut haos = vm("haos", 300, &[]);
    haos.managed = false;
    check(
        &[web.clone(), haos.clone()],
        vec![have(&web, false, &[]), have(&haos, false, &[])],
        &[],
        "guests on node pve:\n  ~ 101 web (lxc): start\n  = 300 haos (vm): unchanged\n",
    );
}

#[test]
fn what_cannot_change_is_refused() {
    let web = lxc("web", 101, 8, &[("unprivileged", json!(0))]);
    check(
        std::slice::from_ref(&web),
        vec![have(&web, true, &[("unprivileged", json!(1))])],
        &[],
        "guests on node pve:\n  ! 101 web (lxc): refused\n      `unprivileged` cannot change once a container exists (the node has 1, the spec 0); recreate the container\n",
    );
    let app = vm("app", 101, &[]);
    check(
        &[app],
        vec![have(&web, true, &[])],
        &[],
        "guests on node pve:\n  ! 101 app (vm): refused\n      id 101 is a container on the node and a VM in the spec; Hearth does not convert one into the other (destroy it with `--allow-destroy web` after removing it from the spec, or give it another `id`)\n",
    );
}

#[test]
fn the_update_carries_the_digest_it_read() {
    let web = lxc("web", 101, 8, &[("memory", json!(2048))]);
    let plan = plan_node(
        "pve",
        std::slice::from_ref(&web),
        &Actual { guests: vec![have(&web, true, &[("memory", json!(512))])], bridges: None },
        &[],
    );
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["guests"][0]["action"]["digest"], json!("0123abcd"));
    assert_eq!(json["guests"][0]["action"]["action"], json!("update"));
}
