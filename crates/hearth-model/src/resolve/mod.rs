//! The resolver: spec + catalog + previous allocations -> the resolved [`Model`].
//!
//! It fills defaults, expands catalog apps, allocates what the spec leaves out (guest ids and
//! addresses, Redis DB numbers, database names and users), names the secrets to generate and
//! computes connection strings. Problems met on the way (unknown references, exhausted pools)
//! are reported as diagnostics; the rest of the checks live in `check`. One module per concern:
//! machines, guests and their addresses; services with their ports, volumes and companions;
//! wiring (environment), connections (`uses:`) and exposures; Redis numbers; routes; secrets.

mod addresses;
mod companions;
mod connections;
mod discovery;
mod docker;
mod exporters;
mod exposures;
mod guests;
mod hardware;
mod machines;
mod pod_shares;
mod ports;
mod redis;
mod routes;
mod secrets;
mod services;
mod shares;
pub mod updates;
mod volumes;
mod watcher;
mod wiring;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use hearth_catalog::Catalog;
use hearth_spec::{Diagnostic, Span, Spec};

use crate::lock::Allocations;
use crate::model::*;
use crate::origins::Origins;
use ports::Claim;
use redis::RedisState;

pub use connections::sql_ident;
pub(crate) use discovery::{default_name as socket_proxy_name, socket_proxy_of};
pub use services::replace_tag;

/// Everything resolution produced.
pub struct Resolution {
    pub model: Model,
    pub allocations: Allocations,
    pub origins: Origins,
    pub diagnostics: Vec<Diagnostic>,
}

/// Resolves a spec. Pure: reads nothing but its arguments.
pub fn resolve(spec: &Spec, catalog: &Catalog, previous: &Allocations) -> Resolution {
    let mut r = Resolver {
        spec,
        catalog,
        previous,
        allocations: Allocations::default(),
        origins: Origins::default(),
        diags: Vec::new(),
        secrets: BTreeMap::new(),
        claims: Vec::new(),
        redis: BTreeMap::new(),
        database_index: HashMap::new(),
        bucket_index: HashMap::new(),
    };
    let networks = r.networks();
    let hosts = r.hosts();
    let guests = r.guests(&networks);
    let mut model = Model {
        homelab: spec.homelab.as_ref().map(|h| h.value.clone()).unwrap_or_default(),
        domain: spec.domain.as_ref().map(|d| d.value.clone()),
        timezone: spec.timezone.as_ref().map_or_else(|| "UTC".to_string(), |t| t.value.clone()),
        networks,
        hosts,
        guests,
        services: BTreeMap::new(),
        shares: BTreeMap::new(),
        share_mounts: Vec::new(),
        clusters: spec
            .clusters
            .iter()
            .map(|(name, c)| {
                let names = |v: &Vec<hearth_spec::Sp<String>>| v.iter().map(|g| g.value.clone()).collect();
                let cluster = Cluster {
                    kind: c.kind,
                    servers: names(&c.servers),
                    agents: names(&c.agents),
                    // Only k3s bundles Traefik; the checks refuse `traefik:` on other kinds.
                    traefik: c.kind == hearth_spec::ast::ClusterKind::K3s && c.traefik.as_ref().is_none_or(|t| t.value),
                };
                (name.to_string(), cluster)
            })
            .collect(),
        routes: Vec::new(),
        dns_records: Vec::new(),
        databases: Vec::new(),
        redis_dbs: Vec::new(),
        buckets: Vec::new(),
        generated_secrets: Vec::new(),
        external_secrets: Vec::new(),
        ingress: Default::default(),
        dns: Default::default(),
        monitoring: Default::default(),
        notifications: BTreeMap::new(),
        backups: Default::default(),
        flows: Vec::new(),
        firewall: BTreeMap::new(),
        policy: crate::zones::ZonePolicy {
            deny: spec.policy.as_ref().and_then(|p| p.default.as_ref()).map(|d| d.value)
                == Some(hearth_spec::ast::PolicyDefault::Deny),
            allow: spec
                .policy
                .iter()
                .flat_map(|p| &p.allow)
                .map(|a| crate::zones::Allow {
                    from: a.from.value.clone(),
                    to: a.to.value.clone(),
                    ports: a.ports.iter().map(|p| p.value).collect(),
                })
                .collect(),
        },
        forwards: Vec::new(),
        router_address: spec.router.as_ref().and_then(|r| r.address.as_ref()).map(|a| a.value.0),
        admin: Admin {
            user: spec.admin.as_ref().and_then(|a| a.user.clone()).unwrap_or_else(|| "hearth".into()),
            ssh_keys: spec.admin.as_ref().map(|a| a.ssh_keys.clone()).unwrap_or_default(),
        },
        declared_secrets: spec
            .secrets
            .iter()
            .map(|(name, s)| DeclaredSecret {
                name: name.to_string(),
                source: s.source().map_or_else(|| "generated".to_string(), |r| r.to_string()),
            })
            .collect(),
        planned: Vec::new(),
        decisions: Vec::new(),
        docker: docker::daemons(spec),
        updates: BTreeMap::new(),
        spans: BTreeMap::new(),
    };
    updates::resolve(spec, &mut model);
    r.services(&mut model);
    r.shares(&mut model);
    r.declared_generated_secrets();
    r.routes_and_dns(&mut model);
    r.proxy_environment(&mut model);
    // Every restic repository needs a password; generated once unless the spec declares it.
    if let Some(b) = &spec.backups {
        for e in &b.repositories.entries {
            if e.value.restic.is_some() {
                r.need_secret(&crate::derive::backups::restic_password_secret(&e.name), 32, "backups");
            } else if e.value.pbs.is_some() {
                // A PBS user's password is set on the server; only the operator has it.
                r.external_secret(&format!("pbs-{}-password", e.name), "backups", &mut model);
            }
        }
    }
    r.watcher(&mut model);
    crate::derive::derive(spec, catalog, &mut model);
    model.generated_secrets = r
        .secrets
        .iter()
        .map(|(name, (length, used_by))| GeneratedSecret {
            name: name.clone(),
            length: *length,
            used_by: used_by.iter().cloned().collect(),
        })
        .collect();
    Resolution { model, allocations: r.allocations, origins: r.origins, diagnostics: r.diags }
}

struct Resolver<'a> {
    spec: &'a Spec,
    catalog: &'a Catalog,
    previous: &'a Allocations,
    allocations: Allocations,
    origins: Origins,
    diags: Vec<Diagnostic>,
    /// Generated secret name -> (length, users).
    secrets: BTreeMap<String, (usize, BTreeSet<String>)>,
    claims: Vec<Claim>,
    /// Per Redis server: numbers pinned in the spec, remembered per consumer, and handed out.
    redis: BTreeMap<String, RedisState>,
    /// (server, name) -> index in `model.databases` / `model.buckets`.
    database_index: HashMap<(String, String), usize>,
    bucket_index: HashMap<(String, String), usize>,
}

impl Resolver<'_> {
    pub(super) fn unknown(&mut self, span: Span, what: &str, name: &str, candidates: Vec<&str>) {
        self.diags.push(crate::diagnostics::unknown_reference(span, what, name, &candidates));
    }
}
