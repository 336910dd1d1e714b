//! The environment of a native service whose Debian package's unit reads it from a file
//! (catalog `native.env_file`, such as `/etc/default/prometheus-postgres-exporter`): the
//! service's environment, its `uses:` connections included, one `VAR='value'` line each.
//!
//! The file is secret (mode 0600: a connection's password is in it). systemd reads it as root
//! before starting the unit's process, so the process's own user never needs to. The package's
//! `ARGS=` is written empty: every setting these units need is an environment variable, and a
//! missing `ARGS` would make systemd pass the literal `$ARGS` on.

use crate::native;
use crate::reader::Runner;
use crate::shell::sh_quote;
use crate::{Context, File, Kind, Output, fill};

pub fn render(cx: &Context, out: &mut Output) {
    for (name, s) in &cx.model.services {
        let Some(path) = native::entry(cx, s).and_then(|n| n.env_file.as_deref()) else { continue };
        let mut content = format!(
            "# Environment of `{name}`, rendered by Hearth; read by its unit (`EnvironmentFile=`).\n\
             # Secret: keep it mode 0600.\n\
             ARGS=''\n"
        );
        for (var, value) in &s.env {
            content.push_str(&format!("{var}={}\n", sh_quote(&fill(value, cx.secrets))));
        }
        let file = File::new(s.on.name(), path, Kind::EnvSecret, content);
        out.push(Runner::of(cx, name, s).env(file).from(format!("service/{name}")));
    }
}
