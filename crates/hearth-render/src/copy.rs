//! Copies of folders to `rsync:` and `git:` repositories: one oneshot service and timer per copy
//! job (a policy's `paths` on one of its `from` machines), `hearth-copy-<policy>`, running
//! `/etc/hearth/copy/<policy>.sh`.
//!
//! An rsync repository gets `rsync -avz -- <paths> <destination>`, a mirror in rsync's own
//! sense: a path written with a trailing slash copies the folder's contents, without one the
//! folder itself; nothing is deleted on the far end. A git repository gets, per path (one working
//! tree), `git add -A` and a commit only when the index differs from `HEAD` (an unchanged tree
//! makes no commit, so a daily job does not fill the history with empty ones), then a push of
//! `HEAD` to the branch named after the machine's hostname: several machines pushing one remote
//! would otherwise reject each other's pushes as non-fast-forward. A folder that is no working
//! tree yet is made one on the first run.
//!
//! SSH: a repository's `credentials` is its private key, written to
//! `/etc/hearth/copy/<repo>.key` (mode 0600, a secret placeholder in the rendered tree) and
//! given to ssh with `IdentitiesOnly`; without it ssh uses root's own keys. Host keys are learnt
//! on first use into `/var/lib/hearth/copy/known_hosts` and held to afterwards (`accept-new`).
//! `BatchMode` makes a missing key fail at once instead of waiting for a password at 03:00.
//!
//! Each repository is tried in a subshell and a failure does not stop the next one; the unit
//! still fails. The script is shared with the NixOS renderer (`script`), which runs it as a
//! `systemd.services.hearth-copy-<policy>` with `startAt`.

use hearth_model::Model;
use hearth_model::model::{CopyJob, Repository, Template};

use crate::shell::sh_quote;
use crate::systemd::{self, timer};
use crate::{Context, File, Kind, Output, fill};

/// Where copy jobs learn host keys.
const KNOWN_HOSTS: &str = "/var/lib/hearth/copy/known_hosts";

pub fn render(cx: &Context, out: &mut Output) {
    let model = cx.model;
    let mut keys: Vec<(String, String)> = Vec::new();
    for job in &model.backups.copies {
        if model.is_nixos(&job.machine) {
            // The flake runs it (nixos/containers.rs): NixOS manages `/etc/systemd/system`.
            continue;
        }
        let Some(policy) = model.backups.policies.get(&job.policy) else { continue };
        let script_path = format!("/etc/hearth/copy/{}.sh", job.name);
        let body = script(model, job, &|repo| format!("/etc/hearth/copy/{repo}.key"));
        let content = format!("#!/bin/sh\n{body}");
        let unit = format!(
            "# Rendered by Hearth: copies of policy `{policy_name}` to {repos}.\n\
             [Unit]\n\
             Description=Hearth copies of policy {policy_name}\n\
             Wants=network-online.target\n\
             After=network-online.target\n\n\
             [Service]\n\
             Type=oneshot\n\
             ExecStart=/bin/sh {script_path}\n\
             Nice=10\n\
             IOSchedulingClass=idle\n",
            policy_name = job.policy,
            repos = job.repositories.join(", "),
        );
        let timer = timer(&format!("hearth-copy-{}.service (policy {})", job.name, job.policy), &policy.on_calendar);
        let source = format!("policy/{}", job.policy);
        out.push(File::new(&job.machine, script_path, Kind::Script, content).mode(0o755).from(&source).from("backups"));
        for file in systemd::timed(&job.machine, &format!("hearth-copy-{}", job.name), unit, timer) {
            out.push(file.from(&source).from("backups"));
        }
        for (repo, key) in repository_keys(model, job) {
            if !keys.contains(&(job.machine.clone(), repo.clone())) {
                keys.push((job.machine.clone(), repo.clone()));
                out.push(
                    File::new(
                        &job.machine,
                        format!("/etc/hearth/copy/{repo}.key"),
                        Kind::EnvSecret,
                        key_file(cx, &key),
                    )
                    .from("backups"),
                );
            }
        }
    }
}

/// The repositories of a job that have an SSH key, with the key's secret reference.
pub(crate) fn repository_keys(model: &Model, job: &CopyJob) -> Vec<(String, String)> {
    job.repositories
        .iter()
        .filter_map(|r| match model.backups.repositories.get(r) {
            Some(Repository::Rsync { key: Some(k), .. } | Repository::Git { key: Some(k), .. }) => {
                Some((r.clone(), k.clone()))
            }
            _ => None,
        })
        .collect()
}

/// A private key file's content: the secret's value, ending in a newline as ssh requires.
pub(crate) fn key_file(cx: &Context, reference: &str) -> String {
    format!("{}\n", fill(&Template::secret(reference.to_string()), cx.secrets).trim_end())
}

/// The branch a machine's working trees are pushed to: its hostname.
fn branch(model: &Model, machine: &str) -> String {
    model.guests.get(machine).map_or_else(|| machine.to_string(), |g| g.hostname.clone())
}

/// The job's shell script, without the `#!` line; `key_path` says where a repository's key file
/// is on the machine. Written without `${`, so Nix strings take it as is.
pub fn script(model: &Model, job: &CopyJob, key_path: &dyn Fn(&str) -> String) -> String {
    let mut s = format!(
        "# Copies of policy `{policy}` from `{machine}` to {repos}, rendered by Hearth.\n\
         set -u\n\n\
         KNOWN_HOSTS={known}\n\
         mkdir -p -m 0700 \"$(dirname \"$KNOWN_HOSTS\")\"\n\n\
         # The ssh command for one repository: its key file when it has one ($1, may be empty).\n\
         ssh_command() {{\n    \
         cmd=\"ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=$KNOWN_HOSTS\"\n    \
         [ -z \"$1\" ] || cmd=\"$cmd -o IdentitiesOnly=yes -i $1\"\n    \
         echo \"$cmd\"\n}}\n\n",
        policy = job.policy,
        machine = job.machine,
        repos = job.repositories.join(", "),
        known = sh_quote(KNOWN_HOSTS),
    );
    let has_git =
        job.repositories.iter().any(|r| matches!(model.backups.repositories.get(r), Some(Repository::Git { .. })));
    if has_git {
        s.push_str(&format!(
            "# A remote that asks for a password fails at once: nobody answers at 03:00.\n\
             GIT_TERMINAL_PROMPT=0\n\
             export GIT_TERMINAL_PROMPT\n\n\
             # Commits working tree $1 when anything changed and pushes HEAD to branch $3 of remote $2.\n\
             push_tree() {{\n    \
             cd \"$1\" || return 1\n    \
             [ -e .git ] || git init -q || return 1\n    \
             git add -A || return 1\n    \
             if ! git diff --cached --quiet 2>/dev/null; then\n        \
             ident=\n        \
             git config user.email >/dev/null 2>&1 || ident=\"-c user.name=Hearth -c user.email=root@{machine}\"\n        \
             git $ident commit -q -m \"Auto-backup $(date)\" || return 1\n    \
             fi\n    \
             git rev-parse -q --verify HEAD >/dev/null || return 0\n    \
             git push -q \"$2\" \"HEAD:refs/heads/$3\"\n}}\n\n",
            machine = job.machine,
        ));
    }
    s.push_str("failed=0\n");
    for repo in &job.repositories {
        let key = repository_keys(model, job).into_iter().find(|(r, _)| r == repo).map(|(r, _)| key_path(&r));
        let key = sh_quote(&key.unwrap_or_default());
        match model.backups.repositories.get(repo) {
            Some(Repository::Rsync { destination, port, .. }) => {
                let paths: Vec<String> = job.paths.iter().map(|p| sh_quote(p)).collect();
                let port = port.map(|p| format!(" -p {p}")).unwrap_or_default();
                s.push_str(&format!(
                    "# rsync repository `{repo}`\nrsync -avz -e \"$(ssh_command {key}){port}\" -- {} {} || failed=1\n",
                    paths.join(" "),
                    sh_quote(destination),
                ));
            }
            Some(Repository::Git { url, .. }) => {
                s.push_str(&format!("# git repository `{repo}`\n"));
                for p in &job.paths {
                    s.push_str(&format!(
                        "(GIT_SSH_COMMAND=\"$(ssh_command {key})\" && export GIT_SSH_COMMAND && push_tree {} {} {}) || failed=1\n",
                        sh_quote(p),
                        sh_quote(url),
                        sh_quote(&branch(model, &job.machine)),
                    ));
                }
            }
            _ => {}
        }
    }
    s.push_str("exit \"$failed\"\n");
    s
}
