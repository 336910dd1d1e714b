//! `probe::prometheus` against a real Prometheus scraping itself and a dead target.

use std::process::Command;
use std::time::{Duration, Instant};

use hearth_verify::probe::prometheus::{Health, has_series, targets};

use super::common::{self, Server, TIMEOUT, TempDir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_targets_and_series() {
    let Some(prometheus) = common::program("prometheus", &[]) else { return };
    let dir = TempDir::new("prometheus");
    let port = common::free_port();
    let dead = common::free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n\
         \x20 - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n\
         \x20 - job_name: dead\n    static_configs:\n      - targets: ['127.0.0.1:{dead}']\n"
    );
    let conf = dir.path().join("prometheus.yml");
    std::fs::write(&conf, config).unwrap();
    let mut command = Command::new(prometheus);
    command
        .arg(format!("--config.file={}", conf.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let mut server = Server::start("prometheus", command, dir.path().join("log"));
    server.wait_for(port);
    let addr = common::loopback(port);

    // The API answers 503 until the TSDB is open; both targets are scraped within a few
    // intervals after that.
    let deadline = Instant::now() + Duration::from_secs(60);
    let found = loop {
        match targets(addr, TIMEOUT).await {
            Ok(found) if found.len() == 2 && found.iter().all(|t| t.health != Health::Unknown) => break found,
            Ok(found) if Instant::now() > deadline => break found,
            Err(e) if Instant::now() > deadline => panic!("{e}\n{}", server.log()),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    };
    let by_job = |job: &str| found.iter().find(|t| t.job == job).unwrap_or_else(|| panic!("no `{job}` in {found:?}"));
    let own = by_job("self");
    assert_eq!((own.health, own.instance.as_str()), (Health::Up, format!("127.0.0.1:{port}").as_str()));
    assert!(own.last_error.is_empty());
    let down = by_job("dead");
    assert_eq!(down.health, Health::Down);
    assert!(down.last_error.contains("refused"), "{}", down.last_error);
    assert_eq!(down.scrape_url, format!("http://127.0.0.1:{dead}/metrics"));

    assert!(has_series(addr, "up{job=\"self\"}", TIMEOUT).await.unwrap());
    assert!(has_series(addr, "prometheus_build_info", TIMEOUT).await.unwrap());
    assert!(!has_series(addr, "up{job=\"nothing-scrapes-this\"}", TIMEOUT).await.unwrap());
    let bad = has_series(addr, "up{", TIMEOUT).await.unwrap_err();
    assert!(bad.to_string().contains("400"), "{bad}");
    drop(server);
}
