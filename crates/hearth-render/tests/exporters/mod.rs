//! The database exporters run for real against the throwaway servers of `data.rs`: each is
//! started with the environment file Hearth renders for it (its connection's address replaced
//! by the test server's, since a spec address is never contacted), and its `/metrics` must say
//! it reached the server (`pg_up 1`, `redis_up 1`). That proves the rendered login, password and
//! `pg_monitor` grant are what the exporter needs.

pub mod mongo;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The variables of a rendered environment file (`VAR=value`, values single-quoted as
/// `sh_quote` writes them), with `overrides` replacing some.
pub fn variables(content: &str, overrides: &[(&str, String)]) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = content
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .map_or_else(|| v.to_string(), |inner| inner.replace("'\\''", "'"));
            (k.to_string(), v)
        })
        .collect();
    for (k, v) in overrides {
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v.clone()));
    }
    vars
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `binary` with the environment of `env_file` (and `overrides`) on loopback `port`, and
/// returns its metrics once it answers (panics after 15 s, or with its log when it exits). Its
/// log is a pipe nobody reads while it runs: a few lines in the seconds it lives.
pub fn scrape(binary: &str, env_file: &str, overrides: &[(&str, String)], port: u16) -> String {
    let child = Command::new(binary)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .envs(variables(env_file, overrides))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{binary}: {e}"));
    let mut running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            let mut err = String::new();
            let _ = running.0.stderr.take().map(|mut e| e.read_to_string(&mut err));
            panic!("{binary} exited ({status}):\n{err}");
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
            let mut body = String::new();
            if s.read_to_string(&mut body).is_ok() && body.starts_with("HTTP/1.0 200") {
                return body;
            }
        }
        assert!(Instant::now() < deadline, "{binary} did not answer on 127.0.0.1:{port}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Whether the metrics hold `series` with value 1 (`pg_up 1`).
pub fn is_one(metrics: &str, series: &str) -> bool {
    metrics.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == [series, "1"])
}
