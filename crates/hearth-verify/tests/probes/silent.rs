//! Every probe against a server that accepts and never answers (each gives up after its timeout
//! with `ProbeError::Timeout` naming the address, instead of hanging) and against a port nothing
//! listens on (each says it cannot connect).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hearth_verify::probe::{self, Login, ProbeError};
use tokio::net::TcpListener;

/// A listener that accepts connections and holds them open in silence.
async fn silent() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

fn timed_out<T: std::fmt::Debug>(what: &str, addr: SocketAddr, started: Instant, result: Result<T, ProbeError>) {
    let elapsed = started.elapsed();
    match result {
        Err(ProbeError::Timeout { addr: a, .. }) => assert_eq!(a, addr, "{what}"),
        other => panic!("{what}: expected a timeout, got {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(10), "{what} took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_probe_gives_up_after_its_timeout() {
    let addr = silent().await;
    let t = Duration::from_millis(300);
    let login = Login { user: "app".into(), password: "pw".into(), database: "appdb".into() };

    let s = Instant::now();
    timed_out("postgres", addr, s, probe::postgres::login(addr, &login, t).await);
    let s = Instant::now();
    timed_out("mysql", addr, s, probe::mysql::login(addr, &login, t).await);
    let s = Instant::now();
    timed_out("mongo", addr, s, probe::mongo::login(addr, &login, "admin", t).await);
    let s = Instant::now();
    timed_out("redis", addr, s, probe::redis::ping(addr, &probe::redis::Auth::default(), t).await);
    let s = Instant::now();
    timed_out("dns", addr, s, probe::dns::resolve(addr, "app.lab.test", probe::dns::Family::V4, t).await);
    let bucket = probe::s3::Bucket {
        host: "s3.lab.test".into(),
        region: "us-east-1".into(),
        bucket: "b".into(),
        access_key: "k".into(),
        secret_key: "s".into(),
    };
    let s = Instant::now();
    timed_out("s3", addr, s, probe::s3::list(addr, &bucket, t).await);
    for https in [false, true] {
        let request = probe::http::Request { https, host: "app.lab.test".into(), path: "/".into(), ca_pem: None };
        let s = Instant::now();
        timed_out("http", addr, s, probe::http::get(addr, &request, t).await);
    }
    let s = Instant::now();
    timed_out("prometheus targets", addr, s, probe::prometheus::targets(addr, t).await);
    let s = Instant::now();
    timed_out("prometheus series", addr, s, probe::prometheus::has_series(addr, "up", t).await);
    let alert = probe::alertmanager::TestAlert { labels: BTreeMap::new(), annotations: BTreeMap::new() };
    let s = Instant::now();
    timed_out(
        "alertmanager",
        addr,
        s,
        probe::alertmanager::notify(addr, &alert, &["webhook".to_string()], Duration::from_secs(1), t).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_probe_says_when_nothing_listens() {
    let addr = super::common::loopback(super::common::free_port());
    let t = Duration::from_secs(10);
    let login = Login { user: "app".into(), password: "pw".into(), database: "appdb".into() };
    let refused = |what: &str, e: ProbeError| {
        assert!(matches!(e, ProbeError::Connect { addr: a, .. } if a == addr), "{what}: {e}");
    };
    refused("postgres", probe::postgres::login(addr, &login, t).await.unwrap_err());
    refused("mysql", probe::mysql::login(addr, &login, t).await.unwrap_err());
    refused("mongo", probe::mongo::login(addr, &login, "admin", t).await.unwrap_err());
    refused("redis", probe::redis::ping(addr, &probe::redis::Auth::default(), t).await.unwrap_err());
    refused("dns", probe::dns::resolve(addr, "a.lab.test", probe::dns::Family::V6, t).await.unwrap_err());
    for https in [false, true] {
        let request = probe::http::Request { https, host: "app.lab.test".into(), path: "/".into(), ca_pem: None };
        refused("http", probe::http::get(addr, &request, t).await.unwrap_err());
    }
    refused("prometheus", probe::prometheus::targets(addr, t).await.unwrap_err());
}
