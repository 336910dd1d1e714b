//! Planned: the items the spec declares `planned` or `future`, which no other section shows since
//! nothing of them is deployed, and the spec's design decisions, open ones first.

use hearth_model::Model;
use hearth_spec::ast::DecisionStatus;

use crate::md::{self, Table};

pub fn write(model: &Model, out: &mut String) {
    out.push_str("## Planned\n\n");
    if model.planned.is_empty() && model.decisions.is_empty() {
        out.push_str("Nothing planned and no decisions recorded.\n\n");
        return;
    }
    if !model.planned.is_empty() {
        out.push_str(
            "Declared and checked, but not deployed: no files, firewall openings, DNS records, scrape targets or \
             backups exist for these until their `status:` is removed.\n\n",
        );
        let mut t = Table::new(&["Item", "Kind", "Status", "On", "Description", "Note"]);
        for p in &model.planned {
            t.row(&[
                p.name.clone(),
                p.kind.word().to_string(),
                p.status.to_string(),
                match (&p.on, p.address) {
                    (Some(on), Some(a)) => format!("{on} ({a})"),
                    (None, Some(a)) => a.to_string(),
                    (on, None) if p.covers.is_empty() => on.clone().unwrap_or_default(),
                    (on, None) => format!("{}; for {}", on.clone().unwrap_or_default(), p.covers.join(", ")),
                },
                p.description.clone().unwrap_or_default(),
                p.note.clone().unwrap_or_default(),
            ]);
        }
        t.write(out);
    }
    if !model.decisions.is_empty() {
        out.push_str("### Decisions\n\n");
        let open = model.decisions.iter().filter(|d| d.status == DecisionStatus::Open).count();
        out.push_str(&format!("{open} of {} open.\n\n", md::count(model.decisions.len(), "decision", "decisions")));
        let mut t = Table::new(&["Decision", "Status", "Choice", "About", "Note"]);
        let mut rows: Vec<&hearth_model::plans::Decision> = model.decisions.iter().collect();
        // Open decisions first: they are what the operator still has to do. Within each, spec order.
        rows.sort_by_key(|d| d.status != DecisionStatus::Open);
        for d in rows {
            t.row(&[
                d.title.clone(),
                d.status.to_string(),
                d.choice.clone().unwrap_or_default(),
                d.about.join(", "),
                d.note.clone().unwrap_or_default(),
            ]);
        }
        t.write(out);
    }
}
