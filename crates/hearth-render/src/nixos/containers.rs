//! Docker services as `virtualisation.oci-containers`, and restic backups as
//! `services.restic.backups`.

use super::*;

impl<'a> HostConfig<'a> {
    pub(super) fn containers(&mut self, docker: &[(&str, &'a Service)]) {
        let mut containers = Vec::new();
        for (name, s) in docker {
            self.sources.insert(format!("service/{name}"));
            let Some(image) = &s.image else { continue };
            let app = self.app(s);
            let mut c = vec![("image", N::s(image))];
            let ports: Vec<String> = s
                .ports
                .iter()
                .filter_map(|p| {
                    let host = p.host?;
                    let proto = if p.protocol == hearth_spec::ast::Protocol::Udp { "/udp" } else { "" };
                    Some(format!("{host}:{}{proto}", p.container))
                })
                .collect();
            if !ports.is_empty() && s.network_mode.is_none() {
                c.push(("ports", N::strs(&ports)));
            }
            let volumes: Vec<String> = s
                .volumes
                .iter()
                .map(|v| format!("{}:{}{}", v.source, v.target, if v.readonly { ":ro" } else { "" }))
                .collect();
            if !volumes.is_empty() {
                c.push(("volumes", N::strs(&volumes)));
            }
            let plain: Vec<(String, N)> =
                s.env.iter().filter(|(_, v)| !v.is_secret()).map(|(k, v)| (attr(k), N::s(v.to_string()))).collect();
            if !plain.is_empty() {
                c.push(("environment", N::Attrs(plain)));
            }
            let secret: Vec<(&String, &Template)> = s.env.iter().filter(|(_, v)| v.is_secret()).collect();
            if !secret.is_empty() {
                let mut text =
                    format!("# Secret environment of container `{name}`, rendered by Hearth. Keep mode 0600.\n");
                for (k, v) in secret {
                    let _ = writeln!(text, "{k}={}", fill(v, self.cx.secrets));
                }
                let file = self.secret(&format!("{name}.env"), text, &format!("service/{name}"));
                c.push(("environmentFiles", N::strs(&[file])));
            }
            if let Some(cmd) = &s.command {
                c.push(("cmd", N::strs(cmd)));
            }
            if let Some(user) = s.user.clone().or_else(|| app.and_then(|a| a.user.clone())) {
                c.push(("user", N::s(user)));
            }
            let mut options = Vec::new();
            if let Some(mode) = &s.network_mode {
                options.push(format!("--network={mode}"));
            }
            options.extend(s.cap_add.iter().map(|c| format!("--cap-add={c}")));
            options.extend(s.devices.iter().map(|d| format!("--device={d}")));
            if s.privileged {
                options.push("--privileged".into());
            }
            if let Some(mem) = s.resources.as_ref().and_then(|r| r.memory) {
                options.push(format!("--memory={}m", mem.mib()));
            }
            if let Some(cpus) = s.resources.as_ref().and_then(|r| r.cpus) {
                options.push(format!("--cpus={cpus}"));
            }
            // Docker networks beside the default bridge are refused on NixOS by the checks
            // (E801): `docker run` joins one network, and nothing here would create it.
            let d = &s.docker;
            if let Some(gpus) = d.gpus {
                options.push(format!("--gpus={gpus}"));
            }
            if let Some(size) = d.shm_size {
                options.push(format!("--shm-size={}b", size.bytes));
            }
            options.extend(d.sysctls.iter().map(|(k, v)| format!("--sysctl={k}={v}")));
            if d.init {
                options.push("--init".into());
            }
            options.extend(d.group_add.iter().map(|g| format!("--group-add={g}")));
            if !options.is_empty() {
                c.push(("extraOptions", N::strs(&options)));
            }
            containers.push((attr(name), N::attrs(c)));
        }
        let mut entries = vec![("virtualisation.docker".to_string(), self.docker_daemon())];
        if !containers.is_empty() {
            entries.push(("virtualisation.oci-containers.backend".into(), N::s("docker")));
            entries.push(("virtualisation.oci-containers.containers".into(), N::Attrs(containers)));
        }
        self.section("Docker and the containers placed on this guest", entries);
    }

    /// `virtualisation.docker`: the daemon's settings and pruning as the spec's `docker:` block
    /// gives them (`docker_daemon` renders the same for other machines), else a weekly prune.
    fn docker_daemon(&mut self) -> N {
        let daemon = self.model().docker.get(self.name).cloned().unwrap_or_default();
        let mut d = vec![("enable", N::b(true))];
        if let Some(driver) = &daemon.storage_driver {
            d.push(("storageDriver", N::s(driver)));
        }
        if daemon.log_driver.is_some() || daemon.log_max_size.is_some() || daemon.log_max_files.is_some() {
            let json: serde_json::Value =
                serde_json::from_str(&crate::docker_daemon::daemon_json(&daemon)).unwrap_or_default();
            let mut settings = Vec::new();
            if let Some(driver) = json.get("log-driver").and_then(|v| v.as_str()) {
                settings.push(("log-driver".to_string(), N::s(driver)));
            }
            if let Some(serde_json::Value::Object(opts)) = json.get("log-opts") {
                let opts = opts.iter().map(|(k, v)| (k.clone(), N::s(v.as_str().unwrap_or_default()))).collect();
                settings.push(("log-opts".to_string(), N::Attrs(opts)));
            }
            d.push(("daemon.settings", N::Attrs(settings)));
        }
        let prune = match &daemon.prune {
            Some(p) => {
                let flags: Vec<String> = crate::docker_daemon::prune_command(p).into_iter().skip(4).collect();
                let mut a = vec![("enable", N::b(true)), ("dates", N::s(p.every.on_calendar()))];
                if !flags.is_empty() {
                    a.push(("flags", N::strs(&flags)));
                }
                N::attrs(a)
            }
            None => N::attrs(vec![("enable", N::b(true)), ("dates", N::s("weekly"))]),
        };
        d.push(("autoPrune", prune));
        N::attrs(d)
    }

    pub(super) fn backups(&mut self) {
        let model = self.model();
        let mut backups = Vec::new();
        let mut copies = Vec::new();
        let me = self.name;
        for job in model.backups.jobs.iter().filter(|j| j.machine == me) {
            let Some(policy) = model.backups.policies.get(&job.policy) else { continue };
            let svc = model.services.get(&job.service);
            let dump_dir = format!("/var/backups/hearth/{}", job.name);
            let mut prepare = String::new();
            if !job.dumps.is_empty() {
                let _ = writeln!(prepare, "rm -rf {0}\nmkdir -p -m 0700 {0}", sh_quote(&dump_dir));
                for d in &job.dumps {
                    match d.engine.as_str() {
                        "postgres" if svc.is_some_and(|s| s.form == Form::Native) => {
                            let _ = writeln!(
                                prepare,
                                "${{pkgs.util-linux}}/bin/runuser -u postgres -- ${{config.services.postgresql.package}}/bin/pg_dump --format=custom --dbname={} > {}",
                                sh_quote(&d.database),
                                sh_quote(&format!("{dump_dir}/postgres-{}.dump", d.database))
                            );
                        }
                        other => {
                            let _ = writeln!(
                                prepare,
                                "echo {} >&2",
                                sh_quote(&format!("no dump for `{other}` database `{}` here", d.database))
                            );
                        }
                    }
                }
            }
            let mut paths = job.paths.clone();
            if !job.dumps.is_empty() {
                paths.push(dump_dir.clone());
            }
            let prune: Vec<String> = policy.keep.iter().map(|(k, v)| format!("--keep-{k} {v}")).collect();
            for repo in &policy.to {
                let Some(Repository::Restic { url, password, credentials }) = model.backups.repositories.get(repo)
                else {
                    continue;
                };
                let password = fill(&Template::secret(password.clone()), self.cx.secrets);
                let pw_file = self.secret(&format!("restic-{repo}-password"), format!("{password}\n"), "backups");
                let mut b =
                    vec![("initialize", N::b(true)), ("repository", N::s(url)), ("passwordFile", N::s(pw_file))];
                if let Some(reference) = credentials {
                    let value = fill(&Template::secret(reference.clone()), self.cx.secrets);
                    let file = self.secret(&format!("restic-{repo}.env"), format!("{}\n", value.trim_end()), "backups");
                    b.push(("environmentFile", N::s(file)));
                }
                b.push(("paths", N::strs(&paths)));
                b.push(("extraBackupArgs", N::strs(&["--tag hearth".to_string(), format!("--tag {}", job.name)])));
                b.push((
                    "timerConfig",
                    N::attrs(vec![("OnCalendar", N::s(&policy.on_calendar)), ("Persistent", N::b(true))]),
                ));
                if !prune.is_empty() {
                    b.push(("pruneOpts", N::strs(&prune)));
                }
                if !prepare.is_empty() {
                    b.push(("backupPrepareCommand", N::Raw(raw_lines(&prepare, 3))));
                }
                backups.push((attr(&format!("{}-{repo}", job.name)), N::attrs(b)));
            }
            let folders = crate::backup::folder_repositories(model, policy);
            if !folders.is_empty() {
                // Folder repositories: a service of its own that dumps, then copies the run into
                // each folder (the same `copy_to` as on other systems).
                let mut script = format!(
                    "set -u\nJOB={}\nDUMPS={}\nSTAMP=$(date -u +%Y%m%dT%H%M%SZ)\n",
                    sh_quote(&job.name),
                    sh_quote(&dump_dir)
                );
                script.push_str(&prepare);
                script.push_str(crate::backup::copy_function(&job.paths, !job.dumps.is_empty()).trim_end());
                script.push('\n');
                script.push_str("failed=0\n");
                for folder in &folders {
                    let _ = writeln!(
                        script,
                        "copy_to {} {} || failed=1",
                        sh_quote(folder),
                        crate::backup::folder_keep(policy)
                    );
                }
                script.push_str("exit \"$failed\"\n");
                copies.push((
                    path(&["systemd", "services", &format!("hearth-backup-{}", job.name)]),
                    N::attrs(vec![
                        ("description", N::s(format!("Hearth backup of {} (policy {})", job.service, job.policy))),
                        ("startAt", N::s(&policy.on_calendar)),
                        ("path", N::Raw("[ pkgs.gnutar pkgs.gzip ]".into())),
                        ("serviceConfig", N::attrs(vec![("Type", N::s("oneshot"))])),
                        ("script", N::Raw(raw_lines(&script, 2))),
                    ]),
                ));
            }
            self.sources.insert(format!("service/{}", job.service));
            self.sources.insert("backups".into());
        }
        if !copies.is_empty() {
            self.section(
                "Backups to folder repositories: one service per job, dumps copied into dated folders",
                copies,
            );
        }
        if !backups.is_empty() {
            self.section(
                "Backups: one restic job per backed-up service and repository of its policy",
                vec![("services.restic.backups".into(), N::Attrs(backups))],
            );
        }
    }
}
