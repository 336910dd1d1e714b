//! `backups:`: repositories, policies, snapshots and replication.

use crate::decode::{NamedMap, Sp};
use crate::reference::SecretRef;
use crate::schedule::Schedule;
use crate::spec_struct;

spec_struct! {
    /// Where backups go and when they run.
    pub struct Backups {
        def repositories: NamedMap<Repository>,
        def policies: NamedMap<Policy>,
        def snapshots: Vec<Snapshot>,
        def replication: Vec<Replication>,
    }
}

spec_struct! {
    /// A restic repository, a Proxmox Backup Server datastore, a plain folder, an rsync target or
    /// a git remote.
    pub struct Repository {
        /// restic repository: a path, `b2:bucket:/`, `s3:URL/bucket`, `sftp:...`, `rest:...`.
        opt restic: Sp<String>,
        opt pbs: Pbs,
        /// A plain folder (absolute path) on the machine that runs the job: each run's database
        /// dumps and files are copied into a dated folder of their own; `keep.last` runs are kept.
        opt dir: Sp<String>,
        /// A folder another machine receives copies in, over SSH: `[user@]host:/absolute/path`,
        /// where `host` is a guest or host of the spec, an address or a DNS name. A policy's
        /// `paths` on its `from` machines are mirrored there with `rsync`.
        opt rsync: Sp<String>,
        /// The SSH port of an `rsync:` target (default 22; a Hetzner Storage Box takes rsync on 23).
        opt port: Sp<u16>,
        /// A git remote (`ssh://…`, `user@host:path`, `https://…`): a policy's `paths` are git
        /// working trees that are committed when something changed and pushed there.
        opt git: Sp<String>,
        /// Credentials for the repository's backend (for `rsync:` and `git:`, the SSH private key).
        opt credentials: SecretRef,
        opt description: String,
        /// `planned` or `future`: checked and documented, not deployed (default `active`).
        opt status: Sp<super::Status>,
        /// Why or when, for a planned item (shown in the docs' Planned section).
        opt note: String,
    }
}

spec_struct! {
    /// A Proxmox Backup Server datastore.
    pub struct Pbs {
        /// A service (proxmox-backup-server) or an address.
        req server: Sp<String>,
        req datastore: String,
        opt namespace: String,
        /// The datastore's garbage collection (`gc-schedule`).
        opt gc: Sp<Schedule>,
        /// A verify job: snapshots not verified yet, and each again after 30 days.
        opt verify: Sp<Schedule>,
        /// A prune job run by the server itself over the datastore (or its namespace).
        opt prune: PbsPrune,
    }
}

spec_struct! {
    /// A Proxmox Backup Server prune job.
    pub struct PbsPrune {
        req every: Sp<Schedule>,
        req keep: Keep,
    }
}

spec_struct! {
    /// When to back up, where to, and how long to keep it.
    pub struct Policy {
        req at: Sp<crate::schedule::Schedule>,
        req to: Vec<Sp<String>>,
        opt keep: Keep,
        /// When to run `restic check`.
        opt check: Schedule,
        /// Machines (guests or hosts) whose folders `paths` the policy copies, beside the services
        /// that name it in `backup:`; required for `rsync:` and `git:` repositories.
        def from: Vec<Sp<String>>,
        /// The absolute folders copied from each `from` machine.
        def paths: Vec<Sp<String>>,
        /// `planned` or `future`: checked and documented, not deployed (default `active`).
        opt status: Sp<super::Status>,
        /// Why or when, for a planned item (shown in the docs' Planned section).
        opt note: String,
    }
}

spec_struct! {
    /// Retention: how many of each kind of snapshot to keep.
    pub struct Keep {
        opt last: u32,
        opt hourly: u32,
        opt daily: u32,
        opt weekly: u32,
        opt monthly: u32,
        opt yearly: u32,
    }
}

spec_struct! {
    /// ZFS snapshots of a dataset.
    pub struct Snapshot {
        /// `pool/dataset`.
        req dataset: Sp<String>,
        req every: Schedule,
        req keep: u32,
    }
}

spec_struct! {
    /// ZFS replication of a dataset to another pool.
    pub struct Replication {
        req dataset: Sp<String>,
        /// `host:pool/dataset`.
        req to: String,
        req at: Schedule,
        /// `planned` or `future`: checked and documented, not deployed (default `active`).
        opt status: Sp<super::Status>,
        /// Why or when, for a planned item (shown in the docs' Planned section).
        opt note: String,
    }
}
