//! The catalog's promises, checked for every entry.

use super::*;

#[test]
fn every_entry_decodes() {
    let c = builtin();
    let rendered: Vec<String> = c.diagnostics.iter().map(|d| d.render_short(&c.sources)).collect();
    assert!(rendered.is_empty(), "catalog problems:\n{}", rendered.join("\n"));
    assert_eq!(c.apps.len(), files::FILES.len());
}

#[test]
fn every_image_is_pinned() {
    for app in &builtin().apps {
        let tag = app.tag();
        assert!(tag.is_some_and(|t| t != "latest"), "{}: image `{}` is not pinned", app.name.value, app.image.value);
    }
}

#[test]
fn references_name_real_ports_and_volumes() {
    for app in &builtin().apps {
        let name = &app.name.value;
        let port_ok = |p: &str| app.ports.contains(p) || p.parse::<u16>().is_ok();
        if let Some(http) = &app.healthcheck.http {
            assert!(port_ok(&http.port.value), "{name}: healthcheck port `{}`", http.port.value);
        }
        if let Some(tcp) = &app.healthcheck.tcp {
            assert!(port_ok(&tcp.value), "{name}: healthcheck tcp `{}`", tcp.value);
        }
        let h = &app.healthcheck;
        assert!(h.http.is_some() || h.tcp.is_some() || h.command.is_some(), "{name}: healthcheck has no probe");
        if let Some(m) = &app.metrics {
            assert!(port_ok(&m.port), "{name}: metrics port `{}`", m.port);
        }
        for (cname, comp) in app.companions.iter() {
            for (vol, _) in comp.volumes.iter() {
                assert!(app.volumes.contains(vol), "{name}/{cname}: volume `{vol}`");
            }
        }
        if !app.ports.is_empty() {
            assert!(app.primary_port().is_some(), "{name}: no primary port");
        }
        for (pname, p) in app.ports.iter() {
            assert!(p.port > 0, "{name}: port `{pname}` is 0");
            assert!(p.protocol.is_some(), "{name}: port `{pname}` does not say its protocol");
        }
    }
}

#[test]
fn placeholders_are_known() {
    const KNOWN: &[&str] = &[
        "tz",
        "domain",
        "fqdn",
        "url",
        "service",
        "host",
        "port",
        "database",
        "user",
        "password",
        "db",
        "bucket",
        "access_key",
        "secret_key",
        "endpoint",
        "version",
    ];
    let check = |app: &str, text: &str| {
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let Some(end) = rest[start..].find("}}") else { panic!("{app}: unclosed placeholder in `{text}`") };
            let name = rest[start + 2..start + end].trim();
            let ok = KNOWN.contains(&name) || name.strip_prefix("secret.").is_some();
            assert!(ok, "{app}: unknown placeholder `{name}`");
            rest = &rest[start + end + 2..];
        }
    };
    for app in &builtin().apps {
        let name = &app.name.value;
        for (_, v) in app.env.iter() {
            check(name, v);
        }
        for (_, w) in app.uses.iter() {
            for (_, v) in w.env.iter() {
                check(name, v);
            }
        }
        for (_, c) in app.companions.iter() {
            for (_, v) in c.env.iter() {
                check(name, v);
            }
        }
        if let Some(n) = &app.native {
            for v in [&n.package, &n.config, &n.nixos_data].into_iter().flatten() {
                check(name, v);
            }
        }
    }
}

#[test]
fn unknown_keys_are_rejected() {
    let c = decode(&[("x", "name: x\ncategory: apps\nimage: a:1\nhealthcheck: { tcp: http }\nportz: {}\n")]);
    let codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["E103"]);
}
