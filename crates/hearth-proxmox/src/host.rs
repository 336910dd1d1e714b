//! A Proxmox host's own steps beside its guests: its ZFS datasets (read and made as root over
//! SSH, `NodeShell`) and its whole-guest backup jobs (`/cluster/backup`). `read` gathers what
//! the node has, `plan` (pure, in `zfs` and `backup`) compares, and `apply_datasets` (before the
//! guests, whose mount points use the datasets) and `apply_jobs` (after them) carry it out.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::backup::{self, DesiredJob, JobAction, JobPlan};
use crate::shell::NodeShell;
use crate::zfs::{self, ActualDatasets, DatasetAction, DatasetPlan};
use crate::{Client, Error};

/// What the spec asks of a host itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesiredHost {
    pub datasets: Vec<hearth_render::zfs::Dataset>,
    pub jobs: Vec<DesiredJob>,
}

/// The spec's datasets and backup jobs of `host`.
pub fn desired_host(model: &hearth_model::Model, host: &str) -> DesiredHost {
    DesiredHost {
        datasets: model.hosts.get(host).map(hearth_render::zfs::host_datasets).unwrap_or_default(),
        jobs: backup::desired_jobs(model, host),
    }
}

/// The plan of a host's own steps.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostPlan {
    pub datasets: Datasets,
    pub jobs: Vec<JobPlan>,
}

/// The datasets' plan, or why there is none.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Datasets {
    /// The spec has no ZFS datasets on the host.
    #[default]
    None,
    /// They could not be read (no SSH to the node): not planned.
    NotRead {
        reason: String,
    },
    Planned {
        datasets: Vec<DatasetPlan>,
    },
}

impl HostPlan {
    /// Whether applying it would change nothing.
    pub fn is_empty(&self) -> bool {
        let datasets = match &self.datasets {
            Datasets::Planned { datasets } => {
                datasets.iter().all(|d| matches!(d.action, DatasetAction::Unchanged | DatasetAction::Refused { .. }))
            }
            _ => true,
        };
        datasets && self.jobs.iter().all(|j| matches!(j.action, JobAction::Unchanged | JobAction::Refused { .. }))
    }

    /// What it refuses, as `(what, reason)`: a dataset or a job.
    pub fn refusals(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Datasets::Planned { datasets } = &self.datasets {
            for d in datasets {
                if let DatasetAction::Refused { reasons } = &d.action {
                    out.extend(reasons.iter().map(|r| (format!("ZFS dataset `{}`", d.name), r.clone())));
                }
            }
        }
        for j in &self.jobs {
            if let JobAction::Refused { reason } = &j.action {
                out.push((format!("backup job `{}`", j.id), reason.clone()));
            }
        }
        out
    }
}

/// Reads what the node has and plans the host's steps. The datasets are read with `zfs get` over
/// `shell`; a shell that cannot run it leaves them unplanned (the reason is in the plan).
pub async fn plan_host(client: &Client, shell: &dyn NodeShell, desired: &DesiredHost) -> Result<HostPlan, Error> {
    let jobs = backup::plan_jobs(&desired.jobs, &client.backup_jobs().await?);
    let datasets = read_datasets(shell, client.node(), &desired.datasets).await;
    Ok(HostPlan { datasets, jobs })
}

/// Reads the datasets of the spec's pools from the node and plans them.
pub async fn read_datasets(shell: &dyn NodeShell, node: &str, desired: &[hearth_render::zfs::Dataset]) -> Datasets {
    if desired.is_empty() {
        return Datasets::None;
    }
    let mut actual = ActualDatasets::new();
    for pool in zfs::pools(desired) {
        match shell.output(node, &zfs::read_argv(&pool, desired)).await {
            Ok(out) => zfs::parse_get(&out, &mut actual),
            // A pool the node lacks is the plan's to refuse, not a failure to read.
            Err(why) if why.contains("does not exist") => {}
            Err(reason) => return Datasets::NotRead { reason },
        }
    }
    Datasets::Planned { datasets: zfs::plan_datasets(desired, &actual) }
}

/// One host step done (or failed).
#[derive(Debug, Serialize)]
pub struct StepOutcome {
    /// `ZFS dataset tank/media`, `backup job hearth-weekly-pbs`.
    pub what: String,
    pub done: Option<String>,
    pub error: Option<String>,
}

/// Creates and sets the planned datasets, parents first, one command at a time.
pub async fn apply_datasets(shell: &dyn NodeShell, node: &str, plan: &HostPlan) -> Vec<StepOutcome> {
    let Datasets::Planned { datasets } = &plan.datasets else { return Vec::new() };
    let mut out = Vec::new();
    for d in datasets {
        let Some(argv) = zfs::argv(d) else { continue };
        let done = match &d.action {
            DatasetAction::Create { .. } => "created".to_string(),
            _ => "properties set".to_string(),
        };
        let result = shell.run(node, &argv).await;
        out.push(StepOutcome {
            what: format!("ZFS dataset {}", d.name),
            done: result.is_ok().then_some(done),
            error: result.err(),
        });
    }
    out
}

/// Creates, updates and deletes the planned backup jobs.
pub async fn apply_jobs(client: &Client, plan: &HostPlan) -> Vec<StepOutcome> {
    let mut out = Vec::new();
    for j in &plan.jobs {
        let p = &j.params;
        let (done, result) = match &j.action {
            JobAction::Create => ("created", client.create_backup_job(&j.id, p).await),
            JobAction::Update { changes } => {
                let set: Map<String, Value> = changes
                    .iter()
                    .filter(|c| c.to.is_some())
                    .filter_map(|c| p.get(&c.key).map(|v| (c.key.clone(), v.clone())))
                    .collect();
                let delete: Vec<String> = changes.iter().filter(|c| c.to.is_none()).map(|c| c.key.clone()).collect();
                ("updated", client.update_backup_job(&j.id, &set, &delete).await)
            }
            JobAction::Unchanged | JobAction::Refused { .. } => continue,
            JobAction::Delete => ("deleted", client.delete_backup_job(&j.id).await),
        };
        out.push(StepOutcome {
            what: format!("backup job {}", j.id),
            done: result.is_ok().then(|| done.to_string()),
            error: result.err().map(|e| e.to_string()),
        });
    }
    out
}
