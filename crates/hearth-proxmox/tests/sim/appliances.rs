//! Appliance VMs (`tests/valid/appliances.yaml`: pfSense, TrueNAS with an HBA, Windows 11 with
//! TPM and GPU, Home Assistant OS, DSM on whole disks with a data disk) created against the
//! simulator: each request passes its schema check, the config read back holds every parameter
//! Hearth sent (disks as the volumes the node made), and a second plan changes nothing.

use hearth_proxmox::property::same;
use hearth_pve_sim::state::Bridge;
use serde_json::json;

use crate::sim::harness::{assert_success, start_all};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appliances_are_created_as_the_spec_says() {
    let mut checked = 0;
    for node in start_all("tests/valid/appliances.yaml").await {
        // The router's WAN side is on a second bridge of the node.
        let (name, wan) = Bridge::parse_spec("vmbr1:eno2").expect("a bridge");
        node.sim.with_state(|s| s.bridges.insert(name, wan));
        let (plan, outcome) = node.apply().await;
        assert_success(&outcome);
        let created: Vec<u32> = node.guests().keys().copied().collect();
        let wanted: Vec<u32> = node.desired.iter().map(|d| d.vmid).collect();
        assert_eq!(created, wanted, "{}", hearth_proxmox::text::plan(std::slice::from_ref(&plan)));
        let refused = node.sim.with_stats(|st| st.refused.clone());
        assert!(refused.is_empty(), "refused requests: {refused:?}");
        for d in &node.desired {
            let config = node.sim.with_state(|s| s.guests[&d.vmid].config.clone());
            for (key, want) in &d.create {
                if matches!(key.as_str(), "vmid" | "ostemplate" | "ssh-public-keys") {
                    continue;
                }
                let have = config.get(key).unwrap_or_else(|| panic!("{}: `{key}` missing in {config:#?}", d.name));
                // The node names the EFI and TPM volumes itself.
                if matches!(key.as_str(), "efidisk0" | "tpmstate0") {
                    let store = want.as_str().and_then(|w| w.split(':').next()).unwrap_or_default();
                    assert!(have.starts_with(&format!("{store}:vm-{}-disk-", d.vmid)), "{}: {key} {have}", d.name);
                    continue;
                }
                assert!(same(key, want, &json!(have)), "{}: `{key}` is `{have}`, Hearth sent {want}", d.name);
                checked += 1;
            }
        }
        // What the appliances need, as the node has it.
        let config = |vmid: u32, key: &str| node.sim.with_state(|s| s.guests[&vmid].config.get(key).cloned());
        assert!(config(102, "tpmstate0").is_some_and(|t| t.contains("version=v2.0")), "Windows 11's TPM");
        assert_eq!(config(104, "sata1").as_deref(), Some("/dev/disk/by-id/ata-HDD0,backup=0"));
        assert!(config(104, "sata0").is_some_and(|d| d.starts_with("tank:vm-104-disk-") && d.contains("size=500G")));
        let again = node.plan(&[]).await;
        assert!(again.is_empty(), "second plan:\n{}", hearth_proxmox::text::plan(std::slice::from_ref(&again)));
    }
    assert!(checked > 50, "{checked} parameters compared");
}
