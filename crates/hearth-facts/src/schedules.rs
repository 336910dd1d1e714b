//! Facts about what runs on a schedule rather than all the time: each copy job (a backup
//! policy's `rsync:` and `git:` copies, on each machine of its `from`) has its timer enabled and
//! active, and its last run, if there was one, did not fail; each job of a cluster (a service with
//! `schedule:`) exists as a CronJob, asked of the cluster where its manifests are applied.
//!
//! A copy's last run is judged but never started: it sends the machine's folders to another
//! machine or a git remote, which a check must not do on the operator's behalf.

use hearth_model::Model;
use hearth_model::model::{CLUSTER_NAMESPACE, Placement};

use crate::fact::{Check, Fact};
use crate::place;

/// Each copy job's timer, on the machine the job copies from.
pub(crate) fn copies(model: &Model, out: &mut Vec<Fact>) {
    for job in &model.backups.copies {
        let unit = format!("hearth-copy-{}", job.name);
        let check = Check::Timer { timer: format!("{unit}.timer"), unit: format!("{unit}.service") };
        let id = format!("copy/{}/on/{}", job.name, job.machine);
        let fact = Fact::new(id, &job.machine, &job.machine, check, format!("policy/{}", job.policy));
        out.push(fact.skip(place::machine_skip(model, &job.machine)));
    }
}

/// Each job of a cluster is a CronJob there, asked on the cluster's first server: the machine
/// that applies its manifests and has `kubectl`.
pub(crate) fn cron_jobs(model: &Model, out: &mut Vec<Fact>) {
    for (name, s) in &model.services {
        let (Placement::Cluster(cluster), Some(_)) = (&s.on, &s.schedule) else { continue };
        let Some(server) = model.clusters.get(cluster).and_then(|c| c.servers.first()) else { continue };
        let check = Check::CronJob { name: name.clone(), namespace: CLUSTER_NAMESPACE.to_string() };
        let fact = Fact::new(format!("service/{name}/scheduled"), server, server, check, format!("service/{name}"));
        out.push(fact.skip(place::machine_skip(model, server)));
    }
}
