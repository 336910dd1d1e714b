//! Malformed requests by the thousand, from a fixed seed: every one gets a well-formed answer
//! with one of the real statuses (a panic would drop the connection and fail the read), and the
//! node still serves afterwards.

use serde_json::{Value, json};

use crate::common::{Body, TEMPLATE, start};

/// xorshift64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

const SEGMENTS: &[&str] = &[
    "nodes",
    "pve",
    "other",
    "lxc",
    "qemu",
    "101",
    "100",
    "0",
    "-1",
    "99999999999",
    "config",
    "status",
    "start",
    "stop",
    "resize",
    "tasks",
    "UPID:pve:1:2:3:x:y:z:",
    "UPID%3Abroken",
    "storage",
    "local",
    "local-lvm",
    "content",
    "aplinfo",
    "cluster",
    "backup",
    "nextid",
    "resources",
    "version",
    "%ZZ",
    "%00",
    "ä",
    "..",
    "",
    "network",
    "vmbr0",
    "pending",
];
/// Real endpoints with holes the generator fills: `N` a node, `I` a VMID, `S` any segment.
const TEMPLATES: &[&str] = &[
    "/nodes/N/lxc",
    "/nodes/N/lxc/I/config",
    "/nodes/N/lxc/I/status/start",
    "/nodes/N/lxc/I/status/stop",
    "/nodes/N/lxc/I/resize",
    "/nodes/N/lxc/I",
    "/nodes/N/qemu",
    "/nodes/N/qemu/I/config",
    "/nodes/N/qemu/I/resize",
    "/nodes/N/qemu/I/pending",
    "/nodes/N/qemu/I/status/reboot",
    "/nodes/N/tasks/S/status",
    "/nodes/N/tasks/S/log",
    "/nodes/N/storage/S/content",
    "/nodes/N/storage/S/download-url",
    "/nodes/N/aplinfo",
    "/nodes/N/network/S",
    "/cluster/backup",
    "/cluster/backup/S",
    "/cluster/nextid",
    "/cluster/resources",
    "/version",
];
const KEYS: &[&str] = &[
    "vmid",
    "node",
    "memory",
    "cores",
    "net0",
    "net99",
    "rootfs",
    "mp0",
    "ostemplate",
    "hostname",
    "tags",
    "digest",
    "delete",
    "size",
    "disk",
    "scsi0",
    "ipconfig0",
    "cicustom",
    "start",
    "unprivileged",
    "features",
    "storage",
    "template",
    "content",
    "upid",
    "id",
    "schedule",
    "lock",
    "bogus",
    "",
    "net",
    "dev0",
    "description",
    "type",
    "current",
    "limit",
];
/// Longer than any `maxLength` of the schema's strings that matter here.
const LONG: &str = concat!(
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
);
const VALUES: &[&str] = &[
    "",
    "0",
    "1",
    "-1",
    "101",
    "1e3",
    "true",
    "abc",
    "local-lvm:8",
    "local-lvm:-5",
    "local-lvm:0,import-from=",
    "name=eth0,bridge=vmbr0,ip=10.0.0.5/24",
    "name=,=,,=x",
    "=",
    ",,,",
    "name=eth0,name=eth1",
    "virtio,virtio",
    TEMPLATE,
    "local:vztmpl/../../etc/passwd",
    "+2G",
    "1.5T",
    "999999999999999999999",
    "%",
    "\u{0}",
    "ü",
    "keyctl=1,nesting=1",
    "/tank,mp=/x",
    "hearth;;;",
    LONG,
    "backup",
    "ip=dhcp,gw=",
    "rootfs",
];

fn value(rng: &mut Rng) -> Value {
    match rng.next() % 8 {
        0 => json!(rng.next() as i64 % 1_000_000),
        1 => json!(rng.next().is_multiple_of(2)),
        2 => json!([rng.pick(VALUES)]),
        3 => json!({ "x": rng.pick(VALUES) }),
        4 => Value::Null,
        _ => json!(rng.pick(VALUES)),
    }
}

#[tokio::test]
async fn malformed_requests_get_real_answers_and_no_panic() {
    let node = start(5, 100).await;
    node.create_ct("101", &[]).await;
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..1500u32 {
        let method = *rng.pick(&["GET", "POST", "PUT", "DELETE", "PATCH"]);
        let path: String = if rng.next().is_multiple_of(5) {
            let depth = 1 + rng.next() % 6;
            (0..depth).map(|_| format!("/{}", rng.pick(SEGMENTS))).collect()
        } else {
            let template = *rng.pick(TEMPLATES);
            let node = *rng.pick(&["pve", "pve", "pve", "other", "-x"]);
            let vmid = *rng.pick(&["101", "101", "102", "200", "99", "abc", "0101"]);
            let segment = *rng.pick(SEGMENTS);
            template.replace('N', node).replace("/I", &format!("/{vmid}")).replace('S', segment)
        };
        let count = rng.next() % 6;
        let answer = if i.is_multiple_of(2) {
            let pairs: Vec<(String, String)> =
                (0..count).map(|_| (rng.pick(KEYS).to_string(), rng.pick(VALUES).to_string())).collect();
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            node.api(method, &path, Body::Form(&refs)).await
        } else {
            let body: serde_json::Map<String, Value> =
                (0..count).map(|_| (rng.pick(KEYS).to_string(), value(&mut rng))).collect();
            node.api(method, &path, Body::Json(Value::Object(body))).await
        };
        assert!(matches!(answer.status, 200 | 400 | 403 | 500 | 501), "{method} {path}: {}", answer.shown());
        if answer.status != 200 {
            assert!(answer.body["message"].is_string(), "{method} {path}: {}", answer.shown());
            assert!(!answer.reason.is_empty() || answer.status == 501, "{method} {path}: {}", answer.shown());
        }
        *statuses.entry(answer.status).or_insert(0) += 1;
    }
    eprintln!("statuses: {statuses:?}");
    assert!(statuses.len() >= 4, "the inputs reach several outcomes: {statuses:?}");
    assert_eq!(node.get("/version").await.status, 200);
}
