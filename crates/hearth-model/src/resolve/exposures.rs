//! Exposures: each name a service is reached by through the proxy, with the port it routes to.

use hearth_catalog::App;
use hearth_spec::ast::{self, Access, Auth};
use hearth_spec::{Code, Diagnostic};

use super::Resolver;
use crate::model::{CloudflareAccess, Exposure, Model, Port};

impl Resolver<'_> {
    /// The exposures of service `name`: its `expose:` entries with their fully qualified names
    /// and the (host) port each routes to, their spans recorded for the conflict checks.
    pub(super) fn exposures(
        &mut self,
        name: &str,
        svc: &ast::Service,
        app: Option<&App>,
        model: &Model,
    ) -> Vec<Exposure> {
        let mut exposes = Vec::new();
        let Some(x) = &svc.expose else { return exposes };
        for ex in &x.0 {
            let fqdn = self.fqdn(&ex.name.value, model);
            let ports = model.services.get(name).map(|s| s.ports.clone()).unwrap_or_default();
            let port = match &ex.port {
                Some(p) => match ports.iter().find(|q| q.name == p.value) {
                    Some(q) => Some(q.reachable()),
                    None => {
                        let names: Vec<&str> = ports.iter().map(|q| q.name.as_str()).collect();
                        self.unknown(p.span, "port", &p.value, names);
                        None
                    }
                },
                None => app
                    .and_then(|a| a.primary_port())
                    .and_then(|(pn, _)| ports.iter().find(|q| q.name == pn))
                    .or_else(|| ports.first())
                    .map(Port::reachable),
            };
            let Some(port) = port else {
                self.diags.push(
                    Diagnostic::new(Code::MissingKey, ex.name.span, format!("service `{name}` has no port to expose"))
                        .help("declare one under `ports:` (e.g. `ports: { http: 8080 }`)"),
                );
                continue;
            };
            // Two services may share a name on different paths; only the same name and path
            // conflict.
            let routed = format!("{fqdn}{}", ex.path.as_deref().unwrap_or(""));
            self.origins.exposures.push((routed, name.to_string(), ex.name.span));
            exposes.push(Exposure {
                fqdn,
                path: ex.path.clone(),
                port,
                access: ex.access.as_ref().map_or(Access::Internal, |a| a.value),
                auth: ex.auth.as_ref().map_or(Auth::None, |a| a.value),
                middleware: crate::derive::ingress::middleware(self.spec, model, ex),
                cloudflare_access: ex.cloudflare_access.as_ref().map(|c| {
                    let values = |v: &[hearth_spec::Sp<String>]| v.iter().map(|e| e.value.clone()).collect();
                    CloudflareAccess {
                        emails: values(&c.emails),
                        email_domains: values(&c.email_domains),
                        groups: values(&c.groups),
                    }
                }),
            });
        }
        exposes
    }
}
