//! Who reads a rendered file, and so who must own it and what its machine must do when it changes.
//!
//! A service runs either as a systemd unit of its Debian package (the catalog's `native:` unit and
//! user) or as a container of a Compose project (`/opt/hearth/stacks/<stack>`). Renderers ask
//! [`Runner::of`] once per service and hand each file to one of its three methods:
//! [`Runner::config`] for a file the process reads itself, [`Runner::private`] for a secret file the
//! process reads itself (owned by the process's user, so mode 0600 still lets it read), and
//! [`Runner::env`] for a file the service manager reads before the process starts (systemd's
//! `EnvironmentFile=`, Compose's `env_file:`), which stays root's.

use hearth_model::model::Service;
use hearth_spec::ast::Form;

use crate::{Activation, Context, File};

/// Where compose projects live on a machine.
const STACKS: &str = "/opt/hearth/stacks";

/// Units whose Debian unit file has an `ExecReload=` that re-reads the configuration, so a changed
/// file does not need a restart (and open connections survive).
const RELOADS: &[&str] =
    &["caddy.service", "nginx.service", "postgresql.service", "prometheus.service", "prometheus-alertmanager.service"];

/// How a service's process runs, as far as the files it reads are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Runner {
    /// The systemd unit of the service's package, running as `user` (root when the catalog names
    /// none).
    Native { unit: String, user: Option<String> },
    /// The container `service` of the Compose project in `dir`, running as `user` (a uid, or
    /// `uid:gid`) when it is not root (the model's `runs_as`: the image's own user, such as
    /// `prom/alertmanager`'s `nobody`, to which a 0600 file owned by root would be unreadable).
    Container { dir: String, service: String, user: Option<String> },
    /// Nothing Hearth starts: an appliance's own service, or an app without a catalog unit.
    Unmanaged,
}

impl Runner {
    /// How the service `name` runs.
    pub(crate) fn of(cx: &Context, name: &str, s: &Service) -> Runner {
        let app = s.app.as_deref().and_then(|a| cx.catalog.get(a));
        match s.form {
            Form::Docker => {
                Runner::Container { dir: stack_dir(&s.stack), service: name.to_string(), user: s.runs_as.clone() }
            }
            Form::Native => match app.and_then(|a| a.native.as_ref()) {
                Some(native) => match &native.unit {
                    Some(unit) => Runner::Native { unit: unit.clone(), user: native.user.clone() },
                    None => Runner::Unmanaged,
                },
                None => Runner::Unmanaged,
            },
            Form::Appliance => Runner::Unmanaged,
        }
    }

    /// What a change to a file the process reads at start needs: a reload where the unit can
    /// re-read its configuration, else a restart.
    fn restart(&self, reload_ok: bool) -> Option<Activation> {
        match self {
            Runner::Native { unit, .. } if reload_ok && RELOADS.contains(&unit.as_str()) => {
                Some(Activation::Reload { unit: unit.clone() })
            }
            Runner::Native { unit, .. } => Some(Activation::Restart { unit: unit.clone() }),
            Runner::Container { dir, service, .. } => {
                Some(Activation::RestartContainer { dir: dir.clone(), service: service.clone() })
            }
            Runner::Unmanaged => None,
        }
    }

    /// A configuration file the process reads: root's, readable by all, reloaded or restarted.
    pub(crate) fn config(&self, file: File) -> File {
        match self.restart(true) {
            Some(a) => file.activate(a),
            None => file,
        }
    }

    /// A configuration file whose settings only take effect when the process starts (PostgreSQL's
    /// `listen_addresses`): root's, readable by all, restarted on change.
    pub(crate) fn restarted(&self, file: File) -> File {
        match self.restart(false) {
            Some(a) => file.activate(a),
            None => file,
        }
    }

    /// A secret file the process itself reads at start: owned by the process's user so that mode
    /// 0600 still lets it read, and restarted on change.
    pub(crate) fn private(&self, file: File) -> File {
        match self.restart(false) {
            Some(a) => self.owns(file.activate(a)),
            None => self.owns(file),
        }
    }

    /// A file the process reads whenever it needs it (a watched folder, a password file read per
    /// request): owned by the process's user, nothing to restart.
    pub(crate) fn owns(&self, file: File) -> File {
        match self {
            Runner::Native { user: Some(user), .. } => file.owned_by(user, user),
            Runner::Container { user: Some(user), .. } => {
                let (uid, gid) = user.split_once(':').unwrap_or((user, user));
                file.owned_by(uid, gid)
            }
            _ => file,
        }
    }

    /// A file the service manager reads for the process before it starts (`EnvironmentFile=`,
    /// `env_file:`): root's, and the process must start again to see it (for a container,
    /// `up -d` recreates it because its environment changed).
    pub(crate) fn env(&self, file: File) -> File {
        match self {
            Runner::Container { dir, .. } => file.activate(Activation::ComposeUp { dir: dir.clone(), services: None }),
            _ => match self.restart(false) {
                Some(a) => file.activate(a),
                None => file,
            },
        }
    }
}

/// The folder of a compose project on its machine.
pub(crate) fn stack_dir(stack: &str) -> String {
    format!("{STACKS}/{stack}")
}
