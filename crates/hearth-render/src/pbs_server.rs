//! A Proxmox Backup Server's own maintenance of a datastore Hearth backs up to (`gc`, `verify`,
//! `prune` on a `pbs:` repository): `/etc/hearth/pbs/datastore-<repository>.sh` on the machine
//! of the PBS service, run at apply. It sets the datastore's `gc-schedule` and creates or
//! updates the prune and verify jobs `hearth-<repository>` through `proxmox-backup-manager`
//! (in the service's container when it runs in Docker).
//!
//! Why a script, not PBS's `datastore.cfg`/`prune.cfg`/`verification.cfg`: those files also
//! hold what was set up in the web UI (the datastore's path, other jobs), and PBS checks every
//! value itself when it comes through its manager. The datastore must exist (made in PBS's
//! web UI or with `proxmox-backup-manager datastore create`); a missing one fails the apply with
//! PBS's own message. A PBS server outside the spec (an address) gets nothing rendered: the
//! checks say so (W860).

use hearth_model::model::{PbsJobs, Repository};

use crate::shell::{docker_exec, sh_quote};
use crate::{Activation, Context, File, Kind, Output};

pub fn render(cx: &Context, out: &mut Output) {
    for (repo, r) in &cx.model.backups.repositories {
        let Repository::Pbs { server, datastore, namespace, jobs, .. } = r else { continue };
        if jobs.is_empty() {
            continue;
        }
        let Some(service) = cx.model.services.get(server) else { continue };
        let exec = docker_exec(server, service, "").map_or_else(String::new, |e| format!("{e} "));
        let path = format!("/etc/hearth/pbs/datastore-{repo}.sh");
        let script = script(repo, datastore, namespace.as_deref(), jobs, &exec);
        out.push(
            File::new(service.on.name(), path.clone(), Kind::Script, script)
                .mode(0o755)
                .activate(Activation::Run { argv: vec!["/bin/sh".into(), path] })
                .from("backups")
                .from(format!("service/{server}")),
        );
    }
}

fn script(repo: &str, datastore: &str, namespace: Option<&str>, jobs: &PbsJobs, exec: &str) -> String {
    let store = sh_quote(datastore);
    let id = sh_quote(&format!("hearth-{repo}"));
    let ns = namespace.map_or_else(String::new, |n| format!(" --ns {}", sh_quote(n)));
    let mut s = format!(
        "#!/bin/sh\n\
         # Maintenance of Proxmox Backup Server datastore `{datastore}` (repository `{repo}`), rendered by Hearth:\n\
         # garbage collection, prune and verify schedules, set through proxmox-backup-manager at apply.\n\
         set -eu\n\n\
         pbm() {{\n    {exec}proxmox-backup-manager \"$@\"\n}}\n\n\
         # Creates job $2 of kind $1 (prune-job, verify-job), or updates it when it exists. Further arguments are the\n\
         # job's settings; `--store` is given on creation only, since a job's datastore cannot change.\n\
         job() {{\n    kind=$1\n    id=$2\n    shift 2\n    \
         if pbm \"$kind\" list --output-format json | grep -q \"\\\"id\\\":\\\"$id\\\"\"; then\n        \
         pbm \"$kind\" update \"$id\" \"$@\"\n    else\n        \
         pbm \"$kind\" create \"$id\" --store {store} \"$@\"\n    fi\n}}\n\n"
    );
    // What the spec leaves out stays as set in PBS's web UI.
    if let Some(gc) = &jobs.gc {
        s.push_str(&format!("pbm datastore update {store} --gc-schedule {}\n", sh_quote(gc)));
    }
    if let Some((every, keep)) = &jobs.prune {
        let keep = if keep.is_empty() { String::new() } else { format!(" {}", crate::backup::keep_args(keep)) };
        s.push_str(&format!("job prune-job {id} --schedule {}{ns}{keep}\n", sh_quote(every)));
    }
    if let Some(verify) = &jobs.verify {
        s.push_str(&format!(
            "job verify-job {id} --schedule {}{ns} --ignore-verified true --outdated-after 30\n",
            sh_quote(verify)
        ));
    }
    s
}
