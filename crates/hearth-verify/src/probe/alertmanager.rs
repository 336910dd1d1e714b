//! Alertmanager: post a test alert to `/api/v2/alerts` and tell, from Alertmanager's own
//! `alertmanager_notifications_total` and `alertmanager_notifications_failed_total` counters
//! before and after, whether each integration's notification went out.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::ProbeError;

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
    /// More notifications were attempted than failed.
    Sent,
    /// Every attempt failed.
    Failed,
    /// No attempt was counted before the wait ran out.
    NotAttempted,
}

/// Posts the alert, then watches the counters for up to `wait` (cover the route's `group_wait`)
/// until each of `integrations` has been attempted. `timeout` bounds each HTTP request.
pub async fn notify(
    addr: SocketAddr,
    alert: &TestAlert,
    integrations: &[String],
    wait: Duration,
    timeout: Duration,
) -> Result<Vec<Delivery>, ProbeError> {
    let _ = (addr, alert, integrations, wait, timeout);
    todo!()
}
