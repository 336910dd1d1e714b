//! The time to plan and apply every guest of each example against the simulator, with tasks
//! as long as the simulator's default (200 ms) so the two-tasks-per-node limit shows. Ignored by
//! default (it measures, it does not check). The clients poll and retry as `hearth apply` does
//! (`RetryPolicy::default()`). Run it with
//! `cargo test -p hearth-proxmox --release --test sim bench -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use hearth_proxmox::RetryPolicy;

use crate::sim::examples::EXAMPLES;
use crate::sim::harness::{assert_success, start_all_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn bench_plan_and_apply_every_example() {
    for spec in EXAMPLES {
        let nodes = start_all_with(spec, Duration::from_millis(200), RetryPolicy::default()).await;
        let guests: usize = nodes.iter().map(|n| n.desired.len()).sum();
        let started = Instant::now();
        for node in &nodes {
            let (_, outcome) = node.apply().await;
            assert_success(&outcome);
        }
        let apply = started.elapsed();
        let started = Instant::now();
        for node in &nodes {
            assert!(node.plan(&[]).await.is_empty());
        }
        let plan = started.elapsed();
        let requests: usize = nodes.iter().map(|n| n.client.sent().len()).sum();
        println!(
            "{spec}: {guests} guests on {} node(s): apply from nothing {:.2} s, no-op plan {:.3} s, {requests} requests",
            nodes.len(),
            apply.as_secs_f64(),
            plan.as_secs_f64()
        );
    }
}
