//! Alertmanager: post a test alert to `/api/v2/alerts` and tell, from Alertmanager's own
//! `alertmanager_notifications_total` and `alertmanager_notifications_failed_total` counters
//! before and after, whether each integration's notification went out.
//!
//! A notification counts in `alertmanager_notifications_total` when its first try starts, and in
//! `..._failed_total` only once every retry has failed (ten seconds or more for a receiver that
//! is down). The per-request counters (`alertmanager_notification_requests_total` and
//! `..._requests_failed_total`, since 0.22) tell sooner: a request that did not fail means the
//! notification went out. So the outcome is `Sent` once a request succeeded, `Failed` once a
//! notification failed (or, when the wait ends, when every request so far failed).
//!
//! The counters are labelled by `integration` (and, from Alertmanager 0.26 on, `receiver_name`),
//! so a delivery is reported per integration, or per receiver and integration where the server
//! says. After the wait the alert is resolved (posted again with `endsAt` now), so the probe
//! leaves nothing firing.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::clock::Utc;
use super::{ProbeError, web};

/// The alert to post. Its labels decide the route, hence the receivers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TestAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// What happened to one integration (`webhook`, `email`, `telegram`…) of one receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The receiver, when Alertmanager's metrics name it (`receiver_name`, newer versions).
    pub receiver: Option<String>,
    pub integration: String,
    pub outcome: Outcome,
}

/// Whether the notification went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A request to the integration succeeded.
    Sent,
    /// The notification failed, or every request so far failed.
    Failed,
    /// No attempt was counted before the wait ran out.
    NotAttempted,
}

/// The four counters of one (receiver, integration).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Count {
    notifications: f64,
    notifications_failed: f64,
    requests: f64,
    requests_failed: f64,
}

/// Counters by (receiver, integration).
type Counters = BTreeMap<(Option<String>, String), Count>;

/// Posts the alert, then watches the counters for up to `wait` (cover the route's `group_wait`)
/// until each of `integrations` has a definite outcome. `timeout` bounds each HTTP request.
pub async fn notify(
    addr: SocketAddr,
    alert: &TestAlert,
    integrations: &[String],
    wait: Duration,
    timeout: Duration,
) -> Result<Vec<Delivery>, ProbeError> {
    let client = web::plain(timeout)?;
    let before = counters(&client, addr, timeout).await?;
    post(&client, addr, timeout, alert, None).await?;
    let deadline = tokio::time::Instant::now() + wait;
    let mut after = before.clone();
    loop {
        let settled = integrations.iter().all(|i| {
            after.iter().any(|(key, now)| key.1 == *i && definite(&before.get(key).copied().unwrap_or_default(), now))
        });
        if settled || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = counters(&client, addr, timeout).await?;
    }
    post(&client, addr, timeout, alert, Some(Utc::now().rfc3339())).await?;
    Ok(deliveries(&before, &after, integrations))
}

/// Whether the change from `before` to `now` already decides the outcome.
fn definite(before: &Count, now: &Count) -> bool {
    now.requests - now.requests_failed > before.requests - before.requests_failed
        || now.notifications_failed > before.notifications_failed
}

fn outcome(before: &Count, now: &Count) -> Outcome {
    let requests = now.requests - before.requests;
    let requests_failed = now.requests_failed - before.requests_failed;
    if requests > requests_failed {
        Outcome::Sent
    } else if now.notifications_failed > before.notifications_failed || requests_failed > 0.0 {
        Outcome::Failed
    } else if now.notifications > before.notifications && now.requests == 0.0 && now.requests_failed == 0.0 {
        // A server without the request counters: an attempt that has not failed is taken as sent.
        Outcome::Sent
    } else {
        Outcome::NotAttempted
    }
}

/// Compares the counters: one delivery per counter series of the asked integrations.
fn deliveries(before: &Counters, after: &Counters, integrations: &[String]) -> Vec<Delivery> {
    let mut out = Vec::new();
    for integration in integrations {
        let series: Vec<_> = after.iter().filter(|((_, i), _)| i == integration).collect();
        if series.is_empty() {
            out.push(Delivery { receiver: None, integration: integration.clone(), outcome: Outcome::NotAttempted });
        }
        for (key, now) in series {
            let outcome = outcome(&before.get(key).copied().unwrap_or_default(), now);
            out.push(Delivery { receiver: key.0.clone(), integration: integration.clone(), outcome });
        }
    }
    out
}

async fn post(
    client: &reqwest::Client,
    addr: SocketAddr,
    timeout: Duration,
    alert: &TestAlert,
    ends_at: Option<String>,
) -> Result<(), ProbeError> {
    let mut body = serde_json::json!({ "labels": alert.labels, "annotations": alert.annotations });
    if let Some(end) = ends_at {
        body["endsAt"] = serde_json::Value::String(end);
    }
    let response = client
        .post(format!("http://{addr}/api/v2/alerts"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::Value::Array(vec![body]).to_string())
        .send()
        .await
        .map_err(|e| web::failed(addr, timeout, e))?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        return Err(ProbeError::Protocol(format!("Alertmanager refused the test alert: {status} {text}")));
    }
    Ok(())
}

async fn counters(client: &reqwest::Client, addr: SocketAddr, timeout: Duration) -> Result<Counters, ProbeError> {
    let response =
        client.get(format!("http://{addr}/metrics")).send().await.map_err(|e| web::failed(addr, timeout, e))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| web::failed(addr, timeout, e))?;
    if !status.is_success() {
        return Err(ProbeError::Protocol(format!("Alertmanager's /metrics answered {status}")));
    }
    Ok(parse_counters(&text))
}

/// Reads the four counters out of the Prometheus text format.
fn parse_counters(text: &str) -> Counters {
    let mut out = Counters::new();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once('{') else { continue };
        let field: fn(&mut Count) -> &mut f64 = match name {
            "alertmanager_notifications_total" => |c| &mut c.notifications,
            "alertmanager_notifications_failed_total" => |c| &mut c.notifications_failed,
            "alertmanager_notification_requests_total" => |c| &mut c.requests,
            "alertmanager_notification_requests_failed_total" => |c| &mut c.requests_failed,
            _ => continue,
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else { continue };
        let Ok(value) = value.split_whitespace().next().unwrap_or_default().parse::<f64>() else { continue };
        let label = |name: &str| {
            labels
                .split(',')
                .find_map(|l| l.strip_prefix(name)?.strip_prefix("=\"")?.strip_suffix('"').map(str::to_string))
        };
        let Some(integration) = label("integration") else { continue };
        // Failures carry a `reason` label in newer versions: their series add up.
        *field(out.entry((label("receiver_name"), integration)).or_default()) += value;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(n: f64, nf: f64, r: f64, rf: f64) -> Count {
        Count { notifications: n, notifications_failed: nf, requests: r, requests_failed: rf }
    }

    #[test]
    fn counters_are_read_with_and_without_receiver_names() {
        let old = "# TYPE alertmanager_notifications_total counter\n\
                   alertmanager_notifications_total{integration=\"webhook\"} 3\n\
                   alertmanager_notifications_failed_total{integration=\"webhook\"} 1\n\
                   alertmanager_notification_requests_total{integration=\"webhook\"} 5\n\
                   alertmanager_notification_requests_failed_total{integration=\"webhook\"} 2\n\
                   alertmanager_notification_latency_seconds_count{integration=\"webhook\"} 9\n";
        let c = parse_counters(old);
        assert_eq!(c[&(None, "webhook".to_string())], count(3.0, 1.0, 5.0, 2.0));
        let new = "alertmanager_notifications_total{integration=\"webhook\",receiver_name=\"ops\"} 2\n\
                   alertmanager_notifications_failed_total{integration=\"webhook\",reason=\"other\",receiver_name=\"ops\"} 1\n\
                   alertmanager_notifications_failed_total{integration=\"webhook\",reason=\"clientError\",receiver_name=\"ops\"} 1\n";
        let c = parse_counters(new);
        assert_eq!(c[&(Some("ops".to_string()), "webhook".to_string())], count(2.0, 2.0, 0.0, 0.0));
    }

    #[test]
    fn outcomes_compare_before_and_after() {
        let key = |i: &str| (None, i.to_string());
        let before = Counters::from([
            (key("webhook"), count(3.0, 1.0, 3.0, 1.0)),
            (key("email"), count(0.0, 0.0, 0.0, 0.0)),
            (key("telegram"), count(0.0, 0.0, 0.0, 0.0)),
        ]);
        let after = Counters::from([
            (key("webhook"), count(4.0, 1.0, 4.0, 1.0)),
            // Still retrying, every request failed: failed, but not yet definite.
            (key("email"), count(1.0, 0.0, 2.0, 2.0)),
            (key("telegram"), count(0.0, 0.0, 0.0, 0.0)),
        ]);
        let names = ["webhook", "email", "telegram", "slack"].map(String::from);
        let outcomes: Vec<Outcome> = deliveries(&before, &after, &names).into_iter().map(|d| d.outcome).collect();
        assert_eq!(outcomes, vec![Outcome::Sent, Outcome::Failed, Outcome::NotAttempted, Outcome::NotAttempted]);
        assert!(definite(&before[&key("webhook")], &after[&key("webhook")]));
        assert!(!definite(&before[&key("email")], &after[&key("email")]));
    }
}
