//! Secrets: no plain-text secrets, well-formed sources, and every `secret:NAME` known.

use std::collections::BTreeSet;

use hearth_catalog::Catalog;
use hearth_spec::reference::{SecretRef, Value, looks_secret};
use hearth_spec::{Code, Diagnostic, Span, Spec, suggest};

use crate::diagnostics::unknown_reference;
use crate::model::Model;

pub(super) fn secrets(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    let known = |n: &str| {
        spec.secrets.is_declared(n)
            || model.generated_secrets.iter().any(|g| g.name == n)
            || model.external_secrets.iter().any(|g| g.name == n)
    };
    for e in &spec.services.entries {
        let app = e.value.app.as_ref().and_then(|a| catalog.get(&a.value));
        for env in &e.value.env.entries {
            let Value::Text(t) = &env.value.value else { continue };
            if !looks_secret(&env.name) || t.is_empty() {
                continue;
            }
            let d = Diagnostic::new(
                Code::PlaintextSecret,
                env.value.span,
                format!("`{}` holds a secret written in plain text", env.name),
            )
            .label("this value will end up in git");
            // The app's own secret for this variable, which Hearth generates under a known name.
            let own = app
                .and_then(|a| a.secrets.iter().find(|(_, s)| s.env.as_deref() == Some(env.name.as_str())))
                .map(|(sname, _)| format!("{}-{sname}", e.name));
            let name = own
                .clone()
                .unwrap_or_else(|| format!("{}-{}", e.name, env.name.to_ascii_lowercase().replace('_', "-")));
            let d = if own.is_some() || known(&name) {
                let source = if own.is_some() { "Hearth generates it" } else { "it is declared" };
                d.help(format!("write `secret:{name}` ({source}; change it with `hearth secrets set {name}`)"))
                    .suggest(env.value.span, format!("\"secret:{name}\""))
            } else {
                d.help(format!(
                    "declare it under `secrets:` as `{name}: {{ env: VAR }}` (or `{name}: {{}}` to have it generated), then write `secret:{name}` here"
                ))
            };
            out.push(d);
        }
    }
    for e in &spec.secrets.entries {
        let s = &e.value;
        if s.env.is_some() && s.op.is_some() {
            out.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    e.key_span,
                    format!("secret `{}` names both `env` and `op`", e.name),
                )
                .help("keep one source"),
            );
        }
        if let Some(op) = &s.op
            && !matches!(SecretRef::parse(&op.value), Some(Ok(SecretRef::Op(_))))
        {
            out.push(
                Diagnostic::new(Code::InvalidValue, op.span, format!("`{}` is not a 1Password reference", op.value))
                    .help("write `op://vault/item/field`"),
            );
        }
    }
    // Every `secret:NAME` used must be declared, generated, or one Hearth asks the operator to
    // store (`hearth secrets set`), as docs/SPEC.md names them.
    let generated: BTreeSet<&str> = model
        .generated_secrets
        .iter()
        .map(|g| g.name.as_str())
        .chain(model.external_secrets.iter().map(|e| e.name.as_str()))
        .collect();
    let declared = |n: &str| spec.secrets.is_declared(n) || generated.contains(n);
    // The apps' own secrets by their documented names (`<service>-<secret>`), which a spec
    // setting the variable to that very name keeps generated: fit for "did you mean".
    let app_secrets: Vec<String> = spec
        .services
        .entries
        .iter()
        .filter_map(|e| e.value.app.as_ref().and_then(|a| catalog.get(&a.value)).map(|a| (e, a)))
        .flat_map(|(e, a)| a.secrets.names().map(move |s| format!("{}-{s}", e.name)))
        .collect();
    let mut check_ref = |r: &SecretRef, span: Span| {
        if let SecretRef::Named(n) = r
            && !declared(n)
        {
            let mut names: Vec<&str> = spec.secrets.names().collect();
            names.extend(generated.iter().copied());
            names.extend(app_secrets.iter().map(String::as_str).filter(|a| !generated.contains(a)));
            let mut d = unknown_reference(span, "secret", n, &names).label("not declared and not generated");
            if suggest::did_you_mean(n, names.iter().copied()).is_none() {
                d = d.help(format!(
                    "declare it under `secrets:`: `{n}: {{ env: VAR }}` to read it from the environment, or `{n}: {{}}` to have it generated"
                ));
            }
            out.push(d);
        }
    };
    for e in &spec.services.entries {
        for env in &e.value.env.entries {
            if let Value::Secret(r) = &env.value.value {
                check_ref(r, env.value.span);
            }
        }
        if let Some(w) = &e.value.widget {
            for (field, r) in [("key", &w.key), ("password", &w.password)] {
                if let Some(r) = r {
                    check_ref(r, w.spans.value(field).unwrap_or(w.span));
                }
            }
        }
    }
    for e in &spec.notifications.entries {
        let n = &e.value;
        let refs = [
            n.telegram.as_ref().map(|t| (&t.token, t.spans.value("token"))),
            n.gotify.as_ref().map(|t| (&t.token, t.spans.value("token"))),
        ];
        for (r, span) in refs.into_iter().flatten() {
            check_ref(r, span.unwrap_or(e.key_span));
        }
        if let Some(em) = &n.email
            && let Some(p) = &em.password
        {
            check_ref(p, em.spans.value("password").unwrap_or(e.key_span));
        }
        if let Some(nt) = &n.ntfy
            && let Some(p) = &nt.token
        {
            check_ref(p, nt.spans.value("token").unwrap_or(e.key_span));
        }
    }
    if let Some(b) = &spec.backups {
        for e in &b.repositories.entries {
            if let Some(c) = &e.value.credentials {
                check_ref(c, e.value.spans.value("credentials").unwrap_or(e.key_span));
            }
        }
    }
    if let Some(acme) = spec.ingress.as_ref().and_then(|i| i.tls.as_ref()).and_then(|t| t.acme.as_ref())
        && let Some(t) = &acme.token
    {
        check_ref(t, acme.spans.value("token").unwrap_or(acme.span));
    }
    for e in &spec.hosts.entries {
        if let Some(t) = e.value.proxmox.as_ref().and_then(|p| p.token.as_ref()) {
            check_ref(t, e.key_span);
        }
    }
}
