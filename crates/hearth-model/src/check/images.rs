//! Images: pinned tags, and healthchecks for images the catalog does not describe.

use hearth_catalog::image_tag;
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
                    .help("add `healthcheck: { http: { port: http, path: /health } }` or `{ tcp: http }`"),
            );
        }
    }
}
