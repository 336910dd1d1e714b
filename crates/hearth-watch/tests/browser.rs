//! The status page in a real browser: Debian's headless Chromium loads it from the daemon on
//! loopback, prints the DOM it built (`--dump-dom`) and takes a screenshot (`--screenshot`),
//! once with every target up and once after one went down. Skips when Chromium is missing,
//! unless `HEARTH_REQUIRE_VALIDATORS` is set (scripts/validators.d/watch.sh installs it).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{HttpTarget, Mode, get};
use hearth_watch::Config;

fn chromium() -> Option<&'static str> {
    let found =
        ["chromium", "chromium-browser"].into_iter().find(|c| Command::new(c).arg("--version").output().is_ok());
    if found.is_none() {
        assert!(std::env::var_os("HEARTH_REQUIRE_VALIDATORS").is_none(), "chromium is not installed");
        eprintln!("skipped: chromium is not installed (scripts/validators.d/watch.sh installs it)");
    }
    found
}

/// Runs headless Chromium on `url` with `args`; its standard output.
fn browse(browser: &str, url: &str, profile: &Path, args: &[&str]) -> String {
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-proxy-server", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--window-size=1280,1000", "--hide-scrollbars"])
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The `data-state` of the element with `id` in `dom`.
fn state_of(dom: &str, id: &str) -> String {
    let at = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no element `{id}` in the page"));
    let rest = &dom[at..];
    let end = rest.find('>').unwrap();
    let tag = &rest[..end];
    let s = tag.find("data-state=\"").unwrap_or_else(|| panic!("`{id}` has no state: {tag}")) + 12;
    tag[s..].split('"').next().unwrap().to_string()
}

fn screenshot(browser: &str, url: &str, profile: &Path, file: &Path) {
    let _ = std::fs::remove_file(file);
    browse(browser, url, profile, &[&format!("--screenshot={}", file.display())]);
    let png = std::fs::read(file).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "{} is not a page's PNG", file.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_each_state_in_a_browser() {
    let Some(browser) = chromium() else { return };
    let dir = std::env::temp_dir().join(format!("hearth-watch-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Screenshots stay under target/ for a person to look at.
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/watch-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let mut web = HttpTarget::start(Mode::Steady).await;
    let api = HttpTarget::start(Mode::Steady).await;
    let interval = Duration::from_secs(1);
    let mut config = Config::new(
        "lab",
        vec![
            web.target("route/web.lab.test", "docker", "web", "media", interval),
            api.target("route/api.lab.test", "apps", "api", "tools", interval),
        ],
        dir.join("watch.db"),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.flush_every = Duration::from_millis(200);
    config.log = Arc::new(|_| {});
    let daemon = hearth_watch::start(config).await.unwrap();
    let url = format!("http://{}/", daemon.addr);
    let wait = |want: &'static str| {
        let addr = daemon.addr;
        async move {
            for _ in 0..150 {
                let (_, body) = get(addr, "/api/status", None).await;
                let s: serde_json::Value = serde_json::from_str(&body).unwrap();
                if s["checks"].as_array().unwrap().iter().find(|c| c["id"] == "route/web.lab.test").unwrap()["state"]
                    == want
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("never {want}");
        }
    };
    wait("up").await;
    wait_all_up(daemon.addr).await;

    let b = browser.to_string();
    let (u, d) = (url.clone(), dir.clone());
    let dom = tokio::task::spawn_blocking(move || browse(&b, &u, &d.join("profile"), &["--dump-dom"])).await.unwrap();
    assert!(dom.contains("<h1>lab status</h1>"), "{dom}");
    assert_eq!(state_of(&dom, "summary"), "up");
    assert_eq!(state_of(&dom, "check-route-web-lab-test"), "up");
    assert_eq!(state_of(&dom, "machine-docker"), "up");
    assert_eq!(state_of(&dom, "service-web"), "up");
    assert!(dom.contains("id=\"group-media\"") && dom.contains("id=\"group-tools\""));
    assert!(dom.contains("No open incident"));
    assert!(dom.contains("<svg class=\"spark\""), "no sparkline");
    let (b, u, d, f) = (browser.to_string(), url.clone(), dir.clone(), shots.join("all-up.png"));
    tokio::task::spawn_blocking(move || screenshot(&b, &u, &d.join("profile"), &f)).await.unwrap();

    web.stop();
    wait("down").await;
    let (b, u, d) = (browser.to_string(), url.clone(), dir.clone());
    let dom = tokio::task::spawn_blocking(move || browse(&b, &u, &d.join("profile"), &["--dump-dom"])).await.unwrap();
    assert_eq!(state_of(&dom, "summary"), "down");
    assert_eq!(state_of(&dom, "check-route-web-lab-test"), "down");
    assert_eq!(state_of(&dom, "check-route-api-lab-test"), "up");
    assert_eq!(state_of(&dom, "machine-docker"), "down");
    assert_eq!(state_of(&dom, "machine-apps"), "up");
    assert_eq!(state_of(&dom, "service-web"), "down");
    let open = &dom[dom.find("id=\"open-incidents\"").unwrap()..dom.find("id=\"by-machine\"").unwrap()];
    assert!(open.contains("data-check=\"route/web.lab.test\""), "{open}");
    assert!(open.contains("Connection refused"), "{open}");
    let (b, u, d, f) = (browser.to_string(), url.clone(), dir.clone(), shots.join("one-down.png"));
    tokio::task::spawn_blocking(move || screenshot(&b, &u, &d.join("profile"), &f)).await.unwrap();

    daemon.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits until no check is pending (both targets have run once).
async fn wait_all_up(addr: std::net::SocketAddr) {
    for _ in 0..150 {
        let (_, body) = get(addr, "/api/status", None).await;
        let s: serde_json::Value = serde_json::from_str(&body).unwrap();
        if s["summary"]["up"] == 2 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the checks never all passed");
}
