//! Homepage widgets: one per exposed service that gives `widget:` or runs an app whose login
//! Hearth knows (Grafana's generated admin), with the secrets they need added to the
//! dashboard's environment as `HOMEPAGE_VAR_…` variables.

use hearth_spec::Spec;

use crate::model::{Model, Template, Widget};

/// Homepage's widget type for a catalog app, where the names differ; other apps use their own
/// name (`sonarr`, `radarr`, `plex`, `grafana` ...).
const WIDGET_TYPES: &[(&str, &str)] = &[
    ("uptime-kuma", "uptimekuma"),
    ("adguard-home", "adguard"),
    ("pi-hole", "pihole"),
    ("paperless-ngx", "paperlessngx"),
    ("home-assistant", "homeassistant"),
    ("nginx-proxy-manager", "npm"),
];

/// Fills `model.monitoring.widgets` and the dashboard's environment. Only for a Homepage
/// dashboard: the widgets are Homepage's format.
pub fn derive(spec: &Spec, model: &mut Model) {
    let Some(dashboard) = model.monitoring.dashboard.clone() else { return };
    if model.services.get(&dashboard).and_then(|s| s.app.as_deref()) != Some("homepage") {
        return;
    }
    let mut env: Vec<(String, Template)> = Vec::new();
    for (name, s) in &model.services {
        let Some(x) = s.exposes.first() else { continue };
        let given = spec.services.get(name).and_then(|e| e.widget.as_ref());
        let app = s.app.as_deref();
        let grafana = app == Some("grafana");
        if given.is_none() && !grafana {
            continue;
        }
        let kind = given.and_then(|w| w.r#type.as_ref()).map(|t| t.value.clone()).or_else(|| {
            app.map(|a| {
                WIDGET_TYPES.iter().find(|(k, _)| *k == a).map_or_else(|| a.to_string(), |(_, t)| t.to_string())
            })
        });
        let Some(kind) = kind else { continue };
        let upstream = model.routes.iter().find(|r| r.fqdn == x.fqdn).and_then(|r| r.upstreams.first()).cloned();
        let Some(url) = given.and_then(|w| w.url.as_ref()).map(|u| u.value.clone()).or(upstream) else { continue };
        let mut widget = Widget { kind, url, fields: Default::default(), secrets: Default::default() };
        let var = |field: &str| format!("HOMEPAGE_VAR_{}_{}", env_name(name), env_name(field));
        let mut secret = |field: &str, value: Template, widget: &mut Widget| {
            widget.secrets.insert(field.to_string(), var(field));
            env.push((var(field), value));
        };
        if grafana {
            // Grafana's admin login, which Hearth sets (GF_SECURITY_ADMIN_USER/_PASSWORD).
            if let Some(user) = s.env.get("GF_SECURITY_ADMIN_USER") {
                widget.fields.insert("username".into(), user.to_string());
            }
            if let Some(password) = s.env.get("GF_SECURITY_ADMIN_PASSWORD") {
                secret("password", password.clone(), &mut widget);
            }
        }
        if let Some(w) = given {
            if let Some(user) = &w.username {
                widget.fields.insert("username".into(), user.clone());
            }
            for f in &w.fields.entries {
                widget.fields.insert(f.name.clone(), f.value.clone());
            }
            if let Some(key) = &w.key {
                secret("key", Template::secret(super::reference(spec, key)), &mut widget);
            }
            if let Some(password) = &w.password {
                secret("password", Template::secret(super::reference(spec, password)), &mut widget);
            }
        }
        model.monitoring.widgets.insert(name.clone(), widget);
    }
    if let Some(s) = model.services.get_mut(&dashboard) {
        s.env.extend(env);
    }
}

/// A name as an environment variable's part: upper case, `-` and `.` as `_`.
fn env_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}
