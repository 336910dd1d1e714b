//! Prometheus's HTTP API: the scrape targets (`/api/v1/targets`) and whether a selector has
//! series (`/api/v1/series`).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

use super::{ProbeError, web, within};

/// A target's health as Prometheus reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Up,
    Down,
    Unknown,
}

/// One active scrape target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The `job` label.
    pub job: String,
    /// The `instance` label.
    pub instance: String,
    pub scrape_url: String,
    pub health: Health,
    /// Empty when the last scrape worked.
    pub last_error: String,
}

/// The active targets, in Prometheus's order.
pub async fn targets(addr: SocketAddr, timeout: Duration) -> Result<Vec<Target>, ProbeError> {
    within(addr, timeout, async {
        let url = format!("http://{addr}/api/v1/targets?state=active");
        let body =
            web::json(addr, timeout, "Prometheus's targets API", web::plain(timeout)?.get(url).send().await).await?;
        parse_targets(&body)
    })
    .await
}

/// Whether `selector` (a series selector such as `up{job="node"}`) matches any series in the
/// server's head (the last few hours).
pub async fn has_series(addr: SocketAddr, selector: &str, timeout: Duration) -> Result<bool, ProbeError> {
    within(addr, timeout, async {
        let mut url = reqwest::Url::parse(&format!("http://{addr}/api/v1/series"))
            .map_err(|e| ProbeError::Protocol(format!("cannot build the series URL: {e}")))?;
        url.query_pairs_mut().append_pair("match[]", selector);
        let request = web::plain(timeout)?.get(url);
        let body = web::json(addr, timeout, "Prometheus's series API", request.send().await).await?;
        match body.get("data") {
            Some(Value::Array(series)) => Ok(!series.is_empty()),
            _ => Err(ProbeError::Protocol("Prometheus's series API answered without `data`".into())),
        }
    })
    .await
}

fn parse_targets(body: &Value) -> Result<Vec<Target>, ProbeError> {
    let Some(Value::Array(active)) = body.pointer("/data/activeTargets") else {
        return Err(ProbeError::Protocol("Prometheus's targets API answered without `data.activeTargets`".into()));
    };
    let text = |t: &Value, pointer: &str| t.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_string();
    Ok(active
        .iter()
        .map(|t| Target {
            job: text(t, "/labels/job"),
            instance: text(t, "/labels/instance"),
            scrape_url: text(t, "/scrapeUrl"),
            health: match t.get("health").and_then(Value::as_str) {
                Some("up") => Health::Up,
                Some("down") => Health::Down,
                _ => Health::Unknown,
            },
            last_error: text(t, "/lastError"),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of the API's documented answer.
    #[test]
    fn targets_read_labels_health_and_error() {
        let body: Value = serde_json::from_str(
            r#"{"status":"success","data":{"activeTargets":[
              {"labels":{"instance":"127.0.0.1:9090","job":"prometheus"},"scrapeUrl":"http://127.0.0.1:9090/metrics",
               "lastError":"","health":"up"},
              {"labels":{"instance":"127.0.0.1:1","job":"dead"},"scrapeUrl":"http://127.0.0.1:1/metrics",
               "lastError":"connection refused","health":"down"}],"droppedTargets":[]}}"#,
        )
        .unwrap();
        let t = parse_targets(&body).unwrap();
        assert_eq!(t[0].health, Health::Up);
        assert_eq!(
            (t[1].job.as_str(), t[1].health, t[1].last_error.as_str()),
            ("dead", Health::Down, "connection refused")
        );
        assert!(parse_targets(&serde_json::json!({"status":"error"})).is_err());
    }
}
