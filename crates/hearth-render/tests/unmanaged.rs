//! A guest Hearth does not manage (`managed: false`) gets no file, whichever renderer would write
//! one, and its Proxmox parameters do not call it "managed by Hearth". Each case places one kind
//! of service on such a guest; before the fix each of them put files there.

use hearth_render::File;

const BASE: &str = r#"
homelab: unmanaged
domain: example.com
networks:
  lan: { cidr: 192.168.50.0/24, gateway: 192.168.50.1 }
hosts:
  pve:
    address: 192.168.50.10
    network: lan
    proxmox: { node: pve }
    hardware: { cores: 8, memory: 32GiB }
    storage:
      local-lvm: { kind: lvm-thin, size: 500GB }
guests:
  app:
    lxc: { on: pve }
    network: lan
    address: 192.168.50.20
    runtime: docker
    size: { cores: 2, memory: 2GiB, disk: 10GiB }
  legacy:
    vm: { on: pve }
    os: OS
    network: lan
    address: 192.168.50.31
    runtime: RUNTIME
    managed: false
    size: { cores: 2, memory: 2GiB, disk: 20GiB }
    description: Run by hand
ingress:
  proxy: caddy
  tls: { internal: true }
backups:
  repositories:
    local: { restic: /srv/restic }
  policies:
    daily: { at: "02:00", to: [local] }
services:
  caddy: { app: caddy, on: app, backup: false }
"#;

fn render(os: &str, runtime: &str, services: &str) -> Vec<File> {
    let text = BASE.replace("OS", os).replace("RUNTIME", runtime) + services;
    let loaded = hearth_spec::load_str("unmanaged.yaml", &text);
    assert!(!loaded.has_errors(), "does not load: {:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "errors: {errors:?}");
    hearth_render::render(&hearth_render::Context {
        model: &a.model,
        catalog: hearth_catalog::builtin(),
        secrets: None,
    })
}

/// Renders the base spec with `services` on the unmanaged guest `legacy` and expects no file there.
fn check(os: &str, runtime: &str, services: &str) {
    let files = render(os, runtime, services);
    let there: Vec<&str> = files.iter().filter(|f| f.machine == "legacy").map(|f| f.path.as_str()).collect();
    assert_eq!(there, Vec::<&str>::new(), "files rendered for an unmanaged guest ({os}, {runtime})");
}

#[test]
fn a_compose_stack_is_not_rendered() {
    check(
        "debian-12",
        "docker",
        "  whoami: { image: \"traefik/whoami:v1.10.3\", ports: { http: 80 }, on: legacy, expose: whoami }\n",
    );
}

#[test]
fn native_configuration_and_packages_are_not_rendered() {
    check("debian-12", "native", "  redis: { app: redis, on: legacy, backup: false }\n");
    check("debian-12", "native", "  grafana: { app: grafana, on: legacy, expose: grafana, backup: false }\n");
}

#[test]
fn backup_units_are_not_rendered() {
    check("debian-12", "native", "  redis: { app: redis, on: legacy, backup: daily }\n");
}

#[test]
fn a_nixos_flake_is_not_rendered() {
    check("nixos", "docker", "  kuma: { app: uptime-kuma, on: legacy, expose: kuma, backup: false }\n");
}

#[test]
fn proxmox_parameters_do_not_call_it_managed() {
    let files = render("debian-12", "docker", "");
    let params = files.iter().find(|f| f.path.ends_with("-legacy.json")).expect("legacy's parameters");
    let p: serde_json::Value = serde_json::from_str(&params.content).unwrap();
    assert_eq!(p["description"], "legacy: Run by hand");
    let managed = files.iter().find(|f| f.path.ends_with("-app.json")).expect("app's parameters");
    assert!(managed.content.contains("managed by Hearth"), "a managed guest keeps its note");
}

#[test]
fn no_other_machine_gets_a_file_for_it() {
    // The NixOS flake, cloud-init snippets and agents live on other machines (the controller, the
    // Proxmox host): none of them may configure the unmanaged guest either.
    let kuma = "  kuma: { app: uptime-kuma, on: legacy, expose: kuma, backup: false }\n";
    let redis = "  redis: { app: redis, on: legacy, backup: false }\n";
    for (os, runtime, services) in
        [("nixos", "docker", kuma), ("debian-12", "docker", kuma), ("debian-12", "native", redis)]
    {
        let files = render(os, runtime, services);
        let about: Vec<&str> = files
            .iter()
            .filter(|f| f.machine != "legacy" && f.sources.iter().any(|s| s == "guest/legacy"))
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(about, vec!["/etc/hearth/proxmox/101-legacy.json"], "{os}, {runtime}");
    }
}
