//! Secrets inventory: every secret the homelab refers to, where it comes from and where it is
//! used. Names only: the model holds no values.

use std::collections::{BTreeMap, BTreeSet};

use hearth_model::Model;
use hearth_model::model::{Repository, Tls};

use crate::md::{self, Table};
use crate::monitoring::channel;

/// Secret name -> the places that use it.
pub fn inventory(model: &Model) -> BTreeMap<String, BTreeSet<String>> {
    let mut inv: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut add = |name: String, place: String| {
        inv.entry(name).or_default().insert(place);
    };
    for g in &model.generated_secrets {
        for u in &g.used_by {
            add(g.name.clone(), format!("service {u}"));
        }
        if g.used_by.is_empty() {
            add(g.name.clone(), "(generated, not referenced)".to_string());
        }
    }
    for (name, s) in &model.services {
        for (var, t) in &s.env {
            for sec in md::secrets_of(t) {
                add(sec, format!("{name} env {var}"));
            }
        }
        for u in &s.uses {
            if let Some(url) = &u.url {
                for sec in md::secrets_of(url) {
                    add(sec, format!("{name} -> {} connection", u.service));
                }
            }
        }
    }
    for d in &model.databases {
        add(md::secret_name(&d.password_secret), format!("{} user {} on {}", d.engine, d.user, d.server));
    }
    for (name, r) in &model.backups.repositories {
        if let Repository::Restic { credentials: Some(c), .. } = r
            && md::is_reference(c)
        {
            add(md::secret_name(c), format!("backup repository {name}"));
        }
        if let Repository::Rsync { key: Some(k), .. } | Repository::Git { key: Some(k), .. } = r
            && md::is_reference(k)
        {
            add(md::secret_name(k), format!("SSH key of repository {name}"));
        }
    }
    for (name, c) in &model.notifications {
        let (kind, _, _) = channel(c);
        let refs: Vec<&String> = match c {
            hearth_model::model::Channel::Telegram { token, .. }
            | hearth_model::model::Channel::Gotify { token, .. } => {
                vec![token]
            }
            hearth_model::model::Channel::Ntfy { token, .. } => token.iter().collect(),
            hearth_model::model::Channel::Email { password, .. } => password.iter().collect(),
            hearth_model::model::Channel::Webhook { .. } => Vec::new(),
        };
        for r in refs.into_iter().filter(|r| md::is_reference(r)) {
            add(md::secret_name(r), format!("{kind} channel {name}"));
        }
    }
    if let Tls::Acme { token: Some(t), .. } = &model.ingress.tls
        && md::is_reference(t)
    {
        add(md::secret_name(t), "ACME DNS challenge".to_string());
    }
    for u in &model.ingress.basic_auth {
        if md::is_reference(&u.password) {
            add(md::secret_name(&u.password), format!("basic auth user {} on the proxy", u.name));
        }
    }
    // The model records declared secrets by their source (`env:VAR`); the operator knows them by
    // the name declared under `secrets:`, so they are listed under that name.
    for d in &model.declared_secrets {
        let uses = inv.remove(&d.source).into_iter().chain(inv.remove(&d.name)).flatten();
        let entry = inv.entry(d.name.clone()).or_default();
        entry.extend(uses);
        if entry.is_empty() {
            entry.insert("(declared, not referenced)".to_string());
        }
    }
    // `service X` from the generated list says less than a use already recorded for X.
    for uses in inv.values_mut() {
        let specific: BTreeSet<String> = uses
            .iter()
            .filter(|u| !u.starts_with("service "))
            .filter_map(|u| u.split(' ').next().map(str::to_string))
            .collect();
        uses.retain(|u| u.strip_prefix("service ").is_none_or(|svc| !specific.contains(svc)));
    }
    inv
}

pub fn write(model: &Model, out: &mut String) {
    out.push_str("## Secrets\n\n");
    let inv = inventory(model);
    if inv.is_empty() {
        out.push_str("The homelab uses no secrets.\n\n");
        return;
    }
    let generated: BTreeMap<&str, usize> =
        model.generated_secrets.iter().map(|g| (g.name.as_str(), g.length)).collect();
    out.push_str(
        "Names only. Generated secrets live encrypted in `hearth.secrets.age` beside the spec \
         (`hearth secrets list`); the others come from the spec's `secrets:` section, the environment or 1Password.\n\n",
    );
    let declared: BTreeMap<&str, &str> =
        model.declared_secrets.iter().map(|d| (d.name.as_str(), d.source.as_str())).collect();
    let mut t = Table::new(&["Secret", "Source", "Used by"]);
    for (name, uses) in &inv {
        let source = if let Some(src) = declared.get(name.as_str()).filter(|s| **s != "generated") {
            match src.strip_prefix("env:") {
                Some(var) => format!("environment `{var}`"),
                None => format!("1Password `{src}`"),
            }
        } else if model.external_secrets.iter().any(|e| &e.name == name) {
            // A credential made outside the homelab (a tunnel's or an outpost's token).
            format!("the operator: `hearth secrets set {name}`")
        } else if let Some(len) = generated.get(name.as_str()) {
            format!("generated ({len} characters)")
        } else if name.starts_with("env:") {
            "environment".to_string()
        } else if name.starts_with("op://") {
            "1Password".to_string()
        } else {
            "declared in `secrets:`".to_string()
        };
        t.row(&[md::code(name), source, uses.iter().cloned().collect::<Vec<_>>().join("; ")]);
    }
    t.write(out);
}
