//! Copies of folders to `rsync:` and `git:` repositories as `systemd.services.hearth-copy-<policy>`
//! with `startAt`: the same script as on Debian (`crate::copy::script`), its SSH keys as secret
//! files beside the configuration's other secrets.

use super::*;

impl HostConfig<'_> {
    pub(super) fn copies(&mut self) {
        let model = self.model();
        let me = self.name;
        let mut services = Vec::new();
        for job in model.backups.copies.iter().filter(|j| j.machine == me) {
            let Some(policy) = model.backups.policies.get(&job.policy) else { continue };
            let mut keys = BTreeMap::new();
            for (repo, reference) in crate::copy::repository_keys(model, job) {
                let content = crate::copy::key_file(self.cx, &reference);
                keys.insert(repo.clone(), self.secret(&format!("copy-{repo}.key"), content, "backups"));
            }
            let script = crate::copy::script(model, job, &|repo| keys.get(repo).cloned().unwrap_or_default());
            services.push((
                path(&["systemd", "services", &format!("hearth-copy-{}", job.name)]),
                N::attrs(vec![
                    ("description", N::s(format!("Hearth copies of policy {}", job.policy))),
                    ("startAt", N::s(&policy.on_calendar)),
                    ("wants", N::strs(&["network-online.target".to_string()])),
                    ("after", N::strs(&["network-online.target".to_string()])),
                    ("path", N::Raw("[ pkgs.coreutils pkgs.rsync pkgs.openssh pkgs.git ]".into())),
                    ("serviceConfig", N::attrs(vec![("Type", N::s("oneshot"))])),
                    ("script", N::Raw(raw_lines(&script, 2))),
                ]),
            ));
            self.sources.insert(format!("policy/{}", job.policy));
            self.sources.insert("backups".into());
        }
        if !services.is_empty() {
            self.section("Folder copies: rsync mirrors and git commits pushed, one service per policy", services);
        }
    }
}
