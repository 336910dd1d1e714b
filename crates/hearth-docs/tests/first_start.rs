//! The First start section: each service whose app needs a step by hand once, with the step of
//! the form it runs in (the container's or the native package's), and no section at all when no
//! service needs one.

const SPEC: &str = r#"
homelab: steps
domain: example.com
networks:
  lan: { cidr: 192.168.60.0/24, gateway: 192.168.60.1 }
hosts:
  pve: { address: 192.168.60.10, network: lan, proxmox: {} }
guests:
  apps: { vm: { on: pve }, network: lan, runtime: docker }
  radius: { lxc: { on: pve }, network: lan, runtime: native }
services:
  postgres: { app: postgresql, on: apps }
  guacamole: { app: guacamole, on: apps, uses: [postgres] }
  teleport: { app: teleport, on: apps }
  freeradius: { app: freeradius, on: radius, form: native, backup: false }
  uptime: { app: uptime-kuma, on: apps }
"#;

fn readme(spec: &str) -> String {
    let loaded = hearth_spec::load_str("steps.yaml", spec);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let a = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    hearth_docs::document(&a.model, hearth_catalog::builtin()).readme
}

/// The text of one `## ` section, if the README has it.
fn section(readme: &str, title: &str) -> Option<String> {
    let start = readme.find(&format!("\n## {title}\n"))?;
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 4);
    Some(rest[..end].to_string())
}

fn check(spec: &str, expected: Option<&str>) {
    let got = section(&readme(spec), "First start");
    assert_eq!(got.as_deref(), expected, "First start section");
}

#[test]
fn steps_by_hand_are_listed_with_the_form_they_belong_to() {
    check(
        SPEC,
        Some(
            "## First start\n\n\
             Steps by hand, once, before these services work: Hearth deploys them but cannot take these.\n\n\
             | Service | App | On | Step |\n\
             |---|---|---|---|\n\
             | freeradius | freeradius | radius | Add the NAS (access points, switches, VPN) and their secrets to /etc/freeradius/3.0/clients.conf, then `systemctl reload freeradius` |\n\
             | guacamole | guacamole | apps | Load the schema into the service's database once: `docker run --rm guacamole/guacamole:1.6.0 /opt/guacamole/bin/initdb.sh --postgresql` (`--mysql` for MariaDB) piped to `psql` (`mariadb`) as the service's database user; it creates the login `guacadmin` with password `guacadmin`: change it |\n\
             | teleport | teleport | apps | Write /etc/teleport/teleport.yaml into the `config` volume's folder once: `docker run --rm --entrypoint /usr/local/bin/teleport public.ecr.aws/gravitational/teleport-distroless:18.8.3 configure --roles=auth,proxy --cluster-name=<name> --public-addr=<name>:3080`, then `tctl users add <user> --roles=editor,access` in the container |\n\n",
        ),
    );
}

#[test]
fn no_section_when_no_service_needs_a_step() {
    let spec = SPEC
        .lines()
        .filter(|l| !["guacamole:", "teleport:", "freeradius:"].iter().any(|n| l.trim_start().starts_with(n)))
        .collect::<Vec<_>>()
        .join("\n");
    check(&spec, None);
}
