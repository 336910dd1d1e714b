//! Restic backups as systemd units: one oneshot service and timer per backup job, on the machine
//! the backed-up service runs on, plus a `restic check` service and timer per repository whose
//! policy asks for checks.
//!
//! Why a script beside each unit: a policy may send one job to several repositories, each with
//! its own `RESTIC_REPOSITORY`, password and backend credentials, and systemd can load only one
//! set of variables per unit. The script `/etc/hearth/backup/<service>.sh` loads each
//! repository's env file (`/etc/hearth/restic/<repo>.env`, mode 0600) in a subshell and keeps
//! going when one repository fails, so the others still get the backup; the unit still fails.
//! The unit runs the steps in systemd's own order: `ExecStartPre` dumps the databases into
//! `/var/backups/hearth/<service>` (included in the backup), `ExecStart` backs up, the first
//! `ExecStartPost` writes the `hearth_backup_last_success_timestamp_seconds` textfile metric the
//! `backup-stale` alert reads (written before pruning, so a failed prune does not look like a
//! failed backup), the second prunes with the policy's `keep`. Keeping shell out of the unit
//! files also keeps systemd's own `$`, `%` and quote handling out of the shell code.
//!
//! The repository password is the model's reference for it (`restic-<repo>-password`, generated
//! unless the spec declares it). A repository's `credentials` secret holds the
//! backend's variables as `KEY=value` lines (`B2_ACCOUNT_ID`/`B2_ACCOUNT_KEY`,
//! `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`) and is written into the env file as is.
//!
//! Jobs on NixOS guests are left to the NixOS renderer, which declares them as
//! `services.restic.backups` (NixOS manages `/etc/systemd/system` itself).

use std::collections::{BTreeMap, BTreeSet};

use hearth_model::Model;
use hearth_model::model::{BackupJob, Dump, Policy, Repository, Service, Template};
use hearth_spec::ast::Form;

use crate::shell::sh_quote;
use crate::systemd::{self, timer};
use crate::{Context, File, Kind, Output, fill};

pub(crate) use hearth_model::model::TEXTFILE_DIR;
const RESTIC: &str = "/usr/bin/restic";

pub fn render(cx: &Context, out: &mut Output) {
    let backups = &cx.model.backups;
    // Which repositories' env files each machine needs.
    let mut env_files: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for job in &backups.jobs {
        if cx.model.is_nixos(&job.machine) {
            // NixOS runs restic through its own `services.restic.backups` (nixos.rs).
            continue;
        }
        let Some(policy) = backups.policies.get(&job.policy) else { continue };
        let repos = restic_repositories(cx.model, policy);
        if repos.is_empty() {
            // A service policy that only targets PBS: whole-guest backups cover it (pbs.rs).
            continue;
        }
        env_files.entry(job.machine.clone()).or_default().extend(repos.iter().map(|r| r.to_string()));
        render_job(cx, out, job, policy, &repos);
    }
    for (machine, repos) in &env_files {
        for repo in repos {
            if let Some(Repository::Restic { url, password, credentials }) = backups.repositories.get(repo) {
                out.push(
                    File::new(
                        machine,
                        format!("/etc/hearth/restic/{repo}.env"),
                        Kind::EnvSecret,
                        env_file(cx, repo, url, password, credentials.as_deref()),
                    )
                    .from("backups"),
                );
            }
        }
    }
    render_checks(out, cx.model, &env_files);
}

/// The restic repositories a policy writes to, in the policy's order.
fn restic_repositories<'a>(model: &Model, policy: &'a Policy) -> Vec<&'a str> {
    policy
        .to
        .iter()
        .filter(|r| matches!(model.backups.repositories.get(*r), Some(Repository::Restic { .. })))
        .map(String::as_str)
        .collect()
}

fn env_file(cx: &Context, repo: &str, url: &str, password: &str, credentials: Option<&str>) -> String {
    let password = fill(&Template::secret(password), cx.secrets);
    let mut s = format!(
        "# restic repository `{repo}`, rendered by Hearth. Secret: keep it mode 0600.\n\
         # Read by systemd (EnvironmentFile=) and by /bin/sh (`.`), so values are single-quoted.\n\
         RESTIC_REPOSITORY={}\n\
         RESTIC_PASSWORD={}\n",
        sh_quote(url),
        sh_quote(&password)
    );
    if let Some(reference) = credentials {
        s.push_str(&format!(
            "# Backend credentials from `{reference}`: its value is the backend's KEY=value lines.\n{}\n",
            fill(&Template::secret(reference), cx.secrets).trim_end()
        ));
    }
    s
}

fn render_job(cx: &Context, out: &mut Output, job: &BackupJob, policy: &Policy, repos: &[&str]) {
    let name = &job.service;
    let script_path = format!("/etc/hearth/backup/{name}.sh");
    let service = cx.model.services.get(name);
    let dumps = service.map(|s| dump_commands(name, s, &job.dumps)).unwrap_or_default();
    let has_forget = !policy.keep.is_empty();

    let steps = match (dumps.is_empty(), has_forget) {
        (true, true) => "backup|metric|forget",
        (true, false) => "backup|metric",
        (false, true) => "dump|backup|metric|forget",
        (false, false) => "dump|backup|metric",
    };
    let mut script = format!(
        "#!/bin/sh\n\
         # Backup of service `{name}` on `{machine}`, rendered by Hearth.\n\
         # Policy `{policy_name}` ({at}) to {repo_list}; run by hearth-backup-{name}.service, one step per unit line:\n\
         # {steps} (dump: databases; metric: textfile collector; forget: prune with the policy's keep).\n\
         set -eu\n\n\
         JOB={job_q}\n\
         {dumps_dir}\
         REPOSITORIES={repos_q}\n\
         METRIC={metric}\n\n\
         # Loads one repository's RESTIC_* and backend variables; called in a subshell per repository.\n\
         use_repository() {{\n    set -a\n    . \"/etc/hearth/restic/$1.env\"\n    set +a\n}}\n\n",
        machine = job.machine,
        policy_name = job.policy,
        at = policy.at,
        repo_list = repos.join(", "),
        job_q = sh_quote(name),
        dumps_dir = if dumps.is_empty() {
            String::new()
        } else {
            format!("DUMPS={}\n", sh_quote(&format!("/var/backups/hearth/{name}")))
        },
        repos_q = sh_quote(&repos.join(" ")),
        metric = sh_quote(&format!("{TEXTFILE_DIR}/hearth-backup-{name}.prom")),
    );
    if dumps.iter().any(|d| d.contains("docker ")) {
        script.push_str(
            "# The id of a compose service's running container, found by compose's labels.\n\
             container() {\n    docker ps -q --filter \"label=com.docker.compose.project=$1\" --filter \"label=com.docker.compose.service=$2\"\n}\n\n",
        );
    }
    script.push_str("case \"${1:-}\" in\n");
    if !dumps.is_empty() {
        script.push_str("dump)\n    rm -rf \"$DUMPS\"\n    mkdir -p -m 0700 \"$DUMPS\"\n");
        for d in &dumps {
            script.push_str(&format!("    {d}\n"));
        }
        script.push_str("    ;;\n");
    }

    let mut paths: Vec<String> = job.paths.iter().map(|p| sh_quote(p)).collect();
    if !dumps.is_empty() {
        paths.push("\"$DUMPS\"".to_string());
    }
    script.push_str(&format!(
        "backup)\n    failed=0\n    for repository in $REPOSITORIES; do\n        (\n            use_repository \"$repository\" &&\n            \
         {{ {RESTIC} cat config >/dev/null 2>&1 || {RESTIC} init; }} &&\n            \
         {RESTIC} backup --host {host} --tag hearth --tag \"$JOB\" -- {paths}\n        ) || failed=1\n    done\n    exit \"$failed\"\n    ;;\n",
        host = sh_quote(&job.machine),
        paths = paths.join(" "),
    ));
    if has_forget {
        let keep: Vec<String> = policy.keep.iter().map(|(k, v)| format!("--keep-{k} {v}")).collect();
        script.push_str(&format!(
            "forget)\n    failed=0\n    for repository in $REPOSITORIES; do\n        (\n            use_repository \"$repository\" &&\n            \
             {RESTIC} forget --prune --host {host} --tag \"$JOB\" {keep}\n        ) || failed=1\n    done\n    exit \"$failed\"\n    ;;\n",
            host = sh_quote(&job.machine),
            keep = keep.join(" "),
        ));
    }
    script.push_str(
        "metric)\n    mkdir -p \"${METRIC%/*}\"\n    {\n        \
         echo '# HELP hearth_backup_last_success_timestamp_seconds Unix time of the last successful backup.'\n        \
         echo '# TYPE hearth_backup_last_success_timestamp_seconds gauge'\n        \
         echo \"hearth_backup_last_success_timestamp_seconds{job_name=\\\"$JOB\\\"} $(date +%s)\"\n    \
         } > \"$METRIC.tmp\"\n    mv \"$METRIC.tmp\" \"$METRIC\"\n    ;;\n",
    );
    script.push_str(&format!("*)\n    echo \"usage: $0 {steps}\" >&2\n    exit 2\n    ;;\nesac\n"));

    let mut unit = format!(
        "# Rendered by Hearth: backup of service `{name}`, policy `{policy_name}`.\n\
         [Unit]\n\
         Description=Hearth backup of {name} (policy {policy_name})\n\
         Wants=network-online.target\n\
         After=network-online.target\n\n\
         [Service]\n\
         Type=oneshot\n",
        policy_name = job.policy,
    );
    if !dumps.is_empty() {
        unit.push_str(&format!("ExecStartPre=/bin/sh {script_path} dump\n"));
    }
    unit.push_str(&format!("ExecStart=/bin/sh {script_path} backup\n"));
    unit.push_str(&format!("ExecStartPost=/bin/sh {script_path} metric\n"));
    if has_forget {
        unit.push_str(&format!("ExecStartPost=/bin/sh {script_path} forget\n"));
    }
    unit.push_str("Nice=10\nIOSchedulingClass=idle\n");

    let timer = timer(&format!("hearth-backup-{name}.service (policy {})", job.policy), &policy.on_calendar);
    let source = format!("service/{name}");
    // The units run the script at each start: a changed script needs nothing else.
    out.push(
        File::new(&job.machine, script_path.clone(), Kind::Script, script).mode(0o755).from(&source).from("backups"),
    );
    for file in systemd::timed(&job.machine, &format!("hearth-backup-{name}"), unit, timer) {
        out.push(file.from(&source).from("backups"));
    }
    if job.dumps.iter().any(|d| d.engine == hearth_model::model::Engine::Mongodb)
        && let Some(s) = service
    {
        out.push(
            File::new(
                &job.machine,
                format!("/etc/hearth/backup/{name}-mongodump.yaml"),
                Kind::EnvSecret,
                mongodump_config(cx, s),
            )
            .from(&source)
            .from("backups"),
        );
    }
}

/// mongodump's `--config` file: the root password, kept out of the process list.
fn mongodump_config(cx: &Context, s: &Service) -> String {
    let password = s.env.get("MONGO_INITDB_ROOT_PASSWORD").map(|t| fill(t, cx.secrets)).unwrap_or_default();
    format!(
        "# mongodump --config for Hearth's backups. Secret: keep it mode 0600.\npassword: '{}'\n",
        password.replace('\'', "''")
    )
}

/// One shell line per dump, writing into `$DUMPS`.
fn dump_commands(name: &str, s: &Service, dumps: &[Dump]) -> Vec<String> {
    let docker = s.form == Form::Docker;
    let exec = |flags: &str| format!("docker exec{flags} \"$(container {} {})\"", sh_quote(&s.stack), sh_quote(name));
    let mut lines = Vec::new();
    if dumps.iter().any(|d| d.engine == hearth_model::model::Engine::Postgres) {
        // Roles and their password hashes: a restore of the databases needs them first.
        lines.push(if docker {
            format!("{} pg_dumpall --username=postgres --globals-only > \"$DUMPS/postgres-globals.sql\"", exec(""))
        } else {
            "runuser -u postgres -- pg_dumpall --globals-only > \"$DUMPS/postgres-globals.sql\"".to_string()
        });
    }
    for d in dumps {
        let db = sh_quote(&d.database);
        let file = |ext: &str| format!("\"$DUMPS/{}-{}.{ext}\"", d.engine, d.database);
        lines.push(match d.engine.as_str() {
            "postgres" if docker => {
                format!("{} pg_dump --username=postgres --format=custom --dbname={db} > {}", exec(""), file("dump"))
            }
            "postgres" => format!("runuser -u postgres -- pg_dump --format=custom --dbname={db} > {}", file("dump")),
            "mongodb" => {
                let user = s.env.get("MONGO_INITDB_ROOT_USERNAME").map_or_else(|| "root".to_string(), ToString::to_string);
                let config = format!("/etc/hearth/backup/{name}-mongodump.yaml");
                let args = format!("--username={} --authenticationDatabase=admin --db={db} --gzip", sh_quote(&user));
                if docker {
                    format!("{} mongodump --config=/dev/stdin {args} --archive < {config} > {}", exec(" -i"), file("archive.gz"))
                } else {
                    format!("mongodump --config={config} {args} --archive={}", file("archive.gz"))
                }
            }
            "mysql" if docker => {
                // The official images keep the root password in their own environment.
                let (tool, var) = if s.env.contains_key("MARIADB_ROOT_PASSWORD") {
                    ("mariadb-dump", "MARIADB_ROOT_PASSWORD")
                } else {
                    ("mysqldump", "MYSQL_ROOT_PASSWORD")
                };
                format!(
                    "{} sh -c 'exec {tool} --user=root --password=\"${var}\" --single-transaction --databases \"$0\"' {db} > {}",
                    exec(""),
                    file("sql")
                )
            }
            "mysql" => format!("mysqldump --single-transaction --databases {db} > {}", file("sql")),
            other => format!("echo {} >&2; exit 1", sh_quote(&format!("no dump for engine `{other}`"))),
        });
    }
    lines
}

/// `restic check` per repository whose policy has `check`, on the first machine (by name) that
/// already holds the repository's env file.
fn render_checks(out: &mut Output, model: &Model, env_files: &BTreeMap<String, BTreeSet<String>>) {
    let mut checks: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for (policy_name, policy) in &model.backups.policies {
        let Some(calendar) = &policy.check else { continue };
        for repo in restic_repositories(model, policy) {
            checks.entry(repo).or_insert((policy_name.as_str(), calendar.as_str()));
        }
    }
    for (repo, (policy, calendar)) in checks {
        let Some(machine) = env_files.iter().find(|(_, repos)| repos.contains(repo)).map(|(m, _)| m) else { continue };
        let unit = format!(
            "# Rendered by Hearth: integrity check of restic repository `{repo}` (policy `{policy}`).\n\
             [Unit]\n\
             Description=Hearth check of restic repository {repo}\n\
             Wants=network-online.target\n\
             After=network-online.target\n\n\
             [Service]\n\
             Type=oneshot\n\
             EnvironmentFile=/etc/hearth/restic/{repo}.env\n\
             # Reads back a small share of the pack files each run, not only the index.\n\
             ExecStart={RESTIC} check --read-data-subset=5%%\n\
             Nice=10\n\
             IOSchedulingClass=idle\n"
        );
        let timer = timer(&format!("hearth-restic-check-{repo}.service"), calendar);
        for file in systemd::timed(machine, &format!("hearth-restic-check-{repo}"), unit, timer) {
            out.push(file.from("backups"));
        }
    }
}
