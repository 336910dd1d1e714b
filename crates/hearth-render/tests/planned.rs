//! Planned items (`status: planned | future`) leave no trace in what is rendered: no file on a
//! planned machine, no file naming a planned item, no file holding a planned machine's address
//! (no firewall opening, DNS record, proxy upstream, scrape target or backup job for it). Checked
//! on every example, each of which plans something.

mod common;

use hearth_model::plans::ItemKind;

/// Whether `name` occurs in `text` as a whole name (not inside a longer one).
fn names(text: &str, name: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

#[test]
fn planned_items_are_not_rendered() {
    let mut checked = 0;
    for (example, model) in common::examples() {
        let files = common::render(&model);
        for p in &model.planned {
            checked += 1;
            for f in &files {
                let what = format!("{example}: {} {} in {}:{}", p.kind.word(), p.name, f.machine, f.path);
                assert_ne!(f.machine, p.name, "{what}");
                if p.kind != ItemKind::Replication {
                    assert!(!names(&f.content, &p.name) && !names(&f.path, &p.name), "{what}");
                }
                if let Some(a) = p.address {
                    assert!(!names(&f.content, &a.to_string()), "{what}: its address");
                }
            }
        }
    }
    assert!(checked >= 6, "only {checked} planned items in the examples");
}

#[test]
fn whole_name_matching() {
    assert!(names("to: [cloud]", "cloud"));
    assert!(!names("cloudflared", "cloud"));
    assert!(!names("192.168.1.1050", "192.168.1.105"));
}
