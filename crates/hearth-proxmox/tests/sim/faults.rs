//! Faults the simulator injects: lock contention and 5xx answers are retried; a failing create
//! or resize leaves no half-created guest and says which guest failed.

use hearth_proxmox::Error;

use crate::sim::harness::{assert_success, start_all};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_contention_and_5xx_are_retried() {
    let mut nodes = start_all("examples/lxc-media-apps-tunnel.yaml").await;
    let node = nodes.remove(0);
    node.fault(r#"{"kind":"lock","count":2,"method":"POST","path":"/lxc"}"#);
    node.fault(r#"{"kind":"status","count":2,"method":"GET","status":500,"message":"got timeout"}"#);
    node.fault(r#"{"kind":"status","count":1,"method":"POST","status":503,"message":"service unavailable"}"#);
    let (_, outcome) = node.apply().await;
    assert_success(&outcome);
    assert_eq!(node.guests().len(), node.desired.len());
    assert!(node.sim.with_faults(|f| f.rules.is_empty()), "every fault fired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_create_leaves_nothing_and_names_the_guest() {
    let mut nodes = start_all("examples/lxc-media-apps-tunnel.yaml").await;
    let node = nodes.remove(0);
    let victim = node.desired[0].clone();
    let path = format!("/nodes/{}/lxc", node.client.node());
    node.fault(&format!(r#"{{"kind":"task-fail","count":1,"method":"POST","path":"{path}","message":"unable to create CT {} - disk full"}}"#, victim.vmid));
    let (_, outcome) = node.apply().await;
    let failed: Vec<_> = outcome.guests.iter().filter(|g| g.error.is_some()).collect();
    assert_eq!(failed.len(), 1, "{outcome:?}");
    let text = failed[0].error.as_ref().unwrap().to_string();
    assert!(text.starts_with(&format!("guest `{}` ({}): task `UPID:", failed[0].name, failed[0].vmid)), "{text}");
    assert!(text.contains("disk full"), "{text}");
    assert!(!node.guests().contains_key(&failed[0].vmid), "no half-created guest");
    // The next apply creates it.
    let (_, again) = node.apply().await;
    assert_success(&again);
    assert_eq!(node.guests().len(), node.desired.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_resize_removes_the_vm_it_created() {
    let mut nodes = start_all("examples/minimal.yaml").await;
    let node = nodes.remove(0);
    let Some(vm) = node
        .desired
        .iter()
        .find(|d| d.create.get("scsi0").is_some_and(|v| v.to_string().contains("import-from")))
        .cloned()
    else {
        panic!("the example has a cloud-image VM");
    };
    node.fault(&format!(r#"{{"kind":"task-fail","count":1,"method":"PUT","path":"/qemu/{}/resize"}}"#, vm.vmid));
    let (_, outcome) = node.apply().await;
    let g = outcome.guests.iter().find(|g| g.vmid == vm.vmid).expect("the VM's outcome");
    assert!(matches!(g.error, Some(Error::Guest { .. })), "{g:?}");
    assert_eq!(g.notes, vec!["the partly created guest was removed".to_string()]);
    assert!(!node.guests().contains_key(&vm.vmid));
    assert_eq!(node.guests().len(), node.desired.len() - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_an_authentication_error() {
    let mut nodes = start_all("examples/minimal.yaml").await;
    let node = nodes.remove(0);
    let wrong = hearth_proxmox::Token::parse("hearth@pve!apply=wrong").unwrap();
    let endpoint = hearth_proxmox::Endpoint {
        node: node.client.node().to_string(),
        url: node.client.base_url().to_string(),
        trust: hearth_proxmox::Trust::Ca("/nonexistent".into()),
    };
    let client = hearth_proxmox::Client::connect(&endpoint, wrong, crate::sim::harness::fast()).await.unwrap();
    let err = client.actual().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the API token was refused by node `{}` (HTTP 401); check the token's name and secret and that it is not expired",
            node.client.node()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_answer_times_out_and_is_read_again() {
    let mut nodes = start_all("examples/minimal.yaml").await;
    let node = nodes.remove(0);
    node.fault(r#"{"kind":"delay","count":1,"method":"GET","ms":2000}"#);
    let policy = hearth_proxmox::RetryPolicy {
        request_timeout: std::time::Duration::from_millis(300),
        ..crate::sim::harness::fast()
    };
    let endpoint = hearth_proxmox::Endpoint {
        node: node.client.node().to_string(),
        url: node.client.base_url().to_string(),
        trust: hearth_proxmox::Trust::Ca("/nonexistent".into()),
    };
    let token = hearth_proxmox::Token::parse(crate::sim::harness::TOKEN).unwrap();
    let client = hearth_proxmox::Client::connect(&endpoint, token, policy).await.unwrap();
    assert!(client.actual().await.expect("read again after the timeout").guests.is_empty());
    let sent = client.sent();
    assert_eq!(sent[0], sent[1], "the timed-out read was sent again: {sent:?}");
}
