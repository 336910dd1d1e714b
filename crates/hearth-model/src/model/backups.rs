//! The resolved backups: repositories, policies, the jobs per service and per guest, snapshots
//! and replication.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Engine;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Backups {
    pub repositories: BTreeMap<String, Repository>,
    pub policies: BTreeMap<String, Policy>,
    /// One job per backed-up service.
    pub jobs: Vec<BackupJob>,
    /// Whole-guest backups (vzdump / PBS).
    pub guests: Vec<GuestBackup>,
    /// Folders of machines copied to `rsync:` and `git:` repositories: one per `from` machine
    /// and policy.
    pub copies: Vec<CopyJob>,
    pub snapshots: Vec<Snapshot>,
    pub replication: Vec<Replication>,
    /// Stateful data no backup covers.
    pub uncovered: Vec<Uncovered>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Uncovered {
    pub service: String,
    pub path: String,
}

/// A database dump taken before a backup.
#[derive(Debug, Clone, Serialize)]
pub struct Dump {
    pub engine: Engine,
    pub database: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Repository {
    Restic {
        url: String,
        /// The repository password (`secret:restic-<repo>-password`, generated unless declared).
        password: String,
        credentials: Option<String>,
    },
    Pbs {
        server: String,
        datastore: String,
        namespace: Option<String>,
        /// The PBS user's password (`secret:pbs-<repo>-password`, supplied by the operator).
        password: String,
        /// The datastore's own maintenance jobs, run by the server.
        #[serde(skip_serializing_if = "PbsJobs::is_empty")]
        jobs: PbsJobs,
    },
    /// A plain folder on the machine that runs the job: each run is copied into a dated folder.
    Dir { path: String },
    /// A folder on another machine that receives a mirror over SSH with rsync.
    Rsync {
        /// `[user@]host:/path` as the spec wrote it.
        target: String,
        /// What rsync is given: the target with a machine's name replaced by its address.
        destination: String,
        /// The spec's guest or host the target names (by name or address), if any.
        machine: Option<String>,
        /// The SSH private key (a secret reference), if the spec gives one.
        key: Option<String>,
        /// The SSH port when it is not 22.
        #[serde(skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
    },
    /// A git remote that working trees are committed and pushed to.
    Git {
        /// The remote as the spec wrote it.
        url: String,
        /// The spec's guest or host the remote's host names, if any.
        machine: Option<String>,
        /// The SSH private key (a secret reference), if the spec gives one.
        key: Option<String>,
    },
}

impl Repository {
    /// The word the docs and messages use for the repository's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Repository::Restic { .. } => "restic",
            Repository::Pbs { .. } => "pbs",
            Repository::Dir { .. } => "folder",
            Repository::Rsync { .. } => "rsync",
            Repository::Git { .. } => "git",
        }
    }
}

/// A PBS datastore's maintenance: systemd-style calendar events, which PBS reads.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PbsJobs {
    pub gc: Option<String>,
    pub verify: Option<String>,
    /// The prune job's calendar and `keep-*` counts.
    pub prune: Option<(String, BTreeMap<String, u32>)>,
}

impl PbsJobs {
    pub fn is_empty(&self) -> bool {
        self.gc.is_none() && self.verify.is_none() && self.prune.is_none()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub at: String,
    pub on_calendar: String,
    pub to: Vec<String>,
    pub keep: BTreeMap<String, u32>,
    pub check: Option<String>,
    /// The machines whose `paths` the policy copies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackupJob {
    /// The job's name: its units, script, restic tag and metric label. The service's name when
    /// it has one policy, `<service>-<policy>` for each of several.
    pub name: String,
    pub service: String,
    pub machine: String,
    pub policy: String,
    pub paths: Vec<String>,
    /// Dumps taken before the backup.
    pub dumps: Vec<Dump>,
}

/// A policy's `paths` on one of its `from` machines, copied to its `rsync:` repositories (a
/// mirror) and committed and pushed to its `git:` ones.
#[derive(Debug, Clone, Serialize)]
pub struct CopyJob {
    /// The job's name: its units and script (`hearth-copy-<name>`); the policy's name.
    pub name: String,
    pub machine: String,
    pub policy: String,
    pub paths: Vec<String>,
    /// The policy's `rsync:` and `git:` repositories, in its order.
    pub repositories: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GuestBackup {
    pub guest: String,
    pub id: u32,
    pub policy: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub dataset: String,
    pub every: String,
    pub keep: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Replication {
    pub dataset: String,
    pub to: String,
    pub at: String,
}
