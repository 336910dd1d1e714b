//! AdGuard Home: the internal DNS records as DNS rewrites, when `dns.server` is an AdGuard Home
//! service.
//!
//! AdGuard Home owns `AdGuardHome.yaml` and rewrites it on every settings change (users, filter
//! lists, statistics all live there), so Hearth does not write that file. It renders a fragment
//! in the same schema holding only `filtering.rewrites`, beside it (the `conf` volume of the
//! container, the install folder natively); applying it merges that one key into the live file
//! (or posts each entry to `/control/rewrite/add`). Entries are `{domain, answer}`, the format of
//! the catalog's v0.107 line.

use std::fmt::Write as _;

use hearth_spec::ast::Form;

use crate::query::{dirs, dns_records, service};
use crate::yaml::quoted as q;
use crate::{Context, File, Kind, Output};

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    if m.dns.server_app.as_deref() != Some("adguard-home") {
        return;
    }
    let Some((name, svc)) = service(m, m.dns.server.as_deref()) else { return };
    let dir = if svc.form == Form::Docker {
        dirs(svc, "conf", "/opt/adguardhome/conf").0
    } else {
        // The catalog's native install keeps AdGuardHome.yaml in its install folder.
        svc.app
            .as_deref()
            .and_then(|a| cx.catalog.get(a))
            .and_then(|a| a.native.as_ref())
            .and_then(|n| n.config.as_deref())
            .and_then(|c| c.rsplit_once('/'))
            .map_or_else(|| "/opt/AdGuardHome".to_string(), |(d, _)| d.to_string())
    };
    let mut c = String::from(
        "# DNS rewrites rendered by Hearth from `dns` and the exposed services.\n\
         # A fragment of AdGuardHome.yaml: merge `filtering.rewrites` into the live file.\n\
         filtering:\n  rewrites:",
    );
    if dns_records(m).is_empty() {
        c.push_str(" []");
    }
    c.push('\n');
    for r in dns_records(m) {
        let _ = writeln!(c, "    - domain: {}\n      answer: {}", q(&r.name), q(&r.address.to_string()));
    }
    out.push(
        File::new(svc.on.name(), format!("{dir}/AdGuardHome.hearth.yaml"), Kind::AdguardHome, c)
            .from("dns")
            .from(format!("service/{name}")),
    );
}
