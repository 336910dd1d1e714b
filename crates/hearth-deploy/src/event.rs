//! Progress events: what deploy tells its caller while it works, one machine at a time.

use serde::Serialize;

use crate::report::Outcome;

/// One step of one machine. Events name paths and generations, never file contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub machine: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    Connecting,
    /// Waiting for the machines it is ordered after.
    Waiting {
        on: Vec<String>,
    },
    Planned {
        changes: usize,
        drift: usize,
    },
    Uploading {
        generation: u64,
        bytes: usize,
    },
    Activating {
        generation: u64,
    },
    Confirming {
        generation: u64,
    },
    /// The connection dropped during activation; a new one will tell how it ended.
    Reconnecting {
        reason: String,
    },
    /// The machine is done: how it ended.
    Done(Outcome),
}

impl EventKind {
    /// Whether the machine is done.
    pub fn is_final(&self) -> bool {
        matches!(self, EventKind::Done(_))
    }

    /// A short line for humans.
    pub fn describe(&self) -> String {
        match self {
            EventKind::Connecting => "connecting".to_string(),
            EventKind::Waiting { on } => format!("waiting for {}", on.join(", ")),
            EventKind::Planned { changes, drift } => format!("{changes} file changes, {drift} drifted"),
            EventKind::Uploading { generation, bytes } => format!("uploading generation {generation} ({bytes} bytes)"),
            EventKind::Activating { generation } => format!("activating generation {generation}"),
            EventKind::Confirming { generation } => format!("confirming generation {generation} over a new connection"),
            EventKind::Reconnecting { reason } => format!("{reason}; trying a new connection"),
            EventKind::Done(outcome) => match outcome.describe() {
                (result, detail) if detail.is_empty() => result.to_string(),
                (result, detail) => format!("{result}: {detail}"),
            },
        }
    }
}

/// Receives events; called from the deploy's tasks, so it must be shareable.
pub trait Events: Send + Sync {
    fn event(&self, event: Event);
}

/// Discards events (tests, callers that only want the report).
pub struct Quiet;

impl Events for Quiet {
    fn event(&self, _: Event) {}
}

/// Keeps every event in order (tests, callers that print afterwards).
#[derive(Default)]
pub struct Recorder(pub std::sync::Mutex<Vec<Event>>);

impl Events for Recorder {
    fn event(&self, event: Event) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event);
        }
    }
}
