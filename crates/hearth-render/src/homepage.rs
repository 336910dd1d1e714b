//! Homepage: `services.yaml` with one tile per exposed service, grouped by the service's
//! `group`, and a minimal `settings.yaml`, in the config volume of `monitoring.dashboard`.
//!
//! A tile links to `https://FQDN` of the service's first exposed name; its status dot
//! (`siteMonitor`) probes the service's own upstream (`http://ADDRESS:PORT`) instead, which
//! answers even when the public name sits behind single sign-on or the dashboard machine cannot
//! resolve it. Description and title come from the catalog; the icon is `<app>.png` from the
//! dashboard-icons set Homepage resolves by name. Tiles whose titles would repeat within a group
//! get the service's name appended, since Homepage keys tiles by title.
//!
//! A tile's `widget:` is the model's (`monitoring.widgets`): its type, URL and plain settings as
//! they are, each secret setting as `{{HOMEPAGE_VAR_…}}`, which Homepage fills from its
//! environment (the resolver put the variable there, so the value lives in the compose stack's
//! secret env file only).

use crate::query::{dirs, service};
use crate::reader::Runner;
use crate::yaml::{Node, quoted};
use crate::{Context, File, Kind, Output};
use std::collections::BTreeMap;

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

    let runner = Runner::of(cx, name, svc);
    let mut file = runner
        .config(File::new(svc.on.name(), format!("{dir}/services.yaml"), Kind::Homepage, ""))
        .from("monitoring")
        .from(format!("service/{name}"));
    let mut doc = vec![Node::Comment("Dashboard tiles rendered by Hearth from the exposed services.".into())];
    for (group, tiles) in &groups {
        let mut items = Vec::new();
        for t in tiles {
            let repeated = tiles.iter().filter(|o| o.title == t.title).count() > 1;
            let title = if repeated { format!("{} ({})", t.title, t.service) } else { t.title.clone() };
            let mut tile = vec![("href".to_string(), Node::s(&t.href))];
            if let Some(d) = &t.description {
                tile.push(("description".into(), Node::s(d)));
            }
            if let Some(i) = &t.icon {
                tile.push(("icon".into(), Node::s(i)));
            }
            if let Some(mon) = t.monitor {
                tile.push(("siteMonitor".into(), Node::s(mon)));
            }
            if let Some(w) = m.monitoring.widgets.get(t.service) {
                let mut widget = vec![("type".to_string(), Node::s(&w.kind)), ("url".to_string(), Node::s(&w.url))];
                widget.extend(w.fields.iter().map(|(k, v)| (k.clone(), Node::s(v))));
                widget.extend(w.secrets.iter().map(|(k, var)| (k.clone(), Node::s(&format!("{{{{{var}}}}}")))));
                tile.push(("widget".into(), Node::Map(widget)));
            }
            items.push(Node::TextMap(vec![(title, Node::Map(tile))]));
            file = file.from(format!("service/{}", t.service));
        }
        doc.push(Node::TextMap(vec![(group.to_string(), Node::Seq(items))]));
    }
    file.content = if groups.is_empty() {
        // A comment alone would be an empty document: Homepage wants a list.
        format!("{}[]\n", Node::Seq(doc).to_block(&quoted))
    } else {
        Node::Seq(doc).to_block(&quoted)
    };
    out.push(file);

    let settings = Node::Map(vec![
        Node::comment("Dashboard settings rendered by Hearth."),
        ("title".into(), Node::s(&m.homelab)),
        ("headerStyle".into(), Node::Plain("clean".into())),
        ("hideVersion".into(), Node::Bool(true)),
    ])
    .to_block(&quoted);
    let file = File::new(svc.on.name(), format!("{dir}/settings.yaml"), Kind::Homepage, settings);
    out.push(runner.config(file).from("monitoring").from(format!("service/{name}")));
}
