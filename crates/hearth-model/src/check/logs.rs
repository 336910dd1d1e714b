//! Logs: `monitoring.logs` (Loki's store and how long logs stay where) and the log-pattern alert
//! rules (`logql:`), which only Loki's ruler evaluates.

use hearth_catalog::{Catalog, Provides};
use hearth_spec::{Code, Diagnostic, Spec};

use crate::model::Model;

pub(super) fn logs(spec: &Spec, catalog: &Catalog, model: &Model, out: &mut Vec<Diagnostic>) {
    let Some(m) = &spec.monitoring else { return };
    if let Some(logs) = &m.logs {
        if let Some(store) = &logs.store {
            store_is_s3(spec, catalog, &store.value, store.span, out);
        }
        if let Some(local) = &logs.local {
            let retention = logs.retention.as_ref().map(|r| r.value).or(m.retention);
            let retention_secs = retention.map_or(15 * 86_400, |r| r.as_secs());
            let retention_text = model.monitoring.logs.retention.clone();
            if logs.store.is_none() {
                let mut d = Diagnostic::new(
                    Code::LogLocalWithoutStore,
                    local.span,
                    "`local` has no effect without `store`: every log stays on Loki's local disk for the whole retention",
                )
                .help("remove `local`, or name the object store that keeps older logs with `store: <service>`");
                if let (Some(key), Some(value)) = (logs.spans.key("local"), logs.spans.value("local")) {
                    d = d.suggest_removal(key.to(value));
                }
                out.push(d);
            } else if local.value.as_secs() > retention_secs {
                out.push(
                    Diagnostic::new(
                        Code::LogLocalOverRetention,
                        local.span,
                        format!(
                            "logs stay local for `{}`, longer than they are kept at all (retention `{retention_text}`)",
                            local.value
                        ),
                    )
                    .label("longer than the retention")
                    .help(format!("make `local` at most the retention: `{retention_text}`"))
                    .suggest(local.span, retention_text.clone()),
                );
            }
        }
    }
    if model.monitoring.loki.is_none()
        && let Some(alerts) = &m.alerts
    {
        for r in &alerts.rules {
            let (Some(name), Some(_)) = (&r.name, &r.logql) else { continue };
            out.push(
                Diagnostic::new(
                    Code::LogRuleWithoutLoki,
                    name.span,
                    format!(
                        "log alert rule `{}` has a `logql` expression, but `monitoring` names no `loki`",
                        name.value
                    ),
                )
                .label("only Loki's ruler evaluates LogQL")
                .help("add a Loki service and `loki: <service>` under `monitoring`, or remove the rule"),
            );
        }
    }
}

/// `store` names an S3 service: one whose app provides `s3` (MinIO). An unknown name is
/// `references`' to report.
fn store_is_s3(spec: &Spec, catalog: &Catalog, store: &str, span: hearth_spec::Span, out: &mut Vec<Diagnostic>) {
    let Some(svc) = spec.services.get(store) else { return };
    let app = svc.app.as_ref().and_then(|a| catalog.get(&a.value));
    if app.is_some_and(|a| a.provides(Provides::S3)) {
        return;
    }
    let what = svc.app.as_ref().map_or_else(|| "an image".to_string(), |a| format!("`{}`", a.value));
    let s3: Vec<&str> = spec
        .services
        .entries
        .iter()
        .filter(|e| e.value.app.as_ref().and_then(|a| catalog.get(&a.value)).is_some_and(|a| a.provides(Provides::S3)))
        .map(|e| e.name.as_str())
        .collect();
    let mut d = Diagnostic::new(
        Code::LogStoreNotS3,
        span,
        format!("`{store}` runs {what}, which is no S3 object store: Loki cannot keep logs in it"),
    )
    .label("not an S3 service");
    d = match s3.as_slice() {
        [one] => d.help(format!("name the S3 service: `store: {one}`")).suggest(span, *one),
        [] => d.help("add an S3 service (`app: minio`) and name it, or remove `store` to keep logs on Loki's disk"),
        many => d.help(format!(
            "name one of the S3 services: {}",
            many.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        )),
    };
    out.push(d);
}
