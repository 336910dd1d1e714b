//! Planned items (`status: planned | future`), decisions, and services on unmanaged guests,
//! data-driven like `model.rs`: each case is a spec whose marker comments name the diagnostics it
//! must give.

mod common;

use hearth_model::Allocations;

const BASE: &str = concat!(
    common::base!(),
    "backups:
  repositories:
    local: { restic: /srv/restic }
    b2: { restic: \"b2:lab:/\", status: future }
  policies:
    daily: { at: \"02:00\", to: [local] }
    offsite: { at: \"03:00\", to: [b2], status: future }
guests:
  app: { lxc: { on: pve }, network: lan, runtime: docker, size: { cores: 2, memory: 2GiB, disk: 8GiB } }
"
);

fn analyze_text(text: &str) -> (hearth_model::Analysis, hearth_spec::Loaded) {
    common::analyze_spec(text, hearth_catalog::builtin(), &Allocations::default())
}

/// Asserts that BASE + `annotated` gives exactly the diagnostics its markers name.
fn check(annotated: &str) {
    common::check_with(&format!("{BASE}{annotated}"), hearth_catalog::builtin());
}

#[test]
fn planned_items_are_checked_but_not_resolved() {
    check(
        "
  k3s-node: { vm: { on: pve2 }, network: lan, status: future, note: high availability }
#                       ^^^^ E201
clusters:
  k3s: { kind: k3s, servers: [k3s-node], status: future }
services:
  caddy: { app: caddy, on: app, backup: false }
  vault: { app: vaultwarden, on: k3s-node, status: planned, uses: [postgress], backup: offsite }
#                                                                  ^^^^^^^^^ E201
  wiki: { app: wikijs, on: nowhere, status: planned }
#              ^^^^^^ E201
#                          ^^^^^^^ E201
  pg: { app: postgresql, on: app, backup: daily }
ingress: { proxy: caddy, tls: { internal: true } }
",
    );
}

#[test]
fn active_items_cannot_depend_on_planned_ones() {
    check(
        "
  k3s-node: { vm: { on: pve }, network: lan, runtime: docker, status: planned }
services:
  caddy: { app: caddy, on: app, backup: false }
  pg: { app: postgresql, on: app, backup: daily }
  vault: { app: vaultwarden, on: k3s-node, status: planned }
  n8n: { app: n8n, on: app, uses: [pg, vault], backup: false }
#                                      ^^^^^ E760
  kuma: { app: uptime-kuma, on: k3s-node, backup: false }
#                               ^^^^^^^^ E760
ingress: { proxy: caddy, tls: { internal: true } }
",
    );
}

/// A planned policy in an active item's `backup:` is the one reference to a planned item that
/// is no dependency: the active policies' jobs run, the planned one's is left out with it, and
/// the planned policy lists what it will cover.
#[test]
fn an_active_service_may_name_a_planned_policy() {
    let spec = format!(
        "{BASE}
  k3s-node: {{ vm: {{ on: pve }}, network: lan, runtime: docker, status: planned }}
services:
  pg: {{ app: postgresql, on: app, backup: [daily, offsite] }}
  vault: {{ app: vaultwarden, on: app, backup: offsite }}
"
    );
    let (a, _) = analyze_text(&spec);
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let offsite = a.model.planned.iter().find(|p| p.name == "offsite").expect("the planned policy");
    assert_eq!(offsite.covers, ["pg", "vault"]);
    let jobs: Vec<&str> = a.model.backups.jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(jobs, ["pg"], "only the active policy's job");
}

#[test]
fn an_env_reference_to_a_planned_service_is_a_dependency() {
    check(
        "
services:
  caddy: { app: caddy, on: app, backup: false }
  mqtt: { app: redis, on: app, status: planned }
  n8n: { app: n8n, on: app, backup: false, env: { BROKER: \"{{ service.mqtt.address }}\" } }
#                                                         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^ E760
ingress: { proxy: caddy, tls: { internal: true } }
",
    );
}

#[test]
fn a_planned_item_leaves_the_model() {
    let (a, _) = analyze_text(&format!(
        "{BASE}  later: {{ vm: {{ on: pve }}, network: lan, runtime: docker, status: planned, note: next year }}\n\
         services:\n  caddy: {{ app: caddy, on: app, backup: false }}\n  grafana: {{ app: grafana, on: later, status: future, expose: grafana }}\n\
         ingress: {{ proxy: caddy, tls: {{ internal: true }} }}\n"
    ));
    assert!(a.diagnostics.iter().all(|d| !d.is_error()), "{:?}", a.diagnostics);
    let m = &a.model;
    assert!(!m.guests.contains_key("later") && !m.services.contains_key("grafana"));
    assert!(!m.backups.repositories.contains_key("b2") && !m.backups.policies.contains_key("offsite"));
    assert!(m.routes.iter().all(|r| r.service != "grafana"), "no route to a planned service");
    assert!(m.dns_records.iter().all(|r| !r.name.starts_with("grafana")), "no DNS record for it");
    let planned: Vec<(&str, String)> = m.planned.iter().map(|p| (p.name.as_str(), p.status.to_string())).collect();
    assert_eq!(
        planned,
        [
            ("later", "planned".to_string()),
            ("grafana", "future".to_string()),
            ("b2", "future".to_string()),
            ("offsite", "future".to_string())
        ]
    );
    assert_eq!(m.planned[0].note.as_deref(), Some("next year"));
}

#[test]
fn a_planned_guest_keeps_what_the_lock_remembers() {
    let mut previous = Allocations::default();
    previous.set("guest/later/id".into(), "150".into());
    let text = format!("{BASE}  later: {{ vm: {{ on: pve }}, network: lan, status: planned }}\n");
    let (a, _) = common::analyze_spec(&text, hearth_catalog::builtin(), &previous);
    assert_eq!(a.allocations.get("guest/later/id"), Some("150"));
}

#[test]
fn notes_and_decisions() {
    check(
        "
  web: { lxc: { on: pve }, network: lan, note: why }
#                                        ^^^^ W761
decisions:
  proxy: { title: Reverse proxy, status: decided, choice: Traefik, about: [app] }
  vlans: { title: VLAN layout, status: decided, about: [lan, wan] }
#                                      ^^^^^^^ W762
#                                                            ^^^ E201
",
    );
}

#[test]
fn backups_of_services_on_unmanaged_guests_warn() {
    check(
        "
  legacy: { vm: { on: pve }, network: lan, runtime: native, managed: false }
services:
  redis: { app: redis, on: legacy, backup: daily }
# ^^^^^ W502
#                                          ^^^^^ W760
",
    );
}

#[test]
fn a_planned_item_of_another_kind_is_no_excuse() {
    check(
        "
  cache: { lxc: { on: pve }, network: lan, status: planned }
services:
  n8n: { app: n8n, on: app, uses: [cache], backup: false }
#                                  ^^^^^ E201
",
    );
}

#[test]
fn a_planned_guest_cannot_take_an_active_address_or_id() {
    check(
        "
  db: { lxc: { on: pve, id: 120 }, network: lan, address: 192.168.1.20 }
  next: { lxc: { on: pve, id: 120 }, network: lan, address: 192.168.1.20, status: planned }
#                             ^^^ E302
#                                                           ^^^^^^^^^^^^ E301
  later: { lxc: { on: pve, id: 121 }, network: lan, address: 192.168.1.21, status: future }
",
    );
}

#[test]
fn secrets_and_images_of_planned_services_are_checked() {
    check(
        "
services:
  later: { image: \"ghcr.io/me/later:latest\", on: app, status: planned, env: { API_TOKEN: hunter2, KEY: \"secret:nope\" } }
#                 ^^^^^^^^^^^^^^^^^^^^^^^^^ W503
#                                                                                        ^^^^^^^ E501
#                                                                                                      ^^^^^^^^^^^^^ E201
",
    );
}

#[test]
fn a_guest_and_a_service_planned_under_one_name() {
    check(
        "
  wiki: { lxc: { on: pve }, network: lan, runtime: docker, status: planned }
services:
  wiki: { app: postgresql, on: wiki, status: planned }
  n8n: { app: n8n, on: app, uses: [wiki], backup: false }
#                                  ^^^^ E760
",
    );
}
