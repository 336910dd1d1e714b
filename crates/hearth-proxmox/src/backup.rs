//! The plan of a node's whole-guest backup jobs (`/cluster/backup`): the spec's
//! (`hearth_render::pbs::backup_jobs`, the same jobs the render writes to `jobs.cfg`) against the
//! node's. Pure.
//!
//! Rules:
//! - a job the node lacks is created;
//! - a Hearth job whose properties differ is updated with the changed ones (and `delete` of
//!   those the spec no longer sets). The API keeps no digest per backup job (`PUT
//!   /cluster/backup/{id}` takes none), so the update is not guarded as a guest's is;
//! - a job Hearth made (its `comment` starts with `hearth_render::pbs::JOB_MARK`) that the spec
//!   no longer has is deleted: it holds no data, and the backups it made stay in their storage;
//! - a job without the mark is never touched: at a spec job's id it is refused, elsewhere it is
//!   not part of the plan (jobs made by hand, or another node's in a cluster).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::scalar;
use crate::property::parts;

/// A backup job as the spec wants it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredJob {
    pub id: String,
    /// Its properties as the API takes them (without `id`).
    pub params: Map<String, Value>,
}

/// The spec's backup jobs of `host`.
pub fn desired_jobs(model: &hearth_model::Model, host: &str) -> Vec<DesiredJob> {
    hearth_render::pbs::backup_jobs(model)
        .into_iter()
        .filter(|j| j.host == host)
        .map(|j| DesiredJob { id: j.id, params: j.params })
        .collect()
}

/// Whether Hearth made a job (`GET /cluster/backup` entry): its comment carries the mark.
pub fn is_hearths(job: &Map<String, Value>) -> bool {
    job.get("comment").and_then(Value::as_str).is_some_and(|c| c.starts_with(hearth_render::pbs::JOB_MARK))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobPlan {
    pub id: String,
    pub action: JobAction,
    /// The spec's properties of the job (none for one to delete), which apply sends.
    #[serde(skip)]
    pub params: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum JobAction {
    Create,
    /// `PUT /cluster/backup/{id}` with the changed properties and `delete` of removed ones.
    Update {
        changes: Vec<JobChange>,
    },
    Unchanged,
    /// A Hearth job the spec no longer has.
    Delete,
    /// The id is taken by a job Hearth did not make.
    Refused {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobChange {
    pub key: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Keys the node reports that are no job property Hearth sets.
const NODE_KEYS: [&str; 4] = ["id", "type", "next-run", "digest"];

/// Whether two values of a job property say the same: property strings compared as sets of
/// parts (`keep-weekly=4,keep-daily=7`), lists as sets (`vmid`), booleans as `0`/`1`.
fn same(key: &str, want: &Value, have: &Value) -> bool {
    let (w, h) = (scalar(want), scalar(have));
    if w == h {
        return true;
    }
    let set = |s: &str| {
        let mut p = parts(s);
        p.sort();
        p
    };
    match key {
        "prune-backups" | "vmid" => set(&w) == set(&h),
        _ => false,
    }
}

/// The plan of a node's backup jobs: `desired` from the spec, `actual` from
/// `GET /cluster/backup`.
pub fn plan_jobs(desired: &[DesiredJob], actual: &[Map<String, Value>]) -> Vec<JobPlan> {
    let id_of = |j: &Map<String, Value>| j.get("id").map(scalar).unwrap_or_default();
    let mut out = Vec::new();
    for d in desired {
        let action = match actual.iter().find(|a| id_of(a) == d.id) {
            None => JobAction::Create,
            Some(a) if !is_hearths(a) => JobAction::Refused {
                reason: format!(
                    "backup job `{}` exists on the node without Hearth's mark in its `comment`: Hearth did not make it and leaves it alone; delete it on the node (Datacenter > Backup) to let Hearth make its own",
                    d.id
                ),
            },
            Some(a) => {
                let mut changes = Vec::new();
                for (key, want) in &d.params {
                    match a.get(key) {
                        Some(have) if same(key, want, have) => {}
                        have => {
                            changes.push(JobChange { key: key.clone(), from: have.map(scalar), to: Some(scalar(want)) })
                        }
                    }
                }
                for (key, have) in a {
                    if !d.params.contains_key(key) && !NODE_KEYS.contains(&key.as_str()) {
                        changes.push(JobChange { key: key.clone(), from: Some(scalar(have)), to: None });
                    }
                }
                if changes.is_empty() { JobAction::Unchanged } else { JobAction::Update { changes } }
            }
        };
        out.push(JobPlan { id: d.id.clone(), action, params: d.params.clone() });
    }
    for a in actual {
        let id = id_of(a);
        if is_hearths(a) && !desired.iter().any(|d| d.id == id) {
            out.push(JobPlan { id, action: JobAction::Delete, params: Map::new() });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}
