//! Homepage: `services.yaml` with one tile per exposed service, grouped by the service's
//! `group`, and a minimal `settings.yaml`, in the config volume of `monitoring.dashboard`.
//!
//! A tile links to `https://FQDN` of the service's first exposed name; its status dot
//! (`siteMonitor`) probes the service's own upstream (`http://ADDRESS:PORT`) instead, which
//! answers even when the public name sits behind single sign-on or the dashboard machine cannot
//! resolve it. Description and title come from the catalog; the icon is `<app>.png` from the
//! dashboard-icons set Homepage resolves by name. Tiles whose titles would repeat within a group
//! get the service's name appended, since Homepage keys tiles by title.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::query::{dirs, service};
use crate::reader::Runner;
use crate::yaml::quoted as q;
use crate::{Context, File, Kind, Output};

struct Tile<'a> {
    service: &'a str,
    title: String,
    href: String,
    monitor: Option<&'a str>,
    description: Option<String>,
    icon: Option<String>,
}

pub fn render(cx: &Context, out: &mut Output) {
    let m = cx.model;
    let Some((name, svc)) = service(m, m.monitoring.dashboard.as_deref()) else { return };
    if svc.app.as_deref() != Some("homepage") {
        return;
    }
    let (dir, _) = dirs(svc, "config", "/app/config");
    let mut groups: BTreeMap<&str, Vec<Tile>> = BTreeMap::new();
    for (sname, s) in &m.services {
        let Some(x) = s.exposes.first() else { continue };
        let app = s.app.as_deref().and_then(|a| cx.catalog.get(a));
        groups.entry(s.group.as_str()).or_default().push(Tile {
            service: sname,
            title: app.and_then(|a| a.title.clone()).unwrap_or_else(|| sname.clone()),
            href: format!("https://{}", x.fqdn),
            monitor: m.routes.iter().find(|r| r.fqdn == x.fqdn).and_then(|r| r.upstreams.first()).map(String::as_str),
            description: app.and_then(|a| a.description.clone()),
            icon: s.app.as_ref().map(|a| format!("{a}.png")),
        });
    }

    let mut y = String::from("# Dashboard tiles rendered by Hearth from the exposed services.\n");
    if groups.is_empty() {
        y.push_str("[]\n");
    }
    let runner = Runner::of(cx, name, svc);
    let mut file = runner
        .config(File::new(svc.on.name(), format!("{dir}/services.yaml"), Kind::Homepage, ""))
        .from("monitoring")
        .from(format!("service/{name}"));
    for (group, tiles) in &groups {
        let _ = writeln!(y, "- {}:", q(group));
        for t in tiles {
            let repeated = tiles.iter().filter(|o| o.title == t.title).count() > 1;
            let title = if repeated { format!("{} ({})", t.title, t.service) } else { t.title.clone() };
            let _ = writeln!(y, "    - {}:", q(&title));
            let _ = writeln!(y, "        href: {}", q(&t.href));
            if let Some(d) = &t.description {
                let _ = writeln!(y, "        description: {}", q(d));
            }
            if let Some(i) = &t.icon {
                let _ = writeln!(y, "        icon: {}", q(i));
            }
            if let Some(mon) = t.monitor {
                let _ = writeln!(y, "        siteMonitor: {}", q(mon));
            }
            file = file.from(format!("service/{}", t.service));
        }
    }
    file.content = y;
    out.push(file);

    let settings = format!(
        "# Dashboard settings rendered by Hearth.\ntitle: {}\nheaderStyle: clean\nhideVersion: true\n",
        q(&m.homelab)
    );
    let file = File::new(svc.on.name(), format!("{dir}/settings.yaml"), Kind::Homepage, settings);
    out.push(runner.config(file).from("monitoring").from(format!("service/{name}")));
}
