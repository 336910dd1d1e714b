//! CrowdSec bouncers registered on the Local API they use, on the CrowdSec server's machine under
//! `/etc/hearth/crowdsec/`:
//!
//! - `bouncers.env` (secret, mode 0600): one `KEY_<BOUNCER>=value` per bouncer, the same secret
//!   the bouncer's container gets as `LAPI_KEY`.
//! - `bouncers.sh`: waits for the Local API, then for each bouncer deletes any registration of its
//!   name and adds it again with that key (`cscli bouncers add <name> --key …`), so a run is
//!   idempotent and a changed key replaces the old one. `cscli` runs inside the container for a
//!   Docker server, natively otherwise; `HEARTH_CSCLI` replaces it (the tests use a fake).
//!
//! A bouncer is a service that `uses:` the CrowdSec service and has a secret `LAPI_KEY`.
//!
//! The Cloudflare bouncer's own file, `crowdsec-cloudflare-bouncer.yaml`, goes to the host path of
//! its `config` volume (a file mounted read-only on the image's path). The bouncer expands
//! `${VAR}` from its environment when it reads the file (`os.ExpandEnv`), so the file holds no
//! secret: the key is `${LAPI_KEY}`, the Cloudflare token `${CF_API_TOKEN}`, and the account and
//! zone the spec's `env:` gives as `CF_ACCOUNT_ID` and `CF_ZONE_ID`. It runs in the foreground,
//! logs to stdout and serves metrics on its `metrics` port on every interface (Prometheus scrapes
//! it there).

use std::collections::BTreeMap;

use hearth_model::model::{Service, Template};

use crate::query::dirs;
use crate::reader::Runner;
use crate::shell::{docker_exec, env_name, sh_quote};
use crate::{Activation, Context, File, Kind, Output, fill};

const DIR: &str = "/etc/hearth/crowdsec";

pub fn render(cx: &Context, out: &mut Output) {
    let model = cx.model;
    for (server, s) in model.services.iter().filter(|(_, s)| s.app.as_deref() == Some("crowdsec")) {
        let bouncers: BTreeMap<&str, &Template> = model
            .services
            .iter()
            .filter(|(_, b)| b.uses.iter().any(|u| u.service == *server))
            .filter_map(|(n, b)| b.env.get("LAPI_KEY").filter(|t| t.is_secret()).map(|t| (n.as_str(), t)))
            .collect();
        for (name, b) in model.services.iter().filter(|(_, b)| b.app.as_deref() == Some(CLOUDFLARE_BOUNCER)) {
            if bouncers.contains_key(name.as_str()) && b.form == hearth_spec::ast::Form::Docker {
                let (host, _) = dirs(b, "config", "");
                let file = File::new(b.on.name(), host, Kind::CrowdsecBouncer, cloudflare_bouncer(name, b, server, s));
                out.push(
                    Runner::of(cx, name, b)
                        .config(file)
                        .from(format!("service/{name}"))
                        .from(format!("service/{server}")),
                );
            }
        }
        if bouncers.is_empty() {
            continue;
        }
        let machine = s.on.name();
        let apply = Activation::Run { argv: vec!["/bin/sh".into(), format!("{DIR}/bouncers.sh")] };
        let mut env = format!(
            "# Local API keys of the bouncers of CrowdSec `{server}`, rendered by Hearth. Secret: keep it mode 0600.\n"
        );
        for (name, key) in &bouncers {
            env.push_str(&format!("KEY_{}={}\n", env_name(name), sh_quote(&fill(key, cx.secrets))));
        }
        let files = [
            File::new(machine, format!("{DIR}/bouncers.env"), Kind::EnvSecret, env).activate(apply.clone()),
            File::new(machine, format!("{DIR}/bouncers.sh"), Kind::Script, script(server, s, &bouncers))
                .mode(0o755)
                .activate(apply),
        ];
        for f in files {
            let f = bouncers.keys().fold(f.from(format!("service/{server}")), |f, b| f.from(format!("service/{b}")));
            out.push(f);
        }
    }
}

/// The catalog app whose configuration file is rendered here.
const CLOUDFLARE_BOUNCER: &str = "crowdsec-cloudflare-bouncer";

/// The Local API's URL as the bouncer reaches it: the container by name inside one Compose
/// project, else the server's address and published port.
fn lapi_url(bouncer: &Service, server: &str, s: &Service) -> String {
    let port = s.port("api");
    let same_stack = bouncer.form == hearth_spec::ast::Form::Docker
        && s.form == hearth_spec::ast::Form::Docker
        && bouncer.on.name() == s.on.name()
        && bouncer.stack == s.stack;
    match (same_stack, s.address) {
        (true, _) | (false, None) => format!("http://{server}:{}/", port.map_or(8080, |p| p.listen)),
        (false, Some(a)) => format!("http://{a}:{}/", port.map_or(8080, |p| p.reachable)),
    }
}

fn cloudflare_bouncer(name: &str, b: &Service, server: &str, s: &Service) -> String {
    let metrics = b.port("metrics").map_or(2112, |p| p.listen);
    let url = crate::yaml::quoted(&lapi_url(b, server, s));
    [
        format!("# CrowdSec Cloudflare bouncer `{name}`, rendered by Hearth. The bouncer expands ${{VAR}} from its"),
        "# environment: LAPI_KEY and CF_API_TOKEN are secrets, CF_ACCOUNT_ID and CF_ZONE_ID come from the spec's `env:`."
            .to_string(),
        format!("crowdsec_lapi_url: {url}"),
        "crowdsec_lapi_key: ${LAPI_KEY}".into(),
        "crowdsec_update_frequency: 10s".into(),
        "cloudflare_config:".into(),
        "  accounts:".into(),
        "    - id: ${CF_ACCOUNT_ID}".into(),
        "      token: ${CF_API_TOKEN}".into(),
        "      ip_list_prefix: crowdsec".into(),
        "      default_action: managed_challenge".into(),
        "      zones:".into(),
        "        - zone_id: ${CF_ZONE_ID}".into(),
        "          actions: [managed_challenge]".into(),
        "  update_frequency: 30s".into(),
        "daemon: false".into(),
        "log_mode: stdout".into(),
        "log_level: info".into(),
        "prometheus:".into(),
        "  enabled: true".into(),
        "  listen_addr: 0.0.0.0".into(),
        format!("  listen_port: \"{metrics}\""),
        String::new(),
    ]
    .join("\n")
}

fn script(server: &str, s: &Service, bouncers: &BTreeMap<&str, &Template>) -> String {
    let cscli = docker_exec(server, s, "").map_or_else(|| "cscli".to_string(), |exec| format!("{exec} cscli"));
    let mut sh = format!(
        "#!/bin/sh\n\
         # Registers the bouncers of CrowdSec `{server}` with their keys, rendered by Hearth. Idempotent.\n\
         # HEARTH_CSCLI replaces the cscli command line, HEARTH_CROWDSEC_DIR the folder of bouncers.env.\n\
         set -eu\n\
         dir=\"${{HEARTH_CROWDSEC_DIR:-{DIR}}}\"\n\
         . \"$dir/bouncers.env\"\n\
         if [ -n \"${{HEARTH_CSCLI:-}}\" ]; then\n    \
           # Word splitting is wanted: it is a command line.\n    \
           # shellcheck disable=SC2086\n    \
           run_cscli() {{ $HEARTH_CSCLI \"$@\"; }}\n\
         else\n    \
           run_cscli() {{ {cscli} \"$@\"; }}\n\
         fi\n\
         # The container creates its configuration and database on its first start.\n\
         tries=0\n\
         until run_cscli lapi status >/dev/null 2>&1; do\n    \
           tries=$((tries + 1))\n    \
           [ \"$tries\" -lt 60 ] || {{ echo \"CrowdSec's Local API did not answer\" >&2; exit 1; }}\n    \
           sleep 2\n\
         done\n"
    );
    for name in bouncers.keys() {
        sh.push_str(&format!(
            "run_cscli bouncers delete {q} >/dev/null 2>&1 || true\n\
             run_cscli bouncers add {q} --key \"$KEY_{env}\" >/dev/null\n",
            q = sh_quote(name),
            env = env_name(name),
        ));
    }
    sh
}
