//! Which environment values are secrets, and their names and declarations. A value is a secret
//! when its variable's name says so (`…PASSWORD`, `…_KEY`, `…TOKEN`…), when it came from a
//! `${VAR}` whose name says so, when it is Hearth's own `{{secret:NAME}}` placeholder, or when it
//! is the password of a `uses` edge. Values that are the same secret (one `${VAR}`, or one
//! literal written twice) share one declaration; a `uses` password is named as Hearth names it
//! (`<server>-<user>-password`, `<redis>-password`), so the database and its consumer agree.
//! No secret value is ever written to the fragment or the report.

use std::collections::BTreeMap;

use hearth_spec::reference::looks_secret;

use crate::images::Engine;
use crate::plan::{Planned, spec_name};
use crate::report::{Cx, Finding, Level};
use crate::service::placeholder;

/// A value of the fragment's `env:`.
#[derive(Debug, Clone, PartialEq)]
pub enum EnvOut {
    Text(String),
    Secret(String),
    /// An `env:VAR` or `op://…` reference, from Hearth's own placeholder for one.
    Reference(String),
}

/// The reference behind Hearth's placeholder for an environment or 1Password secret
/// (`{{env:VAR}}`, `{{op://vault/item/field}}`).
fn outside_reference(value: &str) -> Option<&str> {
    let inner = value.strip_prefix("{{")?.strip_suffix("}}")?;
    (inner.starts_with("env:") || inner.starts_with("op://")).then_some(inner)
}

/// How a declared secret gets its value: from an environment variable, or stored by the
/// operator (`hearth secrets set`) or generated.
pub type Declarations = BTreeMap<String, Option<String>>;

/// Whether a variable name suggests a credential, a little wider than the checker's rule (so
/// everything the checker would call plain text is a reference).
pub fn secret_name(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    looks_secret(&k) || k.split('_').any(|t| matches!(t, "PASS" | "PWD" | "PW" | "KEY" | "PSK" | "SALT" | "PASSPHRASE"))
}

/// The password secret Hearth uses for a `uses` edge.
fn edge_secret(consumer: &str, u: &crate::relations::Use) -> String {
    match u.engine {
        Engine::Redis => format!("{}-password", u.service),
        _ => {
            let user = u.user.clone().unwrap_or_else(|| u.database.clone().unwrap_or_else(|| sql_ident(consumer)));
            format!("{}-{}-password", u.service, user.replace('_', "-"))
        }
    }
}

/// `my-app` -> `my_app`, as Hearth names a consumer's database.
pub fn sql_ident(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

/// The environment of every planned service, and the secrets it declares.
pub fn assign(planned: &[Planned], cx: &mut Cx) -> (Vec<BTreeMap<String, EnvOut>>, Declarations) {
    // Forced names: the passwords of `uses` edges.
    let mut forced: BTreeMap<(usize, String), String> = BTreeMap::new();
    for (c, p) in planned.iter().enumerate() {
        for u in &p.uses {
            let name = edge_secret(&p.name, u);
            for k in &u.password_keys {
                forced.insert((c, k.clone()), name.clone());
            }
        }
    }
    // Group the secret values: one `${VAR}`, one literal, one placeholder each.
    let group_of = |c: usize, k: &str| -> Option<String> {
        let v = planned[c].svc.env.get(k)?;
        if v.value.is_empty() {
            return None;
        }
        if let Some(n) = placeholder(&v.value) {
            return Some(format!("p:{n}"));
        }
        if outside_reference(&v.value).is_some() {
            return None;
        }
        // A connection string with a password inside is a secret whatever its variable's name.
        let inline = crate::relations::url(&v.value).is_some_and(|u| u.password.is_some());
        let secret = forced.contains_key(&(c, k.to_string()))
            || inline
            || secret_name(k)
            || v.from_var.as_deref().is_some_and(secret_name);
        if !secret {
            return None;
        }
        // One value is one secret, however many variables or files carry it.
        Some(format!("l:{}", v.value))
    };
    // The `${VAR}` a secret value came from anywhere, which its declaration reads.
    let mut var_of: BTreeMap<String, String> = BTreeMap::new();
    for (c, p) in planned.iter().enumerate().filter(|(_, p)| !p.absorbed) {
        for (k, v) in &p.svc.env {
            if let (Some(g), Some(var)) = (group_of(c, k), &v.from_var) {
                var_of.entry(g).or_insert_with(|| var.clone());
            }
        }
    }
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    let mut claim = |group: &str, want: &str, names: &mut BTreeMap<String, String>| {
        if names.contains_key(group) {
            return;
        }
        let mut n = want.to_string();
        while taken.get(&n).is_some_and(|g| g != group) {
            n.push_str("-2");
        }
        taken.insert(n.clone(), group.to_string());
        names.insert(group.to_string(), n);
    };
    for ((c, k), want) in &forced {
        if let Some(g) = group_of(*c, k) {
            if let Some(n) = g.strip_prefix("p:") {
                let n = n.to_string();
                claim(&g, &n, &mut names);
            } else {
                claim(&g, want, &mut names);
            }
        }
    }
    for (c, p) in planned.iter().enumerate().filter(|(_, p)| !p.absorbed) {
        for k in p.svc.env.keys() {
            let Some(g) = group_of(c, k) else { continue };
            let want = if let Some(n) = g.strip_prefix("p:") {
                n.to_string()
            } else if let Some(var) = var_of.get(&g) {
                spec_name(var)
            } else {
                format!("{}-{}", p.name, spec_name(k))
            };
            claim(&g, &want, &mut names);
        }
    }
    // Environment and declarations.
    let mut decls = Declarations::new();
    let mut told: BTreeMap<String, ()> = BTreeMap::new();
    let mut envs = Vec::new();
    for (c, p) in planned.iter().enumerate() {
        let mut env = BTreeMap::new();
        if p.absorbed {
            envs.push(env);
            continue;
        }
        for (k, v) in &p.svc.env {
            if p.dropped_env.contains(k) {
                continue;
            }
            if let Some(r) = outside_reference(&v.value) {
                env.insert(k.clone(), EnvOut::Reference(r.to_string()));
                continue;
            }
            let Some(g) = group_of(c, k) else {
                if v.value.starts_with("secret:") || v.value.starts_with("env:") || v.value.starts_with("op://") {
                    cx.findings.push(Finding {
                        file: Some(v.at.0.clone()),
                        line: v.at.1,
                        level: Level::Differs,
                        service: Some(p.svc.compose.clone()),
                        message: format!("`{k}` is not imported: the spec would read its value as a secret reference"),
                    });
                    continue;
                }
                env.insert(k.clone(), EnvOut::Text(v.value.clone()));
                continue;
            };
            let name = names.get(&g).cloned().unwrap_or_else(|| format!("{}-{}", p.name, spec_name(k)));
            // The catalog generates its own secrets when the spec leaves the variable out.
            if let Some(app) = p.app
                && app.secrets.iter().any(|(sn, s)| s.env.as_deref() == Some(k) && format!("{}-{sn}", p.name) == name)
                && g.starts_with("p:")
            {
                continue;
            }
            env.insert(k.clone(), EnvOut::Secret(name.clone()));
            if !g.starts_with("p:") {
                let source = match var_of.get(&g) {
                    Some(var) => format!("read from `${var}`"),
                    None => "stored with `hearth secrets set`".to_string(),
                };
                cx.findings.push(Finding {
                    file: Some(v.at.0.clone()),
                    line: v.at.1,
                    level: Level::Differs,
                    service: Some(p.svc.compose.clone()),
                    message: format!(
                        "environment `{k}` is the secret `{name}` ({source}); a render without secret values writes a placeholder"
                    ),
                });
            }
            if decls.contains_key(&name) {
                continue;
            }
            match (g.split_once(':'), var_of.get(&g)) {
                (_, Some(var)) => {
                    decls.insert(name.clone(), Some(var.to_string()));
                }
                (Some(("l", _)), None) => {
                    decls.insert(name.clone(), None);
                    if told.insert(name.clone(), ()).is_none() {
                        cx.findings.push(Finding {
                            file: Some(v.at.0.clone()),
                            line: v.at.1,
                            level: Level::Todo,
                            service: Some(p.svc.compose.clone()),
                            message: format!(
                                "the value of `{k}` is a secret, declared as `{name}`: store it with `hearth secrets set {name}` before `hearth resolve` generates another"
                            ),
                        });
                    }
                }
                // Hearth's own placeholder: the spec the fragment joins declares or generates it.
                _ => {}
            }
        }
        envs.push(env);
    }
    (envs, decls)
}
