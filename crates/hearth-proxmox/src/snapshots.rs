//! Snapshots before apply: the Proxmox snapshot Hearth takes of a guest it is about to change
//! (`POST .../snapshot`), named `hearth-YYYYMMDD-HHMMSS` (UTC) and described as Hearth's, and the
//! pruning of Hearth's own older snapshots beyond the guest's `keep` (`GET .../snapshot`,
//! `DELETE .../snapshot/{snapname}`). A snapshot is Hearth's only when both its name and its
//! description say so, so one an operator took (even named `hearth-…`) is never deleted.

use std::time::{SystemTime, UNIX_EPOCH};

use hearth_model::model::GuestKind;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::client::{Client, Method};
use crate::desired::kind_path;

/// The prefix of every snapshot name Hearth gives.
pub const PREFIX: &str = "hearth-";
/// The description Hearth writes on its snapshots, which pruning also requires.
pub const DESCRIPTION: &str = "Taken by hearth apply before changing this guest";

/// One snapshot of a guest, as `GET .../snapshot` lists it (without the `current` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub name: String,
    pub description: String,
    /// Seconds since the epoch; 0 when the node did not say.
    pub snaptime: u64,
}

impl Snapshot {
    /// Whether Hearth took it.
    pub fn is_hearths(&self) -> bool {
        self.name.starts_with(PREFIX) && self.description.trim_end() == DESCRIPTION
    }
}

/// The snapshot name for a moment: `hearth-20260301-040000` (a `pve-configid`, 22 characters).
pub fn name_at(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{PREFIX}{y:04}{m:02}{d:02}-{:02}{:02}{:02}", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The snapshots to delete so that `keep` of Hearth's remain, the newest kept: Hearth's own only,
/// oldest first.
pub fn to_prune(snapshots: &[Snapshot], keep: u32) -> Vec<String> {
    let mut ours: Vec<&Snapshot> = snapshots.iter().filter(|s| s.is_hearths()).collect();
    ours.sort_by(|a, b| (a.snaptime, &a.name).cmp(&(b.snaptime, &b.name)));
    let excess = ours.len().saturating_sub(keep as usize);
    ours.into_iter().take(excess).map(|s| s.name.clone()).collect()
}

impl Client {
    fn snapshot_path(&self, kind: GuestKind, vmid: u32) -> String {
        format!("/nodes/{}/{}/{vmid}/snapshot", self.node(), kind_path(kind))
    }

    /// `GET .../snapshot`: the guest's snapshots, without the `current` state.
    pub async fn snapshots(&self, kind: GuestKind, vmid: u32) -> Result<Vec<Snapshot>, Error> {
        let path = self.snapshot_path(kind, vmid);
        let Value::Array(entries) = self.get(&path, &Map::new()).await? else {
            return Err(Error::Protocol { what: format!("GET {path}"), reason: "the answer is not a list".into() });
        };
        Ok(entries
            .iter()
            .filter_map(|e| {
                let name = e.get("name")?.as_str()?.to_string();
                let description = e.get("description").and_then(Value::as_str).unwrap_or_default().to_string();
                let snaptime = e.get("snaptime").and_then(Value::as_u64).unwrap_or(0);
                (name != "current").then_some(Snapshot { name, description, snaptime })
            })
            .collect())
    }

    /// `POST .../snapshot` with Hearth's description, waiting for the task.
    pub async fn snapshot(&self, kind: GuestKind, vmid: u32, name: &str) -> Result<(), Error> {
        let path = self.snapshot_path(kind, vmid);
        let body: Map<String, Value> =
            [("snapname".to_string(), json!(name)), ("description".to_string(), json!(DESCRIPTION))]
                .into_iter()
                .collect();
        self.task(Method::Post, &path, &body).await
    }

    /// `DELETE .../snapshot/{name}`, waiting for the task.
    pub async fn delete_snapshot(&self, kind: GuestKind, vmid: u32, name: &str) -> Result<(), Error> {
        let path = format!("{}/{name}", self.snapshot_path(kind, vmid));
        self.task(Method::Delete, &path, &Map::new()).await
    }
}

/// What a snapshot before a change did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Taken {
    pub name: String,
    /// Hearth's older snapshots deleted to keep `keep`.
    pub pruned: Vec<String>,
    /// Deletions the node refused: the snapshot stands, the older ones stay.
    pub prune_errors: Vec<String>,
}

/// Takes Hearth's snapshot of a guest before it is changed, named for `at` (with `-1`, `-2`... when
/// a snapshot of that second exists), then deletes Hearth's oldest beyond `keep`. Only the
/// snapshot itself is an error: the caller must not change the guest without it.
pub async fn before_change(
    client: &Client,
    kind: GuestKind,
    vmid: u32,
    keep: u32,
    at: SystemTime,
) -> Result<Taken, Error> {
    let existing = client.snapshots(kind, vmid).await?;
    let base = name_at(at);
    let name = std::iter::once(base.clone())
        .chain((1..).map(|n| format!("{base}-{n}")))
        .find(|n| !existing.iter().any(|s| &s.name == n))
        .unwrap_or(base);
    client.snapshot(kind, vmid, &name).await?;
    let mut taken = Taken { name, ..Taken::default() };
    let after = client.snapshots(kind, vmid).await?;
    for old in to_prune(&after, keep) {
        match client.delete_snapshot(kind, vmid, &old).await {
            Ok(()) => taken.pruned.push(old),
            Err(e) => taken.prune_errors.push(format!("`{old}`: {e}")),
        }
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn snap(name: &str, description: &str, snaptime: u64) -> Snapshot {
        Snapshot { name: name.into(), description: description.into(), snaptime }
    }

    #[test]
    fn names() {
        assert_eq!(name_at(UNIX_EPOCH), "hearth-19700101-000000");
        assert_eq!(name_at(UNIX_EPOCH + Duration::from_secs(1_772_337_600)), "hearth-20260301-040000");
        assert_eq!(name_at(UNIX_EPOCH + Duration::from_secs(951_782_400 + 86_399)), "hearth-20000229-235959");
    }

    #[test]
    fn prunes_only_its_own_oldest() {
        let all = [
            snap("hearth-1", DESCRIPTION, 1),
            snap("hearth-2", DESCRIPTION, 2),
            snap("hearth-by-hand", "the operator's", 0),
            snap("pre-update", "", 0),
            snap("hearth-3", DESCRIPTION, 3),
        ];
        assert_eq!(to_prune(&all, 2), ["hearth-1"]);
        assert_eq!(to_prune(&all, 1), ["hearth-1", "hearth-2"]);
        assert!(to_prune(&all, 3).is_empty());
    }
}
