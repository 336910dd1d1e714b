//! The outcome of a verify run: one line per check, grouped by the machine it is about, with its
//! status, id, spec location, description and, for failures and skips, the reason. As text or
//! JSON. Skipped checks are counted apart, never as passed.

use std::fmt::Write as _;

use serde::Serialize;

use crate::run::Target;

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Fail,
    Skip,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub id: String,
    pub machine: String,
    pub from: String,
    pub check: String,
    /// `file:line:col` of the spec line the check comes from (empty when none).
    pub location: String,
    pub status: Status,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Outcome {
    pub(crate) fn new(t: &Target<'_>, status: Status, reason: Option<String>) -> Outcome {
        Outcome {
            id: t.fact.id.clone(),
            machine: t.fact.machine.clone(),
            from: t.fact.from.clone(),
            check: t.fact.check.describe(),
            location: t.location.clone(),
            status,
            reason,
        }
    }
}

/// Every outcome, sorted by machine and id, with the counts.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub checks: Vec<Outcome>,
}

impl Report {
    pub fn new(mut checks: Vec<Outcome>) -> Report {
        checks.sort_by(|a, b| (&a.machine, &a.id).cmp(&(&b.machine, &b.id)));
        let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
        Report { passed: count(Status::Ok), failed: count(Status::Fail), skipped: count(Status::Skip), checks }
    }

    /// Whether no check failed (skipped checks are listed, not passed, and do not fail the run).
    pub fn is_success(&self) -> bool {
        self.failed == 0
    }

    /// The text report; `color` paints the statuses.
    pub fn text(&self, color: bool) -> String {
        let mut out = String::new();
        let mut machine: Option<&str> = None;
        let id_width = self.checks.iter().map(|c| c.id.chars().count()).max().unwrap_or(0);
        for c in &self.checks {
            if machine != Some(c.machine.as_str()) {
                if machine.is_some() {
                    out.push('\n');
                }
                let _ = writeln!(out, "{}", if c.machine.is_empty() { "(no machine)" } else { &c.machine });
                machine = Some(&c.machine);
            }
            let word = format!("{:<4}", c.status.word());
            let status = match (color, c.status) {
                (false, _) => word,
                (true, Status::Ok) => format!("\x1b[32m{word}\x1b[0m"),
                (true, Status::Fail) => format!("\x1b[1;31m{word}\x1b[0m"),
                (true, Status::Skip) => format!("\x1b[33m{word}\x1b[0m"),
            };
            let from = if c.from == c.machine { String::new() } else { format!(" (from {})", c.from) };
            let location = if c.location.is_empty() { "-" } else { &c.location };
            let _ = write!(out, "  {status}  {:<id_width$}  {location}  {}{from}", c.id, c.check);
            if let Some(r) = &c.reason {
                let _ = write!(out, ": {r}");
            }
            out.push('\n');
        }
        if !self.checks.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "{} passed, {} failed, {} skipped", self.passed, self.failed, self.skipped);
        out
    }
}
