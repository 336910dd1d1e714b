//! Restic backups as systemd units: one oneshot service and timer per backup job, on the machine
//! the backed-up service runs on; whole-guest backups (vzdump) of each Proxmox host's guests to
//! restic repositories; one prune per repository; a `restic check` per repository whose policy
//! asks for checks.
//!
//! Why a script beside each unit: a policy may send one job to several repositories, each with
//! its own `RESTIC_REPOSITORY`, password and backend credentials, and systemd can load only one
//! set of variables per unit. The script `/etc/hearth/backup/<service>.sh` loads each
//! repository's env file (`/etc/hearth/restic/<repo>.env`, mode 0600) in a subshell and keeps
//! going when one repository fails, so the others still get the backup; the unit still fails.
//! The unit runs the steps in systemd's own order: `ExecStartPre` dumps the databases into
//! `/var/backups/hearth/<service>` (backed up instead of the server's live data directory),
//! `ExecStart` backs up, `ExecStartPost` writes the `hearth_backup_last_success_timestamp_seconds`
//! textfile metric the `backup-stale` alert reads. Keeping shell out of the unit files also keeps
//! systemd's own `$`, `%` and quote handling out of the shell code.
//!
//! Locks: every job of a policy starts at the same time, and restic refuses to work on a
//! repository another run holds exclusively ("repository is already locked"; Debian 12's restic
//! 0.14 has no `--retry-lock`). Backups share the lock with each other, so only `forget`, `prune`
//! and `check` conflict. Hence one `hearth-restic-prune-<repo>` unit per repository (on the
//! first machine by name that writes to it) forgets each job's snapshots with its policy's
//! `keep`, one after the other, then prunes once, at each of its policies' times. Every restic
//! call that can meet a lock goes through `locked`, which waits a minute and tries again (for up
//! to six hours) while restic answers that the repository is locked.
//!
//! Whole-guest backups: on a Proxmox host whose guests have `backup:` with a policy that writes
//! to restic, `/etc/hearth/backup/guests-<policy>.sh` streams `vzdump <id> --stdout` into
//! `restic backup --stdin` per guest and repository (file `vzdump-lxc-<id>.tar.zst` or
//! `vzdump-qemu-<id>.vma.zst`, tags `hearth` and `guest-<name>`); a restore is
//! `restic dump latest vzdump-qemu-<id>.vma.zst | qmrestore - <id>` (`pct restore` for
//! containers). It runs under bash for `pipefail`: a failed vzdump must fail the backup.
//!
//! The repository password is the model's reference for it (`restic-<repo>-password`, generated
//! unless the spec declares it). A repository's `credentials` secret holds the
//! backend's variables as `KEY=value` lines (`B2_ACCOUNT_ID`/`B2_ACCOUNT_KEY`,
//! `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`) and is written into the env file as is.
//!
//! Folder repositories (`dir:`): the job's `copy` step (`ExecStart=` after or instead of
//! `backup`) copies the run's dumps and a `files.tar.gz` of its paths into `<dir>/<job>/<UTC
//! time>/` and keeps the policy's `keep.last` newest runs (`copy_function`, shared with the NixOS
//! renderer). A service with several policies has one job per policy, each with its own script,
//! units, restic tag and metric label (`BackupJob::name`).
//!
//! Jobs on NixOS guests are left to the NixOS renderer, which declares them as
//! `services.restic.backups` (NixOS manages `/etc/systemd/system` itself).

use std::collections::{BTreeMap, BTreeSet};

use hearth_model::Model;
use hearth_model::model::{BackupJob, Dump, GuestKind, Policy, Repository, Service, Template};
use hearth_spec::ast::Form;

use crate::shell::sh_quote;
use crate::systemd::{self, timer};
use crate::{Context, File, Kind, Output, fill};

pub(crate) use hearth_model::model::TEXTFILE_DIR;
const RESTIC: &str = "/usr/bin/restic";

/// Opens the repository `$repository`, creating it on first use. Two jobs creating it at the same
/// moment would each write a key and a config, leaving a config one of them cannot decrypt
/// ("ciphertext verification failed", seen with restic 0.14), so creation holds a lock on the
/// repository's env file. The probe reads the config with `--no-lock`: `restic cat` otherwise
/// takes a shared lock, which fails while a prune holds the exclusive one, and the job would then
/// try to create an existing repository ("config file already exists", seen in CI).
const INIT: &str = "{ /usr/bin/restic --no-lock cat config >/dev/null 2>&1 || flock \"/etc/hearth/restic/$repository.env\" \
     sh -c '/usr/bin/restic --no-lock cat config >/dev/null 2>&1 || /usr/bin/restic init'; }";

/// The shell function every restic call that can meet another run's lock goes through (see the
/// module comment). `HEARTH_LOCK_RETRY_SECONDS` shortens the wait in tests.
const LOCKED: &str = r#"# Runs a command; while restic answers that the repository is locked by another run (or, on the
# first night, not created yet by the backups that start with the prune), waits and tries again,
# for up to six hours.
locked() {
    tries=0
    log=$(mktemp)
    while :; do
        status=0
        "$@" 2>"$log" || status=$?
        cat "$log" >&2
        if [ "$status" -eq 0 ] || ! grep -q -e 'already locked' -e 'unable to open config file' "$log" || [ "$tries" -ge 360 ]; then
            rm -f "$log"
            return "$status"
        fi
        tries=$((tries + 1))
        sleep "${HEARTH_LOCK_RETRY_SECONDS:-60}"
    done
}

"#;

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
        let folders = folder_repositories(cx.model, policy);
        if repos.is_empty() && folders.is_empty() {
            // A service policy that only targets PBS: whole-guest backups cover it (pbs.rs).
            continue;
        }
        env_files.entry(job.machine.clone()).or_default().extend(repos.iter().map(|r| r.to_string()));
        render_job(cx, out, job, policy, &repos, &folders);
    }
    for (host, policy_name, guests) in guest_jobs(cx.model) {
        let Some(policy) = backups.policies.get(policy_name) else { continue };
        let repos = restic_repositories(cx.model, policy);
        env_files.entry(host.to_string()).or_default().extend(repos.iter().map(|r| r.to_string()));
        render_guest_job(out, host, policy_name, policy, &repos, &guests);
    }
    render_prunes(out, cx.model, &env_files);
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

/// The folders (`dir:` repositories) a policy copies its jobs' runs into, in the policy's order.
pub(crate) fn folder_repositories<'a>(model: &'a Model, policy: &Policy) -> Vec<&'a str> {
    policy
        .to
        .iter()
        .filter_map(|r| match model.backups.repositories.get(r) {
            Some(Repository::Dir { path }) => Some(path.as_str()),
            _ => None,
        })
        .collect()
}

/// `RequiresMountsFor=` lines for the local repository folders (`restic: /path`, `dir:`) that
/// lie on a share the machine mounts: without the mount, restic would start a new repository
/// in the empty mount point on the machine's own disk, and the backups would never leave it.
/// `repos` are restic repository names, `folders` the paths of folder repositories.
fn share_mounts_for(model: &Model, machine: &str, repos: &[&str], folders: &[&str]) -> String {
    let restic = repos.iter().filter_map(|r| match model.backups.repositories.get(*r) {
        Some(Repository::Restic { url, .. }) if url.starts_with('/') => Some(url.as_str()),
        _ => None,
    });
    let mut out = String::new();
    for path in restic.chain(folders.iter().copied()) {
        let on_share = model.share_mounts.iter().any(|m| {
            m.machine == machine
                && m.guests.is_empty()
                && (path == m.path || path.starts_with(&format!("{}/", m.path.trim_end_matches('/'))))
        });
        if on_share {
            out.push_str(&format!("RequiresMountsFor={path}\n"));
        }
    }
    out
}

/// How many runs a folder repository keeps: the policy's `keep.last`, 0 (all) without a `keep`.
/// Other `keep` keys on a policy with a folder are refused by the checks (E861), since a folder
/// holds runs, not snapshots restic could thin out by age.
pub(crate) fn folder_keep(policy: &Policy) -> u32 {
    policy.keep.get("last").copied().unwrap_or(0)
}

/// The shell function that copies one run into a folder repository: `copy_to FOLDER KEEP` makes
/// `FOLDER/$JOB/$STAMP` (a UTC time, so names sort by age) from the dumps in `$DUMPS` and a
/// tarball of `paths`, under a `.partial` name until it is complete, then removes all but the
/// newest KEEP runs (0 keeps all). Written without `${`, so Nix strings take it as is.
pub(crate) fn copy_function(paths: &[String], dumps: bool) -> String {
    let mut f = String::from(
        "# Copies this run into a dated folder of folder repository $1 and keeps its newest $2 runs (0: all).\n\
         copy_to() {\n    dest=\"$1/$JOB/$STAMP\"\n    rm -rf \"$dest.partial\"\n    mkdir -p -m 0700 \"$dest.partial\" || return 1\n",
    );
    if dumps {
        f.push_str("    cp -a \"$DUMPS/.\" \"$dest.partial/\" || return 1\n");
    }
    if !paths.is_empty() {
        let rel: Vec<String> = paths.iter().map(|p| sh_quote(p.trim_start_matches('/'))).collect();
        f.push_str(&format!("    tar -czf \"$dest.partial/files.tar.gz\" -C / -- {} || return 1\n", rel.join(" ")));
    }
    f.push_str(
        "    mv \"$dest.partial\" \"$dest\" || return 1\n    \
         [ \"$2\" -eq 0 ] && return 0\n    \
         ls -1d \"$1/$JOB\"/*Z | sort -r | tail -n +\"$(($2 + 1))\" | while IFS= read -r old; do\n        \
         rm -rf -- \"$old\"\n    done\n}\n\n",
    );
    f
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

fn render_job(cx: &Context, out: &mut Output, job: &BackupJob, policy: &Policy, repos: &[&str], folders: &[&str]) {
    let name = &job.name;
    let script_path = format!("/etc/hearth/backup/{name}.sh");
    let service = cx.model.services.get(&job.service);
    let dumps = service.map(|s| dump_commands(&job.service, name, s, &job.dumps)).unwrap_or_default();
    let mut step_names = Vec::new();
    if !dumps.is_empty() {
        step_names.push("dump");
    }
    if !repos.is_empty() {
        step_names.push("backup");
    }
    if !folders.is_empty() {
        step_names.push("copy");
    }
    step_names.push("metric");
    let steps = step_names.join("|");
    let destinations: Vec<&str> = policy.to.iter().map(String::as_str).collect();
    let mut script = format!(
        "#!/bin/sh\n\
         # Backup of service `{service}` on `{machine}`, rendered by Hearth.\n\
         # Policy `{policy_name}` ({at}) to {repo_list}; run by hearth-backup-{name}.service, one step per unit line:\n\
         # {steps} (dump: databases; {copy_legend}metric: textfile collector); hearth-restic-prune-<repo> prunes.\n\
         set -eu\n\n\
         JOB={job_q}\n\
         {dumps_dir}\
         REPOSITORIES={repos_q}\n\
         METRIC={metric}\n\n\
         # Loads one repository's RESTIC_* and backend variables; called in a subshell per repository.\n\
         use_repository() {{\n    set -a\n    . \"/etc/hearth/restic/$1.env\"\n    set +a\n}}\n\n{LOCKED}",
        service = job.service,
        copy_legend = if folders.is_empty() { "" } else { "copy: dated folders; " },
        machine = job.machine,
        policy_name = job.policy,
        at = policy.at,
        repo_list = destinations.join(", "),
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
    if !folders.is_empty() {
        script.push_str(&copy_function(&job.paths, !dumps.is_empty()));
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
    if !folders.is_empty() {
        script.push_str("copy)\n    STAMP=$(date -u +%Y%m%dT%H%M%SZ)\n    failed=0\n");
        for folder in folders {
            script.push_str(&format!("    copy_to {} {} || failed=1\n", sh_quote(folder), folder_keep(policy)));
        }
        script.push_str("    exit \"$failed\"\n    ;;\n");
    }
    if !repos.is_empty() {
        script.push_str(&format!(
        "backup)\n    failed=0\n    for repository in $REPOSITORIES; do\n        (\n            use_repository \"$repository\" &&\n            \
         {INIT} &&\n            \
         locked {RESTIC} backup --host {host} --tag hearth --tag \"$JOB\" -- {paths}\n        ) || failed=1\n    done\n    exit \"$failed\"\n    ;;\n",
        host = sh_quote(&job.machine),
        paths = paths.join(" "),
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
         After=network-online.target\n\
         {mounts}\n\
         [Service]\n\
         Type=oneshot\n",
        policy_name = job.policy,
        mounts = share_mounts_for(cx.model, &job.machine, repos, folders),
    );
    if !dumps.is_empty() {
        unit.push_str(&format!("ExecStartPre=/bin/sh {script_path} dump\n"));
    }
    if !repos.is_empty() {
        unit.push_str(&format!("ExecStart=/bin/sh {script_path} backup\n"));
    }
    if !folders.is_empty() {
        unit.push_str(&format!("ExecStart=/bin/sh {script_path} copy\n"));
    }
    unit.push_str(&format!("ExecStartPost=/bin/sh {script_path} metric\n"));
    unit.push_str("Nice=10\nIOSchedulingClass=idle\n");

    let timer = timer(&format!("hearth-backup-{name}.service (policy {})", job.policy), &policy.on_calendar);
    let source = format!("service/{}", job.service);
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

/// One shell line per dump of service `name`'s databases, writing into `$DUMPS`; `job` names the
/// mongodump configuration file of the job.
fn dump_commands(name: &str, job: &str, s: &Service, dumps: &[Dump]) -> Vec<String> {
    let docker = s.form == Form::Docker;
    // A pod of a cluster is reached with `kubectl exec` from the node the script runs on.
    let exec = |flags: &str| match &s.on {
        hearth_model::model::Placement::Cluster(_) => crate::shell::docker_exec(name, s, flags).unwrap_or_default(),
        _ => format!("docker exec{flags} \"$(container {} {})\"", sh_quote(&s.stack), sh_quote(name)),
    };
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
                let config = format!("/etc/hearth/backup/{job}-mongodump.yaml");
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

/// A guest in a whole-guest backup: name, id, kind.
type GuestRef<'a> = (&'a str, u32, GuestKind);

/// Per Proxmox host and policy: the guests whose whole-guest backups go to restic repositories.
type GuestJobs<'a> = Vec<(&'a str, &'a str, Vec<GuestRef<'a>>)>;

fn guest_jobs(model: &Model) -> GuestJobs<'_> {
    let mut jobs: BTreeMap<(&str, &str), Vec<GuestRef>> = BTreeMap::new();
    for b in &model.backups.guests {
        let Some(g) = model.guests.get(&b.guest) else { continue };
        let Some(policy) = model.backups.policies.get(&b.policy) else { continue };
        if restic_repositories(model, policy).is_empty() {
            continue;
        }
        jobs.entry((g.host.as_str(), b.policy.as_str())).or_default().push((b.guest.as_str(), b.id, g.kind));
    }
    jobs.into_iter().map(|((host, policy), guests)| (host, policy, guests)).collect()
}

/// The file a guest's vzdump stream is stored as in restic.
fn vzdump_file(id: u32, kind: GuestKind) -> String {
    match kind {
        GuestKind::Lxc => format!("vzdump-lxc-{id}.tar.zst"),
        GuestKind::Vm => format!("vzdump-qemu-{id}.vma.zst"),
    }
}

/// The whole-guest backups of one policy on one Proxmox host: vzdump streamed into restic.
fn render_guest_job(
    out: &mut Output,
    host: &str,
    policy_name: &str,
    policy: &Policy,
    repos: &[&str],
    guests: &[GuestRef],
) {
    let name = format!("guests-{policy_name}");
    let script_path = format!("/etc/hearth/backup/{name}.sh");
    let mut script = format!(
        "#!/bin/bash\n\
         # Whole-guest backups of policy `{policy_name}` ({at}) on Proxmox host `{host}` to {repo_list}, rendered by Hearth.\n\
         # Run by hearth-backup-{name}.service: backup|metric; hearth-restic-prune-<repo> prunes.\n\
         set -euo pipefail\n\n\
         REPOSITORIES={repos_q}\n\
         METRIC={metric}\n\n\
         use_repository() {{\n    set -a\n    . \"/etc/hearth/restic/$1.env\"\n    set +a\n}}\n\n\
         {LOCKED}\
         # Streams one guest's vzdump archive into the repository loaded in this shell. restic keeps\n\
         # what it read when vzdump fails midway; that partial snapshot is forgotten again.\n\
         guest() {{\n    \
         out=$(mktemp)\n    status=0\n    \
         vzdump \"$2\" --mode snapshot --compress zstd --stdout --quiet 1 |\n        \
         {RESTIC} backup --json --host {host_q} --tag hearth --tag \"guest-$1\" --stdin --stdin-filename \"$3\" >\"$out\" || status=$?\n    \
         if [ \"$status\" -ne 0 ]; then\n        \
         id=$(sed -n 's/.*\"snapshot_id\":\"\\([0-9a-f]*\\)\".*/\\1/p' \"$out\")\n        \
         [ -z \"$id\" ] || {RESTIC} forget \"$id\" >&2 || true\n    \
         fi\n    rm -f \"$out\"\n    return \"$status\"\n}}\n\n\
         case \"${{1:-}}\" in\n\
         backup)\n    failed=0\n    for repository in $REPOSITORIES; do\n        (\n            \
         use_repository \"$repository\" &&\n            {INIT}",
        at = policy.at,
        repo_list = repos.join(", "),
        repos_q = sh_quote(&repos.join(" ")),
        metric = sh_quote(&format!("{TEXTFILE_DIR}/hearth-backup-{name}.prom")),
        host_q = sh_quote(host),
    );
    for (guest, id, kind) in guests {
        script.push_str(&format!(
            " &&\n            locked guest {} {id} {}",
            sh_quote(guest),
            sh_quote(&vzdump_file(*id, *kind))
        ));
    }
    script.push_str("\n        ) || failed=1\n    done\n    exit \"$failed\"\n    ;;\n");
    script.push_str("metric)\n    mkdir -p \"${METRIC%/*}\"\n    {\n        echo '# HELP hearth_backup_last_success_timestamp_seconds Unix time of the last successful backup.'\n        echo '# TYPE hearth_backup_last_success_timestamp_seconds gauge'\n");
    for (guest, _, _) in guests {
        script.push_str(&format!(
            "        echo \"hearth_backup_last_success_timestamp_seconds{{job_name=\\\"guest-{guest}\\\"}} $(date +%s)\"\n"
        ));
    }
    script.push_str(
        "    } > \"$METRIC.tmp\"\n    mv \"$METRIC.tmp\" \"$METRIC\"\n    ;;\n*)\n    echo \"usage: $0 backup|metric\" >&2\n    exit 2\n    ;;\nesac\n",
    );
    let names: Vec<&str> = guests.iter().map(|(g, _, _)| *g).collect();
    let unit = format!(
        "# Rendered by Hearth: whole-guest backups of {guests}, policy `{policy_name}`.\n\
         [Unit]\n\
         Description=Hearth whole-guest backups (policy {policy_name})\n\
         Wants=network-online.target\n\
         After=network-online.target\n\n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart=/bin/bash {script_path} backup\n\
         ExecStartPost=/bin/bash {script_path} metric\n\
         Nice=10\n\
         IOSchedulingClass=idle\n",
        guests = names.join(", "),
    );
    let timer = timer(&format!("hearth-backup-{name}.service (policy {policy_name})"), &policy.on_calendar);
    let mut files = vec![File::new(host, script_path.clone(), Kind::Script, script).mode(0o755)];
    files.extend(systemd::timed(host, &format!("hearth-backup-{name}"), unit, timer));
    for mut f in files {
        f = f.from("backups").from(format!("host/{host}"));
        for g in &names {
            f = f.from(format!("guest/{g}"));
        }
        out.push(f);
    }
}

/// The `--keep-<kind> N` arguments of a retention, space-separated, in the order of the kinds'
/// names: restic's `forget` and PBS's prune jobs take the same words.
pub(crate) fn keep_args(keep: &BTreeMap<String, u32>) -> String {
    keep.iter().map(|(k, v)| format!("--keep-{k} {v}")).collect::<Vec<_>>().join(" ")
}

/// Per restic repository, on the first machine (by name) that holds its env file: one script
/// that forgets each job's snapshots with its policy's `keep` and then prunes once, and checks
/// the repository when a policy asks for it, with a unit and timer each.
fn render_prunes(out: &mut Output, model: &Model, env_files: &BTreeMap<String, BTreeSet<String>>) {
    // repository -> forget lines, prune calendars, check (policy, calendar)
    let mut forgets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut calendars: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut checks: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    let mut forget = |repo: &str, policy: &Policy, host: &str, tag: &str| {
        forgets.entry(repo.to_string()).or_default().push(format!(
            "    locked {RESTIC} forget --host {} --tag {} {}\n",
            sh_quote(host),
            sh_quote(tag),
            keep_args(&policy.keep)
        ));
    };
    for job in &model.backups.jobs {
        if model.is_nixos(&job.machine) {
            continue;
        }
        let Some(policy) = model.backups.policies.get(&job.policy) else { continue };
        if policy.keep.is_empty() {
            continue;
        }
        for repo in restic_repositories(model, policy) {
            forget(repo, policy, &job.machine, &job.name);
        }
    }
    for (host, policy_name, guests) in guest_jobs(model) {
        let Some(policy) = model.backups.policies.get(policy_name) else { continue };
        if policy.keep.is_empty() {
            continue;
        }
        for repo in restic_repositories(model, policy) {
            for (guest, _, _) in &guests {
                forget(repo, policy, host, &format!("guest-{guest}"));
            }
        }
    }
    for (policy_name, policy) in &model.backups.policies {
        for repo in restic_repositories(model, policy) {
            if !policy.keep.is_empty() {
                calendars.entry(repo).or_default().insert(policy.on_calendar.as_str());
            }
            if let Some(calendar) = &policy.check {
                checks.entry(repo).or_insert((policy_name.as_str(), calendar.as_str()));
            }
        }
    }
    let repos: BTreeSet<&str> = forgets.keys().map(String::as_str).chain(checks.keys().copied()).collect();
    for repo in repos {
        let Some(machine) = env_files.iter().find(|(_, repos)| repos.contains(repo)).map(|(m, _)| m) else { continue };
        let script_path = format!("/etc/hearth/backup/repository-{repo}.sh");
        let mut script = format!(
            "#!/bin/sh\n\
             # Maintenance of restic repository `{repo}`, rendered by Hearth: prune (hearth-restic-prune-{repo}) and\n\
             # check (hearth-restic-check-{repo}). The only place the repository is pruned, so no two prunes meet.\n\
             set -eu\n\
             set -a\n\
             . /etc/hearth/restic/{repo}.env\n\
             set +a\n\n\
             {LOCKED}\
             case \"${{1:-}}\" in\n"
        );
        if let Some(lines) = forgets.get(repo) {
            script.push_str(
                "prune)\n    # Each job's snapshots with its policy's keep, one after the other, then one prune.\n",
            );
            for l in lines {
                script.push_str(l);
            }
            script.push_str(&format!("    locked {RESTIC} prune\n    ;;\n"));
            let unit = repository_unit(
                &format!("forget and prune of restic repository `{repo}`"),
                &format!("prune of restic repository {repo}"),
                &script_path,
                "prune",
                &share_mounts_for(model, machine, &[repo], &[]),
            );
            let cal: Vec<&str> = calendars.get(repo).map(|c| c.iter().copied().collect()).unwrap_or_default();
            let timer = timer(&format!("hearth-restic-prune-{repo}.service"), &cal.join("\nOnCalendar="));
            for file in systemd::timed(machine, &format!("hearth-restic-prune-{repo}"), unit, timer) {
                out.push(file.from("backups"));
            }
        }
        if let Some((policy, calendar)) = checks.get(repo) {
            // Reads back a small share of the pack files each run, not only the index.
            script.push_str(&format!("check)\n    locked {RESTIC} check --read-data-subset=5%\n    ;;\n"));
            let unit = repository_unit(
                &format!("integrity check of restic repository `{repo}` (policy `{policy}`)"),
                &format!("check of restic repository {repo}"),
                &script_path,
                "check",
                &share_mounts_for(model, machine, &[repo], &[]),
            );
            let timer = timer(&format!("hearth-restic-check-{repo}.service"), calendar);
            for file in systemd::timed(machine, &format!("hearth-restic-check-{repo}"), unit, timer) {
                out.push(file.from("backups"));
            }
        }
        script.push_str("*)\n    echo \"usage: $0 prune|check\" >&2\n    exit 2\n    ;;\nesac\n");
        out.push(File::new(machine, script_path, Kind::Script, script).mode(0o755).from("backups"));
    }
}

/// The oneshot unit running one verb of a repository's script, at low CPU and I/O priority;
/// `mounts` are its `RequiresMountsFor=` lines.
fn repository_unit(what: &str, description: &str, script_path: &str, verb: &str, mounts: &str) -> String {
    format!(
        "# Rendered by Hearth: {what}.\n\
         [Unit]\n\
         Description=Hearth {description}\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         {mounts}\n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart=/bin/sh {script_path} {verb}\n\
         Nice=10\n\
         IOSchedulingClass=idle\n"
    )
}
