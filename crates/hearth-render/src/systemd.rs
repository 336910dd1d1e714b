//! systemd unit files: where they go and how they are activated.
//!
//! A unit file is enabled after `daemon-reload`; whether it is also (re)started depends on what it
//! is. A timer starts, and the oneshot service it runs is only enabled: starting that service at
//! deploy time would run a backup or a snapshot at a moment nobody chose.

use crate::{Activation, File, Kind};

/// A unit file under `/etc/systemd/system/`, started on change when `start`.
pub(crate) fn unit_file(machine: &str, unit: &str, content: String, start: bool) -> File {
    File::new(machine, format!("/etc/systemd/system/{unit}"), Kind::SystemdUnit, content)
        .activate(Activation::Unit { unit: unit.to_string(), start })
}

/// A oneshot service `name.service` and the timer `name.timer` that runs it: the timer starts,
/// the service is only enabled.
pub(crate) fn timed(machine: &str, name: &str, service: String, timer: String) -> [File; 2] {
    [
        unit_file(machine, &format!("{name}.service"), service, false),
        unit_file(machine, &format!("{name}.timer"), timer, true),
    ]
}

/// A timer for a unit of the same name; `Persistent` catches up on runs missed while off.
pub(crate) fn timer(what: &str, on_calendar: &str) -> String {
    format!(
        "# Rendered by Hearth.\n\
         [Unit]\n\
         Description=Schedule of {what}\n\n\
         [Timer]\n\
         OnCalendar={on_calendar}\n\
         Persistent=true\n\n\
         [Install]\n\
         WantedBy=timers.target\n"
    )
}
