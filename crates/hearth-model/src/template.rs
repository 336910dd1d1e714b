//! `{{ placeholder }}` expansion in catalog values.

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
}
