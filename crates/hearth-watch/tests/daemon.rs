//! The daemon end to end on loopback: HTTP targets the test runs (one stopped mid-test and
//! started again, one that flaps), a webhook receiver, the page, `/api/status` and `/metrics`
//! (checked by promtool), and the history in SQLite.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{HttpTarget, Mode, Webhook, get};
use hearth_watch::alert::{Channel, Notifier};
use hearth_watch::server::Auth;
use hearth_watch::track::Policy;
use hearth_watch::{Config, time};

const INTERVAL: Duration = Duration::from_secs(1);

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hearth-watch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("watch.db")
}

/// `/api/status` as JSON.
async fn status(addr: std::net::SocketAddr) -> serde_json::Value {
    let (code, body) = get(addr, "/api/status", None).await;
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn check<'a>(status: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    status["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()
}

/// Polls `/api/status` until `until` holds for check `id`, for at most `limit`.
async fn wait_for(
    addr: std::net::SocketAddr,
    id: &str,
    limit: Duration,
    until: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let s = status(addr).await;
        if until(check(&s, id)) {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "check `{id}` never got there: {}", check(&s, id));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_target_shows_down_alerts_once_and_recovers_once() {
    let mut web = HttpTarget::start(Mode::Steady).await;
    let flappy = HttpTarget::start(Mode::Flapping).await;
    let hook = Webhook::start().await;
    let db = temp_db("daemon");
    let mut config = Config::new(
        "lab",
        vec![
            web.target("route/web.lab.test", "docker", "web", "apps", INTERVAL),
            flappy.target("route/flappy.lab.test", "docker", "flappy", "apps", INTERVAL),
        ],
        db.clone(),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.notifiers = vec![Notifier { name: "ops".into(), channel: Channel::Webhook { url: hook.url.clone() } }];
    config.policy = Policy { fail_after: 3, recover_after: 2 };
    config.flush_every = Duration::from_millis(200);
    config.log = Arc::new(|_| {});
    let daemon = hearth_watch::start(config).await.unwrap();
    let addr = daemon.addr;

    wait_for(addr, "route/web.lab.test", Duration::from_secs(10), |c| c["state"] == "up").await;

    // Stopped: the first run after the stop fails. Runs come once per interval (the
    // schedule's own tests, with a fake clock), so counting runs instead of timing them shows
    // the stop within one interval plus the probe's timeout: at most two runs end after the
    // stop, the first possibly started before it.
    let before = check(&status(addr).await, "route/web.lab.test")["checks"].as_u64().unwrap();
    web.stop();
    let s = wait_for(addr, "route/web.lab.test", Duration::from_secs(10), |c| c["state"] != "up").await;
    let c = check(&s, "route/web.lab.test");
    let runs = c["checks"].as_u64().unwrap() - before;
    assert!((1..=2).contains(&runs), "the stop showed after {runs} runs: {c}");
    assert!(c["reason"].as_str().unwrap().contains("cannot connect"), "{c}");
    let (_, page) = get(addr, "/", None).await;
    assert!(
        page.contains("id=\"check-route-web-lab-test\" data-state=\"flapping\"")
            || page.contains("id=\"check-route-web-lab-test\" data-state=\"down\"")
    );

    // Three failures in a row: an incident and one alert.
    let s = wait_for(addr, "route/web.lab.test", Duration::from_secs(10), |c| c["state"] == "down").await;
    assert_eq!(s["summary"]["down"], 1, "{}", s["summary"]);
    let open: Vec<&serde_json::Value> =
        s["incidents"].as_array().unwrap().iter().filter(|i| i["ended"].is_null()).collect();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["check"], "route/web.lab.test");
    let (_, page) = get(addr, "/", None).await;
    assert!(page.contains("id=\"check-route-web-lab-test\" data-state=\"down\""), "{page}");
    assert!(page.contains("id=\"service-web\" data-state=\"down\""));

    // Still down for three more intervals: no second alert.
    for _ in 0..100 {
        if !hook.statuses("route/web.lab.test").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(INTERVAL * 3).await;
    assert_eq!(hook.statuses("route/web.lab.test"), ["firing"]);

    web.restart().await;
    wait_for(addr, "route/web.lab.test", Duration::from_secs(10), |c| c["state"] == "up").await;
    // The recovery goes out as the incident closes; wait for it to arrive, then for two more
    // runs, which must send nothing.
    for _ in 0..100 {
        if hook.statuses("route/web.lab.test").len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(INTERVAL * 2).await;
    assert_eq!(hook.statuses("route/web.lab.test"), ["firing", "resolved"]);
    let firing = hook.messages.lock().unwrap()[0].clone();
    assert_eq!(firing["homelab"], "lab");
    assert_eq!(firing["machine"], "docker");

    // The flapping target answered 500 about half the time, never three times in a row.
    let s = status(addr).await;
    let f = check(&s, "route/flappy.lab.test");
    assert!(flappy.requests.load(std::sync::atomic::Ordering::SeqCst) >= 6, "{f}");
    assert!(f["recent"].as_array().unwrap().iter().any(serde_json::Value::is_null), "{f}");
    assert_eq!(hook.statuses("route/flappy.lab.test"), Vec::<String>::new(), "a flapping target raised alerts");

    // One past incident; the metrics parse.
    let past: Vec<&serde_json::Value> =
        s["incidents"].as_array().unwrap().iter().filter(|i| !i["ended"].is_null()).collect();
    assert_eq!(past.len(), 1);
    let (code, metrics) = get(addr, "/metrics", None).await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("hearth_watch_up{check=\"route/web.lab.test\",machine=\"docker\",kind=\"http\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("hearth_watch_alerts_total{channel=\"ops\",outcome=\"sent\"} 2"), "{metrics}");
    promtool(&metrics);
    daemon.stop().await;

    // The history survives: a new daemon on the same database sees the incident closed and
    // results recorded.
    let store = hearth_watch::store::Store::open(&db).unwrap();
    assert!(store.result_count().unwrap() >= 10);
    let incidents = store.incidents(10).unwrap();
    assert_eq!(incidents.len(), 1);
    assert!(incidents[0].ended.is_some() && incidents[0].announced);
    drop(store);
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_records_an_incident_without_alerts() {
    let mut web = HttpTarget::start(Mode::Steady).await;
    web.stop();
    let hook = Webhook::start().await;
    let db = temp_db("maintenance");
    let mut config = Config::new(
        "lab",
        vec![web.target("route/web.lab.test", "docker", "web", "apps", INTERVAL)],
        db.clone(),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.notifiers = vec![Notifier { name: "ops".into(), channel: Channel::Webhook { url: hook.url.clone() } }];
    let now = time::now();
    config.maintenance = vec![time::Window { start: now - 60_000, end: now + 3_600_000 }];
    config.flush_every = Duration::from_millis(200);
    config.log = Arc::new(|_| {});
    let daemon = hearth_watch::start(config).await.unwrap();
    wait_for(daemon.addr, "route/web.lab.test", Duration::from_secs(10), |c| c["state"] == "down").await;
    web.restart().await;
    wait_for(daemon.addr, "route/web.lab.test", Duration::from_secs(10), |c| c["state"] == "up").await;
    let s = status(daemon.addr).await;
    assert_eq!(s["incidents"][0]["announced"], false, "{}", s["incidents"]);
    let (_, page) = get(daemon.addr, "/", None).await;
    assert!(page.contains("(maintenance: not announced)"));
    daemon.stop().await;
    assert!(hook.messages.lock().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_addresses_need_a_token_and_every_route_asks_for_it() {
    let config = Config::new("lab", Vec::new(), temp_db("auth-refused"), "0.0.0.0:0".parse().unwrap());
    let _ = std::fs::remove_dir_all(temp_db("auth-refused").parent().unwrap());
    let err = hearth_watch::start(config).await.err().expect("started without auth");
    assert_eq!(
        err.to_string(),
        "listening on `0.0.0.0:0` needs authentication, since other machines can reach it; store a token with `hearth secrets set hearth-watch-token` (or listen on `127.0.0.1`)"
    );

    let db = temp_db("auth");
    let mut config = Config::new("lab", Vec::new(), db.clone(), "127.0.0.1:0".parse().unwrap());
    config.auth = Some(Auth::Token(hearth_verify::probe::Secret::new("tok-canary")));
    config.log = Arc::new(|_| {});
    let daemon = hearth_watch::start(config).await.unwrap();
    for path in ["/", "/api/status", "/metrics"] {
        let (code, body) = get(daemon.addr, path, None).await;
        assert_eq!(code, 401, "{path}");
        assert!(!body.contains("tok-canary"));
        assert_eq!(get(daemon.addr, path, Some("Bearer wrong")).await.0, 401, "{path}");
        assert_eq!(get(daemon.addr, path, Some("Bearer tok-canary")).await.0, 200, "{path}");
        // `me:tok-canary` in base64: browsers send the token as a basic-auth password.
        assert_eq!(get(daemon.addr, path, Some("Basic bWU6dG9rLWNhbmFyeQ==")).await.0, 200, "{path}");
    }
    daemon.stop().await;
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}

/// `promtool check metrics` accepts the text (it reads stdin; lint problems fail too).
fn promtool(metrics: &str) {
    use std::io::Write as _;
    let Ok(mut child) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        assert!(std::env::var_os("HEARTH_REQUIRE_VALIDATORS").is_none(), "promtool is not installed");
        eprintln!("skipped: promtool is not installed (scripts/validators.d/watch.sh installs it)");
        return;
    };
    child.stdin.take().unwrap().write_all(metrics.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool refused /metrics:\n{}{}\n{metrics}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
