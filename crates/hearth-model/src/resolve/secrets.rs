//! Secrets the resolver needs: generated into the store, or supplied by the operator.

use std::collections::BTreeSet;

use super::Resolver;
use crate::model::{ExternalSecret, Model, Template};

impl Resolver<'_> {
    /// A secret Hearth needs. Declared under `secrets:` with an outside source, it comes from
    /// there; otherwise it is generated into the store (with the declared `length`, if any).
    pub(super) fn need_secret(&mut self, name: &str, length: usize, user: &str) -> Template {
        if let Some(source) = self.spec.secrets.get(name).and_then(|d| d.source()) {
            return Template::secret(source.to_string());
        }
        let length = self.spec.secrets.get(name).and_then(|d| d.length).map_or(length, |l| l as usize);
        let entry = self.secrets.entry(name.to_string()).or_insert_with(|| (length, BTreeSet::new()));
        entry.1.insert(user.to_string());
        Template::secret(format!("secret:{name}"))
    }

    /// Secrets declared under `secrets:` with neither `env:` nor `op:` are generated (docs/SPEC.md):
    /// each one a service's `env:` refers to joins the store, used by that service.
    pub(super) fn declared_generated_secrets(&mut self) {
        for e in &self.spec.services.entries {
            for env in &e.value.env.entries {
                let hearth_spec::reference::Value::Secret(hearth_spec::reference::SecretRef::Named(n)) =
                    &env.value.value
                else {
                    continue;
                };
                if self.spec.secrets.get(n).is_some_and(|d| d.source().is_none()) {
                    self.need_secret(n, 32, &e.name);
                }
            }
        }
    }

    /// A secret only the operator can supply (a provider token): from its declaration, or from the
    /// store where `hearth secrets set` puts it.
    pub(super) fn external_secret(&mut self, name: &str, user: &str, model: &mut Model) -> Template {
        if let Some(source) = self.spec.secrets.get(name).and_then(|d| d.source()) {
            return Template::secret(source.to_string());
        }
        match model.external_secrets.iter_mut().find(|s| s.name == name) {
            Some(s) => s.used_by.push(user.to_string()),
            None => {
                model.external_secrets.push(ExternalSecret { name: name.to_string(), used_by: vec![user.to_string()] })
            }
        }
        Template::secret(format!("secret:{name}"))
    }
}
