//! The shares a NixOS machine mounts: one `fileSystems` entry each, with the options the systemd
//! units of other machines get (`crate::shares`), `x-systemd.automount` and `noauto` for an
//! automount, and an SMB login in a 0600 file beside the other secrets.

use super::*;

impl HostConfig<'_> {
    pub(super) fn shares(&mut self) {
        let model = self.model();
        let mut entries = Vec::new();
        let name = self.name;
        for m in model.share_mounts.iter().filter(|m| m.machine == name) {
            let Some(share) = model.shares.get(&m.share) else { continue };
            let Some(device) = share.source() else { continue };
            let source = format!("share/{}", m.share);
            self.sources.insert(source.clone());
            let credentials = if share.kind == hearth_spec::ast::ShareKind::Smb {
                let content = crate::shares::credentials(self.cx, share);
                self.secret(&format!("share-{}.cred", m.share), content, &source)
            } else {
                String::new()
            };
            let mut options = crate::shares::options(share, m, &credentials);
            if m.automount {
                options.extend(["x-systemd.automount".to_string(), "noauto".to_string()]);
            }
            entries.push((
                path(&["fileSystems", &m.path]),
                N::attrs(vec![
                    ("device", N::s(device)),
                    ("fsType", N::s(crate::shares::fstype(share.kind))),
                    ("options", N::List(options.into_iter().map(N::s).collect())),
                ]),
            ));
        }
        self.section("Shares this machine mounts (`shares:`)", entries);
    }
}
