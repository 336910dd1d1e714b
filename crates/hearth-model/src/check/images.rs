//! Images: pinned tags, and healthchecks for images the catalog does not describe.

use hearth_catalog::image_tag;
use hearth_spec::ast::{Port, Protocol};
use hearth_spec::decode::NamedMap;
use hearth_spec::{Code, Diagnostic, Spec};

pub(super) fn images(spec: &Spec, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        if let Some(img) = &e.value.image {
            match image_tag(&img.value) {
                None => out.push(
                    Diagnostic::new(Code::UnpinnedImage, img.span, format!("image `{}` has no tag", img.value))
                        .help("pin a version: `name:1.2.3`; an untagged image means `latest`, which changes under you"),
                ),
                Some("latest") => out.push(
                    Diagnostic::new(
                        Code::UnpinnedImage,
                        img.span,
                        format!("image `{}` uses the `latest` tag", img.value),
                    )
                    .help("pin a version: `name:1.2.3`, so a redeploy gives the same software"),
                ),
                _ => {}
            }
        }
        if let Some(v) = &e.value.version
            && v.value == "latest"
        {
            out.push(
                Diagnostic::new(Code::UnpinnedImage, v.span, "`version: latest` is not a version")
                    .help("write the version to run, e.g. `version: \"16\"`"),
            );
        }
        // A job (`schedule:`) is done when its process exits: nothing to check between runs.
        if e.value.app.is_none()
            && e.value.image.is_some()
            && e.value.healthcheck.is_none()
            && e.value.schedule.is_none()
        {
            out.push(
                Diagnostic::new(Code::NoHealthcheck, e.key_span, format!("service `{}` has no healthcheck", e.name))
                    .help(healthcheck_help(&e.value.ports)),
            );
        }
    }
}

/// The healthcheck to propose for a service given by `image:`, written with the service's own
/// port names: a port named in the help must exist, or following it only trades this warning
/// for an unknown-port error. An HTTP port gets an HTTP probe, any other TCP port a connection
/// probe, and a service without one a command (UDP cannot be probed by connecting).
fn healthcheck_help(ports: &NamedMap<Port>) -> String {
    let protocol = |p: &Port| p.protocol.unwrap_or(Protocol::Tcp);
    let http = ports
        .entries
        .iter()
        .find(|e| matches!(protocol(&e.value), Protocol::Http) || (e.value.protocol.is_none() && e.name == "http"));
    if let Some(e) = http {
        return format!(
            "add `healthcheck: {{ http: {{ port: {0}, path: / }} }}` (a path that answers 200) or `{{ tcp: {0} }}`",
            e.name
        );
    }
    if let Some(e) = ports.entries.iter().find(|e| !matches!(protocol(&e.value), Protocol::Udp)) {
        return format!("add `healthcheck: {{ tcp: {} }}`", e.name);
    }
    "add `healthcheck: { command: [CMD, ARG] }` with a command its image has that fails when the service is unwell"
        .to_string()
}
