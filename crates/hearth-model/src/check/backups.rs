//! Backups: stateful data with no backup and no snapshot covering it.

use hearth_catalog::Catalog;
use hearth_spec::{Code, Diagnostic, Spec};

use crate::model::{Model, Placement};

pub(super) fn backups(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let Some(s) = model.services.get(&e.name) else { continue };
        if e.value.backup.is_some() {
            continue;
        }
        let guest_backup = match &s.on {
            Placement::Guest(g) => model.guests.get(g).and_then(|g| g.backup.clone()),
            _ => None,
        };
        if guest_backup.is_some() {
            continue;
        }
        let stateful: Vec<&str> = s
            .volumes
            .iter()
            .filter(|v| v.stateful && !crate::derive::backups::covered_by_snapshots(spec, v.dataset.as_deref()))
            .map(|v| v.target.as_str())
            .collect();
        let is_db =
            s.app.as_deref().and_then(|a| catalog.get(a)).is_some_and(|a| a.provides.iter().any(|p| p.is_database()));
        if !stateful.is_empty() {
            out.push(
                Diagnostic::new(
                    Code::NoBackup,
                    e.key_span,
                    format!("service `{}` keeps data in {} with no backup", e.name, stateful.join(", ")),
                )
                .label(if is_db { "a database without a backup" } else { "stateful data" })
                .help("add `backup: <policy>` (see `backups.policies`), or `backup: false` if losing it is fine"),
            );
        }
    }
}
