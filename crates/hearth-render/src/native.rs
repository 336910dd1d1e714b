//! Where a native service's Debian package looks for things: the configuration file its unit
//! reads (the catalog's `native.config`, with `{{ version }}` expanded), the data folder as the
//! machine sees it, and the `EnvironmentFile=` its unit reads its command-line flags from.
//!
//! Renderers of native services ask here instead of guessing a folder, so a file lands where the
//! package's unit reads it (`/etc/loki/config.yml`, `/etc/prometheus/alertmanager.yml`,
//! `/etc/postgresql/16/main/conf.d/`), not where Hearth would have liked it to be.

use hearth_catalog::Native;
use hearth_model::model::Service;
use hearth_spec::ast::Form;

use crate::shell::sh_quote;
use crate::{Context, File, Kind};

/// The catalog's native entry of a service that runs natively from its Debian package, if its
/// app has one. Not on NixOS, whose flake configures its services itself.
pub(crate) fn entry<'c>(cx: &'c Context, s: &Service) -> Option<&'c Native> {
    if s.form != Form::Native || cx.model.is_nixos(s.on.name()) {
        return None;
    }
    s.app.as_deref().and_then(|a| cx.catalog.get(a)).and_then(|a| a.native.as_ref())
}

/// The file the package's unit reads its configuration from, with the service's major version
/// filled in. `None` when the service does not run natively, the catalog names no file, or the
/// path needs a version the service does not have (the checks refuse that spec).
pub(crate) fn config(cx: &Context, s: &Service) -> Option<String> {
    let path = entry(cx, s)?.config.as_deref()?;
    expand_version(path, s.image.as_deref())
}

/// The folder a native service keeps its data in, as the machine sees it: the source of its
/// `data` volume (the spec may move it), else the package's own folder.
pub(crate) fn data_dir(cx: &Context, s: &Service) -> Option<String> {
    s.volumes
        .iter()
        .find(|v| v.name == "data")
        .map(|v| v.source.trim_end_matches('/').to_string())
        .or_else(|| entry(cx, s)?.data.clone())
}

/// The `EnvironmentFile=` of a Debian package's unit whose `ARGS=` is the daemon's command line:
/// Debian's `prometheus` and `prometheus-alertmanager` units run `/usr/bin/<package> $ARGS` with
/// `/etc/default/<package>`. systemd splits `$ARGS` on whitespace, so no flag may hold a space.
/// Root's and world-readable (systemd reads it; it holds no secret); the caller adds the restart.
pub(crate) fn args_file(machine: &str, package: &str, what: &str, args: &[String]) -> File {
    let content = format!(
        "# Command line of {what}, rendered by Hearth: the package's unit runs `{package} $ARGS`.\n\
         ARGS={}\n",
        sh_quote(&args.join(" "))
    );
    File::new(machine, format!("/etc/default/{package}"), Kind::Defaults, content)
}

/// The major version of a service's image tag (`postgres:16.4` -> `16`), if the tag starts with
/// a number.
pub(crate) fn major_version(image: Option<&str>) -> Option<String> {
    let major: String = image.and_then(hearth_catalog::image_tag)?.chars().take_while(char::is_ascii_digit).collect();
    (!major.is_empty()).then_some(major)
}

/// A catalog path with `{{ version }}` replaced by the major version of the service's image tag
/// (`/etc/postgresql/{{ version }}/main` with `postgres:16.4` -> `/etc/postgresql/16/main`).
/// `None` when the path needs a version and the tag has none.
pub(crate) fn expand_version(path: &str, image: Option<&str>) -> Option<String> {
    const VERSION: &str = "{{ version }}";
    if !path.contains(VERSION) {
        return Some(path.to_string());
    }
    Some(path.replace(VERSION, &major_version(image)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let pg = "/etc/postgresql/{{ version }}/main/postgresql.conf";
        assert_eq!(
            expand_version(pg, Some("postgres:16.4-alpine")).as_deref(),
            Some("/etc/postgresql/16/main/postgresql.conf")
        );
        assert_eq!(expand_version(pg, Some("postgres:latest")), None);
        assert_eq!(expand_version(pg, None), None);
        assert_eq!(expand_version("/etc/redis/redis.conf", None).as_deref(), Some("/etc/redis/redis.conf"));
    }
}
