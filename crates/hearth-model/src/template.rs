//! `{{ placeholder }}` expansion in catalog values, and the one family of placeholders a spec's
//! own `env` may hold: another service's address or port (`{{ service.NAME.address }}`).

use std::collections::BTreeMap;

use crate::model::{Part, Template};

/// Values for placeholders; a value may itself contain secret parts.
#[derive(Default)]
pub struct Vars {
    values: BTreeMap<String, Template>,
}

impl Vars {
    pub fn text(&mut self, name: &str, value: impl Into<String>) {
        self.values.insert(name.to_string(), Template::text(value));
    }

    pub fn set(&mut self, name: &str, value: Template) {
        self.values.insert(name.to_string(), value);
    }

    /// Expands every `{{ name }}`; unknown names are returned as errors (the catalog tests keep
    /// them out of the built-in catalog).
    pub fn expand(&self, input: &str) -> Result<Template, String> {
        let mut out = Template { parts: Vec::new() };
        let mut rest = input;
        while let Some(start) = rest.find("{{") {
            out.push_text(&rest[..start]);
            let Some(end) = rest[start..].find("}}") else {
                return Err(format!("unclosed `{{{{` in `{input}`"));
            };
            let name = rest[start + 2..start + end].trim();
            match self.values.get(name) {
                Some(v) => out.append(v),
                None => return Err(format!("unknown placeholder `{{{{ {name} }}}}`")),
            }
            rest = &rest[start + end + 2..];
        }
        out.push_text(rest);
        if out.parts.is_empty() {
            out.parts.push(Part::Text(String::new()));
        }
        Ok(out)
    }
}

/// What a spec's `env` value may refer to: `{{ service.NAME.address }}`, `{{ service.NAME.port }}`
/// (its main port) or `{{ service.NAME.port.PORT }}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef<'t> {
    pub service: &'t str,
    /// `None` for the address; `Some(None)` for the main port, `Some(Some(name))` for a named one.
    pub port: Option<Option<&'t str>>,
}

/// The inner text of every `{{ … }}` of `text`, trimmed, with the byte range of the whole
/// placeholder; an unclosed `{{` ends the list.
pub fn placeholders(text: &str) -> Vec<(std::ops::Range<usize>, &str)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = text[at..].find("{{").map(|i| i + at) {
        let Some(end) = text[start..].find("}}").map(|i| i + start + 2) else { break };
        out.push((start..end, text[start + 2..end - 2].trim()));
        at = end;
    }
    out
}

/// A placeholder's inner text read as a service reference; `None` when it does not start with
/// `service.`, `Some(Err(why))` when it does but is not one of the three forms.
pub fn service_ref(inner: &str) -> Option<Result<ServiceRef<'_>, String>> {
    let rest = inner.strip_prefix("service.")?;
    let mut parts = rest.split('.');
    let service = parts.next().unwrap_or_default();
    let parsed = match (parts.next(), parts.next(), parts.next()) {
        _ if service.is_empty() => None,
        (Some("address"), None, _) => Some(ServiceRef { service, port: None }),
        (Some("port"), None, _) => Some(ServiceRef { service, port: Some(None) }),
        (Some("port"), Some(p), None) if !p.is_empty() => Some(ServiceRef { service, port: Some(Some(p)) }),
        _ => None,
    };
    Some(parsed.ok_or_else(|| {
        format!(
            "`{{{{ {inner} }}}}` is not a service reference: write `service.NAME.address`, `service.NAME.port` or \
             `service.NAME.port.PORT`"
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion() {
        let mut v = Vars::default();
        v.text("host", "10.0.0.1");
        v.set("password", Template::secret("secret:pg"));
        let t = v.expand("postgresql://u:{{ password }}@{{host}}/db").unwrap();
        assert_eq!(t.to_string(), "postgresql://u:${secret:pg}@10.0.0.1/db");
        assert!(t.is_secret());
        assert!(v.expand("{{ nope }}").is_err());
        assert_eq!(v.expand("plain").unwrap().to_string(), "plain");
    }

    #[test]
    fn service_references() {
        fn r(t: &str) -> Option<Result<ServiceRef<'_>, ()>> {
            service_ref(t).map(|r| r.map_err(|_| ()))
        }
        assert_eq!(r("service.mqtt.address"), Some(Ok(ServiceRef { service: "mqtt", port: None })));
        assert_eq!(r("service.mqtt.port"), Some(Ok(ServiceRef { service: "mqtt", port: Some(None) })));
        assert_eq!(r("service.mqtt.port.ws"), Some(Ok(ServiceRef { service: "mqtt", port: Some(Some("ws")) })));
        assert_eq!(r("service.mqtt"), Some(Err(())));
        assert_eq!(r("service.mqtt.host"), Some(Err(())));
        assert_eq!(r("tz"), None);
        let text = "mqtt://{{ service.mqtt.address }}:{{service.mqtt.port}}";
        let found: Vec<&str> = placeholders(text).into_iter().map(|(_, p)| p).collect();
        assert_eq!(found, ["service.mqtt.address", "service.mqtt.port"]);
    }
}
