//! What apply and rollback return: the outcome per machine, for the CLI to print.

use serde::Serialize;

use crate::plan::MachinePlan;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Outcome {
    Unchanged,
    Applied {
        generation: u64,
    },
    /// The new generation did not stay: its activation failed, or it was not confirmed over a
    /// fresh connection in time and the machine restored `restored` on its own.
    RolledBack {
        generation: u64,
        restored: Option<u64>,
        reason: String,
    },
    Failed {
        message: String,
    },
    /// Not attempted: a machine it is ordered after did not succeed.
    Skipped {
        reason: String,
    },
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Unchanged | Outcome::Applied { .. })
    }

    /// The result in a word or two and its detail, for the summary table and progress lines.
    pub fn describe(&self) -> (&'static str, String) {
        match self {
            Outcome::Unchanged => ("unchanged", String::new()),
            Outcome::Applied { generation } => ("applied", format!("generation {generation}")),
            Outcome::RolledBack { generation, restored, reason } => (
                "rolled back",
                format!(
                    "generation {generation} → {}: {reason}",
                    restored.map_or("none".to_string(), |r| r.to_string())
                ),
            ),
            Outcome::Failed { message } => ("failed", message.clone()),
            Outcome::Skipped { reason } => ("skipped", reason.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MachineReport {
    pub machine: String,
    pub outcome: Outcome,
    /// The plan that was carried out (absent for a rollback or a skipped machine).
    pub plan: Option<MachinePlan>,
}

/// Every machine's outcome, in the order the machines were given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub machines: Vec<MachineReport>,
    pub unmanaged: Vec<String>,
}

impl Report {
    pub fn is_success(&self) -> bool {
        self.machines.iter().all(|m| m.outcome.is_success())
    }
}
